/*
 * Kernel objects: dispatcher objects, threads, DPCs, timers, APCs and spin
 * locks, with the x64 layouts drivers compile against (pinned below), and the
 * Ke functions that operate on them.
 */
#ifndef NTOS_KE_OBJECTS_H
#define NTOS_KE_OBJECTS_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/arch.h>

struct _KTHREAD;
struct _KPROCESS;
struct _KDPC;
struct _KAPC;

typedef struct _KTHREAD *PKTHREAD, *PRKTHREAD;
typedef struct _KPROCESS *PKPROCESS, *PRKPROCESS;

/* ---- dispatcher header ---------------------------------------------------- */

/* Dispatcher object types (DISPATCHER_HEADER.Type). */
typedef enum _KOBJECTS {
    EventNotificationObject = 0,
    EventSynchronizationObject = 1,
    MutantObject = 2,
    ProcessObject = 3,
    QueueObject = 4,
    SemaphoreObject = 5,
    ThreadObject = 6,
    GateObject = 7,
    TimerNotificationObject = 8,
    TimerSynchronizationObject = 9,
    Spare2Object = 10,
    ApcObject = 0x12,
    DpcObject = 0x13,
    DeviceQueueObject = 0x14,
    EventPairObject = 0x15,
    InterruptObject = 0x16,
    ThreadedDpcObject = 0x1a, /* ntos: DpcObject with the threaded flag; see KeInitializeThreadedDpc */
} KOBJECTS;

typedef struct _DISPATCHER_HEADER {
    union {
        struct {
            UCHAR Type;
            union {
                UCHAR TimerControlFlags;
                UCHAR Abandoned;
                UCHAR Signalling;
            };
            union {
                UCHAR ThreadControlFlags;
                UCHAR Hand;
                UCHAR Size; /* in LONGs (sizeof / 4) */
            };
            union {
                UCHAR TimerMiscFlags;
                UCHAR DebugActive;
                UCHAR DpcActive;
            };
        };
        volatile LONG Lock;
        LONG LockNV;
    };
    LONG SignalState;
    LIST_ENTRY WaitListHead;
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;

NTOS_ASSERT_SIZE(DISPATCHER_HEADER, 0x18);
NTOS_ASSERT_OFFSET(DISPATCHER_HEADER, SignalState, 0x04);
NTOS_ASSERT_OFFSET(DISPATCHER_HEADER, WaitListHead, 0x08);

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;
typedef enum _WAIT_TYPE { WaitAll, WaitAny, WaitNotification, WaitDequeue } WAIT_TYPE;
typedef enum _KWAIT_REASON {
    Executive, FreePage, PageIn, PoolAllocation, DelayExecution, Suspended, UserRequest,
    WrExecutive, WrFreePage, WrPageIn, WrPoolAllocation, WrDelayExecution, WrSuspended,
    WrUserRequest, WrEventPair, WrQueue, WrLpcReceive, WrLpcReply, WrVirtualMemory,
    WrPageOut, WrRendezvous, WrKeyedEvent, WrTerminated, WrProcessInSwap, WrCpuRateControl,
    WrCalloutStack, WrKernel, WrResource, WrPushLock, WrMutex, WrQuantumEnd, WrDispatchInt,
    WrPreempted, WrYieldExecution, WrFastMutex, WrGuardedMutex, WrRundown, WrAlertByThreadId,
    WrDeferredPreempt, WrPhysicalFault, MaximumWaitReason
} KWAIT_REASON;

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;
NTOS_ASSERT_SIZE(KEVENT, 0x18);

typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;
    LONG Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;
NTOS_ASSERT_SIZE(KSEMAPHORE, 0x20);

typedef struct _KMUTANT {
    DISPATCHER_HEADER Header;
    LIST_ENTRY MutantListEntry;
    struct _KTHREAD *OwnerThread;
    BOOLEAN Abandoned;
    UCHAR ApcDisable;
} KMUTANT, *PKMUTANT, *PRKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;
NTOS_ASSERT_SIZE(KMUTANT, 0x38);
NTOS_ASSERT_OFFSET(KMUTANT, OwnerThread, 0x28);

/* ---- DPCs ----------------------------------------------------------------- */

typedef VOID(NTAPI *PKDEFERRED_ROUTINE)(struct _KDPC *Dpc, PVOID DeferredContext,
                                         PVOID SystemArgument1, PVOID SystemArgument2);

typedef enum _KDPC_IMPORTANCE { LowImportance, MediumImportance, HighImportance, MediumHighImportance } KDPC_IMPORTANCE;

typedef struct _KDPC {
    union {
        ULONG TargetInfoAsUlong;
        struct {
            UCHAR Type;
            UCHAR Importance;
            volatile USHORT Number;
        };
    };
    SINGLE_LIST_ENTRY DpcListEntry;
    KAFFINITY ProcessorHistory;
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    volatile PVOID DpcData;
} KDPC, *PKDPC, *PRKDPC;
NTOS_ASSERT_SIZE(KDPC, 0x40);
NTOS_ASSERT_OFFSET(KDPC, DeferredRoutine, 0x18);
NTOS_ASSERT_OFFSET(KDPC, DeferredContext, 0x20);
NTOS_ASSERT_OFFSET(KDPC, DpcData, 0x38);

/* ---- timers --------------------------------------------------------------- */

typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULARGE_INTEGER DueTime; /* absolute interrupt time */
    LIST_ENTRY TimerListEntry;
    struct _KDPC *Dpc;
    ULONG Processor;
    ULONG Period; /* milliseconds */
} KTIMER, *PKTIMER, *PRKTIMER;
NTOS_ASSERT_SIZE(KTIMER, 0x40);
NTOS_ASSERT_OFFSET(KTIMER, DueTime, 0x18);
NTOS_ASSERT_OFFSET(KTIMER, Dpc, 0x30);
NTOS_ASSERT_OFFSET(KTIMER, Period, 0x3C);

