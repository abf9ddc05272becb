/*
 * Device timers: IoInitializeTimer (validation, reuse of a device's timer),
 * IoStartTimer/IoStopTimer, the routine's DISPATCH_LEVEL context and
 * arguments on the once-a-second tick, and removal freeing the IO_TIMER.
 */
#include "io_irp_test.h"

static volatile LONG ticks_a, ticks_b;
static volatile LONG bad_context;
static PDEVICE_OBJECT timer_device;

static VOID NTAPI tick_a(PDEVICE_OBJECT Device, PVOID Context)
{
    if (KeGetCurrentIrql() != DISPATCH_LEVEL || Device != timer_device || Context != &ticks_a)
        __atomic_store_n(&bad_context, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&ticks_a, 1, __ATOMIC_SEQ_CST);
}

static VOID NTAPI tick_b(PDEVICE_OBJECT Device, PVOID Context)
{
    (void)Device;
    (void)Context;
    __atomic_add_fetch(&ticks_b, 1, __ATOMIC_SEQ_CST);
}

static LONG read_ticks(volatile LONG *Counter)
{
    return __atomic_load_n(Counter, __ATOMIC_SEQ_CST);
}

static BOOLEAN wait_ticks(volatile LONG *Counter, LONG Want, LONG Ms)
{
    for (LONG i = 0; i < Ms / 10 && read_ticks(Counter) < Want; i++)
        kt_sleep_ms(10);
    return read_ticks(Counter) >= Want;
}

static void start_stop_and_reinitialise(void **state)
{
    (void)state;
    /* The counters are static: start from zero on every pass (ktest.repeat). */
    __atomic_store_n(&ticks_a, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ticks_b, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&bad_context, 0, __ATOMIC_SEQ_CST);
    iot_pool_mark m = iot_pool_snapshot();
    PDRIVER_OBJECT drv = iot_driver(NULL);
    timer_device = iot_device(drv, NULL, NULL);
    assert_int_equal(IoInitializeTimer(timer_device, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_null(timer_device->Timer);
    assert_int_equal(IoInitializeTimer(timer_device, tick_a, (PVOID)&ticks_a), STATUS_SUCCESS);
    assert_non_null(timer_device->Timer);
    assert_int_equal(iot_pool_live(IOP_TIMER_TAG), m.timers + 1);
    /* Not started: the routine is not called. */
    kt_sleep_ms(1500);
    assert_int_equal(read_ticks(&ticks_a), 0);
    IoStartTimer(timer_device);
    assert_true(wait_ticks(&ticks_a, 2, 10000));
    assert_false(bad_context);
    IoStopTimer(timer_device);
    /* A tick already running may still finish; after that, silence. */
    kt_sleep_ms(1100);
    LONG stopped = read_ticks(&ticks_a);
    kt_sleep_ms(2200);
    assert_int_equal(read_ticks(&ticks_a), stopped);
    /* Initialising again reuses the timer with the new routine. */
    PIO_TIMER same = timer_device->Timer;
    assert_int_equal(IoInitializeTimer(timer_device, tick_b, NULL), STATUS_SUCCESS);
    assert_ptr_equal(timer_device->Timer, same);
    IoStartTimer(timer_device);
    assert_true(wait_ticks(&ticks_b, 1, 10000));
    assert_int_equal(read_ticks(&ticks_a), stopped);
    IopRemoveDeviceTimer(timer_device);
    assert_null(timer_device->Timer);
    LONG removed = read_ticks(&ticks_b);
    kt_sleep_ms(2200);
    assert_int_equal(read_ticks(&ticks_b), removed);
    /* Start and stop on a device without a timer do nothing. */
    IoStartTimer(timer_device);
    IoStopTimer(timer_device);
    iot_free(timer_device);
    iot_free(drv);
    iot_pool_check(&m);
}

static const struct CMUnitTest io_timer_tests[] = {
    cmocka_unit_test(start_stop_and_reinitialise),
};

NTOS_TEST_GROUP(io_timer, io_timer_tests, NULL, NULL);
