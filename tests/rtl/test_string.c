/*
 * Rtl counted strings: init, copy, append, compare/equal/prefix, upper/upcase,
 * create/duplicate/free. Table-driven where the cases differ only in data; the
 * comparison routines are also checked against an independent reference over
 * thousands of random strings (fixed seed).
 */
#include "ntos_test.h"

#include <ntos/rtl.h>

#define CHECK(i, cond)                                                                          \
    do {                                                                                        \
        if (!(cond))                                                                            \
            fail_msg("case %u: %s", (unsigned)(i), #cond);                                      \
    } while (0)

#define SENTINEL_W ((WCHAR)0xCCCC)
#define SENTINEL_A ((CHAR)0x5A)

/* Big enough for the MAXUSHORT boundary cases (in bytes: 0x20000). */
static WCHAR big_w[0x10000 + 8];
static WCHAR big_w2[0x10000 + 8];
static CHAR big_a[0x10000 + 8];

static SIZE_T wlen(PCWSTR s)
{
    SIZE_T n = 0;
    while (s[n])
        n++;
    return n;
}

static void wfill(WCHAR *b, SIZE_T n, WCHAR v)
{
    for (SIZE_T i = 0; i < n; i++)
        b[i] = v;
}

static void afill(CHAR *b, SIZE_T n, CHAR v)
{
    for (SIZE_T i = 0; i < n; i++)
        b[i] = v;
}

static void wcopy(WCHAR *d, PCWSTR s, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        d[i] = s[i];
}

static void acopy(CHAR *d, PCSZ s, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        d[i] = s[i];
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

static int group_setup(void **state)
{
    (void)state;
    ntos_test_pool_install();
    ntos_test_pool_fail_after(-1);
    return 0;
}

/* ---- RtlInitUnicodeString / Ex ------------------------------------------------ */

static void init_unicode_normal(void **state)
{
    (void)state;
    static const WCHAR text[] = L"Some Wild String";
    UNICODE_STRING us = {12345, 12345, (PWSTR)0x1};

    RtlInitUnicodeString(&us, text);
    assert_int_equal(us.Length, 32);
    assert_int_equal(us.MaximumLength, 34);
    assert_ptr_equal(us.Buffer, text);
    assert_memory_equal(us.Buffer, L"Some Wild String", sizeof(text));
}

static void init_unicode_null(void **state)
{
    (void)state;
    UNICODE_STRING us = {12345, 12345, (PWSTR)0x1};

    RtlInitUnicodeString(&us, NULL);
    assert_int_equal(us.Length, 0);
    assert_int_equal(us.MaximumLength, 0);
    assert_null(us.Buffer);
    RtlInitUnicodeString(NULL, L"x"); /* tolerated, no effect */
}

static void init_unicode_empty(void **state)
{
    (void)state;
    static const WCHAR empty[] = L"";
    UNICODE_STRING us;

    RtlInitUnicodeString(&us, empty);
    assert_int_equal(us.Length, 0);
    assert_int_equal(us.MaximumLength, 2);
    assert_ptr_equal(us.Buffer, empty);
}

/* Lengths around the USHORT limit: 32766 characters is the longest string a
 * terminated UNICODE_STRING can describe. */
static void init_unicode_limits(void **state)
{
    (void)state;
    static const struct {
        ULONG chars;
        USHORT length, max;
    } cases[] = {
        {1, 2, 4},
        {32765, 65530, 65532},
        {32766, 65532, 65534},
        {32767, 65532, 65534}, /* capped: MAX_USTRING - 2 / MAX_USTRING */
        {32768, 65532, 65534},
        {40000, 65532, 65534},
        {65536, 65532, 65534},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        UNICODE_STRING us;
        wfill(big_w, cases[i].chars, L'X');
        big_w[cases[i].chars] = 0;
        RtlInitUnicodeString(&us, big_w);
        CHECK(i, us.Length == cases[i].length);
        CHECK(i, us.MaximumLength == cases[i].max);
        CHECK(i, us.Buffer == big_w);
        CHECK(i, big_w[0] == L'X'); /* source untouched */
    }
}

static void init_unicode_ex(void **state)
{
    (void)state;
    static const WCHAR text[] = L"Some Wild String";
    UNICODE_STRING us = {12345, 12345, (PWSTR)0x1};

    assert_int_equal(RtlInitUnicodeStringEx(&us, text), STATUS_SUCCESS);
    assert_int_equal(us.Length, 32);
    assert_int_equal(us.MaximumLength, 34);
    assert_ptr_equal(us.Buffer, text);

    us.Length = us.MaximumLength = 12345;
    assert_int_equal(RtlInitUnicodeStringEx(&us, NULL), STATUS_SUCCESS);
    assert_int_equal(us.Length, 0);
    assert_int_equal(us.MaximumLength, 0);
    assert_null(us.Buffer);

    assert_int_equal(RtlInitUnicodeStringEx(NULL, text), STATUS_INVALID_PARAMETER);
}

static void init_unicode_ex_limits(void **state)
{
    (void)state;
    static const struct {
        ULONG chars;
        NTSTATUS status;
        USHORT length, max;
    } cases[] = {
        {0, STATUS_SUCCESS, 0, 2},
        {32765, STATUS_SUCCESS, 65530, 65532},
        {32766, STATUS_SUCCESS, 65532, 65534},
        {32767, STATUS_NAME_TOO_LONG, 1111, 2222},
        {32768, STATUS_NAME_TOO_LONG, 1111, 2222},
        {65535, STATUS_NAME_TOO_LONG, 1111, 2222},
        {65536, STATUS_NAME_TOO_LONG, 1111, 2222},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        UNICODE_STRING us = {1111, 2222, (PWSTR)0x10};
        wfill(big_w, cases[i].chars, L'y');
        big_w[cases[i].chars] = 0;
        CHECK(i, RtlInitUnicodeStringEx(&us, big_w) == cases[i].status);
        CHECK(i, us.Length == cases[i].length);
        CHECK(i, us.MaximumLength == cases[i].max);
        CHECK(i, us.Buffer == (cases[i].status == STATUS_SUCCESS ? big_w : (PWSTR)0x10));
    }
}

/* ---- RtlInitAnsiString / RtlInitString / Ex ----------------------------------- */

static void init_ansi_basic(void **state)
{
    (void)state;
    static const CHAR text[] = "Some Wild String";
    STRING s = {12345, 12345, (PCHAR)0x1};

    RtlInitAnsiString(&s, text);
    assert_int_equal(s.Length, 16);
    assert_int_equal(s.MaximumLength, 17);
    assert_ptr_equal(s.Buffer, text);

    RtlInitAnsiString(&s, NULL);
    assert_int_equal(s.Length, 0);
    assert_int_equal(s.MaximumLength, 0);
    assert_null(s.Buffer);

    RtlInitAnsiString(&s, "");
    assert_int_equal(s.Length, 0);
    assert_int_equal(s.MaximumLength, 1);

    s.Length = s.MaximumLength = 7;
    RtlInitString(&s, text);
    assert_int_equal(s.Length, 16);
    assert_int_equal(s.MaximumLength, 17);
    assert_ptr_equal(s.Buffer, text);
    RtlInitString(&s, NULL);
    assert_int_equal(s.Length, 0);
    assert_int_equal(s.MaximumLength, 0);
    assert_null(s.Buffer);
    RtlInitAnsiString(NULL, text);
}

static void init_ansi_limits(void **state)
{
    (void)state;
    static const struct {
        ULONG chars;
        USHORT length, max; /* RtlInitAnsiString */
        NTSTATUS ex_status;
    } cases[] = {
        {65533, 65533, 65534, STATUS_SUCCESS},
        {65534, 65534, 65535, STATUS_SUCCESS},
        {65535, 65534, 65535, STATUS_NAME_TOO_LONG},
        {65536, 65534, 65535, STATUS_NAME_TOO_LONG},
        {65540, 65534, 65535, STATUS_NAME_TOO_LONG},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        STRING s;
        afill(big_a, cases[i].chars, 'q');
        big_a[cases[i].chars] = 0;
        RtlInitAnsiString(&s, big_a);
        CHECK(i, s.Length == cases[i].length && s.MaximumLength == cases[i].max);
        RtlInitString(&s, big_a);
        CHECK(i, s.Length == cases[i].length && s.MaximumLength == cases[i].max);

        STRING ex = {3, 4, (PCHAR)0x20};
        CHECK(i, RtlInitAnsiStringEx(&ex, big_a) == cases[i].ex_status);
        if (cases[i].ex_status == STATUS_SUCCESS) {
            CHECK(i, ex.Length == cases[i].length && ex.MaximumLength == cases[i].max);
            CHECK(i, ex.Buffer == big_a);
        } else {
            CHECK(i, ex.Length == 3 && ex.MaximumLength == 4 && ex.Buffer == (PCHAR)0x20);
        }
    }
}

static void init_ansi_ex_null(void **state)
{
    (void)state;
    STRING s = {3, 4, (PCHAR)0x20};

    assert_int_equal(RtlInitAnsiStringEx(&s, NULL), STATUS_SUCCESS);
    assert_int_equal(s.Length, 0);
    assert_int_equal(s.MaximumLength, 0);
    assert_null(s.Buffer);
    assert_int_equal(RtlInitAnsiStringEx(&s, "abc"), STATUS_SUCCESS);
    assert_int_equal(s.Length, 3);
    assert_int_equal(s.MaximumLength, 4);
    assert_int_equal(RtlInitAnsiStringEx(NULL, "abc"), STATUS_INVALID_PARAMETER);
}

/* ---- RtlCopyUnicodeString / RtlCopyString -------------------------------------- */

static void copy_unicode_table(void **state)
{
    (void)state;
    static const struct {
        USHORT src_len;   /* bytes of L"0123456789" */
        USHORT dst_max;
        USHORT want_len;
        BOOLEAN want_nul; /* terminator written at want_len */
    } cases[] = {
        {20, 40, 20, TRUE},  {20, 22, 20, TRUE},  {20, 21, 20, FALSE}, {20, 20, 20, FALSE},
        {20, 12, 12, FALSE}, {20, 11, 11, FALSE}, {20, 2, 2, FALSE},   {20, 0, 0, FALSE},
        {0, 40, 0, TRUE},    {0, 2, 0, TRUE},     {0, 1, 0, FALSE},    {0, 0, 0, FALSE},
        {7, 40, 7, TRUE},    {7, 9, 7, TRUE},     {7, 8, 7, FALSE},
    };
    static const WCHAR src_text[] = L"0123456789";

    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        WCHAR src_buf[16], dst_buf[32];
        UNICODE_STRING src, dst;
        wcopy(src_buf, src_text, 11);
        wfill(dst_buf, 32, SENTINEL_W);
        set_us(&src, src_buf, cases[i].src_len, 22);
        set_us(&dst, dst_buf, 0, cases[i].dst_max);
        dst.Length = 6; /* stale value, must be replaced */

        RtlCopyUnicodeString(&dst, &src);
        CHECK(i, dst.Length == cases[i].want_len);
        CHECK(i, dst.MaximumLength == cases[i].dst_max);
        CHECK(i, dst.Buffer == dst_buf);
        const UCHAR *db = (const UCHAR *)dst_buf, *sb = (const UCHAR *)src_buf;
        for (unsigned b = 0; b < cases[i].want_len; b++)
            CHECK(i, db[b] == sb[b]);
        if (cases[i].want_nul) {
            CHECK(i, db[cases[i].want_len] == 0 && db[cases[i].want_len + 1] == 0);
        }
        /* Nothing at or beyond MaximumLength, nor past the terminator, changes. */
        unsigned first_untouched = cases[i].want_len + (cases[i].want_nul ? 2 : 0);
        for (unsigned b = first_untouched; b < sizeof(dst_buf); b++)
            CHECK(i, db[b] == 0xCC);
    }
}

static void copy_unicode_null_source(void **state)
{
    (void)state;
    WCHAR buf[4] = {L'a', L'b', L'c', 0};
    UNICODE_STRING dst;

    set_us(&dst, buf, 6, 8);
    RtlCopyUnicodeString(&dst, NULL);
    assert_int_equal(dst.Length, 0);
    assert_int_equal(dst.MaximumLength, 8);
    assert_ptr_equal(dst.Buffer, buf);
    assert_int_equal(buf[0], L'a');
}

/* Source and destination sharing a buffer (shifting a string left in place). */
static void copy_unicode_overlap(void **state)
{
    (void)state;
    WCHAR buf[8] = {L'x', L'a', L'b', L'c', 0, 0, 0, 0};
    UNICODE_STRING src, dst;

    set_us(&src, buf + 1, 6, 8);
    set_us(&dst, buf, 0, 16);
    RtlCopyUnicodeString(&dst, &src);
    assert_int_equal(dst.Length, 6);
    assert_memory_equal(buf, L"abc", 8);
}

static void copy_string_table(void **state)
{
    (void)state;
    static const struct {
        USHORT src_len, dst_max, want_len;
    } cases[] = {
        {10, 20, 10}, {10, 11, 10}, {10, 10, 10}, {10, 9, 9}, {10, 1, 1},
        {10, 0, 0},   {0, 20, 0},   {0, 0, 0},    {3, 3, 3},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        CHAR src_buf[12], dst_buf[24];
        STRING src, dst;
        acopy(src_buf, "0123456789", 11);
        afill(dst_buf, sizeof(dst_buf), SENTINEL_A);
        set_as(&src, src_buf, cases[i].src_len, 11);
        set_as(&dst, dst_buf, 5, cases[i].dst_max);
        RtlCopyString(&dst, &src);
        CHECK(i, dst.Length == cases[i].want_len);
        CHECK(i, dst.MaximumLength == cases[i].dst_max && dst.Buffer == dst_buf);
        for (unsigned b = 0; b < cases[i].want_len; b++)
            CHECK(i, dst_buf[b] == src_buf[b]);
        /* STRING copies are counted-only: no terminator is added. */
        for (unsigned b = cases[i].want_len; b < sizeof(dst_buf); b++)
            CHECK(i, dst_buf[b] == SENTINEL_A);
    }

    CHAR buf[4] = "abc";
    STRING dst;
    set_as(&dst, buf, 3, 4);
    RtlCopyString(&dst, NULL);
    assert_int_equal(dst.Length, 0);
    assert_int_equal(dst.MaximumLength, 4);
    assert_int_equal(buf[0], 'a');
}

/* ---- appends ------------------------------------------------------------------- */

/* Destination "Fake" (8 bytes) in a 16-WCHAR buffer, source "Ustr". */
static void append_unicode_string_table(void **state)
{
    (void)state;
    static const struct {
        USHORT dst_max;
        USHORT src_len;
        NTSTATUS status;
        USHORT want_len;
        BOOLEAN want_nul;
    } cases[] = {
        {24, 8, STATUS_SUCCESS, 16, TRUE},
        {18, 8, STATUS_SUCCESS, 16, TRUE},
        {17, 8, STATUS_SUCCESS, 16, FALSE}, /* half a terminator does not fit */
        {16, 8, STATUS_SUCCESS, 16, FALSE}, /* exactly fits, unterminated */
        {15, 8, STATUS_BUFFER_TOO_SMALL, 8, FALSE},
        {8, 8, STATUS_BUFFER_TOO_SMALL, 8, FALSE},
        {8, 0, STATUS_SUCCESS, 8, FALSE}, /* empty source is always fine */
        {24, 0, STATUS_SUCCESS, 8, FALSE},
        {24, 2, STATUS_SUCCESS, 10, TRUE},
        {24, 3, STATUS_SUCCESS, 11, TRUE}, /* odd byte count copied as is */
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        WCHAR dst_buf[16], src_buf[8];
        UNICODE_STRING dst, src;
        wfill(dst_buf, 16, SENTINEL_W);
        wcopy(dst_buf, L"Fake", 4);
        wcopy(src_buf, L"UstrZYXW", 8);
        set_us(&dst, dst_buf, 8, cases[i].dst_max);
        set_us(&src, src_buf, cases[i].src_len, 16);

        CHECK(i, RtlAppendUnicodeStringToString(&dst, &src) == cases[i].status);
        CHECK(i, dst.Length == cases[i].want_len);
        CHECK(i, dst.MaximumLength == cases[i].dst_max && dst.Buffer == dst_buf);
        const UCHAR *db = (const UCHAR *)dst_buf;
        CHECK(i, db[0] == 'F' && db[6] == 'e');
        if (cases[i].status == STATUS_SUCCESS) {
            for (unsigned b = 0; b < cases[i].src_len; b++)
                CHECK(i, db[8 + b] == ((const UCHAR *)src_buf)[b]);
        }
        unsigned untouched = cases[i].want_len;
        if (cases[i].want_nul) {
            CHECK(i, db[untouched] == 0 && db[untouched + 1] == 0);
            untouched += 2;
        }
        for (unsigned b = untouched; b < sizeof(dst_buf); b++)
            CHECK(i, db[b] == 0xCC);
    }
}

static void append_unicode_string_self_and_nuls(void **state)
{
    (void)state;
    WCHAR buf[16] = {L'a', L'b', 0};
    UNICODE_STRING s;

    /* Appending a string to itself reads the bytes it is about to extend. */
    set_us(&s, buf, 4, sizeof(buf));
    assert_int_equal(RtlAppendUnicodeStringToString(&s, &s), STATUS_SUCCESS);
    assert_int_equal(s.Length, 8);
    assert_memory_equal(buf, L"abab", 10);

    /* Embedded NULs are data, not terminators. */
    WCHAR dbuf[16], sbuf[4] = {L'S', 0, L't', 0};
    UNICODE_STRING d, src;
    wfill(dbuf, 16, SENTINEL_W);
    dbuf[0] = L'T';
    dbuf[1] = 0;
    set_us(&d, dbuf, 4, sizeof(dbuf));
    set_us(&src, sbuf, 6, 8);
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &src), STATUS_SUCCESS);
    assert_int_equal(d.Length, 10);
    static const WCHAR want[] = {L'T', 0, L'S', 0, L't', 0};
    assert_memory_equal(dbuf, want, sizeof(want));

    /* Empty source with no buffer, into a destination with no buffer. */
    UNICODE_STRING e1 = {0, 0, NULL}, e2 = {0, 0, NULL};
    assert_int_equal(RtlAppendUnicodeStringToString(&e1, &e2), STATUS_SUCCESS);
    assert_int_equal(e1.Length, 0);
    assert_null(e1.Buffer);
}

