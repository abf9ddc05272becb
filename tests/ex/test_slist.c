/*
 * Sequenced singly linked lists: the x64 header layout, push/pop/flush and
 * chain push with their return values, depth and sequence arithmetic, use at
 * high IRQL, misuse bug checks, and an ABA stress on every processor.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_lists.h>

typedef struct DECLSPEC_ALIGN(16) slist_item {
    SLIST_ENTRY Entry;
    volatile LONG Owner; /* stress: the thread holding the entry, 0 while listed */
    ULONG Index;
} slist_item;

#define ITEM(e) CONTAINING_RECORD((e), slist_item, Entry)

static ULONG64 sequence_of(PSLIST_HEADER h)
{
    return h->HeaderX64.Sequence;
}

/* ---- layout --------------------------------------------------------------------------- */

static void slist_header_layout(void **state)
{
    assert_int_equal(sizeof(SLIST_HEADER), 16);
    assert_int_equal(_Alignof(SLIST_HEADER), 16);
    assert_int_equal(sizeof(SLIST_ENTRY), 16);
    assert_int_equal(_Alignof(SLIST_ENTRY), 16);

    /* The documented bit positions: Depth 0..15 and Sequence 16..63 of the
     * first quadword, Reserved 0..3 and NextEntry 4..63 of the second. */
    SLIST_HEADER h;
    InitializeSListHead(&h);
    h.HeaderX64.Depth = 0x1234;
    assert_int_equal(h.Alignment, 0x1234);
    h.HeaderX64.Sequence = 1;
    assert_int_equal(h.Alignment, 0x11234);
    h.HeaderX64.Sequence = 0xFFFFFFFFFFFFULL;
    assert_int_equal(h.Alignment, 0xFFFFFFFFFFFF1234ULL);
    h.HeaderX64.NextEntry = 0xABC;
    assert_int_equal(h.Region, 0xABC0);
    h.HeaderX64.Reserved = 0xF;
    assert_int_equal(h.Region, 0xABCF);
}

static void slist_initialize(void **state)
{
    static SLIST_HEADER h;
    h.Alignment = 0x5555;
    h.Region = 0x7770;
    InitializeSListHead(&h);
    assert_int_equal(h.Alignment, 0);
    assert_int_equal(h.Region, 0);
    h.Alignment = 0x5555;
    h.Region = 0x7770;
    RtlInitializeSListHead(&h);
    assert_int_equal(h.Alignment, 0);
    assert_int_equal(h.Region, 0);
    assert_int_equal(ExQueryDepthSList(&h), 0);
    assert_int_equal(RtlQueryDepthSList(&h), 0);
    assert_null(RtlFirstEntrySList(&h));
    assert_null(InterlockedPopEntrySList(&h));
    assert_null(InterlockedFlushSList(&h));
    /* Operations on an empty list change nothing, not even the sequence. */
    assert_int_equal(h.Alignment, 0);
    assert_int_equal(h.Region, 0);
}

/* ---- push / pop / flush ------------------------------------------------------------------- */

static void slist_push_pop_lifo(void **state)
{
    static slist_item it[4];
    static SLIST_HEADER h;
    InitializeSListHead(&h);
    for (ULONG i = 0; i < 4; i++) {
        PSLIST_ENTRY prev = InterlockedPushEntrySList(&h, &it[i].Entry);
        assert_ptr_equal(prev, i == 0 ? NULL : &it[i - 1].Entry);
        assert_int_equal(ExQueryDepthSList(&h), i + 1);
        assert_int_equal(sequence_of(&h), i + 1);
        assert_ptr_equal(RtlFirstEntrySList(&h), &it[i].Entry);
        /* The second quadword is the first entry's address itself. */
        assert_int_equal(h.Region, (ULONG_PTR)&it[i].Entry);
        assert_ptr_equal(it[i].Entry.Next, i == 0 ? NULL : &it[i - 1].Entry);
    }
    for (LONG i = 3; i >= 0; i--) {
        PSLIST_ENTRY e = InterlockedPopEntrySList(&h);
        assert_ptr_equal(e, &it[i].Entry);
        assert_int_equal(ExQueryDepthSList(&h), (ULONG)i);
        assert_int_equal(sequence_of(&h), 4 + (4 - (ULONG)i));
    }
    assert_null(InterlockedPopEntrySList(&h));
    assert_null(RtlFirstEntrySList(&h));
    assert_int_equal(sequence_of(&h), 8);
}

