/*
 * Object types and the boot namespace.
 *
 * The three types the namespace itself is made of (Type, Directory,
 * SymbolicLink) live in static storage, since creating any object needs its
 * type to exist first; every later type is an ordinary object of type Type
 * named \ObjectTypes\<Name>. Type indexes start at 2 so that a zeroed or
 * stray header (TypeIndex 0 or 1) is caught as BAD_OBJECT_HEADER.
 *
 * Types are never deleted; ObTypeIndexTable is written once per type,
 * before the type pointer is published, and read without locks.
 *
 * IRQL: PASSIVE_LEVEL, boot and driver-initialisation time.
 */
#include "obp.h"

#define OBP_FIRST_TYPE_INDEX 2

POBJECT_TYPE ObTypeIndexTable[OBP_MAX_TYPES];
static volatile LONG ObpNextTypeIndex = OBP_FIRST_TYPE_INDEX;
static KSPIN_LOCK ObpTypeCreateLock;

POBJECT_TYPE ObpTypeObjectType;
POBJECT_TYPE ObDirectoryObjectType;
POBJECT_TYPE ObSymbolicLinkObjectType;
POBJECT_DIRECTORY ObpRootDirectoryObject;
POBJECT_DIRECTORY ObpTypeDirectoryObject;
KEVENT ObpDefaultObject;

VOID NTAPI ObpSymbolicLinkDeleteProcedure(PVOID Object);

typedef struct DECLSPEC_ALIGN(16) _OBP_STATIC_TYPE {
    OBJECT_HEADER_NAME_INFO NameInfo;
    UCHAR Header[FIELD_OFFSET(OBJECT_HEADER, Body)];
    OBJECT_TYPE Type;
} OBP_STATIC_TYPE;
_Static_assert(offsetof(OBP_STATIC_TYPE, Type) - offsetof(OBP_STATIC_TYPE, Header) == FIELD_OFFSET(OBJECT_HEADER, Body),
               "static type body follows its header");

static OBP_STATIC_TYPE ObpStaticTypes[3];

static ULONG ObpTypeKey(PCUNICODE_STRING Name)
{
    /* The pool tag of a type's objects is its name's first four characters. */
    ULONG key = 0;
    for (ULONG i = 0; i < 4; i++) {
        WCHAR c = i < Name->Length / sizeof(WCHAR) ? Name->Buffer[i] : L' ';
        key |= (ULONG)(c & 0x7F) << (8 * i);
    }
    return key;
}

static NTSTATUS ObpValidateTypeInitializer(PCUNICODE_STRING TypeName, POBJECT_TYPE_INITIALIZER Init)
{
    if (TypeName == NULL || TypeName->Length == 0 || (TypeName->Length & 1) || TypeName->Buffer == NULL ||
        Init == NULL || Init->Length != sizeof(OBJECT_TYPE_INITIALIZER) ||
        (Init->InvalidAttributes & ~OBJ_VALID_ATTRIBUTES) != 0 ||
        (Init->PoolType != NonPagedPool && Init->PoolType != PagedPool && Init->PoolType != NonPagedPoolNx))
        return STATUS_INVALID_PARAMETER;
    for (USHORT i = 0; i < TypeName->Length / sizeof(WCHAR); i++)
        if (TypeName->Buffer[i] == L'\\' || TypeName->Buffer[i] == UNICODE_NULL)
            return STATUS_OBJECT_NAME_INVALID;
    return STATUS_SUCCESS;
}

static NTSTATUS ObpFillType(POBJECT_TYPE Type, PCUNICODE_STRING TypeName, POBJECT_TYPE_INITIALIZER Init,
                            PWSTR NameBuffer)
{
    LONG index = __atomic_fetch_add(&ObpNextTypeIndex, 1, __ATOMIC_RELAXED);
    if (index >= OBP_MAX_TYPES)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(NameBuffer, TypeName->Buffer, TypeName->Length);
    NameBuffer[TypeName->Length / sizeof(WCHAR)] = UNICODE_NULL;
    InitializeListHead(&Type->TypeList);
    InitializeListHead(&Type->CallbackList);
    Type->Name.Buffer = NameBuffer;
    Type->Name.Length = TypeName->Length;
    Type->Name.MaximumLength = (USHORT)(TypeName->Length + sizeof(WCHAR));
    Type->TypeInfo = *Init;
    Type->Index = (UCHAR)index;
    Type->Key = ObpTypeKey(TypeName);
    Type->DefaultObject = Init->UseDefaultObject ? (PVOID)&ObpDefaultObject
                                                  : (PVOID)(ULONG_PTR)Init->WaitObjectFlagOffset;
    ExInitializePushLock(&Type->TypeLock);
    __atomic_store_n(&ObTypeIndexTable[index], Type, __ATOMIC_RELEASE);
    return STATUS_SUCCESS;
}

