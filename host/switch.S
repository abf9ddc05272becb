/*
 * host_switch_stacks(void **SaveSp, void *NewSp)
 *
 * Saves the SysV callee-saved registers on the current stack, stores the stack
 * pointer in *SaveSp and resumes the stack NewSp, which was saved the same way
 * (or built by host_context_create to "return" into host_context_trampoline).
 * The kernel itself uses the SysV ABI on the host; ms_abi callers (PE drivers)
 * never reach a switch without passing through a kernel function that already
 * preserved their extra callee-saved registers (rsi, rdi, xmm6-15).
 * MXCSR and the x87 control word are per CPU on the host: the kernel never
 * changes them.
 */
    .text
    .globl host_switch_stacks
    .type host_switch_stacks, @function
host_switch_stacks:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size host_switch_stacks, .-host_switch_stacks

/* First code run on a new context: r12 holds the context, rsp is 16-byte
 * aligned, so the call enters host_context_start as the ABI expects. */
    .globl host_context_trampoline
    .type host_context_trampoline, @function
host_context_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r12, %rdi
    call host_context_start
    ud2
    .cfi_endproc
    .size host_context_trampoline, .-host_context_trampoline

    .section .note.GNU-stack,"",@progbits
