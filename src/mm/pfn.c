/*
 * The PFN database and physical page allocation.
 *
 * One MMPFN per page of the ArchMemoryFree ranges of the memory map (page 0
 * excluded, so that 0 can mean "no page"). The database is carved from the
 * first free pages big enough to hold it and reached through the direct map;
 * it assumes the direct map of one descriptor's pages is virtually contiguous
 * (true of the host backend and of any linear direct map).
 *
 * Pages not in use sit on the zeroed list (content known to be zero) or the
 * free list (content undefined). Nothing pages out, so the standby, modified
 * and bad lists exist with their NT numbering but stay empty. Boot puts every
 * page on the free list: the backend promises nothing about RAM content.
 * Pages reach the zeroed list when their content is known to be zero when
 * freed (page-table pages, which are empty when Mm frees them). A caller who
 * needs zeroed memory gets a zeroed page if there is one, else a free page
 * zeroed after the lock is dropped; a caller who does not gets a free page
 * first, keeping the zeroed ones for those who need them.
 *
 * Locking and IRQL
 *  - MiPfnLock (in-stack queued, ...ForDpc acquire) guards the lists, every
 *    MMPFN's PageLocation, list links, ReferenceCount, Usage and the counters.
 *    Callable at IRQL <= DISPATCH_LEVEL, and at any IRQL during boot.
 *    Innermost lock: nothing else is acquired while it is held; the page-table
 *    code takes it inside MiPageTableLock.
 *  - Fields of an active page other than those (u1/u2, PteAddress,
 *    UsedEntries, CacheAttribute) belong to its owner (for table pages, to
 *    MiPageTableLock).
 *  - Misuse (freeing a page that is not active) is detected under the lock and
 *    reported after releasing it.
 */
#include "mi.h"

#ifndef INSTALL_MORE_MEMORY
#define INSTALL_MORE_MEMORY 0x0000007D
#endif

MI_PFN_RANGE MiPfnRanges[MI_MAX_PFN_RANGES];
ULONG MiPfnRangeCount;
PFN_NUMBER MiLowestPhysicalPage, MiHighestPhysicalPage;

static KSPIN_LOCK MiPfnLock;
/* Indexed by MMLISTS, ZeroedPageList..BadPageList. */
static MMPFNLIST MiPageLists[BadPageList + 1];
static SIZE_T MiTotalPages;
static SIZE_T MiActivePages;
static SIZE_T MiUsageCount[8];
/* Free + zeroed, kept in step under the lock for lock-free readers. */
static SIZE_T MiAvailable;

#define MI_NO_PAGE ((PFN_NUMBER)0)

PMMPFN MiGetPfnEntry(PFN_NUMBER Pfn)
{
    for (ULONG i = 0; i < MiPfnRangeCount; i++) {
        PFN_NUMBER delta = Pfn - MiPfnRanges[i].BasePage;
        if (Pfn >= MiPfnRanges[i].BasePage && delta < MiPfnRanges[i].PageCount)
            return &MiPfnRanges[i].Database[delta];
    }
    return NULL;
}

/* For entries known to be managed (list links, chains). */
static inline PMMPFN MiPfn(PFN_NUMBER Pfn)
{
    PMMPFN e = MiGetPfnEntry(Pfn);
    if (e == NULL)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x02, Pfn, MiHighestPhysicalPage, 0);
    return e;
}

static inline void MiSetAvailable(void)
{
    __atomic_store_n(&MiAvailable, MiPageLists[ZeroedPageList].Total + MiPageLists[FreePageList].Total,
                     __ATOMIC_RELAXED);
}

SIZE_T MiAvailablePages(void)
{
    return __atomic_load_n(&MiAvailable, __ATOMIC_RELAXED);
}

/* ---- lists (PFN lock held) ------------------------------------------------------------- */

static void MiInsertPage(MMLISTS List, PFN_NUMBER Pfn, PMMPFN Entry, BOOLEAN AtTail)
{
    PMMPFNLIST head = &MiPageLists[List];
    Entry->PageLocation = List;
    Entry->ReferenceCount = 0;
    Entry->Usage = MiPfnUsageNone;
    Entry->PteAddress = 0;
    Entry->UsedEntries = 0;
    Entry->CacheAttribute = MiNotMapped;
    if (AtTail) {
        Entry->u1.Flink = MI_NO_PAGE;
        Entry->u2.Blink = head->Blink;
        if (head->Blink != MI_NO_PAGE)
            MiPfn(head->Blink)->u1.Flink = Pfn;
        else
            head->Flink = Pfn;
        head->Blink = Pfn;
    } else {
        Entry->u2.Blink = MI_NO_PAGE;
        Entry->u1.Flink = head->Flink;
        if (head->Flink != MI_NO_PAGE)
            MiPfn(head->Flink)->u2.Blink = Pfn;
        else
            head->Blink = Pfn;
        head->Flink = Pfn;
    }
    head->Total++;
}

