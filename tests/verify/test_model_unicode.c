/*
 * Model-based property test: the Rtl counted-string routines against a model
 * over plain byte arrays.
 *
 * Four UNICODE_STRING "registers" and two ANSI_STRING ones, each over a
 * caller buffer inside a larger storage block, go through random operations
 * (init, copy, append, compare/equal/prefix, up/downcase, ANSI <-> Unicode,
 * hash). MaximumLength and Length may be odd and buffers are often exactly
 * full. After every operation the WHOLE storage block of every register, its
 * Length, MaximumLength and Buffer must equal the model's: that is how the
 * test sees a write past MaximumLength, a terminator where none fits, or a
 * failed call (STATUS_BUFFER_TOO_SMALL / STATUS_BUFFER_OVERFLOW) that changed
 * something.
 *
 * What the model predicts (the documented NT rules; WDK pages of each routine):
 *  - RtlInitUnicodeString: Buffer = source, Length = 2 * wcslen, MaximumLength
 *    = Length + 2; a NULL source gives 0/0/NULL.
 *  - RtlCopyUnicodeString copies min(source Length, destination MaximumLength)
 *    bytes, sets Length to that and never changes MaximumLength or Buffer; a
 *    NULL source sets Length to 0. Like the appends it NUL-terminates only when
 *    a whole WCHAR fits below MaximumLength.
 *  - RtlAppendUnicodeStringToString / RtlAppendUnicodeToString: all or nothing;
 *    STATUS_BUFFER_TOO_SMALL leaves the destination untouched.
 *  - RtlCompareUnicodeString: the sign of the first differing character pair
 *    (both upcased when case-insensitive) over the common whole characters,
 *    else of the Length difference; RtlEqualUnicodeString: equal Lengths and
 *    characters; RtlPrefixUnicodeString(a, b): a is a prefix of b.
 *  - RtlUpcase/DowncaseUnicodeString into a caller buffer: the whole string or
 *    nothing (STATUS_BUFFER_OVERFLOW when MaximumLength < source Length); no
 *    terminator; works in place. Only even source Lengths are given to them
 *    (what NT does with a half character at the end is not documented).
 *  - RtlAnsiStringToUnicodeString (ASCII): needs room for the string and its
 *    terminator, else STATUS_BUFFER_OVERFLOW and nothing changed.
 *  - RtlUnicodeStringToAnsiString (ASCII): writes the string and a NUL; when
 *    the buffer is too small NT converts what fits before a NUL and returns
 *    STATUS_BUFFER_OVERFLOW (the WDK page only says "no conversion" for
 *    failures; Windows itself truncates, and so does ntos: see src/rtl/nls.c).
 *  - RtlHashUnicodeString: x65599 (DEFAULT is x65599 too), characters upcased
 *    when case-insensitive; any other algorithm is STATUS_INVALID_PARAMETER.
 *
 * Case mapping of single characters is the model's own table for the alphabet
 * the generator uses (ASCII letters, e/E acute, Greek and Cyrillic alpha, sharp
 * s which has no single-character upper case). Appending at an odd byte offset
 * can glue two halves into some other WCHAR; for those the model asks
 * RtlUpcaseUnicodeChar/RtlDowncaseUnicodeChar (the case table itself is
 * checked by tests/rtl/test_nls.c; this test is about the string logic).
 * RtlFindCharInUnicodeString does not exist in ntos yet, so it is not here.
 */
#include "ntos_test.h"
#include "model.h"

#define MU_REGS 4
#define MU_STORE 48 /* bytes of storage per Unicode register; MaximumLength <= MU_MAXLEN */
#define MU_MAXLEN 40
#define MA_REGS 2
#define MA_STORE 32
#define MA_MAXLEN 24
#define MU_FILL 0xCD /* what never-written storage holds */

