/*
 * \Device\Loopback and \Device\LoopbackFilter, driven only through the Zw
 * file services: a pending read completed by a later write from another
 * thread (FIFO among several readers), timer-DPC completion waking a
 * synchronous caller and signalling an asynchronous handle's event,
 * cancellation of queued reads and delayed requests (ZwCancelIoFile and
 * cleanup on close), the race between the DPC and cancellation, the four
 * IOCTL transfer methods with exact Information counts, the filter's
 * counters, and that nothing (IRPs, buffers, delay blocks, handles) leaks.
 */
#include "io_obj_test.h"
#include <ntos/ex_objects.h>
#include <ntos/ps.h>
#include <ntos/loopback.h>

#define LOOPBACK_TAG 0x6b62704c /* "Lpbk", loopback.c's delay blocks */
#define LB_TEST_TAG 0x74736554  /* "Test" */

static const ULONG extra_tags[] = {LOOPBACK_TAG, IOP_IRP_TAG, IOP_BUFFER_TAG};

typedef struct {
    IOT_LEAK_MARK Io;
    LONG64 Live[RTL_NUMBER_OF(extra_tags)];
} LB_MARK;

static LB_MARK lb_mark(void)
{
    LB_MARK m;
    m.Io = iot_mark();
    for (ULONG i = 0; i < RTL_NUMBER_OF(extra_tags); i++)
        m.Live[i] = iot_pool_live(extra_tags[i]);
    return m;
}

static void lb_check_leaks(const LB_MARK *m)
{
    iot_check_leaks(&m->Io);
    for (ULONG i = 0; i < RTL_NUMBER_OF(extra_tags); i++)
        WAIT_UNTIL(iot_pool_live(extra_tags[i]) == m->Live[i]);
}

static HANDLE lb_open(PCWSTR Name, ACCESS_MASK Access, BOOLEAN Sync)
{
    HANDLE f;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(Name, Access | (Sync ? SYNCHRONIZE : 0), FILE_SHARE_VALID_FLAGS,
                              Sync ? FILE_SYNCHRONOUS_IO_NONALERT : 0, &f, &iosb),
                     STATUS_SUCCESS);
    return f;
}

