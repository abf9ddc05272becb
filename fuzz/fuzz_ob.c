/*
 * libFuzzer harness for the object manager (src/ob), the handle table
 * (src/ex/handle.c) and, through the opens, the access-state code of src/se.
 *
 * The hosted kernel is booted once (lazily, on the first input, so that a
 * libFuzzer -jobs parent never boots one). Each input is decoded into a
 * sequence of operations, run against the kernel and against a small
 * reference model kept here; after every step the two must agree, and at
 * the end of the input everything the input created must be gone.
 *
 * Input encoding: a sequence of records, each an operation byte (op % 16,
 * see k_ops) followed by that operation's parameters, read with fuzz_input.h
 * (bytes past the end read as zero). Building blocks, in reading order:
 *   name       kind byte (kind = b % 8, extra components = (b >> 3) & 3,
 *              trailing '\' = (b >> 5) & 1, case variation of the whole
 *              path when (b >> 6) == 3 [+1 byte]) then the kind's bytes:
 *                0-2 absolute path of a model object [slot byte]
 *                3-4 path relative to a handle of an ancestor [slot, ancestor]
 *                5   relative to any handle value [handle]
 *                6   "\" + a top-level choice [choice (+ component)]
 *                7   special: "", "\", "\\\\" or a NULL UNICODE_STRING [choice]
 *              then the extra components, then one header byte choosing the
 *              UNICODE_STRING's hostility (odd Length, Length > MaximumLength,
 *              NULL or misaligned Buffer, slack, empty, added root handle).
 *   component  byte c (kind c % 12: existing model name, random name from an
 *              alphabet of case pairs, ".", "..", "", long name up to 32K
 *              characters, embedded NUL, "FuzzRoot"; case variation c >> 4).
 *   handle     byte m (m % 24: a live handle, an alias with low tag bits or
 *              the kernel bits toggled, a closed value, NULL, -1, -2, a
 *              random index, random 64-bit garbage).
 *   attributes two bytes; access one byte (> 0xEF: four more, raw).
 *
 * The model (g_obj, g_h): every object the input created (directories,
 * symbolic links, events) with its type, name, parent directory, whether the
 * name is still in the directory, permanent/exclusive flags, link target,
 * event state and kernel pointer, and every handle with its object, granted
 * access and attributes. The real root "\" and the System process are
 * foreign objects (present before the input, counts not checked). Name
 * resolution is redone in the model from the documented rules (components,
 * link reparse with the 32-reparse limit and the 64 KB name limit, case
 * rules per type and OBJ_CASE_INSENSITIVE, newest entry first among names
 * that differ only in case), so each operation has a predicted NTSTATUS and
 * result object. A step whose outcome depends on something the model does
 * not know (an object that existed at boot other than "\", a handle the
 * input did not open) is skipped, not guessed.
 *
 * Checked after every step: the status of the operation; the object a
 * successful open or reference returned; each live object's PointerCount and
 * HandleCount (header, and ZwQueryObject basic information for every handle
 * with its granted access and attributes) against the model's expected
 * counts (one per handle, one for a name in a directory, one per named child
 * of a directory); each type's TotalNumberOfObjects/TotalNumberOfHandles; the
 * handle table's HandleCount. At the end: every handle closed, every
 * permanent object made temporary, every object the input created deleted,
 * per-type totals back to where they were, and the pool's per-tag
 * allocation and byte counts exactly back to their values before the input.
 *
 * Work happens under \FuzzRoot (a fixed name, so a saved crash reproduces
 * byte for byte; inputs cannot interact because the end-of-input check
 * proves the previous input left nothing behind).
 *
 * Set FUZZ_OB_VERBOSE=1 to print each step as it runs; on a failed check the
 * steps of the input are printed before the trap.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <host.h>
#include <ntos/ex_handle.h>
#include <ntos/ex_objects.h>
#include <ntos/ex_pool.h>
#include <ntos/ob.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

#include "fuzz_input.h"

#ifndef STATUS_HANDLE_NOT_CLOSABLE
#define STATUS_HANDLE_NOT_CLOSABLE ((NTSTATUS)0xC0000235L)
#endif
#ifndef STATUS_REPARSE_POINT_ENCOUNTERED
#define STATUS_REPARSE_POINT_ENCOUNTERED ((NTSTATUS)0xC000050BL)
#endif

#define MAX_OBJS 96
#define MAX_HANDLES 48
#define MAX_OPS 160
#define MAX_PATH 0x7FFF /* characters: Length stays <= 0xFFFE */
#define MAX_REPARSE 32
#define PREGROW_HANDLES 600

/* ---- trace and checks ------------------------------------------------------------------ */

static char g_trace[1 << 16];
static size_t g_trace_len;
static int g_verbose;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = sizeof(line) - 1;
    if (g_verbose)
        fprintf(stderr, "%s\n", line);
    if (g_trace_len + (size_t)n + 2 < sizeof(g_trace)) {
        memcpy(g_trace + g_trace_len, line, (size_t)n);
        g_trace_len += (size_t)n;
        g_trace[g_trace_len++] = '\n';
        g_trace[g_trace_len] = 0;
    }
}

static void dump_trace(void)
{
    fprintf(stderr, "---- fuzz_ob: steps of this input ----\n%s---- end of steps ----\n", g_trace);
}

#define EXPECT(cond, ...)                                                                         \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            dump_trace();                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            __builtin_trap();                                                                     \
        }                                                                                         \
    } while (0)

#define EXPECT_ST(got, want, what)                                                                \
    EXPECT((got) == (want), "%s: status 0x%08x, model expects 0x%08x", (what), (unsigned)(got),   \
           (unsigned)(want))

/* Printable excerpt of a name for the trace. */
static const char *show(const void *s, size_t n)
{
    static char buf[4][96];
    static int which;
    char *b = buf[which++ & 3];
    size_t o = 0;
    for (size_t i = 0; i < n && o < 60; i++) {
        WCHAR c;
        memcpy(&c, (const uint8_t *)s + 2 * i, sizeof(c)); /* names may be misaligned on purpose */
        if (c >= 0x20 && c < 0x7F)
            b[o++] = (char)c;
        else
            o += (size_t)snprintf(b + o, sizeof(buf[0]) - o, "<%x>", c);
    }
    if (o > 80)
        o = 80;
    if (n > 60)
        o += (size_t)snprintf(b + o, sizeof(buf[0]) - o, "..(%zu)", n);
    b[o] = 0;
    return b;
}

/* ---- model ------------------------------------------------------------------------------ */

enum { MT_DIR, MT_LINK, MT_EVENT, MT_PROCESS, MT_TYPE, MT_NTYPES };
static const char *const k_type_names[MT_NTYPES] = {"dir", "link", "event", "process", "type"};
static POBJECT_TYPE g_type[MT_NTYPES];

typedef struct {
    int used, alive, foreign;
    int type;
    int parent;     /* slot of the directory the name went into; -1 none */
    int in_ns;      /* the name is (still) in that directory */
    int permanent, exclusive;
    uint64_t seq;   /* insertion order: newer names are found first */
    WCHAR *name;
    size_t name_len;
    WCHAR *target;
    size_t target_len;
    void *ptr;
    int handles;
    int ev_sync, ev_state;
} mobj;

#define SLOT_ROOT 0
#define SLOT_PROCESS 1 /* the System process: the fuzzing thread's process, table 0 */
#define SLOT_PROCB 2   /* a second process created at boot, table 1 */
#define FIRST_SLOT 3
#define NTABLES 2

typedef struct {
    int used;
    int table; /* 0: the System process (kernel handles too), 1: process B */
    HANDLE value;
    ULONG index;
    int obj;
    ACCESS_MASK granted;
    int inherit, protect;
} mhandle;

static mobj g_obj[MAX_OBJS];
static mhandle g_h[MAX_HANDLES];
static int g_nhandles;
static uint64_t g_seq;
static HANDLE g_closed[16];
static unsigned g_nclosed;

/* Boot-time state, measured once. */
static void *g_root_ptr;
static int g_thread_handle_valid; /* does -2 name an object on the fuzzing thread? */
static PHANDLE_TABLE g_tables[NTABLES];
static PEPROCESS g_procb;

/* Security descriptors the creates may pass (absolute form, built at boot),
 * and what SeCaptureSecurityDescriptor (as ObCreateObject calls it) says of each. */
#define NSD 8
static PSECURITY_DESCRIPTOR g_sd[NSD];
static NTSTATUS g_sd_status[NSD];        /* capture */
static NTSTATUS g_sd_assign_status[NSD]; /* assignment when the object is inserted */
static const char *const k_sd_names[NSD] = {"none", "null-dacl", "empty-dacl", "system-all", "world-inherit",
                                            "inherit-only", "bad-revision", "world-owner"};

/* Names in "\" before the first input (the model does not predict through them). */
typedef struct {
    WCHAR *name;
    size_t len;
    WCHAR *type;
    size_t type_len;
} fentry;
static fentry g_foreign[512];
static int g_nforeign;

/* Handle-table entries that were in use when the input started. */
static ULONG g_foreign_idx[NTABLES][512];
static int g_nforeign_idx[NTABLES];

/* Baselines of the input. */
static ULONG g_base_objects[MT_NTYPES], g_base_handles[MT_NTYPES];
static LONG g_base_table_handles[NTABLES];

static int type_ci(int t)
{
    return g_type[t]->TypeInfo.CaseInsensitive;
}

#define GENERIC_ANY (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL)

static ACCESS_MASK map_generic(int t, ACCESS_MASK a)
{
    const GENERIC_MAPPING *m = &g_type[t]->TypeInfo.GenericMapping;
    if (a & GENERIC_READ)
        a |= m->GenericRead;
    if (a & GENERIC_WRITE)
        a |= m->GenericWrite;
    if (a & GENERIC_EXECUTE)
        a |= m->GenericExecute;
    if (a & GENERIC_ALL)
        a |= m->GenericAll;
    return a & ~(ACCESS_MASK)GENERIC_ANY;
}

/* What a trusted (kernel-mode) open is granted: generic rights mapped,
 * MAXIMUM_ALLOWED as everything, limited to the type's valid rights. */
static ACCESS_MASK map_access(int t, ACCESS_MASK a)
{
    if (a & MAXIMUM_ALLOWED) {
        a &= ~(ACCESS_MASK)MAXIMUM_ALLOWED;
        a |= GENERIC_ALL;
    }
    a = map_generic(t, a);
    ACCESS_MASK valid = g_type[t]->TypeInfo.ValidAccessMask;
    if (valid != 0)
        a &= valid | ACCESS_SYSTEM_SECURITY;
    return a;
}

static int wupper_eq(WCHAR a, WCHAR b)
{
    return a == b || RtlUpcaseUnicodeChar(a) == RtlUpcaseUnicodeChar(b);
}

static int name_eq(const WCHAR *a, size_t an, const WCHAR *b, size_t bn, int ci)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (a[i] != b[i] && (!ci || !wupper_eq(a[i], b[i])))
            return 0;
    return 1;
}

static WCHAR *wdup(const WCHAR *s, size_t n)
{
    WCHAR *d = malloc((n + 1) * sizeof(WCHAR));
    CHECK(d != NULL);
    if (n)
        memcpy(d, s, n * sizeof(WCHAR));
    d[n] = 0;
    return d;
}

/* Expected PointerCount: one per handle, one for a name in a directory, one
 * for each named child the directory holds. */
static long model_pc(int s)
{
    long n = g_obj[s].handles + g_obj[s].in_ns;
    for (int i = FIRST_SLOT; i < MAX_OBJS; i++)
        if (g_obj[i].used && g_obj[i].alive && g_obj[i].in_ns && g_obj[i].parent == s)
            n++;
    return n;
}

/* Objects whose last reference went away are deleted. */
static void model_settle(void)
{
    int changed;
    do {
        changed = 0;
        for (int s = FIRST_SLOT; s < MAX_OBJS; s++) {
            if (g_obj[s].used && g_obj[s].alive && !g_obj[s].foreign && model_pc(s) == 0) {
                g_obj[s].alive = 0;
                changed = 1;
            }
        }
    } while (changed);
}

/* A temporary named object without handles leaves its directory. */
static void model_name_check(int s)
{
    mobj *o = &g_obj[s];
    if (!o->foreign && o->in_ns && o->handles == 0 && !o->permanent)
        o->in_ns = 0;
    model_settle();
}

static int free_slot(void)
{
    for (int s = FIRST_SLOT; s < MAX_OBJS; s++)
        if (!g_obj[s].used || !g_obj[s].alive)
            return s;
    return -1;
}

static void release_slot(int s)
{
    free(g_obj[s].name);
    free(g_obj[s].target);
    memset(&g_obj[s], 0, sizeof(g_obj[s]));
    g_obj[s].parent = -1;
    /* Dead names still pointing here would now name the new object's parent. */
    for (int i = FIRST_SLOT; i < MAX_OBJS; i++)
        if (g_obj[i].used && g_obj[i].parent == s)
            g_obj[i].parent = -1;
}

/* Lookup of one component in a directory: newest matching entry; -1 none;
 * -2 a name the model does not know about (the step is skipped). */
static int model_lookup(int dir, const WCHAR *c, size_t n, int ci_attr)
{
    int best = -1;
    for (int s = FIRST_SLOT; s < MAX_OBJS; s++) {
        mobj *o = &g_obj[s];
        if (!o->used || !o->alive || !o->in_ns || o->parent != dir)
            continue;
        if (!name_eq(o->name, o->name_len, c, n, ci_attr || type_ci(o->type)))
            continue;
        if (best < 0 || o->seq > g_obj[best].seq)
            best = s;
    }
    if (best >= 0)
        return best;
    if (dir == SLOT_ROOT)
        for (int i = 0; i < g_nforeign; i++)
            if (name_eq(g_foreign[i].name, g_foreign[i].len, c, n, 1))
                return -2;
    return -1;
}

/* ---- handles in the model ------------------------------------------------------------------ */

enum { HC_INVALID, HC_MODEL, HC_FOREIGN, HC_PROCESS, HC_THREAD };

