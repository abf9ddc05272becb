/*
 * Rtl generic AVL table: layout of the per-element allocation, callback
 * contracts, every insert/delete/lookup/enumerate/index routine, exact tree
 * shapes after known rotation sequences, and property tests against a sorted
 * array that validate the whole tree (order, balance factors against real
 * heights, parent links, counts, depth) every few operations and require every
 * allocation to be freed at the end.
 *
 * Element storage is a static pool (no C library: these tests also run inside
 * the kernel), and the callbacks are NTAPI like any driver's.
 */
#include "ntos_test.h"
#include <ntos/rtl.h>

#ifndef STATUS_NO_MORE_MATCHES
#define STATUS_NO_MORE_MATCHES ((NTSTATUS)0xC0000273L)
#endif

#define HEADER sizeof(RTL_BALANCED_LINKS)
#define SLOT_SIZE 128
#define SLOTS 2304

/* ---- allocation pool ------------------------------------------------------ */

static UCHAR g_pool[SLOTS][SLOT_SIZE] __attribute__((aligned(16)));
static BOOLEAN g_used[SLOTS];
static ULONG g_free_stack[SLOTS];
static ULONG g_free_top;

static struct {
    ULONG Allocs, Frees, Outstanding;
    LONG FailAfter; /* fail the allocation when this reaches 0; -1 = never */
    CLONG LastByteSize;
    PVOID LastAllocation, LastFreed;
    ULONG Compares;
    PRTL_AVL_TABLE LastTable;
    PVOID LastFirst, LastSecond;
} g_stats;

static ULONG g_context_cookie;

static void pool_reset(void)
{
    for (ULONG i = 0; i < SLOTS; i++) {
        g_used[i] = FALSE;
        g_free_stack[i] = SLOTS - 1 - i;
    }
    g_free_top = SLOTS;
    RtlZeroMemory(&g_stats, sizeof(g_stats));
    g_stats.FailAfter = -1;
}

static LONG slot_of(PVOID p, ULONG offset)
{
    ULONG_PTR base = (ULONG_PTR)&g_pool[0][0];
    ULONG_PTR a = (ULONG_PTR)p;
    if (a < base + offset || a >= base + sizeof(g_pool))
        return -1;
    if ((a - base - offset) % SLOT_SIZE != 0)
        return -1;
    return (LONG)((a - base - offset) / SLOT_SIZE);
}

static PVOID NTAPI pool_allocate(PRTL_AVL_TABLE Table, CLONG ByteSize)
{
    ULONG slot;

    g_stats.LastTable = Table;
    g_stats.LastByteSize = ByteSize;
    if (g_stats.FailAfter >= 0 && g_stats.FailAfter-- == 0)
        return NULL;
    if (ByteSize > SLOT_SIZE || g_free_top == 0)
        return NULL;
    slot = g_free_stack[--g_free_top];
    g_used[slot] = TRUE;
    g_stats.Allocs++;
    g_stats.Outstanding++;
    /* Poison, so a table that forgets to initialise a field gets caught. */
    RtlFillMemory(g_pool[slot], SLOT_SIZE, 0xCD);
    g_stats.LastAllocation = g_pool[slot];
    return g_pool[slot];
}

static VOID NTAPI pool_free(PRTL_AVL_TABLE Table, PVOID Buffer)
{
    LONG slot = slot_of(Buffer, 0);

    g_stats.LastTable = Table;
    g_stats.LastFreed = Buffer;
    if (slot < 0 || !g_used[slot])
        fail_msg("FreeRoutine got %p, which is not a live allocation start", Buffer);
    g_used[slot] = FALSE;
    g_free_stack[g_free_top++] = (ULONG)slot;
    g_stats.Frees++;
    g_stats.Outstanding--;
    RtlFillMemory(g_pool[slot], SLOT_SIZE, 0xDD);
}

/* ---- elements and compare routines ---------------------------------------- */

typedef struct _ELEM {
    ULONG Key;
    ULONG Check;
    ULONG Extra[2];
} ELEM;

static ULONG check_of(ULONG key)
{
    return key * 2654435761u ^ 0x5A5A5A5Au;
}

static ELEM make(ULONG key)
{
    ELEM e;
    e.Key = key;
    e.Check = check_of(key);
    e.Extra[0] = ~key;
    e.Extra[1] = key + 1;
    return e;
}

static RTL_GENERIC_COMPARE_RESULTS NTAPI compare_elem(PRTL_AVL_TABLE Table, PVOID First, PVOID Second)
{
    ULONG a = ((ELEM *)First)->Key, b = ((ELEM *)Second)->Key;
    LONG slot = slot_of(Second, HEADER);

    g_stats.Compares++;
    g_stats.LastTable = Table;
    g_stats.LastFirst = First;
    g_stats.LastSecond = Second;
    /* The second argument is always an element's data inside its allocation. */
    if (slot < 0 || !g_used[slot])
        fail_msg("CompareRoutine's SecondStruct %p is not element data", Second);
    if (a < b)
        return GenericLessThan;
    if (a > b)
        return GenericGreaterThan;
    return GenericEqual;
}

static void init_table(PRTL_AVL_TABLE Table)
{
    pool_reset();
    RtlInitializeGenericTableAvl(Table, compare_elem, pool_allocate, pool_free, &g_context_cookie);
}

static ELEM *insert_key(PRTL_AVL_TABLE Table, ULONG key, BOOLEAN *isNew)
{
    ELEM e = make(key);
    return (ELEM *)RtlInsertElementGenericTableAvl(Table, &e, sizeof(e), isNew);
}

static BOOLEAN delete_key(PRTL_AVL_TABLE Table, ULONG key)
{
    ELEM e = make(key);
    return RtlDeleteElementGenericTableAvl(Table, &e);
}

static ELEM *lookup_key(PRTL_AVL_TABLE Table, ULONG key)
{
    ELEM e = make(key);
    return (ELEM *)RtlLookupElementGenericTableAvl(Table, &e);
}

static ELEM *data_of(PRTL_BALANCED_LINKS node)
{
    return (ELEM *)((PUCHAR)node + HEADER);
}

/* ---- whole-tree validation ------------------------------------------------ */

static const ULONG *g_expect_keys; /* optional: the in-order keys expected */
static ULONG g_expect_count;

struct walk {
    ULONG Count;
    ULONG PrevKey;
    BOOLEAN HavePrev;
};

