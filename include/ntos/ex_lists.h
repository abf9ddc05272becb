/*
 * Executive lists, work items and time support: spin-lock-interlocked lists,
 * sequenced (lock-free) singly linked lists, the system worker threads, time
 * conversion and the time zone bias, UUIDs and the previous mode.
 *
 * Structure layouts are the x64 WDK's and are pinned below; driver binaries
 * embed SLIST_HEADER, SLIST_ENTRY, WORK_QUEUE_ITEM and TIME_FIELDS in their own
 * structures and touch some fields directly (ExInitializeWorkItem and
 * InitializeSListHead are inline in the WDK).
 */
#ifndef NTOS_EX_LISTS_H
#define NTOS_EX_LISTS_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/ke.h>
#include <ntos/list.h>

/* ---- interlocked lists (interlocked_list.c) ---------------------------------------
 * The lock is the caller's; it must be used only with these routines. They run
 * at any IRQL: they hold the lock with interrupts disabled instead of raising
 * IRQL, so the lock is never held across an interrupt on its processor. */

NTKERNELAPI PLIST_ENTRY NTAPI ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                                          PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY NTAPI ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                                          PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY NTAPI ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock);
NTKERNELAPI PSINGLE_LIST_ENTRY NTAPI ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                                PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock);
NTKERNELAPI PSINGLE_LIST_ENTRY NTAPI ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock);
/* Return the value Addend had before the addition. */
NTKERNELAPI ULONG NTAPI ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock);
NTKERNELAPI LARGE_INTEGER NTAPI ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment,
                                                             PKSPIN_LOCK Lock);
/* A macro over a 64-bit interlocked add in the x64 WDK; a function here too. */
NTKERNELAPI VOID NTAPI ExInterlockedAddLargeStatistic(PLARGE_INTEGER Addend, ULONG Increment);

/* ---- sequenced singly linked lists (slist.c) ---------------------------------------- */

/* Entries must be 16-byte aligned on x64: the header stores Next >> 4. */
typedef struct DECLSPEC_ALIGN(16) _SLIST_ENTRY {
    struct _SLIST_ENTRY *Next;
} SLIST_ENTRY, *PSLIST_ENTRY;

/*
 * The x64 header: two quadwords swapped as one with cmpxchg16b. The first
 * holds Depth (bits 0..15) and Sequence (bits 16..63), the second Reserved
 * (bits 0..3) and NextEntry (bits 4..63): the first entry's address shifted
 * right by 4, so the second quadword equals the first entry's address.
 */
typedef union DECLSPEC_ALIGN(16) _SLIST_HEADER {
    struct {
        ULONGLONG Alignment;
        ULONGLONG Region;
    };
    struct {
        ULONGLONG Depth : 16;
        ULONGLONG Sequence : 48;
        ULONGLONG Reserved : 4;
        ULONGLONG NextEntry : 60;
    } HeaderX64;
} SLIST_HEADER, *PSLIST_HEADER;

NTOS_ASSERT_SIZE(SLIST_ENTRY, 16);
_Static_assert(_Alignof(SLIST_ENTRY) == 16, "SLIST_ENTRY alignment");
NTOS_ASSERT_SIZE(SLIST_HEADER, 16);
_Static_assert(_Alignof(SLIST_HEADER) == 16, "SLIST_HEADER alignment");
NTOS_ASSERT_OFFSET(SLIST_HEADER, Alignment, 0);
NTOS_ASSERT_OFFSET(SLIST_HEADER, Region, 8);

/* Inline in the WDK: an empty header is all zeroes. */
FORCEINLINE VOID InitializeSListHead(PSLIST_HEADER SListHead)
{
    SListHead->Alignment = 0;
    SListHead->Region = 0;
}

NTSYSAPI VOID NTAPI RtlInitializeSListHead(PSLIST_HEADER ListHead);
NTSYSAPI PSLIST_ENTRY NTAPI RtlFirstEntrySList(const SLIST_HEADER *ListHead);
NTSYSAPI USHORT NTAPI RtlQueryDepthSList(PSLIST_HEADER ListHead);
NTKERNELAPI USHORT NTAPI ExQueryDepthSList(PSLIST_HEADER ListHead);

