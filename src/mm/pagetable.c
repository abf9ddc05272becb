/*
 * Page tables of the system range: the x86_64 four-level format (PML4, PDPT,
 * PD, PT; 4 KB pages and 2 MB pages), built and walked here, made visible by
 * arch_flush_translation.
 *
 * Entries
 *  - Table entries: PRESENT | WRITE | ACCESSED (and USER once a user leaf is
 *    put below), so that the leaf alone decides protection.
 *  - Leaves: frame | PRESENT | ACCESSED | DIRTY (if writable) | the caller's
 *    protection bits (WRITE, USER, PWT, PCD, GLOBAL, NX), plus two bits the
 *    processor ignores marking an allocation's first and last page and an
 *    owner code in bits 52..55. So an allocation describes itself: freeing
 *    one needs no side table, and "is this a pool page" is a page walk.
 *  - Caching uses PWT/PCD only: cached = neither, uncached = both, UC- = PCD,
 *    write-combined = PWT alone, which selects PAT entry 1; the bare-metal
 *    backend programs that entry as WC (the choice Linux makes as well).
 *  - Present entries are never left non-zero when cleared, so a table page
 *    whose UsedEntries (kept in its MMPFN) drops to zero is all zeroes: it is
 *    unlinked from its parent (found through its PteAddress), and freed to
 *    the zeroed list after the flush. The PML4 stays.
 *
 * Locking and IRQL
 *  - MiPageTableLock (in-stack queued, ...ForDpc) serialises every change to
 *    the tables, UsedEntries and the retirement state below. Callable at
 *    IRQL <= DISPATCH_LEVEL (any IRQL at boot). Order: MiPageTableLock, then
 *    MiPfnLock (taken inside for table pages and MMPFN updates).
 *  - arch_flush_translation runs with the lock dropped (at DISPATCH_LEVEL):
 *    a flush is long (mmap calls on the host, a TLB shootdown on hardware),
 *    and holding a FIFO lock across it stalled everyone behind a waiter whose
 *    processor was not running (the host runs more virtual processors than
 *    it has cores): the 4-thread stress test on 4 virtual processors over 2
 *    cores took 14 s that way. Flushing unlocked is safe because a caller
 *    only flushes addresses it owns, whose mappings nobody else changes, and
 *    because table pages are only freed once no flush can still walk them
 *    (the epochs below).
 *  - Entries are written with atomic release stores and read with atomic
 *    acquire loads, so lock-free readers (MiTranslate) see either the old or
 *    the new entry, never a torn one. A table page is fully written before the
 *    entry that links it is stored (2 MB splits included), so a reader walking
 *    a stable mapping always finds it.
 *  - A reader walking an address whose mapping is being removed may read a
 *    freed table page (still memory, content meaningless): it samples
 *    MiPageTableGeneration, bumped after each unlink and before the page is
 *    freed, and walks again if it moved.
 *  - Frames an operation releases are freed after its flush, table pages
 *    once every flush that might walk them is over: no processor may still
 *    translate through them.
 */
#include "mi.h"

ULONG64 MiPml4Physical;
ULONG_PTR MiSystemRangeStart;
SIZE_T MiSystemRangeSize;
volatile ULONG64 MiPageTableGeneration;

static KSPIN_LOCK MiPageTableLock;

#define MI_TABLE_ENTRY (MI_PTE_PRESENT | MI_PTE_WRITE | MI_PTE_ACCESSED)
/* A large leaf's non-frame bits: 0..11 and 52..63 (bits 12..20 hold PAT and
 * reserved zeroes, never set here). */
#define MI_PTE_LOW_HIGH_BITS (0xFFFULL | 0xFFF0000000000000ULL)

static inline ULONG MiIndex(ULONG_PTR Va, int Level)
{
    return (ULONG)((Va >> (PAGE_SHIFT + 9 * Level)) & 511);
}

static inline ULONG64 *MiTableEntries(ULONG64 TablePa)
{
    return arch_physical_pointer(TablePa & MI_PTE_FRAME);
}

static inline ULONG64 MiRead(ULONG64 *Slot)
{
    return __atomic_load_n(Slot, __ATOMIC_ACQUIRE);
}

static inline void MiWrite(ULONG64 *Slot, ULONG64 Value)
{
    __atomic_store_n(Slot, Value, __ATOMIC_RELEASE);
}

static inline ULONG64 MiLevelBytes(int Level)
{
    return 1ULL << (PAGE_SHIFT + 9 * Level);
}

