/*
 * ntdrv_observer.sys: a real driver (x86_64-w64-mingw32-gcc, mingw-w64's
 * DDK headers, libntoskrnl.a) that watches the kernel through its documented
 * callback interfaces, as security products do:
 *
 * - PsSetCreateThreadNotifyRoutine, PsSetLoadImageNotifyRoutine and
 *   PsSetCreateProcessNotifyRoutineEx record what they are told.
 * - ObRegisterCallbacks on PsProcessType and PsThreadType (handle create and
 *   duplicate): the pre-operation routines strip DRVTEST_OBSERVER_*_STRIP
 *   from handles to the one process and the one thread the driver is
 *   watching (nothing else is touched), the post routines record the access
 *   granted.
 * - ExCreateCallback creates \Callback\DrvObserver (its own object) and
 *   opens \Callback\SetSystemTime (a standard one); ExRegisterCallback on both.
 * - \Device\DrvObserver: IOCTLs to create and wait for a system thread, to
 *   open a process by id with ZwOpenProcess, and to return the observations.
 *
 * DriverEntry refuses to run without its service key (as the other test
 * drivers do), so it only runs when a test loads it. DriverUnload removes every registration, so nothing calls into the image
 * once it is gone.
 *
 * Locking: Obs->Lock (spin lock) guards the recorded arrays; counters are
 * interlocked. Notify and Ob routines run at PASSIVE_LEVEL (or APC_LEVEL for
 * Ob), the callback-object routines at the notifier's IRQL.
 */
#include <ddk/ntddk.h>
#include <ddk/ntifs.h>
#include "drvtest.h"

typedef struct _OBSERVER_STATE {
    KSPIN_LOCK Lock;
    DRVTEST_OBSERVER_STATS Stats;
    PDEVICE_OBJECT Device;
    BOOLEAN ThreadNotify, ImageNotify, ProcessNotify;
    PVOID ObRegistration;
    PCALLBACK_OBJECT OwnCallback, StandardCallback;
    PVOID OwnRegistration, StandardRegistration;
    /* The watched objects (NULL: none) and what the Ob routines saw of them. */
    PVOID volatile WatchProcess;
    PVOID volatile WatchThread;
    volatile LONG ProcessPre, ProcessPost, ThreadPre, ThreadPost;
    ULONG PreOriginal, PreKernelHandle, PostGranted, PostStatus, ThreadPostGranted;
    /* Filled by the system thread. */
    HANDLE SeenThreadId, SeenProcessId;
} OBSERVER_STATE, *POBSERVER_STATE;

static POBSERVER_STATE Obs;

static VOID ObsCheckPassive(void)
{
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        InterlockedIncrement((volatile LONG *)&Obs->Stats.NotifyIrqlErrors);
}

static VOID NTAPI ObsThreadNotify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    KIRQL irql;
    ObsCheckPassive();
    KeAcquireSpinLock(&Obs->Lock, &irql);
    ULONG n = Obs->Stats.ThreadRecorded;
    if (n < DRVTEST_OBSERVER_MAX_THREADS) {
        Obs->Stats.Threads[n].ProcessId = (ULONG64)(ULONG_PTR)ProcessId;
        Obs->Stats.Threads[n].ThreadId = (ULONG64)(ULONG_PTR)ThreadId;
        Obs->Stats.Threads[n].Create = Create;
        Obs->Stats.ThreadRecorded = n + 1;
    }
    Obs->Stats.ThreadEvents++;
    KeReleaseSpinLock(&Obs->Lock, irql);
}

static VOID NTAPI ObsImageNotify(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    KIRQL irql;
    ObsCheckPassive();
    KeAcquireSpinLock(&Obs->Lock, &irql);
    ULONG n = Obs->Stats.ImagesRecorded;
    if (n < DRVTEST_OBSERVER_MAX_IMAGES) {
        DRVTEST_OBSERVER_IMAGE *im = &Obs->Stats.Images[n];
        ULONG chars = FullImageName != NULL ? FullImageName->Length / sizeof(WCHAR) : 0;
        if (chars > DRVTEST_OBSERVER_NAME_CHARS)
            chars = DRVTEST_OBSERVER_NAME_CHARS;
        for (ULONG i = 0; i < chars; i++)
            im->Name[i] = FullImageName->Buffer[i];
        im->NameChars = chars;
        im->ProcessId = (ULONG64)(ULONG_PTR)ProcessId;
        im->ImageBase = (ULONG64)(ULONG_PTR)ImageInfo->ImageBase;
        im->ImageSize = ImageInfo->ImageSize;
        im->SystemModeImage = ImageInfo->SystemModeImage;
        Obs->Stats.ImagesRecorded = n + 1;
    }
    Obs->Stats.ImageLoads++;
    KeReleaseSpinLock(&Obs->Lock, irql);
}

