/*
 * Security descriptors in both forms, and generic access mapping.
 *
 * Absolute descriptors hold pointers to their owner, group and ACLs;
 * self-relative ones (SE_SELF_RELATIVE) hold byte offsets from their start,
 * 0 meaning "none". The getters and validators accept either form; the
 * setters only the absolute one (a self-relative descriptor cannot grow in
 * place), as NT documents. A DACL/SACL counts only with its PRESENT control
 * bit; present with no ACL is the NULL DACL (no protection at all), which is
 * different from an empty ACL (no access).
 *
 * Self-relative descriptors built here are packed header, SACL, DACL, owner,
 * group, each part starting 4-byte aligned.
 *
 * RtlValidRelativeSecurityDescriptor is the one routine meant for hostile
 * input (it is what a capture from user mode or a fuzzer feeds): every offset
 * is checked to lie after the header, inside the given length and aligned
 * before anything at it is read, and every part is validated within the
 * bytes that remain. Parts may share bytes (nothing reads them as anything
 * but what they claim to be), but none may overlap the header.
 */
#include <ntos/rtl.h>
#include <ntos/se.h>

#define RTLP_SD_ALIGN(x) (((x) + 3UL) & ~3UL)

static BOOLEAN RtlpIsSelfRelative(PSECURITY_DESCRIPTOR Sd)
{
    return (((PISECURITY_DESCRIPTOR)Sd)->Control & SE_SELF_RELATIVE) != 0;
}

/*
 * The four parts of a descriptor in either form. An ACL whose PRESENT bit is
 * clear comes back NULL, as does a present NULL ACL; callers that must tell
 * the two apart look at the control bits. Nothing is validated.
 */
VOID RtlpGetSecurityDescriptorParts(PSECURITY_DESCRIPTOR Sd, PSID *Owner, PSID *Group, PACL *Sacl, PACL *Dacl)
{
    PISECURITY_DESCRIPTOR abs = Sd;
    SECURITY_DESCRIPTOR_CONTROL control = abs->Control;
    PSID owner, group;
    PACL sacl, dacl;

    if (control & SE_SELF_RELATIVE) {
        PISECURITY_DESCRIPTOR_RELATIVE rel = Sd;
        PUCHAR base = Sd;
        owner = rel->Owner ? base + rel->Owner : NULL;
        group = rel->Group ? base + rel->Group : NULL;
        sacl = rel->Sacl ? (PACL)(base + rel->Sacl) : NULL;
        dacl = rel->Dacl ? (PACL)(base + rel->Dacl) : NULL;
    } else {
        owner = abs->Owner;
        group = abs->Group;
        sacl = abs->Sacl;
        dacl = abs->Dacl;
    }
    if (!(control & SE_SACL_PRESENT))
        sacl = NULL;
    if (!(control & SE_DACL_PRESENT))
        dacl = NULL;
    if (Owner)
        *Owner = owner;
    if (Group)
        *Group = group;
    if (Sacl)
        *Sacl = sacl;
    if (Dacl)
        *Dacl = dacl;
}

/* Bytes a self-relative descriptor with these parts takes. */
ULONG RtlpLengthSelfRelativeSD(SECURITY_DESCRIPTOR_CONTROL Control, PSID Owner, PSID Group, PACL Sacl, PACL Dacl)
{
    ULONG length = sizeof(SECURITY_DESCRIPTOR_RELATIVE);
    if ((Control & SE_SACL_PRESENT) && Sacl)
        length += RTLP_SD_ALIGN(Sacl->AclSize);
    if ((Control & SE_DACL_PRESENT) && Dacl)
        length += RTLP_SD_ALIGN(Dacl->AclSize);
    if (Owner)
        length += RTLP_SD_ALIGN(RtlLengthSid(Owner));
    if (Group)
        length += RTLP_SD_ALIGN(RtlLengthSid(Group));
    return length;
}

static ULONG RtlpPlacePart(PUCHAR Base, ULONG *Offset, const VOID *Part, ULONG Length)
{
    ULONG at = *Offset;
    RtlCopyMemory(Base + at, Part, Length);
    RtlZeroMemory(Base + at + Length, RTLP_SD_ALIGN(Length) - Length);
    *Offset = at + RTLP_SD_ALIGN(Length);
    return at;
}

/*
 * Packs the given parts into a self-relative descriptor in Buffer.
 * *BufferLength is the buffer size in and the size needed out;
 * STATUS_BUFFER_TOO_SMALL leaves the buffer untouched. Control keeps the
 * caller's bits (PRESENT bits decide whether an ACL slot is used at all) and
 * gains SE_SELF_RELATIVE. The parts may live anywhere, including in the
 * descriptor being replaced, as long as they do not overlap Buffer.
 */
