/*
 * Character case mapping and the ANSI code page (Windows-1252).
 *
 * The case tables are checked three ways: spot values across scripts, an
 * independent rule for the blocks whose mapping is simple, and a checksum of the
 * full 65536-entry mappings against the one the generator computed from its own
 * data (so the run encoding and the binary search are verified exhaustively).
 */
#include "ntos_test.h"

#include <ntos/rtl.h>

#define RTLP_CASE_TABLES_CONSTANTS_ONLY
#include "../../src/rtl/nls_tables.h"

#define CHECK(i, cond)                                                                          \
    do {                                                                                        \
        if (!(cond))                                                                            \
            fail_msg("case 0x%x: %s", (unsigned)(i), #cond);                                    \
    } while (0)

static WCHAR big_w[0x8000 + 8];
static CHAR big_a[0x10000 + 8];

static int group_setup(void **state)
{
    (void)state;
    ntos_test_pool_install();
    ntos_test_pool_fail_after(-1);
    return 0;
}

static void set_us(UNICODE_STRING *s, WCHAR *buf, USHORT len, USHORT max)
{
    s->Buffer = buf;
    s->Length = len;
    s->MaximumLength = max;
}

static void set_as(STRING *s, CHAR *buf, USHORT len, USHORT max)
{
    s->Buffer = buf;
    s->Length = len;
    s->MaximumLength = max;
}

/* ---- character case mapping ---------------------------------------------------- */

static const struct {
    WCHAR c, upper;
} upcase_spots[] = {
    {'a', 'A'},       {'z', 'Z'},       {'A', 'A'},       {'0', '0'},       {'@', '@'},
    {'[', '['},       {'`', '`'},       {'{', '{'},       {0, 0},           {0x7f, 0x7f},
    {0xe0, 0xc0},     {0xe4, 0xc4},     {0xf6, 0xd6},     {0xf7, 0xf7},     {0xf8, 0xd8},
    {0xfe, 0xde},     {0xff, 0x178},    {0xdf, 0xdf},     {0xb5, 0xb5},     {0xaa, 0xaa},
    {0x101, 0x100},   {0x100, 0x100},   {0x12f, 0x12e},   {0x131, 0x131},   {0x133, 0x132},
    {0x149, 0x149},   {0x17e, 0x17d},   {0x17f, 0x17f},   {0x180, 0x243},   {0x1c6, 0x1c4},
    {0x1c5, 0x1c4},   {0x1c4, 0x1c4},   {0x1f0, 0x1f0},   {0x253, 0x181},   {0x3ac, 0x386},
    {0x3b1, 0x391},   {0x3c9, 0x3a9},   {0x3c2, 0x3a3},   {0x3c3, 0x3a3},   {0x390, 0x390},
    {0x430, 0x410},   {0x44f, 0x42f},   {0x450, 0x400},   {0x451, 0x401},   {0x45f, 0x40f},
    {0x461, 0x460},   {0x4cf, 0x4c0},   {0x561, 0x531},   {0x586, 0x556},   {0x587, 0x587},
    {0x1e01, 0x1e00}, {0x1e96, 0x1e96}, {0x1f00, 0x1f08}, {0x1f80, 0x1f80}, {0x2170, 0x2160},
    {0x24d0, 0x24b6}, {0x2c30, 0x2c00}, {0xa641, 0xa640}, {0xab70, 0x13a0}, {0xff41, 0xff21},
    {0xff5a, 0xff3a}, {0xff21, 0xff21}, {0x4e2d, 0x4e2d}, {0xd800, 0xd800}, {0xdfff, 0xdfff},
    {0xfffe, 0xfffe}, {0xffff, 0xffff}, {0x1e9e, 0x1e9e}, {0x2126, 0x2126}, {0x212a, 0x212a},
};

static const struct {
    WCHAR c, lower;
} downcase_spots[] = {
    {'A', 'a'},       {'Z', 'z'},       {'a', 'a'},       {'@', '@'},       {'[', '['},
    {0xc0, 0xe0},     {0xc4, 0xe4},     {0xd7, 0xd7},     {0xde, 0xfe},     {0x178, 0xff},
    {0x100, 0x101},   {0x130, 0x130},   {0x1c4, 0x1c6},   {0x1c5, 0x1c6},   {0x181, 0x253},
    {0x391, 0x3b1},   {0x3a3, 0x3c3},   {0x3a9, 0x3c9},   {0x386, 0x3ac},   {0x3f4, 0x3b8},
    {0x410, 0x430},   {0x400, 0x450},   {0x40f, 0x45f},   {0x531, 0x561},   {0x10a0, 0x2d00},
    {0x13a0, 0xab70}, {0x1e00, 0x1e01}, {0x1e9e, 0xdf},   {0x2126, 0x3c9},  {0x212a, 0x212a},
    {0x212b, 0xe5},   {0x2160, 0x2170}, {0x24b6, 0x24d0}, {0xff21, 0xff41}, {0xff3a, 0xff5a},
    {0xff41, 0xff41}, {0xd800, 0xd800}, {0xffff, 0xffff}, {0x4e2d, 0x4e2d}, {0x49, 0x69},
};

static void upcase_char_spots(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(upcase_spots); i++)
        CHECK(upcase_spots[i].c, RtlUpcaseUnicodeChar(upcase_spots[i].c) == upcase_spots[i].upper);
}

