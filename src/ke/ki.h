/*
 * Ke internals shared between src/ke files.
 *
 * Locking overview (each file restates the rules it relies on):
 *  - KiDispatcherLock guards every dispatcher object's state and wait list,
 *    every thread's scheduling state (fields marked (D) in KTHREAD), all ready
 *    queues and the timer list. It is taken at SYNCH_LEVEL. A thread that
 *    switches away holds it across arch_context_switch and the thread that
 *    resumes releases it: the lock is handed over with the processor.
 *  - Each processor's DPC queue has its own lock (DpcLock), taken with
 *    interrupts disabled because the clock interrupt queues DPCs too.
 *  - The clock interrupt (CLOCK_LEVEL, above SYNCH_LEVEL) never takes the
 *    dispatcher lock: it only touches its own processor's KI_PROCESSOR and
 *    requests the DISPATCH_LEVEL software interrupt or queues a DPC.
 */
#ifndef NTOS_KI_H
#define NTOS_KI_H

#include <ntos/ke.h>
#include <ntos/arch.h>
#include <ntos/list.h>
#include <ntos/rtl.h>

/* Per-processor kernel state, laid over KPRCB.KernelPrivate. */
typedef struct _KI_PROCESSOR {
    /* counters (own processor only) */
    ULONG64 ClockInterrupts;
    ULONG64 DispatchInterrupts;
    ULONG64 ApcInterrupts;
    ULONG64 IpiInterrupts;

    /* scheduler (dispatcher lock) */
    ULONG ReadySummary;               /* bit p set = ReadyListHead[p] non-empty */
    LIST_ENTRY ReadyListHead[MAXIMUM_PRIORITY];
    volatile BOOLEAN QuantumEnd;      /* set by the clock, consumed at DISPATCH_LEVEL */
    volatile BOOLEAN IdleSchedule;    /* a thread was made ready for this (idle) processor */

    /* DPCs (DpcLock, interrupts disabled) */
    KSPIN_LOCK DpcLock;
    PSINGLE_LIST_ENTRY DpcHead;       /* queue in order of execution */
    PSINGLE_LIST_ENTRY DpcTail;
    volatile ULONG DpcQueueDepth;
    volatile BOOLEAN DpcRoutineActive; /* a DPC routine is running on this processor */
    ULONG64 DpcCount;                 /* DPCs run so far */
    /* threaded DPCs (DpcLock) */
    PSINGLE_LIST_ENTRY ThreadedDpcHead;
    PSINGLE_LIST_ENTRY ThreadedDpcTail;
    volatile ULONG ThreadedDpcDepth;
    volatile BOOLEAN ThreadedDpcActive;
    PKTHREAD ThreadedDpcThread;
    KEVENT ThreadedDpcEvent;
} KI_PROCESSOR, *PKI_PROCESSOR;

_Static_assert(sizeof(KI_PROCESSOR) <= sizeof(((KPRCB *)0)->KernelPrivate), "KI_PROCESSOR fits");

static inline PKI_PROCESSOR KiProcessor(PKPRCB Prcb)
{
    return (PKI_PROCESSOR)Prcb->KernelPrivate;
}

static inline PKI_PROCESSOR KiCurrentProcessor(void)
{
    return KiProcessor(KeGetCurrentPrcb());
}

static inline PKPRCB KiProcessorBlock(ULONG Number)
{
    return &arch_processor_pcr(Number)->Prcb;
}

extern ULONG KeMaximumIncrement;
extern volatile ULONG64 KiTickCount;
extern KSPIN_LOCK KiDispatcherLock;

/* ---- spin lock primitives without owner checks (spinlock.c) -------------------
 * For locks handed from one thread to another (the dispatcher lock) and for
 * code running before threads exist. The caller manages IRQL. */
VOID KiAcquireSpinLockRaw(PKSPIN_LOCK SpinLock);
VOID KiReleaseSpinLockRaw(PKSPIN_LOCK SpinLock);
BOOLEAN KiTryAcquireSpinLockRaw(PKSPIN_LOCK SpinLock);

/* ---- dispatcher lock ---------------------------------------------------------- */
KIRQL KiAcquireDispatcherLock(void);
VOID KiReleaseDispatcherLock(KIRQL OldIrql);
/* Releases the lock and returns to the thread's WaitIrql after a switch or wait. */
VOID KiExitDispatcher(KIRQL OldIrql);

