/*
 * Keys as objects: the Key type, its parse procedure (how Ob hands
 * "\REGISTRY\..." and names relative to a key handle to the registry),
 * key bodies, security on open, and boot initialisation.
 *
 * \REGISTRY is a permanent Key object in the Ob root directory whose body
 * refers to the root node. Every open, whether absolute (Ob finds \REGISTRY
 * and calls the parse procedure with the rest) or relative to a key handle
 * (Ob calls the parse procedure of the handle's key), ends here: the path
 * is resolved in the tree under CmpRegistryLock, the key's descriptor is
 * checked for non-kernel callers, the lock is released and a new key body
 * is created for the handle. The parse procedure marks the access state
 * evaluated so Ob gives the handle exactly what was granted here.
 *
 * Locking: CmpRegistryLock (see cmp.h) shared for an open, exclusive for a
 * create; released before any Ob call. PASSIVE_LEVEL.
 */
#include <ntos/arch.h>
#include "cmp.h"
#include <ntos/dbg.h>

POBJECT_TYPE CmKeyObjectType;
PCM_KEY_BODY CmpRootKeyObject;

const GENERIC_MAPPING CmpKeyMapping = {KEY_READ, KEY_WRITE, KEY_EXECUTE, KEY_ALL_ACCESS};

static ACCESS_MASK CmpMapAccess(ACCESS_MASK Desired)
{
    Desired &= ~KEY_WOW64_RES;
    if (Desired & MAXIMUM_ALLOWED) {
        Desired &= ~MAXIMUM_ALLOWED;
        Desired |= KEY_ALL_ACCESS;
    }
    RtlMapGenericMask(&Desired, (PGENERIC_MAPPING)&CmpKeyMapping);
    return Desired & (KEY_ALL_ACCESS | SYNCHRONIZE | ACCESS_SYSTEM_SECURITY);
}

NTSTATUS CmpAccessCheckNode(PCM_KEY_NODE Node, PACCESS_STATE AccessState, KPROCESSOR_MODE Mode, ACCESS_MASK Desired,
                            PACCESS_MASK Granted)
{
    *Granted = 0;
    if (Mode == KernelMode || Node->Security == NULL) {
        *Granted = CmpMapAccess(Desired);
        return STATUS_SUCCESS;
    }
    SECURITY_SUBJECT_CONTEXT local;
    PSECURITY_SUBJECT_CONTEXT subject;
    if (AccessState != NULL) {
        subject = &AccessState->SubjectSecurityContext;
    } else {
        SeCaptureSubjectContext(&local);
        subject = &local;
    }
    ACCESS_MASK desired = Desired & ~KEY_WOW64_RES;
    RtlMapGenericMask(&desired, (PGENERIC_MAPPING)&CmpKeyMapping);
    NTSTATUS status = STATUS_ACCESS_DENIED;
    ACCESS_MASK granted = 0;
    BOOLEAN ok = SeAccessCheck(Node->Security, subject, FALSE, desired, 0, NULL, (PGENERIC_MAPPING)&CmpKeyMapping,
                               Mode, &granted, &status);
    if (subject == &local)
        SeReleaseSubjectContext(&local);
    if (!ok)
        return NT_SUCCESS(status) ? STATUS_ACCESS_DENIED : status;
    *Granted = granted & (KEY_ALL_ACCESS | SYNCHRONIZE | ACCESS_SYSTEM_SECURITY);
    return STATUS_SUCCESS;
}

NTSTATUS CmpAssignNodeSecurity(PCM_KEY_NODE Node, PCM_KEY_NODE Parent, PSECURITY_DESCRIPTOR Explicit)
{
    PSECURITY_DESCRIPTOR parentSd = Parent ? Parent->Security : NULL;
    if (parentSd == NULL && Explicit == NULL)
        return STATUS_SUCCESS;
    SECURITY_SUBJECT_CONTEXT subject;
    SeCaptureSubjectContext(&subject);
    PSECURITY_DESCRIPTOR sd = NULL;
    /* Keys are containers: CONTAINER_INHERIT ACEs flow to subkeys. */
    NTSTATUS status = SeAssignSecurity(parentSd, Explicit, &sd, TRUE, &subject, (PGENERIC_MAPPING)&CmpKeyMapping,
                                       PagedPool);
    SeReleaseSubjectContext(&subject);
    if (!NT_SUCCESS(status))
        return status;
    if (Node->Security != NULL)
        SeDeassignSecurity(&Node->Security);
    Node->Security = sd;
    return STATUS_SUCCESS;
}

