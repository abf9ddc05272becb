/*
 * Physically contiguous memory: MmAllocateContiguousMemory and its
 * SpecifyCache, SpecifyCacheNode and NodeMemory forms; MmFreeContiguousMemory
 * and MmFreeContiguousMemorySpecifyCache.
 *
 * Rules (where the documentation is silent, the choice is stated):
 *  - NumberOfBytes is rounded up to pages; 0 gives NULL.
 *  - The addresses are taken as unsigned, so the customary Highest = -1
 *    means "anywhere". Only pages lying wholly inside [Lowest, Highest] are
 *    used: Lowest rounds up, Highest down to page boundaries. A Highest below
 *    every page of RAM gives NULL.
 *  - BoundaryAddressMultiple 0 means none; otherwise it must be a power of
 *    two no smaller than the rounded size (else no allocation can honour it:
 *    NULL), and the block does not cross a multiple of it.
 *  - The search runs from the top down, leaving low memory to devices that
 *    need it. Blocks of 2 MB and more are first looked for 2 MB aligned and
 *    mapped with 2 MB pages where they line up.
 *  - Content is undefined, as documented. The cached forms map read/write and
 *    executable (NT's historic behaviour; MmAllocateContiguousNodeMemory is
 *    the one that takes a protection); PreferredNode is ignored (one node).
 *  - A bad free bug-checks SYSTEM_PTE_MISUSE (0xDA): 0x03 (0, 0, address)
 *    when the address is not the start of a contiguous allocation, 0x02 (0,
 *    pages allocated there, pages asked for) when the size given to
 *    MmFreeContiguousMemorySpecifyCache differs. The cache type given there is
 *    not checked.
 *
 * Locking and IRQL: IRQL <= DISPATCH_LEVEL for all of them (the free routines
 * too, as documented since Windows Server 2008), IRQL_NOT_LESS_OR_EQUAL
 * otherwise; the Mm locks are taken one after the other, and the PFN scan is
 * done under MiPfnLock.
 */
#include "mi.h"

/* MiAllocateContiguousPages chained the run in order already. */
static void MiFreeContiguousRun(PFN_NUMBER First)
{
    MiFreePageChain(First, FALSE);
}

static PVOID MiAllocateContiguous(SIZE_T NumberOfBytes, ULONG64 Lowest, ULONG64 Highest, ULONG64 Boundary,
                                  ULONG64 Attributes)
{
    if (NumberOfBytes == 0 || NumberOfBytes > ~(SIZE_T)0 - PAGE_SIZE)
        return NULL;
    SIZE_T pages = BYTES_TO_PAGES(NumberOfBytes);
    if (Highest < PAGE_SIZE - 1 || Lowest > ~(ULONG64)0 - (PAGE_SIZE - 1))
        return NULL;
    PFN_NUMBER low = (Lowest + PAGE_SIZE - 1) >> PAGE_SHIFT;
    PFN_NUMBER high = Highest == ~(ULONG64)0 ? ~(PFN_NUMBER)0 >> PAGE_SHIFT : ((Highest + 1) >> PAGE_SHIFT) - 1;
    if (low > high || high - low + 1 < pages)
        return NULL;
    PFN_NUMBER boundary = 0;
    if (Boundary != 0) {
        if ((Boundary & (Boundary - 1)) != 0 || Boundary < (ULONG64)pages * PAGE_SIZE)
            return NULL;
        boundary = Boundary >> PAGE_SHIFT;
    }

    PFN_NUMBER first = 0;
    if (pages >= MI_PTES_PER_LARGE_PAGE)
        first = MiAllocateContiguousPages(pages, low, high, boundary, MI_PTES_PER_LARGE_PAGE, 0, MiPfnUsageContiguous);
    if (first == 0)
        first = MiAllocateContiguousPages(pages, low, high, boundary, 1, 0, MiPfnUsageContiguous);
    if (first == 0)
        return NULL;

    PVOID va = NULL;
    if (pages >= MI_PTES_PER_LARGE_PAGE)
        va = MiReserveAlignedSystemPtes(pages, MI_PTES_PER_LARGE_PAGE, first % MI_PTES_PER_LARGE_PAGE);
    if (va == NULL)
        va = MiReserveSystemPtes(pages);
    if (va == NULL) {
        MiFreeContiguousRun(first);
        return NULL;
    }
    NTSTATUS status = MiMapRange((ULONG_PTR)va, (ULONG64)first << PAGE_SHIFT, pages,
                                 Attributes | MI_PTE_GLOBAL | MI_PTE_OWNER(MiOwnerContiguous),
                                 MI_MAP_ALLOCATION | MI_MAP_LARGE_PAGES | MI_MAP_OWNS_FRAMES);
    if (!NT_SUCCESS(status)) {
        MiReleaseSystemPtes(va, pages);
        MiFreeContiguousRun(first);
        return NULL;
    }
    return va;
}

