/*
 * RtlUniform / RtlRandom / RtlRandomEx: the documented range, the seed update,
 * determinism for a seed, RtlUniform's exact recurrence, and a loose
 * uniformity check (chi-square over 16 buckets) that a broken generator fails.
 */
#include "ntos_test.h"

#include <ntos/rtl.h>

static void uniform_recurrence(void **state)
{
    (void)state;
    ULONG seed = 1;
    /* seed' = (seed * 0x7FFFFFED + 0x7FFFFFC3) mod 0x7FFFFFFF */
    ULONG expect = (ULONG)((1ull * 0x7FFFFFEDu + 0x7FFFFFC3u) % 0x7FFFFFFFu);
    assert_int_equal(RtlUniform(&seed), expect);
    assert_int_equal(seed, expect);
    for (int i = 0; i < 1000; i++) {
        ULONG prev = seed;
        ULONG v = RtlUniform(&seed);
        assert_int_equal(v, seed);
        assert_int_equal(v, (ULONG)(((unsigned long long)prev * 0x7FFFFFEDu + 0x7FFFFFC3u) % 0x7FFFFFFFu));
        assert_true(v < 0x7FFFFFFFu);
    }
}

static void deterministic_and_in_range(void **state)
{
    (void)state;
    ULONG (NTAPI *gens[])(PULONG) = {RtlUniform, RtlRandom, RtlRandomEx};
    for (size_t g = 0; g < 3; g++) {
        ULONG s1 = 42, s2 = 42;
        ULONG a[64];
        for (int i = 0; i < 64; i++) {
            a[i] = gens[g](&s1);
            assert_true(a[i] <= 0x7FFFFFFEu);
        }
        assert_int_not_equal(s1, 42);
        /* RtlUniform is a pure function of the seed; the shuffled generators
         * also depend on their table, so only their range is deterministic. */
        if (g == 0) {
            for (int i = 0; i < 64; i++)
                assert_int_equal(gens[g](&s2), a[i]);
        }
    }
}

static void roughly_uniform(void **state)
{
    (void)state;
    ULONG (NTAPI *gens[])(PULONG) = {RtlUniform, RtlRandom, RtlRandomEx};
    for (size_t g = 0; g < 3; g++) {
        ULONG buckets[16] = {0};
        ULONG seed = 7;
        const ULONG n = 16000;
        for (ULONG i = 0; i < n; i++)
            buckets[gens[g](&seed) / (0x80000000u / 16)]++;
        /* chi-square with 15 degrees of freedom; 50 is far beyond p = 0.0001. */
        ULONG chi = 0;
        for (int b = 0; b < 16; b++) {
            LONG d = (LONG)buckets[b] - (LONG)(n / 16);
            chi += (ULONG)(d * d) / (n / 16);
        }
        if (chi > 50)
            fail_msg("generator %u: chi-square %u", (unsigned)g, (unsigned)chi);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(uniform_recurrence),
    cmocka_unit_test(deterministic_and_in_range),
    cmocka_unit_test(roughly_uniform),
};

NTOS_TEST_GROUP(rtl_random, tests, NULL, NULL);
