/*
 * Kernel thread contexts: a stack slot (memory.c: 64 KB with an unmapped
 * guard page below) and the stack pointer saved by x86_switch_stacks, which
 * also keeps the thread's extended state (XSAVE or FXSAVE area, see cpu.c)
 * on its stack while it is switched out. Contexts migrate freely between processors.
 */
#include "x86.h"

void x86_switch_stacks(void **SaveSp, void *NewSp);
void x86_context_trampoline(void);

typedef struct _X86_CONTEXT {
    void *Sp;
    ULONG_PTR StackLow;
    ULONG_PTR StackHigh;
    ULONG Slot;
    BOOLEAN Owned;
    PKARCH_CONTEXT_ENTRY Entry;
    PVOID Argument;
} X86_CONTEXT;

_Static_assert(sizeof(X86_CONTEXT) <= sizeof(KARCH_CONTEXT), "x86 context fits KARCH_CONTEXT");

__attribute__((noreturn, used)) void x86_context_start(X86_CONTEXT *Self)
{
    Self->Entry(Self->Argument);
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, 0, (ULONG_PTR)Self->Entry, 0, 0);
}

NTSTATUS arch_context_create(PKARCH_CONTEXT Context, SIZE_T StackSize, PKARCH_CONTEXT_ENTRY Entry, PVOID Argument)
{
    X86_CONTEXT *c = (X86_CONTEXT *)Context;
    RtlZeroMemory(c, sizeof(*c));
    if (StackSize == 0)
        return STATUS_INVALID_PARAMETER;
    if (!x86_stack_allocate(StackSize, &c->StackLow, &c->StackHigh, &c->Slot))
        return STATUS_INSUFFICIENT_RESOURCES;
    c->Owned = TRUE;
    c->Entry = Entry;
    c->Argument = Argument;
    /* Initial frame as x86_switch_stacks unwinds it: the save area (default
     * control word and MXCSR; a zero XSAVE header, so XRSTOR puts every other
     * component in its initial state) with the stack pointer above it, r15
     * r14 r13 r12 rbx rbp, then the return into the trampoline; r12 carries
     * the context. After the ret, rsp is the 16-byte aligned top, so the
     * trampoline's call is ABI-aligned. */
    ULONG_PTR *sp = (ULONG_PTR *)c->StackHigh;
    *--sp = (ULONG_PTR)x86_context_trampoline;
    *--sp = 0;            /* rbp */
    *--sp = 0;            /* rbx */
    *--sp = (ULONG_PTR)c; /* r12 */
    *--sp = 0;            /* r13 */
    *--sp = 0;            /* r14 */
    *--sp = 0;            /* r15 */
    SIZE_T bytes = (SIZE_T)x86_fpu_area_bytes;
    UCHAR *fx = (UCHAR *)(((ULONG_PTR)sp - bytes - 8) & ~(ULONG_PTR)63);
    RtlZeroMemory(fx, bytes);
    *(USHORT *)fx = 0x037F;          /* FCW: all exceptions masked, 64-bit precision */
    *(ULONG *)(fx + 24) = 0x1F80;    /* MXCSR: all exceptions masked */
    *(ULONG_PTR *)(fx + bytes) = (ULONG_PTR)sp;
    c->Sp = fx;
    return STATUS_SUCCESS;
}

void arch_context_destroy(PKARCH_CONTEXT Context)
{
    X86_CONTEXT *c = (X86_CONTEXT *)Context;
    if (c->Owned)
        x86_stack_free(c->Slot);
    RtlZeroMemory(c, sizeof(*c));
}

/* Boot stacks of each processor, recorded by startup.c before it calls in. */
ULONG_PTR x86_boot_stack_low[ARCH_MAX_CPUS], x86_boot_stack_high[ARCH_MAX_CPUS];

void arch_context_init_current(PKARCH_CONTEXT Context)
{
    X86_CONTEXT *c = (X86_CONTEXT *)Context;
    RtlZeroMemory(c, sizeof(*c));
    ULONG n = KeGetCurrentProcessorIndex();
    c->StackLow = x86_boot_stack_low[n];
    c->StackHigh = x86_boot_stack_high[n];
}

void arch_context_switch(PKARCH_CONTEXT From, PKARCH_CONTEXT To)
{
    X86_CONTEXT *from = (X86_CONTEXT *)From;
    X86_CONTEXT *to = (X86_CONTEXT *)To;
    x86_switch_stacks(&from->Sp, to->Sp);
}

void arch_context_stack(PKARCH_CONTEXT Context, ULONG_PTR *Low, ULONG_PTR *High)
{
    X86_CONTEXT *c = (X86_CONTEXT *)Context;
    *Low = c->StackLow;
    *High = c->StackHigh;
}
