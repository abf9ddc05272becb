/*
 * Object manager: object types, object headers, reference and handle
 * counts, the namespace (directories and symbolic links) and handle tables.
 *
 * What drivers see is documented (OBJECT_ATTRIBUTES, the Ob* exports and the
 * exported type pointers); OBJECT_HEADER and OBJECT_TYPE follow the x64
 * Windows layout closely enough that debugger-style tooling finds the counts
 * where it expects them, but no driver may depend on them.
 *
 * IRQL: ObReferenceObject/ObDereferenceObject at any IRQL <= DISPATCH_LEVEL
 * (a dereference above APC_LEVEL that drops the last reference queues the
 * delete to a worker thread); everything that takes names or handles at
 * PASSIVE_LEVEL (APC_LEVEL for lookups by handle).
 */
#ifndef NTOS_OB_H
#define NTOS_OB_H

#include <ntos/ntdef.h>
#include <ntos/ex.h>
#include <ntos/se.h>

struct _EPROCESS;
struct _OBJECT_TYPE;
typedef struct _OBJECT_TYPE *POBJECT_TYPE;

/* ---- object attributes -------------------------------------------------------------- */

#define OBJ_INHERIT 0x00000002UL
#define OBJ_PERMANENT 0x00000010UL
#define OBJ_EXCLUSIVE 0x00000020UL
#define OBJ_CASE_INSENSITIVE 0x00000040UL
#define OBJ_OPENIF 0x00000080UL
#define OBJ_OPENLINK 0x00000100UL
#define OBJ_KERNEL_HANDLE 0x00000200UL
#define OBJ_FORCE_ACCESS_CHECK 0x00000400UL
#define OBJ_IGNORE_IMPERSONATED_DEVICEMAP 0x00000800UL
#define OBJ_DONT_REPARSE 0x00001000UL
#define OBJ_VALID_ATTRIBUTES 0x00001FF2UL

typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes;
    PVOID SecurityDescriptor;       /* PSECURITY_DESCRIPTOR */
    PVOID SecurityQualityOfService; /* PSECURITY_QUALITY_OF_SERVICE */
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES *PCOBJECT_ATTRIBUTES;
NTOS_ASSERT_SIZE(OBJECT_ATTRIBUTES, 0x30);
NTOS_ASSERT_OFFSET(OBJECT_ATTRIBUTES, RootDirectory, 0x08);
NTOS_ASSERT_OFFSET(OBJECT_ATTRIBUTES, ObjectName, 0x10);
NTOS_ASSERT_OFFSET(OBJECT_ATTRIBUTES, Attributes, 0x18);
NTOS_ASSERT_OFFSET(OBJECT_ATTRIBUTES, SecurityDescriptor, 0x20);
NTOS_ASSERT_OFFSET(OBJECT_ATTRIBUTES, SecurityQualityOfService, 0x28);

#define InitializeObjectAttributes(p, n, a, r, s)          \
    do {                                                   \
        (p)->Length = sizeof(OBJECT_ATTRIBUTES);           \
        (p)->RootDirectory = (r);                          \
        (p)->Attributes = (a);                             \
        (p)->ObjectName = (n);                             \
        (p)->SecurityDescriptor = (s);                     \
        (p)->SecurityQualityOfService = NULL;              \
    } while (0)
#define RTL_CONSTANT_OBJECT_ATTRIBUTES(n, a) {sizeof(OBJECT_ATTRIBUTES), NULL, (n), (a), NULL, NULL}

/* Pseudo-handles: the current process and thread, never stored in a table. */
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define ZwCurrentProcess() NtCurrentProcess()
#define NtCurrentThread() ((HANDLE)(LONG_PTR)-2)
#define ZwCurrentThread() NtCurrentThread()

/* x64 kernel handles have the sign bits set: they live in the system process's
 * table and are usable only from kernel mode. */
#define KERNEL_HANDLE_MASK ((ULONG_PTR)0xFFFFFFFF80000000ULL)

