/*
 * Model-based property test: timer queue ordering (src/ke/timer.c) against a
 * reference model, through tests/verify/model.h so a disagreement shrinks to
 * a short reproducer.
 *
 * What runs: the real timer code, KiSetTimerInTable (the body of KeSetTimerEx),
 * KiRemoveTimerFromTable (KeCancelTimer's) and KiExpireTimers (the expiration
 * DPC's), on a private KI_TIMER_TABLE, under the dispatcher lock as the
 * exported routines take it, at interrupt times the test chooses. The exported
 * routines are those calls with the system table and arch_interrupt_time();
 * driving them directly would tie the test to the real clock (not
 * deterministic, and QEMU is slow) or, with a far-future clock, fire the
 * system's own timers early. The timers, their DPCs (queued by the real code
 * and retired by the real DPC machinery when the lock is released) and
 * KeReadStateTimer / KeWaitForSingleObject are the real ones.
 *
 * The model: per timer, whether it is queued, its due time, period, DPC and
 * signal state, plus a virtual interrupt time that only moves forward.
 *  - KeSetTimerEx: relative (negative) due times count from now, absolute ones
 *    are system times (interrupt time + boot system time); returns whether the
 *    timer was queued, clears the signal state, and replaces any earlier
 *    setting. A due time that has already come fires the timer at once.
 *  - Expiry at time T fires every queued timer due at or before T in
 *    nondecreasing due-time order, equal due times in the order they were set;
 *    each becomes signaled, its DPC runs with SystemArgument1/2 = the system
 *    time of the expiry, and a periodic one is queued again at due + period,
 *    or T + period if that has passed too (one firing per pass, NT does not
 *    catch up missed periods).
 *  - KeCancelTimer returns whether the timer was queued and does not touch the
 *    signal state; a zero-timeout wait on a signaled synchronization timer
 *    resets it, on a notification timer leaves it signaled.
 * After every operation the DPC log, every timer's state and the private
 * table's order (ascending due, FIFO among equals, NextDue = head) must match.
 *
 * The virtual clock starts 1 ms after boot, below the real interrupt time, so
 * re-arming a periodic timer against the real clock instead of the expiry's
 * time (a pass running late) would drop it, and this test fails.
 */
#include "ntos_ke_test.h"
#include "model.h"

#define MT_TIMERS 6
#define MT_OPS 800
#define MT_SEEDS 5
#define MT_START 10000ULL /* interrupt time of the first operation: 1 ms after boot */
#define MT_LOG 64

typedef struct mt_fire {
    ULONG Timer;
    ULONG64 SystemTime;
} mt_fire;

/* ---- the real side ----------------------------------------------------------- */

static KI_TIMER_TABLE mt_table;
static KTIMER mt_timers[MT_TIMERS];
static KDPC mt_dpcs[MT_TIMERS];
static mt_fire mt_log[MT_LOG];
static volatile ULONG mt_logged;

static VOID NTAPI mt_dpc_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    ULONG n = mt_logged;
    if (n < MT_LOG) {
        mt_log[n].Timer = (ULONG)(ULONG_PTR)Context;
        mt_log[n].SystemTime = (ULONG64)(ULONG)(ULONG_PTR)Arg1 | ((ULONG64)(ULONG)(ULONG_PTR)Arg2 << 32);
    }
    mt_logged = n + 1;
}

/* ---- the model ------------------------------------------------------------------- */

typedef struct mt_timer {
    BOOLEAN Queued;
    BOOLEAN Signaled;
    BOOLEAN HasDpc;
    BOOLEAN Synchronization;
    ULONG PeriodMs;
    ULONG64 Due;
    ULONG64 Seq; /* insertion order, for FIFO among equal due times */
} mt_timer;

static struct {
    mt_timer T[MT_TIMERS];
    ULONG64 Now;
    ULONG64 Seq;
    mt_fire Expect[MT_LOG];
    ULONG Expected;
} mt_m;

static void mt_model_queue(ULONG I, ULONG64 Due)
{
    mt_m.T[I].Queued = TRUE;
    mt_m.T[I].Due = Due;
    mt_m.T[I].Seq = mt_m.Seq++;
}

static void mt_model_fire(ULONG I, ULONG64 Now)
{
    mt_timer *t = &mt_m.T[I];
    t->Queued = FALSE;
    t->Signaled = TRUE;
    if (t->HasDpc && mt_m.Expected < MT_LOG) {
        mt_m.Expect[mt_m.Expected].Timer = I;
        mt_m.Expect[mt_m.Expected].SystemTime = arch_boot_system_time() + Now;
        mt_m.Expected++;
    }
    if (t->PeriodMs != 0) {
        ULONG64 period = (ULONG64)t->PeriodMs * 10000;
        ULONG64 next = t->Due + period;
        mt_model_queue(I, next > Now ? next : Now + period);
    }
}

