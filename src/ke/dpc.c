/*
 * Deferred procedure calls.
 *
 * Each processor has two DPC queues in its KI_PROCESSOR, singly linked lists
 * through KDPC.DpcListEntry in order of execution: the ordinary queue
 * (DpcHead/DpcTail), drained at DISPATCH_LEVEL by the DISPATCH_LEVEL software
 * interrupt (KiRetireDpcList, called first thing by KiDispatchInterrupt), and
 * the threaded queue (ThreadedDpcHead/ThreadedDpcTail), drained at
 * PASSIVE_LEVEL by the processor's threaded-DPC thread. A DPC queued for
 * another processor is sent there with an ARCH_IPI_DPC, which the receiver
 * turns into its own DISPATCH_LEVEL request.
 *
 * Locking and IRQL rules
 *  - KeInsertQueueDpc and KeRemoveQueueDpc run at any IRQL, including from the
 *    clock interrupt and from DPC routines, on any processor.
 *  - Both queues of a processor (heads, tails, depths) and the KDPC fields
 *    DpcListEntry, SystemArgument1/2 and DpcData of every DPC in them are
 *    guarded by that processor's DpcLock. The lock is taken with interrupts
 *    disabled (the clock interrupt on the owning processor inserts DPCs too,
 *    and would deadlock spinning on a lock its own processor holds) and with
 *    the raw primitives, as it is taken at every IRQL. It is the only lock this
 *    file takes, one at a time, and it is held for a few instructions only:
 *    never while calling a DPC routine, setting an event or sending an IPI.
 *  - KDPC.DpcData is NULL while the DPC is not queued; otherwise it is the
 *    KI_PROCESSOR whose queue holds it, with bit 0 set for the threaded queue.
 *    It changes only under that processor's DpcLock (NULL -> queue by
 *    compare-exchange on insert, queue -> NULL on remove and on dequeue), so
 *    whoever holds the lock named by DpcData may unlink the DPC, and two
 *    processors inserting the same DPC, even towards different queues, cannot
 *    both succeed.
 *  - DpcRoutineActive is written only by its own processor and set in the
 *    same lock hold that dequeues the DPC. ThreadedDpcActive likewise, by the
 *    threaded-DPC thread, which is bound to that processor.
 *  - Ordinary DPC routines are called at DISPATCH_LEVEL with interrupts
 *    enabled, on the stack of whatever the processor interrupted, one at a
 *    time per processor. The same DPC may run on two processors at once if it
 *    is re-inserted on another one while its routine is still running (as on
 *    NT).
 *
 * Choices where the WDK is silent or that ntos simplifies
 *  - Target encoding: KDPC.Number is 0 for "the processor that inserts it" and
 *    KI_DPC_TARGET_BASE + n for processor n (NT likewise offsets a target by its
 *    maximum processor count so that 0 keeps meaning "no target"). An
 *    out-of-range processor is a caller bug: INVALID_AFFINITY_SET with the
 *    requested number, the processor count and the DPC.
 *  - Importance: HighImportance inserts at the head, every other value at the
 *    tail, as documented ("Organization of DPC Queues"). The documented rules
 *    on when processing starts let NT postpone a LowImportance DPC on the
 *    current processor, and a Low or Medium one on another processor, until
 *    the queue grows deep or a clock tick drains it. ntos requests the
 *    DISPATCH_LEVEL interrupt (or sends the IPI) for every insertion: a DPC
 *    runs no later than NT would run it, only possibly earlier, and nothing
 *    depends on the clock to drain a queue.
 *  - Threaded DPCs run at PASSIVE_LEVEL in a per-processor thread of priority
 *    31 bound to that processor, waiting on ThreadedDpcEvent, as documented.
 *    The threads are started by the first KeInitializeThreadedDpc called at
 *    PASSIVE_LEVEL from a thread (see KiStartThreadedDpcThreads); a threaded
 *    DPC queued to a processor without its thread runs as an ordinary DPC at
 *    DISPATCH_LEVEL, the documented behaviour with threaded DPCs disabled.
 *    KeIsExecutingDpc is TRUE inside a threaded DPC routine too.
 *  - A DPC routine returning at another IRQL than it was called at
 *    (DISPATCH_LEVEL, or PASSIVE_LEVEL for a threaded one) bug-checks
 *    IRQL_UNEXPECTED_VALUE with parameter 1 = (current IRQL << 16) |
 *    (expected IRQL << 8) | KI_IRQL_UNEXPECTED_DPC (the documented layout;
 *    the documented unique values 0-3 and 0xFE name other callers, ntos uses
 *    0x13, the DPC object type), 2 = the routine, 3 = the KDPC, 4 = its
 *    context. Before stopping, the processor's DPC state is left consistent
 *    (routine-active flag clear, the DPC not queued, the DISPATCH_LEVEL
 *    interrupt re-requested if more DPCs wait), so a bug check caught by a
 *    test leaves a usable system.
 *  - KeFlushQueuedDpcs is documented for PASSIVE_LEVEL. ntos accepts APC_LEVEL
 *    too (nothing there can deadlock it) and bug-checks IRQL_NOT_LESS_OR_EQUAL
 *    at DISPATCH_LEVEL and above, where it would wait forever on its own
 *    processor's queue: parameters KeFlushQueuedDpcs, the IRQL, 8 (execute),
 *    the caller's return address. It queues a marker DPC at the tail of every
 *    queue and waits for all of them, so DPCs queued after the call do not
 *    delay it.
 */
