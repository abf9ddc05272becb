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
#include "ntos_ke_test.h"
#include "x86.h"
#include <ntos/kuser.h>
#include <ntos/io_interrupt.h>

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

/* ---- KUSER_SHARED_DATA at 0xFFFFF78000000000 ------------------------------------------------------
 * What the WDK's inline KeQueryTickCount/KeQueryInterruptTime/KeQuerySystemTime
 * read: 64-bit loads at 0x320, 0x08 and 0x14 of the fixed kernel address. */

#define KUSER_VA 0xFFFFF78000000000ULL

static ULONG64 kuser_load(ULONG Offset)
{
    return *(volatile ULONG64 *)(ULONG_PTR)(KUSER_VA + Offset);
}

static void kuser_shared_data_is_mapped_at_fixed_address(void **state)
{
    /* The same page as the kernel's KiUserSharedData. */
    assert_int_equal(kuser_load(0x26C) & 0xFFFFFFFF, *(volatile ULONG *)((UCHAR *)&KiUserSharedData + 0x26C));
    for (int round = 0; round < 3; round++) {
        LARGE_INTEGER before, after;
        KeQueryTickCount(&before);
        ULONG64 ticks = kuser_load(0x320);
        KeQueryTickCount(&after);
        assert_true(ticks >= (ULONG64)before.QuadPart && ticks <= (ULONG64)after.QuadPart);
        ULONG64 t0 = KeQueryInterruptTime();
        ULONG64 it = kuser_load(0x08);
        ULONG64 t1 = KeQueryInterruptTime();
        assert_true(it >= t0 && it <= t1);
        /* Wait for the clock to move both, so the comparison is not of zeros. */
        ULONG64 end = arch_interrupt_time() + 50000;
        while (arch_interrupt_time() < end)
            arch_pause();
    }
    assert_true(kuser_load(0x320) > 0);
    assert_true(kuser_load(0x08) > 0);
}

static void kuser_shared_data_is_read_only(void **state)
{
    volatile ULONG64 *p = (volatile ULONG64 *)(ULONG_PTR)(KUSER_VA + 0x320);
    expect_bugcheck(PAGE_FAULT_IN_NONPAGED_AREA, *p = 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], KUSER_VA + 0x320);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 2); /* write */
}

/* ---- extended state across preemption -------------------------------------------------------------
 * The kernel is built -mgeneral-regs-only, so only the thread switch touches
 * xmm/ymm; drivers and user code do not have that luxury. Thread A loads a
 * pattern into xmm0-15 (ymm0-15 when XCR0 has AVX), then spins; thread B,
 * higher priority and bound to A's processor, wakes from a timer, preempts A
 * in the middle of its spin (clock -> timer DPC -> DISPATCH software
 * interrupt -> switch), loads a different pattern into the same registers,
 * and ends. A then checks that its registers still hold its own pattern. */

static UCHAR fpu_pattern_a[16 * 32] __attribute__((aligned(32)));
static UCHAR fpu_pattern_b[16 * 32] __attribute__((aligned(32)));
static UCHAR fpu_readback[16 * 32] __attribute__((aligned(32)));
static volatile LONG fpu_b_done;
static volatile ULONG fpu_b_processor;
static ULONG fpu_target_processor;

static BOOLEAN fpu_has_avx(void)
{
    return x86_fpu_xsave && (x86_fpu_xcr0 & 4);
}

#define XMM_LOAD(base) __asm__ volatile(                                                                     \
    "movdqu 0(%0), %%xmm0\n\tmovdqu 32(%0), %%xmm1\n\tmovdqu 64(%0), %%xmm2\n\tmovdqu 96(%0), %%xmm3\n\t"     \
    "movdqu 128(%0), %%xmm4\n\tmovdqu 160(%0), %%xmm5\n\tmovdqu 192(%0), %%xmm6\n\tmovdqu 224(%0), %%xmm7\n\t" \
    "movdqu 256(%0), %%xmm8\n\tmovdqu 288(%0), %%xmm9\n\tmovdqu 320(%0), %%xmm10\n\tmovdqu 352(%0), %%xmm11\n\t" \
    "movdqu 384(%0), %%xmm12\n\tmovdqu 416(%0), %%xmm13\n\tmovdqu 448(%0), %%xmm14\n\tmovdqu 480(%0), %%xmm15" \
    : : "r"(base) : "memory")
