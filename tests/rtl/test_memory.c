/*
 * Rtl memory routines: copy/move (including overlap in both directions), zero,
 * fill, compare, and the ULONG-pattern variants, checked against byte-at-a-time
 * reference loops, with guard bytes around every destination.
 *
 * No C library here: these tests also run freestanding inside the kernel.
 */
#include "ntos_test.h"
#include <ntos/rtl.h>

#define GUARD 16
#define GUARD_BYTE 0xE7
#define BIG (64 * 1024 + 37)

static UCHAR g_dst[BIG + 2 * GUARD + 64] __attribute__((aligned(64)));
static UCHAR g_src[BIG + 2 * GUARD + 64] __attribute__((aligned(64)));
static UCHAR g_ref[BIG + 2 * GUARD + 64] __attribute__((aligned(64)));

/* ---- byte-at-a-time references and helpers -------------------------------- */

static void ref_fill(UCHAR *p, SIZE_T n, UCHAR v)
{
    for (SIZE_T i = 0; i < n; i++)
        p[i] = v;
}

static void ref_move(UCHAR *d, const UCHAR *s, SIZE_T n)
{
    if (d < s) {
        for (SIZE_T i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        for (SIZE_T i = n; i > 0; i--)
            d[i - 1] = s[i - 1];
    }
}

static SIZE_T ref_compare(const UCHAR *a, const UCHAR *b, SIZE_T n)
{
    SIZE_T i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Distinct, position-dependent contents so a misplaced byte is always visible. */
static void pattern(UCHAR *p, SIZE_T n, ULONG seed)
{
    for (SIZE_T i = 0; i < n; i++)
        p[i] = (UCHAR)((i * 131u + seed * 7u + (i >> 8)) ^ 0x5Au);
}

static void assert_bytes_equal(const UCHAR *a, const UCHAR *b, SIZE_T n)
{
    SIZE_T i = ref_compare(a, b, n);
    if (i != n)
        fail_msg("byte %u differs: %02x != %02x", (unsigned)i, a[i], b[i]);
}

static void assert_all(const UCHAR *p, SIZE_T n, UCHAR v)
{
    for (SIZE_T i = 0; i < n; i++) {
        if (p[i] != v)
            fail_msg("byte %u is %02x, expected %02x", (unsigned)i, p[i], v);
    }
}

/* ---- RtlCopyMemory / RtlMoveMemory ---------------------------------------- */

static void test_copy_basic(void **state)
{
    static const UCHAR src[] = "The quick brown fox";
    UCHAR dst[sizeof(src)];
    RtlFillMemory(dst, sizeof(dst), 0);
    RtlCopyMemory(dst, src, sizeof(src));
    assert_memory_equal(dst, src, sizeof(src));
}

static void test_copy_zero_length(void **state)
{
    UCHAR dst[8], src[8];
    ref_fill(dst, 8, 0x11);
    ref_fill(src, 8, 0x22);
    RtlCopyMemory(dst, src, 0);
    RtlMoveMemory(dst, src, 0);
    assert_all(dst, 8, 0x11);
    /* Zero-length operations must not dereference anything. */
    RtlCopyMemory(NULL, NULL, 0);
    RtlMoveMemory(NULL, NULL, 0);
    RtlZeroMemory(NULL, 0);
    RtlFillMemory(NULL, 0, 0xAB);
    assert_int_equal(RtlCompareMemory(NULL, NULL, 0), 0);
}

static void test_copy_one_byte(void **state)
{
    UCHAR dst[3] = {1, 2, 3};
    UCHAR src = 9;
    RtlCopyMemory(&dst[1], &src, 1);
    assert_int_equal(dst[0], 1);
    assert_int_equal(dst[1], 9);
    assert_int_equal(dst[2], 3);
}

/* Every (destination alignment, source alignment, length) over small sizes. */
static void test_copy_alignments(void **state)
{
    for (ULONG da = 0; da < 8; da++) {
        for (ULONG sa = 0; sa < 8; sa++) {
            for (SIZE_T n = 0; n <= 80; n++) {
                pattern(g_src, 128, (ULONG)(da * 64 + sa * 8 + n));
                ref_fill(g_dst, 128 + 2 * GUARD, GUARD_BYTE);
                RtlCopyMemory(g_dst + GUARD + da, g_src + sa, n);
                assert_all(g_dst, GUARD + da, GUARD_BYTE);
                assert_bytes_equal(g_dst + GUARD + da, g_src + sa, n);
                assert_all(g_dst + GUARD + da + n, GUARD, GUARD_BYTE);
            }
        }
    }
}

static void test_move_alignments_disjoint(void **state)
{
    for (ULONG da = 0; da < 8; da++) {
        for (SIZE_T n = 0; n <= 72; n += 3) {
            pattern(g_src, 128, (ULONG)(da + n));
            ref_fill(g_dst, 128 + 2 * GUARD, GUARD_BYTE);
            RtlMoveMemory(g_dst + GUARD + da, g_src + 3, n);
            assert_all(g_dst, GUARD + da, GUARD_BYTE);
            assert_bytes_equal(g_dst + GUARD + da, g_src + 3, n);
            assert_all(g_dst + GUARD + da + n, GUARD, GUARD_BYTE);
        }
    }
}

/* Destination above the source, overlapping: the copy must run backwards. */
static void test_move_overlap_up(void **state)
{
    for (SIZE_T shift = 1; shift <= 24; shift++) {
        for (SIZE_T start = 0; start < 8; start++) {
            for (SIZE_T n = 1; n <= 70; n += 1) {
                pattern(g_dst, 160, (ULONG)(shift * 1000 + start * 100 + n));
                RtlCopyMemory(g_ref, g_dst, 160);
                ref_move(g_ref + start + shift, g_ref + start, n);
                RtlMoveMemory(g_dst + start + shift, g_dst + start, n);
                assert_bytes_equal(g_dst, g_ref, 160);
            }
        }
    }
}

/* Destination below the source, overlapping: the copy must run forwards. */
static void test_move_overlap_down(void **state)
{
    for (SIZE_T shift = 1; shift <= 24; shift++) {
        for (SIZE_T start = 0; start < 8; start++) {
            for (SIZE_T n = 1; n <= 70; n += 1) {
                pattern(g_dst, 160, (ULONG)(shift * 1000 + start * 100 + n + 7));
                RtlCopyMemory(g_ref, g_dst, 160);
                ref_move(g_ref + start, g_ref + start + shift, n);
                RtlMoveMemory(g_dst + start, g_dst + start + shift, n);
                assert_bytes_equal(g_dst, g_ref, 160);
            }
        }
    }
}

static void test_move_same_pointer(void **state)
{
    pattern(g_dst, 100, 3);
    RtlCopyMemory(g_ref, g_dst, 100);
    RtlMoveMemory(g_dst + 5, g_dst + 5, 90);
    assert_bytes_equal(g_dst, g_ref, 100);
}

/* RtlCopyMemory is documented like memcpy, but ours tolerates overlap. */
static void test_copy_overlap_tolerated(void **state)
{
    pattern(g_dst, 100, 77);
    RtlCopyMemory(g_ref, g_dst, 100);
    ref_move(g_ref + 3, g_ref, 60);
    RtlCopyMemory(g_dst + 3, g_dst, 60);
    assert_bytes_equal(g_dst, g_ref, 100);
}

static void test_copy_large(void **state)
{
    pattern(g_src, BIG, 91);
    ref_fill(g_dst, BIG + 2 * GUARD, GUARD_BYTE);
    RtlCopyMemory(g_dst + GUARD + 1, g_src + 3, BIG - 8);
    assert_all(g_dst, GUARD + 1, GUARD_BYTE);
    assert_bytes_equal(g_dst + GUARD + 1, g_src + 3, BIG - 8);
    assert_all(g_dst + GUARD + 1 + BIG - 8, GUARD - 1, GUARD_BYTE);
}

static void test_move_large_overlap(void **state)
{
    static const SIZE_T shifts[] = {1, 7, 8, 9, 63, 4096, 4097};
    for (ULONG k = 0; k < RTL_NUMBER_OF(shifts); k++) {
        SIZE_T s = shifts[k];
        SIZE_T n = BIG - s - 8;
        pattern(g_dst, BIG, (ULONG)s);
        RtlCopyMemory(g_ref, g_dst, BIG);
        ref_move(g_ref + s, g_ref, n);
        RtlMoveMemory(g_dst + s, g_dst, n);
        assert_bytes_equal(g_dst, g_ref, BIG);

        pattern(g_dst, BIG, (ULONG)s + 1000);
        RtlCopyMemory(g_ref, g_dst, BIG);
        ref_move(g_ref + 1, g_ref + 1 + s, n);
        RtlMoveMemory(g_dst + 1, g_dst + 1 + s, n);
        assert_bytes_equal(g_dst, g_ref, BIG);
    }
}

/* ---- RtlZeroMemory / RtlFillMemory ---------------------------------------- */

static void test_zero_alignments(void **state)
{
    for (ULONG a = 0; a < 8; a++) {
        for (SIZE_T n = 0; n <= 80; n++) {
            ref_fill(g_dst, 128 + 2 * GUARD, GUARD_BYTE);
            RtlZeroMemory(g_dst + GUARD + a, n);
            assert_all(g_dst, GUARD + a, GUARD_BYTE);
            assert_all(g_dst + GUARD + a, n, 0);
            assert_all(g_dst + GUARD + a + n, GUARD, GUARD_BYTE);
        }
    }
}

static void test_fill_alignments(void **state)
{
    static const UCHAR fills[] = {0x00, 0x01, 0x7F, 0x80, 0xAA, 0xFF};
    for (ULONG f = 0; f < RTL_NUMBER_OF(fills); f++) {
        for (ULONG a = 0; a < 8; a++) {
            for (SIZE_T n = 0; n <= 40; n++) {
                ref_fill(g_dst, 128 + 2 * GUARD, GUARD_BYTE);
                RtlFillMemory(g_dst + GUARD + a, n, fills[f]);
                assert_all(g_dst, GUARD + a, GUARD_BYTE);
                assert_all(g_dst + GUARD + a, n, fills[f]);
                assert_all(g_dst + GUARD + a + n, GUARD, GUARD_BYTE);
            }
        }
    }
}

static void test_zero_fill_large(void **state)
{
    ref_fill(g_dst, BIG + 2 * GUARD, GUARD_BYTE);
    RtlFillMemory(g_dst + GUARD + 3, BIG - 5, 0x3C);
    assert_all(g_dst, GUARD + 3, GUARD_BYTE);
    assert_all(g_dst + GUARD + 3, BIG - 5, 0x3C);
    assert_all(g_dst + GUARD + 3 + BIG - 5, GUARD, GUARD_BYTE);
    RtlZeroMemory(g_dst + GUARD + 3, BIG - 5);
    assert_all(g_dst + GUARD + 3, BIG - 5, 0);
    assert_all(g_dst + GUARD + 3 + BIG - 5, GUARD, GUARD_BYTE);
}

static void test_secure_zero_macro(void **state)
{
    UCHAR b[24];
    ref_fill(b, 24, 0x99);
    RtlSecureZeroMemory(b + 4, 16);
    assert_all(b, 4, 0x99);
    assert_all(b + 4, 16, 0);
    assert_all(b + 20, 4, 0x99);
}

/* ---- RtlCompareMemory ----------------------------------------------------- */

static void test_compare_equal(void **state)
{
    pattern(g_src, 300, 5);
    RtlCopyMemory(g_dst, g_src, 300);
    for (SIZE_T n = 0; n <= 300; n += 7)
        assert_int_equal(RtlCompareMemory(g_dst, g_src, n), n);
    assert_int_equal(RtlCompareMemory(g_src, g_src, 300), 300);
}

static void test_compare_zero_length(void **state)
{
    UCHAR a = 1, b = 2;
    assert_int_equal(RtlCompareMemory(&a, &b, 0), 0);
}

static void test_compare_first_mismatch_every_index(void **state)
{
    for (ULONG a1 = 0; a1 < 8; a1 += 3) {
        for (ULONG a2 = 0; a2 < 8; a2++) {
            for (SIZE_T n = 1; n <= 70; n++) {
                for (SIZE_T k = 0; k < n; k++) {
                    pattern(g_src + a2, n, (ULONG)n);
                    RtlCopyMemory(g_dst + a1, g_src + a2, n);
                    g_dst[a1 + k] ^= 0x10;
                    /* A later difference must not change the answer. */
                    if (k + 2 < n)
                        g_dst[a1 + k + 2] ^= 0x01;
                    assert_int_equal(RtlCompareMemory(g_dst + a1, g_src + a2, n), k);
                }
            }
        }
    }
}

static void test_compare_high_bit_difference(void **state)
{
    UCHAR x[16], y[16];
    ref_fill(x, 16, 0);
    ref_fill(y, 16, 0);
    y[9] = 0x80;
    assert_int_equal(RtlCompareMemory(x, y, 16), 9);
    assert_int_equal(RtlCompareMemory(x, y, 9), 9);
    assert_int_equal(RtlCompareMemory(x, y, 10), 9);
}

static void test_compare_large(void **state)
{
    pattern(g_src, BIG, 44);
    RtlCopyMemory(g_dst + 1, g_src, BIG - 1);
    assert_int_equal(RtlCompareMemory(g_dst + 1, g_src, BIG - 1), BIG - 1);
    g_dst[1 + 50000] ^= 4;
    assert_int_equal(RtlCompareMemory(g_dst + 1, g_src, BIG - 1), 50000);
}

static void test_equal_memory_macro(void **state)
{
    static const UCHAR a[] = {1, 2, 3, 4, 5};
    static const UCHAR b[] = {1, 2, 3, 4, 6};
    assert_true(RtlEqualMemory(a, b, 4));
    assert_false(RtlEqualMemory(a, b, 5));
    assert_true(RtlEqualMemory(a, b, 0));
}

/* ---- RtlCompareMemoryUlong ------------------------------------------------ */

static ULONG g_ulongs[64] __attribute__((aligned(8)));

static void test_compare_ulong_all_match(void **state)
{
    for (ULONG i = 0; i < 64; i++)
        g_ulongs[i] = 0xDEADBEEF;
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 256, 0xDEADBEEF), 256);
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 4, 0xDEADBEEF), 4);
    assert_int_equal(RtlCompareMemoryUlong(&g_ulongs[1], 252, 0xDEADBEEF), 252);
}

