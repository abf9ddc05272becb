/*
 * Kernel-mode exception dispatch and unwinding (x64, table based).
 *
 * RtlDispatchException walks the stack from the exception's context, frame
 * by frame (RtlpUnwindFrame: PE frames through .pdata, kernel ELF frames
 * through .eh_frame), and calls each PE frame's exception handler (for C,
 * __C_specific_handler) with a DISPATCHER_CONTEXT. A handler that accepts
 * the exception calls RtlUnwindEx, which walks again from its own frame up
 * to the target frame calling termination handlers (EXCEPTION_UNWINDING),
 * then resumes the target frame at the target IP.
 *
 * Handlers are called through RtlpExecuteHandler (src/rtl/context.S). A walk
 * that steps out of a handler lands on RtlpExecuteHandlerReturn and finds the
 * call record there:
 *  - a dispatch walk meeting a dispatch in progress: the exception was raised
 *    inside a filter or handler (nested). The walk continues from the first
 *    exception's context with EXCEPTION_NESTED_CALL set until it passes the
 *    first dispatch's establisher frame, as documented.
 *  - an unwind walk meeting a dispatch in progress (the normal case: the
 *    handler called RtlUnwindEx): the dispatcher's own frames are abandoned
 *    and the walk continues from the exception's context, so frames between
 *    the fault and the target get their termination handlers. This is also
 *    how a hardware fault is unwound without describing the trap entry.
 *  - a walk meeting an unwind in progress (inside a termination handler):
 *    frames the first unwind already passed are skipped; the walk resumes at
 *    the frame whose termination handler is running. For an unwind this is a
 *    collided unwind: that frame's handler is called again with
 *    EXCEPTION_COLLIDED_UNWIND and the first unwind's ScopeIndex, so the
 *    scopes already run are not run twice.
 *
 * Concurrency: per-thread state only (records on the stack); any IRQL at
 * which the handlers themselves may run.
 */
#include <ntos/seh.h>
#include <ntos/ke.h>
#include <ntos/ntstatus.h>
#include <ntos/bugcodes.h>

typedef struct _RTLP_HANDLER_CALL {
    PEXCEPTION_RECORD ExceptionRecord;     /* 0x00 */
    PVOID EstablisherFrame;                /* 0x08 */
    PCONTEXT ContextRecord;                /* 0x10 */
    PDISPATCHER_CONTEXT DispatcherContext; /* 0x18 */
    PEXCEPTION_ROUTINE Handler;            /* 0x20 (context.S reads the five above) */
    BOOLEAN Unwinding;
    BOOLEAN ResumeIsReturnAddress;
    /* Where a walk that meets this call continues: the exception's context for
     * a dispatch, the frame being unwound (before its unwind) for an unwind. */
    PCONTEXT ResumeContext;
} RTLP_HANDLER_CALL, *PRTLP_HANDLER_CALL;
_Static_assert(__builtin_offsetof(RTLP_HANDLER_CALL, Handler) == 0x20, "context.S layout");

EXCEPTION_DISPOSITION RtlpExecuteHandler(PRTLP_HANDLER_CALL Call);
extern const UCHAR RtlpExecuteHandlerReturn[];

static inline PRTLP_HANDLER_CALL RtlpHandlerCallAt(PCONTEXT Walk)
{
    if (Walk->Rip != (ULONG64)RtlpExecuteHandlerReturn)
        return NULL;
    return *(PRTLP_HANDLER_CALL *)(Walk->Rsp + 32);
}

static DECLSPEC_NORETURN void RtlpRaiseNoncontinuable(NTSTATUS Status, PEXCEPTION_RECORD Nested)
{
    EXCEPTION_RECORD rec;
    __builtin_memset(&rec, 0, sizeof(rec));
    rec.ExceptionCode = Status;
    rec.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    rec.ExceptionRecord = Nested;
    RtlRaiseException(&rec);
    /* A noncontinuable exception never returns: if a handler tries, that is
     * itself raised again; unreachable. */
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)Status, 0, 0, 0);
}

