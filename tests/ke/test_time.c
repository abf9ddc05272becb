/*
 * Time: the KUSER_SHARED_DATA page (layout, static fields, the KSYSTEM_TIME
 * update protocol), the coarse queries that read it as the WDK's inline
 * functions do, the precise queries, the tick count against interrupt time and
 * the time increment, and the performance counter.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"
#include <ntos/kuser.h>

/* 1601-01-01 to 2020-01-01 in 100 ns units. */
#define SYSTEM_TIME_2020 132223104000000000ULL
#define ONE_SECOND 10000000ULL

/* The only writers of the page are KiUpdateTime calls: processor 0's clock
 * interrupt and the tests. Running on processor 0 at CLOCK_LEVEL, a test is
 * the only writer and the page holds still between its own updates. */
typedef struct pinned {
    KAFFINITY Previous;
    KIRQL Irql;
} pinned;

static pinned pin_cpu0_at_clock_level(void)
{
    pinned p;
    p.Previous = KeSetSystemAffinityThreadEx(1);
    p.Irql = KfRaiseIrql(CLOCK_LEVEL);
    assert_int_equal(KeGetCurrentProcessorNumber(), 0);
    return p;
}

static void unpin(pinned p)
{
    KeLowerIrql(p.Irql);
    KeRevertToUserAffinityThreadEx(p.Previous);
}

/* The 32-bit reader's side of the protocol. */
static ULONG64 read_ksystem_time32(const volatile KSYSTEM_TIME *t)
{
    for (;;) {
        LONG high1 = t->High1Time;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        ULONG low = t->LowPart;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        LONG high2 = t->High2Time;
        if (high1 == high2)
            return ((ULONG64)(ULONG)high1 << 32) | low;
        arch_pause();
    }
}

/* The x64 WDK inline functions: one 64-bit load at a fixed offset of the page. */
static ULONG64 inline_read(ULONG Offset)
{
    typedef ULONG64 __attribute__((aligned(4))) u64_a4;
    return *(const volatile u64_a4 *)((const volatile UCHAR *)&KiUserSharedData + Offset);
}

