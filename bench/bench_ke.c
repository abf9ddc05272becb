/*
 * Ke and Ex synchronisation primitives against their Linux (glibc) peers.
 *
 *  irql_raise_lower_1          KeRaiseIrql(DISPATCH_LEVEL)+KeLowerIrql    a thread-local store pair
 *  spinlock_1                  KeAcquireSpinLock+KeReleaseSpinLock         pthread_spin_lock+unlock
 *  spinlock_at_dpc_1           KeAcquireSpinLockAtDpcLevel+release (IRQL already DISPATCH_LEVEL:
 *                              the same work as the peer)              pthread_spin_lock+unlock
 *  queued_spinlock_1           KeAcquireInStackQueuedSpinLock+Release      pthread_spin_lock+unlock
 *  spinlock_contended_all_cpus one thread per CPU on one lock              the same with pthread_spin
 *  queued_spinlock_contended_all_cpus  the same with the in-stack queued lock
 *  fast_mutex_1                ExAcquireFastMutex+ExReleaseFastMutex       pthread_mutex_lock+unlock
 *  guarded_mutex_1             KeAcquireGuardedMutex+KeReleaseGuardedMutex pthread_mutex_lock+unlock
 *  eresource_exclusive_1       critical region + ExAcquireResourceExclusiveLite + release
 *                                                                          pthread_rwlock_wrlock+unlock
 *  eresource_shared_1          the same, shared                            pthread_rwlock_rdlock+unlock
 *  event_pingpong              two threads on two CPUs, synchronization events, KeSetEvent +
 *                              KeWaitForSingleObject; one op = one round trip
 *                                                                          mutex+condvar ping-pong
 *  context_switch_yield        two threads on one CPU, ZwYieldExecution; one op = one switch
 *                                                                          sched_yield, two threads
 *                                                                          pinned to one host CPU
 *  dpc_local_latency           KeInsertQueueDpc at PASSIVE_LEVEL on this CPU until the routine ran
 *                                                                          pthread_kill(self) + handler
 *  dpc_remote_latency          KeInsertQueueDpc targeted at another CPU, spin until it ran
 *                                                                          eventfd write waking a
 *                                                                          thread on another CPU
 *  timer_expiry_lateness       KeSetTimer(1 ms relative) + wait; op = ns late past the due time
 *                                                                          clock_nanosleep(1 ms)
 *
 * Uncontended single-thread cases use CPU time; the cases with two threads
 * that hand work to each other (ping-pong, yield, DPC, timer) use wall time,
 * since the interesting cost is the latency, idle time included.
 *
 * Not equivalent work, and why the ratio still says something: the IRQL
 * peer is two plain stores (NT's raise also checks the new level and lower
 * checks for pending software interrupts); a kernel thread switch on the
 * host backend is a user-space stack switch, where sched_yield enters the
 * Linux kernel; the signal peer of the local DPC goes through the kernel,
 * the ntos DPC does not.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <ntos/arch.h>
#include <ntos/ex_sync.h>
#include <ntos/ke.h>

#include "bench.h"

/* ---- IRQL --------------------------------------------------------------------------------- */

static uint64_t ntos_irql(uint64_t ops)
{
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeLowerIrql(old);
    }
    return bench_cpu_ns() - t0;
}

static __thread volatile unsigned char peer_tls_level;

static uint64_t peer_irql(uint64_t ops)
{
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        unsigned char old = peer_tls_level;
        peer_tls_level = 2;
        __asm__ volatile("" ::: "memory");
        peer_tls_level = old;
        __asm__ volatile("" ::: "memory");
    }
    return bench_cpu_ns() - t0;
}

/* ---- spin locks --------------------------------------------------------------------------- */

static KSPIN_LOCK ntos_lock;
static pthread_spinlock_t peer_lock;
static volatile uint64_t shared_counter; /* the critical section: one shared write */

static void peer_lock_init(void)
{
    static int done;
    if (!done) {
        pthread_spin_init(&peer_lock, PTHREAD_PROCESS_PRIVATE);
        done = 1;
    }
}

static void ntos_spin_loop(uint64_t ops)
{
    for (uint64_t i = 0; i < ops; i++) {
        KIRQL old;
        KeAcquireSpinLock(&ntos_lock, &old);
        shared_counter++;
        KeReleaseSpinLock(&ntos_lock, old);
    }
}