static void downcase_char_spots(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(downcase_spots); i++)
        CHECK(downcase_spots[i].c,
              RtlDowncaseUnicodeChar(downcase_spots[i].c) == downcase_spots[i].lower);
}

/* Blocks with a plain rule, derived here independently of the generated tables. */
static void case_char_simple_blocks(void **state)
{
    (void)state;
    static const struct {
        WCHAR lo_first, lo_last; /* lowercase range */
        LONG delta;              /* upper = lower + delta */
        WCHAR skip;              /* one caseless char inside the range, or 0 */
    } blocks[] = {
        {'a', 'z', -32, 0},          {0xe0, 0xfe, -32, 0xf7},    {0x3b1, 0x3c1, -32, 0},
        {0x3c3, 0x3c9, -32, 0},      {0x430, 0x44f, -32, 0},     {0x450, 0x45f, -0x50, 0},
        {0x561, 0x586, -0x30, 0},    {0xff41, 0xff5a, -32, 0},   {0x2170, 0x217f, -16, 0},
        {0x24d0, 0x24e9, -26, 0},
    };
    for (unsigned b = 0; b < RTL_NUMBER_OF(blocks); b++) {
        for (ULONG c = blocks[b].lo_first; c <= blocks[b].lo_last; c++) {
            if (c == blocks[b].skip) {
                CHECK(c, RtlUpcaseUnicodeChar((WCHAR)c) == c);
                continue;
            }
            WCHAR up = (WCHAR)(c + blocks[b].delta);
            CHECK(c, RtlUpcaseUnicodeChar((WCHAR)c) == up);
            CHECK(c, RtlDowncaseUnicodeChar(up) == c);
            CHECK(c, RtlUpcaseUnicodeChar(up) == up);
            CHECK(c, RtlDowncaseUnicodeChar((WCHAR)c) == c);
        }
    }
    /* Latin Extended-A alternates upper/lower pairs from U+0100 to U+012F. */
    for (ULONG c = 0x100; c < 0x130; c += 2) {
        CHECK(c, RtlUpcaseUnicodeChar((WCHAR)(c + 1)) == c);
        CHECK(c, RtlDowncaseUnicodeChar((WCHAR)c) == c + 1);
    }
}

