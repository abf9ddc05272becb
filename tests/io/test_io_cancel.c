/*
 * IRP cancellation: the cancel spin lock, IoCancelIrp with and without a
 * cancel routine, DRIVER_RETURNED_HOLDING_CANCEL_LOCK, and IoCancelIrp racing
 * a driver's completion on several processors (exactly one side finishes the
 * IRP, never both).
 */
#include "io_irp_test.h"

static PDRIVER_OBJECT cx_driver;
static PDEVICE_OBJECT cx_device;

static NTSTATUS NTAPI unused_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static int cancel_setup(void **state)
{
    (void)state;
    cx_driver = iot_driver(unused_dispatch);
    cx_device = iot_device(cx_driver, NULL, NULL);
    return 0;
}

static int cancel_teardown(void **state)
{
    (void)state;
    iot_free(cx_device);
    iot_free(cx_driver);
    return 0;
}

/* An IRP as the driver holds it: at the device's location, marked pending. */
static PIRP held_irp(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    assert_non_null(irp);
    IoSetNextIrpStackLocation(irp);
    IoGetCurrentIrpStackLocation(irp)->DeviceObject = cx_device;
    IoMarkIrpPending(irp);
    return irp;
}

static BOOLEAN cancel_lock_held_by_me(void)
{
    return __atomic_load_n(&IopCancelSpinLock, __ATOMIC_RELAXED) == ((ULONG_PTR)KeGetCurrentThread() | 1);
}

static void cancel_spin_lock(void **state)
{
    (void)state;
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    assert_int_equal(irql, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_true(cancel_lock_held_by_me());
    IoReleaseCancelSpinLock(irql);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(IopCancelSpinLock, 0);
}

static struct {
    int calls;
    PDEVICE_OBJECT device;
    KIRQL cancelIrql;
    BOOLEAN lockHeld, cancelFlag, routineCleared;
    BOOLEAN release;
} cr;

static VOID NTAPI recording_cancel(PDEVICE_OBJECT Device, PIRP Irp)
{
    cr.calls++;
    cr.device = Device;
    cr.cancelIrql = Irp->CancelIrql;
    cr.lockHeld = cancel_lock_held_by_me();
    cr.cancelFlag = Irp->Cancel;
    cr.routineCleared = Irp->CancelRoutine == NULL;
    if (!cr.release)
        return;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static void cancel_without_routine(void **state)
{
    (void)state;
    PIRP irp = held_irp();
    assert_false(IoCancelIrp(irp));
    assert_true(irp->Cancel);
    assert_int_equal(IopCancelSpinLock, 0);
    /* A driver setting a routine afterwards sees Cancel and backs out. */
    IoSetCancelRoutine(irp, recording_cancel);
    assert_true(irp->Cancel);
    assert_ptr_equal(IoSetCancelRoutine(irp, NULL), recording_cancel);
    IoFreeIrp(irp);
}

static void cancel_calls_the_routine(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    RtlZeroMemory(&cr, sizeof(cr));
    cr.release = TRUE;
    PIRP irp = held_irp();
    IoSetCancelRoutine(irp, recording_cancel);
    assert_true(IoCancelIrp(irp));
    assert_int_equal(cr.calls, 1);
    assert_ptr_equal(cr.device, cx_device);
    assert_int_equal(cr.cancelIrql, PASSIVE_LEVEL);
    assert_true(cr.lockHeld);
    assert_true(cr.cancelFlag);
    assert_true(cr.routineCleared);
    assert_int_equal(irp->IoStatus.Status, STATUS_CANCELLED);
    /* The routine ran once: a second cancel finds none. */
    assert_false(IoCancelIrp(irp));
    assert_int_equal(cr.calls, 1);
    IoFreeIrp(irp);

    /* From DISPATCH_LEVEL the routine gets DISPATCH_LEVEL back. */
    irp = held_irp();
    IoSetCancelRoutine(irp, recording_cancel);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(IoCancelIrp(irp));
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    assert_int_equal(cr.cancelIrql, DISPATCH_LEVEL);
    IoFreeIrp(irp);
    iot_pool_check(&m);
}

static void routine_returning_with_the_lock_bugchecks(void **state)
{
    (void)state;
    RtlZeroMemory(&cr, sizeof(cr));
    cr.release = FALSE;
    PIRP irp = held_irp();
    IoSetCancelRoutine(irp, recording_cancel);
    expect_bugcheck(DRIVER_RETURNED_HOLDING_CANCEL_LOCK, IoCancelIrp(irp));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)recording_cancel);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)irp);
    /* The catch restored PASSIVE_LEVEL; the lock is still ours to drop. */
    assert_true(cancel_lock_held_by_me());
    IoReleaseCancelSpinLock(PASSIVE_LEVEL);
    IoFreeIrp(irp);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KIRQL o;
        KeRaiseIrql(HIGH_LEVEL, &o);
        IoCancelIrp(irp);
    });
}

