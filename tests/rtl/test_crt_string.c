/*
 * The CRT's memory, string, character and secure-string routines (crtmem.c,
 * crtstr.c, crtwcs.c), called through their ms_abi entry points, checked
 * against tables of expected results: normal, empty, exact fit, one short,
 * truncation, wide (non-ASCII UTF-16 and surrogates) and invalid-parameter
 * cases; plus the NTOS_CRT_EXPORTS list itself.
 */
#include "crt_test_util.h"

/* ---- the export list ------------------------------------------------------------ */

typedef struct {
    const char *Name;
    const char *Symbol;
    const void *Address;
} CRT_EXPORT;

#define CRT_EXPORT_ENTRY(name, symbol) {name, #symbol, (const void *)symbol},
static const CRT_EXPORT Exports[] = {NTOS_CRT_EXPORTS(CRT_EXPORT_ENTRY)};

static void test_crt_exports(void **state)
{
    (void)state;
    assert_true(RTL_NUMBER_OF(Exports) >= 90);
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(Exports); i++) {
        const char *n = Exports[i].Name, *s = Exports[i].Symbol;
        assert_non_null(Exports[i].Address);
        assert_true(n[0] != '\0');
        /* The convention: internal symbol = "RtlCrt_" + exported name. */
        assert_int_equal(RtlCrt_strncmp(s, "RtlCrt_", 7), 0);
        assert_string_equal(s + 7, n);
        for (SIZE_T j = 0; j < i; j++) {
            if (RtlCrt_strcmp(Exports[j].Name, n) == 0)
                fail_msg("export %s listed twice", n);
            assert_ptr_not_equal(Exports[j].Address, Exports[i].Address);
        }
    }
}

/* ---- memory ------------------------------------------------------------------------ */

static void test_crt_memory(void **state)
{
    UCHAR b[16], c[16];
    (void)state;

    for (int i = 0; i < 16; i++)
        b[i] = (UCHAR)i;
    assert_ptr_equal(RtlCrt_memcpy(c, b, 16), c);
    assert_memory_equal(c, b, 16);
    /* Overlap in both directions behaves as memmove. */
    assert_ptr_equal(RtlCrt_memmove(b + 2, b, 10), b + 2);
    assert_int_equal(b[2], 0);
    assert_int_equal(b[11], 9);
    RtlCrt_memcpy(c, c + 3, 10);
    assert_int_equal(c[0], 3);
    assert_int_equal(c[9], 12);
    /* memset stores the low byte of its int. */
    assert_ptr_equal(RtlCrt_memset(b, 0x1ab, 5), b);
    assert_int_equal(b[0], 0xab);
    assert_int_equal(b[4], 0xab);
    assert_int_equal(b[5], 3);
    RtlCrt_memset(b, 0, 0);
    assert_int_equal(b[0], 0xab);

    static const struct {
        const char *a, *b;
        SIZE_T n;
        int sign;
    } cmp[] = {
        {"abc", "abc", 3, 0}, {"abc", "abd", 3, -1}, {"abd", "abc", 3, 1}, {"abc", "abd", 2, 0},
        {"", "", 0, 0},       {"\x80", "\x01", 1, 1}, /* bytes are unsigned */
        {"a\0b", "a\0c", 3, -1},                     /* NULs are ordinary bytes */
    };
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(cmp); i++)
        assert_int_equal(crt_test_sign(RtlCrt_memcmp(cmp[i].a, cmp[i].b, cmp[i].n)), cmp[i].sign);

    static const char hay[] = "abc\0\xff" "d";
    assert_ptr_equal(RtlCrt_memchr(hay, 'c', 6), hay + 2);
    assert_ptr_equal(RtlCrt_memchr(hay, 0, 6), hay + 3);
    assert_ptr_equal(RtlCrt_memchr(hay, -1, 6), hay + 4); /* (unsigned char)-1 */
    assert_ptr_equal(RtlCrt_memchr(hay, 0x1ff, 6), hay + 4);
    assert_ptr_equal(RtlCrt_memchr(hay, 'd', 5), NULL);
    assert_ptr_equal(RtlCrt_memchr(NULL, 'a', 0), NULL);
}