#include "ki.h"

/* KDPC.Number of a DPC targeted at processor n is KI_DPC_TARGET_BASE + n. */
#define KI_DPC_TARGET_BASE ARCH_MAX_CPUS

/* KDPC.DpcData is the KI_PROCESSOR holding the DPC, with this bit set when it
 * is in the threaded queue (KI_PROCESSOR is pointer-aligned). */
#define KI_DPC_DATA_THREADED ((ULONG_PTR)1)

/* The unique value in IRQL_UNEXPECTED_VALUE's parameter 1 for a DPC routine. */
#define KI_IRQL_UNEXPECTED_DPC DpcObject

/* IRQL_NOT_LESS_OR_EQUAL parameter 3: the access was an execution. */
#define KI_ACCESS_EXECUTE 8

/* ---- queues ---------------------------------------------------------------------- */

typedef struct _KI_DPC_QUEUE {
    PSINGLE_LIST_ENTRY *Head;
    PSINGLE_LIST_ENTRY *Tail;
    volatile ULONG *Depth;
} KI_DPC_QUEUE;

static KI_DPC_QUEUE KiDpcQueue(PKI_PROCESSOR Processor, BOOLEAN Threaded)
{
    KI_DPC_QUEUE q;
    if (Threaded) {
        q.Head = &Processor->ThreadedDpcHead;
        q.Tail = &Processor->ThreadedDpcTail;
        q.Depth = &Processor->ThreadedDpcDepth;
    } else {
        q.Head = &Processor->DpcHead;
        q.Tail = &Processor->DpcTail;
        q.Depth = &Processor->DpcQueueDepth;
    }
    return q;
}

static ULONG_PTR KiLockDpcQueues(PKI_PROCESSOR Processor)
{
    ULONG_PTR state = arch_disable_interrupts();
    KiAcquireSpinLockRaw(&Processor->DpcLock);
    return state;
}

static void KiUnlockDpcQueues(PKI_PROCESSOR Processor, ULONG_PTR State)
{
    KiReleaseSpinLockRaw(&Processor->DpcLock);
    arch_restore_interrupts(State);
}

/* The queue primitives below run with the processor's DpcLock held. */

static void KiLinkDpc(KI_DPC_QUEUE Queue, PKDPC Dpc)
{
    PSINGLE_LIST_ENTRY entry = &Dpc->DpcListEntry;
    if (Dpc->Importance == HighImportance) {
        entry->Next = *Queue.Head;
        *Queue.Head = entry;
        if (*Queue.Tail == NULL)
            *Queue.Tail = entry;
    } else {
        entry->Next = NULL;
        if (*Queue.Tail != NULL)
            (*Queue.Tail)->Next = entry;
        else
            *Queue.Head = entry;
        *Queue.Tail = entry;
    }
    /* Atomic so that the idle loop and flushes may peek without the lock. */
    __atomic_store_n(Queue.Depth, *Queue.Depth + 1, __ATOMIC_RELAXED);
}

