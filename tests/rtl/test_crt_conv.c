/*
 * CRT number conversions, qsort/bsearch and rand/srand (crtconv.c, crtsort.c)
 * through their ms_abi entry points: tables of inputs with the expected value
 * and end position, LLP64 widths (strtoul saturates at 0xFFFFFFFF), MSVC's
 * overflow results, radix/base validation, and _itoa's two's complement output.
 */
#include "crt_test_util.h"

static void test_crt_strtol(void **state)
{
    static const struct {
        const char *s;
        int base;
        LONG l;
        ULONG ul;
        SIZE_T end;
    } t[] = {
        {"0", 10, 0, 0, 1},
        {"  \t\n+123abc", 10, 123, 123, 8},
        {"-123", 10, -123, 0xffffff85u, 4},
        {"-1", 10, -1, 0xffffffffu, 2},
        {"2147483647", 10, 0x7fffffff, 0x7fffffff, 10},
        {"2147483648", 10, 0x7fffffff, 0x80000000u, 10},
        {"-2147483648", 10, MINLONG, 0x80000000u, 11},
        {"-2147483649", 10, MINLONG, 0x7fffffffu, 11},
        {"4294967295", 10, 0x7fffffff, 0xffffffffu, 10},
        {"4294967296", 10, 0x7fffffff, 0xffffffffu, 10},   /* LLP64: not a 64-bit long */
        {"-4294967296", 10, MINLONG, 0xffffffffu, 11},
        {"99999999999999999999999", 10, 0x7fffffff, 0xffffffffu, 23}, /* all digits consumed */
        {"0x1A", 0, 26, 26, 4},
        {"0X1a", 16, 26, 26, 4},
        {"1a", 16, 26, 26, 2},
        {"017", 0, 15, 15, 3},
        {"019", 0, 1, 1, 2},
        {"0x", 0, 0, 0, 1},   /* "0" parsed, 'x' left */
        {"0xg", 16, 0, 0, 1},
        {"z", 36, 35, 35, 1},
        {"101", 2, 5, 5, 3},
        {"12", 2, 1, 1, 1},
        {"", 10, 0, 0, 0},    /* no digits: end = start */
        {"   ", 10, 0, 0, 0},
        {"-", 10, 0, 0, 0},
        {"+x", 16, 0, 0, 0},
    };
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        PCHAR end = NULL;
        assert_int_equal(RtlCrt_strtol(t[i].s, &end, t[i].base), t[i].l);
        assert_ptr_equal(end, t[i].s + t[i].end);
        end = NULL;
        assert_int_equal(RtlCrt_strtoul(t[i].s, &end, t[i].base), t[i].ul);
        assert_ptr_equal(end, t[i].s + t[i].end);
        assert_int_equal(RtlCrt_strtoul(t[i].s, NULL, t[i].base), t[i].ul);
    }
    static const WCHAR w[] = L" -0x7fffffff\x00e9";
    PWCHAR wend;
    assert_int_equal(RtlCrt_wcstol(w, &wend, 0), -0x7fffffff);
    assert_ptr_equal(wend, w + 12);
    assert_int_equal(RtlCrt_wcstoul(L"\x0661", &wend, 10), 0); /* only ASCII digits */
    expect_invalid_parameter(RtlCrt_strtol("1", NULL, 1));
    expect_invalid_parameter(RtlCrt_strtoul("1", NULL, 37));
    expect_invalid_parameter(RtlCrt_strtoul(NULL, NULL, 10));
    expect_invalid_parameter(RtlCrt_wcstol(L"1", NULL, -1));
}

