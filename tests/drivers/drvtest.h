/*
 * The contract between the test drivers (built by x86_64-w64-mingw32-gcc
 * against mingw-w64's DDK headers) and the test program (built against
 * include/ntos): device names, IOCTL codes and the layouts of the buffers
 * they exchange. It uses only what both header sets define (CTL_CODE, the
 * METHOD_ and FILE_ constants, fixed-width NT integer types), so it pulls
 * nothing of ntos into a driver.
 */
#ifndef NTOS_TESTS_DRVTEST_H
#define NTOS_TESTS_DRVTEST_H

/* ---- ntdrv_echo.sys: service DrvEcho ----------------------------------------------------------- */
#define DRVTEST_ECHO_DEVICE L"\\Device\\DrvEcho"
#define DRVTEST_ECHO_LINK L"\\DosDevices\\DrvEcho" /* = \??\DrvEcho */
#define DRVTEST_ECHO_SEED_VALUE L"EchoSeed"          /* REG_DWORD in the service key */
#define DRVTEST_ECHO_GREETING_VALUE L"Greeting"      /* REG_SZ in the service key */
#define DRVTEST_ECHO_TAG 0x6f686345                  /* 'Echo': the driver's state */
#define DRVTEST_ECHO_CHUNK_TAG 0x6b6e6843            /* 'Chnk': one chunk per write */

/* Output byte i = input byte i XOR (seed & 0xFF). */
#define IOCTL_ECHO_BUFFERED CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* The output buffer (an MDL, read by the driver): Information = sum of its bytes. */
#define IOCTL_ECHO_IN_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_IN_DIRECT, FILE_ANY_ACCESS)
/* The output buffer (an MDL) filled with the input repeated; Information = output length. */
#define IOCTL_ECHO_OUT_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
/* Raw caller pointers (kernel-mode callers only): output = input with a-z upper-cased. */
#define IOCTL_ECHO_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x903, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Returns DRVTEST_ECHO_STATS. */
#define IOCTL_ECHO_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x904, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Raises and lowers IRQL through the WDK's inline CR8 forms; returns DRVTEST_IRQL_REPORT. */
#define IOCTL_ECHO_IRQL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x905, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _DRVTEST_ECHO_STATS {
    ULONG Seed;          /* EchoSeed read from the service key by DriverEntry */
    ULONG GreetingBytes; /* length of Greeting in bytes, without the terminator */
    WCHAR Greeting[32];
    LONG Creates;
    LONG Closes;
    LONG Cleanups;
    ULONG QueuedBytes;  /* written, not yet read */
    ULONG QueuedChunks; /* pool blocks tagged 'Chnk' held by the driver */
    ULONG LockIrqlErrors; /* times KeGetCurrentIrql() != DISPATCH_LEVEL while holding the spin lock */
    ULONG EntryIrql;      /* KeGetCurrentIrql() in DriverEntry */
} DRVTEST_ECHO_STATS;

typedef struct _DRVTEST_IRQL_REPORT {
    ULONG Before;     /* KeGetCurrentIrql() on entry (PASSIVE_LEVEL) */
    ULONG Raised;     /* after KeRaiseIrql(DISPATCH_LEVEL) */
    ULONG OldFromRaise;
    ULONG Synch;      /* after KeRaiseIrqlToSynchLevel() */
    ULONG AfterLower; /* after lowering back to DISPATCH_LEVEL */
    ULONG After;      /* after KeLowerIrql(OldFromRaise) */
    ULONG InLock;     /* inside KeAcquireSpinLock */
    ULONG AfterLock;
    ULONG64 TickCount; /* KeQueryTickCount (inline read of KUSER_SHARED_DATA) */
    ULONG64 InterruptTime; /* KeQueryInterruptTime (inline) */
    ULONG64 SystemTime;    /* KeQuerySystemTime (inline) */
    ULONG64 PerfFrequency; /* KeQueryPerformanceCounter (HAL.dll) */
    ULONG64 PerfBefore;    /* around KeStallExecutionProcessor(50) (HAL.dll) */
    ULONG64 PerfAfter;
    /* A DPC queued while at DISPATCH_LEVEL must not run until the inline
     * KeLowerIrql (`mov cr8, reg`) drops below DISPATCH_LEVEL, and must have
     * run when that instruction completes, as with the exported KeLowerIrql. */
    ULONG DpcRanWhileRaised;
    ULONG DpcRanAfterLower;
    ULONG DpcIrql;
} DRVTEST_IRQL_REPORT;

