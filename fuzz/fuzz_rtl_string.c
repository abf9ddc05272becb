/*
 * libFuzzer harness for the Rtl counted-string routines (src/rtl/string.c,
 * nls.c, integer.c).
 *
 * The input is decoded into a sequence of operations on a few UNICODE_STRING and
 * ANSI_STRING slots. Every string handed to Rtl is well formed as the WDK
 * requires of callers (Length <= MaximumLength, a Buffer of MaximumLength bytes,
 * NULL only for an empty string) but otherwise hostile: odd lengths, zero,
 * MAXUSHORT-ish sizes, exactly-full buffers. Only RtlDuplicateUnicodeString,
 * which is documented to validate its input, is also given malformed headers.
 *
 * Each buffer is its own malloc block of exactly MaximumLength bytes, so ASan
 * reports any access outside it. Every Rtl allocation goes through a malloc pool
 * hook that checks tags, records sizes, fails on demand and proves at the end
 * that nothing leaked. After each operation the results are checked against a
 * reference model; a violation prints the check and traps.
 *
 * Harness code is hosted C compiled with -fshort-wchar: it never calls the C
 * library's wchar_t functions (their ABI would not match).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ntos/rtl.h>

#include "fuzz_input.h"



/* ---- pool hook ------------------------------------------------------------------ */

#define MAX_ALLOCS 64

static struct {
    void *p;
    size_t n;
} g_allocs[MAX_ALLOCS];
static int g_fail_alloc;
static unsigned g_alloc_calls;

static size_t alloc_size(const void *p)
{
    for (int i = 0; i < MAX_ALLOCS; i++)
        if (g_allocs[i].p == p && p != NULL)
            return g_allocs[i].n;
    return 0;
}

static int alloc_outstanding(void)
{
    int n = 0;
    for (int i = 0; i < MAX_ALLOCS; i++)
        n += g_allocs[i].p != NULL;
    return n;
}

static PVOID NTAPI pool_alloc(SIZE_T n, ULONG tag)
{
    CHECK(tag == RTL_STRING_POOL_TAG);
    g_alloc_calls++;
    if (g_fail_alloc)
        return NULL;
    /* Nothing a counted string needs is bigger than a USHORT-sized buffer. */
    CHECK(n <= 0x10000);
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    memset(p, 0xAB, n);
    for (int i = 0; i < MAX_ALLOCS; i++) {
        if (g_allocs[i].p == NULL) {
            g_allocs[i].p = p;
            g_allocs[i].n = n;
            return p;
        }
    }
    CHECK(!"too many outstanding Rtl allocations (leak?)");
    return NULL;
}

static VOID NTAPI pool_free(PVOID p, ULONG tag)
{
    CHECK(tag == RTL_STRING_POOL_TAG);
    for (int i = 0; i < MAX_ALLOCS; i++) {
        if (g_allocs[i].p == p && p != NULL) {
            g_allocs[i].p = NULL;
            g_allocs[i].n = 0;
            free(p);
            return;
        }
    }
    CHECK(!"Rtl freed a pointer it did not allocate");
}

/* ---- string slots --------------------------------------------------------------- */

/* A slot owns its buffer: either harness memory (mem, freed with free()) or an
 * Rtl allocation (rtl = 1, freed with RtlFree*String). */
typedef struct {
    UNICODE_STRING s;
    int rtl;
    void *mem;
    size_t memsize;
} uslot;

typedef struct {
    ANSI_STRING s;
    int rtl;
    void *mem;
    size_t memsize;
} aslot;

#define NU 4
#define NA 3
static uslot g_u[NU];
static aslot g_a[NA];

static void uslot_release(uslot *u)
{
    if (u->rtl) {
        RtlFreeUnicodeString(&u->s);
        CHECK(u->s.Buffer == NULL && u->s.Length == 0 && u->s.MaximumLength == 0);
    } else {
        free(u->mem);
    }
    memset(u, 0, sizeof(*u));
}

static void aslot_release(aslot *a)
{
    if (a->rtl) {
        RtlFreeAnsiString(&a->s);
        CHECK(a->s.Buffer == NULL && a->s.Length == 0 && a->s.MaximumLength == 0);
    } else {
        free(a->mem);
    }
    memset(a, 0, sizeof(*a));
}

/* Adopts the buffer Rtl just allocated into the slot's header and releases
 * what the slot owned before (old_mem, freed the way it was allocated). */
static void uslot_adopt(uslot *u, void *old_mem, int old_rtl)
{
    if (old_rtl) {
        UNICODE_STRING tmp = {0, 0, old_mem};
        RtlFreeUnicodeString(&tmp);
    } else {
        free(old_mem);
    }
    u->rtl = 1;
    u->mem = u->s.Buffer;
    u->memsize = alloc_size(u->s.Buffer);
    CHECK(u->memsize != 0 || u->s.Buffer == NULL);
}

static void aslot_adopt(aslot *a, void *old_mem, int old_rtl)
{
    if (old_rtl) {
        ANSI_STRING tmp = {0, 0, old_mem};
        RtlFreeAnsiString(&tmp);
    } else {
        free(old_mem);
    }
    a->rtl = 1;
    a->mem = a->s.Buffer;
    a->memsize = alloc_size(a->s.Buffer);
    CHECK(a->memsize != 0 || a->s.Buffer == NULL);
}

static void uslot_check(const uslot *u)
{
    CHECK(u->s.Length <= u->s.MaximumLength);
    CHECK(u->s.Buffer == u->mem);
    CHECK(u->s.MaximumLength <= u->memsize);
    if (u->s.MaximumLength != 0)
        CHECK(u->s.Buffer != NULL);
    if (u->rtl && u->s.Buffer != NULL)
        CHECK(alloc_size(u->s.Buffer) == u->memsize);
}

static void aslot_check(const aslot *a)
{
    CHECK(a->s.Length <= a->s.MaximumLength);
    CHECK(a->s.Buffer == a->mem);
    CHECK(a->s.MaximumLength <= a->memsize);
    if (a->s.MaximumLength != 0)
        CHECK(a->s.Buffer != NULL);
    if (a->rtl && a->s.Buffer != NULL)
        CHECK(alloc_size(a->s.Buffer) == a->memsize);
}

/* Characters the routines treat specially: digits and prefixes for the
 * parsers, whitespace, case pairs in and outside Latin-1, characters with no
 * 1:1 case mapping, the Windows-1252 specials, surrogates, NUL. */
