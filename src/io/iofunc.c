/*
 * The file services: ZwCreateFile/ZwOpenFile (and their Nt forms).
 *
 * Zw* run with KernelMode as the previous mode (drivers calling them are
 * trusted: kernel handles allowed, no access check unless
 * OBJ_FORCE_ACCESS_CHECK); Nt* use ExGetPreviousMode(). ntos has no user
 * address space yet, so buffers are never probed; the previous mode decides
 * access checks only.
 *
 * Parameter rules (ZwCreateFile's documented combinations), all
 * STATUS_INVALID_PARAMETER: attributes, share access, disposition or options
 * outside their valid masks; both FILE_SYNCHRONOUS_IO_ALERT and _NONALERT, or
 * either without SYNCHRONIZE; FILE_DIRECTORY_FILE with FILE_NON_DIRECTORY_FILE
 * or with a disposition other than FILE_CREATE, FILE_OPEN, FILE_OPEN_IF;
 * FILE_DELETE_ON_CLOSE without DELETE; FILE_NO_INTERMEDIATE_BUFFERING with
 * FILE_APPEND_DATA; FILE_COMPLETE_IF_OPLOCKED with FILE_RESERVE_OPFILTER; an
 * EA length without a buffer.
 *
 * IRQL: PASSIVE_LEVEL.
 */
#include "iop.h"
#include <ntos/ex_objects.h>

static NTSTATUS IopValidateCreate(ACCESS_MASK DesiredAccess, ULONG FileAttributes, ULONG ShareAccess,
                                  ULONG Disposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength)
{
    ACCESS_MASK access = DesiredAccess;
    RtlMapGenericMask(&access, &IoFileObjectType->TypeInfo.GenericMapping);
    if (access & MAXIMUM_ALLOWED)
        access |= FILE_ALL_ACCESS;
    if ((FileAttributes & ~FILE_ATTRIBUTE_VALID_FLAGS) || (ShareAccess & ~FILE_SHARE_VALID_FLAGS) ||
        Disposition > FILE_MAXIMUM_DISPOSITION || (CreateOptions & ~FILE_VALID_OPTION_FLAGS))
        return STATUS_INVALID_PARAMETER;
    ULONG sync = CreateOptions & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT);
    if (sync == (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT) || (sync && !(access & SYNCHRONIZE)))
        return STATUS_INVALID_PARAMETER;
    if ((CreateOptions & FILE_DIRECTORY_FILE) &&
        ((CreateOptions & FILE_NON_DIRECTORY_FILE) ||
         (Disposition != FILE_CREATE && Disposition != FILE_OPEN && Disposition != FILE_OPEN_IF)))
        return STATUS_INVALID_PARAMETER;
    if ((CreateOptions & FILE_DELETE_ON_CLOSE) && !(access & DELETE))
        return STATUS_INVALID_PARAMETER;
    if ((CreateOptions & FILE_NO_INTERMEDIATE_BUFFERING) && (access & FILE_APPEND_DATA))
        return STATUS_INVALID_PARAMETER;
    if ((CreateOptions & FILE_COMPLETE_IF_OPLOCKED) && (CreateOptions & FILE_RESERVE_OPFILTER))
        return STATUS_INVALID_PARAMETER;
    if (EaLength != 0 && EaBuffer == NULL)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

NTSTATUS IopCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                       PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                       ULONG ShareAccess, ULONG Disposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength,
                       KPROCESSOR_MODE PreviousMode)
{
    if (FileHandle == NULL || IoStatusBlock == NULL || ObjectAttributes == NULL)
        return STATUS_INVALID_PARAMETER;
    *FileHandle = NULL;
    NTSTATUS status =
        IopValidateCreate(DesiredAccess, FileAttributes, ShareAccess, Disposition, CreateOptions, EaBuffer, EaLength);
    if (!NT_SUCCESS(status))
        return status;

    IOP_OPEN_PACKET op;
    RtlZeroMemory(&op, sizeof(op));
    op.Type = IOP_OPEN_PACKET_TYPE;
    op.Size = sizeof(op);
    if (AllocationSize != NULL)
        op.AllocationSize = *AllocationSize;
    op.CreateOptions = CreateOptions;
    op.Disposition = Disposition;
    op.FileAttributes = (USHORT)FileAttributes;
    op.ShareAccess = (USHORT)ShareAccess;
    op.EaBuffer = EaBuffer;
    op.EaLength = EaLength;

    HANDLE handle = NULL;
    status = ObOpenObjectByName(ObjectAttributes, IoFileObjectType, PreviousMode, NULL, DesiredAccess, &op, &handle);
    if (!NT_SUCCESS(status)) {
        /* A driver's failure is reported in the status block too. */
        if (op.ParseCheck && op.FinalStatus == status) {
            IoStatusBlock->Status = status;
            IoStatusBlock->Information = op.Information;
        }
        return status;
    }
    if (op.FileObject == NULL) {
        /* The name led to an existing file object (an empty name relative to
         * a file handle), not through a device: relative opens of files are
         * a file system's business, and there is none. */
        ObCloseHandle(handle, PreviousMode);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    __atomic_or_fetch(&op.FileObject->Flags, FO_HANDLE_CREATED, __ATOMIC_RELAXED);
    IoStatusBlock->Status = op.FinalStatus;
    IoStatusBlock->Information = op.Information;
    *FileHandle = handle;
    return op.FinalStatus;
}

NTSTATUS NTAPI ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                            PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                            ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                            ULONG EaLength)
{
    return IopCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, AllocationSize, FileAttributes,
                         ShareAccess, CreateDisposition, CreateOptions, EaBuffer, EaLength, KernelMode);
}

