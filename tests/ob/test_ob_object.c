/*
 * Object types, creation, insertion, references and deletion.
 */
#include "ob_test.h"
#include <ntos/bugcodes.h>
#include "ntos_ke_test.h"

static ULONG obt_type_objects(void)
{
    return __atomic_load_n(&obt_get_type()->TotalNumberOfObjects, __ATOMIC_ACQUIRE);
}

/* Deferred deletes finish on a worker: wait until the delete procedure ran
 * `want` times in all and the type's object count (which drops after the
 * delete procedure) is back to `objects`, since later tests read it. */
static void obt_wait_deletes(LONG want, ULONG objects)
{
    for (int i = 0; i < 5000 && (obt_delete_count() != want || obt_type_objects() != objects); i++)
        kt_sleep_ms(1);
    assert_int_equal(obt_delete_count(), want);
    assert_int_equal(obt_type_objects(), objects);
}

static void boot_types_are_listed(void **state)
{
    (void)state;
    static const PCWSTR names[] = {L"\\ObjectTypes\\Type", L"\\ObjectTypes\\Directory",
                                   L"\\ObjectTypes\\SymbolicLink", L"\\ObjectTypes\\Process",
                                   L"\\ObjectTypes\\Thread", L"\\ObjectTypes\\token"};
    for (ULONG i = 0; i < RTL_NUMBER_OF(names); i++) {
        UNICODE_STRING us;
        RtlInitUnicodeString(&us, names[i]);
        PVOID t = NULL;
        assert_int_equal(ObReferenceObjectByName(&us, OBJ_CASE_INSENSITIVE, NULL, 0, ObpTypeObjectType, KernelMode,
                                                 NULL, &t),
                         STATUS_SUCCESS);
        assert_ptr_equal(ObGetObjectType(t), ObpTypeObjectType);
        ObDereferenceObject(t);
    }
    assert_ptr_equal(ObGetObjectType(ObDirectoryObjectType), ObpTypeObjectType);
    assert_ptr_equal(ObGetObjectType(PsProcessType), ObpTypeObjectType);
    assert_ptr_equal(ObGetObjectType(SeTokenObjectType), ObpTypeObjectType);
    assert_ptr_equal(ObGetObjectType(ObpTypeObjectType), ObpTypeObjectType);
}

static void create_object_type_validates(void **state)
{
    (void)state;
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    UNICODE_STRING name;
    POBJECT_TYPE t;
    RtlInitUnicodeString(&name, L"Bad\\Name");
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &t), STATUS_OBJECT_NAME_INVALID);
    RtlInitUnicodeString(&name, L"");
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &t), STATUS_INVALID_PARAMETER);
    RtlInitUnicodeString(&name, L"ObTestBadLength");
    init.Length = 3;
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &t), STATUS_INVALID_PARAMETER);
    init.Length = sizeof(init);
    init.InvalidAttributes = 0x80000000u;
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &t), STATUS_INVALID_PARAMETER);
    init.InvalidAttributes = 0;
    /* The test type exists once; a second type of the same name collides. */
    obt_get_type();
    RtlInitUnicodeString(&name, L"ObTestObject");
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &t), STATUS_OBJECT_NAME_COLLISION);
}