static int is_kernel_value(ULONG_PTR x)
{
    return (x & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK && x != (ULONG_PTR)-1 && x != (ULONG_PTR)-2;
}

static ULONG handle_index(HANDLE v)
{
    ULONG_PTR x = (ULONG_PTR)v;
    if (is_kernel_value(x))
        x &= ~(ULONG_PTR)KERNEL_HANDLE_MASK;
    return (ULONG)((x >> 2) & 0x3FFFFFFF);
}

/* Which entry a handle value names for a caller in `kernel` mode, looked up
 * in process `table`'s context (kernel handles always in table 0); pseudo:
 * whether the API gives -1/-2 their current-process/thread meaning. */
static int classify_in(HANDLE v, int kernel, int pseudo, int table, int *hidx)
{
    ULONG_PTR x = (ULONG_PTR)v;
    *hidx = -1;
    if (pseudo && x == (ULONG_PTR)-1)
        return HC_PROCESS;
    if (pseudo && x == (ULONG_PTR)-2)
        return HC_THREAD;
    if (is_kernel_value(x)) {
        if (!kernel)
            return HC_INVALID;
        table = 0;
    }
    ULONG idx = handle_index(v);
    if (idx == 0)
        return HC_INVALID;
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (g_h[i].used && g_h[i].table == table && g_h[i].index == idx) {
            *hidx = i;
            return HC_MODEL;
        }
    }
    for (int i = 0; i < g_nforeign_idx[table]; i++)
        if (g_foreign_idx[table][i] == idx)
            return HC_FOREIGN;
    return HC_INVALID;
}

static int classify(HANDLE v, int kernel, int pseudo, int *hidx)
{
    return classify_in(v, kernel, pseudo, 0, hidx);
}

static int table_of_slot(int s)
{
    return s == SLOT_PROCB ? 1 : 0;
}

/* OBJ_EXCLUSIVE: while an exclusive object has handles, they all live in one
 * process; a handle for another process is refused. */
static int excl_denied(int obj, int table)
{
    if (!g_obj[obj].exclusive)
        return 0;
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i].used && g_h[i].obj == obj && g_h[i].table != table)
            return 1;
    return 0;
}

static ULONG handle_attrs(const mhandle *h)
{
    return (h->inherit ? OBJ_INHERIT : 0) | (h->protect ? OBJ_PROTECT_CLOSE : 0);
}

/* Records a handle the kernel just returned after checking its form. */
static void model_add_handle_in(int obj, HANDLE v, int kernel, ACCESS_MASK granted, int inherit, int table)
{
    ULONG_PTR x = (ULONG_PTR)v;
    EXPECT(v != NULL && (x & 3) == 0, "handle value %p", v);
    EXPECT(is_kernel_value(x) == kernel, "handle %p: kernel handle expected %d", v, kernel);
    if (!kernel)
        EXPECT((x >> 32) == 0, "handle %p has high bits", v);
    int dummy;
    int c = classify_in(v, 1, 0, table, &dummy);
    EXPECT(c == HC_INVALID, "new handle %p reuses a live entry (class %d)", v, c);
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (!g_h[i].used) {
            g_h[i] = (mhandle){1, kernel ? 0 : table, v, handle_index(v), obj, granted, inherit, 0};
            g_obj[obj].handles++;
            g_nhandles++;
            return;
        }
    }
    CHECK(!"model handle table full (caller must check MAX_HANDLES)");
}

static void model_add_handle(int obj, HANDLE v, int kernel, ACCESS_MASK granted, int inherit)
{
    model_add_handle_in(obj, v, kernel, granted, inherit, 0);
}

static void model_close_handle(int hidx)
{
    mhandle *h = &g_h[hidx];
    int obj = h->obj;
    g_closed[g_nclosed++ % 16] = h->value;
    h->used = 0;
    g_nhandles--;
    g_obj[obj].handles--;
    model_name_check(obj);
}

static int nth_handle(int n)
{
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i].used && n-- == 0)
            return i;
    return -1;
}

static int handle_of(int obj, int n)
{
    int count = 0;
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i].used && g_h[i].obj == obj && g_h[i].table == 0)
            count++;
    if (count == 0)
        return -1;
    n %= count;
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i].used && g_h[i].obj == obj && g_h[i].table == 0 && n-- == 0)
            return i;
    return -1;
}

/* ---- predicted ObReferenceObjectByHandle ------------------------------------------------- */

typedef struct {
    int skip;
    NTSTATUS st;
    int obj;
    int hidx;
    ACCESS_MASK granted;
    ULONG attrs;
} refpred;

static refpred predict_ref(HANDLE h, int want /* -1: any type */, ACCESS_MASK access, int kernel)
{
    refpred p = {0, STATUS_SUCCESS, -1, -1, 0, 0};
    int c = classify(h, kernel, 1, &p.hidx);
    switch (c) {
    case HC_FOREIGN:
        p.skip = 1;
        return p;
    case HC_THREAD:
        if (g_thread_handle_valid)
            p.skip = 1;
        else
            p.st = STATUS_INVALID_HANDLE;
        return p;
    case HC_INVALID:
        p.st = STATUS_INVALID_HANDLE;
        return p;
    case HC_PROCESS:
        if (want >= 0 && want != MT_PROCESS) {
            p.st = STATUS_OBJECT_TYPE_MISMATCH;
            return p;
        }
        p.obj = SLOT_PROCESS;
        p.granted = PROCESS_ALL_ACCESS;
        return p;
    default:
        break;
    }
    mhandle *mh = &g_h[p.hidx];
    int t = g_obj[mh->obj].type;
    if (want >= 0 && t != want) {
        p.st = STATUS_OBJECT_TYPE_MISMATCH;
        return p;
    }
    if (!kernel) {
        ACCESS_MASK d = access;
        if (d & GENERIC_ANY)
            d = map_generic(t, d);
        if (d & ~mh->granted) {
            p.st = STATUS_ACCESS_DENIED;
            return p;
        }
    }
    p.obj = mh->obj;
    p.granted = mh->granted;
    p.attrs = handle_attrs(mh);
    return p;
}

/* ---- name resolution in the model ---------------------------------------------------------- */

enum { R_ERR, R_FOUND, R_INSERT, R_SKIP };

typedef struct {
    int kind;
    NTSTATUS st;
    int obj;       /* R_FOUND */
    int dir;       /* R_INSERT: where the new name goes */
    WCHAR *comp;   /* R_INSERT: the new name (owned) */
    size_t comp_len;
    int reparses;
} rres;

