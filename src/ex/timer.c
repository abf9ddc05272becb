/*
 * Timer objects: the Timer type and its services (ZwCreateTimer, ZwOpenTimer,
 * ZwSetTimer, ZwCancelTimer, ZwQueryTimer).
 *
 * The body begins with the KTIMER (drivers get a PKTIMER from a Timer handle,
 * and waits wait on it). A timer set with an APC routine also arms its DPC:
 * at each expiry the DPC queues the timer's APC to the thread that set it,
 * and the APC calls the routine at PASSIVE_LEVEL in that thread.
 *
 * Lifetime of the APC path
 *  - The DPC takes a reference on the timer (ObReferenceObjectSafe: it may
 *    run while the last reference is already gone) for the APC it queues; the
 *    APC's kernel routine, or its rundown, or whoever removes it from the
 *    queue, drops it. So an object with a queued APC is never deleted.
 *  - Re-setting or cancelling the timer dequeues a still-queued APC and bumps
 *    ApcGeneration. The generation travels in the APC's NormalContext, so an
 *    APC that was already dequeued for delivery when that happened finds a
 *    different generation in its kernel routine and does not call the routine
 *    of a set that no longer exists.
 *  - The delete procedure cancels the KTIMER (no expiry can queue the DPC
 *    after that), removes a queued DPC and, if the DPC was ever armed, flushes
 *    the DPC queues so that a DPC routine running on another processor has
 *    finished with the memory.
 *  - The thread the APC targets: an ETHREAD is referenced while the timer is
 *    associated with it. A bare KTHREAD (not an object) cannot be, so it must
 *    cancel or re-set the timer before it exits (NT cancels a dying thread's
 *    timers itself; ntos has no per-thread timer list yet).
 *
 * Locking and IRQL
 *  - Timer->Lock (spin lock, DISPATCH_LEVEL) guards the association fields
 *    (ApcAssociated, ApcGeneration, ApcRoutine, ApcContext, ApcThread, Active,
 *    ArmedDpc) and serialises set, cancel, the DPC routine and the APC's
 *    kernel routine with one another. KTIMER state is Ke's (dispatcher lock,
 *    taken inside KeSetTimerEx/KeCancelTimer/KeInsertQueueApc while Lock is held:
 *    Lock is always the outer one).
 *  - Services run at PASSIVE_LEVEL, the DPC routine at DISPATCH_LEVEL, the
 *    kernel routine at APC_LEVEL and the user's routine at PASSIVE_LEVEL.
 *  - Object references are dropped only after Lock is released.
 */
#include <ntos/ex_objects.h>
#include <ntos/ps.h>
#include "../ke/ki.h"

typedef struct _EXP_TIMER {
    KTIMER KeTimer; /* first: the body is a KTIMER for Ke and for waits */
    KDPC TimerDpc;
    KAPC TimerApc;
    KSPIN_LOCK Lock;
    PTIMER_APC_ROUTINE ApcRoutine;
    PVOID ApcContext;
    PETHREAD ApcThread;      /* referenced, or NULL for a bare KTHREAD */
    ULONG ApcGeneration;
    BOOLEAN ApcAssociated;
    BOOLEAN Active;          /* set and not cancelled (one-shot expiry leaves it TRUE) */
    BOOLEAN ArmedDpc;        /* TimerDpc was ever given to KeSetTimerEx */
} EXP_TIMER, *PEXP_TIMER;
_Static_assert(FIELD_OFFSET(EXP_TIMER, KeTimer) == 0, "waits use the body");

POBJECT_TYPE ExTimerObjectType;

static const GENERIC_MAPPING ExpTimerMapping = {
    STANDARD_RIGHTS_READ | TIMER_QUERY_STATE,
    STANDARD_RIGHTS_WRITE | TIMER_MODIFY_STATE,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    TIMER_ALL_ACCESS,
};

/* The signal state, read under the lock the expiry writes it with. */
static BOOLEAN ExpReadTimerState(PEXP_TIMER Timer)
{
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN signaled = Timer->KeTimer.Header.SignalState != 0;
    KiReleaseDispatcherLock(old);
    return signaled;
}

/* What undoing an APC association left for the caller to drop outside Lock. */
typedef struct _EXP_TIMER_DROPS {
    PETHREAD Thread;
    BOOLEAN TimerReference; /* a dequeued APC's reference on the timer */
} EXP_TIMER_DROPS;