static void unnamed_object_lifetime(void **state)
{
    (void)state;
    LONG before = obt_delete_count();
    PVOID o = NULL;
    assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
    assert_non_null(o);
    assert_ptr_equal(ObGetObjectType(o), obt_get_type());
    assert_int_equal(obt_pointer_count(o), 1);
    assert_int_equal(ObfReferenceObject(o), 2);
    assert_int_equal(ObReferenceObjectByPointer(o, 0, obt_get_type(), KernelMode), STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByPointer(o, 0, ObDirectoryObjectType, KernelMode),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(obt_pointer_count(o), 3);
    assert_int_equal(ObfDereferenceObject(o), 2);
    assert_int_equal(ObDereferenceObjectWithTag(o, 0x74736554), 1);
    assert_int_equal(obt_delete_count(), before);
    assert_int_equal(ObfDereferenceObject(o), 0);
    assert_int_equal(obt_delete_count(), before + 1);
}

static void the_creation_reference_becomes_the_handles(void **state)
{
    (void)state;
    PVOID o;
    HANDLE h;
    assert_int_equal(obt_create(NULL, 0, NULL, &h, &o), STATUS_SUCCESS);
    assert_int_equal(obt_pointer_count(o), 2); /* the handle's and the bias asked for o */
    assert_int_equal(obt_handle_count(o), 1);
    ObDereferenceObject(o);
    assert_int_equal(((ULONG_PTR)h & 3), 0);
    /* A second insert of the same object is refused without touching it. */
    assert_int_equal(ObInsertObject(o, NULL, 0, 0, NULL, NULL), STATUS_INVALID_PARAMETER);
    LONG before = obt_delete_count();
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(obt_delete_count(), before + 1);
}

static void pointer_bias_adds_references(void **state)
{
    (void)state;
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    OBT_OBJECT *o;
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), obt_oa(&oa, &us, NULL, 0, NULL), KernelMode, NULL,
                                    sizeof(OBT_OBJECT), 0, 0, (PVOID *)&o),
                     STATUS_SUCCESS);
    o->Magic = OBT_MAGIC;
    o->DeleteCounter = &obt_deletes;
    PVOID got;
    HANDLE h;
    assert_int_equal(ObInsertObject(o, NULL, 0, 2, &got, &h), STATUS_SUCCESS);
    assert_ptr_equal(got, o);
    assert_int_equal(obt_pointer_count(o), 3);
    LONG before = obt_delete_count();
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    ObDereferenceObject(o);
    assert_int_equal(obt_delete_count(), before);
    ObDereferenceObject(o);
    assert_int_equal(obt_delete_count(), before + 1);
}

static void create_object_validates_attributes(void **state)
{
    (void)state;
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    PVOID o;
    obt_oa(&oa, &us, NULL, 0, NULL);
    oa.Length = 12;
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, 16, 0, 0, &o),
                     STATUS_INVALID_PARAMETER);
    obt_oa(&oa, &us, NULL, 0x40000000u, NULL);
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, 16, 0, 0, &o),
                     STATUS_INVALID_PARAMETER);
    /* Odd-length and overlong names. */
    WCHAR buf[4] = {L'\\', L'a', L'b', 0};
    UNICODE_STRING odd = {3, 8, buf};
    InitializeObjectAttributes(&oa, &odd, 0, NULL, NULL);
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, 16, 0, 0, &o),
                     STATUS_OBJECT_NAME_INVALID);
    UNICODE_STRING over = {8, 4, buf};
    InitializeObjectAttributes(&oa, &over, 0, NULL, NULL);
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, 16, 0, 0, &o),
                     STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(ObCreateObject(KernelMode, NULL, NULL, KernelMode, NULL, 16, 0, 0, &o),
                     STATUS_INVALID_PARAMETER);
}

static void dereference_below_zero_bugchecks(void **state)
{
    (void)state;
    PVOID o;
    assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
    ObfReferenceObject(o);
    ObDereferenceObject(o);
    /* Forge a zero count (as a double dereference would leave it) without freeing. */
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(o);
    __atomic_store_n(&h->PointerCount, 0, __ATOMIC_SEQ_CST);
    expect_bugcheck(REFERENCE_BY_POINTER, ObDereferenceObject(o));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)o);
    expect_bugcheck(REFERENCE_BY_POINTER, ObfReferenceObject(o));
    assert_false(ObReferenceObjectSafe(o));
    __atomic_store_n(&h->PointerCount, 1, __ATOMIC_SEQ_CST);
    assert_true(ObReferenceObjectSafe(o));
    ObDereferenceObject(o);
    ObDereferenceObject(o);
}

static void bad_header_bugchecks(void **state)
{
    (void)state;
    static ULONGLONG fake[8];
    expect_bugcheck(0x189, ObfReferenceObject(&fake[6]));
}

static void dispatch_level_dereference_defers_delete(void **state)
{
    (void)state;
    PVOID o;
    ULONG objects = obt_type_objects();
    assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
    LONG before = obt_delete_count();
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ObDereferenceObject(o);
    /* Nothing can run the delete procedure while we stay at DISPATCH_LEVEL
     * on this processor, and the worker needs PASSIVE_LEVEL. */
    assert_int_equal(obt_delete_count(), before);
    KeLowerIrql(old);
    obt_wait_deletes(before + 1, objects);
}

