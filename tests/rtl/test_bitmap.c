/*
 * Rtl bitmaps: every routine at the sizes where word boundaries matter (0, 1,
 * 31, 32, 33, 64, 65, ...), with runs crossing ULONG boundaries, hints at and
 * past the end, wrap-around, invalid ranges, and a property test against a
 * byte-per-bit reference model.
 *
 * Every bitmap here lives in g_words with guard ULONGs after it, and the bits
 * of the last ULONG past SizeOfBitMap are filled with known garbage: after every
 * operation the guards and that tail must be unchanged (the Rtl routines own
 * only bits [0, SizeOfBitMap)), and the garbage must never show in a result.
 */
#include "ntos_test.h"
#include <ntos/rtl.h>

#define NOT_FOUND 0xFFFFFFFFu
#define MAXBITS 1100u
#define MAXWORDS ((MAXBITS + 31) / 32)
#define GUARD_WORDS 4
#define GUARD_VALUE 0xC3A5F00Du

static ULONG g_words[MAXWORDS + GUARD_WORDS];
static UCHAR g_model[MAXBITS];
static RTL_BITMAP g_bm;
static ULONG g_size;
static ULONG g_tail; /* expected bits past g_size in the last ULONG */

/* ---- fixture and reference model ------------------------------------------ */

static ULONG low_mask(ULONG bits)
{
    return bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1);
}

/* A bitmap of `size` bits, every ULONG = fill, tail bits taken from `tail`. */
static void make_bitmap(ULONG size, ULONG fill, ULONG tail)
{
    ULONG words = (size + 31) / 32;

    for (ULONG i = 0; i < MAXWORDS + GUARD_WORDS; i++)
        g_words[i] = GUARD_VALUE;
    for (ULONG i = 0; i < words; i++)
        g_words[i] = fill;
    g_tail = 0;
    if (size % 32 != 0) {
        ULONG m = low_mask(size % 32);
        g_words[words - 1] = (fill & m) | (tail & ~m);
        g_tail = tail & ~m;
    }
    for (ULONG i = 0; i < size; i++)
        g_model[i] = (UCHAR)((fill >> (i % 32)) & 1);
    g_size = size;
    RtlInitializeBitMap(&g_bm, g_words, size);
}

static void model_write(ULONG start, ULONG len, UCHAR v)
{
    for (ULONG i = 0; i < len; i++)
        g_model[start + i] = v;
}

static void set_ranges(const ULONG *ranges, ULONG count)
{
    for (ULONG i = 0; i < count; i++) {
        RtlSetBits(&g_bm, ranges[2 * i], ranges[2 * i + 1]);
        model_write(ranges[2 * i], ranges[2 * i + 1], 1);
    }
}

/* Bitmap contents equal the model; tail and guards are untouched. */
static void check_model(void)
{
    ULONG words = (g_size + 31) / 32;

    for (ULONG i = 0; i < g_size; i++) {
        ULONG bit = (g_words[i / 32] >> (i % 32)) & 1;
        if (bit != g_model[i])
            fail_msg("bit %u is %u, model says %u (size %u)", i, bit, g_model[i], g_size);
        if (RtlTestBit(&g_bm, i) != g_model[i])
            fail_msg("RtlTestBit(%u) disagrees with the model", i);
    }
    if (g_size % 32 != 0 && (g_words[words - 1] & ~low_mask(g_size % 32)) != g_tail)
        fail_msg("tail bits past %u were modified", g_size);
    for (ULONG i = words; i < MAXWORDS + GUARD_WORDS; i++) {
        if (g_words[i] != GUARD_VALUE)
            fail_msg("guard ULONG %u was modified (size %u)", i, g_size);
    }
}

/* run_len[i]: length of the run of value v starting at i. */
static ULONG g_run_len[MAXBITS + 1];

static void compute_runs(UCHAR v)
{
    g_run_len[g_size] = 0;
    for (ULONG i = g_size; i > 0; i--)
        g_run_len[i - 1] = (g_model[i - 1] == v) ? g_run_len[i] + 1 : 0;
}

static ULONG ref_find(ULONG n, ULONG hint, UCHAR v)
{
    if (n > g_size)
        return NOT_FOUND;
    if (hint >= g_size)
        hint = 0;
    if (n == 0)
        return hint;
    compute_runs(v);
    for (ULONG s = hint; s + n <= g_size; s++) {
        if (g_run_len[s] >= n)
            return s;
    }
    for (ULONG s = 0; s < hint && s + n <= g_size; s++) {
        if (g_run_len[s] >= n)
            return s;
    }
    return NOT_FOUND;
}

static ULONG ref_count(UCHAR v)
{
    ULONG c = 0;
    for (ULONG i = 0; i < g_size; i++)
        c += (g_model[i] == v);
    return c;
}

static ULONG ref_next_clear_run(ULONG from, ULONG *start)
{
    ULONG i = from;
    while (i < g_size && g_model[i] != 0)
        i++;
    if (i >= g_size) {
        *start = 0;
        return 0;
    }
    *start = i;
    ULONG e = i;
    while (e < g_size && g_model[e] == 0)
        e++;
    return e - i;
}

static ULONG ref_longest(ULONG *start)
{
    ULONG best = 0, bestStart = 0, pos = 0, s, l;
    while ((l = ref_next_clear_run(pos, &s)) != 0) {
        if (l > best) {
            best = l;
            bestStart = s;
        }
        pos = s + l;
    }
    *start = bestStart;
    return best;
}

