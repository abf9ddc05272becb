/*
 * Pool pages (MiAllocatePoolPages, MiFreePoolPages, MiIsPoolPageAddress), the
 * interface src/ex/pool.c builds on: mapping and protection, the guard page,
 * MMPFN bookkeeping, frees of anything that is not a live allocation's start,
 * and lookups of arbitrary addresses.
 */
#include "mm_test.h"

static void pool_allocate_and_free(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    static const SIZE_T sizes[] = {1, 2, 7, 64, 513};
    for (ULONG k = 0; k < RTL_NUMBER_OF(sizes); k++) {
        SIZE_T n = sizes[k];
        for (int nx = 0; nx < 2; nx++) {
            PUCHAR p = MiAllocatePoolPages(n, (BOOLEAN)nx);
            assert_non_null(p);
            assert_int_equal(BYTE_OFFSET(p), 0);
            for (SIZE_T i = 0; i < n; i++) {
                PUCHAR page = p + i * PAGE_SIZE;
                ULONG64 e = mm_entry(page, NULL);
                assert_true(e & MI_PTE_WRITE);
                assert_true(e & MI_PTE_GLOBAL);
                assert_int_equal((e & MI_PTE_NX) != 0, nx);
                assert_int_equal((e & MI_PTE_ALLOCATION_START) != 0, i == 0);
                assert_int_equal((e & MI_PTE_ALLOCATION_END) != 0, i == n - 1);
                assert_true(MiIsPoolPageAddress(page));
                assert_true(MiIsPoolPageAddress(page + PAGE_SIZE - 1));
                ULONG64 pa = (ULONG64)MmGetPhysicalAddress(page).QuadPart;
                PMMPFN pfn = MiGetPfnEntry(pa >> PAGE_SHIFT);
                assert_int_equal(pfn->Usage, MiPfnUsagePool);
                assert_int_equal(pfn->ReferenceCount, 1);
                assert_int_equal(pfn->CacheAttribute, MiCached);
                /* The MMPFN names the PTE, which holds the frame. */
                assert_int_equal(*(PULONG64)arch_physical_pointer(pfn->PteAddress), e);
                page[0] = (UCHAR)i;
                page[PAGE_SIZE - 1] = (UCHAR)~i;
            }
            for (SIZE_T i = 0; i < n; i++) {
                assert_int_equal(p[i * PAGE_SIZE], (UCHAR)i);
                assert_int_equal(p[i * PAGE_SIZE + PAGE_SIZE - 1], (UCHAR)~i);
            }
            assert_false(MiIsPoolPageAddress(p + n * PAGE_SIZE));
            assert_false(MmIsAddressValid(p + n * PAGE_SIZE));
            assert_int_equal(MiFreePoolPages(p), n);
            assert_false(MiIsPoolPageAddress(p));
            assert_false(MmIsAddressValid(p));
            if (MM_HOST_PROBES)
                assert_false(mm_host_can_access(p, FALSE));
        }
    }
    mm_check_balanced(&s);
}

static void pool_bad_frees_return_zero(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR p = MiAllocatePoolPages(3, TRUE);
    assert_non_null(p);
    assert_int_equal(MiFreePoolPages(p + PAGE_SIZE), 0);  /* inside */
    assert_int_equal(MiFreePoolPages(p + 8), 0);          /* unaligned */
    assert_int_equal(MiFreePoolPages(p + 3 * PAGE_SIZE), 0); /* the guard page */
    assert_int_equal(MiFreePoolPages(NULL), 0);
    assert_int_equal(MiFreePoolPages(&s), 0);
    assert_int_equal(MiFreePoolPages((PVOID)~(ULONG_PTR)0xFFF), 0);
    PVOID contig = MmAllocateContiguousMemory(PAGE_SIZE, mm_pa(~0ULL));
    assert_int_equal(MiFreePoolPages(contig), 0); /* someone else's */
    assert_false(MiIsPoolPageAddress(contig));
    MmFreeContiguousMemory(contig);
    /* Nothing was disturbed. */
    for (int i = 0; i < 3; i++)
        assert_true(MmIsAddressValid(p + i * PAGE_SIZE));
    assert_int_equal(MiFreePoolPages(p), 3);
    assert_int_equal(MiFreePoolPages(p), 0); /* twice */
    mm_check_balanced(&s);
}

static void pool_lookup_of_arbitrary_addresses(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    int local;
    assert_false(MiIsPoolPageAddress(NULL));
    assert_false(MiIsPoolPageAddress(&local));
    assert_false(MiIsPoolPageAddress((PVOID)~(ULONG_PTR)0));
    assert_false(MiIsPoolPageAddress((PVOID)(MiSystemRangeStart + MiSystemRangeSize)));
    PUCHAR p = MiAllocatePoolPages(1, FALSE);
    assert_non_null(p);
    /* Its guard page, and a reserved but unmapped page. */
    assert_false(MiIsPoolPageAddress(p + PAGE_SIZE));
    PUCHAR r = MiReserveSystemPtes(1);
    assert_non_null(r);
    assert_false(MiIsPoolPageAddress(r));
    MiReleaseSystemPtes(r, 1);
    /* The same low 48 bits with other high bits is another address. */
    assert_false(MiIsPoolPageAddress((PVOID)((ULONG_PTR)p ^ (1ULL << 63))));
    assert_true(MiIsPoolPageAddress(p));
    MiFreePoolPages(p);
    mm_check_balanced(&s);
}

static void pool_limits_and_irql(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    assert_null(MiAllocatePoolPages(0, TRUE));
    assert_null(MiAllocatePoolPages(~(SIZE_T)0, TRUE));
    assert_null(MiAllocatePoolPages(MiQueryTotalSystemPtes(), TRUE));
    assert_null(MiAllocatePoolPages(MiAvailablePages() + 1, TRUE));
    mm_check_balanced(&s);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PVOID p = MiAllocatePoolPages(4, TRUE);
    assert_true(MiIsPoolPageAddress(p));
    assert_int_equal(MiFreePoolPages(p), 4);
    KeLowerIrql(old);
    assert_non_null(p);
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pool_allocate_and_free),
    cmocka_unit_test(pool_bad_frees_return_zero),
    cmocka_unit_test(pool_lookup_of_arbitrary_addresses),
    cmocka_unit_test(pool_limits_and_irql),
};

NTOS_TEST_GROUP(mm_poolpages, tests, NULL, NULL);
