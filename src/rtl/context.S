/*
 * Capturing and resuming an x64 CONTEXT, and the frame through which the
 * exception dispatcher and the unwinder call language handlers.
 *
 * CONTEXT offsets (include/ntos/context.h): ContextFlags 0x30, MxCsr 0x34,
 * SegCs..SegSs 0x38..0x42, EFlags 0x44, Rax 0x78 ... R15 0xF0 in x64
 * register order, Rip 0xF8, FltSave.MxCsr 0x118, Xmm0..Xmm15 0x1A0..0x290.
 */
#define CX_FLAGS 0x30
#define CX_MXCSR 0x34
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
#define CX_FLT_MXCSR 0x118
#define CX_XMM0 0x1A0
/* CONTEXT_FULL | CONTEXT_SEGMENTS */
#define CAPTURE_FLAGS 0x0010000F
#define CONTEXT_FLOATING_POINT_BIT 0x8
/* Arithmetic flags, DF and IF (plus the always-one bit 1): what a resumed
 * context may set; TF, AC, NT and IOPL are never restored from a record. */
#define EFLAGS_RESTORABLE 0x0ED7

    .text

/* VOID NTAPI RtlCaptureContext(PCONTEXT ContextRecord): the caller's
 * registers as they are at the call, Rip = the return address, Rsp = the
 * caller's stack pointer after the return. */
    .globl RtlCaptureContext
    .type RtlCaptureContext, @function
    .p2align 4
RtlCaptureContext:
    .cfi_startproc
    pushfq
    .cfi_adjust_cfa_offset 8
    movq %rax, CX_RAX(%rcx)
    movq %rcx, CX_RCX(%rcx)
    movq %rdx, CX_RDX(%rcx)
    movq %rbx, CX_RBX(%rcx)
    leaq 16(%rsp), %rax
    movq %rax, CX_RSP(%rcx)
    movq %rbp, CX_RBP(%rcx)
    movq %rsi, CX_RSI(%rcx)
    movq %rdi, CX_RDI(%rcx)
    movq %r8, CX_R8(%rcx)
    movq %r9, CX_R9(%rcx)
    movq %r10, CX_R10(%rcx)
    movq %r11, CX_R11(%rcx)
    movq %r12, CX_R12(%rcx)
    movq %r13, CX_R13(%rcx)
    movq %r14, CX_R14(%rcx)
    movq %r15, CX_R15(%rcx)
    movq 8(%rsp), %rax
    movq %rax, CX_RIP(%rcx)
    popq %rax
    .cfi_adjust_cfa_offset -8
    movl %eax, CX_EFLAGS(%rcx)
    movw %cs, 0x38(%rcx)
    movw %ds, 0x3A(%rcx)
    movw %es, 0x3C(%rcx)
    movw %fs, 0x3E(%rcx)
    movw %gs, 0x40(%rcx)
    movw %ss, 0x42(%rcx)
    stmxcsr CX_MXCSR(%rcx)
    stmxcsr CX_FLT_MXCSR(%rcx)
    movups %xmm0, CX_XMM0+0x00(%rcx)
    movups %xmm1, CX_XMM0+0x10(%rcx)
    movups %xmm2, CX_XMM0+0x20(%rcx)
    movups %xmm3, CX_XMM0+0x30(%rcx)
    movups %xmm4, CX_XMM0+0x40(%rcx)
    movups %xmm5, CX_XMM0+0x50(%rcx)
    movups %xmm6, CX_XMM0+0x60(%rcx)
    movups %xmm7, CX_XMM0+0x70(%rcx)
    movups %xmm8, CX_XMM0+0x80(%rcx)
    movups %xmm9, CX_XMM0+0x90(%rcx)
    movups %xmm10, CX_XMM0+0xA0(%rcx)
    movups %xmm11, CX_XMM0+0xB0(%rcx)
    movups %xmm12, CX_XMM0+0xC0(%rcx)
    movups %xmm13, CX_XMM0+0xD0(%rcx)
    movups %xmm14, CX_XMM0+0xE0(%rcx)
    movups %xmm15, CX_XMM0+0xF0(%rcx)
    movl $CAPTURE_FLAGS, CX_FLAGS(%rcx)
    movq CX_RAX(%rcx), %rax
    ret
    .cfi_endproc
    .size RtlCaptureContext, .-RtlCaptureContext

