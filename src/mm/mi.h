/*
 * Mm internals shared between src/mm files (and white-box tests).
 *
 * Pieces
 *  - pfn.c: the PFN database (one MMPFN per page of ArchMemoryFree RAM) with
 *    its zeroed/free/standby/modified/bad lists, and physical page allocation.
 *  - pagetable.c: the x86_64 four-level page tables of the system range:
 *    map, unmap, protect, translate; 2 MB pages where asked.
 *  - syspte.c: the system PTE allocator, virtual page ranges of the system
 *    range handed out from a bitmap, each followed by an unmapped guard page.
 *  - poolpages.c, iospace.c, contiguous.c, noncached.c: the consumers (pool
 *    pages for Ex, MmMapIoSpace, contiguous and non-cached memory).
 *  - init.c: MmInitSystem.
 *
 * Locks (each file restates the ones it takes)
 *  - MiPfnLock: the PFN lists, every MMPFN's list linkage, PageLocation,
 *    ReferenceCount and the counters. Innermost: nothing else is acquired
 *    while it is held.
 *  - MiPageTableLock: every page-table entry of the system range (writers),
 *    UsedEntries of table pages and the deferred freeing of unlinked table
 *    pages. Taken before MiPfnLock (table pages go to and come from the PFN
 *    lists while it is held). arch_flush_translation runs with it dropped,
 *    for the caller's own addresses; table pages are freed only when no
 *    flush can still walk them (pagetable.c).
 *  - MiSystemPteLock: the system PTE bitmap. Never held together with the
 *    other two.
 *  Order: MiPageTableLock -> MiPfnLock; MiSystemPteLock alone.
 *  All three are in-stack queued spin locks taken with the ...ForDpc
 *  acquire, so they work at any IRQL >= PASSIVE_LEVEL (DISPATCH_LEVEL while
 *  held; left unchanged above it, which only boot code does, before other
 *  processors run). None is held across a flush. Nothing in Mm waits.
 *  Bug checks raised for a caller's misuse are raised after every Mm lock is
 *  released, so a test that catches one finds Mm still usable.
 *
 * Page-table readers without the lock (MmGetPhysicalAddress at any IRQL,
 * MmIsAddressValid, MiIsPoolPageAddress) walk with atomic loads and retry if
 * a table page was freed meanwhile (MiPageTableGeneration): a freed table is
 * still readable memory (the direct map), only its content is meaningless.
 */
#ifndef NTOS_MI_H
#define NTOS_MI_H

#include <ntos/mm.h>
#include <ntos/ke.h>
#include <ntos/arch.h>
#include <ntos/rtl.h>

_Static_assert(PAGE_SIZE == ARCH_PAGE_SIZE, "page size");

/* ---- PFN database (pfn.c) -------------------------------------------------------------- */

/* Where a page is: a list, or in use. Values as NT numbers its lists. */
typedef enum _MMLISTS {
    ZeroedPageList = 0,
    FreePageList = 1,
    StandbyPageList = 2,        /* never populated: ntos does not page */
    ModifiedPageList = 3,       /* never populated */
    ModifiedNoWritePageList = 4, /* never populated */
    BadPageList = 5,
    ActiveAndValid = 6,
    TransitionPage = 7          /* never used */
} MMLISTS;

/* What an active page is used for (MMPFN.Usage). */
typedef enum _MI_PFN_USAGE {
    MiPfnUsageNone = 0,       /* on a list */
    MiPfnUsageMm = 1,         /* Mm's own structures: PFN database, system PTE bitmap */
    MiPfnUsagePageTable = 2,  /* a PML4, PDPT, PD or PT page */
    MiPfnUsagePool = 3,       /* MiAllocatePoolPages */
    MiPfnUsageContiguous = 4, /* MmAllocateContiguousMemory* */
    MiPfnUsageNonCached = 5,  /* MmAllocateNonCachedMemory */
    MiPfnUsageDriver = 6,     /* direct MiAllocatePage* callers (and tests) */
} MI_PFN_USAGE;

