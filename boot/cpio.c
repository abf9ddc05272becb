/*
 * newc cpio reader; format and guarantees in cpio.h.
 */
#include "cpio.h"

#define CPIO_HEADER_SIZE 110
#define CPIO_FIELD_MODE 1
#define CPIO_FIELD_FILESIZE 6
#define CPIO_FIELD_NAMESIZE 11

BOOLEAN CpioLooksLikeArchive(const void *Data, SIZE_T Size)
{
    const UCHAR *p = Data;
    return Data != NULL && Size >= 6 && p[0] == '0' && p[1] == '7' && p[2] == '0' && p[3] == '7' && p[4] == '0' &&
           (p[5] == '1' || p[5] == '2');
}

/* One 8-digit hex field; FALSE on any non-hex digit. */
static BOOLEAN hex_field(const UCHAR *Header, ULONG Index, ULONG *Value)
{
    const UCHAR *f = Header + 6 + 8 * Index;
    ULONG v = 0;
    for (ULONG i = 0; i < 8; i++) {
        UCHAR c = f[i];
        ULONG d;
        if (c >= '0' && c <= '9')
            d = (ULONG)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (ULONG)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (ULONG)(c - 'A' + 10);
        else
            return FALSE;
        v = (v << 4) | d;
    }
    *Value = v;
    return TRUE;
}

/* Offset rounded up to 4, or FALSE when that passes Size. */
static BOOLEAN align4(SIZE_T *Offset, SIZE_T Size)
{
    SIZE_T a = (*Offset + 3) & ~(SIZE_T)3;
    if (a < *Offset || a > Size)
        return FALSE;
    *Offset = a;
    return TRUE;
}

static BOOLEAN names_equal(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

CPIO_RESULT CpioNextMember(const void *Archive, SIZE_T Size, SIZE_T *Offset, CPIO_MEMBER *Member,
                           const char **Reason)
{
    const UCHAR *base = Archive;
    SIZE_T off = *Offset;
    ULONG mode, filesize, namesize;
    *Reason = NULL;
    if (Archive == NULL || off > Size || Size - off < CPIO_HEADER_SIZE) {
        *Reason = "archive ends without a trailer (truncated header)";
        return CPIO_MALFORMED;
    }
    const UCHAR *h = base + off;
    if (!CpioLooksLikeArchive(h, CPIO_HEADER_SIZE)) {
        *Reason = "bad member magic (not a newc cpio header)";
        return CPIO_MALFORMED;
    }
    for (ULONG i = 0; i < 13; i++) {
        ULONG ignored;
        if (!hex_field(h, i, &ignored)) {
            *Reason = "non-hex digit in a header field";
            return CPIO_MALFORMED;
        }
    }
    hex_field(h, CPIO_FIELD_MODE, &mode);
    hex_field(h, CPIO_FIELD_FILESIZE, &filesize);
    hex_field(h, CPIO_FIELD_NAMESIZE, &namesize);
    off += CPIO_HEADER_SIZE;
    if (namesize == 0 || namesize > Size - off) {
        *Reason = "member name runs past the end of the archive";
        return CPIO_MALFORMED;
    }
    const char *name = (const char *)(base + off);
    /* The name is exactly namesize bytes with its only NUL at the end. */
    for (ULONG i = 0; i + 1 < namesize; i++) {
        if (name[i] == 0) {
            *Reason = "member name contains a NUL before its end";
            return CPIO_MALFORMED;
        }
    }
    if (name[namesize - 1] != 0) {
        *Reason = "member name is not NUL-terminated";
        return CPIO_MALFORMED;
    }
    off += namesize;
    if (!align4(&off, Size)) {
        *Reason = "name padding runs past the end of the archive";
        return CPIO_MALFORMED;
    }
    if (names_equal(name, "TRAILER!!!")) {
        *Offset = Size;
        return CPIO_END;
    }
    if (filesize > Size - off) {
        *Reason = "member data runs past the end of the archive";
        return CPIO_MALFORMED;
    }
    Member->Name = name;
    Member->Data = base + off;
    Member->Size = filesize;
    Member->Mode = mode;
    off += filesize;
    /* The last member's data padding may be cut off only if the trailer
     * follows, which the next call then reports as truncated. */
    if (!align4(&off, Size))
        off = Size;
    *Offset = off;
    return CPIO_MEMBER_FOUND;
}

const char *CpioBaseName(const char *Name)
{
    const char *base = Name;
    for (const char *p = Name; *p; p++)
        if (*p == '/' && p[1] != 0)
            base = p + 1;
    return base;
}
