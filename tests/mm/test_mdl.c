/*
 * MDLs: the layout and inline accessors, IoAllocateMdl/IoFreeMdl,
 * MmBuildMdlForNonPagedPool, partial MDLs, MmProbeAndLockPages (page
 * references, the access-violation bug check for unmapped or read-only
 * pages), mapping locked pages into a second system alias and unmapping it,
 * with pool, PFN and system PTE accounting balanced at the end.
 */
#include "mm_test.h"
#include <ntos/mdl.h>
#include <ntos/ex_pool.h>

#define TEST_TAG 0x5444444D /* 'MDDT' */
#define MDL_TAG 0x206C644D  /* 'Mdl ' */

typedef struct tag_usage {
    ULONG64 allocs, frees, bytes;
} tag_usage;

static void usage_of(ULONG Tag, tag_usage *u)
{
    u->allocs = u->frees = u->bytes = 0;
    (void)ExQueryPoolTagUsage(Tag, NonPagedPool, &u->allocs, &u->frees, &u->bytes);
}

/* Every MDL and test buffer allocated since `before` was freed. */
static void check_tag_balanced(ULONG Tag, const tag_usage *before)
{
    tag_usage now;
    usage_of(Tag, &now);
    assert_int_equal(now.allocs - before->allocs, now.frees - before->frees);
    assert_int_equal(now.bytes, before->bytes);
}

/* The pool keeps pages (and their system PTEs) it grew by, so the system
 * PTE count is compared only across stretches without pool calls, where it
 * shows the MDL mappings alone; leaks of the MDLs themselves show in the
 * tag counters. */

static int mdl_setup(void **state)
{
    (void)state;
    ExInitializePool();
    return 0;
}

static ULONG refcount(PFN_NUMBER Pfn)
{
    PMMPFN e = MiGetPfnEntry(Pfn);
    assert_non_null(e);
    return e->ReferenceCount;
}

static void mdl_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(MDL), 0x30);
    assert_int_equal(__builtin_offsetof(MDL, Next), 0x00);
    assert_int_equal(__builtin_offsetof(MDL, Size), 0x08);
    assert_int_equal(__builtin_offsetof(MDL, MdlFlags), 0x0A);
    assert_int_equal(__builtin_offsetof(MDL, AllocationProcessorNumber), 0x0C);
    assert_int_equal(__builtin_offsetof(MDL, Reserved), 0x0E);
    assert_int_equal(__builtin_offsetof(MDL, Process), 0x10);
    assert_int_equal(__builtin_offsetof(MDL, MappedSystemVa), 0x18);
    assert_int_equal(__builtin_offsetof(MDL, StartVa), 0x20);
    assert_int_equal(__builtin_offsetof(MDL, ByteCount), 0x28);
    assert_int_equal(__builtin_offsetof(MDL, ByteOffset), 0x2C);
    assert_int_equal(MDL_MAPPED_TO_SYSTEM_VA, 0x1);
    assert_int_equal(MDL_PAGES_LOCKED, 0x2);
    assert_int_equal(MDL_SOURCE_IS_NONPAGED_POOL, 0x4);
    assert_int_equal(MDL_ALLOCATED_FIXED_SIZE, 0x8);
    assert_int_equal(MDL_PARTIAL, 0x10);
    assert_int_equal(MDL_PARTIAL_HAS_BEEN_MAPPED, 0x20);
    assert_int_equal(MDL_IO_PAGE_READ, 0x40);
    assert_int_equal(MDL_WRITE_OPERATION, 0x80);
    assert_int_equal(MDL_LOCKED_PAGE_TABLES, 0x100);
    assert_int_equal(MDL_FREE_EXTRA_PTES, 0x200);
    assert_int_equal(MDL_DESCRIBES_AWE, 0x400);
    assert_int_equal(MDL_IO_SPACE, 0x800);
    assert_int_equal(MDL_NETWORK_HEADER, 0x1000);
    assert_int_equal(MDL_MAPPING_CAN_FAIL, 0x2000);
    assert_int_equal(MDL_PAGE_CONTENTS_INVARIANT, 0x4000);
    assert_int_equal(MDL_ALLOCATED_MUST_SUCCEED, 0x4000);
    assert_int_equal(MDL_INTERNAL, 0x8000);
    assert_int_equal(IoReadAccess, 0);
    assert_int_equal(IoWriteAccess, 1);
    assert_int_equal(IoModifyAccess, 2);
    assert_int_equal(NormalPagePriority, 16);

    PVOID va = (PVOID)(ULONG_PTR)0xFFFF800000001FF0ULL;
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, 0x10), 1);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, 0x11), 2);
    assert_int_equal(MmSizeOfMdl(va, 0x11), sizeof(MDL) + 2 * sizeof(PFN_NUMBER));
    assert_int_equal(MmSizeOfMdl(PAGE_ALIGN(va), 3 * PAGE_SIZE), sizeof(MDL) + 3 * sizeof(PFN_NUMBER));

    /* MmInitializeMdl over a caller-provided buffer, and the accessors. */
    union {
        MDL Mdl;
        UCHAR Space[sizeof(MDL) + 4 * sizeof(PFN_NUMBER)];
    } u;
    MmInitializeMdl(&u.Mdl, va, 0x2000);
    assert_null(u.Mdl.Next);
    assert_int_equal(u.Mdl.MdlFlags, 0);
    assert_int_equal(u.Mdl.Size, sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
    assert_ptr_equal(MmGetMdlBaseVa(&u.Mdl), PAGE_ALIGN(va));
    assert_int_equal(MmGetMdlByteOffset(&u.Mdl), 0xFF0);
    assert_int_equal(MmGetMdlByteCount(&u.Mdl), 0x2000);
    assert_ptr_equal(MmGetMdlVirtualAddress(&u.Mdl), va);
    assert_ptr_equal(MmGetMdlPfnArray(&u.Mdl), (PUCHAR)&u.Mdl + sizeof(MDL));
}

