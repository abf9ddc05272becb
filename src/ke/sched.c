/*
 * The scheduler: ready queues, thread selection, context switching, quantum
 * end and preemption.
 *
 * Locking and IRQL rules
 *  - Everything here runs with KiDispatcherLock held at SYNCH_LEVEL, except
 *    KiDispatchInterrupt (entered at DISPATCH_LEVEL, takes the lock itself)
 *    and the idle loop (PASSIVE_LEVEL, takes nothing).
 *  - A thread that switches away holds the dispatcher lock across
 *    arch_context_switch; whichever thread resumes on that processor releases
 *    it (KiAfterSwitch). So a thread saved on one processor cannot be resumed
 *    on another before its registers are stored: resuming it needs the lock.
 *  - Each processor has 32 ready queues (one per priority) and a summary
 *    bitmap; a ready thread sits in the queues of the processor it last ran
 *    on (NextProcessor) and may be taken by any processor its affinity allows.
 *  - Prcb->NextThread is a thread chosen to preempt that processor (Standby);
 *    the processor switches to it in its next DISPATCH_LEVEL software
 *    interrupt, which the chooser requested (itself or through an IPI).
 */
#include "ki.h"

KSPIN_LOCK KiDispatcherLock;

/* Quantum in clock ticks (1 ms each): long enough that a CPU-bound thread
 * makes progress between switches, short enough that tests of round-robin
 * and preemption finish quickly. */
#define KI_QUANTUM_TICKS 6

KIRQL KiAcquireDispatcherLock(void)
{
    KIRQL old = arch_get_irql();
    if (old < SYNCH_LEVEL)
        arch_set_irql(SYNCH_LEVEL);
    KiAcquireSpinLockRaw(&KiDispatcherLock);
    return old;
}

VOID KiReleaseDispatcherLock(KIRQL OldIrql)
{
    KiReleaseSpinLockRaw(&KiDispatcherLock);
    if (OldIrql < arch_get_irql())
        arch_set_irql(OldIrql);
}

static PKTHREAD KiCurrentThread(void)
{
    return KeGetCurrentThread();
}

static BOOLEAN KiIsIdleThread(PKPRCB Prcb, PKTHREAD Thread)
{
    return Thread == Prcb->IdleThread;
}

/* The priority a newcomer must beat to preempt processor n. */
static LONG KiProcessorPriority(PKPRCB Prcb)
{
    PKTHREAD t = Prcb->NextThread ? Prcb->NextThread : Prcb->CurrentThread;
    if (t == NULL || KiIsIdleThread(Prcb, t))
        return -1;
    return t->Priority;
}

static void KiKickProcessor(ULONG Number)
{
    if (Number == KeGetCurrentProcessorIndex())
        arch_request_software_interrupt(DISPATCH_LEVEL);
    else
        arch_send_ipi((KAFFINITY)1 << Number, ARCH_IPI_RESCHEDULE);
}

static void KiInsertReady(PKPRCB Prcb, PKTHREAD Thread, BOOLEAN Head)
{
    PKI_PROCESSOR p = KiProcessor(Prcb);
    __atomic_store_n(&Thread->State, Ready, __ATOMIC_RELAXED);
    Thread->NextProcessor = (UCHAR)Prcb->Number;
    if (Head)
        InsertHeadList(&p->ReadyListHead[(ULONG)Thread->Priority], &Thread->ReadyListEntry);
    else
        InsertTailList(&p->ReadyListHead[(ULONG)Thread->Priority], &Thread->ReadyListEntry);
    __atomic_fetch_or(&p->ReadySummary, 1u << Thread->Priority, __ATOMIC_RELAXED);
}

static void KiRemoveReady(PKTHREAD Thread)
{
    PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(Thread->NextProcessor));
    if (RemoveEntryList(&Thread->ReadyListEntry))
        __atomic_fetch_and(&p->ReadySummary, ~(1u << Thread->Priority), __ATOMIC_RELAXED);
}