/* What the x64 WDK's InterlockedPushEntrySList & co. compile to. */
NTKERNELAPI PSLIST_ENTRY NTAPI ExpInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry);
NTKERNELAPI PSLIST_ENTRY NTAPI ExpInterlockedPopEntrySList(PSLIST_HEADER ListHead);
NTKERNELAPI PSLIST_ENTRY NTAPI ExpInterlockedFlushSList(PSLIST_HEADER ListHead);

NTKERNELAPI PSLIST_ENTRY NTAPI InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry);
NTKERNELAPI PSLIST_ENTRY NTAPI InterlockedPopEntrySList(PSLIST_HEADER ListHead);
NTKERNELAPI PSLIST_ENTRY NTAPI InterlockedFlushSList(PSLIST_HEADER ListHead);
NTSYSAPI PSLIST_ENTRY NTAPI RtlInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry);
NTSYSAPI PSLIST_ENTRY NTAPI RtlInterlockedPopEntrySList(PSLIST_HEADER ListHead);
NTSYSAPI PSLIST_ENTRY NTAPI RtlInterlockedFlushSList(PSLIST_HEADER ListHead);
/* The Lock parameter is ignored on x64 (the list is lock-free). */
NTKERNELAPI PSLIST_ENTRY NTAPI ExInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry,
                                                           PKSPIN_LOCK Lock);
NTKERNELAPI PSLIST_ENTRY NTAPI ExInterlockedPopEntrySList(PSLIST_HEADER ListHead, PKSPIN_LOCK Lock);
NTKERNELAPI PSLIST_ENTRY NTAPI ExInterlockedFlushSList(PSLIST_HEADER ListHead);
/* Pushes the chain List..ListEnd (Count entries, already linked through Next)
 * in one step; returns the previous first entry. */
NTSYSAPI PSLIST_ENTRY NTAPI RtlInterlockedPushListSListEx(PSLIST_HEADER ListHead, PSLIST_ENTRY List,
                                                          PSLIST_ENTRY ListEnd, ULONG Count);
NTSYSAPI PSLIST_ENTRY NTAPI RtlInterlockedPushListSList(PSLIST_HEADER ListHead, PSLIST_ENTRY List,
                                                        PSLIST_ENTRY ListEnd, ULONG Count);
NTKERNELAPI PSLIST_ENTRY NTAPI InterlockedPushListSListEx(PSLIST_HEADER ListHead, PSLIST_ENTRY List,
                                                          PSLIST_ENTRY ListEnd, ULONG Count);

/* ---- system worker threads (worker.c) ---------------------------------------------- */

typedef enum _WORK_QUEUE_TYPE {
    CriticalWorkQueue = 0,
    DelayedWorkQueue = 1,
    HyperCriticalWorkQueue = 2,
    NormalWorkQueue = 3,
    BackgroundWorkQueue = 4,
    RealTimeWorkQueue = 5,
    SuperCriticalWorkQueue = 6,
    MaximumWorkQueue = 7,
    CustomPriorityWorkQueue = 32 /* + a KPRIORITY 1..31 */
} WORK_QUEUE_TYPE;

typedef VOID(NTAPI *PWORKER_THREAD_ROUTINE)(PVOID Parameter);

typedef struct _WORK_QUEUE_ITEM {
    LIST_ENTRY List; /* Flink is NULL while the item is not queued */
    PWORKER_THREAD_ROUTINE WorkerRoutine;
    volatile PVOID Parameter;
} WORK_QUEUE_ITEM, *PWORK_QUEUE_ITEM;
NTOS_ASSERT_SIZE(WORK_QUEUE_ITEM, 0x20);
NTOS_ASSERT_OFFSET(WORK_QUEUE_ITEM, WorkerRoutine, 0x10);
NTOS_ASSERT_OFFSET(WORK_QUEUE_ITEM, Parameter, 0x18);