static LONG validate_node(PRTL_BALANCED_LINKS node, PRTL_BALANCED_LINKS parent, struct walk *w)
{
    LONG hl, hr;
    ELEM *e;

    if (node == NULL)
        return 0;
    if (node->Parent != parent)
        fail_msg("node %p: Parent %p, expected %p", (void *)node, (void *)node->Parent, (void *)parent);
    if (slot_of(node, 0) < 0 || !g_used[slot_of(node, 0)])
        fail_msg("node %p is not a live allocation", (void *)node);
    hl = validate_node(node->LeftChild, node, w);
    e = data_of(node);
    if (w->HavePrev && e->Key <= w->PrevKey)
        fail_msg("keys out of order: %u after %u", e->Key, w->PrevKey);
    if (e->Check != check_of(e->Key))
        fail_msg("element %u corrupted", e->Key);
    if (g_expect_keys != NULL) {
        if (w->Count >= g_expect_count || g_expect_keys[w->Count] != e->Key)
            fail_msg("in-order element %u is %u, reference disagrees", w->Count, e->Key);
    }
    w->PrevKey = e->Key;
    w->HavePrev = TRUE;
    w->Count++;
    hr = validate_node(node->RightChild, node, w);
    if (node->Balance != hr - hl)
        fail_msg("node %u: Balance %d but heights right %d left %d", e->Key, node->Balance, hr, hl);
    if (node->Balance < -1 || node->Balance > 1)
        fail_msg("node %u: Balance %d out of AVL range", e->Key, node->Balance);
    return 1 + (hl > hr ? hl : hr);
}

/* Returns the height. */
static LONG validate_table(PRTL_AVL_TABLE Table)
{
    struct walk w = {0, 0, FALSE};
    PRTL_BALANCED_LINKS root = Table->BalancedRoot.RightChild;
    LONG height;

    assert_ptr_equal(Table->BalancedRoot.Parent, &Table->BalancedRoot);
    assert_null(Table->BalancedRoot.LeftChild);
    height = validate_node(root, &Table->BalancedRoot, &w);
    assert_int_equal(w.Count, Table->NumberGenericTableElements);
    assert_int_equal(RtlNumberGenericTableElementsAvl(Table), w.Count);
    assert_int_equal(RtlIsGenericTableEmptyAvl(Table), w.Count == 0);
    assert_int_equal(Table->DepthOfTree, (ULONG)height);
    if (g_expect_keys != NULL)
        assert_int_equal(w.Count, g_expect_count);
    return height;
}

/* Largest height an AVL tree of n nodes may have (minimal-node recurrence). */
static LONG max_avl_height(ULONG n)
{
    ULONG prev = 0, cur = 1; /* N(0), N(1) */
    LONG h = 1;
    if (n == 0)
        return 0;
    for (;;) {
        ULONG next = cur + prev + 1;
        if (next > n)
            return h;
        prev = cur;
        cur = next;
        h++;
    }
}

/* Preorder keys, for exact shape checks. */
static void preorder(PRTL_BALANCED_LINKS node, ULONG *out, ULONG *n)
{
    if (node == NULL)
        return;
    out[(*n)++] = data_of(node)->Key;
    preorder(node->LeftChild, out, n);
    preorder(node->RightChild, out, n);
}

static void assert_shape(PRTL_AVL_TABLE Table, const ULONG *expect, ULONG count)
{
    ULONG got[32], n = 0;
    preorder(Table->BalancedRoot.RightChild, got, &n);
    assert_int_equal(n, count);
    for (ULONG i = 0; i < n; i++) {
        if (got[i] != expect[i])
            fail_msg("preorder[%u] = %u, expected %u", i, got[i], expect[i]);
    }
}

static void delete_everything(PRTL_AVL_TABLE Table)
{
    while (!RtlIsGenericTableEmptyAvl(Table)) {
        ELEM *e = (ELEM *)RtlGetElementGenericTableAvl(Table, 0);
        assert_true(delete_key(Table, e->Key));
    }
    assert_int_equal(g_stats.Outstanding, 0);
    assert_int_equal(g_stats.Allocs, g_stats.Frees);
}

/* ---- initialisation ------------------------------------------------------- */

static void test_initialize_empty(void **state)
{
    RTL_AVL_TABLE t;
    PVOID key = NULL;
    ELEM probe = make(1);

    RtlFillMemory(&t, sizeof(t), 0xAB);
    init_table(&t);
    assert_ptr_equal(t.TableContext, &g_context_cookie);
    assert_ptr_equal(t.CompareRoutine, compare_elem);
    assert_ptr_equal(t.AllocateRoutine, pool_allocate);
    assert_ptr_equal(t.FreeRoutine, pool_free);
    assert_null(t.BalancedRoot.RightChild);
    assert_int_equal(t.DeleteCount, 0);
    assert_int_equal(t.NumberGenericTableElements, 0);
    assert_true(RtlIsGenericTableEmptyAvl(&t));
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 0);
    assert_null(RtlEnumerateGenericTableAvl(&t, TRUE));
    assert_null(RtlEnumerateGenericTableAvl(&t, FALSE));
    assert_null(RtlEnumerateGenericTableWithoutSplayingAvl(&t, &key));
    assert_null(key);
    assert_null(RtlGetElementGenericTableAvl(&t, 0));
    assert_null(RtlLookupElementGenericTableAvl(&t, &probe));
    assert_false(RtlDeleteElementGenericTableAvl(&t, &probe));
    assert_int_equal(t.DeleteCount, 0);
    assert_null(RtlLookupFirstMatchingElementGenericTableAvl(&t, &probe, &key));
    assert_int_equal(validate_table(&t), 0);
    assert_int_equal(g_stats.Compares, 0);
}

/* ---- insertion ------------------------------------------------------------ */

static void test_insert_layout(void **state)
{
    RTL_AVL_TABLE t;
    BOOLEAN isNew = FALSE;
    ELEM e = make(42);
    ELEM *p;

    init_table(&t);
    p = (ELEM *)RtlInsertElementGenericTableAvl(&t, &e, sizeof(e), &isNew);
    assert_non_null(p);
    assert_true(isNew);
    /* One allocation of header + data, the data right after the header. */
    assert_int_equal(g_stats.Allocs, 1);
    assert_int_equal(g_stats.LastByteSize, HEADER + sizeof(ELEM));
    assert_int_equal(HEADER, 0x20);
    assert_ptr_equal((PUCHAR)p, (PUCHAR)g_stats.LastAllocation + 0x20);
    assert_ptr_equal(g_stats.LastTable, &t);
    /* The data is a copy, never the caller's buffer. */
    assert_ptr_not_equal(p, &e);
    assert_memory_equal(p, &e, sizeof(e));
    assert_ptr_equal(t.BalancedRoot.RightChild, g_stats.LastAllocation);
    assert_int_equal(t.BalancedRoot.RightChild->Balance, 0);
    validate_table(&t);

    /* The FreeRoutine receives the allocation start, not the data pointer. */
    assert_true(delete_key(&t, 42));
    assert_ptr_equal(g_stats.LastFreed, (PUCHAR)p - 0x20);
    assert_int_equal(g_stats.Outstanding, 0);
}

