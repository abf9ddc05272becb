/*
 * Executive pool: ExAllocatePool* / ExFreePool*, ExQueryPoolBlockSize,
 * ExInitializePool.
 *
 * Shape
 *  - Small blocks (request + 16-byte POOL_HEADER <= 4080 bytes) come from
 *    pages carved into blocks of one size class. A page starts with a 16-byte
 *    EXP_PAGE_HEADER (class, kind, magic), then 255 units of blocks, so every
 *    block is 16-byte aligned, stays inside its page and has its POOL_HEADER
 *    right before the pointer handed out. A block keeps its header while
 *    free (PoolType 0), which is how a double free is told apart.
 *  - Pages are of three kinds, as their protection differs: nonpaged
 *    executable, nonpaged NX, paged (NX).
 *  - A (kind, class) pair is a slot (1..90; 0 means none), described by a
 *    constant EXP_SLOT_INFO. Each processor has a LIFO free list per slot,
 *    linked through POOL_HEADER.ProcessBilled; it is touched only by its
 *    processor, in a per-processor section (ExpEnterSection), so the common
 *    path takes no lock. A list that empties refills with one batch from the
 *    shared depot (spin-locked chains of the slot's Batch blocks) or by
 *    carving a new page; a list that grows past the slot's Limit gives one
 *    batch back to the depot.
 *  - Carved pages are recorded with their slot in a two-level byte map
 *    (ExpSlabMap), so a free can tell a small block from anything else, and
 *    its size class, without asking Mm or reading the page. They are not
 *    returned to Mm (the depot keeps free blocks for reuse).
 *  - ExAllocatePoolWithTag and ExFreePool(WithTag) start with a fast path
 *    (ExpAllocateSmallFast, ExpFreeSmallFast) for the common case: plain
 *    small blocks, the tag found without probing, the list neither empty
 *    nor full. It accepts only what the general path would accept, with the
 *    same result, and declines everything else (to the general path, which
 *    bug-checks what must be) before changing anything; it calls nothing
 *    (on the host, where a per-processor section costs no instructions), so
 *    the exports save few registers and reach the general path with a tail
 *    call.
 *  - Larger requests are whole pages from MiAllocatePoolPages, page aligned,
 *    with no header: a sharded hash table keyed by address (ExpBigShards,
 *    NT's big-page table) records tag, type and size. Freed runs of 1..4
 *    pages are kept in a small per-processor cache, as mapping pages is far
 *    costlier than finding a free block.
 *  - Cache-aligned requests take a block 48 bytes larger and hand out its
 *    first 64-byte aligned address, with a second header (EX_POOL_HEADER_ALIGNED,
 *    PreviousSize = units back to the block's own header) right before it.
 *  - ASan builds (host): block slack, free blocks, headers and page headers
 *    are poisoned, so a driver's overrun, underrun or use after free is
 *    reported by the sanitizer; freed small blocks sit in a per-processor
 *    FIFO quarantine of EXP_QUARANTINE_BYTES before they can be reused.
 *
 * Locking and IRQL
 *  - Callers: allocation and free of paged pool at <= APC_LEVEL, nonpaged at
 *    <= DISPATCH_LEVEL (BAD_POOL_CALLER 0x08 / 0x09 otherwise).
 *  - EXP_POOL_CPU: own processor, in a per-processor section (no interrupt,
 *    no thread switch) or with interrupts disabled.
 *  - Depot and big-table shard locks: spin locks taken with interrupts
 *    disabled, innermost, never held across a call to Mm or a bug check.
 *  - Mm is called with interrupts as the caller had them, never under a
 *    pool lock.
 *  - Every check that bug-checks runs before the pool changes any state, so a
 *    caught bug check leaves the pool consistent.
 */
#include "poolp.h"
#include <ntos/seh.h>

EXP_POOL_CPU ExpPoolCpu[ARCH_MAX_CPUS];

/* ---- size classes ------------------------------------------------------------------------
 * Block sizes in 16-byte units (header included): every unit count up to 17,
 * then the largest size that fits n blocks in a page's 255 units. Batch:
 * blocks moved between a processor and the depot at once (~8 KB, 2..64).
 * Limit: a processor's list gives a batch back when it holds more than this
 * (two batches, at least one page's worth).
 *
 *           class units batch limit */
#define EXP_CLASS_LIST(X)                                                                                  \
    X(0, 2, 64, 128) X(1, 3, 64, 128) X(2, 4, 64, 128) X(3, 5, 64, 128) X(4, 6, 64, 128) X(5, 7, 64, 128)    \
    X(6, 8, 64, 128) X(7, 9, 56, 112) X(8, 10, 51, 102) X(9, 11, 46, 92) X(10, 12, 42, 84)                  \
    X(11, 13, 39, 78) X(12, 14, 36, 72) X(13, 15, 34, 68) X(14, 16, 32, 64) X(15, 17, 30, 60)               \
    X(16, 18, 28, 56) X(17, 19, 26, 52) X(18, 21, 24, 48) X(19, 23, 22, 44) X(20, 25, 20, 40)               \
    X(21, 28, 18, 36) X(22, 31, 16, 32) X(23, 36, 14, 28) X(24, 42, 12, 24) X(25, 51, 10, 20)               \
    X(26, 63, 8, 16) X(27, 85, 6, 12) X(28, 127, 4, 8) X(29, 255, 2, 4)

/* Class of a block of n units (n = 0..255). */
static const UCHAR ExpUnitsToClass[256] = {
    0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 18, 19, 19, 20, 20,
    21, 21, 21, 22, 22, 22, 23, 23, 23, 23, 23, 24, 24, 24, 24, 24, 24, 25, 25, 25, 25, 25, 25, 25, 25, 25,
    26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
    27, 27, 27, 27, 27, 27, 27, 27, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
};
_Static_assert(sizeof(ExpUnitsToClass) == 256, "one class per unit count");

#define EXP_CACHE_LINE 64
#define EXP_ALIGN_EXTRA (EXP_CACHE_LINE - EXP_UNIT) /* worst-case shift to a 64-byte boundary */

#define EXP_HDR_PREVIOUS(v) ((v) & 0xFF)
#define EXP_HDR_INDEX(v) (((v) >> 8) & 0xFF)
#define EXP_HDR_SIZE(v) (((v) >> 16) & 0xFF)
#define EXP_HDR_TYPE(v) ((v) >> 24)
#define EXP_HDR_MAKE(prev, index, size, type) \
    ((ULONG)(prev) | ((ULONG)(index) << 8) | ((ULONG)(size) << 16) | ((ULONG)(type) << 24))
#define EXP_HDR_KNOWN_TYPE_BITS                                                                            \
    (EX_POOL_HEADER_BASE_MASK | EX_POOL_HEADER_NX | EX_POOL_HEADER_QUOTA | EX_POOL_HEADER_ALIGNED |        \
     EX_POOL_HEADER_SESSION)
/* PoolType bits a live block may carry beyond its kind's (see ExpLocateSmallSlow). */
#define EXP_HDR_OPTIONAL_TYPE_BITS ((ULONG)(EX_POOL_HEADER_QUOTA | EX_POOL_HEADER_SESSION) << 24)

/* The header type each kind of page carries, before the QUOTA and SESSION bits. */
#define EXP_KIND_HEADER_TYPE(k)                                                                           \
    ((k) == EXP_KIND_PAGED ? EX_POOL_HEADER_PAGED                                                         \
                           : (k) == EXP_KIND_NONPAGED_NX ? (EX_POOL_HEADER_NONPAGED | EX_POOL_HEADER_NX)  \
                                                         : EX_POOL_HEADER_NONPAGED)

/*
 * Everything the fast paths need about one slot (kind, class), in one cache
 * line. Starts has bit u set when a block's data may start at unit u of a
 * page of the class (unit 0 is the page header, unit 1 the first block's
 * header): 2 + k * Units for each of the page's 255 / Units blocks. It is
 * what makes a free's position check one bit test instead of a division.
 * Slot 0 (not a small-block page) is all zero: no position passes.
 */
typedef struct DECLSPEC_ALIGN(64) _EXP_SLOT_INFO {
    ULONG64 Starts[4];
    ULONG Header;   /* Ulong1 of a live plain block that is not its page's first */
    ULONG TypeBits; /* Type << 24: the PoolType bits of Ulong1 */
    USHORT Bytes;   /* block size, charged to the tag */
    UCHAR Units;
    UCHAR Class;
    UCHAR Kind;
    UCHAR Paged;    /* index of the tag counters: 0 nonpaged, 1 paged */
    UCHAR MaximumIrql;
    UCHAR Batch;
    UCHAR Limit;
} EXP_SLOT_INFO;
_Static_assert(sizeof(EXP_SLOT_INFO) == 64, "one cache line per slot");
_Static_assert(EXP_SLOTS <= 256, "the carved-page map keeps a slot in a byte");

