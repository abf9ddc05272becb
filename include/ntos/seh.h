/*
 * Structured exception handling: table-based unwinding of PE images (.pdata /
 * .xdata), DWARF call-frame unwinding of the kernel's own ELF code, the
 * exception dispatcher, unwinding with termination handlers, the C language
 * handler (__C_specific_handler) and the raise/probe services drivers import.
 *
 * The frames on a kernel stack are of two kinds. PE driver code carries x64
 * unwind tables and language handlers (__try/__except/__finally compiled by
 * MSVC or clang-cl); the kernel itself is ELF built by clang and describes its
 * frames with .eh_frame (DWARF CFI, -fasynchronous-unwind-tables), with no
 * handlers. One frame step (RtlpUnwindFrame) picks the right description for
 * the PC, so an exception raised deep in kernel code (ExRaiseStatus under
 * ProbeForRead under a driver's __try) unwinds through kernel frames back into
 * the driver's.
 *
 * All entry points run at any IRQL at which their caller's code and stack are
 * resident (everything is resident in ntos); nothing here takes a lock except
 * the module lookup (see LdrFindModuleByAddress).
 */
#ifndef NTOS_SEH_H
#define NTOS_SEH_H

#include <ntos/ntdef.h>
#include <ntos/context.h>

#define UNW_FLAG_NO_EPILOGUE 0x80000000UL
#define RUNTIME_FUNCTION_INDIRECT 0x1

/* x64 unwind operation codes (UNWIND_CODE.UnwindOp). */
#define UWOP_PUSH_NONVOL 0
#define UWOP_ALLOC_LARGE 1
#define UWOP_ALLOC_SMALL 2
#define UWOP_SET_FPREG 3
#define UWOP_SAVE_NONVOL 4
#define UWOP_SAVE_NONVOL_FAR 5
#define UWOP_EPILOG 6 /* version 2: epilogue descriptors, no effect on unwinding */
#define UWOP_SPARE_CODE 7
#define UWOP_SAVE_XMM128 8
#define UWOP_SAVE_XMM128_FAR 9
#define UWOP_PUSH_MACHFRAME 10

/* ---- unwinding --------------------------------------------------------------------- */

NTSYSAPI PRUNTIME_FUNCTION NTAPI RtlLookupFunctionEntry(ULONG64 ControlPc, PULONG64 ImageBase,
                                                        PUNWIND_HISTORY_TABLE HistoryTable);
NTSYSAPI PEXCEPTION_ROUTINE NTAPI RtlVirtualUnwind(ULONG HandlerType, ULONG64 ImageBase, ULONG64 ControlPc,
                                                   PRUNTIME_FUNCTION FunctionEntry, PCONTEXT ContextRecord,
                                                   PVOID *HandlerData, PULONG64 EstablisherFrame,
                                                   PKNONVOLATILE_CONTEXT_POINTERS ContextPointers);
NTSYSAPI VOID NTAPI RtlCaptureContext(PCONTEXT ContextRecord);
NTSYSAPI DECLSPEC_NORETURN VOID NTAPI RtlRestoreContext(PCONTEXT ContextRecord, PEXCEPTION_RECORD ExceptionRecord);
NTSYSAPI USHORT NTAPI RtlCaptureStackBackTrace(ULONG FramesToSkip, ULONG FramesToCapture, PVOID *BackTrace,
                                               PULONG BackTraceHash);
NTSYSAPI ULONG NTAPI RtlWalkFrameChain(PVOID *Callers, ULONG Count, ULONG Flags);

/* ---- dispatch and unwind ------------------------------------------------------------- */

NTSYSAPI BOOLEAN NTAPI RtlDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT ContextRecord);
NTSYSAPI VOID NTAPI RtlUnwindEx(PVOID TargetFrame, PVOID TargetIp, PEXCEPTION_RECORD ExceptionRecord,
                                PVOID ReturnValue, PCONTEXT ContextRecord, PUNWIND_HISTORY_TABLE HistoryTable);
NTSYSAPI VOID NTAPI RtlUnwind(PVOID TargetFrame, PVOID TargetIp, PEXCEPTION_RECORD ExceptionRecord,
                              PVOID ReturnValue);
NTSYSAPI EXCEPTION_DISPOSITION NTAPI __C_specific_handler(PEXCEPTION_RECORD ExceptionRecord, PVOID EstablisherFrame,
                                                          PCONTEXT ContextRecord, PVOID DispatcherContext);
NTSYSAPI VOID NTAPI RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord);
NTSYSAPI DECLSPEC_NORETURN VOID NTAPI RtlRaiseStatus(NTSTATUS Status);

NTKERNELAPI DECLSPEC_NORETURN VOID NTAPI ExRaiseStatus(NTSTATUS Status);
NTKERNELAPI DECLSPEC_NORETURN VOID NTAPI ExRaiseAccessViolation(void);
NTKERNELAPI DECLSPEC_NORETURN VOID NTAPI ExRaiseDatatypeMisalignment(void);
NTKERNELAPI VOID NTAPI ExRaiseException(PEXCEPTION_RECORD ExceptionRecord);
NTKERNELAPI VOID NTAPI ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment);
NTKERNELAPI VOID NTAPI ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment);

/* The highest user-mode address a probe accepts (documented exported data). */
extern ULONG_PTR MmUserProbeAddress;

/* ---- internal ---------------------------------------------------------------------- */

/*
 * One step up the stack from *Context (a frame executing at Context->Rip): PE
 * frames through their unwind tables, kernel ELF frames through .eh_frame, a PE
 * leaf (no .pdata entry inside a PE image) by popping the return address.
 * PcIsReturnAddress says Context->Rip is a return address rather than the
 * faulting instruction (the CFI row is then looked up at Rip - 1, since a call
 * may be a function's last instruction). On success the frame's description is
 * returned through the optional outputs and *Context is the caller's. FALSE
 * when the PC is in no known code (the end of the stack).
 */
typedef struct _RTLP_FRAME {
    ULONG64 ControlPc;
    ULONG64 ImageBase;                 /* 0 for a kernel ELF frame */
    PRUNTIME_FUNCTION FunctionEntry;   /* NULL for ELF frames and PE leaves */
    ULONG64 EstablisherFrame;
    PEXCEPTION_ROUTINE Handler;        /* per HandlerType */
    PVOID HandlerData;
} RTLP_FRAME, *PRTLP_FRAME;

BOOLEAN RtlpUnwindFrame(ULONG HandlerType, PCONTEXT Context, BOOLEAN PcIsReturnAddress, PRTLP_FRAME Frame,
                        PUNWIND_HISTORY_TABLE HistoryTable, PKNONVOLATILE_CONTEXT_POINTERS ContextPointers);

/* DWARF CFI: unwinds one kernel ELF frame; FALSE when Pc has no FDE. */
BOOLEAN RtlpDwarfUnwind(PCONTEXT Context, BOOLEAN PcIsReturnAddress, PKNONVOLATILE_CONTEXT_POINTERS ContextPointers);

/* The current thread's stack range containing Rsp (its KTHREAD limits, or
 * the megabyte above Rsp on a stack no thread describes): walks stop there. */
VOID RtlpStackLimits(ULONG64 Rsp, PULONG64 Low, PULONG64 High);

/* The kernel-mode dispatch used by KiDispatchException and RtlRaiseException. */
BOOLEAN RtlpDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT ContextRecord, BOOLEAN PcIsReturnAddress);
VOID KipDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT Context, KPROCESSOR_MODE PreviousMode,
                          BOOLEAN FirstChance, BOOLEAN PcIsReturnAddress);

#endif /* NTOS_SEH_H */