typedef PSLIST_ENTRY(NTAPI *push_fn)(PSLIST_HEADER, PSLIST_ENTRY);
typedef PSLIST_ENTRY(NTAPI *pop_fn)(PSLIST_HEADER);

static PSLIST_ENTRY NTAPI ex_push_nolock(PSLIST_HEADER h, PSLIST_ENTRY e)
{
    return ExInterlockedPushEntrySList(h, e, NULL);
}

static PSLIST_ENTRY NTAPI ex_pop_nolock(PSLIST_HEADER h)
{
    /* x64 ignores the lock: any value, even one that is not a lock, works. */
    return ExInterlockedPopEntrySList(h, (PKSPIN_LOCK)(ULONG_PTR)0x10);
}

static void slist_every_entry_point(void **state)
{
    static slist_item it[3];
    static SLIST_HEADER h;
    push_fn pushes[] = {ExpInterlockedPushEntrySList, InterlockedPushEntrySList, RtlInterlockedPushEntrySList,
                        ex_push_nolock};
    pop_fn pops[] = {ExpInterlockedPopEntrySList, InterlockedPopEntrySList, RtlInterlockedPopEntrySList,
                     ex_pop_nolock};
    pop_fn flushes[] = {ExpInterlockedFlushSList, InterlockedFlushSList, RtlInterlockedFlushSList,
                        ExInterlockedFlushSList};
    for (ULONG f = 0; f < 4; f++) {
        InitializeSListHead(&h);
        assert_null(pushes[f](&h, &it[0].Entry));
        assert_ptr_equal(pushes[f](&h, &it[1].Entry), &it[0].Entry);
        assert_ptr_equal(pushes[f](&h, &it[2].Entry), &it[1].Entry);
        assert_int_equal(ExQueryDepthSList(&h), 3);
        assert_ptr_equal(pops[f](&h), &it[2].Entry);
        assert_int_equal(ExQueryDepthSList(&h), 2);
        PSLIST_ENTRY chain = flushes[f](&h);
        assert_ptr_equal(chain, &it[1].Entry);
        assert_ptr_equal(chain->Next, &it[0].Entry);
        assert_null(chain->Next->Next);
        assert_int_equal(ExQueryDepthSList(&h), 0);
        assert_null(pops[f](&h));
        assert_null(flushes[f](&h));
    }
}

static void slist_flush_keeps_sequence_moving(void **state)
{
    static slist_item it[5];
    static SLIST_HEADER h;
    InitializeSListHead(&h);
    for (ULONG i = 0; i < 5; i++)
        InterlockedPushEntrySList(&h, &it[i].Entry);
    assert_int_equal(sequence_of(&h), 5);
    PSLIST_ENTRY chain = InterlockedFlushSList(&h);
    assert_int_equal(sequence_of(&h), 6);
    assert_int_equal(h.HeaderX64.Depth, 0);
    assert_int_equal(h.Region, 0);
    ULONG n = 0;
    for (PSLIST_ENTRY e = chain; e != NULL; e = e->Next, n++)
        assert_ptr_equal(e, &it[4 - n].Entry);
    assert_int_equal(n, 5);
}

static void slist_push_chain(void **state)
{
    static slist_item it[5];
    static SLIST_HEADER h;
    typedef PSLIST_ENTRY(NTAPI * chain_fn)(PSLIST_HEADER, PSLIST_ENTRY, PSLIST_ENTRY, ULONG);
    chain_fn fns[] = {RtlInterlockedPushListSListEx, RtlInterlockedPushListSList, InterlockedPushListSListEx};
    for (ULONG f = 0; f < 3; f++) {
        InitializeSListHead(&h);
        InterlockedPushEntrySList(&h, &it[4].Entry);
        ULONG64 seq = sequence_of(&h);
        /* it[0] -> it[1] -> it[2] -> it[3]; it[3].Next is overwritten. */
        for (ULONG i = 0; i < 3; i++)
            it[i].Entry.Next = &it[i + 1].Entry;
        it[3].Entry.Next = (PSLIST_ENTRY)(ULONG_PTR)0xdead0;
        assert_ptr_equal(fns[f](&h, &it[0].Entry, &it[3].Entry, 4), &it[4].Entry);
        assert_int_equal(ExQueryDepthSList(&h), 5);
        assert_int_equal(sequence_of(&h), seq + 1);
        for (ULONG i = 0; i < 5; i++)
            assert_ptr_equal(InterlockedPopEntrySList(&h), &it[i].Entry);
        assert_null(InterlockedPopEntrySList(&h));
        /* Onto an empty list: the last entry ends the list. */
        it[0].Entry.Next = &it[1].Entry;
        assert_null(fns[f](&h, &it[0].Entry, &it[1].Entry, 2));
        assert_null(it[1].Entry.Next);
        assert_int_equal(ExQueryDepthSList(&h), 2);
        /* A single entry as a chain of one. */
        assert_ptr_equal(fns[f](&h, &it[2].Entry, &it[2].Entry, 1), &it[0].Entry);
        assert_int_equal(ExQueryDepthSList(&h), 3);
    }
}

