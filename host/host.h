/*
 * Host backend: the arch interface implemented inside a Linux process.
 *
 * Each virtual CPU is a pthread whose GS base points at its KPCR. Kernel
 * threads are contexts with their own stacks that the backend switches on
 * whichever CPU thread runs them (the backend owns every switch). Interrupts
 * (clock, IPIs, software interrupts) are pending bits in the KPCR that the
 * raising side (the CPU's clock signal handler, another CPU) sets atomically,
 * waking the target if it is halted; they are taken at interruptible points,
 * never asynchronously in the middle of kernel code.
 *
 * Clock modes
 *  - real time: a tick thread signals each CPU's thread when its tick is due.
 *  - virtual time (deterministic): no clock thread; one CPU runs at a time holding
 *    the run token, every choice (which CPU runs next, when the clock fires)
 *    is made by host_decide(), and time only moves when every CPU is idle or
 *    a test advances it. Same seed, same decisions.
 */
#ifndef NTOS_HOST_H
#define NTOS_HOST_H

#include <ntos/ntdef.h>
#include <ntos/arch.h>

typedef struct _NTOS_HOST_CONFIG {
    ULONG Cpus;           /* virtual CPUs, 1..ARCH_MAX_CPUS */
    BOOLEAN VirtualTime;  /* deterministic mode */
    ULONG64 Seed;         /* decision seed for virtual-time mode */
} NTOS_HOST_CONFIG;

/* Fills a config from NTOS_CPUS, NTOS_VIRTUAL_TIME and NTOS_SEED in the environment, with defaults 1 CPU, real time. */
void host_config_from_environment(NTOS_HOST_CONFIG *Config);

/*
 * Boots the host machine: the calling thread becomes CPU 0, the other CPUs
 * start and enter KiProcessorStartup. Returns on CPU 0 after its
 * KiProcessorStartup returned, at PASSIVE_LEVEL with interrupts enabled.
 * Called once per process.
 */
void host_boot(const NTOS_HOST_CONFIG *Config);
BOOLEAN host_booted(void);

/* Interrupt-pending bit for a level, kept in KPCR.HalReserved[0]. */
#define HOST_PENDING(level) (1u << (level))

/*
 * The decision seam. Every nondeterministic choice of the virtual-time mode is
 * one call: Kind says what is being decided, the result is in [0, Choices).
 * In real-time mode it is never called. A later explorer replaces the policy
 * (random, PCT, bounded exhaustive, replay) behind this one function.
 */
enum host_decision_kind {
    HOST_DECIDE_RUN_CPU = 1,   /* which runnable CPU gets the token next */
    HOST_DECIDE_FIRE_CLOCK,    /* 1 = fire a clock interrupt at this point */
    HOST_DECIDE_READY_CHOICE,  /* a free choice of the scheduler (arch_sched_choice; 0 = default) */
    HOST_DECIDE_FIRE_DEVICE,   /* 0 = deliver an asserted device interrupt at this point */
};
typedef ULONG (*host_decide_fn)(void *Context, ULONG Kind, ULONG Choices);
ULONG host_decide(ULONG Kind, ULONG Choices);
void host_set_decider(host_decide_fn Fn, void *Context);
/* Hash of every decision made so far (for same-seed-same-run self-checks). */
ULONG64 host_decision_trace_hash(void);
ULONG64 host_decision_count(void);

/* Virtual time: moves the clock forward (delivering due clock interrupts as
 * CPUs reach interruptible points). Only meaningful in virtual-time mode. */
void host_advance_time(ULONG64 Delta100ns);
BOOLEAN host_virtual_time(void);