/* The sum of two Lengths can exceed a USHORT; it must not wrap into "fits". */
static void append_unicode_string_ushort_boundary(void **state)
{
    (void)state;
    static const struct {
        USHORT dst_len, dst_max, src_len;
        NTSTATUS status;
    } cases[] = {
        {65530, 65535, 4, STATUS_SUCCESS},   {65530, 65535, 5, STATUS_SUCCESS},
        {65530, 65535, 6, STATUS_BUFFER_TOO_SMALL}, {65530, 65535, 10, STATUS_BUFFER_TOO_SMALL},
        {65534, 65534, 2, STATUS_BUFFER_TOO_SMALL}, {2, 65535, 65534, STATUS_BUFFER_TOO_SMALL},
        {2, 65535, 65532, STATUS_SUCCESS},    {0, 65534, 65534, STATUS_SUCCESS},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        UNICODE_STRING d, s;
        wfill(big_w, 0x8000, L'd');
        wfill(big_w2, 0x8000, L's');
        set_us(&d, big_w, cases[i].dst_len, cases[i].dst_max);
        set_us(&s, big_w2, cases[i].src_len, cases[i].src_len);
        CHECK(i, RtlAppendUnicodeStringToString(&d, &s) == cases[i].status);
        if (cases[i].status == STATUS_SUCCESS) {
            CHECK(i, d.Length == (USHORT)(cases[i].dst_len + cases[i].src_len));
            CHECK(i, big_w[cases[i].dst_len / 2] == L's');
        } else {
            CHECK(i, d.Length == cases[i].dst_len);
            CHECK(i, big_w[cases[i].dst_len / 2] == L'd' || cases[i].dst_len >= 65534);
        }
    }
}

