/*
 * Dispatcher invariant checks (verification aid).
 *
 * KiCheckDispatcherInvariants walks the scheduler's and the dispatcher's
 * shared state and bug-checks at the first inconsistency:
 *  - each processor's ready summary has bit p set exactly when ready queue p
 *    is non-empty;
 *  - each ready queue is a well-formed doubly linked list (no cycle that
 *    misses its head), and every thread on it is Ready, has that priority,
 *    names that processor as NextProcessor, is no processor's current or
 *    standby thread, has no wait block linked into a wait list, and appears
 *    on exactly one queue;
 *  - every processor's CurrentThread is Running and its NextThread (if any)
 *    is Standby;
 *  - every thread of the system process: Ready ones are on a ready queue,
 *    Running ones are some processor's current thread, Waiting ones have each
 *    of their active wait blocks (and the timeout block, if armed) linked into
 *    the wait list of the object the block names, and no other thread has a
 *    wait block linked;
 *  - the wait list of every object a waiting thread waits on is well formed
 *    and each wait block on it points back to that object and to a Waiting
 *    thread.
 * Threads of other processes are checked when they are on a ready queue or in
 * an object's wait list reached from a system thread; Ke keeps no list of
 * processes, so a waiting thread of another process that nothing else leads
 * to is not visited.
 *
 * Bug check: NT has no documented code for "the scheduler's own data is
 * inconsistent". The codebase reports internal consistency failures found by
 * its verifier-style checks as DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) with
 * a sub-code in Parameter1 (ERESOURCE, rundown, lock-order cycle), so this
 * does the same. It cannot reuse 0x1001, which the lock-order checker already
 * reports (held lock, acquired lock, cycle length); it uses the ntos-private
 * sub-code KI_VERIFIER_DISPATCHER_INVARIANT (0x2001), with Parameter2 = the
 * check that failed (KI_INVARIANT_*), Parameter3 = the object (thread, wait
 * block, dispatcher header or ready-queue head) and Parameter4 = the related
 * object (processor number, queue head, or object).
 *
 * Locking and IRQL rules
 *  - KiCheckDispatcherInvariants: dispatcher lock held (SYNCH_LEVEL), or
 *    called from the only running processor in the host's virtual-time mode
 *    while no processor holds the lock (KiCheckDispatcherInvariantsIfQuiescent).
 *    It only reads; it takes no lock and allocates nothing, so it may run at
 *    any scheduling point.
 */
#include "ki.h"

#define KI_CHECK_MAX_LIST 65536 /* longer than any real list: a cycle that misses its head */
#define KI_CHECK_SEEN 2048      /* power of two; more ready threads than this skip the duplicate check */

static ULONG64 KiInvariantChecks;

/* Threads seen on ready queues during one check (open addressing by pointer). */
static PKTHREAD KiSeen[KI_CHECK_SEEN];
static ULONG KiSeenCount;
static BOOLEAN KiSeenOverflow;

static DECLSPEC_NORETURN void KiInvariantFailed(ULONG Check, const void *Object, ULONG_PTR Related)
{
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_DISPATCHER_INVARIANT, Check,
                 (ULONG_PTR)Object, Related);
}

static ULONG KiSeenSlot(PKTHREAD Thread)
{
    ULONG64 x = (ULONG64)(ULONG_PTR)Thread;
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ULL;
    return (ULONG)(x >> 40) & (KI_CHECK_SEEN - 1);
}

/* Returns FALSE if Thread was already recorded. */
static BOOLEAN KiSeenAdd(PKTHREAD Thread)
{
    if (KiSeenCount >= KI_CHECK_SEEN / 2) {
        KiSeenOverflow = TRUE;
        return TRUE;
    }
    for (ULONG h = KiSeenSlot(Thread);; h = (h + 1) & (KI_CHECK_SEEN - 1)) {
        if (KiSeen[h] == Thread)
            return FALSE;
        if (KiSeen[h] == NULL) {
            KiSeen[h] = Thread;
            KiSeenCount++;
            return TRUE;
        }
    }
}

