/*
 * Waits: KeWaitForSingleObject, KeWaitForMultipleObjects,
 * KeDelayExecutionThread, and the satisfy/unwait machinery the dispatcher
 * objects use when they become signaled.
 *
 * Locking and IRQL rules
 *  - Every dispatcher object's SignalState and wait list, and every waiting
 *    thread's wait blocks, are guarded by KiDispatcherLock (SYNCH_LEVEL).
 *  - Callers wait at IRQL <= APC_LEVEL, or at DISPATCH_LEVEL with a zero
 *    timeout (a poll). A wait that would block at DISPATCH_LEVEL or above is
 *    a caller bug and bug-checks IRQL_NOT_LESS_OR_EQUAL (parameters: object,
 *    IRQL); from a DPC routine it is ATTEMPTED_SWITCH_FROM_DPC.
 *  - The Wait=TRUE protocol: KeSetEvent(..., TRUE) and friends return with the
 *    dispatcher lock still held and the thread's WaitNext set; the next wait
 *    consumes that state instead of acquiring the lock, so signaling one
 *    object and waiting on another is atomic.
 *  - A kernel APC queued to a waiting thread ends the wait with
 *    STATUS_KERNEL_APC; the wait functions deliver it (by dropping the IRQL)
 *    and wait again, so callers never see that status.
 */
#include "ki.h"

#define TIMER_WAIT_BLOCK THREAD_WAIT_OBJECTS

BOOLEAN KiIsObjectSignaled(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    if (Object->Type == MutantObject) {
        PKMUTANT m = (PKMUTANT)Object;
        return Object->SignalState > 0 || m->OwnerThread == Thread;
    }
    return Object->SignalState > 0;
}

/* Consumes the object for Thread. Returns TRUE if it was an abandoned mutant. */
static BOOLEAN KiSatisfy(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    switch (Object->Type) {
    case EventSynchronizationObject:
    case TimerSynchronizationObject:
        Object->SignalState = 0;
        return FALSE;
    case SemaphoreObject:
        Object->SignalState--;
        return FALSE;
    case MutantObject: {
        PKMUTANT m = (PKMUTANT)Object;
        if (Object->SignalState == MINLONG)
            KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_MUTANT_LIMIT_EXCEEDED,
                         (ULONG_PTR)m, 0, 0);
        Object->SignalState--;
        BOOLEAN abandoned = FALSE;
        if (Object->SignalState == 0) {
            m->OwnerThread = Thread;
            Thread->KernelApcDisable -= m->ApcDisable;
            if (m->Abandoned) {
                m->Abandoned = FALSE;
                abandoned = TRUE;
            }
            InsertHeadList(&Thread->MutantListHead, &m->MutantListEntry);
        }
        return abandoned;
    }
    default:
        /* Notification events and timers, threads, processes: waiting does
         * not change them. */
        return FALSE;
    }
}

VOID KiSatisfyWait(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    KiSatisfy(Object, Thread);
}

static void KiUnlinkWaitBlocks(PKTHREAD Thread)
{
    for (ULONG i = 0; i < Thread->WaitBlockCount; i++) {
        PKWAIT_BLOCK wb = &Thread->WaitBlockList[i];
        if (wb->BlockState) {
            RemoveEntryList(&wb->WaitListEntry);
            wb->BlockState = 0;
        }
    }
    Thread->WaitBlockCount = 0;
    if (Thread->TimerWaitLinked) {
        PKWAIT_BLOCK twb = &Thread->WaitBlock[TIMER_WAIT_BLOCK];
        RemoveEntryList(&twb->WaitListEntry);
        Thread->TimerWaitLinked = FALSE;
        KiRemoveTimer(&Thread->Timer);
    }
}

VOID KiUnwaitThread(PKTHREAD Thread, LONG_PTR WaitStatus, KPRIORITY Increment)
{
    KiUnlinkWaitBlocks(Thread);
    Thread->WaitStatus = WaitStatus;
    KiBoostPriority(Thread, Increment);
    KiReadyThread(Thread);
}

