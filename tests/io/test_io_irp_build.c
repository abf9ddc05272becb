/*
 * IRPs the I/O manager builds: IoBuildDeviceIoControlRequest for each
 * transfer method (system buffer sizes, copy-in, copy-back of exactly
 * Information bytes, MDL contents in both directions), the FSD request
 * builders for buffered, direct and neither devices, asynchronous FSD IRPs
 * with and without the documented freeing completion routine, and the
 * synchronous send helpers, with pool accounting balanced after each.
 */
#include "io_irp_test.h"
#include <ntos/ps.h>

static struct {
    PDRIVER_OBJECT driver;
    PDEVICE_OBJECT device;
    /* what the dispatch routine saw */
    UCHAR major;
    ULONG flags;
    PVOID systemBuffer;
    SIZE_T systemBufferSize;
    UCHAR systemBufferHead[16];
    PVOID userBuffer;
    PVOID type3;
    PMDL mdl;
    ULONG mdlBytes;
    USHORT mdlFlags;
    UCHAR mdlHead[16];
    ULONG length;
    LONGLONG offset;
    PKTHREAD thread;
    /* what it does */
    NTSTATUS status;
    ULONG writeBytes; /* pattern bytes written into the system buffer or MDL */
    BOOLEAN pend;
    PIRP pendingIrp;
} dv;

static NTSTATUS NTAPI recording_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    dv.major = sp->MajorFunction;
    dv.flags = Irp->Flags;
    dv.systemBuffer = Irp->AssociatedIrp.SystemBuffer;
    dv.systemBufferSize = 0;
    if (dv.systemBuffer != NULL) {
        dv.systemBufferSize = ExQueryPoolBlockSize(dv.systemBuffer, NULL);
        RtlCopyMemory(dv.systemBufferHead, dv.systemBuffer, sizeof(dv.systemBufferHead));
    }
    dv.userBuffer = Irp->UserBuffer;
    dv.type3 = sp->Parameters.DeviceIoControl.Type3InputBuffer;
    dv.mdl = Irp->MdlAddress;
    dv.thread = (PKTHREAD)Irp->Tail.Overlay.Thread;
    PUCHAR target = dv.systemBuffer;
    if (dv.mdl != NULL) {
        dv.mdlBytes = MmGetMdlByteCount(dv.mdl);
        dv.mdlFlags = dv.mdl->MdlFlags;
        PUCHAR va = MmGetSystemAddressForMdlSafe(dv.mdl, 16);
        assert_non_null(va);
        RtlCopyMemory(dv.mdlHead, va, sizeof(dv.mdlHead));
        target = va;
    }
    if (sp->MajorFunction == IRP_MJ_READ || sp->MajorFunction == IRP_MJ_WRITE) {
        dv.length = sp->Parameters.Read.Length;
        dv.offset = sp->Parameters.Read.ByteOffset.QuadPart;
    }
    for (ULONG i = 0; i < dv.writeBytes; i++)
        target[i] = (UCHAR)(0xA0 + i);
    Irp->IoStatus.Information = dv.writeBytes;
    if (dv.pend) {
        IoMarkIrpPending(Irp);
        dv.pendingIrp = Irp;
        return STATUS_PENDING;
    }
    Irp->IoStatus.Status = dv.status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return dv.status;
}

static int build_setup(void **state)
{
    (void)state;
    RtlZeroMemory(&dv, sizeof(dv));
    dv.driver = iot_driver(recording_dispatch);
    dv.device = iot_device(dv.driver, NULL, NULL);
    return 0;
}

static int build_teardown(void **state)
{
    (void)state;
    iot_free(dv.device);
    iot_free(dv.driver);
    return 0;
}

static PUCHAR pool_buffer(ULONG Length, UCHAR Fill)
{
    PUCHAR b = ExAllocatePoolWithTag(NonPagedPoolNx, Length, IOT_TAG);
    assert_non_null(b);
    RtlFillMemory(b, Length, Fill);
    return b;
}

static void check_pattern(PUCHAR Buffer, ULONG From, ULONG To, BOOLEAN Pattern, UCHAR Fill)
{
    for (ULONG i = From; i < To; i++)
        assert_int_equal(Buffer[i], Pattern ? (UCHAR)(0xA0 + i) : Fill);
}

