/*
 * Spin-lock-interlocked lists and additions: return values and order, the
 * lock and interrupt state around each call, use at any IRQL, contention from
 * every processor, and corruption detection.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_lists.h>

typedef struct list_item {
    LIST_ENTRY Link;
    SINGLE_LIST_ENTRY Single;
    volatile LONG InList;  /* contention test: 1 while in the doubly linked list */
    volatile LONG SInList; /* contention test: 1 while in the singly linked list */
    ULONG Value;
} list_item;

#define LITEM(e) CONTAINING_RECORD((e), list_item, Link)
#define SITEM(e) CONTAINING_RECORD((e), list_item, Single)

/* ---- doubly linked ------------------------------------------------------------------------ */

static void interlocked_insert_remove_order(void **state)
{
    static list_item it[4];
    LIST_ENTRY head;
    KSPIN_LOCK lock;
    InitializeListHead(&head);
    KeInitializeSpinLock(&lock);
    for (ULONG i = 0; i < 4; i++)
        it[i].Value = i;

    assert_null(ExInterlockedRemoveHeadList(&head, &lock));
    /* Tail insertion returns the previous last entry, head insertion the
     * previous first one; NULL when the list was empty. */
    assert_null(ExInterlockedInsertTailList(&head, &it[1].Link, &lock));
    assert_ptr_equal(ExInterlockedInsertTailList(&head, &it[2].Link, &lock), &it[1].Link);
    assert_ptr_equal(ExInterlockedInsertTailList(&head, &it[3].Link, &lock), &it[2].Link);
    assert_ptr_equal(ExInterlockedInsertHeadList(&head, &it[0].Link, &lock), &it[1].Link);
    assert_int_equal(lock, 0);

    for (ULONG i = 0; i < 4; i++) {
        PLIST_ENTRY e = ExInterlockedRemoveHeadList(&head, &lock);
        assert_non_null(e);
        assert_int_equal(LITEM(e)->Value, i);
    }
    assert_null(ExInterlockedRemoveHeadList(&head, &lock));
    assert_true(IsListEmpty(&head));
    assert_null(ExInterlockedInsertHeadList(&head, &it[0].Link, &lock));
    assert_ptr_equal(head.Flink, &it[0].Link);
    assert_ptr_equal(head.Blink, &it[0].Link);
    assert_ptr_equal(ExInterlockedRemoveHeadList(&head, &lock), &it[0].Link);
    assert_int_equal(lock, 0);
}

/* ---- singly linked ------------------------------------------------------------------------ */

static void interlocked_push_pop_lifo(void **state)
{
    static list_item it[3];
    SINGLE_LIST_ENTRY head = {NULL};
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    assert_null(ExInterlockedPopEntryList(&head, &lock));
    assert_null(ExInterlockedPushEntryList(&head, &it[0].Single, &lock));
    assert_ptr_equal(ExInterlockedPushEntryList(&head, &it[1].Single, &lock), &it[0].Single);
    assert_ptr_equal(ExInterlockedPushEntryList(&head, &it[2].Single, &lock), &it[1].Single);
    assert_ptr_equal(ExInterlockedPopEntryList(&head, &lock), &it[2].Single);
    assert_ptr_equal(ExInterlockedPopEntryList(&head, &lock), &it[1].Single);
    assert_ptr_equal(ExInterlockedPopEntryList(&head, &lock), &it[0].Single);
    assert_null(ExInterlockedPopEntryList(&head, &lock));
    assert_null(head.Next);
    assert_int_equal(lock, 0);
}

/* ---- additions ---------------------------------------------------------------------------- */

static void interlocked_additions(void **state)
{
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    ULONG u = 5;
    assert_int_equal(ExInterlockedAddUlong(&u, 7, &lock), 5);
    assert_int_equal(u, 12);
    u = 0xFFFFFFFF;
    assert_int_equal(ExInterlockedAddUlong(&u, 2, &lock), 0xFFFFFFFF); /* wraps */
    assert_int_equal(u, 1);

    LARGE_INTEGER big = {.QuadPart = 0x100000000LL};
    LARGE_INTEGER inc = {.QuadPart = -1};
    LARGE_INTEGER before = ExInterlockedAddLargeInteger(&big, inc, &lock);
    assert_int_equal(before.QuadPart, 0x100000000LL);
    assert_int_equal(big.QuadPart, 0xFFFFFFFFLL);
    inc.QuadPart = 0x7FFFFFFFFFFFFFFFLL;
    big.QuadPart = 1;
    ExInterlockedAddLargeInteger(&big, inc, &lock);
    assert_int_equal((ULONGLONG)big.QuadPart, 0x8000000000000000ULL);

    LARGE_INTEGER stat = {.QuadPart = 0xFFFFFFFFLL};
    ExInterlockedAddLargeStatistic(&stat, 1);
    assert_int_equal(stat.QuadPart, 0x100000000LL);
    ExInterlockedAddLargeStatistic(&stat, 0xFFFFFFFF);
    assert_int_equal(stat.QuadPart, 0x1FFFFFFFFLL);
    assert_int_equal(lock, 0);
}