/* ---- dispatch --------------------------------------------------------------------------------- */

BOOLEAN RtlpDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT ContextRecord, BOOLEAN PcIsReturnAddress)
{
    CONTEXT walk = *ContextRecord;
    UNWIND_HISTORY_TABLE history;
    DISPATCHER_CONTEXT dc;
    RTLP_FRAME frame;
    ULONG64 nestedFrame = 0, low, high;
    BOOLEAN ra = PcIsReturnAddress;

    __builtin_memset(&history, 0, sizeof(history));
    RtlpStackLimits(walk.Rsp, &low, &high);

    for (ULONG guard = 0; guard < 4096; guard++) {
        PRTLP_HANDLER_CALL call = RtlpHandlerCallAt(&walk);
        if (call) {
            if (!call->Unwinding) {
                /* Raised inside a filter or exception handler. */
                ExceptionRecord->ExceptionFlags |= EXCEPTION_NESTED_CALL;
                if (call->DispatcherContext->EstablisherFrame > nestedFrame)
                    nestedFrame = call->DispatcherContext->EstablisherFrame;
            }
            walk = *call->ResumeContext;
            ra = call->ResumeIsReturnAddress;
            continue;
        }

        ULONG64 sp = walk.Rsp;
        if (sp < low || sp >= high)
            return FALSE;
        if (!RtlpUnwindFrame(UNW_FLAG_EHANDLER, &walk, ra, &frame, &history, NULL))
            return FALSE;
        ra = TRUE;
        if (frame.EstablisherFrame < low || frame.EstablisherFrame >= high || (frame.EstablisherFrame & 7)) {
            ExceptionRecord->ExceptionFlags |= EXCEPTION_STACK_INVALID;
            return FALSE;
        }

        if (frame.Handler) {
            dc.ControlPc = frame.ControlPc;
            dc.ImageBase = frame.ImageBase;
            dc.FunctionEntry = frame.FunctionEntry;
            dc.EstablisherFrame = frame.EstablisherFrame;
            dc.TargetIp = 0;
            dc.ContextRecord = &walk;
            dc.LanguageHandler = frame.Handler;
            dc.HandlerData = frame.HandlerData;
            dc.HistoryTable = &history;
            dc.ScopeIndex = 0;
            dc.Fill0 = 0;

            RTLP_HANDLER_CALL hc = {
                .ExceptionRecord = ExceptionRecord,
                .EstablisherFrame = (PVOID)frame.EstablisherFrame,
                .ContextRecord = ContextRecord,
                .DispatcherContext = &dc,
                .Handler = frame.Handler,
                .Unwinding = FALSE,
                .ResumeIsReturnAddress = PcIsReturnAddress,
                .ResumeContext = ContextRecord,
            };
            EXCEPTION_DISPOSITION disposition = RtlpExecuteHandler(&hc);

            /* Past the establisher frame of the dispatch this one is nested
             * in, the exception is no longer nested. */
            if (nestedFrame && frame.EstablisherFrame >= nestedFrame) {
                ExceptionRecord->ExceptionFlags &= ~EXCEPTION_NESTED_CALL;
                nestedFrame = 0;
            }

            switch (disposition) {
            case ExceptionContinueExecution:
                if (ExceptionRecord->ExceptionFlags & EXCEPTION_NONCONTINUABLE)
                    RtlpRaiseNoncontinuable(STATUS_NONCONTINUABLE_EXCEPTION, ExceptionRecord);
                return TRUE;
            case ExceptionContinueSearch:
                if (ExceptionRecord->ExceptionFlags & EXCEPTION_STACK_INVALID)
                    return FALSE;
                break;
            default:
                RtlpRaiseNoncontinuable(STATUS_INVALID_DISPOSITION, ExceptionRecord);
            }
        }
        if (walk.Rip == 0 || walk.Rsp <= sp)
            return FALSE;
    }
    return FALSE;
}

BOOLEAN NTAPI RtlDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT ContextRecord)
{
    /* A context handed in by a caller names the instruction that raised or
     * faulted, as the trap path does. */
    return RtlpDispatchException(ExceptionRecord, ContextRecord, FALSE);
}

