/*
 * ZwQuerySystemInformation (basic, processor, time of day, processes and
 * threads, modules) with the buffer-size protocol, and the processor-group
 * queries.
 */
#include "ntos_test.h"
#include <ntos/sysinfo.h>
#include <ntos/ldr.h>
#include <ntos/kuser.h>
#include <ntos/rtl.h>

static void basic_and_processor(void **state)
{
    (void)state;
    SYSTEM_BASIC_INFORMATION b;
    ULONG ret = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemBasicInformation, &b, sizeof(b), &ret), STATUS_SUCCESS);
    assert_int_equal(ret, sizeof(b));
    assert_int_equal(b.PageSize, 4096);
    assert_int_equal(b.AllocationGranularity, 0x10000);
    assert_int_equal(b.NumberOfProcessors, (CCHAR)KeQueryActiveProcessorCount(NULL));
    assert_int_equal(b.ActiveProcessorsAffinityMask, KeQueryActiveProcessors());
    assert_int_equal(b.TimerResolution, KeQueryTimeIncrement());
    assert_true(b.NumberOfPhysicalPages > 0);
    assert_true(b.HighestPhysicalPageNumber >= b.LowestPhysicalPageNumber);
    assert_int_equal(b.MinimumUserModeAddress, 0x10000);
    assert_int_equal(b.MaximumUserModeAddress, 0x7FFFFFFEFFFFULL);
    /* Exactly its size: one byte less or more is a length mismatch. */
    ret = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemBasicInformation, &b, sizeof(b) - 1, &ret),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ret, sizeof(b));
    UCHAR big[sizeof(b) + 8];
    assert_int_equal(ZwQuerySystemInformation(SystemBasicInformation, big, sizeof(big), NULL),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQuerySystemInformation(SystemBasicInformation, NULL, 0, &ret), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQuerySystemInformation(SystemBasicInformation, NULL, sizeof(b), &ret),
                     STATUS_ACCESS_VIOLATION);

    SYSTEM_PROCESSOR_INFORMATION p;
    assert_int_equal(ZwQuerySystemInformation(SystemProcessorInformation, &p, sizeof(p), &ret), STATUS_SUCCESS);
    assert_int_equal(p.ProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
    assert_int_equal(p.MaximumProcessors, KeQueryMaximumProcessorCount());
    /* Every x64 processor has these. */
    assert_int_equal(p.ProcessorFeatureBits & (KF_RDTSC | KF_CMPXCHG8B | KF_FXSR | KF_XMMI | KF_XMMI64 | KF_CR4),
                     KF_RDTSC | KF_CMPXCHG8B | KF_FXSR | KF_XMMI | KF_XMMI64 | KF_CR4);
    assert_true(p.ProcessorLevel >= 6);
    assert_int_equal(ZwQuerySystemInformation((SYSTEM_INFORMATION_CLASS)200, &p, sizeof(p), &ret),
                     STATUS_INVALID_INFO_CLASS);
}

static void time_of_day(void **state)
{
    (void)state;
    SYSTEM_TIMEOFDAY_INFORMATION t;
    ULONG ret = 0;
    LARGE_INTEGER before, after;
    KeQuerySystemTime(&before);
    assert_int_equal(ZwQuerySystemInformation(SystemTimeOfDayInformation, &t, sizeof(t), &ret), STATUS_SUCCESS);
    KeQuerySystemTime(&after);
    assert_int_equal(ret, sizeof(t));
    assert_true(t.CurrentTime.QuadPart >= before.QuadPart && t.CurrentTime.QuadPart <= after.QuadPart);
    assert_true(t.BootTime.QuadPart > 0 && t.BootTime.QuadPart <= t.CurrentTime.QuadPart);
    assert_int_equal(t.TimeZoneId, KiUserSharedData.TimeZoneId);
    /* A shorter buffer gets the beginning of the structure. */
    LARGE_INTEGER boot[2] = {{.QuadPart = 0}, {.QuadPart = 0x1234}};
    assert_int_equal(ZwQuerySystemInformation(SystemTimeOfDayInformation, boot, 8, &ret), STATUS_SUCCESS);
    assert_int_equal(ret, 8);
    assert_int_equal(boot[0].QuadPart, t.BootTime.QuadPart);
    assert_int_equal(boot[1].QuadPart, 0x1234);
    UCHAR big[sizeof(t) + 1];
    assert_int_equal(ZwQuerySystemInformation(SystemTimeOfDayInformation, big, sizeof(big), &ret),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ret, sizeof(t));
}

static KEVENT worker_go;
static VOID NTAPI parked_thread(PVOID Context)
{
    (void)Context;
    KeWaitForSingleObject(&worker_go, Executive, KernelMode, FALSE, NULL);
}

