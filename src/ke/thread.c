/*
 * Threads: creation, start, termination, priorities, affinity, alerts; and
 * processor startup with the initial and idle threads.
 *
 * Locking and IRQL rules
 *  - Scheduling state of a thread (State, Priority, Affinity, queues) is
 *    guarded by KiDispatcherLock at SYNCH_LEVEL.
 *  - KeInitializeThread runs at PASSIVE_LEVEL (it allocates a stack);
 *    KeStartThread, the priority and affinity functions at <= DISPATCH_LEVEL;
 *    KeTerminateThread at PASSIVE_LEVEL on the terminating thread itself.
 *  - A new thread first runs in KiThreadStartup holding the dispatcher lock
 *    handed over by the switch that started it; it releases the lock and
 *    drops to PASSIVE_LEVEL before calling its start routine.
 *  - A terminated thread's stack is freed by KeDeleteThread, which takes the
 *    dispatcher lock first: the terminating thread held it across its final
 *    switch, so once the lock is free the stack is no longer in use.
 */
#include "ki.h"
#include <ntos/kuser.h>
#include <ntos/mm.h>
#include <ntos/ex_pool.h>

VOID KiSetPriority(PKTHREAD Thread, LONG Priority);
VOID KiClockTickThread(PKPRCB Prcb);
ULONG KiDefaultQuantum(void);

static KTHREAD KiInitialThread;
static KTHREAD KiIdleThreads[ARCH_MAX_CPUS];

/* Kernel stacks are 24 KB on x64 Windows; the sanitizers' instrumentation
 * needs several times that, so the host builds get more. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KI_STACK_SIZE (256 * 1024)
#endif
#endif
#ifndef KI_STACK_SIZE
#define KI_STACK_SIZE (24 * 1024)
#endif

static KAFFINITY KiActiveProcessorMask(void)
{
    ULONG n = arch_processor_count();
    return n >= 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << n) - 1);
}

VOID KeInitializeProcess(PKPROCESS Process, KPRIORITY BasePriority, KAFFINITY Affinity)
{
    RtlZeroMemory(Process, sizeof(*Process));
    Process->Header.Type = ProcessObject;
    Process->Header.Size = sizeof(KPROCESS) / sizeof(LONG);
    InitializeListHead(&Process->Header.WaitListHead);
    InitializeListHead(&Process->ThreadListHead);
    Process->BasePriority = BasePriority;
    Process->Affinity = Affinity;
}

static void KiInitializeThreadObject(PKTHREAD Thread, PKPROCESS Process, KPRIORITY Priority)
{
    RtlZeroMemory(Thread, sizeof(*Thread));
    Thread->Header.Type = ThreadObject;
    Thread->Header.Size = (UCHAR)(sizeof(KTHREAD) / sizeof(LONG) > 0xFF ? 0xFF : sizeof(KTHREAD) / sizeof(LONG));
    InitializeListHead(&Thread->Header.WaitListHead);
    Thread->Process = Process;
    __atomic_store_n(&Thread->Priority, (CHAR)Priority, __ATOMIC_RELAXED);
    __atomic_store_n(&Thread->BasePriority, (CHAR)Priority, __ATOMIC_RELAXED);
    Thread->QuantumReset = (CHAR)KiDefaultQuantum();
    Thread->Quantum = Thread->QuantumReset;
    Thread->Affinity = Process->Affinity;
    Thread->UserAffinity = Process->Affinity;
    Thread->IdealProcessor = 0;
    Thread->SystemThread = TRUE;
    InitializeListHead(&Thread->MutantListHead);
    InitializeListHead(&Thread->ReadyListEntry);
    KeInitializeTimerEx(&Thread->Timer, NotificationTimer);
    KiInitializeThreadApcState(Thread);
    __atomic_store_n(&Thread->State, Initialized, __ATOMIC_RELAXED);
}

static void KiThreadStartup(PVOID Argument)
{
    PKTHREAD thread = Argument;
    /* Switched to with the dispatcher lock held at SYNCH_LEVEL. */
    KiReleaseSpinLockRaw(&KiDispatcherLock);
    arch_set_irql(PASSIVE_LEVEL);
    thread->StartRoutine(thread->StartContext);
    /* A system thread's start routine may return: that terminates it. */
    KeTerminateThread(STATUS_SUCCESS);
}