typedef struct _OBJECT_HANDLE_INFORMATION {
    ULONG HandleAttributes;
    ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;

typedef struct _OBJECT_NAME_INFORMATION {
    UNICODE_STRING Name;
} OBJECT_NAME_INFORMATION, *POBJECT_NAME_INFORMATION;

/* ---- object types --------------------------------------------------------------------- */

typedef enum _OB_OPEN_REASON {
    ObCreateHandle,
    ObOpenHandle,
    ObDuplicateHandle,
    ObInheritHandle,
    ObMaxOpenReason
} OB_OPEN_REASON;

typedef enum _SECURITY_OPERATION_CODE {
    SetSecurityDescriptor,
    QuerySecurityDescriptor,
    DeleteSecurityDescriptor,
    AssignSecurityDescriptor
} SECURITY_OPERATION_CODE, *PSECURITY_OPERATION_CODE;

typedef NTSTATUS(NTAPI *OB_OPEN_METHOD)(OB_OPEN_REASON OpenReason, KPROCESSOR_MODE AccessMode,
                                        struct _EPROCESS *Process, PVOID Object, PACCESS_MASK GrantedAccess,
                                        ULONG HandleCount);
typedef VOID(NTAPI *OB_CLOSE_METHOD)(struct _EPROCESS *Process, PVOID Object, ULONG_PTR ProcessHandleCount,
                                     ULONG_PTR SystemHandleCount);
typedef VOID(NTAPI *OB_DELETE_METHOD)(PVOID Object);
typedef NTSTATUS(NTAPI *OB_PARSE_METHOD)(PVOID ParseObject, PVOID ObjectType, PACCESS_STATE AccessState,
                                         KPROCESSOR_MODE AccessMode, ULONG Attributes,
                                         PUNICODE_STRING CompleteName, PUNICODE_STRING RemainingName,
                                         PVOID Context, PSECURITY_QUALITY_OF_SERVICE SecurityQos, PVOID *Object);
typedef NTSTATUS(NTAPI *OB_SECURITY_METHOD)(PVOID Object, SECURITY_OPERATION_CODE OperationType,
                                            PSECURITY_INFORMATION SecurityInformation,
                                            PSECURITY_DESCRIPTOR SecurityDescriptor, PULONG CapturedLength,
                                            PSECURITY_DESCRIPTOR *ObjectsSecurityDescriptor, POOL_TYPE PoolType,
                                            PGENERIC_MAPPING GenericMapping, KPROCESSOR_MODE Mode);
typedef NTSTATUS(NTAPI *OB_QUERYNAME_METHOD)(PVOID Object, BOOLEAN HasObjectName,
                                             POBJECT_NAME_INFORMATION ObjectNameInfo, ULONG Length,
                                             PULONG ReturnLength, KPROCESSOR_MODE Mode);
typedef BOOLEAN(NTAPI *OB_OKAYTOCLOSE_METHOD)(struct _EPROCESS *Process, PVOID Object, HANDLE Handle,
                                              KPROCESSOR_MODE PreviousMode);

typedef struct _OBJECT_TYPE_INITIALIZER {
    USHORT Length;
    union {
        UCHAR ObjectTypeFlags;
        struct {
            UCHAR CaseInsensitive : 1;
            UCHAR UnnamedObjectsOnly : 1;
            UCHAR UseDefaultObject : 1;
            UCHAR SecurityRequired : 1;
            UCHAR MaintainHandleCount : 1;
            UCHAR MaintainTypeList : 1;
            UCHAR SupportsObjectCallbacks : 1;
            UCHAR CacheAligned : 1;
        };
    };
    ULONG ObjectTypeCode;
    ULONG InvalidAttributes;
    GENERIC_MAPPING GenericMapping;
    ACCESS_MASK ValidAccessMask;
    ACCESS_MASK RetainAccess;
    POOL_TYPE PoolType;
    ULONG DefaultPagedPoolCharge;
    ULONG DefaultNonPagedPoolCharge;
    OB_OPEN_METHOD OpenProcedure;
    OB_CLOSE_METHOD CloseProcedure;
    OB_DELETE_METHOD DeleteProcedure;
    OB_PARSE_METHOD ParseProcedure;
    OB_SECURITY_METHOD SecurityProcedure;
    OB_QUERYNAME_METHOD QueryNameProcedure;
    OB_OKAYTOCLOSE_METHOD OkayToCloseProcedure;
    /* Offset of a DISPATCHER_HEADER inside the body that waits use; only
     * meaningful with UseDefaultObject clear and no DefaultObject. */
    ULONG WaitObjectFlagMask;
    USHORT WaitObjectFlagOffset;
    USHORT WaitObjectPointerOffset;
} OBJECT_TYPE_INITIALIZER, *POBJECT_TYPE_INITIALIZER;

typedef struct _OBJECT_TYPE {
    LIST_ENTRY TypeList;             /* objects of this type when MaintainTypeList */
    UNICODE_STRING Name;
    PVOID DefaultObject;             /* what a wait on a non-dispatcher object waits on */
    UCHAR Index;                     /* into ObTypeIndexTable, stored in each header */
    ULONG TotalNumberOfObjects;
    ULONG TotalNumberOfHandles;
    ULONG HighWaterNumberOfObjects;
    ULONG HighWaterNumberOfHandles;
    OBJECT_TYPE_INITIALIZER TypeInfo;
    EX_PUSH_LOCK TypeLock;
    ULONG Key;                       /* pool tag of its objects */
    LIST_ENTRY CallbackList;
} OBJECT_TYPE;

/* ---- object headers ----------------------------------------------------------------- */

/* Optional headers present before OBJECT_HEADER, flagged in InfoMask. */
#define OB_INFOMASK_CREATOR_INFO 0x01
#define OB_INFOMASK_NAME 0x02
#define OB_INFOMASK_HANDLE 0x04
#define OB_INFOMASK_QUOTA 0x08

/* OBJECT_HEADER.Flags */
#define OB_FLAG_NEW_OBJECT 0x01          /* created, not yet inserted */
#define OB_FLAG_KERNEL_OBJECT 0x02       /* created by a kernel-mode caller */
#define OB_FLAG_KERNEL_ONLY_ACCESS 0x04
#define OB_FLAG_EXCLUSIVE_OBJECT 0x08
#define OB_FLAG_PERMANENT_OBJECT 0x10
#define OB_FLAG_DEFAULT_SECURITY_QUOTA 0x20
#define OB_FLAG_SINGLE_HANDLE_ENTRY 0x40
#define OB_FLAG_DELETED_INLINE 0x80

typedef struct _OBJECT_HEADER_NAME_INFO {
    struct _OBJECT_DIRECTORY *Directory; /* parent, referenced while named */
    UNICODE_STRING Name;
    LONG ReferenceCount;
    ULONG Reserved;
} OBJECT_HEADER_NAME_INFO, *POBJECT_HEADER_NAME_INFO;
NTOS_ASSERT_SIZE(OBJECT_HEADER_NAME_INFO, 0x20);

typedef struct _OBJECT_HEADER_CREATOR_INFO {
    LIST_ENTRY TypeList;     /* in OBJECT_TYPE.TypeList */
    HANDLE CreatorUniqueProcess;
    USHORT CreatorBackTraceIndex;
    USHORT Reserved1;
    ULONG Reserved2;
} OBJECT_HEADER_CREATOR_INFO, *POBJECT_HEADER_CREATOR_INFO;
NTOS_ASSERT_SIZE(OBJECT_HEADER_CREATOR_INFO, 0x20);

typedef struct _OBJECT_HEADER {
    volatile LONG_PTR PointerCount;
    volatile LONG_PTR HandleCount;
    EX_PUSH_LOCK Lock;
    UCHAR TypeIndex;
    UCHAR TraceFlags;
    UCHAR InfoMask;
    UCHAR Flags;
    ULONG Reserved;
    struct _OBJECT_CREATE_INFORMATION *ObjectCreateInfo; /* until inserted */
    PVOID SecurityDescriptor;                             /* self-relative, pool-owned */
    ULONGLONG Body;                                       /* the object begins here */
} OBJECT_HEADER, *POBJECT_HEADER;
NTOS_ASSERT_OFFSET(OBJECT_HEADER, HandleCount, 0x08);
NTOS_ASSERT_OFFSET(OBJECT_HEADER, Lock, 0x10);
NTOS_ASSERT_OFFSET(OBJECT_HEADER, TypeIndex, 0x18);
NTOS_ASSERT_OFFSET(OBJECT_HEADER, InfoMask, 0x1a);
NTOS_ASSERT_OFFSET(OBJECT_HEADER, Flags, 0x1b);
NTOS_ASSERT_OFFSET(OBJECT_HEADER, SecurityDescriptor, 0x28);
NTOS_ASSERT_OFFSET(OBJECT_HEADER, Body, 0x30);

#define OBJECT_TO_OBJECT_HEADER(o) CONTAINING_RECORD((o), OBJECT_HEADER, Body)

/* ---- directories and symbolic links -------------------------------------------------- */

#define DIRECTORY_QUERY 0x0001
#define DIRECTORY_TRAVERSE 0x0002
#define DIRECTORY_CREATE_OBJECT 0x0004
#define DIRECTORY_CREATE_SUBDIRECTORY 0x0008
#define DIRECTORY_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | 0xF)

#define SYMBOLIC_LINK_QUERY 0x0001
#define SYMBOLIC_LINK_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | 0x1)

typedef struct _OBJECT_DIRECTORY_INFORMATION {
    UNICODE_STRING Name;
    UNICODE_STRING TypeName;
} OBJECT_DIRECTORY_INFORMATION, *POBJECT_DIRECTORY_INFORMATION;

/* ---- type pointers drivers import ---------------------------------------------------- */

extern POBJECT_TYPE ObDirectoryObjectType;
extern POBJECT_TYPE ObSymbolicLinkObjectType;
extern POBJECT_TYPE ObpTypeObjectType;
extern POBJECT_TYPE ExEventObjectType;
extern POBJECT_TYPE ExSemaphoreObjectType;
extern POBJECT_TYPE ExMutantObjectType;
extern POBJECT_TYPE ExTimerObjectType;
extern POBJECT_TYPE IoFileObjectType;
extern POBJECT_TYPE IoDeviceObjectType;
extern POBJECT_TYPE IoDriverObjectType;
extern POBJECT_TYPE PsProcessType;
extern POBJECT_TYPE PsThreadType;

/* ---- object lifetime ------------------------------------------------------------------ */

NTSTATUS ObCreateObjectType(PUNICODE_STRING TypeName, POBJECT_TYPE_INITIALIZER ObjectTypeInitializer,
                            PSECURITY_DESCRIPTOR Reserved, POBJECT_TYPE *ObjectType);
/*
 * Allocates header and body (zeroed) and captures the name, attributes and
 * security descriptor from ObjectAttributes (may be NULL). The object has one
 * pointer reference and is not yet in the namespace or any handle table:
 * ObInsertObject does that, or ObDereferenceObject frees it.
 */
NTSTATUS NTAPI ObCreateObject(KPROCESSOR_MODE ProbeMode, POBJECT_TYPE ObjectType,
                              POBJECT_ATTRIBUTES ObjectAttributes, KPROCESSOR_MODE OwnershipMode,
                              PVOID ParseContext, ULONG ObjectBodySize, ULONG PagedPoolCharge,
                              ULONG NonPagedPoolCharge, PVOID *Object);
NTKERNELAPI NTSTATUS NTAPI ObInsertObject(PVOID Object, PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
                                          ULONG ObjectPointerBias, PVOID *NewObject, PHANDLE Handle);

NTKERNELAPI LONG_PTR FASTCALL ObfReferenceObject(PVOID Object);
NTKERNELAPI LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object);
NTKERNELAPI LONG_PTR NTAPI ObReferenceObjectWithTag(PVOID Object, ULONG Tag); /* returns the new count */
NTKERNELAPI LONG_PTR NTAPI ObDereferenceObjectWithTag(PVOID Object, ULONG Tag);
NTKERNELAPI LONG_PTR FASTCALL ObfReferenceObjectWithTag(PVOID Object, ULONG Tag);
NTKERNELAPI LONG_PTR FASTCALL ObfDereferenceObjectWithTag(PVOID Object, ULONG Tag);
NTKERNELAPI LONG_PTR NTAPI ObDereferenceObjectDeferDelete(PVOID Object);
NTKERNELAPI LONG_PTR NTAPI ObDereferenceObjectDeferDeleteWithTag(PVOID Object, ULONG Tag);
NTKERNELAPI BOOLEAN FASTCALL ObReferenceObjectSafe(PVOID Object);
#define ObReferenceObject(o) ObfReferenceObject(o)
#define ObDereferenceObject(o) ObfDereferenceObject(o)

