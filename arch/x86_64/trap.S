/*
 * Interrupt and exception entry: one stub per vector pushes a dummy error
 * code where the processor pushes none, then the vector, then the general
 * registers, giving the KTRAP_FRAME of x86.h, and calls x86_trap_dispatch
 * with it. The frame is 16-byte aligned at the call (the processor aligns
 * RSP before pushing its 5-word frame; 2 + 15 words follow), as the ABI
 * requires. Everything runs in ring 0 with the kernel's GS base, so there is
 * no swapgs yet.
 */
    .text

.macro TRAP_STUB vector, has_error
    .globl x86_trap_stub_\vector
    .type x86_trap_stub_\vector, @function
x86_trap_stub_\vector:
    .if \has_error == 0
    pushq $0
    .endif
    pushq $\vector
    jmp x86_trap_common
.endm

.irp v, 0,1,2,3,4,5,6,7,9,16,18,19,20,28
    TRAP_STUB \v, 0
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
    TRAP_STUB \v, 1
.endr
.irp v, 15,22,23,24,25,26,27,31
    TRAP_STUB \v, 0
.endr
/* Interrupt vectors in use: DISPATCH_LEVEL software interrupt, clock, IPI,
 * wake, TLB shootdown, spurious (the APC_LEVEL one, 0x1F, is stub 31). */
.irp v, 0x2F,0xD1,0xE1,0xE2,0xE3,0xFF
    TRAP_STUB \v, 0
.endr
/* ISA IRQs 0-15 through the IOAPIC (apic.c), and their table for the IDT. */
.irp v, 0x50,0x51,0x52,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5A,0x5B,0x5C,0x5D,0x5E,0x5F
    TRAP_STUB \v, 0
.endr
    .section .rodata
    .balign 8
    .globl x86_isa_stubs
x86_isa_stubs:
.irp v, 0x50,0x51,0x52,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5A,0x5B,0x5C,0x5D,0x5E,0x5F
    .quad x86_trap_stub_\v
.endr
    .text

    .type x86_trap_common, @function
x86_trap_common:
    .cfi_startproc simple
    .cfi_signal_frame
    .cfi_def_cfa rsp, 7 * 8
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %r11
    pushq %r10
    pushq %r9
    pushq %r8
    pushq %rbp
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %rbx
    pushq %rax
    .cfi_adjust_cfa_offset 15 * 8
    cld
    movq %rsp, %rdi
    call x86_trap_dispatch
    popq %rax
    popq %rbx
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rbp
    popq %r8
    popq %r9
    popq %r10
    popq %r11
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    addq $16, %rsp
    iretq
    .cfi_endproc
    .size x86_trap_common, .-x86_trap_common

/*
 * x86_switch_stacks(void **SaveSp, void *NewSp)
 *
 * Saves the SysV callee-saved registers, then the extended state (XSAVE of
 * every XCR0 component, or FXSAVE; cpu.c chooses) in an area of
 * x86_fpu_area_bytes at the next 64-byte boundary below them, with the
 * stack pointer from before the area stored just above it; stores the
 * area's address in *SaveSp, and resumes NewSp saved the same way (or built
 * by arch_context_create to return into x86_context_trampoline). Interrupt
 * flag and IRQL are per processor and are not part of the switch. rax, rcx
 * and rdx are scratch (caller-saved); XSAVE/XRSTOR take their component
 * mask in edx:eax (all ones: everything XCR0 enables).
 *
 *   NewSp ->  [area: x86_fpu_area_bytes]  [saved rsp]  ...  r15 r14 r13 r12 rbx rbp ret
 */
    .globl x86_switch_stacks
    .type x86_switch_stacks, @function
x86_switch_stacks:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %r8
    movq x86_fpu_area_bytes(%rip), %rcx
    subq %rcx, %rsp
    subq $8, %rsp
    andq $-64, %rsp
    movq %r8, (%rsp,%rcx)
    cmpb $0, x86_fpu_xsave(%rip)
    je 1f
    /* XSAVE writes only the XSTATE_BV bits of the components it saves
     * (header bytes 0-7; the other bits keep their old value), and XRSTOR
     * faults on a bit outside XCR0 or a nonzero XCOMP_BV/reserved byte
     * (8-63). This area is stack memory with old contents: clear the header. */
    xorl %eax, %eax
    movq %rax, 512(%rsp)
    movq %rax, 520(%rsp)
    movq %rax, 528(%rsp)
    movq %rax, 536(%rsp)
    movq %rax, 544(%rsp)
    movq %rax, 552(%rsp)
    movq %rax, 560(%rsp)
    movq %rax, 568(%rsp)
    movl $-1, %eax
    movl $-1, %edx
    xsave64 (%rsp)
    jmp 2f
1:  fxsave64 (%rsp)
2:  movq %rsp, (%rdi)
    movq %rsi, %rsp
    cmpb $0, x86_fpu_xsave(%rip)
    je 3f
    movl $-1, %eax
    movl $-1, %edx
    xrstor64 (%rsp)
    jmp 4f
3:  fxrstor64 (%rsp)
4:  movq x86_fpu_area_bytes(%rip), %rcx
    movq (%rsp,%rcx), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size x86_switch_stacks, .-x86_switch_stacks

    .globl x86_context_trampoline
    .type x86_context_trampoline, @function
x86_context_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r12, %rdi
    call x86_context_start
    ud2
    .cfi_endproc
    .size x86_context_trampoline, .-x86_context_trampoline

/* Application processors arrive here from the trampoline, in the kernel's
 * half of the boot page tables, with the final root in %rcx and the boot
 * stack in %rsp (mapped only by the final tables, so it is untouched until
 * CR3 is switched). */
    .globl x86_ap_long_mode
    .type x86_ap_long_mode, @function
x86_ap_long_mode:
    movq %rcx, %cr3
    call x86_ap_entry64
    ud2
    .size x86_ap_long_mode, .-x86_ap_long_mode

/*
 * Application processor start-up code, copied to physical 0x8000 (the SIPI
 * vector 0x08) before the INIT-SIPI-SIPI sequence. It starts in real mode,
 * goes through 32-bit protected mode into long mode on the boot shim's page
 * tables (which identity-map this page and map the kernel), and jumps to
 * x86_ap_long_mode in the kernel with the stack and page-table root from
 * the mailbox at its end.
 */
#define TRAMPOLINE 0x8000
#define T(label) (label - x86_ap_trampoline + TRAMPOLINE)

    .section .rodata
    .globl x86_ap_trampoline, x86_ap_trampoline_end
    .balign 16
    .code16
x86_ap_trampoline:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl T(ap_gdt_descriptor)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $T(ap_protected)
    .code32
ap_protected:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl T(ap_mailbox_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x900, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax
    movl %eax, %cr0
    ljmp $0x18, $T(ap_long)
    .code64
ap_long:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq T(ap_mailbox_stack), %rsp
    movq T(ap_mailbox_root), %rcx
    movabsq $x86_ap_long_mode, %rax
    xorl %ebp, %ebp
    jmp *%rax
    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF    /* 0x08 32-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10 data */
    .quad 0x00AF9A000000FFFF    /* 0x18 64-bit code */
ap_gdt_end:
ap_gdt_descriptor:
    .word ap_gdt_end - ap_gdt - 1
    .long T(ap_gdt)
    .balign 8
    .globl x86_ap_mailbox
x86_ap_mailbox:
ap_mailbox_cr3:
    .quad 0
ap_mailbox_stack:
    .quad 0
ap_mailbox_root:
    .quad 0
x86_ap_trampoline_end:

    .section .note.GNU-stack, "", @progbits