static void mdl_allocate_and_free(void **state)
{
    (void)state;
    tag_usage before;
    usage_of(MDL_TAG, &before);
    PUCHAR va = (PUCHAR)(ULONG_PTR)0xFFFF800000010008ULL; /* never touched */
    PMDL mdl = IoAllocateMdl(va, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(mdl);
    assert_int_equal(mdl->Size, MmSizeOfMdl(va, 2 * PAGE_SIZE));
    assert_int_equal(mdl->MdlFlags, MDL_ALLOCATED_FIXED_SIZE);
    assert_ptr_equal(MmGetMdlVirtualAddress(mdl), va);
    assert_int_equal(MmGetMdlByteCount(mdl), 2 * PAGE_SIZE);
    assert_null(mdl->Next);
    assert_null(mdl->Process);
    IoFreeMdl(mdl);
    /* A zero length and an MDL too big for its CSHORT Size are refused. */
    assert_null(IoAllocateMdl(va, 0, FALSE, FALSE, NULL));
    assert_null(IoAllocateMdl(va, 0x10000000, FALSE, FALSE, NULL));
    check_tag_balanced(MDL_TAG, &before);
}

static void mdl_nonpaged_pool(void **state)
{
    (void)state;
    tag_usage before, beforeBuf;
    usage_of(MDL_TAG, &before);
    usage_of(TEST_TAG, &beforeBuf);
    SIZE_T bytes = 3 * PAGE_SIZE + 100;
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPoolNx, bytes, TEST_TAG);
    assert_non_null(buf);
    PUCHAR start = buf + 0x10;
    ULONG len = (ULONG)(bytes - 0x10);
    PMDL mdl = IoAllocateMdl(start, len, FALSE, FALSE, NULL);
    assert_non_null(mdl);
    MmBuildMdlForNonPagedPool(mdl);
    assert_true(mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert_false(mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED));
    assert_ptr_equal(mdl->MappedSystemVa, start);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), start);
    SIZE_T pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(start, len);
    PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
    for (SIZE_T i = 0; i < pages; i++) {
        PUCHAR page = (PUCHAR)PAGE_ALIGN(start) + i * PAGE_SIZE;
        assert_int_equal(pfns[i], (PFN_NUMBER)(MmGetPhysicalAddress(page).QuadPart >> PAGE_SHIFT));
    }
    /* Mapping a nonpaged-pool MDL gives the buffer itself; unmapping it is a no-op. */
    assert_ptr_equal(MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority),
                     start);
    MmUnmapLockedPages(start, mdl);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, TEST_TAG);
    check_tag_balanced(MDL_TAG, &before);
    check_tag_balanced(TEST_TAG, &beforeBuf);
}

