/*
 * System PTEs: reservations inside the system range, alignment, the guard
 * page after every range, exhaustion (NULL, never a crash) and the
 * SYSTEM_PTE_MISUSE bug check for bad releases.
 */
#include "mm_test.h"

static void syspte_reserve_and_release(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    SIZE_T total = MiQueryTotalSystemPtes();
    assert_true(total >= (1ULL << 30) / PAGE_SIZE / 2);
    assert_true(total <= MiSystemRangeSize / PAGE_SIZE);

    PUCHAR a = MiReserveSystemPtes(3);
    assert_non_null(a);
    assert_int_equal((ULONG_PTR)a & (PAGE_SIZE - 1), 0);
    assert_true(MiIsSystemRange((ULONG_PTR)a, 4));
    /* Three pages plus the guard. */
    assert_int_equal(MiQueryFreeSystemPtes(), s.SystemPtes - 4);
    /* Reserved is not mapped. */
    for (int i = 0; i < 4; i++)
        assert_false(MmIsAddressValid(a + i * PAGE_SIZE));
    /* The next reservation does not use the guard page. */
    PUCHAR b = MiReserveSystemPtes(1);
    assert_non_null(b);
    assert_true(b >= a + 4 * PAGE_SIZE || b + 2 * PAGE_SIZE <= a);
    MiReleaseSystemPtes(a, 3);
    MiReleaseSystemPtes(b, 1);

    assert_null(MiReserveSystemPtes(0));
    assert_null(MiReserveSystemPtes(total));
    assert_null(MiReserveSystemPtes(~(SIZE_T)0));
    assert_null(MiReserveAlignedSystemPtes(4, 3, 0));
    mm_check_balanced(&s);
}

static void syspte_alignment(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PVOID v[8];
    for (int i = 0; i < 8; i++) {
        v[i] = MiReserveAlignedSystemPtes(5 + i, 512, (SIZE_T)i * 37);
        assert_non_null(v[i]);
        assert_int_equal(((ULONG_PTR)v[i] >> PAGE_SHIFT) % 512, (ULONG_PTR)i * 37);
    }
    PVOID w = MiReserveAlignedSystemPtes(1, 16, 16 + 3); /* offset taken modulo the alignment */
    assert_int_equal(((ULONG_PTR)w >> PAGE_SHIFT) % 16, 3);
    MiReleaseSystemPtes(w, 1);
    for (int i = 0; i < 8; i++)
        MiReleaseSystemPtes(v[i], 5 + i);
    mm_check_balanced(&s);
}

static void syspte_guard_page_faults(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    /* Back-to-back mappings: each is followed by an unmapped page. */
    PUCHAR p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = MiAllocatePoolPages(2, TRUE);
        assert_non_null(p[i]);
    }
    for (int i = 0; i < 4; i++) {
        p[i][2 * PAGE_SIZE - 1] = 1;
        assert_true(MmIsAddressValid(p[i] + 2 * PAGE_SIZE - 1));
        assert_false(MmIsAddressValid(p[i] + 2 * PAGE_SIZE));
        if (MM_HOST_PROBES) {
            assert_true(mm_host_can_access(p[i] + 2 * PAGE_SIZE - 1, TRUE));
            assert_false(mm_host_can_access(p[i] + 2 * PAGE_SIZE, FALSE));
        }
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(MiFreePoolPages(p[i]), 2);
    mm_check_balanced(&s);
}

static void syspte_exhaustion(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    /* Long-lived reservations (pool pages kept by earlier tests, more of
     * them with each ktest.repeat pass) split the space: room for many pieces. */
    static PVOID held[1024];
    static SIZE_T held_pages[1024];
    int n = 0;
    SIZE_T size = MiQueryTotalSystemPtes() / 4;
    /* Big pieces first, then smaller, until not even one page fits. */
    while (size >= 1 && n < 1024) {
        PVOID v = MiReserveSystemPtes(size);
        if (v != NULL) {
            held[n] = v;
            held_pages[n++] = size;
        } else {
            size /= 2;
        }
    }
    assert_true(n < 1024);
    /* What is left (if anything) is single pages between reservations:
     * no room for a page and its guard. */
    assert_null(MiReserveSystemPtes(1));
    assert_true(MiQueryFreeSystemPtes() < MiQueryTotalSystemPtes() / 100);

    /* Every consumer fails cleanly, giving back what it took. */
    MI_PFN_COUNTS before, after;
    MiQueryPfnCounts(&before);
    assert_null(MiAllocatePoolPages(1, TRUE));
    assert_null(MmAllocateContiguousMemory(PAGE_SIZE, mm_pa(~0ULL)));
    assert_null(MmAllocateNonCachedMemory(PAGE_SIZE));
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    if (dev != NULL)
        assert_null(MmMapIoSpace(mm_pa(dev->BasePage << PAGE_SHIFT), 16, MmNonCached));
    MiQueryPfnCounts(&after);
    assert_int_equal(after.Free + after.Zeroed, before.Free + before.Zeroed);

    for (int i = 0; i < n; i++)
        MiReleaseSystemPtes(held[i], held_pages[i]);
    mm_check_balanced(&s);
    print_message("system PTEs: %llu pages in %d reservations\n", (unsigned long long)MiQueryTotalSystemPtes(), n);
}

static void syspte_release_misuse_bugchecks(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR a = MiReserveSystemPtes(4);
    assert_non_null(a);
    MiReleaseSystemPtes(a, 4);
    /* Twice. */
    expect_bugcheck(SYSTEM_PTE_MISUSE, MiReleaseSystemPtes(a, 4));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x03);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 4);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)a);
    /* Unaligned, outside the range, zero pages, past the end. */
    PUCHAR b = MiReserveSystemPtes(2);
    assert_non_null(b);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MiReleaseSystemPtes(b + 1, 2));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MiReleaseSystemPtes(&s, 1));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MiReleaseSystemPtes(b, 0));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MiReleaseSystemPtes(b, MiQueryTotalSystemPtes()));
    /* (More pages than were reserved is caught only when the extra pages
     * are free, which another processor's reservation may change: the
     * bitmap does not record where one reservation ends.) */
    /* The lock was released: the allocator still works. */
    MiReleaseSystemPtes(b, 2);
    mm_check_balanced(&s);
}

static void syspte_at_dispatch_level(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PVOID v = MiReserveSystemPtes(10);
    MiReleaseSystemPtes(v, 10);
    KeLowerIrql(old);
    assert_non_null(v);
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(syspte_reserve_and_release),
    cmocka_unit_test(syspte_alignment),
    cmocka_unit_test(syspte_guard_page_faults),
    cmocka_unit_test(syspte_exhaustion),
    cmocka_unit_test(syspte_release_misuse_bugchecks),
    cmocka_unit_test(syspte_at_dispatch_level),
};

NTOS_TEST_GROUP(mm_syspte, tests, NULL, NULL);
