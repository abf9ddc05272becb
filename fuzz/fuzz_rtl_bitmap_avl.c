/*
 * libFuzzer harness for RTL_BITMAP (src/rtl/bitmap.c) and the generic AVL table
 * (src/rtl/avltable.c). The first input byte chooses which one; the rest is a
 * sequence of operations checked against a simple model after every step.
 *
 * Bitmap: sizes 0..4096 bits, the buffer is a malloc block of exactly
 * ceil(size / 32) ULONGs (ASan reports any access past it) and the model is one
 * byte per bit. Arguments include out-of-range indices and lengths, which
 * bitmap.c documents as rejected (no-op / FALSE), and the tail bits past
 * SizeOfBitMap start random and must never change.
 *
 * AVL table: elements carry a key and a variable payload; the model is a sorted
 * array. After every operation the tree is walked: order, parent links, AVL
 * balance factors, DepthOfTree, element count, the sentinel, the ordered-element
 * cache and the enumeration RestartKey must all agree with the model. The
 * allocate/free/compare callbacks check their arguments too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ntos/rtl.h>

#include "fuzz_input.h"


#ifndef STATUS_NO_MORE_MATCHES
#define STATUS_NO_MORE_MATCHES ((NTSTATUS)0xC0000273L)
#endif


/* ================================ bitmap ================================= */

#define NOT_FOUND 0xFFFFFFFFu

static RTL_BITMAP g_bm;
static ULONG *g_buf;
static ULONG g_size, g_words, g_tail_mask, g_tail;
static uint8_t *g_model;
static ULONG *g_runlen; /* scratch: length of the equal-valued run starting at each bit */

static ULONG pick_index(reader *r)
{
    uint8_t m = rd_u8(r);
    switch (m & 7) {
    case 0:
        return 0;
    case 1:
        return g_size ? g_size - 1 : 0;
    case 2:
        return g_size + (m >> 3) % 3; /* at and just past the end */
    case 3:
        return (m & 0x80) ? 0xFFFFFFFFu : 0x80000000u + (m >> 3);
    case 4:
        return rd_u32(r);
    default:
        return rd_u16(r) % (g_size + 2);
    }
}

static ULONG pick_count(reader *r)
{
    uint8_t m = rd_u8(r);
    switch (m & 7) {
    case 0:
        return 0;
    case 1:
        return 1 + (m >> 3) % 8;
    case 2:
        return g_size;
    case 3:
        return g_size + 1;
    case 4:
        return rd_u32(r);
    case 5:
        return 32 * ((m >> 3) % 4) + (m >> 5) % 3; /* word-sized runs */
    default:
        return rd_u16(r) % (g_size + 2);
    }
}

static int in_range(ULONG start, ULONG len)
{
    return (uint64_t)start + len <= g_size;
}

static void model_check(void)
{
    for (ULONG i = 0; i < g_size; i++)
        CHECK(((g_buf[i / 32] >> (i % 32)) & 1) == g_model[i]);
    if (g_words)
        CHECK((g_buf[g_words - 1] & g_tail_mask) == g_tail);
    CHECK(g_bm.SizeOfBitMap == g_size && g_bm.Buffer == g_buf);
}

static void model_fill(ULONG start, ULONG len, uint8_t v)
{
    for (ULONG i = 0; i < len; i++)
        g_model[start + i] = v;
}

/* Fills g_runlen[s] = number of consecutive bits equal to v from s. */
static void model_runs(uint8_t v)
{
    ULONG run = 0;
    for (ULONG i = g_size; i-- > 0;) {
        run = g_model[i] == v ? run + 1 : 0;
        g_runlen[i] = run;
    }
}

/* The documented search: lowest start >= hint whose run fits, then the lowest
 * start below hint; a hint past the end counts as 0; NumberToFind 0 returns the
 * effective hint. */