static void mdl_partial(void **state)
{
    (void)state;
    tag_usage before;
    usage_of(MDL_TAG, &before);
    PUCHAR buf = MiAllocatePoolPages(4, TRUE);
    assert_non_null(buf);
    PMDL src = IoAllocateMdl(buf, 4 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(src);
    MmBuildMdlForNonPagedPool(src);

    /* Inside one page, straddling a boundary, and Length 0 (to the end). */
    PMDL part = IoAllocateMdl(buf, 4 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(part);
    IoBuildPartialMdl(src, part, buf + PAGE_SIZE + 8, 100);
    assert_true(part->MdlFlags & MDL_PARTIAL);
    assert_true(part->MdlFlags & MDL_ALLOCATED_FIXED_SIZE);
    assert_true(part->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert_ptr_equal(MmGetMdlVirtualAddress(part), buf + PAGE_SIZE + 8);
    assert_int_equal(MmGetMdlByteCount(part), 100);
    assert_int_equal(MmGetMdlPfnArray(part)[0], MmGetMdlPfnArray(src)[1]);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(part, NormalPagePriority), buf + PAGE_SIZE + 8);

    IoBuildPartialMdl(src, part, buf + 2 * PAGE_SIZE - 4, 8);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(part), 8), 2);
    assert_int_equal(MmGetMdlPfnArray(part)[0], MmGetMdlPfnArray(src)[1]);
    assert_int_equal(MmGetMdlPfnArray(part)[1], MmGetMdlPfnArray(src)[2]);

    IoBuildPartialMdl(src, part, buf + 3 * PAGE_SIZE + 1, 0);
    assert_int_equal(MmGetMdlByteCount(part), PAGE_SIZE - 1);
    assert_int_equal(MmGetMdlPfnArray(part)[0], MmGetMdlPfnArray(src)[3]);

    /* A target too small, or a range outside the source. */
    PMDL small = IoAllocateMdl(buf, 1, FALSE, FALSE, NULL);
    assert_non_null(small);
    expect_bugcheck(0x40, IoBuildPartialMdl(src, small, buf + 8, 2 * PAGE_SIZE));
    expect_bugcheck(0x40, IoBuildPartialMdl(src, part, buf + 3 * PAGE_SIZE, 2 * PAGE_SIZE));
    expect_bugcheck(0x40, IoBuildPartialMdl(src, part, buf - 1, 4));
    IoFreeMdl(small);

    /* A partial MDL of locked (not pool) pages maps on its own; IoFreeMdl
     * releases that mapping. */
    PMDL locked = IoAllocateMdl(buf, 4 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(locked);
    MmProbeAndLockPages(locked, KernelMode, IoModifyAccess);
    IoBuildPartialMdl(locked, part, buf + PAGE_SIZE + 0x20, PAGE_SIZE);
    assert_false(part->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    SIZE_T ptes = MiQueryFreeSystemPtes();
    PUCHAR alias = MmGetSystemAddressForMdlSafe(part, NormalPagePriority);
    assert_non_null(alias);
    assert_ptr_not_equal(alias, buf + PAGE_SIZE + 0x20);
    assert_int_equal(BYTE_OFFSET(alias), 0x20);
    assert_true((part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED)) ==
                (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED));
    buf[2 * PAGE_SIZE + 5] = 0x5A;
    assert_int_equal(alias[PAGE_SIZE - 0x20 + 5], 0x5A);
    /* Reuse unmaps it. */
    MmPrepareMdlForReuse(part);
    assert_false(part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED));
    assert_false(MmIsAddressValid(alias));
    assert_int_equal(MiQueryFreeSystemPtes(), ptes);
    IoBuildPartialMdl(locked, part, buf, 10);
    alias = MmGetSystemAddressForMdlSafe(part, NormalPagePriority);
    assert_non_null(alias);
    IoFreeMdl(part);
    assert_false(MmIsAddressValid(alias));
    MmUnlockPages(locked);
    IoFreeMdl(locked);
    IoFreeMdl(src);
    assert_int_equal(MiFreePoolPages(buf), 4);
    check_tag_balanced(MDL_TAG, &before);
}

