/*
 * Lookaside lists: NPAGED_LOOKASIDE_LIST, PAGED_LOOKASIDE_LIST and
 * LOOKASIDE_LIST_EX (the WDK inlines are functions here too).
 *
 * A list is an SLIST of free entries (the entry's first 16 bytes hold the
 * link while it is on the list) plus the documented counters. An allocation
 * pops an entry or, on a miss, calls the list's Allocate routine (the pool
 * by default); a free pushes the entry while the list holds fewer than Depth
 * entries and hands it to the Free routine otherwise.
 *
 * Depth starts at EX_MINIMUM_LOOKASIDE_DEPTH and follows the hit rate: every
 * EX_LOOKASIDE_RETUNE_ALLOCATES allocations the allocating thread re-tunes
 * it (ExpRetune), and ExAdjustLookasideDepth re-tunes every registered list
 * (the periodic scan NT runs once a second). The counters are statistics:
 * updated without interlocking, as NT does, through relaxed atomic accesses
 * so concurrent updates may lose a count but never tear.
 *
 * Locking and IRQL: the SLIST is lock-free; the registry of lists is a spin
 * lock taken with interrupts disabled. Nonpaged lists and LOOKASIDE_LIST_EX
 * of nonpaged entries at <= DISPATCH_LEVEL, paged ones at <= APC_LEVEL
 * (BAD_POOL_CALLER 0x08 / 0x09 with the list's pool type, checked on every
 * call rather than only when the pool is reached). Allocate/Free routines
 * are called with no lock held.
 */
#include "poolp.h"

static volatile LONG ExpLookasideLock;
static LIST_ENTRY ExpLookasideLists = {&ExpLookasideLists, &ExpLookasideLists};
static ULONG ExpLookasideCount;

#define EXP_STAT_ADD(field, delta) \
    __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (delta), __ATOMIC_RELAXED)
#define EXP_STAT(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Every layout starts with the same fields: work on GENERAL_LOOKASIDE_POOL. */
typedef GENERAL_LOOKASIDE_POOL *PEXP_LOOKASIDE;

static VOID ExpRegister(PEXP_LOOKASIDE L)
{
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&ExpLookasideLock);
    InsertTailList(&ExpLookasideLists, &L->ListEntry);
    __atomic_store_n(&ExpLookasideCount, ExpLookasideCount + 1, __ATOMIC_RELAXED);
    ExpUnlock(&ExpLookasideLock);
    arch_restore_interrupts(interrupts);
}

static VOID ExpUnregister(PEXP_LOOKASIDE L)
{
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&ExpLookasideLock);
    RemoveEntryList(&L->ListEntry);
    __atomic_store_n(&ExpLookasideCount, ExpLookasideCount - 1, __ATOMIC_RELAXED);
    ExpUnlock(&ExpLookasideLock);
    arch_restore_interrupts(interrupts);
}

ULONG ExQueryLookasideListCount(void)
{
    return __atomic_load_n(&ExpLookasideCount, __ATOMIC_RELAXED);
}

/*
 * One tuning step from the allocations and misses since the last one: many
 * misses raise Depth in proportion to the miss rate and the room left, an
 * idle or always-hitting list gives entries back by lowering it.
 */
static VOID ExpRetune(PEXP_LOOKASIDE L)
{
    ULONG allocates = EXP_STAT(L->TotalAllocates);
    ULONG misses = EXP_STAT(L->AllocateMisses);
    ULONG deltaAllocates = allocates - EXP_STAT(L->LastTotalAllocates);
    ULONG deltaMisses = misses - EXP_STAT(L->LastAllocateMisses);
    ULONG depth = EXP_STAT(L->Depth);
    ULONG maximum = L->MaximumDepth;
    if (deltaAllocates < 75) {
        /* Hardly used: shrink fast. */
        depth = depth > EX_MINIMUM_LOOKASIDE_DEPTH + 10 ? depth - 10 : EX_MINIMUM_LOOKASIDE_DEPTH;
    } else {
        ULONG perMille = (ULONG)((ULONG64)deltaMisses * 1000 / deltaAllocates);
        if (perMille < 5) {
            if (depth > EX_MINIMUM_LOOKASIDE_DEPTH)
                depth--;
        } else {
            ULONG raise = (ULONG)((ULONG64)perMille * (maximum - depth) / 2000) + 5;
            depth = depth + raise > maximum ? maximum : depth + raise;
        }
    }
    __atomic_store_n(&L->Depth, (USHORT)depth, __ATOMIC_RELAXED);
    __atomic_store_n(&L->LastTotalAllocates, allocates, __ATOMIC_RELAXED);
    __atomic_store_n(&L->LastAllocateMisses, misses, __ATOMIC_RELAXED);
}