static void ntos_queued_loop(uint64_t ops)
{
    for (uint64_t i = 0; i < ops; i++) {
        KLOCK_QUEUE_HANDLE h;
        KeAcquireInStackQueuedSpinLock(&ntos_lock, &h);
        shared_counter++;
        KeReleaseInStackQueuedSpinLock(&h);
    }
}

static void peer_spin_loop(uint64_t ops)
{
    for (uint64_t i = 0; i < ops; i++) {
        pthread_spin_lock(&peer_lock);
        shared_counter++;
        pthread_spin_unlock(&peer_lock);
    }
}

static uint64_t ntos_spin_1(uint64_t ops)
{
    uint64_t t0 = bench_cpu_ns();
    ntos_spin_loop(ops);
    return bench_cpu_ns() - t0;
}

/* The work pthread_spin does: the lock alone, IRQL already at DISPATCH_LEVEL
 * (as in a DPC routine). */
static uint64_t ntos_spin_at_dpc_1(uint64_t ops)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        KeAcquireSpinLockAtDpcLevel(&ntos_lock);
        shared_counter++;
        KeReleaseSpinLockFromDpcLevel(&ntos_lock);
    }
    uint64_t t = bench_cpu_ns() - t0;
    KeLowerIrql(old);
    return t;
}

static uint64_t ntos_queued_1(uint64_t ops)
{
    uint64_t t0 = bench_cpu_ns();
    ntos_queued_loop(ops);
    return bench_cpu_ns() - t0;
}

static uint64_t peer_spin_1(uint64_t ops)
{
    peer_lock_init();
    uint64_t t0 = bench_cpu_ns();
    peer_spin_loop(ops);
    return bench_cpu_ns() - t0;
}

/* Contended: one thread per processor, CPU time summed over the threads. */
typedef struct contended {
    void (*loop)(uint64_t ops);
    uint64_t ops;
    uint64_t cpu_ns[64];
} contended;

static void contended_body(unsigned index, void *context)
{
    contended *c = context;
    uint64_t t0 = bench_cpu_ns();
    c->loop(c->ops);
    c->cpu_ns[index] = bench_cpu_ns() - t0;
}

static uint64_t run_contended(int ntos, void (*loop)(uint64_t), uint64_t ops)
{
    static contended c;
    unsigned n = bench_cpus() > 64 ? 64 : bench_cpus();
    c.loop = loop;
    c.ops = ops;
    bench_run_threads(ntos, n, NULL, contended_body, &c);
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += c.cpu_ns[i];
    return total;
}

static uint64_t ntos_spin_all(uint64_t ops)
{
    return run_contended(1, ntos_spin_loop, ops);
}

static uint64_t ntos_queued_all(uint64_t ops)
{
    return run_contended(1, ntos_queued_loop, ops);
}

static uint64_t peer_spin_all(uint64_t ops)
{
    peer_lock_init();
    return run_contended(0, peer_spin_loop, ops);
}

/* ---- mutexes and resources ---------------------------------------------------------------- */

static FAST_MUTEX ntos_fast_mutex;
static KGUARDED_MUTEX ntos_guarded_mutex;
static ERESOURCE ntos_resource;
static pthread_mutex_t peer_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t peer_rwlock = PTHREAD_RWLOCK_INITIALIZER;

static void ntos_sync_init(void)
{
    static int done;
    if (!done) {
        ExInitializeFastMutex(&ntos_fast_mutex);
        KeInitializeGuardedMutex(&ntos_guarded_mutex);
        if (!NT_SUCCESS(ExInitializeResourceLite(&ntos_resource)))
            abort();
        done = 1;
    }
}

static uint64_t ntos_fast_mutex_1(uint64_t ops)
{
    ntos_sync_init();
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        ExAcquireFastMutex(&ntos_fast_mutex);
        shared_counter++;
        ExReleaseFastMutex(&ntos_fast_mutex);
    }
    return bench_cpu_ns() - t0;
}

static uint64_t ntos_guarded_mutex_1(uint64_t ops)
{
    ntos_sync_init();
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        KeAcquireGuardedMutex(&ntos_guarded_mutex);
        shared_counter++;
        KeReleaseGuardedMutex(&ntos_guarded_mutex);
    }
    return bench_cpu_ns() - t0;
}