static void append_unicode_to_string_table(void **state)
{
    (void)state;
    static const struct {
        PCWSTR src;
        USHORT dst_max;
        NTSTATUS status;
        USHORT want_len;
        BOOLEAN want_nul;
    } cases[] = {
        {L"Ustr", 24, STATUS_SUCCESS, 16, TRUE},
        {L"Ustr", 18, STATUS_SUCCESS, 16, TRUE},
        {L"Ustr", 17, STATUS_SUCCESS, 16, FALSE},
        {L"Ustr", 16, STATUS_SUCCESS, 16, FALSE},
        {L"Ustr", 15, STATUS_BUFFER_TOO_SMALL, 8, FALSE},
        {L"Ustr", 8, STATUS_BUFFER_TOO_SMALL, 8, FALSE},
        {L"", 8, STATUS_SUCCESS, 8, FALSE},
        {L"", 24, STATUS_SUCCESS, 8, FALSE},
        {NULL, 24, STATUS_SUCCESS, 8, FALSE},
        {NULL, 8, STATUS_SUCCESS, 8, FALSE},
        {L"U", 24, STATUS_SUCCESS, 10, TRUE},
        {L"A much longer source than fits", 24, STATUS_BUFFER_TOO_SMALL, 8, FALSE},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        WCHAR dst_buf[16];
        UNICODE_STRING dst;
        wfill(dst_buf, 16, SENTINEL_W);
        wcopy(dst_buf, L"Fake", 4);
        set_us(&dst, dst_buf, 8, cases[i].dst_max);

        CHECK(i, RtlAppendUnicodeToString(&dst, cases[i].src) == cases[i].status);
        CHECK(i, dst.Length == cases[i].want_len);
        CHECK(i, dst.MaximumLength == cases[i].dst_max && dst.Buffer == dst_buf);
        if (cases[i].status == STATUS_SUCCESS && cases[i].src != NULL) {
            SIZE_T n = wlen(cases[i].src);
            for (SIZE_T c = 0; c < n; c++)
                CHECK(i, dst_buf[4 + c] == cases[i].src[c]);
        }
        const UCHAR *db = (const UCHAR *)dst_buf;
        unsigned untouched = cases[i].want_len;
        if (cases[i].want_nul) {
            CHECK(i, db[untouched] == 0 && db[untouched + 1] == 0);
            untouched += 2;
        }
        for (unsigned b = untouched; b < sizeof(dst_buf); b++)
            CHECK(i, db[b] == 0xCC);
    }
}

