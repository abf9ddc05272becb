/*
 * Sequenced singly linked lists (SLIST_HEADER): lock-free push, pop, flush
 * and chain push with the x64 header layout (ex_lists.h).
 *
 * Locking and IRQL rules
 *  - No lock: every operation reads the 16-byte header and replaces it with
 *    one `lock cmpxchg16b`, retrying when another processor changed it in
 *    between. Callable at any IRQL, as on NT; the header and the entries must
 *    be resident when used at DISPATCH_LEVEL or above. The Ex* forms take a
 *    spin lock that x64 NT ignores, and so does ntos.
 *  - Every successful change adds one to the 48-bit Sequence (push, pop,
 *    flush, chain push), so the first quadword differs after any change. That
 *    is what makes the compare-exchange ABA-safe: a pop that read first entry
 *    X and X->Next = Y cannot succeed if, meanwhile, X was popped, Y popped
 *    and X pushed back, because the sequence moved on even though the first
 *    entry is X again. It also makes the two plain 8-byte loads that start an
 *    operation good enough: if the compare-exchange succeeds, the first
 *    quadword (loaded first) did not change since it was read, so neither did
 *    the second one loaded after it.
 *  - Depth is modulo 2^16 and Sequence modulo 2^48, as on NT.
 *
 * Reading Next of an entry that is no longer ours
 *  A pop reads first->Next before its compare-exchange. By then another
 *  processor may have popped `first`, and its owner may have rewritten it,
 *  freed it or handed the memory to someone else. The value read is then
 *  garbage, but the compare-exchange fails (the sequence moved on) and it is
 *  never used. What the algorithm needs is only that the read does not fault:
 *  NT guarantees it by keeping the page fault handler aware of this one load
 *  (a fault there restarts the pop), and ntos must do the same once Mm can
 *  unmap nonpaged memory; today freed memory stays mapped. The load lives in
 *  ExpSListReadNext, kept out of line so that the handler has a single
 *  instruction range to recognise, and exempt from ASan (it would report the
 *  read of freed memory) and TSan (it would report the race with the new
 *  owner's writes), both of which are harmless by construction.
 *
 * ThreadSanitizer
 *  TSan does not see the inline compare-exchange, so the happens-before edge
 *  from a pusher's writes (the entry's payload, its Next) to the popper's
 *  reads is announced explicitly: __tsan_release on the header before every
 *  compare-exchange, __tsan_acquire after a successful one.
 *
 * Misuse
 *  A NULL or misaligned entry (or a misaligned header) would be silently
 *  corrupted by the header encoding on NT (NextEntry keeps address >> 4). ntos
 *  stops instead with KERNEL_SECURITY_CHECK_FAILURE (FAST_FAIL_INVALID_ARG,
 *  header, entry, 0), what the WDK's inline helpers use for invalid arguments.
 */
#include <ntos/ex_lists.h>
#include <ntos/arch.h>

#ifndef FAST_FAIL_INVALID_ARG
#define FAST_FAIL_INVALID_ARG 5
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EXP_SLIST_TSAN 1
#endif
#endif

#ifdef EXP_SLIST_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define ExpTsanAcquire(h) __tsan_acquire((void *)(h))
#define ExpTsanRelease(h) __tsan_release((void *)(h))
#else
#define ExpTsanAcquire(h) ((void)(h))
#define ExpTsanRelease(h) ((void)(h))
#endif

#define EXP_SLIST_DEPTH_MASK 0xFFFFULL
#define EXP_SLIST_SEQUENCE_ONE (1ULL << 16)
#define EXP_SLIST_NEXT_MASK (~0xFULL)

typedef struct _EXP_SLIST_VALUE {
    ULONG64 Low;  /* Depth | Sequence << 16 */
    ULONG64 High; /* first entry (NextEntry << 4), Reserved bits clear */
} EXP_SLIST_VALUE;

static inline EXP_SLIST_VALUE ExpSListRead(PSLIST_HEADER ListHead)
{
    EXP_SLIST_VALUE v;
    v.Low = __atomic_load_n(&ListHead->Alignment, __ATOMIC_ACQUIRE);
    v.High = __atomic_load_n(&ListHead->Region, __ATOMIC_ACQUIRE);
    return v;
}