/* Lock held. Ends the current APC association, if any. */
static VOID ExpDisassociateApc(PEXP_TIMER Timer, EXP_TIMER_DROPS *Drops)
{
    Timer->ApcGeneration++;
    if (!Timer->ApcAssociated)
        return;
    if (KeRemoveQueueApc(&Timer->TimerApc))
        Drops->TimerReference = TRUE;
    Timer->ApcAssociated = FALSE;
    Drops->Thread = Timer->ApcThread;
    Timer->ApcThread = NULL;
    Timer->ApcRoutine = NULL;
    Timer->ApcContext = NULL;
}

static VOID ExpApplyDrops(PEXP_TIMER Timer, EXP_TIMER_DROPS *Drops)
{
    if (Drops->Thread != NULL)
        ObDereferenceObject(Drops->Thread);
    if (Drops->TimerReference)
        ObDereferenceObject(Timer);
}

static VOID NTAPI ExpDeleteTimer(PVOID Object)
{
    PEXP_TIMER timer = Object;
    KeCancelTimer(&timer->KeTimer);
    KeRemoveQueueDpc(&timer->TimerDpc);
    KIRQL irql;
    KeAcquireSpinLock(&timer->Lock, &irql);
    BOOLEAN armed = timer->ArmedDpc;
    /* A queued APC would hold a reference, so none is queued now. */
    PETHREAD thread = timer->ApcThread;
    timer->ApcThread = NULL;
    timer->ApcAssociated = FALSE;
    KeReleaseSpinLock(&timer->Lock, irql);
    if (armed)
        KeFlushQueuedDpcs();
    if (thread != NULL)
        ObDereferenceObject(thread);
}

NTSTATUS ExpInitializeTimerImplementation(void)
{
    return ExpCreateDispatcherObjectType(L"Timer", &ExpTimerMapping, TIMER_ALL_ACCESS, ExpDeleteTimer,
                                         &ExTimerObjectType);
}

/* ---- the APC path ---------------------------------------------------------------------------- */

static VOID NTAPI ExpTimerApcNormalRoutine(PVOID NormalContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    /* The kernel routine put the user's routine in NormalContext, the expiry
     * time in SystemArgument1 and the user's context in SystemArgument2. */
    PTIMER_APC_ROUTINE routine = (PTIMER_APC_ROUTINE)(ULONG_PTR)NormalContext;
    ULONGLONG time = (ULONGLONG)(ULONG_PTR)SystemArgument1;
    routine(SystemArgument2, (ULONG)time, (LONG)(time >> 32));
}

static VOID NTAPI ExpTimerApcKernelRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                                           PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    PEXP_TIMER timer = CONTAINING_RECORD(Apc, EXP_TIMER, TimerApc);
    ULONG generation = (ULONG)(ULONG_PTR)*NormalContext;
    KIRQL irql;
    KeAcquireSpinLock(&timer->Lock, &irql);
    if (timer->ApcAssociated && timer->ApcGeneration == generation) {
        ULONGLONG time = (ULONGLONG)(ULONG)(ULONG_PTR)*SystemArgument1 |
                         ((ULONGLONG)(ULONG)(ULONG_PTR)*SystemArgument2 << 32);
        *NormalContext = (PVOID)(ULONG_PTR)timer->ApcRoutine;
        *SystemArgument1 = (PVOID)(ULONG_PTR)time;
        *SystemArgument2 = timer->ApcContext;
    } else {
        /* Cancelled or re-set after this APC was dequeued for delivery. */
        *NormalRoutine = NULL;
    }
    KeReleaseSpinLock(&timer->Lock, irql);
    /* The DPC's reference: the routine no longer needs the timer itself. */
    ObDereferenceObject(timer);
}

static VOID NTAPI ExpTimerApcRundownRoutine(PKAPC Apc)
{
    ObDereferenceObject(CONTAINING_RECORD(Apc, EXP_TIMER, TimerApc));
}

static VOID NTAPI ExpTimerDpcRoutine(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)Dpc;
    PEXP_TIMER timer = DeferredContext;
    BOOLEAN drop = FALSE;
    KeAcquireSpinLockAtDpcLevel(&timer->Lock);
    if (timer->ApcAssociated && ObReferenceObjectSafe(timer)) {
        /* Fails if the previous expiry's APC is still queued (a fast
         * periodic timer) or the thread no longer takes APCs. */
        if (!KeInsertQueueApc(&timer->TimerApc, SystemArgument1, SystemArgument2, 0))
            drop = TRUE;
    }
    KeReleaseSpinLockFromDpcLevel(&timer->Lock);
    if (drop)
        ObDereferenceObject(timer);
}

