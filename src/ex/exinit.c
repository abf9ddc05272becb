/*
 * Executive phase-1 initialisation: the object types of the executive's own
 * dispatcher objects (Event, Semaphore, Mutant, Timer), created after Ob and
 * Ps, and the create/open plumbing their services share.
 *
 * Locking and IRQL: boot runs at PASSIVE_LEVEL on the boot processor with
 * nothing else running; the shared helpers run at PASSIVE_LEVEL and take no
 * lock of their own (Ob does the locking).
 */
#include <ntos/ex_objects.h>
#include <ntos/ex_callback.h>
#include <ntos/rtl.h>

/* Every Ex dispatcher-object type shares this shape; only the name, the
 * mapping and the delete procedure differ. */
NTSTATUS ExpCreateDispatcherObjectType(PCWSTR Name, const GENERIC_MAPPING *Mapping, ACCESS_MASK ValidAccess,
                                       OB_DELETE_METHOD DeleteProcedure, POBJECT_TYPE *Type)
{
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    /* Waits use the body itself: it begins with the Ke dispatcher header. */
    init.UseDefaultObject = 0;
    init.WaitObjectFlagOffset = 0;
    /* Win32 names of these objects are case-sensitive unless the caller says otherwise. */
    init.CaseInsensitive = 0;
    /* Dispatcher objects are touched at DISPATCH_LEVEL and above. */
    init.PoolType = NonPagedPoolNx;
    init.GenericMapping = *Mapping;
    init.ValidAccessMask = ValidAccess;
    init.InvalidAttributes = OBJ_OPENLINK;
    init.DeleteProcedure = DeleteProcedure;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Name);
    return ObCreateObjectType(&name, &init, NULL, Type);
}

NTSTATUS ExpInsertObjectHandle(PVOID Object, ACCESS_MASK DesiredAccess, PHANDLE Handle)
{
    /* The caller's handle variable is written only on success, as NT does;
     * ObInsertObject consumes the object on failure. STATUS_OBJECT_NAME_EXISTS
     * (OBJ_OPENIF found one) is a success with a handle to the existing object. */
    HANDLE h = NULL;
    NTSTATUS status = ObInsertObject(Object, NULL, DesiredAccess, 0, NULL, &h);
    if (NT_SUCCESS(status))
        *Handle = h;
    return status;
}

NTSTATUS ExpOpenObjectHandle(PHANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             POBJECT_TYPE Type, KPROCESSOR_MODE PreviousMode)
{
    if (Handle == NULL)
        return STATUS_ACCESS_VIOLATION;
    HANDLE h = NULL;
    NTSTATUS status = ObOpenObjectByName(ObjectAttributes, Type, PreviousMode, NULL, DesiredAccess, NULL, &h);
    if (NT_SUCCESS(status))
        *Handle = h;
    return status;
}

NTSTATUS ExInitSystemObjects(void)
{
    NTSTATUS status = ExpInitializeEventImplementation();
    if (NT_SUCCESS(status))
        status = ExpInitializeSemaphoreImplementation();
    if (NT_SUCCESS(status))
        status = ExpInitializeMutantImplementation();
    if (NT_SUCCESS(status))
        status = ExpInitializeTimerImplementation();
    if (NT_SUCCESS(status))
        status = ExpInitializeCallbacks(); /* the Callback type and \Callback\SetSystemTime etc. */
    return status;
}
