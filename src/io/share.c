/*
 * Share access: the bookkeeping file systems and drivers keep per file
 * (SHARE_ACCESS) to decide whether one more open may coexist with the opens
 * already there (IoCheckShareAccess, IoSetShareAccess, IoUpdateShareAccess,
 * IoRemoveShareAccess).
 *
 * The documented rules: an open "reads" with FILE_READ_DATA or FILE_EXECUTE,
 * "writes" with FILE_WRITE_DATA or FILE_APPEND_DATA, "deletes" with DELETE.
 * An open that does none of these (attributes only) never conflicts and is
 * not counted. Otherwise it conflicts when it wants an access an existing
 * open does not share, or refuses to share an access an existing open has.
 *
 * Locking: none; the caller serialises on its own file control block, as on
 * NT. Any IRQL the caller's lock allows.
 */
#include "iop.h"

typedef struct {
    BOOLEAN Read, Write, Delete;
    BOOLEAN SharedRead, SharedWrite, SharedDelete;
} IOP_SHARE;

static IOP_SHARE IopClassify(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess)
{
    IOP_SHARE s;
    s.Read = (DesiredAccess & (FILE_EXECUTE | FILE_READ_DATA)) != 0;
    s.Write = (DesiredAccess & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
    s.Delete = (DesiredAccess & DELETE) != 0;
    s.SharedRead = (DesiredShareAccess & FILE_SHARE_READ) != 0;
    s.SharedWrite = (DesiredShareAccess & FILE_SHARE_WRITE) != 0;
    s.SharedDelete = (DesiredShareAccess & FILE_SHARE_DELETE) != 0;
    return s;
}

static VOID IopRecord(PFILE_OBJECT FileObject, const IOP_SHARE *s)
{
    FileObject->ReadAccess = s->Read;
    FileObject->WriteAccess = s->Write;
    FileObject->DeleteAccess = s->Delete;
}

static VOID IopCount(PSHARE_ACCESS ShareAccess, PFILE_OBJECT FileObject, LONG Sign)
{
    ShareAccess->OpenCount += (ULONG)Sign;
    if (FileObject->ReadAccess)
        ShareAccess->Readers += (ULONG)Sign;
    if (FileObject->WriteAccess)
        ShareAccess->Writers += (ULONG)Sign;
    if (FileObject->DeleteAccess)
        ShareAccess->Deleters += (ULONG)Sign;
    if (FileObject->SharedRead)
        ShareAccess->SharedRead += (ULONG)Sign;
    if (FileObject->SharedWrite)
        ShareAccess->SharedWrite += (ULONG)Sign;
    if (FileObject->SharedDelete)
        ShareAccess->SharedDelete += (ULONG)Sign;
}

static BOOLEAN IopAnyAccess(PFILE_OBJECT FileObject)
{
    return FileObject->ReadAccess || FileObject->WriteAccess || FileObject->DeleteAccess;
}

NTSTATUS NTAPI IoCheckShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                                  PSHARE_ACCESS ShareAccess, BOOLEAN Update)
{
    IOP_SHARE s = IopClassify(DesiredAccess, DesiredShareAccess);
    IopRecord(FileObject, &s);
    if (!s.Read && !s.Write && !s.Delete)
        return STATUS_SUCCESS;
    ULONG opens = ShareAccess->OpenCount;
    if ((s.Read && ShareAccess->SharedRead < opens) || (s.Write && ShareAccess->SharedWrite < opens) ||
        (s.Delete && ShareAccess->SharedDelete < opens) || (ShareAccess->Readers != 0 && !s.SharedRead) ||
        (ShareAccess->Writers != 0 && !s.SharedWrite) || (ShareAccess->Deleters != 0 && !s.SharedDelete))
        return STATUS_SHARING_VIOLATION;
    FileObject->SharedRead = s.SharedRead;
    FileObject->SharedWrite = s.SharedWrite;
    FileObject->SharedDelete = s.SharedDelete;
    if (Update)
        IopCount(ShareAccess, FileObject, 1);
    return STATUS_SUCCESS;
}

VOID NTAPI IoSetShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                            PSHARE_ACCESS ShareAccess)
{
    IOP_SHARE s = IopClassify(DesiredAccess, DesiredShareAccess);
    IopRecord(FileObject, &s);
    RtlZeroMemory(ShareAccess, sizeof(*ShareAccess));
    if (!s.Read && !s.Write && !s.Delete) {
        FileObject->SharedRead = FileObject->SharedWrite = FileObject->SharedDelete = FALSE;
        return;
    }
    FileObject->SharedRead = s.SharedRead;
    FileObject->SharedWrite = s.SharedWrite;
    FileObject->SharedDelete = s.SharedDelete;
    IopCount(ShareAccess, FileObject, 1);
}

VOID NTAPI IoUpdateShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    if (IopAnyAccess(FileObject))
        IopCount(ShareAccess, FileObject, 1);
}

VOID NTAPI IoRemoveShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    if (IopAnyAccess(FileObject))
        IopCount(ShareAccess, FileObject, -1);
}
