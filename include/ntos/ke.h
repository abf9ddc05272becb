/*
 * Kernel (Ke) public surface. The foundation provides the processor control
 * region, bug checks and the IRQL entry points; the dispatcher, scheduler,
 * DPCs, timers and APCs are added on top of this header by the Ke work.
 */
#ifndef NTOS_KE_H
#define NTOS_KE_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/bugcodes.h>
#include <ntos/kpcr.h>

/* ---- bug checks ------------------------------------------------------------ */
DECLSPEC_NORETURN VOID NTAPI KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                          ULONG_PTR BugCheckParameter2, ULONG_PTR BugCheckParameter3,
                                          ULONG_PTR BugCheckParameter4);
DECLSPEC_NORETURN VOID NTAPI KeBugCheck(ULONG BugCheckCode);

typedef struct _KBUGCHECK_DATA {
    ULONG BugCheckDataSize;
    ULONG Code;
    ULONG_PTR Parameter[4];
} KBUGCHECK_DATA, *PKBUGCHECK_DATA;

/*
 * A bug check catch frame, used by tests to assert that a misuse bug-checks.
 * It belongs to the thread that armed it (KeGetCurrentThread at arm time, or the
 * processor's boot context before threads exist); a bug check raised by that
 * thread while armed unwinds to the frame instead of stopping the system. Any
 * other bug check stops the system as usual.
 */
typedef struct _KBUGCHECK_CATCH {
    void *JumpBuffer[32]; /* ARCH_SETJMP buffer (ARCH_JMP_BUF_WORDS) */
    PVOID Owner;
    KBUGCHECK_DATA Data;
    KIRQL Irql;               /* IRQL at arm time, restored on unwind */
    ULONG_PTR InterruptState; /* interrupt flag at arm time, restored on unwind */
    struct _KBUGCHECK_CATCH *Previous;
} KBUGCHECK_CATCH, *PKBUGCHECK_CATCH;

VOID KiArmBugCheckCatch(PKBUGCHECK_CATCH Catch);
VOID KiDisarmBugCheckCatch(PKBUGCHECK_CATCH Catch);
/* Number of bug checks raised so far (caught or not). */
ULONG KiBugCheckCount(void);
/* Interrupt time the first queued timer is due, ~0 when none is queued (the
 * host explorer's deadlock check: with no timer, a system whose processors are
 * all idle can never be woken again). */
ULONG64 KiNextTimerDueTime(void);

/* ---- IRQL ------------------------------------------------------------------ */
NTKERNELAPI KIRQL NTAPI KeGetCurrentIrql(void);
NTKERNELAPI KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeLowerIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KfLowerIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql);
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToDpcLevel(void);
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToSynchLevel(void);

/* ---- processor ------------------------------------------------------------- */
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumber(void);
NTKERNELAPI ULONG NTAPI KeQueryTimeIncrement(void);
NTKERNELAPI VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds);

#include <ntos/ke_objects.h>

#endif /* NTOS_KE_H */