/* ---- APCs ----------------------------------------------------------------- */

typedef VOID(NTAPI *PKNORMAL_ROUTINE)(PVOID NormalContext, PVOID SystemArgument1, PVOID SystemArgument2);
typedef VOID(NTAPI *PKKERNEL_ROUTINE)(struct _KAPC *Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                       PVOID *NormalContext, PVOID *SystemArgument1,
                                       PVOID *SystemArgument2);
typedef VOID(NTAPI *PKRUNDOWN_ROUTINE)(struct _KAPC *Apc);

typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment,
    AttachedApcEnvironment,
    CurrentApcEnvironment,
    InsertApcEnvironment
} KAPC_ENVIRONMENT;

typedef struct _KAPC {
    UCHAR Type;
    UCHAR SpareByte0;
    UCHAR Size;
    UCHAR SpareByte1;
    ULONG SpareLong0;
    struct _KTHREAD *Thread;
    LIST_ENTRY ApcListEntry;
    PKKERNEL_ROUTINE KernelRoutine;
    PKRUNDOWN_ROUTINE RundownRoutine;
    PKNORMAL_ROUTINE NormalRoutine;
    PVOID NormalContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    CCHAR ApcStateIndex;
    KPROCESSOR_MODE ApcMode;
    BOOLEAN Inserted;
} KAPC, *PKAPC, *PRKAPC;
NTOS_ASSERT_SIZE(KAPC, 0x58);
NTOS_ASSERT_OFFSET(KAPC, Thread, 0x08);
NTOS_ASSERT_OFFSET(KAPC, ApcListEntry, 0x10);
NTOS_ASSERT_OFFSET(KAPC, NormalContext, 0x38);
NTOS_ASSERT_OFFSET(KAPC, ApcStateIndex, 0x50);

typedef struct _KAPC_STATE {
    LIST_ENTRY ApcListHead[2]; /* [KernelMode], [UserMode] */
    struct _KPROCESS *Process;
    BOOLEAN InProgressFlags; /* KernelApcInProgress */
    BOOLEAN KernelApcPending;
    BOOLEAN UserApcPending;
} KAPC_STATE, *PKAPC_STATE, *PRKAPC_STATE;
NTOS_ASSERT_SIZE(KAPC_STATE, 0x30);

