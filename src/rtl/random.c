/*
 * Pseudo-random numbers: RtlUniform, RtlRandom, RtlRandomEx.
 *
 * All three are deterministic functions of the caller's seed (drivers use
 * them for jitter and test data, not secrets; a seed of KeQueryTickCount is
 * the usual idiom) and return values in [0, MAXLONG - 1], updating *Seed.
 *
 * RtlUniform is a multiplicative-congruential step modulo the Mersenne prime
 * 2^31 - 1 with Windows' published multiplier and increment, so code that
 * checks a sequence produced on Windows sees the same numbers. RtlRandom and
 * RtlRandomEx shuffle that sequence through a table (Bays-Durham), which hides
 * the linear structure of consecutive values; each keeps its own shared table
 * seeded with fixed values, like the originals, so the table is global state:
 * concurrent callers get valid but interleaved draws. The table is updated
 * with relaxed atomics so such races stay well-defined.
 */
#include <ntos/rtl.h>

#define RTLP_RANDOM_MODULUS 0x7FFFFFFFu
#define RTLP_RANDOM_MULTIPLIER 0x7FFFFFEDu
#define RTLP_RANDOM_INCREMENT 0x7FFFFFC3u
#define RTLP_SHUFFLE_SIZE 128

static ULONG rtlp_uniform(PULONG Seed)
{
    ULONG64 next = ((ULONG64)*Seed * RTLP_RANDOM_MULTIPLIER + RTLP_RANDOM_INCREMENT) % RTLP_RANDOM_MODULUS;
    *Seed = (ULONG)next;
    return (ULONG)next;
}

NTSYSAPI ULONG NTAPI RtlUniform(PULONG Seed)
{
    return rtlp_uniform(Seed);
}

typedef struct _RTLP_SHUFFLE {
    ULONG Table[RTLP_SHUFFLE_SIZE];
    ULONG Last;
    LONG Ready;
} RTLP_SHUFFLE;

static RTLP_SHUFFLE rtlp_random_table, rtlp_random_ex_table;

static void rtlp_shuffle_init(RTLP_SHUFFLE *S, ULONG Base)
{
    /* A fixed fill: the table is part of the generator's definition, so the
     * same seed gives the same sequence from boot to boot. */
    ULONG seed = Base;
    if (__atomic_load_n(&S->Ready, __ATOMIC_ACQUIRE))
        return;
    for (ULONG i = 0; i < RTLP_SHUFFLE_SIZE; i++)
        __atomic_store_n(&S->Table[i], rtlp_uniform(&seed), __ATOMIC_RELAXED);
    __atomic_store_n(&S->Last, rtlp_uniform(&seed), __ATOMIC_RELAXED);
    __atomic_store_n(&S->Ready, 1, __ATOMIC_RELEASE);
}

static ULONG rtlp_shuffled(RTLP_SHUFFLE *S, ULONG Base, PULONG Seed)
{
    ULONG index, result;

    rtlp_shuffle_init(S, Base);
    /* The previous output picks the slot; the slot's value is returned and
     * replaced by the next step of the caller's sequence. */
    index = __atomic_load_n(&S->Last, __ATOMIC_RELAXED) % RTLP_SHUFFLE_SIZE;
    result = __atomic_exchange_n(&S->Table[index], rtlp_uniform(Seed), __ATOMIC_RELAXED);
    __atomic_store_n(&S->Last, result, __ATOMIC_RELAXED);
    return result;
}

NTSYSAPI ULONG NTAPI RtlRandom(PULONG Seed)
{
    return rtlp_shuffled(&rtlp_random_table, 0x4E54, Seed);
}

NTSYSAPI ULONG NTAPI RtlRandomEx(PULONG Seed)
{
    return rtlp_shuffled(&rtlp_random_ex_table, 0x58455452, Seed);
}
