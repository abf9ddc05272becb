/*
 * Model-based property test: object handles (src/ob/obhandle.c over the
 * executive handle table, src/ex/handle.c) against a plain-array model.
 *
 * Each run creates a fresh process (PsCreateProcessInternal) and attaches to
 * it, so the process's handle table is private to the run and starts empty;
 * three unnamed events, created beforehand, are the objects. Handles are
 * opened (ObOpenObjectByPointer), duplicated (ZwDuplicateObject), looked up
 * (ObReferenceObjectByHandle in kernel and user mode, with and without the
 * expected type), flagged (ZwSetInformationObject), queried (ZwQueryObject)
 * and closed (ZwClose), including handles already closed, never issued, and
 * closed values that a later open reused. A burst op opens up to a hundred at
 * once so the table grows past its first 256-entry page and shrinks again.
 *
 * The model is an array of slots {value, object, granted access, inherit,
 * protect-from-close, kernel}; what it predicts (documented NT behaviour):
 *  - a new handle is nonzero with its low two bits clear; OBJ_KERNEL_HANDLE
 *    from a kernel-mode caller gives a kernel handle (KERNEL_HANDLE_MASK set,
 *    ObIsKernelHandle), otherwise a handle in the current process's table; a
 *    value is never that of another live handle of the same table; and the
 *    table reuses freed entries before it grows (a user handle's value never
 *    exceeds 4 x the most handles this table has held at once). Which freed
 *    value comes back first is not documented, so not predicted: the model
 *    follows the value the table hands out and from then on a stale copy of it
 *    names the new handle.
 *  - lookups of a value with no live handle fail with STATUS_INVALID_HANDLE,
 *    as does a kernel handle from UserMode; the low two bits of a value are
 *    ignored; the type is checked before the access (STATUS_OBJECT_TYPE_MISMATCH,
 *    then for UserMode STATUS_ACCESS_DENIED when the mapped desired access is
 *    not a subset of the handle's); HandleInformation reports the granted
 *    access and OBJ_INHERIT / OBJ_PROTECT_CLOSE.
 *  - kernel-mode opens are granted the desired access mapped through the event
 *    GENERIC_MAPPING (MAXIMUM_ALLOWED = all); ZwDuplicateObject grants the same
 *    (or the source's with DUPLICATE_SAME_ACCESS), takes OBJ_INHERIT from
 *    HandleAttributes (or from the source with DUPLICATE_SAME_ATTRIBUTES) and
 *    closes the source with DUPLICATE_CLOSE_SOURCE.
 *  - ZwClose of a protected handle fails with STATUS_HANDLE_NOT_CLOSABLE and
 *    leaves it open; every handle counts one HandleCount and one PointerCount
 *    on its object (checked after every operation).
 * Not predicted, because NT does not document it: whether
 * DUPLICATE_SAME_ATTRIBUTES also copies protect-from-close and kernel-ness
 * (the model takes both from what it gets), and whether DUPLICATE_CLOSE_SOURCE
 * overrides protect-from-close (never asked for on a protected source).
 */
#include "ntos_test.h"
#include "model.h"
#include <ntos/ob.h>
#include <ntos/ps.h>
#include <ntos/ex_objects.h>

#ifndef STATUS_HANDLE_NOT_CLOSABLE
#define STATUS_HANDLE_NOT_CLOSABLE ((NTSTATUS)0xC0000235L)
#endif

#define MH_OBJECTS 3
#define MH_SLOTS 600 /* more than two 256-entry leaf pages of the table */
#define MH_BURST 100

enum { MH_EMPTY, MH_LIVE, MH_STALE };

typedef struct {
    UCHAR State;
    BOOLEAN Inherit, Protect, Kernel;
    ULONG Object;
    ACCESS_MASK Granted;
    HANDLE Value;
} mh_slot;

static mh_slot mh_s[MH_SLOTS];
static PVOID mh_obj[MH_OBJECTS];
static ULONG mh_peak_user, mh_live_user;
/* Counts at the start of the run: 0 and 1 (our own reference), unless an
 * earlier failing run could not clean up (a seeded bug that breaks close). */