static BOOLEAN KiSeenContains(PKTHREAD Thread)
{
    for (ULONG h = KiSeenSlot(Thread);; h = (h + 1) & (KI_CHECK_SEEN - 1)) {
        if (KiSeen[h] == Thread)
            return TRUE;
        if (KiSeen[h] == NULL)
            return FALSE;
    }
}

static void KiSeenClear(void)
{
    if (KiSeenCount != 0)
        RtlZeroMemory(KiSeen, sizeof(KiSeen));
    KiSeenCount = 0;
    KiSeenOverflow = FALSE;
}

/* Walks a list, checking Flink/Blink agree and that it returns to its head. */
static ULONG KiCheckList(PLIST_ENTRY Head, ULONG Check)
{
    ULONG n = 0;
    PLIST_ENTRY prev = Head;
    for (PLIST_ENTRY e = Head->Flink; e != Head; prev = e, e = e->Flink) {
        if (e == NULL || e->Blink != prev || ++n > KI_CHECK_MAX_LIST)
            KiInvariantFailed(Check, e, (ULONG_PTR)Head);
    }
    if (Head->Blink != prev)
        KiInvariantFailed(Check, Head, (ULONG_PTR)Head);
    return n;
}

/* A thread's wait blocks that are linked into some object's wait list. */
static BOOLEAN KiHasLinkedWaitBlock(PKTHREAD Thread)
{
    if (Thread->TimerWaitLinked)
        return TRUE;
    for (ULONG i = 0; i < Thread->WaitBlockCount; i++)
        if (Thread->WaitBlockList != NULL && Thread->WaitBlockList[i].BlockState)
            return TRUE;
    return FALSE;
}

static BOOLEAN KiIsCurrentOrStandby(PKTHREAD Thread, ULONG Count)
{
    for (ULONG n = 0; n < Count; n++) {
        PKPRCB prcb = KiProcessorBlock(n);
        if (prcb->CurrentThread == Thread || prcb->NextThread == Thread)
            return TRUE;
    }
    return FALSE;
}

static void KiCheckReadyQueues(ULONG Count)
{
    for (ULONG n = 0; n < Count; n++) {
        PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(n));
        ULONG summary = __atomic_load_n(&p->ReadySummary, __ATOMIC_RELAXED);
        for (ULONG prio = 0; prio < MAXIMUM_PRIORITY; prio++) {
            PLIST_ENTRY head = &p->ReadyListHead[prio];
            ULONG length = KiCheckList(head, KI_INVARIANT_READY_LIST);
            if ((length != 0) != ((summary >> prio) & 1))
                KiInvariantFailed(KI_INVARIANT_READY_SUMMARY, head, ((ULONG_PTR)n << 8) | prio);
            for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
                PKTHREAD t = CONTAINING_RECORD(e, KTHREAD, ReadyListEntry);
                if (KiIsCurrentOrStandby(t, Count))
                    KiInvariantFailed(KI_INVARIANT_READY_RUNNING, t, n);
                if (t->State != Ready)
                    KiInvariantFailed(KI_INVARIANT_READY_STATE, t, t->State);
                if ((ULONG)t->Priority != prio || t->NextProcessor != n)
                    KiInvariantFailed(KI_INVARIANT_READY_QUEUE, t, ((ULONG_PTR)n << 8) | prio);
                if (KiHasLinkedWaitBlock(t))
                    KiInvariantFailed(KI_INVARIANT_READY_AND_WAITING, t, n);
                if (!KiSeenAdd(t))
                    KiInvariantFailed(KI_INVARIANT_READY_QUEUE, t, ((ULONG_PTR)n << 8) | prio);
            }
        }
    }
}

static void KiCheckProcessors(ULONG Count)
{
    for (ULONG n = 0; n < Count; n++) {
        PKPRCB prcb = KiProcessorBlock(n);
        PKTHREAD cur = prcb->CurrentThread;
        if (cur != NULL && cur->State != Running)
            KiInvariantFailed(KI_INVARIANT_CURRENT_STATE, cur, n);
        PKTHREAD next = prcb->NextThread;
        if (next != NULL && next->State != Standby)
            KiInvariantFailed(KI_INVARIANT_STANDBY_STATE, next, n);
    }
}

