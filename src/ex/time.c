/*
 * Time conversions (TIME_FIELDS, seconds since 1970/1980), local time through
 * the time zone bias, UUID creation and the previous processor mode.
 *
 * Calendar
 *  System time counts 100 ns units since 1601-01-01 00:00 UTC in the
 *  proleptic Gregorian calendar. 1601 starts a 400-year cycle (146097 days,
 *  leap years every 4 except centuries not divisible by 400), which lets the
 *  conversion peel off 400-, 100-, 4- and 1-year blocks directly, with no
 *  loop over years. 1601-01-01 was a Monday.
 *  - RtlTimeFieldsToTime accepts what the documentation lists: Year
 *    1601..30827, Month 1..12, Day within the month (leap years included),
 *    Hour 0..23, Minute and Second 0..59, Milliseconds 0..999; Weekday is
 *    ignored. Anything else returns FALSE and leaves *Time untouched.
 *  - RtlTimeToTimeFields truncates to the millisecond. The documentation
 *    does not define negative times (before 1601); ntos converts them in the
 *    same proleptic calendar with floor division, so every 64-bit value has
 *    a consistent answer (years down to about -27627, which still fit in a
 *    CSHORT) and fields never come out negative or out of range.
 *
 * Time zone
 *  The bias (UTC minus local time, 100 ns units) lives in
 *  KUSER_SHARED_DATA.TimeZoneBias, where user mode and drivers read it; it is
 *  0 (UTC) until something sets it through ExpSetTimeZoneBias (the future
 *  time zone setting, as NT's executive does). It is written with the
 *  KSYSTEM_TIME protocol (High2Time, then LowPart and High1Time in one 64-bit
 *  store) under ExpTimeZoneLock, so writers are serialised and every reader
 *  gets a consistent value with one 64-bit load.
 *
 * UUIDs
 *  ExUuidCreate returns version 4 (random) UUIDs from a kernel generator: a
 *  64-bit counter advanced by a fixed odd step with an atomic add, each value
 *  passed through the SplitMix64 finaliser, a bijection, so no two calls in a
 *  boot get the same first half. The counter is seeded once, lazily, from
 *  arch_cycle_counter and arch_boot_system_time. It is not a cryptographic
 *  generator: UUIDs must be unique, not secret.
 *
 * Previous mode
 *  ExGetPreviousMode reads KTHREAD.PreviousMode: KernelMode for every
 *  system thread; the system service dispatcher (and tests that act as a
 *  user-mode caller) set it for the duration of a service.
 *
 * Locking and IRQL rules
 *  - The conversions touch only their arguments: any IRQL.
 *  - ExSystemTimeToLocalTime / ExLocalTimeToSystemTime read the bias without
 *    a lock: any IRQL. ExpSetTimeZoneBias takes ExpTimeZoneLock, a spin lock:
 *    <= DISPATCH_LEVEL.
 *  - ExUuidCreate is lock-free (documented for PASSIVE_LEVEL; works at any).
 */
#include <ntos/ex_lists.h>
#include <ntos/kuser.h>
#include <ntos/arch.h>

#define EXP_TICKS_PER_MS 10000LL
#define EXP_TICKS_PER_SECOND 10000000LL
#define EXP_MS_PER_DAY 86400000LL
#define EXP_DAYS_PER_400_YEARS 146097
#define EXP_DAYS_PER_100_YEARS 36524
#define EXP_DAYS_PER_4_YEARS 1461
#define EXP_MIN_YEAR 1601
#define EXP_MAX_YEAR 30827
#define EXP_TIME_1970 116444736000000000LL
#define EXP_TIME_1980 119600064000000000LL