NTSTATUS NTAPI NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                            PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                            ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                            ULONG EaLength)
{
    return IopCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, AllocationSize, FileAttributes,
                         ShareAccess, CreateDisposition, CreateOptions, EaBuffer, EaLength, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                          PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions)
{
    return IopCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, NULL, 0, ShareAccess, FILE_OPEN,
                         OpenOptions, NULL, 0, KernelMode);
}

NTSTATUS NTAPI NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                          PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions)
{
    return IopCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, NULL, 0, ShareAccess, FILE_OPEN,
                         OpenOptions, NULL, 0, ExGetPreviousMode());
}

/* ==== reads, writes, controls, information ============================================================
 *
 * Every service below follows the same shape (NT's):
 *  1. The handle is referenced (with the access the service needs, checked
 *     for non-kernel callers) and, if given, the event handle too (it is
 *     reset). The IRP carries both references to its completion.
 *  2. A synchronous file object (FO_SYNCHRONOUS_IO) is locked for the whole
 *     operation (FILE_OBJECT.Busy/Waiters/Lock), its position is used when no
 *     offset (or FILE_USE_FILE_POINTER_POSITION) is given and advanced by what
 *     was transferred, and the service waits for the request and returns its
 *     final status. An asynchronous one needs an explicit offset and returns
 *     what the driver returned (STATUS_PENDING): the status block, the event
 *     and the APC routine tell the caller about the end.
 *  3. The IRP goes to the top of the stack (IoGetRelatedDeviceObject) with
 *     IRP_DEFER_IO_COMPLETION: if the driver does not pend it, the
 *     completion's requester side runs here, inline (IopCompleteRequestInline).
 *  4. Buffers follow the device's (read/write) or the control code's
 *     (IOCTL/FSCTL) transfer method: a system buffer (copied back, for
 *     exactly IoStatus.Information bytes, by the completion), an MDL over the
 *     caller's buffer, or the caller's pointers themselves.
 */

static NTSTATUS IopLockFileObject(PFILE_OBJECT File, KPROCESSOR_MODE Mode)
{
    BOOLEAN alertable = (File->Flags & FO_ALERTABLE_IO) != 0;
    __atomic_add_fetch(&File->Waiters, 1, __ATOMIC_SEQ_CST);
    while (__atomic_exchange_n(&File->Busy, 1, __ATOMIC_SEQ_CST) != 0) {
        NTSTATUS s = KeWaitForSingleObject(&File->Lock, Executive, Mode, alertable, NULL);
        if (s == STATUS_ALERTED || s == STATUS_USER_APC) {
            __atomic_sub_fetch(&File->Waiters, 1, __ATOMIC_SEQ_CST);
            return s;
        }
    }
    __atomic_sub_fetch(&File->Waiters, 1, __ATOMIC_SEQ_CST);
    return STATUS_SUCCESS;
}

static VOID IopUnlockFileObject(PFILE_OBJECT File)
{
    __atomic_store_n(&File->Busy, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&File->Waiters, __ATOMIC_SEQ_CST) != 0)
        KeSetEvent(&File->Lock, IO_NO_INCREMENT, FALSE);
}

/* One service call in progress. */
typedef struct _IOP_CALL {
    PFILE_OBJECT File;     /* referenced */
    PKEVENT Event;         /* referenced, or NULL */
    ACCESS_MASK Granted;
    KPROCESSOR_MODE Mode;
    BOOLEAN Synchronous;
    BOOLEAN Locked;
    PDEVICE_OBJECT Device; /* top of the stack */
} IOP_CALL;

static NTSTATUS IopBeginCall(IOP_CALL *Call, HANDLE FileHandle, ACCESS_MASK Access, HANDLE Event,
                             KPROCESSOR_MODE Mode)
{
    RtlZeroMemory(Call, sizeof(*Call));
    Call->Mode = Mode;
    OBJECT_HANDLE_INFORMATION info;
    NTSTATUS status = ObReferenceObjectByHandle(FileHandle, Access, IoFileObjectType, Mode, (PVOID *)&Call->File,
                                                &info);
    if (!NT_SUCCESS(status))
        return status;
    Call->Granted = info.GrantedAccess;
    if (Event != NULL) {
        status = ObReferenceObjectByHandle(Event, EVENT_MODIFY_STATE, ExEventObjectType, Mode, (PVOID *)&Call->Event,
                                           NULL);
        if (!NT_SUCCESS(status)) {
            ObDereferenceObject(Call->File);
            return status;
        }
        KeClearEvent(Call->Event);
    }
    Call->Synchronous = (Call->File->Flags & FO_SYNCHRONOUS_IO) != 0;
    Call->Device = IoGetRelatedDeviceObject(Call->File);
    return STATUS_SUCCESS;
}

/* Undoes IopBeginCall when no IRP was sent. */
static NTSTATUS IopAbortCall(IOP_CALL *Call, NTSTATUS Status)
{
    if (Call->Locked)
        IopUnlockFileObject(Call->File);
    if (Call->Event != NULL)
        ObDereferenceObject(Call->Event);
    ObDereferenceObject(Call->File);
    return Status;
}