/* ---- counters wrap as on NT ---------------------------------------------------------------- */

static void slist_depth_and_sequence_wrap(void **state)
{
    static slist_item it[2];
    static SLIST_HEADER h;
    InitializeSListHead(&h);
    InterlockedPushEntrySList(&h, &it[0].Entry);
    /* As if 65535 entries were listed: one more wraps Depth to 0 without
     * carrying into Sequence. */
    h.HeaderX64.Depth = 0xFFFF;
    ULONG64 seq = sequence_of(&h);
    InterlockedPushEntrySList(&h, &it[1].Entry);
    assert_int_equal(ExQueryDepthSList(&h), 0);
    assert_int_equal(sequence_of(&h), seq + 1);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &it[1].Entry);
    assert_int_equal(ExQueryDepthSList(&h), 0xFFFF);
    assert_int_equal(sequence_of(&h), seq + 2);
    /* Sequence wraps at 2^48 without touching Depth. */
    h.HeaderX64.Sequence = 0xFFFFFFFFFFFFULL;
    h.HeaderX64.Depth = 1;
    InterlockedPushEntrySList(&h, &it[1].Entry);
    assert_int_equal(sequence_of(&h), 0);
    assert_int_equal(ExQueryDepthSList(&h), 2);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &it[1].Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &it[0].Entry);
    assert_int_equal(ExQueryDepthSList(&h), 0);
}

/* ---- the ABA defence, deterministically ------------------------------------------------------ */

/* The compare-exchange a pop makes, done by hand so that the test can play
 * a popper that read the header, was delayed, and now tries to finish. */
static BOOLEAN raw_compare_exchange16(PSLIST_HEADER h, ULONG64 oldLow, ULONG64 oldHigh, ULONG64 newLow,
                                      ULONG64 newHigh)
{
    BOOLEAN swapped;
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(swapped), "+m"(*h), "+a"(oldLow), "+d"(oldHigh)
                     : "b"(newLow), "c"(newHigh)
                     : "memory");
    return swapped;
}

static void slist_aba_stale_pop_fails(void **state)
{
    static slist_item x, y, z, w;
    static SLIST_HEADER h;
    InitializeSListHead(&h);
    InterlockedPushEntrySList(&h, &z.Entry);
    InterlockedPushEntrySList(&h, &y.Entry);
    InterlockedPushEntrySList(&h, &x.Entry);

    /* The delayed popper read: first X, X->Next == Y, depth 3. */
    ULONG64 low = h.Alignment, high = h.Region;
    assert_int_equal(high, (ULONG_PTR)&x.Entry);
    assert_ptr_equal(x.Entry.Next, &y.Entry);

    /* Meanwhile: X and Y popped (Y stays out), W pushed, X pushed back. The
     * list is X -> W -> Z: same first entry, same depth. */
    assert_ptr_equal(InterlockedPopEntrySList(&h), &x.Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &y.Entry);
    InterlockedPushEntrySList(&h, &w.Entry);
    InterlockedPushEntrySList(&h, &x.Entry);
    assert_int_equal(h.Region, high);
    assert_int_equal(ExQueryDepthSList(&h), 3);
    /* Only the sequence tells the two states apart. */
    assert_int_not_equal(h.Alignment, low);
    assert_int_equal(sequence_of(&h), (low >> 16) + 4);

    /* The stale pop would install Y (which is out of the list) as first. */
    ULONG64 staleLow = ((low + (1ULL << 16)) & ~0xFFFFULL) | ((low - 1) & 0xFFFF);
    assert_false(raw_compare_exchange16(&h, low, high, staleLow, (ULONG_PTR)&y.Entry));
    assert_int_equal(h.Region, (ULONG_PTR)&x.Entry);
    assert_ptr_equal(x.Entry.Next, &w.Entry);
    /* The same exchange against the current value goes through (the helper
     * itself works), and the list is what it says. */
    ULONG64 curLow = h.Alignment;
    assert_true(raw_compare_exchange16(&h, curLow, h.Region, curLow, h.Region));
    assert_ptr_equal(InterlockedPopEntrySList(&h), &x.Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &w.Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &z.Entry);
    assert_null(InterlockedPopEntrySList(&h));
}

