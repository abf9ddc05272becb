/*
 * Host backend: running foreign code (PE driver images, test machine code) natively
 * in the hosted kernel's Linux process, and emulating what a ring-3 process cannot do.
 *
 * What faults, and why
 *  - mov reg, cr8 / mov cr8, reg: CR8 is the IRQL on x64 and the WDK inlines
 *    KeGetCurrentIrql, KeRaiseIrql and KeLowerIrql as these moves. In ring 3 they
 *    raise #GP (SIGSEGV).
 *  - loads from KUSER_SHARED_DATA at 0xFFFFF78000000000: the WDK inlines
 *    KeQueryTickCount, KeQueryInterruptTime and KeQuerySystemTime as loads from
 *    that fixed kernel address, which a Linux process cannot map (#PF, SIGSEGV).
 *  - any other privileged instruction (cli, hlt, in/out, rdmsr, mov cr3, ...) and
 *    real faults (bad loads and stores, int3, ud2, divide).
 *  gs:-relative loads need nothing: each CPU thread's GS base is its KPCR.
 *
 * How they are handled
 *  The signal handler only acts when the faulting RIP lies in a range registered
 *  with host_register_foreign_code (arch_image_mapped); anything else goes to the
 *  handler installed before ours (the sanitizer's), so kernel bugs are still
 *  reported as such. Inside the handler no kernel code runs (host.h: interrupts are
 *  taken at interruptible points only, and the kernel's locks are not
 *  async-signal-safe). The handler does what is a pure load:
 *    mov reg, cr8 -> KPCR.Irql into the register; KUSER loads -> the value from the
 *    kernel's KiUserSharedData; then RIP moves past the instruction.
 *  Everything that needs the kernel (mov cr8, reg with its DPC/APC delivery and
 *  possible thread switch; privileged-instruction reports and bug checks; exception
 *  dispatch) is deferred: the handler records what to do in a per-thread slot and
 *  resumes the thread at host_foreign_entry (privileged_entry.S) instead of the
 *  faulting instruction, with every other register untouched. That stub runs on the
 *  thread's own stack: it steps over the red zone, saves all general registers, the
 *  flags and the x87/SSE state into a CONTEXT, calls host_foreign_work, and resumes
 *  the (possibly changed) CONTEXT with host_restore_context. Between the handler's
 *  return and host_foreign_work copying the slot no kernel code runs on this Linux
 *  thread, so the per-thread slot cannot be overwritten or migrate.
 *
 * A fetch fault (a call through a null pointer, a jump to a non-executable page)
 * counts as foreign when RIP is in a registered range or the return address on top
 * of the stack is (the call came from there); it is an access violation with
 * ExceptionInformation[0] = 8.
 *
 * Limits: KUSER_SHARED_DATA is served to mov/movzx/movsx/movsxd/cmp/test with a
 * general-register or immediate operand; SSE loads and string instructions from
 * the page are reported as unsupported accesses (access violation). The CONTEXT
 * carries the legacy SSE state (fxsave): the upper halves of ymm registers are
 * kept only because the kernel's C code is built without AVX.
 *
 * Locking and IRQL rules
 *  - The foreign-range table is written under HostForeignLock (a pthread mutex,
 *    PASSIVE_LEVEL callers) and read lock-free by the signal handler: a slot's
 *    Base and Name are written before its End is published (release), readers
 *    acquire End. A slot is only reused after unregistration, which the loader
 *    does after the image's code stopped running.
 *  - host_foreign_work runs at the IRQL of the faulting code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <ntos/ke.h>
#include <ntos/kuser.h>
#include <ntos/context.h>
#include <ntos/bugcodes.h>
#include "host_private.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HOST_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#endif
#endif
#ifndef HOST_UNPOISON
#define HOST_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

NTKERNELAPI KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeLowerIrql(KIRQL NewIrql);
/* The kernel's copy of the page (src/ke/time.c). */
extern KUSER_SHARED_DATA KiUserSharedData;

/* privileged_entry.S */
extern void host_foreign_entry(void);
DECLSPEC_NORETURN void host_restore_context(const CONTEXT *Context);
/* Called by host_foreign_entry; not for other callers. */
void host_foreign_work(CONTEXT *Context, const ULONG64 *Saved);

/* ---- foreign ranges ---------------------------------------------------------------- */

#define HOST_FOREIGN_MAX 256
#define HOST_FOREIGN_NAME 64

typedef struct host_foreign_range {
    ULONG_PTR Base;
    ULONG_PTR End; /* 0 = free slot; published last */
    char Name[HOST_FOREIGN_NAME];
} host_foreign_range;

static host_foreign_range HostForeign[HOST_FOREIGN_MAX];
static pthread_mutex_t HostForeignLock = PTHREAD_MUTEX_INITIALIZER;

static host_foreign_filter_fn HostFilter;

void host_set_foreign_exception_filter(host_foreign_filter_fn Filter)
{
    __atomic_store_n(&HostFilter, Filter, __ATOMIC_RELEASE);
}

static ULONG64 HostEmulations;
static ULONG64 HostTrampolines;

ULONG64 host_foreign_emulations(void)
{
    return __atomic_load_n(&HostEmulations, __ATOMIC_RELAXED);
}

ULONG64 host_foreign_trampolines(void)
{
    return __atomic_load_n(&HostTrampolines, __ATOMIC_RELAXED);
}

/* Async-signal-safe: the slot index containing Address, or -1. */
static int host_foreign_find(ULONG_PTR Address)
{
    for (int i = 0; i < HOST_FOREIGN_MAX; i++) {
        ULONG_PTR end = __atomic_load_n(&HostForeign[i].End, __ATOMIC_ACQUIRE);
        if (end != 0 && Address >= HostForeign[i].Base && Address < end)
            return i;
    }
    return -1;
}

