/*
 * Event objects: the Event type and its services (ZwCreateEvent, ZwOpenEvent,
 * ZwSetEvent, ZwResetEvent, ZwClearEvent, ZwPulseEvent, ZwQueryEvent).
 *
 * The body is exactly a KEVENT: drivers that reference an Event handle get a
 * PKEVENT they may pass to KeSetEvent or KeWaitForSingleObject.
 *
 * Locking and IRQL: services at PASSIVE_LEVEL. The event's state is Ke's,
 * guarded by the dispatcher lock inside the Ke calls (and taken here to read
 * it for a query); nothing here keeps a lock of its own. The object stays alive across each call through the
 * reference taken from the handle.
 */
#include <ntos/ex_objects.h>
#include "../ke/ki.h"

POBJECT_TYPE ExEventObjectType;

static const GENERIC_MAPPING ExpEventMapping = {
    STANDARD_RIGHTS_READ | EVENT_QUERY_STATE,
    STANDARD_RIGHTS_WRITE | EVENT_MODIFY_STATE,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    EVENT_ALL_ACCESS,
};

NTSTATUS ExpInitializeEventImplementation(void)
{
    /* Nothing to undo at delete: a KEVENT owns no resources and no one can
     * be waiting on it once the last reference is gone. */
    return ExpCreateDispatcherObjectType(L"Event", &ExpEventMapping, EVENT_ALL_ACCESS, NULL, &ExEventObjectType);
}

static NTSTATUS ExpCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                               EVENT_TYPE EventType, BOOLEAN InitialState, KPROCESSOR_MODE PreviousMode)
{
    if (EventHandle == NULL)
        return STATUS_ACCESS_VIOLATION;
    if (EventType != NotificationEvent && EventType != SynchronizationEvent)
        return STATUS_INVALID_PARAMETER;
    PKEVENT event;
    NTSTATUS status = ObCreateObject(PreviousMode, ExEventObjectType, ObjectAttributes, PreviousMode, NULL,
                                     sizeof(KEVENT), 0, 0, (PVOID *)&event);
    if (!NT_SUCCESS(status))
        return status;
    KeInitializeEvent(event, EventType, InitialState != FALSE);
    return ExpInsertObjectHandle(event, DesiredAccess, EventHandle);
}

NTSTATUS NTAPI ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             EVENT_TYPE EventType, BOOLEAN InitialState)
{
    return ExpCreateEvent(EventHandle, DesiredAccess, ObjectAttributes, EventType, InitialState, KernelMode);
}

NTSTATUS NTAPI NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             EVENT_TYPE EventType, BOOLEAN InitialState)
{
    return ExpCreateEvent(EventHandle, DesiredAccess, ObjectAttributes, EventType, InitialState, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(EventHandle, DesiredAccess, ObjectAttributes, ExEventObjectType, KernelMode);
}

NTSTATUS NTAPI NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(EventHandle, DesiredAccess, ObjectAttributes, ExEventObjectType, ExGetPreviousMode());
}

/* ---- state changes ---------------------------------------------------------------------- */

typedef enum { ExpEventSet, ExpEventReset, ExpEventClear, ExpEventPulse } EXP_EVENT_OPERATION;

static NTSTATUS ExpChangeEvent(HANDLE EventHandle, EXP_EVENT_OPERATION Operation, PLONG PreviousState,
                               KPROCESSOR_MODE PreviousMode)
{
    PKEVENT event;
    NTSTATUS status = ObReferenceObjectByHandle(EventHandle, EVENT_MODIFY_STATE, ExEventObjectType, PreviousMode,
                                                (PVOID *)&event, NULL);
    if (!NT_SUCCESS(status))
        return status;
    LONG previous = 0;
    switch (Operation) {
    case ExpEventSet:
        previous = KeSetEvent(event, EVENT_INCREMENT, FALSE);
        break;
    case ExpEventReset:
        previous = KeResetEvent(event);
        break;
    case ExpEventClear:
        KeClearEvent(event);
        break;
    case ExpEventPulse:
        previous = KePulseEvent(event, EVENT_INCREMENT, FALSE);
        break;
    }
    ObDereferenceObject(event);
    if (PreviousState != NULL)
        *PreviousState = previous;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwSetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpEventSet, PreviousState, KernelMode);
}

NTSTATUS NTAPI NtSetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpEventSet, PreviousState, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwResetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpEventReset, PreviousState, KernelMode);
}

NTSTATUS NTAPI NtResetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpEventReset, PreviousState, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwClearEvent(HANDLE EventHandle)
{
    return ExpChangeEvent(EventHandle, ExpEventClear, NULL, KernelMode);
}

NTSTATUS NTAPI NtClearEvent(HANDLE EventHandle)
{
    return ExpChangeEvent(EventHandle, ExpEventClear, NULL, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwPulseEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpEventPulse, PreviousState, KernelMode);
}

NTSTATUS NTAPI NtPulseEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpEventPulse, PreviousState, ExGetPreviousMode());
}

/* ---- query ---------------------------------------------------------------------------------- */

static NTSTATUS ExpQueryEvent(HANDLE EventHandle, EVENT_INFORMATION_CLASS InformationClass, PVOID Information,
                              ULONG Length, PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (InformationClass != EventBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (Length != sizeof(EVENT_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (Information == NULL)
        return STATUS_ACCESS_VIOLATION;
    PKEVENT event;
    NTSTATUS status = ObReferenceObjectByHandle(EventHandle, EVENT_QUERY_STATE, ExEventObjectType, PreviousMode,
                                                (PVOID *)&event, NULL);
    if (!NT_SUCCESS(status))
        return status;
    /* Header.Type is fixed at creation; SignalState is read under the lock
     * its writers hold. */
    EVENT_BASIC_INFORMATION info;
    info.EventType = event->Header.Type == EventSynchronizationObject ? SynchronizationEvent : NotificationEvent;
    KIRQL old = KiAcquireDispatcherLock();
    info.EventState = event->Header.SignalState;
    KiReleaseDispatcherLock(old);
    ObDereferenceObject(event);
    *(PEVENT_BASIC_INFORMATION)Information = info;
    if (ReturnLength != NULL)
        *ReturnLength = sizeof(EVENT_BASIC_INFORMATION);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryEvent(HANDLE EventHandle, EVENT_INFORMATION_CLASS EventInformationClass, PVOID EventInformation,
                            ULONG EventInformationLength, PULONG ReturnLength)
{
    return ExpQueryEvent(EventHandle, EventInformationClass, EventInformation, EventInformationLength, ReturnLength,
                         KernelMode);
}

NTSTATUS NTAPI NtQueryEvent(HANDLE EventHandle, EVENT_INFORMATION_CLASS EventInformationClass, PVOID EventInformation,
                            ULONG EventInformationLength, PULONG ReturnLength)
{
    return ExpQueryEvent(EventHandle, EventInformationClass, EventInformation, EventInformationLength, ReturnLength,
                         ExGetPreviousMode());
}
