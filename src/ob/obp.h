/*
 * Object manager internals shared by the files of src/ob.
 *
 * Memory of one object, from low to high addresses (NT's order):
 *   [OBJECT_HEADER_HANDLE_INFO]   if InfoMask & OB_INFOMASK_HANDLE
 *   [OBJECT_HEADER_NAME_INFO]     if InfoMask & OB_INFOMASK_NAME
 *   [OBJECT_HEADER_CREATOR_INFO]  if InfoMask & OB_INFOMASK_CREATOR_INFO
 *   OBJECT_HEADER                 (0x30 bytes)
 *   body                          (what every Ob API receives)
 * One pool block holds all of it, tagged with the type's Key.
 *
 * Counts. PointerCount counts every reference, including one per handle and
 * one held by the namespace for each named object that is in a directory.
 * HandleCount counts handles. The object is deleted (exactly once) when
 * PointerCount reaches zero. A temporary named object leaves the namespace
 * when its HandleCount reaches zero; a permanent one stays until it is made
 * temporary and has no handles.
 *
 * Locks (acquisition order, outer first):
 *   ObpNamespaceLock   push lock, exclusive for directory/symbolic-link
 *                      insertions and removals, shared for lookups
 *   OBJECT_HEADER.Lock push lock: handle-count bookkeeping of one object
 *   OBJECT_TYPE.TypeLock push lock: the type's object list
 *   handle table lock  (src/ex/handle.c)
 * No pool allocation happens under an entry lock of a handle table.
 */
#ifndef NTOS_OBP_H
#define NTOS_OBP_H

#include <ntos/ob.h>
#include <ntos/ps.h>
#include <ntos/bugcodes.h>
#include <ntos/list.h>
#include <ntos/rtl.h>

#define OB_TAG_NAME 0x6d4e624f   /* "ObNm" */
#define OB_TAG_CREATE 0x69436f4f /* "OoCi" */
#define OB_TAG_DIR 0x72694442    /* "BDir" */
#define OB_TAG_TYPE 0x546a624f   /* "ObjT" */
#define OB_TAG_LINK 0x6b6e694c   /* "Link" */
#define OB_TAG_TEMP 0x706d546f   /* "oTmp" */

#define OBP_MAX_TYPES 64
#define OBP_MAX_REPARSE 32
#define OBP_DIRECTORY_BUCKETS 37

/* TraceFlags bits ntos uses for its own bookkeeping. */
#define OBP_TRACE_STATIC 0x01     /* header and body are static storage: never freed */
#define OBP_TRACE_DELETING 0x02   /* delete in progress (debug aid) */

typedef struct _OBJECT_HEADER_HANDLE_INFO {
    /* The process holding the object's handles when only one process does;
     * ObpHandleInfoMulti once several do (then counts come from tables). */
    struct _EPROCESS *Process;
    ULONG HandleCount;
    ULONG Multi;
} OBJECT_HEADER_HANDLE_INFO, *POBJECT_HEADER_HANDLE_INFO;

/* What ObCreateObject captured and ObInsertObject consumes. */
typedef struct _OBJECT_CREATE_INFORMATION {
    ULONG Attributes;
    HANDLE RootDirectory;
    KPROCESSOR_MODE ProbeMode;
    PSECURITY_DESCRIPTOR SecurityDescriptor; /* captured self-relative copy or NULL */
    SECURITY_QUALITY_OF_SERVICE SecurityQos;
    BOOLEAN HasQos;
    UNICODE_STRING Name;                     /* captured full name, pool */
    PVOID ParseContext;
} OBJECT_CREATE_INFORMATION, *POBJECT_CREATE_INFORMATION;

typedef struct _OBJECT_DIRECTORY_ENTRY {
    struct _OBJECT_DIRECTORY_ENTRY *ChainLink;
    PVOID Object;
    ULONG HashValue;
} OBJECT_DIRECTORY_ENTRY, *POBJECT_DIRECTORY_ENTRY;

typedef struct _OBJECT_DIRECTORY {
    POBJECT_DIRECTORY_ENTRY HashBuckets[OBP_DIRECTORY_BUCKETS];
    ULONG EntryCount;
} OBJECT_DIRECTORY, *POBJECT_DIRECTORY;