void host_register_foreign_code(ULONG_PTR Base, SIZE_T Size, const char *Name)
{
    if (Size == 0)
        return;
    host_claim_fault_signals();
    pthread_mutex_lock(&HostForeignLock);
    for (int i = 0; i < HOST_FOREIGN_MAX; i++) {
        host_foreign_range *r = &HostForeign[i];
        if (__atomic_load_n(&r->End, __ATOMIC_RELAXED) != 0)
            continue;
        r->Base = Base;
        snprintf(r->Name, sizeof(r->Name), "%s", Name != NULL ? Name : "?");
        __atomic_store_n(&r->End, Base + Size, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&HostForeignLock);
        return;
    }
    pthread_mutex_unlock(&HostForeignLock);
    /* A full table means a loader leak; refusing silently would turn the
     * image's first cr8 access into an unexplained host crash. */
    fprintf(stderr, "ntos host: more than %d foreign code ranges registered (%s)\n", HOST_FOREIGN_MAX,
            Name != NULL ? Name : "?");
    KeBugCheckEx(NO_MORE_SYSTEM_PTES, 0, HOST_FOREIGN_MAX, 0, 0);
}

void host_unregister_foreign_code(ULONG_PTR Base)
{
    pthread_mutex_lock(&HostForeignLock);
    for (int i = 0; i < HOST_FOREIGN_MAX; i++) {
        host_foreign_range *r = &HostForeign[i];
        if (__atomic_load_n(&r->End, __ATOMIC_RELAXED) != 0 && r->Base == Base) {
            __atomic_store_n(&r->End, 0, __ATOMIC_RELEASE);
            break;
        }
    }
    pthread_mutex_unlock(&HostForeignLock);
}

VOID arch_image_mapped(PVOID Base, SIZE_T Size, PCSTR Name)
{
    host_register_foreign_code((ULONG_PTR)Base, Size, Name);
}

VOID arch_image_unmapped(PVOID Base)
{
    host_unregister_foreign_code((ULONG_PTR)Base);
}

/* ---- instruction decoding ------------------------------------------------------------
 * Just enough of the x86-64 encoding to recognise the instructions above: legacy
 * prefixes, REX, one- and two-byte (0F) opcodes, ModRM/SIB/displacement and the
 * immediates of the forms emulated. Anything else is "not understood" and is
 * reported, never guessed at. */

#define HOST_MAX_INSN 15

typedef struct host_insn {
    ULONG Length;       /* bytes, 0 if not understood */
    ULONG Prefixes;     /* number of prefix bytes, REX included */
    BOOLEAN OpSize;     /* 66 */
    BOOLEAN AddrSize;   /* 67 */
    BOOLEAN Lock;       /* F0 */
    UCHAR Segment;      /* 0 or the segment override byte */
    UCHAR Rex;          /* 0 or 0x40..0x4F */
    BOOLEAN TwoByte;    /* 0F xx */
    UCHAR Opcode;
    BOOLEAN HasModrm;
    UCHAR Mod, Reg, Rm; /* Reg and Rm include REX.R / REX.B */
    BOOLEAN Memory;     /* ModRM names memory (Mod != 3) or a moffs form */
    ULONG64 Address;    /* effective address of the memory operand (no segment base) */
    BOOLEAN AddressKnown;
    LONG64 Imm;
    ULONG ImmSize;
} host_insn;

#define REX_W(d) (((d)->Rex & 8) != 0)

/* x86 register number (0 = rax ... 15 = r15) -> gregs index. */
static const int HostGreg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                 REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

/* Immediate size of the one-byte opcodes this decoder accepts with ModRM. */
static ULONG host_imm_size(const host_insn *d)
{
    if (d->TwoByte)
        return 0;
    switch (d->Opcode) {
    case 0x80: case 0x82: case 0x83: case 0xC0: case 0xC1: case 0xC6: case 0x6B:
        return 1;
    case 0x81: case 0xC7: case 0x69:
        return d->OpSize ? 2 : 4;
    case 0xF6:
        return (d->Reg & 7) <= 1 ? 1 : 0;
    case 0xF7:
        return (d->Reg & 7) <= 1 ? (d->OpSize ? 2 : 4) : 0;
    default:
        return 0;
    }
}

static BOOLEAN host_has_modrm(BOOLEAN TwoByte, UCHAR Op)
{
    if (TwoByte) {
        switch (Op) {
        case 0x00: case 0x01: case 0x20: case 0x21: case 0x22: case 0x23:
        case 0xB6: case 0xB7: case 0xBE: case 0xBF: case 0xAE: case 0x0D: case 0x18: case 0x1F:
            return TRUE;
        default:
            return (Op & 0xF0) == 0x40 || (Op & 0xF0) == 0x90; /* cmovcc, setcc */
        }
    }
    if (Op < 0x40)
        return (Op & 7) < 4; /* the ALU block: op r/m,r / op r,r/m forms */
    switch (Op) {
    case 0x62: case 0x63: case 0x69: case 0x6B: case 0x80: case 0x81: case 0x82: case 0x83:
    case 0x84: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x8A: case 0x8B:
    case 0x8C: case 0x8D: case 0x8E: case 0x8F: case 0xC0: case 0xC1: case 0xC6: case 0xC7:
    case 0xD0: case 0xD1: case 0xD2: case 0xD3: case 0xF6: case 0xF7: case 0xFE: case 0xFF:
        return TRUE;
    default:
        return FALSE;
    }
}

