/*
 * Page tables: map, translate, protect and unmap in the system range, entry
 * bits, 2 MB pages and their splitting, table pages freed when empty, failure
 * paths; and a property test of thousands of random operations checked
 * against a reference model through MiTranslate, MmGetPhysicalAddress,
 * MmIsAddressValid and real loads and stores through the mappings.
 */
#include "mm_test.h"

#define RW (MI_PTE_WRITE | MI_PTE_GLOBAL | MI_PTE_NX)

static void pt_map_translate_unmap(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR va = MiReserveSystemPtes(4);
    assert_non_null(va);
    PFN_NUMBER p = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    ULONG64 pa = (ULONG64)p << PAGE_SHIFT;
    assert_false(MmIsAddressValid(va));
    assert_int_equal(MiMapRange((ULONG_PTR)va + PAGE_SIZE, pa, 1, RW, 0), STATUS_SUCCESS);

    PUCHAR page = va + PAGE_SIZE;
    ULONG64 got = 0, entry = 0;
    SIZE_T bytes = 0;
    assert_true(MiTranslate((ULONG_PTR)page + 0x123, &got, &entry, &bytes));
    assert_int_equal(got, pa + 0x123);
    assert_int_equal(bytes, PAGE_SIZE);
    assert_int_equal(entry & MI_PTE_FRAME, pa);
    assert_int_equal(entry & (MI_PTE_PRESENT | MI_PTE_WRITE | MI_PTE_ACCESSED | MI_PTE_DIRTY | MI_PTE_GLOBAL),
                     MI_PTE_PRESENT | MI_PTE_WRITE | MI_PTE_ACCESSED | MI_PTE_DIRTY | MI_PTE_GLOBAL);
    assert_true(entry & MI_PTE_NX);
    assert_false(entry & (MI_PTE_USER | MI_PTE_LARGE | MI_PTE_PCD | MI_PTE_PWT));
    assert_int_equal(MmGetPhysicalAddress(page + 0xFFF).QuadPart, (LONGLONG)(pa + 0xFFF));
    assert_true(MmIsAddressValid(page));
    assert_true(MmIsAddressValid(page + PAGE_SIZE - 1));
    assert_false(MmIsAddressValid(va));
    assert_false(MmIsAddressValid(page + PAGE_SIZE));

    /* Stores through the mapping land in the page, and the other way round. */
    *(volatile ULONG64 *)(page + 8) = 0xfeedfacecafebeefULL;
    assert_int_equal(((PULONG64)MiPageAddress(p))[1], 0xfeedfacecafebeefULL);
    ((PULONG64)MiPageAddress(p))[100] = 77;
    assert_int_equal(*(volatile ULONG64 *)(page + 800), 77);

    /* The tables above it exist now; their owner and counts are right. */
    MI_PFN_COUNTS c;
    MiQueryPfnCounts(&c);
    assert_true(c.PageTables > s.Pfn.PageTables || s.Pfn.PageTables > 1);
    PMMPFN pte = MiGetPfnEntry((entry & MI_PTE_FRAME) >> PAGE_SHIFT);
    assert_non_null(pte);

    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 4), STATUS_SUCCESS);
    assert_false(MmIsAddressValid(page));
    assert_int_equal(MmGetPhysicalAddress(page).QuadPart, 0);
    assert_false(MiTranslate((ULONG_PTR)page, &got, NULL, NULL));
    MiReleaseSystemPtes(va, 4);
    MiFreePage(p);
    mm_check_balanced(&s);
}

