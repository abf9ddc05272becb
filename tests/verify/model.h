/*
 * Model-based property tests: a small harness that runs a generated operation
 * sequence against the real code and a reference model, and, when they
 * disagree, shrinks the sequence to a short reproducer before failing.
 *
 * A test supplies:
 *   - Run: starts from FRESH state (real object and model), applies ops[0..n)
 *     and returns 0 when the two agree throughout, or the 1-based index of the
 *     first operation after which they disagree (writing why into Why). Run must
 *     release everything it created, whether it agrees or not, because the
 *     shrinker calls it many times in one test.
 *   - Describe: one operation as text, for the reproducer.
 *
 * Shrinking is greedy delta debugging over the sequence: cut everything after
 * the failing operation, then try deleting chunks of n/2, n/4, ... 1
 * operations, keeping any deletion after which Run still fails (for any
 * reason), then try zeroing each operation's arguments. The result is
 * 1-minimal with respect to deletion for the failures seen here in practice
 * (tests/verify/test_model_shrink.c checks that a failure needing two
 * specific operations in order shrinks to exactly those two). The number of
 * Run calls is bounded so a slow model cannot stall the suite.
 *
 * Header-only: the same code runs in the CMocka runner and the in-kernel one
 * (formatting goes through the kernel's own _snprintf).
 */
#ifndef NTOS_TEST_MODEL_H
#define NTOS_TEST_MODEL_H

#include "ntos_test.h"
#include <ntos/crt.h>
#include <ntos/rtl.h>

typedef struct model_op {
    ULONG Kind;
    ULONG A, B, C;
} model_op;

typedef struct model_spec {
    const char *Name;
    ULONG (*Run)(void *Context, const model_op *Ops, ULONG Count, char *Why, ULONG WhySize);
    void (*Describe)(void *Context, const model_op *Op, char *Text, ULONG TextSize);
    void *Context;
} model_spec;

#define MODEL_MAX_OPS 8192
#define MODEL_MAX_RUNS 4000
#define MODEL_WHY 256

/* What the last model_check found (for the shrinker's own test). */
typedef struct model_result {
    BOOLEAN Failed;
    ULONG OriginalCount; /* ops up to and including the first failure */
    ULONG ShrunkCount;
    ULONG Runs;
    model_op Shrunk[64]; /* the first 64 ops of the reproducer */
    char Why[MODEL_WHY];
} model_result;

static model_op model_scratch_[2][MODEL_MAX_OPS];

static inline ULONG model_run_(const model_spec *s, const model_op *ops, ULONG n, char *why, ULONG *runs)
{
    (*runs)++;
    why[0] = 0;
    return s->Run(s->Context, ops, n, why, MODEL_WHY);
}

/* Shrinks ops[0..n) (which fails) in place; returns the new length. */
static inline ULONG model_shrink(const model_spec *s, model_op *ops, ULONG n, char *why, ULONG *runs)
{
    model_op *trial = model_scratch_[1];
    char twhy[MODEL_WHY];
    for (ULONG chunk = n / 2 ? n / 2 : 1; chunk >= 1 && *runs < MODEL_MAX_RUNS;) {
        BOOLEAN removed = FALSE;
        for (ULONG at = 0; at < n && *runs < MODEL_MAX_RUNS;) {
            ULONG cut = at + chunk <= n ? chunk : n - at;
            ULONG m = 0;
            for (ULONG i = 0; i < n; i++)
                if (i < at || i >= at + cut)
                    trial[m++] = ops[i];
            ULONG f = m ? model_run_(s, trial, m, twhy, runs) : 0;
            if (f) {
                /* Keep the deletion, and drop what follows the new failure point. */
                for (ULONG i = 0; i < f; i++)
                    ops[i] = trial[i];
                n = f;
                RtlCopyMemory(why, twhy, MODEL_WHY);
                removed = TRUE;
            } else {
                at += cut;
            }
        }
        if (chunk == 1 && !removed)
            break;
        if (!removed)
            chunk /= 2;
        else if (chunk > n / 2 && n / 2 >= 1)
            chunk = n / 2;
        if (chunk == 0)
            chunk = 1;
    }
    /* Simplify arguments: smaller numbers read better and often still fail. */
    for (ULONG i = 0; i < n && *runs < MODEL_MAX_RUNS; i++) {
        ULONG *field[3] = {&ops[i].A, &ops[i].B, &ops[i].C};
        for (int k = 0; k < 3; k++) {
            if (*field[k] == 0)
                continue;
            ULONG saved = *field[k];
            *field[k] = 0;
            ULONG f = model_run_(s, ops, n, twhy, runs);
            if (f && f == n)
                RtlCopyMemory(why, twhy, MODEL_WHY);
            else
                *field[k] = saved;
        }
    }
    return n;
}

