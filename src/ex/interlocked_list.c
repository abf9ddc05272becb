/*
 * Spin-lock-interlocked doubly and singly linked lists and additions
 * (ExInterlockedInsertHeadList and friends).
 *
 * Locking and IRQL rules
 *  - Every routine here may be called at any IRQL, as documented: it saves
 *    the interrupt flag, disables interrupts and takes the caller's lock with
 *    the raw primitive, which neither raises IRQL nor checks ownership. An
 *    interrupt handler on the same processor therefore cannot run while the
 *    lock is held and spin on it forever, whatever the IRQL of the caller.
 *  - The lock word still holds the ordinary owner value (thread | 1), so a
 *    debugger sees who holds it; the raw release clears it. The documentation
 *    requires the lock to be used only with the ExInterlocked routines: a
 *    KeAcquireSpinLock holder at DISPATCH_LEVEL interrupted on its processor
 *    by a caller at a device IRQL would deadlock, on NT as here.
 *  - The critical sections are a few instructions and call nothing that
 *    blocks. A corrupt list bug-checks (KERNEL_SECURITY_CHECK_FAILURE, from
 *    the list.h helpers) with the lock held: the system stops anyway.
 */
#include <ntos/ex_lists.h>
#include "../ke/ki.h"

/* Object: the list or addend, for the explorer's scheduling point (another
 * processor may run the same routine on it at this moment). */
static ULONG_PTR ExpLockList(PKSPIN_LOCK Lock, const void *Object)
{
    arch_sched_point(ARCH_SP_INTERLOCKED, Object);
    ULONG_PTR state = arch_disable_interrupts();
    KiAcquireSpinLockRaw(Lock);
    return state;
}

static void ExpUnlockList(PKSPIN_LOCK Lock, ULONG_PTR State)
{
    KiReleaseSpinLockRaw(Lock);
    arch_restore_interrupts(State);
}

PLIST_ENTRY NTAPI ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    ULONG_PTR state = ExpLockList(Lock, ListHead);
    PLIST_ENTRY first = ListHead->Flink;
    InsertHeadList(ListHead, ListEntry);
    ExpUnlockList(Lock, state);
    return first == ListHead ? NULL : first;
}

/* Returns the previous last entry, as the reference page documents. */
PLIST_ENTRY NTAPI ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    ULONG_PTR state = ExpLockList(Lock, ListHead);
    PLIST_ENTRY last = ListHead->Blink;
    InsertTailList(ListHead, ListEntry);
    ExpUnlockList(Lock, state);
    return last == ListHead ? NULL : last;
}

PLIST_ENTRY NTAPI ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    ULONG_PTR state = ExpLockList(Lock, ListHead);
    PLIST_ENTRY entry = IsListEmpty(ListHead) ? NULL : RemoveHeadList(ListHead);
    ExpUnlockList(Lock, state);
    return entry;
}

PSINGLE_LIST_ENTRY NTAPI ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY ListEntry,
                                                    PKSPIN_LOCK Lock)
{
    ULONG_PTR state = ExpLockList(Lock, ListHead);
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    ExpUnlockList(Lock, state);
    return first;
}

PSINGLE_LIST_ENTRY NTAPI ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    ULONG_PTR state = ExpLockList(Lock, ListHead);
    PSINGLE_LIST_ENTRY first = PopEntryList(ListHead);
    ExpUnlockList(Lock, state);
    return first;
}

/*
 * The additions take the lock even though a locked add would do on its own:
 * callers are allowed to read Addend together with other data under the same
 * lock and expect the update not to land in the middle. The stores are
 * atomic all the same so that lock-free readers never see a torn value.
 */
ULONG NTAPI ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock)
{
    ULONG_PTR state = ExpLockList(Lock, Addend);
    ULONG initial = __atomic_load_n(Addend, __ATOMIC_RELAXED);
    __atomic_store_n(Addend, initial + Increment, __ATOMIC_RELAXED);
    ExpUnlockList(Lock, state);
    return initial;
}

LARGE_INTEGER NTAPI ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment, PKSPIN_LOCK Lock)
{
    LARGE_INTEGER initial;
    ULONG_PTR state = ExpLockList(Lock, Addend);
    initial.QuadPart = __atomic_load_n(&Addend->QuadPart, __ATOMIC_RELAXED);
    /* Unsigned so that wrapping around is defined, as the hardware add is. */
    __atomic_store_n(&Addend->QuadPart, (LONGLONG)((ULONGLONG)initial.QuadPart + (ULONGLONG)Increment.QuadPart),
                     __ATOMIC_RELAXED);
    ExpUnlockList(Lock, state);
    return initial;
}

/* No lock parameter: a statistic is only ever added to, so a locked add is
 * the whole operation (the WDK's x64 macro is the same). */
VOID NTAPI ExInterlockedAddLargeStatistic(PLARGE_INTEGER Addend, ULONG Increment)
{
    arch_sched_point(ARCH_SP_INTERLOCKED, Addend);
    __atomic_fetch_add((volatile ULONGLONG *)&Addend->QuadPart, (ULONGLONG)Increment, __ATOMIC_RELAXED);
}
