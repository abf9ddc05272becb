/*
 * Pool internals shared by pool.c, pooltrack.c and lookaside.c. Pages come
 * from Mm (MiAllocatePoolPages and friends, src/mm/mi.h).
 *
 * Per-processor state (EXP_POOL_CPU) is touched only by its own processor,
 * inside a per-processor section (see ExpEnterSection in pool.c) or with
 * interrupts disabled, so neither an interrupt (a DPC allocating on the same
 * processor) nor a thread switch (which would move the caller to another
 * processor mid-operation) can interleave. Everything shared between
 * processors is behind a spin lock taken with interrupts disabled (ExpLock)
 * or updated with atomics.
 */
#ifndef NTOS_EX_POOLP_H
#define NTOS_EX_POOLP_H

#include <ntos/ex_pool.h>
#include <ntos/arch.h>
#include <ntos/ke.h>
#include <ntos/rtl.h>

#include "../mm/mi.h"

/* ---- sanitizer hooks ------------------------------------------------------------------ */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXP_POOL_ASAN 1
#endif
#endif

#ifdef EXP_POOL_ASAN
void __asan_poison_memory_region(void const volatile *addr, SIZE_T size);
void __asan_unpoison_memory_region(void const volatile *addr, SIZE_T size);
/* Pool code reads headers and free-list links that are poisoned for drivers. */
#define EXP_UNCHECKED __attribute__((no_sanitize("address"), noinline))
#define ExpPoison(a, n) __asan_poison_memory_region((a), (n))
#define ExpUnpoison(a, n) __asan_unpoison_memory_region((a), (n))
#else
#define EXP_UNCHECKED inline __attribute__((always_inline))
#define ExpPoison(a, n) ((void)(a), (void)(n))
#define ExpUnpoison(a, n) ((void)(a), (void)(n))
#endif

/* ---- geometry ------------------------------------------------------------------------- */

#define EXP_PAGE_SIZE ((SIZE_T)ARCH_PAGE_SIZE)
#define EXP_PAGE_MASK (EXP_PAGE_SIZE - 1)
#define EXP_UNIT 16
#define EXP_PAGE_UNITS 255       /* units usable after the 16-byte page header */
#define EXP_KINDS 3              /* pages differ by protection: see EXP_KIND_* */
#define EXP_KIND_NONPAGED_EXECUTE 0
#define EXP_KIND_NONPAGED_NX 1
#define EXP_KIND_PAGED 2
#define EXP_CLASSES 30
#define EXP_SLOTS (1 + EXP_KINDS * EXP_CLASSES) /* slot = 1 + kind * EXP_CLASSES + class; 0: none */
#define EXP_BIG_CACHE_PAGES 4    /* freed big runs of 1..4 pages are kept per processor */
#define EXP_BIG_CACHE_DEPTH 8
#define EXP_TAG_SLOTS 256        /* per-processor tag table (power of 2) */
#define EXP_TAG_PROBES 32
#define EXP_GLOBAL_TAG_SLOTS 4096 /* directory of every tag + overflow counters */
#define EXP_QUARANTINE_BYTES (256 * 1024)

/*
 * The first 16 bytes of every small-block page: which size class and kind
 * the page was carved for, for whoever inspects memory (a debugger, a
 * dump). The pool itself asks the carved-page map (pool.c), which no
 * driver's underrun can reach. Magic mixes in the page address so a big
 * allocation's data (or a stale page) is unlikely to pass for one.
 */
typedef struct _EXP_PAGE_HEADER {
    ULONG Magic;
    UCHAR Class;
    UCHAR Kind;
    USHORT Reserved;
    ULONG64 Reserved2;
} EXP_PAGE_HEADER, *PEXP_PAGE_HEADER;
_Static_assert(sizeof(EXP_PAGE_HEADER) == EXP_UNIT, "page header is one unit");
#define EXP_PAGE_MAGIC 0x6C6F6F50u /* "Pool" */

static inline ULONG ExpPageMagic(ULONG_PTR Page)
{
    return EXP_PAGE_MAGIC ^ (ULONG)(Page >> 12) ^ (ULONG)(Page >> 40);
}

/* ---- accounting entries ---------------------------------------------------------------- */

typedef struct _EXP_TAG_COUNTS {
    volatile LONG64 Allocs;
    volatile LONG64 Frees;
    volatile LONG64 Bytes;
} EXP_TAG_COUNTS, *PEXP_TAG_COUNTS;