enum {
    MU_RESET,   /* set a Unicode register directly: MaximumLength, Length, content */
    MU_RESETA,  /* the same for an ANSI register (ASCII content) */
    MU_INIT,    /* RtlInitUnicodeString over the register's storage (or NULL) */
    MU_COPY,    /* RtlCopyUnicodeString */
    MU_APPEND,  /* RtlAppendUnicodeStringToString */
    MU_APPENDZ, /* RtlAppendUnicodeToString with a literal */
    MU_COMPARE, /* RtlCompareUnicodeString, RtlEqualUnicodeString, RtlPrefixUnicodeString both ways */
    MU_CASE,    /* RtlUpcaseUnicodeString / RtlDowncaseUnicodeString, caller buffer or allocated */
    MU_U2A,     /* RtlUnicodeStringToAnsiString */
    MU_A2U,     /* RtlAnsiStringToUnicodeString */
    MU_HASH,    /* RtlHashUnicodeString */
    MU_KINDS
};

/* The generator's alphabet with its case partners. */
static const struct {
    WCHAR C, Up, Down;
} mu_alpha[] = {
    {L'a', L'A', L'a'},       {L'b', L'B', L'b'},       {L'z', L'Z', L'z'},       {L'A', L'A', L'a'},
    {L'B', L'B', L'b'},       {L'Z', L'Z', L'z'},       {L'0', L'0', L'0'},       {L'_', L'_', L'_'},
    {L'\\', L'\\', L'\\'},    {L'[', L'[', L'['},       {0x00E9, 0x00C9, 0x00E9}, {0x00C9, 0x00C9, 0x00E9},
    {0x03B1, 0x0391, 0x03B1}, {0x0391, 0x0391, 0x03B1}, {0x0430, 0x0410, 0x0430}, {0x0410, 0x0410, 0x0430},
    {0x00DF, 0x00DF, 0x00DF},
};
#define MU_ALPHA (sizeof(mu_alpha) / sizeof(mu_alpha[0]))
#define MU_ASCII_ALPHA 10 /* the first 10 entries are ASCII */

static const PCWSTR mu_literals[] = {
    L"", L"a", L"Zz", L"\x00e9t\x00c9", L"abcdefghij", L"\x0430\x0410_", L"[\\]", L"0123456789abcdefghijk",
};
#define MU_LITERALS (sizeof(mu_literals) / sizeof(mu_literals[0]))

static WCHAR mu_up(WCHAR c)
{
    for (ULONG i = 0; i < MU_ALPHA; i++)
        if (mu_alpha[i].C == c)
            return mu_alpha[i].Up;
    return RtlUpcaseUnicodeChar(c); /* a glued half-character pair: see the top */
}

static WCHAR mu_down(WCHAR c)
{
    for (ULONG i = 0; i < MU_ALPHA; i++)
        if (mu_alpha[i].C == c)
            return mu_alpha[i].Down;
    return RtlDowncaseUnicodeChar(c);
}

/* ---- the model ------------------------------------------------------------------------- */

typedef struct {
    UCHAR B[MU_STORE];
    USHORT Len, Max;
    BOOLEAN Null; /* Buffer is NULL (RtlInitUnicodeString(NULL)) */
} mu_ureg;

typedef struct {
    UCHAR B[MA_STORE];
    USHORT Len, Max;
} mu_areg;

static mu_ureg mu_m[MU_REGS];
static mu_areg ma_m[MA_REGS];

/* ---- the real strings ------------------------------------------------------------------ */

static WCHAR mu_store[MU_REGS][MU_STORE / sizeof(WCHAR)];
static UNICODE_STRING mu_r[MU_REGS];
static CHAR ma_store[MA_REGS][MA_STORE];
static ANSI_STRING ma_r[MA_REGS];

static WCHAR mu_char(const mu_ureg *r, ULONG i)
{
    return (WCHAR)(r->B[2 * i] | (r->B[2 * i + 1] << 8));
}

static void mu_put_char(UCHAR *b, ULONG i, WCHAR c)
{
    b[2 * i] = (UCHAR)c;
    b[2 * i + 1] = (UCHAR)(c >> 8);
}