NTSTATUS ObCreateObjectType(PUNICODE_STRING TypeName, POBJECT_TYPE_INITIALIZER ObjectTypeInitializer,
                            PSECURITY_DESCRIPTOR Reserved, POBJECT_TYPE *ObjectType)
{
    (void)Reserved;
    if (ObjectType == NULL)
        return STATUS_INVALID_PARAMETER;
    *ObjectType = NULL;
    NTSTATUS status = ObpValidateTypeInitializer(TypeName, ObjectTypeInitializer);
    if (!NT_SUCCESS(status))
        return status;
    if (ObpTypeDirectoryObject == NULL)
        return STATUS_INVALID_DEVICE_STATE;

    /* "\ObjectTypes\" + name */
    static const WCHAR prefix[] = L"\\ObjectTypes\\";
    USHORT prefixBytes = sizeof(prefix) - sizeof(WCHAR);
    if ((ULONG)prefixBytes + TypeName->Length > UNICODE_STRING_MAX_BYTES)
        return STATUS_NAME_TOO_LONG;
    WCHAR *full = ExAllocatePoolWithTag(PagedPool, (SIZE_T)prefixBytes + TypeName->Length, OB_TAG_TEMP);
    if (full == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(full, prefix, prefixBytes);
    RtlCopyMemory((PUCHAR)full + prefixBytes, TypeName->Buffer, TypeName->Length);
    UNICODE_STRING fullName = {(USHORT)(prefixBytes + TypeName->Length), (USHORT)(prefixBytes + TypeName->Length), full};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &fullName, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE, NULL, NULL);

    POBJECT_TYPE type;
    status = ObCreateObject(KernelMode, ObpTypeObjectType, &oa, KernelMode, NULL,
                            sizeof(OBJECT_TYPE) + TypeName->Length + sizeof(WCHAR), 0, 0, (PVOID *)&type);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(full, OB_TAG_TEMP);
        return status;
    }
    KIRQL irql;
    KeAcquireSpinLock(&ObpTypeCreateLock, &irql);
    status = ObpFillType(type, TypeName, ObjectTypeInitializer, (PWSTR)(type + 1));
    KeReleaseSpinLock(&ObpTypeCreateLock, irql);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(full, OB_TAG_TEMP);
        ObDereferenceObject(type);
        return status;
    }
    PVOID inserted = NULL;
    UCHAR index = type->Index;
    status = ObInsertObject(type, NULL, 0, 0, &inserted, NULL);
    ExFreePoolWithTag(full, OB_TAG_TEMP);
    if (!NT_SUCCESS(status)) {
        /* The failed insert freed the type object. Its index stays taken:
         * a half-created type is never reused. */
        __atomic_store_n(&ObTypeIndexTable[index], NULL, __ATOMIC_RELEASE);
        return status;
    }
    /* Types live forever: the creation reference is simply kept. */
    *ObjectType = type;
    return STATUS_SUCCESS;
}

static POBJECT_TYPE ObpCreateStaticType(ULONG Slot, PCWSTR Name, POBJECT_TYPE_INITIALIZER Init, WCHAR *NameBuffer)
{
    OBP_STATIC_TYPE *s = &ObpStaticTypes[Slot];
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Name);
    if (!NT_SUCCESS(ObpFillType(&s->Type, &name, Init, NameBuffer)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 0x0B, Slot, 0, 0);
    return &s->Type;
}

static VOID ObpStampStaticType(ULONG Slot)
{
    OBP_STATIC_TYPE *s = &ObpStaticTypes[Slot];
    POBJECT_HEADER h = (POBJECT_HEADER)s->Header;
    ObpInitializeStaticObject(h, ObpTypeObjectType);
    h->InfoMask = OB_INFOMASK_NAME;
}

/* Files a static type under \ObjectTypes (its header is static, its name is not). */
static VOID ObpNameStaticType(ULONG Slot)
{
    OBP_STATIC_TYPE *s = &ObpStaticTypes[Slot];
    POBJECT_TYPE t = &s->Type;
    s->NameInfo.Name = t->Name;
    s->NameInfo.Directory = ObpTypeDirectoryObject;
    ObfReferenceObject(ObpTypeDirectoryObject);
    ObpLockExclusive(&ObpNamespaceLock);
    if (!ObpDirectoryInsert(ObpTypeDirectoryObject, t, ObpHashName(&t->Name)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 0x0C, Slot, 0, 0);
    ObpUnlockExclusive(&ObpNamespaceLock);
}

NTSTATUS ObpCreateDirectoryInternal(PCWSTR Path, POBJECT_DIRECTORY *Directory)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Path);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE, NULL, NULL);
    PVOID dir;
    NTSTATUS status = ObCreateObject(KernelMode, ObDirectoryObjectType, &oa, KernelMode, NULL,
                                     sizeof(OBJECT_DIRECTORY), 0, 0, &dir);
    if (!NT_SUCCESS(status))
        return status;
    PVOID inserted;
    status = ObInsertObject(dir, NULL, 0, 0, &inserted, NULL);
    if (!NT_SUCCESS(status))
        return status;
    if (Directory != NULL)
        *Directory = inserted;
    else
        ObDereferenceObject(inserted);
    return STATUS_SUCCESS;
}