/* Cache attribute an active page is mapped with (MMPFN.CacheAttribute). */
typedef enum _MI_PFN_CACHE_ATTRIBUTE {
    MiNonCached = 0,
    MiCached = 1,
    MiWriteCombined = 2,
    MiNotMapped = 3
} MI_PFN_CACHE_ATTRIBUTE;

/*
 * One per managed physical page, 32 bytes. On a list, u1/u2 link it by page
 * number (0 ends a list: page 0 is never managed). While active, u1 is free
 * for the page's owner, which uses it to chain the pages of one allocation
 * (MiAllocatePages). PteAddress is the physical address of the PTE through
 * which Mm mapped the page (the parent entry for a table page), 0 if Mm did
 * not map it.
 */
typedef struct _MMPFN {
    union {
        PFN_NUMBER Flink;       /* on a list */
        PFN_NUMBER NextInChain; /* active: owner's chain */
    } u1;
    union {
        PFN_NUMBER Blink;       /* on a list */
        ULONG_PTR OwnerPrivate; /* active: owner's */
    } u2;
    ULONG64 PteAddress;
    ULONG ReferenceCount;       /* 0 on a list, >= 1 while active */
    USHORT UsedEntries;         /* table pages: entries that are present */
    /* PFN lock. Fields the owner writes without it (UsedEntries,
     * CacheAttribute, PteAddress, u1/u2 while active) are kept out of
     * this byte: a bit-field store rewrites its whole byte. */
    UCHAR PageLocation : 3;     /* MMLISTS */
    UCHAR Usage : 5;            /* MI_PFN_USAGE */
    UCHAR CacheAttribute;       /* MI_PFN_CACHE_ATTRIBUTE */
} MMPFN, *PMMPFN;
_Static_assert(sizeof(MMPFN) == 32, "MMPFN is 32 bytes");

typedef struct _MMPFNLIST {
    SIZE_T Total;
    MMLISTS ListName;
    PFN_NUMBER Flink;
    PFN_NUMBER Blink;
} MMPFNLIST, *PMMPFNLIST;

/* A run of managed pages and its slice of the database. */
typedef struct _MI_PFN_RANGE {
    PFN_NUMBER BasePage;
    PFN_NUMBER PageCount;
    PMMPFN Database;
} MI_PFN_RANGE;

#define MI_MAX_PFN_RANGES 32

extern MI_PFN_RANGE MiPfnRanges[MI_MAX_PFN_RANGES];
extern ULONG MiPfnRangeCount;
extern PFN_NUMBER MiLowestPhysicalPage, MiHighestPhysicalPage;

/* The MMPFN of a managed page, NULL for any other page number. Any IRQL. */
PMMPFN MiGetPfnEntry(PFN_NUMBER Pfn);

/* Counters, a consistent snapshot taken under the PFN lock. */
typedef struct _MI_PFN_COUNTS {
    SIZE_T Total;      /* managed pages */
    SIZE_T Zeroed;
    SIZE_T Free;
    SIZE_T Standby;
    SIZE_T Modified;
    SIZE_T Bad;
    SIZE_T Active;
    SIZE_T PageTables; /* active pages used as page tables */
    SIZE_T MmInternal; /* active pages of Mm's own structures */
} MI_PFN_COUNTS, *PMI_PFN_COUNTS;

VOID MiQueryPfnCounts(PMI_PFN_COUNTS Counts);
/* Free + zeroed pages, read without the lock. */
SIZE_T MiAvailablePages(void);

#define MI_ALLOCATE_ZEROED 0x1 /* content must be zero (zeroed list first, else zeroed now) */

/* One page, Active with ReferenceCount 1 and the given usage; 0 when none is
 * left. IRQL <= DISPATCH_LEVEL (any IRQL at boot). */
PFN_NUMBER MiAllocatePage(ULONG Flags, UCHAR Usage);
/* Count pages (not contiguous) chained through u1.NextInChain, last one 0;
 * returns the first, or 0 if fewer than Count are available (then nothing
 * is taken). */
