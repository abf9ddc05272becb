/*
 * The IDT and trap dispatch: exceptions bug-check with the documented code
 * and the trap details; interrupts run their kernel upcall at the vector's
 * IRQL (vector >> 4).
 *
 * Interrupt protocol (see arch.h): save the IRQL (CR8), raise to the
 * vector's level, send the EOI (before the upcall, so a context switch out
 * of the interrupt path leaves no interrupt in service: CR8 alone keeps
 * equal and lower levels out), enable interrupts, run the upcall, then lower
 * back, which delivers pending software interrupts (the DISPATCH_LEVEL one
 * is where the scheduler switches threads), and return.
 *
 * Kernel-mode exceptions (no user mode exists yet):
 *   #DE, #DB, #BP, #UD, #GP  KMODE_EXCEPTION_NOT_HANDLED (status, RIP, 0 or
 *                            error code, 0; -1 as address for #GP)
 *   #PF                      IRQL_NOT_LESS_OR_EQUAL (address, IRQL, flags,
 *                            RIP) at DISPATCH_LEVEL or above, else
 *                            PAGE_FAULT_IN_NONPAGED_AREA (address, 0 read /
 *                            2 write / 10 execute, RIP, error code)
 *   #DF, NMI, #MC, others    UNEXPECTED_KERNEL_MODE_TRAP (vector, error
 *                            code, RIP, 0); #DF, NMI and #MC run on their
 *                            own IST stacks
 * Before bug-checking, the trap frame and a backtrace symbolised from the
 * image's symbol table are printed on the console.
 */
#include "x86.h"

typedef struct __attribute__((packed)) _X86_IDT_ENTRY {
    USHORT OffsetLow;
    USHORT Selector;
    UCHAR Ist;
    UCHAR Type;
    USHORT OffsetMiddle;
    ULONG OffsetHigh;
    ULONG Reserved;
} X86_IDT_ENTRY;

static X86_IDT_ENTRY x86_idt[256] __attribute__((aligned(16)));

#define STUB(v) extern char x86_trap_stub_##v[];
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7) STUB(8) STUB(9) STUB(10) STUB(11)
STUB(12) STUB(13) STUB(14) STUB(15) STUB(16) STUB(17) STUB(18) STUB(19) STUB(20) STUB(21) STUB(22)
STUB(23) STUB(24) STUB(25) STUB(26) STUB(27) STUB(28) STUB(29) STUB(30) STUB(31)
STUB(0x2F) STUB(0xD1) STUB(0xE1) STUB(0xE2) STUB(0xE3) STUB(0xFF)

static void set_gate(ULONG Vector, void *Handler, UCHAR Ist)
{
    ULONG64 a = (ULONG64)(ULONG_PTR)Handler;
    x86_idt[Vector] = (X86_IDT_ENTRY){(USHORT)a, GDT_KERNEL_CODE, Ist, 0x8E /* present, interrupt gate */,
                                      (USHORT)(a >> 16), (ULONG)(a >> 32), 0};
}

void x86_idt_init(void)
{
    void *stubs[32] = {x86_trap_stub_0, x86_trap_stub_1, x86_trap_stub_2, x86_trap_stub_3, x86_trap_stub_4,
                       x86_trap_stub_5, x86_trap_stub_6, x86_trap_stub_7, x86_trap_stub_8, x86_trap_stub_9,
                       x86_trap_stub_10, x86_trap_stub_11, x86_trap_stub_12, x86_trap_stub_13, x86_trap_stub_14,
                       x86_trap_stub_15, x86_trap_stub_16, x86_trap_stub_17, x86_trap_stub_18, x86_trap_stub_19,
                       x86_trap_stub_20, x86_trap_stub_21, x86_trap_stub_22, x86_trap_stub_23, x86_trap_stub_24,
                       x86_trap_stub_25, x86_trap_stub_26, x86_trap_stub_27, x86_trap_stub_28, x86_trap_stub_29,
                       x86_trap_stub_30, x86_trap_stub_31};
    for (ULONG v = 0; v < 32; v++)
        set_gate(v, stubs[v], v == 8 ? 1 : v == 2 ? 2 : v == 18 ? 3 : 0);
    set_gate(VECTOR_DPC, x86_trap_stub_0x2F, 0);
    set_gate(VECTOR_CLOCK, x86_trap_stub_0xD1, 0);
    set_gate(VECTOR_IPI, x86_trap_stub_0xE1, 0);
    set_gate(VECTOR_WAKE, x86_trap_stub_0xE2, 0);
    set_gate(VECTOR_TLB, x86_trap_stub_0xE3, 0);
    set_gate(VECTOR_SPURIOUS, x86_trap_stub_0xFF, 0);
    extern void *const x86_isa_stubs[16];
    for (ULONG i = 0; i < 16; i++)
        set_gate(X86_ISA_VECTOR_BASE + i, x86_isa_stubs[i], 0);
}

