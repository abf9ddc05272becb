/*
 * Structured exception handling in a real compiled PE driver image
 * (tests/seh/pe/sehdrv.c, built by clang for x86_64-pc-windows-msvc: its
 * __try/__except/__finally are .pdata/.xdata scope tables handled by
 * ntoskrnl's __C_specific_handler). Raises from the driver and from deep in
 * the kernel (ProbeForRead, the pool) unwind through kernel ELF frames into
 * the driver's handlers; filters that decline, continue execution, raise
 * again (nested) or termination handlers that raise during an unwind
 * (collided) behave as documented; an unhandled raise is bug check 0x1E.
 *
 * The image is loaded by LdrLoadSystemImage, which binds its imports
 * (ExRaiseStatus, ProbeForRead, __C_specific_handler, ...) against the
 * kernel's export table.
 */
#include "ntos_test.h"
#include <ntos/ldr.h>
#include <ntos/rtl.h>
#include <ntos/seh.h>
#include <ntos/ex_pool.h>
#include <ntos/bugcodes.h>
#include "seh_pe_image.h"

#define SEH_TAG 0x74486553 /* 'SeHt' */

typedef struct _SEH_PE {
    PUCHAR Base;
    ULONG Size;
    PKLDR_DATA_TABLE_ENTRY Entry;
} SEH_PE;

static SEH_PE seh_pe;

static ULONG rd32(const UCHAR *p)
{
    ULONG v;
    RtlCopyMemory(&v, p, 4);
    return v;
}

/* Loaded like any driver image: mapped, relocated and bound against the
 * kernel's export table (including this stream's src/ldr/exports/seh.exports)
 * by the loader, which lists it with its .pdata. */
static int seh_pe_map(void **state)
{
    (void)state;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"sehdrv.sys");
    PKLDR_DATA_TABLE_ENTRY e = NULL;
    NTSTATUS st = LdrLoadSystemImage(&name, SehPeImage, sizeof(SehPeImage), &e);
    if (st != STATUS_SUCCESS || !e || !e->ExceptionTable || e->ExceptionTableSize == 0)
        return -1;
    seh_pe.Entry = e;
    seh_pe.Base = e->DllBase;
    seh_pe.Size = e->SizeOfImage;
    return 0;
}

static int seh_pe_unmap(void **state)
{
    (void)state;
    return LdrUnloadSystemImage(seh_pe.Entry) == STATUS_SUCCESS ? 0 : -1;
}

static PVOID seh_export(const char *name)
{
    PUCHAR base = seh_pe.Base;
    const UCHAR *opt = base + rd32(base + 0x3C) + 24;
    PUCHAR exp = base + rd32(opt + 112);
    ULONG count = rd32(exp + 24);
    /* The linker does not align these arrays: read them bytewise. */
    PUCHAR functions = base + rd32(exp + 28), names = base + rd32(exp + 32), ordinals = base + rd32(exp + 36);
    for (ULONG i = 0; i < count; i++) {
        const char *a = (const char *)base + rd32(names + 4 * i), *b = name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == 0 && *b == 0) {
            USHORT ordinal;
            RtlCopyMemory(&ordinal, ordinals + 2 * i, 2);
            return base + rd32(functions + 4 * ordinal);
        }
    }
    fail_msg("sehdrv.sys does not export %s", name);
    return NULL;
}

typedef NTSTATUS(NTAPI *PFN_S)(NTSTATUS);
typedef NTSTATUS(NTAPI *PFN_SS)(NTSTATUS, NTSTATUS);
typedef NTSTATUS(NTAPI *PFN_PROBE)(PVOID, SIZE_T, ULONG);
typedef NTSTATUS(NTAPI *PFN_SIZE)(SIZE_T);
typedef LONG(NTAPI *PFN_CB)(LONG(NTAPI *)(LONG), LONG);

#define V(name) (*(volatile LONG *)seh_export(name))

static void reset_observations(void)
{
    V("SehFinallyCount") = 0;
    V("SehFilterCalls") = 0;
    V("SehLastFlags") = 0;
    V("SehTraceLength") = 0;
}

static void assert_trace(const LONG *expected, ULONG count)
{
    volatile LONG *trace = (volatile LONG *)seh_export("SehTrace");
    assert_int_equal(V("SehTraceLength"), count);
    for (ULONG i = 0; i < count; i++)
        assert_int_equal(trace[i], expected[i]);
}

