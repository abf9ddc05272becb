/*
 * Driver objects: the I/O object types, IoCreateDriver (names, registry
 * path, defaults, DriverEntry at PASSIVE_LEVEL, failures), IoDeleteDriver,
 * driver object extensions and the unload path (immediate, refused without
 * DriverUnload, pending while a file object is open).
 */
#include "io_obj_test.h"

static void type_is(POBJECT_TYPE t, PCWSTR Name)
{
    assert_non_null(t);
    assert_true(iot_ustr_is(&t->Name, Name));
    assert_int_equal(t->TypeInfo.ValidAccessMask, FILE_ALL_ACCESS);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericRead, FILE_GENERIC_READ);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericWrite, FILE_GENERIC_WRITE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericExecute, FILE_GENERIC_EXECUTE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericAll, FILE_ALL_ACCESS);
    WCHAR path[64] = L"\\ObjectTypes\\";
    UNICODE_STRING p = {0, sizeof(path), path};
    p.Length = 13 * sizeof(WCHAR);
    assert_int_equal(RtlAppendUnicodeStringToString(&p, &t->Name), STATUS_SUCCESS);
    PVOID found = NULL;
    assert_int_equal(ObReferenceObjectByName(&p, OBJ_CASE_INSENSITIVE, NULL, 0, NULL, KernelMode, NULL, &found),
                     STATUS_SUCCESS);
    assert_ptr_equal(found, t);
    ObDereferenceObject(found);
}

static void io_types_are_exported_with_file_rights(void **state)
{
    (void)state;
    type_is(IoDeviceObjectType, L"Device");
    type_is(IoDriverObjectType, L"Driver");
    type_is(IoFileObjectType, L"File");
    assert_non_null(IoDeviceObjectType->TypeInfo.ParseProcedure);
    assert_non_null(IoFileObjectType->TypeInfo.CloseProcedure);
    assert_non_null(IoFileObjectType->TypeInfo.DeleteProcedure);
    /* Waits on a file handle wait on FILE_OBJECT.Event. */
    assert_ptr_equal(IoFileObjectType->DefaultObject, (PVOID)(ULONG_PTR)FIELD_OFFSET(FILE_OBJECT, Event));
}

static void create_driver_fills_the_object_and_calls_entry(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot.KeepDefaults = TRUE;
    PDRIVER_OBJECT d = iot_driver(L"IoDrvBasic");
    iot.KeepDefaults = FALSE;
    assert_int_equal(iot.EntryCalls, 1);
    assert_int_equal(iot.EntryIrql, PASSIVE_LEVEL);
    assert_true(iot_ustr_is(&iot.RegistryPath,
                            L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\IoDrvBasic"));
    assert_int_equal(d->Type, IO_TYPE_DRIVER);
    assert_int_equal(d->Size, sizeof(DRIVER_OBJECT));
    assert_true(iot_ustr_is(&d->DriverName, L"\\Driver\\IoDrvBasic"));
    assert_non_null(d->DriverExtension);
    assert_ptr_equal(d->DriverExtension->DriverObject, d);
    assert_true(iot_ustr_is(&d->DriverExtension->ServiceKeyName, L"IoDrvBasic"));
    assert_ptr_equal(d->DriverInit, iot_entry);
    assert_non_null(d->HardwareDatabase);
    assert_true(d->Flags & DRVO_BUILTIN_DRIVER);
    assert_true(d->Flags & DRVO_LEGACY_DRIVER); /* no AddDevice */
    assert_null(d->DeviceObject);
    assert_null(d->DriverUnload);
    /* Every major function has the default handler, the same for all. */
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        assert_non_null(d->MajorFunction[i]);
        assert_ptr_equal(d->MajorFunction[i], d->MajorFunction[0]);
    }
    assert_ptr_equal(ObGetObjectType(d), IoDriverObjectType);

    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Driver\\IODRVBASIC");
    PVOID found = NULL;
    assert_int_equal(ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, IoDriverObjectType, KernelMode,
                                             NULL, &found),
                     STATUS_SUCCESS);
    assert_ptr_equal(found, d);
    ObDereferenceObject(found);

    IoDeleteDriver(d);
    assert_int_equal(ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, IoDriverObjectType, KernelMode,
                                             NULL, &found),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    iot_check_leaks(&m);
}

