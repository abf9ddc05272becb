/*
 * Model-based property test: the RTL bitmap against a reference model (one
 * byte per bit, every query answered by a plain loop) over long random
 * operation sequences with fixed seeds. A mismatch reports the seed and the
 * step, which replays it. Runs in both runners (CMocka and in-kernel).
 */
#include "ntos_test.h"
#include <ntos/rtl.h>

#define MB_BITS 301 /* not a multiple of 32: the tail word is exercised */
#define MB_STEPS 4000

static UCHAR mb_model[MB_BITS];

static ULONG mb_count(void)
{
    ULONG n = 0;
    for (ULONG i = 0; i < MB_BITS; i++)
        n += mb_model[i];
    return n;
}

static BOOLEAN mb_all(ULONG start, ULONG len, UCHAR v)
{
    for (ULONG i = start; i < start + len; i++)
        if (mb_model[i] != v)
            return FALSE;
    return TRUE;
}

/* Is there a run of `len` bits equal to v anywhere? */
static BOOLEAN mb_exists(ULONG len, UCHAR v)
{
    for (ULONG s = 0; s + len <= MB_BITS; s++)
        if (mb_all(s, len, v))
            return TRUE;
    return FALSE;
}

static void mb_run(uint64_t seed)
{
    static ULONG buffer[(MB_BITS + 31) / 32];
    RTL_BITMAP bm;
    uint64_t rng = seed;
    RtlInitializeBitMap(&bm, buffer, MB_BITS);
    RtlClearAllBits(&bm);
    for (ULONG i = 0; i < MB_BITS; i++)
        mb_model[i] = 0;
    for (ULONG step = 0; step < MB_STEPS; step++) {
        ULONG op = (ULONG)(ntos_test_rand(&rng) % 7);
        ULONG start = (ULONG)(ntos_test_rand(&rng) % MB_BITS);
        ULONG len = 1 + (ULONG)(ntos_test_rand(&rng) % 24);
        if (start + len > MB_BITS)
            len = MB_BITS - start;
        ULONG hint = (ULONG)(ntos_test_rand(&rng) % MB_BITS);
        switch (op) {
        case 0:
            RtlSetBits(&bm, start, len);
            for (ULONG i = start; i < start + len; i++)
                mb_model[i] = 1;
            break;
        case 1:
            RtlClearBits(&bm, start, len);
            for (ULONG i = start; i < start + len; i++)
                mb_model[i] = 0;
            break;
        case 2:
        case 3: {
            UCHAR want = op == 2 ? 0 : 1;
            ULONG at = want == 0 ? RtlFindClearBitsAndSet(&bm, len, hint) : RtlFindSetBitsAndClear(&bm, len, hint);
            if (at == 0xFFFFFFFF) {
                if (mb_exists(len, want))
                    fail_msg("seed %llu step %u: find %s run of %u failed but one exists",
                             (unsigned long long)seed, step, want ? "set" : "clear", len);
            } else {
                if (at + len > MB_BITS || !mb_all(at, len, want))
                    fail_msg("seed %llu step %u: find %s run of %u returned %u, not such a run",
                             (unsigned long long)seed, step, want ? "set" : "clear", len, at);
                for (ULONG i = at; i < at + len; i++)
                    mb_model[i] = !want;
            }
            break;
        }
        case 4:
            if (RtlAreBitsSet(&bm, start, len) != mb_all(start, len, 1))
                fail_msg("seed %llu step %u: RtlAreBitsSet(%u, %u)", (unsigned long long)seed, step, start, len);
            if (RtlAreBitsClear(&bm, start, len) != mb_all(start, len, 0))
                fail_msg("seed %llu step %u: RtlAreBitsClear(%u, %u)", (unsigned long long)seed, step, start, len);
            break;
        case 5:
            if (RtlTestBit(&bm, start) != mb_model[start])
                fail_msg("seed %llu step %u: RtlTestBit(%u)", (unsigned long long)seed, step, start);
            break;
        default:
            if (RtlNumberOfSetBits(&bm) != mb_count() || RtlNumberOfClearBits(&bm) != MB_BITS - mb_count())
                fail_msg("seed %llu step %u: set-bit count %u, model %u", (unsigned long long)seed, step,
                         RtlNumberOfSetBits(&bm), mb_count());
            break;
        }
    }
    /* Whole-map agreement at the end. */
    for (ULONG i = 0; i < MB_BITS; i++)
        if (RtlTestBit(&bm, i) != mb_model[i])
            fail_msg("seed %llu: bit %u differs at the end", (unsigned long long)seed, i);
}

static void model_bitmap_random_sequences(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++)
        mb_run(seed * 0x9E3779B97F4A7C15ULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_bitmap_random_sequences),
};

NTOS_TEST_GROUP(verify_model_bitmap, tests, NULL, NULL);
