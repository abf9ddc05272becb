/*
 * Helpers for the I/O manager object-side tests (devices, drivers, files,
 * the Zw file services): a test driver made with IoCreateDriver whose
 * dispatch routines record what they receive, pool-leak accounting by tag,
 * and a "user" that impersonates an unprivileged token.
 *
 * Each test file has its own copy of the recorder (static state); a test
 * creates its driver, runs, and deletes devices and driver before it ends.
 */
#ifndef NTOS_IO_OBJ_TEST_H
#define NTOS_IO_OBJ_TEST_H

#include "ntos_ke_test.h"
#include <ntos/io.h>
#include <ntos/ex_pool.h>
#include <ntos/rtl.h>
#include "io/iop.h"

/* Waits for a state rather than for a time, bounded at about 20 s. */
#define WAIT_UNTIL(cond)                                                                             \
    do {                                                                                             \
        for (int wait_i_ = 0; wait_i_ < 20000 && !(cond); wait_i_++)                                 \
            kt_sleep_ms(1);                                                                          \
        assert_true(cond);                                                                           \
    } while (0)

/* ---- leak accounting -------------------------------------------------------------------------- */

#define IOT_TAG_DEVICE 0x69766544 /* "Devi": device objects */
#define IOT_TAG_DRIVER 0x76697244 /* "Driv": driver objects */
#define IOT_TAG_FILE 0x656c6946   /* "File": file objects */

static inline LONG64 iot_pool_live(ULONG Tag)
{
    ULONG64 a = 0, f = 0, a2 = 0, f2 = 0;
    ExQueryPoolTagUsage(Tag, PagedPool, &a, &f, NULL);
    ExQueryPoolTagUsage(Tag, NonPagedPool, &a2, &f2, NULL);
    return (LONG64)(a + a2) - (LONG64)(f + f2);
}

static const ULONG iot_tags[] = {IOT_TAG_DEVICE, IOT_TAG_DRIVER, IOT_TAG_FILE,     IOP_TAG_NAME,
                                 IOP_TAG_SD,     IOP_TAG_VPB,    IOP_TAG_CLIENT_EXT};
typedef struct {
    LONG64 Live[RTL_NUMBER_OF(iot_tags)];
    ULONG Handles;
} IOT_LEAK_MARK;

static inline ULONG iot_type_handles(void)
{
    return IoFileObjectType->TotalNumberOfHandles + IoDeviceObjectType->TotalNumberOfHandles +
           IoDriverObjectType->TotalNumberOfHandles;
}

static inline IOT_LEAK_MARK iot_mark(void)
{
    IOT_LEAK_MARK m;
    for (ULONG i = 0; i < RTL_NUMBER_OF(iot_tags); i++)
        m.Live[i] = iot_pool_live(iot_tags[i]);
    m.Handles = iot_type_handles();
    return m;
}

/* Deletions run inline at PASSIVE_LEVEL, but a dereference from a DPC or a
 * worker may still be finishing: wait (bounded) for the counts to settle. */
static inline void iot_check_leaks(const IOT_LEAK_MARK *m)
{
    for (int tries = 0; tries < 2000; tries++) {
        BOOLEAN same = iot_type_handles() == m->Handles;
        for (ULONG i = 0; i < RTL_NUMBER_OF(iot_tags) && same; i++)
            same = iot_pool_live(iot_tags[i]) == m->Live[i];
        if (same)
            return;
        kt_sleep_ms(1);
    }
    for (ULONG i = 0; i < RTL_NUMBER_OF(iot_tags); i++)
        assert_int_equal(iot_pool_live(iot_tags[i]), m->Live[i]);
    assert_int_equal(iot_type_handles(), m->Handles);
}

/* ---- the recording test driver ---------------------------------------------------------------- */

#define IOT_MAX_EVENTS 64
#define IOT_NAME_CHARS 64