static void test_crt_atoi(void **state)
{
    static const struct {
        const char *s;
        INT i;
        LONGLONG i64;
    } t[] = {
        {"42", 42, 42},
        {"  -17xyz", -17, -17},
        {"+0", 0, 0},
        {"abc", 0, 0},
        {"2147483647", 0x7fffffff, 2147483647LL},
        {"2147483648", 0x7fffffff, 2147483648LL},   /* MSVC: INT_MAX on overflow */
        {"-2147483648", (INT)0x80000000, -2147483648LL},
        {"-2147483649", (INT)0x80000000, -2147483649LL},
        {"9223372036854775807", 0x7fffffff, 0x7fffffffffffffffLL},
        {"9223372036854775808", 0x7fffffff, 0x7fffffffffffffffLL},
        {"-9223372036854775808", (INT)0x80000000, (LONGLONG)0x8000000000000000ULL},
        {"-99999999999999999999", (INT)0x80000000, (LONGLONG)0x8000000000000000ULL},
        {"0x10", 0, 0}, /* base 10 only */
    };
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        assert_int_equal(RtlCrt_atoi(t[i].s), t[i].i);
        assert_int_equal(RtlCrt_atol(t[i].s), t[i].i);
        assert_true(RtlCrt__atoi64(t[i].s) == t[i].i64);
    }
    assert_int_equal(RtlCrt__wtoi(L" 12\x00e9"), 12);
    assert_int_equal(RtlCrt__wtol(L"-99999999999"), MINLONG);
    expect_invalid_parameter(RtlCrt_atoi(NULL));
    expect_invalid_parameter(RtlCrt__wtol(NULL));
}

static void test_crt_itoa(void **state)
{
    char b[72];
    WCHAR w[72];
    static const struct {
        LONGLONG v;
        int radix;
        const char *itoa, *ultoa, *i64toa;
    } t[] = {
        {0, 10, "0", "0", "0"},
        {123, 10, "123", "123", "123"},
        {-123, 10, "-123", "4294967173", "-123"},
        {-1, 16, "ffffffff", "ffffffff", "ffffffffffffffff"},
        {255, 2, "11111111", "11111111", "11111111"},
        {-2147483647LL - 1, 10, "-2147483648", "2147483648", "-2147483648"},
        {35, 36, "z", "z", "z"},
        {-8, 8, "37777777770", "37777777770", "1777777777777777777770"},
    };
    (void)state;

    for (SIZE_T i = 0; i < RTL_NUMBER_OF(t); i++) {
        assert_ptr_equal(RtlCrt__itoa((INT)t[i].v, b, t[i].radix), b);
        assert_string_equal(b, t[i].itoa);
        RtlCrt__ltoa((LONG)t[i].v, b, t[i].radix);
        assert_string_equal(b, t[i].itoa);
        RtlCrt__ultoa((ULONG)t[i].v, b, t[i].radix);
        assert_string_equal(b, t[i].ultoa);
        RtlCrt__i64toa(t[i].v, b, t[i].radix);
        assert_string_equal(b, t[i].i64toa);
        assert_ptr_equal(RtlCrt__itow((INT)t[i].v, w, t[i].radix), w);
        for (SIZE_T j = 0; j <= RtlCrt_strlen(t[i].itoa); j++)
            assert_int_equal(w[j], (WCHAR)t[i].itoa[j]);
        RtlCrt__i64tow(t[i].v, w, t[i].radix);
        for (SIZE_T j = 0; j <= RtlCrt_strlen(t[i].i64toa); j++)
            assert_int_equal(w[j], (WCHAR)t[i].i64toa[j]);
    }
    RtlCrt__ui64toa(0xffffffffffffffffULL, b, 10);
    assert_string_equal(b, "18446744073709551615");
    RtlCrt__ui64toa(0x8000000000000000ULL, b, 2);
    assert_int_equal(RtlCrt_strlen(b), 64); /* the longest output: 64 digits */
    RtlCrt__ultow(0xffffffffu, w, 16);
    assert_wstring_equal(w, L"ffffffff");
    RtlCrt__ltow(-5, w, 10);
    assert_wstring_equal(w, L"-5");
    RtlCrt__ui64tow(36, w, 36);
    assert_wstring_equal(w, L"10");
    expect_invalid_parameter(RtlCrt__itoa(1, b, 1));
    expect_invalid_parameter(RtlCrt__itoa(1, b, 37));
    expect_invalid_parameter(RtlCrt__i64tow(1, NULL, 10));
}

/* ---- qsort / bsearch / rand ------------------------------------------------------------- */

static ULONG CompareCalls;

static INT NTAPI compare_ulong(const VOID *a, const VOID *b)
{
    ULONG x = *(const ULONG *)a, y = *(const ULONG *)b;
    CompareCalls++;
    return x < y ? -1 : (x > y ? 1 : 0);
}

