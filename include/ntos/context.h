/*
 * Processor context and exception records: the x64 CONTEXT, EXCEPTION_RECORD
 * and the table-based unwinding structures (RUNTIME_FUNCTION, UNWIND_HISTORY_TABLE,
 * DISPATCHER_CONTEXT). Driver code built for Windows reads and writes these
 * directly (an __except filter gets EXCEPTION_POINTERS, __C_specific_handler gets
 * a DISPATCHER_CONTEXT), so every offset below is the documented x64 one.
 *
 * One header for both the fault path (a trap or a host signal turned into a
 * CONTEXT + EXCEPTION_RECORD and handed to KiDispatchException) and the
 * unwinder (RtlVirtualUnwind / RtlUnwindEx).
 */
#ifndef NTOS_CONTEXT_H
#define NTOS_CONTEXT_H

#include <ntos/ntdef.h>

typedef struct DECLSPEC_ALIGN(16) _M128A {
    ULONGLONG Low;
    LONGLONG High;
} M128A, *PM128A;

/* The FXSAVE image (legacy floating point + SSE state), 512 bytes. */
typedef struct DECLSPEC_ALIGN(16) _XSAVE_FORMAT {
    USHORT ControlWord;
    USHORT StatusWord;
    UCHAR TagWord;
    UCHAR Reserved1;
    USHORT ErrorOpcode;
    ULONG ErrorOffset;
    USHORT ErrorSelector;
    USHORT Reserved2;
    ULONG DataOffset;
    USHORT DataSelector;
    USHORT Reserved3;
    ULONG MxCsr;
    ULONG MxCsr_Mask;
    M128A FloatRegisters[8];
    M128A XmmRegisters[16];
    UCHAR Reserved4[96];
} XSAVE_FORMAT, *PXSAVE_FORMAT, XMM_SAVE_AREA32, *PXMM_SAVE_AREA32;

#define CONTEXT_AMD64 0x00100000L
#define CONTEXT_CONTROL (CONTEXT_AMD64 | 0x1L)
#define CONTEXT_INTEGER (CONTEXT_AMD64 | 0x2L)
#define CONTEXT_SEGMENTS (CONTEXT_AMD64 | 0x4L)
#define CONTEXT_FLOATING_POINT (CONTEXT_AMD64 | 0x8L)
#define CONTEXT_DEBUG_REGISTERS (CONTEXT_AMD64 | 0x10L)
#define CONTEXT_FULL (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT)
#define CONTEXT_ALL (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS | CONTEXT_FLOATING_POINT | \
                     CONTEXT_DEBUG_REGISTERS)
#define CONTEXT_XSTATE (CONTEXT_AMD64 | 0x40L)
#define CONTEXT_EXCEPTION_ACTIVE 0x08000000L
#define CONTEXT_SERVICE_ACTIVE 0x10000000L
#define CONTEXT_EXCEPTION_REQUEST 0x40000000L
#define CONTEXT_EXCEPTION_REPORTING 0x80000000L

typedef struct DECLSPEC_ALIGN(16) _CONTEXT {
    ULONG64 P1Home, P2Home, P3Home, P4Home, P5Home, P6Home;
    ULONG ContextFlags;
    ULONG MxCsr;
    USHORT SegCs, SegDs, SegEs, SegFs, SegGs, SegSs;
    ULONG EFlags;
    ULONG64 Dr0, Dr1, Dr2, Dr3, Dr6, Dr7;
    ULONG64 Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi;
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Rip;
    union {
        XMM_SAVE_AREA32 FltSave;
        struct {
            M128A Header[2];
            M128A Legacy[8];
            M128A Xmm0, Xmm1, Xmm2, Xmm3, Xmm4, Xmm5, Xmm6, Xmm7;
            M128A Xmm8, Xmm9, Xmm10, Xmm11, Xmm12, Xmm13, Xmm14, Xmm15;
        };
    };
    M128A VectorRegister[26];
    ULONG64 VectorControl;
    ULONG64 DebugControl;
    ULONG64 LastBranchToRip;
    ULONG64 LastBranchFromRip;
    ULONG64 LastExceptionToRip;
    ULONG64 LastExceptionFromRip;
} CONTEXT, *PCONTEXT;

