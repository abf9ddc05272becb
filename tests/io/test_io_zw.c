/*
 * The Zw file services against the recording driver: reads and writes with
 * byte offsets on synchronous handles (file position, FILE_USE_FILE_POINTER_
 * POSITION, FILE_WRITE_TO_END_OF_FILE, pending completion from another
 * thread) and asynchronous ones (offset required, event, APC routine), the
 * three buffer methods for reads and writes, the four IOCTL transfer methods
 * (sizes, copy-back of exactly Information bytes, MDL contents,
 * Type3InputBuffer) and their access bits, FSCTLs, flush, query/set
 * information (what the I/O manager answers itself and what goes to the
 * driver), volume information, cancellation, the default dispatch routine,
 * and \Device\Null.
 */
#include "io_obj_test.h"
#include <ntos/ex_objects.h>

#define IOT_TEST_TAG 0x74736554 /* "Test" */
#define BOGUS_HANDLE_IO ((HANDLE)(ULONG_PTR)0x7ff0)

#define IOCTL_BUF CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_IN CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_IN_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_OUT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x804, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_NEEDS_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0x805, METHOD_BUFFERED, FILE_READ_ACCESS)
#define IOCTL_NEEDS_WRITE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x806, METHOD_BUFFERED, FILE_WRITE_ACCESS)

/* What the handlers saw, beyond the recorder's event. */
static struct {
    PVOID SystemBuffer;
    PVOID UserBuffer;
    PVOID Type3;
    PMDL Mdl;
    ULONG MdlBytes; /* the MDL is gone once the request completes */
    ULONG Flags;
    UCHAR Seen[64];
    ULONG SeenLength;
    ULONG ReplyLength;   /* how many bytes a handler claims to return */
    volatile PIRP Pended;
} h;

static UCHAR pattern(LONGLONG Offset, ULONG i)
{
    return (UCHAR)((Offset + i) * 7 + 1);
}

static PVOID buffer_of(PIRP Irp)
{
    if (Irp->MdlAddress != NULL)
        return MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (Irp->AssociatedIrp.SystemBuffer != NULL)
        return Irp->AssociatedIrp.SystemBuffer;
    return Irp->UserBuffer;
}

static NTSTATUS complete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* Reads return the offset-derived pattern, at most ReplyLength bytes (if set). */
static NTSTATUS read_handler(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp)
{
    (void)DeviceObject;
    h.SystemBuffer = Irp->AssociatedIrp.SystemBuffer;
    h.UserBuffer = Irp->UserBuffer;
    h.Mdl = Irp->MdlAddress;
    h.Flags = Irp->Flags;
    ULONG n = Sp->Parameters.Read.Length;
    if (h.ReplyLength != 0 && h.ReplyLength < n)
        n = h.ReplyLength;
    PUCHAR p = buffer_of(Irp);
    for (ULONG i = 0; i < n; i++)
        p[i] = pattern(Sp->Parameters.Read.ByteOffset.QuadPart, i);
    return complete(Irp, STATUS_SUCCESS, n);
}

static NTSTATUS write_handler(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp)
{
    (void)DeviceObject;
    h.SystemBuffer = Irp->AssociatedIrp.SystemBuffer;
    h.UserBuffer = Irp->UserBuffer;
    h.Mdl = Irp->MdlAddress;
    h.Flags = Irp->Flags;
    ULONG n = Sp->Parameters.Write.Length;
    h.SeenLength = n > sizeof(h.Seen) ? sizeof(h.Seen) : n;
    if (n != 0)
        RtlCopyMemory(h.Seen, buffer_of(Irp), h.SeenLength);
    return complete(Irp, STATUS_SUCCESS, n);
}

static NTSTATUS pend_handler(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp)
{
    (void)DeviceObject;
    (void)Sp;
    IoMarkIrpPending(Irp);
    __atomic_store_n(&h.Pended, Irp, __ATOMIC_SEQ_CST);
    return STATUS_PENDING;
}

/* Waits (bounded) for the handler to pend an IRP and takes it; NULL if none came. */
static PIRP take_pended(void)
{
    for (int i = 0; i < 20000; i++) {
        PIRP irp = __atomic_exchange_n(&h.Pended, NULL, __ATOMIC_SEQ_CST);
        if (irp != NULL)
            return irp;
        kt_sleep_ms(1);
    }
    return NULL;
}

static PDEVICE_OBJECT setup(PCWSTR Driver, PCWSTR Device, ULONG DeviceFlags)
{
    RtlZeroMemory(&h, sizeof(h));
    iot_driver(Driver);
    PDEVICE_OBJECT d = iot_device(Device, 0, FILE_DEVICE_UNKNOWN, DeviceFlags, FALSE);
    iot.Handler[IRP_MJ_READ] = read_handler;
    iot.Handler[IRP_MJ_WRITE] = write_handler;
    return d;
}

static HANDLE open_sync(PCWSTR Name, ACCESS_MASK Access)
{
    HANDLE f;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(Name, Access | SYNCHRONIZE, 0, FILE_SYNCHRONOUS_IO_NONALERT, &f, &iosb),
                     STATUS_SUCCESS);
    return f;
}

static HANDLE open_async(PCWSTR Name, ACCESS_MASK Access)
{
    HANDLE f;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(Name, Access, 0, 0, &f, &iosb), STATUS_SUCCESS);
    return f;
}

/* ---- synchronous reads and writes ------------------------------------------------------------------ */

