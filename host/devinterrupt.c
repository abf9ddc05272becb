/*
 * Device interrupts on the host backend (arch.h "device interrupts"): a
 * Linux process has no interrupt controller and no ISA devices, so no IRQ
 * has a route (arch_isa_interrupt_vector is FALSE). Connecting to a device
 * vector succeeds, and a test plays the device with host_device_assert
 * (host.h): a simulated interrupt line per vector and virtual CPU. The CPU
 * takes it like the clock: host_deliver runs KiDeviceInterrupt at the
 * vector's IRQL (Vector >> 4) on the current stack, which is what the
 * bare-metal backend does when the IOAPIC fires. (Tests may still call
 * KiDeviceInterrupt directly at the vector's IRQL.)
 *
 * Lines are latched (edge): a vector raised again before the CPU took it is
 * one interrupt, and a vector is cleared from DevPending before its service
 * routines run, so raising it from inside them is a new interrupt.
 *
 * Virtual time: when an unmasked line arrives is the explorer's decision
 * (HOST_DECIDE_FIRE_DEVICE, one in VT_DEVICE_ODDS at each interruptible point
 * of the target under the default decider), so a scenario sees its service
 * routine run at any of the points where real hardware could have taken it.
 * Real hardware takes a line that was asserted while masked the moment it is
 * unmasked, so such a line is delivered without a decision at the first point
 * where the CPU has it unmasked (the IRQL raise and the spin lock acquire are
 * points, so a CPU that had it masked has passed one); an idle CPU takes it
 * at once.
 *
 * Locking: DevPending and the pending-level bit (KPCR.HalReserved[0]) are set
 * with atomic ORs by any thread and cleared by the owning CPU in
 * host_deliver_device; a pending-level bit with no vector behind it (the two
 * ORs raced the CPU's clear) is a harmless spurious delivery. DevAsserted,
 * DevMasked and DevAssertedCount are touched only in virtual time, by the run
 * token holder. The vector-range functions are stateless.
 */
#include <ntos/ke.h>
#include "host_private.h"

#define DEV_WORD(v) ((v) >> 5)
#define DEV_BIT(v) (1u << ((v) & 31))
#define DEV_LEVEL_FIRST (ARCH_DEVICE_VECTOR_FIRST >> 4)
#define DEV_LEVEL_LAST (ARCH_DEVICE_VECTOR_LAST >> 4)

/* One unmasked, asserted line in this many interruptible points fires (the
 * default decider; the explorer's strategies choose for themselves). */
#define VT_DEVICE_ODDS 4

static ULONG64 dev_delivered;

BOOLEAN arch_isa_interrupt_vector(ULONG Irq, ULONG *Vector, KIRQL *Irql, KAFFINITY *Affinity)
{
    (void)Irq;
    (void)Vector;
    (void)Irql;
    (void)Affinity;
    return FALSE;
}

BOOLEAN arch_device_interrupt_enable(ULONG Vector, BOOLEAN Enable, ULONG Mode)
{
    (void)Enable;
    (void)Mode;
    return Vector >= ARCH_DEVICE_VECTOR_FIRST && Vector <= ARCH_DEVICE_VECTOR_LAST;
}

ULONG64 host_device_interrupts(void)
{
    return __atomic_load_n(&dev_delivered, __ATOMIC_RELAXED);
}

/* The line reaches the CPU's interrupt logic: taken at its next point where unmasked. */
static void dev_make_pending(host_cpu *cpu, ULONG Vector)
{
    __atomic_fetch_or(&cpu->DevPending[DEV_WORD(Vector)], DEV_BIT(Vector), __ATOMIC_ACQ_REL);
    __atomic_fetch_or(&cpu->Pcr->HalReserved[0], HOST_PENDING(Vector >> 4), __ATOMIC_ACQ_REL);
}

/* Masked on that CPU now: IRQL at or above the level, or interrupts disabled
 * (HalReserved[1] is the interrupt flag, see cpu.c). */
static BOOLEAN dev_masked(host_cpu *cpu, ULONG Vector)
{
    return cpu->Pcr->Irql >= (KIRQL)(Vector >> 4) || cpu->Pcr->HalReserved[1] == 0;
}

static void dev_unassert(host_cpu *cpu, ULONG Vector)
{
    cpu->DevAsserted[DEV_WORD(Vector)] &= ~DEV_BIT(Vector);
    cpu->DevMasked[DEV_WORD(Vector)] &= ~DEV_BIT(Vector);
    cpu->DevAssertedCount--;
}