static void mdl_probe_and_lock(void **state)
{
    (void)state;
    tag_usage before;
    usage_of(MDL_TAG, &before);
    PUCHAR buf = MiAllocatePoolPages(3, TRUE);
    assert_non_null(buf);
    PFN_NUMBER pfn[3];
    ULONG refs[3];
    for (int i = 0; i < 3; i++) {
        pfn[i] = (PFN_NUMBER)(MmGetPhysicalAddress(buf + i * PAGE_SIZE).QuadPart >> PAGE_SHIFT);
        refs[i] = refcount(pfn[i]);
    }
    PMDL mdl = IoAllocateMdl(buf + 0x800, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(mdl);
    MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
    assert_true(mdl->MdlFlags & MDL_PAGES_LOCKED);
    assert_true(mdl->MdlFlags & MDL_WRITE_OPERATION);
    assert_false(mdl->MdlFlags & (MDL_IO_SPACE | MDL_MAPPED_TO_SYSTEM_VA));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(MmGetMdlPfnArray(mdl)[i], pfn[i]);
        assert_int_equal(refcount(pfn[i]), refs[i] + 1);
    }
    MmUnlockPages(mdl);
    assert_false(mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_WRITE_OPERATION));
    for (int i = 0; i < 3; i++)
        assert_int_equal(refcount(pfn[i]), refs[i]);
    MmUnlockPages(mdl); /* not locked any more: ignored */
    for (int i = 0; i < 3; i++)
        assert_int_equal(refcount(pfn[i]), refs[i]);
    IoFreeMdl(mdl);

    /* The page after the allocation is its unmapped guard page: the probe
     * raises at that page, having given back the first page's reference. */
    PMDL over = IoAllocateMdl(buf + 2 * PAGE_SIZE + 0x10, PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(over);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, MmProbeAndLockPages(over, KernelMode, IoReadAccess));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(buf + 3 * PAGE_SIZE));
    assert_int_equal(refcount(pfn[2]), refs[2]);
    assert_false(over->MdlFlags & MDL_PAGES_LOCKED);
    IoFreeMdl(over);

    /* A reserved, never-mapped range; the address reported is the buffer's. */
    PUCHAR hole = MiReserveSystemPtes(1);
    assert_non_null(hole);
    PMDL bad = IoAllocateMdl(hole + 0x40, 16, FALSE, FALSE, NULL);
    assert_non_null(bad);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, MmProbeAndLockPages(bad, KernelMode, IoReadAccess));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(hole + 0x40));
    IoFreeMdl(bad);
    MiReleaseSystemPtes(hole, 1);

    /* An address outside the system range (this test's own stack). */
    UCHAR local[16];
    PMDL stack = IoAllocateMdl(local, sizeof(local), FALSE, FALSE, NULL);
    assert_non_null(stack);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, MmProbeAndLockPages(stack, KernelMode, IoReadAccess));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    IoFreeMdl(stack);

    /* Read-only pages lock for reading, not for writing or modifying. */
    ULONG64 prot = mm_entry(buf, NULL) & MI_PTE_PROTECTION_MASK;
    assert_true(prot & MI_PTE_WRITE);
    assert_int_equal(MiProtectRange((ULONG_PTR)buf, 3, prot & ~MI_PTE_WRITE), STATUS_SUCCESS);
    PMDL ro = IoAllocateMdl(buf, PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(ro);
    MmProbeAndLockPages(ro, KernelMode, IoReadAccess);
    assert_false(ro->MdlFlags & MDL_WRITE_OPERATION);
    assert_int_equal(refcount(pfn[0]), refs[0] + 1);
    MmUnlockPages(ro);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, MmProbeAndLockPages(ro, KernelMode, IoModifyAccess));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)buf);
    assert_int_equal(refcount(pfn[0]), refs[0]);
    IoFreeMdl(ro);
    assert_int_equal(MiProtectRange((ULONG_PTR)buf, 3, prot), STATUS_SUCCESS);

    assert_int_equal(MiFreePoolPages(buf), 3);
    check_tag_balanced(MDL_TAG, &before);
}

