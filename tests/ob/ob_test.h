/*
 * Shared helpers for the object manager tests: a private object type whose
 * delete procedure counts, and name/attribute builders.
 */
#ifndef NTOS_OB_TEST_H
#define NTOS_OB_TEST_H

#include "ntos_test.h"
#include <ntos/ob.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>
#include "ob/obp.h"

typedef struct _OBT_OBJECT {
    ULONG Magic;
    volatile LONG *DeleteCounter;
    volatile KIRQL *DeleteIrql; /* if set, receives the IRQL the delete procedure ran at */
} OBT_OBJECT;

#define OBT_MAGIC 0x4f425421

static volatile LONG obt_deletes;
static POBJECT_TYPE obt_type;

static VOID NTAPI obt_delete(PVOID Object)
{
    OBT_OBJECT *o = Object;
    /* A never-initialised body is zero: creation failed before the magic. */
    if (o->Magic == OBT_MAGIC && o->DeleteIrql != NULL)
        __atomic_store_n(o->DeleteIrql, KeGetCurrentIrql(), __ATOMIC_SEQ_CST);
    if (o->Magic == OBT_MAGIC && o->DeleteCounter != NULL)
        __atomic_add_fetch(o->DeleteCounter, 1, __ATOMIC_SEQ_CST);
    o->Magic = 0xDEAD;
}

/* The type is created once per program (types live forever); in the
 * in-kernel runner several test files share it, each object carrying a
 * pointer to its own file's counter. */
static inline POBJECT_TYPE obt_get_type(void)
{
    if (obt_type != NULL)
        return obt_type;
    UNICODE_STRING path;
    RtlInitUnicodeString(&path, L"\\ObjectTypes\\ObTestObject");
    PVOID found = NULL;
    if (NT_SUCCESS(ObReferenceObjectByName(&path, OBJ_CASE_INSENSITIVE, NULL, 0, ObpTypeObjectType, KernelMode, NULL,
                                           &found))) {
        ObDereferenceObject(found);
        obt_type = found;
        return obt_type;
    }
    POBJECT_TYPE existing[1] = {NULL};
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    init.UseDefaultObject = 1;
    init.GenericMapping = (GENERIC_MAPPING){STANDARD_RIGHTS_READ | 1, STANDARD_RIGHTS_WRITE | 2,
                                            STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, STANDARD_RIGHTS_REQUIRED | 3};
    init.ValidAccessMask = STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 3;
    init.DeleteProcedure = obt_delete;
    init.MaintainHandleCount = 1;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"ObTestObject");
    NTSTATUS s = ObCreateObjectType(&name, &init, NULL, &existing[0]);
    assert_int_equal(s, STATUS_SUCCESS);
    obt_type = existing[0];
    return obt_type;
}

static inline LONG obt_delete_count(void)
{
    return __atomic_load_n(&obt_deletes, __ATOMIC_SEQ_CST);
}

/* Creates a test object (optionally named) and inserts it; *Object (if asked for) is referenced. */
static inline NTSTATUS obt_create(PCWSTR Name, ULONG Attributes, HANDLE Root, PHANDLE Handle, PVOID *Object)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    if (Name != NULL)
        RtlInitUnicodeString(&us, Name);
    InitializeObjectAttributes(&oa, Name ? &us : NULL, Attributes, Root, NULL);
    OBT_OBJECT *o;
    NTSTATUS s = ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, sizeof(OBT_OBJECT), 0, 0,
                                (PVOID *)&o);
    if (!NT_SUCCESS(s))
        return s;
    o->Magic = OBT_MAGIC;
    o->DeleteCounter = &obt_deletes;
    o->DeleteIrql = NULL;
    /* With both a handle and the pointer asked for, the pointer gets a
     * reference of its own (the creation reference becomes the handle's). */
    return ObInsertObject(o, NULL, MAXIMUM_ALLOWED, (Handle != NULL && Object != NULL) ? 1 : 0, Object, Handle);
}

static inline OBJECT_ATTRIBUTES *obt_oa(OBJECT_ATTRIBUTES *oa, UNICODE_STRING *us, PCWSTR Name, ULONG Attributes,
                                        HANDLE Root)
{
    if (Name != NULL)
        RtlInitUnicodeString(us, Name);
    InitializeObjectAttributes(oa, Name ? us : NULL, Attributes, Root, NULL);
    return oa;
}

static inline LONG_PTR obt_pointer_count(PVOID Object)
{
    return __atomic_load_n(&OBJECT_TO_OBJECT_HEADER(Object)->PointerCount, __ATOMIC_SEQ_CST);
}

static inline LONG_PTR obt_handle_count(PVOID Object)
{
    return __atomic_load_n(&OBJECT_TO_OBJECT_HEADER(Object)->HandleCount, __ATOMIC_SEQ_CST);
}

#endif /* NTOS_OB_TEST_H */