static void test_insert_duplicate(void **state)
{
    RTL_AVL_TABLE t;
    BOOLEAN isNew = TRUE;
    ELEM e = make(7);
    ELEM *first, *second;

    init_table(&t);
    first = (ELEM *)RtlInsertElementGenericTableAvl(&t, &e, sizeof(e), &isNew);
    assert_true(isNew);
    e.Extra[0] = 0x11111111; /* same key, different payload */
    second = (ELEM *)RtlInsertElementGenericTableAvl(&t, &e, sizeof(e), &isNew);
    assert_false(isNew);
    assert_ptr_equal(first, second);
    /* The existing element is untouched and nothing was allocated. */
    assert_int_equal(first->Extra[0], ~7u);
    assert_int_equal(g_stats.Allocs, 1);
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 1);
    delete_everything(&t);
}

static void test_insert_new_element_optional(void **state)
{
    RTL_AVL_TABLE t;
    ELEM e = make(3);

    init_table(&t);
    assert_non_null(RtlInsertElementGenericTableAvl(&t, &e, sizeof(e), NULL));
    assert_non_null(RtlInsertElementGenericTableAvl(&t, &e, sizeof(e), NULL));
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 1);
    delete_everything(&t);
}

static void test_insert_allocation_failure(void **state)
{
    RTL_AVL_TABLE t;
    BOOLEAN isNew = TRUE;

    init_table(&t);
    for (ULONG k = 0; k < 10; k++)
        insert_key(&t, k * 10, NULL);
    g_stats.FailAfter = 0;
    assert_null(insert_key(&t, 55, &isNew));
    assert_false(isNew);
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 10);
    assert_null(lookup_key(&t, 55));
    validate_table(&t);
    /* A failed insertion into an empty table leaves it empty. */
    delete_everything(&t);
    g_stats.FailAfter = 0;
    assert_null(insert_key(&t, 1, &isNew));
    assert_true(RtlIsGenericTableEmptyAvl(&t));
    validate_table(&t);
    /* Duplicates need no allocation, so they succeed even while failing. */
    insert_key(&t, 9, NULL);
    g_stats.FailAfter = 0;
    assert_non_null(insert_key(&t, 9, &isNew));
    assert_false(isNew);
    delete_everything(&t);
}

/* A BufferSize whose allocation size would not fit a CLONG is refused. */
static void test_insert_oversized_buffer(void **state)
{
    RTL_AVL_TABLE t;
    BOOLEAN isNew = TRUE;
    ELEM e = make(1);

    init_table(&t);
    assert_null(RtlInsertElementGenericTableAvl(&t, &e, 0xFFFFFFF0u, &isNew));
    assert_false(isNew);
    assert_int_equal(g_stats.Allocs, 0);
    assert_true(RtlIsGenericTableEmptyAvl(&t));
}

static void test_compare_argument_order(void **state)
{
    RTL_AVL_TABLE t;
    ELEM probe = make(60);
    ELEM *p;

    init_table(&t);
    p = insert_key(&t, 50, NULL);
    RtlLookupElementGenericTableAvl(&t, &probe);
    /* (Table, caller's buffer, element data) */
    assert_ptr_equal(g_stats.LastTable, &t);
    assert_ptr_equal(g_stats.LastFirst, &probe);
    assert_ptr_equal(g_stats.LastSecond, p);
    delete_everything(&t);
}

static void test_variable_sized_elements(void **state)
{
    RTL_AVL_TABLE t;
    ELEM e;
    PVOID p;

    init_table(&t);
    for (ULONG k = 0; k < 8; k++) {
        e = make(k);
        /* Only Key and Check are stored for odd keys. */
        CLONG size = (k & 1) ? 8 : sizeof(ELEM);
        p = RtlInsertElementGenericTableAvl(&t, &e, size, NULL);
        assert_int_equal(g_stats.LastByteSize, HEADER + size);
        assert_memory_equal(p, &e, size);
    }
    validate_table(&t);
    delete_everything(&t);
}

/* ---- exact shapes after known rotations ----------------------------------- */

struct shape_case {
    ULONG Inserts[12];
    ULONG InsertCount;
    ULONG Deletes[4];
    ULONG DeleteCount;
    ULONG Preorder[12];
    ULONG NodeCount;
};

static const struct shape_case g_shapes[] = {
    {{1, 2, 3}, 3, {0}, 0, {2, 1, 3}, 3},                                   /* RR */
    {{3, 2, 1}, 3, {0}, 0, {2, 1, 3}, 3},                                   /* LL */
    {{3, 1, 2}, 3, {0}, 0, {2, 1, 3}, 3},                                   /* LR */
    {{1, 3, 2}, 3, {0}, 0, {2, 1, 3}, 3},                                   /* RL */
    {{1, 2, 3, 4, 5, 6, 7}, 7, {0}, 0, {4, 2, 1, 3, 6, 5, 7}, 7},
    {{7, 6, 5, 4, 3, 2, 1}, 7, {0}, 0, {4, 2, 1, 3, 6, 5, 7}, 7},
    {{5, 3, 8, 2, 4, 1}, 6, {0}, 0, {3, 2, 1, 5, 4, 8}, 6},
    {{20, 10, 30, 5, 15, 12}, 6, {0}, 0, {15, 10, 5, 12, 20, 30}, 6},       /* LR at root */
    {{20, 10, 30, 25, 40, 27}, 6, {0}, 0, {25, 20, 10, 30, 27, 40}, 6},     /* RL at root */
    {{2, 1, 3, 4}, 4, {1}, 1, {3, 2, 4}, 3},                                /* delete -> RR */
    {{4, 2, 6, 1, 3, 5, 7}, 7, {4}, 1, {5, 2, 1, 3, 6, 7}, 6},              /* successor deeper */
    {{4, 2, 6, 1, 3, 5, 7}, 7, {6}, 1, {4, 2, 1, 3, 7, 5}, 6},              /* successor = right child */
    {{4, 2, 6, 1, 3, 5, 7}, 7, {1, 3, 2}, 3, {6, 4, 5, 7}, 4},              /* rotation, child balanced */
    {{4, 2, 6, 1, 3, 5, 7}, 7, {99}, 1, {4, 2, 1, 3, 6, 5, 7}, 7},          /* missing key */
    {{3, 2, 4, 1}, 4, {4}, 1, {2, 1, 3}, 3},                                /* delete -> LL */
    {{3, 1, 4, 2}, 4, {4}, 1, {2, 1, 3}, 3},                                /* delete -> LR */
    {{2, 1, 4, 3}, 4, {1}, 1, {3, 2, 4}, 3},                                /* delete -> RL */
    {{1}, 1, {1}, 1, {0}, 0},                                               /* back to empty */
};

