/*
 * Asynchronous procedure calls.
 *
 * Locking and IRQL rules
 *  - A thread's APC queues and pending flags are guarded by KiDispatcherLock
 *    (SYNCH_LEVEL), because inserting an APC may end the target's wait.
 *  - KeInsertQueueApc/KeRemoveQueueApc run at <= DISPATCH_LEVEL.
 *  - Kernel APCs are delivered by the APC_LEVEL software interrupt on the
 *    target's own processor (KiDeliverApc): special kernel APCs (no normal
 *    routine) unless the thread is in a guarded region; normal kernel APCs
 *    unless it is in a critical or guarded region or already running one,
 *    with the normal routine called at PASSIVE_LEVEL.
 *  - A waiting thread at PASSIVE_LEVEL that may receive the APC has its wait
 *    ended with STATUS_KERNEL_APC; the wait functions deliver it and wait again.
 *  - User APCs end an alertable user-mode wait with STATUS_USER_APC; they run
 *    on the return to user mode, which system threads never make, so for them
 *    a user APC only stays queued until the thread exits (then its rundown
 *    routine runs), as on NT.
 *  - The one unlocked read: a thread leaving a region peeks at its own kernel
 *    APC queue head (KiKernelApcQueuedUnlocked, ki.h, says why that is safe).
 *    So queueing, removing and delivering link and unlink APCs with atomic
 *    stores to Flink (KiApcLinkBefore, KiApcUnlink): KeInsertQueueApc and
 *    KeRemoveQueueApc may run on another processor while the owner peeks.
 *    The thread's own stores (delivery, process attach) cannot race with it.
 */
#include "ki.h"

VOID KiInitializeThreadApcState(PKTHREAD Thread)
{
    InitializeListHead(&Thread->ApcState.ApcListHead[KernelMode]);
    InitializeListHead(&Thread->ApcState.ApcListHead[UserMode]);
    InitializeListHead(&Thread->SavedApcState.ApcListHead[KernelMode]);
    InitializeListHead(&Thread->SavedApcState.ApcListHead[UserMode]);
    Thread->ApcState.Process = Thread->Process;
    Thread->ApcStatePointer[0] = &Thread->ApcState;
    Thread->ApcStatePointer[1] = &Thread->SavedApcState;
    Thread->ApcStateIndex = 0;
    Thread->ApcQueueable = TRUE;
}

VOID NTAPI KeInitializeApc(PRKAPC Apc, PRKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                           PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                           PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode, PVOID NormalContext)
{
    Apc->Type = ApcObject;
    Apc->SpareByte0 = 0;
    Apc->Size = sizeof(KAPC);
    Apc->SpareByte1 = 0;
    Apc->SpareLong0 = 0;
    Apc->Thread = Thread;
    Apc->ApcStateIndex = (CCHAR)(Environment == CurrentApcEnvironment ? Thread->ApcStateIndex : Environment);
    Apc->KernelRoutine = KernelRoutine;
    Apc->RundownRoutine = RundownRoutine;
    Apc->NormalRoutine = NormalRoutine;
    if (NormalRoutine != NULL) {
        Apc->ApcMode = ApcMode;
        Apc->NormalContext = NormalContext;
    } else {
        /* A special kernel APC: kernel mode, no normal context. */
        Apc->ApcMode = KernelMode;
        Apc->NormalContext = NULL;
    }
    Apc->Inserted = FALSE;
}

static BOOLEAN KiIsSpecialApc(PKAPC Apc)
{
    return Apc->NormalRoutine == NULL;
}

/* InsertTailList(Next, Entry) and RemoveEntryList(Entry), with the same
 * integrity checks, but storing Flink atomically: the owning thread may be
 * reading its queue head's Flink without the lock (see the top of the file).
 * Dispatcher lock held. */
static void KiApcLinkBefore(PLIST_ENTRY Next, PLIST_ENTRY Entry)
{
    PLIST_ENTRY prev = Next->Blink;
    if (prev->Flink != Next)
        RtlpFatalListEntryError(Next, prev, prev->Flink);
    Entry->Flink = Next;
    Entry->Blink = prev;
    __atomic_store_n(&prev->Flink, Entry, __ATOMIC_RELAXED);
    Next->Blink = Entry;
}