NTSTATUS KeInitializeThread(PKTHREAD Thread, PKPROCESS Process, SIZE_T StackSize,
                            PKSTART_ROUTINE StartRoutine, PVOID StartContext, KPRIORITY Priority)
{
    if (Thread == NULL || StartRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    if (Priority <= LOW_PRIORITY || Priority > HIGH_PRIORITY)
        return STATUS_INVALID_PARAMETER_4;
    KiInitializeThreadObject(Thread, Process ? Process : &KiSystemProcess, Priority);
    Thread->StartRoutine = StartRoutine;
    Thread->StartContext = StartContext;
    if (StackSize < KI_STACK_SIZE)
        StackSize = KI_STACK_SIZE;
    NTSTATUS status = arch_context_create(&Thread->Context, StackSize, KiThreadStartup, Thread);
    if (!NT_SUCCESS(status))
        return status;
    Thread->StackOwned = TRUE;
    arch_context_stack(&Thread->Context, &Thread->StackLimit, &Thread->StackBase);
    return STATUS_SUCCESS;
}

VOID KeStartThread(PKTHREAD Thread)
{
    KIRQL old = KiAcquireDispatcherLock();
    InsertTailList(&Thread->Process->ThreadListHead, &Thread->ThreadListEntry);
    Thread->Process->ThreadCount++;
    Thread->NextProcessor = (UCHAR)KeGetCurrentProcessorIndex();
    KiReadyThread(Thread);
    KiReleaseDispatcherLock(old);
}

VOID KeTerminateThread(NTSTATUS ExitStatus)
{
    PKTHREAD thread = KeGetCurrentThread();
    /* Kernel APCs still queued here would never run: a thread must not exit
     * inside a critical or guarded region (NT's documented bug check). */
    if (thread->KernelApcDisable != 0 || thread->SpecialApcDisable != 0)
        KeBugCheckEx(KERNEL_APC_PENDING_DURING_EXIT, 0, (ULONG_PTR)(LONG_PTR)thread->KernelApcDisable,
                     arch_get_irql(), (ULONG_PTR)thread);
    KIRQL old = KiAcquireDispatcherLock();
    thread->WaitIrql = old;
    thread->ExitStatus = ExitStatus;
    KiRundownApcs(thread);
    thread->Terminating = TRUE;
    KiAbandonMutants(thread);
    RemoveEntryList(&thread->ThreadListEntry);
    thread->Process->ThreadCount--;
    thread->Header.SignalState = 1;
    KiWaitTest(&thread->Header, 0);
    __atomic_store_n(&thread->State, Terminated, __ATOMIC_RELAXED);
    KiSwapThread(thread);
    /* A terminated thread is never selected again. */
    KeBugCheckEx(KERNEL_APC_PENDING_DURING_EXIT, (ULONG_PTR)thread, 0, 0, 0);
}

NTSTATUS KeDeleteThread(PKTHREAD Thread)
{
    KIRQL old = KiAcquireDispatcherLock();
    UCHAR state = Thread->State;
    KiReleaseDispatcherLock(old);
    if (state != Terminated && state != Initialized)
        return STATUS_INVALID_DEVICE_STATE;
    if (Thread->StackOwned) {
        arch_context_destroy(&Thread->Context);
        Thread->StackOwned = FALSE;
    }
    return STATUS_SUCCESS;
}

BOOLEAN NTAPI KeReadStateThread(PKTHREAD Thread)
{
    return Thread->Header.SignalState != 0;
}

/* ---- priorities ---------------------------------------------------------------- */

KPRIORITY NTAPI KeQueryPriorityThread(PKTHREAD Thread)
{
    return Thread->Priority;
}

KPRIORITY NTAPI KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    /* LOW_PRIORITY (0) is reserved for the zero-page thread; the documented
     * range for callers is 1..HIGH_PRIORITY, and NT only asserts it, so an
     * out-of-range value is brought into range rather than corrupting the
     * ready queues. */
    if (Priority <= LOW_PRIORITY)
        Priority = LOW_PRIORITY + 1;
    if (Priority > HIGH_PRIORITY)
        Priority = HIGH_PRIORITY;
    KIRQL old = KiAcquireDispatcherLock();
    KPRIORITY previous = Thread->Priority;
    __atomic_store_n(&Thread->BasePriority, (CHAR)Priority, __ATOMIC_RELAXED);
    Thread->PriorityDecrement = 0;
    Thread->Quantum = Thread->QuantumReset;
    KiSetPriority(Thread, Priority);
    KiReleaseDispatcherLock(old);
    return previous;
}

