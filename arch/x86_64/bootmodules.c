/*
 * Bare-metal boot modules and command line (arch.h "boot modules").
 *
 * QEMU's PVH boot passes -initrd as one module in the start info (see
 * boot/pvh_loader.c); its pages are marked in use in the memory map
 * (memory.c), so the data stays where it is and is read through the direct
 * map. A module that is a newc cpio archive (tools/mkcpio.py) contributes
 * each regular member as a module named after the member's last path
 * component; directories and other member types are skipped. Any other
 * module is one module named "initrd". A malformed archive is reported on the
 * console and contributes nothing: a half-read archive would hand out
 * modules whose contents nobody can trust (boot/cpio.c checks every length
 * against the archive's size, so a bad one cannot fault here either).
 *
 * Locking: x86_boot_modules_init runs once on the boot processor before the
 * others start; the table is read-only afterwards.
 */
#include "x86.h"
#include "cpio.h"

#define X86_MAX_BOOT_MODULES 64

static ARCH_BOOT_MODULE boot_modules[X86_MAX_BOOT_MODULES];
static ULONG boot_module_count;

static void add_archive(const void *Data, SIZE_T Size, ULONG LoaderIndex)
{
    ARCH_BOOT_MODULE found[X86_MAX_BOOT_MODULES];
    ULONG n = 0;
    SIZE_T off = 0;
    for (;;) {
        CPIO_MEMBER m;
        const char *reason;
        CPIO_RESULT r = CpioNextMember(Data, Size, &off, &m, &reason);
        if (r == CPIO_END)
            break;
        if (r == CPIO_MALFORMED) {
            x86_print("ntos: boot module %u: malformed cpio archive at offset %llu: %s; ignoring its modules\n",
                      LoaderIndex, (ULONG64)off, reason);
            return;
        }
        if ((m.Mode & CPIO_MODE_TYPE) != CPIO_MODE_REGULAR)
            continue;
        if (boot_module_count + n == X86_MAX_BOOT_MODULES) {
            x86_print("ntos: boot module %u: more than %u modules; ignoring the archive\n", LoaderIndex,
                      X86_MAX_BOOT_MODULES);
            return;
        }
        found[n++] = (ARCH_BOOT_MODULE){CpioBaseName(m.Name), m.Data, m.Size};
    }
    for (ULONG i = 0; i < n; i++)
        boot_modules[boot_module_count++] = found[i];
}

void x86_boot_modules_init(PLOADER_PARAMETER_BLOCK Lb)
{
    for (ULONG i = 0; i < Lb->ModuleCount; i++) {
        const LOADER_MODULE *lm = &Lb->Modules[i];
        const void *data = lm->Size ? x86_phys(lm->Base) : NULL;
        if (lm->Size != 0 && data == NULL) {
            x86_print("ntos: boot module %u at %llx is outside the memory map; ignored\n", i, lm->Base);
            continue;
        }
        if (CpioLooksLikeArchive(data, lm->Size)) {
            add_archive(data, lm->Size, i);
        } else if (boot_module_count < X86_MAX_BOOT_MODULES) {
            boot_modules[boot_module_count++] = (ARCH_BOOT_MODULE){"initrd", data ? data : "", lm->Size};
        }
    }
    if (x86_cmdline_flag("verbose"))
        for (ULONG i = 0; i < boot_module_count; i++)
            x86_print("  boot module %s, %llu bytes\n", boot_modules[i].Name, (ULONG64)boot_modules[i].Size);
}

ULONG arch_boot_module_count(void)
{
    return boot_module_count;
}

BOOLEAN arch_boot_module(ULONG Index, ARCH_BOOT_MODULE *Module)
{
    if (Index >= boot_module_count)
        return FALSE;
    *Module = boot_modules[Index];
    return TRUE;
}

const char *arch_boot_command_line(void)
{
    return x86_loader_block ? x86_loader_block->CommandLine : "";
}