/* All clear runs in address order, or stably sorted longest-first. */
static ULONG ref_runs(RTL_BITMAP_RUN *out, ULONG max, BOOLEAN longest)
{
    static RTL_BITMAP_RUN all[MAXBITS / 2 + 1];
    ULONG n = 0, pos = 0, s, l;

    while ((l = ref_next_clear_run(pos, &s)) != 0) {
        all[n].StartingIndex = s;
        all[n].NumberOfBits = l;
        n++;
        pos = s + l;
    }
    if (longest) {
        for (ULONG i = 1; i < n; i++) {
            RTL_BITMAP_RUN r = all[i];
            ULONG j = i;
            while (j > 0 && all[j - 1].NumberOfBits < r.NumberOfBits) {
                all[j] = all[j - 1];
                j--;
            }
            all[j] = r;
        }
    }
    if (n > max)
        n = max;
    for (ULONG i = 0; i < n; i++)
        out[i] = all[i];
    return n;
}

/* ---- initialisation and single bits --------------------------------------- */

static void test_initialize_does_not_touch_buffer(void **state)
{
    RTL_BITMAP bm;
    ULONG buf[2] = {0x12345678, 0x9ABCDEF0};
    RtlInitializeBitMap(&bm, buf, 50);
    assert_int_equal(bm.SizeOfBitMap, 50);
    assert_ptr_equal(bm.Buffer, buf);
    assert_int_equal(buf[0], 0x12345678);
    assert_int_equal(buf[1], 0x9ABCDEF0);
}

static void test_bit_numbering(void **state)
{
    /* Bit n is bit (n % 32) of Buffer[n / 32]. */
    make_bitmap(96, 0, 0);
    RtlSetBit(&g_bm, 0);
    RtlSetBit(&g_bm, 33);
    RtlSetBit(&g_bm, 95);
    assert_int_equal(g_words[0], 0x00000001);
    assert_int_equal(g_words[1], 0x00000002);
    assert_int_equal(g_words[2], 0x80000000);
}

static void test_set_clear_test_single_bits(void **state)
{
    static const ULONG sizes[] = {1, 31, 32, 33, 64, 65};
    for (ULONG k = 0; k < RTL_NUMBER_OF(sizes); k++) {
        ULONG size = sizes[k];
        ULONG bits[] = {0, size / 2, size - 1, 31, 32, 33};
        make_bitmap(size, 0, 0xFFFFFFFF);
        for (ULONG j = 0; j < RTL_NUMBER_OF(bits); j++) {
            ULONG b = bits[j];
            if (b >= size)
                continue;
            RtlSetBit(&g_bm, b);
            g_model[b] = 1;
            check_model();
            assert_true(RtlTestBit(&g_bm, b));
        }
        for (ULONG j = 0; j < RTL_NUMBER_OF(bits); j++) {
            ULONG b = bits[j];
            if (b >= size)
                continue;
            RtlClearBit(&g_bm, b);
            g_model[b] = 0;
            check_model();
            assert_false(RtlTestBit(&g_bm, b));
        }
    }
}

/* Out-of-range bit numbers are rejected: no write, TestBit says FALSE. */
static void test_single_bit_out_of_range(void **state)
{
    make_bitmap(33, 0, 0xFFFFFFFE);
    RtlSetBit(&g_bm, 33);
    RtlSetBit(&g_bm, 63);
    RtlSetBit(&g_bm, 64);
    RtlSetBit(&g_bm, 0xFFFFFFFF);
    check_model();
    assert_false(RtlTestBit(&g_bm, 33)); /* the tail there holds a 1 */
    assert_false(RtlTestBit(&g_bm, 0xFFFFFFFF));

    make_bitmap(33, 0xFFFFFFFF, 0xFFFFFFFF);
    RtlClearBit(&g_bm, 33);
    RtlClearBit(&g_bm, 40);
    RtlClearBit(&g_bm, 0xFFFFFFFF);
    check_model();
}

static void test_empty_bitmap(void **state)
{
    RTL_BITMAP_RUN run = {7, 7};
    ULONG start = 99;

    make_bitmap(0, 0, 0);
    RtlSetAllBits(&g_bm);
    RtlClearAllBits(&g_bm);
    RtlSetBits(&g_bm, 0, 0);
    RtlSetBit(&g_bm, 0);
    check_model();
    assert_false(RtlTestBit(&g_bm, 0));
    assert_int_equal(RtlNumberOfSetBits(&g_bm), 0);
    assert_int_equal(RtlNumberOfClearBits(&g_bm), 0);
    assert_false(RtlAreBitsClear(&g_bm, 0, 0));
    assert_false(RtlAreBitsSet(&g_bm, 0, 1));
    assert_int_equal(RtlFindClearBits(&g_bm, 1, 0), NOT_FOUND);
    assert_int_equal(RtlFindClearBits(&g_bm, 0, 0), 0);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 0);
    assert_int_equal(RtlFindLongestRunClear(&g_bm, &start), 0);
    assert_int_equal(RtlFindNextForwardRunClear(&g_bm, 0, &start), 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, &run, 1, TRUE), 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, &run, 1, FALSE), 0);
    /* A NULL buffer is fine for an empty bitmap: nothing may be read. */
    RtlInitializeBitMap(&g_bm, NULL, 0);
    assert_int_equal(RtlNumberOfClearBits(&g_bm), 0);
    assert_int_equal(RtlFindSetBits(&g_bm, 0, 5), 0);
    assert_int_equal(RtlFindClearBitsAndSet(&g_bm, 1, 0), NOT_FOUND);
    RtlSetAllBits(&g_bm);
}

/* ---- ranges: RtlSetBits / RtlClearBits / RtlAreBitsSet / RtlAreBitsClear -- */

struct range_case {
    ULONG Size, Start, Length;
    BOOLEAN Valid; /* fits inside the bitmap */
};