typedef struct {
    UCHAR Major;
    UCHAR Minor;
    UCHAR StackFlags;
    KIRQL Irql;
    KPROCESSOR_MODE RequestorMode;
    PDEVICE_OBJECT Device;
    PFILE_OBJECT File;
    WCHAR FileName[IOT_NAME_CHARS];
    USHORT FileNameLength;
    ULONG Options;
    USHORT ShareAccess;
    USHORT FileAttributes;
    ACCESS_MASK DesiredAccess;
    ULONG FileFlags;
    ULONG Length;
    ULONG IoControlCode;
    ULONG InputLength;
    ULONG OutputLength;
    LARGE_INTEGER ByteOffset;
    ULONG InfoClass;
} IOT_EVENT;

typedef NTSTATUS (*IOT_HANDLER)(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp);

typedef struct {
    PDRIVER_OBJECT Driver;
    UNICODE_STRING RegistryPath; /* copy taken by DriverEntry */
    WCHAR RegistryBuffer[128];
    KIRQL EntryIrql;
    LONG EntryCalls;
    LONG UnloadCalls;
    NTSTATUS EntryStatus;
    BOOLEAN KeepDefaults; /* DriverEntry leaves MajorFunction alone */
    BOOLEAN WithUnload;
    NTSTATUS Status[IRP_MJ_MAXIMUM_FUNCTION + 1];
    ULONG_PTR Information[IRP_MJ_MAXIMUM_FUNCTION + 1];
    IOT_HANDLER Handler[IRP_MJ_MAXIMUM_FUNCTION + 1];
    KSPIN_LOCK Lock;
    volatile LONG Count;
    IOT_EVENT Events[IOT_MAX_EVENTS];
} IOT_STATE;

static IOT_STATE iot;

static inline void iot_record(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION sp)
{
    LONG n = __atomic_fetch_add(&iot.Count, 1, __ATOMIC_SEQ_CST);
    if (n >= IOT_MAX_EVENTS)
        return;
    IOT_EVENT *e = &iot.Events[n];
    RtlZeroMemory(e, sizeof(*e));
    e->Major = sp->MajorFunction;
    e->Minor = sp->MinorFunction;
    e->StackFlags = sp->Flags;
    e->Irql = KeGetCurrentIrql();
    e->RequestorMode = Irp->RequestorMode;
    e->Device = DeviceObject;
    e->File = sp->FileObject;
    if (sp->FileObject != NULL) {
        e->FileFlags = sp->FileObject->Flags;
        USHORT len = sp->FileObject->FileName.Length;
        if (len > (IOT_NAME_CHARS - 1) * sizeof(WCHAR))
            len = (IOT_NAME_CHARS - 1) * sizeof(WCHAR);
        if (len != 0)
            RtlCopyMemory(e->FileName, sp->FileObject->FileName.Buffer, len);
        e->FileNameLength = len;
    }
    switch (sp->MajorFunction) {
    case IRP_MJ_CREATE:
        e->Options = sp->Parameters.Create.Options;
        e->ShareAccess = sp->Parameters.Create.ShareAccess;
        e->FileAttributes = sp->Parameters.Create.FileAttributes;
        e->DesiredAccess = sp->Parameters.Create.SecurityContext->DesiredAccess;
        break;
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
        e->Length = sp->Parameters.Read.Length;
        e->ByteOffset = sp->Parameters.Read.ByteOffset;
        break;
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
    case IRP_MJ_FILE_SYSTEM_CONTROL:
        e->IoControlCode = sp->Parameters.DeviceIoControl.IoControlCode;
        e->InputLength = sp->Parameters.DeviceIoControl.InputBufferLength;
        e->OutputLength = sp->Parameters.DeviceIoControl.OutputBufferLength;
        break;
    case IRP_MJ_QUERY_INFORMATION:
    case IRP_MJ_SET_INFORMATION:
        e->Length = sp->Parameters.QueryFile.Length;
        e->InfoClass = sp->Parameters.QueryFile.FileInformationClass;
        break;
    case IRP_MJ_QUERY_VOLUME_INFORMATION:
        e->Length = sp->Parameters.QueryVolume.Length;
        e->InfoClass = sp->Parameters.QueryVolume.FsInformationClass;
        break;
    default:
        break;
    }
}