static uint64_t peer_mutex_1(uint64_t ops)
{
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        pthread_mutex_lock(&peer_mutex);
        shared_counter++;
        pthread_mutex_unlock(&peer_mutex);
    }
    return bench_cpu_ns() - t0;
}

/* An ERESOURCE must be acquired inside a critical region (normal kernel APCs
 * disabled), so the region is part of the operation as it is for any caller. */
static uint64_t ntos_resource_1(uint64_t ops, int shared)
{
    ntos_sync_init();
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        KeEnterCriticalRegion();
        if (shared)
            ExAcquireResourceSharedLite(&ntos_resource, TRUE);
        else
            ExAcquireResourceExclusiveLite(&ntos_resource, TRUE);
        shared_counter++;
        ExReleaseResourceLite(&ntos_resource);
        KeLeaveCriticalRegion();
    }
    return bench_cpu_ns() - t0;
}

static uint64_t ntos_resource_exclusive_1(uint64_t ops)
{
    return ntos_resource_1(ops, 0);
}

static uint64_t ntos_resource_shared_1(uint64_t ops)
{
    return ntos_resource_1(ops, 1);
}

static uint64_t peer_rwlock_1(uint64_t ops, int shared)
{
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        if (shared)
            pthread_rwlock_rdlock(&peer_rwlock);
        else
            pthread_rwlock_wrlock(&peer_rwlock);
        shared_counter++;
        pthread_rwlock_unlock(&peer_rwlock);
    }
    return bench_cpu_ns() - t0;
}

static uint64_t peer_rwlock_write_1(uint64_t ops)
{
    return peer_rwlock_1(ops, 0);
}

static uint64_t peer_rwlock_read_1(uint64_t ops)
{
    return peer_rwlock_1(ops, 1);
}

/* ---- event ping-pong ---------------------------------------------------------------------- */

static KEVENT ping_event[2];
static uint64_t pingpong_ops;

static void ntos_pingpong_body(unsigned index, void *context)
{
    (void)context;
    for (uint64_t i = 0; i < pingpong_ops; i++) {
        if (index == 0) {
            KeSetEvent(&ping_event[0], 0, FALSE);
            KeWaitForSingleObject(&ping_event[1], Executive, KernelMode, FALSE, NULL);
        } else {
            KeWaitForSingleObject(&ping_event[0], Executive, KernelMode, FALSE, NULL);
            KeSetEvent(&ping_event[1], 0, FALSE);
        }
    }
}

static uint64_t ntos_pingpong(uint64_t ops)
{
    KeInitializeEvent(&ping_event[0], SynchronizationEvent, FALSE);
    KeInitializeEvent(&ping_event[1], SynchronizationEvent, FALSE);
    pingpong_ops = ops;
    static const unsigned cpus[2] = {0, 1};
    return bench_run_threads(1, 2, cpus, ntos_pingpong_body, NULL);
}

/* The peer: a binary semaphore per direction from a mutex and a condition
 * variable, what a synchronization event is. */
typedef struct peer_event {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int signaled;
} peer_event;

static peer_event peer_ping[2] = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
                                  {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}};

static void peer_event_set(peer_event *e)
{
    pthread_mutex_lock(&e->mutex);
    e->signaled = 1;
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->mutex);
}

static void peer_event_wait(peer_event *e)
{
    pthread_mutex_lock(&e->mutex);
    while (!e->signaled)
        pthread_cond_wait(&e->cond, &e->mutex);
    e->signaled = 0; /* auto-reset */
    pthread_mutex_unlock(&e->mutex);
}

static void peer_pingpong_body(unsigned index, void *context)
{
    (void)context;
    for (uint64_t i = 0; i < pingpong_ops; i++) {
        if (index == 0) {
            peer_event_set(&peer_ping[0]);
            peer_event_wait(&peer_ping[1]);
        } else {
            peer_event_wait(&peer_ping[0]);
            peer_event_set(&peer_ping[1]);
        }
    }
}

static uint64_t peer_pingpong(uint64_t ops)
{
    peer_ping[0].signaled = peer_ping[1].signaled = 0;
    pingpong_ops = ops;
    static const unsigned cpus[2] = {0, 1};
    return bench_run_threads(0, 2, cpus, peer_pingpong_body, NULL);
}