/*
 * Runs the sequence; on a disagreement shrinks it, prints the reproducer and,
 * unless `result` is given (the shrinker's own test), fails the test.
 */
static inline void model_check(const model_spec *s, uint64_t seed, const model_op *ops, ULONG n,
                               model_result *result)
{
    char why[MODEL_WHY];
    ULONG runs = 0;
    if (n > MODEL_MAX_OPS)
        n = MODEL_MAX_OPS;
    ULONG f = model_run_(s, ops, n, why, &runs);
    if (result) {
        RtlZeroMemory(result, sizeof(*result));
    }
    if (!f)
        return;
    model_op *work = model_scratch_[0];
    for (ULONG i = 0; i < f; i++)
        work[i] = ops[i];
    char first[MODEL_WHY];
    RtlCopyMemory(first, why, MODEL_WHY);
    ULONG m = model_shrink(s, work, f, why, &runs);
    print_message("model %s: seed %llu disagrees after op %u (%s); shrunk to %u op(s) in %u runs:\n", s->Name,
                  (unsigned long long)seed, f, first, m, runs);
    for (ULONG i = 0; i < m; i++) {
        char text[160];
        text[0] = 0;
        s->Describe(s->Context, &work[i], text, sizeof(text));
        text[sizeof(text) - 1] = 0;
        print_message("  %3u: %s\n", i + 1, text);
    }
    print_message("  -> %s\n", why);
    if (result) {
        result->Failed = TRUE;
        result->OriginalCount = f;
        result->ShrunkCount = m;
        result->Runs = runs;
        for (ULONG i = 0; i < m && i < 64; i++)
            result->Shrunk[i] = work[i];
        RtlCopyMemory(result->Why, why, MODEL_WHY);
        return;
    }
    fail_msg("model %s: seed %llu: %s (reproducer above, %u ops)", s->Name, (unsigned long long)seed, why, m);
}

/* Fills ops with `n` random operations: Kind < kinds, A/B/C < the given ranges. */
static inline void model_generate(uint64_t *rng, model_op *ops, ULONG n, ULONG kinds, ULONG a_range,
                                  ULONG b_range, ULONG c_range)
{
    for (ULONG i = 0; i < n; i++) {
        ops[i].Kind = (ULONG)(ntos_test_rand(rng) % kinds);
        ops[i].A = a_range ? (ULONG)(ntos_test_rand(rng) % a_range) : 0;
        ops[i].B = b_range ? (ULONG)(ntos_test_rand(rng) % b_range) : 0;
        ops[i].C = c_range ? (ULONG)(ntos_test_rand(rng) % c_range) : 0;
    }
}

/* Formats into Why/Text (kernel _snprintf: never writes past size, may not terminate). */
#define model_say(buf, size, ...)                                                                   \
    do {                                                                                            \
        RtlCrt__snprintf((buf), (size) - 1, __VA_ARGS__);                                           \
        (buf)[(size) - 1] = 0;                                                                      \
    } while (0)

#endif
