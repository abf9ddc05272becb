/*
 * ntdrv_seh.sys: structured exception handling in a driver built by
 * x86_64-w64-mingw32-gcc, the way mingw-w64 offers it on x64.
 *
 * gcc has no __try/__except keywords (and clang 14 with
 * --target=x86_64-w64-mingw32 -fms-extensions accepts them but emits no
 * handler for the windows-gnu target: the guarded load is plain code and its
 * .xdata names no handler, so a fault there is unhandled). What mingw-w64 provides is
 * __try1(filter) / __except1 in <excpt.h>: assembler directives that give the
 * enclosing function __C_specific_handler as its language handler
 * (.seh_handler, UNW_FLAG_EHANDLER) and a one-entry scope table in its .xdata:
 * [begin, end) guarded, the filter, and "end" as the jump target. The kernel's
 * RtlDispatchException finds the function through the image's .pdata, calls
 * __C_specific_handler (imported from ntoskrnl.exe), which calls the filter
 * and, when it returns EXCEPTION_EXECUTE_HANDLER, unwinds to the jump target
 * with the exception code in RAX. Execution continues after __except1.
 *
 * A termination handler (__finally) has no mingw-w64 macro; SehGuardFinally
 * writes the same directives itself with two scope entries over one range:
 * first a termination entry (handler = SehFinally, jump target 0), then an
 * except entry (filter, jump target = the end), and asks for the handler on
 * unwind too (@unwind, UNW_FLAG_UHANDLER). When the except entry takes the
 * exception, the unwind to this frame runs the inner termination handler with
 * AbnormalTermination TRUE before control reaches the end, as __finally inside
 * __except does with MSVC; a normal exit calls it with FALSE.
 *
 * The guarded code is always a call through a function pointer: the compiler
 * cannot see that control may reach the end label from inside the call, so
 * nothing it keeps across the call may live anywhere but in nonvolatile
 * registers or the frame, which the unwind restores. The functions holding
 * the directives are noinline/noclone (their labels exist once) and their
 * filters and handlers are global symbols (the scope table names them).
 *
 * The device serialises nothing: the test issues one IOCTL at a time, and the
 * results live in globals reset by each IOCTL.
 */
#include <ddk/ntddk.h>
#include <excpt.h>
#include "drvtest.h"

typedef VOID (*SEH_BODY)(PVOID Context);

static volatile DRVTEST_SEH_RESULT SehResult;

/* The filter for both guards (called by __C_specific_handler). */
LONG SehFilter(PEXCEPTION_POINTERS Pointers, PVOID EstablisherFrame) __attribute__((used));
LONG SehFilter(PEXCEPTION_POINTERS Pointers, PVOID EstablisherFrame)
{
    PEXCEPTION_RECORD rec = Pointers->ExceptionRecord;
    (void)EstablisherFrame;
    SehResult.FilterCalls++;
    SehResult.FilterCode = (ULONG)rec->ExceptionCode;
    if (rec->ExceptionCode == STATUS_ACCESS_VIOLATION && rec->NumberParameters >= 2)
        SehResult.FaultAddress = rec->ExceptionInformation[1];
    SehResult.Status = (ULONG)rec->ExceptionCode;
    return EXCEPTION_EXECUTE_HANDLER;
}

/* The termination handler of SehGuardFinally. */
VOID SehFinally(BOOLEAN AbnormalTermination, PVOID EstablisherFrame) __attribute__((used));
VOID SehFinally(BOOLEAN AbnormalTermination, PVOID EstablisherFrame)
{
    (void)EstablisherFrame;
    SehResult.FinallyCalls++;
    SehResult.FinallyAbnormal = AbnormalTermination;
}

static VOID SehReset(void)
{
    RtlZeroMemory((PVOID)&SehResult, sizeof(SehResult));
}

/* __try1(SehFilter) { Body(Context); } __except1: mingw-w64's own form. */
static __attribute__((noinline, noclone)) VOID SehGuard(SEH_BODY Body, PVOID Context)
{
    __try1(SehFilter)
    Body(Context);
    SehResult.BodyCompleted = 1;
    __except1
}