static void append_unicode_to_string_empty_dest(void **state)
{
    (void)state;
    UNICODE_STRING none = {0, 0, NULL};
    WCHAR buf[4] = {0, 0, 0, SENTINEL_W};
    UNICODE_STRING d;

    assert_int_equal(RtlAppendUnicodeToString(&none, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlAppendUnicodeToString(&none, L""), STATUS_SUCCESS);
    assert_int_equal(RtlAppendUnicodeToString(&none, L"x"), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(none.Length, 0);

    /* Three WCHARs of room: "ab" plus terminator, then "c" fills it exactly. */
    set_us(&d, buf, 0, 3 * sizeof(WCHAR));
    assert_int_equal(RtlAppendUnicodeToString(&d, L"ab"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 4);
    assert_int_equal(buf[2], 0);
    assert_int_equal(RtlAppendUnicodeToString(&d, L"cd"), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(d.Length, 4);
    assert_int_equal(RtlAppendUnicodeToString(&d, L"c"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 6);
    assert_memory_equal(buf, L"abc", 6);
    assert_int_equal(buf[3], SENTINEL_W);
}

static void append_string_table(void **state)
{
    (void)state;
    static const struct {
        USHORT dst_max, src_len;
        NTSTATUS status;
        USHORT want_len;
    } cases[] = {
        {12, 5, STATUS_SUCCESS, 10}, {11, 5, STATUS_SUCCESS, 10},
        {10, 5, STATUS_SUCCESS, 10}, {9, 5, STATUS_BUFFER_TOO_SMALL, 5},
        {5, 5, STATUS_BUFFER_TOO_SMALL, 5}, {5, 0, STATUS_SUCCESS, 5},
        {14, 0, STATUS_SUCCESS, 5},  {14, 1, STATUS_SUCCESS, 6},
        {6, 1, STATUS_SUCCESS, 6},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        CHAR dst_buf[16], src_buf[8];
        STRING dst, src;
        afill(dst_buf, sizeof(dst_buf), SENTINEL_A);
        acopy(dst_buf, "TestS", 5);
        acopy(src_buf, "tringZY", 7);
        set_as(&dst, dst_buf, 5, cases[i].dst_max);
        set_as(&src, src_buf, cases[i].src_len, 7);
        CHECK(i, RtlAppendStringToString(&dst, &src) == cases[i].status);
        CHECK(i, dst.Length == cases[i].want_len);
        CHECK(i, dst.MaximumLength == cases[i].dst_max);
        for (unsigned b = 5; b < cases[i].want_len; b++)
            CHECK(i, dst_buf[b] == src_buf[b - 5]);
        /* No terminator: everything after the new Length is untouched. */
        for (unsigned b = cases[i].want_len; b < sizeof(dst_buf); b++)
            CHECK(i, dst_buf[b] == SENTINEL_A);
    }

    /* Embedded NULs and the USHORT boundary. */
    CHAR a[8] = {'x', 0, 'y'};
    CHAR b[4] = {0, 'z'};
    STRING sa, sb;
    set_as(&sa, a, 3, 8);
    set_as(&sb, b, 2, 4);
    assert_int_equal(RtlAppendStringToString(&sa, &sb), STATUS_SUCCESS);
    assert_int_equal(sa.Length, 5);
    assert_memory_equal(a, "x\0y\0z", 5);

    set_as(&sa, big_a, 65530, 65535);
    set_as(&sb, big_a, 10, 10);
    assert_int_equal(RtlAppendStringToString(&sa, &sb), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(sa.Length, 65530);
    set_as(&sb, big_a + 0x8000, 5, 5);
    assert_int_equal(RtlAppendStringToString(&sa, &sb), STATUS_SUCCESS);
    assert_int_equal(sa.Length, 65535);
}

/* ---- comparisons ------------------------------------------------------------------ */

static int sign(LONG v)
{
    return v < 0 ? -1 : (v > 0 ? 1 : 0);
}

typedef struct {
    PCWSTR s1, s2;
    BOOLEAN ci;
    int cmp;        /* sign of RtlCompareUnicodeString */
    BOOLEAN equal;  /* RtlEqualUnicodeString */
    BOOLEAN prefix; /* RtlPrefixUnicodeString(s1, s2) */
} ucmp_case;

static const ucmp_case ucmp_cases[] = {
    {L"abc", L"abc", FALSE, 0, TRUE, TRUE},
    {L"abc", L"abc", TRUE, 0, TRUE, TRUE},
    {L"abc", L"ABC", FALSE, 1, FALSE, FALSE},
    {L"abc", L"ABC", TRUE, 0, TRUE, TRUE},
    {L"ABC", L"abc", FALSE, -1, FALSE, FALSE},
    {L"abc", L"abd", FALSE, -1, FALSE, FALSE},
    {L"abd", L"abc", TRUE, 1, FALSE, FALSE},
    {L"ab", L"abc", FALSE, -1, FALSE, TRUE},
    {L"AB", L"abc", TRUE, -1, FALSE, TRUE},
    {L"AB", L"abc", FALSE, -1, FALSE, FALSE},
    {L"abc", L"ab", FALSE, 1, FALSE, FALSE},
    {L"", L"", FALSE, 0, TRUE, TRUE},
    {L"", L"a", FALSE, -1, FALSE, TRUE},
    {L"a", L"", TRUE, 1, FALSE, FALSE},
    /* Case-insensitive comparison upcases: '[' (0x5B) sorts after 'a' -> 'A' (0x41). */
    {L"[", L"a", TRUE, 1, FALSE, FALSE},
    {L"[", L"a", FALSE, -1, FALSE, FALSE},
    {L"_", L"b", TRUE, 1, FALSE, FALSE},
    /* Non-ASCII folding. */
    {L"\u00e4", L"\u00c4", TRUE, 0, TRUE, TRUE},
    {L"\u00e4", L"\u00c4", FALSE, 1, FALSE, FALSE},
    {L"\u00ff", L"\u0178", TRUE, 0, TRUE, TRUE},
    {L"\u03b1\u03b2\u03b3", L"\u0391\u0392\u0393", TRUE, 0, TRUE, TRUE},
    {L"\u043f\u0440\u0438\u0432\u0435\u0442", L"\u041f\u0420\u0418\u0412\u0415\u0422", TRUE, 0, TRUE, TRUE},
    {L"\uff41\uff42", L"\uff21\uff22", TRUE, 0, TRUE, TRUE},
    {L"stra\u00dfe", L"STRASSE", TRUE, 1, FALSE, FALSE},  /* no 1:1 upper of sharp s */
    {L"\u0131", L"I", TRUE, 1, FALSE, FALSE},             /* dotless i never folds to ASCII */
    {L"\u017f", L"s", TRUE, 1, FALSE, FALSE},             /* nor does long s */
    {L"\u00b5", L"\u03bc", TRUE, -1, FALSE, FALSE},       /* micro sign stays a symbol */
    {L"\u03c2", L"\u03c3", TRUE, 0, TRUE, TRUE},          /* final and medial sigma */
    /* Characters compare as unsigned 16-bit values. */
    {L"\uffff", L"\x0001", FALSE, 1, FALSE, FALSE},
    {L"\u8000", L"\u7fff", TRUE, 1, FALSE, FALSE},
    {L"Path\\File", L"PATH\\FILE", TRUE, 0, TRUE, TRUE},
    {L"\\Device", L"\\Device\\Harddisk0", TRUE, -1, FALSE, TRUE},
    {L"\\DEVICE\\", L"\\Device\\Harddisk0", TRUE, -1, FALSE, TRUE},
    {L"\\Devices", L"\\Device\\Harddisk0", TRUE, -1, FALSE, FALSE}, /* S (0x53) < \\ (0x5C) */
};

static void compare_unicode_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(ucmp_cases); i++) {
        const ucmp_case *c = &ucmp_cases[i];
        UNICODE_STRING a, b;
        RtlInitUnicodeString(&a, c->s1);
        RtlInitUnicodeString(&b, c->s2);
        CHECK(i, sign(RtlCompareUnicodeString(&a, &b, c->ci)) == c->cmp);
        CHECK(i, sign(RtlCompareUnicodeString(&b, &a, c->ci)) == -c->cmp);
        CHECK(i, RtlEqualUnicodeString(&a, &b, c->ci) == c->equal);
        CHECK(i, RtlEqualUnicodeString(&b, &a, c->ci) == c->equal);
        CHECK(i, RtlPrefixUnicodeString(&a, &b, c->ci) == c->prefix);
        CHECK(i, sign(RtlCompareUnicodeStrings(a.Buffer, a.Length / 2, b.Buffer, b.Length / 2, c->ci)) ==
                     c->cmp);
    }
}

/* Counted comparisons ignore what lies past Length, including embedded NULs. */
static void compare_unicode_counted(void **state)
{
    (void)state;
    static const WCHAR x[] = {L'a', 0, L'b', L'Q'};
    static const WCHAR y[] = {L'a', 0, L'c', L'R'};
    UNICODE_STRING a, b;

    set_us(&a, (PWSTR)x, 6, 8);
    set_us(&b, (PWSTR)y, 6, 8);
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) < 0);
    assert_false(RtlEqualUnicodeString(&a, &b, TRUE));
    a.Length = b.Length = 4; /* "a\0" on both sides */
    assert_int_equal(RtlCompareUnicodeString(&a, &b, FALSE), 0);
    assert_true(RtlEqualUnicodeString(&a, &b, FALSE));
    assert_true(RtlPrefixUnicodeString(&a, &b, FALSE));
    a.Length = 0;
    b.Buffer = NULL;
    b.Length = 0;
    assert_int_equal(RtlCompareUnicodeString(&a, &b, TRUE), 0);
    assert_true(RtlEqualUnicodeString(&a, &b, TRUE));

    /* An odd trailing byte is not a character but still makes the lengths differ. */
    set_us(&a, (PWSTR)x, 3, 8);
    set_us(&b, (PWSTR)x, 2, 8);
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) > 0);
    assert_false(RtlEqualUnicodeString(&a, &b, FALSE));
    assert_true(RtlPrefixUnicodeString(&b, &a, FALSE));

    /* SIZE_T lengths beyond a LONG still order correctly. */
    assert_true(RtlCompareUnicodeStrings(x, 0, y, 0, FALSE) == 0);
    assert_true(RtlCompareUnicodeStrings(x, 1, y, 3, FALSE) < 0);
    assert_true(RtlCompareUnicodeStrings(x, 3, y, 1, TRUE) > 0);
}

