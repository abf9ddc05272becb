/*
 * RtlUTF8ToUnicodeN / RtlUnicodeToUTF8N: the size query, exact and short
 * buffers, every class of ill-formed input, and an exhaustive round trip over
 * all scalar values.
 */
#include "ntos_test.h"

#include <ntos/rtl.h>

static NTSTATUS to_utf16(const char *s, ULONG n, WCHAR *out, ULONG outBytes, ULONG *actual)
{
    return RtlUTF8ToUnicodeN(out, outBytes, actual, s, n);
}

static void utf8_ascii_and_size_query(void **state)
{
    (void)state;
    WCHAR buf[16];
    ULONG actual = 0xdead;
    assert_int_equal(to_utf16("abc", 3, NULL, 0, &actual), STATUS_SUCCESS);
    assert_int_equal(actual, 6);
    assert_int_equal(to_utf16("abc", 4, buf, sizeof(buf), &actual), STATUS_SUCCESS);
    assert_int_equal(actual, 8); /* the NUL was in the input, so it is in the output */
    assert_int_equal(buf[0], 'a');
    assert_int_equal(buf[2], 'c');
    assert_int_equal(buf[3], 0);
    assert_int_equal(to_utf16("", 0, buf, sizeof(buf), &actual), STATUS_SUCCESS);
    assert_int_equal(actual, 0);
}

static void utf8_multibyte(void **state)
{
    (void)state;
    /* U+00E9, U+20AC, U+1F600 (a surrogate pair), U+10FFFF. */
    static const char s[] = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF";
    WCHAR buf[8];
    ULONG actual;
    assert_int_equal(to_utf16(s, sizeof(s) - 1, NULL, 0, &actual), STATUS_SUCCESS);
    assert_int_equal(actual, 12);
    assert_int_equal(to_utf16(s, sizeof(s) - 1, buf, sizeof(buf), &actual), STATUS_SUCCESS);
    assert_int_equal(actual, 12);
    assert_int_equal(buf[0], 0xE9);
    assert_int_equal(buf[1], 0x20AC);
    assert_int_equal(buf[2], 0xD83D);
    assert_int_equal(buf[3], 0xDE00);
    assert_int_equal(buf[4], 0xDBFF);
    assert_int_equal(buf[5], 0xDFFF);
}