static void pt_conflicts_and_bad_arguments(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR va = MiReserveSystemPtes(8);
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    ULONG64 pa = (ULONG64)p << PAGE_SHIFT;
    assert_int_equal(MiMapRange((ULONG_PTR)va + 3 * PAGE_SIZE, pa, 1, RW, 0), STATUS_SUCCESS);
    /* Overlapping an existing mapping: refused, nothing changes. */
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa, 5, RW, 0), STATUS_CONFLICTING_ADDRESSES);
    assert_false(MmIsAddressValid(va));
    assert_true(MmIsAddressValid(va + 3 * PAGE_SIZE));
    /* Bad arguments. */
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa, 0, RW, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiMapRange((ULONG_PTR)va + 1, pa, 1, RW, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa + 1, 1, RW, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiMapRange((ULONG_PTR)&s & ~(ULONG_PTR)0xFFF, pa, 1, RW, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiMapRange(MiSystemRangeStart + MiSystemRangeSize - PAGE_SIZE, pa, 2, RW, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(MiMapRange((ULONG_PTR)va, 1ULL << 52, 1, RW, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiMapPageChain((ULONG_PTR)va, 0, 1, RW, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va + 5, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiProtectRange((ULONG_PTR)va, 0, RW), STATUS_INVALID_PARAMETER);
    assert_int_equal(MiProtectRange(0x1000, 1, RW), STATUS_INVALID_PARAMETER);
    /* Unmapping or protecting unmapped pages is fine. */
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 2), STATUS_SUCCESS);
    assert_int_equal(MiProtectRange((ULONG_PTR)va, 2, RW), STATUS_SUCCESS);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 8), STATUS_SUCCESS);
    MiReleaseSystemPtes(va, 8);
    MiFreePage(p);
    mm_check_balanced(&s);
}

static void pt_protect_changes_bits(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR va = MiReserveSystemPtes(2);
    PFN_NUMBER p = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    ULONG64 pa = (ULONG64)p << PAGE_SHIFT;
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa, 1, MI_PTE_NX | MI_PTE_OWNER(MiOwnerNone), MI_MAP_ALLOCATION),
                     STATUS_SUCCESS);
    ULONG64 e = mm_entry(va, NULL);
    assert_false(e & (MI_PTE_WRITE | MI_PTE_DIRTY));
    assert_true(e & MI_PTE_ALLOCATION_START);
    assert_true(e & MI_PTE_ALLOCATION_END);
    ((PULONG)MiPageAddress(p))[0] = 5;
    assert_int_equal(*(volatile ULONG *)va, 5);

    assert_int_equal(MiProtectRange((ULONG_PTR)va, 1, MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT), STATUS_SUCCESS);
    e = mm_entry(va, NULL);
    assert_true(e & MI_PTE_WRITE);
    assert_true(e & MI_PTE_DIRTY);
    assert_true(e & MI_PTE_PCD);
    assert_false(e & MI_PTE_NX);
    assert_int_equal(e & MI_PTE_FRAME, pa);
    /* Allocation marks survive a protection change. */
    assert_true(e & MI_PTE_ALLOCATION_START);
    *(volatile ULONG *)va = 9;
    assert_int_equal(((PULONG)MiPageAddress(p))[0], 9);

    /* A user leaf makes the upper levels user too. */
    assert_int_equal(MiProtectRange((ULONG_PTR)va, 1, MI_PTE_USER | MI_PTE_WRITE), STATUS_SUCCESS);
    assert_true(mm_entry(va, NULL) & MI_PTE_USER);
    ULONG64 table = MiPml4Physical;
    for (int level = 3; level > 0; level--) {
        ULONG64 entry = ((PULONG64)arch_physical_pointer(table))[((ULONG_PTR)va >> (12 + 9 * level)) & 511];
        assert_true(entry & MI_PTE_USER);
        table = entry & MI_PTE_FRAME;
    }
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 1), STATUS_SUCCESS);
    MiReleaseSystemPtes(va, 2);
    MiFreePage(p);
    mm_check_balanced(&s);
}

static void pt_outside_system_range(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    int local = 0;
    /* Mm's tables describe the system range only. */
    assert_false(MmIsAddressValid(&local));
    assert_false(MmIsAddressValid(NULL));
    assert_int_equal(MmGetPhysicalAddress(&local).QuadPart, 0);
    assert_int_equal(MmGetPhysicalAddress((PVOID)~(ULONG_PTR)0).QuadPart, 0);
    /* A non-canonical alias of a mapped system address is not it. */
    PUCHAR pool = MiAllocatePoolPages(1, TRUE);
    assert_non_null(pool);
    assert_true(MmIsAddressValid(pool));
    assert_false(MmIsAddressValid((PVOID)((ULONG_PTR)pool ^ (1ULL << 60))));
    MiFreePoolPages(pool);
    /* At any IRQL for MmGetPhysicalAddress; MmIsAddressValid stops above DISPATCH_LEVEL. */
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    assert_int_equal(MmGetPhysicalAddress(&local).QuadPart, 0);
    KeLowerIrql(old);
    old = KfRaiseIrql(CLOCK_LEVEL);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmIsAddressValid(&local));
    KeLowerIrql(old);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&local);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], CLOCK_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)MmIsAddressValid);
    mm_check_balanced(&s);
}

