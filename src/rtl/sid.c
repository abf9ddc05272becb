/*
 * Security identifiers: validation, length, comparison, initialization,
 * copying and the S-R-I-S-S... string form.
 *
 * A SID is valid when its revision is SID_REVISION and it has at most
 * SID_MAX_SUB_AUTHORITIES sub-authorities; its length is always
 * 8 + 4 * SubAuthorityCount. The routines that take a SID the caller
 * promises is valid (RtlLengthSid, RtlSubAuthoritySid, ...) do not check it,
 * as in NT; the ones that return a status check it first.
 */
#include <ntos/rtl.h>
#include <ntos/se.h>

NTSYSAPI BOOLEAN NTAPI RtlValidSid(PSID Sid)
{
    PISID sid = Sid;
    if (sid == NULL)
        return FALSE;
    return sid->Revision == SID_REVISION && sid->SubAuthorityCount <= SID_MAX_SUB_AUTHORITIES;
}

NTSYSAPI ULONG NTAPI RtlLengthRequiredSid(ULONG SubAuthorityCount)
{
    return (ULONG)FIELD_OFFSET(SID, SubAuthority) + SubAuthorityCount * (ULONG)sizeof(ULONG);
}

NTSYSAPI ULONG NTAPI RtlLengthSid(PSID Sid)
{
    return RtlLengthRequiredSid(((PISID)Sid)->SubAuthorityCount);
}

/* Two SIDs are equal when revision, count, authority and every sub-authority
 * match; the count is compared first so nothing beyond the shorter one is
 * read. */
NTSYSAPI BOOLEAN NTAPI RtlEqualSid(PSID Sid1, PSID Sid2)
{
    PISID a = Sid1, b = Sid2;
    if (a->Revision != b->Revision || a->SubAuthorityCount != b->SubAuthorityCount)
        return FALSE;
    return RtlCompareMemory(a, b, RtlLengthSid(a)) == RtlLengthSid(a);
}

/* Equal prefix: same revision and count, same authority and all sub-authorities
 * but the last (the RID). A SID with no sub-authority has an empty prefix. */
NTSYSAPI BOOLEAN NTAPI RtlEqualPrefixSid(PSID Sid1, PSID Sid2)
{
    PISID a = Sid1, b = Sid2;
    if (a->Revision != b->Revision || a->SubAuthorityCount != b->SubAuthorityCount)
        return FALSE;
    if (RtlCompareMemory(&a->IdentifierAuthority, &b->IdentifierAuthority, sizeof(SID_IDENTIFIER_AUTHORITY)) !=
        sizeof(SID_IDENTIFIER_AUTHORITY))
        return FALSE;
    for (ULONG i = 0; i + 1 < a->SubAuthorityCount; i++) {
        if (a->SubAuthority[i] != b->SubAuthority[i])
            return FALSE;
    }
    return TRUE;
}

/* Sets the header only: the sub-authorities are the caller's to fill (NT
 * leaves them untouched). */
NTSYSAPI NTSTATUS NTAPI RtlInitializeSid(PSID Sid, PSID_IDENTIFIER_AUTHORITY IdentifierAuthority,
                                         UCHAR SubAuthorityCount)
{
    PISID sid = Sid;
    if (SubAuthorityCount > SID_MAX_SUB_AUTHORITIES)
        return STATUS_INVALID_PARAMETER;
    sid->Revision = SID_REVISION;
    sid->SubAuthorityCount = SubAuthorityCount;
    sid->IdentifierAuthority = *IdentifierAuthority;
    return STATUS_SUCCESS;
}

NTSYSAPI PULONG NTAPI RtlSubAuthoritySid(PSID Sid, ULONG SubAuthority)
{
    return &((PISID)Sid)->SubAuthority[SubAuthority];
}

NTSYSAPI PUCHAR NTAPI RtlSubAuthorityCountSid(PSID Sid)
{
    return &((PISID)Sid)->SubAuthorityCount;
}

