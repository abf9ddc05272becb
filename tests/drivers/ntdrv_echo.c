/*
 * ntdrv_echo.sys: a real WDM driver, built by x86_64-w64-mingw32-gcc against
 * mingw-w64's DDK headers and linked against its libntoskrnl.a/libhal.a.
 * Nothing here knows about ntos; it is what a driver writer would write.
 *
 * - DriverEntry reads EchoSeed (REG_DWORD) and Greeting (REG_SZ) from its
 *   service key (the RegistryPath argument) with ZwOpenKey/ZwQueryValueKey,
 *   creates \Device\DrvEcho (buffered I/O) and the link \DosDevices\DrvEcho.
 * - Writes queue a pool block tagged 'Chnk' per request; reads drain them in
 *   order. Unload frees whatever is still queued, so a clean unload leaves no
 *   'Chnk' or 'Echo' block behind.
 * - The four IOCTL transfer methods, a statistics query and an IRQL probe
 *   that goes through the WDK's inline CR8 forms (KeGetCurrentIrql,
 *   KeRaiseIrql, KeLowerIrql) and the inline KUSER_SHARED_DATA reads
 *   (KeQueryTickCount, KeQueryInterruptTime, KeQuerySystemTime).
 *
 * Locking: Echo->Lock (a spin lock, DISPATCH_LEVEL) guards the chunk list and
 * the byte count; the counters are interlocked.
 */
#include <ddk/ntddk.h>
#include "drvtest.h"

typedef struct _ECHO_CHUNK {
    LIST_ENTRY Link;
    ULONG Length;
    ULONG Offset; /* bytes already read */
    UCHAR Data[1];
} ECHO_CHUNK, *PECHO_CHUNK;

typedef struct _ECHO_STATE {
    KSPIN_LOCK Lock;
    LIST_ENTRY Chunks;
    ULONG QueuedBytes;
    ULONG QueuedChunks;
    ULONG Seed;
    ULONG GreetingBytes;
    WCHAR Greeting[32];
    volatile LONG Creates;
    volatile LONG Closes;
    volatile LONG Cleanups;
    volatile LONG LockIrqlErrors;
    ULONG EntryIrql;
    PDEVICE_OBJECT Device;
    KDPC ProbeDpc;
    volatile LONG ProbeDpcRuns;
    ULONG ProbeDpcIrql;
} ECHO_STATE, *PECHO_STATE;

static PECHO_STATE Echo;

static NTSTATUS EchoComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static VOID EchoLock(PKIRQL OldIrql)
{
    KeAcquireSpinLock(&Echo->Lock, OldIrql);
    /* Holding a spin lock means DISPATCH_LEVEL: KeGetCurrentIrql is `mov rax, cr8` inline. */
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        InterlockedIncrement(&Echo->LockIrqlErrors);
}

static NTSTATUS NTAPI EchoCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    (void)DeviceObject;
    switch (sp->MajorFunction) {
    case IRP_MJ_CREATE:
        InterlockedIncrement(&Echo->Creates);
        break;
    case IRP_MJ_CLEANUP:
        InterlockedIncrement(&Echo->Cleanups);
        break;
    default:
        InterlockedIncrement(&Echo->Closes);
        break;
    }
    return EchoComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI EchoWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG length = sp->Parameters.Write.Length;
    PECHO_CHUNK chunk;
    KIRQL irql;
    (void)DeviceObject;

    if (length == 0)
        return EchoComplete(Irp, STATUS_SUCCESS, 0);
    chunk = ExAllocatePoolWithTag(NonPagedPool, FIELD_OFFSET(ECHO_CHUNK, Data) + length, DRVTEST_ECHO_CHUNK_TAG);
    if (chunk == NULL)
        return EchoComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    chunk->Length = length;
    chunk->Offset = 0;
    RtlCopyMemory(chunk->Data, Irp->AssociatedIrp.SystemBuffer, length);
    EchoLock(&irql);
    InsertTailList(&Echo->Chunks, &chunk->Link);
    Echo->QueuedBytes += length;
    Echo->QueuedChunks++;
    KeReleaseSpinLock(&Echo->Lock, irql);
    return EchoComplete(Irp, STATUS_SUCCESS, length);
}