/* ---- 2 MB pages ------------------------------------------------------------------------ */

static void pt_large_pages_and_splitting(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER run = MiAllocateContiguousPages(1024, 0, ~(PFN_NUMBER)0, 0, 512, 0, MiPfnUsageDriver);
    assert_int_not_equal(run, 0);
    ULONG64 pa = (ULONG64)run << PAGE_SHIFT;
    PUCHAR va = MiReserveAlignedSystemPtes(1024, 512, 0);
    assert_non_null(va);
    assert_int_equal((ULONG_PTR)va & (MI_LARGE_PAGE_SIZE - 1), 0);
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa, 1024, RW, MI_MAP_LARGE_PAGES), STATUS_SUCCESS);

    SIZE_T bytes = 0;
    ULONG64 e = mm_entry(va + 0x1234, &bytes);
    assert_int_equal(bytes, MI_LARGE_PAGE_SIZE);
    assert_true(e & MI_PTE_LARGE);
    assert_int_equal(MmGetPhysicalAddress(va + 0x1FFFFF).QuadPart, (LONGLONG)(pa + 0x1FFFFF));
    assert_int_equal(MmGetPhysicalAddress(va + 0x200000 + 0x10).QuadPart, (LONGLONG)(pa + 0x200010));
    for (ULONG i = 0; i < 1024; i += 97) {
        *(volatile ULONG *)(va + i * PAGE_SIZE + 4) = i;
        assert_int_equal(*(PULONG)((PUCHAR)MiPageAddress(run + i) + 4), i);
    }

    /* Unmapping one page inside splits that 2 MB page only. */
    assert_int_equal(MiUnmapRange((ULONG_PTR)va + 10 * PAGE_SIZE, 1), STATUS_SUCCESS);
    assert_false(MmIsAddressValid(va + 10 * PAGE_SIZE));
    mm_entry(va + 9 * PAGE_SIZE, &bytes);
    assert_int_equal(bytes, PAGE_SIZE);
    mm_entry(va + 0x200000, &bytes);
    assert_int_equal(bytes, MI_LARGE_PAGE_SIZE);
    for (ULONG i = 0; i < 512; i++) {
        if (i == 10)
            continue;
        assert_int_equal(MmGetPhysicalAddress(va + i * PAGE_SIZE).QuadPart, (LONGLONG)(pa + i * PAGE_SIZE));
    }
    assert_int_equal(*(volatile ULONG *)(va + 97 * PAGE_SIZE + 4), 97);

    /* Protecting part of the second 2 MB page splits it; all of it would not. */
    assert_int_equal(MiProtectRange((ULONG_PTR)va + 0x200000 + 3 * PAGE_SIZE, 2, MI_PTE_NX), STATUS_SUCCESS);
    e = mm_entry(va + 0x200000 + 3 * PAGE_SIZE, &bytes);
    assert_int_equal(bytes, PAGE_SIZE);
    assert_false(e & MI_PTE_WRITE);
    assert_true(mm_entry(va + 0x200000 + 5 * PAGE_SIZE, NULL) & MI_PTE_WRITE);

    /* Mapping 2 MB pages over a range that has mappings is refused. */
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa, 512, RW, MI_MAP_LARGE_PAGES), STATUS_CONFLICTING_ADDRESSES);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 1024), STATUS_SUCCESS);
    /* Unaligned VA or PA: 4 KB pages are used instead. */
    assert_int_equal(MiMapRange((ULONG_PTR)va + PAGE_SIZE, pa, 600, RW, MI_MAP_LARGE_PAGES), STATUS_SUCCESS);
    mm_entry(va + PAGE_SIZE, &bytes);
    assert_int_equal(bytes, PAGE_SIZE);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 1024), STATUS_SUCCESS);
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa + PAGE_SIZE, 600, RW, MI_MAP_LARGE_PAGES), STATUS_SUCCESS);
    mm_entry(va, &bytes);
    assert_int_equal(bytes, PAGE_SIZE);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 1024), STATUS_SUCCESS);
    /* A whole 2 MB page protected stays whole. */
    assert_int_equal(MiMapRange((ULONG_PTR)va, pa, 512, RW | MI_PTE_OWNER(MiOwnerNone),
                                MI_MAP_LARGE_PAGES | MI_MAP_ALLOCATION),
                     STATUS_SUCCESS);
    assert_int_equal(MiProtectRange((ULONG_PTR)va, 512, MI_PTE_GLOBAL), STATUS_SUCCESS);
    e = mm_entry(va, &bytes);
    assert_int_equal(bytes, MI_LARGE_PAGE_SIZE);
    assert_false(e & MI_PTE_WRITE);
    assert_true(e & MI_PTE_ALLOCATION_START);
    /* Split: START and END land on the first and last 4 KB pages. */
    assert_int_equal(MiUnmapRange((ULONG_PTR)va + 100 * PAGE_SIZE, 1), STATUS_SUCCESS);
    assert_true(mm_entry(va, NULL) & MI_PTE_ALLOCATION_START);
    assert_false(mm_entry(va + PAGE_SIZE, NULL) & (MI_PTE_ALLOCATION_START | MI_PTE_ALLOCATION_END));
    assert_true(mm_entry(va + 511 * PAGE_SIZE, NULL) & MI_PTE_ALLOCATION_END);
    assert_int_equal(MiUnmapRange((ULONG_PTR)va, 1024), STATUS_SUCCESS);

    MiReleaseSystemPtes(va, 1024);
    MiFreePageChain(run, FALSE);
    mm_check_balanced(&s);
}