/*
 * A simulated interrupt line (host/devinterrupt.c): a device raises Vector
 * (ARCH_DEVICE_VECTOR_FIRST..LAST, IRQL Vector >> 4) towards virtual CPU Cpu,
 * and the CPU takes it through KiDeviceInterrupt at the vector's IRQL, as the
 * bare-metal backend does when the IOAPIC fires. The line is latched: raising
 * it again before the CPU took it is one interrupt. Real time: the vector is
 * pending at once and taken at the CPU's next interruptible point where it is
 * unmasked (the target is woken if idle). Virtual time: at each interruptible
 * point of the target where the vector is unmasked, a HOST_DECIDE_FIRE_DEVICE
 * decision says whether it arrives now; it arrives at the latest when the CPU
 * lowers its IRQL below the vector's level or re-enables interrupts after
 * having had it masked, or idles. Any IRQL, from code running on a virtual
 * CPU; FALSE (nothing raised) for a bad vector or CPU, or before boot.
 */
BOOLEAN host_device_assert(ULONG Vector, ULONG Cpu);
/* Device interrupts delivered by the backend so far (all CPUs). */
ULONG64 host_device_interrupts(void);

/* Current CPU number, from the GS base. */
ULONG host_current_cpu(void);
/* An interruptible point: takes pending deliverable interrupts, and in
 * virtual-time mode lets the decision function switch CPUs or fire the clock. */
void host_interruptible_point(void);

/* Counters kept by the backend, for tests and benchmarks. */
ULONG64 host_clock_ticks(ULONG Cpu);
ULONG64 host_context_switches(void);

/* ---- foreign code (host/privileged.c) ----------------------------------------------------
 * Code that was not compiled for this process (PE driver images, test machine
 * code) runs natively; what it cannot do in a Linux process faults and is handled
 * by the backend's SIGSEGV/SIGILL/SIGBUS/SIGFPE/SIGTRAP handlers, but only when the
 * faulting RIP is in a registered range (anything else goes to the handler that
 * was installed before, e.g. the sanitizer's):
 *  - mov reg, cr8: the current IRQL, in the handler (a load of KPCR.Irql).
 *  - mov cr8, reg: resumed in a trampoline on the thread's own stack that calls
 *    KfRaiseIrql/KeLowerIrql (so lowering delivers pending DPCs and APCs, and may
 *    switch threads), then restores every register and returns after the mov.
 *  - loads from KUSER_SHARED_DATA (0xFFFFF78000000000, one page): served from the
 *    kernel's copy (KiUserSharedData), in the handler.
 *  - other privileged instructions: a report (bytes, RIP, module+offset), then
 *    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, STATUS_PRIVILEGED_INSTRUCTION, RIP, 0, 0).
 *  - faults (bad load/store, int3, ud2, divide): an EXCEPTION_RECORD + CONTEXT
 *    handed to KiDispatchException on the thread's own stack; if it returns, the
 *    (possibly changed) CONTEXT is resumed.
 * host_claim_fault_signals is idempotent and any thread may call it; it puts the
 * handlers back if something replaced them since (CMocka installs its own around
 * every test function and fixture, so a CMocka test that runs foreign code calls
 * it in the test body; registering a range also calls it). Register and
 * unregister at PASSIVE_LEVEL; Name is copied. */
void host_claim_fault_signals(void);
void host_register_foreign_code(ULONG_PTR Base, SIZE_T Size, const char *Name);
void host_unregister_foreign_code(ULONG_PTR Base);
/* A first look at foreign-code exceptions, before KiDispatchException: for tests
 * of the resume path and for debugging tools. Called on the faulting thread's
 * stack at the faulting IRQL; returning TRUE resumes *Context (which the filter
 * may have changed), FALSE dispatches normally. NULL removes it. */
struct _EXCEPTION_RECORD;
struct _CONTEXT;
typedef BOOLEAN (*host_foreign_filter_fn)(struct _EXCEPTION_RECORD *Record, struct _CONTEXT *Context);
void host_set_foreign_exception_filter(host_foreign_filter_fn Filter);
/* Counters for tests: instructions emulated in the handler, trampolines run. */
ULONG64 host_foreign_emulations(void);
ULONG64 host_foreign_trampolines(void);

#endif /* NTOS_HOST_H */