static void case_char_exhaustive_invariants(void **state)
{
    (void)state;
    ULONG up_h = 0x811C9DC5u, down_h = 0x811C9DC5u;
    ULONG up_n = 0, down_n = 0;

    for (ULONG c = 0; c <= 0xffff; c++) {
        WCHAR u = RtlUpcaseUnicodeChar((WCHAR)c);
        WCHAR d = RtlDowncaseUnicodeChar((WCHAR)c);
        up_n += u != c;
        down_n += d != c;
        up_h = ((up_h ^ (u & 0xff)) * 0x01000193u);
        up_h = ((up_h ^ (u >> 8)) * 0x01000193u);
        down_h = ((down_h ^ (d & 0xff)) * 0x01000193u);
        down_h = ((down_h ^ (d >> 8)) * 0x01000193u);

        /* Mapping twice changes nothing more (comparisons rely on it). */
        if (RtlUpcaseUnicodeChar(u) != u || RtlDowncaseUnicodeChar(d) != d)
            fail_msg("not idempotent at U+%04x", (unsigned)c);
        /* Nothing folds across the ASCII boundary. */
        if ((c < 0x80) != (u < 0x80) || (c < 0x80) != (d < 0x80))
            fail_msg("ASCII boundary crossed at U+%04x", (unsigned)c);
        /* Surrogates are code units, not characters. */
        if (c >= 0xd800 && c <= 0xdfff && (u != c || d != c))
            fail_msg("surrogate mapped at U+%04x", (unsigned)c);
        /* An upper and a lower form of one character never both change it. */
        if (u != c && d != c && c != 0x1c5 && c != 0x1c8 && c != 0x1cb && c != 0x1f2)
            fail_msg("both mappings change U+%04x", (unsigned)c);
    }
    assert_int_equal(up_n, RTLP_UPCASE_MAPPED_COUNT);
    assert_int_equal(down_n, RTLP_DOWNCASE_MAPPED_COUNT);
    assert_int_equal(up_h, RTLP_UPCASE_TABLE_FNV1A);
    assert_int_equal(down_h, RTLP_DOWNCASE_TABLE_FNV1A);
    /* Sanity on the scale: real coverage, not just ASCII. */
    assert_true(up_n > 1000);
    assert_true(down_n > 1000);
}

/* ---- ANSI code page ---------------------------------------------------------------- */

static const WCHAR cp1252_80[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static WCHAR ref_ansi_to_unicode(UCHAR b)
{
    return (b >= 0x80 && b <= 0x9f) ? cp1252_80[b - 0x80] : b;
}

static void size_functions(void **state)
{
    (void)state;
    static const struct {
        USHORT len;
        ULONG a2u, u2a;
    } cases[] = {
        {0, 2, 1},         {1, 4, 1},         {2, 6, 2},         {3, 8, 2},
        {5, 12, 3},        {10, 22, 6},       {11, 24, 6},       {32766, 65534, 16384},
        {32767, 65536, 16384}, {65534, 131070, 32768}, {65535, 131072, 32768},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        STRING a = {cases[i].len, cases[i].len, NULL};
        UNICODE_STRING u = {cases[i].len, cases[i].len, NULL};
        CHECK(i, RtlxAnsiStringToUnicodeSize(&a) == cases[i].a2u);
        CHECK(i, RtlAnsiStringToUnicodeSize(&a) == cases[i].a2u);
        CHECK(i, RtlxUnicodeStringToAnsiSize(&u) == cases[i].u2a);
        CHECK(i, RtlUnicodeStringToAnsiSize(&u) == cases[i].u2a);
    }
}

static void ansi_to_unicode_all_bytes(void **state)
{
    (void)state;
    CHAR bytes[256];
    WCHAR out[260];
    STRING a;
    UNICODE_STRING u;

    for (int i = 0; i < 256; i++)
        bytes[i] = (CHAR)i;
    set_as(&a, bytes, 256, 256);
    set_us(&u, out, 0, sizeof(out));
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 512);
    assert_int_equal(u.MaximumLength, sizeof(out));
    for (int i = 0; i < 256; i++)
        CHECK(i, out[i] == ref_ansi_to_unicode((UCHAR)i));
    assert_int_equal(out[256], 0);
    assert_int_equal(out[0x80], 0x20ac);
    assert_int_equal(out[0x9f], 0x178);
    assert_int_equal(out[0x81], 0x81);
    assert_int_equal(out[0xe4], 0xe4);
}

