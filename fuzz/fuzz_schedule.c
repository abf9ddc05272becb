/*
 * libFuzzer harness for the interleaving explorer (host/explore.c): the input
 * bytes choose both the data (how many virtual CPUs and worker threads, and
 * each thread's operations on a shared set of events, a semaphore, mutexes,
 * an ERESOURCE, a push lock, a spin lock, DPCs, timers and cancelable IRPs)
 * and the schedule (which CPU runs at each scheduling point, and when a clock
 * interrupt fires early).
 *
 * Why a fork per input: a schedule needs a freshly booted kernel in virtual
 * time (the decision function drives the boot's CPUs, and whatever a run left
 * behind, such as threads, queued DPCs, a hung CPU or a bug check, would make
 * the next input's result depend on the previous ones and crashes
 * irreproducible), and a bug check or a deadlock ends the process. So each
 * input runs in a child the explorer forks (ntos_explore_input), and the
 * parent, libFuzzer's process, never boots the kernel. libFuzzer would not see
 * the child's coverage, so:
 *   - the child's 8-bit inline counters (__start___sancov_cntrs ..
 *     __stop___sancov_cntrs: this harness and the sources the fuzz build
 *     instruments, src/io among them) are copied to a shared mapping in the
 *     explorer's exit hook, which runs on every way a child ends (pass, failed
 *     check, deadlock, livelock, bug check); the parent merges them into its
 *     own counters after waitpid (max per counter: the child started with the
 *     parent's counts for this input, since it is a fork);
 *   - the explorer counts interleaving features (kind of scheduling point the
 *     running CPU is at x kind the chosen CPU is parked at, same object, CPU
 *     switched) and the parent copies them into a __libfuzzer_extra_counters
 *     array, so a schedule that brings two CPUs to a new pair of points is
 *     kept even though the scheduler and Ex (src/ke, src/ex) are not
 *     instrumented in the fuzz build (instrumenting them would drown the
 *     other harnesses' signal; see CMakeLists.txt).
 * A child that dies from a sanitizer report or a signal, exits with a failed
 * check (2), a deadlock (3), a livelock (4) or a bug check (86) is a crash: the
 * parent prints the explorer's message and aborts, so libFuzzer saves the
 * input; running the binary on that file replays exactly that run (the child
 * is deterministic: virtual time, and every decision comes from the bytes).
 *
 * Input encoding (fuzz_input.h reader: bytes past the end read as zero):
 *   byte 0: virtual CPUs 2 + b % 3; byte 1: worker threads 2 + b % 3;
 *   per worker: an operation count 1 + b % 12, then (op, arg) byte pairs.
 *   The rest of the input is the schedule (explore.h, ntos_explore_input):
 *   one byte per "which CPU runs next" decision, rank = byte % runnable CPUs
 *   (0 = no preemption), >= 0xF0 also fires the clock early; past its end,
 *   rank 0 = no preemption. Run with -max_len=512 -len_control=0 (as CTest
 *   does): a scenario makes a few hundred decisions, and libFuzzer's default
 *   length control keeps inputs too short for the schedule part for minutes.
 * Operations (op % 16), each one correct driver code, so any failure is the
 * kernel's: 0 set event (arg&1: notification / synchronization), 1 clear the
 * notification event, 2 wait for one with a 0-3 ms timeout, 3 wait-any on both
 * events and the semaphore with a timeout, 4 release the semaphore, 5 wait for
 * it with a timeout, 6 take the locks arg selects in the global order (KMUTEX
 * 0, KMUTEX 1, fast mutex, ERESOURCE, push lock, spin lock; bit 7 = shared for
 * the ERESOURCE and the push lock), checking mutual exclusion, and release
 * them, 7 try-acquire the selected locks in reverse order (no lock-order
 * violation: try-acquires cannot deadlock), 8/9 insert/remove one of two DPCs
 * (targeted at CPUs 0 and 1), 10/11 set (0-3 ms) / cancel the thread's timer
 * with its DPC, 12 allocate a cancelable pending IRP in slot arg&1, 13
 * IoCancelIrp on it, 14 complete it the documented way (IoSetCancelRoutine
 * NULL first), 15 delay 0-2 ms or stall.
 * Checked at the end (after joining the workers, cancelling the timers and
 * KeFlushQueuedDpcs): each DPC ran exactly (TRUE inserts - TRUE removes)
 * times; each timer's DPC ran no more often than its armings that expired
 * (armings - TRUE resets - TRUE cancels) and at least once if any did; every
 * IRP completed exactly once, by exactly one of cancel routine and completer;
 * no lock is held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <explore.h>
#include <ntos/ex.h>
#include <ntos/ex_sync.h>
#include <ntos/io.h>
#include <ntos/arch.h>
#include <ntos/ke.h>

#include "fuzz_input.h"

#define FZ_TAG 0x63537a46 /* "FzSc" */
#define FZ_THREADS 4
#define FZ_OPS 12
#define FZ_LOCKS 6