static NTSTATUS NTAPI EchoRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG length = sp->Parameters.Read.Length;
    PUCHAR out = Irp->AssociatedIrp.SystemBuffer;
    ULONG done = 0;
    LIST_ENTRY drained;
    KIRQL irql;
    (void)DeviceObject;

    InitializeListHead(&drained);
    EchoLock(&irql);
    if (IsListEmpty(&Echo->Chunks)) {
        KeReleaseSpinLock(&Echo->Lock, irql);
        return EchoComplete(Irp, STATUS_END_OF_FILE, 0);
    }
    while (done < length && !IsListEmpty(&Echo->Chunks)) {
        PECHO_CHUNK chunk = CONTAINING_RECORD(Echo->Chunks.Flink, ECHO_CHUNK, Link);
        ULONG n = chunk->Length - chunk->Offset;
        if (n > length - done)
            n = length - done;
        RtlCopyMemory(out + done, chunk->Data + chunk->Offset, n);
        chunk->Offset += n;
        done += n;
        Echo->QueuedBytes -= n;
        if (chunk->Offset == chunk->Length) {
            RemoveEntryList(&chunk->Link);
            Echo->QueuedChunks--;
            InsertTailList(&drained, &chunk->Link);
        }
    }
    KeReleaseSpinLock(&Echo->Lock, irql);
    /* Freed outside the lock: nothing requires it inside, and it keeps the hold short. */
    while (!IsListEmpty(&drained))
        ExFreePoolWithTag(CONTAINING_RECORD(RemoveHeadList(&drained), ECHO_CHUNK, Link), DRVTEST_ECHO_CHUNK_TAG);
    return EchoComplete(Irp, STATUS_SUCCESS, done);
}

static VOID NTAPI EchoProbeDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    Echo->ProbeDpcIrql = KeGetCurrentIrql();
    InterlockedIncrement(&Echo->ProbeDpcRuns);
}

static VOID EchoIrqlProbe(DRVTEST_IRQL_REPORT *r)
{
    KIRQL old, synchOld, lockOld;
    LARGE_INTEGER tick, system, frequency, perf;

    r->Before = KeGetCurrentIrql();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    r->OldFromRaise = old;
    r->Raised = KeGetCurrentIrql();
    synchOld = KeRaiseIrqlToSynchLevel();
    r->Synch = KeGetCurrentIrql();
    KeLowerIrql(synchOld);
    r->AfterLower = KeGetCurrentIrql();
    /* Queued on this processor at DISPATCH_LEVEL: it can only run once the
     * inline lowering below drops the IRQL. */
    Echo->ProbeDpcRuns = 0;
    KeInsertQueueDpc(&Echo->ProbeDpc, NULL, NULL);
    KeStallExecutionProcessor(100);
    r->DpcRanWhileRaised = (ULONG)Echo->ProbeDpcRuns;
    KeLowerIrql(old);
    r->DpcRanAfterLower = (ULONG)Echo->ProbeDpcRuns;
    r->DpcIrql = Echo->ProbeDpcIrql;
    r->After = KeGetCurrentIrql();

    KeAcquireSpinLock(&Echo->Lock, &lockOld);
    r->InLock = KeGetCurrentIrql();
    KeReleaseSpinLock(&Echo->Lock, lockOld);
    r->AfterLock = KeGetCurrentIrql();

    KeQueryTickCount(&tick);
    r->TickCount = (ULONG64)tick.QuadPart;
    r->InterruptTime = KeQueryInterruptTime();
    KeQuerySystemTime(&system);
    r->SystemTime = (ULONG64)system.QuadPart;

    perf = KeQueryPerformanceCounter(&frequency);
    r->PerfFrequency = (ULONG64)frequency.QuadPart;
    r->PerfBefore = (ULONG64)perf.QuadPart;
    KeStallExecutionProcessor(50);
    r->PerfAfter = (ULONG64)KeQueryPerformanceCounter(NULL).QuadPart;
}

