/*
 * Interrupt and exception entry: every vector's stub leaves the processor's
 * frame (with a zero pushed as error code where the processor pushes none)
 * and the interrupted rbp directly below it, so the common path finds the
 * KTRAP_FRAME's base (include/ntos/ktrap.h) at a fixed 0x158 below: the
 * documented Windows x64 layout, whose ErrorCode..SegSs tail is exactly the
 * processor's frame and whose Rbp slot sits right under it. The stub passes
 * its vector in rbp (already saved). The common path stores the volatile
 * registers and rbx/rsi/rdi in their KTRAP_FRAME slots and pushes a
 * KTRAP_EXTENSION below the frame (vector, r12-r15; Windows keeps r12-r15 in
 * a KEXCEPTION_FRAME), then calls x86_trap_dispatch(TrapFrame, Extension)
 * with rbp restored to the interrupted one, so frame-pointer backtraces from
 * the handler continue into the interrupted code. On return every register
 * is reloaded from the frame and extension, which a handler may have edited
 * (exception dispatch resuming a modified CONTEXT), and iretq resumes at the
 * frame's Rip/Rsp.
 *
 * Alignment: the processor aligns RSP to 16 before pushing its 5-word frame;
 * with the error code that is 48 bytes, the frame base is 0x160 below that
 * (16-byte aligned) and the extension is 0x30, so RSP is 16-byte aligned at
 * the call as the ABI requires. Everything runs in ring 0 with the kernel's
 * GS base, so there is no swapgs yet (PreviousMode is KernelMode).
 */
#define TF_SIZE           0x190
#define TF_PREVIOUS_MODE  0x28   /* PreviousMode, PreviousIrql, FaultIndicator, ExceptionActive, MxCsr */
#define TF_RAX            0x30
#define TF_RCX            0x38
#define TF_RDX            0x40
#define TF_R8             0x48
#define TF_R9             0x50
#define TF_R10            0x58
#define TF_R11            0x60
#define TF_FAULT_ADDRESS  0xD0
#define TF_SEG_DS         0x130
#define TF_SEG_ES         0x132
#define TF_SEG_FS         0x134
#define TF_SEG_GS         0x136
#define TF_TRAP_FRAME     0x138
#define TF_RBX            0x140
#define TF_RDI            0x148
#define TF_RSI            0x150
#define TF_RBP            0x158
#define TF_RIP            0x168
#define TF_RSP            0x180
#define TX_SIZE           0x30   /* KTRAP_EXTENSION */
#define TX_VECTOR         0x00
#define TX_R12            0x08
#define TX_R13            0x10
#define TX_R14            0x18
#define TX_R15            0x20
#define TX_RESERVED       0x28

    .text

.macro TRAP_STUB vector, has_error
    .globl x86_trap_stub_\vector
    .type x86_trap_stub_\vector, @function
x86_trap_stub_\vector:
    .if \has_error == 0
    pushq $0
    .endif
    pushq %rbp
    movl $\vector, %ebp
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
    /* CFA: the top of the KTRAP_FRAME (just above SegSs); the interrupted
     * rip, rsp and rbp are in the frame. */
    .cfi_startproc simple
    .cfi_signal_frame
    .cfi_def_cfa rsp, TF_SIZE - TF_RBP
    .cfi_offset rip, TF_RIP - TF_SIZE
    .cfi_offset rsp, TF_RSP - TF_SIZE
    .cfi_offset rbp, TF_RBP - TF_SIZE
    subq $TF_RBP, %rsp
    .cfi_adjust_cfa_offset TF_RBP
    movq %rax, TF_RAX(%rsp)
    movq %rcx, TF_RCX(%rsp)
    movq %rdx, TF_RDX(%rsp)
    movq %r8, TF_R8(%rsp)
    movq %r9, TF_R9(%rsp)
    movq %r10, TF_R10(%rsp)
    movq %r11, TF_R11(%rsp)
    movq %rbx, TF_RBX(%rsp)
    movq %rdi, TF_RDI(%rsp)
    movq %rsi, TF_RSI(%rsp)
    /* Clear the mode/IRQL/MxCsr word, FaultAddress and TrapFrame (x86_trap_dispatch fills what applies). */
    movq $0, TF_PREVIOUS_MODE(%rsp)
    movq $0, TF_FAULT_ADDRESS(%rsp)
    movq $0, TF_TRAP_FRAME(%rsp)
    movw %ds, TF_SEG_DS(%rsp)
    movw %es, TF_SEG_ES(%rsp)
    movw %fs, TF_SEG_FS(%rsp)
    movw %gs, TF_SEG_GS(%rsp)
    subq $TX_SIZE, %rsp
    .cfi_adjust_cfa_offset TX_SIZE
    movq %rbp, TX_VECTOR(%rsp)
    movq %r12, TX_R12(%rsp)
    movq %r13, TX_R13(%rsp)
    movq %r14, TX_R14(%rsp)
    movq %r15, TX_R15(%rsp)
    movq $0, TX_RESERVED(%rsp)
    movq TX_SIZE + TF_RBP(%rsp), %rbp
    cld
    leaq TX_SIZE(%rsp), %rdi
    movq %rsp, %rsi
    call x86_trap_dispatch
    movq TX_R12(%rsp), %r12
    movq TX_R13(%rsp), %r13
    movq TX_R14(%rsp), %r14
    movq TX_R15(%rsp), %r15
    addq $TX_SIZE, %rsp
    .cfi_adjust_cfa_offset -TX_SIZE
    movq TF_RAX(%rsp), %rax
    movq TF_RCX(%rsp), %rcx
    movq TF_RDX(%rsp), %rdx
    movq TF_R8(%rsp), %r8
    movq TF_R9(%rsp), %r9
    movq TF_R10(%rsp), %r10
    movq TF_R11(%rsp), %r11
    movq TF_RBX(%rsp), %rbx
    movq TF_RDI(%rsp), %rdi
    movq TF_RSI(%rsp), %rsi
    movq TF_RBP(%rsp), %rbp
    addq $TF_RIP, %rsp          /* past the error code, to the processor's frame */
    .cfi_adjust_cfa_offset -TF_RIP
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
