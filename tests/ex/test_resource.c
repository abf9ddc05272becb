/*
 * Executive resources: initialization and pool use, exclusive and shared
 * recursion, Wait=FALSE, the starvation rules of the three shared acquires,
 * the release hand-off order, conversion, owner pointers, the owner table,
 * the misuse bug checks and a reader/writer stress.
 *
 * The ordering tests are deterministic: each other thread ("actor") performs
 * one acquire and holds the resource until told to release, and the test
 * waits for observable resource state (waiter counts, an actor's report)
 * before its next step.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_sync.h>
#include <ntos/rtl.h>

#define WAIT_UNTIL(cond)                                                                             \
    do {                                                                                             \
        for (int wait_i_ = 0; wait_i_ < 20000 && !(cond); wait_i_++)                                 \
            kt_sleep_ms(1);                                                                          \
        assert_true(cond);                                                                           \
    } while (0)

typedef enum res_op { OP_EXCLUSIVE, OP_SHARED, OP_STARVE, OP_WAIT_FOR_EXCLUSIVE } res_op;

static BOOLEAN do_acquire(PERESOURCE R, res_op Op, BOOLEAN Wait)
{
    switch (Op) {
    case OP_EXCLUSIVE:
        return ExAcquireResourceExclusiveLite(R, Wait);
    case OP_SHARED:
        return ExAcquireResourceSharedLite(R, Wait);
    case OP_STARVE:
        return ExAcquireSharedStarveExclusive(R, Wait);
    default:
        return ExAcquireSharedWaitForExclusive(R, Wait);
    }
}

static volatile LONG sequence; /* order in which actors got the resource */

typedef struct actor {
    PERESOURCE R;
    res_op Op;
    BOOLEAN Wait;
    BOOLEAN Result;
    BOOLEAN Exclusive;  /* ExIsResourceAcquiredExclusiveLite right after */
    ULONG SharedCount;  /* ExIsResourceAcquiredSharedLite right after */
    LONG Order;
    ERESOURCE_THREAD Id;
    volatile LONG Returned;
    KEVENT Go;
} actor;

static VOID NTAPI actor_main(PVOID p)
{
    actor *a = p;
    a->Id = ExGetCurrentResourceThread();
    KeEnterCriticalRegion();
    a->Result = do_acquire(a->R, a->Op, a->Wait);
    if (a->Result) {
        a->Order = __atomic_add_fetch(&sequence, 1, __ATOMIC_ACQ_REL);
        a->Exclusive = ExIsResourceAcquiredExclusiveLite(a->R);
        a->SharedCount = ExIsResourceAcquiredSharedLite(a->R);
    }
    __atomic_store_n(&a->Returned, 1, __ATOMIC_RELEASE);
    KeWaitForSingleObject(&a->Go, Executive, KernelMode, FALSE, NULL);
    if (a->Result)
        ExReleaseResourceLite(a->R);
    KeLeaveCriticalRegion();
}

static void actor_start(PKTHREAD T, actor *A, PERESOURCE R, res_op Op, BOOLEAN Wait)
{
    *A = (actor){.R = R, .Op = Op, .Wait = Wait};
    KeInitializeEvent(&A->Go, NotificationEvent, FALSE);
    kt_start(T, actor_main, A, 8);
}

static BOOLEAN actor_returned(actor *A)
{
    return __atomic_load_n(&A->Returned, __ATOMIC_ACQUIRE) != 0;
}

static void actor_finish(PKTHREAD T, actor *A)
{
    KeSetEvent(&A->Go, 0, FALSE);
    kt_join(T);
}

/* Runs a Wait=FALSE attempt on another thread; returns its result (released again). */
static BOOLEAN other_thread_try(PERESOURCE R, res_op Op)
{
    static KTHREAD t;
    static actor a;
    actor_start(&t, &a, R, Op, FALSE);
    WAIT_UNTIL(actor_returned(&a));
    BOOLEAN r = a.Result;
    actor_finish(&t, &a);
    return r;
}

typedef struct res_state {
    SHORT ActiveCount;
    USHORT Flag;
    ULONG ActiveEntries;
    ULONG TableSize;
} res_state;