static void KiUnlinkDpc(KI_DPC_QUEUE Queue, PKDPC Dpc)
{
    PSINGLE_LIST_ENTRY entry = &Dpc->DpcListEntry;
    PSINGLE_LIST_ENTRY prev = NULL;
    PSINGLE_LIST_ENTRY cur = *Queue.Head;
    while (cur != NULL && cur != entry) {
        prev = cur;
        cur = cur->Next;
    }
    /* DpcData named this queue under its lock, so the DPC must be in it. */
    if (cur == NULL)
        RtlpFatalListEntryError(Dpc, Queue.Head, *Queue.Head);
    if (prev != NULL)
        prev->Next = entry->Next;
    else
        *Queue.Head = entry->Next;
    if (*Queue.Tail == entry)
        *Queue.Tail = prev;
    entry->Next = NULL;
    __atomic_store_n(Queue.Depth, *Queue.Depth - 1, __ATOMIC_RELAXED);
}

static ULONG_PTR KiDpcData(PKDPC Dpc)
{
    return (ULONG_PTR)__atomic_load_n(&Dpc->DpcData, __ATOMIC_ACQUIRE);
}

/* ---- initialisation ------------------------------------------------------------- */

VOID KiInitializeDpcProcessor(ULONG Number)
{
    /*
     * The queues start empty and unlocked because the KPRCB starts zeroed
     * (both backends hand it out that way), and they are deliberately not
     * reset here: a processor is announced to the others before its startup
     * code runs, so another processor may already have queued a DPC to it,
     * which must survive until this one enables interrupts. Only the event
     * needs initialising; it is touched by this processor alone (its
     * DISPATCH_LEVEL interrupt sets it, its threaded-DPC thread waits on it).
     */
    PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(Number));
    KeInitializeEvent(&p->ThreadedDpcEvent, SynchronizationEvent, FALSE);
}

static void KiInitializeDpcObject(PRKDPC Dpc, UCHAR Type, PKDEFERRED_ROUTINE DeferredRoutine,
                                  PVOID DeferredContext)
{
    Dpc->TargetInfoAsUlong = 0;
    Dpc->Type = Type;
    Dpc->Importance = MediumImportance;
    Dpc->Number = 0;
    Dpc->DpcListEntry.Next = NULL;
    Dpc->ProcessorHistory = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = NULL;
    Dpc->SystemArgument2 = NULL;
    Dpc->DpcData = NULL;
}

VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    KiInitializeDpcObject(Dpc, DpcObject, DeferredRoutine, DeferredContext);
}

static void KiStartThreadedDpcThreads(void);

VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    KiInitializeDpcObject(Dpc, ThreadedDpcObject, DeferredRoutine, DeferredContext);
    KiStartThreadedDpcThreads();
}

/* Documented to take effect only for later insertions, so no lock: the caller
 * must not race it with KeInsertQueueDpc on the same DPC. */
VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    Dpc->Importance = (UCHAR)Importance;
}

static void KiCheckTargetProcessor(PRKDPC Dpc, ULONG Number)
{
    ULONG count = arch_processor_count();
    if (Number >= count)
        KeBugCheckEx(INVALID_AFFINITY_SET, Number, count, (ULONG_PTR)Dpc, 0);
}

VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    ULONG n = (UCHAR)Number;
    KiCheckTargetProcessor(Dpc, n);
    Dpc->Number = (USHORT)(KI_DPC_TARGET_BASE + n);
}

/* ---- queueing --------------------------------------------------------------------- */

BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    arch_sched_point(ARCH_SP_DPC_INSERT, Dpc);
    /* Interrupts stay off from choosing the processor to requesting its
     * interrupt: nothing can then move this code to another processor, so
     * "current" stays current. */
    ULONG_PTR state = arch_disable_interrupts();
    ULONG self = KeGetCurrentProcessorIndex();
    ULONG target = self;
    USHORT number = Dpc->Number;
    if (number >= KI_DPC_TARGET_BASE) {
        target = number - KI_DPC_TARGET_BASE;
        KiCheckTargetProcessor(Dpc, target);
    }
    PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(target));

    KiAcquireSpinLockRaw(&p->DpcLock);
    BOOLEAN threaded = Dpc->Type == ThreadedDpcObject && p->ThreadedDpcThread != NULL;
    PVOID expected = NULL;
    PVOID data = (PVOID)((ULONG_PTR)p | (threaded ? KI_DPC_DATA_THREADED : 0));
    if (!__atomic_compare_exchange_n(&Dpc->DpcData, &expected, data, FALSE, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        KiReleaseSpinLockRaw(&p->DpcLock);
        arch_restore_interrupts(state);
        return FALSE;
    }
    Dpc->SystemArgument1 = SystemArgument1;
    Dpc->SystemArgument2 = SystemArgument2;
    KiLinkDpc(KiDpcQueue(p, threaded), Dpc);
    KiReleaseSpinLockRaw(&p->DpcLock);

    /* Requested for every importance; see the header comment. A threaded DPC
     * needs it too: the DISPATCH_LEVEL interrupt wakes the threaded-DPC thread
     * (this code may run at clock level, where setting an event is not
     * allowed). On this processor the request is taken when interrupts come
     * back on if the IRQL is below DISPATCH_LEVEL, else when the IRQL drops. */
    if (target == self)
        arch_request_software_interrupt(DISPATCH_LEVEL);
    else
        arch_send_ipi((KAFFINITY)1 << target, ARCH_IPI_DPC);
    arch_restore_interrupts(state);
    return TRUE;
}

BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc)
{
    arch_sched_point(ARCH_SP_DPC_REMOVE, Dpc);
    for (;;) {
        ULONG_PTR data = KiDpcData(Dpc);
        if (data == 0)
            return FALSE;
        PKI_PROCESSOR p = (PKI_PROCESSOR)(data & ~KI_DPC_DATA_THREADED);
        ULONG_PTR state = KiLockDpcQueues(p);
        /* It may have been dequeued, or dequeued and queued elsewhere, between
         * the read and the lock; only the queue DpcData names may unlink it. */
        if (KiDpcData(Dpc) == data) {
            KiUnlinkDpc(KiDpcQueue(p, (data & KI_DPC_DATA_THREADED) != 0), Dpc);
            __atomic_store_n(&Dpc->DpcData, NULL, __ATOMIC_RELEASE);
            KiUnlockDpcQueues(p, state);
            return TRUE;
        }
        KiUnlockDpcQueues(p, state);
    }
}

/* ---- execution ---------------------------------------------------------------------- */

/*
 * Dequeues the first DPC of one of this processor's queues and calls its
 * routine; FALSE if the queue was empty. Ordinary DPCs run here at
 * DISPATCH_LEVEL, threaded ones at PASSIVE_LEVEL in the threaded-DPC thread,
 * and the routine must return at the level it was called at.
 */