typedef struct {
    UCHAR Op, Arg;
} fz_op;

/* The decoded data part: written by the parent, read by the forked child. */
static struct {
    ULONG Cpus, Threads;
    ULONG OpCount[FZ_THREADS];
    fz_op Ops[FZ_THREADS][FZ_OPS];
} prog;

/* ---- kernel state (in the child only) ------------------------------------------------- */

static KEVENT ev[2];
static KSEMAPHORE sem;
static KMUTEX mx[2];
static FAST_MUTEX fm;
static ERESOURCE res;
static EX_PUSH_LOCK pl;
static KSPIN_LOCK sl;
static PKTHREAD holder[FZ_LOCKS];      /* exclusive holder of each lock */
static LONG shared_holders[FZ_LOCKS];  /* ERESOURCE / push lock shared holders */

static KDPC dpc[2];
static LONG dpc_runs[2], dpc_inserts[2], dpc_removes[2];
static KTIMER timer[FZ_THREADS];
static KDPC timer_dpc[FZ_THREADS];
static LONG timer_runs[FZ_THREADS], timer_arms[FZ_THREADS], timer_resets[FZ_THREADS], timer_cancels[FZ_THREADS];

static PDRIVER_OBJECT fz_driver;
static PDEVICE_OBJECT fz_device;
static LONG irp_state[2];     /* 0 free, 1 being built, 2 published */
static PIRP irp[2];
static LONG irp_completions[2], irp_by_cancel[2], irp_by_completer[2];

static KTHREAD workers[FZ_THREADS];

static VOID NTAPI fz_dpc_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)A1, (void)A2;
    __atomic_fetch_add(&dpc_runs[(ULONG_PTR)Context], 1, __ATOMIC_RELAXED);
}

static VOID NTAPI fz_timer_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)A1, (void)A2;
    __atomic_fetch_add(&timer_runs[(ULONG_PTR)Context], 1, __ATOMIC_RELAXED);
}

static NTSTATUS NTAPI fz_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device, (void)Irp;
    return STATUS_INVALID_DEVICE_REQUEST;
}

static NTSTATUS NTAPI fz_irp_done(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    (void)Device, (void)Irp;
    NTOS_EXPLORE_CHECK(__atomic_add_fetch(&irp_completions[(ULONG_PTR)Context], 1, __ATOMIC_RELAXED) == 1);
    return STATUS_MORE_PROCESSING_REQUIRED; /* the scenario frees the IRP */
}

static VOID NTAPI fz_irp_cancel(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    ULONG slot = Irp == irp[1];
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    __atomic_fetch_add(&irp_by_cancel[slot], 1, __ATOMIC_RELAXED);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static LARGE_INTEGER fz_ms(ULONG Ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)Ms * 10000 - 1;
    return t;
}

static void fz_wait_status(NTSTATUS s, ULONG Objects)
{
    NTOS_EXPLORE_CHECK(s == STATUS_TIMEOUT || (s >= STATUS_WAIT_0 && s < STATUS_WAIT_0 + (NTSTATUS)Objects));
}