/* A deterministic character stream from a seed. */
static WCHAR mu_gen_char(ULONG *s, BOOLEAN Ascii)
{
    *s = *s * 1103515245u + 12345u;
    ULONG k = (*s >> 16) % (Ascii ? MU_ASCII_ALPHA : MU_ALPHA);
    return mu_alpha[k].C;
}

static void mu_fresh(void)
{
    static const USHORT initial_max[MU_REGS] = {8, 16, 24, MU_MAXLEN};
    for (ULONG i = 0; i < MU_REGS; i++) {
        RtlFillMemory(mu_m[i].B, MU_STORE, MU_FILL);
        RtlFillMemory(mu_store[i], MU_STORE, MU_FILL);
        mu_m[i].Len = 0;
        mu_m[i].Max = initial_max[i];
        mu_m[i].Null = FALSE;
        mu_r[i].Buffer = mu_store[i];
        mu_r[i].Length = 0;
        mu_r[i].MaximumLength = initial_max[i];
    }
    for (ULONG i = 0; i < MA_REGS; i++) {
        RtlFillMemory(ma_m[i].B, MA_STORE, MU_FILL);
        RtlFillMemory(ma_store[i], MA_STORE, MU_FILL);
        ma_m[i].Len = 0;
        ma_m[i].Max = (USHORT)(8 * (i + 1));
        ma_r[i].Buffer = ma_store[i];
        ma_r[i].Length = 0;
        ma_r[i].MaximumLength = ma_m[i].Max;
    }
}

/* Whole-state agreement; returns FALSE and says why on the first difference. */
static BOOLEAN mu_agree(char *why, ULONG whysize)
{
    for (ULONG i = 0; i < MU_REGS; i++) {
        const mu_ureg *m = &mu_m[i];
        const UNICODE_STRING *r = &mu_r[i];
        PWSTR want = m->Null ? NULL : mu_store[i];
        if (r->Length != m->Len || r->MaximumLength != m->Max || r->Buffer != want) {
            model_say(why, whysize, "u%u: Length/Max %u/%u%s, model %u/%u%s", i, r->Length, r->MaximumLength,
                      r->Buffer == NULL ? " NULL" : (r->Buffer == mu_store[i] ? "" : " foreign buffer"), m->Len,
                      m->Max, m->Null ? " NULL" : "");
            return FALSE;
        }
        const UCHAR *b = (const UCHAR *)mu_store[i];
        for (ULONG k = 0; k < MU_STORE; k++)
            if (b[k] != m->B[k]) {
                model_say(why, whysize, "u%u: storage byte %u is %02x, model %02x (Length %u, Max %u)", i, k, b[k],
                          m->B[k], m->Len, m->Max);
                return FALSE;
            }
    }
    for (ULONG i = 0; i < MA_REGS; i++) {
        const mu_areg *m = &ma_m[i];
        const ANSI_STRING *r = &ma_r[i];
        if (r->Length != m->Len || r->MaximumLength != m->Max || r->Buffer != ma_store[i]) {
            model_say(why, whysize, "a%u: Length/Max %u/%u, model %u/%u", i, r->Length, r->MaximumLength, m->Len,
                      m->Max);
            return FALSE;
        }
        for (ULONG k = 0; k < MA_STORE; k++)
            if ((UCHAR)ma_store[i][k] != m->B[k]) {
                model_say(why, whysize, "a%u: storage byte %u is %02x, model %02x (Length %u, Max %u)", i, k,
                          (UCHAR)ma_store[i][k], m->B[k], m->Len, m->Max);
                return FALSE;
            }
    }
    return TRUE;
}

/* A terminator is written only when a whole WCHAR fits below MaximumLength. */
static void mu_terminate(mu_ureg *m)
{
    if ((ULONG)m->Len + 2 <= m->Max) {
        m->B[m->Len] = 0;
        m->B[m->Len + 1] = 0;
    }
}