/* On failure *Expected receives the header's current value, read atomically. */
static inline BOOLEAN ExpSListCompareExchange(PSLIST_HEADER ListHead, EXP_SLIST_VALUE *Expected,
                                              EXP_SLIST_VALUE New)
{
    BOOLEAN swapped;
    ExpTsanRelease(ListHead);
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(swapped), "+m"(*ListHead), "+a"(Expected->Low), "+d"(Expected->High)
                     : "b"(New.Low), "c"(New.High)
                     : "memory");
    if (swapped)
        ExpTsanAcquire(ListHead);
    return swapped;
}

/* Sequence + 1 and Depth + Delta (modulo 2^16). */
static inline ULONG64 ExpSListNextLow(ULONG64 Low, ULONG64 DepthDelta)
{
    return ((Low + EXP_SLIST_SEQUENCE_ONE) & ~EXP_SLIST_DEPTH_MASK) | ((Low + DepthDelta) & EXP_SLIST_DEPTH_MASK);
}

static inline PSLIST_ENTRY ExpSListFirst(EXP_SLIST_VALUE Value)
{
    return (PSLIST_ENTRY)(ULONG_PTR)(Value.High & EXP_SLIST_NEXT_MASK);
}

/* See "Reading Next of an entry that is no longer ours" above. A single
 * load written in assembly: neither sanitizer instruments it (TSan still
 * instruments __atomic loads inside no_sanitize("thread") functions, and would
 * report the harmless race with the entry's new owner). */
__attribute__((noinline)) static PSLIST_ENTRY ExpSListReadNext(PSLIST_ENTRY Entry)
{
    PSLIST_ENTRY next;
    __asm__ volatile("movq %1, %0" : "=r"(next) : "m"(Entry->Next));
    return next;
}

static void ExpSListCheck(PSLIST_HEADER ListHead, PSLIST_ENTRY Entry)
{
    if (((ULONG_PTR)ListHead & 0xF) != 0 || Entry == NULL || ((ULONG_PTR)Entry & 0xF) != 0)
        KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, FAST_FAIL_INVALID_ARG, (ULONG_PTR)ListHead,
                     (ULONG_PTR)Entry, 0);
}

static PSLIST_ENTRY ExpSListPushChain(PSLIST_HEADER ListHead, PSLIST_ENTRY List, PSLIST_ENTRY ListEnd,
                                      ULONG Count)
{
    ExpSListCheck(ListHead, List);
    ExpSListCheck(ListHead, ListEnd);
    EXP_SLIST_VALUE old = ExpSListRead(ListHead);
    for (;;) {
        /* Atomic only because a stale pop may read it concurrently (through
         * ExpSListReadNext); that reader discards what it sees. */
        __atomic_store_n(&ListEnd->Next, ExpSListFirst(old), __ATOMIC_RELAXED);
        EXP_SLIST_VALUE new;
        new.Low = ExpSListNextLow(old.Low, Count);
        new.High = (ULONG64)(ULONG_PTR)List;
        arch_sched_point(ARCH_SP_INTERLOCKED, ListHead);
        if (ExpSListCompareExchange(ListHead, &old, new))
            return ExpSListFirst(old);
        arch_pause();
    }
}

static PSLIST_ENTRY ExpSListPop(PSLIST_HEADER ListHead)
{
    EXP_SLIST_VALUE old = ExpSListRead(ListHead);
    for (;;) {
        PSLIST_ENTRY first = ExpSListFirst(old);
        if (first == NULL)
            return NULL;
        EXP_SLIST_VALUE new;
        new.Low = ExpSListNextLow(old.Low, (ULONG64)-1);
        new.High = (ULONG64)(ULONG_PTR)ExpSListReadNext(first);
        arch_sched_point(ARCH_SP_INTERLOCKED, ListHead);
        if (ExpSListCompareExchange(ListHead, &old, new))
            return first;
        arch_pause();
    }
}

static PSLIST_ENTRY ExpSListFlush(PSLIST_HEADER ListHead)
{
    EXP_SLIST_VALUE old = ExpSListRead(ListHead);
    for (;;) {
        PSLIST_ENTRY first = ExpSListFirst(old);
        if (first == NULL)
            return NULL;
        EXP_SLIST_VALUE new;
        new.Low = (old.Low + EXP_SLIST_SEQUENCE_ONE) & ~EXP_SLIST_DEPTH_MASK;
        new.High = 0;
        arch_sched_point(ARCH_SP_INTERLOCKED, ListHead);
        if (ExpSListCompareExchange(ListHead, &old, new))
            return first;
        arch_pause();
    }
}