/*
 * Sets the base priority relative to the process's: Increment is added to
 * the process base priority; the result stays within the thread's class
 * (variable 1..15 or real-time 16..31). An increment of +/-16 saturates to
 * the top or bottom of the class. Returns the previous increment.
 */
LONG NTAPI KeSetBasePriorityThread(PKTHREAD Thread, LONG Increment)
{
    KIRQL old = KiAcquireDispatcherLock();
    LONG processBase = Thread->Process->BasePriority;
    LONG previous = Thread->BasePriority - processBase;
    LONG low = processBase >= LOW_REALTIME_PRIORITY ? LOW_REALTIME_PRIORITY : 1;
    LONG high = processBase >= LOW_REALTIME_PRIORITY ? HIGH_PRIORITY : LOW_REALTIME_PRIORITY - 1;
    LONG base;
    if (Increment >= 16)
        base = high;
    else if (Increment <= -16)
        base = low;
    else
        base = processBase + Increment;
    if (base < low)
        base = low;
    if (base > high)
        base = high;
    LONG current = Thread->Priority;
    __atomic_store_n(&Thread->BasePriority, (CHAR)base, __ATOMIC_RELAXED);
    /* A boosted variable thread keeps its boost above the new base. */
    LONG priority = base;
    if (base < LOW_REALTIME_PRIORITY && current > base && Thread->PriorityDecrement > 0) {
        priority = base + Thread->PriorityDecrement;
        if (priority >= LOW_REALTIME_PRIORITY)
            priority = LOW_REALTIME_PRIORITY - 1;
        Thread->PriorityDecrement = (CHAR)(priority - base);
    } else {
        Thread->PriorityDecrement = 0;
    }
    KiSetPriority(Thread, priority);
    KiReleaseDispatcherLock(old);
    return previous;
}

/* ---- affinity -------------------------------------------------------------------- */

/* Moves the current thread onto a processor its (new) affinity allows. */
static void KiMoveIfDisallowed(PKTHREAD Thread, KIRQL OldIrql)
{
    if (Thread->Affinity & ((KAFFINITY)1 << KeGetCurrentProcessorIndex())) {
        KiReleaseDispatcherLock(OldIrql);
        return;
    }
    Thread->WaitIrql = OldIrql;
    Thread->WaitStatus = STATUS_SUCCESS;
    Thread->Preempted = TRUE;
    /* KiReadyThread may hand the thread to another processor right away; that
     * processor cannot resume it before this one has switched away, because
     * resuming needs the dispatcher lock, held until the switch is done. */
    KiReadyThread(Thread);
    KiSwapThread(Thread);
}

static void KiSetAffinity(KAFFINITY Affinity)
{
    PKTHREAD thread = KeGetCurrentThread();
    KAFFINITY allowed = Affinity & KiActiveProcessorMask();
    if (allowed == 0)
        KeBugCheckEx(INVALID_AFFINITY_SET, Affinity, KiActiveProcessorMask(), 0, 0);
    KIRQL old = KiAcquireDispatcherLock();
    __atomic_store_n(&thread->Affinity, allowed, __ATOMIC_RELAXED);
    KiMoveIfDisallowed(thread, old);
}

KAFFINITY NTAPI KeSetSystemAffinityThreadEx(KAFFINITY Affinity)
{
    PKTHREAD thread = KeGetCurrentThread();
    KAFFINITY previous = thread->SystemAffinityActive ? thread->Affinity : 0;
    if (!thread->SystemAffinityActive)
        thread->UserAffinity = thread->Affinity;
    thread->SystemAffinityActive = TRUE;
    KiSetAffinity(Affinity);
    return previous;
}

VOID NTAPI KeSetSystemAffinityThread(KAFFINITY Affinity)
{
    KeSetSystemAffinityThreadEx(Affinity);
}

VOID NTAPI KeRevertToUserAffinityThreadEx(KAFFINITY Affinity)
{
    PKTHREAD thread = KeGetCurrentThread();
    if (Affinity != 0) {
        KiSetAffinity(Affinity);
        return;
    }
    thread->SystemAffinityActive = FALSE;
    KiSetAffinity(thread->UserAffinity);
}

VOID NTAPI KeRevertToUserAffinityThread(void)
{
    KeRevertToUserAffinityThreadEx(0);
}

KAFFINITY NTAPI KeQueryActiveProcessors(void)
{
    return KiActiveProcessorMask();
}

ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    if (ActiveProcessors != NULL)
        *ActiveProcessors = KiActiveProcessorMask();
    return arch_processor_count();
}

/* ---- alerts --------------------------------------------------------------------------- */