/* ---- context switch ----------------------------------------------------------------------- */

static uint64_t yield_ops;

static void ntos_yield_body(unsigned index, void *context)
{
    (void)index;
    (void)context;
    for (uint64_t i = 0; i < yield_ops; i++)
        ZwYieldExecution();
}

static void peer_yield_body(unsigned index, void *context)
{
    (void)index;
    (void)context;
    for (uint64_t i = 0; i < yield_ops; i++)
        sched_yield();
}

/* Both threads on one processor, each yields `ops` times: 2 * ops switches
 * when the other thread is always ready; the result is per switch. */
static uint64_t ntos_yield(uint64_t ops)
{
    static const unsigned cpus[2] = {0, 0};
    yield_ops = ops;
    return bench_run_threads(1, 2, cpus, ntos_yield_body, NULL) / 2;
}

static uint64_t peer_yield(uint64_t ops)
{
    static const unsigned cpus[2] = {0, 0};
    yield_ops = ops;
    return bench_run_threads(0, 2, cpus, peer_yield_body, NULL) / 2;
}

/* ---- DPC latency -------------------------------------------------------------------------- */

static KDPC bench_dpc;
static volatile LONG dpc_ran;

static VOID NTAPI bench_dpc_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    __atomic_store_n(&dpc_ran, 1, __ATOMIC_RELEASE);
}

static uint64_t ntos_dpc(uint64_t ops, int remote)
{
    /* Runs on processor 0 (the boot thread); the remote DPC goes to 1. */
    KeSetSystemAffinityThread(1);
    KeInitializeDpc(&bench_dpc, bench_dpc_routine, NULL);
    if (remote && bench_cpus() > 1)
        KeSetTargetProcessorDpc(&bench_dpc, 1);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        dpc_ran = 0;
        KeInsertQueueDpc(&bench_dpc, NULL, NULL);
        while (!__atomic_load_n(&dpc_ran, __ATOMIC_ACQUIRE))
            KeYieldProcessor();
    }
    uint64_t t = bench_now_ns() - t0;
    KeRevertToUserAffinityThread();
    return t;
}

static uint64_t ntos_dpc_local(uint64_t ops)
{
    return ntos_dpc(ops, 0);
}

static uint64_t ntos_dpc_remote(uint64_t ops)
{
    return ntos_dpc(ops, 1);
}

static volatile sig_atomic_t signal_ran;

static void bench_signal_handler(int sig)
{
    (void)sig;
    signal_ran = 1;
}

static uint64_t peer_signal_self(uint64_t ops)
{
    struct sigaction sa = {0};
    sa.sa_handler = bench_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t self = pthread_self();
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        signal_ran = 0;
        pthread_kill(self, SIGUSR2);
        while (!signal_ran)
            __builtin_ia32_pause();
    }
    return bench_now_ns() - t0;
}

/* The remote peer: thread 1 (on another host CPU) blocks in read(eventfd)
 * and sets the flag; thread 0 writes the eventfd and spins on the flag. */
static int peer_efd = -1;
static uint64_t remote_ops;
static volatile int remote_flag;

static void peer_remote_body(unsigned index, void *context)
{
    (void)context;
    for (uint64_t i = 0; i < remote_ops; i++) {
        uint64_t v = 1;
        if (index == 0) {
            remote_flag = 0;
            if (write(peer_efd, &v, sizeof(v)) != sizeof(v))
                abort();
            while (!__atomic_load_n(&remote_flag, __ATOMIC_ACQUIRE))
                __builtin_ia32_pause();
        } else {
            if (read(peer_efd, &v, sizeof(v)) != sizeof(v))
                abort();
            __atomic_store_n(&remote_flag, 1, __ATOMIC_RELEASE);
        }
    }
}

static uint64_t peer_remote(uint64_t ops)
{
    if (peer_efd < 0 && (peer_efd = eventfd(0, 0)) < 0)
        abort();
    remote_ops = ops;
    static const unsigned cpus[2] = {0, 1};
    return bench_run_threads(0, 2, cpus, peer_remote_body, NULL);
}

/* ---- timer expiry ------------------------------------------------------------------------- */

#define TIMER_DUE_NS 1000000ull /* 1 ms */

