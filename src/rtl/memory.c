/*
 * Run-time library memory primitives: RtlCopyMemory, RtlMoveMemory, RtlZeroMemory,
 * RtlFillMemory, RtlCompareMemory, RtlCompareMemoryUlong, RtlFillMemoryUlong.
 *
 * The bare-metal kernel has no C library, yet the compiler is free to emit calls
 * to memcpy/memmove/memset/memcmp (structure copies, large initialisers), so this
 * file also provides those four symbols when NTOS_KERNEL is defined. On the host
 * the C library's versions stay in charge so that AddressSanitizer intercepts them.
 *
 * The loops work a machine word at a time: stores are aligned by first handling
 * the destination's leading bytes one at a time, loads may be unaligned (x86-64
 * permits it). No byte outside the ranges the caller named is ever read or
 * written, not even within an aligned word: on the host these routines are
 * themselves instrumented by ASan, which would report any over-read.
 */
#include <ntos/rtl.h>

/* The loops below must stay loops: if the optimiser turned one into a call to
 * memcpy/memset, the kernel's memcpy (which calls these helpers) would recurse. */
#if defined(__has_attribute)
#if __has_attribute(no_builtin)
#define RTLP_NO_BUILTIN __attribute__((no_builtin))
#endif
#endif
#ifndef RTLP_NO_BUILTIN
#define RTLP_NO_BUILTIN
#endif

/* A 64-bit word that may sit at any address and may alias any object. */
typedef uint64_t __attribute__((aligned(1), may_alias)) RTLP_UWORD;
typedef uint32_t __attribute__((aligned(1), may_alias)) RTLP_ULONG_U;

#define RTLP_WORD sizeof(uint64_t)

static RTLP_NO_BUILTIN void RtlpCopyForward(uint8_t *d, const uint8_t *s, SIZE_T n)
{
    /* Align the destination first so the bulk stores are aligned; the loads may
     * stay unaligned. Each word is fully read before it is written, which keeps a
     * forward copy correct when the destination lies below an overlapping source. */
    while (n != 0 && ((ULONG_PTR)d & (RTLP_WORD - 1)) != 0) {
        *d++ = *s++;
        n--;
    }
    while (n >= RTLP_WORD) {
        uint64_t w = *(const RTLP_UWORD *)s;
        *(RTLP_UWORD *)d = w;
        d += RTLP_WORD;
        s += RTLP_WORD;
        n -= RTLP_WORD;
    }
    while (n != 0) {
        *d++ = *s++;
        n--;
    }
}

static RTLP_NO_BUILTIN void RtlpCopyBackward(uint8_t *d, const uint8_t *s, SIZE_T n)
{
    /* Mirror image of RtlpCopyForward, used when the destination lies above an
     * overlapping source: the top of the source must be consumed first. */
    d += n;
    s += n;
    while (n != 0 && ((ULONG_PTR)d & (RTLP_WORD - 1)) != 0) {
        *--d = *--s;
        n--;
    }
    while (n >= RTLP_WORD) {
        d -= RTLP_WORD;
        s -= RTLP_WORD;
        uint64_t w = *(const RTLP_UWORD *)s;
        *(RTLP_UWORD *)d = w;
        n -= RTLP_WORD;
    }
    while (n != 0) {
        *--d = *--s;
        n--;
    }
}

static void RtlpMove(void *Destination, const void *Source, SIZE_T Length)
{
    uint8_t *d = (uint8_t *)Destination;
    const uint8_t *s = (const uint8_t *)Source;

    if (Length == 0 || d == s)
        return;
    /* Unsigned distance test: a forward copy is safe unless the destination
     * starts inside [s, s + Length). */
    if ((ULONG_PTR)d - (ULONG_PTR)s >= Length)
        RtlpCopyForward(d, s, Length);
    else
        RtlpCopyBackward(d, s, Length);
}

static RTLP_NO_BUILTIN void RtlpFill(void *Destination, SIZE_T Length, UCHAR Fill)
{
    uint8_t *d = (uint8_t *)Destination;
    uint64_t pattern = 0x0101010101010101ULL * (uint64_t)Fill;

    while (Length != 0 && ((ULONG_PTR)d & (RTLP_WORD - 1)) != 0) {
        *d++ = Fill;
        Length--;
    }
    while (Length >= RTLP_WORD) {
        *(RTLP_UWORD *)d = pattern;
        d += RTLP_WORD;
        Length -= RTLP_WORD;
    }
    while (Length != 0) {
        *d++ = Fill;
        Length--;
    }
}