typedef struct DECLSPEC_ALIGN(64) _EXP_TAG_ENTRY {
    volatile ULONG Tag; /* 0 = empty slot */
    ULONG Reserved;
    EXP_TAG_COUNTS Counts[2]; /* 0 nonpaged, 1 paged */
} EXP_TAG_ENTRY, *PEXP_TAG_ENTRY;

/* ---- per-processor state ---------------------------------------------------------------- */

typedef struct _EXP_FREE_LIST {
    PPOOL_HEADER Head; /* linked through POOL_HEADER.ProcessBilled */
    ULONG Count;
    ULONG Reserved;
} EXP_FREE_LIST;

typedef struct DECLSPEC_ALIGN(64) _EXP_POOL_CPU {
    /* First, with the lists that follow: every fast-path allocation and free
     * reads these, so they share the structure's first cache line. */
    ULONG CachedTag; /* the last tag looked up here and its entry in Tags (0: none) */
    PEXP_TAG_ENTRY CachedEntry;
    PEXP_TAG_ENTRY Tags; /* EXP_TAG_SLOTS entries, or NULL before ExInitializePool */
    EXP_FREE_LIST Lists[EXP_SLOTS]; /* by slot; 0 unused */
    PVOID BigCache[EXP_KINDS][EXP_BIG_CACHE_PAGES][EXP_BIG_CACHE_DEPTH];
    UCHAR BigCount[EXP_KINDS][EXP_BIG_CACHE_PAGES];
    /* ASan builds: freed small blocks wait here (FIFO) before reuse. */
    PPOOL_HEADER QuarantineHead;
    PPOOL_HEADER QuarantineTail;
    SIZE_T QuarantineBytes;
} EXP_POOL_CPU, *PEXP_POOL_CPU;

extern EXP_POOL_CPU ExpPoolCpu[ARCH_MAX_CPUS];

/* gs:[0x1a4], what KeGetCurrentProcessorIndex returns, read straight into a
 * 64-bit register (a 32-bit load zero-extends) to index with. */
static inline ULONG_PTR ExpCurrentProcessorIndex(void)
{
    ULONG_PTR n;
    __asm__ volatile("movl %%gs:0x1a4, %k0" : "=r"(n));
    return n;
}

static inline PEXP_POOL_CPU ExpCurrentPoolCpu(void)
{
    return &ExpPoolCpu[ExpCurrentProcessorIndex()];
}

/* What KeGetCurrentIrql returns, without the call (CR8 on bare metal, where
 * driver code changes it inline and KPCR.Irql can be stale). */
static inline KIRQL ExpCurrentIrql(void)
{
    return arch_get_irql_inline();
}

/* ---- a spin lock for pool-internal structures -----------------------------------------------
 * Held with interrupts disabled, for a few instructions, never across a call
 * into Mm or a bug check. */
static inline VOID ExpLock(volatile LONG *Lock)
{
    while (__atomic_exchange_n(Lock, 1, __ATOMIC_ACQUIRE) != 0) {
        while (__atomic_load_n(Lock, __ATOMIC_RELAXED) != 0)
            arch_pause();
    }
}

static inline VOID ExpUnlock(volatile LONG *Lock)
{
    __atomic_store_n(Lock, 0, __ATOMIC_RELEASE);
}

/* ---- accounting (pooltrack.c) ---------------------------------------------------------------
 * Called in a per-processor section (or with interrupts disabled) on the
 * processor whose Cpu is passed; they reach no interruptible point. The
 * common case (the same tag as last time on this processor) is inline. */

/* Owner-only counter update: a plain add, made of atomic accesses so that
 * concurrent readers (queries) are well defined. */
#define EXP_OWNER_ADD(field, delta) \
    __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (delta), __ATOMIC_RELAXED)

/* The rule every allocation's tag must pass (BAD_POOL_CALLER 0x9D otherwise). */
static inline BOOLEAN ExpTagHasLetterOrDigit(ULONG Tag)
{
    for (ULONG i = 0; i < 4; i++) {
        UCHAR c = (UCHAR)(Tag >> (8 * i));
        UCHAR lower = c | 0x20;
        if ((c >= '0' && c <= '9') || (lower >= 'a' && lower <= 'z'))
            return TRUE;
    }
    return FALSE;
}