static const struct range_case g_range_cases[] = {
    {0, 0, 0, TRUE},          {0, 0, 1, FALSE},         {1, 0, 1, TRUE},
    {1, 1, 0, TRUE},          {1, 0, 2, FALSE},         {1, 1, 1, FALSE},
    {31, 0, 31, TRUE},        {31, 30, 1, TRUE},        {31, 31, 1, FALSE},
    {31, 5, 20, TRUE},        {32, 0, 32, TRUE},        {32, 31, 1, TRUE},
    {32, 32, 1, FALSE},       {32, 1, 32, FALSE},       {33, 31, 2, TRUE},
    {33, 32, 1, TRUE},        {33, 0, 33, TRUE},        {33, 33, 0, TRUE},
    {33, 34, 0, FALSE},       {33, 30, 4, FALSE},       {64, 0, 64, TRUE},
    {64, 1, 62, TRUE},        {64, 30, 4, TRUE},        {64, 63, 1, TRUE},
    {64, 64, 1, FALSE},       {64, 32, 32, TRUE},       {65, 0, 65, TRUE},
    {65, 64, 1, TRUE},        {65, 63, 2, TRUE},        {65, 1, 64, TRUE},
    {65, 2, 64, FALSE},       {100, 5, 95, TRUE},       {100, 5, 96, FALSE},
    {100, 0xFFFFFFFF, 2, FALSE}, {100, 50, 0xFFFFFFF0, FALSE}, {100, 0, 0xFFFFFFFF, FALSE},
    {100, 0xFFFFFFFF, 0, FALSE}, {1000, 33, 900, TRUE}, {1000, 31, 2, TRUE},
    {1000, 95, 70, TRUE},     {1000, 999, 1, TRUE},     {1000, 999, 2, FALSE},
    {257, 224, 33, TRUE},     {257, 0, 257, TRUE},      {257, 1, 257, FALSE},
    {257, 256, 1, TRUE},
};

static void run_range_case(const struct range_case *c, ULONG tail)
{
    BOOLEAN nonEmpty = (BOOLEAN)(c->Valid && c->Length != 0);

    /* Set on an all-clear bitmap. */
    make_bitmap(c->Size, 0, tail);
    RtlSetBits(&g_bm, c->Start, c->Length);
    if (c->Valid)
        model_write(c->Start, c->Length, 1);
    check_model();
    assert_int_equal(RtlAreBitsSet(&g_bm, c->Start, c->Length), nonEmpty);
    assert_false(RtlAreBitsClear(&g_bm, c->Start, c->Length));
    assert_int_equal(RtlNumberOfSetBits(&g_bm), nonEmpty ? c->Length : 0);
    if (nonEmpty && c->Start > 0)
        assert_false(RtlAreBitsSet(&g_bm, c->Start - 1, c->Length + 1));
    if (nonEmpty && c->Start + c->Length < c->Size)
        assert_false(RtlAreBitsSet(&g_bm, c->Start, c->Length + 1));

    /* Clear on an all-set bitmap. */
    make_bitmap(c->Size, 0xFFFFFFFF, tail);
    RtlClearBits(&g_bm, c->Start, c->Length);
    if (c->Valid)
        model_write(c->Start, c->Length, 0);
    check_model();
    assert_int_equal(RtlAreBitsClear(&g_bm, c->Start, c->Length), nonEmpty);
    assert_false(RtlAreBitsSet(&g_bm, c->Start, c->Length));
    assert_int_equal(RtlNumberOfClearBits(&g_bm), nonEmpty ? c->Length : 0);
    if (nonEmpty && c->Start > 0)
        assert_false(RtlAreBitsClear(&g_bm, c->Start - 1, c->Length + 1));
}

static void test_range_cases(void **state)
{
    for (ULONG i = 0; i < RTL_NUMBER_OF(g_range_cases); i++) {
        run_range_case(&g_range_cases[i], 0);
        run_range_case(&g_range_cases[i], 0xFFFFFFFF);
        run_range_case(&g_range_cases[i], 0x5A5A5A5A);
    }
}

static void test_set_bits_zero_length_is_noop(void **state)
{
    make_bitmap(64, 0, 0);
    RtlSetBits(&g_bm, 10, 0);
    RtlSetBits(&g_bm, 64, 0);
    check_model();
    make_bitmap(64, 0xFFFFFFFF, 0);
    RtlClearBits(&g_bm, 10, 0);
    RtlClearBits(&g_bm, 64, 0);
    check_model();
}

/* Every (start, length) pair on a 70-bit bitmap, both directions. */
static void test_set_clear_bits_exhaustive_small(void **state)
{
    for (ULONG start = 0; start <= 70; start++) {
        for (ULONG len = 0; start + len <= 70; len++) {
            make_bitmap(70, 0, 0xFFFFFFFF);
            RtlSetBits(&g_bm, start, len);
            model_write(start, len, 1);
            check_model();
            make_bitmap(70, 0xFFFFFFFF, 0);
            RtlClearBits(&g_bm, start, len);
            model_write(start, len, 0);
            check_model();
        }
    }
}

static void test_are_bits_mixed(void **state)
{
    make_bitmap(96, 0, 0);
    RtlSetBits(&g_bm, 20, 40); /* [20, 60) */
    assert_true(RtlAreBitsSet(&g_bm, 20, 40));
    assert_true(RtlAreBitsSet(&g_bm, 31, 2));
    assert_false(RtlAreBitsSet(&g_bm, 19, 2));
    assert_false(RtlAreBitsSet(&g_bm, 59, 2));
    assert_true(RtlAreBitsClear(&g_bm, 0, 20));
    assert_true(RtlAreBitsClear(&g_bm, 60, 36));
    assert_false(RtlAreBitsClear(&g_bm, 0, 21));
    assert_false(RtlAreBitsClear(&g_bm, 59, 37));
    /* Length 0 is FALSE even inside the bitmap (documented). */
    assert_false(RtlAreBitsSet(&g_bm, 25, 0));
    assert_false(RtlAreBitsClear(&g_bm, 5, 0));
}

