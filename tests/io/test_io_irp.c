/*
 * The IRP engine: allocation and initialisation, IofCallDriver through a
 * hand-built three-device stack, the completion walk (routine order, device
 * objects, invoke flags, STATUS_MORE_PROCESSING_REQUIRED and re-completion,
 * pending propagation), associated IRPs, the thread APC completion (status
 * block, event, APC routine, deferred completion) synchronously, from a timer
 * DPC and from another thread, the per-thread queries, and every bug check.
 */
#include "io_irp_test.h"
#include <ntos/ps.h>

/* ---- a three-device stack: top (filter) -> mid (filter) -> bottom -------------------------- */

typedef enum { BOTTOM_COMPLETE, BOTTOM_PEND } bottom_mode;

static struct {
    PDRIVER_OBJECT filterDriver, bottomDriver;
    PDEVICE_OBJECT top, mid, bottom;
    bottom_mode mode;
    NTSTATUS bottomStatus;
    ULONG_PTR bottomInfo;
    PIRP pendingIrp;
    /* completion log */
    int order[8];
    PDEVICE_OBJECT devices[8];
    BOOLEAN pending[8];
    int count;
    BOOLEAN midMoreProcessing;
    BOOLEAN filtersSetRoutines;
    BOOLEAN midMarksPending;
} st;

enum { WHO_MID = 1, WHO_TOP = 2, WHO_OWNER = 3 };

static NTSTATUS NTAPI log_completion(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    int who = (int)(LONG_PTR)Context;
    st.order[st.count] = who;
    st.devices[st.count] = Device;
    st.pending[st.count] = Irp->PendingReturned;
    st.count++;
    if (who == WHO_MID) {
        /* The routine runs in mid's own location, and the one below was cleared. */
        assert_ptr_equal(IoGetCurrentIrpStackLocation(Irp)->DeviceObject, st.mid);
        PIO_STACK_LOCATION below = IoGetCurrentIrpStackLocation(Irp) - 1;
        assert_null(below->DeviceObject);
        assert_null(below->CompletionRoutine);
        assert_int_equal(below->Control, 0);
        if (st.midMoreProcessing)
            return STATUS_MORE_PROCESSING_REQUIRED;
        if (st.midMarksPending && Irp->PendingReturned)
            IoMarkIrpPending(Irp);
    }
    if (who == WHO_OWNER)
        return STATUS_MORE_PROCESSING_REQUIRED;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI filter_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    PDEVICE_OBJECT lower = iot_lower(Device);
    if (st.filtersSetRoutines) {
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, log_completion, (PVOID)(LONG_PTR)(Device == st.mid ? WHO_MID : WHO_TOP), TRUE,
                               TRUE, TRUE);
    } else {
        IoSkipCurrentIrpStackLocation(Irp);
    }
    return IoCallDriver(lower, Irp);
}

static NTSTATUS NTAPI bottom_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    assert_ptr_equal(Device, st.bottom);
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    assert_ptr_equal(sp->DeviceObject, st.bottom);
    /* Filters that copy their location use one each; skipping ones none. */
    if (st.filtersSetRoutines)
        assert_int_equal(Irp->CurrentLocation, 1);
    if (st.mode == BOTTOM_PEND) {
        IoMarkIrpPending(Irp);
        st.pendingIrp = Irp;
        return STATUS_PENDING;
    }
    Irp->IoStatus.Status = st.bottomStatus;
    Irp->IoStatus.Information = st.bottomInfo;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st.bottomStatus;
}

static int stack_setup(void **state)
{
    (void)state;
    RtlZeroMemory(&st, sizeof(st));
    st.filterDriver = iot_driver(filter_dispatch);
    st.bottomDriver = iot_driver(bottom_dispatch);
    st.bottom = iot_device(st.bottomDriver, NULL, NULL);
    st.mid = iot_device(st.filterDriver, st.bottom, st.bottom);
    st.top = iot_device(st.filterDriver, st.mid, st.mid);
    st.bottomStatus = STATUS_SUCCESS;
    st.filtersSetRoutines = TRUE;
    return 0;
}

