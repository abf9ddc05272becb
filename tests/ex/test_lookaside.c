/*
 * Lookaside lists: initial state and documented defaults, hits and misses
 * with the counters, the Depth limit, custom Allocate/Free routines and the
 * parameters they receive, flags, flush and delete, the IRQL rules,
 * LOOKASIDE_LIST_EX parameter validation, depth re-tuning, and a stress of
 * one list shared by threads on every processor. Pool accounting by tag
 * checks that every entry went back to the pool.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_pool.h>

#define TAG(a, b, c, d) ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))

typedef struct usage {
    ULONG64 allocs, frees, bytes;
} usage;

static usage tag_usage(ULONG tag, POOL_TYPE type)
{
    usage u = {0, 0, 0};
    ExQueryPoolTagUsage(tag, type, &u.allocs, &u.frees, &u.bytes);
    return u;
}

static void assert_returned(ULONG tag, POOL_TYPE type, usage before)
{
    usage now = tag_usage(tag, type);
    assert_int_equal(now.allocs - before.allocs, now.frees - before.frees);
    assert_int_equal(now.bytes, before.bytes);
}

static int lookaside_setup(void **state)
{
    ExInitializePool();
    return 0;
}

/* ---- NPAGED / PAGED lists with the default routines ---------------------------------------------- */

static void lookaside_npaged_defaults_and_depth(void **state)
{
    static NPAGED_LOOKASIDE_LIST l;
    const ULONG tag = TAG('L', 'n', 'd', 'f');
    usage before = tag_usage(tag, NonPagedPool);
    ULONG lists = ExQueryLookasideListCount();
    RtlFillMemory(&l, sizeof(l), 0xCC);
    ExInitializeNPagedLookasideList(&l, NULL, NULL, 0, 100, tag, 0);
    assert_int_equal(ExQueryLookasideListCount(), lists + 1);
    assert_int_equal(ExQueryDepthSList(&l.L.ListHead), 0);
    assert_int_equal(l.L.Depth, EX_MINIMUM_LOOKASIDE_DEPTH);
    assert_int_equal(l.L.MaximumDepth, EX_MAXIMUM_LOOKASIDE_DEPTH_BASE);
    assert_int_equal(l.L.TotalAllocates, 0);
    assert_int_equal(l.L.AllocateMisses, 0);
    assert_int_equal(l.L.TotalFrees, 0);
    assert_int_equal(l.L.FreeMisses, 0);
    assert_int_equal(l.L.Type, NonPagedPool);
    assert_int_equal(l.L.Tag, tag);
    assert_int_equal(l.L.Size, 100);
    assert_ptr_equal(l.L.Allocate, ExAllocatePoolWithTag);
    assert_ptr_equal(l.L.Free, ExFreePool);

    PVOID e[6];
    for (ULONG i = 0; i < 6; i++) {
        e[i] = ExAllocateFromNPagedLookasideList(&l);
        assert_non_null(e[i]);
        assert_int_equal((ULONG_PTR)e[i] & 15, 0);
        assert_true(ExQueryPoolBlockSize(e[i], NULL) >= 100);
        RtlFillMemory(e[i], 100, (UCHAR)i);
    }
    assert_int_equal(l.L.TotalAllocates, 6);
    assert_int_equal(l.L.AllocateMisses, 6);
    assert_int_equal(tag_usage(tag, NonPagedPool).allocs - before.allocs, 6);

    /* Up to Depth entries are kept; the rest go back to the pool. */
    for (ULONG i = 0; i < 6; i++)
        ExFreeToNPagedLookasideList(&l, e[i]);
    assert_int_equal(l.L.TotalFrees, 6);
    assert_int_equal(l.L.FreeMisses, 2);
    assert_int_equal(ExQueryDepthSList(&l.L.ListHead), 4);
    assert_int_equal(tag_usage(tag, NonPagedPool).frees - before.frees, 2);

    /* Hits come back last-in first-out, without touching the pool. */
    for (LONG i = 3; i >= 0; i--)
        assert_ptr_equal(ExAllocateFromNPagedLookasideList(&l), e[i]);
    assert_int_equal(l.L.TotalAllocates, 10);
    assert_int_equal(l.L.AllocateMisses, 6);
    assert_int_equal(tag_usage(tag, NonPagedPool).allocs - before.allocs, 6);
    for (ULONG i = 0; i < 4; i++)
        ExFreeToNPagedLookasideList(&l, e[i]);

    ExDeleteNPagedLookasideList(&l);
    assert_int_equal(ExQueryLookasideListCount(), lists);
    assert_returned(tag, NonPagedPool, before);
}

