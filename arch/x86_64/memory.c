/*
 * Bare-metal memory: the physical memory map handed to Mm, the kernel's own
 * page tables (kernel image W^X, the direct map, kernel stacks), the page
 * table root Mm installs, and TLB invalidation with shootdown.
 *
 * Address space (PML4 slots):
 *   256  0xFFFF800000000000  direct map of physical memory: 0..4 GB and any
 *        RAM above, 2 MB pages, NX; 3..4 GB (MMIO: APIC, IOAPIC, PCI BARs)
 *        uncached
 *   320  0xFFFFA00000000000  Mm's system range (64 GB), Mm's own tables
 *   495  0xFFFFF78000000000  KUSER_SHARED_DATA: one read-only, NX page that
 *        is the kernel's KiUserSharedData (the address WDK-built drivers read
 *        the clocks from with inline loads; the kernel writes the page
 *        through its own, writable, image mapping)
 *   508  0xFFFFFE0000000000  kernel stacks: fixed slots, each an unmapped
 *        guard page below 64 KB of stack
 *   511  0xFFFFFFFF80000000  the kernel image: text RX, rodata R+NX, data
 *        and bss RW+NX, the boot stack's guard page left out
 * Slot 0 (the identity map the boot shim used) is absent, so a null pointer
 * faults. Mm builds its PML4 itself (MiInitializePageTables); when it is
 * installed (arch_set_page_table_root) the backend copies its slots 256, 495,
 * 508 and 511 into it, so every processor runs on Mm's root from then on and Mm
 * owns slot 320 alone.
 *
 * The memory map: E820 RAM above 1 MB (below are the firmware's data and
 * the processor start-up page, which Mm neither manages nor maps),
 * page-aligned inward, with what is in use marked so (the kernel image with
 * its boot tables, the kernel stack reserve, boot modules), plus one device range: the display adapter's framebuffer BAR,
 * real MMIO space that behaves like memory, which is what Mm's MmMapIoSpace
 * tests need from their device range.
 *
 * Locking: the map and tables are built once at boot on processor 0. Stack
 * slots are handed out under a spin lock taken with interrupts disabled
 * (any IRQL). TLB shootdowns use per-target request/done tickets (see
 * arch_flush_translation).
 */
#include "x86.h"
#include <ntos/kuser.h>

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PWT 0x8ULL
#define PTE_PCD 0x10ULL
#define PTE_LARGE 0x80ULL
#define PTE_NX (1ULL << 63)
#define PTE_FRAME 0x000FFFFFFFFFF000ULL
#define MB (1ULL << 20)
#define GB (1ULL << 30)

#define STACK_SLOT_BYTES (64 * 1024)
#define STACK_SLOT_STRIDE (STACK_SLOT_BYTES + 4096)
#define MAX_STACK_SLOTS 512

extern char __kernel_text_start[], __kernel_text_end[], __kernel_rodata_start[], __kernel_rodata_end[];
extern char __kernel_data_start[], __kernel_data_end[], x86_boot_stack_guard[];

#define POOL_PAGES 96
static ULONG64 pt_pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static ULONG pt_pool_used;

static ARCH_MEMORY_DESCRIPTOR descriptors[LOADER_MAX_MEMORY + 8];
static ULONG descriptor_count;
static ULONG64 kernel_pml4_phys;
static ULONG64 *kernel_pml4;
static volatile ULONG64 active_root;

static ULONG64 stack_phys;
static ULONG stack_slots;
static ULONG64 stack_bitmap[MAX_STACK_SLOTS / 64];
static volatile LONG stack_lock;

static ULONG64 image_phys(const void *va)
{
    return (ULONG64)(ULONG_PTR)va - KERNEL_VMA;
}

static ULONG64 *pt_alloc(void)
{
    if (pt_pool_used == POOL_PAGES) {
        x86_print("ntos: out of boot page-table pages\n");
        arch_system_exit(2);
    }
    return pt_pool[pt_pool_used++];
}

PVOID x86_phys(ULONG64 Physical)
{
    return (PVOID)(ULONG_PTR)(DIRECT_MAP_BASE + Physical);
}