/* __try { __try { Body(Context); } __finally { SehFinally } } __except (SehFilter) {} */
static __attribute__((noinline, noclone)) VOID SehGuardFinally(SEH_BODY Body, PVOID Context)
{
    __asm__ __volatile__(".Lseh_fin_begin:\n"
                         "\t.seh_handler __C_specific_handler, @except, @unwind\n"
                         "\t.seh_handlerdata\n"
                         "\t.long 2\n"
                         "\t.rva .Lseh_fin_begin, .Lseh_fin_end, SehFinally\n"
                         "\t.long 0\n"
                         "\t.rva .Lseh_fin_begin, .Lseh_fin_end, SehFilter, .Lseh_fin_end\n"
                         "\t.text\n");
    Body(Context);
    SehResult.BodyCompleted = 1;
    /* The return address of a call ending the range must lie inside it. */
    __asm__ __volatile__("\tnop\n"
                         ".Lseh_fin_end:\n"
                         "\tnop\n");
    if (SehResult.FilterCalls == 0)
        SehFinally(FALSE, NULL); /* normal exit: the __finally block runs inline */
}

static VOID SehProbeBody(PVOID Context)
{
    DRVTEST_SEH_PROBE *p = Context;
    ProbeForRead((PVOID)(ULONG_PTR)p->Address, p->Length, p->Alignment);
}

static __attribute__((noinline)) ULONG SehRead(volatile ULONG *Address)
{
    return *Address;
}

static VOID SehNullReadBody(PVOID Context)
{
    volatile ULONG *volatile address = NULL;
    *(ULONG *)Context = SehRead(address);
}

static __attribute__((noinline)) VOID SehRaiseDeeper(NTSTATUS Status)
{
    ExRaiseStatus(Status);
}

static VOID SehRaiseBody(PVOID Context)
{
    SehRaiseDeeper(*(NTSTATUS *)Context);
}

static VOID SehNormalBody(PVOID Context)
{
    *(ULONG *)Context += 1;
}

static NTSTATUS SehComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS NTAPI SehCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return SehComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI SehDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG inLength = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    DRVTEST_SEH_PROBE probe;
    NTSTATUS raise;
    ULONG value = 0;
    (void)DeviceObject;

    if (outLength < sizeof(DRVTEST_SEH_RESULT))
        return SehComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    SehReset();
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SEH_PROBE:
        if (inLength < sizeof(probe))
            return SehComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        RtlCopyMemory(&probe, buffer, sizeof(probe));
        SehGuard(SehProbeBody, &probe);
        break;
    case IOCTL_SEH_NULL_READ:
        SehGuard(SehNullReadBody, &value);
        break;
    case IOCTL_SEH_RAISE:
        if (inLength < sizeof(raise))
            return SehComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        RtlCopyMemory(&raise, buffer, sizeof(raise));
        SehGuardFinally(SehRaiseBody, &raise);
        break;
    case IOCTL_SEH_NORMAL:
        SehGuardFinally(SehNormalBody, &value);
        if (value != 1)
            return SehComplete(Irp, STATUS_INTERNAL_ERROR, 0);
        break;
    default:
        return SehComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
    RtlCopyMemory(buffer, (PVOID)&SehResult, sizeof(DRVTEST_SEH_RESULT));
    return SehComplete(Irp, STATUS_SUCCESS, sizeof(DRVTEST_SEH_RESULT));
}

static VOID NTAPI SehUnload(PDRIVER_OBJECT DriverObject)
{
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    OBJECT_ATTRIBUTES oa;
    PDEVICE_OBJECT device;
    HANDLE key;
    NTSTATUS status;

    /* Only as a service (its key exists), not when started as a boot module. */
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(status))
        return status;
    ZwClose(key);

    RtlInitUnicodeString(&deviceName, DRVTEST_SEH_DEVICE);
    status = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE,
                            &device);
    if (!NT_SUCCESS(status))
        return status;
    device->Flags |= DO_BUFFERED_IO;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = SehCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SehCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SehDeviceControl;
    DriverObject->DriverUnload = SehUnload;
    return STATUS_SUCCESS;
}
