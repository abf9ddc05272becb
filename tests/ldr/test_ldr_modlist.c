/*
 * The loaded-module list: ntoskrnl's entry first and covering the kernel's
 * own code and data, lookups by address at any IRQL, registration and
 * removal of an entry, overlap refusal.
 */
#include "ntos_ke_test.h"
#include <ntos/ldr.h>
#include <ntos/rtl.h>
#include <ntos/ex_pool.h>

static int modlist_marker;

static void kernel_entry_is_first(void **state)
{
    (void)state;
    assert_true(PsLoadedModuleList.Flink != &PsLoadedModuleList);
    PKLDR_DATA_TABLE_ENTRY k = CONTAINING_RECORD(PsLoadedModuleList.Flink, KLDR_DATA_TABLE_ENTRY, InLoadOrderLinks);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"ntoskrnl.exe");
    assert_true(RtlEqualUnicodeString(&k->BaseDllName, &name, TRUE));
    assert_true(k->SizeOfImage > 0);
    /* Kernel code (this test is linked into it) and data are inside it. */
    assert_ptr_equal(LdrFindModuleByAddress((PVOID)(ULONG_PTR)&KeBugCheckEx), k);
    assert_ptr_equal(LdrFindModuleByAddress(&modlist_marker), k);
    assert_ptr_equal(LdrFindModuleByAddress(&PsLoadedModuleList), k);
    PVOID base = (PVOID)1;
    assert_ptr_equal(RtlPcToFileHeader((PVOID)(ULONG_PTR)&KeBugCheckEx, &base), k->DllBase);
    assert_ptr_equal(base, k->DllBase);
    /* Pool is no module (a stack may be: bare metal's boot stack is in the
     * kernel image's .bss). */
    PVOID pool = ExAllocatePoolWithTag(NonPagedPoolNx, 64, 'tLdr');
    assert_non_null(pool);
    assert_null(RtlPcToFileHeader(pool, &base));
    assert_null(base);
    ExFreePoolWithTag(pool, 'tLdr');
}

static void insert_find_remove(void **state)
{
    (void)state;
    static UCHAR fake_image[3 * 4096];
    KLDR_DATA_TABLE_ENTRY e;
    RtlZeroMemory(&e, sizeof(e));
    /* A range outside the kernel image: a pool block. */
    PUCHAR mem = ExAllocatePoolWithTag(NonPagedPoolNx, 8192, 'tLdr');
    assert_non_null(mem);
    e.DllBase = mem;
    e.SizeOfImage = 8192;
    RtlInitUnicodeString(&e.BaseDllName, L"fake.sys");
    e.FullDllName = e.BaseDllName;
    assert_null(LdrFindModuleByAddress(mem + 100));
    assert_int_equal(LdrpInsertModule(&e), STATUS_SUCCESS);
    assert_ptr_equal(LdrFindModuleByAddress(mem), &e);
    assert_ptr_equal(LdrFindModuleByAddress(mem + 8191), &e);
    assert_true(LdrFindModuleByAddress(mem + 8192) != &e);
    /* At HIGH_LEVEL too. */
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    PKLDR_DATA_TABLE_ENTRY found = LdrFindModuleByAddress(mem + 4096);
    KeLowerIrql(old);
    assert_ptr_equal(found, &e);
    /* Overlaps are refused: with this entry and with the kernel. */
    KLDR_DATA_TABLE_ENTRY o;
    RtlZeroMemory(&o, sizeof(o));
    o.DllBase = mem + 4096;
    o.SizeOfImage = 8192;
    assert_int_equal(LdrpInsertModule(&o), STATUS_CONFLICTING_ADDRESSES);
    o.DllBase = fake_image;
    o.SizeOfImage = sizeof(fake_image);
    assert_int_equal(LdrpInsertModule(&o), STATUS_CONFLICTING_ADDRESSES);
    o.SizeOfImage = 0;
    assert_int_equal(LdrpInsertModule(&o), STATUS_INVALID_PARAMETER);
    /* The new entry is last in load order. */
    assert_ptr_equal(PsLoadedModuleList.Blink, &e.InLoadOrderLinks);
    LdrpRemoveModule(&e);
    assert_null(LdrFindModuleByAddress(mem));
    /* A second removal is refused, not a list corruption. */
    LdrpRemoveModule(&e);
    assert_true(PsLoadedModuleList.Flink->Blink == &PsLoadedModuleList);
    ExFreePoolWithTag(mem, 'tLdr');
}

static const struct CMUnitTest ldr_modlist_tests[] = {
    cmocka_unit_test(kernel_entry_is_first),
    cmocka_unit_test(insert_find_remove),
};

NTOS_TEST_GROUP(ldr_modlist, ldr_modlist_tests, NULL, NULL);