static NTSTATUS IopLockIfSynchronous(IOP_CALL *Call)
{
    if (!Call->Synchronous)
        return STATUS_SUCCESS;
    NTSTATUS status = IopLockFileObject(Call->File, Call->Mode);
    if (NT_SUCCESS(status))
        Call->Locked = TRUE;
    return status;
}

static PIRP IopBuildServiceIrp(IOP_CALL *Call, PIO_STATUS_BLOCK IoStatusBlock, PIO_APC_ROUTINE ApcRoutine,
                               PVOID ApcContext, UCHAR MajorFunction)
{
    PIRP irp = IoAllocateIrp(Call->Device->StackSize, FALSE);
    if (irp == NULL)
        return NULL;
    irp->Tail.Overlay.OriginalFileObject = Call->File;
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    irp->RequestorMode = Call->Mode;
    irp->UserIosb = IoStatusBlock;
    irp->UserEvent = Call->Event;
    irp->Overlay.AsynchronousParameters.UserApcRoutine = ApcRoutine;
    irp->Overlay.AsynchronousParameters.UserApcContext = ApcContext;
    irp->Flags = IRP_DEFER_IO_COMPLETION;
    /* The engine drops a handle event's reference unless the API is synchronous. */
    if (Call->Synchronous && Call->Event == NULL)
        irp->Flags |= IRP_SYNCHRONOUS_API;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = MajorFunction;
    sp->FileObject = Call->File;
    return irp;
}

/* Frees what a built-but-unsent IRP holds (its buffers and MDLs). */
static VOID IopFreeUnsentIrp(PIRP Irp)
{
    if ((Irp->Flags & IRP_DEALLOCATE_BUFFER) && Irp->AssociatedIrp.SystemBuffer != NULL)
        ExFreePoolWithTag(Irp->AssociatedIrp.SystemBuffer, IOP_BUFFER_TAG);
    PMDL mdl = Irp->MdlAddress;
    while (mdl != NULL) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED)
            MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
    IoFreeIrp(Irp);
}

/* Steps 3 and the end of 2 above. Consumes the call's references (through the IRP). */
static NTSTATUS IopCallService(IOP_CALL *Call, PIRP Irp, PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER Advance)
{
    PFILE_OBJECT file = Call->File;
    BOOLEAN waitOnFile = Call->Synchronous && Call->Event == NULL;
    /* Completion signals a synchronous file object's event whether or not
     * the caller passed one of its own. */
    if (Call->Synchronous)
        KeClearEvent(&file->Event);
    /* The file object reference now belongs to the IRP; keep one for the end. */
    ObReferenceObject(file);
    PKEVENT event = Call->Event;
    if (event != NULL)
        ObReferenceObject(event);
    IopQueueIrpToThread(Irp);
    NTSTATUS status = IoCallDriver(Call->Device, Irp);
    if (status != STATUS_PENDING)
        IopCompleteRequestInline(Irp);
    if (Call->Synchronous) {
        if (status == STATUS_PENDING) {
            BOOLEAN alertable = (file->Flags & FO_ALERTABLE_IO) != 0;
            KeWaitForSingleObject(waitOnFile ? (PVOID)&file->Event : (PVOID)event, Executive, Call->Mode, alertable,
                                  NULL);
            status = waitOnFile ? file->FinalStatus : IoStatusBlock->Status;
        }
        if (Advance != NULL && !NT_ERROR(status))
            file->CurrentByteOffset.QuadPart = Advance->QuadPart + (LONGLONG)IoStatusBlock->Information;
        IopUnlockFileObject(file);
    }
    if (event != NULL)
        ObDereferenceObject(event);
    ObDereferenceObject(file);
    return status;
}

