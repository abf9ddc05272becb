/*
 * Rtl security descriptors: creation, the part setters/getters on both
 * forms with their revision and format errors, validation of absolute and
 * self-relative descriptors, lengths, conversion to self-relative with its
 * buffer protocol, the control word, generic mapping, and the hostile-input
 * validator RtlValidRelativeSecurityDescriptor (targeted malformations plus
 * random mutations read from exact-size pool blocks).
 */
#include "se_test.h"

#define TEST_TAG 0x74736554 /* "Test" */

typedef struct sd_parts {
    se_sid_buf Owner, Group;
    se_acl_buf Dacl, Sacl;
    SECURITY_DESCRIPTOR Sd;
} sd_parts;

/* An absolute descriptor with all four parts. */
static PSECURITY_DESCRIPTOR full_sd(sd_parts *P)
{
    se_sid_buf world;
    assert_int_equal(RtlCreateSecurityDescriptor(&P->Sd, SECURITY_DESCRIPTOR_REVISION), STATUS_SUCCESS);
    se_sid1(&P->Owner, 5, 18);
    se_sid2(&P->Group, 5, 32, 544);
    PACL dacl = se_acl(&P->Dacl);
    se_deny(dacl, WRITE_DAC, se_sid1(&world, 1, 0), 0);
    se_allow(dacl, GENERIC_ALL, &P->Owner.Sid, 0);
    PACL sacl = se_acl(&P->Sacl);
    assert_int_equal(RtlAddAccessAllowedAce(sacl, ACL_REVISION, 1, &world.Sid), STATUS_SUCCESS);
    ((PACE_HEADER)((PUCHAR)sacl + 8))->AceType = SYSTEM_AUDIT_ACE_TYPE;
    /* Trim the ACL sizes to what is used so lengths are easy to predict. */
    dacl->AclSize = 8 + 20 + 20;
    sacl->AclSize = 8 + 20;
    assert_int_equal(RtlSetOwnerSecurityDescriptor(&P->Sd, &P->Owner.Sid, FALSE), STATUS_SUCCESS);
    assert_int_equal(RtlSetGroupSecurityDescriptor(&P->Sd, &P->Group.Sid, TRUE), STATUS_SUCCESS);
    assert_int_equal(RtlSetDaclSecurityDescriptor(&P->Sd, TRUE, dacl, FALSE), STATUS_SUCCESS);
    assert_int_equal(RtlSetSaclSecurityDescriptor(&P->Sd, TRUE, sacl, TRUE), STATUS_SUCCESS);
    return &P->Sd;
}

/* The same descriptor, self-relative, in a pool block of exactly its size. */
static PISECURITY_DESCRIPTOR_RELATIVE relative_copy(PSECURITY_DESCRIPTOR Sd, PULONG Length)
{
    ULONG length = 0;
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(Sd, NULL, &length), STATUS_BUFFER_TOO_SMALL);
    PVOID buffer = ExAllocatePoolWithTag(NonPagedPool, length, TEST_TAG);
    assert_non_null(buffer);
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(Sd, buffer, &length), STATUS_SUCCESS);
    *Length = length;
    return buffer;
}

static void create_cases(void **state)
{
    SECURITY_DESCRIPTOR sd;
    RtlFillMemory(&sd, sizeof(sd), 0xCC);
    assert_int_equal(RtlCreateSecurityDescriptor(&sd, 2), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlCreateSecurityDescriptor(&sd, 0), STATUS_UNKNOWN_REVISION);
    assert_int_equal(sd.Revision, 0xCC);
    assert_int_equal(RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION), STATUS_SUCCESS);
    assert_int_equal(sd.Revision, 1);
    assert_int_equal(sd.Sbz1, 0);
    assert_int_equal(sd.Control, 0);
    assert_null(sd.Owner);
    assert_null(sd.Group);
    assert_null(sd.Sacl);
    assert_null(sd.Dacl);
    assert_true(RtlValidSecurityDescriptor(&sd));
    assert_int_equal(RtlLengthSecurityDescriptor(&sd), sizeof(SECURITY_DESCRIPTOR));
}