static NTSTATUS NTAPI EchoDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PUCHAR sys = Irp->AssociatedIrp.SystemBuffer;
    ULONG i;
    (void)DeviceObject;

    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_ECHO_BUFFERED:
        /* One system buffer holds the input and receives the output. */
        if (outLength < in)
            return EchoComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        for (i = 0; i < in; i++)
            sys[i] ^= (UCHAR)Echo->Seed;
        return EchoComplete(Irp, STATUS_SUCCESS, in);

    case IOCTL_ECHO_IN_DIRECT: {
        PUCHAR data;
        ULONG_PTR sum = 0;
        if (Irp->MdlAddress == NULL)
            return EchoComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        data = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
        if (data == NULL)
            return EchoComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        for (i = 0; i < MmGetMdlByteCount(Irp->MdlAddress); i++)
            sum += data[i];
        return EchoComplete(Irp, STATUS_SUCCESS, sum);
    }

    case IOCTL_ECHO_OUT_DIRECT: {
        PUCHAR data;
        ULONG n;
        if (Irp->MdlAddress == NULL || in == 0)
            return EchoComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        data = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
        if (data == NULL)
            return EchoComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        n = MmGetMdlByteCount(Irp->MdlAddress);
        for (i = 0; i < n; i++)
            data[i] = sys[i % in];
        return EchoComplete(Irp, STATUS_SUCCESS, n);
    }

    case IOCTL_ECHO_NEITHER: {
        /* Raw pointers: only trusted for kernel-mode requestors (no SEH here to probe user ones). */
        PUCHAR src = sp->Parameters.DeviceIoControl.Type3InputBuffer;
        PUCHAR dst = Irp->UserBuffer;
        if (Irp->RequestorMode != KernelMode)
            return EchoComplete(Irp, STATUS_ACCESS_DENIED, 0);
        if (src == NULL || dst == NULL || outLength < in)
            return EchoComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        for (i = 0; i < in; i++)
            dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (UCHAR)(src[i] - 'a' + 'A') : src[i];
        return EchoComplete(Irp, STATUS_SUCCESS, in);
    }

    case IOCTL_ECHO_QUERY: {
        DRVTEST_ECHO_STATS *st = (DRVTEST_ECHO_STATS *)sys;
        KIRQL irql;
        if (outLength < sizeof(*st))
            return EchoComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        RtlZeroMemory(st, sizeof(*st));
        st->Seed = Echo->Seed;
        st->GreetingBytes = Echo->GreetingBytes;
        RtlCopyMemory(st->Greeting, Echo->Greeting, sizeof(st->Greeting));
        st->Creates = Echo->Creates;
        st->Closes = Echo->Closes;
        st->Cleanups = Echo->Cleanups;
        EchoLock(&irql);
        st->QueuedBytes = Echo->QueuedBytes;
        st->QueuedChunks = Echo->QueuedChunks;
        KeReleaseSpinLock(&Echo->Lock, irql);
        st->LockIrqlErrors = (ULONG)Echo->LockIrqlErrors;
        st->EntryIrql = Echo->EntryIrql;
        return EchoComplete(Irp, STATUS_SUCCESS, sizeof(*st));
    }

    case IOCTL_ECHO_IRQL:
        if (outLength < sizeof(DRVTEST_IRQL_REPORT))
            return EchoComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        RtlZeroMemory(sys, sizeof(DRVTEST_IRQL_REPORT));
        EchoIrqlProbe((DRVTEST_IRQL_REPORT *)sys);
        return EchoComplete(Irp, STATUS_SUCCESS, sizeof(DRVTEST_IRQL_REPORT));

    default:
        return EchoComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

