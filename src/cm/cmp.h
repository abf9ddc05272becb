/*
 * Configuration manager internals shared by the files of src/cm.
 *
 * The hive is a tree of CM_KEY_NODEs in paged pool (tag 'CmKy'); values are
 * CM_VALUEs (name and data in one block, tag 'CmVa'). A node's subkeys are
 * an array kept sorted by upcased name, so lookups are binary searches and
 * enumeration order is the case-insensitive order Windows reports; values
 * keep their insertion order (a deleted value closes the gap), as in a
 * Windows value list.
 *
 * A key object (CM_KEY_BODY, one per open) holds a counted reference on its
 * node. A node carries one reference for being in the tree; deleting the key
 * takes it out of the tree, marks it CM_KEY_DELETED (every operation through
 * an old handle then answers STATUS_KEY_DELETED) and drops that reference;
 * the node is freed with its last reference.
 *
 * Locking: one ERESOURCE, CmpRegistryLock, for the whole namespace: shared
 * for lookups and queries, exclusive for every change (tree shape, values,
 * names, times, notify lists). It is taken inside a critical region and is
 * never held while calling out of the registry: registry callbacks and Ob
 * (key object and handle creation, closing) run with it released. Under it
 * run only leaf work that takes no registry lock: pool, Se access checks
 * and descriptor assignment for a new key (token locks only), event
 * signalling and work-item queueing for notifications. Node reference
 * counts are atomic and may be taken under the lock in either mode.
 * PASSIVE_LEVEL throughout.
 */
#ifndef NTOS_CMP_H
#define NTOS_CMP_H

#include <ntos/cm.h>
#include <ntos/ex.h>
#include <ntos/ex_sync.h>
#include <ntos/ex_pool.h>
#include <ntos/ex_objects.h>
#include <ntos/ke.h>
#include <ntos/rtl.h>
#include <ntos/se.h>
#include <ntos/list.h>
#include <ntos/bugcodes.h>

#define CM_TAG_KEY 0x794b6d43    /* "CmKy" */
#define CM_TAG_VALUE 0x61566d43  /* "CmVa" */
#define CM_TAG_NAME 0x6d4e6d43   /* "CmNm" */
#define CM_TAG_TEMP 0x70546d43   /* "CmTp" */
#define CM_TAG_NOTIFY 0x744e6d43 /* "CmNt" */
#define CM_TAG_CALLBACK 0x62436d43 /* "CmCb" */
#define CM_TAG_EXPORT 0x78456d43 /* "CmEx" */
#define CM_TAG_RTL 0x6c526d43    /* "CmRl" */

#define CM_KEY_BODY_TYPE 0x6b793032 /* "ky02" */

/* Node flags. */
#define CM_KEY_VOLATILE 0x0001
#define CM_KEY_LINK 0x0002
#define CM_KEY_DELETED 0x0004
#define CM_KEY_NO_DELETE 0x0008 /* \REGISTRY and the hive roots */

/* Windows limits: key name components of 255 characters, value names of 16383. */
#define CM_MAX_KEY_NAME_BYTES (255 * sizeof(WCHAR))
#define CM_MAX_VALUE_NAME_BYTES (16383 * sizeof(WCHAR))
#define CM_MAX_LINK_DEPTH 16

typedef struct _CM_VALUE {
    UNICODE_STRING Name; /* in the same block, after the structure */
    ULONG Type;
    ULONG DataLength;
    PUCHAR Data; /* in the same block, after the name */
} CM_VALUE, *PCM_VALUE;

typedef struct _CM_KEY_NODE {
    struct _CM_KEY_NODE *Parent; /* NULL for \REGISTRY and once deleted */
    UNICODE_STRING Name;
    volatile LONG RefCount;
    ULONG Flags;
    LARGE_INTEGER LastWriteTime;
    struct _CM_KEY_NODE **SubKeys;
    ULONG SubKeyCount;
    ULONG SubKeyCapacity;
    PCM_VALUE *Values;
    ULONG ValueCount;
    ULONG ValueCapacity;
    UNICODE_STRING Class;
    PSECURITY_DESCRIPTOR Security; /* self-relative, Se-allocated; NULL = open to all */
    LIST_ENTRY NotifyList;         /* CM_NOTIFY_BLOCKs waiting on this key */
} CM_KEY_NODE, *PCM_KEY_NODE;