static VOID NTAPI ObsProcessNotify(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo)
{
    (void)Process;
    (void)ProcessId;
    ObsCheckPassive();
    if (CreateInfo != NULL)
        InterlockedIncrement((volatile LONG *)&Obs->Stats.ProcessCreates);
    else
        InterlockedIncrement((volatile LONG *)&Obs->Stats.ProcessExits);
}

/* Pre-operation: strip from handles to the watched object only. */
static OB_PREOP_CALLBACK_STATUS NTAPI ObsObPre(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    ACCESS_MASK strip;
    (void)Context;
    if (Info->ObjectType == *PsProcessType && Info->Object == Obs->WatchProcess) {
        strip = DRVTEST_OBSERVER_PROCESS_STRIP;
        Obs->PreOriginal = Info->Operation == OB_OPERATION_HANDLE_CREATE
                               ? Info->Parameters->CreateHandleInformation.OriginalDesiredAccess
                               : Info->Parameters->DuplicateHandleInformation.OriginalDesiredAccess;
        Obs->PreKernelHandle = Info->KernelHandle;
        InterlockedIncrement(&Obs->ProcessPre);
    } else if (Info->ObjectType == *PsThreadType && Info->Object == Obs->WatchThread) {
        strip = DRVTEST_OBSERVER_THREAD_STRIP;
        InterlockedIncrement(&Obs->ThreadPre);
    } else {
        return OB_PREOP_SUCCESS;
    }
    if (Info->Operation == OB_OPERATION_HANDLE_CREATE)
        Info->Parameters->CreateHandleInformation.DesiredAccess &= ~strip;
    else
        Info->Parameters->DuplicateHandleInformation.DesiredAccess &= ~strip;
    return OB_PREOP_SUCCESS;
}

static VOID NTAPI ObsObPost(PVOID Context, POB_POST_OPERATION_INFORMATION Info)
{
    (void)Context;
    if (Info->ObjectType == *PsProcessType && Info->Object == Obs->WatchProcess) {
        Obs->PostGranted = Info->Parameters->CreateHandleInformation.GrantedAccess;
        Obs->PostStatus = (ULONG)Info->ReturnStatus;
        InterlockedIncrement(&Obs->ProcessPost);
    } else if (Info->ObjectType == *PsThreadType && Info->Object == Obs->WatchThread) {
        Obs->ThreadPostGranted = Info->Parameters->CreateHandleInformation.GrantedAccess;
        InterlockedIncrement(&Obs->ThreadPost);
    }
}

static VOID NTAPI ObsOwnCallback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KIRQL irql;
    KeAcquireSpinLock(&Obs->Lock, &irql);
    Obs->Stats.OwnCallbacks++;
    Obs->Stats.OwnContext = (ULONG64)(ULONG_PTR)Context;
    Obs->Stats.OwnArgument1 = (ULONG64)(ULONG_PTR)Argument1;
    Obs->Stats.OwnArgument2 = (ULONG64)(ULONG_PTR)Argument2;
    KeReleaseSpinLock(&Obs->Lock, irql);
}

static VOID NTAPI ObsStandardCallback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    (void)Context;
    (void)Argument1;
    (void)Argument2;
    InterlockedIncrement((volatile LONG *)&Obs->Stats.StandardCallbacks);
}

static NTSTATUS ObsComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS NTAPI ObsCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return ObsComplete(Irp, STATUS_SUCCESS, 0);
}