static void defer_delete_always_uses_worker(void **state)
{
    (void)state;
    LONG before = obt_delete_count();
    ULONG objects = obt_type_objects();
    for (int n = 0; n < 16; n++) {
        PVOID o;
        assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
        ObDereferenceObjectDeferDelete(o);
    }
    obt_wait_deletes(before + 16, objects);
}

/* Deferred deletes from several threads at once: the single work item that
 * drains the deferred list must never be queued again while it is still in
 * the worker queue (that once corrupted the worker list under load). */
#define DEFER_THREADS 4
#define DEFER_PER_THREAD 300
static volatile LONG defer_go;

static VOID NTAPI defer_delete_thread(PVOID Context)
{
    (void)Context;
    while (__atomic_load_n(&defer_go, __ATOMIC_ACQUIRE) == 0)
        KeYieldProcessor();
    for (int n = 0; n < DEFER_PER_THREAD; n++) {
        PVOID o;
        if (obt_create(NULL, 0, NULL, NULL, &o) != STATUS_SUCCESS)
            break;
        ObDereferenceObjectDeferDelete(o);
        if ((n & 31) == 0) {
            LARGE_INTEGER zero = {.QuadPart = 0};
            KeDelayExecutionThread(KernelMode, FALSE, &zero);
        }
    }
}

static void concurrent_defer_delete(void **state)
{
    (void)state;
    LONG before = obt_delete_count();
    ULONG objects = obt_type_objects();
    static KTHREAD threads[DEFER_THREADS];
    defer_go = 0;
    for (int i = 0; i < DEFER_THREADS; i++)
        kt_start(&threads[i], defer_delete_thread, NULL, 8);
    __atomic_store_n(&defer_go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < DEFER_THREADS; i++)
        kt_join(&threads[i]);
    obt_wait_deletes(before + DEFER_THREADS * DEFER_PER_THREAD, objects);
}

static void type_counts_track_objects(void **state)
{
    (void)state;
    POBJECT_TYPE t = obt_get_type();
    ULONG objects = obt_type_objects();
    ULONG handles = __atomic_load_n(&t->TotalNumberOfHandles, __ATOMIC_ACQUIRE);
    PVOID o;
    HANDLE h1, h2;
    assert_int_equal(obt_create(NULL, 0, NULL, &h1, &o), STATUS_SUCCESS);
    assert_int_equal(__atomic_load_n(&t->TotalNumberOfObjects, __ATOMIC_ACQUIRE), objects + 1);
    assert_int_equal(__atomic_load_n(&t->TotalNumberOfHandles, __ATOMIC_ACQUIRE), handles + 1);
    assert_int_equal(ObOpenObjectByPointer(o, 0, NULL, 0, t, KernelMode, &h2), STATUS_SUCCESS);
    assert_int_equal(__atomic_load_n(&t->TotalNumberOfHandles, __ATOMIC_ACQUIRE), handles + 2);
    assert_int_equal(obt_handle_count(o), 2);
    assert_int_equal(ZwClose(h1), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(__atomic_load_n(&t->TotalNumberOfObjects, __ATOMIC_ACQUIRE), objects + 1);
    ObDereferenceObject(o);
    assert_int_equal(__atomic_load_n(&t->TotalNumberOfObjects, __ATOMIC_ACQUIRE), objects);
    assert_int_equal(__atomic_load_n(&t->TotalNumberOfHandles, __ATOMIC_ACQUIRE), handles);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(boot_types_are_listed),
    cmocka_unit_test(create_object_type_validates),
    cmocka_unit_test(unnamed_object_lifetime),
    cmocka_unit_test(the_creation_reference_becomes_the_handles),
    cmocka_unit_test(pointer_bias_adds_references),
    cmocka_unit_test(create_object_validates_attributes),
    cmocka_unit_test(dereference_below_zero_bugchecks),
    cmocka_unit_test(bad_header_bugchecks),
    cmocka_unit_test(dispatch_level_dereference_defers_delete),
    cmocka_unit_test(defer_delete_always_uses_worker),
    cmocka_unit_test(concurrent_defer_delete),
    cmocka_unit_test(type_counts_track_objects),
};

NTOS_TEST_GROUP(ob_object, tests, NULL, NULL);
