/*
 * Name lookup: walking the namespace from the root (or a handle's object)
 * one component at a time, following symbolic links, handing the rest of
 * the path to parse procedures, and inserting new names.
 *
 * Name rules (checked here, in this order)
 *  - odd length, length above MaximumLength, misaligned or NULL buffer:
 *    STATUS_OBJECT_NAME_INVALID (ObpCaptureObjectName)
 *  - an absolute name must start with '\' and a relative one (RootDirectory
 *    given) must not: STATUS_OBJECT_PATH_SYNTAX_BAD
 *  - an empty component ("\\", "a\\b", a trailing '\') or an embedded NUL:
 *    STATUS_OBJECT_NAME_INVALID. "." and ".." are ordinary names here.
 *  - a missing intermediate component: STATUS_OBJECT_PATH_NOT_FOUND; a missing
 *    last one: STATUS_OBJECT_NAME_NOT_FOUND
 *  - an intermediate object that is neither a directory, nor a link, nor has
 *    a parse procedure: STATUS_OBJECT_TYPE_MISMATCH
 *  - more than OBP_MAX_REPARSE link or parse reparses (a link cycle):
 *    STATUS_REPARSE_POINT_NOT_RESOLVED; any reparse with OBJ_DONT_REPARSE:
 *    STATUS_REPARSE_POINT_ENCOUNTERED
 * Components compare case-insensitively when the caller says
 * OBJ_CASE_INSENSITIVE or the object's type is case-insensitive (directories,
 * links, types, devices); hashing always folds case so both forms share a
 * bucket.
 *
 * Locking: ObpNamespaceLock shared for a lookup step, exclusive for an
 * insertion or removal. Directories themselves carry no lock; every change
 * of any directory happens under the exclusive namespace lock. Parse
 * procedures and security checks run with the lock released and the
 * object referenced. PASSIVE_LEVEL.
 */
#include "obp.h"

#ifndef STATUS_REPARSE_POINT_ENCOUNTERED
#define STATUS_REPARSE_POINT_ENCOUNTERED ((NTSTATUS)0xC000050BL)
#endif

EX_PUSH_LOCK ObpNamespaceLock;

ULONG ObpHashName(PCUNICODE_STRING Name)
{
    ULONG hash = 0;
    for (USHORT i = 0; i < Name->Length / sizeof(WCHAR); i++) {
        WCHAR c = RtlUpcaseUnicodeChar(Name->Buffer[i]);
        hash = hash * 31 + c;
    }
    return hash;
}

static BOOLEAN ObpNameMatches(PVOID Object, PCUNICODE_STRING Name, BOOLEAN CaseInsensitive)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(h);
    if (ni == NULL || ni->Name.Length != Name->Length)
        return FALSE;
    BOOLEAN ci = CaseInsensitive || ObpHeaderType(h)->TypeInfo.CaseInsensitive;
    return RtlEqualUnicodeString(&ni->Name, Name, ci);
}

PVOID ObpDirectoryLookup(POBJECT_DIRECTORY Directory, PCUNICODE_STRING Name, ULONG Hash, BOOLEAN CaseInsensitive)
{
    for (POBJECT_DIRECTORY_ENTRY e = Directory->HashBuckets[Hash % OBP_DIRECTORY_BUCKETS]; e != NULL;
         e = e->ChainLink) {
        if (e->HashValue == Hash && ObpNameMatches(e->Object, Name, CaseInsensitive))
            return e->Object;
    }
    return NULL;
}

BOOLEAN ObpDirectoryInsert(POBJECT_DIRECTORY Directory, PVOID Object, ULONG Hash)
{
    POBJECT_DIRECTORY_ENTRY e = ExAllocatePoolWithTag(PagedPool, sizeof(*e), OB_TAG_DIR);
    if (e == NULL)
        return FALSE;
    e->Object = Object;
    e->HashValue = Hash;
    POBJECT_DIRECTORY_ENTRY *bucket = &Directory->HashBuckets[Hash % OBP_DIRECTORY_BUCKETS];
    e->ChainLink = *bucket;
    *bucket = e;
    Directory->EntryCount++;
    return TRUE;
}

BOOLEAN ObpDirectoryRemove(POBJECT_DIRECTORY Directory, PVOID Object)
{
    for (ULONG b = 0; b < OBP_DIRECTORY_BUCKETS; b++) {
        for (POBJECT_DIRECTORY_ENTRY *link = &Directory->HashBuckets[b]; *link != NULL; link = &(*link)->ChainLink) {
            if ((*link)->Object == Object) {
                POBJECT_DIRECTORY_ENTRY e = *link;
                *link = e->ChainLink;
                Directory->EntryCount--;
                ExFreePoolWithTag(e, OB_TAG_DIR);
                return TRUE;
            }
        }
    }
    return FALSE;
}