static VOID NTAPI ObsThreadMain(PVOID Context)
{
    (void)Context;
    Obs->SeenThreadId = PsGetCurrentThreadId();
    Obs->SeenProcessId = PsGetCurrentProcessId();
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* The GrantedAccess of Handle, as the object manager recorded it. */
static ULONG ObsGrantedAccess(HANDLE Handle)
{
    PUBLIC_OBJECT_BASIC_INFORMATION info;
    ULONG length = 0;
    RtlZeroMemory(&info, sizeof(info));
    if (!NT_SUCCESS(ZwQueryObject(Handle, ObjectBasicInformation, &info, sizeof(info), &length)))
        return 0xFFFFFFFF;
    return info.GrantedAccess;
}

static NTSTATUS ObsCreateThread(DRVTEST_OBSERVER_THREAD *Out)
{
    OBJECT_ATTRIBUTES oa;
    CLIENT_ID cid;
    HANDLE thread, reopened;
    PVOID object;
    NTSTATUS status;

    RtlZeroMemory(Out, sizeof(*Out));
    Obs->SeenThreadId = Obs->SeenProcessId = NULL;
    Out->CallerThreadId = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, &oa, NULL, &cid, ObsThreadMain, NULL);
    if (!NT_SUCCESS(status))
        return status;
    Out->ProcessId = (ULONG64)(ULONG_PTR)cid.UniqueProcess;
    Out->ThreadId = (ULONG64)(ULONG_PTR)cid.UniqueThread;
    Out->WaitStatus = (ULONG)ZwWaitForSingleObject(thread, FALSE, NULL);
    Out->SeenThreadId = (ULONG64)(ULONG_PTR)Obs->SeenThreadId;
    Out->SeenProcessId = (ULONG64)(ULONG_PTR)Obs->SeenProcessId;

    /* A second handle to the (exited) thread: the thread pre routine strips it. */
    status = ObReferenceObjectByHandle(thread, SYNCHRONIZE, *PsThreadType, KernelMode, &object, NULL);
    ZwClose(thread);
    if (!NT_SUCCESS(status))
        return status;
    Obs->ThreadPre = Obs->ThreadPost = 0;
    Obs->WatchThread = object;
    Out->ReopenStatus = (ULONG)ObOpenObjectByPointer(object, OBJ_KERNEL_HANDLE, NULL, THREAD_ALL_ACCESS,
                                                     *PsThreadType, KernelMode, &reopened);
    Obs->WatchThread = NULL;
    Out->ThreadPreOps = (ULONG)Obs->ThreadPre;
    Out->ThreadPostOps = (ULONG)Obs->ThreadPost;
    Out->ThreadPostGranted = Obs->ThreadPostGranted;
    if (NT_SUCCESS(Out->ReopenStatus)) {
        Out->ReopenGranted = ObsGrantedAccess(reopened);
        ZwClose(reopened);
    }
    ObDereferenceObject(object);
    return STATUS_SUCCESS;
}