/* TRUE when the list is empty afterwards. */
static BOOLEAN KiApcUnlink(PLIST_ENTRY Entry)
{
    PLIST_ENTRY next = Entry->Flink;
    PLIST_ENTRY prev = Entry->Blink;
    if (next->Blink != Entry || prev->Flink != Entry)
        RtlpFatalListEntryError(Entry, next, prev);
    __atomic_store_n(&prev->Flink, next, __ATOMIC_RELAXED);
    next->Blink = prev;
    return next == prev;
}

static void KiRequestApcDelivery(PKTHREAD Thread)
{
    if (Thread == KeGetCurrentThread()) {
        arch_request_software_interrupt(APC_LEVEL);
    } else if (Thread->State == Running) {
        arch_send_ipi((KAFFINITY)1 << Thread->NextProcessor, ARCH_IPI_APC);
    }
}

BOOLEAN NTAPI KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2, KPRIORITY Increment)
{
    arch_sched_point(ARCH_SP_APC_INSERT, Apc);
    PKTHREAD t = Apc->Thread;
    KIRQL old = KiAcquireDispatcherLock();
    if (!t->ApcQueueable || Apc->Inserted) {
        KiReleaseDispatcherLock(old);
        return FALSE;
    }
    if (Apc->ApcStateIndex == InsertApcEnvironment)
        Apc->ApcStateIndex = (CCHAR)t->ApcStateIndex;
    Apc->SystemArgument1 = SystemArgument1;
    Apc->SystemArgument2 = SystemArgument2;
    PKAPC_STATE state = t->ApcStatePointer[(int)Apc->ApcStateIndex];
    PLIST_ENTRY head = &state->ApcListHead[(int)Apc->ApcMode];
    if (KiIsSpecialApc(Apc)) {
        /* Special APCs run before normal ones, in the order queued. */
        PLIST_ENTRY e = head->Flink;
        while (e != head && KiIsSpecialApc(CONTAINING_RECORD(e, KAPC, ApcListEntry)))
            e = e->Flink;
        KiApcLinkBefore(e, &Apc->ApcListEntry);
    } else {
        KiApcLinkBefore(head, &Apc->ApcListEntry);
    }
    Apc->Inserted = TRUE;

    /* Only the APC state the thread runs in now can be delivered now. */
    if (Apc->ApcStateIndex == t->ApcStateIndex) {
        if (Apc->ApcMode == KernelMode) {
            __atomic_store_n(&t->ApcState.KernelApcPending, TRUE, __ATOMIC_RELEASE);
            if (t->State == Waiting) {
                BOOLEAN deliverable = t->WaitIrql == PASSIVE_LEVEL && t->SpecialApcDisable == 0 &&
                                      (KiIsSpecialApc(Apc) || (t->KernelApcDisable == 0 && !t->KernelApcInProgress));
                if (deliverable)
                    KiUnwaitThread(t, STATUS_KERNEL_APC, Increment);
            } else {
                KiRequestApcDelivery(t);
            }
        } else if (t->State == Waiting && t->Alertable && t->WaitMode == UserMode) {
            t->ApcState.UserApcPending = TRUE;
            KiUnwaitThread(t, STATUS_USER_APC, Increment);
        }
    }
    KiReleaseDispatcherLock(old);
    return TRUE;
}

BOOLEAN NTAPI KeRemoveQueueApc(PKAPC Apc)
{
    arch_sched_point(ARCH_SP_APC_REMOVE, Apc);
    PKTHREAD t = Apc->Thread;
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN removed = Apc->Inserted;
    if (removed) {
        Apc->Inserted = FALSE;
        PKAPC_STATE state = t->ApcStatePointer[(int)Apc->ApcStateIndex];
        if (KiApcUnlink(&Apc->ApcListEntry)) {
            if (Apc->ApcMode == KernelMode)
                __atomic_store_n(&state->KernelApcPending, FALSE, __ATOMIC_RELEASE);
            else
                state->UserApcPending = FALSE;
        }
    }
    KiReleaseDispatcherLock(old);
    return removed;
}

