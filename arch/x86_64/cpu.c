/*
 * Bare-metal processors: per-processor GDT, TSS and KPCR, IRQL as CR8, the
 * interrupt flag, software interrupts and IPIs, idle, exit.
 *
 * IRQL: CR8 is the IRQL (the local APIC's task priority: it masks every
 * vector whose class, vector >> 4, is not above it), and CR8 alone: driver
 * code built with the WDK raises and lowers with an inline `mov cr8` that
 * no kernel code sees, so every IRQL read here is a `mov reg, cr8`.
 * KPCR.Irql (gs:[0x50]) is still written after each change the kernel makes
 * (one byte store) for readers that want the documented field, but it is a
 * mirror that driver-inline changes leave stale; the kernel never decides
 * anything on it.
 *
 * Software interrupts (APC_LEVEL, DISPATCH_LEVEL) are local APIC self-IPIs at
 * vectors 0x1F and 0x2F, whose priority classes (1 and 2) are the levels, as
 * on Windows: the APIC holds them in its IRR while CR8 masks them and
 * delivers them as soon as CR8 drops below the class with interrupts
 * enabled, so a driver's inline `mov cr8` lowering gets its pending DPC from
 * the hardware. Requests are also recorded as pending bits in
 * KPCR.HalReserved[0] (gs:[0xC0]), set and cleared by this processor only,
 * with single GS-relative locked instructions; bit 0 of the same word is the
 * wake flag, which other processors set with a locked OR (arch_wake) before
 * their wake-up IPI. The bits are what cancelling needs: an IPI cannot be
 * withdrawn from the IRR, so arch_clear_software_interrupt clears the bit and
 * the handler ignores a delivery whose bit is clear. Invariant: while a bit
 * is set, its IPI is in the IRR or being delivered, so a request that finds
 * the bit set sends nothing.
 *
 * GS: all code runs in ring 0 today, so GS base is always the KPCR and no
 * entry path swaps it (swapgs comes with user mode).
 */
#include "x86.h"

X86_CPU x86_cpus[ARCH_MAX_CPUS];
ULONG x86_cpu_count = 1;
BOOLEAN x86_has_smep, x86_has_smap;

/* Extended processor state saved on a thread switch (trap.S
 * x86_switch_stacks): XSAVE with XCR0 = x87 | SSE | AVX (where present)
 * when the processor has XSAVE and the command line does not say
 * "noxsave", else FXSAVE (x87 + SSE). The area size is CPUID leaf 0xD's
 * EBX for the enabled XCR0 (the standard, uncompacted form), 64-byte
 * rounded; every processor gets the same XCR0, so one size serves all.
 * Set on processor 0 before any thread exists; read-only afterwards. */
#define XCR0_X87 0x1ULL
#define XCR0_SSE 0x2ULL
#define XCR0_AVX 0x4ULL
BOOLEAN x86_fpu_xsave;
ULONG64 x86_fpu_xcr0;
ULONG64 x86_fpu_area_bytes = 512;

typedef struct __attribute__((packed)) _X86_TSS {
    ULONG Reserved0;
    ULONG64 Rsp[3];
    ULONG64 Reserved1;
    ULONG64 Ist[7];
    ULONG64 Reserved2;
    USHORT Reserved3;
    USHORT IoMapBase;
} X86_TSS;
_Static_assert(sizeof(X86_TSS) == 104, "hardware TSS layout");

/* NT x64 selectors: 0x10 kernel code, 0x18 kernel data, 0x20 user32 code,
 * 0x28 user data, 0x30 user64 code, 0x40 TSS (two slots), 0x50 user32 TEB. */
typedef struct _X86_PERCPU {
    ULONG64 Gdt[11] __attribute__((aligned(16)));
    X86_TSS Tss __attribute__((aligned(16)));
} X86_PERCPU;

static KPCR x86_pcrs[ARCH_MAX_CPUS] __attribute__((aligned(4096)));
static X86_PERCPU x86_percpu[ARCH_MAX_CPUS];

#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3