static void utf8_short_buffer_never_splits(void **state)
{
    (void)state;
    static const char s[] = "a\xF0\x9F\x98\x80" "b";
    WCHAR buf[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    ULONG actual;
    /* Room for 'a' and half the pair: only 'a' is written. */
    assert_int_equal(to_utf16(s, sizeof(s) - 1, buf, 4, &actual), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(actual, 2);
    assert_int_equal(buf[0], 'a');
    assert_int_equal(buf[1], 0x2222);
    /* An odd byte count rounds down to whole WCHARs. */
    assert_int_equal(to_utf16(s, sizeof(s) - 1, buf, 7, &actual), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(actual, 6);
    assert_int_equal(to_utf16(s, sizeof(s) - 1, buf, 8, &actual), STATUS_SUCCESS);
    assert_int_equal(actual, 8);
    assert_int_equal(buf[3], 'b');
}

static void utf8_ill_formed(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        ULONG len;
        ULONG units; /* expected output length in WCHARs */
        WCHAR first;
    } cases[] = {
        {"\x80", 1, 1, 0xFFFD},             /* stray continuation */
        {"\xC0\xAF", 2, 2, 0xFFFD},         /* overlong lead C0: two bad bytes */
        {"\xE0\x80\xAF", 3, 3, 0xFFFD},     /* overlong 3-byte */
        {"\xED\xA0\x80", 3, 3, 0xFFFD},     /* encoded surrogate */
        {"\xF4\x90\x80\x80", 4, 4, 0xFFFD}, /* above U+10FFFF */
        {"\xF5\x80", 2, 2, 0xFFFD},         /* F5 never starts a character */
        {"\xE2\x82", 2, 1, 0xFFFD},         /* truncated: one maximal subpart */
        {"\xE2\x82x", 3, 2, 0xFFFD},        /* truncated, then an ASCII character survives */
        {"\xFF", 1, 1, 0xFFFD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        WCHAR buf[8];
        ULONG actual;
        NTSTATUS st = to_utf16(cases[i].in, cases[i].len, buf, sizeof(buf), &actual);
        if (st != STATUS_SOME_NOT_MAPPED || actual != cases[i].units * 2 || buf[0] != cases[i].first)
            fail_msg("case %u: status %x actual %u first %x", (unsigned)i, (unsigned)st, (unsigned)actual, buf[0]);
        /* The size query agrees with the conversion. */
        assert_int_equal(to_utf16(cases[i].in, cases[i].len, NULL, 0, &actual), STATUS_SOME_NOT_MAPPED);
        assert_int_equal(actual, cases[i].units * 2);
    }
    {
        WCHAR buf[4];
        ULONG actual;
        assert_int_equal(to_utf16("\xE2\x82x", 3, buf, sizeof(buf), &actual), STATUS_SOME_NOT_MAPPED);
        assert_int_equal(buf[1], 'x');
    }
}

static void utf8_invalid_parameters(void **state)
{
    (void)state;
    WCHAR w[4];
    CHAR c[4];
    ULONG actual;
    assert_int_equal(RtlUTF8ToUnicodeN(w, sizeof(w), &actual, NULL, 3), STATUS_INVALID_PARAMETER_4);
    assert_int_equal(RtlUTF8ToUnicodeN(w, sizeof(w), NULL, "abc", 3), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeToUTF8N(c, sizeof(c), &actual, NULL, 2), STATUS_INVALID_PARAMETER_4);
    assert_int_equal(RtlUnicodeToUTF8N(c, sizeof(c), NULL, L"a", 2), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeToUTF8N(c, sizeof(c), &actual, L"ab", 3), STATUS_INVALID_PARAMETER_5);
}

static void unicode_to_utf8_forms(void **state)
{
    (void)state;
    static const WCHAR s[] = {'A', 0xE9, 0x20AC, 0xD83D, 0xDE00, 0};
    CHAR buf[16];
    ULONG actual;
    assert_int_equal(RtlUnicodeToUTF8N(NULL, 0, &actual, s, sizeof(s)), STATUS_SUCCESS);
    assert_int_equal(actual, 1 + 2 + 3 + 4 + 1);
    assert_int_equal(RtlUnicodeToUTF8N(buf, sizeof(buf), &actual, s, sizeof(s)), STATUS_SUCCESS);
    assert_int_equal(actual, 11);
    assert_memory_equal(buf, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 11);
    /* 6 bytes: "A" + U+00E9 + not all of U+20AC. */
    assert_int_equal(RtlUnicodeToUTF8N(buf, 5, &actual, s, sizeof(s)), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(actual, 3);
    /* Unpaired surrogates, leading and trailing, become U+FFFD. */
    static const WCHAR bad[] = {0xDC00, 'x', 0xD800};
    assert_int_equal(RtlUnicodeToUTF8N(buf, sizeof(buf), &actual, bad, sizeof(bad)), STATUS_SOME_NOT_MAPPED);
    assert_int_equal(actual, 7);
    assert_memory_equal(buf, "\xEF\xBF\xBDx\xEF\xBF\xBD", 7);
}

static void round_trip_every_scalar(void **state)
{
    (void)state;
    for (ULONG cp = 0; cp <= 0x10FFFF; cp++) {
        WCHAR w[2], back[2];
        CHAR u[4];
        ULONG wn, un, bn;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        if (cp >= 0x10000) {
            w[0] = (WCHAR)(0xD800 + ((cp - 0x10000) >> 10));
            w[1] = (WCHAR)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            wn = 4;
        } else {
            w[0] = (WCHAR)cp;
            wn = 2;
        }
        if (RtlUnicodeToUTF8N(u, sizeof(u), &un, w, wn) != STATUS_SUCCESS)
            fail_msg("U+%X to UTF-8", (unsigned)cp);
        if (un != (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u))
            fail_msg("U+%X length %u", (unsigned)cp, (unsigned)un);
        if (RtlUTF8ToUnicodeN(back, sizeof(back), &bn, u, un) != STATUS_SUCCESS || bn != wn ||
            back[0] != w[0] || (wn == 4 && back[1] != w[1]))
            fail_msg("U+%X back", (unsigned)cp);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(utf8_ascii_and_size_query), cmocka_unit_test(utf8_multibyte),
    cmocka_unit_test(utf8_short_buffer_never_splits), cmocka_unit_test(utf8_ill_formed),
    cmocka_unit_test(utf8_invalid_parameters), cmocka_unit_test(unicode_to_utf8_forms),
    cmocka_unit_test(round_trip_every_scalar),
};

NTOS_TEST_GROUP(rtl_utf8, tests, NULL, NULL);
