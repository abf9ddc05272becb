/*
 * The kernel image's .eh_frame_hdr on the host: the hosted kernel is the
 * executable itself, so its PT_GNU_EH_FRAME program header, found from the
 * ELF header the linker maps at __ehdr_start, locates the table. No
 * dl_iterate_phdr: the unwinder runs wherever an exception is raised,
 * including with the loader's locks in unknown states.
 */
#include <elf.h>
#include <ntos/arch.h>

extern const Elf64_Ehdr __ehdr_start;

const UCHAR *arch_kernel_eh_frame_hdr(void)
{
    const Elf64_Ehdr *eh = &__ehdr_start;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
    const Elf64_Phdr *hdr = NULL;
    ULONG_PTR bias = 0;
    int haveBias = 0;

    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_GNU_EH_FRAME)
            hdr = &ph[i];
        /* The segment mapping file offset 0 holds the ELF header: it gives
         * the load bias of a position-independent executable. */
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !haveBias) {
            bias = (ULONG_PTR)eh - ph[i].p_vaddr;
            haveBias = 1;
        }
    }
    if (!hdr || !haveBias)
        return NULL;
    return (const UCHAR *)(bias + hdr->p_vaddr);
}