/* The wait list of Object: well formed, and every block on it names Object
 * and a waiting thread. Returns TRUE if Block is on it. */
static BOOLEAN KiCheckWaitList(PDISPATCHER_HEADER Object, PKWAIT_BLOCK Block)
{
    PLIST_ENTRY head = &Object->WaitListHead;
    KiCheckList(head, KI_INVARIANT_WAIT_LIST);
    BOOLEAN found = FALSE;
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
        PKWAIT_BLOCK wb = CONTAINING_RECORD(e, KWAIT_BLOCK, WaitListEntry);
        if (wb->Object != Object)
            KiInvariantFailed(KI_INVARIANT_WAIT_BLOCK_OBJECT, wb, (ULONG_PTR)Object);
        if (wb->Thread == NULL || wb->Thread->State != Waiting)
            KiInvariantFailed(KI_INVARIANT_WAIT_BLOCK_THREAD, wb, (ULONG_PTR)wb->Thread);
        found |= wb == Block;
    }
    return found;
}

static void KiCheckThread(PKTHREAD t, ULONG Count)
{
    switch (t->State) {
    case Ready:
        if (!KiSeenOverflow && !KiSeenContains(t))
            KiInvariantFailed(KI_INVARIANT_READY_LOST, t, t->NextProcessor);
        break;
    case Running:
        if (!KiIsCurrentOrStandby(t, Count))
            KiInvariantFailed(KI_INVARIANT_RUNNING_NOT_CURRENT, t, t->NextProcessor);
        break;
    case Waiting:
        if (t->WaitBlockCount != 0 && t->WaitBlockList == NULL)
            KiInvariantFailed(KI_INVARIANT_WAITING_UNLINKED, t, 0);
        for (ULONG i = 0; i < t->WaitBlockCount; i++) {
            PKWAIT_BLOCK wb = &t->WaitBlockList[i];
            if (!wb->BlockState)
                continue;
            if (wb->Thread != t || wb->Object == NULL)
                KiInvariantFailed(KI_INVARIANT_WAIT_BLOCK_THREAD, wb, (ULONG_PTR)t);
            if (!KiCheckWaitList(wb->Object, wb))
                KiInvariantFailed(KI_INVARIANT_WAITING_UNLINKED, t, (ULONG_PTR)wb->Object);
        }
        if (t->TimerWaitLinked) {
            PKWAIT_BLOCK twb = &t->WaitBlock[THREAD_WAIT_OBJECTS];
            if (twb->Object != &t->Timer || !KiCheckWaitList(&t->Timer.Header, twb))
                KiInvariantFailed(KI_INVARIANT_WAITING_UNLINKED, t, (ULONG_PTR)&t->Timer);
        }
        break;
    default:
        break;
    }
    if (t->State != Waiting && KiHasLinkedWaitBlock(t))
        KiInvariantFailed(KI_INVARIANT_NOT_WAITING_LINKED, t, t->State);
}

VOID KiCheckDispatcherInvariants(void)
{
    ULONG count = arch_processor_count();
    KiInvariantChecks++;
    KiSeenClear();
    KiCheckProcessors(count);
    KiCheckReadyQueues(count);
    if (KiSystemProcessPointer != NULL) {
        PLIST_ENTRY head = &KiSystemProcess.ThreadListHead;
        KiCheckList(head, KI_INVARIANT_THREAD_LIST);
        for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink)
            KiCheckThread(CONTAINING_RECORD(e, KTHREAD, ThreadListEntry), count);
    }
}

BOOLEAN KiCheckDispatcherInvariantsIfQuiescent(void)
{
    /* A held lock means some processor is part-way through an update that
     * only has to be consistent again when it releases the lock. */
    if (__atomic_load_n(&KiDispatcherLock, __ATOMIC_ACQUIRE) != 0)
        return FALSE;
    KiCheckDispatcherInvariants();
    return TRUE;
}

ULONG64 KiDispatcherInvariantChecks(void)
{
    return KiInvariantChecks;
}
