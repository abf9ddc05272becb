/*
 * Contiguous memory (MmAllocateContiguousMemory*, MmAllocateContiguousNodeMemory,
 * MmFreeContiguousMemory*) and non-cached memory (MmAllocateNonCachedMemory,
 * MmFreeNonCachedMemory): physical contiguity, Lowest/Highest/Boundary,
 * caching and protection, 2 MB pages, argument checks, misuse bug checks and
 * IRQL rules.
 */
#include "mm_test.h"

static PHYSICAL_ADDRESS any_address(void)
{
    return mm_pa(~0ULL);
}

static void check_contiguous(PUCHAR va, SIZE_T bytes)
{
    ULONG64 base = (ULONG64)MmGetPhysicalAddress(va).QuadPart;
    assert_int_not_equal(base, 0);
    assert_int_equal(base & (PAGE_SIZE - 1), 0);
    for (SIZE_T off = 0; off < ROUND_TO_PAGES(bytes); off += PAGE_SIZE) {
        assert_int_equal(MmGetPhysicalAddress(va + off).QuadPart, (LONGLONG)(base + off));
        PMMPFN e = MiGetPfnEntry((base + off) >> PAGE_SHIFT);
        assert_non_null(e);
        assert_int_equal(e->PageLocation, ActiveAndValid);
        assert_int_equal(e->Usage, MiPfnUsageContiguous);
        assert_int_not_equal(e->PteAddress, 0);
    }
    va[0] = 1;
    va[bytes - 1] = 2;
    assert_int_equal(*(volatile UCHAR *)arch_physical_pointer(base + bytes - 1), 2);
}

static void contig_basic(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR va = MmAllocateContiguousMemory(3 * PAGE_SIZE + 1, any_address());
    assert_non_null(va);
    assert_int_equal(BYTE_OFFSET(va), 0);
    check_contiguous(va, 3 * PAGE_SIZE + 1);
    ULONG64 e = mm_entry(va, NULL);
    assert_int_equal(e & MI_PTE_OWNER_MASK, MI_PTE_OWNER(MiOwnerContiguous));
    assert_true(e & MI_PTE_WRITE);
    assert_false(e & (MI_PTE_NX | MI_PTE_PCD | MI_PTE_PWT));
    assert_int_equal(MiGetPfnEntry(MmGetPhysicalAddress(va).QuadPart >> PAGE_SHIFT)->CacheAttribute, MiCached);
    /* Four pages and then a guard page. */
    assert_true(MmIsAddressValid(va + 4 * PAGE_SIZE - 1));
    assert_false(MmIsAddressValid(va + 4 * PAGE_SIZE));
    assert_false(MiIsPoolPageAddress(va));
    MmFreeContiguousMemory(va);
    assert_false(MmIsAddressValid(va));
    mm_check_balanced(&s);
}