#define EXP_SB(u, b) ((ULONG64)((b) >= 2 && ((b) - 2) % (u) == 0 && ((b) - 2) / (u) < 255 / (u)) << ((b) & 63))
#define EXP_SB4(u, b) (EXP_SB(u, b) | EXP_SB(u, (b) + 1) | EXP_SB(u, (b) + 2) | EXP_SB(u, (b) + 3))
#define EXP_SB16(u, b) (EXP_SB4(u, b) | EXP_SB4(u, (b) + 4) | EXP_SB4(u, (b) + 8) | EXP_SB4(u, (b) + 12))
#define EXP_SB64(u, b) (EXP_SB16(u, b) | EXP_SB16(u, (b) + 16) | EXP_SB16(u, (b) + 32) | EXP_SB16(u, (b) + 48))
#define EXP_SLOT(k, c, u, b, l)                                                                            \
    {{EXP_SB64(u, 0), EXP_SB64(u, 64), EXP_SB64(u, 128), EXP_SB64(u, 192)},                                \
     EXP_HDR_MAKE(u, c, u, EXP_KIND_HEADER_TYPE(k)),                                                       \
     (ULONG)EXP_KIND_HEADER_TYPE(k) << 24,                                                                 \
     (u) * EXP_UNIT,                                                                                       \
     u,                                                                                                    \
     c,                                                                                                    \
     k,                                                                                                    \
     (k) == EXP_KIND_PAGED,                                                                                \
     (k) == EXP_KIND_PAGED ? APC_LEVEL : DISPATCH_LEVEL,                                                   \
     b,                                                                                                    \
     l},
#define EXP_SLOT_EXECUTE(c, u, b, l) EXP_SLOT(EXP_KIND_NONPAGED_EXECUTE, c, u, b, l)
#define EXP_SLOT_NX(c, u, b, l) EXP_SLOT(EXP_KIND_NONPAGED_NX, c, u, b, l)
#define EXP_SLOT_PAGED(c, u, b, l) EXP_SLOT(EXP_KIND_PAGED, c, u, b, l)
_Static_assert(EXP_KIND_NONPAGED_EXECUTE == 0 && EXP_KIND_NONPAGED_NX == 1 && EXP_KIND_PAGED == 2,
               "slots are listed in kind order");

static const EXP_SLOT_INFO ExpSlotInfo[EXP_SLOTS] = {
    {{0}}, EXP_CLASS_LIST(EXP_SLOT_EXECUTE) EXP_CLASS_LIST(EXP_SLOT_NX) EXP_CLASS_LIST(EXP_SLOT_PAGED)};

static inline ULONG ExpSlotOf(ULONG Kind, ULONG Class)
{
    return 1 + Kind * EXP_CLASSES + Class;
}

/* The first slot of the kind a plain POOL_TYPE (PagedPool and
 * POOL_NX_ALLOCATION bits only) asks for, indexed by (type | type >> 8) & 3. */
_Static_assert(PagedPool == 1 && POOL_NX_ALLOCATION == 0x200, "plain pool type bits");
static const UCHAR ExpPlainTypeSlot[4] = {1 + EXP_KIND_NONPAGED_EXECUTE * EXP_CLASSES,
                                          1 + EXP_KIND_PAGED * EXP_CLASSES,
                                          1 + EXP_KIND_NONPAGED_NX * EXP_CLASSES,
                                          1 + EXP_KIND_PAGED * EXP_CLASSES};

/* Attributes of one allocation request. */
#define EXP_ALLOC_ZERO 0x01
#define EXP_ALLOC_CACHE_ALIGNED 0x02
#define EXP_ALLOC_RAISE 0x04
#define EXP_ALLOC_QUOTA 0x08
#define EXP_ALLOC_SESSION 0x10

#define EXP_CALLER() ((PVOID)__builtin_return_address(0))

/*
 * A per-processor section: the code between ExpEnterSection and
 * ExpLeaveSection runs on one processor with nothing else of that
 * processor (an interrupt, a DPC, a thread switch) interleaved, so it may use
 * the processor's EXP_POOL_CPU. Sections never spin, take a lock or call
 * Mm: that happens outside them (ExpDepotPop/Push, ExpCarvePage).
 *
 * Bare metal disables interrupts. On the host, the arch interface delivers
 * interrupts (and with them thread switches) only at interruptible points:
 * lowering the IRQL, enabling interrupts, arch_idle, arch_pause, arch_stall.
 * A section reaches none of them, so it is already uninterruptible and
 * needs no instructions; that keeps the fast paths free of calls into the
 * backend (whose SysV ABI would also cost an NTAPI caller the save of ten
 * XMM registers).
 */
#if defined(NTOS_HOST)
typedef UCHAR EXP_SECTION;
#define ExpEnterSection() ((EXP_SECTION)0)
#define ExpLeaveSection(s) ((void)(s))
#else
typedef ULONG_PTR EXP_SECTION;
#define ExpEnterSection() arch_disable_interrupts()
#define ExpLeaveSection(s) arch_restore_interrupts(s)
#endif

/* ---- headers (poisoned for drivers under ASan, hence the unchecked accessors) ---------------- */

static EXP_UNCHECKED ULONG ExpHeaderUlong(PPOOL_HEADER Header)
{
    return Header->Ulong1;
}

static EXP_UNCHECKED ULONG ExpHeaderTag(PPOOL_HEADER Header)
{
    return Header->PoolTag;
}

static EXP_UNCHECKED VOID ExpSetHeaderType(PPOOL_HEADER Header, UCHAR Type)
{
    Header->PoolType = Type;
}

/*
 * The header of a block changing hands is written in whole fields: its next
 * reader (often a free or allocation a few instructions later) loads Ulong1
 * and PoolTag as ULONGs, and a load that overlaps a narrower, still
 * buffered store cannot take its data from the store buffer; it waits for
 * the store to reach the cache, which costs more than the whole operation.
 */
static EXP_UNCHECKED VOID ExpSetHeaderUlong(PPOOL_HEADER Header, ULONG Ulong1)
{
    Header->Ulong1 = Ulong1;
}

static EXP_UNCHECKED VOID ExpSetHeaderAllocated(PPOOL_HEADER Header, ULONG Ulong1, ULONG Tag)
{
    Header->Ulong1 = Ulong1;
    Header->PoolTag = Tag;
    Header->ProcessBilled = NULL;
}

static EXP_UNCHECKED VOID ExpSetHeader(PPOOL_HEADER Header, ULONG Ulong1, ULONG Tag, PVOID Link)
{
    Header->Ulong1 = Ulong1;
    Header->PoolTag = Tag;
    Header->ProcessBilled = Link;
}

static EXP_UNCHECKED PPOOL_HEADER ExpNext(PPOOL_HEADER Header)
{
    return (PPOOL_HEADER)Header->ProcessBilled;
}

static EXP_UNCHECKED VOID ExpSetNext(PPOOL_HEADER Header, PPOOL_HEADER Next)
{
    Header->ProcessBilled = Next;
}

#ifndef EXP_POOL_ASAN /* the only user is the free fast path, which ASan builds go without */
/* Frees a block (Ulong1 with PoolType 0) onto a list through the link. */
static EXP_UNCHECKED VOID ExpSetHeaderFree(PPOOL_HEADER Header, ULONG Ulong1, PPOOL_HEADER Next)
{
    Header->Ulong1 = Ulong1;
    Header->ProcessBilled = Next;
}
#endif

/* Depot chains link through the first payload quadword of their first block. */
static EXP_UNCHECKED PPOOL_HEADER ExpChainNext(PPOOL_HEADER Header)
{
    return *(PPOOL_HEADER *)(Header + 1);
}

static EXP_UNCHECKED VOID ExpSetChainNext(PPOOL_HEADER Header, PPOOL_HEADER Next)
{
    *(PPOOL_HEADER *)(Header + 1) = Next;
}

static inline ULONG ExpKindOfHeaderType(ULONG Type)
{
    if ((Type & EX_POOL_HEADER_BASE_MASK) == EX_POOL_HEADER_PAGED)
        return EXP_KIND_PAGED;
    return (Type & EX_POOL_HEADER_NX) ? EXP_KIND_NONPAGED_NX : EXP_KIND_NONPAGED_EXECUTE;
}

/* The POOL_TYPE a header type stands for, for bug check parameters. */
static inline ULONG ExpPoolTypeOfHeaderType(ULONG Type)
{
    if ((Type & EX_POOL_HEADER_BASE_MASK) == EX_POOL_HEADER_PAGED)
        return PagedPool;
    return (Type & EX_POOL_HEADER_NX) ? NonPagedPoolNx : NonPagedPool;
}

static inline UCHAR ExpHeaderTypeOf(ULONG Kind, ULONG Attributes)
{
    UCHAR t = EXP_KIND_HEADER_TYPE(Kind);
    if (Attributes & EXP_ALLOC_QUOTA)
        t |= EX_POOL_HEADER_QUOTA;
    if (Attributes & EXP_ALLOC_SESSION)
        t |= EX_POOL_HEADER_SESSION;
    return t;
}

static inline KIRQL ExpMaximumIrql(ULONG Kind)
{
    return Kind == EXP_KIND_PAGED ? APC_LEVEL : DISPATCH_LEVEL;
}

DECLSPEC_NORETURN VOID ExpRaiseStatus(NTSTATUS Status, PVOID Caller, SIZE_T Bytes, ULONG Tag)
{
    /* A real, noncontinuable raise into the caller's __except. The request
     * travels in the record, so an unhandled one bug-checks
     * KMODE_EXCEPTION_NOT_HANDLED (status, address, bytes, tag). */
    EXCEPTION_RECORD rec;
    RtlZeroMemory(&rec, sizeof(rec));
    rec.ExceptionCode = Status;
    rec.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    rec.NumberParameters = 2;
    rec.ExceptionInformation[0] = Bytes;
    rec.ExceptionInformation[1] = Tag;
    (void)Caller;
    RtlRaiseException(&rec);
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)Status, (ULONG_PTR)Caller, Bytes, Tag);
}

