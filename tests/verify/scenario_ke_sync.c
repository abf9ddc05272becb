/*
 * Dispatcher races under the explorer: event set racing a wait with timeout,
 * synchronization-event hand-off with many waiters, semaphore release racing
 * waits, mutex hand-off and abandonment.
 */
#include "verify.h"

/* ---- event set racing a wait with timeout ------------------------------------------ */

static KEVENT ev_event;
static volatile NTSTATUS ev_status;

static VOID NTAPI ev_waiter(PVOID Context)
{
    (void)Context;
    LARGE_INTEGER t = vt_ms(1);
    ev_status = KeWaitForSingleObject(&ev_event, Executive, KernelMode, FALSE, &t);
}

/* The wait ends exactly once, with success or timeout, and leaves nothing on
 * the event's wait list; a notification event stays signalled either way. */
VERIFY_SCENARIO(event_set_vs_wait_timeout, 60, 1)
{
    (void)Context;
    static KTHREAD t;
    KeInitializeEvent(&ev_event, NotificationEvent, FALSE);
    ev_status = -1;
    vt_start(&t, ev_waiter, NULL);
    KeSetEvent(&ev_event, 0, FALSE);
    vt_join(&t);
    NTOS_EXPLORE_CHECK(ev_status == STATUS_SUCCESS || ev_status == STATUS_TIMEOUT);
    NTOS_EXPLORE_CHECK(KeReadStateEvent(&ev_event) == 1);
    NTOS_EXPLORE_CHECK(IsListEmpty(&ev_event.Header.WaitListHead));
}

/* ---- synchronization event: exactly one wake per set ---------------------------------- */

#define SE_WAITERS 3
static KEVENT se_event;
static volatile LONG se_woken;