#define XMM_STORE(base) __asm__ volatile(                                                                    \
    "movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 32(%0)\n\tmovdqu %%xmm2, 64(%0)\n\tmovdqu %%xmm3, 96(%0)\n\t"     \
    "movdqu %%xmm4, 128(%0)\n\tmovdqu %%xmm5, 160(%0)\n\tmovdqu %%xmm6, 192(%0)\n\tmovdqu %%xmm7, 224(%0)\n\t" \
    "movdqu %%xmm8, 256(%0)\n\tmovdqu %%xmm9, 288(%0)\n\tmovdqu %%xmm10, 320(%0)\n\tmovdqu %%xmm11, 352(%0)\n\t" \
    "movdqu %%xmm12, 384(%0)\n\tmovdqu %%xmm13, 416(%0)\n\tmovdqu %%xmm14, 448(%0)\n\tmovdqu %%xmm15, 480(%0)" \
    : : "r"(base) : "memory")
#define YMM_LOAD(base) __asm__ volatile(                                                                     \
    "vmovdqu 0(%0), %%ymm0\n\tvmovdqu 32(%0), %%ymm1\n\tvmovdqu 64(%0), %%ymm2\n\tvmovdqu 96(%0), %%ymm3\n\t" \
    "vmovdqu 128(%0), %%ymm4\n\tvmovdqu 160(%0), %%ymm5\n\tvmovdqu 192(%0), %%ymm6\n\tvmovdqu 224(%0), %%ymm7\n\t" \
    "vmovdqu 256(%0), %%ymm8\n\tvmovdqu 288(%0), %%ymm9\n\tvmovdqu 320(%0), %%ymm10\n\tvmovdqu 352(%0), %%ymm11\n\t" \
    "vmovdqu 384(%0), %%ymm12\n\tvmovdqu 416(%0), %%ymm13\n\tvmovdqu 448(%0), %%ymm14\n\tvmovdqu 480(%0), %%ymm15" \
    : : "r"(base) : "memory")
#define YMM_STORE(base) __asm__ volatile(                                                                    \
    "vmovdqu %%ymm0, 0(%0)\n\tvmovdqu %%ymm1, 32(%0)\n\tvmovdqu %%ymm2, 64(%0)\n\tvmovdqu %%ymm3, 96(%0)\n\t" \
    "vmovdqu %%ymm4, 128(%0)\n\tvmovdqu %%ymm5, 160(%0)\n\tvmovdqu %%ymm6, 192(%0)\n\tvmovdqu %%ymm7, 224(%0)\n\t" \
    "vmovdqu %%ymm8, 256(%0)\n\tvmovdqu %%ymm9, 288(%0)\n\tvmovdqu %%ymm10, 320(%0)\n\tvmovdqu %%ymm11, 352(%0)\n\t" \
    "vmovdqu %%ymm12, 384(%0)\n\tvmovdqu %%ymm13, 416(%0)\n\tvmovdqu %%ymm14, 448(%0)\n\tvmovdqu %%ymm15, 480(%0)" \
    : : "r"(base) : "memory")

static VOID NTAPI fpu_dirtying_thread(PVOID Context)
{
    KeSetSystemAffinityThread((KAFFINITY)1 << fpu_target_processor);
    kt_sleep_ms(20);
    fpu_b_processor = KeGetCurrentProcessorIndex();
    if (fpu_has_avx())
        YMM_LOAD(fpu_pattern_b);
    else
        XMM_LOAD(fpu_pattern_b);
    __atomic_store_n(&fpu_b_done, 1, __ATOMIC_RELEASE);
}