static void test_crt_memory_secure(void **state)
{
    UCHAR d[8], s[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    (void)state;

    assert_int_equal(RtlCrt_memcpy_s(d, 8, s, 8), 0);
    assert_memory_equal(d, s, 8);
    assert_int_equal(RtlCrt_memmove_s(d + 1, 7, d, 7), 0);
    assert_int_equal(d[1], 1);
    assert_int_equal(d[7], 7);
    /* Count 0 succeeds whatever the pointers. */
    assert_int_equal(RtlCrt_memcpy_s(NULL, 0, NULL, 0), 0);
    assert_int_equal(RtlCrt_memmove_s(NULL, 0, NULL, 0), 0);

    expect_invalid_parameter(RtlCrt_memcpy_s(NULL, 8, s, 1));
    /* memcpy_s zeroes the destination on a NULL source or a short buffer ... */
    RtlCrt_memset(d, 0x55, 8);
    expect_invalid_parameter(RtlCrt_memcpy_s(d, 8, NULL, 1));
    for (int i = 0; i < 8; i++)
        assert_int_equal(d[i], 0);
    RtlCrt_memset(d, 0x55, 8);
    expect_invalid_parameter(RtlCrt_memcpy_s(d, 7, s, 8));
    for (int i = 0; i < 7; i++)
        assert_int_equal(d[i], 0);
    assert_int_equal(d[7], 0x55);
    /* ... memmove_s leaves it alone. */
    RtlCrt_memset(d, 0x55, 8);
    expect_invalid_parameter(RtlCrt_memmove_s(d, 7, s, 8));
    expect_invalid_parameter(RtlCrt_memmove_s(d, 8, NULL, 8));
    expect_invalid_parameter(RtlCrt_memmove_s(NULL, 8, s, 8));
    for (int i = 0; i < 8; i++)
        assert_int_equal(d[i], 0x55);
}

/* ---- narrow strings ------------------------------------------------------------------- */

static void test_crt_str_length_copy(void **state)
{
    char b[16];
    static const char unterminated[4] = {'a', 'b', 'c', 'd'};
    (void)state;

    assert_int_equal(RtlCrt_strlen(""), 0);
    assert_int_equal(RtlCrt_strlen("hello"), 5);
    assert_int_equal(RtlCrt_strnlen("hello", 3), 3);
    assert_int_equal(RtlCrt_strnlen("hello", 5), 5);
    assert_int_equal(RtlCrt_strnlen("hello", 99), 5);
    assert_int_equal(RtlCrt_strnlen(unterminated, 4), 4); /* never reads [4] */
    assert_int_equal(RtlCrt_strnlen(NULL, 0), 0);

    assert_ptr_equal(RtlCrt_strcpy(b, "abc"), b);
    assert_string_equal(b, "abc");
    assert_ptr_equal(RtlCrt_strcat(b, "de"), b);
    assert_string_equal(b, "abcde");
    RtlCrt_strcat(b, "");
    assert_string_equal(b, "abcde");

    /* strncpy pads with NULs to Count and does not terminate a long source. */
    RtlCrt_memset(b, 'x', sizeof(b));
    assert_ptr_equal(RtlCrt_strncpy(b, "ab", 5), b);
    assert_memory_equal(b, "ab\0\0\0x", 6);
    RtlCrt_memset(b, 'x', sizeof(b));
    RtlCrt_strncpy(b, "abcdef", 3);
    assert_memory_equal(b, "abcx", 4);
    RtlCrt_strncpy(b, "abc", 3); /* exact fit: still no terminator */
    assert_memory_equal(b, "abcx", 4);

    /* strncat appends at most Count and always terminates. */
    RtlCrt_strcpy(b, "ab");
    RtlCrt_strncat(b, "cdef", 2);
    assert_string_equal(b, "abcd");
    RtlCrt_strncat(b, "xy", 10);
    assert_string_equal(b, "abcdxy");
    RtlCrt_strncat(b, "zz", 0);
    assert_string_equal(b, "abcdxy");
}

static void test_crt_str_compare(void **state)
{
    static const struct {
        const char *a, *b;
        SIZE_T n;
        int cmp, ncmp, icmp, nicmp;
    } t[] = {
        {"abc", "abc", 3, 0, 0, 0, 0},
        {"abc", "abd", 2, -1, 0, -1, 0},
        {"abc", "ab", 2, 1, 0, 1, 0},
        {"ab", "abc", 3, -1, -1, -1, -1},
        {"", "", 5, 0, 0, 0, 0},
        {"", "a", 1, -1, -1, -1, -1},
        {"ABC", "abc", 3, -1, -1, 0, 0},
        {"Hello", "hELLo", 5, -1, -1, 0, 0},
        {"abc", "ABD", 3, 1, 1, -1, -1},
        /* _stricmp folds to lower case: '_' (0x5F) is below 'a' but above 'A'. */
        {"_", "A", 1, 1, 1, -1, -1},
        {"\x80", "a", 1, 1, 1, 1, 1},      /* unsigned bytes; no case above 0x7F */
        {"\xc4", "\xe4", 1, -1, -1, -1, -1}, /* "C" locale: Latin-1 letters have no case */
        {"abc", "abd", 0, -1, 0, -1, 0},
    };
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        assert_int_equal(crt_test_sign(RtlCrt_strcmp(t[i].a, t[i].b)), t[i].cmp);
        assert_int_equal(crt_test_sign(RtlCrt_strncmp(t[i].a, t[i].b, t[i].n)), t[i].ncmp);
        assert_int_equal(crt_test_sign(RtlCrt__stricmp(t[i].a, t[i].b)), t[i].icmp);
        assert_int_equal(crt_test_sign(RtlCrt__strnicmp(t[i].a, t[i].b, t[i].n)), t[i].nicmp);
    }
    expect_invalid_parameter(RtlCrt__stricmp(NULL, "a"));
    expect_invalid_parameter(RtlCrt__strnicmp("a", NULL, 1));
}

