/*
 * The CRT printf family (crtprintf.c), called through the ms_abi entry points
 * with real typed arguments: the conversions drivers use (%ws %S %wZ %Z %I64d
 * %p %x %-10s %.*s %c %C) in narrow and wide output, and every buffer contract:
 * _snprintf's missing terminator and -1, sprintf_s's invalid parameter path,
 * _snprintf_s with _TRUNCATE and with a count below the buffer size.
 */
#include "crt_test_util.h"

static const WCHAR WideHello[] = L"h\x00e9llo";          /* "héllo" */
static const WCHAR WideSurrogates[] = {0xd83d, 0xde00, 0}; /* U+1F600 */

/* Formats with sprintf/swprintf and checks the text and that the result is its length. */
#define CHECK_SPRINTF(expect, ...)                                   \
    do {                                                             \
        int r_ = RtlCrt_sprintf(b, __VA_ARGS__);                     \
        assert_string_equal(b, expect);                              \
        assert_int_equal(r_, (int)RtlCrt_strlen(expect));            \
    } while (0)
#define CHECK_SWPRINTF(expect, ...)                                  \
    do {                                                             \
        int r_ = RtlCrt_swprintf(b, __VA_ARGS__);                    \
        assert_wstring_equal(b, expect);                             \
        assert_int_equal(r_, (int)RtlCrt_wcslen(expect));            \
    } while (0)

static void test_crt_sprintf_conversions(void **state)
{
    char b[96];
    UNICODE_STRING us = {6, 8, (PWSTR)L"abcXYZ"}; /* counted: "abc" */
    ANSI_STRING as = {2, 4, (PCHAR) "xyz"};       /* counted: "xy" */
    int n = 1234;
    (void)state;

    CHECK_SPRINTF("-42|7|3000000000|beef|BEEF|10", "%d|%i|%u|%x|%X|%o", -42, 7, 3000000000u, 0xbeef, 0xbeef, 8);
    CHECK_SPRINTF("-5000000000|123456789abc|1099511627776|-1", "%I64d|%I64x|%lld|%ld", -5000000000LL,
                  0x123456789abcULL, 1LL << 40, (LONG)-1);
    CHECK_SPRINTF("0000000000001234", "%p", (void *)0x1234);
    CHECK_SPRINTF("[left      ][     right][cu][abc]", "[%-10s][%10s][%.2s][%.*s]", "left", "right", "cut", 3,
                  "abcdef");
    CHECK_SPRINTF("abc", "%c%C%c", 'a', (WCHAR)L'b', 'c');
    /* Wide arguments into narrow output: non-ASCII becomes '?'. */
    CHECK_SPRINTF("h?llo|h?llo|??|?", "%ws|%S|%ls|%C", WideHello, WideHello, WideSurrogates, (WCHAR)0x00e9);
    CHECK_SPRINTF("abc|xy|(null)", "%wZ|%Z|%wZ", &us, &as, (PUNICODE_STRING)NULL);
    CHECK_SPRINTF("(null)|(null)", "%s|%ws", (char *)NULL, (WCHAR *)NULL);
    CHECK_SPRINTF("0003.142|1.000000e+10|0.0001", "%08.3f|%e|%g", 3.14159, 1e10, 0.0001);
    CHECK_SPRINTF("100%", "100%%");
    /* %n is disabled: nothing is stored through the pointer. */
    CHECK_SPRINTF("abcd", "ab%ncd", &n);
    assert_int_equal(n, 1234);
    CHECK_SPRINTF("", "%s", "");
}

static void test_crt_swprintf_conversions(void **state)
{
    WCHAR b[64];
    UNICODE_STRING us = {4, 4, (PWSTR)WideSurrogates};
    ANSI_STRING as = {3, 3, (PCHAR) "a\xe9z"};
    (void)state;

    /* In a wide format %s is wide and %S narrow; surrogates pass through. */
    CHECK_SWPRINTF(L"h\x00e9llo|nar|\xd83d\xde00|h", L"%s|%S|%ws|%hs", WideHello, "nar", WideSurrogates, "h");
    CHECK_SWPRINTF(L"\x03a9n\xd83dx", L"%c%C%wc%hc", (WCHAR)0x03a9, 'n', (WCHAR)0xd83d, 'x');
    /* %wZ keeps its meaning; a narrow byte above 0x7F becomes '?'. */
    CHECK_SWPRINTF(L"\xd83d\xde00|a?z", L"%wZ|%Z", &us, &as);
    CHECK_SWPRINTF(L"7   |00AB|18446744073709551615|0000000000000001", L"%-4d|%04X|%I64u|%p", 7, 0xab,
                   18446744073709551615ULL, (void *)1);
    CHECK_SWPRINTF(L"h\x00e9!", L"%.*s!", 2, WideHello);
    CHECK_SWPRINTF(L"[        ab]", L"[%10S]", "ab");
}