static NTSTATUS NTAPI iot_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    iot_record(DeviceObject, Irp, sp);
    UCHAR major = sp->MajorFunction;
    if (iot.Handler[major] != NULL)
        return iot.Handler[major](DeviceObject, Irp, sp);
    NTSTATUS status = iot.Status[major];
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = iot.Information[major];
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static VOID NTAPI iot_unload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    __atomic_add_fetch(&iot.UnloadCalls, 1, __ATOMIC_SEQ_CST);
}

static NTSTATUS NTAPI iot_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    iot.EntryIrql = KeGetCurrentIrql();
    __atomic_add_fetch(&iot.EntryCalls, 1, __ATOMIC_SEQ_CST);
    iot.Driver = DriverObject;
    USHORT len = RegistryPath->Length;
    if (len > sizeof(iot.RegistryBuffer) - sizeof(WCHAR))
        len = sizeof(iot.RegistryBuffer) - sizeof(WCHAR);
    RtlCopyMemory(iot.RegistryBuffer, RegistryPath->Buffer, len);
    iot.RegistryPath.Buffer = iot.RegistryBuffer;
    iot.RegistryPath.Length = len;
    iot.RegistryPath.MaximumLength = sizeof(iot.RegistryBuffer);
    if (!iot.KeepDefaults)
        for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
            DriverObject->MajorFunction[i] = iot_dispatch;
    if (iot.WithUnload)
        DriverObject->DriverUnload = iot_unload;
    return iot.EntryStatus;
}

/* Resets the recorder and creates the test driver \Driver\<Name>. */
static inline PDRIVER_OBJECT iot_driver(PCWSTR Name)
{
    BOOLEAN keep = iot.KeepDefaults, unload = iot.WithUnload;
    RtlZeroMemory(&iot, sizeof(iot));
    iot.KeepDefaults = keep;
    iot.WithUnload = unload;
    KeInitializeSpinLock(&iot.Lock);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Name);
    assert_int_equal(IoCreateDriver(&name, iot_entry), STATUS_SUCCESS);
    assert_non_null(iot.Driver);
    return iot.Driver;
}

static inline void iot_reset_events(void)
{
    __atomic_store_n(&iot.Count, 0, __ATOMIC_SEQ_CST);
}

static inline LONG iot_count(void)
{
    return __atomic_load_n(&iot.Count, __ATOMIC_SEQ_CST);
}

/* Index of the n-th (0-based) recorded event with major function Major, or -1. */
static inline LONG iot_find(UCHAR Major, LONG Nth)
{
    LONG n = iot_count();
    for (LONG i = 0; i < n && i < IOT_MAX_EVENTS; i++)
        if (iot.Events[i].Major == Major && Nth-- == 0)
            return i;
    return -1;
}

static inline LONG iot_count_major(UCHAR Major)
{
    LONG c = 0;
    LONG n = iot_count();
    for (LONG i = 0; i < n && i < IOT_MAX_EVENTS; i++)
        if (iot.Events[i].Major == Major)
            c++;
    return c;
}

/* A ready device (DO_DEVICE_INITIALIZING cleared) of the test driver. */
static inline PDEVICE_OBJECT iot_device(PCWSTR Name, ULONG ExtensionSize, DEVICE_TYPE Type, ULONG Flags,
                                        BOOLEAN Exclusive)
{
    UNICODE_STRING name;
    if (Name != NULL)
        RtlInitUnicodeString(&name, Name);
    PDEVICE_OBJECT d = NULL;
    assert_int_equal(IoCreateDevice(iot.Driver, ExtensionSize, Name ? &name : NULL, Type, 0, Exclusive, &d),
                     STATUS_SUCCESS);
    d->Flags |= Flags;
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    return d;
}

/* Deletes every device the driver still lists, then the driver. */
static inline void iot_teardown_driver(void)
{
    while (iot.Driver->DeviceObject != NULL)
        IoDeleteDevice(iot.Driver->DeviceObject);
    IoDeleteDriver(iot.Driver);
}

