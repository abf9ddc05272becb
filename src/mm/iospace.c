/*
 * MmMapIoSpace, MmMapIoSpaceEx, MmUnmapIoSpace.
 *
 * Any physical range the memory map describes can be mapped: device space,
 * and RAM (an alias of pages someone else owns; the mapping does not take a
 * reference on them and never frees them). The caching the caller asks for is
 * used as given, also for RAM: avoiding conflicting aliases is the caller's
 * business, as on NT. Ranges the memory map does not describe are refused
 * (NULL): on the host nothing backs them, and the bare-metal backend is
 * expected to list device apertures as ArchMemoryDevice.
 *
 * Mappings are read/write and not executable for MmMapIoSpace (what NT does
 * since Windows 8), as the protection says for MmMapIoSpaceEx; global; with
 * 2 MB pages for the 2 MB-aligned stretches of large ranges (the virtual start
 * is chosen congruent to the physical one modulo 2 MB for that).
 *
 * Misuse of MmUnmapIoSpace bug-checks SYSTEM_PTE_MISUSE (0xDA), with the
 * parameters of its documented subcodes, the tracking-structure ones 0 (there
 * is no tracking structure): 0x02 (wrong size: 0, the page count mapped there,
 * the page count asked for) and 0x03 (not the start of an I/O-space mapping:
 * 0, 0, the address passed).
 *
 * Locking and IRQL: IRQL <= DISPATCH_LEVEL (IRQL_NOT_LESS_OR_EQUAL otherwise);
 * takes the system PTE and page-table locks one after the other.
 */
#include "mi.h"

#define MI_PHYSICAL_LIMIT (1ULL << 52)

static PVOID MiMapIoSpaceInternal(ULONG64 Pa, SIZE_T NumberOfBytes, ULONG64 Attributes)
{
    if (NumberOfBytes == 0 || Pa >= MI_PHYSICAL_LIMIT || NumberOfBytes > MI_PHYSICAL_LIMIT - Pa)
        return NULL;
    if (!MiIsPhysicalRangeDescribed(Pa, NumberOfBytes))
        return NULL;
    ULONG64 first = Pa & ~(ULONG64)(PAGE_SIZE - 1);
    SIZE_T pages = (SIZE_T)(((Pa & (PAGE_SIZE - 1)) + NumberOfBytes + PAGE_SIZE - 1) >> PAGE_SHIFT);
    PVOID va = NULL;
    if (pages >= MI_PTES_PER_LARGE_PAGE)
        va = MiReserveAlignedSystemPtes(pages, MI_PTES_PER_LARGE_PAGE, (first >> PAGE_SHIFT) % MI_PTES_PER_LARGE_PAGE);
    if (va == NULL)
        va = MiReserveSystemPtes(pages);
    if (va == NULL)
        return NULL;
    NTSTATUS status = MiMapRange((ULONG_PTR)va, first, pages,
                                 Attributes | MI_PTE_GLOBAL | MI_PTE_OWNER(MiOwnerIoSpace),
                                 MI_MAP_ALLOCATION | MI_MAP_LARGE_PAGES);
    if (!NT_SUCCESS(status)) {
        MiReleaseSystemPtes(va, pages);
        return NULL;
    }
    return (PUCHAR)va + (Pa & (PAGE_SIZE - 1));
}

PVOID NTAPI MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG Protect)
{
    ULONG64 attributes;
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)PhysicalAddress.QuadPart, (PVOID)MmMapIoSpaceEx);
    if (!MiProtectionToPte(Protect, &attributes, NULL))
        return NULL;
    return MiMapIoSpaceInternal((ULONG64)PhysicalAddress.QuadPart, NumberOfBytes, attributes);
}

PVOID NTAPI MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, MEMORY_CACHING_TYPE CacheType)
{
    ULONG64 cache;
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)PhysicalAddress.QuadPart, (PVOID)MmMapIoSpace);
    if (!MiCacheTypeToPte(CacheType, &cache, NULL))
        return NULL;
    return MiMapIoSpaceInternal((ULONG64)PhysicalAddress.QuadPart, NumberOfBytes, cache | MI_PTE_WRITE | MI_PTE_NX);
}

VOID NTAPI MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)BaseAddress, (PVOID)MmUnmapIoSpace);
    ULONG_PTR va = (ULONG_PTR)BaseAddress & ~(ULONG_PTR)(PAGE_SIZE - 1);
    SIZE_T asked = 0;
    if (NumberOfBytes != 0 && NumberOfBytes <= ~(SIZE_T)0 - PAGE_SIZE * 2)
        asked = (BYTE_OFFSET(BaseAddress) + NumberOfBytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
    SIZE_T pages = 0;
    /* (SIZE_T)-1 never matches: it makes a bad size report the real one. */
    NTSTATUS status = MiUnmapAllocation(va, MiOwnerIoSpace, asked ? asked : ~(SIZE_T)0, FALSE, &pages);
    if (status == STATUS_INVALID_PARAMETER)
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x02, 0, pages, asked);
    if (!NT_SUCCESS(status))
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x03, 0, 0, (ULONG_PTR)BaseAddress);
    MiReleaseSystemPtes((PVOID)va, pages);
}
