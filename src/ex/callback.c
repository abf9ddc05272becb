/*
 * Callback objects: ExCreateCallback, ExRegisterCallback,
 * ExUnregisterCallback, ExNotifyCallback, and the standard callbacks
 * \Callback\SetSystemTime, \Callback\PowerState and \Callback\ProcessorAdd
 * created at boot (permanent, multiple registrations allowed).
 *
 * Locking and IRQL
 *  CALLBACK_OBJECT.Lock (spin lock) guards the registration list and each
 *  registration's Busy count and UnregisterWaiting flag. ExNotifyCallback
 *  (<= DISPATCH_LEVEL) marks a registration busy under the lock, drops the
 *  lock and calls the function at the caller's IRQL, then retakes the lock to
 *  move on: a busy registration stays linked, so its Flink stays valid.
 *  ExUnregisterCallback (<= APC_LEVEL) marks the registration, waits for the
 *  calls in flight to finish (the last one signals it) and only then unlinks
 *  it, so after it returns the function is never called again.
 *  ExCreateCallback and ExRegisterCallback run at PASSIVE_LEVEL.
 */
#include <ntos/ex_callback.h>
#include <ntos/ex_pool.h>
#include <ntos/rtl.h>

#define EXP_CALLBACK_OBJECT_TAG 0x6C6C6143 /* "Call" */
#define CALLBACK_MODIFY_STATE 0x0001
#define CALLBACK_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | CALLBACK_MODIFY_STATE)

typedef struct _CALLBACK_OBJECT {
    ULONG Signature;
    KSPIN_LOCK Lock;
    LIST_ENTRY RegisteredCallbacks;
    BOOLEAN AllowMultipleCallbacks;
} CALLBACK_OBJECT;

typedef struct _CALLBACK_REGISTRATION {
    LIST_ENTRY Link;
    PCALLBACK_OBJECT CallbackObject;
    PCALLBACK_FUNCTION CallbackFunction;
    PVOID CallbackContext;
    ULONG Busy;                 /* calls in flight (Lock) */
    BOOLEAN UnregisterWaiting;  /* (Lock) */
    KEVENT Idle;                /* set by the last call in flight once UnregisterWaiting */
} CALLBACK_REGISTRATION, *PCALLBACK_REGISTRATION;

POBJECT_TYPE ExCallbackObjectType;
PCALLBACK_OBJECT ExCbSetSystemTime;
PCALLBACK_OBJECT ExCbPowerState;
PCALLBACK_OBJECT ExCbProcessorAdd;

static const GENERIC_MAPPING ExpCallbackMapping = {
    STANDARD_RIGHTS_READ | SYNCHRONIZE,
    STANDARD_RIGHTS_WRITE | CALLBACK_MODIFY_STATE,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    CALLBACK_ALL_ACCESS,
};

static NTSTATUS ExpOpenCallback(POBJECT_ATTRIBUTES ObjectAttributes, PCALLBACK_OBJECT *Object)
{
    HANDLE h;
    NTSTATUS status = ObOpenObjectByName(ObjectAttributes, ExCallbackObjectType, KernelMode, NULL, 0, NULL, &h);
    if (!NT_SUCCESS(status))
        return status;
    status = ObReferenceObjectByHandle(h, 0, ExCallbackObjectType, KernelMode, (PVOID *)Object, NULL);
    ObCloseHandle(h, KernelMode);
    return status;
}

NTSTATUS NTAPI ExCreateCallback(PCALLBACK_OBJECT *CallbackObject, POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN Create,
                                BOOLEAN AllowMultipleCallbacks)
{
    if (CallbackObject == NULL || ObjectAttributes == NULL)
        return STATUS_INVALID_PARAMETER;
    *CallbackObject = NULL;
    if (ExCallbackObjectType == NULL)
        return STATUS_UNSUCCESSFUL;
    BOOLEAN named = ObjectAttributes->ObjectName != NULL && ObjectAttributes->ObjectName->Length != 0;
    NTSTATUS status = STATUS_UNSUCCESSFUL; /* no name and no creation: NT's answer */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (named) {
            status = ExpOpenCallback(ObjectAttributes, CallbackObject);
            if (NT_SUCCESS(status) || status != STATUS_OBJECT_NAME_NOT_FOUND || !Create)
                return status;
        } else if (!Create) {
            return status;
        }
        PCALLBACK_OBJECT cb;
        status = ObCreateObject(KernelMode, ExCallbackObjectType, ObjectAttributes, KernelMode, NULL,
                                sizeof(CALLBACK_OBJECT), 0, 0, (PVOID *)&cb);
        if (!NT_SUCCESS(status))
            return status;
        cb->Signature = EXP_CALLBACK_OBJECT_TAG;
        KeInitializeSpinLock(&cb->Lock);
        InitializeListHead(&cb->RegisteredCallbacks);
        cb->AllowMultipleCallbacks = AllowMultipleCallbacks;
        PVOID inserted = NULL;
        status = ObInsertObject(cb, NULL, CALLBACK_ALL_ACCESS, 0, &inserted, NULL);
        if (NT_SUCCESS(status)) {
            /* OBJ_OPENIF may hand back an existing object: that is the one. */
            *CallbackObject = inserted;
            return STATUS_SUCCESS;
        }
        /* Someone created the same name between our open and insert: open theirs. */
        if (status != STATUS_OBJECT_NAME_COLLISION)
            return status;
    }
    return status;
}

