/*
 * Model-based property test: the RTL bitmap against a reference model (one
 * byte per bit, every query answered by a plain loop) over long random
 * operation sequences with fixed seeds. A mismatch is shrunk to a short
 * reproducer (tests/verify/model.h). Runs in both runners (CMocka and in-kernel).
 */
#include "ntos_test.h"
#include "model.h"
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

#define MB_FAIL(...)                                                                                \
    do {                                                                                            \
        model_say(why, whysize, __VA_ARGS__);                                                       \
        return step + 1;                                                                            \
    } while (0)

/* Fresh map and model, then ops[0..n): 0 if they agree throughout, else the
 * 1-based index of the first operation after which they differ. */
static ULONG mb_apply(void *ctx, const model_op *ops, ULONG n, char *why, ULONG whysize)
{
    (void)ctx;
    static ULONG buffer[(MB_BITS + 31) / 32];
    RTL_BITMAP bm;
    RtlInitializeBitMap(&bm, buffer, MB_BITS);
    RtlClearAllBits(&bm);
    for (ULONG i = 0; i < MB_BITS; i++)
        mb_model[i] = 0;
    for (ULONG step = 0; step < n; step++) {
        ULONG op = ops[step].Kind;
        ULONG start = ops[step].A % MB_BITS;
        ULONG len = 1 + ops[step].B % 24;
        if (start + len > MB_BITS)
            len = MB_BITS - start;
        ULONG hint = ops[step].C % MB_BITS;
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
                    MB_FAIL("find %s run of %u failed but one exists", want ? "set" : "clear", len);
            } else {
                if (at + len > MB_BITS || !mb_all(at, len, want))
                    MB_FAIL("find %s run of %u returned %u, not such a run", want ? "set" : "clear", len, at);
                for (ULONG i = at; i < at + len; i++)
                    mb_model[i] = !want;
            }
            break;
        }
        case 4:
            if (RtlAreBitsSet(&bm, start, len) != mb_all(start, len, 1))
                MB_FAIL("RtlAreBitsSet(%u, %u)", start, len);
            if (RtlAreBitsClear(&bm, start, len) != mb_all(start, len, 0))
                MB_FAIL("RtlAreBitsClear(%u, %u)", start, len);
            break;
        case 5:
            if (RtlTestBit(&bm, start) != mb_model[start])
                MB_FAIL("RtlTestBit(%u)", start);
            break;
        default:
            if (RtlNumberOfSetBits(&bm) != mb_count() || RtlNumberOfClearBits(&bm) != MB_BITS - mb_count())
                MB_FAIL("set-bit count %u, model %u", RtlNumberOfSetBits(&bm), mb_count());
            break;
        }
        /* Whole-map agreement after the last operation. */
        if (step + 1 == n)
            for (ULONG i = 0; i < MB_BITS; i++)
                if (RtlTestBit(&bm, i) != mb_model[i])
                    MB_FAIL("bit %u differs at the end", i);
    }
    return 0;
}

static void mb_describe(void *ctx, const model_op *op, char *text, ULONG size)
{
    (void)ctx;
    static const char *const names[] = {"set", "clear", "find-clear-and-set", "find-set-and-clear",
                                        "are-bits-set/clear", "test", "count"};
    ULONG start = op->A % MB_BITS, len = 1 + op->B % 24;
    if (start + len > MB_BITS)
        len = MB_BITS - start;
    model_say(text, size, "%s start %u length %u hint %u", names[op->Kind], start, len, op->C % MB_BITS);
}

static model_op mb_ops[MB_STEPS];

static void model_bitmap_random_sequences(void **state)
{
    (void)state;
    model_spec spec = {"bitmap", mb_apply, mb_describe, NULL};
    for (uint64_t seed = 1; seed <= 6; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        model_generate(&rng, mb_ops, MB_STEPS, 7, MB_BITS, 24, MB_BITS);
        model_check(&spec, seed, mb_ops, MB_STEPS, NULL);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_bitmap_random_sequences),
};

NTOS_TEST_GROUP(verify_model_bitmap, tests, NULL, NULL);