/* A consistent snapshot, taken under the resource's lock. */
static res_state snapshot(PERESOURCE R)
{
    KLOCK_QUEUE_HANDLE h;
    res_state s;
    KeAcquireInStackQueuedSpinLock(&R->SpinLock, &h);
    s.ActiveCount = R->ActiveCount;
    s.Flag = R->Flag;
    s.ActiveEntries = R->ActiveEntries;
    s.TableSize = R->OwnerTable ? R->OwnerTable[0].TableSize : 0;
    KeReleaseInStackQueuedSpinLock(&h);
    return s;
}

static int reset(void **state)
{
    sequence = 0;
    ntos_test_pool_install();
    return 0;
}

/* ---- initialization --------------------------------------------------------------------------- */

static void init_and_delete(void **state)
{
    ERESOURCE r;
    SIZE_T before = ntos_test_pool_outstanding();
    RtlFillMemory(&r, sizeof(r), 0xCC);
    assert_int_equal(ExInitializeResourceLite(&r), STATUS_SUCCESS);
    assert_int_equal(r.ActiveCount, 0);
    assert_int_equal(r.Flag, 0);
    assert_null(r.OwnerTable);
    assert_non_null(r.SharedWaiters);
    assert_non_null(r.ExclusiveWaiters);
    assert_int_equal(r.SharedWaiters->Header.Type, SemaphoreObject);
    assert_int_equal(r.ExclusiveWaiters->Header.Type, EventSynchronizationObject);
    assert_int_equal(r.OwnerEntry.OwnerThread, 0);
    assert_int_equal(r.NumberOfSharedWaiters + r.NumberOfExclusiveWaiters + r.ContentionCount, 0);
    /* On the system resource list. */
    assert_ptr_equal(r.SystemResourcesList.Flink->Blink, &r.SystemResourcesList);
    assert_ptr_equal(r.SystemResourcesList.Blink->Flink, &r.SystemResourcesList);
    assert_int_equal(ntos_test_pool_outstanding(), before + 2);
    assert_int_equal(ExGetExclusiveWaiterCount(&r), 0);
    assert_int_equal(ExGetSharedWaiterCount(&r), 0);
    assert_int_equal(ExDeleteResourceLite(&r), STATUS_SUCCESS);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void init_fails_without_pool(void **state)
{
    ERESOURCE r;
    SIZE_T before = ntos_test_pool_outstanding();
    ntos_test_pool_fail_after(0);
    assert_int_equal(ExInitializeResourceLite(&r), STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(ntos_test_pool_outstanding(), before);
    ntos_test_pool_fail_after(1);
    assert_int_equal(ExInitializeResourceLite(&r), STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(ntos_test_pool_outstanding(), before); /* the first object was given back */
    ntos_test_pool_fail_after(-1);
    assert_int_equal(ExInitializeResourceLite(&r), STATUS_SUCCESS);
    assert_int_equal(ExDeleteResourceLite(&r), STATUS_SUCCESS);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

/* ---- recursion and queries ---------------------------------------------------------------- */

static void exclusive_recursion_and_shared_by_owner(void **state)
{
    ERESOURCE r;
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_false(ExIsResourceAcquiredExclusiveLite(&r));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);

    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    assert_true(ExAcquireResourceExclusiveLite(&r, FALSE));
    assert_true(ExIsResourceAcquiredExclusiveLite(&r));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 2); /* exclusive counts as shared */
    assert_int_equal(r.ActiveCount, 1);
    assert_true(r.Flag & ResourceOwnedExclusive);
    assert_int_equal(r.OwnerEntry.OwnerThread, self);
    /* Every shared form is granted to the exclusive owner, as recursion. */
    assert_true(ExAcquireResourceSharedLite(&r, FALSE));
    assert_true(ExAcquireSharedStarveExclusive(&r, FALSE));
    assert_true(ExAcquireSharedWaitForExclusive(&r, FALSE));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 5);
    assert_int_equal(r.OwnerEntry.OwnerCount, 5);
    for (int i = 0; i < 4; i++)
        ExReleaseResourceLite(&r);
    assert_true(ExIsResourceAcquiredExclusiveLite(&r));
    ExReleaseResourceLite(&r);
    assert_false(ExIsResourceAcquiredExclusiveLite(&r));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);
    assert_int_equal(r.ActiveCount, 0);
    assert_int_equal(r.Flag, 0);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&r);
}