static const USHORT ExpDaysBeforeMonth[2][13] = {
    {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
    {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
};

static BOOLEAN ExpIsLeapYear(LONG Year)
{
    return (Year % 4 == 0 && Year % 100 != 0) || Year % 400 == 0;
}

static LONGLONG ExpFloorDiv(LONGLONG Value, LONGLONG Divisor)
{
    LONGLONG q = Value / Divisor;
    if (Value % Divisor != 0 && Value < 0)
        q--;
    return q;
}

VOID NTAPI RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields)
{
    LONGLONG ms = ExpFloorDiv(Time->QuadPart, EXP_TICKS_PER_MS);
    LONGLONG days = ExpFloorDiv(ms, EXP_MS_PER_DAY);
    LONG msOfDay = (LONG)(ms - days * EXP_MS_PER_DAY);

    LONGLONG cycles = ExpFloorDiv(days, EXP_DAYS_PER_400_YEARS);
    LONG day = (LONG)(days - cycles * EXP_DAYS_PER_400_YEARS);
    /* The last century and the last year of a block are one day longer, so a
     * quotient of 4 means "the last day of the last one". */
    LONG centuries = day / EXP_DAYS_PER_100_YEARS;
    if (centuries == 4)
        centuries = 3;
    day -= centuries * EXP_DAYS_PER_100_YEARS;
    LONG blocks = day / EXP_DAYS_PER_4_YEARS;
    day -= blocks * EXP_DAYS_PER_4_YEARS;
    LONG years = day / 365;
    if (years == 4)
        years = 3;
    day -= years * 365;

    LONG year = (LONG)(EXP_MIN_YEAR + cycles * 400 + centuries * 100 + blocks * 4 + years);
    const USHORT *before = ExpDaysBeforeMonth[ExpIsLeapYear(year)];
    LONG month = 1;
    while (day >= before[month])
        month++;

    TimeFields->Year = (CSHORT)year;
    TimeFields->Month = (CSHORT)month;
    TimeFields->Day = (CSHORT)(day - before[month - 1] + 1);
    TimeFields->Hour = (CSHORT)(msOfDay / 3600000);
    TimeFields->Minute = (CSHORT)(msOfDay / 60000 % 60);
    TimeFields->Second = (CSHORT)(msOfDay / 1000 % 60);
    TimeFields->Milliseconds = (CSHORT)(msOfDay % 1000);
    TimeFields->Weekday = (CSHORT)(days - ExpFloorDiv(days + 1, 7) * 7 + 1);
}

BOOLEAN NTAPI RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time)
{
    LONG year = TimeFields->Year, month = TimeFields->Month, day = TimeFields->Day;
    if (year < EXP_MIN_YEAR || year > EXP_MAX_YEAR || month < 1 || month > 12)
        return FALSE;
    const USHORT *before = ExpDaysBeforeMonth[ExpIsLeapYear(year)];
    if (day < 1 || day > before[month] - before[month - 1])
        return FALSE;
    if (TimeFields->Hour < 0 || TimeFields->Hour > 23 || TimeFields->Minute < 0 || TimeFields->Minute > 59 ||
        TimeFields->Second < 0 || TimeFields->Second > 59 || TimeFields->Milliseconds < 0 ||
        TimeFields->Milliseconds > 999)
        return FALSE;

    /* Leap days in 1601..year-1: 1600 is a multiple of 400, so counting from
     * 1601 is counting multiples among the first y years. */
    LONGLONG y = year - EXP_MIN_YEAR;
    LONGLONG days = y * 365 + y / 4 - y / 100 + y / 400 + before[month - 1] + day - 1;
    LONGLONG ms = (((days * 24 + TimeFields->Hour) * 60 + TimeFields->Minute) * 60 + TimeFields->Second) * 1000 +
                  TimeFields->Milliseconds;
    Time->QuadPart = ms * EXP_TICKS_PER_MS;
    return TRUE;
}

static BOOLEAN ExpTimeToSecondsSince(LONGLONG Epoch, PLARGE_INTEGER Time, PULONG ElapsedSeconds)
{
    if (Time->QuadPart < Epoch)
        return FALSE;
    LONGLONG seconds = (Time->QuadPart - Epoch) / EXP_TICKS_PER_SECOND;
    if (seconds > (LONGLONG)MAXULONG)
        return FALSE;
    *ElapsedSeconds = (ULONG)seconds;
    return TRUE;
}

BOOLEAN NTAPI RtlTimeToSecondsSince1970(PLARGE_INTEGER Time, PULONG ElapsedSeconds)
{
    return ExpTimeToSecondsSince(EXP_TIME_1970, Time, ElapsedSeconds);
}

VOID NTAPI RtlSecondsSince1970ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time)
{
    Time->QuadPart = (LONGLONG)ElapsedSeconds * EXP_TICKS_PER_SECOND + EXP_TIME_1970;
}