static void unicode_to_ansi_chars(void **state)
{
    (void)state;
    static const struct {
        WCHAR c;
        UCHAR b;
    } cases[] = {
        {'A', 'A'},        {0, 0},            {0x7f, 0x7f},     {0xa0, 0xa0},     {0xe4, 0xe4},
        {0xff, 0xff},      {0x20ac, 0x80},    {0x178, 0x9f},    {0x160, 0x8a},    {0x2122, 0x99},
        {0x81, 0x81},      {0x8d, 0x8d},      {0x8f, 0x8f},     {0x90, 0x90},     {0x9d, 0x9d},
        {0x80, '?'},       {0x82, '?'},       {0x9f, '?'},      {0x100, '?'},     {0x3b1, '?'},
        {0x4e2d, '?'},     {0xd800, '?'},     {0xfffd, '?'},    {0xffff, '?'},    {'?', '?'},
        {0x2013, 0x96},    {0x2014, 0x97},    {0x201c, 0x93},   {0x02dc, 0x98},   {0x0192, 0x83},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        WCHAR src[1] = {cases[i].c};
        CHAR out[2] = {0x55, 0x55};
        UNICODE_STRING u;
        STRING a;
        set_us(&u, src, 2, 2);
        set_as(&a, out, 0, 2);
        CHECK(i, RtlUnicodeStringToAnsiString(&a, &u, FALSE) == STATUS_SUCCESS);
        CHECK(i, a.Length == 1);
        CHECK(i, (UCHAR)out[0] == cases[i].b);
        CHECK(i, out[1] == 0);
    }
}

static void ansi_to_unicode_sizes(void **state)
{
    (void)state;
    static const struct {
        USHORT src_len, dst_max;
        NTSTATUS status;
    } cases[] = {
        {3, 8, STATUS_SUCCESS},         /* "abc" + terminator exactly */
        {3, 9, STATUS_SUCCESS},         {3, 100, STATUS_SUCCESS},
        {3, 7, STATUS_BUFFER_OVERFLOW}, /* terminator would not fit */
        {3, 6, STATUS_BUFFER_OVERFLOW}, {3, 2, STATUS_BUFFER_OVERFLOW},
        {3, 0, STATUS_BUFFER_OVERFLOW}, {0, 2, STATUS_SUCCESS},
        {0, 1, STATUS_BUFFER_OVERFLOW}, {0, 0, STATUS_BUFFER_OVERFLOW},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        WCHAR out[64];
        UNICODE_STRING u;
        STRING a;
        for (unsigned k = 0; k < 64; k++)
            out[k] = 0xcccc;
        set_as(&a, (PCHAR) "abcdef", cases[i].src_len, 7);
        set_us(&u, out, 1234, cases[i].dst_max);
        CHECK(i, RtlAnsiStringToUnicodeString(&u, &a, FALSE) == cases[i].status);
        CHECK(i, u.MaximumLength == cases[i].dst_max && u.Buffer == out);
        if (cases[i].status == STATUS_SUCCESS) {
            CHECK(i, u.Length == cases[i].src_len * 2);
            for (unsigned k = 0; k < cases[i].src_len; k++)
                CHECK(i, out[k] == (WCHAR)('a' + k));
            CHECK(i, out[cases[i].src_len] == 0);
            CHECK(i, out[cases[i].src_len + 1] == 0xcccc);
        } else {
            /* A failed conversion leaves the destination exactly as it was. */
            CHECK(i, u.Length == 1234);
            for (unsigned k = 0; k < 64; k++)
                CHECK(i, out[k] == 0xcccc);
        }
    }
}