/* The tail past SizeOfBitMap never counts, even when it is all ones/zeros. */
static void test_are_bits_ignore_tail(void **state)
{
    make_bitmap(40, 0, 0xFFFFFFFF);
    assert_true(RtlAreBitsClear(&g_bm, 0, 40));
    assert_false(RtlAreBitsClear(&g_bm, 0, 41));
    make_bitmap(40, 0xFFFFFFFF, 0);
    assert_true(RtlAreBitsSet(&g_bm, 32, 8));
    assert_false(RtlAreBitsSet(&g_bm, 32, 9));
}

/* ---- RtlSetAllBits / RtlClearAllBits and counts --------------------------- */

static void test_set_clear_all_preserve_tail(void **state)
{
    static const ULONG sizes[] = {1, 31, 32, 33, 63, 64, 65, 100, 1000, MAXBITS};
    static const ULONG tails[] = {0, 0xFFFFFFFF, 0xA5A5A5A5};
    for (ULONG k = 0; k < RTL_NUMBER_OF(sizes); k++) {
        for (ULONG t = 0; t < RTL_NUMBER_OF(tails); t++) {
            make_bitmap(sizes[k], 0x0F0F0F0F, tails[t]);
            RtlSetAllBits(&g_bm);
            model_write(0, sizes[k], 1);
            check_model();
            assert_int_equal(RtlNumberOfSetBits(&g_bm), sizes[k]);
            assert_int_equal(RtlNumberOfClearBits(&g_bm), 0);
            RtlClearAllBits(&g_bm);
            model_write(0, sizes[k], 0);
            check_model();
            assert_int_equal(RtlNumberOfSetBits(&g_bm), 0);
            assert_int_equal(RtlNumberOfClearBits(&g_bm), sizes[k]);
        }
    }
}

static void test_counts(void **state)
{
    make_bitmap(100, 0, 0xFFFFFFFF);
    assert_int_equal(RtlNumberOfSetBits(&g_bm), 0);
    assert_int_equal(RtlNumberOfClearBits(&g_bm), 100);
    RtlSetBits(&g_bm, 30, 5);
    RtlSetBit(&g_bm, 99);
    RtlSetBit(&g_bm, 0);
    assert_int_equal(RtlNumberOfSetBits(&g_bm), 7);
    assert_int_equal(RtlNumberOfClearBits(&g_bm), 93);
    make_bitmap(33, 0xAAAAAAAA, 0xFFFFFFFF);
    /* Bits 1, 3, ..., 31 are set; bit 32 (bit 0 of word 1) is clear. */
    assert_int_equal(RtlNumberOfSetBits(&g_bm), 16);
    assert_int_equal(RtlNumberOfClearBits(&g_bm), 17);
}

/* ---- RtlFind{Clear,Set}Bits ----------------------------------------------- */

struct find_case {
    ULONG Size;
    ULONG Ranges[3][2]; /* set ranges {start, length}; the rest is clear */
    ULONG Count;        /* how many Ranges are used */
    ULONG Number, Hint;
    ULONG ExpectClear, ExpectSet;
};

#define NF NOT_FOUND
static const struct find_case g_find_cases[] = {
    {0, {{0}}, 0, 0, 0, 0, 0},
    {0, {{0}}, 0, 1, 0, NF, NF},
    {1, {{0}}, 0, 1, 0, 0, NF},
    {1, {{0, 1}}, 1, 1, 0, NF, 0},
    {1, {{0}}, 0, 2, 0, NF, NF},
    {1, {{0}}, 0, 1, 5, 0, NF},                          /* hint past end -> 0 */
    {31, {{0}}, 0, 31, 0, 0, NF},
    {31, {{0}}, 0, 31, 30, 0, NF},                       /* wraps to 0 */
    {32, {{0, 32}}, 1, 32, 0, NF, 0},
    {32, {{31, 1}}, 1, 1, 31, 0, 31},                    /* hint at last bit */
    {33, {{0, 32}}, 1, 1, 0, 32, 0},
    {33, {{0, 32}}, 1, 2, 0, NF, 0},
    {33, {{32, 1}}, 1, 1, 10, 10, 32},
    {64, {{0, 30}, {34, 30}}, 2, 4, 0, 30, 0},           /* clear run crosses a ULONG */
    {64, {{0, 30}, {34, 30}}, 2, 5, 0, NF, 0},
    {64, {{0, 30}, {34, 30}}, 2, 4, 31, 30, 34},         /* run straddling the hint */
    {64, {{0, 30}, {34, 30}}, 2, 30, 1, NF, 34},
    {65, {{64, 1}}, 1, 1, 64, 0, 64},
    {65, {{0}}, 0, 65, 64, 0, NF},
    {65, {{0, 10}, {20, 45}}, 2, 10, 15, 10, 20},
    {65, {{0, 10}, {20, 45}}, 2, 45, 15, NF, 20},
    {100, {{0, 50}}, 1, 50, 99, 50, 0},
    {100, {{0, 50}}, 1, 51, 0, NF, NF},
    {100, {{40, 20}}, 1, 0, 77, 77, 77},                 /* zero bits: the hint */
    {100, {{40, 20}}, 1, 0, 100, 0, 0},                  /* ... hint past end -> 0 */
    {100, {{40, 20}}, 1, 0, 0xFFFFFFFF, 0, 0},
    {100, {{40, 20}}, 1, 20, 41, 60, 40},
    {100, {{40, 20}}, 1, 40, 50, 60, NF},
    {100, {{40, 20}}, 1, 41, 0, NF, NF},
    {100, {{40, 20}}, 1, 1, 40, 60, 40},
    {100, {{40, 20}}, 1, 1, 59, 60, 59},
    {96, {{0, 95}}, 1, 1, 0, 95, 0},
    {96, {{0, 95}}, 1, 1, 95, 95, 0},
    {128, {{31, 2}, {63, 2}, {95, 2}}, 3, 30, 0, 0, NF},
    {128, {{31, 2}, {63, 2}, {95, 2}}, 3, 31, 1, 97, NF},
    {128, {{31, 2}, {63, 2}, {95, 2}}, 3, 2, 34, 34, 63},
    {128, {{31, 2}, {63, 2}, {95, 2}}, 3, 2, 96, 97, 31},
    {128, {{31, 2}, {63, 2}, {95, 2}}, 3, 3, 0, 0, NF},
    {128, {{31, 2}, {63, 2}, {95, 2}}, 3, 2, 127, 0, 31},
    {40, {{0, 40}}, 1, 1, 39, NF, 39},
    {40, {{0}}, 0, 40, 1, 0, NF},
    {1000, {{0, 999}}, 1, 1, 500, 999, 500},
    {1000, {{1, 999}}, 1, 999, 2, NF, 1},
    {257, {{256, 1}}, 1, 256, 1, 0, NF},
    {257, {{0, 1}, {256, 1}}, 2, 255, 200, 1, NF},
    {33, {{0}}, 0, 33, 0, 0, NF},
    {64, {{0, 64}}, 1, 64, 63, NF, 0},
};
#undef NF