NTKERNELAPI NTSTATUS NTAPI ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                                      POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode);
NTKERNELAPI NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                     POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                                     PVOID *Object,
                                                     POBJECT_HANDLE_INFORMATION HandleInformation);
NTKERNELAPI NTSTATUS NTAPI ObReferenceObjectByHandleWithTag(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                            POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                                            ULONG Tag, PVOID *Object,
                                                            POBJECT_HANDLE_INFORMATION HandleInformation);
NTKERNELAPI NTSTATUS NTAPI ObReferenceObjectByName(PUNICODE_STRING ObjectName, ULONG Attributes,
                                                   PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
                                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                                   PVOID ParseContext, PVOID *Object);
NTKERNELAPI NTSTATUS NTAPI ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes,
                                                 PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
                                                 POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                                 PHANDLE Handle);
NTKERNELAPI NTSTATUS NTAPI ObOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE ObjectType,
                                              KPROCESSOR_MODE AccessMode, PACCESS_STATE PassedAccessState,
                                              ACCESS_MASK DesiredAccess, PVOID ParseContext, PHANDLE Handle);
NTKERNELAPI VOID NTAPI ObMakeTemporaryObject(PVOID Object);
NTKERNELAPI POBJECT_TYPE NTAPI ObGetObjectType(PVOID Object);
NTKERNELAPI NTSTATUS NTAPI ObQueryNameString(PVOID Object, POBJECT_NAME_INFORMATION ObjectNameInfo, ULONG Length,
                                             PULONG ReturnLength);