#define IOCTL(m) CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, (m), FILE_ANY_ACCESS)

static NTSTATUS send_ioctl(ULONG Code, PVOID In, ULONG InLen, PVOID Out, ULONG OutLen, BOOLEAN Internal,
                           PIO_STATUS_BLOCK Iosb)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(Code, dv.device, In, InLen, Out, OutLen, Internal, &ev, Iosb);
    assert_non_null(irp);
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    assert_int_equal(sp->Parameters.DeviceIoControl.IoControlCode, Code);
    assert_int_equal(sp->Parameters.DeviceIoControl.InputBufferLength, InLen);
    assert_int_equal(sp->Parameters.DeviceIoControl.OutputBufferLength, OutLen);
    assert_int_equal(irp->RequestorMode, KernelMode);
    assert_ptr_equal(irp->Tail.Overlay.Thread, PsGetCurrentThread());
    NTSTATUS s = IoCallDriver(dv.device, irp);
    if (s == STATUS_PENDING) {
        LARGE_INTEGER t = kt_ms(10000);
        assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
        s = Iosb->Status;
    }
    assert_int_equal(KeReadStateEvent(&ev), 1);
    return s;
}

static void method_buffered(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PUCHAR in = pool_buffer(8, 0x11);
    PUCHAR out = pool_buffer(32, 0xEE);
    IO_STATUS_BLOCK iosb;
    dv.writeBytes = 20;
    dv.status = STATUS_SUCCESS;
    assert_int_equal(send_ioctl(IOCTL(METHOD_BUFFERED), in, 8, out, 32, FALSE, &iosb), STATUS_SUCCESS);
    assert_int_equal(dv.major, IRP_MJ_DEVICE_CONTROL);
    assert_non_null(dv.systemBuffer);
    assert_true(dv.systemBufferSize >= 32);
    assert_true(dv.systemBuffer != in && dv.systemBuffer != out);
    for (int i = 0; i < 8; i++)
        assert_int_equal(dv.systemBufferHead[i], 0x11);
    assert_int_equal(dv.flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION),
                     IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION);
    assert_ptr_equal(dv.userBuffer, out);
    assert_null(dv.mdl);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 20);
    /* Exactly Information bytes come back. */
    check_pattern(out, 0, 20, TRUE, 0);
    check_pattern(out, 20, 32, FALSE, 0xEE);

    /* Input larger than output: the buffer covers the input. */
    ExFreePoolWithTag(in, IOT_TAG);
    in = pool_buffer(64, 0x22);
    RtlFillMemory(out, 32, 0xEE);
    dv.writeBytes = 4;
    assert_int_equal(send_ioctl(IOCTL(METHOD_BUFFERED), in, 64, out, 16, TRUE, &iosb), STATUS_SUCCESS);
    assert_int_equal(dv.major, IRP_MJ_INTERNAL_DEVICE_CONTROL);
    assert_true(dv.systemBufferSize >= 64);
    check_pattern(out, 0, 4, TRUE, 0);
    check_pattern(out, 4, 32, FALSE, 0xEE);

    /* An error returns no data; a warning returns what was produced. */
    RtlFillMemory(out, 32, 0xEE);
    dv.writeBytes = 8;
    dv.status = STATUS_INVALID_PARAMETER;
    assert_int_equal(send_ioctl(IOCTL(METHOD_BUFFERED), in, 8, out, 32, FALSE, &iosb), STATUS_INVALID_PARAMETER);
    check_pattern(out, 0, 32, FALSE, 0xEE);
    dv.status = STATUS_BUFFER_OVERFLOW;
    assert_int_equal(send_ioctl(IOCTL(METHOD_BUFFERED), in, 8, out, 32, FALSE, &iosb), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(iosb.Status, STATUS_BUFFER_OVERFLOW);
    check_pattern(out, 0, 8, TRUE, 0);

    /* Input only: no copy-back operation; no buffers: no system buffer. */
    dv.status = STATUS_SUCCESS;
    dv.writeBytes = 0;
    assert_int_equal(send_ioctl(IOCTL(METHOD_BUFFERED), in, 8, NULL, 0, FALSE, &iosb), STATUS_SUCCESS);
    assert_int_equal(dv.flags & IRP_INPUT_OPERATION, 0);
    assert_int_equal(send_ioctl(IOCTL(METHOD_BUFFERED), NULL, 0, NULL, 0, FALSE, &iosb), STATUS_SUCCESS);
    assert_null(dv.systemBuffer);
    assert_int_equal(dv.flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER), 0);

    ExFreePoolWithTag(in, IOT_TAG);
    ExFreePoolWithTag(out, IOT_TAG);
    iot_pool_check(&m);
}