/* ---- ntdrv_timer.sys: service DrvTimer --------------------------------------------------------- */
#define DRVTEST_TIMER_DEVICE L"\\Device\\DrvTimer"
#define DRVTEST_TIMER_LINK L"\\DosDevices\\DrvTimer"
#define DRVTEST_TIMER_TAG 0x726d6954 /* 'Timr': one block per pending request */

/* Input ULONG milliseconds; pends, completed by the timer DPC when due (or cancelled).
 * Output DRVTEST_TIMER_DONE. */
#define IOCTL_TIMER_DELAY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x910, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input ULONG; the driver's system thread computes Value * 3 + 1 while the dispatch
 * routine waits on an event. Output DRVTEST_TIMER_PING. */
#define IOCTL_TIMER_PING CTL_CODE(FILE_DEVICE_UNKNOWN, 0x911, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Pends; a work item (IoQueueWorkItem) completes it. Output DRVTEST_TIMER_WORK. */
#define IOCTL_TIMER_WORKITEM CTL_CODE(FILE_DEVICE_UNKNOWN, 0x912, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Output DRVTEST_TIMER_STATS. */
#define IOCTL_TIMER_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x913, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _DRVTEST_TIMER_DONE {
    ULONG CompletionIrql; /* DISPATCH_LEVEL: completed by the DPC */
    ULONG Milliseconds;
    ULONG64 Elapsed100ns; /* interrupt time between queueing and completion */
} DRVTEST_TIMER_DONE;

typedef struct _DRVTEST_TIMER_PING {
    ULONG Result;      /* Value * 3 + 1 */
    ULONG ThreadIrql;  /* KeGetCurrentIrql() in the system thread */
    ULONG64 ThreadId;  /* PsGetCurrentThreadId() of the system thread */
    ULONG64 CallerId;  /* PsGetCurrentThreadId() of the dispatch routine */
} DRVTEST_TIMER_PING;

typedef struct _DRVTEST_TIMER_WORK {
    ULONG WorkerIrql; /* PASSIVE_LEVEL */
    ULONG Marker;     /* 0x574F524B 'WORK' */
    ULONG64 WorkerThread; /* KeGetCurrentThread() (inline gs:[0x188]) in the work routine */
} DRVTEST_TIMER_WORK;

typedef struct _DRVTEST_TIMER_STATS {
    LONG Pending;    /* requests queued for the DPC */
    LONG Completed;  /* by the DPC */
    LONG Cancelled;  /* by the cancel routine */
    LONG DpcRuns;
    LONG Pings;
    LONG WorkItems;
    ULONG LockIrqlErrors;
} DRVTEST_TIMER_STATS;

/* ---- ntdrv_filter.sys: service DrvFilter, attached above \Device\DrvEcho ----------------------- */
#define DRVTEST_FILTER_TAG 0x746c6946 /* 'Filt' */
/* Sent to \Device\DrvEcho; answered by the filter itself. Output DRVTEST_FILTER_STATS. */
#define IOCTL_FILTER_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x920, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _DRVTEST_FILTER_STATS {
    LONG Creates;
    LONG Closes;
    LONG Reads;
    LONG Writes;
    LONG DeviceControls;
    LONG ReadCompletions;    /* the completion routine ran */
    ULONG64 BytesRead;       /* summed in the completion routine */
    ULONG LowerStackSize;    /* StackSize of the device it attached to */
    ULONG FilterStackSize;   /* its own StackSize (lower + 1) */
} DRVTEST_FILTER_STATS;