static NTSTATUS IopAttachMdl(PIRP Irp, PVOID Buffer, ULONG Length, LOCK_OPERATION Operation,
                             KPROCESSOR_MODE Mode)
{
    /* IoAllocateMdl with the IRP makes the MDL the IRP's MdlAddress. */
    PMDL mdl = IoAllocateMdl(Buffer, Length, FALSE, FALSE, Irp);
    if (mdl == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    MmProbeAndLockPages(mdl, Mode, Operation);
    return STATUS_SUCCESS;
}

static NTSTATUS IopAttachSystemBuffer(PIRP Irp, SIZE_T Size, PVOID CopyFrom, ULONG CopyLength)
{
    PVOID buffer = ExAllocatePoolWithTag(NonPagedPoolNx, Size, IOP_BUFFER_TAG);
    if (buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (CopyLength != 0)
        RtlCopyMemory(buffer, CopyFrom, CopyLength);
    if (Size > CopyLength)
        RtlZeroMemory((PUCHAR)buffer + CopyLength, Size - CopyLength);
    Irp->AssociatedIrp.SystemBuffer = buffer;
    Irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    return STATUS_SUCCESS;
}

/*
 * The common start of the information services: lock a synchronous file,
 * build the IRP for Major and give it a Length-byte system buffer, filled
 * from Input (set) or copied back to Output at completion (query). NULL
 * when it failed, with the call already aborted and *Status its result.
 */
static PIRP IopStartInformationIrp(IOP_CALL *Call, PIO_STATUS_BLOCK IoStatusBlock, UCHAR Major, ULONG Length,
                                   PVOID Input, PVOID Output, NTSTATUS *Status)
{
    NTSTATUS status = IopLockIfSynchronous(Call);
    if (!NT_SUCCESS(status)) {
        *Status = IopAbortCall(Call, status);
        return NULL;
    }
    PIRP irp = IopBuildServiceIrp(Call, IoStatusBlock, NULL, NULL, Major);
    if (irp == NULL) {
        *Status = IopAbortCall(Call, STATUS_INSUFFICIENT_RESOURCES);
        return NULL;
    }
    status = IopAttachSystemBuffer(irp, Length, Input, Input != NULL ? Length : 0);
    if (!NT_SUCCESS(status)) {
        IopFreeUnsentIrp(irp);
        *Status = IopAbortCall(Call, status);
        return NULL;
    }
    if (Output != NULL) {
        irp->Flags |= IRP_INPUT_OPERATION;
        irp->UserBuffer = Output;
    }
    return irp;
}

/* ---- read and write ---------------------------------------------------------------------------------- */

static NTSTATUS IopReadWrite(BOOLEAN Write, HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                             PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length,
                             PLARGE_INTEGER ByteOffset, PULONG Key, KPROCESSOR_MODE Mode)
{
    if (IoStatusBlock == NULL || (Buffer == NULL && Length != 0))
        return STATUS_INVALID_PARAMETER;
    IOP_CALL call;
    NTSTATUS status = IopBeginCall(&call, FileHandle, Write ? FILE_WRITE_DATA : FILE_READ_DATA, Event, Mode);
    if (!NT_SUCCESS(status))
        return status;
    PFILE_OBJECT file = call.File;
    /* Appending needs only FILE_APPEND_DATA, which Ob does not know about. */
    BOOLEAN usePointer = ByteOffset == NULL || (ByteOffset->HighPart == -1 &&
                                                 ByteOffset->LowPart == FILE_USE_FILE_POINTER_POSITION);
    BOOLEAN toEnd = Write && ByteOffset != NULL && ByteOffset->HighPart == -1 &&
                    ByteOffset->LowPart == FILE_WRITE_TO_END_OF_FILE;
    if (!call.Synchronous && (usePointer || (ByteOffset != NULL && ByteOffset->QuadPart < 0 && !toEnd)))
        return IopAbortCall(&call, STATUS_INVALID_PARAMETER);
    if (call.Synchronous && ByteOffset != NULL && ByteOffset->QuadPart < 0 && !usePointer && !toEnd)
        return IopAbortCall(&call, STATUS_INVALID_PARAMETER);
    /* Unbuffered I/O must respect the device's alignment. */
    if ((file->Flags & FO_NO_INTERMEDIATE_BUFFERING) &&
        (((ULONG_PTR)Buffer & call.Device->AlignmentRequirement) != 0 ||
         (call.Device->SectorSize != 0 && (Length % call.Device->SectorSize) != 0)))
        return IopAbortCall(&call, STATUS_INVALID_PARAMETER);
    status = IopLockIfSynchronous(&call);
    if (!NT_SUCCESS(status))
        return IopAbortCall(&call, status);
    LARGE_INTEGER offset;
    if (usePointer)
        offset = file->CurrentByteOffset;
    else
        offset = *ByteOffset;

    PIRP irp = IopBuildServiceIrp(&call, IoStatusBlock, ApcRoutine, ApcContext, Write ? IRP_MJ_WRITE : IRP_MJ_READ);
    if (irp == NULL)
        return IopAbortCall(&call, STATUS_INSUFFICIENT_RESOURCES);
    irp->Flags |= Write ? IRP_WRITE_OPERATION : IRP_READ_OPERATION;
    if (file->Flags & FO_NO_INTERMEDIATE_BUFFERING)
        irp->Flags |= IRP_NOCACHE;
    irp->UserBuffer = Buffer;
    if (Length != 0) {
        if (call.Device->Flags & DO_BUFFERED_IO) {
            status = IopAttachSystemBuffer(irp, Length, Write ? Buffer : NULL, Write ? Length : 0);
            if (NT_SUCCESS(status) && !Write)
                irp->Flags |= IRP_INPUT_OPERATION;
        } else if (call.Device->Flags & DO_DIRECT_IO) {
            status = IopAttachMdl(irp, Buffer, Length, Write ? IoReadAccess : IoWriteAccess, Mode);
        }
        if (!NT_SUCCESS(status)) {
            IopFreeUnsentIrp(irp);
            return IopAbortCall(&call, status);
        }
    }
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->Parameters.Read.Length = Length;
    sp->Parameters.Read.Key = Key != NULL ? *Key : 0;
    sp->Parameters.Read.ByteOffset = offset;
    return IopCallService(&call, irp, IoStatusBlock, toEnd ? NULL : &offset);
}

NTSTATUS NTAPI ZwReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                          PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                          PULONG Key)
{
    return IopReadWrite(FALSE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset,
                        Key, KernelMode);
}

NTSTATUS NTAPI NtReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                          PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                          PULONG Key)
{
    return IopReadWrite(FALSE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset,
                        Key, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                           PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                           PULONG Key)
{
    return IopReadWrite(TRUE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset,
                        Key, KernelMode);
}

NTSTATUS NTAPI NtWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                           PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                           PULONG Key)
{
    return IopReadWrite(TRUE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer, Length, ByteOffset,
                        Key, ExGetPreviousMode());
}

