/*
 * The arch interface: the only thing the portable kernel in src/ knows about the
 * machine. Two backends implement it: host/ (a Linux process, one pthread per
 * virtual CPU) and arch/x86_64/ (bare metal). Keep it small; every hook states
 * who may call it, at which IRQL and with interrupts on or off.
 *
 * Model shared by both backends
 * -----------------------------
 * - Each processor has a KPCR reached through the GS base (see kpcr.h). The
 *   IRQL is the processor's CR8: 0..15, a vector's level is vector >> 4. The
 *   backend writes KPCR.Irql (gs:[0x50]) along with it; on bare metal driver
 *   code changes CR8 inline, so there only CR8 is authoritative
 *   (arch_get_irql, arch_get_irql_inline).
 * - Interrupts are delivered only when (a) the processor's interrupt flag is set
 *   and (b) the interrupt's level is above the current IRQL. An interrupt that
 *   arrives otherwise stays pending; it is never lost and never runs early.
 * - Delivering an interrupt of level L means: save the IRQL, set it to L, call
 *   the kernel's upcall (KiClockInterrupt, KiIpiInterrupt or
 *   KiSoftwareInterrupt) on the current stack with interrupts enabled, then
 *   restore the saved IRQL (which may in turn deliver lower pending ones). So an
 *   upcall may block-switch (the DISPATCH_LEVEL software interrupt is where the
 *   scheduler switches threads): the interrupted thread resumes inside the
 *   upcall later, returns, and its IRQL is restored then.
 * - On the host backend, interrupts are taken only at interruptible points:
 *   arch_set_irql lowering, arch_restore_interrupts/arch_enable_interrupts,
 *   arch_idle, arch_pause and arch_stall. Kernel code never runs
 *   inside a Linux signal handler. A CPU-bound loop that wants to be preemptible
 *   on the host must call one of these (spin and stall loops always do).
 */
#ifndef NTOS_ARCH_H
#define NTOS_ARCH_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/kpcr.h>

/* Bumped whenever a hook is added, removed or changes its contract. */
#define NTOS_ARCH_INTERFACE_VERSION 3

#define ARCH_MAX_CPUS 64

/* ---- processors -------------------------------------------------------------
 * The current processor's KPCR is KeGetPcr() (gs:[0x18]); these give the rest. */

/* Number of processors started. Any IRQL. */
ULONG arch_processor_count(void);
/* KPCR of processor `Number` (< arch_processor_count()). Any IRQL. */
PKPCR arch_processor_pcr(ULONG Number);

/* ---- IRQL -------------------------------------------------------------------- */

/* Current IRQL. Any IRQL. */
KIRQL arch_get_irql(void);
/*
 * Sets the IRQL (raise or lower; no checks — Ke validates direction). When it
 * lowers, every pending interrupt whose level is above the new IRQL is
 * delivered, highest first, before this returns (if interrupts are enabled).
 */
void arch_set_irql(KIRQL NewIrql);

/* ---- interrupt flag ------------------------------------------------------------ */

/* Disables interrupts on this processor; returns the previous state for
 * arch_restore_interrupts. Any IRQL. */
ULONG_PTR arch_disable_interrupts(void);
/* Restores a state from arch_disable_interrupts; if that enables interrupts,
 * pending deliverable interrupts are taken. */
void arch_restore_interrupts(ULONG_PTR State);
void arch_enable_interrupts(void);
BOOLEAN arch_interrupts_enabled(void);

/* ---- software interrupts and IPIs ---------------------------------------------- */

/*
 * Requests the APC_LEVEL or DISPATCH_LEVEL software interrupt on this processor.
 * It is delivered (KiSoftwareInterrupt(Level)) when the IRQL drops below Level
 * with interrupts enabled; requesting one already pending is a no-op. Any IRQL.
 */
void arch_request_software_interrupt(KIRQL Level);
/* Cancels a pending software interrupt on this processor (e.g. the scheduler
 * found nothing to do). Interrupts disabled or IRQL >= Level. */
void arch_clear_software_interrupt(KIRQL Level);