static void test_shapes(void **state)
{
    for (ULONG i = 0; i < RTL_NUMBER_OF(g_shapes); i++) {
        const struct shape_case *c = &g_shapes[i];
        RTL_AVL_TABLE t;
        ULONG deleted = 0;

        init_table(&t);
        for (ULONG k = 0; k < c->InsertCount; k++) {
            BOOLEAN isNew;
            insert_key(&t, c->Inserts[k], &isNew);
            assert_true(isNew);
            validate_table(&t);
        }
        for (ULONG k = 0; k < c->DeleteCount; k++) {
            if (delete_key(&t, c->Deletes[k]))
                deleted++;
            validate_table(&t);
        }
        assert_int_equal(t.DeleteCount, deleted);
        assert_shape(&t, c->Preorder, c->NodeCount);
        delete_everything(&t);
    }
}

/* ---- bulk insertion orders ------------------------------------------------ */

static void check_bulk(PRTL_AVL_TABLE t, ULONG n)
{
    LONG h = validate_table(t);
    if (h > max_avl_height(n))
        fail_msg("height %d exceeds the AVL bound %d for %u nodes", h, max_avl_height(n), n);
    for (ULONG i = 0; i < n; i++)
        assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(t, i))->Key, i);
}

static void test_ascending_inserts(void **state)
{
    RTL_AVL_TABLE t;
    init_table(&t);
    for (ULONG k = 0; k < 1023; k++)
        insert_key(&t, k, NULL);
    /* 2^10 - 1 ascending keys build a perfect tree. */
    assert_int_equal(validate_table(&t), 10);
    check_bulk(&t, 1023);
    delete_everything(&t);
}

static void test_descending_inserts(void **state)
{
    RTL_AVL_TABLE t;
    init_table(&t);
    for (ULONG k = 1000; k > 0; k--)
        insert_key(&t, k - 1, NULL);
    check_bulk(&t, 1000);
    delete_everything(&t);
}

static void test_zigzag_inserts(void **state)
{
    RTL_AVL_TABLE t;
    init_table(&t);
    /* 0, 999, 1, 998, ... forces double rotations throughout. */
    for (ULONG k = 0; k < 500; k++) {
        insert_key(&t, k, NULL);
        insert_key(&t, 999 - k, NULL);
        if ((k & 31) == 0)
            validate_table(&t);
    }
    check_bulk(&t, 1000);
    delete_everything(&t);
}

/* ---- deletion ------------------------------------------------------------- */

static void test_delete_cases(void **state)
{
    RTL_AVL_TABLE t;
    static const ULONG keys[] = {50, 30, 70, 20, 40, 60, 80, 35, 45, 65};

    init_table(&t);
    for (ULONG i = 0; i < RTL_NUMBER_OF(keys); i++)
        insert_key(&t, keys[i], NULL);
    validate_table(&t);

    assert_false(delete_key(&t, 55)); /* missing key */
    assert_int_equal(t.DeleteCount, 0);
    assert_true(delete_key(&t, 20)); /* leaf */
    assert_int_equal(t.DeleteCount, 1);
    validate_table(&t);
    assert_true(delete_key(&t, 60)); /* one child */
    validate_table(&t);
    assert_true(delete_key(&t, 30)); /* two children */
    validate_table(&t);
    assert_true(delete_key(&t, 50)); /* the root */
    validate_table(&t);
    assert_false(delete_key(&t, 50)); /* already gone */
    assert_int_equal(t.DeleteCount, 4);
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 6);
    assert_null(lookup_key(&t, 30));
    assert_non_null(lookup_key(&t, 35));
    assert_int_equal(g_stats.Outstanding, 6);
    delete_everything(&t);
    assert_int_equal(t.DeleteCount, 10);
}

/* Relinking, not copying: surviving elements keep their addresses. */
static void test_pointers_stable_across_deletes(void **state)
{
    RTL_AVL_TABLE t;
    static ELEM *where[200];

    init_table(&t);
    for (ULONG k = 0; k < 200; k++)
        where[k] = insert_key(&t, k, NULL);
    for (ULONG k = 0; k < 200; k += 3)
        assert_true(delete_key(&t, k));
    validate_table(&t);
    for (ULONG k = 0; k < 200; k++) {
        if (k % 3 == 0) {
            assert_null(lookup_key(&t, k));
        } else {
            assert_ptr_equal(lookup_key(&t, k), where[k]);
            assert_int_equal(where[k]->Check, check_of(k));
        }
    }
    delete_everything(&t);
}

static void test_delete_all_orders(void **state)
{
    RTL_AVL_TABLE t;
    uint64_t seed = 0xD1E7E5EEDULL;
    static ULONG order[300];

    for (ULONG round = 0; round < 4; round++) {
        init_table(&t);
        for (ULONG k = 0; k < 300; k++) {
            insert_key(&t, k * 7 + round, NULL);
            order[k] = k * 7 + round;
        }
        /* round 0: ascending, 1: descending, 2-3: shuffled */
        for (ULONG k = 0; k < 300 && round >= 1; k++) {
            if (round == 1) {
                if (k < 150) {
                    ULONG tmp = order[k];
                    order[k] = order[299 - k];
                    order[299 - k] = tmp;
                }
            } else {
                ULONG j = k + (ULONG)(ntos_test_rand(&seed) % (300 - k));
                ULONG tmp = order[k];
                order[k] = order[j];
                order[j] = tmp;
            }
        }
        for (ULONG k = 0; k < 300; k++) {
            assert_true(delete_key(&t, order[k]));
            if ((k & 15) == 0)
                validate_table(&t);
        }
        validate_table(&t);
        assert_int_equal(t.DeleteCount, 300);
        assert_int_equal(g_stats.Outstanding, 0);
    }
}

/* ---- enumeration ---------------------------------------------------------- */

static void fill_tens(PRTL_AVL_TABLE t, ULONG count)
{
    /* keys 10, 20, ..., count * 10, inserted in a scrambled order */
    for (ULONG k = 0; k < count; k++)
        insert_key(t, ((k * 7) % count + 1) * 10, NULL);
}

static void test_enumerate_in_order(void **state)
{
    RTL_AVL_TABLE t;
    ULONG expect = 10;
    ELEM *e;

    init_table(&t);
    fill_tens(&t, 50);
    for (e = RtlEnumerateGenericTableAvl(&t, TRUE); e != NULL; e = RtlEnumerateGenericTableAvl(&t, FALSE)) {
        assert_int_equal(e->Key, expect);
        expect += 10;
    }
    assert_int_equal(expect, 510);
    /* Past the end it stays at the end... */
    assert_null(RtlEnumerateGenericTableAvl(&t, FALSE));
    assert_null(RtlEnumerateGenericTableAvl(&t, FALSE));
    /* ...until restarted. */
    e = RtlEnumerateGenericTableAvl(&t, TRUE);
    assert_int_equal(e->Key, 10);
    e = RtlEnumerateGenericTableAvl(&t, FALSE);
    assert_int_equal(e->Key, 20);
    e = RtlEnumerateGenericTableAvl(&t, TRUE);
    assert_int_equal(e->Key, 10);
    delete_everything(&t);
}

