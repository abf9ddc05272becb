/*
 * GUID <-> string (RtlStringFromGUID, RtlGUIDFromString).
 *
 * The only form either accepts or produces is the registry form with braces,
 * "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (38 characters): that is what
 * interface and class keys use and what drivers compare against. Output is
 * upper-case hex; input hex may be either case. Data4's first two bytes sit
 * in the fourth group, the remaining six in the fifth, each byte in memory
 * order, while Data1..Data3 print as numbers.
 */
#include <ntos/rtl.h>

#define GUID_STRING_CHARS 38

static const char hexdigits[] = "0123456789ABCDEF";

static void put_hex(PWCHAR *Out, ULONG64 Value, int Digits)
{
    for (int i = Digits - 1; i >= 0; i--)
        *(*Out)++ = (WCHAR)hexdigits[(Value >> (i * 4)) & 0xF];
}

NTSYSAPI NTSTATUS NTAPI RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString)
{
    PWCHAR p;

    if (!Guid || !GuidString)
        return STATUS_INVALID_PARAMETER;
    GuidString->Buffer = RtlpAllocatePool((GUID_STRING_CHARS + 1) * sizeof(WCHAR), RTL_STRING_POOL_TAG);
    if (!GuidString->Buffer) {
        GuidString->Length = GuidString->MaximumLength = 0;
        return STATUS_NO_MEMORY;
    }
    p = GuidString->Buffer;
    *p++ = '{';
    put_hex(&p, Guid->Data1, 8);
    *p++ = '-';
    put_hex(&p, Guid->Data2, 4);
    *p++ = '-';
    put_hex(&p, Guid->Data3, 4);
    *p++ = '-';
    for (int i = 0; i < 8; i++) {
        if (i == 2)
            *p++ = '-';
        put_hex(&p, Guid->Data4[i], 2);
    }
    *p++ = '}';
    *p = 0;
    GuidString->Length = GUID_STRING_CHARS * sizeof(WCHAR);
    GuidString->MaximumLength = (GUID_STRING_CHARS + 1) * sizeof(WCHAR);
    return STATUS_SUCCESS;
}

static BOOLEAN get_hex(PCWCH *In, int Digits, ULONG64 *Value)
{
    ULONG64 v = 0;
    for (int i = 0; i < Digits; i++) {
        WCHAR c = *(*In)++;
        ULONG d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return FALSE;
        v = (v << 4) | d;
    }
    *Value = v;
    return TRUE;
}

NTSYSAPI NTSTATUS NTAPI RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid)
{
    PCWCH p;
    ULONG64 v;
    GUID g;

    if (!GuidString || !Guid)
        return STATUS_INVALID_PARAMETER;
    /* Exactly the braced form: no trailing characters, no missing ones. */
    if (GuidString->Length != GUID_STRING_CHARS * sizeof(WCHAR) || !GuidString->Buffer)
        return STATUS_INVALID_PARAMETER;
    p = GuidString->Buffer;
    if (*p++ != '{')
        return STATUS_INVALID_PARAMETER;
    if (!get_hex(&p, 8, &v) || *p++ != '-')
        return STATUS_INVALID_PARAMETER;
    g.Data1 = (ULONG)v;
    if (!get_hex(&p, 4, &v) || *p++ != '-')
        return STATUS_INVALID_PARAMETER;
    g.Data2 = (USHORT)v;
    if (!get_hex(&p, 4, &v) || *p++ != '-')
        return STATUS_INVALID_PARAMETER;
    g.Data3 = (USHORT)v;
    for (int i = 0; i < 8; i++) {
        if (i == 2 && *p++ != '-')
            return STATUS_INVALID_PARAMETER;
        if (!get_hex(&p, 2, &v))
            return STATUS_INVALID_PARAMETER;
        g.Data4[i] = (UCHAR)v;
    }
    if (*p != '}')
        return STATUS_INVALID_PARAMETER;
    *Guid = g;
    return STATUS_SUCCESS;
}
