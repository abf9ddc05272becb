/*
 * KiDispatchException: where every kernel-mode exception starts its dispatch,
 * whether raised by software (RtlRaiseException, ExRaiseStatus) or converted
 * from a processor fault (arch/x86_64/trap.c, the host backend's signals).
 *
 * Kernel mode only: there is no user mode yet, so an exception with
 * PreviousMode UserMode cannot exist and is treated like an unhandled kernel
 * exception. No kernel debugger is attached, so the first chance goes straight
 * to the frame-based handlers (RtlpDispatchException) and the second chance is
 * the documented bug check KMODE_EXCEPTION_NOT_HANDLED (code, address,
 * ExceptionInformation[0], ExceptionInformation[1]).
 *
 * Runs at the IRQL of the code that raised or faulted, on its stack.
 */
#include <ntos/seh.h>
#include <ntos/ke.h>
#include <ntos/bugcodes.h>

VOID KipDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT Context, KPROCESSOR_MODE PreviousMode,
                          BOOLEAN FirstChance, BOOLEAN PcIsReturnAddress)
{
    if (PreviousMode == KernelMode && FirstChance &&
        RtlpDispatchException(ExceptionRecord, Context, PcIsReturnAddress))
        return;
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)ExceptionRecord->ExceptionCode,
                 (ULONG_PTR)ExceptionRecord->ExceptionAddress, ExceptionRecord->ExceptionInformation[0],
                 ExceptionRecord->ExceptionInformation[1]);
}

VOID KiDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT Context, KPROCESSOR_MODE PreviousMode,
                         BOOLEAN FirstChance)
{
    /* From a trap: Context->Rip is the faulting instruction itself. */
    KipDispatchException(ExceptionRecord, Context, PreviousMode, FirstChance, FALSE);
}
