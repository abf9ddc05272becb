/*
 * EX_CALLBACK slots: fast references to rundown-protected callback blocks.
 *
 * A slot's value is the block address (16-byte aligned) with a count of
 * cached references in the low four bits. Installing a block pre-charges its
 * rundown protection with that many references; a reader takes one by
 * decrementing the count with a compare-exchange, and gives it back to the
 * cache (or to the rundown protection, if the cache is full or the slot
 * changed). When the cache is empty a reader takes a rundown reference
 * directly under ExpCallBackLock, which is also what serialises replacing a
 * slot: the block cannot leave its slot, and so cannot be run down, while a
 * reader holds the lock. Removing a block returns the cached references to its
 * rundown protection; ExWaitForCallBacks then waits for the references
 * readers still hold.
 *
 * IRQL: references at <= DISPATCH_LEVEL (the lock is a spin lock); the
 * allocation and the wait at PASSIVE_LEVEL.
 */
#include <ntos/ex_callback.h>
#include <ntos/ex_pool.h>

#define EXP_CALLBACK_TAG 0x62437845 /* "ExCb" */
#define EXP_CALLBACK_CACHE ((ULONG)EX_CALLBACK_REF_BITS)

static KSPIN_LOCK ExpCallBackLock;

static inline PEX_CALLBACK_ROUTINE_BLOCK ExpBlockOf(ULONG_PTR Value)
{
    return (PEX_CALLBACK_ROUTINE_BLOCK)(Value & ~(ULONG_PTR)EX_CALLBACK_REF_BITS);
}

PEX_CALLBACK_ROUTINE_BLOCK ExAllocateCallBack(PVOID Function, PVOID Context)
{
    PEX_CALLBACK_ROUTINE_BLOCK b = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*b), EXP_CALLBACK_TAG);
    if (b == NULL)
        return NULL;
    ExInitializeRundownProtection(&b->RundownProtect);
    b->Function = Function;
    b->Context = Context;
    return b;
}

VOID ExFreeCallBack(PEX_CALLBACK_ROUTINE_BLOCK CallBackBlock)
{
    ExFreePoolWithTag(CallBackBlock, EXP_CALLBACK_TAG);
}

BOOLEAN ExCompareExchangeCallBack(PEX_CALLBACK CallBack, PEX_CALLBACK_ROUTINE_BLOCK NewBlock,
                                  PEX_CALLBACK_ROUTINE_BLOCK OldBlock)
{
    if (NewBlock != NULL) {
        /* A fresh block cannot be run down yet: this always succeeds. */
        ExAcquireRundownProtectionEx(&NewBlock->RundownProtect, EXP_CALLBACK_CACHE);
    }
    KIRQL irql;
    KeAcquireSpinLock(&ExpCallBackLock, &irql);
    ULONG_PTR old = __atomic_load_n(&CallBack->RoutineBlock, __ATOMIC_ACQUIRE);
    if (ExpBlockOf(old) != OldBlock) {
        KeReleaseSpinLock(&ExpCallBackLock, irql);
        if (NewBlock != NULL)
            ExReleaseRundownProtectionEx(&NewBlock->RundownProtect, EXP_CALLBACK_CACHE);
        return FALSE;
    }
    ULONG_PTR value = NewBlock != NULL ? (ULONG_PTR)NewBlock | EXP_CALLBACK_CACHE : 0;
    /* Readers decrement the cache without the lock: exchange, then settle
     * whatever count was left at that instant. */
    old = __atomic_exchange_n(&CallBack->RoutineBlock, value, __ATOMIC_ACQ_REL);
    KeReleaseSpinLock(&ExpCallBackLock, irql);
    if (OldBlock != NULL) {
        ULONG cached = (ULONG)(old & EX_CALLBACK_REF_BITS);
        if (cached != 0)
            ExReleaseRundownProtectionEx(&OldBlock->RundownProtect, cached);
    }
    return TRUE;
}

PEX_CALLBACK_ROUTINE_BLOCK ExReferenceCallBackBlock(PEX_CALLBACK CallBack)
{
    ULONG_PTR old = __atomic_load_n(&CallBack->RoutineBlock, __ATOMIC_ACQUIRE);
    for (;;) {
        if (ExpBlockOf(old) == NULL)
            return NULL;
        if ((old & EX_CALLBACK_REF_BITS) == 0)
            break;
        if (__atomic_compare_exchange_n(&CallBack->RoutineBlock, &old, old - 1, FALSE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_ACQUIRE))
            return ExpBlockOf(old);
    }
    /* The cache is empty: a direct reference, taken while the block is
     * pinned in its slot by the lock. */
    KIRQL irql;
    KeAcquireSpinLock(&ExpCallBackLock, &irql);
    PEX_CALLBACK_ROUTINE_BLOCK b = ExpBlockOf(__atomic_load_n(&CallBack->RoutineBlock, __ATOMIC_ACQUIRE));
    if (b != NULL && !ExAcquireRundownProtection(&b->RundownProtect))
        b = NULL;
    KeReleaseSpinLock(&ExpCallBackLock, irql);
    return b;
}

VOID ExDereferenceCallBackBlock(PEX_CALLBACK CallBack, PEX_CALLBACK_ROUTINE_BLOCK CallBackBlock)
{
    ULONG_PTR old = __atomic_load_n(&CallBack->RoutineBlock, __ATOMIC_RELAXED);
    while (ExpBlockOf(old) == CallBackBlock && (old & EX_CALLBACK_REF_BITS) < EXP_CALLBACK_CACHE) {
        if (__atomic_compare_exchange_n(&CallBack->RoutineBlock, &old, old + 1, FALSE, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
    }
    ExReleaseRundownProtection(&CallBackBlock->RundownProtect);
}

VOID ExWaitForCallBacks(PEX_CALLBACK_ROUTINE_BLOCK CallBackBlock)
{
    ExWaitForRundownProtectionRelease(&CallBackBlock->RundownProtect);
}