VOID KiDeliverApc(KPROCESSOR_MODE Mode)
{
    (void)Mode;
    PKTHREAD t = KeGetCurrentThread();
    if (t == NULL)
        return;
    for (;;) {
        arch_sched_point(ARCH_SP_APC_REMOVE, t);
        KIRQL old = KiAcquireDispatcherLock();
        PLIST_ENTRY head = &t->ApcState.ApcListHead[KernelMode];
        __atomic_store_n(&t->ApcState.KernelApcPending, FALSE, __ATOMIC_RELEASE);
        if (IsListEmpty(head) || t->SpecialApcDisable != 0) {
            KiReleaseDispatcherLock(old);
            return;
        }
        PKAPC apc = CONTAINING_RECORD(head->Flink, KAPC, ApcListEntry);
        BOOLEAN special = KiIsSpecialApc(apc);
        if (!special && (t->KernelApcDisable != 0 || t->KernelApcInProgress)) {
            /* Normal APCs wait for the region to end (KeLeaveCriticalRegion
             * re-requests delivery). */
            KiReleaseDispatcherLock(old);
            return;
        }
        KiApcUnlink(&apc->ApcListEntry);
        apc->Inserted = FALSE;
        PKKERNEL_ROUTINE kernelRoutine = apc->KernelRoutine;
        PKNORMAL_ROUTINE normalRoutine = apc->NormalRoutine;
        PVOID context = apc->NormalContext;
        PVOID a1 = apc->SystemArgument1, a2 = apc->SystemArgument2;
        KiReleaseDispatcherLock(old);

        /* The kernel routine runs at APC_LEVEL and may free the APC or
         * change what the normal routine gets. */
        kernelRoutine(apc, &normalRoutine, &context, &a1, &a2);
        if (!special && normalRoutine != NULL) {
            t->KernelApcInProgress = TRUE;
            arch_set_irql(PASSIVE_LEVEL);
            normalRoutine(context, a1, a2);
            arch_set_irql(APC_LEVEL);
            t->KernelApcInProgress = FALSE;
        }
    }
}

VOID KiRundownApcs(PKTHREAD Thread)
{
    Thread->ApcQueueable = FALSE;
    PLIST_ENTRY head = &Thread->ApcState.ApcListHead[UserMode];
    while (!IsListEmpty(head)) {
        PKAPC apc = CONTAINING_RECORD(RemoveHeadList(head), KAPC, ApcListEntry);
        apc->Inserted = FALSE;
        if (apc->RundownRoutine != NULL)
            apc->RundownRoutine(apc);
    }
    Thread->ApcState.UserApcPending = FALSE;
}

/* ---- regions ------------------------------------------------------------------------- */

/* ms_abi and out of line: KeLeaveCriticalRegion/KeLeaveGuardedRegion are on
 * every handle lookup, and an ms_abi function that calls a SysV one must
 * save and restore xmm6-15 around it on every call, taken or not. The peek
 * is without the lock; KiKernelApcQueuedUnlocked (ki.h) says why it loses
 * nothing. */
__attribute__((noinline)) VOID NTAPI KiCheckForKernelApcDelivery(PKTHREAD t)
{
    if (t->KernelApcDisable == 0 && t->SpecialApcDisable == 0 && KiKernelApcQueuedUnlocked(t)) {
        __atomic_store_n(&t->ApcState.KernelApcPending, TRUE, __ATOMIC_RELEASE);
        arch_request_software_interrupt(APC_LEVEL);
    }
}

VOID NTAPI KeEnterCriticalRegion(void)
{
    KeGetCurrentThread()->KernelApcDisable--;
}

VOID NTAPI KeLeaveCriticalRegion(void)
{
    PKTHREAD t = KeGetCurrentThread();
    if (++t->KernelApcDisable == 0)
        KiCheckForKernelApcDelivery(t);
}

VOID NTAPI KeEnterGuardedRegion(void)
{
    KeGetCurrentThread()->SpecialApcDisable--;
}

VOID NTAPI KeLeaveGuardedRegion(void)
{
    PKTHREAD t = KeGetCurrentThread();
    if (++t->SpecialApcDisable == 0)
        KiCheckForKernelApcDelivery(t);
}

BOOLEAN NTAPI KeAreApcsDisabled(void)
{
    PKTHREAD t = KeGetCurrentThread();
    return t->KernelApcDisable != 0 || t->SpecialApcDisable != 0;
}

BOOLEAN NTAPI KeAreAllApcsDisabled(void)
{
    PKTHREAD t = KeGetCurrentThread();
    return t->SpecialApcDisable != 0 || arch_get_irql() >= APC_LEVEL;
}
