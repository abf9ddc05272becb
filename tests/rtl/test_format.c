/*
 * The kernel formatter (src/rtl/format.c): every conversion, flag, width,
 * precision and size of the NT/MSVC printf dialect, the NT extensions (%Z, %wZ,
 * %ws, %p ...), and the buffer contracts of RtlpFormatV (C99-style, always
 * terminated) and RtlpVsnprintf (Windows _vsnprintf: -1 and no terminator).
 *
 * Table cases pass every argument as a raw 64-bit slot, which is exactly what a
 * Microsoft-ABI caller leaves in the va_list; separate tests call the helpers
 * with real typed arguments (int, double, char *) to check the calling
 * convention itself.
 */
#include "ntos_test.h"
#include <ntos/rtlp_format.h>

typedef union {
    ULONG64 u;
    double d;
    const void *p;
} ARG;

#define U(x) {.u = (ULONG64)(x)}
#define D(x) {.d = (x)}
#define P(x) {.p = (x)}

typedef struct {
    const char *Format;
    ARG Args[4];
    const char *Expected;
} FMT_CASE;

static SIZE_T tlen(const char *s)
{
    SIZE_T n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static BOOLEAN same(const char *a, const char *b, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        if (a[i] != b[i])
            return FALSE;
    return TRUE;
}

static SIZE_T wlen(const WCHAR *s)
{
    SIZE_T n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

static SIZE_T NTAPI fmt(char *buf, SIZE_T n, BOOLEAN *truncated, const char *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    SIZE_T r = RtlpFormatV(buf, n, f, ap, truncated);
    NT_VA_END(ap);
    return r;
}

static int NTAPI vsnp(char *buf, SIZE_T n, const char *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlpVsnprintf(buf, n, f, ap);
    NT_VA_END(ap);
    return r;
}

static SIZE_T NTAPI wfmt(WCHAR *buf, SIZE_T n, BOOLEAN *truncated, const WCHAR *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    SIZE_T r = RtlpFormatWideV(buf, n, f, ap, truncated);
    NT_VA_END(ap);
    return r;
}

static int NTAPI vsnwp(WCHAR *buf, SIZE_T n, const WCHAR *f, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, f);
    int r = RtlpVsnwprintf(buf, n, f, ap);
    NT_VA_END(ap);
    return r;
}

#define SENTINEL 0x7e
#define CASE_BUF 600

static void fill(char *buf, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        buf[i] = SENTINEL;
}

static void assert_untouched(const char *buf, SIZE_T from, SIZE_T to)
{
    for (SIZE_T i = from; i < to; i++)
        if (buf[i] != SENTINEL)
            fail_msg("byte %llu written past the allowed size %llu", (unsigned long long)i,
                     (unsigned long long)from);
}

/*
 * Checks one case: the full output, then both buffer contracts at every size
 * from 0 to len+1 (which covers 0, 1, len-1, len and len+1).
 */
static void check_case(const FMT_CASE *c)
{
    static char buf[CASE_BUF + 8];
    SIZE_T len = tlen(c->Expected);
    BOOLEAN truncated = 2;

    fill(buf, sizeof(buf));
    SIZE_T r = fmt(buf, CASE_BUF, &truncated, c->Format, c->Args[0].u, c->Args[1].u, c->Args[2].u,
                   c->Args[3].u);
    if (r != len || !same(buf, c->Expected, len + 1))
        fail_msg("format \"%s\": expected \"%s\" (%llu), got \"%s\" (%llu)", c->Format, c->Expected,
                 (unsigned long long)len, buf, (unsigned long long)r);
    assert_false(truncated);

    for (SIZE_T n = 0; n <= len + 1; n++) {
        /* RtlpFormatV: n-1 characters and a NUL; full length returned. */
        fill(buf, sizeof(buf));
        truncated = 2;
        r = fmt(buf, n, &truncated, c->Format, c->Args[0].u, c->Args[1].u, c->Args[2].u, c->Args[3].u);
        assert_int_equal(r, len);
        assert_int_equal(truncated, len >= n);
        if (n != 0) {
            SIZE_T stored = len < n - 1 ? len : n - 1;
            assert_memory_equal(buf, c->Expected, stored);
            assert_int_equal(buf[stored], 0);
        }
        assert_untouched(buf, n, sizeof(buf));

        /* RtlpVsnprintf: up to n characters, NUL only if room, -1 on overflow. */
        fill(buf, sizeof(buf));
        int w = vsnp(buf, n, c->Format, c->Args[0].u, c->Args[1].u, c->Args[2].u, c->Args[3].u);
        if (len > n) {
            assert_int_equal(w, -1);
            assert_memory_equal(buf, c->Expected, n);
            assert_untouched(buf, n, sizeof(buf));
        } else {
            assert_int_equal(w, (int)len);
            assert_memory_equal(buf, c->Expected, len);
            if (len < n) {
                assert_int_equal(buf[len], 0);
                assert_untouched(buf, len + 1, sizeof(buf));
            } else {
                assert_untouched(buf, len, sizeof(buf));
            }
        }
    }
}

static void run_cases(const FMT_CASE *cases, SIZE_T count)
{
    for (SIZE_T i = 0; i < count; i++)
        check_case(&cases[i]);
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof((cases)[0]))

/* ---- integers ---------------------------------------------------------------- */

static void test_format_signed(void **state)
{
    const FMT_CASE cases[] = {
        {"%d", {U(0)}, "0"},
        {"%d", {U(42)}, "42"},
        {"%d", {U(-42)}, "-42"},
        {"%d", {U(2147483647)}, "2147483647"},
        {"%d", {U(-2147483647 - 1)}, "-2147483648"},
        /* The upper half of a 32-bit argument's slot is garbage to be ignored. */
        {"%d", {U(0xdeadbeef0000002aULL)}, "42"},
        {"%d", {U(0x00000001ffffffffULL)}, "-1"},
        {"%i", {U(-7)}, "-7"},
        {"%5d", {U(42)}, "   42"},
        {"%-5d|", {U(42)}, "42   |"},
        {"%05d", {U(-42)}, "-0042"},
        {"%+d", {U(42)}, "+42"},
        {"%+d", {U(-42)}, "-42"},
        {"% d", {U(42)}, " 42"},
        {"%+ d", {U(42)}, "+42"},
        {"%-05d|", {U(7)}, "7    |"},
        {"%.3d", {U(7)}, "007"},
        {"%.3d", {U(-7)}, "-007"},
        {"%6.3d", {U(-7)}, "  -007"},
        {"%06.3d", {U(7)}, "   007"}, /* '0' ignored with a precision */
        {"%.0d", {U(0)}, ""},
        {"%5.0d|", {U(0)}, "     |"},
        {"%.0d", {U(3)}, "3"},
        {"%1d", {U(12345)}, "12345"},
        {"%hd", {U(0x12345678)}, "22136"},
        {"%hd", {U(0xffff)}, "-1"},
        {"%hhd", {U(0x1ff)}, "-1"},
        {"%hhd", {U(0x17f)}, "127"},
        {"%ld", {U(0xffffffff80000000ULL)}, "-2147483648"},
        {"%ld", {U(0x1234567800000005ULL)}, "5"}, /* LONG is 32-bit */
        {"%lld", {U(0x8000000000000000ULL)}, "-9223372036854775808"},
        {"%lld", {U(9223372036854775807LL)}, "9223372036854775807"},
        {"%I64d", {U(-1234567890123LL)}, "-1234567890123"},
        {"%I32d", {U(0x00000001ffffffffULL)}, "-1"},
        {"%Id", {U(-5000000000LL)}, "-5000000000"},
        {"%zd", {U(-5000000000LL)}, "-5000000000"},
        {"%jd", {U(-5000000000LL)}, "-5000000000"},
        {"%td", {U(-5000000000LL)}, "-5000000000"},
        {"%Ld", {U(-5000000000LL)}, "-5000000000"},
        {"%wd", {U(12)}, "12"}, /* w only matters for characters and strings */
        {"%+.0d", {U(0)}, "+"},
        {"%d %d %d %d", {U(1), U(-2), U(3), U(-4)}, "1 -2 3 -4"},
    };
    RUN(cases);
}

static void test_format_unsigned(void **state)
{
    const FMT_CASE cases[] = {
        {"%u", {U(0)}, "0"},
        {"%u", {U(-1)}, "4294967295"},
        {"%u", {U(0xdead00000000002aULL)}, "42"},
        {"%lu", {U(-1)}, "4294967295"},
        {"%llu", {U(-1)}, "18446744073709551615"},
        {"%I64u", {U(-1)}, "18446744073709551615"},
        {"%hu", {U(-1)}, "65535"},
        {"%hhu", {U(-1)}, "255"},
        {"%+u", {U(5)}, "5"}, /* sign flags apply to signed conversions only */
        {"% u", {U(5)}, "5"},
        {"%x", {U(0xdeadbeef)}, "deadbeef"},
        {"%X", {U(0xdeadbeef)}, "DEADBEEF"},
        {"%x", {U(0x123456789abcdefULL)}, "89abcdef"},
        {"%lx", {U(0xffffffff12345678ULL)}, "12345678"}, /* %lx is 32-bit */
        {"%llx", {U(0x123456789abcdefULL)}, "123456789abcdef"},
        {"%I64X", {U(0xfedcba9876543210ULL)}, "FEDCBA9876543210"},
        {"%IX", {U(0xfedcba9876543210ULL)}, "FEDCBA9876543210"},
        {"%Ix", {U(0x10)}, "10"},
        {"%zx", {U(0x100000000ULL)}, "100000000"},
        {"%I32x", {U(0x100000001ULL)}, "1"},
        {"%hx", {U(0x12345)}, "2345"},
        {"%hhx", {U(0x1ab)}, "ab"},
        {"%#x", {U(0x1f)}, "0x1f"},
        {"%#X", {U(0x1f)}, "0X1F"},
        {"%#x", {U(0)}, "0"},
        {"%#010x", {U(0x1f)}, "0x0000001f"},
        {"%#10x|", {U(0x1f)}, "      0x1f|"},
        {"%-#10x|", {U(0x1f)}, "0x1f      |"},
        {"%#.4x", {U(0x1f)}, "0x001f"},
        {"%08X", {U(0xbeef)}, "0000BEEF"},
        {"%.0x", {U(0)}, ""},
        {"%o", {U(8)}, "10"},
        {"%o", {U(0)}, "0"},
        {"%#o", {U(8)}, "010"},
        {"%#o", {U(0)}, "0"},
        {"%#.0o", {U(0)}, "0"},
        {"%#.3o", {U(8)}, "010"},
        {"%#5o", {U(8)}, "  010"},
        {"%llo", {U(-1)}, "1777777777777777777777"},
        {"%5u|%-5u|", {U(1), U(2)}, "    1|2    |"},
    };
    RUN(cases);
}

static void test_format_pointer(void **state)
{
    const FMT_CASE cases[] = {
        {"%p", {U(0xdeadbeef)}, "00000000DEADBEEF"},
        {"%p", {U(0)}, "0000000000000000"},
        {"%p", {U(0xfffff80012345678ULL)}, "FFFFF80012345678"},
        {"%#p", {U(0xdeadbeef)}, "0X00000000DEADBEEF"},
        {"%20p|", {U(0x1)}, "    0000000000000001|"},
        {"%-20p|", {U(0x1)}, "0000000000000001    |"},
        {"%.4p", {U(0x1)}, "0000000000000001"}, /* always all 16 digits */
        {"%hp", {U(0x123456789ULL)}, "0000000123456789"},
        {"[%p]", {U(0xabc)}, "[0000000000000ABC]"},
    };
    RUN(cases);
}

/* ---- characters and strings ---------------------------------------------------- */

static const char Narrow3[3] = {'a', 'b', 'c'};         /* not terminated */
static const WCHAR Wide3[3] = {u'x', u'y', u'z'};       /* not terminated */
static const char CountedText[9] = "abcdefXYZ";         /* no terminator (9 bytes) */
static const WCHAR CountedWide[11] = u"hello world";    /* no terminator */
static const WCHAR NonAscii[] = u"caf\u00e9\u263a.";

static void test_format_chars(void **state)
{
    const FMT_CASE cases[] = {
        {"%c", {U('A')}, "A"},
        {"%c", {U(0x7fffff41)}, "A"}, /* only the low byte of the slot */
        {"%3c", {U('A')}, "  A"},
        {"%-3c|", {U('A')}, "A  |"},
        {"%03c", {U('A')}, "  A"}, /* '0' pads numbers only */
        {"%C", {U(u'Z')}, "Z"},
        {"%C", {U(0x263a)}, "?"}, /* non-ASCII WCHAR to narrow */
        {"%C", {U(0x00e9)}, "?"},
        {"%lc", {U(u'w')}, "w"},
        {"%wc", {U(u'w')}, "w"},
        {"%hc", {U('h')}, "h"},
        {"%hC", {U('h')}, "h"}, /* h makes %C narrow */
        {"%c%c%c", {U('x'), U('y'), U('z')}, "xyz"},
        {"%c", {U(0xe9)}, "\xe9"}, /* narrow to narrow is not translated */
    };
    RUN(cases);
}

static void test_format_strings(void **state)
{
    const FMT_CASE cases[] = {
        {"%s", {P("abc")}, "abc"},
        {"%s", {P("")}, ""},
        {"%s", {P(NULL)}, "(null)"},
        {"%10s|", {P(NULL)}, "    (null)|"},
        {"%.3s", {P(NULL)}, "(nu"},
        {"%8s|", {P("abc")}, "     abc|"},
        {"%-8s|", {P("abc")}, "abc     |"},
        {"%08s", {P("abc")}, "     abc"},
        {"%.2s", {P("abc")}, "ab"},
        {"%.0s|", {P("abc")}, "|"},
        {"%.10s", {P("abc")}, "abc"},
        {"%5.1s|", {P("abc")}, "    a|"},
        {"%.3s", {P(Narrow3)}, "abc"}, /* never reads past the precision */
        {"%hs", {P("narrow")}, "narrow"},
        {"%ls", {P(u"wide")}, "wide"},
        {"%ws", {P(u"wide")}, "wide"},
        {"%S", {P(u"wide")}, "wide"},
        {"%hS", {P("narrow")}, "narrow"},
        {"%ws", {P(NULL)}, "(null)"},
        {"%S", {P(NULL)}, "(null)"},
        {"%.2ws", {P(u"wide")}, "wi"},
        {"%.3ws", {P(Wide3)}, "xyz"},
        {"%6ws|", {P(u"ab")}, "    ab|"},
        {"%-6ws|", {P(u"ab")}, "ab    |"},
        {"%ws", {P(NonAscii)}, "caf??."},
        {"%s", {P("caf\xe9")}, "caf\xe9"},
        {"%s=%ws", {P("k"), P(u"v")}, "k=v"},
        {"%s%s%s%s", {P("a"), P("bb"), P(""), P("ccc")}, "abbccc"},
    };
    RUN(cases);
}

static void test_format_counted_strings(void **state)
{
    ANSI_STRING ansi = {3, 9, (PCHAR)CountedText};
    ANSI_STRING ansiFull = {9, 9, (PCHAR)CountedText};
    ANSI_STRING ansiEmpty = {0, 9, (PCHAR)CountedText};
    ANSI_STRING ansiNullBuffer = {4, 4, NULL};
    UNICODE_STRING uni = {6, 22, (PWSTR)CountedWide};
    UNICODE_STRING uniFull = {22, 22, (PWSTR)CountedWide};
    UNICODE_STRING uniOdd = {5, 22, (PWSTR)CountedWide}; /* odd byte count: 2 chars */
    UNICODE_STRING uniEmpty = {0, 22, (PWSTR)CountedWide};
    UNICODE_STRING uniNullBuffer = {6, 6, NULL};
    UNICODE_STRING uniNonAscii = {12, 12, (PWSTR)NonAscii};

    const FMT_CASE cases[] = {
        {"%Z", {P(&ansi)}, "abc"},
        {"%Z", {P(&ansiFull)}, "abcdefXYZ"},
        {"%Z|", {P(&ansiEmpty)}, "|"},
        {"%Z", {P(&ansiNullBuffer)}, "(null)"},
        {"%Z", {P(NULL)}, "(null)"},
        {"%hZ", {P(&ansi)}, "abc"},
        {"%6Z|", {P(&ansi)}, "   abc|"},
        {"%-6Z|", {P(&ansi)}, "abc   |"},
        {"%.2Z", {P(&ansi)}, "ab"},
        {"%wZ", {P(&uni)}, "hel"},
        {"%wZ", {P(&uniFull)}, "hello world"},
        {"%lZ", {P(&uni)}, "hel"},
        {"%wZ", {P(&uniOdd)}, "he"},
        {"[%wZ]", {P(&uniEmpty)}, "[]"},
        {"%wZ", {P(&uniNullBuffer)}, "(null)"},
        {"%wZ", {P(NULL)}, "(null)"},
        {"%8wZ|", {P(&uni)}, "     hel|"},
        {"%-8wZ|", {P(&uni)}, "hel     |"},
        {"%.1wZ", {P(&uni)}, "h"},
        {"%wZ", {P(&uniNonAscii)}, "caf??."},
        {"%wZ\\%Z", {P(&uni), P(&ansi)}, "hel\\abc"},
    };
    RUN(cases);
}

/* ---- floating point --------------------------------------------------------------- */

static double make_double(ULONG64 bits)
{
    ARG a = {.u = bits};
    return a.d;
}

static void test_format_float(void **state)
{
    const double inf = make_double(0x7ff0000000000000ULL);
    const double nan = make_double(0x7ff8000000000000ULL);
    const double dblMax = make_double(0x7fefffffffffffffULL);
    const double dblMin = make_double(0x0010000000000000ULL);
    const double denormMin = make_double(1);
    const double negZero = make_double(0x8000000000000000ULL);

    const FMT_CASE cases[] = {
        {"%f", {D(1.5)}, "1.500000"},
        {"%f", {D(0.0)}, "0.000000"},
        {"%f", {D(negZero)}, "-0.000000"},
        {"%f", {D(-2.25)}, "-2.250000"},
        {"%.2f", {D(3.14159)}, "3.14"},
        {"%.0f", {D(0.5)}, "0"},   /* ties to even */
        {"%.0f", {D(1.5)}, "2"},
        {"%.0f", {D(2.5)}, "2"},
        {"%.0f", {D(0.51)}, "1"},
        {"%.2f", {D(1.005)}, "1.00"}, /* 1.005 is 1.00499999999999989... */
        {"%.1f", {D(0.25)}, "0.2"},
        {"%.1f", {D(0.35)}, "0.3"}, /* 0.34999999999999997... */
        {"%.3f", {D(0.0004)}, "0.000"},
        {"%.3f", {D(0.0006)}, "0.001"},
        {"%.3f", {D(-0.0004)}, "-0.000"},
        {"%f", {D(1e20)}, "100000000000000000000.000000"},
        {"%.0f", {D(dblMax)},
         "17976931348623157081452742373170435679807056752584499659891747680315726078002853876058955"
         "86327668781715404589535143824642343213268894641827684675467035375169860499105765512820762"
         "45490090389328944075868508455133942304583236903222948165808559332123348274797826204144723"
         "168738177180919299881250404026184124858368"},
        {"%.20f", {D(0.1)}, "0.10000000000000000555"},
        {"%#.0f", {D(3.0)}, "3."},
        {"% f", {D(1.0)}, " 1.000000"},
        {"%+f", {D(1.0)}, "+1.000000"},
        {"%10.2f|", {D(3.14159)}, "      3.14|"},
        {"%-10.2f|", {D(3.14159)}, "3.14      |"},
        {"%010.3f", {D(-3.5)}, "-00003.500"},
        {"%+010.1f", {D(2.0)}, "+0000002.0"},
        {"%F", {D(1.5)}, "1.500000"},
        {"%e", {D(12345.678)}, "1.234568e+04"},
        {"%e", {D(0.0)}, "0.000000e+00"},
        {"%E", {D(-0.000123)}, "-1.230000E-04"},
        {"%.0e", {D(5.0)}, "5e+00"},
        {"%#.0e", {D(5.0)}, "5.e+00"},
        {"%.2e", {D(9.995)}, "9.99e+00"}, /* 9.99499999... */
        {"%.2e", {D(9.996)}, "1.00e+01"},
        {"%.3e", {D(dblMax)}, "1.798e+308"},
        {"%e", {D(dblMin)}, "2.225074e-308"},
        {"%e", {D(denormMin)}, "4.940656e-324"},
        {"%+.1e", {D(0.0)}, "+0.0e+00"},
        {"%12.3e|", {D(1234.5)}, "   1.234e+03|"}, /* 1234.5 -> 1.2345 ties to even: 1.234 */
        {"%g", {D(0.0001)}, "0.0001"},
        {"%g", {D(0.00001)}, "1e-05"},
        {"%g", {D(123456.0)}, "123456"},
        {"%g", {D(1234567.0)}, "1.23457e+06"},
        {"%g", {D(100000.0)}, "100000"},
        {"%g", {D(1000000.0)}, "1e+06"},
        {"%g", {D(0.0)}, "0"},
        {"%g", {D(1.5)}, "1.5"},
        {"%g", {D(dblMin)}, "2.22507e-308"},
        {"%g", {D(denormMin)}, "4.94066e-324"},
        {"%G", {D(1e-10)}, "1E-10"},
        {"%.3g", {D(3.14159)}, "3.14"},
        {"%.0g", {D(3.7)}, "4"},
        {"%#g", {D(1.5)}, "1.50000"},
        {"%#g", {D(0.0)}, "0.00000"},
        {"%#.3g", {D(1.0)}, "1.00"},
        {"%g", {D(999999.5)}, "1e+06"},
        {"%010g|", {D(-1.5)}, "-0000001.5|"},
        {"%a", {D(1.0)}, "0x1.0000000000000p+0"},
        {"%a", {D(0.0)}, "0x0.0000000000000p+0"},
        {"%A", {D(-2.0)}, "-0X1.0000000000000P+1"},
        {"%.1a", {D(1.5)}, "0x1.8p+0"},
        {"%.0a", {D(1.5)}, "0x2p+0"},
        {"%.0a", {D(1.0)}, "0x1p+0"},
        {"%#.0a", {D(1.0)}, "0x1.p+0"},
        {"%.3a", {D(0.1)}, "0x1.99ap-4"},
        {"%a", {D(denormMin)}, "0x0.0000000000001p-1022"},
        {"%a", {D(dblMax)}, "0x1.fffffffffffffp+1023"},
        {"%.15a", {D(1.0)}, "0x1.000000000000000p+0"},
        {"%012.1a", {D(1.5)}, "0x00001.8p+0"},
        {"%f", {D(inf)}, "inf"},
        {"%F", {D(inf)}, "INF"},
        {"%e", {D(-inf)}, "-inf"},
        {"%E", {D(-inf)}, "-INF"},
        {"%g", {D(nan)}, "nan"},
        {"%G", {D(nan)}, "NAN"},
        {"%a", {D(inf)}, "inf"},
        {"%+f", {D(inf)}, "+inf"},
        {"%010f|", {D(inf)}, "       inf|"},
        {"%-6f|", {D(nan)}, "nan   |"},
        {"%.3f %.3f", {D(1.0), D(2.0)}, "1.000 2.000"},
        {"%Lf", {D(0.5)}, "0.500000"}, /* long double is double on Windows */
        {"%lf", {D(0.5)}, "0.500000"},
    };
    RUN(cases);
}

/* ---- '*' fields, %%, %n, malformed and unknown specifications ------------------------ */

static void test_format_star_fields(void **state)
{
    const FMT_CASE cases[] = {
        {"%*d", {U(5), U(42)}, "   42"},
        {"%-*d|", {U(5), U(42)}, "42   |"},
        {"%*d|", {U(-5), U(42)}, "42   |"}, /* negative width: left-justify */
        {"%.*d", {U(3), U(7)}, "007"},
        {"%.*d", {U(-1), U(7)}, "7"}, /* negative precision: as if omitted */
        {"%*.*d", {U(6), U(3), U(7)}, "   007"},
        {"%.*s", {U(2), P("abcdef")}, "ab"},
        {"%*s|", {U(0xffffffff00000004ULL), P("ab")}, "  ab|"}, /* width is an int */
        {"%*.*f", {U(8), U(2), D(3.14159)}, "    3.14"},
        {"%0*d", {U(4), U(5)}, "0005"},
    };
    RUN(cases);
}

static void test_format_literals_and_malformed(void **state)
{
    const FMT_CASE cases[] = {
        {"", {U(0)}, ""},
        {"plain text", {U(0)}, "plain text"},
        {"100%%", {U(0)}, "100%"},
        {"%%d", {U(5)}, "%d"},
        {"%5%", {U(0)}, "%"},
        {"%", {U(0)}, "%"},
        {"abc%", {U(0)}, "abc%"},
        {"%-", {U(0)}, "%-"},
        {"%5", {U(0)}, "%5"},
        {"%5.", {U(0)}, "%5."},
        {"%l", {U(0)}, "%l"},
        {"%I64", {U(0)}, "%I64"},
        {"%I6d", {U(0)}, "%I6d"},
        {"%y", {U(0)}, "%y"},
        {"%5.2y|", {U(0)}, "%5.2y|"},
        {"%k%d", {U(9)}, "%k9"}, /* unknown conversions consume no argument */
        {"%hy", {U(0)}, "%hy"},
        {"%b", {U(1)}, "%b"},
        {"x%qy", {U(0)}, "x%qy"},
        {"tab\there\n", {U(0)}, "tab\there\n"},
        {"\xc3\xa9t\xc3\xa9", {U(0)}, "\xc3\xa9t\xc3\xa9"}, /* bytes pass through */
    };
    RUN(cases);

    /* A width too large for an int saturates at INT_MAX instead of wrapping. */
    char buf[8];
    BOOLEAN truncated;
    SIZE_T r = fmt(buf, sizeof(buf), &truncated, "%99999999999999999999d", 1);
    assert_int_equal(r, 0x7fffffff);
    assert_true(truncated);
    assert_string_equal(buf, "       ");
}

static void test_format_n_writes_nothing(void **state)
{
    char buf[32];
    LONG target = 0x5a5a5a5a;
    SIZE_T r = fmt(buf, sizeof(buf), NULL, "ab%ncd%d", &target, 7);
    assert_int_equal(r, 5);
    assert_string_equal(buf, "abcd7");
    assert_int_equal(target, 0x5a5a5a5a);

    r = fmt(buf, sizeof(buf), NULL, "%5n|%hn|%lln|%d", &target, &target, &target, 3);
    assert_string_equal(buf, "|||3");
    assert_int_equal(r, 4);
    assert_int_equal(target, 0x5a5a5a5a);
}

/* ---- buffer contracts -------------------------------------------------------------- */

static void test_format_huge_width_small_buffer(void **state)
{
    char buf[16 + 8];
    BOOLEAN truncated;

    fill(buf, sizeof(buf));
    SIZE_T r = fmt(buf, 16, &truncated, "%1000d", 42);
    assert_int_equal(r, 1000);
    assert_true(truncated);
    assert_string_equal(buf, "               ");
    assert_untouched(buf, 16, sizeof(buf));

    fill(buf, sizeof(buf));
    r = fmt(buf, 16, &truncated, "%-1000d", 42);
    assert_int_equal(r, 1000);
    assert_string_equal(buf, "42             ");
    assert_untouched(buf, 16, sizeof(buf));

    fill(buf, sizeof(buf));
    r = fmt(buf, 16, &truncated, "%.1000d", 42);
    assert_int_equal(r, 1000);
    assert_string_equal(buf, "000000000000000");

    fill(buf, sizeof(buf));
    r = fmt(buf, 16, &truncated, "%2147483647d", 42);
    assert_int_equal(r, 2147483647);
    assert_untouched(buf, 16, sizeof(buf));

    /* INT_MIN through '*': left-justified, width 2^31. */
    fill(buf, sizeof(buf));
    r = fmt(buf, 16, &truncated, "%*d", -2147483647 - 1, 42);
    assert_int_equal(r, 0x80000000ULL);
    assert_string_equal(buf, "42             ");

    fill(buf, sizeof(buf));
    r = fmt(buf, 16, &truncated, "%.2147483647f", 1.0);
    assert_int_equal(r, 2147483647ULL + 2);
    assert_string_equal(buf, "1.0000000000000");

    fill(buf, sizeof(buf));
    r = fmt(buf, 16, &truncated, "%.100000e", 1.0);
    assert_int_equal(r, 100000 + 6);
    assert_string_equal(buf, "1.0000000000000");

    fill(buf, sizeof(buf));
    assert_int_equal(vsnp(buf, 16, "%1000d", 42), -1);
    assert_untouched(buf, 16, sizeof(buf));
}

static void test_format_null_buffer_and_format(void **state)
{
    char buf[8];
    BOOLEAN truncated = FALSE;

    /* Sizing: no buffer, full length returned. */
    assert_int_equal(fmt(NULL, 0, &truncated, "%d-%s", 123, "abc"), 7);
    assert_true(truncated);
    assert_int_equal(fmt(NULL, 100, &truncated, "%d", 123), 3); /* NULL buffer: nothing stored */
    assert_true(truncated);
    assert_int_equal(fmt(buf, 0, NULL, "abc"), 3);

    /* Empty output into a zero-size buffer still "does not fit" (no NUL). */
    assert_int_equal(fmt(buf, 0, &truncated, ""), 0);
    assert_true(truncated);
    assert_int_equal(fmt(buf, 1, &truncated, ""), 0);
    assert_false(truncated);
    assert_int_equal(buf[0], 0);

    /* NULL format formats as the empty string. */
    buf[0] = 'x';
    assert_int_equal(fmt(buf, sizeof(buf), &truncated, NULL), 0);
    assert_int_equal(buf[0], 0);
    assert_false(truncated);

    /* _vsnprintf: NULL/0 is the sizing idiom; NULL with a count or a NULL format fails. */
    assert_int_equal(vsnp(NULL, 0, "%d", 12345), 5);
    assert_int_equal(vsnp(NULL, 10, "%d", 12345), -1);
    assert_int_equal(vsnp(buf, sizeof(buf), NULL), -1);
    assert_int_equal(vsnp(buf, 0, ""), 0);
}

static void test_format_snprintf_semantics(void **state)
{
    char buf[16];

    /* Fits with room: NUL-terminated, count returned. */
    fill(buf, sizeof(buf));
    assert_int_equal(RtlpSnprintf(buf, 8, "%s", "abc"), 3);
    assert_string_equal(buf, "abc");

    /* Exactly fits: count returned, no terminator. */
    fill(buf, sizeof(buf));
    assert_int_equal(RtlpSnprintf(buf, 3, "%s", "abc"), 3);
    assert_memory_equal(buf, "abc\x7e", 4);

    /* Too long: -1, Count characters stored, no terminator. */
    fill(buf, sizeof(buf));
    assert_int_equal(RtlpSnprintf(buf, 2, "%s", "abc"), -1);
    assert_memory_equal(buf, "ab\x7e", 3);

    fill(buf, sizeof(buf));
    assert_int_equal(RtlpSnprintf(buf, 0, "%s", "abc"), -1);
    assert_int_equal(buf[0], SENTINEL);

    fill(buf, sizeof(buf));
    assert_int_equal(RtlpSnprintf(buf, sizeof(buf), "%d/%d", 10, -20), 6);
    assert_string_equal(buf, "10/-20");
}

/* ---- the calling convention ------------------------------------------------------------ */

static void test_format_typed_arguments(void **state)
{
    char buf[256];
    short s = -2;
    unsigned char uc = 200;
    LONGLONG ll = -1234567890123LL;

    /* Mixed types, several on the stack (past the four register slots). */
    SIZE_T r = fmt(buf, sizeof(buf), NULL, "%d %s %f %c %lld %hd %hhu %.2e %x %g|%ws", -5, "str", 2.5,
                   'x', ll, s, uc, 1234.5, 0xabcu, 0.125, u"w");
    assert_string_equal(buf, "-5 str 2.500000 x -1234567890123 -2 200 1.23e+03 abc 0.125|w");
    assert_int_equal(r, tlen(buf));

    /* A double in each of the first register positions. */
    fmt(buf, sizeof(buf), NULL, "%.1f", 1.25);
    assert_string_equal(buf, "1.2");
    fmt(buf, sizeof(buf), NULL, "%d%.1f", 1, 2.75);
    assert_string_equal(buf, "12.8");
    fmt(buf, sizeof(buf), NULL, "%.1f|%.1f|%.1f|%.1f|%.1f", 1.0, 2.0, 3.0, 4.0, 5.0);
    assert_string_equal(buf, "1.0|2.0|3.0|4.0|5.0");
    fmt(buf, sizeof(buf), NULL, "%e", (double)(float)0.5f); /* float promotes to double */
    assert_string_equal(buf, "5.000000e-01");

    /* Pointer-sized and 32-bit integer arguments side by side. */
    fmt(buf, sizeof(buf), NULL, "%Iu %u %I64x %lx", (SIZE_T)-1, 4000000000u, 0x1122334455667788ULL,
        0x89abcdefUL);
    assert_string_equal(buf, "18446744073709551615 4000000000 1122334455667788 89abcdef");

    int w = RtlpSnprintf(buf, sizeof(buf), "%s=%d (%p)", "x", 10, (void *)0x1000);
    assert_int_equal(w, 23);
    assert_string_equal(buf, "x=10 (0000000000001000)");
}

/* ---- wide variant ---------------------------------------------------------------------- */

static void assert_wide(const WCHAR *got, SIZE_T got_len, const WCHAR *expected)
{
    SIZE_T n = wlen(expected);
    assert_int_equal(got_len, n);
    assert_memory_equal(got, expected, (n + 1) * sizeof(WCHAR));
}

static void test_format_wide(void **state)
{
    WCHAR buf[64];
    BOOLEAN truncated;
    UNICODE_STRING uni = {6, 22, (PWSTR)CountedWide};
    ANSI_STRING ansi = {3, 9, (PCHAR)CountedText};

    assert_wide(buf, wfmt(buf, 64, &truncated, u"%d|%5x|%-4u|", -12, 0xab, 7u), u"-12|   ab|7   |");
    assert_false(truncated);
    /* In a wide format, %s and %c are wide; %S and %C are narrow. */
    assert_wide(buf, wfmt(buf, 64, NULL, u"%s %S", u"wide", "narrow"), u"wide narrow");
    assert_wide(buf, wfmt(buf, 64, NULL, u"%c%C", u'W', 'n'), u"Wn");
    /* h is always narrow, l and w always wide. */
    assert_wide(buf, wfmt(buf, 64, NULL, u"%hs %ls %ws %hc%lc%wc", "h", u"l", u"w", 'a', u'b', u'c'),
                u"h l w abc");
    assert_wide(buf, wfmt(buf, 64, NULL, u"%wZ/%Z", &uni, &ansi), u"hel/abc");
    assert_wide(buf, wfmt(buf, 64, NULL, u"%s|%S|%wZ", NULL, NULL, NULL), u"(null)|(null)|(null)");
    /* WCHARs pass through unchanged; non-ASCII narrow bytes become '?'. */
    assert_wide(buf, wfmt(buf, 64, NULL, u"\u263a%s%S", NonAscii, "caf\xe9"), u"\u263acaf\u00e9\u263a.caf?");
    assert_wide(buf, wfmt(buf, 64, NULL, u"%p %.3f %%", (void *)0xbeef, 0.5), u"000000000000BEEF 0.500 %");
    assert_wide(buf, wfmt(buf, 64, NULL, u"%q%"), u"%q%");

    /* Truncation counts WCHARs. */
    for (SIZE_T i = 0; i < 64; i++)
        buf[i] = 0x7e7e;
    SIZE_T r = wfmt(buf, 4, &truncated, u"%s", u"abcdef");
    assert_int_equal(r, 6);
    assert_true(truncated);
    assert_memory_equal(buf, u"abc", 4 * sizeof(WCHAR));
    assert_int_equal(buf[4], 0x7e7e);

    /* _vsnwprintf semantics. */
    for (SIZE_T i = 0; i < 64; i++)
        buf[i] = 0x7e7e;
    assert_int_equal(vsnwp(buf, 3, u"%d", 123), 3);
    assert_int_equal(buf[3], 0x7e7e); /* exact fit: no terminator */
    assert_int_equal(vsnwp(buf, 2, u"%d", 123), -1);
    assert_int_equal(vsnwp(buf, 8, u"%d", 123), 3);
    assert_memory_equal(buf, u"123", 4 * sizeof(WCHAR));
    assert_int_equal(vsnwp(NULL, 0, u"%d", 123), 3);
    assert_int_equal(RtlpSnwprintf(buf, 8, u"%S", "ab"), 2);
    assert_memory_equal(buf, u"ab", 3 * sizeof(WCHAR));
}

/* ---- robustness: random format strings never crash or overflow ------------------------- */

static void test_format_random_formats(void **state)
{
    static const char Alphabet[] = "%%%%%-+ #0123456789.*hlLwIjztZdiouxXcCsSpneEfFgGaA%yq64 32";
    /* Every argument points at this: valid as char*, WCHAR*, ANSI_STRING and
     * UNICODE_STRING alike (Length 2 reads as "\2" and L"\2", both terminated). */
    static const WCHAR Payload[2] = {u'!', u'?'};
    UNICODE_STRING target = {2, 0, (PWSTR)Payload};
    ULONG64 a = (ULONG64)(ULONG_PTR)&target;
    uint64_t seed = 0x1234abcd5678ef01ULL;
    char format[40];
    char buf[64 + 8];

    for (int iter = 0; iter < 3000; iter++) {
        SIZE_T n = ntos_test_rand(&seed) % 32;
        for (SIZE_T i = 0; i < n; i++)
            format[i] = Alphabet[ntos_test_rand(&seed) % (sizeof(Alphabet) - 1)];
        format[n] = '\0';

        BOOLEAN truncated;
        SIZE_T full = fmt(NULL, 0, NULL, format, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a);
        fill(buf, sizeof(buf));
        SIZE_T r = fmt(buf, 64, &truncated, format, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a);
        assert_int_equal(r, full);
        assert_int_equal(truncated, full >= 64);
        assert_int_equal(buf[full < 63 ? full : 63], 0);
        assert_untouched(buf, 64, sizeof(buf));

        fill(buf, sizeof(buf));
        int w = vsnp(buf, 64, format, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a);
        assert_int_equal(w, full > 64 ? -1 : (int)full);
        assert_untouched(buf, 64, sizeof(buf));
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_format_signed),
    cmocka_unit_test(test_format_unsigned),
    cmocka_unit_test(test_format_pointer),
    cmocka_unit_test(test_format_chars),
    cmocka_unit_test(test_format_strings),
    cmocka_unit_test(test_format_counted_strings),
    cmocka_unit_test(test_format_float),
    cmocka_unit_test(test_format_star_fields),
    cmocka_unit_test(test_format_literals_and_malformed),
    cmocka_unit_test(test_format_n_writes_nothing),
    cmocka_unit_test(test_format_huge_width_small_buffer),
    cmocka_unit_test(test_format_null_buffer_and_format),
    cmocka_unit_test(test_format_snprintf_semantics),
    cmocka_unit_test(test_format_typed_arguments),
    cmocka_unit_test(test_format_wide),
    cmocka_unit_test(test_format_random_formats),
};

NTOS_TEST_GROUP(rtl_format, tests, NULL, NULL);