static void probe_read_raises_as_documented(void **state)
{
    (void)state;
    PFN_PROBE probe = (PFN_PROBE)seh_export("SehProbeRead");
    /* A user-range address is accepted without being touched. */
    assert_int_equal(probe((PVOID)0x10000, 0x100, 4), STATUS_SUCCESS);
    assert_int_equal(probe((PVOID)(MmUserProbeAddress - 8), 8, 8), STATUS_SUCCESS);
    /* Length 0: nothing is checked. */
    assert_int_equal(probe((PVOID)0xFFFF800000000001ULL, 0, 8), STATUS_SUCCESS);
    /* Misaligned. */
    assert_int_equal(probe((PVOID)0x10002, 4, 4), STATUS_DATATYPE_MISALIGNMENT);
    /* Above MmUserProbeAddress, ending past it, wrapping. */
    assert_int_equal(probe((PVOID)0xFFFF800000001000ULL, 4, 4), STATUS_ACCESS_VIOLATION);
    assert_int_equal(probe((PVOID)(MmUserProbeAddress - 8), 9, 1), STATUS_ACCESS_VIOLATION);
    assert_int_equal(probe((PVOID)0x10000, ~(SIZE_T)0 - 0x100, 1), STATUS_ACCESS_VIOLATION);
}

static void probe_write_checks_and_touches(void **state)
{
    (void)state;
    PFN_PROBE probe = (PFN_PROBE)seh_export("SehProbeWrite");
    assert_int_equal(probe((PVOID)0xFFFF800000000000ULL, 0, 4), STATUS_SUCCESS);
    assert_int_equal(probe((PVOID)0x10001, 8, 2), STATUS_DATATYPE_MISALIGNMENT);
    assert_int_equal(probe((PVOID)0xFFFF800000001000ULL, 16, 8), STATUS_ACCESS_VIOLATION);
    /* A real buffer over several pages: in the user range (host stacks and
     * pool are there) it is touched and left as it was; a kernel-range buffer
     * (bare metal) is refused before any touch. */
    SIZE_T len = 3 * 4096 + 100;
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPoolNx, len, SEH_TAG);
    assert_non_null(buf);
    for (SIZE_T i = 0; i < len; i++)
        buf[i] = (UCHAR)i;
    NTSTATUS expected = (ULONG_PTR)buf + len <= MmUserProbeAddress ? STATUS_SUCCESS : STATUS_ACCESS_VIOLATION;
    assert_int_equal(probe(buf, len, 4), expected);
    for (SIZE_T i = 0; i < len; i++)
        assert_int_equal(buf[i], (UCHAR)i);
    ExFreePoolWithTag(buf, SEH_TAG);
}

static void finally_runs_during_unwind(void **state)
{
    (void)state;
    reset_observations();
    assert_int_equal(((PFN_S)seh_export("SehFinallyOnUnwind"))((NTSTATUS)0xE0000001), 1);
    static const LONG expected[] = {1, 2, 3};
    assert_trace(expected, 3);
}

static void declining_filter_passes_to_outer_frame(void **state)
{
    (void)state;
    reset_observations();
    assert_int_equal(((PFN_S)seh_export("SehOuterHandles"))((NTSTATUS)0xE0000002), (NTSTATUS)0xE0000002);
    /* The declining filter ran once, although the return address lies in
     * two of the records clang emits for that __try. */
    assert_int_equal(V("SehFilterCalls"), 1);
    /* Outer filter, then the inner __finally during the unwind, then the
     * outer __except block. */
    static const LONG expected[] = {10, 20, 30};
    assert_trace(expected, 3);
}

static void continue_execution_resumes(void **state)
{
    (void)state;
    reset_observations();
    assert_int_equal(((PFN_S)seh_export("SehContinueExecution"))((NTSTATUS)0xE0000003), 1);
    assert_int_equal(V("SehFilterCalls"), 1);
}

static void continue_refused_for_noncontinuable(void **state)
{
    (void)state;
    assert_int_equal(((PFN_S)seh_export("SehContinueRefused"))((NTSTATUS)0xE0000004),
                     STATUS_NONCONTINUABLE_EXCEPTION);
}

static void exception_in_filter_is_nested(void **state)
{
    (void)state;
    reset_observations();
    assert_int_equal(((PFN_SS)seh_export("SehNested"))((NTSTATUS)0xE0000005, (NTSTATUS)0xE0000006),
                     (NTSTATUS)0xE0000006);
    assert_int_equal(V("SehFilterCalls"), 2);
    assert_true(V("SehLastFlags") & EXCEPTION_NESTED_CALL);
    static const LONG expected[] = {40, 41, 42};
    assert_trace(expected, 3);
}

