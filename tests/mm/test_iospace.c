/*
 * MmMapIoSpace, MmMapIoSpaceEx and MmUnmapIoSpace: device space and RAM
 * aliases, byte offsets, caching and protection bits, 2 MB pages for large
 * ranges, invalid arguments, the SYSTEM_PTE_MISUSE bug checks of bad unmaps
 * and the IRQL rule.
 */
#include "mm_test.h"

static ULONG64 device_base(void)
{
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    return dev != NULL ? dev->BasePage << PAGE_SHIFT : 0;
}

static ULONG64 device_bytes(void)
{
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    return dev != NULL ? dev->PageCount << PAGE_SHIFT : 0;
}

static void io_map_device_space(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    ULONG64 dev = device_base();
    if (dev == 0)
        skip();
    ULONG64 pa = dev + 0x3000 + 0x10;
    PUCHAR va = MmMapIoSpace(mm_pa(pa), 0x100, MmNonCached);
    assert_non_null(va);
    assert_int_equal(BYTE_OFFSET(va), 0x10);
    assert_int_equal(MmGetPhysicalAddress(va).QuadPart, (LONGLONG)pa);
    assert_int_equal(MmGetPhysicalAddress(va + 0xFF).QuadPart, (LONGLONG)(pa + 0xFF));
    assert_true(MmIsAddressValid(va));
    ULONG64 e = mm_entry(va, NULL);
    assert_int_equal(e & (MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT | MI_PTE_NX | MI_PTE_GLOBAL),
                     MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT | MI_PTE_NX | MI_PTE_GLOBAL);
    assert_int_equal(e & MI_PTE_OWNER_MASK, MI_PTE_OWNER(MiOwnerIoSpace));
    /* A "register" write is seen in device space, and back. */
    *(volatile ULONG *)(va + 0x20) = 0xC0FFEE;
    assert_int_equal(*(volatile ULONG *)arch_physical_pointer(pa + 0x20), 0xC0FFEE);
    *(volatile ULONG *)arch_physical_pointer(pa + 0x24) = 0xBEEF;
    assert_int_equal(*(volatile ULONG *)(va + 0x24), 0xBEEF);
    /* Not a pool page. */
    assert_false(MiIsPoolPageAddress(va));
    MmUnmapIoSpace(va, 0x100);
    assert_false(MmIsAddressValid(va));
    if (MM_HOST_PROBES)
        assert_false(mm_host_can_access(va, FALSE));

    /* A range straddling a page boundary takes two pages. */
    pa = dev + 0x5000 - 8;
    va = MmMapIoSpace(mm_pa(pa), 16, MmCached);
    assert_non_null(va);
    assert_true(MmIsAddressValid(va + 15));
    assert_int_equal(MmGetPhysicalAddress(va + 12).QuadPart, (LONGLONG)(pa + 12));
    assert_false(mm_entry(va, NULL) & (MI_PTE_PCD | MI_PTE_PWT));
    MmUnmapIoSpace(va, 16);

    /* The whole device range, at DISPATCH_LEVEL. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    va = MmMapIoSpace(mm_pa(dev), (SIZE_T)device_bytes(), MmWriteCombined);
    KeLowerIrql(old);
    assert_non_null(va);
    assert_int_equal(mm_entry(va, NULL) & (MI_PTE_PCD | MI_PTE_PWT), MI_PTE_PWT);
    assert_int_equal(MmGetPhysicalAddress(va + device_bytes() - 1).QuadPart, (LONGLONG)(dev + device_bytes() - 1));
    old = KeRaiseIrqlToDpcLevel();
    MmUnmapIoSpace(va, (SIZE_T)device_bytes());
    KeLowerIrql(old);
    mm_check_balanced(&s);
}

static void io_map_ram_alias(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    PUCHAR pool = MiAllocatePoolPages(2, TRUE);
    assert_non_null(pool);
    ULONG64 pa = (ULONG64)MmGetPhysicalAddress(pool + PAGE_SIZE + 0x40).QuadPart;
    assert_int_not_equal(pa, 0);
    PUCHAR alias = MmMapIoSpace(mm_pa(pa), 64, MmCached);
    assert_non_null(alias);
    assert_int_equal(BYTE_OFFSET(alias), 0x40);
    pool[PAGE_SIZE + 0x40] = 0x5A;
    assert_int_equal(*(volatile UCHAR *)alias, 0x5A);
    alias[1] = 0x6B;
    assert_int_equal(((volatile UCHAR *)pool)[PAGE_SIZE + 0x41], 0x6B);
    /* The alias takes no ownership: unmapping it leaves the page alone. */
    PMMPFN e = MiGetPfnEntry(pa >> PAGE_SHIFT);
    assert_int_equal(e->Usage, MiPfnUsagePool);
    MmUnmapIoSpace(alias, 64);
    assert_int_equal(e->PageLocation, ActiveAndValid);
    assert_int_equal(pool[PAGE_SIZE + 0x41], 0x6B);
    assert_int_equal(MiFreePoolPages(pool), 2);
    mm_check_balanced(&s);
}

