/* Host backend internals shared by the files in host/. Not visible to src/. */
#ifndef NTOS_HOST_PRIVATE_H
#define NTOS_HOST_PRIVATE_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include "host.h"

#define HOST_PENDING_WAKE 1u
#define HOST_SIG_CLOCK (SIGRTMIN + 0)

#define HOST_EXIT_BUGCHECK 86 /* process status after an uncaught bug check */
#define HOST_EXIT_SETUP 87    /* the backend could not set up the machine */

typedef struct host_cpu {
    ULONG Number;
    pthread_t Thread;
    pid_t Tid;
    PKPCR Pcr;
    int Started;
    KARCH_CONTEXT BootContext;
    /* clock (ClockLock guards period and deadline; see clock.c) */
    pthread_mutex_t ClockLock;
    ULONG64 ClockPeriod;   /* 100 ns, 0 = not periodic */
    ULONG64 ClockDeadline; /* absolute interrupt time of the next tick, 0 = none */
    ULONG64 ClockTicks;
    /* virtual-time mode */
    BOOLEAN VtIdle;
    /* device interrupt lines (devinterrupt.c), bit v of the 256 = vector v:
     * DevPending is taken by host_deliver (atomic: any thread may raise it in
     * real time); DevAsserted/DevMasked are virtual time only (token holder). */
    ULONG DevPending[8];
    ULONG DevAsserted[8];
    ULONG DevMasked[8];   /* asserted vectors this CPU has had masked since */
    ULONG DevAssertedCount;
} host_cpu;

typedef struct host_machine {
    ULONG Cpus;
    BOOLEAN Booted;
    BOOLEAN VirtualTime;
    host_cpu Cpu[ARCH_MAX_CPUS];
} host_machine;

extern host_machine host;

host_cpu *host_self(void);
BOOLEAN host_has_deliverable(PKPCR pcr);
void host_deliver(void);

/* memory.c */
void host_memory_init(void);

/* bootmodules.c */
void host_boot_modules_init(void);

/* devinterrupt.c */
void host_deliver_device(KIRQL Level);   /* host_deliver, at Level */
void host_vt_device_point(host_cpu *cpu); /* virtual time: at each interruptible point */
void host_vt_device_idle(host_cpu *cpu);  /* virtual time: the CPU idles */

/* clock.c */
void host_time_init(void);
void host_clock_start(void);
void host_raise_clock(host_cpu *cpu);
void host_clock_install_signal(void);
void host_futex_wait(ULONG *word, ULONG expected, const struct timespec *abs_monotonic);
void host_futex_wake(ULONG *word);

/* vtime.c: the deterministic mode */
void host_vt_init(void);
void host_vt_seed(ULONG64 Seed);
void host_vt_point(void);
void host_vt_idle(void);
void host_vt_wait_token(ULONG cpu);
void host_vt_run_until_started(host_cpu *cpu);
void host_vt_stall(ULONG64 Delta100ns);
ULONG64 host_vt_now(void);
void host_vt_clock_programmed(host_cpu *cpu);
void host_vt_yield(void);
extern ULONG host_vt_candidates[ARCH_MAX_CPUS];
extern ULONG host_vt_candidate_count;
extern ULONG host_vt_current;
extern BOOLEAN host_vt_current_included;
extern BOOLEAN host_vt_yielding;

/* explore.c: the interleaving explorer and the lock-order checker */
void host_explore_boot(void);            /* from host_boot: turns the hooks on */
void host_explore_all_idle(ULONG64 Now); /* every virtual CPU is idle */
void host_explore_child_exiting(void);   /* an explored child is about to exit (bug check) */

static inline __attribute__((noreturn)) void longjmp_target(void *buf)
{
    longjmp(*(jmp_buf *)buf, 1);
}

#endif /* NTOS_HOST_PRIVATE_H */