static void sync_read_write_follow_the_file_position(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    setup(L"IoZwSync", L"\\Device\\IoZwSync", DO_BUFFERED_IO);
    HANDLE f = open_sync(L"\\Device\\IoZwSync", FILE_READ_DATA | FILE_WRITE_DATA);
    PFILE_OBJECT fo = iot_file_of(f);
    UCHAR buf[32];
    IO_STATUS_BLOCK iosb = {.Status = -1};
    /* No offset: from the current position (0), which then advances. */
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 10, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 10);
    for (ULONG i = 0; i < 10; i++)
        assert_int_equal(buf[i], pattern(0, i));
    assert_int_equal(fo->CurrentByteOffset.QuadPart, 10);
    IOT_EVENT *e = &iot.Events[iot_find(IRP_MJ_READ, 0)];
    assert_int_equal(e->Length, 10);
    assert_int_equal(e->ByteOffset.QuadPart, 0);
    assert_int_equal(e->Irql, PASSIVE_LEVEL);
    /* Buffered: a system buffer, copied back; the IRP says it is an input operation. */
    assert_non_null(h.SystemBuffer);
    assert_ptr_not_equal(h.SystemBuffer, buf);
    assert_ptr_equal(h.UserBuffer, buf);
    assert_true(h.Flags & IRP_BUFFERED_IO);
    assert_true(h.Flags & IRP_INPUT_OPERATION);
    assert_true(h.Flags & IRP_READ_OPERATION);
    /* FILE_USE_FILE_POINTER_POSITION is the same as no offset. */
    LARGE_INTEGER cur = {.HighPart = -1, .LowPart = FILE_USE_FILE_POINTER_POSITION};
    h.ReplyLength = 4; /* a short read advances by what was read */
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 10, &cur, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 4);
    assert_int_equal(buf[0], pattern(10, 0));
    assert_int_equal(fo->CurrentByteOffset.QuadPart, 14);
    h.ReplyLength = 0;
    /* An explicit offset moves the position. */
    LARGE_INTEGER at = {.QuadPart = 100};
    ULONG key = 0x55;
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, "hello", 5, &at, &key), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_int_equal(h.SeenLength, 5);
    assert_memory_equal(h.Seen, "hello", 5);
    assert_true(h.Flags & IRP_WRITE_OPERATION);
    assert_false(h.Flags & IRP_INPUT_OPERATION);
    assert_int_equal(fo->CurrentByteOffset.QuadPart, 105);
    e = &iot.Events[iot_find(IRP_MJ_WRITE, 0)];
    assert_int_equal(e->ByteOffset.QuadPart, 100);
    /* Appending: the driver gets -1 and the position is left to it. */
    LARGE_INTEGER end = {.HighPart = -1, .LowPart = FILE_WRITE_TO_END_OF_FILE};
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, "x", 1, &end, NULL), STATUS_SUCCESS);
    assert_int_equal(iot.Events[iot_find(IRP_MJ_WRITE, 1)].ByteOffset.QuadPart, -1);
    assert_int_equal(fo->CurrentByteOffset.QuadPart, 105);
    /* A zero-length write reaches the driver without a buffer. */
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, NULL, 0, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iot.Events[iot_find(IRP_MJ_WRITE, 2)].Length, 0);
    assert_null(h.SystemBuffer);
    /* Bad offsets and buffers. */
    LARGE_INTEGER neg = {.QuadPart = -5};
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 1, &neg, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, NULL, 1, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, NULL, buf, 1, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwReadFile(BOGUS_HANDLE_IO, NULL, NULL, NULL, &iosb, buf, 1, NULL, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void sync_failure_and_access(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    setup(L"IoZwSyncFail", L"\\Device\\IoZwSyncFail", DO_BUFFERED_IO);
    /* A process handle (user callers cannot use kernel handles). */
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\IoZwSyncFail");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
    HANDLE f;
    IO_STATUS_BLOCK oiosb;
    assert_int_equal(ZwCreateFile(&f, FILE_READ_DATA | SYNCHRONIZE, &oa, &oiosb, NULL, 0, 0, FILE_OPEN,
                                  FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0),
                     STATUS_SUCCESS);
    iot.Handler[IRP_MJ_READ] = NULL;
    iot.Status[IRP_MJ_READ] = STATUS_DEVICE_NOT_READY;
    UCHAR buf[8];
    IO_STATUS_BLOCK iosb = {.Status = 12345, .Information = 6789};
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 8, NULL, NULL), STATUS_DEVICE_NOT_READY);
    /* A synchronous failure is reported by the return value only. */
    assert_int_equal(iosb.Status, 12345);
    assert_int_equal(iot_file_of(f)->CurrentByteOffset.QuadPart, 0);
    /* A user caller needs FILE_WRITE_DATA on the handle to write. */
    PKTHREAD t = KeGetCurrentThread();
    KPROCESSOR_MODE old = t->PreviousMode;
    t->PreviousMode = UserMode;
    NTSTATUS s = NtWriteFile(f, NULL, NULL, NULL, &iosb, buf, 8, NULL, NULL);
    t->PreviousMode = old;
    assert_int_equal(s, STATUS_ACCESS_DENIED);
    assert_int_equal(iot_count_major(IRP_MJ_WRITE), 0);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static VOID NTAPI completer(PVOID Context)
{
    (void)Context;
    PIRP irp = take_pended();
    if (irp == NULL)
        return; /* the test thread's read fails its asserts on its own */
    kt_sleep_ms(5);
    PUCHAR p = buffer_of(irp);
    p[0] = 0xAB;
    complete(irp, STATUS_SUCCESS, 1);
}

