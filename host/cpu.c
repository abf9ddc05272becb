/*
 * Host backend: virtual processors, IRQL, the interrupt flag and interrupt delivery.
 *
 * Each virtual CPU is a pthread whose GS base is its KPCR (arch_prctl), so the
 * GS-relative loads that WDK inline functions compile to work unchanged.
 *
 * Interrupt state lives in the KPCR's HAL-reserved area so it follows the CPU,
 * not the kernel thread that happens to run on it:
 *   HalReserved[0]  pending levels, bit L = an interrupt of level L is pending;
 *                   bit 0 = "wake" (arch_wake), never delivered, only ends arch_idle.
 *                   Set atomically by the CPU's clock signal handler and by
 *                   other CPUs (which then futex-wake the word: arch_idle
 *                   sleeps on it).
 *   HalReserved[1]  interrupt flag (1 = enabled). Touched only by the owning CPU.
 *   HalReserved[2]  IPI kinds accumulated for the next IPI_LEVEL delivery.
 * KPCR.Irql is the CPU's CR8.
 *
 * Rules: kernel code never runs in a signal handler; the raising side (the
 * clock signal handler, another CPU) only ORs bits into HalReserved[0].
 * Pending interrupts are taken at interruptible points (IRQL
 * lowered, interrupts re-enabled, idle, pause/stall) by host_deliver, which runs
 * the upcall on the current stack at the interrupt's level. An upcall may
 * switch contexts, so after it returns the code re-reads the KPCR: the
 * interrupted thread may now be running on another CPU.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ntos/ke.h>
#include "host_private.h"

host_machine host;

#define PCR_PENDING(pcr) (&(pcr)->HalReserved[0])
#define PCR_IFLAG(pcr) ((pcr)->HalReserved[1])
#define PCR_IPI(pcr) (&(pcr)->HalReserved[2])

static ULONG deliverable_mask(PKPCR pcr)
{
    /* Levels strictly above the IRQL; bit 0 (wake) is never delivered. */
    return __atomic_load_n(PCR_PENDING(pcr), __ATOMIC_ACQUIRE) & ~((2u << pcr->Irql) - 1u);
}

BOOLEAN host_has_deliverable(PKPCR pcr)
{
    return PCR_IFLAG(pcr) && deliverable_mask(pcr) != 0;
}

void host_deliver(void)
{
    for (;;) {
        PKPCR pcr = KeGetPcr();
        if (!PCR_IFLAG(pcr))
            return;
        ULONG mask = deliverable_mask(pcr);
        if (mask == 0)
            return;
        KIRQL level = (KIRQL)(31 - __builtin_clz(mask));
        __atomic_fetch_and(PCR_PENDING(pcr), ~HOST_PENDING(level), __ATOMIC_ACQ_REL);
        KIRQL saved = pcr->Irql;
        pcr->Irql = level;
        switch (level) {
        case CLOCK_LEVEL:
            KiClockInterrupt();
            break;
        case IPI_LEVEL:
            KiIpiInterrupt(__atomic_exchange_n(PCR_IPI(pcr), 0, __ATOMIC_ACQ_REL));
            break;
        case APC_LEVEL:
        case DISPATCH_LEVEL:
            KiSoftwareInterrupt(level);
            break;
        default:
            host_deliver_device(level); /* device levels: devinterrupt.c */
            break;
        }
        /* The upcall may have switched this thread to another CPU. */
        pcr = KeGetPcr();
        pcr->Irql = saved;
    }
}

/* ---- IRQL -------------------------------------------------------------------------- */

KIRQL arch_get_irql(void)
{
    KIRQL irql;
    __asm__ volatile("movb %%gs:0x50, %0" : "=q"(irql));
    return irql;
}

void arch_set_irql(KIRQL NewIrql)
{
    PKPCR pcr = KeGetPcr();
    KIRQL old = pcr->Irql;
    pcr->Irql = NewIrql;
    if (NewIrql < old) {
        if (host.VirtualTime)
            host_vt_point();
        else if (host_has_deliverable(pcr))
            host_deliver();
    }
}

/* ---- interrupt flag ------------------------------------------------------------------ */

ULONG_PTR arch_disable_interrupts(void)
{
    PKPCR pcr = KeGetPcr();
    ULONG_PTR old = PCR_IFLAG(pcr);
    PCR_IFLAG(pcr) = 0;
    return old;
}

