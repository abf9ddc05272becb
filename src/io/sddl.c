/*
 * The SDDL subset IoCreateDeviceSecure accepts ("SDDL for Device Objects"):
 *
 *   "D:P" followed by one or more "(A;;<rights>;;;<sid>)"
 *
 * <rights> is "0x<hex>" or a run of the two-letter codes GA GR GW GX (generic)
 * and RC SD WD WO (READ_CONTROL, DELETE, WRITE_DAC, WRITE_OWNER). <sid> is one
 * of the documented aliases: SY LS NS (accounts), BA BU BG (built-in groups),
 * AU AN (authentication), IU NU SU (logon kind), WD (everyone) and RC
 * (restricted code). "P" makes the DACL protected. Anything else - another
 * ACE type, flags, object GUIDs, SACLs, owners, literal "S-1-..." SIDs - is
 * outside the subset and STATUS_INVALID_PARAMETER.
 *
 * The result is one self-relative descriptor with only a DACL; owner and
 * group come from the creator's token when the object is inserted.
 *
 * IRQL: PASSIVE_LEVEL (pool).
 */
#include "iop.h"

typedef struct _IOP_SDDL_SID {
    WCHAR Code[2];
    UCHAR Authority;
    UCHAR Count;
    ULONG Rids[2];
} IOP_SDDL_SID;

static const IOP_SDDL_SID IopSddlSids[] = {
    {{L'S', L'Y'}, 5, 1, {SECURITY_LOCAL_SYSTEM_RID, 0}},
    {{L'L', L'S'}, 5, 1, {19, 0}},
    {{L'N', L'S'}, 5, 1, {20, 0}},
    {{L'B', L'A'}, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS}},
    {{L'B', L'U'}, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_USERS}},
    {{L'B', L'G'}, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 546}},
    {{L'A', L'U'}, 5, 1, {11, 0}},
    {{L'A', L'N'}, 5, 1, {7, 0}},
    {{L'I', L'U'}, 5, 1, {4, 0}},
    {{L'N', L'U'}, 5, 1, {2, 0}},
    {{L'S', L'U'}, 5, 1, {6, 0}},
    {{L'W', L'D'}, 1, 1, {SECURITY_WORLD_RID, 0}},
    {{L'R', L'C'}, 5, 1, {12, 0}},
};

typedef struct _IOP_SDDL_RIGHT {
    WCHAR Code[2];
    ACCESS_MASK Mask;
} IOP_SDDL_RIGHT;

static const IOP_SDDL_RIGHT IopSddlRightCodes[] = {
    {{L'G', L'A'}, GENERIC_ALL},  {{L'G', L'R'}, GENERIC_READ}, {{L'G', L'W'}, GENERIC_WRITE},
    {{L'G', L'X'}, GENERIC_EXECUTE}, {{L'R', L'C'}, READ_CONTROL}, {{L'S', L'D'}, DELETE},
    {{L'W', L'D'}, WRITE_DAC},    {{L'W', L'O'}, WRITE_OWNER},
};

#define IOP_SDDL_MAX_ACES 32

typedef struct _IOP_SDDL_ACE {
    ACCESS_MASK Mask;
    const IOP_SDDL_SID *Sid;
} IOP_SDDL_ACE;

static BOOLEAN IopSddlTake(PCWSTR *p, PCWSTR end, PCWSTR lit)
{
    PCWSTR q = *p;
    while (*lit != 0) {
        if (q >= end || *q != *lit)
            return FALSE;
        q++;
        lit++;
    }
    *p = q;
    return TRUE;
}

static int IopHexDigit(WCHAR c)
{
    if (c >= L'0' && c <= L'9')
        return c - L'0';
    if (c >= L'a' && c <= L'f')
        return c - L'a' + 10;
    if (c >= L'A' && c <= L'F')
        return c - L'A' + 10;
    return -1;
}

static BOOLEAN IopSddlRights(PCWSTR *p, PCWSTR end, ACCESS_MASK *Mask)
{
    PCWSTR q = *p;
    ACCESS_MASK m = 0;
    if (end - q >= 2 && q[0] == L'0' && (q[1] == L'x' || q[1] == L'X')) {
        q += 2;
        ULONG digits = 0;
        int d;
        while (q < end && (d = IopHexDigit(*q)) >= 0) {
            if (++digits > 8)
                return FALSE;
            m = (m << 4) | (ACCESS_MASK)d;
            q++;
        }
        if (digits == 0)
            return FALSE;
    } else {
        while (q < end && *q != L';') {
            if (end - q < 2)
                return FALSE;
            BOOLEAN found = FALSE;
            for (ULONG i = 0; i < RTL_NUMBER_OF(IopSddlRightCodes); i++) {
                if (q[0] == IopSddlRightCodes[i].Code[0] && q[1] == IopSddlRightCodes[i].Code[1]) {
                    m |= IopSddlRightCodes[i].Mask;
                    found = TRUE;
                    break;
                }
            }
            if (!found)
                return FALSE;
            q += 2;
        }
    }
    if (m == 0)
        return FALSE;
    *Mask = m;
    *p = q;
    return TRUE;
}

