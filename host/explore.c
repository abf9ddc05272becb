/*
 * Host backend: the interleaving explorer, its scheduling points and the
 * lock-order checker.
 *
 * Scheduling points: the portable kernel calls arch_sched_point(Kind, Object)
 * (include/ntos/arch.h) where real hardware could interleave another
 * processor: spin lock acquire/release, IRQL raise, dispatcher signal and wait,
 * DPC/timer queue insert/remove, IoCallDriver/IoCompleteRequest/IoCancelIrp,
 * pool allocate/free, SLIST operations, waitable lock acquire/release. The
 * inline hook tests arch_sched_points_on, which is set only in virtual-time
 * mode or with NTOS_LOCKDEP=1, so a normal run pays one predictable branch.
 * In virtual time a point is host_vt_point(): the decision function may fire
 * the clock early or hand the run token to another virtual CPU. Spin-loop
 * iterations (arch_pause) are yields: the deciders see host_vt_yielding.
 *
 * Decision functions (installed in each explored child): uniform random; PCT
 * (Burckhardt et al., ASPLOS 2010: random CPU priorities, d-1 random
 * priority-change points, always run the highest-priority runnable CPU); DFS
 * over decision "ranks" (rank 0 = no preemption), bounded by the number of
 * preemptions, one schedule per process, driven by the parent; replay of a
 * recorded trace.
 *
 * Lock-order checker (lockdep-style): on every checked lock acquisition it
 * adds an edge from each lock the thread already holds to the new one, keyed
 * by lock address; a new edge that closes a cycle bug-checks with
 * DRIVER_VERIFIER_DETECTED_VIOLATION (0x1001, held lock, acquired lock, cycle
 * length) after printing the cycle. Shared and exclusive acquisitions both
 * add edges. Try-acquires (ARCH_SP_LOCK_TRY: KeTryToAcquireSpinLockAtDpcLevel,
 * ExTryToAcquireFastMutex, push-lock tries, ERESOURCE Wait=FALSE) add no edges
 * (they cannot block) but a success is recorded as held, so what the thread
 * takes next is ordered after it. Holds carry a recursion depth (a shared
 * resource taken twice and released once is still held). A release for
 * another owner (ARCH_SP_LOCK_OWNER before it: ExReleaseResourceForThreadLite,
 * ExSetResourceOwnerPointer) drops the owner's hold, not the caller's. Raw locks (the dispatcher lock, DPC queue locks, handed between
 * threads by design) are scheduling points only.
 *
 * Locking: in virtual time only the run-token holder executes, so the
 * checker's tables need no lock; in real time (NTOS_LOCKDEP=1) a pthread mutex
 * guards them (no hook is called while it is held, and it is dropped before a
 * bug check). The explorer's shared trace buffer is written by the child's
 * token holder only and read by the parent after the child has exited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ntos/ke.h>
#include <ntos/bugcodes.h>
#include <ntos/ps.h>
#include "explore.h"
#include "host_private.h"

volatile int arch_sched_points_on;

/* ---- explorer state in the child ---------------------------------------------------- */

enum ex_strategy { EX_RANDOM, EX_PCT, EX_DFS, EX_REPLAY, EX_BYTES };

#define EX_MAX_DECISIONS (1u << 20)
#define EX_MAX_PCT_DEPTH 16
/* A scenario still running after this many decisions is reported as a livelock. */
#define EX_LIVELOCK_DECISIONS 400000
/* PCT: a CPU chosen this many times in a row is treated as yielding (a poll
 * loop that does not pause would otherwise starve every lower priority). */
#define EX_PCT_STARVATION 512

/* One decision: kind (4 bits) | choices (8) | rank (8) | value (8) | cost (1). */
typedef struct ex_shared {
    ULONG Count;
    ULONG Overflow;
    ULONG PrefixLength;
    ULONG Pad;
    char Message[1024];
    UCHAR Features[NTOS_EXPLORE_FEATURES]; /* bytes mode: interleaving features (see ex_feature) */
    UCHAR Prefix[EX_MAX_DECISIONS];  /* dfs/replay: forced ranks (dfs) or values (replay) */
    ULONG Entry[EX_MAX_DECISIONS];
} ex_shared;

#define EX_ENTRY(kind, choices, rank, value, cost)                                                 \
    (((ULONG)(kind) & 0xF) | (((ULONG)(choices) & 0xFF) << 4) | (((ULONG)(rank) & 0xFF) << 12) |   \
     (((ULONG)(value) & 0xFF) << 20) | ((ULONG)(cost) << 28))
/* cost: bit 0 = this choice was a preemption, bit 1 = any non-default choice would be */
#define EX_KIND(e) ((e) & 0xF)
#define EX_CHOICES(e) (((e) >> 4) & 0xFF)
#define EX_RANK(e) (((e) >> 12) & 0xFF)
#define EX_VALUE(e) (((e) >> 20) & 0xFF)
#define EX_COST(e) (((e) >> 28) & 1)
#define EX_PREEMPTIBLE(e) (((e) >> 29) & 1)

static struct {
    BOOLEAN Armed;
    enum ex_strategy Strategy;
    ULONG Param;              /* PCT depth / DFS bound */
    ULONG64 Rng;
    ex_shared *Shared;
    ULONG64 ArmTime;
    ULONG64 HangBudget;
    /* PCT */
    LONG Priority[ARCH_MAX_CPUS];
    ULONG ChangePoint[EX_MAX_PCT_DEPTH];
    ULONG Changes;
    ULONG Steps;
    LONG LowestPriority;
    ULONG LastChosen, RunLength;
    /* bytes (libFuzzer): the schedule is read from Prefix, a byte a decision */
    ULONG BytePos;
    BOOLEAN ClockPending;
    BOOLEAN BudgetOnly;       /* NTOS_EXPLORE_DEADLOCK=budget: no exact deadlock check (comparison) */
    /* the kind and object of the scheduling point each CPU last passed */
    UCHAR PointKind[ARCH_MAX_CPUS];
    const void *PointObject[ARCH_MAX_CPUS];
} ex;

static void (*ex_exit_hook)(void);

/* Every exit of an explored child goes through here (the libFuzzer harness
 * copies the child's coverage counters out in the hook). */
static __attribute__((noreturn)) void ex_exit(int Code)
{
    if (ex_exit_hook != NULL)
        ex_exit_hook();
    _exit(Code);
}

void host_explore_child_exiting(void)
{
    if (ex_exit_hook != NULL && ex.Shared != NULL)
        ex_exit_hook();
}

/* Bytes mode: one input byte per RUN_CPU decision (rank = byte % candidates,
 * rank 0 = no preemption); a byte >= 0xF0 also fires the clock early at the
 * next clock decision. No bytes left: rank 0 and no early clock from then on. */
static BOOLEAN ex_byte(UCHAR *Out)
{
    ex_shared *sh = ex.Shared;
    if (ex.BytePos >= sh->PrefixLength)
        return FALSE;
    *Out = sh->Prefix[ex.BytePos++];
    return TRUE;
}

