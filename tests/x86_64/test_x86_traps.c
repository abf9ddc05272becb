/*
 * Bare-metal backend tests: exceptions bug-check with the documented codes
 * and parameters, kernel stacks have guard pages, the kernel image is W^X,
 * IRQL is CR8, the clock interrupt runs, every processor started. Kernel
 * image only: this folder has no CMakeLists.txt, so the host build (where
 * faults are Linux signals) does not compile it; arch/x86_64/CMakeLists.txt
 * picks up every tests/<dir>/test_*.c.
 *
 * x86.forced_failure fails when the kernel command line has "ktest.fail":
 * it is how a run proves that a failing test changes QEMU's exit status.
 */
#include "ntos_test.h"
#include "x86.h"

static volatile ULONG64 sink;

static void breakpoint_bugchecks(void **state)
{
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, __asm__ volatile("int3"));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_BREAKPOINT);
    assert_true(ntos_last_bugcheck.Parameter[1] >= KERNEL_VMA);
}

static void invalid_opcode_bugchecks(void **state)
{
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, __asm__ volatile("ud2"));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_ILLEGAL_INSTRUCTION);
    assert_int_equal(*(USHORT *)ntos_last_bugcheck.Parameter[1], 0x0B0F); /* RIP is the ud2 */
}

static void divide_error_bugchecks(void **state)
{
    volatile ULONG zero = 0;
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, {
        ULONG q;
        __asm__ volatile("divl %2" : "=a"(q) : "a"(1), "r"(zero), "d"(0));
        sink = q;
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_INTEGER_DIVIDE_BY_ZERO);
}

static void general_protection_bugchecks(void **state)
{
    /* A non-canonical address raises #GP, not #PF. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, sink = *(volatile ULONG64 *)0x8000000000000000ULL);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_ACCESS_VIOLATION);
}

static void null_read_faults(void **state)
{
    expect_bugcheck(PAGE_FAULT_IN_NONPAGED_AREA, sink = *(volatile ULONG64 *)0x10);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x10);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0); /* read */
    assert_true(ntos_last_bugcheck.Parameter[2] >= KERNEL_VMA);
}

static void page_fault_at_dispatch_is_irql_not_less_or_equal(void **state)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, *(volatile ULONG64 *)0x20 = 1);
    KeLowerIrql(old);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x20);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2] & 1, 1); /* write */
}

static void stack_guard_page_faults(void **state)
{
    PKTHREAD t = KeGetCurrentThread();
    volatile UCHAR *guard = (volatile UCHAR *)(t->StackLimit - 8);
    expect_bugcheck(PAGE_FAULT_IN_NONPAGED_AREA, sink = *guard);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)guard);
}

static void kernel_text_is_read_only(void **state)
{
    volatile UCHAR *text = (volatile UCHAR *)(ULONG_PTR)&breakpoint_bugchecks;
    UCHAR before = *text;
    expect_bugcheck(PAGE_FAULT_IN_NONPAGED_AREA, *text = 0xCC);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 2); /* write */
    assert_int_equal(*text, before);
}

static void kernel_data_is_not_executable(void **state)
{
    static UCHAR ret_instruction = 0xC3;
    void (*fn)(void) = (void (*)(void))(ULONG_PTR)&ret_instruction;
    expect_bugcheck(PAGE_FAULT_IN_NONPAGED_AREA, fn());
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&ret_instruction);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 10); /* execute */
}