static NTSTATUS ObsOpenProcess(ULONG64 ProcessId, DRVTEST_OBSERVER_OPEN *Out)
{
    OBJECT_ATTRIBUTES oa;
    CLIENT_ID cid;
    HANDLE process;
    PEPROCESS watched, referenced;
    NTSTATUS status;

    RtlZeroMemory(Out, sizeof(*Out));
    status = PsLookupProcessByProcessId((HANDLE)(ULONG_PTR)ProcessId, &watched);
    if (!NT_SUCCESS(status))
        return status;
    Obs->ProcessPre = Obs->ProcessPost = 0;
    Obs->WatchProcess = watched;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    cid.UniqueProcess = (HANDLE)(ULONG_PTR)ProcessId;
    cid.UniqueThread = NULL;
    status = ZwOpenProcess(&process, PROCESS_ALL_ACCESS, &oa, &cid);
    Obs->WatchProcess = NULL;
    Out->OpenStatus = (ULONG)status;
    Out->PreOps = (ULONG)Obs->ProcessPre;
    Out->PostOps = (ULONG)Obs->ProcessPost;
    Out->PreOriginal = Obs->PreOriginal;
    Out->PreKernelHandle = Obs->PreKernelHandle;
    Out->PostGranted = Obs->PostGranted;
    Out->PostStatus = Obs->PostStatus;
    if (NT_SUCCESS(status)) {
        Out->Granted = ObsGrantedAccess(process);
        Out->ReferenceStatus = (ULONG)ObReferenceObjectByHandle(process, 0x0400 /* PROCESS_QUERY_INFORMATION */, *PsProcessType,
                                                                KernelMode, (PVOID *)&referenced, NULL);
        if (NT_SUCCESS(Out->ReferenceStatus)) {
            Out->ReferencedId = (ULONG64)(ULONG_PTR)PsGetProcessId(referenced);
            ObDereferenceObject(referenced);
        }
        ZwClose(process);
    }
    ObDereferenceObject(watched);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI ObsDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG inLength = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    NTSTATUS status;
    KIRQL irql;
    (void)DeviceObject;

    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_OBSERVER_THREAD: {
        DRVTEST_OBSERVER_THREAD out;
        if (outLength < sizeof(out))
            return ObsComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        status = ObsCreateThread(&out);
        if (!NT_SUCCESS(status))
            return ObsComplete(Irp, status, 0);
        RtlCopyMemory(buffer, &out, sizeof(out));
        return ObsComplete(Irp, STATUS_SUCCESS, sizeof(out));
    }
    case IOCTL_OBSERVER_OPEN_PROCESS: {
        DRVTEST_OBSERVER_OPEN out;
        ULONG64 id;
        if (inLength < sizeof(id))
            return ObsComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        if (outLength < sizeof(out))
            return ObsComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        RtlCopyMemory(&id, buffer, sizeof(id));
        status = ObsOpenProcess(id, &out);
        if (!NT_SUCCESS(status))
            return ObsComplete(Irp, status, 0);
        RtlCopyMemory(buffer, &out, sizeof(out));
        return ObsComplete(Irp, STATUS_SUCCESS, sizeof(out));
    }
    case IOCTL_OBSERVER_QUERY:
        if (outLength < sizeof(DRVTEST_OBSERVER_STATS))
            return ObsComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        KeAcquireSpinLock(&Obs->Lock, &irql);
        RtlCopyMemory(buffer, &Obs->Stats, sizeof(DRVTEST_OBSERVER_STATS));
        KeReleaseSpinLock(&Obs->Lock, irql);
        return ObsComplete(Irp, STATUS_SUCCESS, sizeof(DRVTEST_OBSERVER_STATS));
    default:
        return ObsComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

/* Undoes whatever DriverEntry got to; also the unload path. */
static VOID ObsTeardown(void)
{
    if (Obs->StandardRegistration != NULL)
        ExUnregisterCallback(Obs->StandardRegistration);
    if (Obs->OwnRegistration != NULL)
        ExUnregisterCallback(Obs->OwnRegistration);
    if (Obs->StandardCallback != NULL)
        ObDereferenceObject(Obs->StandardCallback);
    /* Its own object is temporary: the last reference removes it and its name. */
    if (Obs->OwnCallback != NULL)
        ObDereferenceObject(Obs->OwnCallback);
    if (Obs->ObRegistration != NULL)
        ObUnRegisterCallbacks(Obs->ObRegistration);
    if (Obs->ProcessNotify)
        PsSetCreateProcessNotifyRoutineEx(ObsProcessNotify, TRUE);
    if (Obs->ImageNotify)
        PsRemoveLoadImageNotifyRoutine(ObsImageNotify);
    if (Obs->ThreadNotify)
        PsRemoveCreateThreadNotifyRoutine(ObsThreadNotify);
    if (Obs->Device != NULL)
        IoDeleteDevice(Obs->Device);
    ExFreePoolWithTag(Obs, DRVTEST_OBSERVER_TAG);
    Obs = NULL;
}

static VOID NTAPI ObsUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    ObsTeardown();
    DbgPrint("ntdrv_observer: unloaded\n");
}