static void shared_data_static_fields(void **state)
{
    KiInitializeUserSharedData();
    KiInitializeUserSharedData(); /* idempotent */
    PKUSER_SHARED_DATA s = &KiUserSharedData;
    assert_int_equal((ULONG_PTR)s & 0xFFF, 0);
    assert_int_equal(s->NtMajorVersion, 10);
    assert_int_equal(s->NtMinorVersion, 0);
    assert_int_equal(s->NtBuildNumber, NTOS_NT_BUILD_NUMBER);
    assert_int_equal(s->NtProductType, NtProductWinNt);
    assert_true(s->ProductTypeIsValid);
    assert_int_equal(s->NativeProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
    assert_int_equal(s->ImageNumberLow, IMAGE_FILE_MACHINE_AMD64);
    assert_int_equal(s->ImageNumberHigh, IMAGE_FILE_MACHINE_AMD64);
    assert_int_equal(s->ActiveProcessorCount, arch_processor_count());
    assert_int_equal(s->ActiveGroupCount, 1);
    assert_int_equal(s->QpcFrequency, (LONGLONG)arch_cycle_frequency());
    /* Milliseconds per tick in 8.24: 1 ms ticks make it exactly 1.0. */
    assert_int_equal(s->TickCountMultiplier, ((ULONG64)KeQueryTimeIncrement() << 24) / 10000);
    assert_int_equal(((ULONG64)KeQueryTimeIncrement() << 24) / 10000, 1u << 24);
    static const WCHAR root[] = u"C:\\Windows";
    assert_memory_equal(s->NtSystemRoot, root, sizeof(root));
    assert_int_equal(s->TimeZoneBias.LowPart, 0); /* UTC */
    assert_int_equal(s->TimeZoneBias.High1Time, 0);
}

static void update_follows_the_protocol(void **state)
{
    ULONG64 boot = arch_boot_system_time();
    pinned p = pin_cpu0_at_clock_level();
    ULONG64 before = arch_interrupt_time();
    KiUpdateTime();
    ULONG64 after = arch_interrupt_time();
    PKUSER_SHARED_DATA s = &KiUserSharedData;

    /* Each KSYSTEM_TIME is complete: both high copies agree. */
    assert_int_equal(s->InterruptTime.High1Time, s->InterruptTime.High2Time);
    assert_int_equal(s->SystemTime.High1Time, s->SystemTime.High2Time);
    assert_int_equal(s->TickCount.High1Time, s->TickCount.High2Time);

    ULONG64 interrupt = read_ksystem_time32(&s->InterruptTime);
    ULONG64 system = read_ksystem_time32(&s->SystemTime);
    ULONG64 ticks = read_ksystem_time32(&s->TickCount);
    assert_in_range(interrupt, before, after);
    assert_int_equal(system, boot + interrupt);
    assert_int_equal(ticks, interrupt / KeQueryTimeIncrement());
    assert_int_equal(s->TickCountQuad, ticks);
    assert_int_equal(__atomic_load_n(&s->TickCountLowDeprecated, __ATOMIC_RELAXED), (ULONG)ticks);
    /* The 32-bit and the 64-bit readers see the same value. */
    assert_int_equal(inline_read(0x08), interrupt);
    assert_int_equal(inline_read(0x14), system);
    assert_int_equal(inline_read(0x320), ticks);
    unpin(p);
}

static void coarse_queries_read_the_page(void **state)
{
    pinned p = pin_cpu0_at_clock_level();
    KiUpdateTime();
    LARGE_INTEGER system, ticks;
    KeQuerySystemTime(&system);
    KeQueryTickCount(&ticks);
    assert_int_equal(KeQueryInterruptTime(), inline_read(0x08));
    assert_int_equal((ULONG64)system.QuadPart, inline_read(0x14));
    assert_int_equal((ULONG64)ticks.QuadPart, inline_read(0x320));

    /* Tick-granular: no update, no change, however much time passes. */
    ULONG64 frozen = KeQueryInterruptTime();
    arch_stall(20000); /* 2 ms; the clock interrupt stays pending at CLOCK_LEVEL */
    assert_int_equal(KeQueryInterruptTime(), frozen);
    LARGE_INTEGER again;
    KeQuerySystemTime(&again);
    assert_int_equal(again.QuadPart, system.QuadPart);
    assert_true(arch_interrupt_time() >= frozen + 20000);
    unpin(p);
}

static void update_at_any_irql(void **state)
{
    /* Called below CLOCK_LEVEL it raises for itself and restores the IRQL. */
    ULONG64 t0 = KeQueryInterruptTime();
    KiUpdateTime();
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(KeQueryInterruptTime() >= t0);
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    KiUpdateTime();
    assert_int_equal(KeGetCurrentIrql(), HIGH_LEVEL);
    KeLowerIrql(old);
}

static void queries_are_monotonic(void **state)
{
    ULONG64 last_interrupt = 0, last_system = 0, last_ticks = 0, last_precise = 0, last_qpc = 0;
    ULONG64 last_system_precise = 0;
    for (int i = 0; i < 2000; i++) {
        if (i % 7 == 0) {
            KIRQL old = KfRaiseIrql(CLOCK_LEVEL);
            KiUpdateTime();
            KeLowerIrql(old);
        }
        LARGE_INTEGER system, ticks, system_precise;
        ULONG64 interrupt = KeQueryInterruptTime();
        KeQuerySystemTime(&system);
        KeQueryTickCount(&ticks);
        ULONG64 precise = KeQueryInterruptTimePrecise(NULL);
        KeQuerySystemTimePrecise(&system_precise);
        ULONG64 qpc = (ULONG64)KeQueryPerformanceCounter(NULL).QuadPart;
        assert_true(interrupt >= last_interrupt);
        assert_true((ULONG64)system.QuadPart >= last_system);
        assert_true((ULONG64)ticks.QuadPart >= last_ticks);
        assert_true(precise >= last_precise);
        assert_true((ULONG64)system_precise.QuadPart >= last_system_precise);
        assert_true(qpc >= last_qpc);
        /* A coarse value read before a precise one is never ahead of it. */
        assert_true(interrupt <= precise);
        last_interrupt = interrupt;
        last_system = (ULONG64)system.QuadPart;
        last_ticks = (ULONG64)ticks.QuadPart;
        last_precise = precise;
        last_system_precise = (ULONG64)system_precise.QuadPart;
        last_qpc = qpc;
    }
}

/* Readers on any processor while processor 0's clock (and this test) update:
 * both reader kinds see complete, non-decreasing values. */
static void readers_race_the_clock(void **state)
{
    PKUSER_SHARED_DATA s = &KiUserSharedData;
    ULONG64 last64 = 0, last32 = 0;
    ULONG64 start = arch_interrupt_time();
    for (int i = 0; i < 20000; i++) {
        if (i % 64 == 0)
            KiUpdateTime();
        ULONG64 v64 = inline_read(0x08);
        ULONG64 v32 = read_ksystem_time32(&s->InterruptTime);
        assert_true(v64 >= last64);
        assert_true(v32 >= last32);
        assert_true(v32 >= v64); /* read later */
        assert_true(v32 <= arch_interrupt_time());
        last64 = v64;
        last32 = v32;
        arch_pause();
    }
    assert_true(last32 >= start);
}

static void tick_count_follows_interrupt_time(void **state)
{
    ULONG increment = KeQueryTimeIncrement();
    pinned p = pin_cpu0_at_clock_level();
    KiUpdateTime();
    LARGE_INTEGER ticks;
    KeQueryTickCount(&ticks);
    ULONG64 interrupt = KeQueryInterruptTime();
    assert_true((ULONG64)ticks.QuadPart * increment <= interrupt);
    assert_true(interrupt < ((ULONG64)ticks.QuadPart + 1) * increment);
    unpin(p);

    /* The clock interrupt keeps publishing: after 20 ms the tick count has
     * moved by about 20 (1 ms ticks). The wait for the next publication is
     * bounded generously for loaded hosts, in stalls so that virtual time
     * moves too. */
    LARGE_INTEGER t0, t1;
    KeQueryTickCount(&t0);
    KeStallExecutionProcessor(20000);
    for (int i = 0; i < 50000; i++) {
        KeQueryTickCount(&t1);
        if (t1.QuadPart >= t0.QuadPart + 19)
            break;
        KeStallExecutionProcessor(1000);
    }
    assert_true(t1.QuadPart >= t0.QuadPart + 19);
    assert_true((ULONG64)t1.QuadPart * increment <= arch_interrupt_time());
}

static void precise_versus_coarse(void **state)
{
    ULONG64 boot = arch_boot_system_time();
    pinned p = pin_cpu0_at_clock_level();
    KiUpdateTime();
    ULONG64 coarse = KeQueryInterruptTime();
    LARGE_INTEGER coarse_system;
    KeQuerySystemTime(&coarse_system);

    ULONG64 qpc_before = (ULONG64)KeQueryPerformanceCounter(NULL).QuadPart;
    ULONG64 qpc = 0;
    ULONG64 precise = KeQueryInterruptTimePrecise(&qpc);
    ULONG64 qpc_after = (ULONG64)KeQueryPerformanceCounter(NULL).QuadPart;
    LARGE_INTEGER precise_system;
    KeQuerySystemTimePrecise(&precise_system);

    /* The coarse value is the last tick's; the precise one is now. */
    assert_true(coarse <= precise);
    assert_true(precise - coarse < ONE_SECOND);
    assert_true((ULONG64)coarse_system.QuadPart <= (ULONG64)precise_system.QuadPart);
    assert_true((ULONG64)precise_system.QuadPart - boot >= precise);
    assert_true((ULONG64)precise_system.QuadPart - boot <= arch_interrupt_time());
    /* The QPC stamp belongs to the same moment. */
    assert_in_range(qpc, qpc_before, qpc_after);
    unpin(p);
}

static void system_time_is_wall_clock(void **state)
{
    LARGE_INTEGER now;
    KiUpdateTime();
    KeQuerySystemTime(&now);
    assert_true(arch_boot_system_time() > SYSTEM_TIME_2020);
    assert_true((ULONG64)now.QuadPart >= arch_boot_system_time());
    assert_true((ULONG64)now.QuadPart - arch_boot_system_time() <= arch_interrupt_time());
    KeQuerySystemTimePrecise(&now);
    assert_true((ULONG64)now.QuadPart > SYSTEM_TIME_2020);
}

static void performance_counter(void **state)
{
    LARGE_INTEGER frequency = {.QuadPart = -1};
    LARGE_INTEGER c0 = KeQueryPerformanceCounter(&frequency);
    assert_int_equal(frequency.QuadPart, (LONGLONG)arch_cycle_frequency());
    assert_true(frequency.QuadPart >= 1000000); /* at least 1 MHz: sub-microsecond resolution */
    /* The frequency is optional. */
    LARGE_INTEGER c1 = KeQueryPerformanceCounter(NULL);
    assert_true(c1.QuadPart >= c0.QuadPart);
    /* A 2 ms stall advances it by at least 2 ms worth of counts (10% slack
     * for a counter not derived from interrupt time). */
    c0 = KeQueryPerformanceCounter(NULL);
    KeStallExecutionProcessor(2000);
    c1 = KeQueryPerformanceCounter(NULL);
    assert_true(c1.QuadPart - c0.QuadPart >= frequency.QuadPart / 500 * 9 / 10);
    /* The QPC stamp output is optional too. */
    assert_true(KeQueryInterruptTimePrecise(NULL) > 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shared_data_static_fields),
    cmocka_unit_test(update_follows_the_protocol),
    cmocka_unit_test(coarse_queries_read_the_page),
    cmocka_unit_test(update_at_any_irql),
    cmocka_unit_test(queries_are_monotonic),
    cmocka_unit_test(readers_race_the_clock),
    cmocka_unit_test(tick_count_follows_interrupt_time),
    cmocka_unit_test(precise_versus_coarse),
    cmocka_unit_test(system_time_is_wall_clock),
    cmocka_unit_test(performance_counter),
};

NTOS_TEST_GROUP(ke_time, tests, NULL, NULL);