/* WaitAll: satisfied only when every object is signaled for this thread. */
static BOOLEAN KiWaitAllReady(PKTHREAD Thread)
{
    for (ULONG i = 0; i < Thread->WaitBlockCount; i++) {
        PKWAIT_BLOCK wb = &Thread->WaitBlockList[i];
        if (!KiIsObjectSignaled(wb->Object, Thread))
            return FALSE;
    }
    return TRUE;
}

static LONG_PTR KiSatisfyAll(PKTHREAD Thread, ULONG Count, PVOID *Objects)
{
    BOOLEAN abandoned = FALSE;
    for (ULONG i = 0; i < Count; i++)
        abandoned |= KiSatisfy(Objects[i], Thread);
    return abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0;
}

VOID KiWaitTest(PVOID ObjectPointer, KPRIORITY Increment)
{
    arch_sched_point(ARCH_SP_SIGNAL, ObjectPointer);
    PDISPATCHER_HEADER object = ObjectPointer;
    PLIST_ENTRY head = &object->WaitListHead;
    PLIST_ENTRY e = head->Flink;
    while (e != head && object->SignalState > 0) {
        PKWAIT_BLOCK wb = CONTAINING_RECORD(e, KWAIT_BLOCK, WaitListEntry);
        PKTHREAD t = wb->Thread;
        e = e->Flink;
        if (wb->WaitType == WaitAny) {
            LONG_PTR status = wb->WaitKey;
            if (wb == &t->WaitBlock[TIMER_WAIT_BLOCK]) {
                /* The thread's own timeout timer: ends the wait. */
                status = t->TimeoutWaitStatus;
            } else if (KiSatisfy(object, t)) {
                status += STATUS_ABANDONED_WAIT_0;
            }
            KiUnwaitThread(t, status, Increment);
            e = head->Flink;
        } else if (KiWaitAllReady(t)) {
            BOOLEAN abandoned = FALSE;
            for (ULONG i = 0; i < t->WaitBlockCount; i++)
                abandoned |= KiSatisfy(t->WaitBlockList[i].Object, t);
            KiUnwaitThread(t, abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0, Increment);
            e = head->Flink;
        }
    }
}

VOID KiAbandonMutants(PKTHREAD Thread)
{
    while (!IsListEmpty(&Thread->MutantListHead)) {
        PKMUTANT m = CONTAINING_RECORD(RemoveHeadList(&Thread->MutantListHead), KMUTANT, MutantListEntry);
        Thread->KernelApcDisable += m->ApcDisable;
        m->OwnerThread = NULL;
        m->Abandoned = TRUE;
        m->Header.SignalState = 1;
        KiWaitTest(m, 0);
    }
}

/* ---- the wait itself ---------------------------------------------------------------- */

/* Converts an NT timeout (negative: relative 100 ns; positive: absolute system
 * time) into an absolute interrupt time. */
static ULONG64 KiDueInterruptTime(LONGLONG Timeout)
{
    ULONG64 now = arch_interrupt_time();
    if (Timeout < 0) {
        ULONG64 delta = (ULONG64)(-(Timeout + 1)) + 1;
        return now + delta < now ? ~0ULL : now + delta;
    }
    ULONG64 boot = arch_boot_system_time();
    if ((ULONG64)Timeout <= boot)
        return 0;
    return (ULONG64)Timeout - boot;
}

static PKTHREAD KiWaitingThread(void)
{
    PKTHREAD t = KeGetCurrentThread();
    if (t == NULL)
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 2, 0, 0, 0);
    return t;
}

static void KiBeginWait(PKTHREAD t)
{
    if (t->WaitNext)
        t->WaitNext = FALSE; /* lock held since the signaling call */
    else
        t->WaitIrql = KiAcquireDispatcherLock();
}

/* Alerts and user APCs that end an alertable wait before it blocks. */
static BOOLEAN KiCheckAlert(PKTHREAD t, KPROCESSOR_MODE Mode, BOOLEAN Alertable, NTSTATUS *Status)
{
    if (!Alertable)
        return FALSE;
    if (t->Alerted[(int)Mode]) {
        t->Alerted[(int)Mode] = FALSE;
        *Status = STATUS_ALERTED;
        return TRUE;
    }
    if (Mode != KernelMode) {
        if (!IsListEmpty(&t->ApcState.ApcListHead[UserMode])) {
            t->ApcState.UserApcPending = TRUE;
            *Status = STATUS_USER_APC;
            return TRUE;
        }
        if (t->Alerted[KernelMode]) {
            t->Alerted[KernelMode] = FALSE;
            *Status = STATUS_ALERTED;
            return TRUE;
        }
    }
    return FALSE;
}

