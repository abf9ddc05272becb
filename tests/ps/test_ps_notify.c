/*
 * Process, thread and image notify routines: registration rules and limits,
 * the points and contexts they are called at, denial through CreationStatus,
 * removal waiting for calls in flight, and registration racing with calls.
 */
#include "ntos_test.h"
#include <ntos/ps.h>
#include <ntos/rtl.h>

static volatile LONG cap_calls;
static VOID NTAPI cap_0(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_1(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_2(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_3(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_4(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_5(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_6(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_7(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_8(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_9(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_10(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_11(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_12(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_13(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_14(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_15(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_16(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_17(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_18(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_19(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_20(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_21(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_22(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_23(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_24(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_25(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_26(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_27(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_28(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_29(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_30(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_31(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_32(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_33(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_34(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_35(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_36(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_37(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_38(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_39(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_40(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_41(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_42(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_43(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_44(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_45(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_46(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_47(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_48(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_49(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_50(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_51(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_52(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_53(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_54(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_55(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_56(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_57(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_58(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_59(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_60(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_61(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_62(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_63(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static VOID NTAPI cap_64(HANDLE a, HANDLE b, BOOLEAN c) { (void)a, (void)b, (void)c; __atomic_add_fetch(&cap_calls, 1, __ATOMIC_RELAXED); }
static const PCREATE_PROCESS_NOTIFY_ROUTINE cap_routines[65] = {cap_0, cap_1, cap_2, cap_3, cap_4, cap_5, cap_6, cap_7, cap_8, cap_9, cap_10, cap_11, cap_12, cap_13, cap_14, cap_15, cap_16, cap_17, cap_18, cap_19, cap_20, cap_21, cap_22, cap_23, cap_24, cap_25, cap_26, cap_27, cap_28, cap_29, cap_30, cap_31, cap_32, cap_33, cap_34, cap_35, cap_36, cap_37, cap_38, cap_39, cap_40, cap_41, cap_42, cap_43, cap_44, cap_45, cap_46, cap_47, cap_48, cap_49, cap_50, cap_51, cap_52, cap_53, cap_54, cap_55, cap_56, cap_57, cap_58, cap_59, cap_60, cap_61, cap_62, cap_63, cap_64};

/* ---- process ---- */

static struct {
    HANDLE Watch;
    LONG Creates, Exits, ExCreates, ExExits;
    HANDLE Parent;
    PEPROCESS ExProcess;
    PS_CREATE_NOTIFY_INFO Info;
    NTSTATUS Deny;
    BOOLEAN InCriticalRegion;
    KIRQL Irql;
} pn;

static VOID NTAPI proc_classic(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create)
{
    if (ProcessId != pn.Watch)
        return;
    pn.Parent = ParentId;
    pn.Irql = KeGetCurrentIrql();
    pn.InCriticalRegion = KeAreApcsDisabled();
    if (Create)
        pn.Creates++;
    else
        pn.Exits++;
}

static VOID NTAPI proc_ex(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo)
{
    if (PsGetProcessId(Process) != ProcessId)
        return;
    if (CreateInfo != NULL) {
        pn.Watch = ProcessId; /* Ex sees the process first when registered first */
        pn.ExCreates++;
        pn.ExProcess = Process;
        pn.Info = *CreateInfo;
        if (pn.Deny != STATUS_SUCCESS)
            CreateInfo->CreationStatus = pn.Deny;
    } else if (ProcessId == pn.Watch) {
        pn.ExExits++;
    }
}

static void process_notify(void **state)
{
    (void)state;
    RtlZeroMemory(&pn, sizeof(pn));
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx(proc_ex, FALSE), STATUS_SUCCESS);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(proc_classic, FALSE), STATUS_SUCCESS);
    /* Redundant registrations and bad arguments. */
    assert_int_equal(PsSetCreateProcessNotifyRoutine(proc_classic, FALSE), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx(proc_ex, FALSE), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx2(PsCreateProcessNotifySubsystems, (PVOID)proc_ex, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx2((PSCREATEPROCESSNOTIFYTYPE)1, (PVOID)proc_ex, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(NULL, FALSE), STATUS_INVALID_PARAMETER);

    PEPROCESS p;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    HANDLE id = PsGetProcessId(p);
    assert_ptr_equal(pn.Watch, id);
    assert_int_equal(pn.ExCreates, 1);
    assert_int_equal(pn.Creates, 1);
    assert_ptr_equal(pn.ExProcess, p);
    assert_int_equal(pn.Info.Size, sizeof(PS_CREATE_NOTIFY_INFO));
    assert_ptr_equal(pn.Info.ParentProcessId, (HANDLE)4);
    assert_ptr_equal(pn.Info.CreatingThreadId.UniqueProcess, PsGetCurrentProcessId());
    assert_ptr_equal(pn.Info.CreatingThreadId.UniqueThread, PsGetCurrentThreadId());
    assert_int_equal(pn.Info.CreationStatus, STATUS_SUCCESS);
    assert_ptr_equal(pn.Parent, (HANDLE)4);
    assert_int_equal(pn.Irql, PASSIVE_LEVEL);
    assert_true(pn.InCriticalRegion);
    assert_int_equal(pn.Exits, 0);
    ObDereferenceObject(p); /* the last reference: the process exits */
    assert_int_equal(pn.Exits, 1);
    assert_int_equal(pn.ExExits, 1);

    /* An Ex routine refuses the next process. */
    pn.Deny = STATUS_ACCESS_DENIED;
    pn.Creates = pn.Exits = pn.ExExits = 0;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_ACCESS_DENIED);
    assert_null(p);
    assert_int_equal(pn.Creates, 0); /* registered after the refusing routine: not called */
    assert_int_equal(pn.Exits, 0);
    assert_int_equal(pn.ExExits, 0);
    pn.Deny = STATUS_SUCCESS;

    assert_int_equal(PsSetCreateProcessNotifyRoutine(proc_classic, TRUE), STATUS_SUCCESS);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(proc_classic, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx(proc_ex, TRUE), STATUS_SUCCESS);
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx(proc_ex, TRUE), STATUS_INVALID_PARAMETER);
    /* Ex2 registers the same kind of routine. */
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx2(PsCreateProcessNotifySubsystems, (PVOID)proc_ex, FALSE),
                     STATUS_SUCCESS);
    pn.ExCreates = 0;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    assert_int_equal(pn.ExCreates, 1);
    ObDereferenceObject(p);
    assert_int_equal(PsSetCreateProcessNotifyRoutineEx2(PsCreateProcessNotifySubsystems, (PVOID)proc_ex, TRUE),
                     STATUS_SUCCESS);
    pn.ExCreates = 0;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    assert_int_equal(pn.ExCreates, 0);
    ObDereferenceObject(p);
}

static void process_notify_limit(void **state)
{
    (void)state;
    int i;
    for (i = 0; i < PSP_MAX_CREATE_PROCESS_NOTIFY; i++)
        assert_int_equal(PsSetCreateProcessNotifyRoutine(cap_routines[i], FALSE), STATUS_SUCCESS);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(cap_routines[64], FALSE), STATUS_INVALID_PARAMETER);
    cap_calls = 0;
    PEPROCESS p;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    assert_int_equal(cap_calls, 64);
    ObDereferenceObject(p);
    assert_int_equal(cap_calls, 128);
    /* One slot freed: the 65th fits. */
    assert_int_equal(PsSetCreateProcessNotifyRoutine(cap_routines[10], TRUE), STATUS_SUCCESS);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(cap_routines[64], FALSE), STATUS_SUCCESS);
    for (i = 0; i <= 64; i++)
        if (i != 10)
            assert_int_equal(PsSetCreateProcessNotifyRoutine(cap_routines[i], TRUE), STATUS_SUCCESS);
}

/* ---- thread ---- */

static struct {
    HANDLE Thread;
    LONG Creates, Exits;
    HANDLE CreateContextTid, ExitContextTid, ProcessId;
} tn;

static VOID NTAPI thread_notify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    if (ThreadId != __atomic_load_n(&tn.Thread, __ATOMIC_ACQUIRE))
        return;
    tn.ProcessId = ProcessId;
    if (Create) {
        tn.Creates++;
        tn.CreateContextTid = PsGetCurrentThreadId();
    } else {
        tn.Exits++;
        tn.ExitContextTid = PsGetCurrentThreadId();
    }
}

static KEVENT thread_go;
static VOID NTAPI waiting_thread(PVOID Context)
{
    (void)Context;
    KeWaitForSingleObject(&thread_go, Executive, KernelMode, FALSE, NULL);
}

static void thread_notify_points(void **state)
{
    (void)state;
    RtlZeroMemory(&tn, sizeof(tn));
    KeInitializeEvent(&thread_go, NotificationEvent, FALSE);
    assert_int_equal(PsSetCreateThreadNotifyRoutine(thread_notify), STATUS_SUCCESS);
    /* The id is known only once the thread exists, so this test watches the
     * exit; thread_notify_create_context checks the create side. */
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    CLIENT_ID cid;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, &cid, waiting_thread, NULL),
                     STATUS_SUCCESS);
    __atomic_store_n(&tn.Thread, cid.UniqueThread, __ATOMIC_RELEASE);
    KeSetEvent(&thread_go, 0, FALSE);
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &t, NULL), STATUS_SUCCESS);
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(t);
    ZwClose(h);
    assert_int_equal(tn.Exits, 1);
    assert_ptr_equal(tn.ExitContextTid, cid.UniqueThread); /* in the exiting thread */
    assert_ptr_equal(tn.ProcessId, (HANDLE)4);

    assert_int_equal(PsRemoveCreateThreadNotifyRoutine(thread_notify), STATUS_SUCCESS);
    assert_int_equal(PsRemoveCreateThreadNotifyRoutine(thread_notify), STATUS_PROCEDURE_NOT_FOUND);
    assert_int_equal(PsSetCreateThreadNotifyRoutineEx((PSCREATETHREADNOTIFYTYPE)7, (PVOID)thread_notify),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateThreadNotifyRoutine(NULL), STATUS_INVALID_PARAMETER);
}

static struct {
    LONG Count;
    HANDLE Ids[16];
    HANDLE Context[16];
} tc;

static VOID NTAPI thread_create_recorder(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    (void)ProcessId;
    if (!Create)
        return;
    LONG i = __atomic_fetch_add(&tc.Count, 1, __ATOMIC_RELAXED);
    if (i < 16) {
        tc.Ids[i] = ThreadId;
        tc.Context[i] = PsGetCurrentThreadId();
    }
}

static void thread_notify_create_context(void **state)
{
    (void)state;
    RtlZeroMemory(&tc, sizeof(tc));
    KeInitializeEvent(&thread_go, NotificationEvent, TRUE);
    assert_int_equal(PsSetCreateThreadNotifyRoutineEx(PsCreateThreadNotifyNonSystem, (PVOID)thread_create_recorder),
                     STATUS_SUCCESS);
    /* Thread routines may be registered twice; each registration is called. */
    assert_int_equal(PsSetCreateThreadNotifyRoutine(thread_create_recorder), STATUS_SUCCESS);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    CLIENT_ID cid;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, &cid, waiting_thread, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(PsRemoveCreateThreadNotifyRoutine(thread_create_recorder), STATUS_SUCCESS);
    assert_int_equal(PsRemoveCreateThreadNotifyRoutine(thread_create_recorder), STATUS_SUCCESS);
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &t, NULL), STATUS_SUCCESS);
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(t);
    ZwClose(h);
    int seen = 0;
    for (LONG i = 0; i < tc.Count && i < 16; i++) {
        if (tc.Ids[i] == cid.UniqueThread) {
            seen++;
            assert_ptr_equal(tc.Context[i], PsGetCurrentThreadId()); /* the creator's context */
        }
    }
    assert_int_equal(seen, 2);
}

static void thread_notify_limit(void **state)
{
    (void)state;
    for (int i = 0; i < PSP_MAX_CREATE_THREAD_NOTIFY; i++)
        assert_int_equal(PsSetCreateThreadNotifyRoutine((PCREATE_THREAD_NOTIFY_ROUTINE)cap_routines[0]),
                         STATUS_SUCCESS);
    assert_int_equal(PsSetCreateThreadNotifyRoutine((PCREATE_THREAD_NOTIFY_ROUTINE)cap_routines[1]),
                     STATUS_INSUFFICIENT_RESOURCES);
    for (int i = 0; i < PSP_MAX_CREATE_THREAD_NOTIFY; i++)
        assert_int_equal(PsRemoveCreateThreadNotifyRoutine((PCREATE_THREAD_NOTIFY_ROUTINE)cap_routines[0]),
                         STATUS_SUCCESS);
    assert_int_equal(PsRemoveCreateThreadNotifyRoutine((PCREATE_THREAD_NOTIFY_ROUTINE)cap_routines[0]),
                     STATUS_PROCEDURE_NOT_FOUND);
}

/* ---- image ---- */

static struct {
    LONG Classic, Conflicting;
    PUNICODE_STRING Name;
    HANDLE Pid;
    PVOID Base;
} in;

static VOID NTAPI image_classic(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    in.Classic++;
    in.Name = FullImageName;
    in.Pid = ProcessId;
    in.Base = ImageInfo->ImageBase;
}

static VOID NTAPI image_conflicting(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    (void)FullImageName, (void)ProcessId, (void)ImageInfo;
    in.Conflicting++;
}

static void image_notify(void **state)
{
    (void)state;
    RtlZeroMemory(&in, sizeof(in));
    assert_int_equal(PsSetLoadImageNotifyRoutine(image_classic), STATUS_SUCCESS);
    assert_int_equal(PsSetLoadImageNotifyRoutineEx(image_conflicting, PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE),
                     STATUS_SUCCESS);
    assert_int_equal(PsSetLoadImageNotifyRoutineEx(image_conflicting, 2), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetLoadImageNotifyRoutine(NULL), STATUS_INVALID_PARAMETER);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\SystemRoot\\System32\\drivers\\test.sys");
    IMAGE_INFO info;
    RtlZeroMemory(&info, sizeof(info));
    info.SystemModeImage = 1;
    info.ImageBase = (PVOID)0x140000000ULL;
    info.ImageSize = 0x3000;
    PspCallImageNotifyRoutines(&name, NULL, &info);
    assert_int_equal(in.Classic, 1);
    assert_int_equal(in.Conflicting, 1);
    assert_ptr_equal(in.Name, &name);
    assert_null(in.Pid);
    assert_ptr_equal(in.Base, (PVOID)0x140000000ULL);
    /* Another architecture: only the routine that asked for those. */
    info.MachineTypeMismatch = 1;
    PspCallImageNotifyRoutines(&name, NULL, &info);
    assert_int_equal(in.Classic, 1);
    assert_int_equal(in.Conflicting, 2);
    assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_classic), STATUS_SUCCESS);
    assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_classic), STATUS_PROCEDURE_NOT_FOUND);
    assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_conflicting), STATUS_SUCCESS);
    info.MachineTypeMismatch = 0;
    PspCallImageNotifyRoutines(&name, NULL, &info);
    assert_int_equal(in.Classic, 1);
    for (int i = 0; i < PSP_MAX_LOAD_IMAGE_NOTIFY; i++)
        assert_int_equal(PsSetLoadImageNotifyRoutine(image_classic), STATUS_SUCCESS);
    assert_int_equal(PsSetLoadImageNotifyRoutine(image_classic), STATUS_INSUFFICIENT_RESOURCES);
    for (int i = 0; i < PSP_MAX_LOAD_IMAGE_NOTIFY; i++)
        assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_classic), STATUS_SUCCESS);
}

/* ---- removal waits for calls in flight ---- */

static KEVENT blk_entered, blk_release;
static volatile LONG remover_done;

static VOID NTAPI image_blocking(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    (void)FullImageName, (void)ProcessId, (void)ImageInfo;
    KeSetEvent(&blk_entered, 0, FALSE);
    KeWaitForSingleObject(&blk_release, Executive, KernelMode, FALSE, NULL);
}

static VOID NTAPI caller_thread(PVOID Context)
{
    (void)Context;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"x.sys");
    IMAGE_INFO info;
    RtlZeroMemory(&info, sizeof(info));
    PspCallImageNotifyRoutines(&name, NULL, &info);
}

static VOID NTAPI remover_thread(PVOID Context)
{
    NTSTATUS *status = Context;
    *status = PsRemoveLoadImageNotifyRoutine(image_blocking);
    __atomic_store_n(&remover_done, 1, __ATOMIC_RELEASE);
}

static PVOID start(PKSTART_ROUTINE Routine, PVOID Context)
{
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, Routine, Context), STATUS_SUCCESS);
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &t, NULL), STATUS_SUCCESS);
    ZwClose(h);
    return t;
}

static void removal_waits_for_callers(void **state)
{
    (void)state;
    KeInitializeEvent(&blk_entered, NotificationEvent, FALSE);
    KeInitializeEvent(&blk_release, NotificationEvent, FALSE);
    remover_done = 0;
    assert_int_equal(PsSetLoadImageNotifyRoutine(image_blocking), STATUS_SUCCESS);
    PVOID caller = start(caller_thread, NULL);
    KeWaitForSingleObject(&blk_entered, Executive, KernelMode, FALSE, NULL);
    static NTSTATUS removeStatus = STATUS_PENDING;
    PVOID remover = start(remover_thread, &removeStatus);
    LARGE_INTEGER delay = {.QuadPart = -20 * 10000};
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    assert_int_equal(__atomic_load_n(&remover_done, __ATOMIC_ACQUIRE), 0);
    KeSetEvent(&blk_release, 0, FALSE);
    KeWaitForSingleObject(remover, Executive, KernelMode, FALSE, NULL);
    KeWaitForSingleObject(caller, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(removeStatus, STATUS_SUCCESS);
    ObDereferenceObject(remover);
    ObDereferenceObject(caller);
}

/* ---- registrations racing with calls ---- */

static volatile LONG race_stop, race_removed, race_late_calls, race_calls;

static VOID NTAPI image_counting(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    (void)FullImageName, (void)ProcessId, (void)ImageInfo;
    __atomic_add_fetch(&race_calls, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&race_removed, __ATOMIC_ACQUIRE))
        __atomic_add_fetch(&race_late_calls, 1, __ATOMIC_RELAXED);
}

static VOID NTAPI race_caller(PVOID Context)
{
    (void)Context;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"race.sys");
    IMAGE_INFO info;
    RtlZeroMemory(&info, sizeof(info));
    /* Bursts of calls with a short sleep between them, so the registering
     * thread is never starved of a processor. */
    for (ULONG n = 1; !__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE); n++) {
        PspCallImageNotifyRoutines(&name, NULL, &info);
        if (n % 64 == 0) {
            LARGE_INTEGER d = {.QuadPart = -1000};
            KeDelayExecutionThread(KernelMode, FALSE, &d);
        }
    }
}

static void register_remove_race(void **state)
{
    (void)state;
    race_stop = race_removed = race_late_calls = race_calls = 0;
    PKTHREAD self = KeGetCurrentThread();
    /* Restore the base, not the current priority: the current one may carry a
     * transient wait boost, which KeSetPriorityThread would make permanent. */
    KPRIORITY oldPriority = self->BasePriority;
    KeSetPriorityThread(self, 15);
    PVOID callers[3];
    for (int i = 0; i < 3; i++)
        callers[i] = start(race_caller, NULL);
    for (int round = 0; round < 200; round++) {
        __atomic_store_n(&race_removed, 0, __ATOMIC_RELEASE);
        assert_int_equal(PsSetLoadImageNotifyRoutine(image_counting), STATUS_SUCCESS);
        LARGE_INTEGER d = {.QuadPart = -1000};
        if (round % 16 == 0)
            KeDelayExecutionThread(KernelMode, FALSE, &d);
        assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_counting), STATUS_SUCCESS);
        /* Once removal returned, no call of the routine may still start or run. */
        __atomic_store_n(&race_removed, 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++) {
        KeWaitForSingleObject(callers[i], Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(callers[i]);
    }
    KeSetPriorityThread(self, oldPriority);
    assert_int_equal(race_late_calls, 0);
    assert_true(race_calls > 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(process_notify),
    cmocka_unit_test(process_notify_limit),
    cmocka_unit_test(thread_notify_points),
    cmocka_unit_test(thread_notify_create_context),
    cmocka_unit_test(thread_notify_limit),
    cmocka_unit_test(image_notify),
    cmocka_unit_test(removal_waits_for_callers),
    cmocka_unit_test(register_remove_race),
};

NTOS_TEST_GROUP(ps_notify, tests, NULL, NULL);
