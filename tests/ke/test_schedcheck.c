/*
 * Dispatcher invariant checks (src/ke/schedcheck.c): a live system passes
 * them, and each invariant, broken in turn by poking the structures directly
 * with the dispatcher lock held, makes KiCheckDispatcherInvariants bug-check
 * DRIVER_VERIFIER_DETECTED_VIOLATION (KI_VERIFIER_DISPATCHER_INVARIANT, the
 * check, the object, ...). Every corruption is undone before the lock is
 * released, so no other processor ever sees it.
 */
#include "ntos_ke_test.h"

static KTHREAD fake;     /* never started: only ever linked where a test puts it */
static KEVENT other;
static KWAIT_BLOCK stray;

/* The check, with the dispatcher lock held by the caller; returns the failed
 * check (Parameter2) or 0 if it passed; 0xFFFF for any other bug check. */
static volatile ULONG_PTR failed_object;
static ULONG run_check(void)
{
    KBUGCHECK_CATCH c;
    KiArmBugCheckCatch(&c);
    if (ARCH_SETJMP(c.JumpBuffer) == 0) {
        KiCheckDispatcherInvariants();
        KiDisarmBugCheckCatch(&c);
        return 0;
    }
    KiDisarmBugCheckCatch(&c);
    failed_object = c.Data.Parameter[2];
    if (c.Data.Code != DRIVER_VERIFIER_DETECTED_VIOLATION || c.Data.Parameter[0] != KI_VERIFIER_DISPATCHER_INVARIANT)
        return 0xFFFF;
    return (ULONG)c.Data.Parameter[1];
}

static PKI_PROCESSOR cpu0(void)
{
    return KiProcessor(KiProcessorBlock(0));
}

/* A fake ready thread at priority 31 on processor 0 (a queue nothing else uses). */
static void fake_ready(void)
{
    RtlZeroMemory(&fake, sizeof(fake));
    fake.Header.Type = ThreadObject;
    InitializeListHead(&fake.Header.WaitListHead);
    fake.State = Ready;
    fake.Priority = 31;
    fake.NextProcessor = 0;
}

static void clean_system_passes(void **state)
{
    (void)state;
    KIRQL old = KiAcquireDispatcherLock();
    ULONG r = run_check();
    KiReleaseDispatcherLock(old);
    assert_int_equal(r, 0);
}

