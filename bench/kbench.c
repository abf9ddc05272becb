/*
 * In-kernel benchmarks: the primitive cases of ntos_bench, run inside the
 * booted kernel (bare metal / QEMU) and timed with the processor's cycle
 * counter (arch_cycle_counter: rdtsc on x86_64). The boot path calls
 * KbenchRunAll when the command line says `bench` (see
 * arch/x86_64/startup.c); tools/ntos bench --qemu boots the image that way
 * and turns the serial lines into JSON records.
 *
 * Each case: a warm-up of ops/10, then KBENCH_REPETITIONS timed runs of
 * `ops` operations; the line gives the median cycles per operation and the
 * same in nanoseconds at the counter's frequency:
 *   kbench: name=<case> cycles_per_op=<c> ns_per_op=<n> ops=<o> cpus=<k>
 * There is no Linux peer inside the kernel; compare against the host table.
 *
 * Runs at PASSIVE_LEVEL on processor 0 after phase 1 (Ob, Ex objects and the
 * pool are up); the threaded cases start kernel threads pinned with system
 * affinity. Nothing here asserts a time.
 */
#include <ntos/arch.h>
#include <ntos/dbg.h>
#include <ntos/ex_objects.h>
#include <ntos/ex_pool.h>
#include <ntos/ex_sync.h>
#include <ntos/ke.h>
#include <ntos/ob.h>

#define KBENCH_REPETITIONS 5
#define KBENCH_TAG 0x6863424B /* "KBch" */

typedef ULONG64 (*KBENCH_FN)(ULONG64 Ops); /* returns cycles for Ops operations */

/* Set by a case whose setup or operation failed (its line then says so). */
static BOOLEAN KbenchFailure;

static ULONG64 KbenchCycles(void)
{
    return arch_cycle_counter();
}

static volatile ULONG64 KbenchCounter; /* the critical sections' shared write */

/* ---- single-thread cases ------------------------------------------------------------------ */

static ULONG64 KbenchIrql(ULONG64 Ops)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeLowerIrql(old);
    }
    return KbenchCycles() - t0;
}

static KSPIN_LOCK KbenchLock;

static ULONG64 KbenchSpinLock(ULONG64 Ops)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KIRQL old;
        KeAcquireSpinLock(&KbenchLock, &old);
        KbenchCounter++;
        KeReleaseSpinLock(&KbenchLock, old);
    }
    return KbenchCycles() - t0;
}

static ULONG64 KbenchSpinLockAtDpc(ULONG64 Ops)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KeAcquireSpinLockAtDpcLevel(&KbenchLock);
        KbenchCounter++;
        KeReleaseSpinLockFromDpcLevel(&KbenchLock);
    }
    ULONG64 t = KbenchCycles() - t0;
    KeLowerIrql(old);
    return t;
}

static ULONG64 KbenchQueuedSpinLock(ULONG64 Ops)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KLOCK_QUEUE_HANDLE h;
        KeAcquireInStackQueuedSpinLock(&KbenchLock, &h);
        KbenchCounter++;
        KeReleaseInStackQueuedSpinLock(&h);
    }
    return KbenchCycles() - t0;
}

static FAST_MUTEX KbenchFastMutex;
static KGUARDED_MUTEX KbenchGuardedMutex;
static ERESOURCE KbenchResource;

static ULONG64 KbenchFastMutexCase(ULONG64 Ops)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        ExAcquireFastMutex(&KbenchFastMutex);
        KbenchCounter++;
        ExReleaseFastMutex(&KbenchFastMutex);
    }
    return KbenchCycles() - t0;
}

static ULONG64 KbenchGuardedMutexCase(ULONG64 Ops)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KeAcquireGuardedMutex(&KbenchGuardedMutex);
        KbenchCounter++;
        KeReleaseGuardedMutex(&KbenchGuardedMutex);
    }
    return KbenchCycles() - t0;
}

static ULONG64 KbenchResourceCase(ULONG64 Ops, BOOLEAN Shared)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KeEnterCriticalRegion(); /* an ERESOURCE is acquired inside a critical region */
        if (Shared)
            ExAcquireResourceSharedLite(&KbenchResource, TRUE);
        else
            ExAcquireResourceExclusiveLite(&KbenchResource, TRUE);
        KbenchCounter++;
        ExReleaseResourceLite(&KbenchResource);
        KeLeaveCriticalRegion();
    }
    return KbenchCycles() - t0;
}

static ULONG64 KbenchResourceExclusive(ULONG64 Ops)
{
    return KbenchResourceCase(Ops, FALSE);
}

static ULONG64 KbenchResourceShared(ULONG64 Ops)
{
    return KbenchResourceCase(Ops, TRUE);
}

static HANDLE KbenchEventHandle;

