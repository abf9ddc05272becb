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
    BOOLEAN CreateReported;             /* process-create notify routines were called (Ps notify) */
    ULONG SessionId;                    /* PSP_NO_SESSION for the System process, else the creator's */
} EPROCESS, *PEPROCESS;

#define PSP_NO_SESSION ((ULONG)-1)

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
NTKERNELAPI PCHAR NTAPI PsGetProcessImageFileName(PEPROCESS Process);
NTKERNELAPI ULONG NTAPI PsGetCurrentProcessSessionId(void);
NTKERNELAPI ULONG NTAPI PsGetProcessSessionId(PEPROCESS Process);
NTKERNELAPI ULONG NTAPI PsGetProcessSessionIdEx(PEPROCESS Process);
NTKERNELAPI HANDLE NTAPI PsGetProcessInheritedFromUniqueProcessId(PEPROCESS Process);
NTKERNELAPI LONGLONG NTAPI PsGetProcessCreateTimeQuadPart(PEPROCESS Process);
NTKERNELAPI NTSTATUS NTAPI PsGetProcessExitStatus(PEPROCESS Process);
NTKERNELAPI BOOLEAN NTAPI PsGetProcessExitProcessCalled(PEPROCESS Process);
NTKERNELAPI BOOLEAN NTAPI PsIsSystemProcess(PEPROCESS Process);
NTKERNELAPI NTSTATUS NTAPI PsGetThreadExitStatus(PETHREAD Thread);
NTKERNELAPI PEPROCESS NTAPI PsGetCurrentThreadProcess(void);
NTKERNELAPI HANDLE NTAPI PsGetCurrentThreadProcessId(void);
NTKERNELAPI KPROCESSOR_MODE NTAPI PsGetCurrentThreadPreviousMode(void);
NTKERNELAPI PVOID NTAPI PsGetCurrentThreadTeb(void);
NTKERNELAPI LONGLONG NTAPI PsGetThreadCreateTime(PETHREAD Thread);
/* The exported function forms of the PsGetCurrentProcess/PsGetCurrentThread macros. */
NTKERNELAPI PEPROCESS NTAPI PspGetCurrentProcessExport(void);
NTKERNELAPI PETHREAD NTAPI PspGetCurrentThreadExport(void);

/* Version: ntos reports Windows 10 22H2 (10.0.19045) everywhere (KUSER_SHARED_DATA too). */
typedef struct _OSVERSIONINFOW {
    ULONG dwOSVersionInfoSize;
    ULONG dwMajorVersion;
    ULONG dwMinorVersion;
    ULONG dwBuildNumber;
    ULONG dwPlatformId;
    WCHAR szCSDVersion[128];
} OSVERSIONINFOW, *POSVERSIONINFOW, RTL_OSVERSIONINFOW, *PRTL_OSVERSIONINFOW;
NTOS_ASSERT_SIZE(OSVERSIONINFOW, 0x114);
typedef struct _OSVERSIONINFOEXW {
    ULONG dwOSVersionInfoSize;
    ULONG dwMajorVersion;
    ULONG dwMinorVersion;
    ULONG dwBuildNumber;
    ULONG dwPlatformId;
    WCHAR szCSDVersion[128];
    USHORT wServicePackMajor;
    USHORT wServicePackMinor;
    USHORT wSuiteMask;
    UCHAR wProductType;
    UCHAR wReserved;
} OSVERSIONINFOEXW, *POSVERSIONINFOEXW, RTL_OSVERSIONINFOEXW, *PRTL_OSVERSIONINFOEXW;
NTOS_ASSERT_SIZE(OSVERSIONINFOEXW, 0x11C);
NTOS_ASSERT_OFFSET(OSVERSIONINFOEXW, wServicePackMajor, 0x114);
#define VER_PLATFORM_WIN32_NT 2
#define VER_NT_WORKSTATION 0x1
#define VER_SUITE_SINGLEUSERTS 0x100
NTKERNELAPI BOOLEAN NTAPI PsGetVersion(PULONG MajorVersion, PULONG MinorVersion, PULONG BuildNumber,
                                       PUNICODE_STRING CSDVersion);
NTKERNELAPI NTSTATUS NTAPI RtlGetVersion(PRTL_OSVERSIONINFOW VersionInformation);

