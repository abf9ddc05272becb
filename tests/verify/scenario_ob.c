/*
 * ObDereferenceObject and handle close racing handle lookup under the
 * explorer: a lookup either fails with STATUS_INVALID_HANDLE (once closed,
 * always closed) or returns the live object with a reference of its own; no
 * reference or handle count is lost or duplicated.
 */
#include <ntos/ob.h>
#include <ntos/ex_objects.h>
#include "verify.h"

static HANDLE ob_handle;
static PVOID ob_keep;
static volatile LONG ob_hits, ob_misses;

static VOID NTAPI ob_looker(PVOID Context)
{
    (void)Context;
    BOOLEAN closed = FALSE;
    for (int i = 0; i < 3; i++) {
        PVOID o = NULL;
        NTSTATUS s = ObReferenceObjectByHandle(ob_handle, EVENT_MODIFY_STATE, ExEventObjectType, KernelMode, &o, NULL);
        if (s == STATUS_INVALID_HANDLE) {
            closed = TRUE;
            __atomic_fetch_add(&ob_misses, 1, __ATOMIC_RELAXED);
            continue;
        }
        NTOS_EXPLORE_CHECK(s == STATUS_SUCCESS);
        NTOS_EXPLORE_CHECK(!closed);
        NTOS_EXPLORE_CHECK(o == ob_keep);
        NTOS_EXPLORE_CHECK(OBJECT_TO_OBJECT_HEADER(o)->PointerCount >= 2);
        KeSetEvent(o, 0, FALSE);
        ObDereferenceObject(o);
        __atomic_fetch_add(&ob_hits, 1, __ATOMIC_RELAXED);
    }
}

VERIFY_SCENARIO(ob_close_vs_handle_lookup, 60, 1)
{
    (void)Context;
    static KTHREAD t;
    ob_hits = ob_misses = 0;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    NTOS_EXPLORE_CHECK(ZwCreateEvent(&ob_handle, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE) == STATUS_SUCCESS);
    NTOS_EXPLORE_CHECK(ObReferenceObjectByHandle(ob_handle, 0, ExEventObjectType, KernelMode, &ob_keep, NULL) ==
                       STATUS_SUCCESS);
    vt_start(&t, ob_looker, NULL);
    NTOS_EXPLORE_CHECK(ObCloseHandle(ob_handle, KernelMode) == STATUS_SUCCESS);
    vt_join(&t);
    NTOS_EXPLORE_CHECK(ob_hits + ob_misses == 3);
    PVOID o = NULL;
    NTOS_EXPLORE_CHECK(ObReferenceObjectByHandle(ob_handle, 0, ExEventObjectType, KernelMode, &o, NULL) ==
                       STATUS_INVALID_HANDLE);
    /* Only our own reference is left, and no handle. */
    NTOS_EXPLORE_CHECK(OBJECT_TO_OBJECT_HEADER(ob_keep)->HandleCount == 0);
    NTOS_EXPLORE_CHECK(OBJECT_TO_OBJECT_HEADER(ob_keep)->PointerCount == 1);
    ObDereferenceObject(ob_keep);
}