/* ---- create / open ------------------------------------------------------------------------------ */

static NTSTATUS ExpCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                               TIMER_TYPE TimerType, KPROCESSOR_MODE PreviousMode)
{
    if (TimerHandle == NULL)
        return STATUS_ACCESS_VIOLATION;
    if (TimerType != NotificationTimer && TimerType != SynchronizationTimer)
        return STATUS_INVALID_PARAMETER_4;
    PEXP_TIMER timer;
    NTSTATUS status = ObCreateObject(PreviousMode, ExTimerObjectType, ObjectAttributes, PreviousMode, NULL,
                                     sizeof(EXP_TIMER), 0, 0, (PVOID *)&timer);
    if (!NT_SUCCESS(status))
        return status;
    KeInitializeTimerEx(&timer->KeTimer, TimerType);
    KeInitializeDpc(&timer->TimerDpc, ExpTimerDpcRoutine, timer);
    KeInitializeSpinLock(&timer->Lock);
    return ExpInsertObjectHandle(timer, DesiredAccess, TimerHandle);
}

NTSTATUS NTAPI ZwCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             TIMER_TYPE TimerType)
{
    return ExpCreateTimer(TimerHandle, DesiredAccess, ObjectAttributes, TimerType, KernelMode);
}

NTSTATUS NTAPI NtCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             TIMER_TYPE TimerType)
{
    return ExpCreateTimer(TimerHandle, DesiredAccess, ObjectAttributes, TimerType, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(TimerHandle, DesiredAccess, ObjectAttributes, ExTimerObjectType, KernelMode);
}

NTSTATUS NTAPI NtOpenTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(TimerHandle, DesiredAccess, ObjectAttributes, ExTimerObjectType, ExGetPreviousMode());
}

/* ---- set / cancel ------------------------------------------------------------------------------- */

static NTSTATUS ExpSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PTIMER_APC_ROUTINE TimerApcRoutine,
                            PVOID TimerContext, BOOLEAN ResumeTimer, LONG Period, PBOOLEAN PreviousState,
                            KPROCESSOR_MODE PreviousMode)
{
    if (DueTime == NULL)
        return STATUS_ACCESS_VIOLATION;
    if (Period < 0)
        return STATUS_INVALID_PARAMETER_6;
    /* A user-mode APC would need delivery on a return to user mode. */
    if (TimerApcRoutine != NULL && PreviousMode != KernelMode)
        return STATUS_NOT_SUPPORTED;
    LARGE_INTEGER due = *DueTime;
    PEXP_TIMER timer;
    NTSTATUS status = ObReferenceObjectByHandle(TimerHandle, TIMER_MODIFY_STATE, ExTimerObjectType, PreviousMode,
                                                (PVOID *)&timer, NULL);
    if (!NT_SUCCESS(status))
        return status;

    PKTHREAD self = KeGetCurrentThread();
    PETHREAD thread = NULL;
    if (TimerApcRoutine != NULL && PsIsExecutiveThread(self)) {
        thread = PsGetCurrentThread();
        ObReferenceObject(thread);
    }
    EXP_TIMER_DROPS drops = {NULL, FALSE};
    KIRQL irql;
    KeAcquireSpinLock(&timer->Lock, &irql);
    BOOLEAN previous = ExpReadTimerState(timer);
    /* Stop the old setting before its DPC or APC can act on the new one. */
    KeCancelTimer(&timer->KeTimer);
    KeRemoveQueueDpc(&timer->TimerDpc);
    ExpDisassociateApc(timer, &drops);
    PKDPC dpc = NULL;
    if (TimerApcRoutine != NULL) {
        KeInitializeApc(&timer->TimerApc, self, CurrentApcEnvironment, ExpTimerApcKernelRoutine,
                        ExpTimerApcRundownRoutine, ExpTimerApcNormalRoutine, KernelMode,
                        (PVOID)(ULONG_PTR)timer->ApcGeneration);
        timer->ApcRoutine = TimerApcRoutine;
        timer->ApcContext = TimerContext;
        timer->ApcThread = thread;
        timer->ApcAssociated = TRUE;
        timer->ArmedDpc = TRUE;
        dpc = &timer->TimerDpc;
    }
    timer->Active = TRUE;
    KeSetTimerEx(&timer->KeTimer, due, Period, dpc);
    KeReleaseSpinLock(&timer->Lock, irql);
    ExpApplyDrops(timer, &drops);
    ObDereferenceObject(timer);
    if (PreviousState != NULL)
        *PreviousState = previous;
    /* The timer is set; only the wake-from-sleep part is not available. */
    return ResumeTimer ? STATUS_TIMER_RESUME_IGNORED : STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PTIMER_APC_ROUTINE TimerApcRoutine,
                          PVOID TimerContext, BOOLEAN ResumeTimer, LONG Period, PBOOLEAN PreviousState)
{
    return ExpSetTimer(TimerHandle, DueTime, TimerApcRoutine, TimerContext, ResumeTimer, Period, PreviousState,
                       KernelMode);
}