static void method_direct(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PUCHAR in = pool_buffer(12, 0x33);
    PUCHAR out = pool_buffer(5000, 0x44);
    IO_STATUS_BLOCK iosb;
    /* IN_DIRECT: the device reads the "output" buffer through the MDL. */
    dv.status = STATUS_SUCCESS;
    assert_int_equal(send_ioctl(IOCTL(METHOD_IN_DIRECT), in, 12, out, 5000, FALSE, &iosb), STATUS_SUCCESS);
    assert_non_null(dv.systemBuffer);
    assert_true(dv.systemBufferSize >= 12);
    assert_int_equal(dv.systemBufferHead[0], 0x33);
    assert_non_null(dv.mdl);
    assert_int_equal(dv.mdlBytes, 5000);
    assert_true(dv.mdlFlags & MDL_PAGES_LOCKED);
    for (int i = 0; i < 16; i++)
        assert_int_equal(dv.mdlHead[i], 0x44);
    assert_int_equal(dv.flags & IRP_INPUT_OPERATION, 0);
    /* OUT_DIRECT: the device writes into the caller's buffer directly. */
    dv.writeBytes = 100;
    assert_int_equal(send_ioctl(IOCTL(METHOD_OUT_DIRECT), in, 12, out, 5000, FALSE, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 100);
    check_pattern(out, 0, 100, TRUE, 0);
    check_pattern(out, 100, 5000, FALSE, 0x44);
    /* Output only: no system buffer. */
    dv.writeBytes = 0;
    assert_int_equal(send_ioctl(IOCTL(METHOD_OUT_DIRECT), NULL, 0, out, 10, FALSE, &iosb), STATUS_SUCCESS);
    assert_null(dv.systemBuffer);
    assert_non_null(dv.mdl);
    ExFreePoolWithTag(in, IOT_TAG);
    ExFreePoolWithTag(out, IOT_TAG);
    iot_pool_check(&m);
}

static void method_neither(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    UCHAR in[4], out[4];
    IO_STATUS_BLOCK iosb;
    dv.status = STATUS_SUCCESS;
    assert_int_equal(send_ioctl(IOCTL(METHOD_NEITHER), in, 4, out, 4, FALSE, &iosb), STATUS_SUCCESS);
    assert_ptr_equal(dv.type3, in);
    assert_ptr_equal(dv.userBuffer, out);
    assert_null(dv.systemBuffer);
    assert_null(dv.mdl);
    iot_pool_check(&m);
}

static void pending_ioctl_completed_later(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PUCHAR out = pool_buffer(16, 0);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = {{(NTSTATUS)-5}, 0};
    dv.pend = TRUE;
    dv.writeBytes = 6;
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL(METHOD_BUFFERED), dv.device, NULL, 0, out, 16, FALSE, &ev, &iosb);
    assert_int_equal(IoCallDriver(dv.device, irp), STATUS_PENDING);
    assert_int_equal(KeReadStateEvent(&ev), 0);
    dv.pendingIrp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(dv.pendingIrp, IO_NO_INCREMENT);
    LARGE_INTEGER t = kt_ms(10000);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 6);
    check_pattern(out, 0, 6, TRUE, 0);
    ExFreePoolWithTag(out, IOT_TAG);
    iot_pool_check(&m);
}

static NTSTATUS fsd(ULONG Major, PVOID Buffer, ULONG Length, LONGLONG Offset, PIO_STATUS_BLOCK Iosb)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER off;
    off.QuadPart = Offset;
    PIRP irp = IoBuildSynchronousFsdRequest(Major, dv.device, Buffer, Length, &off, &ev, Iosb);
    assert_non_null(irp);
    NTSTATUS s = IoCallDriver(dv.device, irp);
    assert_int_equal(KeReadStateEvent(&ev), 1);
    return s;
}