static inline PMMPFN MiTablePfn(ULONG64 TablePa)
{
    PMMPFN e = MiGetPfnEntry(TablePa >> PAGE_SHIFT);
    if (e == NULL || e->Usage != MiPfnUsagePageTable)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, TablePa >> PAGE_SHIFT, e ? e->PageLocation : 0xFF, 0);
    return e;
}

static UCHAR MiPfnCacheFromPte(ULONG64 Entry)
{
    if (Entry & MI_PTE_PCD)
        return MiNonCached;
    if (Entry & MI_PTE_PWT)
        return MiWriteCombined;
    return MiCached;
}

/* ---- caching and protection ------------------------------------------------------------- */

BOOLEAN MiCacheTypeToPte(MEMORY_CACHING_TYPE CacheType, PULONG64 Bits, PUCHAR PfnAttribute)
{
    ULONG64 bits;
    switch (CacheType) {
    case MmNonCached:
        bits = MI_PTE_PCD | MI_PTE_PWT;
        break;
    case MmCached:
    case MmHardwareCoherentCached:
        bits = 0;
        break;
    case MmWriteCombined:
    case MmUSWCCached:
        bits = MI_PTE_PWT;
        break;
    case MmNonCachedUnordered:
        bits = MI_PTE_PCD;
        break;
    default:
        return FALSE;
    }
    *Bits = bits;
    if (PfnAttribute != NULL)
        *PfnAttribute = MiPfnCacheFromPte(bits);
    return TRUE;
}

BOOLEAN MiProtectionToPte(ULONG Protect, PULONG64 Bits, PUCHAR PfnAttribute)
{
    ULONG access = Protect & 0xFF;
    ULONG extra = Protect & ~0xFFu;
    ULONG64 bits;
    switch (access) {
    case PAGE_READONLY:
        bits = MI_PTE_NX;
        break;
    case PAGE_READWRITE:
        bits = MI_PTE_NX | MI_PTE_WRITE;
        break;
    /* x86 has no execute-only pages: PAGE_EXECUTE maps readable. */
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
        bits = 0;
        break;
    case PAGE_EXECUTE_READWRITE:
        bits = MI_PTE_WRITE;
        break;
    default:
        return FALSE;
    }
    if (extra == PAGE_NOCACHE)
        bits |= MI_PTE_PCD | MI_PTE_PWT;
    else if (extra == PAGE_WRITECOMBINE)
        bits |= MI_PTE_PWT;
    else if (extra != 0)
        return FALSE;
    *Bits = bits;
    if (PfnAttribute != NULL)
        *PfnAttribute = MiPfnCacheFromPte(bits);
    return TRUE;
}

/* ---- lock-free walk --------------------------------------------------------------------- */

static ULONG64 MiWalkOnce(ULONG_PTR Va, int *Level)
{
    ULONG64 table = __atomic_load_n(&MiPml4Physical, __ATOMIC_ACQUIRE);
    for (int level = 3; level >= 0; level--) {
        ULONG64 *entries = MiTableEntries(table);
        if (entries == NULL)
            return 0;
        ULONG64 e = MiRead(&entries[MiIndex(Va, level)]);
        if (!(e & MI_PTE_PRESENT))
            return 0;
        if (level == 0 || ((e & MI_PTE_LARGE) && level <= 2)) {
            *Level = level;
            return e;
        }
        table = e & MI_PTE_FRAME;
    }
    return 0;
}

/* The leaf entry for Va (0 if unmapped) and its level, consistent with some
 * moment during the call. */
static ULONG64 MiWalk(ULONG_PTR Va, int *Level)
{
    if (MiPml4Physical == 0)
        return 0;
    for (;;) {
        ULONG64 before = __atomic_load_n(&MiPageTableGeneration, __ATOMIC_ACQUIRE);
        ULONG64 e = MiWalkOnce(Va, Level);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&MiPageTableGeneration, __ATOMIC_RELAXED) == before)
            return e;
        arch_pause();
    }
}

BOOLEAN MiTranslate(ULONG_PTR Va, PULONG64 Pa, PULONG64 Entry, PSIZE_T PageBytes)
{
    int level = 0;
    /* The walk ignores bits 48..63: an address outside the range could alias one inside. */
    if (!MiIsSystemRange(Va, 1))
        return FALSE;
    ULONG64 e = MiWalk(Va, &level);
    if (e == 0)
        return FALSE;
    ULONG64 bytes = MiLevelBytes(level);
    if (Pa != NULL)
        *Pa = (e & MI_PTE_FRAME & ~(bytes - 1)) + (Va & (bytes - 1));
    if (Entry != NULL)
        *Entry = e;
    if (PageBytes != NULL)
        *PageBytes = bytes;
    return TRUE;
}