static inline void write_cr8(ULONG64 v) { __asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }
static inline ULONG64 read_cr8(void) { ULONG64 v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void set_pcr_irql(KIRQL v) { __asm__ volatile("movb %0, %%gs:0x50" : : "q"(v) : "memory"); }

static void load_gdt(X86_PERCPU *p)
{
    struct __attribute__((packed)) { USHORT Limit; ULONG64 Base; } d = {sizeof(p->Gdt) - 1, (ULONG64)(ULONG_PTR)p->Gdt};
    __asm__ volatile("lgdt %0" : : "m"(d));
    /* Reload CS through a far return, the data selectors, and the TSS. */
    __asm__ volatile("pushq $0x10\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw $0x18, %%ax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%ss\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movw %%ax, %%fs\n\t"
                     "movw %%ax, %%gs\n\t"
                     : : : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
}

static ULONG64 ist_stack(void)
{
    ULONG_PTR low, high;
    ULONG slot;
    if (!x86_stack_allocate(16384, &low, &high, &slot)) {
        x86_print("ntos: no stack for an IST\n");
        arch_system_exit(2);
    }
    return high;
}

/* Per-processor architectural state: GDT/TSS, IDT, control registers, PAT,
 * KPCR and GS base. Interrupts disabled; CR8 = HIGH_LEVEL on return. */
void x86_cpu_init(ULONG Number)
{
    X86_PERCPU *p = &x86_percpu[Number];
    PKPCR pcr = &x86_pcrs[Number];
    p->Gdt[0] = 0;
    p->Gdt[1] = 0;
    p->Gdt[GDT_KERNEL_CODE / 8] = 0x00AF9A000000FFFFULL;
    p->Gdt[GDT_KERNEL_DATA / 8] = 0x00CF92000000FFFFULL;
    p->Gdt[GDT_USER32_CODE / 8] = 0x00CFFA000000FFFFULL;
    p->Gdt[GDT_USER_DATA / 8] = 0x00CFF2000000FFFFULL;
    p->Gdt[GDT_USER64_CODE / 8] = 0x00AFFA000000FFFFULL;
    p->Gdt[7] = 0;
    ULONG64 tss = (ULONG64)(ULONG_PTR)&p->Tss;
    ULONG64 limit = sizeof(X86_TSS) - 1;
    p->Gdt[GDT_TSS / 8] = (limit & 0xFFFF) | ((tss & 0xFFFFFF) << 16) | (0x89ULL << 40) |
                          (((limit >> 16) & 0xF) << 48) | (((tss >> 24) & 0xFF) << 56);
    p->Gdt[GDT_TSS / 8 + 1] = tss >> 32;
    p->Gdt[10] = 0x0040F20000003C00ULL; /* user32 TEB data: base set per thread later */
    p->Tss.IoMapBase = sizeof(X86_TSS);
    p->Tss.Ist[IST_DOUBLE_FAULT - 1] = ist_stack();
    p->Tss.Ist[IST_NMI - 1] = ist_stack();
    p->Tss.Ist[IST_MACHINE_CHECK - 1] = ist_stack();
    load_gdt(p);
    x86_idt_load();

    /* CR0: FPU present and native errors (MP, NE), no emulation; CR4:
     * FXSAVE and SSE exceptions, SMEP/SMAP where the processor has them. */
    write_cr0((read_cr0() & ~0x4ULL) | 0x2ULL | 0x20ULL);
    ULONG64 cr4 = read_cr4() | (1ULL << 9) | (1ULL << 10);
    if (x86_has_smep)
        cr4 |= 1ULL << 20;
    if (x86_has_smap)
        cr4 |= 1ULL << 21;
    if (x86_fpu_xsave)
        cr4 |= 1ULL << 18; /* OSXSAVE: XSAVE/XRSTOR/XSETBV usable */
    write_cr4(cr4);
    if (x86_fpu_xsave) {
        __asm__ volatile("xsetbv" : : "c"(0), "a"((ULONG)x86_fpu_xcr0), "d"((ULONG)(x86_fpu_xcr0 >> 32)));
        if (Number == 0) {
            ULONG a, b, c, d;
            cpuid(0xD, 0, &a, &b, &c, &d);
            x86_fpu_area_bytes = ((ULONG64)b + 63) & ~63ULL;
        }
    }
    __asm__ volatile("fninit");
    ULONG mxcsr = 0x1F80;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    /* PAT entry 1 = write-combining (Mm's PWT-only encoding), the rest the
     * power-on defaults: WB, WC, UC-, UC, repeated. */
    wrmsr(MSR_PAT, 0x0007010600070106ULL);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 0x800); /* NXE (the shim set it on processor 0) */

    RtlZeroMemory(pcr, sizeof(*pcr));
    pcr->Self = pcr;
    pcr->CurrentPrcb = &pcr->Prcb;
    pcr->GdtBase = p->Gdt;
    pcr->TssBase = &p->Tss;
    pcr->IdtBase = x86_idt_base();
    pcr->Irql = HIGH_LEVEL;
    pcr->MajorVersion = 1;
    pcr->MinorVersion = 1;
    pcr->Prcb.LegacyNumber = (UCHAR)Number;
    pcr->Prcb.Number = Number;
    pcr->Prcb.ArchPrivate = &x86_cpus[Number];
    x86_cpus[Number].Number = Number;
    x86_cpus[Number].Pcr = pcr;
    wrmsr(MSR_GS_BASE, (ULONG64)(ULONG_PTR)pcr);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    write_cr8(HIGH_LEVEL);
}

void x86_cpu_features(void)
{
    ULONG a, b, c, d;
    cpuid(0, 0, &a, &b, &c, &d);
    ULONG max_leaf = a;
    cpuid(1, 0, &a, &b, &c, &d);
    BOOLEAN xsave = (c >> 26) & 1, avx = (c >> 28) & 1;
    if (xsave && max_leaf >= 0xD && !x86_cmdline_flag("noxsave")) {
        ULONG supported, b2, c2, d2;
        cpuid(0xD, 0, &supported, &b2, &c2, &d2);
        x86_fpu_xcr0 = (XCR0_X87 | XCR0_SSE | (avx ? XCR0_AVX : 0)) & supported;
        x86_fpu_xsave = (x86_fpu_xcr0 & (XCR0_X87 | XCR0_SSE)) == (XCR0_X87 | XCR0_SSE);
    }
    if (max_leaf >= 7) {
        cpuid(7, 0, &a, &b, &c, &d);
        x86_has_smep = (b >> 7) & 1;
        x86_has_smap = (b >> 20) & 1;
    }
}

/* ---- processors ------------------------------------------------------------------------------ */

ULONG arch_processor_count(void)
{
    return x86_cpu_count;
}

PKPCR arch_processor_pcr(ULONG Number)
{
    return Number < x86_cpu_count ? &x86_pcrs[Number] : NULL;
}

void arch_processor_ready(void)
{
    __atomic_store_n(&x86_cpus[KeGetCurrentProcessorIndex()].Started, 1, __ATOMIC_RELEASE);
}

/* ---- IRQL -------------------------------------------------------------------------------------- */

KIRQL arch_get_irql(void)
{
    return (KIRQL)read_cr8();
}

/* The pending word of the processor this runs on, changed with one
 * GS-relative locked instruction: a thread that reads the KPCR's address and
 * then writes through it can be preempted and moved in between (interrupts
 * are asynchronous here), and would set or clear another processor's bit. */
static inline void pending_and(ULONG Bits)
{
    __asm__ volatile("lock andl %0, %%gs:0xC0" : : "r"(Bits) : "memory");
}

static inline ULONG pending_read(void)
{
    ULONG v;
    __asm__ volatile("movl %%gs:0xC0, %0" : "=r"(v) : : "memory");
    return v;
}

/* Clears bit Level of this processor's pending word; TRUE if it was set. */
static inline BOOLEAN pending_test_and_clear(ULONG Level)
{
    BOOLEAN was;
    __asm__ volatile("lock btrl %1, %%gs:0xC0" : "=@ccc"(was) : "r"(Level) : "memory");
    return was;
}

static inline BOOLEAN pending_test_and_set(ULONG Level)
{
    BOOLEAN was;
    __asm__ volatile("lock btsl %1, %%gs:0xC0" : "=@ccc"(was) : "r"(Level) : "memory");
    return was;
}

/* Lowering lets the APIC deliver whatever CR8 no longer masks (pending
 * software interrupts included) at the next instruction boundary, when
 * interrupts are enabled; nothing to do in software. */
void arch_set_irql(KIRQL NewIrql)
{
    write_cr8(NewIrql);
    set_pcr_irql(NewIrql);
}

/* End of an interrupt: interrupts off, back to the interrupted IRQL. The
 * iretq that follows re-enables interrupts, and anything the restored CR8 no
 * longer masks arrives then, in a fresh frame, so pending interrupts do not
 * nest on top of this one. */
void x86_interrupt_exit(KIRQL Saved)
{
    cli();
    write_cr8(Saved);
    set_pcr_irql(Saved);
}

/* The APC (0x1F) and DISPATCH (0x2F) vectors, from x86_trap_dispatch with
 * the IRQL the trap frame recorded (PreviousIrql). The APIC delivered it, so
 * CR8 was below the level: raise to it, EOI, and run the upcall unless the
 * request was cancelled meanwhile. The upcall may switch threads; the
 * interrupted thread finishes this frame when it runs again, on whatever
 * processor, and restores its own saved IRQL there. */
void x86_software_interrupt(ULONG Vector, KIRQL Saved)
{
    KIRQL level = (KIRQL)(Vector >> 4);
    KIRQL saved = Saved;
    write_cr8(level);
    set_pcr_irql(level);
    x86_apic_eoi();
    if (pending_test_and_clear(level)) {
        sti();
        KiSoftwareInterrupt(level);
    }
    x86_interrupt_exit(saved);
}

/* ---- interrupt flag ------------------------------------------------------------------------------ */

ULONG_PTR arch_disable_interrupts(void)
{
    ULONG64 flags = read_flags();
    cli();
    return (flags & 0x200) != 0;
}

void arch_restore_interrupts(ULONG_PTR State)
{
    if (State)
        sti();
    else
        cli();
}

/* The APIC delivers what was held back at the next instruction boundary. */
void arch_enable_interrupts(void)
{
    sti();
}

BOOLEAN arch_interrupts_enabled(void)
{
    return (read_flags() & 0x200) != 0;
}

/* ---- software interrupts and IPIs ------------------------------------------------------------------ */

/* Interrupts are off between setting the bit and sending the IPI, so both
 * happen on the same processor (a preemption in between would leave the bit
 * set here with the IPI sent elsewhere, and the request lost). */
void arch_request_software_interrupt(KIRQL Level)
{
    ULONG64 flags = read_flags();
    cli();
    if (!pending_test_and_set(Level))
        x86_apic_send_self(Level == APC_LEVEL ? VECTOR_APC : VECTOR_DPC);
    if (flags & 0x200)
        sti();
}

void arch_clear_software_interrupt(KIRQL Level)
{
    pending_and(~(1u << Level));
}

void arch_send_ipi(KAFFINITY Targets, ULONG Kinds)
{
    for (ULONG n = 0; n < x86_cpu_count; n++) {
        if (!(Targets & ((KAFFINITY)1 << n)))
            continue;
        __atomic_fetch_or(PCR_IPI_KINDS(&x86_pcrs[n]), Kinds, __ATOMIC_ACQ_REL);
        x86_apic_send(x86_cpus[n].ApicId, VECTOR_IPI);
    }
}

void arch_wake(KAFFINITY Targets)
{
    ULONG self = KeGetCurrentProcessorIndex();
    for (ULONG n = 0; n < x86_cpu_count; n++) {
        if (!(Targets & ((KAFFINITY)1 << n)))
            continue;
        __atomic_fetch_or(PCR_PENDING(&x86_pcrs[n]), PENDING_WAKE, __ATOMIC_ACQ_REL);
        if (n != self)
            x86_apic_send(x86_cpus[n].ApicId, VECTOR_WAKE);
    }
}

/* ---- waiting ------------------------------------------------------------------------------------------ */

void arch_pause(void)
{
    __builtin_ia32_pause();
}

void arch_stall(ULONG64 Delta100ns)
{
    ULONG64 end = arch_interrupt_time() + Delta100ns;
    while (arch_interrupt_time() < end)
        __builtin_ia32_pause();
}

void arch_idle(void)
{
    /* Interrupts are off: a wake raised after this check arrives as an
     * interrupt, which ends the hlt (sti's one-instruction shadow covers the
     * hlt, so none slips in between); so does a software interrupt already
     * in the IRR that the IRQL does not mask. */
    if (!(pending_read() & PENDING_WAKE))
        __asm__ volatile("sti; hlt" : : : "memory");
    cli();
    pending_and(~PENDING_WAKE);
    sti();
}

/* ---- exit ---------------------------------------------------------------------------------------------- */

/* QEMU's isa-debug-exit device at port 0xF4: writing v ends QEMU with exit
 * status (v << 1) | 1. The project's pass contract is status 33 (v = 16). */
#define DEBUG_EXIT_PORT 0xF4
#define DEBUG_EXIT_PASS 16
#define DEBUG_EXIT_BUGCHECK 43   /* status 87 */

static DECLSPEC_NORETURN void debug_exit(UCHAR Value)
{
    outb(DEBUG_EXIT_PORT, Value);
    /* No debug-exit device (or it did not stop us): halt for good. */
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Code 0 is success (status 33); any other code N exits with status
 * 2N + 1, never 33. */
void arch_system_exit(int Code)
{
    UCHAR v = Code == 0 ? DEBUG_EXIT_PASS : (UCHAR)(Code & 0x7F);
    if (Code != 0 && (v == DEBUG_EXIT_PASS || v == 0))
        v = 1;
    debug_exit(v);
}

void arch_halt_system(void)
{
    cli();
    debug_exit(DEBUG_EXIT_BUGCHECK);
}

void arch_longjmp(void **Buffer)
{
    __builtin_longjmp(Buffer, 1);
}
