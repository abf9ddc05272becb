/*
 * Handles: values, lookups and their errors, kernel handles, close
 * protection, duplication, object queries, table growth, and concurrent
 * lookups racing with closes.
 */
#include "ob_test.h"
#include "ntos_ke_test.h"
#include <ntos/ex_handle.h>

#ifndef STATUS_HANDLE_NOT_CLOSABLE
#define STATUS_HANDLE_NOT_CLOSABLE ((NTSTATUS)0xC0000235L)
#endif

static void reference_by_handle_errors(void **state)
{
    (void)state;
    HANDLE h;
    PVOID o, p;
    assert_int_equal(obt_create(NULL, 0, NULL, &h, &o), STATUS_SUCCESS);
    OBJECT_HANDLE_INFORMATION info;
    assert_int_equal(ObReferenceObjectByHandle(h, 1, obt_get_type(), KernelMode, &p, &info), STATUS_SUCCESS);
    assert_ptr_equal(p, o);
    assert_int_equal(info.GrantedAccess, STANDARD_RIGHTS_REQUIRED | 3);
    ObDereferenceObject(p);
    p = (PVOID)1;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ObDirectoryObjectType, KernelMode, &p, NULL),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_null(p);
    assert_int_equal(ObReferenceObjectByHandle(NULL, 0, NULL, KernelMode, &p, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ObReferenceObjectByHandle((HANDLE)0x12344, 0, NULL, KernelMode, &p, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ObReferenceObjectByHandle((HANDLE)0x7fff0000, 0, NULL, KernelMode, &p, NULL),
                     STATUS_INVALID_HANDLE);
    /* The low two bits are ignored, as on Windows. */
    assert_int_equal(ObReferenceObjectByHandle((HANDLE)((ULONG_PTR)h | 3), 0, NULL, KernelMode, &p, NULL),
                     STATUS_SUCCESS);
    ObDereferenceObject(p);
    ObDereferenceObject(o);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_INVALID_HANDLE);
    assert_int_equal(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &p, NULL), STATUS_INVALID_HANDLE);
}

static void user_mode_access_is_checked_against_the_handle(void **state)
{
    (void)state;
    PVOID o, p;
    assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
    HANDLE h;
    /* A handle with access 1 only. */
    assert_int_equal(ObOpenObjectByPointer(o, 0, NULL, 1, obt_get_type(), KernelMode, &h), STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(h, 2, NULL, UserMode, &p, NULL), STATUS_ACCESS_DENIED);
    assert_int_equal(ObReferenceObjectByHandle(h, 1, NULL, UserMode, &p, NULL), STATUS_SUCCESS);
    ObDereferenceObject(p);
    /* GENERIC_WRITE maps to 2 for this type: denied too. */
    assert_int_equal(ObReferenceObjectByHandle(h, GENERIC_WRITE, NULL, UserMode, &p, NULL), STATUS_ACCESS_DENIED);
    /* Kernel-mode callers are not checked. */
    assert_int_equal(ObReferenceObjectByHandle(h, 2, NULL, KernelMode, &p, NULL), STATUS_SUCCESS);
    ObDereferenceObject(p);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    ObDereferenceObject(o);
}

static void kernel_handles(void **state)
{
    (void)state;
    HANDLE h;
    PVOID o, p;
    assert_int_equal(obt_create(NULL, OBJ_KERNEL_HANDLE, NULL, &h, &o), STATUS_SUCCESS);
    assert_int_equal((ULONG_PTR)h & KERNEL_HANDLE_MASK, KERNEL_HANDLE_MASK);
    assert_true(ObIsKernelHandle(h));
    assert_int_equal(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &p, NULL), STATUS_SUCCESS);
    ObDereferenceObject(p);
    /* From user mode a kernel handle does not exist. */
    assert_int_equal(ObReferenceObjectByHandle(h, 0, NULL, UserMode, &p, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ObCloseHandle(h, UserMode), STATUS_INVALID_HANDLE);
    assert_int_equal(ObCloseHandle(h, KernelMode), STATUS_SUCCESS);
    ObDereferenceObject(o);
    HANDLE plain;
    assert_int_equal(obt_create(NULL, 0, NULL, &plain, NULL), STATUS_SUCCESS);
    assert_false(ObIsKernelHandle(plain));
    assert_int_equal(ZwClose(plain), STATUS_SUCCESS);
}