/* Interleaving coverage for the fuzzer: a feature per (kind of point the
 * running CPU is at, kind of point the chosen CPU is parked at, same object,
 * CPU switched). libFuzzer sees them as extra counters, so a schedule that
 * puts two CPUs at a new pair of points (or at the same object) is kept. */
static void ex_feature(ULONG Me, ULONG Chosen)
{
    ULONG a = ex.PointKind[Me] & 31, b = ex.PointKind[Chosen] & 31;
    ULONG same = Me != Chosen && ex.PointObject[Me] != NULL && ex.PointObject[Me] == ex.PointObject[Chosen];
    ULONG f = (((a * 32 + b) * 2 + same) * 2 + (Me != Chosen)) % NTOS_EXPLORE_FEATURES;
    UCHAR *c = &ex.Shared->Features[f];
    if (*c != 0xFF)
        (*c)++;
}

static ULONG64 ex_rand(void)
{
    ULONG64 x = ex.Rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ex.Rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void ex_record(ULONG kind, ULONG choices, ULONG rank, ULONG value, ULONG cost)
{
    ex_shared *sh = ex.Shared;
    if (sh->Count < EX_MAX_DECISIONS)
        sh->Entry[sh->Count++] = EX_ENTRY(kind, choices, rank, value, cost);
    else
        sh->Overflow = 1;
}

/* The RUN_CPU alternatives in rank order: the no-preemption choice first. */
static ULONG ex_ranked(ULONG *order)
{
    ULONG n = host_vt_candidate_count, def = 0;
    ULONG me = host_vt_current;
    if (host_vt_yielding && host_vt_current_included && n > 1) {
        /* A spinner yields: round-robin to the next CPU after it. */
        ULONG mine = 0;
        for (ULONG i = 0; i < n; i++)
            if (host_vt_candidates[i] == me)
                mine = i;
        def = (mine + 1) % n;
    } else if (host_vt_current_included) {
        for (ULONG i = 0; i < n; i++)
            if (host_vt_candidates[i] == me)
                def = i;
    }
    ULONG k = 0;
    order[k++] = def;
    for (ULONG i = 0; i < n; i++)
        if (i != def)
            order[k++] = i;
    return n;
}

static ULONG ex_decide_ready(ULONG Choices);
static ULONG ex_decide_device(ULONG Choices);

static ULONG ex_decide(void *Context, ULONG Kind, ULONG Choices)
{
    (void)Context;
    ULONG order[ARCH_MAX_CPUS];
    if (!ex.Armed) {
        /* Boot and teardown: never preempt, never fire the clock early. */
        if (Kind == HOST_DECIDE_FIRE_CLOCK)
            return 1;
        if (Kind == HOST_DECIDE_FIRE_DEVICE)
            return 0; /* a device line raised outside the scenario arrives at once */
        ex_ranked(order);
        return order[0];
    }
    ex_shared *sh = ex.Shared;
    ULONG index = sh->Count;
    if (index >= EX_LIVELOCK_DECISIONS) {
        ex.Armed = FALSE;
        fprintf(stderr, "ntos explore: livelock: the scenario made %u decisions without finishing\n", index);
        snprintf(sh->Message, sizeof(sh->Message), "livelock (%u decisions)", index);
        fflush(stderr);
        ex_exit(4);
    }
    if (Kind == HOST_DECIDE_FIRE_CLOCK) {
        ULONG v;
        switch (ex.Strategy) {
        case EX_RANDOM:
        case EX_PCT:
            v = (ULONG)(ex_rand() >> 33) % Choices;
            break;
        case EX_REPLAY:
            v = index < sh->PrefixLength ? sh->Prefix[index] : 1;
            break;
        case EX_BYTES:
            v = ex.ClockPending ? 0 : 1;
            ex.ClockPending = FALSE;
            break;
        default:
            v = 1; /* dfs does not branch on early clock interrupts */
            break;
        }
        ex_record(Kind, 2, v == 0, v, 0);
        return v;
    }
    if (Kind == HOST_DECIDE_READY_CHOICE)
        return ex_decide_ready(Choices);
    if (Kind == HOST_DECIDE_FIRE_DEVICE)
        return ex_decide_device(Choices);
    /* A CPU that keeps running without pausing (a poll loop with no
     * arch_pause) is treated as yielding after a while, or a strategy that
     * prefers it (PCT, DFS's no-preemption default) would never finish. */
    if (host_vt_current_included && host_vt_candidate_count > 1 && host_vt_current == ex.LastChosen &&
        ++ex.RunLength >= EX_PCT_STARVATION)
        host_vt_yielding = TRUE;
    ULONG n = ex_ranked(order);
    ULONG rank = 0, value;
    switch (ex.Strategy) {
    case EX_RANDOM:
        value = (ULONG)(ex_rand() >> 33) % n;
        break;
    case EX_PCT: {
        ex.Steps++;
        ULONG me = host_vt_current;
        for (ULONG i = 0; i < ex.Changes; i++)
            if (ex.ChangePoint[i] == ex.Steps)
                ex.Priority[me] = (LONG)i - EX_MAX_PCT_DEPTH; /* below every initial priority */
        if (host_vt_yielding) {
            ex.Priority[me] = --ex.LowestPriority;
            ex.RunLength = 0;
        }
        value = 0;
        for (ULONG i = 1; i < n; i++)
            if (ex.Priority[host_vt_candidates[i]] > ex.Priority[host_vt_candidates[value]])
                value = i;
        break;
    }
    case EX_DFS:
        rank = index < sh->PrefixLength ? sh->Prefix[index] : 0;
        if (rank >= n)
            rank = 0;
        value = order[rank];
        break;
    case EX_BYTES: {
        UCHAR b;
        if (ex_byte(&b)) {
            rank = b % n;
            ex.ClockPending = b >= 0xF0;
        }
        value = order[rank];
        break;
    }
    default: /* replay */
        value = index < sh->PrefixLength ? sh->Prefix[index] : order[0];
        if (value >= n)
            value = order[0];
        break;
    }
    for (ULONG r = 0; r < n; r++)
        if (order[r] == value)
            rank = r;
    /* Choosing other than the default costs a preemption when the current CPU
     * could have gone on; picking among others when it cannot is free. */
    if (host_vt_candidates[value] != ex.LastChosen || host_vt_yielding)
        ex.RunLength = 0;
    ex.LastChosen = host_vt_candidates[value];
    if (ex.Strategy == EX_BYTES)
        ex_feature(host_vt_current, host_vt_candidates[value]);
    ULONG cost = rank != 0 && host_vt_current_included;
    ex_record(Kind, n, rank, value, cost | (host_vt_current_included ? 2 : 0));
    return value;
}

/* ---- scheduling points ------------------------------------------------------------- */

static BOOLEAN ld_on;
static void ld_event(ULONG Kind, const void *Object);
static void ex_check_invariants(void);
static void ex_invariant_stats(void);

void host_explore_boot(void)
{
    const char *s = getenv("NTOS_LOCKDEP");
    ld_on = host.VirtualTime;
    if (s != NULL && *s)
        ld_on = *s != '0';
    if (host.VirtualTime || ld_on)
        __atomic_store_n(&arch_sched_points_on, 1, __ATOMIC_RELEASE);
}

void arch_sched_point_slow(ULONG Kind, const void *Object)
{
    if (!host.Booted)
        return;
    if (ld_on && Object != NULL)
        ld_event(Kind, Object);
    if (!host.VirtualTime)
        return;
    ULONG cpu = host_self()->Number;
    if (cpu < ARCH_MAX_CPUS) {
        ex.PointKind[cpu] = (UCHAR)Kind;
        ex.PointObject[cpu] = Object;
    }
    switch (Kind) {
    case ARCH_SP_SPIN_ACQUIRED:
    case ARCH_SP_MUTEX_ACQUIRED:
    case ARCH_SP_LOCK_OWNER:
        return; /* bookkeeping only: the acquire itself was the point */
    default:
        break;
    }
    ex_check_invariants();
    host_vt_point();
}

/* ---- lock-order checker ------------------------------------------------------------- */

#define LD_NODES 16384      /* power of two */
#define LD_THREADS 1024     /* power of two */
#define LD_HELD 32

typedef struct ld_node {
    const void *Lock;
    ULONG *Edges;
    ULONG EdgeCount, EdgeCap;
    ULONG Visit;
    ULONG Parent;
} ld_node;

/* A thread's (or an ERESOURCE owner pointer's) held locks, each with its
 * recursion depth, so that a shared resource taken twice and released once is
 * still held. */
typedef struct ld_thread {
    const void *Key;
    ULONG Count;
    const void *PendingOwner;   /* ARCH_SP_LOCK_OWNER: the next ACQUIRED/RELEASE acts for it */
    const void *Acquiring;      /* a waiting acquire in progress (for the deadlock report) */
    const void *Held[LD_HELD];
    ULONG Depth[LD_HELD];
} ld_thread;

static ld_node ld_nodes[LD_NODES];
static ld_thread ld_threads[LD_THREADS];
static ULONG ld_node_count;
static ULONG ld_epoch;
static ULONG64 ld_edge_count, ld_event_count;
static pthread_mutex_t ld_mutex = PTHREAD_MUTEX_INITIALIZER;

ULONG64 host_lockdep_edges(void)
{
    return ld_edge_count;
}

ULONG64 host_lockdep_events(void)
{
    return ld_event_count;
}

static ULONG ld_hash(const void *p)
{
    ULONG64 x = (ULONG64)(ULONG_PTR)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (ULONG)x;
}

/* Node index + 1 of a lock, creating it; 0 when the table is full (the
 * checker then ignores the lock rather than guess). */
static ULONG ld_node_of(const void *Lock)
{
    ULONG h = ld_hash(Lock) & (LD_NODES - 1);
    for (ULONG probe = 0; probe < LD_NODES; probe++, h = (h + 1) & (LD_NODES - 1)) {
        if (ld_nodes[h].Lock == Lock)
            return h + 1;
        if (ld_nodes[h].Lock == NULL) {
            if (ld_node_count >= LD_NODES * 3 / 4)
                return 0;
            ld_nodes[h].Lock = Lock;
            ld_node_count++;
            return h + 1;
        }
    }
    return 0;
}

static ld_thread *ld_thread_of(const void *Key)
{
    /* The key's own slot first (a slot emptied earlier in its probe chain
     * must not hide it), then the first free or empty slot. */
    ULONG h = ld_hash(Key) & (LD_THREADS - 1);
    for (ULONG probe = 0; probe < LD_THREADS; probe++, h = (h + 1) & (LD_THREADS - 1)) {
        if (ld_threads[h].Key == Key)
            return &ld_threads[h];
        if (ld_threads[h].Key == NULL)
            break;
    }
    h = ld_hash(Key) & (LD_THREADS - 1);
    for (ULONG probe = 0; probe < LD_THREADS; probe++, h = (h + 1) & (LD_THREADS - 1)) {
        if (ld_threads[h].Key == NULL || (ld_threads[h].Count == 0 && ld_threads[h].PendingOwner == NULL)) {
            ld_threads[h].Key = Key;
            ld_threads[h].Count = 0;
            ld_threads[h].PendingOwner = NULL;
            return &ld_threads[h];
        }
    }
    return NULL;
}

/* Is `to` reachable from `from`? Records parents for the report. */
static BOOLEAN ld_reaches(ULONG from, ULONG to)
{
    static ULONG stack[LD_NODES];
    ULONG sp = 0;
    ld_epoch++;
    stack[sp++] = from;
    ld_nodes[from].Visit = ld_epoch;
    ld_nodes[from].Parent = LD_NODES;
    while (sp > 0) {
        ULONG n = stack[--sp];
        if (n == to)
            return TRUE;
        for (ULONG i = 0; i < ld_nodes[n].EdgeCount; i++) {
            ULONG m = ld_nodes[n].Edges[i];
            if (ld_nodes[m].Visit == ld_epoch)
                continue;
            ld_nodes[m].Visit = ld_epoch;
            ld_nodes[m].Parent = n;
            if (sp < LD_NODES)
                stack[sp++] = m;
        }
    }
    return FALSE;
}

static BOOLEAN ld_add_edge(ULONG a, ULONG b)
{
    ld_node *na = &ld_nodes[a];
    for (ULONG i = 0; i < na->EdgeCount; i++)
        if (na->Edges[i] == b)
            return FALSE;
    if (na->EdgeCount == na->EdgeCap) {
        ULONG cap = na->EdgeCap ? na->EdgeCap * 2 : 4;
        ULONG *e = realloc(na->Edges, cap * sizeof(ULONG));
        if (e == NULL)
            return FALSE;
        na->Edges = e;
        na->EdgeCap = cap;
    }
    na->Edges[na->EdgeCount++] = b;
    ld_edge_count++;
    return TRUE;
}

static const char *ld_kind_name(ULONG Kind)
{
    return Kind == ARCH_SP_SPIN_ACQUIRE ? "spin lock" : "waitable lock";
}

static void ld_event(ULONG Kind, const void *Object)
{
    if (Kind != ARCH_SP_SPIN_ACQUIRE && Kind != ARCH_SP_SPIN_ACQUIRED && Kind != ARCH_SP_SPIN_RELEASE &&
        Kind != ARCH_SP_MUTEX_ACQUIRE && Kind != ARCH_SP_MUTEX_ACQUIRED && Kind != ARCH_SP_MUTEX_RELEASE &&
        Kind != ARCH_SP_LOCK_OWNER)
        return; /* ARCH_SP_LOCK_TRY: no edge; the ACQUIRED that follows a success records the hold */
    const void *key = KeGetCurrentThread();
    if (key == NULL)
        key = KeGetPcr();
    BOOLEAN locked = !host.VirtualTime;
    if (locked)
        pthread_mutex_lock(&ld_mutex);
    ld_event_count++;
    ld_thread *t = ld_thread_of(key);
    if (t == NULL)
        goto out;
    if (Kind == ARCH_SP_LOCK_OWNER) {
        t->PendingOwner = Object;
        goto out;
    }
    if (t->PendingOwner != NULL && Kind != ARCH_SP_SPIN_ACQUIRE && Kind != ARCH_SP_MUTEX_ACQUIRE) {
        /* Released (or handed) for another owner: ExReleaseResourceForThreadLite,
         * ExSetResourceOwnerPointer. */
        const void *owner = t->PendingOwner;
        t->PendingOwner = NULL;
        t = ld_thread_of(owner);
        if (t == NULL)
            goto out;
    }
    switch (Kind) {
    case ARCH_SP_SPIN_ACQUIRE:
    case ARCH_SP_MUTEX_ACQUIRE: {
        t->Acquiring = Object;
        ULONG b = ld_node_of(Object);
        if (b == 0)
            break;
        for (ULONG i = 0; i < t->Count; i++) {
            if (t->Held[i] == Object)
                continue; /* recursion is the lock's own check (shared resources may nest) */
            ULONG a = ld_node_of(t->Held[i]);
            if (a == 0 || !ld_add_edge(a - 1, b - 1))
                continue;
            if (!ld_reaches(b - 1, a - 1))
                continue;
            /* held -> Object is new and Object ->* held already exists: a cycle. */
            ULONG length = 1;
            char line[2048];
            int off = snprintf(line, sizeof(line), "%p", t->Held[i]);
            for (ULONG n = a - 1; n != b - 1 && ld_nodes[n].Parent != LD_NODES; n = ld_nodes[n].Parent) {
                off += snprintf(line + off, sizeof(line) - (size_t)off, " <- %p", ld_nodes[ld_nodes[n].Parent].Lock);
                length++;
                if (off > (int)sizeof(line) - 40)
                    break;
            }
            const void *held = t->Held[i];
            if (locked)
                pthread_mutex_unlock(&ld_mutex);
            fprintf(stderr,
                    "ntos lockdep: lock order cycle: thread %p holds %p and acquires %s %p, but %p was "
                    "acquired before %p elsewhere (order %s)\n",
                    key, held, ld_kind_name(Kind), Object, Object, held, line);
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1001, (ULONG_PTR)held, (ULONG_PTR)Object,
                         length);
        }
        break;
    }
    case ARCH_SP_SPIN_ACQUIRED:
    case ARCH_SP_MUTEX_ACQUIRED: {
        ULONG i;
        if (t->Acquiring == Object)
            t->Acquiring = NULL;
        for (i = 0; i < t->Count && t->Held[i] != Object; i++)
            ;
        if (i < t->Count) {
            t->Depth[i]++; /* recursion (a shared resource, a recursive exclusive one) */
        } else if (t->Count < LD_HELD) {
            t->Held[t->Count] = Object;
            t->Depth[t->Count++] = 1;
        }
        break;
    }
    default: /* release: one level of Object's hold (releases need not nest) */
        for (ULONG i = t->Count; i-- > 0;) {
            if (t->Held[i] != Object)
                continue;
            if (--t->Depth[i] == 0) {
                memmove(&t->Held[i], &t->Held[i + 1], (t->Count - i - 1) * sizeof(t->Held[0]));
                memmove(&t->Depth[i], &t->Depth[i + 1], (t->Count - i - 1) * sizeof(t->Depth[0]));
                t->Count--;
            }
            break;
        }
        break;
    }
out:
    if (locked)
        pthread_mutex_unlock(&ld_mutex);
}

