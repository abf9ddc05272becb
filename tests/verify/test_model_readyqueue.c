/*
 * Model-based property test: ready queues, priorities and boosts
 * (src/ke/sched.c, src/ke/thread.c, src/ke/wait.c) against a reference model,
 * through tests/verify/model.h so a disagreement shrinks to a short reproducer.
 *
 * How the real code is driven, and why: with real threads the order in which
 * they run depends on when clock ticks land (quantum end, round robin, boost
 * decay), which is not deterministic on a loaded host or in QEMU. So the test
 * runs the scheduler's own routines on eight thread objects that never run
 * (no stack, no context), each waiting on its own synchronization event or
 * semaphore with a wait block linked as KeWaitForSingleObject links it:
 * KeSetEvent / KeReleaseSemaphore with a priority increment (KiWaitTest ->
 * KiUnwaitThread: unlink, KiBoostPriority, KiReadyThread), KiReadyThread with
 * Preempted set (how a preempted thread is
 * requeued), KiSelectThread (the choice KiSwapThread and quantum end make),
 * KiQuantumEndPriority (the boost decay KiDispatchInterrupt applies),
 * KeSetPriorityThread and KeSetBasePriorityThread, on processor 0's real
 * ready queues, summary bitmap and standby slot. The test thread plays the
 * processor: it holds processor 0 at DISPATCH_LEVEL for each run (so no
 * dispatch interrupt can switch to a thread object that cannot run) at
 * priority MR_SELF, and the objects' affinity is processor 0 only (so no
 * other processor takes them). Everything is taken out of the queues and the
 * standby slot before IRQL drops.
 *
 * The model (NT's documented rules):
 *  - 32 FIFO queues with a summary bit per non-empty queue; a readied thread
 *    goes to the tail of its priority's queue, a preempted one to the head.
 *  - A readied thread whose priority beats the processor's (the standby
 *    thread's, else the running thread's) becomes the standby thread; one it
 *    displaces goes back to the head of its queue.
 *  - Selection takes the head of the highest non-empty queue (>= a minimum).
 *  - Wake boost: base + increment, capped at 15, only if that is above the
 *    current priority; never for real-time (>= 16) priorities. Each quantum
 *    end takes one level off until the base is reached. At quantum end a
 *    thread of at least the same priority takes over and the old one goes to
 *    its queue's tail (round robin).
 *  - KeSetPriorityThread sets base and current priority (1..31), ends any
 *    boost and requeues a ready thread (head if it had been preempted); a
 *    standby thread lowered below a ready one gives way to it.
 *  - KeSetBasePriorityThread: process base + increment, saturating at +-16,
 *    kept inside the class (1..15 or 16..31); a boost above the new base is
 *    kept (capped at 15); returns the previous increment.
 */
#include "ntos_ke_test.h"
#include "model.h"

#define MR_THREADS 8
#define MR_OPS 700
#define MR_SEEDS 5
#define MR_SELF 9 /* the test thread's priority: what a readied thread must beat */
#define MR_NONE 0xFFu

/* ---- the real side ------------------------------------------------------------- */

static KTHREAD mr_threads[MR_THREADS];
/* What each thread object waits on: even ones a synchronization event, odd
 * ones a semaphore, so a wake is KeSetEvent or KeReleaseSemaphore with an
 * increment, through the real KiWaitTest -> KiUnwaitThread path. */
static KEVENT mr_events[MR_THREADS];
static KSEMAPHORE mr_semaphores[MR_THREADS];
static KPROCESS mr_process[2]; /* variable (base 8) and real-time (base 24) */

static BOOLEAN mr_real_realtime(ULONG I)
{
    return (I & 3) == 3;
}

static void mr_init_thread(ULONG I)
{
    PKTHREAD t = &mr_threads[I];
    PKPROCESS p = &mr_process[mr_real_realtime(I)];
    RtlZeroMemory(t, sizeof(*t));
    t->Process = p;
    t->Priority = (CHAR)p->BasePriority;
    t->BasePriority = (CHAR)p->BasePriority;
    t->Affinity = 1;
    t->QuantumReset = 6;
    t->Quantum = 6;
    t->State = Waiting;
    t->NextProcessor = 0;
    InitializeListHead(&t->ReadyListEntry);
}

/* Thread object I starts waiting on its object: the wait block linked as
 * KeWaitForSingleObject links a one-object wait (src/ke/wait.c). Dispatcher
 * lock held. */
