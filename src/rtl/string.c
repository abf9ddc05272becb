/*
 * Counted strings: UNICODE_STRING and ANSI_STRING/STRING.
 *
 * Length and MaximumLength are in bytes and a Buffer need not be terminated, so
 * every routine works from Length and never scans past it. Routines that write a
 * terminator do so only when a whole terminator fits below MaximumLength: a
 * caller that sized the buffer exactly gets no terminator, and nothing is ever
 * written at or beyond MaximumLength.
 *
 * An odd byte at the end of a UNICODE_STRING is not a character: routines that
 * work per character ignore it, routines that copy bytes copy it.
 */
#include <ntos/rtl.h>

/* The largest Length of a terminated UNICODE_STRING: MaximumLength must stay a
 * whole number of WCHARs in a USHORT (MAX_USTRING = 0xfffe in the WDK). */
#define RTLP_MAX_USTRING 0xfffe
#define RTLP_MAX_USTRING_LENGTH (RTLP_MAX_USTRING - sizeof(WCHAR))
#define RTLP_MAX_ASTRING_LENGTH (MAXUSHORT - sizeof(CHAR))

/* Overlap-safe byte copy: appends may take their source from the destination. */
static void RtlpMoveBytes(void *Destination, const void *Source, SIZE_T Length)
{
    UCHAR *d = Destination;
    const UCHAR *s = Source;

    if (d == s || Length == 0)
        return;
    if (d < s || d >= s + Length) {
        for (SIZE_T i = 0; i < Length; i++)
            d[i] = s[i];
    } else {
        for (SIZE_T i = Length; i > 0; i--)
            d[i - 1] = s[i - 1];
    }
}

/* Writes a WCHAR terminator at byte offset Length of a UNICODE_STRING buffer if
 * a whole one fits below MaximumLength. Byte stores, because an odd Length
 * leaves the terminator unaligned. */
static void RtlpTerminateUnicode(PUNICODE_STRING String)
{
    if ((ULONG)String->Length + sizeof(WCHAR) <= String->MaximumLength) {
        UCHAR *p = (UCHAR *)String->Buffer + String->Length;
        p[0] = 0;
        p[1] = 0;
    }
}

/* Counts the characters of a terminated wide string, stopping once the count
 * exceeds Limit: callers only need to know that it is too long, and a huge or
 * unterminated string must not be scanned further than that. */
static SIZE_T RtlpWideLength(PCWSTR String, SIZE_T Limit)
{
    SIZE_T n = 0;
    while (n <= Limit && String[n] != UNICODE_NULL)
        n++;
    return n;
}

static SIZE_T RtlpAnsiLength(PCSZ String, SIZE_T Limit)
{
    SIZE_T n = 0;
    while (n <= Limit && String[n] != ANSI_NULL)
        n++;
    return n;
}

/* ---- initialisation ---------------------------------------------------------- */

NTSYSAPI VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (DestinationString == NULL)
        return;
    DestinationString->Buffer = (PWSTR)SourceString;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        DestinationString->MaximumLength = 0;
        return;
    }
    SIZE_T bytes = RtlpWideLength(SourceString, RTLP_MAX_USTRING_LENGTH / sizeof(WCHAR)) *
                   sizeof(WCHAR);
    /* Documented cap: a longer string is described as MAX_USTRING - 2 bytes in a
     * MAX_USTRING buffer, which under-reports it but never overflows a USHORT. */
    if (bytes > RTLP_MAX_USTRING_LENGTH)
        bytes = RTLP_MAX_USTRING_LENGTH;
    DestinationString->Length = (USHORT)bytes;
    DestinationString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
}

NTSYSAPI NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (DestinationString == NULL)
        return STATUS_INVALID_PARAMETER;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        DestinationString->MaximumLength = 0;
        DestinationString->Buffer = NULL;
        return STATUS_SUCCESS;
    }
    SIZE_T bytes = RtlpWideLength(SourceString, RTLP_MAX_USTRING_LENGTH / sizeof(WCHAR)) *
                   sizeof(WCHAR);
    /* Unlike RtlInitUnicodeString this refuses rather than truncates, and leaves
     * the destination untouched. */
    if (bytes > RTLP_MAX_USTRING_LENGTH)
        return STATUS_NAME_TOO_LONG;
    DestinationString->Length = (USHORT)bytes;
    DestinationString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    DestinationString->Buffer = (PWSTR)SourceString;
    return STATUS_SUCCESS;
}

