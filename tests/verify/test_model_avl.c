/*
 * Model-based property test: the Rtl generic AVL table (src/rtl/avltable.c)
 * against a sorted array, through tests/verify/model.h so a disagreement
 * shrinks to a short reproducer.
 *
 * The model is an ascending array of (key, value) pairs with unique keys (a
 * generic table holds no duplicates: inserting an equal element returns the
 * existing one with NewElement FALSE), plus the two enumeration cursors the
 * table API exposes:
 *  - the table's own RestartKey (RtlEnumerateGenericTableAvl): the key last
 *    returned, or none. The next call returns the smallest key above it. When
 *    the element it names is deleted, the cursor moves to that element's
 *    in-order predecessor (src/rtl/avltable.c documents this), so an element
 *    inserted later between the predecessor and the deleted key is still seen.
 *  - a caller-held restart key (RtlEnumerateGenericTableWithoutSplayingAvl),
 *    set to NULL or, by RtlLookupFirstMatchingElementGenericTableAvl, to the
 *    matching element. A caller must not delete the element its key names
 *    (the key is a node pointer), so a delete of that element also resets the
 *    caller's key, as a careful caller would.
 *
 * After every operation the whole tree is walked through its documented
 * RTL_BALANCED_LINKS layout (BalancedRoot is a sentinel whose RightChild is the
 * root; each node's data follows its 0x20-byte header): parent links, in-order
 * sequence equal to the model, every Balance equal to height(right) -
 * height(left) and within {-1, 0, +1}, DepthOfTree equal to the height, and
 * the element count. There is no splay-tree RtlGenericTable in src/rtl, so
 * only the AVL flavour is modelled.
 *
 * Elements live in a static pool (these tests also run inside the kernel);
 * freed slots are poisoned so a table that touches a deleted element gets
 * caught by the walk or the lookups.
 */
#include "ntos_test.h"
#include "model.h"

#define MA_KEYS 48 /* key range: small enough for many duplicates and deletes */
#define MA_SLOTS (MA_KEYS + 4)
#define MA_SLOT_SIZE 64
#define MA_OPS 900
#define MA_SEEDS 6

typedef struct ma_elem {
    ULONG Key;
    ULONG Value;
} ma_elem;

/* ---- element pool -------------------------------------------------------- */

static UCHAR ma_pool[MA_SLOTS][MA_SLOT_SIZE] __attribute__((aligned(16)));
static BOOLEAN ma_used[MA_SLOTS];
static ULONG ma_outstanding;

static PVOID NTAPI ma_allocate(PRTL_AVL_TABLE Table, CLONG ByteSize)
{
    (void)Table;
    if (ByteSize > MA_SLOT_SIZE)
        return NULL;
    for (ULONG i = 0; i < MA_SLOTS; i++) {
        if (!ma_used[i]) {
            ma_used[i] = TRUE;
            ma_outstanding++;
            RtlFillMemory(ma_pool[i], MA_SLOT_SIZE, 0xCD);
            return ma_pool[i];
        }
    }
    return NULL;
}

static VOID NTAPI ma_free(PRTL_AVL_TABLE Table, PVOID Buffer)
{
    (void)Table;
    for (ULONG i = 0; i < MA_SLOTS; i++) {
        if ((PVOID)ma_pool[i] == Buffer && ma_used[i]) {
            ma_used[i] = FALSE;
            ma_outstanding--;
            RtlFillMemory(ma_pool[i], MA_SLOT_SIZE, 0xDD);
            return;
        }
    }
    ma_outstanding += 1000; /* freeing something not allocated: shows up as a leak */
}

static RTL_GENERIC_COMPARE_RESULTS NTAPI ma_compare(PRTL_AVL_TABLE Table, PVOID First, PVOID Second)
{
    (void)Table;
    ULONG a = ((ma_elem *)First)->Key, b = ((ma_elem *)Second)->Key;
    return a < b ? GenericLessThan : a > b ? GenericGreaterThan : GenericEqual;
}

/* ---- the model ------------------------------------------------------------- */

#define MA_NONE 0xFFFFFFFFu

typedef struct ma_model {
    ULONG Count;
    ma_elem Sorted[MA_KEYS];
    ULONG TableCursor;  /* key last returned by RtlEnumerateGenericTableAvl, or MA_NONE */
    ULONG CallerCursor; /* key the caller's restart key names, or MA_NONE */
} ma_model;

