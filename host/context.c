/*
 * Host backend: kernel thread contexts.
 *
 * A context is a stack of its own (mmap'ed, with a PROT_NONE guard page below
 * it so an overflow faults instead of corrupting a neighbour) plus the stack
 * pointer saved by host_switch_stacks. Contexts migrate freely between CPU
 * threads: a context saved on CPU 1 may be resumed by CPU 0.
 *
 * The sanitizers track one stack per Linux thread, so every switch is
 * announced: ASan's start/finish_switch_fiber (so stack accesses on the new
 * stack are not reported as wild and the old stack's fake frames are kept) and
 * TSan's fibers (so its shadow call stacks and clocks follow the context).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ntos/ke.h>
#include "host_private.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define HOST_TSAN 1
#endif
#endif

#ifdef HOST_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#ifdef HOST_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

void host_switch_stacks(void **SaveSp, void *NewSp);
void host_context_trampoline(void);

typedef struct host_context {
    void *Sp;
    void *MapBase; /* NULL for a boot context (the CPU thread's own stack) */
    SIZE_T MapSize;
    void *StackLow;
    SIZE_T StackSize;
    PKARCH_CONTEXT_ENTRY Entry;
    PVOID Argument;
    void *TsanFiber;
    void *AsanFakeStack;
} host_context;

_Static_assert(sizeof(host_context) <= sizeof(KARCH_CONTEXT), "host context fits KARCH_CONTEXT");

static ULONG64 context_switches;

ULONG64 host_context_switches(void)
{
    return __atomic_load_n(&context_switches, __ATOMIC_RELAXED);
}

static void after_switch(host_context *self)
{
#ifdef HOST_ASAN
    __sanitizer_finish_switch_fiber(self->AsanFakeStack, NULL, NULL);
#else
    (void)self;
#endif
}

__attribute__((noreturn, used)) void host_context_start(host_context *self)
{
    after_switch(self);
    self->Entry(self->Argument);
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, 0, (ULONG_PTR)self->Entry, 0, 0);
}

NTSTATUS arch_context_create(PKARCH_CONTEXT Context, SIZE_T StackSize, PKARCH_CONTEXT_ENTRY Entry,
                             PVOID Argument)
{
    host_context *c = (host_context *)Context;
    long page = sysconf(_SC_PAGESIZE);
    memset(c, 0, sizeof(*c));
    StackSize = (StackSize + (SIZE_T)page - 1) & ~((SIZE_T)page - 1);
    if (StackSize == 0)
        return STATUS_INVALID_PARAMETER;
    SIZE_T map = StackSize + (SIZE_T)page;
    void *base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return STATUS_INSUFFICIENT_RESOURCES;
    mprotect(base, (size_t)page, PROT_NONE);
    c->MapBase = base;
    c->MapSize = map;
    c->StackLow = (char *)base + page;
    c->StackSize = StackSize;
    c->Entry = Entry;
    c->Argument = Argument;
#ifdef HOST_ASAN
    /* A terminated thread's frames never unwind, so ASan's redzone marks for
     * them stay in shadow memory; a new stack mapped at the same address must
     * not inherit them. */
    __asan_unpoison_memory_region(c->StackLow, StackSize);
#endif

    /* Initial frame as host_switch_stacks pops it: r15 r14 r13 r12 rbx rbp, then
     * the return address (the trampoline); r12 carries the context. */
    ULONG_PTR *sp = (ULONG_PTR *)((char *)c->StackLow + StackSize);
    /* After the pops and the ret, rsp is the 16-byte aligned stack top, so the
     * trampoline's call enters host_context_start with rsp = 8 (mod 16), as
     * the ABI requires at every function entry. */
    *--sp = (ULONG_PTR)host_context_trampoline;
    *--sp = 0;              /* rbp */
    *--sp = 0;              /* rbx */
    *--sp = (ULONG_PTR)c;   /* r12 */
    *--sp = 0;              /* r13 */
    *--sp = 0;              /* r14 */
    *--sp = 0;              /* r15 */
    c->Sp = sp;
#ifdef HOST_TSAN
    c->TsanFiber = __tsan_create_fiber(0);
#endif
    return STATUS_SUCCESS;
}

void arch_context_destroy(PKARCH_CONTEXT Context)
{
    host_context *c = (host_context *)Context;
#ifdef HOST_TSAN
    if (c->TsanFiber && c->MapBase)
        __tsan_destroy_fiber(c->TsanFiber);
#endif
    if (c->MapBase)
        munmap(c->MapBase, c->MapSize);
    memset(c, 0, sizeof(*c));
}

void arch_context_init_current(PKARCH_CONTEXT Context)
{
    host_context *c = (host_context *)Context;
    memset(c, 0, sizeof(*c));
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *low;
        size_t size;
        pthread_attr_getstack(&attr, &low, &size);
        c->StackLow = low;
        c->StackSize = size;
        pthread_attr_destroy(&attr);
    }
#ifdef HOST_TSAN
    c->TsanFiber = __tsan_get_current_fiber();
#endif
}

void arch_context_switch(PKARCH_CONTEXT From, PKARCH_CONTEXT To)
{
    host_context *from = (host_context *)From;
    host_context *to = (host_context *)To;
    __atomic_fetch_add(&context_switches, 1, __ATOMIC_RELAXED);
#ifdef HOST_ASAN
    __sanitizer_start_switch_fiber(&from->AsanFakeStack, to->StackLow, to->StackSize);
#endif
#ifdef HOST_TSAN
    __tsan_switch_to_fiber(to->TsanFiber, 0);
#endif
    host_switch_stacks(&from->Sp, to->Sp);
    after_switch(from);
}

void arch_context_stack(PKARCH_CONTEXT Context, ULONG_PTR *Low, ULONG_PTR *High)
{
    host_context *c = (host_context *)Context;
    *Low = (ULONG_PTR)c->StackLow;
    *High = (ULONG_PTR)c->StackLow + c->StackSize;
}