static void KiSetStandby(PKPRCB Prcb, PKTHREAD Thread)
{
    PKTHREAD displaced = Prcb->NextThread;
    __atomic_store_n(&Prcb->NextThread, Thread, __ATOMIC_RELAXED);
    __atomic_store_n(&Thread->State, Standby, __ATOMIC_RELAXED);
    Thread->NextProcessor = (UCHAR)Prcb->Number;
    if (displaced != NULL)
        KiInsertReady(Prcb, displaced, TRUE);
    KiKickProcessor(Prcb->Number);
}

/*
 * Makes Thread runnable: hands it to an idle processor it may run on, or
 * preempts the processor running the lowest-priority thread if Thread beats
 * it, or queues it. Dispatcher lock held.
 *
 * Where NT's rules leave a choice, arch_sched_choice makes it (bare metal: the
 * default, alternative 0; the host's explorer: its decision function), so
 * that nothing here can depend on one particular pick:
 *  - the preferred (last or current) processor gets the thread if it is idle;
 *    otherwise any idle processor may (default: the next one in numbering
 *    order after the preferred one);
 *  - among processors running equally low-priority threads, any may be
 *    preempted (default: the first after the preferred one);
 *  - a thread that preempts nobody may wait in the queue of the preferred
 *    processor or of any processor running a thread of its own priority,
 *    which will take it at the end of that thread's quantum (default: the
 *    preferred one).
 */
VOID KiReadyThread(PKTHREAD Thread)
{
    ULONG count = arch_processor_count();
    KAFFINITY affinity = Thread->Affinity;
    ULONG self = KeGetCurrentProcessorIndex();
    ULONG preferred = Thread->NextProcessor;
    if (preferred >= count || !(affinity & ((KAFFINITY)1 << preferred)))
        preferred = (affinity & ((KAFFINITY)1 << self)) ? self : (ULONG)__builtin_ctzll(affinity);

    /* An idle processor first: the preferred one, then any other. */
    ULONG idle[ARCH_MAX_CPUS], idleCount = 0;
    for (ULONG i = 0; i < count; i++) {
        ULONG n = (preferred + i) % count;
        if (!(affinity & ((KAFFINITY)1 << n)))
            continue;
        PKPRCB prcb = KiProcessorBlock(n);
        if (prcb->NextThread == NULL && KiIsIdleThread(prcb, prcb->CurrentThread)) {
            if (n == preferred) {
                KiSetStandby(prcb, Thread);
                return;
            }
            idle[idleCount++] = n;
        }
    }
    if (idleCount != 0) {
        KiSetStandby(KiProcessorBlock(idle[arch_sched_choice(ARCH_CHOICE_IDLE_PROCESSOR, idleCount)]), Thread);
        return;
    }

    /* Otherwise preempt the processor whose running thread is least important. */
    LONG lowest = MAXIMUM_PRIORITY;
    ULONG tied[ARCH_MAX_CPUS], tiedCount = 0;
    for (ULONG i = 0; i < count; i++) {
        ULONG n = (preferred + i) % count;
        if (!(affinity & ((KAFFINITY)1 << n)))
            continue;
        LONG prio = KiProcessorPriority(KiProcessorBlock(n));
        if (prio < lowest) {
            lowest = prio;
            tiedCount = 0;
        }
        if (prio == lowest)
            tied[tiedCount++] = n;
    }
    if (Thread->Priority > lowest) {
        ULONG victim = tied[arch_sched_choice(ARCH_CHOICE_PREEMPT_VICTIM, tiedCount)];
        KiSetStandby(KiProcessorBlock(victim), Thread);
        return;
    }

    /* Queued: the preferred processor's queue, or that of a processor running
     * a thread of the same priority. */
    ULONG queues[ARCH_MAX_CPUS], queueCount = 0;
    queues[queueCount++] = preferred;
    for (ULONG i = 1; i < count; i++) {
        ULONG n = (preferred + i) % count;
        if ((affinity & ((KAFFINITY)1 << n)) && KiProcessorPriority(KiProcessorBlock(n)) == Thread->Priority)
            queues[queueCount++] = n;
    }
    ULONG target = queues[arch_sched_choice(ARCH_CHOICE_READY_QUEUE, queueCount)];
    KiInsertReady(KiProcessorBlock(target), Thread, Thread->Preempted);
}

