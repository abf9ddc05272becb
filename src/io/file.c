/*
 * File objects: the Device type's parse procedure (every open of a device,
 * directly or through symbolic links, ends here and makes a FILE_OBJECT),
 * the File type's close and delete procedures (IRP_MJ_CLEANUP at the last
 * handle, IRP_MJ_CLOSE at the last reference), and the routines drivers use
 * to reach devices through file objects (IoGetDeviceObjectPointer,
 * IoAttachDevice, IoGetRelatedDeviceObject, IoCreateStreamFileObject).
 *
 * The open (IopParseDevice):
 *  1. Only an open that carries an open packet (NtCreateFile and friends)
 *     may make a file object; anything else opening a device by name with a
 *     type other than Device gets STATUS_OBJECT_TYPE_MISMATCH.
 *  2. Access: a user-mode (or forced) open of the device itself, or of a name
 *     below a FILE_DEVICE_SECURE_OPEN device, is checked against the device's
 *     descriptor (STATUS_ACCESS_DENIED, no handle). The result is what the
 *     handle gets (AccessState->SecurityEvaluated tells Ob so).
 *  3. The device must not be initialising, deleted or unloading
 *     (STATUS_NO_SUCH_DEVICE) nor an exclusive device already open
 *     (STATUS_ACCESS_DENIED); the new file object holds one ReferenceCount.
 *  4. IRP_MJ_CREATE goes to the top of the device's stack and is waited for.
 *     A failure undoes everything: the file object goes without a CLOSE, the
 *     device reference is dropped, no handle is made.
 *
 * The I/O manager's own IRPs here (create, cleanup, close) belong to it: a
 * completion routine that returns STATUS_MORE_PROCESSING_REQUIRED hands each
 * back after the stack walk, and it is freed here. They are never queued to
 * the thread.
 *
 * IRQL: PASSIVE_LEVEL throughout (the close and delete procedures run at
 * PASSIVE_LEVEL: Ob defers a delete from a higher IRQL to a worker thread).
 */
#include "iop.h"

static NTSTATUS NTAPI IopSignalCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends an IRP the I/O manager owns and waits for its completion routine. */
static NTSTATUS IopCallAndWait(PDEVICE_OBJECT Top, PIRP Irp, PIO_STATUS_BLOCK IoStatus)
{
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoSetCompletionRoutine(Irp, IopSignalCompletion, &done, TRUE, TRUE, TRUE);
    (void)IoCallDriver(Top, Irp);
    /* Whether or not the driver said STATUS_PENDING, the IRP is ours again
     * only once the completion routine ran. */
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    *IoStatus = Irp->IoStatus;
    return IoStatus->Status;
}

/* Cleanup and close must reach the driver: an allocation failure is waited out. */
static PIRP IopAllocateIrpMustSucceed(CCHAR StackSize)
{
    for (;;) {
        PIRP irp = IoAllocateIrp(StackSize, FALSE);
        if (irp != NULL)
            return irp;
        LARGE_INTEGER delay = {.QuadPart = -10 * 1000 * 10}; /* 10 ms */
        KeDelayExecutionThread(KernelMode, FALSE, &delay);
    }
}

PDEVICE_OBJECT NTAPI IoGetRelatedDeviceObject(PFILE_OBJECT FileObject)
{
    /* A file on a mounted volume goes to the file system's stack; anything
     * else to the top of the stack it was opened on. */
    if (FileObject->Vpb != NULL && FileObject->Vpb->DeviceObject != NULL)
        return IoGetAttachedDevice(FileObject->Vpb->DeviceObject);
    return IoGetAttachedDevice(FileObject->DeviceObject);
}

NTSTATUS IopSendSimpleRequest(PDEVICE_OBJECT Top, UCHAR MajorFunction, PFILE_OBJECT FileObject)
{
    PIRP irp = IopAllocateIrpMustSucceed(Top->StackSize);
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    irp->RequestorMode = KernelMode;
    irp->Flags = IRP_SYNCHRONOUS_API | (MajorFunction == IRP_MJ_CLOSE ? IRP_CLOSE_OPERATION : 0);
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = MajorFunction;
    sp->FileObject = FileObject;
    IO_STATUS_BLOCK iosb;
    NTSTATUS status = IopCallAndWait(Top, irp, &iosb);
    IoFreeIrp(irp);
    return status;
}

static VOID IopSendCleanupOrClose(PFILE_OBJECT FileObject, UCHAR MajorFunction)
{
    (void)IopSendSimpleRequest(IoGetRelatedDeviceObject(FileObject), MajorFunction, FileObject);
}

/* ---- the File type's procedures ------------------------------------------------------------------ */