static void mr_block(ULONG I)
{
    PKTHREAD t = &mr_threads[I];
    PKWAIT_BLOCK wb = &t->WaitBlock[0];
    PDISPATCHER_HEADER object = (I & 1) ? &mr_semaphores[I].Header : &mr_events[I].Header;
    wb->Thread = t;
    wb->Object = object;
    wb->WaitType = WaitAny;
    wb->WaitKey = 0;
    wb->BlockState = 1;
    InsertTailList(&object->WaitListHead, &wb->WaitListEntry);
    t->WaitBlockList = t->WaitBlock;
    t->WaitBlockCount = 1;
    t->WaitStatus = 0;
    __atomic_store_n(&t->State, Waiting, __ATOMIC_RELAXED);
}

static LONG mr_index(PKTHREAD T)
{
    for (ULONG i = 0; i < MR_THREADS; i++)
        if (T == &mr_threads[i])
            return (LONG)i;
    return -1;
}

/* ---- the model ---------------------------------------------------------------------- */

enum { MS_WAITING, MS_READY, MS_STANDBY, MS_CURRENT };

typedef struct mr_thread {
    LONG Priority, Base, Decrement;
    BOOLEAN Preempted;
    UCHAR State;
} mr_thread;

static struct {
    mr_thread T[MR_THREADS];
    UCHAR Queue[32][MR_THREADS];
    ULONG Length[32];
    UCHAR Standby, Current;
} mr_m;

static void mq_push(ULONG I, BOOLEAN Head)
{
    ULONG p = (ULONG)mr_m.T[I].Priority;
    if (Head) {
        for (ULONG k = mr_m.Length[p]; k > 0; k--)
            mr_m.Queue[p][k] = mr_m.Queue[p][k - 1];
        mr_m.Queue[p][0] = (UCHAR)I;
    } else {
        mr_m.Queue[p][mr_m.Length[p]] = (UCHAR)I;
    }
    mr_m.Length[p]++;
    mr_m.T[I].State = MS_READY;
}

static void mq_remove(ULONG I)
{
    ULONG p = (ULONG)mr_m.T[I].Priority;
    for (ULONG k = 0; k < mr_m.Length[p]; k++) {
        if (mr_m.Queue[p][k] == I) {
            for (; k + 1 < mr_m.Length[p]; k++)
                mr_m.Queue[p][k] = mr_m.Queue[p][k + 1];
            mr_m.Length[p]--;
            return;
        }
    }
}

/* Head of the highest non-empty queue at or above MinPriority, taken out; or MR_NONE. */
static ULONG mq_select(LONG MinPriority)
{
    for (LONG p = 31; p >= MinPriority && p >= 0; p--) {
        if (mr_m.Length[p]) {
            ULONG i = mr_m.Queue[p][0];
            mq_remove(i);
            return i;
        }
    }
    return MR_NONE;
}

static LONG mq_processor_priority(void)
{
    return mr_m.Standby != MR_NONE ? mr_m.T[mr_m.Standby].Priority : MR_SELF;
}

/* A thread becomes ready: standby if it beats the processor, else queued. */
static void mq_ready(ULONG I)
{
    if (mr_m.T[I].Priority > mq_processor_priority()) {
        ULONG displaced = mr_m.Standby;
        mr_m.Standby = (UCHAR)I;
        mr_m.T[I].State = MS_STANDBY;
        if (displaced != MR_NONE)
            mq_push(displaced, TRUE);
    } else {
        mq_push(I, mr_m.T[I].Preempted);
    }
}

/* A new current priority; the thread keeps or changes its place accordingly. */
static void mq_set_priority(ULONG I, LONG Priority)
{
    mr_thread *t = &mr_m.T[I];
    if (t->Priority == Priority)
        return;
    if (t->State == MS_READY) {
        mq_remove(I);
        t->Priority = Priority;
        mq_ready(I);
    } else if (t->State == MS_STANDBY) {
        t->Priority = Priority;
        ULONG better = mq_select(Priority + 1);
        if (better != MR_NONE) {
            mr_m.Standby = MR_NONE;
            mq_ready(I);
            ULONG displaced = mr_m.Standby;
            mr_m.Standby = (UCHAR)better;
            mr_m.T[better].State = MS_STANDBY;
            if (displaced != MR_NONE)
                mq_push(displaced, TRUE);
        }
    } else {
        t->Priority = Priority;
    }
}

