/*
 * The WDK's safe string functions (ntstrsafe.h): RtlStringCch* and RtlStringCb* in
 * A and W forms (from strsafe_tmpl.h) and the UNICODE_STRING functions. The
 * contract, including the ntos decisions where the WDK is silent, is in
 * ntos/ntstrsafe.h. Any IRQL if the buffers are resident: nothing allocates,
 * blocks or locks.
 */
#include <ntos/ntstrsafe.h>
#include <ntos/rtl.h>
#include <ntos/rtlp_format.h>

#define SS_T CHAR
#define SS_NAME(x) x##A
#define SS_FORMAT RtlpFormatV
#include "strsafe_tmpl.h"
#undef SS_T
#undef SS_NAME
#undef SS_FORMAT

#define SS_T WCHAR
#define SS_NAME(x) x##W
#define SS_FORMAT RtlpFormatWideV
#include "strsafe_tmpl.h"

/* ---- UNICODE_STRING ----------------------------------------------------------------- */

#define US_MAX_BYTES (NTSTRSAFE_UNICODE_STRING_MAX_CCH * sizeof(WCHAR))

NTSTATUS NTAPI RtlUnicodeStringValidate(PCUNICODE_STRING SourceString)
{
    if (SourceString == NULL || (SourceString->Length % sizeof(WCHAR)) != 0 ||
        (SourceString->MaximumLength % sizeof(WCHAR)) != 0 ||
        SourceString->Length > SourceString->MaximumLength || SourceString->MaximumLength > US_MAX_BYTES)
        return STATUS_INVALID_PARAMETER;
    if (SourceString->Buffer == NULL && (SourceString->Length != 0 || SourceString->MaximumLength != 0))
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

/*
 * The source must be terminated within NTSTRSAFE_UNICODE_STRING_MAX_CCH
 * characters so that Length and MaximumLength (= Length + 2) fit a USHORT. On
 * failure the string is left empty (lengths 0, Buffer NULL).
 */
NTSTATUS NTAPI RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString, PCWSTR pszSrc, ULONG dwFlags)
{
    SIZE_T Length = 0;

    if (DestinationString == NULL)
        return STATUS_INVALID_PARAMETER;
    DestinationString->Length = 0;
    DestinationString->MaximumLength = 0;
    DestinationString->Buffer = NULL;
    if (dwFlags & ~(ULONG)STRSAFE_UNICODE_STRING_VALID_FLAGS)
        return STATUS_INVALID_PARAMETER;
    if (pszSrc == NULL)
        return STATUS_SUCCESS;
    while (Length < NTSTRSAFE_UNICODE_STRING_MAX_CCH && pszSrc[Length] != 0)
        Length++;
    if (Length == NTSTRSAFE_UNICODE_STRING_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    DestinationString->Buffer = (PWSTR)pszSrc;
    DestinationString->Length = (USHORT)(Length * sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)((Length + 1) * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeStringInit(PUNICODE_STRING DestinationString, PCWSTR pszSrc)
{
    return RtlUnicodeStringInitEx(DestinationString, pszSrc, 0);
}

/* Stores Count characters at the end of (Append) or over Destination, cut to its
 * MaximumLength; the result is counted, not terminated. Source may overlap. */
static NTSTATUS RtlpUnicodeStringPut(PUNICODE_STRING Destination, PCWSTR Source, SIZE_T Count, BOOLEAN Append)
{
    SIZE_T Start = Append ? Destination->Length / sizeof(WCHAR) : 0;
    SIZE_T Room = Destination->MaximumLength / sizeof(WCHAR) - Start;
    SIZE_T Stored = Count < Room ? Count : Room;

    RtlMoveMemory(Destination->Buffer + Start, Source, Stored * sizeof(WCHAR));
    Destination->Length = (USHORT)((Start + Stored) * sizeof(WCHAR));
    return Stored < Count ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

/* Only as much of a NUL-terminated source as could matter is scanned: the room
 * left plus one character to know whether it was cut. */
static NTSTATUS RtlpUnicodeStringPutString(PUNICODE_STRING Destination, PCWSTR pszSrc, BOOLEAN Append)
{
    SIZE_T Room, Length = 0;

    if (!NT_SUCCESS(RtlUnicodeStringValidate(Destination)) || pszSrc == NULL)
        return STATUS_INVALID_PARAMETER;
    Room = (Destination->MaximumLength - (Append ? Destination->Length : 0)) / sizeof(WCHAR);
    while (Length <= Room && pszSrc[Length] != 0)
        Length++;
    return RtlpUnicodeStringPut(Destination, pszSrc, Length, Append);
}

NTSTATUS NTAPI RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (!NT_SUCCESS(RtlUnicodeStringValidate(DestinationString)) ||
        !NT_SUCCESS(RtlUnicodeStringValidate(SourceString)))
        return STATUS_INVALID_PARAMETER;
    return RtlpUnicodeStringPut(DestinationString, SourceString->Buffer, SourceString->Length / sizeof(WCHAR),
                                FALSE);
}

NTSTATUS NTAPI RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (!NT_SUCCESS(RtlUnicodeStringValidate(DestinationString)) ||
        !NT_SUCCESS(RtlUnicodeStringValidate(SourceString)))
        return STATUS_INVALID_PARAMETER;
    return RtlpUnicodeStringPut(DestinationString, SourceString->Buffer, SourceString->Length / sizeof(WCHAR),
                                TRUE);
}

NTSTATUS NTAPI RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, PCWSTR pszSrc)
{
    return RtlpUnicodeStringPutString(DestinationString, pszSrc, FALSE);
}

NTSTATUS NTAPI RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, PCWSTR pszSrc)
{
    return RtlpUnicodeStringPutString(DestinationString, pszSrc, TRUE);
}

/* Formats over the whole buffer; output that does not fit fills it and returns
 * STATUS_BUFFER_OVERFLOW. A NUL is stored only where room is left over. */
NTSTATUS NTAPI RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, PCWSTR pszFormat, NT_VA_LIST argList)
{
    SIZE_T Capacity;
    INT Length;

    if (!NT_SUCCESS(RtlUnicodeStringValidate(DestinationString)) || pszFormat == NULL)
        return STATUS_INVALID_PARAMETER;
    Capacity = DestinationString->MaximumLength / sizeof(WCHAR);
    if (Capacity == 0) {
        DestinationString->Length = 0;
        return pszFormat[0] == 0 ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
    }
    Length = RtlpVsnwprintf(DestinationString->Buffer, Capacity, pszFormat, argList);
    if (Length < 0) {
        DestinationString->Length = (USHORT)(Capacity * sizeof(WCHAR));
        return STATUS_BUFFER_OVERFLOW;
    }
    DestinationString->Length = (USHORT)(Length * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, PCWSTR pszFormat, ...)
{
    NT_VA_LIST Args;
    NTSTATUS Status;

    NT_VA_START(Args, pszFormat);
    Status = RtlUnicodeStringVPrintf(DestinationString, pszFormat, Args);
    NT_VA_END(Args);
    return Status;
}