static ULONG model_find(ULONG n, ULONG hint, uint8_t v)
{
    if (n > g_size)
        return NOT_FOUND;
    if (hint >= g_size)
        hint = 0;
    if (n == 0)
        return hint;
    model_runs(v);
    for (ULONG s = hint; s + n <= g_size; s++)
        if (g_runlen[s] >= n)
            return s;
    for (ULONG s = 0; s < hint && s + n <= g_size; s++)
        if (g_runlen[s] >= n)
            return s;
    return NOT_FOUND;
}

/* First clear run starting at or after from: its start (0 if none) and length. */
static ULONG model_next_clear_run(ULONG from, ULONG *start)
{
    ULONG s = from;
    while (s < g_size && g_model[s])
        s++;
    if (s >= g_size) {
        *start = 0;
        return 0;
    }
    ULONG e = s;
    while (e < g_size && !g_model[e])
        e++;
    *start = s;
    return e - s;
}

static void bitmap_op(reader *r)
{
    uint8_t op = rd_u8(r) % 20;

    switch (op) {
    case 0: {
        ULONG i = pick_index(r);
        RtlSetBit(&g_bm, i);
        if (i < g_size)
            g_model[i] = 1;
        break;
    }
    case 1: {
        ULONG i = pick_index(r);
        RtlClearBit(&g_bm, i);
        if (i < g_size)
            g_model[i] = 0;
        break;
    }
    case 2: {
        ULONG i = pick_index(r);
        BOOLEAN b = RtlTestBit(&g_bm, i);
        CHECK(b == (i < g_size ? g_model[i] : 0));
        break;
    }
    case 3:
    case 4: {
        ULONG s = pick_index(r), n = pick_count(r);
        if (op == 3)
            RtlSetBits(&g_bm, s, n);
        else
            RtlClearBits(&g_bm, s, n);
        if (in_range(s, n))
            model_fill(s, n, op == 3);
        break;
    }
    case 5:
        RtlSetAllBits(&g_bm);
        model_fill(0, g_size, 1);
        break;
    case 6:
        RtlClearAllBits(&g_bm);
        model_fill(0, g_size, 0);
        break;
    case 7:
    case 8: {
        ULONG s = pick_index(r), n = pick_count(r);
        uint8_t v = op == 7;
        BOOLEAN b = v ? RtlAreBitsSet(&g_bm, s, n) : RtlAreBitsClear(&g_bm, s, n);
        int want = n != 0 && in_range(s, n);
        for (ULONG i = 0; want && i < n; i++)
            want = g_model[s + i] == v;
        CHECK(b == want);
        break;
    }
    case 9:
    case 10:
    case 11:
    case 12: {
        ULONG n = pick_count(r), hint = pick_index(r);
        uint8_t v = (op == 10 || op == 12); /* the value searched for */
        ULONG want = model_find(n, hint, v);
        ULONG got;
        switch (op) {
        case 9:
            got = RtlFindClearBits(&g_bm, n, hint);
            break;
        case 10:
            got = RtlFindSetBits(&g_bm, n, hint);
            break;
        case 11:
            got = RtlFindClearBitsAndSet(&g_bm, n, hint);
            break;
        default:
            got = RtlFindSetBitsAndClear(&g_bm, n, hint);
            break;
        }
        CHECK(got == want);
        if ((op == 11 || op == 12) && got != NOT_FOUND)
            model_fill(got, n, !v);
        break;
    }
    case 13: {
        ULONG set = 0;
        for (ULONG i = 0; i < g_size; i++)
            set += g_model[i];
        CHECK(RtlNumberOfSetBits(&g_bm) == set);
        CHECK(RtlNumberOfClearBits(&g_bm) == g_size - set);
        break;
    }
    case 14: {
        ULONG start = 0x5A5A5A5A, ws;
        ULONG len = RtlFindFirstRunClear(&g_bm, &start);
        ULONG wl = model_next_clear_run(0, &ws);
        CHECK(len == wl && start == ws);
        break;
    }
    case 15: {
        ULONG from = pick_index(r), start = 0x5A5A5A5A, ws;
        ULONG len = RtlFindNextForwardRunClear(&g_bm, from, &start);
        ULONG wl = model_next_clear_run(from, &ws);
        CHECK(len == wl && start == ws);
        break;
    }
    case 16: {
        ULONG start = 0x5A5A5A5A, best = 0, bstart = 0, pos = 0, s, l;
        ULONG len = RtlFindLongestRunClear(&g_bm, &start);
        while ((l = model_next_clear_run(pos, &s)) != 0) {
            if (l > best) {
                best = l;
                bstart = s;
            }
            pos = s + l;
        }
        CHECK(len == best && start == bstart);
        break;
    }
    case 17: {
        uint8_t m = rd_u8(r);
        ULONG cap = m % 12;
        BOOLEAN longest = (m >> 7) & 1;
        RTL_BITMAP_RUN *runs = malloc(cap * sizeof(*runs));
        if (runs == NULL)
            runs = malloc(1);
        CHECK(runs != NULL);
        ULONG got = RtlFindClearRuns(&g_bm, runs, cap, longest);

        /* Model: every clear run in address order. */
        RTL_BITMAP_RUN all[2049];
        ULONG nall = 0, pos = 0, s, l;
        while ((l = model_next_clear_run(pos, &s)) != 0) {
            all[nall].StartingIndex = s;
            all[nall].NumberOfBits = l;
            nall++;
            pos = s + l;
        }
        if (longest) {
            /* Stable sort by length, longest first: equal lengths keep address order. */
            for (ULONG i = 1; i < nall; i++) {
                RTL_BITMAP_RUN x = all[i];
                ULONG j = i;
                while (j > 0 && all[j - 1].NumberOfBits < x.NumberOfBits) {
                    all[j] = all[j - 1];
                    j--;
                }
                all[j] = x;
            }
        }
        ULONG want = nall < cap ? nall : cap;
        CHECK(got == want);
        for (ULONG i = 0; i < want; i++)
            CHECK(runs[i].StartingIndex == all[i].StartingIndex && runs[i].NumberOfBits == all[i].NumberOfBits);
        free(runs);
        break;
    }
    case 18: {
        uint64_t v = rd_u64(r) >> (rd_u8(r) % 65 == 64 ? 0 : rd_u8(r) % 64);
        CCHAR msb = RtlFindMostSignificantBit(v), lsb = RtlFindLeastSignificantBit(v);
        if (v == 0) {
            CHECK(msb == -1 && lsb == -1);
        } else {
            CHECK(msb >= 0 && msb < 64 && (v >> msb) == 1);
            CHECK(lsb >= 0 && lsb < 64 && ((v >> lsb) & 1) && (v & ((1ull << lsb) - 1)) == 0);
        }
        break;
    }
    default: {
        /* Re-describe the same buffer: RtlInitializeBitMap must not touch it. */
        RtlInitializeBitMap(&g_bm, g_buf, g_size);
        break;
    }
    }
}