static void mq_boost(ULONG I, LONG Increment)
{
    mr_thread *t = &mr_m.T[I];
    if (t->Priority >= LOW_REALTIME_PRIORITY || Increment <= 0)
        return;
    LONG boosted = t->Base + Increment;
    if (boosted > LOW_REALTIME_PRIORITY - 1)
        boosted = LOW_REALTIME_PRIORITY - 1;
    if (boosted > t->Priority) {
        t->Decrement = boosted - t->Base;
        t->Priority = boosted;
    }
}

/* ---- operations ------------------------------------------------------------------------- */

enum {
    MR_WAKE,        /* A = thread, B % 8 = increment: its event is set / semaphore released */
    MR_SELECT,      /* no current: the processor takes the standby thread or the best ready one */
    MR_PREEMPT,     /* the current thread is preempted: back to the head of its queue */
    MR_QUANTUM_END, /* the current thread's quantum ends: decay, round robin */
    MR_BLOCK,       /* the current thread waits */
    MR_SET_PRIORITY,/* A = thread, B % 33 = priority (0 and 32 are brought into range) */
    MR_SET_BASE,    /* A = thread, B % 37 - 18 = increment */
    MR_KINDS
};

static void mr_describe(void *Context, const model_op *Op, char *Text, ULONG Size)
{
    (void)Context;
    ULONG i = Op->A % MR_THREADS;
    switch (Op->Kind) {
    case MR_WAKE:
        model_say(Text, Size, "%s of waiting thread %u, increment %u", i & 1 ? "KeReleaseSemaphore" : "KeSetEvent", i,
                  Op->B % 8);
        break;
    case MR_SELECT:
        model_say(Text, Size, "processor selects the next thread");
        break;
    case MR_PREEMPT:
        model_say(Text, Size, "current thread preempted");
        break;
    case MR_QUANTUM_END:
        model_say(Text, Size, "current thread's quantum ends");
        break;
    case MR_BLOCK:
        model_say(Text, Size, "current thread blocks");
        break;
    case MR_SET_PRIORITY:
        model_say(Text, Size, "KeSetPriorityThread(thread %u, %u)", i, Op->B % 33);
        break;
    default:
        model_say(Text, Size, "KeSetBasePriorityThread(thread %u, %d)", i, (int)(Op->B % 37) - 18);
        break;
    }
}

/*
 * KiSelectThread, blind to ready threads that are not ours: other threads of
 * the system may be ready for processor 0 while the test holds it (they
 * cannot run before it lowers IRQL). Any taken are put back where they were
 * (the head of their queue, in reverse order). Dispatcher lock held.
 */
static PKTHREAD mr_select_own(LONG MinPriority)
{
    PKTHREAD stash[16];
    ULONG n = 0;
    PKTHREAD t;
    for (;;) {
        t = KiSelectThread(0, MinPriority);
        if (t == NULL || mr_index(t) >= 0 || n == 16)
            break;
        stash[n++] = t;
    }
    while (n > 0) {
        PKTHREAD f = stash[--n];
        PKI_PROCESSOR home = KiProcessor(KiProcessorBlock(f->NextProcessor));
        InsertHeadList(&home->ReadyListHead[(ULONG)f->Priority], &f->ReadyListEntry);
        __atomic_fetch_or(&home->ReadySummary, 1u << f->Priority, __ATOMIC_RELAXED); /* read by idle processors */
    }
    return t;
}

/* The processor (the test) takes T: it is no longer queued or standby. */
static void mr_make_current(PKTHREAD T)
{
    T->State = Waiting; /* not Running: KiSetPriority must not treat it as processor 0's thread */
    T->Preempted = FALSE;
}