VOID ExAdjustLookasideDepth(void)
{
    ULONG_PTR interrupts = arch_disable_interrupts();
    ExpLock(&ExpLookasideLock);
    for (PLIST_ENTRY e = ExpLookasideLists.Flink; e != &ExpLookasideLists; e = e->Flink)
        ExpRetune(CONTAINING_RECORD(e, GENERAL_LOOKASIDE_POOL, ListEntry));
    ExpUnlock(&ExpLookasideLock);
    arch_restore_interrupts(interrupts);
}

static VOID ExpInitializeLookaside(PEXP_LOOKASIDE L, ULONG PoolType, SIZE_T Size, ULONG Tag)
{
    InitializeSListHead(&L->ListHead);
    L->Depth = EX_MINIMUM_LOOKASIDE_DEPTH;
    L->MaximumDepth = EX_MAXIMUM_LOOKASIDE_DEPTH_BASE;
    L->TotalAllocates = 0;
    L->AllocateMisses = 0;
    L->TotalFrees = 0;
    L->FreeMisses = 0;
    L->Type = (POOL_TYPE)PoolType;
    L->Tag = Tag;
    /* Entries carry the SLIST link while listed; pool blocks are 16-byte
     * aligned, as the link requires. */
    if (Size < LOOKASIDE_MINIMUM_BLOCK_SIZE)
        Size = LOOKASIDE_MINIMUM_BLOCK_SIZE;
    L->Size = (ULONG)Size;
    L->LastTotalAllocates = 0;
    L->LastAllocateMisses = 0;
    L->Future[0] = 0;
    L->Future[1] = 0;
}

static inline VOID ExpCheckLookasideIrql(PEXP_LOOKASIDE L, BOOLEAN Allocate, PVOID Entry)
{
    KIRQL maximum = ((ULONG)L->Type & BASE_POOL_TYPE_MASK) ? APC_LEVEL : DISPATCH_LEVEL;
    KIRQL irql = ExpCurrentIrql();
    if (irql > maximum)
        KeBugCheckEx(BAD_POOL_CALLER, Allocate ? EX_POOL_BC_ALLOCATE_IRQL : EX_POOL_BC_FREE_IRQL, irql,
                     (ULONG)L->Type, Allocate ? (ULONG_PTR)L->Size : (ULONG_PTR)Entry);
}

/* The popped entry or NULL; counts the allocation and re-tunes when due. */
static PVOID ExpLookasidePop(PEXP_LOOKASIDE L)
{
    ULONG total = EXP_STAT(L->TotalAllocates) + 1;
    __atomic_store_n(&L->TotalAllocates, total, __ATOMIC_RELAXED);
    PVOID entry = InterlockedPopEntrySList(&L->ListHead);
    if (entry == NULL)
        EXP_STAT_ADD(L->AllocateMisses, 1);
    if (total % EX_LOOKASIDE_RETUNE_ALLOCATES == 0)
        ExpRetune(L);
    return entry;
}

/* TRUE if the entry was kept; FALSE if the caller must free it. */
static BOOLEAN ExpLookasidePush(PEXP_LOOKASIDE L, PVOID Entry)
{
    EXP_STAT_ADD(L->TotalFrees, 1);
    if (ExQueryDepthSList(&L->ListHead) >= EXP_STAT(L->Depth)) {
        EXP_STAT_ADD(L->FreeMisses, 1);
        return FALSE;
    }
    InterlockedPushEntrySList(&L->ListHead, (PSLIST_ENTRY)Entry);
    return TRUE;
}

/* ---- the default routines ------------------------------------------------------------------------ */

static PVOID NTAPI ExpDefaultAllocateEx(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                        PLOOKASIDE_LIST_EX Lookaside)
{
    UNREFERENCED_PARAMETER(Lookaside);
    return ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}

static VOID NTAPI ExpDefaultFreeEx(PVOID Buffer, PLOOKASIDE_LIST_EX Lookaside)
{
    UNREFERENCED_PARAMETER(Lookaside);
    ExFreePool(Buffer);
}

/* ---- NPAGED_LOOKASIDE_LIST / PAGED_LOOKASIDE_LIST ------------------------------------------------- */

VOID NTAPI ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                           PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth)
{
    UNREFERENCED_PARAMETER(Depth); /* reserved */
    PEXP_LOOKASIDE l = (PEXP_LOOKASIDE)&Lookaside->L;
    ExpInitializeLookaside(l, NonPagedPool | (Flags & (POOL_NX_ALLOCATION | POOL_RAISE_IF_ALLOCATION_FAILURE)), Size,
                           Tag);
    l->Allocate = Allocate ? Allocate : ExAllocatePoolWithTag;
    l->Free = Free ? Free : ExFreePool;
    ExpRegister(l);
}

