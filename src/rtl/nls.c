/*
 * National-language support used by the Rtl string routines: single-character
 * case mapping and the system ANSI code page.
 *
 * NT keeps one case table for the whole system (it is what makes object and
 * file names case-insensitive), so the mapping here is locale independent:
 * Unicode simple 1:1 case mapping over the BMP, generated into nls_tables.h by
 * tools/gen_case_tables.py. Characters without a single-character counterpart
 * (U+00DF, ligatures, ...) map to themselves.
 *
 * The ANSI code page is Windows-1252, the ACP of a Western-European install,
 * which is the code page drivers see through RtlAnsiStringToUnicodeString and
 * friends. It is a single-byte code page, so every byte is one character and
 * the size computations are exact.
 */
#include <ntos/rtl.h>

#include "nls_tables.h"

#define RTLP_ANSI_DEFAULT_CHAR '?'

/* Returns c mapped through a run table, or c when no run covers it. */
static WCHAR RtlpCaseLookup(const RTLP_CASE_RUN *Runs, ULONG Count, WCHAR c)
{
    ULONG lo = 0, hi = Count;

    /* Find the last run whose First <= c. */
    while (lo < hi) {
        ULONG mid = lo + (hi - lo) / 2;
        if (Runs[mid].First <= c)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return c;
    const RTLP_CASE_RUN *run = &Runs[lo - 1];
    if (c > run->Last || ((ULONG)(c - run->First) % run->Step) != 0)
        return c;
    return (WCHAR)(c + run->Delta);
}

NTSYSAPI WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
    /* ASCII is by far the common case in names; keep it off the table. */
    if (SourceCharacter < 0x80) {
        if (SourceCharacter >= 'a' && SourceCharacter <= 'z')
            return (WCHAR)(SourceCharacter - ('a' - 'A'));
        return SourceCharacter;
    }
    return RtlpCaseLookup(RtlpUpcaseRuns, RTL_NUMBER_OF(RtlpUpcaseRuns), SourceCharacter);
}

NTSYSAPI WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter)
{
    if (SourceCharacter < 0x80) {
        if (SourceCharacter >= 'A' && SourceCharacter <= 'Z')
            return (WCHAR)(SourceCharacter + ('a' - 'A'));
        return SourceCharacter;
    }
    return RtlpCaseLookup(RtlpDowncaseRuns, RTL_NUMBER_OF(RtlpDowncaseRuns), SourceCharacter);
}

/*
 * Windows-1252 bytes 0x80-0x9F; every other byte is its own code point. The five
 * bytes the code page leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) decode to
 * the C1 control of the same value, as Windows' table does, so any byte string
 * survives a round trip through Unicode.
 */
static const WCHAR RtlpAnsi80To9F[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static WCHAR RtlpAnsiToUnicodeChar(UCHAR c)
{
    if (c >= 0x80 && c <= 0x9F)
        return RtlpAnsi80To9F[c - 0x80];
    return c;
}

static CHAR RtlpUnicodeToAnsiChar(WCHAR c)
{
    if (c < 0x80 || (c >= 0xA0 && c <= 0xFF))
        return (CHAR)c;
    /* Only 32 candidates remain; anything else has no 1252 byte. */
    for (ULONG i = 0; i < RTL_NUMBER_OF(RtlpAnsi80To9F); i++) {
        if (RtlpAnsi80To9F[i] == c)
            return (CHAR)(0x80 + i);
    }
    return RTLP_ANSI_DEFAULT_CHAR;
}

/* Bytes needed for the Unicode form of AnsiString, including the terminator. */
NTSYSAPI ULONG NTAPI RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
    return ((ULONG)AnsiString->Length + 1) * sizeof(WCHAR);
}

/* Bytes needed for the ANSI form of UnicodeString, including the terminator. An
 * odd trailing byte is not a character and is not counted. */
NTSYSAPI ULONG NTAPI RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
    return ((ULONG)UnicodeString->Length + sizeof(WCHAR)) / sizeof(WCHAR);
}

NTSYSAPI NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                                     PCANSI_STRING SourceString,
                                                     BOOLEAN AllocateDestinationString)
{
    if (DestinationString == NULL || SourceString == NULL)
        return STATUS_INVALID_PARAMETER;

    ULONG size = RtlxAnsiStringToUnicodeSize(SourceString);
    /* The result, terminator included, must be describable by a USHORT. */
    if (size > MAXUSHORT)
        return STATUS_INVALID_PARAMETER_2;

    const UCHAR *src = (const UCHAR *)SourceString->Buffer;
    ULONG chars = SourceString->Length;
    PWSTR dst;

    if (AllocateDestinationString) {
        dst = RtlpAllocatePool(size, RTL_STRING_POOL_TAG);
        if (dst == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = dst;
        DestinationString->MaximumLength = (USHORT)size;
    } else {
        /* The caller's buffer must take the whole string and its terminator;
         * a partial conversion is never produced. */
        if (DestinationString->MaximumLength < size)
            return STATUS_BUFFER_OVERFLOW;
        dst = DestinationString->Buffer;
    }

    for (ULONG i = 0; i < chars; i++)
        dst[i] = RtlpAnsiToUnicodeChar(src[i]);
    dst[chars] = UNICODE_NULL;
    DestinationString->Length = (USHORT)(chars * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                                     PCUNICODE_STRING SourceString,
                                                     BOOLEAN AllocateDestinationString)
{
    if (DestinationString == NULL || SourceString == NULL)
        return STATUS_INVALID_PARAMETER;

    ULONG size = RtlxUnicodeStringToAnsiSize(SourceString);
    if (size > MAXUSHORT)
        return STATUS_INVALID_PARAMETER_2;

    const WCHAR *src = SourceString->Buffer;
    ULONG chars = size - 1;
    NTSTATUS status = STATUS_SUCCESS;
    PCHAR dst;

    if (AllocateDestinationString) {
        dst = RtlpAllocatePool(size, RTL_STRING_POOL_TAG);
        if (dst == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = dst;
        DestinationString->MaximumLength = (USHORT)size;
    } else {
        dst = DestinationString->Buffer;
        if (DestinationString->MaximumLength < size) {
            /* NT converts what fits (keeping room for the terminator) and
             * reports the truncation as STATUS_BUFFER_OVERFLOW. With no room at
             * all there is nothing to write, and the destination is left as is
             * rather than given a Length beyond its MaximumLength. */
            if (DestinationString->MaximumLength == 0)
                return STATUS_BUFFER_OVERFLOW;
            chars = DestinationString->MaximumLength - 1u;
            status = STATUS_BUFFER_OVERFLOW;
        }
    }

    for (ULONG i = 0; i < chars; i++)
        dst[i] = RtlpUnicodeToAnsiChar(src[i]);
    dst[chars] = ANSI_NULL;
    DestinationString->Length = (USHORT)chars;
    return status;
}
