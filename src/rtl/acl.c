/*
 * Access control lists: creation, validation, adding/removing/reading ACEs
 * and size queries.
 *
 * An ACL is an 8-byte header followed by AceCount ACEs packed one after the
 * other; AclSize covers the header, the ACEs and any free space after them.
 * Every routine that walks an ACL stays inside AclSize, so a hostile ACL
 * (from a self-relative descriptor, say) can make a routine fail but never
 * read outside it. ACE sizes are multiples of 4 (each ACE starts aligned).
 *
 * ACE types and ACL revisions, as NT enforces them: the basic types (allowed,
 * denied, audit, alarm, and the mandatory label) are valid in any revision,
 * the compound ACE needs ACL_REVISION3 and the object ACEs ACL_REVISION_DS.
 * Other types are accepted with only their size checked (NT lets newer ACE
 * types pass through older code).
 */
#include <ntos/rtl.h>
#include <ntos/se.h>

static BOOLEAN RtlpValidAclRevision(ULONG Revision)
{
    return Revision >= MIN_ACL_REVISION && Revision <= MAX_ACL_REVISION;
}

/*
 * Where the SID of a SID-bearing ACE starts and how many bytes of the ACE are
 * left for it, or NULL for types that carry no SID at a known place.
 */
PSID RtlpAceSid(PACE_HEADER Ace, PULONG Room)
{
    ULONG offset;

    switch (Ace->AceType) {
    case ACCESS_ALLOWED_ACE_TYPE:
    case ACCESS_DENIED_ACE_TYPE:
    case SYSTEM_AUDIT_ACE_TYPE:
    case SYSTEM_ALARM_ACE_TYPE:
    case SYSTEM_MANDATORY_LABEL_ACE_TYPE:
        offset = FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart);
        break;
    case ACCESS_ALLOWED_OBJECT_ACE_TYPE:
    case ACCESS_DENIED_OBJECT_ACE_TYPE:
    case SYSTEM_AUDIT_OBJECT_ACE_TYPE:
    case SYSTEM_ALARM_OBJECT_ACE_TYPE: {
        if (Ace->AceSize < FIELD_OFFSET(ACCESS_ALLOWED_OBJECT_ACE, ObjectType))
            return NULL;
        ULONG flags = ((PACCESS_ALLOWED_OBJECT_ACE)Ace)->Flags;
        offset = FIELD_OFFSET(ACCESS_ALLOWED_OBJECT_ACE, ObjectType);
        if (flags & ACE_OBJECT_TYPE_PRESENT)
            offset += 16;
        if (flags & ACE_INHERITED_OBJECT_TYPE_PRESENT)
            offset += 16;
        break;
    }
    default:
        return NULL;
    }
    if (Ace->AceSize < offset)
        return NULL;
    if (Room != NULL)
        *Room = Ace->AceSize - offset;
    return (PUCHAR)Ace + offset;
}

/*
 * One ACE that starts Available bytes before the end of its container: the
 * header and the whole ACE fit, the size is aligned, and a SID-bearing ACE
 * holds a valid SID that fits in it. The type must be allowed in Revision.
 */
BOOLEAN RtlpValidAce(PACE_HEADER Ace, ULONG Available, ULONG Revision)
{
    if (Available < sizeof(ACE_HEADER))
        return FALSE;
    if (Ace->AceSize < sizeof(ACE_HEADER) || Ace->AceSize > Available || (Ace->AceSize & 3) != 0)
        return FALSE;
    if (Ace->AceType == ACCESS_ALLOWED_COMPOUND_ACE_TYPE && Revision < ACL_REVISION3)
        return FALSE;
    if (Ace->AceType >= ACCESS_ALLOWED_OBJECT_ACE_TYPE && Ace->AceType <= ACCESS_MAX_MS_V4_ACE_TYPE &&
        Revision < ACL_REVISION_DS)
        return FALSE;

    BOOLEAN carriesSid = Ace->AceType <= ACCESS_MAX_MS_V2_ACE_TYPE ||
                         Ace->AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE ||
                         (Ace->AceType >= ACCESS_ALLOWED_OBJECT_ACE_TYPE && Ace->AceType <= ACCESS_MAX_MS_V4_ACE_TYPE);
    if (!carriesSid)
        return TRUE;
    ULONG room;
    PISID sid = RtlpAceSid(Ace, &room);
    if (sid == NULL || room < (ULONG)FIELD_OFFSET(SID, SubAuthority))
        return FALSE;
    if (!RtlValidSid(sid))
        return FALSE;
    return RtlLengthSid(sid) <= room;
}