static ULONG64 KbenchHandleRef(ULONG64 Ops)
{
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        PVOID object;
        if (ObReferenceObjectByHandle(KbenchEventHandle, EVENT_QUERY_STATE, ExEventObjectType, KernelMode, &object,
                                      NULL) != STATUS_SUCCESS) {
            KbenchFailure = TRUE;
            return 0;
        }
        ObDereferenceObject(object);
    }
    return KbenchCycles() - t0;
}

/* The pool mix of ntos_bench's pool_pair_mixed, from a fixed small table. */
static ULONG64 KbenchPoolPair(ULONG64 Ops)
{
    static const SIZE_T sizes[16] = {16, 24, 40, 64, 32, 100, 200, 48, 256, 512, 1000, 16, 64, 2048, 80, 4000};
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        volatile UCHAR *p = ExAllocatePoolWithTag(NonPagedPoolNx, sizes[i & 15], KBENCH_TAG);
        if (p == NULL) {
            KbenchFailure = TRUE;
            return 0;
        }
        p[0] = 1; /* touch the block, as the host case does */
        ExFreePoolWithTag((PVOID)p, KBENCH_TAG);
    }
    return KbenchCycles() - t0;
}

/* ---- DPC ---------------------------------------------------------------------------------- */

static KDPC KbenchDpc;
static volatile LONG KbenchDpcRan;

static VOID NTAPI KbenchDpcRoutine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    __atomic_store_n(&KbenchDpcRan, 1, __ATOMIC_RELEASE);
}

static ULONG64 KbenchDpcCase(ULONG64 Ops, BOOLEAN Remote)
{
    KeInitializeDpc(&KbenchDpc, KbenchDpcRoutine, NULL);
    KeSetTargetProcessorDpc(&KbenchDpc, (CCHAR)(Remote && arch_processor_count() > 1 ? 1 : 0));
    ULONG64 t0 = KbenchCycles();
    for (ULONG64 i = 0; i < Ops; i++) {
        KbenchDpcRan = 0;
        KeInsertQueueDpc(&KbenchDpc, NULL, NULL);
        while (!__atomic_load_n(&KbenchDpcRan, __ATOMIC_ACQUIRE))
            KeYieldProcessor();
    }
    return KbenchCycles() - t0;
}

static ULONG64 KbenchDpcLocal(ULONG64 Ops)
{
    return KbenchDpcCase(Ops, FALSE);
}

static ULONG64 KbenchDpcRemote(ULONG64 Ops)
{
    return KbenchDpcCase(Ops, TRUE);
}

/* ---- two threads -------------------------------------------------------------------------- */

typedef struct _KBENCH_PAIR {
    ULONG64 Ops;
    ULONG Index;
    ULONG Cpu;
    BOOLEAN Yield;
} KBENCH_PAIR;

static KEVENT KbenchPing[2];
static KTHREAD KbenchThreads[2];
static KBENCH_PAIR KbenchPairs[2];

static VOID NTAPI KbenchPairThread(PVOID Context)
{
    KBENCH_PAIR *p = Context;
    KeSetSystemAffinityThread((KAFFINITY)1 << p->Cpu);
    for (ULONG64 i = 0; i < p->Ops; i++) {
        if (p->Yield) {
            ZwYieldExecution();
        } else if (p->Index == 0) {
            KeSetEvent(&KbenchPing[0], 0, FALSE);
            KeWaitForSingleObject(&KbenchPing[1], Executive, KernelMode, FALSE, NULL);
        } else {
            KeWaitForSingleObject(&KbenchPing[0], Executive, KernelMode, FALSE, NULL);
            KeSetEvent(&KbenchPing[1], 0, FALSE);
        }
    }
}

/* Both threads run Ops iterations; the time includes starting them (small
 * against the operation counts used). */
static ULONG64 KbenchPairCase(ULONG64 Ops, BOOLEAN Yield)
{
    KeInitializeEvent(&KbenchPing[0], SynchronizationEvent, FALSE);
    KeInitializeEvent(&KbenchPing[1], SynchronizationEvent, FALSE);
    ULONG other = Yield || arch_processor_count() < 2 ? 0 : 1;
    ULONG64 t0 = KbenchCycles();
    for (ULONG i = 0; i < 2; i++) {
        KbenchPairs[i] = (KBENCH_PAIR){Ops, i, i == 0 ? 0 : other, Yield};
        if (!NT_SUCCESS(KeInitializeThread(&KbenchThreads[i], NULL, 0, KbenchPairThread, &KbenchPairs[i], 8))) {
            if (i == 1)
                KeDeleteThread(&KbenchThreads[0]); /* never started: its stack goes */
            KbenchFailure = TRUE;
            return 0;
        }
    }
    /* Both exist before either starts, so neither waits for a partner that never comes. */
    KeStartThread(&KbenchThreads[0]);
    KeStartThread(&KbenchThreads[1]);
    for (ULONG i = 0; i < 2; i++) {
        KeWaitForSingleObject(&KbenchThreads[i], Executive, KernelMode, FALSE, NULL);
        KeDeleteThread(&KbenchThreads[i]);
    }
    ULONG64 t = KbenchCycles() - t0;
    return Yield ? t / 2 : t; /* yield: per switch (two threads, Ops each) */
}