/* ZwOpenProcess/ZwOpenThread and the basic information classes (src/ps/psopen.c). */
typedef enum _PROCESSINFOCLASS {
    ProcessBasicInformation = 0,
    ProcessTimes = 4,
    ProcessSessionInformation = 24,
} PROCESSINFOCLASS;
typedef enum _THREADINFOCLASS {
    ThreadBasicInformation = 0,
    ThreadTimes = 1,
} THREADINFOCLASS;
typedef struct _PROCESS_BASIC_INFORMATION {
    NTSTATUS ExitStatus;
    PVOID PebBaseAddress;
    ULONG_PTR AffinityMask;
    KPRIORITY BasePriority;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR InheritedFromUniqueProcessId;
} PROCESS_BASIC_INFORMATION, *PPROCESS_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(PROCESS_BASIC_INFORMATION, 0x30);
NTOS_ASSERT_OFFSET(PROCESS_BASIC_INFORMATION, UniqueProcessId, 0x20);
typedef struct _PROCESS_SESSION_INFORMATION {
    ULONG SessionId;
} PROCESS_SESSION_INFORMATION, *PPROCESS_SESSION_INFORMATION;
typedef struct _KERNEL_USER_TIMES {
    LARGE_INTEGER CreateTime;
    LARGE_INTEGER ExitTime;
    LARGE_INTEGER KernelTime;
    LARGE_INTEGER UserTime;
} KERNEL_USER_TIMES, *PKERNEL_USER_TIMES;
NTOS_ASSERT_SIZE(KERNEL_USER_TIMES, 0x20);
typedef struct _THREAD_BASIC_INFORMATION {
    NTSTATUS ExitStatus;
    PVOID TebBaseAddress;
    CLIENT_ID ClientId;
    KAFFINITY AffinityMask;
    KPRIORITY Priority;
    KPRIORITY BasePriority;
} THREAD_BASIC_INFORMATION, *PTHREAD_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(THREAD_BASIC_INFORMATION, 0x30);
NTOS_ASSERT_OFFSET(THREAD_BASIC_INFORMATION, ClientId, 0x10);
NTKERNELAPI NTSTATUS NTAPI ZwOpenProcess(PHANDLE ProcessHandle, ACCESS_MASK DesiredAccess,
                                         POBJECT_ATTRIBUTES ObjectAttributes, PCLIENT_ID ClientId);
NTKERNELAPI NTSTATUS NTAPI NtOpenProcess(PHANDLE ProcessHandle, ACCESS_MASK DesiredAccess,
                                         POBJECT_ATTRIBUTES ObjectAttributes, PCLIENT_ID ClientId);
NTKERNELAPI NTSTATUS NTAPI ZwOpenThread(PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes, PCLIENT_ID ClientId);
NTKERNELAPI NTSTATUS NTAPI NtOpenThread(PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes, PCLIENT_ID ClientId);
NTKERNELAPI NTSTATUS NTAPI ZwQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
                                                     PVOID ProcessInformation, ULONG ProcessInformationLength,
                                                     PULONG ReturnLength);
NTKERNELAPI NTSTATUS NTAPI NtQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
                                                     PVOID ProcessInformation, ULONG ProcessInformationLength,
                                                     PULONG ReturnLength);
NTKERNELAPI NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle, THREADINFOCLASS ThreadInformationClass,
                                                    PVOID ThreadInformation, ULONG ThreadInformationLength,
                                                    PULONG ReturnLength);
NTKERNELAPI NTSTATUS NTAPI NtQueryInformationThread(HANDLE ThreadHandle, THREADINFOCLASS ThreadInformationClass,
                                                    PVOID ThreadInformation, ULONG ThreadInformationLength,
                                                    PULONG ReturnLength);

/* ---- notify routines (src/ps/psnotify.c) -------------------------------------------------
 * Fixed arrays of EX_CALLBACK slots as on NT: 64 process, 64 thread, 64 image
 * routines. Registration at PASSIVE_LEVEL; the routines are called at
 * PASSIVE_LEVEL inside a critical region: process create after the process
 * object exists (in the creator's context), process exit when the process
 * object is deleted; thread create in the creator's context before the thread
 * runs, thread exit in the exiting thread's context; images when ldr maps one
 * (PspCallImageNotifyRoutines). Removal waits for routines still running. */
#define PSP_MAX_CREATE_PROCESS_NOTIFY 64
#define PSP_MAX_CREATE_THREAD_NOTIFY 64
#define PSP_MAX_LOAD_IMAGE_NOTIFY 64

typedef struct _PS_CREATE_NOTIFY_INFO {
    SIZE_T Size;
    union {
        ULONG Flags;
        struct {
            ULONG FileOpenNameAvailable : 1;
            ULONG IsSubsystemProcess : 1;
            ULONG Reserved : 30;
        };
    };
    HANDLE ParentProcessId;
    CLIENT_ID CreatingThreadId;
    struct _FILE_OBJECT *FileObject;
    PCUNICODE_STRING ImageFileName;
    PCUNICODE_STRING CommandLine;
    NTSTATUS CreationStatus;
} PS_CREATE_NOTIFY_INFO, *PPS_CREATE_NOTIFY_INFO;
NTOS_ASSERT_SIZE(PS_CREATE_NOTIFY_INFO, 0x48);
NTOS_ASSERT_OFFSET(PS_CREATE_NOTIFY_INFO, CreatingThreadId, 0x18);
NTOS_ASSERT_OFFSET(PS_CREATE_NOTIFY_INFO, CreationStatus, 0x40);