/* Decodes Code[0..Avail) at Rip with the register state Gregs (for addresses). */
static BOOLEAN host_decode(const UCHAR *Code, ULONG Avail, ULONG_PTR Rip, const greg_t *Gregs, host_insn *d)
{
    memset(d, 0, sizeof(*d));
    ULONG i = 0;
    for (;; i++) {
        if (i >= Avail || i >= HOST_MAX_INSN)
            return FALSE;
        UCHAR b = Code[i];
        if (b == 0x66)
            d->OpSize = TRUE;
        else if (b == 0x67)
            d->AddrSize = TRUE;
        else if (b == 0xF0)
            d->Lock = TRUE;
        else if (b == 0xF2 || b == 0xF3)
            ;
        else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65)
            d->Segment = b;
        else
            break;
    }
    if (i < Avail && (Code[i] & 0xF0) == 0x40) {
        d->Rex = Code[i];
        i++;
    }
    d->Prefixes = i;
    if (i >= Avail)
        return FALSE;
    if (Code[i] == 0x0F) {
        d->TwoByte = TRUE;
        if (++i >= Avail)
            return FALSE;
    }
    d->Opcode = Code[i++];

    if (!d->TwoByte && (d->Opcode == 0xA0 || d->Opcode == 0xA1 || d->Opcode == 0xA2 || d->Opcode == 0xA3)) {
        /* mov al/ax/eax/rax <-> moffs: a full 64-bit absolute address (8 bytes
         * unless 67 shortens it to 4). */
        ULONG n = d->AddrSize ? 4 : 8;
        if (i + n > Avail)
            return FALSE;
        ULONG64 a = 0;
        memcpy(&a, Code + i, n);
        d->Memory = TRUE;
        d->Address = a;
        d->AddressKnown = TRUE;
        d->Length = i + n;
        return TRUE;
    }

    d->HasModrm = host_has_modrm(d->TwoByte, d->Opcode);
    if (!d->HasModrm) {
        d->Length = i;
        return TRUE; /* no operands decoded; Length is right for opcodes without immediates */
    }
    if (i >= Avail)
        return FALSE;
    UCHAR modrm = Code[i++];
    d->Mod = modrm >> 6;
    d->Reg = (UCHAR)(((modrm >> 3) & 7) | ((d->Rex & 4) << 1));
    UCHAR rm = modrm & 7;
    /* mov to/from control and debug registers always take a register operand,
     * whatever Mod says. */
    BOOLEAN alwaysRegister = d->TwoByte && d->Opcode >= 0x20 && d->Opcode <= 0x23;
    if (d->Mod == 3 || alwaysRegister) {
        d->Rm = (UCHAR)(rm | ((d->Rex & 1) << 3));
        d->Length = i;
    } else {
        d->Memory = TRUE;
        LONG64 disp = 0;
        ULONG64 ea = 0;
        BOOLEAN ripRelative = FALSE;
        if (rm == 4) {
            if (i >= Avail)
                return FALSE;
            UCHAR sib = Code[i++];
            UCHAR scale = sib >> 6;
            UCHAR index = (UCHAR)(((sib >> 3) & 7) | ((d->Rex & 2) << 2));
            UCHAR base = (UCHAR)((sib & 7) | ((d->Rex & 1) << 3));
            if (index != 4)
                ea += (ULONG64)Gregs[HostGreg[index]] << scale;
            if ((sib & 7) == 5 && d->Mod == 0) {
                if (i + 4 > Avail)
                    return FALSE;
                LONG d32;
                memcpy(&d32, Code + i, 4);
                i += 4;
                disp = d32;
            } else {
                ea += (ULONG64)Gregs[HostGreg[base]];
            }
        } else if (rm == 5 && d->Mod == 0) {
            ripRelative = TRUE;
            if (i + 4 > Avail)
                return FALSE;
            LONG d32;
            memcpy(&d32, Code + i, 4);
            i += 4;
            disp = d32;
        } else {
            ea += (ULONG64)Gregs[HostGreg[rm | ((d->Rex & 1) << 3)]];
        }
        if (d->Mod == 1) {
            if (i + 1 > Avail)
                return FALSE;
            disp = (signed char)Code[i++];
        } else if (d->Mod == 2) {
            if (i + 4 > Avail)
                return FALSE;
            LONG d32;
            memcpy(&d32, Code + i, 4);
            i += 4;
            disp = d32;
        }
        d->ImmSize = host_imm_size(d);
        ULONG end = i + d->ImmSize;
        if (end > Avail)
            return FALSE;
        if (ripRelative)
            ea = Rip + end;
        ea += (ULONG64)disp;
        if (d->AddrSize)
            ea &= 0xFFFFFFFFu;
        d->Address = ea;
        d->AddressKnown = TRUE;
        d->Length = i;
    }
    d->ImmSize = host_imm_size(d);
    if (d->Length + d->ImmSize > Avail)
        return FALSE;
    if (d->ImmSize == 1)
        d->Imm = (signed char)Code[d->Length];
    else if (d->ImmSize == 2) {
        short v;
        memcpy(&v, Code + d->Length, 2);
        d->Imm = v;
    } else if (d->ImmSize == 4) {
        LONG v;
        memcpy(&v, Code + d->Length, 4);
        d->Imm = v;
    }
    d->Length += d->ImmSize;
    return TRUE;
}

/* Copies up to HOST_MAX_INSN code bytes at Rip without faulting: directly when
 * they lie in Rip's page (which is executable, hence readable), otherwise
 * through process_vm_readv, which reports an unmapped page instead of faulting
 * inside the signal handler. Returns the number of bytes copied. */
static ULONG host_read_code(ULONG_PTR Rip, UCHAR *Out)
{
    if ((Rip & 4095) <= 4096 - HOST_MAX_INSN) {
        for (ULONG i = 0; i < HOST_MAX_INSN; i++)
            Out[i] = ((const volatile UCHAR *)Rip)[i];
        return HOST_MAX_INSN;
    }
    ULONG first = (ULONG)(4096 - (Rip & 4095));
    for (ULONG i = 0; i < first; i++)
        Out[i] = ((const volatile UCHAR *)Rip)[i];
    struct iovec local = {Out + first, HOST_MAX_INSN - first};
    struct iovec remote = {(void *)(Rip + first), HOST_MAX_INSN - first};
    long n = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
    return first + (n > 0 ? (ULONG)n : 0);
}

/* ---- register access -------------------------------------------------------------------- */

