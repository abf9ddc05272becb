/*
 * Kernel APCs queued from another thread, over and over, to a thread that
 * keeps entering and leaving critical and guarded regions and never waits:
 * the one place where APC delivery depends on an unlocked read (the region
 * exit's peek at the thread's own kernel APC queue, racing the inserter's
 * links). Every APC queued must be delivered: by the inserter's own request
 * when the thread is outside a region, or by the region exit when a delivery
 * attempt found it inside one. Under ThreadSanitizer the test also checks that
 * the peek and the inserter's list stores are free of data races.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"

#define RACE_APCS 4       /* 0, 1 normal (held off by either region); 2, 3 special (by a guarded one) */
#define RACE_RUN_MS 200   /* how long the inserter keeps queueing */
#define RACE_LOST_MS 5000 /* an APC queued this long to a thread that keeps leaving its regions is lost */

static KAPC race_apc[RACE_APCS];
static volatile LONG race_inserted[RACE_APCS];
static volatile LONG race_delivered[RACE_APCS];
static volatile LONG race_stop;
static volatile LONG race_bad; /* a routine ran where it must not */
static volatile LONG race_cycles;
static KEVENT race_release;
static KTHREAD race_target;

static LONG race_index(PKAPC Apc)
{
    return (LONG)(Apc - race_apc);
}

static VOID NTAPI race_kernel_routine(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context, PVOID *A1, PVOID *A2)
{
    (void)Context, (void)A1, (void)A2;
    PKTHREAD t = KeGetCurrentThread();
    /* APC_LEVEL, on the target, never inside a guarded region. */
    if (KeGetCurrentIrql() != APC_LEVEL || t != &race_target || t->SpecialApcDisable != 0)
        __atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
    if (*Normal == NULL)
        __atomic_fetch_add(&race_delivered[race_index(Apc)], 1, __ATOMIC_RELEASE);
}

static VOID NTAPI race_normal_routine(PVOID Context, PVOID A1, PVOID A2)
{
    (void)A1, (void)A2;
    PKTHREAD t = KeGetCurrentThread();
    /* PASSIVE_LEVEL, outside both regions. */
    if (KeGetCurrentIrql() != PASSIVE_LEVEL || t != &race_target || t->KernelApcDisable != 0 ||
        t->SpecialApcDisable != 0)
        __atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&race_delivered[(LONG)(ULONG_PTR)Context], 1, __ATOMIC_RELEASE);
}

/* A short stretch inside a region, with interruptible points in it, so that
 * the inserter's delivery request is often taken (and found blocked) there. */
static void race_linger(void)
{
    for (int i = 0; i < 4; i++)
        arch_pause();
}

static VOID NTAPI race_target_main(PVOID Context)
{
    (void)Context;
    ULONG n = 0;
    while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
        KeEnterCriticalRegion();
        race_linger();
        KeLeaveCriticalRegion();
        KeEnterGuardedRegion();
        race_linger();
        KeLeaveGuardedRegion();
        /* Both kinds nested, left in the order that unblocks special APCs last. */
        KeEnterGuardedRegion();
        KeEnterCriticalRegion();
        race_linger();
        KeLeaveCriticalRegion();
        KeLeaveGuardedRegion();
        __atomic_fetch_add(&race_cycles, 1, __ATOMIC_RELAXED);
        /* Let the inserter run on one processor. */
        if ((++n & 15) == 0)
            ZwYieldExecution();
    }
    /* A wait at PASSIVE_LEVEL takes whatever is still pending. */
    KeWaitForSingleObject(&race_release, Executive, KernelMode, FALSE, NULL);
}

static BOOLEAN race_all_delivered(void)
{
    for (int i = 0; i < RACE_APCS; i++)
        if (__atomic_load_n(&race_delivered[i], __ATOMIC_ACQUIRE) != race_inserted[i])
            return FALSE;
    return TRUE;
}

static void kernel_apcs_racing_region_exits_are_all_delivered(void **state)
{
    (void)state;
    race_stop = 0;
    race_bad = 0;
    race_cycles = 0;
    KeInitializeEvent(&race_release, NotificationEvent, FALSE);
    kt_start(&race_target, race_target_main, NULL, 8);
    for (int i = 0; i < RACE_APCS; i++) {
        race_inserted[i] = race_delivered[i] = 0;
        BOOLEAN special = i >= 2;
        KeInitializeApc(&race_apc[i], &race_target, OriginalApcEnvironment, race_kernel_routine, NULL,
                        special ? NULL : race_normal_routine, KernelMode, (PVOID)(ULONG_PTR)i);
    }

    ULONG64 start = arch_interrupt_time();
    ULONG64 end = start + (ULONG64)RACE_RUN_MS * 10000;
    ULONG64 queuedAt[RACE_APCS] = {0};
    BOOLEAN lost = FALSE;
    while (!lost && arch_interrupt_time() < end) {
        BOOLEAN queued = FALSE;
        for (int i = 0; i < RACE_APCS; i++) {
            ULONG64 now = arch_interrupt_time();
            if (__atomic_load_n(&race_delivered[i], __ATOMIC_ACQUIRE) == race_inserted[i]) {
                /* Delivered, so out of the queue: it can be queued again. */
                assert_true(KeInsertQueueApc(&race_apc[i], NULL, NULL, 0));
                race_inserted[i]++;
                queuedAt[i] = now;
                queued = TRUE;
            } else if (now - queuedAt[i] > (ULONG64)RACE_LOST_MS * 10000) {
                lost = TRUE;
            }
        }
        if (!queued)
            ZwYieldExecution();
    }
    __atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);

    /* The target leaves its regions and waits: whatever is pending now runs. */
    for (int k = 0; k < RACE_LOST_MS && !race_all_delivered(); k++)
        kt_sleep_ms(1);
    /* Anything still queued was lost: take it out before the thread exits. */
    LONG leftover = 0;
    for (int i = 0; i < RACE_APCS; i++)
        if (KeRemoveQueueApc(&race_apc[i]))
            leftover++;
    KeSetEvent(&race_release, 0, FALSE);
    kt_join(&race_target);

    assert_false(lost);
    assert_int_equal(leftover, 0);
    assert_true(race_all_delivered());
    assert_int_equal(race_bad, 0);
    /* The race was run: every APC went round, and the target kept cycling. */
    for (int i = 0; i < RACE_APCS; i++)
        assert_true(race_inserted[i] >= 2);
    assert_true(race_cycles > 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(kernel_apcs_racing_region_exits_are_all_delivered),
};

NTOS_TEST_GROUP(ke_apc_region_race, tests, NULL, NULL);