static void test_crt_str_search(void **state)
{
    static const char s[] = "hello world";
    (void)state;

    assert_ptr_equal(RtlCrt_strchr(s, 'o'), s + 4);
    assert_ptr_equal(RtlCrt_strrchr(s, 'o'), s + 7);
    assert_ptr_equal(RtlCrt_strchr(s, 'z'), NULL);
    assert_ptr_equal(RtlCrt_strrchr(s, 'z'), NULL);
    assert_ptr_equal(RtlCrt_strchr(s, 0), s + 11); /* the terminator is found */
    assert_ptr_equal(RtlCrt_strrchr(s, 0), s + 11);
    assert_ptr_equal(RtlCrt_strchr(s, 'h' + 0x100), s); /* converted to char */
    assert_ptr_equal(RtlCrt_strstr(s, "world"), s + 6);
    assert_ptr_equal(RtlCrt_strstr(s, "o w"), s + 4);
    assert_ptr_equal(RtlCrt_strstr(s, ""), s);
    assert_ptr_equal(RtlCrt_strstr(s, "worlds"), NULL);
    assert_ptr_equal(RtlCrt_strstr("", "a"), NULL);
    static const char aaab[] = "aaab";
    assert_ptr_equal(RtlCrt_strstr(aaab, "aab"), aaab + 1); /* a partial match restarts */
}