static PKTHREAD KiTakeFromQueues(PKPRCB Prcb, KAFFINITY Bit, LONG MinPriority)
{
    PKI_PROCESSOR p = KiProcessor(Prcb);
    ULONG summary = __atomic_load_n(&p->ReadySummary, __ATOMIC_RELAXED);
    while (summary) {
        LONG prio = 31 - __builtin_clz(summary);
        if (prio < MinPriority)
            return NULL;
        PLIST_ENTRY head = &p->ReadyListHead[prio];
        for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
            PKTHREAD t = CONTAINING_RECORD(e, KTHREAD, ReadyListEntry);
            if (t->Affinity & Bit) {
                if (RemoveEntryList(e))
                    __atomic_fetch_and(&p->ReadySummary, ~(1u << prio), __ATOMIC_RELAXED);
                return t;
            }
        }
        summary &= ~(1u << prio);
    }
    return NULL;
}

/*
 * Picks the highest-priority ready thread (at least MinPriority) that may run
 * on processor Number: its own queues first, then the others'. Dispatcher
 * lock held.
 */
PKTHREAD KiSelectThread(ULONG Number, LONG MinPriority)
{
    KAFFINITY bit = (KAFFINITY)1 << Number;
    PKTHREAD best = KiTakeFromQueues(KiProcessorBlock(Number), bit, MinPriority);
    LONG floor = best ? best->Priority + 1 : MinPriority;
    for (ULONG i = 1; i < arch_processor_count(); i++) {
        ULONG n = (Number + i) % arch_processor_count();
        PKTHREAD t = KiTakeFromQueues(KiProcessorBlock(n), bit, floor);
        if (t != NULL) {
            if (best != NULL)
                KiInsertReady(KiProcessorBlock(best->NextProcessor), best, TRUE);
            best = t;
            floor = t->Priority + 1;
        }
    }
    return best;
}

/* Runs on the resumed thread right after arch_context_switch returns. */
static void KiAfterSwitch(PKTHREAD Thread)
{
    KiReleaseSpinLockRaw(&KiDispatcherLock);
    /* The APC interrupt is per processor: one requested for this thread may
     * have been taken (and found nothing) by whichever thread ran here while
     * this one was switched out. Request it again even if this thread resumes
     * at APC_LEVEL: it stays pending until the thread lowers its IRQL. */
    /* Read without the lock just released: an inserter on another
     * processor may set it concurrently (and then requests delivery itself). */
    if (__atomic_load_n(&Thread->ApcState.KernelApcPending, __ATOMIC_ACQUIRE))
        arch_request_software_interrupt(APC_LEVEL);
    arch_set_irql(Thread->WaitIrql);
}

static void KiSwapContext(PKPRCB Prcb, PKTHREAD Old, PKTHREAD New)
{
    __atomic_store_n(&New->State, Running, __ATOMIC_RELAXED);
    New->NextProcessor = (UCHAR)Prcb->Number;
    New->Preempted = FALSE;
    __atomic_store_n(&New->ContextSwitches, New->ContextSwitches + 1, __ATOMIC_RELAXED);
    if (New->Quantum <= 0)
        New->Quantum = New->QuantumReset;
    Prcb->CurrentThread = New;
    arch_context_switch(&Old->Context, &New->Context);
}

LONG_PTR KiSwapThread(PKTHREAD Current)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    if (KiProcessor(prcb)->DpcRoutineActive)
        KeBugCheckEx(ATTEMPTED_SWITCH_FROM_DPC, (ULONG_PTR)Current, 0, 0, 0);
    PKTHREAD next = prcb->NextThread;
    if (next != NULL)
        __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
    else
        next = KiSelectThread(prcb->Number, 0);
    if (next == NULL)
        next = prcb->IdleThread;
    if (next != Current)
        KiSwapContext(prcb, Current, next);
    else
        __atomic_store_n(&Current->State, Running, __ATOMIC_RELAXED);
    KiAfterSwitch(Current);
    return Current->WaitStatus;
}