/* ---- waits ---------------------------------------------------------------- */

#define THREAD_WAIT_OBJECTS 3
#define MAXIMUM_WAIT_OBJECTS 64

typedef struct _KWAIT_BLOCK {
    LIST_ENTRY WaitListEntry;
    UCHAR WaitType;
    volatile UCHAR BlockState;
    USHORT WaitKey;
    LONG SpareLong;
    struct _KTHREAD *Thread;
    PVOID Object;
    PVOID SparePtr;
} KWAIT_BLOCK, *PKWAIT_BLOCK, *PRKWAIT_BLOCK;
NTOS_ASSERT_SIZE(KWAIT_BLOCK, 0x30);

/* ---- processes and threads ----------------------------------------------------- */

typedef struct _KPROCESS {
    DISPATCHER_HEADER Header;
    LIST_ENTRY ThreadListHead;
    KAFFINITY Affinity;
    KPRIORITY BasePriority;
    ULONG ThreadCount;
} KPROCESS;

typedef enum _KTHREAD_STATE {
    Initialized, Ready, Running, Standby, Terminated, Waiting, Transition, DeferredReady,
    GateWaitObsolete, WaitingForProcessInSwap
} KTHREAD_STATE;

#define LOW_PRIORITY 0
#define LOW_REALTIME_PRIORITY 16
#define HIGH_PRIORITY 31
#define MAXIMUM_PRIORITY 32

typedef VOID(NTAPI *PKSTART_ROUTINE)(PVOID StartContext);

/*
 * The thread. Drivers treat it as opaque (PKTHREAD) except that it begins with
 * a DISPATCHER_HEADER, so it can be waited on; the rest is ntos's own layout.
 * Fields marked (D) are guarded by the dispatcher lock; (T) are touched only by
 * the thread itself; (A) by the APC queue lock.
 */
typedef struct _KTHREAD {
    DISPATCHER_HEADER Header;
    KARCH_CONTEXT Context;
    struct _KPROCESS *Process;
    LIST_ENTRY ThreadListEntry;       /* (D) in Process->ThreadListHead */
    LIST_ENTRY ReadyListEntry;        /* (D) ready queue */
    volatile UCHAR State;             /* (D) KTHREAD_STATE */
    CHAR Priority;                    /* (D) current priority 0..31 */
    CHAR BasePriority;                /* (D) */
    CHAR PriorityDecrement;           /* (D) boost still to decay */
    CHAR Quantum;                     /* (D) remaining, in clock ticks */
    CHAR QuantumReset;
    KIRQL WaitIrql;                   /* (D) IRQL to return to after a wait/switch */
    KPROCESSOR_MODE WaitMode;         /* (D) */
    BOOLEAN Alertable;                /* (D) */
    BOOLEAN Alerted[2];               /* (D) per mode */
    BOOLEAN WaitNext;                 /* (T) Wait=TRUE protocol: holds the dispatcher lock */
    UCHAR WaitReason;                 /* (D) */
    UCHAR NextProcessor;              /* (D) processor it runs or will run on */
    UCHAR IdealProcessor;
    BOOLEAN SystemAffinityActive;     /* (D) */
    BOOLEAN Preempted;                /* (D) switched out before its quantum ended */
    BOOLEAN ApcQueueable;             /* (A) */
    UCHAR ApcStateIndex;              /* (A) */
    SHORT KernelApcDisable;           /* (T) critical regions: < 0 inside */
    SHORT SpecialApcDisable;          /* (T) guarded regions: < 0 inside */
    LONG_PTR WaitStatus;              /* (D) */
    PKWAIT_BLOCK WaitBlockList;       /* (D) */
    KWAIT_BLOCK WaitBlock[THREAD_WAIT_OBJECTS + 1]; /* last one is the timeout timer's */
    KTIMER Timer;                     /* (D) wait timeout and KeDelayExecutionThread */
    KAFFINITY Affinity;               /* (D) current */
    KAFFINITY UserAffinity;           /* (D) saved by KeSetSystemAffinityThread */
    LIST_ENTRY MutantListHead;        /* (D) mutants owned */
    KAPC_STATE ApcState;              /* (A) */
    KAPC_STATE SavedApcState;         /* (A) while attached to another process */
    PKAPC_STATE ApcStatePointer[2];   /* (A) */
    KSPIN_LOCK ApcQueueLock;
    PKSTART_ROUTINE StartRoutine;
    PVOID StartContext;
    ULONG_PTR StackBase;
    ULONG_PTR StackLimit;
    ULONG64 ContextSwitches;          /* (D) */
    ULONG64 KernelTime;               /* clock ticks charged while running */
    NTSTATUS ExitStatus;
    BOOLEAN SystemThread;
    BOOLEAN Terminating;
    BOOLEAN StackOwned;               /* the arch context's stack belongs to this thread */
    PVOID Teb;
    UCHAR WaitBlockCount;             /* (D) blocks in WaitBlockList (timer block excluded) */
    BOOLEAN TimerWaitLinked;          /* (D) WaitBlock[THREAD_WAIT_OBJECTS] is in a timer's list */
    BOOLEAN KernelApcInProgress;      /* (T) */
    NTSTATUS TimeoutWaitStatus;       /* (D) what the timeout timer ends the wait with */
    BOOLEAN ExecutiveThread;          /* the thread is the Tcb of an ETHREAD (Ps) */
    KPROCESSOR_MODE PreviousMode;     /* (T) mode of the caller of the current system service */
    PVOID TopLevelIrp;                /* (T) Io: IoGetTopLevelIrp/IoSetTopLevelIrp, every thread has one */
    PVOID KernelPrivate[8];           /* spare for Ke bookkeeping */
} KTHREAD;