static void set_and_get_absolute(void **state)
{
    sd_parts p;
    PSECURITY_DESCRIPTOR sd = full_sd(&p);
    PSID sid;
    PACL acl;
    BOOLEAN present, defaulted;

    assert_int_equal(RtlGetOwnerSecurityDescriptor(sd, &sid, &defaulted), STATUS_SUCCESS);
    assert_ptr_equal(sid, &p.Owner.Sid);
    assert_false(defaulted);
    assert_int_equal(RtlGetGroupSecurityDescriptor(sd, &sid, &defaulted), STATUS_SUCCESS);
    assert_ptr_equal(sid, &p.Group.Sid);
    assert_true(defaulted);
    assert_int_equal(RtlGetDaclSecurityDescriptor(sd, &present, &acl, &defaulted), STATUS_SUCCESS);
    assert_true(present);
    assert_ptr_equal(acl, &p.Dacl.Acl);
    assert_false(defaulted);

    SECURITY_DESCRIPTOR_CONTROL control;
    ULONG revision;
    assert_int_equal(RtlGetControlSecurityDescriptor(sd, &control, &revision), STATUS_SUCCESS);
    assert_int_equal(revision, 1);
    assert_int_equal(control, SE_GROUP_DEFAULTED | SE_DACL_PRESENT | SE_SACL_PRESENT | SE_SACL_DEFAULTED);

    /* Re-setting flips the defaulted bits. */
    assert_int_equal(RtlSetOwnerSecurityDescriptor(sd, &p.Owner.Sid, TRUE), STATUS_SUCCESS);
    assert_int_equal(RtlSetGroupSecurityDescriptor(sd, NULL, FALSE), STATUS_SUCCESS);
    assert_int_equal(RtlSetDaclSecurityDescriptor(sd, TRUE, NULL, TRUE), STATUS_SUCCESS);
    assert_int_equal(RtlGetControlSecurityDescriptor(sd, &control, &revision), STATUS_SUCCESS);
    assert_int_equal(control, SE_OWNER_DEFAULTED | SE_DACL_PRESENT | SE_DACL_DEFAULTED | SE_SACL_PRESENT |
                                  SE_SACL_DEFAULTED);
    assert_int_equal(RtlGetGroupSecurityDescriptor(sd, &sid, &defaulted), STATUS_SUCCESS);
    assert_null(sid);
    /* Present with no ACL: the NULL DACL. */
    acl = (PACL)1;
    assert_int_equal(RtlGetDaclSecurityDescriptor(sd, &present, &acl, &defaulted), STATUS_SUCCESS);
    assert_true(present);
    assert_null(acl);
    assert_true(defaulted);

    /* Not present: only the PRESENT bit changes; the other outputs stay the caller's. */
    assert_int_equal(RtlSetDaclSecurityDescriptor(sd, FALSE, &p.Dacl.Acl, FALSE), STATUS_SUCCESS);
    acl = (PACL)1;
    defaulted = 7;
    assert_int_equal(RtlGetDaclSecurityDescriptor(sd, &present, &acl, &defaulted), STATUS_SUCCESS);
    assert_false(present);
    assert_ptr_equal(acl, (PACL)1);
    assert_int_equal(defaulted, 7);
    assert_int_equal(RtlSetSaclSecurityDescriptor(sd, FALSE, NULL, FALSE), STATUS_SUCCESS);
    assert_int_equal(RtlGetControlSecurityDescriptor(sd, &control, &revision), STATUS_SUCCESS);
    assert_int_equal(control & (SE_DACL_PRESENT | SE_SACL_PRESENT), 0);
}

static void setters_reject_bad_revision_and_relative(void **state)
{
    sd_parts p;
    PISECURITY_DESCRIPTOR sd = full_sd(&p);
    PSID sid;
    PACL acl;
    BOOLEAN present, defaulted;
    SECURITY_DESCRIPTOR_CONTROL control = 0x1234;
    ULONG revision;

    sd->Revision = 2;
    assert_int_equal(RtlSetOwnerSecurityDescriptor(sd, NULL, FALSE), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlSetGroupSecurityDescriptor(sd, NULL, FALSE), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlSetDaclSecurityDescriptor(sd, TRUE, NULL, FALSE), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlSetSaclSecurityDescriptor(sd, TRUE, NULL, FALSE), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlGetOwnerSecurityDescriptor(sd, &sid, &defaulted), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlGetGroupSecurityDescriptor(sd, &sid, &defaulted), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlGetDaclSecurityDescriptor(sd, &present, &acl, &defaulted), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlGetControlSecurityDescriptor(sd, &control, &revision), STATUS_UNKNOWN_REVISION);
    assert_int_equal(revision, 2);
    assert_int_equal(control, 0x1234);
    assert_ptr_equal(sd->Owner, &p.Owner.Sid);
    assert_false(RtlValidSecurityDescriptor(sd));
    sd->Revision = 1;

    ULONG length;
    PISECURITY_DESCRIPTOR_RELATIVE rel = relative_copy(sd, &length);
    assert_int_equal(RtlSetOwnerSecurityDescriptor(rel, NULL, FALSE), STATUS_INVALID_SECURITY_DESCR);
    assert_int_equal(RtlSetGroupSecurityDescriptor(rel, NULL, FALSE), STATUS_INVALID_SECURITY_DESCR);
    assert_int_equal(RtlSetDaclSecurityDescriptor(rel, FALSE, NULL, FALSE), STATUS_INVALID_SECURITY_DESCR);
    assert_int_equal(RtlSetSaclSecurityDescriptor(rel, TRUE, NULL, FALSE), STATUS_INVALID_SECURITY_DESCR);
    ExFreePoolWithTag(rel, TEST_TAG);
}