NTSTATUS RtlpMakeSelfRelativeSD(SECURITY_DESCRIPTOR_CONTROL Control, PSID Owner, PSID Group, PACL Sacl, PACL Dacl,
                                PVOID Buffer, PULONG BufferLength)
{
    ULONG needed = RtlpLengthSelfRelativeSD(Control, Owner, Group, Sacl, Dacl);
    if (*BufferLength < needed) {
        *BufferLength = needed;
        return STATUS_BUFFER_TOO_SMALL;
    }
    *BufferLength = needed;

    PISECURITY_DESCRIPTOR_RELATIVE rel = Buffer;
    PUCHAR base = Buffer;
    ULONG offset = sizeof(SECURITY_DESCRIPTOR_RELATIVE);
    rel->Revision = SECURITY_DESCRIPTOR_REVISION;
    rel->Sbz1 = 0;
    rel->Control = (SECURITY_DESCRIPTOR_CONTROL)(Control | SE_SELF_RELATIVE);
    rel->Owner = rel->Group = rel->Sacl = rel->Dacl = 0;
    if ((Control & SE_SACL_PRESENT) && Sacl)
        rel->Sacl = RtlpPlacePart(base, &offset, Sacl, Sacl->AclSize);
    if ((Control & SE_DACL_PRESENT) && Dacl)
        rel->Dacl = RtlpPlacePart(base, &offset, Dacl, Dacl->AclSize);
    if (Owner)
        rel->Owner = RtlpPlacePart(base, &offset, Owner, RtlLengthSid(Owner));
    if (Group)
        rel->Group = RtlpPlacePart(base, &offset, Group, RtlLengthSid(Group));
    return STATUS_SUCCESS;
}

/* ---- creation and validation --------------------------------------------------------- */

NTSYSAPI NTSTATUS NTAPI RtlCreateSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Revision)
{
    if (Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    RtlZeroMemory(SecurityDescriptor, sizeof(SECURITY_DESCRIPTOR));
    ((PISECURITY_DESCRIPTOR)SecurityDescriptor)->Revision = SECURITY_DESCRIPTOR_REVISION;
    return STATUS_SUCCESS;
}

/*
 * Structural validity of a descriptor in either form whose length is not
 * known: revision, and each part that is there is a valid SID or ACL. The
 * caller vouches that the memory is readable; hostile self-relative input
 * belongs to RtlValidRelativeSecurityDescriptor.
 */
NTSYSAPI BOOLEAN NTAPI RtlValidSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    PSID owner, group;
    PACL sacl, dacl;

    if (sd == NULL || sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return FALSE;
    if (sd->Control & SE_SELF_RELATIVE) {
        /* An ACL offset without its PRESENT bit is never followed, so only
         * the parts that count are checked. */
        PISECURITY_DESCRIPTOR_RELATIVE rel = SecurityDescriptor;
        ULONG offsets[4] = {rel->Owner, rel->Group, (sd->Control & SE_SACL_PRESENT) ? rel->Sacl : 0,
                            (sd->Control & SE_DACL_PRESENT) ? rel->Dacl : 0};
        for (ULONG i = 0; i < 4; i++) {
            if (offsets[i] != 0 && (offsets[i] < sizeof(SECURITY_DESCRIPTOR_RELATIVE) || (offsets[i] & 3)))
                return FALSE;
        }
    }
    RtlpGetSecurityDescriptorParts(sd, &owner, &group, &sacl, &dacl);
    if (owner && !RtlValidSid(owner))
        return FALSE;
    if (group && !RtlValidSid(group))
        return FALSE;
    if (sacl && !RtlValidAcl(sacl))
        return FALSE;
    if (dacl && !RtlValidAcl(dacl))
        return FALSE;
    return TRUE;
}

/*
 * An offset to a part needing at least MinLength bytes: after the header,
 * aligned, and with MinLength bytes before Length. Returns the bytes
 * available from there (0 = invalid).
 */
static ULONG RtlpRelativePartRoom(ULONG Offset, ULONG Length, ULONG MinLength)
{
    if (Offset < sizeof(SECURITY_DESCRIPTOR_RELATIVE) || (Offset & 3) != 0)
        return 0;
    if (Offset >= Length || Length - Offset < MinLength)
        return 0;
    return Length - Offset;
}

static BOOLEAN RtlpValidRelativeSid(PUCHAR Base, ULONG Length, ULONG Offset)
{
    ULONG room = RtlpRelativePartRoom(Offset, Length, (ULONG)FIELD_OFFSET(SID, SubAuthority));
    if (room == 0)
        return FALSE;
    PISID sid = (PISID)(Base + Offset);
    return RtlValidSid(sid) && RtlLengthSid(sid) <= room;
}

static BOOLEAN RtlpValidRelativeAcl(PUCHAR Base, ULONG Length, ULONG Offset)
{
    ULONG room = RtlpRelativePartRoom(Offset, Length, sizeof(ACL));
    if (room == 0)
        return FALSE;
    PACL acl = (PACL)(Base + Offset);
    /* RtlValidAcl stays inside AclSize, which is checked to fit first. */
    return acl->AclSize <= room && RtlValidAcl(acl);
}

NTSYSAPI BOOLEAN NTAPI RtlValidRelativeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptorInput,
                                                          ULONG SecurityDescriptorLength,
                                                          SECURITY_INFORMATION RequiredInformation)
{
    PISECURITY_DESCRIPTOR_RELATIVE rel = SecurityDescriptorInput;
    PUCHAR base = SecurityDescriptorInput;
    ULONG length = SecurityDescriptorLength;

    if (rel == NULL || length < sizeof(SECURITY_DESCRIPTOR_RELATIVE))
        return FALSE;
    /* Every part is read through typed pointers that need ULONG alignment;
     * an unaligned buffer is rejected rather than read misaligned. */
    if (((ULONG_PTR)base & 3) != 0)
        return FALSE;
    if (rel->Revision != SECURITY_DESCRIPTOR_REVISION || !(rel->Control & SE_SELF_RELATIVE))
        return FALSE;

    if (rel->Owner != 0) {
        if (!RtlpValidRelativeSid(base, length, rel->Owner))
            return FALSE;
    } else if (RequiredInformation & OWNER_SECURITY_INFORMATION) {
        return FALSE;
    }
    if (rel->Group != 0) {
        if (!RtlpValidRelativeSid(base, length, rel->Group))
            return FALSE;
    } else if (RequiredInformation & GROUP_SECURITY_INFORMATION) {
        return FALSE;
    }
    /* An ACL offset counts only with its PRESENT bit (NT ignores a stale one);
     * present with offset 0 is the NULL ACL. */
    if (rel->Control & SE_DACL_PRESENT) {
        if (rel->Dacl != 0 && !RtlpValidRelativeAcl(base, length, rel->Dacl))
            return FALSE;
    } else if (RequiredInformation & DACL_SECURITY_INFORMATION) {
        return FALSE;
    }
    if (rel->Control & SE_SACL_PRESENT) {
        if (rel->Sacl != 0 && !RtlpValidRelativeAcl(base, length, rel->Sacl))
            return FALSE;
    } else if (RequiredInformation & SACL_SECURITY_INFORMATION) {
        return FALSE;
    }
    return TRUE;
}

