/*
 * Object security descriptors: capture, assignment at creation (explicit,
 * inherited or default), validation, query and modification.
 *
 * Every descriptor Se hands out is self-relative, packed, in pool (tag
 * SEP_TAG_SD), and freed with ExFreePool by whoever the routine's contract
 * says (SeDeassignSecurity, SeReleaseSecurityDescriptor, the caller of
 * SeSetSecurityDescriptorInfo for the descriptor it replaced).
 *
 * Generic bits in the ACEs of a new object's ACLs are mapped with the
 * object type's mapping, except in inherit-only ACEs, whose generic bits are
 * meant for the children (mapped when they inherit them).
 *
 * Inheritance (SeAssignSecurity, NT's rules without auto-inheritance):
 *  - A non-container object inherits the parent's OBJECT_INHERIT ACEs as
 *    effective ACEs.
 *  - A container inherits CONTAINER_INHERIT ACEs as effective ACEs that keep
 *    propagating (unless NO_PROPAGATE_INHERIT), and OBJECT_INHERIT-only ACEs
 *    as inherit-only ACEs for its own children (unless NO_PROPAGATE_INHERIT).
 *  - In effective ACEs CREATOR OWNER / CREATOR GROUP become the new object's
 *    owner / group and generic bits are mapped; when that changes an ACE that
 *    must also keep propagating, it is split into the effective ACE and an
 *    inherit-only copy of the original.
 *  - Every inherited ACE is marked INHERITED_ACE. Only the ACE types that
 *    carry a SID at a fixed place (allowed, denied, audit, alarm) are
 *    inherited; object ACEs and unknown types are not.
 *
 * IRQL: PASSIVE_LEVEL (paged pool, token reads).
 */
#include "sep.h"

#define SEP_INHERIT_FLAGS (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | NO_PROPAGATE_INHERIT_ACE | INHERIT_ONLY_ACE)
#define SEP_AUDIT_FLAGS (SUCCESSFUL_ACCESS_ACE_FLAG | FAILED_ACCESS_ACE_FLAG)
#define SEP_MAX_ACL_SIZE 0xFFFC