static uint64_t ntos_timer(uint64_t ops)
{
    KTIMER timer;
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    uint64_t late = 0;
    for (uint64_t i = 0; i < ops; i++) {
        LARGE_INTEGER due;
        due.QuadPart = -(LONGLONG)(TIMER_DUE_NS / 100);
        uint64_t t0 = bench_now_ns();
        KeSetTimer(&timer, due, NULL);
        KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL);
        uint64_t t = bench_now_ns() - t0;
        late += t > TIMER_DUE_NS ? t - TIMER_DUE_NS : 0;
    }
    return late;
}

static uint64_t peer_timer(uint64_t ops)
{
    uint64_t late = 0;
    for (uint64_t i = 0; i < ops; i++) {
        struct timespec ts = {0, (long)TIMER_DUE_NS};
        uint64_t t0 = bench_now_ns();
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
        uint64_t t = bench_now_ns() - t0;
        late += t > TIMER_DUE_NS ? t - TIMER_DUE_NS : 0;
    }
    return late;
}

BENCH_CASE(irql_raise_lower_1, "KeRaiseIrql(DISPATCH_LEVEL)+KeLowerIrql", ntos_irql, "TLS store pair", peer_irql,
           20000000, 0);
BENCH_CASE(spinlock_1, "KeAcquireSpinLock+KeReleaseSpinLock, uncontended", ntos_spin_1, "pthread_spin", peer_spin_1,
           20000000, 0);
BENCH_CASE(spinlock_at_dpc_1, "KeAcquireSpinLockAtDpcLevel+release at DISPATCH_LEVEL, uncontended",
           ntos_spin_at_dpc_1, "pthread_spin", peer_spin_1, 20000000, 0);
BENCH_CASE(queued_spinlock_1, "KeAcquireInStackQueuedSpinLock+release, uncontended", ntos_queued_1, "pthread_spin",
           peer_spin_1, 20000000, 0);
BENCH_CASE(spinlock_contended_all_cpus, "KeAcquireSpinLock+release, one lock, one thread per CPU", ntos_spin_all,
           "pthread_spin", peer_spin_all, 2000000, 1);
BENCH_CASE(queued_spinlock_contended_all_cpus, "in-stack queued spin lock, one lock, one thread per CPU",
           ntos_queued_all, "pthread_spin", peer_spin_all, 2000000, 1);
BENCH_CASE(fast_mutex_1, "ExAcquireFastMutex+ExReleaseFastMutex, uncontended", ntos_fast_mutex_1,
           "pthread_mutex", peer_mutex_1, 20000000, 0);
BENCH_CASE(guarded_mutex_1, "KeAcquireGuardedMutex+KeReleaseGuardedMutex, uncontended", ntos_guarded_mutex_1,
           "pthread_mutex", peer_mutex_1, 20000000, 0);
BENCH_CASE(eresource_exclusive_1, "critical region + ERESOURCE exclusive acquire+release", ntos_resource_exclusive_1,
           "pthread_rwlock_wrlock", peer_rwlock_write_1, 10000000, 0);
BENCH_CASE(eresource_shared_1, "critical region + ERESOURCE shared acquire+release", ntos_resource_shared_1,
           "pthread_rwlock_rdlock", peer_rwlock_read_1, 10000000, 0);
BENCH_CASE(event_pingpong, "KeSetEvent+KeWaitForSingleObject round trip, two CPUs (wall)", ntos_pingpong,
           "mutex+condvar ping-pong", peer_pingpong, 20000, 0);
BENCH_CASE(context_switch_yield, "ZwYieldExecution between two threads on one CPU, per switch (wall)", ntos_yield,
           "sched_yield, 2 pinned", peer_yield, 200000, 0);
BENCH_CASE(dpc_local_latency, "KeInsertQueueDpc at PASSIVE_LEVEL until it ran, same CPU (wall)", ntos_dpc_local,
           "pthread_kill(self)", peer_signal_self, 200000, 0);
BENCH_CASE(dpc_remote_latency, "KeInsertQueueDpc to another CPU until it ran (wall)", ntos_dpc_remote,
           "eventfd wake, other CPU", peer_remote, 20000, 0);
BENCH_CASE(timer_expiry_lateness, "KeSetTimer 1 ms + wait: ns past the due time", ntos_timer,
           "clock_nanosleep 1 ms", peer_timer, 50, 0);
