/*
 * The model harness's shrinker, checked on a failure whose cause is known: the
 * "real code" below goes wrong only after an operation of kind 3 is followed,
 * anywhere later, by one of kind 7 with argument 5. Out of a long random
 * sequence the reproducer must be exactly those two operations, with every
 * argument that does not matter zeroed; and an agreeing run must not fail.
 */
#include "ntos_test.h"
#include "model.h"

static ULONG shrink_run(void *ctx, const model_op *ops, ULONG n, char *why, ULONG whysize)
{
    (void)ctx;
    BOOLEAN armed = FALSE;
    for (ULONG i = 0; i < n; i++) {
        if (ops[i].Kind == 3)
            armed = TRUE;
        else if (armed && ops[i].Kind == 7 && ops[i].A == 5) {
            model_say(why, whysize, "kind 7 (5) after kind 3 at op %u", i + 1);
            return i + 1;
        }
    }
    return 0;
}

static ULONG never_run(void *ctx, const model_op *ops, ULONG n, char *why, ULONG whysize)
{
    (void)ctx, (void)ops, (void)n, (void)why, (void)whysize;
    return 0;
}

static void shrink_describe(void *ctx, const model_op *op, char *text, ULONG size)
{
    (void)ctx;
    model_say(text, size, "kind %u (%u, %u, %u)", op->Kind, op->A, op->B, op->C);
}

static model_op shrink_ops[2000];

static void shrinker_finds_the_two_operations(void **state)
{
    (void)state;
    model_spec spec = {"shrink-selftest", shrink_run, shrink_describe, NULL};
    static model_result result;
    ULONG found = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        model_generate(&rng, shrink_ops, 2000, 10, 10, 1000, 1000);
        model_check(&spec, seed, shrink_ops, 2000, &result);
        if (!result.Failed)
            continue;
        found++;
        assert_true(result.OriginalCount > 2);
        assert_int_equal(result.ShrunkCount, 2);
        assert_int_equal(result.Shrunk[0].Kind, 3);
        assert_int_equal(result.Shrunk[0].A, 0);
        assert_int_equal(result.Shrunk[0].B, 0);
        assert_int_equal(result.Shrunk[1].Kind, 7);
        assert_int_equal(result.Shrunk[1].A, 5);
        assert_int_equal(result.Shrunk[1].C, 0);
        assert_true(result.Runs <= MODEL_MAX_RUNS);
    }
    /* 2000 ops over 10 kinds x 10 arguments: every seed contains the pattern. */
    assert_int_equal(found, 8);
}

static void agreeing_run_passes(void **state)
{
    (void)state;
    model_spec spec = {"agree", never_run, shrink_describe, NULL};
    static model_result result;
    uint64_t rng = 42;
    model_generate(&rng, shrink_ops, 2000, 10, 10, 10, 10);
    model_check(&spec, 42, shrink_ops, 2000, &result);
    assert_false(result.Failed);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shrinker_finds_the_two_operations),
    cmocka_unit_test(agreeing_run_passes),
};

NTOS_TEST_GROUP(verify_model_shrink, tests, NULL, NULL);