/* Reads register Reg at Size bytes (1: with REX, 4..7 are spl..dil; without, ah..bh). */
static ULONG64 host_reg_read(const greg_t *g, UCHAR Reg, ULONG Size, UCHAR Rex)
{
    if (Size == 1 && Rex == 0 && Reg >= 4 && Reg < 8)
        return ((ULONG64)g[HostGreg[Reg - 4]] >> 8) & 0xFF;
    ULONG64 v = (ULONG64)g[HostGreg[Reg]];
    switch (Size) {
    case 1: return v & 0xFF;
    case 2: return v & 0xFFFF;
    case 4: return v & 0xFFFFFFFFu;
    default: return v;
    }
}

/* Writes as the processor does: 32-bit results zero-extend, 8- and 16-bit ones merge. */
static void host_reg_write(greg_t *g, UCHAR Reg, ULONG Size, UCHAR Rex, ULONG64 Value)
{
    if (Size == 1 && Rex == 0 && Reg >= 4 && Reg < 8) {
        ULONG64 old = (ULONG64)g[HostGreg[Reg - 4]];
        g[HostGreg[Reg - 4]] = (greg_t)((old & ~0xFF00ull) | ((Value & 0xFF) << 8));
        return;
    }
    ULONG64 old = (ULONG64)g[HostGreg[Reg]];
    switch (Size) {
    case 1: Value = (old & ~0xFFull) | (Value & 0xFF); break;
    case 2: Value = (old & ~0xFFFFull) | (Value & 0xFFFF); break;
    case 4: Value &= 0xFFFFFFFFu; break;
    default: break;
    }
    g[HostGreg[Reg]] = (greg_t)Value;
}

/* The arithmetic flags (CF PF AF ZF SF OF) of Left - Right or Left & Right at
 * Size bytes, computed by the processor itself. lahf/seto rather than pushfq:
 * this runs in the signal handler with a red zone below the stack pointer. */
#define HOST_ARITH_FLAGS 0x8D5u
static ULONG64 host_flags_of(BOOLEAN Test, ULONG64 Left, ULONG64 Right, ULONG Size)
{
    ULONG64 ax;
    int shift = (int)(64 - Size * 8);
    /* Operands moved to the top of a 64-bit register: CF ZF SF OF of the
     * narrow operation equal those of the wide one; PF looks at the low byte of
     * the result, which the shift moved, so it is computed separately. */
    ULONG64 l = Left << shift, r = Right << shift;
    if (Test)
        __asm__("testq %2, %1\n\tlahf\n\tseto %%al" : "=&a"(ax) : "r"(l), "r"(r) : "cc");
    else
        __asm__("cmpq %2, %1\n\tlahf\n\tseto %%al" : "=&a"(ax) : "r"(l), "r"(r) : "cc");
    ULONG64 flags = ((ax >> 8) & 0xD1) | ((ax & 0xFF) ? 0x800 : 0); /* CF, ZF, SF, AF from lahf */
    ULONG64 low = (Test ? (Left & Right) : (Left - Right)) & 0xFF;
    if (!(__builtin_popcountll(low) & 1))
        flags |= 0x4; /* PF: even parity of the result's low byte */
    flags &= ~0x10ull;
    if (!Test && ((Left ^ Right ^ (Left - Right)) & 0x10))
        flags |= 0x10; /* AF: borrow out of bit 3 */
    return flags;
}

/* ---- KUSER_SHARED_DATA ---------------------------------------------------------------- */

#define HOST_KUSER_END (KI_USER_SHARED_DATA + 0x1000)

/* The value at kernel address Address (inside the page) as one load of Size bytes,
 * the way the native instruction would read it (single 8-byte load for the 64-bit
 * time fields, see kuser.h). The page beyond the structure reads as zero. */
typedef USHORT __attribute__((aligned(1))) HOST_U16_A1;
typedef ULONG __attribute__((aligned(1))) HOST_U32_A1;
typedef ULONG64 __attribute__((aligned(1))) HOST_U64_A1;

static ULONG64 host_kuser_load(ULONG64 Address, ULONG Size)
{
    ULONG64 off = Address - KI_USER_SHARED_DATA;
    if (off + Size > sizeof(KUSER_SHARED_DATA))
        return 0;
    const volatile UCHAR *p = (const volatile UCHAR *)&KiUserSharedData + off;
    switch (Size) {
    case 1: return *p;
    case 2: return *(const volatile HOST_U16_A1 *)p;
    case 4: return *(const volatile HOST_U32_A1 *)p;
    default: return *(const volatile HOST_U64_A1 *)p;
    }
}

static BOOLEAN host_in_kuser(const host_insn *d, ULONG Size)
{
    return d->AddressKnown && d->Segment != 0x64 && d->Segment != 0x65 && d->Address >= KI_USER_SHARED_DATA &&
           d->Address + Size <= HOST_KUSER_END && d->Address + Size > d->Address;
}

static ULONG64 host_sign_extend(ULONG64 v, ULONG Size)
{
    int shift = (int)(64 - Size * 8);
    return (ULONG64)(((LONG64)(v << shift)) >> shift);
}

