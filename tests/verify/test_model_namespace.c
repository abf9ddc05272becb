/*
 * Model-based property test: the object directory namespace with symbolic
 * links (src/ob/obname.c, obdir.c, obopen.c, obcreate.c) against a small tree
 * model.
 *
 * Every run works below a private directory \ModelTest<k> (a fresh k per run,
 * so a failing run that could not clean up cannot disturb the next) and
 * removes everything it made before it returns. Operations: create a
 * directory, a named event or a symbolic link (ZwCreateDirectoryObject,
 * ZwCreateEvent, ZwCreateSymbolicLinkObject) with or without
 * OBJ_CASE_INSENSITIVE / OBJ_OPENIF / OBJ_PERMANENT, by an absolute name or
 * relative to an open directory handle; open by name (ZwOpenDirectoryObject,
 * ZwOpenEvent, ZwOpenSymbolicLinkObject, ObReferenceObjectByName with and
 * without OBJ_OPENLINK); close; ZwMakeTemporaryObject; ZwQuerySymbolicLinkObject
 * with short and long buffers; ZwQueryDirectoryObject whole-buffer and one
 * entry at a time. Names are 1-3 components from {a, A, b, c, C}, so names
 * differing only in case are common; link targets are absolute names below
 * the private directory (0-2 components), so chains and cycles are common.
 *
 * What the model predicts (documented NT behaviour):
 *  - A name is resolved one component at a time from the root (or the
 *    RootDirectory handle's directory). A missing intermediate component is
 *    STATUS_OBJECT_PATH_NOT_FOUND, a missing last one
 *    STATUS_OBJECT_NAME_NOT_FOUND (or, when creating, where the new name goes);
 *    an intermediate component that is not a directory or a link is
 *    STATUS_OBJECT_TYPE_MISMATCH; an empty component (a trailing '\') is
 *    STATUS_OBJECT_NAME_INVALID.
 *  - A symbolic link met as an intermediate component, or as the last one of
 *    an open without OBJ_OPENLINK, is replaced by its target and the name
 *    resolved again from the root; a create never follows a link that is its
 *    last component, and ZwOpenSymbolicLinkObject opens the link itself. Too
 *    many reparses (a cycle) is STATUS_REPARSE_POINT_NOT_RESOLVED (Win32's
 *    ERROR_CANT_RESOLVE_FILENAME); the model uses ntos's bound of 32 (NT's
 *    exact count is not documented; the model's chains are either short or
 *    cycles).
 *  - Components compare exactly, or case-insensitively when the caller passes
 *    OBJ_CASE_INSENSITIVE or the entry's type is case-insensitive: directories
 *    and symbolic links are, events are not. When several events differing
 *    only in case match a case-insensitive lookup, which one is found is not
 *    defined: the model accepts any of them. A create that would put a
 *    directory or link next to a case variant (where lookups would become
 *    ambiguous in ways NT does not define) is not issued.
 *  - Creating an existing name: STATUS_OBJECT_NAME_COLLISION; with OBJ_OPENIF
 *    the existing object is opened (STATUS_OBJECT_NAME_EXISTS) if it has the
 *    type being created, else STATUS_OBJECT_TYPE_MISMATCH.
 *  - Open by type: a different type is STATUS_OBJECT_TYPE_MISMATCH.
 *  - A temporary named object leaves its directory when its last handle
 *    closes; an OBJ_PERMANENT one stays until ZwMakeTemporaryObject and its
 *    last handle. A directory that left the namespace keeps its entries
 *    (reachable through handles below it), as they keep it alive.
 *  - ZwQueryDirectoryObject lists exactly the directory's entries with their
 *    type names (in no particular order), then STATUS_NO_MORE_ENTRIES.
 *  - ZwQuerySymbolicLinkObject returns the target, or STATUS_BUFFER_TOO_SMALL
 *    with at least the needed length when MaximumLength is below it.
 * At the end of every run, every name the model says is reachable must
 * resolve to the model's object and every directory's listing must match.
 */
#include "ntos_test.h"
#include "model.h"
#include <ntos/ob.h>
#include <ntos/ex_objects.h>

#define MN_NODES 64
#define MN_SLOTS 24
#define MN_MAXCOMP 64 /* components of a name being resolved (links make names grow) */
#define MN_MAXREPARSE 32
#define MN_PATH 512

enum { MN_DIR, MN_EVENT, MN_LINK };

static const PCWSTR mn_names[5] = {L"a", L"A", L"b", L"c", L"C"};
#define MN_EMPTY 5 /* the empty component after a trailing '\' */
static const PCWSTR mn_type_names[3] = {L"Directory", L"Event", L"SymbolicLink"};

typedef struct {
    BOOLEAN Used, Linked, Permanent;
    UCHAR Type;
    UCHAR Name;    /* index into mn_names */
    LONG Parent;   /* node index, -1 for the run's root */
    ULONG Handles; /* handles the model holds */
    PVOID Object;  /* referenced by the model */
    UCHAR TargetCount, Target[2];
} mn_node;

typedef struct {
    LONG Node; /* -1: free */
    HANDLE Handle;
} mn_slot;

/* Node 0 is the run's root \ModelTest<k>. */
static mn_node mn_n[MN_NODES];
static mn_slot mn_s[MN_SLOTS];
static ULONG mn_run_counter;
static WCHAR mn_root_name[32]; /* "\ModelTest<k>" */
static ULONG mn_root_len;

