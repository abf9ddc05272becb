/*
 * System PTEs: ranges of virtual pages of the system range, handed out from a
 * bitmap (one bit per page, set = reserved).
 *
 * Every reservation of N pages takes N + 1 bits: the extra page after the
 * range is never mapped, so a run off the end of one mapping faults instead
 * of landing in the next one. The search is next-fit (the hint follows the
 * last reservation), which also delays reuse of a just-released range, so a
 * stale pointer into it faults for as long as possible.
 *
 * The bitmap covers the system range from its start, capped at 2^24 pages
 * (64 GB) and at a bitmap of 1/16 of RAM; it lives in physically contiguous
 * pages taken at boot and is reached through the direct map.
 *
 * Locking and IRQL
 *  - MiSystemPteLock (in-stack queued, ...ForDpc) guards the bitmap, the hint
 *    and the free count. IRQL <= DISPATCH_LEVEL (any at boot). It is never
 *    held with another Mm lock.
 *  - Reserving does not map and releasing does not unmap: callers map after
 *    reserving and unmap (and flush) before releasing.
 *
 * A release checks that every page it returns (guard included) is reserved,
 * which catches double releases and ranges never reserved. The bitmap does
 * not record where a reservation ends, so a release longer than its
 * reservation is caught only if it runs into free pages; Mm's callers take
 * the length from the allocation marks in the PTEs, not from their caller.
 */
#include "mi.h"

#define MI_MAX_SYSTEM_PTES (1UL << 24)

static KSPIN_LOCK MiSystemPteLock;
static RTL_BITMAP MiSystemPteBitMap;
static ULONG_PTR MiSystemPteBase;
static SIZE_T MiSystemPteCount;
static SIZE_T MiSystemPteFree;
static ULONG MiSystemPteHint;

SIZE_T MiQueryFreeSystemPtes(void)
{
    return __atomic_load_n(&MiSystemPteFree, __ATOMIC_RELAXED);
}

SIZE_T MiQueryTotalSystemPtes(void)
{
    return MiSystemPteCount;
}

PVOID MiReserveAlignedSystemPtes(SIZE_T NumberOfPtes, SIZE_T AlignmentPages, SIZE_T OffsetPages)
{
    KLOCK_QUEUE_HANDLE lock;
    ULONG index, start;

    if (AlignmentPages == 0)
        AlignmentPages = 1;
    /* Up to 1 GB alignment: the base is 1 GB aligned, so bit numbers then
     * share the alignment of the pages they stand for. */
    if (NumberOfPtes == 0 || (AlignmentPages & (AlignmentPages - 1)) != 0 ||
        AlignmentPages > (1UL << 30) / PAGE_SIZE || AlignmentPages > MiSystemPteCount ||
        NumberOfPtes >= MiSystemPteCount - (AlignmentPages - 1))
        return NULL;
    OffsetPages &= AlignmentPages - 1;
    /* A run that long always holds an aligned start followed by N + 1 bits. */
    ULONG search = (ULONG)(NumberOfPtes + 1 + (AlignmentPages - 1));

    KeAcquireInStackQueuedSpinLockForDpc(&MiSystemPteLock, &lock);
    if (AlignmentPages == 1) {
        index = RtlFindClearBitsAndSet(&MiSystemPteBitMap, search, MiSystemPteHint);
        start = index;
    } else {
        index = RtlFindClearBits(&MiSystemPteBitMap, search, MiSystemPteHint);
        start = index + (ULONG)((OffsetPages - index) & (AlignmentPages - 1));
        if (index != MAXULONG)
            RtlSetBits(&MiSystemPteBitMap, start, (ULONG)NumberOfPtes + 1);
    }
    if (index == MAXULONG) {
        KeReleaseInStackQueuedSpinLockForDpc(&lock);
        return NULL;
    }
    MiSystemPteHint = start + (ULONG)NumberOfPtes + 1;
    __atomic_store_n(&MiSystemPteFree, MiSystemPteFree - (NumberOfPtes + 1), __ATOMIC_RELAXED);
    KeReleaseInStackQueuedSpinLockForDpc(&lock);
    return (PVOID)(MiSystemPteBase + (ULONG_PTR)start * PAGE_SIZE);
}

PVOID MiReserveSystemPtes(SIZE_T NumberOfPtes)
{
    return MiReserveAlignedSystemPtes(NumberOfPtes, 1, 0);
}

VOID MiReleaseSystemPtes(PVOID VirtualAddress, SIZE_T NumberOfPtes)
{
    KLOCK_QUEUE_HANDLE lock;
    ULONG_PTR va = (ULONG_PTR)VirtualAddress;
    BOOLEAN ok = FALSE;

    if (NumberOfPtes != 0 && (va & (PAGE_SIZE - 1)) == 0 && va >= MiSystemPteBase &&
        ((va - MiSystemPteBase) >> PAGE_SHIFT) < MiSystemPteCount &&
        NumberOfPtes < MiSystemPteCount - ((va - MiSystemPteBase) >> PAGE_SHIFT)) {
        ULONG index = (ULONG)((va - MiSystemPteBase) >> PAGE_SHIFT);
        KeAcquireInStackQueuedSpinLockForDpc(&MiSystemPteLock, &lock);
        if (RtlAreBitsSet(&MiSystemPteBitMap, index, (ULONG)NumberOfPtes + 1)) {
            RtlClearBits(&MiSystemPteBitMap, index, (ULONG)NumberOfPtes + 1);
            __atomic_store_n(&MiSystemPteFree, MiSystemPteFree + NumberOfPtes + 1, __ATOMIC_RELAXED);
            ok = TRUE;
        }
        KeReleaseInStackQueuedSpinLockForDpc(&lock);
    }
    if (!ok)
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x03, 0, NumberOfPtes, va);
}

VOID MiInitializeSystemPtes(void)
{
    MI_PFN_COUNTS counts;
    KeInitializeSpinLock(&MiSystemPteLock);
    MiQueryPfnCounts(&counts);
    SIZE_T count = MiSystemRangeSize >> PAGE_SHIFT;
    if (count > MI_MAX_SYSTEM_PTES)
        count = MI_MAX_SYSTEM_PTES;
    /* A bitmap of at most 1/16 of RAM: 2048 bits per page of RAM. */
    if (count > counts.Total * 2048)
        count = counts.Total * 2048;
    count &= ~(SIZE_T)31;
    SIZE_T pages = (count / 8 + PAGE_SIZE - 1) / PAGE_SIZE;
    PFN_NUMBER first = MiAllocateContiguousPages(pages, 0, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageMm);
    if (first == 0)
        KeBugCheckEx(NO_MORE_SYSTEM_PTES, 0, pages, 0, 0);
    MiSystemPteBase = MiSystemRangeStart;
    MiSystemPteCount = count;
    MiSystemPteFree = count;
    MiSystemPteHint = 0;
    RtlInitializeBitMap(&MiSystemPteBitMap, MiPageAddress(first), (ULONG)count);
    RtlClearAllBits(&MiSystemPteBitMap);
}
