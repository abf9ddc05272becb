/*
 * Remove locks: acquire/release counting, STATUS_DELETE_PENDING after removal
 * starts, ReleaseAndWait waiting for the other holders, unbalanced release.
 */
#include "ntos_test.h"
#include <ntos/io_remlock.h>
#include <ntos/ps.h>
#include <ntos/ex_sync.h>

static void basic(void **state)
{
    (void)state;
    IO_REMOVE_LOCK lock;
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    assert_int_equal(lock.Common.IoCount, 1);
    assert_false(lock.Common.Removed);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)1), STATUS_SUCCESS);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)2), STATUS_SUCCESS);
    assert_int_equal(lock.Common.IoCount, 3);
    IoReleaseRemoveLock(&lock, (PVOID)2);
    /* Acquire/release at DISPATCH_LEVEL. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)3), STATUS_SUCCESS);
    IoReleaseRemoveLock(&lock, (PVOID)3);
    KeLowerIrql(old);
    IoReleaseRemoveLockAndWait(&lock, (PVOID)1); /* only our own acquisition: no wait */
    assert_true(lock.Common.Removed);
    assert_int_equal(lock.Common.IoCount, 0);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)4), STATUS_DELETE_PENDING);
    assert_int_equal(lock.Common.IoCount, 0);

    /* The checked-build size is accepted; any other size leaves the lock alone. */
    IO_REMOVE_LOCK checked[4];
    IoInitializeRemoveLockEx(&checked[0], 'tseT', 1, 100,
                             sizeof(IO_REMOVE_LOCK_COMMON_BLOCK) + sizeof(IO_REMOVE_LOCK_DBG_BLOCK));
    assert_int_equal(checked[0].Common.IoCount, 1);
    IO_REMOVE_LOCK odd;
    odd.Common.IoCount = 77;
    IoInitializeRemoveLockEx(&odd, 'tseT', 0, 0, 3);
    assert_int_equal(odd.Common.IoCount, 77);
}

static void unbalanced(void **state)
{
    (void)state;
    IO_REMOVE_LOCK lock;
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    /* ReleaseAndWait without the caller's own acquisition. */
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, IoReleaseRemoveLockAndWait(&lock, NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNACQUIRED_RELEASE);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], &lock);
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_SUCCESS);
    IoReleaseRemoveLockAndWait(&lock, NULL);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, IoReleaseRemoveLock(&lock, NULL));
}

static IO_REMOVE_LOCK shared_lock;
static KEVENT holders_go;
static volatile LONG holders_acquired, holders_released, holders_refused;

static VOID NTAPI holder(PVOID Context)
{
    (void)Context;
    if (IoAcquireRemoveLock(&shared_lock, KeGetCurrentThread()) != STATUS_SUCCESS) {
        __atomic_add_fetch(&holders_refused, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_add_fetch(&holders_acquired, 1, __ATOMIC_RELAXED);
    KeWaitForSingleObject(&holders_go, Executive, KernelMode, FALSE, NULL);
    __atomic_add_fetch(&holders_released, 1, __ATOMIC_RELEASE);
    IoReleaseRemoveLock(&shared_lock, KeGetCurrentThread());
}

static void release_and_wait_waits(void **state)
{
    (void)state;
    IoInitializeRemoveLock(&shared_lock, 'tseT', 0, 0);
    KeInitializeEvent(&holders_go, NotificationEvent, FALSE);
    holders_acquired = holders_released = holders_refused = 0;
    PVOID threads[3];
    for (int i = 0; i < 3; i++) {
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        HANDLE h;
        assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, holder, NULL), STATUS_SUCCESS);
        assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &threads[i], NULL),
                         STATUS_SUCCESS);
        ZwClose(h);
    }
    while (__atomic_load_n(&holders_acquired, __ATOMIC_ACQUIRE) < 3) {
        LARGE_INTEGER d = {.QuadPart = -10000};
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
    assert_int_equal(IoAcquireRemoveLock(&shared_lock, NULL), STATUS_SUCCESS);
    /* Let the holders go only after a while: the wait must cover them. */
    KeSetEvent(&holders_go, 0, FALSE);
    IoReleaseRemoveLockAndWait(&shared_lock, NULL);
    assert_int_equal(__atomic_load_n(&holders_released, __ATOMIC_ACQUIRE), 3);
    assert_int_equal(IoAcquireRemoveLock(&shared_lock, NULL), STATUS_DELETE_PENDING);
    for (int i = 0; i < 3; i++) {
        KeWaitForSingleObject(threads[i], Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(threads[i]);
    }
    assert_int_equal(holders_refused, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(basic),
    cmocka_unit_test(unbalanced),
    cmocka_unit_test(release_and_wait_waits),
};

NTOS_TEST_GROUP(io_remlock, tests, NULL, NULL);