/*
 * Called when a handle count reaches zero (and by ObMakeTemporaryObject):
 * a temporary named object without handles leaves its directory, and the
 * namespace's reference goes with it.
 */
VOID ObpDeleteNameCheck(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(h);
    if (ni == NULL)
        return;
    POBJECT_DIRECTORY dir = NULL;
    ObpLockExclusive(&ObpNamespaceLock);
    if (ni->Directory != NULL && __atomic_load_n(&h->HandleCount, __ATOMIC_ACQUIRE) == 0 &&
        !(h->Flags & OB_FLAG_PERMANENT_OBJECT)) {
        dir = ni->Directory;
        ObpDirectoryRemove(dir, Object);
        ni->Directory = NULL;
    }
    ObpUnlockExclusive(&ObpNamespaceLock);
    if (dir != NULL) {
        ObDereferenceObject(dir);
        ObDereferenceObject(Object);
    }
}

/* Splits the next component off *Rest (which starts after a '\'). */
static NTSTATUS ObpNextComponent(PUNICODE_STRING Rest, PUNICODE_STRING Component, BOOLEAN *Last)
{
    USHORT n = Rest->Length / sizeof(WCHAR);
    USHORT i = 0;
    while (i < n && Rest->Buffer[i] != L'\\') {
        if (Rest->Buffer[i] == UNICODE_NULL)
            return STATUS_OBJECT_NAME_INVALID;
        i++;
    }
    if (i == 0)
        return STATUS_OBJECT_NAME_INVALID;
    Component->Buffer = Rest->Buffer;
    Component->Length = Component->MaximumLength = (USHORT)(i * sizeof(WCHAR));
    *Last = (i == n);
    if (i == n) {
        Rest->Buffer += i;
        Rest->Length = 0;
    } else {
        /* Rest keeps its leading '\' for parse procedures; callers skip it. */
        Rest->Buffer += i;
        Rest->Length = (USHORT)((n - i) * sizeof(WCHAR));
    }
    Rest->MaximumLength = Rest->Length;
    return STATUS_SUCCESS;
}