/*
 * Tag's entry in Cpu's table, claiming one if needed; NULL when the count
 * must go to the global table (ExpTagCountGlobal). Updates the cache.
 * Processor tables (and the cache) only ever hold tags that pass
 * ExpTagHasLetterOrDigit, so 0 in particular is never found: the allocation
 * fast path takes a tag found there as one an earlier allocation checked.
 */
PEXP_TAG_ENTRY NTAPI ExpTagEntry(PEXP_POOL_CPU Cpu, ULONG Tag);
VOID NTAPI ExpTagCountGlobal(ULONG Tag, ULONG Paged, LONG64 Allocs, LONG64 Frees, LONG64 Bytes);

/* Where Tag's entry sits when it found its home slot (ExpCpuEntry probes from there). */
static inline ULONG ExpTagHome(ULONG Tag)
{
    _Static_assert(EXP_TAG_SLOTS == 1 << 8, "hash width");
    return (Tag * 0x9E3779B1u) >> (32 - 8);
}

/*
 * Tag's entry in Cpu's table if finding it takes no probing: the cached
 * entry, or the tag's home slot. NULL otherwise (the caller takes a path
 * that may call ExpTagEntry). Never claims a slot, so it needs no call.
 */
static inline __attribute__((always_inline)) PEXP_TAG_ENTRY ExpTagLookupFast(PEXP_POOL_CPU Cpu, ULONG Tag)
{
    if (Cpu->CachedTag == Tag)
        return Cpu->CachedEntry; /* NULL while nothing is cached (CachedTag 0) */
    PEXP_TAG_ENTRY table = __atomic_load_n(&Cpu->Tags, __ATOMIC_ACQUIRE);
    if (table == NULL || Tag == 0) /* an empty slot's Tag is 0 */
        return NULL;
    PEXP_TAG_ENTRY e = &table[ExpTagHome(Tag)];
    return __atomic_load_n(&e->Tag, __ATOMIC_ACQUIRE) == Tag ? e : NULL;
}

static inline __attribute__((always_inline)) VOID ExpTagCharge(PEXP_POOL_CPU Cpu, ULONG Tag, ULONG Paged,
                                                                SIZE_T Bytes)
{
    PEXP_TAG_ENTRY e = Cpu->CachedTag == Tag ? Cpu->CachedEntry : ExpTagEntry(Cpu, Tag);
    if (__builtin_expect(e == NULL, 0)) {
        ExpTagCountGlobal(Tag, Paged, 1, 0, (LONG64)Bytes);
        return;
    }
    EXP_OWNER_ADD(e->Counts[Paged].Allocs, 1);
    EXP_OWNER_ADD(e->Counts[Paged].Bytes, (LONG64)Bytes);
}

static inline __attribute__((always_inline)) VOID ExpTagCredit(PEXP_POOL_CPU Cpu, ULONG Tag, ULONG Paged,
                                                                SIZE_T Bytes)
{
    PEXP_TAG_ENTRY e = Cpu->CachedTag == Tag ? Cpu->CachedEntry : ExpTagEntry(Cpu, Tag);
    if (__builtin_expect(e == NULL, 0)) {
        ExpTagCountGlobal(Tag, Paged, 0, 1, -(LONG64)Bytes);
        return;
    }
    EXP_OWNER_ADD(e->Counts[Paged].Frees, 1);
    EXP_OWNER_ADD(e->Counts[Paged].Bytes, -(LONG64)Bytes);
}

/* Gives every started processor its tag table; <= DISPATCH_LEVEL, no
 * section. Processors started later get theirs when ExpPoolTrackingNeeded
 * says so (checked on the pool's slow paths). */
VOID ExpInitializePoolTracking(void);
BOOLEAN ExpPoolTrackingNeeded(void);

/* ---- pool.c helpers used by lookaside.c -------------------------------------------------------
 * The raise an allocation failure turns into (see ex_pool.h). */
DECLSPEC_NORETURN VOID ExpRaiseStatus(NTSTATUS Status, PVOID Caller, SIZE_T Bytes, ULONG Tag);
/* TRUE if the POOL_TYPE is one the pool serves; *Paged gets its base type. */
BOOLEAN ExpIsValidPoolType(ULONG PoolType, PBOOLEAN Paged);

#endif /* NTOS_EX_POOLP_H */
