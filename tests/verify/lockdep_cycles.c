/*
 * The lock-order checker reports a two-lock ABBA cycle although the run did
 * not deadlock (its threads run one after the other): across an ERESOURCE and
 * a spin lock, across a push lock and a fast mutex, and through a shared
 * ERESOURCE still held once after a recursive acquire and one release. Each
 * case runs as one explored schedule; the child must stop with
 * DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) P1 0x1001, P2 the lock held, P3
 * the lock acquired, both named in the checker's message.
 *
 * The child's stderr goes to a temporary file the parent then reads (the
 * locks are globals, so their addresses are the same in parent and child).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockdep_common.h"

/* ERESOURCE then spin lock; later spin lock then ERESOURCE. */
static VOID NTAPI res_then_spin(PVOID Context)
{
    (void)Context;
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&ldt_res, TRUE);
    KIRQL irql;
    KeAcquireSpinLock(&ldt_spin, &irql);
    KeReleaseSpinLock(&ldt_spin, irql);
    ExReleaseResourceLite(&ldt_res);
    KeLeaveCriticalRegion();
}

static VOID NTAPI spin_then_res(PVOID Context)
{
    (void)Context;
    KeEnterCriticalRegion();
    KIRQL irql;
    KeAcquireSpinLock(&ldt_spin, &irql);
    ExAcquireResourceExclusiveLite(&ldt_res, TRUE); /* reported here */
    ntos_explore_fail("the lock-order cycle spin lock -> ERESOURCE was not reported");
}

static void cycle_res_spin(void *Context)
{
    (void)Context;
    ldt_init();
    ldt_run(res_then_spin, NULL);
    ldt_run(spin_then_res, NULL);
}

/* Push lock then fast mutex; later fast mutex then push lock. */
static VOID NTAPI push_then_fast(PVOID Context)
{
    (void)Context;
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&ldt_push);
    ExAcquireFastMutex(&ldt_fast);
    ExReleaseFastMutex(&ldt_fast);
    ExReleasePushLockShared(&ldt_push);
    KeLeaveCriticalRegion();
}

static VOID NTAPI fast_then_push(PVOID Context)
{
    (void)Context;
    ExAcquireFastMutex(&ldt_fast);
    ExAcquirePushLockExclusive(&ldt_push); /* reported here */
    ntos_explore_fail("the lock-order cycle fast mutex -> push lock was not reported");
}

static void cycle_push_fast(void *Context)
{
    (void)Context;
    ldt_init();
    ldt_run(push_then_fast, NULL);
    ldt_run(fast_then_push, NULL);
}

/* Shared twice, released once: still held, so the fast mutex is ordered after it. */
static VOID NTAPI recursive_res_then_fast(PVOID Context)
{
    (void)Context;
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&ldt_res, TRUE);
    ExAcquireResourceSharedLite(&ldt_res, TRUE);
    ExReleaseResourceLite(&ldt_res);
    ExAcquireFastMutex(&ldt_fast);
    ExReleaseFastMutex(&ldt_fast);
    ExReleaseResourceLite(&ldt_res);
    KeLeaveCriticalRegion();
}

static VOID NTAPI fast_then_res(PVOID Context)
{
    (void)Context;
    ExAcquireFastMutex(&ldt_fast);
    ExAcquireResourceExclusiveLite(&ldt_res, TRUE); /* reported here */
    ntos_explore_fail("the lock-order cycle fast mutex -> ERESOURCE (after recursion) was not reported");
}

static void cycle_recursion(void *Context)
{
    (void)Context;
    ldt_init();
    ldt_run(recursive_res_then_fast, NULL);
    ldt_run(fast_then_res, NULL);
}

static int check_case(const char *Name, ntos_explore_fn Fn, const void *Held, const void *Acquired)
{
    char path[] = "/tmp/ntos-lockdep-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    ntos_explore_options o;
    memset(&o, 0, sizeof(o));
    o.Name = Name;
    o.Schedules = 1;
    o.Strategy = "random";
    o.StopAtFailure = TRUE;
    ntos_explore_result r;
    ntos_explore(Fn, NULL, &o, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    static char text[1 << 16];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    text[n > 0 ? n : 0] = 0;
    char stop[160], names[160];
    snprintf(stop, sizeof(stop), "*** STOP: 0x000000C4 (0x0000000000001001,0x%016llX,0x%016llX,",
             (unsigned long long)(ULONG_PTR)Held, (unsigned long long)(ULONG_PTR)Acquired);
    snprintf(names, sizeof(names), "holds %p and acquires", Held);
    int ok = r.Failures == 1 && r.FailedStatus == 86 && strstr(text, stop) != NULL && strstr(text, names) != NULL &&
             strstr(text, "lock order cycle") != NULL;
    printf("%s: %s (exit status %d, %llu decisions)\n", Name, ok ? "reported as expected" : "NOT REPORTED",
           r.FailedStatus, (unsigned long long)r.Decisions);
    if (!ok)
        fprintf(stderr, "%s: expected \"%s\" in the child's output:\n%s\n", Name, stop, text);
    return !ok;
}

int main(void)
{
    /* These runs fail on purpose: their traces go to /tmp, not the build tree. */
    setenv("NTOS_EXPLORE_DIR", "/tmp", 0);
    int failed = 0;
    failed |= check_case("lockdep_cycle_eresource_spinlock", cycle_res_spin, &ldt_spin, &ldt_res);
    failed |= check_case("lockdep_cycle_pushlock_fastmutex", cycle_push_fast, &ldt_fast, &ldt_push);
    failed |= check_case("lockdep_cycle_after_recursion", cycle_recursion, &ldt_fast, &ldt_res);
    return failed;
}