static int stack_teardown(void **state)
{
    (void)state;
    iot_free(st.top);
    iot_free(st.mid);
    iot_free(st.bottom);
    iot_free(st.filterDriver);
    iot_free(st.bottomDriver);
    return 0;
}

/* An owner IRP for the top of the stack with the owner's routine on its first location. */
static PIRP owner_irp(UCHAR Major)
{
    PIRP irp = IoAllocateIrp(st.top->StackSize, FALSE);
    assert_non_null(irp);
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = Major;
    IoSetCompletionRoutine(irp, log_completion, (PVOID)(LONG_PTR)WHO_OWNER, TRUE, TRUE, TRUE);
    return irp;
}

/* ---- allocation ------------------------------------------------------------------------------------ */

static void allocate_initialises(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PIRP irp = IoAllocateIrp(3, FALSE);
    assert_non_null(irp);
    assert_int_equal(irp->Type, IO_TYPE_IRP);
    assert_int_equal(irp->Size, IoSizeOfIrp(3));
    assert_int_equal(irp->Size, sizeof(IRP) + 3 * sizeof(IO_STACK_LOCATION));
    assert_int_equal(irp->StackCount, 3);
    assert_int_equal(irp->CurrentLocation, 4);
    assert_ptr_equal(IoGetCurrentIrpStackLocation(irp), (PIO_STACK_LOCATION)(irp + 1) + 3);
    assert_ptr_equal(IoGetNextIrpStackLocation(irp), (PIO_STACK_LOCATION)(irp + 1) + 2);
    assert_true(IsListEmpty(&irp->ThreadListEntry));
    assert_null(irp->Tail.Overlay.Thread);
    assert_null(irp->MdlAddress);
    assert_int_equal(irp->Flags, 0);
    assert_int_equal(irp->Cancel, FALSE);
    assert_null(irp->CancelRoutine);
    assert_int_equal(irp->ApcEnvironment, OriginalApcEnvironment);
    assert_int_equal(iot_pool_live(IOP_IRP_TAG), m.irps + 1);
    IoFreeIrp(irp);
    iot_pool_check(&m);

    irp = IoAllocateIrpEx(NULL, 1, TRUE);
    assert_non_null(irp);
    assert_int_equal(IoSizeOfIrpEx(NULL, 1), IoSizeOfIrp(1));
    IoFreeIrp(irp);
    /* Boundaries: no stack location at all, and sizes a CHAR location cannot hold. */
    irp = IoAllocateIrp(0, FALSE);
    assert_non_null(irp);
    assert_int_equal(irp->CurrentLocation, 1);
    IoFreeIrp(irp);
    assert_null(IoAllocateIrp(-1, FALSE));
    assert_null(IoAllocateIrp(127, FALSE));
    irp = IoAllocateIrp(126, FALSE);
    assert_non_null(irp);
    assert_int_equal(irp->CurrentLocation, 127);
    IoFreeIrp(irp);
    iot_pool_check(&m);
}

static void initialize_and_reuse(void **state)
{
    (void)state;
    union {
        IRP irp;
        UCHAR bytes[sizeof(IRP) + 2 * sizeof(IO_STACK_LOCATION)];
    } buf;
    RtlFillMemory(&buf, sizeof(buf), 0xAB);
    IoInitializeIrp(&buf.irp, IoSizeOfIrp(2), 2);
    assert_int_equal(buf.irp.Type, IO_TYPE_IRP);
    assert_int_equal(buf.irp.StackCount, 2);
    assert_int_equal(buf.irp.CurrentLocation, 3);
    assert_int_equal(buf.irp.AllocationFlags, 0);
    assert_int_equal(buf.irp.IoStatus.Information, 0);

    PIRP irp = IoAllocateIrp(2, FALSE);
    irp->AllocationFlags = IRP_ALLOCATED_FIXED_SIZE;
    irp->Flags = IRP_BUFFERED_IO;
    irp->Cancel = TRUE;
    IoSetNextIrpStackLocation(irp);
    irp->IoStatus.Information = 99;
    IoReuseIrp(irp, STATUS_NOT_SUPPORTED);
    assert_int_equal(irp->AllocationFlags, IRP_ALLOCATED_FIXED_SIZE);
    assert_int_equal(irp->IoStatus.Status, STATUS_NOT_SUPPORTED);
    assert_int_equal(irp->IoStatus.Information, 0);
    assert_int_equal(irp->Flags, 0);
    assert_int_equal(irp->Cancel, FALSE);
    assert_int_equal(irp->CurrentLocation, 3);
    assert_int_equal(irp->Size, IoSizeOfIrp(2));
    IoFreeIrp(irp);
}