/* Reads EchoSeed and Greeting from the service key DriverEntry was given. */
static NTSTATUS EchoReadParameters(PUNICODE_STRING RegistryPath)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE key;
    UNICODE_STRING name;
    UCHAR buffer[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 64 * sizeof(WCHAR)];
    PKEY_VALUE_PARTIAL_INFORMATION info = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
    ULONG resultLength;
    NTSTATUS status;

    InitializeObjectAttributes(&oa, RegistryPath, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(status)) {
        DbgPrint("ntdrv_echo: cannot open %wZ: 0x%08lx\n", RegistryPath, status);
        return status;
    }

    RtlInitUnicodeString(&name, DRVTEST_ECHO_SEED_VALUE);
    status = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info, sizeof(buffer), &resultLength);
    if (NT_SUCCESS(status) && (info->Type != REG_DWORD || info->DataLength != sizeof(ULONG)))
        status = STATUS_OBJECT_TYPE_MISMATCH;
    if (NT_SUCCESS(status))
        RtlCopyMemory(&Echo->Seed, info->Data, sizeof(ULONG));

    if (NT_SUCCESS(status)) {
        RtlInitUnicodeString(&name, DRVTEST_ECHO_GREETING_VALUE);
        status = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info, sizeof(buffer), &resultLength);
        if (NT_SUCCESS(status) && (info->Type != REG_SZ || info->DataLength > sizeof(Echo->Greeting)))
            status = STATUS_OBJECT_TYPE_MISMATCH;
        if (NT_SUCCESS(status)) {
            ULONG bytes = info->DataLength;
            RtlCopyMemory(Echo->Greeting, info->Data, bytes);
            /* REG_SZ data normally includes the terminator; count the characters before it. */
            while (bytes >= sizeof(WCHAR) && Echo->Greeting[bytes / sizeof(WCHAR) - 1] == 0)
                bytes -= sizeof(WCHAR);
            Echo->GreetingBytes = bytes;
        }
    }
    ZwClose(key);
    if (!NT_SUCCESS(status))
        DbgPrint("ntdrv_echo: bad parameters under %wZ: 0x%08lx\n", RegistryPath, status);
    return status;
}

static VOID EchoFreeState(void)
{
    while (!IsListEmpty(&Echo->Chunks))
        ExFreePoolWithTag(CONTAINING_RECORD(RemoveHeadList(&Echo->Chunks), ECHO_CHUNK, Link),
                          DRVTEST_ECHO_CHUNK_TAG);
    ExFreePoolWithTag(Echo, DRVTEST_ECHO_TAG);
    Echo = NULL;
}

static VOID NTAPI EchoUnload(PDRIVER_OBJECT DriverObject)
{
    UNICODE_STRING link;
    (void)DriverObject;
    RtlInitUnicodeString(&link, DRVTEST_ECHO_LINK);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(Echo->Device);
    EchoFreeState();
    DbgPrint("ntdrv_echo: unloaded\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName, link;
    PDEVICE_OBJECT device;
    NTSTATUS status;

    Echo = ExAllocatePoolWithTag(NonPagedPool, sizeof(*Echo), DRVTEST_ECHO_TAG);
    if (Echo == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(Echo, sizeof(*Echo));
    KeInitializeSpinLock(&Echo->Lock);
    InitializeListHead(&Echo->Chunks);
    KeInitializeDpc(&Echo->ProbeDpc, EchoProbeDpc, NULL);

    /* A driver started without its service key (or its values) refuses to run. */
    status = EchoReadParameters(RegistryPath);
    if (!NT_SUCCESS(status)) {
        EchoFreeState();
        return status;
    }
    Echo->EntryIrql = KeGetCurrentIrql();

    RtlInitUnicodeString(&deviceName, DRVTEST_ECHO_DEVICE);
    status = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE,
                            &device);
    if (!NT_SUCCESS(status)) {
        EchoFreeState();
        return status;
    }
    RtlInitUnicodeString(&link, DRVTEST_ECHO_LINK);
    status = IoCreateSymbolicLink(&link, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        EchoFreeState();
        return status;
    }
    Echo->Device = device;
    device->Flags |= DO_BUFFERED_IO;
    device->Flags &= ~DO_DEVICE_INITIALIZING;

    DriverObject->MajorFunction[IRP_MJ_CREATE] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = EchoRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = EchoWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = EchoDeviceControl;
    DriverObject->DriverUnload = EchoUnload;
    DbgPrint("ntdrv_echo: loaded from %wZ, seed 0x%lx\n", RegistryPath, Echo->Seed);
    return STATUS_SUCCESS;
}