PFN_NUMBER MiAllocatePages(SIZE_T Count, ULONG Flags, UCHAR Usage);
/*
 * Count physically contiguous pages inside [LowestPfn, HighestPfn], not
 * crossing a multiple of BoundaryPages (0: no boundary), the first page a
 * multiple of AlignmentPages (0 or 1: any). Searches from the top down, as
 * low memory is what constrained devices need. Returns the first page or 0.
 */
PFN_NUMBER MiAllocateContiguousPages(SIZE_T Count, PFN_NUMBER LowestPfn, PFN_NUMBER HighestPfn,
                                     PFN_NUMBER BoundaryPages, PFN_NUMBER AlignmentPages, ULONG Flags,
                                     UCHAR Usage);
/*
 * Drops a reference; at zero the page goes to the free list (or the zeroed
 * list when KnownZero). A page that is not active or not managed bug-checks
 * PFN_LIST_CORRUPT (0x4E) with parameter 1 = 0x99 ("a PTE or PFN is
 * corrupt"), 2 = the page number, 3 = its PageLocation (0xFF when the page is
 * not in the database), 4 = 0.
 */
VOID MiFreePage(PFN_NUMBER Pfn);
VOID MiFreePageEx(PFN_NUMBER Pfn, BOOLEAN KnownZero);
/* Frees every page of a u1.NextInChain chain under one lock hold. */
VOID MiFreePageChain(PFN_NUMBER First, BOOLEAN KnownZero);
/* Adds a reference to an active page (same bug check otherwise). */
VOID MiReferencePage(PFN_NUMBER Pfn);
/* The direct-map pointer to a page. */
static inline PVOID MiPageAddress(PFN_NUMBER Pfn)
{
    return arch_physical_pointer((ULONG64)Pfn << PAGE_SHIFT);
}

VOID MiInitializePfnDatabase(void);
/* TRUE if [Pa, Pa + Bytes) lies entirely inside descriptors of the memory
 * map (any type). */
BOOLEAN MiIsPhysicalRangeDescribed(ULONG64 Pa, ULONG64 Bytes);

/* ---- page tables (pagetable.c) --------------------------------------------------------- */

#define MI_PTE_PRESENT 0x001ULL
#define MI_PTE_WRITE 0x002ULL
#define MI_PTE_USER 0x004ULL
#define MI_PTE_PWT 0x008ULL
#define MI_PTE_PCD 0x010ULL
#define MI_PTE_ACCESSED 0x020ULL
#define MI_PTE_DIRTY 0x040ULL
#define MI_PTE_LARGE 0x080ULL  /* PS in a PDE/PDPTE */
#define MI_PTE_GLOBAL 0x100ULL
/* Bits the processor ignores, used by Mm: an allocation's first and last page. */
#define MI_PTE_ALLOCATION_START 0x200ULL
#define MI_PTE_ALLOCATION_END 0x400ULL
#define MI_PTE_FRAME 0x000FFFFFFFFFF000ULL
#define MI_PTE_LARGE_FRAME 0x000FFFFFFFE00000ULL
/* Bits 52..55 (ignored by the processor): which Mm consumer owns the mapping. */
#define MI_PTE_OWNER_SHIFT 52
#define MI_PTE_OWNER_MASK (0xFULL << MI_PTE_OWNER_SHIFT)
#define MI_PTE_NX (1ULL << 63)

#define MI_PTE_OWNER(o) ((ULONG64)(o) << MI_PTE_OWNER_SHIFT)
typedef enum _MI_MAPPING_OWNER {
    MiOwnerNone = 0,      /* mapped by MiMapRange callers without a consumer (tests) */
    MiOwnerPool = 1,
    MiOwnerContiguous = 2,
    MiOwnerNonCached = 3,
    MiOwnerIoSpace = 4,
    MiOwnerImage = 5,     /* system images mapped by Ldr (src/ldr/peimage.c) */
} MI_MAPPING_OWNER;

/* Attribute bits a caller passes to MiMapRange, MiMapPageChain and MiProtectRange; PRESENT,
 * ACCESSED and DIRTY (for writable pages) are added by Mm. */