static NTSTATUS NTAPI clearing_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    iot.Driver = DriverObject;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = NULL;
    DriverObject->DriverExtension->AddDevice = (PDRIVER_ADD_DEVICE)(PVOID)clearing_entry;
    return STATUS_SUCCESS;
}

static void cleared_major_is_restored_and_add_device_is_not_legacy(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"IoDrvCleared");
    assert_int_equal(IoCreateDriver(&name, clearing_entry), STATUS_SUCCESS);
    assert_ptr_equal(iot.Driver->MajorFunction[IRP_MJ_WRITE], IopInvalidDeviceRequest);
    assert_false(iot.Driver->Flags & DRVO_LEGACY_DRIVER);
    IoDeleteDriver(iot.Driver);
    iot_check_leaks(&m);
}

static NTSTATUS NTAPI entry_with_device(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    iot.Driver = DriverObject;
    UNICODE_STRING n = RTL_CONSTANT_STRING(L"\\Device\\IoDrvEntryDev");
    PDEVICE_OBJECT dev;
    NTSTATUS s = IoCreateDevice(DriverObject, 0, &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (NT_SUCCESS(s) && !(dev->Flags & DO_DEVICE_INITIALIZING))
        s = STATUS_UNSUCCESSFUL;
    return s;
}

static void devices_made_in_entry_are_ready_after_it(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"IoDrvEntryDev");
    assert_int_equal(IoCreateDriver(&name, entry_with_device), STATUS_SUCCESS);
    PDEVICE_OBJECT dev = iot.Driver->DeviceObject;
    assert_non_null(dev);
    assert_false(dev->Flags & DO_DEVICE_INITIALIZING);
    /* One created later stays initialising until its driver says otherwise. */
    PDEVICE_OBJECT later;
    assert_int_equal(IoCreateDevice(iot.Driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &later), STATUS_SUCCESS);
    assert_true(later->Flags & DO_DEVICE_INITIALIZING);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void full_and_generated_names(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDRIVER_OBJECT d = iot_driver(L"\\FileSystem\\IoDrvFs");
    assert_true(iot_ustr_is(&d->DriverName, L"\\FileSystem\\IoDrvFs"));
    assert_true(iot_ustr_is(&d->DriverExtension->ServiceKeyName, L"IoDrvFs"));
    assert_true(iot_ustr_is(&iot.RegistryPath, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\IoDrvFs"));
    IoDeleteDriver(d);

    /* No name: \Driver\ and eight hex digits, different each time. */
    assert_int_equal(IoCreateDriver(NULL, iot_entry), STATUS_SUCCESS);
    PDRIVER_OBJECT a = iot.Driver;
    assert_int_equal(IoCreateDriver(NULL, iot_entry), STATUS_SUCCESS);
    PDRIVER_OBJECT b = iot.Driver;
    assert_ptr_not_equal(a, b);
    assert_int_equal(a->DriverName.Length, (8 + 8) * sizeof(WCHAR));
    UNICODE_STRING prefix = RTL_CONSTANT_STRING(L"\\Driver\\");
    assert_true(RtlPrefixUnicodeString(&prefix, &a->DriverName, FALSE));
    assert_false(RtlEqualUnicodeString(&a->DriverName, &b->DriverName, TRUE));
    IoDeleteDriver(a);
    IoDeleteDriver(b);
    iot_check_leaks(&m);
}

static void create_driver_errors(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"IoDrvDup");
    assert_int_equal(IoCreateDriver(&name, NULL), STATUS_INVALID_PARAMETER);
    UNICODE_STRING empty = {0, 0, NULL};
    assert_int_equal(IoCreateDriver(&empty, iot_entry), STATUS_INVALID_PARAMETER);
    UNICODE_STRING trailing = RTL_CONSTANT_STRING(L"\\Driver\\");
    assert_int_equal(IoCreateDriver(&trailing, iot_entry), STATUS_INVALID_PARAMETER);

    PDRIVER_OBJECT d = iot_driver(L"IoDrvDup");
    LONG calls = iot.EntryCalls;
    assert_int_equal(IoCreateDriver(&name, iot_entry), STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(iot.EntryCalls, calls); /* the entry never ran for the duplicate */
    IoDeleteDriver(d);

    /* A failing DriverEntry: its status comes back and nothing is left. */
    iot.EntryStatus = STATUS_DEVICE_NOT_READY;
    UNICODE_STRING failing = RTL_CONSTANT_STRING(L"IoDrvFails");
    assert_int_equal(IoCreateDriver(&failing, iot_entry), STATUS_DEVICE_NOT_READY);
    iot.EntryStatus = STATUS_SUCCESS;
    UNICODE_STRING full = RTL_CONSTANT_STRING(L"\\Driver\\IoDrvFails");
    PVOID found;
    assert_int_equal(ObReferenceObjectByName(&full, OBJ_CASE_INSENSITIVE, NULL, 0, NULL, KernelMode, NULL, &found),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    iot_check_leaks(&m);
}

static NTSTATUS NTAPI entry_with_device_then_fail(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    iot.Driver = DriverObject;
    PDEVICE_OBJECT dev;
    UNICODE_STRING n = RTL_CONSTANT_STRING(L"\\Device\\IoDrvFailDev");
    if (!NT_SUCCESS(IoCreateDevice(DriverObject, 0, &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev)))
        return STATUS_UNSUCCESSFUL;
    /* The driver cleans up after itself, as documented for DriverEntry failures. */
    IoDeleteDevice(dev);
    return STATUS_INSUFFICIENT_RESOURCES;
}

static void failed_entry_that_cleaned_up_leaves_nothing(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"IoDrvFailDev");
    assert_int_equal(IoCreateDriver(&name, entry_with_device_then_fail), STATUS_INSUFFICIENT_RESOURCES);
    iot_check_leaks(&m);
}

static void devices_keep_a_deleted_driver_object(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDRIVER_OBJECT d = iot_driver(L"IoDrvKeep");
    PDEVICE_OBJECT dev = iot_device(NULL, 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    IoDeleteDriver(d);
    /* The name is gone but the device still holds the object. */
    assert_ptr_equal(dev->DriverObject, d);
    assert_int_equal(d->Type, IO_TYPE_DRIVER);
    IoDeleteDevice(dev);
    iot_check_leaks(&m);
}

static void driver_object_extensions(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDRIVER_OBJECT d = iot_driver(L"IoDrvExt");
    static int idA, idB;
    PVOID a = (PVOID)1, again = (PVOID)1;
    assert_int_equal(IoAllocateDriverObjectExtension(d, &idA, 40, &a), STATUS_SUCCESS);
    assert_non_null(a);
    assert_int_equal((ULONG_PTR)a & 15, 0);
    static const UCHAR zero[40];
    assert_memory_equal(a, zero, 40);
    RtlFillMemory(a, 40, 0x5A); /* the whole size is the caller's */
    assert_int_equal(IoAllocateDriverObjectExtension(d, &idA, 8, &again), STATUS_OBJECT_NAME_COLLISION);
    assert_null(again);
    assert_ptr_equal(IoGetDriverObjectExtension(d, &idA), a);
    assert_null(IoGetDriverObjectExtension(d, &idB));
    PVOID b;
    assert_int_equal(IoAllocateDriverObjectExtension(d, &idB, 0, &b), STATUS_SUCCESS);
    assert_ptr_equal(IoGetDriverObjectExtension(d, &idB), b);
    assert_ptr_equal(IoGetDriverObjectExtension(d, &idA), a);
    assert_int_equal(IoAllocateDriverObjectExtension(d, &idA, 8, NULL), STATUS_INVALID_PARAMETER);
    IoDeleteDriver(d); /* the extensions go with the object */
    iot_check_leaks(&m);
}

/* ---- unload ----------------------------------------------------------------------------------------- */

static void unload_without_routine_is_refused(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDRIVER_OBJECT d = iot_driver(L"IoDrvNoUnload");
    assert_int_equal(IopUnloadDriver(d), STATUS_INVALID_DEVICE_REQUEST);
    assert_false(d->Flags & DRVO_UNLOAD_INVOKED);
    IoDeleteDriver(d);
    iot_check_leaks(&m);
}

static void unload_with_no_open_files_is_immediate(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot.WithUnload = TRUE;
    PDRIVER_OBJECT d = iot_driver(L"IoDrvUnloadNow");
    iot.WithUnload = FALSE;
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoDrvUnloadNow", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    assert_int_equal(IopUnloadDriver(d), STATUS_SUCCESS);
    assert_int_equal(iot.UnloadCalls, 1);
    assert_true(d->Flags & DRVO_UNLOAD_INVOKED);
    assert_true(IopDeviceExtension(dev)->ExtensionFlags & DOE_UNLOAD_PENDING);
    /* Once is enough. */
    assert_int_equal(IopUnloadDriver(d), STATUS_SUCCESS);
    assert_int_equal(iot.UnloadCalls, 1);
    /* The name is gone; the device (which the unload routine of a real
     * driver would delete) still holds the object. */
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Driver\\IoDrvUnloadNow");
    PVOID found;
    assert_int_equal(ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, NULL, KernelMode, NULL, &found),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    IoDeleteDevice(dev);
    iot_check_leaks(&m);
}

static void unload_waits_for_the_last_open_file(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot.WithUnload = TRUE;
    PDRIVER_OBJECT d = iot_driver(L"IoDrvUnloadLater");
    iot.WithUnload = FALSE;
    PDEVICE_OBJECT dev = iot_device(L"\\Device\\IoDrvUnloadLater", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device\\IoDrvUnloadLater", FILE_READ_DATA, 0, 0, &h, &iosb), STATUS_SUCCESS);

    assert_int_equal(IopUnloadDriver(d), STATUS_PENDING);
    assert_int_equal(iot.UnloadCalls, 0);
    assert_int_equal(IopUnloadDriver(d), STATUS_PENDING);
    /* No new opens while the unload is pending. */
    HANDLE h2;
    assert_int_equal(iot_open(L"\\Device\\IoDrvUnloadLater", FILE_READ_DATA, 0, 0, &h2, &iosb), STATUS_NO_SUCH_DEVICE);
    assert_int_equal(iot.UnloadCalls, 0);

    assert_int_equal(ZwClose(h), STATUS_SUCCESS); /* cleanup, close, then the unload */
    assert_int_equal(iot.UnloadCalls, 1);
    assert_true(d->Flags & DRVO_UNLOAD_INVOKED);
    LONG close = iot_find(IRP_MJ_CLOSE, 0);
    assert_true(close >= 0);
    IoDeleteDevice(dev);
    iot_check_leaks(&m);
}

static const struct CMUnitTest io_driver_tests[] = {
    cmocka_unit_test(io_types_are_exported_with_file_rights),
    cmocka_unit_test(create_driver_fills_the_object_and_calls_entry),
    cmocka_unit_test(cleared_major_is_restored_and_add_device_is_not_legacy),
    cmocka_unit_test(devices_made_in_entry_are_ready_after_it),
    cmocka_unit_test(full_and_generated_names),
    cmocka_unit_test(create_driver_errors),
    cmocka_unit_test(failed_entry_that_cleaned_up_leaves_nothing),
    cmocka_unit_test(devices_keep_a_deleted_driver_object),
    cmocka_unit_test(driver_object_extensions),
    cmocka_unit_test(unload_without_routine_is_refused),
    cmocka_unit_test(unload_with_no_open_files_is_immediate),
    cmocka_unit_test(unload_waits_for_the_last_open_file),
};

NTOS_TEST_GROUP(io_driver, io_driver_tests, NULL, NULL);
