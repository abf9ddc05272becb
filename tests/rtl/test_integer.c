/*
 * Integer <-> string conversions and RtlHashUnicodeString.
 */
#include "ntos_test.h"

#include <ntos/rtl.h>

#define CHECK(i, cond)                                                                          \
    do {                                                                                        \
        if (!(cond))                                                                            \
            fail_msg("case %u: %s", (unsigned)(i), #cond);                                      \
    } while (0)

#define FILL_W ((WCHAR)'-')

static SIZE_T alen(PCSZ s)
{
    SIZE_T n = 0;
    while (s[n])
        n++;
    return n;
}

static void set_us(UNICODE_STRING *s, WCHAR *buf, USHORT len, USHORT max)
{
    s->Buffer = buf;
    s->Length = len;
    s->MaximumLength = max;
}

/* Widens an ASCII literal into buf; returns the character count. */
static USHORT widen(WCHAR *buf, PCSZ s)
{
    USHORT n = 0;
    while (s[n]) {
        buf[n] = (UCHAR)s[n];
        n++;
    }
    buf[n] = 0;
    return n;
}

/* ---- formatting ---------------------------------------------------------------- */

typedef struct {
    ULONG base;
    ULONG value;
    USHORT max_chars; /* MaximumLength in WCHARs (RtlIntegerToChar: bytes) */
    PCSZ text;        /* expected digits, or NULL when the buffer must be untouched */
    NTSTATUS status;
} int2str_case;

static const int2str_case int2str_cases[] = {
    {10, 123, 11, "123", STATUS_SUCCESS},
    {0, 123, 11, "123", STATUS_SUCCESS},
    {0, 0, 11, "0", STATUS_SUCCESS},
    {0, 1, 11, "1", STATUS_SUCCESS},
    {0, 12345, 11, "12345", STATUS_SUCCESS},
    {0, 2147483647, 11, "2147483647", STATUS_SUCCESS},
    {0, 0x80000000u, 11, "2147483648", STATUS_SUCCESS},
    {0, 0xfffffffeu, 11, "4294967294", STATUS_SUCCESS},
    {0, 0xffffffffu, 11, "4294967295", STATUS_SUCCESS},
    {10, 0xffffffffu, 10, "4294967295", STATUS_SUCCESS}, /* exactly fits: no terminator */
    {10, 0xffffffffu, 9, NULL, STATUS_BUFFER_OVERFLOW},
    {10, 1000000000, 10, "1000000000", STATUS_SUCCESS},
    {10, 999999999, 9, "999999999", STATUS_SUCCESS},
    {2, 0, 33, "0", STATUS_SUCCESS},
    {2, 1, 33, "1", STATUS_SUCCESS},
    {2, 10, 33, "1010", STATUS_SUCCESS},
    {2, 32768, 17, "1000000000000000", STATUS_SUCCESS},
    {2, 32768, 16, "1000000000000000", STATUS_SUCCESS},
    {2, 32768, 15, NULL, STATUS_BUFFER_OVERFLOW},
    {2, 0x80000000u, 33, "10000000000000000000000000000000", STATUS_SUCCESS},
    {2, 0xffffffffu, 33, "11111111111111111111111111111111", STATUS_SUCCESS},
    {2, 0xffffffffu, 32, "11111111111111111111111111111111", STATUS_SUCCESS},
    {2, 0xffffffffu, 31, NULL, STATUS_BUFFER_OVERFLOW},
    {8, 0, 12, "0", STATUS_SUCCESS},
    {8, 8, 12, "10", STATUS_SUCCESS},
    {8, 0x7fffffff, 12, "17777777777", STATUS_SUCCESS},
    {8, 0xffffffffu, 12, "37777777777", STATUS_SUCCESS},
    {8, 0xffffffffu, 11, "37777777777", STATUS_SUCCESS},
    {8, 0xffffffffu, 10, NULL, STATUS_BUFFER_OVERFLOW},
    {16, 0, 9, "0", STATUS_SUCCESS},
    {16, 0xa, 2, "A", STATUS_SUCCESS},
    {16, 0xa, 1, "A", STATUS_SUCCESS},
    {16, 0xa, 0, NULL, STATUS_BUFFER_OVERFLOW},
    {16, 0, 0, NULL, STATUS_BUFFER_OVERFLOW},
    {16, 0xdeadbeef, 9, "DEADBEEF", STATUS_SUCCESS}, /* uppercase digits */
    {16, 0x7fffffff, 9, "7FFFFFFF", STATUS_SUCCESS},
    {16, 0xffffffffu, 8, "FFFFFFFF", STATUS_SUCCESS},
    {16, 0xffffffffu, 7, NULL, STATUS_BUFFER_OVERFLOW},
    {16, 0x100, 9, "100", STATUS_SUCCESS},
    {1, 5, 9, NULL, STATUS_INVALID_PARAMETER},
    {3, 5, 9, NULL, STATUS_INVALID_PARAMETER},
    {7, 5, 9, NULL, STATUS_INVALID_PARAMETER},
    {9, 5, 9, NULL, STATUS_INVALID_PARAMETER},
    {11, 5, 9, NULL, STATUS_INVALID_PARAMETER},
    {20, 0xdeadbeef, 9, NULL, STATUS_INVALID_PARAMETER},
    {36, 5, 9, NULL, STATUS_INVALID_PARAMETER},
    {0xfffffff8u, 5, 12, NULL, STATUS_INVALID_PARAMETER},
};

static void integer_to_unicode_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(int2str_cases); i++) {
        const int2str_case *c = &int2str_cases[i];
        WCHAR buf[40];
        UNICODE_STRING us;
        for (unsigned k = 0; k < 40; k++)
            buf[k] = FILL_W;
        set_us(&us, buf, 6, (USHORT)(c->max_chars * sizeof(WCHAR)));

        CHECK(i, RtlIntegerToUnicodeString(c->value, c->base, &us) == c->status);
        CHECK(i, us.MaximumLength == c->max_chars * sizeof(WCHAR) && us.Buffer == buf);
        if (c->text == NULL) {
            CHECK(i, us.Length == 6);
            for (unsigned k = 0; k < 40; k++)
                CHECK(i, buf[k] == FILL_W);
            continue;
        }
        SIZE_T n = alen(c->text);
        CHECK(i, us.Length == n * sizeof(WCHAR));
        for (SIZE_T k = 0; k < n; k++)
            CHECK(i, buf[k] == (WCHAR)c->text[k]);
        /* Terminated only when there is room for it. */
        CHECK(i, buf[n] == (n < c->max_chars ? 0 : FILL_W));
        for (SIZE_T k = n + 1; k < 40; k++)
            CHECK(i, buf[k] == FILL_W);
    }
}

