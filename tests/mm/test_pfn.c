/*
 * The PFN database: its shape against the memory map, page allocation and
 * freeing (zeroed and free lists, reference counts), contiguous runs with
 * range, boundary and alignment limits, exhaustion, and the PFN_LIST_CORRUPT
 * bug checks for bad frees.
 */
#include "mm_test.h"

static void pfn_database_matches_memory_map(void **state)
{
    const ARCH_MEMORY_DESCRIPTOR *d;
    ULONG n = arch_memory_map(&d);
    SIZE_T expected = 0;
    for (ULONG i = 0; i < n; i++) {
        if (d[i].Type != ArchMemoryFree)
            continue;
        expected += d[i].PageCount - (d[i].BasePage == 0 ? 1 : 0);
        /* Every page of a free range has an entry; its neighbours outside do not. */
        PFN_NUMBER first = d[i].BasePage == 0 ? 1 : d[i].BasePage;
        assert_non_null(MiGetPfnEntry(first));
        assert_non_null(MiGetPfnEntry(d[i].BasePage + d[i].PageCount - 1));
        assert_null(MiGetPfnEntry(d[i].BasePage + d[i].PageCount));
    }
    MI_PFN_COUNTS c;
    MiQueryPfnCounts(&c);
    assert_int_equal(c.Total, expected);
    assert_int_equal(c.Total, c.Zeroed + c.Free + c.Active);
    assert_int_equal(c.Standby + c.Modified + c.Bad, 0);
    assert_true(c.PageTables >= 1); /* the PML4 at least */
    assert_true(c.MmInternal * PAGE_SIZE >= c.Total * sizeof(MMPFN));
    assert_int_equal(MiAvailablePages(), c.Free + c.Zeroed);

    assert_null(MiGetPfnEntry(0));
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    if (dev != NULL)
        assert_null(MiGetPfnEntry(dev->BasePage));

    /* The database itself sits in the first free pages, marked as Mm's. */
    PMMPFN first = MiGetPfnEntry(MiLowestPhysicalPage);
    assert_int_equal(first->PageLocation, ActiveAndValid);
    assert_int_equal(first->Usage, MiPfnUsageMm);
    assert_int_equal(first->ReferenceCount, 1);
}

static void pfn_allocate_and_free(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    assert_int_not_equal(p, 0);
    PMMPFN e = MiGetPfnEntry(p);
    assert_non_null(e);
    assert_int_equal(e->PageLocation, ActiveAndValid);
    assert_int_equal(e->ReferenceCount, 1);
    assert_int_equal(e->Usage, MiPfnUsageDriver);
    assert_int_equal(e->PteAddress, 0);
    MI_PFN_COUNTS c;
    MiQueryPfnCounts(&c);
    assert_int_equal(c.Active, s.Pfn.Active + 1);
    assert_int_equal(c.Free + c.Zeroed + 1, s.Pfn.Free + s.Pfn.Zeroed);
    /* The page is reachable through the direct map. */
    PULONG64 data = MiPageAddress(p);
    assert_non_null(data);
    data[0] = 0x1234;
    data[511] = 0x5678;
    MiFreePage(p);
    assert_int_equal(e->PageLocation, FreePageList);
    assert_int_equal(e->ReferenceCount, 0);
    assert_int_equal(e->Usage, MiPfnUsageNone);
    mm_check_balanced(&s);
}

static void pfn_zeroed_pages(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    /* A dirty page freed as such comes back zeroed when asked. */
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    assert_int_not_equal(p, 0);
    RtlFillMemory(MiPageAddress(p), PAGE_SIZE, 0xA5);
    MiFreePage(p);
    for (int i = 0; i < 8; i++) {
        PFN_NUMBER z = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
        assert_int_not_equal(z, 0);
        assert_int_equal(RtlCompareMemoryUlong(MiPageAddress(z), PAGE_SIZE, 0), PAGE_SIZE);
        MiFreePage(z);
    }

    /* A page freed as known-zero goes to the zeroed list; a zeroed request
     * takes it from there, a plain one leaves it for those who need it. */
    PFN_NUMBER q = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    assert_int_not_equal(q, 0);
    MiFreePageEx(q, TRUE);
    assert_int_equal(MiGetPfnEntry(q)->PageLocation, ZeroedPageList);
    PFN_NUMBER plain = MiAllocatePage(0, MiPfnUsageDriver);
    assert_int_not_equal(plain, q);
    PFN_NUMBER zeroed = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    assert_int_equal(zeroed, q);
    MiFreePage(plain);
    MiFreePage(zeroed);
    mm_check_balanced(&s);
}

static void pfn_reference_counts(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    MiReferencePage(p);
    MiReferencePage(p);
    assert_int_equal(MiGetPfnEntry(p)->ReferenceCount, 3);
    MiFreePage(p);
    MiFreePage(p);
    assert_int_equal(MiGetPfnEntry(p)->PageLocation, ActiveAndValid);
    MiFreePage(p);
    assert_int_equal(MiGetPfnEntry(p)->PageLocation, FreePageList);
    mm_check_balanced(&s);
}

