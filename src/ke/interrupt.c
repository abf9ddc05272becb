/*
 * Processor startup, the idle loop and the interrupt upcalls.
 *
 * The backend calls these at the interrupt's level (CLOCK_LEVEL, IPI_LEVEL,
 * DISPATCH_LEVEL, APC_LEVEL) with interrupts enabled, on the current stack.
 * They touch only the current processor's KPRCB (no lock needed: nothing else
 * writes it) and the global tick count, which only processor 0 advances, as
 * on NT where one processor owns the clock.
 */
#include "ki.h"

/* The clock period in 100 ns units: 1 ms, what Windows runs at with the
 * highest timer resolution requested. KeQueryTimeIncrement reports it. */
ULONG KeMaximumIncrement = 10000;
volatile ULONG64 KiTickCount;

VOID KiIdleLoop(void)
{
    arch_set_irql(PASSIVE_LEVEL);
    for (;;) {
        arch_disable_interrupts();
        arch_idle();
    }
}

void KiProcessorStartup(ULONG Number)
{
    arch_clock_set_periodic(KeMaximumIncrement);
    if (Number != 0)
        KiIdleLoop();
}

void KiClockInterrupt(void)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    KiProcessor(prcb)->ClockInterrupts++;
    if (prcb->Number == 0)
        __atomic_fetch_add(&KiTickCount, 1, __ATOMIC_RELAXED);
}

void KiSoftwareInterrupt(KIRQL Level)
{
    PKI_PROCESSOR p = KiProcessor(KeGetCurrentPrcb());
    if (Level == DISPATCH_LEVEL)
        p->DispatchInterrupts++;
    else if (Level == APC_LEVEL)
        p->ApcInterrupts++;
    else
        KeBugCheckEx(INVALID_SOFTWARE_INTERRUPT, Level, 0, 0, 0);
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
    if (Kinds & ARCH_IPI_DPC)
        arch_request_software_interrupt(DISPATCH_LEVEL);
}

ULONG NTAPI KeQueryTimeIncrement(void)
{
    return KeMaximumIncrement;
}

VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds)
{
    arch_stall((ULONG64)MicroSeconds * 10);
}