NTSYSAPI VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
    if (DestinationString == NULL)
        return;
    DestinationString->Buffer = (PCHAR)SourceString;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        DestinationString->MaximumLength = 0;
        return;
    }
    SIZE_T len = RtlpAnsiLength(SourceString, RTLP_MAX_ASTRING_LENGTH);
    if (len > RTLP_MAX_ASTRING_LENGTH)
        len = RTLP_MAX_ASTRING_LENGTH;
    DestinationString->Length = (USHORT)len;
    DestinationString->MaximumLength = (USHORT)(len + 1);
}

NTSYSAPI NTSTATUS NTAPI RtlInitAnsiStringEx(PANSI_STRING DestinationString, PCSZ SourceString)
{
    if (DestinationString == NULL)
        return STATUS_INVALID_PARAMETER;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        DestinationString->MaximumLength = 0;
        DestinationString->Buffer = NULL;
        return STATUS_SUCCESS;
    }
    SIZE_T len = RtlpAnsiLength(SourceString, RTLP_MAX_ASTRING_LENGTH);
    if (len > RTLP_MAX_ASTRING_LENGTH)
        return STATUS_NAME_TOO_LONG;
    DestinationString->Length = (USHORT)len;
    DestinationString->MaximumLength = (USHORT)(len + 1);
    DestinationString->Buffer = (PCHAR)SourceString;
    return STATUS_SUCCESS;
}

NTSYSAPI VOID NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
    RtlInitAnsiString(DestinationString, SourceString);
}

/* ---- copy and append --------------------------------------------------------- */

NTSYSAPI VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        return;
    }
    /* Documented: copies min(source Length, destination MaximumLength) bytes;
     * MaximumLength and Buffer are never changed. */
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    RtlpMoveBytes(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    RtlpTerminateUnicode(DestinationString);
}

NTSYSAPI VOID NTAPI RtlCopyString(PSTRING DestinationString, const STRING *SourceString)
{
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    RtlpMoveBytes(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
}

NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
    USHORT add = Source->Length;

    if (add == 0)
        return STATUS_SUCCESS;
    /* All or nothing: on failure neither Length nor the buffer changes. */
    if ((ULONG)Destination->Length + add > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    RtlpMoveBytes((UCHAR *)Destination->Buffer + Destination->Length, Source->Buffer, add);
    Destination->Length = (USHORT)(Destination->Length + add);
    RtlpTerminateUnicode(Destination);
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
    if (Source == NULL)
        return STATUS_SUCCESS;

    /* Anything longer than the destination can hold fails anyway; bounding the
     * scan by MaximumLength keeps it finite. */
    SIZE_T bytes = RtlpWideLength(Source, Destination->MaximumLength / sizeof(WCHAR)) * sizeof(WCHAR);
    if (bytes == 0)
        return STATUS_SUCCESS;
    if (Destination->Length + bytes > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    RtlpMoveBytes((UCHAR *)Destination->Buffer + Destination->Length, Source, bytes);
    Destination->Length = (USHORT)(Destination->Length + bytes);
    RtlpTerminateUnicode(Destination);
    return STATUS_SUCCESS;
}

/* ANSI appends are counted-only: NT writes no terminator after the new bytes. */
NTSYSAPI NTSTATUS NTAPI RtlAppendStringToString(PSTRING Destination, const STRING *Source)
{
    USHORT add = Source->Length;

    if (add == 0)
        return STATUS_SUCCESS;
    if ((ULONG)Destination->Length + add > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    RtlpMoveBytes(Destination->Buffer + Destination->Length, Source->Buffer, add);
    Destination->Length = (USHORT)(Destination->Length + add);
    return STATUS_SUCCESS;
}

/* ---- comparison -------------------------------------------------------------- */

/* Compares Count characters; returns the signed difference of the first pair that
 * differs (after upcasing both when case-insensitive), or 0. */
static LONG RtlpCompareWide(PCWCH s1, PCWCH s2, SIZE_T Count, BOOLEAN CaseInSensitive)
{
    for (SIZE_T i = 0; i < Count; i++) {
        WCHAR c1 = s1[i], c2 = s2[i];
        if (c1 == c2)
            continue;
        if (CaseInSensitive) {
            c1 = RtlUpcaseUnicodeChar(c1);
            c2 = RtlUpcaseUnicodeChar(c2);
            if (c1 == c2)
                continue;
        }
        return (LONG)c1 - (LONG)c2;
    }
    return 0;
}

NTSYSAPI LONG NTAPI RtlCompareUnicodeStrings(PCWCH String1, SIZE_T String1Length, PCWCH String2,
                                             SIZE_T String2Length, BOOLEAN CaseInSensitive)
{
    SIZE_T n = String1Length < String2Length ? String1Length : String2Length;
    LONG r = RtlpCompareWide(String1, String2, n, CaseInSensitive);

    if (r != 0)
        return r;
    /* Equal over the common part: the shorter string sorts first. The lengths
     * are SIZE_T, so only their order is returned. */
    if (String1Length == String2Length)
        return 0;
    return String1Length < String2Length ? -1 : 1;
}

NTSYSAPI LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                            BOOLEAN CaseInSensitive)
{
    USHORT n = String1->Length < String2->Length ? String1->Length : String2->Length;
    LONG r = RtlpCompareWide(String1->Buffer, String2->Buffer, n / sizeof(WCHAR), CaseInSensitive);

    if (r != 0)
        return r;
    return (LONG)String1->Length - (LONG)String2->Length;
}

NTSYSAPI BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                             BOOLEAN CaseInSensitive)
{
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlpCompareWide(String1->Buffer, String2->Buffer, String1->Length / sizeof(WCHAR),
                           CaseInSensitive) == 0;
}

/* TRUE when String1 is a prefix of String2. */
NTSYSAPI BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                              BOOLEAN CaseInSensitive)
{
    if (String1->Length > String2->Length)
        return FALSE;
    return RtlpCompareWide(String1->Buffer, String2->Buffer, String1->Length / sizeof(WCHAR),
                           CaseInSensitive) == 0;
}