/* ---- spin locks ------------------------------------------------------------ */

typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;
NTOS_ASSERT_SIZE(KLOCK_QUEUE_HANDLE, 0x18);
NTOS_ASSERT_OFFSET(KLOCK_QUEUE_HANDLE, OldIrql, 0x10);

NTKERNELAPI VOID NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
NTKERNELAPI BOOLEAN NTAPI KeTestSpinLock(PKSPIN_LOCK SpinLock);
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
NTKERNELAPI BOOLEAN NTAPI KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
NTKERNELAPI KIRQL NTAPI KfAcquireSpinLock(PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KfReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KefAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KefReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(lock, oldirql) (*(oldirql) = KeAcquireSpinLockRaiseToDpc(lock))
NTKERNELAPI VOID NTAPI KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                                 PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql);

/* ---- interrupt objects -------------------------------------------------------
 * Drivers get a PKINTERRUPT from IoConnectInterrupt(Ex) and treat it as opaque:
 * the layout below is ntos's own. The interrupt spin lock is acquired at the
 * object's SynchronizeIrql, which serialises with its service routine. */

struct _KINTERRUPT;
typedef BOOLEAN(NTAPI *PKSERVICE_ROUTINE)(struct _KINTERRUPT *Interrupt, PVOID ServiceContext);
typedef BOOLEAN(NTAPI *PKSYNCHRONIZE_ROUTINE)(PVOID SynchronizeContext);
typedef enum _KINTERRUPT_MODE { LevelSensitive, Latched } KINTERRUPT_MODE;

typedef struct _KINTERRUPT {
    CSHORT Type;
    CSHORT Size;
    LIST_ENTRY InterruptListEntry;
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    KSPIN_LOCK SpinLock;
    PKSPIN_LOCK ActualLock;
    ULONG Vector;
    KIRQL Irql;
    KIRQL SynchronizeIrql;
    BOOLEAN FloatingSave;
    BOOLEAN Connected;
    CCHAR Number;
    BOOLEAN ShareVector;
    KINTERRUPT_MODE Mode;
    ULONG ServiceCount;
} KINTERRUPT, *PKINTERRUPT;