BOOLEAN MiIsAllocationAddress(ULONG_PTR Va, MI_MAPPING_OWNER Owner)
{
    int level = 0;
    if (!MiIsSystemRange(Va, 1))
        return FALSE;
    ULONG64 e = MiWalk(Va, &level);
    return e != 0 && (e & MI_PTE_OWNER_MASK) == MI_PTE_OWNER(Owner);
}

/* ---- operations under the lock ------------------------------------------------------------ */

typedef struct _MI_PT_OPERATION {
    KLOCK_QUEUE_HANDLE Lock;
    KIRQL CallerIrql;
    PFN_NUMBER FreedTables; /* chain of table pages this operation unlinked */
    PFN_NUMBER FreedFrames; /* chain of frames to free */
    ULONG Splits;
    ULONG_PTR SplitVa[2];   /* 2 MB regions whose page size changed */
} MI_PT_OPERATION;

/*
 * Deferred freeing of unlinked table pages (MiPageTableLock). A flush walks
 * the tables without the lock (the host MMU reads them), so a table unlinked
 * while some flush may still be walking through it must outlive that flush.
 * Flushes register in the current epoch; tables unlinked during epoch E are
 * freed once the flushes of epoch E have drained and the epoch has moved on
 * (those of E - 1 drained before E began). A walk that starts after the
 * unlink cannot reach the table: its parent entry is already clear.
 */
static ULONG64 MiFlushEpoch;
static ULONG MiFlushesInProgress[2];
static PFN_NUMBER MiRetiredTables[2];

static void MiBeginOperation(MI_PT_OPERATION *Op)
{
    Op->FreedTables = 0;
    Op->FreedFrames = 0;
    Op->Splits = 0;
    KeAcquireInStackQueuedSpinLockForDpc(&MiPageTableLock, &Op->Lock);
    Op->CallerIrql = Op->Lock.OldIrql;
}

static PFN_NUMBER MiAppendChain(PFN_NUMBER Chain, PFN_NUMBER More)
{
    if (Chain == 0)
        return More;
    PFN_NUMBER last = Chain;
    while (MiGetPfnEntry(last)->u1.NextInChain != 0)
        last = MiGetPfnEntry(last)->u1.NextInChain;
    MiGetPfnEntry(last)->u1.NextInChain = More;
    return Chain;
}

/*
 * Ends an operation: retires the tables it unlinked, flushes what changed
 * with the lock dropped (still at DISPATCH_LEVEL, so a flush is never
 * preempted and cannot hold back reclamation for long), reclaims the tables
 * no flush can reach any more, and frees the frames the operation released,
 * which only its own, now flushed, addresses mapped.
 */
static void MiEndOperation(MI_PT_OPERATION *Op, ULONG_PTR FlushVa, SIZE_T FlushPages)
{
    ULONG epoch = (ULONG)(MiFlushEpoch & 1);
    BOOLEAN flush = FlushPages != 0 || Op->Splits != 0;
    PFN_NUMBER reclaim = 0;

    MiRetiredTables[epoch] = MiAppendChain(MiRetiredTables[epoch], Op->FreedTables);
    if (flush) {
        MiFlushesInProgress[epoch]++;
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&Op->Lock);
        for (ULONG i = 0; i < Op->Splits; i++)
            arch_flush_translation(Op->SplitVa[i], MI_PTES_PER_LARGE_PAGE);
        if (FlushPages != 0)
            arch_flush_translation(FlushVa, FlushPages);
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&MiPageTableLock, &Op->Lock);
        MiFlushesInProgress[epoch]--;
    }
    for (;;) {
        ULONG previous = (ULONG)((MiFlushEpoch - 1) & 1);
        if (MiFlushesInProgress[previous] != 0 ||
            (MiRetiredTables[previous] == 0 && MiRetiredTables[previous ^ 1] == 0))
            break;
        reclaim = MiAppendChain(reclaim, MiRetiredTables[previous]);
        MiRetiredTables[previous] = 0;
        MiFlushEpoch++;
    }
    if (reclaim != 0)
        __atomic_add_fetch(&MiPageTableGeneration, 1, __ATOMIC_SEQ_CST);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&Op->Lock);
    if (reclaim != 0)
        MiFreePageChain(reclaim, TRUE);
    if (Op->FreedFrames != 0)
        MiFreePageChain(Op->FreedFrames, FALSE);
    if (Op->CallerIrql < DISPATCH_LEVEL)
        KeLowerIrql(Op->CallerIrql);
}