/* IPI kinds, a bit mask; the receiving processor gets KiIpiInterrupt(Kinds) at IPI_LEVEL. */
#define ARCH_IPI_DPC        0x1 /* run the DPC queue: request DISPATCH_LEVEL */
#define ARCH_IPI_RESCHEDULE 0x2 /* re-evaluate the ready queues */
#define ARCH_IPI_CALL       0x4 /* run the kernel's cross-processor call */
#define ARCH_IPI_FREEZE     0x8 /* bug check in progress: stop */
#define ARCH_IPI_APC        0x10 /* deliver kernel APCs: request APC_LEVEL */
/* Sends an IPI to every processor in Targets (the sender may be included). Any IRQL. */
void arch_send_ipi(KAFFINITY Targets, ULONG Kinds);

/* ---- thread contexts ----------------------------------------------------------- */

/*
 * Saved machine context of a kernel thread (stack, callee-saved registers,
 * sanitizer fiber handles on the host). Opaque to the portable kernel, embedded
 * in its thread object.
 */
typedef struct _KARCH_CONTEXT {
    ULONG_PTR Opaque[16];
} KARCH_CONTEXT, *PKARCH_CONTEXT;

typedef void (*PKARCH_CONTEXT_ENTRY)(PVOID Argument);

/*
 * Creates a context with its own stack (StackSize bytes, a guard page below it)
 * that, when first switched to, calls Entry(Argument) with the IRQL and interrupt
 * flag the switching code left. Entry must never return (the backend bug-checks
 * if it does). PASSIVE_LEVEL. Returns STATUS_INSUFFICIENT_RESOURCES on failure.
 */
NTSTATUS arch_context_create(PKARCH_CONTEXT Context, SIZE_T StackSize, PKARCH_CONTEXT_ENTRY Entry,
                             PVOID Argument);
/* Frees a context's stack. The context must not be running or be the current one. */
void arch_context_destroy(PKARCH_CONTEXT Context);
/*
 * Describes the context of code already running on this processor (its boot
 * stack) so it can be switched away from and back to. Called once per processor
 * by the kernel for its initial thread.
 */
void arch_context_init_current(PKARCH_CONTEXT Context);
/*
 * Saves the current machine state into From and resumes To, possibly one last
 * saved on another processor. Returns when some processor switches back to From.
 * Called with IRQL >= DISPATCH_LEVEL; IRQL and interrupt flag are per processor,
 * not per context, so they carry over the switch unchanged.
 */
void arch_context_switch(PKARCH_CONTEXT From, PKARCH_CONTEXT To);
/* Bounds of a context's stack, for IoGetStackLimits and checks. */
void arch_context_stack(PKARCH_CONTEXT Context, ULONG_PTR *Low, ULONG_PTR *High);

/* ---- clock ----------------------------------------------------------------------- */

/*
 * Programs this processor's clock interrupt: periodic with the given period, or a
 * single shot at an absolute interrupt time (100 ns units of arch_interrupt_time).
 * KiClockInterrupt() is called at CLOCK_LEVEL when it fires. A zero period
 * stops a periodic clock. Any IRQL.
 */
void arch_clock_set_periodic(ULONG64 Period100ns);
void arch_clock_set_oneshot(ULONG64 DeadlineInterruptTime);

/* ---- time ------------------------------------------------------------------------- */

/* Monotonic time since boot in 100 ns units (interrupt time). Any IRQL. In the
 * host's virtual-time mode it moves only when the backend advances it. */
ULONG64 arch_interrupt_time(void);
/* Wall-clock time at boot, as 100 ns units since 1601-01-01 UTC. */
ULONG64 arch_boot_system_time(void);
/* A cycle-like counter and its frequency (Hz), for KeQueryPerformanceCounter. */
ULONG64 arch_cycle_counter(void);
ULONG64 arch_cycle_frequency(void);

/* ---- waiting ---------------------------------------------------------------------- */