/* ---- ntdrv_missing.sys: imports a routine ntos does not export --------------------------------- */
/* tools/check_driver_imports.py and the test both expect exactly this name. */
#define DRVTEST_MISSING_IMPORT "IoWMIRegistrationControl"

/* ---- ntdrv_observer.sys: service DrvObserver --------------------------------------------------- */
#define DRVTEST_OBSERVER_DEVICE L"\\Device\\DrvObserver"
#define DRVTEST_OBSERVER_CALLBACK L"\\Callback\\DrvObserver" /* its own callback object */
#define DRVTEST_OBSERVER_STANDARD_CALLBACK L"\\Callback\\SetSystemTime"
#define DRVTEST_OBSERVER_ALTITUDE L"385210.5"
#define DRVTEST_OBSERVER_TAG 0x7673624f /* 'Obsv' */
/* Stripped by its Ob pre-operation callbacks from handles to the watched process and thread. */
#define DRVTEST_OBSERVER_PROCESS_STRIP 0x0021 /* PROCESS_TERMINATE | PROCESS_VM_WRITE */
#define DRVTEST_OBSERVER_THREAD_STRIP 0x0003  /* THREAD_TERMINATE | THREAD_SUSPEND_RESUME */
#define DRVTEST_OBSERVER_MAX_THREADS 32
#define DRVTEST_OBSERVER_MAX_IMAGES 4
#define DRVTEST_OBSERVER_NAME_CHARS 64

/* Creates a system thread, waits for it; then opens it again by pointer with
 * THREAD_ALL_ACCESS (stripped by the callback). Output DRVTEST_OBSERVER_THREAD. */
#define IOCTL_OBSERVER_THREAD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x930, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input ULONG64 process id; ZwOpenProcess(PROCESS_ALL_ACCESS) on it by CLIENT_ID. Output
 * DRVTEST_OBSERVER_OPEN. */
#define IOCTL_OBSERVER_OPEN_PROCESS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x931, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Output DRVTEST_OBSERVER_STATS. */
#define IOCTL_OBSERVER_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x932, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _DRVTEST_OBSERVER_THREAD {
    ULONG64 ProcessId;     /* CLIENT_ID from PsCreateSystemThread */
    ULONG64 ThreadId;
    ULONG64 SeenThreadId;  /* PsGetCurrentThreadId() in the thread */
    ULONG64 SeenProcessId; /* PsGetCurrentProcessId() in the thread */
    ULONG64 CallerThreadId;
    ULONG WaitStatus;      /* ZwWaitForSingleObject on the thread handle */
    ULONG ReopenStatus;    /* ObOpenObjectByPointer(THREAD_ALL_ACCESS) */
    ULONG ReopenGranted;   /* its GrantedAccess (ZwQueryObject ObjectBasicInformation) */
    ULONG ThreadPreOps;    /* thread pre/post callbacks on this thread during the IOCTL */
    ULONG ThreadPostOps;
    ULONG ThreadPostGranted;
} DRVTEST_OBSERVER_THREAD;

typedef struct _DRVTEST_OBSERVER_OPEN {
    ULONG OpenStatus;     /* ZwOpenProcess */
    ULONG Granted;        /* ZwQueryObject ObjectBasicInformation GrantedAccess */
    ULONG ReferenceStatus; /* ObReferenceObjectByHandle(*PsProcessType) */
    ULONG64 ReferencedId; /* PsGetProcessId of the object it referenced */
    ULONG PreOps;         /* process pre/post callbacks on the watched process */
    ULONG PostOps;
    ULONG PreOriginal;    /* OriginalDesiredAccess the pre callback saw */
    ULONG PreKernelHandle;
    ULONG PostGranted;    /* GrantedAccess the post callback saw */
    ULONG PostStatus;
} DRVTEST_OBSERVER_OPEN;