static void fsd_requests(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PUCHAR buf = pool_buffer(512, 0x55);
    IO_STATUS_BLOCK iosb;
    dv.status = STATUS_SUCCESS;

    dv.device->Flags = DO_BUFFERED_IO;
    dv.writeBytes = 512;
    assert_int_equal(fsd(IRP_MJ_READ, buf, 512, 4096, &iosb), STATUS_SUCCESS);
    assert_int_equal(dv.major, IRP_MJ_READ);
    assert_int_equal(dv.length, 512);
    assert_int_equal(dv.offset, 4096);
    assert_true(dv.systemBufferSize >= 512);
    assert_true(dv.flags & IRP_INPUT_OPERATION);
    assert_true(dv.flags & IRP_READ_OPERATION);
    assert_int_equal(iosb.Information, 512);
    check_pattern(buf, 0, 96, TRUE, 0);
    /* A buffered write carries the data in the system buffer, nothing comes back. */
    RtlFillMemory(buf, 512, 0x66);
    dv.writeBytes = 0;
    assert_int_equal(fsd(IRP_MJ_WRITE, buf, 512, 0, &iosb), STATUS_SUCCESS);
    assert_int_equal(dv.systemBufferHead[0], 0x66);
    assert_int_equal(dv.flags & IRP_INPUT_OPERATION, 0);
    assert_true(dv.flags & IRP_WRITE_OPERATION);

    dv.device->Flags = DO_DIRECT_IO;
    dv.writeBytes = 10;
    assert_int_equal(fsd(IRP_MJ_READ, buf, 512, 0, &iosb), STATUS_SUCCESS);
    assert_null(dv.systemBuffer);
    assert_non_null(dv.mdl);
    assert_int_equal(dv.mdlBytes, 512);
    check_pattern(buf, 0, 10, TRUE, 0);
    check_pattern(buf, 10, 512, FALSE, 0x66);

    dv.device->Flags = 0;
    dv.writeBytes = 0;
    assert_int_equal(fsd(IRP_MJ_WRITE, buf, 512, 0, &iosb), STATUS_SUCCESS);
    assert_ptr_equal(dv.userBuffer, buf);
    assert_null(dv.mdl);
    assert_null(dv.systemBuffer);
    assert_int_equal(fsd(IRP_MJ_FLUSH_BUFFERS, NULL, 0, 0, &iosb), STATUS_SUCCESS);
    assert_int_equal(dv.major, IRP_MJ_FLUSH_BUFFERS);
    assert_int_equal(fsd(IRP_MJ_SHUTDOWN, NULL, 0, 0, &iosb), STATUS_SUCCESS);

    /* Not a major function the builders make; a transfer without a buffer. */
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    assert_null(IoBuildSynchronousFsdRequest(IRP_MJ_CREATE, dv.device, NULL, 0, NULL, &ev, &iosb));
    assert_null(IoBuildAsynchronousFsdRequest(IRP_MJ_DEVICE_CONTROL, dv.device, NULL, 0, NULL, &iosb));
    assert_null(IoBuildAsynchronousFsdRequest(IRP_MJ_READ, dv.device, NULL, 8, NULL, &iosb));
    ExFreePoolWithTag(buf, IOT_TAG);
    iot_pool_check(&m);
}