static void setup_find_case(const struct find_case *c, ULONG tail)
{
    make_bitmap(c->Size, 0, tail);
    for (ULONG r = 0; r < c->Count; r++) {
        RtlSetBits(&g_bm, c->Ranges[r][0], c->Ranges[r][1]);
        model_write(c->Ranges[r][0], c->Ranges[r][1], 1);
    }
    check_model();
}

static void run_find_case(ULONG index, const struct find_case *c, ULONG tail)
{
    ULONG got;

    setup_find_case(c, tail);
    /* The hand-written expectations and the model must agree... */
    if (ref_find(c->Number, c->Hint, 0) != c->ExpectClear || ref_find(c->Number, c->Hint, 1) != c->ExpectSet)
        fail_msg("find case %u: table and reference model disagree", index);
    /* ...and so must the implementation. */
    got = RtlFindClearBits(&g_bm, c->Number, c->Hint);
    if (got != c->ExpectClear)
        fail_msg("find case %u: RtlFindClearBits = %x, expected %x", index, got, c->ExpectClear);
    got = RtlFindSetBits(&g_bm, c->Number, c->Hint);
    if (got != c->ExpectSet)
        fail_msg("find case %u: RtlFindSetBits = %x, expected %x", index, got, c->ExpectSet);
    check_model();

    /* The *And* variants return the same index and flip exactly that run. */
    got = RtlFindClearBitsAndSet(&g_bm, c->Number, c->Hint);
    assert_int_equal(got, c->ExpectClear);
    if (got != NOT_FOUND)
        model_write(got, c->Number, 1);
    check_model();

    setup_find_case(c, tail);
    got = RtlFindSetBitsAndClear(&g_bm, c->Number, c->Hint);
    assert_int_equal(got, c->ExpectSet);
    if (got != NOT_FOUND)
        model_write(got, c->Number, 0);
    check_model();
}

static void test_find_cases(void **state)
{
    for (ULONG i = 0; i < RTL_NUMBER_OF(g_find_cases); i++) {
        run_find_case(i, &g_find_cases[i], 0);
        run_find_case(i, &g_find_cases[i], 0xFFFFFFFF);
    }
}

/* Repeated find-and-set hands out disjoint runs until the bitmap is full. */
static void test_find_clear_and_set_allocator(void **state)
{
    ULONG hint = 0, got, handed = 0;

    make_bitmap(1000, 0, 0xFFFFFFFF);
    while ((got = RtlFindClearBitsAndSet(&g_bm, 7, hint)) != NOT_FOUND) {
        assert_true(got + 7 <= 1000);
        assert_true(ref_find(7, hint, 0) == got);
        model_write(got, 7, 1);
        handed += 7;
        hint = got + 7;
    }
    check_model();
    assert_int_equal(handed, 994);
    assert_int_equal(RtlNumberOfClearBits(&g_bm), 6);
    assert_int_equal(RtlFindClearBitsAndSet(&g_bm, 6, 0), 994);
    assert_int_equal(RtlFindClearBitsAndSet(&g_bm, 1, 0), NOT_FOUND);
    assert_int_equal(RtlNumberOfSetBits(&g_bm), 1000);
    /* And back again. */
    hint = 999;
    while ((got = RtlFindSetBitsAndClear(&g_bm, 10, hint)) != NOT_FOUND) {
        model_write(got, 10, 0);
        hint = got;
    }
    check_model();
    assert_int_equal(RtlNumberOfSetBits(&g_bm), 0);
}

/* NumberToFind == 0 changes nothing in the *And* variants. */
static void test_find_zero_bits_changes_nothing(void **state)
{
    make_bitmap(64, 0x00FF00FF, 0);
    assert_int_equal(RtlFindClearBitsAndSet(&g_bm, 0, 13), 13);
    assert_int_equal(RtlFindSetBitsAndClear(&g_bm, 0, 70), 0);
    check_model();
}