#define MI_PTE_PROTECTION_MASK (MI_PTE_WRITE | MI_PTE_USER | MI_PTE_PWT | MI_PTE_PCD | MI_PTE_GLOBAL | MI_PTE_NX)

#define MI_LARGE_PAGE_SIZE 0x200000ULL
#define MI_PTES_PER_LARGE_PAGE 512

/* MiMapRange/MiMapPageChain flags */
#define MI_MAP_LARGE_PAGES 0x1 /* use 2 MB pages where VA and PA are both 2 MB aligned */
#define MI_MAP_ALLOCATION 0x2  /* mark the first and last page (MiUnmapAllocation finds the extent) */
#define MI_MAP_OWNS_FRAMES 0x4 /* MiMapRange: the frames are the caller's managed pages; record the
                                  mapping (PteAddress, CacheAttribute) in their MMPFNs */

/*
 * Maps Pages pages at Va (system range, page aligned) to the physically
 * contiguous Pa, with Attributes (MI_PTE_PROTECTION_MASK bits plus an owner,
 * MI_PTE_OWNER(..)). STATUS_CONFLICTING_ADDRESSES if any page is already
 * mapped (nothing changes), STATUS_INSUFFICIENT_RESOURCES if a table page
 * cannot be allocated (nothing stays mapped), STATUS_INVALID_PARAMETER
 * outside the system range. Flushes. IRQL <= DISPATCH_LEVEL.
 */
NTSTATUS MiMapRange(ULONG_PTR Va, ULONG64 Pa, SIZE_T Pages, ULONG64 Attributes, ULONG Flags);
/* The same for the pages of a MiAllocatePages chain, in chain order; also
 * records each page's PteAddress and cache attribute in its MMPFN. */
NTSTATUS MiMapPageChain(ULONG_PTR Va, PFN_NUMBER First, SIZE_T Pages, ULONG64 Attributes, ULONG Flags);
/* Removes every mapping in [Va, Va + Pages pages), splitting 2 MB pages the
 * range cuts (STATUS_INSUFFICIENT_RESOURCES if that needs a table page that
 * is not available: then nothing changes). Frees nothing but emptied table
 * pages. */
NTSTATUS MiUnmapRange(ULONG_PTR Va, SIZE_T Pages);
/* Sets the protection (MI_PTE_PROTECTION_MASK bits of Attributes) of every
 * mapped page in the range, keeping frames and owners; splits like unmap. */
NTSTATUS MiProtectRange(ULONG_PTR Va, SIZE_T Pages, ULONG64 Attributes);
/*
 * Unmaps the allocation that starts at Va and belongs to Owner (pages marked
 * with MI_MAP_ALLOCATION). ExpectedPages, when nonzero, must match its size.
 * FreeFrames returns its pages to the PFN lists. *Pages receives the size.
 * STATUS_INVALID_ADDRESS if Va is not the start of such an allocation,
 * STATUS_INVALID_PARAMETER on a size mismatch; nothing changes then.
 */
NTSTATUS MiUnmapAllocation(ULONG_PTR Va, MI_MAPPING_OWNER Owner, SIZE_T ExpectedPages, BOOLEAN FreeFrames,
                           PSIZE_T Pages);
/*
 * Lock-free walk: TRUE if Va is mapped; *Pa the physical address Va maps
 * to, *Entry the leaf entry, *PageBytes 4 KB or 2 MB (each optional). Any
 * IRQL. Exact for addresses whose mapping does not change during the call.
 */
BOOLEAN MiTranslate(ULONG_PTR Va, PULONG64 Pa, PULONG64 Entry, PSIZE_T PageBytes);
/* TRUE if Va lies inside a live allocation of Owner. Lock-free, any IRQL. */
BOOLEAN MiIsAllocationAddress(ULONG_PTR Va, MI_MAPPING_OWNER Owner);
/* PTE cache bits for a caching type; FALSE for an invalid one. */
BOOLEAN MiCacheTypeToPte(MEMORY_CACHING_TYPE CacheType, PULONG64 Bits, PUCHAR PfnAttribute);
/* Attributes for a PAGE_* protection (MmMapIoSpaceEx rules); FALSE if invalid. */
BOOLEAN MiProtectionToPte(ULONG Protect, PULONG64 Bits, PUCHAR PfnAttribute);