static void ansi_to_unicode_allocate(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    STRING a;
    UNICODE_STRING u = {1, 2, (PWSTR)0x3};

    RtlInitAnsiString(&a, "Hello \x80");
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, TRUE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 14);
    assert_int_equal(u.MaximumLength, 16);
    assert_memory_equal(u.Buffer, L"Hello \u20ac", 16);
    RtlFreeUnicodeString(&u);

    /* Empty source (even without a buffer) gives a terminated empty string. */
    STRING empty = {0, 0, NULL};
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &empty, TRUE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, 2);
    assert_int_equal(u.Buffer[0], 0);
    RtlFreeUnicodeString(&u);

    /* Allocation failure: STATUS_NO_MEMORY, destination untouched. */
    u.Length = 1;
    u.MaximumLength = 2;
    u.Buffer = (PWSTR)0x3;
    ntos_test_pool_fail_after(0);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, TRUE), STATUS_NO_MEMORY);
    ntos_test_pool_fail_after(-1);
    assert_int_equal(u.Length, 1);
    assert_int_equal(u.MaximumLength, 2);
    assert_ptr_equal(u.Buffer, (PWSTR)0x3);
    assert_int_equal(ntos_test_pool_outstanding(), before);

    assert_int_equal(RtlAnsiStringToUnicodeString(NULL, &a, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, NULL, FALSE), STATUS_INVALID_PARAMETER);
}

/* 32766 bytes is the longest ANSI string whose Unicode form (with terminator)
 * fits a USHORT; one more is STATUS_INVALID_PARAMETER_2 whether or not the
 * routine allocates. */
static void ansi_to_unicode_limits(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    STRING a;
    UNICODE_STRING u;

    for (ULONG i = 0; i < 0x10000; i++)
        big_a[i] = (CHAR)('a' + i % 26);
    set_as(&a, big_a, 32766, 32766);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, TRUE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 65532);
    assert_int_equal(u.MaximumLength, 65534);
    assert_int_equal(u.Buffer[32765], (WCHAR)('a' + 32765 % 26));
    assert_int_equal(u.Buffer[32766], 0);
    RtlFreeUnicodeString(&u);

    static const USHORT too_long[] = {32767, 32768, 40000, 65535};
    for (unsigned i = 0; i < RTL_NUMBER_OF(too_long); i++) {
        set_as(&a, big_a, too_long[i], too_long[i]);
        set_us(&u, (PWSTR)0x40, 5, 6);
        CHECK(i, RtlAnsiStringToUnicodeString(&u, &a, TRUE) == STATUS_INVALID_PARAMETER_2);
        CHECK(i, u.Length == 5 && u.MaximumLength == 6 && u.Buffer == (PWSTR)0x40);
        set_us(&u, big_w, 0, 65535);
        CHECK(i, RtlAnsiStringToUnicodeString(&u, &a, FALSE) == STATUS_INVALID_PARAMETER_2);
        CHECK(i, u.Length == 0);
    }
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void unicode_to_ansi_sizes(void **state)
{
    (void)state;
    /* Source "abcdef" (12 bytes, 13 with an odd extra byte). */
    static const struct {
        USHORT src_len, dst_max;
        NTSTATUS status;
        USHORT want_len;
    } cases[] = {
        {12, 7, STATUS_SUCCESS, 6},          /* exactly fits with terminator */
        {12, 100, STATUS_SUCCESS, 6},
        {12, 6, STATUS_BUFFER_OVERFLOW, 5},  /* truncated, still terminated */
        {12, 5, STATUS_BUFFER_OVERFLOW, 4},
        {12, 2, STATUS_BUFFER_OVERFLOW, 1},
        {12, 1, STATUS_BUFFER_OVERFLOW, 0},
        {12, 0, STATUS_BUFFER_OVERFLOW, 777}, /* no room at all: untouched */
        {13, 7, STATUS_SUCCESS, 6},           /* odd byte is not a character */
        {1, 1, STATUS_SUCCESS, 0},
        {0, 1, STATUS_SUCCESS, 0},
        {0, 0, STATUS_BUFFER_OVERFLOW, 777},
    };
    static const WCHAR text[] = L"abcdefg";
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        CHAR out[16];
        UNICODE_STRING u;
        STRING a;
        for (unsigned k = 0; k < sizeof(out); k++)
            out[k] = 0x55;
        set_us(&u, (PWSTR)text, cases[i].src_len, 16);
        set_as(&a, out, 777, cases[i].dst_max);
        CHECK(i, RtlUnicodeStringToAnsiString(&a, &u, FALSE) == cases[i].status);
        CHECK(i, a.Length == cases[i].want_len);
        CHECK(i, a.MaximumLength == cases[i].dst_max && a.Buffer == out);
        if (cases[i].want_len != 777) {
            for (unsigned k = 0; k < cases[i].want_len; k++)
                CHECK(i, out[k] == (CHAR)('a' + k));
            CHECK(i, out[cases[i].want_len] == 0);
            for (unsigned k = cases[i].want_len + 1u; k < sizeof(out); k++)
                CHECK(i, out[k] == 0x55);
        } else {
            for (unsigned k = 0; k < sizeof(out); k++)
                CHECK(i, out[k] == 0x55);
        }
    }
}