static NTSTATUS ObsOpenCallback(PCWSTR Name, BOOLEAN Create, PCALLBACK_OBJECT *Object)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&name, Name);
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, NULL, NULL);
    return ExCreateCallback(Object, &oa, Create, TRUE);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    OB_OPERATION_REGISTRATION ops[2];
    OB_CALLBACK_REGISTRATION reg;
    UNICODE_STRING deviceName;
    OBJECT_ATTRIBUTES oa;
    HANDLE key;
    NTSTATUS status;

    /* Started only as a service: without its key (a boot module started at
     * boot) it refuses, like the other test drivers, and registers nothing. */
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(status))
        return status;
    ZwClose(key);

    Obs = ExAllocatePoolWithTag(NonPagedPool, sizeof(*Obs), DRVTEST_OBSERVER_TAG);
    if (Obs == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(Obs, sizeof(*Obs));
    KeInitializeSpinLock(&Obs->Lock);
    Obs->Stats.EntryIrql = KeGetCurrentIrql();

    status = PsSetCreateThreadNotifyRoutine(ObsThreadNotify);
    Obs->Stats.RegisterStatus[0] = (ULONG)status;
    if (!NT_SUCCESS(status))
        goto fail;
    Obs->ThreadNotify = TRUE;
    status = PsSetLoadImageNotifyRoutine(ObsImageNotify);
    Obs->Stats.RegisterStatus[1] = (ULONG)status;
    if (!NT_SUCCESS(status))
        goto fail;
    Obs->ImageNotify = TRUE;
    status = PsSetCreateProcessNotifyRoutineEx(ObsProcessNotify, FALSE);
    Obs->Stats.RegisterStatus[2] = (ULONG)status;
    if (!NT_SUCCESS(status))
        goto fail;
    Obs->ProcessNotify = TRUE;

    /* mingw-w64 declares PsProcessType as the imported POBJECT_TYPE *: exactly
     * what OB_OPERATION_REGISTRATION.ObjectType wants. */
    RtlZeroMemory(ops, sizeof(ops));
    ops[0].ObjectType = PsProcessType;
    ops[0].Operations = OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE;
    ops[0].PreOperation = ObsObPre;
    ops[0].PostOperation = ObsObPost;
    ops[1] = ops[0];
    ops[1].ObjectType = PsThreadType;
    RtlZeroMemory(&reg, sizeof(reg));
    reg.Version = ObGetFilterVersion();
    reg.OperationRegistrationCount = 2;
    RtlInitUnicodeString(&reg.Altitude, DRVTEST_OBSERVER_ALTITUDE);
    reg.OperationRegistration = ops;
    status = ObRegisterCallbacks(&reg, &Obs->ObRegistration);
    Obs->Stats.RegisterStatus[3] = (ULONG)status;
    if (!NT_SUCCESS(status))
        goto fail;

    status = ObsOpenCallback(DRVTEST_OBSERVER_CALLBACK, TRUE, &Obs->OwnCallback);
    if (NT_SUCCESS(status)) {
        Obs->OwnRegistration = ExRegisterCallback(Obs->OwnCallback, ObsOwnCallback,
                                                  (PVOID)(ULONG_PTR)DRVTEST_OBSERVER_OWN_CONTEXT);
        if (Obs->OwnRegistration == NULL)
            status = STATUS_INSUFFICIENT_RESOURCES;
    }
    Obs->Stats.RegisterStatus[4] = (ULONG)status;
    if (!NT_SUCCESS(status))
        goto fail;
    status = ObsOpenCallback(DRVTEST_OBSERVER_STANDARD_CALLBACK, FALSE, &Obs->StandardCallback);
    if (NT_SUCCESS(status)) {
        Obs->StandardRegistration = ExRegisterCallback(Obs->StandardCallback, ObsStandardCallback, NULL);
        if (Obs->StandardRegistration == NULL)
            status = STATUS_INSUFFICIENT_RESOURCES;
    }
    Obs->Stats.RegisterStatus[5] = (ULONG)status;
    if (!NT_SUCCESS(status))
        goto fail;

    RtlInitUnicodeString(&deviceName, DRVTEST_OBSERVER_DEVICE);
    status = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE,
                            &Obs->Device);
    if (!NT_SUCCESS(status))
        goto fail;
    Obs->Device->Flags |= DO_BUFFERED_IO;
    Obs->Device->Flags &= ~DO_DEVICE_INITIALIZING;

    DriverObject->MajorFunction[IRP_MJ_CREATE] = ObsCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = ObsCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ObsDeviceControl;
    DriverObject->DriverUnload = ObsUnload;
    return STATUS_SUCCESS;

fail:
    DbgPrint("ntdrv_observer: DriverEntry failed: 0x%08lx (thread 0x%lx image 0x%lx process 0x%lx ob 0x%lx own 0x%lx std 0x%lx)\n",
             status, Obs->Stats.RegisterStatus[0], Obs->Stats.RegisterStatus[1], Obs->Stats.RegisterStatus[2],
             Obs->Stats.RegisterStatus[3], Obs->Stats.RegisterStatus[4], Obs->Stats.RegisterStatus[5]);
    ObsTeardown();
    return status;
}
