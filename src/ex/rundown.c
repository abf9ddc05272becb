/*
 * Run-down protection.
 *
 * Locking and IRQL rules
 *  - The EX_RUNDOWN_REF word is the only shared state and changes only by
 *    compare-exchange. While the object is live it holds references * 2 (bit
 *    0 clear). ExWaitForRundownProtectionRelease sets bit 0 (EX_RUNDOWN_ACTIVE)
 *    in the same exchange that takes the reference count away from the word:
 *    from then on every acquire fails, and the references still out live in
 *    a wait block on the waiter's stack whose address is the rest of the word.
 *    Each release then decrements the block's count; the one that brings it to
 *    zero sets the block's event. That releaser touches nothing after the set,
 *    and no other releaser can exist (no references are left), so the waiter
 *    may return and drop its stack as soon as the event is signaled.
 *  - After the wait the word is EX_RUNDOWN_ACTIVE alone (run down, no block),
 *    which is also what ExRundownCompleted stores; ExReInitializeRundownProtection
 *    makes the object live again with no references.
 *  - Acquire and release run at IRQL <= DISPATCH_LEVEL; the wait at <=
 *    APC_LEVEL (it blocks), else IRQL_NOT_LESS_OR_EQUAL (ref, IRQL, 0, routine).
 *  - Misuse: releasing more references than were acquired stops with
 *    DRIVER_VERIFIER_DETECTED_VIOLATION (0x1007, ref, word or remaining count,
 *    0); a second waiter while a run-down is already waiting, which NT does
 *    not support, with (0x1004, ref, first waiter's block, thread).
 */
#include <ntos/ex_sync.h>

typedef struct _EXP_RUNDOWN_WAIT_BLOCK {
    volatile ULONG_PTR Count; /* references still out */
    KEVENT Event;
} EXP_RUNDOWN_WAIT_BLOCK, *PEXP_RUNDOWN_WAIT_BLOCK;

_Static_assert(_Alignof(EXP_RUNDOWN_WAIT_BLOCK) > EX_RUNDOWN_ACTIVE, "block address leaves bit 0 free");

VOID NTAPI ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    __atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELEASE);
}

VOID NTAPI ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    __atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELEASE);
}

VOID NTAPI ExRundownCompleted(PEX_RUNDOWN_REF RunRef)
{
    __atomic_store_n(&RunRef->Count, EX_RUNDOWN_ACTIVE, __ATOMIC_RELEASE);
}

BOOLEAN NTAPI ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count)
{
    ULONG_PTR add = (ULONG_PTR)Count << EX_RUNDOWN_COUNT_SHIFT;
    ULONG_PTR v = __atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE);
    for (;;) {
        if (v & EX_RUNDOWN_ACTIVE)
            return FALSE;
        if (__atomic_compare_exchange_n(&RunRef->Count, &v, v + add, TRUE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return TRUE;
    }
}

BOOLEAN NTAPI ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    return ExAcquireRundownProtectionEx(RunRef, 1);
}

VOID NTAPI ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count)
{
    ULONG_PTR sub = (ULONG_PTR)Count << EX_RUNDOWN_COUNT_SHIFT;
    ULONG_PTR v = __atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE);
    for (;;) {
        if (v & EX_RUNDOWN_ACTIVE)
            break;
        if (v < sub)
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)RunRef, v,
                         0);
        if (__atomic_compare_exchange_n(&RunRef->Count, &v, v - sub, TRUE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    }
    /* A run-down is waiting: our references are counted in its block. */
    PEXP_RUNDOWN_WAIT_BLOCK wb = (PEXP_RUNDOWN_WAIT_BLOCK)(v & ~(ULONG_PTR)EX_RUNDOWN_ACTIVE);
    if (wb == NULL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)RunRef, v, 0);
    ULONG_PTR before = __atomic_load_n(&wb->Count, __ATOMIC_RELAXED);
    do {
        if (before < Count)
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)RunRef,
                         before, 0);
    } while (!__atomic_compare_exchange_n(&wb->Count, &before, before - Count, TRUE, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    if (before == Count)
        KeSetEvent(&wb->Event, 0, FALSE);
}

VOID NTAPI ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef)
{
    ExReleaseRundownProtectionEx(RunRef, 1);
}

VOID NTAPI ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)RunRef, irql, 0,
                     (ULONG_PTR)ExWaitForRundownProtectionRelease);

    EXP_RUNDOWN_WAIT_BLOCK wb;
    KeInitializeEvent(&wb.Event, NotificationEvent, FALSE);
    ULONG_PTR v = __atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE);
    for (;;) {
        if (v & EX_RUNDOWN_ACTIVE) {
            if (v == EX_RUNDOWN_ACTIVE)
                return; /* already run down */
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNEXPECTED_THREAD, (ULONG_PTR)RunRef,
                         v & ~(ULONG_PTR)EX_RUNDOWN_ACTIVE, (ULONG_PTR)KeGetCurrentThread());
        }
        if (v == 0) {
            if (__atomic_compare_exchange_n(&RunRef->Count, &v, EX_RUNDOWN_ACTIVE, TRUE, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                return;
            continue;
        }
        __atomic_store_n(&wb.Count, v >> EX_RUNDOWN_COUNT_SHIFT, __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&RunRef->Count, &v, (ULONG_PTR)&wb | EX_RUNDOWN_ACTIVE, TRUE,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    KeWaitForSingleObject(&wb.Event, WrRundown, KernelMode, FALSE, NULL);
    /* Every reference is gone, so nobody reads the block address any more. */
    __atomic_store_n(&RunRef->Count, EX_RUNDOWN_ACTIVE, __ATOMIC_RELEASE);
}
