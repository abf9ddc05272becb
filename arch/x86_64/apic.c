/*
 * Interrupt controllers and processors: ACPI's MADT (processors, the
 * IOAPIC and the ISA interrupt source overrides), the local APIC (xAPIC,
 * through the uncached direct map) with its timer as each processor's clock
 * interrupt, IPIs, the IOAPIC routing legacy ISA IRQs to device vectors
 * (the 8259 PICs stay masked), and starting the application processors with
 * INIT-SIPI-SIPI.
 *
 * ISA IRQs: IRQ n arrives at vector X86_ISA_VECTOR_BASE + n (IRQL 5) on
 * processor 0, through the IOAPIC input the MADT's interrupt source
 * override names (GSI n when there is none), with the override's polarity
 * and trigger mode (ISA default: active high, edge). Every redirection entry
 * is masked until Ke connects an interrupt object to its vector
 * (arch_device_interrupt_enable). The IOAPIC's select/window register pair
 * is serialised by ioapic_lock, taken with interrupts disabled.
 *
 * Locking: the ICR is per local APIC, so sending never races with another
 * processor; a sender on this processor disables interrupts around the
 * two-register ICR write so an interrupt handler's IPI does not interleave.
 */
#include "x86.h"

#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3E0
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000

#define TRAMPOLINE_PHYS 0x8000

static ULONG64 lapic_phys = 0xFEE00000;
static ULONG64 ioapic_phys;
static ULONG ioapic_gsi_base, ioapic_entries;
static ULONG isa_gsi[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static USHORT isa_flags[16];   /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
static volatile LONG ioapic_lock;
static ULONG apic_ids[ARCH_MAX_CPUS];
static ULONG apic_found;
static ULONG64 apic_timer_hz; /* after the divide-by-16 */
static ULONG64 apic_ticks_per_100ns; /* 32.32 fixed point */

static volatile ULONG *lapic_reg(ULONG Offset)
{
    return (volatile ULONG *)x86_phys(lapic_phys + Offset);
}

static ULONG lapic_read(ULONG Offset) { return *lapic_reg(Offset); }
static void lapic_write(ULONG Offset, ULONG Value) { *lapic_reg(Offset) = Value; }

ULONG x86_apic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

/* ---- ACPI ------------------------------------------------------------------------------------- */

static BOOLEAN checksum_ok(const UCHAR *p, ULONG n)
{
    UCHAR s = 0;
    for (ULONG i = 0; i < n; i++)
        s += p[i];
    return s == 0;
}

static ULONG64 find_rsdp(ULONG64 Hint)
{
    if (Hint)
        return Hint;
    /* The BIOS read-only area, on 16-byte boundaries (ACPI 5.2.5.1); the EBDA too. */
    ULONG64 ebda = (ULONG64)*(USHORT *)x86_phys(0x40E) << 4;
    ULONG64 areas[2][2] = {{ebda, ebda + 1024}, {0xE0000, 0x100000}};
    for (int a = 0; a < 2; a++) {
        if (areas[a][0] == 0)
            continue;
        for (ULONG64 p = areas[a][0]; p < areas[a][1]; p += 16) {
            const char *s = x86_phys(p);
            if (s[0] == 'R' && s[1] == 'S' && s[2] == 'D' && s[3] == ' ' && s[4] == 'P' && s[5] == 'T' &&
                s[6] == 'R' && s[7] == ' ' && checksum_ok((const UCHAR *)s, 20))
                return p;
        }
    }
    return 0;
}

static void parse_madt(const UCHAR *Madt)
{
    ULONG length = *(const ULONG *)(Madt + 4);
    lapic_phys = *(const ULONG *)(Madt + 36);
    for (ULONG off = 44; off + 2 <= length;) {
        UCHAR type = Madt[off], len = Madt[off + 1];
        if (len < 2)
            break;
        if (type == 0 && (Madt[off + 4] & 1) && apic_found < ARCH_MAX_CPUS)
            apic_ids[apic_found++] = Madt[off + 3];
        else if (type == 1 && ioapic_phys == 0 && len >= 12) {
            ioapic_phys = *(const ULONG *)(Madt + off + 4);
            ioapic_gsi_base = *(const ULONG *)(Madt + off + 8);
        } else if (type == 2 && len >= 10 && Madt[off + 2] == 0 && Madt[off + 3] < 16) {
            /* Interrupt source override: ISA IRQ -> GSI, with flags. */
            isa_gsi[Madt[off + 3]] = *(const ULONG *)(Madt + off + 4);
            isa_flags[Madt[off + 3]] = *(const USHORT *)(Madt + off + 8);
        }
        off += len;
    }
}

void x86_acpi_init(PLOADER_PARAMETER_BLOCK Lb)
{
    ULONG64 rsdp = find_rsdp(Lb->RsdpPhysical);
    if (rsdp != 0) {
        const UCHAR *r = x86_phys(rsdp);
        BOOLEAN xsdt = r[15] >= 2 && *(const ULONG64 *)(r + 24) != 0;
        ULONG64 root = xsdt ? *(const ULONG64 *)(r + 24) : *(const ULONG *)(r + 16);
        const UCHAR *t = x86_phys(root);
        ULONG length = *(const ULONG *)(t + 4);
        ULONG entry = xsdt ? 8 : 4;
        for (ULONG off = 36; off + entry <= length; off += entry) {
            ULONG64 pa = xsdt ? *(const ULONG64 *)(t + off) : *(const ULONG *)(t + off);
            const UCHAR *h = x86_phys(pa);
            if (h[0] == 'A' && h[1] == 'P' && h[2] == 'I' && h[3] == 'C')
                parse_madt(h);
        }
    }
    ULONG boot_id = x86_apic_id();
    if (apic_found == 0)
        apic_ids[apic_found++] = boot_id;
    /* Processor 0 is the one running this; the others in MADT order. */
    x86_cpus[0].ApicId = boot_id;
    ULONG n = 1;
    for (ULONG i = 0; i < apic_found; i++)
        if (apic_ids[i] != boot_id && n < ARCH_MAX_CPUS)
            x86_cpus[n++].ApicId = apic_ids[i];
    const char *limit = x86_cmdline_value("cpus");
    if (limit != NULL) {
        ULONG want = 0;
        while (*limit >= '0' && *limit <= '9')
            want = want * 10 + (ULONG)(*limit++ - '0');
        if (want >= 1 && want < n)
            n = want;
    }
    x86_cpu_count = n;
}

/* ---- local APIC -------------------------------------------------------------------------------- */

void x86_apic_init_cpu(void)
{
    /* Enable through the MSR (global enable, keep the base), then software
     * enable with the spurious vector. */
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | 0x800);
    lapic_write(LAPIC_TPR, 0); /* CR8 does the masking */
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_SVR, 0x100 | VECTOR_SPURIOUS);
    lapic_write(LAPIC_TIMER_DIVIDE, 0x3); /* divide by 16 */
    lapic_write(LAPIC_ESR, 0);
    lapic_write(LAPIC_EOI, 0);
}