static LONG_PTR mh_base_handles[MH_OBJECTS], mh_base_pointers[MH_OBJECTS];

enum { MH_OPEN, MH_CLOSE, MH_REF, MH_SETFLAGS, MH_QUERY, MH_DUP, MH_BURSTOPEN, MH_BURSTCLOSE, MH_KINDS };

static const ACCESS_MASK mh_access[] = {
    0,
    EVENT_QUERY_STATE,
    EVENT_MODIFY_STATE,
    SYNCHRONIZE,
    SYNCHRONIZE | EVENT_QUERY_STATE,
    GENERIC_READ,
    GENERIC_WRITE,
    GENERIC_EXECUTE,
    GENERIC_ALL,
    MAXIMUM_ALLOWED,
    EVENT_ALL_ACCESS,
    DELETE | READ_CONTROL,
};
#define MH_ACCESS (sizeof(mh_access) / sizeof(mh_access[0]))

/* The event GENERIC_MAPPING (documented with the event access rights). */
static ACCESS_MASK mh_map(ACCESS_MASK a)
{
    ACCESS_MASK m = a & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    if (a & GENERIC_READ)
        m |= STANDARD_RIGHTS_READ | EVENT_QUERY_STATE;
    if (a & GENERIC_WRITE)
        m |= STANDARD_RIGHTS_WRITE | EVENT_MODIFY_STATE;
    if (a & GENERIC_EXECUTE)
        m |= STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE;
    if (a & (GENERIC_ALL | MAXIMUM_ALLOWED))
        m |= EVENT_ALL_ACCESS;
    return m;
}