static BOOLEAN mr_step(const model_op *Op, char *Why, ULONG WhySize)
{
    ULONG i = Op->A % MR_THREADS;
    PKPRCB prcb = KiProcessorBlock(0);
    KIRQL old;

    switch (Op->Kind) {
    case MR_WAKE: {
        if (mr_m.T[i].State != MS_WAITING)
            return TRUE;
        KPRIORITY increment = (KPRIORITY)(Op->B % 8);
        LONG previous = (i & 1) ? KeReleaseSemaphore(&mr_semaphores[i], increment, 1, FALSE)
                                : KeSetEvent(&mr_events[i], increment, FALSE);
        mq_boost(i, (LONG)increment);
        mq_ready(i);
        LONG left = (i & 1) ? mr_semaphores[i].Header.SignalState : mr_events[i].Header.SignalState;
        if (previous != 0 || left != 0 || mr_threads[i].WaitStatus != STATUS_WAIT_0) {
            model_say(Why, WhySize, "wake of thread %u: previous state %d, state after %d, wait status 0x%x", i,
                      (int)previous, (int)left, (ULONG)mr_threads[i].WaitStatus);
            return FALSE;
        }
        return TRUE;
    }
    case MR_SELECT: {
        if (mr_m.Current != MR_NONE)
            return TRUE;
        old = KiAcquireDispatcherLock();
        PKTHREAD t = prcb->NextThread;
        if (t != NULL && mr_index(t) >= 0)
            __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
        else
            t = mr_select_own(0);
        if (t != NULL && mr_index(t) >= 0)
            mr_make_current(t);
        KiReleaseDispatcherLock(old);
        ULONG expect = mr_m.Standby;
        if (expect != MR_NONE)
            mr_m.Standby = MR_NONE;
        else
            expect = mq_select(0);
        if (expect != MR_NONE) {
            mr_m.Current = (UCHAR)expect;
            mr_m.T[expect].State = MS_CURRENT;
            mr_m.T[expect].Preempted = FALSE;
        }
        if ((t == NULL ? (LONG)MR_NONE : mr_index(t)) != (LONG)expect) {
            model_say(Why, WhySize, "selected thread %d, model expects %d", t ? (int)mr_index(t) : -1,
                      expect == MR_NONE ? -1 : (int)expect);
            return FALSE;
        }
        return TRUE;
    }
    case MR_PREEMPT: {
        ULONG c = mr_m.Current;
        if (c == MR_NONE)
            return TRUE;
        old = KiAcquireDispatcherLock();
        mr_threads[c].Preempted = TRUE;
        KiReadyThread(&mr_threads[c]);
        KiReleaseDispatcherLock(old);
        mr_m.Current = MR_NONE;
        mr_m.T[c].Preempted = TRUE;
        mq_ready(c);
        return TRUE;
    }
    case MR_QUANTUM_END: {
        ULONG c = mr_m.Current;
        if (c == MR_NONE)
            return TRUE;
        old = KiAcquireDispatcherLock();
        KiQuantumEndPriority(&mr_threads[c]);
        PKTHREAD t = mr_select_own(mr_threads[c].Priority);
        if (t != NULL && mr_index(t) >= 0) {
            mr_make_current(t);
            KiReadyThread(&mr_threads[c]);
        }
        KiReleaseDispatcherLock(old);
        mr_thread *m = &mr_m.T[c];
        if (m->Decrement > 0 && m->Priority < LOW_REALTIME_PRIORITY) {
            m->Decrement--;
            m->Priority--;
        }
        ULONG expect = mq_select(m->Priority);
        if (expect != MR_NONE) {
            mr_m.Current = (UCHAR)expect;
            mr_m.T[expect].State = MS_CURRENT;
            mr_m.T[expect].Preempted = FALSE;
            mq_ready(c);
        }
        if ((t == NULL ? (LONG)MR_NONE : mr_index(t)) != (LONG)expect) {
            model_say(Why, WhySize, "at quantum end of thread %u the next is %d, model expects %d", c,
                      t ? (int)mr_index(t) : -1, expect == MR_NONE ? -1 : (int)expect);
            return FALSE;
        }
        return TRUE;
    }
    case MR_BLOCK:
        if (mr_m.Current != MR_NONE) {
            old = KiAcquireDispatcherLock();
            mr_block(mr_m.Current);
            KiReleaseDispatcherLock(old);
            mr_m.T[mr_m.Current].State = MS_WAITING;
            mr_m.Current = MR_NONE;
        }
        return TRUE;
    case MR_SET_PRIORITY: {
        KPRIORITY p = (KPRIORITY)(Op->B % 33);
        KPRIORITY got = KeSetPriorityThread(&mr_threads[i], p);
        LONG expect = mr_m.T[i].Priority;
        LONG clamped = p < 1 ? 1 : p > 31 ? 31 : p;
        mr_m.T[i].Base = clamped;
        mr_m.T[i].Decrement = 0;
        mq_set_priority(i, clamped);
        if (got != expect) {
            model_say(Why, WhySize, "KeSetPriorityThread returned %d, model expects the old priority %d", (int)got,
                      (int)expect);
            return FALSE;
        }
        return TRUE;
    }
    default: {
        LONG inc = (LONG)(Op->B % 37) - 18;
        LONG got = KeSetBasePriorityThread(&mr_threads[i], inc);
        mr_thread *t = &mr_m.T[i];
        LONG pb = mr_process[mr_real_realtime(i)].BasePriority;
        LONG expect = t->Base - pb;
        LONG low = pb >= LOW_REALTIME_PRIORITY ? LOW_REALTIME_PRIORITY : 1;
        LONG high = pb >= LOW_REALTIME_PRIORITY ? HIGH_PRIORITY : LOW_REALTIME_PRIORITY - 1;
        LONG base = inc >= 16 ? high : inc <= -16 ? low : pb + inc;
        base = base < low ? low : base > high ? high : base;
        LONG priority = base;
        if (base < LOW_REALTIME_PRIORITY && t->Priority > base && t->Decrement > 0) {
            priority = base + t->Decrement;
            if (priority > LOW_REALTIME_PRIORITY - 1)
                priority = LOW_REALTIME_PRIORITY - 1;
            t->Decrement = priority - base;
        } else {
            t->Decrement = 0;
        }
        t->Base = base;
        mq_set_priority(i, priority);
        if (got != expect) {
            model_say(Why, WhySize, "KeSetBasePriorityThread returned %d, model expects %d", (int)got, (int)expect);
            return FALSE;
        }
        return TRUE;
    }
    }
}