static void fuzz_bitmap(reader *r)
{
    uint8_t m = rd_u8(r);
    switch (m & 3) {
    case 0:
        g_size = rd_u8(r) % 70;
        break;
    case 1:
        g_size = rd_u16(r) % 4097;
        break;
    case 2:
        g_size = 32 * (rd_u8(r) % 64) + (ULONG)(rd_u8(r) % 3) - 1;
        if (g_size == 0xFFFFFFFFu)
            g_size = 0;
        break;
    default:
        g_size = rd_u16(r) % 300;
        break;
    }
    g_words = (g_size + 31) / 32;
    g_buf = malloc(g_words * sizeof(ULONG));
    if (g_buf == NULL)
        g_buf = malloc(1);
    g_model = malloc(g_size ? g_size : 1);
    g_runlen = malloc((g_size ? g_size : 1) * sizeof(ULONG));
    CHECK(g_buf != NULL && g_model != NULL && g_runlen != NULL);

    uint8_t fill = (m >> 2) & 3;
    for (ULONG i = 0; i < g_words; i++) {
        switch (fill) {
        case 0:
            g_buf[i] = 0;
            break;
        case 1:
            g_buf[i] = 0xFFFFFFFFu;
            break;
        default:
            g_buf[i] = rd_u32(r);
            break;
        }
    }
    /* The tail past SizeOfBitMap gets garbage that must survive every operation. */
    g_tail_mask = (g_size % 32) ? ~((1u << (g_size % 32)) - 1) : 0;
    if (g_words) {
        g_buf[g_words - 1] = (g_buf[g_words - 1] & ~g_tail_mask) | ((m & 0x80 ? 0xFFFFFFFFu : 0x9E3779B9u) & g_tail_mask);
        g_tail = g_buf[g_words - 1] & g_tail_mask;
    }
    for (ULONG i = 0; i < g_size; i++)
        g_model[i] = (g_buf[i / 32] >> (i % 32)) & 1;

    RtlInitializeBitMap(&g_bm, g_buf, g_size);
    model_check();
    for (unsigned ops = 0; r->n > 0 && ops < 1024; ops++) {
        bitmap_op(r);
        model_check();
    }
    free(g_runlen);
    free(g_model);
    free(g_buf);
}