static void sync_read_waits_for_a_pended_request(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    setup(L"IoZwSyncPend", L"\\Device\\IoZwSyncPend", DO_BUFFERED_IO);
    HANDLE f = open_sync(L"\\Device\\IoZwSyncPend", FILE_READ_DATA);
    iot.Handler[IRP_MJ_READ] = pend_handler;
    static KTHREAD t;
    kt_start(&t, completer, NULL, 8);
    UCHAR buf[4] = {0};
    IO_STATUS_BLOCK iosb = {.Status = -1};
    /* Synchronous: the service returns the final status, not STATUS_PENDING. */
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 4, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 1);
    assert_int_equal(buf[0], 0xAB);
    assert_int_equal(iot_file_of(f)->CurrentByteOffset.QuadPart, 1);
    kt_join(&t);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- asynchronous ----------------------------------------------------------------------------------- */

static volatile LONG apc_calls;
static PVOID apc_context;
static PIO_STATUS_BLOCK apc_iosb;

static VOID NTAPI apc_routine(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved)
{
    (void)Reserved;
    apc_context = ApcContext;
    apc_iosb = IoStatusBlock;
    __atomic_add_fetch(&apc_calls, 1, __ATOMIC_SEQ_CST);
}

static void async_read_with_event_and_apc(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    setup(L"IoZwAsync", L"\\Device\\IoZwAsync", DO_BUFFERED_IO);
    HANDLE f = open_async(L"\\Device\\IoZwAsync", FILE_READ_DATA);
    UCHAR buf[8];
    IO_STATUS_BLOCK iosb = {.Status = -1};
    /* No file position on an asynchronous handle: an offset is required. */
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 8, NULL, NULL), STATUS_INVALID_PARAMETER);
    LARGE_INTEGER cur = {.HighPart = -1, .LowPart = FILE_USE_FILE_POINTER_POSITION};
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 8, &cur, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(iot_count_major(IRP_MJ_READ), 0);

    HANDLE ev;
    assert_int_equal(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, NULL, NotificationEvent, TRUE), STATUS_SUCCESS);
    iot.Handler[IRP_MJ_READ] = pend_handler;
    LARGE_INTEGER at = {.QuadPart = 40};
    apc_calls = 0;
    assert_int_equal(ZwReadFile(f, ev, apc_routine, (PVOID)0x1234, &iosb, buf, 8, &at, NULL), STATUS_PENDING);
    /* The event was reset by the call and stays so until completion. */
    EVENT_BASIC_INFORMATION ei;
    assert_int_equal(ZwQueryEvent(ev, EventBasicInformation, &ei, sizeof(ei), NULL), STATUS_SUCCESS);
    assert_int_equal(ei.EventState, 0);
    assert_int_equal(iosb.Status, -1);
    PIRP irp = take_pended();
    assert_non_null(irp);
    PUCHAR p = buffer_of(irp);
    for (int i = 0; i < 3; i++)
        p[i] = pattern(40, (ULONG)i);
    complete(irp, STATUS_SUCCESS, 3);
    WAIT_UNTIL(__atomic_load_n(&apc_calls, __ATOMIC_SEQ_CST) == 1);
    assert_int_equal(ZwWaitForSingleObject(ev, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 3);
    assert_int_equal(buf[2], pattern(40, 2));
    assert_ptr_equal(apc_context, (PVOID)0x1234);
    assert_ptr_equal(apc_iosb, &iosb);
    /* An asynchronous handle has no position to advance. */
    assert_int_equal(iot_file_of(f)->CurrentByteOffset.QuadPart, 0);

    /* Completed inline: the status block and event are set before the return. */
    iot.Handler[IRP_MJ_READ] = read_handler;
    assert_int_equal(ZwReadFile(f, ev, NULL, NULL, &iosb, buf, 8, &at, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 8);
    assert_int_equal(ZwQueryEvent(ev, EventBasicInformation, &ei, sizeof(ei), NULL), STATUS_SUCCESS);
    assert_int_equal(ei.EventState, 1);
    /* A bad event handle fails before any IRP. */
    assert_int_equal(ZwReadFile(f, f, NULL, NULL, &iosb, buf, 8, &at, NULL), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(ev), STATUS_SUCCESS);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static BOOLEAN cancel_routine_ran;

static VOID NTAPI cancel_routine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    cancel_routine_ran = TRUE;
    complete(Irp, STATUS_CANCELLED, 0);
}

static NTSTATUS cancelable_handler(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp)
{
    (void)DeviceObject;
    (void)Sp;
    IoMarkIrpPending(Irp);
    IoSetCancelRoutine(Irp, cancel_routine);
    return STATUS_PENDING;
}

typedef struct {
    HANDLE File;
    NTSTATUS Read, Cancel, CancelIosb, Final, Again;
    BOOLEAN RoutineRan;
} CANCEL_RUN;

/* Runs in an executive thread (only those keep an IRP list); no asserts. */
static VOID NTAPI cancel_thread(PVOID Context)
{
    CANCEL_RUN *r = Context;
    UCHAR buf[8];
    IO_STATUS_BLOCK iosb = {.Status = -1}, ciosb = {.Status = -1};
    LARGE_INTEGER at = {.QuadPart = 0};
    r->Read = ZwReadFile(r->File, NULL, NULL, NULL, &iosb, buf, 8, &at, NULL);
    r->Cancel = ZwCancelIoFile(r->File, &ciosb);
    r->CancelIosb = ciosb.Status;
    r->RoutineRan = cancel_routine_ran;
    for (int i = 0; i < 2000 && iosb.Status == -1; i++)
        kt_sleep_ms(1);
    r->Final = iosb.Status;
    r->Again = ZwCancelIoFile(r->File, &ciosb);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void cancel_io_file(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    setup(L"IoZwCancel", L"\\Device\\IoZwCancel", DO_BUFFERED_IO);
    static CANCEL_RUN r;
    RtlZeroMemory(&r, sizeof(r));
    r.File = open_async(L"\\Device\\IoZwCancel", FILE_READ_DATA);
    iot.Handler[IRP_MJ_READ] = cancelable_handler;
    cancel_routine_ran = FALSE;
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, cancel_thread, &r), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(t, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
    assert_int_equal(r.Read, STATUS_PENDING);
    assert_int_equal(r.Cancel, STATUS_SUCCESS);
    assert_int_equal(r.CancelIosb, STATUS_SUCCESS);
    assert_true(r.RoutineRan);
    assert_int_equal(r.Final, STATUS_CANCELLED);
    assert_int_equal(r.Again, STATUS_SUCCESS); /* nothing outstanding: nothing to cancel */
    /* The file object is signalled for an asynchronous handle without an event. */
    assert_int_equal(ZwWaitForSingleObject(r.File, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(iot_file_of(r.File)->FinalStatus, STATUS_CANCELLED);
    assert_int_equal(ZwClose(r.File), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- buffer methods for reads and writes ------------------------------------------------------------- */

static void direct_and_neither_reads_and_writes(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDEVICE_OBJECT d = setup(L"IoZwDirect", L"\\Device\\IoZwDirect", DO_DIRECT_IO);
    HANDLE f = open_sync(L"\\Device\\IoZwDirect", FILE_READ_DATA | FILE_WRITE_DATA);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPoolNx, 64, IOT_TEST_TAG);
    assert_non_null(buf);
    IO_STATUS_BLOCK iosb;
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 64, NULL, NULL), STATUS_SUCCESS);
    assert_non_null(h.Mdl);
    assert_null(h.SystemBuffer);
    assert_int_equal(iosb.Information, 64);
    for (ULONG i = 0; i < 64; i++)
        assert_int_equal(buf[i], pattern(0, i));
    RtlCopyMemory(buf, "direct write", 12);
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, buf, 12, NULL, NULL), STATUS_SUCCESS);
    assert_memory_equal(h.Seen, "direct write", 12);
    assert_non_null(h.Mdl);
    assert_int_equal(iot_file_of(f)->CurrentByteOffset.QuadPart, 76);

    /* Neither: the driver gets the caller's buffer itself. */
    d->Flags &= ~DO_DIRECT_IO;
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 16, NULL, NULL), STATUS_SUCCESS);
    assert_null(h.Mdl);
    assert_null(h.SystemBuffer);
    assert_ptr_equal(h.UserBuffer, buf);
    assert_int_equal(buf[0], pattern(76, 0));
    ExFreePoolWithTag(buf, IOT_TEST_TAG);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- IOCTLs ----------------------------------------------------------------------------------------------- */

