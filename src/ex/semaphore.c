/*
 * Semaphore objects: the Semaphore type and its services (ZwCreateSemaphore,
 * ZwOpenSemaphore, ZwReleaseSemaphore, ZwQuerySemaphore).
 *
 * The body begins with the KSEMAPHORE (drivers get a PKSEMAPHORE from an
 * Semaphore handle); a release lock follows it.
 *
 * Releasing past the maximum. KeReleaseSemaphore treats that as a caller bug
 * and raises (today: bug-checks), while the service must return
 * STATUS_SEMAPHORE_LIMIT_EXCEEDED and leave the count alone. So the service
 * checks first: with the object's ReleaseLock held it reads the count under
 * the dispatcher lock, decides, and only then calls KeReleaseSemaphore. Waits
 * can only lower the count meanwhile, and every release through a handle holds
 * the same ReleaseLock, so a release that passed the check cannot overflow.
 * (A driver calling KeReleaseSemaphore directly on the body bypasses the lock
 * and owns its raise, as on NT.)
 *
 * Locking and IRQL: services at PASSIVE_LEVEL. ReleaseLock is a spin lock
 * (DISPATCH_LEVEL) taken before the dispatcher lock and held across
 * KeReleaseSemaphore, which is callable at DISPATCH_LEVEL.
 */
#include <ntos/ex_objects.h>
#include "../ke/ki.h"

typedef struct _EXP_SEMAPHORE {
    KSEMAPHORE Semaphore; /* first: the body is a KSEMAPHORE for Ke and for waits */
    KSPIN_LOCK ReleaseLock;
} EXP_SEMAPHORE, *PEXP_SEMAPHORE;
_Static_assert(FIELD_OFFSET(EXP_SEMAPHORE, Semaphore) == 0, "waits use the body");

POBJECT_TYPE ExSemaphoreObjectType;

static const GENERIC_MAPPING ExpSemaphoreMapping = {
    STANDARD_RIGHTS_READ | SEMAPHORE_QUERY_STATE,
    STANDARD_RIGHTS_WRITE | SEMAPHORE_MODIFY_STATE,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    SEMAPHORE_ALL_ACCESS,
};

NTSTATUS ExpInitializeSemaphoreImplementation(void)
{
    return ExpCreateDispatcherObjectType(L"Semaphore", &ExpSemaphoreMapping, SEMAPHORE_ALL_ACCESS, NULL,
                                         &ExSemaphoreObjectType);
}

static NTSTATUS ExpCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                   POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount, LONG MaximumCount,
                                   KPROCESSOR_MODE PreviousMode)
{
    if (SemaphoreHandle == NULL)
        return STATUS_ACCESS_VIOLATION;
    if (MaximumCount <= 0 || InitialCount < 0 || InitialCount > MaximumCount)
        return STATUS_INVALID_PARAMETER;
    PEXP_SEMAPHORE semaphore;
    NTSTATUS status = ObCreateObject(PreviousMode, ExSemaphoreObjectType, ObjectAttributes, PreviousMode, NULL,
                                     sizeof(EXP_SEMAPHORE), 0, 0, (PVOID *)&semaphore);
    if (!NT_SUCCESS(status))
        return status;
    KeInitializeSemaphore(&semaphore->Semaphore, InitialCount, MaximumCount);
    KeInitializeSpinLock(&semaphore->ReleaseLock);
    return ExpInsertObjectHandle(semaphore, DesiredAccess, SemaphoreHandle);
}

NTSTATUS NTAPI ZwCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount, LONG MaximumCount)
{
    return ExpCreateSemaphore(SemaphoreHandle, DesiredAccess, ObjectAttributes, InitialCount, MaximumCount,
                              KernelMode);
}

NTSTATUS NTAPI NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount, LONG MaximumCount)
{
    return ExpCreateSemaphore(SemaphoreHandle, DesiredAccess, ObjectAttributes, InitialCount, MaximumCount,
                              ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(SemaphoreHandle, DesiredAccess, ObjectAttributes, ExSemaphoreObjectType, KernelMode);
}

NTSTATUS NTAPI NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(SemaphoreHandle, DesiredAccess, ObjectAttributes, ExSemaphoreObjectType,
                               ExGetPreviousMode());
}