/* The table below Table[Index], created if absent. Boot tables live in the
 * image, so their physical address is their image offset. */
static ULONG64 *next_table(ULONG64 *Table, ULONG Index)
{
    if (!(Table[Index] & PTE_P)) {
        ULONG64 *t = pt_alloc();
        Table[Index] = image_phys(t) | PTE_P | PTE_W;
    }
    return (ULONG64 *)(ULONG_PTR)((Table[Index] & PTE_FRAME) + KERNEL_VMA);
}

static ULONG64 *pte_for(ULONG_PTR Va)
{
    ULONG64 *t = kernel_pml4;
    for (int level = 3; level > 0; level--)
        t = next_table(t, (Va >> (12 + 9 * level)) & 511);
    return &t[(Va >> 12) & 511];
}

static void map_image_range(char *Start, char *End, ULONG64 Attributes)
{
    for (ULONG_PTR va = (ULONG_PTR)Start; va < (ULONG_PTR)End; va += 4096) {
        if (va == (ULONG_PTR)x86_boot_stack_guard)
            continue;
        *pte_for(va) = image_phys((void *)va) | PTE_P | Attributes;
    }
}

/* ---- memory map ---------------------------------------------------------------------------- */

static void add_descriptor(ULONG64 BasePage, ULONG64 Pages, ULONG Type)
{
    if (Pages == 0 || descriptor_count == RTL_NUMBER_OF(descriptors))
        return;
    /* Insert sorted by base page. */
    ULONG i = descriptor_count;
    while (i > 0 && descriptors[i - 1].BasePage > BasePage) {
        descriptors[i] = descriptors[i - 1];
        i--;
    }
    descriptors[i] = (ARCH_MEMORY_DESCRIPTOR){BasePage, Pages, Type, 0};
    descriptor_count++;
}

/* Splits RAM range [Base, End) around the in-use ranges. */
typedef struct { ULONG64 Base, End; } range;

static void add_ram(ULONG64 Base, ULONG64 End, const range *Used, ULONG UsedCount)
{
    while (Base < End) {
        /* The first in-use range overlapping [Base, End). */
        const range *hit = NULL;
        for (ULONG i = 0; i < UsedCount; i++)
            if (Used[i].Base < End && Used[i].End > Base && (hit == NULL || Used[i].Base < hit->Base))
                hit = &Used[i];
        if (hit == NULL) {
            add_descriptor(Base >> 12, (End - Base) >> 12, ArchMemoryFree);
            return;
        }
        if (hit->Base > Base)
            add_descriptor(Base >> 12, (hit->Base - Base) >> 12, ArchMemoryFree);
        ULONG64 ue = hit->End < End ? hit->End : End;
        ULONG64 ub = hit->Base > Base ? hit->Base : Base;
        add_descriptor(ub >> 12, (ue - ub) >> 12, ArchMemoryInUse);
        Base = ue;
    }
}

/* PCI configuration mechanism #1: the first memory BAR of a display adapter. */
static ULONG pci_read(ULONG Bus, ULONG Dev, ULONG Fn, ULONG Offset)
{
    outl(0xCF8, 0x80000000u | (Bus << 16) | (Dev << 11) | (Fn << 8) | (Offset & 0xFC));
    ULONG v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((USHORT)0xCFC));
    return v;
}

static void pci_write(ULONG Bus, ULONG Dev, ULONG Fn, ULONG Offset, ULONG Value)
{
    outl(0xCF8, 0x80000000u | (Bus << 16) | (Dev << 11) | (Fn << 8) | (Offset & 0xFC));
    outl(0xCFC, Value);
}