/* Emulates a load (or compare/test) from KUSER_SHARED_DATA. Returns TRUE if done. */
static BOOLEAN host_emulate_kuser(const host_insn *d, greg_t *g)
{
    ULONG osize = REX_W(d) ? 8 : d->OpSize ? 2 : 4;
    if (!d->Memory)
        return FALSE;
    if (!d->TwoByte) {
        switch (d->Opcode) {
        case 0xA0: case 0xA1: { /* mov al/eAX, moffs */
            ULONG size = d->Opcode == 0xA0 ? 1 : osize;
            if (!host_in_kuser(d, size))
                return FALSE;
            host_reg_write(g, 0, size, 1, host_kuser_load(d->Address, size));
            return TRUE;
        }
        case 0x8A: case 0x8B: { /* mov r, r/m */
            ULONG size = d->Opcode == 0x8A ? 1 : osize;
            if (!host_in_kuser(d, size))
                return FALSE;
            host_reg_write(g, d->Reg, size, d->Rex, host_kuser_load(d->Address, size));
            return TRUE;
        }
        case 0x63: /* movsxd r64, r/m32 (without REX.W a plain 32-bit move) */
            if (!host_in_kuser(d, 4))
                return FALSE;
            host_reg_write(g, d->Reg, osize, d->Rex,
                           REX_W(d) ? host_sign_extend(host_kuser_load(d->Address, 4), 4)
                                    : host_kuser_load(d->Address, 4));
            return TRUE;
        case 0x38: case 0x39: case 0x3A: case 0x3B: case 0x84: case 0x85: { /* cmp/test with a register */
            ULONG size = (d->Opcode & 1) ? osize : 1;
            if (!host_in_kuser(d, size))
                return FALSE;
            ULONG64 m = host_kuser_load(d->Address, size);
            ULONG64 r = host_reg_read(g, d->Reg, size, d->Rex);
            BOOLEAN test = d->Opcode >= 0x84;
            ULONG64 f = (d->Opcode == 0x3A || d->Opcode == 0x3B) ? host_flags_of(FALSE, r, m, size)
                                                                 : host_flags_of(test, m, r, size);
            g[REG_EFL] = (greg_t)(((ULONG64)g[REG_EFL] & ~(ULONG64)HOST_ARITH_FLAGS) | f);
            return TRUE;
        }
        case 0x80: case 0x81: case 0x83: case 0xF6: case 0xF7: { /* cmp r/m, imm (/7); test r/m, imm (/0) */
            BOOLEAN test = d->Opcode >= 0xF6;
            if (test ? (d->Reg & 7) != 0 : (d->Reg & 7) != 7)
                return FALSE;
            ULONG size = (d->Opcode == 0x80 || d->Opcode == 0xF6) ? 1 : osize;
            if (!host_in_kuser(d, size))
                return FALSE;
            ULONG64 mask = size == 8 ? ~0ull : ((1ull << (size * 8)) - 1);
            ULONG64 f = host_flags_of(test, host_kuser_load(d->Address, size), (ULONG64)d->Imm & mask, size);
            g[REG_EFL] = (greg_t)(((ULONG64)g[REG_EFL] & ~(ULONG64)HOST_ARITH_FLAGS) | f);
            return TRUE;
        }
        default:
            return FALSE;
        }
    }
    switch (d->Opcode) {
    case 0xB6: case 0xB7: case 0xBE: case 0xBF: { /* movzx / movsx r, r/m8 or r/m16 */
        ULONG size = (d->Opcode & 1) ? 2 : 1;
        if (!host_in_kuser(d, size))
            return FALSE;
        ULONG64 v = host_kuser_load(d->Address, size);
        if (d->Opcode >= 0xBE)
            v = host_sign_extend(v, size);
        host_reg_write(g, d->Reg, osize, d->Rex, v);
        return TRUE;
    }
    default:
        return FALSE;
    }
}

/* Stores to the page (mov r/m, r; mov r/m, imm; and the read-modify-write ALU forms). */
static BOOLEAN host_writes_memory(const host_insn *d)
{
    if (d->TwoByte || !d->Memory)
        return FALSE;
    UCHAR op = d->Opcode;
    if (op == 0x88 || op == 0x89 || op == 0xC6 || op == 0xC7 || op == 0xA2 || op == 0xA3)
        return TRUE;
    if (op < 0x40 && (op & 7) < 2 && (op & 0x38) != 0x38)
        return TRUE; /* add/or/adc/sbb/and/sub/xor r/m, r (not cmp) */
    if ((op == 0x80 || op == 0x81 || op == 0x83) && (d->Reg & 7) != 7)
        return TRUE;
    if ((op == 0xFE || op == 0xFF) && (d->Reg & 7) < 2)
        return TRUE; /* inc/dec */
    return FALSE;
}

/* ---- privileged instructions ---------------------------------------------------------- */

/* The mnemonic of a privileged instruction (faults with #GP in ring 3), or NULL. */
static const char *host_privileged_name(const host_insn *d)
{
    if (!d->TwoByte) {
        switch (d->Opcode) {
        case 0xFA: return "cli";
        case 0xFB: return "sti";
        case 0xF4: return "hlt";
        case 0xE4: case 0xE5: case 0xEC: case 0xED: return "in";
        case 0xE6: case 0xE7: case 0xEE: case 0xEF: return "out";
        case 0x6C: case 0x6D: return "ins";
        case 0x6E: case 0x6F: return "outs";
        case 0xCF: return "iretq";
        case 0xCD: return "int";
        default: return NULL;
        }
    }
    switch (d->Opcode) {
    case 0x00:
        return (d->Reg & 7) == 2 ? "lldt" : (d->Reg & 7) == 3 ? "ltr" : "sldt/str/verr/verw";
    case 0x01:
        switch (d->Reg & 7) {
        case 0: return d->Memory ? "sgdt" : "vmx/monitor group";
        case 1: return d->Memory ? "sidt" : "monitor/mwait group";
        case 2: return d->Memory ? "lgdt" : "xgetbv/xsetbv group";
        case 3: return d->Memory ? "lidt" : "svm group";
        case 4: return "smsw";
        case 6: return "lmsw";
        default: return d->Memory ? "invlpg" : "swapgs/rdtscp group";
        }
    case 0x06: return "clts";
    case 0x07: return "sysret";
    case 0x08: return "invd";
    case 0x09: return "wbinvd";
    case 0x20: case 0x22: return "mov cr";
    case 0x21: case 0x23: return "mov dr";
    case 0x30: return "wrmsr";
    case 0x31: return "rdtsc";
    case 0x32: return "rdmsr";
    case 0x33: return "rdpmc";
    case 0x35: return "sysexit";
    case 0x78: return "vmread";
    case 0x79: return "vmwrite";
    default: return NULL;
    }
}

/* ---- the deferred work ------------------------------------------------------------------ */