/* Garbage past SizeOfBitMap never forms part of a run. */
static void test_find_ignores_tail(void **state)
{
    make_bitmap(40, 0xFFFFFFFF, 0);
    RtlClearBits(&g_bm, 36, 4);
    model_write(36, 4, 0);
    assert_int_equal(RtlFindClearBits(&g_bm, 4, 0), 36);
    assert_int_equal(RtlFindClearBits(&g_bm, 5, 0), NOT_FOUND);
    make_bitmap(40, 0, 0xFFFFFFFF);
    RtlSetBits(&g_bm, 36, 4);
    model_write(36, 4, 1);
    assert_int_equal(RtlFindSetBits(&g_bm, 4, 0), 36);
    assert_int_equal(RtlFindSetBits(&g_bm, 5, 30), NOT_FOUND);
    check_model();
}

/* ---- clear-run queries ---------------------------------------------------- */

static const ULONG g_three_walls[] = {31, 2, 63, 2, 95, 2}; /* on a 128-bit map */

static void test_first_run_clear(void **state)
{
    ULONG start = 12345;

    make_bitmap(128, 0, 0);
    set_ranges(g_three_walls, 3);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 31);
    assert_int_equal(start, 0);

    RtlSetBits(&g_bm, 0, 5);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 26);
    assert_int_equal(start, 5);

    make_bitmap(65, 0xFFFFFFFF, 0);
    RtlClearBit(&g_bm, 64);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 1);
    assert_int_equal(start, 64);

    make_bitmap(65, 0, 0);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 65);
    assert_int_equal(start, 0);

    make_bitmap(65, 0xFFFFFFFF, 0);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 0);
    assert_int_equal(start, 0);
}

static void test_first_run_clear_stops_at_size(void **state)
{
    ULONG start;
    make_bitmap(33, 0xFFFFFFFF, 0); /* tail zeros must not extend the run */
    RtlClearBit(&g_bm, 32);
    assert_int_equal(RtlFindFirstRunClear(&g_bm, &start), 1);
    assert_int_equal(start, 32);
}

static void test_longest_run_clear(void **state)
{
    ULONG start = 777;

    make_bitmap(128, 0, 0xFFFFFFFF);
    set_ranges(g_three_walls, 3);
    /* Two runs of 31 bits (0 and 97): the lower start wins. */
    assert_int_equal(RtlFindLongestRunClear(&g_bm, &start), 31);
    assert_int_equal(start, 0);

    RtlSetBit(&g_bm, 0);
    assert_int_equal(RtlFindLongestRunClear(&g_bm, &start), 31);
    assert_int_equal(start, 97);

    make_bitmap(100, 0xFFFFFFFF, 0);
    assert_int_equal(RtlFindLongestRunClear(&g_bm, &start), 0);
    assert_int_equal(start, 0);
    RtlClearBits(&g_bm, 90, 10); /* a run ending exactly at the end */
    RtlClearBits(&g_bm, 10, 9);
    assert_int_equal(RtlFindLongestRunClear(&g_bm, &start), 10);
    assert_int_equal(start, 90);

    make_bitmap(1, 0, 0);
    assert_int_equal(RtlFindLongestRunClear(&g_bm, &start), 1);
    assert_int_equal(start, 0);
}

static void test_next_forward_run_clear(void **state)
{
    static const struct {
        ULONG From, Length, Start;
    } cases[] = {
        {0, 31, 0}, {30, 1, 30}, {31, 30, 33}, {32, 30, 33}, {33, 30, 33}, {40, 23, 40},
        {62, 1, 62}, {63, 30, 65}, {96, 31, 97}, {127, 1, 127}, {128, 0, 0}, {5000, 0, 0},
    };
    make_bitmap(128, 0, 0);
    set_ranges(g_three_walls, 3);
    for (ULONG i = 0; i < RTL_NUMBER_OF(cases); i++) {
        ULONG start = 0xDEAD;
        ULONG len = RtlFindNextForwardRunClear(&g_bm, cases[i].From, &start);
        if (len != cases[i].Length || start != cases[i].Start)
            fail_msg("from %u: got (%u, %u), expected (%u, %u)", cases[i].From, start, len, cases[i].Start,
                     cases[i].Length);
    }
    make_bitmap(64, 0xFFFFFFFF, 0);
    ULONG s;
    assert_int_equal(RtlFindNextForwardRunClear(&g_bm, 0, &s), 0);
}

static void check_runs(const RTL_BITMAP_RUN *got, ULONG n, const ULONG *expect)
{
    for (ULONG i = 0; i < n; i++) {
        if (got[i].StartingIndex != expect[2 * i] || got[i].NumberOfBits != expect[2 * i + 1])
            fail_msg("run %u is (%u, %u), expected (%u, %u)", i, got[i].StartingIndex, got[i].NumberOfBits,
                     expect[2 * i], expect[2 * i + 1]);
    }
}

static void test_find_clear_runs(void **state)
{
    RTL_BITMAP_RUN runs[10];
    static const ULONG inOrder[] = {0, 31, 33, 30, 65, 30, 97, 31};
    static const ULONG longest[] = {0, 31, 97, 31, 33, 30, 65, 30};

    make_bitmap(128, 0, 0xFFFFFFFF);
    set_ranges(g_three_walls, 3);

    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 10, FALSE), 4);
    check_runs(runs, 4, inOrder);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 2, FALSE), 2);
    check_runs(runs, 2, inOrder);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 10, TRUE), 4);
    check_runs(runs, 4, longest);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 2, TRUE), 2);
    check_runs(runs, 2, longest);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 3, TRUE), 3);
    check_runs(runs, 3, longest);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 1, TRUE), 1);
    check_runs(runs, 1, longest);
}

static void test_find_clear_runs_longest_picks_late_run(void **state)
{
    RTL_BITMAP_RUN runs[2];
    static const ULONG expect[] = {70, 30, 0, 10};

    make_bitmap(100, 0xFFFFFFFF, 0);
    RtlClearBits(&g_bm, 0, 10);
    RtlClearBits(&g_bm, 20, 5);
    RtlClearBits(&g_bm, 30, 2);
    RtlClearBits(&g_bm, 70, 30);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 2, TRUE), 2);
    check_runs(runs, 2, expect);
}