/* ---- device and file system controls ------------------------------------------------------------------ */

static NTSTATUS IopControlFile(BOOLEAN FsControl, HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                               PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Code, PVOID InputBuffer,
                               ULONG InputLength, PVOID OutputBuffer, ULONG OutputLength, KPROCESSOR_MODE Mode)
{
    if (IoStatusBlock == NULL || (InputBuffer == NULL && InputLength != 0) ||
        (OutputBuffer == NULL && OutputLength != 0))
        return STATUS_INVALID_PARAMETER;
    IOP_CALL call;
    NTSTATUS status = IopBeginCall(&call, FileHandle, 0, Event, Mode);
    if (!NT_SUCCESS(status))
        return status;
    /* The control code says which rights the handle must carry. */
    ULONG required = (Code >> 14) & 3;
    if (((required & FILE_READ_ACCESS) && !(call.Granted & FILE_READ_DATA)) ||
        ((required & FILE_WRITE_ACCESS) && !(call.Granted & FILE_WRITE_DATA)))
        return IopAbortCall(&call, STATUS_ACCESS_DENIED);
    status = IopLockIfSynchronous(&call);
    if (!NT_SUCCESS(status))
        return IopAbortCall(&call, status);

    PIRP irp = IopBuildServiceIrp(&call, IoStatusBlock, ApcRoutine, ApcContext,
                                  FsControl ? IRP_MJ_FILE_SYSTEM_CONTROL : IRP_MJ_DEVICE_CONTROL);
    if (irp == NULL)
        return IopAbortCall(&call, STATUS_INSUFFICIENT_RESOURCES);
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    if (FsControl)
        sp->MinorFunction = IRP_MN_USER_FS_REQUEST;
    sp->Parameters.DeviceIoControl.OutputBufferLength = OutputLength;
    sp->Parameters.DeviceIoControl.InputBufferLength = InputLength;
    sp->Parameters.DeviceIoControl.IoControlCode = Code;
    status = STATUS_SUCCESS;
    switch (METHOD_FROM_CTL_CODE(Code)) {
    case METHOD_BUFFERED: {
        /* One system buffer serves both directions: input copied in, output
         * copied back for IoStatus.Information bytes. */
        ULONG size = InputLength > OutputLength ? InputLength : OutputLength;
        if (size != 0) {
            status = IopAttachSystemBuffer(irp, size, InputBuffer, InputLength);
            if (NT_SUCCESS(status) && OutputLength != 0) {
                irp->Flags |= IRP_INPUT_OPERATION;
                irp->UserBuffer = OutputBuffer;
            }
        }
        break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (InputLength != 0)
            status = IopAttachSystemBuffer(irp, InputLength, InputBuffer, InputLength);
        /* IN_DIRECT: the device reads the second buffer; OUT_DIRECT: it writes it. */
        if (NT_SUCCESS(status) && OutputLength != 0)
            status = IopAttachMdl(irp, OutputBuffer, OutputLength,
                                  METHOD_FROM_CTL_CODE(Code) == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess, Mode);
        break;
    default: /* METHOD_NEITHER */
        sp->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        irp->UserBuffer = OutputBuffer;
        break;
    }
    if (!NT_SUCCESS(status)) {
        IopFreeUnsentIrp(irp);
        return IopAbortCall(&call, status);
    }
    return IopCallService(&call, irp, IoStatusBlock, NULL);
}

NTSTATUS NTAPI ZwDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                                     PIO_STATUS_BLOCK IoStatusBlock, ULONG IoControlCode, PVOID InputBuffer,
                                     ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength)
{
    return IopControlFile(FALSE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, IoControlCode, InputBuffer,
                          InputBufferLength, OutputBuffer, OutputBufferLength, KernelMode);
}

NTSTATUS NTAPI NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                                     PIO_STATUS_BLOCK IoStatusBlock, ULONG IoControlCode, PVOID InputBuffer,
                                     ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength)
{
    return IopControlFile(FALSE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, IoControlCode, InputBuffer,
                          InputBufferLength, OutputBuffer, OutputBufferLength, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwFsControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                               PIO_STATUS_BLOCK IoStatusBlock, ULONG FsControlCode, PVOID InputBuffer,
                               ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength)
{
    return IopControlFile(TRUE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, FsControlCode, InputBuffer,
                          InputBufferLength, OutputBuffer, OutputBufferLength, KernelMode);
}

NTSTATUS NTAPI NtFsControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                               PIO_STATUS_BLOCK IoStatusBlock, ULONG FsControlCode, PVOID InputBuffer,
                               ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength)
{
    return IopControlFile(TRUE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, FsControlCode, InputBuffer,
                          InputBufferLength, OutputBuffer, OutputBufferLength, ExGetPreviousMode());
}

/* ---- flush --------------------------------------------------------------------------------------------- */