static void contig_address_limits(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    ULONG64 ram = MiLowestPhysicalPage << PAGE_SHIFT;
    ULONG64 top = ((MiHighestPhysicalPage + 1) << PAGE_SHIFT) - 1;
    /* Highest: the block lies wholly at or below it. */
    ULONG64 highest = ram + (16ULL << 20) - 1;
    PUCHAR a = MmAllocateContiguousMemory(5 * PAGE_SIZE, mm_pa(highest));
    assert_non_null(a);
    ULONG64 pa = (ULONG64)MmGetPhysicalAddress(a).QuadPart;
    assert_true(pa + 5 * PAGE_SIZE - 1 <= highest);
    check_contiguous(a, 5 * PAGE_SIZE);
    /* A Highest inside a page excludes that page. */
    PUCHAR b = MmAllocateContiguousMemory(PAGE_SIZE, mm_pa(highest + 0x800));
    assert_non_null(b);
    assert_true((ULONG64)MmGetPhysicalAddress(b).QuadPart + PAGE_SIZE - 1 <= highest + 0x800);
    /* Lowest, rounded up. */
    ULONG64 lowest = ram + (32ULL << 20) + 1;
    PUCHAR c = MmAllocateContiguousMemorySpecifyCache(2 * PAGE_SIZE, mm_pa(lowest), mm_pa(lowest + (1ULL << 20)),
                                                      mm_pa(0), MmCached);
    assert_non_null(c);
    pa = (ULONG64)MmGetPhysicalAddress(c).QuadPart;
    assert_true(pa >= lowest && pa + 2 * PAGE_SIZE - 1 <= lowest + (1ULL << 20));
    /* Nothing acceptable. */
    assert_null(MmAllocateContiguousMemory(PAGE_SIZE, mm_pa(ram - 1)));                 /* below all RAM */
    assert_null(MmAllocateContiguousMemory(PAGE_SIZE, mm_pa(0)));
    assert_null(MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(top + 1), any_address(), mm_pa(0), MmCached));
    assert_null(MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(ram + 0x10000), mm_pa(ram + 0x8000),
                                                       mm_pa(0), MmCached)); /* Lowest above Highest */
    assert_null(MmAllocateContiguousMemorySpecifyCache(2 * PAGE_SIZE, mm_pa(ram + 0x10000),
                                                       mm_pa(ram + 0x10FFF), mm_pa(0), MmCached)); /* too small */
    assert_null(MmAllocateContiguousMemory(((MiHighestPhysicalPage + 1) << PAGE_SHIFT), any_address()));
    MmFreeContiguousMemory(a);
    MmFreeContiguousMemory(b);
    MmFreeContiguousMemory(c);
    mm_check_balanced(&s);
}

static void contig_boundary(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    static PVOID held[24];
    /* 48 KB blocks never cross a 64 KB line, however memory is laid out. */
    for (int i = 0; i < 24; i++) {
        held[i] = MmAllocateContiguousMemorySpecifyCache(48 * 1024 - (i % 3), mm_pa(0), any_address(),
                                                         mm_pa(64 * 1024), MmCached);
        assert_non_null(held[i]);
        ULONG64 pa = (ULONG64)MmGetPhysicalAddress(held[i]).QuadPart;
        assert_int_equal(pa / (64 * 1024), (pa + 48 * 1024 - 1) / (64 * 1024));
        /* Perturb the layout: a single page in between. */
        if (i % 2 == 0) {
            PVOID one = MmAllocateContiguousMemory(PAGE_SIZE, any_address());
            MmFreeContiguousMemory(one);
        }
    }
    /* Exactly the boundary size is fine; bigger, or not a power of two, is not. */
    PVOID exact =
        MmAllocateContiguousMemorySpecifyCache(64 * 1024, mm_pa(0), any_address(), mm_pa(64 * 1024), MmCached);
    assert_non_null(exact);
    assert_int_equal(MmGetPhysicalAddress(exact).QuadPart % (64 * 1024), 0);
    assert_null(MmAllocateContiguousMemorySpecifyCache(64 * 1024 + 1, mm_pa(0), any_address(), mm_pa(64 * 1024),
                                                       MmCached));
    assert_null(MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(48 * 1024), MmCached));
    assert_null(MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0x800), MmCached));
    MmFreeContiguousMemory(exact);
    for (int i = 0; i < 24; i++)
        MmFreeContiguousMemorySpecifyCache(held[i], 48 * 1024 - (i % 3), MmCached);
    mm_check_balanced(&s);
}