enum { MN_MKDIR, MN_MKEVENT, MN_MKLINK, MN_OPEN, MN_CLOSE, MN_MAKETEMP, MN_QUERYLINK, MN_QUERYDIR, MN_KINDS };

/* ---- the model's name resolution ----------------------------------------------------------- */

static WCHAR mn_up(WCHAR c)
{
    return (c >= L'a' && c <= L'z') ? (WCHAR)(c - 32) : c;
}

/* Does entry n match component c (names are single letters here)? */
static BOOLEAN mn_matches(const mn_node *n, UCHAR c, BOOLEAN ci)
{
    WCHAR x = mn_names[n->Name][0], y = mn_names[c][0];
    if (x == y)
        return TRUE;
    return (ci || n->Type != MN_EVENT) && mn_up(x) == mn_up(y);
}

/* The linked children of d matching c; returns how many (indices in out[]). */
static ULONG mn_lookup(LONG d, UCHAR c, BOOLEAN ci, LONG out[MN_NODES])
{
    ULONG k = 0;
    for (LONG i = 1; i < MN_NODES; i++)
        if (mn_n[i].Used && mn_n[i].Linked && mn_n[i].Parent == d && mn_matches(&mn_n[i], c, ci))
            out[k++] = i;
    return k;
}

typedef struct {
    NTSTATUS Status;     /* STATUS_SUCCESS: found (Cands); STATUS_OBJECT_NAME_NOT_FOUND with Creating: insert */
    LONG Cands[MN_NODES];
    ULONG CandCount;
    LONG Dir;            /* where an insert goes */
    UCHAR Name;          /* the new name's component */
    BOOLEAN Insert;
} mn_result;

/*
 * Resolves comps[0..n) from directory `start` the way the model says NT does.
 * Creating: the last component is not followed if it is a link, and a missing
 * last component means "insert here".
 */
static void mn_resolve(LONG start, const UCHAR *comps0, ULONG n0, BOOLEAN ci, BOOLEAN openlink, BOOLEAN creating,
                       mn_result *r)
{
    UCHAR comps[MN_MAXCOMP];
    ULONG n = n0;
    for (ULONG i = 0; i < n; i++)
        comps[i] = comps0[i];
    ULONG reparses = 0;
    LONG cur = start;
    r->Insert = FALSE;
    r->CandCount = 0;
restart:
    if (n == 0) {
        /* A link to the private root itself, with nothing after it. */
        r->Cands[0] = 0;
        r->CandCount = 1;
        r->Status = creating ? STATUS_OBJECT_NAME_COLLISION : STATUS_SUCCESS;
        return;
    }
    for (ULONG j = 0; j < n; j++) {
        LONG cands[MN_NODES];
        if (comps[j] == MN_EMPTY) {
            r->Status = STATUS_OBJECT_NAME_INVALID; /* a trailing '\' is an empty last component */
            return;
        }
        ULONG k = mn_lookup(cur, comps[j], ci, cands);
        BOOLEAN last = j + 1 == n;
        if (k == 0) {
            if (!last) {
                r->Status = STATUS_OBJECT_PATH_NOT_FOUND;
            } else if (creating) {
                r->Status = STATUS_SUCCESS;
                r->Insert = TRUE;
                r->Dir = cur;
                r->Name = comps[j];
            } else {
                r->Status = STATUS_OBJECT_NAME_NOT_FOUND;
            }
            return;
        }
        /* Only events can share a case-folded name (see the top). */
        const mn_node *first = &mn_n[cands[0]];
        if (first->Type == MN_LINK && (!last || (!openlink && !creating))) {
            if (++reparses > MN_MAXREPARSE) {
                r->Status = STATUS_REPARSE_POINT_NOT_RESOLVED;
                return;
            }
            UCHAR next[MN_MAXCOMP];
            ULONG m = 0;
            for (ULONG t = 0; t < first->TargetCount; t++)
                next[m++] = first->Target[t];
            for (ULONG t = j + 1; t < n && m < MN_MAXCOMP; t++)
                next[m++] = comps[t];
            for (ULONG t = 0; t < m; t++)
                comps[t] = next[t];
            n = m;
            cur = 0;
            goto restart;
        }
        if (last) {
            for (ULONG t = 0; t < k; t++)
                r->Cands[t] = cands[t];
            r->CandCount = k;
            r->Status = creating ? STATUS_OBJECT_NAME_COLLISION : STATUS_SUCCESS;
            return;
        }
        if (first->Type != MN_DIR) {
            r->Status = STATUS_OBJECT_TYPE_MISMATCH;
            return;
        }
        cur = cands[0];
    }
}

/* ---- names as strings ------------------------------------------------------------------------ */

/* Decodes an op's name: 1-3 components, sometimes with a trailing '\'. */
static ULONG mn_decode_path(ULONG a, UCHAR comps[4], BOOLEAN *trailing)
{
    ULONG d = a % 8; /* depth 1 half the time, 2 or 3 otherwise */
    ULONG n = d < 4 ? 1 : (d < 7 ? 2 : 3);
    a /= 8;
    for (ULONG i = 0; i < n; i++) {
        comps[i] = (UCHAR)(a % 5);
        a /= 5;
    }
    *trailing = (a % 16) == 15;
    comps[n] = MN_EMPTY;
    return n;
}