/* ---- scheduler (sched.c); dispatcher lock held ----------------------------------- */
VOID KiReadyThread(PKTHREAD Thread);
/* Switches away from the current thread (whose State the caller already set)
 * and returns its WaitStatus when it runs again, with the dispatcher lock
 * released and IRQL back at Thread->WaitIrql. */
LONG_PTR KiSwapThread(PKTHREAD Current);
VOID KiQuantumEnd(void);
VOID KiDispatchInterrupt(void);
VOID KiInitializeScheduler(ULONG Number);
VOID KiBoostPriority(PKTHREAD Thread, KPRIORITY Increment);
BOOLEAN KiAnyReadyThread(void);
/* Takes the highest-priority ready thread (>= MinPriority) that may run on
 * processor Number out of the ready queues, or NULL. */
PKTHREAD KiSelectThread(ULONG Number, LONG MinPriority);
VOID KiQuantumEndPriority(PKTHREAD Thread); /* quantum end: new quantum, boost decays one level */

/* ---- waits (wait.c); dispatcher lock held ------------------------------------------ */
/* Object became signaled: satisfies as many waits as its state allows. */
VOID KiWaitTest(PVOID Object, KPRIORITY Increment);
/* Ends a thread's wait with WaitStatus, readying it with a boost. */
VOID KiUnwaitThread(PKTHREAD Thread, LONG_PTR WaitStatus, KPRIORITY Increment);
BOOLEAN KiIsObjectSignaled(PDISPATCHER_HEADER Object, PKTHREAD Thread);
VOID KiSatisfyWait(PDISPATCHER_HEADER Object, PKTHREAD Thread);
VOID KiAbandonMutants(PKTHREAD Thread);

/* ---- timers (timer.c); dispatcher lock held ------------------------------------------ */
/* A timer list: KTIMER.TimerListEntry in ascending DueTime (absolute interrupt
 * time), equal due times in the order they were set; NextDue is the head's due
 * time (~0 when empty), read by the clock interrupt without the lock. */
typedef struct _KI_TIMER_TABLE {
    LIST_ENTRY ListHead;
    volatile ULONG64 NextDue;
} KI_TIMER_TABLE, *PKI_TIMER_TABLE;

BOOLEAN KiInsertTimer(PKTIMER Timer, LONGLONG DueTime); /* system table, current time */
BOOLEAN KiRemoveTimer(PKTIMER Timer);                   /* system table */
/* The same operations on any table at interrupt time Now (KeSetTimerEx's body,
 * KeCancelTimer's and the expiration DPC's); the system passes its own table
 * and arch_interrupt_time(), tests a private table and a time they choose. */
VOID KiInitializeTimerTable(PKI_TIMER_TABLE Table);
BOOLEAN KiSetTimerInTable(PKI_TIMER_TABLE Table, PKTIMER Timer, LONGLONG DueTime, LONG Period, PKDPC Dpc,
                          ULONG64 Now);
BOOLEAN KiRemoveTimerFromTable(PKI_TIMER_TABLE Table, PKTIMER Timer);
VOID KiExpireTimers(PKI_TIMER_TABLE Table, ULONG64 Now); /* fires every timer due at or before Now */
VOID KiCheckTimers(void);               /* clock interrupt on processor 0 */
VOID KiInitializeTimers(void);

/* ---- DPCs (dpc.c) -------------------------------------------------------------------- */
VOID KiRetireDpcList(PKI_PROCESSOR Processor); /* DISPATCH_LEVEL, from the software interrupt */
VOID KiInitializeDpcProcessor(ULONG Number);

/* ---- APCs (apc.c) -------------------------------------------------------------------- */
VOID KiDeliverApc(KPROCESSOR_MODE Mode);   /* APC_LEVEL software interrupt */
VOID KiInitializeThreadApcState(PKTHREAD Thread);
VOID KiRundownApcs(PKTHREAD Thread);       /* terminating thread, dispatcher lock held */