static const IOP_SDDL_SID *IopSddlSid(PCWSTR *p, PCWSTR end)
{
    PCWSTR q = *p;
    if (end - q < 2)
        return NULL;
    for (ULONG i = 0; i < RTL_NUMBER_OF(IopSddlSids); i++) {
        if (q[0] == IopSddlSids[i].Code[0] && q[1] == IopSddlSids[i].Code[1]) {
            *p = q + 2;
            return &IopSddlSids[i];
        }
    }
    return NULL;
}

NTSTATUS IopSddlToSecurityDescriptor(PCUNICODE_STRING Sddl, PSECURITY_DESCRIPTOR *SecurityDescriptor)
{
    *SecurityDescriptor = NULL;
    if (Sddl == NULL || Sddl->Buffer == NULL || (Sddl->Length & 1) || Sddl->Length == 0)
        return STATUS_INVALID_PARAMETER;
    PCWSTR p = Sddl->Buffer;
    PCWSTR end = p + Sddl->Length / sizeof(WCHAR);
    /* A NUL inside the counted string ends it (callers pass RTL_CONSTANT_STRING). */
    for (PCWSTR q = p; q < end; q++) {
        if (*q == 0) {
            end = q;
            break;
        }
    }
    if (!IopSddlTake(&p, end, L"D:P"))
        return STATUS_INVALID_PARAMETER;

    IOP_SDDL_ACE aces[IOP_SDDL_MAX_ACES];
    ULONG count = 0;
    ULONG aclSize = sizeof(ACL);
    while (p < end) {
        if (count == IOP_SDDL_MAX_ACES)
            return STATUS_INVALID_PARAMETER;
        if (!IopSddlTake(&p, end, L"(A;;"))
            return STATUS_INVALID_PARAMETER;
        if (!IopSddlRights(&p, end, &aces[count].Mask))
            return STATUS_INVALID_PARAMETER;
        if (!IopSddlTake(&p, end, L";;;"))
            return STATUS_INVALID_PARAMETER;
        aces[count].Sid = IopSddlSid(&p, end);
        if (aces[count].Sid == NULL || !IopSddlTake(&p, end, L")"))
            return STATUS_INVALID_PARAMETER;
        aclSize += (ULONG)FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthRequiredSid(aces[count].Sid->Count);
        count++;
    }
    if (count == 0)
        return STATUS_INVALID_PARAMETER;

    /* Absolute form on the pool first (ACL and SIDs), then one self-relative copy. */
    aclSize = (aclSize + 3) & ~3u;
    PACL acl = ExAllocatePoolWithTag(PagedPool, aclSize, IOP_TAG_SD);
    if (acl == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS status = RtlCreateAcl(acl, aclSize, ACL_REVISION);
    for (ULONG i = 0; i < count && NT_SUCCESS(status); i++) {
        union {
            SID Sid;
            UCHAR Bytes[SECURITY_MAX_SID_SIZE];
        } sid;
        SID_IDENTIFIER_AUTHORITY auth = {{0, 0, 0, 0, 0, aces[i].Sid->Authority}};
        status = RtlInitializeSid(&sid.Sid, &auth, aces[i].Sid->Count);
        for (UCHAR r = 0; r < aces[i].Sid->Count && NT_SUCCESS(status); r++)
            *RtlSubAuthoritySid(&sid.Sid, r) = aces[i].Sid->Rids[r];
        if (NT_SUCCESS(status))
            status = RtlAddAccessAllowedAce(acl, ACL_REVISION, aces[i].Mask, &sid.Sid);
    }
    if (NT_SUCCESS(status)) {
        ULONG len = RtlpLengthSelfRelativeSD(SE_DACL_PRESENT | SE_DACL_PROTECTED, NULL, NULL, NULL, acl);
        PSECURITY_DESCRIPTOR sd = ExAllocatePoolWithTag(PagedPool, len, IOP_TAG_SD);
        if (sd == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
        } else {
            status = RtlpMakeSelfRelativeSD(SE_DACL_PRESENT | SE_DACL_PROTECTED, NULL, NULL, NULL, acl, sd, &len);
            if (NT_SUCCESS(status))
                *SecurityDescriptor = sd;
            else
                ExFreePoolWithTag(sd, IOP_TAG_SD);
        }
    }
    ExFreePoolWithTag(acl, IOP_TAG_SD);
    return status;
}