static void test_find_clear_runs_edge(void **state)
{
    RTL_BITMAP_RUN runs[4];
    static const ULONG whole[] = {0, 65};

    /* SizeOfRunArray == 0: nothing is written. */
    runs[0].StartingIndex = 0xAAAA;
    runs[0].NumberOfBits = 0xBBBB;
    make_bitmap(65, 0, 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 0, TRUE), 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 0, FALSE), 0);
    assert_int_equal(runs[0].StartingIndex, 0xAAAA);
    assert_int_equal(runs[0].NumberOfBits, 0xBBBB);

    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 4, FALSE), 1);
    check_runs(runs, 1, whole);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 4, TRUE), 1);
    check_runs(runs, 1, whole);

    make_bitmap(65, 0xFFFFFFFF, 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 4, TRUE), 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 4, FALSE), 0);

    /* Alternating bits: 32 single-bit runs, only the first four are kept. */
    make_bitmap(64, 0x55555555, 0);
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 4, FALSE), 4);
    for (ULONG i = 0; i < 4; i++) {
        assert_int_equal(runs[i].StartingIndex, 2 * i + 1);
        assert_int_equal(runs[i].NumberOfBits, 1);
    }
    assert_int_equal(RtlFindClearRuns(&g_bm, runs, 4, TRUE), 4);
    for (ULONG i = 0; i < 4; i++)
        assert_int_equal(runs[i].StartingIndex, 2 * i + 1);
}

/* ---- RtlFindMostSignificantBit / RtlFindLeastSignificantBit --------------- */

static const struct {
    ULONGLONG Value;
    CCHAR Most, Least;
} g_msb_cases[] = {
    {0, -1, -1},
    {1, 0, 0},
    {2, 1, 1},
    {3, 1, 0},
    {0x80, 7, 7},
    {0x81, 7, 0},
    {0xFF00, 15, 8},
    {0x80000000ULL, 31, 31},
    {0x100000000ULL, 32, 32},
    {0x180000000ULL, 32, 31},
    {0x8000000000000000ULL, 63, 63},
    {0x8000000000000001ULL, 63, 0},
    {0xFFFFFFFFFFFFFFFFULL, 63, 0},
    {0x0000000100000001ULL, 32, 0},
    {0x0010000000000000ULL, 52, 52},
    {0x7FFFFFFFFFFFFFFFULL, 62, 0},
    {0xFFFFFFFF00000000ULL, 63, 32},
    {0x00000000FFFFFFFFULL, 31, 0},
    {0x0000FFFF00000000ULL, 47, 32},
    {0x4000000000000000ULL, 62, 62},
    {0x1234567890ABCDEFULL, 60, 0},
    {0xA000000000000000ULL, 63, 61},
};

static void test_significant_bits(void **state)
{
    for (ULONG i = 0; i < RTL_NUMBER_OF(g_msb_cases); i++) {
        assert_int_equal(RtlFindMostSignificantBit(g_msb_cases[i].Value), g_msb_cases[i].Most);
        assert_int_equal(RtlFindLeastSignificantBit(g_msb_cases[i].Value), g_msb_cases[i].Least);
    }
    for (ULONG b = 0; b < 64; b++) {
        assert_int_equal(RtlFindMostSignificantBit(1ULL << b), (CCHAR)b);
        assert_int_equal(RtlFindLeastSignificantBit(1ULL << b), (CCHAR)b);
        assert_int_equal(RtlFindMostSignificantBit((1ULL << b) | 1), (CCHAR)b);
        assert_int_equal(RtlFindLeastSignificantBit(~0ULL << b), (CCHAR)b);
    }
}

/* ---- property test against the reference model ---------------------------- */

static ULONG rnd(uint64_t *seed, ULONG bound)
{
    return bound == 0 ? 0 : (ULONG)(ntos_test_rand(seed) % bound);
}

/* A length biased towards small runs, sometimes larger, sometimes too large. */
static ULONG rnd_len(uint64_t *seed)
{
    switch (rnd(seed, 8)) {
    case 0:
        return 0;
    case 1:
    case 2:
    case 3:
        return 1 + rnd(seed, 8);
    case 4:
    case 5:
        return 1 + rnd(seed, 40);
    case 6:
        return rnd(seed, g_size + 1);
    default:
        return rnd(seed, g_size + 40);
    }
}