static void shared_recursion(void **state)
{
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    assert_true(ExAcquireSharedStarveExclusive(&r, TRUE));
    assert_true(ExAcquireSharedWaitForExclusive(&r, TRUE));
    assert_false(ExIsResourceAcquiredExclusiveLite(&r));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 3);
    assert_int_equal(r.ActiveCount, 1); /* one owning thread */
    assert_int_equal(r.ActiveEntries, 1);
    /* Not exclusive, and Wait=FALSE exclusive just fails. */
    assert_false(ExAcquireResourceExclusiveLite(&r, FALSE));
    for (int i = 0; i < 3; i++)
        ExReleaseResourceLite(&r);
    assert_int_equal(r.ActiveCount, 0);
    assert_int_equal(r.ActiveEntries, 0);
    /* Free again: exclusive is granted. */
    assert_true(ExAcquireResourceExclusiveLite(&r, FALSE));
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&r);
}

static void acquire_at_apc_level_without_region(void **state)
{
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    ExReleaseResourceLite(&r);
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    ExReleaseResourceLite(&r);
    KeLowerIrql(old);
    /* A guarded region also disables normal kernel APCs. */
    KeEnterGuardedRegion();
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    ExReleaseResourceLite(&r);
    KeLeaveGuardedRegion();
    ExDeleteResourceLite(&r);
}

/* ---- Wait=FALSE and the starvation rules -------------------------------------------------------- */

static void wait_false_against_other_owners(void **state)
{
    static KTHREAD t;
    static actor a;
    static ERESOURCE r;
    ExInitializeResourceLite(&r);

    /* Held exclusive by another thread: everything fails at once. */
    actor_start(&t, &a, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(actor_returned(&a));
    assert_true(a.Result);
    assert_true(a.Exclusive);
    KeEnterCriticalRegion();
    assert_false(ExAcquireResourceExclusiveLite(&r, FALSE));
    assert_false(ExAcquireResourceSharedLite(&r, FALSE));
    assert_false(ExAcquireSharedStarveExclusive(&r, FALSE));
    assert_false(ExAcquireSharedWaitForExclusive(&r, FALSE));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);
    KeLeaveCriticalRegion();
    actor_finish(&t, &a);

    /* Held shared by another thread, nobody waiting: every shared form succeeds. */
    actor_start(&t, &a, &r, OP_SHARED, TRUE);
    WAIT_UNTIL(actor_returned(&a));
    assert_false(a.Exclusive);
    assert_int_equal(a.SharedCount, 1);
    KeEnterCriticalRegion();
    assert_false(ExAcquireResourceExclusiveLite(&r, FALSE));
    assert_true(ExAcquireResourceSharedLite(&r, FALSE));
    assert_true(ExAcquireSharedWaitForExclusive(&r, FALSE));
    assert_true(ExAcquireSharedStarveExclusive(&r, FALSE));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 3);
    res_state s = snapshot(&r);
    assert_int_equal(s.ActiveCount, 2);
    assert_int_equal(s.ActiveEntries, 2);
    for (int i = 0; i < 3; i++)
        ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    actor_finish(&t, &a);
    assert_int_equal(snapshot(&r).ActiveCount, 0);
    ExDeleteResourceLite(&r);
}

static void shared_rules_with_exclusive_waiter(void **state)
{
    static KTHREAD tx;
    static actor x;
    static ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();

    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    actor_start(&tx, &x, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(ExGetExclusiveWaiterCount(&r) == 1);

    /* The shared owner itself. */
    assert_true(ExAcquireResourceSharedLite(&r, FALSE));      /* recursion beats the waiter */
    assert_false(ExAcquireSharedWaitForExclusive(&r, FALSE)); /* yields even as an owner */
    assert_true(ExAcquireSharedStarveExclusive(&r, FALSE));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 3);
    ExReleaseResourceLite(&r);
    ExReleaseResourceLite(&r);

    /* A thread that does not own it. */
    assert_false(other_thread_try(&r, OP_SHARED));
    assert_false(other_thread_try(&r, OP_WAIT_FOR_EXCLUSIVE));
    assert_false(other_thread_try(&r, OP_EXCLUSIVE));
    assert_true(other_thread_try(&r, OP_STARVE));

    assert_int_equal(ExGetExclusiveWaiterCount(&r), 1);
    assert_false(actor_returned(&x));
    ExReleaseResourceLite(&r); /* last shared owner: the exclusive waiter gets it */
    WAIT_UNTIL(actor_returned(&x));
    assert_true(x.Result);
    assert_true(x.Exclusive);
    assert_int_equal(x.SharedCount, 1);
    assert_int_equal(ExGetExclusiveWaiterCount(&r), 0);
    assert_false(ExAcquireResourceSharedLite(&r, FALSE));
    KeLeaveCriticalRegion();
    actor_finish(&tx, &x);
    assert_int_equal(r.ContentionCount, 1);
    ExDeleteResourceLite(&r);
}