typedef struct _OBJECT_SYMBOLIC_LINK {
    LARGE_INTEGER CreationTime;
    UNICODE_STRING LinkTarget;
    ULONG DosDeviceDriveIndex;
} OBJECT_SYMBOLIC_LINK, *POBJECT_SYMBOLIC_LINK;

/* ---- globals ---------------------------------------------------------------------- */

extern POBJECT_TYPE ObTypeIndexTable[OBP_MAX_TYPES];
extern EX_PUSH_LOCK ObpNamespaceLock;
extern POBJECT_DIRECTORY ObpRootDirectoryObject;
extern POBJECT_DIRECTORY ObpTypeDirectoryObject;
extern KEVENT ObpDefaultObject;
extern const GENERIC_MAPPING ObpDirectoryMapping;

/* ---- locks ----------------------------------------------------------------------- */

/* Push locks have no owner: a holder must not be suspended by a kernel APC,
 * so every Ob push-lock acquisition is wrapped in a critical region. */
static inline VOID ObpLockExclusive(PEX_PUSH_LOCK Lock)
{
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(Lock);
}

static inline VOID ObpUnlockExclusive(PEX_PUSH_LOCK Lock)
{
    ExReleasePushLockExclusive(Lock);
    KeLeaveCriticalRegion();
}

static inline VOID ObpLockShared(PEX_PUSH_LOCK Lock)
{
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(Lock);
}

static inline VOID ObpUnlockShared(PEX_PUSH_LOCK Lock)
{
    ExReleasePushLockShared(Lock);
    KeLeaveCriticalRegion();
}

/* ---- header helpers --------------------------------------------------------------- */

static inline POBJECT_TYPE ObpHeaderType(POBJECT_HEADER Header)
{
    return ObTypeIndexTable[Header->TypeIndex];
}

static inline PVOID ObpHeaderBody(POBJECT_HEADER Header)
{
    return &Header->Body;
}

static inline POBJECT_HEADER_CREATOR_INFO ObpHeaderCreatorInfo(POBJECT_HEADER Header)
{
    if (!(Header->InfoMask & OB_INFOMASK_CREATOR_INFO))
        return NULL;
    return (POBJECT_HEADER_CREATOR_INFO)((PUCHAR)Header - sizeof(OBJECT_HEADER_CREATOR_INFO));
}

static inline POBJECT_HEADER_NAME_INFO ObpHeaderNameInfo(POBJECT_HEADER Header)
{
    if (!(Header->InfoMask & OB_INFOMASK_NAME))
        return NULL;
    ULONG off = sizeof(OBJECT_HEADER_NAME_INFO);
    if (Header->InfoMask & OB_INFOMASK_CREATOR_INFO)
        off += sizeof(OBJECT_HEADER_CREATOR_INFO);
    return (POBJECT_HEADER_NAME_INFO)((PUCHAR)Header - off);
}

static inline POBJECT_HEADER_HANDLE_INFO ObpHeaderHandleInfo(POBJECT_HEADER Header)
{
    if (!(Header->InfoMask & OB_INFOMASK_HANDLE))
        return NULL;
    ULONG off = sizeof(OBJECT_HEADER_HANDLE_INFO);
    if (Header->InfoMask & OB_INFOMASK_NAME)
        off += sizeof(OBJECT_HEADER_NAME_INFO);
    if (Header->InfoMask & OB_INFOMASK_CREATOR_INFO)
        off += sizeof(OBJECT_HEADER_CREATOR_INFO);
    return (POBJECT_HEADER_HANDLE_INFO)((PUCHAR)Header - off);
}

/* ---- lifetime (obref.c / obcreate.c) ----------------------------------------------- */

VOID ObpDeleteObject(POBJECT_HEADER Header);
VOID ObpFreeCreateInformation(POBJECT_HEADER Header);
VOID ObpInitializeStaticObject(POBJECT_HEADER Header, POBJECT_TYPE Type);
/* Validates and copies a caller's UNICODE_STRING name (STATUS_OBJECT_NAME_INVALID). */
NTSTATUS ObpCaptureObjectName(PUNICODE_STRING Captured, PCUNICODE_STRING Name, BOOLEAN AllowEmpty);
VOID ObpReleaseCapturedName(PUNICODE_STRING Captured);