/*
 * Unlocked peek at the current thread's kernel APC queue, for code that has
 * just made delivery possible again (leaving a critical or guarded region,
 * releasing a mutant's implicit critical region). Only the thread itself
 * peeks at its own queue, and an APC it misses is not lost:
 *  - The inserter links the APC and sets KernelApcPending under the
 *    dispatcher lock, then requests a delivery attempt itself (the APC
 *    interrupt on its processor, an IPI to the thread's, or, for a thread not
 *    running, the re-request after its next switch in, KiAfterSwitch). That
 *    attempt (KiDeliverApc) runs on this thread, takes the lock after the
 *    inserter released it, and reads the region counts in this thread's own
 *    program order.
 *  - If the attempt ran while the region was still held, it left the APC
 *    queued; but having taken the lock after the insertion, it orders the
 *    insertion before this thread's later peek, which therefore reads the
 *    new head (a load that happens after a store reads it or a later one).
 *  - If it runs after the region was left, it delivers the APC itself.
 * So the peek needs no ordering of its own (relaxed), only atomicity: other
 * processors store the head's Flink (KeInsertQueueApc, KeRemoveQueueApc,
 * under the lock) concurrently with it, which is why apc.c links and unlinks
 * APCs with atomic stores to Flink. A stale "not empty" only costs a delivery
 * attempt that finds nothing deliverable under the lock.
 */
static inline BOOLEAN KiKernelApcQueuedUnlocked(PKTHREAD Thread)
{
    PLIST_ENTRY head = &Thread->ApcState.ApcListHead[KernelMode];
    return __atomic_load_n(&head->Flink, __ATOMIC_RELAXED) != head;
}

/* ---- time (time.c) --------------------------------------------------------------------- */
VOID KiUpdateTime(void);                 /* clock interrupt on processor 0 */

/* ---- invariant checks (schedcheck.c) ----------------------------------------------------
 * Bug check DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) with Parameter1 =
 * KI_VERIFIER_DISPATCHER_INVARIANT, Parameter2 = KI_INVARIANT_*, Parameter3 =
 * the object, Parameter4 = the related object (see schedcheck.c). */
#define KI_VERIFIER_DISPATCHER_INVARIANT 0x2001
enum {
    KI_INVARIANT_READY_SUMMARY = 1,   /* summary bit differs from queue emptiness (head, cpu<<8|prio) */
    KI_INVARIANT_READY_LIST,          /* ready queue not a well-formed list (entry, head) */
    KI_INVARIANT_READY_STATE,         /* queued thread not Ready (thread, state) */
    KI_INVARIANT_READY_QUEUE,         /* queued under another priority/processor, or twice (thread, cpu<<8|prio) */
    KI_INVARIANT_READY_AND_WAITING,   /* queued thread has a linked wait block (thread, cpu) */
    KI_INVARIANT_READY_RUNNING,       /* queued thread is a current/standby thread (thread, cpu) */
    KI_INVARIANT_READY_LOST,          /* Ready thread on no queue (thread, NextProcessor) */
    KI_INVARIANT_CURRENT_STATE,       /* CurrentThread not Running (thread, cpu) */
    KI_INVARIANT_STANDBY_STATE,       /* NextThread not Standby (thread, cpu) */
    KI_INVARIANT_RUNNING_NOT_CURRENT, /* Running thread no processor runs (thread, NextProcessor) */
    KI_INVARIANT_WAIT_LIST,           /* object wait list not well formed (entry, head) */
    KI_INVARIANT_WAIT_BLOCK_OBJECT,   /* block on an object's list names another object (block, object) */
    KI_INVARIANT_WAIT_BLOCK_THREAD,   /* block's thread missing or not Waiting (block, thread) */
    KI_INVARIANT_WAITING_UNLINKED,    /* waiting thread's block not on its object's list (thread, object) */
    KI_INVARIANT_NOT_WAITING_LINKED,  /* thread not Waiting has a linked wait block (thread, state) */
    KI_INVARIANT_THREAD_LIST,         /* the system process's thread list is broken (entry, head) */
};
/* Dispatcher lock held, or the only running processor of the host's virtual time. */
VOID KiCheckDispatcherInvariants(void);
/* Checks only if no processor holds the dispatcher lock (virtual time: no other
 * processor runs meanwhile); TRUE if it checked. */
BOOLEAN KiCheckDispatcherInvariantsIfQuiescent(void);
ULONG64 KiDispatcherInvariantChecks(void);

DECLSPEC_NORETURN VOID KiIdleLoop(void);

#endif /* NTOS_KI_H */