void x86_idt_load(void)
{
    struct __attribute__((packed)) { USHORT Limit; ULONG64 Base; } d = {sizeof(x86_idt) - 1, (ULONG64)(ULONG_PTR)x86_idt};
    __asm__ volatile("lidt %0" : : "m"(d));
}

PVOID x86_idt_base(void)
{
    return x86_idt;
}

/* ---- symbols and backtraces ----------------------------------------------------------------------
 * The image carries its own function symbols in .ksyms (generated from the
 * first link by tools/gen-ksyms and linked into the final image): a count,
 * then (address, name offset) pairs sorted by address, then the names. */

typedef struct { ULONG64 Address; ULONG64 NameOffset; } KSYM;
extern const ULONG64 x86_ksyms[] __attribute__((weak));

const char *x86_symbol_name(ULONG64 Address, ULONG64 *Offset)
{
    if (x86_ksyms == NULL || x86_ksyms[0] == 0)
        return NULL;
    ULONG64 count = x86_ksyms[0];
    const KSYM *syms = (const KSYM *)&x86_ksyms[1];
    const char *names = (const char *)&syms[count];
    ULONG64 lo = 0, hi = count;
    while (lo < hi) {
        ULONG64 mid = (lo + hi) / 2;
        if (syms[mid].Address <= Address)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    *Offset = Address - syms[lo - 1].Address;
    return names + syms[lo - 1].NameOffset;
}

static void print_address(ULONG64 Address)
{
    ULONG64 off = 0;
    const char *name = x86_symbol_name(Address, &off);
    if (name)
        x86_print("  %016llx %s+0x%llx\n", Address, name, off);
    else
        x86_print("  %016llx\n", Address);
}

static BOOLEAN readable_kernel_address(ULONG64 Va)
{
    /* Frames live on kernel stacks (slot 508) or the boot stack in the image. */
    return (Va >= STACK_VA_BASE && Va < STACK_VA_BASE + (1ULL << 39)) || Va >= KERNEL_VMA;
}

void x86_backtrace(ULONG64 Rip, ULONG64 Rbp)
{
    x86_print("Backtrace:\n");
    print_address(Rip);
    for (int depth = 0; depth < 32 && Rbp && !(Rbp & 7) && readable_kernel_address(Rbp); depth++) {
        ULONG64 *frame = (ULONG64 *)(ULONG_PTR)Rbp;
        if (frame[1] == 0)
            break;
        print_address(frame[1] - 1);
        if (frame[0] <= Rbp)
            break;
        Rbp = frame[0];
    }
}

/* ---- dispatch -------------------------------------------------------------------------------------- */

static const char *exception_name(ULONG64 v)
{
    static const char *names[32] = {"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
                                    "#BR bound", "#UD invalid opcode", "#NM no FPU", "#DF double fault", "",
                                    "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
                                    "#GP general protection", "#PF page fault", "", "#MF x87 error",
                                    "#AC alignment check", "#MC machine check", "#XM SIMD error",
                                    "#VE virtualization", "#CP control protection"};
    return v < 32 && names[v] ? names[v] : "reserved";
}

static DECLSPEC_NORETURN void kernel_exception(PKTRAP_FRAME Tf)
{
    ULONG64 cr2 = Tf->Vector == 14 ? read_cr2() : 0;
    KIRQL irql = arch_get_irql();
    x86_print("\n*** kernel-mode exception %llu (%s) on processor %u at IRQL %u\n", Tf->Vector,
              exception_name(Tf->Vector), KeGetCurrentProcessorIndex(), irql);
    x86_print("RIP %016llx  error code %llx  faulting address %016llx\n", Tf->Rip, Tf->ErrorCode, cr2);
    x86_print("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", Tf->Rax, Tf->Rbx, Tf->Rcx, Tf->Rdx);
    x86_print("RSI %016llx RDI %016llx RBP %016llx RSP %016llx\n", Tf->Rsi, Tf->Rdi, Tf->Rbp, Tf->Rsp);
    x86_print("R8  %016llx R9  %016llx R10 %016llx R11 %016llx\n", Tf->R8, Tf->R9, Tf->R10, Tf->R11);
    x86_print("R12 %016llx R13 %016llx R14 %016llx R15 %016llx\n", Tf->R12, Tf->R13, Tf->R14, Tf->R15);
    x86_print("RFLAGS %llx CS %llx SS %llx\n", Tf->EFlags, Tf->SegCs, Tf->SegSs);
    x86_backtrace(Tf->Rip, Tf->Rbp);
    switch (Tf->Vector) {
    case 0:
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_INTEGER_DIVIDE_BY_ZERO, Tf->Rip, 0, 0);
    case 1:
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_SINGLE_STEP, Tf->Rip, 0, 0);
    case 3:
        /* int3 leaves RIP after itself; the exception address is the int3. */
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_BREAKPOINT, Tf->Rip - 1, 0, 0);
    case 6:
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_ILLEGAL_INSTRUCTION, Tf->Rip, 0, 0);
    case 13:
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_ACCESS_VIOLATION, Tf->Rip, 0, (ULONG_PTR)-1);
    case 14: {
        BOOLEAN write = (Tf->ErrorCode & 2) != 0, exec = (Tf->ErrorCode & 0x10) != 0;
        if (irql >= DISPATCH_LEVEL)
            KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, cr2, irql, (write ? 1 : 0) | (exec ? 8 : 0), Tf->Rip);
        KeBugCheckEx(PAGE_FAULT_IN_NONPAGED_AREA, cr2, exec ? 10 : write ? 2 : 0, Tf->Rip, Tf->ErrorCode);
    }
    default:
        KeBugCheckEx(UNEXPECTED_KERNEL_MODE_TRAP, Tf->Vector, Tf->ErrorCode, Tf->Rip, 0);
    }
}