static ma_model ma_m;

/* Index of the first element with key >= Key. */
static ULONG ma_lower_bound(ULONG Key)
{
    ULONG i = 0;
    while (i < ma_m.Count && ma_m.Sorted[i].Key < Key)
        i++;
    return i;
}

static LONG ma_find(ULONG Key)
{
    ULONG i = ma_lower_bound(Key);
    return i < ma_m.Count && ma_m.Sorted[i].Key == Key ? (LONG)i : -1;
}

/* The element after Cursor (MA_NONE = from the start), or -1. */
static LONG ma_next(ULONG Cursor)
{
    ULONG i = Cursor == MA_NONE ? 0 : ma_lower_bound(Cursor + 1);
    return i < ma_m.Count ? (LONG)i : -1;
}

/* ---- tree walk --------------------------------------------------------------- */

static ma_elem *ma_data(PRTL_BALANCED_LINKS Node)
{
    return (ma_elem *)((PUCHAR)Node + sizeof(RTL_BALANCED_LINKS));
}

typedef struct ma_walk {
    ULONG Visited;
    BOOLEAN Bad;
    char *Why;
    ULONG WhySize;
} ma_walk;

/* Returns the height of the subtree; checks links, balance and order. */
static LONG ma_check_subtree(ma_walk *W, PRTL_BALANCED_LINKS Node, PRTL_BALANCED_LINKS Parent, ULONG Depth)
{
    if (Node == NULL || W->Bad)
        return 0;
    if (Depth > 64) {
        model_say(W->Why, W->WhySize, "tree deeper than 64 levels (a cycle?)");
        W->Bad = TRUE;
        return 0;
    }
    if (Node->Parent != Parent) {
        model_say(W->Why, W->WhySize, "node with key %u: Parent link wrong", ma_data(Node)->Key);
        W->Bad = TRUE;
        return 0;
    }
    LONG hl = ma_check_subtree(W, Node->LeftChild, Node, Depth + 1);
    if (W->Bad)
        return 0;
    /* In order: this node is the Visited-th element of the model. */
    ULONG key = ma_data(Node)->Key;
    if (W->Visited >= ma_m.Count || ma_m.Sorted[W->Visited].Key != key ||
        ma_m.Sorted[W->Visited].Value != ma_data(Node)->Value) {
        model_say(W->Why, W->WhySize, "in-order element %u is key %u value %u, model has %u (%u of %u)",
                  W->Visited, key, ma_data(Node)->Value,
                  W->Visited < ma_m.Count ? ma_m.Sorted[W->Visited].Key : MA_NONE,
                  W->Visited < ma_m.Count ? ma_m.Sorted[W->Visited].Value : MA_NONE, ma_m.Count);
        W->Bad = TRUE;
        return 0;
    }
    W->Visited++;
    LONG hr = ma_check_subtree(W, Node->RightChild, Node, Depth + 1);
    if (W->Bad)
        return 0;
    if (hr - hl < -1 || hr - hl > 1 || Node->Balance != hr - hl) {
        model_say(W->Why, W->WhySize, "node %u: heights left %d right %d, Balance %d", key, hl, hr,
                  Node->Balance);
        W->Bad = TRUE;
        return 0;
    }
    return 1 + (hl > hr ? hl : hr);
}

static BOOLEAN ma_check_tree(PRTL_AVL_TABLE T, char *Why, ULONG WhySize)
{
    ma_walk w = {0, FALSE, Why, WhySize};
    if (T->BalancedRoot.Parent != &T->BalancedRoot || T->BalancedRoot.LeftChild != NULL) {
        model_say(Why, WhySize, "sentinel BalancedRoot links changed");
        return FALSE;
    }
    LONG h = ma_check_subtree(&w, T->BalancedRoot.RightChild, &T->BalancedRoot, 1);
    if (w.Bad)
        return FALSE;
    if (w.Visited != ma_m.Count) {
        model_say(Why, WhySize, "tree holds %u elements, model %u", w.Visited, ma_m.Count);
        return FALSE;
    }
    if (T->DepthOfTree != (ULONG)h) {
        model_say(Why, WhySize, "DepthOfTree %u, height %d", T->DepthOfTree, h);
        return FALSE;
    }
    if (T->NumberGenericTableElements != ma_m.Count || RtlNumberGenericTableElementsAvl(T) != ma_m.Count) {
        model_say(Why, WhySize, "element count %u, model %u", RtlNumberGenericTableElementsAvl(T), ma_m.Count);
        return FALSE;
    }
    if (RtlIsGenericTableEmptyAvl(T) != (ma_m.Count == 0)) {
        model_say(Why, WhySize, "RtlIsGenericTableEmptyAvl %u with %u elements", RtlIsGenericTableEmptyAvl(T),
                  ma_m.Count);
        return FALSE;
    }
    return TRUE;
}

