/*
 * Process and thread internals shared by the files of src/ps.
 *
 * Locks: PspActiveProcessLock (spin lock) guards PspActiveProcessHead;
 * EPROCESS.ProcessLock (push lock) guards Token and ThreadListHead;
 * ETHREAD.ThreadLock (push lock) guards the impersonation fields. No Ps lock
 * is held across a call into Ob that may delete an object.
 */
#ifndef NTOS_PSP_H
#define NTOS_PSP_H

#include <ntos/ps.h>
#include <ntos/ex_handle.h>
#include <ntos/rtl.h>
#include <ntos/list.h>
#include "ob/obp.h"

#ifndef STATUS_PROCESS_IS_TERMINATING
#define STATUS_PROCESS_IS_TERMINATING ((NTSTATUS)0xC000010AL)
#endif

#define PSP_TAG 0x20207350 /* "Ps  " */

/* The client-id table: process and thread ids are handles in it. */
extern PHANDLE_TABLE PspCidTable;
extern LIST_ENTRY PspActiveProcessHead;
extern KSPIN_LOCK PspActiveProcessLock;

HANDLE PspCreateCid(PVOID Object);
VOID PspDeleteCid(HANDLE Id);
VOID NTAPI PspDeleteProcess(PVOID Object);
VOID NTAPI PspDeleteThread(PVOID Object);
NTSTATUS PspInitializeThreadType(void);

/* Notify routines (psnotify.c). PASSIVE_LEVEL, no Ps lock held. */
VOID PspInitializeNotify(void);
NTSTATUS PspNotifyProcessCreate(PEPROCESS Process);
VOID PspNotifyProcessExit(PEPROCESS Process);
VOID PspNotifyThreadCreate(PETHREAD Thread);
VOID PspNotifyThreadExit(PETHREAD Thread);

#endif /* NTOS_PSP_H */