/* ---- the carved-page map ---------------------------------------------------------------------
 * One byte per page of a window centred on the first carved page: the slot
 * a page was carved for, 0 for any other page. It is the authority on
 * what a page holds (the page header is a copy for whoever inspects memory),
 * so a free learns its block's class without touching the page header, whose
 * cache line the page's first block shares with whichever processor uses it.
 * The window (128 GB) is twice the largest system PTE range Mm builds, so it
 * covers that range wherever the first page lies. Leaves are one page (4096
 * pages' bytes), made on demand; entries are only ever set, as carved pages
 * stay carved. Readers use relaxed atomics: a thread that holds a pointer to
 * a block obtained it after the entry was set. */

#define EXP_SLAB_LEAF_PAGES EXP_PAGE_SIZE
#define EXP_SLAB_TOP 8192
#define EXP_SLAB_WINDOW_PAGES ((ULONG64)EXP_SLAB_TOP * EXP_SLAB_LEAF_PAGES)

static ULONG_PTR ExpSlabBase;
static UCHAR *ExpSlabMap[EXP_SLAB_TOP];

/* The slot of the page holding Va if it is a carved page, else 0. (The base
 * is page aligned: Va's offset in its page drops out with the shift.) */
static inline __attribute__((always_inline)) ULONG ExpSlabSlot(ULONG_PTR Va)
{
    ULONG64 index = (Va - __atomic_load_n(&ExpSlabBase, __ATOMIC_RELAXED)) >> ARCH_PAGE_SHIFT;
    if (__builtin_expect(index >= EXP_SLAB_WINDOW_PAGES, 0))
        return 0;
    UCHAR *leaf = __atomic_load_n(&ExpSlabMap[index / EXP_SLAB_LEAF_PAGES], __ATOMIC_RELAXED);
    if (__builtin_expect(leaf == NULL, 0))
        return 0;
    return __atomic_load_n(&leaf[index % EXP_SLAB_LEAF_PAGES], __ATOMIC_RELAXED);
}

