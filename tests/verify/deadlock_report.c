/*
 * Exact deadlock detection: two threads deadlock on two mutexes (a KMUTEX
 * and a fast mutex, each taken by one thread, then each thread waits for the
 * other's; a handshake makes every schedule deadlock). The explorer must
 * report a deadlock as soon as every thread waits with nothing pending, list
 * both threads with what they wait on and the owner of each mutex, and do so
 * in far fewer decisions than the virtual-time budget it used to need (the
 * same run with NTOS_EXPLORE_DEADLOCK=budget, which is printed for
 * comparison). The child's stderr goes to a temporary file the parent reads.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ntos/ex_sync.h>
#include "verify.h"

static KMUTEX dl_mutex;
static FAST_MUTEX dl_fast;
static KEVENT dl_a_has, dl_b_has;
static KTHREAD dl_a, dl_b;

static VOID NTAPI thread_a(PVOID Context)
{
    (void)Context;
    KeWaitForSingleObject(&dl_mutex, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&dl_a_has, 0, FALSE);
    KeWaitForSingleObject(&dl_b_has, Executive, KernelMode, FALSE, NULL);
    ExAcquireFastMutex(&dl_fast); /* held by B: waits for good */
    ntos_explore_fail("thread A got the fast mutex B holds");
}

static VOID NTAPI thread_b(PVOID Context)
{
    (void)Context;
    ExAcquireFastMutex(&dl_fast);
    KeSetEvent(&dl_b_has, 0, FALSE);
    KeWaitForSingleObject(&dl_a_has, Executive, KernelMode, FALSE, NULL);
    KeWaitForSingleObject(&dl_mutex, Executive, KernelMode, FALSE, NULL); /* owned by A */
    ntos_explore_fail("thread B got the mutex A owns");
}

static void two_mutex_deadlock(void *Context)
{
    (void)Context;
    KeInitializeMutex(&dl_mutex, 0);
    ExInitializeFastMutex(&dl_fast);
    KeInitializeEvent(&dl_a_has, NotificationEvent, FALSE);
    KeInitializeEvent(&dl_b_has, NotificationEvent, FALSE);
    vt_start(&dl_a, thread_a, NULL);
    vt_start(&dl_b, thread_b, NULL);
    vt_join(&dl_a);
    ntos_explore_fail("the deadlocked threads finished");
}

static char text[1 << 18];

static ntos_explore_result run(const char *Mode, const char *Seed)
{
    char path[] = "/tmp/ntos-deadlock-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    if (Mode)
        setenv("NTOS_EXPLORE_DEADLOCK", Mode, 1);
    else
        unsetenv("NTOS_EXPLORE_DEADLOCK");
    setenv("NTOS_SEED", Seed, 1);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    ntos_explore_options o;
    memset(&o, 0, sizeof(o));
    o.Name = "two_mutex_deadlock";
    o.Schedules = 1;
    o.Strategy = "random";
    o.StopAtFailure = TRUE;
    ntos_explore_result r;
    ntos_explore(two_mutex_deadlock, NULL, &o, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    text[n > 0 ? n : 0] = 0;
    return r;
}

static int contains(const char *Needle)
{
    if (strstr(text, Needle) != NULL)
        return 1;
    fprintf(stderr, "deadlock report: missing \"%s\" in:\n%s\n", Needle, text);
    return 0;
}

int main(void)
{
    /* These runs fail on purpose: their traces go to /tmp, not the build tree. */
    setenv("NTOS_EXPLORE_DIR", "/tmp", 0);
    int ok = 1;
    char buf[256];
    ULONG64 exact = 0, budget = 0;
    /* A few schedules: the report must not depend on the interleaving. */
    const char *seeds[] = {"1", "2", "3"};
    for (ULONG i = 0; i < 3; i++) {
        ntos_explore_result r = run(NULL, seeds[i]);
        ok &= r.Failures == 1 && r.FailedStatus == 3;
        ok &= contains("ntos explore: DEADLOCK: every thread is waiting");
        snprintf(buf, sizeof(buf), "thread %p priority", (void *)&dl_a);
        ok &= contains(buf);
        snprintf(buf, sizeof(buf), "thread %p priority", (void *)&dl_b);
        ok &= contains(buf);
        /* B waits on the mutant A owns; A acquires the fast mutex B holds. */
        snprintf(buf, sizeof(buf), "Mutant %p (signal state 0) owned by thread %p", (void *)&dl_mutex,
                 (void *)&dl_a);
        ok &= contains(buf);
        snprintf(buf, sizeof(buf), "acquiring lock %p held by %p", (void *)&dl_fast, (void *)&dl_b);
        ok &= contains(buf);
        snprintf(buf, sizeof(buf), "owns mutants %p", (void *)&dl_mutex);
        ok &= contains(buf);
        ok &= contains("(system)");
        if (i == 0 && getenv("NTOS_VERBOSE") != NULL)
            fputs(text, stdout); /* the report as a user sees it */
        if (r.Decisions > exact)
            exact = r.Decisions;
    }
    ntos_explore_result old = run("budget", "1");
    ok &= old.Failures == 1 && old.FailedStatus == 3 && contains("hang or livelock");
    budget = old.Decisions;
    printf("two_mutex_deadlock: reported as a deadlock after at most %llu decisions (3 schedules); "
           "the virtual-time budget alone reports it after %llu decisions\n",
           (unsigned long long)exact, (unsigned long long)budget);
    ok &= exact * 10 < budget;
    printf("%s\n", ok ? "PASS" : "FAIL");
    return !ok;
}