static inline ULONG64 read_cr8(void) { ULONG64 v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void write_cr8(ULONG64 v) { __asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }

void x86_trap_dispatch(PKTRAP_FRAME Tf)
{
    /* Software interrupts first: 0x1F is also exception slot 31 (see x86.h). */
    if (Tf->Vector == VECTOR_APC || Tf->Vector == VECTOR_DPC) {
        x86_software_interrupt((ULONG)Tf->Vector);
        return;
    }
    if (Tf->Vector < 32)
        kernel_exception(Tf);
    if (Tf->Vector == VECTOR_SPURIOUS)
        return; /* no EOI for the spurious vector */
    KIRQL saved = (KIRQL)read_cr8();
    KIRQL level = (KIRQL)(Tf->Vector >> 4);
    write_cr8(level);
    __asm__ volatile("movb %0, %%gs:0x50" : : "q"(level) : "memory");
    x86_apic_eoi();
    sti();
    switch (Tf->Vector) {
    case VECTOR_CLOCK:
        x86_cpus[KeGetCurrentProcessorIndex()].ClockTicks++;
        KiClockInterrupt();
        break;
    case VECTOR_IPI: {
        ULONG kinds = __atomic_exchange_n(PCR_IPI_KINDS(KeGetPcr()), 0, __ATOMIC_ACQ_REL);
        if (kinds)
            KiIpiInterrupt(kinds);
        break;
    }
    case VECTOR_TLB:
        x86_tlb_shootdown_handler();
        break;
    default:
        if (Tf->Vector >= X86_ISA_VECTOR_BASE && Tf->Vector < X86_ISA_VECTOR_BASE + 16)
            KiDeviceInterrupt((ULONG)Tf->Vector);
        /* VECTOR_WAKE: ending hlt was the point */
        break;
    }
    x86_interrupt_exit(saved);
}