static void ready_queue_corruptions_are_caught(void **state)
{
    (void)state;
    volatile ULONG r[8];
    KIRQL old = KiAcquireDispatcherLock();
    PKI_PROCESSOR p = cpu0();
    ULONG summary = __atomic_load_n(&p->ReadySummary, __ATOMIC_RELAXED);
    BOOLEAN usable = IsListEmpty(&p->ReadyListHead[31]) && IsListEmpty(&p->ReadyListHead[30]) &&
                     !(summary & (3u << 30));
    if (usable) {
        /* 1. a summary bit for an empty queue */
        __atomic_store_n(&p->ReadySummary, summary | (1u << 31), __ATOMIC_RELAXED);
        r[0] = run_check();
        __atomic_store_n(&p->ReadySummary, summary, __ATOMIC_RELAXED);
        /* 2. a queued thread without its summary bit */
        fake_ready();
        InsertTailList(&p->ReadyListHead[31], &fake.ReadyListEntry);
        r[1] = run_check();
        /* ... and with it, the same queue is consistent */
        __atomic_store_n(&p->ReadySummary, summary | (1u << 31), __ATOMIC_RELAXED);
        r[2] = run_check();
        /* 3. a queued thread that is not Ready */
        fake.State = Waiting;
        r[3] = run_check();
        fake.State = Ready;
        /* 4. a queued thread whose priority is not the queue's */
        fake.Priority = 30;
        r[4] = run_check();
        fake.Priority = 31;
        /* 5. queued twice (inserted into queue 30 without leaving 31): queue
         * 30, walked first, holds a thread that claims priority 31 */
        InsertTailList(&p->ReadyListHead[30], &fake.ReadyListEntry);
        __atomic_store_n(&p->ReadySummary, summary | (3u << 30), __ATOMIC_RELAXED);
        r[5] = run_check();
        InitializeListHead(&p->ReadyListHead[30]);
        InitializeListHead(&p->ReadyListHead[31]);
        InsertTailList(&p->ReadyListHead[31], &fake.ReadyListEntry);
        __atomic_store_n(&p->ReadySummary, summary | (1u << 31), __ATOMIC_RELAXED);
        /* 6. queued and waiting: a wait block linked into an event's list */
        KeInitializeEvent(&other, NotificationEvent, FALSE);
        fake.WaitBlock[0].Thread = &fake;
        fake.WaitBlock[0].Object = &other;
        fake.WaitBlock[0].BlockState = 1;
        fake.WaitBlockList = fake.WaitBlock;
        fake.WaitBlockCount = 1;
        InsertTailList(&other.Header.WaitListHead, &fake.WaitBlock[0].WaitListEntry);
        r[6] = run_check();
        InitializeListHead(&other.Header.WaitListHead);
        fake.WaitBlockCount = 0;
        /* 7. a processor's standby thread that is not Standby */
        RemoveEntryList(&fake.ReadyListEntry);
        __atomic_store_n(&p->ReadySummary, summary, __ATOMIC_RELAXED);
        PKPRCB prcb = KiProcessorBlock(0);
        if (prcb->NextThread == NULL) {
            __atomic_store_n(&prcb->NextThread, &fake, __ATOMIC_RELAXED);
            r[7] = run_check();
            __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
        } else {
            r[7] = KI_INVARIANT_STANDBY_STATE;
        }
    }
    ULONG after = run_check();
    KiReleaseDispatcherLock(old);
    if (!usable)
        skip();
    assert_int_equal(r[0], KI_INVARIANT_READY_SUMMARY);
    assert_int_equal(r[1], KI_INVARIANT_READY_SUMMARY);
    assert_int_equal(r[2], 0);
    assert_int_equal(r[3], KI_INVARIANT_READY_STATE);
    assert_ptr_equal((PVOID)failed_object, &fake);
    assert_int_equal(r[4], KI_INVARIANT_READY_QUEUE);
    assert_int_equal(r[5], KI_INVARIANT_READY_QUEUE);
    assert_int_equal(r[6], KI_INVARIANT_READY_AND_WAITING);
    assert_int_equal(r[7], KI_INVARIANT_STANDBY_STATE);
    assert_int_equal(after, 0);
}

static void current_thread_corruptions_are_caught(void **state)
{
    (void)state;
    volatile ULONG r[3];
    KIRQL old = KiAcquireDispatcherLock();
    PKTHREAD me = KeGetCurrentThread();
    PKI_PROCESSOR p = KiProcessor(KeGetCurrentPrcb());
    ULONG summary = __atomic_load_n(&p->ReadySummary, __ATOMIC_RELAXED);
    /* 1. the running thread's state is not Running */
    __atomic_store_n(&me->State, Standby, __ATOMIC_RELAXED);
    r[0] = run_check();
    __atomic_store_n(&me->State, Running, __ATOMIC_RELAXED);
    /* 2. the running thread is also on a ready queue */
    InsertTailList(&p->ReadyListHead[(ULONG)me->Priority], &me->ReadyListEntry);
    __atomic_store_n(&p->ReadySummary, summary | (1u << me->Priority), __ATOMIC_RELAXED);
    r[1] = run_check();
    RemoveEntryList(&me->ReadyListEntry);
    __atomic_store_n(&p->ReadySummary, summary, __ATOMIC_RELAXED);
    /* 3. a Running thread that no processor runs: the fake one, in the
     * system process's thread list for the moment */
    fake_ready();
    fake.State = Running;
    InsertTailList(&KiSystemProcess.ThreadListHead, &fake.ThreadListEntry);
    r[2] = run_check();
    RemoveEntryList(&fake.ThreadListEntry);
    ULONG after = run_check();
    KiReleaseDispatcherLock(old);
    assert_int_equal(r[0], KI_INVARIANT_CURRENT_STATE);
    assert_int_equal(r[1], KI_INVARIANT_READY_RUNNING);
    assert_int_equal(r[2], KI_INVARIANT_RUNNING_NOT_CURRENT);
    assert_int_equal(after, 0);
}

static KEVENT gate;

static VOID NTAPI waiter(PVOID Context)
{
    (void)Context;
    KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, NULL);
}

