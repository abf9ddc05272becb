/*
 * Lock sequences for the lock-order checker's tests (scenario_lockdep.c must
 * not be reported, lockdep_cycles.c must be). Every sequence runs its threads
 * one after the other, so no run can deadlock: whatever is reported comes from
 * the acquisition-order graph alone.
 */
#ifndef NTOS_VERIFY_LOCKDEP_COMMON_H
#define NTOS_VERIFY_LOCKDEP_COMMON_H

#include <ntos/ex_sync.h>
#include "verify.h"

static ERESOURCE ldt_res;
static KSPIN_LOCK ldt_spin;
static EX_PUSH_LOCK ldt_push;
static FAST_MUTEX ldt_fast;

static void ldt_init(void)
{
    NTOS_EXPLORE_CHECK(ExInitializeResourceLite(&ldt_res) == STATUS_SUCCESS);
    KeInitializeSpinLock(&ldt_spin);
    ExInitializePushLock(&ldt_push);
    ExInitializeFastMutex(&ldt_fast);
}

/* Runs Routine in a fresh thread and waits for it to finish. */
static void ldt_run(PKSTART_ROUTINE Routine, PVOID Context)
{
    static KTHREAD t;
    vt_start(&t, Routine, Context);
    vt_join(&t);
}

#endif /* NTOS_VERIFY_LOCKDEP_COMMON_H */
