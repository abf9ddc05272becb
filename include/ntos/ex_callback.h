/*
 * Executive callback slots (EX_CALLBACK) and callback objects.
 *
 * EX_CALLBACK is NT's fixed-slot callback registration: a slot holds a fast
 * reference (pointer plus a small cache of pre-charged references in the low
 * bits) to an EX_CALLBACK_ROUTINE_BLOCK, whose rundown protection keeps it
 * alive while a caller runs its function. The Ps notify routines are arrays
 * of these slots. Referencing a slot is lock-free at <= APC_LEVEL callers'
 * cost of one compare-exchange; replacing a slot takes a spin lock and is
 * followed by ExWaitForCallBacks before the old block is freed.
 *
 * Callback objects (\Callback\Name): ExCreateCallback, ExRegisterCallback,
 * ExUnregisterCallback, ExNotifyCallback (src/ex/callback.c).
 */
#ifndef NTOS_EX_CALLBACK_H
#define NTOS_EX_CALLBACK_H

#include <ntos/ob.h>
#include <ntos/ex_sync.h>

typedef struct DECLSPEC_ALIGN(16) _EX_CALLBACK_ROUTINE_BLOCK {
    EX_RUNDOWN_REF RundownProtect;
    PVOID Function;
    PVOID Context;
} EX_CALLBACK_ROUTINE_BLOCK, *PEX_CALLBACK_ROUTINE_BLOCK;

typedef struct _EX_CALLBACK {
    ULONG_PTR RoutineBlock; /* block | cached reference count (EX_CALLBACK_REF_BITS) */
} EX_CALLBACK, *PEX_CALLBACK;

#define EX_CALLBACK_REF_BITS 0xFULL

/* PASSIVE_LEVEL. NULL when the pool is exhausted. */
PEX_CALLBACK_ROUTINE_BLOCK ExAllocateCallBack(PVOID Function, PVOID Context);
VOID ExFreeCallBack(PEX_CALLBACK_ROUTINE_BLOCK CallBackBlock);
/* Installs NewBlock (or NULL) if the slot holds OldBlock (or NULL). <= APC_LEVEL. */
BOOLEAN ExCompareExchangeCallBack(PEX_CALLBACK CallBack, PEX_CALLBACK_ROUTINE_BLOCK NewBlock,
                                  PEX_CALLBACK_ROUTINE_BLOCK OldBlock);
/* A referenced block, or NULL for an empty slot. <= APC_LEVEL. */
PEX_CALLBACK_ROUTINE_BLOCK ExReferenceCallBackBlock(PEX_CALLBACK CallBack);
VOID ExDereferenceCallBackBlock(PEX_CALLBACK CallBack, PEX_CALLBACK_ROUTINE_BLOCK CallBackBlock);
/* After the block left its slot: waits until no caller is still running it. PASSIVE_LEVEL. */
VOID ExWaitForCallBacks(PEX_CALLBACK_ROUTINE_BLOCK CallBackBlock);

/* ---- callback objects ---------------------------------------------------------------------- */

typedef struct _CALLBACK_OBJECT *PCALLBACK_OBJECT;
typedef VOID(NTAPI *PCALLBACK_FUNCTION)(PVOID CallbackContext, PVOID Argument1, PVOID Argument2);

extern POBJECT_TYPE ExCallbackObjectType;

NTKERNELAPI NTSTATUS NTAPI ExCreateCallback(PCALLBACK_OBJECT *CallbackObject, POBJECT_ATTRIBUTES ObjectAttributes,
                                            BOOLEAN Create, BOOLEAN AllowMultipleCallbacks);
NTKERNELAPI PVOID NTAPI ExRegisterCallback(PCALLBACK_OBJECT CallbackObject, PCALLBACK_FUNCTION CallbackFunction,
                                           PVOID CallbackContext);
NTKERNELAPI VOID NTAPI ExUnregisterCallback(PVOID CallbackRegistration);
NTKERNELAPI VOID NTAPI ExNotifyCallback(PVOID CallbackObject, PVOID Argument1, PVOID Argument2);

/* Created at boot; notified by the code that owns the event. */
extern PCALLBACK_OBJECT ExCbSetSystemTime;
extern PCALLBACK_OBJECT ExCbPowerState;
extern PCALLBACK_OBJECT ExCbProcessorAdd;
NTSTATUS ExpInitializeCallbacks(void);

#endif /* NTOS_EX_CALLBACK_H */