static void test_crt_ctype(void **state)
{
    static const struct {
        int c;
        BOOLEAN digit, xdigit, alpha, space, upper, lower, print;
    } t[] = {
        {'0', 1, 1, 0, 0, 0, 0, 1}, {'9', 1, 1, 0, 0, 0, 0, 1}, {'a', 0, 1, 1, 0, 0, 1, 1},
        {'f', 0, 1, 1, 0, 0, 1, 1}, {'g', 0, 0, 1, 0, 0, 1, 1}, {'F', 0, 1, 1, 0, 1, 0, 1},
        {'Z', 0, 0, 1, 0, 1, 0, 1}, {' ', 0, 0, 0, 1, 0, 0, 1}, {'\t', 0, 0, 0, 1, 0, 0, 0},
        {'\n', 0, 0, 0, 1, 0, 0, 0}, {'\v', 0, 0, 0, 1, 0, 0, 0}, {'\f', 0, 0, 0, 1, 0, 0, 0},
        {'\r', 0, 0, 0, 1, 0, 0, 0}, {'_', 0, 0, 0, 0, 0, 0, 1}, {'~', 0, 0, 0, 0, 0, 0, 1},
        {0, 0, 0, 0, 0, 0, 0, 0},   {0x7f, 0, 0, 0, 0, 0, 0, 0}, {0xc4, 0, 0, 0, 0, 0, 0, 0},
        {0xa0, 0, 0, 0, 0, 0, 0, 0}, {-1, 0, 0, 0, 0, 0, 0, 0},  {0x130, 0, 0, 0, 0, 0, 0, 0},
        {'0' + 0x100, 0, 0, 0, 0, 0, 0, 0},
    };
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        int c = t[i].c;
        assert_int_equal(RtlCrt_isdigit(c) != 0, t[i].digit);
        assert_int_equal(RtlCrt_isxdigit(c) != 0, t[i].xdigit);
        assert_int_equal(RtlCrt_isalpha(c) != 0, t[i].alpha);
        assert_int_equal(RtlCrt_isalnum(c) != 0, t[i].alpha || t[i].digit);
        assert_int_equal(RtlCrt_isspace(c) != 0, t[i].space);
        assert_int_equal(RtlCrt_isupper(c) != 0, t[i].upper);
        assert_int_equal(RtlCrt_islower(c) != 0, t[i].lower);
        assert_int_equal(RtlCrt_isprint(c) != 0, t[i].print);
        if (c >= 0 && c < 0x80) {
            assert_int_equal(RtlCrt_iswdigit((WCHAR)c) != 0, t[i].digit);
            assert_int_equal(RtlCrt_iswxdigit((WCHAR)c) != 0, t[i].xdigit);
            assert_int_equal(RtlCrt_iswalpha((WCHAR)c) != 0, t[i].alpha);
            assert_int_equal(RtlCrt_iswspace((WCHAR)c) != 0, t[i].space);
        }
    }
    for (int i = 0; i < 26; i++) {
        assert_int_equal(RtlCrt_tolower('A' + i), 'a' + i);
        assert_int_equal(RtlCrt_toupper('a' + i), 'A' + i);
        assert_int_equal(RtlCrt_tolower('a' + i), 'a' + i);
        assert_int_equal(RtlCrt_toupper('A' + i), 'A' + i);
    }
    static const int unchanged[] = {'@', '[', '`', '{', '0', 0, -1, 0xc4, 0xe4, 0x141, 0x7fffffff};
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(unchanged); i++) {
        assert_int_equal(RtlCrt_tolower(unchanged[i]), unchanged[i]);
        assert_int_equal(RtlCrt_toupper(unchanged[i]), unchanged[i]);
    }
    /* Wide: the Unicode case tables, not only ASCII; no case for surrogates. */
    static const struct {
        WCHAR upper, lower;
    } w[] = {{L'A', L'a'}, {0x00c4, 0x00e4}, {0x03a9, 0x03c9}, {0x042f, 0x044f}, {0x0178, 0x00ff},
             {0xff21, 0xff41}};
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(w); i++) {
        assert_int_equal(RtlCrt_towlower(w[i].upper), w[i].lower);
        assert_int_equal(RtlCrt_towupper(w[i].lower), w[i].upper);
    }
    static const WCHAR wunchanged[] = {L'1', L'_', 0xd83d, 0xde00, 0xffff, 0x4e2d};
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(wunchanged); i++) {
        assert_int_equal(RtlCrt_towlower(wunchanged[i]), wunchanged[i]);
        assert_int_equal(RtlCrt_towupper(wunchanged[i]), wunchanged[i]);
    }
    assert_int_equal(RtlCrt_iswalpha(0x00c4), 0);
    assert_int_equal(RtlCrt_iswdigit(0x0661), 0);
}

/* ---- wide strings ------------------------------------------------------------------------ */

/* "a😀ÄΩ" : a, surrogate pair U+1F600, U+00C4, U+03A9 */
static const WCHAR Mixed[] = {L'a', 0xd83d, 0xde00, 0x00c4, 0x03a9, 0};