static void free_misuse_bugchecks(void **state)
{
    (void)state;
    UCHAR junk[sizeof(IRP)];
    RtlZeroMemory(junk, sizeof(junk));
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoFreeIrp((PIRP)junk));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_FREE_NOT_IRP);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)junk);

    PIRP irp = IoAllocateIrp(1, FALSE);
    LIST_ENTRY someList;
    InitializeListHead(&someList);
    InsertTailList(&someList, &irp->ThreadListEntry);
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoFreeIrp(irp));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_FREE_QUEUED_IRP);
    RemoveEntryList(&irp->ThreadListEntry);
    InitializeListHead(&irp->ThreadListEntry);
    IoFreeIrp(irp);
}

/* ---- calling drivers ------------------------------------------------------------------------------- */

static void call_driver_walks_down_the_stack(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    st.bottomInfo = 42;
    PIRP irp = owner_irp(IRP_MJ_READ);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_SUCCESS);
    /* Completion order is bottom-up: mid's routine, top's, the owner's. */
    assert_int_equal(st.count, 3);
    assert_int_equal(st.order[0], WHO_MID);
    assert_int_equal(st.order[1], WHO_TOP);
    assert_int_equal(st.order[2], WHO_OWNER);
    /* Each routine gets the device of the driver that set it; the owner, with
     * no location of its own, gets NULL. */
    assert_ptr_equal(st.devices[0], st.mid);
    assert_ptr_equal(st.devices[1], st.top);
    assert_null(st.devices[2]);
    assert_int_equal(irp->IoStatus.Information, 42);
    assert_int_equal(irp->CurrentLocation, irp->StackCount + 1);
    IoFreeIrp(irp);
    iot_pool_check(&m);
}

static void missing_dispatch_is_invalid_request(void **state)
{
    (void)state;
    st.bottomDriver->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = NULL;
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    IoSetCompletionRoutine(irp, log_completion, (PVOID)(LONG_PTR)WHO_OWNER, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(st.bottom, irp), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(irp->IoStatus.Status, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(st.count, 1);
    IoFreeIrp(irp);
    /* A major code past IRP_MJ_MAXIMUM_FUNCTION is not indexed. */
    irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = 0x40;
    IoSetCompletionRoutine(irp, log_completion, (PVOID)(LONG_PTR)WHO_OWNER, TRUE, TRUE, TRUE);
    assert_int_equal(IofCallDriver(st.bottom, irp), STATUS_INVALID_DEVICE_REQUEST);
    IoFreeIrp(irp);
}

static void call_driver_bugchecks(void **state)
{
    (void)state;
    PIRP irp = IoAllocateIrp(0, FALSE);
    expect_bugcheck(NO_MORE_IRP_STACK_LOCATIONS, IoCallDriver(st.bottom, irp));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)irp);
    IoFreeIrp(irp);

    irp = IoAllocateIrp(1, FALSE);
    UCHAR junk[sizeof(DEVICE_OBJECT)];
    RtlZeroMemory(junk, sizeof(junk));
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoCallDriver((PDEVICE_OBJECT)junk, irp));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_CALL_BAD_DEVICE);
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoCallDriver(st.bottom, (PIRP)junk));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_CALL_NOT_IRP);
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, {
        KIRQL old;
        KeRaiseIrql(HIGH_LEVEL, &old);
        IoCallDriver(st.bottom, irp);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_CALL_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], HIGH_LEVEL);
    assert_int_equal(irp->CurrentLocation, 2);
    IoFreeIrp(irp);
}

