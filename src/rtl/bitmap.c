/*
 * Run-time library bitmaps (RTL_BITMAP).
 *
 * Layout (WDK): Buffer is an array of ULONGs, ULONG-aligned and rounded up to a
 * whole number of ULONGs; bit n is bit (n % 32) of Buffer[n / 32]. SizeOfBitMap
 * need not be a multiple of 32.
 *
 * Rules this file keeps, including where the WDK is silent:
 *  - Bits at or past SizeOfBitMap in the last ULONG belong to nobody: they are
 *    never reported (every read masks them off) and never written, not even by
 *    RtlSetAllBits/RtlClearAllBits. The WDK does not say what those two do with
 *    the tail; preserving it is the choice that cannot disturb a caller that
 *    keeps something else there, and it means nothing depends on the tail's value.
 *  - No routine reads or writes a ULONG past (SizeOfBitMap + 31) / 32.
 *  - Range arguments that do not fit inside the bitmap are rejected, never
 *    clamped: RtlSetBits/RtlClearBits do nothing, RtlSetBit/RtlClearBit do
 *    nothing, RtlTestBit returns FALSE, and RtlAreBitsSet/RtlAreBitsClear return
 *    FALSE (documented: "if the given range is not a proper subset of the bitmap,
 *    or if the given Length is zero"). StartingIndex + Length is evaluated
 *    without 32-bit overflow.
 *  - RtlFind{Clear,Set}Bits[And{Set,Clear}] look for the lowest start >= HintIndex
 *    whose run fits, then wrap to the lowest start below HintIndex (such a run may
 *    extend past HintIndex). A HintIndex at or past the end is treated as 0. They
 *    return 0xFFFFFFFF when NumberToFind exceeds SizeOfBitMap or no run exists.
 *    NumberToFind == 0 (the WDK is silent) returns the effective hint, and the
 *    *And* variants then change nothing.
 *  - Run queries that find nothing return 0 and store 0 in their start output.
 *    RtlFindLongestRunClear and RtlFindClearRuns(LocateLongestRuns) prefer the
 *    lower start among runs of equal length.
 */
#include <ntos/rtl.h>

#define RTLP_NOT_FOUND 0xFFFFFFFFUL
#define RTLP_BITS_PER_ULONG 32u

/* Bits [Low, High) of one ULONG, 0 <= Low < High <= 32. */
static inline ULONG RtlpRangeMask(ULONG Low, ULONG High)
{
    ULONG upper = (High >= RTLP_BITS_PER_ULONG) ? 0xFFFFFFFFUL : ((1UL << High) - 1);
    return upper & ~((1UL << Low) - 1);
}

/* TRUE when [Start, Start + Length) lies inside the bitmap. */
static inline BOOLEAN RtlpRangeInside(const RTL_BITMAP *BitMap, ULONG Start, ULONG Length)
{
    return (BOOLEAN)(Start <= BitMap->SizeOfBitMap && Length <= BitMap->SizeOfBitMap - Start);
}

/*
 * First index in [From, End) whose bit equals Value, or End if there is none.
 * End must not exceed SizeOfBitMap; bits at or past End are never reported, so
 * the undefined tail of the last ULONG cannot leak into a result.
 */
static ULONG RtlpFindNext(const RTL_BITMAP *BitMap, ULONG From, ULONG End, BOOLEAN Value)
{
    ULONG index, word;
    ULONG invert = Value ? 0 : 0xFFFFFFFFUL;

    if (From >= End)
        return End;
    index = From / RTLP_BITS_PER_ULONG;
    word = (BitMap->Buffer[index] ^ invert) & ~((1UL << (From % RTLP_BITS_PER_ULONG)) - 1);
    for (;;) {
        if (word != 0) {
            ULONG found = index * RTLP_BITS_PER_ULONG + (ULONG)__builtin_ctz(word);
            return found < End ? found : End;
        }
        index++;
        if ((uint64_t)index * RTLP_BITS_PER_ULONG >= End)
            return End;
        word = BitMap->Buffer[index] ^ invert;
    }
}

/*
 * Lowest start S with From <= S < StartLimit such that bits [S, S + Count) all
 * equal Value and lie inside the bitmap; RTLP_NOT_FOUND otherwise. Count > 0.
 */
