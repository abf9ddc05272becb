/*
 * Object-manager callbacks: ObRegisterCallbacks / ObUnRegisterCallbacks /
 * ObGetFilterVersion (src/ob/obcallback.c), with the documented x64
 * layouts. Callbacks are supported on the types created with
 * SupportsObjectCallbacks (PsProcessType and PsThreadType; ntos has no
 * desktop objects). Pre-operation callbacks run before a handle to such an
 * object is created or duplicated and may only remove access rights; the
 * post-operation callbacks run after, with the result. Both at PASSIVE_LEVEL
 * (or APC_LEVEL), in the context of the thread creating the handle, without
 * any Ob lock held; highest altitude first.
 */
#ifndef NTOS_OBCALLBACK_H
#define NTOS_OBCALLBACK_H

#include <ntos/ob.h>

typedef ULONG OB_OPERATION;
#define OB_OPERATION_HANDLE_CREATE 0x00000001
#define OB_OPERATION_HANDLE_DUPLICATE 0x00000002
#define OB_FLT_REGISTRATION_VERSION_0100 0x0100
#define OB_FLT_REGISTRATION_VERSION OB_FLT_REGISTRATION_VERSION_0100

typedef enum _OB_PREOP_CALLBACK_STATUS { OB_PREOP_SUCCESS } OB_PREOP_CALLBACK_STATUS;

typedef struct _OB_PRE_CREATE_HANDLE_INFORMATION {
    ACCESS_MASK DesiredAccess;
    ACCESS_MASK OriginalDesiredAccess;
} OB_PRE_CREATE_HANDLE_INFORMATION, *POB_PRE_CREATE_HANDLE_INFORMATION;

typedef struct _OB_PRE_DUPLICATE_HANDLE_INFORMATION {
    ACCESS_MASK DesiredAccess;
    ACCESS_MASK OriginalDesiredAccess;
    PVOID SourceProcess;
    PVOID TargetProcess;
} OB_PRE_DUPLICATE_HANDLE_INFORMATION, *POB_PRE_DUPLICATE_HANDLE_INFORMATION;
NTOS_ASSERT_SIZE(OB_PRE_DUPLICATE_HANDLE_INFORMATION, 0x18);

typedef union _OB_PRE_OPERATION_PARAMETERS {
    OB_PRE_CREATE_HANDLE_INFORMATION CreateHandleInformation;
    OB_PRE_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation;
} OB_PRE_OPERATION_PARAMETERS, *POB_PRE_OPERATION_PARAMETERS;

typedef struct _OB_PRE_OPERATION_INFORMATION {
    OB_OPERATION Operation;
    union {
        ULONG Flags;
        struct {
            ULONG KernelHandle : 1;
            ULONG Reserved : 31;
        };
    };
    PVOID Object;
    POBJECT_TYPE ObjectType;
    PVOID CallContext;
    POB_PRE_OPERATION_PARAMETERS Parameters;
} OB_PRE_OPERATION_INFORMATION, *POB_PRE_OPERATION_INFORMATION;
NTOS_ASSERT_SIZE(OB_PRE_OPERATION_INFORMATION, 0x28);
NTOS_ASSERT_OFFSET(OB_PRE_OPERATION_INFORMATION, Object, 0x08);
NTOS_ASSERT_OFFSET(OB_PRE_OPERATION_INFORMATION, CallContext, 0x18);
NTOS_ASSERT_OFFSET(OB_PRE_OPERATION_INFORMATION, Parameters, 0x20);

typedef struct _OB_POST_CREATE_HANDLE_INFORMATION {
    ACCESS_MASK GrantedAccess;
} OB_POST_CREATE_HANDLE_INFORMATION;
typedef struct _OB_POST_DUPLICATE_HANDLE_INFORMATION {
    ACCESS_MASK GrantedAccess;
} OB_POST_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_POST_OPERATION_PARAMETERS {
    OB_POST_CREATE_HANDLE_INFORMATION CreateHandleInformation;
    OB_POST_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation;
} OB_POST_OPERATION_PARAMETERS, *POB_POST_OPERATION_PARAMETERS;