typedef struct {
    PCSZ s1, s2;
    BOOLEAN ci;
    int cmp;
    BOOLEAN equal, prefix;
} acmp_case;

static const acmp_case acmp_cases[] = {
    {"abc", "abc", FALSE, 0, TRUE, TRUE},
    {"abc", "ABC", FALSE, 1, FALSE, FALSE},
    {"abc", "ABC", TRUE, 0, TRUE, TRUE},
    {"abc", "abd", TRUE, -1, FALSE, FALSE},
    {"ab", "abc", FALSE, -1, FALSE, TRUE},
    {"abc", "ab", FALSE, 1, FALSE, FALSE},
    {"", "", TRUE, 0, TRUE, TRUE},
    {"", "x", FALSE, -1, FALSE, TRUE},
    {"[", "a", TRUE, 1, FALSE, FALSE},
    {"[", "a", FALSE, -1, FALSE, FALSE},
    {"Hello World", "HELLO WORLD", TRUE, 0, TRUE, TRUE},
    {"\xe4", "a", FALSE, 1, FALSE, FALSE},   /* bytes compare unsigned */
    {"\xe4", "\xc4", TRUE, 1, FALSE, FALSE}, /* STRING folding is ASCII only */
    {"\xff", "\x01", TRUE, 1, FALSE, FALSE},
    {"ZZ", "zz", TRUE, 0, TRUE, TRUE},
    {"ZZ", "zza", TRUE, -1, FALSE, TRUE},
};

static void compare_string_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RTL_NUMBER_OF(acmp_cases); i++) {
        const acmp_case *c = &acmp_cases[i];
        STRING a, b;
        RtlInitString(&a, c->s1);
        RtlInitString(&b, c->s2);
        CHECK(i, sign(RtlCompareString(&a, &b, c->ci)) == c->cmp);
        CHECK(i, sign(RtlCompareString(&b, &a, c->ci)) == -c->cmp);
        CHECK(i, RtlEqualString(&a, &b, c->ci) == c->equal);
        CHECK(i, RtlPrefixString(&a, &b, c->ci) == c->prefix);
    }
    /* Counted: bytes past Length do not take part. */
    STRING a = {2, 4, (PCHAR) "abX"}, b = {2, 4, (PCHAR) "abY"};
    assert_int_equal(RtlCompareString(&a, &b, FALSE), 0);
    assert_true(RtlEqualString(&a, &b, FALSE));
    STRING n1 = {2, 2, (PCHAR) "\0a"}, n2 = {2, 2, (PCHAR) "\0b"};
    assert_true(RtlCompareString(&n1, &n2, FALSE) < 0);
}

/* ---- RtlUpperChar / RtlUpperString --------------------------------------------------- */

static void upper_char_all_bytes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        CHAR want = (c >= 'a' && c <= 'z') ? (CHAR)(c - 32) : (CHAR)c;
        CHECK(c, RtlUpperChar((CHAR)c) == want);
    }
    assert_int_equal((UCHAR)RtlUpperChar('a'), 'A');
    assert_int_equal((UCHAR)RtlUpperChar('z'), 'Z');
    assert_int_equal((UCHAR)RtlUpperChar('{'), '{');
    assert_int_equal((UCHAR)RtlUpperChar('`'), '`');
    assert_int_equal((UCHAR)RtlUpperChar('A'), 'A');
    assert_int_equal((UCHAR)RtlUpperChar((CHAR)0xe4), 0xe4);
}

static void upper_string_cases(void **state)
{
    (void)state;
    CHAR src_buf[] = "Hello, wOrld! \xe4z";
    CHAR dst_buf[32];
    STRING src, dst;

    RtlInitString(&src, src_buf);
    afill(dst_buf, sizeof(dst_buf), SENTINEL_A);
    set_as(&dst, dst_buf, 0, sizeof(dst_buf));
    RtlUpperString(&dst, &src);
    assert_int_equal(dst.Length, src.Length);
    assert_int_equal(dst.MaximumLength, sizeof(dst_buf));
    assert_ptr_equal(dst.Buffer, dst_buf);
    assert_memory_equal(dst_buf, "HELLO, WORLD! \xe4Z", src.Length);
    assert_int_equal(dst_buf[src.Length], SENTINEL_A); /* no terminator */

    /* Truncated to the destination's MaximumLength. */
    afill(dst_buf, sizeof(dst_buf), SENTINEL_A);
    set_as(&dst, dst_buf, 9, 4);
    RtlUpperString(&dst, &src);
    assert_int_equal(dst.Length, 4);
    assert_int_equal(dst.MaximumLength, 4);
    assert_memory_equal(dst_buf, "HELL", 4);
    assert_int_equal(dst_buf[4], SENTINEL_A);

    /* In place. */
    RtlUpperString(&src, &src);
    assert_memory_equal(src_buf, "HELLO, WORLD! \xe4Z", src.Length);

    /* Empty source and zero-sized destination. */
    STRING empty = {0, 0, NULL};
    set_as(&dst, dst_buf, 3, 0);
    RtlUpperString(&dst, &src);
    assert_int_equal(dst.Length, 0);
    set_as(&dst, dst_buf, 3, 8);
    RtlUpperString(&dst, &empty);
    assert_int_equal(dst.Length, 0);
}

/* ---- RtlUpcaseUnicodeString / RtlDowncaseUnicodeString --------------------------------- */

static void upcase_string_caller_buffer(void **state)
{
    (void)state;
    static const WCHAR text[] = L"Mixed \u00e4\u00df\u00ff \u03b1\u03c2 \u0430\u0451 \uff41 123";
    static const WCHAR upper[] = L"MIXED \u00c4\u00df\u0178 \u0391\u03a3 \u0410\u0401 \uff21 123";
    static const WCHAR lower[] = L"mixed \u00e4\u00df\u00ff \u03b1\u03c2 \u0430\u0451 \uff41 123";
    WCHAR buf[64];
    UNICODE_STRING src, dst;

    RtlInitUnicodeString(&src, text);
    wfill(buf, 64, SENTINEL_W);
    set_us(&dst, buf, 0, sizeof(buf));
    assert_int_equal(RtlUpcaseUnicodeString(&dst, &src, FALSE), STATUS_SUCCESS);
    assert_int_equal(dst.Length, src.Length);
    assert_int_equal(dst.MaximumLength, sizeof(buf));
    assert_ptr_equal(dst.Buffer, buf);
    assert_memory_equal(buf, upper, src.Length);
    assert_int_equal(buf[src.Length / 2], SENTINEL_W); /* not terminated */

    wfill(buf, 64, SENTINEL_W);
    assert_int_equal(RtlDowncaseUnicodeString(&dst, &dst, FALSE), STATUS_SUCCESS);
    set_us(&dst, buf, 0, sizeof(buf));
    UNICODE_STRING up;
    RtlInitUnicodeString(&up, upper);
    assert_int_equal(RtlDowncaseUnicodeString(&dst, &up, FALSE), STATUS_SUCCESS);
    assert_int_equal(dst.Length, up.Length);
    /* U+00DF has no 1:1 upper; U+03A3 downcases to medial sigma. */
    WCHAR want[64];
    wcopy(want, lower, RTL_NUMBER_OF(lower));
    want[11] = 0x03c3;
    assert_memory_equal(buf, want, up.Length);
}

