/*
 * Boot shim, first half: the PVH entry point.
 *
 * `qemu-system-x86_64 -kernel ntoskrnl.elf` finds the Xen PHYS32_ENTRY note,
 * loads the ELF by physical address and jumps here in 32-bit protected mode,
 * paging off, interrupts off, with %ebx = physical address of the
 * hvm_start_info block (memory map, command line, modules, RSDP).
 *
 * This code runs at its physical address (it is linked there, see
 * kernel.ld). It builds early page tables that map the first 1 GB twice,
 * identity (for this code and the processor start-up trampoline) and at
 * 0xFFFFFFFF80000000 (the kernel image), enables PAE, long mode and NX, and
 * jumps to the 64-bit kernel in the top 2 GB with the start info pointer in
 * %rdi. The final page tables (W^X, direct map) are built in C later.
 *
 * The early GDT already has the NT x64 selector numbers (kernel code 0x10,
 * data 0x18) so nothing changes when the real per-processor GDT is loaded.
 */
#define CR0_PE 0x1
#define CR0_WP 0x10000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xC0000080
#define EFER_LME 0x100
#define EFER_NXE 0x800
#define KERNEL_VMA 0xFFFFFFFF80000000

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                 /* name size: "Xen\0" */
    .long 4                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start32

    .section .boot.text, "ax", @progbits
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, boot_start_info
    movl $boot_stack_top, %esp
    lgdt boot_gdt_descriptor
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss

    /* PD: 512 large (2 MB) pages covering 0..1 GB, present|write|large. */
    movl $boot_pd, %edi
    xorl %eax, %eax
1:  movl %eax, %edx
    shll $21, %edx
    orl $0x83, %edx
    movl %edx, (%edi,%eax,8)
    movl $0, 4(%edi,%eax,8)
    incl %eax
    cmpl $512, %eax
    jne 1b
    /* Identity: PML4[0] -> PDPT_LOW[0] -> PD. Kernel: PML4[511] -> PDPT_HIGH[510] -> PD. */
    movl $boot_pdpt_low, %eax
    orl $3, %eax
    movl %eax, boot_pml4
    movl $boot_pdpt_high, %eax
    orl $3, %eax
    movl %eax, boot_pml4 + 511 * 8
    movl $boot_pd, %eax
    orl $3, %eax
    movl %eax, boot_pdpt_low
    movl %eax, boot_pdpt_high + 510 * 8

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $(EFER_LME | EFER_NXE), %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $0x10, $boot_long_mode

    .code64
boot_long_mode:
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $x86_boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_start_info, %edi
    movabsq $x86_pvh_main, %rax
    call *%rax
2:  cli
    hlt
    jmp 2b

    .section .boot.data, "aw", @progbits
    .balign 16
    .globl boot_gdt
boot_gdt:
    .quad 0                         /* 0x00 null */
    .quad 0                         /* 0x08 unused */
    .quad 0x00AF9A000000FFFF        /* 0x10 kernel code, 64-bit */
    .quad 0x00CF92000000FFFF        /* 0x18 kernel data */
boot_gdt_end:
    .globl boot_gdt_descriptor
boot_gdt_descriptor:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
boot_start_info:
    .long 0

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .globl boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd:
    .skip 4096
    .skip 4096
boot_stack_top:

/* Processor 0's boot stack (later the initial system thread's), in the
 * kernel's bss; its first page is the guard, left unmapped by the final page
 * tables (arch/x86_64/memory.c). */
    .section .bss.x86_boot_stack, "aw", @nobits
    .balign 4096
    .globl x86_boot_stack_guard, x86_boot_stack_bottom, x86_boot_stack_top
x86_boot_stack_guard:
    .skip 4096
x86_boot_stack_bottom:
    .skip 65536
x86_boot_stack_top:

    .section .note.GNU-stack, "", @progbits