static void exception_in_finally_collides(void **state)
{
    (void)state;
    reset_observations();
    assert_int_equal(((PFN_SS)seh_export("SehRaiseInFinally"))((NTSTATUS)0xE0000007, (NTSTATUS)0xE0000008),
                     (NTSTATUS)0xE0000008);
    /* The filter accepts the first exception; its unwind runs the inner
     * __finally, which raises the second; the filter accepts that too and
     * its unwind collides with the first: it continues after the scope that
     * was running, so the inner __finally runs once and the middle one once. */
    assert_int_equal(V("SehFinallyCount"), 1);
    static const LONG expected[] = {52, 50, 52, 51, 53};
    assert_trace(expected, 5);
}

static void pool_raise_reaches_driver_handler(void **state)
{
    (void)state;
    assert_int_equal(((PFN_SIZE)seh_export("SehPoolRaise"))((SIZE_T)1 << 44), STATUS_INSUFFICIENT_RESOURCES);
    /* And the pool still works. */
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 64, SEH_TAG);
    assert_non_null(p);
    ExFreePoolWithTag(p, SEH_TAG);
}

static void unhandled_raise_bugchecks(void **state)
{
    (void)state;
    PFN_S raise = (PFN_S)seh_export("SehRaiseUnhandled");
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, raise((NTSTATUS)0xE0000009));
    /* The code as a sign-extended NTSTATUS, as x64 Windows reports it. */
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)(NTSTATUS)0xE0000009);
    assert_true(ntos_last_bugcheck.Parameter[1] != 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
}

#if defined(NTOS_HOST) && !defined(NTOS_KTEST)
#include "host.h"
#endif

/* Processor exceptions inside a driver's __try: bare metal, arch/x86_64/trap.c
 * dispatches them; on the host, the fault signals in the driver image (foreign
 * code) become the same EXCEPTION_RECORD (host/privileged.c). */
typedef NTSTATUS(NTAPI *PFN_FAULT)(int, volatile LONG *, int);

static void processor_exceptions_reach_except(void **state)
{
    (void)state;
#if defined(NTOS_HOST) && !defined(NTOS_KTEST)
    /* CMocka installs its own fault handlers around each test. */
    host_claim_fault_signals();
#endif
    PFN_FAULT fault = (PFN_FAULT)seh_export("SehFault");
    volatile ULONG_PTR *info = (volatile ULONG_PTR *)seh_export("SehFaultInfo");
    /* A write to an unmapped page: #PF -> STATUS_ACCESS_VIOLATION (1 = write, the address). */
    assert_int_equal(fault(0, (volatile LONG *)0x10, 1), STATUS_ACCESS_VIOLATION);
    assert_int_equal(info[0], 1);
    assert_int_equal(info[1], 0x10);
    assert_int_equal(fault(1, NULL, 0), STATUS_INTEGER_DIVIDE_BY_ZERO);
    assert_int_equal(fault(2, NULL, 1), STATUS_ILLEGAL_INSTRUCTION);
    assert_int_equal(fault(3, NULL, 1), STATUS_BREAKPOINT);
    /* And nothing is left behind: a normal call still works. */
    assert_int_equal(fault(1, NULL, 4), 25);
}

#ifdef NTOS_KERNEL
/* Kernel code faulting is a kernel bug on the host (ASan reports it); only bare
 * metal turns a fault in kernel code into an exception. */
typedef NTSTATUS(NTAPI *PFN_KFAULT)(const VOID *, SIZE_T *);

static void fault_in_kernel_code_reaches_driver(void **state)
{
    (void)state;
    PFN_KFAULT kfault = (PFN_KFAULT)seh_export("SehKernelFault");
    SIZE_T result = 0;
    static const UCHAR ok[64] = {1, 2, 3};
    assert_int_equal(kfault(ok, &result), STATUS_SUCCESS);
    assert_int_equal(result, 64);
    /* The page fault is in RtlCompareMemory (kernel ELF code, exact PC). */
    result = 7;
    assert_int_equal(kfault((const VOID *)0x20, &result), STATUS_ACCESS_VIOLATION);
    assert_int_equal(result, 7);
}
#endif

/* ---- lookup, virtual unwind and back traces through a PE frame ---------------------------- */

static PVOID callback_trace[8];
static USHORT callback_frames;
static CONTEXT callback_ctx;
static BOOLEAN callback_ok;

static __attribute__((noinline)) LONG NTAPI seh_callback(LONG v)
{
    callback_frames = RtlCaptureStackBackTrace(0, 8, callback_trace, NULL);
    /* Unwind by hand: this ELF frame (DWARF), then the PE frame (.pdata). */
    RtlCaptureContext(&callback_ctx);
    RTLP_FRAME f;
    callback_ok = RtlpUnwindFrame(UNW_FLAG_NHANDLER, &callback_ctx, TRUE, &f, NULL, NULL);
    return v * 2;
}