PVOID NTAPI MmAllocateContiguousMemorySpecifyCache(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS LowestAcceptableAddress,
                                                   PHYSICAL_ADDRESS HighestAcceptableAddress,
                                                   PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                                   MEMORY_CACHING_TYPE CacheType)
{
    ULONG64 cache;
    MiCheckIrql(DISPATCH_LEVEL, NumberOfBytes, (PVOID)MmAllocateContiguousMemorySpecifyCache);
    if (!MiCacheTypeToPte(CacheType, &cache, NULL))
        return NULL;
    return MiAllocateContiguous(NumberOfBytes, (ULONG64)LowestAcceptableAddress.QuadPart,
                                (ULONG64)HighestAcceptableAddress.QuadPart, (ULONG64)BoundaryAddressMultiple.QuadPart,
                                cache | MI_PTE_WRITE);
}

PVOID NTAPI MmAllocateContiguousMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS HighestAcceptableAddress)
{
    PHYSICAL_ADDRESS zero = {.QuadPart = 0};
    MiCheckIrql(DISPATCH_LEVEL, NumberOfBytes, (PVOID)MmAllocateContiguousMemory);
    return MmAllocateContiguousMemorySpecifyCache(NumberOfBytes, zero, HighestAcceptableAddress, zero, MmCached);
}

PVOID NTAPI MmAllocateContiguousMemorySpecifyCacheNode(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS LowestAcceptableAddress,
                                                       PHYSICAL_ADDRESS HighestAcceptableAddress,
                                                       PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                                       MEMORY_CACHING_TYPE CacheType, NODE_REQUIREMENT PreferredNode)
{
    UNREFERENCED_PARAMETER(PreferredNode);
    MiCheckIrql(DISPATCH_LEVEL, NumberOfBytes, (PVOID)MmAllocateContiguousMemorySpecifyCacheNode);
    return MmAllocateContiguousMemorySpecifyCache(NumberOfBytes, LowestAcceptableAddress, HighestAcceptableAddress,
                                                  BoundaryAddressMultiple, CacheType);
}

PVOID NTAPI MmAllocateContiguousNodeMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS LowestAcceptableAddress,
                                           PHYSICAL_ADDRESS HighestAcceptableAddress,
                                           PHYSICAL_ADDRESS BoundaryAddressMultiple, ULONG Protect,
                                           NODE_REQUIREMENT PreferredNode)
{
    ULONG64 attributes;
    UNREFERENCED_PARAMETER(PreferredNode);
    MiCheckIrql(DISPATCH_LEVEL, NumberOfBytes, (PVOID)MmAllocateContiguousNodeMemory);
    if (!MiProtectionToPte(Protect, &attributes, NULL))
        return NULL;
    return MiAllocateContiguous(NumberOfBytes, (ULONG64)LowestAcceptableAddress.QuadPart,
                                (ULONG64)HighestAcceptableAddress.QuadPart, (ULONG64)BoundaryAddressMultiple.QuadPart,
                                attributes);
}

static VOID MiFreeContiguous(PVOID BaseAddress, SIZE_T ExpectedPages, SIZE_T AskedPages)
{
    SIZE_T pages = 0;
    NTSTATUS status = MiUnmapAllocation((ULONG_PTR)BaseAddress, MiOwnerContiguous, ExpectedPages, TRUE, &pages);
    if (status == STATUS_INVALID_PARAMETER)
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x02, 0, pages, AskedPages);
    if (!NT_SUCCESS(status))
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x03, 0, 0, (ULONG_PTR)BaseAddress);
    MiReleaseSystemPtes(BaseAddress, pages);
}

VOID NTAPI MmFreeContiguousMemory(PVOID BaseAddress)
{
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)BaseAddress, (PVOID)MmFreeContiguousMemory);
    MiFreeContiguous(BaseAddress, 0, 0);
}

VOID NTAPI MmFreeContiguousMemorySpecifyCache(PVOID BaseAddress, SIZE_T NumberOfBytes, MEMORY_CACHING_TYPE CacheType)
{
    UNREFERENCED_PARAMETER(CacheType);
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)BaseAddress, (PVOID)MmFreeContiguousMemorySpecifyCache);
    SIZE_T asked = NumberOfBytes && NumberOfBytes <= ~(SIZE_T)0 - PAGE_SIZE ? BYTES_TO_PAGES(NumberOfBytes) : 0;
    MiFreeContiguous(BaseAddress, asked ? asked : ~(SIZE_T)0, asked);
}