static LOOPBACK_STATE lb_state(HANDLE File)
{
    LOOPBACK_STATE st;
    IO_STATUS_BLOCK iosb;
    HANDLE ev;
    assert_int_equal(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    NTSTATUS s = ZwDeviceIoControlFile(File, ev, NULL, NULL, &iosb, IOCTL_LOOPBACK_QUERY, NULL, 0, &st, sizeof(st));
    if (s == STATUS_PENDING)
        assert_int_equal(ZwWaitForSingleObject(ev, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, sizeof(st));
    assert_int_equal(ZwClose(ev), STATUS_SUCCESS);
    return st;
}

/* Runs Fn(Context) in an executive thread (ZwCancelIoFile cancels the
 * calling thread's requests; only those threads keep a list). Fn records,
 * the caller asserts. */
static void lb_run_in_system_thread(PKSTART_ROUTINE Fn, PVOID Context)
{
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, Fn, Context), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(t, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
}

/* ---- reads and writes --------------------------------------------------------------------------- */

typedef struct {
    HANDLE File;
    NTSTATUS Status;
    IO_STATUS_BLOCK Iosb;
    UCHAR Data[16];
} SYNC_READ;

static VOID NTAPI sync_reader(PVOID Context)
{
    SYNC_READ *r = Context;
    r->Status = ZwReadFile(r->File, NULL, NULL, NULL, &r->Iosb, r->Data, sizeof(r->Data), NULL, NULL);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void pending_read_completed_by_later_write(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    static SYNC_READ r;
    RtlZeroMemory(&r, sizeof(r));
    r.File = lb_open(L"\\Device\\Loopback", FILE_READ_DATA, TRUE);
    HANDLE w = lb_open(L"\\Device\\Loopback", FILE_WRITE_DATA, TRUE);
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, sync_reader, &r), STATUS_SUCCESS);
    /* The reader is blocked in its synchronous read until data arrives. */
    WAIT_UNTIL(lb_state(w).PendingReads == 1);
    assert_int_equal(ZwWaitForSingleObject(t, FALSE, &(LARGE_INTEGER){.QuadPart = -10 * 10000}), STATUS_TIMEOUT);
    IO_STATUS_BLOCK iosb;
    assert_int_equal(ZwWriteFile(w, NULL, NULL, NULL, &iosb, "hello", 5, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_int_equal(ZwWaitForSingleObject(t, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
    assert_int_equal(r.Status, STATUS_SUCCESS);
    assert_int_equal(r.Iosb.Status, STATUS_SUCCESS);
    assert_int_equal(r.Iosb.Information, 5);
    assert_memory_equal(r.Data, "hello", 5);
    LOOPBACK_STATE st = lb_state(w);
    assert_int_equal(st.PendingReads, 0);
    assert_int_equal(st.BufferedBytes, 0);

    /* Bytes written with no reader wait in the buffer; a read takes what is there. */
    assert_int_equal(ZwWriteFile(w, NULL, NULL, NULL, &iosb, "xyz", 3, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(lb_state(w).BufferedBytes, 3);
    UCHAR buf[10];
    assert_int_equal(ZwReadFile(r.File, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 3);
    assert_memory_equal(buf, "xyz", 3);
    /* A zero-length read completes at once. */
    assert_int_equal(ZwReadFile(r.File, NULL, NULL, NULL, &iosb, buf, 0, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 0);
    assert_int_equal(ZwClose(r.File), STATUS_SUCCESS);
    assert_int_equal(ZwClose(w), STATUS_SUCCESS);
    lb_check_leaks(&m);
}

static void async_reads_are_served_fifo(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    HANDLE f = lb_open(L"\\Device\\Loopback", FILE_READ_DATA | FILE_WRITE_DATA, FALSE);
    HANDLE ev[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(ZwCreateEvent(&ev[i], EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    IO_STATUS_BLOCK a = {.Status = -1}, b = {.Status = -1}, wi;
    UCHAR ba[3], bb[10];
    LARGE_INTEGER zero = {0};
    assert_int_equal(ZwReadFile(f, ev[0], NULL, NULL, &a, ba, sizeof(ba), &zero, NULL), STATUS_PENDING);
    assert_int_equal(ZwReadFile(f, ev[1], NULL, NULL, &b, bb, sizeof(bb), &zero, NULL), STATUS_PENDING);
    assert_int_equal(lb_state(f).PendingReads, 2);
    assert_int_equal(a.Status, -1);
    NTSTATUS s = ZwWriteFile(f, NULL, NULL, NULL, &wi, "abcdefgh", 8, &zero, NULL);
    assert_int_equal(s, STATUS_SUCCESS);
    assert_int_equal(wi.Information, 8);
    assert_int_equal(ZwWaitForSingleObject(ev[0], FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(ev[1], FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(a.Status, STATUS_SUCCESS);
    assert_int_equal(a.Information, 3);
    assert_memory_equal(ba, "abc", 3);
    assert_int_equal(b.Status, STATUS_SUCCESS);
    assert_int_equal(b.Information, 5);
    assert_memory_equal(bb, "defgh", 5);
    /* The buffer is bounded: a write takes what fits. */
    static UCHAR big[LOOPBACK_BUFFER_SIZE + 100];
    assert_int_equal(ZwWriteFile(f, ev[0], NULL, NULL, &wi, big, sizeof(big), &zero, NULL), STATUS_SUCCESS);
    assert_int_equal(wi.Information, LOOPBACK_BUFFER_SIZE);
    assert_int_equal(ZwWriteFile(f, ev[0], NULL, NULL, &wi, big, 1, &zero, NULL), STATUS_SUCCESS);
    assert_int_equal(wi.Information, 0);
    assert_int_equal(ZwReadFile(f, ev[0], NULL, NULL, &wi, big, sizeof(big), &zero, NULL), STATUS_PENDING);
    assert_int_equal(ZwWaitForSingleObject(ev[0], FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(wi.Information, LOOPBACK_BUFFER_SIZE);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ZwClose(ev[i]), STATUS_SUCCESS);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    lb_check_leaks(&m);
}

/* ---- delayed completion from a timer DPC --------------------------------------------------------------- */

static void delay_completes_from_timer_dpc(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    HANDLE f = lb_open(L"\\Device\\Loopback", 0, TRUE);
    IO_STATUS_BLOCK iosb = {.Status = -1};
    ULONG ms = 30;
    ULONG64 t0 = KeQueryInterruptTime();
    /* Synchronous: the caller sleeps until the DPC completes the request. */
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_DELAY, &ms, sizeof(ms), NULL, 0),
                     STATUS_SUCCESS);
    assert_true(KeQueryInterruptTime() - t0 >= 25 * 10000ULL);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 0);
    /* Bad delays fail at once. */
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_DELAY, &ms, 2, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    ULONG too_long = LOOPBACK_MAX_DELAY_MS + 1;
    assert_int_equal(
        ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_DELAY, &too_long, sizeof(too_long), NULL, 0),
        STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);

    /* Asynchronous with an event. */
    HANDLE a = lb_open(L"\\Device\\Loopback", 0, FALSE);
    HANDLE ev;
    assert_int_equal(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    iosb.Status = -1;
    ms = 20;
    assert_int_equal(ZwDeviceIoControlFile(a, ev, NULL, NULL, &iosb, IOCTL_LOOPBACK_DELAY, &ms, sizeof(ms), NULL, 0),
                     STATUS_PENDING);
    assert_int_equal(ZwWaitForSingleObject(ev, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(lb_state(a).PendingDelays, 0);
    assert_int_equal(ZwClose(ev), STATUS_SUCCESS);
    assert_int_equal(ZwClose(a), STATUS_SUCCESS);
    lb_check_leaks(&m);
}

/* ---- cancellation ------------------------------------------------------------------------------------ */

typedef struct {
    HANDLE File;
    NTSTATUS Read, Delay, Cancel, ReadFinal, DelayFinal, ClosedRead, Close;
    ULONG64 DelayElapsed;
    ULONG PendingAfter;
    /* race */
    ULONG Rounds, Succeeded, Cancelled, Other;
} CANCEL_RUN;

static void wait_iosb(IO_STATUS_BLOCK *Iosb)
{
    for (int i = 0; i < 20000 && __atomic_load_n(&Iosb->Status, __ATOMIC_SEQ_CST) == -1; i++)
        kt_sleep_ms(1);
}

static VOID NTAPI cancel_thread(PVOID Context)
{
    CANCEL_RUN *r = Context;
    UCHAR buf[8];
    IO_STATUS_BLOCK ri = {.Status = -1}, di = {.Status = -1}, ci, ki = {.Status = -1};
    LARGE_INTEGER zero = {0};
    ULONG ms = LOOPBACK_MAX_DELAY_MS;
    r->Read = ZwReadFile(r->File, NULL, NULL, NULL, &ri, buf, sizeof(buf), &zero, NULL);
    ULONG64 t0 = KeQueryInterruptTime();
    r->Delay = ZwDeviceIoControlFile(r->File, NULL, NULL, NULL, &di, IOCTL_LOOPBACK_DELAY, &ms, sizeof(ms), NULL, 0);
    r->Cancel = ZwCancelIoFile(r->File, &ci);
    wait_iosb(&ri);
    wait_iosb(&di);
    r->DelayElapsed = KeQueryInterruptTime() - t0;
    r->ReadFinal = ri.Status;
    r->DelayFinal = di.Status;

    /* Closing the last handle cancels what is still queued (cleanup). */
    HANDLE other;
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\Loopback");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
    if (NT_SUCCESS(ZwCreateFile(&other, FILE_READ_DATA, &oa, &ci, NULL, 0, FILE_SHARE_VALID_FLAGS, FILE_OPEN, 0, NULL,
                                0))) {
        if (ZwReadFile(other, NULL, NULL, NULL, &ki, buf, sizeof(buf), &zero, NULL) == STATUS_PENDING) {
            r->Close = ZwClose(other);
            wait_iosb(&ki);
            r->ClosedRead = ki.Status;
        }
    }

    /* The DPC and cancellation race; each request completes exactly once. */
    for (ULONG i = 0; i < r->Rounds; i++) {
        IO_STATUS_BLOCK x = {.Status = -1};
        ULONG d = i % 3;
        NTSTATUS s =
            ZwDeviceIoControlFile(r->File, NULL, NULL, NULL, &x, IOCTL_LOOPBACK_DELAY, &d, sizeof(d), NULL, 0);
        if (s == STATUS_PENDING && (i & 1))
            ZwCancelIoFile(r->File, &ci);
        wait_iosb(&x);
        if (x.Status == STATUS_SUCCESS)
            r->Succeeded++;
        else if (x.Status == STATUS_CANCELLED)
            r->Cancelled++;
        else
            r->Other++;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void cancel_queued_and_delayed_requests(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    static CANCEL_RUN r;
    RtlZeroMemory(&r, sizeof(r));
    r.Rounds = 200;
    r.File = lb_open(L"\\Device\\Loopback", FILE_READ_DATA, FALSE);
    lb_run_in_system_thread(cancel_thread, &r);
    assert_int_equal(r.Read, STATUS_PENDING);
    assert_int_equal(r.Delay, STATUS_PENDING);
    assert_int_equal(r.Cancel, STATUS_SUCCESS);
    assert_int_equal(r.ReadFinal, STATUS_CANCELLED);
    assert_int_equal(r.DelayFinal, STATUS_CANCELLED);
    /* Cancelled long before the 60 s timer. */
    assert_true(r.DelayElapsed < 10ULL * 1000 * 10000);
    assert_int_equal(r.Close, STATUS_SUCCESS);
    assert_int_equal(r.ClosedRead, STATUS_CANCELLED);
    assert_int_equal(r.Other, 0);
    assert_int_equal(r.Succeeded + r.Cancelled, r.Rounds);
    assert_true(r.Succeeded > 0); /* the even rounds are never cancelled */
    LOOPBACK_STATE st = lb_state(r.File);
    assert_int_equal(st.PendingReads, 0);
    assert_int_equal(st.PendingDelays, 0);
    assert_int_equal(ZwClose(r.File), STATUS_SUCCESS);
    lb_check_leaks(&m);
}

/* ---- IOCTL transfer methods --------------------------------------------------------------------------- */

static void ioctl_methods_transform_data(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    HANDLE f = lb_open(L"\\Device\\Loopback", FILE_READ_DATA | FILE_WRITE_DATA, TRUE);
    IO_STATUS_BLOCK iosb;
    /* Direct buffers are described by MDLs, which take system memory only:
     * pool, not the host stack or the image. */
    PUCHAR out = ExAllocatePoolWithTag(NonPagedPoolNx, 32, LB_TEST_TAG);
    PUCHAR data = ExAllocatePoolWithTag(NonPagedPoolNx, 9, LB_TEST_TAG);
    assert_non_null(out);
    assert_non_null(data);

    /* METHOD_BUFFERED: exactly Information bytes come back. */
    RtlFillMemory(out, 32, '#');
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_UPPER_BUFFERED, "Hello, io!", 10,
                                           out, 32),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 10);
    assert_memory_equal(out, "HELLO, IO!", 10);
    assert_int_equal(out[10], '#');
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_UPPER_BUFFERED, "abcdef", 6, out,
                                           5),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_UPPER_BUFFERED, NULL, 0, NULL, 0),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 0);

    /* METHOD_IN_DIRECT: the device reads the second buffer through its MDL. */
    RtlCopyMemory(data, "a.b.c..d", 9);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_COUNT_IN_DIRECT, ".", 1,
                                           data, 8),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 4);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_COUNT_IN_DIRECT, NULL, 0,
                                           data, 8),
                     STATUS_INVALID_PARAMETER);

    /* METHOD_OUT_DIRECT: the device writes the second buffer. */
    RtlFillMemory(out, 32, '#');
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_REVERSE_OUT_DIRECT, "12345", 5,
                                           out, 32),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_memory_equal(out, "54321", 5);
    assert_int_equal(out[5], '#');
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_REVERSE_OUT_DIRECT, "12345", 5,
                                           out, 4),
                     STATUS_BUFFER_TOO_SMALL);

    /* METHOD_NEITHER: the caller's own buffers. */
    RtlFillMemory(out, 32, '#');
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_UPPER_NEITHER, "neither", 7, out,
                                           32),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 7);
    assert_memory_equal(out, "NEITHER#", 8);

    /* Unknown codes are invalid requests. */
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb,
                                           CTL_CODE(FILE_DEVICE_UNKNOWN, 0x8ff, METHOD_BUFFERED, FILE_ANY_ACCESS), NULL,
                                           0, NULL, 0),
                     STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);

    /* The access bits in the codes are checked against the handle. */
    HANDLE ro = lb_open(L"\\Device\\Loopback", FILE_READ_DATA, TRUE);
    assert_int_equal(ZwDeviceIoControlFile(ro, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_COUNT_IN_DIRECT, ".", 1,
                                           data, 8),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(ZwDeviceIoControlFile(ro, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_REVERSE_OUT_DIRECT, "12", 2, out,
                                           2),
                     STATUS_SUCCESS);
    assert_int_equal(ZwClose(ro), STATUS_SUCCESS);
    HANDLE wo = lb_open(L"\\Device\\Loopback", FILE_WRITE_DATA, TRUE);
    assert_int_equal(ZwDeviceIoControlFile(wo, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_REVERSE_OUT_DIRECT, "12", 2, out,
                                           2),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(ZwClose(wo), STATUS_SUCCESS);
    ExFreePoolWithTag(out, LB_TEST_TAG);
    ExFreePoolWithTag(data, LB_TEST_TAG);
    lb_check_leaks(&m);
}

/* ---- the filter ------------------------------------------------------------------------------------------ */

static LOOPBACK_FILTER_STATS filter_stats(HANDLE File)
{
    LOOPBACK_FILTER_STATS st;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        ZwDeviceIoControlFile(File, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_FILTER_STATS, NULL, 0, &st, sizeof(st)),
        STATUS_SUCCESS);
    assert_int_equal(iosb.Information, sizeof(st));
    return st;
}

static void filter_counts_what_it_passes_down(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    HANDLE f = lb_open(L"\\Device\\LoopbackFilter", FILE_READ_DATA | FILE_WRITE_DATA, TRUE);
    LOOPBACK_FILTER_STATS s0 = filter_stats(f);
    IO_STATUS_BLOCK iosb;
    UCHAR buf[4];
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, "ab", 2, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 2);
    assert_memory_equal(buf, "ab", 2);
    ULONG ms = 5;
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_DELAY, &ms, sizeof(ms), NULL, 0),
                     STATUS_SUCCESS);
    /* Opening the lower device's name reaches the top of its stack: the filter. */
    HANDLE g = lb_open(L"\\Device\\Loopback", FILE_READ_DATA, TRUE);
    LOOPBACK_FILTER_STATS s1 = filter_stats(f);
    assert_int_equal(s1.PassedByMajor[IRP_MJ_WRITE] - s0.PassedByMajor[IRP_MJ_WRITE], 1);
    assert_int_equal(s1.PassedByMajor[IRP_MJ_READ] - s0.PassedByMajor[IRP_MJ_READ], 1);
    /* The statistics request itself is answered by the filter, not passed down. */
    assert_int_equal(s1.PassedByMajor[IRP_MJ_DEVICE_CONTROL] - s0.PassedByMajor[IRP_MJ_DEVICE_CONTROL], 1);
    assert_int_equal(s1.PassedByMajor[IRP_MJ_CREATE] - s0.PassedByMajor[IRP_MJ_CREATE], 1);
    assert_int_equal(s1.Passed - s0.Passed, 4);
    /* Every request passed down came back through the completion routine,
     * the pending one from the DPC included. */
    assert_int_equal(s1.Passed - s1.Completed, s0.Passed - s0.Completed);
    assert_int_equal(ZwClose(g), STATUS_SUCCESS);
    LOOPBACK_FILTER_STATS s2 = filter_stats(f);
    assert_int_equal(s2.PassedByMajor[IRP_MJ_CLEANUP] - s1.PassedByMajor[IRP_MJ_CLEANUP], 1);
    assert_int_equal(s2.PassedByMajor[IRP_MJ_CLOSE] - s1.PassedByMajor[IRP_MJ_CLOSE], 1);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    lb_check_leaks(&m);
}

