/*
 * Helpers for tests that run kernel threads: start a thread from caller
 * storage, join it, and relative timeouts in milliseconds.
 */
#ifndef NTOS_KE_TEST_H
#define NTOS_KE_TEST_H

#include "ntos_test.h"
#include <ntos/ke.h>
#include "ke/ki.h"

static inline PKTHREAD kt_start(PKTHREAD Storage, PKSTART_ROUTINE Routine, PVOID Context, KPRIORITY Priority)
{
    NTSTATUS s = KeInitializeThread(Storage, NULL, 0, Routine, Context, Priority);
    assert_int_equal(s, STATUS_SUCCESS);
    KeStartThread(Storage);
    return Storage;
}

static inline void kt_join(PKTHREAD Thread)
{
    NTSTATUS s = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(s, STATUS_SUCCESS);
    assert_int_equal(KeDeleteThread(Thread), STATUS_SUCCESS);
}

/* A thread's scheduling state, read under the dispatcher lock that guards it. */
static inline UCHAR kt_state(PKTHREAD Thread)
{
    KIRQL old = KiAcquireDispatcherLock();
    UCHAR s = Thread->State;
    KiReleaseDispatcherLock(old);
    return s;
}

static inline LARGE_INTEGER kt_ms(LONG Milliseconds)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)Milliseconds * 10000;
    return t;
}

static inline void kt_sleep_ms(LONG Milliseconds)
{
    LARGE_INTEGER t = kt_ms(Milliseconds);
    assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &t), STATUS_SUCCESS);
}

/* Spins (interruptibly) until *Flag becomes nonzero or Ms milliseconds pass. */
static inline BOOLEAN kt_spin_until(volatile LONG *Flag, LONG Ms)
{
    ULONG64 end = arch_interrupt_time() + (ULONG64)Ms * 10000;
    while (!__atomic_load_n(Flag, __ATOMIC_ACQUIRE)) {
        if (arch_interrupt_time() > end)
            return FALSE;
        arch_pause();
    }
    return TRUE;
}

#endif /* NTOS_KE_TEST_H */
