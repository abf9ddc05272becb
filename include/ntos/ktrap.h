/*
 * The x64 trap frame (KTRAP_FRAME), as Windows lays it out: the bare-metal
 * entry stubs (arch/x86_64/trap.S) build it on the kernel stack for every
 * exception and interrupt, and everything that looks at an interrupted
 * context (the exception dispatcher, the bug-check printout, debuggers)
 * reads it at the documented offsets pinned below.
 *
 * The top 0x30 bytes (ErrorCode, Rip, SegCs, EFlags, Rsp, SegSs) are the
 * processor's own interrupt frame: the CPU pushes Ss..Rip, and the error
 * code for the vectors that have one (the stubs push a zero for the others),
 * so a frame's base is always (RSP after the error code) - 0x160. The
 * processor aligns RSP to 16 before pushing, so the frame is 16-byte aligned.
 *
 * Windows does not keep the vector number nor the nonvolatile registers in
 * the trap frame (its handlers know their vector; r12-r15 live in the
 * KEXCEPTION_FRAME its exception paths push below the trap frame). ntos
 * uses one common entry path, so the stubs push a KTRAP_EXTENSION directly
 * below the trap frame: the vector and r12-r15, which CONTEXT conversion
 * needs and the entry path restores. (rbx, rdi, rsi and rbp have their
 * slots in the trap frame itself.) It is ntos's own layout, not
 * KEXCEPTION_FRAME's, and only the trap path and arch code use it.
 *
 *   higher addresses
 *     SegSs .. Rip          processor frame            (frame + 0x188 .. 0x168)
 *     ErrorCode             processor, or zero         (frame + 0x160)
 *     Rbp .. P1Home         entry stub                 (frame + 0x158 .. 0x000)
 *     KTRAP_EXTENSION       entry stub                 (frame - 0x30 .. frame)
 *   lower addresses         <- RSP at the call into C (16-byte aligned)
 */
#ifndef NTOS_KTRAP_H
#define NTOS_KTRAP_H

#include <ntos/ntdef.h>
#include <ntos/context.h>

typedef struct _KTRAP_FRAME {
    /* Home space for the callee's register parameters, and a fifth one. */
    ULONG64 P1Home;
    ULONG64 P2Home;
    ULONG64 P3Home;
    ULONG64 P4Home;
    ULONG64 P5;
    CHAR PreviousMode;      /* KernelMode (0) or UserMode (1) of the interrupted code */
    UCHAR PreviousIrql;     /* IRQL (CR8) when the trap was taken; restored on exit */
    UCHAR FaultIndicator;
    UCHAR ExceptionActive;  /* 0 interrupt, 1 exception (2 would be a system service) */
    ULONG MxCsr;
    /* Volatile integer registers. */
    ULONG64 Rax;
    ULONG64 Rcx;
    ULONG64 Rdx;
    ULONG64 R8;
    ULONG64 R9;
    ULONG64 R10;
    ULONG64 R11;
    union {
        ULONG64 GsBase;
        ULONG64 GsSwap;
    };
    /* Volatile XMM registers: kernel code is built without SSE
     * (-mgeneral-regs-only) and threads' vector state is switched with the
     * thread, so the kernel-mode entry path leaves these unused. */
    M128A Xmm0;
    M128A Xmm1;
    M128A Xmm2;
    M128A Xmm3;
    M128A Xmm4;
    M128A Xmm5;
    union {
        ULONG64 FaultAddress;   /* CR2 for a page fault */
        ULONG64 ContextRecord;
    };
    ULONG64 Dr0;
    ULONG64 Dr1;
    ULONG64 Dr2;
    ULONG64 Dr3;
    ULONG64 Dr6;
    ULONG64 Dr7;
    ULONG64 DebugControl;
    ULONG64 LastBranchToRip;
    ULONG64 LastBranchFromRip;
    ULONG64 LastExceptionToRip;
    ULONG64 LastExceptionFromRip;
    USHORT SegDs;
    USHORT SegEs;
    USHORT SegFs;
    USHORT SegGs;
    ULONG64 TrapFrame;
    /* Nonvolatile registers the entry path saves here (the others: below). */
    ULONG64 Rbx;
    ULONG64 Rdi;
    ULONG64 Rsi;
    ULONG64 Rbp;
    /* The processor's interrupt frame. */
    union {
        ULONG64 ErrorCode;
        ULONG64 ExceptionFrame;
    };
    ULONG64 Rip;
    USHORT SegCs;
    UCHAR Fill0;
    UCHAR Logging;
    USHORT Fill1[2];
    ULONG EFlags;
    ULONG Fill2;
    ULONG64 Rsp;
    USHORT SegSs;
    USHORT Fill3;
    ULONG Fill4;
} KTRAP_FRAME, *PKTRAP_FRAME;

