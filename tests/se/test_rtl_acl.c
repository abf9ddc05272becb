/*
 * Rtl ACLs: creation limits, structural validation (every way an ACL can be
 * malformed), adding allowed/denied ACEs with their documented errors and
 * the exact-fit boundary, RtlAddAce insertion, deletion, RtlGetAce and the
 * information classes.
 */
#include "se_test.h"

static PACE_HEADER ace_at(PACL Acl, ULONG Index)
{
    PVOID ace = NULL;
    assert_int_equal(RtlGetAce(Acl, Index, &ace), STATUS_SUCCESS);
    return ace;
}

static void create_cases(void **state)
{
    se_acl_buf b;
    RtlFillMemory(&b, sizeof(b), 0xEE);
    assert_int_equal(RtlCreateAcl(&b.Acl, 7, ACL_REVISION), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(b.Bytes[0], 0xEE);
    assert_int_equal(RtlCreateAcl(&b.Acl, 8, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCreateAcl(&b.Acl, 8, 5), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCreateAcl(&b.Acl, 0x10000, ACL_REVISION), STATUS_INVALID_PARAMETER);

    assert_int_equal(RtlCreateAcl(&b.Acl, 8, ACL_REVISION), STATUS_SUCCESS);
    assert_int_equal(b.Acl.AclRevision, ACL_REVISION);
    assert_int_equal(b.Acl.AclSize, 8);
    assert_int_equal(b.Acl.AceCount, 0);
    assert_int_equal(b.Acl.Sbz1, 0);
    assert_int_equal(b.Acl.Sbz2, 0);
    assert_true(RtlValidAcl(&b.Acl));

    assert_int_equal(RtlCreateAcl(&b.Acl, 23, ACL_REVISION_DS), STATUS_SUCCESS);
    assert_int_equal(b.Acl.AclSize, 20); /* rounded down to whole ULONGs */
    assert_int_equal(b.Acl.AclRevision, ACL_REVISION_DS);
    assert_int_equal(RtlCreateAcl(&b.Acl, 3, ACL_REVISION3), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(RtlCreateAcl(&b.Acl, 12, ACL_REVISION3), STATUS_SUCCESS);
}

static void create_maximum(void **state)
{
    static ULONG big[0x10000 / sizeof(ULONG)];
    PACL acl = (PACL)big;
    assert_int_equal(RtlCreateAcl(acl, 0xFFFF, ACL_REVISION), STATUS_SUCCESS);
    assert_int_equal(acl->AclSize, 0xFFFC);
    assert_true(RtlValidAcl(acl));
}

static void add_allowed_and_denied(void **state)
{
    se_acl_buf b;
    se_sid_buf world, admins;
    PACL acl = se_acl(&b);
    se_sid1(&world, 1, 0);
    se_sid2(&admins, 5, 32, 544);

    assert_int_equal(RtlAddAccessDeniedAce(acl, ACL_REVISION, WRITE_DAC, &world.Sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, &admins.Sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAceEx(acl, ACL_REVISION, CONTAINER_INHERIT_ACE | INHERITED_ACE, 0x7,
                                              &world.Sid),
                     STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessDeniedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE, 0x1,
                                             &admins.Sid),
                     STATUS_SUCCESS);
    assert_int_equal(acl->AceCount, 4);
    assert_true(RtlValidAcl(acl));

    PACCESS_ALLOWED_ACE a0 = (PACCESS_ALLOWED_ACE)ace_at(acl, 0);
    assert_int_equal(a0->Header.AceType, ACCESS_DENIED_ACE_TYPE);
    assert_int_equal(a0->Header.AceFlags, 0);
    assert_int_equal(a0->Header.AceSize, 8 + 12);
    assert_int_equal(a0->Mask, WRITE_DAC);
    assert_true(RtlEqualSid(&a0->SidStart, &world.Sid));
    assert_ptr_equal(a0, (PUCHAR)acl + sizeof(ACL));

    PACCESS_ALLOWED_ACE a1 = (PACCESS_ALLOWED_ACE)ace_at(acl, 1);
    assert_ptr_equal(a1, (PUCHAR)a0 + 20);
    assert_int_equal(a1->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
    assert_int_equal(a1->Header.AceSize, 8 + 16);
    assert_int_equal(a1->Mask, GENERIC_ALL); /* stored as given, unmapped */
    assert_true(RtlEqualSid(&a1->SidStart, &admins.Sid));

    PACE_HEADER a2 = ace_at(acl, 2), a3 = ace_at(acl, 3);
    assert_int_equal(a2->AceFlags, CONTAINER_INHERIT_ACE | INHERITED_ACE);
    assert_int_equal(a3->AceType, ACCESS_DENIED_ACE_TYPE);
    assert_int_equal(a3->AceFlags, OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE);
}

static void add_errors(void **state)
{
    se_acl_buf b;
    se_sid_buf s, bad;
    PACL acl = se_acl(&b);
    se_sid1(&s, 5, 18);
    se_sid1(&bad, 5, 18);
    bad.Sid.Revision = 9;

    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, 1, &bad.Sid), STATUS_INVALID_SID);
    assert_int_equal(RtlAddAccessDeniedAce(acl, ACL_REVISION, 1, NULL), STATUS_INVALID_SID);
    assert_int_equal(RtlAddAccessAllowedAce(acl, 1, 1, &s.Sid), STATUS_REVISION_MISMATCH);
    assert_int_equal(RtlAddAccessAllowedAce(acl, 5, 1, &s.Sid), STATUS_REVISION_MISMATCH);
    assert_int_equal(RtlAddAccessAllowedAceEx(acl, ACL_REVISION, 0x20, 1, &s.Sid), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlAddAccessDeniedAceEx(acl, ACL_REVISION, SUCCESSFUL_ACCESS_ACE_FLAG, 1, &s.Sid),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(acl->AceCount, 0);

    acl->AclRevision = 7;
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, 1, &s.Sid), STATUS_INVALID_ACL);
    assert_int_equal(RtlAddAccessDeniedAceEx(acl, ACL_REVISION, 0, 1, &s.Sid), STATUS_INVALID_ACL);
}

static void add_exact_fit(void **state)
{
    se_acl_buf b;
    se_sid_buf s;
    se_sid1(&s, 5, 18); /* ACE = 8 + 12 = 20 bytes */
    RtlZeroMemory(&b, sizeof(b));
    assert_int_equal(RtlCreateAcl(&b.Acl, 8 + 20 + 19, ACL_REVISION), STATUS_SUCCESS); /* 44 usable */
    assert_int_equal(RtlAddAccessAllowedAce(&b.Acl, ACL_REVISION, 1, &s.Sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAce(&b.Acl, ACL_REVISION, 1, &s.Sid), STATUS_ALLOTTED_SPACE_EXCEEDED);
    assert_int_equal(b.Acl.AceCount, 1);

    assert_int_equal(RtlCreateAcl(&b.Acl, 8 + 40, ACL_REVISION), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAce(&b.Acl, ACL_REVISION, 1, &s.Sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessDeniedAce(&b.Acl, ACL_REVISION, 1, &s.Sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessDeniedAce(&b.Acl, ACL_REVISION, 1, &s.Sid), STATUS_ALLOTTED_SPACE_EXCEEDED);
    assert_int_equal(b.Acl.AceCount, 2);
    assert_true(RtlValidAcl(&b.Acl));
}

static void add_raises_revision(void **state)
{
    se_acl_buf b;
    se_sid_buf s;
    PACL acl = se_acl(&b);
    se_sid1(&s, 5, 18);
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION_DS, 1, &s.Sid), STATUS_SUCCESS);
    assert_int_equal(acl->AclRevision, ACL_REVISION_DS);
    /* An older ACE revision never lowers it. */
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, 1, &s.Sid), STATUS_SUCCESS);
    assert_int_equal(acl->AclRevision, ACL_REVISION_DS);
}

