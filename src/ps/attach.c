/*
 * Process attach: KeStackAttachProcess / KeUnstackDetachProcess and
 * KeAttachProcess / KeDetachProcess.
 *
 * A thread runs "in" a process: KTHREAD.ApcState.Process (what
 * PsGetCurrentProcess returns) starts as the thread's own process. Attaching
 * moves the thread's APC state aside and gives it a fresh one for the target
 * process, so APCs queued for the original environment wait until the thread
 * detaches (NT's OriginalApcEnvironment / AttachedApcEnvironment). ntos has a
 * single address space until user mode exists, so there is no page-table
 * switch yet; the APC-state bookkeeping, nesting rules and bug checks are
 * NT's.
 *
 *  - First attach: ApcState moves to SavedApcState, ApcStateIndex becomes 1
 *    and ApcStatePointer[Original] points at SavedApcState. The caller's
 *    KAPC_STATE gets Process = NULL ("restore from SavedApcState").
 *  - Nested stack attach: the current (attached) ApcState moves to the
 *    caller's KAPC_STATE instead; SavedApcState keeps the original.
 *  - Attaching to the process the thread is already in does nothing; the
 *    caller's KAPC_STATE gets Process = (PKPROCESS)1 so the detach is a no-op.
 *
 * Locking and IRQL: <= APC_LEVEL (the documented limit); the APC state is
 * swapped under the dispatcher lock because KeInsertQueueApc reads
 * ApcStateIndex and ApcStatePointer under it. The target process must stay
 * referenced by the caller while attached.
 */
#include "psp.h"
#include "ke/ki.h"

#define PSP_ATTACH_NOTHING ((PKPROCESS)(ULONG_PTR)1)

/* Moves an APC state with its list heads (a plain copy would leave the first
 * and last APCs pointing at the old heads). */
static VOID KiMoveApcState(PKAPC_STATE Source, PKAPC_STATE Destination)
{
    *Destination = *Source;
    for (int mode = 0; mode < 2; mode++) {
        PLIST_ENTRY src = &Source->ApcListHead[mode], dst = &Destination->ApcListHead[mode];
        if (src->Flink == src) {
            InitializeListHead(dst);
        } else {
            dst->Flink->Blink = dst;
            dst->Blink->Flink = dst;
        }
    }
}

static VOID KiResetApcState(PKAPC_STATE State, PKPROCESS Process)
{
    InitializeListHead(&State->ApcListHead[KernelMode]);
    InitializeListHead(&State->ApcListHead[UserMode]);
    State->Process = Process;
    State->InProgressFlags = FALSE;
    __atomic_store_n(&State->KernelApcPending, FALSE, __ATOMIC_RELAXED);
    State->UserApcPending = FALSE;
}

/* Under the dispatcher lock. SaveArea receives the state the thread leaves. */
static VOID KiAttachProcess(PKTHREAD Thread, PKPROCESS Process, PKAPC_STATE SaveArea)
{
    KiMoveApcState(&Thread->ApcState, SaveArea);
    KiResetApcState(&Thread->ApcState, Process);
    if (SaveArea == &Thread->SavedApcState) {
        Thread->ApcStatePointer[OriginalApcEnvironment] = &Thread->SavedApcState;
        Thread->ApcStatePointer[AttachedApcEnvironment] = &Thread->ApcState;
        Thread->ApcStateIndex = AttachedApcEnvironment;
    }
}

static VOID KiCheckAttachAllowed(PKTHREAD Thread, PKPROCESS Process)
{
    /* A DPC routine borrows whatever thread it interrupted: attaching it
     * would move that thread, which NT forbids with this bug check. */
    if (KeIsExecutingDpc())
        KeBugCheckEx(INVALID_PROCESS_ATTACH_ATTEMPT, (ULONG_PTR)Process, (ULONG_PTR)Thread->ApcState.Process,
                     Thread->ApcStateIndex, 1);
}

