/*
 * I/O request round trips.
 *
 *  irp_roundtrip_null       IoBuildDeviceIoControlRequest + IoCallDriver on
 *                           \Device\Null (IoGetDeviceObjectPointer) and the
 *                           I/O manager's completion, synchronous: an IRP
 *                           allocated, sent, completed at once by the device
 *                           (it has no device-control routine, so the default
 *                           one answers STATUS_INVALID_DEVICE_REQUEST),
 *                           finished for the thread and freed.
 *  zw_ioctl_null            ZwDeviceIoControlFile through a synchronous handle
 *                           to \Device\Null: the same plus the handle look-up,
 *                           the file object lock and the status block.
 *  zw_loopback_write_read_1 ZwWriteFile of one byte then ZwReadFile of it
 *                           through \Device\Loopback (and its filter), both on
 *                           a synchronous handle.
 *
 * Peers: ioctl(FIONREAD) on a pipe (a device control that completes at once,
 * system call included) for the first two, write + read of one byte through
 * a pipe for the third. ntos pays no kernel entry; Linux does: the ratio
 * compares a whole in-kernel request path with a whole system call.
 *
 * Measured on the 2-core development VM, host-release, under load (a fuzzer
 * and builds running): irp_roundtrip_null 199 ns against 1386 ns for
 * FIONREAD (0.14); zw_ioctl_null 152 ns against 1432 ns (0.11);
 * zw_loopback_write_read_1 988 ns against 3236 ns (0.31).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <ntos/ex_objects.h>
#include <ntos/io.h>
#include <ntos/ke.h>
#include <ntos/loopback.h>
#include <ntos/rtl.h>
#include <ntos/ob.h>

#include "bench.h"

#define IOCTL_BENCH_NULL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

static PDEVICE_OBJECT null_device;
static HANDLE null_handle, loop_handle;

static HANDLE open_sync(PCWSTR Name)
{
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, Name);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    HANDLE h;
    if (!NT_SUCCESS(ZwCreateFile(&h, FILE_READ_DATA | FILE_WRITE_DATA | SYNCHRONIZE, &oa, &iosb, NULL, 0,
                                 FILE_SHARE_VALID_FLAGS, FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0)))
        abort();
    return h;
}

static void ntos_setup(void)
{
    if (null_device != NULL)
        return;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Null");
    PFILE_OBJECT file; /* kept referenced for the whole run: it keeps the device */
    if (!NT_SUCCESS(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &file, &null_device)))
        abort();
    null_handle = open_sync(L"\\Device\\Null");
    loop_handle = open_sync(L"\\Device\\Loopback");
}

static uint64_t ntos_irp_roundtrip(uint64_t ops)
{
    ntos_setup();
    KEVENT event;
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        IO_STATUS_BLOCK iosb;
        KeClearEvent(&event);
        PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_BENCH_NULL, null_device, NULL, 0, NULL, 0, FALSE, &event, &iosb);
        if (irp == NULL)
            abort();
        NTSTATUS s = IoCallDriver(null_device, irp);
        if (s == STATUS_PENDING) {
            KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
            s = iosb.Status;
        }
        if (s != STATUS_INVALID_DEVICE_REQUEST)
            abort();
    }
    return bench_cpu_ns() - t0;
}

static uint64_t ntos_zw_ioctl(uint64_t ops)
{
    ntos_setup();
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        IO_STATUS_BLOCK iosb;
        if (ZwDeviceIoControlFile(null_handle, NULL, NULL, NULL, &iosb, IOCTL_BENCH_NULL, NULL, 0, NULL, 0) !=
            STATUS_INVALID_DEVICE_REQUEST)
            abort();
    }
    return bench_cpu_ns() - t0;
}

static uint64_t ntos_loopback_write_read(uint64_t ops)
{
    ntos_setup();
    UCHAR b = 0x5a, r = 0;
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        IO_STATUS_BLOCK iosb;
        if (ZwWriteFile(loop_handle, NULL, NULL, NULL, &iosb, &b, 1, NULL, NULL) != STATUS_SUCCESS ||
            iosb.Information != 1)
            abort();
        if (ZwReadFile(loop_handle, NULL, NULL, NULL, &iosb, &r, 1, NULL, NULL) != STATUS_SUCCESS ||
            iosb.Information != 1 || r != b)
            abort();
    }
    return bench_cpu_ns() - t0;
}

/* ---- Linux peers ---------------------------------------------------------------------------- */

static int pipe_fds[2] = {-1, -1};

static void peer_setup(void)
{
    if (pipe_fds[0] < 0 && pipe(pipe_fds) != 0)
        abort();
}

static uint64_t peer_fionread(uint64_t ops)
{
    peer_setup();
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++) {
        int n;
        if (ioctl(pipe_fds[0], FIONREAD, &n) != 0)
            abort();
    }
    return bench_cpu_ns() - t0;
}

static uint64_t peer_pipe_write_read(uint64_t ops)
{
    peer_setup();
    char b = 0x5a, r = 0;
    uint64_t t0 = bench_cpu_ns();
    for (uint64_t i = 0; i < ops; i++)
        if (write(pipe_fds[1], &b, 1) != 1 || read(pipe_fds[0], &r, 1) != 1 || r != b)
            abort();
    return bench_cpu_ns() - t0;
}

BENCH_CASE(irp_roundtrip_null, "IoBuildDeviceIoControlRequest+IoCallDriver+completion, \\Device\\Null",
           ntos_irp_roundtrip, "ioctl(pipe, FIONREAD)", peer_fionread, 1000000, 0);
BENCH_CASE(zw_ioctl_null, "ZwDeviceIoControlFile, synchronous handle to \\Device\\Null", ntos_zw_ioctl,
           "ioctl(pipe, FIONREAD)", peer_fionread, 1000000, 0);
BENCH_CASE(zw_loopback_write_read_1, "ZwWriteFile+ZwReadFile of 1 byte through \\Device\\Loopback",
           ntos_loopback_write_read, "pipe write+read 1 byte", peer_pipe_write_read, 300000, 0);