/* Appends "\x" for each component; returns the new length in WCHARs. */
static ULONG mn_append(PWSTR buf, ULONG len, const UCHAR *comps, ULONG n, BOOLEAN leading)
{
    for (ULONG i = 0; i < n; i++) {
        if (leading || i > 0)
            buf[len++] = L'\\';
        buf[len++] = mn_names[comps[i]][0];
    }
    return len;
}

static void mn_us(UNICODE_STRING *us, PWSTR buf, ULONG len)
{
    buf[len] = 0;
    us->Buffer = buf;
    us->Length = (USHORT)(len * sizeof(WCHAR));
    us->MaximumLength = (USHORT)(us->Length + sizeof(WCHAR));
}

/* ---- slots and nodes ------------------------------------------------------------------------- */

static LONG mn_free_slot(void)
{
    for (LONG i = 0; i < MN_SLOTS; i++)
        if (mn_s[i].Node < 0)
            return i;
    return -1;
}

static LONG mn_free_node(void)
{
    for (LONG i = 1; i < MN_NODES; i++)
        if (!mn_n[i].Used)
            return i;
    return -1;
}

/* A directory handle for a relative name: the first directory slot at or after s, or -1. */
static LONG mn_dir_slot(ULONG s)
{
    for (ULONG k = 0; k < MN_SLOTS; k++) {
        ULONG i = (s + k) % MN_SLOTS;
        if (mn_s[i].Node >= 0 && mn_n[mn_s[i].Node].Type == MN_DIR)
            return (LONG)i;
    }
    return -1;
}

/* The slot an op names: s, or the next one in use. */
static LONG mn_used_slot(ULONG s)
{
    for (ULONG k = 0; k < MN_SLOTS; k++) {
        ULONG i = (s + k) % MN_SLOTS;
        if (mn_s[i].Node >= 0)
            return (LONG)i;
    }
    return -1;
}

static PVOID mn_object_of(HANDLE h)
{
    PVOID o = NULL;
    if (!NT_SUCCESS(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &o, NULL)))
        return NULL;
    ObDereferenceObject(o);
    return o;
}

/* The model's side of a handle going away. */
static void mn_drop_handle(LONG node)
{
    mn_node *n = &mn_n[node];
    if (--n->Handles == 0 && !n->Permanent && node != 0)
        n->Linked = FALSE;
}

#define MN_FAIL(...)                                                                                                \
    do {                                                                                                            \
        model_say(why, whysize, __VA_ARGS__);                                                                       \
        return FALSE;                                                                                               \
    } while (0)

static const char *mn_status_name(NTSTATUS s)
{
    switch (s) {
    case STATUS_SUCCESS: return "SUCCESS";
    case STATUS_OBJECT_NAME_EXISTS: return "NAME_EXISTS";
    case STATUS_OBJECT_NAME_COLLISION: return "NAME_COLLISION";
    case STATUS_OBJECT_NAME_NOT_FOUND: return "NAME_NOT_FOUND";
    case STATUS_OBJECT_PATH_NOT_FOUND: return "PATH_NOT_FOUND";
    case STATUS_OBJECT_TYPE_MISMATCH: return "TYPE_MISMATCH";
    case STATUS_OBJECT_NAME_INVALID: return "NAME_INVALID";
    case STATUS_REPARSE_POINT_NOT_RESOLVED: return "REPARSE_POINT_NOT_RESOLVED";
    case STATUS_BUFFER_TOO_SMALL: return "BUFFER_TOO_SMALL";
    case STATUS_NO_MORE_ENTRIES: return "NO_MORE_ENTRIES";
    default: return "other";
    }
}

/* Builds the name and attributes an op uses; returns FALSE if the op cannot run now. */
typedef struct {
    UCHAR Comps[4];
    ULONG N;
    BOOLEAN Trailing;
    LONG RootSlot; /* -1: absolute */
    ULONG Attributes;
    WCHAR Buf[MN_PATH];
    UNICODE_STRING Name;
    OBJECT_ATTRIBUTES Oa;
} mn_name;

static void mn_make_name(const model_op *op, ULONG attrs, mn_name *nm)
{
    nm->N = mn_decode_path(op->A, nm->Comps, &nm->Trailing);
    nm->RootSlot = (op->C & 8) ? mn_dir_slot(op->C >> 8) : -1;
    ULONG len = 0;
    if (nm->RootSlot < 0) {
        for (ULONG i = 0; i < mn_root_len; i++)
            nm->Buf[len++] = mn_root_name[i];
    }
    len = mn_append(nm->Buf, len, nm->Comps, nm->N, nm->RootSlot < 0);
    if (nm->Trailing)
        nm->Buf[len++] = L'\\';
    mn_us(&nm->Name, nm->Buf, len);
    nm->Attributes = attrs | OBJ_KERNEL_HANDLE;
    InitializeObjectAttributes(&nm->Oa, &nm->Name, nm->Attributes, nm->RootSlot >= 0 ? mn_s[nm->RootSlot].Handle : NULL,
                               NULL);
}

static LONG mn_start_dir(const mn_name *nm)
{
    return nm->RootSlot >= 0 ? mn_s[nm->RootSlot].Node : 0;
}

static BOOLEAN mn_in(const mn_result *r, PVOID o, LONG *node)
{
    for (ULONG i = 0; i < r->CandCount; i++)
        if (mn_n[r->Cands[i]].Object == o) {
            *node = r->Cands[i];
            return TRUE;
        }
    return FALSE;
}

/* ---- the operations ----------------------------------------------------------------------------- */