/* Spin-loop hint; also an interruptible point on the host. Any IRQL. */
void arch_pause(void);
/* Busy-waits for at least Delta100ns of interrupt time, taking interrupts
 * that are deliverable meanwhile (in virtual time it advances the clock
 * instead of spinning, or a stall could never end). Any IRQL. */
void arch_stall(ULONG64 Delta100ns);
/*
 * Like `sti; hlt`: enables interrupts and halts until an interrupt or an
 * arch_wake arrives, delivers what is deliverable and returns with interrupts
 * enabled. Returns at once if something is already pending. May return
 * spuriously; the idle loop re-checks its work and calls it again. Called with
 * interrupts disabled (so a wake between the check and the halt is not lost).
 */
void arch_idle(void);
/* Wakes processors in arch_idle without other effect (a no-op IPI). */
void arch_wake(KAFFINITY Targets);

/* ---- memory ---------------------------------------------------------------------------
 * Mm owns the page tables (x86_64 4-level format, built by portable code in
 * src/mm/); the backend supplies physical memory, a way to reach it, the
 * virtual range Mm may map into, and the "MMU": after Mm edits a PTE it calls
 * arch_flush_translation, which on bare metal invalidates the TLB (and shoots
 * down other processors) and on the host re-syncs the process's mapping of
 * those pages from the page tables, so kernel C code can dereference them. */

#define ARCH_PAGE_SIZE 4096ULL
#define ARCH_PAGE_SHIFT 12

typedef enum _ARCH_MEMORY_TYPE {
    ArchMemoryFree = 1,      /* RAM the kernel may manage */
    ArchMemoryInUse = 2,     /* RAM already used by the boot image / loader data */
    ArchMemoryDevice = 3,    /* device (MMIO) space: MmMapIoSpace targets */
} ARCH_MEMORY_TYPE;

typedef struct _ARCH_MEMORY_DESCRIPTOR {
    ULONG64 BasePage;  /* physical page number */
    ULONG64 PageCount;
    ULONG Type;        /* ARCH_MEMORY_TYPE */
    ULONG Reserved;
} ARCH_MEMORY_DESCRIPTOR, *PARCH_MEMORY_DESCRIPTOR;

/* The physical memory map handed over at boot, sorted by BasePage, not
 * overlapping. Any IRQL. */
ULONG arch_memory_map(const ARCH_MEMORY_DESCRIPTOR **Descriptors);
/* A pointer through which the kernel reads and writes physical memory (RAM
 * and device space) at PhysicalAddress: the direct map. NULL if the address
 * is not in the memory map. Any IRQL. */
PVOID arch_physical_pointer(ULONG64 PhysicalAddress);
/* The virtual range Mm manages for system mappings (system PTEs, pool,
 * mapped I/O space): page-aligned, at least 1 GB, 1 GB aligned. */
void arch_system_va_range(ULONG_PTR *Base, SIZE_T *Size);
/* Installs the page table root (physical address of the PML4) that
 * translations of the system range come from. */
void arch_set_page_table_root(ULONG64 Pml4Physical);
/* Makes every processor see the current PTEs for [Va, Va + Pages pages) of the
 * system range. Called after each change, with any locks Mm needs held, at
 * IRQL <= DISPATCH_LEVEL. */
void arch_flush_translation(ULONG_PTR Va, SIZE_T Pages);

/* ---- console and exit --------------------------------------------------------------- */

/* Writes raw bytes to the early console (serial on bare metal, stderr on the
 * host). Any IRQL; serialised by the backend so lines do not interleave mid-write. */
void arch_console_write(const char *Text, SIZE_T Length);
/* Stops the system with an exit code (QEMU's isa-debug-exit, or exit() on the host). */
DECLSPEC_NORETURN void arch_system_exit(int Code);
/* Stops every processor after a bug check; never returns. */
DECLSPEC_NORETURN void arch_halt_system(void);

/* ---- non-local exit -------------------------------------------------------------------
 * Used to unwind to a bug check catch frame (tests) and by the self-test runner
 * to abandon a failed test. ARCH_SETJMP saves into a buffer of ARCH_JMP_BUF_WORDS
 * pointers; arch_longjmp resumes there with ARCH_SETJMP returning 1. On the host
 * these are the C library's _setjmp/longjmp, which the sanitizers intercept so
 * the abandoned stack is unpoisoned; on bare metal the compiler builtins. */
