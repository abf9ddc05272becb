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