VOID NTAPI IopCloseFile(PEPROCESS Process, PVOID Object, ULONG_PTR ProcessHandleCount, ULONG_PTR SystemHandleCount)
{
    (void)Process;
    (void)ProcessHandleCount;
    PFILE_OBJECT file = Object;
    /* Only the last handle in the system means "the user is done with the file". */
    if (SystemHandleCount != 1 || file->DeviceObject == NULL)
        return;
    IopSendCleanupOrClose(file, IRP_MJ_CLEANUP);
    __atomic_or_fetch(&file->Flags, FO_CLEANUP_COMPLETE, __ATOMIC_RELEASE);
}

VOID NTAPI IopDeleteFile(PVOID Object)
{
    PFILE_OBJECT file = Object;
    PDEVICE_OBJECT device = file->DeviceObject;
    if (device != NULL)
        IopSendCleanupOrClose(file, IRP_MJ_CLOSE);
    if (file->FileName.Buffer != NULL) {
        ExFreePoolWithTag(file->FileName.Buffer, IOP_TAG_NAME);
        file->FileName.Buffer = NULL;
    }
    if (device != NULL)
        IopDereferenceDeviceForOpen(device);
}

/* ---- the Device type's parse procedure ------------------------------------------------------------ */

static NTSTATUS IopCheckDeviceAccess(PDEVICE_OBJECT Device, PACCESS_STATE AccessState, KPROCESSOR_MODE AccessMode,
                                     BOOLEAN CheckDescriptor, PACCESS_MASK Granted)
{
    PGENERIC_MAPPING mapping = &IoFileObjectType->TypeInfo.GenericMapping;
    PSECURITY_DESCRIPTOR sd = OBJECT_TO_OBJECT_HEADER(Device)->SecurityDescriptor;
    ACCESS_MASK desired = AccessState->RemainingDesiredAccess;
    if (AccessMode == KernelMode || !CheckDescriptor || sd == NULL) {
        if (desired & MAXIMUM_ALLOWED)
            desired = (desired & ~MAXIMUM_ALLOWED) | FILE_ALL_ACCESS;
        RtlMapGenericMask(&desired, mapping);
        *Granted = (desired | AccessState->PreviouslyGrantedAccess) & (FILE_ALL_ACCESS | ACCESS_SYSTEM_SECURITY);
        return STATUS_SUCCESS;
    }
    ACCESS_MASK granted = 0;
    NTSTATUS status = STATUS_ACCESS_DENIED;
    PPRIVILEGE_SET privileges = NULL;
    SeLockSubjectContext(&AccessState->SubjectSecurityContext);
    BOOLEAN ok = SeAccessCheck(sd, &AccessState->SubjectSecurityContext, TRUE, desired,
                               AccessState->PreviouslyGrantedAccess, &privileges, mapping, AccessMode, &granted,
                               &status);
    SeUnlockSubjectContext(&AccessState->SubjectSecurityContext);
    if (privileges != NULL)
        SeFreePrivileges(privileges);
    if (!ok)
        return NT_SUCCESS(status) ? STATUS_ACCESS_DENIED : status;
    *Granted = (granted | AccessState->PreviouslyGrantedAccess) & (FILE_ALL_ACCESS | ACCESS_SYSTEM_SECURITY);
    return STATUS_SUCCESS;
}