/* ---- IoCancelIrp racing the driver's own completion ------------------------------------------------ */

static struct {
    PIRP irp;
    volatile LONG go;       /* iteration number the completer may start */
    volatile LONG done;     /* iteration number the completer finished */
    volatile LONG stop;
    volatile LONG completions;
    NTSTATUS finalStatus;
} race;

static VOID NTAPI race_cancel(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS NTAPI race_owner_completion(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    (void)Device;
    (void)Context;
    race.finalStatus = Irp->IoStatus.Status;
    __atomic_add_fetch(&race.completions, 1, __ATOMIC_SEQ_CST);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The driver side: completes the IRP unless a cancel routine owns it. */
static VOID NTAPI race_completer(PVOID Context)
{
    (void)Context;
    for (LONG iter = 1;; iter++) {
        while (__atomic_load_n(&race.go, __ATOMIC_ACQUIRE) < iter) {
            if (__atomic_load_n(&race.stop, __ATOMIC_ACQUIRE))
                return;
            arch_pause();
        }
        PIRP irp = race.irp;
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            irp->IoStatus.Status = STATUS_SUCCESS;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
        }
        __atomic_store_n(&race.done, iter, __ATOMIC_RELEASE);
    }
}

static void cancel_races_completion(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    RtlZeroMemory(&race, sizeof(race));
    KTHREAD t;
    kt_start(&t, race_completer, NULL, 8);
    LONG cancelled = 0, completed = 0;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    /* On one processor the two sides only alternate on quantum ends. */
    LONG iterations = KeQueryActiveProcessorCount(NULL) > 1 ? 300 : 20;
    for (LONG iter = 1; iter <= iterations; iter++) {
        PIRP irp = IoAllocateIrp(1, FALSE);
        IoSetCompletionRoutine(irp, race_owner_completion, NULL, TRUE, TRUE, TRUE);
        IoSetNextIrpStackLocation(irp);
        IoGetCurrentIrpStackLocation(irp)->DeviceObject = cx_device;
        IoMarkIrpPending(irp);
        IoSetCancelRoutine(irp, race_cancel);
        race.irp = irp;
        LONG before = race.completions;
        /* A random head start for the driver side moves the race window. */
        ULONG spins = (ULONG)(ntos_test_rand(&seed) % 4096);
        __atomic_store_n(&race.go, iter, __ATOMIC_RELEASE);
        while (spins-- != 0)
            __builtin_ia32_pause();
        BOOLEAN cancelRan = IoCancelIrp(irp);
        while (__atomic_load_n(&race.done, __ATOMIC_ACQUIRE) < iter)
            arch_pause();
        /* Exactly one completion, and IoCancelIrp's answer says whose. */
        assert_int_equal(race.completions, before + 1);
        assert_int_equal(race.finalStatus, cancelRan ? STATUS_CANCELLED : STATUS_SUCCESS);
        if (cancelRan)
            cancelled++;
        else
            completed++;
        IoFreeIrp(irp);
    }
    __atomic_store_n(&race.stop, 1, __ATOMIC_RELEASE);
    kt_join(&t);
    assert_int_equal(cancelled + completed, iterations);
    print_message("cancel race: %d cancelled, %d completed by the driver\n", (int)cancelled, (int)completed);
    iot_pool_check(&m);
}

static const struct CMUnitTest io_cancel_tests[] = {
    cmocka_unit_test_setup_teardown(cancel_spin_lock, cancel_setup, cancel_teardown),
    cmocka_unit_test_setup_teardown(cancel_without_routine, cancel_setup, cancel_teardown),
    cmocka_unit_test_setup_teardown(cancel_calls_the_routine, cancel_setup, cancel_teardown),
    cmocka_unit_test_setup_teardown(routine_returning_with_the_lock_bugchecks, cancel_setup, cancel_teardown),
    cmocka_unit_test_setup_teardown(cancel_races_completion, cancel_setup, cancel_teardown),
};

NTOS_TEST_GROUP(io_cancel, io_cancel_tests, NULL, NULL);