static void model_resolve(int has_root, HANDLE root, const WCHAR *name, size_t len, ULONG attrs, int kernel,
                          int insert, rres *out)
{
    WCHAR *cur = wdup(name, len);
    size_t n = len;
    int reparses = 0;
    memset(out, 0, sizeof(*out));
    out->obj = out->dir = -1;

#define R_FAIL(code)                                                                             \
    do {                                                                                         \
        out->kind = R_ERR;                                                                       \
        out->st = (code);                                                                        \
        goto done;                                                                               \
    } while (0)

restart:;
    size_t pos = 0;
    int dir;
    if (has_root) {
        int hidx;
        int c = classify(root, kernel, 1, &hidx);
        int robj;
        if (c == HC_FOREIGN || (c == HC_THREAD && g_thread_handle_valid)) {
            out->kind = R_SKIP;
            goto done;
        }
        if (c == HC_INVALID || c == HC_THREAD)
            R_FAIL(STATUS_INVALID_HANDLE);
        robj = c == HC_PROCESS ? SLOT_PROCESS : g_h[hidx].obj;
        if (n != 0 && cur[0] == L'\\')
            R_FAIL(STATUS_OBJECT_PATH_SYNTAX_BAD);
        if (n == 0) {
            if (insert)
                R_FAIL(STATUS_OBJECT_NAME_INVALID);
            out->kind = R_FOUND;
            out->obj = robj;
            goto done;
        }
        /* None of the types here has a parse procedure. */
        if (g_obj[robj].type != MT_DIR)
            R_FAIL(STATUS_OBJECT_TYPE_MISMATCH);
        dir = robj;
    } else {
        if (n == 0)
            R_FAIL(STATUS_OBJECT_NAME_INVALID);
        if (cur[0] != L'\\')
            R_FAIL(STATUS_OBJECT_PATH_SYNTAX_BAD);
        dir = SLOT_ROOT;
        pos = 1;
        if (pos == n) {
            out->kind = R_FOUND; /* "\" itself (a collision for a create) */
            out->obj = SLOT_ROOT;
            goto done;
        }
    }
    for (;;) {
        size_t i = pos;
        while (i < n && cur[i] != L'\\') {
            if (cur[i] == 0)
                R_FAIL(STATUS_OBJECT_NAME_INVALID);
            i++;
        }
        if (i == pos)
            R_FAIL(STATUS_OBJECT_NAME_INVALID); /* empty component */
        int last = i == n;
        int o = model_lookup(dir, cur + pos, i - pos, (attrs & OBJ_CASE_INSENSITIVE) != 0);
        if (o == -2) {
            out->kind = R_SKIP;
            goto done;
        }
        if (o < 0) {
            if (!last)
                R_FAIL(STATUS_OBJECT_PATH_NOT_FOUND);
            if (!insert)
                R_FAIL(STATUS_OBJECT_NAME_NOT_FOUND);
            out->kind = R_INSERT;
            out->dir = dir;
            out->comp = wdup(cur + pos, i - pos);
            out->comp_len = i - pos;
            goto done;
        }
        if (g_obj[o].type == MT_LINK && (!last || (!(attrs & OBJ_OPENLINK) && !insert))) {
            if (attrs & OBJ_DONT_REPARSE)
                R_FAIL(STATUS_REPARSE_POINT_ENCOUNTERED);
            if (++reparses > MAX_REPARSE)
                R_FAIL(STATUS_REPARSE_POINT_NOT_RESOLVED);
            size_t rest = n - i, tl = g_obj[o].target_len;
            if ((tl + rest) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
                R_FAIL(STATUS_NAME_TOO_LONG);
            WCHAR *nb = malloc((tl + rest + 1) * sizeof(WCHAR));
            CHECK(nb != NULL);
            if (tl)
                memcpy(nb, g_obj[o].target, tl * sizeof(WCHAR));
            if (rest)
                memcpy(nb + tl, cur + i, rest * sizeof(WCHAR));
            free(cur);
            cur = nb;
            n = tl + rest;
            has_root = 0;
            goto restart;
        }
        if (last) {
            out->kind = R_FOUND;
            out->obj = o;
            goto done;
        }
        if (g_obj[o].type != MT_DIR)
            R_FAIL(STATUS_OBJECT_TYPE_MISMATCH);
        dir = o;
        pos = i + 1;
    }
done:
    out->reparses = reparses;
    free(cur);
#undef R_FAIL
}

/* ---- input building blocks ---------------------------------------------------------------- */

static const WCHAR k_alpha[] = {
    'a',    'A',    'b',    'B',    'e',    'E',    '.',    0x00E9, 0x00C9, 0x0131, 'i',    'I',
    0x0130, 'k',    'K',    0x212A, 's',    'S',    0x017F, 0xFF41, 0xFF21, ' ',    '?',    '*',
    ':',    0xD800, 0xFFFF, '0',    '~',    0x03A3, 0x03C3, 0x03C2,
};
#define NALPHA (sizeof(k_alpha) / sizeof(k_alpha[0]))

static const WCHAR k_fuzzroot[] = {'F', 'u', 'z', 'z', 'R', 'o', 'o', 't'};
static const WCHAR k_fuzznone[] = {'F', 'u', 'z', 'z', 'N', 'o', 'n', 'e'};

static WCHAR g_path[MAX_PATH + 8];
static size_t g_plen;

static void put_chars(const WCHAR *s, size_t n)
{
    size_t room = MAX_PATH - g_plen;
    if (n > room)
        n = room;
    if (n)
        memcpy(g_path + g_plen, s, n * sizeof(WCHAR));
    g_plen += n;
}

static void put_char(WCHAR c)
{
    put_chars(&c, 1);
}

static WCHAR swap_case(WCHAR c)
{
    WCHAR u = RtlUpcaseUnicodeChar(c);
    return u != c ? u : RtlDowncaseUnicodeChar(c);
}

static void vary_case(WCHAR *s, size_t n, unsigned mode, reader *r)
{
    switch (mode & 3) {
    case 1:
        for (size_t i = 0; i < n; i++)
            s[i] = RtlUpcaseUnicodeChar(s[i]);
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            s[i] = RtlDowncaseUnicodeChar(s[i]);
        break;
    case 3: {
        uint8_t bits = rd_u8(r);
        for (size_t i = 0; i < n; i++)
            if ((bits >> (i & 7)) & 1)
                s[i] = swap_case(s[i]);
        break;
    }
    default:
        break;
    }
}

/* A used slot (alive or not: stale names are good input too). */
static int pick_slot(reader *r)
{
    uint8_t b = rd_u8(r);
    int count = 0;
    for (int s = 0; s < MAX_OBJS; s++)
        if (g_obj[s].used)
            count++;
    if (count == 0)
        return -1;
    int n = b % count;
    for (int s = 0; s < MAX_OBJS; s++)
        if (g_obj[s].used && n-- == 0)
            return s;
    return -1;
}

static int pick_alive_slot(reader *r)
{
    uint8_t b = rd_u8(r);
    int count = 0;
    for (int s = 0; s < MAX_OBJS; s++)
        if (g_obj[s].used && g_obj[s].alive)
            count++;
    if (count == 0)
        return -1;
    int n = b % count;
    for (int s = 0; s < MAX_OBJS; s++)
        if (g_obj[s].used && g_obj[s].alive && n-- == 0)
            return s;
    return -1;
}

static void gen_component(reader *r)
{
    uint8_t c = rd_u8(r);
    size_t start = g_plen;
    switch (c % 12) {
    case 0:
    case 1:
    case 2:
    case 3: {
        int s = pick_slot(r);
        if (s >= 0 && g_obj[s].name != NULL)
            put_chars(g_obj[s].name, g_obj[s].name_len);
        break;
    }
    case 4:
    case 5: {
        size_t n = 1 + rd_u8(r) % 8;
        for (size_t i = 0; i < n; i++)
            put_char(k_alpha[rd_u8(r) % NALPHA]);
        break;
    }
    case 6:
        put_char(L'.');
        break;
    case 7:
        put_char(L'.');
        put_char(L'.');
        break;
    case 8:
        break; /* empty component */
    case 9: {
        size_t n = rd_u16(r) % MAX_PATH;
        WCHAR pat[4];
        size_t pl = 1 + rd_u8(r) % 4;
        for (size_t i = 0; i < pl; i++)
            pat[i] = k_alpha[rd_u8(r) % NALPHA];
        if (n > MAX_PATH - g_plen)
            n = MAX_PATH - g_plen;
        for (size_t i = 0; i < n; i++)
            g_path[g_plen + i] = pat[i % pl];
        g_plen += n;
        break;
    }
    case 10: {
        size_t n = 1 + rd_u8(r) % 6;
        for (size_t i = 0; i < n; i++)
            put_char(k_alpha[rd_u8(r) % NALPHA]);
        size_t at = start + rd_u8(r) % n;
        if (at < g_plen)
            g_path[at] = 0;
        break;
    }
    default:
        put_chars(k_fuzzroot, 8);
        break;
    }
    if ((c % 12) < 4 || (c % 12) >= 9)
        vary_case(g_path + start, g_plen - start, c >> 4, r);
}

/* The path of a model object from "\" (or from `below`, exclusive). */
static void put_obj_path(int o, int below)
{
    int chain[64];
    int n = 0;
    while (o >= FIRST_SLOT && o != below && n < 64) {
        chain[n++] = o;
        o = g_obj[o].parent;
    }
    for (int i = n - 1; i >= 0; i--) {
        if (below < 0 || i != n - 1)
            put_char(L'\\');
        if (g_obj[chain[i]].name != NULL)
            put_chars(g_obj[chain[i]].name, g_obj[chain[i]].name_len);
    }
    if (n == 0 && below < 0)
        put_char(L'\\');
}

static HANDLE pick_handle(reader *r);

typedef struct {
    UNICODE_STRING us;
    void *mem;
    PUNICODE_STRING ptr;
    int has_root;
    HANDLE root;
} gname;

static void gname_free(gname *g)
{
    free(g->mem);
    g->mem = NULL;
}

static void gen_name(reader *r, gname *g)
{
    memset(g, 0, sizeof(*g));
    g->ptr = &g->us;
    uint8_t b = rd_u8(r);
    unsigned kind = b % 8, extra = (b >> 3) & 3;
    int trailing = (b >> 5) & 1;
    int special_null = 0;
    g_plen = 0;

    switch (kind) {
    case 0:
    case 1:
    case 2: {
        int o = pick_slot(r);
        put_obj_path(o < 0 ? SLOT_ROOT : o, -1);
        break;
    }
    case 3:
    case 4: {
        int o = pick_slot(r);
        uint8_t which = rd_u8(r);
        int cand[64], nc = 0;
        for (int a = o; a >= 0 && nc < 64; a = (a >= FIRST_SLOT ? g_obj[a].parent : -1)) {
            if (handle_of(a, 0) >= 0)
                cand[nc++] = a;
            if (a < FIRST_SLOT)
                break;
        }
        if (o < 0 || nc == 0) {
            put_obj_path(o < 0 ? SLOT_ROOT : o, -1);
            break;
        }
        int a = cand[which % nc];
        g->has_root = 1;
        g->root = g_h[handle_of(a, which >> 4)].value;
        put_obj_path(o, a);
        break;
    }
    case 5:
        g->has_root = 1;
        g->root = pick_handle(r);
        break;
    case 6: {
        put_char(L'\\');
        uint8_t t = rd_u8(r);
        size_t start = g_plen;
        switch (t % 6) {
        case 0:
            put_chars(k_fuzzroot, 8);
            break;
        case 1:
            put_chars(k_fuzznone, 8);
            break;
        case 2:
            put_char(L'.');
            break;
        case 3:
            put_char(L'.');
            put_char(L'.');
            break;
        case 4:
            break;
        default:
            gen_component(r);
            break;
        }
        vary_case(g_path + start, g_plen - start, t >> 6, r);
        break;
    }
    default: {
        uint8_t t = rd_u8(r);
        switch (t % 4) {
        case 0:
            break;
        case 1:
            put_char(L'\\');
            break;
        case 2:
            put_char(L'\\');
            put_char(L'\\');
            break;
        default:
            special_null = 1;
            break;
        }
        break;
    }
    }
    for (unsigned i = 0; i < extra; i++) {
        if (!(g_plen == 0 && g->has_root) && !(g_plen == 1 && g_path[0] == L'\\' && !g->has_root))
            put_char(L'\\');
        gen_component(r);
    }
    if (trailing)
        put_char(L'\\');
    if ((b >> 6) == 3)
        vary_case(g_path, g_plen, rd_u8(r), r);

    /* The counted string, hostile or not. Buffers are exactly MaximumLength
     * bytes, so ASan sees any read past them. */
    uint8_t h = rd_u8(r);
    size_t bytes = g_plen * sizeof(WCHAR);
    size_t len = bytes, max = bytes;
    int misalign = 0, null_buf = 0;
    switch (h % 16) {
    case 0: /* odd Length */
        len = bytes >= 2 ? bytes - 1 : 1;
        max = bytes >= 2 ? bytes : 2;
        break;
    case 1: /* Length > MaximumLength */
        if (bytes < 2)
            len = 2, max = 0;
        else
            max = bytes - 2 * (1 + (h >> 4) % 3 < bytes / 2 ? 1 + (h >> 4) % 3 : bytes / 2);
        break;
    case 2:
        null_buf = 1;
        if (len == 0)
            len = max = 2;
        break;
    case 3:
        misalign = 1;
        break;
    case 4:
        max = bytes + 2 * (1 + (h >> 4));
        if (max > 0xFFFF)
            max = 0xFFFF;
        break;
    case 5:
        len = 0;
        max = bytes;
        break;
    case 6:
        g->has_root = 1;
        g->root = pick_handle(r);
        break;
    default:
        break;
    }
    if (len > 0xFFFF)
        len = 0xFFFF;
    if (max > 0xFFFF)
        max = 0xFFFF;
    if (g->root == NULL)
        g->has_root = 0; /* a NULL RootDirectory is no root */
    if (special_null) {
        g->ptr = NULL;
        return;
    }
    g->us.Length = (USHORT)len;
    g->us.MaximumLength = (USHORT)max;
    if (null_buf) {
        g->us.Buffer = NULL;
        return;
    }
    g->mem = malloc(max + misalign ? max + misalign : 1);
    CHECK(g->mem != NULL);
    uint8_t *buf = (uint8_t *)g->mem + misalign;
    size_t copy = bytes < max ? bytes : max;
    memcpy(buf, g_path, copy);
    if (max > copy)
        memset(buf + copy, 0xCC, max - copy);
    g->us.Buffer = (PWSTR)buf;
}

/* Trace text of a generated name: only the bytes its buffer really has. */
static const char *gshow(const gname *g)
{
    if (g->ptr == NULL)
        return "(null)";
    if (g->us.Buffer == NULL)
        return "(null buffer)";
    size_t n = g->us.Length < g->us.MaximumLength ? g->us.Length : g->us.MaximumLength;
    return show(g->us.Buffer, n / 2);
}

/* ObpCaptureObjectName's rules: 0 and *empty, or the error. */
static NTSTATUS model_capture(const gname *g, int allow_empty, int *empty)
{
    *empty = 0;
    if (g->ptr == NULL || g->us.Length == 0) {
        *empty = 1;
        return allow_empty ? STATUS_SUCCESS : STATUS_OBJECT_NAME_INVALID;
    }
    if ((g->us.Length & 1) || g->us.Length > g->us.MaximumLength || g->us.Buffer == NULL ||
        ((uintptr_t)g->us.Buffer & 1))
        return STATUS_OBJECT_NAME_INVALID;
    return STATUS_SUCCESS;
}

static const WCHAR *gname_chars(const gname *g, size_t *n)
{
    *n = g->us.Length / sizeof(WCHAR);
    return g->us.Buffer;
}

static HANDLE pick_handle(reader *r)
{
    uint8_t m = rd_u8(r);
    int live = g_nhandles > 0 ? nth_handle(rd_u8(r) % g_nhandles) : -1;
    HANDLE v = live >= 0 ? g_h[live].value : NULL;
    switch (m % 24) {
    case 14:
        return v ? (HANDLE)((ULONG_PTR)v | (1 + (m >> 5) % 3)) : v;
    case 15:
        if (v == NULL)
            return v;
        return is_kernel_value((ULONG_PTR)v) ? (HANDLE)((ULONG_PTR)v & ~(ULONG_PTR)KERNEL_HANDLE_MASK)
                                             : (HANDLE)((ULONG_PTR)v | KERNEL_HANDLE_MASK);
    case 16:
        return g_nclosed ? g_closed[rd_u8(r) % (g_nclosed < 16 ? g_nclosed : 16)] : NULL;
    case 17:
        return NULL;
    case 18:
        return (HANDLE)(LONG_PTR)-1;
    case 19:
        return (HANDLE)(LONG_PTR)-2;
    case 20:
        return (HANDLE)(ULONG_PTR)((1 + rd_u16(r) % 2048) * 4);
    case 21:
        return (HANDLE)(ULONG_PTR)rd_u64(r);
    case 22:
        return (HANDLE)(((ULONG_PTR)rd_u32(r) << 32) | (ULONG_PTR)v);
    case 23:
        return (HANDLE)((ULONG_PTR)v + 4);
    default:
        return v;
    }
}

static ULONG pick_attrs(reader *r)
{
    uint8_t a = rd_u8(r), b = rd_u8(r);
    ULONG x = 0;
    if (a & 1)
        x |= OBJ_CASE_INSENSITIVE;
    if (a & 2)
        x |= OBJ_OPENIF;
    if (a & 4)
        x |= OBJ_OPENLINK;
    if (a & 8)
        x |= OBJ_PERMANENT;
    if (a & 16)
        x |= OBJ_KERNEL_HANDLE;
    if (a & 32)
        x |= OBJ_EXCLUSIVE;
    if (a & 64)
        x |= OBJ_INHERIT;
    if (a & 128) {
        static const ULONG extra[] = {OBJ_FORCE_ACCESS_CHECK, OBJ_DONT_REPARSE, OBJ_IGNORE_IMPERSONATED_DEVICEMAP,
                                      0x1, 0x4, 0x8, 0x2000, 0x80000000};
        x |= extra[b & 7];
    }
    return x;
}

static const ACCESS_MASK k_access[] = {
    0,
    MAXIMUM_ALLOWED,
    GENERIC_READ,
    GENERIC_WRITE,
    GENERIC_EXECUTE,
    GENERIC_ALL,
    DIRECTORY_QUERY,
    DIRECTORY_TRAVERSE,
    DIRECTORY_QUERY | DIRECTORY_TRAVERSE,
    DIRECTORY_ALL_ACCESS,
    SYMBOLIC_LINK_QUERY,
    SYMBOLIC_LINK_ALL_ACCESS,
    EVENT_QUERY_STATE,
    EVENT_MODIFY_STATE,
    EVENT_ALL_ACCESS,
    DELETE,
    SYNCHRONIZE,
    READ_CONTROL,
    ACCESS_SYSTEM_SECURITY,
    PROCESS_DUP_HANDLE,
    GENERIC_READ | SYNCHRONIZE,
    MAXIMUM_ALLOWED | GENERIC_READ,
    0x0000FFFF,
    0xFFFFFFFF,
};

static ACCESS_MASK pick_access(reader *r)
{
    uint8_t m = rd_u8(r);
    if (m >= 0xF0)
        return rd_u32(r);
    return k_access[m % (sizeof(k_access) / sizeof(k_access[0]))];
}

/* -1 (no type) or a model type. */
static int pick_type(reader *r)
{
    static const int k[] = {-1, MT_DIR, MT_LINK, MT_EVENT, MT_PROCESS, MT_TYPE, -1, MT_DIR};
    return k[rd_u8(r) % 8];
}

static POBJECT_TYPE type_ptr(int t)
{
    return t < 0 ? NULL : g_type[t];
}

static int obj_has_sd(int s)
{
    return OBJECT_TO_OBJECT_HEADER(g_obj[s].ptr)->SecurityDescriptor != NULL;
}

/* An access check that really runs SeAccessCheck (a UserMode or forced check
 * of an object with a descriptor) is not predicted in detail: it may refuse,
 * and when it grants without MAXIMUM_ALLOWED it grants exactly what was asked. */
static int relaxed_refusal(NTSTATUS st)
{
    return st == STATUS_ACCESS_DENIED || st == STATUS_PRIVILEGE_NOT_HELD;
}

static ACCESS_MASK relaxed_granted(HANDLE h, int type, ACCESS_MASK access)
{
    PVOID q;
    OBJECT_HANDLE_INFORMATION hi;
    CHECK(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &q, &hi) == STATUS_SUCCESS);
    ObDereferenceObject(q);
    if (!(access & MAXIMUM_ALLOWED))
        EXPECT(hi.GrantedAccess == map_access(type, access), "access check granted 0x%x for 0x%x (mapped 0x%x)",
               (unsigned)hi.GrantedAccess, (unsigned)access, (unsigned)map_access(type, access));
    return hi.GrantedAccess;
}

/* ---- state checks ---------------------------------------------------------------------------- */

static int expected_full_name(int s, WCHAR **out, size_t *n);

static void check_handle_basic(int i)
{
    mhandle *h = &g_h[i];
    mobj *o = &g_obj[h->obj];
    PUBLIC_OBJECT_BASIC_INFORMATION *bi = malloc(sizeof(*bi));
    CHECK(bi != NULL);
    ULONG ret = 0;
    NTSTATUS st = ZwQueryObject(h->value, ObjectBasicInformation, bi, sizeof(*bi), &ret);
    EXPECT(st == STATUS_SUCCESS, "ZwQueryObject(%p, basic) = 0x%08x", h->value, (unsigned)st);
    EXPECT(ret == sizeof(*bi), "basic ReturnLength %u", (unsigned)ret);
    EXPECT(bi->GrantedAccess == h->granted, "handle %p granted 0x%x, model 0x%x", h->value,
           (unsigned)bi->GrantedAccess, (unsigned)h->granted);
    ULONG want = handle_attrs(h);
    if (!o->foreign) {
        want |= (o->permanent ? OBJ_PERMANENT : 0) | (o->exclusive ? OBJ_EXCLUSIVE : 0);
        EXPECT(bi->Attributes == want, "handle %p attributes 0x%x, model 0x%x", h->value, (unsigned)bi->Attributes,
               (unsigned)want);
        EXPECT(bi->HandleCount == (ULONG)o->handles, "handle %p (%s %s): HandleCount %u, model %d", h->value,
               k_type_names[o->type], show(o->name, o->name_len), (unsigned)bi->HandleCount, o->handles);
        EXPECT(bi->PointerCount == (ULONG)model_pc(h->obj), "handle %p (%s %s): PointerCount %u, model %ld",
               h->value, k_type_names[o->type], show(o->name, o->name_len), (unsigned)bi->PointerCount,
               model_pc(h->obj));
    } else {
        EXPECT((bi->Attributes & (OBJ_INHERIT | OBJ_PROTECT_CLOSE)) == want, "handle %p attributes 0x%x",
               h->value, (unsigned)bi->Attributes);
    }
    free(bi);
}