static void test_crt_wcs(void **state)
{
    WCHAR b[16];
    static const WCHAR unterminated[3] = {L'x', L'y', L'z'};
    (void)state;

    assert_int_equal(RtlCrt_wcslen(L""), 0);
    assert_int_equal(RtlCrt_wcslen(Mixed), 5); /* code units, not characters */
    assert_int_equal(RtlCrt_wcsnlen(Mixed, 2), 2);
    assert_int_equal(RtlCrt_wcsnlen(unterminated, 3), 3);
    assert_ptr_equal(RtlCrt_wcscpy(b, Mixed), b);
    assert_wstring_equal(b, Mixed);
    RtlCrt_wcscat(b, L"!");
    assert_int_equal(b[5], L'!');
    assert_int_equal(b[6], 0);
    for (int i = 0; i < 16; i++)
        b[i] = L'x';
    RtlCrt_wcsncpy(b, L"ab", 4);
    assert_memory_equal(b, L"ab\0\0x", 5 * sizeof(WCHAR));
    RtlCrt_wcsncpy(b, Mixed, 2); /* cuts between the halves of a pair: code units */
    assert_int_equal(b[1], 0xd83d);
    assert_int_equal(b[2], 0);
    RtlCrt_wcscpy(b, L"ab");
    RtlCrt_wcsncat(b, L"cde", 2);
    assert_wstring_equal(b, L"abcd");

    static const struct {
        const WCHAR *a, *b;
        SIZE_T n;
        int cmp, ncmp, icmp, nicmp;
    } t[] = {
        {L"abc", L"abc", 3, 0, 0, 0, 0},
        {L"abc", L"abd", 2, -1, 0, -1, 0},
        {L"ABC", L"abc", 3, -1, -1, 0, 0},
        {L"\x00c4rger", L"\x00e4RGER", 5, -1, -1, 0, 0}, /* full Unicode folding */
        {L"\x03a9", L"\x03c9", 1, -1, -1, 0, 0},
        {L"\xd83d\xde00", L"\xe000", 1, -1, -1, -1, -1}, /* surrogates sort below U+E000 */
        {L"\xffff", L"a", 1, 1, 1, 1, 1},                 /* unsigned 16-bit */
        {L"_", L"A", 1, 1, 1, -1, -1},
        {L"", L"", 1, 0, 0, 0, 0},
    };
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        assert_int_equal(crt_test_sign(RtlCrt_wcscmp(t[i].a, t[i].b)), t[i].cmp);
        assert_int_equal(crt_test_sign(RtlCrt_wcsncmp(t[i].a, t[i].b, t[i].n)), t[i].ncmp);
        assert_int_equal(crt_test_sign(RtlCrt__wcsicmp(t[i].a, t[i].b)), t[i].icmp);
        assert_int_equal(crt_test_sign(RtlCrt__wcsnicmp(t[i].a, t[i].b, t[i].n)), t[i].nicmp);
    }
    expect_invalid_parameter(RtlCrt__wcsicmp(L"a", NULL));
    expect_invalid_parameter(RtlCrt__wcsnicmp(NULL, L"a", 1));

    assert_ptr_equal(RtlCrt_wcschr(Mixed, 0xde00), Mixed + 2);
    assert_ptr_equal(RtlCrt_wcschr(Mixed, 0), Mixed + 5);
    assert_ptr_equal(RtlCrt_wcschr(Mixed, L'b'), NULL);
    static const WCHAR abab[] = L"abab";
    assert_ptr_equal(RtlCrt_wcsrchr(abab, L'a'), abab + 2);
    static const WCHAR low_then_c4[] = {0xde00, 0x00c4, 0};
    assert_ptr_equal(RtlCrt_wcsstr(Mixed, low_then_c4), Mixed + 2);
    assert_ptr_equal(RtlCrt_wcsstr(Mixed, L""), Mixed);
    assert_ptr_equal(RtlCrt_wcsstr(Mixed, L"b"), NULL);
}

/* ---- the secure copies -------------------------------------------------------------------- */