/* Exclusive entry into lock i: nobody else inside. */
static void fz_enter(ULONG i, BOOLEAN Shared)
{
    if (Shared) {
        NTOS_EXPLORE_CHECK(holder[i] == NULL);
        __atomic_fetch_add(&shared_holders[i], 1, __ATOMIC_RELAXED);
        return;
    }
    NTOS_EXPLORE_CHECK(holder[i] == NULL && shared_holders[i] == 0);
    holder[i] = KeGetCurrentThread();
}

static void fz_leave(ULONG i, BOOLEAN Shared)
{
    if (Shared) {
        NTOS_EXPLORE_CHECK(holder[i] == NULL && shared_holders[i] > 0);
        __atomic_fetch_sub(&shared_holders[i], 1, __ATOMIC_RELAXED);
        return;
    }
    NTOS_EXPLORE_CHECK(holder[i] == KeGetCurrentThread());
    holder[i] = NULL;
}

static void fz_locks(UCHAR Arg)
{
    BOOLEAN shared = (Arg & 0x80) != 0;
    KIRQL irql;
    KeEnterCriticalRegion();
    for (ULONG i = 0; i < 2; i++)
        if (Arg & (1u << i)) {
            NTOS_EXPLORE_CHECK(KeWaitForSingleObject(&mx[i], Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
            fz_enter(i, FALSE);
        }
    if (Arg & 4) {
        ExAcquireFastMutex(&fm);
        fz_enter(2, FALSE);
    }
    if (Arg & 8) {
        if (shared)
            ExAcquireResourceSharedLite(&res, TRUE);
        else
            ExAcquireResourceExclusiveLite(&res, TRUE);
        fz_enter(3, shared);
    }
    if (Arg & 16) {
        if (shared)
            ExAcquirePushLockShared(&pl);
        else
            ExAcquirePushLockExclusive(&pl);
        fz_enter(4, shared);
    }
    if (Arg & 32) {
        KeAcquireSpinLock(&sl, &irql);
        fz_enter(5, FALSE);
        KeStallExecutionProcessor(1);
        fz_leave(5, FALSE);
        KeReleaseSpinLock(&sl, irql);
    }
    if (Arg & 16) {
        fz_leave(4, shared);
        if (shared)
            ExReleasePushLockShared(&pl);
        else
            ExReleasePushLockExclusive(&pl);
    }
    if (Arg & 8) {
        fz_leave(3, shared);
        ExReleaseResourceLite(&res);
    }
    if (Arg & 4) {
        fz_leave(2, FALSE);
        ExReleaseFastMutex(&fm);
    }
    for (ULONG i = 2; i-- > 0;)
        if (Arg & (1u << i)) {
            fz_leave(i, FALSE);
            KeReleaseMutex(&mx[i], FALSE);
        }
    KeLeaveCriticalRegion();
}

/* Reverse order, try-acquires only: cannot deadlock, must not be reported. */
static void fz_try_locks(UCHAR Arg)
{
    BOOLEAN got[FZ_LOCKS] = {0};
    LARGE_INTEGER zero = {.QuadPart = 0};
    KeEnterCriticalRegion();
    if (Arg & 16) {
        got[4] = ExTryToAcquirePushLockExclusive(&pl);
        if (got[4])
            fz_enter(4, FALSE);
    }
    if (Arg & 8) {
        got[3] = ExAcquireResourceExclusiveLite(&res, FALSE);
        if (got[3])
            fz_enter(3, FALSE);
    }
    if (Arg & 4) {
        got[2] = ExTryToAcquireFastMutex(&fm);
        if (got[2])
            fz_enter(2, FALSE);
    }
    for (ULONG i = 2; i-- > 0;)
        if (Arg & (1u << i)) {
            got[i] = KeWaitForSingleObject(&mx[i], Executive, KernelMode, FALSE, &zero) == STATUS_SUCCESS;
            if (got[i])
                fz_enter(i, FALSE);
        }
    for (ULONG i = 0; i < 2; i++)
        if (got[i]) {
            fz_leave(i, FALSE);
            KeReleaseMutex(&mx[i], FALSE);
        }
    if (got[2]) {
        fz_leave(2, FALSE);
        ExReleaseFastMutex(&fm);
    }
    if (got[3]) {
        fz_leave(3, FALSE);
        ExReleaseResourceLite(&res);
    }
    if (got[4]) {
        fz_leave(4, FALSE);
        ExReleasePushLockExclusive(&pl);
    }
    KeLeaveCriticalRegion();
}

static void fz_irp_new(ULONG Slot)
{
    LONG expected = 0;
    if (!__atomic_compare_exchange_n(&irp_state[Slot], &expected, 1, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    PIRP p = IoAllocateIrp(1, FALSE);
    NTOS_EXPLORE_CHECK(p != NULL);
    IoSetCompletionRoutine(p, fz_irp_done, (PVOID)(ULONG_PTR)Slot, TRUE, TRUE, TRUE);
    IoSetNextIrpStackLocation(p);
    IoGetCurrentIrpStackLocation(p)->DeviceObject = fz_device;
    IoMarkIrpPending(p);
    IoSetCancelRoutine(p, fz_irp_cancel);
    irp[Slot] = p;
    __atomic_store_n(&irp_state[Slot], 2, __ATOMIC_RELEASE);
}

static void fz_irp_complete(PIRP p, ULONG Slot)
{
    if (IoSetCancelRoutine(p, NULL) != NULL) {
        __atomic_fetch_add(&irp_by_completer[Slot], 1, __ATOMIC_RELAXED);
        p->IoStatus.Status = STATUS_SUCCESS;
        p->IoStatus.Information = 0;
        IoCompleteRequest(p, IO_NO_INCREMENT);
    }
}

/* The object an operation works on (for the scheduling point before it). */
static const void *fz_op_object(ULONG Me, UCHAR Op, UCHAR Arg)
{
    switch (Op % 16) {
    case 0: case 1: case 2: case 3:
        return &ev[Arg & 1];
    case 4: case 5:
        return &sem;
    case 6: case 7:
        return &mx[0];
    case 8: case 9:
        return &dpc[Arg & 1];
    case 10: case 11:
        return &timer[Me];
    case 12: case 13: case 14:
        return &irp_state[Arg & 1];
    default:
        return NULL;
    }
}

static VOID NTAPI fz_worker(PVOID Context)
{
    ULONG me = (ULONG)(ULONG_PTR)Context;
    for (ULONG k = 0; k < prog.OpCount[me]; k++) {
        UCHAR arg = prog.Ops[me][k].Arg;
        LARGE_INTEGER t = fz_ms((arg >> 1) % 4);
        /* The driver's own code between two kernel calls is where another
         * processor can interleave too (it reads the shared slots here). */
        arch_sched_point(ARCH_SP_INTERLOCKED, fz_op_object(me, prog.Ops[me][k].Op, arg));
        switch (prog.Ops[me][k].Op % 16) {
        case 0:
            KeSetEvent(&ev[arg & 1], 0, FALSE);
            break;
        case 1:
            KeClearEvent(&ev[0]);
            break;
        case 2:
            fz_wait_status(KeWaitForSingleObject(&ev[arg & 1], Executive, KernelMode, FALSE, &t), 1);
            break;
        case 3: {
            PVOID objs[3] = {&ev[0], &ev[1], &sem};
            fz_wait_status(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, &t, NULL), 3);
            break;
        }
        case 4:
            KeReleaseSemaphore(&sem, 0, 1, FALSE);
            break;
        case 5:
            fz_wait_status(KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &t), 1);
            break;
        case 6:
            fz_locks(arg);
            break;
        case 7:
            fz_try_locks(arg);
            break;
        case 8:
            if (KeInsertQueueDpc(&dpc[arg & 1], NULL, NULL))
                __atomic_fetch_add(&dpc_inserts[arg & 1], 1, __ATOMIC_RELAXED);
            break;
        case 9:
            if (KeRemoveQueueDpc(&dpc[arg & 1]))
                __atomic_fetch_add(&dpc_removes[arg & 1], 1, __ATOMIC_RELAXED);
            break;
        case 10:
            timer_arms[me]++;
            if (KeSetTimer(&timer[me], t, &timer_dpc[me]))
                timer_resets[me]++;
            break;
        case 11:
            if (KeCancelTimer(&timer[me]))
                timer_cancels[me]++;
            break;
        case 12:
            fz_irp_new(arg & 1);
            break;
        case 13:
            if (__atomic_load_n(&irp_state[arg & 1], __ATOMIC_ACQUIRE) == 2)
                IoCancelIrp(irp[arg & 1]);
            break;
        case 14:
            if (__atomic_load_n(&irp_state[arg & 1], __ATOMIC_ACQUIRE) == 2)
                fz_irp_complete(irp[arg & 1], arg & 1);
            break;
        default:
            if (arg & 1)
                KeStallExecutionProcessor(arg >> 2);
            else
                KeDelayExecutionThread(KernelMode, FALSE, &t);
            break;
        }
    }
}

static void fz_scenario(void *Context)
{
    (void)Context;
    for (ULONG i = 0; i < 2; i++) {
        KeInitializeEvent(&ev[i], i == 0 ? NotificationEvent : SynchronizationEvent, FALSE);
        KeInitializeMutex(&mx[i], 0);
        KeInitializeDpc(&dpc[i], fz_dpc_routine, (PVOID)(ULONG_PTR)i);
        KeSetTargetProcessorDpc(&dpc[i], (CCHAR)(i % prog.Cpus));
    }
    KeInitializeSemaphore(&sem, 0, MAXLONG);
    ExInitializeFastMutex(&fm);
    NTOS_EXPLORE_CHECK(ExInitializeResourceLite(&res) == STATUS_SUCCESS);
    ExInitializePushLock(&pl);
    KeInitializeSpinLock(&sl);
    for (ULONG i = 0; i < FZ_THREADS; i++) {
        KeInitializeTimer(&timer[i]);
        KeInitializeDpc(&timer_dpc[i], fz_timer_routine, (PVOID)(ULONG_PTR)i);
    }
    fz_driver = ExAllocatePoolZero(NonPagedPoolNx, sizeof(DRIVER_OBJECT), FZ_TAG);
    fz_device = ExAllocatePoolZero(NonPagedPoolNx, sizeof(DEVICE_OBJECT), FZ_TAG);
    NTOS_EXPLORE_CHECK(fz_driver != NULL && fz_device != NULL);
    fz_driver->Type = IO_TYPE_DRIVER;
    fz_driver->Size = sizeof(DRIVER_OBJECT);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        fz_driver->MajorFunction[i] = fz_dispatch;
    fz_device->Type = IO_TYPE_DEVICE;
    fz_device->Size = sizeof(DEVICE_OBJECT);
    fz_device->DriverObject = fz_driver;
    fz_device->StackSize = 1;
    KeInitializeDeviceQueue(&fz_device->DeviceQueue);

    for (ULONG i = 0; i < prog.Threads; i++) {
        NTOS_EXPLORE_CHECK(KeInitializeThread(&workers[i], NULL, 0, fz_worker, (PVOID)(ULONG_PTR)i, 8) ==
                           STATUS_SUCCESS);
        KeStartThread(&workers[i]);
    }
    for (ULONG i = 0; i < prog.Threads; i++) {
        NTOS_EXPLORE_CHECK(KeWaitForSingleObject(&workers[i], Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
        NTOS_EXPLORE_CHECK(KeDeleteThread(&workers[i]) == STATUS_SUCCESS);
    }

    for (ULONG i = 0; i < FZ_THREADS; i++)
        if (KeCancelTimer(&timer[i]))
            timer_cancels[i]++;
    KeFlushQueuedDpcs();
    for (ULONG i = 0; i < 2; i++)
        NTOS_EXPLORE_CHECK(dpc_runs[i] == dpc_inserts[i] - dpc_removes[i]);
    for (ULONG i = 0; i < FZ_THREADS; i++) {
        LONG expired = timer_arms[i] - timer_resets[i] - timer_cancels[i];
        NTOS_EXPLORE_CHECK(expired >= 0);
        NTOS_EXPLORE_CHECK(timer_runs[i] <= expired);
        NTOS_EXPLORE_CHECK((expired > 0) == (timer_runs[i] > 0));
    }
    for (ULONG i = 0; i < 2; i++) {
        if (irp_state[i] != 2)
            continue;
        if (irp_completions[i] == 0)
            NTOS_EXPLORE_CHECK(IoCancelIrp(irp[i]));
        NTOS_EXPLORE_CHECK(irp_completions[i] == 1);
        NTOS_EXPLORE_CHECK(irp_by_cancel[i] + irp_by_completer[i] == 1);
        NTOS_EXPLORE_CHECK(irp[i]->IoStatus.Status == (irp_by_cancel[i] ? STATUS_CANCELLED : STATUS_SUCCESS));
        IoFreeIrp(irp[i]);
    }
    for (ULONG i = 0; i < FZ_LOCKS; i++)
        NTOS_EXPLORE_CHECK(holder[i] == NULL && shared_holders[i] == 0);
    NTOS_EXPLORE_CHECK(ExDeleteResourceLite(&res) == STATUS_SUCCESS);
    ExFreePoolWithTag(fz_device, FZ_TAG);
    ExFreePoolWithTag(fz_driver, FZ_TAG);
}

/* ---- the parent: libFuzzer's side -------------------------------------------------------- */

/* fuzz_schedule_counters.c (not instrumented: a declaration of the section
 * bounds in an instrumented file makes SanitizerCoverage rename its own and
 * register no counters at all). */
size_t fz_counters_size(void);
void fz_counters_save(uint8_t *To);
void fz_counters_merge(const uint8_t *From);

static uint8_t *child_counters;
static size_t counter_bytes;
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t fz_features[NTOS_EXPLORE_FEATURES];

static void fz_child_exit(void)
{
    if (child_counters != NULL)
        fz_counters_save(child_counters);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* A child that neither finishes nor fails: libFuzzer's own -timeout would
     * kill the parent with the child still running; the child's alarm ends it. */
    setenv("NTOS_EXPLORE_TIMEOUT", "20", 0);
    counter_bytes = fz_counters_size();
    if (counter_bytes != 0) {
        void *m = mmap(NULL, counter_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED)
            child_counters = m;
    }
    ntos_explore_set_exit_hook(fz_child_exit);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    memset(&prog, 0, sizeof(prog));
    prog.Cpus = 2 + rd_u8(&r) % 3;
    prog.Threads = 2 + rd_u8(&r) % 3;
    for (ULONG t = 0; t < prog.Threads; t++) {
        prog.OpCount[t] = 1 + rd_u8(&r) % FZ_OPS;
        for (ULONG k = 0; k < prog.OpCount[t]; k++) {
            prog.Ops[t][k].Op = rd_u8(&r);
            prog.Ops[t][k].Arg = rd_u8(&r);
        }
    }
    if (child_counters != NULL)
        memset(child_counters, 0, counter_bytes);
    ntos_explore_input_result res_;
    int status = ntos_explore_input(fz_scenario, NULL, prog.Cpus, r.p, (ULONG)r.n, &res_);
    if (child_counters != NULL)
        fz_counters_merge(child_counters);
    memcpy(fz_features, res_.Features, sizeof(fz_features));
    if (status != 0) {
        fprintf(stderr, "fuzz_schedule: the explored child failed (status %d%s%s) after %u decisions on %u CPUs\n",
                status, res_.Message[0] ? ": " : "", res_.Message, res_.Decisions, prog.Cpus);
        abort();
    }
    return 0;
}