static void check_state(void)
{
    ULONG alive[MT_NTYPES] = {0}, handles[MT_NTYPES] = {0};
    for (int s = FIRST_SLOT; s < MAX_OBJS; s++) {
        mobj *o = &g_obj[s];
        if (!o->used || !o->alive)
            continue;
        POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(o->ptr);
        EXPECT(ObGetObjectType(o->ptr) == g_type[o->type], "slot %d type", s);
        EXPECT(h->PointerCount == model_pc(s), "%s %s (slot %d): PointerCount %ld, model %ld", k_type_names[o->type],
               show(o->name, o->name_len), s, (long)h->PointerCount, model_pc(s));
        EXPECT(h->HandleCount == o->handles, "%s %s (slot %d): HandleCount %ld, model %d", k_type_names[o->type],
               show(o->name, o->name_len), s, (long)h->HandleCount, o->handles);
        EXPECT(!!(h->Flags & OB_FLAG_PERMANENT_OBJECT) == o->permanent, "slot %d permanent flag", s);
        EXPECT(!!(h->Flags & OB_FLAG_EXCLUSIVE_OBJECT) == o->exclusive, "slot %d exclusive flag", s);
        alive[o->type]++;
    }
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i].used)
            handles[g_obj[g_h[i].obj].type]++;
    for (int t = 0; t < MT_NTYPES; t++) {
        if (t == MT_PROCESS || t == MT_TYPE)
            continue;
        EXPECT(g_type[t]->TotalNumberOfObjects == g_base_objects[t] + alive[t],
               "%s TotalNumberOfObjects %u, model %u + %u", k_type_names[t], (unsigned)g_type[t]->TotalNumberOfObjects,
               (unsigned)g_base_objects[t], (unsigned)alive[t]);
    }
    for (int t = 0; t < MT_NTYPES; t++)
        EXPECT(g_type[t]->TotalNumberOfHandles == g_base_handles[t] + handles[t],
               "%s TotalNumberOfHandles %u, model %u + %u", k_type_names[t], (unsigned)g_type[t]->TotalNumberOfHandles,
               (unsigned)g_base_handles[t], (unsigned)handles[t]);
    for (int t = 0; t < NTABLES; t++) {
        int n = 0;
        for (int i = 0; i < MAX_HANDLES; i++)
            n += g_h[i].used && g_h[i].table == t;
        EXPECT(g_tables[t]->HandleCount == g_base_table_handles[t] + n, "handle table %d count %d, model %d + %d", t,
               (int)g_tables[t]->HandleCount, (int)g_base_table_handles[t], n);
    }
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i].used && g_h[i].table == 0)
            check_handle_basic(i);
}

/* Records the kernel pointer behind a fresh handle and checks it is new or the expected one. */
static void *pointer_of(HANDLE h)
{
    PVOID p = NULL;
    NTSTATUS st = ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &p, NULL);
    EXPECT(st == STATUS_SUCCESS && p != NULL, "reference of new handle %p: 0x%08x", h, (unsigned)st);
    ObDereferenceObject(p);
    return p;
}

/* ---- operations ------------------------------------------------------------------------------- */

static void fill_oa(OBJECT_ATTRIBUTES *oa, const gname *g, ULONG attrs, uint8_t form)
{
    InitializeObjectAttributes(oa, g->ptr, attrs, g->has_root ? g->root : NULL, NULL);
    if (form == 6) {
        static const ULONG bad[] = {0, sizeof(OBJECT_ATTRIBUTES) - 1, sizeof(OBJECT_ATTRIBUTES) + 1, 0x40};
        oa->Length = bad[g->us.Length & 3];
    }
}

/* Creation of a directory, symbolic link or event. */
static void op_create(reader *r, int t)
{
    uint8_t flags = rd_u8(r);
    ULONG attrs = pick_attrs(r);
    ACCESS_MASK access = pick_access(r);
    uint8_t sdsel = rd_u8(r);
    int sdi = sdsel < 0xC0 ? 0 : sdsel % NSD;
    gname g, tg;
    gen_name(r, &g);
    memset(&tg, 0, sizeof(tg));
    if (t == MT_LINK)
        gen_name(r, &tg);
    uint8_t form = flags & 7; /* 7: NULL OBJECT_ATTRIBUTES, 6: bad Length */
    int null_ph = (flags & 0xF8) == 0xF8;
    int ev_sync = (flags >> 4) & 1;
    EVENT_TYPE ev_type = (flags & 0x30) == 0x30 ? (EVENT_TYPE)7 : (ev_sync ? SynchronizationEvent : NotificationEvent);
    BOOLEAN ev_state = (flags & 0x40) != 0;

    int slot = free_slot();
    if (slot < 0 || g_nhandles >= MAX_HANDLES)
        goto out;

    NTSTATUS exp = STATUS_SUCCESS;
    int decided = 0, unnamed = 0, existing = -1;
    ULONG eff = attrs;
    rres rr;
    memset(&rr, 0, sizeof(rr));
    size_t tlen = 0;

    if (t == MT_LINK) {
        if (null_ph || tg.ptr == NULL || (tg.us.Length & 1) || tg.us.Length > tg.us.MaximumLength ||
            (tg.us.Length != 0 && tg.us.Buffer == NULL)) {
            exp = STATUS_INVALID_PARAMETER;
            decided = 1;
        }
        tlen = tg.ptr ? tg.us.Length / sizeof(WCHAR) : 0;
    } else if (null_ph) {
        exp = t == MT_EVENT ? STATUS_ACCESS_VIOLATION : STATUS_INVALID_PARAMETER;
        decided = 1;
    } else if (t == MT_EVENT && ev_type > SynchronizationEvent) {
        exp = STATUS_INVALID_PARAMETER;
        decided = 1;
    }
    if (!decided) {
        int empty;
        NTSTATUS cs;
        if (form == 7) {
            unnamed = 1;
            eff = 0;
        } else if (form == 6 || (attrs & ~OBJ_VALID_ATTRIBUTES) ||
                   (attrs & g_type[t]->TypeInfo.InvalidAttributes)) {
            exp = STATUS_INVALID_PARAMETER;
        } else if ((cs = model_capture(&g, 1, &empty)) != STATUS_SUCCESS) {
            exp = cs;
        } else if (empty && g.has_root) {
            exp = STATUS_OBJECT_NAME_INVALID;
        } else if (g_sd_status[sdi] != STATUS_SUCCESS) {
            exp = g_sd_status[sdi];
        } else if (empty) {
            unnamed = 1;
            exp = g_sd_assign_status[sdi];
        } else {
            size_t n;
            const WCHAR *chars = gname_chars(&g, &n);
            model_resolve(g.has_root, g.root, chars, n, attrs, 1, 1, &rr);
            if (rr.kind == R_SKIP)
                goto out;
            if (rr.kind == R_ERR) {
                exp = rr.st;
            } else if (rr.kind == R_FOUND) {
                if (!(attrs & OBJ_OPENIF))
                    exp = STATUS_OBJECT_NAME_COLLISION;
                else if (g_obj[rr.obj].type != t)
                    exp = STATUS_OBJECT_TYPE_MISMATCH;
                else if ((attrs & OBJ_EXCLUSIVE) && !g_obj[rr.obj].exclusive)
                    exp = STATUS_INVALID_PARAMETER;
                else if (excl_denied(rr.obj, 0))
                    exp = STATUS_ACCESS_DENIED;
                else {
                    exp = STATUS_OBJECT_NAME_EXISTS;
                    existing = rr.obj;
                }
            } else {
                exp = g_sd_assign_status[sdi]; /* assigned just before the name goes in */
            }
        }
    }

    OBJECT_ATTRIBUTES oa;
    fill_oa(&oa, &g, attrs, form);
    oa.SecurityDescriptor = g_sd[sdi];
    HANDLE h = NULL;
    NTSTATUS st;
    switch (t) {
    case MT_DIR:
        st = ZwCreateDirectoryObject(null_ph ? NULL : &h, access, form == 7 ? NULL : &oa);
        break;
    case MT_LINK:
        st = ZwCreateSymbolicLinkObject(null_ph ? NULL : &h, access, form == 7 ? NULL : &oa, tg.ptr);
        break;
    default:
        st = ZwCreateEvent(null_ph ? NULL : &h, access, form == 7 ? NULL : &oa, ev_type, ev_state);
        break;
    }
    trace("create %s name=%s len=%u/%u root=%p attrs=0x%x access=0x%x sd=%s form=%u -> 0x%08x h=%p%s%s",
          k_type_names[t], gshow(&g),
          g.ptr ? g.us.Length : 0, g.ptr ? g.us.MaximumLength : 0, g.has_root ? g.root : NULL, (unsigned)attrs,
          (unsigned)access, k_sd_names[sdi], form, (unsigned)st, h, t == MT_LINK ? " target=" : "",
          t == MT_LINK ? gshow(&tg) : "");
    EXPECT_ST(st, exp, "create");

    if (NT_SUCCESS(st)) {
        int kernel = (eff & OBJ_KERNEL_HANDLE) != 0;
        void *p = pointer_of(h);
        if (existing >= 0) {
            EXPECT(p == g_obj[existing].ptr, "OBJ_OPENIF opened %p, model object %p", p, g_obj[existing].ptr);
            model_add_handle(existing, h, kernel, map_access(t, access), (eff & OBJ_INHERIT) != 0);
        } else {
            for (int s = 0; s < MAX_OBJS; s++)
                EXPECT(!(g_obj[s].used && g_obj[s].alive && g_obj[s].ptr == p), "new object %p is slot %d", p, s);
            release_slot(slot);
            mobj *o = &g_obj[slot];
            o->used = o->alive = 1;
            o->type = t;
            o->ptr = p;
            o->permanent = (eff & OBJ_PERMANENT) != 0;
            o->exclusive = (eff & OBJ_EXCLUSIVE) != 0;
            o->ev_sync = ev_sync;
            o->ev_state = ev_state;
            if (!unnamed) {
                o->parent = rr.dir;
                o->in_ns = 1;
                o->seq = ++g_seq;
                o->name = rr.comp;
                o->name_len = rr.comp_len;
                rr.comp = NULL;
            }
            if (t == MT_LINK) {
                o->target = wdup(tg.us.Buffer ? tg.us.Buffer : L"", tlen);
                o->target_len = tlen;
            }
            model_add_handle(slot, h, kernel, map_access(t, access), (eff & OBJ_INHERIT) != 0);
        }
    }
    model_settle();
out:
    free(rr.comp);
    gname_free(&g);
    gname_free(&tg);
}

/* ObOpenObjectByName and the typed Zw open services. */
static void op_open(reader *r)
{
    uint8_t api = rd_u8(r);
    ULONG attrs = pick_attrs(r);
    ACCESS_MASK access = pick_access(r);
    int want = pick_type(r);
    gname g;
    gen_name(r, &g);
    uint8_t form = api >> 5; /* 7: NULL attributes, 6: bad Length */
    int kernel = 1;
    switch (api % 8) {
    case 2:
        want = MT_DIR;
        break;
    case 3:
        want = MT_LINK;
        break;
    case 4:
        want = MT_EVENT;
        break;
    case 5:
    case 6:
        kernel = 0;
        break;
    default:
        break;
    }
    if (g_nhandles >= MAX_HANDLES)
        goto out;

    NTSTATUS exp = STATUS_SUCCESS;
    int found = -1, relaxed = 0, post_access = 0; /* exp comes from a step after the access check */
    ULONG eff = attrs;
    if (api % 8 == 3 && form < 6)
        eff |= OBJ_OPENLINK;
    if (!kernel)
        eff &= ~OBJ_KERNEL_HANDLE;
    if (form == 7 || form == 6 || (attrs & ~OBJ_VALID_ATTRIBUTES)) {
        exp = STATUS_INVALID_PARAMETER;
    } else if (g.ptr == NULL && !g.has_root) {
        exp = STATUS_OBJECT_NAME_INVALID;
    } else {
        int empty;
        NTSTATUS cs = model_capture(&g, g.has_root, &empty);
        if (cs != STATUS_SUCCESS) {
            exp = cs;
        } else {
            int check_kernel = kernel && !(eff & OBJ_FORCE_ACCESS_CHECK);
            size_t n = 0;
            const WCHAR *chars = empty ? NULL : gname_chars(&g, &n);
            rres rr;
            model_resolve(g.has_root, g.root, chars, n, eff, check_kernel, 0, &rr);
            if (rr.kind == R_SKIP)
                goto out;
            if (rr.kind == R_ERR) {
                exp = rr.st;
            } else if (want >= 0 && g_obj[rr.obj].type != want) {
                exp = STATUS_OBJECT_TYPE_MISMATCH;
            } else {
                found = rr.obj;
                relaxed = !check_kernel && obj_has_sd(found);
                /* The access check comes before the handle's own checks. */
                post_access = 1;
                if ((eff & OBJ_EXCLUSIVE) && !g_obj[rr.obj].exclusive)
                    exp = STATUS_INVALID_PARAMETER;
                else if (excl_denied(rr.obj, 0))
                    exp = STATUS_ACCESS_DENIED;
            }
        }
    }

    OBJECT_ATTRIBUTES oa;
    fill_oa(&oa, &g, attrs, form);
    POBJECT_ATTRIBUTES poa = form == 7 ? NULL : &oa;
    HANDLE h = NULL;
    NTSTATUS st;
    switch (api % 8) {
    case 2:
        st = ZwOpenDirectoryObject(&h, access, poa);
        break;
    case 3:
        st = ZwOpenSymbolicLinkObject(&h, access, poa);
        break;
    case 4:
        st = ZwOpenEvent(&h, access, poa);
        break;
    default:
        st = ObOpenObjectByName(poa, type_ptr(want), kernel ? KernelMode : UserMode, NULL, access, NULL, &h);
        break;
    }
    trace("open api=%u type=%s mode=%s name=%s len=%u/%u root=%p attrs=0x%x access=0x%x form=%u -> 0x%08x h=%p",
          api % 8, want < 0 ? "any" : k_type_names[want], kernel ? "K" : "U",
          gshow(&g),
          g.ptr ? g.us.Length : 0, g.ptr ? g.us.MaximumLength : 0, g.has_root ? g.root : NULL, (unsigned)attrs,
          (unsigned)access, form, (unsigned)st, h);
    if (relaxed && post_access && relaxed_refusal(st))
        goto out;
    EXPECT_ST(st, exp, "open");
    if (NT_SUCCESS(st)) {
        void *p = pointer_of(h);
        EXPECT(p == g_obj[found].ptr, "open returned %p, model object %p (slot %d)", p, g_obj[found].ptr, found);
        ACCESS_MASK granted = relaxed ? relaxed_granted(h, g_obj[found].type, access)
                                      : map_access(g_obj[found].type, access);
        model_add_handle(found, h, kernel && (eff & OBJ_KERNEL_HANDLE), granted, (eff & OBJ_INHERIT) != 0);
    }
out:
    gname_free(&g);
}

