/*
 * The real test drivers (tests/drivers/ntdrv_*.c, built by mingw-w64 into
 * .sys images that know nothing of ntos), loaded by the PE loader and driven
 * only through the Zw services a user of the kernel would call:
 *
 * - ntdrv_echo: DriverEntry reads its service key; named device and
 *   \DosDevices link; buffered reads and writes queueing pool chunks; the
 *   four IOCTL methods; IRQL changes and KUSER_SHARED_DATA reads through the
 *   WDK's inline forms; HAL.dll imports; concurrent writers from system
 *   threads; loaded by IoLoadDriverImage and by ZwLoadDriver.
 * - ntdrv_timer: pending IRPs completed by a timer DPC, cancellation through
 *   the driver's cancel routine, a driver-owned system thread answering over
 *   events, work items.
 * - ntdrv_filter: attaches above \Device\DrvEcho, sees and counts its
 *   traffic, detaches on unload.
 * - ntdrv_observer: thread, image and process notify routines, Ob callbacks
 *   stripping access from process and thread handles, callback objects (its
 *   own and \Callback\SetSystemTime), all registered in DriverEntry and
 *   removed by DriverUnload.
 * - ntdrv_seh: mingw-w64's __try1/__except1 (and a termination handler in
 *   the same .xdata form) in gcc-built code: ProbeForRead failures, a null
 *   pointer read and ExRaiseStatus reach its filter through the kernel's
 *   __C_specific_handler; the unwind runs its termination handler.
 * - ntdrv_missing: imports a routine ntos does not export; refused with
 *   STATUS_PROCEDURE_NOT_FOUND and a message naming it, DriverEntry never runs.
 *
 * Every load is followed by an unload and a check that nothing stayed behind:
 * the drivers' pool tags, device/driver/file objects and their names, handles,
 * threads, the symbolic links and the loaded-module list entry.
 *
 * The images come from the boot modules (contract: arch_boot_module): on the
 * host CTest passes them in NTOS_BOOT_MODULES, in QEMU they are cpio members
 * of the initrd (tools/ntos run --driver=...).
 */
#include "../io/io_obj_test.h"
#include <ntos/cm.h>
#include <ntos/dbg.h>
#include <ntos/ex_callback.h>
#include <ntos/ex_objects.h>
#include <ntos/ldr.h>
#include <ntos/ob.h>
#include <ntos/obcallback.h>
#include <ntos/ps.h>
#include "drvtest.h"
#if defined(NTOS_HOST) && !defined(NTOS_KTEST)
#include "host.h"
#endif

#define DRV_TEST_TAG 0x54767244 /* 'DrvT': the test's own direct-I/O buffers */
#define SERVICES L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\"

/* ---- images, service keys, leak marks ---------------------------------------------------------- */

static BOOLEAN drv_name_is(const char *Name, const char *Wanted)
{
    while (*Name != 0 && *Name == *Wanted) {
        Name++;
        Wanted++;
    }
    return *Name == 0 && *Wanted == 0;
}

/* The boot module named File (e.g. "ntdrv_echo.sys"). */
static ARCH_BOOT_MODULE drv_image(const char *File)
{
    ARCH_BOOT_MODULE m;
    for (ULONG i = 0; arch_boot_module(i, &m); i++)
        if (drv_name_is(m.Name, File))
            return m;
    print_message("driver image %s is not a boot module: pass the tests/drivers .sys files "
                  "(host: NTOS_BOOT_MODULES, QEMU: tools/ntos run --driver=...)\n", File);
#ifdef NTOS_KTEST
    /* The in-kernel runner also boots without the drivers (plain `tools/ntos run`):
     * reported as skipped there; CTest's boot.drivers passes them. The CMocka
     * programs always get them from CTest, so a missing image is a failure. */
    skip();
#else
    fail();
#endif
    return m;
}

static void drv_us(PUNICODE_STRING Us, PCWSTR Text)
{
    RtlInitUnicodeString(Us, Text);
}

static void drv_set_value(HANDLE Key, PCWSTR Name, ULONG Type, const void *Data, ULONG Size)
{
    UNICODE_STRING n;
    drv_us(&n, Name);
    assert_int_equal(ZwSetValueKey(Key, &n, 0, Type, (PVOID)Data, Size), STATUS_SUCCESS);
}

static ULONG drv_wcslen(PCWSTR s)
{
    ULONG n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

/* Creates (or reuses) SERVICES<Service> with the values a driver service has, plus
 * the echo driver's parameters. Returns the open key; drv_service_delete removes it. */
static HANDLE drv_service_create(PCWSTR Service, PCWSTR ImagePath, ULONG Seed, PCWSTR Greeting)
{
    WCHAR path[128] = SERVICES;
    ULONG n = drv_wcslen(path), i = 0;
    while (Service[i] != 0 && n + 1 < RTL_NUMBER_OF(path))
        path[n++] = Service[i++];
    path[n] = 0;
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    HANDLE key;
    drv_us(&us, path);
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwCreateKey(&key, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_VOLATILE, NULL), STATUS_SUCCESS);
    ULONG type = 1 /* SERVICE_KERNEL_DRIVER */, start = 3 /* SERVICE_DEMAND_START */;
    drv_set_value(key, L"Type", REG_DWORD, &type, sizeof(type));
    drv_set_value(key, L"Start", REG_DWORD, &start, sizeof(start));
    drv_set_value(key, L"ImagePath", REG_EXPAND_SZ, ImagePath, (drv_wcslen(ImagePath) + 1) * sizeof(WCHAR));
    drv_set_value(key, DRVTEST_ECHO_SEED_VALUE, REG_DWORD, &Seed, sizeof(Seed));
    drv_set_value(key, DRVTEST_ECHO_GREETING_VALUE, REG_SZ, Greeting, (drv_wcslen(Greeting) + 1) * sizeof(WCHAR));
    return key;
}

static void drv_service_delete(HANDLE Key)
{
    assert_int_equal(ZwDeleteKey(Key), STATUS_SUCCESS);
    assert_int_equal(ZwClose(Key), STATUS_SUCCESS);
}

static ULONG drv_module_count(void)
{
    ULONG n = 0;
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&PsLoadedModuleResource, TRUE);
    for (PLIST_ENTRY e = PsLoadedModuleList.Flink; e != &PsLoadedModuleList; e = e->Flink)
        n++;
    ExReleaseResourceLite(&PsLoadedModuleResource);
    KeLeaveCriticalRegion();
    return n;
}