static void contig_cache_types_and_protection(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PVOID nc = MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), MmNonCached);
    PVOID wc = MmAllocateContiguousMemorySpecifyCacheNode(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0),
                                                          MmWriteCombined, MM_ANY_NODE_OK);
    assert_non_null(nc);
    assert_non_null(wc);
    assert_int_equal(mm_entry(nc, NULL) & (MI_PTE_PCD | MI_PTE_PWT), MI_PTE_PCD | MI_PTE_PWT);
    assert_int_equal(mm_entry(wc, NULL) & (MI_PTE_PCD | MI_PTE_PWT), MI_PTE_PWT);
    assert_int_equal(MiGetPfnEntry(MmGetPhysicalAddress(nc).QuadPart >> PAGE_SHIFT)->CacheAttribute, MiNonCached);
    assert_int_equal(MiGetPfnEntry(MmGetPhysicalAddress(wc).QuadPart >> PAGE_SHIFT)->CacheAttribute, MiWriteCombined);
    assert_null(
        MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), MmMaximumCacheType));
    assert_null(MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), MmNotMapped));
    MmFreeContiguousMemory(nc);
    MmFreeContiguousMemorySpecifyCache(wc, PAGE_SIZE, MmWriteCombined);

    PVOID rw = MmAllocateContiguousNodeMemory(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), PAGE_READWRITE, 0);
    PVOID rwx = MmAllocateContiguousNodeMemory(2 * PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0),
                                               PAGE_EXECUTE_READWRITE | PAGE_NOCACHE, MM_ANY_NODE_OK);
    assert_non_null(rw);
    assert_non_null(rwx);
    assert_true(mm_entry(rw, NULL) & MI_PTE_NX);
    assert_false(mm_entry(rwx, NULL) & MI_PTE_NX);
    assert_true(mm_entry(rwx, NULL) & MI_PTE_PCD);
    assert_null(MmAllocateContiguousNodeMemory(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), PAGE_NOACCESS, 0));
    assert_null(MmAllocateContiguousNodeMemory(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0),
                                               PAGE_READWRITE | PAGE_GUARD, 0));
    MmFreeContiguousMemory(rw);
    MmFreeContiguousMemory(rwx);
    mm_check_balanced(&s);
}

static void contig_large_blocks(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    SIZE_T bytes = 4 * MI_LARGE_PAGE_SIZE + 3 * PAGE_SIZE;
    PUCHAR va = MmAllocateContiguousMemory(bytes, any_address());
    assert_non_null(va);
    check_contiguous(va, bytes);
    /* Looked for 2 MB aligned first, so the first four 2 MB stretches are 2 MB pages. */
    assert_int_equal(MmGetPhysicalAddress(va).QuadPart & (MI_LARGE_PAGE_SIZE - 1), 0);
    SIZE_T page = 0;
    mm_entry(va, &page);
    assert_int_equal(page, MI_LARGE_PAGE_SIZE);
    mm_entry(va + 3 * MI_LARGE_PAGE_SIZE + 5, &page);
    assert_int_equal(page, MI_LARGE_PAGE_SIZE);
    mm_entry(va + 4 * MI_LARGE_PAGE_SIZE, &page);
    assert_int_equal(page, PAGE_SIZE);
    /* The MMPFNs name the PDE that maps them. */
    PMMPFN e = MiGetPfnEntry((MmGetPhysicalAddress(va).QuadPart >> PAGE_SHIFT) + 7);
    assert_int_equal(e->PteAddress, MiGetPfnEntry(MmGetPhysicalAddress(va).QuadPart >> PAGE_SHIFT)->PteAddress);
    for (SIZE_T off = 0; off < bytes; off += 0x10001)
        va[off] = (UCHAR)off;
    for (SIZE_T off = 0; off < bytes; off += 0x10001)
        assert_int_equal(va[off], (UCHAR)off);
    MmFreeContiguousMemorySpecifyCache(va, bytes, MmCached);
    mm_check_balanced(&s);
}

static void contig_bad_arguments_and_misuse(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    assert_null(MmAllocateContiguousMemory(0, any_address()));
    assert_null(MmAllocateContiguousMemory(~(SIZE_T)0, any_address()));
    assert_null(MmAllocateContiguousMemory((SIZE_T)1 << 62, any_address()));

    PUCHAR va = MmAllocateContiguousMemory(2 * PAGE_SIZE, any_address());
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemory(va + PAGE_SIZE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x03);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)(va + PAGE_SIZE));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemory(va + 8));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemorySpecifyCache(va, 3 * PAGE_SIZE, MmCached));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x02);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 2);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 3);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemorySpecifyCache(va, 0, MmCached));
    PVOID pool = MiAllocatePoolPages(1, TRUE);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemory(pool));
    MiFreePoolPages(pool);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemory(&s));
    /* None of it disturbed the allocation. */
    assert_true(MmIsAddressValid(va + PAGE_SIZE));
    MmFreeContiguousMemory(va);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeContiguousMemory(va));
    mm_check_balanced(&s);
}