static void irql_is_cr8(void **state)
{
    KIRQL old;
    ULONG64 cr8;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    assert_int_equal(cr8, DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeRaiseIrql(CLOCK_LEVEL, &old);
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    assert_int_equal(cr8, CLOCK_LEVEL);
    KeLowerIrql(DISPATCH_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    assert_int_equal(cr8, PASSIVE_LEVEL);
}

static void clock_interrupts_arrive(void **state)
{
    /* The runner thread stays on processor 0 (its affinity). The counter
     * changes under the compiler's feet: atomic loads. */
    ULONG n = KeGetCurrentProcessorIndex();
    ULONG64 before = __atomic_load_n(&x86_cpus[n].ClockTicks, __ATOMIC_SEQ_CST);
    ULONG64 end = arch_interrupt_time() + 1000 * 10000; /* 1 s at most; a tick is 1 ms */
    while (__atomic_load_n(&x86_cpus[n].ClockTicks, __ATOMIC_SEQ_CST) == before && arch_interrupt_time() < end)
        arch_pause();
    assert_true(__atomic_load_n(&x86_cpus[n].ClockTicks, __ATOMIC_SEQ_CST) > before);
}

static void every_processor_started(void **state)
{
    for (ULONG n = 0; n < arch_processor_count(); n++) {
        assert_int_equal(x86_cpus[n].Started, 1);
        assert_ptr_equal(arch_processor_pcr(n)->Self, arch_processor_pcr(n));
        assert_int_equal(arch_processor_pcr(n)->Prcb.Number, n);
    }
}

/* ---- IRQL changed by driver-style inline `mov cr8` ------------------------------------------------
 * WDK-built drivers inline KeRaiseIrql/KeLowerIrql/KeGetCurrentIrql as
 * `mov cr8`: the kernel must read CR8 as the IRQL and the APIC must deliver
 * a DPC or APC queued meanwhile as soon as CR8 drops below its level. */

static inline void inline_write_cr8(ULONG64 v) { __asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }
static inline ULONG64 inline_read_cr8(void) { ULONG64 v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }

static volatile LONG inline_dpc_runs;
static volatile KIRQL inline_dpc_irql;

static VOID NTAPI inline_dpc_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    inline_dpc_irql = KeGetCurrentIrql();
    __atomic_add_fetch(&inline_dpc_runs, 1, __ATOMIC_SEQ_CST);
}

static void inline_cr8_lower_delivers_queued_dpc(void **state)
{
    static KDPC dpc;
    KeInitializeDpc(&dpc, inline_dpc_routine, NULL);
    inline_dpc_runs = 0;
    inline_write_cr8(DISPATCH_LEVEL);               /* KeRaiseIrql(DISPATCH_LEVEL), inlined */
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(arch_get_irql_inline(), DISPATCH_LEVEL);
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    /* Held back by CR8, and also by any spin: wait a few clock ticks. */
    ULONG64 end = arch_interrupt_time() + 30000;
    while (arch_interrupt_time() < end)
        arch_pause();
    LONG before = inline_dpc_runs;
    inline_write_cr8(PASSIVE_LEVEL);                /* KeLowerIrql(PASSIVE_LEVEL), inlined */
    LONG after = inline_dpc_runs;
    assert_int_equal(before, 0);
    assert_int_equal(after, 1);
    assert_int_equal(inline_dpc_irql, DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void inline_cr8_raise_is_seen_by_kernel(void **state)
{
    for (ULONG64 level = PASSIVE_LEVEL; level <= HIGH_LEVEL; level++) {
        inline_write_cr8(level);
        KIRQL seen = KeGetCurrentIrql();
        KIRQL fast = arch_get_irql_inline();
        inline_write_cr8(PASSIVE_LEVEL);
        assert_int_equal(seen, level);
        assert_int_equal(fast, level);
    }
    /* And the other way round: the exported functions change CR8. */
    KIRQL old;
    KeRaiseIrql(CLOCK_LEVEL, &old);
    ULONG64 cr8 = inline_read_cr8();
    KeLowerIrql(old);
    assert_int_equal(cr8, CLOCK_LEVEL);
    assert_int_equal(inline_read_cr8(), PASSIVE_LEVEL);
}

static volatile LONG inline_apc_runs;
static volatile KIRQL inline_apc_irql;

static VOID NTAPI inline_apc_kernel_routine(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context, PVOID *A1, PVOID *A2)
{
    inline_apc_irql = KeGetCurrentIrql();
    __atomic_add_fetch(&inline_apc_runs, 1, __ATOMIC_SEQ_CST);
}

static void inline_cr8_lower_delivers_queued_apc(void **state)
{
    static KAPC apc;
    inline_apc_runs = 0;
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, inline_apc_kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    inline_write_cr8(APC_LEVEL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    LONG before = inline_apc_runs;
    inline_write_cr8(PASSIVE_LEVEL);
    LONG after = inline_apc_runs;
    assert_int_equal(before, 0);
    assert_int_equal(after, 1);
    assert_int_equal(inline_apc_irql, APC_LEVEL);
}

static void dpc_requested_at_dispatch_waits_for_the_lower(void **state)
{
    /* Through the exported functions: KeLowerIrql delivers it, not earlier. */
    static KDPC dpc;
    KeInitializeDpc(&dpc, inline_dpc_routine, NULL);
    inline_dpc_runs = 0;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    LONG before = inline_dpc_runs;
    KeLowerIrql(old);
    assert_int_equal(before, 0);
    assert_int_equal(inline_dpc_runs, 1);
}

static void forced_failure(void **state)
{
    if (x86_cmdline_flag("ktest.fail"))
        fail_msg("forced by ktest.fail on the kernel command line");
    assert_false(x86_cmdline_flag("ktest.fail"));
}

static const struct CMUnitTest x86_tests[] = {
    cmocka_unit_test(breakpoint_bugchecks),
    cmocka_unit_test(invalid_opcode_bugchecks),
    cmocka_unit_test(divide_error_bugchecks),
    cmocka_unit_test(general_protection_bugchecks),
    cmocka_unit_test(null_read_faults),
    cmocka_unit_test(page_fault_at_dispatch_is_irql_not_less_or_equal),
    cmocka_unit_test(stack_guard_page_faults),
    cmocka_unit_test(kernel_text_is_read_only),
    cmocka_unit_test(kernel_data_is_not_executable),
    cmocka_unit_test(irql_is_cr8),
    cmocka_unit_test(clock_interrupts_arrive),
    cmocka_unit_test(every_processor_started),
    cmocka_unit_test(inline_cr8_lower_delivers_queued_dpc),
    cmocka_unit_test(inline_cr8_raise_is_seen_by_kernel),
    cmocka_unit_test(inline_cr8_lower_delivers_queued_apc),
    cmocka_unit_test(dpc_requested_at_dispatch_waits_for_the_lower),
    cmocka_unit_test(forced_failure),
};

NTOS_TEST_GROUP(x86, x86_tests, NULL, NULL);