void x86_apic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

static void icr_send(ULONG ApicId, ULONG Low)
{
    ULONG64 flags = read_flags();
    cli();
    while (lapic_read(LAPIC_ICR_LOW) & (1u << 12)) /* delivery pending */
        __builtin_ia32_pause();
    lapic_write(LAPIC_ICR_HIGH, ApicId << 24);
    lapic_write(LAPIC_ICR_LOW, Low);
    if (flags & 0x200)
        sti();
}

void x86_apic_send(ULONG ApicId, ULONG Vector)
{
    icr_send(ApicId, Vector); /* fixed delivery, physical destination, edge */
}

/* Destination shorthand "self" (ICR bits 19:18 = 01): no destination field. */
void x86_apic_send_self(ULONG Vector)
{
    icr_send(0, 0x40000 | Vector);
}

/* ---- IOAPIC ------------------------------------------------------------------------------------ */

#define IOAPIC_REDIR_LOW(n) (0x10 + 2 * (n))
#define IOAPIC_REDIR_HIGH(n) (0x11 + 2 * (n))
#define REDIR_ACTIVE_LOW (1u << 13)
#define REDIR_LEVEL (1u << 15)
#define REDIR_MASKED (1u << 16)

static ULONG64 ioapic_acquire(void)
{
    ULONG64 flags = read_flags();
    cli();
    while (__atomic_exchange_n(&ioapic_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    return flags;
}

static void ioapic_release(ULONG64 Flags)
{
    __atomic_store_n(&ioapic_lock, 0, __ATOMIC_RELEASE);
    if (Flags & 0x200)
        sti();
}

static void ioapic_write(ULONG Register, ULONG Value)
{
    volatile ULONG *sel = x86_phys(ioapic_phys), *win = x86_phys(ioapic_phys + 0x10);
    *sel = Register;
    *win = Value;
}

static ULONG ioapic_read(ULONG Register)
{
    volatile ULONG *sel = x86_phys(ioapic_phys), *win = x86_phys(ioapic_phys + 0x10);
    *sel = Register;
    return *win;
}

/* The PICs, masked for good (the local APIC timer is the clock), and every
 * IOAPIC redirection entry masked. */
static void legacy_interrupts_off(void)
{
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    if (ioapic_phys == 0)
        return;
    ULONG64 flags = ioapic_acquire();
    ioapic_entries = ((ioapic_read(1) >> 16) & 0xFF) + 1;
    for (ULONG i = 0; i < ioapic_entries; i++) {
        ioapic_write(IOAPIC_REDIR_LOW(i), REDIR_MASKED);
        ioapic_write(IOAPIC_REDIR_HIGH(i), 0);
    }
    ioapic_release(flags);
}

/* The IOAPIC input of ISA IRQ Irq, or FALSE if this IOAPIC does not have it. */
static BOOLEAN isa_input(ULONG Irq, ULONG *Input)
{
    if (Irq >= 16 || ioapic_phys == 0 || isa_gsi[Irq] < ioapic_gsi_base ||
        isa_gsi[Irq] - ioapic_gsi_base >= ioapic_entries)
        return FALSE;
    *Input = isa_gsi[Irq] - ioapic_gsi_base;
    return TRUE;
}

BOOLEAN arch_isa_interrupt_vector(ULONG Irq, ULONG *Vector, KIRQL *Irql, KAFFINITY *Affinity)
{
    ULONG input;
    if (!isa_input(Irq, &input))
        return FALSE;
    *Vector = X86_ISA_VECTOR_BASE + Irq;
    *Irql = (KIRQL)(*Vector >> 4);
    *Affinity = 1; /* delivered to processor 0 */
    return TRUE;
}

BOOLEAN arch_device_interrupt_enable(ULONG Vector, BOOLEAN Enable, ULONG Mode)
{
    ULONG input;
    if (Vector < X86_ISA_VECTOR_BASE || Vector >= X86_ISA_VECTOR_BASE + 16 ||
        !isa_input(Vector - X86_ISA_VECTOR_BASE, &input))
        return FALSE;
    ULONG irq = Vector - X86_ISA_VECTOR_BASE;
    ULONG polarity = isa_flags[irq] & 3, trigger = (isa_flags[irq] >> 2) & 3;
    ULONG low = Vector; /* fixed delivery, physical destination */
    if (polarity == 3)
        low |= REDIR_ACTIVE_LOW;
    /* Trigger: the firmware's when it says; else ISA's edge, unless the
     * driver connected a level-sensitive interrupt. */
    if (trigger == 3 || (trigger == 0 && Mode == 0 /* LevelSensitive */))
        low |= REDIR_LEVEL;
    if (!Enable)
        low |= REDIR_MASKED;
    ULONG64 flags = ioapic_acquire();
    ioapic_write(IOAPIC_REDIR_HIGH(input), x86_cpus[0].ApicId << 24);
    ioapic_write(IOAPIC_REDIR_LOW(input), low);
    ioapic_release(flags);
    return TRUE;
}

void x86_apic_timer_calibrate(void)
{
    legacy_interrupts_off();
    lapic_write(LAPIC_TIMER_DIVIDE, 0x3);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    ULONG64 best = 0;
    for (int trial = 0; trial < 2; trial++) {
        x86_pit_wait_start(20000);
        lapic_write(LAPIC_TIMER_INITIAL, 0xFFFFFFFF);
        while (!x86_pit_done())
            __builtin_ia32_pause();
        ULONG64 elapsed = 0xFFFFFFFFull - lapic_read(LAPIC_TIMER_CURRENT);
        if (elapsed > best)
            best = elapsed;
    }
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    /* The PIT counted 23863 ticks of 1.193182 MHz: 20 ms. */
    apic_timer_hz = best * 1193182ULL / 23863ULL;
    apic_ticks_per_100ns = (apic_timer_hz << 32) / 10000000ULL;
}

static ULONG timer_count(ULONG64 Delta100ns)
{
    ULONG64 c = (ULONG64)(((unsigned __int128)Delta100ns * apic_ticks_per_100ns) >> 32);
    if (c == 0)
        c = 1;
    if (c > 0xFFFFFFFFull)
        c = 0xFFFFFFFFull;
    return (ULONG)c;
}

void arch_clock_set_periodic(ULONG64 Period100ns)
{
    if (Period100ns == 0) {
        lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
        lapic_write(LAPIC_TIMER_INITIAL, 0);
        return;
    }
    lapic_write(LAPIC_LVT_TIMER, VECTOR_CLOCK | LVT_PERIODIC);
    lapic_write(LAPIC_TIMER_INITIAL, timer_count(Period100ns));
}

void arch_clock_set_oneshot(ULONG64 DeadlineInterruptTime)
{
    ULONG64 now = arch_interrupt_time();
    lapic_write(LAPIC_LVT_TIMER, VECTOR_CLOCK);
    lapic_write(LAPIC_TIMER_INITIAL, timer_count(DeadlineInterruptTime > now ? DeadlineInterruptTime - now : 0));
}

/* ---- application processors ---------------------------------------------------------------------- */

extern char x86_ap_trampoline[], x86_ap_trampoline_end[], x86_ap_mailbox[];
extern char boot_pml4[];
static volatile ULONG ap_starting;
static ULONG_PTR ap_stack_low[ARCH_MAX_CPUS], ap_stack_high[ARCH_MAX_CPUS];
void x86_ap_entry64(void);
void x86_ap_main(ULONG Number, ULONG_PTR StackLow, ULONG_PTR StackHigh);

void x86_ap_entry64(void)
{
    ULONG n = ap_starting;
    x86_ap_main(n, ap_stack_low[n], ap_stack_high[n]);
}

static void wait_us(ULONG Microseconds)
{
    ULONG64 end = arch_interrupt_time() + (ULONG64)Microseconds * 10;
    while (arch_interrupt_time() < end)
        __builtin_ia32_pause();
}

void x86_apic_start_processors(void)
{
    SIZE_T size = (SIZE_T)(x86_ap_trampoline_end - x86_ap_trampoline);
    UCHAR *dst = x86_phys(TRAMPOLINE_PHYS);
    RtlCopyMemory(dst, x86_ap_trampoline, size);
    ULONG64 *mailbox = (ULONG64 *)(dst + (x86_ap_mailbox - x86_ap_trampoline));
    for (ULONG n = 1; n < x86_cpu_count; n++) {
        ULONG slot;
        if (!x86_stack_allocate(65536, &ap_stack_low[n], &ap_stack_high[n], &slot)) {
            x86_print("ntos: no boot stack for processor %u\n", n);
            arch_system_exit(2);
        }
        ap_starting = n;
        mailbox[0] = (ULONG64)(ULONG_PTR)boot_pml4; /* linked at its physical address */
        mailbox[1] = ap_stack_high[n];             /* the stub calls in: ABI-aligned */
        mailbox[2] = x86_kernel_root();
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        ULONG id = x86_cpus[n].ApicId;
        icr_send(id, 0x4500);                                 /* INIT, assert */
        wait_us(10000);
        for (int sipi = 0; sipi < 2 && !__atomic_load_n(&x86_cpus[n].Started, __ATOMIC_ACQUIRE); sipi++) {
            icr_send(id, 0x4600 | (TRAMPOLINE_PHYS >> 12)); /* STARTUP */
            wait_us(200);
        }
        ULONG64 deadline = arch_interrupt_time() + 50000000ULL; /* 5 s: an emulator on a loaded host is slow */
        while (!__atomic_load_n(&x86_cpus[n].Started, __ATOMIC_ACQUIRE)) {
            if (arch_interrupt_time() > deadline) {
                x86_print("ntos: processor %u (APIC %u) did not start\n", n, id);
                arch_system_exit(2);
            }
            __builtin_ia32_pause();
        }
    }
}