static void test_crt_strcpy_s(void **state)
{
    char b[6];
    (void)state;

    assert_int_equal(RtlCrt_strcpy_s(b, 6, "hello"), 0); /* exact fit */
    assert_string_equal(b, "hello");
    assert_int_equal(RtlCrt_strcpy_s(b, 6, ""), 0);
    assert_string_equal(b, "");
    RtlCrt_strcpy(b, "keep");
    expect_invalid_parameter(RtlCrt_strcpy_s(b, 5, "hello")); /* one short: ERANGE */
    assert_int_equal(b[0], 0);
    RtlCrt_strcpy(b, "keep");
    expect_invalid_parameter(RtlCrt_strcpy_s(b, 6, NULL)); /* EINVAL, dest emptied */
    assert_int_equal(b[0], 0);
    RtlCrt_strcpy(b, "keep");
    expect_invalid_parameter(RtlCrt_strcpy_s(b, 0, "a")); /* EINVAL, untouched */
    expect_invalid_parameter(RtlCrt_strcpy_s(NULL, 6, "a"));
    assert_string_equal(b, "keep");

    WCHAR w[4];
    assert_int_equal(RtlCrt_wcscpy_s(w, 4, L"\xd83d\xde00!"), 0);
    assert_wstring_equal(w, L"\xd83d\xde00!");
    expect_invalid_parameter(RtlCrt_wcscpy_s(w, 3, L"abc"));
    assert_int_equal(w[0], 0);
}

static void test_crt_strncpy_s(void **state)
{
    static const struct {
        SIZE_T size;
        const char *src;
        SIZE_T count;
        int result; /* -1: invalid parameter handler */
        const char *expect;
    } t[] = {
        {6, "hello", 5, 0, "hello"},
        {6, "hello", 9, 0, "hello"},
        {6, "hello", 3, 0, "hel"},
        {6, "hello!", 5, 0, "hello"},
        {6, "hello!", 6, -1, ""},                             /* count fits src, not dest */
        {5, "hello", 5, -1, ""},                              /* one short */
        {6, "hello!", NTOS_CRT_TRUNCATE, NTOS_CRT_STRUNCATE, "hello"},
        {6, "hello", NTOS_CRT_TRUNCATE, 0, "hello"},          /* fits: no STRUNCATE */
        {1, "a", NTOS_CRT_TRUNCATE, NTOS_CRT_STRUNCATE, ""},
        {6, "abc", 0, 0, ""},
    };
    char b[8];
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        RtlCrt_memset(b, 'x', sizeof(b));
        if (t[i].result == -1) {
            expect_invalid_parameter(RtlCrt_strncpy_s(b, t[i].size, t[i].src, t[i].count));
        } else {
            assert_int_equal(RtlCrt_strncpy_s(b, t[i].size, t[i].src, t[i].count), t[i].result);
        }
        assert_string_equal(b, t[i].expect);
        assert_int_equal(b[t[i].size], 'x'); /* nothing written past the size */
    }
    assert_int_equal(RtlCrt_strncpy_s(NULL, 0, NULL, 0), 0);
    RtlCrt_strcpy(b, "keep");
    assert_int_equal(RtlCrt_strncpy_s(b, 8, NULL, 0), 0); /* count 0 empties, src unused */
    assert_string_equal(b, "");
    expect_invalid_parameter(RtlCrt_strncpy_s(NULL, 4, "a", 1));
    expect_invalid_parameter(RtlCrt_strncpy_s(b, 0, "a", 1));
    RtlCrt_strcpy(b, "keep");
    expect_invalid_parameter(RtlCrt_strncpy_s(b, 8, NULL, 1));
    assert_string_equal(b, "");

    WCHAR w[4];
    static const WCHAR cut3[] = {L'a', 0xd83d, 0xde00, 0}, cut2[] = {L'a', 0xd83d, 0};
    assert_int_equal(RtlCrt_wcsncpy_s(w, 4, Mixed, NTOS_CRT_TRUNCATE), NTOS_CRT_STRUNCATE);
    assert_wstring_equal(w, cut3);
    assert_int_equal(RtlCrt_wcsncpy_s(w, 4, Mixed, 2), 0);
    assert_wstring_equal(w, cut2);
    expect_invalid_parameter(RtlCrt_wcsncpy_s(w, 4, Mixed, 4));
    assert_int_equal(w[0], 0);
}

