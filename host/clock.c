/*
 * Host backend: time sources and the per-CPU clock interrupt.
 *
 * Real-time mode: one tick thread owns every CPU's programmed clock (periodic
 * or one-shot). When a CPU's deadline comes it marks the clock interrupt
 * pending in that CPU's pending word (an atomic OR, the only thing a
 * handler could safely do) and sends the CPU's own Linux thread the clock
 * signal (pthread_kill), which interrupts whatever host call that thread is
 * blocked in; a CPU halted in arch_idle sleeps on the pending word itself
 * (futex), so the changed word ends the sleep even if the signal came first.
 * The CPU takes the interrupt at its next interruptible point; kernel code
 * never runs in the handler, which does nothing.
 *
 * The bit is set by the tick thread rather than by the handler because
 * ThreadSanitizer defers user signal handlers until the thread's next
 * intercepted library call, which a CPU spinning at interruptible points or
 * halted in a raw futex wait may never make (measured: a CPU that never saw
 * its ticks under TSan); and setting it in both places would deliver a tick
 * twice when the CPU takes the first before the signal lands.
 *
 * Virtual-time mode: no tick thread and no signals; vtime.c raises due clocks
 * as virtual time reaches them.
 *
 * Locking: each CPU's clock fields are guarded by its ClockLock (held for a
 * few instructions, never while calling out); the tick thread sleeps on
 * tick_generation, which every reprogramming bumps.
 *
 * Interrupt time is 100 ns units since boot; system time is 100 ns units since
 * 1601-01-01 UTC, the NT epoch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "host_private.h"

/* Seconds from 1601-01-01 to 1970-01-01. */
#define NT_EPOCH_DELTA_SECONDS 11644473600ULL

static struct timespec boot_monotonic;
static ULONG64 boot_system_time;
static ULONG tick_generation;
static pthread_t tick_thread;
static BOOLEAN tick_started;

static ULONG64 ts_to_100ns(const struct timespec *ts)
{
    return (ULONG64)ts->tv_sec * 10000000ULL + (ULONG64)ts->tv_nsec / 100;
}

static void to_timespec(ULONG64 t100ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(t100ns / 10000000ULL);
    ts->tv_nsec = (long)(t100ns % 10000000ULL) * 100;
}

static ULONG64 monotonic_since_boot(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return ts_to_100ns(&now) - ts_to_100ns(&boot_monotonic);
}

void host_futex_wait(ULONG *word, ULONG expected, const struct timespec *abs_monotonic)
{
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, abs_monotonic, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

void host_futex_wake(ULONG *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}

/* Marks the clock interrupt pending on a CPU and counts the tick. */
void host_raise_clock(host_cpu *cpu)
{
    __atomic_fetch_or(&cpu->Pcr->HalReserved[0], HOST_PENDING(CLOCK_LEVEL), __ATOMIC_ACQ_REL);
    __atomic_fetch_add(&cpu->ClockTicks, 1, __ATOMIC_RELAXED);
}

/* The tick is already pending when the signal arrives; the signal's only
 * job is to interrupt a blocking host call, so the handler does nothing. */
static void clock_signal(int sig)
{
    (void)sig;
}

void host_clock_install_signal(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = clock_signal;
    /* Host calls the kernel makes (write, futex, mmap) restart or re-check. */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(HOST_SIG_CLOCK, &sa, NULL);
}

static void *tick_main(void *arg)
{
    (void)arg;
    for (;;) {
        ULONG gen = __atomic_load_n(&tick_generation, __ATOMIC_ACQUIRE);
        ULONG64 now = monotonic_since_boot();
        ULONG64 earliest = 0;
        for (ULONG n = 0; n < host.Cpus; n++) {
            host_cpu *cpu = &host.Cpu[n];
            pthread_mutex_lock(&cpu->ClockLock);
            if (cpu->ClockDeadline && cpu->ClockDeadline <= now) {
                host_raise_clock(cpu);
                host_futex_wake(&cpu->Pcr->HalReserved[0]);
                pthread_kill(cpu->Thread, HOST_SIG_CLOCK);
                if (cpu->ClockPeriod) {
                    /* Ticks missed while the host was busy coalesce into one,
                     * as a real periodic timer's would behind a masked IRQ. */
                    while (cpu->ClockDeadline <= now)
                        cpu->ClockDeadline += cpu->ClockPeriod;
                } else {
                    cpu->ClockDeadline = 0;
                }
            }
            if (cpu->ClockDeadline && (earliest == 0 || cpu->ClockDeadline < earliest))
                earliest = cpu->ClockDeadline;
            pthread_mutex_unlock(&cpu->ClockLock);
        }
        if (earliest == 0) {
            host_futex_wait(&tick_generation, gen, NULL);
        } else {
            struct timespec abs;
            to_timespec(ts_to_100ns(&boot_monotonic) + earliest, &abs);
            host_futex_wait(&tick_generation, gen, &abs);
        }
    }
    return NULL;
}

void host_time_init(void)
{
    clock_gettime(CLOCK_MONOTONIC, &boot_monotonic);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    boot_system_time = ((ULONG64)rt.tv_sec + NT_EPOCH_DELTA_SECONDS) * 10000000ULL +
                       (ULONG64)rt.tv_nsec / 100;
}

void host_clock_start(void)
{
    if (host.VirtualTime || tick_started)
        return;
    host_clock_install_signal();
    if (pthread_create(&tick_thread, NULL, tick_main, NULL) != 0) {
        fprintf(stderr, "ntos host: cannot start the clock thread\n");
        _exit(HOST_EXIT_SETUP);
    }
    tick_started = TRUE;
}

ULONG64 arch_interrupt_time(void)
{
    if (host.VirtualTime)
        return host_vt_now();
    return monotonic_since_boot();
}

ULONG64 arch_boot_system_time(void)
{
    return boot_system_time;
}

ULONG64 arch_cycle_counter(void)
{
    return arch_interrupt_time();
}

ULONG64 arch_cycle_frequency(void)
{
    return 10000000ULL;
}

static void program(ULONG64 period, ULONG64 deadline)
{
    host_cpu *cpu = host_self();
    pthread_mutex_lock(&cpu->ClockLock);
    cpu->ClockPeriod = period;
    cpu->ClockDeadline = deadline;
    pthread_mutex_unlock(&cpu->ClockLock);
    if (!host.VirtualTime) {
        __atomic_fetch_add(&tick_generation, 1, __ATOMIC_ACQ_REL);
        host_futex_wake(&tick_generation);
    }
}

void arch_clock_set_periodic(ULONG64 Period100ns)
{
    program(Period100ns, Period100ns ? arch_interrupt_time() + Period100ns : 0);
}

void arch_clock_set_oneshot(ULONG64 DeadlineInterruptTime)
{
    /* A deadline already past fires at once (0 would mean "disarmed"). */
    program(0, DeadlineInterruptTime ? DeadlineInterruptTime : 1);
}

ULONG64 host_clock_ticks(ULONG Cpu)
{
    return Cpu < host.Cpus ? __atomic_load_n(&host.Cpu[Cpu].ClockTicks, __ATOMIC_RELAXED) : 0;
}