static void lookaside_npaged_flags(void **state)
{
    static NPAGED_LOOKASIDE_LIST nx, raise;
    const ULONG tag = TAG('L', 'n', 'f', 'l');
    usage before = tag_usage(tag, NonPagedPool);
    ExInitializeNPagedLookasideList(&nx, NULL, NULL, POOL_NX_ALLOCATION, 40, tag, 0);
    assert_int_equal(nx.L.Type, NonPagedPoolNx);
    PVOID e = ExAllocateFromNPagedLookasideList(&nx);
    assert_non_null(e);
    ExFreeToNPagedLookasideList(&nx, e);
    ExDeleteNPagedLookasideList(&nx);

    /* A request the pool cannot meet raises with the flag. */
    ExInitializeNPagedLookasideList(&raise, NULL, NULL, POOL_RAISE_IF_ALLOCATION_FAILURE, 0x80000000u, tag, 0);
    assert_int_equal(raise.L.Type, NonPagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, ExAllocateFromNPagedLookasideList(&raise));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_INSUFFICIENT_RESOURCES);
    ExDeleteNPagedLookasideList(&raise);
    assert_returned(tag, NonPagedPool, before);
}

static void lookaside_minimum_size(void **state)
{
    static NPAGED_LOOKASIDE_LIST l;
    const ULONG tag = TAG('L', 'm', 'i', 'n');
    usage before = tag_usage(tag, NonPagedPool);
    ExInitializeNPagedLookasideList(&l, NULL, NULL, 0, 1, tag, 0);
    assert_int_equal(l.L.Size, LOOKASIDE_MINIMUM_BLOCK_SIZE);
    PVOID a = ExAllocateFromNPagedLookasideList(&l);
    PVOID b = ExAllocateFromNPagedLookasideList(&l);
    ExFreeToNPagedLookasideList(&l, a);
    ExFreeToNPagedLookasideList(&l, b);
    assert_ptr_equal(ExAllocateFromNPagedLookasideList(&l), b);
    ExFreeToNPagedLookasideList(&l, b);
    ExDeleteNPagedLookasideList(&l);
    assert_returned(tag, NonPagedPool, before);
}