PVOID NTAPI ExRegisterCallback(PCALLBACK_OBJECT CallbackObject, PCALLBACK_FUNCTION CallbackFunction,
                               PVOID CallbackContext)
{
    if (CallbackObject == NULL || CallbackFunction == NULL)
        return NULL;
    PCALLBACK_REGISTRATION r = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*r), EXP_CALLBACK_OBJECT_TAG);
    if (r == NULL)
        return NULL;
    r->CallbackObject = CallbackObject;
    r->CallbackFunction = CallbackFunction;
    r->CallbackContext = CallbackContext;
    r->Busy = 0;
    r->UnregisterWaiting = FALSE;
    KeInitializeEvent(&r->Idle, NotificationEvent, FALSE);
    ObfReferenceObject(CallbackObject);
    KIRQL irql;
    KeAcquireSpinLock(&CallbackObject->Lock, &irql);
    BOOLEAN refused = !CallbackObject->AllowMultipleCallbacks && !IsListEmpty(&CallbackObject->RegisteredCallbacks);
    if (!refused)
        InsertTailList(&CallbackObject->RegisteredCallbacks, &r->Link);
    KeReleaseSpinLock(&CallbackObject->Lock, irql);
    if (refused) {
        ObDereferenceObject(CallbackObject);
        ExFreePoolWithTag(r, EXP_CALLBACK_OBJECT_TAG);
        return NULL;
    }
    return r;
}

VOID NTAPI ExUnregisterCallback(PVOID CallbackRegistration)
{
    PCALLBACK_REGISTRATION r = CallbackRegistration;
    PCALLBACK_OBJECT cb = r->CallbackObject;
    KIRQL irql;
    KeAcquireSpinLock(&cb->Lock, &irql);
    r->UnregisterWaiting = TRUE;
    BOOLEAN busy = r->Busy != 0;
    KeReleaseSpinLock(&cb->Lock, irql);
    if (busy)
        KeWaitForSingleObject(&r->Idle, Executive, KernelMode, FALSE, NULL);
    KeAcquireSpinLock(&cb->Lock, &irql);
    RemoveEntryList(&r->Link);
    KeReleaseSpinLock(&cb->Lock, irql);
    ExFreePoolWithTag(r, EXP_CALLBACK_OBJECT_TAG);
    ObDereferenceObject(cb);
}

VOID NTAPI ExNotifyCallback(PVOID CallbackObject, PVOID Argument1, PVOID Argument2)
{
    PCALLBACK_OBJECT cb = CallbackObject;
    if (cb == NULL)
        return;
    KIRQL irql;
    KeAcquireSpinLock(&cb->Lock, &irql);
    PLIST_ENTRY e = cb->RegisteredCallbacks.Flink;
    while (e != &cb->RegisteredCallbacks) {
        PCALLBACK_REGISTRATION r = CONTAINING_RECORD(e, CALLBACK_REGISTRATION, Link);
        if (r->UnregisterWaiting) {
            e = e->Flink;
            continue;
        }
        r->Busy++;
        KeReleaseSpinLock(&cb->Lock, irql);
        r->CallbackFunction(r->CallbackContext, Argument1, Argument2);
        KeAcquireSpinLock(&cb->Lock, &irql);
        e = e->Flink;
        if (--r->Busy == 0 && r->UnregisterWaiting)
            KeSetEvent(&r->Idle, 0, FALSE);
    }
    KeReleaseSpinLock(&cb->Lock, irql);
}

static NTSTATUS ExpCreateStandardCallback(PCWSTR Name, PCALLBACK_OBJECT *Object)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Name);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_PERMANENT, NULL, NULL);
    return ExCreateCallback(Object, &oa, TRUE, TRUE);
}

NTSTATUS ExpInitializeCallbacks(void)
{
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    init.GenericMapping = ExpCallbackMapping;
    init.ValidAccessMask = CALLBACK_ALL_ACCESS;
    init.InvalidAttributes = OBJ_OPENLINK;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Callback");
    NTSTATUS status = ObCreateObjectType(&name, &init, NULL, &ExCallbackObjectType);
    if (NT_SUCCESS(status))
        status = ExpCreateStandardCallback(L"\\Callback\\SetSystemTime", &ExCbSetSystemTime);
    if (NT_SUCCESS(status))
        status = ExpCreateStandardCallback(L"\\Callback\\PowerState", &ExCbPowerState);
    if (NT_SUCCESS(status))
        status = ExpCreateStandardCallback(L"\\Callback\\ProcessorAdd", &ExCbProcessorAdd);
    return status;
}