/* A macro in the WDK: a NULL Flink is what marks the item as not queued. */
FORCEINLINE VOID ExInitializeWorkItem(PWORK_QUEUE_ITEM Item, PWORKER_THREAD_ROUTINE Routine, PVOID Context)
{
    Item->WorkerRoutine = Routine;
    Item->Parameter = Context;
    Item->List.Flink = NULL;
}

NTKERNELAPI VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType);

/* Kernel-internal (worker.c). Starts the worker threads if they are not yet
 * running; PASSIVE_LEVEL in a thread. Executive initialisation calls it once
 * it exists; until then the first ExQueueWorkItem at PASSIVE_LEVEL does. */
VOID ExpInitializeWorkers(void);
/* The checks a worker thread makes after each routine returns (bug checks
 * WORKER_THREAD_RETURNED_AT_BAD_IRQL or APC_INDEX_MISMATCH); exposed so tests
 * can exercise them on their own thread. */
VOID ExpCheckWorkerReturn(PWORKER_THREAD_ROUTINE Routine, PVOID Parameter, PWORK_QUEUE_ITEM Item);
/* Unlinks the first item of a worker queue (queue lock held, list not empty);
 * bug-checks INVALID_WORK_QUEUE_ITEM if that item's links are NULL. The caller
 * then reads the routine and parameter and sets List.Flink to NULL. */
PWORK_QUEUE_ITEM ExpRemoveWorkItem(PLIST_ENTRY QueueHead);
/* Worker threads per queue type and their priorities (index: WORK_QUEUE_TYPE). */
ULONG ExpWorkerThreadCount(WORK_QUEUE_TYPE QueueType);
KPRIORITY ExpWorkerPriority(WORK_QUEUE_TYPE QueueType);

/* ---- time (time.c) ----------------------------------------------------------------- */

typedef struct _TIME_FIELDS {
    CSHORT Year;         /* 1601... */
    CSHORT Month;        /* 1..12 */
    CSHORT Day;          /* 1..31 */
    CSHORT Hour;         /* 0..23 */
    CSHORT Minute;       /* 0..59 */
    CSHORT Second;       /* 0..59 */
    CSHORT Milliseconds; /* 0..999 */
    CSHORT Weekday;      /* 0..6 = Sunday..Saturday */
} TIME_FIELDS, *PTIME_FIELDS;
NTOS_ASSERT_SIZE(TIME_FIELDS, 16);
NTOS_ASSERT_OFFSET(TIME_FIELDS, Milliseconds, 12);

NTSYSAPI VOID NTAPI RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields);
NTSYSAPI BOOLEAN NTAPI RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time);
NTSYSAPI BOOLEAN NTAPI RtlTimeToSecondsSince1970(PLARGE_INTEGER Time, PULONG ElapsedSeconds);
NTSYSAPI VOID NTAPI RtlSecondsSince1970ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time);
NTSYSAPI BOOLEAN NTAPI RtlTimeToSecondsSince1980(PLARGE_INTEGER Time, PULONG ElapsedSeconds);
NTSYSAPI VOID NTAPI RtlSecondsSince1980ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time);
NTKERNELAPI VOID NTAPI ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime);
NTKERNELAPI VOID NTAPI ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime);
/* Kernel-internal: sets the time zone bias (UTC - local, 100 ns units) that the
 * two conversions above use and KUSER_SHARED_DATA publishes. <= DISPATCH_LEVEL. */
VOID ExpSetTimeZoneBias(LONGLONG Bias);
LONGLONG ExpQueryTimeZoneBias(void);

/* ---- UUIDs and the previous mode (time.c) ------------------------------------------- */

typedef GUID UUID, *PUUID; /* GUID itself is in ntdef.h */

NTKERNELAPI NTSTATUS NTAPI ExUuidCreate(PUUID Uuid);
NTKERNELAPI KPROCESSOR_MODE NTAPI ExGetPreviousMode(void);

#endif /* NTOS_EX_LISTS_H */