/* ---- operations ------------------------------------------------------------------ */

enum {
    MA_INSERT,       /* A = key, B = value, C & 1: through the Full variants */
    MA_DELETE,       /* A = key */
    MA_LOOKUP,       /* A = key, C & 1: RtlLookupElementGenericTableFullAvl */
    MA_GET,          /* A = index (may be past the end) */
    MA_ENUMERATE,    /* C & 1: Restart */
    MA_ENUM_CALLER,  /* C & 1: reset the caller's key to NULL first */
    MA_FIRST_MATCH,  /* A = key: sets the caller's key */
    MA_KINDS,
    MA_INSERT_WEIGHT = 3 /* extra insert draws so the table fills up */
};

static const char *const ma_names[MA_KINDS] = {"insert", "delete", "lookup", "get-element", "enumerate",
                                               "enumerate-without-splaying", "lookup-first-match"};

static void ma_describe(void *Context, const model_op *Op, char *Text, ULONG Size)
{
    (void)Context;
    switch (Op->Kind) {
    case MA_INSERT:
        model_say(Text, Size, "insert key %u value %u%s", Op->A, Op->B, Op->C & 1 ? " (Full)" : "");
        break;
    case MA_DELETE:
    case MA_FIRST_MATCH:
        model_say(Text, Size, "%s key %u", ma_names[Op->Kind], Op->A);
        break;
    case MA_LOOKUP:
        model_say(Text, Size, "lookup key %u%s", Op->A, Op->C & 1 ? " (Full)" : "");
        break;
    case MA_GET:
        model_say(Text, Size, "get-element index %u", Op->A);
        break;
    default:
        model_say(Text, Size, "%s%s", ma_names[Op->Kind % MA_KINDS], Op->C & 1 ? " (restart)" : "");
        break;
    }
}

/* Checks a returned element pointer against the model's index (-1 = NULL expected). */
static BOOLEAN ma_expect(const char *What, PVOID Got, LONG Index, char *Why, ULONG WhySize)
{
    if (Index < 0) {
        if (Got != NULL) {
            model_say(Why, WhySize, "%s returned key %u, model expects NULL", What, ((ma_elem *)Got)->Key);
            return FALSE;
        }
        return TRUE;
    }
    if (Got == NULL) {
        model_say(Why, WhySize, "%s returned NULL, model expects key %u", What, ma_m.Sorted[Index].Key);
        return FALSE;
    }
    ma_elem *e = (ma_elem *)Got;
    if (e->Key != ma_m.Sorted[Index].Key || e->Value != ma_m.Sorted[Index].Value) {
        model_say(Why, WhySize, "%s returned key %u value %u, model expects key %u value %u", What, e->Key, e->Value,
                  ma_m.Sorted[Index].Key, ma_m.Sorted[Index].Value);
        return FALSE;
    }
    return TRUE;
}

static RTL_AVL_TABLE ma_table;