static ULONG RtlpFindRun(const RTL_BITMAP *BitMap, ULONG Count, ULONG From, ULONG StartLimit,
                         BOOLEAN Value)
{
    ULONG size = BitMap->SizeOfBitMap;
    ULONG pos = From;

    if (Count > size)
        return RTLP_NOT_FOUND;
    /* Starts beyond size - Count cannot fit. */
    if (StartLimit > size - Count + 1)
        StartLimit = size - Count + 1;
    while (pos < StartLimit) {
        ULONG start = RtlpFindNext(BitMap, pos, size, Value);
        ULONG stop;
        if (start >= StartLimit)
            break;
        stop = RtlpFindNext(BitMap, start, start + Count, (BOOLEAN)!Value);
        if (stop == start + Count)
            return start;
        /* Bit `stop` has the other value: no run can start at or before it. */
        pos = stop + 1;
    }
    return RTLP_NOT_FOUND;
}

/* Hint handling shared by the four RtlFind*Bits* routines. */
static ULONG RtlpFindBits(const RTL_BITMAP *BitMap, ULONG NumberToFind, ULONG HintIndex, BOOLEAN Value)
{
    ULONG found;

    if (NumberToFind > BitMap->SizeOfBitMap)
        return RTLP_NOT_FOUND;
    if (HintIndex >= BitMap->SizeOfBitMap)
        HintIndex = 0;
    if (NumberToFind == 0)
        return HintIndex;
    found = RtlpFindRun(BitMap, NumberToFind, HintIndex, BitMap->SizeOfBitMap, Value);
    if (found == RTLP_NOT_FOUND && HintIndex != 0)
        found = RtlpFindRun(BitMap, NumberToFind, 0, HintIndex, Value);
    return found;
}

/* Sets or clears [Start, Start + Length), which the caller has checked fits. */
static void RtlpWriteRange(PRTL_BITMAP BitMap, ULONG Start, ULONG Length, BOOLEAN Value)
{
    PULONG buffer = BitMap->Buffer;
    ULONG end, index, last, low;

    if (Length == 0)
        return;
    end = Start + Length;
    index = Start / RTLP_BITS_PER_ULONG;
    last = (end - 1) / RTLP_BITS_PER_ULONG;
    low = Start % RTLP_BITS_PER_ULONG;
    if (index == last) {
        ULONG mask = RtlpRangeMask(low, end - index * RTLP_BITS_PER_ULONG);
        buffer[index] = Value ? (buffer[index] | mask) : (buffer[index] & ~mask);
        return;
    }
    {
        ULONG mask = RtlpRangeMask(low, RTLP_BITS_PER_ULONG);
        buffer[index] = Value ? (buffer[index] | mask) : (buffer[index] & ~mask);
    }
    for (index++; index < last; index++)
        buffer[index] = Value ? 0xFFFFFFFFUL : 0;
    {
        ULONG mask = RtlpRangeMask(0, end - last * RTLP_BITS_PER_ULONG);
        buffer[last] = Value ? (buffer[last] | mask) : (buffer[last] & ~mask);
    }
}

/* Number of bits equal to Value, ignoring the tail past SizeOfBitMap. */
static ULONG RtlpCount(const RTL_BITMAP *BitMap, BOOLEAN Value)
{
    ULONG size = BitMap->SizeOfBitMap;
    ULONG whole = size / RTLP_BITS_PER_ULONG;
    ULONG rest = size % RTLP_BITS_PER_ULONG;
    ULONG set = 0, i;

    for (i = 0; i < whole; i++)
        set += (ULONG)__builtin_popcount(BitMap->Buffer[i]);
    if (rest != 0)
        set += (ULONG)__builtin_popcount(BitMap->Buffer[whole] & RtlpRangeMask(0, rest));
    return Value ? set : size - set;
}

/* Length of the clear run starting at the first clear bit at or after From. */
static ULONG RtlpNextClearRun(const RTL_BITMAP *BitMap, ULONG From, PULONG Start)
{
    ULONG size = BitMap->SizeOfBitMap;
    ULONG start = RtlpFindNext(BitMap, From, size, FALSE);

    if (start >= size) {
        *Start = 0;
        return 0;
    }
    *Start = start;
    return RtlpFindNext(BitMap, start, size, TRUE) - start;
}

/* ---- exported Rtl routines ------------------------------------------------- */

