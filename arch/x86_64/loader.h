/*
 * The loader block: what the boot shim (boot/) hands to KiSystemStartup. It
 * describes the machine as the boot protocol reported it, before the kernel
 * touches anything: the firmware memory map (E820 types), the command line,
 * boot modules, the console and the ACPI root pointer. Everything it points
 * to is addressed physically; the shim copies strings into the block itself
 * so they survive the kernel reusing low memory.
 */
#ifndef NTOS_X86_LOADER_H
#define NTOS_X86_LOADER_H

#include <ntos/ntdef.h>

#define LOADER_MAX_MEMORY 64
#define LOADER_MAX_MODULES 8
#define LOADER_COMMAND_LINE 512

/* E820 types, as the firmware reports them. */
#define LOADER_MEMORY_RAM 1
#define LOADER_MEMORY_RESERVED 2
#define LOADER_MEMORY_ACPI 3
#define LOADER_MEMORY_NVS 4

typedef struct _LOADER_MEMORY_RANGE {
    ULONG64 Base;
    ULONG64 Length;
    ULONG Type;
    ULONG Reserved;
} LOADER_MEMORY_RANGE;

typedef struct _LOADER_MODULE {
    ULONG64 Base;   /* physical */
    ULONG64 Size;
    char CommandLine[64];
} LOADER_MODULE;

typedef struct _LOADER_PARAMETER_BLOCK {
    const char *BootProtocol;        /* "pvh" */
    ULONG MemoryCount;
    LOADER_MEMORY_RANGE Memory[LOADER_MAX_MEMORY];
    ULONG ModuleCount;
    LOADER_MODULE Modules[LOADER_MAX_MODULES];
    char CommandLine[LOADER_COMMAND_LINE];
    ULONG64 RsdpPhysical;            /* 0: not reported, the kernel scans the BIOS areas */
    USHORT SerialPort;               /* I/O port of the console UART (COM1) */
    ULONG64 FramebufferPhysical;     /* 0: none (PVH reports no framebuffer) */
    ULONG64 KernelPhysicalStart, KernelPhysicalEnd;
} LOADER_PARAMETER_BLOCK, *PLOADER_PARAMETER_BLOCK;

/* The kernel entry on the boot processor, on the boot stack, interrupts off. */
DECLSPEC_NORETURN void KiSystemStartup(PLOADER_PARAMETER_BLOCK LoaderBlock);

#endif /* NTOS_X86_LOADER_H */