static void mdl_map_locked_pages(void **state)
{
    (void)state;
    tag_usage before;
    usage_of(MDL_TAG, &before);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPoolNx, 3 * PAGE_SIZE, TEST_TAG);
    assert_non_null(buf);
    for (SIZE_T i = 0; i < 3 * PAGE_SIZE; i++)
        buf[i] = (UCHAR)(i * 7);
    PMDL mdl = IoAllocateMdl(buf + 0x123, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(mdl);
    MmProbeAndLockPages(mdl, KernelMode, IoModifyAccess);
    SIZE_T ptes = MiQueryFreeSystemPtes();

    PUCHAR alias = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority | MdlMappingNoExecute);
    assert_non_null(alias);
    assert_ptr_not_equal(alias, buf + 0x123);
    assert_int_equal(BYTE_OFFSET(alias), BYTE_OFFSET(buf + 0x123));
    assert_true(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    assert_ptr_equal(mdl->MappedSystemVa, alias);
    /* Asking again gives the same mapping. */
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), alias);
    ULONG64 e = mm_entry(alias, NULL);
    assert_true(e & MI_PTE_WRITE);
    assert_true(e & MI_PTE_NX);
    /* Same data both ways, every page. */
    assert_memory_equal(alias, buf + 0x123, 2 * PAGE_SIZE);
    for (SIZE_T i = 0; i < 2 * PAGE_SIZE; i += 0x3FF)
        alias[i] = (UCHAR)~alias[i];
    for (SIZE_T i = 0; i < 2 * PAGE_SIZE; i += 0x3FF)
        assert_int_equal(buf[0x123 + i], (UCHAR) ~(UCHAR)((0x123 + i) * 7));
    for (SIZE_T i = 0; i < 3; i++)
        assert_int_equal(MmGetPhysicalAddress((PUCHAR)PAGE_ALIGN(alias) + i * PAGE_SIZE).QuadPart,
                         MmGetPhysicalAddress((PUCHAR)PAGE_ALIGN(buf + 0x123) + i * PAGE_SIZE).QuadPart);

    /* A wrong address bug-checks and leaves the mapping alone. */
    expect_bugcheck(SYSTEM_PTE_MISUSE, MmUnmapLockedPages(alias + PAGE_SIZE, mdl));
    assert_true(MmIsAddressValid(alias));

    MmUnmapLockedPages(alias, mdl);
    assert_false(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    assert_false(MmIsAddressValid(alias));
    if (MM_HOST_PROBES)
        assert_false(mm_host_can_access(alias, FALSE));

    /* Read-only, cached-legacy and UserMode forms. */
    PUCHAR ro = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmNonCached, NULL, FALSE,
                                             HighPagePriority | MdlMappingNoWrite);
    assert_non_null(ro);
    e = mm_entry(ro, NULL);
    assert_false(e & MI_PTE_WRITE);
    assert_true(e & MI_PTE_PCD);
    assert_false(e & MI_PTE_NX);
    assert_int_equal(ro[0], buf[0x123]);
    MmUnmapLockedPages(ro, mdl);
    PUCHAR legacy = MmMapLockedPages(mdl, KernelMode);
    assert_non_null(legacy);
    assert_int_equal(legacy[PAGE_SIZE], buf[0x123 + PAGE_SIZE]);
    MmUnmapLockedPages(legacy, mdl);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED,
                    MmMapLockedPagesSpecifyCache(mdl, UserMode, MmCached, NULL, FALSE, NormalPagePriority));
    assert_null(MmMapLockedPagesSpecifyCache(mdl, KernelMode, (MEMORY_CACHING_TYPE)42, NULL, FALSE,
                                             NormalPagePriority));

    /* MmUnlockPages removes a mapping still in place. */
    alias = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    assert_non_null(alias);
    MmUnlockPages(mdl);
    assert_false(mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED));
    assert_false(MmIsAddressValid(alias));
    assert_int_equal(MiQueryFreeSystemPtes(), ptes);

    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, TEST_TAG);
    check_tag_balanced(MDL_TAG, &before);
}

/* Locking and mapping work at DISPATCH_LEVEL (paths a DPC takes). */
static void mdl_at_dispatch(void **state)
{
    (void)state;
    PUCHAR buf = MiAllocatePoolPages(2, TRUE);
    assert_non_null(buf);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PMDL mdl = IoAllocateMdl(buf, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    if (mdl != NULL) {
        MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
        PUCHAR alias = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
        if (alias != NULL)
            alias[1] = 0x77;
        MmUnlockPages(mdl);
        IoFreeMdl(mdl);
    }
    KeLowerIrql(old);
    assert_non_null(mdl);
    assert_int_equal(buf[1], 0x77);
    assert_int_equal(MiFreePoolPages(buf), 2);
}

static const struct CMUnitTest mdl_tests[] = {
    cmocka_unit_test(mdl_layout),
    cmocka_unit_test(mdl_allocate_and_free),
    cmocka_unit_test(mdl_nonpaged_pool),
    cmocka_unit_test(mdl_partial),
    cmocka_unit_test(mdl_probe_and_lock),
    cmocka_unit_test(mdl_map_locked_pages),
    cmocka_unit_test(mdl_at_dispatch),
};

NTOS_TEST_GROUP(mm_mdl, mdl_tests, mdl_setup, NULL);