/* ---- completion ----------------------------------------------------------------------------------- */

static void more_processing_stops_and_resumes(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    st.midMoreProcessing = TRUE;
    PIRP irp = owner_irp(IRP_MJ_WRITE);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_SUCCESS);
    assert_int_equal(st.count, 1);
    assert_int_equal(st.order[0], WHO_MID);
    /* Mid owns the IRP again, at its own location; it finishes it later. */
    assert_ptr_equal(IoGetCurrentIrpStackLocation(irp)->DeviceObject, st.mid);
    st.midMoreProcessing = FALSE;
    irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_int_equal(st.count, 3);
    assert_int_equal(st.order[1], WHO_TOP);
    assert_int_equal(st.order[2], WHO_OWNER);
    IoFreeIrp(irp);
    iot_pool_check(&m);
}

static void pending_propagates_without_routines(void **state)
{
    (void)state;
    st.filtersSetRoutines = FALSE;
    st.mode = BOTTOM_PEND;
    PIRP irp = owner_irp(IRP_MJ_READ);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_PENDING);
    assert_ptr_equal(st.pendingIrp, irp);
    assert_int_equal(st.count, 0);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    /* The filters skipped their locations, so the bottom's location was the
     * one the owner set up and the owner sees the pending mark. */
    assert_int_equal(st.count, 1);
    assert_int_equal(st.order[0], WHO_OWNER);
    assert_true(st.pending[0]);
    IoFreeIrp(irp);
}

static void pending_through_routines(void **state)
{
    (void)state;
    st.mode = BOTTOM_PEND;
    /* Mid's routine does not re-mark pending: top (and so the owner) never
     * see it, as a routine that forgets IoMarkIrpPending would cause. */
    PIRP irp = owner_irp(IRP_MJ_READ);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_PENDING);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_int_equal(st.count, 3);
    assert_true(st.pending[0]);
    assert_false(st.pending[1]);
    assert_false(st.pending[2]);
    IoFreeIrp(irp);
    /* With the documented IoMarkIrpPending in the routine it travels up. */
    st.count = 0;
    st.midMarksPending = TRUE;
    irp = owner_irp(IRP_MJ_READ);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_PENDING);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_int_equal(st.count, 3);
    assert_true(st.pending[0]);
    assert_true(st.pending[1]);
    IoFreeIrp(irp);
}