NTSYSAPI ULONG NTAPI RtlLengthSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
    PSID owner, group;
    PACL sacl, dacl;

    RtlpGetSecurityDescriptorParts(SecurityDescriptor, &owner, &group, &sacl, &dacl);
    ULONG length = RtlpIsSelfRelative(SecurityDescriptor) ? sizeof(SECURITY_DESCRIPTOR_RELATIVE)
                                                          : sizeof(SECURITY_DESCRIPTOR);
    if (owner)
        length += RTLP_SD_ALIGN(RtlLengthSid(owner));
    if (group)
        length += RTLP_SD_ALIGN(RtlLengthSid(group));
    if (sacl)
        length += RTLP_SD_ALIGN(sacl->AclSize);
    if (dacl)
        length += RTLP_SD_ALIGN(dacl->AclSize);
    return length;
}

/* ---- getting and setting parts -------------------------------------------------------- */

/* Setters: the revision must be known and the descriptor absolute. */
static NTSTATUS RtlpCheckSettable(PSECURITY_DESCRIPTOR Sd)
{
    PISECURITY_DESCRIPTOR sd = Sd;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    if (sd->Control & SE_SELF_RELATIVE)
        return STATUS_INVALID_SECURITY_DESCR;
    return STATUS_SUCCESS;
}

static VOID RtlpSetControlBit(PISECURITY_DESCRIPTOR Sd, SECURITY_DESCRIPTOR_CONTROL Bit, BOOLEAN Set)
{
    if (Set)
        Sd->Control |= Bit;
    else
        Sd->Control &= (SECURITY_DESCRIPTOR_CONTROL)~Bit;
}

/* With DaclPresent FALSE only the PRESENT bit is cleared; Dacl and DaclDefaulted
 * are ignored, as documented. */
