/*
 * System worker threads: ExQueueWorkItem and the per-queue pools of threads
 * that run work items at PASSIVE_LEVEL.
 *
 * Queues and threads
 *  One queue per WORK_QUEUE_TYPE below MaximumWorkQueue, each a LIST_ENTRY of
 *  WORK_QUEUE_ITEMs guarded by its spin lock, plus a semaphore whose count is
 *  the number of items in the list (Ke has no KQUEUE yet). Priorities are the
 *  documented ones (WORK_QUEUE_TYPE reference page); the thread counts are
 *  ntos's choice, small because the hosted kernel has few processors and the
 *  sanitizer builds use large stacks:
 *      Critical 4 @ 13, Delayed 3 @ 12, HyperCritical 1 @ 15, Normal 2 @ 8,
 *      Background 1 @ 7, RealTime 1 @ 18, SuperCritical 1 @ 14.
 *  A queue with one thread runs its items strictly one after another in FIFO
 *  order; with several threads, items are dequeued in FIFO order and may then
 *  overlap. CustomPriorityWorkQueue + p (Windows 8.1) is accepted for p in
 *  1..31 and goes to the standard queue whose priority is the highest not
 *  above p (Background for p < 7), so an item never runs above the requested
 *  priority; NT creates a pool per custom priority instead.
 *
 * Initialisation
 *  There is no executive initialisation phase yet, so everything starts on
 *  first use, in two steps:
 *  - The queues (lists, locks, semaphores) are set up by the first
 *    ExQueueWorkItem, at any IRQL it is called at, under a 0/1/2 state word:
 *    the winner of the 0 -> 1 compare-exchange initialises them at
 *    DISPATCH_LEVEL (so no caller on its own processor can interrupt it; an
 *    ExQueueWorkItem caller is at <= DISPATCH_LEVEL) and publishes 2; a caller
 *    on another processor that sees 1 spins, briefly, until 2.
 *  - The threads need PASSIVE_LEVEL (a stack is allocated). They are created
 *    by ExpInitializeWorkers, which the first ExQueueWorkItem called at
 *    PASSIVE_LEVEL from a thread runs, guarded by its own flag. Items queued
 *    before that (for instance from a DPC) wait in their queue and run as soon
 *    as the threads exist. Executive initialisation should call
 *    ExpInitializeWorkers once it exists.
 *
 * Locking and IRQL rules
 *  - ExQueueWorkItem runs at <= DISPATCH_LEVEL (documented). It claims the
 *    item by compare-exchanging List.Flink from NULL (not queued) to a
 *    marker, so two processors queueing the same item cannot both succeed,
 *    then links it under the queue lock and releases the semaphore once.
 *  - Worker threads wait on the semaphore, unlink the first item under the
 *    queue lock, read its routine and parameter and set List.Flink back to
 *    NULL (release) before calling the routine, so the routine may free or
 *    requeue its own item; the item is not touched afterwards.
 *  - After each routine the worker checks that it returned at PASSIVE_LEVEL
 *    (else WORKER_THREAD_RETURNED_AT_BAD_IRQL: routine, IRQL, parameter,
 *    item — the reference page says ">= DISPATCH_LEVEL"; APC_LEVEL is
 *    caught too since workers must be at PASSIVE_LEVEL to wait) and outside
 *    critical and guarded regions and attachments (else APC_INDEX_MISMATCH:
 *    routine, ApcStateIndex, CombinedApcDisable, 1 = worker routine).
 *
 * Misuse (WORKER_INVALID, parameter 1 = the documented code position)
 *  - 1: the item is already queued (List.Flink not NULL): item, queue type, 0.
 *  - 6: invalid queue type: item, queue type, 0.
 *  - 7: NULL worker routine: item, queue type, 0.
 *  A queued item whose links are NULL when a worker dequeues it (someone
 *  reinitialised it while queued) stops with INVALID_WORK_QUEUE_ITEM: the
 *  entry, the queue, the queue array, the routine.
 */
#include <ntos/ex_lists.h>
#include <ntos/arch.h>

#define EXP_WORKER_QUEUES ((ULONG)MaximumWorkQueue)
#define EXP_CRITICAL_THREADS 4
#define EXP_DELAYED_THREADS 3
#define EXP_HYPER_CRITICAL_THREADS 1
#define EXP_NORMAL_THREADS 2
#define EXP_BACKGROUND_THREADS 1
#define EXP_REAL_TIME_THREADS 1
#define EXP_SUPER_CRITICAL_THREADS 1
#define EXP_TOTAL_WORKERS                                                                                        \
    (EXP_CRITICAL_THREADS + EXP_DELAYED_THREADS + EXP_HYPER_CRITICAL_THREADS + EXP_NORMAL_THREADS +              \
     EXP_BACKGROUND_THREADS + EXP_REAL_TIME_THREADS + EXP_SUPER_CRITICAL_THREADS)