static volatile LONG flag_calls;
static NTSTATUS NTAPI count_completion(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    (void)Device;
    (void)Irp;
    (void)Context;
    __atomic_add_fetch(&flag_calls, 1, __ATOMIC_SEQ_CST);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void invoke_flags_are_honoured(void **state)
{
    (void)state;
    static const struct {
        BOOLEAN onSuccess, onError, onCancel, cancel;
        NTSTATUS status;
        LONG calls;
    } cases[] = {
        {TRUE, FALSE, FALSE, FALSE, STATUS_SUCCESS, 1},
        {FALSE, TRUE, FALSE, FALSE, STATUS_SUCCESS, 0},
        {FALSE, TRUE, FALSE, FALSE, STATUS_UNSUCCESSFUL, 1},
        {TRUE, FALSE, FALSE, FALSE, STATUS_UNSUCCESSFUL, 0},
        /* A warning is not NT_SUCCESS: the error flag covers it. */
        {FALSE, TRUE, FALSE, FALSE, STATUS_BUFFER_OVERFLOW, 1},
        {FALSE, FALSE, TRUE, FALSE, STATUS_CANCELLED, 0},
        {FALSE, FALSE, TRUE, TRUE, STATUS_CANCELLED, 1},
        {FALSE, FALSE, TRUE, TRUE, STATUS_SUCCESS, 1},
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(cases); i++) {
        flag_calls = 0;
        PIRP irp = IoAllocateIrp(1, FALSE);
        IoSetCompletionRoutine(irp, count_completion, NULL, cases[i].onSuccess, cases[i].onError,
                               cases[i].onCancel);
        IoSetNextIrpStackLocation(irp);
        irp->Cancel = cases[i].cancel;
        irp->IoStatus.Status = cases[i].status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        assert_int_equal(flag_calls, cases[i].calls);
        IoFreeIrp(irp);
    }
}

static void completion_bugchecks(void **state)
{
    (void)state;
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoSetNextIrpStackLocation(irp);
    irp->IoStatus.Status = STATUS_PENDING;
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoCompleteRequest(irp, IO_NO_INCREMENT));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_COMPLETE_PENDING);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG)STATUS_PENDING);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)irp);
    irp->IoStatus.Status = (NTSTATUS)-1;
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoCompleteRequest(irp, IO_NO_INCREMENT));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_COMPLETE_PENDING);

    irp->IoStatus.Status = STATUS_SUCCESS;
    IoSetCancelRoutine(irp, (PDRIVER_CANCEL)(PVOID)count_completion);
    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IoCompleteRequest(irp, IO_NO_INCREMENT));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_COMPLETE_WITH_CANCEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)irp);
    IoSetCancelRoutine(irp, NULL);

    expect_bugcheck(DRIVER_VERIFIER_IOMANAGER_VIOLATION, {
        KIRQL old;
        KeRaiseIrql(HIGH_LEVEL, &old);
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], IOP_VIOLATION_COMPLETE_IRQL);

    /* Completed once (no thread: left to its owner), then again. */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_int_equal(irp->CurrentLocation, irp->StackCount + 2);
    expect_bugcheck(MULTIPLE_IRP_COMPLETE_REQUESTS, IoCompleteRequest(irp, IO_NO_INCREMENT));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)irp);
    IoFreeIrp(irp);

    UCHAR junk[sizeof(IRP)];
    RtlZeroMemory(junk, sizeof(junk));
    expect_bugcheck(MULTIPLE_IRP_COMPLETE_REQUESTS, IoCompleteRequest((PIRP)junk, IO_NO_INCREMENT));
}

/* ---- associated IRPs ---------------------------------------------------------------------------------- */

static void associated_irps_complete_the_master(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    st.filtersSetRoutines = FALSE;
    PIRP master = IoAllocateIrp(1, FALSE);
    IoSetCompletionRoutine(master, log_completion, (PVOID)(LONG_PTR)WHO_OWNER, TRUE, TRUE, TRUE);
    IoSetNextIrpStackLocation(master);
    PIRP a1 = IoMakeAssociatedIrp(master, st.bottom->StackSize);
    PIRP a2 = IoMakeAssociatedIrp(master, st.bottom->StackSize);
    assert_non_null(a1);
    assert_non_null(a2);
    assert_true(a1->Flags & IRP_ASSOCIATED_IRP);
    assert_ptr_equal(a1->AssociatedIrp.MasterIrp, master);
    master->AssociatedIrp.IrpCount = 2;
    master->IoStatus.Status = STATUS_SUCCESS;
    IoGetNextIrpStackLocation(a1)->MajorFunction = IRP_MJ_READ;
    IoGetNextIrpStackLocation(a2)->MajorFunction = IRP_MJ_READ;
    assert_int_equal(IoCallDriver(st.bottom, a1), STATUS_SUCCESS);
    assert_int_equal(st.count, 0);
    assert_int_equal(master->AssociatedIrp.IrpCount, 1);
    assert_int_equal(IoCallDriver(st.bottom, a2), STATUS_SUCCESS);
    /* The last associated IRP completed the master; both were freed. */
    assert_int_equal(st.count, 1);
    assert_int_equal(st.order[0], WHO_OWNER);
    IoFreeIrp(master);
    iot_pool_check(&m);
}