/* ---- unwind ---------------------------------------------------------------------------------- */

VOID NTAPI RtlUnwindEx(PVOID TargetFrame, PVOID TargetIp, PEXCEPTION_RECORD ExceptionRecord, PVOID ReturnValue,
                       PCONTEXT ContextRecord, PUNWIND_HISTORY_TABLE HistoryTable)
{
    CONTEXT walk, before;
    EXCEPTION_RECORD local;
    DISPATCHER_CONTEXT dc;
    RTLP_FRAME frame;
    UNWIND_HISTORY_TABLE ownHistory;
    BOOLEAN ra = TRUE, collided = FALSE;
    ULONG collidedScope = 0;
    ULONG64 target = (ULONG64)TargetFrame, low, high;

    RtlCaptureContext(&walk);
    RtlpStackLimits(walk.Rsp, &low, &high);
    if (!HistoryTable) {
        __builtin_memset(&ownHistory, 0, sizeof(ownHistory));
        HistoryTable = &ownHistory;
    }
    if (!ExceptionRecord) {
        __builtin_memset(&local, 0, sizeof(local));
        local.ExceptionCode = STATUS_UNWIND;
        local.ExceptionAddress = (PVOID)walk.Rip;
        ExceptionRecord = &local;
    }
    ExceptionRecord->ExceptionFlags |= EXCEPTION_UNWINDING;
    if (!TargetFrame)
        ExceptionRecord->ExceptionFlags |= EXCEPTION_EXIT_UNWIND;

    for (ULONG guard = 0; guard < 4096; guard++) {
        PRTLP_HANDLER_CALL call = RtlpHandlerCallAt(&walk);
        if (call) {
            walk = *call->ResumeContext;
            ra = call->ResumeIsReturnAddress;
            if (call->Unwinding) {
                /* A termination handler of an earlier unwind is running (this
                 * unwind started inside it): take over that unwind at its
                 * frame, continuing after the scope being run. */
                collided = TRUE;
                collidedScope = call->DispatcherContext->ScopeIndex;
            }
            continue;
        }

        ULONG64 sp = walk.Rsp;
        if (sp < low || sp >= high)
            RtlpRaiseNoncontinuable(STATUS_BAD_STACK, ExceptionRecord);
        BOOLEAN beforeRa = ra;
        before = walk;
        if (!RtlpUnwindFrame(UNW_FLAG_UHANDLER, &walk, ra, &frame, HistoryTable, NULL))
            RtlpRaiseNoncontinuable(STATUS_BAD_STACK, ExceptionRecord);
        ra = TRUE;
        if (frame.EstablisherFrame < low || frame.EstablisherFrame >= high || (frame.EstablisherFrame & 7))
            RtlpRaiseNoncontinuable(STATUS_BAD_STACK, ExceptionRecord);
        if (target && frame.EstablisherFrame > target)
            RtlpRaiseNoncontinuable(STATUS_INVALID_UNWIND_TARGET, ExceptionRecord);

        if (frame.Handler) {
            dc.ControlPc = frame.ControlPc;
            dc.ImageBase = frame.ImageBase;
            dc.FunctionEntry = frame.FunctionEntry;
            dc.EstablisherFrame = frame.EstablisherFrame;
            dc.TargetIp = (ULONG64)TargetIp;
            dc.ContextRecord = &before;
            dc.LanguageHandler = frame.Handler;
            dc.HandlerData = frame.HandlerData;
            dc.HistoryTable = HistoryTable;
            dc.ScopeIndex = collided ? collidedScope : 0;
            dc.Fill0 = 0;

            if (frame.EstablisherFrame == target)
                ExceptionRecord->ExceptionFlags |= EXCEPTION_TARGET_UNWIND;
            if (collided)
                ExceptionRecord->ExceptionFlags |= EXCEPTION_COLLIDED_UNWIND;

            RTLP_HANDLER_CALL hc = {
                .ExceptionRecord = ExceptionRecord,
                .EstablisherFrame = (PVOID)frame.EstablisherFrame,
                .ContextRecord = &before,
                .DispatcherContext = &dc,
                .Handler = frame.Handler,
                .Unwinding = TRUE,
                .ResumeIsReturnAddress = beforeRa,
                .ResumeContext = &before,
            };
            EXCEPTION_DISPOSITION disposition = RtlpExecuteHandler(&hc);
            ExceptionRecord->ExceptionFlags &= ~(EXCEPTION_TARGET_UNWIND | EXCEPTION_COLLIDED_UNWIND);
            collided = FALSE;
            if (disposition != ExceptionContinueSearch)
                RtlpRaiseNoncontinuable(STATUS_INVALID_DISPOSITION, ExceptionRecord);
        }

        if (target && frame.EstablisherFrame == target) {
            /* Resume the target frame at the target IP with the return value
             * in RAX (for __except: the exception code). */
            before.Rip = (ULONG64)TargetIp;
            before.Rax = (ULONG64)ReturnValue;
            if (ContextRecord)
                *ContextRecord = before;
            RtlRestoreContext(&before, ExceptionRecord);
        }
        if (walk.Rip == 0 || walk.Rsp <= sp)
            break;
    }
    /* The target frame is not on this stack (or an exit unwind ran off the
     * end, which ntos does not support: there is no thread exit through SEH). */
    RtlpRaiseNoncontinuable(target ? STATUS_INVALID_UNWIND_TARGET : STATUS_BAD_STACK, ExceptionRecord);
}