typedef struct _IMAGE_INFO {
    union {
        ULONG Properties;
        struct {
            ULONG ImageAddressingMode : 8;
            ULONG SystemModeImage : 1;
            ULONG ImageMappedToAllPids : 1;
            ULONG ExtendedInfoPresent : 1;
            ULONG MachineTypeMismatch : 1;
            ULONG ImageSignatureLevel : 4;
            ULONG ImageSignatureType : 3;
            ULONG ImagePartialMap : 1;
            ULONG Reserved : 12;
        };
    };
    PVOID ImageBase;
    ULONG ImageSelector;
    SIZE_T ImageSize;
    ULONG ImageSectionNumber;
} IMAGE_INFO, *PIMAGE_INFO;
NTOS_ASSERT_SIZE(IMAGE_INFO, 0x28);
NTOS_ASSERT_OFFSET(IMAGE_INFO, ImageSize, 0x18);
typedef struct _IMAGE_INFO_EX {
    SIZE_T Size;
    IMAGE_INFO ImageInfo;
    struct _FILE_OBJECT *FileObject;
} IMAGE_INFO_EX, *PIMAGE_INFO_EX;
NTOS_ASSERT_SIZE(IMAGE_INFO_EX, 0x38);
#define IMAGE_ADDRESSING_MODE_32BIT 3

typedef VOID(NTAPI *PCREATE_PROCESS_NOTIFY_ROUTINE)(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create);
typedef VOID(NTAPI *PCREATE_PROCESS_NOTIFY_ROUTINE_EX)(PEPROCESS Process, HANDLE ProcessId,
                                                       PPS_CREATE_NOTIFY_INFO CreateInfo);
typedef VOID(NTAPI *PCREATE_THREAD_NOTIFY_ROUTINE)(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create);
typedef VOID(NTAPI *PLOAD_IMAGE_NOTIFY_ROUTINE)(PUNICODE_STRING FullImageName, HANDLE ProcessId,
                                                PIMAGE_INFO ImageInfo);
typedef enum _PSCREATEPROCESSNOTIFYTYPE { PsCreateProcessNotifySubsystems = 0 } PSCREATEPROCESSNOTIFYTYPE;
typedef enum _PSCREATETHREADNOTIFYTYPE {
    PsCreateThreadNotifyNonSystem = 0,
    PsCreateThreadNotifySubsystems = 1
} PSCREATETHREADNOTIFYTYPE;
#define PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE 0x1

NTKERNELAPI NTSTATUS NTAPI PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine,
                                                           BOOLEAN Remove);
NTKERNELAPI NTSTATUS NTAPI PsSetCreateProcessNotifyRoutineEx(PCREATE_PROCESS_NOTIFY_ROUTINE_EX NotifyRoutine,
                                                             BOOLEAN Remove);
NTKERNELAPI NTSTATUS NTAPI PsSetCreateProcessNotifyRoutineEx2(PSCREATEPROCESSNOTIFYTYPE NotifyType,
                                                              PVOID NotifyInformation, BOOLEAN Remove);
NTKERNELAPI NTSTATUS NTAPI PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine);
NTKERNELAPI NTSTATUS NTAPI PsSetCreateThreadNotifyRoutineEx(PSCREATETHREADNOTIFYTYPE NotifyType,
                                                            PVOID NotifyInformation);
NTKERNELAPI NTSTATUS NTAPI PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine);
NTKERNELAPI NTSTATUS NTAPI PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine);
NTKERNELAPI NTSTATUS NTAPI PsSetLoadImageNotifyRoutineEx(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine, ULONG_PTR Flags);
NTKERNELAPI NTSTATUS NTAPI PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine);
/* Contract 5: ldr (wired by the lead) calls this for every image it maps. PASSIVE_LEVEL. */
VOID PspCallImageNotifyRoutines(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo);

/* Process attach (Ke bookkeeping, src/ps/attach.c). <= APC_LEVEL. */
NTKERNELAPI VOID NTAPI KeStackAttachProcess(PRKPROCESS Process, PRKAPC_STATE ApcState);
NTKERNELAPI VOID NTAPI KeUnstackDetachProcess(PRKAPC_STATE ApcState);
NTKERNELAPI VOID NTAPI KeAttachProcess(PRKPROCESS Process);
NTKERNELAPI VOID NTAPI KeDetachProcess(void);
NTKERNELAPI BOOLEAN NTAPI KeIsAttachedProcess(void);

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