/* The queued timer that expires first (lowest due time, then earliest set), or -1. */
static LONG mt_model_first(void)
{
    LONG best = -1;
    for (ULONG i = 0; i < MT_TIMERS; i++) {
        const mt_timer *t = &mt_m.T[i];
        if (!t->Queued)
            continue;
        if (best < 0 || t->Due < mt_m.T[best].Due || (t->Due == mt_m.T[best].Due && t->Seq < mt_m.T[best].Seq))
            best = (LONG)i;
    }
    return best;
}

static void mt_model_expire(ULONG64 Now)
{
    for (;;) {
        LONG i = mt_model_first();
        if (i < 0 || mt_m.T[i].Due > Now)
            return;
        mt_model_fire((ULONG)i, Now);
    }
}

/* ---- operations ------------------------------------------------------------------- */

enum {
    MT_SET,     /* A = timer, B = due code, C = period (C % 4 ms) and DPC (C / 4 % 8 == 7: none) */
    MT_CANCEL,  /* A = timer */
    MT_ADVANCE, /* B % 48 * 0.25 ms */
    MT_JUMP,    /* B % 8 * 10 ms: past several periods */
    MT_WAIT,    /* A = timer: zero-timeout wait */
    MT_KINDS,
    MT_DRAWS = MT_KINDS + 2 /* two extra draws, folded onto MT_ADVANCE and MT_SET */
};

/* The KeSetTimerEx due time an MT_SET operation asks for. */
static LONGLONG mt_due_argument(const model_op *Op)
{
    LONGLONG offset = (LONGLONG)((Op->B / 2) % 24) * 5000; /* 0 .. 11.5 ms in half-ms steps */
    if (Op->B & 1) /* absolute system time, up to 2 ms in the past */
        return (LONGLONG)(arch_boot_system_time() + mt_m.Now) + offset - 20000;
    return -offset; /* relative; -0 is absolute time 0, long past */
}

static void mt_describe(void *Context, const model_op *Op, char *Text, ULONG Size)
{
    (void)Context;
    LONGLONG offset = (LONGLONG)((Op->B / 2) % 24) * 5000;
    switch (Op->Kind) {
    case MT_SET:
        model_say(Text, Size, "set timer %u due %s %lld us, period %u ms%s", Op->A % MT_TIMERS,
                  Op->B & 1 ? "at (absolute) now +" : "in", (long long)(Op->B & 1 ? offset - 20000 : offset) / 10,
                  Op->C % 4, (Op->C / 4) % 8 == 7 ? " no DPC" : "");
        break;
    case MT_CANCEL:
        model_say(Text, Size, "cancel timer %u", Op->A % MT_TIMERS);
        break;
    case MT_ADVANCE:
        model_say(Text, Size, "advance %u us", (Op->B % 48) * 250);
        break;
    case MT_JUMP:
        model_say(Text, Size, "advance %u ms", (Op->B % 8) * 10);
        break;
    default:
        model_say(Text, Size, "zero-timeout wait on timer %u (%s)", Op->A % MT_TIMERS,
                  (Op->A % MT_TIMERS) & 1 ? "synchronization" : "notification");
        break;
    }
}