static void fpu_state_survives_preemption(void **state)
{
    SIZE_T bytes = fpu_has_avx() ? 32 : 16;
    RtlZeroMemory(fpu_pattern_a, sizeof(fpu_pattern_a));
    RtlZeroMemory(fpu_pattern_b, sizeof(fpu_pattern_b));
    for (ULONG r = 0; r < 16; r++)
        for (ULONG i = 0; i < bytes; i++) {
            fpu_pattern_a[r * 32 + i] = (UCHAR)(0xA0 + r * 7 + i);
            fpu_pattern_b[r * 32 + i] = (UCHAR)(0x5B ^ (r * 13 + i));
        }
    KeSetSystemAffinityThread((KAFFINITY)1 << KeGetCurrentProcessorIndex());
    fpu_target_processor = KeGetCurrentProcessorIndex();
    fpu_b_done = 0;
    fpu_b_processor = 0xFFFFFFFF;
    static KTHREAD b;
    kt_start(&b, fpu_dirtying_thread, NULL, KeGetCurrentThread()->Priority + 2);
    if (fpu_has_avx())
        YMM_LOAD(fpu_pattern_a);
    else
        XMM_LOAD(fpu_pattern_a);
    BOOLEAN done = kt_spin_until(&fpu_b_done, 5000);
    if (fpu_has_avx())
        YMM_STORE(fpu_readback);
    else
        XMM_STORE(fpu_readback);
    KeRevertToUserAffinityThread();
    kt_join(&b);
    assert_true(done);
    assert_int_equal(fpu_b_processor, fpu_target_processor);
    for (ULONG r = 0; r < 16; r++)
        assert_memory_equal(&fpu_readback[r * 32], &fpu_pattern_a[r * 32], bytes);
    print_message("extended state: %s, %u-byte registers\n", x86_fpu_xsave ? "xsave" : "fxsave", (unsigned)bytes);
}

/* ---- a real device interrupt through the IOAPIC -------------------------------------------------
 * The PIT's channel 0 (ISA IRQ 0, which QEMU's MADT overrides to IOAPIC input
 * 2) in rate-generator mode every 10 ms, connected with IoConnectInterrupt;
 * the ISR queues a DPC, the DPC signals an event after three interrupts.
 * Channel 2 is the calibration timer (time.c), so channel 0 is free. */

#define PIT_HZ 1193182
static volatile LONG pit_isr_calls, pit_dpc_calls;
static volatile KIRQL pit_isr_irql;
static KDPC pit_dpc;
static KEVENT pit_event;

static void pit_start_periodic(ULONG Hz)
{
    ULONG count = PIT_HZ / Hz;
    outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(0x40, (UCHAR)count);
    outb(0x40, (UCHAR)(count >> 8));
}

static void pit_stop(void)
{
    outb(0x43, 0x30); /* channel 0, mode 0, no count loaded: output stays low */
}

static BOOLEAN NTAPI pit_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    pit_isr_irql = KeGetCurrentIrql();
    __atomic_add_fetch(&pit_isr_calls, 1, __ATOMIC_SEQ_CST);
    KeInsertQueueDpc(&pit_dpc, NULL, NULL);
    return TRUE;
}

static VOID NTAPI pit_dpc_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    if (__atomic_add_fetch(&pit_dpc_calls, 1, __ATOMIC_SEQ_CST) == 3)
        KeSetEvent(&pit_event, 0, FALSE);
}

static void pit_interrupt_reaches_connected_isr(void **state)
{
    KIRQL irql;
    KAFFINITY affinity;
    ULONG vector = HalGetInterruptVector(Isa, 0, 0, 0, &irql, &affinity);
    assert_int_equal(vector, X86_ISA_VECTOR_BASE + 0);
    assert_int_equal(irql, vector >> 4);
    pit_isr_calls = pit_dpc_calls = 0;
    KeInitializeDpc(&pit_dpc, pit_dpc_routine, NULL);
    KeInitializeEvent(&pit_event, NotificationEvent, FALSE);
    PKINTERRUPT intr = NULL;
    assert_int_equal(IoConnectInterrupt(&intr, pit_isr, NULL, NULL, vector, irql, irql, Latched, FALSE, affinity,
                                        FALSE),
                     STATUS_SUCCESS);
    pit_start_periodic(100);
    LARGE_INTEGER timeout = kt_ms(3000);
    NTSTATUS st = KeWaitForSingleObject(&pit_event, Executive, KernelMode, FALSE, &timeout);
    pit_stop();
    IoDisconnectInterrupt(intr);
    KeFlushQueuedDpcs();
    assert_int_equal(st, STATUS_SUCCESS);
    assert_true(pit_isr_calls >= 3);
    assert_true(pit_dpc_calls >= 3);
    assert_int_equal(pit_isr_irql, irql);
    /* Disconnected: the line is masked again, the ISR stays quiet. */
    LONG calls = pit_isr_calls;
    pit_start_periodic(1000);
    kt_sleep_ms(30);
    pit_stop();
    assert_int_equal(pit_isr_calls, calls);
    print_message("PIT: %d interrupts at vector 0x%x, IRQL %u\n", (int)calls, (unsigned)vector, (unsigned)irql);
}