static void op_ref_by_name(reader *r)
{
    uint8_t m = rd_u8(r);
    ULONG attrs = pick_attrs(r);
    ACCESS_MASK access = pick_access(r);
    int want = pick_type(r);
    gname g;
    gen_name(r, &g);
    int kernel = !(m & 1);
    NTSTATUS exp = STATUS_SUCCESS;
    int found = -1, relaxed = 0;

    if (g.ptr == NULL) {
        exp = STATUS_OBJECT_NAME_INVALID;
    } else if (attrs & ~OBJ_VALID_ATTRIBUTES) {
        exp = STATUS_INVALID_PARAMETER;
    } else {
        int empty;
        NTSTATUS cs = model_capture(&g, 0, &empty);
        if (cs != STATUS_SUCCESS) {
            exp = cs;
        } else {
            int check_kernel = kernel && !(attrs & OBJ_FORCE_ACCESS_CHECK);
            size_t n;
            const WCHAR *chars = gname_chars(&g, &n);
            rres rr;
            model_resolve(0, NULL, chars, n, attrs, check_kernel, 0, &rr);
            if (rr.kind == R_SKIP)
                goto out;
            if (rr.kind == R_ERR)
                exp = rr.st;
            else if (want >= 0 && g_obj[rr.obj].type != want)
                exp = STATUS_OBJECT_TYPE_MISMATCH;
            else {
                found = rr.obj;
                relaxed = !check_kernel && obj_has_sd(found);
            }
        }
    }
    PVOID p = (PVOID)0x1;
    NTSTATUS st = ObReferenceObjectByName(g.ptr, attrs, NULL, access, type_ptr(want), kernel ? KernelMode : UserMode,
                                          NULL, &p);
    trace("refname type=%s mode=%s name=%s attrs=0x%x -> 0x%08x %p", want < 0 ? "any" : k_type_names[want],
          kernel ? "K" : "U", gshow(&g), (unsigned)attrs,
          (unsigned)st, p);
    if (relaxed && exp == STATUS_SUCCESS && relaxed_refusal(st))
        goto out;
    EXPECT_ST(st, exp, "ObReferenceObjectByName");
    if (NT_SUCCESS(st)) {
        EXPECT(p == g_obj[found].ptr, "by name %p, model %p", p, g_obj[found].ptr);
        ObDereferenceObject(p);
    } else {
        EXPECT(p == NULL, "failed ObReferenceObjectByName left %p", p);
    }
out:
    gname_free(&g);
}

static void op_ref_by_handle(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    int want = pick_type(r);
    ACCESS_MASK access = pick_access(r);
    int kernel = !(m & 1), want_info = !(m & 2);
    refpred p = predict_ref(h, want, access, kernel);
    if (p.skip)
        return;
    PVOID obj = (PVOID)0x1;
    OBJECT_HANDLE_INFORMATION hi = {0xEEEE, 0xEEEE};
    NTSTATUS st = ObReferenceObjectByHandle(h, access, type_ptr(want), kernel ? KernelMode : UserMode, &obj,
                                            want_info ? &hi : NULL);
    trace("refhandle %p type=%s mode=%s access=0x%x -> 0x%08x %p", h, want < 0 ? "any" : k_type_names[want],
          kernel ? "K" : "U", (unsigned)access, (unsigned)st, obj);
    EXPECT_ST(st, p.st, "ObReferenceObjectByHandle");
    if (NT_SUCCESS(st)) {
        EXPECT(obj == g_obj[p.obj].ptr, "by handle %p, model %p", obj, g_obj[p.obj].ptr);
        if (want_info) {
            EXPECT(hi.GrantedAccess == p.granted, "info granted 0x%x, model 0x%x", (unsigned)hi.GrantedAccess,
                   (unsigned)p.granted);
            EXPECT(hi.HandleAttributes == p.attrs, "info attributes 0x%x, model 0x%x", (unsigned)hi.HandleAttributes,
                   (unsigned)p.attrs);
        }
        ObDereferenceObject(obj);
    } else {
        EXPECT(obj == NULL, "failed reference left %p", obj);
    }
}

/* Mostly the current process, often process B (through a handle to it). */
static HANDLE pick_process_handle(reader *r)
{
    uint8_t m = rd_u8(r);
    if (m < 0x80)
        return NtCurrentProcess();
    if (m < 0xD0) {
        int h = handle_of(SLOT_PROCB, m);
        return h >= 0 ? g_h[h].value : NtCurrentProcess();
    }
    if (m < 0xE0)
        return NULL;
    return pick_handle(r);
}

static void op_duplicate(reader *r)
{
    uint8_t m = rd_u8(r);
    static const ULONG k_options[] = {0,
                                      DUPLICATE_SAME_ACCESS,
                                      DUPLICATE_CLOSE_SOURCE,
                                      DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE,
                                      DUPLICATE_SAME_ATTRIBUTES,
                                      DUPLICATE_SAME_ATTRIBUTES | DUPLICATE_SAME_ACCESS,
                                      DUPLICATE_SAME_ATTRIBUTES | DUPLICATE_CLOSE_SOURCE,
                                      0x8};
    ULONG options = k_options[m % 8];
    HANDLE sp = (m & 0x08) ? pick_process_handle(r) : NtCurrentProcess();
    HANDLE src = pick_handle(r);
    HANDLE tp = (m & 0x10) ? pick_process_handle(r) : NtCurrentProcess();
    /* Pseudo-handles as the source name the caller's process or thread, which
     * the model does not track as handles (tests/ob covers them). */
    if (src == NtCurrentProcess() || src == NtCurrentThread())
        return;
    int null_th = (m & 0xE0) == 0xE0;
    ACCESS_MASK access = pick_access(r);
    ULONG hattrs = pick_attrs(r);
    if (g_nhandles >= MAX_HANDLES)
        return;

    NTSTATUS exp = STATUS_SUCCESS;
    int sidx = -1, close_src = 0, make = 0, table = 0;
    ACCESS_MASK granted = 0;
    int inherit = 0, kernel = 0;
    if (options & ~(DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES)) {
        exp = STATUS_INVALID_PARAMETER;
    } else {
        refpred spp = predict_ref(sp, MT_PROCESS, PROCESS_DUP_HANDLE, 1);
        if (spp.skip)
            return;
        if (spp.st != STATUS_SUCCESS) {
            exp = spp.st;
        } else {
            int c = classify_in(src, 1, 0, table_of_slot(spp.obj), &sidx);
            if (c == HC_FOREIGN)
                return;
            if (c != HC_MODEL) {
                exp = STATUS_INVALID_HANDLE;
            } else {
                close_src = (options & DUPLICATE_CLOSE_SOURCE) != 0;
                if (tp == NULL) {
                    exp = close_src ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
                } else {
                    refpred tpp = predict_ref(tp, MT_PROCESS, PROCESS_DUP_HANDLE, 1);
                    if (tpp.skip)
                        return;
                    if (tpp.st != STATUS_SUCCESS) {
                        exp = tpp.st;
                    } else if (null_th) {
                        exp = STATUS_INVALID_PARAMETER;
                    } else {
                        mhandle *sh = &g_h[sidx];
                        table = table_of_slot(tpp.obj);
                        granted = (options & DUPLICATE_SAME_ACCESS) ? sh->granted
                                                                    : map_access(g_obj[sh->obj].type, access);
                        if (options & DUPLICATE_SAME_ATTRIBUTES) {
                            inherit = sh->inherit;
                        } else {
                            inherit = (hattrs & OBJ_INHERIT) != 0;
                            /* OBJ_KERNEL_HANDLE from kernel mode: a kernel handle, so in
                             * the system table, whichever process is the target. */
                            kernel = (hattrs & OBJ_KERNEL_HANDLE) != 0;
                            if (kernel)
                                table = 0;
                        }
                        if (excl_denied(sh->obj, table))
                            exp = STATUS_ACCESS_DENIED;
                        else
                            make = 1;
                    }
                }
            }
        }
    }
    HANDLE th = (HANDLE)0x1;
    NTSTATUS st = ZwDuplicateObject(sp, src, tp, null_th ? NULL : &th, access, hattrs, options);
    trace("duplicate sp=%p src=%p tp=%p access=0x%x hattrs=0x%x options=0x%x -> 0x%08x %p (table %d)", sp, src, tp,
          (unsigned)access, (unsigned)hattrs, (unsigned)options, (unsigned)st, null_th ? NULL : th, table);
    EXPECT_ST(st, exp, "ZwDuplicateObject");
    if (make) {
        if (table == 0)
            EXPECT(pointer_of(th) == g_obj[g_h[sidx].obj].ptr, "duplicate names another object");
        model_add_handle_in(g_h[sidx].obj, th, kernel, granted, inherit, table);
    }
    if (close_src && !g_h[sidx].protect)
        model_close_handle(sidx);
}

static void op_close(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    int kernel = !(m & 1);
    int hidx;
    int c = classify(h, kernel, 0, &hidx);
    if (c == HC_FOREIGN)
        return;
    NTSTATUS exp = c != HC_MODEL ? STATUS_INVALID_HANDLE
                   : g_h[hidx].protect ? STATUS_HANDLE_NOT_CLOSABLE
                                       : STATUS_SUCCESS;
    NTSTATUS st = kernel ? ZwClose(h) : ObCloseHandle(h, UserMode);
    trace("close %p mode=%s -> 0x%08x", h, kernel ? "K" : "U", (unsigned)st);
    EXPECT_ST(st, exp, "close");
    if (st == STATUS_SUCCESS)
        model_close_handle(hidx);
}

static void op_make_temporary(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    int perm = m & 1;
    refpred p = predict_ref(h, -1, perm ? 0 : DELETE, 1);
    if (p.skip || (p.st == STATUS_SUCCESS && g_obj[p.obj].foreign))
        return; /* "\" and the System process stay as they are */
    NTSTATUS st = perm ? ZwMakePermanentObject(h) : ZwMakeTemporaryObject(h);
    trace("make %s %p -> 0x%08x", perm ? "permanent" : "temporary", h, (unsigned)st);
    EXPECT_ST(st, p.st, perm ? "ZwMakePermanentObject" : "ZwMakeTemporaryObject");
    if (st == STATUS_SUCCESS) {
        g_obj[p.obj].permanent = perm;
        model_name_check(p.obj);
    }
}

/* The name ZwQueryObject/ObQueryNameString report: "\A\B" while every
 * name up to "\" is still in its directory; empty otherwise. */
static int expected_full_name(int s, WCHAR **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (s == SLOT_ROOT) {
        *out = wdup(L"\\", 1);
        *n = 1;
        return 1;
    }
    size_t len = 0;
    for (int o = s; o != SLOT_ROOT; o = g_obj[o].parent) {
        if (o < FIRST_SLOT || !g_obj[o].in_ns)
            return 0;
        len += 1 + g_obj[o].name_len;
    }
    WCHAR *b = malloc((len + 1) * sizeof(WCHAR));
    CHECK(b != NULL);
    size_t end = len;
    for (int o = s; o != SLOT_ROOT; o = g_obj[o].parent) {
        end -= g_obj[o].name_len;
        memcpy(b + end, g_obj[o].name, g_obj[o].name_len * sizeof(WCHAR));
        b[--end] = L'\\';
    }
    b[len] = 0;
    *out = b;
    *n = len;
    return 1;
}

/* Checks an OBJECT_NAME_INFORMATION result (ObQueryNameString or ZwQueryObject). */
static void check_name_result(int s, NTSTATUS st, const void *buf, ULONG len, ULONG ret, int have_buf)
{
    WCHAR *name;
    size_t n;
    expected_full_name(s, &name, &n);
    ULONG needed = sizeof(OBJECT_NAME_INFORMATION) + (ULONG)(n * 2) + (n ? 2 : 0);
    if (n * 2 > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR)) {
        /* The name does not fit a UNICODE_STRING (this harness found the
         * kernel once returning a truncated path as success). */
        EXPECT_ST(st, STATUS_NAME_TOO_LONG, "name query of an overlong name");
        free(name);
        return;
    }
    EXPECT(ret == needed, "name ReturnLength %u, model %u", (unsigned)ret, (unsigned)needed);
    if (!have_buf || len < needed) {
        EXPECT_ST(st, STATUS_INFO_LENGTH_MISMATCH, "name query");
    } else {
        EXPECT_ST(st, STATUS_SUCCESS, "name query");
        const OBJECT_NAME_INFORMATION *ni = buf;
        EXPECT(ni->Name.Length == n * 2, "name Length %u, model %zu", ni->Name.Length, n * 2);
        if (n) {
            EXPECT(ni->Name.MaximumLength == n * 2 + 2, "name MaximumLength %u", ni->Name.MaximumLength);
            EXPECT((const uint8_t *)ni->Name.Buffer >= (const uint8_t *)buf &&
                       (const uint8_t *)ni->Name.Buffer + n * 2 + 2 <= (const uint8_t *)buf + len,
                   "name buffer outside the caller's buffer");
            EXPECT(memcmp(ni->Name.Buffer, name, n * 2) == 0, "name %s, model %s", show(ni->Name.Buffer, n),
                   show(name, n));
            EXPECT(ni->Name.Buffer[n] == 0, "name not terminated");
        }
    }
    free(name);
}

