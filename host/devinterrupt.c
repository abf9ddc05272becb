/*
 * Device interrupts on the host backend (arch.h "device interrupts"): a
 * Linux process has no interrupt controller and no ISA devices, so no IRQ
 * has a route (arch_isa_interrupt_vector is FALSE) and nothing ever raises
 * a device vector by itself. Connecting to a device vector still succeeds,
 * so the kernel's connect/dispatch/disconnect logic runs here too: tests
 * deliver a device interrupt by calling KiDeviceInterrupt at the vector's
 * IRQL, which is what the bare-metal backend does when the IOAPIC fires.
 * Stateless: any IRQL, any thread.
 */
#include "host_private.h"

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