static BOOLEAN KiKernelApcDeliverable(PKTHREAD t)
{
    return __atomic_load_n(&t->ApcState.KernelApcPending, __ATOMIC_ACQUIRE) && t->SpecialApcDisable == 0 &&
           t->WaitIrql < APC_LEVEL;
}

/*
 * Called before anything is linked for a wait that is about to block.
 * Blocking from a DPC routine is the documented ATTEMPTED_SWITCH_FROM_DPC;
 * blocking at DISPATCH_LEVEL or above anywhere else is an IRQL violation.
 * The lock is dropped first so that a test catching the bug check finds the
 * dispatcher intact.
 */
static void KiCheckMayBlock(PKTHREAD t, PVOID Object)
{
    ULONG code = 0;
    if (KiCurrentProcessor()->DpcRoutineActive)
        code = ATTEMPTED_SWITCH_FROM_DPC;
    else if (t->WaitIrql >= DISPATCH_LEVEL)
        code = IRQL_NOT_LESS_OR_EQUAL;
    if (code == 0)
        return;
    KIRQL irql = t->WaitIrql;
    KiReleaseDispatcherLock(irql);
    if (code == ATTEMPTED_SWITCH_FROM_DPC)
        KeBugCheckEx(code, (ULONG_PTR)t, (ULONG_PTR)Object, 0, 0);
    KeBugCheckEx(code, (ULONG_PTR)Object, irql, 0, (ULONG_PTR)KiCheckMayBlock);
}

/*
 * Blocks the current thread on the wait blocks already linked (and the
 * timeout, if any). Dispatcher lock held; returns the wait status with the
 * lock released and IRQL back at WaitIrql.
 */
static LONG_PTR KiBlock(PKTHREAD t, PVOID Object, ULONG64 Due, BOOLEAN HasTimeout, NTSTATUS TimeoutStatus,
                        KWAIT_REASON Reason, KPROCESSOR_MODE Mode, BOOLEAN Alertable)
{
    if (HasTimeout) {
        PKWAIT_BLOCK twb = &t->WaitBlock[TIMER_WAIT_BLOCK];
        twb->Thread = t;
        twb->Object = &t->Timer;
        twb->WaitType = WaitAny;
        twb->WaitKey = 0;
        twb->BlockState = 1;
        t->TimeoutWaitStatus = TimeoutStatus;
        t->Timer.Header.SignalState = 0;
        t->Timer.Period = 0;
        t->Timer.Dpc = NULL;
        InsertTailList(&t->Timer.Header.WaitListHead, &twb->WaitListEntry);
        t->TimerWaitLinked = TRUE;
        if (!KiInsertTimer(&t->Timer, (LONGLONG)Due)) {
            /* Due while we were setting up: the wait times out now. */
            KiUnlinkWaitBlocks(t);
            KiReleaseDispatcherLock(t->WaitIrql);
            return TimeoutStatus;
        }
    }
    t->Alertable = Alertable;
    t->WaitMode = Mode;
    __atomic_store_n(&t->WaitReason, (UCHAR)Reason, __ATOMIC_RELAXED);
    t->WaitStatus = 0;
    __atomic_store_n(&t->State, Waiting, __ATOMIC_RELAXED);
    return KiSwapThread(t);
}

NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                        KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray)
{
    arch_sched_point(ARCH_SP_WAIT, Object);
    PKTHREAD t = KiWaitingThread();
    if (Count > MAXIMUM_WAIT_OBJECTS || (WaitBlockArray == NULL && Count > THREAD_WAIT_OBJECTS))
        KeBugCheckEx(MAXIMUM_WAIT_OBJECTS_EXCEEDED, Count, (ULONG_PTR)WaitBlockArray, 0, 0);
    if (Count == 0 || Object == NULL || (WaitType != WaitAll && WaitType != WaitAny))
        return STATUS_INVALID_PARAMETER;
    PKWAIT_BLOCK blocks = WaitBlockArray ? WaitBlockArray : t->WaitBlock;
    ULONG64 due = Timeout ? KiDueInterruptTime(Timeout->QuadPart) : 0;

    NTSTATUS status;
    KiBeginWait(t);
    for (;;) {
        if (KiKernelApcDeliverable(t)) {
            KiReleaseDispatcherLock(t->WaitIrql);
            t->WaitIrql = KiAcquireDispatcherLock();
            continue;
        }
        if (WaitType == WaitAny) {
            for (ULONG i = 0; i < Count; i++) {
                if (KiIsObjectSignaled(Object[i], t)) {
                    status = KiSatisfy(Object[i], t) ? (NTSTATUS)(STATUS_ABANDONED_WAIT_0 + i)
                                                      : (NTSTATUS)(STATUS_WAIT_0 + i);
                    goto done;
                }
            }
        } else {
            BOOLEAN all = TRUE;
            for (ULONG i = 0; i < Count && all; i++)
                all = KiIsObjectSignaled(Object[i], t);
            if (all) {
                status = (NTSTATUS)KiSatisfyAll(t, Count, Object);
                goto done;
            }
        }
        if (KiCheckAlert(t, WaitMode, Alertable, &status))
            goto done;
        if (Timeout != NULL && (Timeout->QuadPart == 0 || due <= arch_interrupt_time())) {
            status = STATUS_TIMEOUT;
            goto done;
        }
        KiCheckMayBlock(t, Object[0]);
        for (ULONG i = 0; i < Count; i++) {
            PKWAIT_BLOCK wb = &blocks[i];
            wb->Thread = t;
            wb->Object = Object[i];
            wb->WaitType = (UCHAR)WaitType;
            wb->WaitKey = (USHORT)i;
            wb->BlockState = 1;
            InsertTailList(&((PDISPATCHER_HEADER)Object[i])->WaitListHead, &wb->WaitListEntry);
        }
        t->WaitBlockList = blocks;
        t->WaitBlockCount = (UCHAR)Count;
        status = (NTSTATUS)KiBlock(t, Object[0], due, Timeout != NULL, STATUS_TIMEOUT, WaitReason, WaitMode,
                                   Alertable);
        if (status != STATUS_KERNEL_APC)
            return status;
        t->WaitIrql = KiAcquireDispatcherLock();
    }
done:
    KiReleaseDispatcherLock(t->WaitIrql);
    return status;
}

NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                     BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    PVOID objects[1] = {Object};
    return KeWaitForMultipleObjects(1, objects, WaitAny, WaitReason, WaitMode, Alertable, Timeout, NULL);
}

NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval)
{
    PKTHREAD t = KiWaitingThread();
    if (Interval == NULL)
        return STATUS_INVALID_PARAMETER;
    ULONG64 due = KiDueInterruptTime(Interval->QuadPart);
    KiBeginWait(t);
    for (;;) {
        NTSTATUS status;
        if (KiKernelApcDeliverable(t)) {
            KiReleaseDispatcherLock(t->WaitIrql);
            t->WaitIrql = KiAcquireDispatcherLock();
            continue;
        }
        if (KiCheckAlert(t, WaitMode, Alertable, &status)) {
            KiReleaseDispatcherLock(t->WaitIrql);
            return status;
        }
        if (due <= arch_interrupt_time()) {
            /* A zero or elapsed delay still gives up the processor to any
             * ready thread of the same priority, as NT does. */
            KiReleaseDispatcherLock(t->WaitIrql);
            if (Interval->QuadPart == 0 || due == 0)
                NtYieldExecution();
            return STATUS_SUCCESS;
        }
        KiCheckMayBlock(t, &t->Timer);
        t->WaitBlockList = t->WaitBlock;
        t->WaitBlockCount = 0;
        status = (NTSTATUS)KiBlock(t, &t->Timer, due, TRUE, STATUS_SUCCESS, DelayExecution, WaitMode, Alertable);
        if (status != STATUS_KERNEL_APC)
            return status;
        t->WaitIrql = KiAcquireDispatcherLock();
    }
}