typedef struct _OB_POST_OPERATION_INFORMATION {
    OB_OPERATION Operation;
    union {
        ULONG Flags;
        struct {
            ULONG KernelHandle : 1;
            ULONG Reserved : 31;
        };
    };
    PVOID Object;
    POBJECT_TYPE ObjectType;
    PVOID CallContext;
    NTSTATUS ReturnStatus;
    POB_POST_OPERATION_PARAMETERS Parameters;
} OB_POST_OPERATION_INFORMATION, *POB_POST_OPERATION_INFORMATION;
NTOS_ASSERT_SIZE(OB_POST_OPERATION_INFORMATION, 0x30);
NTOS_ASSERT_OFFSET(OB_POST_OPERATION_INFORMATION, ReturnStatus, 0x20);
NTOS_ASSERT_OFFSET(OB_POST_OPERATION_INFORMATION, Parameters, 0x28);

typedef OB_PREOP_CALLBACK_STATUS(NTAPI *POB_PRE_OPERATION_CALLBACK)(PVOID RegistrationContext,
                                                                     POB_PRE_OPERATION_INFORMATION OperationInformation);
typedef VOID(NTAPI *POB_POST_OPERATION_CALLBACK)(PVOID RegistrationContext,
                                                 POB_POST_OPERATION_INFORMATION OperationInformation);

typedef struct _OB_OPERATION_REGISTRATION {
    POBJECT_TYPE *ObjectType;
    OB_OPERATION Operations;
    POB_PRE_OPERATION_CALLBACK PreOperation;
    POB_POST_OPERATION_CALLBACK PostOperation;
} OB_OPERATION_REGISTRATION, *POB_OPERATION_REGISTRATION;
NTOS_ASSERT_SIZE(OB_OPERATION_REGISTRATION, 0x20);

typedef struct _OB_CALLBACK_REGISTRATION {
    USHORT Version;
    USHORT OperationRegistrationCount;
    UNICODE_STRING Altitude;
    PVOID RegistrationContext;
    OB_OPERATION_REGISTRATION *OperationRegistration;
} OB_CALLBACK_REGISTRATION, *POB_CALLBACK_REGISTRATION;
NTOS_ASSERT_SIZE(OB_CALLBACK_REGISTRATION, 0x28);
NTOS_ASSERT_OFFSET(OB_CALLBACK_REGISTRATION, Altitude, 0x08);
NTOS_ASSERT_OFFSET(OB_CALLBACK_REGISTRATION, OperationRegistration, 0x20);

NTKERNELAPI NTSTATUS NTAPI ObRegisterCallbacks(POB_CALLBACK_REGISTRATION CallbackRegistration,
                                               PVOID *RegistrationHandle);
NTKERNELAPI VOID NTAPI ObUnRegisterCallbacks(PVOID RegistrationHandle);
NTKERNELAPI USHORT NTAPI ObGetFilterVersion(void);

/* ---- kernel-internal: the handle-creation path (src/ob/obhandle.c) ---------------------------- */

#define OBP_CALLBACK_INLINE 8
struct _OBP_CALLBACK_ENTRY;
typedef struct _OBP_CALLBACK_CALL {
    ULONG Count;
    struct _OBP_CALLBACK_ENTRY **Entries; /* referenced (rundown) */
    PVOID *CallContexts;
    struct _OBP_CALLBACK_ENTRY *InlineEntries[OBP_CALLBACK_INLINE];
    PVOID InlineContexts[OBP_CALLBACK_INLINE];
    OB_OPERATION Operation;
    BOOLEAN KernelHandle;
    PVOID Object;
    POBJECT_TYPE ObjectType;
} OBP_CALLBACK_CALL, *POBP_CALLBACK_CALL;

/* Runs the pre-operation callbacks for a handle about to be created on
 * Object; GrantedAccess may lose bits. FALSE (and nothing to undo) when no
 * callback applies; STATUS_INSUFFICIENT_RESOURCES in *Status if the call
 * record could not be allocated. */
BOOLEAN ObpCallPreOperationCallbacks(POBP_CALLBACK_CALL Call, OB_OPERATION Operation, PVOID Object,
                                     BOOLEAN KernelHandle, PVOID SourceProcess, PVOID TargetProcess,
                                     PACCESS_MASK GrantedAccess, NTSTATUS *Status);
/* Runs the post-operation callbacks and releases the call record. */
VOID ObpCallPostOperationCallbacks(POBP_CALLBACK_CALL Call, NTSTATUS ReturnStatus, ACCESS_MASK GrantedAccess);

#endif /* NTOS_OBCALLBACK_H */