/* VOID NTAPI RtlRestoreContext(PCONTEXT ContextRecord, PEXCEPTION_RECORD):
 * resumes the context in the current privilege level on its own stack. The
 * RIP, flags and RCX travel through the 24 bytes below the target RSP, which
 * belong to the frames being abandoned. XMM state and MXCSR only when the
 * record carries CONTEXT_FLOATING_POINT (a trap frame's context may not). */
    .globl RtlRestoreContext
    .type RtlRestoreContext, @function
    .p2align 4
RtlRestoreContext:
    .cfi_startproc
    testl $CONTEXT_FLOATING_POINT_BIT, CX_FLAGS(%rcx)
    jz 1f
    ldmxcsr CX_MXCSR(%rcx)
    movups CX_XMM0+0x00(%rcx), %xmm0
    movups CX_XMM0+0x10(%rcx), %xmm1
    movups CX_XMM0+0x20(%rcx), %xmm2
    movups CX_XMM0+0x30(%rcx), %xmm3
    movups CX_XMM0+0x40(%rcx), %xmm4
    movups CX_XMM0+0x50(%rcx), %xmm5
    movups CX_XMM0+0x60(%rcx), %xmm6
    movups CX_XMM0+0x70(%rcx), %xmm7
    movups CX_XMM0+0x80(%rcx), %xmm8
    movups CX_XMM0+0x90(%rcx), %xmm9
    movups CX_XMM0+0xA0(%rcx), %xmm10
    movups CX_XMM0+0xB0(%rcx), %xmm11
    movups CX_XMM0+0xC0(%rcx), %xmm12
    movups CX_XMM0+0xD0(%rcx), %xmm13
    movups CX_XMM0+0xE0(%rcx), %xmm14
    movups CX_XMM0+0xF0(%rcx), %xmm15
1:
    movq CX_RSP(%rcx), %r11
    subq $24, %r11
    movq CX_RIP(%rcx), %rax
    movl CX_EFLAGS(%rcx), %edx
    andl $EFLAGS_RESTORABLE, %edx
    orl $2, %edx
    movq CX_RCX(%rcx), %r8
    movq %rax, 16(%r11)
    movq %rdx, 8(%r11)
    movq %r8, 0(%r11)
    movq CX_RAX(%rcx), %rax
    movq CX_RDX(%rcx), %rdx
    movq CX_RBX(%rcx), %rbx
    movq CX_RBP(%rcx), %rbp
    movq CX_RSI(%rcx), %rsi
    movq CX_RDI(%rcx), %rdi
    movq CX_R8(%rcx), %r8
    movq CX_R9(%rcx), %r9
    movq CX_R10(%rcx), %r10
    movq CX_R12(%rcx), %r12
    movq CX_R13(%rcx), %r13
    movq CX_R14(%rcx), %r14
    movq CX_R15(%rcx), %r15
    movq %r11, %rsp
    movq CX_R11(%rcx), %r11
    popq %rcx
    popfq
    ret
    .cfi_endproc
    .size RtlRestoreContext, .-RtlRestoreContext

/*
 * EXCEPTION_DISPOSITION RtlpExecuteHandler(PRTLP_HANDLER_CALL Call)  (SysV, internal)
 *
 * Calls Call->Handler(ExceptionRecord, EstablisherFrame, ContextRecord,
 * DispatcherContext) with the Microsoft convention. A stack walk that steps
 * out of a handler arrives at RtlpExecuteHandlerReturn with the call record
 * at [RSP + 32]: that is how a nested exception (raised inside a filter or
 * handler) and a collided unwind (an unwind passing a termination handler
 * that is itself unwinding) recognise the dispatch or unwind in progress.
 */
    .globl RtlpExecuteHandler
    .globl RtlpExecuteHandlerReturn
    .type RtlpExecuteHandler, @function
    .p2align 4
RtlpExecuteHandler:
    .cfi_startproc
    subq $40, %rsp
    .cfi_adjust_cfa_offset 40
    movq %rdi, 32(%rsp)
    movq 0(%rdi), %rcx
    movq 8(%rdi), %rdx
    movq 16(%rdi), %r8
    movq 24(%rdi), %r9
    call *32(%rdi)
RtlpExecuteHandlerReturn:
    addq $40, %rsp
    .cfi_adjust_cfa_offset -40
    ret
    .cfi_endproc
    .size RtlpExecuteHandler, .-RtlpExecuteHandler

    .section .note.GNU-stack,"",@progbits