static void relative_round_trip(void **state)
{
    sd_parts p;
    PSECURITY_DESCRIPTOR sd = full_sd(&p);
    ULONG expected = 20 + (8 + 20) + (8 + 40) + 12 + 16;
    assert_int_equal(RtlLengthSecurityDescriptor(sd), 0x28 + expected - 20);

    UCHAR small[8];
    ULONG length = 10;
    RtlFillMemory(small, sizeof(small), 0xAA);
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(sd, small, &length), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(length, expected);
    assert_int_equal(small[0], 0xAA);

    PISECURITY_DESCRIPTOR_RELATIVE rel = relative_copy(sd, &length);
    assert_int_equal(length, expected);
    assert_int_equal(rel->Revision, 1);
    assert_int_equal(rel->Control, SE_SELF_RELATIVE | SE_GROUP_DEFAULTED | SE_DACL_PRESENT | SE_SACL_PRESENT |
                                       SE_SACL_DEFAULTED);
    /* Packed: header, SACL, DACL, owner, group. */
    assert_int_equal(rel->Sacl, 20);
    assert_int_equal(rel->Dacl, 48);
    assert_int_equal(rel->Owner, 96);
    assert_int_equal(rel->Group, 108);
    assert_int_equal(RtlLengthSecurityDescriptor(rel), expected);
    assert_true(RtlValidSecurityDescriptor(rel));
    assert_true(RtlValidRelativeSecurityDescriptor(rel, length, OWNER_SECURITY_INFORMATION |
                                                                  GROUP_SECURITY_INFORMATION |
                                                                  DACL_SECURITY_INFORMATION |
                                                                  SACL_SECURITY_INFORMATION));

    /* The getters read the self-relative form. */
    PSID sid;
    PACL acl;
    BOOLEAN present, defaulted;
    assert_int_equal(RtlGetOwnerSecurityDescriptor(rel, &sid, &defaulted), STATUS_SUCCESS);
    assert_true(RtlEqualSid(sid, &p.Owner.Sid));
    assert_ptr_equal(sid, (PUCHAR)rel + 96);
    assert_int_equal(RtlGetGroupSecurityDescriptor(rel, &sid, &defaulted), STATUS_SUCCESS);
    assert_true(RtlEqualSid(sid, &p.Group.Sid));
    assert_true(defaulted);
    assert_int_equal(RtlGetDaclSecurityDescriptor(rel, &present, &acl, &defaulted), STATUS_SUCCESS);
    assert_true(present);
    assert_memory_equal(acl, &p.Dacl.Acl, 48);

    /* Converting a self-relative descriptor again is the documented format error. */
    ULONG again = 1000;
    UCHAR out[200] __attribute__((aligned(8)));
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(rel, out, &again), STATUS_BAD_DESCRIPTOR_FORMAT);
    ExFreePoolWithTag(rel, TEST_TAG);

    ((PISECURITY_DESCRIPTOR)sd)->Revision = 3;
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(sd, out, &again), STATUS_UNKNOWN_REVISION);
}