VOID NTAPI KeStackAttachProcess(PRKPROCESS Process, PRKAPC_STATE ApcState)
{
    PKTHREAD thread = KeGetCurrentThread();
    KiCheckAttachAllowed(thread, Process);
    if (thread->ApcState.Process == Process) {
        ApcState->Process = PSP_ATTACH_NOTHING;
        return;
    }
    KIRQL old = KiAcquireDispatcherLock();
    if (thread->ApcStateIndex != OriginalApcEnvironment) {
        /* Already attached: the caller's block keeps the attached state. */
        KiAttachProcess(thread, Process, ApcState);
    } else {
        KiAttachProcess(thread, Process, &thread->SavedApcState);
        ApcState->Process = NULL;
    }
    KiReleaseDispatcherLock(old);
}

/* Under the dispatcher lock: NT refuses to detach while an APC of the attached
 * environment is running or queued, because it would then run in the wrong
 * process. */
static VOID KiCheckDetachAllowed(PKTHREAD Thread, KIRQL Old)
{
    if (Thread->ApcState.InProgressFlags || Thread->KernelApcInProgress ||
        !IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode]) ||
        !IsListEmpty(&Thread->ApcState.ApcListHead[UserMode])) {
        KiReleaseDispatcherLock(Old);
        KeBugCheckEx(INVALID_PROCESS_DETACH_ATTEMPT, (ULONG_PTR)Thread->ApcState.Process, Thread->ApcStateIndex,
                     Thread->KernelApcInProgress, 0);
    }
}

VOID NTAPI KeUnstackDetachProcess(PRKAPC_STATE ApcState)
{
    if (ApcState->Process == PSP_ATTACH_NOTHING)
        return;
    PKTHREAD thread = KeGetCurrentThread();
    KIRQL old = KiAcquireDispatcherLock();
    if (thread->ApcStateIndex == OriginalApcEnvironment) {
        /* Unbalanced: nothing to detach from. */
        KiReleaseDispatcherLock(old);
        KeBugCheckEx(INVALID_PROCESS_DETACH_ATTEMPT, (ULONG_PTR)ApcState, (ULONG_PTR)thread->ApcState.Process, 0,
                     1);
    }
    KiCheckDetachAllowed(thread, old);
    if (ApcState->Process != NULL) {
        /* Back to the attachment that was current before the nested one. */
        KiMoveApcState(ApcState, &thread->ApcState);
    } else {
        KiMoveApcState(&thread->SavedApcState, &thread->ApcState);
        KiResetApcState(&thread->SavedApcState, NULL);
        thread->ApcStatePointer[OriginalApcEnvironment] = &thread->ApcState;
        thread->ApcStatePointer[AttachedApcEnvironment] = &thread->SavedApcState;
        thread->ApcStateIndex = OriginalApcEnvironment;
    }
    BOOLEAN pending = !IsListEmpty(&thread->ApcState.ApcListHead[KernelMode]);
    KiReleaseDispatcherLock(old);
    /* APCs that arrived for the original environment while attached can run now. */
    if (pending) {
        __atomic_store_n(&thread->ApcState.KernelApcPending, TRUE, __ATOMIC_RELEASE);
        arch_request_software_interrupt(APC_LEVEL);
    }
}

VOID NTAPI KeAttachProcess(PRKPROCESS Process)
{
    PKTHREAD thread = KeGetCurrentThread();
    KiCheckAttachAllowed(thread, Process);
    if (thread->ApcState.Process == Process)
        return;
    /* KeAttachProcess does not nest: a second attach is a bug. */
    if (thread->ApcStateIndex != OriginalApcEnvironment)
        KeBugCheckEx(INVALID_PROCESS_ATTACH_ATTEMPT, (ULONG_PTR)Process, (ULONG_PTR)thread->ApcState.Process,
                     thread->ApcStateIndex, 0);
    KIRQL old = KiAcquireDispatcherLock();
    KiAttachProcess(thread, Process, &thread->SavedApcState);
    KiReleaseDispatcherLock(old);
}

VOID NTAPI KeDetachProcess(void)
{
    PKTHREAD thread = KeGetCurrentThread();
    if (thread->ApcStateIndex == OriginalApcEnvironment)
        return; /* attach to the own process did nothing; neither does this */
    KAPC_STATE fromSaved;
    fromSaved.Process = NULL;
    KeUnstackDetachProcess(&fromSaved);
}

BOOLEAN NTAPI KeIsAttachedProcess(void)
{
    return KeGetCurrentThread()->ApcStateIndex != OriginalApcEnvironment;
}