static void upcase_string_sizes(void **state)
{
    (void)state;
    static const struct {
        USHORT src_len, dst_max;
        NTSTATUS status;
        USHORT want_len;
    } cases[] = {
        {10, 20, STATUS_SUCCESS, 10},
        {10, 10, STATUS_SUCCESS, 10}, /* exactly fits */
        {10, 9, STATUS_BUFFER_OVERFLOW, 77},
        {10, 8, STATUS_BUFFER_OVERFLOW, 77},
        {10, 0, STATUS_BUFFER_OVERFLOW, 77},
        {0, 0, STATUS_SUCCESS, 0},
        {0, 10, STATUS_SUCCESS, 0},
        {9, 8, STATUS_SUCCESS, 8}, /* odd byte dropped: 4 characters */
        {1, 0, STATUS_SUCCESS, 0},
    };
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        WCHAR sbuf[8] = {L'a', L'b', L'c', L'd', L'e', L'f', 0, 0};
        WCHAR dbuf[16];
        UNICODE_STRING src, dst;
        wfill(dbuf, 16, SENTINEL_W);
        set_us(&src, sbuf, cases[i].src_len, 16);
        set_us(&dst, dbuf, 77, cases[i].dst_max);
        for (int pass = 0; pass < 2; pass++) {
            NTSTATUS st = pass == 0 ? RtlUpcaseUnicodeString(&dst, &src, FALSE)
                                    : RtlDowncaseUnicodeString(&dst, &src, FALSE);
            CHECK(i, st == cases[i].status);
            CHECK(i, dst.Length == cases[i].want_len);
            CHECK(i, dst.MaximumLength == cases[i].dst_max && dst.Buffer == dbuf);
            if (st != STATUS_SUCCESS) {
                for (unsigned k = 0; k < 16; k++)
                    CHECK(i, dbuf[k] == SENTINEL_W);
            } else {
                for (unsigned k = 0; k < cases[i].want_len / 2u; k++)
                    CHECK(i, dbuf[k] == (pass == 0 ? (WCHAR)(sbuf[k] - 32) : sbuf[k]));
                CHECK(i, dbuf[cases[i].want_len / 2] == SENTINEL_W);
            }
            dst.Length = 77;
        }
    }
}