static volatile LONG async_freed;
static NTSTATUS NTAPI free_async(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    assert_null(Device);
    *(PIO_STATUS_BLOCK)Context = Irp->IoStatus;
    /* Whoever frees an IRP early releases what the I/O manager would have. */
    if (Irp->Flags & IRP_DEALLOCATE_BUFFER)
        ExFreePool(Irp->AssociatedIrp.SystemBuffer);
    IoFreeIrp(Irp);
    __atomic_add_fetch(&async_freed, 1, __ATOMIC_SEQ_CST);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void asynchronous_fsd_requests(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PUCHAR buf = pool_buffer(64, 0);
    IO_STATUS_BLOCK iosb = {{(NTSTATUS)-3}, 0}, seen;
    dv.device->Flags = DO_BUFFERED_IO;
    dv.status = STATUS_SUCCESS;
    dv.writeBytes = 16;
    /* The documented way: a completion routine frees it. */
    PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, dv.device, buf, 64, NULL, &iosb);
    assert_non_null(irp);
    assert_true(IsListEmpty(&irp->ThreadListEntry));
    assert_null(irp->UserEvent);
    IoSetCompletionRoutine(irp, free_async, &seen, TRUE, TRUE, TRUE);
    async_freed = 0;
    assert_int_equal(IoCallDriver(dv.device, irp), STATUS_SUCCESS);
    assert_int_equal(async_freed, 1);
    assert_int_equal(seen.Information, 16);
    /* The routine freed it before the copy-back: the status block is untouched. */
    assert_int_equal(iosb.Status, (NTSTATUS)-3);
    /* Without a routine: finished in this thread, status block written. */
    irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, dv.device, buf, 64, NULL, &iosb);
    assert_int_equal(IoCallDriver(dv.device, irp), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 16);
    check_pattern(buf, 0, 16, TRUE, 0);
    ExFreePoolWithTag(buf, IOT_TAG);
    dv.device->Flags = 0;
    iot_pool_check(&m);
}

/* ---- synchronous sends through a filter ---------------------------------------------------------------- */

static PDEVICE_OBJECT fwd_filter;
static BOOLEAN fwd_result;
static NTSTATUS fwd_status;
static NTSTATUS NTAPI forwarding_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    fwd_result = IoForwardIrpSynchronously(dv.device, Irp);
    /* Back at the filter's own location, with the lower driver's result. */
    assert_ptr_equal(IoGetCurrentIrpStackLocation(Irp)->DeviceObject, Device);
    fwd_status = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return fwd_status;
}

static VOID NTAPI complete_pending_later(PVOID Context)
{
    (void)Context;
    while (__atomic_load_n(&dv.pendingIrp, __ATOMIC_ACQUIRE) == NULL)
        kt_sleep_ms(1);
    dv.pendingIrp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(dv.pendingIrp, IO_NO_INCREMENT);
}

static void forward_synchronously(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PDRIVER_OBJECT fdrv = iot_driver(forwarding_dispatch);
    fwd_filter = iot_device(fdrv, dv.device, NULL);
    dv.pend = TRUE;
    dv.pendingIrp = NULL;
    KTHREAD t;
    kt_start(&t, complete_pending_later, NULL, 8);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb;
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, fwd_filter, NULL, 0, NULL, &ev, &iosb);
    assert_int_equal(IoCallDriver(fwd_filter, irp), STATUS_SUCCESS);
    kt_join(&t);
    assert_true(fwd_result);
    assert_int_equal(fwd_status, STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    /* No location below the current one: nothing to forward to. */
    irp = IoAllocateIrp(1, FALSE);
    IoSetNextIrpStackLocation(irp);
    assert_false(IoForwardIrpSynchronously(dv.device, irp));
    IoFreeIrp(irp);
    /* IoSynchronousCallDriver: the caller prepares the next location. */
    dv.pend = FALSE;
    dv.status = STATUS_DEVICE_BUSY;
    irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    assert_int_equal(IoSynchronousCallDriver(dv.device, irp), STATUS_DEVICE_BUSY);
    IoFreeIrp(irp);
    dv.device->AttachedDevice = NULL;
    iot_free(fwd_filter);
    iot_free(fdrv);
    iot_pool_check(&m);
}

static const struct CMUnitTest io_irp_build_tests[] = {
    cmocka_unit_test_setup_teardown(method_buffered, build_setup, build_teardown),
    cmocka_unit_test_setup_teardown(method_direct, build_setup, build_teardown),
    cmocka_unit_test_setup_teardown(method_neither, build_setup, build_teardown),
    cmocka_unit_test_setup_teardown(pending_ioctl_completed_later, build_setup, build_teardown),
    cmocka_unit_test_setup_teardown(fsd_requests, build_setup, build_teardown),
    cmocka_unit_test_setup_teardown(asynchronous_fsd_requests, build_setup, build_teardown),
    cmocka_unit_test_setup_teardown(forward_synchronously, build_setup, build_teardown),
};

NTOS_TEST_GROUP(io_irp_build, io_irp_build_tests, NULL, NULL);
