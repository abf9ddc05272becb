/*
 * Bare-metal x86_64 backend internals shared by the files in arch/x86_64/.
 * Not visible to src/.
 *
 * Vectors and IRQLs: a vector's IRQL is vector >> 4 (the local APIC's
 * priority class, which CR8 masks), so each interrupt source gets a vector
 * in its level's class: the clock 0xD1 (CLOCK_LEVEL 13), IPIs 0xE1 and the
 * no-op wake-up 0xE2 (IPI_LEVEL 14), spurious 0xFF. APC_LEVEL and
 * DISPATCH_LEVEL software interrupts are self-IPIs at 0x1F and 0x2F (the
 * Windows vectors; 0x1F shares its IDT slot with reserved exception 31,
 * which the processor never raises), see cpu.c.
 */
#ifndef NTOS_X86_H
#define NTOS_X86_H

#include <ntos/ntdef.h>
#include <ntos/arch.h>
#include <ntos/ke.h>
#include <ntos/rtl.h>
#include "loader.h"

#define KERNEL_VMA 0xFFFFFFFF80000000ULL
#define DIRECT_MAP_BASE 0xFFFF800000000000ULL   /* PML4 slot 256: all physical memory */
#define SYSTEM_VA_BASE 0xFFFFA00000000000ULL    /* PML4 slot 320: Mm's system range */
#define SYSTEM_VA_BYTES (64ULL << 30)
#define KUSER_SHARED_DATA_VA 0xFFFFF78000000000ULL /* PML4 slot 495: one read-only page */
#define STACK_VA_BASE 0xFFFFFE0000000000ULL     /* PML4 slot 508: kernel stacks */

#define VECTOR_APC 0x1F
#define VECTOR_DPC 0x2F
#define X86_ISA_VECTOR_BASE 0x50   /* ISA IRQ n -> 0x50 + n, IRQL 5 (apic.c) */
#define VECTOR_CLOCK 0xD1
#define VECTOR_IPI 0xE1
#define VECTOR_WAKE 0xE2
#define VECTOR_TLB 0xE3
#define VECTOR_SPURIOUS 0xFF

#define GDT_KERNEL_CODE 0x10
#define GDT_KERNEL_DATA 0x18
#define GDT_USER32_CODE 0x20
#define GDT_USER_DATA 0x28
#define GDT_USER64_CODE 0x30
#define GDT_TSS 0x40

#define MSR_EFER 0xC0000080
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define MSR_APIC_BASE 0x1B
#define MSR_PAT 0x277

/* Software interrupt pending bits and the wake flag in KPCR.HalReserved[0]
 * (bit L = level L pending; bit 0 = wake), IPI kinds in HalReserved[2]. */
#define PCR_PENDING(pcr) (&(pcr)->HalReserved[0])
#define PCR_IPI_KINDS(pcr) (&(pcr)->HalReserved[2])
#define PENDING_WAKE 1u

/* The trap frame the entry stubs build (trap.S) is the Windows x64
 * KTRAP_FRAME, with ntos's KTRAP_EXTENSION (vector, r12-r15) below it. */
#include <ntos/ktrap.h>

/* The kernel debugger's first look at a processor exception (where Windows
 * calls KiDebugRoutine): when set, it sees every exception's trap frame
 * before the frame-based handlers; TRUE means handled, resume the (possibly
 * edited) frame. Tests use it to inspect frames. */
typedef BOOLEAN (*X86_DEBUG_TRAP_HOOK)(PKTRAP_FRAME TrapFrame, PKTRAP_EXTENSION Extension);
extern X86_DEBUG_TRAP_HOOK volatile x86_debug_trap_hook;

typedef struct _X86_CPU {
    ULONG Number;
    ULONG ApicId;
    volatile LONG Started;
    PKPCR Pcr;
    ULONG64 ClockTicks;
} X86_CPU;

extern X86_CPU x86_cpus[ARCH_MAX_CPUS];
extern ULONG x86_cpu_count;
extern PLOADER_PARAMETER_BLOCK x86_loader_block;
extern BOOLEAN x86_has_smep, x86_has_smap;
extern BOOLEAN x86_fpu_xsave;          /* XSAVE in use (else FXSAVE) */
extern ULONG64 x86_fpu_xcr0;           /* XCR0 when XSAVE is in use */
extern ULONG64 x86_fpu_area_bytes;     /* per-thread save area, multiple of 64 */

static inline void outb(USHORT port, UCHAR v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline UCHAR inb(USHORT port) { UCHAR v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(USHORT port, ULONG v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline ULONG64 rdmsr(ULONG msr)
{
    ULONG lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((ULONG64)hi << 32) | lo;
}
static inline void wrmsr(ULONG msr, ULONG64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((ULONG)v), "d"((ULONG)(v >> 32)) : "memory");
}
static inline ULONG64 rdtsc(void)
{
    ULONG lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((ULONG64)hi << 32) | lo;
}
static inline void cpuid(ULONG leaf, ULONG sub, ULONG *a, ULONG *b, ULONG *c, ULONG *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline ULONG64 read_cr2(void) { ULONG64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline ULONG64 read_cr3(void) { ULONG64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(ULONG64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline ULONG64 read_cr4(void) { ULONG64 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr4(ULONG64 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline ULONG64 read_cr0(void) { ULONG64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr0(ULONG64 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline ULONG64 read_flags(void) { ULONG64 f; __asm__ volatile("pushfq; popq %0" : "=r"(f) : : "memory"); return f; }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void invlpg(ULONG_PTR va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* serial.c */
void x86_serial_init(USHORT Port);
void x86_print(const char *Format, ...) __attribute__((ms_abi));

/* cpu.c */
void x86_cpu_init(ULONG Number);
void x86_software_interrupt(ULONG Vector, KIRQL Saved);
void x86_interrupt_exit(KIRQL Saved);

/* trap.c, trap.S */
void x86_idt_init(void);
void x86_idt_load(void);
PVOID x86_idt_base(void);
void x86_backtrace(ULONG64 Rip, ULONG64 Rbp);
const char *x86_symbol_name(ULONG64 Address, ULONG64 *Offset);

/* memory.c */
void x86_memory_init(PLOADER_PARAMETER_BLOCK Lb);
void x86_memory_enable_current(void);
ULONG64 x86_kernel_root(void);
PVOID x86_phys(ULONG64 Physical);
BOOLEAN x86_stack_allocate(SIZE_T Bytes, ULONG_PTR *Low, ULONG_PTR *High, ULONG *Slot);
void x86_stack_free(ULONG Slot);
void x86_tlb_shootdown_handler(void);

/* apic.c */
void x86_acpi_init(PLOADER_PARAMETER_BLOCK Lb);
void x86_apic_init_cpu(void);
void x86_apic_eoi(void);
void x86_apic_send(ULONG ApicId, ULONG Vector);
void x86_apic_send_self(ULONG Vector);
void x86_apic_timer_calibrate(void);
void x86_apic_start_processors(void);
ULONG x86_apic_id(void);

/* time.c */
void x86_time_init(void);
ULONG64 x86_tsc_to_100ns(ULONG64 Ticks);
ULONG64 x86_tsc_hz(void);
void x86_pit_wait_start(ULONG Microseconds);
BOOLEAN x86_pit_done(void);

/* bootmodules.c */
void x86_boot_modules_init(PLOADER_PARAMETER_BLOCK Lb);

/* startup.c */
const char *x86_cmdline_value(const char *Key);
BOOLEAN x86_cmdline_flag(const char *Key);

#endif /* NTOS_X86_H */