NTKERNELAPI NTSTATUS NTAPI ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode);
NTKERNELAPI NTSTATUS NTAPI ObGetObjectSecurity(PVOID Object, PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                               PBOOLEAN MemoryAllocated);
NTKERNELAPI VOID NTAPI ObReleaseObjectSecurity(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN MemoryAllocated);
NTKERNELAPI BOOLEAN NTAPI ObIsKernelHandle(HANDLE Handle);

/* ---- Zw/Nt services --------------------------------------------------------------------- */

typedef enum _OBJECT_INFORMATION_CLASS {
    ObjectBasicInformation = 0,
    ObjectNameInformation = 1,
    ObjectTypeInformation = 2,
    ObjectTypesInformation = 3,
    ObjectHandleFlagInformation = 4
} OBJECT_INFORMATION_CLASS;

typedef struct _PUBLIC_OBJECT_BASIC_INFORMATION {
    ULONG Attributes;
    ACCESS_MASK GrantedAccess;
    ULONG HandleCount;
    ULONG PointerCount;
    ULONG Reserved[10];
} PUBLIC_OBJECT_BASIC_INFORMATION, *PPUBLIC_OBJECT_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(PUBLIC_OBJECT_BASIC_INFORMATION, 0x38);

typedef struct _PUBLIC_OBJECT_TYPE_INFORMATION {
    UNICODE_STRING TypeName;
    ULONG Reserved[22];
} PUBLIC_OBJECT_TYPE_INFORMATION, *PPUBLIC_OBJECT_TYPE_INFORMATION;