/* Builds a one-ACE ACL by hand for the malformation cases. */
static PACL raw_acl(se_acl_buf *B, UCHAR Revision, USHORT AclSize, UCHAR AceType, USHORT AceSize)
{
    RtlZeroMemory(B, sizeof(*B));
    B->Acl.AclRevision = Revision;
    B->Acl.AclSize = AclSize;
    B->Acl.AceCount = 1;
    PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)(B->Bytes + 8);
    ace->Header.AceType = AceType;
    ace->Header.AceSize = AceSize;
    ace->Mask = 1;
    se_sid1((se_sid_buf *)&ace->SidStart, 5, 18);
    return &B->Acl;
}

static void valid_acl_malformed(void **state)
{
    se_acl_buf b;
    assert_false(RtlValidAcl(NULL));
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 20)));
    /* Slack after the last ACE is free space, not an error. */
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 200, ACCESS_ALLOWED_ACE_TYPE, 20)));
    /* A bigger ACE than its SID needs is fine (NT ignores the tail). */
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 40, ACCESS_ALLOWED_ACE_TYPE, 24)));

    assert_false(RtlValidAcl(raw_acl(&b, 1, 28, ACCESS_ALLOWED_ACE_TYPE, 20)));
    assert_false(RtlValidAcl(raw_acl(&b, 5, 28, ACCESS_ALLOWED_ACE_TYPE, 20)));
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 7, ACCESS_ALLOWED_ACE_TYPE, 20)));
    /* ACE runs past AclSize. */
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 27, ACCESS_ALLOWED_ACE_TYPE, 20)));
    /* Header does not even fit. */
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 10, ACCESS_ALLOWED_ACE_TYPE, 20)));
    /* AceSize below a header, zero, unaligned. */
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 2)));
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 0)));
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 18)));
    /* The SID does not fit the ACE (12-byte SID, 16-byte ACE). */
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 16)));
    /* Too small for even a SID header. */
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_DENIED_ACE_TYPE, 12)));
    /* Invalid SID inside. */
    raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 20);
    b.Bytes[16] = 3; /* SID revision */
    assert_false(RtlValidAcl(&b.Acl));
    raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 20);
    b.Bytes[17] = 16; /* sub-authority count */
    assert_false(RtlValidAcl(&b.Acl));
    /* AceCount claims more ACEs than there are bytes. */
    raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_ACE_TYPE, 20);
    b.Acl.AceCount = 2;
    assert_false(RtlValidAcl(&b.Acl));
    b.Acl.AceCount = 0xFFFF;
    assert_false(RtlValidAcl(&b.Acl));
}