void arch_restore_interrupts(ULONG_PTR State)
{
    if (State)
        arch_enable_interrupts();
    else
        KeGetPcr()->HalReserved[1] = 0;
}

void arch_enable_interrupts(void)
{
    PKPCR pcr = KeGetPcr();
    if (PCR_IFLAG(pcr))
        return;
    PCR_IFLAG(pcr) = 1;
    if (host.VirtualTime)
        host_vt_point();
    else if (host_has_deliverable(pcr))
        host_deliver();
}

BOOLEAN arch_interrupts_enabled(void)
{
    return PCR_IFLAG(KeGetPcr()) != 0;
}

/* ---- software interrupts and IPIs -------------------------------------------------------- */

void arch_request_software_interrupt(KIRQL Level)
{
    PKPCR pcr = KeGetPcr();
    __atomic_fetch_or(PCR_PENDING(pcr), HOST_PENDING(Level), __ATOMIC_ACQ_REL);
    /* Requested below the current IRQL: taken when it drops (arch_set_irql).
     * Requested at or above it is not possible (the requester runs at a
     * higher level by definition of a deferred interrupt), except at
     * PASSIVE_LEVEL, where real hardware would interrupt immediately. */
    if (pcr->Irql < Level && PCR_IFLAG(pcr))
        host_deliver();
}

void arch_clear_software_interrupt(KIRQL Level)
{
    __atomic_fetch_and(PCR_PENDING(KeGetPcr()), ~HOST_PENDING(Level), __ATOMIC_ACQ_REL);
}

static void host_kick(host_cpu *cpu)
{
    if (host.VirtualTime)
        return; /* the token holder finds pending bits when it picks a CPU */
    host_futex_wake(&cpu->Pcr->HalReserved[0]);
}

void arch_send_ipi(KAFFINITY Targets, ULONG Kinds)
{
    for (ULONG n = 0; n < host.Cpus; n++) {
        if (!(Targets & ((KAFFINITY)1 << n)))
            continue;
        host_cpu *cpu = &host.Cpu[n];
        __atomic_fetch_or(PCR_IPI(cpu->Pcr), Kinds, __ATOMIC_ACQ_REL);
        __atomic_fetch_or(PCR_PENDING(cpu->Pcr), HOST_PENDING(IPI_LEVEL), __ATOMIC_ACQ_REL);
        if (cpu->Pcr == KeGetPcr()) {
            if (host_has_deliverable(cpu->Pcr))
                host_deliver();
        } else {
            host_kick(cpu);
        }
    }
}

void arch_wake(KAFFINITY Targets)
{
    for (ULONG n = 0; n < host.Cpus; n++) {
        if (!(Targets & ((KAFFINITY)1 << n)))
            continue;
        host_cpu *cpu = &host.Cpu[n];
        __atomic_fetch_or(PCR_PENDING(cpu->Pcr), HOST_PENDING_WAKE, __ATOMIC_ACQ_REL);
        if (cpu->Pcr != KeGetPcr())
            host_kick(cpu);
    }
}

/* ---- processors ------------------------------------------------------------------------------ */

ULONG arch_processor_count(void)
{
    return host.Cpus;
}

PKPCR arch_processor_pcr(ULONG Number)
{
    return Number < host.Cpus ? host.Cpu[Number].Pcr : NULL;
}

ULONG host_current_cpu(void)
{
    return KeGetCurrentProcessorIndex();
}

host_cpu *host_self(void)
{
    return &host.Cpu[KeGetCurrentProcessorIndex()];
}

/* ---- waiting ---------------------------------------------------------------------------------- */

void host_interruptible_point(void)
{
    if (host.VirtualTime) {
        host_vt_point();
        return;
    }
    PKPCR pcr = KeGetPcr();
    if (host_has_deliverable(pcr))
        host_deliver();
}

void arch_pause(void)
{
    __builtin_ia32_pause();
    if (host.VirtualTime)
        host_vt_yield();
    else
        host_interruptible_point();
}

void arch_stall(ULONG64 Delta100ns)
{
    if (host.VirtualTime) {
        host_vt_stall(Delta100ns);
        host_vt_point();
        return;
    }
    ULONG64 end = arch_interrupt_time() + Delta100ns;
    while (arch_interrupt_time() < end)
        arch_pause();
}