/* ---- completion to a thread ---------------------------------------------------------------------------- */

static volatile LONG apc_calls;
static PVOID apc_context;
static PIO_STATUS_BLOCK apc_iosb;
static VOID NTAPI user_apc(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved)
{
    assert_int_equal(Reserved, 0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    apc_context = ApcContext;
    apc_iosb = IoStatusBlock;
    __atomic_add_fetch(&apc_calls, 1, __ATOMIC_SEQ_CST);
}

static PIRP thread_irp(PKEVENT Event, PIO_STATUS_BLOCK Iosb)
{
    PIRP irp = IoAllocateIrp(st.top->StackSize, FALSE);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    irp->UserEvent = Event;
    irp->UserIosb = Iosb;
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    IoQueueThreadIrp(irp);
    return irp;
}

static void synchronous_thread_completion(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = {{(NTSTATUS)0x12345}, 7};
    st.bottomInfo = 13;
    st.filtersSetRoutines = FALSE;
    PIRP irp = thread_irp(&ev, &iosb);
    irp->Overlay.AsynchronousParameters.UserApcRoutine = user_apc;
    irp->Overlay.AsynchronousParameters.UserApcContext = &ev;
    apc_calls = 0;
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_SUCCESS);
    /* The completion APC ran in this thread at the first chance (PASSIVE_LEVEL). */
    assert_int_equal(KeReadStateEvent(&ev), 1);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 13);
    assert_int_equal(apc_calls, 1);
    assert_ptr_equal(apc_context, &ev);
    assert_ptr_equal(apc_iosb, &iosb);
    iot_pool_check(&m);

    /* A synchronous failure without a file object still reports. */
    KeClearEvent(&ev);
    st.bottomStatus = STATUS_UNSUCCESSFUL;
    irp = thread_irp(&ev, &iosb);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_UNSUCCESSFUL);
    assert_int_equal(iosb.Status, STATUS_UNSUCCESSFUL);
    assert_int_equal(KeReadStateEvent(&ev), 1);
    iot_pool_check(&m);
}

static void deferred_completion_is_left_to_the_issuer(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = {{(NTSTATUS)0x777}, 0};
    st.bottomInfo = 5;
    PIRP irp = thread_irp(&ev, &iosb);
    irp->Flags |= IRP_DEFER_IO_COMPLETION;
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, 0x777);
    assert_int_equal(KeReadStateEvent(&ev), 0);
    assert_int_equal(iot_pool_live(IOP_IRP_TAG), m.irps + 1);
    IopCompleteRequestInline(irp);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_int_equal(KeReadStateEvent(&ev), 1);
    iot_pool_check(&m);
}

static KTIMER dpc_timer;
static KDPC dpc_completer;
static volatile LONG dpc_irql_ok;
static VOID NTAPI complete_from_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    PIRP irp = Context;
    __atomic_store_n(&dpc_irql_ok, KeGetCurrentIrql() == DISPATCH_LEVEL, __ATOMIC_SEQ_CST);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 99;
    IoCompleteRequest(irp, IO_DISK_INCREMENT);
}

static void asynchronous_completion_from_a_dpc(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    KEVENT ev;
    KeInitializeEvent(&ev, SynchronizationEvent, FALSE);
    IO_STATUS_BLOCK iosb = {{(NTSTATUS)-2}, 0};
    st.mode = BOTTOM_PEND;
    PIRP irp = thread_irp(&ev, &iosb);
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_PENDING);
    KeInitializeDpc(&dpc_completer, complete_from_dpc, irp);
    KeInitializeTimer(&dpc_timer);
    KeSetTimer(&dpc_timer, kt_ms(20), &dpc_completer);
    LARGE_INTEGER timeout = kt_ms(10000);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &timeout), STATUS_SUCCESS);
    assert_true(dpc_irql_ok);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 99);
    iot_pool_check(&m);
}