VOID NTAPI ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
    PEXP_LOOKASIDE l = (PEXP_LOOKASIDE)&Lookaside->L;
    ExpUnregister(l);
    PSLIST_ENTRY e = InterlockedFlushSList(&l->ListHead);
    while (e != NULL) {
        PSLIST_ENTRY next = e->Next;
        l->Free(e);
        e = next;
    }
}

PVOID NTAPI ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
    PEXP_LOOKASIDE l = (PEXP_LOOKASIDE)&Lookaside->L;
    ExpCheckLookasideIrql(l, TRUE, NULL);
    PVOID entry = ExpLookasidePop(l);
    return entry ? entry : l->Allocate(l->Type, l->Size, l->Tag);
}

VOID NTAPI ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    PEXP_LOOKASIDE l = (PEXP_LOOKASIDE)&Lookaside->L;
    ExpCheckLookasideIrql(l, FALSE, Entry);
    if (!ExpLookasidePush(l, Entry))
        l->Free(Entry);
}

VOID NTAPI ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                          PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth)
{
    UNREFERENCED_PARAMETER(Depth);
    PEXP_LOOKASIDE l = (PEXP_LOOKASIDE)&Lookaside->L;
    ExpInitializeLookaside(l, PagedPool | (Flags & POOL_RAISE_IF_ALLOCATION_FAILURE), Size, Tag);
    l->Allocate = Allocate ? Allocate : ExAllocatePoolWithTag;
    l->Free = Free ? Free : ExFreePool;
    ExpRegister(l);
}

VOID NTAPI ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    ExDeleteNPagedLookasideList((PNPAGED_LOOKASIDE_LIST)Lookaside);
}

PVOID NTAPI ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    return ExAllocateFromNPagedLookasideList((PNPAGED_LOOKASIDE_LIST)Lookaside);
}

VOID NTAPI ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    ExFreeToNPagedLookasideList((PNPAGED_LOOKASIDE_LIST)Lookaside, Entry);
}

/* ---- LOOKASIDE_LIST_EX ------------------------------------------------------------------------------ */

NTSTATUS NTAPI ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                           PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags, SIZE_T Size,
                                           ULONG Tag, USHORT Depth)
{
    UNREFERENCED_PARAMETER(Depth); /* reserved */
    BOOLEAN paged;
    if (!ExpIsValidPoolType((ULONG)PoolType, &paged))
        return STATUS_INVALID_PARAMETER_4;
    const ULONG known = EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL | EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE;
    /* The two flags exclude each other, and FAIL_NO_RAISE is meant for a
     * custom routine (the default one's behaviour with it is undefined). */
    if ((Flags & ~known) != 0 || Flags == known ||
        ((Flags & EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE) && Allocate == NULL))
        return STATUS_INVALID_PARAMETER_5;
    ULONG type = (ULONG)PoolType;
    if (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL)
        type |= POOL_RAISE_IF_ALLOCATION_FAILURE;
    if (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE)
        type |= POOL_QUOTA_FAIL_INSTEAD_OF_RAISE;
    PEXP_LOOKASIDE l = &Lookaside->L;
    ExpInitializeLookaside(l, type, Size, Tag);
    l->AllocateEx = Allocate ? Allocate : ExpDefaultAllocateEx;
    l->FreeEx = Free ? Free : ExpDefaultFreeEx;
    ExpRegister(l);
    return STATUS_SUCCESS;
}

VOID NTAPI ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside)
{
    PEXP_LOOKASIDE l = &Lookaside->L;
    PSLIST_ENTRY e = InterlockedFlushSList(&l->ListHead);
    while (e != NULL) {
        PSLIST_ENTRY next = e->Next;
        l->FreeEx(e, Lookaside);
        e = next;
    }
}

VOID NTAPI ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside)
{
    ExpUnregister(&Lookaside->L);
    ExFlushLookasideListEx(Lookaside);
}

PVOID NTAPI ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside)
{
    PEXP_LOOKASIDE l = &Lookaside->L;
    ExpCheckLookasideIrql(l, TRUE, NULL);
    PVOID entry = ExpLookasidePop(l);
    return entry ? entry : l->AllocateEx(l->Type, l->Size, l->Tag, Lookaside);
}

VOID NTAPI ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry)
{
    PEXP_LOOKASIDE l = &Lookaside->L;
    ExpCheckLookasideIrql(l, FALSE, Entry);
    if (!ExpLookasidePush(l, Entry))
        l->FreeEx(Entry, Lookaside);
}