static void test_crt_strcat_s(void **state)
{
    static const struct {
        const char *start;
        SIZE_T size;
        const char *src;
        SIZE_T count; /* 0 here means strcat_s */
        int result;
        const char *expect;
    } t[] = {
        {"ab", 6, "cde", 0, 0, "abcde"},                                 /* exact fit */
        {"ab", 5, "cde", 0, -1, ""},                                     /* one short */
        {"", 1, "", 0, 0, ""},
        {"ab", 6, "cdefg", 2, 0, "abcd"},
        {"ab", 6, "cdefg", 3, 0, "abcde"},
        {"ab", 6, "cdefg", 4, -1, ""},
        {"ab", 6, "cdefg", NTOS_CRT_TRUNCATE, NTOS_CRT_STRUNCATE, "abcde"},
        {"ab", 6, "cd", NTOS_CRT_TRUNCATE, 0, "abcd"},
        {"abcde", 6, "x", NTOS_CRT_TRUNCATE, NTOS_CRT_STRUNCATE, "abcde"},
    };
    char b[8];
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        RtlCrt_memset(b, 'x', sizeof(b));
        RtlCrt_strcpy(b, t[i].start);
        if (t[i].result == -1) {
            if (t[i].count == 0)
                expect_invalid_parameter(RtlCrt_strcat_s(b, t[i].size, t[i].src));
            else
                expect_invalid_parameter(RtlCrt_strncat_s(b, t[i].size, t[i].src, t[i].count));
        } else if (t[i].count == 0) {
            assert_int_equal(RtlCrt_strcat_s(b, t[i].size, t[i].src), t[i].result);
        } else {
            assert_int_equal(RtlCrt_strncat_s(b, t[i].size, t[i].src, t[i].count), t[i].result);
        }
        assert_string_equal(b, t[i].expect);
        assert_int_equal(b[t[i].size], 'x');
    }
    /* A destination not terminated within its size is EINVAL and emptied. */
    RtlCrt_memset(b, 'x', sizeof(b));
    expect_invalid_parameter(RtlCrt_strcat_s(b, 4, "a"));
    assert_int_equal(b[0], 0);
    assert_int_equal(b[1], 'x');
    RtlCrt_strcpy(b, "keep");
    expect_invalid_parameter(RtlCrt_strcat_s(b, 8, NULL));
    assert_int_equal(b[0], 0);
    RtlCrt_strcpy(b, "keep");
    expect_invalid_parameter(RtlCrt_strcat_s(NULL, 8, "a"));
    expect_invalid_parameter(RtlCrt_strcat_s(b, 0, "a"));
    assert_string_equal(b, "keep");
    assert_int_equal(RtlCrt_strncat_s(b, 8, NULL, 0), 0); /* nothing to append */
    assert_string_equal(b, "keep");
    assert_int_equal(RtlCrt_strncat_s(NULL, 0, NULL, 0), 0);

    WCHAR w[6] = L"ab";
    assert_int_equal(RtlCrt_wcscat_s(w, 6, L"\x00c4\x03a9"), 0);
    assert_wstring_equal(w, L"ab\x00c4\x03a9");
    assert_int_equal(RtlCrt_wcsncat_s(w, 6, L"xyz", NTOS_CRT_TRUNCATE), NTOS_CRT_STRUNCATE);
    assert_wstring_equal(w, L"ab\x00c4\x03a9x");
    expect_invalid_parameter(RtlCrt_wcscat_s(w, 6, L"!"));
    assert_int_equal(w[0], 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crt_exports),
    cmocka_unit_test(test_crt_memory),
    cmocka_unit_test(test_crt_memory_secure),
    cmocka_unit_test(test_crt_str_length_copy),
    cmocka_unit_test(test_crt_str_compare),
    cmocka_unit_test(test_crt_str_search),
    cmocka_unit_test(test_crt_ctype),
    cmocka_unit_test(test_crt_wcs),
    cmocka_unit_test(test_crt_strcpy_s),
    cmocka_unit_test(test_crt_strncpy_s),
    cmocka_unit_test(test_crt_strcat_s),
};

NTOS_TEST_GROUP(rtl_crt_string, tests, NULL, NULL);
