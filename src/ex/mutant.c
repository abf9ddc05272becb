/*
 * Mutant objects: the Mutant type and its services (ZwCreateMutant,
 * ZwOpenMutant, ZwReleaseMutant, ZwQueryMutant).
 *
 * The body is exactly a KMUTANT (drivers get a PKMUTANT from a Mutant handle).
 *
 * Releasing a mutant one does not own is a bug check in Ke
 * (THREAD_NOT_MUTEX_OWNER) but an ordinary STATUS_MUTANT_NOT_OWNED for the
 * service, so the service checks ownership first. The check needs no lock held
 * across the release: only the current thread can make itself the owner (by
 * waiting) or stop being the owner (by releasing, or by exiting, which it is
 * not doing), so the answer cannot change between the check and the release.
 * It is read under the dispatcher lock for a clean snapshot.
 *
 * Deletion: a mutant whose last reference goes while a thread still owns it
 * is in that thread's owned-mutant list; the delete procedure releases it as
 * abandoned (NT's rule), which unlinks it before the memory is freed.
 *
 * Locking and IRQL: services at PASSIVE_LEVEL; the mutant's state is guarded
 * by the dispatcher lock (inside Ke, and here for reads).
 */
#include <ntos/ex_objects.h>
#include "../ke/ki.h"

POBJECT_TYPE ExMutantObjectType;

static const GENERIC_MAPPING ExpMutantMapping = {
    STANDARD_RIGHTS_READ | MUTANT_QUERY_STATE,
    STANDARD_RIGHTS_WRITE,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    MUTANT_ALL_ACCESS,
};

static VOID NTAPI ExpDeleteMutant(PVOID Object)
{
    PKMUTANT mutant = Object;
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN owned = mutant->OwnerThread != NULL;
    KiReleaseDispatcherLock(old);
    /* The owner cannot take it again (that needs a reference), but it may be
     * exiting right now and abandon it itself: the abandoning release copes
     * with either order. */
    if (owned)
        KeReleaseMutant(mutant, MUTANT_INCREMENT, TRUE, FALSE);
}

NTSTATUS ExpInitializeMutantImplementation(void)
{
    return ExpCreateDispatcherObjectType(L"Mutant", &ExpMutantMapping, MUTANT_ALL_ACCESS, ExpDeleteMutant,
                                         &ExMutantObjectType);
}

static NTSTATUS ExpCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                BOOLEAN InitialOwner, KPROCESSOR_MODE PreviousMode)
{
    if (MutantHandle == NULL)
        return STATUS_ACCESS_VIOLATION;
    PKMUTANT mutant;
    NTSTATUS status = ObCreateObject(PreviousMode, ExMutantObjectType, ObjectAttributes, PreviousMode, NULL,
                                     sizeof(KMUTANT), 0, 0, (PVOID *)&mutant);
    if (!NT_SUCCESS(status))
        return status;
    /* If the insert fails or OBJ_OPENIF finds an existing mutant, the new one
     * is deleted, and the delete procedure hands back the initial ownership. */
    KeInitializeMutant(mutant, InitialOwner != FALSE);
    return ExpInsertObjectHandle(mutant, DesiredAccess, MutantHandle);
}

NTSTATUS NTAPI ZwCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                              BOOLEAN InitialOwner)
{
    return ExpCreateMutant(MutantHandle, DesiredAccess, ObjectAttributes, InitialOwner, KernelMode);
}

NTSTATUS NTAPI NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                              BOOLEAN InitialOwner)
{
    return ExpCreateMutant(MutantHandle, DesiredAccess, ObjectAttributes, InitialOwner, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(MutantHandle, DesiredAccess, ObjectAttributes, ExMutantObjectType, KernelMode);
}

NTSTATUS NTAPI NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenObjectHandle(MutantHandle, DesiredAccess, ObjectAttributes, ExMutantObjectType,
                               ExGetPreviousMode());
}

/* ---- release ------------------------------------------------------------------------------ */

NTSTATUS ExpReleaseMutantObject(PVOID Mutant, BOOLEAN Wait, PLONG PreviousCount)
{
    PKMUTANT mutant = Mutant;
    PKTHREAD self = KeGetCurrentThread();
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN owner = mutant->OwnerThread == self;
    KiReleaseDispatcherLock(old);
    if (!owner)
        return STATUS_MUTANT_NOT_OWNED;
    LONG previous = KeReleaseMutant(mutant, MUTANT_INCREMENT, FALSE, Wait);
    if (PreviousCount != NULL)
        *PreviousCount = previous;
    return STATUS_SUCCESS;
}

static NTSTATUS ExpReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount, KPROCESSOR_MODE PreviousMode)
{
    PVOID mutant;
    /* No access right is asked for: ownership is the check (ReleaseMutex works
     * on a handle opened with SYNCHRONIZE only). */
    NTSTATUS status = ObReferenceObjectByHandle(MutantHandle, 0, ExMutantObjectType, PreviousMode, &mutant, NULL);
    if (!NT_SUCCESS(status))
        return status;
    status = ExpReleaseMutantObject(mutant, FALSE, PreviousCount);
    ObDereferenceObject(mutant);
    return status;
}

NTSTATUS NTAPI ZwReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount)
{
    return ExpReleaseMutant(MutantHandle, PreviousCount, KernelMode);
}

NTSTATUS NTAPI NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount)
{
    return ExpReleaseMutant(MutantHandle, PreviousCount, ExGetPreviousMode());
}

/* ---- query ---------------------------------------------------------------------------------- */

static NTSTATUS ExpQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS InformationClass, PVOID Information,
                               ULONG Length, PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (InformationClass != MutantBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (Length != sizeof(MUTANT_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (Information == NULL)
        return STATUS_ACCESS_VIOLATION;
    PKMUTANT mutant;
    NTSTATUS status = ObReferenceObjectByHandle(MutantHandle, MUTANT_QUERY_STATE, ExMutantObjectType, PreviousMode,
                                                (PVOID *)&mutant, NULL);
    if (!NT_SUCCESS(status))
        return status;
    MUTANT_BASIC_INFORMATION info;
    KIRQL old = KiAcquireDispatcherLock();
    info.CurrentCount = mutant->Header.SignalState;
    info.OwnedByCaller = mutant->OwnerThread == KeGetCurrentThread();
    info.AbandonedState = mutant->Abandoned;
    KiReleaseDispatcherLock(old);
    ObDereferenceObject(mutant);
    *(PMUTANT_BASIC_INFORMATION)Information = info;
    if (ReturnLength != NULL)
        *ReturnLength = sizeof(MUTANT_BASIC_INFORMATION);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS MutantInformationClass,
                             PVOID MutantInformation, ULONG MutantInformationLength, PULONG ReturnLength)
{
    return ExpQueryMutant(MutantHandle, MutantInformationClass, MutantInformation, MutantInformationLength,
                          ReturnLength, KernelMode);
}

NTSTATUS NTAPI NtQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS MutantInformationClass,
                             PVOID MutantInformation, ULONG MutantInformationLength, PULONG ReturnLength)
{
    return ExpQueryMutant(MutantHandle, MutantInformationClass, MutantInformation, MutantInformationLength,
                          ReturnLength, ExGetPreviousMode());
}
