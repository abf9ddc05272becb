/*
 * System time, interrupt time, tick count and the performance counter, and the
 * KUSER_SHARED_DATA page that publishes the first three.
 *
 * Locking and IRQL rules
 *  - Only KiUpdateTime (the clock interrupt on processor 0, CLOCK_LEVEL) and
 *    KiInitializeUserSharedData write the page. They serialise on KiTimeLock,
 *    a raw spin lock taken at CLOCK_LEVEL (both raise to it if called lower), so
 *    a test calling KiUpdateTime on another processor cannot interleave its
 *    stores with the clock's.
 *  - Readers take no lock at any IRQL: the KSYSTEM_TIME protocol (kuser.h)
 *    makes a lock-free read consistent, which is what driver binaries rely on
 *    when they read the page with the WDK's inline functions.
 *  - The coarse queries (KeQuerySystemTime, KeQueryInterruptTime,
 *    KeQueryTickCount) read the page exactly as those inline functions do, so
 *    they advance once per tick; the *Precise ones and
 *    KeQueryPerformanceCounter read the arch time sources directly.
 */
#include "ki.h"
#include <ntos/kuser.h>

DECLSPEC_ALIGN(4096) KUSER_SHARED_DATA KiUserSharedData;

static KSPIN_LOCK KiTimeLock;
static BOOLEAN KiUserSharedDataReady; /* KiTimeLock */
static ULONG64 KiLastInterruptTime;   /* KiTimeLock */

/* SystemTime sits at offset 0x14, so its 64-bit half is only 4-byte aligned. */
typedef ULONG64 __attribute__((aligned(4))) KI_ULONG64_A4;

/*
 * Publishes a KSYSTEM_TIME: High2Time, then LowPart and High1Time in a single
 * 64-bit store. The single store is what keeps the WDK's x64 inline readers (one
 * 64-bit load, no retry loop) from seeing a new LowPart with an old high half
 * when LowPart wraps. C11 atomics cannot express a 64-bit store to a 4-byte
 * aligned address (SystemTime), so this is the one instruction sequence written
 * out; x86 keeps the two stores in program order. It is invisible to
 * ThreadSanitizer on purpose: the readers that matter (driver binaries, user
 * mode) are not instrumented either, and consistency comes from the protocol.
 */
static void KiWriteSystemTime(volatile KSYSTEM_TIME *Time, ULONG64 Value)
{
    __asm__ volatile("movl %k1, 8(%0)\n\t"
                     "movq %2, 0(%0)"
                     :
                     : "r"(Time), "r"((ULONG)(Value >> 32)), "r"(Value)
                     : "memory");
}

/* The same load the WDK inlines into drivers for these three fields. */
static ULONG64 KiReadSystemTime64(const volatile KSYSTEM_TIME *Time)
{
    return *(const volatile KI_ULONG64_A4 *)&Time->LowPart;
}

static void KiCopyString(PWCHAR Destination, SIZE_T Capacity, PCWSTR Source)
{
    SIZE_T i = 0;
    for (; i + 1 < Capacity && Source[i] != 0; i++)
        Destination[i] = Source[i];
    Destination[i] = 0;
}

/* KiTimeLock held. */
static void KiFillStaticSharedData(void)
{
    PKUSER_SHARED_DATA s = &KiUserSharedData;
    /* Milliseconds per tick in 8.24 fixed point: what GetTickCount multiplies by. */
    s->TickCountMultiplier = (ULONG)(((ULONG64)KeMaximumIncrement << 24) / 10000);
    s->ImageNumberLow = IMAGE_FILE_MACHINE_AMD64;
    s->ImageNumberHigh = IMAGE_FILE_MACHINE_AMD64;
    KiCopyString(s->NtSystemRoot, RTL_NUMBER_OF(s->NtSystemRoot), u"C:\\Windows");
    s->LargePageMinimum = 0x200000;
    s->NtBuildNumber = NTOS_NT_BUILD_NUMBER;
    s->NtProductType = NtProductWinNt;
    s->ProductTypeIsValid = TRUE;
    s->NativeProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    s->NtMajorVersion = NTOS_NT_MAJOR_VERSION;
    s->NtMinorVersion = NTOS_NT_MINOR_VERSION;
    s->AlternativeArchitecture = StandardDesign;
    s->QpcFrequency = (LONGLONG)arch_cycle_frequency();
    s->ActiveGroupCount = 1;
}