/* Deleting the element just returned does not derail the enumeration. */
static void test_enumerate_delete_current(void **state)
{
    RTL_AVL_TABLE t;
    ULONG seen = 0;
    ELEM *e;

    init_table(&t);
    fill_tens(&t, 40);
    for (e = RtlEnumerateGenericTableAvl(&t, TRUE); e != NULL; e = RtlEnumerateGenericTableAvl(&t, FALSE)) {
        ULONG key = e->Key;
        seen++;
        assert_int_equal(key, seen * 10);
        if ((key / 10) % 2 == 1)
            assert_true(delete_key(&t, key));
    }
    assert_int_equal(seen, 40);
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 20);
    /* Deleting the very first element returned restarts at the new minimum. */
    e = RtlEnumerateGenericTableAvl(&t, TRUE);
    assert_int_equal(e->Key, 20);
    assert_true(delete_key(&t, 20));
    e = RtlEnumerateGenericTableAvl(&t, FALSE);
    assert_int_equal(e->Key, 40);
    validate_table(&t);
    delete_everything(&t);
}

static void test_enumerate_without_splaying(void **state)
{
    RTL_AVL_TABLE t;
    PVOID a = NULL, b = NULL;
    ELEM *e;

    init_table(&t);
    fill_tens(&t, 30);
    /* Two independent cursors. */
    e = RtlEnumerateGenericTableWithoutSplayingAvl(&t, &a);
    assert_int_equal(e->Key, 10);
    e = RtlEnumerateGenericTableWithoutSplayingAvl(&t, &a);
    assert_int_equal(e->Key, 20);
    e = RtlEnumerateGenericTableWithoutSplayingAvl(&t, &b);
    assert_int_equal(e->Key, 10);
    e = RtlEnumerateGenericTableWithoutSplayingAvl(&t, &a);
    assert_int_equal(e->Key, 30);
    /* The cursor is the element's node. */
    assert_ptr_equal((PUCHAR)a + HEADER, (PUCHAR)e);
    for (ULONG k = 4; k <= 30; k++) {
        e = RtlEnumerateGenericTableWithoutSplayingAvl(&t, &a);
        assert_int_equal(e->Key, k * 10);
    }
    assert_null(RtlEnumerateGenericTableWithoutSplayingAvl(&t, &a));
    assert_null(RtlEnumerateGenericTableWithoutSplayingAvl(&t, &a));
    /* The table's own cursor was not used. */
    assert_null(t.RestartKey);
    delete_everything(&t);
}

/* ---- indexed access ------------------------------------------------------- */

static void test_get_element(void **state)
{
    RTL_AVL_TABLE t;
    uint64_t seed = 77;

    init_table(&t);
    fill_tens(&t, 100);
    for (ULONG i = 0; i < 100; i++)
        assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, i))->Key, (i + 1) * 10);
    for (ULONG i = 100; i > 0; i--)
        assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, i - 1))->Key, i * 10);
    for (ULONG n = 0; n < 500; n++) {
        ULONG i = (ULONG)(ntos_test_rand(&seed) % 100);
        assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, i))->Key, (i + 1) * 10);
    }
    assert_null(RtlGetElementGenericTableAvl(&t, 100));
    assert_null(RtlGetElementGenericTableAvl(&t, 0xFFFFFFFF));
    /* The cached position must not survive structural changes. */
    assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, 50))->Key, 510);
    insert_key(&t, 5, NULL);
    assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, 50))->Key, 500);
    assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, 51))->Key, 510);
    assert_true(delete_key(&t, 5));
    assert_true(delete_key(&t, 20));
    assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, 50))->Key, 520);
    assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, 0))->Key, 10);
    assert_int_equal(((ELEM *)RtlGetElementGenericTableAvl(&t, 98))->Key, 1000);
    assert_null(RtlGetElementGenericTableAvl(&t, 99));
    delete_everything(&t);
}

/* ---- Full lookup / insertion ---------------------------------------------- */

static void test_lookup_full(void **state)
{
    RTL_AVL_TABLE t;
    PVOID where = (PVOID)0x1234;
    TABLE_SEARCH_RESULT result;
    ELEM probe = make(25);
    BOOLEAN isNew;
    ELEM *p;

    init_table(&t);
    /* Empty: TableEmptyTree and NodeOrParent left alone (documented). */
    assert_null(RtlLookupElementGenericTableFullAvl(&t, &probe, &where, &result));
    assert_int_equal(result, TableEmptyTree);
    assert_ptr_equal(where, (PVOID)0x1234);
    p = (ELEM *)RtlInsertElementGenericTableFullAvl(&t, &probe, sizeof(probe), &isNew, where, result);
    assert_true(isNew);
    assert_int_equal(p->Key, 25);

    insert_key(&t, 10, NULL);
    insert_key(&t, 40, NULL);
    /* Found: NodeOrParent is the element's node. */
    probe = make(10);
    p = (ELEM *)RtlLookupElementGenericTableFullAvl(&t, &probe, &where, &result);
    assert_int_equal(result, TableFoundNode);
    assert_int_equal(p->Key, 10);
    assert_ptr_equal((PUCHAR)where + HEADER, (PUCHAR)p);
    /* TableFoundNode handed to the insert returns the existing element. */
    assert_ptr_equal(RtlInsertElementGenericTableFullAvl(&t, &probe, sizeof(probe), &isNew, where, result), p);
    assert_false(isNew);
    assert_int_equal(RtlNumberGenericTableElementsAvl(&t), 3);

    /* Missing, below 10: left child of 10. */
    probe = make(5);
    assert_null(RtlLookupElementGenericTableFullAvl(&t, &probe, &where, &result));
    assert_int_equal(result, TableInsertAsLeft);
    assert_int_equal(data_of((PRTL_BALANCED_LINKS)where)->Key, 10);
    p = (ELEM *)RtlInsertElementGenericTableFullAvl(&t, &probe, sizeof(probe), &isNew, where, result);
    assert_true(isNew);
    assert_ptr_equal(data_of(((PRTL_BALANCED_LINKS)where)->LeftChild), p);

    /* Missing, between 25 and 40: left child of 40. */
    probe = make(30);
    assert_null(RtlLookupElementGenericTableFullAvl(&t, &probe, &where, &result));
    assert_int_equal(result, TableInsertAsLeft);
    assert_int_equal(data_of((PRTL_BALANCED_LINKS)where)->Key, 40);

    /* Missing, above 40: right child of 40. */
    probe = make(50);
    assert_null(RtlLookupElementGenericTableFullAvl(&t, &probe, &where, &result));
    assert_int_equal(result, TableInsertAsRight);
    assert_int_equal(data_of((PRTL_BALANCED_LINKS)where)->Key, 40);
    p = (ELEM *)RtlInsertElementGenericTableFullAvl(&t, &probe, sizeof(probe), &isNew, where, result);
    assert_true(isNew);
    assert_int_equal(p->Key, 50);
    validate_table(&t);
    delete_everything(&t);
}

