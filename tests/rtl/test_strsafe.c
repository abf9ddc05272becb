/*
 * ntstrsafe (strsafe.c): RtlStringCch/Cb Copy, CopyN, Cat, CatN, Printf,
 * VPrintf, Length and their Ex forms in A and W, and the UNICODE_STRING
 * functions. Tables cover success, exact fit, one short (STATUS_BUFFER_OVERFLOW
 * with a truncated, terminated result), the invalid parameters the WDK lists,
 * every Ex flag and the out parameters.
 */
#include "crt_test_util.h"
#include <ntos/ntstrsafe.h>

#define INVALID STATUS_INVALID_PARAMETER
#define OVERFLOW STATUS_BUFFER_OVERFLOW

static void test_strsafe_copy_cat(void **state)
{
    static const struct {
        int op; /* 0 copy, 1 copyN, 2 cat, 3 catN */
        const char *start;
        SIZE_T cch;
        const char *src;
        SIZE_T n;
        NTSTATUS status;
        const char *expect;
    } t[] = {
        {0, "", 6, "hello", 0, STATUS_SUCCESS, "hello"},   /* exact fit */
        {0, "", 5, "hello", 0, OVERFLOW, "hell"},          /* one short */
        {0, "", 1, "hello", 0, OVERFLOW, ""},
        {0, "", 6, "", 0, STATUS_SUCCESS, ""},
        {0, "old", 0, "x", 0, INVALID, "old"},             /* cchDest 0 */
        {0, "old", NTSTRSAFE_MAX_CCH + 1ULL, "x", 0, INVALID, "old"},
        {0, "old", 6, NULL, 0, INVALID, ""},               /* NULL source */
        {1, "", 6, "hello", 3, STATUS_SUCCESS, "hel"},
        {1, "", 6, "hello", 5, STATUS_SUCCESS, "hello"},
        {1, "", 4, "hello", 3, STATUS_SUCCESS, "hel"},
        {1, "", 4, "hello", 4, OVERFLOW, "hel"},
        {1, "", 6, "hi", 99, STATUS_SUCCESS, "hi"},
        {1, "", 6, "hi", 0, STATUS_SUCCESS, ""},
        {1, "old", 6, "hi", NTSTRSAFE_MAX_CCH, INVALID, ""},
        {2, "ab", 6, "cde", 0, STATUS_SUCCESS, "abcde"},
        {2, "ab", 5, "cde", 0, OVERFLOW, "abcd"},
        {2, "ab", 3, "", 0, STATUS_SUCCESS, "ab"},
        {2, "ab", 3, "c", 0, OVERFLOW, "ab"},
        {2, "ab", 2, "c", 0, INVALID, "ab"},               /* not terminated within cchDest */
        {2, "ab", 6, NULL, 0, INVALID, "ab"},              /* Cat keeps the original */
        {3, "ab", 6, "cdefg", 2, STATUS_SUCCESS, "abcd"},
        {3, "ab", 6, "cdefg", 4, OVERFLOW, "abcde"},
        {3, "ab", 6, "cdefg", 0, STATUS_SUCCESS, "ab"},
    };
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        char a[12];
        WCHAR w[12];
        NTSTATUS sa, sw;
        WCHAR wsrc[12];
        SIZE_T cch = t[i].cch;
        const WCHAR *ws = NULL;

        if (t[i].src != NULL) {
            for (SIZE_T j = 0; j <= RtlCrt_strlen(t[i].src); j++)
                wsrc[j] = (WCHAR)t[i].src[j];
            ws = wsrc;
        }
        for (int pass = 0; pass < 2; pass++) {
            /* pass 0: Cch forms; pass 1: Cb forms with byte counts. */
            SIZE_T mul = pass ? 1 : 0;
            RtlCrt_memset(a, 'x', sizeof(a));
            RtlCrt_strcpy(a, t[i].start);
            for (int j = 0; j < 12; j++)
                w[j] = L'x';
            for (SIZE_T j = 0; j <= RtlCrt_strlen(t[i].start); j++)
                w[j] = (WCHAR)t[i].start[j];
            switch (t[i].op) {
            case 0:
                sa = mul ? RtlStringCbCopyA(a, cch, t[i].src) : RtlStringCchCopyA(a, cch, t[i].src);
                sw = mul ? RtlStringCbCopyW(w, cch * 2, ws) : RtlStringCchCopyW(w, cch, ws);
                break;
            case 1:
                sa = mul ? RtlStringCbCopyNA(a, cch, t[i].src, t[i].n) : RtlStringCchCopyNA(a, cch, t[i].src, t[i].n);
                sw = mul ? RtlStringCbCopyNW(w, cch * 2, ws, t[i].n * 2) : RtlStringCchCopyNW(w, cch, ws, t[i].n);
                break;
            case 2:
                sa = mul ? RtlStringCbCatA(a, cch, t[i].src) : RtlStringCchCatA(a, cch, t[i].src);
                sw = mul ? RtlStringCbCatW(w, cch * 2, ws) : RtlStringCchCatW(w, cch, ws);
                break;
            default:
                sa = mul ? RtlStringCbCatNA(a, cch, t[i].src, t[i].n) : RtlStringCchCatNA(a, cch, t[i].src, t[i].n);
                sw = mul ? RtlStringCbCatNW(w, cch * 2, ws, t[i].n * 2) : RtlStringCchCatNW(w, cch, ws, t[i].n);
                break;
            }
            if (sa != t[i].status || sw != t[i].status)
                fail_msg("case %u pass %d: status 0x%x / 0x%x, expected 0x%x", (unsigned)i, pass,
                         (unsigned)sa, (unsigned)sw, (unsigned)t[i].status);
            assert_string_equal(a, t[i].expect);
            for (SIZE_T j = 0; j <= RtlCrt_strlen(t[i].expect); j++)
                assert_int_equal(w[j], (WCHAR)t[i].expect[j]);
            /* Nothing is written at or past cchDest. */
            if (t[i].cch < 12 && t[i].cch > RtlCrt_strlen(t[i].start)) {
                assert_int_equal(a[t[i].cch], 'x');
                assert_int_equal(w[t[i].cch], L'x');
            }
        }
    }
}