static BOOLEAN mn_create(const model_op *op, char *why, ULONG whysize)
{
    UCHAR type = op->Kind == MN_MKDIR ? MN_DIR : (op->Kind == MN_MKEVENT ? MN_EVENT : MN_LINK);
    ULONG attrs = ((op->C & 1) ? OBJ_CASE_INSENSITIVE : 0) | ((op->C & 2) ? OBJ_OPENIF : 0) |
                  ((op->C & 4) ? OBJ_PERMANENT : 0);
    LONG slot = mn_free_slot();
    LONG fresh = mn_free_node();
    if (slot < 0 || fresh < 0)
        return TRUE;
    static mn_name nm;
    mn_make_name(op, attrs, &nm);
    mn_result r;
    NTSTATUS want;
    {
        mn_resolve(mn_start_dir(&nm), nm.Comps, nm.N + nm.Trailing, (attrs & OBJ_CASE_INSENSITIVE) != 0, FALSE, TRUE,
                   &r);
        want = r.Status;
        if (r.Insert) {
            /* A directory or link next to a case variant: not issued (see the top). */
            if (type != MN_EVENT) {
                for (LONG i = 1; i < MN_NODES; i++)
                    if (mn_n[i].Used && mn_n[i].Linked && mn_n[i].Parent == r.Dir &&
                        mn_up(mn_names[mn_n[i].Name][0]) == mn_up(mn_names[r.Name][0]))
                        return TRUE;
            }
        } else if (want == STATUS_OBJECT_NAME_COLLISION && (attrs & OBJ_OPENIF)) {
            BOOLEAN same = TRUE;
            for (ULONG i = 0; i < r.CandCount; i++)
                same = same && mn_n[r.Cands[i]].Type == type;
            want = same ? STATUS_OBJECT_NAME_EXISTS : STATUS_OBJECT_TYPE_MISMATCH;
        }
    }
    HANDLE h = NULL;
    NTSTATUS got;
    UCHAR targetComps[2] = {0, 0};
    UCHAR targetCount = (UCHAR)(op->B % 3);
    if (type == MN_DIR) {
        got = ZwCreateDirectoryObject(&h, DIRECTORY_ALL_ACCESS, &nm.Oa);
    } else if (type == MN_EVENT) {
        got = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &nm.Oa, NotificationEvent, FALSE);
    } else {
        ULONG b = op->B / 3;
        for (ULONG i = 0; i < targetCount; i++) {
            targetComps[i] = (UCHAR)(b % 5);
            b /= 5;
        }
        WCHAR tbuf[64];
        ULONG tlen = 0;
        for (ULONG i = 0; i < mn_root_len; i++)
            tbuf[tlen++] = mn_root_name[i];
        tlen = mn_append(tbuf, tlen, targetComps, targetCount, TRUE);
        UNICODE_STRING target;
        mn_us(&target, tbuf, tlen);
        got = ZwCreateSymbolicLinkObject(&h, SYMBOLIC_LINK_ALL_ACCESS, &nm.Oa, &target);
    }
    if (got != want) {
        if (NT_SUCCESS(got))
            ZwClose(h);
        MN_FAIL("create %ls %ls: %s (%08x), model %s", mn_type_names[type], nm.Buf, mn_status_name(got), got,
                mn_status_name(want));
    }
    if (!NT_SUCCESS(got))
        return TRUE;
    PVOID o = mn_object_of(h);
    LONG node;
    if (want == STATUS_OBJECT_NAME_EXISTS) {
        if (!mn_in(&r, o, &node)) {
            ZwClose(h);
            MN_FAIL("create %ls %ls with OBJ_OPENIF opened object %p, not the existing one", mn_type_names[type],
                    nm.Buf, o);
        }
    } else {
        node = fresh;
        mn_node *n = &mn_n[node];
        RtlZeroMemory(n, sizeof(*n));
        n->Used = n->Linked = TRUE;
        n->Permanent = (attrs & OBJ_PERMANENT) != 0;
        n->Type = type;
        n->Name = r.Name;
        n->Parent = r.Dir;
        n->TargetCount = type == MN_LINK ? targetCount : 0;
        for (ULONG i = 0; i < n->TargetCount; i++)
            n->Target[i] = targetComps[i];
        ObReferenceObject(o);
        n->Object = o;
    }
    mn_n[node].Handles++;
    mn_s[slot].Node = node;
    mn_s[slot].Handle = h;
    return TRUE;
}