static NTSTATUS IopFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, KPROCESSOR_MODE Mode)
{
    if (IoStatusBlock == NULL)
        return STATUS_INVALID_PARAMETER;
    IOP_CALL call;
    NTSTATUS status = IopBeginCall(&call, FileHandle, 0, NULL, Mode);
    if (!NT_SUCCESS(status))
        return status;
    /* Flushing is writing: a caller needs write or append rights. */
    if (Mode != KernelMode && !(call.Granted & (FILE_WRITE_DATA | FILE_APPEND_DATA)))
        return IopAbortCall(&call, STATUS_ACCESS_DENIED);
    status = IopLockIfSynchronous(&call);
    if (!NT_SUCCESS(status))
        return IopAbortCall(&call, status);
    PIRP irp = IopBuildServiceIrp(&call, IoStatusBlock, NULL, NULL, IRP_MJ_FLUSH_BUFFERS);
    if (irp == NULL)
        return IopAbortCall(&call, STATUS_INSUFFICIENT_RESOURCES);
    return IopCallService(&call, irp, IoStatusBlock, NULL);
}

NTSTATUS NTAPI ZwFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock)
{
    return IopFlushBuffersFile(FileHandle, IoStatusBlock, KernelMode);
}

NTSTATUS NTAPI NtFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock)
{
    return IopFlushBuffersFile(FileHandle, IoStatusBlock, ExGetPreviousMode());
}

/* ---- file information ----------------------------------------------------------------------------------- */

/* Minimum buffer sizes per class (0: not queryable / settable this way). */
static ULONG IopQueryLength(FILE_INFORMATION_CLASS Class)
{
    switch (Class) {
    case FileBasicInformation: return sizeof(FILE_BASIC_INFORMATION);
    case FileStandardInformation: return sizeof(FILE_STANDARD_INFORMATION);
    case FileInternalInformation: return sizeof(FILE_INTERNAL_INFORMATION);
    case FileEaInformation: return sizeof(FILE_EA_INFORMATION);
    case FileAccessInformation: return sizeof(FILE_ACCESS_INFORMATION);
    case FileNameInformation: return sizeof(FILE_NAME_INFORMATION);
    case FilePositionInformation: return sizeof(FILE_POSITION_INFORMATION);
    case FileModeInformation: return sizeof(FILE_MODE_INFORMATION);
    case FileAlignmentInformation: return sizeof(FILE_ALIGNMENT_INFORMATION);
    case FileAllInformation: return sizeof(FILE_ALL_INFORMATION);
    case FileAlternateNameInformation: return sizeof(FILE_NAME_INFORMATION);
    case FileNetworkOpenInformation: return sizeof(FILE_NETWORK_OPEN_INFORMATION);
    case FileStreamInformation: return 24;
    case FileAttributeTagInformation: return 8;
    default: return 0;
    }
}

static ULONG IopSetLength(FILE_INFORMATION_CLASS Class)
{
    switch (Class) {
    case FileBasicInformation: return sizeof(FILE_BASIC_INFORMATION);
    case FileRenameInformation: return 24;
    case FileLinkInformation: return 24;
    case FileDispositionInformation: return sizeof(FILE_DISPOSITION_INFORMATION);
    case FilePositionInformation: return sizeof(FILE_POSITION_INFORMATION);
    case FileModeInformation: return sizeof(FILE_MODE_INFORMATION);
    case FileAllocationInformation: return sizeof(FILE_ALLOCATION_INFORMATION);
    case FileEndOfFileInformation: return sizeof(FILE_END_OF_FILE_INFORMATION);
    case FileValidDataLengthInformation: return sizeof(LARGE_INTEGER);
    default: return 0;
    }
}

#define IOP_MODE_BITS                                                                                          \
    (FILE_WRITE_THROUGH | FILE_SEQUENTIAL_ONLY | FILE_NO_INTERMEDIATE_BUFFERING | FILE_SYNCHRONOUS_IO_ALERT | \
     FILE_SYNCHRONOUS_IO_NONALERT | FILE_DELETE_ON_CLOSE)

static ULONG IopModeOf(PFILE_OBJECT File)
{
    ULONG mode = 0;
    if (File->Flags & FO_WRITE_THROUGH)
        mode |= FILE_WRITE_THROUGH;
    if (File->Flags & FO_SEQUENTIAL_ONLY)
        mode |= FILE_SEQUENTIAL_ONLY;
    if (File->Flags & FO_NO_INTERMEDIATE_BUFFERING)
        mode |= FILE_NO_INTERMEDIATE_BUFFERING;
    if (File->Flags & FO_SYNCHRONOUS_IO)
        mode |= (File->Flags & FO_ALERTABLE_IO) ? FILE_SYNCHRONOUS_IO_ALERT : FILE_SYNCHRONOUS_IO_NONALERT;
    if (File->Flags & FO_DELETE_ON_CLOSE)
        mode |= FILE_DELETE_ON_CLOSE;
    return mode;
}