typedef struct _OBJECT_HANDLE_FLAG_INFORMATION {
    BOOLEAN Inherit;
    BOOLEAN ProtectFromClose;
} OBJECT_HANDLE_FLAG_INFORMATION, *POBJECT_HANDLE_FLAG_INFORMATION;

#define DUPLICATE_CLOSE_SOURCE 0x00000001UL
#define DUPLICATE_SAME_ACCESS 0x00000002UL
#define DUPLICATE_SAME_ATTRIBUTES 0x00000004UL

/* Handle attribute bits as reported in OBJECT_HANDLE_INFORMATION / basic info. */
#define OBJ_PROTECT_CLOSE 0x00000001UL
#define OBJ_AUDIT_OBJECT_CLOSE 0x00000004UL

NTSYSAPI NTSTATUS NTAPI ZwClose(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI NtClose(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI ZwDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                                          HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                                          ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options);
NTSYSAPI NTSTATUS NTAPI NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                                          HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                                          ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options);
NTSYSAPI NTSTATUS NTAPI ZwMakeTemporaryObject(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI NtMakeTemporaryObject(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI ZwMakePermanentObject(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI ZwQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                      PVOID ObjectInformation, ULONG ObjectInformationLength, PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                      PVOID ObjectInformation, ULONG ObjectInformationLength, PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI ZwSetInformationObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                               PVOID ObjectInformation, ULONG ObjectInformationLength);

NTSYSAPI NTSTATUS NTAPI ZwCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                                POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwOpenDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                              POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwQueryDirectoryObject(HANDLE DirectoryHandle, PVOID Buffer, ULONG Length,
                                               BOOLEAN ReturnSingleEntry, BOOLEAN RestartScan, PULONG Context,
                                               PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI ZwCreateSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                                   POBJECT_ATTRIBUTES ObjectAttributes, PUNICODE_STRING LinkTarget);
NTSYSAPI NTSTATUS NTAPI ZwOpenSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                                 POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwQuerySymbolicLinkObject(HANDLE LinkHandle, PUNICODE_STRING LinkTarget,
                                                  PULONG ReturnedLength);

/* Kernel-internal: boot-time initialisation (after Ex, before Io). */
NTSTATUS ObInitSystem(void);

#endif /* NTOS_OB_H */