/* What the locked lookup found for an address. */
typedef struct _MI_SLOT {
    ULONG64 *Slot;  /* the leaf entry, or the first non-present entry on the way */
    ULONG64 TablePa; /* the table holding Slot */
    int Level;      /* Slot's level: 0 = PT .. 3 = PML4 */
    ULONG64 Entry;  /* *Slot */
} MI_SLOT;

static void MiLookup(ULONG_PTR Va, MI_SLOT *Out)
{
    ULONG64 table = MiPml4Physical;
    for (int level = 3;; level--) {
        ULONG64 *slot = &MiTableEntries(table)[MiIndex(Va, level)];
        ULONG64 e = *slot;
        if (level == 0 || !(e & MI_PTE_PRESENT) || (e & MI_PTE_LARGE)) {
            *Out = (MI_SLOT){slot, table, level, e};
            return;
        }
        table = e & MI_PTE_FRAME;
    }
}

/* The first address after Va not covered by the non-present entry found at Level. */
static inline ULONG_PTR MiSkip(ULONG_PTR Va, int Level)
{
    return (Va | (MiLevelBytes(Level) - 1)) + 1;
}

/* Stores a leaf or table entry and keeps its table's UsedEntries. */
static void MiSetEntry(ULONG64 TablePa, ULONG64 *Slot, ULONG64 Value)
{
    ULONG64 old = *Slot;
    MiWrite(Slot, Value);
    if (!(old & MI_PTE_PRESENT) && (Value & MI_PTE_PRESENT))
        MiTablePfn(TablePa)->UsedEntries++;
    else if ((old & MI_PTE_PRESENT) && !(Value & MI_PTE_PRESENT))
        MiTablePfn(TablePa)->UsedEntries--;
}

/* Unlinks TablePa and its ancestors while they are empty. */
static void MiReleaseEmptyTables(MI_PT_OPERATION *Op, ULONG64 TablePa)
{
    while ((TablePa & MI_PTE_FRAME) != MiPml4Physical) {
        PMMPFN t = MiTablePfn(TablePa);
        if (t->UsedEntries != 0)
            return;
        ULONG64 parentSlotPa = t->PteAddress;
        ULONG64 parentPa = parentSlotPa & MI_PTE_FRAME;
        MiSetEntry(parentPa, arch_physical_pointer(parentSlotPa), 0);
        t->PteAddress = 0;
        t->u1.NextInChain = Op->FreedTables;
        Op->FreedTables = TablePa >> PAGE_SHIFT;
        TablePa = parentPa;
    }
}

/* The slot for Va at TargetLevel (0 = PT entry, 1 = PD entry), creating the
 * tables above it. NULL with STATUS_INSUFFICIENT_RESOURCES if a table page is
 * not available, STATUS_CONFLICTING_ADDRESSES if a large page is in the way. */
static ULONG64 *MiCreateSlot(MI_PT_OPERATION *Op, ULONG_PTR Va, int TargetLevel, ULONG64 User, ULONG64 *TablePa,
                             NTSTATUS *Status)
{
    ULONG64 table = MiPml4Physical;
    for (int level = 3; level > TargetLevel; level--) {
        ULONG64 *slot = &MiTableEntries(table)[MiIndex(Va, level)];
        ULONG64 e = *slot;
        if (!(e & MI_PTE_PRESENT)) {
            PFN_NUMBER page = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsagePageTable);
            if (page == 0) {
                /* Tables created on the way down are still empty. */
                MiReleaseEmptyTables(Op, table);
                *Status = STATUS_INSUFFICIENT_RESOURCES;
                return NULL;
            }
            PMMPFN child = MiTablePfn((ULONG64)page << PAGE_SHIFT);
            child->PteAddress = (table & MI_PTE_FRAME) + MiIndex(Va, level) * sizeof(ULONG64);
            child->CacheAttribute = MiCached;
            e = ((ULONG64)page << PAGE_SHIFT) | MI_TABLE_ENTRY | User;
            MiSetEntry(table, slot, e);
        } else if (e & MI_PTE_LARGE) {
            *Status = STATUS_CONFLICTING_ADDRESSES;
            return NULL;
        } else if (User && !(e & MI_PTE_USER)) {
            MiWrite(slot, e | MI_PTE_USER);
        }
        table = e & MI_PTE_FRAME;
    }
    *TablePa = table;
    return &MiTableEntries(table)[MiIndex(Va, TargetLevel)];
}