NTSTATUS NTAPI NtSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PTIMER_APC_ROUTINE TimerApcRoutine,
                          PVOID TimerContext, BOOLEAN ResumeTimer, LONG Period, PBOOLEAN PreviousState)
{
    return ExpSetTimer(TimerHandle, DueTime, TimerApcRoutine, TimerContext, ResumeTimer, Period, PreviousState,
                       ExGetPreviousMode());
}

static NTSTATUS ExpCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState, KPROCESSOR_MODE PreviousMode)
{
    PEXP_TIMER timer;
    NTSTATUS status = ObReferenceObjectByHandle(TimerHandle, TIMER_MODIFY_STATE, ExTimerObjectType, PreviousMode,
                                                (PVOID *)&timer, NULL);
    if (!NT_SUCCESS(status))
        return status;
    EXP_TIMER_DROPS drops = {NULL, FALSE};
    KIRQL irql;
    KeAcquireSpinLock(&timer->Lock, &irql);
    KeCancelTimer(&timer->KeTimer);
    KeRemoveQueueDpc(&timer->TimerDpc);
    ExpDisassociateApc(timer, &drops);
    timer->Active = FALSE;
    BOOLEAN state = ExpReadTimerState(timer);
    KeReleaseSpinLock(&timer->Lock, irql);
    ExpApplyDrops(timer, &drops);
    ObDereferenceObject(timer);
    if (CurrentState != NULL)
        *CurrentState = state;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState)
{
    return ExpCancelTimer(TimerHandle, CurrentState, KernelMode);
}

NTSTATUS NTAPI NtCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState)
{
    return ExpCancelTimer(TimerHandle, CurrentState, ExGetPreviousMode());
}

/* ---- query ---------------------------------------------------------------------------------- */

static NTSTATUS ExpQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS InformationClass, PVOID Information,
                              ULONG Length, PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (InformationClass != TimerBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (Length != sizeof(TIMER_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (Information == NULL)
        return STATUS_ACCESS_VIOLATION;
    PEXP_TIMER timer;
    NTSTATUS status = ObReferenceObjectByHandle(TimerHandle, TIMER_QUERY_STATE, ExTimerObjectType, PreviousMode,
                                                (PVOID *)&timer, NULL);
    if (!NT_SUCCESS(status))
        return status;
    KIRQL irql;
    KeAcquireSpinLock(&timer->Lock, &irql);
    BOOLEAN active = timer->Active;
    KIRQL dispatcher = KiAcquireDispatcherLock();
    ULONGLONG due = timer->KeTimer.DueTime.QuadPart;
    BOOLEAN signaled = timer->KeTimer.Header.SignalState != 0;
    KiReleaseDispatcherLock(dispatcher);
    KeReleaseSpinLock(&timer->Lock, irql);
    ObDereferenceObject(timer);

    TIMER_BASIC_INFORMATION info;
    /* The same clock Ke compares due times with (not the tick-granular one). */
    ULONGLONG now = KeQueryInterruptTimePrecise(NULL);
    info.RemainingTime.QuadPart = (active && due > now) ? (LONGLONG)(due - now) : 0;
    info.TimerState = signaled;
    *(PTIMER_BASIC_INFORMATION)Information = info;
    if (ReturnLength != NULL)
        *ReturnLength = sizeof(TIMER_BASIC_INFORMATION);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS TimerInformationClass, PVOID TimerInformation,
                            ULONG TimerInformationLength, PULONG ReturnLength)
{
    return ExpQueryTimer(TimerHandle, TimerInformationClass, TimerInformation, TimerInformationLength, ReturnLength,
                         KernelMode);
}

NTSTATUS NTAPI NtQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS TimerInformationClass, PVOID TimerInformation,
                            ULONG TimerInformationLength, PULONG ReturnLength)
{
    return ExpQueryTimer(TimerHandle, TimerInformationClass, TimerInformation, TimerInformationLength, ReturnLength,
                         ExGetPreviousMode());
}