static void pfn_chains(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER first = MiAllocatePages(100, MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    assert_int_not_equal(first, 0);
    SIZE_T count = 0;
    for (PFN_NUMBER p = first; p != 0; p = MiGetPfnEntry(p)->u1.NextInChain) {
        assert_int_equal(MiGetPfnEntry(p)->PageLocation, ActiveAndValid);
        assert_int_equal(RtlCompareMemoryUlong(MiPageAddress(p), PAGE_SIZE, 0), PAGE_SIZE);
        count++;
    }
    assert_int_equal(count, 100);
    MiFreePageChain(first, FALSE);
    /* All or nothing: more than is available takes nothing. */
    assert_int_equal(MiAllocatePages(MiAvailablePages() + 1, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocatePages(0, 0, MiPfnUsageDriver), 0);
    mm_check_balanced(&s);
}

static void pfn_allocation_at_dispatch_level(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PFN_NUMBER p = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    PFN_NUMBER c = MiAllocateContiguousPages(4, 0, ~(PFN_NUMBER)0, 0, 4, 0, MiPfnUsageDriver);
    KeLowerIrql(old);
    assert_int_not_equal(p, 0);
    assert_int_not_equal(c, 0);
    old = KeRaiseIrqlToDpcLevel();
    MiFreePage(p);
    MiFreePageChain(c, FALSE);
    KeLowerIrql(old);
    mm_check_balanced(&s);
}

/* ---- contiguous runs ------------------------------------------------------------------ */

static void pfn_contiguous_limits(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER low = MiLowestPhysicalPage, high = MiHighestPhysicalPage;

    /* Top-down: an unconstrained run comes from the top of RAM. */
    PFN_NUMBER a = MiAllocateContiguousPages(8, 0, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageDriver);
    assert_int_not_equal(a, 0);
    assert_true(a + 8 - 1 <= high);
    for (PFN_NUMBER i = 0; i < 8; i++) {
        assert_int_equal(MiGetPfnEntry(a + i)->PageLocation, ActiveAndValid);
        assert_int_equal(MiGetPfnEntry(a + i)->u1.NextInChain, i + 1 < 8 ? a + i + 1 : 0);
    }

    /* Inside a window, aligned, not crossing a boundary. */
    /* A window in the middle of RAM, away from boot structures at either end. */
    PFN_NUMBER wlow = low + (high - low) / 2, whigh = wlow + 2000;
    for (int round = 0; round < 20; round++) {
        PFN_NUMBER b = MiAllocateContiguousPages(5, wlow, whigh, 8, 1, 0, MiPfnUsageDriver);
        assert_int_not_equal(b, 0);
        assert_true(b >= wlow && b + 4 <= whigh);
        assert_int_equal(b / 8, (b + 4) / 8);
        PFN_NUMBER c = MiAllocateContiguousPages(3, wlow, whigh, 0, 16, 0, MiPfnUsageDriver);
        assert_int_not_equal(c, 0);
        assert_int_equal(c % 16, 0);
        MiFreePageChain(c, FALSE);
        MiFreePageChain(b, FALSE);
    }

    /* A busy page in the way: the run goes below it. */
    PFN_NUMBER top = MiAllocateContiguousPages(1, wlow, whigh, 0, 1, 0, MiPfnUsageDriver);
    assert_in_range(top, wlow, whigh);
    PFN_NUMBER below = MiAllocateContiguousPages(4, wlow, top, 0, 1, 0, MiPfnUsageDriver);
    assert_int_not_equal(below, 0);
    assert_true(below >= wlow && below + 4 <= top);
    MiFreePageChain(below, FALSE);
    MiFreePage(top);

    /* Impossible requests. */
    assert_int_equal(MiAllocateContiguousPages(0, 0, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocateContiguousPages(4, 10, 5, 0, 1, 0, MiPfnUsageDriver), 0);
    /* A boundary below the size, or not a power of two; an alignment not a power of two. */
    assert_int_equal(MiAllocateContiguousPages(8, 0, ~(PFN_NUMBER)0, 4, 1, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocateContiguousPages(2, 0, ~(PFN_NUMBER)0, 6, 1, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocateContiguousPages(2, 0, ~(PFN_NUMBER)0, 0, 3, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocateContiguousPages(4, 0, low - 1, 0, 1, 0, MiPfnUsageDriver), 0);     /* below RAM */
    assert_int_equal(MiAllocateContiguousPages(4, high + 1, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocateContiguousPages(s.Pfn.Total + 1, 0, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageDriver), 0);
    MiFreePageChain(a, FALSE);
    mm_check_balanced(&s);
}

/* ---- exhaustion ----------------------------------------------------------------------- */

static void pfn_exhaustion_and_recovery(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    SIZE_T available = MiAvailablePages();
    /* Chain the pages through their MMPFNs (u1 is the owner's while active),
     * so that RAM is not touched. */
    PFN_NUMBER head = 0;
    SIZE_T taken = 0;
    ULONG64 t0 = arch_interrupt_time();
    for (;;) {
        PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
        if (p == 0)
            break;
        MiGetPfnEntry(p)->u1.NextInChain = head;
        head = p;
        taken++;
    }
    ULONG64 t1 = arch_interrupt_time();
    assert_int_equal(taken, available);
    assert_int_equal(MiAvailablePages(), 0);

    /* Everything that needs a page fails cleanly. */
    assert_int_equal(MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocatePages(1, 0, MiPfnUsageDriver), 0);
    assert_int_equal(MiAllocateContiguousPages(1, 0, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageDriver), 0);
    assert_null(MiAllocatePoolPages(1, TRUE));
    assert_null(MmAllocateContiguousMemory(PAGE_SIZE, mm_pa(~0ULL)));
    assert_null(MmAllocateNonCachedMemory(PAGE_SIZE));
    SIZE_T freePtes = MiQueryFreeSystemPtes();
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    if (dev != NULL) {
        /* Needs table pages for a fresh region: fails, or works if the tables exist. */
        PVOID io = MmMapIoSpace(mm_pa(dev->BasePage << PAGE_SHIFT), PAGE_SIZE, MmNonCached);
        if (io != NULL)
            MmUnmapIoSpace(io, PAGE_SIZE);
    }
    assert_int_equal(MiQueryFreeSystemPtes(), freePtes);

    ULONG64 t2 = arch_interrupt_time();
    while (head != 0) {
        PFN_NUMBER next = MiGetPfnEntry(head)->u1.NextInChain;
        MiFreePage(head);
        head = next;
    }
    ULONG64 t3 = arch_interrupt_time();
    print_message("pfn: %llu pages allocated in %llu us, freed in %llu us\n", (unsigned long long)taken,
                  (unsigned long long)(t1 - t0) / 10, (unsigned long long)(t3 - t2) / 10);
    mm_check_balanced(&s);
}

/* ---- misuse ------------------------------------------------------------------------- */

static void pfn_double_free_bugchecks(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PFN_NUMBER p = MiAllocatePage(0, MiPfnUsageDriver);
    MiFreePage(p);
    expect_bugcheck(PFN_LIST_CORRUPT, MiFreePage(p));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x99);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], p);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], FreePageList);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
    /* The lists are intact and the lock free: Mm carries on. */
    mm_check_balanced(&s);
    PFN_NUMBER q = MiAllocatePage(0, MiPfnUsageDriver);
    assert_int_not_equal(q, 0);
    MiFreePage(q);

    /* A page on the zeroed list, and one never allocated. */
    PFN_NUMBER z = MiAllocatePage(MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    MiFreePageEx(z, TRUE);
    expect_bugcheck(PFN_LIST_CORRUPT, MiFreePage(z));
    assert_int_equal(ntos_last_bugcheck.Parameter[2], ZeroedPageList);
    expect_bugcheck(PFN_LIST_CORRUPT, MiReferencePage(z));
    mm_check_balanced(&s);
}

static void pfn_free_unmanaged_bugchecks(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    expect_bugcheck(PFN_LIST_CORRUPT, MiFreePage(0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x99);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 0xFF);
    expect_bugcheck(PFN_LIST_CORRUPT, MiFreePage(MiHighestPhysicalPage + 1));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], MiHighestPhysicalPage + 1);
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    if (dev != NULL)
        expect_bugcheck(PFN_LIST_CORRUPT, MiFreePage(dev->BasePage));
    /* A chain with a bad page in the middle frees up to it, then stops. */
    PFN_NUMBER a = MiAllocatePage(0, MiPfnUsageDriver);
    PFN_NUMBER b = MiAllocatePage(0, MiPfnUsageDriver);
    MiGetPfnEntry(a)->u1.NextInChain = b;
    MiGetPfnEntry(b)->u1.NextInChain = 0;
    MiFreePage(b);
    expect_bugcheck(PFN_LIST_CORRUPT, MiFreePageChain(a, FALSE));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], b);
    assert_int_equal(MiGetPfnEntry(a)->PageLocation, FreePageList);
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pfn_database_matches_memory_map),
    cmocka_unit_test(pfn_allocate_and_free),
    cmocka_unit_test(pfn_zeroed_pages),
    cmocka_unit_test(pfn_reference_counts),
    cmocka_unit_test(pfn_chains),
    cmocka_unit_test(pfn_allocation_at_dispatch_level),
    cmocka_unit_test(pfn_contiguous_limits),
    cmocka_unit_test(pfn_exhaustion_and_recovery),
    cmocka_unit_test(pfn_double_free_bugchecks),
    cmocka_unit_test(pfn_free_unmanaged_bugchecks),
};

NTOS_TEST_GROUP(mm_pfn, tests, NULL, NULL);
