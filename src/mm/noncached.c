/*
 * MmAllocateNonCachedMemory / MmFreeNonCachedMemory: whole pages, not
 * necessarily physically contiguous, mapped uncached (PCD|PWT), read/write
 * and not executable (the documentation does not say; these are device
 * buffers), content undefined as documented.
 *
 * A bad free bug-checks SYSTEM_PTE_MISUSE (0xDA): 0x02 (0, pages allocated
 * there, pages asked for) on a size mismatch, 0x03 (0, 0, address) when the
 * address is not the start of a non-cached allocation.
 *
 * Locking and IRQL: IRQL <= APC_LEVEL as documented (IRQL_NOT_LESS_OR_EQUAL
 * otherwise); the Mm locks are taken one after the other.
 */
#include "mi.h"

PVOID NTAPI MmAllocateNonCachedMemory(SIZE_T NumberOfBytes)
{
    MiCheckIrql(APC_LEVEL, NumberOfBytes, (PVOID)MmAllocateNonCachedMemory);
    if (NumberOfBytes == 0 || NumberOfBytes > ~(SIZE_T)0 - PAGE_SIZE)
        return NULL;
    ULONG64 attributes = MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT | MI_PTE_NX | MI_PTE_GLOBAL |
                         MI_PTE_OWNER(MiOwnerNonCached);
    return MiAllocateMappedPages(BYTES_TO_PAGES(NumberOfBytes), attributes, MiPfnUsageNonCached);
}

VOID NTAPI MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    MiCheckIrql(APC_LEVEL, (ULONG_PTR)BaseAddress, (PVOID)MmFreeNonCachedMemory);
    SIZE_T asked = NumberOfBytes ? BYTES_TO_PAGES(NumberOfBytes) : 0;
    SIZE_T pages = 0;
    NTSTATUS status =
        MiUnmapAllocation((ULONG_PTR)BaseAddress, MiOwnerNonCached, asked ? asked : ~(SIZE_T)0, TRUE, &pages);
    if (status == STATUS_INVALID_PARAMETER)
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x02, 0, pages, asked);
    if (!NT_SUCCESS(status))
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x03, 0, 0, (ULONG_PTR)BaseAddress);
    MiReleaseSystemPtes(BaseAddress, pages);
}