/* ---- the trap frame is the documented KTRAP_FRAME ------------------------------------------------
 * A #UD (no error code: the stub's zero) and a #PF (the processor's error
 * code) are taken with marker values in rax and r12; the debug hook copies
 * the raw frame, checks it is ours by the markers, and resumes at the
 * address the code left in r13 with rax edited. The frame is then read at
 * the documented byte offsets, not through the structure. */

#define KTRAP_MARK_RAX 0x4B54524150524158ULL
#define KTRAP_MARK_R12 0x4B54524150523132ULL
#define KTRAP_EDITED_RAX 0x5245535432524158ULL

static UCHAR ktrap_copy[0x190] __attribute__((aligned(16)));
static KTRAP_EXTENSION ktrap_ext_copy;
static ULONG64 ktrap_frame_address;
static volatile LONG ktrap_hook_hits;

static BOOLEAN ktrap_hook(PKTRAP_FRAME Tf, PKTRAP_EXTENSION Ex)
{
    if (Tf->Rax != KTRAP_MARK_RAX || Ex->R12 != KTRAP_MARK_R12)
        return FALSE; /* somebody else's exception */
    RtlCopyMemory(ktrap_copy, Tf, sizeof(ktrap_copy));
    ktrap_ext_copy = *Ex;
    ktrap_frame_address = (ULONG64)(ULONG_PTR)Tf;
    Tf->Rax = KTRAP_EDITED_RAX;
    Tf->Rip = Ex->R13;
    __atomic_add_fetch(&ktrap_hook_hits, 1, __ATOMIC_SEQ_CST);
    return TRUE;
}

#define F64(off) (*(ULONG64 *)&ktrap_copy[off])
#define F32(off) (*(ULONG *)&ktrap_copy[off])
#define F16(off) (*(USHORT *)&ktrap_copy[off])
#define F8(off) (ktrap_copy[off])

static void check_common_frame(ULONG64 Vector, ULONG64 Rip, ULONG64 Rsp, ULONG64 Flags)
{
    USHORT cs, ss;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    assert_int_equal(ktrap_hook_hits, 1);
    assert_int_equal(ktrap_ext_copy.Vector, Vector);
    assert_int_equal(ktrap_ext_copy.R12, KTRAP_MARK_R12);
    /* The processor aligns RSP to 16 and pushes its frame; the KTRAP_FRAME
     * ends exactly there. */
    assert_int_equal(ktrap_frame_address & 15, 0);
    assert_int_equal(ktrap_frame_address + 0x190, Rsp & ~15ULL);
    assert_int_equal(F64(0x168), Rip);                  /* Rip */
    assert_int_equal(F16(0x170), cs);                   /* SegCs */
    assert_int_equal(F16(0x170), GDT_KERNEL_CODE);
    /* EFlags: as pushed before the fault, give or take RF (bit 16), which
     * processors set in the image of a fault. */
    assert_int_equal((F32(0x178) ^ (ULONG)Flags) & ~0x10000u, 0);
    assert_int_equal(F64(0x180), Rsp);                  /* Rsp */
    assert_int_equal(F16(0x188), ss);                   /* SegSs */
    assert_int_equal(F64(0x30), KTRAP_MARK_RAX);        /* Rax */
    assert_int_equal(F8(0x28), KernelMode);             /* PreviousMode */
    assert_int_equal(F8(0x29), PASSIVE_LEVEL);          /* PreviousIrql */
    assert_int_equal(F8(0x2B), 1);                      /* ExceptionActive */
}