void arch_idle(void)
{
    PKPCR pcr = KeGetPcr();
    PCR_IFLAG(pcr) = 1;
    if (host.VirtualTime) {
        host_vt_idle();
    } else {
        /* Sleep on the pending word itself: the futex compares it with what we
         * examined, so a bit raised after the check ends the wait at once. */
        ULONG seen = __atomic_load_n(PCR_PENDING(pcr), __ATOMIC_ACQUIRE);
        if (!host_has_deliverable(pcr) && !(seen & HOST_PENDING_WAKE))
            host_futex_wait(PCR_PENDING(pcr), seen, NULL);
    }
    __atomic_fetch_and(PCR_PENDING(KeGetPcr()), ~HOST_PENDING_WAKE, __ATOMIC_ACQ_REL);
    host_deliver();
}

/* ---- console and exit --------------------------------------------------------------------------- */

void arch_console_write(const char *Text, SIZE_T Length)
{
    while (Length > 0) {
        ssize_t n = write(2, Text, Length);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        Text += n;
        Length -= (SIZE_T)n;
    }
}

void arch_system_exit(int Code)
{
    fflush(stdout);
    fflush(stderr);
    exit(Code);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HOST_HAVE_SANITIZER 1
#endif
#endif
#ifdef HOST_HAVE_SANITIZER
void __sanitizer_print_stack_trace(void);
#endif

void arch_halt_system(void)
{
#ifdef HOST_HAVE_SANITIZER
    __sanitizer_print_stack_trace();
#endif
    host_explore_child_exiting();
    fflush(stdout);
    fflush(stderr);
    /* A distinctive status so a test runner sees a stopped system, not a pass. */
    _exit(HOST_EXIT_BUGCHECK);
}

void arch_longjmp(void **Buffer)
{
    longjmp_target((void *)Buffer);
}

/* ---- boot ------------------------------------------------------------------------------------------ */

/* privileged.c, when linked (anything that runs foreign code pulls it in):
 * gives each CPU thread an alternate signal stack. */
extern void host_fault_thread_init(void) __attribute__((weak));

static void host_cpu_attach(host_cpu *cpu)
{
    /* The GS base is per Linux thread; glibc and the sanitizers use FS only. */
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)cpu->Pcr) != 0) {
        perror("ntos host: arch_prctl(ARCH_SET_GS)");
        _exit(HOST_EXIT_SETUP);
    }
    cpu->Tid = (pid_t)syscall(SYS_gettid);
    cpu->Thread = pthread_self();
    arch_context_init_current(&cpu->BootContext);
    if (host_fault_thread_init != NULL)
        host_fault_thread_init();
}

static void *host_cpu_main(void *arg)
{
    host_cpu *cpu = arg;
    host_cpu_attach(cpu);
    if (host.VirtualTime)
        host_vt_wait_token(cpu->Number);
    /* Started is set by arch_processor_ready, once the kernel's per-processor
     * state is published. */
    KiProcessorStartup(cpu->Number);
    fprintf(stderr, "ntos host: KiProcessorStartup returned on CPU %u\n", cpu->Number);
    _exit(HOST_EXIT_SETUP);
}

static host_cpu *host_new_cpu(ULONG n)
{
    host_cpu *cpu = &host.Cpu[n];
    memset(cpu, 0, sizeof(*cpu));
    cpu->Number = n;
    pthread_mutex_init(&cpu->ClockLock, NULL);
    PKPCR pcr;
    if (posix_memalign((void **)&pcr, 4096, sizeof(KPCR)) != 0) {
        fprintf(stderr, "ntos host: out of memory for KPCR\n");
        _exit(HOST_EXIT_SETUP);
    }
    memset(pcr, 0, sizeof(*pcr));
    pcr->Self = pcr;
    pcr->CurrentPrcb = &pcr->Prcb;
    pcr->Irql = HIGH_LEVEL;
    pcr->MajorVersion = 1;
    pcr->MinorVersion = 1;
    pcr->Prcb.LegacyNumber = (UCHAR)n;
    pcr->Prcb.Number = n;
    pcr->Prcb.ArchPrivate = cpu;
    cpu->Pcr = pcr;
    return cpu;
}

