/*
 * Time conversions, local time, UUIDs and the previous mode.
 *
 * The calendar is checked three ways: known dates, a day-by-day sweep against
 * a naive calendar counter written independently here, and random round trips
 * with a fixed seed.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_lists.h>
#include <ntos/kuser.h>
#include <ntos/rtl.h>

#define TICKS_PER_MS 10000LL
#define TICKS_PER_DAY 864000000000LL
#define TIME_1970 116444736000000000LL

static TIME_FIELDS tf(int y, int mo, int d, int h, int mi, int s, int ms)
{
    TIME_FIELDS f = {(CSHORT)y, (CSHORT)mo, (CSHORT)d, (CSHORT)h, (CSHORT)mi, (CSHORT)s, (CSHORT)ms, 0};
    return f;
}

static void assert_fields(const TIME_FIELDS *f, int y, int mo, int d, int h, int mi, int s, int ms, int wd)
{
    assert_int_equal(f->Year, y);
    assert_int_equal(f->Month, mo);
    assert_int_equal(f->Day, d);
    assert_int_equal(f->Hour, h);
    assert_int_equal(f->Minute, mi);
    assert_int_equal(f->Second, s);
    assert_int_equal(f->Milliseconds, ms);
    assert_int_equal(f->Weekday, wd);
}

static LONGLONG to_time(TIME_FIELDS f)
{
    LARGE_INTEGER t = {.QuadPart = -12345};
    assert_true(RtlTimeFieldsToTime(&f, &t));
    return t.QuadPart;
}

static TIME_FIELDS to_fields(LONGLONG time)
{
    LARGE_INTEGER t = {.QuadPart = time};
    TIME_FIELDS f;
    RtlTimeToTimeFields(&t, &f);
    return f;
}

/* ---- known dates --------------------------------------------------------------------------- */

static void time_known_dates(void **state)
{
    TIME_FIELDS f;
    assert_int_equal(to_time(tf(1601, 1, 1, 0, 0, 0, 0)), 0);
    f = to_fields(0);
    assert_fields(&f, 1601, 1, 1, 0, 0, 0, 0, 1); /* a Monday */

    assert_int_equal(to_time(tf(1970, 1, 1, 0, 0, 0, 0)), TIME_1970);
    f = to_fields(TIME_1970);
    assert_fields(&f, 1970, 1, 1, 0, 0, 0, 0, 4); /* a Thursday */

    /* 2000 is a leap year (divisible by 400), 1900 and 2100 are not. */
    LONGLONG leap = to_time(tf(2000, 2, 29, 12, 34, 56, 789));
    f = to_fields(leap);
    assert_fields(&f, 2000, 2, 29, 12, 34, 56, 789, 2); /* a Tuesday */
    f = to_fields(leap + 12 * 3600 * 1000 * TICKS_PER_MS);
    assert_fields(&f, 2000, 3, 1, 0, 34, 56, 789, 3);
    f = to_fields(to_time(tf(1900, 2, 28, 0, 0, 0, 0)) + TICKS_PER_DAY);
    assert_fields(&f, 1900, 3, 1, 0, 0, 0, 0, 4);
    f = to_fields(to_time(tf(2100, 2, 28, 0, 0, 0, 0)) + TICKS_PER_DAY);
    assert_fields(&f, 2100, 3, 1, 0, 0, 0, 0, 1);
    f = to_fields(to_time(tf(2024, 2, 28, 0, 0, 0, 0)) + TICKS_PER_DAY);
    assert_fields(&f, 2024, 2, 29, 0, 0, 0, 0, 4);

    /* Last moments of a year and of the range. */
    f = to_fields(to_time(tf(1999, 12, 31, 23, 59, 59, 999)));
    assert_fields(&f, 1999, 12, 31, 23, 59, 59, 999, 5);
    f = to_fields(to_time(tf(1999, 12, 31, 23, 59, 59, 999)) + TICKS_PER_MS);
    assert_fields(&f, 2000, 1, 1, 0, 0, 0, 0, 6);
    LONGLONG last = to_time(tf(30827, 12, 31, 23, 59, 59, 999));
    f = to_fields(last);
    assert_fields(&f, 30827, 12, 31, 23, 59, 59, 999, 5);
    f = to_fields(last + TICKS_PER_MS);
    assert_int_equal(f.Year, 30828);
    /* The largest time: 30828-09-14 02:48:05.477 (a Thursday). */
    f = to_fields(0x7FFFFFFFFFFFFFFFLL);
    assert_fields(&f, 30828, 9, 14, 2, 48, 5, 477, 4);

    /* Sub-millisecond units are truncated. */
    f = to_fields(TIME_1970 + 9999);
    assert_fields(&f, 1970, 1, 1, 0, 0, 0, 0, 4);
    f = to_fields(TIME_1970 + 10000);
    assert_int_equal(f.Milliseconds, 1);
}

