/*
 * RtlStringFromGUID / RtlGUIDFromString: the braced form both ways, byte order
 * of each group, case, and every malformed shape.
 */
#include "ntos_test.h"

#include <ntos/rtl.h>

static int group_setup(void **state)
{
    (void)state;
    ntos_test_pool_install();
    ntos_test_pool_fail_after(-1);
    return 0;
}

/* {4D36E972-E325-11CE-BFC1-08002BE10318}, the network adapter class. */
static const GUID net_class = {0x4D36E972, 0xE325, 0x11CE, {0xBF, 0xC1, 0x08, 0x00, 0x2B, 0xE1, 0x03, 0x18}};

static void init_w(UNICODE_STRING *u, const WCHAR *s)
{
    USHORT n = 0;
    while (s[n])
        n++;
    u->Buffer = (PWSTR)s;
    u->Length = (USHORT)(n * 2);
    u->MaximumLength = (USHORT)(n * 2 + 2);
}

static void guid_to_string(void **state)
{
    (void)state;
    UNICODE_STRING s;
    long before = ntos_test_pool_outstanding();
    assert_int_equal(RtlStringFromGUID(&net_class, &s), STATUS_SUCCESS);
    assert_int_equal(s.Length, 38 * 2);
    assert_int_equal(s.MaximumLength, 39 * 2);
    assert_memory_equal(s.Buffer, L"{4D36E972-E325-11CE-BFC1-08002BE10318}", 39 * 2);
    RtlFreeUnicodeString(&s);
    assert_int_equal(ntos_test_pool_outstanding(), before);

    static const GUID zero = {0, 0, 0, {0}};
    assert_int_equal(RtlStringFromGUID(&zero, &s), STATUS_SUCCESS);
    assert_memory_equal(s.Buffer, L"{00000000-0000-0000-0000-000000000000}", 39 * 2);
    RtlFreeUnicodeString(&s);
}

static void guid_to_string_no_memory(void **state)
{
    (void)state;
    UNICODE_STRING s;
    ntos_test_pool_fail_after(0);
    assert_int_equal(RtlStringFromGUID(&net_class, &s), STATUS_NO_MEMORY);
    ntos_test_pool_fail_after(-1);
    assert_null(s.Buffer);
    assert_int_equal(s.Length, 0);
}

static void string_to_guid(void **state)
{
    (void)state;
    UNICODE_STRING u;
    GUID g;
    init_w(&u, L"{4d36e972-E325-11ce-bfc1-08002be10318}");
    assert_int_equal(RtlGUIDFromString(&u, &g), STATUS_SUCCESS);
    assert_memory_equal(&g, &net_class, sizeof(g));
}

static void round_trip(void **state)
{
    (void)state;
    ULONG seed = 12345;
    for (int i = 0; i < 200; i++) {
        GUID g, back;
        UNICODE_STRING s;
        for (int k = 0; k < 16; k++)
            ((UCHAR *)&g)[k] = (UCHAR)RtlRandomEx(&seed);
        assert_int_equal(RtlStringFromGUID(&g, &s), STATUS_SUCCESS);
        assert_int_equal(RtlGUIDFromString(&s, &back), STATUS_SUCCESS);
        assert_memory_equal(&g, &back, sizeof(g));
        RtlFreeUnicodeString(&s);
    }
}

static void malformed_strings(void **state)
{
    (void)state;
    static const WCHAR *bad[] = {
        L"4D36E972-E325-11CE-BFC1-08002BE10318",     /* no braces */
        L"{4D36E972-E325-11CE-BFC1-08002BE10318",    /* short */
        L"{4D36E972-E325-11CE-BFC1-08002BE10318}x",  /* long */
        L"{4D36E972-E325-11CE-BFC1-08002BE1031G}",   /* not hex */
        L"{4D36E972 E325-11CE-BFC1-08002BE10318}",   /* wrong separator */
        L"{4D36E972-E325-11CE-BFC108-002BE10318}",   /* separator moved */
        L"(4D36E972-E325-11CE-BFC1-08002BE10318)",   /* wrong brackets */
        L"",
    };
    GUID g = net_class;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UNICODE_STRING u;
        init_w(&u, bad[i]);
        if (RtlGUIDFromString(&u, &g) != STATUS_INVALID_PARAMETER)
            fail_msg("case %u accepted", (unsigned)i);
    }
    assert_memory_equal(&g, &net_class, sizeof(g)); /* untouched on failure */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(guid_to_string), cmocka_unit_test(guid_to_string_no_memory),
    cmocka_unit_test(string_to_guid), cmocka_unit_test(round_trip), cmocka_unit_test(malformed_strings),
};

NTOS_TEST_GROUP(rtl_guid, tests, group_setup, NULL);
