/*
 * Device interrupts as explorer decisions: a connected interrupt object whose
 * service routine updates device state and requests its DPC (the DPC-for-ISR
 * pattern), raised on every virtual CPU through host_device_assert, racing a
 * thread that updates the same state under KeSynchronizeExecution and under
 * KeAcquireInterruptSpinLock/KeReleaseInterruptSpinLock. When each line
 * arrives (at which interruptible point of its CPU) is a decision of the
 * explorer, as is which CPU runs when.
 *
 * Properties: the service routine and the synchronized code never overlap
 * (checked on entry, and no read-modify-write of the shared counter is lost
 * although each spans a scheduling point); each raised line is one service
 * routine call on the CPU it was raised to, at the SynchronizeIrql; every
 * KeInsertQueueDpc that returned TRUE is one DPC run and a FALSE one found the
 * DPC already queued (coalesced: its work is taken by that run), so every
 * interrupt's work is processed by some DPC; afterwards nothing is queued,
 * nothing is unclaimed and the object disconnects.
 */
#include <host.h>
#include "verify.h"

#define IR_VECTOR 0x50 /* IRQL 5: device levels are vector >> 4 */
#define IR_IRQL ((KIRQL)(IR_VECTOR >> 4))
#define IR_ROUNDS 2    /* lines raised on every CPU per run */
#define IR_SYNC_LOOPS 2

static KINTERRUPT ir_interrupt;
static KDPC ir_dpc;
static KEVENT ir_progress;           /* set by the DPC after it processed work */
static volatile LONG ir_inside;      /* ISR or synchronized code running */
static volatile LONG ir_counter;     /* the shared device register */
static volatile LONG ir_work;        /* interrupts not yet taken by a DPC */
static volatile LONG ir_isr_calls, ir_inserted, ir_coalesced, ir_dpc_runs, ir_processed;
static volatile LONG ir_isr_on[ARCH_MAX_CPUS];

static void ir_enter(void)
{
    NTOS_EXPLORE_CHECK(KeGetCurrentIrql() == IR_IRQL);
    NTOS_EXPLORE_CHECK(__atomic_add_fetch(&ir_inside, 1, __ATOMIC_RELAXED) == 1);
}

static void ir_leave(void)
{
    __atomic_sub_fetch(&ir_inside, 1, __ATOMIC_RELAXED);
}

/* A read-modify-write with a scheduling point inside (the device's register
 * read and write are separate bus cycles). */
static void ir_increment(void)
{
    LONG v = ir_counter;
    KeStallExecutionProcessor(1);
    ir_counter = v + 1;
}

static BOOLEAN NTAPI ir_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Context;
    NTOS_EXPLORE_CHECK(Interrupt == &ir_interrupt);
    ir_enter();
    ir_increment();
    ir_work++;
    __atomic_add_fetch(&ir_isr_calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ir_isr_on[KeGetCurrentProcessorNumber()], 1, __ATOMIC_RELAXED);
    if (KeInsertQueueDpc(&ir_dpc, NULL, NULL))
        __atomic_add_fetch(&ir_inserted, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&ir_coalesced, 1, __ATOMIC_RELAXED);
    ir_leave();
    return TRUE;
}

static BOOLEAN NTAPI ir_sync_increment(PVOID Context)
{
    (void)Context;
    ir_enter();
    ir_increment();
    ir_leave();
    return TRUE;
}

/* The DPC takes the accumulated work at the interrupt's level (the ISR may
 * add to it on another CPU meanwhile). */
static BOOLEAN NTAPI ir_take_work(PVOID Context)
{
    ir_enter();
    *(LONG *)Context = ir_work;
    ir_work = 0;
    ir_leave();
    return TRUE;
}

static VOID NTAPI ir_dpc_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    NTOS_EXPLORE_CHECK(Dpc == &ir_dpc && KeGetCurrentIrql() == DISPATCH_LEVEL);
    LONG taken = 0;
    NTOS_EXPLORE_CHECK(KeSynchronizeExecution(&ir_interrupt, ir_take_work, &taken));
    __atomic_add_fetch(&ir_processed, taken, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ir_dpc_runs, 1, __ATOMIC_RELAXED);
    KeSetEvent(&ir_progress, 0, FALSE);
}