/* ---- IRQL and interrupt state --------------------------------------------------------------- */

static void interlocked_any_irql_preserves_state(void **state)
{
    static list_item it[2];
    LIST_ENTRY head;
    SINGLE_LIST_ENTRY shead = {NULL};
    KSPIN_LOCK lock;
    ULONG counter = 0;
    InitializeListHead(&head);
    KeInitializeSpinLock(&lock);
    static const KIRQL levels[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL, CLOCK_LEVEL, HIGH_LEVEL};
    for (ULONG l = 0; l < RTL_NUMBER_OF(levels); l++) {
        for (ULONG disabled = 0; disabled < 2; disabled++) {
            KIRQL old = KfRaiseIrql(levels[l]);
            ULONG_PTR flags = disabled ? arch_disable_interrupts() : 0;
            BOOLEAN enabledBefore = arch_interrupts_enabled();
            ExInterlockedInsertTailList(&head, &it[0].Link, &lock);
            ExInterlockedInsertHeadList(&head, &it[1].Link, &lock);
            assert_ptr_equal(ExInterlockedRemoveHeadList(&head, &lock), &it[1].Link);
            assert_ptr_equal(ExInterlockedRemoveHeadList(&head, &lock), &it[0].Link);
            ExInterlockedPushEntryList(&shead, &it[0].Single, &lock);
            assert_ptr_equal(ExInterlockedPopEntryList(&shead, &lock), &it[0].Single);
            ExInterlockedAddUlong(&counter, 1, &lock);
            /* No IRQL change, the interrupt flag as it was, the lock free. */
            assert_int_equal(KeGetCurrentIrql(), levels[l]);
            assert_int_equal(arch_interrupts_enabled(), enabledBefore);
            assert_int_equal(lock, 0);
            if (disabled)
                arch_restore_interrupts(flags);
            KeLowerIrql(old);
        }
    }
    assert_int_equal(counter, 10);
    assert_true(arch_interrupts_enabled());
}

/* ---- contention ------------------------------------------------------------------------------ */

#define LC_THREADS 4
#define LC_ITEMS 16
#define LC_ITERATIONS 4000

static list_item lc_items[LC_THREADS][LC_ITEMS];
static LIST_ENTRY lc_head;
static SINGLE_LIST_ENTRY lc_shead;
static KSPIN_LOCK lc_lock;
static KSPIN_LOCK lc_slock;
static ULONG lc_counter;
static LARGE_INTEGER lc_big;
static LARGE_INTEGER lc_stat;
static volatile LONG lc_violations;
static volatile LONG64 lc_inserted, lc_removed, lc_pushed, lc_popped;

static VOID NTAPI lc_thread(PVOID Context)
{
    ULONG t = (ULONG)(ULONG_PTR)Context;
    LARGE_INTEGER two = {.QuadPart = 2};
    for (ULONG i = 0; i < LC_ITERATIONS; i++) {
        list_item *mine = &lc_items[t][i % LC_ITEMS];
        /* Re-link an own entry once whoever removed it has marked it free. */
        if (__atomic_load_n(&mine->InList, __ATOMIC_ACQUIRE) == 0) {
            __atomic_store_n(&mine->InList, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&lc_inserted, 1, __ATOMIC_RELAXED);
            if (i & 1)
                ExInterlockedInsertTailList(&lc_head, &mine->Link, &lc_lock);
            else
                ExInterlockedInsertHeadList(&lc_head, &mine->Link, &lc_lock);
        }
        PLIST_ENTRY e = ExInterlockedRemoveHeadList(&lc_head, &lc_lock);
        if (e != NULL) {
            __atomic_fetch_add(&lc_removed, 1, __ATOMIC_RELAXED);
            if (__atomic_exchange_n(&LITEM(e)->InList, 0, __ATOMIC_RELEASE) != 1)
                __atomic_fetch_add(&lc_violations, 1, __ATOMIC_RELAXED);
        }
        /* The singly linked list, with the same protocol. */
        list_item *smine = &lc_items[t][(i + 7) % LC_ITEMS];
        if (__atomic_load_n(&smine->SInList, __ATOMIC_ACQUIRE) == 0) {
            __atomic_store_n(&smine->SInList, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&lc_pushed, 1, __ATOMIC_RELAXED);
            ExInterlockedPushEntryList(&lc_shead, &smine->Single, &lc_slock);
        }
        PSINGLE_LIST_ENTRY s = ExInterlockedPopEntryList(&lc_shead, &lc_slock);
        if (s != NULL) {
            __atomic_fetch_add(&lc_popped, 1, __ATOMIC_RELAXED);
            if (__atomic_exchange_n(&SITEM(s)->SInList, 0, __ATOMIC_RELEASE) != 1)
                __atomic_fetch_add(&lc_violations, 1, __ATOMIC_RELAXED);
        }
        ExInterlockedAddUlong(&lc_counter, 1, &lc_lock);
        ExInterlockedAddLargeInteger(&lc_big, two, &lc_slock);
        ExInterlockedAddLargeStatistic(&lc_stat, 3);
        if ((i & 15) == 0)
            arch_pause();
    }
}