static VOID NTAPI se_waiter(PVOID Context)
{
    (void)Context;
    LARGE_INTEGER t = vt_ms(20);
    if (KeWaitForSingleObject(&se_event, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS)
        __atomic_fetch_add(&se_woken, 1, __ATOMIC_RELAXED);
}

VERIFY_SCENARIO(sync_event_one_wake_per_set, 60, 0)
{
    (void)Context;
    static KTHREAD t[SE_WAITERS];
    KeInitializeEvent(&se_event, SynchronizationEvent, FALSE);
    se_woken = 0;
    for (int i = 0; i < SE_WAITERS; i++)
        vt_start(&t[i], se_waiter, NULL);
    KeSetEvent(&se_event, 0, FALSE);
    for (int i = 0; i < SE_WAITERS; i++)
        vt_join(&t[i]);
    /* One set releases one waiter, or stays pending if every wait timed out first. */
    NTOS_EXPLORE_CHECK(se_woken + KeReadStateEvent(&se_event) == 1);
}

/* ---- semaphore release racing waits --------------------------------------------------- */

#define SM_WAITERS 3
static KSEMAPHORE sm_sem;
static volatile LONG sm_acquired;

static VOID NTAPI sm_waiter(PVOID Context)
{
    (void)Context;
    LARGE_INTEGER t = vt_ms(20);
    if (KeWaitForSingleObject(&sm_sem, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS)
        __atomic_fetch_add(&sm_acquired, 1, __ATOMIC_RELAXED);
}

VERIFY_SCENARIO(semaphore_release_vs_waits, 60, 0)
{
    (void)Context;
    static KTHREAD t[SM_WAITERS];
    KeInitializeSemaphore(&sm_sem, 0, 10);
    sm_acquired = 0;
    for (int i = 0; i < SM_WAITERS; i++)
        vt_start(&t[i], sm_waiter, NULL);
    KeReleaseSemaphore(&sm_sem, 0, 1, FALSE);
    KeReleaseSemaphore(&sm_sem, 0, 1, FALSE);
    for (int i = 0; i < SM_WAITERS; i++)
        vt_join(&t[i]);
    /* No unit is lost or duplicated. */
    NTOS_EXPLORE_CHECK(sm_acquired + KeReadStateSemaphore(&sm_sem) == 2);
}

/* ---- mutex hand-off and abandonment --------------------------------------------------- */

static KMUTANT mx_mutex; /* a mutant: a KMUTEX owner may not exit holding it (APCs disabled) */
static volatile LONG mx_inside, mx_abandoned, mx_count;

static VOID NTAPI mx_worker(PVOID Context)
{
    BOOLEAN abandon = Context != NULL;
    NTSTATUS s = KeWaitForSingleObject(&mx_mutex, Executive, KernelMode, FALSE, NULL);
    NTOS_EXPLORE_CHECK(s == STATUS_SUCCESS || s == STATUS_ABANDONED);
    if (s == STATUS_ABANDONED)
        __atomic_fetch_add(&mx_abandoned, 1, __ATOMIC_RELAXED);
    NTOS_EXPLORE_CHECK(__atomic_add_fetch(&mx_inside, 1, __ATOMIC_RELAXED) == 1);
    mx_count++;
    __atomic_sub_fetch(&mx_inside, 1, __ATOMIC_RELAXED);
    if (!abandon)
        KeReleaseMutant(&mx_mutex, 1, FALSE, FALSE);
    /* else: the thread ends owning it; the kernel abandons it */
}

VERIFY_SCENARIO(mutex_handoff_and_abandon, 60, 0)
{
    (void)Context;
    static KTHREAD t[3];
    KeInitializeMutant(&mx_mutex, FALSE);
    mx_inside = mx_abandoned = mx_count = 0;
    vt_start(&t[0], mx_worker, (PVOID)1); /* abandons */
    vt_start(&t[1], mx_worker, NULL);
    vt_start(&t[2], mx_worker, NULL);
    for (int i = 0; i < 3; i++)
        vt_join(&t[i]);
    NTOS_EXPLORE_CHECK(mx_count == 3);
    /* Whoever ran after the abandoning thread saw STATUS_ABANDONED, unless it
     * ran last; then the mutex itself is left abandoned and signalled. */
    NTSTATUS s = KeWaitForSingleObject(&mx_mutex, Executive, KernelMode, FALSE, NULL);
    NTOS_EXPLORE_CHECK(s == STATUS_SUCCESS || s == STATUS_ABANDONED);
    NTOS_EXPLORE_CHECK(mx_abandoned + (s == STATUS_ABANDONED) == 1);
    KeReleaseMutant(&mx_mutex, 1, FALSE, FALSE);
}

/* ---- fast mutex hand-off ------------------------------------------------------------------ */

#include <ntos/ex_sync.h>

static FAST_MUTEX fm_mutex;
static volatile LONG fm_inside, fm_count;

static VOID NTAPI fm_thread(PVOID Context)
{
    (void)Context;
    for (int i = 0; i < 2; i++) {
        ExAcquireFastMutex(&fm_mutex);
        NTOS_EXPLORE_CHECK(__atomic_add_fetch(&fm_inside, 1, __ATOMIC_RELAXED) == 1);
        fm_count++;
        KeStallExecutionProcessor(1); /* work inside: a scheduling point */
        __atomic_sub_fetch(&fm_inside, 1, __ATOMIC_RELAXED);
        /* The release checks the owner: a stale Owner store bug-checks 0xC4/0x1004. */
        ExReleaseFastMutex(&fm_mutex);
    }
}

VERIFY_SCENARIO(fast_mutex_handoff, 60, 1)
{
    (void)Context;
    static KTHREAD t[2];
    ExInitializeFastMutex(&fm_mutex);
    fm_inside = fm_count = 0;
    vt_start(&t[0], fm_thread, NULL);
    vt_start(&t[1], fm_thread, NULL);
    fm_thread(NULL);
    vt_join(&t[0]);
    vt_join(&t[1]);
    NTOS_EXPLORE_CHECK(fm_count == 6);
    NTOS_EXPLORE_CHECK(fm_mutex.Count == 1);
}
