/*
 * libFuzzer harness for the kernel formatter (src/rtl/format.c): RtlpFormatV,
 * RtlpVsnprintf, RtlpFormatWideV and RtlpVsnwprintf with arbitrary format
 * strings and buffer sizes.
 *
 * Arguments. The NT va_list (__builtin_ms_va_list) is a plain pointer walking
 * 8-byte slots, so the harness passes a pointer to an array of slots. A format
 * can consume at most three slots per '%' ('*' width, '*' precision, the
 * conversion), so the array always holds 3 * (number of '%') + 1 slots and the
 * formatter can never walk off it.
 *
 * A random format applied to random integers would crash on %s/%Z/%wZ - caller
 * misuse, not a formatter bug. Two modes avoid that:
 *  - pointer mode (the format contains an 's', 'S' or 'Z' anywhere, or the input
 *    asks for it): every slot is NULL or points to a "universal" 16-byte object
 *    that is valid for every conversion at once:
 *        +0  USHORT Length      \  as UNICODE_STRING / ANSI_STRING header;
 *        +2  USHORT MaximumLength|  Buffer is NULL or a separate malloc block of
 *        +4  UCHAR  Pad[4]       |  exactly Length bytes
 *        +8  PVOID  Buffer      /
 *    As a char string it is terminated by byte 14 at the latest (x86-64 user
 *    pointers are below 2^47, so bytes 14 and 15 of Buffer are 0); as a WCHAR
 *    string by WCHAR 7 at the latest; as %Z/%wZ it is read up to Length, which
 *    the buffer holds; integer, character and floating conversions just read the
 *    pointer bits. Each object is its own 16-byte malloc block, so ASan reports
 *    any read past it.
 *  - numeric mode (no 's', 'S' or 'Z' anywhere in the format, so nothing can be
 *    dereferenced): slots are raw 64-bit values from the input.
 * The objects and their buffers are compared after every call: the formatter
 * must never write through an argument (%n writes nothing).
 *
 * Checks, for every call: nothing is written past the buffer (a poisoned guard
 * block follows it and its pattern is verified), the result is NUL-terminated
 * when BufferSize > 0, the returned length is that of the complete output (an
 * unbounded reference call), the stored text is a prefix of the complete output,
 * strlen(buf) equals the length when nothing was cut and the output contains no
 * NUL, *Truncated is consistent, and RtlpVsnprintf/RtlpVsnwprintf return -1
 * exactly when the output does not fit. In numeric mode the wide engine must
 * produce the widened narrow output. A differential mode compares single
 * integer/floating conversions with glibc's snprintf.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef FUZZ_POISON
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include <ntos/rtlp_format.h>
#include <ntos/crt.h>
#include <ntos/ntstrsafe.h>

#include "fuzz_input.h"



/* ---- universal argument objects --------------------------------------------------- */

typedef struct {
    USHORT Length;
    USHORT MaximumLength;
    UCHAR Pad[4];
    void *Buffer;
} universal;
_Static_assert(sizeof(universal) == 16, "universal object layout");
_Static_assert(sizeof(universal) == sizeof(UNICODE_STRING), "header size");

#define MAX_VALUES 16
#define MAX_FORMAT 2048
#define REF_CAP 8200 /* units; a reference call sees this much of the output */
#define MAX_TEST_SIZE 8192
#define GUARD 64

static universal *g_obj[MAX_VALUES];
static universal g_obj_copy[MAX_VALUES];
static uint8_t *g_obj_buf_copy[MAX_VALUES];
static int g_nobj;

static uint64_t g_values[MAX_VALUES];
static int g_nvalues;

static char g_ref[REF_CAP];
static WCHAR g_wref[REF_CAP];

static void objects_free(void)
{
    for (int i = 0; i < g_nobj; i++) {
        if (g_obj[i] != NULL)
            free(g_obj[i]->Buffer);
        free(g_obj[i]);
        free(g_obj_buf_copy[i]);
        g_obj[i] = NULL;
        g_obj_buf_copy[i] = NULL;
    }
    g_nobj = 0;
}

