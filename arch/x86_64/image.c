/*
 * Loaded-image hooks of the arch interface on bare metal.
 *
 * The host backend has to know where driver code lives because a Linux process
 * cannot execute mov to/from CR8 or reach KUSER_SHARED_DATA at its kernel
 * address, so it emulates those when they fault there. Here the kernel runs in
 * ring 0 with the real CR8 and KUSER_SHARED_DATA mapped by Mm, so a driver's
 * instructions execute natively and there is nothing to record.
 */
#include <ntos/arch.h>

VOID arch_image_mapped(PVOID Base, SIZE_T Size, PCSTR Name)
{
    (void)Base;
    (void)Size;
    (void)Name;
}

VOID arch_image_unmapped(PVOID Base)
{
    (void)Base;
}