static void relative_without_parts(void **state)
{
    SECURITY_DESCRIPTOR sd;
    UCHAR out[64] __attribute__((aligned(8)));
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    /* A present NULL DACL takes no bytes; a stale pointer without PRESENT is ignored. */
    RtlSetDaclSecurityDescriptor(&sd, TRUE, NULL, FALSE);
    sd.Sacl = (PACL)0x1234;
    ULONG length = sizeof(out);
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(&sd, out, &length), STATUS_SUCCESS);
    assert_int_equal(length, sizeof(SECURITY_DESCRIPTOR_RELATIVE));
    PISECURITY_DESCRIPTOR_RELATIVE rel = (PISECURITY_DESCRIPTOR_RELATIVE)out;
    assert_int_equal(rel->Control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
    assert_int_equal(rel->Owner | rel->Group | rel->Sacl | rel->Dacl, 0);
    assert_true(RtlValidRelativeSecurityDescriptor(rel, length, DACL_SECURITY_INFORMATION));
    assert_false(RtlValidRelativeSecurityDescriptor(rel, length, OWNER_SECURITY_INFORMATION));
    assert_false(RtlValidRelativeSecurityDescriptor(rel, length, GROUP_SECURITY_INFORMATION));
    assert_false(RtlValidRelativeSecurityDescriptor(rel, length, SACL_SECURITY_INFORMATION));
    assert_int_equal(RtlLengthSecurityDescriptor(rel), 20);
}

static void valid_absolute(void **state)
{
    sd_parts p;
    PISECURITY_DESCRIPTOR sd = full_sd(&p);
    assert_true(RtlValidSecurityDescriptor(sd));
    assert_false(RtlValidSecurityDescriptor(NULL));

    p.Owner.Sid.Revision = 4;
    assert_false(RtlValidSecurityDescriptor(sd));
    p.Owner.Sid.Revision = 1;
    p.Group.Sid.SubAuthorityCount = 16;
    assert_false(RtlValidSecurityDescriptor(sd));
    p.Group.Sid.SubAuthorityCount = 2;
    p.Dacl.Acl.AclSize = 20; /* cuts an ACE */
    assert_false(RtlValidSecurityDescriptor(sd));
    /* An invalid DACL that is not present does not count. */
    sd->Control &= (SECURITY_DESCRIPTOR_CONTROL)~SE_DACL_PRESENT;
    assert_true(RtlValidSecurityDescriptor(sd));
    p.Sacl.Acl.AclRevision = 0;
    assert_false(RtlValidSecurityDescriptor(sd));
}

static void valid_relative_unbounded(void **state)
{
    sd_parts p;
    ULONG length;
    PISECURITY_DESCRIPTOR_RELATIVE rel = relative_copy(full_sd(&p), &length);
    assert_true(RtlValidSecurityDescriptor(rel));
    rel->Owner = 98; /* unaligned */
    assert_false(RtlValidSecurityDescriptor(rel));
    rel->Owner = 8; /* inside the header */
    assert_false(RtlValidSecurityDescriptor(rel));
    rel->Owner = 96;
    ((PUCHAR)rel)[rel->Group] = 0;
    assert_false(RtlValidSecurityDescriptor(rel));
    ExFreePoolWithTag(rel, TEST_TAG);
}

/* Applies Mutate to a fresh self-relative copy and returns the verdict. */
static BOOLEAN relative_verdict(void (*Mutate)(PISECURITY_DESCRIPTOR_RELATIVE, PULONG), ULONG Required)
{
    sd_parts p;
    ULONG length;
    PISECURITY_DESCRIPTOR_RELATIVE rel = relative_copy(full_sd(&p), &length);
    Mutate(rel, &length);
    BOOLEAN ok = RtlValidRelativeSecurityDescriptor(rel, length, Required);
    ExFreePoolWithTag(rel, TEST_TAG);
    return ok;
}