static NTSTATUS IopQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                        ULONG Length, FILE_INFORMATION_CLASS Class, KPROCESSOR_MODE Mode)
{
    if (IoStatusBlock == NULL)
        return STATUS_INVALID_PARAMETER;
    if ((ULONG)Class == 0 || (ULONG)Class >= FileMaximumInformation || IopQueryLength(Class) == 0)
        return STATUS_INVALID_INFO_CLASS;
    if (Length < IopQueryLength(Class))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (FileInformation == NULL)
        return STATUS_INVALID_PARAMETER;
    IOP_CALL call;
    NTSTATUS status = IopBeginCall(&call, FileHandle, 0, NULL, Mode);
    if (!NT_SUCCESS(status))
        return status;
    PFILE_OBJECT file = call.File;
    /* What the I/O manager knows itself is answered without the driver. */
    ULONG_PTR info = 0;
    BOOLEAN local = TRUE;
    switch (Class) {
    case FileAccessInformation:
        ((PFILE_ACCESS_INFORMATION)FileInformation)->AccessFlags = call.Granted;
        info = sizeof(FILE_ACCESS_INFORMATION);
        break;
    case FileModeInformation:
        ((PFILE_MODE_INFORMATION)FileInformation)->Mode = IopModeOf(file);
        info = sizeof(FILE_MODE_INFORMATION);
        break;
    case FileAlignmentInformation:
        ((PFILE_ALIGNMENT_INFORMATION)FileInformation)->AlignmentRequirement = call.Device->AlignmentRequirement;
        info = sizeof(FILE_ALIGNMENT_INFORMATION);
        break;
    case FilePositionInformation:
        /* Only a synchronous file has a position the I/O manager keeps. */
        local = call.Synchronous;
        if (local) {
            status = IopLockIfSynchronous(&call);
            if (!NT_SUCCESS(status))
                return IopAbortCall(&call, status);
            ((PFILE_POSITION_INFORMATION)FileInformation)->CurrentByteOffset = file->CurrentByteOffset;
            info = sizeof(FILE_POSITION_INFORMATION);
        }
        break;
    default:
        local = FALSE;
        break;
    }
    if (local) {
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = info;
        return IopAbortCall(&call, STATUS_SUCCESS);
    }
    PIRP irp =
        IopStartInformationIrp(&call, IoStatusBlock, IRP_MJ_QUERY_INFORMATION, Length, NULL, FileInformation, &status);
    if (irp == NULL)
        return status;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->Parameters.QueryFile.Length = Length;
    sp->Parameters.QueryFile.FileInformationClass = Class;
    return IopCallService(&call, irp, IoStatusBlock, NULL);
}

NTSTATUS NTAPI ZwQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                      ULONG Length, FILE_INFORMATION_CLASS FileInformationClass)
{
    return IopQueryInformationFile(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass,
                                   KernelMode);
}

NTSTATUS NTAPI NtQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                      ULONG Length, FILE_INFORMATION_CLASS FileInformationClass)
{
    return IopQueryInformationFile(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass,
                                   ExGetPreviousMode());
}

static NTSTATUS IopSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                      ULONG Length, FILE_INFORMATION_CLASS Class, KPROCESSOR_MODE Mode)
{
    if (IoStatusBlock == NULL)
        return STATUS_INVALID_PARAMETER;
    if ((ULONG)Class == 0 || (ULONG)Class >= FileMaximumInformation || IopSetLength(Class) == 0)
        return STATUS_INVALID_INFO_CLASS;
    if (Length < IopSetLength(Class))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (FileInformation == NULL)
        return STATUS_INVALID_PARAMETER;
    IOP_CALL call;
    NTSTATUS status = IopBeginCall(&call, FileHandle, 0, NULL, Mode);
    if (!NT_SUCCESS(status))
        return status;
    PFILE_OBJECT file = call.File;
    if (Class == FileModeInformation) {
        /* Only the caching hints may change, and a synchronous file stays
         * synchronous (and the reverse). */
        ULONG mode = ((PFILE_MODE_INFORMATION)FileInformation)->Mode;
        ULONG sync = mode & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT);
        if ((mode & ~IOP_MODE_BITS) || (mode & (FILE_NO_INTERMEDIATE_BUFFERING | FILE_DELETE_ON_CLOSE)) ||
            sync == (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT) ||
            (sync != 0) != call.Synchronous)
            return IopAbortCall(&call, STATUS_INVALID_PARAMETER);
        ULONG set = ((mode & FILE_WRITE_THROUGH) ? FO_WRITE_THROUGH : 0) |
                    ((mode & FILE_SEQUENTIAL_ONLY) ? FO_SEQUENTIAL_ONLY : 0) |
                    ((mode & FILE_SYNCHRONOUS_IO_ALERT) ? FO_ALERTABLE_IO : 0);
        __atomic_and_fetch(&file->Flags, ~(ULONG)(FO_WRITE_THROUGH | FO_SEQUENTIAL_ONLY | FO_ALERTABLE_IO),
                           __ATOMIC_RELAXED);
        __atomic_or_fetch(&file->Flags, set, __ATOMIC_RELAXED);
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = 0;
        return IopAbortCall(&call, STATUS_SUCCESS);
    }
    if (Class == FilePositionInformation && call.Synchronous) {
        LARGE_INTEGER pos = ((PFILE_POSITION_INFORMATION)FileInformation)->CurrentByteOffset;
        /* Unbuffered files move only in sector-aligned steps. */
        if (pos.QuadPart < 0 || ((file->Flags & FO_NO_INTERMEDIATE_BUFFERING) &&
                                 (pos.LowPart & call.Device->AlignmentRequirement) != 0))
            return IopAbortCall(&call, STATUS_INVALID_PARAMETER);
        status = IopLockIfSynchronous(&call);
        if (!NT_SUCCESS(status))
            return IopAbortCall(&call, status);
        file->CurrentByteOffset = pos;
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = 0;
        return IopAbortCall(&call, STATUS_SUCCESS);
    }
    PIRP irp =
        IopStartInformationIrp(&call, IoStatusBlock, IRP_MJ_SET_INFORMATION, Length, FileInformation, NULL, &status);
    if (irp == NULL)
        return status;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->Parameters.SetFile.Length = Length;
    sp->Parameters.SetFile.FileInformationClass = Class;
    return IopCallService(&call, irp, IoStatusBlock, NULL);
}