/*
 * RtlUpperChar folds only ASCII a-z: the WDK describes it as designed for the
 * ASCII range, and it must agree with RtlUpperString and the case-insensitive
 * STRING comparisons built on it. Non-ASCII text belongs in a UNICODE_STRING.
 */
NTSYSAPI CHAR NTAPI RtlUpperChar(CHAR Character)
{
    if (Character >= 'a' && Character <= 'z')
        return (CHAR)(Character - ('a' - 'A'));
    return Character;
}

/* Bytes compare unsigned, so 0x80-0xFF sort after ASCII. */
static LONG RtlpCompareAnsi(const CHAR *s1, const CHAR *s2, SIZE_T Count, BOOLEAN CaseInSensitive)
{
    for (SIZE_T i = 0; i < Count; i++) {
        UCHAR c1 = (UCHAR)s1[i], c2 = (UCHAR)s2[i];
        if (c1 == c2)
            continue;
        if (CaseInSensitive) {
            c1 = (UCHAR)RtlUpperChar((CHAR)c1);
            c2 = (UCHAR)RtlUpperChar((CHAR)c2);
            if (c1 == c2)
                continue;
        }
        return (LONG)c1 - (LONG)c2;
    }
    return 0;
}

NTSYSAPI LONG NTAPI RtlCompareString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    USHORT n = String1->Length < String2->Length ? String1->Length : String2->Length;
    LONG r = RtlpCompareAnsi(String1->Buffer, String2->Buffer, n, CaseInSensitive);

    if (r != 0)
        return r;
    return (LONG)String1->Length - (LONG)String2->Length;
}

NTSYSAPI BOOLEAN NTAPI RtlEqualString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlpCompareAnsi(String1->Buffer, String2->Buffer, String1->Length, CaseInSensitive) == 0;
}

NTSYSAPI BOOLEAN NTAPI RtlPrefixString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    if (String1->Length > String2->Length)
        return FALSE;
    return RtlpCompareAnsi(String1->Buffer, String2->Buffer, String1->Length, CaseInSensitive) == 0;
}

/* ---- case conversion of whole strings ----------------------------------------- */

/* Documented: copies min(source Length, destination MaximumLength) bytes; the
 * destination's MaximumLength and Buffer are not modified. May run in place. */
NTSYSAPI VOID NTAPI RtlUpperString(PSTRING DestinationString, const STRING *SourceString)
{
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    for (USHORT i = 0; i < n; i++)
        DestinationString->Buffer[i] = RtlUpperChar(SourceString->Buffer[i]);
    DestinationString->Length = n;
}

/* Shared body of RtlUpcaseUnicodeString / RtlDowncaseUnicodeString. Works in
 * place (Destination == Source), including with Allocate. */