static void pt_tables_allocated_and_freed(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    /* Pages 1 GB apart need separate PDs and PTs. */
    SIZE_T pages = (SIZE_T)((1ULL << 30) / PAGE_SIZE) + 512;
    PUCHAR va = MiReserveAlignedSystemPtes(pages, 512, 0);
    assert_non_null(va);
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    ULONG_PTR a = (ULONG_PTR)va + 3 * PAGE_SIZE;
    ULONG_PTR b = a + (1ULL << 30);
    MI_PFN_COUNTS before, during;
    MiQueryPfnCounts(&before);
    assert_int_equal(MiMapRange(a, (ULONG64)p << PAGE_SHIFT, 1, RW, 0), STATUS_SUCCESS);
    assert_int_equal(MiMapRange(b, (ULONG64)p << PAGE_SHIFT, 1, RW, 0), STATUS_SUCCESS);
    MiQueryPfnCounts(&during);
    assert_true(during.PageTables >= before.PageTables + 3);
    /* The PT's MMPFN names the PD entry that links it. */
    ULONG64 e = mm_entry((PVOID)b, NULL);
    assert_int_not_equal(e, 0);
    /* Both aliases see the same page. */
    *(volatile ULONG *)a = 0xabc;
    assert_int_equal(*(volatile ULONG *)b, 0xabc);
    assert_int_equal(MiUnmapRange(a, 1), STATUS_SUCCESS);
    assert_int_equal(MiUnmapRange(b, 1), STATUS_SUCCESS);
    MiQueryPfnCounts(&during);
    assert_int_equal(during.PageTables, before.PageTables);
    /* Emptied table pages went to the zeroed list. */
    assert_true(during.Zeroed >= 3);
    MiReleaseSystemPtes(va, pages);
    MiFreePage(p);
    mm_check_balanced(&s);
}