static void io_large_range_uses_large_pages(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    /* 4 MB + 3 pages of RAM from a 2 MB boundary (read only: it is not ours). */
    ULONG64 start = ((MiLowestPhysicalPage << PAGE_SHIFT) + MI_LARGE_PAGE_SIZE - 1) & ~(MI_LARGE_PAGE_SIZE - 1);
    ULONG64 pa = start - PAGE_SIZE + 0x8;
    SIZE_T bytes = 2 * MI_LARGE_PAGE_SIZE + 2 * PAGE_SIZE;
    PUCHAR va = MmMapIoSpaceEx(mm_pa(pa), bytes, PAGE_READONLY);
    assert_non_null(va);
    SIZE_T page = 0;
    ULONG64 e = mm_entry(va, &page);
    assert_int_equal(page, PAGE_SIZE);
    assert_false(e & MI_PTE_WRITE);
    assert_true(e & MI_PTE_NX);
    mm_entry(va + PAGE_SIZE, &page);
    assert_int_equal(page, MI_LARGE_PAGE_SIZE);
    mm_entry(va + PAGE_SIZE + MI_LARGE_PAGE_SIZE, &page);
    assert_int_equal(page, MI_LARGE_PAGE_SIZE);
    mm_entry(va + PAGE_SIZE + 2 * MI_LARGE_PAGE_SIZE, &page);
    assert_int_equal(page, PAGE_SIZE);
    for (SIZE_T off = 0; off < bytes; off += 0x1F3F1) {
        assert_int_equal(MmGetPhysicalAddress(va + off).QuadPart, (LONGLONG)(pa + off));
        assert_int_equal(*(volatile UCHAR *)(va + off), *(volatile UCHAR *)arch_physical_pointer(pa + off));
    }
    if (MM_HOST_PROBES) {
        assert_true(mm_host_can_access(va + PAGE_SIZE * 7, FALSE));
        assert_false(mm_host_can_access(va + PAGE_SIZE * 7, TRUE));
    }
    /* Wrong size on the way out is a misuse; the right one works. */
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(va, bytes - MI_LARGE_PAGE_SIZE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x02);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 1027); /* 1 + 1024 + 2 pages, the offset spilling over */
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 515);
    MmUnmapIoSpace(va, bytes);
    mm_check_balanced(&s);
}

static void io_protections(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    ULONG64 pa = device_base();
    if (pa == 0)
        skip();
    static const struct {
        ULONG Protect;
        ULONG64 Set, Clear;
    } ok[] = {
        {PAGE_READONLY, MI_PTE_NX, MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT},
        {PAGE_READWRITE, MI_PTE_NX | MI_PTE_WRITE, MI_PTE_PCD | MI_PTE_PWT},
        {PAGE_EXECUTE, 0, MI_PTE_NX | MI_PTE_WRITE},
        {PAGE_EXECUTE_READ, 0, MI_PTE_NX | MI_PTE_WRITE},
        {PAGE_EXECUTE_READWRITE, MI_PTE_WRITE, MI_PTE_NX},
        {PAGE_READWRITE | PAGE_NOCACHE, MI_PTE_WRITE | MI_PTE_PCD | MI_PTE_PWT, 0},
        {PAGE_READONLY | PAGE_WRITECOMBINE, MI_PTE_PWT, MI_PTE_PCD | MI_PTE_WRITE},
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(ok); i++) {
        PVOID va = MmMapIoSpaceEx(mm_pa(pa), 8, ok[i].Protect);
        assert_non_null(va);
        ULONG64 e = mm_entry(va, NULL);
        assert_int_equal(e & ok[i].Set, ok[i].Set);
        assert_int_equal(e & ok[i].Clear, 0);
        MmUnmapIoSpace(va, 8);
    }
    static const ULONG bad[] = {
        0,
        PAGE_NOACCESS,
        PAGE_WRITECOPY,
        PAGE_EXECUTE_WRITECOPY,
        PAGE_READWRITE | PAGE_READONLY,
        PAGE_READWRITE | PAGE_GUARD,
        PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE,
        PAGE_NOCACHE,
        PAGE_READWRITE | 0x10000,
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(bad); i++)
        assert_null(MmMapIoSpaceEx(mm_pa(pa), 8, bad[i]));
    mm_check_balanced(&s);
}