static inline BOOLEAN iot_name_is(const IOT_EVENT *e, PCWSTR Expected)
{
    UNICODE_STRING a = {e->FileNameLength, e->FileNameLength, (PWSTR)e->FileName}, b;
    RtlInitUnicodeString(&b, Expected);
    return RtlEqualUnicodeString(&a, &b, FALSE);
}

static inline BOOLEAN iot_ustr_is(PCUNICODE_STRING s, PCWSTR Expected)
{
    UNICODE_STRING b;
    RtlInitUnicodeString(&b, Expected);
    return RtlEqualUnicodeString(s, &b, FALSE);
}

static inline NTSTATUS iot_open(PCWSTR Name, ACCESS_MASK Access, ULONG Share, ULONG Options, PHANDLE Handle,
                                PIO_STATUS_BLOCK Iosb)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&us, Name);
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    return ZwCreateFile(Handle, Access, &oa, Iosb, NULL, 0, Share, FILE_OPEN, Options, NULL, 0);
}

static inline PFILE_OBJECT iot_file_of(HANDLE Handle)
{
    PFILE_OBJECT f = NULL;
    assert_int_equal(ObReferenceObjectByHandle(Handle, 0, IoFileObjectType, KernelMode, (PVOID *)&f, NULL),
                     STATUS_SUCCESS);
    ObDereferenceObject(f);
    return f;
}

/* ---- an unprivileged user ---------------------------------------------------------------------- */

static UCHAR iot_world_sid[12], iot_user_sid[28], iot_users_sid[16];

static inline PACCESS_TOKEN iot_user_token(void)
{
    SID_IDENTIFIER_AUTHORITY world = SECURITY_WORLD_SID_AUTHORITY, nt = SECURITY_NT_AUTHORITY;
    assert_int_equal(RtlInitializeSid(iot_world_sid, &world, 1), STATUS_SUCCESS);
    *RtlSubAuthoritySid(iot_world_sid, 0) = SECURITY_WORLD_RID;
    assert_int_equal(RtlInitializeSid(iot_user_sid, &nt, 5), STATUS_SUCCESS);
    static const ULONG rids[5] = {21, 7, 8, 9, 1001};
    for (ULONG i = 0; i < 5; i++)
        *RtlSubAuthoritySid(iot_user_sid, i) = rids[i];
    assert_int_equal(RtlInitializeSid(iot_users_sid, &nt, 2), STATUS_SUCCESS);
    *RtlSubAuthoritySid(iot_users_sid, 0) = SECURITY_BUILTIN_DOMAIN_RID;
    *RtlSubAuthoritySid(iot_users_sid, 1) = DOMAIN_ALIAS_RID_USERS;
    SID_AND_ATTRIBUTES groups[2] = {
        {iot_world_sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED},
        {iot_users_sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED},
    };
    PACCESS_TOKEN token = NULL;
    assert_int_equal(SeCreateTokenInternal(iot_user_sid, 2, groups, 0, NULL, iot_users_sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &token),
                     STATUS_SUCCESS);
    return token;
}

typedef void (*IOT_USER_FN)(PVOID Context);
typedef struct {
    PACCESS_TOKEN Token;
    IOT_USER_FN Fn;
    PVOID Context;
} IOT_USER_RUN;

static VOID NTAPI iot_user_thread(PVOID Context)
{
    IOT_USER_RUN *r = Context;
    PsImpersonateClient(PsGetCurrentThread(), r->Token, FALSE, FALSE, SecurityImpersonation);
    r->Fn(r->Context);
    PsRevertToSelf();
}

/* Runs Fn(Context) in a system thread impersonating an unprivileged user; Fn
 * must not assert (it records results for the caller to check). */
static inline void iot_run_as_user(IOT_USER_FN Fn, PVOID Context)
{
    IOT_USER_RUN r = {iot_user_token(), Fn, Context};
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, iot_user_thread, &r), STATUS_SUCCESS);
    PVOID thread;
    assert_int_equal(ObReferenceObjectByHandle(t, SYNCHRONIZE, PsThreadType, KernelMode, &thread, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(thread);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
    ObDereferenceObject(r.Token);
}

#endif /* NTOS_IO_OBJ_TEST_H */