static void invalid_opcode_frame_is_a_ktrap_frame(void **state)
{
    ULONG64 rip, rsp, flags, rax, r12, rbx = 0x5242585242585242ULL, rbx_out;
    ktrap_hook_hits = 0;
    x86_debug_trap_hook = ktrap_hook;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "lea 2f(%%rip), %%r13\n\t"
                     "mov %[mark12], %%r12\n\t"
                     "pushfq\n\t"
                     "pop %[flags]\n\t"
                     "mov %%rsp, %[rsp]\n"
                     "1:\tud2\n"
                     "2:\tmov %%r12, %[r12]\n\t"
                     : [rip] "=&r"(rip), [rsp] "=&r"(rsp), [flags] "=&r"(flags), [r12] "=&r"(r12), "=a"(rax),
                       "=b"(rbx_out)
                     : [mark12] "r"(KTRAP_MARK_R12), "a"(KTRAP_MARK_RAX), "b"(rbx)
                     : "r12", "r13", "memory", "cc");
    x86_debug_trap_hook = NULL;
    check_common_frame(6, rip, rsp, flags);
    assert_int_equal(*(USHORT *)(ULONG_PTR)rip, 0x0B0F); /* the ud2 */
    assert_int_equal(F64(0x160), 0);                     /* ErrorCode: the stub's zero */
    assert_int_equal(F64(0x140), rbx);                   /* Rbx */
    assert_int_equal(F64(0xD0), 0);                      /* FaultAddress: none */
    /* Resumed with the frame's edited rax and the extension's r12. */
    assert_int_equal(rax, KTRAP_EDITED_RAX);
    assert_int_equal(r12, KTRAP_MARK_R12);
    assert_int_equal(rbx_out, rbx);
}

static void page_fault_frame_has_error_code_and_address(void **state)
{
    ULONG64 rip, rsp, flags, rax, r12;
    volatile ULONG64 *target = (volatile ULONG64 *)(ULONG_PTR)&breakpoint_bugchecks; /* read-only text */
    ktrap_hook_hits = 0;
    x86_debug_trap_hook = ktrap_hook;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "lea 2f(%%rip), %%r13\n\t"
                     "mov %[mark12], %%r12\n\t"
                     "pushfq\n\t"
                     "pop %[flags]\n\t"
                     "mov %%rsp, %[rsp]\n"
                     "1:\tmov %%rax, (%[target])\n"
                     "2:\tmov %%r12, %[r12]\n\t"
                     : [rip] "=&r"(rip), [rsp] "=&r"(rsp), [flags] "=&r"(flags), [r12] "=&r"(r12), "=a"(rax)
                     : [mark12] "r"(KTRAP_MARK_R12), "a"(KTRAP_MARK_RAX), [target] "r"(target)
                     : "r12", "r13", "memory", "cc");
    x86_debug_trap_hook = NULL;
    check_common_frame(14, rip, rsp, flags);
    /* Present page, write, supervisor: the processor's error code 3. */
    assert_int_equal(F64(0x160), 3);
    assert_int_equal(F64(0xD0), (ULONG64)(ULONG_PTR)target); /* FaultAddress (CR2) */
    assert_int_equal(rax, KTRAP_EDITED_RAX);
    assert_int_equal(r12, KTRAP_MARK_R12);
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
    cmocka_unit_test(kuser_shared_data_is_mapped_at_fixed_address),
    cmocka_unit_test(kuser_shared_data_is_read_only),
    cmocka_unit_test(fpu_state_survives_preemption),
    cmocka_unit_test(pit_interrupt_reaches_connected_isr),
    cmocka_unit_test(invalid_opcode_frame_is_a_ktrap_frame),
    cmocka_unit_test(page_fault_frame_has_error_code_and_address),
    cmocka_unit_test(forced_failure),
};

NTOS_TEST_GROUP(x86, x86_tests, NULL, NULL);