/* Priorities, states, processor 0's queues, summary and standby slot against the model. */
static BOOLEAN mr_compare(char *Why, ULONG WhySize)
{
    PKPRCB prcb = KiProcessorBlock(0);
    PKI_PROCESSOR p = KiProcessor(prcb);
    BOOLEAN ok = TRUE;
    KIRQL old = KiAcquireDispatcherLock();

    for (ULONG i = 0; i < MR_THREADS && ok; i++) {
        PKTHREAD t = &mr_threads[i];
        mr_thread *m = &mr_m.T[i];
        UCHAR want = m->State == MS_READY ? Ready : m->State == MS_STANDBY ? Standby : Waiting;
        if (t->Priority != m->Priority || t->BasePriority != m->Base || t->PriorityDecrement != m->Decrement ||
            t->State != want) {
            model_say(Why, WhySize,
                      "thread %u: priority %d base %d boost %d state %u, model priority %d base %d boost %d state %u",
                      i, t->Priority, t->BasePriority, t->PriorityDecrement, t->State, (int)m->Priority,
                      (int)m->Base, (int)m->Decrement, want);
            ok = FALSE;
        }
    }
    PKTHREAD standby = prcb->NextThread;
    if (ok && (mr_m.Standby != MR_NONE || (standby != NULL && mr_index(standby) >= 0)) &&
        mr_index(standby) != (mr_m.Standby == MR_NONE ? -1 : (LONG)mr_m.Standby)) {
        model_say(Why, WhySize, "standby thread %d, model expects %d", standby ? (int)mr_index(standby) : -1,
                  mr_m.Standby == MR_NONE ? -1 : (int)mr_m.Standby);
        ok = FALSE;
    }
    ULONG summary = __atomic_load_n(&p->ReadySummary, __ATOMIC_RELAXED);
    for (ULONG prio = 0; prio < 32 && ok; prio++) {
        PLIST_ENTRY head = &p->ReadyListHead[prio];
        if (((summary >> prio) & 1) != !IsListEmpty(head)) {
            model_say(Why, WhySize, "summary bit %u is %u but the queue is %s", prio, (summary >> prio) & 1,
                      IsListEmpty(head) ? "empty" : "not empty");
            ok = FALSE;
            break;
        }
        ULONG k = 0;
        for (PLIST_ENTRY e = head->Flink; e != head && ok; e = e->Flink) {
            LONG i = mr_index(CONTAINING_RECORD(e, KTHREAD, ReadyListEntry));
            if (i < 0)
                continue; /* somebody else's ready thread */
            if (k >= mr_m.Length[prio] || mr_m.Queue[prio][k] != (UCHAR)i) {
                model_say(Why, WhySize, "queue %u position %u holds thread %d, model expects %d", prio, k, (int)i,
                          k < mr_m.Length[prio] ? (int)mr_m.Queue[prio][k] : -1);
                ok = FALSE;
            }
            k++;
        }
        if (ok && k != mr_m.Length[prio]) {
            model_say(Why, WhySize, "queue %u holds %u of the threads, model %u", prio, k, mr_m.Length[prio]);
            ok = FALSE;
        }
    }
    KiReleaseDispatcherLock(old);
    return ok;
}