static const ULONG drv_tags[] = {DRVTEST_ECHO_TAG, DRVTEST_ECHO_CHUNK_TAG, DRVTEST_TIMER_TAG, DRVTEST_FILTER_TAG,
                                 DRVTEST_OBSERVER_TAG,
                                 IOP_IRP_TAG, IOP_BUFFER_TAG};

typedef struct {
    IOT_LEAK_MARK Io;
    LONG64 Live[RTL_NUMBER_OF(drv_tags)];
    ULONG Threads;
    ULONG Modules;
} DRV_MARK;

static DRV_MARK drv_mark(void)
{
    DRV_MARK m;
    m.Io = iot_mark();
    for (ULONG i = 0; i < RTL_NUMBER_OF(drv_tags); i++)
        m.Live[i] = iot_pool_live(drv_tags[i]);
    m.Threads = PsThreadType->TotalNumberOfObjects;
    m.Modules = drv_module_count();
    return m;
}

/* Unload leaves nothing: pool by tag, objects and handles, the drivers'
 * system threads (their objects go once the last reference drops), module entries. */
static void drv_check_leaks(const DRV_MARK *m)
{
    iot_check_leaks(&m->Io);
    for (ULONG i = 0; i < RTL_NUMBER_OF(drv_tags); i++)
        WAIT_UNTIL(iot_pool_live(drv_tags[i]) == m->Live[i]);
    WAIT_UNTIL(PsThreadType->TotalNumberOfObjects == m->Threads);
    assert_int_equal(drv_module_count(), m->Modules);
}

static PDRIVER_OBJECT drv_load(PCWSTR Service, const char *File)
{
    ARCH_BOOT_MODULE image = drv_image(File);
    UNICODE_STRING name;
    PDRIVER_OBJECT driver = NULL;
    drv_us(&name, Service);
    NTSTATUS status = IoLoadDriverImage(&name, image.Data, image.Size, &driver);
    if (status != STATUS_SUCCESS)
        print_message("IoLoadDriverImage(%s) = 0x%08x\n", File, (unsigned)status);
    assert_int_equal(status, STATUS_SUCCESS);
    assert_non_null(driver);
    assert_non_null(driver->DriverUnload);
    return driver;
}

static void drv_unload(PDRIVER_OBJECT Driver)
{
    assert_int_equal(IoUnloadDriverImage(Driver), STATUS_SUCCESS);
    ObDereferenceObject(Driver);
}

static HANDLE drv_open(PCWSTR Name)
{
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    NTSTATUS status = iot_open(Name, GENERIC_READ | GENERIC_WRITE | SYNCHRONIZE, 0, FILE_SYNCHRONOUS_IO_NONALERT,
                               &h, &iosb);
    assert_int_equal(status, STATUS_SUCCESS);
    return h;
}

static NTSTATUS drv_open_status(PCWSTR Name)
{
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    NTSTATUS status = iot_open(Name, GENERIC_READ | SYNCHRONIZE, 0, FILE_SYNCHRONOUS_IO_NONALERT, &h, &iosb);
    if (NT_SUCCESS(status))
        ZwClose(h);
    return status;
}

/* STATUS_SUCCESS if a driver object \Driver\<Service> exists. */
static NTSTATUS drv_driver_object_status(PCWSTR Name)
{
    UNICODE_STRING us;
    PVOID d = NULL;
    drv_us(&us, Name);
    NTSTATUS status = ObReferenceObjectByName(&us, OBJ_CASE_INSENSITIVE, NULL, 0, IoDriverObjectType, KernelMode,
                                              NULL, &d);
    if (NT_SUCCESS(status))
        ObDereferenceObject(d);
    return status;
}

/* A synchronous IOCTL; returns the status, *Information the byte count. */
static NTSTATUS drv_ioctl(HANDLE File, ULONG Code, PVOID In, ULONG InLength, PVOID Out, ULONG OutLength,
                          ULONG_PTR *Information)
{
    IO_STATUS_BLOCK iosb = {0};
    NTSTATUS status = ZwDeviceIoControlFile(File, NULL, NULL, NULL, &iosb, Code, In, InLength, Out, OutLength);
    if (NT_SUCCESS(status))
        assert_int_equal(iosb.Status, status);
    if (Information != NULL)
        *Information = NT_SUCCESS(status) ? iosb.Information : 0;
    return status;
}