NTSTATUS NTAPI ZwSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                    ULONG Length, FILE_INFORMATION_CLASS FileInformationClass)
{
    return IopSetInformationFile(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass, KernelMode);
}

NTSTATUS NTAPI NtSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation,
                                    ULONG Length, FILE_INFORMATION_CLASS FileInformationClass)
{
    return IopSetInformationFile(FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass,
                                 ExGetPreviousMode());
}

/* ---- volume information ----------------------------------------------------------------------------------- */

NTSTATUS NTAPI ZwQueryVolumeInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID FsInformation,
                                            ULONG Length, FS_INFORMATION_CLASS FsInformationClass)
{
    if (IoStatusBlock == NULL)
        return STATUS_INVALID_PARAMETER;
    if ((ULONG)FsInformationClass == 0 || (ULONG)FsInformationClass >= FileFsMaximumInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (FsInformation == NULL || Length == 0)
        return STATUS_INFO_LENGTH_MISMATCH;
    IOP_CALL call;
    NTSTATUS status = IopBeginCall(&call, FileHandle, 0, NULL, KernelMode);
    if (!NT_SUCCESS(status))
        return status;
    if (FsInformationClass == FileFsDeviceInformation) {
        /* The device's own type and characteristics (the one the file was
         * opened on, not a filter above it). */
        if (Length < sizeof(FILE_FS_DEVICE_INFORMATION))
            return IopAbortCall(&call, STATUS_INFO_LENGTH_MISMATCH);
        PDEVICE_OBJECT device = call.File->DeviceObject;
        PFILE_FS_DEVICE_INFORMATION info = FsInformation;
        info->DeviceType = device->DeviceType;
        info->Characteristics = device->Characteristics;
        if (device->Vpb != NULL && device->Vpb->DeviceObject != NULL)
            info->Characteristics |= FILE_DEVICE_IS_MOUNTED;
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = sizeof(*info);
        return IopAbortCall(&call, STATUS_SUCCESS);
    }
    PIRP irp =
        IopStartInformationIrp(&call, IoStatusBlock, IRP_MJ_QUERY_VOLUME_INFORMATION, Length, NULL, FsInformation, &status);
    if (irp == NULL)
        return status;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->Parameters.QueryVolume.Length = Length;
    sp->Parameters.QueryVolume.FsInformationClass = FsInformationClass;
    return IopCallService(&call, irp, IoStatusBlock, NULL);
}

/* ---- cancel --------------------------------------------------------------------------------------------- */

NTSTATUS NTAPI ZwCancelIoFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock)
{
    if (IoStatusBlock == NULL)
        return STATUS_INVALID_PARAMETER;
    PFILE_OBJECT file;
    NTSTATUS status = ObReferenceObjectByHandle(FileHandle, 0, IoFileObjectType, KernelMode, (PVOID *)&file, NULL);
    if (!NT_SUCCESS(status))
        return status;
    /* The calling thread's requests on this file: the list is the thread's
     * own and only changes at APC_LEVEL in this thread, so raising to
     * APC_LEVEL makes the walk safe; cancel routines run at DISPATCH_LEVEL. */
    PETHREAD thread = PsGetCurrentThread();
    BOOLEAN listed = KeGetCurrentThread()->ExecutiveThread; /* bare Ke threads keep no IRP list */
    BOOLEAN any = FALSE;
    KIRQL irql;
    KeRaiseIrql(APC_LEVEL, &irql);
    if (listed) {
        for (PLIST_ENTRY e = thread->IrpList.Flink; e != &thread->IrpList; e = e->Flink) {
            PIRP irp = CONTAINING_RECORD(e, IRP, ThreadListEntry);
            /* A completed IRP waiting for its APC (which cannot run at
             * APC_LEVEL, so its memory stays) has its Tail overlaid: skip it. */
            if (irp->CurrentLocation <= irp->StackCount && irp->Tail.Overlay.OriginalFileObject == file) {
                IoCancelIrp(irp);
                any = TRUE;
            }
        }
    }
    KeLowerIrql(irql);
    /* Wait (bounded, as NT does) for the cancelled requests to finish. */
    for (int i = 0; any && i < 1000; i++) {
        BOOLEAN pending = FALSE;
        KeRaiseIrql(APC_LEVEL, &irql);
        if (listed)
            for (PLIST_ENTRY e = thread->IrpList.Flink; e != &thread->IrpList && !pending; e = e->Flink)
            {
                PIRP irp = CONTAINING_RECORD(e, IRP, ThreadListEntry);
                pending = irp->CurrentLocation <= irp->StackCount && irp->Tail.Overlay.OriginalFileObject == file;
            }
        KeLowerIrql(irql);
        if (!pending)
            break;
        LARGE_INTEGER delay = {.QuadPart = -10 * 1000 * 10};
        KeDelayExecutionThread(KernelMode, FALSE, &delay);
    }
    ObDereferenceObject(file);
    IoStatusBlock->Status = STATUS_SUCCESS;
    IoStatusBlock->Information = 0;
    return STATUS_SUCCESS;
}