static ULONG64 MiMakeLeaf(ULONG64 Pa, ULONG64 Attributes, BOOLEAN Large, BOOLEAN Start, BOOLEAN End)
{
    ULONG64 e = (Pa & (Large ? MI_PTE_LARGE_FRAME : MI_PTE_FRAME)) | MI_PTE_PRESENT | MI_PTE_ACCESSED |
                (Attributes & (MI_PTE_PROTECTION_MASK | MI_PTE_OWNER_MASK));
    if (e & MI_PTE_WRITE)
        e |= MI_PTE_DIRTY;
    if (Large)
        e |= MI_PTE_LARGE;
    if (Start)
        e |= MI_PTE_ALLOCATION_START;
    if (End)
        e |= MI_PTE_ALLOCATION_END;
    return e;
}

/* Replaces the 2 MB leaf at Slot (a PD entry) by a page table mapping the
 * same 512 pages the same way. */
static NTSTATUS MiSplitLargePage(MI_PT_OPERATION *Op, ULONG_PTR Va, const MI_SLOT *Leaf)
{
    PFN_NUMBER page = MiAllocatePage(0, MiPfnUsagePageTable);
    if (page == 0)
        return STATUS_INSUFFICIENT_RESOURCES;
    ULONG64 large = Leaf->Entry;
    ULONG64 base = large & MI_PTE_LARGE_FRAME;
    ULONG64 attributes = large & MI_PTE_LOW_HIGH_BITS &
                         ~(MI_PTE_LARGE | MI_PTE_ALLOCATION_START | MI_PTE_ALLOCATION_END);
    ULONG64 *entries = MiPageAddress(page);
    for (ULONG i = 0; i < MI_PTES_PER_LARGE_PAGE; i++) {
        ULONG64 e = (base + i * PAGE_SIZE) | attributes;
        if (i == 0)
            e |= large & MI_PTE_ALLOCATION_START;
        if (i == MI_PTES_PER_LARGE_PAGE - 1)
            e |= large & MI_PTE_ALLOCATION_END;
        __atomic_store_n(&entries[i], e, __ATOMIC_RELAXED);
    }
    /* Managed frames that named the PDE as their mapping now have a PTE each. */
    ULONG64 pdeSlotPa =
        (Leaf->TablePa & MI_PTE_FRAME) + (ULONG64)((PUCHAR)Leaf->Slot - (PUCHAR)MiTableEntries(Leaf->TablePa));
    for (ULONG i = 0; i < MI_PTES_PER_LARGE_PAGE; i++) {
        PMMPFN f = MiGetPfnEntry((base >> PAGE_SHIFT) + i);
        if (f != NULL && f->PteAddress == pdeSlotPa)
            f->PteAddress = ((ULONG64)page << PAGE_SHIFT) + i * sizeof(ULONG64);
    }
    PMMPFN t = MiTablePfn((ULONG64)page << PAGE_SHIFT);
    t->UsedEntries = MI_PTES_PER_LARGE_PAGE;
    t->PteAddress = pdeSlotPa;
    t->CacheAttribute = MiCached;
    /* Present before and after: the PD's UsedEntries does not change. */
    MiWrite(Leaf->Slot, ((ULONG64)page << PAGE_SHIFT) | MI_TABLE_ENTRY | (large & MI_PTE_USER));
    /* Translations are unchanged, but the page size is not: processors may
     * hold the 2 MB translation. */
    Op->SplitVa[Op->Splits++] = Va & ~(MI_LARGE_PAGE_SIZE - 1);
    return STATUS_SUCCESS;
}

/* Splits the 2 MB pages that [Va, End) covers only partly (at most two). */
static NTSTATUS MiSplitRangeEdges(MI_PT_OPERATION *Op, ULONG_PTR Va, ULONG_PTR End)
{
    ULONG_PTR edges[2] = {Va, End - PAGE_SIZE};
    for (int i = 0; i < 2; i++) {
        MI_SLOT leaf;
        MiLookup(edges[i], &leaf);
        if (!(leaf.Entry & MI_PTE_PRESENT) || leaf.Level != 1)
            continue;
        ULONG_PTR start = edges[i] & ~(MI_LARGE_PAGE_SIZE - 1);
        if (start >= Va && start + MI_LARGE_PAGE_SIZE <= End)
            continue;
        NTSTATUS status = MiSplitLargePage(Op, edges[i], &leaf);
        if (!NT_SUCCESS(status))
            return status;
    }
    return STATUS_SUCCESS;
}