/* Builds the pointer-mode objects from the raw input values. */
static void objects_build(void)
{
    g_nobj = g_nvalues;
    for (int i = 0; i < g_nvalues; i++) {
        uint64_t raw = g_values[i];
        g_obj[i] = NULL;
        g_obj_buf_copy[i] = NULL;
        if ((raw & 7) == 0)
            continue; /* a NULL argument: "(null)" for every string conversion */

        universal *u = malloc(sizeof(*u));
        CHECK(u != NULL);
        USHORT len = (USHORT)(raw >> 8);
        switch ((raw >> 3) & 3) {
        case 0:
            len %= 16;
            break;
        case 1:
            len %= 256;
            break;
        case 2:
            len %= 64;
            break;
        default:
            break;
        }
        ULONG max = (ULONG)len + (ULONG)((raw >> 24) & 0xff);
        u->Length = len;
        u->MaximumLength = (USHORT)(max > 0xffff ? 0xffff : max);
        memcpy(u->Pad, (const uint8_t *)&raw + 4, 4);
        if ((raw & 7) == 1) {
            u->Buffer = NULL; /* counted string with a NULL Buffer: "(null)" */
        } else {
            uint8_t *b = malloc(len);
            if (b == NULL)
                b = malloc(1);
            CHECK(b != NULL);
            uint8_t seed = (uint8_t)(raw >> 40), step = (uint8_t)((raw >> 48) | 1);
            for (size_t k = 0; k < len; k++)
                b[k] = (uint8_t)(seed + k * step);
            u->Buffer = b;
            g_obj_buf_copy[i] = malloc(len ? len : 1);
            CHECK(g_obj_buf_copy[i] != NULL);
            memcpy(g_obj_buf_copy[i], b, len);
        }
        /* The layout argument above: bytes 14..15 of the object are zero. */
        CHECK(((uintptr_t)u->Buffer >> 48) == 0);
        g_obj[i] = u;
        g_obj_copy[i] = *u;
    }
}

static void objects_check(void)
{
    for (int i = 0; i < g_nobj; i++) {
        if (g_obj[i] == NULL)
            continue;
        CHECK(memcmp(g_obj[i], &g_obj_copy[i], sizeof(universal)) == 0);
        if (g_obj[i]->Buffer != NULL)
            CHECK(memcmp(g_obj[i]->Buffer, g_obj_buf_copy[i], g_obj[i]->Length) == 0);
    }
}

/* ---- calls ------------------------------------------------------------------------ */

static uint64_t *g_slots;
static size_t g_nslots;

/* A fresh va_list over the slot array each time: a va_list is consumed by use. */
static NT_VA_LIST slots_va(void)
{
    return (NT_VA_LIST)(char *)g_slots;
}

static size_t count_units(const void *fmt, int wide, ULONG unit)
{
    size_t n = 0;
    if (fmt == NULL)
        return 0;
    for (size_t i = 0;; i++) {
        ULONG c = wide ? ((const WCHAR *)fmt)[i] : (UCHAR)((const char *)fmt)[i];
        if (c == 0)
            return n;
        n += c == unit;
    }
}

/* Chooses a buffer size: small, around the complete length, or large. */
static size_t pick_size(reader *r, size_t full)
{
    uint8_t m = rd_u8(r);
    size_t s;
    switch (m & 3) {
    case 0:
        s = rd_u8(r) % 32;
        break;
    case 1: {
        size_t delta = rd_u8(r) % 5;
        s = full + delta >= 2 ? full + delta - 2 : 0;
        break;
    }
    case 2:
        s = rd_u16(r) % 4096;
        break;
    default:
        s = rd_u16(r);
        break;
    }
    return s > MAX_TEST_SIZE ? MAX_TEST_SIZE : s;
}

/* Output buffer of exactly `units` units followed by a poisoned guard block. */
typedef struct {
    uint8_t *mem;
    size_t units, unit_size;
} outbuf;

static outbuf out_alloc(size_t units, size_t unit_size)
{
    outbuf o = {NULL, units, unit_size};
    size_t bytes = units * unit_size;
    o.mem = malloc(bytes + GUARD);
    CHECK(o.mem != NULL);
    memset(o.mem, 0xA5, bytes + GUARD);
    FUZZ_POISON(o.mem + bytes, GUARD);
    return o;
}

static void out_free(outbuf *o)
{
    size_t bytes = o->units * o->unit_size;
    FUZZ_UNPOISON(o->mem + bytes, GUARD);
    for (size_t i = 0; i < GUARD; i++)
        CHECK(o->mem[bytes + i] == 0xA5);
    free(o->mem);
}

static int has_nul(const void *text, size_t units, int wide)
{
    for (size_t i = 0; i < units; i++) {
        if (wide ? ((const WCHAR *)text)[i] == 0 : ((const char *)text)[i] == 0)
            return 1;
    }
    return 0;
}

