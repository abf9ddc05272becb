/*
 * UTF-8 <-> UTF-16 conversion (RtlUTF8ToUnicodeN, RtlUnicodeToUTF8N).
 *
 * Both follow the documented protocol: a NULL destination asks for the size
 * the whole output needs; a destination too small gets as many complete
 * characters as fit, the byte count written and STATUS_BUFFER_TOO_SMALL (a
 * surrogate pair or a multi-byte sequence is never split); invalid input is
 * replaced by U+FFFD and reported as the success code STATUS_SOME_NOT_MAPPED.
 *
 * "Invalid" is what Unicode calls ill-formed: for UTF-8, overlong forms,
 * encoded surrogates (ED A0..BF), values above U+10FFFF, stray continuation
 * bytes and truncated sequences; each maximal ill-formed subpart becomes one
 * U+FFFD (the Unicode recommended practice), so a truncated 3-byte sequence
 * costs one replacement, not three. For UTF-16, an unpaired surrogate.
 * Output is NUL-terminated only when the input contains the NUL.
 */
#include <ntos/rtl.h>

#define REPLACEMENT 0xFFFDu

/* Decodes one code point at s[0..n); returns the bytes consumed (>= 1) and
 * sets *Cp (REPLACEMENT with *Bad for an ill-formed subpart). */
static ULONG utf8_decode(const UCHAR *s, ULONG n, ULONG *Cp, BOOLEAN *Bad)
{
    UCHAR b = s[0];
    ULONG need, cp;
    UCHAR lo = 0x80, hi = 0xBF;

    *Bad = FALSE;
    if (b < 0x80) {
        *Cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        cp = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0; /* below: overlong */
        else if (b == 0xED)
            hi = 0x9F; /* above: a surrogate */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        cp = b & 0x07;
        if (b == 0xF0)
            lo = 0x90; /* below: overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
        /* 80..C1 (continuation or overlong lead) and F5..FF never start a character. */
        *Cp = REPLACEMENT;
        *Bad = TRUE;
        return 1;
    }
    for (ULONG i = 1; i <= need; i++) {
        UCHAR c;
        if (i >= n) {
            *Cp = REPLACEMENT;
            *Bad = TRUE;
            return i;
        }
        c = s[i];
        if (c < lo || c > hi) {
            *Cp = REPLACEMENT;
            *Bad = TRUE;
            return i;
        }
        lo = 0x80;
        hi = 0xBF;
        cp = (cp << 6) | (c & 0x3F);
    }
    *Cp = cp;
    return need + 1;
}

NTSYSAPI NTSTATUS NTAPI RtlUTF8ToUnicodeN(PWSTR UnicodeStringDestination, ULONG UnicodeStringMaxByteCount,
                                          PULONG UnicodeStringActualByteCount, PCCH UTF8StringSource,
                                          ULONG UTF8StringByteCount)
{
    const UCHAR *s = (const UCHAR *)UTF8StringSource;
    ULONG maxUnits = UnicodeStringMaxByteCount / sizeof(WCHAR);
    ULONG written = 0; /* in WCHARs */
    BOOLEAN someBad = FALSE;

    if (!UTF8StringSource)
        return STATUS_INVALID_PARAMETER_4;
    if (!UnicodeStringActualByteCount)
        return STATUS_INVALID_PARAMETER;

    for (ULONG i = 0; i < UTF8StringByteCount;) {
        ULONG cp;
        BOOLEAN bad;
        ULONG units;

        i += utf8_decode(s + i, UTF8StringByteCount - i, &cp, &bad);
        someBad |= bad;
        units = cp >= 0x10000 ? 2 : 1;
        if (UnicodeStringDestination) {
            if (written + units > maxUnits) {
                *UnicodeStringActualByteCount = written * sizeof(WCHAR);
                return STATUS_BUFFER_TOO_SMALL;
            }
            if (units == 2) {
                cp -= 0x10000;
                UnicodeStringDestination[written] = (WCHAR)(0xD800 + (cp >> 10));
                UnicodeStringDestination[written + 1] = (WCHAR)(0xDC00 + (cp & 0x3FF));
            } else {
                UnicodeStringDestination[written] = (WCHAR)cp;
            }
        }
        written += units;
        if (written > MAXULONG / sizeof(WCHAR) - 2) {
            /* The byte count no longer fits a ULONG: the caller's request is too big. */
            *UnicodeStringActualByteCount = 0;
            return STATUS_INVALID_PARAMETER;
        }
    }
    *UnicodeStringActualByteCount = written * sizeof(WCHAR);
    return someBad ? STATUS_SOME_NOT_MAPPED : STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlUnicodeToUTF8N(PCHAR UTF8StringDestination, ULONG UTF8StringMaxByteCount,
                                          PULONG UTF8StringActualByteCount, PCWCH UnicodeStringSource,
                                          ULONG UnicodeStringByteCount)
{
    ULONG units = UnicodeStringByteCount / sizeof(WCHAR);
    ULONG written = 0;
    BOOLEAN someBad = FALSE;

    if (!UnicodeStringSource)
        return STATUS_INVALID_PARAMETER_4;
    if (!UTF8StringActualByteCount)
        return STATUS_INVALID_PARAMETER;
    if (UnicodeStringByteCount % sizeof(WCHAR))
        return STATUS_INVALID_PARAMETER_5;

    for (ULONG i = 0; i < units; i++) {
        ULONG cp = UnicodeStringSource[i];
        UCHAR out[4];
        ULONG len;

        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < units && UnicodeStringSource[i + 1] >= 0xDC00 &&
            UnicodeStringSource[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (UnicodeStringSource[i + 1] - 0xDC00);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = REPLACEMENT;
            someBad = TRUE;
        }
        if (cp < 0x80) {
            out[0] = (UCHAR)cp;
            len = 1;
        } else if (cp < 0x800) {
            out[0] = (UCHAR)(0xC0 | (cp >> 6));
            out[1] = (UCHAR)(0x80 | (cp & 0x3F));
            len = 2;
        } else if (cp < 0x10000) {
            out[0] = (UCHAR)(0xE0 | (cp >> 12));
            out[1] = (UCHAR)(0x80 | ((cp >> 6) & 0x3F));
            out[2] = (UCHAR)(0x80 | (cp & 0x3F));
            len = 3;
        } else {
            out[0] = (UCHAR)(0xF0 | (cp >> 18));
            out[1] = (UCHAR)(0x80 | ((cp >> 12) & 0x3F));
            out[2] = (UCHAR)(0x80 | ((cp >> 6) & 0x3F));
            out[3] = (UCHAR)(0x80 | (cp & 0x3F));
            len = 4;
        }
        if (UTF8StringDestination) {
            if (written + len > UTF8StringMaxByteCount) {
                *UTF8StringActualByteCount = written;
                return STATUS_BUFFER_TOO_SMALL;
            }
            for (ULONG k = 0; k < len; k++)
                UTF8StringDestination[written + k] = (CHAR)out[k];
        }
        written += len; /* at most 3 bytes per input WCHAR: cannot overflow a ULONG */
    }
    *UTF8StringActualByteCount = written;
    return someBad ? STATUS_SOME_NOT_MAPPED : STATUS_SUCCESS;
}