/* Clears every present leaf in [Va, End), which splits already made whole.
 * Frames are chained for freeing when FreeFrames. */
static void MiClearRange(MI_PT_OPERATION *Op, ULONG_PTR Va, ULONG_PTR End, BOOLEAN FreeFrames)
{
    for (ULONG_PTR va = Va; va < End && va >= Va;) {
        MI_SLOT leaf;
        MiLookup(va, &leaf);
        if (!(leaf.Entry & MI_PTE_PRESENT)) {
            va = MiSkip(va, leaf.Level);
            continue;
        }
        SIZE_T pages = leaf.Level == 0 ? 1 : MI_PTES_PER_LARGE_PAGE;
        if (FreeFrames) {
            PFN_NUMBER first = (leaf.Entry & (leaf.Level ? MI_PTE_LARGE_FRAME : MI_PTE_FRAME)) >> PAGE_SHIFT;
            for (SIZE_T i = 0; i < pages; i++) {
                PMMPFN e = MiGetPfnEntry(first + i);
                if (e == NULL)
                    continue;
                e->PteAddress = 0;
                e->u1.NextInChain = Op->FreedFrames;
                Op->FreedFrames = first + i;
            }
        }
        MiSetEntry(leaf.TablePa, leaf.Slot, 0);
        MiReleaseEmptyTables(Op, leaf.TablePa);
        va = (va & ~(pages * PAGE_SIZE - 1)) + pages * PAGE_SIZE;
    }
}

/* TRUE if no page of [Va, End) is mapped. */
static BOOLEAN MiRangeIsUnmapped(ULONG_PTR Va, ULONG_PTR End)
{
    for (ULONG_PTR va = Va; va < End && va >= Va;) {
        MI_SLOT leaf;
        MiLookup(va, &leaf);
        if (leaf.Entry & MI_PTE_PRESENT)
            return FALSE;
        va = MiSkip(va, leaf.Level);
    }
    return TRUE;
}

/* Notes in the MMPFNs of the managed frames [Pa, Pa + Pages pages) which
 * entry maps them and how. */
static void MiRecordMapping(ULONG64 Pa, SIZE_T Pages, ULONG64 TablePa, ULONG64 *Slot, UCHAR Cache)
{
    ULONG64 slotPa = (TablePa & MI_PTE_FRAME) + (ULONG64)((PUCHAR)Slot - (PUCHAR)MiTableEntries(TablePa));
    for (SIZE_T i = 0; i < Pages; i++) {
        PMMPFN e = MiGetPfnEntry((Pa >> PAGE_SHIFT) + i);
        if (e != NULL) {
            e->PteAddress = slotPa;
            e->CacheAttribute = Cache;
        }
    }
}