/* Takes every thread object out of processor 0's queues and standby slot. */
static void mr_cleanup(void)
{
    PKPRCB prcb = KiProcessorBlock(0);
    PKI_PROCESSOR p = KiProcessor(prcb);
    KIRQL old = KiAcquireDispatcherLock();
    if (prcb->NextThread != NULL && mr_index(prcb->NextThread) >= 0)
        __atomic_store_n(&prcb->NextThread, NULL, __ATOMIC_RELAXED);
    for (ULONG prio = 0; prio < 32; prio++) {
        PLIST_ENTRY head = &p->ReadyListHead[prio];
        for (PLIST_ENTRY e = head->Flink; e != head;) {
            PLIST_ENTRY next = e->Flink;
            if (mr_index(CONTAINING_RECORD(e, KTHREAD, ReadyListEntry)) >= 0)
                RemoveEntryList(e);
            e = next;
        }
        /* Atomic like the scheduler's own updates: idle processors read it without the lock. */
        if (IsListEmpty(head))
            __atomic_fetch_and(&p->ReadySummary, ~(1u << prio), __ATOMIC_RELAXED);
        else
            __atomic_fetch_or(&p->ReadySummary, 1u << prio, __ATOMIC_RELAXED);
    }
    for (ULONG i = 0; i < MR_THREADS; i++)
        mr_threads[i].State = Waiting;
    KiReleaseDispatcherLock(old);
}

static ULONG mr_run(void *Context, const model_op *Ops, ULONG Count, char *Why, ULONG WhySize)
{
    (void)Context;
    ULONG failed = 0;
    KIRQL irql;

    KeRaiseIrql(DISPATCH_LEVEL, &irql);
    RtlZeroMemory(&mr_m, sizeof(mr_m));
    mr_m.Standby = mr_m.Current = MR_NONE;
    for (ULONG i = 0; i < MR_THREADS; i++) {
        KeInitializeEvent(&mr_events[i], SynchronizationEvent, FALSE);
        KeInitializeSemaphore(&mr_semaphores[i], 0, 1);
        mr_init_thread(i);
        KIRQL old = KiAcquireDispatcherLock();
        mr_block(i);
        KiReleaseDispatcherLock(old);
        mr_m.T[i].Priority = mr_m.T[i].Base = mr_threads[i].Priority;
        mr_m.T[i].State = MS_WAITING;
    }
    for (ULONG k = 0; k < Count; k++) {
        if (!mr_step(&Ops[k], Why, WhySize) || !mr_compare(Why, WhySize)) {
            failed = k + 1;
            break;
        }
    }
    mr_cleanup();
    KeLowerIrql(irql);
    return failed;
}

static model_op mr_ops[MR_OPS];

/*
 * Lets every other thread that is ready for processor 0 run first (sleeping
 * hands the processor over), so the test starts with no foreign thread in
 * processor 0's queues: one there would legitimately take part in
 * KiSetPriority's choice of a standby thread, which the model cannot know.
 */
static void mr_settle(void)
{
    for (int i = 0; i < 200; i++) {
        BOOLEAN foreign = FALSE;
        KIRQL old = KiAcquireDispatcherLock();
        PKI_PROCESSOR p = KiProcessor(KiProcessorBlock(0));
        foreign = __atomic_load_n(&p->ReadySummary, __ATOMIC_RELAXED) != 0 || KiProcessorBlock(0)->NextThread != NULL;
        KiReleaseDispatcherLock(old);
        if (!foreign)
            return;
        kt_sleep_ms(1);
    }
}

static void model_readyqueue_random_sequences(void **state)
{
    (void)state;
    model_spec spec = {"readyqueue", mr_run, mr_describe, NULL};
    KeInitializeProcess(&mr_process[0], 8, 1);
    KeInitializeProcess(&mr_process[1], 24, 1);
    /* Processor 0, at a known priority (what readied threads must beat). */
    KAFFINITY saved = KeSetSystemAffinityThreadEx(1);
    KPRIORITY previous = KeSetPriorityThread(KeGetCurrentThread(), MR_SELF);
    for (uint64_t seed = 1; seed <= MR_SEEDS; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        model_generate(&rng, mr_ops, MR_OPS, MR_KINDS, MR_THREADS, 1000, 0);
        mr_settle();
        model_check(&spec, seed, mr_ops, MR_OPS, NULL);
    }
    KeSetPriorityThread(KeGetCurrentThread(), previous);
    KeRevertToUserAffinityThreadEx(saved);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_readyqueue_random_sequences),
};

NTOS_TEST_GROUP(verify_model_readyqueue, tests, NULL, NULL);
