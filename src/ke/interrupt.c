/*
 * The interrupt upcalls: clock, software interrupts and IPIs.
 *
 * The backend calls these at the interrupt's level (CLOCK_LEVEL, IPI_LEVEL,
 * DISPATCH_LEVEL, APC_LEVEL) with interrupts enabled, on the current stack.
 * The clock and IPI handlers run above SYNCH_LEVEL and so must never take the
 * dispatcher lock: they touch only the current processor's state, publish
 * time, and request lower-level work (the DISPATCH_LEVEL software interrupt,
 * the timer expiration DPC). Processor 0 owns the clock, as on NT: it alone
 * advances the tick count, the shared time and the timer list check.
 */
#include "ki.h"

VOID KiClockTickThread(PKPRCB Prcb);

/* The clock period in 100 ns units: 1 ms, what Windows runs at with the
 * highest timer resolution requested. KeQueryTimeIncrement reports it. */
ULONG KeMaximumIncrement = 10000;
volatile ULONG64 KiTickCount;

void KiClockInterrupt(void)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    KiProcessor(prcb)->ClockInterrupts++;
    if (prcb->Number == 0) {
        __atomic_fetch_add(&KiTickCount, 1, __ATOMIC_RELAXED);
        KiUpdateTime();
        KiCheckTimers();
    }
    KiClockTickThread(prcb);
}

void KiSoftwareInterrupt(KIRQL Level)
{
    PKI_PROCESSOR p = KiProcessor(KeGetCurrentPrcb());
    if (Level == DISPATCH_LEVEL) {
        p->DispatchInterrupts++;
        KiDispatchInterrupt();
    } else if (Level == APC_LEVEL) {
        p->ApcInterrupts++;
        KiDeliverApc(KernelMode);
    } else {
        KeBugCheckEx(INVALID_SOFTWARE_INTERRUPT, Level, 0, 0, 0);
    }
}

void KiIpiInterrupt(ULONG Kinds)
{
    KiProcessor(KeGetCurrentPrcb())->IpiInterrupts++;
    if (Kinds & ARCH_IPI_FREEZE) {
        /* Another processor is bug-checking: stop here, interrupts off. */
        arch_disable_interrupts();
        for (;;)
            __builtin_ia32_pause();
    }
    if (Kinds & (ARCH_IPI_DPC | ARCH_IPI_RESCHEDULE))
        arch_request_software_interrupt(DISPATCH_LEVEL);
    if (Kinds & ARCH_IPI_APC)
        arch_request_software_interrupt(APC_LEVEL);
}

ULONG NTAPI KeQueryTimeIncrement(void)
{
    return KeMaximumIncrement;
}

VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds)
{
    arch_stall((ULONG64)MicroSeconds * 10);
}
