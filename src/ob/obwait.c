/*
 * Waits through handles: ZwWaitForSingleObject, ZwWaitForMultipleObjects and
 * ZwSignalAndWaitForSingleObject (and their Nt forms).
 *
 * The dispatcher object a handle's object is waited on through is decided by
 * its type: types created with UseDefaultObject wait on ObpDefaultObject (a
 * notification event that is always signaled, so such a wait completes at
 * once); any other type's DefaultObject is an offset into the body where a
 * DISPATCHER_HEADER lives (0 for events, semaphores, mutants, timers,
 * processes and threads). ntos compares with &ObpDefaultObject rather than
 * testing the sign of the value as x64 NT can, because hosted kernel
 * addresses are not in the upper half.
 *
 * Locking and IRQL: PASSIVE_LEVEL (APC_LEVEL works for untimed or zero
 * timeouts, as with KeWaitFor*). Each object is referenced for the duration
 * of the wait, so the dispatcher objects cannot go away under Ke; no lock is
 * held here across a wait. ZwSignalAndWaitForSingleObject uses Ke's Wait=TRUE
 * protocol: the signaling call returns holding the dispatcher lock and the
 * wait that immediately follows consumes it, so nothing between the two may
 * take a lock, allocate or block.
 */
#include "obp.h"
#include <ntos/ex_objects.h>

#define OBP_WAIT_TAG 0x74695742 /* "BWit" */

/* The dispatcher object to wait on for Object, or NULL if its type's
 * DefaultObject offset does not lead to one (a mis-declared type: its body
 * does not begin with a dispatcher header where it claims to). */
static PVOID ObpWaitObject(PVOID Object)
{
    POBJECT_TYPE type = ObGetObjectType(Object);
    PVOID wait = type->DefaultObject;
    if (wait == (PVOID)&ObpDefaultObject)
        return wait;
    PDISPATCHER_HEADER header = (PDISPATCHER_HEADER)((PUCHAR)Object + (ULONG_PTR)wait);
    /* Every waitable Ke object type is below Spare2Object. */
    if (header->Type >= Spare2Object)
        return NULL;
    return header;
}

/* Copies a caller's timeout: the wait must not read it again later. */
static PLARGE_INTEGER ObpCaptureTimeout(PLARGE_INTEGER Timeout, PLARGE_INTEGER Captured)
{
    if (Timeout == NULL)
        return NULL;
    *Captured = *Timeout;
    return Captured;
}

/* ---- single object ---------------------------------------------------------------------- */

static NTSTATUS ObpWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                       KPROCESSOR_MODE PreviousMode)
{
    LARGE_INTEGER captured;
    PLARGE_INTEGER timeout = ObpCaptureTimeout(Timeout, &captured);
    PVOID object;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, SYNCHRONIZE, NULL, PreviousMode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    PVOID wait = ObpWaitObject(object);
    if (wait == NULL)
        status = STATUS_OBJECT_TYPE_MISMATCH;
    else
        status = KeWaitForSingleObject(wait, UserRequest, PreviousMode, Alertable, timeout);
    ObDereferenceObject(object);
    return status;
}

NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return ObpWaitForSingleObject(Handle, Alertable, Timeout, KernelMode);
}

NTSTATUS NTAPI NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return ObpWaitForSingleObject(Handle, Alertable, Timeout, ExGetPreviousMode());
}

/* ---- multiple objects -------------------------------------------------------------------- */

/* Storage for a wait on more objects than the thread's own wait blocks cover:
 * one pool block instead of ~4 KB of kernel stack. */
typedef struct _OBP_WAIT_STORAGE {
    PVOID Objects[MAXIMUM_WAIT_OBJECTS];
    PVOID WaitObjects[MAXIMUM_WAIT_OBJECTS];
    KWAIT_BLOCK WaitBlocks[MAXIMUM_WAIT_OBJECTS];
} OBP_WAIT_STORAGE;

static NTSTATUS ObpWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType, BOOLEAN Alertable,
                                          PLARGE_INTEGER Timeout, KPROCESSOR_MODE PreviousMode)
{
    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS)
        return STATUS_INVALID_PARAMETER_1;
    if (Handles == NULL)
        return STATUS_ACCESS_VIOLATION;
    if (WaitType != WaitAll && WaitType != WaitAny)
        return STATUS_INVALID_PARAMETER_3;
    LARGE_INTEGER captured;
    PLARGE_INTEGER timeout = ObpCaptureTimeout(Timeout, &captured);

    PVOID localObjects[THREAD_WAIT_OBJECTS];
    PVOID localWaitObjects[THREAD_WAIT_OBJECTS];
    PVOID *objects = localObjects;
    PVOID *waitObjects = localWaitObjects;
    PKWAIT_BLOCK waitBlocks = NULL; /* the thread's own */
    OBP_WAIT_STORAGE *storage = NULL;
    if (Count > THREAD_WAIT_OBJECTS) {
        storage = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*storage), OBP_WAIT_TAG);
        if (storage == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        objects = storage->Objects;
        waitObjects = storage->WaitObjects;
        waitBlocks = storage->WaitBlocks;
    }

    NTSTATUS status = STATUS_SUCCESS;
    ULONG referenced = 0;
    for (; referenced < Count; referenced++) {
        /* Each handle is read once: the caller's array may change under us. */
        HANDLE handle = Handles[referenced];
        status = ObReferenceObjectByHandle(handle, SYNCHRONIZE, NULL, PreviousMode, &objects[referenced], NULL);
        if (!NT_SUCCESS(status))
            goto out;
        waitObjects[referenced] = ObpWaitObject(objects[referenced]);
        if (waitObjects[referenced] == NULL) {
            referenced++;
            status = STATUS_OBJECT_TYPE_MISMATCH;
            goto out;
        }
    }
    if (WaitType == WaitAll) {
        /* Satisfying a WaitAll takes each object once per listed entry: the
         * same semaphore twice would be taken twice from one unit. Objects of
         * default-object types share ObpDefaultObject, which is harmless, so
         * the check is on the objects, not on what is waited on. */
        for (ULONG i = 1; i < Count; i++) {
            for (ULONG j = 0; j < i; j++) {
                if (objects[i] == objects[j]) {
                    status = STATUS_INVALID_PARAMETER_MIX;
                    goto out;
                }
            }
        }
    }
    status = KeWaitForMultipleObjects(Count, waitObjects, WaitType, UserRequest, PreviousMode, Alertable, timeout,
                                      waitBlocks);