static VOID NTAPI complete_from_thread(PVOID Context)
{
    PIRP irp = Context;
    irp->IoStatus.Status = STATUS_END_OF_FILE;
    irp->IoStatus.Information = 3;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void asynchronous_completion_from_another_thread(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = {{(NTSTATUS)-2}, 0};
    st.mode = BOTTOM_PEND;
    PIRP irp = thread_irp(&ev, &iosb);
    irp->Overlay.AsynchronousParameters.UserApcRoutine = user_apc;
    irp->Overlay.AsynchronousParameters.UserApcContext = irp;
    apc_calls = 0;
    assert_int_equal(IoCallDriver(st.top, irp), STATUS_PENDING);
    KTHREAD t;
    kt_start(&t, complete_from_thread, irp, 8);
    LARGE_INTEGER timeout = kt_ms(10000);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &timeout), STATUS_SUCCESS);
    kt_join(&t);
    /* An error after STATUS_PENDING is reported through the status block. */
    assert_int_equal(iosb.Status, STATUS_END_OF_FILE);
    assert_int_equal(iosb.Information, 3);
    /* The APC routine runs in the issuing thread once it is at PASSIVE_LEVEL. */
    for (int i = 0; i < 1000 && __atomic_load_n(&apc_calls, __ATOMIC_SEQ_CST) == 0; i++)
        kt_sleep_ms(1);
    assert_int_equal(apc_calls, 1);
    assert_ptr_equal(apc_context, irp);
    iot_pool_check(&m);
}

/* ---- executive threads: the IRP list and I/O cancellation at exit ------------------------------------- */

static volatile LONG exit_cancelled;
static VOID NTAPI exit_cancel_routine(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    __atomic_add_fetch(&exit_cancelled, 1, __ATOMIC_SEQ_CST);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS NTAPI pend_cancelable(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    IoMarkIrpPending(Irp);
    IoSetCancelRoutine(Irp, exit_cancel_routine);
    return STATUS_PENDING;
}

static volatile LONG exit_queued;
static IO_STATUS_BLOCK exit_iosb;
static VOID NTAPI thread_with_pending_io(PVOID Context)
{
    PDEVICE_OBJECT dev = Context;
    PETHREAD self = PsGetCurrentThread();
    assert_true(IsListEmpty(&self->IrpList));
    assert_null(IoGetTopLevelIrp());
    PIRP irp = IoAllocateIrp(dev->StackSize, FALSE);
    irp->Tail.Overlay.Thread = self;
    irp->UserIosb = &exit_iosb;
    IoQueueThreadIrp(irp);
    assert_ptr_equal(self->IrpList.Flink, &irp->ThreadListEntry);
    IoSetTopLevelIrp(irp);
    assert_ptr_equal(IoGetTopLevelIrp(), irp);
    IoSetTopLevelIrp(NULL);
    assert_int_equal(IoCallDriver(dev, irp), STATUS_PENDING);
    __atomic_store_n(&exit_queued, IsListEmpty(&self->IrpList) ? 0 : 1, __ATOMIC_SEQ_CST);
    /* Returning terminates the thread: its pending IRP is cancelled first. */
}

static void thread_exit_cancels_its_io(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PDRIVER_OBJECT drv = iot_driver(pend_cancelable);
    PDEVICE_OBJECT dev = iot_device(drv, NULL, NULL);
    exit_cancelled = 0;
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, thread_with_pending_io, dev),
                     STATUS_SUCCESS);
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &t, NULL), STATUS_SUCCESS);
    LARGE_INTEGER timeout = kt_ms(20000);
    assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &timeout), STATUS_SUCCESS);
    ObDereferenceObject(t);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(exit_queued, 1);
    assert_int_equal(exit_cancelled, 1);
    assert_int_equal(exit_iosb.Status, STATUS_CANCELLED);
    iot_pool_check(&m);
    iot_free(dev);
    iot_free(drv);
}