/* Locks the lock-order checker records as held by Thread (for the deadlock report). */
static ULONG ld_held_by(const void *Thread, const void **Out, ULONG Max)
{
    ULONG h = ld_hash(Thread) & (LD_THREADS - 1);
    for (ULONG probe = 0; probe < LD_THREADS; probe++, h = (h + 1) & (LD_THREADS - 1)) {
        if (ld_threads[h].Key == NULL)
            return 0;
        if (ld_threads[h].Key == Thread) {
            ULONG n = ld_threads[h].Count < Max ? ld_threads[h].Count : Max;
            if (Max == 0)
                return ld_threads[h].Count;
            memcpy(Out, ld_threads[h].Held, n * sizeof(Out[0]));
            return n;
        }
    }
    return 0;
}

/* ---- deadlock / hang report --------------------------------------------------------- */

static const char *ex_state_name(UCHAR s)
{
    static const char *names[] = {"Initialized", "Ready", "Running", "Standby", "Terminated",
                                  "Waiting", "Transition", "DeferredReady", "GateWait"};
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const char *ex_object_type_name(UCHAR t)
{
    static const char *names[] = {"NotificationEvent", "SynchronizationEvent", "Mutant", "Process", "Queue",
                                  "Semaphore", "Thread", "Gate", "NotificationTimer", "SynchronizationTimer"};
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "object";
}

static const char *ex_wait_reason_name(UCHAR r)
{
    static const char *names[] = {
        "Executive", "FreePage", "PageIn", "PoolAllocation", "DelayExecution", "Suspended", "UserRequest",
        "WrExecutive", "WrFreePage", "WrPageIn", "WrPoolAllocation", "WrDelayExecution", "WrSuspended",
        "WrUserRequest", "WrEventPair", "WrQueue", "WrLpcReceive", "WrLpcReply", "WrVirtualMemory", "WrPageOut",
        "WrRendezvous", "WrKeyedEvent", "WrTerminated", "WrProcessInSwap", "WrCpuRateControl", "WrCalloutStack",
        "WrKernel", "WrResource", "WrPushLock", "WrMutex", "WrQuantumEnd", "WrDispatchInt", "WrPreempted",
        "WrYieldExecution", "WrFastMutex", "WrGuardedMutex", "WrRundown"};
    return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* Weak: host-only test programs link the backend without the kernel. */
extern KPROCESS *const KiSystemProcessPointer __attribute__((weak));
extern LIST_ENTRY PspActiveProcessHead __attribute__((weak));
extern ULONG64 KiNextTimerDueTime(void) __attribute__((weak));

/* The thread (lockdep key) holding Lock, other than Except; NULL if none known. */
static const void *ld_holder_of(const void *Lock, const void *Except)
{
    for (ULONG h = 0; h < LD_THREADS; h++) {
        if (ld_threads[h].Key == NULL || ld_threads[h].Key == Except)
            continue;
        for (ULONG i = 0; i < ld_threads[h].Count; i++)
            if (ld_threads[h].Held[i] == Lock)
                return ld_threads[h].Key;
    }
    return NULL;
}

static void ex_report_thread(PKTHREAD t)
{
    BOOLEAN idleWorker = t->State == Waiting && t->WaitReason == WrQueue && ld_held_by(t, NULL, 0) == 0;
    fprintf(stderr, "    thread %p priority %d %s", (void *)t, t->Priority, ex_state_name(t->State));
    if (t->State == Waiting) {
        fprintf(stderr, " (%s%s) on", ex_wait_reason_name(t->WaitReason), idleWorker ? ", a worker waiting for work" : "");
        for (ULONG i = 0; i < t->WaitBlockCount && t->WaitBlockList != NULL; i++) {
            PDISPATCHER_HEADER o = t->WaitBlockList[i].Object;
            if (o == NULL)
                continue;
            fprintf(stderr, " %s %p (signal state %d)", ex_object_type_name(o->Type), (void *)o, o->SignalState);
            if (o->Type == MutantObject)
                fprintf(stderr, " owned by thread %p", (void *)((PKMUTANT)o)->OwnerThread);
        }
    }
    ld_thread *lt = NULL;
    ULONG h = ld_hash(t) & (LD_THREADS - 1);
    for (ULONG probe = 0; probe < LD_THREADS && ld_threads[h].Key != NULL; probe++, h = (h + 1) & (LD_THREADS - 1))
        if (ld_threads[h].Key == t)
            lt = &ld_threads[h];
    if (lt != NULL && lt->Acquiring != NULL) {
        const void *owner = ld_holder_of(lt->Acquiring, t);
        fprintf(stderr, "; acquiring lock %p", lt->Acquiring);
        if (owner != NULL)
            fprintf(stderr, " held by %p", owner);
    }
    if (lt != NULL && lt->Count) {
        fprintf(stderr, "; holding");
        for (ULONG i = 0; i < lt->Count; i++)
            fprintf(stderr, " %p%s", lt->Held[i], lt->Depth[i] > 1 ? " (recursively)" : "");
    }
    PLIST_ENTRY mh = &t->MutantListHead;
    if (mh->Flink != NULL && mh->Flink != mh) {
        fprintf(stderr, "; owns mutants");
        for (PLIST_ENTRY m = mh->Flink; m != mh; m = m->Flink)
            fprintf(stderr, " %p", (void *)CONTAINING_RECORD(m, KMUTANT, MutantListEntry));
    }
    fprintf(stderr, "\n");
}

/* Visits every thread of every process (the system process alone when Ps
 * is not linked or not up). Returns FALSE as soon as Fn does. */
static BOOLEAN ex_for_each_thread(BOOLEAN (*Fn)(PKTHREAD Thread, PKPROCESS Process, BOOLEAN First))
{
    if (&PspActiveProcessHead != NULL && PspActiveProcessHead.Flink != NULL &&
        PspActiveProcessHead.Flink != &PspActiveProcessHead) {
        for (PLIST_ENTRY p = PspActiveProcessHead.Flink; p != &PspActiveProcessHead && p != NULL; p = p->Flink) {
            PKPROCESS kp = &CONTAINING_RECORD(p, EPROCESS, ActiveProcessLinks)->Pcb;
            BOOLEAN first = TRUE;
            for (PLIST_ENTRY e = kp->ThreadListHead.Flink; e != &kp->ThreadListHead && e != NULL; e = e->Flink) {
                if (!Fn(CONTAINING_RECORD(e, KTHREAD, ThreadListEntry), kp, first))
                    return FALSE;
                first = FALSE;
            }
        }
        return TRUE;
    }
    if (&KiSystemProcessPointer == NULL || KiSystemProcessPointer == NULL)
        return TRUE;
    PLIST_ENTRY head = &KiSystemProcessPointer->ThreadListHead;
    BOOLEAN first = TRUE;
    for (PLIST_ENTRY e = head->Flink; e != head && e != NULL; e = e->Flink) {
        if (!Fn(CONTAINING_RECORD(e, KTHREAD, ThreadListEntry), KiSystemProcessPointer, first))
            return FALSE;
        first = FALSE;
    }
    return TRUE;
}

static BOOLEAN ex_print_thread(PKTHREAD Thread, PKPROCESS Process, BOOLEAN First)
{
    if (First)
        fprintf(stderr, "  process %p%s:\n", (void *)Process,
                &KiSystemProcessPointer != NULL && Process == KiSystemProcessPointer ? " (system)" : "");
    ex_report_thread(Thread);
    return TRUE;
}

static BOOLEAN ex_thread_stuck(PKTHREAD Thread, PKPROCESS Process, BOOLEAN First)
{
    (void)Process, (void)First;
    /* Ready, standby, deferred-ready or running (other than an idle thread):
     * someone can still make progress. */
    return Thread->State == Waiting || Thread->State == Terminated || Thread->State == Initialized;
}

static void ex_report_threads(void)
{
    ex_for_each_thread(ex_print_thread);
}

/* Every virtual CPU is idle (no ready thread, no DPC or interrupt pending on
 * any of them). If no timer is queued either, nothing can ever wake a thread
 * again: a deadlock, reported at once. Otherwise time jumps to the next clock
 * deadline, and the virtual-time budget is the livelock/hang fallback (threads
 * that keep waking on timeouts without the scenario finishing). */
void host_explore_all_idle(ULONG64 Now)
{
    if (!ex.Armed)
        return;
    BOOLEAN noTimer = &KiNextTimerDueTime != NULL && KiNextTimerDueTime() == ~0ULL;
    if (noTimer && !ex.BudgetOnly && ex_for_each_thread(ex_thread_stuck)) {
        ex.Armed = FALSE;
        fprintf(stderr,
                "ntos explore: DEADLOCK: every thread is waiting, no CPU has work, no DPC, interrupt or timer is "
                "pending (after %u decisions, %llu ms of virtual time). Threads of all processes:\n",
                ex.Shared->Count, (unsigned long long)((Now - ex.ArmTime) / 10000));
        ex_report_threads();
        snprintf(ex.Shared->Message, sizeof(ex.Shared->Message), "deadlock (every thread waiting, nothing pending)");
        fflush(stderr);
        ex_exit(3);
    }
    if (Now < ex.ArmTime + ex.HangBudget)
        return;
    ex.Armed = FALSE;
    fprintf(stderr,
            "ntos explore: hang or livelock: every virtual CPU is idle and the scenario has not finished after "
            "%llu ms of virtual time (%u decisions). Threads of all processes:\n",
            (unsigned long long)((Now - ex.ArmTime) / 10000), ex.Shared->Count);
    ex_report_threads();
    snprintf(ex.Shared->Message, sizeof(ex.Shared->Message), "hang (virtual-time budget spent, every CPU idle)");
    fflush(stderr);
    ex_exit(3);
}

void ntos_explore_fail(const char *Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    char msg[1024];
    vsnprintf(msg, sizeof(msg), Format, ap);
    va_end(ap);
    fprintf(stderr, "ntos explore: %s\n", msg);
    if (ex.Shared != NULL)
        snprintf(ex.Shared->Message, sizeof(ex.Shared->Message), "%s", msg);
    fflush(stderr);
    ex_exit(2);
}

/* ---- the parent: strategies over schedules ------------------------------------------ */

static ULONG64 ex_trace_hash(const ex_shared *sh)
{
    ULONG64 h = 1469598103934665603ULL;
    for (ULONG i = 0; i < sh->Count; i++)
        h = (h ^ (sh->Entry[i] & 0xFF0000F)) * 1099511628211ULL; /* kind and value */
    return h;
}

static int ex_write_trace(const char *Path, const ex_shared *sh, const char *Strategy, ULONG64 Seed)
{
    FILE *f = fopen(Path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "# ntos decision trace: strategy %s seed %llu; one decision a line: kind choices value\n",
            Strategy, (unsigned long long)Seed);
    for (ULONG i = 0; i < sh->Count; i++)
        fprintf(f, "%u %u %u\n", EX_KIND(sh->Entry[i]), EX_CHOICES(sh->Entry[i]), EX_VALUE(sh->Entry[i]));
    fclose(f);
    return 0;
}

static ULONG ex_read_trace(const char *Path, UCHAR *Out, ULONG Max)
{
    FILE *f = fopen(Path, "r");
    if (f == NULL) {
        fprintf(stderr, "ntos explore: cannot open replay trace %s\n", Path);
        exit(1);
    }
    char line[256];
    ULONG n = 0;
    while (n < Max && fgets(line, sizeof(line), f)) {
        unsigned kind, choices, value;
        if (line[0] == '#' || sscanf(line, "%u %u %u", &kind, &choices, &value) != 3)
            continue;
        Out[n++] = (UCHAR)value;
    }
    fclose(f);
    return n;
}

/* DFS: the next prefix after a finished run, or FALSE when the bounded tree is done. */
static BOOLEAN ex_dfs_next(ex_shared *sh, ULONG Bound)
{
    ULONG count = sh->Count;
    /* Preemptions used before each position. */
    static ULONG used[EX_MAX_DECISIONS + 1];
    used[0] = 0;
    for (ULONG i = 0; i < count; i++)
        used[i + 1] = used[i] + EX_COST(sh->Entry[i]);
    for (ULONG i = count; i-- > 0;) {
        ULONG e = sh->Entry[i];
        if (EX_KIND(e) != HOST_DECIDE_RUN_CPU)
            continue;
        ULONG next = EX_RANK(e) + 1;
        if (next >= EX_CHOICES(e))
            continue;
        /* Every rank above 0 costs the same here: a preemption when the
         * current CPU could have gone on. */
        if (used[i] + EX_PREEMPTIBLE(e) > Bound)
            continue;
        for (ULONG j = 0; j < i; j++)
            sh->Prefix[j] = (UCHAR)EX_RANK(sh->Entry[j]);
        sh->Prefix[i] = (UCHAR)next;
        sh->PrefixLength = i + 1;
        return TRUE;
    }
    return FALSE;
}

static ULONG64 ex_env_u64(const char *Name, ULONG64 Default)
{
    const char *s = getenv(Name);
    return s != NULL && *s ? strtoull(s, NULL, 0) : Default;
}

/* Child: boots, arms, runs the scenario, exits 0. */
static __attribute__((noreturn)) void ex_child(ntos_explore_fn Fn, void *Context, ULONG Cpus, ULONG64 Seed,
                                                ULONG64 Hang, ULONG64 EstimatedSteps)
{
    ex.Rng = Seed * 0x9E3779B97F4A7C15ULL + 1;
    if (ex.Strategy == EX_PCT) {
        /* Initial priorities: a random permutation above every change level. */
        for (ULONG i = 0; i < Cpus; i++)
            ex.Priority[i] = EX_MAX_PCT_DEPTH + (LONG)i;
        for (ULONG i = Cpus; i > 1; i--) {
            ULONG j = (ULONG)(ex_rand() >> 33) % i;
            LONG t = ex.Priority[i - 1];
            ex.Priority[i - 1] = ex.Priority[j];
            ex.Priority[j] = t;
        }
        ex.Changes = ex.Param > 1 ? ex.Param - 1 : 0;
        for (ULONG i = 0; i < ex.Changes; i++)
            ex.ChangePoint[i] = 1 + (ULONG)((ex_rand() >> 33) % (EstimatedSteps ? EstimatedSteps : 1));
        ex.LowestPriority = -2 * EX_MAX_PCT_DEPTH;
    }
    host_set_decider(ex_decide, NULL);
    const char *dl = getenv("NTOS_EXPLORE_DEADLOCK");
    ex.BudgetOnly = dl != NULL && strcmp(dl, "budget") == 0;
    /* A schedule that neither finishes nor trips a check in real time. */
    alarm((unsigned)ex_env_u64("NTOS_EXPLORE_TIMEOUT", 60));
    NTOS_HOST_CONFIG config;
    memset(&config, 0, sizeof(config));
    config.Cpus = Cpus;
    config.VirtualTime = TRUE;
    config.Seed = Seed;
    host_boot(&config);
    ex.HangBudget = Hang;
    ex.ArmTime = host_vt_now();
    ex.Armed = TRUE;
    Fn(Context);
    ex.Armed = FALSE;
    ex_invariant_stats();
    fflush(stdout);
    fflush(stderr);
    ex_exit(0);
}

static int ex_cmp_u64(const void *a, const void *b)
{
    ULONG64 x = *(const ULONG64 *)a, y = *(const ULONG64 *)b;
    return x < y ? -1 : x > y;
}

ULONG ntos_explore(ntos_explore_fn Fn, void *Context, const ntos_explore_options *Options,
                   ntos_explore_result *Result)
{
    ntos_explore_result local;
    if (Result == NULL)
        Result = &local;
    memset(Result, 0, sizeof(*Result));
    const char *name = Options->Name ? Options->Name : "scenario";
    ULONG cpus = Options->Cpus ? Options->Cpus : (ULONG)ex_env_u64("NTOS_CPUS", 2);
    if (cpus < 1)
        cpus = 1;
    if (cpus > ARCH_MAX_CPUS)
        cpus = ARCH_MAX_CPUS;
    ULONG schedules = Options->Schedules ? Options->Schedules : 200;
    if (ex_env_u64("NTOS_EXPLORE_LONG", 0))
        schedules = Options->LongSchedules ? Options->LongSchedules : schedules * 50;
    schedules = (ULONG)ex_env_u64("NTOS_SCHEDULES", schedules);
    ULONG64 seed = ex_env_u64("NTOS_SEED", Options->Seed ? Options->Seed : 1);
    ULONG64 hang = Options->HangBudget100ns ? Options->HangBudget100ns : 600000000ULL;
    const char *strategy = getenv("NTOS_EXPLORE");
    if (strategy == NULL || !*strategy)
        strategy = Options->Strategy ? Options->Strategy : "random";

    ex_shared *sh = mmap(NULL, sizeof(ex_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("ntos explore: mmap");
        exit(1);
    }
    ex.Shared = sh;
    ex.Param = 0;
    if (strncmp(strategy, "random", 6) == 0) {
        ex.Strategy = EX_RANDOM;
    } else if (strncmp(strategy, "pct", 3) == 0) {
        ex.Strategy = EX_PCT;
        ex.Param = strategy[3] == ':' ? (ULONG)strtoul(strategy + 4, NULL, 0) : 3;
        if (ex.Param > EX_MAX_PCT_DEPTH)
            ex.Param = EX_MAX_PCT_DEPTH;
    } else if (strncmp(strategy, "dfs", 3) == 0) {
        ex.Strategy = EX_DFS;
        ex.Param = strategy[3] == ':' ? (ULONG)strtoul(strategy + 4, NULL, 0) : 2;
    } else if (strncmp(strategy, "replay:", 7) == 0) {
        ex.Strategy = EX_REPLAY;
        sh->PrefixLength = ex_read_trace(strategy + 7, sh->Prefix, EX_MAX_DECISIONS);
        schedules = 1;
    } else {
        fprintf(stderr, "ntos explore: unknown NTOS_EXPLORE=%s (random | pct:<depth> | dfs:<bound> | replay:<file>)\n",
                strategy);
        exit(1);
    }

    ULONG64 *hashes = calloc(schedules ? schedules : 1, sizeof(ULONG64));
    BOOLEAN rerunIdentical = FALSE;
    ULONG64 steps = 1000, firstSteps = 1000; /* PCT's step estimate used by schedule 1 */
    BOOLEAN inprocess = ex_env_u64("NTOS_EXPLORE_INPROCESS", 0) != 0;
    for (ULONG i = 0; i < schedules; i++) {
        ULONG64 s = seed + i;
        sh->Count = 0;
        sh->Overflow = 0;
        sh->Message[0] = 0;
        if (ex.Strategy != EX_DFS && ex.Strategy != EX_REPLAY)
            sh->PrefixLength = 0;
        if (inprocess)
            ex_child(Fn, Context, cpus, s, hang, steps);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            perror("ntos explore: fork");
            exit(1);
        }
        if (pid == 0)
            ex_child(Fn, Context, cpus, s, hang, steps);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        Result->Schedules++;
        Result->Decisions += sh->Count;
        hashes[i] = ex_trace_hash(sh);
        ULONG runcpu = 0;
        for (ULONG k = 0; k < sh->Count; k++)
            runcpu += EX_KIND(sh->Entry[k]) == HOST_DECIDE_RUN_CPU;
        if (runcpu > steps)
            steps = runcpu;
        if (code != 0) {
            Result->Failures++;
            if (Result->FirstFailure == 0) {
                Result->FirstFailure = i + 1;
                Result->FailedSeed = s;
                Result->FailedStatus = code;
                const char *dir = getenv("NTOS_EXPLORE_DIR");
                snprintf(Result->TraceFile, sizeof(Result->TraceFile), "%s/ntos-explore-%s-%s-%llu.trace",
                         dir && *dir ? dir : ".", name,
                         ex.Strategy == EX_DFS ? "dfs" : ex.Strategy == EX_REPLAY ? "replay" : strategy,
                         (unsigned long long)s);
                for (char *c = strrchr(Result->TraceFile, '/') + 1; *c; c++)
                    if (*c == ':')
                        *c = '_';
                ex_write_trace(Result->TraceFile, sh, strategy, s);
                fprintf(stderr,
                        "ntos explore: %s: schedule %u of %u FAILED (exit status %d%s%s): strategy %s, "
                        "NTOS_SEED=%llu, %u CPUs, %u decisions; trace written to %s\n"
                        "  replay: NTOS_EXPLORE=replay:%s (NTOS_EXPLORE_INPROCESS=1 under a debugger)\n",
                        name, i + 1, schedules, code, sh->Message[0] ? ": " : "", sh->Message, strategy,
                        (unsigned long long)s, cpus, sh->Count, Result->TraceFile, Result->TraceFile);
            }
            if (Options->StopAtFailure || ex.Strategy == EX_REPLAY)
                break;
        }
        if (ex.Strategy == EX_DFS && !ex_dfs_next(sh, ex.Param)) {
            Result->Exhausted = TRUE;
            break;
        }
    }
    /* Determinism self-check: the first schedule again must make exactly the
     * same decisions (same seed, same trace hash). DFS and replay are checked by
     * construction (their decisions are given). */
    if (Result->Schedules > 0 && Result->FirstFailure != 1 && !inprocess &&
        (ex.Strategy == EX_RANDOM || ex.Strategy == EX_PCT)) {
        ULONG64 first = hashes[0];
        sh->Count = 0;
        sh->Overflow = 0;
        sh->PrefixLength = 0;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0)
            ex_child(Fn, Context, cpus, seed, hang, firstSteps);
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (pid < 0 || ex_trace_hash(sh) != first) {
            fprintf(stderr, "ntos explore: %s: NOT DETERMINISTIC: schedule 1 (seed %llu) made different "
                            "decisions when run again\n", name, (unsigned long long)seed);
            Result->Failures++;
        } else {
            rerunIdentical = TRUE;
        }
    }
    qsort(hashes, Result->Schedules, sizeof(ULONG64), ex_cmp_u64);
    for (ULONG i = 0; i < Result->Schedules; i++)
        Result->Distinct += i == 0 || hashes[i] != hashes[i - 1];
    free(hashes);
    printf("ntos explore: %s: %u CPUs, strategy %s: %u schedules (%u distinct), %llu decisions, %u failing%s%s\n",
           name, cpus, strategy, Result->Schedules, Result->Distinct, (unsigned long long)Result->Decisions,
           Result->Failures, Result->Exhausted ? ", bounded search space exhausted" : "",
           rerunIdentical ? ", rerun of schedule 1 identical" : "");
    fflush(stdout);
    munmap(sh, sizeof(ex_shared));
    ex.Shared = NULL;
    return Result->Failures;
}

/* ---- dispatcher invariant checks at scheduling points ------------------------------- */

/* Weak: host-only test programs link the backend without the kernel. */
extern BOOLEAN KiCheckDispatcherInvariantsIfQuiescent(void) __attribute__((weak));

static ULONG64 ex_inv_points, ex_inv_checked;
static LONG ex_inv_every = -1;

/*
 * While a scenario runs (armed), every scheduling point first checks the
 * dispatcher invariants (src/ke/schedcheck.c) when no processor holds the
 * dispatcher lock: the one running virtual CPU sees the state every other CPU
 * left behind at its own last point. A violation bug-checks, which fails the
 * schedule with its trace like any other bug check. NTOS_EXPLORE_INVARIANTS=0
 * turns the checks off, =N checks every Nth point only (default 1: all).
 */
static void ex_check_invariants(void)
{
    if (!ex.Armed || KiCheckDispatcherInvariantsIfQuiescent == NULL)
        return;
    if (ex_inv_every < 0)
        ex_inv_every = (LONG)ex_env_u64("NTOS_EXPLORE_INVARIANTS", 1);
    ex_inv_points++;
    if (ex_inv_every == 0 || ex_inv_points % (ULONG)ex_inv_every != 0)
        return;
    ex_inv_checked += KiCheckDispatcherInvariantsIfQuiescent();
}

/* NTOS_EXPLORE_STATS=1: each schedule prints how many scheduling points it
 * saw, how many invariant checks ran, and how many free scheduler choices
 * (arch_sched_choice) the strategy made and how many of them were not the
 * default (for measuring the checks' cost and the choices' reach). */
static ULONG64 ex_choices, ex_choices_other;
static void ex_invariant_stats(void)
{
    if (ex_env_u64("NTOS_EXPLORE_STATS", 0))
        fprintf(stderr, "ntos explore: %llu scheduling points, %llu invariant checks, %llu scheduler choices "
                        "(%llu not the default)\n",
                (unsigned long long)ex_inv_points, (unsigned long long)ex_inv_checked,
                (unsigned long long)ex_choices, (unsigned long long)ex_choices_other);
}

/* ---- the scheduler's free choices (arch_sched_choice) ------------------------------- */

/*
 * Which idle processor receives a readied thread, which of equally
 * low-priority processors it preempts, which processor's queue it joins: NT's
 * rules allow each alternative, so while a scenario runs the strategy picks.
 * Random and PCT choose uniformly (PCT's priorities are about processors, not
 * about these); DFS always takes the default (0) and does not branch here, so
 * its preemption-bounded tree is unchanged; replay repeats the recorded value.
 * Before the scenario is armed (boot) the default is taken without a decision.
 */
ULONG arch_sched_choice_slow(ULONG Kind, ULONG Choices)
{
    (void)Kind;
    if (!host.VirtualTime || !ex.Armed)
        return 0;
    return host_decide(HOST_DECIDE_READY_CHOICE, Choices);
}

/* A choice that is not about which processor runs (ready-thread placement, a
 * device line's arrival): random and PCT pick uniformly, replay repeats the
 * recording, DFS and the fuzzer's byte strategy take the default 0. */
static ULONG ex_decide_free(ULONG Choices)
{
    ex_shared *sh = ex.Shared;
    ULONG index = sh->Count;
    switch (ex.Strategy) {
    case EX_RANDOM:
    case EX_PCT:
        return (ULONG)(ex_rand() >> 33) % Choices;
    case EX_REPLAY: {
        ULONG value = index < sh->PrefixLength ? sh->Prefix[index] : 0;
        return value < Choices ? value : 0;
    }
    default:
        return 0;
    }
}

static ULONG ex_decide_ready(ULONG Choices)
{
    ULONG value = ex_decide_free(Choices);
    ex_record(HOST_DECIDE_READY_CHOICE, Choices, value, value, 0);
    ex_choices++;
    ex_choices_other += value != 0;
    return value;
}

/* ---- libFuzzer: one schedule from input bytes --------------------------------------- */

static ex_shared *ex_input_shared;

void ntos_explore_set_exit_hook(void (*Hook)(void))
{
    ex_exit_hook = Hook;
}

int ntos_explore_input(ntos_explore_fn Fn, void *Context, ULONG Cpus, const UCHAR *Schedule, ULONG Length,
                       ntos_explore_input_result *Result)
{
    if (ex_input_shared == NULL) {
        /* One mapping for the whole fuzzing session: a fresh 5 MB mapping per
         * input would cost more than many of the runs. */
        ex_input_shared = mmap(NULL, sizeof(ex_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (ex_input_shared == MAP_FAILED) {
            perror("ntos explore: mmap");
            exit(1);
        }
    }
    ex_shared *sh = ex_input_shared;
    if (Cpus < 1)
        Cpus = 1;
    if (Cpus > ARCH_MAX_CPUS)
        Cpus = ARCH_MAX_CPUS;
    if (Length > EX_MAX_DECISIONS)
        Length = EX_MAX_DECISIONS;
    sh->Count = 0;
    sh->Overflow = 0;
    sh->Message[0] = 0;
    memset(sh->Features, 0, sizeof(sh->Features));
    if (Length)
        memcpy(sh->Prefix, Schedule, Length);
    sh->PrefixLength = Length;
    ex.Shared = sh;
    ex.Strategy = EX_BYTES;
    ex.Param = 0;
    ex.BytePos = 0;
    ex.ClockPending = FALSE;
    ex.LastChosen = 0;
    ex.RunLength = 0;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("ntos explore: fork");
        exit(1);
    }
    if (pid == 0)
        ex_child(Fn, Context, Cpus, 1, 600000000ULL, 0);
    /* The parent enforces the real-time limit too: a child stuck before its
     * alarm is armed (or with the signal lost) would hang the fuzzer. */
    int status = 0;
    ULONG64 limit_ms = ex_env_u64("NTOS_EXPLORE_TIMEOUT", 60) * 1000, waited_ms = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        if (waited_ms >= limit_ms) {
            fprintf(stderr, "ntos explore: the child ran for more than %llu s of real time: killed\n",
                    (unsigned long long)(limit_ms / 1000));
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            snprintf(sh->Message, sizeof(sh->Message), "real-time limit exceeded");
            break;
        }
        usleep(waited_ms < 50 ? 200 : 2000);
        waited_ms += waited_ms < 50 ? 1 : 2;
    }
    ex.Shared = NULL;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (Result != NULL) {
        Result->Status = code;
        Result->Decisions = sh->Count;
        Result->Features = sh->Features;
        snprintf(Result->Message, sizeof(Result->Message), "%s", sh->Message);
    }
    return code;
}

/* ---- device interrupt lines (host_device_assert) ---------------------------------- */

/*
 * Whether an asserted, unmasked device interrupt arrives at this point of its
 * CPU (0 = now; devinterrupt.c delivers it at the latest when the CPU lowers
 * its IRQL after having it masked, or idles). Random and PCT choose uniformly
 * among Choices, so it arrives now with odds 1 in Choices and may be delayed
 * across any number of points (PCT's priorities are about processors, and
 * the line's delay is independent of them). DFS takes 0 and does not branch:
 * a line arrives at the first point of its CPU where real hardware could take
 * it, which keeps the preemption-bounded tree what it was; where the
 * interrupt lands relative to the other processors is still explored, by the
 * RUN_CPU decisions around the assert and around that point. Replay repeats
 * the recorded value.
 */
static ULONG ex_decide_device(ULONG Choices)
{
    ULONG value = ex_decide_free(Choices);
    ex_record(HOST_DECIDE_FIRE_DEVICE, Choices, value != 0, value, 0);
    return value;
}
