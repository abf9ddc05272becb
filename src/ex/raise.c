/*
 * The executive's raise services and the buffer probes drivers call inside
 * __try (ExRaiseStatus, ExRaiseAccessViolation, ExRaiseDatatypeMisalignment,
 * ExRaiseException, ProbeForRead, ProbeForWrite).
 *
 * Every raise here is a kernel-mode exception dispatched to the frame-based
 * handlers of the callers (src/rtl/except.c); unhandled it is the bug check
 * KMODE_EXCEPTION_NOT_HANDLED. Callable at any IRQL at which the caller's
 * handlers can run; the probes at IRQL <= APC_LEVEL as documented (they do not
 * check: the page touch of ProbeForWrite is the only access and everything is
 * resident).
 */
#include <ntos/seh.h>
#include <ntos/ntstatus.h>

/* The first address above the user-mode range a probe accepts: the 64 KB
 * guard region below 0x7FFFFFFF0000 ends user space on x64 Windows. Exported
 * data, read by drivers' inline probes. */
ULONG_PTR MmUserProbeAddress = 0x00007FFFFFFF0000ULL;

VOID NTAPI ExRaiseStatus(NTSTATUS Status)
{
    RtlRaiseStatus(Status);
}

VOID NTAPI ExRaiseAccessViolation(void)
{
    RtlRaiseStatus(STATUS_ACCESS_VIOLATION);
}

VOID NTAPI ExRaiseDatatypeMisalignment(void)
{
    RtlRaiseStatus(STATUS_DATATYPE_MISALIGNMENT);
}

VOID NTAPI ExRaiseException(PEXCEPTION_RECORD ExceptionRecord)
{
    RtlRaiseException(ExceptionRecord);
}

/*
 * The documented checks: a zero length succeeds without looking at anything;
 * an address not a multiple of Alignment (1, 2, 4, 8 or 16) raises
 * STATUS_DATATYPE_MISALIGNMENT; a range that wraps or ends above
 * MmUserProbeAddress raises STATUS_ACCESS_VIOLATION.
 */
static void ExpProbe(ULONG_PTR Start, SIZE_T Length, ULONG Alignment)
{
    if (Alignment != 1 && Alignment != 2 && Alignment != 4 && Alignment != 8 && Alignment != 16)
        ExRaiseDatatypeMisalignment();
    if (Start & (Alignment - 1))
        ExRaiseDatatypeMisalignment();
    ULONG_PTR end = Start + Length;
    if (end < Start || end > MmUserProbeAddress)
        ExRaiseAccessViolation();
}

VOID NTAPI ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment)
{
    if (Length == 0)
        return;
    ExpProbe((ULONG_PTR)Address, Length, Alignment);
}

VOID NTAPI ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment)
{
    if (Length == 0)
        return;
    ULONG_PTR start = (ULONG_PTR)Address;
    ExpProbe(start, Length, Alignment);
    /* Touch one byte of every page (writing back what is there) so an
     * unwritable page faults here, inside the caller's __try. */
    volatile UCHAR *p = (volatile UCHAR *)start;
    ULONG_PTR last = start + Length - 1;
    for (;;) {
        *p = *p;
        ULONG_PTR next = ((ULONG_PTR)p & ~(ULONG_PTR)0xFFF) + 0x1000;
        if (next == 0 || next > last)
            break;
        p = (volatile UCHAR *)next;
    }
}
