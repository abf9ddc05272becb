/*
 * Executive dispatcher objects reached through handles: events, semaphores,
 * mutants and timers (the Zw/Nt services over the Ke objects), and the
 * handle-based waits (ZwWaitForSingleObject, ZwWaitForMultipleObjects,
 * ZwSignalAndWaitForSingleObject), which Ob implements.
 *
 * Each object body begins with its Ke dispatcher object, so the pointer
 * ObReferenceObjectByHandle returns for an Event handle is a PKEVENT, for a
 * Semaphore a PKSEMAPHORE, for a Mutant a PKMUTANT and for a Timer a PKTIMER
 * (as drivers rely on with ExEventObjectType & co.). What follows the Ke
 * object is ntos's own.
 *
 * Zw* run with previous mode KernelMode (no access checks against handles,
 * kernel handles allowed); Nt* use ExGetPreviousMode(). ntos has no user
 * address space yet, so "user" pointers are not probed: they are read and
 * written directly, and a NULL for a required output pointer is
 * STATUS_ACCESS_VIOLATION (what the probe would report).
 *
 * IRQL: PASSIVE_LEVEL for all services.
 */
#ifndef NTOS_EX_OBJECTS_H
#define NTOS_EX_OBJECTS_H

#include <ntos/ob.h>

#ifndef STATUS_TIMER_RESUME_IGNORED
#define STATUS_TIMER_RESUME_IGNORED ((NTSTATUS)0x40000025L)
#endif
#ifndef STATUS_INVALID_PARAMETER_5
#define STATUS_INVALID_PARAMETER_5 ((NTSTATUS)0xC00000F3L)
#endif
#ifndef STATUS_INVALID_PARAMETER_6
#define STATUS_INVALID_PARAMETER_6 ((NTSTATUS)0xC00000F4L)
#endif

/* ---- access rights (winnt.h values) ---------------------------------------------------- */

#define EVENT_QUERY_STATE 0x0001
#define EVENT_MODIFY_STATE 0x0002
#define EVENT_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)

#define SEMAPHORE_QUERY_STATE 0x0001
#define SEMAPHORE_MODIFY_STATE 0x0002
#define SEMAPHORE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)

#define MUTANT_QUERY_STATE 0x0001
#define MUTANT_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | MUTANT_QUERY_STATE)

#define TIMER_QUERY_STATE 0x0001
#define TIMER_MODIFY_STATE 0x0002
#define TIMER_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | TIMER_QUERY_STATE | TIMER_MODIFY_STATE)

_Static_assert(EVENT_ALL_ACCESS == 0x1F0003, "EVENT_ALL_ACCESS");
_Static_assert(SEMAPHORE_ALL_ACCESS == 0x1F0003, "SEMAPHORE_ALL_ACCESS");
_Static_assert(MUTANT_ALL_ACCESS == 0x1F0001, "MUTANT_ALL_ACCESS");
_Static_assert(TIMER_ALL_ACCESS == 0x1F0003, "TIMER_ALL_ACCESS");

/* Priority increments the services give a thread they wake (wdm.h). */
#ifndef EVENT_INCREMENT
#define EVENT_INCREMENT 1
#endif
#ifndef SEMAPHORE_INCREMENT
#define SEMAPHORE_INCREMENT 1
#endif
#ifndef MUTANT_INCREMENT
#define MUTANT_INCREMENT 1
#endif

/* ---- information classes --------------------------------------------------------------- */

typedef enum _EVENT_INFORMATION_CLASS { EventBasicInformation } EVENT_INFORMATION_CLASS;

typedef struct _EVENT_BASIC_INFORMATION {
    EVENT_TYPE EventType;
    LONG EventState;
} EVENT_BASIC_INFORMATION, *PEVENT_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(EVENT_BASIC_INFORMATION, 8);

typedef enum _SEMAPHORE_INFORMATION_CLASS { SemaphoreBasicInformation } SEMAPHORE_INFORMATION_CLASS;

typedef struct _SEMAPHORE_BASIC_INFORMATION {
    LONG CurrentCount;
    LONG MaximumCount;
} SEMAPHORE_BASIC_INFORMATION, *PSEMAPHORE_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(SEMAPHORE_BASIC_INFORMATION, 8);

typedef enum _MUTANT_INFORMATION_CLASS { MutantBasicInformation } MUTANT_INFORMATION_CLASS;

typedef struct _MUTANT_BASIC_INFORMATION {
    LONG CurrentCount;
    BOOLEAN OwnedByCaller;
    BOOLEAN AbandonedState;
} MUTANT_BASIC_INFORMATION, *PMUTANT_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(MUTANT_BASIC_INFORMATION, 8);

