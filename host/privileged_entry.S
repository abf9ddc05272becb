/*
 * The two halves of running kernel code on behalf of a faulting foreign
 * instruction (see privileged.c).
 *
 * host_foreign_entry: the signal handler resumes the thread here instead of at
 * the faulting instruction, with every register as the foreign code left it.
 * It runs on the thread's own stack, never the signal stack, so the kernel code
 * it calls may block, take interrupts and switch threads. It
 *  - steps 128 bytes down first: the red zone below the interrupted stack
 *    pointer may hold live data (Windows x64 code has none, SysV code does);
 *  - pushes rflags and the 15 other general registers (Saved[0] = rax ...
 *    Saved[14] = r15, Saved[15] = rflags; lea and push leave the flags alone);
 *  - reserves a 64-byte aligned CONTEXT below them and fxsaves the x87/SSE
 *    state (xmm0-15, MXCSR) straight into CONTEXT.FltSave;
 *  - calls host_foreign_work(Context, Saved) with DF clear as SysV requires;
 *  - resumes the CONTEXT it returns with (host_restore_context).
 * There is no caller frame to unwind into: the CFI marks the end of the stack.
 *
 * host_restore_context(const CONTEXT *Context): loads x87/SSE state, all general
 * registers, the arithmetic flags, RSP and RIP from an NT CONTEXT and continues
 * there. iretq is the one instruction that loads RIP, RSP and RFLAGS together,
 * and at CPL 3 it may return to the same privilege level; CS and SS are the
 * process's own (the CONTEXT carries NT's kernel selectors for handlers to read).
 * Only CF PF AF ZF SF DF OF are taken from EFlags (TF and AC would change how the
 * code runs; IF is always set in a Linux process).
 */
#define CX_EFLAGS 0x44
#define CX_RAX 0x78
#define CX_RCX 0x80
#define CX_RDX 0x88
#define CX_RBX 0x90
#define CX_RSP 0x98
#define CX_RBP 0xA0
#define CX_RSI 0xA8
#define CX_RDI 0xB0
#define CX_R8 0xB8
#define CX_R9 0xC0
#define CX_R10 0xC8
#define CX_R11 0xD0
#define CX_R12 0xD8
#define CX_R13 0xE0
#define CX_R14 0xE8
#define CX_R15 0xF0
#define CX_RIP 0xF8
#define CX_FLTSAVE 0x100
#define CX_SIZE 0x4D0

    .text
    .globl host_foreign_entry
    .type host_foreign_entry, @function
host_foreign_entry:
    .cfi_startproc
    .cfi_undefined rip
    leaq -128(%rsp), %rsp
    pushfq
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %r11
    pushq %r10
    pushq %r9
    pushq %r8
    pushq %rdi
    pushq %rsi
    pushq %rbp
    pushq %rbx
    pushq %rdx
    pushq %rcx
    pushq %rax
    movq %rsp, %rbx
    subq $CX_SIZE, %rsp
    andq $-64, %rsp
    fxsave64 CX_FLTSAVE(%rsp)
    movq %rsp, %r12
    movq %rsp, %rdi
    movq %rbx, %rsi
    cld
    call host_foreign_work
    movq %r12, %rdi
    jmp host_restore_context
    .cfi_endproc
    .size host_foreign_entry, . - host_foreign_entry

    .globl host_restore_context
    .type host_restore_context, @function
host_restore_context:
    .cfi_startproc
    fxrstor64 CX_FLTSAVE(%rdi)
    movl %ss, %eax
    pushq %rax
    pushq CX_RSP(%rdi)
    movl CX_EFLAGS(%rdi), %eax
    andl $0xCD5, %eax
    orl $0x202, %eax
    pushq %rax
    movl %cs, %eax
    pushq %rax
    pushq CX_RIP(%rdi)
    movq CX_RAX(%rdi), %rax
    movq CX_RCX(%rdi), %rcx
    movq CX_RDX(%rdi), %rdx
    movq CX_RBX(%rdi), %rbx
    movq CX_RBP(%rdi), %rbp
    movq CX_RSI(%rdi), %rsi
    movq CX_R8(%rdi), %r8
    movq CX_R9(%rdi), %r9
    movq CX_R10(%rdi), %r10
    movq CX_R11(%rdi), %r11
    movq CX_R12(%rdi), %r12
    movq CX_R13(%rdi), %r13
    movq CX_R14(%rdi), %r14
    movq CX_R15(%rdi), %r15
    movq CX_RDI(%rdi), %rdi
    iretq
    .cfi_endproc
    .size host_restore_context, . - host_restore_context

    .section .note.GNU-stack, "", @progbits