static BOOLEAN mh_is_kernel_value(HANDLE h)
{
    return ((ULONG_PTR)h & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK;
}

/* The value a slot's operations use: its handle, or (never issued) a value far above the table. */
static HANDLE mh_value(ULONG slot)
{
    if (mh_s[slot].State != MH_EMPTY)
        return mh_s[slot].Value;
    return slot % 5 == 0 ? NULL : (HANDLE)(ULONG_PTR)(0x40000 + 4 * slot);
}

/* The live slot that a value names, or -1. Values compare without their low two bits. */
static LONG mh_find(HANDLE h)
{
    if (h == NULL)
        return -1;
    ULONG_PTR v = (ULONG_PTR)h & ~(ULONG_PTR)3;
    for (ULONG i = 0; i < MH_SLOTS; i++)
        if (mh_s[i].State == MH_LIVE && (ULONG_PTR)mh_s[i].Value == v)
            return (LONG)i;
    return -1;
}

/* The slot an op names: A, or with C's low bit the next live slot from A (so half the ops hit live handles). */
static ULONG mh_pick(const model_op *op)
{
    ULONG s = op->A % MH_SLOTS;
    if (op->C & 1)
        for (ULONG k = 0; k < MH_SLOTS; k++) {
            ULONG i = (s + k) % MH_SLOTS;
            if (mh_s[i].State == MH_LIVE)
                return i;
        }
    return s;
}

static LONG mh_free_slot(void)
{
    for (ULONG i = 0; i < MH_SLOTS; i++)
        if (mh_s[i].State != MH_LIVE)
            return (LONG)i;
    return -1;
}

static ULONG mh_count(ULONG obj)
{
    ULONG n = 0;
    for (ULONG i = 0; i < MH_SLOTS; i++)
        n += mh_s[i].State == MH_LIVE && mh_s[i].Object == obj;
    return n;
}

#define MH_FAIL(...)                                                                                                \
    do {                                                                                                            \
        model_say(why, whysize, __VA_ARGS__);                                                                       \
        return FALSE;                                                                                               \
    } while (0)

/* Checks a handle the real code just created and records it in the slot. */
static BOOLEAN mh_record(ULONG slot, HANDLE h, ULONG obj, ACCESS_MASK granted, BOOLEAN inherit, BOOLEAN protect,
                         BOOLEAN kernel, char *why, ULONG whysize)
{
    if (h == NULL || ((ULONG_PTR)h & 3) != 0)
        MH_FAIL("new handle %p: zero or low bits set", h);
    if (mh_is_kernel_value(h) != kernel || ObIsKernelHandle(h) != kernel)
        MH_FAIL("new handle %p: kernel handle %u, model %u", h, mh_is_kernel_value(h), kernel);
    LONG other = mh_find(h);
    if (other >= 0)
        MH_FAIL("new handle %p is already slot %d's", h, other);
    mh_slot *s = &mh_s[slot];
    s->State = MH_LIVE;
    s->Value = h;
    s->Object = obj;
    s->Granted = granted;
    s->Inherit = inherit;
    s->Protect = protect;
    s->Kernel = kernel;
    if (!kernel) {
        mh_live_user++;
        if (mh_live_user > mh_peak_user)
            mh_peak_user = mh_live_user;
        /* Reuse before growth: with at most P handles ever open at once, the
         * table never needs an entry above index P. */
        if ((ULONG_PTR)h > 4ull * mh_peak_user)
            MH_FAIL("new handle %p although the table never held more than %u handles", h, mh_peak_user);
    }
    return TRUE;
}

static void mh_forget(ULONG slot)
{
    mh_s[slot].State = MH_STALE;
    if (!mh_s[slot].Kernel)
        mh_live_user--;
}

/* ZwClose of a value; the model's prediction from the slot it names. */
static BOOLEAN mh_close_value(HANDLE v, char *why, ULONG whysize)
{
    LONG t = mh_find(v);
    NTSTATUS want = t < 0 ? STATUS_INVALID_HANDLE : (mh_s[t].Protect ? STATUS_HANDLE_NOT_CLOSABLE : STATUS_SUCCESS);
    NTSTATUS got = ZwClose(v);
    if (got != want)
        MH_FAIL("ZwClose(%p) returned %08x, model %08x%s", v, got, want, t < 0 ? " (no such handle)" : "");
    if (want == STATUS_SUCCESS)
        mh_forget((ULONG)t);
    return TRUE;
}

static BOOLEAN mh_step(const model_op *op, char *why, ULONG whysize)
{
    switch (op->Kind) {
    case MH_OPEN: {
        LONG slot = mh_free_slot();
        if (slot < 0)
            return TRUE;
        ULONG obj = op->A % MH_OBJECTS;
        BOOLEAN inherit = (op->B & 1) != 0, kernel = (op->B & 2) != 0;
        ACCESS_MASK desired = mh_access[(op->C >> 1) % MH_ACCESS];
        HANDLE h = NULL;
        NTSTATUS got = ObOpenObjectByPointer(mh_obj[obj], (inherit ? OBJ_INHERIT : 0) | (kernel ? OBJ_KERNEL_HANDLE : 0),
                                             NULL, desired, ExEventObjectType, KernelMode, &h);
        if (got != STATUS_SUCCESS)
            MH_FAIL("ObOpenObjectByPointer(event %u) returned %08x", obj, got);
        return mh_record((ULONG)slot, h, obj, mh_map(desired), inherit, FALSE, kernel, why, whysize);
    }
    case MH_CLOSE: {
        ULONG slot = mh_pick(op);
        if (mh_s[slot].State == MH_STALE && mh_s[slot].Kernel)
            return TRUE; /* the system table is shared: a stale kernel value may be anyone's now */
        return mh_close_value(mh_value(slot), why, whysize);
    }
    case MH_REF: {
        ULONG slot = mh_pick(op);
        if (mh_s[slot].State == MH_STALE && mh_s[slot].Kernel)
            return TRUE;
        HANDLE v = mh_value(slot);
        if ((op->C & 32) && v != NULL)
            v = (HANDLE)((ULONG_PTR)v | 3);
        ACCESS_MASK desired = mh_access[op->B % MH_ACCESS];
        if (desired & MAXIMUM_ALLOWED)
            desired = 0; /* MAXIMUM_ALLOWED is for opens, not for a reference by handle */
        POBJECT_TYPE types[3] = {NULL, ExEventObjectType, ExSemaphoreObjectType};
        POBJECT_TYPE type = types[(op->C >> 1) % 3];
        KPROCESSOR_MODE mode = (op->C & 16) ? UserMode : KernelMode;
        LONG t = mh_find(v);
        NTSTATUS want = STATUS_SUCCESS;
        if (t < 0 || (mode == UserMode && mh_s[t].Kernel))
            want = STATUS_INVALID_HANDLE;
        else if (type == ExSemaphoreObjectType)
            want = STATUS_OBJECT_TYPE_MISMATCH;
        else if (mode == UserMode && (mh_map(desired) & ~mh_s[t].Granted) != 0)
            want = STATUS_ACCESS_DENIED;
        PVOID o = (PVOID)1;
        OBJECT_HANDLE_INFORMATION info = {0xdead, 0xbeef};
        NTSTATUS got = ObReferenceObjectByHandle(v, desired, type, mode, &o, &info);
        if (got != want) {
            if (NT_SUCCESS(got))
                ObDereferenceObject(o);
            MH_FAIL("ObReferenceObjectByHandle(%p, %08x, %s, %s) returned %08x, model %08x", v, desired,
                    type == NULL ? "any type" : (type == ExEventObjectType ? "Event" : "Semaphore"),
                    mode == UserMode ? "UserMode" : "KernelMode", got, want);
        }
        if (!NT_SUCCESS(got)) {
            if (o != NULL)
                MH_FAIL("ObReferenceObjectByHandle failed but left *Object %p", o);
            return TRUE;
        }
        ObDereferenceObject(o);
        ULONG attrs = (mh_s[t].Inherit ? OBJ_INHERIT : 0) | (mh_s[t].Protect ? OBJ_PROTECT_CLOSE : 0);
        if (o != mh_obj[mh_s[t].Object] || info.GrantedAccess != mh_s[t].Granted || info.HandleAttributes != attrs)
            MH_FAIL("ObReferenceObjectByHandle(%p): object %p access %08x attributes %x, model event %u (%p) %08x %x",
                    v, o, info.GrantedAccess, info.HandleAttributes, mh_s[t].Object, mh_obj[mh_s[t].Object],
                    mh_s[t].Granted, attrs);
        return TRUE;
    }
    case MH_SETFLAGS: {
        ULONG slot = mh_pick(op);
        if (mh_s[slot].State == MH_STALE && mh_s[slot].Kernel)
            return TRUE;
        HANDLE v = mh_value(slot);
        OBJECT_HANDLE_FLAG_INFORMATION f = {(op->B & 1) != 0, (op->B & 2) != 0};
        LONG t = mh_find(v);
        NTSTATUS want = t < 0 ? STATUS_INVALID_HANDLE : STATUS_SUCCESS;
        NTSTATUS got = ZwSetInformationObject(v, ObjectHandleFlagInformation, &f, sizeof(f));
        if (got != want)
            MH_FAIL("ZwSetInformationObject(%p, inherit %u, protect %u) returned %08x, model %08x", v, f.Inherit,
                    f.ProtectFromClose, got, want);
        if (t >= 0) {
            mh_s[t].Inherit = f.Inherit;
            mh_s[t].Protect = f.ProtectFromClose;
        }
        return TRUE;
    }
    case MH_QUERY: {
        ULONG slot = mh_pick(op);
        if (mh_s[slot].State == MH_STALE && mh_s[slot].Kernel)
            return TRUE;
        HANDLE v = mh_value(slot);
        LONG t = mh_find(v);
        PUBLIC_OBJECT_BASIC_INFORMATION b;
        ULONG ret = 0;
        NTSTATUS got = ZwQueryObject(v, ObjectBasicInformation, &b, sizeof(b), &ret);
        if (t < 0) {
            if (got != STATUS_INVALID_HANDLE)
                MH_FAIL("ZwQueryObject(%p) returned %08x, model STATUS_INVALID_HANDLE", v, got);
            return TRUE;
        }
        if (got != STATUS_SUCCESS)
            MH_FAIL("ZwQueryObject(%p) returned %08x", v, got);
        ULONG attrs = (mh_s[t].Inherit ? OBJ_INHERIT : 0) | (mh_s[t].Protect ? OBJ_PROTECT_CLOSE : 0);
        ULONG count = mh_count(mh_s[t].Object) + (ULONG)mh_base_handles[mh_s[t].Object];
        if (b.Attributes != attrs || b.GrantedAccess != mh_s[t].Granted || b.HandleCount != count)
            MH_FAIL("ZwQueryObject(%p): attributes %x access %08x handles %u, model %x %08x %u", v, b.Attributes,
                    b.GrantedAccess, b.HandleCount, attrs, mh_s[t].Granted, count);
        OBJECT_HANDLE_FLAG_INFORMATION f;
        got = ZwQueryObject(v, ObjectHandleFlagInformation, &f, sizeof(f), &ret);
        if (got != STATUS_SUCCESS || f.Inherit != mh_s[t].Inherit || f.ProtectFromClose != mh_s[t].Protect)
            MH_FAIL("ZwQueryObject(%p, flags) returned %08x inherit %u protect %u, model %u %u", v, got, f.Inherit,
                    f.ProtectFromClose, mh_s[t].Inherit, mh_s[t].Protect);
        return TRUE;
    }
    case MH_DUP: {
        ULONG slot = mh_pick(op);
        if (mh_s[slot].State == MH_STALE && mh_s[slot].Kernel)
            return TRUE;
        HANDLE v = mh_value(slot);
        LONG t = mh_find(v);
        ULONG options = op->B & (DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES);
        if (t >= 0 && mh_s[t].Protect)
            options &= ~DUPLICATE_CLOSE_SOURCE; /* not documented: see the top */
        ULONG attributes = ((op->B & 8) ? OBJ_INHERIT : 0) | ((op->B & 16) ? OBJ_KERNEL_HANDLE : 0);
        ACCESS_MASK desired = mh_access[(op->C >> 1) % MH_ACCESS];
        LONG target = mh_free_slot();
        if (target < 0)
            return TRUE;
        HANDLE h = (HANDLE)1;
        NTSTATUS got = ZwDuplicateObject(NtCurrentProcess(), v, NtCurrentProcess(), &h, desired, attributes, options);
        if (t < 0) {
            if (got != STATUS_INVALID_HANDLE)
                MH_FAIL("ZwDuplicateObject(%p) returned %08x, model STATUS_INVALID_HANDLE", v, got);
            if (h != NULL)
                MH_FAIL("ZwDuplicateObject(%p) failed but left *TargetHandle %p", v, h);
            return TRUE;
        }
        if (got != STATUS_SUCCESS)
            MH_FAIL("ZwDuplicateObject(%p, options %x) returned %08x", v, options, got);
        mh_slot src = mh_s[t];
        ACCESS_MASK granted = (options & DUPLICATE_SAME_ACCESS) ? src.Granted : mh_map(desired);
        BOOLEAN inherit, protect = FALSE, kernel = (attributes & OBJ_KERNEL_HANDLE) != 0;
        if (options & DUPLICATE_SAME_ATTRIBUTES) {
            inherit = src.Inherit;
            /* Not documented: follow what the handle got (checked to be self-consistent later). */
            kernel = mh_is_kernel_value(h);
            OBJECT_HANDLE_FLAG_INFORMATION f = {0, 0};
            ULONG ret;
            if (ZwQueryObject(h, ObjectHandleFlagInformation, &f, sizeof(f), &ret) == STATUS_SUCCESS)
                protect = f.ProtectFromClose;
        } else {
            inherit = (attributes & OBJ_INHERIT) != 0;
        }
        /* The duplicate exists before the source is closed (both count for the table's size). */
        if (!mh_record((ULONG)target, h, src.Object, granted, inherit, protect, kernel, why, whysize))
            return FALSE;
        if (options & DUPLICATE_CLOSE_SOURCE)
            mh_forget((ULONG)t);
        return TRUE;
    }
    case MH_BURSTOPEN: {
        ULONG obj = op->A % MH_OBJECTS;
        ULONG n = 1 + op->B % MH_BURST;
        for (ULONG k = 0; k < n; k++) {
            LONG slot = mh_free_slot();
            if (slot < 0)
                return TRUE;
            HANDLE h = NULL;
            NTSTATUS got = ObOpenObjectByPointer(mh_obj[obj], 0, NULL, SYNCHRONIZE, ExEventObjectType, KernelMode, &h);
            if (got != STATUS_SUCCESS)
                MH_FAIL("burst: ObOpenObjectByPointer(event %u) returned %08x", obj, got);
            if (!mh_record((ULONG)slot, h, obj, SYNCHRONIZE, FALSE, FALSE, FALSE, why, whysize))
                return FALSE;
        }
        return TRUE;
    }
    default: { /* MH_BURSTCLOSE: close the live, unprotected handles of slots [A, A + 4B] */
        ULONG first = op->A % MH_SLOTS, n = 1 + 4 * op->B;
        for (ULONG i = first; i < first + n && i < MH_SLOTS; i++)
            if (mh_s[i].State == MH_LIVE && !mh_s[i].Protect && !mh_close_value(mh_s[i].Value, why, whysize))
                return FALSE;
        return TRUE;
    }
    }
}


static void mh_counts(ULONG o, LONG_PTR *handles, LONG_PTR *pointers)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(mh_obj[o]);
    *handles = __atomic_load_n(&h->HandleCount, __ATOMIC_RELAXED);
    *pointers = __atomic_load_n(&h->PointerCount, __ATOMIC_RELAXED);
}