static const WCHAR k_wide_alphabet[64] = {
    '0', '1', '7', '9', 'a', 'f', 'A', 'F', 'x', 'X', 'o', 'b', 'z', 'Z', '+', '-',
    ' ', '\t', 0x0000, 0x001F, 0x0080, 0x0081, 0x009F, 0x00A0, 0x00DF, 0x00E9, 0x00C9, 0x00FF,
    0x0100, 0x0101, 0x0130, 0x0131, 0x0178, 0x017F, 0x01C4, 0x01C5, 0x01C6, 0x0345, 0x03A3,
    0x03C2, 0x03C3, 0x0399, 0x1E9E, 0x1F88, 0x2126, 0x212A, 0x212B, 0x20AC, 0x2122, 0x201A,
    0x0152, 0x0153, 0x10A0, 0x2D00, 0x24B6, 0x24D0, 0xFF21, 0xFF41, 0xD800, 0xDC00, 0xFFFD,
    0xFFFF, 'Q', 'q',
};

static const uint8_t k_ansi_alphabet[32] = {
    '0', '1', '7', '9', 'a', 'f', 'A', 'F', 'x', 'o', 'b', '+', '-', ' ', '\t', 0x01,
    0x80, 0x81, 0x8A, 0x8D, 0x8F, 0x90, 0x9D, 0x9F, 0xA0, 0xC0, 0xDF, 0xE0, 0xFF, 'z', 'Z', 'q',
};

/* Fills n bytes from the input: raw, a repeated short pattern (cheap way for a
 * short input to describe a 64 KiB string) or through the alphabet. */
static void fill_wide_bytes(reader *r, uint8_t *dst, size_t n, int no_nul)
{
    uint8_t mode = rd_u8(r) % 3;
    size_t units = (n + 1) / 2;
    WCHAR pattern[8];
    size_t plen = 1 + rd_u8(r) % 8;

    for (size_t i = 0; i < plen; i++)
        pattern[i] = mode == 2 ? k_wide_alphabet[rd_u8(r) % 64] : rd_u16(r);
    for (size_t i = 0; i < units; i++) {
        WCHAR c;
        if (mode == 0 && r->n >= 2)
            c = rd_u16(r);
        else if (mode == 2 && r->n >= 1)
            c = k_wide_alphabet[rd_u8(r) % 64];
        else
            c = pattern[i % plen];
        if (no_nul && c == 0)
            c = 'N';
        dst[2 * i] = (uint8_t)c;
        if (2 * i + 1 < n)
            dst[2 * i + 1] = (uint8_t)(c >> 8);
    }
}

static void fill_ansi_bytes(reader *r, uint8_t *dst, size_t n, int no_nul)
{
    uint8_t mode = rd_u8(r) % 3;
    uint8_t pattern[8];
    size_t plen = 1 + rd_u8(r) % 8;

    for (size_t i = 0; i < plen; i++)
        pattern[i] = mode == 2 ? k_ansi_alphabet[rd_u8(r) % 32] : rd_u8(r);
    for (size_t i = 0; i < n; i++) {
        uint8_t c;
        if (mode == 0 && r->n >= 1)
            c = rd_u8(r);
        else if (mode == 2 && r->n >= 1)
            c = k_ansi_alphabet[rd_u8(r) % 32];
        else
            c = pattern[i % plen];
        if (no_nul && c == 0)
            c = 'N';
        dst[i] = c;
    }
}

static const USHORT k_boundary_sizes[] = {0,      1,      2,      3,      4,      5,      6,
                                          0x7ffc, 0x7ffd, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffa,
                                          0xfffb, 0xfffc, 0xfffd, 0xfffe, 0xffff};

static USHORT pick_max(reader *r, uint8_t mode)
{
    switch (mode & 7) {
    case 4:
        return k_boundary_sizes[rd_u8(r) % (sizeof(k_boundary_sizes) / sizeof(k_boundary_sizes[0]))];
    case 5:
        return rd_u16(r);
    case 6:
    case 7:
        return (USHORT)((rd_u8(r) % 33) * 2);
    default:
        return rd_u8(r) % 65;
    }
}

static USHORT pick_len(reader *r, uint8_t mode, USHORT max)
{
    switch ((mode >> 3) & 3) {
    case 0:
        return max;
    case 1:
        return (USHORT)(rd_u16(r) % ((ULONG)max + 1));
    case 2:
        return (USHORT)(max & ~1u);
    default:
        return (USHORT)((rd_u16(r) % ((ULONG)max + 1)) & ~1u);
    }
}

/* A well-formed string with a harness-owned buffer of exactly MaximumLength bytes. */
static void uslot_make(uslot *u, reader *r)
{
    uslot_release(u);
    uint8_t mode = rd_u8(r);
    USHORT max = pick_max(r, mode);
    USHORT len = pick_len(r, mode, max);

    if (max == 0 && (mode & 0x20))
        return; /* empty with a NULL Buffer */
    u->mem = malloc(max);
    if (u->mem == NULL)
        u->mem = malloc(1);
    CHECK(u->mem != NULL);
    u->memsize = max;
    memset(u->mem, 0xCD, max);
    fill_wide_bytes(r, u->mem, len, 0);
    u->s.Buffer = u->mem;
    u->s.Length = len;
    u->s.MaximumLength = max;
}

static void aslot_make(aslot *a, reader *r)
{
    aslot_release(a);
    uint8_t mode = rd_u8(r);
    USHORT max = pick_max(r, mode);
    USHORT len = pick_len(r, (uint8_t)(mode & ~0x10), max); /* odd lengths are fine for ANSI */

    if (max == 0 && (mode & 0x20))
        return;
    a->mem = malloc(max);
    if (a->mem == NULL)
        a->mem = malloc(1);
    CHECK(a->mem != NULL);
    a->memsize = max;
    memset(a->mem, 0xCD, max);
    fill_ansi_bytes(r, a->mem, len, 0);
    a->s.Buffer = a->mem;
    a->s.Length = len;
    a->s.MaximumLength = max;
}

/* A NUL-terminated wide string of n characters (no embedded NUL), malloc'd with
 * exactly n + 1 WCHARs. */
static WCHAR *make_wide_sz(reader *r, size_t n)
{
    WCHAR *w = malloc((n + 1) * sizeof(WCHAR));
    CHECK(w != NULL);
    fill_wide_bytes(r, (uint8_t *)w, n * sizeof(WCHAR), 1);
    w[n] = 0;
    return w;
}

static char *make_ansi_sz(reader *r, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    fill_ansi_bytes(r, (uint8_t *)s, n, 1);
    s[n] = 0;
    return s;
}