/* Applies one operation to table and model; FALSE (with Why) on disagreement. */
static BOOLEAN ma_step(const model_op *Op, PVOID *CallerKey, char *Why, ULONG WhySize)
{
    PRTL_AVL_TABLE t = &ma_table;
    ma_elem probe = {Op->A % MA_KEYS, Op->B};

    switch (Op->Kind) {
    case MA_INSERT: {
        BOOLEAN isNew = 2;
        PVOID got;
        if (Op->C & 1) {
            PVOID where = NULL;
            TABLE_SEARCH_RESULT r;
            RtlLookupElementGenericTableFullAvl(t, &probe, &where, &r);
            got = RtlInsertElementGenericTableFullAvl(t, &probe, sizeof(probe), &isNew, where, r);
        } else {
            got = RtlInsertElementGenericTableAvl(t, &probe, sizeof(probe), &isNew);
        }
        LONG i = ma_find(probe.Key);
        BOOLEAN expectNew = i < 0;
        if (expectNew) {
            ULONG at = ma_lower_bound(probe.Key);
            for (ULONG k = ma_m.Count; k > at; k--)
                ma_m.Sorted[k] = ma_m.Sorted[k - 1];
            ma_m.Sorted[at] = probe;
            ma_m.Count++;
            i = (LONG)at;
        }
        if (isNew != expectNew) {
            model_say(Why, WhySize, "insert: NewElement %u, model expects %u", isNew, expectNew);
            return FALSE;
        }
        return ma_expect("insert", got, i, Why, WhySize);
    }
    case MA_DELETE: {
        /* The caller's key names a node: a careful caller drops it before
         * deleting that element. */
        if (ma_m.CallerCursor == probe.Key) {
            *CallerKey = NULL;
            ma_m.CallerCursor = MA_NONE;
        }
        BOOLEAN got = RtlDeleteElementGenericTableAvl(t, &probe);
        LONG i = ma_find(probe.Key);
        if (got != (i >= 0)) {
            model_say(Why, WhySize, "delete returned %u, model expects %u", got, i >= 0);
            return FALSE;
        }
        if (i >= 0) {
            if (ma_m.TableCursor == probe.Key)
                ma_m.TableCursor = i > 0 ? ma_m.Sorted[i - 1].Key : MA_NONE;
            for (ULONG k = (ULONG)i; k + 1 < ma_m.Count; k++)
                ma_m.Sorted[k] = ma_m.Sorted[k + 1];
            ma_m.Count--;
        }
        return TRUE;
    }
    case MA_LOOKUP: {
        LONG i = ma_find(probe.Key);
        if (!(Op->C & 1))
            return ma_expect("lookup", RtlLookupElementGenericTableAvl(t, &probe), i, Why, WhySize);
        PRTL_BALANCED_LINKS where = (PRTL_BALANCED_LINKS)(ULONG_PTR)1; /* must stay for an empty tree */
        TABLE_SEARCH_RESULT r;
        PVOID got = RtlLookupElementGenericTableFullAvl(t, &probe, (PVOID *)&where, &r);
        if (!ma_expect("lookup (Full)", got, i, Why, WhySize))
            return FALSE;
        if (ma_m.Count == 0) {
            if (r != TableEmptyTree || where != (PRTL_BALANCED_LINKS)(ULONG_PTR)1) {
                model_say(Why, WhySize, "lookup (Full) in an empty table: result %u", r);
                return FALSE;
            }
        } else if (i >= 0) {
            if (r != TableFoundNode || ma_data(where) != got) {
                model_say(Why, WhySize, "lookup (Full) of a present key: result %u", r);
                return FALSE;
            }
        } else {
            /* Absent: the would-be parent is the in-order neighbour whose
             * free child link the new element would take. */
            ULONG at = ma_lower_bound(probe.Key);
            BOOLEAN ok;
            if (r == TableInsertAsLeft)
                ok = at < ma_m.Count && ma_data(where)->Key == ma_m.Sorted[at].Key && where->LeftChild == NULL;
            else if (r == TableInsertAsRight)
                ok = at > 0 && ma_data(where)->Key == ma_m.Sorted[at - 1].Key && where->RightChild == NULL;
            else
                ok = FALSE;
            if (!ok) {
                model_say(Why, WhySize, "lookup (Full) of absent key %u: result %u at a node that is not its neighbour",
                          probe.Key, r);
                return FALSE;
            }
        }
        return TRUE;
    }
    case MA_GET: {
        ULONG index = Op->A % (MA_KEYS + 2);
        return ma_expect("get-element", RtlGetElementGenericTableAvl(t, index),
                         index < ma_m.Count ? (LONG)index : -1, Why, WhySize);
    }
    case MA_ENUMERATE: {
        BOOLEAN restart = (BOOLEAN)(Op->C & 1);
        if (restart)
            ma_m.TableCursor = MA_NONE;
        LONG i = ma_next(ma_m.TableCursor);
        PVOID got = RtlEnumerateGenericTableAvl(t, restart);
        if (i >= 0)
            ma_m.TableCursor = ma_m.Sorted[i].Key;
        return ma_expect("enumerate", got, i, Why, WhySize);
    }
    case MA_ENUM_CALLER: {
        if (Op->C & 1) {
            *CallerKey = NULL;
            ma_m.CallerCursor = MA_NONE;
        }
        LONG i = ma_next(ma_m.CallerCursor);
        PVOID got = RtlEnumerateGenericTableWithoutSplayingAvl(t, CallerKey);
        if (i >= 0)
            ma_m.CallerCursor = ma_m.Sorted[i].Key;
        if (!ma_expect("enumerate-without-splaying", got, i, Why, WhySize))
            return FALSE;
        if (got != NULL && *CallerKey != (PVOID)((PUCHAR)got - sizeof(RTL_BALANCED_LINKS))) {
            model_say(Why, WhySize, "enumerate-without-splaying: restart key is not the returned element's node");
            return FALSE;
        }
        return TRUE;
    }
    case MA_FIRST_MATCH: {
        LONG i = ma_find(probe.Key);
        PVOID got = RtlLookupFirstMatchingElementGenericTableAvl(t, &probe, CallerKey);
        ma_m.CallerCursor = i >= 0 ? probe.Key : MA_NONE;
        if (!ma_expect("lookup-first-match", got, i, Why, WhySize))
            return FALSE;
        if ((got == NULL) != (*CallerKey == NULL)) {
            model_say(Why, WhySize, "lookup-first-match: restart key and returned element disagree (one is NULL)");
            return FALSE;
        }
        return TRUE;
    }
    }
    return TRUE;
}