static WCHAR ObpStaticTypeNames[3][16];

NTSTATUS ObInitSystem(void)
{
    KeInitializeSpinLock(&ObpTypeCreateLock);
    ExInitializePushLock(&ObpNamespaceLock);
    KeInitializeEvent(&ObpDefaultObject, NotificationEvent, TRUE);
    /* Kernel handles live in the System process's table from the start. */
    NTSTATUS status = ObpInitializeProcessHandleTable(PsInitialSystemProcess);
    if (!NT_SUCCESS(status))
        return status;

    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.UseDefaultObject = 1;
    init.CaseInsensitive = 1;
    init.PoolType = NonPagedPoolNx;
    init.GenericMapping = (GENERIC_MAPPING){STANDARD_RIGHTS_READ, STANDARD_RIGHTS_WRITE, STANDARD_RIGHTS_EXECUTE,
                                            STANDARD_RIGHTS_REQUIRED | 0x1};
    init.ValidAccessMask = STANDARD_RIGHTS_REQUIRED | 0x1;
    ObpTypeObjectType = ObpCreateStaticType(0, L"Type", &init, ObpStaticTypeNames[0]);

    init.PoolType = PagedPool;
    init.GenericMapping = ObpDirectoryMapping;
    init.ValidAccessMask = DIRECTORY_ALL_ACCESS;
    ObDirectoryObjectType = ObpCreateStaticType(1, L"Directory", &init, ObpStaticTypeNames[1]);

    init.GenericMapping = (GENERIC_MAPPING){STANDARD_RIGHTS_READ | SYMBOLIC_LINK_QUERY, STANDARD_RIGHTS_WRITE,
                                            STANDARD_RIGHTS_EXECUTE | SYMBOLIC_LINK_QUERY, SYMBOLIC_LINK_ALL_ACCESS};
    init.ValidAccessMask = SYMBOLIC_LINK_ALL_ACCESS;
    init.DeleteProcedure = ObpSymbolicLinkDeleteProcedure;
    ObSymbolicLinkObjectType = ObpCreateStaticType(2, L"SymbolicLink", &init, ObpStaticTypeNames[2]);
    for (ULONG i = 0; i < 3; i++)
        ObpStampStaticType(i);

    /* The root: unnamed, permanent, its creation reference kept forever. */
    PVOID root;
    status = ObCreateObject(KernelMode, ObDirectoryObjectType, NULL, KernelMode, NULL,
                                     sizeof(OBJECT_DIRECTORY), 0, 0, &root);
    if (!NT_SUCCESS(status))
        return status;
    POBJECT_HEADER rh = OBJECT_TO_OBJECT_HEADER(root);
    rh->Flags = (UCHAR)((rh->Flags & ~OB_FLAG_NEW_OBJECT) | OB_FLAG_PERMANENT_OBJECT);
    ObpFreeCreateInformation(rh);
    ObpRootDirectoryObject = root;

    status = ObpCreateDirectoryInternal(L"\\ObjectTypes", &ObpTypeDirectoryObject);
    if (!NT_SUCCESS(status))
        return status;
    for (ULONG i = 0; i < 3; i++)
        ObpNameStaticType(i);

    static const PCWSTR dirs[] = {L"\\Device", L"\\Driver", L"\\FileSystem", L"\\BaseNamedObjects",
                                  L"\\KernelObjects", L"\\GLOBAL??", L"\\Callback"};
    for (ULONG i = 0; i < RTL_NUMBER_OF(dirs); i++) {
        status = ObpCreateDirectoryInternal(dirs[i], NULL);
        if (!NT_SUCCESS(status))
            return status;
    }
    status = ObpCreateSymbolicLinkInternal(L"\\??", L"\\GLOBAL??");
    if (NT_SUCCESS(status))
        status = ObpCreateSymbolicLinkInternal(L"\\DosDevices", L"\\??");
    if (NT_SUCCESS(status))
        status = ObpCreateSymbolicLinkInternal(L"\\GLOBAL??\\Global", L"\\GLOBAL??");
    if (NT_SUCCESS(status))
        status = ObpCreateSymbolicLinkInternal(L"\\BaseNamedObjects\\Global", L"\\BaseNamedObjects");
    if (NT_SUCCESS(status))
        status = ObpCreateSymbolicLinkInternal(L"\\BaseNamedObjects\\Local", L"\\BaseNamedObjects");
    if (!NT_SUCCESS(status))
        return status;
    return SeInitSystem();
}