VOID MiInitializePageTables(void);
extern ULONG64 MiPml4Physical;
extern ULONG_PTR MiSystemRangeStart;
extern SIZE_T MiSystemRangeSize;
/* Table pages freed so far: lock-free walkers retry when it moves. */
extern volatile ULONG64 MiPageTableGeneration;

/* TRUE if [Va, Va + Pages pages) lies inside the system range (which may
 * end at the top of the address space, hence no end address). */
static inline BOOLEAN MiIsSystemRange(ULONG_PTR Va, SIZE_T Pages)
{
    return Va >= MiSystemRangeStart && Va - MiSystemRangeStart < MiSystemRangeSize &&
           Pages <= (MiSystemRangeSize - (Va - MiSystemRangeStart)) >> PAGE_SHIFT;
}

/* ---- system PTEs (syspte.c) ------------------------------------------------------------- */

/* A range of NumberOfPtes unmapped pages of the system range followed by an
 * unmapped guard page, or NULL when the range is exhausted. Any IRQL
 * <= DISPATCH_LEVEL. */
PVOID MiReserveSystemPtes(SIZE_T NumberOfPtes);
/* As above, with the start's page number congruent to OffsetPages modulo
 * AlignmentPages (a power of two), so 2 MB pages can line up with a
 * physical range. */
PVOID MiReserveAlignedSystemPtes(SIZE_T NumberOfPtes, SIZE_T AlignmentPages, SIZE_T OffsetPages);
/* Returns a range (its pages must be unmapped again). Releasing what was not
 * reserved bug-checks SYSTEM_PTE_MISUSE (0xDA) with parameter 1 = 0x03 ("the
 * mapping address being freed is incorrect"), 2 = 0, 3 = the page count,
 * 4 = VirtualAddress. */
VOID MiReleaseSystemPtes(PVOID VirtualAddress, SIZE_T NumberOfPtes);
/* Free pages of the system PTE range (guard pages count as used). */
SIZE_T MiQueryFreeSystemPtes(void);
SIZE_T MiQueryTotalSystemPtes(void);
VOID MiInitializeSystemPtes(void);

/* ---- consumers ---------------------------------------------------------------------------- */

/* Reserves system PTEs, allocates Pages pages and maps them with Attributes
 * as an allocation; NULL when out of memory or address space. */
PVOID MiAllocateMappedPages(SIZE_T Pages, ULONG64 Attributes, UCHAR Usage);

/* Pool pages (poolpages.c), for src/ex/pool.c. */

/* Allocates NumberOfPages pages of resident system memory, virtually contiguous, mapped writable (and executable unless Nx), content undefined. IRQL <= DISPATCH_LEVEL. NULL when out of memory or address space. */
PVOID MiAllocatePoolPages(SIZE_T NumberOfPages, BOOLEAN Nx);
/* Frees an allocation made above, given its base address; returns the number of pages freed, 0 if BaseAddress is not the start of a live pool-page allocation (the caller bug-checks). IRQL <= DISPATCH_LEVEL. */
SIZE_T MiFreePoolPages(PVOID BaseAddress);
/* TRUE if Address lies inside a live allocation made by MiAllocatePoolPages. Any IRQL <= DISPATCH_LEVEL. */
BOOLEAN MiIsPoolPageAddress(PVOID Address);

/* ---- misc --------------------------------------------------------------------------------- */

/* IRQL_NOT_LESS_OR_EQUAL (0xA) for a routine called above its documented
 * IRQL: parameter 1 = the address or value the call was about, 2 = the
 * current IRQL, 3 = 0, 4 = the routine's address. */
static inline VOID MiCheckIrql(KIRQL Maximum, ULONG_PTR Subject, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > Maximum)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, Subject, irql, 0, (ULONG_PTR)Routine);
}

extern BOOLEAN MiInitialized;

#endif /* NTOS_MI_H */