VOID KiBoostPriority(PKTHREAD Thread, KPRIORITY Increment)
{
    /* Real-time threads are never boosted; variable ones up to 15. */
    if (Thread->Priority >= LOW_REALTIME_PRIORITY || Increment <= 0)
        return;
    LONG boosted = Thread->BasePriority + Increment;
    if (boosted >= LOW_REALTIME_PRIORITY)
        boosted = LOW_REALTIME_PRIORITY - 1;
    if (boosted > Thread->Priority) {
        Thread->PriorityDecrement = (CHAR)(boosted - Thread->BasePriority);
        __atomic_store_n(&Thread->Priority, (CHAR)boosted, __ATOMIC_RELAXED);
        /* A boost comes with a full quantum, so it lasts at least one turn. */
        Thread->Quantum = Thread->QuantumReset;
    }
}

/* Changes a thread's current priority and repositions it. Dispatcher lock held. */
VOID KiSetPriority(PKTHREAD Thread, LONG Priority)
{
    if (Thread->Priority == Priority)
        return;
    switch (Thread->State) {
    case Ready:
        KiRemoveReady(Thread);
        __atomic_store_n(&Thread->Priority, (CHAR)Priority, __ATOMIC_RELAXED);
        KiReadyThread(Thread);
        break;
    case Running: {
        LONG old = Thread->Priority;
        __atomic_store_n(&Thread->Priority, (CHAR)Priority, __ATOMIC_RELAXED);
        if (Priority < old) {
            /* Lowered: a ready thread may now deserve the processor. */
            PKPRCB prcb = KiProcessorBlock(Thread->NextProcessor);
            if (prcb->NextThread == NULL) {
                PKTHREAD t = KiSelectThread(prcb->Number, Priority + 1);
                if (t != NULL)
                    KiSetStandby(prcb, t);
            }
        }
        break;
    }
    case Standby: {
        PKPRCB prcb = KiProcessorBlock(Thread->NextProcessor);
        __atomic_store_n(&Thread->Priority, (CHAR)Priority, __ATOMIC_RELAXED);
        if (prcb->NextThread == Thread) {
            PKTHREAD t = KiSelectThread(prcb->Number, Priority + 1);
            if (t != NULL) {
                __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
                KiReadyThread(Thread);
                KiSetStandby(prcb, t);
            }
        }
        break;
    }
    default:
        __atomic_store_n(&Thread->Priority, (CHAR)Priority, __ATOMIC_RELAXED);
        break;
    }
}

/* A running thread's quantum ended: it gets a new one, and a boost decays by
 * one level per quantum (never below the base: PriorityDecrement counts the
 * levels still above it). Real-time threads are never boosted, so never
 * decay. Dispatcher lock held. */
VOID KiQuantumEndPriority(PKTHREAD Thread)
{
    Thread->Quantum = Thread->QuantumReset;
    if (Thread->PriorityDecrement > 0 && Thread->Priority < LOW_REALTIME_PRIORITY) {
        Thread->PriorityDecrement--;
        __atomic_store_n(&Thread->Priority, (CHAR)(Thread->Priority - 1), __ATOMIC_RELAXED);
    }
}

/*
 * The DISPATCH_LEVEL software interrupt: retire DPCs, then act on quantum end
 * and preemption. Entered at DISPATCH_LEVEL with interrupts enabled.
 */