/*
 * Walks the AceCount ACEs, validating each, and returns the first byte after
 * the last one (or NULL if the ACL is malformed).
 */
static PUCHAR RtlpWalkAcl(PACL Acl)
{
    PUCHAR base = (PUCHAR)Acl;
    ULONG offset = sizeof(ACL);

    for (ULONG i = 0; i < Acl->AceCount; i++) {
        if (offset > Acl->AclSize)
            return NULL;
        PACE_HEADER ace = (PACE_HEADER)(base + offset);
        if (!RtlpValidAce(ace, Acl->AclSize - offset, Acl->AclRevision))
            return NULL;
        offset += ace->AceSize;
    }
    return base + offset;
}

NTSYSAPI BOOLEAN NTAPI RtlValidAcl(PACL Acl)
{
    if (Acl == NULL)
        return FALSE;
    if (!RtlpValidAclRevision(Acl->AclRevision))
        return FALSE;
    if (Acl->AclSize < sizeof(ACL))
        return FALSE;
    return RtlpWalkAcl(Acl) != NULL;
}

/* The ACL must have been validated; returns where the next ACE would go. */
static PUCHAR RtlpFirstFree(PACL Acl)
{
    PUCHAR p = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < Acl->AceCount; i++)
        p += ((PACE_HEADER)p)->AceSize;
    return p;
}

/*
 * The length is rounded down to a multiple of 4 (every ACE is a multiple of
 * 4, so the tail could never be used) and must fit AclSize's USHORT.
 */
NTSYSAPI NTSTATUS NTAPI RtlCreateAcl(PACL Acl, ULONG AclLength, ULONG AclRevision)
{
    if (AclLength < sizeof(ACL))
        return STATUS_BUFFER_TOO_SMALL;
    if (!RtlpValidAclRevision(AclRevision) || AclLength > MAXUSHORT)
        return STATUS_INVALID_PARAMETER;
    Acl->AclRevision = (UCHAR)AclRevision;
    Acl->Sbz1 = 0;
    Acl->AclSize = (USHORT)(AclLength & ~3UL);
    Acl->AceCount = 0;
    Acl->Sbz2 = 0;
    return STATUS_SUCCESS;
}

/* Appends one ACE that carries a mask and a SID (allowed, denied, audit). */
static NTSTATUS RtlpAddKnownAce(PACL Acl, ULONG AceRevision, ULONG AceFlags, ULONG ValidFlags, ACCESS_MASK Mask,
                                PSID Sid, UCHAR Type)
{
    if (!RtlValidAcl(Acl))
        return STATUS_INVALID_ACL;
    if (!RtlValidSid(Sid))
        return STATUS_INVALID_SID;
    if (!RtlpValidAclRevision(AceRevision))
        return STATUS_REVISION_MISMATCH;
    if (AceFlags & ~ValidFlags)
        return STATUS_INVALID_PARAMETER;

    ULONG aceSize = (ULONG)FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthSid(Sid);
    PUCHAR free = RtlpFirstFree(Acl);
    ULONG used = (ULONG)(free - (PUCHAR)Acl);
    if (aceSize > (ULONG)Acl->AclSize - used || Acl->AceCount == MAXUSHORT)
        return STATUS_ALLOTTED_SPACE_EXCEEDED;

    PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)free;
    ace->Header.AceType = Type;
    ace->Header.AceFlags = (UCHAR)AceFlags;
    ace->Header.AceSize = (USHORT)aceSize;
    ace->Mask = Mask;
    RtlCopyMemory(&ace->SidStart, Sid, RtlLengthSid(Sid));
    Acl->AceCount++;
    /* The ACL takes the higher of the two revisions (an older ACL that gets a
     * newer ACE becomes a newer ACL). */
    if (AceRevision > Acl->AclRevision)
        Acl->AclRevision = (UCHAR)AceRevision;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlAddAccessAllowedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid)
{
    return RtlpAddKnownAce(Acl, AceRevision, 0, 0, AccessMask, Sid, ACCESS_ALLOWED_ACE_TYPE);
}

NTSYSAPI NTSTATUS NTAPI RtlAddAccessAllowedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
                                                 ACCESS_MASK AccessMask, PSID Sid)
{
    return RtlpAddKnownAce(Acl, AceRevision, AceFlags, VALID_INHERIT_FLAGS, AccessMask, Sid,
                           ACCESS_ALLOWED_ACE_TYPE);
}

NTSYSAPI NTSTATUS NTAPI RtlAddAccessDeniedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid)
{
    return RtlpAddKnownAce(Acl, AceRevision, 0, 0, AccessMask, Sid, ACCESS_DENIED_ACE_TYPE);
}