static NTSTATUS MiMapInternal(ULONG_PTR Va, ULONG64 Pa, PFN_NUMBER Chain, SIZE_T Pages, ULONG64 Attributes,
                              ULONG Flags)
{
    MI_PT_OPERATION op;
    NTSTATUS status = STATUS_SUCCESS;
    if (Pages == 0 || (Va & (PAGE_SIZE - 1)) || (Pa & (PAGE_SIZE - 1)) || !MiIsSystemRange(Va, Pages))
        return STATUS_INVALID_PARAMETER;
    if (Chain == 0 && (Pa > MI_PTE_FRAME || Pages > ((MI_PTE_FRAME - Pa) >> PAGE_SHIFT) + 1))
        return STATUS_INVALID_PARAMETER;
    ULONG_PTR end = Va + Pages * PAGE_SIZE;
    ULONG64 user = Attributes & MI_PTE_USER;
    UCHAR cache = MiPfnCacheFromPte(Attributes);
    BOOLEAN mark = (Flags & MI_MAP_ALLOCATION) != 0;

    MiBeginOperation(&op);
    if (!MiRangeIsUnmapped(Va, end)) {
        MiEndOperation(&op, 0, 0);
        return STATUS_CONFLICTING_ADDRESSES;
    }
    SIZE_T i = 0;
    PFN_NUMBER next = Chain;
    while (i < Pages) {
        ULONG_PTR va = Va + i * PAGE_SIZE;
        ULONG64 pa = Pa + i * PAGE_SIZE;
        ULONG64 table;
        if (Chain == 0 && (Flags & MI_MAP_LARGE_PAGES) && (va & (MI_LARGE_PAGE_SIZE - 1)) == 0 &&
            (pa & (MI_LARGE_PAGE_SIZE - 1)) == 0 && Pages - i >= MI_PTES_PER_LARGE_PAGE) {
            ULONG64 *slot = MiCreateSlot(&op, va, 1, user, &table, &status);
            if (slot == NULL)
                break;
            if (*slot & MI_PTE_PRESENT) {
                status = STATUS_CONFLICTING_ADDRESSES; /* cannot happen: checked above */
                break;
            }
            MiSetEntry(table, slot,
                       MiMakeLeaf(pa, Attributes, TRUE, mark && i == 0, mark && i + MI_PTES_PER_LARGE_PAGE == Pages));
            if (Flags & MI_MAP_OWNS_FRAMES)
                MiRecordMapping(pa, MI_PTES_PER_LARGE_PAGE, table, slot, cache);
            i += MI_PTES_PER_LARGE_PAGE;
            continue;
        }
        ULONG64 *slot = MiCreateSlot(&op, va, 0, user, &table, &status);
        if (slot == NULL)
            break;
        if (Chain != 0) {
            PMMPFN e = MiGetPfnEntry(next);
            pa = (ULONG64)next << PAGE_SHIFT;
            e->PteAddress = (table & MI_PTE_FRAME) + MiIndex(va, 0) * sizeof(ULONG64);
            e->CacheAttribute = cache;
            next = e->u1.NextInChain;
        }
        MiSetEntry(table, slot, MiMakeLeaf(pa, Attributes, FALSE, mark && i == 0, mark && i + 1 == Pages));
        if (Chain == 0 && (Flags & MI_MAP_OWNS_FRAMES))
            MiRecordMapping(pa, 1, table, slot, cache);
        i++;
    }
    if (i < Pages) {
        /* Out of table pages: take back what was mapped (its tables go too). */
        MiClearRange(&op, Va, Va + i * PAGE_SIZE, FALSE);
        MiEndOperation(&op, Va, i);
        return status;
    }
    MiEndOperation(&op, Va, Pages);
    return STATUS_SUCCESS;
}

NTSTATUS MiMapRange(ULONG_PTR Va, ULONG64 Pa, SIZE_T Pages, ULONG64 Attributes, ULONG Flags)
{
    return MiMapInternal(Va, Pa, 0, Pages, Attributes, Flags);
}

NTSTATUS MiMapPageChain(ULONG_PTR Va, PFN_NUMBER First, SIZE_T Pages, ULONG64 Attributes, ULONG Flags)
{
    if (First == 0)
        return STATUS_INVALID_PARAMETER;
    return MiMapInternal(Va, 0, First, Pages, Attributes, Flags & ~MI_MAP_LARGE_PAGES);
}

NTSTATUS MiUnmapRange(ULONG_PTR Va, SIZE_T Pages)
{
    MI_PT_OPERATION op;
    if (Pages == 0 || (Va & (PAGE_SIZE - 1)) || !MiIsSystemRange(Va, Pages))
        return STATUS_INVALID_PARAMETER;
    ULONG_PTR end = Va + Pages * PAGE_SIZE;
    MiBeginOperation(&op);
    NTSTATUS status = MiSplitRangeEdges(&op, Va, end);
    if (NT_SUCCESS(status))
        MiClearRange(&op, Va, end, FALSE);
    MiEndOperation(&op, Va, NT_SUCCESS(status) ? Pages : 0);
    return status;
}

NTSTATUS MiProtectRange(ULONG_PTR Va, SIZE_T Pages, ULONG64 Attributes)
{
    MI_PT_OPERATION op;
    if (Pages == 0 || (Va & (PAGE_SIZE - 1)) || !MiIsSystemRange(Va, Pages))
        return STATUS_INVALID_PARAMETER;
    ULONG_PTR end = Va + Pages * PAGE_SIZE;
    MiBeginOperation(&op);
    NTSTATUS status = MiSplitRangeEdges(&op, Va, end);
    if (NT_SUCCESS(status)) {
        for (ULONG_PTR va = Va; va < end && va >= Va;) {
            MI_SLOT leaf;
            MiLookup(va, &leaf);
            if (!(leaf.Entry & MI_PTE_PRESENT)) {
                va = MiSkip(va, leaf.Level);
                continue;
            }
            BOOLEAN large = leaf.Level == 1;
            ULONG64 old = leaf.Entry;
            ULONG64 keep = Attributes & MI_PTE_PROTECTION_MASK;
            keep |= old & MI_PTE_OWNER_MASK;
            ULONG64 e = MiMakeLeaf(old & (large ? MI_PTE_LARGE_FRAME : MI_PTE_FRAME), keep, large,
                                   (old & MI_PTE_ALLOCATION_START) != 0, (old & MI_PTE_ALLOCATION_END) != 0);
            if (Attributes & MI_PTE_USER) {
                /* The upper levels must allow user access too. */
                ULONG64 table;
                NTSTATUS s;
                MiCreateSlot(&op, va, leaf.Level, MI_PTE_USER, &table, &s);
            }
            MiSetEntry(leaf.TablePa, leaf.Slot, e);
            va = MiSkip(va, leaf.Level);
        }
    }
    MiEndOperation(&op, Va, NT_SUCCESS(status) ? Pages : 0);
    return status;
}