static void time_before_1601(void **state)
{
    /* Outside the documented range: the same calendar, run backwards. */
    TIME_FIELDS f = to_fields(-1);
    assert_fields(&f, 1600, 12, 31, 23, 59, 59, 999, 0); /* a Sunday */
    f = to_fields(-TICKS_PER_DAY * 366);
    assert_fields(&f, 1600, 1, 1, 0, 0, 0, 0, 6); /* 1600 is a leap year */
    f = to_fields((LONGLONG)0x8000000000000000ULL);
    assert_in_range(f.Month, 1, 12);
    assert_in_range(f.Day, 1, 31);
    assert_in_range(f.Hour, 0, 23);
    assert_in_range(f.Weekday, 0, 6);
    assert_true(f.Year < -27000);
}

/* ---- independent sweep ------------------------------------------------------------------------ */

static int naive_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

static void time_day_by_day_sweep(void **state)
{
    int y = 1601, m = 1, d = 1, wd = 1;
    LONGLONG day = 0;
    uint64_t rng = 42;
    while (y < 2801) {
        /* A random moment of the day, so every field is exercised. */
        LONGLONG msOfDay = (LONGLONG)(ntos_test_rand(&rng) % 86400000ULL);
        LONGLONG t = day * TICKS_PER_DAY + msOfDay * TICKS_PER_MS;
        TIME_FIELDS f = to_fields(t);
        if (f.Year != y || f.Month != m || f.Day != d || f.Weekday != wd ||
            f.Milliseconds != msOfDay % 1000 || f.Hour != msOfDay / 3600000)
            fail_msg("day %lld: got %d-%d-%d wd %d, want %d-%d-%d wd %d", (long long)day, f.Year, f.Month, f.Day,
                     f.Weekday, y, m, d, wd);
        if (to_time(f) != t)
            fail_msg("day %lld: fields do not convert back", (long long)day);
        day++;
        wd = (wd + 1) % 7;
        if (++d > naive_days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

/* ---- random round trips --------------------------------------------------------------------------- */

static void time_random_round_trips(void **state)
{
    uint64_t rng = 0x5EED1234ULL;
    LONGLONG max = to_time(tf(30827, 12, 31, 23, 59, 59, 999));
    for (int i = 0; i < 20000; i++) {
        /* time -> fields -> time, exact up to the millisecond */
        LONGLONG t = (LONGLONG)(ntos_test_rand(&rng) % (uint64_t)(max + 1));
        TIME_FIELDS f = to_fields(t);
        assert_int_equal(to_time(f), t - t % TICKS_PER_MS);

        /* fields -> time -> fields, including the weekday */
        int y = 1601 + (int)(ntos_test_rand(&rng) % (30827 - 1601 + 1));
        int m = 1 + (int)(ntos_test_rand(&rng) % 12);
        int d = 1 + (int)(ntos_test_rand(&rng) % (uint64_t)naive_days_in_month(y, m));
        TIME_FIELDS in = tf(y, m, d, (int)(ntos_test_rand(&rng) % 24), (int)(ntos_test_rand(&rng) % 60),
                            (int)(ntos_test_rand(&rng) % 60), (int)(ntos_test_rand(&rng) % 1000));
        LONGLONG back = to_time(in);
        TIME_FIELDS out = to_fields(back);
        assert_fields(&out, in.Year, in.Month, in.Day, in.Hour, in.Minute, in.Second, in.Milliseconds,
                      (int)((back / TICKS_PER_DAY + 1) % 7));
    }
}

/* ---- invalid fields --------------------------------------------------------------------------- */

static void time_invalid_fields(void **state)
{
    static const TIME_FIELDS bad[] = {
        {1600, 12, 31, 23, 59, 59, 999, 0}, {30828, 1, 1, 0, 0, 0, 0, 0}, {-1, 1, 1, 0, 0, 0, 0, 0},
        {2000, 0, 1, 0, 0, 0, 0, 0},        {2000, 13, 1, 0, 0, 0, 0, 0}, {2000, -1, 1, 0, 0, 0, 0, 0},
        {2000, 1, 0, 0, 0, 0, 0, 0},        {2000, 1, 32, 0, 0, 0, 0, 0}, {2000, 4, 31, 0, 0, 0, 0, 0},
        {1900, 2, 29, 0, 0, 0, 0, 0},       {2100, 2, 29, 0, 0, 0, 0, 0}, {2001, 2, 29, 0, 0, 0, 0, 0},
        {2000, 2, 30, 0, 0, 0, 0, 0},       {2000, 1, 1, 24, 0, 0, 0, 0}, {2000, 1, 1, -1, 0, 0, 0, 0},
        {2000, 1, 1, 0, 60, 0, 0, 0},       {2000, 1, 1, 0, -1, 0, 0, 0}, {2000, 1, 1, 0, 0, 60, 0, 0},
        {2000, 1, 1, 0, 0, -1, 0, 0},       {2000, 1, 1, 0, 0, 0, 1000, 0}, {2000, 1, 1, 0, 0, 0, -1, 0},
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(bad); i++) {
        TIME_FIELDS f = bad[i];
        LARGE_INTEGER t = {.QuadPart = 0x1122334455667788LL};
        if (RtlTimeFieldsToTime(&f, &t))
            fail_msg("case %u accepted", (unsigned)i);
        assert_int_equal(t.QuadPart, 0x1122334455667788LL); /* untouched */
    }
    /* The weekday is ignored on input, and every month's last day is valid. */
    TIME_FIELDS f = tf(2023, 6, 30, 0, 0, 0, 0);
    f.Weekday = 77;
    LARGE_INTEGER t;
    assert_true(RtlTimeFieldsToTime(&f, &t));
    for (int m = 1; m <= 12; m++) {
        f = tf(2023, m, naive_days_in_month(2023, m), 23, 59, 59, 999);
        assert_true(RtlTimeFieldsToTime(&f, &t));
    }
}

/* ---- seconds since 1970 / 1980 --------------------------------------------------------------- */

static void time_seconds_since_epochs(void **state)
{
    LARGE_INTEGER t;
    ULONG s = 77;
    t.QuadPart = TIME_1970;
    assert_true(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, 0);
    t.QuadPart = to_time(tf(2000, 1, 1, 0, 0, 0, 0)) + 9999999; /* fractions truncate */
    assert_true(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, 946684800);
    t.QuadPart = TIME_1970 - 1;
    s = 77;
    assert_false(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, 77);
    t.QuadPart = TIME_1970 + 0xFFFFFFFFLL * 10000000;
    assert_true(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, 0xFFFFFFFF);
    t.QuadPart += 10000000; /* 2106-02-07 06:28:16 */
    assert_false(RtlTimeToSecondsSince1970(&t, &s));
    RtlSecondsSince1970ToTime(946684800, &t);
    assert_int_equal(t.QuadPart, to_time(tf(2000, 1, 1, 0, 0, 0, 0)));
    RtlSecondsSince1970ToTime(0xFFFFFFFF, &t);
    TIME_FIELDS f = to_fields(t.QuadPart);
    assert_fields(&f, 2106, 2, 7, 6, 28, 15, 0, 0);

    LONGLONG t1980 = to_time(tf(1980, 1, 1, 0, 0, 0, 0));
    t.QuadPart = t1980;
    assert_true(RtlTimeToSecondsSince1980(&t, &s));
    assert_int_equal(s, 0);
    t.QuadPart = TIME_1970;
    assert_false(RtlTimeToSecondsSince1980(&t, &s));
    t.QuadPart = to_time(tf(2000, 1, 1, 0, 0, 0, 0));
    assert_true(RtlTimeToSecondsSince1980(&t, &s));
    assert_int_equal(s, 946684800 - 315532800);
    RtlSecondsSince1980ToTime(0, &t);
    assert_int_equal(t.QuadPart, t1980);
}

/* ---- local time -------------------------------------------------------------------------------- */

static void time_local_conversions(void **state)
{
    LARGE_INTEGER sys = {.QuadPart = to_time(tf(2024, 7, 1, 12, 0, 0, 0))};
    LARGE_INTEGER local, back;
    LONGLONG saved = ExpQueryTimeZoneBias();
    assert_int_equal(saved, 0); /* UTC until a time zone is set */
    ExSystemTimeToLocalTime(&sys, &local);
    assert_int_equal(local.QuadPart, sys.QuadPart);

    LONG stamp = KiUserSharedData.TimeZoneBiasStamp;
    /* UTC-5: the bias (UTC - local) is +5 hours. */
    LONGLONG fiveHours = 5LL * 3600 * 10000000;
    ExpSetTimeZoneBias(fiveHours);
    assert_int_equal(ExpQueryTimeZoneBias(), fiveHours);
    assert_int_equal(KiUserSharedData.TimeZoneBias.High1Time, KiUserSharedData.TimeZoneBias.High2Time);
    assert_int_equal(KiUserSharedData.TimeZoneBias.LowPart, (ULONG)fiveHours);
    assert_int_equal(KiUserSharedData.TimeZoneBiasStamp, stamp + 1);
    ExSystemTimeToLocalTime(&sys, &local);
    TIME_FIELDS f = to_fields(local.QuadPart);
    assert_fields(&f, 2024, 7, 1, 7, 0, 0, 0, 1);
    ExLocalTimeToSystemTime(&local, &back);
    assert_int_equal(back.QuadPart, sys.QuadPart);

    /* UTC+9:30: a negative bias, published as a signed 64-bit value. */
    LONGLONG bias = -(9LL * 3600 + 30 * 60) * 10000000;
    ExpSetTimeZoneBias(bias);
    assert_int_equal(KiUserSharedData.TimeZoneBias.High1Time, (LONG)(bias >> 32));
    assert_int_equal(KiUserSharedData.TimeZoneBias.High2Time, (LONG)(bias >> 32));
    assert_true(KiUserSharedData.TimeZoneBias.High1Time < 0);
    ExSystemTimeToLocalTime(&sys, &local);
    f = to_fields(local.QuadPart);
    assert_fields(&f, 2024, 7, 1, 21, 30, 0, 0, 1);
    ExLocalTimeToSystemTime(&local, &back);
    assert_int_equal(back.QuadPart, sys.QuadPart);

    ExpSetTimeZoneBias(saved);
    ExSystemTimeToLocalTime(&sys, &local);
    assert_int_equal(local.QuadPart, sys.QuadPart);
}

/* ---- UUIDs ---------------------------------------------------------------------------------------- */

#define UUID_THREADS 4
#define UUID_PER_THREAD 256
#define UUID_TOTAL (UUID_THREADS * UUID_PER_THREAD)

static UUID uuids[UUID_TOTAL];
static volatile LONG uuid_failures;

static VOID NTAPI uuid_thread(PVOID Context)
{
    ULONG t = (ULONG)(ULONG_PTR)Context;
    for (ULONG i = 0; i < UUID_PER_THREAD; i++)
        if (ExUuidCreate(&uuids[t * UUID_PER_THREAD + i]) != STATUS_SUCCESS)
            __atomic_fetch_add(&uuid_failures, 1, __ATOMIC_RELAXED);
}

static BOOLEAN uuid_equal(const UUID *a, const UUID *b)
{
    return RtlCompareMemory(a, b, sizeof(UUID)) == sizeof(UUID);
}

static void uuid_version4_and_unique(void **state)
{
    static KTHREAD threads[UUID_THREADS];
    uuid_failures = 0;
    /* Half from this thread, half from threads on every processor at once. */
    for (ULONG i = 0; i < UUID_PER_THREAD; i++)
        assert_int_equal(ExUuidCreate(&uuids[i]), STATUS_SUCCESS);
    for (ULONG t = 1; t < UUID_THREADS; t++)
        kt_start(&threads[t], uuid_thread, (PVOID)(ULONG_PTR)t, 8);
    for (ULONG t = 1; t < UUID_THREADS; t++)
        kt_join(&threads[t]);
    assert_int_equal(uuid_failures, 0);
    ULONG ones = 0;
    for (ULONG i = 0; i < UUID_TOTAL; i++) {
        assert_int_equal(uuids[i].Data3 >> 12, 4);        /* version 4 */
        assert_int_equal(uuids[i].Data4[0] & 0xC0, 0x80); /* RFC 4122 variant */
        ones += (ULONG)__builtin_popcount(uuids[i].Data1);
        for (ULONG j = 0; j < i; j++)
            if (uuid_equal(&uuids[i], &uuids[j]))
                fail_msg("UUIDs %u and %u are equal", (unsigned)i, (unsigned)j);
    }
    /* Random bits: about half of Data1's bits are set. */
    assert_in_range(ones, UUID_TOTAL * 32 * 45 / 100, UUID_TOTAL * 32 * 55 / 100);
}

/* ---- previous mode ------------------------------------------------------------------------------ */

static volatile LONG thread_mode;

static VOID NTAPI mode_thread(PVOID Context)
{
    thread_mode = ExGetPreviousMode();
}

static void previous_mode_is_kernel(void **state)
{
    static KTHREAD t;
    assert_int_equal(ExGetPreviousMode(), KernelMode);
    thread_mode = 99;
    kt_start(&t, mode_thread, NULL, 8);
    kt_join(&t);
    assert_int_equal(thread_mode, KernelMode);
}

static const struct CMUnitTest time_tests[] = {
    cmocka_unit_test(time_known_dates),
    cmocka_unit_test(time_before_1601),
    cmocka_unit_test(time_day_by_day_sweep),
    cmocka_unit_test(time_random_round_trips),
    cmocka_unit_test(time_invalid_fields),
    cmocka_unit_test(time_seconds_since_epochs),
    cmocka_unit_test(time_local_conversions),
    cmocka_unit_test(uuid_version4_and_unique),
    cmocka_unit_test(previous_mode_is_kernel),
};

NTOS_TEST_GROUP(ex_time, time_tests, NULL, NULL);
