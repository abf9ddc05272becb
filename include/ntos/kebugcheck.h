/*
 * Bug-check callbacks: KeRegisterBugCheckCallback / KeRegisterBugCheckReasonCallback
 * and their deregistration (src/ke/bugcheckcb.c), with the documented x64
 * record layouts. KeBugCheckEx calls them at HIGH_LEVEL after the stop
 * message, newest registration first: the classic callbacks with their
 * buffer, and the KbCallbackSecondaryDumpData reason callbacks with a
 * KBUGCHECK_SECONDARY_DUMP_DATA whose output ntos prints on the console (it
 * writes no dump file, so the dump-I/O and page reasons are never invoked).
 * Registration is allowed at any IRQL; the records must be in nonpaged memory.
 */
#ifndef NTOS_KEBUGCHECK_H
#define NTOS_KEBUGCHECK_H

#include <ntos/ke.h>
#include <ntos/ex_lists.h> /* GUID */

typedef enum _KBUGCHECK_BUFFER_DUMP_STATE {
    BufferEmpty,
    BufferInserted,
    BufferStarted,
    BufferFinished,
    BufferIncomplete
} KBUGCHECK_BUFFER_DUMP_STATE;

typedef VOID(NTAPI *PKBUGCHECK_CALLBACK_ROUTINE)(PVOID Buffer, ULONG Length);

typedef struct _KBUGCHECK_CALLBACK_RECORD {
    LIST_ENTRY Entry;
    PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine;
    PVOID Buffer;
    ULONG Length;
    PUCHAR Component;
    ULONG_PTR Checksum;
    UCHAR State;
} KBUGCHECK_CALLBACK_RECORD, *PKBUGCHECK_CALLBACK_RECORD;
NTOS_ASSERT_SIZE(KBUGCHECK_CALLBACK_RECORD, 0x40);
NTOS_ASSERT_OFFSET(KBUGCHECK_CALLBACK_RECORD, CallbackRoutine, 0x10);
NTOS_ASSERT_OFFSET(KBUGCHECK_CALLBACK_RECORD, Component, 0x28);
NTOS_ASSERT_OFFSET(KBUGCHECK_CALLBACK_RECORD, State, 0x38);

typedef enum _KBUGCHECK_CALLBACK_REASON {
    KbCallbackInvalid,
    KbCallbackReserved1,
    KbCallbackSecondaryDumpData,
    KbCallbackDumpIo,
    KbCallbackAddPages,
    KbCallbackSecondaryMultiPartDumpData,
    KbCallbackRemovePages,
    KbCallbackTriageDumpData
} KBUGCHECK_CALLBACK_REASON;

struct _KBUGCHECK_REASON_CALLBACK_RECORD;
typedef VOID(NTAPI *PKBUGCHECK_REASON_CALLBACK_ROUTINE)(KBUGCHECK_CALLBACK_REASON Reason,
                                                         struct _KBUGCHECK_REASON_CALLBACK_RECORD *Record,
                                                         PVOID ReasonSpecificData, ULONG ReasonSpecificDataLength);

typedef struct _KBUGCHECK_REASON_CALLBACK_RECORD {
    LIST_ENTRY Entry;
    PKBUGCHECK_REASON_CALLBACK_ROUTINE CallbackRoutine;
    PUCHAR Component;
    ULONG_PTR Checksum;
    KBUGCHECK_CALLBACK_REASON Reason;
    UCHAR State;
} KBUGCHECK_REASON_CALLBACK_RECORD, *PKBUGCHECK_REASON_CALLBACK_RECORD;
NTOS_ASSERT_SIZE(KBUGCHECK_REASON_CALLBACK_RECORD, 0x30);
NTOS_ASSERT_OFFSET(KBUGCHECK_REASON_CALLBACK_RECORD, Reason, 0x28);
NTOS_ASSERT_OFFSET(KBUGCHECK_REASON_CALLBACK_RECORD, State, 0x2C);

typedef struct _KBUGCHECK_SECONDARY_DUMP_DATA {
    PVOID InBuffer;
    ULONG InBufferLength;
    ULONG MaximumAllowed;
    GUID Guid;
    PVOID OutBuffer;
    ULONG OutBufferLength;
} KBUGCHECK_SECONDARY_DUMP_DATA, *PKBUGCHECK_SECONDARY_DUMP_DATA;
NTOS_ASSERT_SIZE(KBUGCHECK_SECONDARY_DUMP_DATA, 0x30);
NTOS_ASSERT_OFFSET(KBUGCHECK_SECONDARY_DUMP_DATA, Guid, 0x10);
NTOS_ASSERT_OFFSET(KBUGCHECK_SECONDARY_DUMP_DATA, OutBuffer, 0x20);

#define KeInitializeCallbackRecord(CallbackRecord) ((CallbackRecord)->State = BufferEmpty)

NTKERNELAPI BOOLEAN NTAPI KeRegisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord,
                                                     PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine, PVOID Buffer,
                                                     ULONG Length, PUCHAR Component);
NTKERNELAPI BOOLEAN NTAPI KeDeregisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord);
NTKERNELAPI BOOLEAN NTAPI KeRegisterBugCheckReasonCallback(PKBUGCHECK_REASON_CALLBACK_RECORD CallbackRecord,
                                                           PKBUGCHECK_REASON_CALLBACK_ROUTINE CallbackRoutine,
                                                           KBUGCHECK_CALLBACK_REASON Reason, PUCHAR Component);
NTKERNELAPI BOOLEAN NTAPI KeDeregisterBugCheckReasonCallback(PKBUGCHECK_REASON_CALLBACK_RECORD CallbackRecord);

/* Called by KeBugCheckEx (both when the bug check stops the system and when a
 * test catches it). With callbacks registered it returns at HIGH_LEVEL with
 * interrupts disabled (the caller halts or restores the catch frame's state);
 * with none it changes nothing. Console is TRUE when the system stops. */
VOID KiInvokeBugCheckCallbacks(BOOLEAN Console);

#endif /* NTOS_KEBUGCHECK_H */
