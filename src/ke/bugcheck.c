/*
 * Bug checks.
 *
 * KeBugCheckEx stops the system: it prints the code and the four parameters
 * on the console, freezes the other processors and halts. It may be called at
 * any IRQL, with interrupts on or off, and must not depend on anything that
 * could itself be broken (no pool, no locks that the caller might hold).
 *
 * Tests can catch a bug check instead: a thread arms a KBUGCHECK_CATCH and a
 * bug check raised by that same thread unwinds to it (ARCH_SETJMP returns 1),
 * with IRQL and interrupt flag restored to their values at arm time. Catch
 * frames are kept in one list guarded by a test-and-set lock that is only held
 * for a few instructions and never while calling out, so it cannot deadlock
 * with the code under test.
 */
#include <ntos/ke.h>
#include <ntos/kebugcheck.h>
#include <ntos/arch.h>

static PKBUGCHECK_CATCH KiCatchList;
static volatile LONG KiCatchLock;
static ULONG KiBugCheckTotal;
static volatile LONG KiBugCheckActive;

static void KiCatchAcquire(void)
{
    while (__atomic_exchange_n(&KiCatchLock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
}

static void KiCatchRelease(void)
{
    __atomic_store_n(&KiCatchLock, 0, __ATOMIC_RELEASE);
}

static PVOID KiCatchOwner(void)
{
    PVOID t = KeGetCurrentThread();
    return t ? t : (PVOID)KeGetPcr();
}

VOID KiArmBugCheckCatch(PKBUGCHECK_CATCH Catch)
{
    Catch->Owner = KiCatchOwner();
    Catch->Irql = arch_get_irql();
    Catch->InterruptState = arch_interrupts_enabled();
    Catch->Data.BugCheckDataSize = sizeof(KBUGCHECK_DATA);
    Catch->Data.Code = 0;
    KiCatchAcquire();
    Catch->Previous = KiCatchList;
    KiCatchList = Catch;
    KiCatchRelease();
}

VOID KiDisarmBugCheckCatch(PKBUGCHECK_CATCH Catch)
{
    KiCatchAcquire();
    for (PKBUGCHECK_CATCH *p = &KiCatchList; *p; p = &(*p)->Previous) {
        if (*p == Catch) {
            *p = Catch->Previous;
            break;
        }
    }
    KiCatchRelease();
}

ULONG KiBugCheckCount(void)
{
    return __atomic_load_n(&KiBugCheckTotal, __ATOMIC_RELAXED);
}

static PKBUGCHECK_CATCH KiTakeCatch(void)
{
    PVOID owner = KiCatchOwner();
    PKBUGCHECK_CATCH found = NULL;
    KiCatchAcquire();
    for (PKBUGCHECK_CATCH *p = &KiCatchList; *p; p = &(*p)->Previous) {
        if ((*p)->Owner == owner) {
            found = *p;
            *p = found->Previous;
            break;
        }
    }
    KiCatchRelease();
    return found;
}

static const struct {
    ULONG Code;
    const char *Name;
} KiBugCheckNames[] = {
    {IRQL_NOT_GREATER_OR_EQUAL, "IRQL_NOT_GREATER_OR_EQUAL"},
    {IRQL_NOT_LESS_OR_EQUAL, "IRQL_NOT_LESS_OR_EQUAL"},
    {SPIN_LOCK_ALREADY_OWNED, "SPIN_LOCK_ALREADY_OWNED"},
    {SPIN_LOCK_NOT_OWNED, "SPIN_LOCK_NOT_OWNED"},
    {THREAD_NOT_MUTEX_OWNER, "THREAD_NOT_MUTEX_OWNER"},
    {KMODE_EXCEPTION_NOT_HANDLED, "KMODE_EXCEPTION_NOT_HANDLED"},
    {BAD_POOL_HEADER, "BAD_POOL_HEADER"},
    {BAD_POOL_CALLER, "BAD_POOL_CALLER"},
    {MEMORY_MANAGEMENT, "MEMORY_MANAGEMENT"},
    {ATTEMPTED_SWITCH_FROM_DPC, "ATTEMPTED_SWITCH_FROM_DPC"},
    {DRIVER_IRQL_NOT_LESS_OR_EQUAL, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
    {DRIVER_VERIFIER_DETECTED_VIOLATION, "DRIVER_VERIFIER_DETECTED_VIOLATION"},
    {MULTIPLE_IRP_COMPLETE_REQUESTS, "MULTIPLE_IRP_COMPLETE_REQUESTS"},
    {KERNEL_SECURITY_CHECK_FAILURE, "KERNEL_SECURITY_CHECK_FAILURE"},
    {MANUALLY_INITIATED_CRASH, "MANUALLY_INITIATED_CRASH"},
    {UNEXPECTED_KERNEL_MODE_TRAP, "UNEXPECTED_KERNEL_MODE_TRAP"},
    {PAGE_FAULT_IN_NONPAGED_AREA, "PAGE_FAULT_IN_NONPAGED_AREA"},
    {SYSTEM_THREAD_EXCEPTION_NOT_HANDLED, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"},
    {TIMER_OR_DPC_INVALID, "TIMER_OR_DPC_INVALID"},
    {INVALID_SOFTWARE_INTERRUPT, "INVALID_SOFTWARE_INTERRUPT"},
    {APC_INDEX_MISMATCH, "APC_INDEX_MISMATCH"},
    {REFERENCE_BY_POINTER, "REFERENCE_BY_POINTER"},
    {INVALID_KERNEL_HANDLE, "INVALID_KERNEL_HANDLE"},
};

static SIZE_T KiAppend(char *buf, SIZE_T pos, SIZE_T size, const char *s)
{
    while (*s && pos + 1 < size)
        buf[pos++] = *s++;
    return pos;
}

static SIZE_T KiAppendHex(char *buf, SIZE_T pos, SIZE_T size, ULONG64 v, int digits)
{
    static const char hex[] = "0123456789ABCDEF";
    pos = KiAppend(buf, pos, size, "0x");
    for (int i = digits - 1; i >= 0 && pos + 1 < size; i--)
        buf[pos++] = hex[(v >> (i * 4)) & 0xF];
    return pos;
}

VOID NTAPI KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
    __atomic_fetch_add(&KiBugCheckTotal, 1, __ATOMIC_RELAXED);

    PKBUGCHECK_CATCH c = KiTakeCatch();
    if (c != NULL) {
        c->Data.Code = BugCheckCode;
        c->Data.Parameter[0] = P1;
        c->Data.Parameter[1] = P2;
        c->Data.Parameter[2] = P3;
        c->Data.Parameter[3] = P4;
        /* Registered bug-check callbacks run for a caught bug check too, so
         * that they can be tested; they stay registered. */
        KiInvokeBugCheckCallbacks(FALSE);
        /* Raise-then-lower order matters: restore the flag first so that
         * lowering the IRQL does not deliver into a frame that disabled them. */
        arch_disable_interrupts();
        arch_set_irql(c->Irql);
        arch_restore_interrupts(c->InterruptState);
        arch_longjmp(c->JumpBuffer);
    }

    arch_disable_interrupts();
    /* A bug check while bug-checking: the first one's report is what matters. */
    if (__atomic_exchange_n(&KiBugCheckActive, 1, __ATOMIC_ACQ_REL))
        arch_halt_system();

    KAFFINITY others = 0;
    ULONG self = KeGetCurrentProcessorIndex();
    for (ULONG n = 0; n < arch_processor_count(); n++)
        if (n != self)
            others |= (KAFFINITY)1 << n;
    if (others)
        arch_send_ipi(others, ARCH_IPI_FREEZE);

    char line[256];
    SIZE_T pos = 0;
    pos = KiAppend(line, pos, sizeof(line), "\n*** STOP: ");
    pos = KiAppendHex(line, pos, sizeof(line), BugCheckCode, 8);
    pos = KiAppend(line, pos, sizeof(line), " (");
    ULONG_PTR params[4] = {P1, P2, P3, P4};
    for (int i = 0; i < 4; i++) {
        pos = KiAppendHex(line, pos, sizeof(line), params[i], 16);
        pos = KiAppend(line, pos, sizeof(line), i < 3 ? "," : ")\n");
    }
    for (SIZE_T i = 0; i < RTL_NUMBER_OF(KiBugCheckNames); i++) {
        if (KiBugCheckNames[i].Code == BugCheckCode) {
            pos = KiAppend(line, pos, sizeof(line), KiBugCheckNames[i].Name);
            pos = KiAppend(line, pos, sizeof(line), "\n");
            break;
        }
    }
    arch_console_write(line, pos);
    KiInvokeBugCheckCallbacks(TRUE);
    arch_halt_system();
}

VOID NTAPI KeBugCheck(ULONG BugCheckCode)
{
    KeBugCheckEx(BugCheckCode, 0, 0, 0, 0);
}