typedef struct {
    UCHAR key;
    char tag[6]; /* odd element size: 7 bytes */
} ODD;

static INT NTAPI compare_odd_desc(const VOID *a, const VOID *b)
{
    return (INT)((const ODD *)b)->key - (INT)((const ODD *)a)->key; /* any magnitude, sign matters */
}

static void test_crt_qsort_bsearch(void **state)
{
    ULONG v[257];
    uint64_t seed = 0x1234;
    (void)state;

    for (SIZE_T n = 0; n <= RTL_NUMBER_OF(v); n = n * 2 + 1) {
        ULONG sum = 0, sum2 = 0;
        for (SIZE_T i = 0; i < n; i++) {
            v[i] = (ULONG)(ntos_test_rand(&seed) % 50); /* many duplicates */
            sum += v[i];
        }
        CompareCalls = 0;
        RtlCrt_qsort(v, n, sizeof(ULONG), compare_ulong);
        for (SIZE_T i = 0; i < n; i++) {
            sum2 += v[i];
            if (i > 0)
                assert_true(v[i - 1] <= v[i]);
        }
        assert_int_equal(sum, sum2);
        /* O(n log n): heapsort needs at most about 2 n log2 n comparisons. */
        assert_true(CompareCalls <= 2 * n * 10 + 8);
        for (ULONG key = 0; key < 52; key++) {
            ULONG *hit = RtlCrt_bsearch(&key, v, n, sizeof(ULONG), compare_ulong);
            BOOLEAN present = FALSE;
            for (SIZE_T i = 0; i < n; i++)
                present |= (v[i] == key);
            if (present) {
                assert_non_null(hit);
                assert_int_equal(*hit, key);
            } else {
                assert_null(hit);
            }
        }
    }
    ODD o[5] = {{3, "c"}, {9, "i"}, {1, "a"}, {200, "z"}, {9, "j"}};
    RtlCrt_qsort(o, 5, sizeof(ODD), compare_odd_desc);
    static const UCHAR want[5] = {200, 9, 9, 3, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(o[i].key, want[i]);
    assert_string_equal(o[0].tag, "z"); /* elements move whole */
    assert_string_equal(o[4].tag, "a");
    ODD k = {3, ""};
    ODD *found = RtlCrt_bsearch(&k, o, 5, sizeof(ODD), compare_odd_desc);
    assert_ptr_equal(found, &o[3]);
    assert_null(RtlCrt_bsearch(&k, o, 0, sizeof(ODD), compare_odd_desc));
    RtlCrt_qsort(NULL, 0, 4, compare_ulong); /* nothing to sort */
    RtlCrt_qsort(v, 1, 4, NULL);
    expect_invalid_parameter(RtlCrt_qsort(NULL, 2, 4, compare_ulong));
    expect_invalid_parameter(RtlCrt_bsearch(&k, o, 5, sizeof(ODD), NULL));
}

static void test_crt_rand(void **state)
{
    (void)state;
    /* The MSVC generator: seed = seed * 214013 + 2531011, result (seed >> 16) & 0x7FFF.
     * From seed 1 MSVC's first values are 41, 18467, 6334, 26500, 19169. */
    static const INT first[] = {41, 18467, 6334, 26500, 19169};
    RtlCrt_srand(1);
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(first); i++)
        assert_int_equal(RtlCrt_rand(), first[i]);
    RtlCrt_srand(12345);
    ULONG seed = 12345;
    for (int i = 0; i < 1000; i++) {
        seed = seed * 214013u + 2531011u;
        INT r = RtlCrt_rand();
        assert_int_equal(r, (INT)((seed >> 16) & 0x7fff));
        assert_in_range(r, 0, NTOS_CRT_RAND_MAX);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crt_strtol),
    cmocka_unit_test(test_crt_atoi),
    cmocka_unit_test(test_crt_itoa),
    cmocka_unit_test(test_crt_qsort_bsearch),
    cmocka_unit_test(test_crt_rand),
};

NTOS_TEST_GROUP(rtl_crt_conv, tests, NULL, NULL);