static NTSTATUS SepCheckDescriptor(PSECURITY_DESCRIPTOR Sd)
{
    if (((PISECURITY_DESCRIPTOR)Sd)->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    return RtlValidSecurityDescriptor(Sd) ? STATUS_SUCCESS : STATUS_INVALID_SECURITY_DESCR;
}

/* Builds a self-relative descriptor in new pool from parts; maps the ACLs. */
static NTSTATUS SepBuildDescriptor(SECURITY_DESCRIPTOR_CONTROL Control, PSID Owner, PSID Group, PACL Sacl,
                                   PACL Dacl, POOL_TYPE PoolType, const GENERIC_MAPPING *GenericMapping,
                                   PSECURITY_DESCRIPTOR *Result)
{
    ULONG length = RtlpLengthSelfRelativeSD(Control, Owner, Group, Sacl, Dacl);
    PSECURITY_DESCRIPTOR sd = SepAllocatePool(PoolType, length, SEP_TAG_SD);
    if (sd == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS status = RtlpMakeSelfRelativeSD(Control, Owner, Group, Sacl, Dacl, sd, &length);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(sd, SEP_TAG_SD);
        return status;
    }
    if (GenericMapping != NULL) {
        PACL sacl, dacl;
        RtlpGetSecurityDescriptorParts(sd, NULL, NULL, &sacl, &dacl);
        SepMapAcl(sacl, GenericMapping);
        SepMapAcl(dacl, GenericMapping);
    }
    *Result = sd;
    return STATUS_SUCCESS;
}

/* ---- capture ----------------------------------------------------------------------------- */

/*
 * KernelMode without ForceCapture trusts the caller's descriptor and
 * returns it as is. Otherwise the descriptor (either form) is validated and
 * rebuilt packed and self-relative in PoolType, so the copy is independent
 * of the caller's memory and of any gaps or stale offsets in it.
 */
NTKERNELAPI NTSTATUS NTAPI SeCaptureSecurityDescriptor(PSECURITY_DESCRIPTOR InputSecurityDescriptor,
                                                       KPROCESSOR_MODE RequestorMode, POOL_TYPE PoolType,
                                                       BOOLEAN ForceCapture,
                                                       PSECURITY_DESCRIPTOR *OutputSecurityDescriptor)
{
    *OutputSecurityDescriptor = NULL;
    if (InputSecurityDescriptor == NULL)
        return STATUS_SUCCESS;
    if (RequestorMode == KernelMode && !ForceCapture) {
        *OutputSecurityDescriptor = InputSecurityDescriptor;
        return STATUS_SUCCESS;
    }
    NTSTATUS status = SepCheckDescriptor(InputSecurityDescriptor);
    if (!NT_SUCCESS(status))
        return status;
    PSID owner, group;
    PACL sacl, dacl;
    RtlpGetSecurityDescriptorParts(InputSecurityDescriptor, &owner, &group, &sacl, &dacl);
    SECURITY_DESCRIPTOR_CONTROL control = ((PISECURITY_DESCRIPTOR)InputSecurityDescriptor)->Control;
    return SepBuildDescriptor(control, owner, group, sacl, dacl, PoolType, NULL, OutputSecurityDescriptor);
}

NTKERNELAPI VOID NTAPI SeReleaseSecurityDescriptor(PSECURITY_DESCRIPTOR CapturedSecurityDescriptor,
                                                   KPROCESSOR_MODE RequestorMode, BOOLEAN ForceCapture)
{
    if (CapturedSecurityDescriptor != NULL && (RequestorMode != KernelMode || ForceCapture))
        ExFreePool(CapturedSecurityDescriptor);
}

/* ---- inheritance --------------------------------------------------------------------------- */

typedef struct _SEP_ACL_BUILDER {
    PUCHAR Out; /* NULL while measuring */
    ULONG Used; /* bytes of ACEs */
    ULONG Count;
} SEP_ACL_BUILDER;

static VOID SepEmitAce(SEP_ACL_BUILDER *B, UCHAR Type, UCHAR Flags, ACCESS_MASK Mask, PSID Sid)
{
    ULONG size = FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthSid(Sid);
    if (B->Out != NULL && B->Used + size <= SEP_MAX_ACL_SIZE - sizeof(ACL)) {
        PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)(B->Out + B->Used);
        ace->Header.AceType = Type;
        ace->Header.AceFlags = Flags;
        ace->Header.AceSize = (USHORT)size;
        ace->Mask = Mask;
        RtlCopyMemory(&ace->SidStart, Sid, RtlLengthSid(Sid));
    }
    B->Used += size;
    B->Count++;
}

static VOID SepInheritAces(SEP_ACL_BUILDER *B, PACL Parent, BOOLEAN IsDirectory, PSID Owner, PSID Group,
                           const GENERIC_MAPPING *GenericMapping)
{
    PUCHAR p = (PUCHAR)Parent + sizeof(ACL);
    for (ULONG i = 0; i < Parent->AceCount; i++) {
        PACE_HEADER header = (PACE_HEADER)p;
        p += header->AceSize;
        UCHAR f = header->AceFlags;
        if (!(f & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)) || header->AceType > ACCESS_MAX_MS_V2_ACE_TYPE)
            continue;
        PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)header;
        PSID sid = &ace->SidStart;
        UCHAR audit = f & SEP_AUDIT_FLAGS;

        BOOLEAN effective, propagate;
        UCHAR keep = 0; /* inherit flags the propagating copy keeps */
        if (!IsDirectory) {
            effective = (f & OBJECT_INHERIT_ACE) != 0;
            propagate = FALSE;
        } else if (f & CONTAINER_INHERIT_ACE) {
            effective = TRUE;
            propagate = !(f & NO_PROPAGATE_INHERIT_ACE);
            keep = f & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
        } else {
            effective = FALSE;
            propagate = !(f & NO_PROPAGATE_INHERIT_ACE);
            keep = OBJECT_INHERIT_ACE;
        }

        PSID effectiveSid = sid;
        if (RtlEqualSid(sid, SepCreatorOwnerSid))
            effectiveSid = Owner;
        else if (RtlEqualSid(sid, SepCreatorGroupSid) && Group != NULL)
            effectiveSid = Group;
        ACCESS_MASK effectiveMask = ace->Mask;
        if (GenericMapping != NULL)
            RtlMapGenericMask(&effectiveMask, GenericMapping);

        if (effective && propagate && effectiveSid == sid && effectiveMask == ace->Mask) {
            SepEmitAce(B, header->AceType, (UCHAR)(keep | audit | INHERITED_ACE), ace->Mask, sid);
            continue;
        }
        if (effective)
            SepEmitAce(B, header->AceType, (UCHAR)(audit | INHERITED_ACE), effectiveMask, effectiveSid);
        if (propagate)
            SepEmitAce(B, header->AceType, (UCHAR)(keep | audit | INHERIT_ONLY_ACE | INHERITED_ACE), ace->Mask,
                       sid);
    }
}