static void lookaside_paged(void **state)
{
    static PAGED_LOOKASIDE_LIST l;
    const ULONG tag = TAG('L', 'p', 'g', 'd');
    usage before = tag_usage(tag, PagedPool);
    ExInitializePagedLookasideList(&l, NULL, NULL, POOL_RAISE_IF_ALLOCATION_FAILURE | POOL_NX_ALLOCATION, 3000,
                                   tag, 0);
    assert_int_equal(l.L.Type, PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    PVOID e[8];
    for (ULONG i = 0; i < 8; i++) {
        e[i] = ExAllocateFromPagedLookasideList(&l);
        assert_non_null(e[i]);
        RtlFillMemory(e[i], 3000, 0x5A);
    }
    assert_int_equal(tag_usage(tag, PagedPool).allocs - before.allocs, 8);
    for (ULONG i = 0; i < 8; i++)
        ExFreeToPagedLookasideList(&l, e[i]);
    assert_int_equal(l.L.FreeMisses, 4);
    /* APC_LEVEL is allowed for paged lists. */
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    PVOID x = ExAllocateFromPagedLookasideList(&l);
    ExFreeToPagedLookasideList(&l, x);
    KeLowerIrql(old);
    ExDeletePagedLookasideList(&l);
    assert_returned(tag, PagedPool, before);
}

static void lookaside_irql_rules(void **state)
{
    static PAGED_LOOKASIDE_LIST paged;
    static NPAGED_LOOKASIDE_LIST nonpaged;
    static LOOKASIDE_LIST_EX ex;
    const ULONG tag = TAG('L', 'i', 'r', 'q');
    usage np = tag_usage(tag, NonPagedPool), pg = tag_usage(tag, PagedPool);
    ExInitializePagedLookasideList(&paged, NULL, NULL, 0, 64, tag, 0);
    ExInitializeNPagedLookasideList(&nonpaged, NULL, NULL, 0, 64, tag, 0);
    assert_int_equal(ExInitializeLookasideListEx(&ex, NULL, NULL, PagedPool, 0, 64, tag, 0), STATUS_SUCCESS);
    PVOID p = ExAllocateFromPagedLookasideList(&paged);
    PVOID q = ExAllocateFromLookasideListEx(&ex);

    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocateFromPagedLookasideList(&paged));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ALLOCATE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], PagedPool);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 64);
    expect_bugcheck(BAD_POOL_CALLER, ExFreeToPagedLookasideList(&paged, p));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_FREE_IRQL);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[3], p);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocateFromLookasideListEx(&ex));
    expect_bugcheck(BAD_POOL_CALLER, ExFreeToLookasideListEx(&ex, q));
    /* Nonpaged lists work here. */
    PVOID n = ExAllocateFromNPagedLookasideList(&nonpaged);
    assert_non_null(n);
    ExFreeToNPagedLookasideList(&nonpaged, n);
    KeLowerIrql(old);

    old = KfRaiseIrql(DISPATCH_LEVEL + 1);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocateFromNPagedLookasideList(&nonpaged));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ALLOCATE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], NonPagedPool);
    KeLowerIrql(old);

    ExFreeToPagedLookasideList(&paged, p);
    ExFreeToLookasideListEx(&ex, q);
    ExDeletePagedLookasideList(&paged);
    ExDeleteNPagedLookasideList(&nonpaged);
    ExDeleteLookasideListEx(&ex);
    assert_returned(tag, PagedPool, pg);
    assert_returned(tag, NonPagedPool, np);
}

/* ---- custom routines ------------------------------------------------------------------------------ */

static volatile LONG custom_allocs, custom_frees;
static POOL_TYPE custom_type;
static SIZE_T custom_size;
static ULONG custom_tag;
static PLOOKASIDE_LIST_EX custom_list;
static BOOLEAN custom_fail;

static PVOID NTAPI custom_allocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    custom_type = PoolType;
    custom_size = NumberOfBytes;
    custom_tag = Tag;
    if (custom_fail)
        return NULL;
    __atomic_fetch_add(&custom_allocs, 1, __ATOMIC_RELAXED);
    return ExAllocatePoolWithTag(NonPagedPoolNx, NumberOfBytes, Tag);
}

static VOID NTAPI custom_free(PVOID Buffer)
{
    __atomic_fetch_add(&custom_frees, 1, __ATOMIC_RELAXED);
    ExFreePool(Buffer);
}

static PVOID NTAPI custom_allocate_ex(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                      PLOOKASIDE_LIST_EX Lookaside)
{
    custom_list = Lookaside;
    return custom_allocate(PoolType, NumberOfBytes, Tag);
}

static VOID NTAPI custom_free_ex(PVOID Buffer, PLOOKASIDE_LIST_EX Lookaside)
{
    custom_list = Lookaside;
    custom_free(Buffer);
}