static void valid_acl_types_and_revisions(void **state)
{
    se_acl_buf b;
    /* Audit, alarm and the mandatory label carry SIDs in any revision. */
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, SYSTEM_AUDIT_ACE_TYPE, 20)));
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, SYSTEM_ALARM_ACE_TYPE, 20)));
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, SYSTEM_MANDATORY_LABEL_ACE_TYPE, 20)));
    /* Compound needs revision 3; object ACEs need revision 4. */
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, ACCESS_ALLOWED_COMPOUND_ACE_TYPE, 20)));
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION3, 28, ACCESS_ALLOWED_COMPOUND_ACE_TYPE, 20)));
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION3, 60, ACCESS_ALLOWED_OBJECT_ACE_TYPE, 24)));
    /* An unknown type is only size-checked. */
    assert_true(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, 0x42, 8)));
    assert_false(RtlValidAcl(raw_acl(&b, ACL_REVISION, 28, 0x42, 6)));

    /* Object ACE: Flags pick which GUIDs precede the SID. */
    RtlZeroMemory(&b, sizeof(b));
    b.Acl.AclRevision = ACL_REVISION_DS;
    b.Acl.AclSize = 200;
    b.Acl.AceCount = 1;
    PACCESS_ALLOWED_OBJECT_ACE oa = (PACCESS_ALLOWED_OBJECT_ACE)(b.Bytes + 8);
    oa->Header.AceType = ACCESS_DENIED_OBJECT_ACE_TYPE;
    oa->Header.AceSize = 12 + 12;
    oa->Flags = 0;
    se_sid1((se_sid_buf *)((PUCHAR)oa + 12), 5, 18);
    assert_true(RtlValidAcl(&b.Acl));
    oa->Flags = ACE_OBJECT_TYPE_PRESENT; /* the SID would start 16 bytes later */
    assert_false(RtlValidAcl(&b.Acl));
    oa->Header.AceSize = 12 + 16 + 12;
    se_sid1((se_sid_buf *)((PUCHAR)oa + 28), 5, 18);
    assert_true(RtlValidAcl(&b.Acl));
    oa->Flags = ACE_OBJECT_TYPE_PRESENT | ACE_INHERITED_OBJECT_TYPE_PRESENT;
    assert_false(RtlValidAcl(&b.Acl));
    oa->Header.AceSize = 8; /* not even the Flags field */
    assert_false(RtlValidAcl(&b.Acl));
}