typedef enum _TIMER_INFORMATION_CLASS { TimerBasicInformation } TIMER_INFORMATION_CLASS;

typedef struct _TIMER_BASIC_INFORMATION {
    LARGE_INTEGER RemainingTime; /* 100 ns units until the timer is due; 0 when not set or already due */
    BOOLEAN TimerState;          /* signaled */
} TIMER_BASIC_INFORMATION, *PTIMER_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(TIMER_BASIC_INFORMATION, 16);
NTOS_ASSERT_OFFSET(TIMER_BASIC_INFORMATION, TimerState, 8);

/* The routine ZwSetTimer queues as an APC to the thread that set the timer;
 * the two values are the expiry's system time (low and high parts). */
typedef VOID(NTAPI *PTIMER_APC_ROUTINE)(PVOID TimerContext, ULONG TimerLowValue, LONG TimerHighValue);

/* ---- events ---------------------------------------------------------------------------- */

NTSYSAPI NTSTATUS NTAPI ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                                      BOOLEAN InitialState);
NTSYSAPI NTSTATUS NTAPI NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                                      BOOLEAN InitialState);
NTSYSAPI NTSTATUS NTAPI ZwOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwSetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI NtSetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI ZwResetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI NtResetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI ZwClearEvent(HANDLE EventHandle);
NTSYSAPI NTSTATUS NTAPI NtClearEvent(HANDLE EventHandle);
NTSYSAPI NTSTATUS NTAPI ZwPulseEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI NtPulseEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI ZwQueryEvent(HANDLE EventHandle, EVENT_INFORMATION_CLASS EventInformationClass,
                                     PVOID EventInformation, ULONG EventInformationLength, PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtQueryEvent(HANDLE EventHandle, EVENT_INFORMATION_CLASS EventInformationClass,
                                     PVOID EventInformation, ULONG EventInformationLength, PULONG ReturnLength);

/* ---- semaphores ------------------------------------------------------------------------ */

NTSYSAPI NTSTATUS NTAPI ZwCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                          POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                                          LONG MaximumCount);
NTSYSAPI NTSTATUS NTAPI NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                          POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                                          LONG MaximumCount);
NTSYSAPI NTSTATUS NTAPI ZwOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount);
NTSYSAPI NTSTATUS NTAPI NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount);
NTSYSAPI NTSTATUS NTAPI ZwQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS SemaphoreInformationClass,
                                         PVOID SemaphoreInformation, ULONG SemaphoreInformationLength,
                                         PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS SemaphoreInformationClass,
                                         PVOID SemaphoreInformation, ULONG SemaphoreInformationLength,
                                         PULONG ReturnLength);

/* ---- mutants ---------------------------------------------------------------------------- */

NTSYSAPI NTSTATUS NTAPI ZwCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner);
NTSYSAPI NTSTATUS NTAPI NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner);
NTSYSAPI NTSTATUS NTAPI ZwOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                     POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                     POBJECT_ATTRIBUTES ObjectAttributes);
/* Needs no particular access right: only the owner may release (as ReleaseMutex
 * on a SYNCHRONIZE-only handle); anyone else gets STATUS_MUTANT_NOT_OWNED. */
NTSYSAPI NTSTATUS NTAPI ZwReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);
NTSYSAPI NTSTATUS NTAPI NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);
NTSYSAPI NTSTATUS NTAPI ZwQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS MutantInformationClass,
                                      PVOID MutantInformation, ULONG MutantInformationLength, PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS MutantInformationClass,
                                      PVOID MutantInformation, ULONG MutantInformationLength, PULONG ReturnLength);

/* ---- timers ----------------------------------------------------------------------------- */

NTSYSAPI NTSTATUS NTAPI ZwCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, TIMER_TYPE TimerType);
NTSYSAPI NTSTATUS NTAPI NtCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, TIMER_TYPE TimerType);
NTSYSAPI NTSTATUS NTAPI ZwOpenTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtOpenTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes);
/*
 * DueTime as for KeSetTimerEx (negative: relative, 100 ns); Period in ms
 * (negative: STATUS_INVALID_PARAMETER_6). A non-NULL TimerApcRoutine is queued
 * at each expiry as a kernel-mode APC to the thread that set the timer, which
 * runs it at PASSIVE_LEVEL. A user-mode caller asking for an APC gets
 * STATUS_NOT_SUPPORTED (ntos has no user-mode APC delivery yet). ResumeTimer
 * asks for a wake from a low-power state, which ntos does not support: the
 * timer is set and the service returns STATUS_TIMER_RESUME_IGNORED.
 * A thread that is not an executive thread (KeInitializeThread directly) must
 * cancel or re-set an APC timer before it exits; an ETHREAD is kept alive by
 * the timer until then.
 */
