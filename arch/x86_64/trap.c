/*
 * The IDT and trap dispatch: exceptions bug-check with the documented code
 * and the trap details; interrupts run their kernel upcall at the vector's
 * IRQL (vector >> 4).
 *
 * Interrupt protocol (see arch.h): save the IRQL (CR8, in the trap frame's
 * PreviousIrql), raise to the vector's level, send the EOI (before the
 * upcall, so a context switch out of the interrupt path leaves no interrupt
 * in service: CR8 alone keeps equal and lower levels out), enable
 * interrupts, run the upcall, then lower back to PreviousIrql, which
 * delivers pending software interrupts (the DISPATCH_LEVEL one is where the
 * scheduler switches threads), and return.
 *
 * Trap frames are the Windows x64 KTRAP_FRAME (include/ntos/ktrap.h), with the
 * vector and r12-r15 in the KTRAP_EXTENSION the entry path pushes below it.
 *
 * Kernel-mode exceptions (no user mode exists yet): #DE, #BP, #UD, #GP and
 * #PF below DISPATCH_LEVEL are first dispatched to the frame-based handlers
 * (an EXCEPTION_RECORD and CONTEXT built from the trap frame, handed to
 * RtlDispatchException, the first chance of KiDispatchException): a driver's
 * __except catches them; a handler that continues execution resumes the
 * edited context. Unhandled, they stop as before:
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
#include <ntos/seh.h>

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

static DECLSPEC_NORETURN void kernel_exception(PKTRAP_FRAME Tf, PKTRAP_EXTENSION Ex)
{
    ULONG64 vector = Ex->Vector;
    ULONG64 cr2 = Tf->FaultAddress;
    KIRQL irql = arch_get_irql();
    x86_print("\n*** kernel-mode exception %llu (%s) on processor %u at IRQL %u\n", vector,
              exception_name(vector), KeGetCurrentProcessorIndex(), irql);
    x86_print("RIP %016llx  error code %llx  faulting address %016llx  trap frame %016llx\n", Tf->Rip, Tf->ErrorCode,
              cr2, (ULONG64)(ULONG_PTR)Tf);
    x86_print("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", Tf->Rax, Tf->Rbx, Tf->Rcx, Tf->Rdx);
    x86_print("RSI %016llx RDI %016llx RBP %016llx RSP %016llx\n", Tf->Rsi, Tf->Rdi, Tf->Rbp, Tf->Rsp);
    x86_print("R8  %016llx R9  %016llx R10 %016llx R11 %016llx\n", Tf->R8, Tf->R9, Tf->R10, Tf->R11);
    x86_print("R12 %016llx R13 %016llx R14 %016llx R15 %016llx\n", Ex->R12, Ex->R13, Ex->R14, Ex->R15);
    x86_print("RFLAGS %x CS %x SS %x DS %x ES %x FS %x GS %x\n", Tf->EFlags, Tf->SegCs, Tf->SegSs, Tf->SegDs,
              Tf->SegEs, Tf->SegFs, Tf->SegGs);
    x86_backtrace(Tf->Rip, Tf->Rbp);
    switch (vector) {
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
        KeBugCheckEx(UNEXPECTED_KERNEL_MODE_TRAP, vector, Tf->ErrorCode, Tf->Rip, 0);
    }
}

/*
 * First-chance dispatch of a processor exception. Interrupts are enabled
 * during the dispatch if the faulting code had them enabled (handlers may
 * take locks and wait at PASSIVE_LEVEL as the faulting code could). Returns
 * TRUE when a handler continued execution (the trap frame then holds the
 * context to resume); a handler that unwinds never returns here: the trap's
 * frames are abandoned and the target frame resumes (RtlRestoreContext).
 */
static BOOLEAN dispatch_exception(PKTRAP_FRAME Tf, PKTRAP_EXTENSION Ex, NTSTATUS Code, ULONG64 Rip, ULONG Count, ULONG_PTR P0,
                                  ULONG_PTR P1)
{
    EXCEPTION_RECORD rec;
    CONTEXT ctx;
    RtlZeroMemory(&rec, sizeof(rec));
    RtlZeroMemory(&ctx, sizeof(ctx));
    rec.ExceptionCode = Code;
    rec.ExceptionAddress = (PVOID)Rip;
    rec.NumberParameters = Count;
    rec.ExceptionInformation[0] = P0;
    rec.ExceptionInformation[1] = P1;
    ctx.ContextFlags = CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS;
    ctx.Rax = Tf->Rax, ctx.Rbx = Tf->Rbx, ctx.Rcx = Tf->Rcx, ctx.Rdx = Tf->Rdx;
    ctx.Rsi = Tf->Rsi, ctx.Rdi = Tf->Rdi, ctx.Rbp = Tf->Rbp, ctx.Rsp = Tf->Rsp;
    ctx.R8 = Tf->R8, ctx.R9 = Tf->R9, ctx.R10 = Tf->R10, ctx.R11 = Tf->R11;
    ctx.R12 = Ex->R12, ctx.R13 = Ex->R13, ctx.R14 = Ex->R14, ctx.R15 = Ex->R15;
    ctx.Rip = Rip;
    ctx.EFlags = Tf->EFlags;
    ctx.SegCs = Tf->SegCs;
    ctx.SegSs = Tf->SegSs;
    ctx.SegDs = Tf->SegDs, ctx.SegEs = Tf->SegEs, ctx.SegFs = Tf->SegFs, ctx.SegGs = Tf->SegGs;
    if (Tf->EFlags & 0x200)
        sti();
    BOOLEAN handled = RtlDispatchException(&rec, &ctx);
    cli();
    if (!handled)
        return FALSE;
    Tf->Rax = ctx.Rax, Tf->Rbx = ctx.Rbx, Tf->Rcx = ctx.Rcx, Tf->Rdx = ctx.Rdx;
    Tf->Rsi = ctx.Rsi, Tf->Rdi = ctx.Rdi, Tf->Rbp = ctx.Rbp, Tf->Rsp = ctx.Rsp;
    Tf->R8 = ctx.R8, Tf->R9 = ctx.R9, Tf->R10 = ctx.R10, Tf->R11 = ctx.R11;
    Ex->R12 = ctx.R12, Ex->R13 = ctx.R13, Ex->R14 = ctx.R14, Ex->R15 = ctx.R15;
    Tf->Rip = ctx.Rip;
    /* Arithmetic flags and DF from the context; IF, TF, IOPL as they were. */
    Tf->EFlags = (Tf->EFlags & ~0xCD5u) | (ctx.EFlags & 0xCD5);
    return TRUE;
}