static VOID NTAPI CmpDeleteKeyBody(PVOID Object)
{
    PCM_KEY_BODY body = Object;
    if (body->Type == CM_KEY_BODY_TYPE && body->Node != NULL)
        CmpDereferenceNode(body->Node);
    body->Node = NULL;
    body->Type = 0;
}

static VOID NTAPI CmpCloseKeyBody(PEPROCESS Process, PVOID Object, ULONG_PTR ProcessHandleCount,
                                  ULONG_PTR SystemHandleCount)
{
    (void)Process;
    (void)ProcessHandleCount;
    PCM_KEY_BODY body = Object;
    if (SystemHandleCount != 1 || body->Type != CM_KEY_BODY_TYPE)
        return;
    /* The last handle is going: its pending notifications end. */
    CmpLockExclusive();
    CmpCompleteNodeNotifies(body->Node, STATUS_NOTIFY_CLEANUP, body);
    CmpUnlock();
}

NTSTATUS CmpCreateKeyBody(PCM_KEY_NODE Node, PCM_KEY_BODY *Body)
{
    *Body = NULL;
    PCM_KEY_BODY body;
    NTSTATUS status =
        ObCreateObject(KernelMode, CmKeyObjectType, NULL, KernelMode, NULL, sizeof(CM_KEY_BODY), 0, 0, (PVOID *)&body);
    if (!NT_SUCCESS(status))
        return status;
    CmpReferenceNode(Node);
    body->Node = Node;
    body->Type = CM_KEY_BODY_TYPE;
    PVOID inserted;
    status = ObInsertObject(body, NULL, 0, 0, &inserted, NULL);
    if (!NT_SUCCESS(status))
        return status; /* the failed insert dropped the object (and its node reference) */
    *Body = inserted;
    return STATUS_SUCCESS;
}

NTSTATUS CmpReferenceKeyByHandle(HANDLE Handle, ACCESS_MASK Access, KPROCESSOR_MODE Mode, PCM_KEY_BODY *Body)
{
    *Body = NULL;
    PVOID object;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, Access, CmKeyObjectType, Mode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    *Body = object;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI CmpParseKey(PVOID ParseObject, PVOID ObjectType, PACCESS_STATE AccessState,
                                  KPROCESSOR_MODE AccessMode, ULONG Attributes, PUNICODE_STRING CompleteName,
                                  PUNICODE_STRING RemainingName, PVOID Context, PSECURITY_QUALITY_OF_SERVICE Qos,
                                  PVOID *Object)
{
    (void)CompleteName;
    (void)Qos;
    *Object = NULL;
    if (ObjectType != NULL && ObjectType != CmKeyObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    PCM_KEY_BODY start = ParseObject;
    PCM_PARSE_CONTEXT ctx = Context;
    ACCESS_MASK desired = ctx ? ctx->DesiredAccess : (AccessState ? AccessState->OriginalDesiredAccess : 0);
    CM_LOOKUP L;
    RtlZeroMemory(&L, sizeof(L));
    L.Start = start->Node;
    L.Path = RemainingName;
    L.OpenLink = (Attributes & OBJ_OPENLINK) || (ctx && (ctx->Options & REG_OPTION_OPEN_LINK));
    L.Create = ctx && ctx->Create;
    L.Options = ctx ? ctx->Options : 0;
    L.Class = ctx ? ctx->Class : NULL;
    L.ExplicitSecurity = ctx ? ctx->ExplicitSecurity : NULL;
    L.AccessState = AccessState;
    L.AccessMode = AccessMode;
    if (L.Create)
        CmpLockExclusive();
    else
        CmpLockShared();
    NTSTATUS status = CmpLookup(&L);
    ACCESS_MASK granted = 0;
    if (NT_SUCCESS(status)) {
        if (L.Created)
            granted = CmpMapAccess(desired); /* the creator gets what it asked for */
        else
            status = CmpAccessCheckNode(L.Result, AccessState, AccessMode, desired, &granted);
    }
    CmpUnlock();
    if (L.Parent != NULL)
        CmpDereferenceNode(L.Parent);
    if (!NT_SUCCESS(status)) {
        if (L.Result != NULL)
            CmpDereferenceNode(L.Result);
        return status;
    }
    if (ctx != NULL)
        ctx->Disposition = L.Created ? REG_CREATED_NEW_KEY : REG_OPENED_EXISTING_KEY;
    PCM_KEY_BODY body;
    status = CmpCreateKeyBody(L.Result, &body);
    CmpDereferenceNode(L.Result);
    if (!NT_SUCCESS(status))
        return status;
    if (AccessState != NULL) {
        AccessState->SecurityEvaluated = TRUE;
        AccessState->PreviouslyGrantedAccess = granted;
        AccessState->RemainingDesiredAccess = 0;
    }
    *Object = body;
    return STATUS_SUCCESS;
}

NTSTATUS CmpOpenKeyPath(PCWSTR Path, ACCESS_MASK Access, BOOLEAN Create, ULONG Options, PHANDLE Handle,
                        PULONG Disposition)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Path);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    if (Create)
        return ZwCreateKey(Handle, Access, &oa, 0, NULL, Options, Disposition);
    return ZwOpenKeyEx(Handle, Access, &oa, Options);
}