/* Takes a page off whichever list it is on; the links are checked against
 * the neighbours (a mismatch is corruption: 0x4E/0x02). */
static void MiUnlinkPage(PFN_NUMBER Pfn, PMMPFN Entry)
{
    PMMPFNLIST head = &MiPageLists[Entry->PageLocation];
    PFN_NUMBER next = Entry->u1.Flink, prev = Entry->u2.Blink;
    if (prev != MI_NO_PAGE) {
        PMMPFN p = MiPfn(prev);
        if (p->u1.Flink != Pfn)
            KeBugCheckEx(PFN_LIST_CORRUPT, 0x02, Pfn, MiHighestPhysicalPage, Entry->ReferenceCount);
        p->u1.Flink = next;
    } else {
        if (head->Flink != Pfn)
            KeBugCheckEx(PFN_LIST_CORRUPT, 0x01, (ULONG_PTR)head, MiAvailable, 0);
        head->Flink = next;
    }
    if (next != MI_NO_PAGE) {
        PMMPFN n = MiPfn(next);
        if (n->u2.Blink != Pfn)
            KeBugCheckEx(PFN_LIST_CORRUPT, 0x02, Pfn, MiHighestPhysicalPage, Entry->ReferenceCount);
        n->u2.Blink = prev;
    } else {
        if (head->Blink != Pfn)
            KeBugCheckEx(PFN_LIST_CORRUPT, 0x01, (ULONG_PTR)head, MiAvailable, 0);
        head->Blink = prev;
    }
    head->Total--;
}

/* Makes a page taken off a list active. Returns whether it was known zero. */
static BOOLEAN MiActivate(PFN_NUMBER Pfn, PMMPFN Entry, UCHAR Usage)
{
    BOOLEAN zero = Entry->PageLocation == ZeroedPageList;
    if (Entry->PageLocation != ZeroedPageList && Entry->PageLocation != FreePageList)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x8D, Pfn, 0, 0);
    MiUnlinkPage(Pfn, Entry);
    Entry->PageLocation = ActiveAndValid;
    Entry->ReferenceCount = 1;
    Entry->Usage = Usage;
    Entry->u1.NextInChain = MI_NO_PAGE;
    Entry->u2.OwnerPrivate = 0;
    Entry->PteAddress = 0;
    Entry->UsedEntries = 0;
    Entry->CacheAttribute = MiNotMapped;
    MiActivePages++;
    MiUsageCount[Usage & 7]++;
    return zero;
}

static PFN_NUMBER MiTakePage(BOOLEAN WantZero)
{
    MMLISTS first = WantZero ? ZeroedPageList : FreePageList;
    MMLISTS second = WantZero ? FreePageList : ZeroedPageList;
    if (MiPageLists[first].Flink != MI_NO_PAGE)
        return MiPageLists[first].Flink;
    return MiPageLists[second].Flink;
}

static void MiZeroPage(PFN_NUMBER Pfn)
{
    RtlZeroMemory(MiPageAddress(Pfn), PAGE_SIZE);
}

/* ---- allocation ------------------------------------------------------------------------- */

PFN_NUMBER MiAllocatePages(SIZE_T Count, ULONG Flags, UCHAR Usage)
{
    KLOCK_QUEUE_HANDLE lock;
    PFN_NUMBER first = MI_NO_PAGE, last = MI_NO_PAGE;
    BOOLEAN wantZero = (Flags & MI_ALLOCATE_ZEROED) != 0;
    BOOLEAN needZeroing = FALSE;

    if (Count == 0)
        return MI_NO_PAGE;
    KeAcquireInStackQueuedSpinLockForDpc(&MiPfnLock, &lock);
    if (MiPageLists[ZeroedPageList].Total + MiPageLists[FreePageList].Total < Count) {
        KeReleaseInStackQueuedSpinLockForDpc(&lock);
        return MI_NO_PAGE;
    }
    for (SIZE_T i = 0; i < Count; i++) {
        PFN_NUMBER pfn = MiTakePage(wantZero);
        PMMPFN e = MiPfn(pfn);
        /* OwnerPrivate carries "still needs zeroing" to the loop below. */
        BOOLEAN zero = MiActivate(pfn, e, Usage);
        if (wantZero && !zero) {
            e->u2.OwnerPrivate = 1;
            needZeroing = TRUE;
        }
        if (last != MI_NO_PAGE)
            MiPfn(last)->u1.NextInChain = pfn;
        else
            first = pfn;
        last = pfn;
    }
    MiSetAvailable();
    KeReleaseInStackQueuedSpinLockForDpc(&lock);

    /* The pages are ours now; zero them without holding up everyone else. */
    if (needZeroing) {
        for (PFN_NUMBER p = first; p != MI_NO_PAGE; p = MiPfn(p)->u1.NextInChain) {
            PMMPFN e = MiPfn(p);
            if (e->u2.OwnerPrivate) {
                MiZeroPage(p);
                e->u2.OwnerPrivate = 0;
            }
        }
    }
    return first;
}