static void lookup_and_unwind_through_pe_frame(void **state)
{
    (void)state;
    PUCHAR fn = seh_export("SehCallback");
    ULONG64 base = 0;
    PRUNTIME_FUNCTION rf = RtlLookupFunctionEntry((ULONG64)fn + 1, &base, NULL);
    assert_non_null(rf);
    assert_int_equal(base, (ULONG64)seh_pe.Base);
    assert_int_equal(rf->BeginAddress, (ULONG)(fn - seh_pe.Base));
    /* With a history table: the second lookup is served from it. */
    UNWIND_HISTORY_TABLE history;
    RtlZeroMemory(&history, sizeof(history));
    assert_ptr_equal(RtlLookupFunctionEntry((ULONG64)fn + 2, &base, &history), rf);
    assert_int_equal(history.Count, 1);
    assert_ptr_equal(RtlLookupFunctionEntry((ULONG64)fn + 3, &base, &history), rf);
    assert_int_equal(history.Count, 1);
    /* Kernel code has no .pdata entry; memory in no module has no image. */
    assert_null(RtlLookupFunctionEntry((ULONG64)(ULONG_PTR)KeBugCheckEx, &base, NULL));
    PVOID pool = ExAllocatePoolWithTag(NonPagedPoolNx, 64, SEH_TAG);
    assert_null(RtlLookupFunctionEntry((ULONG64)pool, &base, NULL));
    assert_int_equal(base, 0);
    ExFreePoolWithTag(pool, SEH_TAG);

    reset_observations();
    LONG r = ((PFN_CB)seh_export("SehCallback"))(seh_callback, 20);
    assert_int_equal(r, 41);
    /* The back trace: seh_callback (the caller of RtlCaptureStackBackTrace),
     * SehCallback (PE), then this test function (in the kernel image). */
    assert_true(callback_frames >= 3);
    PVOID img1, img2;
    PVOID kernel = RtlPcToFileHeader((PVOID)(ULONG_PTR)KeBugCheckEx, &img2);
    assert_ptr_equal(RtlPcToFileHeader(callback_trace[0], &img1), kernel);
    assert_true((PUCHAR)callback_trace[1] > fn && (PUCHAR)callback_trace[1] < fn + 0x100);
    assert_ptr_equal(RtlPcToFileHeader(callback_trace[2], &img1), kernel);
    /* The hand unwind of seh_callback's frame arrived in SehCallback, whose
     * unwind data names __C_specific_handler as its handler. */
    assert_true(callback_ok);
    assert_ptr_equal((PVOID)callback_ctx.Rip, callback_trace[1]);
    rf = RtlLookupFunctionEntry(callback_ctx.Rip, &base, NULL);
    assert_non_null(rf);
    PVOID data = NULL;
    ULONG64 establisher = 0;
    PEXCEPTION_ROUTINE h = RtlVirtualUnwind(UNW_FLAG_UHANDLER, base, callback_ctx.Rip, rf, &callback_ctx, &data,
                                            &establisher, NULL);
    /* The handler RVA names the image's import thunk, jmp [__imp___C_specific_handler]. */
    PUCHAR thunk = (PUCHAR)(ULONG_PTR)h;
    assert_true(thunk >= seh_pe.Base && thunk < seh_pe.Base + seh_pe.Size);
    assert_int_equal(thunk[0], 0xFF);
    assert_int_equal(thunk[1], 0x25);
    LONG disp;
    RtlCopyMemory(&disp, thunk + 2, 4);
    assert_ptr_equal(*(PVOID *)(thunk + 6 + disp), (PVOID)(ULONG_PTR)__C_specific_handler);
    assert_non_null(data);
    assert_true(establisher != 0);
    static const LONG expected[] = {60};
    assert_trace(expected, 1);
}

static const struct CMUnitTest seh_pe_tests[] = {
    cmocka_unit_test(probe_read_raises_as_documented),
    cmocka_unit_test(probe_write_checks_and_touches),
    cmocka_unit_test(finally_runs_during_unwind),
    cmocka_unit_test(declining_filter_passes_to_outer_frame),
    cmocka_unit_test(continue_execution_resumes),
    cmocka_unit_test(continue_refused_for_noncontinuable),
    cmocka_unit_test(exception_in_filter_is_nested),
    cmocka_unit_test(exception_in_finally_collides),
    cmocka_unit_test(pool_raise_reaches_driver_handler),
    cmocka_unit_test(unhandled_raise_bugchecks),
    cmocka_unit_test(processor_exceptions_reach_except),
#ifdef NTOS_KERNEL
    cmocka_unit_test(fault_in_kernel_code_reaches_driver),
#endif
    cmocka_unit_test(lookup_and_unwind_through_pe_frame),
};

NTOS_TEST_GROUP(seh_pe, seh_pe_tests, seh_pe_map, seh_pe_unmap);