static void property_run(ULONG size, ULONG ops, uint64_t seed)
{
    RTL_BITMAP_RUN got[8], want[8];
    ULONG s1, s2, l1, l2;

    make_bitmap(size, (ULONG)ntos_test_rand(&seed), (ULONG)ntos_test_rand(&seed));
    for (ULONG iter = 0; iter < ops; iter++) {
        ULONG op = rnd(&seed, 16);
        ULONG start = rnd(&seed, size + 8);
        ULONG len = rnd_len(&seed);
        ULONG hint = rnd(&seed, 10) == 0 ? rnd(&seed, 0xFFFFFFFF) : rnd(&seed, size + 4);
        BOOLEAN fits = (BOOLEAN)(start <= size && len <= size - start);

        switch (op) {
        case 0:
        case 1:
            RtlSetBits(&g_bm, start, len);
            if (fits)
                model_write(start, len, 1);
            break;
        case 2:
        case 3:
            RtlClearBits(&g_bm, start, len);
            if (fits)
                model_write(start, len, 0);
            break;
        case 4:
            if (rnd(&seed, 2)) {
                RtlSetBit(&g_bm, start);
                if (start < size)
                    g_model[start] = 1;
            } else {
                RtlClearBit(&g_bm, start);
                if (start < size)
                    g_model[start] = 0;
            }
            break;
        case 5:
            assert_int_equal(RtlFindClearBits(&g_bm, len, hint), ref_find(len, hint, 0));
            break;
        case 6:
            assert_int_equal(RtlFindSetBits(&g_bm, len, hint), ref_find(len, hint, 1));
            break;
        case 7: {
            ULONG want1 = ref_find(len, hint, 0);
            assert_int_equal(RtlFindClearBitsAndSet(&g_bm, len, hint), want1);
            if (want1 != NOT_FOUND)
                model_write(want1, len, 1);
            break;
        }
        case 8: {
            ULONG want1 = ref_find(len, hint, 1);
            assert_int_equal(RtlFindSetBitsAndClear(&g_bm, len, hint), want1);
            if (want1 != NOT_FOUND)
                model_write(want1, len, 0);
            break;
        }
        case 9:
            assert_int_equal(RtlNumberOfSetBits(&g_bm), ref_count(1));
            assert_int_equal(RtlNumberOfClearBits(&g_bm), ref_count(0));
            break;
        case 10:
            l1 = RtlFindFirstRunClear(&g_bm, &s1);
            l2 = ref_next_clear_run(0, &s2);
            assert_int_equal(l1, l2);
            assert_int_equal(s1, s2);
            l1 = RtlFindLongestRunClear(&g_bm, &s1);
            l2 = ref_longest(&s2);
            assert_int_equal(l1, l2);
            assert_int_equal(s1, s2);
            break;
        case 11:
            l1 = RtlFindNextForwardRunClear(&g_bm, start, &s1);
            l2 = ref_next_clear_run(start, &s2);
            assert_int_equal(l1, l2);
            assert_int_equal(s1, s2);
            break;
        case 12: {
            ULONG k = rnd(&seed, 9);
            BOOLEAN longest = (BOOLEAN)rnd(&seed, 2);
            ULONG n = RtlFindClearRuns(&g_bm, got, k, longest);
            assert_int_equal(n, ref_runs(want, k, longest));
            for (ULONG i = 0; i < n; i++) {
                assert_int_equal(got[i].StartingIndex, want[i].StartingIndex);
                assert_int_equal(got[i].NumberOfBits, want[i].NumberOfBits);
            }
            break;
        }
        case 13: {
            BOOLEAN allSet = fits && len != 0, allClear = fits && len != 0;
            for (ULONG i = 0; fits && i < len; i++) {
                if (g_model[start + i])
                    allClear = FALSE;
                else
                    allSet = FALSE;
            }
            assert_int_equal(RtlAreBitsSet(&g_bm, start, len), allSet);
            assert_int_equal(RtlAreBitsClear(&g_bm, start, len), allClear);
            break;
        }
        case 14:
            assert_int_equal(RtlTestBit(&g_bm, start), start < size ? g_model[start] : 0);
            break;
        default:
            /* Rare whole-map resets keep both dense and sparse states visited. */
            if (rnd(&seed, 8) == 0) {
                if (rnd(&seed, 2)) {
                    RtlSetAllBits(&g_bm);
                    model_write(0, size, 1);
                } else {
                    RtlClearAllBits(&g_bm);
                    model_write(0, size, 0);
                }
            }
            break;
        }
        if ((iter & 7) == 0)
            check_model();
    }
    check_model();
}

static void test_property_small_sizes(void **state)
{
    static const ULONG sizes[] = {1, 2, 31, 32, 33, 63, 64, 65};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++)
        property_run(sizes[i], 3000, 0x1234ULL + i);
}

static void test_property_medium_sizes(void **state)
{
    static const ULONG sizes[] = {96, 127, 129, 200, 257};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++)
        property_run(sizes[i], 4000, 0xBEEFULL * (i + 1));
}

static void test_property_large_size(void **state)
{
    property_run(1000, 5000, 0xC0FFEEULL);
    property_run(MAXBITS, 3000, 0xFACADEULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_initialize_does_not_touch_buffer),
    cmocka_unit_test(test_bit_numbering),
    cmocka_unit_test(test_set_clear_test_single_bits),
    cmocka_unit_test(test_single_bit_out_of_range),
    cmocka_unit_test(test_empty_bitmap),
    cmocka_unit_test(test_range_cases),
    cmocka_unit_test(test_set_bits_zero_length_is_noop),
    cmocka_unit_test(test_set_clear_bits_exhaustive_small),
    cmocka_unit_test(test_are_bits_mixed),
    cmocka_unit_test(test_are_bits_ignore_tail),
    cmocka_unit_test(test_set_clear_all_preserve_tail),
    cmocka_unit_test(test_counts),
    cmocka_unit_test(test_find_cases),
    cmocka_unit_test(test_find_clear_and_set_allocator),
    cmocka_unit_test(test_find_zero_bits_changes_nothing),
    cmocka_unit_test(test_find_ignores_tail),
    cmocka_unit_test(test_first_run_clear),
    cmocka_unit_test(test_first_run_clear_stops_at_size),
    cmocka_unit_test(test_longest_run_clear),
    cmocka_unit_test(test_next_forward_run_clear),
    cmocka_unit_test(test_find_clear_runs),
    cmocka_unit_test(test_find_clear_runs_longest_picks_late_run),
    cmocka_unit_test(test_find_clear_runs_edge),
    cmocka_unit_test(test_significant_bits),
    cmocka_unit_test(test_property_small_sizes),
    cmocka_unit_test(test_property_medium_sizes),
    cmocka_unit_test(test_property_large_size),
};

NTOS_TEST_GROUP(rtl_bitmap, tests, NULL, NULL);