NTSYSAPI VOID NTAPI RtlInitializeBitMap(PRTL_BITMAP BitMapHeader, PULONG BitMapBuffer, ULONG SizeOfBitMap)
{
    /* Documented to record the buffer and size only; the contents are untouched. */
    BitMapHeader->SizeOfBitMap = SizeOfBitMap;
    BitMapHeader->Buffer = BitMapBuffer;
}

NTSYSAPI VOID NTAPI RtlSetBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber)
{
    if (BitNumber >= BitMapHeader->SizeOfBitMap)
        return;
    BitMapHeader->Buffer[BitNumber / RTLP_BITS_PER_ULONG] |= 1UL << (BitNumber % RTLP_BITS_PER_ULONG);
}

NTSYSAPI VOID NTAPI RtlClearBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber)
{
    if (BitNumber >= BitMapHeader->SizeOfBitMap)
        return;
    BitMapHeader->Buffer[BitNumber / RTLP_BITS_PER_ULONG] &= ~(1UL << (BitNumber % RTLP_BITS_PER_ULONG));
}

NTSYSAPI BOOLEAN NTAPI RtlTestBit(PRTL_BITMAP BitMapHeader, ULONG BitNumber)
{
    if (BitNumber >= BitMapHeader->SizeOfBitMap)
        return FALSE;
    return (BOOLEAN)((BitMapHeader->Buffer[BitNumber / RTLP_BITS_PER_ULONG] >>
                      (BitNumber % RTLP_BITS_PER_ULONG)) & 1);
}

NTSYSAPI VOID NTAPI RtlSetBits(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG NumberToSet)
{
    if (!RtlpRangeInside(BitMapHeader, StartingIndex, NumberToSet))
        return;
    RtlpWriteRange(BitMapHeader, StartingIndex, NumberToSet, TRUE);
}

NTSYSAPI VOID NTAPI RtlClearBits(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG NumberToClear)
{
    if (!RtlpRangeInside(BitMapHeader, StartingIndex, NumberToClear))
        return;
    RtlpWriteRange(BitMapHeader, StartingIndex, NumberToClear, FALSE);
}

NTSYSAPI VOID NTAPI RtlSetAllBits(PRTL_BITMAP BitMapHeader)
{
    RtlpWriteRange(BitMapHeader, 0, BitMapHeader->SizeOfBitMap, TRUE);
}

NTSYSAPI VOID NTAPI RtlClearAllBits(PRTL_BITMAP BitMapHeader)
{
    RtlpWriteRange(BitMapHeader, 0, BitMapHeader->SizeOfBitMap, FALSE);
}

NTSYSAPI BOOLEAN NTAPI RtlAreBitsSet(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG Length)
{
    if (Length == 0 || !RtlpRangeInside(BitMapHeader, StartingIndex, Length))
        return FALSE;
    return (BOOLEAN)(RtlpFindNext(BitMapHeader, StartingIndex, StartingIndex + Length, FALSE) ==
                     StartingIndex + Length);
}

NTSYSAPI BOOLEAN NTAPI RtlAreBitsClear(PRTL_BITMAP BitMapHeader, ULONG StartingIndex, ULONG Length)
{
    if (Length == 0 || !RtlpRangeInside(BitMapHeader, StartingIndex, Length))
        return FALSE;
    return (BOOLEAN)(RtlpFindNext(BitMapHeader, StartingIndex, StartingIndex + Length, TRUE) ==
                     StartingIndex + Length);
}

NTSYSAPI ULONG NTAPI RtlFindClearBits(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex)
{
    return RtlpFindBits(BitMapHeader, NumberToFind, HintIndex, FALSE);
}

NTSYSAPI ULONG NTAPI RtlFindSetBits(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex)
{
    return RtlpFindBits(BitMapHeader, NumberToFind, HintIndex, TRUE);
}

NTSYSAPI ULONG NTAPI RtlFindClearBitsAndSet(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex)
{
    ULONG index = RtlpFindBits(BitMapHeader, NumberToFind, HintIndex, FALSE);

    if (index != RTLP_NOT_FOUND)
        RtlpWriteRange(BitMapHeader, index, NumberToFind, TRUE);
    return index;
}