/* ---- unload ------------------------------------------------------------------------------------------------ */

static PDRIVER_OBJECT driver_named(PCWSTR Name)
{
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, Name);
    PDRIVER_OBJECT d = NULL;
    assert_int_equal(
        ObReferenceObjectByName(&us, OBJ_CASE_INSENSITIVE, NULL, 0, IoDriverObjectType, KernelMode, NULL, (PVOID *)&d),
        STATUS_SUCCESS);
    return d;
}

/* The built-in drivers have no DriverUnload: an unload is refused whatever is
 * outstanding, and a request pending across the attempt is unaffected. */
static void unload_is_refused(void **state)
{
    (void)state;
    LB_MARK m = lb_mark();
    HANDLE f = lb_open(L"\\Device\\Loopback", FILE_READ_DATA | FILE_WRITE_DATA, FALSE);
    HANDLE ev;
    assert_int_equal(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    IO_STATUS_BLOCK ri = {.Status = -1}, wi;
    UCHAR buf[4];
    LARGE_INTEGER zero = {0};
    assert_int_equal(ZwReadFile(f, ev, NULL, NULL, &ri, buf, sizeof(buf), &zero, NULL), STATUS_PENDING);
    PDRIVER_OBJECT lb = driver_named(L"\\Driver\\Loopback"), filter = driver_named(L"\\Driver\\LoopbackFilter");
    assert_null(lb->DriverUnload);
    assert_int_equal(IopUnloadDriver(lb), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(IopUnloadDriver(filter), STATUS_INVALID_DEVICE_REQUEST);
    assert_false(IopDeviceExtension(lb->DeviceObject)->ExtensionFlags & DOE_UNLOAD_PENDING);
    ObDereferenceObject(lb);
    ObDereferenceObject(filter);
    /* Still usable: new opens work and the pending read completes normally. */
    HANDLE g = lb_open(L"\\Device\\Loopback", FILE_WRITE_DATA, TRUE);
    assert_int_equal(ZwWriteFile(g, NULL, NULL, NULL, &wi, "ok", 2, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(ev, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ri.Status, STATUS_SUCCESS);
    assert_int_equal(ri.Information, 2);
    assert_int_equal(ZwClose(g), STATUS_SUCCESS);
    assert_int_equal(ZwClose(ev), STATUS_SUCCESS);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    lb_check_leaks(&m);
}

static const struct CMUnitTest io_loopback_tests[] = {
    cmocka_unit_test(pending_read_completed_by_later_write),
    cmocka_unit_test(async_reads_are_served_fifo),
    cmocka_unit_test(delay_completes_from_timer_dpc),
    cmocka_unit_test(cancel_queued_and_delayed_requests),
    cmocka_unit_test(ioctl_methods_transform_data),
    cmocka_unit_test(filter_counts_what_it_passes_down),
    cmocka_unit_test(unload_is_refused),
};

NTOS_TEST_GROUP(io_loopback, io_loopback_tests, NULL, NULL);