VOID NTAPI RtlUnwind(PVOID TargetFrame, PVOID TargetIp, PEXCEPTION_RECORD ExceptionRecord, PVOID ReturnValue)
{
    CONTEXT scratch;
    RtlUnwindEx(TargetFrame, TargetIp, ExceptionRecord, ReturnValue, &scratch, NULL);
}

/* ---- the C language handler ----------------------------------------------------------------- */

typedef LONG(NTAPI *PEXCEPTION_FILTER)(PEXCEPTION_POINTERS ExceptionPointers, PVOID EstablisherFrame);
typedef VOID(NTAPI *PTERMINATION_HANDLER)(BOOLEAN AbnormalTermination, PVOID EstablisherFrame);

/*
 * The scope table (SCOPE_TABLE_AMD64) lists the __try blocks of a function,
 * innermost first: [BeginAddress, EndAddress) the guarded code, for __except
 * HandlerAddress = the filter (or 1 for the constant EXCEPTION_EXECUTE_HANDLER)
 * and JumpTarget = the handler block, for __finally HandlerAddress = the
 * termination handler and JumpTarget = 0. All image relative.
 */
/*
 * A __try block can be described by several records (clang splits a block's
 * range around calls, ending each range one byte past a call so the return
 * address is covered), and a return address at such a boundary lies in two of
 * them. One block's filter or termination handler runs once: a record that
 * repeats an earlier covering record's handler and target is skipped.
 */
static BOOLEAN RtlpScopeRepeats(PSCOPE_TABLE_AMD64 Scope, ULONG Index, ULONG64 Pc)
{
    for (ULONG j = 0; j < Index; j++) {
        if (Pc >= Scope->ScopeRecord[j].BeginAddress && Pc < Scope->ScopeRecord[j].EndAddress &&
            Scope->ScopeRecord[j].HandlerAddress == Scope->ScopeRecord[Index].HandlerAddress &&
            Scope->ScopeRecord[j].JumpTarget == Scope->ScopeRecord[Index].JumpTarget)
            return TRUE;
    }
    return FALSE;
}