static ULONG pick_length(reader *r, ULONG needed)
{
    uint8_t m = rd_u8(r);
    switch (m % 6) {
    case 0:
        return 0;
    case 1:
        return needed ? needed - 1 : 0;
    case 2:
        return needed + (m >> 3);
    case 3:
        return rd_u8(r);
    default:
        return needed;
    }
}

static void op_query_object(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    static const ULONG k_classes[] = {ObjectBasicInformation,  ObjectNameInformation,       ObjectTypeInformation,
                                      ObjectTypesInformation,  ObjectHandleFlagInformation, 5,
                                      ObjectBasicInformation,  ObjectNameInformation};
    ULONG cls = (m & 0x38) == 0x38 ? rd_u32(r) : k_classes[m % 8];
    int null_ret = (m & 0xC0) == 0xC0;
    int hidx;
    if (h == NtCurrentProcess() || h == NtCurrentThread())
        return; /* not a table handle: tests/ob covers querying the pseudo-handles */
    int c = classify(h, 1, 0, &hidx);
    if (c == HC_FOREIGN)
        return;
    int s = c == HC_MODEL ? g_h[hidx].obj : -1;

    ULONG needed;
    WCHAR *name = NULL;
    size_t nlen = 0;
    switch (cls) {
    case ObjectBasicInformation:
        needed = sizeof(PUBLIC_OBJECT_BASIC_INFORMATION);
        break;
    case ObjectNameInformation:
        if (s >= 0)
            expected_full_name(s, &name, &nlen);
        needed = sizeof(OBJECT_NAME_INFORMATION) + (ULONG)nlen * 2 + (nlen ? 2 : 0);
        free(name);
        break;
    case ObjectTypeInformation:
        needed = sizeof(PUBLIC_OBJECT_TYPE_INFORMATION) + (s >= 0 ? g_type[g_obj[s].type]->Name.Length : 0) + 2;
        break;
    case ObjectHandleFlagInformation:
        needed = sizeof(OBJECT_HANDLE_FLAG_INFORMATION);
        break;
    default:
        needed = 16;
        break;
    }
    ULONG len = pick_length(r, needed);
    void *buf = len ? malloc(len) : NULL;
    if (len)
        CHECK(buf != NULL);
    ULONG ret = 0xEEEEEEEE;
    NTSTATUS st = ZwQueryObject(h, (OBJECT_INFORMATION_CLASS)cls, buf, len, null_ret ? NULL : &ret);
    trace("queryobject %p class=%u len=%u -> 0x%08x ret=%u", h, (unsigned)cls, (unsigned)len, (unsigned)st,
          (unsigned)ret);
    if (s < 0) {
        EXPECT_ST(st, STATUS_INVALID_HANDLE, "ZwQueryObject");
        goto out;
    }
    if (null_ret)
        ret = needed;
    switch (cls) {
    case ObjectBasicInformation:
        EXPECT(ret == needed, "basic ReturnLength %u", (unsigned)ret);
        if (len != needed || buf == NULL) {
            EXPECT_ST(st, STATUS_INFO_LENGTH_MISMATCH, "basic");
        } else {
            EXPECT_ST(st, STATUS_SUCCESS, "basic");
            /* Contents: check_state queries every handle after each step. */
        }
        break;
    case ObjectNameInformation:
        check_name_result(s, st, buf, len, ret, buf != NULL);
        break;
    case ObjectTypeInformation:
        EXPECT(ret == needed, "type ReturnLength %u, model %u", (unsigned)ret, (unsigned)needed);
        if (len < needed || buf == NULL) {
            EXPECT_ST(st, STATUS_INFO_LENGTH_MISMATCH, "type");
        } else {
            EXPECT_ST(st, STATUS_SUCCESS, "type");
            PPUBLIC_OBJECT_TYPE_INFORMATION ti = buf;
            PCUNICODE_STRING tn = &g_type[g_obj[s].type]->Name;
            EXPECT(ti->TypeName.Length == tn->Length && memcmp(ti->TypeName.Buffer, tn->Buffer, tn->Length) == 0,
                   "type name %s", show(ti->TypeName.Buffer, ti->TypeName.Length / 2));
        }
        break;
    case ObjectHandleFlagInformation:
        EXPECT(ret == needed, "flags ReturnLength %u", (unsigned)ret);
        if (len != needed || buf == NULL) {
            EXPECT_ST(st, STATUS_INFO_LENGTH_MISMATCH, "flags");
        } else {
            EXPECT_ST(st, STATUS_SUCCESS, "flags");
            POBJECT_HANDLE_FLAG_INFORMATION f = buf;
            EXPECT(f->Inherit == g_h[hidx].inherit && f->ProtectFromClose == g_h[hidx].protect,
                   "flags %d/%d, model %d/%d", f->Inherit, f->ProtectFromClose, g_h[hidx].inherit, g_h[hidx].protect);
        }
        break;
    default:
        EXPECT_ST(st, STATUS_INVALID_INFO_CLASS, "ZwQueryObject class");
        break;
    }
out:
    free(buf);
}

/* Type name of an entry: a model child's type, or a boot-time name's type. */
static int dir_entry_expected(int dir, const UNICODE_STRING *name, const UNICODE_STRING *type, unsigned char *seen)
{
    for (int s = FIRST_SLOT; s < MAX_OBJS; s++) {
        mobj *o = &g_obj[s];
        if (!o->used || !o->alive || !o->in_ns || o->parent != dir)
            continue;
        if (!name_eq(o->name, o->name_len, name->Buffer, name->Length / 2, 0))
            continue;
        EXPECT(!seen[s], "entry %s enumerated twice", show(name->Buffer, name->Length / 2));
        seen[s] = 1;
        PCUNICODE_STRING tn = &g_type[o->type]->Name;
        EXPECT(type->Length == tn->Length && memcmp(type->Buffer, tn->Buffer, tn->Length) == 0,
               "entry %s has type %s", show(name->Buffer, name->Length / 2), show(type->Buffer, type->Length / 2));
        return 1;
    }
    if (dir == SLOT_ROOT) {
        for (int i = 0; i < g_nforeign; i++) {
            if (!name_eq(g_foreign[i].name, g_foreign[i].len, name->Buffer, name->Length / 2, 0))
                continue;
            EXPECT(!seen[MAX_OBJS + i], "boot entry enumerated twice");
            seen[MAX_OBJS + i] = 1;
            return 1;
        }
    }
    return 0;
}

static void op_query_directory(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    ULONG len = pick_length(r, 32 + (rd_u8(r) % 8) * 40);
    BOOLEAN single = m & 1;
    int garbage_ctx = (m & 6) == 6;
    ULONG ctx_in = rd_u8(r);
    if ((m & 0x18) == 0x18) {
        ULONG ret;
        NTSTATUS st = ZwQueryDirectoryObject(h, NULL, 0, single, TRUE, NULL, &ret);
        trace("querydir %p context NULL -> 0x%08x", h, (unsigned)st);
        EXPECT_ST(st, STATUS_INVALID_PARAMETER, "ZwQueryDirectoryObject(Context NULL)");
        return;
    }
    refpred p = predict_ref(h, MT_DIR, DIRECTORY_QUERY, 1);
    if (p.skip)
        return;
    int dir = p.obj;
    int expected = 0;
    if (p.st == STATUS_SUCCESS) {
        for (int s = FIRST_SLOT; s < MAX_OBJS; s++)
            if (g_obj[s].used && g_obj[s].alive && g_obj[s].in_ns && g_obj[s].parent == dir)
                expected++;
        if (dir == SLOT_ROOT)
            expected += g_nforeign;
    }
    unsigned char seen[MAX_OBJS + 512];
    memset(seen, 0, sizeof(seen));
    ULONG ctx = garbage_ctx ? ctx_in : 0;
    int restart = !garbage_ctx, got = 0;
    for (int iter = 0; iter < expected + 16; iter++) {
        void *buf = len ? malloc(len) : NULL;
        if (len)
            CHECK(buf != NULL);
        ULONG ret = 0xEEEEEEEE, before = ctx;
        NTSTATUS st = ZwQueryDirectoryObject(h, buf, len, single, (BOOLEAN)restart, &ctx, &ret);
        trace("querydir %p len=%u single=%d restart=%d ctx=%u -> 0x%08x ret=%u ctx=%u", h, (unsigned)len, single,
              restart, (unsigned)before, (unsigned)st, (unsigned)ret, (unsigned)ctx);
        if (p.st != STATUS_SUCCESS) {
            EXPECT_ST(st, p.st, "ZwQueryDirectoryObject");
            free(buf);
            return;
        }
        ULONG start = restart ? 0 : before;
        if (st == STATUS_NO_MORE_ENTRIES) {
            EXPECT(start >= (ULONG)expected, "no more entries at %u of %d", (unsigned)start, expected);
            if (!garbage_ctx)
                EXPECT(got == expected, "enumerated %d entries, model %d", got, expected);
            EXPECT(ctx == before, "context moved on NO_MORE_ENTRIES");
            free(buf);
            return;
        }
        EXPECT(start < (ULONG)expected, "entries past the end: start %u of %d (status 0x%08x)", (unsigned)start,
               expected, (unsigned)st);
        if (st == STATUS_BUFFER_TOO_SMALL) {
            EXPECT(ret > len, "BUFFER_TOO_SMALL wants %u with %u", (unsigned)ret, (unsigned)len);
            EXPECT(ctx == before, "context moved on BUFFER_TOO_SMALL");
            free(buf);
            len = ret;
            continue;
        }
        EXPECT(st == STATUS_SUCCESS || st == STATUS_MORE_ENTRIES, "ZwQueryDirectoryObject status 0x%08x",
               (unsigned)st);
        EXPECT(buf != NULL && ret <= len, "ReturnLength %u > %u", (unsigned)ret, (unsigned)len);
        POBJECT_DIRECTORY_INFORMATION info = buf;
        ULONG k = 0;
        for (;; k++) {
            EXPECT((k + 1) * sizeof(*info) <= len, "directory entries overrun the buffer");
            if (info[k].Name.Buffer == NULL && info[k].Name.Length == 0 && info[k].TypeName.Buffer == NULL)
                break;
            const uint8_t *lo = buf, *hi = (const uint8_t *)buf + ret;
            EXPECT((const uint8_t *)info[k].Name.Buffer >= lo &&
                       (const uint8_t *)info[k].Name.Buffer + info[k].Name.Length + 2 <= hi &&
                       (const uint8_t *)info[k].TypeName.Buffer >= lo &&
                       (const uint8_t *)info[k].TypeName.Buffer + info[k].TypeName.Length + 2 <= hi,
                   "entry %u strings outside the returned bytes", (unsigned)k);
            EXPECT(info[k].Name.Buffer[info[k].Name.Length / 2] == 0 &&
                       info[k].TypeName.Buffer[info[k].TypeName.Length / 2] == 0,
                   "entry %u not terminated", (unsigned)k);
            EXPECT(dir_entry_expected(dir, &info[k].Name, &info[k].TypeName, seen), "entry %s not in the model",
                   show(info[k].Name.Buffer, info[k].Name.Length / 2));
        }
        EXPECT(k >= 1 && (!single || k == 1), "%u entries returned (single %d)", (unsigned)k, single);
        EXPECT(ctx == start + k, "context %u after %u entries from %u", (unsigned)ctx, (unsigned)k, (unsigned)start);
        EXPECT((st == STATUS_SUCCESS) == (start + k == (ULONG)expected), "status 0x%08x at %u+%u of %d",
               (unsigned)st, (unsigned)start, (unsigned)k, expected);
        got += (int)k;
        restart = 0;
        free(buf);
    }
    EXPECT(0, "enumeration of %d entries did not end", expected);
}

static void op_query_link(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    uint16_t max = rd_u16(r);
    int null_us = (m & 7) == 7, null_ret = (m & 0x38) == 0x38, null_buf = (m & 0xC0) == 0xC0;
    NTSTATUS exp;
    refpred p = {0};
    if (null_us) {
        exp = STATUS_INVALID_PARAMETER;
    } else {
        p = predict_ref(h, MT_LINK, SYMBOLIC_LINK_QUERY, 1);
        if (p.skip)
            return;
        exp = p.st;
    }
    size_t tl = p.st == STATUS_SUCCESS && !null_us ? g_obj[p.obj].target_len * 2 : 0;
    switch (m % 4) {
    case 0:
        max = (uint16_t)tl;
        break;
    case 1:
        max = (uint16_t)(tl + 2);
        break;
    case 2:
        max = tl ? (uint16_t)(tl - 1) : 0;
        break;
    default:
        break;
    }
    /* A NULL Buffer that claims room is refused before anything is copied
     * (this harness found the kernel once writing the terminator through it). */
    if (null_buf && !null_us && p.st == STATUS_SUCCESS && max != 0)
        exp = STATUS_ACCESS_VIOLATION;
    UNICODE_STRING us = {0x7777, max, NULL};
    void *mem = NULL;
    if (!null_buf) {
        mem = malloc(max ? max : 1);
        CHECK(mem != NULL);
        us.Buffer = mem;
    }
    if (exp == STATUS_SUCCESS && (max < tl || (tl != 0 && null_buf)))
        exp = STATUS_BUFFER_TOO_SMALL;
    ULONG ret = 0xEEEEEEEE;
    NTSTATUS st = ZwQuerySymbolicLinkObject(h, null_us ? NULL : &us, null_ret ? NULL : &ret);
    trace("querylink %p max=%u -> 0x%08x ret=%u", h, max, (unsigned)st, (unsigned)ret);
    EXPECT_ST(st, exp, "ZwQuerySymbolicLinkObject");
    if ((st == STATUS_SUCCESS || st == STATUS_BUFFER_TOO_SMALL) && !null_ret) {
        ULONG want = (st == STATUS_SUCCESS && max < tl + 2) ? (ULONG)tl : (ULONG)tl + 2;
        EXPECT(ret == want, "ReturnedLength %u, model %u", (unsigned)ret, (unsigned)want);
    }
    if (st == STATUS_SUCCESS) {
        mobj *o = &g_obj[p.obj];
        EXPECT(us.Length == tl && (tl == 0 || memcmp(us.Buffer, o->target, tl) == 0), "target %s, model %s",
               show(us.Buffer, us.Length / 2), show(o->target, o->target_len));
        if (max >= tl + 2)
            EXPECT(us.Buffer[tl / 2] == 0, "target not terminated");
    }
    free(mem);
}