/* ---- boot ---------------------------------------------------------------------------------- */

static PCSTR CmpBootText;
static SIZE_T CmpBootTextLength;

VOID CmSetBootRegistryText(PCSTR Text, SIZE_T Length)
{
    CmpBootText = Text;
    CmpBootTextLength = Length;
}

static BOOLEAN CmpEndsWithReg(const char *Name)
{
    SIZE_T n = 0;
    while (Name[n])
        n++;
    return n > 4 && Name[n - 4] == '.' && (Name[n - 3] | 0x20) == 'r' && (Name[n - 2] | 0x20) == 'e' &&
           (Name[n - 1] | 0x20) == 'g';
}

/*
 * Boot modules named *.reg are imported on top of the seed, in the order the
 * backend lists them: that is how a user gives a driver its service key (and
 * anything else it reads) in QEMU (`tools/ntos run --module x.reg`) or on the
 * host (NTOS_BOOT_MODULES=x.reg). A malformed one is reported with its line
 * and keeps what came before the error; it does not stop the boot, since the
 * registry itself is intact.
 */
static VOID CmpImportBootModules(void)
{
    ULONG count = arch_boot_module_count();
    for (ULONG i = 0; i < count; i++) {
        ARCH_BOOT_MODULE m;
        if (!arch_boot_module(i, &m) || !CmpEndsWithReg(m.Name))
            continue;
        ULONG line = 0;
        NTSTATUS status = CmImportRegistryText(m.Data, m.Size, NULL, &line);
        if (NT_SUCCESS(status))
            DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_INFO_LEVEL, "CM: imported boot module %s\n", m.Name);
        else
            DbgPrint("CM: boot module %s is malformed at line %lu (0x%08lx); the part before it is imported\n",
                     m.Name, line, status);
    }
}

/*
 * The hive roots' descriptor, as on Windows: SYSTEM and Administrators
 * full control, Everyone read; every ACE inherited by subkeys.
 */
static NTSTATUS CmpBuildDefaultSecurity(PSECURITY_DESCRIPTOR *Sd)
{
    UCHAR aclBuffer[256];
    PACL acl = (PACL)aclBuffer;
    NTSTATUS status = RtlCreateAcl(acl, sizeof(aclBuffer), ACL_REVISION);
    if (NT_SUCCESS(status))
        status = RtlAddAccessAllowedAceEx(acl, ACL_REVISION, CONTAINER_INHERIT_ACE, KEY_ALL_ACCESS,
                                          SeExports->SeLocalSystemSid);
    if (NT_SUCCESS(status))
        status = RtlAddAccessAllowedAceEx(acl, ACL_REVISION, CONTAINER_INHERIT_ACE, KEY_ALL_ACCESS,
                                          SeExports->SeAliasAdminsSid);
    if (NT_SUCCESS(status))
        status = RtlAddAccessAllowedAceEx(acl, ACL_REVISION, CONTAINER_INHERIT_ACE, KEY_READ, SeExports->SeWorldSid);
    if (!NT_SUCCESS(status))
        return status;
    SECURITY_DESCRIPTOR sd;
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE);
    RtlSetOwnerSecurityDescriptor(&sd, SeExports->SeLocalSystemSid, FALSE);
    RtlSetGroupSecurityDescriptor(&sd, SeExports->SeLocalSystemSid, FALSE);
    return SeCaptureSecurityDescriptor(&sd, KernelMode, PagedPool, TRUE, Sd);
}

