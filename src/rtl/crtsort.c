/*
 * CRT qsort, bsearch, rand and srand.
 *
 * qsort is a heapsort: O(n log n) comparisons in every case, no recursion and no
 * extra memory, which matters more in a kernel (small fixed stacks, any IRQL)
 * than the constant factor. Like every qsort it is not stable. The comparison
 * routine comes from PE code, so it is called with the Microsoft x64 ABI
 * (PNTOS_CRT_COMPARE is NTAPI); it may return any int, only the sign is used.
 *
 * bsearch returns a matching element or NULL; with several equal elements it
 * is unspecified which one (C and MSVC say the same).
 *
 * rand/srand: the MSVC generator, seed = seed * 214013 + 2531011 and a result
 * of (seed >> 16) & 0x7FFF, starting from seed 1. The user-mode CRT keeps the
 * seed per thread; the kernel has one global seed, advanced with a
 * compare-exchange loop so concurrent callers each get a distinct step of the
 * sequence and no update is lost (the sequence any single caller sees is then
 * a subsequence, which is all rand ever promised).
 */
#include <ntos/crt.h>

static VOID RtlpCrtSwap(PUCHAR a, PUCHAR b, SIZE_T Size)
{
    while (Size != 0) {
        UCHAR t = *a;
        *a++ = *b;
        *b++ = t;
        Size--;
    }
}

/* Restores the max-heap property below Root within the first Count elements. */
static VOID RtlpCrtSiftDown(PUCHAR Base, SIZE_T Root, SIZE_T Count, SIZE_T Size, PNTOS_CRT_COMPARE Compare)
{
    for (;;) {
        SIZE_T Child = 2 * Root + 1;
        if (Child >= Count)
            return;
        if (Child + 1 < Count && Compare(Base + Child * Size, Base + (Child + 1) * Size) < 0)
            Child++;
        if (Compare(Base + Root * Size, Base + Child * Size) >= 0)
            return;
        RtlpCrtSwap(Base + Root * Size, Base + Child * Size, Size);
        Root = Child;
    }
}

VOID NTAPI RtlCrt_qsort(PVOID Base, SIZE_T Count, SIZE_T Size, PNTOS_CRT_COMPARE Compare)
{
    PUCHAR b = Base;

    if (Count < 2 || Size == 0)
        return;
    if (Base == NULL || Compare == NULL) {
        RtlpCrtInvalidParameter();
        return;
    }
    for (SIZE_T i = Count / 2; i-- > 0;)
        RtlpCrtSiftDown(b, i, Count, Size, Compare);
    for (SIZE_T End = Count - 1; End > 0; End--) {
        RtlpCrtSwap(b, b + End * Size, Size);
        RtlpCrtSiftDown(b, 0, End, Size, Compare);
    }
}

PVOID NTAPI RtlCrt_bsearch(const VOID *Key, const VOID *Base, SIZE_T Count, SIZE_T Size,
                           PNTOS_CRT_COMPARE Compare)
{
    const UCHAR *b = Base;
    SIZE_T Low = 0, High = Count;

    if (Count == 0)
        return NULL;
    if (Base == NULL || Compare == NULL || Size == 0) {
        RtlpCrtInvalidParameter();
        return NULL;
    }
    while (Low < High) {
        SIZE_T Mid = Low + (High - Low) / 2;
        INT r = Compare(Key, b + Mid * Size);
        if (r == 0)
            return (PVOID)(b + Mid * Size);
        if (r < 0)
            High = Mid;
        else
            Low = Mid + 1;
    }
    return NULL;
}

static ULONG RtlpCrtRandSeed = 1;

VOID NTAPI RtlCrt_srand(UINT Seed)
{
    __atomic_store_n(&RtlpCrtRandSeed, Seed, __ATOMIC_RELAXED);
}

INT NTAPI RtlCrt_rand(VOID)
{
    ULONG Old = __atomic_load_n(&RtlpCrtRandSeed, __ATOMIC_RELAXED);
    ULONG New;

    do {
        New = Old * 214013u + 2531011u;
    } while (!__atomic_compare_exchange_n(&RtlpCrtRandSeed, &Old, New, TRUE, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return (INT)((New >> 16) & NTOS_CRT_RAND_MAX);
}