static void m_none(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) {}
static void m_short(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { *l = 19; }
static void m_cut_group(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { *l -= 1; }
static void m_cut_group_header(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { *l = r->Group + 4; }
static void m_group_at_end(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Group = *l; }
static void m_owner_huge(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Owner = 0xFFFFFFFC; }
static void m_owner_unaligned(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Owner += 2; }
static void m_owner_in_header(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Owner = 4; }
static void m_owner_is_group(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Owner = r->Group; }
static void m_dacl_huge_size(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l)
{
    ((PACL)((PUCHAR)r + r->Dacl))->AclSize = 0xFFF0;
}
static void m_dacl_in_header(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Dacl = 12; }
static void m_dacl_unaligned(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Dacl += 1; }
static void m_dacl_past_end(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Dacl = *l - 4; }
static void m_dacl_bad_ace(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l)
{
    ((PACE_HEADER)((PUCHAR)r + r->Dacl + 8))->AceSize = 200;
}
static void m_dacl_absent_stale(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l)
{
    r->Control &= (SECURITY_DESCRIPTOR_CONTROL)~SE_DACL_PRESENT;
    r->Dacl = 0xFFFFFFF0;
}
static void m_dacl_null(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Dacl = 0; }
static void m_sacl_absent(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l)
{
    r->Control &= (SECURITY_DESCRIPTOR_CONTROL)~SE_SACL_PRESENT;
}
static void m_no_owner(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Owner = 0; }
static void m_no_group(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Group = 0; }
static void m_not_relative(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l)
{
    r->Control &= (SECURITY_DESCRIPTOR_CONTROL)~SE_SELF_RELATIVE;
}
static void m_revision(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l) { r->Revision = 2; }
static void m_group_bad_count(PISECURITY_DESCRIPTOR_RELATIVE r, PULONG l)
{
    ((PISID)((PUCHAR)r + r->Group))->SubAuthorityCount = 15; /* would run past the end */
}

static void relative_validator_cases(void **state)
{
    const ULONG all = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                      SACL_SECURITY_INFORMATION;
    assert_true(relative_verdict(m_none, all));
    assert_false(relative_verdict(m_short, 0));
    assert_false(relative_verdict(m_cut_group, 0));
    assert_false(relative_verdict(m_cut_group_header, 0));
    assert_false(relative_verdict(m_group_at_end, 0));
    assert_false(relative_verdict(m_owner_huge, 0));
    assert_false(relative_verdict(m_owner_unaligned, 0));
    assert_false(relative_verdict(m_owner_in_header, 0));
    /* Parts may share bytes. */
    assert_true(relative_verdict(m_owner_is_group, all));
    assert_false(relative_verdict(m_dacl_huge_size, 0));
    assert_false(relative_verdict(m_dacl_in_header, 0));
    assert_false(relative_verdict(m_dacl_unaligned, 0));
    assert_false(relative_verdict(m_dacl_past_end, 0));
    assert_false(relative_verdict(m_dacl_bad_ace, 0));
    assert_true(relative_verdict(m_dacl_absent_stale, 0));
    assert_false(relative_verdict(m_dacl_absent_stale, DACL_SECURITY_INFORMATION));
    assert_true(relative_verdict(m_dacl_null, all));
    assert_true(relative_verdict(m_sacl_absent, all & ~SACL_SECURITY_INFORMATION));
    assert_false(relative_verdict(m_sacl_absent, SACL_SECURITY_INFORMATION));
    assert_true(relative_verdict(m_no_owner, GROUP_SECURITY_INFORMATION));
    assert_false(relative_verdict(m_no_owner, OWNER_SECURITY_INFORMATION));
    assert_true(relative_verdict(m_no_group, OWNER_SECURITY_INFORMATION));
    assert_false(relative_verdict(m_no_group, GROUP_SECURITY_INFORMATION));
    assert_false(relative_verdict(m_not_relative, 0));
    assert_false(relative_verdict(m_revision, 0));
    assert_false(relative_verdict(m_group_bad_count, 0));

    assert_false(RtlValidRelativeSecurityDescriptor(NULL, 100, 0));
}

static void relative_validator_unaligned_buffer(void **state)
{
    sd_parts p;
    ULONG length;
    PISECURITY_DESCRIPTOR_RELATIVE rel = relative_copy(full_sd(&p), &length);
    PUCHAR shifted = ExAllocatePoolWithTag(NonPagedPool, length + 1, TEST_TAG);
    RtlCopyMemory(shifted + 1, rel, length);
    assert_false(RtlValidRelativeSecurityDescriptor(shifted + 1, length, 0));
    ExFreePoolWithTag(shifted, TEST_TAG);
    ExFreePoolWithTag(rel, TEST_TAG);
}

/*
 * Hostile input: random byte and offset mutations of a valid descriptor in
 * an exact-size pool block (ASan reports any read past it). An accepted
 * descriptor must have every part inside the buffer, checked here
 * independently of the validator.
 */
static BOOLEAN part_inside(PISECURITY_DESCRIPTOR_RELATIVE Rel, ULONG Length, ULONG Offset, BOOLEAN IsAcl)
{
    if (Offset == 0)
        return TRUE;
    if (Offset < 20 || Offset >= Length)
        return FALSE;
    ULONG size = IsAcl ? ((PACL)((PUCHAR)Rel + Offset))->AclSize
                       : 8 + 4 * (ULONG)((PISID)((PUCHAR)Rel + Offset))->SubAuthorityCount;
    return size <= Length - Offset;
}

static void relative_validator_random(void **state)
{
    uint64_t seed = 0xD35C41;
    sd_parts p;
    ULONG length;
    PISECURITY_DESCRIPTOR_RELATIVE good = relative_copy(full_sd(&p), &length);
    ULONG accepted = 0;

    for (ULONG iter = 0; iter < 30000; iter++) {
        ULONG len = length;
        ULONG mode = (ULONG)(ntos_test_rand(&seed) % 4);
        if (mode == 0)
            len = (ULONG)(ntos_test_rand(&seed) % (length + 1));
        PISECURITY_DESCRIPTOR_RELATIVE rel =
            ExAllocatePoolWithTag(NonPagedPool, len ? len : 1, TEST_TAG);
        assert_non_null(rel);
        RtlCopyMemory(rel, good, len);
        ULONG flips = (ULONG)(ntos_test_rand(&seed) % 5);
        for (ULONG f = 0; f < flips && len; f++)
            ((PUCHAR)rel)[ntos_test_rand(&seed) % len] = (UCHAR)ntos_test_rand(&seed);
        if (mode == 1 && len >= 20) {
            ULONG *field = &rel->Owner + (ntos_test_rand(&seed) % 4);
            *field = (ULONG)ntos_test_rand(&seed) % (len + 16);
        }
        SECURITY_INFORMATION required = (SECURITY_INFORMATION)(ntos_test_rand(&seed) % 16);
        if (RtlValidRelativeSecurityDescriptor(rel, len, required)) {
            accepted++;
            assert_true(len >= 20);
            assert_true(part_inside(rel, len, rel->Owner, FALSE));
            assert_true(part_inside(rel, len, rel->Group, FALSE));
            if (rel->Control & SE_DACL_PRESENT)
                assert_true(part_inside(rel, len, rel->Dacl, TRUE));
            if (rel->Control & SE_SACL_PRESENT)
                assert_true(part_inside(rel, len, rel->Sacl, TRUE));
            /* What the validator accepts the other readers handle. */
            assert_true(RtlValidSecurityDescriptor(rel));
            assert_true(RtlLengthSecurityDescriptor(rel) >= 20);
        }
        ExFreePoolWithTag(rel, TEST_TAG);
    }
    /* The mutations are mild enough that a good share stays valid. */
    assert_true(accepted > 1000);
    ExFreePoolWithTag(good, TEST_TAG);
}

static void map_generic(void **state)
{
    GENERIC_MAPPING m = {0x1, 0x2, 0x4, 0xF};
    ACCESS_MASK a = GENERIC_READ | DELETE;
    RtlMapGenericMask(&a, &m);
    assert_int_equal(a, 0x1 | DELETE);
    a = GENERIC_WRITE | GENERIC_EXECUTE;
    RtlMapGenericMask(&a, &m);
    assert_int_equal(a, 0x6);
    a = GENERIC_ALL | MAXIMUM_ALLOWED | ACCESS_SYSTEM_SECURITY;
    RtlMapGenericMask(&a, &m);
    assert_int_equal(a, 0xF | MAXIMUM_ALLOWED | ACCESS_SYSTEM_SECURITY);
    a = 0;
    RtlMapGenericMask(&a, &m);
    assert_int_equal(a, 0);
    /* A mapping that itself yields generic bits does not leave them set. */
    GENERIC_MAPPING odd = {GENERIC_WRITE | 0x10, 0, 0, 0};
    a = GENERIC_READ;
    RtlMapGenericMask(&a, &odd);
    assert_int_equal(a, 0x10);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_cases),
    cmocka_unit_test(set_and_get_absolute),
    cmocka_unit_test(setters_reject_bad_revision_and_relative),
    cmocka_unit_test(relative_round_trip),
    cmocka_unit_test(relative_without_parts),
    cmocka_unit_test(valid_absolute),
    cmocka_unit_test(valid_relative_unbounded),
    cmocka_unit_test(relative_validator_cases),
    cmocka_unit_test(relative_validator_unaligned_buffer),
    cmocka_unit_test(relative_validator_random),
    cmocka_unit_test(map_generic),
};

NTOS_TEST_GROUP(se_rtl_sd, tests, NULL, NULL);