static BOOLEAN mn_open(const model_op *op, char *why, ULONG whysize)
{
    ULONG how = (op->C >> 4) % 5; /* dir, event, link, by name, by name + OBJ_OPENLINK */
    ULONG attrs = ((op->C & 1) ? OBJ_CASE_INSENSITIVE : 0) | (how == 4 ? OBJ_OPENLINK : 0);
    LONG slot = mn_free_slot();
    if (slot < 0 && how < 3)
        return TRUE;
    static mn_name nm;
    mn_make_name(op, attrs, &nm);
    mn_result r;
    NTSTATUS want;
    r.CandCount = 0;
    {
        /* ZwOpenSymbolicLinkObject opens the link itself. */
        mn_resolve(mn_start_dir(&nm), nm.Comps, nm.N + nm.Trailing, (attrs & OBJ_CASE_INSENSITIVE) != 0,
                   how == 2 || how == 4, FALSE, &r);
        want = r.Status;
        if (want == STATUS_SUCCESS && how < 3) {
            UCHAR wantType = (UCHAR)how;
            BOOLEAN any = FALSE;
            for (ULONG i = 0; i < r.CandCount; i++)
                any = any || mn_n[r.Cands[i]].Type == wantType;
            if (!any)
                want = STATUS_OBJECT_TYPE_MISMATCH;
        }
    }
    HANDLE h = NULL;
    PVOID o = NULL;
    NTSTATUS got;
    switch (how) {
    case 0: got = ZwOpenDirectoryObject(&h, DIRECTORY_QUERY | DIRECTORY_TRAVERSE, &nm.Oa); break;
    case 1: got = ZwOpenEvent(&h, EVENT_ALL_ACCESS, &nm.Oa); break;
    case 2: got = ZwOpenSymbolicLinkObject(&h, SYMBOLIC_LINK_QUERY, &nm.Oa); break;
    default:
        if (nm.RootSlot >= 0)
            return TRUE; /* ObReferenceObjectByName takes no root directory */
        got = ObReferenceObjectByName(&nm.Name, attrs, NULL, 0, NULL, KernelMode, NULL, &o);
        break;
    }
    static const char *const hows[5] = {"ZwOpenDirectoryObject", "ZwOpenEvent", "ZwOpenSymbolicLinkObject",
                                        "ObReferenceObjectByName", "ObReferenceObjectByName(OPENLINK)"};
    if (got != want) {
        if (NT_SUCCESS(got)) {
            if (how < 3)
                ZwClose(h);
            else
                ObDereferenceObject(o);
        }
        MN_FAIL("%s(%ls%s): %s (%08x), model %s", hows[how], nm.Buf, (attrs & OBJ_CASE_INSENSITIVE) ? ", ci" : "",
                mn_status_name(got), got, mn_status_name(want));
    }
    if (!NT_SUCCESS(got))
        return TRUE;
    if (how < 3)
        o = mn_object_of(h);
    else
        ObDereferenceObject(o);
    LONG node;
    if (!mn_in(&r, o, &node)) {
        if (how < 3)
            ZwClose(h);
        MN_FAIL("%s(%ls) found object %p, model node %d (%p)%s", hows[how], nm.Buf, o, r.Cands[0],
                mn_n[r.Cands[0]].Object, r.CandCount > 1 ? " or a case variant" : "");
    }
    if (how < 3 && mn_n[node].Type != how) {
        ZwClose(h);
        MN_FAIL("%s(%ls) opened a %ls", hows[how], nm.Buf, mn_type_names[mn_n[node].Type]);
    }
    if (how < 3) {
        mn_n[node].Handles++;
        mn_s[slot].Node = node;
        mn_s[slot].Handle = h;
    }
    return TRUE;
}

/* Looks a node's exact name up (OBJ_OPENLINK) and compares with the model: after a
 * close or ZwMakeTemporaryObject a temporary name must be gone at once. */
static BOOLEAN mn_probe_node(LONG node, char *why, ULONG whysize)
{
    UCHAR rev[MN_MAXCOMP], comps[MN_MAXCOMP];
    ULONG k = 0;
    for (LONG i = node; i != 0; i = mn_n[i].Parent) {
        if (k >= MN_MAXCOMP || mn_n[i].Parent < 0)
            return TRUE;
        rev[k++] = mn_n[i].Name;
    }
    for (ULONG t = 0; t < k; t++)
        comps[t] = rev[k - 1 - t];
    mn_result r;
    mn_resolve(0, comps, k, FALSE, TRUE, FALSE, &r);
    WCHAR buf[MN_PATH];
    ULONG len = 0;
    for (ULONG t = 0; t < mn_root_len; t++)
        buf[len++] = mn_root_name[t];
    len = mn_append(buf, len, comps, k, TRUE);
    UNICODE_STRING us;
    mn_us(&us, buf, len);
    PVOID o = NULL;
    NTSTATUS got = ObReferenceObjectByName(&us, OBJ_OPENLINK, NULL, 0, NULL, KernelMode, NULL, &o);
    if (NT_SUCCESS(got))
        ObDereferenceObject(o);
    LONG found;
    if (got != r.Status || (NT_SUCCESS(got) && !mn_in(&r, o, &found)))
        MN_FAIL("after the last handle: %ls is %s (%08x), model %s", buf, mn_status_name(got), got,
                mn_status_name(r.Status));
    return TRUE;
}

static BOOLEAN mn_close(const model_op *op, char *why, ULONG whysize)
{
    LONG slot = mn_used_slot(op->A);
    if (slot < 0)
        return TRUE;
    NTSTATUS got = ZwClose(mn_s[slot].Handle);
    if (got != STATUS_SUCCESS)
        MN_FAIL("ZwClose(slot %d) returned %08x", slot, got);
    LONG node = mn_s[slot].Node;
    mn_s[slot].Node = -1;
    mn_drop_handle(node);
    return mn_probe_node(node, why, whysize);
}

static BOOLEAN mn_maketemp(const model_op *op, char *why, ULONG whysize)
{
    LONG slot = mn_used_slot(op->A);
    if (slot < 0)
        return TRUE;
    LONG node = mn_s[slot].Node;
    if (node == 0)
        return TRUE; /* the private root is temporary already and stays until the run ends */
    NTSTATUS got = ZwMakeTemporaryObject(mn_s[slot].Handle);
    if (got != STATUS_SUCCESS)
        MN_FAIL("ZwMakeTemporaryObject(slot %d) returned %08x", slot, got);
    mn_n[node].Permanent = FALSE;
    return mn_probe_node(node, why, whysize);
}