static void pseudo_handles(void **state)
{
    (void)state;
    PVOID p;
    assert_int_equal(ObReferenceObjectByHandle(NtCurrentProcess(), PROCESS_ALL_ACCESS, PsProcessType, UserMode, &p,
                                               NULL),
                     STATUS_SUCCESS);
    assert_ptr_equal(p, PsGetCurrentProcess());
    ObDereferenceObject(p);
    assert_int_equal(ObReferenceObjectByHandle(NtCurrentProcess(), 0, PsThreadType, KernelMode, &p, NULL),
                     STATUS_OBJECT_TYPE_MISMATCH);
    /* The harness thread is a bare kernel thread: no thread object behind -2. */
    if (!PsIsExecutiveThread(KeGetCurrentThread()))
        assert_int_equal(ObReferenceObjectByHandle(NtCurrentThread(), 0, NULL, KernelMode, &p, NULL),
                         STATUS_INVALID_HANDLE);
}

static void protect_from_close(void **state)
{
    (void)state;
    HANDLE h;
    assert_int_equal(obt_create(NULL, 0, NULL, &h, NULL), STATUS_SUCCESS);
    OBJECT_HANDLE_FLAG_INFORMATION f = {FALSE, TRUE};
    assert_int_equal(ZwSetInformationObject(h, ObjectHandleFlagInformation, &f, sizeof(f)), STATUS_SUCCESS);
    OBJECT_HANDLE_FLAG_INFORMATION q;
    ULONG ret;
    assert_int_equal(ZwQueryObject(h, ObjectHandleFlagInformation, &q, sizeof(q), &ret), STATUS_SUCCESS);
    assert_true(q.ProtectFromClose);
    assert_false(q.Inherit);
    assert_int_equal(ZwClose(h), STATUS_HANDLE_NOT_CLOSABLE);
    f.ProtectFromClose = FALSE;
    f.Inherit = TRUE;
    assert_int_equal(ZwSetInformationObject(h, ObjectHandleFlagInformation, &f, sizeof(f)), STATUS_SUCCESS);
    assert_int_equal(ZwQueryObject(h, ObjectHandleFlagInformation, &q, sizeof(q), &ret), STATUS_SUCCESS);
    assert_true(q.Inherit);
    assert_int_equal(ZwSetInformationObject(h, ObjectHandleFlagInformation, &f, 1), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwSetInformationObject(h, ObjectBasicInformation, &f, sizeof(f)), STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void query_object_basic_and_type(void **state)
{
    (void)state;
    HANDLE h;
    PVOID o;
    assert_int_equal(obt_create(NULL, OBJ_INHERIT, NULL, &h, &o), STATUS_SUCCESS);
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    ULONG ret = 0;
    assert_int_equal(ZwQueryObject(h, ObjectBasicInformation, &b, sizeof(b) - 1, &ret), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ret, sizeof(b));
    assert_int_equal(ZwQueryObject(h, ObjectBasicInformation, &b, sizeof(b), &ret), STATUS_SUCCESS);
    assert_int_equal(b.HandleCount, 1);
    assert_int_equal(b.PointerCount, 2); /* the handle's and ours */
    assert_int_equal(b.Attributes & OBJ_INHERIT, OBJ_INHERIT);
    assert_int_equal(b.GrantedAccess, STANDARD_RIGHTS_REQUIRED | 3);
    UCHAR buf[256];
    assert_int_equal(ZwQueryObject(h, ObjectTypeInformation, buf, 8, &ret), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryObject(h, ObjectTypeInformation, buf, sizeof(buf), &ret), STATUS_SUCCESS);
    UNICODE_STRING tn;
    RtlInitUnicodeString(&tn, L"ObTestObject");
    assert_true(RtlEqualUnicodeString(&((PPUBLIC_OBJECT_TYPE_INFORMATION)buf)->TypeName, &tn, FALSE));
    assert_int_equal(ZwQueryObject(h, (OBJECT_INFORMATION_CLASS)77, buf, sizeof(buf), &ret), STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryObject((HANDLE)0x4440, ObjectBasicInformation, &b, sizeof(b), &ret),
                     STATUS_INVALID_HANDLE);
    ObDereferenceObject(o);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void duplicate_handles(void **state)
{
    (void)state;
    HANDLE h, d1, d2, d3;
    PVOID o;
    assert_int_equal(obt_create(NULL, 0, NULL, &h, &o), STATUS_SUCCESS);
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &d1, 0, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    assert_true(d1 != h);
    assert_int_equal(obt_handle_count(o), 2);
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    ULONG ret;
    assert_int_equal(ZwQueryObject(d1, ObjectBasicInformation, &b, sizeof(b), &ret), STATUS_SUCCESS);
    assert_int_equal(b.GrantedAccess, STANDARD_RIGHTS_REQUIRED | 3);
    /* Narrowing. */
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &d2, 1, 0, 0), STATUS_SUCCESS);
    assert_int_equal(ZwQueryObject(d2, ObjectBasicInformation, &b, sizeof(b), &ret), STATUS_SUCCESS);
    assert_int_equal(b.GrantedAccess, 1);
    PVOID p;
    assert_int_equal(ObReferenceObjectByHandle(d2, 2, NULL, UserMode, &p, NULL), STATUS_ACCESS_DENIED);
    /* Close source: the source is gone, the duplicate lives. */
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), d1, NtCurrentProcess(), &d3, 0, 0,
                                       DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
                     STATUS_SUCCESS);
    assert_int_equal(ZwClose(d1), STATUS_INVALID_HANDLE);
    assert_int_equal(obt_handle_count(o), 3);
    /* Errors. */
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), (HANDLE)0x7770, NtCurrentProcess(), &d1, 0, 0, 0),
                     STATUS_INVALID_HANDLE);
    assert_int_equal(ZwDuplicateObject(h, h, NtCurrentProcess(), &d1, 0, 0, 0), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &d1, 0, 0, 0x80),
                     STATUS_INVALID_PARAMETER);
    /* Into another process's table. */
    PEPROCESS other;
    assert_int_equal(PsCreateProcessInternal(NULL, &other), STATUS_SUCCESS);
    HANDLE otherHandle, inOther;
    assert_int_equal(ObOpenObjectByPointer(other, 0, NULL, PROCESS_DUP_HANDLE, PsProcessType, KernelMode, &otherHandle),
                     STATUS_SUCCESS);
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, otherHandle, &inOther, 0, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    assert_int_equal(obt_handle_count(o), 4);
    /* That handle is not valid here (unless the values happen to coincide with ours: check the object). */
    PVOID q = NULL;
    if (NT_SUCCESS(ObReferenceObjectByHandle(inOther, 0, NULL, KernelMode, &q, NULL))) {
        ObDereferenceObject(q);
    }
    /* Close it in the other process by duplicating it out with close-source and no target. */
    assert_int_equal(ZwDuplicateObject(otherHandle, inOther, NULL, NULL, 0, 0, DUPLICATE_CLOSE_SOURCE),
                     STATUS_SUCCESS);
    assert_int_equal(obt_handle_count(o), 3);
    /* A process's death closes the handles it still has. */
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, otherHandle, &inOther, 0, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    assert_int_equal(obt_handle_count(o), 4);
    assert_int_equal(ZwClose(otherHandle), STATUS_SUCCESS);
    ObDereferenceObject(other);
    assert_int_equal(obt_handle_count(o), 3);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(d2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(d3), STATUS_SUCCESS);
    assert_int_equal(obt_pointer_count(o), 1);
    ObDereferenceObject(o);
}