PFN_NUMBER MiAllocatePage(ULONG Flags, UCHAR Usage)
{
    return MiAllocatePages(1, Flags, Usage);
}

static inline BOOLEAN MiIsOnFreeList(PMMPFN Entry)
{
    return Entry->PageLocation == ZeroedPageList || Entry->PageLocation == FreePageList;
}

/* Highest start s in [Low, High - Count + 1] whose window [s, s + Count) is
 * all free, honours Boundary and Alignment; MI_NO_PAGE if none. Count <= High - Low + 1. */
static PFN_NUMBER MiFindContiguousRun(const MI_PFN_RANGE *Range, SIZE_T Count, PFN_NUMBER Low, PFN_NUMBER High,
                                      PFN_NUMBER Boundary, PFN_NUMBER Alignment)
{
    PFN_NUMBER s = High - Count + 1;
    for (;;) {
        s &= ~(Alignment - 1);
        if (s < Low)
            return MI_NO_PAGE;
        PFN_NUMBER end = s + Count - 1;
        if (Boundary != 0 && s / Boundary != end / Boundary) {
            /* Move the window to end just below the boundary it crosses. */
            PFN_NUMBER line = (end / Boundary) * Boundary;
            if (line < Low + Count)
                return MI_NO_PAGE;
            s = line - Count;
            continue;
        }
        /* Scan from the top of the window: a busy page at j means no window
         * ending at or above j can work. */
        PFN_NUMBER j = end + 1;
        while (j > s && MiIsOnFreeList(&Range->Database[j - 1 - Range->BasePage]))
            j--;
        if (j == s)
            return s;
        PFN_NUMBER busy = j - 1;
        if (busy < Low + Count)
            return MI_NO_PAGE;
        s = busy - Count;
    }
}

PFN_NUMBER MiAllocateContiguousPages(SIZE_T Count, PFN_NUMBER LowestPfn, PFN_NUMBER HighestPfn,
                                     PFN_NUMBER BoundaryPages, PFN_NUMBER AlignmentPages, ULONG Flags,
                                     UCHAR Usage)
{
    KLOCK_QUEUE_HANDLE lock;
    PFN_NUMBER found = MI_NO_PAGE;
    BOOLEAN needZeroing = FALSE;

    if (Count == 0 || LowestPfn > HighestPfn)
        return MI_NO_PAGE;
    if (AlignmentPages == 0)
        AlignmentPages = 1;
    if ((AlignmentPages & (AlignmentPages - 1)) != 0)
        return MI_NO_PAGE;
    if (BoundaryPages != 0 && ((BoundaryPages & (BoundaryPages - 1)) != 0 || BoundaryPages < Count))
        return MI_NO_PAGE;

    KeAcquireInStackQueuedSpinLockForDpc(&MiPfnLock, &lock);
    if (MiPageLists[ZeroedPageList].Total + MiPageLists[FreePageList].Total >= Count) {
        for (ULONG r = MiPfnRangeCount; r-- > 0 && found == MI_NO_PAGE;) {
            const MI_PFN_RANGE *range = &MiPfnRanges[r];
            PFN_NUMBER low = range->BasePage > LowestPfn ? range->BasePage : LowestPfn;
            PFN_NUMBER top = range->BasePage + range->PageCount - 1;
            PFN_NUMBER high = top < HighestPfn ? top : HighestPfn;
            if (high < low || high - low + 1 < Count)
                continue;
            found = MiFindContiguousRun(range, Count, low, high, BoundaryPages, AlignmentPages);
        }
    }
    if (found != MI_NO_PAGE) {
        for (SIZE_T i = 0; i < Count; i++) {
            PMMPFN e = MiPfn(found + i);
            BOOLEAN zero = MiActivate(found + i, e, Usage);
            if ((Flags & MI_ALLOCATE_ZEROED) && !zero) {
                e->u2.OwnerPrivate = 1;
                needZeroing = TRUE;
            }
            e->u1.NextInChain = i + 1 < Count ? found + i + 1 : MI_NO_PAGE;
        }
        MiSetAvailable();
    }
    KeReleaseInStackQueuedSpinLockForDpc(&lock);

    if (needZeroing) {
        for (SIZE_T i = 0; i < Count; i++) {
            PMMPFN e = MiPfn(found + i);
            if (e->u2.OwnerPrivate) {
                MiZeroPage(found + i);
                e->u2.OwnerPrivate = 0;
            }
        }
    }
    return found;
}

