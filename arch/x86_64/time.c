/*
 * Time sources: the TSC is the interrupt-time and performance counter
 * source, calibrated at boot against the PIT (channel 2, gated through port
 * 0x61, counting at 1.193182 MHz); the boot wall-clock time comes from the
 * CMOS real-time clock. The per-processor clock interrupt is the local APIC
 * timer (apic.c), calibrated in the same PIT window.
 *
 * Conversions use a 32.32 fixed-point multiplier and a 128-bit product, so
 * no division runs on the hot path and nothing overflows for centuries.
 * QEMU derives both the TSC and the PIT from the host's clock, so the
 * calibration holds even when the host deschedules the guest mid-window.
 */
#include "x86.h"

#define PIT_HZ 1193182ULL
#define NT_EPOCH_DELTA_DAYS 134774ULL /* 1601-01-01 to 1970-01-01 */

static ULONG64 tsc_boot;
static ULONG64 tsc_hz;
static ULONG64 tsc_to_100ns_mult; /* 100 ns units per TSC tick, 32.32 */
static ULONG64 boot_system_time;

void x86_pit_wait_start(ULONG Microseconds)
{
    ULONG count = (ULONG)(PIT_HZ * Microseconds / 1000000);
    if (count > 0xFFFF)
        count = 0xFFFF;
    /* Gate on, speaker off; channel 2, lobyte/hibyte, mode 0 (count down once). */
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xB0);
    outb(0x42, (UCHAR)count);
    outb(0x42, (UCHAR)(count >> 8));
}

BOOLEAN x86_pit_done(void)
{
    return (inb(0x61) & 0x20) != 0;
}

ULONG64 x86_tsc_to_100ns(ULONG64 Ticks)
{
    return (ULONG64)(((unsigned __int128)Ticks * tsc_to_100ns_mult) >> 32);
}

ULONG64 x86_tsc_hz(void)
{
    return tsc_hz;
}

static UCHAR cmos_read(UCHAR reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static ULONG bcd(UCHAR v, BOOLEAN is_bcd)
{
    return is_bcd ? (ULONG)((v >> 4) * 10 + (v & 0xF)) : v;
}

static ULONG64 days_from_civil(LONG y, ULONG m, ULONG d)
{
    /* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
    y -= m <= 2;
    LONG era = (y >= 0 ? y : y - 399) / 400;
    ULONG yoe = (ULONG)(y - era * 400);
    ULONG doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    ULONG doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (ULONG64)((LONGLONG)era * 146097 + (LONGLONG)doe - 719468);
}

static void read_rtc(void)
{
    /* Wait out an update in progress (status A bit 7), then read twice until stable. */
    UCHAR s[6], t[6];
    do {
        while (cmos_read(0x0A) & 0x80)
            __builtin_ia32_pause();
        s[0] = cmos_read(0x00); s[1] = cmos_read(0x02); s[2] = cmos_read(0x04);
        s[3] = cmos_read(0x07); s[4] = cmos_read(0x08); s[5] = cmos_read(0x09);
        t[0] = cmos_read(0x00); t[1] = cmos_read(0x02); t[2] = cmos_read(0x04);
        t[3] = cmos_read(0x07); t[4] = cmos_read(0x08); t[5] = cmos_read(0x09);
    } while (s[0] != t[0] || s[1] != t[1] || s[2] != t[2] || s[3] != t[3] || s[4] != t[4] || s[5] != t[5]);
    UCHAR b = cmos_read(0x0B);
    BOOLEAN is_bcd = !(b & 0x04);
    ULONG hour = bcd(s[2] & 0x7F, is_bcd);
    if (!(b & 0x02) && (s[2] & 0x80))
        hour = (hour % 12) + 12; /* 12-hour clock, PM */
    ULONG year = 2000 + bcd(s[5], is_bcd);
    ULONG64 days = days_from_civil((LONG)year, bcd(s[4], is_bcd), bcd(s[3], is_bcd)) + NT_EPOCH_DELTA_DAYS;
    ULONG64 seconds = days * 86400 + hour * 3600 + bcd(s[1], is_bcd) * 60 + bcd(s[0], is_bcd);
    boot_system_time = seconds * 10000000ULL;
}

void x86_time_init(void)
{
    /* 50 ms window: the PIT's granularity and the port polling are both
     * well under 0.1 % of it. */
    ULONG64 best = ~0ULL;
    for (int trial = 0; trial < 2; trial++) {
        x86_pit_wait_start(50000);
        ULONG64 t0 = rdtsc();
        while (!x86_pit_done())
            __builtin_ia32_pause();
        ULONG64 dt = rdtsc() - t0;
        if (dt < best)
            best = dt;
    }
    ULONG64 pit_ticks = PIT_HZ * 50000 / 1000000;
    tsc_hz = best * PIT_HZ / pit_ticks;
    tsc_to_100ns_mult = (10000000ULL << 32) / tsc_hz;
    tsc_boot = rdtsc();
    read_rtc();
}

ULONG64 arch_interrupt_time(void)
{
    return x86_tsc_to_100ns(rdtsc() - tsc_boot);
}

ULONG64 arch_boot_system_time(void)
{
    return boot_system_time;
}

ULONG64 arch_cycle_counter(void)
{
    return rdtsc();
}

ULONG64 arch_cycle_frequency(void)
{
    return tsc_hz;
}