static BOOLEAN KiRunOneDpc(PKI_PROCESSOR Processor, BOOLEAN Threaded)
{
    KI_DPC_QUEUE queue = KiDpcQueue(Processor, Threaded);
    volatile BOOLEAN *active = Threaded ? &Processor->ThreadedDpcActive : &Processor->DpcRoutineActive;
    KIRQL expected = Threaded ? PASSIVE_LEVEL : DISPATCH_LEVEL;

    ULONG_PTR state = KiLockDpcQueues(Processor);
    PSINGLE_LIST_ENTRY entry = *queue.Head;
    if (entry == NULL) {
        KiUnlockDpcQueues(Processor, state);
        return FALSE;
    }
    PKDPC dpc = CONTAINING_RECORD(entry, KDPC, DpcListEntry);
    KiUnlinkDpc(queue, dpc);
    /* Copied under the lock: once DpcData is NULL the DPC may be queued again
     * (by its own routine, as NT allows, or by another processor) with new
     * arguments, or freed by its owner. */
    PKDEFERRED_ROUTINE routine = dpc->DeferredRoutine;
    PVOID context = dpc->DeferredContext;
    PVOID arg1 = dpc->SystemArgument1;
    PVOID arg2 = dpc->SystemArgument2;
    __atomic_store_n(&dpc->DpcData, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(active, TRUE, __ATOMIC_RELAXED);
    KiUnlockDpcQueues(Processor, state);

    routine(dpc, context, arg1, arg2);

    __atomic_store_n(active, FALSE, __ATOMIC_RELAXED);
    /* Atomic: the threaded-DPC thread and this processor's DISPATCH_LEVEL
     * interrupt, which may interrupt it, both count. */
    __atomic_fetch_add(&Processor->DpcCount, 1, __ATOMIC_RELAXED);

    KIRQL irql = arch_get_irql();
    if (irql != expected) {
        /* Back at DISPATCH_LEVEL (raising delivers nothing), so that the
         * request below stays pending instead of running the rest of the
         * queue here: what is still queued must not wait for an unrelated
         * interrupt if this bug check is caught (tests). */
        if (!Threaded && irql < DISPATCH_LEVEL)
            arch_set_irql(DISPATCH_LEVEL);
        if (!Threaded && __atomic_load_n(&Processor->DpcQueueDepth, __ATOMIC_RELAXED) != 0)
            arch_request_software_interrupt(DISPATCH_LEVEL);
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE,
                     ((ULONG_PTR)irql << 16) | ((ULONG_PTR)expected << 8) | KI_IRQL_UNEXPECTED_DPC,
                     (ULONG_PTR)routine, (ULONG_PTR)dpc, (ULONG_PTR)context);
    }
    return TRUE;
}

VOID KiRetireDpcList(PKI_PROCESSOR Processor)
{
    while (KiRunOneDpc(Processor, FALSE))
        ;
    /* Threaded DPCs are queued with only a DISPATCH_LEVEL request, since an
     * event cannot be set from every IRQL KeInsertQueueDpc runs at; the
     * request lands here, where it can. A set while the thread is still busy
     * leaves the (synchronization) event signaled: no wake-up is lost. */
    if (__atomic_load_n(&Processor->ThreadedDpcDepth, __ATOMIC_RELAXED) != 0)
        KeSetEvent(&Processor->ThreadedDpcEvent, 0, FALSE);
}

LOGICAL NTAPI KeIsExecutingDpc(void)
{
    /* Interrupts off so the processor read is the one the answer is about. */
    ULONG_PTR state = arch_disable_interrupts();
    PKI_PROCESSOR p = KiCurrentProcessor();
    BOOLEAN active = __atomic_load_n(&p->DpcRoutineActive, __ATOMIC_RELAXED) ||
                     (__atomic_load_n(&p->ThreadedDpcActive, __ATOMIC_RELAXED) &&
                      KeGetCurrentThread() == __atomic_load_n(&p->ThreadedDpcThread, __ATOMIC_RELAXED));
    arch_restore_interrupts(state);
    return active;
}

/* ---- threaded DPCs --------------------------------------------------------------------- */

static KTHREAD KiThreadedDpcThreads[ARCH_MAX_CPUS];
static volatile LONG KiThreadedDpcThreadsStarted;

static VOID NTAPI KiThreadedDpcThread(PVOID Context)
{
    PKI_PROCESSOR p = Context;
    for (;;) {
        KeWaitForSingleObject(&p->ThreadedDpcEvent, Executive, KernelMode, FALSE, NULL);
        while (KiRunOneDpc(p, TRUE))
            ;
    }
}

/*
 * Starts one threaded-DPC thread per processor, once. Creating a thread needs
 * PASSIVE_LEVEL and a running scheduler, which processor startup (where
 * KiInitializeDpcProcessor runs, at HIGH_LEVEL) does not offer and Ke has no
 * later initialisation phase yet; so the first KeInitializeThreadedDpc at
 * PASSIVE_LEVEL in a thread starts them. Until a processor has its thread,
 * threaded DPCs queued to it run as ordinary DPCs (the documented behaviour
 * with threaded DPCs disabled).
 */