static void lookaside_custom_routines(void **state)
{
    static NPAGED_LOOKASIDE_LIST l;
    const ULONG tag = TAG('L', 'c', 'u', 's');
    usage before = tag_usage(tag, NonPagedPool);
    custom_allocs = custom_frees = 0;
    custom_fail = FALSE;
    ExInitializeNPagedLookasideList(&l, custom_allocate, custom_free, POOL_NX_ALLOCATION, 72, tag, 0);
    assert_ptr_equal(l.L.Allocate, custom_allocate);
    assert_ptr_equal(l.L.Free, custom_free);
    PVOID e[7];
    for (ULONG i = 0; i < 7; i++)
        e[i] = ExAllocateFromNPagedLookasideList(&l);
    assert_int_equal(custom_allocs, 7);
    assert_int_equal(custom_type, NonPagedPoolNx);
    assert_int_equal(custom_size, 72);
    assert_int_equal(custom_tag, tag);
    for (ULONG i = 0; i < 7; i++)
        ExFreeToNPagedLookasideList(&l, e[i]);
    assert_int_equal(custom_frees, 3); /* beyond Depth */
    /* A failing routine's NULL is what the caller gets. */
    for (ULONG i = 0; i < 4; i++)
        e[i] = ExAllocateFromNPagedLookasideList(&l);
    custom_fail = TRUE;
    assert_null(ExAllocateFromNPagedLookasideList(&l));
    custom_fail = FALSE;
    for (ULONG i = 0; i < 4; i++)
        ExFreeToNPagedLookasideList(&l, e[i]);
    ExDeleteNPagedLookasideList(&l);
    assert_int_equal(custom_frees, 7);
    assert_returned(tag, NonPagedPool, before);
}

/* ---- LOOKASIDE_LIST_EX ---------------------------------------------------------------------------- */

static void lookaside_ex_parameter_validation(void **state)
{
    static LOOKASIDE_LIST_EX l;
    const ULONG tag = TAG('L', 'x', 'p', 'v');
    ULONG lists = ExQueryLookasideListCount();
    assert_int_equal(ExInitializeLookasideListEx(&l, NULL, NULL, MaxPoolType, 0, 64, tag, 0),
                     STATUS_INVALID_PARAMETER_4);
    assert_int_equal(ExInitializeLookasideListEx(&l, NULL, NULL, NonPagedPoolMustSucceed, 0, 64, tag, 0),
                     STATUS_INVALID_PARAMETER_4);
    assert_int_equal(ExInitializeLookasideListEx(&l, NULL, NULL, (POOL_TYPE)0x40000, 0, 64, tag, 0),
                     STATUS_INVALID_PARAMETER_4);
    assert_int_equal(ExInitializeLookasideListEx(&l, custom_allocate_ex, custom_free_ex, NonPagedPoolNx,
                                                 EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL |
                                                     EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE,
                                                 64, tag, 0),
                     STATUS_INVALID_PARAMETER_5);
    assert_int_equal(ExInitializeLookasideListEx(&l, NULL, NULL, NonPagedPoolNx, 4, 64, tag, 0),
                     STATUS_INVALID_PARAMETER_5);
    assert_int_equal(ExInitializeLookasideListEx(&l, NULL, NULL, NonPagedPoolNx,
                                                 EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE, 64, tag, 0),
                     STATUS_INVALID_PARAMETER_5);
    /* Nothing was registered by the refusals. */
    assert_int_equal(ExQueryLookasideListCount(), lists);
}