static ULONG64 KbenchPingPong(ULONG64 Ops)
{
    return KbenchPairCase(Ops, FALSE);
}

static ULONG64 KbenchYield(ULONG64 Ops)
{
    return KbenchPairCase(Ops, TRUE);
}

/* ---- the runner --------------------------------------------------------------------------- */

static const struct {
    const char *Name;
    KBENCH_FN Fn;
    ULONG64 Ops;
} KbenchCases[] = {
    {"irql_raise_lower_1", KbenchIrql, 1000000},
    {"spinlock_1", KbenchSpinLock, 1000000},
    {"spinlock_at_dpc_1", KbenchSpinLockAtDpc, 1000000},
    {"queued_spinlock_1", KbenchQueuedSpinLock, 1000000},
    {"fast_mutex_1", KbenchFastMutexCase, 1000000},
    {"guarded_mutex_1", KbenchGuardedMutexCase, 1000000},
    {"eresource_exclusive_1", KbenchResourceExclusive, 500000},
    {"eresource_shared_1", KbenchResourceShared, 500000},
    {"handle_ref_1", KbenchHandleRef, 1000000},
    {"pool_pair_mixed", KbenchPoolPair, 1000000},
    {"dpc_local_latency", KbenchDpcLocal, 100000},
    {"dpc_remote_latency", KbenchDpcRemote, 20000},
    {"event_pingpong", KbenchPingPong, 20000},
    {"context_switch_yield", KbenchYield, 50000},
};

static VOID KbenchSort(ULONG64 *v, ULONG n)
{
    for (ULONG i = 1; i < n; i++)
        for (ULONG j = i; j > 0 && v[j - 1] > v[j]; j--) {
            ULONG64 t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* Runs every case; Percent scales the operation counts (100 = as listed). */
VOID KbenchRunAll(ULONG Percent)
{
    ExInitializeFastMutex(&KbenchFastMutex);
    KeInitializeGuardedMutex(&KbenchGuardedMutex);
    ExInitializeResourceLite(&KbenchResource);
    KeInitializeSpinLock(&KbenchLock);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    if (!NT_SUCCESS(ZwCreateEvent(&KbenchEventHandle, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE)))
        KbenchEventHandle = NULL;
    /* The boot thread stays on processor 0, so "local" and "remote" mean what they say. */
    KeSetSystemAffinityThread(1);
    ULONG64 hz = arch_cycle_frequency();
    DbgPrint("kbench: %u processor(s), cycle counter %I64u Hz, %u repetitions, median per operation\n",
             arch_processor_count(), hz, KBENCH_REPETITIONS);
    for (ULONG c = 0; c < sizeof(KbenchCases) / sizeof(KbenchCases[0]); c++) {
        ULONG64 ops = KbenchCases[c].Ops * Percent / 100;
        if (ops == 0)
            ops = 1;
        ULONG64 cycles[KBENCH_REPETITIONS];
        KbenchFailure = FALSE;
        KbenchCases[c].Fn(ops / 10 + 1);
        for (ULONG r = 0; r < KBENCH_REPETITIONS && !KbenchFailure; r++)
            cycles[r] = KbenchCases[c].Fn(ops);
        if (KbenchFailure) {
            DbgPrint("kbench: name=%s failed\n", KbenchCases[c].Name);
            continue;
        }
        KbenchSort(cycles, KBENCH_REPETITIONS);
        ULONG64 median = cycles[KBENCH_REPETITIONS / 2];
        /* Fixed point with two decimals: DbgPrint has no floating point in the kernel. */
        ULONG64 cyc100 = median * 100 / ops;
        ULONG64 ns100 = hz ? cyc100 * 1000000000ull / hz : 0; /* no overflow below ~1.8e10 cycles/op */
        DbgPrint("kbench: name=%s cycles_per_op=%I64u.%02I64u ns_per_op=%I64u.%02I64u ops=%I64u cpus=%u\n",
                 KbenchCases[c].Name, cyc100 / 100, cyc100 % 100, ns100 / 100, ns100 % 100, ops,
                 arch_processor_count());
    }
    KeRevertToUserAffinityThread();
    if (KbenchEventHandle != NULL)
        ZwClose(KbenchEventHandle);
    DbgPrint("kbench: done\n");
}