NTSYSAPI NTSTATUS NTAPI RtlAddAccessDeniedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
                                                ACCESS_MASK AccessMask, PSID Sid)
{
    return RtlpAddKnownAce(Acl, AceRevision, AceFlags, VALID_INHERIT_FLAGS, AccessMask, Sid,
                           ACCESS_DENIED_ACE_TYPE);
}

/*
 * Inserts a packed list of ACEs before ACE StartingAceIndex (any index at or
 * past the end, MAXULONG included, appends). The list must consist of whole,
 * valid ACEs for the resulting revision and cover AceListLength exactly.
 */
NTSYSAPI NTSTATUS NTAPI RtlAddAce(PACL Acl, ULONG AceRevision, ULONG StartingAceIndex, PVOID AceList,
                                  ULONG AceListLength)
{
    if (!RtlValidAcl(Acl) || !RtlpValidAclRevision(AceRevision) || AceList == NULL)
        return STATUS_INVALID_PARAMETER;

    ULONG revision = AceRevision > Acl->AclRevision ? AceRevision : Acl->AclRevision;
    ULONG count = 0;
    ULONG offset = 0;
    while (offset < AceListLength) {
        PACE_HEADER ace = (PACE_HEADER)((PUCHAR)AceList + offset);
        if (!RtlpValidAce(ace, AceListLength - offset, revision))
            return STATUS_INVALID_PARAMETER;
        offset += ace->AceSize;
        count++;
    }
    if (Acl->AceCount + count > MAXUSHORT)
        return STATUS_INVALID_PARAMETER;

    PUCHAR free = RtlpFirstFree(Acl);
    ULONG used = (ULONG)(free - (PUCHAR)Acl);
    if (AceListLength > (ULONG)Acl->AclSize - used)
        return STATUS_BUFFER_TOO_SMALL;

    PUCHAR at = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < StartingAceIndex && i < Acl->AceCount; i++)
        at += ((PACE_HEADER)at)->AceSize;
    RtlMoveMemory(at + AceListLength, at, (SIZE_T)(free - at));
    RtlMoveMemory(at, AceList, AceListLength);
    Acl->AceCount = (USHORT)(Acl->AceCount + count);
    Acl->AclRevision = (UCHAR)revision;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlDeleteAce(PACL Acl, ULONG AceIndex)
{
    if (!RtlValidAcl(Acl) || AceIndex >= Acl->AceCount)
        return STATUS_INVALID_PARAMETER;

    PUCHAR at = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < AceIndex; i++)
        at += ((PACE_HEADER)at)->AceSize;
    PUCHAR free = RtlpFirstFree(Acl);
    ULONG size = ((PACE_HEADER)at)->AceSize;
    RtlMoveMemory(at, at + size, (SIZE_T)(free - (at + size)));
    /* The freed tail is zeroed so stale SIDs do not linger in the ACL. */
    RtlZeroMemory(free - size, size);
    Acl->AceCount--;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlGetAce(PACL Acl, ULONG AceIndex, PVOID *Ace)
{
    if (!RtlValidAcl(Acl) || AceIndex >= Acl->AceCount)
        return STATUS_INVALID_PARAMETER;
    PUCHAR at = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < AceIndex; i++)
        at += ((PACE_HEADER)at)->AceSize;
    *Ace = at;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlQueryInformationAcl(PACL Acl, PVOID AclInformation, ULONG AclInformationLength,
                                               ACL_INFORMATION_CLASS AclInformationClass)
{
    if (!RtlValidAcl(Acl))
        return STATUS_INVALID_PARAMETER;

    switch (AclInformationClass) {
    case AclRevisionInformation: {
        if (AclInformationLength < sizeof(ACL_REVISION_INFORMATION))
            return STATUS_BUFFER_TOO_SMALL;
        ((ACL_REVISION_INFORMATION *)AclInformation)->AclRevision = Acl->AclRevision;
        return STATUS_SUCCESS;
    }
    case AclSizeInformation: {
        if (AclInformationLength < sizeof(ACL_SIZE_INFORMATION))
            return STATUS_BUFFER_TOO_SMALL;
        ACL_SIZE_INFORMATION *info = AclInformation;
        ULONG used = (ULONG)(RtlpFirstFree(Acl) - (PUCHAR)Acl);
        info->AceCount = Acl->AceCount;
        info->AclBytesInUse = used;
        info->AclBytesFree = Acl->AclSize - used;
        return STATUS_SUCCESS;
    }
    default:
        return STATUS_INVALID_INFO_CLASS;
    }
}