static PSYSTEM_PROCESS_INFORMATION find_process(PUCHAR Buffer, HANDLE Id)
{
    PSYSTEM_PROCESS_INFORMATION p = (PSYSTEM_PROCESS_INFORMATION)Buffer;
    for (;;) {
        if (p->UniqueProcessId == Id)
            return p;
        if (p->NextEntryOffset == 0)
            return NULL;
        p = (PSYSTEM_PROCESS_INFORMATION)((PUCHAR)p + p->NextEntryOffset);
    }
}

static void processes_and_threads(void **state)
{
    (void)state;
    KeInitializeEvent(&worker_go, NotificationEvent, FALSE);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    CLIENT_ID cid;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, &cid, parked_thread, NULL),
                     STATUS_SUCCESS);
    PEPROCESS extra;
    assert_int_equal(PsCreateProcessInternal(NULL, &extra), STATUS_SUCCESS);

    ULONG needed = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemProcessInformation, NULL, 0, &needed),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_true(needed >= 3 * sizeof(SYSTEM_PROCESS_INFORMATION));
    ULONG size = needed + 16 * 1024; /* room for threads started meanwhile */
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPoolNx, size, 'tsyS');
    assert_non_null(buf);
    ULONG ret = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemProcessInformation, buf, size, &ret), STATUS_SUCCESS);
    assert_true(ret <= size);

    /* Idle first, with one thread per processor. */
    PSYSTEM_PROCESS_INFORMATION idle = (PSYSTEM_PROCESS_INFORMATION)buf;
    assert_null(idle->UniqueProcessId);
    assert_int_equal(idle->NumberOfThreads, KeQueryActiveProcessorCount(NULL));
    assert_int_equal(idle->ImageName.Length, 0);

    PSYSTEM_PROCESS_INFORMATION sys = find_process(buf, (HANDLE)4);
    assert_non_null(sys);
    assert_int_equal(sys->ImageName.Length, 12);
    assert_memory_equal(sys->ImageName.Buffer, L"System", 12);
    assert_true((PUCHAR)sys->ImageName.Buffer > buf && (PUCHAR)sys->ImageName.Buffer < buf + ret);
    assert_true(sys->HandleCount > 0);
    assert_true(sys->NumberOfThreads >= 1);
    PSYSTEM_THREAD_INFORMATION t = (PSYSTEM_THREAD_INFORMATION)(sys + 1);
    BOOLEAN found = FALSE;
    for (ULONG i = 0; i < sys->NumberOfThreads; i++) {
        if (t[i].ClientId.UniqueThread == cid.UniqueThread) {
            found = TRUE;
            assert_ptr_equal(t[i].ClientId.UniqueProcess, (HANDLE)4);
            assert_ptr_equal(t[i].StartAddress, (PVOID)parked_thread);
            assert_int_equal(t[i].BasePriority, 8);
        }
    }
    assert_true(found);
    PSYSTEM_PROCESS_INFORMATION ex = find_process(buf, PsGetProcessId(extra));
    assert_non_null(ex);
    assert_int_equal(ex->NumberOfThreads, 0);
    assert_ptr_equal(ex->InheritedFromUniqueProcessId, (HANDLE)4);
    assert_int_equal(ex->CreateTime.QuadPart, extra->CreateTime.QuadPart);

    /* Too small by one byte: a mismatch that reports the size needed. */
    ULONG again = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemProcessInformation, buf, sizeof(SYSTEM_PROCESS_INFORMATION), &again),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_true(again > sizeof(SYSTEM_PROCESS_INFORMATION));
    ExFreePoolWithTag(buf, 'tsyS');

    KeSetEvent(&worker_go, 0, FALSE);
    PVOID th;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &th, NULL), STATUS_SUCCESS);
    KeWaitForSingleObject(th, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(th);
    ZwClose(h);
    ObDereferenceObject(extra);
}

