/*
 * Pool accounting by tag: allocations, frees and bytes in use per (tag,
 * paged|nonpaged), the query functions and ExDumpPoolUsage.
 *
 * Every processor counts into its own open-addressed table (EXP_TAG_SLOTS
 * entries, allocated by ExInitializePool or the pool's first slow path on
 * a processor started later), written only by that processor inside the
 * pool's per-processor sections, so the allocation path takes no lock and shares
 * no cache line. A block freed on another processor than the one that
 * allocated it leaves a negative byte count there: only the sum over
 * processors means anything. A global table (ExpGlobalTags) is the
 * directory of every tag seen (for snapshots) and takes the counts itself,
 * with atomics, before the per-processor tables exist or when a processor's
 * table has no room for a tag. Processor tables hold only tags an
 * allocation may carry (see ExpTagEntry), which the allocation fast path
 * relies on.
 *
 * Locking: none. Tags are claimed in a slot once and never removed (a
 * compare-exchange in the global table; a release store by the owning
 * processor in its own). Counters are written by their owner with relaxed
 * atomic stores (global: atomic adds) and read by queries with relaxed
 * loads. Any IRQL for the charge/credit paths; queries <= DISPATCH_LEVEL.
 */
#include "poolp.h"
#include <ntos/dbg.h>

static EXP_TAG_ENTRY ExpGlobalTags[EXP_GLOBAL_TAG_SLOTS];
/* Counts for tags that found no room anywhere (more than
 * EXP_GLOBAL_TAG_SLOTS distinct tags), and for tags no allocation could
 * carry (only a damaged header brings one); reported as tag "????". */
static EXP_TAG_ENTRY ExpOverflowTag;
#define EXP_OVERFLOW_TAG 0x3F3F3F3F

static inline ULONG ExpTagHash(ULONG Tag)
{
    return Tag * 0x9E3779B1u;
}

/* The directory entry of Tag; with Insert, claims a slot for a new one. NULL
 * if absent (or the directory is full). */