enum host_foreign_op {
    HOST_OP_NONE,
    HOST_OP_SET_IRQL,   /* mov cr8, reg: Value = new IRQL */
    HOST_OP_PRIVILEGED, /* report, then bug check */
    HOST_OP_FASTFAIL,   /* int 0x29: Value = fail-fast code */
    HOST_OP_EXCEPTION,  /* KiDispatchException */
};

typedef struct host_foreign_pending {
    ULONG Op;
    ULONG64 Value;
    ULONG64 Rip;        /* where the CONTEXT resumes / the exception address */
    ULONG64 FaultRip;   /* the instruction that faulted */
    int Slot;
    ULONG CodeLength;
    UCHAR Code[HOST_MAX_INSN];
    const char *What;   /* for reports */
    BOOLEAN Report;     /* print the report before dispatching */
    EXCEPTION_RECORD Record;
} host_foreign_pending;

/* Written by the signal handler, consumed by host_foreign_work before any kernel
 * code can run on this Linux thread again. */
static __thread host_foreign_pending HostPending;

static void host_format_report(const host_foreign_pending *p, const char *Headline)
{
    char line[512];
    int n;
    int slot = p->Slot;
    if (slot >= 0)
        n = snprintf(line, sizeof(line), "ntos host: %s in foreign code at RIP %#llx (%s+%#llx):", Headline,
                     (unsigned long long)p->FaultRip, HostForeign[slot].Name,
                     (unsigned long long)(p->FaultRip - HostForeign[slot].Base));
    else
        n = snprintf(line, sizeof(line), "ntos host: %s in foreign code at RIP %#llx:", Headline,
                     (unsigned long long)p->FaultRip);
    for (ULONG i = 0; i < p->CodeLength && n > 0 && (size_t)n < sizeof(line) - 8; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %02x", p->Code[i]);
    if (n > 0 && (size_t)n < sizeof(line) - 2) {
        line[n++] = '\n';
        arch_console_write(line, (SIZE_T)n);
    }
}

void host_foreign_work(CONTEXT *Context, const ULONG64 *Saved)
{
    /* The stub's frame lies in stack memory that instrumented frames used before;
     * make sure no stale redzone poison remains on it. */
    HOST_UNPOISON(Context, sizeof(*Context));
    HOST_UNPOISON((void *)Saved, 16 * sizeof(ULONG64));
    host_foreign_pending p = HostPending;
    HostPending.Op = HOST_OP_NONE;
    __atomic_fetch_add(&HostTrampolines, 1, __ATOMIC_RELAXED);

    /* The CONTEXT of the interrupted instruction stream. The stub saved rax, rcx,
     * rdx, rbx, rbp, rsi, rdi, r8-r15 and rflags upwards from Saved, 128 bytes
     * (the red zone) below the interrupted stack pointer, and FltSave. */
    Context->P1Home = Context->P2Home = Context->P3Home = 0;
    Context->P4Home = Context->P5Home = Context->P6Home = 0;
    Context->ContextFlags = CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS | CONTEXT_FLOATING_POINT;
    Context->MxCsr = Context->FltSave.MxCsr;
    /* The selectors Windows kernel code runs with (KGDT64_R0_CODE/DATA, R3_DATA,
     * R3_CMTEB), which is what a driver's handler expects to see. */
    Context->SegCs = 0x10;
    Context->SegSs = 0x18;
    Context->SegDs = Context->SegEs = Context->SegGs = 0x2B;
    Context->SegFs = 0x53;
    Context->EFlags = (ULONG)Saved[15];
    Context->Dr0 = Context->Dr1 = Context->Dr2 = Context->Dr3 = Context->Dr6 = Context->Dr7 = 0;
    Context->Rax = Saved[0];
    Context->Rcx = Saved[1];
    Context->Rdx = Saved[2];
    Context->Rbx = Saved[3];
    Context->Rbp = Saved[4];
    Context->Rsi = Saved[5];
    Context->Rdi = Saved[6];
    Context->R8 = Saved[7];
    Context->R9 = Saved[8];
    Context->R10 = Saved[9];
    Context->R11 = Saved[10];
    Context->R12 = Saved[11];
    Context->R13 = Saved[12];
    Context->R14 = Saved[13];
    Context->R15 = Saved[14];
    Context->Rsp = (ULONG64)(Saved + 16) + 128;
    Context->Rip = p.Rip;
    memset(Context->VectorRegister, 0, sizeof(*Context) - offsetof(CONTEXT, VectorRegister));

    switch (p.Op) {
    case HOST_OP_SET_IRQL: {
        /* The inline KeRaiseIrql/KeLowerIrql: same entry points, so lowering
         * delivers what became deliverable (and may switch threads) before
         * the instruction after the mov runs. */
        KIRQL now = KeGetCurrentIrql();
        if ((KIRQL)p.Value >= now)
            KfRaiseIrql((KIRQL)p.Value);
        else
            KeLowerIrql((KIRQL)p.Value);
        break;
    }
    case HOST_OP_PRIVILEGED:
        host_format_report(&p, p.What);
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_PRIVILEGED_INSTRUCTION, (ULONG_PTR)p.FaultRip,
                     0, 0);
    case HOST_OP_FASTFAIL:
        host_format_report(&p, "__fastfail (int 0x29)");
        KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, (ULONG_PTR)p.Value, 0, 0, 0);
    case HOST_OP_EXCEPTION:
        if (p.Report)
            host_format_report(&p, p.What);
        host_foreign_filter_fn filter = __atomic_load_n(&HostFilter, __ATOMIC_ACQUIRE);
        if (filter != NULL && filter(&p.Record, Context))
            break;
        KiDispatchException(&p.Record, Context, KernelMode, TRUE);
        break;
    default:
        /* The stub was entered without a recorded fault: a backend bug. */
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_ILLEGAL_INSTRUCTION,
                     (ULONG_PTR)host_foreign_entry, 0, 0);
    }
}