static void last_shared_release_prefers_exclusive_waiter(void **state)
{
    static KTHREAD tx, ts;
    static actor x, s;
    static ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    actor_start(&tx, &x, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(ExGetExclusiveWaiterCount(&r) == 1);
    actor_start(&ts, &s, &r, OP_SHARED, TRUE); /* queues behind the exclusive waiter */
    WAIT_UNTIL(ExGetSharedWaiterCount(&r) == 1);

    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    WAIT_UNTIL(actor_returned(&x));
    assert_true(x.Exclusive);
    assert_int_equal(x.Order, 1);
    kt_sleep_ms(5);
    assert_false(actor_returned(&s));
    assert_int_equal(ExGetSharedWaiterCount(&r), 1);

    actor_finish(&tx, &x); /* exclusive release: the shared waiter follows */
    WAIT_UNTIL(actor_returned(&s));
    assert_true(s.Result);
    assert_false(s.Exclusive);
    assert_int_equal(s.SharedCount, 1);
    assert_int_equal(s.Order, 2);
    actor_finish(&ts, &s);
    assert_int_equal(snapshot(&r).ActiveCount, 0);
    ExDeleteResourceLite(&r);
}

static void exclusive_release_prefers_shared_waiters(void **state)
{
    static KTHREAD tx, ts[2];
    static actor x, s[2];
    static ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    actor_start(&tx, &x, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(ExGetExclusiveWaiterCount(&r) == 1);
    actor_start(&ts[0], &s[0], &r, OP_SHARED, TRUE);
    actor_start(&ts[1], &s[1], &r, OP_STARVE, TRUE);
    WAIT_UNTIL(ExGetSharedWaiterCount(&r) == 2);

    ExReleaseResourceLite(&r); /* every shared waiter is admitted at once */
    KeLeaveCriticalRegion();
    WAIT_UNTIL(actor_returned(&s[0]) && actor_returned(&s[1]));
    assert_int_equal(s[0].SharedCount, 1);
    assert_int_equal(s[1].SharedCount, 1);
    res_state st = snapshot(&r);
    assert_int_equal(st.ActiveCount, 2);
    assert_int_equal(st.ActiveEntries, 2);
    assert_int_equal(st.Flag & ResourceOwnedExclusive, 0);
    assert_false(actor_returned(&x));
    assert_int_equal(ExGetExclusiveWaiterCount(&r), 1);

    actor_finish(&ts[0], &s[0]);
    kt_sleep_ms(5);
    assert_false(actor_returned(&x)); /* one shared owner left */
    actor_finish(&ts[1], &s[1]);
    WAIT_UNTIL(actor_returned(&x));
    assert_true(x.Exclusive);
    assert_int_equal(x.Order, 3);
    actor_finish(&tx, &x);
    ExDeleteResourceLite(&r);
}

/* The shared owner that asks again with ExAcquireSharedWaitForExclusive. */
typedef struct wfe_owner {
    PERESOURCE R;
    ERESOURCE_THREAD Id;
    KEVENT Step, Go;
    volatile LONG Phase;
    BOOLEAN Result;
    ULONG SharedCount;
    LONG Order;
} wfe_owner;

static VOID NTAPI wfe_owner_main(PVOID p)
{
    wfe_owner *c = p;
    c->Id = ExGetCurrentResourceThread();
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(c->R, TRUE);
    __atomic_store_n(&c->Phase, 1, __ATOMIC_RELEASE);
    KeWaitForSingleObject(&c->Step, Executive, KernelMode, FALSE, NULL);
    c->Result = ExAcquireSharedWaitForExclusive(c->R, TRUE);
    c->Order = __atomic_add_fetch(&sequence, 1, __ATOMIC_ACQ_REL);
    c->SharedCount = ExIsResourceAcquiredSharedLite(c->R);
    __atomic_store_n(&c->Phase, 2, __ATOMIC_RELEASE);
    KeWaitForSingleObject(&c->Go, Executive, KernelMode, FALSE, NULL);
    ExReleaseResourceLite(c->R);
    KeLeaveCriticalRegion();
}

static void wait_for_exclusive_yields_and_release_for_thread(void **state)
{
    static KTHREAD ta, tx;
    static wfe_owner a;
    static actor x;
    static ERESOURCE r;
    ExInitializeResourceLite(&r);
    a = (wfe_owner){.R = &r};
    KeInitializeEvent(&a.Step, NotificationEvent, FALSE);
    KeInitializeEvent(&a.Go, NotificationEvent, FALSE);
    kt_start(&ta, wfe_owner_main, &a, 8);
    WAIT_UNTIL(__atomic_load_n(&a.Phase, __ATOMIC_ACQUIRE) == 1);
    actor_start(&tx, &x, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(ExGetExclusiveWaiterCount(&r) == 1);

    /* The owner asks again: it queues behind the exclusive waiter. */
    KeSetEvent(&a.Step, 0, FALSE);
    WAIT_UNTIL(ExGetSharedWaiterCount(&r) == 1);
    assert_int_equal(__atomic_load_n(&a.Phase, __ATOMIC_ACQUIRE), 1);
    /* Only a release on its behalf breaks the cycle (documented). */
    ExReleaseResourceForThreadLite(&r, a.Id);
    WAIT_UNTIL(actor_returned(&x));
    assert_true(x.Exclusive);
    assert_int_equal(x.Order, 1);
    assert_int_equal(__atomic_load_n(&a.Phase, __ATOMIC_ACQUIRE), 1);
    actor_finish(&tx, &x);
    WAIT_UNTIL(__atomic_load_n(&a.Phase, __ATOMIC_ACQUIRE) == 2);
    assert_true(a.Result);
    assert_int_equal(a.SharedCount, 1);
    assert_int_equal(a.Order, 2);
    KeSetEvent(&a.Go, 0, FALSE);
    kt_join(&ta);
    assert_int_equal(snapshot(&r).ActiveCount, 0);
    ExDeleteResourceLite(&r);
}

static void convert_exclusive_to_shared_admits_shared_waiters(void **state)
{
    static KTHREAD ts, tx;
    static actor s, x;
    static ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    actor_start(&ts, &s, &r, OP_SHARED, TRUE);
    WAIT_UNTIL(ExGetSharedWaiterCount(&r) == 1);
    actor_start(&tx, &x, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(ExGetExclusiveWaiterCount(&r) == 1);

    ExConvertExclusiveToSharedLite(&r);
    assert_false(ExIsResourceAcquiredExclusiveLite(&r));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 2); /* recursion kept */
    WAIT_UNTIL(actor_returned(&s));
    assert_false(s.Exclusive);
    assert_int_equal(snapshot(&r).ActiveCount, 2);
    assert_false(actor_returned(&x));
    /* Now shared with an exclusive waiter: a new shared request waits. */
    assert_false(other_thread_try(&r, OP_SHARED));

    ExReleaseResourceLite(&r);
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    actor_finish(&ts, &s);
    WAIT_UNTIL(actor_returned(&x));
    assert_true(x.Exclusive);
    actor_finish(&tx, &x);
    ExDeleteResourceLite(&r);
}

/* ---- owner table -------------------------------------------------------------------------------- */

#define MANY_OWNERS 9

static void many_shared_owners_grow_the_table(void **state)
{
    static KTHREAD t[MANY_OWNERS];
    static actor a[MANY_OWNERS];
    static ERESOURCE r;
    SIZE_T before = ntos_test_pool_outstanding();
    ExInitializeResourceLite(&r);
    for (int i = 0; i < MANY_OWNERS; i++)
        actor_start(&t[i], &a[i], &r, OP_SHARED, TRUE);
    for (int i = 0; i < MANY_OWNERS; i++) {
        WAIT_UNTIL(actor_returned(&a[i]));
        assert_true(a[i].Result);
        assert_int_equal(a[i].SharedCount, 1);
    }
    res_state s = snapshot(&r);
    assert_int_equal(s.ActiveCount, MANY_OWNERS);
    assert_int_equal(s.ActiveEntries, MANY_OWNERS);
    assert_true(s.TableSize >= MANY_OWNERS); /* header + owners beyond OwnerEntry */
    assert_int_equal(s.TableSize, 16);       /* 4, 8, 16: grown by doubling */
    for (int i = 0; i < MANY_OWNERS; i++)
        actor_finish(&t[i], &a[i]);
    s = snapshot(&r);
    assert_int_equal(s.ActiveCount, 0);
    assert_int_equal(s.ActiveEntries, 0);
    /* Reinitialize keeps (and clears) the table; delete frees everything. */
    assert_int_equal(ExReinitializeResourceLite(&r), STATUS_SUCCESS);
    assert_int_equal(snapshot(&r).TableSize, 16);
    assert_int_equal(r.ContentionCount, 0);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceExclusiveLite(&r, FALSE));
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&r);
    assert_int_equal(ntos_test_pool_outstanding(), before);
}

static void owner_table_pool_failure(void **state)
{
    static KTHREAD t;
    static actor a;
    static ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceSharedLite(&r, TRUE)); /* takes OwnerEntry */

    /* A second owner needs the table: Wait=FALSE gives up when the pool fails. */
    ntos_test_pool_fail_after(0);
    assert_false(other_thread_try(&r, OP_SHARED));
    assert_int_equal(snapshot(&r).ActiveCount, 1);
    assert_int_equal(snapshot(&r).TableSize, 0);

    /* Wait=TRUE retries after a delay and gets it. */
    ntos_test_pool_fail_after(0);
    actor_start(&t, &a, &r, OP_SHARED, TRUE);
    WAIT_UNTIL(actor_returned(&a));
    assert_true(a.Result);
    assert_int_equal(snapshot(&r).ActiveCount, 2);
    assert_int_equal(snapshot(&r).TableSize, 4);
    actor_finish(&t, &a);
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    ntos_test_pool_fail_after(-1);
    ExDeleteResourceLite(&r);
}