/* Lookup-then-insert through the Full routines keeps the tree balanced. */
static void test_full_routines_bulk(void **state)
{
    RTL_AVL_TABLE t;
    PVOID where = NULL;
    TABLE_SEARCH_RESULT result;

    init_table(&t);
    for (ULONG k = 0; k < 600; k++) {
        ELEM e = make((k * 37) % 600);
        if (RtlLookupElementGenericTableFullAvl(&t, &e, &where, &result) == NULL)
            RtlInsertElementGenericTableFullAvl(&t, &e, sizeof(e), NULL, where, result);
    }
    check_bulk(&t, 600);
    delete_everything(&t);
}

/* ---- first matching element ----------------------------------------------- */

#define ANY_VARIANT 0xFFFFFFFFu

typedef struct _NAME {
    ULONG Group;   /* like a case-folded name */
    ULONG Variant; /* like the exact spelling; ANY_VARIANT only in search keys */
} NAME;

static RTL_GENERIC_COMPARE_RESULTS NTAPI compare_name(PRTL_AVL_TABLE Table, PVOID First, PVOID Second)
{
    const NAME *a = (const NAME *)First, *b = (const NAME *)Second;
    if (a->Group != b->Group)
        return a->Group < b->Group ? GenericLessThan : GenericGreaterThan;
    if (a->Variant == ANY_VARIANT || a->Variant == b->Variant)
        return GenericEqual;
    return a->Variant < b->Variant ? GenericLessThan : GenericGreaterThan;
}

static void test_first_matching(void **state)
{
    RTL_AVL_TABLE t;
    PVOID restart = (PVOID)1;
    NAME n, *p;

    pool_reset();
    RtlInitializeGenericTableAvl(&t, compare_name, pool_allocate, pool_free, NULL);
    for (ULONG v = 0; v < 5; v++) {
        for (ULONG g = 1; g <= 3; g++) {
            n.Group = g;
            n.Variant = 4 - v;
            RtlInsertElementGenericTableAvl(&t, &n, sizeof(n), NULL);
        }
    }
    n.Group = 2;
    n.Variant = ANY_VARIANT;
    p = (NAME *)RtlLookupFirstMatchingElementGenericTableAvl(&t, &n, &restart);
    assert_non_null(p);
    assert_int_equal(p->Group, 2);
    assert_int_equal(p->Variant, 0);
    assert_ptr_equal((PUCHAR)restart + HEADER, (PUCHAR)p);
    /* The enumeration continues through the rest of the group and beyond. */
    for (ULONG v = 1; v < 5; v++) {
        p = (NAME *)RtlEnumerateGenericTableWithoutSplayingAvl(&t, &restart);
        assert_int_equal(p->Group, 2);
        assert_int_equal(p->Variant, v);
    }
    p = (NAME *)RtlEnumerateGenericTableWithoutSplayingAvl(&t, &restart);
    assert_int_equal(p->Group, 3);
    assert_int_equal(p->Variant, 0);

    /* Groups at either end, an exact key, and a missing group. */
    n.Group = 1;
    p = (NAME *)RtlLookupFirstMatchingElementGenericTableAvl(&t, &n, &restart);
    assert_int_equal(p->Group * 10 + p->Variant, 10);
    n.Group = 3;
    p = (NAME *)RtlLookupFirstMatchingElementGenericTableAvl(&t, &n, &restart);
    assert_int_equal(p->Group * 10 + p->Variant, 30);
    n.Group = 2;
    n.Variant = 3;
    p = (NAME *)RtlLookupFirstMatchingElementGenericTableAvl(&t, &n, &restart);
    assert_int_equal(p->Group * 10 + p->Variant, 23);
    n.Group = 4;
    n.Variant = ANY_VARIANT;
    assert_null(RtlLookupFirstMatchingElementGenericTableAvl(&t, &n, &restart));
    assert_null(restart);
    n.Group = 0;
    assert_null(RtlLookupFirstMatchingElementGenericTableAvl(&t, &n, &restart));

    while (!RtlIsGenericTableEmptyAvl(&t)) {
        NAME *first = (NAME *)RtlGetElementGenericTableAvl(&t, 0);
        n = *first;
        assert_true(RtlDeleteElementGenericTableAvl(&t, &n));
    }
    assert_int_equal(g_stats.Outstanding, 0);
}

/* ---- RtlEnumerateGenericTableLikeADirectory ------------------------------- */

static ULONG g_match_calls;

static NTSTATUS NTAPI match_multiple(PRTL_AVL_TABLE Table, PVOID UserData, PVOID MatchData)
{
    g_match_calls++;
    return (((ELEM *)UserData)->Key % *(ULONG *)MatchData) == 0 ? STATUS_SUCCESS : STATUS_NOT_FOUND;
}

static NTSTATUS NTAPI match_up_to(PRTL_AVL_TABLE Table, PVOID UserData, PVOID MatchData)
{
    g_match_calls++;
    return ((ELEM *)UserData)->Key <= *(ULONG *)MatchData ? STATUS_SUCCESS : STATUS_NO_MORE_MATCHES;
}

/* Runs a directory enumeration from `from`, collecting up to `max` keys. */
static ULONG directory_walk(PRTL_AVL_TABLE t, PRTL_AVL_MATCH_FUNCTION match, PVOID matchData, ULONG from,
                            ULONG *out, ULONG max)
{
    PVOID restart = NULL;
    ULONG deleteCount = 0, n = 0;
    ELEM key = make(from);
    ULONG next = FALSE;
    ELEM *e;

    while (n < max &&
           (e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(t, match, matchData, next, &restart,
                                                               &deleteCount, &key)) != NULL) {
        out[n++] = e->Key;
        key = *e;
        next = TRUE;
    }
    return n;
}

static void test_directory_full_walk(void **state)
{
    RTL_AVL_TABLE t;
    ULONG keys[16];

    init_table(&t);
    fill_tens(&t, 10);
    assert_int_equal(directory_walk(&t, NULL, NULL, 0, keys, 16), 10);
    for (ULONG i = 0; i < 10; i++)
        assert_int_equal(keys[i], (i + 1) * 10);
    /* Starting at an existing key includes it. */
    assert_int_equal(directory_walk(&t, NULL, NULL, 70, keys, 16), 4);
    assert_int_equal(keys[0], 70);
    /* Starting between keys begins at the next greater one. */
    assert_int_equal(directory_walk(&t, NULL, NULL, 35, keys, 16), 7);
    assert_int_equal(keys[0], 40);
    /* Starting past the last key yields nothing. */
    assert_int_equal(directory_walk(&t, NULL, NULL, 105, keys, 16), 0);
    delete_everything(&t);
}