NTSTATUS MiUnmapAllocation(ULONG_PTR Va, MI_MAPPING_OWNER Owner, SIZE_T ExpectedPages, BOOLEAN FreeFrames,
                           PSIZE_T Pages)
{
    MI_PT_OPERATION op;
    SIZE_T count = 0;
    NTSTATUS status = STATUS_SUCCESS;
    *Pages = 0;
    if ((Va & (PAGE_SIZE - 1)) || !MiIsSystemRange(Va, 1))
        return STATUS_INVALID_ADDRESS;

    MiBeginOperation(&op);
    for (ULONG_PTR va = Va;;) {
        MI_SLOT leaf;
        MiLookup(va, &leaf);
        ULONG64 e = leaf.Entry;
        SIZE_T pages = leaf.Level == 0 ? 1 : MI_PTES_PER_LARGE_PAGE;
        /* Each leaf of an allocation is entered at its first page; the first
         * carries START, no other does. */
        if (!(e & MI_PTE_PRESENT) || (e & MI_PTE_OWNER_MASK) != MI_PTE_OWNER(Owner) ||
            (va & (pages * PAGE_SIZE - 1)) != 0 || ((e & MI_PTE_ALLOCATION_START) != 0) != (va == Va)) {
            status = STATUS_INVALID_ADDRESS;
            break;
        }
        count += pages;
        if (e & MI_PTE_ALLOCATION_END)
            break;
        va += pages * PAGE_SIZE;
        if (!MiIsSystemRange(va, 1)) {
            status = STATUS_INVALID_ADDRESS;
            break;
        }
    }
    if (NT_SUCCESS(status) && ExpectedPages != 0 && ExpectedPages != count)
        status = STATUS_INVALID_PARAMETER;
    if (!NT_SUCCESS(status)) {
        MiEndOperation(&op, 0, 0);
        *Pages = status == STATUS_INVALID_PARAMETER ? count : 0;
        return status;
    }
    MiClearRange(&op, Va, Va + count * PAGE_SIZE, FreeFrames);
    MiEndOperation(&op, Va, count);
    *Pages = count;
    return STATUS_SUCCESS;
}

/* ---- public queries ------------------------------------------------------------------------ */

PHYSICAL_ADDRESS NTAPI MmGetPhysicalAddress(PVOID BaseAddress)
{
    PHYSICAL_ADDRESS pa;
    ULONG64 p = 0;
    pa.QuadPart = MiTranslate((ULONG_PTR)BaseAddress, &p, NULL, NULL) ? (LONGLONG)p : 0;
    return pa;
}

BOOLEAN NTAPI MmIsAddressValid(PVOID VirtualAddress)
{
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)VirtualAddress, (PVOID)MmIsAddressValid);
    return MiTranslate((ULONG_PTR)VirtualAddress, NULL, NULL, NULL);
}

/* ---- boot ------------------------------------------------------------------------------------ */

VOID MiInitializePageTables(void)
{
    ULONG_PTR base;
    SIZE_T size;
    KeInitializeSpinLock(&MiPageTableLock);
    arch_system_va_range(&base, &size);
    MiSystemRangeStart = base;
    MiSystemRangeSize = size;
    PFN_NUMBER pml4 = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsagePageTable);
    if (pml4 == 0)
        KeBugCheckEx(MEMORY_MANAGEMENT, 0x61940, 0, 0, 0);
    MiGetPfnEntry(pml4)->CacheAttribute = MiCached;
    __atomic_store_n(&MiPml4Physical, (ULONG64)pml4 << PAGE_SHIFT, __ATOMIC_RELEASE);
    arch_set_page_table_root(MiPml4Physical);
}