/* Describes a foreign address as "module+offset" for the unhandled-exception
 * report of the default KiDispatchException. */
int host_foreign_describe(ULONG_PTR Address, char *Buffer, SIZE_T Size)
{
    int slot = host_foreign_find(Address);
    if (slot < 0)
        return snprintf(Buffer, Size, "%#llx", (unsigned long long)Address);
    return snprintf(Buffer, Size, "%#llx (%s+%#llx)", (unsigned long long)Address, HostForeign[slot].Name,
                    (unsigned long long)(Address - HostForeign[slot].Base));
}

/* ---- the signal handler ------------------------------------------------------------------ */

static const int HostFaultSignals[] = {SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP};
#define HOST_NSIG 65
static struct sigaction HostPrevious[HOST_NSIG];
static int HostClaimed;
static pthread_mutex_t HostClaimLock = PTHREAD_MUTEX_INITIALIZER;

/* Not ours: what would have happened without us. */
static void host_chain(int Sig, siginfo_t *Info, void *Uc)
{
    struct sigaction *prev = &HostPrevious[Sig];
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction != NULL) {
        prev->sa_sigaction(Sig, Info, Uc);
        return;
    }
    if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(Sig);
        return;
    }
    /* Default action: restore it; the faulting instruction runs again and the
     * kernel then applies it (core dump with the right siginfo). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(Sig, &dfl, NULL);
    if (Info->si_code <= 0)
        raise(Sig); /* sent, not a fault: it would not repeat */
}

static void host_defer(host_foreign_pending *p, greg_t *g)
{
    HostPending = *p;
    g[REG_RIP] = (greg_t)(ULONG_PTR)host_foreign_entry;
}

static void host_set_exception(host_foreign_pending *p, NTSTATUS Code, ULONG Count, ULONG_PTR Info0,
                               ULONG_PTR Info1)
{
    p->Op = HOST_OP_EXCEPTION;
    p->Record.ExceptionCode = Code;
    p->Record.ExceptionFlags = 0;
    p->Record.ExceptionRecord = NULL;
    p->Record.ExceptionAddress = (PVOID)p->Rip;
    p->Record.NumberParameters = Count;
    p->Record.ExceptionInformation[0] = Info0;
    p->Record.ExceptionInformation[1] = Info1;
}

static void host_foreign_fault(int Sig, siginfo_t *Info, ucontext_t *Uc, int Slot)
{
    greg_t *g = Uc->uc_mcontext.gregs;
    ULONG_PTR rip = (ULONG_PTR)g[REG_RIP];
    host_foreign_pending p;
    memset(&p, 0, sizeof(p));
    p.Slot = Slot;
    p.FaultRip = rip;
    p.Rip = rip;
    host_insn d;
    BOOLEAN decoded = FALSE;
    if (Sig == SIGSEGV && g[REG_TRAPNO] == 14 && ((ULONG64)g[REG_ERR] & 0x10)) {
        /* The fetch of the instruction itself failed (a jump or call to a
         * non-executable or unmapped address): there are no bytes to read. */
        host_set_exception(&p, STATUS_ACCESS_VIOLATION, 2, 8, (ULONG_PTR)Info->si_addr);
        host_defer(&p, g);
        return;
    }
    p.CodeLength = host_read_code(rip, p.Code);
    decoded = host_decode(p.Code, p.CodeLength, rip, g, &d);

    switch (Sig) {
    case SIGSEGV: {
        if (decoded && d.TwoByte && (d.Opcode == 0x20 || d.Opcode == 0x22)) {
            /* AMD's "lock mov cr0" is the 32-bit-mode spelling of cr8. */
            UCHAR cr = (d.Lock && d.Reg == 0) ? 8 : d.Reg;
            if (cr == 8 && d.Opcode == 0x20) {
                g[HostGreg[d.Rm]] = (greg_t)arch_get_irql();
                g[REG_RIP] = (greg_t)(rip + d.Length);
                __atomic_fetch_add(&HostEmulations, 1, __ATOMIC_RELAXED);
                return;
            }
            if (cr == 8) {
                ULONG64 v = (ULONG64)g[HostGreg[d.Rm]];
                if (v > HIGH_LEVEL) {
                    /* Reserved CR8 bits: #GP on hardware. */
                    p.Op = HOST_OP_PRIVILEGED;
                    p.What = "mov cr8 with reserved bits set";
                } else {
                    p.Op = HOST_OP_SET_IRQL;
                    p.Value = v;
                    p.Rip = rip + d.Length;
                }
                host_defer(&p, g);
                return;
            }
        }
        if (decoded && d.Memory && host_in_kuser(&d, 1)) {
            if (host_emulate_kuser(&d, g)) {
                g[REG_RIP] = (greg_t)(rip + d.Length);
                __atomic_fetch_add(&HostEmulations, 1, __ATOMIC_RELAXED);
                return;
            }
            BOOLEAN write = host_writes_memory(&d);
            p.Report = TRUE;
            p.What = write ? "write to KUSER_SHARED_DATA" : "unsupported access to KUSER_SHARED_DATA";
            host_set_exception(&p, STATUS_ACCESS_VIOLATION, 2, write ? 1 : 0, (ULONG_PTR)d.Address);
            host_defer(&p, g);
            return;
        }
        if (g[REG_TRAPNO] == 14) {
            /* A page fault: the error code says write (bit 1) or fetch (bit 4). */
            ULONG64 err = (ULONG64)g[REG_ERR];
            ULONG_PTR kind = (err & 0x10) ? 8 : (err & 2) ? 1 : 0;
            host_set_exception(&p, STATUS_ACCESS_VIOLATION, 2, kind, (ULONG_PTR)Info->si_addr);
            host_defer(&p, g);
            return;
        }
        const char *name = decoded ? host_privileged_name(&d) : NULL;
        if (decoded && !d.TwoByte && d.Opcode == 0xCD) {
            UCHAR vector = p.CodeLength > d.Prefixes + 1 ? p.Code[d.Prefixes + 1] : 0;
            if (vector == 0x29) {
                p.Op = HOST_OP_FASTFAIL;
                p.Value = (ULONG64)g[REG_RCX];
                host_defer(&p, g);
                return;
            }
        }
        if (name != NULL) {
            p.Op = HOST_OP_PRIVILEGED;
            p.What = name;
            host_defer(&p, g);
            return;
        }
        if (decoded && d.Memory) {
            /* #GP on a memory access: a non-canonical address, which Windows
             * reports as a read of -1. */
            host_set_exception(&p, STATUS_ACCESS_VIOLATION, 2, 0, ~(ULONG_PTR)0);
            host_defer(&p, g);
            return;
        }
        p.Op = HOST_OP_PRIVILEGED;
        p.What = decoded ? "general protection fault" : "unrecognised instruction";
        host_defer(&p, g);
        return;
    }
    case SIGILL:
        host_set_exception(&p, STATUS_ILLEGAL_INSTRUCTION, 0, 0, 0);
        host_defer(&p, g);
        return;
    case SIGFPE:
        /* #DE (divide by zero and quotient overflow alike) or an unmasked x87/SSE
         * exception. */
        host_set_exception(&p, (Info->si_code == FPE_INTDIV || Info->si_code == FPE_INTOVF)
                                   ? STATUS_INTEGER_DIVIDE_BY_ZERO
                                   : STATUS_FLOAT_DIVIDE_BY_ZERO,
                           0, 0, 0);
        host_defer(&p, g);
        return;
    case SIGBUS:
        host_set_exception(&p, STATUS_ACCESS_VIOLATION, 2, 0, (ULONG_PTR)Info->si_addr);
        host_defer(&p, g);
        return;
    case SIGTRAP:
        if (rip > 0 && host_foreign_find(rip - 1) >= 0 && *(const volatile UCHAR *)(rip - 1) == 0xCC) {
            /* int3 traps after the instruction; NT reports it at the int3
             * itself (ExceptionInformation[0] = BREAKPOINT_BREAK). */
            p.Rip = p.FaultRip = rip - 1;
            p.CodeLength = host_read_code(rip - 1, p.Code);
            host_set_exception(&p, STATUS_BREAKPOINT, 1, 0, 0);
        } else {
            host_set_exception(&p, STATUS_SINGLE_STEP, 0, 0, 0);
        }
        host_defer(&p, g);
        return;
    default:
        return;
    }
}