/* ---- exports --------------------------------------------------------------------------- */

VOID NTAPI RtlInitializeSListHead(PSLIST_HEADER ListHead)
{
    if (((ULONG_PTR)ListHead & 0xF) != 0)
        KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, FAST_FAIL_INVALID_ARG, (ULONG_PTR)ListHead, 0, 0);
    __atomic_store_n(&ListHead->Alignment, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ListHead->Region, 0, __ATOMIC_RELAXED);
}

PSLIST_ENTRY NTAPI RtlFirstEntrySList(const SLIST_HEADER *ListHead)
{
    return (PSLIST_ENTRY)(ULONG_PTR)(__atomic_load_n(&ListHead->Region, __ATOMIC_ACQUIRE) & EXP_SLIST_NEXT_MASK);
}

USHORT NTAPI RtlQueryDepthSList(PSLIST_HEADER ListHead)
{
    return (USHORT)(__atomic_load_n(&ListHead->Alignment, __ATOMIC_RELAXED) & EXP_SLIST_DEPTH_MASK);
}

USHORT NTAPI ExQueryDepthSList(PSLIST_HEADER ListHead)
{
    return RtlQueryDepthSList(ListHead);
}

PSLIST_ENTRY NTAPI ExpInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry)
{
    return ExpSListPushChain(ListHead, ListEntry, ListEntry, 1);
}

PSLIST_ENTRY NTAPI ExpInterlockedPopEntrySList(PSLIST_HEADER ListHead)
{
    return ExpSListPop(ListHead);
}

PSLIST_ENTRY NTAPI ExpInterlockedFlushSList(PSLIST_HEADER ListHead)
{
    return ExpSListFlush(ListHead);
}

PSLIST_ENTRY NTAPI InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry)
{
    return ExpSListPushChain(ListHead, ListEntry, ListEntry, 1);
}

PSLIST_ENTRY NTAPI InterlockedPopEntrySList(PSLIST_HEADER ListHead)
{
    return ExpSListPop(ListHead);
}

PSLIST_ENTRY NTAPI InterlockedFlushSList(PSLIST_HEADER ListHead)
{
    return ExpSListFlush(ListHead);
}

PSLIST_ENTRY NTAPI RtlInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry)
{
    return ExpSListPushChain(ListHead, ListEntry, ListEntry, 1);
}

PSLIST_ENTRY NTAPI RtlInterlockedPopEntrySList(PSLIST_HEADER ListHead)
{
    return ExpSListPop(ListHead);
}

PSLIST_ENTRY NTAPI RtlInterlockedFlushSList(PSLIST_HEADER ListHead)
{
    return ExpSListFlush(ListHead);
}

PSLIST_ENTRY NTAPI ExInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    UNREFERENCED_PARAMETER(Lock);
    return ExpSListPushChain(ListHead, ListEntry, ListEntry, 1);
}

PSLIST_ENTRY NTAPI ExInterlockedPopEntrySList(PSLIST_HEADER ListHead, PKSPIN_LOCK Lock)
{
    UNREFERENCED_PARAMETER(Lock);
    return ExpSListPop(ListHead);
}

PSLIST_ENTRY NTAPI ExInterlockedFlushSList(PSLIST_HEADER ListHead)
{
    return ExpSListFlush(ListHead);
}

/* Count is trusted, as on NT: it only feeds Depth. */
PSLIST_ENTRY NTAPI RtlInterlockedPushListSListEx(PSLIST_HEADER ListHead, PSLIST_ENTRY List, PSLIST_ENTRY ListEnd,
                                                 ULONG Count)
{
    return ExpSListPushChain(ListHead, List, ListEnd, Count);
}

PSLIST_ENTRY NTAPI RtlInterlockedPushListSList(PSLIST_HEADER ListHead, PSLIST_ENTRY List, PSLIST_ENTRY ListEnd,
                                               ULONG Count)
{
    return ExpSListPushChain(ListHead, List, ListEnd, Count);
}

PSLIST_ENTRY NTAPI InterlockedPushListSListEx(PSLIST_HEADER ListHead, PSLIST_ENTRY List, PSLIST_ENTRY ListEnd,
                                              ULONG Count)
{
    return ExpSListPushChain(ListHead, List, ListEnd, Count);
}