/* ---- owner pointers ----------------------------------------------------------------------------- */

static void owner_pointer_transfers_ownership(void **state)
{
    static ERESOURCE_THREAD storage[2];
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    PVOID owner = (PVOID)((ULONG_PTR)&storage[0] | 3);
    KeEnterCriticalRegion();

    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    ExSetResourceOwnerPointer(&r, owner);
    assert_false(ExIsResourceAcquiredExclusiveLite(&r)); /* no longer the thread's */
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 0);
    assert_int_equal(r.OwnerEntry.OwnerThread, (ERESOURCE_THREAD)owner);
    expect_bugcheck(RESOURCE_NOT_OWNED, ExReleaseResourceLite(&r));
    ExReleaseResourceForThreadLite(&r, (ERESOURCE_THREAD)owner);
    assert_int_equal(r.ActiveCount, 0);

    /* Shared, with the thread and the pointer both owning. */
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    ExSetResourceOwnerPointer(&r, owner);
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    assert_int_equal(r.ActiveCount, 2);
    ExReleaseResourceLite(&r);
    ExReleaseResourceForThreadLite(&r, (ERESOURCE_THREAD)owner);
    assert_int_equal(r.ActiveCount, 0);

    /* The two low bits must be set. */
    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    expect_bugcheck(RESOURCE_OWNER_POINTER_INVALID, ExSetResourceOwnerPointer(&r, &storage[1]));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&r);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], ExGetCurrentResourceThread());
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)&storage[1]);
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&r);
}