/* ================================ AVL table ============================== */

#define MAX_ELEMS 512
#define PAYLOAD_MAX 24
#define ALLOC_MAGIC 0xA11C0C8Du
#define FREED_MAGIC 0xF4EEDu

typedef struct {
    ULONG key;
    ULONG len;
    uint8_t payload[PAYLOAD_MAX];
} element;

typedef struct {
    ULONG key;
    void *data; /* what the table returned for it */
    ULONG len;
    uint8_t payload[PAYLOAD_MAX];
} model_elem;

typedef struct {
    ULONG mod, rem, stop_above;
} match_data;

static RTL_AVL_TABLE g_table;
static model_elem g_elems[MAX_ELEMS];
static ULONG g_count;
static int g_fail_alloc, g_alloc_called;
static CLONG g_expected_alloc;
static const void *g_compare_buffer;
static long g_outstanding;
static int g_cursor_valid;
static ULONG g_cursor_key;
static PVOID g_dir_restart;
static ULONG g_dir_delete_count;

/* The table's per-element allocation: a magic word and size before what the
 * table sees, so frees and compares can be validated. */
typedef struct {
    ULONG magic;
    ULONG size;
    uint64_t pad;
} alloc_header;

static void check_element_data(const void *data)
{
    const alloc_header *h = (const alloc_header *)((const uint8_t *)data - sizeof(RTL_BALANCED_LINKS)) - 1;
    CHECK(h->magic == ALLOC_MAGIC);
}

static ULONG key_of_node(const void *node)
{
    const void *data = (const uint8_t *)node + sizeof(RTL_BALANCED_LINKS);
    check_element_data(data);
    return ((const element *)data)->key;
}

static RTL_GENERIC_COMPARE_RESULTS NTAPI avl_compare(PRTL_AVL_TABLE t, PVOID first, PVOID second)
{
    CHECK(t == &g_table);
    /* Documented order: (table, caller's buffer, element data). */
    CHECK(first == g_compare_buffer);
    check_element_data(second);
    ULONG a = ((const element *)first)->key, b = ((const element *)second)->key;
    if (a < b)
        return GenericLessThan;
    if (a > b)
        return GenericGreaterThan;
    return GenericEqual;
}

static PVOID NTAPI avl_alloc(PRTL_AVL_TABLE t, CLONG bytes)
{
    CHECK(t == &g_table);
    CHECK(bytes == g_expected_alloc);
    g_alloc_called++;
    if (g_fail_alloc)
        return NULL;
    alloc_header *h = malloc(sizeof(*h) + bytes);
    CHECK(h != NULL);
    h->magic = ALLOC_MAGIC;
    h->size = bytes;
    memset(h + 1, 0xEE, bytes);
    g_outstanding++;
    return h + 1;
}

static VOID NTAPI avl_free(PRTL_AVL_TABLE t, PVOID p)
{
    CHECK(t == &g_table);
    alloc_header *h = (alloc_header *)p - 1;
    CHECK(h->magic == ALLOC_MAGIC);
    h->magic = FREED_MAGIC;
    g_outstanding--;
    free(h);
}