static BOOLEAN mn_querylink(const model_op *op, char *why, ULONG whysize)
{
    LONG slot = mn_used_slot(op->A);
    if (slot < 0)
        return TRUE;
    const mn_node *n = &mn_n[mn_s[slot].Node];
    WCHAR want[64];
    ULONG wlen = 0;
    for (ULONG i = 0; i < mn_root_len; i++)
        want[wlen++] = mn_root_name[i];
    wlen = mn_append(want, wlen, n->Target, n->TargetCount, TRUE);
    USHORT wbytes = (USHORT)(wlen * sizeof(WCHAR));
    /* MaximumLength just below, exactly at, just above, or well above the target's length. */
    static const LONG deltas[4] = {-2, 0, 2, 40};
    LONG max = (LONG)wbytes + deltas[op->B % 4];
    WCHAR buf[128];
    RtlFillMemory(buf, sizeof(buf), 0xCD);
    UNICODE_STRING us = {0, (USHORT)max, buf};
    ULONG ret = 0;
    NTSTATUS got = ZwQuerySymbolicLinkObject(mn_s[slot].Handle, &us, &ret);
    if (n->Type != MN_LINK) {
        if (got != STATUS_OBJECT_TYPE_MISMATCH)
            MN_FAIL("ZwQuerySymbolicLinkObject on a %ls returned %08x", mn_type_names[n->Type], got);
        return TRUE;
    }
    if (max < (LONG)wbytes) {
        if (got != STATUS_BUFFER_TOO_SMALL || ret < wbytes)
            MN_FAIL("ZwQuerySymbolicLinkObject(MaximumLength %ld < %u) returned %08x, needed %u", (long)max, wbytes,
                    got, ret);
        return TRUE;
    }
    if (got != STATUS_SUCCESS || us.Length != wbytes || RtlCompareMemory(buf, want, wbytes) != wbytes)
        MN_FAIL("ZwQuerySymbolicLinkObject(MaximumLength %ld): %08x, Length %u, model %u", (long)max, got, us.Length,
                wbytes);
    /* Nothing at or beyond MaximumLength. */
    for (ULONG k = (ULONG)max; k < sizeof(buf); k++)
        if (((PUCHAR)buf)[k] != 0xCD)
            MN_FAIL("ZwQuerySymbolicLinkObject wrote byte %u, beyond MaximumLength %ld", k, (long)max);
    return TRUE;
}

/* Lists directory d through handle h and compares with the model's entries. */
static BOOLEAN mn_check_listing(HANDLE h, LONG d, BOOLEAN single, char *why, ULONG whysize)
{
    static ULONG buffer[1024];
    BOOLEAN seen[MN_NODES];
    RtlZeroMemory(seen, sizeof(seen));
    ULONG context = 0, ret = 0, listed = 0;
    BOOLEAN restart = TRUE;
    for (;;) {
        NTSTATUS got = ZwQueryDirectoryObject(h, buffer, sizeof(buffer), single, restart, &context, &ret);
        restart = FALSE;
        if (got == STATUS_NO_MORE_ENTRIES)
            break;
        if (got != STATUS_SUCCESS && got != STATUS_MORE_ENTRIES)
            MN_FAIL("ZwQueryDirectoryObject(node %d) returned %08x", d, got);
        for (POBJECT_DIRECTORY_INFORMATION e = (POBJECT_DIRECTORY_INFORMATION)buffer; e->Name.Length != 0; e++) {
            LONG found = -1;
            for (LONG i = 1; i < MN_NODES && found < 0; i++) {
                const mn_node *n = &mn_n[i];
                if (n->Used && n->Linked && n->Parent == d && !seen[i] && e->Name.Length == sizeof(WCHAR) &&
                    e->Name.Buffer[0] == mn_names[n->Name][0])
                    found = i;
            }
            if (found < 0)
                MN_FAIL("directory node %d lists %.*ls, which the model does not have", d,
                        (int)(e->Name.Length / sizeof(WCHAR)), e->Name.Buffer);
            UNICODE_STRING tn;
            RtlInitUnicodeString(&tn, mn_type_names[mn_n[found].Type]);
            if (!RtlEqualUnicodeString(&tn, &e->TypeName, FALSE))
                MN_FAIL("directory node %d lists %ls as a %.*ls, model %ls", d, mn_names[mn_n[found].Name],
                        (int)(e->TypeName.Length / sizeof(WCHAR)), e->TypeName.Buffer, tn.Buffer);
            seen[found] = TRUE;
            listed++;
        }
        if (got == STATUS_SUCCESS && !single)
            break;
    }
    for (LONG i = 1; i < MN_NODES; i++)
        if (mn_n[i].Used && mn_n[i].Linked && mn_n[i].Parent == d && !seen[i])
            MN_FAIL("directory node %d does not list %ls (%ls); %u listed", d, mn_names[mn_n[i].Name],
                    mn_type_names[mn_n[i].Type], listed);
    return TRUE;
}

static BOOLEAN mn_querydir(const model_op *op, char *why, ULONG whysize)
{
    LONG slot = mn_used_slot(op->A);
    if (slot < 0)
        return TRUE;
    LONG node = mn_s[slot].Node;
    if (mn_n[node].Type != MN_DIR) {
        ULONG context = 0, ret;
        ULONG buf[64];
        NTSTATUS got = ZwQueryDirectoryObject(mn_s[slot].Handle, buf, sizeof(buf), FALSE, TRUE, &context, &ret);
        if (got != STATUS_OBJECT_TYPE_MISMATCH)
            MN_FAIL("ZwQueryDirectoryObject on a %ls returned %08x", mn_type_names[mn_n[node].Type], got);
        return TRUE;
    }
    return mn_check_listing(mn_s[slot].Handle, node, (op->B & 1) != 0, why, whysize);
}