static void test_directory_next_flag_with_buffer(void **state)
{
    RTL_AVL_TABLE t;
    PVOID restart = NULL;
    ULONG deleteCount = 0;
    ELEM key = make(30), *e;

    init_table(&t);
    fill_tens(&t, 10);
    /* No restart key: NextFlag FALSE returns the match, TRUE the one after. */
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, FALSE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 30);
    restart = NULL;
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, TRUE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 40);
    /* With a valid restart key, NextFlag FALSE repeats the same element. */
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, FALSE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 40);
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, TRUE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 50);
    /* A missing key with NextFlag TRUE still resumes at the next greater key. */
    restart = NULL;
    key = make(55);
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, TRUE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 60);
    /* The last element, then the end. */
    restart = NULL;
    key = make(100);
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, FALSE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 100);
    assert_null(RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, TRUE, &restart, &deleteCount, &key));
    delete_everything(&t);
}

/* After a deletion the restart key may dangle: the DeleteCount check makes the
 * routine fall back to Buffer (the caller's last key). */
static void test_directory_resume_after_delete(void **state)
{
    RTL_AVL_TABLE t;
    PVOID restart = NULL;
    ULONG deleteCount = 0;
    ELEM key = make(0), *e;

    init_table(&t);
    fill_tens(&t, 10);
    for (ULONG k = 1; k <= 5; k++) {
        e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, k > 1, &restart, &deleteCount, &key);
        assert_int_equal(e->Key, k * 10);
        key = *e;
    }
    assert_int_equal(deleteCount, 0);
    assert_true(delete_key(&t, 50)); /* the element the restart key names */
    assert_true(delete_key(&t, 60));
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, TRUE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 70);
    assert_int_equal(deleteCount, 2);
    key = *e;
    e = (ELEM *)RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, TRUE, &restart, &deleteCount, &key);
    assert_int_equal(e->Key, 80);
    delete_everything(&t);
}

static void test_directory_match_function(void **state)
{
    RTL_AVL_TABLE t;
    ULONG keys[32], divisor = 30, limit = 55;

    init_table(&t);
    fill_tens(&t, 20);
    g_match_calls = 0;
    assert_int_equal(directory_walk(&t, match_multiple, &divisor, 0, keys, 32), 6);
    for (ULONG i = 0; i < 6; i++)
        assert_int_equal(keys[i], (i + 1) * 30);
    assert_int_equal(g_match_calls, 20); /* every element examined once */

    /* STATUS_NO_MORE_MATCHES ends the enumeration at once. */
    g_match_calls = 0;
    assert_int_equal(directory_walk(&t, match_up_to, &limit, 20, keys, 32), 4);
    assert_int_equal(keys[0], 20);
    assert_int_equal(keys[3], 50);
    assert_int_equal(g_match_calls, 5);
    delete_everything(&t);
}

static void test_directory_empty_table(void **state)
{
    RTL_AVL_TABLE t;
    PVOID restart = NULL;
    ULONG deleteCount = 123;
    ELEM key = make(1);

    init_table(&t);
    assert_null(RtlEnumerateGenericTableLikeADirectory(&t, NULL, NULL, FALSE, &restart, &deleteCount, &key));
    assert_null(restart);
    assert_int_equal(deleteCount, 0);
}

/* ---- DepthOfTree and counts ----------------------------------------------- */

static void test_depth_and_counts(void **state)
{
    RTL_AVL_TABLE t;
    static const ULONG depthAfter[] = {1, 2, 2, 3, 3, 3, 3, 4};

    init_table(&t);
    assert_int_equal(t.DepthOfTree, 0);
    for (ULONG k = 0; k < RTL_NUMBER_OF(depthAfter); k++) {
        insert_key(&t, k, NULL);
        assert_int_equal(t.DepthOfTree, depthAfter[k]);
        assert_int_equal(RtlNumberGenericTableElementsAvl(&t), k + 1);
        assert_false(RtlIsGenericTableEmptyAvl(&t));
    }
    delete_everything(&t);
    assert_int_equal(t.DepthOfTree, 0);
    assert_true(RtlIsGenericTableEmptyAvl(&t));
}

/* ---- property tests against a sorted array -------------------------------- */

#define KEYSPACE_MAX 2048
static ULONG g_ref[KEYSPACE_MAX];
static ULONG g_ref_n;
static ELEM *g_ptr[KEYSPACE_MAX];

