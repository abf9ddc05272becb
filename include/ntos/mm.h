/*
 * Memory manager (Mm) public surface: page-size helpers, physical addresses,
 * caching types and page protections as the WDK spells them, and the Mm
 * routines drivers call to map I/O space and to allocate contiguous or
 * non-cached memory. MDLs are not part of this header yet.
 *
 * Everything Mm maps lives in the system range the backend hands over
 * (arch_system_va_range); Mm owns the page tables for it. Addresses outside
 * that range (on the host: the process's own memory, the kernel image, thread
 * stacks) are not described by Mm's tables, so MmIsAddressValid reports FALSE
 * and MmGetPhysicalAddress 0 for them.
 */
#ifndef NTOS_MM_H
#define NTOS_MM_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>

/* ---- pages ------------------------------------------------------------------------------ */

#ifndef PAGE_SIZE
#define PAGE_SIZE 0x1000
#endif
#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12L
#endif

/* The page containing Va / Va's offset inside its page. */
#define PAGE_ALIGN(Va) ((PVOID)((ULONG_PTR)(Va) & ~((ULONG_PTR)PAGE_SIZE - 1)))
#define BYTE_OFFSET(Va) ((ULONG)((ULONG_PTR)(Va) & ((ULONG_PTR)PAGE_SIZE - 1)))
/* Size rounded up to whole pages, in bytes / in pages. */
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~((ULONG_PTR)PAGE_SIZE - 1))
#define BYTES_TO_PAGES(Size) (((ULONG_PTR)(Size) >> PAGE_SHIFT) + (((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) != 0))
/* Number of pages touched by Size bytes starting at Va. */
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size)                                                      \
    ((ULONG)((((ULONG_PTR)(Size)) >> PAGE_SHIFT) +                                                     \
             ((BYTE_OFFSET(Va) + ((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) + PAGE_SIZE - 1) >> PAGE_SHIFT)))

typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;
typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

/* ---- caching and protection --------------------------------------------------------------- */

typedef enum _MEMORY_CACHING_TYPE_ORIG {
    MmFrameBufferCached = 2
} MEMORY_CACHING_TYPE_ORIG;

typedef enum _MEMORY_CACHING_TYPE {
    MmNotMapped = -1,
    MmNonCached = 0,
    MmCached = 1,
    MmWriteCombined = MmFrameBufferCached,
    MmHardwareCoherentCached = 3,
    MmNonCachedUnordered = 4,
    MmUSWCCached = 5,
    MmMaximumCacheType = 6
} MEMORY_CACHING_TYPE;

#define PAGE_NOACCESS 0x01
#define PAGE_READONLY 0x02
#define PAGE_READWRITE 0x04
#define PAGE_WRITECOPY 0x08
#define PAGE_EXECUTE 0x10
#define PAGE_EXECUTE_READ 0x20
#define PAGE_EXECUTE_READWRITE 0x40
#define PAGE_EXECUTE_WRITECOPY 0x80
#define PAGE_GUARD 0x100
#define PAGE_NOCACHE 0x200
#define PAGE_WRITECOMBINE 0x400

typedef ULONG NODE_REQUIREMENT;
#define MM_ANY_NODE_OK 0x80000000

/* The bug check Mm raises for a bad unmap or free of a system mapping
 * (not yet in bugcodes.h). */
#ifndef SYSTEM_PTE_MISUSE
#define SYSTEM_PTE_MISUSE 0x000000DA
#endif

/* ---- I/O space and address queries -------------------------------------------------------- */

/* Maps NumberOfBytes of physical address space at PhysicalAddress (device
 * space or RAM) into system space, read/write, not executable; the returned
 * address carries PhysicalAddress's byte offset. NULL for a zero size, a range
 * the memory map does not describe, a bad CacheType, or no address space.
 * IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI PVOID NTAPI MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                                     MEMORY_CACHING_TYPE CacheType);
/* As MmMapIoSpace with a page protection: exactly one of PAGE_READONLY,
 * PAGE_READWRITE, PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
 * optionally with one of PAGE_NOCACHE or PAGE_WRITECOMBINE (else cached). */
NTKERNELAPI PVOID NTAPI MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG Protect);
/* Unmaps a range MmMapIoSpace(Ex) returned, with the size given there.
 * IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID NTAPI MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes);

/* The physical address BaseAddress maps to, 0 if it is not mapped. Any IRQL. */
NTKERNELAPI PHYSICAL_ADDRESS NTAPI MmGetPhysicalAddress(PVOID BaseAddress);
/* TRUE if reading VirtualAddress would not fault. IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI BOOLEAN NTAPI MmIsAddressValid(PVOID VirtualAddress);

/* ---- contiguous and non-cached memory ------------------------------------------------------- */

/* Physically contiguous, resident memory mapped in system space (content
 * undefined), or NULL. IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI PVOID NTAPI MmAllocateContiguousMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS HighestAcceptableAddress);
NTKERNELAPI PVOID NTAPI MmAllocateContiguousMemorySpecifyCache(SIZE_T NumberOfBytes,
                                                               PHYSICAL_ADDRESS LowestAcceptableAddress,
                                                               PHYSICAL_ADDRESS HighestAcceptableAddress,
                                                               PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                                               MEMORY_CACHING_TYPE CacheType);
NTKERNELAPI PVOID NTAPI MmAllocateContiguousMemorySpecifyCacheNode(SIZE_T NumberOfBytes,
                                                                   PHYSICAL_ADDRESS LowestAcceptableAddress,
                                                                   PHYSICAL_ADDRESS HighestAcceptableAddress,
                                                                   PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                                                   MEMORY_CACHING_TYPE CacheType,
                                                                   NODE_REQUIREMENT PreferredNode);
/* Protect: PAGE_READWRITE or PAGE_EXECUTE_READWRITE (or the read-only forms),
 * optionally with PAGE_NOCACHE or PAGE_WRITECOMBINE. */
NTKERNELAPI PVOID NTAPI MmAllocateContiguousNodeMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS LowestAcceptableAddress,
                                                       PHYSICAL_ADDRESS HighestAcceptableAddress,
                                                       PHYSICAL_ADDRESS BoundaryAddressMultiple, ULONG Protect,
                                                       NODE_REQUIREMENT PreferredNode);
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID NTAPI MmFreeContiguousMemory(PVOID BaseAddress);
NTKERNELAPI VOID NTAPI MmFreeContiguousMemorySpecifyCache(PVOID BaseAddress, SIZE_T NumberOfBytes,
                                                          MEMORY_CACHING_TYPE CacheType);

/* Whole pages of non-cached resident memory, not necessarily physically
 * contiguous, content undefined. IRQL <= APC_LEVEL. */
NTKERNELAPI PVOID NTAPI MmAllocateNonCachedMemory(SIZE_T NumberOfBytes);
NTKERNELAPI VOID NTAPI MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes);

/* ---- kernel-internal ------------------------------------------------------------------------- */

/* Builds the PFN database, the system page tables and the system PTE pool.
 * Called once by processor 0 during startup (HIGH_LEVEL, interrupts off,
 * before the other processors run); allocates nothing from the pool. */
VOID MmInitSystem(void);

#endif /* NTOS_MM_H */