/* ---- misuse ------------------------------------------------------------------------------------- */

static void release_not_owned_bugchecks(void **state)
{
    static KTHREAD t;
    static actor a;
    static ERESOURCE r;
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    ExInitializeResourceLite(&r);

    expect_bugcheck(RESOURCE_NOT_OWNED, ExReleaseResourceLite(&r));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&r);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], self);

    actor_start(&t, &a, &r, OP_EXCLUSIVE, TRUE);
    WAIT_UNTIL(actor_returned(&a));
    expect_bugcheck(RESOURCE_NOT_OWNED, ExReleaseResourceLite(&r));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], self);
    actor_finish(&t, &a);

    actor_start(&t, &a, &r, OP_SHARED, TRUE);
    WAIT_UNTIL(actor_returned(&a));
    expect_bugcheck(RESOURCE_NOT_OWNED, ExReleaseResourceLite(&r));
    expect_bugcheck(RESOURCE_NOT_OWNED, ExReleaseResourceForThreadLite(&r, 0));
    assert_int_equal(snapshot(&r).ActiveCount, 1); /* the actor still owns it */
    actor_finish(&t, &a);
    ExDeleteResourceLite(&r);
}

static void shared_owner_wanting_exclusive_bugchecks(void **state)
{
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    assert_false(ExAcquireResourceExclusiveLite(&r, FALSE)); /* just fails, as in NT */
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExAcquireResourceExclusiveLite(&r, TRUE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_SELF_DEADLOCK);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&r);
    assert_int_equal(ExIsResourceAcquiredSharedLite(&r), 1);
    assert_int_equal(r.NumberOfExclusiveWaiters, 0);
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&r);
}