static void test_crt_snprintf(void **state)
{
    static const struct {
        SIZE_T count;
        int result;
        const char *stored; /* what the buffer holds, up to 'count' bytes */
        BOOLEAN terminated;
    } t[] = {
        {10, 5, "hello", TRUE},  /* shorter: terminated */
        {6, 5, "hello", TRUE},   /* one spare */
        {5, 5, "hello", FALSE},  /* exact fit: returns count, no terminator */
        {4, -1, "hell", FALSE},  /* one short: -1, no terminator */
        {1, -1, "h", FALSE},
    };
    char b[16];
    WCHAR w[16];
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        SIZE_T len = RtlCrt_strlen(t[i].stored);
        RtlCrt_memset(b, 'x', sizeof(b));
        assert_int_equal(RtlCrt__snprintf(b, t[i].count, "%s", "hello"), t[i].result);
        assert_memory_equal(b, t[i].stored, len);
        assert_int_equal(b[len], t[i].terminated ? 0 : 'x');
        assert_int_equal(b[t[i].count], 'x'); /* never past count */

        for (int j = 0; j < 16; j++)
            w[j] = L'x';
        assert_int_equal(RtlCrt__snwprintf(w, t[i].count, L"%S", "hello"), t[i].result);
        for (SIZE_T j = 0; j < len; j++)
            assert_int_equal(w[j], (WCHAR)t[i].stored[j]);
        assert_int_equal(w[len], t[i].terminated ? 0 : L'x');
    }
    /* Count 0 with a buffer: nothing stored; sizing idiom with (NULL, 0). */
    b[0] = 'x';
    assert_int_equal(RtlCrt__snprintf(b, 0, "abc"), -1);
    assert_int_equal(b[0], 'x');
    assert_int_equal(RtlCrt__snprintf(NULL, 0, "%d", 12345), 5);
    assert_int_equal(RtlCrt__snwprintf(NULL, 0, L"%s", WideHello), 5);
    assert_int_equal(RtlCrt__snprintf(b, 0, ""), 0);
    expect_invalid_parameter(RtlCrt__snprintf(NULL, 4, "abc"));
    expect_invalid_parameter(RtlCrt__snprintf(b, 4, NULL));
    expect_invalid_parameter(RtlCrt_sprintf(b, NULL));
    expect_invalid_parameter(RtlCrt_swprintf(NULL, L"x"));
}

static int NTAPI call_vsnprintf(char *b, SIZE_T n, const char *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt__vsnprintf(b, n, f, ap);
    NT_VA_END(ap);
    return r;
}

static int NTAPI call_vsprintf(char *b, const char *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt_vsprintf(b, f, ap);
    NT_VA_END(ap);
    return r;
}

static int NTAPI call_vsnwprintf(WCHAR *b, SIZE_T n, const WCHAR *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt__vsnwprintf(b, n, f, ap);
    NT_VA_END(ap);
    return r;
}

static int NTAPI call_vsprintf_s(char *b, SIZE_T n, const char *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt_vsprintf_s(b, n, f, ap);
    NT_VA_END(ap);
    return r;
}

static int NTAPI call_vswprintf_s(WCHAR *b, SIZE_T n, const WCHAR *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt_vswprintf_s(b, n, f, ap);
    NT_VA_END(ap);
    return r;
}

static int NTAPI call_vsnprintf_s(char *b, SIZE_T n, SIZE_T c, const char *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt__vsnprintf_s(b, n, c, f, ap);
    NT_VA_END(ap);
    return r;
}

static int NTAPI call_vsnwprintf_s(WCHAR *b, SIZE_T n, SIZE_T c, const WCHAR *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt__vsnwprintf_s(b, n, c, f, ap);
    NT_VA_END(ap);
    return r;
}

static void test_crt_vprintf(void **state)
{
    char b[16];
    WCHAR w[16];
    (void)state;

    assert_int_equal(call_vsnprintf(b, sizeof(b), "%s-%d", "v", 9), 3);
    assert_string_equal(b, "v-9");
    assert_int_equal(call_vsnprintf(b, 2, "%s-%d", "v", 9), -1);
    assert_memory_equal(b, "v-", 2);
    assert_int_equal(call_vsprintf(b, "%I64X", 0xABCDEF0123ULL), 10);
    assert_string_equal(b, "ABCDEF0123");
    assert_int_equal(call_vsnwprintf(w, 16, L"%ws=%u", L"k", 10u), 4);
    assert_wstring_equal(w, L"k=10");
    assert_int_equal(call_vsprintf_s(b, 4, "%d", 123), 3);
    assert_string_equal(b, "123");
    expect_invalid_parameter(call_vsprintf_s(b, 3, "%d", 123));
    assert_int_equal(b[0], 0);
    assert_int_equal(call_vswprintf_s(w, 3, L"%c%c", L'a', L'b'), 2);
    assert_wstring_equal(w, L"ab");
    assert_int_equal(call_vsnprintf_s(b, 8, NTOS_CRT_TRUNCATE, "%s", "truncated"), -1);
    assert_string_equal(b, "truncat");
    assert_int_equal(call_vsnwprintf_s(w, 8, 3, L"%s", L"wide"), -1);
    assert_wstring_equal(w, L"wid");
}