static BOOLEAN mu_is_ascii(const mu_ureg *m)
{
    for (ULONG i = 0; i < m->Len / 2u; i++)
        if (mu_char(m, i) >= 0x80)
            return FALSE;
    return TRUE;
}

static LONG mu_sign(LONG v)
{
    return v < 0 ? -1 : (v > 0 ? 1 : 0);
}

static LONG mu_model_compare(const mu_ureg *a, const mu_ureg *b, BOOLEAN ci)
{
    ULONG n = (a->Len < b->Len ? a->Len : b->Len) / 2u;
    for (ULONG i = 0; i < n; i++) {
        WCHAR x = mu_char(a, i), y = mu_char(b, i);
        if (ci) {
            x = mu_up(x);
            y = mu_up(y);
        }
        if (x != y)
            return x < y ? -1 : 1;
    }
    return mu_sign((LONG)a->Len - (LONG)b->Len);
}

static BOOLEAN mu_model_prefix(const mu_ureg *a, const mu_ureg *b, BOOLEAN ci)
{
    if (a->Len > b->Len)
        return FALSE;
    for (ULONG i = 0; i < a->Len / 2u; i++) {
        WCHAR x = mu_char(a, i), y = mu_char(b, i);
        if (ci ? mu_up(x) != mu_up(y) : x != y)
            return FALSE;
    }
    return TRUE;
}

static ULONG mu_model_hash(const mu_ureg *m, BOOLEAN ci)
{
    ULONG h = 0;
    for (ULONG i = 0; i < m->Len / 2u; i++) {
        WCHAR c = mu_char(m, i);
        h = h * 65599u + (ci ? mu_up(c) : c);
    }
    return h;
}

#define MU_FAIL(...)                                                                                                \
    do {                                                                                                            \
        model_say(why, whysize, __VA_ARGS__);                                                                       \
        return FALSE;                                                                                               \
    } while (0)