/* <= DISPATCH_LEVEL, no pool lock held. FALSE if the page cannot be recorded. */
static BOOLEAN ExpRecordSlabPage(ULONG_PTR Page, ULONG Slot)
{
    if (__atomic_load_n(&ExpSlabBase, __ATOMIC_ACQUIRE) == 0) {
        ULONG_PTR half = (ULONG_PTR)(EXP_SLAB_WINDOW_PAGES / 2) << ARCH_PAGE_SHIFT;
        ULONG_PTR base = Page > half ? Page - half : EXP_PAGE_SIZE;
        ULONG_PTR expected = 0;
        __atomic_compare_exchange_n(&ExpSlabBase, &expected, base, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    ULONG64 index = (Page - __atomic_load_n(&ExpSlabBase, __ATOMIC_ACQUIRE)) >> ARCH_PAGE_SHIFT;
    if (index >= EXP_SLAB_WINDOW_PAGES)
        return FALSE;
    UCHAR **slot = &ExpSlabMap[index / EXP_SLAB_LEAF_PAGES];
    UCHAR *leaf = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (leaf == NULL) {
        UCHAR *fresh = MiAllocatePoolPages(EXP_SLAB_LEAF_PAGES / EXP_PAGE_SIZE, TRUE);
        if (fresh == NULL)
            return FALSE;
        RtlZeroMemory(fresh, EXP_SLAB_LEAF_PAGES);
        UCHAR *expected = NULL;
        if (__atomic_compare_exchange_n(slot, &expected, fresh, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            leaf = fresh;
        } else {
            MiFreePoolPages(fresh);
            leaf = expected;
        }
    }
    __atomic_store_n(&leaf[index % EXP_SLAB_LEAF_PAGES], (UCHAR)Slot, __ATOMIC_RELEASE);
    return TRUE;
}

/* ---- depot ------------------------------------------------------------------------------------ */

typedef struct DECLSPEC_ALIGN(64) _EXP_DEPOT {
    volatile LONG Lock;
    ULONG Chains;
    PPOOL_HEADER First; /* chains of a batch of blocks, NULL-terminated through the link */
} EXP_DEPOT;

static EXP_DEPOT ExpDepot[EXP_SLOTS];

/*
 * A new page carved into blocks of Slot, chained first to last; *Tail and
 * *Count describe the chain. <= DISPATCH_LEVEL, no lock held.
 */
static PPOOL_HEADER ExpCarvePage(ULONG Slot, PPOOL_HEADER *Tail, PULONG Count)
{
    const EXP_SLOT_INFO *si = &ExpSlotInfo[Slot];
    PUCHAR page = MiAllocatePoolPages(1, si->Kind != EXP_KIND_NONPAGED_EXECUTE);
    if (page == NULL)
        return NULL;
    PEXP_PAGE_HEADER ph = (PEXP_PAGE_HEADER)page;
    ph->Magic = ExpPageMagic((ULONG_PTR)page);
    ph->Class = si->Class;
    ph->Kind = si->Kind;
    ph->Reserved = 0;
    ph->Reserved2 = 0;
    ULONG units = si->Units;
    ULONG n = EXP_PAGE_UNITS / units;
    PPOOL_HEADER first = (PPOOL_HEADER)(page + EXP_UNIT);
    for (ULONG i = 0; i < n; i++) {
        PPOOL_HEADER h = (PPOOL_HEADER)((PUCHAR)first + (SIZE_T)i * units * EXP_UNIT);
        PPOOL_HEADER next = i + 1 < n ? (PPOOL_HEADER)((PUCHAR)h + units * EXP_UNIT) : NULL;
        ExpSetHeader(h, EXP_HDR_MAKE(i ? units : 0, si->Class, units, 0), 0, next);
    }
    ExpPoison(page, EXP_PAGE_SIZE);
    /* Recorded last: a free of any address in the page finds it a small-block
     * page only once its headers exist. */
    if (!ExpRecordSlabPage((ULONG_PTR)page, Slot)) {
        ExpUnpoison(page, EXP_PAGE_SIZE);
        MiFreePoolPages(page);
        return NULL;
    }
    *Tail = (PPOOL_HEADER)((PUCHAR)first + (SIZE_T)(n - 1) * units * EXP_UNIT);
    *Count = n;
    return first;
}

/* Takes one chain from the depot (NULL if it has none). <= DISPATCH_LEVEL, any section left. */
static PPOOL_HEADER NTAPI ExpDepotPop(ULONG Slot)
{
    EXP_DEPOT *depot = &ExpDepot[Slot];
    if (__atomic_load_n(&depot->First, __ATOMIC_RELAXED) == NULL)
        return NULL;
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&depot->Lock);
    PPOOL_HEADER chain = depot->First;
    if (chain != NULL) {
        __atomic_store_n(&depot->First, ExpChainNext(chain), __ATOMIC_RELAXED);
        depot->Chains--;
    }
    ExpUnlock(&depot->Lock);
    arch_restore_interrupts(interrupts);
    return chain;
}

/* Gives a chain of one batch to the depot. Any IRQL, any section left. */
static VOID NTAPI ExpDepotPush(ULONG Slot, PPOOL_HEADER Chain)
{
    EXP_DEPOT *depot = &ExpDepot[Slot];
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&depot->Lock);
    ExpSetChainNext(Chain, depot->First);
    __atomic_store_n(&depot->First, Chain, __ATOMIC_RELAXED);
    depot->Chains++;
    ExpUnlock(&depot->Lock);
    arch_restore_interrupts(interrupts);
}

/*
 * The processor's list for Slot was empty: gets a depot chain or carves a
 * page (calling Mm, so outside any section), then, in a section on whatever
 * processor runs the thread by then, adds the blocks to that processor's
 * list and takes one, charged to Tag. NULL when out of memory.
 */
static __attribute__((noinline)) PPOOL_HEADER NTAPI ExpAllocateSmallSlow(ULONG Slot, ULONG Tag)
{
    if (__builtin_expect(ExpPoolTrackingNeeded(), 0))
        ExpInitializePoolTracking();
    const EXP_SLOT_INFO *si = &ExpSlotInfo[Slot];
    PPOOL_HEADER tail = NULL;
    ULONG count = si->Batch;
    PPOOL_HEADER chain = ExpDepotPop(Slot);
    if (chain == NULL)
        chain = ExpCarvePage(Slot, &tail, &count);
    if (chain == NULL)
        return NULL;
    EXP_SECTION section = ExpEnterSection();
    PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
    EXP_FREE_LIST *list = &cpu->Lists[Slot];
    if (list->Head != NULL) {
        /* Refilled meanwhile (by an interrupt, or this is another processor):
         * append behind the chain. */
        if (tail == NULL) {
            tail = chain;
            while (ExpNext(tail) != NULL)
                tail = ExpNext(tail);
        }
        ExpSetNext(tail, list->Head);
    }
    list->Head = chain;
    list->Count += count;
    PPOOL_HEADER h = list->Head;
    list->Head = ExpNext(h);
    list->Count--;
    ExpTagCharge(cpu, Tag, si->Paged, si->Bytes);
    ExpLeaveSection(section);
    return h;
}

/*
 * Cuts one batch from an over-full list: the blocks after the head, so the
 * block just freed (the cache-warm one) stays. In a section; the caller
 * gives the chain to the depot after leaving it.
 */
static __attribute__((noinline)) PPOOL_HEADER NTAPI ExpCutBatch(ULONG Slot, EXP_FREE_LIST *List)
{
    ULONG batch = ExpSlotInfo[Slot].Batch;
    PPOOL_HEADER head = List->Head;
    PPOOL_HEADER first = ExpNext(head);
    PPOOL_HEADER tail = first;
    for (ULONG i = 1; i < batch; i++)
        tail = ExpNext(tail);
    ExpSetNext(head, ExpNext(tail));
    List->Count -= batch;
    ExpSetNext(tail, NULL);
    return first;
}

/* A free block (PoolType already 0) goes back on its processor's list. In
 * a section. Returns a batch cut from an over-full list, for ExpDepotPush,
 * or NULL. */
static inline __attribute__((always_inline)) PPOOL_HEADER ExpPushFree(PEXP_POOL_CPU Cpu, ULONG Slot,
                                                                       PPOOL_HEADER Header)
{
    EXP_FREE_LIST *list = &Cpu->Lists[Slot];
    ExpSetNext(Header, list->Head);
    list->Head = Header;
    if (__builtin_expect(++list->Count > ExpSlotInfo[Slot].Limit, 0))
        return ExpCutBatch(Slot, list);
    return NULL;
}

#ifdef EXP_POOL_ASAN
#define EXP_QUARANTINE_CUTS 4

typedef struct _EXP_CUT {
    PPOOL_HEADER Chain;
    ULONG Slot;
} EXP_CUT;

/*
 * Queues a freed block and recycles the oldest ones beyond the quarantine
 * size (a few per call at most). In a section; returns the number of
 * batches cut into Cuts for the depot.
 */
static ULONG ExpQuarantine(PEXP_POOL_CPU Cpu, PPOOL_HEADER Header, ULONG Units, EXP_CUT *Cuts)
{
    ULONG cuts = 0;
    ExpSetNext(Header, NULL);
    if (Cpu->QuarantineTail != NULL)
        ExpSetNext(Cpu->QuarantineTail, Header);
    else
        Cpu->QuarantineHead = Header;
    Cpu->QuarantineTail = Header;
    Cpu->QuarantineBytes += (SIZE_T)Units * EXP_UNIT;
    while (Cpu->QuarantineBytes > EXP_QUARANTINE_BYTES && cuts < EXP_QUARANTINE_CUTS) {
        PPOOL_HEADER old = Cpu->QuarantineHead;
        Cpu->QuarantineHead = ExpNext(old);
        if (Cpu->QuarantineHead == NULL)
            Cpu->QuarantineTail = NULL;
        ULONG slot = ExpSlabSlot((ULONG_PTR)old);
        Cpu->QuarantineBytes -= ExpSlotInfo[slot].Bytes;
        PPOOL_HEADER cut = ExpPushFree(Cpu, slot, old);
        if (cut != NULL)
            Cuts[cuts++] = (EXP_CUT){cut, slot};
    }
    return cuts;
}
#endif

/* ---- small blocks ------------------------------------------------------------------------------- */

/*
 * Makes the compiler hold a computed address in one register. Left alone it
 * keeps a table's base and the index apart to address fields as base +
 * index + offset, which costs the fast paths a register they do not have
 * (see below) for nothing.
 */
#define EXP_PIN(x) __asm__("" : "+r"(x))

/*
 * The allocation fast path: a block of Slot from this processor's list,
 * charged to Tag, header written. NULL, with nothing changed, whenever that
 * takes more than a few instructions (an IRQL too high for the kind, empty
 * list, a tag not found without probing, a damaged free block): the caller
 * then takes the general path, which does the same and everything else. It
 * calls nothing and keeps few values live, so an export that inlines it
 * works mostly in the registers NTAPI lets it clobber (rax, rcx, rdx,
 * r8-r11), saves few of the other nine, and reaches its slow path with a
 * tail call.
 */
static inline __attribute__((always_inline)) PPOOL_HEADER ExpAllocateSmallFast(ULONG Slot, ULONG Tag)
{
    const EXP_SLOT_INFO *si = &ExpSlotInfo[Slot];
    EXP_PIN(si);
    if (__builtin_expect(ExpCurrentIrql() > si->MaximumIrql, 0))
        return NULL;
    EXP_SECTION section = ExpEnterSection();
    PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
    EXP_PIN(cpu);
    EXP_FREE_LIST *list = &cpu->Lists[Slot];
    EXP_PIN(list);
    PPOOL_HEADER h = list->Head;
    if (__builtin_expect(h == NULL, 0)) {
        ExpLeaveSection(section);
        return NULL;
    }
    PEXP_TAG_ENTRY e = ExpTagLookupFast(cpu, Tag);
    if (__builtin_expect(e == NULL, 0)) {
        ExpLeaveSection(section);
        return NULL;
    }
    /* A free block is PoolType 0 with its class's size (the rest is checked
     * when it is freed); anything else is for the general path's bug check. */
    ULONG v = ExpHeaderUlong(h);
    if (__builtin_expect((v >> 16) != si->Units, 0)) {
        ExpLeaveSection(section);
        return NULL;
    }
    v |= si->TypeBits;
    PEXP_TAG_COUNTS counts = &e->Counts[si->Paged];
    LONG64 bytes = si->Bytes;
    EXP_OWNER_ADD(counts->Allocs, 1);
    EXP_OWNER_ADD(counts->Bytes, bytes);
    list->Head = ExpNext(h);
    list->Count--;
    ExpLeaveSection(section);
    ExpSetHeaderAllocated(h, v, Tag);
    return h;
}

static inline __attribute__((always_inline)) PVOID ExpAllocateSmall(ULONG Kind, UCHAR Type, SIZE_T Bytes, ULONG Tag,
                                                                      ULONG Attributes)
{
    SIZE_T need = Bytes + EXP_UNIT + ((Attributes & EXP_ALLOC_CACHE_ALIGNED) ? EXP_ALIGN_EXTRA : 0);
    ULONG cls = ExpUnitsToClass[(need + EXP_UNIT - 1) / EXP_UNIT];
    ULONG slot = ExpSlotOf(Kind, cls);
    const EXP_SLOT_INFO *si = &ExpSlotInfo[slot];

    EXP_SECTION section = ExpEnterSection();
    PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
    EXP_FREE_LIST *list = &cpu->Lists[slot];
    PPOOL_HEADER h = list->Head;
    ULONG v;
    if (__builtin_expect(h == NULL, 0)) {
        ExpLeaveSection(section);
        h = ExpAllocateSmallSlow(slot, Tag);
        if (h == NULL)
            return NULL;
        v = ExpHeaderUlong(h);
    } else {
        v = ExpHeaderUlong(h);
        if (__builtin_expect(EXP_HDR_TYPE(v) != 0 || EXP_HDR_SIZE(v) != si->Units, 0)) {
            /* Written to while free: an overrun of the block before it, or a
             * use after free through a stale pointer to the header. */
            ExpLeaveSection(section);
            KeBugCheckEx(BAD_POOL_HEADER, EX_POOL_BH_FREE_MODIFIED, (ULONG_PTR)h, v, 0);
        }
        list->Head = ExpNext(h);
        list->Count--;
        ExpTagCharge(cpu, Tag, si->Paged, si->Bytes);
        ExpLeaveSection(section);
    }

    ExpSetHeaderAllocated(h, (v & 0x00FFFFFF) | (ULONG)Type << 24, Tag);
    PUCHAR p = (PUCHAR)(h + 1);
    if ((Attributes & EXP_ALLOC_CACHE_ALIGNED) && ((ULONG_PTR)p & (EXP_CACHE_LINE - 1)) != 0) {
        PUCHAR aligned = (PUCHAR)ALIGN_UP_BY(p, EXP_CACHE_LINE);
        PPOOL_HEADER inner = (PPOOL_HEADER)aligned - 1;
        ULONG back = (ULONG)(((PUCHAR)inner - (PUCHAR)h) / EXP_UNIT);
        ExpSetHeader(inner, EXP_HDR_MAKE(back, cls, 0, Type | EX_POOL_HEADER_ALIGNED), Tag, NULL);
        p = aligned;
    }
    ExpUnpoison(p, Bytes);
    return p;
}

/* Bug checks for a pointer that is not a block the pool handed out. */
static DECLSPEC_NORETURN __attribute__((noinline, cold)) VOID NTAPI ExpBadAddress(PVOID P)
{
    /* Mm may only be asked at <= DISPATCH_LEVEL; above it nothing is a
     * valid free anyway. */
    BOOLEAN inPool = ExpCurrentIrql() <= DISPATCH_LEVEL && P != NULL && MiIsPoolPageAddress(P);
    KeBugCheckEx(BAD_POOL_CALLER, inPool ? EX_POOL_BC_BAD_ADDRESS : EX_POOL_BC_NOT_POOL, (ULONG_PTR)P, 0, 0);
}

typedef struct _EXP_SMALL_BLOCK {
    PPOOL_HEADER Header; /* the block's own header */
    PPOOL_HEADER Inner;  /* the cache-alignment header before P, or NULL */
    ULONG Ulong1;        /* Header->Ulong1 */
    ULONG Slot;
} EXP_SMALL_BLOCK;

/*
 * Validates P, an address in a page carved for Slot, as a live small block
 * and describes it. Bug-checks (nothing changed) when it is not one. This is
 * the complete check, which also tells each kind of damage apart; the
 * common case goes through ExpCheckSmall first.
 */
static __attribute__((noinline)) VOID NTAPI ExpLocateSmallSlow(PVOID P, ULONG Slot, EXP_SMALL_BLOCK *Block)
{
    const EXP_SLOT_INFO *si = &ExpSlotInfo[Slot];
    ULONG_PTR page = (ULONG_PTR)P & ~EXP_PAGE_MASK;
    if (((ULONG_PTR)P & (EXP_UNIT - 1)) != 0)
        ExpBadAddress(P);
    ULONG units = si->Units;
    PPOOL_HEADER h = (PPOOL_HEADER)P - 1;
    PPOOL_HEADER inner = NULL;
    ULONG v = ExpHeaderUlong(h);
    if (EXP_HDR_TYPE(v) & EX_POOL_HEADER_ALIGNED) {
        ULONG back = EXP_HDR_PREVIOUS(v);
        if (back == 0 || (ULONG_PTR)h - page < EXP_UNIT + (ULONG_PTR)back * EXP_UNIT)
            ExpBadAddress(P);
        inner = h;
        h = (PPOOL_HEADER)((PUCHAR)h - (SIZE_T)back * EXP_UNIT);
        v = ExpHeaderUlong(h);
    }
    ULONG_PTR offset = (ULONG_PTR)h - page;
    if (offset < EXP_UNIT || (offset - EXP_UNIT) % (units * EXP_UNIT) != 0 ||
        offset + (ULONG_PTR)units * EXP_UNIT > EXP_PAGE_SIZE)
        ExpBadAddress(P);
    if (inner != NULL && (PUCHAR)P > (PUCHAR)h + (SIZE_T)units * EXP_UNIT - EXP_UNIT)
        ExpBadAddress(P);
    if (EXP_HDR_SIZE(v) == 0)
        KeBugCheckEx(BAD_POOL_HEADER, EX_POOL_BH_ZERO_SIZE, 0, 0, (ULONG_PTR)h);
    if (EXP_HDR_SIZE(v) != units || EXP_HDR_INDEX(v) != si->Class)
        KeBugCheckEx(BAD_POOL_HEADER, EX_POOL_BH_BLOCK_SIZE, (ULONG_PTR)h, (ULONG_PTR)h + (SIZE_T)units * EXP_UNIT,
                     0);
    ULONG previous = offset == EXP_UNIT ? 0 : units;
    if (EXP_HDR_PREVIOUS(v) != previous)
        KeBugCheckEx(BAD_POOL_HEADER, EX_POOL_BH_PREVIOUS_SIZE, (ULONG_PTR)h, 0,
                     previous ? (ULONG_PTR)h - (SIZE_T)units * EXP_UNIT : 0);
    ULONG type = EXP_HDR_TYPE(v);
    if (type == 0 || (inner != NULL && EXP_HDR_TYPE(ExpHeaderUlong(inner)) == EX_POOL_HEADER_ALIGNED))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_DOUBLE_FREE, 0, inner ? ExpHeaderUlong(inner) : v,
                     (ULONG_PTR)P);
    if ((type & ~EXP_HDR_KNOWN_TYPE_BITS) != 0 || (type & EX_POOL_HEADER_ALIGNED) != 0 ||
        (type & EX_POOL_HEADER_BASE_MASK) == 0 || (type & EX_POOL_HEADER_BASE_MASK) == 3 ||
        ExpKindOfHeaderType(type) != si->Kind)
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_CORRUPT_TYPE, (ULONG_PTR)h, v, 0);
    if (inner != NULL && EXP_HDR_TYPE(ExpHeaderUlong(inner)) != (type | EX_POOL_HEADER_ALIGNED))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_CORRUPT_TYPE, (ULONG_PTR)inner, ExpHeaderUlong(inner), 0);
    Block->Header = h;
    Block->Inner = inner;
    Block->Ulong1 = v;
    Block->Slot = Slot;
}