#define ARCH_JMP_BUF_WORDS 32
#if defined(NTOS_HOST)
/* The C library's _setjmp under another C name, so this header needs no libc
 * header and does not clash with <setjmp.h> where both are included. */
extern int arch_host_setjmp(void *Buffer) __asm__("_setjmp") __attribute__((returns_twice));
#define ARCH_SETJMP(buf) arch_host_setjmp((void *)(buf))
#else
#define ARCH_SETJMP(buf) __builtin_setjmp((void **)(buf))
#endif
DECLSPEC_NORETURN void arch_longjmp(void **Buffer);

/* Called by the kernel from KiProcessorStartup once the processor's own state
 * (KPRCB, idle thread) is initialised and other processors may look at it;
 * the boot processor's host_boot/KiSystemStartup does not let the system run
 * on before every processor has reported. Interrupts disabled, HIGH_LEVEL. */
void arch_processor_ready(void);

/* ---- upcalls: implemented by the portable kernel, called by the backend ---------------- */

/* The clock interrupt, at CLOCK_LEVEL. */
void KiClockInterrupt(void);
/* The APC_LEVEL or DISPATCH_LEVEL software interrupt, at that level. */
void KiSoftwareInterrupt(KIRQL Level);
/* An inter-processor interrupt, at IPI_LEVEL. */
void KiIpiInterrupt(ULONG Kinds);
/* Entry of every processor after the backend set up its KPCR and GS base, at
 * HIGH_LEVEL with interrupts disabled, on the processor's boot stack. On the
 * boot processor (0) it returns and the boot path continues; on the others it
 * never returns (it becomes the processor's idle loop). */
void KiProcessorStartup(ULONG Number);

/* Called by the backend on the boot processor once every processor has
 * reported ready, at PASSIVE_LEVEL with interrupts enabled, before anything
 * else runs: initialises the executive (object manager, security, processes,
 * executive objects). Bug-checks PHASE1_INITIALIZATION_FAILED on failure. */
void KiSystemStartupPhase1(void);

/* ---- boot modules and command line (modules stream) --------------------------------
 * Payloads handed to the kernel at boot (test drivers, a registry file, later
 * user programs) and the kernel command line. Host: NTOS_BOOT_MODULES, a
 * colon-separated list of file paths read into memory once at boot (name =
 * the path's last component), and NTOS_BOOT_COMMAND_LINE. Bare metal: the
 * QEMU -initrd payload; a newc cpio archive gives one module per regular
 * member (name = the member's last path component), anything else is one
 * module named "initrd"; the command line is QEMU's -append text. A
 * malformed archive is reported on the console and gives no modules.
 * The data stays mapped and unchanged for the life of the system; any IRQL
 * once the backend has booted. */
typedef struct _ARCH_BOOT_MODULE {
    const char *Name;   /* NUL-terminated, never NULL */
    const void *Data;
    SIZE_T Size;
} ARCH_BOOT_MODULE;
ULONG arch_boot_module_count(void);
/* FALSE (Module untouched) when Index >= arch_boot_module_count(). */
BOOLEAN arch_boot_module(ULONG Index, ARCH_BOOT_MODULE *Module);
/* The kernel command line, "" when there is none; never NULL. */
const char *arch_boot_command_line(void);

/* ---- inline IRQL read (modules stream) ----------------------------------------------
 * arch_get_irql without the call, for hot paths (the pool's IRQL checks). On
 * bare metal CR8 itself: driver code built with the WDK changes CR8 with an
 * inline `mov cr8`, which leaves KPCR.Irql (gs:[0x50]) stale there. On the
 * host the emulated CR8 is KPCR.Irql. Any IRQL. */
static inline KIRQL arch_get_irql_inline(void)
{
    KIRQL irql;
#if defined(NTOS_HOST)
    __asm__ volatile("movb %%gs:0x50, %0" : "=q"(irql));
#else
    unsigned long long cr8;
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    irql = (KIRQL)cr8;
#endif
    return irql;
}