static void io_invalid_arguments(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    ULONG64 dev = device_base();
    ULONG64 ram = MiLowestPhysicalPage << PAGE_SHIFT;
    assert_null(MmMapIoSpace(mm_pa(ram), 0, MmCached));
    assert_null(MmMapIoSpace(mm_pa(0), PAGE_SIZE, MmCached));              /* not in the memory map */
    assert_null(MmMapIoSpace(mm_pa((MiHighestPhysicalPage + 1) << PAGE_SHIFT), 8, MmCached));
    assert_null(MmMapIoSpace(mm_pa(~0ULL), 8, MmCached));                   /* negative */
    assert_null(MmMapIoSpace(mm_pa((1ULL << 52) - 8), 16, MmCached));      /* beyond 52 bits */
    assert_null(MmMapIoSpace(mm_pa(ram), ~(SIZE_T)0, MmCached));            /* overflows */
    assert_null(MmMapIoSpace(mm_pa(ram), 8, MmMaximumCacheType));
    assert_null(MmMapIoSpace(mm_pa(ram), 8, MmNotMapped));
    assert_null(MmMapIoSpace(mm_pa(ram), 8, (MEMORY_CACHING_TYPE)77));
    if (dev != 0) {
        /* Running off the end of the device range into nothing. */
        assert_null(MmMapIoSpace(mm_pa(dev + device_bytes() - 8), 16, MmNonCached));
        assert_null(MmMapIoSpace(mm_pa(dev - 8), 16, MmNonCached));
    }
    /* The other cache types map. */
    static const MEMORY_CACHING_TYPE types[] = {MmHardwareCoherentCached, MmNonCachedUnordered, MmUSWCCached};
    for (ULONG i = 0; i < RTL_NUMBER_OF(types); i++) {
        PVOID va = MmMapIoSpace(mm_pa(ram), 8, types[i]);
        assert_non_null(va);
        MmUnmapIoSpace(va, 8);
    }
    mm_check_balanced(&s);
}

static void io_unmap_misuse_bugchecks(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    ULONG64 ram = MiLowestPhysicalPage << PAGE_SHIFT;
    PUCHAR va = MmMapIoSpace(mm_pa(ram + 0x20), 3 * PAGE_SIZE, MmCached);
    assert_non_null(va);
    /* Wrong size, zero size, not the start, not a mapping, another owner's. */
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(va, PAGE_SIZE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x02);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 4); /* offset 0x20: 3 pages span 4 */
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 2);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(va, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x02);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(va + PAGE_SIZE, PAGE_SIZE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0x03);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)(va + PAGE_SIZE));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(&s, sizeof(s)));
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(NULL, PAGE_SIZE));
    PVOID pool = MiAllocatePoolPages(1, TRUE);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(pool, PAGE_SIZE));
    assert_true(MmIsAddressValid(pool));
    MiFreePoolPages(pool);
    /* Still mapped after all that; then gone, and twice is a misuse. */
    assert_true(MmIsAddressValid(va));
    MmUnmapIoSpace(va, 3 * PAGE_SIZE);
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapIoSpace(va, 3 * PAGE_SIZE));
    mm_check_balanced(&s);
}

static void io_irql_rules(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    ULONG64 ram = MiLowestPhysicalPage << PAGE_SHIFT;
    KIRQL old = KfRaiseIrql(CLOCK_LEVEL);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmMapIoSpace(mm_pa(ram), 8, MmCached));
    KeLowerIrql(old);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], ram);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], CLOCK_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)MmMapIoSpace);
    old = KfRaiseIrql(HIGH_LEVEL);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmMapIoSpaceEx(mm_pa(ram), 8, PAGE_READWRITE));
    KeLowerIrql(old);
    PVOID va = MmMapIoSpace(mm_pa(ram), 8, MmCached);
    old = KfRaiseIrql(IPI_LEVEL);
    /* Any IRQL for the translation. */
    assert_int_equal(MmGetPhysicalAddress(va).QuadPart, (LONGLONG)ram);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, MmUnmapIoSpace(va, 8));
    KeLowerIrql(old);
    MmUnmapIoSpace(va, 8);
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(io_map_device_space),
    cmocka_unit_test(io_map_ram_alias),
    cmocka_unit_test(io_large_range_uses_large_pages),
    cmocka_unit_test(io_protections),
    cmocka_unit_test(io_invalid_arguments),
    cmocka_unit_test(io_unmap_misuse_bugchecks),
    cmocka_unit_test(io_irql_rules),
};

NTOS_TEST_GROUP(mm_iospace, tests, NULL, NULL);