static void add_ace_insertion(void **state)
{
    se_acl_buf b, list;
    se_sid_buf s1, s2, s3;
    PACL acl = se_acl(&b);
    se_sid1(&s1, 5, 1);
    se_sid1(&s2, 5, 2);
    se_sid1(&s3, 5, 3);
    se_allow(acl, 1, &s1.Sid, 0);
    se_allow(acl, 3, &s3.Sid, 0);

    /* A list of two ACEs, taken from a scratch ACL. */
    PACL scratch = se_acl(&list);
    se_deny(scratch, 2, &s2.Sid, 0);
    se_deny(scratch, 4, &s2.Sid, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE);
    PVOID first = ace_at(scratch, 0);
    ULONG listLength = 2 * 20;

    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 1, first, listLength), STATUS_SUCCESS);
    assert_int_equal(acl->AceCount, 4);
    assert_true(RtlValidAcl(acl));
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 0))->Mask, 1);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 1))->Mask, 2);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 2))->Mask, 4);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 3))->Mask, 3);

    /* MAXULONG (and any index past the end) appends; 0 prepends. */
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, MAXULONG, first, 20), STATUS_SUCCESS);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 4))->Mask, 2);
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, ace_at(scratch, 1), 20), STATUS_SUCCESS);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 0))->Mask, 4);
    assert_int_equal(acl->AceCount, 6);
    assert_true(RtlValidAcl(acl));

    /* An empty list changes nothing. */
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, first, 0), STATUS_SUCCESS);
    assert_int_equal(acl->AceCount, 6);
}

static void add_ace_errors(void **state)
{
    se_acl_buf b, list, small;
    se_sid_buf s;
    PACL acl = se_acl(&b);
    se_sid1(&s, 5, 1);
    PACL scratch = se_acl(&list);
    se_allow(scratch, 1, &s.Sid, 0);
    PVOID ace = ace_at(scratch, 0);

    /* A list that ends in the middle of an ACE, or has a malformed one. */
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, ace, 19), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, ace, 22), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, NULL, 20), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlAddAce(acl, 9, 0, ace, 20), STATUS_INVALID_PARAMETER);
    ((PACE_HEADER)ace)->AceSize = 3;
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, ace, 20), STATUS_INVALID_PARAMETER);
    ((PACE_HEADER)ace)->AceSize = 20;
    acl->AclRevision = 0;
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, ace, 20), STATUS_INVALID_PARAMETER);
    acl->AclRevision = ACL_REVISION;
    assert_int_equal(acl->AceCount, 0);

    /* No room. */
    RtlZeroMemory(&small, sizeof(small));
    assert_int_equal(RtlCreateAcl(&small.Acl, 8 + 16, ACL_REVISION), STATUS_SUCCESS);
    assert_int_equal(RtlAddAce(&small.Acl, ACL_REVISION, 0, ace, 20), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(small.Acl.AceCount, 0);

    /* An object ACE is accepted only when the revision becomes DS, which the ACL then takes. */
    UCHAR objace[12 + sizeof(se_sid_buf)] __attribute__((aligned(4))) = {0};
    PACCESS_ALLOWED_OBJECT_ACE oa = (PACCESS_ALLOWED_OBJECT_ACE)objace;
    oa->Header.AceType = ACCESS_ALLOWED_OBJECT_ACE_TYPE;
    oa->Header.AceSize = 24;
    se_sid1((se_sid_buf *)(objace + 12), 5, 18);
    assert_int_equal(RtlAddAce(acl, ACL_REVISION, 0, objace, 24), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlAddAce(acl, ACL_REVISION_DS, 0, objace, 24), STATUS_SUCCESS);
    assert_int_equal(acl->AclRevision, ACL_REVISION_DS);
    assert_true(RtlValidAcl(acl));
}

static void delete_and_get(void **state)
{
    se_acl_buf b;
    se_sid_buf s;
    PACL acl = se_acl(&b);
    se_sid1(&s, 5, 1);
    for (ULONG i = 0; i < 4; i++)
        se_allow(acl, 1u << i, &s.Sid, 0);
    PVOID ace;
    assert_int_equal(RtlGetAce(acl, 4, &ace), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDeleteAce(acl, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDeleteAce(acl, MAXULONG), STATUS_INVALID_PARAMETER);

    assert_int_equal(RtlDeleteAce(acl, 1), STATUS_SUCCESS);
    assert_int_equal(acl->AceCount, 3);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 0))->Mask, 1);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 1))->Mask, 4);
    assert_int_equal(((PACCESS_ALLOWED_ACE)ace_at(acl, 2))->Mask, 8);
    /* The freed bytes at the end are cleared. */
    for (ULONG i = 8 + 3 * 20; i < 8 + 4 * 20; i++)
        assert_int_equal(b.Bytes[i], 0);
    assert_int_equal(RtlDeleteAce(acl, 2), STATUS_SUCCESS);
    assert_int_equal(RtlDeleteAce(acl, 0), STATUS_SUCCESS);
    assert_int_equal(RtlDeleteAce(acl, 0), STATUS_SUCCESS);
    assert_int_equal(acl->AceCount, 0);
    assert_int_equal(RtlDeleteAce(acl, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlGetAce(acl, 0, &ace), STATUS_INVALID_PARAMETER);

    se_allow(acl, 1, &s.Sid, 0);
    acl->AclSize = 4;
    assert_int_equal(RtlGetAce(acl, 0, &ace), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDeleteAce(acl, 0), STATUS_INVALID_PARAMETER);
}