static void test_strsafe_ex_flags(void **state)
{
    char a[8];
    WCHAR w[8];
    PSTR end;
    PWSTR wend;
    SIZE_T rem;
    (void)state;

    /* Out parameters on success and on overflow. */
    assert_int_equal(RtlStringCchCopyExA(a, 8, "abc", &end, &rem, 0), STATUS_SUCCESS);
    assert_ptr_equal(end, a + 3);
    assert_int_equal(rem, 5);
    assert_int_equal(RtlStringCchCatExA(a, 8, "defghij", &end, &rem, 0), OVERFLOW);
    assert_string_equal(a, "abcdefg");
    assert_ptr_equal(end, a + 7);
    assert_int_equal(rem, 1);
    /* FILL_BEHIND_NULL: the tail after the NUL gets the fill byte. */
    assert_int_equal(RtlStringCchCopyExA(a, 8, "ab", &end, &rem, STRSAFE_FILL_BYTE('*')), STATUS_SUCCESS);
    assert_memory_equal(a, "ab\0*****", 8);
    assert_int_equal(rem, 6);
    /* FILL_ON_FAILURE: the whole buffer, terminated in its last character. */
    assert_int_equal(RtlStringCchCopyExA(a, 8, "too long!", &end, &rem, STRSAFE_FAILURE_BYTE('#')), OVERFLOW);
    assert_memory_equal(a, "#######\0", 8);
    assert_ptr_equal(end, a + 7);
    assert_int_equal(rem, 1);
    assert_int_equal(RtlStringCchCopyExA(a, 8, "too long!", &end, &rem, STRSAFE_FAILURE_BYTE(0)), OVERFLOW);
    assert_memory_equal(a, "\0\0\0\0\0\0\0\0", 8);
    assert_ptr_equal(end, a);
    assert_int_equal(rem, 8);
    /* NULL_ON_FAILURE empties; NO_TRUNCATION keeps Cat's original string. */
    RtlCrt_strcpy(a, "ab");
    assert_int_equal(RtlStringCchCatExA(a, 8, "cdefgh", &end, &rem, STRSAFE_NULL_ON_FAILURE), OVERFLOW);
    assert_string_equal(a, "");
    assert_int_equal(rem, 8);
    RtlCrt_strcpy(a, "ab");
    assert_int_equal(RtlStringCchCatExA(a, 8, "cdefgh", &end, &rem, STRSAFE_NO_TRUNCATION), OVERFLOW);
    assert_string_equal(a, "ab");
    assert_ptr_equal(end, a + 2);
    assert_int_equal(rem, 6);
    assert_int_equal(RtlStringCchCopyExA(a, 8, "12345678", NULL, NULL, STRSAFE_NO_TRUNCATION), OVERFLOW);
    assert_string_equal(a, "");
    /* IGNORE_NULLS: NULL source is ""; NULL destination with cch 0. */
    RtlCrt_strcpy(a, "ab");
    assert_int_equal(RtlStringCchCatExA(a, 8, NULL, &end, &rem, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    assert_string_equal(a, "ab");
    assert_int_equal(RtlStringCchCopyExA(NULL, 0, NULL, NULL, NULL, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    assert_int_equal(RtlStringCchCopyExA(NULL, 0, "x", NULL, NULL, STRSAFE_IGNORE_NULLS), INVALID);
    assert_int_equal(RtlStringCchCopyExA(a, 0, "x", NULL, NULL, STRSAFE_IGNORE_NULLS), OVERFLOW);
    assert_int_equal(RtlStringCchCopyExA(NULL, 4, "x", NULL, NULL, STRSAFE_IGNORE_NULLS), INVALID);
    assert_int_equal(RtlStringCchCopyExA(a, 8, NULL, NULL, NULL, 0), INVALID);
    /* Unknown flags are invalid and leave an empty destination. */
    RtlCrt_strcpy(a, "ab");
    assert_int_equal(RtlStringCchCopyExA(a, 8, "x", NULL, NULL, 0x80000000u), INVALID);
    assert_string_equal(a, "");
    /* Failure flags also apply to invalid parameters once the destination is valid. */
    assert_int_equal(RtlStringCchCopyExA(a, 8, NULL, NULL, NULL, STRSAFE_FAILURE_BYTE('-')), INVALID);
    assert_memory_equal(a, "-------\0", 8);

    /* W, with byte counts: pcbRemaining includes an odd trailing byte. */
    assert_int_equal(RtlStringCbCopyExW(w, 15, L"\x00c4\xd83d\xde00", &wend, &rem, 0), STATUS_SUCCESS);
    assert_wstring_equal(w, L"\x00c4\xd83d\xde00");
    assert_ptr_equal(wend, w + 3);
    assert_int_equal(rem, (7 - 3) * 2 + 1);
    assert_int_equal(RtlStringCbCatExW(w, 16, L"abcdef", &wend, &rem, STRSAFE_FILL_BYTE(0)), OVERFLOW);
    assert_wstring_equal(w, L"\x00c4\xd83d\xde00" L"abcd");
    assert_int_equal(rem, 2);
    assert_int_equal(RtlStringCchCopyNExW(w, 8, L"xyz", 2, &wend, &rem, STRSAFE_FILL_BYTE(0xff)), STATUS_SUCCESS);
    assert_int_equal(w[2], 0);
    assert_int_equal(w[3], 0xffff);
    assert_int_equal(w[7], 0xffff);
    assert_int_equal(RtlStringCchCatNExW(w, 8, L"12345", 3, &wend, &rem, 0), STATUS_SUCCESS);
    assert_wstring_equal(w, L"xy123");
    assert_int_equal(RtlStringCbCopyNExW(w, 16, L"abc", 3, &wend, &rem, 0), STATUS_SUCCESS);
    assert_wstring_equal(w, L"a"); /* 3 bytes = 1 character */
    assert_int_equal(rem, 14);
    assert_int_equal(RtlStringCbCatNExW(w, 16, L"bcd", 4, NULL, NULL, 0), STATUS_SUCCESS);
    assert_wstring_equal(w, L"abc");
    assert_int_equal(RtlStringCbCopyExA(a, 8, "12345678", &end, &rem, 0), OVERFLOW);
    assert_int_equal(rem, 1);
    assert_int_equal(RtlStringCbCatExA(a, 8, "x", &end, &rem, 0), OVERFLOW);
    assert_int_equal(RtlStringCbCopyNExA(a, 8, "12345678", 3, &end, &rem, 0), STATUS_SUCCESS);
    assert_string_equal(a, "123");
    assert_int_equal(RtlStringCbCatNExA(a, 8, "45678", 2, &end, &rem, 0), STATUS_SUCCESS);
    assert_string_equal(a, "12345");
    assert_int_equal(rem, 3);
}

static void test_strsafe_printf(void **state)
{
    char a[8];
    WCHAR w[8];
    PSTR end;
    PWSTR wend;
    SIZE_T rem;
    UNICODE_STRING us = {4, 4, (PWSTR)L"\x03a9z"};
    (void)state;

    assert_int_equal(RtlStringCchPrintfA(a, 8, "%s=%d", "ab", 1234), STATUS_SUCCESS); /* exact fit */
    assert_string_equal(a, "ab=1234");
    assert_int_equal(RtlStringCchPrintfA(a, 8, "%s=%d", "ab", 12345), OVERFLOW);      /* one short */
    assert_string_equal(a, "ab=1234");
    assert_int_equal(RtlStringCchPrintfA(a, 0, "x"), INVALID);
    assert_int_equal(RtlStringCchPrintfA(a, 8, NULL), INVALID);
    assert_int_equal(RtlStringCbPrintfA(a, 4, "%I64x", 0x12345ULL), OVERFLOW);
    assert_string_equal(a, "123");
    assert_int_equal(RtlStringCchPrintfW(w, 8, L"%wZ|%S", &us, "nb"), STATUS_SUCCESS);
    assert_wstring_equal(w, L"\x03a9z|nb");
    assert_int_equal(RtlStringCbPrintfW(w, 9, L"%ws", L"abcdef"), OVERFLOW);
    assert_wstring_equal(w, L"abc");
    assert_int_equal(RtlStringCchPrintfExA(a, 8, &end, &rem, STRSAFE_FILL_BYTE('.'), "%c", 'q'), STATUS_SUCCESS);
    assert_memory_equal(a, "q\0......", 8);
    assert_ptr_equal(end, a + 1);
    assert_int_equal(rem, 7);
    assert_int_equal(RtlStringCchPrintfExA(a, 8, &end, &rem, STRSAFE_NO_TRUNCATION, "%s", "overflowing"), OVERFLOW);
    assert_string_equal(a, "");
    assert_int_equal(RtlStringCbPrintfExW(w, 16, &wend, &rem, 0, L"%d", -7), STATUS_SUCCESS);
    assert_ptr_equal(wend, w + 2);
    assert_int_equal(rem, 12);
    assert_int_equal(RtlStringCchPrintfExW(NULL, 0, NULL, NULL, STRSAFE_IGNORE_NULLS, L""), STATUS_SUCCESS);
    assert_int_equal(RtlStringCchPrintfExW(w, 8, NULL, NULL, STRSAFE_IGNORE_NULLS, NULL), STATUS_SUCCESS);
    assert_wstring_equal(w, L"");
    assert_int_equal(RtlStringCbPrintfExA(a, 8, &end, &rem, STRSAFE_NULL_ON_FAILURE, "%s", "123456789"), OVERFLOW);
    assert_string_equal(a, "");
}

static NTSTATUS NTAPI call_vprintf(int form, PVOID buf, SIZE_T size, const VOID *fmt, ...)
{
    NT_VA_LIST ap;
    NTSTATUS s;
    PSTR end;
    PWSTR wend;
    SIZE_T rem;

    NT_VA_START(ap, fmt);
    switch (form) {
    case 0: s = RtlStringCchVPrintfA(buf, size, fmt, ap); break;
    case 1: s = RtlStringCbVPrintfA(buf, size, fmt, ap); break;
    case 2: s = RtlStringCchVPrintfW(buf, size, fmt, ap); break;
    case 3: s = RtlStringCbVPrintfW(buf, size, fmt, ap); break;
    case 4: s = RtlStringCchVPrintfExA(buf, size, &end, &rem, 0, fmt, ap); break;
    case 5: s = RtlStringCbVPrintfExA(buf, size, &end, &rem, 0, fmt, ap); break;
    case 6: s = RtlStringCchVPrintfExW(buf, size, &wend, &rem, 0, fmt, ap); break;
    case 7: s = RtlStringCbVPrintfExW(buf, size, &wend, &rem, 0, fmt, ap); break;
    default: s = RtlUnicodeStringVPrintf(buf, fmt, ap); break;
    }
    NT_VA_END(ap);
    return s;
}

static void test_strsafe_vprintf_length(void **state)
{
    char a[8];
    WCHAR w[8];
    SIZE_T len;
    static const char unterminated[3] = {'a', 'b', 'c'};
    (void)state;

    for (int f = 0; f < 8; f++) {
        BOOLEAN wide = (f & 2) != 0, bytes = (f & 1) != 0;
        SIZE_T size = bytes ? (wide ? 8 : 4) : 4; /* 4 characters */
        NTSTATUS s = call_vprintf(f, wide ? (PVOID)w : (PVOID)a, size, wide ? (const VOID *)L"%d" : "%d", 12345);
        assert_int_equal(s, OVERFLOW);
        if (wide)
            assert_wstring_equal(w, L"123");
        else
            assert_string_equal(a, "123");
    }
    assert_int_equal(RtlStringCchLengthA("abc", 4, &len), STATUS_SUCCESS);
    assert_int_equal(len, 3);
    assert_int_equal(RtlStringCchLengthA("abc", 3, &len), INVALID); /* no NUL within cchMax */
    assert_int_equal(len, 0);
    assert_int_equal(RtlStringCchLengthA(unterminated, 3, NULL), INVALID);
    assert_int_equal(RtlStringCchLengthA(NULL, 3, &len), INVALID);
    assert_int_equal(RtlStringCchLengthA("", 1, &len), STATUS_SUCCESS);
    assert_int_equal(len, 0);
    assert_int_equal(RtlStringCchLengthA("a", NTSTRSAFE_MAX_CCH + 1ULL, &len), INVALID);
    assert_int_equal(RtlStringCbLengthW(L"\xd83d\xde00", 6, &len), STATUS_SUCCESS);
    assert_int_equal(len, 4);
    assert_int_equal(RtlStringCbLengthW(L"\xd83d\xde00", 5, &len), INVALID);
    assert_int_equal(RtlStringCchLengthW(L"ab", 3, &len), STATUS_SUCCESS);
    assert_int_equal(len, 2);
    assert_int_equal(RtlStringCbLengthA("ab", 3, &len), STATUS_SUCCESS);
    assert_int_equal(len, 2);
}

static void test_strsafe_unicode_string(void **state)
{
    WCHAR buf[6];
    UNICODE_STRING d = {0, sizeof(buf), buf}, s;
    UNICODE_STRING bad = {3, 8, buf};
    (void)state;

    assert_int_equal(RtlUnicodeStringInit(&s, L"h\x00e9llo"), STATUS_SUCCESS);
    assert_int_equal(s.Length, 10);
    assert_int_equal(s.MaximumLength, 12);
    assert_int_equal(RtlUnicodeStringInit(&s, NULL), STATUS_SUCCESS);
    assert_int_equal(s.Length, 0);
    assert_null(s.Buffer);
    assert_int_equal(RtlUnicodeStringInitEx(&s, L"x", 0x80000000u), INVALID);
    assert_int_equal(RtlUnicodeStringInit(NULL, L"x"), INVALID);

    assert_int_equal(RtlUnicodeStringValidate(&d), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringValidate(&bad), INVALID);
    bad.Length = 10;
    assert_int_equal(RtlUnicodeStringValidate(&bad), INVALID); /* Length > MaximumLength */
    UNICODE_STRING nullbuf = {0, 2, NULL};
    assert_int_equal(RtlUnicodeStringValidate(&nullbuf), INVALID);

    assert_int_equal(RtlUnicodeStringCopyString(&d, L"abc"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 6);
    assert_memory_equal(buf, L"abc", 6);
    assert_int_equal(RtlUnicodeStringCatString(&d, L"\xd83d\xde00"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 10);
    assert_int_equal(RtlUnicodeStringCatString(&d, L"!?"), OVERFLOW); /* fills to MaximumLength */
    assert_int_equal(d.Length, 12);
    assert_int_equal(buf[5], L'!');
    assert_int_equal(RtlUnicodeStringInit(&s, L"0123456789"), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringCopy(&d, &s), OVERFLOW);
    assert_int_equal(d.Length, 12);
    assert_memory_equal(buf, L"012345", 12);
    assert_int_equal(RtlUnicodeStringInit(&s, L"xy"), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringCopy(&d, &s), STATUS_SUCCESS); /* exact: no terminator needed */
    assert_int_equal(d.Length, 4);
    assert_int_equal(RtlUnicodeStringCat(&d, &s), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringCat(&d, &s), STATUS_SUCCESS); /* exact fit */
    assert_int_equal(d.Length, 12);
    assert_int_equal(RtlUnicodeStringCat(&d, &s), OVERFLOW);
    assert_int_equal(RtlUnicodeStringCopyString(&d, NULL), INVALID);
    assert_int_equal(RtlUnicodeStringCopy(&d, NULL), INVALID);

    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%d-%s", 42, L"ab"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 10);
    assert_memory_equal(buf, L"42-ab", 10);
    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%d-%s", 42, L"abc"), STATUS_SUCCESS); /* 6 = exact */
    assert_int_equal(d.Length, 12);
    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%d-%s", 42, L"abcd"), OVERFLOW);
    assert_int_equal(d.Length, 12);
    assert_memory_equal(buf, L"42-abc", 12);
    assert_int_equal(call_vprintf(8, &d, 0, L"%wZ", &s), STATUS_SUCCESS);
    assert_int_equal(d.Length, 4);
    UNICODE_STRING empty = {0, 0, NULL};
    assert_int_equal(RtlUnicodeStringPrintf(&empty, L"x"), OVERFLOW);
    assert_int_equal(RtlUnicodeStringPrintf(&empty, L""), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_strsafe_copy_cat),
    cmocka_unit_test(test_strsafe_ex_flags),
    cmocka_unit_test(test_strsafe_printf),
    cmocka_unit_test(test_strsafe_vprintf_length),
    cmocka_unit_test(test_strsafe_unicode_string),
};

NTOS_TEST_GROUP(rtl_strsafe, tests, NULL, NULL);