/*
 * The common case of ExpLocateSmallSlow in a few instructions, for P in a
 * page carved for Slot (any page for slot 0, which accepts nothing): P
 * starts a block of the page (a bit of Starts), and the header is exactly
 * what the pool wrote for a live block there (no cache-alignment header).
 * Whatever this accepts the complete check accepts too. *Ulong1 gets the
 * header's Ulong1.
 */
static inline __attribute__((always_inline)) BOOLEAN ExpCheckSmall(ULONG_PTR Va, const EXP_SLOT_INFO *Si,
                                                                    PULONG Ulong1)
{
    ULONG unit = (ULONG)(Va / EXP_UNIT) & 0xFF; /* 0, never a block's, for a page-aligned P */
    if (__builtin_expect((Va & (EXP_UNIT - 1)) != 0 || !((Si->Starts[unit / 64] >> (unit % 64)) & 1), 0))
        return FALSE;
    ULONG v = ExpHeaderUlong((PPOOL_HEADER)Va - 1);
    /* A page's first block has no block before it: PreviousSize 0. */
    ULONG expected = unit == 2 ? Si->Header & ~0xFFu : Si->Header;
    *Ulong1 = v;
    return (v & ~EXP_HDR_OPTIONAL_TYPE_BITS) == expected;
}

static inline __attribute__((always_inline)) VOID ExpLocateSmall(PVOID P, ULONG Slot, EXP_SMALL_BLOCK *Block)
{
    ULONG v;
    if (__builtin_expect(ExpCheckSmall((ULONG_PTR)P, &ExpSlotInfo[Slot], &v), 1)) {
        Block->Header = (PPOOL_HEADER)P - 1;
        Block->Inner = NULL;
        Block->Ulong1 = v;
        Block->Slot = Slot;
        return;
    }
    ExpLocateSmallSlow(P, Slot, Block);
}

/* The complete free of P, in a page carved for Slot. */
static inline __attribute__((always_inline)) VOID ExpFreeSmall(PVOID P, ULONG Slot, ULONG Tag)
{
    EXP_SMALL_BLOCK b;
    ExpLocateSmall(P, Slot, &b);
    const EXP_SLOT_INFO *si = &ExpSlotInfo[Slot];
    ULONG type = EXP_HDR_TYPE(b.Ulong1);
    KIRQL irql = ExpCurrentIrql();
    if (__builtin_expect(irql > si->MaximumIrql, 0))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_FREE_IRQL, irql, ExpPoolTypeOfHeaderType(type), (ULONG_PTR)P);
    ULONG owner = ExpHeaderTag(b.Header);
    if (__builtin_expect(Tag != 0 && Tag != owner, 0))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_WRONG_TAG, (ULONG_PTR)P, owner, Tag);

    ExpSetHeaderUlong(b.Header, b.Ulong1 & 0x00FFFFFF);
    if (b.Inner != NULL)
        ExpSetHeaderType(b.Inner, EX_POOL_HEADER_ALIGNED); /* a second free through P is a double free */
    ExpPoison(b.Header + 1, (SIZE_T)si->Bytes - EXP_UNIT);

    EXP_SECTION section = ExpEnterSection();
    PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
    ExpTagCredit(cpu, owner, si->Paged, si->Bytes);
#ifdef EXP_POOL_ASAN
    EXP_CUT cuts[EXP_QUARANTINE_CUTS];
    ULONG n = ExpQuarantine(cpu, b.Header, si->Units, cuts);
    ExpLeaveSection(section);
    for (ULONG i = 0; i < n; i++)
        ExpDepotPush(cuts[i].Slot, cuts[i].Chain);
#else
    PPOOL_HEADER cut = ExpPushFree(cpu, Slot, b.Header);
    ExpLeaveSection(section);
    if (__builtin_expect(cut != NULL, 0))
        ExpDepotPush(Slot, cut);
#endif
}

/*
 * The free fast path: P is a live plain small block, freed at an IRQL its
 * kind allows, with its own tag (or none), whose tag is found without
 * probing and whose list has room. Then it goes on this processor's list and
 * TRUE comes back; otherwise nothing has changed and the caller takes the
 * complete path (which bug-checks whatever is wrong). Like the allocation
 * fast path it calls nothing. ASan builds always take the complete path:
 * their frees go through the quarantine.
 *
 * Once the tag check has passed, *Tag becomes the block's own tag, which
 * passes the complete path's check just the same; the caller's tag is then
 * dead, which spares a register the slow-path tail call would otherwise
 * have to keep it in.
 */