NTKERNELAPI VOID NTAPI KeInitializeInterrupt(PKINTERRUPT Interrupt, PKSERVICE_ROUTINE ServiceRoutine,
                                             PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                                             KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                             BOOLEAN ShareVector, CCHAR ProcessorNumber, BOOLEAN FloatingSave);
NTKERNELAPI KIRQL NTAPI KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt);
NTKERNELAPI VOID NTAPI KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql);
NTKERNELAPI BOOLEAN NTAPI KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                                 PVOID SynchronizeContext);
/* Runs the service routine as the interrupt would: at the object's
 * SynchronizeIrql holding its lock. Used by KiDeviceInterrupt (the device
 * vector dispatch) and by tests. */
BOOLEAN KiInvokeInterruptServiceRoutine(PKINTERRUPT Interrupt);
/* Device vectors (arch.h ARCH_DEVICE_VECTOR_*): see src/ke/interrupt_object.c. */
NTKERNELAPI BOOLEAN NTAPI KeConnectInterrupt(PKINTERRUPT Interrupt);
NTKERNELAPI BOOLEAN NTAPI KeDisconnectInterrupt(PKINTERRUPT Interrupt);
/* Interrupts at Vector that no connected service routine claimed (tests, diagnostics). */
ULONG KiDeviceInterruptUnclaimed(ULONG Vector);

/* ---- dispatcher objects ------------------------------------------------------ */

NTKERNELAPI VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
NTKERNELAPI LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeResetEvent(PRKEVENT Event);
NTKERNELAPI VOID NTAPI KeClearEvent(PRKEVENT Event);
NTKERNELAPI LONG NTAPI KeReadStateEvent(PRKEVENT Event);
NTKERNELAPI LONG NTAPI KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);

NTKERNELAPI VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level);
NTKERNELAPI LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex);
NTKERNELAPI VOID NTAPI KeInitializeMutant(PRKMUTANT Mutant, BOOLEAN InitialOwner);
NTKERNELAPI LONG NTAPI KeReleaseMutant(PRKMUTANT Mutant, KPRIORITY Increment, BOOLEAN Abandoned, BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateMutant(PRKMUTANT Mutant);

NTKERNELAPI VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit);
NTKERNELAPI LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore);

NTKERNELAPI NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                                  KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                                  PLARGE_INTEGER Timeout);
NTKERNELAPI NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                                     KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                                     BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                                     PKWAIT_BLOCK WaitBlockArray);
#define KeWaitForMutexObject KeWaitForSingleObject
NTKERNELAPI NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                                   PLARGE_INTEGER Interval);

/* ---- threads and scheduling ------------------------------------------------------ */

NTKERNELAPI KPRIORITY NTAPI KeQueryPriorityThread(PKTHREAD Thread);
NTKERNELAPI KPRIORITY NTAPI KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority);
NTKERNELAPI LONG NTAPI KeSetBasePriorityThread(PKTHREAD Thread, LONG Increment);
NTKERNELAPI VOID NTAPI KeSetSystemAffinityThread(KAFFINITY Affinity);
NTKERNELAPI VOID NTAPI KeRevertToUserAffinityThread(void);
NTKERNELAPI KAFFINITY NTAPI KeSetSystemAffinityThreadEx(KAFFINITY Affinity);
NTKERNELAPI VOID NTAPI KeRevertToUserAffinityThreadEx(KAFFINITY Affinity);
NTKERNELAPI KAFFINITY NTAPI KeQueryActiveProcessors(void);
NTKERNELAPI ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors);
NTKERNELAPI BOOLEAN NTAPI KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode);
NTKERNELAPI BOOLEAN NTAPI KeTestAlertThread(KPROCESSOR_MODE AlertMode);
NTKERNELAPI NTSTATUS NTAPI ZwYieldExecution(void);
NTKERNELAPI NTSTATUS NTAPI NtYieldExecution(void);
NTKERNELAPI BOOLEAN NTAPI KeReadStateThread(PKTHREAD Thread);
/* A spin-loop hint that is also an interruptible point on the host backend. */
#define KeYieldProcessor() arch_pause()