static int same_units(const void *a, const void *b, size_t units, int wide)
{
    return memcmp(a, b, units * (wide ? sizeof(WCHAR) : 1)) == 0;
}

static ULONG unit_at(const void *p, size_t i, int wide)
{
    return wide ? ((const WCHAR *)p)[i] : (UCHAR)((const char *)p)[i];
}

/* Complete length of the output and its first REF_CAP - 1 units in ref. */
static size_t reference(const void *fmt, int wide)
{
    BOOLEAN truncated = 2;
    size_t full;
    if (wide)
        full = RtlpFormatWideV(g_wref, REF_CAP, fmt, slots_va(), &truncated);
    else
        full = RtlpFormatV(g_ref, REF_CAP, fmt, slots_va(), &truncated);
    objects_check();
    CHECK(truncated == (full >= REF_CAP));
    size_t stored = full < REF_CAP - 1 ? full : REF_CAP - 1;
    CHECK(unit_at(wide ? (void *)g_wref : (void *)g_ref, stored, wide) == 0);
    return full;
}

/* RtlpFormatV / RtlpFormatWideV: C99 snprintf-like contract. */
static void test_terminated(reader *r, const void *fmt, int wide, size_t full, const void *ref)
{
    uint8_t m = rd_u8(r);
    size_t size = pick_size(r, full);
    int null_buffer = (m & 0x0f) == 0x0f;
    outbuf o = out_alloc(null_buffer ? 0 : size, wide ? sizeof(WCHAR) : 1);
    void *buf = null_buffer ? NULL : o.mem;
    BOOLEAN truncated = 2;
    BOOLEAN *ptrunc = (m & 0x10) ? NULL : &truncated;
    size_t ret;

    if (wide)
        ret = RtlpFormatWideV(buf, size, fmt, slots_va(), ptrunc);
    else
        ret = RtlpFormatV(buf, size, fmt, slots_va(), ptrunc);
    objects_check();
    CHECK(ret == full);

    size_t effective = buf ? size : 0; /* nothing is stored with a NULL buffer */
    if (ptrunc)
        CHECK(truncated == (full >= effective));
    if (effective > 0) {
        size_t stored = full < effective - 1 ? full : effective - 1;
        CHECK(unit_at(buf, stored, wide) == 0);
        CHECK(same_units(buf, ref, stored, wide));
        if (full < effective && !has_nul(ref, full, wide)) {
            size_t n = 0;
            while (unit_at(buf, n, wide) != 0)
                n++;
            CHECK(n == full);
        }
    }
    out_free(&o);
}

/* RtlpVsnprintf / RtlpVsnwprintf: Windows _vsnprintf contract. */
static void test_windows(reader *r, const void *fmt, int wide, size_t full, const void *ref)
{
    uint8_t m = rd_u8(r);
    size_t count = pick_size(r, full);
    int null_buffer = (m & 0x0f) == 0x0f;
    int null_format = (m & 0xf0) == 0xf0;
    outbuf o = out_alloc(null_buffer ? 0 : count, wide ? sizeof(WCHAR) : 1);
    void *buf = null_buffer ? NULL : o.mem;
    const void *f = null_format ? NULL : fmt;
    int ret;

    if (null_buffer && (m & 0x10))
        count = 0; /* the sizing idiom */
    if (wide)
        ret = RtlpVsnwprintf(buf, count, f, slots_va());
    else
        ret = RtlpVsnprintf(buf, count, f, slots_va());
    objects_check();

    if (f == NULL || (buf == NULL && count != 0)) {
        CHECK(ret == -1);
    } else if (buf == NULL) {
        CHECK(ret == (full > 0x7fffffff ? -1 : (int)full));
    } else if (full > count || full > 0x7fffffff) {
        /* Does not fit: -1, the first `count` units stored, no terminator. */
        CHECK(ret == -1);
        CHECK(same_units(buf, ref, count < full ? count : full, wide));
    } else {
        CHECK(ret == (int)full);
        CHECK(same_units(buf, ref, full, wide));
        if (full < count)
            CHECK(unit_at(buf, full, wide) == 0);
        /* full == count: exactly filled, unterminated; the guard proves no NUL
         * was written after it. */
    }
    out_free(&o);
}

/* The CRT and ntstrsafe consumers of the formatter: _vsnprintf_s with _TRUNCATE
 * and RtlStringCchVPrintf store the same prefix, always terminated, and report
 * truncation exactly when the output and its NUL do not fit. Size 0 is kept
 * away from _vsnprintf_s (an invalid parameter there is a bug check). */