NTOS_ASSERT_SIZE(KTRAP_FRAME, 0x190);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, P1Home, 0x00);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, P2Home, 0x08);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, P3Home, 0x10);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, P4Home, 0x18);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, P5, 0x20);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, PreviousMode, 0x28);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, PreviousIrql, 0x29);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, FaultIndicator, 0x2A);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, ExceptionActive, 0x2B);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, MxCsr, 0x2C);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rax, 0x30);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rcx, 0x38);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rdx, 0x40);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, R8, 0x48);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, R9, 0x50);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, R10, 0x58);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, R11, 0x60);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, GsBase, 0x68);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, GsSwap, 0x68);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Xmm0, 0x70);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Xmm1, 0x80);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Xmm2, 0x90);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Xmm3, 0xA0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Xmm4, 0xB0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Xmm5, 0xC0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, FaultAddress, 0xD0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, ContextRecord, 0xD0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Dr0, 0xD8);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Dr1, 0xE0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Dr2, 0xE8);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Dr3, 0xF0);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Dr6, 0xF8);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Dr7, 0x100);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, DebugControl, 0x108);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, LastBranchToRip, 0x110);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, LastBranchFromRip, 0x118);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, LastExceptionToRip, 0x120);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, LastExceptionFromRip, 0x128);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, SegDs, 0x130);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, SegEs, 0x132);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, SegFs, 0x134);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, SegGs, 0x136);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, TrapFrame, 0x138);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rbx, 0x140);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rdi, 0x148);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rsi, 0x150);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rbp, 0x158);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, ErrorCode, 0x160);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, ExceptionFrame, 0x160);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rip, 0x168);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, SegCs, 0x170);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Fill0, 0x172);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Logging, 0x173);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Fill1, 0x174);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, EFlags, 0x178);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Fill2, 0x17C);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Rsp, 0x180);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, SegSs, 0x188);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Fill3, 0x18A);
NTOS_ASSERT_OFFSET(KTRAP_FRAME, Fill4, 0x18C);

/* What the ntos entry path keeps directly below the trap frame (see above).
 * 0x30 bytes, so RSP stays 16-byte aligned at the call into C. */
typedef struct _KTRAP_EXTENSION {
    ULONG64 Vector;         /* IDT vector the stub was entered through */
    ULONG64 R12;
    ULONG64 R13;
    ULONG64 R14;
    ULONG64 R15;
    ULONG64 Reserved;       /* alignment */
} KTRAP_EXTENSION, *PKTRAP_EXTENSION;

NTOS_ASSERT_SIZE(KTRAP_EXTENSION, 0x30);
NTOS_ASSERT_OFFSET(KTRAP_EXTENSION, Vector, 0x00);
NTOS_ASSERT_OFFSET(KTRAP_EXTENSION, R12, 0x08);
NTOS_ASSERT_OFFSET(KTRAP_EXTENSION, R15, 0x20);

/* The extension of a frame built by the entry path. */
#define KTRAP_FRAME_EXTENSION(Tf) ((PKTRAP_EXTENSION)((PUCHAR)(Tf) - sizeof(KTRAP_EXTENSION)))

#endif /* NTOS_KTRAP_H */
