/*
 * Process and thread objects (the executive layer over KPROCESS/KTHREAD).
 *
 * EPROCESS and ETHREAD begin with the kernel object (Pcb/Tcb) exactly as on
 * Windows, so PEPROCESS/PETHREAD and PKPROCESS/PKTHREAD are the same pointer
 * and KeGetCurrentThread() == PsGetCurrentThread(). The rest of each
 * structure is ntos's own; drivers treat both as opaque.
 *
 * Not every KTHREAD is an ETHREAD: idle threads, the boot thread and threads
 * created directly with KeInitializeThread (tests, early workers) are bare.
 * KTHREAD.ExecutiveThread tells them apart; Ps fields of a bare thread read
 * as "none" (no impersonation, no client id).
 *
 * IRQL: lookups and token references at <= APC_LEVEL; PsGetCurrent* at any.
 */
#ifndef NTOS_PS_H
#define NTOS_PS_H

#include <ntos/ob.h>

typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;
NTOS_ASSERT_SIZE(CLIENT_ID, 0x10);

struct _HANDLE_TABLE;

typedef struct _EPROCESS {
    KPROCESS Pcb;
    EX_PUSH_LOCK ProcessLock;           /* guards Token and the thread list below */
    EX_RUNDOWN_REF RundownProtect;
    HANDLE UniqueProcessId;
    HANDLE InheritedFromUniqueProcessId;
    LIST_ENTRY ActiveProcessLinks;      /* PspActiveProcessLock */
    struct _HANDLE_TABLE *ObjectTable;
    PACCESS_TOKEN Token;                /* primary token, referenced */
    LIST_ENTRY ThreadListHead;          /* ETHREAD.ThreadListEntry, ProcessLock */
    ULONG ActiveThreads;
    NTSTATUS ExitStatus;
    LARGE_INTEGER CreateTime;
    LARGE_INTEGER ExitTime;
    UCHAR ImageFileName[16];
    BOOLEAN Exiting;
    BOOLEAN SystemProcess;
} EPROCESS, *PEPROCESS;

typedef struct _ETHREAD {
    KTHREAD Tcb;
    CLIENT_ID Cid;
    LIST_ENTRY ThreadListEntry;         /* EPROCESS.ThreadListHead */
    EX_RUNDOWN_REF RundownProtect;
    EX_PUSH_LOCK ThreadLock;            /* guards the impersonation fields */
    PACCESS_TOKEN ImpersonationToken;   /* referenced, or NULL */
    SECURITY_IMPERSONATION_LEVEL ImpersonationLevel;
    BOOLEAN CopyOnOpen;
    BOOLEAN EffectiveOnly;
    BOOLEAN ActiveImpersonationInfo;
    BOOLEAN Terminated;
    LARGE_INTEGER CreateTime;
    LARGE_INTEGER ExitTime;
    PKSTART_ROUTINE StartAddress;
    PVOID StartContext;
    LIST_ENTRY IrpList;                 /* IRP.ThreadListEntry of the thread's I/O; touched only by the
                                           thread itself at APC_LEVEL (Io) */
} ETHREAD, *PETHREAD;

extern PEPROCESS PsInitialSystemProcess;

#define PsGetCurrentProcess() ((PEPROCESS)KeGetCurrentThread()->ApcState.Process)
#define PsGetCurrentThread() ((PETHREAD)KeGetCurrentThread())
NTKERNELAPI PEPROCESS NTAPI IoGetCurrentProcess(void);
NTKERNELAPI HANDLE NTAPI PsGetCurrentProcessId(void);
NTKERNELAPI HANDLE NTAPI PsGetCurrentThreadId(void);
NTKERNELAPI HANDLE NTAPI PsGetProcessId(PEPROCESS Process);
NTKERNELAPI HANDLE NTAPI PsGetThreadId(PETHREAD Thread);
NTKERNELAPI HANDLE NTAPI PsGetThreadProcessId(PETHREAD Thread);
NTKERNELAPI PEPROCESS NTAPI PsGetThreadProcess(PETHREAD Thread);
NTKERNELAPI BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread);
NTKERNELAPI BOOLEAN NTAPI PsIsThreadTerminating(PETHREAD Thread);
NTKERNELAPI NTSTATUS NTAPI PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process);
NTKERNELAPI NTSTATUS NTAPI PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread);

NTKERNELAPI NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                                POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                                PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                                PVOID StartContext);
NTKERNELAPI NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus);

/* Tokens: each reference must be dropped with the matching dereference. */
NTKERNELAPI PACCESS_TOKEN NTAPI PsReferencePrimaryToken(PEPROCESS Process);
NTKERNELAPI VOID NTAPI PsDereferencePrimaryToken(PACCESS_TOKEN PrimaryToken);
NTKERNELAPI PACCESS_TOKEN NTAPI PsReferenceImpersonationToken(PETHREAD Thread, PBOOLEAN CopyOnOpen,
                                                              PBOOLEAN EffectiveOnly,
                                                              PSECURITY_IMPERSONATION_LEVEL ImpersonationLevel);
NTKERNELAPI VOID NTAPI PsDereferenceImpersonationToken(PACCESS_TOKEN ImpersonationToken);
NTKERNELAPI NTSTATUS NTAPI PsImpersonateClient(PETHREAD Thread, PACCESS_TOKEN Token, BOOLEAN CopyOnOpen,
                                               BOOLEAN EffectiveOnly,
                                               SECURITY_IMPERSONATION_LEVEL ImpersonationLevel);
NTKERNELAPI VOID NTAPI PsRevertToSelf(void);

/* Process/thread access rights. */
#define PROCESS_TERMINATE 0x0001
#define PROCESS_CREATE_THREAD 0x0002
#define PROCESS_VM_OPERATION 0x0008
#define PROCESS_VM_READ 0x0010
#define PROCESS_VM_WRITE 0x0020
#define PROCESS_DUP_HANDLE 0x0040
#define PROCESS_CREATE_PROCESS 0x0080
#define PROCESS_SET_QUOTA 0x0100
#define PROCESS_SET_INFORMATION 0x0200
#define PROCESS_QUERY_INFORMATION 0x0400
#define PROCESS_SUSPEND_RESUME 0x0800
#define PROCESS_QUERY_LIMITED_INFORMATION 0x1000
#define PROCESS_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)
#define THREAD_TERMINATE 0x0001
#define THREAD_SUSPEND_RESUME 0x0002
#define THREAD_ALERT 0x0004
#define THREAD_GET_CONTEXT 0x0008
#define THREAD_SET_CONTEXT 0x0010
#define THREAD_SET_INFORMATION 0x0020
#define THREAD_QUERY_INFORMATION 0x0040
#define THREAD_SET_THREAD_TOKEN 0x0080
#define THREAD_IMPERSONATE 0x0100
#define THREAD_DIRECT_IMPERSONATION 0x0200
#define THREAD_QUERY_LIMITED_INFORMATION 0x0800
#define THREAD_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)

/*
 * Kernel-internal. PsInitSystem turns the boot process into the System
 * EPROCESS object (after ObInitSystem and SeInitSystem). PspCreateProcess
 * makes an empty process (own handle table, the given primary token or a
 * reference to the creator's) for tests and, later, user mode.
 */
NTSTATUS PsInitSystem(void);
NTSTATUS PsCreateProcessInternal(PACCESS_TOKEN Token, PEPROCESS *Process);
BOOLEAN PsIsExecutiveThread(PKTHREAD Thread);

#endif /* NTOS_PS_H */