/* Every object's HandleCount and PointerCount: one each per handle. */
static BOOLEAN mh_counts_agree(char *why, ULONG whysize)
{
    for (ULONG o = 0; o < MH_OBJECTS; o++) {
        LONG_PTR handles, pointers;
        mh_counts(o, &handles, &pointers);
        handles -= mh_base_handles[o];
        pointers -= mh_base_pointers[o];
        ULONG want = mh_count(o);
        if (handles != (LONG_PTR)want || pointers != (LONG_PTR)want)
            MH_FAIL("event %u: HandleCount %+ld PointerCount %+ld since the start, model %+d each", o, (long)handles,
                    (long)pointers, want);
    }
    return TRUE;
}

/* At the end: every live handle still says what the model says; then close them all. */
static BOOLEAN mh_sweep(char *why, ULONG whysize)
{
    BOOLEAN ok = TRUE;
    for (ULONG i = 0; i < MH_SLOTS; i++) {
        mh_slot *s = &mh_s[i];
        if (s->State != MH_LIVE)
            continue;
        if (ok) {
            PVOID o = NULL;
            OBJECT_HANDLE_INFORMATION info;
            NTSTATUS got = ObReferenceObjectByHandle(s->Value, 0, NULL, KernelMode, &o, &info);
            if (NT_SUCCESS(got))
                ObDereferenceObject(o);
            if (got != STATUS_SUCCESS || o != mh_obj[s->Object] || info.GrantedAccess != s->Granted) {
                model_say(why, whysize, "final sweep: slot %u handle %p: status %08x object %p access %08x, model %p %08x",
                          i, s->Value, got, o, info.GrantedAccess, mh_obj[s->Object], s->Granted);
                ok = FALSE;
            }
        }
        /* Clean up whatever happened. */
        OBJECT_HANDLE_FLAG_INFORMATION f = {FALSE, FALSE};
        ZwSetInformationObject(s->Value, ObjectHandleFlagInformation, &f, sizeof(f));
        if (ZwClose(s->Value) != STATUS_SUCCESS && ok) {
            model_say(why, whysize, "final sweep: closing slot %u handle %p failed", i, s->Value);
            ok = FALSE;
        }
        s->State = MH_STALE;
    }
    return ok;
}