static BOOLEAN mn_step(const model_op *op, char *why, ULONG whysize)
{
    switch (op->Kind) {
    case MN_MKDIR:
    case MN_MKEVENT:
    case MN_MKLINK: return mn_create(op, why, whysize);
    case MN_OPEN: return mn_open(op, why, whysize);
    case MN_CLOSE: return mn_close(op, why, whysize);
    case MN_MAKETEMP: return mn_maketemp(op, why, whysize);
    case MN_QUERYLINK: return mn_querylink(op, why, whysize);
    default: return mn_querydir(op, why, whysize);
    }
}

/* ---- whole-namespace check and cleanup ---------------------------------------------------------- */

/* Is node i reachable from the private root through linked directories? Fills its components. */
static BOOLEAN mn_path_of(LONG i, UCHAR *comps, ULONG *n)
{
    UCHAR rev[MN_NODES];
    ULONG k = 0;
    while (i != 0) {
        if (!mn_n[i].Linked || k >= MN_NODES)
            return FALSE;
        rev[k++] = mn_n[i].Name;
        i = mn_n[i].Parent;
    }
    for (ULONG t = 0; t < k; t++)
        comps[t] = rev[k - 1 - t];
    *n = k;
    return TRUE;
}

static BOOLEAN mn_final_check(char *why, ULONG whysize)
{
    for (LONG i = 0; i < MN_NODES; i++) {
        if (i != 0 && !mn_n[i].Used)
            continue;
        UCHAR comps[MN_NODES];
        ULONG n;
        if (!mn_path_of(i, comps, &n))
            continue;
        WCHAR buf[MN_PATH];
        ULONG len = 0;
        for (ULONG t = 0; t < mn_root_len; t++)
            buf[len++] = mn_root_name[t];
        len = mn_append(buf, len, comps, n, TRUE);
        UNICODE_STRING us;
        mn_us(&us, buf, len);
        PVOID o = NULL;
        NTSTATUS got = ObReferenceObjectByName(&us, OBJ_OPENLINK, NULL, 0, NULL, KernelMode, NULL, &o);
        if (NT_SUCCESS(got))
            ObDereferenceObject(o);
        if (got != STATUS_SUCCESS || o != mn_n[i].Object)
            MN_FAIL("final check: %ls: %08x object %p, model %p", buf, got, o, mn_n[i].Object);
        if (mn_n[i].Type == MN_DIR) {
            HANDLE h;
            OBJECT_ATTRIBUTES oa;
            InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
            if (ZwOpenDirectoryObject(&h, DIRECTORY_QUERY, &oa) != STATUS_SUCCESS)
                MN_FAIL("final check: cannot open directory %ls", buf);
            BOOLEAN ok = mn_check_listing(h, i, FALSE, why, whysize);
            ZwClose(h);
            if (!ok)
                return FALSE;
        }
    }
    return TRUE;
}

/* Closes every handle, makes every object temporary, drops the model's references. */
static void mn_cleanup(void)
{
    for (LONG s = 1; s < MN_SLOTS; s++) /* slot 0, the root's handle, stays for the final listing */
        if (mn_s[s].Node >= 0) {
            ZwClose(mn_s[s].Handle);
            mn_s[s].Node = -1;
        }
    for (LONG i = MN_NODES - 1; i >= 1; i--) {
        if (!mn_n[i].Used || mn_n[i].Object == NULL)
            continue;
        ObMakeTemporaryObject(mn_n[i].Object);
        ObDereferenceObject(mn_n[i].Object);
        mn_n[i].Object = NULL;
        mn_n[i].Used = FALSE;
    }
}

