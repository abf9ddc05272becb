/*
 * Rtl SIDs: validity, lengths, equality and prefix equality, initialization,
 * the accessors, copying, and the string form with its documented
 * decimal/hex authority rule and buffer results.
 */
#include "se_test.h"

static void valid_sid_cases(void **state)
{
    se_sid_buf b;
    assert_false(RtlValidSid(NULL));
    assert_true(RtlValidSid(se_sid(&b, 5, 0, NULL)));
    assert_true(RtlValidSid(se_sid1(&b, 5, 18)));

    ULONG subs[SID_MAX_SUB_AUTHORITIES];
    for (ULONG i = 0; i < SID_MAX_SUB_AUTHORITIES; i++)
        subs[i] = i;
    assert_true(RtlValidSid(se_sid(&b, 5, SID_MAX_SUB_AUTHORITIES, subs)));
    b.Sid.SubAuthorityCount = SID_MAX_SUB_AUTHORITIES + 1;
    assert_false(RtlValidSid(&b.Sid));
    b.Sid.SubAuthorityCount = 0xFF;
    assert_false(RtlValidSid(&b.Sid));

    se_sid1(&b, 5, 18);
    b.Sid.Revision = 0;
    assert_false(RtlValidSid(&b.Sid));
    b.Sid.Revision = 2;
    assert_false(RtlValidSid(&b.Sid));
}

static void length_cases(void **state)
{
    se_sid_buf b;
    assert_int_equal(RtlLengthRequiredSid(0), 8);
    assert_int_equal(RtlLengthRequiredSid(1), 12);
    assert_int_equal(RtlLengthRequiredSid(15), SECURITY_MAX_SID_SIZE);
    assert_int_equal(RtlLengthSid(se_sid(&b, 1, 0, NULL)), 8);
    assert_int_equal(RtlLengthSid(se_sid2(&b, 5, 32, 544)), 16);
}

static void equal_cases(void **state)
{
    se_sid_buf a, b;
    assert_true(RtlEqualSid(se_sid2(&a, 5, 32, 544), se_sid2(&b, 5, 32, 544)));
    assert_false(RtlEqualSid(se_sid2(&a, 5, 32, 544), se_sid2(&b, 5, 32, 545)));
    assert_false(RtlEqualSid(se_sid2(&a, 5, 32, 544), se_sid2(&b, 1, 32, 544)));
    /* Same leading sub-authority but different counts. */
    assert_false(RtlEqualSid(se_sid2(&a, 5, 32, 544), se_sid1(&b, 5, 32)));
    se_sid1(&a, 5, 18);
    se_sid1(&b, 5, 18);
    b.Sid.Revision = 2;
    assert_false(RtlEqualSid(&a.Sid, &b.Sid));
    assert_true(RtlEqualSid(se_sid(&a, 0, 0, NULL), se_sid(&b, 0, 0, NULL)));
}

static void equal_prefix_cases(void **state)
{
    se_sid_buf a, b;
    /* Only the last sub-authority (the RID) may differ. */
    assert_true(RtlEqualPrefixSid(se_sid2(&a, 5, 32, 544), se_sid2(&b, 5, 32, 545)));
    assert_false(RtlEqualPrefixSid(se_sid2(&a, 5, 32, 544), se_sid2(&b, 5, 33, 544)));
    assert_false(RtlEqualPrefixSid(se_sid2(&a, 5, 32, 544), se_sid2(&b, 1, 32, 544)));
    assert_false(RtlEqualPrefixSid(se_sid2(&a, 5, 32, 544), se_sid1(&b, 5, 32)));
    assert_true(RtlEqualPrefixSid(se_sid1(&a, 5, 1), se_sid1(&b, 5, 2)));
    assert_true(RtlEqualPrefixSid(se_sid(&a, 5, 0, NULL), se_sid(&b, 5, 0, NULL)));
    se_sid1(&b, 5, 1);
    b.Sid.Revision = 3;
    assert_false(RtlEqualPrefixSid(se_sid1(&a, 5, 1), &b.Sid));
}