static ULONG ma_run(void *Context, const model_op *Ops, ULONG Count, char *Why, ULONG WhySize)
{
    (void)Context;
    ULONG failed = 0;
    PVOID callerKey = NULL;

    RtlZeroMemory(ma_used, sizeof(ma_used));
    ma_outstanding = 0;
    RtlZeroMemory(&ma_m, sizeof(ma_m));
    ma_m.TableCursor = ma_m.CallerCursor = MA_NONE;
    RtlInitializeGenericTableAvl(&ma_table, ma_compare, ma_allocate, ma_free, NULL);
    if (!ma_check_tree(&ma_table, Why, WhySize))
        return 1;

    for (ULONG i = 0; i < Count; i++) {
        if (!ma_step(&Ops[i], &callerKey, Why, WhySize) || !ma_check_tree(&ma_table, Why, WhySize)) {
            failed = i + 1;
            break;
        }
    }
    /* Release everything, whatever happened; a broken tree may not give all
     * elements back, so stop after a bounded number of deletions. */
    for (ULONG guard = 0; guard < MA_SLOTS && !RtlIsGenericTableEmptyAvl(&ma_table); guard++) {
        PVOID first = RtlGetElementGenericTableAvl(&ma_table, 0);
        if (first == NULL || !RtlDeleteElementGenericTableAvl(&ma_table, first))
            break;
    }
    if (!failed && ma_outstanding != 0) {
        model_say(Why, WhySize, "%u element allocation(s) not freed after deleting everything", ma_outstanding);
        failed = Count;
    }
    return failed;
}

static model_op ma_ops[MA_OPS];

static void model_avl_random_sequences(void **state)
{
    (void)state;
    model_spec spec = {"avl", ma_run, ma_describe, NULL};
    for (uint64_t seed = 1; seed <= MA_SEEDS; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        model_generate(&rng, ma_ops, MA_OPS, MA_KINDS + MA_INSERT_WEIGHT, MA_KEYS, 1000, 2);
        /* Fold the extra draws onto insert; alternate growing and shrinking
         * phases so the table is both nearly full and nearly empty. */
        for (ULONG i = 0; i < MA_OPS; i++) {
            if (ma_ops[i].Kind >= MA_KINDS)
                ma_ops[i].Kind = ((i / 150) & 1) ? MA_DELETE : MA_INSERT;
        }
        model_check(&spec, seed, ma_ops, MA_OPS, NULL);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_avl_random_sequences),
};

NTOS_TEST_GROUP(verify_model_avl, tests, NULL, NULL);