void host_config_from_environment(NTOS_HOST_CONFIG *Config)
{
    memset(Config, 0, sizeof(*Config));
    Config->Cpus = 1;
    Config->Seed = 1;
    const char *s;
    if ((s = getenv("NTOS_CPUS")) != NULL && atoi(s) > 0)
        Config->Cpus = (ULONG)atoi(s);
    if ((s = getenv("NTOS_VIRTUAL_TIME")) != NULL && *s && *s != '0')
        Config->VirtualTime = TRUE;
    if ((s = getenv("NTOS_SEED")) != NULL)
        Config->Seed = strtoull(s, NULL, 0);
    if (Config->Cpus > ARCH_MAX_CPUS)
        Config->Cpus = ARCH_MAX_CPUS;
}

void arch_processor_ready(void)
{
    /* Release: the processor's KPRCB and idle thread, written during startup,
     * are visible to whoever sees Started (host_boot waits with acquire). */
    __atomic_store_n(&host_self()->Started, 1, __ATOMIC_RELEASE);
}

BOOLEAN host_booted(void)
{
    return host.Booted;
}

/* Weak: host-only test programs link the backend without the kernel's Cm. */
extern void CmSetBootRegistryText(const char *Text, SIZE_T Length) __attribute__((weak));

void host_boot(const NTOS_HOST_CONFIG *Config)
{
    if (host.Booted)
        return;
    host.Cpus = Config->Cpus ? Config->Cpus : 1;
    if (host.Cpus > ARCH_MAX_CPUS)
        host.Cpus = ARCH_MAX_CPUS;
    host.VirtualTime = Config->VirtualTime;
    host_time_init();
    host_memory_init();
    host_boot_modules_init();

    for (ULONG n = 0; n < host.Cpus; n++)
        host_new_cpu(n);
    host_cpu *boot = &host.Cpu[0];
    host_cpu_attach(boot);
    if (host.VirtualTime) {
        host_vt_init();
        host_vt_seed(Config->Seed);
    }
    host.Booted = TRUE;
    host_explore_boot();
    host_clock_start();

    KiProcessorStartup(0);
    if (!boot->Started) {
        fprintf(stderr, "ntos host: the kernel did not report processor 0 ready\n");
        _exit(HOST_EXIT_SETUP);
    }

    for (ULONG n = 1; n < host.Cpus; n++) {
        host_cpu *cpu = &host.Cpu[n];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1u << 20);
        if (pthread_create(&cpu->Thread, &attr, host_cpu_main, cpu) != 0) {
            fprintf(stderr, "ntos host: cannot start CPU %u\n", n);
            _exit(HOST_EXIT_SETUP);
        }
        pthread_attr_destroy(&attr);
        if (host.VirtualTime) {
            /* Hand the token over so the new CPU runs its startup to idle. */
            host_vt_run_until_started(cpu);
        } else {
            while (!__atomic_load_n(&cpu->Started, __ATOMIC_ACQUIRE))
                sched_yield();
        }
    }

    /* A registry to seed from instead of the built-in default: the host's
     * stand-in for the boot module the bare-metal loader passes. */
    const char *regFile = getenv("NTOS_REGISTRY_FILE");
    if (regFile != NULL && *regFile && CmSetBootRegistryText != NULL) {
        FILE *f = fopen(regFile, "rb");
        if (f == NULL) {
            fprintf(stderr, "ntos host: cannot open NTOS_REGISTRY_FILE %s\n", regFile);
            _exit(HOST_EXIT_SETUP);
        }
        static char *text;
        size_t cap = 0, len = 0, n;
        char chunk[4096];
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            if (len + n > cap) {
                cap = (len + n) * 2;
                text = realloc(text, cap);
                if (text == NULL)
                    _exit(HOST_EXIT_SETUP);
            }
            memcpy(text + len, chunk, n);
            len += n;
        }
        fclose(f);
        CmSetBootRegistryText(text, len);
    }

    /* CPU 0 continues as the boot thread at PASSIVE_LEVEL. */
    PKPCR pcr = KeGetPcr();
    PCR_IFLAG(pcr) = 1;
    arch_set_irql(PASSIVE_LEVEL);
    KiSystemStartupPhase1();
}