BOOLEAN NTAPI KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode)
{
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN previous = Thread->Alerted[(int)AlertMode];
    if (!previous) {
        if (Thread->State == Waiting && Thread->Alertable &&
            (AlertMode == KernelMode || Thread->WaitMode == UserMode))
            KiUnwaitThread(Thread, STATUS_ALERTED, 0);
        else
            Thread->Alerted[(int)AlertMode] = TRUE;
    }
    KiReleaseDispatcherLock(old);
    return previous;
}

BOOLEAN NTAPI KeTestAlertThread(KPROCESSOR_MODE AlertMode)
{
    PKTHREAD thread = KeGetCurrentThread();
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN alerted = thread->Alerted[(int)AlertMode];
    thread->Alerted[(int)AlertMode] = FALSE;
    if (!alerted && AlertMode == UserMode && !IsListEmpty(&thread->ApcState.ApcListHead[1]))
        thread->ApcState.UserApcPending = TRUE;
    KiReleaseDispatcherLock(old);
    return alerted;
}

/* ---- processor startup and idle ------------------------------------------------------- */

VOID KiIdleLoop(void)
{
    arch_set_irql(PASSIVE_LEVEL);
    for (;;) {
        arch_disable_interrupts();
        PKPRCB prcb = KeGetCurrentPrcb();
        PKI_PROCESSOR p = KiProcessor(prcb);
        /* Lock-free hints; KiDispatchInterrupt decides under the lock. */
        if (__atomic_load_n(&prcb->NextThread, __ATOMIC_RELAXED) != NULL || KiAnyReadyThread() ||
            __atomic_load_n(&p->DpcQueueDepth, __ATOMIC_RELAXED) != 0) {
            arch_enable_interrupts();
            p->IdleSchedule = TRUE;
            arch_request_software_interrupt(DISPATCH_LEVEL);
            continue;
        }
        arch_idle();
    }
}

static void KiIdleThreadStartup(PVOID Argument)
{
    (void)Argument;
    KiReleaseSpinLockRaw(&KiDispatcherLock);
    KiIdleLoop();
}

void KiProcessorStartup(ULONG Number)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    KiInitializeScheduler(Number);
    KiInitializeDpcProcessor(Number);
    if (Number == 0) {
        KiInitializeUserSharedData();
        KiInitializeTimers();
        MmInitSystem();
        /* From here on Rtl allocations (and everything else) use the pool. */
        ExInitializePool();
        KeInitializeProcess(&KiSystemProcess, 8, KiActiveProcessorMask());
        KiInitializeThreadObject(&KiInitialThread, &KiSystemProcess, 8);
        arch_context_init_current(&KiInitialThread.Context);
        arch_context_stack(&KiInitialThread.Context, &KiInitialThread.StackLimit, &KiInitialThread.StackBase);
        KiInitialThread.State = Running;
        KiInitialThread.NextProcessor = 0;
        /* The boot thread stays on processor 0 unless it asks otherwise: on
         * the host it runs the test harness, whose C-library thread-local
         * state belongs to processor 0's host thread. */
        KiInitialThread.Affinity = KiInitialThread.UserAffinity = 1;
        InsertTailList(&KiSystemProcess.ThreadListHead, &KiInitialThread.ThreadListEntry);
        KiSystemProcess.ThreadCount++;
        prcb->CurrentThread = &KiInitialThread;
    }
    PKTHREAD idle = &KiIdleThreads[Number];
    KiInitializeThreadObject(idle, &KiSystemProcess, LOW_PRIORITY);
    idle->Affinity = idle->UserAffinity = (KAFFINITY)1 << Number;
    idle->NextProcessor = (UCHAR)Number;
    __atomic_store_n(&idle->State, Running, __ATOMIC_RELAXED);
    prcb->IdleThread = idle;
    if (Number == 0) {
        /* The boot thread carries on as the initial system thread; the idle
         * thread of processor 0 gets a stack of its own. */
        if (!NT_SUCCESS(arch_context_create(&idle->Context, KI_STACK_SIZE, KiIdleThreadStartup, idle)))
            KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 1, 0, 0, 0);
        idle->StackOwned = TRUE;
        __atomic_store_n(&idle->State, Ready, __ATOMIC_RELAXED);
    } else {
        arch_context_init_current(&idle->Context);
        prcb->CurrentThread = idle;
    }
    arch_clock_set_periodic(KeMaximumIncrement);
    arch_processor_ready();
    if (Number != 0)
        KiIdleLoop();
}