/* Kernel-internal thread lifecycle (Ps wraps these in ETHREAD objects). */
NTSTATUS KeInitializeThread(PKTHREAD Thread, struct _KPROCESS *Process, SIZE_T StackSize,
                            PKSTART_ROUTINE StartRoutine, PVOID StartContext, KPRIORITY Priority);
VOID KeStartThread(PKTHREAD Thread);
DECLSPEC_NORETURN VOID KeTerminateThread(NTSTATUS ExitStatus);
/* Frees a terminated (or never started) thread's stack. STATUS_INVALID_DEVICE_STATE
 * if the thread is still alive. Safe as soon as the thread object is signaled. */
NTSTATUS KeDeleteThread(PKTHREAD Thread);
VOID KeInitializeProcess(struct _KPROCESS *Process, KPRIORITY BasePriority, KAFFINITY Affinity);
/* The System process's KPROCESS is the Pcb of its EPROCESS (static storage in
 * Ps), so every thread's process is an EPROCESS from the first instruction. */
extern KPROCESS *const KiSystemProcessPointer;
#define KiSystemProcess (*KiSystemProcessPointer)

/* ---- DPCs ------------------------------------------------------------------------ */

NTKERNELAPI VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
NTKERNELAPI VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
NTKERNELAPI BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
NTKERNELAPI BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc);
NTKERNELAPI VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance);
NTKERNELAPI VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number);
NTKERNELAPI VOID NTAPI KeFlushQueuedDpcs(void);
NTKERNELAPI LOGICAL NTAPI KeIsExecutingDpc(void);

/* ---- timers ------------------------------------------------------------------------ */

NTKERNELAPI VOID NTAPI KeInitializeTimer(PKTIMER Timer);
NTKERNELAPI VOID NTAPI KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
NTKERNELAPI BOOLEAN NTAPI KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc);
NTKERNELAPI BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
NTKERNELAPI BOOLEAN NTAPI KeCancelTimer(PKTIMER Timer);
NTKERNELAPI BOOLEAN NTAPI KeReadStateTimer(PKTIMER Timer);

/* ---- APCs -------------------------------------------------------------------------- */

NTKERNELAPI VOID NTAPI KeInitializeApc(PRKAPC Apc, PRKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                                       PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                                       PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                                       PVOID NormalContext);
NTKERNELAPI BOOLEAN NTAPI KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                                           KPRIORITY Increment);
NTKERNELAPI BOOLEAN NTAPI KeRemoveQueueApc(PKAPC Apc);
NTKERNELAPI VOID NTAPI KeEnterCriticalRegion(void);
NTKERNELAPI VOID NTAPI KeLeaveCriticalRegion(void);
/* Kernel-internal: KeEnter/LeaveCriticalRegion inline on a thread pointer the
 * caller already has, for hot paths (the handle lookup). */
VOID NTAPI KiCheckForKernelApcDelivery(PKTHREAD Thread);
static inline VOID KiEnterCriticalRegionThread(PKTHREAD Thread)
{
    Thread->KernelApcDisable--;
}
static inline VOID KiLeaveCriticalRegionThread(PKTHREAD Thread)
{
    if (++Thread->KernelApcDisable == 0)
        KiCheckForKernelApcDelivery(Thread);
}
NTKERNELAPI VOID NTAPI KeEnterGuardedRegion(void);
NTKERNELAPI VOID NTAPI KeLeaveGuardedRegion(void);
NTKERNELAPI BOOLEAN NTAPI KeAreApcsDisabled(void);
NTKERNELAPI BOOLEAN NTAPI KeAreAllApcsDisabled(void);

/* ---- time -------------------------------------------------------------------------- */

NTKERNELAPI VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
NTKERNELAPI VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
NTKERNELAPI ULONGLONG NTAPI KeQueryInterruptTime(void);
NTKERNELAPI ULONGLONG NTAPI KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp);
NTKERNELAPI VOID NTAPI KeQueryTickCount(PLARGE_INTEGER CurrentCount);
NTKERNELAPI LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);

#endif /* NTOS_KE_OBJECTS_H */