/* ---- any IRQL ------------------------------------------------------------------------------- */

static void slist_at_high_level_with_interrupts_off(void **state)
{
    static slist_item it[2];
    static SLIST_HEADER h;
    InitializeSListHead(&h);
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    ULONG_PTR flags = arch_disable_interrupts();
    InterlockedPushEntrySList(&h, &it[0].Entry);
    InterlockedPushEntrySList(&h, &it[1].Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&h), &it[1].Entry);
    assert_ptr_equal(InterlockedFlushSList(&h), &it[0].Entry);
    arch_restore_interrupts(flags);
    KeLowerIrql(old);
    assert_int_equal(KeGetCurrentIrql(), old);
}

/* ---- misuse --------------------------------------------------------------------------------- */

static void slist_misaligned_or_null_entry_bugchecks(void **state)
{
    static SLIST_HEADER h;
    static DECLSPEC_ALIGN(16) UCHAR raw[64];
    static slist_item ok;
    InitializeSListHead(&h);
    InterlockedPushEntrySList(&h, &ok.Entry);
    PSLIST_ENTRY bad = (PSLIST_ENTRY)(raw + 8);
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, InterlockedPushEntrySList(&h, bad));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 5); /* FAST_FAIL_INVALID_ARG */
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&h);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)bad);
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, InterlockedPushEntrySList(&h, NULL));
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE,
                    RtlInterlockedPushListSListEx(&h, &ok.Entry, (PSLIST_ENTRY)(raw + 4), 2));
    /* The list is untouched by the refused pushes. */
    assert_int_equal(ExQueryDepthSList(&h), 1);
    assert_int_equal(sequence_of(&h), 1);
    assert_ptr_equal(RtlFirstEntrySList(&h), &ok.Entry);
    /* A header that is not 16-byte aligned cannot be used with cmpxchg16b. */
    PSLIST_HEADER badHead = (PSLIST_HEADER)(raw + 24);
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, RtlInitializeSListHead(badHead));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)badHead);
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, InterlockedPushEntrySList(badHead, &ok.Entry));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* ---- ABA stress ------------------------------------------------------------------------------- */

#define STRESS_POOL 48
#define STRESS_THREADS 6
#define STRESS_ITERATIONS 12000

static slist_item stress_pool[STRESS_POOL];
static SLIST_HEADER stress_head;
static volatile LONG stress_violations;
static volatile LONG64 stress_pops;
static volatile LONG64 stress_empty;

static void stress_claim(slist_item *it, LONG id)
{
    LONG prev = __atomic_exchange_n(&it->Owner, id, __ATOMIC_ACQ_REL);
    if (prev != 0)
        __atomic_fetch_add(&stress_violations, 1, __ATOMIC_RELAXED);
}

static void stress_release(slist_item *it, LONG id)
{
    LONG prev = __atomic_exchange_n(&it->Owner, 0, __ATOMIC_ACQ_REL);
    if (prev != id)
        __atomic_fetch_add(&stress_violations, 1, __ATOMIC_RELAXED);
}