static inline __attribute__((always_inline)) BOOLEAN ExpFreeSmallFast(PVOID P, PULONG Tag)
{
#ifdef EXP_POOL_ASAN
    UNREFERENCED_PARAMETER(P);
    UNREFERENCED_PARAMETER(Tag);
    return FALSE;
#else
    ULONG_PTR va = (ULONG_PTR)P;
    ULONG slot = ExpSlabSlot(va);
    const EXP_SLOT_INFO *si = &ExpSlotInfo[slot];
    EXP_PIN(si);
    ULONG v;
    if (__builtin_expect(!ExpCheckSmall(va, si, &v) || ExpCurrentIrql() > si->MaximumIrql, 0))
        return FALSE;
    PPOOL_HEADER h = (PPOOL_HEADER)P - 1;
    ULONG owner = ExpHeaderTag(h);
    if (__builtin_expect(*Tag != 0 && *Tag != owner, 0))
        return FALSE;
    *Tag = owner;
    EXP_SECTION section = ExpEnterSection();
    PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
    EXP_PIN(cpu);
    PEXP_TAG_ENTRY e = ExpTagLookupFast(cpu, owner);
    EXP_FREE_LIST *list = &cpu->Lists[slot];
    if (__builtin_expect(e == NULL || list->Count >= si->Limit, 0)) {
        ExpLeaveSection(section);
        return FALSE;
    }
    PEXP_TAG_COUNTS counts = &e->Counts[si->Paged];
    LONG64 bytes = si->Bytes;
    EXP_OWNER_ADD(counts->Frees, 1);
    EXP_OWNER_ADD(counts->Bytes, -bytes);
    ExpSetHeaderFree(h, v & 0x00FFFFFF, list->Head);
    list->Head = h;
    list->Count++;
    ExpLeaveSection(section);
    return TRUE;
#endif
}

/* ---- big allocations ---------------------------------------------------------------------------- */

typedef struct _EXP_BIG_ENTRY {
    ULONG_PTR Va; /* 0 = empty slot */
    SIZE_T Pages;
    SIZE_T Bytes;
    ULONG Tag;
    UCHAR Type;
    UCHAR Kind;
    USHORT Reserved;
} EXP_BIG_ENTRY, *PEXP_BIG_ENTRY;
_Static_assert(sizeof(EXP_BIG_ENTRY) == 32, "big-page entries are 32 bytes");

#define EXP_BIG_SHARDS 64
#define EXP_BIG_INITIAL_SLOTS 128

typedef struct DECLSPEC_ALIGN(64) _EXP_BIG_SHARD {
    volatile LONG Lock;
    ULONG Count;
    SIZE_T Capacity; /* power of two, or 0 before the first insert */
    PEXP_BIG_ENTRY Entries;
} EXP_BIG_SHARD;

static EXP_BIG_SHARD ExpBigShards[EXP_BIG_SHARDS];

static inline ULONG64 ExpBigHash(ULONG_PTR Va)
{
    return (Va >> ARCH_PAGE_SHIFT) * 0x9E3779B97F4A7C15ULL;
}

static inline EXP_BIG_SHARD *ExpBigShard(ULONG_PTR Va)
{
    return &ExpBigShards[ExpBigHash(Va) >> 58];
}

static inline SIZE_T ExpBigHome(ULONG_PTR Va, SIZE_T Capacity)
{
    return (SIZE_T)(ExpBigHash(Va) >> 20) & (Capacity - 1);
}

/* Shard lock held. Index of Va's entry, or -1. */
static LONG_PTR ExpBigFind(EXP_BIG_SHARD *Shard, ULONG_PTR Va)
{
    if (Shard->Capacity == 0 || Va == 0) /* 0 marks an empty slot */
        return -1;
    SIZE_T mask = Shard->Capacity - 1;
    for (SIZE_T i = ExpBigHome(Va, Shard->Capacity);; i = (i + 1) & mask) {
        if (Shard->Entries[i].Va == Va)
            return (LONG_PTR)i;
        if (Shard->Entries[i].Va == 0)
            return -1;
    }
}

/* Shard lock held, a free slot exists. */
static VOID ExpBigPut(PEXP_BIG_ENTRY Entries, SIZE_T Capacity, const EXP_BIG_ENTRY *Entry)
{
    SIZE_T mask = Capacity - 1;
    SIZE_T i = ExpBigHome(Entry->Va, Capacity);
    while (Entries[i].Va != 0)
        i = (i + 1) & mask;
    Entries[i] = *Entry;
}

/* Shard lock held: removes slot I, moving later entries of the probe run back. */
static VOID ExpBigRemoveAt(EXP_BIG_SHARD *Shard, SIZE_T I)
{
    SIZE_T mask = Shard->Capacity - 1;
    PEXP_BIG_ENTRY e = Shard->Entries;
    SIZE_T hole = I;
    for (SIZE_T j = (I + 1) & mask; e[j].Va != 0; j = (j + 1) & mask) {
        SIZE_T home = ExpBigHome(e[j].Va, Shard->Capacity);
        /* Entry j may fill the hole unless its home lies cyclically in (hole, j]. */
        BOOLEAN stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            e[hole] = e[j];
            hole = j;
        }
    }
    e[hole].Va = 0;
    Shard->Count--;
}

/* Records a big allocation. <= DISPATCH_LEVEL. FALSE if the table cannot grow. */
static BOOLEAN ExpBigInsert(const EXP_BIG_ENTRY *Entry)
{
    EXP_BIG_SHARD *shard = ExpBigShard(Entry->Va);
    for (;;) {
        ULONG_PTR interrupts = arch_disable_interrupts();
        ExpLock(&shard->Lock);
        if (shard->Capacity != 0 && ((SIZE_T)shard->Count + 1) * 2 <= shard->Capacity) {
            ExpBigPut(shard->Entries, shard->Capacity, Entry);
            shard->Count++;
            ExpUnlock(&shard->Lock);
            arch_restore_interrupts(interrupts);
            return TRUE;
        }
        SIZE_T seen = shard->Capacity;
        ExpUnlock(&shard->Lock);
        arch_restore_interrupts(interrupts);

        SIZE_T capacity = seen ? seen * 2 : EXP_BIG_INITIAL_SLOTS;
        SIZE_T pages = capacity * sizeof(EXP_BIG_ENTRY) / EXP_PAGE_SIZE;
        PEXP_BIG_ENTRY grown = MiAllocatePoolPages(pages, TRUE);
        if (grown == NULL)
            return FALSE;
        RtlZeroMemory(grown, pages * EXP_PAGE_SIZE);

        PEXP_BIG_ENTRY retired = grown;
        interrupts = arch_disable_interrupts();
        ExpLock(&shard->Lock);
        if (shard->Capacity == seen) {
            for (SIZE_T i = 0; i < seen; i++) {
                if (shard->Entries[i].Va != 0)
                    ExpBigPut(grown, capacity, &shard->Entries[i]);
            }
            retired = shard->Entries;
            shard->Entries = grown;
            shard->Capacity = capacity;
        }
        ExpUnlock(&shard->Lock);
        arch_restore_interrupts(interrupts);
        if (retired != NULL)
            MiFreePoolPages(retired);
    }
}

/* A copy of Va's entry; FALSE if there is none. */
static BOOLEAN ExpBigLookup(ULONG_PTR Va, EXP_BIG_ENTRY *Entry)
{
    EXP_BIG_SHARD *shard = ExpBigShard(Va);
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&shard->Lock);
    LONG_PTR i = ExpBigFind(shard, Va);
    if (i >= 0)
        *Entry = shard->Entries[i];
    ExpUnlock(&shard->Lock);
    arch_restore_interrupts(interrupts);
    return i >= 0;
}

static VOID ExpReleasePages(PVOID Base, SIZE_T Pages)
{
    /* Mm may map the range for someone else: it must not stay poisoned. */
    ExpUnpoison(Base, Pages * EXP_PAGE_SIZE);
    if (MiFreePoolPages(Base) != Pages)
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_BAD_ADDRESS, (ULONG_PTR)Base, 0, 0);
}

static __attribute__((noinline)) PVOID NTAPI ExpAllocateBig(ULONG Kind, UCHAR Type, SIZE_T Bytes, ULONG Tag)
{
    if (Bytes > ~(SIZE_T)0 - EXP_PAGE_MASK)
        return NULL;
    SIZE_T pages = (Bytes + EXP_PAGE_MASK) >> ARCH_PAGE_SHIFT;
    PVOID p = NULL;
    if (pages <= EXP_BIG_CACHE_PAGES) {
        ULONG_PTR interrupts = arch_disable_interrupts();
        PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
        UCHAR *count = &cpu->BigCount[Kind][pages - 1];
        if (*count != 0)
            p = cpu->BigCache[Kind][pages - 1][--*count];
        arch_restore_interrupts(interrupts);
    }
    if (p == NULL) {
        p = MiAllocatePoolPages(pages, Kind != EXP_KIND_NONPAGED_EXECUTE);
        if (p == NULL)
            return NULL;
    }
    EXP_BIG_ENTRY e = {(ULONG_PTR)p, pages, Bytes, Tag, Type, (UCHAR)Kind, 0};
    if (!ExpBigInsert(&e)) {
        ExpReleasePages(p, pages);
        return NULL;
    }
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpTagCharge(ExpCurrentPoolCpu(), Tag, Kind == EXP_KIND_PAGED, pages * EXP_PAGE_SIZE);
    arch_restore_interrupts(interrupts);
    ExpPoison(p, pages * EXP_PAGE_SIZE);
    ExpUnpoison(p, Bytes);
    return p;
}