static void test_compare_ulong_zero_length(void **state)
{
    g_ulongs[0] = 1;
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 0, 7), 0);
}

static void test_compare_ulong_first_mismatch(void **state)
{
    for (ULONG k = 0; k < 64; k++) {
        for (ULONG i = 0; i < 64; i++)
            g_ulongs[i] = 0x01020304;
        g_ulongs[k] = 0x01020305;
        assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 256, 0x01020304), k * 4);
    }
}

/* Whole ULONGs only: a ULONG matching in its first bytes still counts as 0. */
static void test_compare_ulong_partial_match_not_counted(void **state)
{
    g_ulongs[0] = 0xAABBCCDD;
    g_ulongs[1] = 0xFFBBCCDD; /* low three bytes match the pattern */
    g_ulongs[2] = 0xAABBCCDD;
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 12, 0xAABBCCDD), 4);
}

/* Documented: 0 when Source is not ULONG-aligned or Length not a multiple of 4. */
static void test_compare_ulong_invalid(void **state)
{
    for (ULONG i = 0; i < 8; i++)
        g_ulongs[i] = 0;
    assert_int_equal(RtlCompareMemoryUlong((PUCHAR)g_ulongs + 1, 16, 0), 0);
    assert_int_equal(RtlCompareMemoryUlong((PUCHAR)g_ulongs + 2, 16, 0), 0);
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 15, 0), 0);
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 3, 0), 0);
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, 1, 0), 0);
}