static void unicode_to_ansi_allocate(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    UNICODE_STRING u;
    STRING a = {1, 2, (PCHAR)0x3};

    RtlInitUnicodeString(&u, L"abcdef \u20ac\u4e2d");
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &u, TRUE), STATUS_SUCCESS);
    assert_int_equal(a.Length, 9);
    assert_int_equal(a.MaximumLength, 10);
    assert_memory_equal(a.Buffer, "abcdef \x80?", 10);
    RtlFreeAnsiString(&a);

    UNICODE_STRING empty = {0, 0, NULL};
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &empty, TRUE), STATUS_SUCCESS);
    assert_int_equal(a.Length, 0);
    assert_int_equal(a.MaximumLength, 1);
    assert_int_equal(a.Buffer[0], 0);
    RtlFreeAnsiString(&a);

    /* The longest Unicode string converts to a 32767-byte ANSI string. */
    for (ULONG i = 0; i < 0x8000; i++)
        big_w[i] = (WCHAR)('A' + i % 26);
    set_us(&u, big_w, 65534, 65534);
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &u, TRUE), STATUS_SUCCESS);
    assert_int_equal(a.Length, 32767);
    assert_int_equal(a.MaximumLength, 32768);
    assert_int_equal(a.Buffer[32766], (CHAR)('A' + 32766 % 26));
    assert_int_equal(a.Buffer[32767], 0);
    RtlFreeAnsiString(&a);

    a.Length = 1;
    a.MaximumLength = 2;
    a.Buffer = (PCHAR)0x3;
    ntos_test_pool_fail_after(0);
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &u, TRUE), STATUS_NO_MEMORY);
    ntos_test_pool_fail_after(-1);
    assert_int_equal(a.Length, 1);
    assert_int_equal(a.MaximumLength, 2);
    assert_ptr_equal(a.Buffer, (PCHAR)0x3);
    assert_int_equal(ntos_test_pool_outstanding(), before);

    assert_int_equal(RtlUnicodeStringToAnsiString(NULL, &u, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, NULL, TRUE), STATUS_INVALID_PARAMETER);
}

/* Every byte survives ANSI -> Unicode -> ANSI; every code unit either survives
 * Unicode -> ANSI -> Unicode or is one of the unmappable ones that become '?'. */