BOOLEAN NTAPI RtlTimeToSecondsSince1980(PLARGE_INTEGER Time, PULONG ElapsedSeconds)
{
    return ExpTimeToSecondsSince(EXP_TIME_1980, Time, ElapsedSeconds);
}

VOID NTAPI RtlSecondsSince1980ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time)
{
    Time->QuadPart = (LONGLONG)ElapsedSeconds * EXP_TICKS_PER_SECOND + EXP_TIME_1980;
}

/* ---- time zone ------------------------------------------------------------------------ */

static KSPIN_LOCK ExpTimeZoneLock;

/* TimeZoneBias sits at offset 0x20 of a page-aligned structure: its first
 * 64 bits are naturally aligned, so C11 atomics can express the protocol. */
static volatile ULONG64 *ExpTimeZoneBiasLow(void)
{
    return (volatile ULONG64 *)&KiUserSharedData.TimeZoneBias.LowPart;
}

LONGLONG ExpQueryTimeZoneBias(void)
{
    return (LONGLONG)__atomic_load_n(ExpTimeZoneBiasLow(), __ATOMIC_ACQUIRE);
}

VOID ExpSetTimeZoneBias(LONGLONG Bias)
{
    KIRQL old;
    KeAcquireSpinLock(&ExpTimeZoneLock, &old);
    __atomic_store_n(&KiUserSharedData.TimeZoneBias.High2Time, (LONG)((ULONGLONG)Bias >> 32), __ATOMIC_RELAXED);
    __atomic_store_n(ExpTimeZoneBiasLow(), (ULONG64)Bias, __ATOMIC_RELEASE);
    __atomic_fetch_add(&KiUserSharedData.TimeZoneBiasStamp, 1, __ATOMIC_RELEASE);
    KeReleaseSpinLock(&ExpTimeZoneLock, old);
}

VOID NTAPI ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime)
{
    LocalTime->QuadPart = SystemTime->QuadPart - ExpQueryTimeZoneBias();
}

VOID NTAPI ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime)
{
    SystemTime->QuadPart = LocalTime->QuadPart + ExpQueryTimeZoneBias();
}

/* ---- UUIDs ---------------------------------------------------------------------------- */

#define EXP_UUID_STEP 0x9E3779B97F4A7C15ULL

static volatile ULONG64 ExpUuidState; /* 0 until seeded */

static ULONG64 ExpMix64(ULONG64 Value)
{
    Value = (Value ^ (Value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    Value = (Value ^ (Value >> 27)) * 0x94D049BB133111EBULL;
    return Value ^ (Value >> 31);
}

static ULONG64 ExpUuidNext(void)
{
    if (__atomic_load_n(&ExpUuidState, __ATOMIC_RELAXED) == 0) {
        ULONG64 seed = ExpMix64(arch_cycle_counter() ^ ExpMix64(arch_boot_system_time())) | 1;
        ULONG64 expected = 0;
        /* Losing the race is fine: the winner's seed serves both. */
        __atomic_compare_exchange_n(&ExpUuidState, &expected, seed, FALSE, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    return ExpMix64(__atomic_add_fetch(&ExpUuidState, EXP_UUID_STEP, __ATOMIC_RELAXED));
}

NTSTATUS NTAPI ExUuidCreate(PUUID Uuid)
{
    ULONG64 high = ExpUuidNext();
    ULONG64 low = ExpUuidNext();
    Uuid->Data1 = (ULONG)(high >> 32);
    Uuid->Data2 = (USHORT)(high >> 16);
    Uuid->Data3 = (USHORT)(((USHORT)high & 0x0FFF) | 0x4000); /* version 4 */
    for (ULONG i = 0; i < 8; i++)
        Uuid->Data4[i] = (UCHAR)(low >> (8 * i));
    Uuid->Data4[0] = (UCHAR)((Uuid->Data4[0] & 0x3F) | 0x80); /* RFC 4122 variant */
    return STATUS_SUCCESS;
}

/* ---- previous mode -------------------------------------------------------------------- */

KPROCESSOR_MODE NTAPI ExGetPreviousMode(void)
{
    return KeGetCurrentThread()->PreviousMode;
}