out:
    for (ULONG i = 0; i < referenced; i++)
        ObDereferenceObject(objects[i]);
    if (storage != NULL)
        ExFreePoolWithTag(storage, OBP_WAIT_TAG);
    return status;
}

NTSTATUS NTAPI ZwWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType, BOOLEAN Alertable,
                                        PLARGE_INTEGER Timeout)
{
    return ObpWaitForMultipleObjects(Count, Handles, WaitType, Alertable, Timeout, KernelMode);
}

NTSTATUS NTAPI NtWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType, BOOLEAN Alertable,
                                        PLARGE_INTEGER Timeout)
{
    return ObpWaitForMultipleObjects(Count, Handles, WaitType, Alertable, Timeout, ExGetPreviousMode());
}

/* ---- signal and wait ----------------------------------------------------------------------- */

static NTSTATUS ObpSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                                PLARGE_INTEGER Timeout, KPROCESSOR_MODE PreviousMode)
{
    LARGE_INTEGER captured;
    PLARGE_INTEGER timeout = ObpCaptureTimeout(Timeout, &captured);
    PVOID signalObject;
    OBJECT_HANDLE_INFORMATION info;
    NTSTATUS status = ObReferenceObjectByHandle(SignalHandle, 0, NULL, PreviousMode, &signalObject, &info);
    if (!NT_SUCCESS(status))
        return status;
    POBJECT_TYPE type = ObGetObjectType(signalObject);
    ACCESS_MASK required;
    if (type == ExEventObjectType) {
        required = EVENT_MODIFY_STATE;
    } else if (type == ExSemaphoreObjectType) {
        required = SEMAPHORE_MODIFY_STATE;
    } else if (type == ExMutantObjectType) {
        required = 0; /* ownership is the check, as for ZwReleaseMutant */
    } else {
        ObDereferenceObject(signalObject);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    if (PreviousMode != KernelMode && (info.GrantedAccess & required) != required) {
        ObDereferenceObject(signalObject);
        return STATUS_ACCESS_DENIED;
    }
    PVOID waitObject;
    status = ObReferenceObjectByHandle(WaitHandle, SYNCHRONIZE, NULL, PreviousMode, &waitObject, NULL);
    if (!NT_SUCCESS(status)) {
        ObDereferenceObject(signalObject);
        return status;
    }
    PVOID wait = ObpWaitObject(waitObject);
    if (wait == NULL) {
        status = STATUS_OBJECT_TYPE_MISMATCH;
        goto out;
    }

    /* From the signal to the wait: nothing but the two calls (see above). */
    if (type == ExEventObjectType) {
        KeSetEvent(signalObject, EVENT_INCREMENT, TRUE);
    } else if (type == ExMutantObjectType) {
        status = ExpReleaseMutantObject(signalObject, TRUE, NULL);
        if (!NT_SUCCESS(status))
            goto out;
    } else {
        /* The limit check needs the semaphore's release lock around
         * KeReleaseSemaphore, which cannot be dropped once the dispatcher
         * lock is kept for the wait: this signal completes before the wait
         * begins (a waiter released by it may run first). */
        status = ExpReleaseSemaphoreObject(signalObject, 1, NULL);
        if (!NT_SUCCESS(status))
            goto out;
    }
    status = KeWaitForSingleObject(wait, UserRequest, PreviousMode, Alertable, timeout);
out:
    ObDereferenceObject(waitObject);
    ObDereferenceObject(signalObject);
    return status;
}

NTSTATUS NTAPI ZwSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                              PLARGE_INTEGER Timeout)
{
    return ObpSignalAndWaitForSingleObject(SignalHandle, WaitHandle, Alertable, Timeout, KernelMode);
}

NTSTATUS NTAPI NtSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                              PLARGE_INTEGER Timeout)
{
    return ObpSignalAndWaitForSingleObject(SignalHandle, WaitHandle, Alertable, Timeout, ExGetPreviousMode());
}