static void host_fault_handler(int Sig, siginfo_t *Info, void *UcVoid)
{
    ucontext_t *uc = UcVoid;
    ULONG_PTR rip = (ULONG_PTR)uc->uc_mcontext.gregs[REG_RIP];
    int slot = host_foreign_find(rip);
    if (slot < 0 && Sig == SIGTRAP && rip > 0)
        slot = host_foreign_find(rip - 1);
    if (slot < 0 && Sig == SIGSEGV && uc->uc_mcontext.gregs[REG_TRAPNO] == 14 &&
        ((ULONG64)uc->uc_mcontext.gregs[REG_ERR] & 0x10) && (ULONG_PTR)Info->si_addr == rip) {
        /* A call from foreign code to a bad address (a null function pointer):
         * RIP is the bad target, the return address on top of the stack shows
         * who called. NT reports it as an execute access violation there. */
        ULONG_PTR ret = 0;
        struct iovec local = {&ret, sizeof(ret)};
        struct iovec remote = {(void *)(ULONG_PTR)uc->uc_mcontext.gregs[REG_RSP], sizeof(ret)};
        if (syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L) == (long)sizeof(ret) &&
            host_foreign_find(ret) >= 0)
            slot = -2; /* foreign, with no module at RIP */
    }
    /* Only faults of the foreign code itself; a signal sent by kill/raise is
     * not a fault (si_code <= 0) even if RIP happens to be there. */
    if (slot == -1 || Info->si_code <= 0) {
        host_chain(Sig, Info, UcVoid);
        return;
    }
    int savedErrno = errno;
    host_foreign_fault(Sig, Info, uc, slot < 0 ? -1 : slot);
    errno = savedErrno;
}

/* Gives the calling thread an alternate signal stack if it has none (the
 * sanitizers give their threads one already), so a fault from a stack overflow in
 * foreign code is still reported. Called for every CPU thread by cpu.c. */
void host_fault_thread_init(void)
{
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
        return;
    size_t size = 64 * 1024;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t st = {.ss_sp = p, .ss_flags = 0, .ss_size = size};
    if (sigaltstack(&st, NULL) != 0)
        munmap(p, size);
}

static BOOLEAN host_handler_installed(int Sig)
{
    struct sigaction cur;
    return sigaction(Sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == host_fault_handler;
}

/*
 * Installs the handlers for the signals where they are not ours, remembering the
 * handler found there to chain to. A program that replaced them since (CMocka
 * installs its own around every test) calls this again; the chain then leads to
 * that handler.
 */
void host_claim_fault_signals(void)
{
    pthread_mutex_lock(&HostClaimLock);
    if (!HostClaimed)
        host_fault_thread_init();
    for (size_t i = 0; i < sizeof(HostFaultSignals) / sizeof(HostFaultSignals[0]); i++) {
        int sig = HostFaultSignals[i];
        if (host_handler_installed(sig))
            continue;
        struct sigaction sa, prev;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = host_fault_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        /* The clock signal must not interrupt the handler's decoding (it would
         * only OR a pending bit, but keep the handler short and flat). */
        sigaddset(&sa.sa_mask, HOST_SIG_CLOCK);
        if (sigaction(sig, &sa, &prev) != 0) {
            perror("ntos host: sigaction");
            _exit(HOST_EXIT_SETUP);
        }
        HostPrevious[sig] = prev;
    }
    HostClaimed = 1;
    pthread_mutex_unlock(&HostClaimLock);
}
