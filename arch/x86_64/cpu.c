/*
 * Bare-metal processors: per-processor GDT, TSS and KPCR, IRQL as CR8, the
 * interrupt flag, software interrupts and IPIs, idle, exit.
 *
 * IRQL: CR8 is the IRQL (the local APIC's task priority: it masks every
 * vector whose class, vector >> 4, is not above it). KPCR.Irql (gs:[0x50]) is
 * kept equal for code that reads it. Both are written in the order CR8, then
 * KPCR.Irql, and an interrupt handler saves CR8 and restores both to it: so
 * an interrupt between the two writes restores the value being installed,
 * whichever direction the change goes.
 *
 * Software interrupts (APC_LEVEL, DISPATCH_LEVEL) are pending bits in
 * KPCR.HalReserved[0] (gs:[0xC0]), set and cleared by this processor only,
 * with single GS-relative locked instructions (see pending_or); bit 0 of
 * the same word is the wake flag, which other processors set with a locked
 * OR (arch_wake) before their wake-up IPI. They are
 * delivered by x86_deliver_software when the IRQL drops below them with
 * interrupts enabled: on arch_set_irql lowering, on enabling interrupts, at
 * the end of every hardware interrupt, and in idle.
 *
 * GS: all code runs in ring 0 today, so GS base is always the KPCR and no
 * entry path swaps it (swapgs comes with user mode).
 */
#include "x86.h"

X86_CPU x86_cpus[ARCH_MAX_CPUS];
ULONG x86_cpu_count = 1;
BOOLEAN x86_has_smep, x86_has_smap;

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
    write_cr4(cr4);
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
    if (a >= 7) {
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
    KIRQL irql;
    __asm__ volatile("movb %%gs:0x50, %0" : "=q"(irql));
    return irql;
}

/* The pending word of the processor this runs on, changed with one
 * GS-relative locked instruction: a thread that reads the KPCR's address and
 * then writes through it can be preempted and moved in between (interrupts
 * are asynchronous here), and would set or clear another processor's bit. */
static inline void pending_or(ULONG Bits)
{
    __asm__ volatile("lock orl %0, %%gs:0xC0" : : "r"(Bits) : "memory");
}

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

/* Pending software interrupts above the IRQL. Exact with interrupts
 * disabled; otherwise a hint that the caller re-checks. */
static ULONG deliverable_software(void)
{
    KIRQL irql = arch_get_irql();
    return pending_read() & ((1u << APC_LEVEL) | (1u << DISPATCH_LEVEL)) & ~((2u << irql) - 1u);
}

/* Delivers pending software interrupts above the IRQL, highest first, while
 * interrupts are enabled. Choosing and claiming one (clearing its bit and
 * raising to its level) happens with interrupts off, so it is claimed on
 * the processor whose bit it was. The upcall may switch threads: the
 * restore then applies to whichever processor this thread resumed on. */
void x86_deliver_software(void)
{
    for (;;) {
        if (!(read_flags() & 0x200))
            return;
        cli();
        ULONG mask = deliverable_software();
        if (mask == 0) {
            sti();
            return;
        }
        KIRQL level = (KIRQL)(31 - __builtin_clz(mask));
        pending_and(~(1u << level));
        KIRQL saved = (KIRQL)read_cr8();
        write_cr8(level);
        set_pcr_irql(level);
        sti();
        KiSoftwareInterrupt(level);
        write_cr8(saved);
        set_pcr_irql(saved);
    }
}

void arch_set_irql(KIRQL NewIrql)
{
    KIRQL old = arch_get_irql();
    write_cr8(NewIrql);
    set_pcr_irql(NewIrql);
    if (NewIrql < old && deliverable_software())
        x86_deliver_software();
}

/* End of a hardware interrupt: back to the interrupted IRQL, then anything
 * deliverable there. Called with interrupts enabled; returns with them off,
 * ready for iretq. */
void x86_interrupt_exit(KIRQL Saved)
{
    write_cr8(Saved);
    set_pcr_irql(Saved);
    if (deliverable_software())
        x86_deliver_software();
    cli();
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
        arch_enable_interrupts();
    else
        cli();
}

void arch_enable_interrupts(void)
{
    sti();
    if (deliverable_software())
        x86_deliver_software();
}

BOOLEAN arch_interrupts_enabled(void)
{
    return (read_flags() & 0x200) != 0;
}

/* ---- software interrupts and IPIs ------------------------------------------------------------------ */

void arch_request_software_interrupt(KIRQL Level)
{
    pending_or(1u << Level);
    if (arch_get_irql() < Level && (read_flags() & 0x200))
        x86_deliver_software();
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
    /* Interrupts are off: a wake or software interrupt raised after this
     * check arrives as an interrupt, which ends the hlt (sti's one-instruction
     * shadow covers the hlt, so none slips in between). */
    if (!(pending_read() & PENDING_WAKE) && deliverable_software() == 0)
        __asm__ volatile("sti; hlt" : : : "memory");
    cli();
    pending_and(~PENDING_WAKE);
    sti();
    x86_deliver_software();
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