/* ---- RtlFillMemoryUlong --------------------------------------------------- */

static void test_fill_ulong_basic(void **state)
{
    for (ULONG i = 0; i < 64; i++)
        g_ulongs[i] = 0x55555555;
    RtlFillMemoryUlong(&g_ulongs[1], 10 * sizeof(ULONG), 0x12345678);
    assert_int_equal(g_ulongs[0], 0x55555555);
    for (ULONG i = 1; i <= 10; i++)
        assert_int_equal(g_ulongs[i], 0x12345678);
    assert_int_equal(g_ulongs[11], 0x55555555);
}

static void test_fill_ulong_counts_and_alignments(void **state)
{
    for (ULONG start = 0; start < 4; start++) {
        for (ULONG count = 0; count <= 40; count++) {
            for (ULONG i = 0; i < 64; i++)
                g_ulongs[i] = 0xA5A5A5A5;
            RtlFillMemoryUlong(&g_ulongs[start], count * sizeof(ULONG), 0xC001D00D);
            for (ULONG i = 0; i < 64; i++) {
                ULONG expect = (i >= start && i < start + count) ? 0xC001D00D : 0xA5A5A5A5;
                assert_int_equal(g_ulongs[i], expect);
            }
        }
    }
}

static void test_fill_ulong_zero_length(void **state)
{
    g_ulongs[0] = 3;
    RtlFillMemoryUlong(g_ulongs, 0, 9);
    assert_int_equal(g_ulongs[0], 3);
}