static void query_information(void **state)
{
    se_acl_buf b;
    se_sid_buf s;
    PACL acl = se_acl(&b);
    se_sid2(&s, 5, 32, 544);
    se_allow(acl, 1, &s.Sid, 0);
    se_deny(acl, 1, &s.Sid, 0);

    ACL_REVISION_INFORMATION rev;
    ACL_SIZE_INFORMATION size;
    assert_int_equal(RtlQueryInformationAcl(acl, &rev, sizeof(rev), AclRevisionInformation), STATUS_SUCCESS);
    assert_int_equal(rev.AclRevision, ACL_REVISION);
    assert_int_equal(RtlQueryInformationAcl(acl, &size, sizeof(size), AclSizeInformation), STATUS_SUCCESS);
    assert_int_equal(size.AceCount, 2);
    assert_int_equal(size.AclBytesInUse, 8 + 2 * 24);
    assert_int_equal(size.AclBytesFree, sizeof(b.Bytes) - (8 + 2 * 24));

    assert_int_equal(RtlQueryInformationAcl(acl, &rev, sizeof(rev) - 1, AclRevisionInformation),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(RtlQueryInformationAcl(acl, &size, sizeof(size) - 1, AclSizeInformation),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(RtlQueryInformationAcl(acl, &size, sizeof(size), (ACL_INFORMATION_CLASS)3),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(RtlQueryInformationAcl(acl, &size, sizeof(size), (ACL_INFORMATION_CLASS)0),
                     STATUS_INVALID_INFO_CLASS);
    acl->AclRevision = 1;
    assert_int_equal(RtlQueryInformationAcl(acl, &rev, sizeof(rev), AclRevisionInformation),
                     STATUS_INVALID_PARAMETER);
}

/* Random byte flips over a valid ACL: validation must never read outside
 * AclSize (the ACL sits at the end of an exact-size pool block, so ASan
 * sees any overrun), and an ACL it accepts must walk cleanly. */
static void valid_acl_random_mutation(void **state)
{
    uint64_t seed = 0x5EC0A1;
    se_acl_buf b;
    se_sid_buf s;
    PACL src = se_acl(&b);
    se_sid2(&s, 5, 32, 544);
    se_allow(src, 1, &s.Sid, OBJECT_INHERIT_ACE);
    se_deny(src, 2, &s.Sid, 0);
    se_allow(src, 3, se_sid1(&s, 1, 0), 0);
    ULONG used = 8 + 24 + 24 + 20;
    src->AclSize = (USHORT)used;

    PACL acl = ExAllocatePoolWithTag(NonPagedPool, used, 0x74736554);
    assert_non_null(acl);
    for (ULONG iter = 0; iter < 20000; iter++) {
        RtlCopyMemory(acl, src, used);
        ULONG flips = 1 + (ULONG)(ntos_test_rand(&seed) % 4);
        for (ULONG f = 0; f < flips; f++) {
            ULONG at = (ULONG)(ntos_test_rand(&seed) % used);
            ((PUCHAR)acl)[at] = (UCHAR)ntos_test_rand(&seed);
        }
        if (acl->AclSize > used)
            acl->AclSize = (USHORT)used; /* the buffer ends here */
        if (RtlValidAcl(acl)) {
            ULONG total = sizeof(ACL);
            for (ULONG i = 0; i < acl->AceCount; i++) {
                PVOID ace;
                assert_int_equal(RtlGetAce(acl, i, &ace), STATUS_SUCCESS);
                total += ((PACE_HEADER)ace)->AceSize;
            }
            assert_true(total <= acl->AclSize);
        }
    }
    ExFreePoolWithTag(acl, 0x74736554);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_cases),
    cmocka_unit_test(create_maximum),
    cmocka_unit_test(add_allowed_and_denied),
    cmocka_unit_test(add_errors),
    cmocka_unit_test(add_exact_fit),
    cmocka_unit_test(add_raises_revision),
    cmocka_unit_test(valid_acl_malformed),
    cmocka_unit_test(valid_acl_types_and_revisions),
    cmocka_unit_test(add_ace_insertion),
    cmocka_unit_test(add_ace_errors),
    cmocka_unit_test(delete_and_get),
    cmocka_unit_test(query_information),
    cmocka_unit_test(valid_acl_random_mutation),
};

NTOS_TEST_GROUP(se_rtl_acl, tests, NULL, NULL);