typedef struct _CM_KEY_BODY {
    ULONG Type; /* CM_KEY_BODY_TYPE */
    PCM_KEY_NODE Node;
} CM_KEY_BODY, *PCM_KEY_BODY;

/* What ZwCreateKey/ZwOpenKey hand the parse procedure through Ob. */
typedef struct _CM_PARSE_CONTEXT {
    BOOLEAN Create;
    ULONG Options;
    ULONG TitleIndex;
    PCUNICODE_STRING Class;
    PSECURITY_DESCRIPTOR ExplicitSecurity; /* captured */
    ACCESS_MASK DesiredAccess;
    ULONG Disposition; /* out */
} CM_PARSE_CONTEXT, *PCM_PARSE_CONTEXT;

extern ERESOURCE CmpRegistryLock;
extern PCM_KEY_NODE CmpRootNode;      /* \REGISTRY */
extern PCM_KEY_BODY CmpRootKeyObject; /* the named object in the Ob root directory */
extern const GENERIC_MAPPING CmpKeyMapping;

static inline VOID CmpLockShared(void)
{
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&CmpRegistryLock, TRUE);
}

static inline VOID CmpLockExclusive(void)
{
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&CmpRegistryLock, TRUE);
}

static inline VOID CmpUnlock(void)
{
    ExReleaseResourceLite(&CmpRegistryLock);
    KeLeaveCriticalRegion();
}

/* ---- tree (cmtree.c) -------------------------------------------------------------------- */

VOID CmpReferenceNode(PCM_KEY_NODE Node);
VOID CmpDereferenceNode(PCM_KEY_NODE Node);
PCM_KEY_NODE CmpAllocateNode(PCUNICODE_STRING Name, ULONG Flags);
LONG CmpCompareNames(PCUNICODE_STRING A, PCUNICODE_STRING B);
/* Under the lock. Index of the subkey named Name, or where it would go (*Found FALSE). */
ULONG CmpFindSubKey(PCM_KEY_NODE Parent, PCUNICODE_STRING Name, BOOLEAN *Found);
NTSTATUS CmpInsertSubKey(PCM_KEY_NODE Parent, PCM_KEY_NODE Child); /* exclusive */
VOID CmpRemoveSubKey(PCM_KEY_NODE Parent, PCM_KEY_NODE Child);   /* exclusive */
PCM_VALUE CmpFindValue(PCM_KEY_NODE Node, PCUNICODE_STRING Name, PULONG Index);
NTSTATUS CmpSetValue(PCM_KEY_NODE Node, PCUNICODE_STRING Name, ULONG Type, const VOID *Data, ULONG DataLength);
NTSTATUS CmpDeleteValue(PCM_KEY_NODE Node, PCUNICODE_STRING Name);
/* Exclusive: takes the key out of the tree (no subkeys allowed). */
NTSTATUS CmpDeleteNode(PCM_KEY_NODE Node);
VOID CmpTouch(PCM_KEY_NODE Node);
/* Validates a caller's name string (even length, buffer present). */
NTSTATUS CmpValidateName(PCUNICODE_STRING Name, ULONG MaxBytes);

/*
 * Resolves Path below Start (under the lock; exclusive when Create).
 * Follows link keys (targets must be under \REGISTRY) except a final one
 * when OpenLink. With Create, a missing last component is created with
 * Context's options (the new node's descriptor must be assigned by the
 * caller, see CmpAssignNodeSecurity). On success *Result is referenced.
 */