static void test_secure(reader *r, const void *fmt, int wide, size_t full, const void *ref)
{
    (void)rd_u8(r);
    size_t size = pick_size(r, full);
    outbuf a = out_alloc(size ? size : 1, wide ? sizeof(WCHAR) : 1), b = out_alloc(size, wide ? sizeof(WCHAR) : 1);
    size_t stored;
    NTSTATUS st;
    int ret;

    if (wide) {
        ret = RtlCrt__vsnwprintf_s((PWCHAR)a.mem, size ? size : 1, NTOS_CRT_TRUNCATE, fmt, slots_va());
        st = RtlStringCchVPrintfW((PWCHAR)b.mem, size, fmt, slots_va());
    } else {
        ret = RtlCrt__vsnprintf_s((PCHAR)a.mem, size ? size : 1, NTOS_CRT_TRUNCATE, fmt, slots_va());
        st = RtlStringCchVPrintfA((PCHAR)b.mem, size, fmt, slots_va());
    }
    objects_check();
    stored = full < (size ? size : 1) - 1 ? full : (size ? size : 1) - 1;
    CHECK(ret == (full < (size ? size : 1) && full <= 0x7fffffff ? (int)full : -1));
    CHECK(same_units(a.mem, ref, stored, wide) && unit_at(a.mem, stored, wide) == 0);
    if (size == 0) {
        CHECK(st == STATUS_INVALID_PARAMETER);
    } else {
        CHECK(st == (full < size ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW));
        CHECK(same_units(b.mem, ref, stored, wide) && unit_at(b.mem, stored, wide) == 0);
    }
    out_free(&a);
    out_free(&b);
}

/* The variadic entry points, called with 16 real ms_abi arguments (enough for a
 * format with at most five '%'): same result and output as the va_list ones. */