static BOOLEAN find_device_window(ULONG64 *Base, ULONG64 *Size)
{
    for (ULONG dev = 0; dev < 32; dev++) {
        ULONG id = pci_read(0, dev, 0, 0);
        if ((id & 0xFFFF) == 0xFFFF)
            continue;
        ULONG cls = pci_read(0, dev, 0, 8) >> 24;
        if (cls != 0x03)
            continue;
        ULONG bar = pci_read(0, dev, 0, 0x10);
        if (bar & 1)
            continue; /* I/O BAR */
        /* Size the BAR: write all ones, read back the mask, restore. */
        pci_write(0, dev, 0, 0x10, 0xFFFFFFFF);
        ULONG mask = pci_read(0, dev, 0, 0x10) & ~0xFu;
        pci_write(0, dev, 0, 0x10, bar);
        ULONG64 base = bar & ~0xFull;
        ULONG64 size = (ULONG64)(~mask + 1u);
        if (base == 0 || size == 0 || base + size > 4 * GB)
            continue;
        *Base = base;
        *Size = size;
        return TRUE;
    }
    return FALSE;
}

static void build_memory_map(PLOADER_PARAMETER_BLOCK Lb, ULONG64 *RamTop)
{
    range used[LOADER_MAX_MODULES + 4];
    ULONG nused = 0;
    used[nused++] = (range){Lb->KernelPhysicalStart & ~0xFFFull, (Lb->KernelPhysicalEnd + 0xFFF) & ~0xFFFull};
    for (ULONG i = 0; i < Lb->ModuleCount; i++)
        used[nused++] = (range){Lb->Modules[i].Base & ~0xFFFull,
                                (Lb->Modules[i].Base + Lb->Modules[i].Size + 0xFFF) & ~0xFFFull};

    /* The stack reserve: in the largest RAM range, 1/8 of RAM at most. */
    ULONG64 total = 0, best_base = 0, best_end = 0;
    for (ULONG i = 0; i < Lb->MemoryCount; i++) {
        const LOADER_MEMORY_RANGE *r = &Lb->Memory[i];
        if (r->Type != LOADER_MEMORY_RAM)
            continue;
        ULONG64 b = (r->Base + 0xFFF) & ~0xFFFull, e = (r->Base + r->Length) & ~0xFFFull;
        if (e <= b)
            continue;
        total += e - b;
        if (e - b > best_end - best_base)
            best_base = b, best_end = e;
        if (e > *RamTop)
            *RamTop = e;
    }
    stack_slots = (ULONG)((total / 8) / STACK_SLOT_BYTES);
    if (stack_slots > MAX_STACK_SLOTS)
        stack_slots = MAX_STACK_SLOTS;
    ULONG64 reserve = (ULONG64)stack_slots * STACK_SLOT_BYTES;
    if (stack_slots < 16 || best_end - best_base < reserve * 2) {
        x86_print("ntos: not enough memory (%llu MB of RAM)\n", total >> 20);
        arch_system_exit(2);
    }
    /* Right after the kernel image when that is in this range, so the
     * pages above the highest page Mm manages stay undescribed (nothing may
     * map them), as on a machine whose RAM simply ends there. */
    stack_phys = best_base;
    for (ULONG i = 0; i < nused; i++)
        if (used[i].End > stack_phys && used[i].Base < stack_phys + reserve)
            stack_phys = used[i].End;
    stack_phys = (stack_phys + 0xFFF) & ~0xFFFull;
    if (stack_phys + reserve > best_end) {
        x86_print("ntos: no room for the kernel stacks\n");
        arch_system_exit(2);
    }
    used[nused++] = (range){stack_phys, stack_phys + reserve};

    for (ULONG i = 0; i < Lb->MemoryCount; i++) {
        const LOADER_MEMORY_RANGE *r = &Lb->Memory[i];
        if (r->Type != LOADER_MEMORY_RAM)
            continue;
        ULONG64 b = (r->Base + 0xFFF) & ~0xFFFull, e = (r->Base + r->Length) & ~0xFFFull;
        /* The first 1 MB (firmware data, the processor start-up page) is
         * not described at all: Mm neither manages nor maps it. */
        if (b < MB)
            b = MB;
        if (e > b)
            add_ram(b, e, used, nused);
    }
    ULONG64 dev_base, dev_size;
    if (find_device_window(&dev_base, &dev_size))
        add_descriptor(dev_base >> 12, dev_size >> 12, ArchMemoryDevice);
}

ULONG arch_memory_map(const ARCH_MEMORY_DESCRIPTOR **Descriptors)
{
    *Descriptors = descriptors;
    return descriptor_count;
}