static void interlocked_contention_all_cpus(void **state)
{
    static KTHREAD threads[LC_THREADS];
    InitializeListHead(&lc_head);
    lc_shead.Next = NULL;
    KeInitializeSpinLock(&lc_lock);
    KeInitializeSpinLock(&lc_slock);
    lc_counter = 0;
    lc_big.QuadPart = 0;
    lc_stat.QuadPart = 0;
    lc_violations = 0;
    lc_inserted = lc_removed = lc_pushed = lc_popped = 0;
    for (ULONG t = 0; t < LC_THREADS; t++)
        for (ULONG i = 0; i < LC_ITEMS; i++)
            lc_items[t][i] = (list_item){.InList = 0, .SInList = 0, .Value = t * LC_ITEMS + i};
    for (ULONG t = 0; t < LC_THREADS; t++)
        kt_start(&threads[t], lc_thread, (PVOID)(ULONG_PTR)t, 8);
    for (ULONG t = 0; t < LC_THREADS; t++)
        kt_join(&threads[t]);

    assert_int_equal(lc_violations, 0);
    /* Drain what is left; every entry linked was removed exactly once. */
    PLIST_ENTRY e;
    while ((e = ExInterlockedRemoveHeadList(&lc_head, &lc_lock)) != NULL) {
        assert_int_equal(__atomic_exchange_n(&LITEM(e)->InList, 0, __ATOMIC_RELAXED), 1);
        lc_removed++;
    }
    assert_int_equal(lc_removed, lc_inserted);
    for (ULONG t = 0; t < LC_THREADS; t++)
        for (ULONG i = 0; i < LC_ITEMS; i++)
        {
            assert_int_equal(lc_items[t][i].InList, 0);
            assert_int_equal(lc_items[t][i].SInList, 0);
        }
    PSINGLE_LIST_ENTRY s;
    while ((s = ExInterlockedPopEntryList(&lc_shead, &lc_slock)) != NULL) {
        assert_int_equal(__atomic_exchange_n(&SITEM(s)->SInList, 0, __ATOMIC_RELAXED), 1);
        lc_popped++;
    }
    assert_int_equal(lc_popped, lc_pushed);
    assert_int_equal(lc_counter, LC_THREADS * LC_ITERATIONS);
    assert_int_equal(lc_big.QuadPart, 2LL * LC_THREADS * LC_ITERATIONS);
    assert_int_equal(lc_stat.QuadPart, 3LL * LC_THREADS * LC_ITERATIONS);
    assert_int_equal(lc_lock, 0);
    assert_int_equal(lc_slock, 0);
}

/* ---- corruption --------------------------------------------------------------------------- */

/*
 * A corrupt list stops the system from inside the critical section, so the
 * lock is left held (the caught bug check restores IRQL and the interrupt
 * flag, not the lock): each case uses a lock of its own.
 */
static void interlocked_corrupt_list_bugchecks(void **state)
{
    static list_item it[3];
    LIST_ENTRY head;
    KSPIN_LOCK lock1, lock2, lock3;
    KeInitializeSpinLock(&lock1);
    KeInitializeSpinLock(&lock2);
    KeInitializeSpinLock(&lock3);

    InitializeListHead(&head);
    InsertTailList(&head, &it[0].Link);
    it[0].Link.Blink = &it[2].Link; /* first entry no longer points back */
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, ExInterlockedInsertHeadList(&head, &it[1].Link, &lock1));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], FAST_FAIL_CORRUPT_LIST_ENTRY);
    assert_true(arch_interrupts_enabled());
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_not_equal(lock1, 0);
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, ExInterlockedRemoveHeadList(&head, &lock2));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], FAST_FAIL_CORRUPT_LIST_ENTRY);

    InitializeListHead(&head);
    InsertTailList(&head, &it[0].Link);
    it[0].Link.Flink = &it[2].Link; /* last entry no longer points at the head */
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, ExInterlockedInsertTailList(&head, &it[1].Link, &lock3));
    assert_true(arch_interrupts_enabled());
}

static const struct CMUnitTest list_tests[] = {
    cmocka_unit_test(interlocked_insert_remove_order),
    cmocka_unit_test(interlocked_push_pop_lifo),
    cmocka_unit_test(interlocked_additions),
    cmocka_unit_test(interlocked_any_irql_preserves_state),
    cmocka_unit_test(interlocked_contention_all_cpus),
    cmocka_unit_test(interlocked_corrupt_list_bugchecks),
};

NTOS_TEST_GROUP(ex_interlocked_lists, list_tests, NULL, NULL);