static NTSTATUS ioctl_handler(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp)
{
    (void)DeviceObject;
    h.SystemBuffer = Irp->AssociatedIrp.SystemBuffer;
    h.UserBuffer = Irp->UserBuffer;
    h.Mdl = Irp->MdlAddress;
    h.Type3 = Sp->Parameters.DeviceIoControl.Type3InputBuffer;
    h.MdlBytes = Irp->MdlAddress != NULL ? MmGetMdlByteCount(Irp->MdlAddress) : 0;
    h.Flags = Irp->Flags;
    ULONG in = Sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = Sp->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG code = Sp->Parameters.DeviceIoControl.IoControlCode;
    h.SeenLength = 0;
    switch (METHOD_FROM_CTL_CODE(code)) {
    case METHOD_BUFFERED: {
        PUCHAR sb = Irp->AssociatedIrp.SystemBuffer;
        h.SeenLength = in;
        if (in)
            RtlCopyMemory(h.Seen, sb, in);
        /* Answer with the input reversed, but say only ReplyLength bytes count. */
        for (ULONG i = 0; i < out; i++)
            sb[i] = (UCHAR)(0xC0 + i);
        return complete(Irp, STATUS_SUCCESS, h.ReplyLength < out ? h.ReplyLength : out);
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT: {
        if (in)
            RtlCopyMemory(h.Seen, Irp->AssociatedIrp.SystemBuffer, in);
        h.SeenLength = in;
        if (out) {
            PUCHAR mb = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
            if (METHOD_FROM_CTL_CODE(code) == METHOD_IN_DIRECT) {
                RtlCopyMemory(h.Seen + in, mb, out);
                h.SeenLength += out;
            } else {
                for (ULONG i = 0; i < out; i++)
                    mb[i] = (UCHAR)(0xD0 + i);
            }
        }
        return complete(Irp, STATUS_SUCCESS, out);
    }
    default: {
        if (in)
            RtlCopyMemory(h.Seen, Sp->Parameters.DeviceIoControl.Type3InputBuffer, in);
        h.SeenLength = in;
        if (out)
            ((PUCHAR)Irp->UserBuffer)[0] = 0xEE;
        return complete(Irp, STATUS_SUCCESS, out);
    }
    }
}

static void ioctl_transfer_methods(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    setup(L"IoZwIoctl", L"\\Device\\IoZwIoctl", 0);
    iot.Handler[IRP_MJ_DEVICE_CONTROL] = ioctl_handler;
    iot.Handler[IRP_MJ_FILE_SYSTEM_CONTROL] = ioctl_handler;
    HANDLE f = open_sync(L"\\Device\\IoZwIoctl", FILE_READ_DATA);
    IO_STATUS_BLOCK iosb;
    UCHAR in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    UCHAR out[16];

    /* METHOD_BUFFERED: one buffer of max(in, out); exactly Information bytes come back. */
    RtlFillMemory(out, sizeof(out), 0x11);
    h.ReplyLength = 5;
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, in, 8, out, 12), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_int_equal(h.SeenLength, 8);
    assert_memory_equal(h.Seen, in, 8);
    assert_non_null(h.SystemBuffer);
    assert_ptr_equal(h.UserBuffer, out);
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i], 0xC0 + i);
    for (int i = 5; i < 16; i++)
        assert_int_equal(out[i], 0x11);
    IOT_EVENT *e = &iot.Events[iot_find(IRP_MJ_DEVICE_CONTROL, 0)];
    assert_int_equal(e->IoControlCode, IOCTL_BUF);
    assert_int_equal(e->InputLength, 8);
    assert_int_equal(e->OutputLength, 12);
    /* Input only, output only, nothing. */
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, in, 3, NULL, 0), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 0);
    assert_memory_equal(h.Seen, in, 3);
    h.ReplyLength = 16;
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, NULL, 0, out, 2), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 2);
    assert_int_equal(out[1], 0xC1);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, NULL, 0, NULL, 0), STATUS_SUCCESS);
    assert_null(h.SystemBuffer);

    /* METHOD_IN_DIRECT: input in a system buffer, the second buffer through an MDL the device reads. */
    PUCHAR pool = ExAllocatePoolWithTag(NonPagedPoolNx, 16, IOT_TEST_TAG);
    assert_non_null(pool);
    RtlCopyMemory(pool, "MDLDATA!", 8);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_IN, in, 4, pool, 8), STATUS_SUCCESS);
    assert_non_null(h.Mdl);
    assert_non_null(h.SystemBuffer);
    assert_int_equal(h.SeenLength, 12);
    assert_memory_equal(h.Seen, in, 4);
    assert_memory_equal(h.Seen + 4, "MDLDATA!", 8);
    assert_int_equal(h.MdlBytes, 8);
    /* METHOD_OUT_DIRECT: the device writes through the MDL. */
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_OUT, NULL, 0, pool, 16), STATUS_SUCCESS);
    assert_null(h.SystemBuffer);
    assert_int_equal(iosb.Information, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(pool[i], 0xD0 + i);
    ExFreePoolWithTag(pool, IOT_TEST_TAG);

    /* METHOD_NEITHER: the caller's pointers as they are. */
    out[0] = 0;
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_NEITHER, in, 2, out, 1), STATUS_SUCCESS);
    assert_ptr_equal(h.Type3, in);
    assert_ptr_equal(h.UserBuffer, out);
    assert_null(h.SystemBuffer);
    assert_null(h.Mdl);
    assert_int_equal(out[0], 0xEE);

    /* FSCTL: the file system control major with the user request minor. */
    assert_int_equal(ZwFsControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, in, 1, NULL, 0), STATUS_SUCCESS);
    e = &iot.Events[iot_find(IRP_MJ_FILE_SYSTEM_CONTROL, 0)];
    assert_int_equal(e->Minor, IRP_MN_USER_FS_REQUEST);
    assert_int_equal(e->IoControlCode, IOCTL_BUF);

    /* Access bits in the code against the handle (opened for reading only). */
    LONG before = iot_count();
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_NEEDS_READ, NULL, 0, NULL, 0),
                     STATUS_SUCCESS);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_NEEDS_WRITE, NULL, 0, NULL, 0),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(iot_count(), before + 1);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, NULL, 4, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    HANDLE w = open_sync(L"\\Device\\IoZwIoctl", FILE_WRITE_DATA);
    assert_int_equal(ZwDeviceIoControlFile(w, NULL, NULL, NULL, &iosb, IOCTL_NEEDS_READ, NULL, 0, NULL, 0),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(ZwDeviceIoControlFile(w, NULL, NULL, NULL, &iosb, IOCTL_NEEDS_WRITE, NULL, 0, NULL, 0),
                     STATUS_SUCCESS);
    assert_int_equal(ZwClose(w), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- information ---------------------------------------------------------------------------------------------- */

static NTSTATUS query_handler(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_STACK_LOCATION Sp)
{
    (void)DeviceObject;
    h.SystemBuffer = Irp->AssociatedIrp.SystemBuffer;
    if (Sp->MajorFunction == IRP_MJ_SET_INFORMATION) {
        h.SeenLength = Sp->Parameters.SetFile.Length;
        RtlCopyMemory(h.Seen, Irp->AssociatedIrp.SystemBuffer, h.SeenLength);
        return complete(Irp, STATUS_SUCCESS, 0);
    }
    if (Sp->MajorFunction == IRP_MJ_QUERY_VOLUME_INFORMATION) {
        RtlFillMemory(Irp->AssociatedIrp.SystemBuffer, 4, 0x77);
        return complete(Irp, STATUS_SUCCESS, 4);
    }
    if (Sp->Parameters.QueryFile.FileInformationClass == FileStandardInformation) {
        PFILE_STANDARD_INFORMATION s = Irp->AssociatedIrp.SystemBuffer;
        RtlZeroMemory(s, sizeof(*s));
        s->EndOfFile.QuadPart = 1234;
        s->NumberOfLinks = 1;
        return complete(Irp, STATUS_SUCCESS, sizeof(*s));
    }
    if (Sp->Parameters.QueryFile.FileInformationClass == FileNameInformation) {
        PFILE_NAME_INFORMATION n = Irp->AssociatedIrp.SystemBuffer;
        PFILE_OBJECT fo = Sp->FileObject;
        ULONG room = Sp->Parameters.QueryFile.Length - FIELD_OFFSET(FILE_NAME_INFORMATION, FileName);
        n->FileNameLength = fo->FileName.Length;
        if (room < fo->FileName.Length) {
            RtlCopyMemory(n->FileName, fo->FileName.Buffer, room);
            return complete(Irp, STATUS_BUFFER_OVERFLOW, Sp->Parameters.QueryFile.Length);
        }
        RtlCopyMemory(n->FileName, fo->FileName.Buffer, fo->FileName.Length);
        return complete(Irp, STATUS_SUCCESS, FIELD_OFFSET(FILE_NAME_INFORMATION, FileName) + fo->FileName.Length);
    }
    return complete(Irp, STATUS_INVALID_PARAMETER, 0);
}

static void query_and_set_information(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    PDEVICE_OBJECT d = setup(L"IoZwInfo", L"\\Device\\IoZwInfo", DO_BUFFERED_IO);
    d->AlignmentRequirement = FILE_LONG_ALIGNMENT;
    iot.Handler[IRP_MJ_QUERY_INFORMATION] = query_handler;
    iot.Handler[IRP_MJ_SET_INFORMATION] = query_handler;
    iot.Handler[IRP_MJ_QUERY_VOLUME_INFORMATION] = query_handler;
    HANDLE f;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device\\IoZwInfo\\a\\b", FILE_READ_DATA | FILE_WRITE_DATA | SYNCHRONIZE, 0,
                              FILE_SYNCHRONOUS_IO_ALERT | FILE_WRITE_THROUGH, &f, &iosb),
                     STATUS_SUCCESS);
    iot_reset_events();

    /* Answered by the I/O manager: no IRP. */
    FILE_ACCESS_INFORMATION ai;
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &ai, sizeof(ai), FileAccessInformation), STATUS_SUCCESS);
    assert_int_equal(ai.AccessFlags, FILE_READ_DATA | FILE_WRITE_DATA | SYNCHRONIZE);
    assert_int_equal(iosb.Information, sizeof(ai));
    FILE_MODE_INFORMATION mi;
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &mi, sizeof(mi), FileModeInformation), STATUS_SUCCESS);
    assert_int_equal(mi.Mode, FILE_SYNCHRONOUS_IO_ALERT | FILE_WRITE_THROUGH);
    FILE_ALIGNMENT_INFORMATION al;
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &al, sizeof(al), FileAlignmentInformation), STATUS_SUCCESS);
    assert_int_equal(al.AlignmentRequirement, FILE_LONG_ALIGNMENT);
    FILE_POSITION_INFORMATION pi = {.CurrentByteOffset.QuadPart = 777};
    assert_int_equal(ZwSetInformationFile(f, &iosb, &pi, sizeof(pi), FilePositionInformation), STATUS_SUCCESS);
    pi.CurrentByteOffset.QuadPart = 0;
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &pi, sizeof(pi), FilePositionInformation), STATUS_SUCCESS);
    assert_int_equal(pi.CurrentByteOffset.QuadPart, 777);
    pi.CurrentByteOffset.QuadPart = -1;
    assert_int_equal(ZwSetInformationFile(f, &iosb, &pi, sizeof(pi), FilePositionInformation),
                     STATUS_INVALID_PARAMETER);
    mi.Mode = FILE_SYNCHRONOUS_IO_NONALERT | FILE_SEQUENTIAL_ONLY;
    assert_int_equal(ZwSetInformationFile(f, &iosb, &mi, sizeof(mi), FileModeInformation), STATUS_SUCCESS);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &mi, sizeof(mi), FileModeInformation), STATUS_SUCCESS);
    assert_int_equal(mi.Mode, FILE_SYNCHRONOUS_IO_NONALERT | FILE_SEQUENTIAL_ONLY);
    mi.Mode = 0; /* a synchronous file cannot become asynchronous */
    assert_int_equal(ZwSetInformationFile(f, &iosb, &mi, sizeof(mi), FileModeInformation), STATUS_INVALID_PARAMETER);
    mi.Mode = FILE_SYNCHRONOUS_IO_NONALERT | FILE_NO_INTERMEDIATE_BUFFERING;
    assert_int_equal(ZwSetInformationFile(f, &iosb, &mi, sizeof(mi), FileModeInformation), STATUS_INVALID_PARAMETER);
    FILE_FS_DEVICE_INFORMATION di;
    assert_int_equal(ZwQueryVolumeInformationFile(f, &iosb, &di, sizeof(di), FileFsDeviceInformation),
                     STATUS_SUCCESS);
    assert_int_equal(di.DeviceType, FILE_DEVICE_UNKNOWN);
    assert_int_equal(di.Characteristics, 0);
    assert_int_equal(iosb.Information, sizeof(di));
    assert_int_equal(iot_count(), 0);

    /* Through the driver, with the class and length; copied back. */
    FILE_STANDARD_INFORMATION si;
    RtlFillMemory(&si, sizeof(si), 0xFF);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &si, sizeof(si), FileStandardInformation), STATUS_SUCCESS);
    assert_int_equal(si.EndOfFile.QuadPart, 1234);
    assert_int_equal(si.NumberOfLinks, 1);
    assert_int_equal(iosb.Information, sizeof(si));
    IOT_EVENT *e = &iot.Events[iot_find(IRP_MJ_QUERY_INFORMATION, 0)];
    assert_int_equal(e->InfoClass, FileStandardInformation);
    assert_int_equal(e->Length, sizeof(si));
    union {
        FILE_NAME_INFORMATION n;
        UCHAR b[64];
    } name;
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &name, sizeof(name), FileNameInformation), STATUS_SUCCESS);
    assert_int_equal(name.n.FileNameLength, 4 * sizeof(WCHAR));
    assert_memory_equal(name.n.FileName, L"\\a\\b", 4 * sizeof(WCHAR));
    /* A warning still returns its partial data. */
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &name, 8, FileNameInformation), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(iosb.Status, STATUS_BUFFER_OVERFLOW);
    assert_int_equal(name.n.FileName[0], L'\\');
    FILE_END_OF_FILE_INFORMATION eof = {.EndOfFile.QuadPart = 4242};
    assert_int_equal(ZwSetInformationFile(f, &iosb, &eof, sizeof(eof), FileEndOfFileInformation), STATUS_SUCCESS);
    assert_int_equal(h.SeenLength, sizeof(eof));
    assert_memory_equal(h.Seen, &eof, sizeof(eof));
    UCHAR vol[8] = {0};
    assert_int_equal(ZwQueryVolumeInformationFile(f, &iosb, vol, sizeof(vol), FileFsSizeInformation), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 4);
    assert_int_equal(vol[3], 0x77);
    assert_int_equal(vol[4], 0);

    /* Lengths and classes. */
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &si, sizeof(si) - 1, FileStandardInformation),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &ai, 2, FileAccessInformation), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &si, sizeof(si), (FILE_INFORMATION_CLASS)0),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &si, sizeof(si), FileMaximumInformation),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &si, sizeof(si), FileDispositionInformation),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwSetInformationFile(f, &iosb, &eof, 4, FileEndOfFileInformation), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwSetInformationFile(f, &iosb, &eof, sizeof(eof), FileStandardInformation),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryVolumeInformationFile(f, &iosb, &di, 4, FileFsDeviceInformation),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryVolumeInformationFile(f, &iosb, &di, sizeof(di), FileFsMaximumInformation),
                     STATUS_INVALID_INFO_CLASS);

    /* Flush goes to the driver. */
    assert_int_equal(ZwFlushBuffersFile(f, &iosb), STATUS_SUCCESS);
    assert_int_equal(iot_count_major(IRP_MJ_FLUSH_BUFFERS), 1);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);

    /* An asynchronous file's position is the driver's business. */
    HANDLE a = open_async(L"\\Device\\IoZwInfo", FILE_READ_DATA);
    iot_reset_events();
    assert_int_equal(ZwQueryInformationFile(a, &iosb, &pi, sizeof(pi), FilePositionInformation),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(iot_count_major(IRP_MJ_QUERY_INFORMATION), 1);
    /* A user caller may not flush without write access (a process handle:
     * user callers cannot use kernel handles). */
    assert_int_equal(ZwClose(a), STATUS_SUCCESS);
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\IoZwInfo");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
    assert_int_equal(ZwOpenFile(&a, FILE_READ_DATA, &oa, &iosb, 0, 0), STATUS_SUCCESS);
    PKTHREAD t = KeGetCurrentThread();
    KPROCESSOR_MODE old = t->PreviousMode;
    t->PreviousMode = UserMode;
    NTSTATUS s = NtFlushBuffersFile(a, &iosb);
    t->PreviousMode = old;
    assert_int_equal(s, STATUS_ACCESS_DENIED);
    assert_int_equal(ZwClose(a), STATUS_SUCCESS);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

/* ---- defaults and \Device\Null ----------------------------------------------------------------------------- */

static void unhandled_major_is_an_invalid_request(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    iot.KeepDefaults = TRUE;
    PDRIVER_OBJECT drv = iot_driver(L"IoZwDefault");
    iot.KeepDefaults = FALSE;
    drv->MajorFunction[IRP_MJ_CREATE] = iot_dispatch;
    drv->MajorFunction[IRP_MJ_CLOSE] = iot_dispatch;
    iot_device(L"\\Device\\IoZwDefault", 0, FILE_DEVICE_UNKNOWN, 0, FALSE);
    HANDLE f = open_sync(L"\\Device\\IoZwDefault", FILE_READ_DATA);
    UCHAR buf[4];
    IO_STATUS_BLOCK iosb = {.Status = -1};
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, 4, NULL, NULL), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, NULL, 0, NULL, 0),
                     STATUS_INVALID_DEVICE_REQUEST);
    /* The cleanup goes to the default handler too; the handle still closes. */
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    assert_int_equal(iot_count_major(IRP_MJ_CLOSE), 1);
    iot_teardown_driver();
    iot_check_leaks(&m);
}