NTOS_ASSERT_SIZE(M128A, 0x10);
NTOS_ASSERT_SIZE(XMM_SAVE_AREA32, 0x200);
NTOS_ASSERT_OFFSET(CONTEXT, ContextFlags, 0x30);
NTOS_ASSERT_OFFSET(CONTEXT, MxCsr, 0x34);
NTOS_ASSERT_OFFSET(CONTEXT, SegCs, 0x38);
NTOS_ASSERT_OFFSET(CONTEXT, SegSs, 0x42);
NTOS_ASSERT_OFFSET(CONTEXT, EFlags, 0x44);
NTOS_ASSERT_OFFSET(CONTEXT, Dr0, 0x48);
NTOS_ASSERT_OFFSET(CONTEXT, Dr7, 0x70);
NTOS_ASSERT_OFFSET(CONTEXT, Rax, 0x78);
NTOS_ASSERT_OFFSET(CONTEXT, Rsp, 0x98);
NTOS_ASSERT_OFFSET(CONTEXT, Rdi, 0xB0);
NTOS_ASSERT_OFFSET(CONTEXT, R8, 0xB8);
NTOS_ASSERT_OFFSET(CONTEXT, R15, 0xF0);
NTOS_ASSERT_OFFSET(CONTEXT, Rip, 0xF8);
NTOS_ASSERT_OFFSET(CONTEXT, FltSave, 0x100);
NTOS_ASSERT_OFFSET(CONTEXT, Xmm0, 0x1A0);
NTOS_ASSERT_OFFSET(CONTEXT, Xmm15, 0x290);
NTOS_ASSERT_OFFSET(CONTEXT, VectorRegister, 0x300);
NTOS_ASSERT_OFFSET(CONTEXT, VectorControl, 0x4A0);
NTOS_ASSERT_OFFSET(CONTEXT, LastExceptionFromRip, 0x4C8);
NTOS_ASSERT_SIZE(CONTEXT, 0x4D0);

/* Exception records. */
#define EXCEPTION_MAXIMUM_PARAMETERS 15

#define EXCEPTION_NONCONTINUABLE 0x01
#define EXCEPTION_UNWINDING 0x02
#define EXCEPTION_EXIT_UNWIND 0x04
#define EXCEPTION_STACK_INVALID 0x08
#define EXCEPTION_NESTED_CALL 0x10
#define EXCEPTION_TARGET_UNWIND 0x20
#define EXCEPTION_COLLIDED_UNWIND 0x40
#define EXCEPTION_UNWIND (EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND | EXCEPTION_TARGET_UNWIND | \
                          EXCEPTION_COLLIDED_UNWIND)

/* Filter results of an __except expression. */
#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)