BOOLEAN host_device_assert(ULONG Vector, ULONG Cpu)
{
    if (!host.Booted || Vector < ARCH_DEVICE_VECTOR_FIRST || Vector > ARCH_DEVICE_VECTOR_LAST || Cpu >= host.Cpus)
        return FALSE;
    host_cpu *cpu = &host.Cpu[Cpu];
    if (host.VirtualTime) {
        /* The caller holds the run token, so the target's IRQL and
         * interrupt flag are where it left them at its last point. */
        if (cpu->VtIdle) {
            dev_make_pending(cpu, Vector); /* an idle CPU takes it at once */
        } else if (!(cpu->DevAsserted[DEV_WORD(Vector)] & DEV_BIT(Vector))) {
            cpu->DevAsserted[DEV_WORD(Vector)] |= DEV_BIT(Vector);
            cpu->DevAssertedCount++;
            if (dev_masked(cpu, Vector))
                cpu->DevMasked[DEV_WORD(Vector)] |= DEV_BIT(Vector);
        }
        /* Raising the line is itself a point where the caller's CPU may take it
         * (it is the target) or another CPU may run. */
        host_vt_point();
        return TRUE;
    }
    dev_make_pending(cpu, Vector);
    if (arch_processor_pcr(Cpu) == KeGetPcr()) {
        if (host_has_deliverable(cpu->Pcr))
            host_deliver();
    } else {
        host_futex_wake(&cpu->Pcr->HalReserved[0]); /* it may be halted in arch_idle */
    }
    return TRUE;
}

/* From host_deliver with the level's pending bit cleared and the IRQL at
 * Level: takes the highest pending vector of the level. */
void host_deliver_device(KIRQL Level)
{
    if (Level < DEV_LEVEL_FIRST || Level > DEV_LEVEL_LAST)
        return;
    host_cpu *cpu = host_self();
    /* The 16 vectors of a level are one half of one word. */
    ULONG *word = &cpu->DevPending[Level >> 1];
    ULONG shift = (Level & 1) * 16;
    ULONG bits = (__atomic_load_n(word, __ATOMIC_ACQUIRE) >> shift) & 0xFFFF;
    if (bits == 0)
        return; /* spurious: see the locking note */
    ULONG vector = ((ULONG)Level << 4) + (31 - __builtin_clz(bits));
    ULONG old = __atomic_fetch_and(word, ~DEV_BIT(vector), __ATOMIC_ACQ_REL);
    if (((old & ~DEV_BIT(vector)) >> shift) & 0xFFFF)
        __atomic_fetch_or(&cpu->Pcr->HalReserved[0], HOST_PENDING(Level), __ATOMIC_ACQ_REL);
    __atomic_fetch_add(&dev_delivered, 1, __ATOMIC_RELAXED);
    KiDeviceInterrupt(vector);
}

/* Virtual time, at an interruptible point of cpu (the token holder): each
 * asserted line it has masked is marked; each one it has unmasked arrives now
 * if it had been masked, else when the decider says so. Highest vector first. */
void host_vt_device_point(host_cpu *cpu)
{
    if (cpu->DevAssertedCount == 0)
        return;
    for (ULONG w = 8; w-- > 0;) {
        ULONG bits = cpu->DevAsserted[w];
        while (bits) {
            ULONG b = 31 - __builtin_clz(bits);
            bits &= ~(1u << b);
            ULONG vector = w * 32 + b;
            if (dev_masked(cpu, vector)) {
                cpu->DevMasked[w] |= 1u << b;
                continue;
            }
            if ((cpu->DevMasked[w] & (1u << b)) || host_decide(HOST_DECIDE_FIRE_DEVICE, VT_DEVICE_ODDS) == 0) {
                dev_unassert(cpu, vector);
                dev_make_pending(cpu, vector);
            }
        }
    }
}

/* Virtual time: the CPU idles (IRQL and interrupt flag allow every device
 * level there): every asserted line arrives. */
void host_vt_device_idle(host_cpu *cpu)
{
    for (ULONG w = 0; w < 8 && cpu->DevAssertedCount; w++) {
        ULONG bits = cpu->DevAsserted[w];
        while (bits) {
            ULONG b = 31 - __builtin_clz(bits);
            bits &= ~(1u << b);
            dev_unassert(cpu, w * 32 + b);
            dev_make_pending(cpu, w * 32 + b);
        }
    }
}