/* Off-contract Length: the trailing partial ULONG is left alone. */
static void test_fill_ulong_partial_tail_untouched(void **state)
{
    UCHAR *b = (UCHAR *)g_ulongs;
    ref_fill(b, 32, 0xEE);
    RtlFillMemoryUlong(b, 11, 0x04030201);
    static const UCHAR expect[] = {1, 2, 3, 4, 1, 2, 3, 4, 0xEE, 0xEE, 0xEE, 0xEE};
    assert_memory_equal(b, expect, sizeof(expect));
}

/* Off-contract alignment: the pattern is still stored as ULONGs from Destination. */
static void test_fill_ulong_unaligned(void **state)
{
    UCHAR *b = (UCHAR *)g_ulongs;
    ref_fill(b, 32, 0xEE);
    RtlFillMemoryUlong(b + 1, 8, 0x44332211);
    static const UCHAR expect[] = {0xEE, 0x11, 0x22, 0x33, 0x44, 0x11, 0x22, 0x33, 0x44, 0xEE};
    assert_memory_equal(b, expect, sizeof(expect));
}

static void test_fill_then_compare_ulong(void **state)
{
    RtlFillMemoryUlong(g_ulongs, sizeof(g_ulongs), 0x0BADF00D);
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, sizeof(g_ulongs), 0x0BADF00D), sizeof(g_ulongs));
    g_ulongs[63] = 0;
    assert_int_equal(RtlCompareMemoryUlong(g_ulongs, sizeof(g_ulongs), 0x0BADF00D), 63 * 4);
}