static void null_device(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    HANDLE f;
    IO_STATUS_BLOCK iosb = {.Status = -1};
    assert_int_equal(iot_open(L"\\Device\\Null", FILE_GENERIC_READ | FILE_GENERIC_WRITE, FILE_SHARE_VALID_FLAGS,
                              FILE_SYNCHRONOUS_IO_NONALERT, &f, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_OPENED);
    UCHAR buf[100];
    RtlFillMemory(buf, sizeof(buf), 0x42);
    assert_int_equal(ZwReadFile(f, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL), STATUS_END_OF_FILE);
    assert_int_equal(buf[0], 0x42);
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, sizeof(buf));
    assert_int_equal(iot_file_of(f)->CurrentByteOffset.QuadPart, sizeof(buf));
    /* With a caller event on a synchronous handle, completion signals both
     * that event and the file object's own (with FinalStatus). */
    HANDLE ev;
    assert_int_equal(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    KeClearEvent(&iot_file_of(f)->Event);
    iot_file_of(f)->FinalStatus = STATUS_UNSUCCESSFUL;
    assert_int_equal(ZwWriteFile(f, ev, NULL, NULL, &iosb, buf, 10, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(ev, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(&iot_file_of(f)->Event), 1);
    assert_int_equal(iot_file_of(f)->FinalStatus, STATUS_SUCCESS);
    assert_int_equal(ZwClose(ev), STATUS_SUCCESS);
    FILE_STANDARD_INFORMATION si;
    RtlFillMemory(&si, sizeof(si), 0xFF);
    assert_int_equal(ZwQueryInformationFile(f, &iosb, &si, sizeof(si), FileStandardInformation), STATUS_SUCCESS);
    assert_int_equal(si.EndOfFile.QuadPart, 0);
    assert_int_equal(si.AllocationSize.QuadPart, 0);
    FILE_FS_DEVICE_INFORMATION di;
    assert_int_equal(ZwQueryVolumeInformationFile(f, &iosb, &di, sizeof(di), FileFsDeviceInformation),
                     STATUS_SUCCESS);
    assert_int_equal(di.DeviceType, FILE_DEVICE_NULL);
    assert_int_equal(ZwDeviceIoControlFile(f, NULL, NULL, NULL, &iosb, IOCTL_BUF, NULL, 0, NULL, 0),
                     STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    /* It is a built-in driver like any other. */
    UNICODE_STRING drv = RTL_CONSTANT_STRING(L"\\Driver\\Null");
    PDRIVER_OBJECT d;
    assert_int_equal(ObReferenceObjectByName(&drv, OBJ_CASE_INSENSITIVE, NULL, 0, IoDriverObjectType, KernelMode, NULL,
                                             (PVOID *)&d),
                     STATUS_SUCCESS);
    assert_true(d->Flags & DRVO_BUILTIN_DRIVER);
    assert_true(iot_ustr_is(&d->DeviceObject->DeviceObjectExtension->DeviceObject->DriverObject->DriverName,
                            L"\\Driver\\Null"));
    ObDereferenceObject(d);
    iot_check_leaks(&m);
}

static void console_device(void **state)
{
    (void)state;
    IOT_LEAK_MARK m = iot_mark();
    HANDLE f;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(iot_open(L"\\Device\\Console", FILE_WRITE_DATA | SYNCHRONIZE, FILE_SHARE_WRITE,
                              FILE_SYNCHRONOUS_IO_NONALERT, &f, &iosb),
                     STATUS_SUCCESS);
    static const char text[] = "[io] console device write\n";
    assert_int_equal(ZwWriteFile(f, NULL, NULL, NULL, &iosb, (PVOID)text, sizeof(text) - 1, NULL, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, sizeof(text) - 1);
    UCHAR buf[4];
    HANDLE r;
    assert_int_equal(iot_open(L"\\Device\\Console", FILE_READ_DATA | SYNCHRONIZE, FILE_SHARE_WRITE,
                              FILE_SYNCHRONOUS_IO_NONALERT, &r, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(r, NULL, NULL, NULL, &iosb, buf, 4, NULL, NULL), STATUS_INVALID_DEVICE_REQUEST);
    FILE_FS_DEVICE_INFORMATION di;
    assert_int_equal(ZwQueryVolumeInformationFile(f, &iosb, &di, sizeof(di), FileFsDeviceInformation),
                     STATUS_SUCCESS);
    assert_int_equal(di.DeviceType, FILE_DEVICE_CONSOLE);
    assert_int_equal(ZwClose(r), STATUS_SUCCESS);
    assert_int_equal(ZwClose(f), STATUS_SUCCESS);
    iot_check_leaks(&m);
}

static const struct CMUnitTest io_zw_tests[] = {
    cmocka_unit_test(sync_read_write_follow_the_file_position),
    cmocka_unit_test(sync_failure_and_access),
    cmocka_unit_test(sync_read_waits_for_a_pended_request),
    cmocka_unit_test(async_read_with_event_and_apc),
    cmocka_unit_test(cancel_io_file),
    cmocka_unit_test(direct_and_neither_reads_and_writes),
    cmocka_unit_test(ioctl_transfer_methods),
    cmocka_unit_test(query_and_set_information),
    cmocka_unit_test(unhandled_major_is_an_invalid_request),
    cmocka_unit_test(null_device),
    cmocka_unit_test(console_device),
};

NTOS_TEST_GROUP(io_zw, io_zw_tests, NULL, NULL);