/* ---- release ------------------------------------------------------------------------------ */

NTSTATUS ExpReleaseSemaphoreObject(PVOID Semaphore, LONG Count, PLONG PreviousCount)
{
    PEXP_SEMAPHORE s = Semaphore;
    if (Count <= 0)
        return STATUS_INVALID_PARAMETER;
    KIRQL irql;
    KeAcquireSpinLock(&s->ReleaseLock, &irql);
    KIRQL dispatcher = KiAcquireDispatcherLock();
    LONG current = s->Semaphore.Header.SignalState;
    LONG limit = s->Semaphore.Limit;
    KiReleaseDispatcherLock(dispatcher);
    NTSTATUS status = STATUS_SUCCESS;
    LONG previous = 0;
    /* limit - current cannot overflow: 0 <= current <= limit. */
    if (Count > limit - current)
        status = STATUS_SEMAPHORE_LIMIT_EXCEEDED;
    else
        previous = KeReleaseSemaphore(&s->Semaphore, SEMAPHORE_INCREMENT, Count, FALSE);
    KeReleaseSpinLock(&s->ReleaseLock, irql);
    if (NT_SUCCESS(status) && PreviousCount != NULL)
        *PreviousCount = previous;
    return status;
}

static NTSTATUS ExpReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount,
                                    KPROCESSOR_MODE PreviousMode)
{
    if (ReleaseCount <= 0)
        return STATUS_INVALID_PARAMETER;
    PVOID semaphore;
    NTSTATUS status = ObReferenceObjectByHandle(SemaphoreHandle, SEMAPHORE_MODIFY_STATE, ExSemaphoreObjectType,
                                                PreviousMode, &semaphore, NULL);
    if (!NT_SUCCESS(status))
        return status;
    status = ExpReleaseSemaphoreObject(semaphore, ReleaseCount, PreviousCount);
    ObDereferenceObject(semaphore);
    return status;
}

NTSTATUS NTAPI ZwReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount)
{
    return ExpReleaseSemaphore(SemaphoreHandle, ReleaseCount, PreviousCount, KernelMode);
}

NTSTATUS NTAPI NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount)
{
    return ExpReleaseSemaphore(SemaphoreHandle, ReleaseCount, PreviousCount, ExGetPreviousMode());
}

/* ---- query ---------------------------------------------------------------------------------- */

static NTSTATUS ExpQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS InformationClass,
                                  PVOID Information, ULONG Length, PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (InformationClass != SemaphoreBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (Length != sizeof(SEMAPHORE_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (Information == NULL)
        return STATUS_ACCESS_VIOLATION;
    PEXP_SEMAPHORE s;
    NTSTATUS status = ObReferenceObjectByHandle(SemaphoreHandle, SEMAPHORE_QUERY_STATE, ExSemaphoreObjectType,
                                                PreviousMode, (PVOID *)&s, NULL);
    if (!NT_SUCCESS(status))
        return status;
    SEMAPHORE_BASIC_INFORMATION info;
    KIRQL dispatcher = KiAcquireDispatcherLock();
    info.CurrentCount = s->Semaphore.Header.SignalState;
    info.MaximumCount = s->Semaphore.Limit;
    KiReleaseDispatcherLock(dispatcher);
    ObDereferenceObject(s);
    *(PSEMAPHORE_BASIC_INFORMATION)Information = info;
    if (ReturnLength != NULL)
        *ReturnLength = sizeof(SEMAPHORE_BASIC_INFORMATION);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS SemaphoreInformationClass,
                                PVOID SemaphoreInformation, ULONG SemaphoreInformationLength, PULONG ReturnLength)
{
    return ExpQuerySemaphore(SemaphoreHandle, SemaphoreInformationClass, SemaphoreInformation,
                             SemaphoreInformationLength, ReturnLength, KernelMode);
}

NTSTATUS NTAPI NtQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS SemaphoreInformationClass,
                                PVOID SemaphoreInformation, ULONG SemaphoreInformationLength, PULONG ReturnLength)
{
    return ExpQuerySemaphore(SemaphoreHandle, SemaphoreInformationClass, SemaphoreInformation,
                             SemaphoreInformationLength, ReturnLength, ExGetPreviousMode());
}