static void lookaside_ex_routines_flush_delete(void **state)
{
    static LOOKASIDE_LIST_EX l;
    const ULONG tag = TAG('L', 'x', 'r', 't');
    usage before = tag_usage(tag, NonPagedPool);
    custom_allocs = custom_frees = 0;
    custom_fail = FALSE;
    custom_list = NULL;
    assert_int_equal(ExInitializeLookasideListEx(&l, custom_allocate_ex, custom_free_ex, NonPagedPoolNx,
                                                 EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE, 200, tag, 0),
                     STATUS_SUCCESS);
    assert_int_equal(l.L.Type, NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    PVOID e[4];
    for (ULONG i = 0; i < 4; i++)
        e[i] = ExAllocateFromLookasideListEx(&l);
    assert_ptr_equal(custom_list, &l);
    assert_int_equal(custom_type, NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    assert_int_equal(custom_size, 200);
    assert_int_equal(custom_allocs, 4);
    for (ULONG i = 0; i < 4; i++)
        ExFreeToLookasideListEx(&l, e[i]);
    assert_int_equal(custom_frees, 0);
    assert_int_equal(ExQueryDepthSList(&l.L.ListHead), 4);

    /* Flush hands every listed entry to the free routine; the list stays usable. */
    custom_list = NULL;
    ExFlushLookasideListEx(&l);
    assert_int_equal(custom_frees, 4);
    assert_ptr_equal(custom_list, &l);
    assert_int_equal(ExQueryDepthSList(&l.L.ListHead), 0);
    PVOID again = ExAllocateFromLookasideListEx(&l);
    assert_int_equal(custom_allocs, 5);
    ExFreeToLookasideListEx(&l, again);
    ExDeleteLookasideListEx(&l);
    assert_int_equal(custom_frees, 5);
    assert_returned(tag, NonPagedPool, before);

    /* Default routines, with raising. */
    static LOOKASIDE_LIST_EX d;
    assert_int_equal(ExInitializeLookasideListEx(&d, NULL, NULL, PagedPool, EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL,
                                                 48, tag, 0),
                     STATUS_SUCCESS);
    assert_int_equal(d.L.Type, PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    usage pg = tag_usage(tag, PagedPool);
    PVOID a = ExAllocateFromLookasideListEx(&d);
    assert_non_null(a);
    assert_int_equal(tag_usage(tag, PagedPool).allocs - pg.allocs, 1);
    ExFreeToLookasideListEx(&d, a);
    ExDeleteLookasideListEx(&d);
    assert_returned(tag, PagedPool, pg);
}

/* ---- depth tuning ------------------------------------------------------------------------------------ */

static void lookaside_depth_follows_demand(void **state)
{
    static NPAGED_LOOKASIDE_LIST l;
    static PVOID e[64];
    const ULONG tag = TAG('L', 'd', 'p', 't');
    usage before = tag_usage(tag, NonPagedPool);
    ExInitializeNPagedLookasideList(&l, NULL, NULL, 0, 32, tag, 0);
    /* Bursts of 64 live entries miss a lot at depth 4: the list deepens. */
    for (ULONG round = 0; round < 16; round++) {
        for (ULONG i = 0; i < 64; i++)
            e[i] = ExAllocateFromNPagedLookasideList(&l);
        for (ULONG i = 0; i < 64; i++)
            ExFreeToNPagedLookasideList(&l, e[i]);
    }
    assert_true(l.L.Depth > EX_MINIMUM_LOOKASIDE_DEPTH);
    assert_true(l.L.Depth <= l.L.MaximumDepth);
    USHORT grown = l.L.Depth;
    ULONG missesBefore = l.L.AllocateMisses;
    for (ULONG i = 0; i < 64; i++)
        e[i] = ExAllocateFromNPagedLookasideList(&l);
    /* Deeper, the burst now hits for up to Depth entries. */
    assert_true(l.L.AllocateMisses - missesBefore < 64);
    for (ULONG i = 0; i < 64; i++)
        ExFreeToNPagedLookasideList(&l, e[i]);
    /* Idle, the periodic scan shrinks it back. */
    for (ULONG i = 0; i < 40; i++)
        ExAdjustLookasideDepth();
    assert_true(l.L.Depth < grown);
    assert_int_equal(l.L.Depth, EX_MINIMUM_LOOKASIDE_DEPTH);
    ExDeleteNPagedLookasideList(&l);
    assert_returned(tag, NonPagedPool, before);
}

/* ---- stress: one list, every processor ------------------------------------------------------------------ */

#define LSTRESS_THREADS_MAX 8
#define LSTRESS_ITERATIONS 3000
#define LSTRESS_SIZE 96

typedef struct lstress_entry {
    SLIST_ENTRY Link; /* overwritten by the list while the entry is free */
    volatile LONG Owner;
    ULONG Check;
    struct lstress_entry *Parked;
} lstress_entry;

static NPAGED_LOOKASIDE_LIST lstress_list;
static LOOKASIDE_LIST_EX lstress_ex;
static KTHREAD lstress_threads[LSTRESS_THREADS_MAX];
static volatile LONG lstress_violations;

/*
 * The entries of the stress come from a stock allocated before the threads
 * start, and a full list's entries are parked for reuse instead of going
 * back to the pool. A pop that lost a race still reads the SLIST link of the
 * entry it saw first (harmlessly: its compare-exchange then fails), and a
 * page the pool maps, or a block it zeroes, at that moment is a race by the
 * letter of the memory model that ThreadSanitizer reports. The pool's own
 * stress covers allocation and free under load.
 */
#define LSTRESS_STOCK 1024
static lstress_entry *lstress_stock[LSTRESS_STOCK];
static volatile LONG lstress_stock_next;
static volatile LONG lstress_park_lock;
static lstress_entry *lstress_parked;

static VOID lstress_lock(KIRQL *Old)
{
    *Old = KfRaiseIrql(DISPATCH_LEVEL);
    while (__atomic_exchange_n(&lstress_park_lock, 1, __ATOMIC_ACQUIRE))
        arch_pause();
}

static VOID lstress_unlock(KIRQL Old)
{
    __atomic_store_n(&lstress_park_lock, 0, __ATOMIC_RELEASE);
    KeLowerIrql(Old);
}

static PVOID lstress_take(void)
{
    KIRQL old;
    lstress_lock(&old);
    lstress_entry *e = lstress_parked;
    if (e != NULL)
        lstress_parked = e->Parked;
    lstress_unlock(old);
    if (e == NULL) {
        LONG i = __atomic_fetch_add(&lstress_stock_next, 1, __ATOMIC_RELAXED);
        e = i < LSTRESS_STOCK ? lstress_stock[i] : NULL;
    }
    return e;
}

static VOID NTAPI lstress_park(PVOID Buffer)
{
    lstress_entry *e = Buffer;
    KIRQL old;
    lstress_lock(&old);
    e->Parked = lstress_parked;
    lstress_parked = e;
    lstress_unlock(old);
}

static PVOID NTAPI lstress_allocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return lstress_take();
}

static PVOID NTAPI lstress_allocate_ex(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                       PLOOKASIDE_LIST_EX Lookaside)
{
    return lstress_take();
}

static VOID NTAPI lstress_park_ex(PVOID Buffer, PLOOKASIDE_LIST_EX Lookaside)
{
    lstress_park(Buffer);
}

static void lstress_claim(lstress_entry *e, LONG id)
{
    if (__atomic_exchange_n(&e->Owner, id, __ATOMIC_ACQ_REL) != 0)
        __atomic_fetch_add(&lstress_violations, 1, __ATOMIC_RELAXED);
    e->Check = (ULONG)id * 2654435761u;
}

static void lstress_release(lstress_entry *e, LONG id)
{
    if (e->Check != (ULONG)id * 2654435761u)
        __atomic_fetch_add(&lstress_violations, 1, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&e->Owner, 0, __ATOMIC_ACQ_REL) != id)
        __atomic_fetch_add(&lstress_violations, 1, __ATOMIC_RELAXED);
}

static VOID NTAPI lstress_thread(PVOID Context)
{
    LONG id = (LONG)(ULONG_PTR)Context + 1;
    uint64_t rng = 0x1234567ULL * (ULONG64)id;
    lstress_entry *held[8] = {0};
    for (ULONG i = 0; i < LSTRESS_ITERATIONS; i++) {
        ULONG k = (ULONG)(ntos_test_rand(&rng) % 8);
        BOOLEAN useEx = (ntos_test_rand(&rng) & 1) != 0;
        BOOLEAN raise = ntos_test_rand(&rng) % 4 == 0;
        KIRQL old = raise ? KfRaiseIrql(DISPATCH_LEVEL) : PASSIVE_LEVEL;
        if (held[k] != NULL) {
            /* Entries of both lists are the same size and from the same pool:
             * either list may take any of them. */
            lstress_release(held[k], id);
            if (useEx)
                ExFreeToLookasideListEx(&lstress_ex, held[k]);
            else
                ExFreeToNPagedLookasideList(&lstress_list, held[k]);
            held[k] = NULL;
        } else {
            lstress_entry *e = useEx ? ExAllocateFromLookasideListEx(&lstress_ex)
                                     : ExAllocateFromNPagedLookasideList(&lstress_list);
            if (e == NULL) {
                __atomic_fetch_add(&lstress_violations, 1, __ATOMIC_RELAXED);
            } else {
                lstress_claim(e, id);
                held[k] = e;
            }
        }
        if (raise)
            KeLowerIrql(old);
    }
    for (ULONG k = 0; k < 8; k++) {
        if (held[k] != NULL) {
            lstress_release(held[k], id);
            ExFreeToNPagedLookasideList(&lstress_list, held[k]);
        }
    }
}

static void lookaside_stress_every_processor(void **state)
{
    const ULONG tag = TAG('L', 's', 't', 'r');
    usage before = tag_usage(tag, NonPagedPool);
    ExInitializeNPagedLookasideList(&lstress_list, lstress_allocate, lstress_park, POOL_NX_ALLOCATION, LSTRESS_SIZE,
                                    tag, 0);
    assert_int_equal(ExInitializeLookasideListEx(&lstress_ex, lstress_allocate_ex, lstress_park_ex, NonPagedPoolNx, 0,
                                                 LSTRESS_SIZE, tag, 0),
                     STATUS_SUCCESS);
    lstress_violations = 0;
    lstress_parked = NULL;
    lstress_stock_next = 0;
    for (ULONG i = 0; i < LSTRESS_STOCK; i++) {
        lstress_stock[i] = ExAllocatePoolWithTag(NonPagedPoolNx, LSTRESS_SIZE, tag);
        assert_non_null(lstress_stock[i]);
        lstress_stock[i]->Owner = 0;
        lstress_stock[i]->Check = 0;
    }
    ULONG threads = arch_processor_count() * 2;
    if (threads > LSTRESS_THREADS_MAX)
        threads = LSTRESS_THREADS_MAX;
    for (ULONG i = 0; i < threads; i++)
        kt_start(&lstress_threads[i], lstress_thread, (PVOID)(ULONG_PTR)i, 8);
    for (ULONG i = 0; i < threads; i++)
        kt_join(&lstress_threads[i]);
    assert_int_equal(lstress_violations, 0);
    assert_true(lstress_list.L.TotalAllocates + lstress_ex.L.TotalAllocates > 0);
    ExDeleteNPagedLookasideList(&lstress_list);
    ExDeleteLookasideListEx(&lstress_ex);
    /* Every entry is parked or still in stock now; back to the pool with them. */
    ULONG freed = 0;
    while (lstress_parked != NULL) {
        lstress_entry *e = lstress_parked;
        lstress_parked = e->Parked;
        assert_int_equal(e->Owner, 0);
        ExFreePoolWithTag(e, tag);
        freed++;
    }
    for (LONG i = lstress_stock_next; i < LSTRESS_STOCK; i++) {
        ExFreePoolWithTag(lstress_stock[i], tag);
        freed++;
    }
    assert_int_equal(freed, LSTRESS_STOCK);
    assert_returned(tag, NonPagedPool, before);
}

static const struct CMUnitTest lookaside_tests[] = {
    cmocka_unit_test(lookaside_npaged_defaults_and_depth),
    cmocka_unit_test(lookaside_npaged_flags),
    cmocka_unit_test(lookaside_minimum_size),
    cmocka_unit_test(lookaside_paged),
    cmocka_unit_test(lookaside_irql_rules),
    cmocka_unit_test(lookaside_custom_routines),
    cmocka_unit_test(lookaside_ex_parameter_validation),
    cmocka_unit_test(lookaside_ex_routines_flush_delete),
    cmocka_unit_test(lookaside_depth_follows_demand),
    cmocka_unit_test(lookaside_stress_every_processor),
};

NTOS_TEST_GROUP(ex_lookaside, lookaside_tests, lookaside_setup, NULL);