VOID KiDispatchInterrupt(void)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    PKI_PROCESSOR p = KiProcessor(prcb);
    KiRetireDpcList(p);

    if (!p->QuantumEnd && __atomic_load_n(&prcb->NextThread, __ATOMIC_RELAXED) == NULL && !p->IdleSchedule)
        return;
    KIRQL old = KiAcquireDispatcherLock();
    /* At DISPATCH_LEVEL this thread cannot migrate, but read the block again
     * under the lock so every decision below uses one consistent view. */
    prcb = KeGetCurrentPrcb();
    p = KiProcessor(prcb);
    PKTHREAD current = prcb->CurrentThread;
    p->IdleSchedule = FALSE;

    if (p->QuantumEnd) {
        p->QuantumEnd = FALSE;
        if (!KiIsIdleThread(prcb, current)) {
            KiQuantumEndPriority(current);
            if (prcb->NextThread == NULL) {
                /* Round robin among equals: give way to a ready thread of
                 * the same or higher priority. */
                PKTHREAD t = KiSelectThread(prcb->Number, current->Priority);
                if (t != NULL) {
                    __atomic_store_n(&prcb->NextThread, t, __ATOMIC_RELAXED);
                    __atomic_store_n(&t->State, Standby, __ATOMIC_RELAXED);
                }
            }
        }
    }
    if (KiIsIdleThread(prcb, current) && prcb->NextThread == NULL) {
        PKTHREAD t = KiSelectThread(prcb->Number, 0);
        if (t != NULL) {
            __atomic_store_n(&prcb->NextThread, t, __ATOMIC_RELAXED);
            __atomic_store_n(&t->State, Standby, __ATOMIC_RELAXED);
        }
    }

    PKTHREAD next = prcb->NextThread;
    if (next == NULL || next == current) {
        if (next == current) {
            __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
            __atomic_store_n(&current->State, Running, __ATOMIC_RELAXED);
        }
        KiReleaseDispatcherLock(old);
        return;
    }
    __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
    current->WaitIrql = old;
    if (!KiIsIdleThread(prcb, current)) {
        current->Preempted = current->Quantum > 0 && current->Quantum < current->QuantumReset;
        KiInsertReady(prcb, current, current->Preempted);
    }
    KiSwapContext(prcb, current, next);
    KiAfterSwitch(current);
}

VOID KiQuantumEnd(void)
{
    PKI_PROCESSOR p = KiCurrentProcessor();
    p->QuantumEnd = TRUE;
    arch_request_software_interrupt(DISPATCH_LEVEL);
}

/* Clock tick accounting for the running thread; CLOCK_LEVEL, own processor. */
VOID KiClockTickThread(PKPRCB Prcb)
{
    PKTHREAD t = Prcb->CurrentThread;
    if (t == NULL)
        return;
    /* Read by queries without the dispatcher lock (one writer: this clock). */
    __atomic_store_n(&t->KernelTime, t->KernelTime + 1, __ATOMIC_RELAXED);
    if (KiIsIdleThread(Prcb, t)) {
        /* Work may have been queued for this processor without a kick. */
        if (KiAnyReadyThread()) {
            KiProcessor(Prcb)->IdleSchedule = TRUE;
            arch_request_software_interrupt(DISPATCH_LEVEL);
        }
        return;
    }
    if (--t->Quantum <= 0)
        KiQuantumEnd();
}

VOID KiInitializeScheduler(ULONG Number)
{
    PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(Number));
    for (int i = 0; i < MAXIMUM_PRIORITY; i++)
        InitializeListHead(&p->ReadyListHead[i]);
    __atomic_store_n(&p->ReadySummary, 0, __ATOMIC_RELAXED);
}

/* Lock-free hint for idle processors: is any thread waiting in a ready queue?
 * The authoritative check is repeated under the dispatcher lock. */
BOOLEAN KiAnyReadyThread(void)
{
    for (ULONG n = 0; n < arch_processor_count(); n++)
        if (__atomic_load_n(&KiProcessor(KiProcessorBlock(n))->ReadySummary, __ATOMIC_RELAXED))
            return TRUE;
    return FALSE;
}

ULONG KiDefaultQuantum(void)
{
    return KI_QUANTUM_TICKS;
}

/* ---- yielding -------------------------------------------------------------------- */

NTSTATUS NTAPI NtYieldExecution(void)
{
    PKTHREAD current = KiCurrentThread();
    if (KiCurrentProcessor()->DpcRoutineActive)
        KeBugCheckEx(ATTEMPTED_SWITCH_FROM_DPC, (ULONG_PTR)current, 0, 0, 0);
    KIRQL old = KiAcquireDispatcherLock();
    PKPRCB prcb = KeGetCurrentPrcb();
    PKTHREAD next = prcb->NextThread;
    if (next != NULL)
        __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
    else
        next = KiSelectThread(prcb->Number, 0);
    if (next == NULL) {
        KiReleaseDispatcherLock(old);
        return STATUS_NO_YIELD_PERFORMED;
    }
    current->WaitIrql = old;
    current->Quantum = current->QuantumReset;
    KiInsertReady(prcb, current, FALSE);
    KiSwapContext(prcb, current, next);
    KiAfterSwitch(current);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwYieldExecution(void)
{
    return NtYieldExecution();
}