static void modules(void **state)
{
    (void)state;
    static KLDR_DATA_TABLE_ENTRY e;
    RtlZeroMemory(&e, sizeof(e));
    PUCHAR mem = ExAllocatePoolWithTag(NonPagedPoolNx, 8192, 'tsyS');
    assert_non_null(mem);
    e.DllBase = mem;
    e.SizeOfImage = 8192;
    RtlInitUnicodeString(&e.FullDllName, L"\\SystemRoot\\System32\\drivers\\sysinfo_test.sys");
    RtlInitUnicodeString(&e.BaseDllName, L"sysinfo_test.sys");
    e.LoadCount = 1;
    assert_int_equal(LdrpInsertModule(&e), STATUS_SUCCESS);

    ULONG needed = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemModuleInformation, NULL, 0, &needed), STATUS_INFO_LENGTH_MISMATCH);
    assert_true(needed >= 8 + 2 * sizeof(RTL_PROCESS_MODULE_INFORMATION));
    assert_int_equal((needed - 8) % sizeof(RTL_PROCESS_MODULE_INFORMATION), 0);
    PRTL_PROCESS_MODULES m = ExAllocatePoolWithTag(NonPagedPoolNx, needed, 'tsyS');
    ULONG ret = 0;
    assert_int_equal(ZwQuerySystemInformation(SystemModuleInformation, m, needed - 1, &ret),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ret, needed);
    assert_int_equal(ZwQuerySystemInformation(SystemModuleInformation, m, needed, &ret), STATUS_SUCCESS);
    assert_int_equal(ret, needed);
    assert_int_equal(m->NumberOfModules, (needed - 8) / sizeof(RTL_PROCESS_MODULE_INFORMATION));
    /* The kernel first: its range contains the kernel's code. */
    PKLDR_DATA_TABLE_ENTRY k = LdrFindModuleByAddress((PVOID)(ULONG_PTR)&KeBugCheckEx);
    assert_non_null(k);
    assert_ptr_equal(m->Modules[0].ImageBase, k->DllBase);
    assert_int_equal(m->Modules[0].ImageSize, k->SizeOfImage);
    assert_int_equal(m->Modules[0].LoadOrderIndex, 0);
    BOOLEAN found = FALSE;
    for (ULONG i = 0; i < m->NumberOfModules; i++) {
        PRTL_PROCESS_MODULE_INFORMATION mi = &m->Modules[i];
        if (mi->ImageBase != mem)
            continue;
        found = TRUE;
        assert_int_equal(mi->ImageSize, 8192);
        assert_int_equal(mi->LoadOrderIndex, i);
        assert_int_equal(mi->LoadCount, 1);
        assert_string_equal((const char *)mi->FullPathName, "\\SystemRoot\\System32\\drivers\\sysinfo_test.sys");
        assert_string_equal((const char *)mi->FullPathName + mi->OffsetToFileName, "sysinfo_test.sys");
    }
    assert_true(found);
    ExFreePoolWithTag(m, 'tsyS');
    LdrpRemoveModule(&e);
    ExFreePoolWithTag(mem, 'tsyS');
}

static void processor_groups(void **state)
{
    (void)state;
    ULONG n = KeQueryActiveProcessorCount(NULL);
    assert_int_equal(KeQueryActiveProcessorCountEx(0), n);
    assert_int_equal(KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS), n);
    assert_int_equal(KeQueryActiveProcessorCountEx(1), 0);
    assert_int_equal(KeQueryMaximumProcessorCount(), n);
    assert_int_equal(KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS), n);
    assert_int_equal(KeQueryMaximumProcessorCountEx(3), 0);
    assert_int_equal(KeQueryActiveGroupCount(), 1);
    assert_int_equal(KeQueryMaximumGroupCount(), 1);
    assert_int_equal(KeQueryGroupAffinity(0), KeQueryActiveProcessors());
    assert_int_equal(KeQueryGroupAffinity(1), 0);
    PROCESSOR_NUMBER pn = {7, 7, 7};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* stay on this processor */
    ULONG index = KeGetCurrentProcessorNumberEx(&pn);
    assert_int_equal(index, KeGetCurrentProcessorIndex());
    KeLowerIrql(old);
    assert_int_equal(pn.Group, 0);
    assert_int_equal(pn.Number, index);
    assert_int_equal(pn.Reserved, 0);
    assert_int_equal(KeGetCurrentProcessorNumberEx(NULL) < n, 1);
    for (ULONG i = 0; i < n; i++) {
        assert_int_equal(KeGetProcessorNumberFromIndex(i, &pn), STATUS_SUCCESS);
        assert_int_equal(pn.Group, 0);
        assert_int_equal(pn.Number, i);
        assert_int_equal(KeGetProcessorIndexFromNumber(&pn), i);
    }
    assert_int_equal(KeGetProcessorNumberFromIndex(n, &pn), STATUS_INVALID_PARAMETER);
    assert_int_equal(KeGetProcessorNumberFromIndex(0, NULL), STATUS_INVALID_PARAMETER);
    pn.Group = 1;
    pn.Number = 0;
    assert_int_equal(KeGetProcessorIndexFromNumber(&pn), INVALID_PROCESSOR_INDEX);
    pn.Group = 0;
    pn.Number = (UCHAR)n;
    assert_int_equal(KeGetProcessorIndexFromNumber(&pn), INVALID_PROCESSOR_INDEX);
    pn.Number = 0;
    pn.Reserved = 1;
    assert_int_equal(KeGetProcessorIndexFromNumber(&pn), INVALID_PROCESSOR_INDEX);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(basic_and_processor),
    cmocka_unit_test(time_of_day),
    cmocka_unit_test(processes_and_threads),
    cmocka_unit_test(modules),
    cmocka_unit_test(processor_groups),
};

NTOS_TEST_GROUP(ps_sysinfo, tests, NULL, NULL);