/* ---- property test -------------------------------------------------------- */

#define PROP_SIZE 512

/* Random copies, moves (overlapping or not), fills and compares on one buffer,
 * mirrored by the reference loops on another; the two must never diverge. */
static void test_memory_property(void **state)
{
    static UCHAR a[PROP_SIZE], r[PROP_SIZE];
    uint64_t seed = 0x9E3779B97F4A7C15ULL;

    pattern(a, PROP_SIZE, 1);
    pattern(r, PROP_SIZE, 1);
    for (ULONG iter = 0; iter < 20000; iter++) {
        ULONG op = (ULONG)(ntos_test_rand(&seed) % 5);
        SIZE_T n = (SIZE_T)(ntos_test_rand(&seed) % 200);
        SIZE_T d = (SIZE_T)(ntos_test_rand(&seed) % (PROP_SIZE - n + 1));
        SIZE_T s = (SIZE_T)(ntos_test_rand(&seed) % (PROP_SIZE - n + 1));
        UCHAR v = (UCHAR)ntos_test_rand(&seed);

        switch (op) {
        case 0:
            RtlMoveMemory(a + d, a + s, n);
            ref_move(r + d, r + s, n);
            break;
        case 1:
            RtlCopyMemory(a + d, a + s, n);
            ref_move(r + d, r + s, n);
            break;
        case 2:
            RtlFillMemory(a + d, n, v);
            ref_fill(r + d, n, v);
            break;
        case 3:
            RtlZeroMemory(a + d, n);
            ref_fill(r + d, n, 0);
            break;
        default:
            assert_int_equal(RtlCompareMemory(a + d, a + s, n), ref_compare(r + d, r + s, n));
            break;
        }
        if ((iter & 15) == 0)
            assert_bytes_equal(a, r, PROP_SIZE);
        /* Keep the buffer from collapsing into a single value. */
        if ((iter & 1023) == 0) {
            pattern(a, PROP_SIZE, iter);
            pattern(r, PROP_SIZE, iter);
        }
    }
    assert_bytes_equal(a, r, PROP_SIZE);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_copy_basic),
    cmocka_unit_test(test_copy_zero_length),
    cmocka_unit_test(test_copy_one_byte),
    cmocka_unit_test(test_copy_alignments),
    cmocka_unit_test(test_move_alignments_disjoint),
    cmocka_unit_test(test_move_overlap_up),
    cmocka_unit_test(test_move_overlap_down),
    cmocka_unit_test(test_move_same_pointer),
    cmocka_unit_test(test_copy_overlap_tolerated),
    cmocka_unit_test(test_copy_large),
    cmocka_unit_test(test_move_large_overlap),
    cmocka_unit_test(test_zero_alignments),
    cmocka_unit_test(test_fill_alignments),
    cmocka_unit_test(test_zero_fill_large),
    cmocka_unit_test(test_secure_zero_macro),
    cmocka_unit_test(test_compare_equal),
    cmocka_unit_test(test_compare_zero_length),
    cmocka_unit_test(test_compare_first_mismatch_every_index),
    cmocka_unit_test(test_compare_high_bit_difference),
    cmocka_unit_test(test_compare_large),
    cmocka_unit_test(test_equal_memory_macro),
    cmocka_unit_test(test_compare_ulong_all_match),
    cmocka_unit_test(test_compare_ulong_zero_length),
    cmocka_unit_test(test_compare_ulong_first_mismatch),
    cmocka_unit_test(test_compare_ulong_partial_match_not_counted),
    cmocka_unit_test(test_compare_ulong_invalid),
    cmocka_unit_test(test_fill_ulong_basic),
    cmocka_unit_test(test_fill_ulong_counts_and_alignments),
    cmocka_unit_test(test_fill_ulong_zero_length),
    cmocka_unit_test(test_fill_ulong_partial_tail_untouched),
    cmocka_unit_test(test_fill_ulong_unaligned),
    cmocka_unit_test(test_fill_then_compare_ulong),
    cmocka_unit_test(test_memory_property),
};

NTOS_TEST_GROUP(rtl_memory, tests, NULL, NULL);