PVOID arch_physical_pointer(ULONG64 PhysicalAddress)
{
    ULONG64 page = PhysicalAddress >> 12;
    for (ULONG i = 0; i < descriptor_count; i++)
        if (page >= descriptors[i].BasePage && page - descriptors[i].BasePage < descriptors[i].PageCount)
            return x86_phys(PhysicalAddress);
    return NULL;
}

void arch_system_va_range(ULONG_PTR *Base, SIZE_T *Size)
{
    *Base = SYSTEM_VA_BASE;
    *Size = SYSTEM_VA_BYTES;
}

/* ---- page tables ----------------------------------------------------------------------------- */

void x86_memory_init(PLOADER_PARAMETER_BLOCK Lb)
{
    ULONG64 ram_top = 0;
    build_memory_map(Lb, &ram_top);

    kernel_pml4 = pt_alloc();
    kernel_pml4_phys = image_phys(kernel_pml4);

    /* Direct map: 2 MB pages over 0..max(4 GB, top of RAM). */
    ULONG64 top = ram_top > 4 * GB ? (ram_top + 2 * MB - 1) & ~(2 * MB - 1) : 4 * GB;
    for (ULONG64 pa = 0; pa < top; pa += 2 * MB) {
        ULONG_PTR va = DIRECT_MAP_BASE + pa;
        ULONG64 *pdpt = next_table(kernel_pml4, (va >> 39) & 511);
        ULONG64 *pd = next_table(pdpt, (va >> 30) & 511);
        ULONG64 cache = (pa >= 3 * GB && pa < 4 * GB) ? (PTE_PCD | PTE_PWT) : 0;
        pd[(va >> 21) & 511] = pa | PTE_P | PTE_W | PTE_LARGE | PTE_NX | cache;
    }

    /* The kernel image, W^X. */
    map_image_range(__kernel_text_start, __kernel_text_end, 0);
    map_image_range(__kernel_rodata_start, __kernel_rodata_end, PTE_NX);
    map_image_range(__kernel_data_start, __kernel_data_end, PTE_W | PTE_NX);

    /* KUSER_SHARED_DATA at its fixed address, read-only: drivers only read it. */
    if ((ULONG_PTR)&KiUserSharedData & 0xFFF) {
        x86_print("ntos: KiUserSharedData is not page-aligned\n");
        arch_system_exit(2);
    }
    *pte_for(KUSER_SHARED_DATA_VA) = image_phys(&KiUserSharedData) | PTE_P | PTE_NX;

    /* Kernel stack slots: the first page of each is the guard, left unmapped. */
    for (ULONG s = 0; s < stack_slots; s++) {
        ULONG_PTR base = STACK_VA_BASE + (ULONG_PTR)s * STACK_SLOT_STRIDE;
        for (ULONG k = 1; k <= STACK_SLOT_BYTES / 4096; k++)
            *pte_for(base + k * 4096ULL) =
                (stack_phys + ((ULONG64)s * (STACK_SLOT_BYTES / 4096) + (k - 1)) * 4096) | PTE_P | PTE_W | PTE_NX;
    }
    active_root = kernel_pml4_phys;
    write_cr3(kernel_pml4_phys);
}

ULONG64 x86_kernel_root(void)
{
    return active_root;
}

void x86_memory_enable_current(void)
{
    write_cr3(active_root);
}

void arch_set_page_table_root(ULONG64 Pml4Physical)
{
    ULONG64 *root = x86_phys(Pml4Physical);
    root[256] = kernel_pml4[256];
    root[495] = kernel_pml4[495];
    root[508] = kernel_pml4[508];
    root[511] = kernel_pml4[511];
    __atomic_store_n(&active_root, Pml4Physical, __ATOMIC_RELEASE);
    write_cr3(Pml4Physical);
}

/* ---- TLB shootdown ----------------------------------------------------------------------------
 * A sender takes a ticket from each target's request counter after changing
 * the PTEs and waits until the target's done counter reaches it; a target
 * reads its request counter, then flushes, then publishes what it read as
 * done. Every request counted before that read was made after its PTE
 * change, so the flush that follows covers it. Targets flush everything
 * (CR3 reload: global pages are not enabled). */