static void wait_list_corruptions_are_caught(void **state)
{
    (void)state;
    static KTHREAD w;
    volatile ULONG r[8];
    KeInitializeEvent(&gate, NotificationEvent, FALSE);
    KeInitializeEvent(&other, NotificationEvent, FALSE);
    kt_start(&w, waiter, NULL, 8);
    for (int i = 0; i < 2000 && kt_state(&w) != Waiting; i++)
        kt_sleep_ms(1);
    assert_int_equal(kt_state(&w), Waiting);

    KIRQL old = KiAcquireDispatcherLock();
    PKWAIT_BLOCK wb = &w.WaitBlock[0];
    PLIST_ENTRY head = &gate.Header.WaitListHead;
    r[0] = run_check(); /* a real wait passes */
    /* 1. a block on the gate's list that names another object */
    stray.Thread = &w;
    stray.Object = &other;
    stray.BlockState = 1;
    InsertTailList(head, &stray.WaitListEntry);
    r[1] = run_check();
    /* 2. ... or whose thread is not waiting */
    stray.Object = &gate;
    stray.Thread = &fake;
    fake_ready();
    r[2] = run_check();
    RemoveEntryList(&stray.WaitListEntry);
    /* 3. a wait list whose back links are broken */
    PLIST_ENTRY blink = head->Blink;
    head->Blink = head;
    r[3] = run_check();
    head->Blink = blink;
    /* 4. a waiting thread whose block is on no list */
    RemoveEntryList(&wb->WaitListEntry);
    r[4] = run_check();
    InsertTailList(head, &wb->WaitListEntry);
    /* 5. a thread with a linked block that is not Waiting */
    __atomic_store_n(&w.State, Initialized, __ATOMIC_RELAXED);
    r[5] = run_check();
    /* 6. a Ready thread on no ready queue (a lost wake-up) */
    __atomic_store_n(&w.State, Ready, __ATOMIC_RELAXED);
    r[6] = run_check();
    __atomic_store_n(&w.State, Waiting, __ATOMIC_RELAXED);
    r[7] = run_check();
    KiReleaseDispatcherLock(old);

    KeSetEvent(&gate, 0, FALSE);
    kt_join(&w);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], KI_INVARIANT_WAIT_BLOCK_OBJECT);
    assert_int_equal(r[2], KI_INVARIANT_WAIT_BLOCK_THREAD);
    assert_int_equal(r[3], KI_INVARIANT_WAIT_LIST);
    assert_int_equal(r[4], KI_INVARIANT_WAITING_UNLINKED);
    assert_int_equal(r[5], KI_INVARIANT_NOT_WAITING_LINKED);
    assert_int_equal(r[6], KI_INVARIANT_READY_LOST);
    assert_int_equal(r[7], 0);
}

/* ---- no false alarms on a busy system ------------------------------------------------ */

static KEVENT ping, pong;
static volatile LONG stop;

static VOID NTAPI ping_pong(PVOID Context)
{
    PKEVENT mine = Context == NULL ? &ping : &pong, theirs = Context == NULL ? &pong : &ping;
    LARGE_INTEGER t = kt_ms(2);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        KeSetEvent(theirs, 1, FALSE);
        KeWaitForSingleObject(mine, Executive, KernelMode, FALSE, &t);
    }
}

static void busy_system_passes(void **state)
{
    (void)state;
    static KTHREAD t[4];
    KeInitializeEvent(&ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&pong, SynchronizationEvent, FALSE);
    stop = 0;
    for (int i = 0; i < 4; i++)
        kt_start(&t[i], ping_pong, i & 1 ? (PVOID)1 : NULL, 5 + i / 2); /* below the test thread (8), which must keep running on one CPU */
    ULONG bad = 0, checks = 0;
    for (int i = 0; i < 300; i++) {
        KIRQL old = KiAcquireDispatcherLock();
        ULONG r = run_check();
        KiReleaseDispatcherLock(old);
        checks++;
        if (r != 0 && bad == 0)
            bad = r;
        if (i % 10 == 0)
            kt_sleep_ms(1);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++)
        kt_join(&t[i]);
    assert_int_equal(bad, 0);
    assert_int_equal(checks, 300);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(clean_system_passes),
    cmocka_unit_test(ready_queue_corruptions_are_caught),
    cmocka_unit_test(current_thread_corruptions_are_caught),
    cmocka_unit_test(wait_list_corruptions_are_caught),
    cmocka_unit_test(busy_system_passes),
};

NTOS_TEST_GROUP(ke_schedcheck, tests, NULL, NULL);