NTSYSAPI NTSTATUS NTAPI RtlSetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN DaclPresent,
                                                     PACL Dacl, BOOLEAN DaclDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    NTSTATUS status = RtlpCheckSettable(sd);
    if (!NT_SUCCESS(status))
        return status;
    if (!DaclPresent) {
        RtlpSetControlBit(sd, SE_DACL_PRESENT, FALSE);
        return STATUS_SUCCESS;
    }
    sd->Dacl = Dacl;
    RtlpSetControlBit(sd, SE_DACL_PRESENT, TRUE);
    RtlpSetControlBit(sd, SE_DACL_DEFAULTED, DaclDefaulted);
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlSetSaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN SaclPresent,
                                                     PACL Sacl, BOOLEAN SaclDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    NTSTATUS status = RtlpCheckSettable(sd);
    if (!NT_SUCCESS(status))
        return status;
    if (!SaclPresent) {
        RtlpSetControlBit(sd, SE_SACL_PRESENT, FALSE);
        return STATUS_SUCCESS;
    }
    sd->Sacl = Sacl;
    RtlpSetControlBit(sd, SE_SACL_PRESENT, TRUE);
    RtlpSetControlBit(sd, SE_SACL_DEFAULTED, SaclDefaulted);
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlSetOwnerSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID Owner,
                                                      BOOLEAN OwnerDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    NTSTATUS status = RtlpCheckSettable(sd);
    if (!NT_SUCCESS(status))
        return status;
    sd->Owner = Owner;
    RtlpSetControlBit(sd, SE_OWNER_DEFAULTED, OwnerDefaulted);
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlSetGroupSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID Group,
                                                      BOOLEAN GroupDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    NTSTATUS status = RtlpCheckSettable(sd);
    if (!NT_SUCCESS(status))
        return status;
    sd->Group = Group;
    RtlpSetControlBit(sd, SE_GROUP_DEFAULTED, GroupDefaulted);
    return STATUS_SUCCESS;
}

/* With DaclPresent FALSE nothing else is written (the documented "undefined"
 * outputs stay the caller's). */
NTSYSAPI NTSTATUS NTAPI RtlGetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                     PBOOLEAN DaclPresent, PACL *Dacl, PBOOLEAN DaclDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    *DaclPresent = (sd->Control & SE_DACL_PRESENT) != 0;
    if (*DaclPresent) {
        RtlpGetSecurityDescriptorParts(sd, NULL, NULL, NULL, Dacl);
        *DaclDefaulted = (sd->Control & SE_DACL_DEFAULTED) != 0;
    }
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlGetOwnerSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID *Owner,
                                                      PBOOLEAN OwnerDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    RtlpGetSecurityDescriptorParts(sd, Owner, NULL, NULL, NULL);
    *OwnerDefaulted = (sd->Control & SE_OWNER_DEFAULTED) != 0;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlGetGroupSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID *Group,
                                                      PBOOLEAN GroupDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    RtlpGetSecurityDescriptorParts(sd, NULL, Group, NULL, NULL);
    *GroupDefaulted = (sd->Control & SE_GROUP_DEFAULTED) != 0;
    return STATUS_SUCCESS;
}

/* The revision is reported even when it is unknown (the status says so). */
NTSYSAPI NTSTATUS NTAPI RtlGetControlSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                        PSECURITY_DESCRIPTOR_CONTROL Control, PULONG Revision)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    *Revision = sd->Revision;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    *Control = sd->Control;
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlAbsoluteToSelfRelativeSD(PSECURITY_DESCRIPTOR AbsoluteSecurityDescriptor,
                                                    PSECURITY_DESCRIPTOR SelfRelativeSecurityDescriptor,
                                                    PULONG BufferLength)
{
    PISECURITY_DESCRIPTOR sd = AbsoluteSecurityDescriptor;
    if (sd->Control & SE_SELF_RELATIVE)
        return STATUS_BAD_DESCRIPTOR_FORMAT;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    return RtlpMakeSelfRelativeSD(sd->Control, sd->Owner, sd->Group, sd->Sacl, sd->Dacl,
                                  SelfRelativeSecurityDescriptor, BufferLength);
}

/* Each generic bit adds its mapped rights; the generic bits themselves go. */
NTSYSAPI VOID NTAPI RtlMapGenericMask(PACCESS_MASK AccessMask, const GENERIC_MAPPING *GenericMapping)
{
    ACCESS_MASK mask = *AccessMask;
    if (mask & GENERIC_READ)
        mask |= GenericMapping->GenericRead;
    if (mask & GENERIC_WRITE)
        mask |= GenericMapping->GenericWrite;
    if (mask & GENERIC_EXECUTE)
        mask |= GenericMapping->GenericExecute;
    if (mask & GENERIC_ALL)
        mask |= GenericMapping->GenericAll;
    *AccessMask = mask & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
}