/* Index of the first reference key >= key. */
static ULONG ref_lower_bound(ULONG key)
{
    ULONG lo = 0, hi = g_ref_n;
    while (lo < hi) {
        ULONG mid = (lo + hi) / 2;
        if (g_ref[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static BOOLEAN ref_contains(ULONG key)
{
    ULONG i = ref_lower_bound(key);
    return (BOOLEAN)(i < g_ref_n && g_ref[i] == key);
}

static void ref_insert(ULONG key)
{
    ULONG i = ref_lower_bound(key);
    for (ULONG j = g_ref_n; j > i; j--)
        g_ref[j] = g_ref[j - 1];
    g_ref[i] = key;
    g_ref_n++;
}

static void ref_remove(ULONG key)
{
    ULONG i = ref_lower_bound(key);
    for (ULONG j = i; j + 1 < g_ref_n; j++)
        g_ref[j] = g_ref[j + 1];
    g_ref_n--;
}

static void property_run(ULONG keyspace, ULONG ops, uint64_t seed)
{
    RTL_AVL_TABLE t;
    ULONG deletes = 0;

    init_table(&t);
    g_ref_n = 0;
    g_expect_keys = g_ref;
    for (ULONG i = 0; i < keyspace; i++)
        g_ptr[i] = NULL;

    for (ULONG iter = 0; iter < ops; iter++) {
        ULONG op = (ULONG)(ntos_test_rand(&seed) % 12);
        ULONG key = (ULONG)(ntos_test_rand(&seed) % keyspace);
        BOOLEAN present = ref_contains(key);

        switch (op) {
        case 0:
        case 1:
        case 2: {
            BOOLEAN isNew = 2;
            ELEM *p = insert_key(&t, key, &isNew);
            assert_non_null(p);
            assert_int_equal(isNew, !present);
            assert_int_equal(p->Key, key);
            if (present) {
                assert_ptr_equal(p, g_ptr[key]);
            } else {
                ref_insert(key);
                g_ptr[key] = p;
            }
            break;
        }
        case 3:
        case 4:
            assert_int_equal(delete_key(&t, key), present);
            if (present) {
                ref_remove(key);
                g_ptr[key] = NULL;
                deletes++;
            }
            assert_int_equal(t.DeleteCount, deletes);
            break;
        case 5:
            assert_ptr_equal(lookup_key(&t, key), g_ptr[key]);
            break;
        case 6: {
            ULONG i = (ULONG)(ntos_test_rand(&seed) % (g_ref_n + 2));
            ELEM *p = (ELEM *)RtlGetElementGenericTableAvl(&t, i);
            if (i < g_ref_n)
                assert_ptr_equal(p, g_ptr[g_ref[i]]);
            else
                assert_null(p);
            break;
        }
        case 7: {
            /* Enumerate a stretch with the table cursor from the start. */
            ULONG steps = (ULONG)(ntos_test_rand(&seed) % 8);
            ELEM *p = RtlEnumerateGenericTableAvl(&t, TRUE);
            for (ULONG i = 0; i <= steps; i++) {
                if (i >= g_ref_n) {
                    assert_null(p);
                    break;
                }
                assert_ptr_equal(p, g_ptr[g_ref[i]]);
                p = RtlEnumerateGenericTableAvl(&t, FALSE);
            }
            break;
        }
        case 8: {
            /* Lookup-full then insert-full. */
            ELEM e = make(key);
            PVOID where = NULL;
            TABLE_SEARCH_RESULT result;
            BOOLEAN isNew;
            ELEM *p = (ELEM *)RtlLookupElementGenericTableFullAvl(&t, &e, &where, &result);
            assert_ptr_equal(p, g_ptr[key]);
            assert_int_equal(result == TableFoundNode, present);
            assert_int_equal(result == TableEmptyTree, g_ref_n == 0);
            p = (ELEM *)RtlInsertElementGenericTableFullAvl(&t, &e, sizeof(e), &isNew, where, result);
            assert_int_equal(isNew, !present);
            if (!present) {
                ref_insert(key);
                g_ptr[key] = p;
            }
            assert_ptr_equal(p, g_ptr[key]);
            break;
        }
        case 9: {
            /* First-matching then continue without splaying: the successor. */
            ELEM e = make(key);
            PVOID restart = NULL;
            ELEM *p = (ELEM *)RtlLookupFirstMatchingElementGenericTableAvl(&t, &e, &restart);
            assert_ptr_equal(p, g_ptr[key]);
            if (p != NULL) {
                ULONG i = ref_lower_bound(key) + 1;
                ELEM *q = (ELEM *)RtlEnumerateGenericTableWithoutSplayingAvl(&t, &restart);
                assert_ptr_equal(q, i < g_ref_n ? g_ptr[g_ref[i]] : NULL);
            }
            break;
        }
        case 10: {
            /* Directory enumeration from a random key for a few steps. */
            ULONG got[4];
            ULONG n = directory_walk(&t, NULL, NULL, key, got, 4);
            ULONG i = ref_lower_bound(key);
            ULONG expect = g_ref_n - i < 4 ? g_ref_n - i : 4;
            assert_int_equal(n, expect);
            for (ULONG j = 0; j < n; j++)
                assert_int_equal(got[j], g_ref[i + j]);
            break;
        }
        default:
            assert_int_equal(RtlNumberGenericTableElementsAvl(&t), g_ref_n);
            assert_int_equal(RtlIsGenericTableEmptyAvl(&t), g_ref_n == 0);
            break;
        }
        assert_int_equal(g_stats.Outstanding, g_ref_n);
        if ((iter & 7) == 0) {
            g_expect_count = g_ref_n;
            LONG h = validate_table(&t);
            if (h > max_avl_height(g_ref_n))
                fail_msg("height %d exceeds the AVL bound for %u nodes", h, g_ref_n);
        }
    }
    g_expect_count = g_ref_n;
    validate_table(&t);

    /* Drain in random order; every allocation must come back. */
    while (g_ref_n != 0) {
        ULONG i = (ULONG)(ntos_test_rand(&seed) % g_ref_n);
        ULONG key = g_ref[i];
        assert_true(delete_key(&t, key));
        ref_remove(key);
        if ((g_ref_n & 15) == 0) {
            g_expect_count = g_ref_n;
            validate_table(&t);
        }
    }
    g_expect_keys = NULL;
    validate_table(&t);
    assert_int_equal(g_stats.Outstanding, 0);
    assert_int_equal(g_stats.Allocs, g_stats.Frees);
}

static void test_property_dense_small(void **state)
{
    /* Few keys: constant churn of a small tree, many duplicate inserts. */
    property_run(24, 8000, 0xA11CEULL);
    property_run(64, 8000, 0xB0BULL);
}

static void test_property_large(void **state)
{
    property_run(1024, 20000, 0x5EED5EEDULL);
}

static void test_property_sparse(void **state)
{
    /* Wide key space: the tree mostly grows, with deletions mixed in. */
    property_run(KEYSPACE_MAX, 12000, 0xFEEDFACEULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_initialize_empty),
    cmocka_unit_test(test_insert_layout),
    cmocka_unit_test(test_insert_duplicate),
    cmocka_unit_test(test_insert_new_element_optional),
    cmocka_unit_test(test_insert_allocation_failure),
    cmocka_unit_test(test_insert_oversized_buffer),
    cmocka_unit_test(test_compare_argument_order),
    cmocka_unit_test(test_variable_sized_elements),
    cmocka_unit_test(test_shapes),
    cmocka_unit_test(test_ascending_inserts),
    cmocka_unit_test(test_descending_inserts),
    cmocka_unit_test(test_zigzag_inserts),
    cmocka_unit_test(test_delete_cases),
    cmocka_unit_test(test_pointers_stable_across_deletes),
    cmocka_unit_test(test_delete_all_orders),
    cmocka_unit_test(test_enumerate_in_order),
    cmocka_unit_test(test_enumerate_delete_current),
    cmocka_unit_test(test_enumerate_without_splaying),
    cmocka_unit_test(test_get_element),
    cmocka_unit_test(test_lookup_full),
    cmocka_unit_test(test_full_routines_bulk),
    cmocka_unit_test(test_first_matching),
    cmocka_unit_test(test_directory_full_walk),
    cmocka_unit_test(test_directory_next_flag_with_buffer),
    cmocka_unit_test(test_directory_resume_after_delete),
    cmocka_unit_test(test_directory_match_function),
    cmocka_unit_test(test_directory_empty_table),
    cmocka_unit_test(test_depth_and_counts),
    cmocka_unit_test(test_property_dense_small),
    cmocka_unit_test(test_property_large),
    cmocka_unit_test(test_property_sparse),
};

NTOS_TEST_GROUP(rtl_avltable, tests, NULL, NULL);