/* ---- device interrupts (modules stream) -----------------------------------------------
 * Device interrupts arrive at vectors ARCH_DEVICE_VECTOR_FIRST..LAST, at IRQL
 * vector >> 4 (3..12, the device IRQLs), with the same delivery protocol as
 * the other interrupts (save IRQL, raise, EOI, interrupts on, upcall
 * KiDeviceInterrupt, restore). Ke keeps the interrupt objects connected to
 * each vector and calls these hooks to turn the source on and off. */
#define ARCH_DEVICE_VECTOR_FIRST 0x30
#define ARCH_DEVICE_VECTOR_LAST 0xCF
/* The vector, IRQL and processors a legacy ISA IRQ (0-15) is delivered at,
 * following the firmware's interrupt source overrides; FALSE when the IRQ
 * has no route (the host has no ISA devices). Any IRQL. */
BOOLEAN arch_isa_interrupt_vector(ULONG Irq, ULONG *Vector, KIRQL *Irql, KAFFINITY *Affinity);
/* Unmasks (Enable) or masks the interrupt input routed to Vector, with the
 * trigger mode Ke connected it with (0 = level, 1 = edge: KINTERRUPT_MODE).
 * FALSE when Vector is not a device vector this backend can deliver. Called
 * by Ke with its vector lock held (IRQL = the vector's). */
BOOLEAN arch_device_interrupt_enable(ULONG Vector, BOOLEAN Enable, ULONG Mode);
/* Upcall: a device interrupt at Vector, at IRQL Vector >> 4. */
void KiDeviceInterrupt(ULONG Vector);

/* ---- the kernel image (ldr) ------------------------------------------------------------ */

/* The virtual range the kernel's own image occupies (host: the executable's
 * ELF mapping from its first byte to _end; bare metal: the kernel ELF's
 * text..end), which Ldr lists as ntoskrnl.exe, the first entry of
 * PsLoadedModuleList. Any IRQL. */
void arch_kernel_image_range(ULONG_PTR *Base, SIZE_T *Size);

/* ---- loaded images (hostemu) ------------------------------------------------------------
 * The loader tells the backend where it mapped an image's code and data, before
 * the image first runs and after it last ran. The host backend registers the
 * range as foreign code: driver instructions that a Linux process may not execute
 * (mov to/from CR8, loads from KUSER_SHARED_DATA at 0xFFFFF78000000000) are
 * emulated when they fault there, and any other fault or privileged instruction
 * there is reported (module + offset) instead of crashing the host. Bare metal
 * needs nothing: the processor executes those instructions itself. Name is
 * copied (a base name for reports). PASSIVE_LEVEL. */
VOID arch_image_mapped(PVOID Base, SIZE_T Size, PCSTR Name);
VOID arch_image_unmapped(PVOID Base);

/* ---- unwinding the kernel's own code (seh) ------------------------------------------------ */

/* The kernel image's .eh_frame_hdr (version byte, pointer encodings, the
 * sorted initial-location -> FDE table), through which src/rtl/unwind_dwarf.c
 * unwinds kernel ELF frames; NULL if the image has none. Host: found through
 * the executable's PT_GNU_EH_FRAME program header; bare metal: the section
 * boot/kernel.ld keeps. Any IRQL. */
const UCHAR *arch_kernel_eh_frame_hdr(void);

/* ---- verification: scheduling points and lock events ---------------------------------
 * arch_sched_point(Kind, Object) marks a place where real hardware could
 * interleave another processor (or a lock event the lock-order checker wants to
 * see). Bare metal: an empty inline. Host: one predictable branch on a flag
 * that is set only in virtual-time mode (or with NTOS_LOCKDEP=1), so the
 * benchmarks pay nothing; when set, host/explore.c lets the decision function
 * switch virtual CPUs here and feeds the lock-order checker. Callable at any
 * IRQL, with interrupts on or off, with locks held. */