static void pt_out_of_table_pages(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    ULONG64 pa = (ULONG64)p << PAGE_SHIFT;
    /* Two 2 MB chunks of our own: nothing else maps there, so no PT exists. */
    PUCHAR region = MiReserveAlignedSystemPtes(1024, 512, 0);
    assert_non_null(region);
    ULONG_PTR x = (ULONG_PTR)region + MI_LARGE_PAGE_SIZE - PAGE_SIZE;
    assert_int_equal(MiMapRange(x - PAGE_SIZE, pa, 1, RW, 0), STATUS_SUCCESS);

    /* Take every page: a map needing a new table fails and leaves nothing. */
    SIZE_T left = MiAvailablePages();
    PFN_NUMBER hoard = MiAllocatePages(left, 0, MiPfnUsageDriver);
    assert_int_not_equal(hoard, 0);
    assert_int_equal(MiMapRange(x + 2 * PAGE_SIZE, pa, 1, RW, 0), STATUS_INSUFFICIENT_RESOURCES);
    /* Across the chunk boundary: the first page maps (its PT exists), the
     * second cannot; the first is taken back. */
    assert_int_equal(MiMapRange(x, pa, 2, RW, 0), STATUS_INSUFFICIENT_RESOURCES);
    assert_false(MmIsAddressValid((PVOID)x));
    assert_false(MmIsAddressValid((PVOID)(x + PAGE_SIZE)));
    assert_true(MmIsAddressValid((PVOID)(x - PAGE_SIZE)));
    /* In the existing PT it works. */
    assert_int_equal(MiMapRange(x, pa, 1, RW, 0), STATUS_SUCCESS);
    assert_int_equal(MiUnmapRange(x, 1), STATUS_SUCCESS);
    assert_int_equal(MiAvailablePages(), 0);
    MiFreePageChain(hoard, FALSE);

    assert_int_equal(MiMapRange(x, pa, 2, RW, 0), STATUS_SUCCESS);
    assert_true(MmIsAddressValid((PVOID)(x + PAGE_SIZE)));
    assert_int_equal(MiUnmapRange((ULONG_PTR)region, 1024), STATUS_SUCCESS);

    /* Splitting a 2 MB page needs a table page too: without one, nothing changes. */
    PFN_NUMBER run = MiAllocateContiguousPages(512, 0, ~(PFN_NUMBER)0, 0, 512, 0, MiPfnUsageDriver);
    assert_int_not_equal(run, 0);
    assert_int_equal(MiMapRange((ULONG_PTR)region, (ULONG64)run << PAGE_SHIFT, 512, RW, MI_MAP_LARGE_PAGES),
                     STATUS_SUCCESS);
    hoard = MiAllocatePages(MiAvailablePages(), 0, MiPfnUsageDriver);
    assert_int_equal(MiUnmapRange((ULONG_PTR)region + PAGE_SIZE, 1), STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(MiProtectRange((ULONG_PTR)region + PAGE_SIZE, 1, 0), STATUS_INSUFFICIENT_RESOURCES);
    SIZE_T bytes = 0;
    assert_true(mm_entry(region + PAGE_SIZE, &bytes) & MI_PTE_WRITE);
    assert_int_equal(bytes, MI_LARGE_PAGE_SIZE);
    /* The whole 2 MB page needs no split. */
    assert_int_equal(MiUnmapRange((ULONG_PTR)region, 512), STATUS_SUCCESS);
    if (hoard != 0)
        MiFreePageChain(hoard, FALSE);
    MiReleaseSystemPtes(region, 1024);
    MiFreePageChain(run, FALSE);
    MiFreePage(p);
    mm_check_balanced(&s);
}

/* ---- property test ------------------------------------------------------------------------- */

#define SLICE_PAGES 2048 /* 8 MB: four 2 MB-aligned chunks */
#define SLICE_CHUNKS (SLICE_PAGES / 512)
#define POOL_PAGES 64
#define OPS 4000

typedef struct model_page {
    ULONG64 Pa;        /* 0: unmapped */
    ULONG64 Attributes; /* protection bits */
} model_page;

static model_page model[SLICE_PAGES];
static BOOLEAN model_large[SLICE_CHUNKS];
static PFN_NUMBER pool_pages[POOL_PAGES];

static const ULONG64 attribute_choices[] = {
    MI_PTE_WRITE | MI_PTE_GLOBAL | MI_PTE_NX,
    MI_PTE_GLOBAL | MI_PTE_NX,
    MI_PTE_WRITE,
    0,
    MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT | MI_PTE_NX,
    MI_PTE_WRITE | MI_PTE_PWT | MI_PTE_GLOBAL,
    MI_PTE_PCD | MI_PTE_NX,
};

static ULONG64 pick_attributes(uint64_t *seed)
{
    return attribute_choices[ntos_test_rand(seed) % RTL_NUMBER_OF(attribute_choices)];
}

/* A 2 MB page that [start, start + count) covers only partly gets split. */
static void model_cut(SIZE_T start, SIZE_T count)
{
    for (SIZE_T c = start / 512; c <= (start + count - 1) / 512; c++) {
        SIZE_T cs = c * 512;
        if (!(start <= cs && start + count >= cs + 512))
            model_large[c] = FALSE;
    }
}

static void check_page(PUCHAR base, SIZE_T i, uint64_t *seed, BOOLEAN access)
{
    PUCHAR va = base + i * PAGE_SIZE;
    ULONG64 pa = 0, e = 0;
    SIZE_T bytes = 0;
    BOOLEAN mapped = MiTranslate((ULONG_PTR)va, &pa, &e, &bytes);
    if (model[i].Pa == 0) {
        if (mapped)
            fail_msg("page %u mapped to %llx, model says unmapped", (unsigned)i, (unsigned long long)pa);
        assert_false(MmIsAddressValid(va));
        assert_int_equal(MmGetPhysicalAddress(va).QuadPart, 0);
        if (access && MM_HOST_PROBES && mm_host_can_access(va, FALSE))
            fail_msg("page %u unmapped but readable", (unsigned)i);
        return;
    }
    if (!mapped)
        fail_msg("page %u unmapped, model says %llx", (unsigned)i, (unsigned long long)model[i].Pa);
    assert_int_equal(pa, model[i].Pa);
    assert_int_equal(bytes, model_large[i / 512] ? MI_LARGE_PAGE_SIZE : PAGE_SIZE);
    assert_int_equal(e & MI_PTE_PROTECTION_MASK, model[i].Attributes);
    assert_true(e & MI_PTE_ACCESSED);
    assert_int_equal((e & MI_PTE_DIRTY) != 0, (e & MI_PTE_WRITE) != 0);
    assert_int_equal((e & MI_PTE_LARGE) != 0, model_large[i / 512]);
    assert_true(MmIsAddressValid(va));
    SIZE_T off = (SIZE_T)(ntos_test_rand(seed) % (PAGE_SIZE / 8)) * 8;
    assert_int_equal(MmGetPhysicalAddress(va + off).QuadPart, (LONGLONG)(pa + off));
    if (!access)
        return;
    volatile ULONG64 *through_va = (volatile ULONG64 *)(va + off);
    volatile ULONG64 *through_pa = arch_physical_pointer(pa + off);
    assert_int_equal(*through_va, *through_pa);
    if (MM_HOST_PROBES)
        assert_int_equal(mm_host_can_access(va, TRUE), (model[i].Attributes & MI_PTE_WRITE) != 0);
    if (model[i].Attributes & MI_PTE_WRITE) {
        ULONG64 v = ntos_test_rand(seed);
        *through_va = v;
        assert_int_equal(*through_pa, v);
        *through_pa = ~v;
        assert_int_equal(*through_va, ~v);
    }
}

static void pt_property_random_operations(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    PUCHAR base = MiReserveAlignedSystemPtes(SLICE_PAGES, 512, 0);
    assert_non_null(base);
    PFN_NUMBER run = MiAllocateContiguousPages(512, 0, ~(PFN_NUMBER)0, 0, 512, 0, MiPfnUsageDriver);
    assert_int_not_equal(run, 0);
    ULONG64 run_pa = (ULONG64)run << PAGE_SHIFT;
    PFN_NUMBER chain = MiAllocatePages(POOL_PAGES, MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    assert_int_not_equal(chain, 0);
    for (int i = 0; i < POOL_PAGES; i++) {
        pool_pages[i] = chain;
        chain = MiGetPfnEntry(chain)->u1.NextInChain;
    }
    RtlZeroMemory(model, sizeof(model));
    RtlZeroMemory(model_large, sizeof(model_large));
    ULONG maps = 0, larges = 0, conflicts = 0, unmaps = 0, protects = 0;

    for (int op = 0; op < OPS; op++) {
        ULONG r = (ULONG)(ntos_test_rand(&seed) % 100);
        if (r < 35) {
            /* Map a few 4 KB pages: one pool page, or a stretch of the run. */
            BOOLEAN single = ntos_test_rand(&seed) & 1;
            SIZE_T len = single ? 1 : 1 + ntos_test_rand(&seed) % 16;
            SIZE_T start = ntos_test_rand(&seed) % (SLICE_PAGES - len + 1);
            ULONG64 pa = single ? (ULONG64)pool_pages[ntos_test_rand(&seed) % POOL_PAGES] << PAGE_SHIFT
                                : run_pa + (ntos_test_rand(&seed) % (512 - len + 1)) * PAGE_SIZE;
            ULONG64 attributes = pick_attributes(&seed);
            BOOLEAN conflict = FALSE;
            for (SIZE_T i = 0; i < len; i++)
                conflict |= model[start + i].Pa != 0;
            NTSTATUS st = MiMapRange((ULONG_PTR)base + start * PAGE_SIZE, pa, len, attributes,
                                     (ntos_test_rand(&seed) & 1) ? MI_MAP_LARGE_PAGES : 0);
            assert_int_equal(st, conflict ? STATUS_CONFLICTING_ADDRESSES : STATUS_SUCCESS);
            if (!conflict) {
                for (SIZE_T i = 0; i < len; i++)
                    model[start + i] = (model_page){pa + i * PAGE_SIZE, attributes};
                maps++;
            } else {
                conflicts++;
            }
        } else if (r < 45) {
            /* A whole 2 MB page, when its chunk is free. */
            SIZE_T c = ntos_test_rand(&seed) % SLICE_CHUNKS;
            ULONG64 attributes = pick_attributes(&seed);
            BOOLEAN conflict = FALSE;
            for (SIZE_T i = 0; i < 512; i++)
                conflict |= model[c * 512 + i].Pa != 0;
            NTSTATUS st = MiMapRange((ULONG_PTR)base + c * MI_LARGE_PAGE_SIZE, run_pa, 512, attributes,
                                     MI_MAP_LARGE_PAGES);
            assert_int_equal(st, conflict ? STATUS_CONFLICTING_ADDRESSES : STATUS_SUCCESS);
            if (!conflict) {
                for (SIZE_T i = 0; i < 512; i++)
                    model[c * 512 + i] = (model_page){run_pa + i * PAGE_SIZE, attributes};
                model_large[c] = TRUE;
                larges++;
            } else {
                conflicts++;
            }
        } else {
            /* Unmap or protect a stretch, sometimes across 2 MB pages. */
            SIZE_T len = 1 + ntos_test_rand(&seed) % ((ntos_test_rand(&seed) % 3) == 0 ? 700 : 16);
            SIZE_T start = ntos_test_rand(&seed) % (SLICE_PAGES - len + 1);
            model_cut(start, len);
            if (r < 77) {
                assert_int_equal(MiUnmapRange((ULONG_PTR)base + start * PAGE_SIZE, len), STATUS_SUCCESS);
                for (SIZE_T i = 0; i < len; i++)
                    model[start + i].Pa = 0;
                for (SIZE_T c = 0; c < SLICE_CHUNKS; c++) {
                    if (model_large[c] && model[c * 512].Pa == 0)
                        model_large[c] = FALSE;
                }
                unmaps++;
            } else {
                ULONG64 attributes = pick_attributes(&seed);
                assert_int_equal(MiProtectRange((ULONG_PTR)base + start * PAGE_SIZE, len, attributes),
                                 STATUS_SUCCESS);
                for (SIZE_T i = 0; i < len; i++) {
                    if (model[start + i].Pa != 0)
                        model[start + i].Attributes = attributes;
                }
                protects++;
            }
        }
        for (int k = 0; k < 4; k++)
            check_page(base, ntos_test_rand(&seed) % SLICE_PAGES, &seed, TRUE);
        if (op % 250 == 249) {
            for (SIZE_T i = 0; i < SLICE_PAGES; i++)
                check_page(base, i, &seed, (i & 7) == 0);
        }
    }
    print_message("page-table property: %u maps, %u 2 MB maps, %u conflicts, %u unmaps, %u protects\n",
                  maps, larges, conflicts, unmaps, protects);

    assert_int_equal(MiUnmapRange((ULONG_PTR)base, SLICE_PAGES), STATUS_SUCCESS);
    RtlZeroMemory(model, sizeof(model));
    for (SIZE_T i = 0; i < SLICE_PAGES; i++)
        check_page(base, i, &seed, FALSE);
    MiReleaseSystemPtes(base, SLICE_PAGES);
    for (int i = 0; i < POOL_PAGES; i++)
        MiFreePage(pool_pages[i]);
    MiFreePageChain(run, FALSE);
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pt_map_translate_unmap),
    cmocka_unit_test(pt_conflicts_and_bad_arguments),
    cmocka_unit_test(pt_protect_changes_bits),
    cmocka_unit_test(pt_outside_system_range),
    cmocka_unit_test(pt_large_pages_and_splitting),
    cmocka_unit_test(pt_tables_allocated_and_freed),
    cmocka_unit_test(pt_out_of_table_pages),
    cmocka_unit_test(pt_property_random_operations),
};

NTOS_TEST_GROUP(mm_pagetable, tests, NULL, NULL);