typedef struct _DRVTEST_OBSERVER_THREAD_EVENT {
    ULONG64 ProcessId;
    ULONG64 ThreadId;
    ULONG Create;
    ULONG Reserved;
} DRVTEST_OBSERVER_THREAD_EVENT;

typedef struct _DRVTEST_OBSERVER_IMAGE {
    ULONG64 ProcessId;
    ULONG64 ImageBase;
    ULONG64 ImageSize;
    ULONG SystemModeImage;
    ULONG NameChars;
    WCHAR Name[DRVTEST_OBSERVER_NAME_CHARS]; /* FullImageName, truncated */
} DRVTEST_OBSERVER_IMAGE;

typedef struct _DRVTEST_OBSERVER_STATS {
    ULONG ThreadEvents;   /* total thread notifications */
    ULONG ThreadRecorded; /* entries in Threads (the first MAX) */
    DRVTEST_OBSERVER_THREAD_EVENT Threads[DRVTEST_OBSERVER_MAX_THREADS];
    ULONG ImageLoads;
    ULONG ImagesRecorded;
    DRVTEST_OBSERVER_IMAGE Images[DRVTEST_OBSERVER_MAX_IMAGES];
    ULONG ProcessCreates; /* process notify (Ex) calls with and without CreateInfo */
    ULONG ProcessExits;
    ULONG OwnCallbacks;   /* \Callback\DrvObserver notifications */
    ULONG64 OwnArgument1;
    ULONG64 OwnArgument2;
    ULONG64 OwnContext;   /* the CallbackContext given to ExRegisterCallback */
    ULONG StandardCallbacks; /* \Callback\SetSystemTime notifications */
    ULONG EntryIrql;
    ULONG NotifyIrqlErrors; /* a notify routine ran above PASSIVE_LEVEL */
    ULONG RegisterStatus[6]; /* DriverEntry: thread, image, process Ex, Ob, own callback, standard callback */
} DRVTEST_OBSERVER_STATS;
#define DRVTEST_OBSERVER_OWN_CONTEXT 0x0b5e7c0dULL

/* ---- ntdrv_seh.sys: service DrvSeh, structured exception handling in gcc-built code ------------- */
#define DRVTEST_SEH_DEVICE L"\\Device\\DrvSeh"
/* Input DRVTEST_SEH_PROBE: ProbeForRead(Address, Length, Alignment) inside the guarded scope. */
#define IOCTL_SEH_PROBE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x940, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* A read through a null pointer in a routine called from the guarded scope. */
#define IOCTL_SEH_NULL_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0x941, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input ULONG status: ExRaiseStatus(status) two calls deep inside a scope that also has a
 * termination handler (run by the unwind, AbnormalTermination TRUE). */
#define IOCTL_SEH_RAISE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x942, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* The same scope left normally: the termination handler runs once, AbnormalTermination FALSE. */
#define IOCTL_SEH_NORMAL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x943, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Every IOCTL outputs DRVTEST_SEH_RESULT. */

typedef struct _DRVTEST_SEH_PROBE {
    ULONG64 Address;
    ULONG Length;
    ULONG Alignment;
} DRVTEST_SEH_PROBE;

typedef struct _DRVTEST_SEH_RESULT {
    ULONG Status;          /* the exception code the except block got (in RAX), or STATUS_SUCCESS */
    ULONG FilterCalls;     /* the filter ran (once per caught exception) */
    ULONG FilterCode;      /* ExceptionRecord->ExceptionCode seen by the filter */
    ULONG FinallyCalls;    /* the termination handler ran */
    ULONG FinallyAbnormal; /* its AbnormalTermination argument */
    ULONG BodyCompleted;   /* the guarded code ran to its end (no exception) */
    ULONG64 FaultAddress;  /* ExceptionInformation[1] of an access violation */
} DRVTEST_SEH_RESULT;

#endif