static NTSTATUS NTAPI avl_match(PRTL_AVL_TABLE t, PVOID data, PVOID match)
{
    CHECK(t == &g_table);
    check_element_data(data);
    const match_data *md = match;
    ULONG k = ((const element *)data)->key;
    if (k > md->stop_above)
        return STATUS_NO_MORE_MATCHES;
    return (k % md->mod == md->rem) ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

static ULONG pick_key(reader *r)
{
    uint8_t m = rd_u8(r);
    if (m & 0x80)
        return rd_u16(r);
    if ((m & 0x7f) == 0x7f)
        return rd_u32(r);
    return m % 48;
}

/* Index of the first model element with key >= k. */
static ULONG model_lower_bound(ULONG k)
{
    ULONG lo = 0, hi = g_count;
    while (lo < hi) {
        ULONG mid = lo + (hi - lo) / 2;
        if (g_elems[mid].key < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int model_find_key(ULONG k, ULONG *idx)
{
    ULONG i = model_lower_bound(k);
    *idx = i;
    return i < g_count && g_elems[i].key == k;
}

static void *node_of(const void *data)
{
    return (uint8_t *)data - sizeof(RTL_BALANCED_LINKS);
}

/* Walks the subtree: returns its height and checks links, balance and order. */
static int walk(PRTL_BALANCED_LINKS n, PRTL_BALANCED_LINKS parent, ULONG *visited)
{
    if (n == NULL)
        return 0;
    CHECK(n->Parent == parent);
    int hl = walk(n->LeftChild, n, visited);
    CHECK(*visited < g_count);
    model_elem *e = &g_elems[*visited];
    CHECK(node_of(e->data) == (void *)n);
    CHECK(key_of_node(n) == e->key);
    (*visited)++;
    int hr = walk(n->RightChild, n, visited);
    CHECK(n->Balance == hr - hl);
    CHECK(n->Balance >= -1 && n->Balance <= 1);
    return 1 + (hl > hr ? hl : hr);
}

static void avl_validate(void)
{
    PRTL_BALANCED_LINKS sentinel = &g_table.BalancedRoot;
    ULONG visited = 0;

    CHECK(sentinel->Parent == sentinel);
    CHECK(sentinel->LeftChild == NULL);
    int h = walk(sentinel->RightChild, sentinel, &visited);
    CHECK(visited == g_count);
    CHECK(g_table.NumberGenericTableElements == g_count);
    CHECK(g_table.DepthOfTree == (ULONG)h);
    CHECK(RtlNumberGenericTableElementsAvl(&g_table) == g_count);
    CHECK(RtlIsGenericTableEmptyAvl(&g_table) == (g_count == 0));
    if (g_table.WhichOrderedElement != 0) {
        CHECK(g_table.WhichOrderedElement <= g_count);
        CHECK(g_table.OrderedPointer == node_of(g_elems[g_table.WhichOrderedElement - 1].data));
    }
    if (!g_cursor_valid)
        CHECK(g_table.RestartKey == NULL);
    else
        CHECK(g_table.RestartKey != NULL && key_of_node(g_table.RestartKey) == g_cursor_key);
    for (ULONG i = 0; i < g_count; i++) {
        CHECK(i == 0 || g_elems[i - 1].key < g_elems[i].key);
        const element *d = g_elems[i].data;
        CHECK(d->key == g_elems[i].key && d->len == g_elems[i].len);
        CHECK(memcmp(d->payload, g_elems[i].payload, g_elems[i].len) == 0);
    }
    CHECK(g_outstanding == (long)g_count);
}

static void model_insert_at(ULONG idx, const element *e, void *data)
{
    memmove(&g_elems[idx + 1], &g_elems[idx], (g_count - idx) * sizeof(g_elems[0]));
    g_elems[idx].key = e->key;
    g_elems[idx].data = data;
    g_elems[idx].len = e->len;
    memcpy(g_elems[idx].payload, e->payload, e->len);
    g_count++;
}

static void make_element(reader *r, element *e)
{
    memset(e, 0, sizeof(*e));
    e->key = pick_key(r);
    e->len = rd_u8(r) % (PAYLOAD_MAX + 1);
    for (ULONG i = 0; i < e->len; i++)
        e->payload[i] = rd_u8(r);
}

static void avl_insert(reader *r, int full)
{
    element e;
    make_element(r, &e);
    uint8_t m = rd_u8(r);
    CLONG size = (CLONG)(offsetof(element, payload) + e.len);
    BOOLEAN isnew = 0x55;
    PBOOLEAN pnew = (m & 2) ? NULL : &isnew;
    ULONG idx;
    int exists = model_find_key(e.key, &idx);

    if (!exists && g_count == MAX_ELEMS)
        return;
    g_fail_alloc = m & 1;
    g_alloc_called = 0;
    g_expected_alloc = (CLONG)(sizeof(RTL_BALANCED_LINKS) + size);
    g_compare_buffer = &e;
    PVOID ret;
    if (full) {
        PVOID where = NULL;
        TABLE_SEARCH_RESULT sr;
        PVOID found = RtlLookupElementGenericTableFullAvl(&g_table, &e, &where, &sr);
        CHECK((found != NULL) == exists);
        ret = RtlInsertElementGenericTableFullAvl(&g_table, &e, size, pnew, where, sr);
    } else {
        ret = RtlInsertElementGenericTableAvl(&g_table, &e, size, pnew);
    }
    g_fail_alloc = 0;

    if (exists) {
        /* No duplicates: the existing element wins, nothing is allocated. */
        CHECK(ret == g_elems[idx].data);
        CHECK(g_alloc_called == 0);
        if (pnew)
            CHECK(isnew == FALSE);
    } else if (m & 1) {
        CHECK(ret == NULL && g_alloc_called == 1);
        if (pnew)
            CHECK(isnew == FALSE);
    } else {
        CHECK(ret != NULL && g_alloc_called == 1);
        if (pnew)
            CHECK(isnew == TRUE);
        CHECK(memcmp(ret, &e, size) == 0);
        model_insert_at(idx, &e, ret);
    }
}

static void avl_delete_key(ULONG key)
{
    element e = {key, 0, {0}};
    ULONG idx;
    int exists = model_find_key(key, &idx);
    ULONG dc = g_table.DeleteCount;

    g_compare_buffer = &e;
    BOOLEAN ok = RtlDeleteElementGenericTableAvl(&g_table, &e);
    CHECK(ok == exists);
    if (!exists) {
        CHECK(g_table.DeleteCount == dc);
        return;
    }
    CHECK(g_table.DeleteCount == dc + 1);
    /* Deleting the enumeration position moves it to the predecessor. */
    if (g_cursor_valid && g_cursor_key == key) {
        if (idx == 0)
            g_cursor_valid = 0;
        else
            g_cursor_key = g_elems[idx - 1].key;
    }
    memmove(&g_elems[idx], &g_elems[idx + 1], (g_count - idx - 1) * sizeof(g_elems[0]));
    g_count--;
}

static void avl_lookup(reader *r)
{
    element e = {pick_key(r), 0, {0}};
    ULONG idx;
    int exists = model_find_key(e.key, &idx);
    uint8_t m = rd_u8(r);

    g_compare_buffer = &e;
    if (!(m & 1)) {
        PVOID got = RtlLookupElementGenericTableAvl(&g_table, &e);
        CHECK(got == (exists ? g_elems[idx].data : NULL));
        return;
    }
    PVOID where = (PVOID)(uintptr_t)0x1234;
    TABLE_SEARCH_RESULT sr = (TABLE_SEARCH_RESULT)77;
    PVOID got = RtlLookupElementGenericTableFullAvl(&g_table, &e, &where, &sr);
    if (g_count == 0) {
        CHECK(got == NULL && sr == TableEmptyTree && where == (PVOID)(uintptr_t)0x1234);
    } else if (exists) {
        CHECK(got == g_elems[idx].data && sr == TableFoundNode && where == node_of(got));
    } else {
        CHECK(got == NULL);
        PRTL_BALANCED_LINKS p = where;
        if (sr == TableInsertAsLeft) {
            /* Would become the left child: the parent is the next larger key. */
            CHECK(idx < g_count && p == node_of(g_elems[idx].data) && p->LeftChild == NULL);
        } else {
            CHECK(sr == TableInsertAsRight);
            CHECK(idx > 0 && p == node_of(g_elems[idx - 1].data) && p->RightChild == NULL);
        }
    }
}

static void avl_enumerate(reader *r)
{
    uint8_t m = rd_u8(r);
    unsigned steps = 1 + m % 8;
    BOOLEAN restart = (m >> 3) & 1;

    for (unsigned s = 0; s < steps; s++) {
        PVOID got = RtlEnumerateGenericTableAvl(&g_table, restart);
        if (restart)
            g_cursor_valid = 0;
        ULONG next = g_cursor_valid ? model_lower_bound(g_cursor_key) + 1 : 0;
        if (next >= g_count) {
            CHECK(got == NULL);
        } else {
            CHECK(got == g_elems[next].data);
            g_cursor_valid = 1;
            g_cursor_key = g_elems[next].key;
        }
        restart = FALSE;
        avl_validate();
    }
}

static void avl_enumerate_without_splaying(reader *r)
{
    PVOID key = NULL;
    for (ULONG i = 0; i <= g_count; i++) {
        PVOID got = RtlEnumerateGenericTableWithoutSplayingAvl(&g_table, &key);
        CHECK(got == (i < g_count ? g_elems[i].data : NULL));
    }
    /* At the end it keeps returning NULL. */
    CHECK(RtlEnumerateGenericTableWithoutSplayingAvl(&g_table, &key) == NULL);

    /* First match, then continue from it. */
    element e = {pick_key(r), 0, {0}};
    ULONG idx;
    int exists = model_find_key(e.key, &idx);
    PVOID restart = (PVOID)(uintptr_t)0x1234;
    g_compare_buffer = &e;
    PVOID got = RtlLookupFirstMatchingElementGenericTableAvl(&g_table, &e, &restart);
    if (!exists) {
        CHECK(got == NULL && restart == NULL);
        return;
    }
    CHECK(got == g_elems[idx].data && restart == node_of(got));
    for (ULONG i = idx + 1; i <= g_count && i < idx + 4; i++) {
        got = RtlEnumerateGenericTableWithoutSplayingAvl(&g_table, &restart);
        CHECK(got == (i < g_count ? g_elems[i].data : NULL));
    }
}

static void avl_get(reader *r)
{
    uint8_t m = rd_u8(r);
    if (m & 1) {
        /* Sequential walks, forwards or backwards, exercise the position cache. */
        for (ULONG k = 0; k < g_count; k++) {
            ULONG i = (m & 2) ? g_count - 1 - k : k;
            CHECK(RtlGetElementGenericTableAvl(&g_table, i) == g_elems[i].data);
        }
        return;
    }
    ULONG i = (m & 2) ? rd_u32(r) : rd_u16(r) % (g_count + 3);
    PVOID got = RtlGetElementGenericTableAvl(&g_table, i);
    CHECK(got == (i < g_count ? g_elems[i].data : NULL));
}

/*
 * Known bug (reported): when a call does not store a new *RestartKey (empty
 * table, nothing at or after Buffer, or an immediate STATUS_NO_MORE_MATCHES)
 * the routine still refreshes *DeleteCount, so a RestartKey whose node was
 * deleted before the call looks valid to the next call, which then resumes at
 * freed memory. Defining FUZZ_WORKAROUND_DIRECTORY_RESTART makes the harness
 * (the caller) drop such a key itself, only to let long runs get past the bug;
 * the default build reports it.
 */
static void dir_workaround(int resumed, PVOID restart_before)
{
#ifdef FUZZ_WORKAROUND_DIRECTORY_RESTART
    if (!resumed && g_dir_restart == restart_before)
        g_dir_restart = NULL;
#else
    (void)resumed;
    (void)restart_before;
#endif
}

static void avl_directory(reader *r)
{
    uint8_t m = rd_u8(r);
    match_data md = {1 + rd_u8(r) % 4, 0, 0xFFFFFFFFu};
    md.rem = rd_u8(r) % md.mod;
    if (m & 4)
        md.stop_above = pick_key(r);
    BOOLEAN use_match = (m & 1) != 0;
    ULONG next_flag = (m >> 1) & 1;
    element e = {pick_key(r), 0, {0}};
    PVOID restart_before = g_dir_restart;
    /* Resuming at the saved node is only valid when nothing was deleted since. */
    int resume = restart_before != NULL && g_dir_delete_count == g_table.DeleteCount;

    g_compare_buffer = &e;
    PVOID got = RtlEnumerateGenericTableLikeADirectory(&g_table, use_match ? avl_match : NULL, &md, next_flag,
                                                       &g_dir_restart, &g_dir_delete_count, &e);
    CHECK(g_dir_delete_count == g_table.DeleteCount);
    if (g_count == 0) {
        /* Nothing visited: *RestartKey is not documented to change (or it may
         * be cleared). */
        CHECK(got == NULL);
        CHECK(g_dir_restart == restart_before || g_dir_restart == NULL);
        dir_workaround(resume, restart_before);
        return;
    }

    /* Model: where the enumeration starts. */
    ULONG i;
    if (resume) {
        i = model_lower_bound(key_of_node(restart_before));
        if (next_flag)
            i++;
    } else {
        ULONG idx;
        if (model_find_key(e.key, &idx))
            i = next_flag ? idx + 1 : idx;
        else
            i = idx;
    }
    PVOID want_restart = restart_before;
    PVOID want = NULL;
    for (; i < g_count; i++) {
        if (use_match) {
            ULONG k = g_elems[i].key;
            if (k > md.stop_above)
                break;
            want_restart = node_of(g_elems[i].data);
            if (k % md.mod != md.rem)
                continue;
        }
        want_restart = node_of(g_elems[i].data);
        want = g_elems[i].data;
        break;
    }
    CHECK(got == want);
    if (want_restart == restart_before)
        CHECK(g_dir_restart == restart_before || g_dir_restart == NULL);
    else
        CHECK(g_dir_restart == want_restart);
    dir_workaround(resume, restart_before);
}

static void fuzz_avl(reader *r)
{
    g_count = 0;
    g_outstanding = 0;
    g_cursor_valid = 0;
    g_dir_restart = NULL;
    g_dir_delete_count = 0;
    RtlInitializeGenericTableAvl(&g_table, avl_compare, avl_alloc, avl_free, (PVOID)(uintptr_t)0xC0FFEE);
    CHECK(g_table.TableContext == (PVOID)(uintptr_t)0xC0FFEE);
    avl_validate();

    for (unsigned ops = 0; r->n > 0 && ops < 2048; ops++) {
        switch (rd_u8(r) % 12) {
        case 0:
        case 1:
        case 2:
            avl_insert(r, 0);
            break;
        case 3:
            avl_insert(r, 1);
            break;
        case 4:
        case 5:
            avl_delete_key(pick_key(r));
            break;
        case 6:
            avl_lookup(r);
            break;
        case 7:
            avl_enumerate(r);
            break;
        case 8:
            avl_enumerate_without_splaying(r);
            break;
        case 9:
            avl_get(r);
            break;
        case 10:
            avl_directory(r);
            break;
        default: {
            /* Delete the element at a position (by its key). */
            if (g_count)
                avl_delete_key(g_elems[rd_u16(r) % g_count].key);
            break;
        }
        }
        avl_validate();
    }

    while (g_count) {
        avl_delete_key(g_elems[g_count / 2].key);
        avl_validate();
    }
    CHECK(RtlIsGenericTableEmptyAvl(&g_table));
    CHECK(g_outstanding == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    if (rd_u8(&r) & 1)
        fuzz_avl(&r);
    else
        fuzz_bitmap(&r);
    return 0;
}
