/*
 * IRQL entry points.
 *
 * The IRQL is the processor's CR8 (arch_get_irql/arch_set_irql); these run at
 * any IRQL. Raising to a lower level or lowering to a higher one is a caller
 * bug and stops the system with IRQL_NOT_GREATER_OR_EQUAL, parameters the
 * current and the requested level. Lowering delivers, inside arch_set_irql,
 * the pending software interrupts (DPCs, APCs) that are now above the IRQL.
 */
#include <ntos/ke.h>
#include <ntos/arch.h>

KIRQL NTAPI KeGetCurrentIrql(void)
{
    return arch_get_irql();
}

/* The x64 export behind the KeRaiseIrql macro. */
KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql)
{
    KIRQL old = arch_get_irql();
    if (NewIrql < old || NewIrql > HIGH_LEVEL)
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, old, NewIrql, 0, 0);
    arch_set_irql(NewIrql);
    arch_sched_point(ARCH_SP_IRQL_RAISE, NULL);
    return old;
}

VOID NTAPI KeLowerIrql(KIRQL NewIrql)
{
    KIRQL old = arch_get_irql();
    if (NewIrql > old)
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, old, NewIrql, 0, 0);
    arch_set_irql(NewIrql);
}

VOID NTAPI KfLowerIrql(KIRQL NewIrql)
{
    KeLowerIrql(NewIrql);
}

VOID NTAPI KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
    *OldIrql = KfRaiseIrql(NewIrql);
}

KIRQL NTAPI KeRaiseIrqlToDpcLevel(void)
{
    return KfRaiseIrql(DISPATCH_LEVEL);
}

KIRQL NTAPI KeRaiseIrqlToSynchLevel(void)
{
    return KfRaiseIrql(SYNCH_LEVEL);
}

ULONG NTAPI KeGetCurrentProcessorNumber(void)
{
    return KeGetCurrentProcessorIndex();
}