/* ---- queries ------------------------------------------------------------------------------------------- */

static void operation_synchronous_rules(void **state)
{
    (void)state;
    FILE_OBJECT fo;
    RtlZeroMemory(&fo, sizeof(fo));
    fo.Type = IO_TYPE_FILE;
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoSetNextIrpStackLocation(irp);
    IoGetCurrentIrpStackLocation(irp)->FileObject = &fo;
    assert_false(IoIsOperationSynchronous(irp));
    irp->Flags = IRP_SYNCHRONOUS_API;
    assert_true(IoIsOperationSynchronous(irp));
    irp->Flags = 0;
    fo.Flags = FO_SYNCHRONOUS_IO;
    assert_true(IoIsOperationSynchronous(irp));
    /* Asynchronous paging I/O on a synchronous file object is asynchronous. */
    irp->Flags = IRP_PAGING_IO;
    assert_false(IoIsOperationSynchronous(irp));
    irp->Flags = IRP_PAGING_IO | IRP_SYNCHRONOUS_PAGING_IO;
    assert_true(IoIsOperationSynchronous(irp));
    fo.Flags = 0;
    assert_true(IoIsOperationSynchronous(irp));
    /* The paging bit alone (IRP_INPUT_OPERATION) means nothing. */
    irp->Flags = IRP_SYNCHRONOUS_PAGING_IO;
    assert_false(IoIsOperationSynchronous(irp));
    IoFreeIrp(irp);
}

static void requestor_and_top_level(void **state)
{
    (void)state;
    PIRP irp = IoAllocateIrp(1, FALSE);
    assert_null(IoGetRequestorProcess(irp));
    assert_int_equal(IoGetRequestorProcessId(irp), 0);
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    assert_ptr_equal(IoGetRequestorProcess(irp), PsGetCurrentProcess());
    assert_int_equal(IoGetRequestorProcessId(irp), (ULONG)(ULONG_PTR)PsGetCurrentProcessId());
    IoFreeIrp(irp);

    PIRP saved = IoGetTopLevelIrp();
    IoSetTopLevelIrp((PIRP)(ULONG_PTR)0x4 /* FSRTL_FSP_TOP_LEVEL_IRP-style marker */);
    assert_ptr_equal(IoGetTopLevelIrp(), (PIRP)(ULONG_PTR)0x4);
    IoSetTopLevelIrp(saved);
    assert_ptr_equal(IoGetTopLevelIrp(), saved);
}

static void stack_limits(void **state)
{
    (void)state;
    ULONG_PTR low = 0, high = 0;
    IoGetStackLimits(&low, &high);
    volatile UCHAR local = 0;
    assert_true(low < high);
    assert_true((ULONG_PTR)__builtin_frame_address(0) > low && (ULONG_PTR)__builtin_frame_address(0) < high);
    ULONG_PTR remaining = IoGetRemainingStackSize();
    assert_true(remaining > 0 && remaining < high - low);
    (void)local;
}

static const struct CMUnitTest io_irp_tests[] = {
    cmocka_unit_test_setup_teardown(allocate_initialises, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(initialize_and_reuse, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(free_misuse_bugchecks, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(call_driver_walks_down_the_stack, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(missing_dispatch_is_invalid_request, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(call_driver_bugchecks, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(more_processing_stops_and_resumes, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(pending_propagates_without_routines, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(pending_through_routines, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(invoke_flags_are_honoured, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(completion_bugchecks, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(associated_irps_complete_the_master, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(synchronous_thread_completion, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(deferred_completion_is_left_to_the_issuer, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(asynchronous_completion_from_a_dpc, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(asynchronous_completion_from_another_thread, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(thread_exit_cancels_its_io, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(operation_synchronous_rules, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(requestor_and_top_level, stack_setup, stack_teardown),
    cmocka_unit_test_setup_teardown(stack_limits, stack_setup, stack_teardown),
};

NTOS_TEST_GROUP(io_irp, io_irp_tests, NULL, NULL);