static NTSTATUS CmpCreateRootChild(PCWSTR Name)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Name);
    PCM_KEY_NODE n = CmpAllocateNode(&name, CM_KEY_NO_DELETE);
    if (n == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS status = CmpBuildDefaultSecurity(&n->Security);
    if (NT_SUCCESS(status))
        status = CmpInsertSubKey(CmpRootNode, n);
    if (!NT_SUCCESS(status)) {
        n->Flags |= CM_KEY_DELETED;
        CmpDereferenceNode(n);
    }
    return status;
}

NTSTATUS CmInitSystem(void)
{
    NTSTATUS status = ExInitializeResourceLite(&CmpRegistryLock);
    if (!NT_SUCCESS(status))
        return status;
    CmpInitializeCallbacks();

    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.CaseInsensitive = 1;
    init.UseDefaultObject = 1;
    init.PoolType = PagedPool;
    init.GenericMapping = CmpKeyMapping;
    init.ValidAccessMask = KEY_ALL_ACCESS | SYNCHRONIZE;
    init.ParseProcedure = CmpParseKey;
    init.DeleteProcedure = CmpDeleteKeyBody;
    init.CloseProcedure = CmpCloseKeyBody;
    UNICODE_STRING typeName;
    RtlInitUnicodeString(&typeName, L"Key");
    status = ObCreateObjectType(&typeName, &init, NULL, &CmKeyObjectType);
    if (!NT_SUCCESS(status))
        return status;

    UNICODE_STRING rootName;
    RtlInitUnicodeString(&rootName, L"REGISTRY");
    CmpRootNode = CmpAllocateNode(&rootName, CM_KEY_NO_DELETE);
    if (CmpRootNode == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = CmpBuildDefaultSecurity(&CmpRootNode->Security);
    if (NT_SUCCESS(status))
        status = CmpCreateRootChild(L"MACHINE");
    if (NT_SUCCESS(status))
        status = CmpCreateRootChild(L"USER");
    if (!NT_SUCCESS(status))
        return status;

    /* \REGISTRY in the object namespace: permanent, its creation reference kept. */
    UNICODE_STRING objName;
    RtlInitUnicodeString(&objName, L"\\REGISTRY");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &objName, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE, NULL, NULL);
    PCM_KEY_BODY root;
    status = ObCreateObject(KernelMode, CmKeyObjectType, &oa, KernelMode, NULL, sizeof(CM_KEY_BODY), 0, 0,
                            (PVOID *)&root);
    if (!NT_SUCCESS(status))
        return status;
    CmpReferenceNode(CmpRootNode);
    root->Node = CmpRootNode;
    root->Type = CM_KEY_BODY_TYPE;
    PVOID inserted;
    status = ObInsertObject(root, NULL, 0, 0, &inserted, NULL);
    if (!NT_SUCCESS(status))
        return status;
    CmpRootKeyObject = inserted;

    /* Seeding: the backend's text if it gave one, else the built-in default. */
    PCSTR text = CmpBootText ? CmpBootText : CmpDefaultRegistryText;
    SIZE_T length = CmpBootText ? CmpBootTextLength : CmpDefaultRegistryTextLength;
    ULONG line = 0;
    status = CmImportRegistryText(text, length, NULL, &line);
    if (!NT_SUCCESS(status)) {
        DbgPrint("CM: boot registry text is malformed at line %lu (0x%08lx)\n", line, status);
        return status;
    }
    CmpImportBootModules();
    return STATUS_SUCCESS;
}