/* KiTimeLock held. */
static void KiPublishTime(void)
{
    /* Two writers (the clock and a test) may sample the source in either order
     * under the lock; the published interrupt time must still never go back. */
    ULONG64 now = arch_interrupt_time();
    if (now < KiLastInterruptTime)
        now = KiLastInterruptTime;
    KiLastInterruptTime = now;

    /* The tick count is derived from interrupt time rather than counted, so a
     * tick lost to coalesced clock interrupts (the host's pending bit holds
     * one) or a jump of virtual time still keeps
     * TickCount * KeQueryTimeIncrement() == floor of the interrupt time. */
    ULONG64 ticks = now / KeMaximumIncrement;

    KiWriteSystemTime(&KiUserSharedData.InterruptTime, now);
    KiWriteSystemTime(&KiUserSharedData.SystemTime, arch_boot_system_time() + now);
    KiWriteSystemTime(&KiUserSharedData.TickCount, ticks);
    /* Old binaries computed GetTickCount from this; keep it coherent. */
    __atomic_store_n(&KiUserSharedData.TickCountLowDeprecated, (ULONG)ticks, __ATOMIC_RELAXED);

    /* arch_processor_count counts processors started, which may still grow
     * after processor 0's first tick; written only on change so that steady
     * state readers see no stores at all. */
    ULONG processors = arch_processor_count();
    if (KiUserSharedData.ActiveProcessorCount != processors) {
        KiUserSharedData.ActiveProcessorCount = processors;
        KiUserSharedData.UnparkedProcessorCount = (USHORT)processors;
    }
}

static KIRQL KiLockTime(void)
{
    KIRQL old = arch_get_irql();
    if (old < CLOCK_LEVEL)
        arch_set_irql(CLOCK_LEVEL);
    KiAcquireSpinLockRaw(&KiTimeLock);
    return old;
}

static void KiUnlockTime(KIRQL OldIrql)
{
    KiReleaseSpinLockRaw(&KiTimeLock);
    if (OldIrql < CLOCK_LEVEL)
        arch_set_irql(OldIrql);
}

VOID KiUpdateTime(void)
{
    KIRQL old = KiLockTime();
    if (!KiUserSharedDataReady) {
        KiFillStaticSharedData();
        KiUserSharedDataReady = TRUE;
    }
    KiPublishTime();
    KiUnlockTime(old);
}

/* A first tick's work: the static fields are filled once, under the lock. */
VOID KiInitializeUserSharedData(void)
{
    KiUpdateTime();
}

VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = (LONGLONG)KiReadSystemTime64(&KiUserSharedData.SystemTime);
}

ULONGLONG NTAPI KeQueryInterruptTime(void)
{
    return KiReadSystemTime64(&KiUserSharedData.InterruptTime);
}

VOID NTAPI KeQueryTickCount(PLARGE_INTEGER CurrentCount)
{
    CurrentCount->QuadPart = (LONGLONG)KiReadSystemTime64(&KiUserSharedData.TickCount);
}

VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = (LONGLONG)(arch_boot_system_time() + arch_interrupt_time());
}

/* QpcTimeStamp is documented as an out parameter; NULL is tolerated. */
ULONGLONG NTAPI KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp)
{
    ULONG64 qpc = arch_cycle_counter();
    ULONG64 now = arch_interrupt_time();
    if (QpcTimeStamp != NULL)
        *QpcTimeStamp = qpc;
    return now;
}

LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER counter;
    if (PerformanceFrequency != NULL)
        PerformanceFrequency->QuadPart = (LONGLONG)arch_cycle_frequency();
    counter.QuadPart = (LONGLONG)arch_cycle_counter();
    return counter;
}