static void integer_to_char_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(int2str_cases); i++) {
        const int2str_case *c = &int2str_cases[i];
        CHAR buf[40];
        for (unsigned k = 0; k < 40; k++)
            buf[k] = '-';
        CHECK(i, RtlIntegerToChar(c->value, c->base, c->max_chars, buf) == c->status);
        if (c->text == NULL) {
            for (unsigned k = 0; k < 40; k++)
                CHECK(i, buf[k] == '-');
            continue;
        }
        SIZE_T n = alen(c->text);
        for (SIZE_T k = 0; k < n; k++)
            CHECK(i, buf[k] == c->text[k]);
        CHECK(i, buf[n] == (n < c->max_chars ? 0 : '-'));
    }
}

/* NT checks the base first, then the size, then the pointer. */
static void integer_to_char_argument_order(void **state)
{
    (void)state;
    CHAR buf[16];

    assert_int_equal(RtlIntegerToChar(123, 20, 11, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlIntegerToChar(123, 20, 0, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlIntegerToChar(123, 10, 0, NULL), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(RtlIntegerToChar(123, 10, 2, NULL), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(RtlIntegerToChar(123, 10, 11, NULL), STATUS_ACCESS_VIOLATION);
    assert_int_equal(RtlIntegerToChar(123, 10, 3, NULL), STATUS_ACCESS_VIOLATION);
    /* A negative length describes no buffer. */
    buf[0] = '-';
    assert_int_equal(RtlIntegerToChar(123, 10, -1, buf), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(RtlIntegerToChar(0, 16, MINLONG, buf), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(buf[0], '-');
    assert_int_equal(RtlIntegerToChar(7, 0, MAXLONG, buf), STATUS_SUCCESS);
    assert_int_equal(buf[0], '7');
    assert_int_equal(buf[1], 0);
}

static void integer_to_unicode_null(void **state)
{
    (void)state;
    assert_int_equal(RtlIntegerToUnicodeString(1, 10, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlInt64ToUnicodeString(1, 10, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlIntegerToUnicodeString(1, 5, NULL), STATUS_INVALID_PARAMETER);
}

typedef struct {
    ULONG base;
    ULONGLONG value;
    USHORT max_chars;
    PCSZ text;
    NTSTATUS status;
} int64str_case;

static const int64str_case int64_cases[] = {
    {0, 0, 21, "0", STATUS_SUCCESS},
    {10, 0xffffffffull, 21, "4294967295", STATUS_SUCCESS},
    {10, 0x100000000ull, 21, "4294967296", STATUS_SUCCESS},
    {0, 0xffffffffffffffffull, 21, "18446744073709551615", STATUS_SUCCESS},
    {0, 0xffffffffffffffffull, 20, "18446744073709551615", STATUS_SUCCESS},
    {0, 0xffffffffffffffffull, 19, NULL, STATUS_BUFFER_OVERFLOW},
    {10, 9223372036854775807ull, 20, "9223372036854775807", STATUS_SUCCESS},
    {10, 10000000000000000000ull, 20, "10000000000000000000", STATUS_SUCCESS},
    {16, 0xffffffffffffffffull, 17, "FFFFFFFFFFFFFFFF", STATUS_SUCCESS},
    {16, 0x0123456789abcdefull, 17, "123456789ABCDEF", STATUS_SUCCESS},
    {16, 0x8000000000000000ull, 16, "8000000000000000", STATUS_SUCCESS},
    {16, 0x8000000000000000ull, 15, NULL, STATUS_BUFFER_OVERFLOW},
    {8, 0xffffffffffffffffull, 23, "1777777777777777777777", STATUS_SUCCESS},
    {8, 0x8000000000000000ull, 22, "1000000000000000000000", STATUS_SUCCESS},
    {2, 0xffffffffffffffffull, 65, "1111111111111111111111111111111111111111111111111111111111111111",
     STATUS_SUCCESS},
    {2, 0x8000000000000001ull, 64, "1000000000000000000000000000000000000000000000000000000000000001",
     STATUS_SUCCESS},
    {2, 0x8000000000000001ull, 63, NULL, STATUS_BUFFER_OVERFLOW},
    {2, 5, 3, "101", STATUS_SUCCESS},
    {4, 5, 20, NULL, STATUS_INVALID_PARAMETER},
    {17, 5, 20, NULL, STATUS_INVALID_PARAMETER},
    {0xffffffffu, 5, 20, NULL, STATUS_INVALID_PARAMETER},
};

static void int64_to_unicode_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(int64_cases); i++) {
        const int64str_case *c = &int64_cases[i];
        WCHAR buf[72];
        UNICODE_STRING us;
        for (unsigned k = 0; k < 72; k++)
            buf[k] = FILL_W;
        set_us(&us, buf, 4, (USHORT)(c->max_chars * sizeof(WCHAR)));
        CHECK(i, RtlInt64ToUnicodeString(c->value, c->base, &us) == c->status);
        if (c->text == NULL) {
            CHECK(i, us.Length == 4);
            for (unsigned k = 0; k < 72; k++)
                CHECK(i, buf[k] == FILL_W);
            continue;
        }
        SIZE_T n = alen(c->text);
        CHECK(i, us.Length == n * sizeof(WCHAR));
        for (SIZE_T k = 0; k < n; k++)
            CHECK(i, buf[k] == (WCHAR)c->text[k]);
        CHECK(i, buf[n] == (n < c->max_chars ? 0 : FILL_W));
    }
}

/* Reference formatter for the property test: digits of v in base, reversed. */
static unsigned ref_format(ULONGLONG v, unsigned base, CHAR *out)
{
    CHAR tmp[64];
    unsigned n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (CHAR)(d < 10 ? '0' + d : 'A' + d - 10);
        v /= base;
    } while (v);
    for (unsigned k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    return n;
}

static void property_format_parse_round_trip(void **state)
{
    (void)state;
    static const ULONG bases[] = {2, 8, 10, 16};
    uint64_t seed = 0x00c0ffee00c0ffeeULL;

    for (unsigned iter = 0; iter < 4000; iter++) {
        uint64_t r = ntos_test_rand(&seed);
        ULONG base = bases[r % 4];
        /* Mix full-width values with small ones so short strings occur too. */
        ULONGLONG v64 = ntos_test_rand(&seed) >> (ntos_test_rand(&seed) % 64);
        ULONG v = (ULONG)v64;
        CHAR want[64];
        WCHAR buf[72];
        UNICODE_STRING us;

        unsigned n = ref_format(v, base, want);
        set_us(&us, buf, 0, sizeof(buf));
        CHECK(iter, RtlIntegerToUnicodeString(v, base, &us) == STATUS_SUCCESS);
        CHECK(iter, us.Length == n * 2);
        for (unsigned k = 0; k < n; k++)
            CHECK(iter, buf[k] == (WCHAR)want[k]);

        ULONG parsed = 0;
        CHECK(iter, RtlUnicodeStringToInteger(&us, base, &parsed) == STATUS_SUCCESS);
        CHECK(iter, parsed == v);

        CHAR abuf[40];
        CHECK(iter, RtlIntegerToChar(v, base, sizeof(abuf), abuf) == STATUS_SUCCESS);
        CHECK(iter, abuf[n] == 0);
        parsed = 0;
        CHECK(iter, RtlCharToInteger(abuf, base, &parsed) == STATUS_SUCCESS);
        CHECK(iter, parsed == v);

        /* A leading '-' negates modulo 2^32. */
        WCHAR neg[72];
        neg[0] = '-';
        for (unsigned k = 0; k < n; k++)
            neg[k + 1] = buf[k];
        UNICODE_STRING un;
        set_us(&un, neg, (USHORT)((n + 1) * 2), sizeof(neg));
        CHECK(iter, RtlUnicodeStringToInteger(&un, base, &parsed) == STATUS_SUCCESS);
        CHECK(iter, parsed == 0u - v);

        n = ref_format(v64, base, want);
        set_us(&us, buf, 0, sizeof(buf));
        CHECK(iter, RtlInt64ToUnicodeString(v64, base, &us) == STATUS_SUCCESS);
        CHECK(iter, us.Length == n * 2);
        for (unsigned k = 0; k < n; k++)
            CHECK(iter, buf[k] == (WCHAR)want[k]);
    }
}

/* ---- parsing -------------------------------------------------------------------- */

typedef struct {
    ULONG base;
    PCSZ text;
    ULONG value;
    NTSTATUS status;
} str2int_case;

#define BAD 0xdeadbeefu

static const str2int_case str2int_cases[] = {
    {0, "1011101100", 1011101100, STATUS_SUCCESS},
    {0, "1234567", 1234567, STATUS_SUCCESS},
    {0, "-214", (ULONG)-214, STATUS_SUCCESS},
    {0, "+214", 214, STATUS_SUCCESS},
    {0, "--214", 0, STATUS_SUCCESS}, /* one sign at most */
    {0, "-+214", 0, STATUS_SUCCESS},
    {0, "+-214", 0, STATUS_SUCCESS},
    {0, "++214", 0, STATUS_SUCCESS},
    {0, "- 214", 0, STATUS_SUCCESS}, /* no whitespace after the sign */
    {0, "\x01\x02\x03\x04" "11", 11, STATUS_SUCCESS}, /* control characters are whitespace */
    {0, "\x1c\x1d\x1e\x1f" "12", 12, STATUS_SUCCESS},
    {0, " \n \r \t214", 214, STATUS_SUCCESS},
    {0, " \n \r \t-214", (ULONG)-214, STATUS_SUCCESS},
    {0, "+214 0", 214, STATUS_SUCCESS},
    {0, " 214.01", 214, STATUS_SUCCESS},
    {0, "214,01", 214, STATUS_SUCCESS},
    {0, "f81", 0, STATUS_SUCCESS},
    {0, "0x12345", 0x12345, STATUS_SUCCESS},
    {0, "00x12345", 0, STATUS_SUCCESS},
    {0, "0xx12345", 0, STATUS_SUCCESS},
    {0, "0X12345", 0, STATUS_SUCCESS}, /* prefixes are lowercase */
    {0, "1x34", 1, STATUS_SUCCESS},
    {0, "-9999999999", 0xabf41c01u, STATUS_SUCCESS}, /* wraps modulo 2^32 */
    {0, "-2147483649", 2147483647u, STATUS_SUCCESS},
    {0, "-2147483648", 0x80000000u, STATUS_SUCCESS},
    {0, "-1", 0xffffffffu, STATUS_SUCCESS},
    {0, "0", 0, STATUS_SUCCESS},
    {0, "-0", 0, STATUS_SUCCESS},
    {0, "2147483647", 2147483647u, STATUS_SUCCESS},
    {0, "2147483648", 0x80000000u, STATUS_SUCCESS},
    {0, "4294967295", 0xffffffffu, STATUS_SUCCESS},
    {0, "4294967296", 0, STATUS_SUCCESS},
    {0, "9999999999", 1410065407u, STATUS_SUCCESS},
    {0, "056789", 56789, STATUS_SUCCESS}, /* a leading 0 alone is still decimal */
    {0, "b1011", 0, STATUS_SUCCESS},
    {0, "0b1011101100", 748, STATUS_SUCCESS},
    {0, "-0b1011101100", (ULONG)-748, STATUS_SUCCESS},
    {0, "0b10123456789", 5, STATUS_SUCCESS},
    {0, "0b1", 1, STATUS_SUCCESS},
    {0, "0b2", 0, STATUS_SUCCESS},
    {0, "0b", 0, STATUS_SUCCESS},
    {0, "o1234567", 0, STATUS_SUCCESS},
    {0, "0o1234567", 01234567, STATUS_SUCCESS},
    {0, "-0o1234567", (ULONG)-01234567, STATUS_SUCCESS},
    {0, "0o56789", 0567, STATUS_SUCCESS},
    {0, "0o8", 0, STATUS_SUCCESS},
    {0, "0o", 0, STATUS_SUCCESS},
    {0, "0d1011101100", 0, STATUS_SUCCESS},
    {0, "x89abcdef", 0, STATUS_SUCCESS},
    {0, "0x89abcdef", 0x89abcdef, STATUS_SUCCESS},
    {0, "0xFEDCBA00", 0xfedcba00, STATUS_SUCCESS},
    {0, "-0xFEDCBA00", 19088896, STATUS_SUCCESS},
    {0, "0xabcdefgh", 0xabcdef, STATUS_SUCCESS},
    {0, "0xF", 0xf, STATUS_SUCCESS},
    {0, "0xG", 0, STATUS_SUCCESS},
    {0, "0x", 0, STATUS_SUCCESS},
    {0, "0x123456789", 0x23456789, STATUS_SUCCESS}, /* wraps */
    {0, "   ", 0, STATUS_SUCCESS},                  /* documented: not empty, no number */
    {0, "xyz", 0, STATUS_SUCCESS},
    {0, "-", 0, STATUS_SUCCESS},
    {2, "1011101100", 748, STATUS_SUCCESS},
    {2, "-1011101100", (ULONG)-748, STATUS_SUCCESS},
    {2, "2", 0, STATUS_SUCCESS},
    {2, "0b1011101100", 0, STATUS_SUCCESS}, /* prefixes only with Base 0 */
    {2, "11111111111111111111111111111111", 0xffffffffu, STATUS_SUCCESS},
    {8, "1011101100", 136610368, STATUS_SUCCESS},
    {8, "-1011101100", (ULONG)-136610368, STATUS_SUCCESS},
    {8, "8", 0, STATUS_SUCCESS},
    {8, "789", 7, STATUS_SUCCESS},
    {8, "0o1011101100", 0, STATUS_SUCCESS},
    {10, "123", 123, STATUS_SUCCESS},
    {10, "  -345", (ULONG)-345, STATUS_SUCCESS},
    {10, "   +678abc", 678, STATUS_SUCCESS},
    {10, "007", 7, STATUS_SUCCESS},
    {10, "0x1011101100", 0, STATUS_SUCCESS},
    {10, "o12345", 0, STATUS_SUCCESS},
    {16, "   +678abc", 6785724, STATUS_SUCCESS},
    {16, "FGH", 15, STATUS_SUCCESS},
    {16, "1011101100", 286265600, STATUS_SUCCESS},
    {16, "-1011101100", (ULONG)-286265600, STATUS_SUCCESS},
    {16, "G", 0, STATUS_SUCCESS},
    {16, "g", 0, STATUS_SUCCESS},
    {16, "0b1011101100", 0x11101100, STATUS_SUCCESS}, /* 'b' is a hex digit; wraps */
    {16, "0x1011101100", 0, STATUS_SUCCESS},
    {16, "deadBEEF", 0xdeadbeef, STATUS_SUCCESS},
    {1, "0", BAD, STATUS_INVALID_PARAMETER},
    {3, "0", BAD, STATUS_INVALID_PARAMETER},
    {20, "0", BAD, STATUS_INVALID_PARAMETER},
    {36, "z", BAD, STATUS_INVALID_PARAMETER},
    {0xfffffff8u, "0", BAD, STATUS_INVALID_PARAMETER},
};

static void unicode_string_to_integer_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(str2int_cases); i++) {
        const str2int_case *c = &str2int_cases[i];
        WCHAR buf[64];
        UNICODE_STRING us;
        USHORT n = widen(buf, c->text);
        set_us(&us, buf, (USHORT)(n * 2), (USHORT)(n * 2 + 2));
        ULONG value = BAD;
        CHECK(i, RtlUnicodeStringToInteger(&us, c->base, &value) == c->status);
        CHECK(i, value == c->value);
    }
}

static void char_to_integer_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(str2int_cases); i++) {
        const str2int_case *c = &str2int_cases[i];
        ULONG value = BAD;
        CHECK(i, RtlCharToInteger(c->text, c->base, &value) == c->status);
        CHECK(i, value == c->value);
    }
}

static void unicode_string_to_integer_counted(void **state)
{
    (void)state;
    WCHAR buf[16];
    UNICODE_STRING us;
    ULONG value;

    widen(buf, "1234567");
    set_us(&us, buf, 10, 16); /* "12345" */
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, &value), STATUS_SUCCESS);
    assert_int_equal(value, 12345);
    us.Length = 5; /* two and a half characters: "12" */
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, &value), STATUS_SUCCESS);
    assert_int_equal(value, 12);
    us.Length = 2;
    assert_int_equal(RtlUnicodeStringToInteger(&us, 10, &value), STATUS_SUCCESS);
    assert_int_equal(value, 1);

    /* Documented: an empty string fails, and *Value is not written. */
    value = BAD;
    us.Length = 0;
    assert_int_equal(RtlUnicodeStringToInteger(&us, 10, &value), STATUS_INVALID_PARAMETER);
    us.Length = 1;
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, &value), STATUS_INVALID_PARAMETER);
    UNICODE_STRING none = {0, 0, NULL};
    assert_int_equal(RtlUnicodeStringToInteger(&none, 0, &value), STATUS_INVALID_PARAMETER);
    assert_int_equal(value, BAD);

    /* A counted string's NULs are whitespace, not terminators. */
    WCHAR nul[4] = {0, ' ', '7', 0};
    set_us(&us, nul, 6, 8);
    assert_int_equal(RtlUnicodeStringToInteger(&us, 10, &value), STATUS_SUCCESS);
    assert_int_equal(value, 7);

    /* Non-ASCII digits and letters are not digits. */
    WCHAR wide[3] = {0xff11, '2', 0}; /* FULLWIDTH DIGIT ONE */
    set_us(&us, wide, 4, 6);
    assert_int_equal(RtlUnicodeStringToInteger(&us, 10, &value), STATUS_SUCCESS);
    assert_int_equal(value, 0);

    /* The "0x" prefix needs both characters inside Length. */
    widen(buf, "0x1F");
    set_us(&us, buf, 2, 16);
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, &value), STATUS_SUCCESS);
    assert_int_equal(value, 0);
    us.Length = 4;
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, &value), STATUS_SUCCESS);
    assert_int_equal(value, 0);
    us.Length = 6;
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, &value), STATUS_SUCCESS);
    assert_int_equal(value, 1);
}

