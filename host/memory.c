/*
 * Host backend: simulated physical memory and the MMU.
 *
 * "Physical memory" is a memfd: RAM at physical 1 MB and up (NTOS_MEMORY_MB,
 * default 256 MB) and 1 MB of device space at 0xF0000000 for simulated MMIO.
 * The whole file is mapped once as the direct map (arch_physical_pointer).
 *
 * The system virtual range is a reserved, inaccessible stretch of the
 * process's address space. Mm builds x86_64 page tables in simulated physical
 * memory; arch_flush_translation plays the MMU: it walks those tables for the
 * flushed pages and maps each present page at its virtual address as a shared
 * view of the memfd page it names (read-only unless writable, executable only
 * without NX), or makes it inaccessible again. So a mapping Mm creates is an
 * alias the C code can dereference, and a page Mm unmaps faults, as on
 * hardware.
 *
 * Locking: the descriptors and mappings are set up once in host_memory_init
 * (boot, one thread); arch_flush_translation only issues mmap calls for the
 * pages its caller owns, which the kernel serialises.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host_private.h"

#define RAM_BASE 0x100000ULL
#define DEVICE_BASE 0xF0000000ULL
#define DEVICE_BYTES (1ULL << 20)
#define SYSTEM_VA_BYTES (64ULL << 30)
#define GB (1ULL << 30)

#define PTE_PRESENT 0x1ULL
#define PTE_WRITE 0x2ULL
#define PTE_LARGE 0x80ULL
#define PTE_NX (1ULL << 63)
#define PTE_ADDRESS 0x000FFFFFFFFFF000ULL

static int memfd = -1;
static UCHAR *direct;
static ULONG64 ram_bytes;
static ARCH_MEMORY_DESCRIPTOR descriptors[2];
static ULONG_PTR system_va;
static ULONG64 page_table_root;

static BOOLEAN file_offset(ULONG64 pa, ULONG64 *offset)
{
    if (pa >= RAM_BASE && pa < RAM_BASE + ram_bytes) {
        *offset = pa - RAM_BASE;
        return TRUE;
    }
    if (pa >= DEVICE_BASE && pa < DEVICE_BASE + DEVICE_BYTES) {
        *offset = ram_bytes + (pa - DEVICE_BASE);
        return TRUE;
    }
    return FALSE;
}

void host_memory_init(void)
{
    const char *s = getenv("NTOS_MEMORY_MB");
    ULONG64 mb = s && atoi(s) >= 16 ? (ULONG64)atoi(s) : 256;
    ram_bytes = mb << 20;
    memfd = memfd_create("ntos-physical-memory", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)(ram_bytes + DEVICE_BYTES)) != 0) {
        perror("ntos host: physical memory");
        _exit(HOST_EXIT_SETUP);
    }
    direct = mmap(NULL, ram_bytes + DEVICE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (direct == MAP_FAILED) {
        perror("ntos host: direct map");
        _exit(HOST_EXIT_SETUP);
    }
    descriptors[0] = (ARCH_MEMORY_DESCRIPTOR){RAM_BASE >> ARCH_PAGE_SHIFT, ram_bytes >> ARCH_PAGE_SHIFT,
                                              ArchMemoryFree, 0};
    descriptors[1] = (ARCH_MEMORY_DESCRIPTOR){DEVICE_BASE >> ARCH_PAGE_SHIFT, DEVICE_BYTES >> ARCH_PAGE_SHIFT,
                                              ArchMemoryDevice, 0};
    /* Reserve the system range, 1 GB aligned so page-table indices line up. */
    UCHAR *r = mmap(NULL, SYSTEM_VA_BYTES + GB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
        perror("ntos host: system address range");
        _exit(HOST_EXIT_SETUP);
    }
    system_va = ((ULONG_PTR)r + GB - 1) & ~(ULONG_PTR)(GB - 1);
}

ULONG arch_memory_map(const ARCH_MEMORY_DESCRIPTOR **Descriptors)
{
    *Descriptors = descriptors;
    return 2;
}

PVOID arch_physical_pointer(ULONG64 PhysicalAddress)
{
    ULONG64 offset;
    return file_offset(PhysicalAddress, &offset) ? direct + offset : NULL;
}

void arch_system_va_range(ULONG_PTR *Base, SIZE_T *Size)
{
    *Base = system_va;
    *Size = SYSTEM_VA_BYTES;
}

void arch_set_page_table_root(ULONG64 Pml4Physical)
{
    __atomic_store_n(&page_table_root, Pml4Physical, __ATOMIC_RELEASE);
}

/* The MMU's walk: the leaf entry for va and the size of the page it maps. */
static ULONG64 walk(ULONG_PTR va, ULONG64 *page_bytes)
{
    ULONG64 table = __atomic_load_n(&page_table_root, __ATOMIC_ACQUIRE);
    for (int level = 3; level >= 0; level--) {
        ULONG64 *entries = arch_physical_pointer(table);
        if (entries == NULL)
            return 0;
        ULONG64 e = __atomic_load_n(&entries[(va >> (12 + 9 * level)) & 511], __ATOMIC_ACQUIRE);
        if (!(e & PTE_PRESENT))
            return 0;
        if (level == 0 || ((e & PTE_LARGE) && level <= 2)) {
            *page_bytes = 1ULL << (12 + 9 * level);
            return e;
        }
        table = e & PTE_ADDRESS;
    }
    return 0;
}

void arch_flush_translation(ULONG_PTR Va, SIZE_T Pages)
{
    for (SIZE_T i = 0; i < Pages; i++) {
        ULONG_PTR va = Va + i * ARCH_PAGE_SIZE;
        if (va < system_va || va >= system_va + SYSTEM_VA_BYTES)
            continue;
        ULONG64 page_bytes = ARCH_PAGE_SIZE;
        ULONG64 e = walk(va, &page_bytes);
        ULONG64 offset;
        void *r;
        if (e && file_offset((e & PTE_ADDRESS & ~(page_bytes - 1)) + (va & (page_bytes - 1)), &offset)) {
            int prot = PROT_READ | ((e & PTE_WRITE) ? PROT_WRITE : 0) | ((e & PTE_NX) ? 0 : PROT_EXEC);
            r = mmap((void *)va, ARCH_PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED, memfd, (off_t)offset);
        } else {
            r = mmap((void *)va, ARCH_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
                     -1, 0);
        }
        if (r == MAP_FAILED) {
            fprintf(stderr, "ntos host: cannot map %#lx: %s\n", (unsigned long)va, strerror(errno));
            _exit(HOST_EXIT_SETUP);
        }
    }
}

/* The executable's own ELF mapping, from its first byte (the linker's
 * __executable_start, the ELF header) to _end (the end of .bss): Ldr lists
 * it as ntoskrnl.exe, since the hosted kernel is linked into it. */
extern char __executable_start[], _end[];
void arch_kernel_image_range(ULONG_PTR *Base, SIZE_T *Size)
{
    *Base = (ULONG_PTR)__executable_start;
    *Size = (SIZE_T)(_end - __executable_start);
}