static slist_item *stress_pop(LONG id)
{
    PSLIST_ENTRY e = InterlockedPopEntrySList(&stress_head);
    if (e == NULL) {
        __atomic_fetch_add(&stress_empty, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    __atomic_fetch_add(&stress_pops, 1, __ATOMIC_RELAXED);
    slist_item *it = ITEM(e);
    stress_claim(it, id);
    return it;
}

static void stress_push(slist_item *it, LONG id)
{
    stress_release(it, id);
    InterlockedPushEntrySList(&stress_head, &it->Entry);
}

static VOID NTAPI stress_thread(PVOID Context)
{
    LONG id = (LONG)(ULONG_PTR)Context;
    uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)id;
    for (ULONG i = 0; i < STRESS_ITERATIONS; i++) {
        ULONG op = (ULONG)(ntos_test_rand(&rng) % 16);
        if (op == 0) {
            /* Take everything, check it is ours alone, put it back as a chain. */
            PSLIST_ENTRY chain = InterlockedFlushSList(&stress_head);
            if (chain == NULL)
                continue;
            PSLIST_ENTRY last = chain;
            ULONG n = 0;
            for (PSLIST_ENTRY e = chain; e != NULL; e = e->Next) {
                stress_claim(ITEM(e), id);
                last = e;
                n++;
            }
            arch_pause();
            for (PSLIST_ENTRY e = chain; e != NULL; e = e->Next)
                stress_release(ITEM(e), id);
            RtlInterlockedPushListSListEx(&stress_head, chain, last, n);
        } else if (op < 6) {
            /* Pop two and push them back in the popped order: the first one
             * popped ends up below the second, the classic ABA set-up for
             * whoever read the old first entry meanwhile. */
            slist_item *a = stress_pop(id);
            slist_item *b = a ? stress_pop(id) : NULL;
            if (a)
                stress_push(a, id);
            if (b)
                stress_push(b, id);
        } else {
            slist_item *a;
            /* Empty only while someone holds the whole flushed list; the
             * pause lets the holder run (on one CPU, at the quantum's end). */
            while ((a = stress_pop(id)) == NULL)
                arch_pause();
            if (op & 1)
                arch_pause(); /* hold it a little; lets other CPUs and threads in */
            stress_push(a, id);
        }
    }
}

static void slist_aba_stress_all_cpus(void **state)
{
    static KTHREAD threads[STRESS_THREADS];
    InitializeSListHead(&stress_head);
    stress_violations = 0;
    stress_pops = 0;
    stress_empty = 0;
    for (ULONG i = 0; i < STRESS_POOL; i++) {
        stress_pool[i].Owner = 0;
        stress_pool[i].Index = i;
        InterlockedPushEntrySList(&stress_head, &stress_pool[i].Entry);
    }
    assert_int_equal(ExQueryDepthSList(&stress_head), STRESS_POOL);
    for (ULONG t = 0; t < STRESS_THREADS; t++)
        kt_start(&threads[t], stress_thread, (PVOID)(ULONG_PTR)(t + 1), 8);
    for (ULONG t = 0; t < STRESS_THREADS; t++)
        kt_join(&threads[t]);

    print_message("slist stress: %lld pops, %lld empty pops\n", (long long)stress_pops, (long long)stress_empty);
    assert_int_equal(stress_violations, 0);
    /* Single pops (10 of 16 operations) wait until they get an entry. */
    assert_true(stress_pops >= STRESS_THREADS * (STRESS_ITERATIONS / 2));
    assert_int_equal(ExQueryDepthSList(&stress_head), STRESS_POOL);
    /* Every entry is back exactly once and nobody holds one. */
    static UCHAR seen[STRESS_POOL];
    for (ULONG i = 0; i < STRESS_POOL; i++)
        seen[i] = 0;
    ULONG n = 0;
    for (PSLIST_ENTRY e = InterlockedFlushSList(&stress_head); e != NULL; e = e->Next, n++) {
        slist_item *it = ITEM(e);
        assert_in_range(it->Index, 0, STRESS_POOL - 1);
        assert_ptr_equal(it, &stress_pool[it->Index]);
        assert_int_equal(seen[it->Index], 0);
        seen[it->Index] = 1;
        assert_int_equal(it->Owner, 0);
    }
    assert_int_equal(n, STRESS_POOL);
}

static const struct CMUnitTest slist_tests[] = {
    cmocka_unit_test(slist_header_layout),
    cmocka_unit_test(slist_initialize),
    cmocka_unit_test(slist_push_pop_lifo),
    cmocka_unit_test(slist_every_entry_point),
    cmocka_unit_test(slist_flush_keeps_sequence_moving),
    cmocka_unit_test(slist_push_chain),
    cmocka_unit_test(slist_depth_and_sequence_wrap),
    cmocka_unit_test(slist_aba_stale_pop_fails),
    cmocka_unit_test(slist_at_high_level_with_interrupts_off),
    cmocka_unit_test(slist_misaligned_or_null_entry_bugchecks),
    cmocka_unit_test(slist_aba_stress_all_cpus),
};

NTOS_TEST_GROUP(ex_slist, slist_tests, NULL, NULL);