static void convert_without_exclusive_bugchecks(void **state)
{
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    expect_bugcheck(SHARED_RESOURCE_CONV_ERROR, ExConvertExclusiveToSharedLite(&r));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&r);
    assert_true(ExAcquireResourceSharedLite(&r, TRUE));
    expect_bugcheck(SHARED_RESOURCE_CONV_ERROR, ExConvertExclusiveToSharedLite(&r));
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&r);
}

static void delete_or_reinit_while_owned_bugchecks(void **state)
{
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceExclusiveLite(&r, TRUE));
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExDeleteResourceLite(&r));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_ACTIVE_RESOURCE_FREED);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&r);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReinitializeResourceLite(&r));
    /* Still intact and owned. */
    assert_true(ExIsResourceAcquiredExclusiveLite(&r));
    ExReleaseResourceLite(&r);
    KeLeaveCriticalRegion();
    assert_int_equal(ExDeleteResourceLite(&r), STATUS_SUCCESS);
}

static void acquire_context_rules_bugcheck(void **state)
{
    ERESOURCE r;
    ExInitializeResourceLite(&r);
    assert_false(KeAreApcsDisabled());
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquireResourceExclusiveLite(&r, TRUE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_PRECONDITION_APCS_NOT_DISABLED);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&r);
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquireResourceSharedLite(&r, FALSE));
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquireSharedStarveExclusive(&r, FALSE));
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquireSharedWaitForExclusive(&r, FALSE));
    KeEnterCriticalRegion();
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        ExAcquireResourceSharedLite(&r, FALSE);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&r);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    KeLeaveCriticalRegion();
    assert_int_equal(r.ActiveCount, 0);
    ExDeleteResourceLite(&r);
}

/* ---- stress -------------------------------------------------------------------------------------- */

typedef struct rw_ctx {
    PERESOURCE R;
    volatile LONG *Readers;
    volatile LONG *Writers;
    volatile LONG *Data;
    LONG Rounds;
    LONG Seed;
    volatile LONG Violations;
    LONG Writes;
} rw_ctx;