static void test_crt_sprintf_s(void **state)
{
    char b[8];
    WCHAR w[8];
    (void)state;

    assert_int_equal(RtlCrt_sprintf_s(b, 8, "%s", "1234567"), 7); /* exact fit */
    assert_string_equal(b, "1234567");
    RtlCrt_memset(b, 'x', sizeof(b));
    expect_invalid_parameter(RtlCrt_sprintf_s(b, 8, "%s", "12345678")); /* one short */
    assert_int_equal(b[0], 0);
    expect_invalid_parameter(RtlCrt_sprintf_s(NULL, 8, "a"));
    expect_invalid_parameter(RtlCrt_sprintf_s(b, 0, "a"));
    expect_invalid_parameter(RtlCrt_sprintf_s(b, 8, NULL));
    assert_int_equal(RtlCrt_swprintf_s(w, 8, L"%S%s", "ab", WideSurrogates), 4);
    assert_wstring_equal(w, L"ab\xd83d\xde00");
    expect_invalid_parameter(RtlCrt_swprintf_s(w, 4, L"%s", WideHello));
    assert_int_equal(w[0], 0);
}

static void test_crt_snprintf_s(void **state)
{
    static const struct {
        SIZE_T size, count;
        const char *src;
        int result; /* -2: invalid parameter handler */
        const char *expect;
    } t[] = {
        {8, NTOS_CRT_TRUNCATE, "1234567", 7, "1234567"},
        {8, NTOS_CRT_TRUNCATE, "12345678", -1, "1234567"},
        {8, 3, "12345", -1, "123"},  /* count < size: cut at count, terminated */
        {8, 5, "12345", 5, "12345"},
        {8, 7, "1234567", 7, "1234567"},
        {8, 8, "1234567", 7, "1234567"},
        {8, 8, "12345678", -2, ""},  /* count >= size and it does not fit */
        {8, 0, "abc", -1, ""},       /* count 0: empty, truncated */
        {8, 0, "", 0, ""},
    };
    char b[10];
    WCHAR w[10];
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        RtlCrt_memset(b, 'x', sizeof(b));
        for (int j = 0; j < 10; j++)
            w[j] = L'x';
        if (t[i].result == -2) {
            expect_invalid_parameter(RtlCrt__snprintf_s(b, t[i].size, t[i].count, "%s", t[i].src));
            expect_invalid_parameter(RtlCrt__snwprintf_s(w, t[i].size, t[i].count, L"%S", t[i].src));
        } else {
            assert_int_equal(RtlCrt__snprintf_s(b, t[i].size, t[i].count, "%s", t[i].src), t[i].result);
            assert_int_equal(RtlCrt__snwprintf_s(w, t[i].size, t[i].count, L"%S", t[i].src), t[i].result);
        }
        assert_string_equal(b, t[i].expect);
        assert_int_equal(b[t[i].size], 'x');
        SIZE_T len = RtlCrt_strlen(t[i].expect);
        for (SIZE_T j = 0; j < len; j++)
            assert_int_equal(w[j], (WCHAR)t[i].expect[j]);
        assert_int_equal(w[len], 0);
        assert_int_equal(w[t[i].size], L'x');
    }
    assert_int_equal(RtlCrt__snprintf_s(NULL, 0, 0, "abc"), 0); /* nothing to do */
    expect_invalid_parameter(RtlCrt__snprintf_s(NULL, 4, 2, "abc"));
    expect_invalid_parameter(RtlCrt__snprintf_s(b, 0, 2, "abc"));
    expect_invalid_parameter(RtlCrt__snprintf_s(b, 4, 2, NULL));
}

static int NTAPI call_vswprintf_legacy(WCHAR *b, const WCHAR *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlCrt__vswprintf(b, f, ap);
    NT_VA_END(ap);
    return r;
}

/* _swprintf/_vswprintf: ntoskrnl's underscored legacy forms, unbounded like swprintf. */
static void test_crt_underscore_swprintf(void **state)
{
    WCHAR b[64];
    (void)state;
    assert_int_equal(RtlCrt__swprintf(b, L"%s=%d %S", L"k\x00e9y", -7, "narrow"), 13);
    assert_wstring_equal(b, L"k\x00e9y=-7 narrow");
    assert_int_equal(call_vswprintf_legacy(b, L"[%5ws|%-3c]", L"ab", L'z'), 11);
    assert_wstring_equal(b, L"[   ab|z  ]");
    assert_int_equal(RtlCrt__swprintf(b, L""), 0);
    assert_int_equal(b[0], 0);
    expect_invalid_parameter(RtlCrt__swprintf(NULL, L"x"));
    expect_invalid_parameter(RtlCrt__swprintf(b, NULL));
    expect_invalid_parameter(call_vswprintf_legacy(b, NULL));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crt_underscore_swprintf),
    cmocka_unit_test(test_crt_sprintf_conversions),
    cmocka_unit_test(test_crt_swprintf_conversions),
    cmocka_unit_test(test_crt_snprintf),
    cmocka_unit_test(test_crt_vprintf),
    cmocka_unit_test(test_crt_sprintf_s),
    cmocka_unit_test(test_crt_snprintf_s),
};

NTOS_TEST_GROUP(rtl_crt_printf, tests, NULL, NULL);