static void test_variadic(reader *r, const void *fmt, int wide, size_t full)
{
    (void)rd_u8(r); /* same size choice as the test_windows call that used these bytes */
    size_t count = pick_size(r, full);
    outbuf a = out_alloc(count, wide ? sizeof(WCHAR) : 1), b = out_alloc(count, wide ? sizeof(WCHAR) : 1);
    uint64_t v[16] = {0};
    int ra, rb;

    memcpy(v, g_slots, g_nslots * sizeof(uint64_t));
    if (wide) {
        ra = RtlpSnwprintf((PWCHAR)a.mem, count, fmt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
                           v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
        rb = RtlpVsnwprintf((PWCHAR)b.mem, count, fmt, slots_va());
    } else {
        ra = RtlpSnprintf((PCHAR)a.mem, count, fmt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
                          v[10], v[11], v[12], v[13], v[14], v[15]);
        rb = RtlpVsnprintf((PCHAR)b.mem, count, fmt, slots_va());
    }
    objects_check();
    CHECK(ra == rb);
    CHECK(memcmp(a.mem, b.mem, count * (wide ? sizeof(WCHAR) : 1)) == 0);
    out_free(&a);
    out_free(&b);
}

/* ---- differential mode: one conversion against glibc ----------------------------- */

static void differential(reader *r)
{
    static const char convs[] = "diouxXeEfFgG";
    /* NT size prefix and the glibc one with the same argument width. */
    static const char *const nt_int_sizes[] = {"", "hh", "h", "l", "ll", "I64", "I32", "z", "j", "t", "I", "L"};
    static const char *const c_int_sizes[] = {"", "hh", "h", "", "ll", "ll", "", "ll", "ll", "ll", "ll", "ll"};
    char conv = convs[rd_u8(r) % 12];
    int is_float = strchr("eEfFgG", conv) != NULL;
    int is_signed = conv == 'd' || conv == 'i';
    uint8_t flags = rd_u8(r);
    uint8_t wm = rd_u8(r), pm = rd_u8(r), sm = rd_u8(r);
    uint64_t value = rd_u64(r);
    char spec[64], nt_fmt[80], c_fmt[80];
    size_t k = 0;
    int star_w = 0, star_p = 0;
    long long wv = 0, pv = 0;

    spec[k++] = '%';
    if (flags & 1)
        spec[k++] = '-';
    if (flags & 2)
        spec[k++] = '+';
    if (flags & 4)
        spec[k++] = ' ';
    if (flags & 8)
        spec[k++] = '0';
    if ((flags & 16) && conv != 'd' && conv != 'i' && conv != 'u')
        spec[k++] = '#';
    switch (wm % 4) {
    case 1:
        k += (size_t)snprintf(spec + k, sizeof(spec) - k, "%u", (unsigned)(wm >> 2));
        break;
    case 2:
        star_w = 1;
        wv = (int8_t)(wm & 0xfc) / 2; /* -64..63 */
        spec[k++] = '*';
        break;
    default:
        break;
    }
    switch (pm % 5) {
    case 1:
        spec[k++] = '.';
        break;
    case 2:
        k += (size_t)snprintf(spec + k, sizeof(spec) - k, ".%u", (unsigned)(pm >> 3));
        break;
    case 3:
        k += (size_t)snprintf(spec + k, sizeof(spec) - k, ".%u",
                              is_float ? (unsigned)(rd_u16(r) % 1100) : (unsigned)(pm >> 2));
        break;
    case 4:
        star_p = 1;
        pv = (int8_t)pm / 4; /* negative means "no precision" */
        spec[k++] = '.';
        spec[k++] = '*';
        break;
    default:
        break;
    }
    spec[k] = 0;

    const char *nt_size = "", *c_size = "";
    if (!is_float) {
        unsigned s = sm % 12;
        nt_size = nt_int_sizes[s];
        c_size = c_int_sizes[s];
    } else if (sm & 1) {
        nt_size = "l"; /* %lf is a double in MSVC as in C99 */
    }
    snprintf(nt_fmt, sizeof(nt_fmt), "%s%s%c", spec, nt_size, conv);
    snprintf(c_fmt, sizeof(c_fmt), "%s%s%c", spec, c_size, conv);

    /* NT side: every argument is one slot. */
    uint64_t slots[3];
    size_t n = 0;
    if (star_w)
        slots[n++] = (uint64_t)wv;
    if (star_p)
        slots[n++] = (uint64_t)pv;
    slots[n++] = value;

    static char nt_out[4096], c_out[4096];
    static WCHAR nt_wout[4096];
    WCHAR wfmt[80];
    BOOLEAN truncated = 2;
    size_t nt_len = RtlpFormatV(nt_out, sizeof(nt_out), nt_fmt, (NT_VA_LIST)(char *)slots, &truncated);
    CHECK(!truncated);
    size_t fl = strlen(nt_fmt);
    for (size_t i = 0; i <= fl; i++)
        wfmt[i] = (UCHAR)nt_fmt[i];
    size_t nt_wlen = RtlpFormatWideV(nt_wout, 4096, wfmt, (NT_VA_LIST)(char *)slots, &truncated);
    CHECK(!truncated);

    /* glibc side, with properly typed arguments. */
    int c_len;
    int w = (int)wv, p = (int)pv;
#define CALL_C(arg)                                                                   \
    do {                                                                              \
        if (star_w && star_p)                                                         \
            c_len = snprintf(c_out, sizeof(c_out), c_fmt, w, p, arg);                 \
        else if (star_w)                                                              \
            c_len = snprintf(c_out, sizeof(c_out), c_fmt, w, arg);                    \
        else if (star_p)                                                              \
            c_len = snprintf(c_out, sizeof(c_out), c_fmt, p, arg);                    \
        else                                                                          \
            c_len = snprintf(c_out, sizeof(c_out), c_fmt, arg);                       \
    } while (0)
    if (is_float) {
        double d;
        memcpy(&d, &value, sizeof(d));
        CALL_C(d);
    } else if (strcmp(c_size, "ll") == 0) {
        if (is_signed)
            CALL_C((long long)value);
        else
            CALL_C((unsigned long long)value);
    } else {
        if (is_signed)
            CALL_C((int)(uint32_t)value);
        else
            CALL_C((unsigned)(uint32_t)value);
    }
#undef CALL_C
    CHECK(c_len >= 0 && (size_t)c_len < sizeof(c_out));
    if (nt_len != (size_t)c_len || memcmp(nt_out, c_out, nt_len) != 0) {
        fprintf(stderr, "fuzz_rtl_format: '%s' (glibc '%s') of 0x%016llx: ntos \"%s\", glibc \"%s\"\n",
                nt_fmt, c_fmt, (unsigned long long)value, nt_out, c_out);
        CHECK(!"formatter differs from glibc");
    }
    CHECK(nt_wlen == nt_len);
    for (size_t i = 0; i <= nt_len; i++)
        CHECK(nt_wout[i] == (UCHAR)nt_out[i]);
}

/* ---- entry point ------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    uint8_t mode = rd_u8(&r);

    if ((mode & 0xC0) == 0xC0) {
        differential(&r);
        return 0;
    }

    /* Argument values, then the format: the rest of the input up to a NUL. */
    g_nvalues = 1 + (mode & 15);
    for (int i = 0; i < g_nvalues; i++)
        g_values[i] = rd_u64(&r);
    /* Four bytes of size choices for each of the four checked calls. */
    uint8_t size_bytes[16];
    for (int i = 0; i < 16; i++)
        size_bytes[i] = rd_u8(&r);

    size_t flen = 0;
    while (flen < r.n && flen < MAX_FORMAT && r.p[flen] != 0)
        flen++;
    char *fmt = malloc(flen + 1);
    CHECK(fmt != NULL);
    memcpy(fmt, r.p, flen);
    fmt[flen] = 0;

    /* Wide format: the same bytes widened, or (mode bit 4) read as WCHAR pairs. */
    int raw_pairs = (mode & 0x10) != 0;
    size_t wlen = raw_pairs ? flen / 2 : flen;
    WCHAR *wfmt = malloc((wlen + 1) * sizeof(WCHAR));
    CHECK(wfmt != NULL);
    for (size_t i = 0; i < wlen; i++)
        wfmt[i] = raw_pairs ? (WCHAR)((UCHAR)fmt[2 * i] | (UCHAR)fmt[2 * i + 1] << 8) : (UCHAR)fmt[i];
    wfmt[wlen] = 0;
    for (size_t i = 0; i < wlen; i++)
        if (wfmt[i] == 0)
            wfmt[i] = ' '; /* keep the wide format as long as the input says */

    int pointer_mode = (mode & 0x20) != 0;
    static const char derefs[] = "sSZ";
    for (int j = 0; j < 3; j++)
        if (count_units(fmt, 0, (UCHAR)derefs[j]) || count_units(wfmt, 1, (UCHAR)derefs[j]))
            pointer_mode = 1;

    size_t percents = count_units(fmt, 0, '%');
    size_t wpercents = count_units(wfmt, 1, '%');
    g_nslots = 3 * (percents > wpercents ? percents : wpercents) + 1;
    g_slots = malloc(g_nslots * sizeof(uint64_t));
    CHECK(g_slots != NULL);
    if (pointer_mode)
        objects_build();
    for (size_t i = 0; i < g_nslots; i++)
        g_slots[i] = pointer_mode ? (uint64_t)(uintptr_t)g_obj[i % g_nvalues] : g_values[i % g_nvalues];

    size_t full = reference(fmt, 0);
    size_t wfull = reference(wfmt, 1);
    reader sizes[4] = {{size_bytes, 4}, {size_bytes + 4, 4}, {size_bytes + 8, 4}, {size_bytes + 12, 4}};
    test_terminated(&sizes[0], fmt, 0, full, g_ref);
    test_windows(&sizes[1], fmt, 0, full, g_ref);
    test_terminated(&sizes[2], wfmt, 1, wfull, g_wref);
    test_windows(&sizes[3], wfmt, 1, wfull, g_wref);
    {
        reader again = {size_bytes, 4};
        test_secure(&again, fmt, 0, full, g_ref);
        again = (reader){size_bytes + 8, 4};
        test_secure(&again, wfmt, 1, wfull, g_wref);
    }
    if (g_nslots <= 16) {
        reader again = {size_bytes + 4, 4};
        test_variadic(&again, fmt, 0, full);
        again = (reader){size_bytes + 12, 4};
        test_variadic(&again, wfmt, 1, wfull);
    }

    /* A NULL format formats as the empty string. */
    {
        char tiny[2] = {'x', 'x'};
        BOOLEAN t = 2;
        CHECK(RtlpFormatV(tiny, sizeof(tiny), NULL, slots_va(), &t) == 0 && tiny[0] == 0 && !t);
    }

    /* Numeric mode, widened format, no character conversions: the wide engine
     * produces exactly the widened narrow output. */
    if (!pointer_mode && !raw_pairs && !strchr(fmt, 'c') && !strchr(fmt, 'C')) {
        CHECK(wfull == full);
        size_t n = full < REF_CAP - 1 ? full : REF_CAP - 1;
        for (size_t i = 0; i < n; i++)
            CHECK(g_wref[i] == (UCHAR)g_ref[i]);
    }

    objects_check();
    objects_free();
    free(g_slots);
    g_slots = NULL;
    free(wfmt);
    free(fmt);
    return 0;
}