/* Runs one operation on both sides. */
static BOOLEAN mt_step(const model_op *Op, char *Why, ULONG WhySize)
{
    ULONG i = Op->A % MT_TIMERS;
    KIRQL old;

    switch (Op->Kind) {
    case MT_SET: {
        LONGLONG due = mt_due_argument(Op);
        LONG period = (LONG)(Op->C % 4);
        BOOLEAN dpc = (Op->C / 4) % 8 != 7;
        old = KiAcquireDispatcherLock();
        BOOLEAN got = KiSetTimerInTable(&mt_table, &mt_timers[i], due, period, dpc ? &mt_dpcs[i] : NULL, mt_m.Now);
        KiReleaseDispatcherLock(old);

        mt_timer *t = &mt_m.T[i];
        BOOLEAN expect = t->Queued;
        t->Queued = FALSE;
        t->Signaled = FALSE;
        t->PeriodMs = (ULONG)period;
        t->HasDpc = dpc;
        ULONG64 at;
        if (due < 0)
            at = mt_m.Now + (ULONG64)-due;
        else
            at = (ULONG64)due <= arch_boot_system_time() ? 0 : (ULONG64)due - arch_boot_system_time();
        if (at > mt_m.Now) {
            mt_model_queue(i, at);
        } else {
            t->Due = at;
            mt_model_fire(i, mt_m.Now);
        }
        if (got != expect) {
            model_say(Why, WhySize, "set timer %u returned %u, model expects %u (was it queued)", i, got, expect);
            return FALSE;
        }
        return TRUE;
    }
    case MT_CANCEL: {
        old = KiAcquireDispatcherLock();
        BOOLEAN got = KiRemoveTimerFromTable(&mt_table, &mt_timers[i]);
        KiReleaseDispatcherLock(old);
        BOOLEAN expect = mt_m.T[i].Queued;
        mt_m.T[i].Queued = FALSE;
        if (got != expect) {
            model_say(Why, WhySize, "cancel timer %u returned %u, model expects %u", i, got, expect);
            return FALSE;
        }
        return TRUE;
    }
    case MT_ADVANCE:
    case MT_JUMP:
        mt_m.Now += Op->Kind == MT_ADVANCE ? (ULONG64)(Op->B % 48) * 2500 : (ULONG64)(Op->B % 8) * 100000;
        old = KiAcquireDispatcherLock();
        KiExpireTimers(&mt_table, mt_m.Now);
        KiReleaseDispatcherLock(old);
        mt_model_expire(mt_m.Now);
        return TRUE;
    default: {
        LARGE_INTEGER zero = {.QuadPart = 0};
        NTSTATUS got = KeWaitForSingleObject(&mt_timers[i], Executive, KernelMode, FALSE, &zero);
        NTSTATUS expect = mt_m.T[i].Signaled ? STATUS_SUCCESS : STATUS_TIMEOUT;
        if (mt_m.T[i].Signaled && mt_m.T[i].Synchronization)
            mt_m.T[i].Signaled = FALSE;
        if (got != expect) {
            model_say(Why, WhySize, "zero-timeout wait on timer %u: 0x%x, model expects 0x%x", i, (ULONG)got,
                      (ULONG)expect);
            return FALSE;
        }
        return TRUE;
    }
    }
}

/* Compares DPC log, signal states and the table's order with the model. */
static BOOLEAN mt_compare(char *Why, ULONG WhySize)
{
    if (mt_logged != mt_m.Expected) {
        model_say(Why, WhySize, "%u timer DPC(s) ran, model expects %u (first: timer %u)", mt_logged, mt_m.Expected,
                  mt_logged ? mt_log[0].Timer : mt_m.Expect[0].Timer);
        return FALSE;
    }
    for (ULONG k = 0; k < mt_m.Expected && k < MT_LOG; k++) {
        if (mt_log[k].Timer != mt_m.Expect[k].Timer || mt_log[k].SystemTime != mt_m.Expect[k].SystemTime) {
            model_say(Why, WhySize, "DPC %u: timer %u at system time %llu, model expects timer %u at %llu", k,
                      mt_log[k].Timer, (unsigned long long)mt_log[k].SystemTime, mt_m.Expect[k].Timer,
                      (unsigned long long)mt_m.Expect[k].SystemTime);
            return FALSE;
        }
    }
    mt_logged = 0;
    mt_m.Expected = 0;

    for (ULONG i = 0; i < MT_TIMERS; i++) {
        if (KeReadStateTimer(&mt_timers[i]) != mt_m.T[i].Signaled) {
            model_say(Why, WhySize, "KeReadStateTimer(timer %u) = %u, model expects %u", i,
                      KeReadStateTimer(&mt_timers[i]), mt_m.T[i].Signaled);
            return FALSE;
        }
    }

    /* The table: the model's queued timers in expiry order, with their due times. */
    BOOLEAN taken[MT_TIMERS] = {0};
    ULONG position = 0;
    ULONG64 head = ~0ULL;
    for (PLIST_ENTRY e = mt_table.ListHead.Flink; e != &mt_table.ListHead; e = e->Flink, position++) {
        PKTIMER real = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
        LONG want = -1;
        for (ULONG i = 0; i < MT_TIMERS; i++) {
            if (!mt_m.T[i].Queued || taken[i])
                continue;
            if (want < 0 || mt_m.T[i].Due < mt_m.T[want].Due ||
                (mt_m.T[i].Due == mt_m.T[want].Due && mt_m.T[i].Seq < mt_m.T[want].Seq))
                want = (LONG)i;
        }
        if (want < 0 || real != &mt_timers[want] || real->DueTime.QuadPart != mt_m.T[want].Due) {
            model_say(Why, WhySize, "timer table position %u: timer %d due %llu, model expects timer %d due %llu",
                      position, (int)(real - mt_timers), (unsigned long long)real->DueTime.QuadPart, (int)want,
                      want >= 0 ? (unsigned long long)mt_m.T[want].Due : 0ULL);
            return FALSE;
        }
        if (position == 0)
            head = real->DueTime.QuadPart;
        taken[want] = TRUE;
        if (position > MT_TIMERS)
            break;
    }
    for (ULONG i = 0; i < MT_TIMERS; i++) {
        if (mt_m.T[i].Queued && !taken[i]) {
            model_say(Why, WhySize, "timer %u is missing from the table (model: due %llu)", i,
                      (unsigned long long)mt_m.T[i].Due);
            return FALSE;
        }
    }
    if (mt_table.NextDue != head) {
        model_say(Why, WhySize, "NextDue %llu, head of the table due %llu", (unsigned long long)mt_table.NextDue,
                  (unsigned long long)head);
        return FALSE;
    }
    return TRUE;
}