/* Builds Target + Rest into a new pool string (the reparse name). */
static NTSTATUS ObpBuildReparseName(PCUNICODE_STRING Target, PCUNICODE_STRING Rest, PUNICODE_STRING Out)
{
    ULONG len = (ULONG)Target->Length + Rest->Length;
    if (len > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
        return STATUS_NAME_TOO_LONG;
    PWSTR buf = ExAllocatePoolWithTag(PagedPool, len + sizeof(WCHAR), OB_TAG_TEMP);
    if (buf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(buf, Target->Buffer, Target->Length);
    RtlCopyMemory((PUCHAR)buf + Target->Length, Rest->Buffer, Rest->Length);
    buf[len / sizeof(WCHAR)] = UNICODE_NULL;
    Out->Buffer = buf;
    Out->Length = (USHORT)len;
    Out->MaximumLength = (USHORT)(len + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

static NTSTATUS ObpInsertName(POBJECT_DIRECTORY Directory, PCUNICODE_STRING Component, ULONG Hash,
                              PVOID InsertObject, POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                              PACCESS_STATE AccessState, ULONG Attributes, PVOID *Found)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(InsertObject);
    POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(h);
    POBJECT_CREATE_INFORMATION ci = h->ObjectCreateInfo;
    BOOLEAN caseInsensitive = (Attributes & OBJ_CASE_INSENSITIVE) != 0;

    /* The creator needs the right to add to the directory. */
    if (AccessMode != KernelMode || (Attributes & OBJ_FORCE_ACCESS_CHECK)) {
        ACCESS_MASK want = ObjectType == ObDirectoryObjectType ? DIRECTORY_CREATE_SUBDIRECTORY
                                                                : DIRECTORY_CREATE_OBJECT;
        ACCESS_MASK granted;
        NTSTATUS status = ObpCheckObjectAccess(Directory, AccessState, AccessMode, want, &granted);
        if (!NT_SUCCESS(status))
            return status;
    }
    PWSTR nameCopy = ExAllocatePoolWithTag(PagedPool, (SIZE_T)Component->Length + sizeof(WCHAR), OB_TAG_NAME);
    if (nameCopy == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(nameCopy, Component->Buffer, Component->Length);
    nameCopy[Component->Length / sizeof(WCHAR)] = UNICODE_NULL;

    /* Security comes from the parent before the object is visible. */
    NTSTATUS status = ObpAssignSecurity(InsertObject, Directory, ci ? ci->SecurityDescriptor : NULL);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(nameCopy, OB_TAG_NAME);
        return status;
    }

    ObpLockExclusive(&ObpNamespaceLock);
    PVOID existing = ObpDirectoryLookup(Directory, Component, Hash, caseInsensitive);
    if (existing != NULL) {
        ObfReferenceObject(existing);
        ObpUnlockExclusive(&ObpNamespaceLock);
        ExFreePoolWithTag(nameCopy, OB_TAG_NAME);
        *Found = existing;
        return STATUS_OBJECT_NAME_COLLISION;
    }
    if (!ObpDirectoryInsert(Directory, InsertObject, Hash)) {
        ObpUnlockExclusive(&ObpNamespaceLock);
        ExFreePoolWithTag(nameCopy, OB_TAG_NAME);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ni->Name.Buffer = nameCopy;
    ni->Name.Length = Component->Length;
    ni->Name.MaximumLength = (USHORT)(Component->Length + sizeof(WCHAR));
    ni->Directory = Directory;
    ObfReferenceObject(Directory);     /* the name's reference on its parent */
    ObfReferenceObject(InsertObject);  /* the namespace's reference */
    ObfReferenceObject(InsertObject);  /* the one returned in *Found */
    ObpUnlockExclusive(&ObpNamespaceLock);
    *Found = InsertObject;
    return STATUS_SUCCESS;
}

NTSTATUS ObpLookupObjectName(HANDLE RootDirectory, PUNICODE_STRING ObjectName, ULONG Attributes,
                             POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PVOID ParseContext,
                             PACCESS_STATE AccessState, PVOID InsertObject, PVOID *FoundObject)
{
    *FoundObject = NULL;
    BOOLEAN caseInsensitive = (Attributes & OBJ_CASE_INSENSITIVE) != 0;
    UNICODE_STRING complete = *ObjectName; /* the name being resolved (may become a reparse buffer) */
    PWSTR reparseBuffer = NULL;
    ULONG reparses = 0;
    HANDLE root = RootDirectory;
    NTSTATUS status;
    PVOID current = NULL; /* referenced */

restart:
    if (current != NULL) {
        ObDereferenceObject(current);
        current = NULL;
    }
    UNICODE_STRING rest = complete;
    if (root != NULL) {
        status = ObReferenceObjectByHandle(root, 0, NULL, AccessMode, &current, NULL);
        if (!NT_SUCCESS(status))
            goto done;
        if (rest.Length != 0 && rest.Buffer[0] == L'\\') {
            status = STATUS_OBJECT_PATH_SYNTAX_BAD;
            goto done;
        }
        if (rest.Length == 0) {
            /* An empty name relative to a handle names the handle's object. */
            if (InsertObject != NULL) {
                status = STATUS_OBJECT_NAME_INVALID;
                goto done;
            }
            *FoundObject = current;
            current = NULL;
            status = STATUS_SUCCESS;
            goto done;
        }
        POBJECT_TYPE rootType = ObGetObjectType(current);
        if (rootType != ObDirectoryObjectType) {
            if (rootType->TypeInfo.ParseProcedure == NULL) {
                status = STATUS_OBJECT_TYPE_MISMATCH;
                goto done;
            }
            /* The object behind the handle parses the whole relative name. */
            UNICODE_STRING remaining = rest;
            PVOID result = NULL;
            status = rootType->TypeInfo.ParseProcedure(current, ObjectType, AccessState, AccessMode, Attributes,
                                                       &complete, &remaining, ParseContext, NULL, &result);
            if (status == STATUS_REPARSE) {
                status = STATUS_OBJECT_NAME_INVALID; /* relative reparse is not supported by any parser here */
            } else if (NT_SUCCESS(status)) {
                *FoundObject = result;
            }
            goto done;
        }
    } else {
        if (rest.Length == 0) {
            status = STATUS_OBJECT_NAME_INVALID;
            goto done;
        }
        if (rest.Buffer[0] != L'\\') {
            status = STATUS_OBJECT_PATH_SYNTAX_BAD;
            goto done;
        }
        current = ObpRootDirectoryObject;
        ObfReferenceObject(current);
        rest.Buffer++;
        rest.Length -= sizeof(WCHAR);
        rest.MaximumLength = rest.Length;
        if (rest.Length == 0) {
            /* "\" itself. */
            if (InsertObject != NULL) {
                *FoundObject = current;
                current = NULL;
                status = STATUS_OBJECT_NAME_COLLISION;
                goto done;
            }
            *FoundObject = current;
            current = NULL;
            status = STATUS_SUCCESS;
            goto done;
        }
    }

    /* current is a referenced directory; rest is the path below it (no leading '\'). */
    for (;;) {
        UNICODE_STRING component;
        BOOLEAN last;
        status = ObpNextComponent(&rest, &component, &last);
        if (!NT_SUCCESS(status))
            goto done;
        POBJECT_DIRECTORY dir = current;
        ULONG hash = ObpHashName(&component);

        ObpLockShared(&ObpNamespaceLock);
        PVOID obj = ObpDirectoryLookup(dir, &component, hash, caseInsensitive);
        if (obj != NULL)
            ObfReferenceObject(obj);
        ObpUnlockShared(&ObpNamespaceLock);

        if (obj == NULL) {
            if (!last) {
                status = STATUS_OBJECT_PATH_NOT_FOUND;
                goto done;
            }
            if (InsertObject == NULL) {
                status = STATUS_OBJECT_NAME_NOT_FOUND;
                goto done;
            }
            status = ObpInsertName(dir, &component, hash, InsertObject, ObjectType, AccessMode, AccessState, Attributes,
                                   FoundObject);
            goto done;
        }

        POBJECT_TYPE type = ObGetObjectType(obj);
        if (type == ObSymbolicLinkObjectType && (!last || (!(Attributes & OBJ_OPENLINK) && InsertObject == NULL))) {
            if (Attributes & OBJ_DONT_REPARSE) {
                ObDereferenceObject(obj);
                status = STATUS_REPARSE_POINT_ENCOUNTERED;
                goto done;
            }
            if (++reparses > OBP_MAX_REPARSE) {
                ObDereferenceObject(obj);
                status = STATUS_REPARSE_POINT_NOT_RESOLVED;
                goto done;
            }
            POBJECT_SYMBOLIC_LINK link = obj;
            UNICODE_STRING newName;
            status = ObpBuildReparseName(&link->LinkTarget, &rest, &newName);
            ObDereferenceObject(obj);
            if (!NT_SUCCESS(status))
                goto done;
            if (reparseBuffer != NULL)
                ExFreePool(reparseBuffer);
            reparseBuffer = newName.Buffer;
            complete = newName;
            root = NULL;
            goto restart;
        }
        if (last) {
            if (InsertObject != NULL) {
                *FoundObject = obj;
                status = STATUS_OBJECT_NAME_COLLISION;
                goto done;
            }
            if (type->TypeInfo.ParseProcedure != NULL && type != ObjectType && type != ObDirectoryObjectType) {
                /* A parse object opened by a caller who wants something else
                 * (a device opened as a file): its parse routine decides. */
                UNICODE_STRING remaining = rest;
                PVOID result = NULL;
                status = type->TypeInfo.ParseProcedure(obj, ObjectType, AccessState, AccessMode, Attributes, &complete,
                                                       &remaining, ParseContext, NULL, &result);
                ObDereferenceObject(obj);
                if (status == STATUS_REPARSE)
                    goto reparse_from_parse;
                if (NT_SUCCESS(status))
                    *FoundObject = result;
                goto done;
            }
            *FoundObject = obj;
            status = STATUS_SUCCESS;
            goto done;
        }
        if (type == ObDirectoryObjectType) {
            ObDereferenceObject(current);
            current = obj;
            rest.Buffer++; /* skip the separator */
            rest.Length -= sizeof(WCHAR);
            rest.MaximumLength = rest.Length;
            continue;
        }
        if (type->TypeInfo.ParseProcedure == NULL) {
            ObDereferenceObject(obj);
            status = STATUS_OBJECT_TYPE_MISMATCH;
            goto done;
        }
        {
            UNICODE_STRING remaining = rest; /* starts with '\' */
            PVOID result = NULL;
            status = type->TypeInfo.ParseProcedure(obj, ObjectType, AccessState,
                                                   AccessMode, Attributes, &complete, &remaining, ParseContext,
                                                   NULL, &result);
            ObDereferenceObject(obj);
            if (status == STATUS_REPARSE)
                goto reparse_from_parse;
            if (NT_SUCCESS(status))
                *FoundObject = result;
            goto done;
        }
    reparse_from_parse:
        /* The parse routine replaced `complete` with a new absolute name in
         * a pool buffer of its own, which is now ours to free. */
        if (complete.Buffer != reparseBuffer && complete.Buffer != ObjectName->Buffer) {
            if (reparseBuffer != NULL)
                ExFreePool(reparseBuffer);
            reparseBuffer = complete.Buffer;
        }
        if (Attributes & OBJ_DONT_REPARSE) {
            status = STATUS_REPARSE_POINT_ENCOUNTERED;
            goto done;
        }
        if (++reparses > OBP_MAX_REPARSE) {
            status = STATUS_REPARSE_POINT_NOT_RESOLVED;
            goto done;
        }
        root = NULL;
        goto restart;
    }

done:
    if (current != NULL)
        ObDereferenceObject(current);
    if (reparseBuffer != NULL)
        ExFreePool(reparseBuffer);
    return status;
}