static ULONG mh_run(void *ctx, const model_op *ops, ULONG n, char *why, ULONG whysize)
{
    (void)ctx;
    RtlZeroMemory(mh_s, sizeof(mh_s));
    mh_peak_user = mh_live_user = 0;
    for (ULONG o = 0; o < MH_OBJECTS; o++)
        mh_counts(o, &mh_base_handles[o], &mh_base_pointers[o]);
    PEPROCESS process;
    NTSTATUS status = PsCreateProcessInternal(NULL, &process);
    assert_int_equal(status, STATUS_SUCCESS);
    KAPC_STATE apc;
    KeStackAttachProcess(&process->Pcb, &apc);
    ULONG failed = 0;
    for (ULONG i = 0; i < n && !failed; i++)
        if (!mh_step(&ops[i], why, whysize) || !mh_counts_agree(why, whysize))
            failed = i + 1;
    char sweepwhy[MODEL_WHY];
    if (!mh_sweep(sweepwhy, sizeof(sweepwhy)) && !failed) {
        RtlCopyMemory(why, sweepwhy, whysize < MODEL_WHY ? whysize : MODEL_WHY);
        failed = n;
    }
    KeUnstackDetachProcess(&apc);
    ObDereferenceObject(process);
    return failed;
}

static void mh_describe(void *ctx, const model_op *op, char *text, ULONG size)
{
    (void)ctx;
    ULONG live = op->C & 1;
    switch (op->Kind) {
    case MH_OPEN:
        model_say(text, size, "open event %u%s%s access %08x", op->A % MH_OBJECTS, (op->B & 1) ? " inherit" : "",
                  (op->B & 2) ? " kernel" : "", mh_access[(op->C >> 1) % MH_ACCESS]);
        break;
    case MH_CLOSE:
        model_say(text, size, "ZwClose(slot %u%s)", op->A % MH_SLOTS, live ? " or the next live one" : "");
        break;
    case MH_REF:
        model_say(text, size, "ObReferenceObjectByHandle(slot %u%s%s, %08x, type %u, %s)", op->A % MH_SLOTS,
                  live ? "+" : "", (op->C & 32) ? " |3" : "", mh_access[op->B % MH_ACCESS], (op->C >> 1) % 3,
                  (op->C & 16) ? "UserMode" : "KernelMode");
        break;
    case MH_SETFLAGS:
        model_say(text, size, "set flags (slot %u%s, inherit %u, protect %u)", op->A % MH_SLOTS, live ? "+" : "",
                  op->B & 1, (op->B >> 1) & 1);
        break;
    case MH_QUERY:
        model_say(text, size, "ZwQueryObject(slot %u%s)", op->A % MH_SLOTS, live ? "+" : "");
        break;
    case MH_DUP:
        model_say(text, size, "ZwDuplicateObject(slot %u%s, access %08x, attrs%s%s, options %x)", op->A % MH_SLOTS,
                  live ? "+" : "", mh_access[(op->C >> 1) % MH_ACCESS], (op->B & 8) ? " inherit" : "",
                  (op->B & 16) ? " kernel" : "", op->B & 7);
        break;
    case MH_BURSTOPEN:
        model_say(text, size, "open %u handles to event %u", 1 + op->B % MH_BURST, op->A % MH_OBJECTS);
        break;
    default:
        model_say(text, size, "close slots %u..%u", op->A % MH_SLOTS, op->A % MH_SLOTS + 4 * op->B);
        break;
    }
}