static ULONG mn_run(void *ctx, const model_op *ops, ULONG n, char *why, ULONG whysize)
{
    (void)ctx;
    RtlZeroMemory(mn_n, sizeof(mn_n));
    for (ULONG i = 0; i < MN_SLOTS; i++)
        mn_s[i].Node = -1;
    /* A fresh private root per run: "\ModelTest<k>". */
    mn_run_counter++;
    char ascii[32];
    model_say(ascii, sizeof(ascii), "\\ModelTest%u", mn_run_counter);
    mn_root_len = 0;
    while (ascii[mn_root_len] != 0) {
        mn_root_name[mn_root_len] = (WCHAR)ascii[mn_root_len];
        mn_root_len++;
    }
    mn_root_name[mn_root_len] = 0;
    UNICODE_STRING rootName;
    mn_us(&rootName, mn_root_name, mn_root_len);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &rootName, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE rootHandle;
    assert_int_equal(ZwCreateDirectoryObject(&rootHandle, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    mn_n[0].Used = mn_n[0].Linked = TRUE;
    mn_n[0].Type = MN_DIR;
    mn_n[0].Parent = -1;
    mn_n[0].Object = mn_object_of(rootHandle);
    ObReferenceObject(mn_n[0].Object);
    /* The root's handle is slot 0 for the whole run, so relative names always have a directory. */
    mn_s[0].Node = 0;
    mn_s[0].Handle = rootHandle;
    mn_n[0].Handles = 1;

    ULONG failed = 0;
    for (ULONG i = 0; i < n && !failed; i++) {
        const model_op *op = &ops[i];
        /* Slot 0 (the root's) is never closed by an op. */
        if (op->Kind == MN_CLOSE && mn_used_slot(op->A) == 0)
            continue;
        if (!mn_step(op, why, whysize))
            failed = i + 1;
    }
    if (!failed && !mn_final_check(why, whysize))
        failed = n;
    /* Everything below the root must go: after the cleanup the root lists nothing. */
    mn_cleanup();
    ULONG buf[64], context = 0, ret;
    NTSTATUS s = ZwQueryDirectoryObject(rootHandle, buf, sizeof(buf), FALSE, TRUE, &context, &ret);
    if (s != STATUS_NO_MORE_ENTRIES && !failed) {
        model_say(why, whysize, "after cleanup the private root still has entries (%08x)", s);
        failed = n;
    }
    ZwClose(rootHandle);
    mn_s[0].Node = -1;
    ObDereferenceObject(mn_n[0].Object);
    mn_n[0].Object = NULL;
    /* The temporary root leaves the namespace with its last handle. */
    PVOID o = NULL;
    if (NT_SUCCESS(ObReferenceObjectByName(&rootName, 0, NULL, 0, NULL, KernelMode, NULL, &o))) {
        ObDereferenceObject(o);
        if (!failed) {
            model_say(why, whysize, "after cleanup the temporary private root is still in the namespace");
            failed = n;
        }
    }
    return failed;
}

static void mn_describe(void *ctx, const model_op *op, char *text, ULONG size)
{
    (void)ctx;
    UCHAR comps[4];
    BOOLEAN trailing;
    ULONG n = mn_decode_path(op->A, comps, &trailing);
    WCHAR path[16];
    ULONG len = mn_append(path, 0, comps, n, FALSE);
    if (trailing)
        path[len++] = L'\\';
    path[len] = 0;
    const char *rel = (op->C & 8) ? "dirhandle\\" : "~\\";
    const char *ci = (op->C & 1) ? " ci" : "";
    switch (op->Kind) {
    case MN_MKDIR:
    case MN_MKEVENT:
    case MN_MKLINK: {
        WCHAR target[8];
        ULONG tl = 0, b = op->B / 3;
        for (ULONG i = 0; i < op->B % 3; i++) {
            target[tl++] = L'\\';
            target[tl++] = mn_names[b % 5][0];
            b /= 5;
        }
        target[tl] = 0;
        if (op->Kind == MN_MKLINK)
            model_say(text, size, "create link %s%ls -> ~%ls%s%s%s", rel, path, target, ci, (op->C & 2) ? " openif" : "",
                      (op->C & 4) ? " permanent" : "");
        else
            model_say(text, size, "create %s %s%ls%s%s%s", op->Kind == MN_MKDIR ? "directory" : "event", rel, path, ci,
                      (op->C & 2) ? " openif" : "", (op->C & 4) ? " permanent" : "");
        break;
    }
    case MN_OPEN: {
        static const char *const hows[5] = {"ZwOpenDirectoryObject", "ZwOpenEvent", "ZwOpenSymbolicLinkObject",
                                            "ObReferenceObjectByName", "ObReferenceObjectByName(OPENLINK)"};
        model_say(text, size, "%s(%s%ls%s)", hows[(op->C >> 4) % 5], rel, path, ci);
        break;
    }
    case MN_CLOSE: model_say(text, size, "ZwClose(slot %u or the next open one)", op->A % MN_SLOTS); break;
    case MN_MAKETEMP: model_say(text, size, "ZwMakeTemporaryObject(slot %u+)", op->A % MN_SLOTS); break;
    case MN_QUERYLINK: model_say(text, size, "ZwQuerySymbolicLinkObject(slot %u+, size choice %u)", op->A % MN_SLOTS, op->B % 4); break;
    default: model_say(text, size, "ZwQueryDirectoryObject(slot %u+%s)", op->A % MN_SLOTS, (op->B & 1) ? ", one at a time" : ""); break;
    }
}

#define MN_SEEDS 6
#define MN_OPS 1000

static model_op mn_ops[MN_OPS];

static void model_namespace_random_sequences(void **state)
{
    (void)state;
    model_spec spec = {"namespace", mn_run, mn_describe, NULL};
    for (uint64_t seed = 1; seed <= MN_SEEDS; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        /* A: name (8 x 5^3 x 16), B: link target, C: flags; slots come from A too. */
        model_generate(&rng, mn_ops, MN_OPS, 16, 8 * 125 * 16, 3 * 25, 1u << 12);
        /* Weights: creates 7/16 (directories most), opens 4/16, the rest 1-2/16 each. */
        static const UCHAR kinds[16] = {MN_MKDIR,  MN_MKDIR,  MN_MKDIR,    MN_MKEVENT,  MN_MKEVENT,   MN_MKLINK,
                                        MN_MKLINK, MN_OPEN,   MN_OPEN,     MN_OPEN,     MN_OPEN,      MN_CLOSE,
                                        MN_CLOSE,  MN_MAKETEMP, MN_QUERYLINK, MN_QUERYDIR};
        for (ULONG i = 0; i < MN_OPS; i++)
            mn_ops[i].Kind = kinds[mn_ops[i].Kind];
        model_check(&spec, seed, mn_ops, MN_OPS, NULL);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_namespace_random_sequences),
};

NTOS_TEST_GROUP(verify_model_namespace, tests, NULL, NULL);