static ULONG IopFileFlagsFromOptions(ULONG Options, ULONG Attributes)
{
    ULONG flags = 0;
    if (Options & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
        flags |= FO_SYNCHRONOUS_IO;
    if (Options & FILE_SYNCHRONOUS_IO_ALERT)
        flags |= FO_ALERTABLE_IO;
    if (Options & FILE_NO_INTERMEDIATE_BUFFERING)
        flags |= FO_NO_INTERMEDIATE_BUFFERING;
    if (Options & FILE_WRITE_THROUGH)
        flags |= FO_WRITE_THROUGH;
    if (Options & FILE_SEQUENTIAL_ONLY)
        flags |= FO_SEQUENTIAL_ONLY;
    if (Options & FILE_RANDOM_ACCESS)
        flags |= FO_RANDOM_ACCESS;
    if (Options & FILE_DELETE_ON_CLOSE)
        flags |= FO_DELETE_ON_CLOSE;
    if (!(Attributes & OBJ_CASE_INSENSITIVE))
        flags |= FO_OPENED_CASE_SENSITIVE;
    return flags;
}

/* A new, unnamed file object on Device (which the caller has referenced for
 * it): inserted into nothing, one pointer reference, DeviceObject still NULL
 * so that a failure before the open completes sends no CLOSE. */
static NTSTATUS IopAllocateFileObject(ULONG Attributes, KPROCESSOR_MODE AccessMode, PCUNICODE_STRING Name,
                                      PFILE_OBJECT *FileObject)
{
    *FileObject = NULL;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, Attributes & OBJ_CASE_INSENSITIVE, NULL, NULL);
    PFILE_OBJECT file;
    NTSTATUS status = ObCreateObject(KernelMode, IoFileObjectType, &oa, AccessMode, NULL, sizeof(FILE_OBJECT), 0, 0,
                                     (PVOID *)&file);
    if (!NT_SUCCESS(status))
        return status;
    PVOID inserted;
    status = ObInsertObject(file, NULL, 0, 0, &inserted, NULL);
    if (!NT_SUCCESS(status))
        return status;
    file->Type = IO_TYPE_FILE;
    file->Size = sizeof(FILE_OBJECT);
    KeInitializeEvent(&file->Lock, SynchronizationEvent, FALSE);
    KeInitializeEvent(&file->Event, NotificationEvent, FALSE);
    KeInitializeSpinLock(&file->IrpListLock);
    InitializeListHead(&file->IrpList);
    if (Name != NULL && Name->Length != 0) {
        PWSTR buf = ExAllocatePoolWithTag(PagedPool, (SIZE_T)Name->Length + sizeof(WCHAR), IOP_TAG_NAME);
        if (buf == NULL) {
            ObDereferenceObject(file);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        RtlCopyMemory(buf, Name->Buffer, Name->Length);
        buf[Name->Length / sizeof(WCHAR)] = UNICODE_NULL;
        file->FileName.Buffer = buf;
        file->FileName.Length = Name->Length;
        file->FileName.MaximumLength = (USHORT)(Name->Length + sizeof(WCHAR));
    }
    *FileObject = file;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IopParseDevice(PVOID ParseObject, PVOID ObjectType, PACCESS_STATE AccessState,
                              KPROCESSOR_MODE AccessMode, ULONG Attributes, PUNICODE_STRING CompleteName,
                              PUNICODE_STRING RemainingName, PVOID Context, PSECURITY_QUALITY_OF_SERVICE SecurityQos,
                              PVOID *Object)
{
    (void)ObjectType;
    (void)CompleteName;
    *Object = NULL;
    PIOP_OPEN_PACKET op = Context;
    if (op == NULL || op->Type != IOP_OPEN_PACKET_TYPE || op->Size != sizeof(IOP_OPEN_PACKET))
        return STATUS_OBJECT_TYPE_MISMATCH;
    op->ParseCheck = TRUE;
    PDEVICE_OBJECT device = ParseObject;

    /* The device's descriptor guards the device itself; a name below it is
     * the driver's (or file system's) business unless the device asks the I/O
     * manager to check every open. */
    BOOLEAN checkDescriptor =
        RemainingName->Length == 0 || (device->Characteristics & FILE_DEVICE_SECURE_OPEN) != 0;
    ACCESS_MASK granted;
    NTSTATUS status = IopCheckDeviceAccess(device, AccessState, AccessMode, checkDescriptor, &granted);
    if (!NT_SUCCESS(status))
        return op->FinalStatus = status;

    status = IopReferenceDeviceForOpen(device);
    if (!NT_SUCCESS(status))
        return op->FinalStatus = status;

    PFILE_OBJECT file;
    status = IopAllocateFileObject(Attributes, AccessMode, RemainingName, &file);
    if (!NT_SUCCESS(status)) {
        IopDereferenceDeviceForOpen(device);
        return op->FinalStatus = status;
    }
    file->Flags = IopFileFlagsFromOptions(op->CreateOptions, Attributes);
    file->Vpb = NULL;

    PDEVICE_OBJECT top = IoGetAttachedDevice(device);
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    if (irp == NULL) {
        ObDereferenceObject(file);
        IopDereferenceDeviceForOpen(device);
        return op->FinalStatus = STATUS_INSUFFICIENT_RESOURCES;
    }
    file->DeviceObject = device;

    AccessState->PreviouslyGrantedAccess = granted;
    AccessState->RemainingDesiredAccess = 0;
    IO_SECURITY_CONTEXT security;
    security.SecurityQos = SecurityQos;
    security.AccessState = AccessState;
    security.DesiredAccess = granted;
    security.FullCreateOptions = op->CreateOptions;

    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    irp->RequestorMode = AccessMode;
    irp->Flags = IRP_CREATE_OPERATION | IRP_SYNCHRONOUS_API;
    irp->AssociatedIrp.SystemBuffer = op->EaBuffer;
    irp->Overlay.AllocationSize = op->AllocationSize;
    /* What the caller's status block says unless the driver says otherwise. */
    irp->IoStatus.Information = FILE_OPENED;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = IRP_MJ_CREATE;
    sp->Flags = (UCHAR)(((Attributes & OBJ_CASE_INSENSITIVE) ? 0 : SL_CASE_SENSITIVE) |
                        ((Attributes & OBJ_FORCE_ACCESS_CHECK) ? SL_FORCE_ACCESS_CHECK : 0));
    sp->Parameters.Create.SecurityContext = &security;
    sp->Parameters.Create.Options = (op->Disposition << 24) | (op->CreateOptions & FILE_VALID_OPTION_FLAGS);
    sp->Parameters.Create.FileAttributes = op->FileAttributes;
    sp->Parameters.Create.ShareAccess = op->ShareAccess;
    sp->Parameters.Create.EaLength = op->EaLength;
    sp->FileObject = file;

    IO_STATUS_BLOCK iosb;
    status = IopCallAndWait(top, irp, &iosb);
    IoFreeIrp(irp);
    op->FinalStatus = status;
    op->Information = iosb.Information;
    if (!NT_SUCCESS(status) || status == STATUS_REPARSE) {
        /* The driver never opened it: no CLOSE, no handle. */
        if (status == STATUS_REPARSE)
            op->FinalStatus = status = STATUS_OBJECT_NAME_INVALID;
        file->DeviceObject = NULL;
        ObDereferenceObject(file);
        IopDereferenceDeviceForOpen(device);
        return status;
    }
    op->FileObject = file;
    *Object = file;
    return status;
}

/* ---- device access through file objects ---------------------------------------------------------- */

NTSTATUS NTAPI IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                        PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject)
{
    if (FileObject == NULL || DeviceObject == NULL)
        return STATUS_INVALID_PARAMETER;
    *FileObject = NULL;
    *DeviceObject = NULL;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, ObjectName, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE handle;
    IO_STATUS_BLOCK iosb;
    NTSTATUS status = ZwOpenFile(&handle, DesiredAccess, &oa, &iosb, 0, FILE_NON_DIRECTORY_FILE);
    if (!NT_SUCCESS(status))
        return status;
    PFILE_OBJECT file;
    status = ObReferenceObjectByHandle(handle, 0, IoFileObjectType, KernelMode, (PVOID *)&file, NULL);
    if (NT_SUCCESS(status)) {
        *FileObject = file;
        *DeviceObject = IoGetRelatedDeviceObject(file);
    }
    /* The handle goes (the driver sees its cleanup now); the file object
     * reference keeps the device open until the caller drops it. */
    ZwClose(handle);
    return status;
}

NTSTATUS NTAPI IoAttachDevice(PDEVICE_OBJECT SourceDevice, PUNICODE_STRING TargetDevice, PDEVICE_OBJECT *AttachedDevice)
{
    if (AttachedDevice == NULL)
        return STATUS_INVALID_PARAMETER;
    *AttachedDevice = NULL;
    PFILE_OBJECT file;
    PDEVICE_OBJECT top;
    NTSTATUS status = IoGetDeviceObjectPointer(TargetDevice, FILE_READ_ATTRIBUTES, &file, &top);
    if (!NT_SUCCESS(status))
        return status;
    status = IoAttachDeviceToDeviceStackSafe(SourceDevice, file->DeviceObject, AttachedDevice);
    ObDereferenceObject(file);
    return status;
}

PFILE_OBJECT NTAPI IoCreateStreamFileObject(PFILE_OBJECT FileObject, PDEVICE_OBJECT DeviceObject)
{
    PDEVICE_OBJECT device = DeviceObject != NULL ? DeviceObject : FileObject->DeviceObject;
    if (device == NULL)
        return NULL;
    /* A stream file holds its device like any open file, but is made by the
     * file system itself: no IRP_MJ_CREATE and no device checks. */
    KIRQL irql;
    KeAcquireSpinLock(&IopDatabaseLock, &irql);
    device->ReferenceCount++;
    KeReleaseSpinLock(&IopDatabaseLock, irql);
    PFILE_OBJECT file;
    if (!NT_SUCCESS(IopAllocateFileObject(OBJ_CASE_INSENSITIVE, KernelMode, NULL, &file))) {
        IopDereferenceDeviceForOpen(device);
        return NULL;
    }
    file->Flags = FO_STREAM_FILE;
    file->Vpb = FileObject != NULL ? FileObject->Vpb : NULL;
    file->DeviceObject = device;
    /* Documented difference from IoCreateStreamFileObjectLite: the stack
     * sees IRP_MJ_CLEANUP at once, as for a handle opened and closed. */
    HANDLE handle;
    if (NT_SUCCESS(ObOpenObjectByPointer(file, OBJ_KERNEL_HANDLE, NULL, 0, IoFileObjectType, KernelMode, &handle))) {
        __atomic_or_fetch(&file->Flags, FO_HANDLE_CREATED, __ATOMIC_RELAXED);
        ZwClose(handle);
    }
    return file;
}
