/*
 * Pages for the executive pool, and the shared "reserve, allocate, map"
 * path the non-cached allocator uses too.
 *
 * A pool-page allocation is a system PTE range mapped with its own pages
 * (not physically contiguous) and marked as an allocation of the pool owner
 * in its PTEs, so MiFreePoolPages finds its size and MiIsPoolPageAddress
 * answers with a page walk, neither needing a side table or a lock.
 *
 * Locking and IRQL: no lock of its own. Takes MiSystemPteLock, MiPfnLock and
 * MiPageTableLock one after the other (never nested here). IRQL <=
 * DISPATCH_LEVEL; nothing waits.
 */
#include "mi.h"

PVOID MiAllocateMappedPages(SIZE_T Pages, ULONG64 Attributes, UCHAR Usage)
{
    if (Pages == 0 || Pages >= MiQueryTotalSystemPtes())
        return NULL;
    PVOID va = MiReserveSystemPtes(Pages);
    if (va == NULL)
        return NULL;
    PFN_NUMBER chain = MiAllocatePages(Pages, 0, Usage);
    if (chain == 0) {
        MiReleaseSystemPtes(va, Pages);
        return NULL;
    }
    if (!NT_SUCCESS(MiMapPageChain((ULONG_PTR)va, chain, Pages, Attributes, MI_MAP_ALLOCATION))) {
        MiFreePageChain(chain, FALSE);
        MiReleaseSystemPtes(va, Pages);
        return NULL;
    }
    return va;
}

PVOID MiAllocatePoolPages(SIZE_T NumberOfPages, BOOLEAN Nx)
{
    ULONG64 attributes = MI_PTE_WRITE | MI_PTE_GLOBAL | (Nx ? MI_PTE_NX : 0) | MI_PTE_OWNER(MiOwnerPool);
    return MiAllocateMappedPages(NumberOfPages, attributes, MiPfnUsagePool);
}

SIZE_T MiFreePoolPages(PVOID BaseAddress)
{
    SIZE_T pages = 0;
    if (!NT_SUCCESS(MiUnmapAllocation((ULONG_PTR)BaseAddress, MiOwnerPool, 0, TRUE, &pages)))
        return 0;
    MiReleaseSystemPtes(BaseAddress, pages);
    return pages;
}

BOOLEAN MiIsPoolPageAddress(PVOID Address)
{
    return MiIsAllocationAddress((ULONG_PTR)Address, MiOwnerPool);
}