/* Marks an item claimed by ExQueueWorkItem but not linked yet. */
#define EXP_ITEM_CLAIMED ((PLIST_ENTRY)(ULONG_PTR)1)

typedef struct _EXP_WORK_QUEUE {
    KSPIN_LOCK Lock;
    LIST_ENTRY List;     /* Lock */
    KSEMAPHORE Pending;  /* count = items in List */
    KPRIORITY Priority;
    ULONG ThreadCount;   /* threads started for this queue */
    volatile LONG64 Queued;    /* statistics, for the debugger */
    volatile LONG64 Completed;
} EXP_WORK_QUEUE, *PEXP_WORK_QUEUE;

typedef struct _EXP_QUEUE_CONFIG {
    KPRIORITY Priority;
    ULONG Threads;
} EXP_QUEUE_CONFIG;

static const EXP_QUEUE_CONFIG ExpQueueConfig[EXP_WORKER_QUEUES] = {
    [CriticalWorkQueue] = {13, EXP_CRITICAL_THREADS},
    [DelayedWorkQueue] = {12, EXP_DELAYED_THREADS},
    [HyperCriticalWorkQueue] = {15, EXP_HYPER_CRITICAL_THREADS},
    [NormalWorkQueue] = {8, EXP_NORMAL_THREADS},
    [BackgroundWorkQueue] = {7, EXP_BACKGROUND_THREADS},
    [RealTimeWorkQueue] = {18, EXP_REAL_TIME_THREADS},
    [SuperCriticalWorkQueue] = {14, EXP_SUPER_CRITICAL_THREADS},
};

static EXP_WORK_QUEUE ExpWorkQueues[EXP_WORKER_QUEUES];
static KTHREAD ExpWorkerThreads[EXP_TOTAL_WORKERS];
static volatile LONG ExpQueuesState;   /* 0 none, 1 initialising, 2 ready */
static volatile LONG ExpWorkersStarted; /* 0/1, set by the one thread creating them */

ULONG ExpWorkerThreadCount(WORK_QUEUE_TYPE QueueType)
{
    return (ULONG)QueueType < EXP_WORKER_QUEUES ? ExpQueueConfig[QueueType].Threads : 0;
}

KPRIORITY ExpWorkerPriority(WORK_QUEUE_TYPE QueueType)
{
    return (ULONG)QueueType < EXP_WORKER_QUEUES ? ExpQueueConfig[QueueType].Priority : 0;
}

/* Index of the queue serving QueueType, or -1 if the type is invalid. */
static LONG ExpQueueIndex(WORK_QUEUE_TYPE QueueType)
{
    ULONG type = (ULONG)QueueType;
    if (type < EXP_WORKER_QUEUES)
        return (LONG)type;
    if (type <= (ULONG)CustomPriorityWorkQueue || type > (ULONG)CustomPriorityWorkQueue + HIGH_PRIORITY)
        return -1;
    KPRIORITY wanted = (KPRIORITY)(type - (ULONG)CustomPriorityWorkQueue);
    LONG best = BackgroundWorkQueue;
    for (ULONG i = 0; i < EXP_WORKER_QUEUES; i++) {
        KPRIORITY p = ExpQueueConfig[i].Priority;
        if (p <= wanted && p > ExpQueueConfig[best].Priority)
            best = (LONG)i;
    }
    return best;
}

static void ExpInitializeQueues(void)
{
    if (__atomic_load_n(&ExpQueuesState, __ATOMIC_ACQUIRE) == 2)
        return;
    LONG expected = 0;
    if (!__atomic_compare_exchange_n(&ExpQueuesState, &expected, 1, FALSE, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&ExpQueuesState, __ATOMIC_ACQUIRE) != 2)
            arch_pause();
        return;
    }
    KIRQL old = KeGetCurrentIrql();
    if (old < DISPATCH_LEVEL)
        KfRaiseIrql(DISPATCH_LEVEL);
    for (ULONG i = 0; i < EXP_WORKER_QUEUES; i++) {
        PEXP_WORK_QUEUE q = &ExpWorkQueues[i];
        KeInitializeSpinLock(&q->Lock);
        InitializeListHead(&q->List);
        KeInitializeSemaphore(&q->Pending, 0, MAXLONG);
        q->Priority = ExpQueueConfig[i].Priority;
    }
    __atomic_store_n(&ExpQueuesState, 2, __ATOMIC_RELEASE);
    if (old < DISPATCH_LEVEL)
        KeLowerIrql(old);
}

/* ---- worker threads ----------------------------------------------------------------- */