/* The exceptions a kernel-mode handler may catch; FALSE when unhandled. */
static BOOLEAN dispatch_kernel_exception(PKTRAP_FRAME Tf, PKTRAP_EXTENSION Ex)
{
    switch (Ex->Vector) {
    case 0:
        return dispatch_exception(Tf, Ex, STATUS_INTEGER_DIVIDE_BY_ZERO, Tf->Rip, 0, 0, 0);
    case 3:
        /* int3 leaves RIP after itself; the exception is at the int3. */
        return dispatch_exception(Tf, Ex, STATUS_BREAKPOINT, Tf->Rip - 1, 1, 0, 0);
    case 6:
        return dispatch_exception(Tf, Ex, STATUS_ILLEGAL_INSTRUCTION, Tf->Rip, 0, 0, 0);
    case 13:
        /* No faulting address is known for #GP: -1, as Windows reports. */
        return dispatch_exception(Tf, Ex, STATUS_ACCESS_VIOLATION, Tf->Rip, 2, 0, (ULONG_PTR)-1);
    case 14:
        /* At DISPATCH_LEVEL or above a page fault is IRQL_NOT_LESS_OR_EQUAL
         * before any handler could run. Parameters: 0 read, 1 write, 8 execute. */
        if (arch_get_irql() >= DISPATCH_LEVEL)
            return FALSE;
        return dispatch_exception(Tf, Ex, STATUS_ACCESS_VIOLATION, Tf->Rip, 2,
                                  (Tf->ErrorCode & 0x10) ? 8 : (Tf->ErrorCode & 2) ? 1 : 0, Tf->FaultAddress);
    default:
        return FALSE;
    }
}

static inline ULONG64 read_cr8(void) { ULONG64 v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void write_cr8(ULONG64 v) { __asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }

X86_DEBUG_TRAP_HOOK volatile x86_debug_trap_hook;

/*
 * Called by trap.S with the KTRAP_FRAME and the extension below it. The
 * stub zeroed PreviousMode..MxCsr, FaultAddress and TrapFrame; the fields
 * that apply are filled here before anything looks at the frame.
 */
void x86_trap_dispatch(PKTRAP_FRAME Tf, PKTRAP_EXTENSION Ex)
{
    ULONG64 vector = Ex->Vector;
    Tf->PreviousMode = (Tf->SegCs & 3) ? UserMode : KernelMode;
    Tf->PreviousIrql = (KIRQL)read_cr8();
    /* Software interrupts first: 0x1F is also exception slot 31 (see x86.h). */
    if (vector == VECTOR_APC || vector == VECTOR_DPC) {
        x86_software_interrupt((ULONG)vector, Tf->PreviousIrql);
        return;
    }
    if (vector < 32) {
        Tf->ExceptionActive = 1;
        if (vector == 14)
            Tf->FaultAddress = read_cr2();
        X86_DEBUG_TRAP_HOOK hook = x86_debug_trap_hook;
        if (hook != NULL && hook(Tf, Ex))
            return;
        if (dispatch_kernel_exception(Tf, Ex))
            return;
        kernel_exception(Tf, Ex);
    }
    if (vector == VECTOR_SPURIOUS)
        return; /* no EOI for the spurious vector */
    KIRQL saved = Tf->PreviousIrql;
    KIRQL level = (KIRQL)(vector >> 4);
    write_cr8(level);
    __asm__ volatile("movb %0, %%gs:0x50" : : "q"(level) : "memory");
    x86_apic_eoi();
    sti();
    switch (vector) {
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
        if (vector >= X86_ISA_VECTOR_BASE && vector < X86_ISA_VECTOR_BASE + 16)
            KiDeviceInterrupt((ULONG)vector);
        /* VECTOR_WAKE: ending hlt was the point */
        break;
    }
    x86_interrupt_exit(saved);
}