static PEXP_TAG_ENTRY ExpGlobalEntry(ULONG Tag, BOOLEAN Insert)
{
    if (Tag == 0) /* would match an empty slot */
        return NULL;
    ULONG home = ExpTagHash(Tag) >> (32 - 12);
    _Static_assert(EXP_GLOBAL_TAG_SLOTS == 1 << 12, "hash width");
    for (ULONG i = 0; i < EXP_GLOBAL_TAG_SLOTS; i++) {
        PEXP_TAG_ENTRY e = &ExpGlobalTags[(home + i) & (EXP_GLOBAL_TAG_SLOTS - 1)];
        ULONG t = __atomic_load_n(&e->Tag, __ATOMIC_ACQUIRE);
        if (t == Tag)
            return e;
        if (t == 0) {
            if (!Insert)
                return NULL;
            ULONG expected = 0;
            if (__atomic_compare_exchange_n(&e->Tag, &expected, Tag, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
                expected == Tag)
                return e;
        }
    }
    return NULL;
}

/* Tag's entry in a processor's table. With Insert (owner only), claims a slot
 * for a new tag after registering it in the directory. */
static PEXP_TAG_ENTRY ExpCpuEntry(PEXP_TAG_ENTRY Table, ULONG Tag, BOOLEAN Insert)
{
    if (Tag == 0) /* would match an empty slot */
        return NULL;
    ULONG home = ExpTagHome(Tag); /* the slot ExpTagLookupFast tries */
    for (ULONG i = 0; i < EXP_TAG_PROBES; i++) {
        PEXP_TAG_ENTRY e = &Table[(home + i) & (EXP_TAG_SLOTS - 1)];
        ULONG t = __atomic_load_n(&e->Tag, __ATOMIC_ACQUIRE);
        if (t == Tag)
            return e;
        if (t == 0) {
            if (!Insert)
                return NULL;
            ExpGlobalEntry(Tag, TRUE);
            __atomic_store_n(&e->Tag, Tag, __ATOMIC_RELEASE);
            return e;
        }
    }
    return NULL;
}

PEXP_TAG_ENTRY NTAPI ExpTagEntry(PEXP_POOL_CPU Cpu, ULONG Tag)
{
    /* Only a header damaged behind the pool's back brings a tag no
     * allocation could have had (a free credits the tag in the header). */
    if (!ExpTagHasLetterOrDigit(Tag))
        return NULL;
    PEXP_TAG_ENTRY table = __atomic_load_n(&Cpu->Tags, __ATOMIC_ACQUIRE);
    PEXP_TAG_ENTRY e = table ? ExpCpuEntry(table, Tag, TRUE) : NULL;
    if (e != NULL) {
        Cpu->CachedTag = Tag;
        Cpu->CachedEntry = e;
    }
    return e;
}

VOID NTAPI ExpTagCountGlobal(ULONG Tag, ULONG Paged, LONG64 Allocs, LONG64 Frees, LONG64 Bytes)
{
    /* A tag no allocation could have had (see ExpTagEntry) counts as "????";
     * 0 in particular would match an empty directory slot. */
    PEXP_TAG_ENTRY e = ExpTagHasLetterOrDigit(Tag) ? ExpGlobalEntry(Tag, TRUE) : NULL;
    if (e == NULL)
        e = &ExpOverflowTag;
    __atomic_fetch_add(&e->Counts[Paged].Allocs, Allocs, __ATOMIC_RELAXED);
    __atomic_fetch_add(&e->Counts[Paged].Frees, Frees, __ATOMIC_RELAXED);
    __atomic_fetch_add(&e->Counts[Paged].Bytes, Bytes, __ATOMIC_RELAXED);
}

static volatile LONG ExpTrackedCpus;     /* processors known to have a table */
static volatile LONG ExpTrackingLock;

BOOLEAN ExpPoolTrackingNeeded(void)
{
    return (ULONG)__atomic_load_n(&ExpTrackedCpus, __ATOMIC_ACQUIRE) < arch_processor_count();
}

VOID ExpInitializePoolTracking(void)
{
    SIZE_T pages = (EXP_TAG_SLOTS * sizeof(EXP_TAG_ENTRY) + EXP_PAGE_MASK) / EXP_PAGE_SIZE;
    ULONG n = arch_processor_count();
    if (n > ARCH_MAX_CPUS)
        n = ARCH_MAX_CPUS;
    /* One thread at a time; a caller that finds another at work leaves the
     * tables to it (counts go to the global table meanwhile). */
    if (__atomic_exchange_n(&ExpTrackingLock, 1, __ATOMIC_ACQUIRE) != 0)
        return;
    ULONG done = (ULONG)__atomic_load_n(&ExpTrackedCpus, __ATOMIC_ACQUIRE);
    for (ULONG i = done; i < n; i++) {
        PEXP_TAG_ENTRY table = MiAllocatePoolPages(pages, TRUE);
        if (table == NULL)
            break; /* that processor keeps counting in the global table */
        RtlZeroMemory(table, pages * EXP_PAGE_SIZE);
        __atomic_store_n(&ExpPoolCpu[i].Tags, table, __ATOMIC_RELEASE);
        __atomic_store_n(&ExpTrackedCpus, (LONG)(i + 1), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&ExpTrackingLock, 0, __ATOMIC_RELEASE);
}

/* Sums of one tag over the global entry and every processor's table; FALSE if
 * the tag appears nowhere. */
static BOOLEAN ExpSumTag(ULONG Tag, PEX_POOL_TAG_USAGE Usage)
{
    BOOLEAN found = FALSE;
    LONG64 sums[3][2] = {{0, 0}, {0, 0}, {0, 0}};
    PEXP_TAG_ENTRY entries[ARCH_MAX_CPUS + 2];
    ULONG count = 0;
    entries[count] = Tag == EXP_OVERFLOW_TAG ? &ExpOverflowTag : ExpGlobalEntry(Tag, FALSE);
    if (entries[count] != NULL)
        count++;
    for (ULONG i = 0; i < ARCH_MAX_CPUS; i++) {
        PEXP_TAG_ENTRY table = __atomic_load_n(&ExpPoolCpu[i].Tags, __ATOMIC_ACQUIRE);
        PEXP_TAG_ENTRY e = table ? ExpCpuEntry(table, Tag, FALSE) : NULL;
        if (e != NULL)
            entries[count++] = e;
    }
    for (ULONG i = 0; i < count; i++) {
        found = TRUE;
        for (ULONG k = 0; k < 2; k++) {
            sums[0][k] += __atomic_load_n(&entries[i]->Counts[k].Allocs, __ATOMIC_RELAXED);
            sums[1][k] += __atomic_load_n(&entries[i]->Counts[k].Frees, __ATOMIC_RELAXED);
            sums[2][k] += __atomic_load_n(&entries[i]->Counts[k].Bytes, __ATOMIC_RELAXED);
        }
    }
    Usage->Tag = Tag;
    Usage->Reserved = 0;
    Usage->NonPagedAllocs = (ULONG64)sums[0][0];
    Usage->PagedAllocs = (ULONG64)sums[0][1];
    Usage->NonPagedFrees = (ULONG64)sums[1][0];
    Usage->PagedFrees = (ULONG64)sums[1][1];
    Usage->NonPagedBytes = (ULONG64)sums[2][0];
    Usage->PagedBytes = (ULONG64)sums[2][1];
    return found;
}

NTSTATUS ExQueryPoolTagUsage(ULONG Tag, POOL_TYPE Type, PULONG64 Allocs, PULONG64 Frees, PULONG64 BytesInUse)
{
    EX_POOL_TAG_USAGE u;
    BOOLEAN found = ExpSumTag(Tag, &u);
    BOOLEAN paged = ((ULONG)Type & BASE_POOL_TYPE_MASK) != 0;
    if (Allocs != NULL)
        *Allocs = paged ? u.PagedAllocs : u.NonPagedAllocs;
    if (Frees != NULL)
        *Frees = paged ? u.PagedFrees : u.NonPagedFrees;
    if (BytesInUse != NULL)
        *BytesInUse = paged ? u.PagedBytes : u.NonPagedBytes;
    return found ? STATUS_SUCCESS : STATUS_NOT_FOUND;
}

NTSTATUS ExQueryPoolTagSnapshot(PEX_POOL_TAG_USAGE Buffer, ULONG Count, PULONG Returned)
{
    ULONG n = 0;
    for (ULONG i = 0; i <= EXP_GLOBAL_TAG_SLOTS; i++) {
        ULONG tag;
        if (i == EXP_GLOBAL_TAG_SLOTS) {
            /* The overflow entry, only once something landed there. */
            if ((__atomic_load_n(&ExpOverflowTag.Counts[0].Allocs, __ATOMIC_RELAXED) |
                 __atomic_load_n(&ExpOverflowTag.Counts[1].Allocs, __ATOMIC_RELAXED) |
                 __atomic_load_n(&ExpOverflowTag.Counts[0].Frees, __ATOMIC_RELAXED) |
                 __atomic_load_n(&ExpOverflowTag.Counts[1].Frees, __ATOMIC_RELAXED)) == 0)
                break;
            tag = EXP_OVERFLOW_TAG;
        } else {
            tag = __atomic_load_n(&ExpGlobalTags[i].Tag, __ATOMIC_ACQUIRE);
            if (tag == 0)
                continue;
        }
        if (n < Count && Buffer != NULL)
            ExpSumTag(tag, &Buffer[n]);
        n++;
    }
    if (Returned != NULL)
        *Returned = n;
    return n > Count ? STATUS_BUFFER_TOO_SMALL : STATUS_SUCCESS;
}

static VOID ExpTagText(ULONG Tag, CHAR Text[5])
{
    for (ULONG i = 0; i < 4; i++) {
        UCHAR c = (UCHAR)(Tag >> (8 * i));
        Text[i] = (c >= 0x20 && c < 0x7F) ? (CHAR)c : '.';
    }
    Text[4] = 0;
}

VOID ExDumpPoolUsage(void)
{
    DbgPrint("Tag  Type     Allocs          Frees           Diff            Bytes\n");
    ULONG64 total[2] = {0, 0};
    for (ULONG i = 0; i <= EXP_GLOBAL_TAG_SLOTS; i++) {
        ULONG tag = i == EXP_GLOBAL_TAG_SLOTS ? EXP_OVERFLOW_TAG
                                              : __atomic_load_n(&ExpGlobalTags[i].Tag, __ATOMIC_ACQUIRE);
        if (tag == 0)
            continue;
        EX_POOL_TAG_USAGE u;
        ExpSumTag(tag, &u);
        CHAR text[5];
        ExpTagText(tag, text);
        if (u.NonPagedAllocs != 0) {
            DbgPrint("%s Nonp %15I64u %15I64u %15I64u %15I64u\n", text, u.NonPagedAllocs, u.NonPagedFrees,
                     u.NonPagedAllocs - u.NonPagedFrees, u.NonPagedBytes);
            total[0] += u.NonPagedBytes;
        }
        if (u.PagedAllocs != 0) {
            DbgPrint("%s Paged %14I64u %15I64u %15I64u %15I64u\n", text, u.PagedAllocs, u.PagedFrees,
                     u.PagedAllocs - u.PagedFrees, u.PagedBytes);
            total[1] += u.PagedBytes;
        }
    }
    DbgPrint("Total bytes in use: nonpaged %I64u, paged %I64u\n", total[0], total[1]);
}