/* Index of the first differing byte, or Length when the ranges are equal. */
static RTLP_NO_BUILTIN SIZE_T RtlpFirstMismatch(const void *Source1, const void *Source2, SIZE_T Length)
{
    const uint8_t *a = (const uint8_t *)Source1;
    const uint8_t *b = (const uint8_t *)Source2;
    SIZE_T i = 0;

    while (Length - i >= RTLP_WORD) {
        uint64_t x = *(const RTLP_UWORD *)(a + i) ^ *(const RTLP_UWORD *)(b + i);
        if (x != 0) {
            /* x86-64 is little-endian: the lowest set bit is in the first
             * differing byte. */
            return i + (SIZE_T)(__builtin_ctzll(x) / 8);
        }
        i += RTLP_WORD;
    }
    while (i < Length && a[i] == b[i])
        i++;
    return i;
}

/* ---- exported Rtl routines ------------------------------------------------- */

/* The WDK maps RtlCopyMemory to memcpy, which leaves overlap undefined; doing a
 * move costs one comparison and makes a careless overlapping caller harmless. */
NTSYSAPI VOID NTAPI RtlCopyMemory(PVOID Destination, const VOID *Source, SIZE_T Length)
{
    RtlpMove(Destination, Source, Length);
}

NTSYSAPI VOID NTAPI RtlMoveMemory(PVOID Destination, const VOID *Source, SIZE_T Length)
{
    RtlpMove(Destination, Source, Length);
}

NTSYSAPI VOID NTAPI RtlZeroMemory(PVOID Destination, SIZE_T Length)
{
    RtlpFill(Destination, Length, 0);
}

NTSYSAPI VOID NTAPI RtlFillMemory(PVOID Destination, SIZE_T Length, UCHAR Fill)
{
    RtlpFill(Destination, Length, Fill);
}

NTSYSAPI SIZE_T NTAPI RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length)
{
    return RtlpFirstMismatch(Source1, Source2, Length);
}

/*
 * Documented to return 0 when Source is not ULONG-aligned or Length is not a
 * multiple of sizeof(ULONG); otherwise the byte count of the leading whole ULONGs
 * equal to Pattern, so the result is always a multiple of four.
 */
NTSYSAPI SIZE_T NTAPI RtlCompareMemoryUlong(PVOID Source, SIZE_T Length, ULONG Pattern)
{
    const ULONG *p = (const ULONG *)Source;
    SIZE_T count, i;

    if (((ULONG_PTR)Source & (sizeof(ULONG) - 1)) != 0 || (Length & (sizeof(ULONG) - 1)) != 0)
        return 0;
    count = Length / sizeof(ULONG);
    for (i = 0; i < count; i++) {
        if (p[i] != Pattern)
            break;
    }
    return i * sizeof(ULONG);
}

/*
 * The WDK requires a ULONG-aligned Destination and a Length that is a multiple of
 * sizeof(ULONG). A caller breaking that still gets floor(Length / 4) copies of the
 * pattern at Destination (stored unaligned if need be) and nothing is written past
 * Destination + Length: a trailing partial ULONG is left untouched.
 */
NTSYSAPI RTLP_NO_BUILTIN VOID NTAPI RtlFillMemoryUlong(PVOID Destination, SIZE_T Length, ULONG Pattern)
{
    uint8_t *d = (uint8_t *)Destination;
    SIZE_T count = Length / sizeof(ULONG);

    if (((ULONG_PTR)d & (sizeof(ULONG) - 1)) == 0) {
        ULONG *p = (ULONG *)d;
        uint64_t pair = ((uint64_t)Pattern << 32) | Pattern;
        /* Pair up ULONGs once 8-byte aligned; the pattern repeats every 4 bytes
         * so the pairing is position independent. */
        if (count != 0 && ((ULONG_PTR)p & (RTLP_WORD - 1)) != 0) {
            *p++ = Pattern;
            count--;
        }
        while (count >= 2) {
            *(RTLP_UWORD *)p = pair;
            p += 2;
            count -= 2;
        }
        if (count != 0)
            *p = Pattern;
    } else {
        while (count != 0) {
            *(RTLP_ULONG_U *)d = Pattern;
            d += sizeof(ULONG);
            count--;
        }
    }
}

/* ---- freestanding C symbols for the bare-metal kernel ---------------------- */
#ifdef NTOS_KERNEL
/* These keep the C calling convention: they are what the compiler emits calls to,
 * not NT exports. */
void *memcpy(void *restrict dest, const void *restrict src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);
int memcmp(const void *s1, const void *s2, size_t n);

void *memcpy(void *restrict dest, const void *restrict src, size_t n)
{
    RtlpCopyForward((uint8_t *)dest, (const uint8_t *)src, n);
    return dest;
}

void *memmove(void *dest, const void *src, size_t n)
{
    RtlpMove(dest, src, n);
    return dest;
}

void *memset(void *dest, int c, size_t n)
{
    RtlpFill(dest, n, (UCHAR)c);
    return dest;
}

int memcmp(const void *s1, const void *s2, size_t n)
{
    SIZE_T i = RtlpFirstMismatch(s1, s2, n);
    if (i == n)
        return 0;
    return (int)((const uint8_t *)s1)[i] - (int)((const uint8_t *)s2)[i];
}
#endif /* NTOS_KERNEL */