static void op_pointer(reader *r)
{
    uint8_t m = rd_u8(r);
    int s = pick_alive_slot(r);
    int want = pick_type(r);
    ACCESS_MASK access = pick_access(r);
    ULONG hattrs = pick_attrs(r);
    int kernel = !(m & 4);
    if (s < 0)
        return;
    mobj *o = &g_obj[s];
    int mismatch = want >= 0 && o->type != want;
    switch (m & 3) {
    case 0: {
        NTSTATUS st = ObReferenceObjectByPointer(o->ptr, access, type_ptr(want), kernel ? KernelMode : UserMode);
        trace("refpointer slot %d type=%s mode=%s -> 0x%08x", s, want < 0 ? "any" : k_type_names[want],
              kernel ? "K" : "U", (unsigned)st);
        EXPECT_ST(st, mismatch ? STATUS_OBJECT_TYPE_MISMATCH : STATUS_SUCCESS, "ObReferenceObjectByPointer");
        if (st == STATUS_SUCCESS)
            ObDereferenceObject(o->ptr);
        break;
    }
    case 1: {
        if (g_nhandles >= MAX_HANDLES)
            return;
        NTSTATUS exp = STATUS_SUCCESS;
        ULONG eff = hattrs & (OBJ_INHERIT | OBJ_KERNEL_HANDLE | OBJ_EXCLUSIVE);
        if (!kernel)
            eff &= ~OBJ_KERNEL_HANDLE;
        int check_kernel = kernel && !(hattrs & OBJ_FORCE_ACCESS_CHECK);
        int relaxed = !check_kernel && obj_has_sd(s);
        int post_access = !(hattrs & ~OBJ_VALID_ATTRIBUTES) && !mismatch;
        if (hattrs & ~OBJ_VALID_ATTRIBUTES)
            exp = STATUS_INVALID_PARAMETER;
        else if (mismatch)
            exp = STATUS_OBJECT_TYPE_MISMATCH;
        else if ((eff & OBJ_EXCLUSIVE) && !o->exclusive)
            exp = STATUS_INVALID_PARAMETER;
        else if (excl_denied(s, 0))
            exp = STATUS_ACCESS_DENIED;
        HANDLE h = NULL;
        NTSTATUS st = ObOpenObjectByPointer(o->ptr, hattrs, NULL, access, type_ptr(want),
                                            kernel ? KernelMode : UserMode, &h);
        trace("openpointer slot %d type=%s mode=%s hattrs=0x%x access=0x%x -> 0x%08x %p", s,
              want < 0 ? "any" : k_type_names[want], kernel ? "K" : "U", (unsigned)hattrs, (unsigned)access,
              (unsigned)st, h);
        if (relaxed && post_access && relaxed_refusal(st))
            return;
        EXPECT_ST(st, exp, "ObOpenObjectByPointer");
        if (st == STATUS_SUCCESS) {
            EXPECT(pointer_of(h) == o->ptr, "open by pointer names another object");
            ACCESS_MASK granted = relaxed ? relaxed_granted(h, o->type, access) : map_access(o->type, access);
            model_add_handle(s, h, (eff & OBJ_KERNEL_HANDLE) != 0, granted, (eff & OBJ_INHERIT) != 0);
        }
        break;
    }
    case 2: {
        if (o->foreign)
            return;
        ObMakeTemporaryObject(o->ptr);
        trace("ObMakeTemporaryObject slot %d", s);
        o->permanent = 0;
        model_name_check(s);
        break;
    }
    default: {
        WCHAR *name;
        size_t n;
        expected_full_name(s, &name, &n);
        free(name);
        ULONG needed = sizeof(OBJECT_NAME_INFORMATION) + (ULONG)n * 2 + (n ? 2 : 0);
        ULONG len = pick_length(r, needed);
        void *buf = len ? malloc(len) : NULL;
        ULONG ret = 0xEEEEEEEE;
        NTSTATUS st = ObQueryNameString(o->ptr, buf, len, &ret);
        trace("ObQueryNameString slot %d len=%u -> 0x%08x ret=%u", s, (unsigned)len, (unsigned)st, (unsigned)ret);
        check_name_result(s, st, buf, len, ret, buf != NULL);
        free(buf);
        break;
    }
    }
}

static void op_set_flags(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    OBJECT_HANDLE_FLAG_INFORMATION f = {(BOOLEAN)(m & 1), (BOOLEAN)((m >> 1) & 1)};
    ULONG cls = (m & 0x1C) == 0x1C ? ObjectTypeInformation : ObjectHandleFlagInformation;
    ULONG len = (m & 0xE0) == 0xE0 ? 3 : sizeof(f);
    int null_info = (m & 0xE0) == 0xC0;
    NTSTATUS exp;
    int hidx = -1;
    if (cls != ObjectHandleFlagInformation) {
        exp = STATUS_INVALID_INFO_CLASS;
    } else if (null_info || len != sizeof(f)) {
        exp = STATUS_INFO_LENGTH_MISMATCH;
    } else {
        int c = classify(h, 1, 0, &hidx);
        if (c == HC_FOREIGN)
            return;
        exp = c == HC_MODEL ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
    }
    NTSTATUS st = ZwSetInformationObject(h, (OBJECT_INFORMATION_CLASS)cls, null_info ? NULL : &f, len);
    trace("setflags %p inherit=%d protect=%d class=%u len=%u -> 0x%08x", h, f.Inherit, f.ProtectFromClose,
          (unsigned)cls, (unsigned)len, (unsigned)st);
    EXPECT_ST(st, exp, "ZwSetInformationObject");
    if (st == STATUS_SUCCESS) {
        g_h[hidx].inherit = f.Inherit;
        g_h[hidx].protect = f.ProtectFromClose;
    }
}

static void op_event(reader *r)
{
    uint8_t m = rd_u8(r);
    HANDLE h = pick_handle(r);
    unsigned what = m % 5;
    if (what == 4) {
        int bad_class = (m & 0x18) == 0x18, bad_len = (m & 0x60) == 0x60, null_info = (m & 0x80) && (m & 0x20);
        EVENT_BASIC_INFORMATION bi = {(EVENT_TYPE)7, 7};
        ULONG ret = 0xEEEEEEEE;
        NTSTATUS exp;
        refpred p = {0};
        if (bad_class)
            exp = STATUS_INVALID_INFO_CLASS;
        else if (bad_len)
            exp = STATUS_INFO_LENGTH_MISMATCH;
        else if (null_info)
            exp = STATUS_ACCESS_VIOLATION;
        else {
            p = predict_ref(h, MT_EVENT, EVENT_QUERY_STATE, 1);
            if (p.skip)
                return;
            exp = p.st;
        }
        NTSTATUS st = ZwQueryEvent(h, (EVENT_INFORMATION_CLASS)(bad_class ? 1 : 0), null_info ? NULL : &bi,
                                   bad_len ? 4 : sizeof(bi), &ret);
        trace("queryevent %p -> 0x%08x type=%d state=%d", h, (unsigned)st, (int)bi.EventType, (int)bi.EventState);
        EXPECT_ST(st, exp, "ZwQueryEvent");
        if (st == STATUS_SUCCESS) {
            mobj *o = &g_obj[p.obj];
            EXPECT(bi.EventType == (o->ev_sync ? SynchronizationEvent : NotificationEvent) &&
                       bi.EventState == o->ev_state,
                   "event %d/%d, model %d/%d", (int)bi.EventType, (int)bi.EventState, o->ev_sync, o->ev_state);
        }
        return;
    }
    refpred p = predict_ref(h, MT_EVENT, EVENT_MODIFY_STATE, 1);
    if (p.skip)
        return;
    LONG prev = 0x5A5A;
    NTSTATUS st;
    static const char *const k_names[] = {"set", "reset", "clear", "pulse"};
    switch (what) {
    case 0:
        st = ZwSetEvent(h, &prev);
        break;
    case 1:
        st = ZwResetEvent(h, &prev);
        break;
    case 2:
        st = ZwClearEvent(h);
        break;
    default:
        st = ZwPulseEvent(h, &prev);
        break;
    }
    trace("event %s %p -> 0x%08x prev=%d", k_names[what], h, (unsigned)st, (int)prev);
    EXPECT_ST(st, p.st, "event change");
    if (st == STATUS_SUCCESS) {
        mobj *o = &g_obj[p.obj];
        if (what != 2)
            EXPECT(prev == o->ev_state, "previous state %d, model %d", (int)prev, o->ev_state);
        o->ev_state = what == 0;
    }
}

static void op_create_dir(reader *r)
{
    op_create(r, MT_DIR);
}

static void op_create_link(reader *r)
{
    op_create(r, MT_LINK);
}

static void op_create_event(reader *r)
{
    op_create(r, MT_EVENT);
}

typedef void (*op_fn)(reader *);

static const op_fn k_ops[16] = {
    op_create_dir,     op_create_link,    op_create_event,  op_open,
    op_ref_by_name,    op_ref_by_handle,  op_duplicate,     op_close,
    op_make_temporary, op_query_object,   op_query_directory, op_query_link,
    op_pointer,        op_set_flags,      op_event,         op_open,
};

/* ---- boot, per-input setup and teardown ------------------------------------------------------ */

#define MAX_TAGS 4096
static EX_POOL_TAG_USAGE g_pool_before[MAX_TAGS], g_pool_after[MAX_TAGS];

static int compare_tag(const void *a, const void *b)
{
    ULONG x = ((const EX_POOL_TAG_USAGE *)a)->Tag, y = ((const EX_POOL_TAG_USAGE *)b)->Tag;
    return x < y ? -1 : x > y;
}

static ULONG pool_snapshot(EX_POOL_TAG_USAGE *buf)
{
    ULONG n = 0;
    NTSTATUS st = ExQueryPoolTagSnapshot(buf, MAX_TAGS, &n);
    CHECK(st == STATUS_SUCCESS);
    qsort(buf, n, sizeof(buf[0]), compare_tag);
    return n;
}

static const EX_POOL_TAG_USAGE *find_tag(const EX_POOL_TAG_USAGE *buf, ULONG n, ULONG tag)
{
    static const EX_POOL_TAG_USAGE zero;
    for (ULONG i = 0; i < n; i++)
        if (buf[i].Tag == tag)
            return &buf[i];
    return &zero;
}

static void tag_text(ULONG tag, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(tag >> (8 * i));
        out[i] = c >= 0x20 && c < 0x7F ? c : '.';
    }
    out[4] = 0;
}

static void check_pool(ULONG nbefore)
{
    ULONG nafter = pool_snapshot(g_pool_after);
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        const EX_POOL_TAG_USAGE *set = pass ? g_pool_before : g_pool_after;
        ULONG n = pass ? nbefore : nafter;
        for (ULONG i = 0; i < n; i++) {
            const EX_POOL_TAG_USAGE *a = find_tag(g_pool_before, nbefore, set[i].Tag);
            const EX_POOL_TAG_USAGE *b = find_tag(g_pool_after, nafter, set[i].Tag);
            LONG64 live_a = (LONG64)(a->PagedAllocs - a->PagedFrees) + (LONG64)(a->NonPagedAllocs - a->NonPagedFrees);
            LONG64 live_b = (LONG64)(b->PagedAllocs - b->PagedFrees) + (LONG64)(b->NonPagedAllocs - b->NonPagedFrees);
            if (live_a != live_b || a->PagedBytes != b->PagedBytes || a->NonPagedBytes != b->NonPagedBytes) {
                char t[5];
                tag_text(set[i].Tag, t);
                if (!bad)
                    dump_trace();
                fprintf(stderr, "pool tag '%s': live blocks %lld -> %lld, paged bytes %llu -> %llu, nonpaged %llu -> %llu\n",
                        t, (long long)live_a, (long long)live_b, (unsigned long long)a->PagedBytes,
                        (unsigned long long)b->PagedBytes, (unsigned long long)a->NonPagedBytes,
                        (unsigned long long)b->NonPagedBytes);
                bad = 1;
            }
        }
    }
    if (bad) {
        fprintf(stderr, "fuzz_ob: the pool did not return to its state before the input\n");
        __builtin_trap();
    }
}

static BOOLEAN collect_foreign_idx(PHANDLE_TABLE_ENTRY e, HANDLE h, PVOID ctx)
{
    int t = (int)(intptr_t)ctx;
    if (g_nforeign_idx[t] < (int)(sizeof(g_foreign_idx[0]) / sizeof(g_foreign_idx[0][0])))
        g_foreign_idx[t][g_nforeign_idx[t]++] = handle_index(h);
    ExUnlockHandleTableEntry(g_tables[t], e);
    return FALSE;
}

static uint8_t g_sd_mem[NSD][512];

static PACL new_acl(uint8_t *mem, ULONG size)
{
    PACL acl = (PACL)mem;
    CHECK(RtlCreateAcl(acl, size, ACL_REVISION) == STATUS_SUCCESS);
    return acl;
}

/* NULL, NULL DACL, empty DACL, SYSTEM only, deny-then-allow for World with
 * inheritable ACEs, inherit-only ACEs, an invalid revision, World as owner. */