EXCEPTION_DISPOSITION NTAPI __C_specific_handler(PEXCEPTION_RECORD ExceptionRecord, PVOID EstablisherFrame,
                                                 PCONTEXT ContextRecord, PVOID DispatcherContext)
{
    PDISPATCHER_CONTEXT dc = DispatcherContext;
    PSCOPE_TABLE_AMD64 scope = dc->HandlerData;
    ULONG64 base = dc->ImageBase;
    ULONG64 pc = dc->ControlPc - base;

    if (!(ExceptionRecord->ExceptionFlags & EXCEPTION_UNWIND)) {
        EXCEPTION_POINTERS pointers = {ExceptionRecord, ContextRecord};
        for (ULONG i = dc->ScopeIndex; i < scope->Count; i++) {
            if (pc < scope->ScopeRecord[i].BeginAddress || pc >= scope->ScopeRecord[i].EndAddress ||
                scope->ScopeRecord[i].JumpTarget == 0 || RtlpScopeRepeats(scope, i, pc))
                continue;
            LONG verdict;
            if (scope->ScopeRecord[i].HandlerAddress == EXCEPTION_EXECUTE_HANDLER)
                verdict = EXCEPTION_EXECUTE_HANDLER;
            else
                verdict = ((PEXCEPTION_FILTER)(base + scope->ScopeRecord[i].HandlerAddress))(&pointers,
                                                                                             EstablisherFrame);
            if (verdict < 0)
                return ExceptionContinueExecution;
            if (verdict > 0) {
                /* Unwind to this frame and run the __except block, which gets
                 * the exception code in RAX (GetExceptionCode). */
                RtlUnwindEx(EstablisherFrame, (PVOID)(base + scope->ScopeRecord[i].JumpTarget), ExceptionRecord,
                            (PVOID)(ULONG_PTR)(ULONG)ExceptionRecord->ExceptionCode, dc->ContextRecord,
                            dc->HistoryTable);
            }
        }
        return ExceptionContinueSearch;
    }

    ULONG64 targetPc = dc->TargetIp - base;
    for (ULONG i = dc->ScopeIndex; i < scope->Count; i++) {
        if (pc < scope->ScopeRecord[i].BeginAddress || pc >= scope->ScopeRecord[i].EndAddress)
            continue;
        /* Unwinding to this frame's own __except block: scopes from the one
         * whose handler is the target outwards stay active. */
        if ((ExceptionRecord->ExceptionFlags & EXCEPTION_TARGET_UNWIND) &&
            scope->ScopeRecord[i].JumpTarget == targetPc)
            break;
        if (scope->ScopeRecord[i].JumpTarget != 0 || RtlpScopeRepeats(scope, i, pc))
            continue; /* an __except scope has nothing to run on unwind */
        /* Record progress first: a collided unwind resumes after this scope. */
        dc->ScopeIndex = i + 1;
        ((PTERMINATION_HANDLER)(base + scope->ScopeRecord[i].HandlerAddress))(TRUE, EstablisherFrame);
    }
    return ExceptionContinueSearch;
}

/* ---- raising ---------------------------------------------------------------------------------- */

/* Never inlined: the context it reports is its caller's, one frame up from
 * its own. */
__attribute__((noinline)) VOID NTAPI RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord)
{
    CONTEXT context;

    /* The context of our caller at the return address: capture here and
     * step out of this frame with its own CFI. */
    RtlCaptureContext(&context);
    if (!RtlpDwarfUnwind(&context, TRUE, NULL))
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)ExceptionRecord->ExceptionCode,
                     (ULONG_PTR)__builtin_return_address(0), ExceptionRecord->ExceptionInformation[0],
                     ExceptionRecord->ExceptionInformation[1]);
    ExceptionRecord->ExceptionAddress = (PVOID)context.Rip;
    KipDispatchException(ExceptionRecord, &context, KernelMode, TRUE, TRUE);
    /* A handler continued execution (with a possibly edited context). */
    RtlRestoreContext(&context, NULL);
}

VOID NTAPI RtlRaiseStatus(NTSTATUS Status)
{
    EXCEPTION_RECORD rec;
    __builtin_memset(&rec, 0, sizeof(rec));
    rec.ExceptionCode = Status;
    rec.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    RtlRaiseException(&rec);
    /* RtlRaiseException returns only by continuing, which the dispatcher
     * refuses for a noncontinuable exception. */
    __builtin_unreachable();
}