typedef struct _CM_LOOKUP {
    PCM_KEY_NODE Start;
    PCUNICODE_STRING Path;
    BOOLEAN OpenLink;
    BOOLEAN Create;
    ULONG Options;
    PCUNICODE_STRING Class;
    PSECURITY_DESCRIPTOR ExplicitSecurity; /* for a created key */
    PACCESS_STATE AccessState;             /* creation needs KEY_CREATE_SUB_KEY on the parent */
    KPROCESSOR_MODE AccessMode;
    /* out */
    PCM_KEY_NODE Result;
    PCM_KEY_NODE Parent; /* referenced when a key was created */
    BOOLEAN Created;
} CM_LOOKUP, *PCM_LOOKUP;
NTSTATUS CmpLookup(PCM_LOOKUP Lookup);
/* Target of a link key as an absolute path (points into the value), or NULL. */
BOOLEAN CmpLinkTarget(PCM_KEY_NODE Link, PUNICODE_STRING Target);

/* Full name "\REGISTRY\..." length in bytes (0 if deleted), and writer. */
ULONG CmpFullNameLength(PCM_KEY_NODE Node);
VOID CmpWriteFullName(PCM_KEY_NODE Node, PWCHAR Buffer, ULONG Length);

/* ---- objects (cmparse.c) ------------------------------------------------------------------ */

NTSTATUS CmpCreateKeyBody(PCM_KEY_NODE Node, PCM_KEY_BODY *Body);
NTSTATUS CmpReferenceKeyByHandle(HANDLE Handle, ACCESS_MASK Access, KPROCESSOR_MODE Mode, PCM_KEY_BODY *Body);
NTSTATUS CmpAccessCheckNode(PCM_KEY_NODE Node, PACCESS_STATE AccessState, KPROCESSOR_MODE Mode, ACCESS_MASK Desired,
                            PACCESS_MASK Granted);
NTSTATUS CmpAssignNodeSecurity(PCM_KEY_NODE Node, PCM_KEY_NODE Parent, PSECURITY_DESCRIPTOR Explicit);
/* Opens/creates by absolute path for kernel-internal users (KernelMode, kernel handle). */
NTSTATUS CmpOpenKeyPath(PCWSTR Path, ACCESS_MASK Access, BOOLEAN Create, ULONG Options, PHANDLE Handle,
                        PULONG Disposition);

/* ---- notifications (cmnotify.c) ------------------------------------------------------------ */

/* Exclusive lock held: completes the waits the change satisfies. */
VOID CmpReportChange(PCM_KEY_NODE Node, ULONG Filter);
VOID CmpCompleteNodeNotifies(PCM_KEY_NODE Node, NTSTATUS Status, PCM_KEY_BODY OnlyBody);

/* ---- callbacks (cmcallback.c) -------------------------------------------------------------- */

#define CMP_MAX_INLINE_CALLBACKS 8
typedef struct _CM_CALLBACK_CALL {
    ULONG Count;      /* callbacks snapshotted */
    ULONG Called;     /* how many got the pre-notification */
    struct _CM_CALLBACK_BLOCK *Inline[CMP_MAX_INLINE_CALLBACKS];
    PVOID InlineContext[CMP_MAX_INLINE_CALLBACKS];
    struct _CM_CALLBACK_BLOCK **Blocks;
    PVOID *CallContexts;
} CM_CALLBACK_CALL, *PCM_CALLBACK_CALL;
/*
 * Pre-notification: Info is the REG_*_INFORMATION of Class, whose
 * CallContext member is at CallContextOffset (each callback gets its own).
 * Returns STATUS_SUCCESS, STATUS_CALLBACK_BYPASS or the blocking status.
 */
NTSTATUS CmpCallPre(PCM_CALLBACK_CALL Call, REG_NOTIFY_CLASS Class, PVOID Info, ULONG CallContextOffset);
/* Post-notification to the callbacks that saw the pre one (lowest altitude first); frees the call. */
NTSTATUS CmpCallPost(PCM_CALLBACK_CALL Call, REG_NOTIFY_CLASS Class, PVOID Object, NTSTATUS Status, PVOID PreInfo);
BOOLEAN CmpCallbacksRegistered(void);
VOID CmpInitializeCallbacks(void);

/* ---- .reg (cmregfile.c) --------------------------------------------------------------------- */

extern const char CmpDefaultRegistryText[];
extern const SIZE_T CmpDefaultRegistryTextLength;

#endif /* NTOS_CMP_H */