/* ---- namespace (obname.c / obdir.c / oblink.c) ------------------------------------ */

typedef struct _OBP_LOOKUP_CONTEXT {
    POBJECT_DIRECTORY Directory; /* directory the final component lives in (referenced) */
    UNICODE_STRING LastName;     /* points into the caller's name */
    BOOLEAN HashValid;
    ULONG HashValue;
} OBP_LOOKUP_CONTEXT;

/*
 * Resolves Name (relative to RootDirectory when given) to an object.
 * On success *FoundObject is referenced. If InsertObject is non-NULL and the
 * name does not exist yet, inserts it (returning InsertObject referenced in
 * *FoundObject); if it exists, returns the existing object with
 * STATUS_OBJECT_NAME_COLLISION semantics decided by the caller.
 */
NTSTATUS ObpLookupObjectName(HANDLE RootDirectory, PUNICODE_STRING ObjectName, ULONG Attributes,
                             POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PVOID ParseContext,
                             PACCESS_STATE AccessState, PVOID InsertObject, PVOID *FoundObject);
/* Removes a temporary object's name once its last handle is gone. */
VOID ObpDeleteNameCheck(PVOID Object);
ULONG ObpHashName(PCUNICODE_STRING Name);
BOOLEAN ObpDirectoryInsert(POBJECT_DIRECTORY Directory, PVOID Object, ULONG Hash);
PVOID ObpDirectoryLookup(POBJECT_DIRECTORY Directory, PCUNICODE_STRING Name, ULONG Hash, BOOLEAN CaseInsensitive);
BOOLEAN ObpDirectoryRemove(POBJECT_DIRECTORY Directory, PVOID Object);
NTSTATUS ObpCreateDirectoryInternal(PCWSTR Path, POBJECT_DIRECTORY *Directory);
NTSTATUS ObpCreateSymbolicLinkInternal(PCWSTR Path, PCWSTR Target);

/* ---- security (obsecure.c) -------------------------------------------------------- */

/* Access to the object for an open: KernelMode (without OBJ_FORCE_ACCESS_CHECK)
 * gets what it asks for; others go through SeAccessCheck. */
NTSTATUS ObpCheckObjectAccess(PVOID Object, PACCESS_STATE AccessState, KPROCESSOR_MODE AccessMode,
                              ACCESS_MASK DesiredAccess, PACCESS_MASK GrantedAccess);
NTSTATUS ObpAssignSecurity(PVOID Object, POBJECT_DIRECTORY Parent, PSECURITY_DESCRIPTOR Explicit);
ACCESS_MASK ObpMapAccess(POBJECT_TYPE Type, ACCESS_MASK Access);

/* ---- handles (obhandle.c) --------------------------------------------------------- */

NTSTATUS ObpCreateHandle(OB_OPEN_REASON Reason, PVOID Object, ACCESS_MASK GrantedAccess, ULONG HandleAttributes,
                         KPROCESSOR_MODE AccessMode, PEPROCESS Process, PHANDLE Handle);
NTSTATUS ObpCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode);
struct _HANDLE_TABLE *ObpKernelHandleTable(void);
NTSTATUS ObpInitializeProcessHandleTable(PEPROCESS Process);
VOID ObpKillProcessHandleTable(PEPROCESS Process);

/* ---- types (obtype.c) -------------------------------------------------------------- */

NTSTATUS ObpCreateCoreTypes(void);
NTSTATUS ObpRegisterTypeName(POBJECT_TYPE Type);


/* High-water marks are advisory, but racing creators must not lose the
 * maximum: raise it with a compare-exchange loop. */
static inline void ObpRaiseHighWater(volatile ULONG *HighWater, ULONG Value)
{
    ULONG cur = __atomic_load_n(HighWater, __ATOMIC_RELAXED);
    while (Value > cur && !__atomic_compare_exchange_n(HighWater, &cur, Value, TRUE, __ATOMIC_RELAXED,
                                                       __ATOMIC_RELAXED))
        ;
}

#endif /* NTOS_OBP_H */