/*
 * The ACL a child inherits from Parent, in new temporary pool (NULL and
 * success when nothing is inheritable). STATUS_BAD_INHERITANCE_ACL if it
 * would not fit an ACL.
 */
static NTSTATUS SepInheritAcl(PACL Parent, BOOLEAN IsDirectory, PSID Owner, PSID Group,
                              const GENERIC_MAPPING *GenericMapping, PACL *Result)
{
    *Result = NULL;
    if (Parent == NULL)
        return STATUS_SUCCESS;
    SEP_ACL_BUILDER measure = {NULL, 0, 0};
    SepInheritAces(&measure, Parent, IsDirectory, Owner, Group, GenericMapping);
    if (measure.Count == 0)
        return STATUS_SUCCESS;
    if (measure.Used > SEP_MAX_ACL_SIZE - sizeof(ACL) || measure.Count > MAXUSHORT)
        return STATUS_BAD_INHERITANCE_ACL;
    PACL acl = SepAllocatePool(PagedPool, sizeof(ACL) + measure.Used, SEP_TAG_TEMP);
    if (acl == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    acl->AclRevision = Parent->AclRevision;
    acl->Sbz1 = 0;
    acl->AclSize = (USHORT)(sizeof(ACL) + measure.Used);
    acl->AceCount = (USHORT)measure.Count;
    acl->Sbz2 = 0;
    SEP_ACL_BUILDER fill = {(PUCHAR)acl + sizeof(ACL), 0, 0};
    SepInheritAces(&fill, Parent, IsDirectory, Owner, Group, GenericMapping);
    *Result = acl;
    return STATUS_SUCCESS;
}

/* ---- assignment ---------------------------------------------------------------------------- */

/*
 * Owner: the explicit one (which the subject must be allowed to assign,
 * else STATUS_INVALID_OWNER) or the token's default owner. Group: explicit
 * or the token's primary group. DACL, in NT's order of preference: an
 * explicit non-defaulted DACL (a NULL DACL included), the parent's
 * inheritable ACEs (unless the explicit descriptor is SE_DACL_PROTECTED), an
 * explicit defaulted DACL, the token's default DACL, and otherwise none.
 * SACL: explicit non-defaulted, inherited, explicit defaulted, or none.
 */
NTKERNELAPI NTSTATUS NTAPI SeAssignSecurity(PSECURITY_DESCRIPTOR ParentDescriptor,
                                            PSECURITY_DESCRIPTOR ExplicitDescriptor,
                                            PSECURITY_DESCRIPTOR *NewDescriptor, BOOLEAN IsDirectoryObject,
                                            PSECURITY_SUBJECT_CONTEXT SubjectContext,
                                            PGENERIC_MAPPING GenericMapping, POOL_TYPE PoolType)
{
    NTSTATUS status;
    if (NewDescriptor == NULL || SubjectContext == NULL)
        return STATUS_INVALID_PARAMETER;
    *NewDescriptor = NULL;
    if (ExplicitDescriptor != NULL && !NT_SUCCESS(status = SepCheckDescriptor(ExplicitDescriptor)))
        return status;
    if (ParentDescriptor != NULL && !NT_SUCCESS(status = SepCheckDescriptor(ParentDescriptor)))
        return status;
    PTOKEN token = SepEffectiveToken(SubjectContext);

    PSID eOwner = NULL, eGroup = NULL;
    PACL eSacl = NULL, eDacl = NULL, pSacl = NULL, pDacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL eControl = 0;
    if (ExplicitDescriptor != NULL) {
        RtlpGetSecurityDescriptorParts(ExplicitDescriptor, &eOwner, &eGroup, &eSacl, &eDacl);
        eControl = ((PISECURITY_DESCRIPTOR)ExplicitDescriptor)->Control;
    }
    if (ParentDescriptor != NULL)
        RtlpGetSecurityDescriptorParts(ParentDescriptor, NULL, NULL, &pSacl, &pDacl);

    SECURITY_DESCRIPTOR_CONTROL control = eControl & (SE_DACL_PROTECTED | SE_SACL_PROTECTED);
    PSID owner = eOwner, group = eGroup;
    if (owner == NULL) {
        owner = token->UserAndGroups[token->DefaultOwnerIndex].Sid;
        control |= SE_OWNER_DEFAULTED;
    } else if (!SepValidOwner(token, owner)) {
        return STATUS_INVALID_OWNER;
    }
    if (group == NULL) {
        group = token->PrimaryGroup;
        control |= SE_GROUP_DEFAULTED;
    }

    PACL inheritedDacl = NULL, inheritedSacl = NULL;
    BOOLEAN eDaclPresent = (eControl & SE_DACL_PRESENT) != 0, eDaclDefaulted = (eControl & SE_DACL_DEFAULTED) != 0;
    BOOLEAN eSaclPresent = (eControl & SE_SACL_PRESENT) != 0, eSaclDefaulted = (eControl & SE_SACL_DEFAULTED) != 0;
    if ((!eDaclPresent || eDaclDefaulted) && !(eControl & SE_DACL_PROTECTED)) {
        status = SepInheritAcl(pDacl, IsDirectoryObject, owner, group, GenericMapping, &inheritedDacl);
        if (!NT_SUCCESS(status))
            return status;
    }
    if ((!eSaclPresent || eSaclDefaulted) && !(eControl & SE_SACL_PROTECTED)) {
        status = SepInheritAcl(pSacl, IsDirectoryObject, owner, group, GenericMapping, &inheritedSacl);
        if (!NT_SUCCESS(status)) {
            if (inheritedDacl != NULL)
                ExFreePoolWithTag(inheritedDacl, SEP_TAG_TEMP);
            return status;
        }
    }

    PACL dacl = NULL, sacl = NULL;
    if (eDaclPresent && !eDaclDefaulted) {
        dacl = eDacl;
        control |= SE_DACL_PRESENT;
    } else if (inheritedDacl != NULL) {
        dacl = inheritedDacl;
        control |= SE_DACL_PRESENT;
    } else if (eDaclPresent) {
        dacl = eDacl;
        control |= SE_DACL_PRESENT | SE_DACL_DEFAULTED;
    } else if (token->DefaultDacl != NULL) {
        dacl = token->DefaultDacl;
        control |= SE_DACL_PRESENT | SE_DACL_DEFAULTED;
    }
    if (eSaclPresent && !eSaclDefaulted) {
        sacl = eSacl;
        control |= SE_SACL_PRESENT;
    } else if (inheritedSacl != NULL) {
        sacl = inheritedSacl;
        control |= SE_SACL_PRESENT;
    } else if (eSaclPresent) {
        sacl = eSacl;
        control |= SE_SACL_PRESENT | SE_SACL_DEFAULTED;
    }

    status = SepBuildDescriptor(control, owner, group, sacl, dacl, PoolType, GenericMapping, NewDescriptor);
    if (inheritedDacl != NULL)
        ExFreePoolWithTag(inheritedDacl, SEP_TAG_TEMP);
    if (inheritedSacl != NULL)
        ExFreePoolWithTag(inheritedSacl, SEP_TAG_TEMP);
    return status;
}

NTKERNELAPI NTSTATUS NTAPI SeDeassignSecurity(PSECURITY_DESCRIPTOR *SecurityDescriptor)
{
    if (SecurityDescriptor == NULL)
        return STATUS_INVALID_PARAMETER;
    if (*SecurityDescriptor != NULL)
        ExFreePool(*SecurityDescriptor);
    *SecurityDescriptor = NULL;
    return STATUS_SUCCESS;
}

/* Self-relative, an owner, and every part inside Length (the documented checks). */
NTKERNELAPI BOOLEAN NTAPI SeValidSecurityDescriptor(ULONG Length, PSECURITY_DESCRIPTOR SecurityDescriptor)
{
    return RtlValidRelativeSecurityDescriptor(SecurityDescriptor, Length, OWNER_SECURITY_INFORMATION);
}

/* ---- query and set --------------------------------------------------------------------- */

#define SEP_DACL_CONTROL \
    (SE_DACL_PRESENT | SE_DACL_DEFAULTED | SE_DACL_UNTRUSTED | SE_DACL_AUTO_INHERIT_REQ | SE_DACL_AUTO_INHERITED | \
     SE_DACL_PROTECTED)
#define SEP_SACL_CONTROL \
    (SE_SACL_PRESENT | SE_SACL_DEFAULTED | SE_SACL_AUTO_INHERIT_REQ | SE_SACL_AUTO_INHERITED | SE_SACL_PROTECTED)

/*
 * Copies the requested parts of the object's descriptor (with the control
 * bits that describe them) into the caller's buffer, self-relative. An
 * object without a descriptor yields one with no parts. Too small a buffer:
 * STATUS_BUFFER_TOO_SMALL, nothing copied, *Length = the size needed.
 */
NTKERNELAPI NTSTATUS NTAPI SeQuerySecurityDescriptorInfo(PSECURITY_INFORMATION SecurityInformation,
                                                         PSECURITY_DESCRIPTOR SecurityDescriptor, PULONG Length,
                                                         PSECURITY_DESCRIPTOR *ObjectsSecurityDescriptor)
{
    SECURITY_INFORMATION info = *SecurityInformation;
    PSECURITY_DESCRIPTOR source = ObjectsSecurityDescriptor != NULL ? *ObjectsSecurityDescriptor : NULL;
    PSID owner = NULL, group = NULL;
    PACL sacl = NULL, dacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;

    if (source != NULL) {
        SECURITY_DESCRIPTOR_CONTROL sourceControl = ((PISECURITY_DESCRIPTOR)source)->Control;
        PSID o, g;
        PACL s, d;
        RtlpGetSecurityDescriptorParts(source, &o, &g, &s, &d);
        if (info & OWNER_SECURITY_INFORMATION) {
            owner = o;
            control |= sourceControl & SE_OWNER_DEFAULTED;
        }
        if (info & GROUP_SECURITY_INFORMATION) {
            group = g;
            control |= sourceControl & SE_GROUP_DEFAULTED;
        }
        if (info & DACL_SECURITY_INFORMATION) {
            dacl = d;
            control |= sourceControl & SEP_DACL_CONTROL;
        }
        if (info & SACL_SECURITY_INFORMATION) {
            sacl = s;
            control |= sourceControl & SEP_SACL_CONTROL;
        }
    }
    ULONG needed = RtlpLengthSelfRelativeSD(control, owner, group, sacl, dacl);
    if (*Length < needed) {
        *Length = needed;
        return STATUS_BUFFER_TOO_SMALL;
    }
    return RtlpMakeSelfRelativeSD(control, owner, group, sacl, dacl, SecurityDescriptor, Length);
}

/*
 * Builds the object's new descriptor: the parts named in SecurityInformation
 * from ModificationDescriptor, the rest from the current one. The new owner
 * must be one the current subject may assign (STATUS_INVALID_OWNER), and
 * owner/group cannot be removed. *ObjectsSecurityDescriptor then points to
 * the new descriptor (PoolType); the old one is the caller's to free, as
 * documented.
 */
NTKERNELAPI NTSTATUS NTAPI SeSetSecurityDescriptorInfo(PVOID Object, PSECURITY_INFORMATION SecurityInformation,
                                                       PSECURITY_DESCRIPTOR ModificationDescriptor,
                                                       PSECURITY_DESCRIPTOR *ObjectsSecurityDescriptor,
                                                       POOL_TYPE PoolType, PGENERIC_MAPPING GenericMapping)
{
    (void)Object;
    PSECURITY_DESCRIPTOR old = *ObjectsSecurityDescriptor;
    if (old == NULL)
        return STATUS_NO_SECURITY_ON_OBJECT;
    if (!(((PISECURITY_DESCRIPTOR)old)->Control & SE_SELF_RELATIVE))
        return STATUS_BAD_DESCRIPTOR_FORMAT;
    NTSTATUS status = SepCheckDescriptor(ModificationDescriptor);
    if (!NT_SUCCESS(status))
        return status;

    SECURITY_INFORMATION info = *SecurityInformation;
    SECURITY_DESCRIPTOR_CONTROL oldControl = ((PISECURITY_DESCRIPTOR)old)->Control;
    SECURITY_DESCRIPTOR_CONTROL modControl = ((PISECURITY_DESCRIPTOR)ModificationDescriptor)->Control;
    PSID owner, group, mOwner, mGroup;
    PACL sacl, dacl, mSacl, mDacl;
    RtlpGetSecurityDescriptorParts(old, &owner, &group, &sacl, &dacl);
    RtlpGetSecurityDescriptorParts(ModificationDescriptor, &mOwner, &mGroup, &mSacl, &mDacl);
    SECURITY_DESCRIPTOR_CONTROL control = oldControl & (SE_OWNER_DEFAULTED | SE_GROUP_DEFAULTED |
                                                        SEP_DACL_CONTROL | SEP_SACL_CONTROL);

    if (info & OWNER_SECURITY_INFORMATION) {
        if (mOwner == NULL)
            return STATUS_INVALID_OWNER;
        SECURITY_SUBJECT_CONTEXT subject;
        SeCaptureSubjectContext(&subject);
        PTOKEN token = SepEffectiveToken(&subject);
        BOOLEAN valid = token != NULL && SepValidOwner(token, mOwner);
        SeReleaseSubjectContext(&subject);
        if (!valid)
            return STATUS_INVALID_OWNER;
        owner = mOwner;
        control = (control & ~SE_OWNER_DEFAULTED) | (modControl & SE_OWNER_DEFAULTED);
    }
    if (info & GROUP_SECURITY_INFORMATION) {
        if (mGroup == NULL)
            return STATUS_INVALID_PRIMARY_GROUP;
        group = mGroup;
        control = (control & ~SE_GROUP_DEFAULTED) | (modControl & SE_GROUP_DEFAULTED);
    }
    if (info & DACL_SECURITY_INFORMATION) {
        dacl = mDacl;
        control = (control & ~SEP_DACL_CONTROL) | (modControl & SEP_DACL_CONTROL);
    }
    if (info & SACL_SECURITY_INFORMATION) {
        sacl = mSacl;
        control = (control & ~SEP_SACL_CONTROL) | (modControl & SEP_SACL_CONTROL);
    }

    PSECURITY_DESCRIPTOR updated;
    status = SepBuildDescriptor(control, owner, group, sacl, dacl, PoolType, GenericMapping, &updated);
    if (!NT_SUCCESS(status))
        return status;
    *ObjectsSecurityDescriptor = updated;
    return STATUS_SUCCESS;
}
