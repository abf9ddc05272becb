/*
 * IoConnectInterrupt(Ex) / IoDisconnectInterrupt(Ex): a driver's interrupt
 * service routine connected to a device vector, and HalGetInterruptVector,
 * which gives the vector and IRQL of a legacy ISA IRQ (the HAL.dll export;
 * the routing itself is the backend's, arch_isa_interrupt_vector).
 *
 * One interrupt object serves all processors of ProcessorEnableMask: the
 * backend delivers each device vector to one processor, and the object is
 * opaque to drivers, which only hand it back to KeSynchronizeExecution,
 * KeAcquireInterruptSpinLock and IoDisconnectInterrupt(Ex).
 *
 * IRQL: connect and disconnect at PASSIVE_LEVEL (documented), enforced up to
 * DISPATCH_LEVEL by KeConnectInterrupt's raise. The objects come from
 * non-paged pool (tag 'IntO') and are freed on disconnect.
 */
#include <ntos/io_interrupt.h>
#include <ntos/arch.h>

#define IOP_INTERRUPT_TAG 0x4F746E49 /* 'IntO' */

NTSTATUS NTAPI IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                                  PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                                  KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode, BOOLEAN ShareVector,
                                  KAFFINITY ProcessorEnableMask, BOOLEAN FloatingSave)
{
    if (InterruptObject == NULL || ServiceRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    *InterruptObject = NULL;
    ULONG cpus = arch_processor_count();
    KAFFINITY active = cpus >= sizeof(KAFFINITY) * 8 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << cpus) - 1);
    if ((ProcessorEnableMask & active) == 0 || SynchronizeIrql < Irql || Irql > HIGH_LEVEL ||
        (InterruptMode != LevelSensitive && InterruptMode != Latched))
        return STATUS_INVALID_PARAMETER;
    PKINTERRUPT i = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(KINTERRUPT), IOP_INTERRUPT_TAG);
    if (i == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeInterrupt(i, ServiceRoutine, ServiceContext, SpinLock, Vector, Irql, SynchronizeIrql, InterruptMode,
                          ShareVector, (CCHAR)__builtin_ctzll((ULONG64)(ProcessorEnableMask & active)),
                          FloatingSave);
    if (!KeConnectInterrupt(i)) {
        /* Not a deliverable vector, an IRQL that is not the vector's, or a
         * vector already connected without sharing. */
        ExFreePoolWithTag(i, IOP_INTERRUPT_TAG);
        return STATUS_INVALID_PARAMETER;
    }
    *InterruptObject = i;
    return STATUS_SUCCESS;
}

VOID NTAPI IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    if (InterruptObject == NULL)
        return;
    KeDisconnectInterrupt(InterruptObject);
    ExFreePoolWithTag(InterruptObject, IOP_INTERRUPT_TAG);
}

NTSTATUS NTAPI IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters)
{
    if (Parameters == NULL)
        return STATUS_INVALID_PARAMETER;
    switch (Parameters->Version) {
    case CONNECT_FULLY_SPECIFIED:
    case CONNECT_FULLY_SPECIFIED_GROUP: {
        PIO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS p = &Parameters->FullySpecified;
        /* One processor group: group 0 is the only one there is. */
        if (Parameters->Version == CONNECT_FULLY_SPECIFIED_GROUP && p->Group != 0)
            return STATUS_INVALID_PARAMETER;
        return IoConnectInterrupt(p->InterruptObject, p->ServiceRoutine, p->ServiceContext, p->SpinLock, p->Vector,
                                  p->Irql, p->SynchronizeIrql, p->InterruptMode, p->ShareVector,
                                  p->ProcessorEnableMask, p->FloatingSave);
    }
    case CONNECT_LINE_BASED:
    case CONNECT_MESSAGE_BASED:
    case CONNECT_MESSAGE_BASED_PASSIVE:
        /* These find the device's interrupts in its Plug and Play resources,
         * which ntos does not assign. Documented answer of a platform without
         * them: Version comes back as CONNECT_FULLY_SPECIFIED (retry so). */
        Parameters->Version = CONNECT_FULLY_SPECIFIED;
        return STATUS_NOT_SUPPORTED;
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

VOID NTAPI IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters)
{
    if (Parameters == NULL)
        return;
    if (Parameters->Version == CONNECT_FULLY_SPECIFIED || Parameters->Version == CONNECT_FULLY_SPECIFIED_GROUP ||
        Parameters->Version == CONNECT_LINE_BASED)
        IoDisconnectInterrupt(Parameters->ConnectionContext.InterruptObject);
    /* Message-based connections cannot exist (IoConnectInterruptEx refuses them). */
}

ULONG NTAPI HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber, ULONG BusInterruptLevel,
                                  ULONG BusInterruptVector, PKIRQL Irql, PKAFFINITY Affinity)
{
    (void)BusInterruptVector;
    ULONG vector;
    KIRQL irql;
    KAFFINITY affinity;
    if (Irql == NULL || Affinity == NULL || InterfaceType != Isa || BusNumber != 0 ||
        !arch_isa_interrupt_vector(BusInterruptLevel, &vector, &irql, &affinity))
        return 0;
    *Irql = irql;
    *Affinity = affinity;
    return vector;
}