static void KiStartThreadedDpcThreads(void)
{
    if (__atomic_load_n(&KiThreadedDpcThreadsStarted, __ATOMIC_ACQUIRE) != 0)
        return;
    if (arch_get_irql() != PASSIVE_LEVEL || !arch_interrupts_enabled() || KeGetCurrentThread() == NULL)
        return;
    LONG expected = 0;
    if (!__atomic_compare_exchange_n(&KiThreadedDpcThreadsStarted, &expected, 1, FALSE, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    for (ULONG n = 0; n < arch_processor_count(); n++) {
        PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(n));
        PKTHREAD t = &KiThreadedDpcThreads[n];
        /* ThreadedDpcEvent was initialised by KiInitializeDpcProcessor and is
         * only touched on its own processor: not re-initialised from here. */
        if (!NT_SUCCESS(KeInitializeThread(t, NULL, 0, KiThreadedDpcThread, p, HIGH_PRIORITY)))
            continue; /* that processor keeps the fallback */
        /* Not started yet, so nothing else reads these. */
        t->Affinity = t->UserAffinity = (KAFFINITY)1 << n;
        t->IdealProcessor = (UCHAR)n;
        KeStartThread(t);
        /* Published under the queue lock so that an insertion sees either no
         * thread (ordinary queue) or a thread that is waiting or about to. */
        ULONG_PTR state = KiLockDpcQueues(p);
        __atomic_store_n(&p->ThreadedDpcThread, t, __ATOMIC_RELEASE);
        KiUnlockDpcQueues(p, state);
    }
}

/* ---- flushing ----------------------------------------------------------------------- */

/*
 * One marker DPC per queue, queued at its tail. A queue runs in order and one
 * routine at a time, so when its marker runs every DPC queued there before it
 * (at the tail or the head) has run to completion, and DPCs queued after it do
 * not delay the flush. The markers live on this stack, a batch of processors
 * at a time to bound its size (a marker queued later still follows everything
 * queued before the call): the code that runs a DPC does not touch the KDPC
 * after calling its routine, and the marker routine's last act is the
 * decrement.
 */
#define KI_FLUSH_BATCH 8

static VOID NTAPI KiFlushMarkerRoutine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Arg1);
    UNREFERENCED_PARAMETER(Arg2);
    __atomic_fetch_sub((volatile LONG *)Context, 1, __ATOMIC_RELEASE);
}

VOID NTAPI KeFlushQueuedDpcs(void)
{
    KIRQL irql = arch_get_irql();
    if (irql >= DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)KeFlushQueuedDpcs, irql, KI_ACCESS_EXECUTE,
                     (ULONG_PTR)__builtin_return_address(0));

    ULONG count = arch_processor_count();
    for (ULONG first = 0; first < count; first += KI_FLUSH_BATCH) {
        KDPC markers[2 * KI_FLUSH_BATCH];
        volatile LONG remaining = 0;
        ULONG used = 0;
        for (ULONG n = first; n < count && n < first + KI_FLUSH_BATCH; n++) {
            PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(n));
            BOOLEAN threaded = __atomic_load_n(&p->ThreadedDpcThread, __ATOMIC_ACQUIRE) != NULL;
            for (int kind = 0; kind < (threaded ? 2 : 1); kind++) {
                PKDPC m = &markers[used++];
                KiInitializeDpcObject(m, kind ? ThreadedDpcObject : DpcObject, KiFlushMarkerRoutine,
                                      (PVOID)&remaining);
                m->Number = (USHORT)(KI_DPC_TARGET_BASE + n);
                __atomic_fetch_add(&remaining, 1, __ATOMIC_RELAXED);
                KeInsertQueueDpc(m, NULL, NULL);
            }
        }
        /* A spin rather than a dispatcher wait: this processor's ordinary
         * marker runs on this very stack, from the DISPATCH_LEVEL interrupt,
         * and arch_pause is an interruptible point that lets it. */
        while (__atomic_load_n(&remaining, __ATOMIC_ACQUIRE) != 0)
            arch_pause();
    }
}