NTSYSAPI PSID_IDENTIFIER_AUTHORITY NTAPI RtlIdentifierAuthoritySid(PSID Sid)
{
    return &((PISID)Sid)->IdentifierAuthority;
}

NTSYSAPI NTSTATUS NTAPI RtlCopySid(ULONG DestinationSidLength, PSID DestinationSid, PSID SourceSid)
{
    ULONG length = RtlLengthSid(SourceSid);
    if (length > DestinationSidLength)
        return STATUS_BUFFER_TOO_SMALL;
    RtlMoveMemory(DestinationSid, SourceSid, length);
    return STATUS_SUCCESS;
}

/* ---- string form --------------------------------------------------------------------- */

/* "S-" + up to 3 revision digits + "-" + "0x" and 12 hex digits + 15 * ("-" and 10 digits). */
#define RTLP_MAX_SID_STRING_CHARS (6 + 14 + SID_MAX_SUB_AUTHORITIES * 11)

static ULONG RtlpAppendNumber(WCHAR *Out, ULONGLONG Value, ULONG Base)
{
    WCHAR reversed[24];
    ULONG n = 0;
    do {
        ULONG d = (ULONG)(Value % Base);
        reversed[n++] = (WCHAR)(d < 10 ? L'0' + d : L'A' + (d - 10));
        Value /= Base;
    } while (Value != 0);
    for (ULONG i = 0; i < n; i++)
        Out[i] = reversed[n - 1 - i];
    return n;
}

/*
 * The documented format: the authority in decimal when it is at most 2^32,
 * otherwise "0x" and hexadecimal; every sub-authority in decimal.
 */
static ULONG RtlpFormatSid(PISID Sid, WCHAR *Out)
{
    ULONG n = 0;
    ULONGLONG authority = 0;

    Out[n++] = L'S';
    Out[n++] = L'-';
    n += RtlpAppendNumber(Out + n, Sid->Revision, 10);
    Out[n++] = L'-';
    for (ULONG i = 0; i < 6; i++)
        authority = (authority << 8) | Sid->IdentifierAuthority.Value[i];
    if (authority <= 0x100000000ULL) {
        n += RtlpAppendNumber(Out + n, authority, 10);
    } else {
        Out[n++] = L'0';
        Out[n++] = L'x';
        n += RtlpAppendNumber(Out + n, authority, 16);
    }
    for (ULONG i = 0; i < Sid->SubAuthorityCount; i++) {
        Out[n++] = L'-';
        n += RtlpAppendNumber(Out + n, Sid->SubAuthority[i], 10);
    }
    return n;
}

NTSYSAPI NTSTATUS NTAPI RtlConvertSidToUnicodeString(PUNICODE_STRING UnicodeString, PSID Sid,
                                                     BOOLEAN AllocateDestinationString)
{
    WCHAR text[RTLP_MAX_SID_STRING_CHARS];

    if (!RtlValidSid(Sid))
        return STATUS_INVALID_SID;
    ULONG chars = RtlpFormatSid(Sid, text);
    USHORT bytes = (USHORT)(chars * sizeof(WCHAR));

    if (AllocateDestinationString) {
        /* Allocated through the Rtl string hook so RtlFreeUnicodeString frees it. */
        PWSTR buffer = RtlpAllocatePool(bytes + sizeof(WCHAR), RTL_STRING_POOL_TAG);
        if (buffer == NULL)
            return STATUS_NO_MEMORY;
        UnicodeString->Buffer = buffer;
        UnicodeString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    } else if (bytes > UnicodeString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    RtlCopyMemory(UnicodeString->Buffer, text, bytes);
    if (bytes + sizeof(WCHAR) <= UnicodeString->MaximumLength)
        UnicodeString->Buffer[chars] = UNICODE_NULL;
    UnicodeString->Length = bytes;
    return STATUS_SUCCESS;
}