typedef struct _EXCEPTION_RECORD {
    NTSTATUS ExceptionCode;
    ULONG ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    ULONG NumberParameters;
    ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;

NTOS_ASSERT_OFFSET(EXCEPTION_RECORD, ExceptionRecord, 0x08);
NTOS_ASSERT_OFFSET(EXCEPTION_RECORD, ExceptionAddress, 0x10);
NTOS_ASSERT_OFFSET(EXCEPTION_RECORD, NumberParameters, 0x18);
NTOS_ASSERT_OFFSET(EXCEPTION_RECORD, ExceptionInformation, 0x20);
NTOS_ASSERT_SIZE(EXCEPTION_RECORD, 0x98);

typedef struct _EXCEPTION_POINTERS {
    PEXCEPTION_RECORD ExceptionRecord;
    PCONTEXT ContextRecord;
} EXCEPTION_POINTERS, *PEXCEPTION_POINTERS;

typedef enum _EXCEPTION_DISPOSITION {
    ExceptionContinueExecution = 0,
    ExceptionContinueSearch = 1,
    ExceptionNestedException = 2,
    ExceptionCollidedUnwind = 3
} EXCEPTION_DISPOSITION;

/* .pdata entry: image-relative begin/end of a function and its UNWIND_INFO. */
typedef struct _RUNTIME_FUNCTION {
    ULONG BeginAddress;
    ULONG EndAddress;
    union {
        ULONG UnwindInfoAddress;
        ULONG UnwindData;
    };
} RUNTIME_FUNCTION, *PRUNTIME_FUNCTION;
NTOS_ASSERT_SIZE(RUNTIME_FUNCTION, 12);

#define UNWIND_HISTORY_TABLE_SIZE 12
typedef struct _UNWIND_HISTORY_TABLE_ENTRY {
    ULONG64 ImageBase;
    PRUNTIME_FUNCTION FunctionEntry;
} UNWIND_HISTORY_TABLE_ENTRY, *PUNWIND_HISTORY_TABLE_ENTRY;

typedef struct _UNWIND_HISTORY_TABLE {
    ULONG Count;
    UCHAR LocalHint;
    UCHAR GlobalHint;
    UCHAR Search;
    UCHAR Once;
    ULONG64 LowAddress;
    ULONG64 HighAddress;
    UNWIND_HISTORY_TABLE_ENTRY Entry[UNWIND_HISTORY_TABLE_SIZE];
} UNWIND_HISTORY_TABLE, *PUNWIND_HISTORY_TABLE;
NTOS_ASSERT_SIZE(UNWIND_HISTORY_TABLE, 0xD8);

/* Where RtlVirtualUnwind may report the addresses the nonvolatile registers were restored from. */
typedef struct _KNONVOLATILE_CONTEXT_POINTERS {
    union {
        PM128A FloatingContext[16];
        struct {
            PM128A Xmm0, Xmm1, Xmm2, Xmm3, Xmm4, Xmm5, Xmm6, Xmm7;
            PM128A Xmm8, Xmm9, Xmm10, Xmm11, Xmm12, Xmm13, Xmm14, Xmm15;
        };
    };
    union {
        PULONG64 IntegerContext[16];
        struct {
            PULONG64 Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi;
            PULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
        };
    };
} KNONVOLATILE_CONTEXT_POINTERS, *PKNONVOLATILE_CONTEXT_POINTERS;
NTOS_ASSERT_SIZE(KNONVOLATILE_CONTEXT_POINTERS, 0x100);

struct _DISPATCHER_CONTEXT;
typedef EXCEPTION_DISPOSITION NTAPI EXCEPTION_ROUTINE(PEXCEPTION_RECORD ExceptionRecord, PVOID EstablisherFrame,
                                                      PCONTEXT ContextRecord, PVOID DispatcherContext);
typedef EXCEPTION_ROUTINE *PEXCEPTION_ROUTINE;

/* What the dispatcher hands a language handler (__C_specific_handler) for one frame. */
typedef struct _DISPATCHER_CONTEXT {
    ULONG64 ControlPc;
    ULONG64 ImageBase;
    PRUNTIME_FUNCTION FunctionEntry;
    ULONG64 EstablisherFrame;
    ULONG64 TargetIp;
    PCONTEXT ContextRecord;
    PEXCEPTION_ROUTINE LanguageHandler;
    PVOID HandlerData;
    PUNWIND_HISTORY_TABLE HistoryTable;
    ULONG ScopeIndex;
    ULONG Fill0;
} DISPATCHER_CONTEXT, *PDISPATCHER_CONTEXT;
NTOS_ASSERT_OFFSET(DISPATCHER_CONTEXT, ContextRecord, 0x28);
NTOS_ASSERT_OFFSET(DISPATCHER_CONTEXT, HistoryTable, 0x40);
NTOS_ASSERT_OFFSET(DISPATCHER_CONTEXT, ScopeIndex, 0x48);
NTOS_ASSERT_SIZE(DISPATCHER_CONTEXT, 0x50);

/* The C scope table __C_specific_handler reads from a function's handler data. */
typedef struct _SCOPE_TABLE_AMD64 {
    ULONG Count;
    struct {
        ULONG BeginAddress;
        ULONG EndAddress;
        ULONG HandlerAddress;
        ULONG JumpTarget;
    } ScopeRecord[1];
} SCOPE_TABLE_AMD64, *PSCOPE_TABLE_AMD64;

/* UNWIND_INFO flags (the high bits of its first byte). */
#define UNW_FLAG_NHANDLER 0x0
#define UNW_FLAG_EHANDLER 0x1
#define UNW_FLAG_UHANDLER 0x2
#define UNW_FLAG_CHAININFO 0x4

/*
 * The seam between whoever catches a fault (arch/x86_64 trap handlers, the host
 * backend's SIGSEGV/SIGILL handling) and the portable exception dispatcher
 * (src/ke/except.c). Called at the IRQL of the faulting code with the faulting
 * context; FirstChance is TRUE for the first dispatch. Returns only when a
 * handler asked to continue execution, after which the caller resumes *Context.
 * An unhandled kernel-mode exception is KMODE_EXCEPTION_NOT_HANDLED (0x1E) or,
 * from a trap, SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (0x7E) in a system thread.
 */
VOID KiDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT Context, KPROCESSOR_MODE PreviousMode,
                         BOOLEAN FirstChance);

#endif /* NTOS_CONTEXT_H */