static VOID NTAPI ir_sync_thread(PVOID Context)
{
    (void)Context;
    for (int i = 0; i < IR_SYNC_LOOPS; i++) {
        NTOS_EXPLORE_CHECK(KeSynchronizeExecution(&ir_interrupt, ir_sync_increment, NULL));
        KIRQL old = KeAcquireInterruptSpinLock(&ir_interrupt);
        NTOS_EXPLORE_CHECK(old == PASSIVE_LEVEL);
        ir_sync_increment(NULL);
        KeReleaseInterruptSpinLock(&ir_interrupt, old);
    }
}

/* Waits, as a driver would, for the DPCs to have processed Target
 * interrupts (so their service routines ran). A synchronization event: a set
 * between the check and the wait leaves it signalled. Blocking idles this
 * CPU, where its own line, if still held, arrives at the latest. */
static void ir_wait_processed(LONG Target)
{
    while (__atomic_load_n(&ir_processed, __ATOMIC_RELAXED) < Target)
        NTOS_EXPLORE_CHECK(KeWaitForSingleObject(&ir_progress, Executive, KernelMode, FALSE, NULL) ==
                           STATUS_SUCCESS);
}

VERIFY_SCENARIO(isr_dpc_vs_synchronize_execution, 60, 1)
{
    (void)Context;
    static KTHREAD t;
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ir_inside = ir_counter = ir_work = 0;
    ir_isr_calls = ir_inserted = ir_coalesced = ir_dpc_runs = ir_processed = 0;
    for (ULONG c = 0; c < ARCH_MAX_CPUS; c++)
        ir_isr_on[c] = 0;
    KeInitializeDpc(&ir_dpc, ir_dpc_routine, NULL);
    KeInitializeEvent(&ir_progress, SynchronizationEvent, FALSE);
    KeInitializeInterrupt(&ir_interrupt, ir_isr, NULL, NULL, IR_VECTOR, IR_IRQL, IR_IRQL, Latched, FALSE, 0, FALSE);
    NTOS_EXPLORE_CHECK(KeConnectInterrupt(&ir_interrupt));
    ULONG64 delivered = host_device_interrupts();

    vt_start(&t, ir_sync_thread, NULL);
    for (ULONG r = 0; r < IR_ROUNDS; r++) {
        /* The device raises its line towards every CPU; each is one interrupt. */
        for (ULONG c = 0; c < cpus; c++)
            NTOS_EXPLORE_CHECK(host_device_assert(IR_VECTOR, c));
        ir_wait_processed((LONG)((r + 1) * cpus));
        NTOS_EXPLORE_CHECK(ir_isr_calls == (LONG)((r + 1) * cpus)); /* one call per raised line */
    }
    vt_join(&t);
    /* Quiesce: the last DPC routine has returned. */
    KeFlushQueuedDpcs();

    LONG isr = ir_isr_calls;
    NTOS_EXPLORE_CHECK(isr == (LONG)(IR_ROUNDS * cpus));
    for (ULONG c = 0; c < cpus; c++)
        NTOS_EXPLORE_CHECK(ir_isr_on[c] == IR_ROUNDS);
    NTOS_EXPLORE_CHECK(host_device_interrupts() - delivered == (ULONG64)isr);
    NTOS_EXPLORE_CHECK(ir_counter == isr + 2 * IR_SYNC_LOOPS); /* no lost update */
    NTOS_EXPLORE_CHECK(ir_inserted + ir_coalesced == isr);
    NTOS_EXPLORE_CHECK(ir_inserted >= 1 && ir_dpc_runs == ir_inserted);
    NTOS_EXPLORE_CHECK(ir_processed == isr && ir_work == 0);
    NTOS_EXPLORE_CHECK(ir_inside == 0);
    NTOS_EXPLORE_CHECK(ir_dpc.DpcData == NULL);
    NTOS_EXPLORE_CHECK(KiDeviceInterruptUnclaimed(IR_VECTOR) == 0);
    NTOS_EXPLORE_CHECK(ir_interrupt.ServiceCount == (ULONG)isr);
    NTOS_EXPLORE_CHECK(KeDisconnectInterrupt(&ir_interrupt));
}
