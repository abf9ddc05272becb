/*
 * Boot shim, second half: turns the PVH start info (struct hvm_start_info,
 * version 0 or 1, from Xen's public arch-x86/hvm/start_info.h) into the
 * loader block and calls KiSystemStartup. Runs in long mode on the early
 * page tables, which identity-map the first 1 GB where QEMU puts the start
 * info, the memory map, the command line and the modules' descriptors.
 */
#include "loader.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
    ULONG magic;
    ULONG version;
    ULONG flags;
    ULONG nr_modules;
    ULONG64 modlist_paddr;
    ULONG64 cmdline_paddr;
    ULONG64 rsdp_paddr;
    ULONG64 memmap_paddr;   /* version >= 1 */
    ULONG memmap_entries;
    ULONG reserved;
};

struct hvm_modlist_entry {
    ULONG64 paddr;
    ULONG64 size;
    ULONG64 cmdline_paddr;
    ULONG64 reserved;
};

struct hvm_memmap_table_entry {
    ULONG64 addr;
    ULONG64 size;
    ULONG type;
    ULONG reserved;
};

extern char __boot_start[], __kernel_end[];
#define KERNEL_VMA 0xFFFFFFFF80000000ULL

static LOADER_PARAMETER_BLOCK LoaderBlock;

static void copy_string(char *Dest, SIZE_T Size, ULONG64 Physical)
{
    SIZE_T n = 0;
    if (Physical != 0 && Physical < (1ULL << 30)) {
        const char *s = (const char *)(ULONG_PTR)Physical;
        while (s[n] && n + 1 < Size) {
            Dest[n] = s[n];
            n++;
        }
    }
    Dest[n] = 0;
}

void x86_pvh_main(ULONG StartInfoPhysical)
{
    PLOADER_PARAMETER_BLOCK lb = &LoaderBlock;
    const struct hvm_start_info *si = (const struct hvm_start_info *)(ULONG_PTR)StartInfoPhysical;
    lb->BootProtocol = "pvh";
    lb->SerialPort = 0x3F8;
    lb->KernelPhysicalStart = (ULONG64)(ULONG_PTR)__boot_start;
    lb->KernelPhysicalEnd = (ULONG64)(ULONG_PTR)__kernel_end - KERNEL_VMA;
    if (si == NULL || si->magic != HVM_START_MAGIC)
        KiSystemStartup(lb); /* reports the missing memory map itself */
    copy_string(lb->CommandLine, sizeof(lb->CommandLine), si->cmdline_paddr);
    lb->RsdpPhysical = si->rsdp_paddr;
    if (si->version >= 1 && si->memmap_paddr != 0) {
        const struct hvm_memmap_table_entry *e =
            (const struct hvm_memmap_table_entry *)(ULONG_PTR)si->memmap_paddr;
        for (ULONG i = 0; i < si->memmap_entries && lb->MemoryCount < LOADER_MAX_MEMORY; i++) {
            LOADER_MEMORY_RANGE *r = &lb->Memory[lb->MemoryCount++];
            r->Base = e[i].addr;
            r->Length = e[i].size;
            r->Type = e[i].type;
        }
    }
    if (si->modlist_paddr != 0) {
        const struct hvm_modlist_entry *m = (const struct hvm_modlist_entry *)(ULONG_PTR)si->modlist_paddr;
        for (ULONG i = 0; i < si->nr_modules && lb->ModuleCount < LOADER_MAX_MODULES; i++) {
            LOADER_MODULE *d = &lb->Modules[lb->ModuleCount++];
            d->Base = m[i].paddr;
            d->Size = m[i].size;
            copy_string(d->CommandLine, sizeof(d->CommandLine), m[i].cmdline_paddr);
        }
    }
    KiSystemStartup(lb);
}