static void build_descriptors(void)
{
    PSID world = SeExports->SeWorldSid, system = SeExports->SeLocalSystemSid;
    for (int i = 1; i < NSD; i++) {
        uint8_t *mem = g_sd_mem[i];
        PSECURITY_DESCRIPTOR sd = (PSECURITY_DESCRIPTOR)mem;
        CHECK(RtlCreateSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION) == STATUS_SUCCESS);
        uint8_t *aclmem = mem + 64;
        PACL acl = NULL;
        switch (i) {
        case 1:
            CHECK(RtlSetDaclSecurityDescriptor(sd, TRUE, NULL, FALSE) == STATUS_SUCCESS);
            break;
        case 2:
            acl = new_acl(aclmem, 64);
            break;
        case 3:
            acl = new_acl(aclmem, 128);
            CHECK(RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, system) == STATUS_SUCCESS);
            break;
        case 4:
            acl = new_acl(aclmem, 256);
            CHECK(RtlAddAccessDeniedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE,
                                          DELETE | WRITE_DAC, world) == STATUS_SUCCESS);
            CHECK(RtlAddAccessAllowedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE,
                                           GENERIC_READ | GENERIC_EXECUTE, world) == STATUS_SUCCESS);
            break;
        case 5:
            acl = new_acl(aclmem, 256);
            CHECK(RtlAddAccessAllowedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | 0x08,
                                           DIRECTORY_QUERY | DIRECTORY_TRAVERSE, world) == STATUS_SUCCESS);
            CHECK(RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, system) == STATUS_SUCCESS);
            break;
        case 6:
            ((uint8_t *)sd)[0] = 9; /* Revision */
            break;
        default:
            CHECK(RtlSetOwnerSecurityDescriptor(sd, world, FALSE) == STATUS_SUCCESS);
            acl = new_acl(aclmem, 128);
            CHECK(RtlAddAccessAllowedAce(acl, ACL_REVISION, READ_CONTROL | SYNCHRONIZE, world) == STATUS_SUCCESS);
            break;
        }
        if (acl != NULL)
            CHECK(RtlSetDaclSecurityDescriptor(sd, TRUE, acl, FALSE) == STATUS_SUCCESS);
        g_sd[i] = sd;
    }
    for (int i = 0; i < NSD; i++) {
        PSECURITY_DESCRIPTOR out = NULL;
        g_sd_status[i] = SeCaptureSecurityDescriptor(g_sd[i], KernelMode, PagedPool, TRUE, &out);
        g_sd_assign_status[i] = g_sd_status[i];
        if (NT_SUCCESS(g_sd_status[i]) && out != NULL) {
            SECURITY_SUBJECT_CONTEXT subject;
            PSECURITY_DESCRIPTOR assigned = NULL;
            SeCaptureSubjectContext(&subject);
            g_sd_assign_status[i] = SeAssignSecurity(NULL, out, &assigned, TRUE, &subject,
                                                     &ObDirectoryObjectType->TypeInfo.GenericMapping, PagedPool);
            SeReleaseSubjectContext(&subject);
            if (NT_SUCCESS(g_sd_assign_status[i]))
                SeDeassignSecurity(&assigned);
        }
        if (NT_SUCCESS(g_sd_status[i]))
            SeReleaseSecurityDescriptor(out, KernelMode, TRUE);
    }
    CHECK(g_sd_status[6] != STATUS_SUCCESS);
}

static void boot_once(void)
{
    static int booted;
    if (booted)
        return;
    booted = 1;
    g_verbose = getenv("FUZZ_OB_VERBOSE") != NULL;
    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    host_boot(&config);

    g_type[MT_DIR] = ObDirectoryObjectType;
    g_type[MT_LINK] = ObSymbolicLinkObjectType;
    g_type[MT_EVENT] = ExEventObjectType;
    g_type[MT_PROCESS] = PsProcessType;
    g_type[MT_TYPE] = ObpTypeObjectType;
    for (int t = 0; t < MT_NTYPES; t++)
        CHECK(g_type[t] != NULL);
    g_tables[0] = PsInitialSystemProcess->ObjectTable;
    CHECK(g_tables[0] != NULL);
    CHECK(PsCreateProcessInternal(NULL, &g_procb) == STATUS_SUCCESS);
    g_tables[1] = g_procb->ObjectTable;
    CHECK(g_tables[1] != NULL);

    UNICODE_STRING rootname = {2, 2, (PWSTR)L"\\"};
    CHECK(ObReferenceObjectByName(&rootname, 0, NULL, 0, NULL, KernelMode, NULL, &g_root_ptr) == STATUS_SUCCESS);
    ObDereferenceObject(g_root_ptr);

    PVOID t;
    NTSTATUS st = ObReferenceObjectByHandle(NtCurrentThread(), 0, NULL, KernelMode, &t, NULL);
    if (NT_SUCCESS(st)) {
        ObDereferenceObject(t);
        g_thread_handle_valid = 1;
    } else {
        CHECK(st == STATUS_INVALID_HANDLE);
    }

    build_descriptors();

    /* Grow the handle table now: its pages are never freed while it lives, so
     * growth during an input would look like a pool leak. */
    static HANDLE many[PREGROW_HANDLES], inb[PREGROW_HANDLES];
    HANDLE hb;
    CHECK(ObOpenObjectByPointer(g_procb, 0, NULL, PROCESS_ALL_ACCESS, PsProcessType, KernelMode, &hb) ==
          STATUS_SUCCESS);
    for (int i = 0; i < PREGROW_HANDLES; i++) {
        CHECK(ObOpenObjectByPointer(g_root_ptr, 0, NULL, 0, NULL, KernelMode, &many[i]) == STATUS_SUCCESS);
        CHECK(ZwDuplicateObject(NtCurrentProcess(), many[i], hb, &inb[i], 0, 0, DUPLICATE_SAME_ACCESS) ==
              STATUS_SUCCESS);
    }
    for (int i = 0; i < PREGROW_HANDLES; i++) {
        CHECK(ZwClose(many[i]) == STATUS_SUCCESS);
        CHECK(ZwDuplicateObject(hb, inb[i], NULL, NULL, 0, 0, DUPLICATE_CLOSE_SOURCE) == STATUS_SUCCESS);
    }
    CHECK(ZwClose(hb) == STATUS_SUCCESS);

    /* The names in "\" at boot. */
    HANDLE rh;
    CHECK(ObOpenObjectByPointer(g_root_ptr, 0, NULL, DIRECTORY_QUERY, NULL, KernelMode, &rh) == STATUS_SUCCESS);
    ULONG ctx = 0, ret;
    static uint8_t buf[1 << 16];
    BOOLEAN restart = TRUE;
    for (;;) {
        st = ZwQueryDirectoryObject(rh, buf, sizeof(buf), FALSE, restart, &ctx, &ret);
        restart = FALSE;
        if (st == STATUS_NO_MORE_ENTRIES)
            break;
        CHECK(st == STATUS_SUCCESS || st == STATUS_MORE_ENTRIES);
        POBJECT_DIRECTORY_INFORMATION info = (POBJECT_DIRECTORY_INFORMATION)buf;
        for (ULONG k = 0; info[k].Name.Buffer != NULL; k++) {
            CHECK(g_nforeign < (int)(sizeof(g_foreign) / sizeof(g_foreign[0])));
            fentry *f = &g_foreign[g_nforeign++];
            f->len = info[k].Name.Length / 2;
            f->name = wdup(info[k].Name.Buffer, f->len);
            f->type_len = info[k].TypeName.Length / 2;
            f->type = wdup(info[k].TypeName.Buffer, f->type_len);
            CHECK(!name_eq(f->name, f->len, k_fuzzroot, 8, 1));
        }
        if (st == STATUS_SUCCESS)
            break;
    }
    CHECK(ZwClose(rh) == STATUS_SUCCESS);
}

static void reset_model(void)
{
    for (int s = 0; s < MAX_OBJS; s++) {
        free(g_obj[s].name);
        free(g_obj[s].target);
    }
    memset(g_obj, 0, sizeof(g_obj));
    for (int s = 0; s < MAX_OBJS; s++)
        g_obj[s].parent = -1;
    memset(g_h, 0, sizeof(g_h));
    g_nhandles = 0;
    g_seq = 0;
    g_nclosed = 0;
    g_trace_len = 0;
    g_trace[0] = 0;

    mobj *root = &g_obj[SLOT_ROOT];
    root->used = root->alive = root->foreign = 1;
    root->type = MT_DIR;
    root->ptr = g_root_ptr;
    root->permanent = 1;
    mobj *proc = &g_obj[SLOT_PROCESS];
    proc->used = proc->alive = proc->foreign = 1;
    proc->type = MT_PROCESS;
    proc->ptr = PsInitialSystemProcess;
    mobj *procb = &g_obj[SLOT_PROCB];
    procb->used = procb->alive = procb->foreign = 1;
    procb->type = MT_PROCESS;
    procb->ptr = g_procb;
}

/* Closes everything, makes every permanent object temporary and checks that
 * all of it is gone. */
static void teardown(ULONG pool_tags_before)
{
    trace("teardown");
    /* Handles in process B go through a process handle of the teardown's own. */
    HANDLE hb;
    CHECK(ObOpenObjectByPointer(g_procb, 0, NULL, PROCESS_DUP_HANDLE, PsProcessType, KernelMode, &hb) ==
          STATUS_SUCCESS);
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (!g_h[i].used || g_h[i].table != 1)
            continue;
        NTSTATUS st = ZwDuplicateObject(hb, g_h[i].value, NULL, NULL, 0, 0, DUPLICATE_CLOSE_SOURCE);
        EXPECT_ST(st, STATUS_SUCCESS, "teardown close in process B");
        g_h[i].used = 0; /* not through model_close_handle: the names go below */
        g_nhandles--;
        g_obj[g_h[i].obj].handles--;
    }
    CHECK(ZwClose(hb) == STATUS_SUCCESS);
    for (int s2 = FIRST_SLOT; s2 < MAX_OBJS; s2++)
        if (g_obj[s2].used && g_obj[s2].alive)
            model_name_check(s2);
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (!g_h[i].used)
            continue;
        if (g_h[i].protect) {
            OBJECT_HANDLE_FLAG_INFORMATION f = {FALSE, FALSE};
            NTSTATUS st = ZwSetInformationObject(g_h[i].value, ObjectHandleFlagInformation, &f, sizeof(f));
            EXPECT_ST(st, STATUS_SUCCESS, "unprotect");
            g_h[i].protect = 0;
        }
        NTSTATUS st = ZwClose(g_h[i].value);
        EXPECT_ST(st, STATUS_SUCCESS, "teardown close");
        model_close_handle(i);
    }
    check_state();
    for (;;) {
        int s;
        for (s = FIRST_SLOT; s < MAX_OBJS; s++)
            if (g_obj[s].used && g_obj[s].alive && g_obj[s].permanent)
                break;
        if (s == MAX_OBJS)
            break;
        trace("ObMakeTemporaryObject slot %d (%s %s)", s, k_type_names[g_obj[s].type],
              show(g_obj[s].name, g_obj[s].name_len));
        ObMakeTemporaryObject(g_obj[s].ptr);
        g_obj[s].permanent = 0;
        model_name_check(s);
        check_state();
    }
    for (int s = FIRST_SLOT; s < MAX_OBJS; s++)
        EXPECT(!(g_obj[s].used && g_obj[s].alive), "slot %d (%s %s) still alive after teardown", s,
               k_type_names[g_obj[s].type], show(g_obj[s].name, g_obj[s].name_len));
    for (int t = 0; t < MT_NTYPES; t++) {
        EXPECT(g_type[t]->TotalNumberOfObjects == g_base_objects[t], "%s objects %u, before %u", k_type_names[t],
               (unsigned)g_type[t]->TotalNumberOfObjects, (unsigned)g_base_objects[t]);
        EXPECT(g_type[t]->TotalNumberOfHandles == g_base_handles[t], "%s handles %u, before %u", k_type_names[t],
               (unsigned)g_type[t]->TotalNumberOfHandles, (unsigned)g_base_handles[t]);
    }
    for (int t = 0; t < NTABLES; t++)
        EXPECT(g_tables[t]->HandleCount == g_base_table_handles[t], "table %d handles %d, before %d", t,
               (int)g_tables[t]->HandleCount, (int)g_base_table_handles[t]);
    check_pool(pool_tags_before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    boot_once();
    reset_model();
    ULONG pool_tags = pool_snapshot(g_pool_before);
    for (int t = 0; t < MT_NTYPES; t++) {
        g_base_objects[t] = g_type[t]->TotalNumberOfObjects;
        g_base_handles[t] = g_type[t]->TotalNumberOfHandles;
    }
    for (int t = 0; t < NTABLES; t++) {
        g_base_table_handles[t] = g_tables[t]->HandleCount;
        g_nforeign_idx[t] = 0;
        ExEnumHandleTable(g_tables[t], collect_foreign_idx, (PVOID)(intptr_t)t);
    }

    /* \FuzzRoot: a temporary directory whose handle the input may close like any other. */
    static const WCHAR rootpath[] = {'\\', 'F', 'u', 'z', 'z', 'R', 'o', 'o', 't'};
    UNICODE_STRING name = {sizeof(rootpath), sizeof(rootpath), (PWSTR)rootpath};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, NULL, NULL);
    HANDLE h;
    NTSTATUS st = ZwCreateDirectoryObject(&h, DIRECTORY_ALL_ACCESS, &oa);
    EXPECT_ST(st, STATUS_SUCCESS, "create \\FuzzRoot");
    mobj *fr = &g_obj[FIRST_SLOT];
    fr->used = fr->alive = 1;
    fr->type = MT_DIR;
    fr->parent = SLOT_ROOT;
    fr->in_ns = 1;
    fr->seq = ++g_seq;
    fr->name = wdup(rootpath + 1, 8);
    fr->name_len = 8;
    fr->ptr = pointer_of(h);
    model_add_handle(FIRST_SLOT, h, 0, DIRECTORY_ALL_ACCESS, 0);
    trace("setup: \\FuzzRoot handle %p", h);
    st = ObOpenObjectByPointer(g_procb, 0, NULL, PROCESS_ALL_ACCESS, PsProcessType, KernelMode, &h);
    EXPECT_ST(st, STATUS_SUCCESS, "open process B");
    model_add_handle(SLOT_PROCB, h, 0, PROCESS_ALL_ACCESS, 0);
    trace("setup: process B handle %p", h);
    check_state();

    reader r = {data, size};
    for (unsigned ops = 0; r.n > 0 && ops < MAX_OPS; ops++) {
        k_ops[rd_u8(&r) % 16](&r);
        check_state();
    }
    teardown(pool_tags);
    return 0;
}