static ULONG mt_run(void *Context, const model_op *Ops, ULONG Count, char *Why, ULONG WhySize)
{
    (void)Context;
    ULONG failed = 0;

    KiInitializeTimerTable(&mt_table);
    RtlZeroMemory(&mt_m, sizeof(mt_m));
    mt_m.Now = MT_START;
    mt_logged = 0;
    for (ULONG i = 0; i < MT_TIMERS; i++) {
        KeInitializeTimerEx(&mt_timers[i], (i & 1) ? SynchronizationTimer : NotificationTimer);
        KeInitializeDpc(&mt_dpcs[i], mt_dpc_routine, (PVOID)(ULONG_PTR)i);
        mt_m.T[i].Synchronization = (BOOLEAN)(i & 1);
    }
    for (ULONG k = 0; k < Count; k++) {
        if (!mt_step(&Ops[k], Why, WhySize) || !mt_compare(Why, WhySize)) {
            failed = k + 1;
            break;
        }
    }
    /* Leave nothing queued: the table is private, but a DPC left in the
     * processor's queue would be re-initialised by the next run. */
    KIRQL old = KiAcquireDispatcherLock();
    for (ULONG i = 0; i < MT_TIMERS; i++)
        KiRemoveTimerFromTable(&mt_table, &mt_timers[i]);
    KiReleaseDispatcherLock(old);
    for (ULONG i = 0; i < MT_TIMERS; i++)
        KeRemoveQueueDpc(&mt_dpcs[i]);
    return failed;
}

static model_op mt_ops[MT_OPS];

static void model_timerqueue_random_sequences(void **state)
{
    (void)state;
    model_spec spec = {"timerqueue", mt_run, mt_describe, NULL};
    assert_true(arch_get_irql() == PASSIVE_LEVEL);
    for (uint64_t seed = 1; seed <= MT_SEEDS; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        model_generate(&rng, mt_ops, MT_OPS, MT_DRAWS, MT_TIMERS, 1000, 64);
        for (ULONG i = 0; i < MT_OPS; i++) {
            if (mt_ops[i].Kind == MT_KINDS)
                mt_ops[i].Kind = MT_ADVANCE;
            else if (mt_ops[i].Kind > MT_KINDS)
                mt_ops[i].Kind = MT_SET;
        }
        model_check(&spec, seed, mt_ops, MT_OPS, NULL);
    }
}

/*
 * Regression: an expiry pass that runs late (the clock has already passed the
 * periodic timer's next due time when it re-arms it) must still re-arm it.
 * timer.c used to re-insert against a fresh arch_interrupt_time(), which then
 * refused the insertion as "already due" and the periodic timer silently
 * stopped for good (its DPC/APC never came again). Here the pass runs for an
 * interrupt time far behind the real clock, which is exactly that situation.
 */
static void periodic_timer_rearmed_when_expiry_runs_late(void **state)
{
    (void)state;
    KI_TIMER_TABLE table;
    KTIMER timer;
    KiInitializeTimerTable(&table);
    KeInitializeTimer(&timer);
    ULONG64 now = 10000; /* 1 ms after boot: the real clock is past it */
    KIRQL old = KiAcquireDispatcherLock();
    assert_false(KiSetTimerInTable(&table, &timer, -5000, 1, NULL, now));
    KiExpireTimers(&table, now + 6000);              /* due at 15000: fires */
    BOOLEAN signaled = KeReadStateTimer(&timer);
    ULONG64 next = timer.DueTime.QuadPart;
    BOOLEAN queued = KiRemoveTimerFromTable(&table, &timer);
    KiReleaseDispatcherLock(old);
    assert_true(signaled);
    assert_true(queued);
    assert_true(next == 25000); /* due + period */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_timerqueue_random_sequences),
    cmocka_unit_test(periodic_timer_rearmed_when_expiry_runs_late),
};

NTOS_TEST_GROUP(verify_model_timerqueue, tests, NULL, NULL);