static VOID NTAPI rw_hammer(PVOID p)
{
    rw_ctx *c = p;
    uint64_t seed = (uint64_t)c->Seed * 2654435761u + 7;
    KeEnterCriticalRegion();
    for (LONG i = 0; i < c->Rounds; i++) {
        ULONG pick = (ULONG)(ntos_test_rand(&seed) % 10);
        BOOLEAN wait = (pick % 5) != 4;
        if (pick < 3) {
            if (!ExAcquireResourceExclusiveLite(c->R, wait))
                continue;
            BOOLEAN nested = (pick == 0);
            if (nested)
                ExAcquireResourceSharedLite(c->R, TRUE); /* recursion by the exclusive owner */
            if (__atomic_fetch_add(c->Writers, 1, __ATOMIC_ACQ_REL) != 0 ||
                __atomic_load_n(c->Readers, __ATOMIC_ACQUIRE) != 0)
                __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
            *c->Data = *c->Data + 1; /* plain: only the resource keeps it exact */
            c->Writes++;
            arch_pause();
            __atomic_fetch_sub(c->Writers, 1, __ATOMIC_ACQ_REL);
            if (nested)
                ExReleaseResourceLite(c->R);
            ExReleaseResourceLite(c->R);
        } else {
            res_op op = pick < 6 ? OP_SHARED : pick < 8 ? OP_STARVE : OP_WAIT_FOR_EXCLUSIVE;
            if (!do_acquire(c->R, op, wait))
                continue;
            BOOLEAN nested = (op == OP_SHARED && (pick & 1));
            if (nested)
                ExAcquireResourceSharedLite(c->R, TRUE); /* shared recursion never waits */
            __atomic_fetch_add(c->Readers, 1, __ATOMIC_ACQ_REL);
            if (__atomic_load_n(c->Writers, __ATOMIC_ACQUIRE) != 0)
                __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
            LONG seen = *c->Data; /* plain read, racing only with writers */
            (void)seen;
            arch_pause();
            __atomic_fetch_sub(c->Readers, 1, __ATOMIC_ACQ_REL);
            if (nested)
                ExReleaseResourceLite(c->R);
            ExReleaseResourceLite(c->R);
        }
    }
    KeLeaveCriticalRegion();
}

#define RW_THREADS 8
#define RW_ROUNDS 400

static void reader_writer_stress(void **state)
{
    static KTHREAD t[RW_THREADS];
    static rw_ctx c[RW_THREADS];
    static ERESOURCE r;
    static volatile LONG readers, writers, data;
    readers = writers = data = 0;
    ExInitializeResourceLite(&r);
    for (int i = 0; i < RW_THREADS; i++) {
        c[i] = (rw_ctx){.R = &r, .Readers = &readers, .Writers = &writers, .Data = &data,
                        .Rounds = RW_ROUNDS, .Seed = i + 1};
        kt_start(&t[i], rw_hammer, &c[i], 8);
    }
    LONG writes = 0;
    for (int i = 0; i < RW_THREADS; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Violations, 0);
        writes += c[i].Writes;
    }
    assert_int_equal(data, writes);
    print_message("rw stress: %d writes, contention %u\n", (int)writes, (unsigned)r.ContentionCount);
    res_state s = snapshot(&r);
    assert_int_equal(s.ActiveCount, 0);
    assert_int_equal(s.ActiveEntries, 0);
    assert_int_equal(ExGetSharedWaiterCount(&r), 0);
    assert_int_equal(ExGetExclusiveWaiterCount(&r), 0);
    ExDeleteResourceLite(&r);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(init_and_delete, reset),
    cmocka_unit_test_setup(init_fails_without_pool, reset),
    cmocka_unit_test_setup(exclusive_recursion_and_shared_by_owner, reset),
    cmocka_unit_test_setup(shared_recursion, reset),
    cmocka_unit_test_setup(acquire_at_apc_level_without_region, reset),
    cmocka_unit_test_setup(wait_false_against_other_owners, reset),
    cmocka_unit_test_setup(shared_rules_with_exclusive_waiter, reset),
    cmocka_unit_test_setup(last_shared_release_prefers_exclusive_waiter, reset),
    cmocka_unit_test_setup(exclusive_release_prefers_shared_waiters, reset),
    cmocka_unit_test_setup(wait_for_exclusive_yields_and_release_for_thread, reset),
    cmocka_unit_test_setup(convert_exclusive_to_shared_admits_shared_waiters, reset),
    cmocka_unit_test_setup(many_shared_owners_grow_the_table, reset),
    cmocka_unit_test_setup(owner_table_pool_failure, reset),
    cmocka_unit_test_setup(owner_pointer_transfers_ownership, reset),
    cmocka_unit_test_setup(release_not_owned_bugchecks, reset),
    cmocka_unit_test_setup(shared_owner_wanting_exclusive_bugchecks, reset),
    cmocka_unit_test_setup(convert_without_exclusive_bugchecks, reset),
    cmocka_unit_test_setup(delete_or_reinit_while_owned_bugchecks, reset),
    cmocka_unit_test_setup(acquire_context_rules_bugcheck, reset),
    cmocka_unit_test_setup(reader_writer_stress, reset),
};

NTOS_TEST_GROUP(ex_resource, tests, NULL, NULL);