/* A driver running in a user process's context turns that process's handle
 * into a kernel handle by duplicating it with OBJ_KERNEL_HANDLE into the
 * current process: the result lives in the system table, not the process's
 * (found by tests/verify/test_model_handles.c; the flag used to be dropped
 * unless the target was the System process). */
static void duplicate_into_kernel_handle_from_another_process_context(void **state)
{
    (void)state;
    PEPROCESS p;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    KAPC_STATE apc;
    KeStackAttachProcess(&p->Pcb, &apc);
    HANDLE h, k, u;
    PVOID o, q;
    assert_int_equal(obt_create(NULL, 0, NULL, &h, &o), STATUS_SUCCESS);
    assert_false(ObIsKernelHandle(h));
    assert_int_equal(ZwDuplicateObject(ZwCurrentProcess(), h, ZwCurrentProcess(), &k, 0, OBJ_KERNEL_HANDLE,
                                       DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    assert_true(ObIsKernelHandle(k));
    assert_int_equal(ObReferenceObjectByHandle(k, 0, NULL, KernelMode, &q, NULL), STATUS_SUCCESS);
    assert_ptr_equal(q, o);
    ObDereferenceObject(q);
    /* Not usable from user mode, and not in the process's table. */
    assert_int_equal(ObReferenceObjectByHandle(k, 0, NULL, UserMode, &q, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(obt_handle_count(o), 2);
    /* Without the flag: a handle in the process's table, as before. */
    assert_int_equal(ZwDuplicateObject(ZwCurrentProcess(), h, ZwCurrentProcess(), &u, 0, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    assert_false(ObIsKernelHandle(u));
    assert_int_equal(ZwClose(u), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    KeUnstackDetachProcess(&apc);
    /* Back in the System process the kernel handle is still valid. */
    assert_int_equal(ZwClose(k), STATUS_SUCCESS);
    assert_int_equal(obt_handle_count(o), 0);
    ObDereferenceObject(o);
    ObDereferenceObject(p);
}

static void exclusive_objects(void **state)
{
    (void)state;
    HANDLE h, h2;
    PVOID o;
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObHExcl", OBJ_EXCLUSIVE, NULL, &h, &o), STATUS_SUCCESS);
    /* Same process may open it again. */
    assert_int_equal(ObOpenObjectByPointer(o, OBJ_EXCLUSIVE, NULL, 0, NULL, KernelMode, &h2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    /* Another process may not. */
    PEPROCESS other;
    HANDLE oh, inOther;
    assert_int_equal(PsCreateProcessInternal(NULL, &other), STATUS_SUCCESS);
    assert_int_equal(ObOpenObjectByPointer(other, 0, NULL, PROCESS_DUP_HANDLE, PsProcessType, KernelMode, &oh),
                     STATUS_SUCCESS);
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, oh, &inOther, 0, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_ACCESS_DENIED);
    /* OBJ_EXCLUSIVE on an object not created exclusive. */
    HANDLE plain;
    PVOID po;
    assert_int_equal(obt_create(NULL, 0, NULL, &plain, &po), STATUS_SUCCESS);
    assert_int_equal(ObOpenObjectByPointer(po, OBJ_EXCLUSIVE, NULL, 0, NULL, KernelMode, &h2),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwClose(plain), STATUS_SUCCESS);
    ObDereferenceObject(po);
    assert_int_equal(ZwClose(oh), STATUS_SUCCESS);
    ObDereferenceObject(other);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    ObDereferenceObject(o);
}

#define MANY 3000

static void table_grows_and_reuses(void **state)
{
    (void)state;
    static HANDLE hs[MANY];
    PVOID o;
    assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
    for (ULONG i = 0; i < MANY; i++) {
        assert_int_equal(ObOpenObjectByPointer(o, 0, NULL, 1, NULL, KernelMode, &hs[i]), STATUS_SUCCESS);
        assert_int_equal((ULONG_PTR)hs[i] & 3, 0);
        for (ULONG j = i >= 4 ? i - 4 : 0; j < i; j++)
            assert_true(hs[j] != hs[i]);
    }
    assert_int_equal(obt_handle_count(o), MANY);
    for (ULONG i = 0; i < MANY; i += 7) {
        PVOID p;
        assert_int_equal(ObReferenceObjectByHandle(hs[i], 1, NULL, UserMode, &p, NULL), STATUS_SUCCESS);
        ObDereferenceObject(p);
    }
    /* Free every other handle; new ones reuse the freed slots. */
    for (ULONG i = 0; i < MANY; i += 2)
        assert_int_equal(ZwClose(hs[i]), STATUS_SUCCESS);
    for (ULONG i = 0; i < MANY; i += 2)
        assert_int_equal(ObOpenObjectByPointer(o, 0, NULL, 1, NULL, KernelMode, &hs[i]), STATUS_SUCCESS);
    for (ULONG i = 0; i < MANY; i++)
        assert_int_equal(ZwClose(hs[i]), STATUS_SUCCESS);
    assert_int_equal(obt_handle_count(o), 0);
    assert_int_equal(obt_pointer_count(o), 1);
    ObDereferenceObject(o);
}

/* Lookups on one CPU race closes and reopens on another: every lookup either
 * fails with STATUS_INVALID_HANDLE or returns a live object of the right type. */
typedef struct {
    HANDLE volatile Handle;
    volatile LONG Stop;
    volatile LONG Lookups;
    volatile LONG Failures;
    PVOID Object;
} RACE;

static VOID NTAPI race_reader(PVOID Context)
{
    RACE *r = Context;
    while (!__atomic_load_n(&r->Stop, __ATOMIC_ACQUIRE)) {
        PVOID p;
        HANDLE h = __atomic_load_n(&r->Handle, __ATOMIC_ACQUIRE);
        NTSTATUS s = ObReferenceObjectByHandle(h, 1, obt_get_type(), KernelMode, &p, NULL);
        if (NT_SUCCESS(s)) {
            OBT_OBJECT *t = p;
            if (t->Magic != OBT_MAGIC)
                __atomic_add_fetch(&r->Failures, 1, __ATOMIC_RELAXED);
            ObDereferenceObject(p);
        } else if (s != STATUS_INVALID_HANDLE) {
            __atomic_add_fetch(&r->Failures, 1, __ATOMIC_RELAXED);
        }
        __atomic_add_fetch(&r->Lookups, 1, __ATOMIC_RELAXED);
        /* The host backend takes the clock interrupt only at interruptible
         * points; without one this loop would never be preempted on 1 CPU. */
        KeYieldProcessor();
    }
}

static void lookups_race_closes(void **state)
{
    (void)state;
    static RACE r;
    static KTHREAD readers[2];
    RtlZeroMemory(&r, sizeof(r));
    HANDLE h;
    assert_int_equal(obt_create(NULL, 0, NULL, &h, NULL), STATUS_SUCCESS);
    __atomic_store_n(&r.Handle, h, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        kt_start(&readers[i], race_reader, &r, 8);
    LONG before = obt_delete_count();
    /* At least 300 rounds, and on until the readers have really raced (they
     * may start late on a loaded host), bounded. */
    int round = 0;
    for (; round < 300 || (__atomic_load_n(&r.Lookups, __ATOMIC_RELAXED) < 2000 && round < 200000); round++) {
        HANDLE old = __atomic_load_n(&r.Handle, __ATOMIC_ACQUIRE);
        assert_int_equal(ZwClose(old), STATUS_SUCCESS);
        HANDLE n;
        assert_int_equal(obt_create(NULL, 0, NULL, &n, NULL), STATUS_SUCCESS);
        __atomic_store_n(&r.Handle, n, __ATOMIC_RELEASE);
        if ((round & 15) == 0)
            ZwYieldExecution();
    }
    __atomic_store_n(&r.Stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        kt_join(&readers[i]);
    assert_int_equal(ZwClose(r.Handle), STATUS_SUCCESS);
    assert_int_equal(r.Failures, 0);
    assert_true(r.Lookups > 0);
    assert_int_equal(obt_delete_count(), before + round + 1);
}

/* Found by fuzz_ob: the pseudo-handles are valid sources for duplicate and query. */
static void pseudo_handles_duplicate_and_query(void **state)
{
    (void)state;
    HANDLE h;
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), NtCurrentProcess(), NtCurrentProcess(), &h, 0, 0,
                                       DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    PVOID p;
    assert_int_equal(ObReferenceObjectByHandle(h, PROCESS_DUP_HANDLE, PsProcessType, UserMode, &p, NULL),
                     STATUS_SUCCESS);
    assert_ptr_equal(p, PsGetCurrentProcess());
    ObDereferenceObject(p);
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    ULONG ret;
    assert_int_equal(ZwQueryObject(NtCurrentProcess(), ObjectBasicInformation, &b, sizeof(b), &ret), STATUS_SUCCESS);
    assert_int_equal(b.GrantedAccess, PROCESS_ALL_ACCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* Found by fuzz_ob: a link is never handed out as another type, whatever the mode. */
static void reference_by_pointer_checks_links_too(void **state)
{
    (void)state;
    PVOID link;
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, L"\\??");
    assert_int_equal(ObReferenceObjectByName(&us, OBJ_OPENLINK, NULL, 0, ObSymbolicLinkObjectType, KernelMode, NULL,
                                             &link),
                     STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByPointer(link, 0, ObDirectoryObjectType, UserMode), STATUS_OBJECT_TYPE_MISMATCH);
    HANDLE h;
    assert_int_equal(ObOpenObjectByPointer(link, 0, NULL, 0, ObDirectoryObjectType, UserMode, &h),
                     STATUS_OBJECT_TYPE_MISMATCH);
    ObDereferenceObject(link);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pseudo_handles_duplicate_and_query),
    cmocka_unit_test(reference_by_pointer_checks_links_too),
    cmocka_unit_test(reference_by_handle_errors),
    cmocka_unit_test(user_mode_access_is_checked_against_the_handle),
    cmocka_unit_test(kernel_handles),
    cmocka_unit_test(pseudo_handles),
    cmocka_unit_test(protect_from_close),
    cmocka_unit_test(query_object_basic_and_type),
    cmocka_unit_test(duplicate_handles),
    cmocka_unit_test(duplicate_into_kernel_handle_from_another_process_context),
    cmocka_unit_test(exclusive_objects),
    cmocka_unit_test(table_grows_and_reuses),
    cmocka_unit_test(lookups_race_closes),
};

NTOS_TEST_GROUP(ob_handle, tests, NULL, NULL);
