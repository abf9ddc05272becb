/*
 * Reader for "newc" cpio archives (the format `cpio -H newc` and the Linux
 * initramfs use; magic "070701", or "070702" with a checksum field that is
 * not verified here): the container for boot modules on bare metal.
 *
 * Layout, per member: a 110-byte ASCII header (magic, then 13 fields of 8
 * hex digits: ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
 * devminor, rdevmajor, rdevminor, namesize, check), the name (namesize
 * bytes including its NUL), padding to a 4-byte boundary, the data
 * (filesize bytes), padding to a 4-byte boundary. The member named
 * "TRAILER!!!" ends the archive.
 *
 * The reader never reads outside [Archive, Archive + Size): every length is
 * checked against what is left before it is used, so a truncated or hostile
 * archive yields CPIO_MALFORMED with a reason, never a fault. No state, no
 * allocation: any IRQL, any thread.
 */
#ifndef NTOS_BOOT_CPIO_H
#define NTOS_BOOT_CPIO_H

#include <ntos/ntdef.h>

#define CPIO_MODE_TYPE 0170000u
#define CPIO_MODE_REGULAR 0100000u

typedef struct _CPIO_MEMBER {
    const char *Name;     /* NUL-terminated, inside the archive */
    const void *Data;     /* inside the archive */
    SIZE_T Size;
    ULONG Mode;
} CPIO_MEMBER;

typedef enum _CPIO_RESULT {
    CPIO_MEMBER_FOUND = 1,
    CPIO_END = 0,          /* the trailer was reached */
    CPIO_MALFORMED = -1,
} CPIO_RESULT;

/* TRUE when Data starts like a newc archive (the magic). */
BOOLEAN CpioLooksLikeArchive(const void *Data, SIZE_T Size);

/* Reads the member at *Offset (start with 0) and advances *Offset past it.
 * On CPIO_MALFORMED, *Reason says what was wrong (static text). An archive
 * that ends without a trailer is malformed. */
CPIO_RESULT CpioNextMember(const void *Archive, SIZE_T Size, SIZE_T *Offset, CPIO_MEMBER *Member,
                           const char **Reason);

/* The last path component of a member name ("drivers/x.sys" -> "x.sys"). */
const char *CpioBaseName(const char *Name);

#endif /* NTOS_BOOT_CPIO_H */