static void initialize_and_accessors(void **state)
{
    se_sid_buf b;
    SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
    RtlFillMemory(&b, sizeof(b), 0xAB);
    assert_int_equal(RtlInitializeSid(&b.Sid, &nt, 2), STATUS_SUCCESS);
    assert_int_equal(b.Sid.Revision, SID_REVISION);
    assert_int_equal(*RtlSubAuthorityCountSid(&b.Sid), 2);
    assert_memory_equal(RtlIdentifierAuthoritySid(&b.Sid), &nt, sizeof(nt));
    /* The sub-authorities are not touched. */
    assert_int_equal(*RtlSubAuthoritySid(&b.Sid, 0), 0xABABABAB);
    *RtlSubAuthoritySid(&b.Sid, 1) = 544;
    assert_int_equal(b.Sid.SubAuthority[1], 544);
    assert_ptr_equal(RtlSubAuthoritySid(&b.Sid, 1), (PUCHAR)&b + 12);

    assert_int_equal(RtlInitializeSid(&b.Sid, &nt, SID_MAX_SUB_AUTHORITIES), STATUS_SUCCESS);
    assert_int_equal(RtlInitializeSid(&b.Sid, &nt, SID_MAX_SUB_AUTHORITIES + 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(b.Sid.SubAuthorityCount, SID_MAX_SUB_AUTHORITIES);
}

static void copy_cases(void **state)
{
    se_sid_buf src, dst;
    se_sid2(&src, 5, 32, 544);
    RtlFillMemory(&dst, sizeof(dst), 0xEE);
    assert_int_equal(RtlCopySid(15, &dst.Sid, &src.Sid), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(dst.Bytes[0], 0xEE);
    assert_int_equal(RtlCopySid(16, &dst.Sid, &src.Sid), STATUS_SUCCESS);
    assert_true(RtlEqualSid(&dst.Sid, &src.Sid));
    assert_int_equal(dst.Bytes[16], 0xEE);
    assert_int_equal(RtlCopySid(sizeof(dst), &dst.Sid, &src.Sid), STATUS_SUCCESS);
}

static void string_of(PSID Sid, const char *Expected)
{
    WCHAR buffer[200];
    UNICODE_STRING s = {0, sizeof(buffer), buffer};
    assert_int_equal(RtlConvertSidToUnicodeString(&s, Sid, FALSE), STATUS_SUCCESS);
    SIZE_T n = 0;
    while (Expected[n])
        n++;
    assert_int_equal(s.Length, n * sizeof(WCHAR));
    for (SIZE_T i = 0; i < n; i++) {
        if (s.Buffer[i] != (WCHAR)Expected[i])
            fail_msg("char %u of %s", (unsigned)i, Expected);
    }
    assert_int_equal(s.Buffer[n], 0);
}

static void to_string_forms(void **state)
{
    se_sid_buf b;
    string_of(se_sid1(&b, 5, 18), "S-1-5-18");
    string_of(se_sid2(&b, 5, 32, 544), "S-1-5-32-544");
    string_of(se_sid(&b, 1, 0, NULL), "S-1-1");
    string_of(se_sid1(&b, 16, 0x3000), "S-1-16-12288");

    /* The documented examples: decimal up to 2^32, hex above. */
    ULONG subs[4] = {12, 72, 9, 110};
    se_sid(&b, 0, 4, subs);
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0, 0, 0, 0x04, 0x4C, 0x88}}; /* 281736 */
    string_of(&b.Sid, "S-1-281736-12-72-9-110");
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0, 0x28, 0x65, 0x1F, 0xE8, 0x48}}; /* 173495281736 */
    string_of(&b.Sid, "S-1-0x28651FE848-12-72-9-110");
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0, 0, 0xFF, 0xFF, 0xFF, 0xFF}};
    string_of(&b.Sid, "S-1-4294967295-12-72-9-110");
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0, 1, 0, 0, 0, 0}};
    string_of(&b.Sid, "S-1-4294967296-12-72-9-110");
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0, 1, 0, 0, 0, 1}};
    string_of(&b.Sid, "S-1-0x100000001-12-72-9-110");
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
    string_of(&b.Sid, "S-1-0xFFFFFFFFFFFF-12-72-9-110");

    /* The longest string there is. */
    ULONG max[SID_MAX_SUB_AUTHORITIES];
    for (ULONG i = 0; i < SID_MAX_SUB_AUTHORITIES; i++)
        max[i] = 0xFFFFFFFF;
    se_sid(&b, 0, SID_MAX_SUB_AUTHORITIES, max);
    b.Sid.IdentifierAuthority = (SID_IDENTIFIER_AUTHORITY){{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
    string_of(&b.Sid, "S-1-0xFFFFFFFFFFFF-4294967295-4294967295-4294967295-4294967295-4294967295"
                      "-4294967295-4294967295-4294967295-4294967295-4294967295-4294967295-4294967295"
                      "-4294967295-4294967295-4294967295");
}

static void to_string_buffers(void **state)
{
    se_sid_buf b;
    WCHAR buffer[16];
    se_sid1(&b, 5, 18); /* "S-1-5-18": 8 characters */

    for (ULONG i = 0; i < RTL_NUMBER_OF(buffer); i++)
        buffer[i] = 0xCCCC;
    UNICODE_STRING s = {3, 15, buffer};
    assert_int_equal(RtlConvertSidToUnicodeString(&s, &b.Sid, FALSE), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(s.Length, 3);
    assert_int_equal(buffer[0], 0xCCCC);

    /* Exactly the characters: success, no terminator written. */
    s.MaximumLength = 16;
    assert_int_equal(RtlConvertSidToUnicodeString(&s, &b.Sid, FALSE), STATUS_SUCCESS);
    assert_int_equal(s.Length, 16);
    assert_int_equal(buffer[7], L'8');
    assert_int_equal(buffer[8], 0xCCCC);

    b.Sid.Revision = 7;
    assert_int_equal(RtlConvertSidToUnicodeString(&s, &b.Sid, FALSE), STATUS_INVALID_SID);
    assert_int_equal(RtlConvertSidToUnicodeString(&s, NULL, TRUE), STATUS_INVALID_SID);
}

static void to_string_allocate(void **state)
{
    se_sid_buf b;
    UNICODE_STRING s = {0, 0, NULL};
    ntos_test_pool_install();
    SIZE_T before = ntos_test_pool_outstanding();
    assert_int_equal(RtlConvertSidToUnicodeString(&s, se_sid2(&b, 5, 32, 544), TRUE), STATUS_SUCCESS);
    assert_int_equal(s.Length, 12 * sizeof(WCHAR));
    assert_int_equal(s.MaximumLength, 13 * sizeof(WCHAR));
    assert_int_equal(s.Buffer[12], 0);
    assert_int_equal(ntos_test_pool_outstanding(), before + 1);
    RtlFreeUnicodeString(&s);
    assert_int_equal(ntos_test_pool_outstanding(), before);

    ntos_test_pool_fail_after(0);
    s = (UNICODE_STRING){0, 0, NULL};
    assert_int_equal(RtlConvertSidToUnicodeString(&s, &b.Sid, TRUE), STATUS_NO_MEMORY);
    assert_null(s.Buffer);
    ntos_test_pool_fail_after(-1);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(valid_sid_cases),
    cmocka_unit_test(length_cases),
    cmocka_unit_test(equal_cases),
    cmocka_unit_test(equal_prefix_cases),
    cmocka_unit_test(initialize_and_accessors),
    cmocka_unit_test(copy_cases),
    cmocka_unit_test(to_string_forms),
    cmocka_unit_test(to_string_buffers),
    cmocka_unit_test(to_string_allocate),
};

NTOS_TEST_GROUP(se_rtl_sid, tests, NULL, NULL);
