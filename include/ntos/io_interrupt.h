/*
 * Connecting interrupt service routines (wdm.h IoConnectInterrupt(Ex),
 * IoDisconnectInterrupt(Ex)) and the HAL's ISA vector translation
 * (HalGetInterruptVector). Layouts are the documented x64 ones.
 *
 * ntos has no Plug and Play resource assignment, so only the fully
 * specified form exists: the caller names the vector and IRQL, which it gets
 * from HalGetInterruptVector for a legacy ISA IRQ. The line- and
 * message-based versions of IoConnectInterruptEx report, as documented for
 * platforms that lack them, Version = CONNECT_FULLY_SPECIFIED on return.
 */
#ifndef NTOS_IO_INTERRUPT_H
#define NTOS_IO_INTERRUPT_H

#include <ntos/io.h>

typedef enum _INTERFACE_TYPE {
    InterfaceTypeUndefined = -1,
    Internal = 0,
    Isa,
    Eisa,
    MicroChannel,
    TurboChannel,
    PCIBus,
    VMEBus,
    NuBus,
    PCMCIABus,
    CBus,
    MPIBus,
    MPSABus,
    ProcessorInternal,
    InternalPowerBus,
    PNPISABus,
    PNPBus,
    Vmcs,
    ACPIBus,
    MaximumInterfaceType
} INTERFACE_TYPE, *PINTERFACE_TYPE;

#define CONNECT_FULLY_SPECIFIED 0x1
#define CONNECT_LINE_BASED 0x2
#define CONNECT_MESSAGE_BASED 0x3
#define CONNECT_FULLY_SPECIFIED_GROUP 0x4
#define CONNECT_MESSAGE_BASED_PASSIVE 0x5
#define CONNECT_CURRENT_VERSION 0x5

typedef struct _IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS {
    PDEVICE_OBJECT PhysicalDeviceObject;
    PKINTERRUPT *InterruptObject;
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    PKSPIN_LOCK SpinLock;
    KIRQL SynchronizeIrql;
    BOOLEAN FloatingSave;
    BOOLEAN ShareVector;
    ULONG Vector;
    KIRQL Irql;
    KINTERRUPT_MODE InterruptMode;
    KAFFINITY ProcessorEnableMask;
    USHORT Group;
} IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, *PIO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS;
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, SynchronizeIrql, 0x28);
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, Vector, 0x2C);
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, InterruptMode, 0x34);
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, ProcessorEnableMask, 0x38);
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, Group, 0x40);
NTOS_ASSERT_SIZE(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, 0x48);

typedef struct _IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS {
    PDEVICE_OBJECT PhysicalDeviceObject;
    PKINTERRUPT *InterruptObject;
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    PKSPIN_LOCK SpinLock;
    KIRQL SynchronizeIrql;
    BOOLEAN FloatingSave;
} IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS, *PIO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS;
NTOS_ASSERT_SIZE(IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS, 0x30);

typedef struct _IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS {
    PDEVICE_OBJECT PhysicalDeviceObject;
    union {
        PVOID *Generic;
        PVOID *InterruptMessageTable; /* PIO_INTERRUPT_MESSAGE_INFO *: no message-signalled interrupts here */
        PKINTERRUPT *InterruptObject;
    } ConnectionContext;
    PVOID MessageServiceRoutine;      /* PKMESSAGE_SERVICE_ROUTINE */
    PVOID ServiceContext;
    PKSPIN_LOCK SpinLock;
    KIRQL SynchronizeIrql;
    BOOLEAN FloatingSave;
    PKSERVICE_ROUTINE FallBackServiceRoutine;
} IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS, *PIO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS;
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS, FallBackServiceRoutine, 0x30);
NTOS_ASSERT_SIZE(IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS, 0x38);

typedef struct _IO_CONNECT_INTERRUPT_PARAMETERS {
    ULONG Version;
    union {
        IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS FullySpecified;
        IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS LineBased;
        IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS MessageBased;
    };
} IO_CONNECT_INTERRUPT_PARAMETERS, *PIO_CONNECT_INTERRUPT_PARAMETERS;
NTOS_ASSERT_OFFSET(IO_CONNECT_INTERRUPT_PARAMETERS, FullySpecified, 0x08);
NTOS_ASSERT_SIZE(IO_CONNECT_INTERRUPT_PARAMETERS, 0x50);

typedef struct _IO_DISCONNECT_INTERRUPT_PARAMETERS {
    ULONG Version;
    union {
        PVOID Generic;
        PKINTERRUPT InterruptObject;
        PVOID InterruptMessageTable;  /* PIO_INTERRUPT_MESSAGE_INFO */
    } ConnectionContext;
} IO_DISCONNECT_INTERRUPT_PARAMETERS, *PIO_DISCONNECT_INTERRUPT_PARAMETERS;
NTOS_ASSERT_SIZE(IO_DISCONNECT_INTERRUPT_PARAMETERS, 0x10);

NTKERNELAPI NTSTATUS NTAPI IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                                              PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                                              KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                              BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                              BOOLEAN FloatingSave);
NTKERNELAPI VOID NTAPI IoDisconnectInterrupt(PKINTERRUPT InterruptObject);
NTKERNELAPI NTSTATUS NTAPI IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters);
NTKERNELAPI VOID NTAPI IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters);
/* HAL.dll: the system vector, IRQL and processors of a bus interrupt; 0 when
 * it has none. Only Isa (IRQ = BusInterruptLevel) is routed. */
NTKERNELAPI ULONG NTAPI HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber,
                                              ULONG BusInterruptLevel, ULONG BusInterruptVector, PKIRQL Irql,
                                              PKAFFINITY Affinity);

#endif /* NTOS_IO_INTERRUPT_H */