static void round_trip_exhaustive(void **state)
{
    (void)state;
    ULONG mappable = 0;

    for (int b = 0; b < 256; b++) {
        CHAR in[1] = {(CHAR)b}, back[2];
        WCHAR mid[2];
        STRING a, r;
        UNICODE_STRING u;
        set_as(&a, in, 1, 1);
        set_us(&u, mid, 0, sizeof(mid));
        set_as(&r, back, 0, sizeof(back));
        CHECK(b, RtlAnsiStringToUnicodeString(&u, &a, FALSE) == STATUS_SUCCESS);
        CHECK(b, RtlUnicodeStringToAnsiString(&r, &u, FALSE) == STATUS_SUCCESS);
        CHECK(b, r.Length == 1 && back[0] == in[0]);
    }
    for (ULONG c = 0; c <= 0xffff; c++) {
        WCHAR in[1] = {(WCHAR)c}, back[2];
        CHAR mid[2];
        UNICODE_STRING u, r;
        STRING a;
        set_us(&u, in, 2, 2);
        set_as(&a, mid, 0, sizeof(mid));
        set_us(&r, back, 0, sizeof(back));
        CHECK(c, RtlUnicodeStringToAnsiString(&a, &u, FALSE) == STATUS_SUCCESS);
        CHECK(c, RtlAnsiStringToUnicodeString(&r, &a, FALSE) == STATUS_SUCCESS);
        if (back[0] == c) {
            mappable++;
        } else {
            CHECK(c, mid[0] == '?');
        }
    }
    /* Exactly the 256 characters of the code page map back to themselves. */
    assert_int_equal(mappable, 256);
}

/* Random strings over a mix of mappable and unmappable characters. */
static void property_conversion_random(void **state)
{
    (void)state;
    uint64_t seed = 0xa5a5a5a55a5a5a5aULL;
    SIZE_T before = ntos_test_pool_outstanding();

    for (unsigned iter = 0; iter < 2000; iter++) {
        WCHAR src[48];
        USHORT n = (USHORT)(ntos_test_rand(&seed) % 48);
        for (USHORT k = 0; k < n; k++) {
            uint64_t r = ntos_test_rand(&seed);
            switch (r % 4) {
            case 0: src[k] = (WCHAR)(0x20 + (r >> 8) % 0x5f); break;
            case 1: src[k] = (WCHAR)(0xa0 + (r >> 8) % 0x60); break;
            case 2: src[k] = cp1252_80[(r >> 8) % 32]; break;
            default: src[k] = (WCHAR)(r >> 16); break;
            }
        }
        UNICODE_STRING u, back;
        STRING a;
        set_us(&u, src, (USHORT)(n * 2), sizeof(src));
        CHECK(iter, RtlUnicodeStringToAnsiString(&a, &u, TRUE) == STATUS_SUCCESS);
        CHECK(iter, a.Length == n && a.MaximumLength == n + 1 && a.Buffer[n] == 0);
        CHECK(iter, RtlAnsiStringToUnicodeString(&back, &a, TRUE) == STATUS_SUCCESS);
        CHECK(iter, back.Length == u.Length && back.MaximumLength == u.Length + 2);
        for (USHORT k = 0; k < n; k++) {
            BOOLEAN ok = back.Buffer[k] == src[k] || (a.Buffer[k] == '?' && back.Buffer[k] == '?');
            CHECK(iter, ok);
            CHECK(iter, ref_ansi_to_unicode((UCHAR)a.Buffer[k]) == back.Buffer[k]);
        }
        RtlFreeAnsiString(&a);
        RtlFreeUnicodeString(&back);
    }
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(upcase_char_spots),
    cmocka_unit_test(downcase_char_spots),
    cmocka_unit_test(case_char_simple_blocks),
    cmocka_unit_test(case_char_exhaustive_invariants),
    cmocka_unit_test(size_functions),
    cmocka_unit_test(ansi_to_unicode_all_bytes),
    cmocka_unit_test(unicode_to_ansi_chars),
    cmocka_unit_test(ansi_to_unicode_sizes),
    cmocka_unit_test(ansi_to_unicode_allocate),
    cmocka_unit_test(ansi_to_unicode_limits),
    cmocka_unit_test(unicode_to_ansi_sizes),
    cmocka_unit_test(unicode_to_ansi_allocate),
    cmocka_unit_test(round_trip_exhaustive),
    cmocka_unit_test(property_conversion_random),
};

NTOS_TEST_GROUP(rtl_nls, tests, group_setup, NULL);
