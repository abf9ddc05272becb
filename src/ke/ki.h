/* Ke internals shared between src/ke files. */
#ifndef NTOS_KI_H
#define NTOS_KI_H

#include <ntos/ke.h>
#include <ntos/arch.h>

/* Per-processor kernel state, laid over KPRCB.KernelPrivate. */
typedef struct _KI_PROCESSOR {
    ULONG64 ClockInterrupts;
    ULONG64 DispatchInterrupts;
    ULONG64 ApcInterrupts;
    ULONG64 IpiInterrupts;
} KI_PROCESSOR, *PKI_PROCESSOR;

_Static_assert(sizeof(KI_PROCESSOR) <= sizeof(((KPRCB *)0)->KernelPrivate), "KI_PROCESSOR fits");

static inline PKI_PROCESSOR KiProcessor(PKPRCB Prcb)
{
    return (PKI_PROCESSOR)Prcb->KernelPrivate;
}

extern ULONG KeMaximumIncrement;
extern volatile ULONG64 KiTickCount;

DECLSPEC_NORETURN VOID KiIdleLoop(void);

#endif /* NTOS_KI_H */
