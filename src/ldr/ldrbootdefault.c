/*
 * Weak defaults for the seams Ldr uses before the streams that own them are
 * merged (see /work/notes/contract.md items 4 and 6). Each is replaced by the
 * backend's strong definition, and this file is deleted at the merge:
 *  - arch_image_mapped/arch_image_unmapped (hostemu): nothing to register
 *    without the host's privileged-instruction emulation; bare metal needs
 *    nothing (the hardware executes the instructions).
 *  - arch_boot_module_count/arch_boot_module (modules): no boot modules.
 */
#include "ldrp.h"

__attribute__((weak)) void arch_image_mapped(ULONG_PTR Base, SIZE_T Size, const char *Name)
{
    (void)Base;
    (void)Size;
    (void)Name;
}

__attribute__((weak)) void arch_image_unmapped(ULONG_PTR Base)
{
    (void)Base;
}

__attribute__((weak)) ULONG arch_boot_module_count(void)
{
    return 0;
}

__attribute__((weak)) BOOLEAN arch_boot_module(ULONG Index, ARCH_BOOT_MODULE *Module)
{
    (void)Index;
    (void)Module;
    return FALSE;
}