static volatile ULONG64 tlb_requests[ARCH_MAX_CPUS];
static volatile ULONG64 tlb_done[ARCH_MAX_CPUS];

void x86_tlb_shootdown_handler(void)
{
    ULONG self = KeGetCurrentProcessorIndex();
    ULONG64 r = __atomic_load_n(&tlb_requests[self], __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&tlb_done[self], __ATOMIC_ACQUIRE) >= r)
        return;
    write_cr3(read_cr3());
    __atomic_store_n(&tlb_done[self], r, __ATOMIC_RELEASE);
}

void arch_flush_translation(ULONG_PTR Va, SIZE_T Pages)
{
    if (Pages > 64)
        write_cr3(read_cr3());
    else
        for (SIZE_T i = 0; i < Pages; i++)
            invlpg(Va + i * 4096);
    ULONG self = KeGetCurrentProcessorIndex();
    ULONG64 ticket[ARCH_MAX_CPUS];
    BOOLEAN any = FALSE;
    for (ULONG n = 0; n < x86_cpu_count; n++) {
        ticket[n] = 0;
        if (n == self || !__atomic_load_n(&x86_cpus[n].Started, __ATOMIC_ACQUIRE))
            continue;
        ticket[n] = __atomic_add_fetch(&tlb_requests[n], 1, __ATOMIC_ACQ_REL);
        x86_apic_send(x86_cpus[n].ApicId, VECTOR_TLB);
        any = TRUE;
    }
    if (!any)
        return;
    for (ULONG n = 0; n < x86_cpu_count; n++) {
        while (ticket[n] && __atomic_load_n(&tlb_done[n], __ATOMIC_ACQUIRE) < ticket[n]) {
            /* Serve requests aimed at us meanwhile, in case our interrupts are off. */
            x86_tlb_shootdown_handler();
            __builtin_ia32_pause();
        }
    }
}

/* ---- kernel stacks ------------------------------------------------------------------------------ */

BOOLEAN x86_stack_allocate(SIZE_T Bytes, ULONG_PTR *Low, ULONG_PTR *High, ULONG *Slot)
{
    if (Bytes > STACK_SLOT_BYTES)
        return FALSE;
    ULONG64 flags = read_flags();
    cli();
    while (__atomic_exchange_n(&stack_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    BOOLEAN found = FALSE;
    for (ULONG s = 0; s < stack_slots; s++) {
        if (!(stack_bitmap[s / 64] & (1ULL << (s % 64)))) {
            stack_bitmap[s / 64] |= 1ULL << (s % 64);
            *Slot = s;
            found = TRUE;
            break;
        }
    }
    __atomic_store_n(&stack_lock, 0, __ATOMIC_RELEASE);
    if (flags & 0x200)
        sti();
    if (!found)
        return FALSE;
    *Low = STACK_VA_BASE + (ULONG_PTR)*Slot * STACK_SLOT_STRIDE + 4096;
    *High = *Low + STACK_SLOT_BYTES;
    return TRUE;
}

void x86_stack_free(ULONG Slot)
{
    ULONG64 flags = read_flags();
    cli();
    while (__atomic_exchange_n(&stack_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    BOOLEAN bad = Slot >= stack_slots || !(stack_bitmap[Slot / 64] & (1ULL << (Slot % 64)));
    if (!bad)
        stack_bitmap[Slot / 64] &= ~(1ULL << (Slot % 64));
    __atomic_store_n(&stack_lock, 0, __ATOMIC_RELEASE);
    if (flags & 0x200)
        sti();
    if (bad)
        KeBugCheckEx(MEMORY_MANAGEMENT, 0x5741C, Slot, stack_slots, 0);
}

/* The kernel ELF's virtual range (boot/kernel.ld): Ldr's ntoskrnl.exe entry. */
extern char __kernel_end[];
void arch_kernel_image_range(ULONG_PTR *Base, SIZE_T *Size)
{
    *Base = (ULONG_PTR)__kernel_text_start;
    *Size = (SIZE_T)(__kernel_end - __kernel_text_start);
}