static void string_to_integer_bad_arguments(void **state)
{
    (void)state;
    UNICODE_STRING us;
    ULONG value = BAD;

    RtlInitUnicodeString(&us, L"1234567");
    /* NULL Value is an access violation, but only once the base is known good. */
    assert_int_equal(RtlUnicodeStringToInteger(&us, 0, NULL), STATUS_ACCESS_VIOLATION);
    assert_int_equal(RtlUnicodeStringToInteger(&us, 20, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringToInteger(NULL, 10, &value), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCharToInteger("1234567", 10, NULL), STATUS_ACCESS_VIOLATION);
    assert_int_equal(RtlCharToInteger("1234567", 20, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCharToInteger(NULL, 10, &value), STATUS_INVALID_PARAMETER);
    assert_int_equal(value, BAD);

    /* RtlCharToInteger's input is terminated rather than counted; an empty
     * string simply holds no number. */
    assert_int_equal(RtlCharToInteger("", 0, &value), STATUS_SUCCESS);
    assert_int_equal(value, 0);
    value = BAD;
    assert_int_equal(RtlCharToInteger("\xa0" "5", 10, &value), STATUS_SUCCESS);
    assert_int_equal(value, 0); /* bytes above 0x7F are not whitespace */
}

/* ---- hashing --------------------------------------------------------------------- */

static const struct {
    PCWSTR text;
    ULONG sensitive, insensitive; /* computed independently with the x65599 recurrence */
} hash_cases[] = {
    {L"", 0x0, 0x0},
    {L"A", 0x41, 0x41},
    {L"a", 0x61, 0x41},
    {L"AB", 0x411041, 0x411041},
    {L"abc", 0x3025f862, 0x20440042},
    {L"ABC", 0x20440042, 0x20440042},
    {L"\\Device\\HarddiskVolume1", 0x75bdafe5, 0x5c97d805},
    {L"\\REGISTRY\\MACHINE\\SYSTEM", 0x0e912a27, 0x0e912a27},
    {L"x65599", 0x74e51b3e, 0xaf58f35e},
    {L"\u00e4\u03b1\u0430", 0x73f7bba3, 0x6415c383},
};

static void hash_values(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(hash_cases); i++) {
        UNICODE_STRING us;
        ULONG h;
        RtlInitUnicodeString(&us, hash_cases[i].text);
        for (ULONG alg = 0; alg <= 1; alg++) { /* DEFAULT is x65599 */
            h = BAD;
            CHECK(i, RtlHashUnicodeString(&us, FALSE, alg, &h) == STATUS_SUCCESS);
            CHECK(i, h == hash_cases[i].sensitive);
            h = BAD;
            CHECK(i, RtlHashUnicodeString(&us, TRUE, alg, &h) == STATUS_SUCCESS);
            CHECK(i, h == hash_cases[i].insensitive);
        }
    }
}

static void hash_edges(void **state)
{
    (void)state;
    UNICODE_STRING us;
    ULONG h = BAD;

    RtlInitUnicodeString(&us, L"abc");
    static const ULONG bad_algs[] = {2, 3, 0x80000000u, HASH_STRING_ALGORITHM_INVALID};
    for (unsigned i = 0; i < RTL_NUMBER_OF(bad_algs); i++) {
        CHECK(i, RtlHashUnicodeString(&us, FALSE, bad_algs[i], &h) == STATUS_INVALID_PARAMETER);
        CHECK(i, h == BAD);
    }
    assert_int_equal(RtlHashUnicodeString(NULL, FALSE, 0, &h), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlHashUnicodeString(&us, TRUE, 1, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(h, BAD);

    /* Counted: only Length matters, and an odd trailing byte is no character. */
    us.Length = 5;
    assert_int_equal(RtlHashUnicodeString(&us, FALSE, 1, &h), STATUS_SUCCESS);
    assert_int_equal(h, 0x61 * 65599u + 0x62);
    us.Length = 0;
    us.Buffer = NULL;
    assert_int_equal(RtlHashUnicodeString(&us, TRUE, 0, &h), STATUS_SUCCESS);
    assert_int_equal(h, 0);
}

/* Case-insensitive hashes agree across random case variants of one string. */
static void property_hash_case(void **state)
{
    (void)state;
    static const WCHAR letters[] = {'a', 'q', 'z', 0xe9, 0xff, 0x3b2, 0x3c2, 0x436, 0x451, 0xff45};
    uint64_t seed = 0x4a5b6c7d8e9f0a1bULL;

    for (unsigned iter = 0; iter < 2000; iter++) {
        WCHAR a[24], b[24];
        USHORT n = (USHORT)(ntos_test_rand(&seed) % 24);
        for (USHORT k = 0; k < n; k++) {
            WCHAR c = letters[ntos_test_rand(&seed) % RTL_NUMBER_OF(letters)];
            a[k] = (ntos_test_rand(&seed) & 1) ? RtlUpcaseUnicodeChar(c) : c;
            b[k] = (ntos_test_rand(&seed) & 1) ? RtlUpcaseUnicodeChar(c) : c;
        }
        UNICODE_STRING ua, ub;
        set_us(&ua, a, (USHORT)(n * 2), sizeof(a));
        set_us(&ub, b, (USHORT)(n * 2), sizeof(b));
        ULONG ha, hb, ref = 0;
        CHECK(iter, RtlHashUnicodeString(&ua, TRUE, 0, &ha) == STATUS_SUCCESS);
        CHECK(iter, RtlHashUnicodeString(&ub, TRUE, 1, &hb) == STATUS_SUCCESS);
        CHECK(iter, ha == hb);
        for (USHORT k = 0; k < n; k++)
            ref = ref * 65599u + a[k];
        CHECK(iter, RtlHashUnicodeString(&ua, FALSE, 1, &ha) == STATUS_SUCCESS);
        CHECK(iter, ha == ref);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(integer_to_unicode_table),
    cmocka_unit_test(integer_to_char_table),
    cmocka_unit_test(integer_to_char_argument_order),
    cmocka_unit_test(integer_to_unicode_null),
    cmocka_unit_test(int64_to_unicode_table),
    cmocka_unit_test(property_format_parse_round_trip),
    cmocka_unit_test(unicode_string_to_integer_table),
    cmocka_unit_test(char_to_integer_table),
    cmocka_unit_test(unicode_string_to_integer_counted),
    cmocka_unit_test(string_to_integer_bad_arguments),
    cmocka_unit_test(hash_values),
    cmocka_unit_test(hash_edges),
    cmocka_unit_test(property_hash_case),
};

NTOS_TEST_GROUP(rtl_integer, tests, NULL, NULL);