static void upcase_string_allocate(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    UNICODE_STRING src, dst = {1, 2, (PWSTR)0x3};

    RtlInitUnicodeString(&src, L"alloc\u00e9");
    assert_int_equal(RtlUpcaseUnicodeString(&dst, &src, TRUE), STATUS_SUCCESS);
    assert_int_equal(dst.Length, 12);
    assert_int_equal(dst.MaximumLength, 12);
    assert_non_null(dst.Buffer);
    assert_ptr_not_equal(dst.Buffer, src.Buffer);
    assert_memory_equal(dst.Buffer, L"ALLOC\u00c9", 12);
    assert_true(ntos_test_pool_outstanding() != before);
    RtlFreeUnicodeString(&dst);
    assert_int_equal(ntos_test_pool_outstanding(), before);

    assert_int_equal(RtlDowncaseUnicodeString(&dst, &src, TRUE), STATUS_SUCCESS);
    assert_memory_equal(dst.Buffer, L"alloc\u00e9", 12);
    RtlFreeUnicodeString(&dst);

    /* Empty source still yields a buffer that can be freed. */
    UNICODE_STRING empty = {0, 0, NULL};
    assert_int_equal(RtlUpcaseUnicodeString(&dst, &empty, TRUE), STATUS_SUCCESS);
    assert_int_equal(dst.Length, 0);
    assert_int_equal(dst.MaximumLength, 0);
    assert_non_null(dst.Buffer);
    RtlFreeUnicodeString(&dst);
    assert_null(dst.Buffer);

    /* Allocating in place: the struct is both source and destination. */
    WCHAR buf[4] = {L'x', L'y', L'z', 0};
    UNICODE_STRING self;
    set_us(&self, buf, 6, 8);
    assert_int_equal(RtlUpcaseUnicodeString(&self, &self, TRUE), STATUS_SUCCESS);
    assert_ptr_not_equal(self.Buffer, buf);
    assert_memory_equal(self.Buffer, L"XYZ", 6);
    assert_memory_equal(buf, L"xyz", 6);
    RtlFreeUnicodeString(&self);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void upcase_string_no_memory(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    UNICODE_STRING src, dst = {1, 2, (PWSTR)0x3};

    RtlInitUnicodeString(&src, L"abc");
    ntos_test_pool_fail_after(0);
    assert_int_equal(RtlUpcaseUnicodeString(&dst, &src, TRUE), STATUS_NO_MEMORY);
    ntos_test_pool_fail_after(-1);
    assert_int_equal(dst.Length, 1);
    assert_int_equal(dst.MaximumLength, 2);
    assert_ptr_equal(dst.Buffer, (PWSTR)0x3);
    ntos_test_pool_fail_after(0);
    assert_int_equal(RtlDowncaseUnicodeString(&dst, &src, TRUE), STATUS_NO_MEMORY);
    ntos_test_pool_fail_after(-1);
    assert_ptr_equal(dst.Buffer, (PWSTR)0x3);
    assert_int_equal(ntos_test_pool_outstanding(), before);

    assert_int_equal(RtlUpcaseUnicodeString(NULL, &src, FALSE), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUpcaseUnicodeString(&dst, NULL, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDowncaseUnicodeString(NULL, &src, TRUE), STATUS_INVALID_PARAMETER);
}

/* ---- free / create / duplicate ----------------------------------------------------------- */

static void free_strings(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    UNICODE_STRING us;
    ANSI_STRING as;

    assert_true(RtlCreateUnicodeString(&us, L"to free"));
    RtlFreeUnicodeString(&us);
    assert_int_equal(us.Length, 0);
    assert_int_equal(us.MaximumLength, 0);
    assert_null(us.Buffer);
    RtlFreeUnicodeString(&us); /* second free is harmless */
    RtlFreeUnicodeString(NULL);

    UNICODE_STRING src;
    RtlInitUnicodeString(&src, L"ansi");
    assert_int_equal(RtlUnicodeStringToAnsiString(&as, &src, TRUE), STATUS_SUCCESS);
    assert_true(ntos_test_pool_outstanding() != before);
    RtlFreeAnsiString(&as);
    assert_int_equal(as.Length, 0);
    assert_int_equal(as.MaximumLength, 0);
    assert_null(as.Buffer);
    RtlFreeAnsiString(&as);
    RtlFreeAnsiString(NULL);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void create_unicode_string(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    static const WCHAR text[] = L"Created";
    UNICODE_STRING us = {1, 2, (PWSTR)0x3};

    assert_true(RtlCreateUnicodeString(&us, text));
    assert_int_equal(us.Length, 14);
    assert_int_equal(us.MaximumLength, 16);
    assert_ptr_not_equal(us.Buffer, text);
    assert_memory_equal(us.Buffer, text, 16); /* terminator included */
    RtlFreeUnicodeString(&us);

    assert_true(RtlCreateUnicodeString(&us, L""));
    assert_int_equal(us.Length, 0);
    assert_int_equal(us.MaximumLength, 2);
    assert_int_equal(us.Buffer[0], 0);
    RtlFreeUnicodeString(&us);

    us.Length = 1;
    us.MaximumLength = 2;
    us.Buffer = (PWSTR)0x3;
    assert_false(RtlCreateUnicodeString(&us, NULL));
    ntos_test_pool_fail_after(0);
    assert_false(RtlCreateUnicodeString(&us, text));
    ntos_test_pool_fail_after(-1);
    assert_int_equal(us.Length, 1);
    assert_ptr_equal(us.Buffer, (PWSTR)0x3);
    assert_false(RtlCreateUnicodeString(NULL, text));
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void create_unicode_string_limits(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    UNICODE_STRING us = {1, 2, (PWSTR)0x3};

    wfill(big_w, 32766, L'k');
    big_w[32766] = 0;
    assert_true(RtlCreateUnicodeString(&us, big_w));
    assert_int_equal(us.Length, 65532);
    assert_int_equal(us.MaximumLength, 65534);
    assert_int_equal(us.Buffer[32765], L'k');
    assert_int_equal(us.Buffer[32766], 0);
    RtlFreeUnicodeString(&us);

    us.Length = 1;
    us.Buffer = (PWSTR)0x3;
    wfill(big_w, 32767, L'k');
    big_w[32767] = 0;
    assert_false(RtlCreateUnicodeString(&us, big_w));
    assert_int_equal(us.Length, 1);
    assert_ptr_equal(us.Buffer, (PWSTR)0x3);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

typedef struct {
    ULONG flags;
    USHORT len, max;
    BOOLEAN null_buffer;
    NTSTATUS status;
    USHORT out_len, out_max;
    BOOLEAN out_buffer; /* a fresh buffer was allocated */
} dup_case;

static const dup_case dup_cases[] = {
    {0, 32, 34, FALSE, STATUS_SUCCESS, 32, 32, TRUE},
    {0, 32, 32, FALSE, STATUS_SUCCESS, 32, 32, TRUE},
    {1, 32, 34, FALSE, STATUS_SUCCESS, 32, 34, TRUE},
    {1, 32, 32, FALSE, STATUS_SUCCESS, 32, 34, TRUE},
    {3, 32, 32, FALSE, STATUS_SUCCESS, 32, 34, TRUE},
    {0, 32, 30, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE}, /* Length > MaximumLength */
    {1, 32, 30, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {2, 32, 34, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE}, /* ALLOCATE_NULL_STRING alone */
    {4, 32, 34, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {5, 32, 34, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {0x80000001, 32, 34, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {0xffffffff, 32, 34, FALSE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {0, 0, 2, FALSE, STATUS_SUCCESS, 0, 0, FALSE}, /* empty: no buffer */
    {0, 0, 0, FALSE, STATUS_SUCCESS, 0, 0, FALSE},
    {1, 0, 2, FALSE, STATUS_SUCCESS, 0, 0, FALSE},
    {1, 0, 0, TRUE, STATUS_SUCCESS, 0, 0, FALSE},
    {3, 0, 2, FALSE, STATUS_SUCCESS, 0, 2, TRUE}, /* empty but terminated */
    {3, 0, 0, TRUE, STATUS_SUCCESS, 0, 2, TRUE},
    {0, 0, 2, TRUE, STATUS_INVALID_PARAMETER, 0, 0, FALSE}, /* no buffer behind MaximumLength */
    {3, 0, 2, TRUE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {0, 4, 4, TRUE, STATUS_INVALID_PARAMETER, 0, 0, FALSE},
    {1, 7, 8, FALSE, STATUS_SUCCESS, 7, 9, TRUE}, /* odd length copied byte-exact */
};

static void duplicate_unicode_table(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    static const WCHAR text[] = L"This is a string";

    for (unsigned i = 0; i < RTL_NUMBER_OF(dup_cases); i++) {
        const dup_case *c = &dup_cases[i];
        WCHAR src_buf[17], old_out[4] = {L'-', L'-', L'-', L'-'};
        UNICODE_STRING in, out;
        wcopy(src_buf, text, 17);
        set_us(&in, c->null_buffer ? NULL : src_buf, c->len, c->max);
        set_us(&out, old_out, 40, 42);

        CHECK(i, RtlDuplicateUnicodeString(c->flags, &in, &out) == c->status);
        if (c->status != STATUS_SUCCESS) {
            CHECK(i, out.Length == 40 && out.MaximumLength == 42 && out.Buffer == old_out);
            continue;
        }
        CHECK(i, out.Length == c->out_len && out.MaximumLength == c->out_max);
        if (!c->out_buffer) {
            CHECK(i, out.Buffer == NULL);
            continue;
        }
        CHECK(i, out.Buffer != NULL && out.Buffer != src_buf && out.Buffer != old_out);
        const UCHAR *ob = (const UCHAR *)out.Buffer, *sb = (const UCHAR *)src_buf;
        for (unsigned b = 0; b < c->out_len; b++)
            CHECK(i, ob[b] == sb[b]);
        if (c->flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE)
            CHECK(i, ob[c->out_len] == 0 && ob[c->out_len + 1] == 0);
        RtlFreeUnicodeString(&out);
    }
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void duplicate_unicode_edges(void **state)
{
    (void)state;
    SIZE_T before = ntos_test_pool_outstanding();
    UNICODE_STRING in, out = {1, 2, (PWSTR)0x3};

    RtlInitUnicodeString(&in, L"abc");
    assert_int_equal(RtlDuplicateUnicodeString(1, NULL, &out), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDuplicateUnicodeString(1, &in, NULL), STATUS_INVALID_PARAMETER);

    ntos_test_pool_fail_after(0);
    assert_int_equal(RtlDuplicateUnicodeString(1, &in, &out), STATUS_NO_MEMORY);
    ntos_test_pool_fail_after(-1);
    assert_int_equal(out.Length, 1);
    assert_ptr_equal(out.Buffer, (PWSTR)0x3);

    /* The largest strings: a terminator no longer fits a USHORT MaximumLength. */
    wfill(big_w, 0x8000, L'm');
    set_us(&in, big_w, 65534, 65534);
    assert_int_equal(RtlDuplicateUnicodeString(0, &in, &out), STATUS_SUCCESS);
    assert_int_equal(out.Length, 65534);
    assert_int_equal(out.MaximumLength, 65534);
    assert_int_equal(out.Buffer[32766], L'm');
    RtlFreeUnicodeString(&out);
    out.Buffer = (PWSTR)0x3;
    assert_int_equal(RtlDuplicateUnicodeString(1, &in, &out), STATUS_NAME_TOO_LONG);
    assert_ptr_equal(out.Buffer, (PWSTR)0x3);
    set_us(&in, big_w, 65532, 65535);
    assert_int_equal(RtlDuplicateUnicodeString(3, &in, &out), STATUS_SUCCESS);
    assert_int_equal(out.MaximumLength, 65534);
    assert_int_equal(out.Buffer[32766], 0);
    RtlFreeUnicodeString(&out);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

/* ---- property tests against a reference ----------------------------------------------------- */

/*
 * The reference knows case only for blocks whose rule is simple and stable
 * (ASCII, Latin-1, basic Greek, basic Cyrillic), so it is independent of the
 * generated tables; random strings draw only from those blocks plus caseless
 * characters.
 */
static WCHAR ref_upcase(WCHAR c)
{
    if (c >= 'a' && c <= 'z')
        return (WCHAR)(c - 32);
    if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
        return (WCHAR)(c - 32);
    if (c == 0xff)
        return 0x178;
    if (c >= 0x3b1 && c <= 0x3c9)
        return c == 0x3c2 ? 0x3a3 : (WCHAR)(c - 32);
    if (c >= 0x430 && c <= 0x44f)
        return (WCHAR)(c - 32);
    if (c >= 0x450 && c <= 0x45f)
        return (WCHAR)(c - 0x50);
    return c;
}

static WCHAR ref_downcase(WCHAR c)
{
    if (c >= 'A' && c <= 'Z')
        return (WCHAR)(c + 32);
    if (c >= 0xc0 && c <= 0xde && c != 0xd7)
        return (WCHAR)(c + 32);
    if (c == 0x178)
        return 0xff;
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
        return (WCHAR)(c + 32);
    if (c >= 0x410 && c <= 0x42f)
        return (WCHAR)(c + 32);
    if (c >= 0x400 && c <= 0x40f)
        return (WCHAR)(c + 0x50);
    return c;
}

static WCHAR random_char(uint64_t *seed)
{
    static const WCHAR pool[] = {
        'a', 'b', 'c', 'A', 'B', 'C', 'z', 'Z', '0', '9', '_', '[', '\\', '.', ' ', 0,
        0xe4, 0xc4, 0xdf, 0xff, 0x178, 0xd7, 0xf7, 0xe0, 0xc0, 0xfe, 0xde,
        0x3b1, 0x391, 0x3c2, 0x3c3, 0x3a3, 0x3c9, 0x3a9,
        0x430, 0x410, 0x44f, 0x42f, 0x451, 0x401, 0x45f, 0x40f,
        0x4e2d, 0xfffe, 0x2603,
    };
    return pool[ntos_test_rand(seed) % RTL_NUMBER_OF(pool)];
}

/* Random pairs are built from a common stem with independent random case, so
 * that equal-ignoring-case pairs and shared prefixes are frequent. */
static void random_pair(uint64_t *seed, WCHAR *a, USHORT *alen, WCHAR *b, USHORT *blen)
{
    USHORT n1 = (USHORT)(ntos_test_rand(seed) % 10), n2 = n1;
    for (USHORT i = 0; i < n1; i++) {
        WCHAR c = random_char(seed);
        a[i] = (ntos_test_rand(seed) & 1) ? ref_upcase(c) : ref_downcase(c);
        b[i] = (ntos_test_rand(seed) & 1) ? ref_upcase(c) : ref_downcase(c);
    }
    switch (ntos_test_rand(seed) % 4) {
    case 0: /* lengthen one side */
        n2 = (USHORT)(n1 + ntos_test_rand(seed) % 3);
        for (USHORT i = n1; i < n2; i++)
            b[i] = random_char(seed);
        break;
    case 1: /* change one character */
        if (n1)
            b[ntos_test_rand(seed) % n1] = random_char(seed);
        break;
    case 2: /* shorten one side */
        if (n1)
            n2 = (USHORT)(ntos_test_rand(seed) % n1);
        break;
    default:
        break;
    }
    *alen = n1;
    *blen = n2;
}

static int ref_compare(const WCHAR *a, USHORT an, const WCHAR *b, USHORT bn, BOOLEAN ci)
{
    USHORT n = an < bn ? an : bn;
    for (USHORT i = 0; i < n; i++) {
        WCHAR x = ci ? ref_upcase(a[i]) : a[i], y = ci ? ref_upcase(b[i]) : b[i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return an == bn ? 0 : (an < bn ? -1 : 1);
}

static void property_compare_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0001cafef00dULL;
    unsigned equal_ci = 0, prefixes = 0;

    for (unsigned iter = 0; iter < 5000; iter++) {
        WCHAR a[16], b[16];
        USHORT an, bn;
        UNICODE_STRING ua, ub;
        random_pair(&seed, a, &an, b, &bn);
        set_us(&ua, a, (USHORT)(an * 2), sizeof(a));
        set_us(&ub, b, (USHORT)(bn * 2), sizeof(b));
        for (int ci = 0; ci < 2; ci++) {
            int want = ref_compare(a, an, b, bn, (BOOLEAN)ci);
            CHECK(iter, sign(RtlCompareUnicodeString(&ua, &ub, (BOOLEAN)ci)) == want);
            CHECK(iter, sign(RtlCompareUnicodeString(&ub, &ua, (BOOLEAN)ci)) == -want);
            CHECK(iter, sign(RtlCompareUnicodeStrings(a, an, b, bn, (BOOLEAN)ci)) == want);
            CHECK(iter, RtlEqualUnicodeString(&ua, &ub, (BOOLEAN)ci) == (want == 0));
            BOOLEAN pre = an <= bn && ref_compare(a, an, b, an, (BOOLEAN)ci) == 0;
            CHECK(iter, RtlPrefixUnicodeString(&ua, &ub, (BOOLEAN)ci) == pre);
            if (ci && want == 0)
                equal_ci++;
            if (ci && pre && an < bn)
                prefixes++;
        }
        /* Equal ignoring case <=> equal after upcasing both. */
        WCHAR ba[16], bb[16];
        UNICODE_STRING xa, xb;
        set_us(&xa, ba, 0, sizeof(ba));
        set_us(&xb, bb, 0, sizeof(bb));
        CHECK(iter, RtlUpcaseUnicodeString(&xa, &ua, FALSE) == STATUS_SUCCESS);
        CHECK(iter, RtlUpcaseUnicodeString(&xb, &ub, FALSE) == STATUS_SUCCESS);
        CHECK(iter, RtlEqualUnicodeString(&xa, &xb, FALSE) == RtlEqualUnicodeString(&ua, &ub, TRUE));
        /* Equal strings hash equally. */
        if (RtlEqualUnicodeString(&ua, &ub, TRUE)) {
            ULONG ha, hb;
            CHECK(iter, RtlHashUnicodeString(&ua, TRUE, HASH_STRING_ALGORITHM_X65599, &ha) == STATUS_SUCCESS);
            CHECK(iter, RtlHashUnicodeString(&ub, TRUE, HASH_STRING_ALGORITHM_X65599, &hb) == STATUS_SUCCESS);
            CHECK(iter, ha == hb);
        }
    }
    /* The generator must actually exercise the interesting outcomes. */
    assert_true(equal_ci > 500);
    assert_true(prefixes > 200);
}

/* Ordering is a total order: antisymmetric and transitive over random triples. */
static void property_compare_order(void **state)
{
    (void)state;
    uint64_t seed = 0x0dd5eed5ULL;
    for (unsigned iter = 0; iter < 3000; iter++) {
        WCHAR s[3][16], scratch[16];
        USHORT n[3], dummy;
        UNICODE_STRING u[3];
        random_pair(&seed, s[0], &n[0], s[1], &n[1]);
        random_pair(&seed, s[2], &n[2], scratch, &dummy);
        for (int k = 0; k < 3; k++)
            set_us(&u[k], s[k], (USHORT)(n[k] * 2), sizeof(s[k]));
        for (int ci = 0; ci < 2; ci++) {
            int ab = sign(RtlCompareUnicodeString(&u[0], &u[1], (BOOLEAN)ci));
            int bc = sign(RtlCompareUnicodeString(&u[1], &u[2], (BOOLEAN)ci));
            int ac = sign(RtlCompareUnicodeString(&u[0], &u[2], (BOOLEAN)ci));
            if (ab <= 0 && bc <= 0)
                CHECK(iter, ac <= 0);
            if (ab >= 0 && bc >= 0)
                CHECK(iter, ac >= 0);
        }
    }
}

static void property_upcase_downcase_random(void **state)
{
    (void)state;
    uint64_t seed = 0x1234567887654321ULL;
    for (unsigned iter = 0; iter < 3000; iter++) {
        WCHAR src[32], up[32], down[32];
        USHORT n = (USHORT)(ntos_test_rand(&seed) % 32);
        for (USHORT i = 0; i < n; i++)
            src[i] = random_char(&seed);
        UNICODE_STRING us, uu, ud;
        set_us(&us, src, (USHORT)(n * 2), sizeof(src));
        set_us(&uu, up, 0, sizeof(up));
        set_us(&ud, down, 0, sizeof(down));
        CHECK(iter, RtlUpcaseUnicodeString(&uu, &us, FALSE) == STATUS_SUCCESS);
        CHECK(iter, RtlDowncaseUnicodeString(&ud, &us, FALSE) == STATUS_SUCCESS);
        CHECK(iter, uu.Length == us.Length && ud.Length == us.Length);
        for (USHORT i = 0; i < n; i++) {
            CHECK(iter, up[i] == ref_upcase(src[i]));
            CHECK(iter, down[i] == ref_downcase(src[i]));
        }
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(init_unicode_normal),
    cmocka_unit_test(init_unicode_null),
    cmocka_unit_test(init_unicode_empty),
    cmocka_unit_test(init_unicode_limits),
    cmocka_unit_test(init_unicode_ex),
    cmocka_unit_test(init_unicode_ex_limits),
    cmocka_unit_test(init_ansi_basic),
    cmocka_unit_test(init_ansi_limits),
    cmocka_unit_test(init_ansi_ex_null),
    cmocka_unit_test(copy_unicode_table),
    cmocka_unit_test(copy_unicode_null_source),
    cmocka_unit_test(copy_unicode_overlap),
    cmocka_unit_test(copy_string_table),
    cmocka_unit_test(append_unicode_string_table),
    cmocka_unit_test(append_unicode_string_self_and_nuls),
    cmocka_unit_test(append_unicode_string_ushort_boundary),
    cmocka_unit_test(append_unicode_to_string_table),
    cmocka_unit_test(append_unicode_to_string_empty_dest),
    cmocka_unit_test(append_string_table),
    cmocka_unit_test(compare_unicode_table),
    cmocka_unit_test(compare_unicode_counted),
    cmocka_unit_test(compare_string_table),
    cmocka_unit_test(upper_char_all_bytes),
    cmocka_unit_test(upper_string_cases),
    cmocka_unit_test(upcase_string_caller_buffer),
    cmocka_unit_test(upcase_string_sizes),
    cmocka_unit_test(upcase_string_allocate),
    cmocka_unit_test(upcase_string_no_memory),
    cmocka_unit_test(free_strings),
    cmocka_unit_test(create_unicode_string),
    cmocka_unit_test(create_unicode_string_limits),
    cmocka_unit_test(duplicate_unicode_table),
    cmocka_unit_test(duplicate_unicode_edges),
    cmocka_unit_test(property_compare_random),
    cmocka_unit_test(property_compare_order),
    cmocka_unit_test(property_upcase_downcase_random),
};

NTOS_TEST_GROUP(rtl_string, tests, group_setup, NULL);