/* ---- freeing ---------------------------------------------------------------------------- */

/* Drops one reference (PFN lock held). Returns FALSE, touching nothing, if
 * the page is not an active managed page; *Location then says what it is. */
static BOOLEAN MiDereference(PFN_NUMBER Pfn, BOOLEAN KnownZero, PULONG_PTR Location)
{
    PMMPFN e = MiGetPfnEntry(Pfn);
    if (e == NULL) {
        *Location = 0xFF;
        return FALSE;
    }
    if (e->PageLocation != ActiveAndValid || e->ReferenceCount == 0) {
        *Location = e->PageLocation;
        return FALSE;
    }
    if (--e->ReferenceCount == 0) {
        MiActivePages--;
        MiUsageCount[e->Usage & 7]--;
        MiInsertPage(KnownZero ? ZeroedPageList : FreePageList, Pfn, e, FALSE);
    }
    return TRUE;
}

VOID MiFreePageEx(PFN_NUMBER Pfn, BOOLEAN KnownZero)
{
    KLOCK_QUEUE_HANDLE lock;
    ULONG_PTR location = 0;
    KeAcquireInStackQueuedSpinLockForDpc(&MiPfnLock, &lock);
    BOOLEAN ok = MiDereference(Pfn, KnownZero, &location);
    MiSetAvailable();
    KeReleaseInStackQueuedSpinLockForDpc(&lock);
    if (!ok)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, Pfn, location, 0);
}

VOID MiFreePage(PFN_NUMBER Pfn)
{
    MiFreePageEx(Pfn, FALSE);
}

VOID MiFreePageChain(PFN_NUMBER First, BOOLEAN KnownZero)
{
    KLOCK_QUEUE_HANDLE lock;
    ULONG_PTR location = 0;
    PFN_NUMBER bad = MI_NO_PAGE;
    KeAcquireInStackQueuedSpinLockForDpc(&MiPfnLock, &lock);
    for (PFN_NUMBER p = First; p != MI_NO_PAGE;) {
        PMMPFN e = MiGetPfnEntry(p);
        /* Read the link before the page goes back on a list and reuses it. */
        PFN_NUMBER next = e != NULL ? e->u1.NextInChain : MI_NO_PAGE;
        if (!MiDereference(p, KnownZero, &location)) {
            bad = p;
            break;
        }
        p = next;
    }
    MiSetAvailable();
    KeReleaseInStackQueuedSpinLockForDpc(&lock);
    if (bad != MI_NO_PAGE)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, bad, location, 0);
}

VOID MiReferencePage(PFN_NUMBER Pfn)
{
    KLOCK_QUEUE_HANDLE lock;
    ULONG_PTR location = 0xFF;
    BOOLEAN ok = FALSE;
    KeAcquireInStackQueuedSpinLockForDpc(&MiPfnLock, &lock);
    PMMPFN e = MiGetPfnEntry(Pfn);
    if (e != NULL) {
        location = e->PageLocation;
        if (e->PageLocation == ActiveAndValid && e->ReferenceCount != 0) {
            e->ReferenceCount++;
            ok = TRUE;
        }
    }
    KeReleaseInStackQueuedSpinLockForDpc(&lock);
    if (!ok)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, Pfn, location, 0);
}

VOID MiQueryPfnCounts(PMI_PFN_COUNTS Counts)
{
    KLOCK_QUEUE_HANDLE lock;
    KeAcquireInStackQueuedSpinLockForDpc(&MiPfnLock, &lock);
    Counts->Total = MiTotalPages;
    Counts->Zeroed = MiPageLists[ZeroedPageList].Total;
    Counts->Free = MiPageLists[FreePageList].Total;
    Counts->Standby = MiPageLists[StandbyPageList].Total;
    Counts->Modified = MiPageLists[ModifiedPageList].Total + MiPageLists[ModifiedNoWritePageList].Total;
    Counts->Bad = MiPageLists[BadPageList].Total;
    Counts->Active = MiActivePages;
    Counts->PageTables = MiUsageCount[MiPfnUsagePageTable];
    Counts->MmInternal = MiUsageCount[MiPfnUsageMm];
    KeReleaseInStackQueuedSpinLockForDpc(&lock);
}