#define MH_SEEDS 5
#define MH_OPS 1200

static model_op mh_ops[MH_OPS];

static void model_handles_random_sequences(void **state)
{
    (void)state;
    for (ULONG o = 0; o < MH_OBJECTS; o++) {
        HANDLE h;
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
        assert_int_equal(ObReferenceObjectByHandle(h, 0, ExEventObjectType, KernelMode, &mh_obj[o], NULL),
                         STATUS_SUCCESS);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    }
    model_spec spec = {"handles", mh_run, mh_describe, NULL};
    for (uint64_t seed = 1; seed <= MH_SEEDS; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ULL;
        /* Mostly single-handle operations; bursts are rarer (kind ranges over 2 x the kinds). */
        model_generate(&rng, mh_ops, MH_OPS, 2 * MH_KINDS, MH_SLOTS, 256, 256);
        for (ULONG i = 0; i < MH_OPS; i++)
            if (mh_ops[i].Kind >= MH_KINDS)
                mh_ops[i].Kind = (mh_ops[i].Kind - MH_KINDS) % MH_BURSTOPEN; /* single-handle kinds only */
        model_check(&spec, seed, mh_ops, MH_OPS, NULL);
    }
    for (ULONG o = 0; o < MH_OBJECTS; o++)
        ObDereferenceObject(mh_obj[o]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(model_handles_random_sequences),
};

NTOS_TEST_GROUP(verify_model_handles, tests, NULL, NULL);