static DRVTEST_ECHO_STATS echo_stats(HANDLE File)
{
    DRVTEST_ECHO_STATS st;
    ULONG_PTR info;
    assert_int_equal(drv_ioctl(File, IOCTL_ECHO_QUERY, NULL, 0, &st, sizeof(st), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(st));
    return st;
}

/* ---- ntdrv_echo -------------------------------------------------------------------------------- */

static void echo_loads_reads_registry_and_unloads_clean(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 0x5A,
                                    L"hello, driver");
    PDRIVER_OBJECT drv = drv_load(L"DrvEcho", "ntdrv_echo.sys");

    /* Through the \DosDevices link (= \??) and by the device's own name. */
    HANDLE f = drv_open(L"\\??\\DrvEcho");
    HANDLE g = drv_open(DRVTEST_ECHO_DEVICE);
    DRVTEST_ECHO_STATS st = echo_stats(f);
    assert_int_equal(st.Seed, 0x5A);
    assert_int_equal(st.GreetingBytes, 13 * sizeof(WCHAR));
    assert_memory_equal(st.Greeting, L"hello, driver", 13 * sizeof(WCHAR));
    assert_int_equal(st.EntryIrql, PASSIVE_LEVEL);
    assert_int_equal(st.Creates, 2);
    assert_int_equal(st.QueuedChunks, 0);

    /* Writes queue 'Chnk' pool blocks; reads drain them across chunk boundaries. */
    IO_STATUS_BLOCK iosb;
    LONG64 chunks = iot_pool_live(DRVTEST_ECHO_CHUNK_TAG);
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, "hello", 5, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_int_equal(ZwWriteFile(g, NULL, NULL, NULL, &iosb, "world!", 6, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iot_pool_live(DRVTEST_ECHO_CHUNK_TAG), chunks + 2);
    st = echo_stats(f);
    assert_int_equal(st.QueuedChunks, 2);
    assert_int_equal(st.QueuedBytes, 11);
    char buf[16] = {0};
    assert_int_equal(ZwReadFile(g, NULL, NULL, NULL, &iosb, buf, 7, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 7);
    assert_memory_equal(buf, "hellowo", 7);
    assert_int_equal(iot_pool_live(DRVTEST_ECHO_CHUNK_TAG), chunks + 1);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 4);
    assert_memory_equal(buf, "rld!", 4);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL), STATUS_END_OF_FILE);
    /* Left queued on purpose: DriverUnload must free it. */
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, "leftover", 8, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iot_pool_live(DRVTEST_ECHO_CHUNK_TAG), chunks + 1);

    st = echo_stats(g);
    assert_int_equal(st.LockIrqlErrors, 0);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    assert_int_equal(ZwClose(g), STATUS_SUCCESS);

    drv_unload(drv);
    assert_int_equal(drv_open_status(DRVTEST_ECHO_DEVICE), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(drv_open_status(L"\\??\\DrvEcho"), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(drv_driver_object_status(L"\\Driver\\DrvEcho"), STATUS_OBJECT_NAME_NOT_FOUND);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

static void echo_ioctl_methods(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 0x21, L"x");
    PDRIVER_OBJECT drv = drv_load(L"DrvEcho", "ntdrv_echo.sys");
    HANDLE f = drv_open(DRVTEST_ECHO_DEVICE);
    ULONG_PTR info;

    /* METHOD_BUFFERED: one system buffer in and out, XOR with the registry seed.
     * Direct buffers are described by MDLs, which take system memory only: pool,
     * not the host stack. */
    UCHAR in[24];
    PUCHAR out = ExAllocatePoolWithTag(NonPagedPoolNx, 64, DRV_TEST_TAG);
    assert_non_null(out);
    for (ULONG i = 0; i < sizeof(in); i++)
        in[i] = (UCHAR)(i * 7 + 1);
    RtlZeroMemory(out, 64);
    assert_int_equal(drv_ioctl(f, IOCTL_ECHO_BUFFERED, in, sizeof(in), out, 64, &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(in));
    for (ULONG i = 0; i < sizeof(in); i++)
        assert_int_equal(out[i], in[i] ^ 0x21);
    assert_int_equal(drv_ioctl(f, IOCTL_ECHO_BUFFERED, in, sizeof(in), out, 4, NULL), STATUS_BUFFER_TOO_SMALL);

    /* METHOD_IN_DIRECT: the driver reads the output buffer through its MDL. */
    ULONG_PTR sum = 0;
    for (ULONG i = 0; i < 64; i++) {
        out[i] = (UCHAR)(200 + i);
        sum += out[i];
    }
    assert_int_equal(drv_ioctl(f, IOCTL_ECHO_IN_DIRECT, in, 1, out, 64, &info), STATUS_SUCCESS);
    assert_int_equal(info, sum);

    /* METHOD_OUT_DIRECT: the driver fills the output buffer through its MDL. */
    RtlZeroMemory(out, 64);
    assert_int_equal(drv_ioctl(f, IOCTL_ECHO_OUT_DIRECT, "abc", 3, out, 50, &info), STATUS_SUCCESS);
    assert_int_equal(info, 50);
    for (ULONG i = 0; i < 50; i++)
        assert_int_equal(out[i], "abc"[i % 3]);
    assert_int_equal(out[50], 0);

    /* METHOD_NEITHER: the caller's own pointers (a kernel-mode requestor). */
    char upper[16] = {0};
    assert_int_equal(drv_ioctl(f, IOCTL_ECHO_NEITHER, "Mixed-case 42", 13, upper, sizeof(upper), &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 13);
    assert_memory_equal(upper, "MIXED-CASE 42", 13);

    /* An unknown code reaches the driver and is refused by it. */
    assert_int_equal(drv_ioctl(f, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x9FF, METHOD_BUFFERED, FILE_ANY_ACCESS), NULL, 0,
                               NULL, 0, NULL),
                     STATUS_INVALID_DEVICE_REQUEST);
    ExFreePoolWithTag(out, DRV_TEST_TAG);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(drv);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

static void echo_inline_irql_and_time(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 1, L"t");
    PDRIVER_OBJECT drv = drv_load(L"DrvEcho", "ntdrv_echo.sys");
    HANDLE f = drv_open(DRVTEST_ECHO_DEVICE);
    DRVTEST_IRQL_REPORT r;
    ULONG_PTR info;
    LARGE_INTEGER tick0, tick1, sys0, sys1;

    KeQueryTickCount(&tick0);
    ULONG64 it0 = KeQueryInterruptTime();
    KeQuerySystemTime(&sys0);
    assert_int_equal(drv_ioctl(f, IOCTL_ECHO_IRQL, NULL, 0, &r, sizeof(r), &info), STATUS_SUCCESS);
    KeQueryTickCount(&tick1);
    ULONG64 it1 = KeQueryInterruptTime();
    KeQuerySystemTime(&sys1);
    assert_int_equal(info, sizeof(r));

    /* `mov cr8` in the driver's code: the same IRQL the exported routines keep. */
    assert_int_equal(r.Before, PASSIVE_LEVEL);
    assert_int_equal(r.OldFromRaise, PASSIVE_LEVEL);
    assert_int_equal(r.Raised, DISPATCH_LEVEL);
    assert_int_equal(r.Synch, SYNCH_LEVEL);
    assert_int_equal(r.AfterLower, DISPATCH_LEVEL);
    assert_int_equal(r.After, PASSIVE_LEVEL);
    assert_int_equal(r.InLock, DISPATCH_LEVEL);
    assert_int_equal(r.AfterLock, PASSIVE_LEVEL);
    assert_int_equal(r.DpcRanWhileRaised, 0);
    assert_int_equal(r.DpcRanAfterLower, 1);
    assert_int_equal(r.DpcIrql, DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* Loads from KUSER_SHARED_DATA at 0xFFFFF78000000000 in the driver's code. */
    assert_in_range(r.TickCount, (ULONG64)tick0.QuadPart, (ULONG64)tick1.QuadPart);
    assert_in_range(r.InterruptTime, it0, it1);
    assert_in_range(r.SystemTime, (ULONG64)sys0.QuadPart, (ULONG64)sys1.QuadPart);
    /* HAL.dll imports. */
    assert_true(r.PerfFrequency > 0);
    assert_true(r.PerfAfter - r.PerfBefore >= r.PerfFrequency * 50 / 1000000);

    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(drv);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

/* Several system threads write and read through the driver at once: its spin
 * lock (taken through KeAcquireSpinLock and checked with the inline
 * KeGetCurrentIrql) keeps the queue consistent on every CPU count. */
#define ECHO_WRITERS 4
#define ECHO_WRITES 64

typedef struct {
    HANDLE File;
    LONG Index;
    volatile LONG Failures;
} ECHO_WRITER;

static VOID NTAPI echo_writer(PVOID Context)
{
    ECHO_WRITER *w = Context;
    IO_STATUS_BLOCK iosb;
    UCHAR data[16];
    for (ULONG i = 0; i < ECHO_WRITES; i++) {
        ULONG n = 1 + (i + (ULONG)w->Index) % sizeof(data);
        RtlFillMemory(data, n, (UCHAR)('A' + w->Index));
        if (ZwWriteFile(w->File, NULL, NULL, NULL, &iosb, data, n, NULL, NULL) != STATUS_SUCCESS ||
            iosb.Information != n)
            __atomic_fetch_add(&w->Failures, 1, __ATOMIC_SEQ_CST);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void echo_concurrent_writers(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 2, L"c");
    PDRIVER_OBJECT drv = drv_load(L"DrvEcho", "ntdrv_echo.sys");
    HANDLE f = drv_open(DRVTEST_ECHO_DEVICE);
    ECHO_WRITER w[ECHO_WRITERS];
    HANDLE t[ECHO_WRITERS];
    ULONG expected[ECHO_WRITERS] = {0};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    for (LONG i = 0; i < ECHO_WRITERS; i++) {
        w[i].Index = i;
        w[i].Failures = 0;
        w[i].File = drv_open(DRVTEST_ECHO_DEVICE);
        for (ULONG k = 0; k < ECHO_WRITES; k++)
            expected[i] += 1 + (k + (ULONG)i) % 16;
    }
    for (LONG i = 0; i < ECHO_WRITERS; i++)
        assert_int_equal(PsCreateSystemThread(&t[i], SYNCHRONIZE, &oa, NULL, NULL, echo_writer, &w[i]),
                         STATUS_SUCCESS);
    for (LONG i = 0; i < ECHO_WRITERS; i++) {
        assert_int_equal(ZwWaitForSingleObject(t[i], FALSE, NULL), STATUS_SUCCESS);
        assert_int_equal(ZwClose(t[i]), STATUS_SUCCESS);
        assert_int_equal(w[i].Failures, 0);
        assert_int_equal(ZwClose(w[i].File), STATUS_SUCCESS);
    }
    DRVTEST_ECHO_STATS st = echo_stats(f);
    assert_int_equal(st.QueuedChunks, ECHO_WRITERS * ECHO_WRITES);
    assert_int_equal(st.LockIrqlErrors, 0);

    /* Drain everything: each writer's bytes all arrive, in its own order. */
    ULONG seen[ECHO_WRITERS] = {0};
    UCHAR buf[100];
    IO_STATUS_BLOCK iosb;
    NTSTATUS status;
    while ((status = ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL)) == STATUS_SUCCESS) {
        for (ULONG i = 0; i < iosb.Information; i++) {
            assert_in_range(buf[i], 'A', 'A' + ECHO_WRITERS - 1);
            seen[buf[i] - 'A']++;
        }
    }
    assert_int_equal(status, STATUS_END_OF_FILE);
    for (LONG i = 0; i < ECHO_WRITERS; i++)
        assert_int_equal(seen[i], expected[i]);
    st = echo_stats(f);
    assert_int_equal(st.QueuedChunks, 0);
    assert_int_equal(st.LockIrqlErrors, 0);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(drv);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

/* ZwLoadDriver: the service key's ImagePath names the image (a boot module),
 * DriverEntry gets that key; ZwUnloadDriver calls DriverUnload. */
static void echo_zw_load_and_unload(void **state)
{
    (void)state;
    (void)drv_image("ntdrv_echo.sys"); /* ZwLoadDriver finds it by ImagePath among the boot modules */
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvEchoZw", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 0x77,
                                    L"via ZwLoadDriver");
    UNICODE_STRING service;
    drv_us(&service, SERVICES L"DrvEchoZw");
    assert_int_equal(ZwLoadDriver(&service), STATUS_SUCCESS);
    assert_int_equal(ZwLoadDriver(&service), STATUS_IMAGE_ALREADY_LOADED);
    HANDLE f = drv_open(DRVTEST_ECHO_DEVICE);
    DRVTEST_ECHO_STATS st = echo_stats(f);
    assert_int_equal(st.Seed, 0x77);
    assert_memory_equal(st.Greeting, L"via ZwLoadDriver", 16 * sizeof(WCHAR));
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    assert_int_equal(ZwUnloadDriver(&service), STATUS_SUCCESS);
    assert_int_equal(drv_open_status(DRVTEST_ECHO_DEVICE), STATUS_OBJECT_NAME_NOT_FOUND);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

/* ---- ntdrv_timer ------------------------------------------------------------------------------- */

static DRVTEST_TIMER_STATS timer_stats(HANDLE File)
{
    DRVTEST_TIMER_STATS st;
    ULONG_PTR info;
    assert_int_equal(drv_ioctl(File, IOCTL_TIMER_QUERY, NULL, 0, &st, sizeof(st), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(st));
    return st;
}

typedef struct {
    HANDLE File; /* asynchronous handle */
    NTSTATUS Issued;
    NTSTATUS Final;
    ULONG_PTR Information;
    NTSTATUS Cancel;
} TIMER_CANCEL_RUN;

/* In an executive thread: ZwCancelIoFile cancels the calling thread's requests. */
static VOID NTAPI timer_cancel_in_thread(PVOID Context)
{
    TIMER_CANCEL_RUN *run = Context;
    IO_STATUS_BLOCK iosb, cancel;
    ULONG ms = 600000;
    DRVTEST_TIMER_DONE done;
    HANDLE ev;
    ZwCreateEvent(&ev, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    run->Issued = ZwDeviceIoControlFile(run->File, ev, NULL, NULL, &iosb, IOCTL_TIMER_DELAY, &ms, sizeof(ms), &done,
                                        sizeof(done));
    run->Cancel = ZwCancelIoFile(run->File, &cancel);
    ZwWaitForSingleObject(ev, FALSE, NULL);
    run->Final = iosb.Status;
    run->Information = iosb.Information;
    ZwClose(ev);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void timer_pending_dpc_cancel_thread_workitem(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvTimer", L"\\SystemRoot\\System32\\drivers\\ntdrv_timer.sys", 0, L"");
    PDRIVER_OBJECT drv = drv_load(L"DrvTimer", "ntdrv_timer.sys");
    HANDLE f = drv_open(L"\\DosDevices\\DrvTimer");
    ULONG_PTR info;

    /* Synchronous: the dispatch routine returns STATUS_PENDING, the DPC completes it. */
    ULONG ms = 20;
    DRVTEST_TIMER_DONE done = {0};
    assert_int_equal(drv_ioctl(f, IOCTL_TIMER_DELAY, &ms, sizeof(ms), &done, sizeof(done), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(done));
    assert_int_equal(done.CompletionIrql, DISPATCH_LEVEL);
    assert_int_equal(done.Milliseconds, 20);
    assert_true(done.Elapsed100ns >= 20 * 10000);

    /* Asynchronous, out of deadline order: each completes with its own result. */
    HANDLE a;
    IO_STATUS_BLOCK aiosb;
    assert_int_equal(iot_open(DRVTEST_TIMER_DEVICE, GENERIC_READ | GENERIC_WRITE, 0, 0, &a, &aiosb), STATUS_SUCCESS);
    ULONG delays[3] = {60, 10, 30};
    DRVTEST_TIMER_DONE results[3];
    IO_STATUS_BLOCK iosbs[3];
    HANDLE events[3];
    for (ULONG i = 0; i < 3; i++) {
        assert_int_equal(ZwCreateEvent(&events[i], EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
        assert_int_equal(ZwDeviceIoControlFile(a, events[i], NULL, NULL, &iosbs[i], IOCTL_TIMER_DELAY, &delays[i],
                                               sizeof(ULONG), &results[i], sizeof(results[i])),
                         STATUS_PENDING);
    }
    for (ULONG i = 0; i < 3; i++) {
        assert_int_equal(ZwWaitForSingleObject(events[i], FALSE, NULL), STATUS_SUCCESS);
        assert_int_equal(iosbs[i].Status, STATUS_SUCCESS);
        assert_int_equal(iosbs[i].Information, sizeof(DRVTEST_TIMER_DONE));
        assert_int_equal(results[i].Milliseconds, delays[i]);
        assert_int_equal(results[i].CompletionIrql, DISPATCH_LEVEL);
        assert_true(results[i].Elapsed100ns >= (ULONG64)delays[i] * 10000);
        assert_int_equal(ZwClose(events[i]), STATUS_SUCCESS);
    }

    /* Cancel: the driver's cancel routine completes it with STATUS_CANCELLED and frees its block. */
    LONG64 blocks = iot_pool_live(DRVTEST_TIMER_TAG);
    TIMER_CANCEL_RUN run = {.File = a};
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, timer_cancel_in_thread, &run),
                     STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(t, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
    assert_int_equal(run.Issued, STATUS_PENDING);
    assert_int_equal(run.Cancel, STATUS_SUCCESS);
    assert_int_equal(run.Final, STATUS_CANCELLED);
    assert_int_equal(run.Information, 0);
    assert_int_equal(iot_pool_live(DRVTEST_TIMER_TAG), blocks);

    /* The driver's own system thread, reached over two events. */
    ULONG value = 41;
    DRVTEST_TIMER_PING ping = {0};
    assert_int_equal(drv_ioctl(f, IOCTL_TIMER_PING, &value, sizeof(value), &ping, sizeof(ping), &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, sizeof(ping));
    assert_int_equal(ping.Result, 124);
    assert_int_equal(ping.ThreadIrql, PASSIVE_LEVEL);
    assert_int_not_equal(ping.ThreadId, 0);
    assert_int_not_equal(ping.ThreadId, ping.CallerId);
    assert_int_equal(ping.CallerId, (ULONG64)(ULONG_PTR)PsGetCurrentThreadId());

    /* A work item completes a pending request at PASSIVE_LEVEL in a worker thread. */
    DRVTEST_TIMER_WORK work = {0};
    assert_int_equal(drv_ioctl(f, IOCTL_TIMER_WORKITEM, NULL, 0, &work, sizeof(work), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(work));
    assert_int_equal(work.WorkerIrql, PASSIVE_LEVEL);
    assert_int_equal(work.Marker, 0x574F524B);
    assert_int_not_equal(work.WorkerThread, 0);
    assert_int_not_equal(work.WorkerThread, (ULONG64)(ULONG_PTR)KeGetCurrentThread());

    DRVTEST_TIMER_STATS st = timer_stats(f);
    assert_int_equal(st.Pending, 0);
    assert_int_equal(st.Completed, 4);
    assert_int_equal(st.Cancelled, 1);
    assert_true(st.DpcRuns >= 1);
    assert_int_equal(st.Pings, 1);
    assert_int_equal(st.WorkItems, 1);
    assert_int_equal(st.LockIrqlErrors, 0);

    assert_int_equal(ZwClose(a), STATUS_SUCCESS);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(drv);
    assert_int_equal(drv_open_status(DRVTEST_TIMER_DEVICE), STATUS_OBJECT_NAME_NOT_FOUND);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

/* ---- ntdrv_filter ------------------------------------------------------------------------------ */

static DRVTEST_FILTER_STATS filter_stats(HANDLE File)
{
    DRVTEST_FILTER_STATS st;
    ULONG_PTR info;
    assert_int_equal(drv_ioctl(File, IOCTL_FILTER_QUERY, NULL, 0, &st, sizeof(st), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(st));
    return st;
}

static void filter_attaches_counts_and_detaches(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE ekey = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 3, L"f");
    HANDLE fkey = drv_service_create(L"DrvFilter", L"\\SystemRoot\\System32\\drivers\\ntdrv_filter.sys", 0, L"");
    PDRIVER_OBJECT echo = drv_load(L"DrvEcho", "ntdrv_echo.sys");
    PDRIVER_OBJECT filter = drv_load(L"DrvFilter", "ntdrv_filter.sys");

    /* The filter's device sits on top of the echo device. */
    PDEVICE_OBJECT echoDevice = echo->DeviceObject;
    assert_non_null(echoDevice);
    assert_non_null(filter->DeviceObject);
    assert_ptr_equal(echoDevice->AttachedDevice, filter->DeviceObject);

    HANDLE f = drv_open(DRVTEST_ECHO_DEVICE);
    DRVTEST_FILTER_STATS st = filter_stats(f);
    assert_int_equal(st.Creates, 1);
    assert_int_equal(st.FilterStackSize, st.LowerStackSize + 1);

    IO_STATUS_BLOCK iosb;
    char buf[8];
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, "filtered", 8, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 5, NULL, NULL), STATUS_SUCCESS);
    assert_memory_equal(buf, "filte", 5);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 8, NULL, NULL), STATUS_SUCCESS);
    assert_memory_equal(buf, "red", 3);
    /* Passed down to the echo driver, which answers. */
    DRVTEST_ECHO_STATS es = echo_stats(f);
    assert_int_equal(es.Seed, 3);

    st = filter_stats(f);
    assert_int_equal(st.Writes, 1);
    assert_int_equal(st.Reads, 2);
    assert_int_equal(st.ReadCompletions, 2);
    assert_int_equal(st.BytesRead, 8);
    assert_int_equal(st.DeviceControls, 3); /* two queries of its own and the echo query */
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);

    drv_unload(filter);
    assert_null(echoDevice->AttachedDevice);
    /* Now the echo driver answers directly: the filter's code is gone. */
    f = drv_open(DRVTEST_ECHO_DEVICE);
    assert_int_equal(drv_ioctl(f, IOCTL_FILTER_QUERY, NULL, 0, &st, sizeof(st), NULL), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(echo);
    drv_service_delete(fkey);
    drv_service_delete(ekey);
    drv_check_leaks(&m);
}

/* ---- ntdrv_observer ---------------------------------------------------------------------------- */

static DRVTEST_OBSERVER_STATS observer_stats(HANDLE File)
{
    DRVTEST_OBSERVER_STATS st;
    ULONG_PTR info;
    assert_int_equal(drv_ioctl(File, IOCTL_OBSERVER_QUERY, NULL, 0, &st, sizeof(st), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(st));
    return st;
}

static NTSTATUS observer_notify(PCWSTR Name, PVOID Argument1, PVOID Argument2)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    PCALLBACK_OBJECT cb;
    drv_us(&us, Name);
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE, NULL, NULL);
    NTSTATUS status = ExCreateCallback(&cb, &oa, FALSE, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    ExNotifyCallback(cb, Argument1, Argument2);
    ObDereferenceObject(cb);
    return STATUS_SUCCESS;
}

static OB_PREOP_CALLBACK_STATUS NTAPI observer_probe_pre(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    (void)Context;
    (void)Info;
    return OB_PREOP_SUCCESS;
}

static void observer_sees_threads_images_handles_and_callbacks(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    HANDLE okey = drv_service_create(L"DrvObserver", L"\\SystemRoot\\System32\\drivers\\ntdrv_observer.sys", 0, L"");
    PDRIVER_OBJECT obs = drv_load(L"DrvObserver", "ntdrv_observer.sys");
    HANDLE f = drv_open(DRVTEST_OBSERVER_DEVICE);
    DRVTEST_OBSERVER_STATS st = observer_stats(f);
    for (ULONG i = 0; i < RTL_NUMBER_OF(st.RegisterStatus); i++)
        assert_int_equal(st.RegisterStatus[i], STATUS_SUCCESS);
    assert_int_equal(st.EntryIrql, PASSIVE_LEVEL);
    /* Its own load came before its image routine existed. */
    ULONG images0 = st.ImageLoads, recorded0 = st.ImagesRecorded;

    /* Load-image notify: another driver's image, named as the loader lists it,
     * system-mode, process id 0, at the base its driver object reports. */
    HANDLE key = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 3, L"o");
    PDRIVER_OBJECT echo = drv_load(L"DrvEcho", "ntdrv_echo.sys");
    st = observer_stats(f);
    assert_int_equal(st.ImageLoads, images0 + 1);
    assert_true(recorded0 < DRVTEST_OBSERVER_MAX_IMAGES);
    assert_int_equal(st.ImagesRecorded, recorded0 + 1);
    const DRVTEST_OBSERVER_IMAGE *im = &st.Images[recorded0];
    static const WCHAR expected[] = L"\\SystemRoot\\System32\\Drivers\\DrvEcho.sys";
    assert_int_equal(im->NameChars, RTL_NUMBER_OF(expected) - 1);
    assert_memory_equal(im->Name, expected, sizeof(expected) - sizeof(WCHAR));
    assert_int_equal(im->ProcessId, 0);
    assert_int_equal(im->SystemModeImage, 1);
    assert_int_equal(im->ImageBase, (ULONG64)(ULONG_PTR)echo->DriverStart);
    assert_int_equal(im->ImageSize, echo->DriverSize);
    drv_unload(echo);
    drv_service_delete(key);

    /* Thread notify: exactly one create and one exit for the driver's thread,
     * create first, both with the ids PsCreateSystemThread returned. */
    DRVTEST_OBSERVER_THREAD t;
    ULONG_PTR info;
    ULONG before = observer_stats(f).ThreadRecorded;
    assert_int_equal(drv_ioctl(f, IOCTL_OBSERVER_THREAD, NULL, 0, &t, sizeof(t), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(t));
    assert_int_equal(t.WaitStatus, STATUS_SUCCESS);
    assert_int_equal(t.SeenThreadId, t.ThreadId);
    assert_int_equal(t.SeenProcessId, t.ProcessId);
    assert_int_equal(t.ProcessId, (ULONG64)(ULONG_PTR)PsGetProcessId(PsInitialSystemProcess));
    assert_int_not_equal(t.ThreadId, t.CallerThreadId);
    st = observer_stats(f);
    assert_true(st.ThreadRecorded < DRVTEST_OBSERVER_MAX_THREADS);
    LONG created = -1, exited = -1;
    for (ULONG i = before; i < st.ThreadRecorded; i++) {
        if (st.Threads[i].ThreadId != t.ThreadId)
            continue;
        assert_int_equal(st.Threads[i].ProcessId, t.ProcessId);
        if (st.Threads[i].Create) {
            assert_int_equal(created, -1);
            created = (LONG)i;
        } else {
            assert_int_equal(exited, -1);
            exited = (LONG)i;
        }
    }
    assert_true(created >= 0);
    assert_true(exited > created);
    assert_int_equal(st.NotifyIrqlErrors, 0);
    /* Ob thread callback: the second handle lost what the pre routine stripped. */
    assert_int_equal(t.ReopenStatus, STATUS_SUCCESS);
    assert_int_equal(t.ThreadPreOps, 1);
    assert_int_equal(t.ThreadPostOps, 1);
    assert_int_equal(t.ReopenGranted, THREAD_ALL_ACCESS & ~DRVTEST_OBSERVER_THREAD_STRIP);
    assert_int_equal(t.ThreadPostGranted, THREAD_ALL_ACCESS & ~DRVTEST_OBSERVER_THREAD_STRIP);

    /* Ob process callback: ZwOpenProcess(PROCESS_ALL_ACCESS) on the System process by id. */
    ULONG64 pid = (ULONG64)(ULONG_PTR)PsGetProcessId(PsInitialSystemProcess);
    DRVTEST_OBSERVER_OPEN o;
    assert_int_equal(drv_ioctl(f, IOCTL_OBSERVER_OPEN_PROCESS, &pid, sizeof(pid), &o, sizeof(o), &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, sizeof(o));
    assert_int_equal(o.OpenStatus, STATUS_SUCCESS);
    assert_int_equal(o.PreOps, 1);
    assert_int_equal(o.PostOps, 1);
    assert_int_equal(o.PreOriginal, PROCESS_ALL_ACCESS);
    assert_int_equal(o.PreKernelHandle, 1);
    assert_int_equal(o.PostStatus, STATUS_SUCCESS);
    assert_int_equal(o.PostGranted, PROCESS_ALL_ACCESS & ~DRVTEST_OBSERVER_PROCESS_STRIP);
    assert_int_equal(o.Granted, PROCESS_ALL_ACCESS & ~DRVTEST_OBSERVER_PROCESS_STRIP);
    assert_int_equal(o.ReferenceStatus, STATUS_SUCCESS);
    assert_int_equal(o.ReferencedId, pid);
    /* An id no process has. */
    ULONG64 bogus = 0x7FFFFFF0;
    assert_int_equal(drv_ioctl(f, IOCTL_OBSERVER_OPEN_PROCESS, &bogus, sizeof(bogus), &o, sizeof(o), NULL),
                     STATUS_INVALID_PARAMETER);

    /* Callback objects: its own (with the context it registered) and a standard one. */
    ULONG standard0 = observer_stats(f).StandardCallbacks;
    assert_int_equal(observer_notify(DRVTEST_OBSERVER_CALLBACK, (PVOID)0x11, (PVOID)0x22), STATUS_SUCCESS);
    assert_int_equal(observer_notify(DRVTEST_OBSERVER_STANDARD_CALLBACK, NULL, NULL), STATUS_SUCCESS);
    st = observer_stats(f);
    assert_int_equal(st.OwnCallbacks, 1);
    assert_int_equal(st.OwnArgument1, 0x11);
    assert_int_equal(st.OwnArgument2, 0x22);
    assert_int_equal(st.OwnContext, DRVTEST_OBSERVER_OWN_CONTEXT);
    assert_int_equal(st.StandardCallbacks, standard0 + 1);
    /* No process was created or ended. */
    assert_int_equal(st.ProcessCreates, 0);
    assert_int_equal(st.ProcessExits, 0);

    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(obs);
    drv_service_delete(okey);

    /* Everything it registered is gone: its callback object (temporary, named),
     * its altitude, and the standard callback, thread and image routines no
     * longer call into the unloaded image. */
    assert_int_equal(observer_notify(DRVTEST_OBSERVER_CALLBACK, NULL, NULL), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(observer_notify(DRVTEST_OBSERVER_STANDARD_CALLBACK, NULL, NULL), STATUS_SUCCESS);
    OB_OPERATION_REGISTRATION op = {&PsProcessType, OB_OPERATION_HANDLE_CREATE, observer_probe_pre, NULL};
    OB_CALLBACK_REGISTRATION reg = {OB_FLT_REGISTRATION_VERSION, 1, {0, 0, NULL}, NULL, &op};
    PVOID handle = NULL;
    drv_us(&reg.Altitude, DRVTEST_OBSERVER_ALTITUDE);
    assert_int_equal(ObRegisterCallbacks(&reg, &handle), STATUS_SUCCESS);
    ObUnRegisterCallbacks(handle);
    key = drv_service_create(L"DrvEcho", L"\\SystemRoot\\System32\\drivers\\ntdrv_echo.sys", 3, L"o");
    echo = drv_load(L"DrvEcho", "ntdrv_echo.sys");
    drv_unload(echo);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

/* ---- ntdrv_seh --------------------------------------------------------------------------------- */

static DRVTEST_SEH_RESULT seh_ioctl(HANDLE File, ULONG Code, PVOID In, ULONG InLength)
{
    DRVTEST_SEH_RESULT r;
    ULONG_PTR info;
    RtlZeroMemory(&r, sizeof(r));
    assert_int_equal(drv_ioctl(File, Code, In, InLength, &r, sizeof(r), &info), STATUS_SUCCESS);
    assert_int_equal(info, sizeof(r));
    return r;
}

static DRVTEST_SEH_RESULT seh_probe(HANDLE File, ULONG64 Address, ULONG Length, ULONG Alignment)
{
    DRVTEST_SEH_PROBE p = {Address, Length, Alignment};
    return seh_ioctl(File, IOCTL_SEH_PROBE, &p, sizeof(p));
}

static void seh_caught(const DRVTEST_SEH_RESULT *r, NTSTATUS Code)
{
    assert_int_equal(r->Status, (ULONG)Code);
    assert_int_equal(r->FilterCalls, 1);
    assert_int_equal(r->FilterCode, (ULONG)Code);
    assert_int_equal(r->BodyCompleted, 0);
}

static void seh_driver_catches_faults_probes_and_raises(void **state)
{
    (void)state;
#if defined(NTOS_HOST) && !defined(NTOS_KTEST)
    /* CMocka installs its own fault handlers around each test: the driver's
     * null read must reach the kernel's dispatcher instead. */
    host_claim_fault_signals();
#endif
    DRV_MARK m = drv_mark();
    HANDLE key = drv_service_create(L"DrvSeh", L"\\SystemRoot\\System32\\drivers\\ntdrv_seh.sys", 0, L"");
    PDRIVER_OBJECT drv = drv_load(L"DrvSeh", "ntdrv_seh.sys");
    HANDLE f = drv_open(DRVTEST_SEH_DEVICE);

    /* ProbeForRead raises inside __try1: a system-space address, a misaligned one;
     * an aligned user-range buffer and a zero length raise nothing. */
    DRVTEST_SEH_RESULT r = seh_probe(f, 0xFFFFF80000000000ULL, 16, 4);
    seh_caught(&r, STATUS_ACCESS_VIOLATION);
    r = seh_probe(f, 0x10001, 8, 4);
    seh_caught(&r, STATUS_DATATYPE_MISALIGNMENT);
    r = seh_probe(f, 0x10000, 16, 4);
    assert_int_equal(r.Status, (ULONG)STATUS_SUCCESS);
    assert_int_equal(r.FilterCalls, 0);
    assert_int_equal(r.BodyCompleted, 1);
    r = seh_probe(f, 0xFFFFF80000000000ULL, 0, 4);
    assert_int_equal(r.FilterCalls, 0);
    assert_int_equal(r.BodyCompleted, 1);

    /* A processor fault in a routine called from the guarded scope: the kernel
     * unwinds through the faulting frame (its .pdata) to the __except1 target. */
    r = seh_ioctl(f, IOCTL_SEH_NULL_READ, NULL, 0);
    seh_caught(&r, STATUS_ACCESS_VIOLATION);
    assert_int_equal(r.FaultAddress, 0);

    /* ExRaiseStatus two frames down, inside a scope with a termination handler:
     * the filter takes it, the unwind runs the handler (abnormal), then the end. */
    NTSTATUS code = (NTSTATUS)0xE0001234;
    r = seh_ioctl(f, IOCTL_SEH_RAISE, &code, sizeof(code));
    seh_caught(&r, code);
    assert_int_equal(r.FinallyCalls, 1);
    assert_int_equal(r.FinallyAbnormal, 1);
    code = STATUS_INSUFFICIENT_RESOURCES;
    r = seh_ioctl(f, IOCTL_SEH_RAISE, &code, sizeof(code));
    seh_caught(&r, STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(r.FinallyCalls, 1);
    /* Left normally: the termination handler once, not abnormal, no filter. */
    r = seh_ioctl(f, IOCTL_SEH_NORMAL, NULL, 0);
    assert_int_equal(r.Status, STATUS_SUCCESS);
    assert_int_equal(r.FilterCalls, 0);
    assert_int_equal(r.BodyCompleted, 1);
    assert_int_equal(r.FinallyCalls, 1);
    assert_int_equal(r.FinallyAbnormal, 0);
    /* And the thread is fine afterwards: IRQL, a plain request. */
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    r = seh_ioctl(f, IOCTL_SEH_NULL_READ, NULL, 0);
    seh_caught(&r, STATUS_ACCESS_VIOLATION);

    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    drv_unload(drv);
    drv_service_delete(key);
    drv_check_leaks(&m);
}

/* ---- ntdrv_missing ----------------------------------------------------------------------------- */

static char missing_text[2048];
static volatile LONG missing_length;

static VOID missing_hook(PCSTR Text, ULONG Length)
{
    LONG at = __atomic_fetch_add(&missing_length, (LONG)Length, __ATOMIC_SEQ_CST);
    for (ULONG i = 0; i < Length && at + (LONG)i < (LONG)sizeof(missing_text) - 1; i++)
        missing_text[at + i] = Text[i];
}

static BOOLEAN missing_says(const char *Word)
{
    for (LONG i = 0; missing_text[i] != 0; i++) {
        LONG k = 0;
        while (Word[k] != 0 && missing_text[i + k] == Word[k])
            k++;
        if (Word[k] == 0)
            return TRUE;
    }
    return FALSE;
}

static void missing_import_is_refused(void **state)
{
    (void)state;
    DRV_MARK m = drv_mark();
    ARCH_BOOT_MODULE image = drv_image("ntdrv_missing.sys");
    UNICODE_STRING name;
    PDRIVER_OBJECT driver = NULL;
    drv_us(&name, L"DrvMissing");
    RtlZeroMemory(missing_text, sizeof(missing_text));
    missing_length = 0;
    PKD_PRINT_HOOK previous = KdpSetPrintHook(missing_hook);
    NTSTATUS status = IoLoadDriverImage(&name, image.Data, image.Size, &driver);
    KdpSetPrintHook(previous);
    print_message("loader said: %s", missing_text);
    assert_int_equal(status, STATUS_PROCEDURE_NOT_FOUND);
    assert_null(driver);
    assert_true(missing_says(DRVTEST_MISSING_IMPORT));
    assert_false(missing_says("DriverEntry ran"));
    assert_int_equal(drv_driver_object_status(L"\\Driver\\DrvMissing"), STATUS_OBJECT_NAME_NOT_FOUND);
    drv_check_leaks(&m);
}

static const struct CMUnitTest driver_tests[] = {
    cmocka_unit_test(echo_loads_reads_registry_and_unloads_clean),
    cmocka_unit_test(echo_ioctl_methods),
    cmocka_unit_test(echo_inline_irql_and_time),
    cmocka_unit_test(echo_concurrent_writers),
    cmocka_unit_test(echo_zw_load_and_unload),
    cmocka_unit_test(timer_pending_dpc_cancel_thread_workitem),
    cmocka_unit_test(filter_attaches_counts_and_detaches),
    cmocka_unit_test(observer_sees_threads_images_handles_and_callbacks),
    cmocka_unit_test(seh_driver_catches_faults_probes_and_raises),
    cmocka_unit_test(missing_import_is_refused),
};

NTOS_TEST_GROUP(drivers, driver_tests, NULL, NULL);