/* ---- memory map ------------------------------------------------------------------------- */

BOOLEAN MiIsPhysicalRangeDescribed(ULONG64 Pa, ULONG64 Bytes)
{
    const ARCH_MEMORY_DESCRIPTOR *d;
    ULONG n = arch_memory_map(&d);
    if (Bytes == 0 || Bytes > ~Pa)
        return FALSE;
    ULONG64 page = Pa >> PAGE_SHIFT;
    ULONG64 last = (Pa + Bytes - 1) >> PAGE_SHIFT;
    /* Descriptors are sorted; adjacent ones together may cover the range. */
    for (ULONG i = 0; i < n && page <= last; i++) {
        if (page < d[i].BasePage)
            return FALSE;
        if (page - d[i].BasePage < d[i].PageCount)
            page = d[i].BasePage + d[i].PageCount;
    }
    return page > last;
}

/* ---- boot ------------------------------------------------------------------------------- */

VOID MiInitializePfnDatabase(void)
{
    const ARCH_MEMORY_DESCRIPTOR *d;
    ULONG n = arch_memory_map(&d);
    SIZE_T total = 0;

    KeInitializeSpinLock(&MiPfnLock);
    for (ULONG l = ZeroedPageList; l <= BadPageList; l++)
        MiPageLists[l] = (MMPFNLIST){0, (MMLISTS)l, MI_NO_PAGE, MI_NO_PAGE};

    /* Ranges beyond MI_MAX_PFN_RANGES are left unmanaged. */
    MiPfnRangeCount = 0;
    for (ULONG i = 0; i < n && MiPfnRangeCount < MI_MAX_PFN_RANGES; i++) {
        PFN_NUMBER base = d[i].BasePage, count = d[i].PageCount;
        if (d[i].Type != ArchMemoryFree || count == 0)
            continue;
        if (base == 0) {
            base++;
            count--;
            if (count == 0)
                continue;
        }
        MiPfnRanges[MiPfnRangeCount++] = (MI_PFN_RANGE){base, count, NULL};
        total += count;
    }

    SIZE_T dbPages = (total * sizeof(MMPFN) + PAGE_SIZE - 1) / PAGE_SIZE;
    ULONG carveRange = MiPfnRangeCount;
    for (ULONG r = 0; r < MiPfnRangeCount; r++) {
        if (MiPfnRanges[r].PageCount > dbPages) {
            carveRange = r;
            break;
        }
    }
    if (total == 0 || carveRange == MiPfnRangeCount)
        KeBugCheckEx(INSTALL_MORE_MEMORY, total, MiPfnRangeCount ? MiPfnRanges[0].BasePage : 0, 0, 0);

    PFN_NUMBER dbFirst = MiPfnRanges[carveRange].BasePage;
    PMMPFN db = MiPageAddress(dbFirst);
    RtlZeroMemory(db, dbPages * PAGE_SIZE);
    SIZE_T offset = 0;
    for (ULONG r = 0; r < MiPfnRangeCount; r++) {
        MiPfnRanges[r].Database = db + offset;
        offset += MiPfnRanges[r].PageCount;
    }
    MiLowestPhysicalPage = MiPfnRanges[0].BasePage;
    MiHighestPhysicalPage =
        MiPfnRanges[MiPfnRangeCount - 1].BasePage + MiPfnRanges[MiPfnRangeCount - 1].PageCount - 1;
    MiTotalPages = total;

    /* Ascending order at the tail: allocations start low, contiguous
     * searches (top down) find the high end untouched. */
    for (ULONG r = 0; r < MiPfnRangeCount; r++) {
        for (PFN_NUMBER i = 0; i < MiPfnRanges[r].PageCount; i++) {
            PFN_NUMBER pfn = MiPfnRanges[r].BasePage + i;
            PMMPFN e = &MiPfnRanges[r].Database[i];
            if (pfn >= dbFirst && pfn < dbFirst + dbPages) {
                e->PageLocation = ActiveAndValid;
                e->ReferenceCount = 1;
                e->Usage = MiPfnUsageMm;
                e->CacheAttribute = MiNotMapped;
                MiActivePages++;
                MiUsageCount[MiPfnUsageMm]++;
            } else {
                MiInsertPage(FreePageList, pfn, e, TRUE);
            }
        }
    }
    MiSetAvailable();
}