#define ARCH_SP_SPIN_ACQUIRE     1  /* about to acquire a spin lock (Object = lock) */
#define ARCH_SP_SPIN_ACQUIRED    2  /* now holds it */
#define ARCH_SP_SPIN_RELEASE     3  /* released it */
#define ARCH_SP_IRQL_RAISE       4
#define ARCH_SP_SIGNAL           5  /* dispatcher object signalled (Object = object) */
#define ARCH_SP_WAIT             6  /* about to wait (Object = first object) */
#define ARCH_SP_DPC_INSERT       7
#define ARCH_SP_DPC_REMOVE       8
#define ARCH_SP_TIMER_INSERT     9
#define ARCH_SP_TIMER_REMOVE     10
#define ARCH_SP_IO_CALL          11 /* IoCallDriver (Object = IRP) */
#define ARCH_SP_IO_COMPLETE      12
#define ARCH_SP_IO_CANCEL        13
#define ARCH_SP_POOL_ALLOC       14
#define ARCH_SP_POOL_FREE        15
#define ARCH_SP_STALL            16
#define ARCH_SP_INTERLOCKED      17 /* Interlocked / SLIST operation (Object = target) */
#define ARCH_SP_MUTEX_ACQUIRE    18 /* waitable locks: fast/guarded mutex, ERESOURCE, push lock */
#define ARCH_SP_MUTEX_ACQUIRED   19
#define ARCH_SP_MUTEX_RELEASE    20
#define ARCH_SP_RAW_ACQUIRE      21 /* unchecked lock (dispatcher, DPC queue): a point only */
#define ARCH_SP_RAW_RELEASE      22
#define ARCH_SP_APC_INSERT       23 /* KeInsertQueueApc (Object = APC) */
#define ARCH_SP_APC_REMOVE       24 /* KeRemoveQueueApc, KiDeliverApc taking one (Object = APC / thread) */
#define ARCH_SP_LOCK_TRY         25 /* about to try-acquire a checked lock: a point, no lock-order edge */
#define ARCH_SP_LOCK_OWNER       26 /* the thread's next ACQUIRED/RELEASE acts for owner Object (bookkeeping) */
#define ARCH_SP_KINDS            27
#if defined(NTOS_HOST)
extern volatile int arch_sched_points_on;
void arch_sched_point_slow(ULONG Kind, const void *Object);
static inline void arch_sched_point(ULONG Kind, const void *Object)
{
    if (__builtin_expect(arch_sched_points_on, 0))
        arch_sched_point_slow(Kind, Object);
}
#else
static inline void arch_sched_point(ULONG Kind, const void *Object)
{
    (void)Kind;
    (void)Object;
}
#endif

/* ---- verification: the scheduler's free choices ------------------------------------
 * arch_sched_choice(Kind, Choices) is called where NT's scheduling rules leave
 * the kernel a choice among Choices equally valid alternatives, numbered so
 * that 0 is the one the scheduler takes by default. Bare metal: always 0.
 * Host: 0 except while the interleaving explorer runs a scenario, when its
 * decision function chooses (so schedules differ there too, and replay
 * reproduces them). Dispatcher lock held. */
#define ARCH_CHOICE_IDLE_PROCESSOR  1 /* which idle processor gets a readied thread */
#define ARCH_CHOICE_PREEMPT_VICTIM  2 /* which of equally low-priority processors is preempted */
#define ARCH_CHOICE_READY_QUEUE     3 /* which processor's ready queue takes a thread */
#if defined(NTOS_HOST)
ULONG arch_sched_choice_slow(ULONG Kind, ULONG Choices);
static inline ULONG arch_sched_choice(ULONG Kind, ULONG Choices)
{
    if (__builtin_expect(arch_sched_points_on, 0) && Choices > 1)
        return arch_sched_choice_slow(Kind, Choices);
    return 0;
}
#else
static inline ULONG arch_sched_choice(ULONG Kind, ULONG Choices)
{
    (void)Kind;
    (void)Choices;
    return 0;
}
#endif

#endif /* NTOS_ARCH_H */