/* Applies one operation to both sides; FALSE (with why) on a disagreement in what the call returned. */
static BOOLEAN mu_step(const model_op *op, char *why, ULONG whysize)
{
    ULONG a = op->A % MU_REGS, b = op->B % MU_REGS, c = op->C;
    mu_ureg *ma = &mu_m[a], *mb = &mu_m[b];
    UNICODE_STRING *ra = &mu_r[a], *rb = &mu_r[b];
    switch (op->Kind) {
    case MU_RESET: {
        USHORT max = (USHORT)(op->B % (MU_MAXLEN + 1));
        USHORT len = (USHORT)((c >> 4) % (max + 1u));
        ULONG s = c;
        RtlFillMemory(ma->B, MU_STORE, MU_FILL);
        for (ULONG i = 0; i < (len + 1u) / 2; i++)
            mu_put_char(ma->B, i, mu_gen_char(&s, (c & 1) != 0));
        for (ULONG k = len; k < MU_STORE; k++) /* an odd Length keeps only the low byte of the last char */
            ma->B[k] = MU_FILL;
        ma->Len = len;
        ma->Max = max;
        ma->Null = FALSE;
        RtlCopyMemory(mu_store[a], ma->B, MU_STORE);
        ra->Buffer = mu_store[a];
        ra->Length = len;
        ra->MaximumLength = max;
        return TRUE;
    }
    case MU_RESETA: {
        ULONG i = op->A % MA_REGS;
        USHORT max = (USHORT)(op->B % (MA_MAXLEN + 1));
        USHORT len = (USHORT)((c >> 4) % (max + 1u));
        ULONG s = c;
        RtlFillMemory(ma_m[i].B, MA_STORE, MU_FILL);
        for (ULONG k = 0; k < len; k++)
            ma_m[i].B[k] = (UCHAR)mu_gen_char(&s, TRUE);
        ma_m[i].Len = len;
        ma_m[i].Max = max;
        RtlCopyMemory(ma_store[i], ma_m[i].B, MA_STORE);
        ma_r[i].Buffer = ma_store[i];
        ma_r[i].Length = len;
        ma_r[i].MaximumLength = max;
        return TRUE;
    }
    case MU_INIT: {
        if ((c & 7) == 0) {
            RtlInitUnicodeString(ra, NULL);
            ma->Len = ma->Max = 0;
            ma->Null = TRUE;
            return TRUE;
        }
        ULONG n = op->B % (MU_MAXLEN / 2); /* MaximumLength 2n + 2 <= MU_MAXLEN */
        ULONG s = c;
        for (ULONG i = 0; i < n; i++)
            mu_put_char(ma->B, i, mu_gen_char(&s, (c & 8) != 0));
        mu_put_char(ma->B, n, 0);
        RtlCopyMemory(mu_store[a], ma->B, MU_STORE);
        RtlInitUnicodeString(ra, mu_store[a]);
        ma->Len = (USHORT)(2 * n);
        ma->Max = (USHORT)(2 * n + 2);
        ma->Null = FALSE;
        return TRUE;
    }
    case MU_COPY: {
        if ((c & 7) == 0) {
            RtlCopyUnicodeString(ra, NULL);
            ma->Len = 0;
            return TRUE;
        }
        UCHAR src[MU_STORE];
        USHORT n = mb->Len < ma->Max ? mb->Len : ma->Max;
        RtlCopyMemory(src, mb->B, MU_STORE);
        RtlCopyUnicodeString(ra, rb);
        RtlCopyMemory(ma->B, src, n);
        ma->Len = n;
        mu_terminate(ma);
        return TRUE;
    }
    case MU_APPEND: {
        NTSTATUS want = STATUS_SUCCESS;
        UCHAR src[MU_STORE];
        USHORT add = mb->Len;
        RtlCopyMemory(src, mb->B, MU_STORE);
        NTSTATUS got = RtlAppendUnicodeStringToString(ra, rb);
        if (add != 0) {
            if ((ULONG)ma->Len + add > ma->Max) {
                want = STATUS_BUFFER_TOO_SMALL;
            } else {
                RtlCopyMemory(ma->B + ma->Len, src, add);
                ma->Len = (USHORT)(ma->Len + add);
                mu_terminate(ma);
            }
        }
        if (got != want)
            MU_FAIL("RtlAppendUnicodeStringToString(u%u, u%u) returned %08x, model %08x", a, b, got, want);
        return TRUE;
    }
    case MU_APPENDZ: {
        PCWSTR lit = mu_literals[c % MU_LITERALS];
        ULONG n = 0;
        while (lit[n] != 0)
            n++;
        NTSTATUS want = STATUS_SUCCESS;
        NTSTATUS got = RtlAppendUnicodeToString(ra, lit);
        if (n != 0) {
            if ((ULONG)ma->Len + 2 * n > ma->Max) {
                want = STATUS_BUFFER_TOO_SMALL;
            } else {
                for (ULONG i = 0; i < n; i++) {
                    ma->B[ma->Len + 2 * i] = (UCHAR)lit[i];
                    ma->B[ma->Len + 2 * i + 1] = (UCHAR)(lit[i] >> 8);
                }
                ma->Len = (USHORT)(ma->Len + 2 * n);
                mu_terminate(ma);
            }
        }
        if (got != want)
            MU_FAIL("RtlAppendUnicodeToString(u%u, literal %u) returned %08x, model %08x", a, c % MU_LITERALS, got,
                    want);
        return TRUE;
    }
    case MU_COMPARE: {
        BOOLEAN ci = (c & 1) != 0;
        LONG cmp = mu_sign(RtlCompareUnicodeString(ra, rb, ci));
        LONG wcmp = mu_model_compare(ma, mb, ci);
        if (cmp != wcmp)
            MU_FAIL("RtlCompareUnicodeString(u%u, u%u, %u) has sign %d, model %d", a, b, ci, cmp, wcmp);
        BOOLEAN eq = RtlEqualUnicodeString(ra, rb, ci);
        BOOLEAN weq = ma->Len == mb->Len && mu_model_prefix(ma, mb, ci);
        if (eq != weq)
            MU_FAIL("RtlEqualUnicodeString(u%u, u%u, %u) = %u, model %u", a, b, ci, eq, weq);
        BOOLEAN p1 = RtlPrefixUnicodeString(ra, rb, ci), w1 = mu_model_prefix(ma, mb, ci);
        BOOLEAN p2 = RtlPrefixUnicodeString(rb, ra, ci), w2 = mu_model_prefix(mb, ma, ci);
        if (p1 != w1 || p2 != w2)
            MU_FAIL("RtlPrefixUnicodeString(u%u, u%u, %u) = %u/%u both ways, model %u/%u", a, b, ci, p1, p2, w1, w2);
        return TRUE;
    }
    case MU_CASE: {
        if (mb->Len & 1)
            return TRUE; /* see the top: odd source lengths are not given to the case mappers */
        BOOLEAN up = (c & 1) != 0;
        UCHAR mapped[MU_STORE];
        for (ULONG i = 0; i < mb->Len / 2u; i++) {
            WCHAR ch = mu_char(mb, i);
            mu_put_char(mapped, i, up ? mu_up(ch) : mu_down(ch));
        }
        if (c & 2) {
            UNICODE_STRING out = {0, 0, NULL};
            NTSTATUS got = up ? RtlUpcaseUnicodeString(&out, rb, TRUE) : RtlDowncaseUnicodeString(&out, rb, TRUE);
            if (got != STATUS_SUCCESS)
                MU_FAIL("Rtl%scaseUnicodeString(allocate, u%u) returned %08x", up ? "Up" : "Down", b, got);
            BOOLEAN ok = out.Length == mb->Len && out.MaximumLength >= out.Length &&
                         (out.Length == 0 || RtlCompareMemory(out.Buffer, mapped, out.Length) == out.Length);
            USHORT len = out.Length;
            RtlFreeUnicodeString(&out);
            if (!ok)
                MU_FAIL("Rtl%scaseUnicodeString(allocate, u%u): Length %u, model %u, or wrong characters",
                        up ? "Up" : "Down", b, len, mb->Len);
            return TRUE;
        }
        NTSTATUS want = STATUS_SUCCESS;
        NTSTATUS got = up ? RtlUpcaseUnicodeString(ra, rb, FALSE) : RtlDowncaseUnicodeString(ra, rb, FALSE);
        if (mb->Len > ma->Max) {
            want = STATUS_BUFFER_OVERFLOW;
        } else {
            USHORT len = mb->Len;
            RtlCopyMemory(ma->B, mapped, len);
            ma->Len = len;
        }
        if (got != want)
            MU_FAIL("Rtl%scaseUnicodeString(u%u, u%u) returned %08x, model %08x", up ? "Up" : "Down", a, b, got,
                    want);
        return TRUE;
    }
    case MU_U2A: {
        if ((mb->Len & 1) || !mu_is_ascii(mb))
            return TRUE; /* ASCII only: the code page is not what this test is about */
        ULONG i = op->A % MA_REGS;
        mu_areg *m = &ma_m[i];
        ULONG chars = mb->Len / 2u;
        if (c & 2) {
            ANSI_STRING out = {0, 0, NULL};
            NTSTATUS got = RtlUnicodeStringToAnsiString(&out, rb, TRUE);
            if (got != STATUS_SUCCESS)
                MU_FAIL("RtlUnicodeStringToAnsiString(allocate, u%u) returned %08x", b, got);
            BOOLEAN ok = out.Length == chars && out.MaximumLength == chars + 1 && out.Buffer[chars] == 0;
            for (ULONG k = 0; ok && k < chars; k++)
                ok = (UCHAR)out.Buffer[k] == mu_char(mb, k);
            USHORT len = out.Length;
            RtlFreeAnsiString(&out);
            if (!ok)
                MU_FAIL("RtlUnicodeStringToAnsiString(allocate, u%u): Length %u, model %u, or wrong bytes", b, len,
                        chars);
            return TRUE;
        }
        NTSTATUS want = STATUS_SUCCESS;
        NTSTATUS got = RtlUnicodeStringToAnsiString(&ma_r[i], rb, FALSE);
        ULONG n = chars;
        if (m->Max < chars + 1) {
            want = STATUS_BUFFER_OVERFLOW;
            n = m->Max ? m->Max - 1u : 0;
        }
        if (m->Max != 0) {
            for (ULONG k = 0; k < n; k++)
                m->B[k] = (UCHAR)mu_char(mb, k);
            m->B[n] = 0;
            m->Len = (USHORT)n;
        }
        if (got != want)
            MU_FAIL("RtlUnicodeStringToAnsiString(a%u, u%u) returned %08x, model %08x", i, b, got, want);
        return TRUE;
    }
    case MU_A2U: {
        ULONG i = op->B % MA_REGS;
        mu_areg *m = &ma_m[i];
        if (c & 2) {
            UNICODE_STRING out = {0, 0, NULL};
            NTSTATUS got = RtlAnsiStringToUnicodeString(&out, &ma_r[i], TRUE);
            if (got != STATUS_SUCCESS)
                MU_FAIL("RtlAnsiStringToUnicodeString(allocate, a%u) returned %08x", i, got);
            BOOLEAN ok = out.Length == 2u * m->Len && out.MaximumLength >= out.Length + 2u &&
                         out.Buffer[m->Len] == 0;
            for (ULONG k = 0; ok && k < m->Len; k++)
                ok = out.Buffer[k] == m->B[k];
            USHORT len = out.Length;
            RtlFreeUnicodeString(&out);
            if (!ok)
                MU_FAIL("RtlAnsiStringToUnicodeString(allocate, a%u): Length %u, model %u, or wrong characters", i,
                        len, 2u * m->Len);
            return TRUE;
        }
        NTSTATUS want = STATUS_SUCCESS;
        NTSTATUS got = RtlAnsiStringToUnicodeString(ra, &ma_r[i], FALSE);
        if (ma->Null || ma->Max < 2u * m->Len + 2u) {
            want = STATUS_BUFFER_OVERFLOW;
        } else {
            for (ULONG k = 0; k < m->Len; k++)
                mu_put_char(ma->B, k, m->B[k]);
            mu_put_char(ma->B, m->Len, 0);
            ma->Len = (USHORT)(2 * m->Len);
        }
        if (got != want)
            MU_FAIL("RtlAnsiStringToUnicodeString(u%u, a%u) returned %08x, model %08x", a, i, got, want);
        return TRUE;
    }
    default: { /* MU_HASH */
        BOOLEAN ci = (c & 1) != 0;
        static const ULONG algs[3] = {HASH_STRING_ALGORITHM_DEFAULT, HASH_STRING_ALGORITHM_X65599, 5};
        ULONG alg = algs[(c >> 1) % 3];
        ULONG h = 0xdeadbeef;
        NTSTATUS got = RtlHashUnicodeString(ra, ci, alg, &h);
        if (alg == 5) {
            if (got != STATUS_INVALID_PARAMETER)
                MU_FAIL("RtlHashUnicodeString(u%u, algorithm 5) returned %08x, want STATUS_INVALID_PARAMETER", a,
                        got);
            return TRUE;
        }
        ULONG want = mu_model_hash(ma, ci);
        if (got != STATUS_SUCCESS || h != want)
            MU_FAIL("RtlHashUnicodeString(u%u, %u, %u) = %08x (status %08x), model %08x", a, ci, alg, h, got, want);
        return TRUE;
    }
    }
}