NTSYSAPI ULONG NTAPI RtlFindSetBitsAndClear(PRTL_BITMAP BitMapHeader, ULONG NumberToFind, ULONG HintIndex)
{
    ULONG index = RtlpFindBits(BitMapHeader, NumberToFind, HintIndex, TRUE);

    if (index != RTLP_NOT_FOUND)
        RtlpWriteRange(BitMapHeader, index, NumberToFind, FALSE);
    return index;
}

NTSYSAPI ULONG NTAPI RtlNumberOfSetBits(PRTL_BITMAP BitMapHeader)
{
    return RtlpCount(BitMapHeader, TRUE);
}

NTSYSAPI ULONG NTAPI RtlNumberOfClearBits(PRTL_BITMAP BitMapHeader)
{
    return RtlpCount(BitMapHeader, FALSE);
}

NTSYSAPI ULONG NTAPI RtlFindFirstRunClear(PRTL_BITMAP BitMapHeader, PULONG StartingIndex)
{
    return RtlpNextClearRun(BitMapHeader, 0, StartingIndex);
}

NTSYSAPI ULONG NTAPI RtlFindNextForwardRunClear(PRTL_BITMAP BitMapHeader, ULONG FromIndex,
                                                PULONG StartingRunIndex)
{
    /* A FromIndex inside a clear run yields the remainder of that run, which is
     * what "the next clear run starting at FromIndex" means to a caller that
     * walks the bitmap with FromIndex = previous start + previous length. */
    return RtlpNextClearRun(BitMapHeader, FromIndex, StartingRunIndex);
}

NTSYSAPI ULONG NTAPI RtlFindLongestRunClear(PRTL_BITMAP BitMapHeader, PULONG StartingIndex)
{
    ULONG size = BitMapHeader->SizeOfBitMap;
    ULONG bestStart = 0, bestLength = 0;
    ULONG start, length, pos = 0;

    while (pos < size) {
        length = RtlpNextClearRun(BitMapHeader, pos, &start);
        if (length == 0)
            break;
        if (length > bestLength) {
            bestLength = length;
            bestStart = start;
        }
        pos = start + length;
    }
    *StartingIndex = bestStart;
    return bestLength;
}

/*
 * With LocateLongestRuns the whole bitmap is scanned and the array keeps the
 * SizeOfRunArray longest runs, longest first (documented); among equal lengths
 * the lower start comes first. Without it the first SizeOfRunArray runs in
 * address order are returned and the scan stops as soon as the array is full.
 */
NTSYSAPI ULONG NTAPI RtlFindClearRuns(PRTL_BITMAP BitMapHeader, PRTL_BITMAP_RUN RunArray,
                                      ULONG SizeOfRunArray, BOOLEAN LocateLongestRuns)
{
    ULONG size = BitMapHeader->SizeOfBitMap;
    ULONG found = 0, pos = 0;
    ULONG start, length;

    if (SizeOfRunArray == 0)
        return 0;
    while (pos < size) {
        length = RtlpNextClearRun(BitMapHeader, pos, &start);
        if (length == 0)
            break;
        pos = start + length;
        if (!LocateLongestRuns) {
            RunArray[found].StartingIndex = start;
            RunArray[found].NumberOfBits = length;
            if (++found == SizeOfRunArray)
                break;
            continue;
        }
        if (found == SizeOfRunArray && length <= RunArray[found - 1].NumberOfBits)
            continue;
        {
            /* Runs arrive in address order, so placing the new run after every
             * run of equal length keeps the lower start first. */
            ULONG slot = (found < SizeOfRunArray) ? found : SizeOfRunArray - 1;
            while (slot > 0 && RunArray[slot - 1].NumberOfBits < length) {
                RunArray[slot] = RunArray[slot - 1];
                slot--;
            }
            RunArray[slot].StartingIndex = start;
            RunArray[slot].NumberOfBits = length;
            if (found < SizeOfRunArray)
                found++;
        }
    }
    return found;
}

NTSYSAPI CCHAR NTAPI RtlFindMostSignificantBit(ULONGLONG Set)
{
    if (Set == 0)
        return -1;
    return (CCHAR)(63 - __builtin_clzll(Set));
}

NTSYSAPI CCHAR NTAPI RtlFindLeastSignificantBit(ULONGLONG Set)
{
    if (Set == 0)
        return -1;
    return (CCHAR)__builtin_ctzll(Set);
}