NTSYSAPI NTSTATUS NTAPI ZwSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PTIMER_APC_ROUTINE TimerApcRoutine,
                                   PVOID TimerContext, BOOLEAN ResumeTimer, LONG Period, PBOOLEAN PreviousState);
NTSYSAPI NTSTATUS NTAPI NtSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PTIMER_APC_ROUTINE TimerApcRoutine,
                                   PVOID TimerContext, BOOLEAN ResumeTimer, LONG Period, PBOOLEAN PreviousState);
NTSYSAPI NTSTATUS NTAPI ZwCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState);
NTSYSAPI NTSTATUS NTAPI NtCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState);
NTSYSAPI NTSTATUS NTAPI ZwQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS TimerInformationClass,
                                     PVOID TimerInformation, ULONG TimerInformationLength, PULONG ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS TimerInformationClass,
                                     PVOID TimerInformation, ULONG TimerInformationLength, PULONG ReturnLength);

/* ---- waits on handles (src/ob/obwait.c) -------------------------------------------------- */

/* The handle needs SYNCHRONIZE for a user-mode caller. Returns what
 * KeWaitForSingleObject returns (STATUS_WAIT_0, STATUS_ABANDONED_WAIT_0,
 * STATUS_TIMEOUT, STATUS_ALERTED, STATUS_USER_APC) or the handle's error. */
NTSYSAPI NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
/* Count 1..MAXIMUM_WAIT_OBJECTS (else STATUS_INVALID_PARAMETER_1); WaitType
 * WaitAll or WaitAny (else STATUS_INVALID_PARAMETER_3); one object twice in a
 * WaitAll is STATUS_INVALID_PARAMETER_MIX. */
NTSYSAPI NTSTATUS NTAPI ZwWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                                 BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI NtWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                                 BOOLEAN Alertable, PLARGE_INTEGER Timeout);
/* Sets an event (EVENT_MODIFY_STATE), releases a semaphore by one
 * (SEMAPHORE_MODIFY_STATE) or releases an owned mutant, then waits on WaitHandle
 * (SYNCHRONIZE). Any other signal object is STATUS_OBJECT_TYPE_MISMATCH. For an
 * event or a mutant the signal and the start of the wait are one atomic step;
 * for a semaphore they are two (see obwait.c). */
NTSYSAPI NTSTATUS NTAPI ZwSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                                       PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI NtSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                                       PLARGE_INTEGER Timeout);

/* ---- kernel-internal ------------------------------------------------------------------- */

/* Boot (after ObInitSystem and PsInitSystem): creates the four object types. */
NTSTATUS ExInitSystemObjects(void);
NTSTATUS ExpInitializeEventImplementation(void);
NTSTATUS ExpInitializeSemaphoreImplementation(void);
NTSTATUS ExpInitializeMutantImplementation(void);
NTSTATUS ExpInitializeTimerImplementation(void);
/* Shared by the four object kinds (src/ex/exinit.c). */
NTSTATUS ExpCreateDispatcherObjectType(PCWSTR Name, const GENERIC_MAPPING *Mapping, ACCESS_MASK ValidAccess,
                                       OB_DELETE_METHOD DeleteProcedure, POBJECT_TYPE *Type);
NTSTATUS ExpInsertObjectHandle(PVOID Object, ACCESS_MASK DesiredAccess, PHANDLE Handle);
NTSTATUS ExpOpenObjectHandle(PHANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             POBJECT_TYPE Type, KPROCESSOR_MODE PreviousMode);

/* Releases a referenced Semaphore object by Count without ever raising:
 * STATUS_INVALID_PARAMETER for Count <= 0, STATUS_SEMAPHORE_LIMIT_EXCEEDED
 * (object unchanged) past its maximum. */
NTSTATUS ExpReleaseSemaphoreObject(PVOID Semaphore, LONG Count, PLONG PreviousCount);
/* Releases a referenced Mutant object owned by the current thread:
 * STATUS_MUTANT_NOT_OWNED otherwise. With Wait, success returns holding the
 * dispatcher lock for the caller's immediately following KeWaitFor* call
 * (the Ke Wait=TRUE protocol). */
NTSTATUS ExpReleaseMutantObject(PVOID Mutant, BOOLEAN Wait, PLONG PreviousCount);

#endif /* NTOS_EX_OBJECTS_H */