static size_t pick_sz_len(reader *r)
{
    static const size_t big[] = {0x7ffd, 0x7ffe, 0x7fff, 0x8000, 0xfffd, 0xfffe, 0xffff, 0x10000};
    uint8_t m = rd_u8(r);
    if ((m & 0x1f) == 0x1f)
        return big[rd_u8(r) % 8];
    return m % 40;
}

/* ---- reference model -------------------------------------------------------------- */

static WCHAR wat(const void *buf, size_t i)
{
    WCHAR c;
    memcpy(&c, (const uint8_t *)buf + 2 * i, sizeof(c));
    return c;
}

static int sgn(LONG v)
{
    return (v > 0) - (v < 0);
}

static WCHAR fold(WCHAR c, BOOLEAN ci)
{
    return ci ? RtlUpcaseUnicodeChar(c) : c;
}

/* Lexicographic over whole characters (case-folded), then the shorter first. */
static int ref_wcmp(const void *a, size_t alen_bytes, const void *b, size_t blen_bytes, BOOLEAN ci)
{
    size_t n = (alen_bytes < blen_bytes ? alen_bytes : blen_bytes) / 2;
    for (size_t i = 0; i < n; i++) {
        WCHAR ca = fold(wat(a, i), ci), cb = fold(wat(b, i), ci);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    if (alen_bytes == blen_bytes)
        return 0;
    return alen_bytes < blen_bytes ? -1 : 1;
}

static int ref_wprefix(const UNICODE_STRING *a, const UNICODE_STRING *b, BOOLEAN ci)
{
    if (a->Length > b->Length)
        return 0;
    for (size_t i = 0; i < a->Length / 2u; i++)
        if (fold(wat(a->Buffer, i), ci) != fold(wat(b->Buffer, i), ci))
            return 0;
    return 1;
}

static uint8_t aupper(uint8_t c)
{
    return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

static int ref_acmp(const ANSI_STRING *a, const ANSI_STRING *b, BOOLEAN ci)
{
    size_t n = a->Length < b->Length ? a->Length : b->Length;
    for (size_t i = 0; i < n; i++) {
        uint8_t ca = (uint8_t)a->Buffer[i], cb = (uint8_t)b->Buffer[i];
        if (ci) {
            ca = aupper(ca);
            cb = aupper(cb);
        }
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    if (a->Length == b->Length)
        return 0;
    return a->Length < b->Length ? -1 : 1;
}

/* Windows-1252, written out independently of src/rtl/nls.c. The five undefined
 * bytes decode to the C1 control of the same value, as Windows does. */
static WCHAR ref_cp1252(uint8_t b)
{
    static const WCHAR hi[32] = {
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    };
    return (b >= 0x80 && b <= 0x9F) ? hi[b - 0x80] : b;
}

static uint8_t ref_to_cp1252(WCHAR c)
{
    if (c < 0x80 || (c >= 0xA0 && c <= 0xFF))
        return (uint8_t)c;
    for (unsigned b = 0x80; b <= 0x9F; b++)
        if (ref_cp1252((uint8_t)b) == c)
            return (uint8_t)b;
    return '?';
}

static int ref_digit(ULONG c, ULONG base)
{
    ULONG d;
    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'z')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'Z')
        d = c - 'A' + 10;
    else
        return -1;
    return d < base ? (int)d : -1;
}

/* {chars <= ' '} [+|-] [0x|0o|0b if base 0] {digits}, wrapping modulo 2^32. */
static ULONG ref_parse(const ULONG *c, size_t count, ULONG base)
{
    size_t i = 0;
    int neg = 0;
    ULONG v = 0;

    while (i < count && c[i] <= ' ')
        i++;
    if (i < count && (c[i] == '+' || c[i] == '-')) {
        neg = c[i] == '-';
        i++;
    }
    if (base == 0) {
        base = 10;
        if (i + 1 < count && c[i] == '0') {
            if (c[i + 1] == 'x')
                base = 16;
            else if (c[i + 1] == 'o')
                base = 8;
            else if (c[i + 1] == 'b')
                base = 2;
            if (base != 10)
                i += 2;
        }
    }
    for (; i < count; i++) {
        int d = ref_digit(c[i], base);
        if (d < 0)
            break;
        v = v * base + (ULONG)d;
    }
    return neg ? 0u - v : v;
}

static int valid_base(ULONG b)
{
    return b == 2 || b == 8 || b == 10 || b == 16;
}

static ULONG pick_base(reader *r)
{
    static const ULONG bases[] = {0, 2, 8, 10, 16, 0, 10, 16, 1, 3, 36, 17, 0xffffffffu};
    uint8_t m = rd_u8(r);
    if (m == 0xff)
        return rd_u32(r);
    return bases[m % (sizeof(bases) / sizeof(bases[0]))];
}

/* Digits of v in base (2..16), upper case, most significant first. */
static size_t ref_digits(uint64_t v, ULONG base, char *out)
{
    char tmp[64];
    size_t n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'A' + d - 10);
        v /= base;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static ULONG ref_hash(const UNICODE_STRING *s, BOOLEAN ci)
{
    ULONG h = 0;
    for (size_t i = 0; i < s->Length / 2u; i++)
        h = h * 65599u + fold(wat(s->Buffer, i), ci);
    return h;
}

static uint64_t pick_value(reader *r)
{
    static const uint64_t special[] = {0, 1, 9, 10, 15, 16, 0x7fffffff, 0x80000000, 0xffffffff,
                                       0x100000000ull, 0x7fffffffffffffffull, 0xffffffffffffffffull};
    uint8_t m = rd_u8(r);
    if (m < 48)
        return special[m % 12];
    return rd_u64(r) >> (m % 64);
}

/* Snapshot of a string's header and its first n buffer bytes. */
typedef struct {
    USHORT len, max;
    void *buf;
    uint8_t *bytes;
    size_t n;
} snap;

static snap take_snap(const void *hdr_buf, USHORT len, USHORT max, size_t n)
{
    snap s = {len, max, (void *)hdr_buf, NULL, n};
    if (n) {
        s.bytes = malloc(n);
        CHECK(s.bytes != NULL);
        memcpy(s.bytes, hdr_buf, n);
    }
    return s;
}

static snap usnap(const UNICODE_STRING *u)
{
    return take_snap(u->Buffer, u->Length, u->MaximumLength, u->MaximumLength);
}

static snap asnap(const ANSI_STRING *a)
{
    return take_snap(a->Buffer, a->Length, a->MaximumLength, a->MaximumLength);
}

static void check_unchanged_u(const UNICODE_STRING *u, const snap *s)
{
    CHECK(u->Length == s->len && u->MaximumLength == s->max && (void *)u->Buffer == s->buf);
    if (s->n)
        CHECK(memcmp(u->Buffer, s->bytes, s->n) == 0);
}

static void check_unchanged_a(const ANSI_STRING *a, const snap *s)
{
    CHECK(a->Length == s->len && a->MaximumLength == s->max && (void *)a->Buffer == s->buf);
    if (s->n)
        CHECK(memcmp(a->Buffer, s->bytes, s->n) == 0);
}

static void drop_snap(snap *s)
{
    free(s->bytes);
    s->bytes = NULL;
}

/* ---- operations ------------------------------------------------------------------- */

static void op_init_unicode(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    int ex = m & 1;
    WCHAR *src = NULL;
    size_t n = 0;

    uslot_release(d);
    if (!(m & 2)) {
        n = pick_sz_len(r);
        src = make_wide_sz(r, n);
    }
    if (!ex) {
        RtlInitUnicodeString(&d->s, src);
    } else {
        NTSTATUS st = RtlInitUnicodeStringEx(&d->s, src);
        if (src != NULL && n * 2 > 0xfffc) {
            CHECK(st == STATUS_NAME_TOO_LONG);
            /* the destination is left as it was (zeroed by the release) */
            CHECK(d->s.Length == 0 && d->s.MaximumLength == 0 && d->s.Buffer == NULL);
            free(src);
            return;
        }
        CHECK(st == STATUS_SUCCESS);
    }
    CHECK(d->s.Buffer == src);
    if (src == NULL) {
        CHECK(d->s.Length == 0 && d->s.MaximumLength == 0);
    } else {
        size_t want = n * 2 > 0xfffc ? 0xfffc : n * 2;
        CHECK(d->s.Length == want);
        CHECK(d->s.MaximumLength == want + 2);
    }
    d->mem = src;
    d->memsize = src ? (n + 1) * 2 : 0;
}

static void op_init_ansi(reader *r)
{
    aslot *d = &g_a[rd_u8(r) % NA];
    uint8_t m = rd_u8(r);
    int ex = m & 1;
    char *src = NULL;
    size_t n = 0;

    aslot_release(d);
    if (!(m & 2)) {
        n = pick_sz_len(r);
        src = make_ansi_sz(r, n);
    }
    if (!ex) {
        RtlInitAnsiString(&d->s, src);
    } else {
        NTSTATUS st = RtlInitAnsiStringEx(&d->s, src);
        if (src != NULL && n > 0xfffe) {
            CHECK(st == STATUS_NAME_TOO_LONG);
            CHECK(d->s.Length == 0 && d->s.MaximumLength == 0 && d->s.Buffer == NULL);
            free(src);
            return;
        }
        CHECK(st == STATUS_SUCCESS);
    }
    CHECK(d->s.Buffer == src);
    if (src == NULL) {
        CHECK(d->s.Length == 0 && d->s.MaximumLength == 0);
    } else {
        size_t want = n > 0xfffe ? 0xfffe : n;
        CHECK(d->s.Length == want);
        CHECK(d->s.MaximumLength == want + 1);
    }
    d->mem = src;
    d->memsize = src ? n + 1 : 0;
}

static void op_copy_unicode(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    uslot *s = (m & 1) ? NULL : &g_u[(m >> 1) % NU];
    snap dst = usnap(&d->s);
    snap src = s ? take_snap(s->s.Buffer, s->s.Length, s->s.MaximumLength, s->s.Length) : (snap){0};

    RtlCopyUnicodeString(&d->s, s ? &s->s : NULL);
    size_t n = s ? (src.len < dst.max ? src.len : dst.max) : 0;
    CHECK(d->s.Length == n);
    CHECK(d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
    if (n)
        CHECK(memcmp(d->s.Buffer, src.bytes, n) == 0);
    /* A NULL source only sets Length to 0 (WDK); a copy is terminated when a
     * whole terminator fits below MaximumLength. */
    if (s && n + 2 <= dst.max)
        CHECK(((uint8_t *)d->s.Buffer)[n] == 0 && ((uint8_t *)d->s.Buffer)[n + 1] == 0);
    if (s && !(src.len & 1) && !(dst.max & 1))
        CHECK(!(d->s.Length & 1));
    drop_snap(&dst);
    drop_snap(&src);
}

static void op_append_unicode(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    uslot *s = &g_u[rd_u8(r) % NU];
    snap dst = usnap(&d->s);
    snap src = take_snap(s->s.Buffer, s->s.Length, s->s.MaximumLength, s->s.Length);

    NTSTATUS st = RtlAppendUnicodeStringToString(&d->s, &s->s);
    if (src.len == 0) {
        CHECK(st == STATUS_SUCCESS);
        check_unchanged_u(&d->s, &dst);
    } else if ((ULONG)dst.len + src.len > dst.max) {
        CHECK(st == STATUS_BUFFER_TOO_SMALL);
        check_unchanged_u(&d->s, &dst);
    } else {
        CHECK(st == STATUS_SUCCESS);
        ULONG n = (ULONG)dst.len + src.len;
        CHECK(d->s.Length == n && d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
        CHECK(memcmp(d->s.Buffer, dst.bytes, dst.len) == 0);
        CHECK(memcmp((uint8_t *)d->s.Buffer + dst.len, src.bytes, src.len) == 0);
        if (n + 2 <= dst.max)
            CHECK(((uint8_t *)d->s.Buffer)[n] == 0 && ((uint8_t *)d->s.Buffer)[n + 1] == 0);
        if (!(dst.len & 1) && !(src.len & 1))
            CHECK(!(d->s.Length & 1));
    }
    drop_snap(&dst);
    drop_snap(&src);
}

static void op_append_sz(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    size_t n = 0;
    WCHAR *src = NULL;
    snap dst = usnap(&d->s);

    if (!(m & 1)) {
        n = pick_sz_len(r);
        src = make_wide_sz(r, n);
    }
    NTSTATUS st = RtlAppendUnicodeToString(&d->s, src);
    if (src == NULL || n == 0) {
        CHECK(st == STATUS_SUCCESS);
        check_unchanged_u(&d->s, &dst);
    } else if (dst.len + n * 2 > dst.max) {
        CHECK(st == STATUS_BUFFER_TOO_SMALL);
        check_unchanged_u(&d->s, &dst);
    } else {
        CHECK(st == STATUS_SUCCESS);
        size_t total = dst.len + n * 2;
        CHECK(d->s.Length == total && d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
        CHECK(memcmp(d->s.Buffer, dst.bytes, dst.len) == 0);
        CHECK(memcmp((uint8_t *)d->s.Buffer + dst.len, src, n * 2) == 0);
        if (total + 2 <= dst.max)
            CHECK(((uint8_t *)d->s.Buffer)[total] == 0 && ((uint8_t *)d->s.Buffer)[total + 1] == 0);
    }
    free(src);
    drop_snap(&dst);
}

static void op_compare_unicode(reader *r)
{
    uslot *a = &g_u[rd_u8(r) % NU];
    uslot *b = &g_u[rd_u8(r) % NU];
    BOOLEAN ci = rd_u8(r) & 1;
    snap sa = usnap(&a->s), sb = usnap(&b->s);

    LONG ab = RtlCompareUnicodeString(&a->s, &b->s, ci);
    LONG ba = RtlCompareUnicodeString(&b->s, &a->s, ci);
    CHECK(sgn(ab) == -sgn(ba));
    CHECK(sgn(ab) == ref_wcmp(a->s.Buffer, a->s.Length, b->s.Buffer, b->s.Length, ci));
    CHECK(RtlCompareUnicodeString(&a->s, &a->s, ci) == 0);

    BOOLEAN eq = RtlEqualUnicodeString(&a->s, &b->s, ci);
    CHECK(eq == (ab == 0));
    CHECK(eq == RtlEqualUnicodeString(&b->s, &a->s, ci));
    CHECK(RtlEqualUnicodeString(&a->s, &a->s, ci));
    if (!ci && eq)
        CHECK(RtlEqualUnicodeString(&a->s, &b->s, TRUE));

    BOOLEAN pab = RtlPrefixUnicodeString(&a->s, &b->s, ci);
    BOOLEAN pba = RtlPrefixUnicodeString(&b->s, &a->s, ci);
    CHECK(pab == ref_wprefix(&a->s, &b->s, ci));
    CHECK(pba == ref_wprefix(&b->s, &a->s, ci));
    CHECK(RtlPrefixUnicodeString(&a->s, &a->s, ci));
    if (eq)
        CHECK(pab && pba);
    if (pab && pba && !(a->s.Length & 1) && !(b->s.Length & 1))
        CHECK(eq);

    /* The character-count variant orders whole characters only. */
    LONG cs = RtlCompareUnicodeStrings(a->s.Buffer, a->s.Length / 2u, b->s.Buffer, b->s.Length / 2u, ci);
    LONG cs2 = RtlCompareUnicodeStrings(b->s.Buffer, b->s.Length / 2u, a->s.Buffer, a->s.Length / 2u, ci);
    CHECK(sgn(cs) == -sgn(cs2));
    CHECK(sgn(cs) == ref_wcmp(a->s.Buffer, a->s.Length & ~1u, b->s.Buffer, b->s.Length & ~1u, ci));

    /* Equal strings hash alike. */
    if (eq) {
        ULONG ha = 0, hb = 1;
        CHECK(RtlHashUnicodeString(&a->s, ci, HASH_STRING_ALGORITHM_X65599, &ha) == STATUS_SUCCESS);
        CHECK(RtlHashUnicodeString(&b->s, ci, HASH_STRING_ALGORITHM_X65599, &hb) == STATUS_SUCCESS);
        CHECK(ha == hb);
    }
    check_unchanged_u(&a->s, &sa);
    check_unchanged_u(&b->s, &sb);
    drop_snap(&sa);
    drop_snap(&sb);
}

static void op_compare_ansi(reader *r)
{
    aslot *a = &g_a[rd_u8(r) % NA];
    aslot *b = &g_a[rd_u8(r) % NA];
    BOOLEAN ci = rd_u8(r) & 1;

    LONG ab = RtlCompareString(&a->s, &b->s, ci);
    LONG ba = RtlCompareString(&b->s, &a->s, ci);
    CHECK(sgn(ab) == -sgn(ba));
    CHECK(sgn(ab) == ref_acmp(&a->s, &b->s, ci));
    BOOLEAN eq = RtlEqualString(&a->s, &b->s, ci);
    CHECK(eq == (ab == 0));
    BOOLEAN p = RtlPrefixString(&a->s, &b->s, ci);
    int refp = a->s.Length <= b->s.Length;
    for (size_t i = 0; refp && i < a->s.Length; i++) {
        uint8_t ca = (uint8_t)a->s.Buffer[i], cb = (uint8_t)b->s.Buffer[i];
        if (ci) {
            ca = aupper(ca);
            cb = aupper(cb);
        }
        refp = ca == cb;
    }
    CHECK(p == refp);
}

static void op_copy_append_ansi(reader *r)
{
    aslot *d = &g_a[rd_u8(r) % NA];
    uint8_t m = rd_u8(r);
    aslot *s = &g_a[(m >> 2) % NA];
    snap dst = asnap(&d->s);
    snap src = take_snap(s->s.Buffer, s->s.Length, s->s.MaximumLength, s->s.Length);

    if (m & 1) {
        RtlCopyString(&d->s, (m & 2) ? NULL : &s->s);
        size_t n = (m & 2) ? 0 : (src.len < dst.max ? src.len : dst.max);
        CHECK(d->s.Length == n && d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
        if (n)
            CHECK(memcmp(d->s.Buffer, src.bytes, n) == 0);
    } else if (m & 2) {
        RtlUpperString(&d->s, &s->s);
        size_t n = src.len < dst.max ? src.len : dst.max;
        CHECK(d->s.Length == n && d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
        for (size_t i = 0; i < n; i++)
            CHECK((uint8_t)d->s.Buffer[i] == aupper(src.bytes[i]));
    } else {
        NTSTATUS st = RtlAppendStringToString(&d->s, &s->s);
        if (src.len == 0) {
            CHECK(st == STATUS_SUCCESS);
            check_unchanged_a(&d->s, &dst);
        } else if ((ULONG)dst.len + src.len > dst.max) {
            CHECK(st == STATUS_BUFFER_TOO_SMALL);
            check_unchanged_a(&d->s, &dst);
        } else {
            CHECK(st == STATUS_SUCCESS);
            CHECK(d->s.Length == dst.len + src.len && d->s.MaximumLength == dst.max);
            CHECK(memcmp(d->s.Buffer, dst.bytes, dst.len) == 0);
            CHECK(memcmp(d->s.Buffer + dst.len, src.bytes, src.len) == 0);
        }
    }
    drop_snap(&dst);
    drop_snap(&src);
}

static void op_case_unicode(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    uslot *s = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    BOOLEAN up = m & 1, alloc = (m >> 1) & 1;
    int fail = alloc && (m & 4);
    snap dst = usnap(&d->s);
    snap src = take_snap(s->s.Buffer, s->s.Length, s->s.MaximumLength, s->s.Length);
    void *old_mem = d->mem;
    int old_rtl = d->rtl;
    USHORT bytes = (USHORT)(src.len & ~1u);

    g_fail_alloc = fail;
    NTSTATUS st = up ? RtlUpcaseUnicodeString(&d->s, &s->s, alloc)
                     : RtlDowncaseUnicodeString(&d->s, &s->s, alloc);
    g_fail_alloc = 0;

    if (alloc) {
        if (fail) {
            CHECK(st == STATUS_NO_MEMORY);
            check_unchanged_u(&d->s, &dst);
        } else {
            CHECK(st == STATUS_SUCCESS);
            CHECK(d->s.Buffer != NULL && alloc_size(d->s.Buffer) >= d->s.MaximumLength);
            CHECK(d->s.Length == bytes && d->s.MaximumLength >= bytes);
            /* Also right when s aliases d: the source was read before the call. */
            uslot_adopt(d, old_mem, old_rtl);
        }
    } else if (bytes > dst.max) {
        CHECK(st == STATUS_BUFFER_OVERFLOW);
        check_unchanged_u(&d->s, &dst);
    } else {
        CHECK(st == STATUS_SUCCESS);
        CHECK(d->s.Length == bytes && d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
    }
    if (st == STATUS_SUCCESS) {
        CHECK(!(d->s.Length & 1));
        for (size_t i = 0; i < bytes / 2u; i++) {
            WCHAR c = wat(src.bytes, i);
            CHECK(wat(d->s.Buffer, i) == (up ? RtlUpcaseUnicodeChar(c) : RtlDowncaseUnicodeChar(c)));
        }
    }
    drop_snap(&dst);
    drop_snap(&src);
}

static void op_ansi_to_unicode(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    aslot *s = &g_a[rd_u8(r) % NA];
    uint8_t m = rd_u8(r);
    BOOLEAN alloc = m & 1;
    int fail = alloc && (m & 2);
    snap dst = usnap(&d->s);
    void *old_mem = d->mem;
    int old_rtl = d->rtl;
    ULONG L = s->s.Length;
    ULONG size = (L + 1) * 2;

    CHECK(RtlxAnsiStringToUnicodeSize(&s->s) == size);
    g_fail_alloc = fail;
    NTSTATUS st = RtlAnsiStringToUnicodeString(&d->s, &s->s, alloc);
    g_fail_alloc = 0;

    if (size > MAXUSHORT) {
        CHECK(st == STATUS_INVALID_PARAMETER_2);
        check_unchanged_u(&d->s, &dst);
    } else if (alloc && fail) {
        CHECK(st == STATUS_NO_MEMORY);
        check_unchanged_u(&d->s, &dst);
    } else if (!alloc && dst.max < size) {
        CHECK(st == STATUS_BUFFER_OVERFLOW);
        check_unchanged_u(&d->s, &dst);
    } else {
        CHECK(st == STATUS_SUCCESS);
        if (alloc) {
            CHECK(d->s.MaximumLength >= size && alloc_size(d->s.Buffer) >= d->s.MaximumLength);
            uslot_adopt(d, old_mem, old_rtl);
        } else {
            CHECK(d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
        }
        CHECK(d->s.Length == L * 2);
        for (ULONG i = 0; i < L; i++)
            CHECK(wat(d->s.Buffer, i) == ref_cp1252((uint8_t)s->s.Buffer[i]));
        CHECK(wat(d->s.Buffer, L) == 0);

        /* Every byte string survives the round trip through Unicode. */
        ANSI_STRING back = {0, 0, NULL};
        CHECK(RtlUnicodeStringToAnsiString(&back, &d->s, TRUE) == STATUS_SUCCESS);
        CHECK(back.Length == L && (L == 0 || memcmp(back.Buffer, s->s.Buffer, L) == 0));
        RtlFreeAnsiString(&back);
    }
    drop_snap(&dst);
}

static void op_unicode_to_ansi(reader *r)
{
    aslot *d = &g_a[rd_u8(r) % NA];
    uslot *s = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    BOOLEAN alloc = m & 1;
    int fail = alloc && (m & 2);
    snap dst = asnap(&d->s);
    void *old_mem = d->mem;
    int old_rtl = d->rtl;
    ULONG chars = s->s.Length / 2u;

    CHECK(RtlxUnicodeStringToAnsiSize(&s->s) == chars + 1);
    g_fail_alloc = fail;
    NTSTATUS st = RtlUnicodeStringToAnsiString(&d->s, &s->s, alloc);
    g_fail_alloc = 0;

    ULONG out = chars;
    if (alloc && fail) {
        CHECK(st == STATUS_NO_MEMORY);
        check_unchanged_a(&d->s, &dst);
        drop_snap(&dst);
        return;
    }
    if (!alloc && dst.max < chars + 1) {
        CHECK(st == STATUS_BUFFER_OVERFLOW);
        if (dst.max == 0) {
            check_unchanged_a(&d->s, &dst);
            drop_snap(&dst);
            return;
        }
        out = dst.max - 1u;
    } else {
        CHECK(st == STATUS_SUCCESS);
    }
    if (alloc) {
        CHECK(d->s.MaximumLength >= chars + 1 && alloc_size(d->s.Buffer) >= d->s.MaximumLength);
        aslot_adopt(d, old_mem, old_rtl);
    } else {
        CHECK(d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
    }
    CHECK(d->s.Length == out);
    for (ULONG i = 0; i < out; i++)
        CHECK((uint8_t)d->s.Buffer[i] == ref_to_cp1252(wat(s->s.Buffer, i)));
    CHECK(d->s.Buffer[out] == 0);
    drop_snap(&dst);
}

static void op_unicode_to_integer(reader *r)
{
    uslot *s = &g_u[rd_u8(r) % NU];
    ULONG base = pick_base(r);
    uint8_t m = rd_u8(r);
    ULONG v = 0xDEADBEEF;
    size_t count = s->s.Length / 2u;

    if ((m & 15) == 15) {
        /* NULL Value / NULL String, in the order the routine validates. */
        NTSTATUS st = RtlUnicodeStringToInteger((m & 16) ? NULL : &s->s, base, NULL);
        if (!valid_base(base) && base != 0)
            CHECK(st == STATUS_INVALID_PARAMETER);
        else if (m & 16)
            CHECK(st == STATUS_INVALID_PARAMETER);
        else
            CHECK(st == STATUS_ACCESS_VIOLATION);
        return;
    }
    NTSTATUS st = RtlUnicodeStringToInteger(&s->s, base, &v);
    if ((!valid_base(base) && base != 0) || count == 0) {
        CHECK(st == STATUS_INVALID_PARAMETER && v == 0xDEADBEEF);
        return;
    }
    CHECK(st == STATUS_SUCCESS);
    ULONG *c = malloc(count * sizeof(ULONG));
    CHECK(c != NULL);
    int narrowable = 1;
    for (size_t i = 0; i < count; i++) {
        c[i] = wat(s->s.Buffer, i);
        if (c[i] == 0 || c[i] > 0xFF)
            narrowable = 0;
    }
    CHECK(v == ref_parse(c, count, base));
    if (narrowable) {
        /* The 8-bit parser agrees on the same characters. */
        char *a = malloc(count + 1);
        CHECK(a != NULL);
        for (size_t i = 0; i < count; i++)
            a[i] = (char)c[i];
        a[count] = 0;
        ULONG v2 = 0x12345678;
        CHECK(RtlCharToInteger(a, base, &v2) == STATUS_SUCCESS);
        CHECK(v2 == v);
        free(a);
    }
    free(c);
}

static void op_char_to_integer(reader *r)
{
    size_t n = rd_u8(r) % 48;
    ULONG base = pick_base(r);
    uint8_t m = rd_u8(r);
    char *a = make_ansi_sz(r, n);
    ULONG v = 0xDEADBEEF;

    NTSTATUS st = RtlCharToInteger((m & 1) ? NULL : a, base, (m & 2) ? NULL : &v);
    if (!valid_base(base) && base != 0) {
        CHECK(st == STATUS_INVALID_PARAMETER);
    } else if (m & 1) {
        CHECK(st == STATUS_INVALID_PARAMETER);
    } else if (m & 2) {
        CHECK(st == STATUS_ACCESS_VIOLATION);
    } else {
        CHECK(st == STATUS_SUCCESS);
        ULONG c[48];
        for (size_t i = 0; i < n; i++)
            c[i] = (uint8_t)a[i];
        CHECK(v == ref_parse(c, n, base));
    }
    if (st != STATUS_SUCCESS)
        CHECK(v == 0xDEADBEEF);
    free(a);
}

static void op_integer_to_unicode(reader *r)
{
    uslot *d = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    int is64 = m & 1;
    uint64_t value = pick_value(r);
    ULONG base = pick_base(r);
    snap dst = usnap(&d->s);

    if (!is64)
        value = (ULONG)value;
    NTSTATUS st = is64 ? RtlInt64ToUnicodeString(value, base, &d->s)
                       : RtlIntegerToUnicodeString((ULONG)value, base, &d->s);
    ULONG eff = base == 0 ? 10 : base;
    if (!valid_base(eff)) {
        CHECK(st == STATUS_INVALID_PARAMETER);
        check_unchanged_u(&d->s, &dst);
        drop_snap(&dst);
        return;
    }
    char digits[64];
    size_t n = ref_digits(value, eff, digits);
    if (n * 2 > dst.max) {
        CHECK(st == STATUS_BUFFER_OVERFLOW);
        check_unchanged_u(&d->s, &dst);
        drop_snap(&dst);
        return;
    }
    CHECK(st == STATUS_SUCCESS);
    CHECK(d->s.Length == n * 2 && d->s.MaximumLength == dst.max && (void *)d->s.Buffer == dst.buf);
    for (size_t i = 0; i < n; i++)
        CHECK(wat(d->s.Buffer, i) == (WCHAR)digits[i]);
    if ((n + 1) * 2 <= dst.max)
        CHECK(wat(d->s.Buffer, n) == 0);

    /* Round trip: the parser reads back the low 32 bits. */
    ULONG back = 0;
    CHECK(RtlUnicodeStringToInteger(&d->s, eff, &back) == STATUS_SUCCESS);
    CHECK(back == (ULONG)value);
    if (eff == 10) {
        back = 0;
        CHECK(RtlUnicodeStringToInteger(&d->s, 0, &back) == STATUS_SUCCESS);
        CHECK(back == (ULONG)value);
    }
    drop_snap(&dst);
}

static void op_integer_to_char(reader *r)
{
    ULONG value = (ULONG)pick_value(r);
    ULONG base = pick_base(r);
    uint8_t m = rd_u8(r);
    LONG outlen = (m & 0x80) ? -(LONG)(m & 3) - 1 : (LONG)(m % 40);
    size_t bufsize = outlen > 0 ? (size_t)outlen : 0;
    char *buf = malloc(bufsize ? bufsize : 1);
    CHECK(buf != NULL);
    memset(buf, 0x5A, bufsize ? bufsize : 1);
    int null_buf = (m & 0x40) != 0;

    NTSTATUS st = RtlIntegerToChar(value, base, outlen, null_buf ? NULL : buf);
    ULONG eff = base == 0 ? 10 : base;
    if (!valid_base(eff)) {
        CHECK(st == STATUS_INVALID_PARAMETER);
    } else {
        char digits[64];
        size_t n = ref_digits(value, eff, digits);
        if (outlen < 0 || n > (size_t)outlen) {
            CHECK(st == STATUS_BUFFER_OVERFLOW);
        } else if (null_buf) {
            CHECK(st == STATUS_ACCESS_VIOLATION);
        } else {
            CHECK(st == STATUS_SUCCESS);
            CHECK(memcmp(buf, digits, n) == 0);
            if (n < bufsize)
                CHECK(buf[n] == 0);
            ULONG back = 0;
            if (n < bufsize) {
                CHECK(RtlCharToInteger(buf, eff, &back) == STATUS_SUCCESS);
                CHECK(back == value);
            }
        }
    }
    free(buf);
}

static void op_hash(reader *r)
{
    uslot *s = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    BOOLEAN ci = m & 1;
    ULONG alg;
    switch ((m >> 1) & 7) {
    case 0:
    case 1:
        alg = HASH_STRING_ALGORITHM_DEFAULT;
        break;
    case 2:
    case 3:
        alg = HASH_STRING_ALGORITHM_X65599;
        break;
    case 4:
        alg = HASH_STRING_ALGORITHM_INVALID;
        break;
    case 5:
        alg = 2;
        break;
    default:
        alg = rd_u32(r);
        break;
    }
    ULONG h = 0xDEADBEEF;
    int null_str = (m & 0x30) == 0x30, null_val = (m & 0xC0) == 0xC0;
    NTSTATUS st = RtlHashUnicodeString(null_str ? NULL : &s->s, ci, alg, null_val ? NULL : &h);
    if (null_str || null_val || (alg != 0 && alg != 1)) {
        CHECK(st == STATUS_INVALID_PARAMETER);
        CHECK(h == 0xDEADBEEF);
        return;
    }
    CHECK(st == STATUS_SUCCESS);
    CHECK(h == ref_hash(&s->s, ci));
}

static void op_duplicate(reader *r)
{
    uslot *s = &g_u[rd_u8(r) % NU];
    uint8_t m = rd_u8(r);
    static const ULONG flag_choices[] = {0, 1, 2, 3, 3, 1, 4, 0x80000001u};
    ULONG flags = flag_choices[m & 7];
    int fail = (m & 8) != 0;
    UNICODE_STRING in = s->s;

    /* RtlDuplicateUnicodeString validates its input, so it also gets malformed
     * headers - but only ones it must reject before reading the buffer. */
    int malformed = 0;
    if ((m & 0x30) == 0x30) {
        USHORT a = rd_u16(r), b = rd_u16(r);
        if (a == b)
            b = (USHORT)(a ^ 1);
        in.Length = a > b ? a : b;
        in.MaximumLength = a > b ? b : a;
        malformed = 1;
    } else if ((m & 0x30) == 0x20) {
        in.Buffer = NULL;
        in.Length = 0;
        in.MaximumLength = (USHORT)(rd_u16(r) | 1);
        malformed = 1;
    }

    UNICODE_STRING out = {0x1111, 0x2222, (PWSTR)(uintptr_t)0x1};
    g_fail_alloc = fail;
    NTSTATUS st = RtlDuplicateUnicodeString(flags, &in, &out);
    g_fail_alloc = 0;

    int untouched = out.Length == 0x1111 && out.MaximumLength == 0x2222 &&
                    out.Buffer == (PWSTR)(uintptr_t)0x1;
    if ((flags & ~3u) != 0 || flags == 2 || malformed) {
        CHECK(st == STATUS_INVALID_PARAMETER && untouched);
        return;
    }
    if (in.Length == 0 && flags != 3) {
        CHECK(st == STATUS_SUCCESS);
        CHECK(out.Length == 0 && out.MaximumLength == 0 && out.Buffer == NULL);
        return;
    }
    ULONG size = in.Length + ((flags & 1) ? 2u : 0u);
    if (size > MAXUSHORT) {
        CHECK(st == STATUS_NAME_TOO_LONG && untouched);
        return;
    }
    if (fail) {
        CHECK(st == STATUS_NO_MEMORY && untouched);
        return;
    }
    CHECK(st == STATUS_SUCCESS);
    CHECK(out.Length == in.Length && out.MaximumLength == size && out.Buffer != NULL);
    CHECK(alloc_size(out.Buffer) >= size);
    CHECK(in.Length == 0 || memcmp(out.Buffer, in.Buffer, in.Length) == 0);
    if (flags & 1)
        CHECK(((uint8_t *)out.Buffer)[in.Length] == 0 && ((uint8_t *)out.Buffer)[in.Length + 1] == 0);
    RtlFreeUnicodeString(&out);
    CHECK(out.Buffer == NULL);
}

static void op_create(reader *r)
{
    uint8_t m = rd_u8(r);
    size_t n = pick_sz_len(r);
    WCHAR *src = make_wide_sz(r, n);
    int fail = m & 1;
    UNICODE_STRING out = {0x1111, 0x2222, (PWSTR)(uintptr_t)0x1};

    g_fail_alloc = fail;
    BOOLEAN ok = RtlCreateUnicodeString(&out, src);
    g_fail_alloc = 0;
    if ((n + 1) * 2 > 0xfffe || fail) {
        CHECK(!ok);
        CHECK(out.Length == 0x1111 && out.MaximumLength == 0x2222 && out.Buffer == (PWSTR)(uintptr_t)0x1);
    } else {
        CHECK(ok);
        CHECK(out.Length == n * 2 && out.MaximumLength == n * 2 + 2);
        CHECK(alloc_size(out.Buffer) >= out.MaximumLength);
        CHECK(memcmp(out.Buffer, src, (n + 1) * 2) == 0);
        RtlFreeUnicodeString(&out);
    }
    free(src);
}

static void check_all(void)
{
    for (int i = 0; i < NU; i++)
        uslot_check(&g_u[i]);
    for (int i = 0; i < NA; i++)
        aslot_check(&g_a[i]);
}

typedef void (*op_fn)(reader *);

static void op_make_u(reader *r)
{
    uslot_make(&g_u[rd_u8(r) % NU], r);
}

static void op_make_a(reader *r)
{
    aslot_make(&g_a[rd_u8(r) % NA], r);
}

static void op_free(reader *r)
{
    uint8_t m = rd_u8(r);
    if (m & 1)
        uslot_release(&g_u[(m >> 1) % NU]);
    else
        aslot_release(&g_a[(m >> 1) % NA]);
}

static const op_fn k_ops[] = {
    op_make_u,           op_make_u,          op_make_a,          op_init_unicode,
    op_init_ansi,        op_copy_unicode,    op_append_unicode,  op_append_sz,
    op_compare_unicode,  op_compare_unicode, op_compare_ansi,    op_copy_append_ansi,
    op_case_unicode,     op_ansi_to_unicode, op_unicode_to_ansi, op_unicode_to_integer,
    op_char_to_integer,  op_integer_to_unicode, op_integer_to_char, op_hash,
    op_duplicate,        op_create,          op_free,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    unsigned ops = 0;

    RtlpSetPoolHooks(pool_alloc, pool_free);
    memset(g_u, 0, sizeof(g_u));
    memset(g_a, 0, sizeof(g_a));

    while (r.n > 0 && ops++ < 512) {
        k_ops[rd_u8(&r) % (sizeof(k_ops) / sizeof(k_ops[0]))](&r);
        check_all();
    }

    for (int i = 0; i < NU; i++)
        uslot_release(&g_u[i]);
    for (int i = 0; i < NA; i++)
        aslot_release(&g_a[i]);
    CHECK(alloc_outstanding() == 0);
    return 0;
}