VOID ExpCheckWorkerReturn(PWORKER_THREAD_ROUTINE Routine, PVOID Parameter, PWORK_QUEUE_ITEM Item)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql != PASSIVE_LEVEL)
        KeBugCheckEx(WORKER_THREAD_RETURNED_AT_BAD_IRQL, (ULONG_PTR)Routine, irql, (ULONG_PTR)Parameter,
                     (ULONG_PTR)Item);
    PKTHREAD thread = KeGetCurrentThread();
    if (thread->KernelApcDisable != 0 || thread->SpecialApcDisable != 0 || thread->ApcStateIndex != 0) {
        ULONG combined = ((ULONG)(USHORT)thread->SpecialApcDisable << 16) | (USHORT)thread->KernelApcDisable;
        KeBugCheckEx(APC_INDEX_MISMATCH, (ULONG_PTR)Routine, thread->ApcStateIndex, combined, 1);
    }
}

PWORK_QUEUE_ITEM ExpRemoveWorkItem(PLIST_ENTRY QueueHead)
{
    PLIST_ENTRY entry = QueueHead->Flink;
    if (entry->Flink == NULL || entry->Blink == NULL) {
        PWORK_QUEUE_ITEM bad = CONTAINING_RECORD(entry, WORK_QUEUE_ITEM, List);
        KeBugCheckEx(INVALID_WORK_QUEUE_ITEM, (ULONG_PTR)entry, (ULONG_PTR)QueueHead, (ULONG_PTR)ExpWorkQueues,
                     (ULONG_PTR)bad->WorkerRoutine);
    }
    RemoveHeadList(QueueHead);
    return CONTAINING_RECORD(entry, WORK_QUEUE_ITEM, List);
}

static VOID NTAPI ExpWorkerThread(PVOID Context)
{
    PEXP_WORK_QUEUE q = Context;
    for (;;) {
        KeWaitForSingleObject(&q->Pending, WrQueue, KernelMode, FALSE, NULL);
        KIRQL old;
        KeAcquireSpinLock(&q->Lock, &old);
        PWORK_QUEUE_ITEM item = ExpRemoveWorkItem(&q->List);
        PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
        PVOID parameter = item->Parameter;
        /* From here the item belongs to its owner again: it may be requeued
         * (even by another processor before the routine runs) or freed. */
        __atomic_store_n(&item->List.Flink, NULL, __ATOMIC_RELEASE);
        KeReleaseSpinLock(&q->Lock, old);

        routine(parameter);
        ExpCheckWorkerReturn(routine, parameter, item);
        __atomic_fetch_add(&q->Completed, 1, __ATOMIC_RELAXED);
    }
}

VOID ExpInitializeWorkers(void)
{
    if (__atomic_load_n(&ExpWorkersStarted, __ATOMIC_ACQUIRE) != 0)
        return;
    if (KeGetCurrentIrql() != PASSIVE_LEVEL || !arch_interrupts_enabled() || KeGetCurrentThread() == NULL)
        return;
    LONG expected = 0;
    if (!__atomic_compare_exchange_n(&ExpWorkersStarted, &expected, 1, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    ExpInitializeQueues();
    ULONG next = 0;
    for (ULONG i = 0; i < EXP_WORKER_QUEUES; i++) {
        PEXP_WORK_QUEUE q = &ExpWorkQueues[i];
        for (ULONG n = 0; n < ExpQueueConfig[i].Threads && next < EXP_TOTAL_WORKERS; n++) {
            PKTHREAD t = &ExpWorkerThreads[next];
            /* A thread that cannot be created leaves its queue with fewer
             * workers; a queue with none keeps its items until reboot, which
             * is what NT's failed worker initialisation would amount to. */
            if (!NT_SUCCESS(KeInitializeThread(t, NULL, 0, ExpWorkerThread, q, q->Priority)))
                continue;
            next++;
            q->ThreadCount++;
            KeStartThread(t);
        }
    }
}

/* ---- queueing ------------------------------------------------------------------------- */

VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    LONG index = ExpQueueIndex(QueueType);
    if (index < 0)
        KeBugCheckEx(WORKER_INVALID, 6, (ULONG_PTR)WorkItem, (ULONG_PTR)(ULONG)QueueType, 0);
    if (WorkItem->WorkerRoutine == NULL)
        KeBugCheckEx(WORKER_INVALID, 7, (ULONG_PTR)WorkItem, (ULONG_PTR)(ULONG)QueueType, 0);
    PLIST_ENTRY expected = NULL;
    if (!__atomic_compare_exchange_n(&WorkItem->List.Flink, &expected, EXP_ITEM_CLAIMED, FALSE, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        KeBugCheckEx(WORKER_INVALID, 1, (ULONG_PTR)WorkItem, (ULONG_PTR)(ULONG)QueueType, 0);

    ExpInitializeQueues();
    PEXP_WORK_QUEUE q = &ExpWorkQueues[index];
    KIRQL old;
    KeAcquireSpinLock(&q->Lock, &old);
    InsertTailList(&q->List, &WorkItem->List);
    KeReleaseSpinLock(&q->Lock, old);
    __atomic_fetch_add(&q->Queued, 1, __ATOMIC_RELAXED);
    KeReleaseSemaphore(&q->Pending, 0, 1, FALSE);

    ExpInitializeWorkers();
}