static void contig_irql_rules(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PVOID va = MmAllocateContiguousMemory(PAGE_SIZE, any_address());
    PVOID node = MmAllocateContiguousNodeMemory(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), PAGE_READWRITE, 0);
    assert_non_null(va);
    assert_non_null(node);
    MmFreeContiguousMemory(va);
    MmFreeContiguousMemorySpecifyCache(node, PAGE_SIZE, MmCached);
    KeLowerIrql(old);
    old = KfRaiseIrql(SYNCH_LEVEL);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmAllocateContiguousMemory(PAGE_SIZE, any_address()));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], PAGE_SIZE);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], SYNCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)MmAllocateContiguousMemory);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL,
                    MmAllocateContiguousMemorySpecifyCache(PAGE_SIZE, mm_pa(0), any_address(), mm_pa(0), MmCached));
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmFreeContiguousMemory(NULL));
    KeLowerIrql(old);
    mm_check_balanced(&s);
}

/* ---- non-cached memory ------------------------------------------------------------------- */

static void noncached_allocate_and_free(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR va = MmAllocateNonCachedMemory(5000);
    assert_non_null(va);
    assert_int_equal(BYTE_OFFSET(va), 0);
    for (int i = 0; i < 2; i++) {
        ULONG64 e = mm_entry(va + i * PAGE_SIZE, NULL);
        assert_int_equal(e & (MI_PTE_PCD | MI_PTE_PWT | MI_PTE_WRITE | MI_PTE_NX),
                         MI_PTE_PCD | MI_PTE_PWT | MI_PTE_WRITE | MI_PTE_NX);
        PMMPFN p = MiGetPfnEntry(MmGetPhysicalAddress(va + i * PAGE_SIZE).QuadPart >> PAGE_SHIFT);
        assert_int_equal(p->Usage, MiPfnUsageNonCached);
        assert_int_equal(p->CacheAttribute, MiNonCached);
    }
    /* Whole pages, whatever was asked. */
    va[2 * PAGE_SIZE - 1] = 9;
    assert_false(MmIsAddressValid(va + 2 * PAGE_SIZE));
    MmFreeNonCachedMemory(va, 5000);

    /* At APC_LEVEL too. */
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    va = MmAllocateNonCachedMemory(1);
    assert_non_null(va);
    MmFreeNonCachedMemory(va, 1);
    KeLowerIrql(old);
    assert_null(MmAllocateNonCachedMemory(0));
    assert_null(MmAllocateNonCachedMemory(~(SIZE_T)0));
    mm_check_balanced(&s);
}

static void noncached_misuse(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR va = MmAllocateNonCachedMemory(3 * PAGE_SIZE);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeNonCachedMemory(va, PAGE_SIZE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x02);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 3);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 1);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeNonCachedMemory(va + PAGE_SIZE, PAGE_SIZE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x03);
    PVOID contig = MmAllocateContiguousMemory(PAGE_SIZE, any_address());
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmFreeNonCachedMemory(contig, PAGE_SIZE));
    MmFreeContiguousMemory(contig);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmAllocateNonCachedMemory(PAGE_SIZE));
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmFreeNonCachedMemory(va, 3 * PAGE_SIZE));
    KeLowerIrql(old);
    MmFreeNonCachedMemory(va, 3 * PAGE_SIZE);
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(contig_basic),
    cmocka_unit_test(contig_address_limits),
    cmocka_unit_test(contig_boundary),
    cmocka_unit_test(contig_cache_types_and_protection),
    cmocka_unit_test(contig_large_blocks),
    cmocka_unit_test(contig_bad_arguments_and_misuse),
    cmocka_unit_test(contig_irql_rules),
    cmocka_unit_test(noncached_allocate_and_free),
    cmocka_unit_test(noncached_misuse),
};

NTOS_TEST_GROUP(mm_contiguous, tests, NULL, NULL);