static NTSTATUS RtlpMapUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
                                     BOOLEAN AllocateDestinationString, WCHAR(NTAPI *Map)(WCHAR))
{
    if (DestinationString == NULL || SourceString == NULL)
        return STATUS_INVALID_PARAMETER;

    /* Read the source before anything in the destination changes. */
    PCWSTR src = SourceString->Buffer;
    USHORT bytes = (USHORT)(SourceString->Length & ~(USHORT)1);
    PWSTR dst;

    if (AllocateDestinationString) {
        /* Never a zero-byte request: an empty result still gets a real buffer so
         * that RtlFreeUnicodeString has something to release. */
        dst = RtlpAllocatePool(bytes != 0 ? bytes : sizeof(WCHAR), RTL_STRING_POOL_TAG);
        if (dst == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = dst;
        DestinationString->MaximumLength = bytes;
    } else {
        /* No truncation: the result is all of the source or nothing. */
        if (bytes > DestinationString->MaximumLength)
            return STATUS_BUFFER_OVERFLOW;
        dst = DestinationString->Buffer;
    }

    for (USHORT i = 0; i < bytes / sizeof(WCHAR); i++)
        dst[i] = Map(src[i]);
    DestinationString->Length = bytes;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                               PCUNICODE_STRING SourceString,
                                               BOOLEAN AllocateDestinationString)
{
    return RtlpMapUnicodeString(DestinationString, SourceString, AllocateDestinationString,
                                RtlUpcaseUnicodeChar);
}

NTSYSAPI NTSTATUS NTAPI RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString,
                                                 PCUNICODE_STRING SourceString,
                                                 BOOLEAN AllocateDestinationString)
{
    return RtlpMapUnicodeString(DestinationString, SourceString, AllocateDestinationString,
                                RtlDowncaseUnicodeChar);
}

/* ---- allocation ---------------------------------------------------------------- */

NTSYSAPI VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    if (UnicodeString == NULL)
        return;
    if (UnicodeString->Buffer != NULL)
        RtlpFreePool(UnicodeString->Buffer, RTL_STRING_POOL_TAG);
    /* Leave an empty string behind so a second free is harmless. */
    UnicodeString->Buffer = NULL;
    UnicodeString->Length = 0;
    UnicodeString->MaximumLength = 0;
}

NTSYSAPI VOID NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    if (AnsiString == NULL)
        return;
    if (AnsiString->Buffer != NULL)
        RtlpFreePool(AnsiString->Buffer, RTL_STRING_POOL_TAG);
    AnsiString->Buffer = NULL;
    AnsiString->Length = 0;
    AnsiString->MaximumLength = 0;
}

/* Allocates a terminated copy of SourceString. FALSE (destination untouched)
 * when it cannot be described by a UNICODE_STRING or the allocation fails. */
NTSYSAPI BOOLEAN NTAPI RtlCreateUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (DestinationString == NULL || SourceString == NULL)
        return FALSE;

    SIZE_T chars = RtlpWideLength(SourceString, RTLP_MAX_USTRING_LENGTH / sizeof(WCHAR));
    SIZE_T size = (chars + 1) * sizeof(WCHAR);
    if (size > RTLP_MAX_USTRING)
        return FALSE;

    PWSTR buffer = RtlpAllocatePool(size, RTL_STRING_POOL_TAG);
    if (buffer == NULL)
        return FALSE;
    RtlpMoveBytes(buffer, SourceString, size);
    DestinationString->Buffer = buffer;
    DestinationString->Length = (USHORT)(size - sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)size;
    return TRUE;
}

/*
 * Flags: RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE adds a terminator;
 * ..._ALLOCATE_NULL_STRING allocates (a bare terminator) even for an empty
 * source, and is only meaningful together with NULL_TERMINATE, so on its own it
 * is rejected, as NT does. Without ALLOCATE_NULL_STRING an empty source yields an
 * empty string with no buffer. On failure StringOut is untouched.
 */
NTSYSAPI NTSTATUS NTAPI RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn,
                                                  PUNICODE_STRING StringOut)
{
    const ULONG valid = RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE |
                        RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING;

    if (StringIn == NULL || StringOut == NULL || (Flags & ~valid) != 0 ||
        Flags == RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING)
        return STATUS_INVALID_PARAMETER;
    /* Reject malformed sources rather than read through them. */
    if (StringIn->Length > StringIn->MaximumLength ||
        (StringIn->Buffer == NULL && (StringIn->Length != 0 || StringIn->MaximumLength != 0)))
        return STATUS_INVALID_PARAMETER;

    if (StringIn->Length == 0 && Flags != valid) {
        StringOut->Length = 0;
        StringOut->MaximumLength = 0;
        StringOut->Buffer = NULL;
        return STATUS_SUCCESS;
    }

    ULONG size = StringIn->Length;
    if (Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE)
        size += sizeof(WCHAR);
    if (size > MAXUSHORT)
        return STATUS_NAME_TOO_LONG;

    PWSTR buffer = RtlpAllocatePool(size, RTL_STRING_POOL_TAG);
    if (buffer == NULL)
        return STATUS_NO_MEMORY;
    RtlpMoveBytes(buffer, StringIn->Buffer, StringIn->Length);
    StringOut->Buffer = buffer;
    StringOut->Length = StringIn->Length;
    StringOut->MaximumLength = (USHORT)size;
    if (Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE)
        RtlpTerminateUnicode(StringOut);
    return STATUS_SUCCESS;
}