static __attribute__((noinline)) VOID NTAPI ExpFreeBig(PVOID P, ULONG Tag)
{
    ULONG_PTR va = (ULONG_PTR)P;
    EXP_BIG_SHARD *shard = ExpBigShard(va);
    KIRQL irql = ExpCurrentIrql();
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&shard->Lock);
    LONG_PTR i = ExpBigFind(shard, va);
    if (i < 0) {
        ExpUnlock(&shard->Lock);
        arch_restore_interrupts(interrupts);
        if (irql <= DISPATCH_LEVEL && MiIsPoolPageAddress(P))
            KeBugCheckEx(BAD_POOL_HEADER, EX_POOL_BH_NO_BIG_ENTRY, va, 0, 0);
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_NOT_POOL, va, 0, 0);
    }
    EXP_BIG_ENTRY e = shard->Entries[i];
    if (irql > ExpMaximumIrql(e.Kind) || (Tag != 0 && Tag != e.Tag)) {
        ExpUnlock(&shard->Lock);
        arch_restore_interrupts(interrupts);
        if (irql > ExpMaximumIrql(e.Kind))
            KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_FREE_IRQL, irql, ExpPoolTypeOfHeaderType(e.Type), va);
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_WRONG_TAG, va, e.Tag, Tag);
    }
    ExpBigRemoveAt(shard, (SIZE_T)i);
    ExpUnlock(&shard->Lock);

    /* Interrupts are still disabled: account and try the page cache. Cached
     * pages are poisoned before they are published there: another thread
     * may take them the moment interrupts are back on. */
    PEXP_POOL_CPU cpu = ExpCurrentPoolCpu();
    ExpTagCredit(cpu, e.Tag, e.Kind == EXP_KIND_PAGED, e.Pages * EXP_PAGE_SIZE);
    BOOLEAN cached = FALSE;
    if (e.Pages <= EXP_BIG_CACHE_PAGES) {
        UCHAR *count = &cpu->BigCount[e.Kind][e.Pages - 1];
        if (*count < EXP_BIG_CACHE_DEPTH) {
            ExpPoison(P, e.Pages * EXP_PAGE_SIZE);
            cpu->BigCache[e.Kind][e.Pages - 1][(*count)++] = P;
            cached = TRUE;
        }
    }
    arch_restore_interrupts(interrupts);
    if (!cached)
        ExpReleasePages(P, e.Pages);
}

/* ---- the common paths ----------------------------------------------------------------------------- */

#define EXP_POOL_TYPE_KNOWN_BITS                                                                         \
    (7 | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE | POOL_RAISE_IF_ALLOCATION_FAILURE | POOL_TYPE_SESSION_BIT |   \
     POOL_COLD_ALLOCATION | POOL_NX_ALLOCATION | POOL_ZERO_ALLOCATION)

BOOLEAN ExpIsValidPoolType(ULONG PoolType, PBOOLEAN Paged)
{
    if ((PoolType & ~(ULONG)EXP_POOL_TYPE_KNOWN_BITS) != 0)
        return FALSE;
    switch (PoolType & 7) {
    case NonPagedPool:
    case NonPagedPoolCacheAligned:
        *Paged = FALSE;
        return TRUE;
    case PagedPool:
    case PagedPoolCacheAligned:
        *Paged = TRUE;
        return TRUE;
    default: /* MustSucceed, DontUseThisType, MaxPoolType */
        return FALSE;
    }
}

/* Kind and attributes of a POOL_TYPE; bug-checks 0x9A for one the pool does not serve. */
static ULONG ExpDecodePoolType(ULONG PoolType, SIZE_T Bytes, ULONG Tag, PULONG Attributes)
{
    BOOLEAN paged;
    if (!ExpIsValidPoolType(PoolType, &paged))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_BAD_POOL_TYPE, PoolType, Bytes, Tag);
    ULONG a = 0;
    if (PoolType & POOL_TYPE_CACHE_ALIGNED_BIT)
        a |= EXP_ALLOC_CACHE_ALIGNED;
    if (PoolType & POOL_RAISE_IF_ALLOCATION_FAILURE)
        a |= EXP_ALLOC_RAISE;
    if (PoolType & POOL_ZERO_ALLOCATION)
        a |= EXP_ALLOC_ZERO;
    if (PoolType & POOL_TYPE_SESSION_BIT)
        a |= EXP_ALLOC_SESSION;
    *Attributes = a;
    if (paged)
        return EXP_KIND_PAGED;
    return (PoolType & POOL_NX_ALLOCATION) ? EXP_KIND_NONPAGED_NX : EXP_KIND_NONPAGED_EXECUTE;
}

/* The checks every allocation makes (PoolType is what the caller passed, for
 * the bug check parameters). */
static inline VOID ExpCheckRequest(ULONG Kind, ULONG PoolType, SIZE_T Bytes, ULONG Tag, PVOID Caller)
{
    if (Bytes == 0)
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_ZERO_SIZE, 0, PoolType, Tag);
    if (Tag == 0)
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_ZERO_TAG, PoolType, Bytes, (ULONG_PTR)Caller);
    if (!ExpTagHasLetterOrDigit(Tag))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_BAD_TAG, Tag, PoolType, (ULONG_PTR)Caller);
    KIRQL irql = ExpCurrentIrql();
    if (irql > ExpMaximumIrql(Kind))
        KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_ALLOCATE_IRQL, irql, PoolType, Bytes);
}

static PVOID ExpAllocate(ULONG Kind, ULONG Attributes, SIZE_T Bytes, ULONG Tag, PVOID Caller)
{
    UCHAR type = ExpHeaderTypeOf(Kind, Attributes);
    PVOID p;
    SIZE_T smallMaximum =
        (Attributes & EXP_ALLOC_CACHE_ALIGNED) ? EX_POOL_SMALL_MAXIMUM - EXP_ALIGN_EXTRA : EX_POOL_SMALL_MAXIMUM;
    if (Bytes <= smallMaximum)
        p = ExpAllocateSmall(Kind, type, Bytes, Tag, Attributes);
    else
        p = ExpAllocateBig(Kind, type, Bytes, Tag);
    if (p == NULL) {
        if (Attributes & EXP_ALLOC_RAISE)
            ExpRaiseStatus(STATUS_INSUFFICIENT_RESOURCES, Caller, Bytes, Tag);
        return NULL;
    }
    if (Attributes & EXP_ALLOC_ZERO)
        RtlZeroMemory(p, Bytes);
    return p;
}

static __attribute__((noinline)) PVOID NTAPI ExpAllocateWithPoolType(ULONG PoolType, SIZE_T Bytes, ULONG Tag,
                                                                    ULONG ExtraAttributes, PVOID Caller)
{
    ULONG attributes;
    ULONG kind = ExpDecodePoolType(PoolType, Bytes, Tag, &attributes);
    ExpCheckRequest(kind, PoolType, Bytes, Tag, Caller);
    return ExpAllocate(kind, attributes | ExtraAttributes, Bytes, Tag, Caller);
}

/* Every free the fast path declines: big blocks, bad addresses, and small
 * blocks that need the complete check, the depot or (ASan) the quarantine. */
static __attribute__((noinline)) VOID NTAPI ExpFreeSlow(PVOID P, ULONG Tag)
{
    ULONG_PTR va = (ULONG_PTR)P;
    if ((va & EXP_PAGE_MASK) == 0) {
        ExpFreeBig(P, Tag);
        return;
    }
    ULONG slot = ExpSlabSlot(va);
    if (slot == 0)
        ExpBadAddress(P);
    ExpFreeSmall(P, slot, Tag);
}

static inline __attribute__((always_inline)) VOID ExpFree(PVOID P, ULONG Tag)
{
    arch_sched_point(ARCH_SP_POOL_FREE, P);
    if (__builtin_expect(ExpFreeSmallFast(P, &Tag), 1))
        return;
    ExpFreeSlow(P, Tag);
}

/* ExAllocatePoolWithTag's general path; four arguments, so that the export
 * reaches it with a tail call. */
static __attribute__((noinline)) PVOID NTAPI ExpAllocatePoolWithTagSlow(ULONG PoolType, SIZE_T Bytes, ULONG Tag,
                                                                       PVOID Caller)
{
    return ExpAllocateWithPoolType(PoolType, Bytes, Tag, 0, Caller);
}

/* ---- exports ------------------------------------------------------------------------------------- */

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    arch_sched_point(ARCH_SP_POOL_ALLOC, NULL);
    /* The common request (plain paged, nonpaged or NX pool, a small block, an
     * IRQL the type allows, a tag this processor counted before, which
     * proves it valid: see ExpTagEntry) goes straight to the free lists;
     * everything else, including every request that must bug-check, takes
     * the general path. */
    ULONG t = (ULONG)PoolType;
    if (__builtin_expect((t & ~(ULONG)(PagedPool | POOL_NX_ALLOCATION)) == 0 &&
                             NumberOfBytes - 1 < EX_POOL_SMALL_MAXIMUM,
                         1)) {
        ULONG slot = ExpPlainTypeSlot[(t | t >> 8) & 3] +
                     ExpUnitsToClass[(NumberOfBytes + 2 * EXP_UNIT - 1) / EXP_UNIT];
        PPOOL_HEADER h = ExpAllocateSmallFast(slot, Tag);
        if (__builtin_expect(h != NULL, 1)) {
            ExpUnpoison(h + 1, NumberOfBytes);
            return h + 1;
        }
    }
    return ExpAllocatePoolWithTagSlow(t, NumberOfBytes, Tag, EXP_CALLER());
}

PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, EX_POOL_TAG_NONE, 0, EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, EXP_ALLOC_ZERO, EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, 0, EXP_CALLER());
}

/* Quota allocations raise on failure unless told otherwise. */
static inline ULONG ExpQuotaAttributes(ULONG PoolType)
{
    ULONG a = EXP_ALLOC_QUOTA;
    if (!(PoolType & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE))
        a |= EXP_ALLOC_RAISE;
    return a;
}

PVOID NTAPI ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, ExpQuotaAttributes((ULONG)PoolType),
                                   EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, EX_POOL_TAG_NONE,
                                   ExpQuotaAttributes((ULONG)PoolType), EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag,
                                   ExpQuotaAttributes((ULONG)PoolType) | EXP_ALLOC_ZERO, EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, ExpQuotaAttributes((ULONG)PoolType),
                                   EXP_CALLER());
}

/* Priority only matters when memory is short, which the pool does not
 * distinguish yet; the special-pool variants are what ASan builds give
 * every allocation. */
PVOID NTAPI ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                          EX_POOL_PRIORITY Priority)
{
    UNREFERENCED_PARAMETER(Priority);
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, 0, EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolPriorityZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                       EX_POOL_PRIORITY Priority)
{
    UNREFERENCED_PARAMETER(Priority);
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, EXP_ALLOC_ZERO, EXP_CALLER());
}

PVOID NTAPI ExAllocatePoolPriorityUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                                EX_POOL_PRIORITY Priority)
{
    UNREFERENCED_PARAMETER(Priority);
    return ExpAllocateWithPoolType((ULONG)PoolType, NumberOfBytes, Tag, 0, EXP_CALLER());
}

#define EXP_POOL_FLAGS_REQUIRED_MASK 0xFFFFFFFFULL
#define EXP_POOL_FLAGS_TYPES (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED)
#define EXP_POOL_FLAGS_KNOWN                                                                              \
    (POOL_FLAG_USE_QUOTA | POOL_FLAG_UNINITIALIZED | POOL_FLAG_SESSION | POOL_FLAG_CACHE_ALIGNED |         \
     POOL_FLAG_RAISE_ON_FAILURE | EXP_POOL_FLAGS_TYPES)

static inline BOOLEAN ExpIsValidPriority(ULONG Priority)
{
    switch (Priority) {
    case LowPoolPriority:
    case LowPoolPrioritySpecialPoolOverrun:
    case LowPoolPrioritySpecialPoolUnderrun:
    case NormalPoolPriority:
    case NormalPoolPrioritySpecialPoolOverrun:
    case NormalPoolPrioritySpecialPoolUnderrun:
    case HighPoolPriority:
    case HighPoolPrioritySpecialPoolOverrun:
    case HighPoolPrioritySpecialPoolUnderrun:
        return TRUE;
    default:
        return FALSE;
    }
}

/*
 * ExAllocatePool2/3: invalid flags, tag 0 or an unusable extended parameter
 * return NULL (raise with POOL_FLAG_RAISE_ON_FAILURE), as documented.
 */
static PVOID ExpAllocatePoolFlags(POOL_FLAGS Flags, SIZE_T Bytes, ULONG Tag, PCPOOL_EXTENDED_PARAMETER Parameters,
                                  ULONG ParameterCount, PVOID Caller)
{
    POOL_FLAGS required = Flags & EXP_POOL_FLAGS_REQUIRED_MASK;
    POOL_FLAGS types = required & EXP_POOL_FLAGS_TYPES;
    BOOLEAN valid = (required & ~EXP_POOL_FLAGS_KNOWN) == 0 && types != 0 && (types & (types - 1)) == 0 && Tag != 0 &&
                    (ParameterCount == 0 || Parameters != NULL);
    for (ULONG i = 0; valid && i < ParameterCount; i++) {
        const POOL_EXTENDED_PARAMETER *x = &Parameters[i];
        BOOLEAN usable;
        switch (x->Type) {
        case PoolExtendedParameterPriority:
            usable = ExpIsValidPriority((ULONG)x->Priority);
            break;
        case PoolExtendedParameterNumaNode:
            /* One node: node 0, or any node. */
            usable = (x->PreferredNode & ~MM_ANY_NODE_OK) == 0 || (x->PreferredNode & MM_ANY_NODE_OK) != 0;
            break;
        default: /* secure pool and unknown types are not supported */
            usable = FALSE;
            break;
        }
        if (!usable && !x->Optional)
            valid = FALSE;
    }
    if (!valid) {
        if (Flags & POOL_FLAG_RAISE_ON_FAILURE)
            ExpRaiseStatus(STATUS_INVALID_PARAMETER, Caller, Bytes, Tag);
        return NULL;
    }

    ULONG kind;
    ULONG poolType;
    if (types == POOL_FLAG_PAGED) {
        kind = EXP_KIND_PAGED;
        poolType = PagedPool;
    } else if (types == POOL_FLAG_NON_PAGED) {
        kind = EXP_KIND_NONPAGED_NX;
        poolType = NonPagedPoolNx;
    } else {
        kind = EXP_KIND_NONPAGED_EXECUTE;
        poolType = NonPagedPoolExecute;
    }
    ULONG attributes = 0;
    if (!(Flags & POOL_FLAG_UNINITIALIZED))
        attributes |= EXP_ALLOC_ZERO;
    if (Flags & POOL_FLAG_CACHE_ALIGNED) {
        attributes |= EXP_ALLOC_CACHE_ALIGNED;
        poolType |= POOL_TYPE_CACHE_ALIGNED_BIT;
    }
    if (Flags & POOL_FLAG_RAISE_ON_FAILURE)
        attributes |= EXP_ALLOC_RAISE;
    if (Flags & POOL_FLAG_USE_QUOTA)
        attributes |= EXP_ALLOC_QUOTA;
    if (Flags & POOL_FLAG_SESSION)
        attributes |= EXP_ALLOC_SESSION;
    ExpCheckRequest(kind, poolType, Bytes, Tag, Caller);
    return ExpAllocate(kind, attributes, Bytes, Tag, Caller);
}

PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocatePoolFlags(Flags, NumberOfBytes, Tag, NULL, 0, EXP_CALLER());
}

PVOID NTAPI ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                            PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG ExtendedParametersCount)
{
    return ExpAllocatePoolFlags(Flags, NumberOfBytes, Tag, ExtendedParameters, ExtendedParametersCount,
                                EXP_CALLER());
}

VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    ExpFree(P, Tag);
}

VOID NTAPI ExFreePool(PVOID P)
{
    ExpFree(P, 0);
}

SIZE_T NTAPI ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged)
{
    ULONG_PTR va = (ULONG_PTR)PoolBlock;
    SIZE_T size;
    BOOLEAN quota;
    if ((va & EXP_PAGE_MASK) == 0) {
        EXP_BIG_ENTRY e;
        if (!ExpBigLookup(va, &e)) {
            if (ExpCurrentIrql() <= DISPATCH_LEVEL && MiIsPoolPageAddress(PoolBlock))
                KeBugCheckEx(BAD_POOL_HEADER, EX_POOL_BH_NO_BIG_ENTRY, va, 0, 0);
            KeBugCheckEx(BAD_POOL_CALLER, EX_POOL_BC_NOT_POOL, va, 0, 0);
        }
        size = e.Pages * EXP_PAGE_SIZE;
        quota = (e.Type & EX_POOL_HEADER_QUOTA) != 0;
    } else {
        ULONG slot = ExpSlabSlot(va);
        if (slot == 0)
            ExpBadAddress(PoolBlock);
        EXP_SMALL_BLOCK b;
        ExpLocateSmall(PoolBlock, slot, &b);
        size = (SIZE_T)((PUCHAR)b.Header + ExpSlotInfo[b.Slot].Bytes - (PUCHAR)PoolBlock);
        quota = (EXP_HDR_TYPE(b.Ulong1) & EX_POOL_HEADER_QUOTA) != 0;
    }
    ExpUnpoison(PoolBlock, size);
    if (QuotaCharged != NULL)
        *QuotaCharged = quota;
    return size;
}

/* ---- initialization and the Rtl hook ------------------------------------------------------------------ */

#define EXP_RTL_DEFAULT_TAG 0x706C7452 /* "RtlP" */

/* Rtl's allocations include dispatcher objects (ERESOURCE waiters), so they
 * come from nonpaged pool; Rtl may ask for 0 bytes (empty strings). */
static PVOID NTAPI ExpRtlAllocate(SIZE_T NumberOfBytes, ULONG Tag)
{
    if (Tag == 0)
        Tag = EXP_RTL_DEFAULT_TAG;
    return ExAllocatePoolWithTag(NonPagedPoolNx, NumberOfBytes ? NumberOfBytes : 1, Tag);
}

static VOID NTAPI ExpRtlFree(PVOID P, ULONG Tag)
{
    ExpFree(P, Tag);
}

static volatile LONG ExpPoolInitialized;

VOID ExInitializePool(void)
{
    if (__atomic_exchange_n(&ExpPoolInitialized, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    ExpInitializePoolTracking();
    RtlpSetPoolHooks(ExpRtlAllocate, ExpRtlFree);
}