static ULONG mu_run(void *ctx, const model_op *ops, ULONG n, char *why, ULONG whysize)
{
    (void)ctx;
    mu_fresh();
    for (ULONG i = 0; i < n; i++) {
        if (!mu_step(&ops[i], why, whysize))
            return i + 1;
        if (!mu_agree(why, whysize))
            return i + 1;
    }
    return 0;
}

static void mu_describe(void *ctx, const model_op *op, char *text, ULONG size)
{
    (void)ctx;
    ULONG a = op->A % MU_REGS, b = op->B % MU_REGS, c = op->C;
    switch (op->Kind) {
    case MU_RESET:
        model_say(text, size, "u%u = %s string, MaximumLength %u, Length %u (seed %u)", a, (c & 1) ? "ascii" : "mixed",
                  op->B % (MU_MAXLEN + 1), (c >> 4) % (op->B % (MU_MAXLEN + 1) + 1u), c);
        break;
    case MU_RESETA:
        model_say(text, size, "a%u = ascii string, MaximumLength %u, Length %u (seed %u)", op->A % MA_REGS,
                  op->B % (MA_MAXLEN + 1), (c >> 4) % (op->B % (MA_MAXLEN + 1) + 1u), c);
        break;
    case MU_INIT:
        if ((c & 7) == 0)
            model_say(text, size, "RtlInitUnicodeString(u%u, NULL)", a);
        else
            model_say(text, size, "RtlInitUnicodeString(u%u, %u-char %s string)", a, op->B % (MU_MAXLEN / 2),
                      (c & 8) ? "ascii" : "mixed");
        break;
    case MU_COPY:
        if ((c & 7) == 0)
            model_say(text, size, "RtlCopyUnicodeString(u%u, NULL)", a);
        else
            model_say(text, size, "RtlCopyUnicodeString(u%u, u%u)", a, b);
        break;
    case MU_APPEND:
        model_say(text, size, "RtlAppendUnicodeStringToString(u%u, u%u)", a, b);
        break;
    case MU_APPENDZ:
        model_say(text, size, "RtlAppendUnicodeToString(u%u, literal %u)", a, c % MU_LITERALS);
        break;
    case MU_COMPARE:
        model_say(text, size, "compare/equal/prefix(u%u, u%u, CaseInSensitive %u)", a, b, c & 1);
        break;
    case MU_CASE:
        if (c & 2)
            model_say(text, size, "Rtl%scaseUnicodeString(allocate, u%u)", (c & 1) ? "Up" : "Down", b);
        else
            model_say(text, size, "Rtl%scaseUnicodeString(u%u, u%u)", (c & 1) ? "Up" : "Down", a, b);
        break;
    case MU_U2A:
        model_say(text, size, "RtlUnicodeStringToAnsiString(%s a%u, u%u)", (c & 2) ? "allocate," : "",
                  op->A % MA_REGS, b);
        break;
    case MU_A2U:
        model_say(text, size, "RtlAnsiStringToUnicodeString(%s u%u, a%u)", (c & 2) ? "allocate," : "", a,
                  op->B % MA_REGS);
        break;
    default:
        model_say(text, size, "RtlHashUnicodeString(u%u, CaseInSensitive %u, algorithm choice %u)", a, c & 1,
                  (c >> 1) % 3);
        break;
    }
}

#define MU_SEEDS 6
#define MU_OPS 1500

static model_op mu_ops[MU_OPS];

static void model_unicode_random_sequences(void **state)
{
    (void)state;
    model_spec spec = {"unicode", mu_run, mu_describe, NULL};
    for (uint64_t seed = 1; seed <= MU_SEEDS; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        model_generate(&rng, mu_ops, MU_OPS, MU_KINDS, 64, 64, 1u << 16);
        model_check(&spec, seed, mu_ops, MU_OPS, NULL);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_unicode_random_sequences),
};

NTOS_TEST_GROUP(verify_model_unicode, tests, NULL, NULL);
