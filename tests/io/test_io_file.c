/*
 * Opening devices: ZwCreateFile/ZwOpenFile through the Device parse
 * procedure (remaining names, options, disposition, share access and
 * attributes in IRP_MJ_CREATE, the file object's flags, links to devices,
 * filters that see the open first), the documented failures (access denied
 * for a user, exclusive devices, initialising or deleted devices, a driver
 * failing the create, parameter combinations), CLEANUP at the last handle
 * and CLOSE at the last reference, IoGetDeviceObjectPointer, IoAttachDevice,
 * IoCreateStreamFileObject and the share-access helpers.
 */
#include "io_obj_test.h"

static void open_reaches_the_device_with_the_create_parameters(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileBasic");
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoFileBasic", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\IoFileBasic\\sub\\name.txt");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h = NULL;
    IO_STATUS_BLOCK iosb = {.Status = -1, .Information = 99};
    LARGE_INTEGER alloc = {.QuadPart = 4096};
    assert_int_equal(ZwCreateFile(&h, FILE_GENERIC_READ | FILE_WRITE_DATA, &oa, &iosb, &alloc,
                                  FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ | FILE_SHARE_DELETE, FILE_OPEN_IF,
                                  FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, NULL, 0),
                     STATUS_SUCCESS);
    assert_non_null(h);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    /* The recorder completes creates with Information 0: what the driver set is reported. */
    assert_int_equal(iosb.Information, 0);
    assert_int_equal(iot_count(), 1);
    IOT_EVENT *e = &iot.Events[0];
    assert_int_equal(e->Major, IRP_MJ_CREATE);
    assert_ptr_equal(e->Device, dev);
    assert_int_equal(e->Irql, PASSIVE_LEVEL);
    assert_int_equal(e->RequestorMode, KernelMode);
    assert_true(iot_name_is(e, L"\\sub\\name.txt"));
    assert_int_equal(e->Options, (FILE_OPEN_IF << 24) | FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE);
    assert_int_equal(e->ShareAccess, FILE_SHARE_READ | FILE_SHARE_DELETE);
    assert_int_equal(e->FileAttributes, FILE_ATTRIBUTE_NORMAL);
    assert_int_equal(e->DesiredAccess, FILE_GENERIC_READ | FILE_WRITE_DATA);
    assert_int_equal(e->StackFlags & SL_CASE_SENSITIVE, 0);
    assert_int_equal(e->FileFlags, FO_SYNCHRONOUS_IO);

    PFILE_OBJECT f = iot_file_of(h);
    assert_ptr_equal(e->File, f);
    assert_int_equal(f->Type, IO_TYPE_FILE);
    assert_int_equal(f->Size, sizeof(FILE_OBJECT));
    assert_ptr_equal(f->DeviceObject, dev);
    assert_true(f->Flags & FO_HANDLE_CREATED);
    assert_true(iot_ustr_is(&f->FileName, L"\\sub\\name.txt"));
    assert_int_equal(dev->ReferenceCount, 1);
    assert_ptr_equal(IoGetRelatedDeviceObject(f), dev);
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    ULONG r;
    assert_int_equal(ZwQueryObject(h, ObjectBasicInformation, &b, sizeof(b), &r), STATUS_SUCCESS);
    assert_int_equal(b.GrantedAccess, FILE_GENERIC_READ | FILE_WRITE_DATA);

    /* A second handle: no cleanup at the first close. */
    HANDLE h2;
    assert_int_equal(ZwDuplicateObject(ZwCurrentProcess(), h, ZwCurrentProcess(), &h2, 0, OBJ_KERNEL_HANDLE,
                                       DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(iot_count_major(IRP_MJ_CLEANUP), 0);
    /* A pointer reference outlives the last handle: CLEANUP now, CLOSE later. */
    ObReferenceObject(f);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(iot_count_major(IRP_MJ_CLEANUP), 1);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 0);
    assert_true(f->Flags & FO_CLEANUP_COMPLETE);
    LONG cl = iot_find(IRP_MJ_CLEANUP, 0);
    assert_ptr_equal(iot.Events[cl].File, f);
    assert_int_equal(dev->ReferenceCount, 1);
    ObDereferenceObject(f);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 1);
    LONG cs = iot_find(IRP_MJ_CLOSE, 0);
    assert_ptr_equal(iot.Events[cs].File, f);
    assert_true(iot_name_is(&iot.Events[cs], L"\\sub\\name.txt")); /* the name lives until after CLOSE */
    assert_int_equal(dev->ReferenceCount, 0);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void open_flags_case_and_alertable(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileFlags");
    iot_device(L"\\Device\\IoFileFlags", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\IoFileFlags");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL); /* case-sensitive */
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(ZwCreateFile(&h, SYNCHRONIZE | FILE_READ_DATA, &oa, &iosb, NULL, 0, 0, FILE_OPEN,
                                  FILE_SYNCHRONOUS_IO_ALERT | FILE_WRITE_THROUGH | FILE_SEQUENTIAL_ONLY |
                                      FILE_RANDOM_ACCESS | FILE_NO_INTERMEDIATE_BUFFERING,
                                  NULL, 0),
                     STATUS_SUCCESS);
    PFILE_OBJECT f = iot_file_of(h);
    assert_int_equal(f->Flags & ~FO_HANDLE_CREATED,
                     FO_SYNCHRONOUS_IO | FO_ALERTABLE_IO | FO_WRITE_THROUGH | FO_SEQUENTIAL_ONLY | FO_RANDOM_ACCESS |
                         FO_NO_INTERMEDIATE_BUFFERING | FO_OPENED_CASE_SENSITIVE);
    assert_true(iot.Events[0].StackFlags & SL_CASE_SENSITIVE);
    assert_int_equal(iot.Events[0].FileNameLength, 0);
    assert_null(f->FileName.Buffer);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void open_through_a_dos_device_link(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileLink");
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoFileLink", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\??\\IoFileLinkDos");
    UNICODE_STRING target = RTL_CONSTANT_STRING(L"\\Device\\IoFileLink");
    assert_int_equal(IoCreateSymbolicLink(&link, &target), STATUS_SUCCESS);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\??\\IoFileLinkDos\\x", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);
    assert_ptr_equal(iot.Events[0].Device, dev);
    assert_true(iot_name_is(&iot.Events[0], L"\\x"));
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(IoDeleteSymbolicLink(&link), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void filter_sees_the_create_first(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileFilter");
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoFileFilter", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    PDEVICE_OBJECT filter = iot_device(NULL, 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    assert_ptr_equal(IoAttachDeviceToDeviceStack(filter, dev), dev);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device\\IoFileFilter", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);
    /* The recorder completes at the top: the filter alone sees it, the file
     * object names the device opened. */
    assert_int_equal(iot_count(), 1);
    assert_ptr_equal(iot.Events[0].Device, filter);
    PFILE_OBJECT f = iot_file_of(h);
    assert_ptr_equal(f->DeviceObject, dev);
    assert_ptr_equal(IoGetRelatedDeviceObject(f), filter);
    assert_int_equal(dev->ReferenceCount, 1);
    assert_int_equal(filter->ReferenceCount, 0);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_ptr_equal(iot.Events[iot_find(IRP_MJ_CLEANUP, 0)].Device, filter);
    assert_ptr_equal(iot.Events[iot_find(IRP_MJ_CLOSE, 0)].Device, filter);
    IoDetachDevice(dev);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void failed_create_leaves_no_handle_and_no_close(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileFail");
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoFileFail", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    iot.Status[IRP_MJ_CREATE] = STATUS_OBJECT_NAME_NOT_FOUND;
    iot.Information[IRP_MJ_CREATE] = FILE_DOES_NOT_EXIST;
    HANDLE h = (HANDLE)1;
    IO_STATUS_BLOCK iosb = {.Status = -1};
    assert_int_equal(iot_open(L"\\Device\\IoFileFail\\missing", FILE_READ_DATA, 0, 0, &h, &iosb),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_null(h);
    assert_int_equal(iosb.Status, STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(iosb.Information, FILE_DOES_NOT_EXIST);
    assert_int_equal(iot_count(), 1);
    assert_int_equal(dev->ReferenceCount, 0);
    iot.Status[IRP_MJ_CREATE] = STATUS_SUCCESS;
    iot.Information[IRP_MJ_CREATE] = FILE_OPENED;
    assert_int_equal(iot_open(L"\\Device\\IoFileFail", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_OPENED);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void exclusive_initializing_and_deleted_devices(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDRIVER_OBJECT drv = iot_driver(L"IoFileExcl");
    iot_device(L"\\Device\\IoFileExcl", 0, FILE_DEVICE_UNKNOWN, 0, TRUE);
    HANDLE h, h2;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device\\IoFileExcl", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iot_open(L"\\Device\\IoFileExcl", FILE_READ_DATA, 0, 0, &h2, &iosb), STATUS_ACCESS_DENIED);
    assert_int_equal(iot_count_major(IRP_MJ_CREATE), 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(iot_open(L"\\Device\\IoFileExcl", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\IoFileInit");
    PDEVICE_OBJECT init;
    assert_int_equal(IoCreateDevice(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &init), STATUS_SUCCESS);
    iot_reset_events();
    assert_int_equal(iot_open(L"\\Device\\IoFileInit", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_NO_SUCH_DEVICE);
    assert_int_equal(iot_count(), 0);

    /* A deleted device no longer has a name; one still open is delete-pending. */
    init->Flags &= ~DO_DEVICE_INITIALIZING;
    PFILE_OBJECT f;
    PDEVICE_OBJECT top;
    assert_int_equal(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &f, &top), STATUS_SUCCESS);
    IoDeleteDevice(init);
    assert_int_equal(iot_open(L"\\Device\\IoFileInit", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_OBJECT_NAME_NOT_FOUND);
    /* A stream file on a deleted device is still possible for its file system;
     * an open through the parse routine is not. */
    assert_int_equal(IopReferenceDeviceForOpen(init), STATUS_NO_SUCH_DEVICE);
    ObDereferenceObject(f);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void wrong_opens_of_devices(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileWrong");
    iot_device(L"\\Device\\IoFileWrong", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    /* Opening a device by name without the I/O manager's open packet. */
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\IoFileWrong");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    assert_int_equal(ObOpenObjectByName(&oa, IoFileObjectType, KernelMode, NULL, FILE_READ_DATA, NULL, &h),
                     STATUS_OBJECT_TYPE_MISMATCH);
    /* A directory is not a file. */
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(iot_open(L"\\Device\\IoFileNoSuch", FILE_READ_DATA, 0, 0, &h, &iosb),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(iot_open(L"\\NoSuchDir\\x", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_OBJECT_PATH_NOT_FOUND);
    /* Relative to a file handle: no file system to resolve it. */
    HANDLE f;
    assert_int_equal(iot_open(L"\\Device\\IoFileWrong", FILE_READ_DATA, 0, 0, &f, &iosb), STATUS_SUCCESS);
    UNICODE_STRING empty = {0, 0, NULL}, rel = RTL_CONSTANT_STRING(L"child");
    InitializeObjectAttributes(&oa, &empty, OBJ_KERNEL_HANDLE, f, NULL);
    assert_int_equal(ZwCreateFile(&h, FILE_READ_DATA, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 0),
                     STATUS_OBJECT_TYPE_MISMATCH);
    InitializeObjectAttributes(&oa, &rel, OBJ_KERNEL_HANDLE, f, NULL);
    assert_int_equal(ZwCreateFile(&h, FILE_READ_DATA, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 0),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_reset_events();
    assert_int_equal(iot_count(), 0);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void create_parameter_validation(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileParams");
    iot_device(L"\\Device\\IoFileParams", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\IoFileParams");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    static const struct {
        ACCESS_MASK Access;
        ULONG Attributes, Share, Disposition, Options;
    } bad[] = {
        {FILE_READ_DATA, 0x80000000, 0, FILE_OPEN, 0},
        {FILE_READ_DATA, 0, 0x8, FILE_OPEN, 0},
        {FILE_READ_DATA, 0, 0, FILE_MAXIMUM_DISPOSITION + 1, 0},
        {FILE_READ_DATA, 0, 0, FILE_OPEN, 0x01000000},
        {SYNCHRONIZE, 0, 0, FILE_OPEN, FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT},
        {FILE_READ_DATA, 0, 0, FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT}, /* no SYNCHRONIZE */
        {FILE_READ_DATA, 0, 0, FILE_OPEN, FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE},
        {FILE_READ_DATA, 0, 0, FILE_OVERWRITE_IF, FILE_DIRECTORY_FILE},
        {FILE_READ_DATA, 0, 0, FILE_OPEN, FILE_DELETE_ON_CLOSE},
        {FILE_APPEND_DATA, 0, 0, FILE_OPEN, FILE_NO_INTERMEDIATE_BUFFERING},
        {FILE_READ_DATA, 0, 0, FILE_OPEN, FILE_COMPLETE_IF_OPLOCKED | FILE_RESERVE_OPFILTER},
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(bad); i++) {
        NTSTATUS s = ZwCreateFile(&h, bad[i].Access, &oa, &iosb, NULL, bad[i].Attributes, bad[i].Share,
                                  bad[i].Disposition, bad[i].Options, NULL, 0);
        if (s != STATUS_INVALID_PARAMETER)
            fail_msg("combination #%u gave 0x%x", (unsigned)i, (unsigned)s);
    }
    assert_int_equal(ZwCreateFile(&h, FILE_READ_DATA, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 8),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwCreateFile(NULL, FILE_READ_DATA, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwCreateFile(&h, FILE_READ_DATA, &oa, NULL, NULL, 0, 0, FILE_OPEN, 0, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(iot_count(), 0);
    /* Valid edge cases: GENERIC_ALL carries DELETE and SYNCHRONIZE; a directory open. */
    assert_int_equal(ZwCreateFile(&h, GENERIC_ALL, &oa, &iosb, NULL, 0, FILE_SHARE_VALID_FLAGS, FILE_OPEN,
                                  FILE_DELETE_ON_CLOSE | FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0),
                     STATUS_SUCCESS);
    assert_true(iot_file_of(h)->Flags & FO_DELETE_ON_CLOSE);
    assert_int_equal(iot.Events[0].DesiredAccess, FILE_ALL_ACCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwOpenFile(&h, FILE_LIST_DIRECTORY, &oa, &iosb, 0, FILE_DIRECTORY_FILE), STATUS_SUCCESS);
    assert_int_equal(iot.Events[iot_find(IRP_MJ_CREATE, 1)].Options, (FILE_OPEN << 24) | FILE_DIRECTORY_FILE);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- security ----------------------------------------------------------------------------------------- */

typedef struct {
    NTSTATUS Status[6];
    HANDLE Handle[6];
    ACCESS_MASK Granted[6];
} USER_OPENS;

static NTSTATUS user_open(PCWSTR Name, ACCESS_MASK Access, KPROCESSOR_MODE Mode, ULONG Attributes, PHANDLE Handle)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    IO_STATUS_BLOCK iosb;
    RtlInitUnicodeString(&us, Name);
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE | Attributes, NULL, NULL);
    *Handle = NULL;
    if (Mode == KernelMode)
        return ZwCreateFile(Handle, Access, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 0);
    PKTHREAD t = KeGetCurrentThread();
    KPROCESSOR_MODE old = t->PreviousMode;
    t->PreviousMode = UserMode;
    NTSTATUS s = NtCreateFile(Handle, Access, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 0);
    t->PreviousMode = old;
    return s;
}

static void user_opens(PVOID Context)
{
    USER_OPENS *u = Context;
    u->Status[0] = user_open(L"\\Device\\IoFileSecure", FILE_READ_DATA, UserMode, 0, &u->Handle[0]);
    u->Status[1] = user_open(L"\\Device\\IoFileSecure", FILE_WRITE_DATA, UserMode, 0, &u->Handle[1]);
    u->Status[2] = user_open(L"\\Device\\IoFileSecure", FILE_WRITE_DATA, KernelMode, 0, &u->Handle[2]);
    u->Status[3] = user_open(L"\\Device\\IoFileSecure", FILE_WRITE_DATA, KernelMode, OBJ_FORCE_ACCESS_CHECK,
                             &u->Handle[3]);
    /* Below the device name, the device's descriptor is not consulted... */
    u->Status[4] = user_open(L"\\Device\\IoFileSecure\\below", FILE_WRITE_DATA, UserMode, 0, &u->Handle[4]);
    /* ...unless the device asks for it (FILE_DEVICE_SECURE_OPEN). */
    u->Status[5] = user_open(L"\\Device\\IoFileSecureOpen\\below", FILE_WRITE_DATA, UserMode, 0, &u->Handle[5]);
    for (int i = 0; i < 6; i++) {
        PUBLIC_OBJECT_BASIC_INFORMATION b;
        ULONG r;
        if (NT_SUCCESS(u->Status[i]) && NT_SUCCESS(ZwQueryObject(u->Handle[i], ObjectBasicInformation, &b,
                                                                 sizeof(b), &r)))
            u->Granted[i] = b.GrantedAccess;
    }
}

static void device_descriptor_is_checked_for_users(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDRIVER_OBJECT drv = iot_driver(L"IoFileSecure");
    /* Everyone may read; only SYSTEM and administrators may do more. */
    UNICODE_STRING sddl = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GR;;;WD)");
    UNICODE_STRING n1 = RTL_CONSTANT_STRING(L"\\Device\\IoFileSecure");
    UNICODE_STRING n2 = RTL_CONSTANT_STRING(L"\\Device\\IoFileSecureOpen");
    PDEVICE_OBJECT d1, d2;
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &sddl, NULL, &d1),
                     STATUS_SUCCESS);
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &n2, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &sddl,
                                          NULL, &d2),
                     STATUS_SUCCESS);
    d1->Flags &= ~DO_DEVICE_INITIALIZING;
    d2->Flags &= ~DO_DEVICE_INITIALIZING;
    static USER_OPENS u;
    RtlZeroMemory(&u, sizeof(u));
    iot_run_as_user(user_opens, &u);
    assert_int_equal(u.Status[0], STATUS_SUCCESS);
    assert_int_equal(u.Granted[0], FILE_READ_DATA);
    assert_int_equal(u.Status[1], STATUS_ACCESS_DENIED);
    assert_null(u.Handle[1]);
    assert_int_equal(u.Status[2], STATUS_SUCCESS); /* kernel mode is trusted */
    assert_int_equal(u.Status[3], STATUS_ACCESS_DENIED);
    assert_int_equal(u.Status[4], STATUS_SUCCESS);
    assert_int_equal(u.Status[5], STATUS_ACCESS_DENIED);
    /* Denied opens never reached the driver. */
    assert_int_equal(iot_count_major(IRP_MJ_CREATE), 3);
    assert_int_equal(iot.Events[0].RequestorMode, UserMode);
    for (int i = 0; i < 6; i++)
        if (NT_SUCCESS(u.Status[i]))
            assert_int_equal(ZwClose(u.Handle[i]), STATUS_SUCCESS);
    assert_int_equal(d1->ReferenceCount, 0);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- device pointers ----------------------------------------------------------------------------------- */

static void device_object_pointer_and_attach_by_name(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFilePtr");
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoFilePtr", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    PDEVICE_OBJECT filter = iot_device(NULL, 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\IoFilePtr");
    PDEVICE_OBJECT attachedTo = NULL;
    assert_int_equal(IoAttachDevice(filter, &name, &attachedTo), STATUS_SUCCESS);
    assert_ptr_equal(attachedTo, dev);
    assert_int_equal(filter->StackSize, 2);
    /* The attach opened and closed the device: create, cleanup, close. */
    assert_int_equal(iot_count_major(IRP_MJ_CREATE), 1);
    assert_int_equal(iot_count_major(IRP_MJ_CLEANUP), 1);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 1);
    assert_int_equal(dev->ReferenceCount, 0);

    iot_reset_events();
    PFILE_OBJECT f = NULL;
    PDEVICE_OBJECT top = NULL;
    assert_int_equal(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &f, &top), STATUS_SUCCESS);
    assert_ptr_equal(top, filter);
    assert_ptr_equal(f->DeviceObject, dev);
    assert_int_equal(dev->ReferenceCount, 1);
    /* The handle is gone already (cleanup seen), the reference is the caller's. */
    assert_int_equal(iot_count_major(IRP_MJ_CLEANUP), 1);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 0);
    assert_int_equal(OBJECT_TO_OBJECT_HEADER(f)->HandleCount, 0);
    ObDereferenceObject(f);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 1);
    assert_int_equal(dev->ReferenceCount, 0);

    UNICODE_STRING missing = RTL_CONSTANT_STRING(L"\\Device\\IoFilePtrMissing");
    assert_int_equal(IoGetDeviceObjectPointer(&missing, FILE_READ_DATA, &f, &top), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_null(f);
    assert_null(top);
    PDEVICE_OBJECT other = iot_device(NULL, 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    assert_int_equal(IoAttachDevice(other, &missing, &attachedTo), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_null(attachedTo);
    IoDetachDevice(dev);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void stream_file_objects(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot_driver(L"IoFileStream");
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoFileStream", 0, FILE_DEVICE_DISK, 0, FALSE);
    PFILE_OBJECT s = IoCreateStreamFileObject(NULL, dev);
    assert_non_null(s);
    assert_true(s->Flags & FO_STREAM_FILE);
    assert_ptr_equal(s->DeviceObject, dev);
    assert_int_equal(dev->ReferenceCount, 1);
    /* No create; the cleanup is immediate. */
    assert_int_equal(iot_count_major(IRP_MJ_CREATE), 0);
    assert_int_equal(iot_count_major(IRP_MJ_CLEANUP), 1);
    assert_true(s->Flags & FO_CLEANUP_COMPLETE);
    ObDereferenceObject(s);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 1);
    assert_int_equal(dev->ReferenceCount, 0);
    /* From a file object: same device and VPB. */
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device\\IoFileStream", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);
    PFILE_OBJECT f = iot_file_of(h);
    s = IoCreateStreamFileObject(f, NULL);
    assert_non_null(s);
    assert_ptr_equal(s->DeviceObject, dev);
    assert_ptr_equal(s->Vpb, f->Vpb);
    assert_int_equal(dev->ReferenceCount, 2);
    ObDereferenceObject(s);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- share access ----------------------------------------------------------------------------------------- */

static void share_access_rules(void **state)
{
    (void)state;
    FILE_OBJECT f1, f2, f3, f4;
    SHARE_ACCESS sa;
    RtlZeroMemory(&f1, sizeof(f1));
    RtlZeroMemory(&f2, sizeof(f2));
    RtlZeroMemory(&f3, sizeof(f3));
    RtlZeroMemory(&f4, sizeof(f4));
    /* A reader that lets others read. */
    IoSetShareAccess(FILE_READ_DATA, FILE_SHARE_READ, &f1, &sa);
    assert_int_equal(sa.OpenCount, 1);
    assert_int_equal(sa.Readers, 1);
    assert_int_equal(sa.SharedRead, 1);
    assert_int_equal(sa.Writers + sa.Deleters + sa.SharedWrite + sa.SharedDelete, 0);
    assert_true(f1.ReadAccess);
    assert_true(f1.SharedRead);
    assert_false(f1.WriteAccess);
    /* A writer conflicts (the reader does not share writing). */
    assert_int_equal(IoCheckShareAccess(FILE_WRITE_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &f2, &sa, TRUE),
                     STATUS_SHARING_VIOLATION);
    assert_int_equal(sa.OpenCount, 1);
    /* A reader that refuses to share reading conflicts with the existing reader. */
    assert_int_equal(IoCheckShareAccess(FILE_READ_DATA, 0, &f2, &sa, TRUE), STATUS_SHARING_VIOLATION);
    /* A second sharing reader fits; with Update FALSE nothing is counted. */
    assert_int_equal(IoCheckShareAccess(FILE_EXECUTE, FILE_SHARE_READ, &f2, &sa, FALSE), STATUS_SUCCESS);
    assert_int_equal(sa.OpenCount, 1);
    assert_true(f2.ReadAccess);
    IoUpdateShareAccess(&f2, &sa);
    assert_int_equal(sa.OpenCount, 2);
    assert_int_equal(sa.Readers, 2);
    /* Attribute-only opens never conflict and are not counted. */
    assert_int_equal(IoCheckShareAccess(FILE_READ_ATTRIBUTES | SYNCHRONIZE, 0, &f3, &sa, TRUE), STATUS_SUCCESS);
    assert_int_equal(sa.OpenCount, 2);
    assert_false(f3.ReadAccess || f3.WriteAccess || f3.DeleteAccess);
    IoRemoveShareAccess(&f3, &sa);
    assert_int_equal(sa.OpenCount, 2);
    /* Delete with sharing of delete, read. */
    assert_int_equal(IoCheckShareAccess(DELETE, FILE_SHARE_READ, &f4, &sa, TRUE), STATUS_SHARING_VIOLATION);
    IoRemoveShareAccess(&f1, &sa);
    IoRemoveShareAccess(&f2, &sa);
    assert_int_equal(sa.OpenCount, 0);
    assert_int_equal(sa.Readers, 0);
    assert_int_equal(sa.SharedRead, 0);
    /* Alone, anything goes; append counts as writing. */
    assert_int_equal(IoCheckShareAccess(DELETE | FILE_APPEND_DATA, 0, &f4, &sa, TRUE), STATUS_SUCCESS);
    assert_int_equal(sa.Writers, 1);
    assert_int_equal(sa.Deleters, 1);
    assert_int_equal(IoCheckShareAccess(FILE_READ_DATA, FILE_SHARE_VALID_FLAGS, &f1, &sa, TRUE),
                     STATUS_SHARING_VIOLATION);
    IoRemoveShareAccess(&f4, &sa);
    RtlZeroMemory(&f1, sizeof(f1));
    IoSetShareAccess(FILE_READ_ATTRIBUTES, FILE_SHARE_READ, &f1, &sa);
    assert_int_equal(sa.OpenCount, 0);
    assert_false(f1.SharedRead);
}

static const struct CMUnitTest io_file_tests[] = {
    cmocka_unit_test(open_reaches_the_device_with_the_create_parameters),
    cmocka_unit_test(open_flags_case_and_alertable),
    cmocka_unit_test(open_through_a_dos_device_link),
    cmocka_unit_test(filter_sees_the_create_first),
    cmocka_unit_test(failed_create_leaves_no_handle_and_no_close),
    cmocka_unit_test(exclusive_initializing_and_deleted_devices),
    cmocka_unit_test(wrong_opens_of_devices),
    cmocka_unit_test(create_parameter_validation),
    cmocka_unit_test(device_descriptor_is_checked_for_users),
    cmocka_unit_test(device_object_pointer_and_attach_by_name),
    cmocka_unit_test(stream_file_objects),
    cmocka_unit_test(share_access_rules),
};

NTOS_TEST_GROUP(io_file, io_file_tests, NULL, NULL);
