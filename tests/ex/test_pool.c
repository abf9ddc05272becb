/*
 * Executive pool: layouts and documented values, every allocation entry
 * point with its boundaries (small/big threshold, cache alignment, zeroing,
 * quota, raising), the misuse bug checks with their parameters (each checked
 * to leave the pool usable), accounting by tag, the Rtl hook, ASan poisoning
 * of slack and freed blocks, a property test against a reference model, and
 * a stress of alloc/free/cross-processor frees and DPCs on every processor.
 *
 * Every test uses its own tags and checks through the tag accounting that it
 * leaked nothing.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_pool.h>
#include <ntos/rtl.h>
#include <ntos/dbg.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
int __asan_address_is_poisoned(void const volatile *addr);
#endif
#endif

/* A tag that reads a, b, c, d in a pool dump. */
#define TAG(a, b, c, d) ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))

/* ---- helpers ------------------------------------------------------------------------------- */

/* The pool poisons headers for drivers; tests look through that. */
static POOL_HEADER peek_header(PVOID p)
{
    PPOOL_HEADER h = (PPOOL_HEADER)p - 1;
    POOL_HEADER copy;
#ifdef TEST_ASAN
    __asan_unpoison_memory_region(h, sizeof(*h));
#endif
    copy.Ulong1 = h->Ulong1;
    copy.PoolTag = h->PoolTag;
    copy.ProcessBilled = h->ProcessBilled;
#ifdef TEST_ASAN
    __asan_poison_memory_region(h, sizeof(*h));
#endif
    return copy;
}

static void poke_header_ulong(PVOID p, ULONG value)
{
    PPOOL_HEADER h = (PPOOL_HEADER)p - 1;
#ifdef TEST_ASAN
    __asan_unpoison_memory_region(h, sizeof(*h));
#endif
    h->Ulong1 = value;
#ifdef TEST_ASAN
    __asan_poison_memory_region(h, sizeof(*h));
#endif
}

typedef struct usage {
    ULONG64 allocs, frees, bytes;
} usage;

static usage tag_usage(ULONG tag, POOL_TYPE type)
{
    usage u = {0, 0, 0};
    ExQueryPoolTagUsage(tag, type, &u.allocs, &u.frees, &u.bytes);
    return u;
}

/* Asserts that tag's counters moved by exactly (allocs, frees) since `before`
 * and that nothing of it is in use. */
static void assert_balanced(ULONG tag, POOL_TYPE type, usage before, ULONG64 allocs)
{
    usage now = tag_usage(tag, type);
    assert_int_equal(now.allocs - before.allocs, allocs);
    assert_int_equal(now.frees - before.frees, allocs);
    assert_int_equal(now.bytes, before.bytes);
}

static void fill(PVOID p, SIZE_T n, UCHAR seed)
{
    PUCHAR b = p;
    for (SIZE_T i = 0; i < n; i++)
        b[i] = (UCHAR)(seed + i * 7);
}

static BOOLEAN check_fill(PVOID p, SIZE_T n, UCHAR seed)
{
    PUCHAR b = p;
    for (SIZE_T i = 0; i < n; i++) {
        if (b[i] != (UCHAR)(seed + i * 7))
            return FALSE;
    }
    return TRUE;
}

static BOOLEAN all_zero(PVOID p, SIZE_T n)
{
    return RtlCompareMemoryUlong(p, n & ~(SIZE_T)3, 0) == (n & ~(SIZE_T)3) &&
           (n % 4 == 0 || RtlCompareMemory((PUCHAR)p + (n & ~(SIZE_T)3), "\0\0\0", n % 4) == n % 4);
}

static BOOLEAN same_page(PVOID p, SIZE_T n)
{
    return ((ULONG_PTR)p >> 12) == (((ULONG_PTR)p + n - 1) >> 12);
}

static int pool_setup(void **state)
{
    ExInitializePool();
    return 0;
}

/* ---- layout and values ------------------------------------------------------------------------ */

static void pool_layouts_and_values(void **state)
{
    assert_int_equal(sizeof(POOL_HEADER), 16);
    assert_int_equal(offsetof(POOL_HEADER, PoolTag), 4);
    assert_int_equal(offsetof(POOL_HEADER, ProcessBilled), 8);
    POOL_HEADER h;
    h.Ulong1 = 0x44332211;
    assert_int_equal(h.PreviousSize, 0x11);
    assert_int_equal(h.PoolIndex, 0x22);
    assert_int_equal(h.BlockSize, 0x33);
    assert_int_equal(h.PoolType, 0x44);

    assert_int_equal(NonPagedPool, 0);
    assert_int_equal(NonPagedPoolExecute, 0);
    assert_int_equal(PagedPool, 1);
    assert_int_equal(NonPagedPoolMustSucceed, 2);
    assert_int_equal(NonPagedPoolCacheAligned, 4);
    assert_int_equal(PagedPoolCacheAligned, 5);
    assert_int_equal(NonPagedPoolSession, 32);
    assert_int_equal(PagedPoolSession, 33);
    assert_int_equal(NonPagedPoolNx, 512);
    assert_int_equal(NonPagedPoolNxCacheAligned, 516);
    assert_int_equal(NonPagedPoolSessionNx, 544);
    assert_int_equal(POOL_RAISE_IF_ALLOCATION_FAILURE, 16);
    assert_int_equal(POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, 8);

    assert_int_equal(POOL_FLAG_USE_QUOTA, 0x1);
    assert_int_equal(POOL_FLAG_UNINITIALIZED, 0x2);
    assert_int_equal(POOL_FLAG_SESSION, 0x4);
    assert_int_equal(POOL_FLAG_CACHE_ALIGNED, 0x8);
    assert_int_equal(POOL_FLAG_RAISE_ON_FAILURE, 0x20);
    assert_int_equal(POOL_FLAG_NON_PAGED, 0x40);
    assert_int_equal(POOL_FLAG_NON_PAGED_EXECUTE, 0x80);
    assert_int_equal(POOL_FLAG_PAGED, 0x100);
    assert_int_equal(POOL_FLAG_SPECIAL_POOL, 0x100000000ULL);

    assert_int_equal(NormalPoolPriority, 16);
    assert_int_equal(HighPoolPrioritySpecialPoolUnderrun, 41);
    assert_int_equal(sizeof(POOL_EXTENDED_PARAMETER), 16);
    POOL_EXTENDED_PARAMETER x;
    RtlZeroMemory(&x, sizeof(x));
    x.Type = PoolExtendedParameterPriority;
    x.Optional = 1;
    assert_int_equal(*(ULONG64 *)&x, 0x101);

    assert_int_equal(sizeof(GENERAL_LOOKASIDE), 0x80);
    assert_int_equal(_Alignof(GENERAL_LOOKASIDE), 64);
    assert_int_equal(sizeof(GENERAL_LOOKASIDE_POOL), 0x60);
    assert_int_equal(sizeof(NPAGED_LOOKASIDE_LIST), 0x80);
    assert_int_equal(sizeof(PAGED_LOOKASIDE_LIST), 0x80);
    assert_int_equal(sizeof(LOOKASIDE_LIST_EX), 0x60);
    assert_int_equal(offsetof(GENERAL_LOOKASIDE, Tag), 0x28);
    assert_int_equal(offsetof(GENERAL_LOOKASIDE, ListEntry), 0x40);
    assert_int_equal(LOOKASIDE_MINIMUM_BLOCK_SIZE, 8);
}

/* ---- small and big blocks ----------------------------------------------------------------------- */

static void pool_small_blocks(void **state)
{
    const ULONG tag = TAG('T', 'p', 's', 'm');
    usage before = tag_usage(tag, NonPagedPool);
    static const SIZE_T sizes[] = {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 100, 240, 241, 255, 256, 257,
                                   500, 1000, 1024, 1025, 1300, 2000, 2032, 2033, 3000, 4000, 4063, 4064};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++) {
        SIZE_T n = sizes[i];
        PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, n, tag);
        assert_non_null(p);
        assert_int_equal((ULONG_PTR)p & 15, 0);
        assert_true((ULONG_PTR)p & 0xFFF); /* small blocks are never page aligned */
        assert_true(same_page(p, n));
        POOL_HEADER h = peek_header(p);
        assert_int_equal(h.PoolTag, tag);
        assert_true(h.BlockSize * 16 >= n + 16);
        assert_int_equal(h.PoolType & EX_POOL_HEADER_BASE_MASK, EX_POOL_HEADER_NONPAGED);
        assert_true(h.PoolType & EX_POOL_HEADER_NX);
        /* PreviousSize is 0 for a page's first block, else the block size. */
        assert_true(h.PreviousSize == 0 || h.PreviousSize == h.BlockSize);
        BOOLEAN quota = TRUE;
        SIZE_T usable = ExQueryPoolBlockSize(p, &quota);
        assert_false(quota);
        assert_in_range(usable, n, h.BlockSize * 16 - 16);
        fill(p, usable, (UCHAR)i);
        assert_true(check_fill(p, usable, (UCHAR)i));
        ExFreePoolWithTag(p, tag);
    }
    assert_balanced(tag, NonPagedPool, before, RTL_NUMBER_OF(sizes));
}

/* Every small size gets the smallest block class that holds it. */
static void pool_every_small_size(void **state)
{
    const ULONG tag = TAG('T', 'p', 'e', 's');
    usage before = tag_usage(tag, PagedPool);
    ULONG previousUnits = 0;
    for (SIZE_T n = 1; n <= EX_POOL_SMALL_MAXIMUM; n++) {
        PUCHAR p = ExAllocatePoolWithTag(PagedPool, n, tag);
        assert_non_null(p);
        POOL_HEADER h = peek_header(p);
        ULONG need = (ULONG)((n + 16 + 15) / 16);
        if (h.BlockSize < need || h.BlockSize < previousUnits)
            fail_msg("%llu bytes got a block of %u units", (unsigned long long)n, h.BlockSize);
        /* Blocks are exactly the size classes: 2..17 units, then as many per page as fit. */
        if (need <= 17)
            assert_int_equal(h.BlockSize, need);
        else
            assert_int_equal(h.BlockSize, 255 / (255 / h.BlockSize));
        assert_true(same_page(p, n));
        previousUnits = h.BlockSize;
        p[0] = 1;
        p[n - 1] = 2;
        ExFreePoolWithTag(p, tag);
    }
    assert_balanced(tag, PagedPool, before, EX_POOL_SMALL_MAXIMUM);
}

static void pool_big_blocks(void **state)
{
    const ULONG tag = TAG('T', 'p', 'b', 'g');
    usage before = tag_usage(tag, PagedPool);
    static const SIZE_T sizes[] = {4065, 4095, 4096, 4097, 8191, 8192, 8193, 3 * 4096, 5 * 4096 + 1, 64 * 1024};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++) {
        SIZE_T n = sizes[i];
        PUCHAR p = ExAllocatePoolWithTag(PagedPool, n, tag);
        assert_non_null(p);
        assert_int_equal((ULONG_PTR)p & 0xFFF, 0);
        SIZE_T pages = (n + 4095) / 4096;
        usage mid = tag_usage(tag, PagedPool);
        assert_int_equal(mid.bytes - before.bytes, pages * 4096);
        assert_int_equal(ExQueryPoolBlockSize(p, NULL), pages * 4096);
        fill(p, pages * 4096, (UCHAR)i);
        assert_true(check_fill(p, pages * 4096, (UCHAR)i));
        ExFreePool(p);
    }
    assert_balanced(tag, PagedPool, before, RTL_NUMBER_OF(sizes));
}

static void pool_small_big_threshold(void **state)
{
    const ULONG tag = TAG('T', 'p', 't', 'h');
    usage before = tag_usage(tag, NonPagedPool);
    PVOID small = ExAllocatePoolWithTag(NonPagedPool, EX_POOL_SMALL_MAXIMUM, tag);
    PVOID big = ExAllocatePoolWithTag(NonPagedPool, EX_POOL_SMALL_MAXIMUM + 1, tag);
    assert_non_null(small);
    assert_non_null(big);
    assert_int_equal(peek_header(small).BlockSize, 255);
    assert_int_not_equal((ULONG_PTR)small & 0xFFF, 0);
    assert_int_equal((ULONG_PTR)big & 0xFFF, 0);
    ExFreePoolWithTag(small, tag);
    ExFreePoolWithTag(big, tag);
    /* Cache-aligned requests need room to shift to a 64-byte boundary. */
    PVOID a = ExAllocatePoolWithTag(NonPagedPoolCacheAligned, EX_POOL_SMALL_MAXIMUM - 48, tag);
    PVOID b = ExAllocatePoolWithTag(NonPagedPoolCacheAligned, EX_POOL_SMALL_MAXIMUM - 47, tag);
    assert_int_equal((ULONG_PTR)a & 63, 0);
    assert_int_not_equal((ULONG_PTR)a & 0xFFF, 0);
    assert_int_equal((ULONG_PTR)b & 0xFFF, 0);
    ExFreePoolWithTag(a, tag);
    ExFreePoolWithTag(b, tag);
    assert_balanced(tag, NonPagedPool, before, 4);
}

/* Every valid POOL_TYPE and what its header records. */
static void pool_every_pool_type(void **state)
{
    const ULONG tag = TAG('T', 'p', 't', 'y');
    static const struct {
        POOL_TYPE type;
        UCHAR header;
        BOOLEAN aligned;
    } cases[] = {
        {NonPagedPool, EX_POOL_HEADER_NONPAGED, FALSE},
        {PagedPool, EX_POOL_HEADER_PAGED, FALSE},
        {NonPagedPoolCacheAligned, EX_POOL_HEADER_NONPAGED, TRUE},
        {PagedPoolCacheAligned, EX_POOL_HEADER_PAGED, TRUE},
        {NonPagedPoolSession, EX_POOL_HEADER_NONPAGED | EX_POOL_HEADER_SESSION, FALSE},
        {PagedPoolSession, EX_POOL_HEADER_PAGED | EX_POOL_HEADER_SESSION, FALSE},
        {NonPagedPoolCacheAlignedSession, EX_POOL_HEADER_NONPAGED | EX_POOL_HEADER_SESSION, TRUE},
        {PagedPoolCacheAlignedSession, EX_POOL_HEADER_PAGED | EX_POOL_HEADER_SESSION, TRUE},
        {NonPagedPoolNx, EX_POOL_HEADER_NONPAGED | EX_POOL_HEADER_NX, FALSE},
        {NonPagedPoolNxCacheAligned, EX_POOL_HEADER_NONPAGED | EX_POOL_HEADER_NX, TRUE},
        {NonPagedPoolSessionNx, EX_POOL_HEADER_NONPAGED | EX_POOL_HEADER_NX | EX_POOL_HEADER_SESSION, FALSE},
        {(POOL_TYPE)(PagedPool | POOL_COLD_ALLOCATION), EX_POOL_HEADER_PAGED, FALSE},
        {(POOL_TYPE)(NonPagedPool | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), EX_POOL_HEADER_NONPAGED, FALSE},
    };
    usage np = tag_usage(tag, NonPagedPool), pg = tag_usage(tag, PagedPool);
    ULONG paged = 0, total = 0;
    for (ULONG i = 0; i < RTL_NUMBER_OF(cases); i++) {
        for (SIZE_T n = 24; n <= 1000; n += 488) {
            PUCHAR p = ExAllocatePoolWithTag(cases[i].type, n, tag);
            assert_non_null(p);
            if (cases[i].aligned)
                assert_int_equal((ULONG_PTR)p & 63, 0);
            else
                assert_int_equal((ULONG_PTR)p & 15, 0);
            /* The header right before the pointer (the alignment header for
             * a shifted cache-aligned block) carries type and tag. */
            POOL_HEADER h = peek_header(p);
            assert_int_equal(h.PoolType & ~EX_POOL_HEADER_ALIGNED, cases[i].header);
            assert_int_equal(h.PoolTag, tag);
            assert_true(ExQueryPoolBlockSize(p, NULL) >= n);
            fill(p, n, 3);
            ExFreePoolWithTag(p, tag);
            if (cases[i].header & EX_POOL_HEADER_PAGED)
                paged++;
            total++;
        }
    }
    assert_balanced(tag, PagedPool, pg, paged);
    assert_balanced(tag, NonPagedPool, np, total - paged);
}

static void pool_cache_aligned(void **state)
{
    const ULONG tag = TAG('T', 'p', 'c', 'a');
    usage before = tag_usage(tag, NonPagedPool);
    PVOID blocks[64];
    ULONG count = 0;
    for (SIZE_T n = 1; n < 4016 && count < RTL_NUMBER_OF(blocks); n = n * 3 / 2 + 1) {
        PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNxCacheAligned, n, tag);
        assert_non_null(p);
        assert_int_equal((ULONG_PTR)p & 63, 0);
        assert_true(same_page(p, n));
        assert_true(ExQueryPoolBlockSize(p, NULL) >= n);
        fill(p, n, (UCHAR)n);
        blocks[count++] = p;
        PUCHAR q = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_CACHE_ALIGNED, n, tag);
        assert_non_null(q);
        assert_int_equal((ULONG_PTR)q & 63, 0);
        assert_true(all_zero(q, n));
        ExFreePoolWithTag(q, tag);
    }
    for (ULONG i = 0; i < count; i++)
        ExFreePoolWithTag(blocks[i], tag);
    assert_balanced(tag, NonPagedPool, before, count * 2);
}

/* ---- zeroing ---------------------------------------------------------------------------------- */

static void pool_zeroing(void **state)
{
    const ULONG tag = TAG('T', 'p', 'z', 'r');
    usage np = tag_usage(tag, NonPagedPool), pg = tag_usage(tag, PagedPool);
    static const SIZE_T sizes[] = {1, 16, 100, 1000, 4064, 4096, 10000};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++) {
        SIZE_T n = sizes[i];
        /* Dirty blocks of this size first so a reused one would show. */
        for (ULONG k = 0; k < 4; k++) {
            PUCHAR d = ExAllocatePoolWithTag(NonPagedPoolNx, n, tag);
            RtlFillMemory(d, n, 0xA5);
            ExFreePoolWithTag(d, tag);
        }
        PVOID a = ExAllocatePool2(POOL_FLAG_NON_PAGED, n, tag);
        PVOID b = ExAllocatePoolZero(NonPagedPoolNx, n, tag);
        PVOID c = ExAllocatePoolWithTag((POOL_TYPE)(NonPagedPoolNx | POOL_ZERO_ALLOCATION), n, tag);
        PVOID d = ExAllocatePoolQuotaZero(PagedPool, n, tag);
        PVOID e = ExAllocatePoolPriorityZero(NonPagedPoolNx, n, tag, HighPoolPriority);
        PVOID f = ExAllocatePool3(POOL_FLAG_PAGED, n, tag, NULL, 0);
        assert_true(a && b && c && d && e && f);
        assert_true(all_zero(a, n));
        assert_true(all_zero(b, n));
        assert_true(all_zero(c, n));
        assert_true(all_zero(d, n));
        assert_true(all_zero(e, n));
        assert_true(all_zero(f, n));
        /* Uninitialized variants still give usable memory. */
        PVOID g = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, n, tag);
        PVOID h = ExAllocatePoolUninitialized(NonPagedPoolNx, n, tag);
        PVOID j = ExAllocatePoolQuotaUninitialized(PagedPool, n, tag);
        PVOID k = ExAllocatePoolPriorityUninitialized(PagedPool, n, tag, LowPoolPriority);
        assert_true(g && h && j && k);
        fill(g, n, 1);
        fill(h, n, 2);
        fill(j, n, 3);
        fill(k, n, 4);
        PVOID all[] = {a, b, c, d, e, f, g, h, j, k};
        for (ULONG x = 0; x < RTL_NUMBER_OF(all); x++)
            ExFreePoolWithTag(all[x], tag);
    }
    assert_balanced(tag, NonPagedPool, np, RTL_NUMBER_OF(sizes) * (4 + 6));
    assert_balanced(tag, PagedPool, pg, RTL_NUMBER_OF(sizes) * 4);
}

/* ---- entry points ----------------------------------------------------------------------------- */

static void pool_allocate_pool_uses_none_tag(void **state)
{
    usage before = tag_usage(EX_POOL_TAG_NONE, NonPagedPool);
    PVOID p = ExAllocatePool(NonPagedPool, 40);
    PVOID q = ExAllocatePoolWithQuota((POOL_TYPE)(NonPagedPool | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), 40);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(peek_header(p).PoolTag, EX_POOL_TAG_NONE);
    assert_int_equal(peek_header(q).PoolTag, EX_POOL_TAG_NONE);
    usage mid = tag_usage(EX_POOL_TAG_NONE, NonPagedPool);
    assert_int_equal(mid.allocs - before.allocs, 2);
    ExFreePoolWithTag(p, EX_POOL_TAG_NONE);
    ExFreePool(q);
    assert_balanced(EX_POOL_TAG_NONE, NonPagedPool, before, 2);
}

static void pool_quota(void **state)
{
    const ULONG tag = TAG('T', 'p', 'q', 't');
    usage before = tag_usage(tag, PagedPool);
    BOOLEAN quota = FALSE;
    PVOID p = ExAllocatePoolWithQuotaTag(PagedPool, 64, tag);
    assert_non_null(p);
    assert_int_not_equal(ExQueryPoolBlockSize(p, &quota), 0);
    assert_true(quota);
    assert_true(peek_header(p).PoolType & EX_POOL_HEADER_QUOTA);
    PVOID big = ExAllocatePoolWithQuotaTag(PagedPool, 3 * 4096, tag);
    assert_non_null(big);
    quota = FALSE;
    assert_int_equal(ExQueryPoolBlockSize(big, &quota), 3 * 4096);
    assert_true(quota);
    PVOID q = ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_USE_QUOTA, 64, tag);
    quota = FALSE;
    ExQueryPoolBlockSize(q, &quota);
    assert_true(quota);
    PVOID r = ExAllocatePoolWithTag(PagedPool, 64, tag);
    quota = TRUE;
    ExQueryPoolBlockSize(r, &quota);
    assert_false(quota);
    ExFreePoolWithTag(p, tag);
    ExFreePoolWithTag(big, tag);
    ExFreePoolWithTag(q, tag);
    ExFreePoolWithTag(r, tag);
    assert_balanced(tag, PagedPool, before, 4);
}

#define HUGE_REQUEST ((SIZE_T)1 << 44) /* 16 TB: more than any pool */

static void pool_out_of_memory(void **state)
{
    const ULONG tag = TAG('T', 'p', 'o', 'm');
    usage before = tag_usage(tag, NonPagedPool);
    assert_null(ExAllocatePoolWithTag(NonPagedPoolNx, HUGE_REQUEST, tag));
    assert_null(ExAllocatePoolWithTag(NonPagedPoolNx, ~(SIZE_T)0, tag));
    assert_null(ExAllocatePoolWithTag(NonPagedPoolNx, ~(SIZE_T)0 - 4095, tag));
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED, HUGE_REQUEST, tag));
    assert_null(ExAllocatePool3(POOL_FLAG_NON_PAGED, HUGE_REQUEST, tag, NULL, 0));
    assert_null(ExAllocatePoolWithTagPriority(NonPagedPoolNx, HUGE_REQUEST, tag, HighPoolPriority));
    assert_null(ExAllocatePoolWithQuotaTag((POOL_TYPE)(PagedPool | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), HUGE_REQUEST,
                                           tag));

    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED,
                    ExAllocatePoolWithTag((POOL_TYPE)(NonPagedPoolNx | POOL_RAISE_IF_ALLOCATION_FAILURE),
                                          HUGE_REQUEST, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], HUGE_REQUEST);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], tag);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED,
                    ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, HUGE_REQUEST, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_INSUFFICIENT_RESOURCES);
    /* Quota allocations raise by default. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, ExAllocatePoolWithQuotaTag(PagedPool, HUGE_REQUEST, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_INSUFFICIENT_RESOURCES);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, ExAllocatePoolWithQuota(PagedPool, HUGE_REQUEST));
    /* Nothing was counted for the failures, and the pool still works. */
    assert_balanced(tag, NonPagedPool, before, 0);
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 10, tag);
    assert_non_null(p);
    ExFreePoolWithTag(p, tag);
}

static void pool2_rejects_invalid_requests(void **state)
{
    const ULONG tag = TAG('T', 'p', 'f', 'l');
    usage before = tag_usage(tag, NonPagedPool);
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 0));                              /* tag 0 */
    assert_null(ExAllocatePool2(0, 16, tag));                                              /* no pool */
    assert_null(ExAllocatePool2(POOL_FLAG_UNINITIALIZED, 16, tag));                        /* no pool */
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 16, tag));          /* two pools */
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE, 16, tag));
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RESERVED1, 16, tag));      /* reserved */
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RESERVED3, 16, tag));
    assert_null(ExAllocatePool2(POOL_FLAG_NON_PAGED | 0x100000ULL, 16, tag));             /* unknown required */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED,
                    ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, 16, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)STATUS_INVALID_PARAMETER);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, ExAllocatePool2(POOL_FLAG_RAISE_ON_FAILURE, 16, tag));
    assert_balanced(tag, NonPagedPool, before, 0);

    /* Unknown optional flags are ignored; the special-pool request is honoured
     * as a normal allocation. */
    PVOID p = ExAllocatePool2(POOL_FLAG_NON_PAGED | 0x4000000000ULL, 16, tag);
    PVOID q = ExAllocatePool2(POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_SPECIAL_POOL, 16, tag);
    PVOID r = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_SESSION, 16, tag);
    assert_true(p && q && r);
    assert_true(peek_header(p).PoolType & EX_POOL_HEADER_NX);
    assert_false(peek_header(q).PoolType & EX_POOL_HEADER_NX);
    ExFreePoolWithTag(p, tag);
    ExFreePoolWithTag(q, tag);
    ExFreePoolWithTag(r, tag);
    assert_balanced(tag, NonPagedPool, before, 3);
}

static POOL_EXTENDED_PARAMETER xparam(ULONG type, BOOLEAN optional, ULONG64 value)
{
    POOL_EXTENDED_PARAMETER x;
    RtlZeroMemory(&x, sizeof(x));
    x.Type = type;
    x.Optional = optional;
    x.Reserved2 = value;
    return x;
}

static void pool3_extended_parameters(void **state)
{
    const ULONG tag = TAG('T', 'p', 'x', 'p');
    usage before = tag_usage(tag, PagedPool);
    ULONG good = 0;
    static const ULONG priorities[] = {LowPoolPriority, NormalPoolPriority, HighPoolPriority,
                                       NormalPoolPrioritySpecialPoolOverrun, HighPoolPrioritySpecialPoolUnderrun};
    for (ULONG i = 0; i < RTL_NUMBER_OF(priorities); i++) {
        POOL_EXTENDED_PARAMETER x = xparam(PoolExtendedParameterPriority, FALSE, priorities[i]);
        PVOID p = ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, &x, 1);
        assert_non_null(p);
        assert_true(all_zero(p, 48));
        ExFreePoolWithTag(p, tag);
        good++;
    }
    POOL_EXTENDED_PARAMETER bad = xparam(PoolExtendedParameterPriority, FALSE, 7);
    assert_null(ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, &bad, 1));
    POOL_EXTENDED_PARAMETER unknown = xparam(PoolExtendedParameterMax + 3, FALSE, 0);
    assert_null(ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, &unknown, 1));
    POOL_EXTENDED_PARAMETER invalid = xparam(PoolExtendedParameterInvalidType, FALSE, 0);
    assert_null(ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, &invalid, 1));
    POOL_EXTENDED_PARAMETER secure = xparam(PoolExtendedParameterSecurePool, FALSE, 0);
    assert_null(ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, &secure, 1));
    assert_null(ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, NULL, 1));
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED,
                    ExAllocatePool3(POOL_FLAG_PAGED | POOL_FLAG_RAISE_ON_FAILURE, 48, tag, &bad, 1));

    /* Optional parameters that cannot be honoured are skipped; a list mixes them. */
    POOL_EXTENDED_PARAMETER list[4] = {
        xparam(PoolExtendedParameterMax + 3, TRUE, 0),
        xparam(PoolExtendedParameterPriority, TRUE, 99),
        xparam(PoolExtendedParameterNumaNode, FALSE, 0),
        xparam(PoolExtendedParameterNumaNode, FALSE, MM_ANY_NODE_OK | 5),
    };
    PVOID p = ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, list, 4);
    assert_non_null(p);
    ExFreePoolWithTag(p, tag);
    good++;
    POOL_EXTENDED_PARAMETER node = xparam(PoolExtendedParameterNumaNode, FALSE, 3);
    assert_null(ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, &node, 1));
    /* No parameters at all is ExAllocatePool2. */
    p = ExAllocatePool3(POOL_FLAG_PAGED, 48, tag, NULL, 0);
    assert_non_null(p);
    ExFreePoolWithTag(p, tag);
    good++;
    assert_balanced(tag, PagedPool, before, good);
}

static void pool_with_tag_priority(void **state)
{
    const ULONG tag = TAG('T', 'p', 'p', 'r');
    usage before = tag_usage(tag, NonPagedPool);
    static const EX_POOL_PRIORITY priorities[] = {LowPoolPriority, LowPoolPrioritySpecialPoolOverrun,
                                                  NormalPoolPriority, NormalPoolPrioritySpecialPoolUnderrun,
                                                  HighPoolPriority, (EX_POOL_PRIORITY)77};
    for (ULONG i = 0; i < RTL_NUMBER_OF(priorities); i++) {
        PVOID p = ExAllocatePoolWithTagPriority(NonPagedPoolNx, 100 + i * 2000, tag, priorities[i]);
        assert_non_null(p);
        fill(p, 100 + i * 2000, 9);
        ExFreePoolWithTag(p, tag);
    }
    assert_balanced(tag, NonPagedPool, before, RTL_NUMBER_OF(priorities));
}

/* Allocation and free at DISPATCH_LEVEL (nonpaged) and APC_LEVEL (paged). */
static void pool_raised_irql_within_rules(void **state)
{
    const ULONG tag = TAG('T', 'p', 'i', 'r');
    usage np = tag_usage(tag, NonPagedPool), pg = tag_usage(tag, PagedPool);
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    PVOID a = ExAllocatePoolWithTag(NonPagedPoolNx, 100, tag);
    PVOID b = ExAllocatePoolWithTag(NonPagedPoolNx, 9000, tag);
    PVOID c = ExAllocatePool2(POOL_FLAG_NON_PAGED_EXECUTE, 300, tag);
    assert_true(a && b && c);
    ExFreePoolWithTag(a, tag);
    ExFreePoolWithTag(b, tag);
    ExFreePoolWithTag(c, tag);
    KeLowerIrql(old);
    old = KfRaiseIrql(APC_LEVEL);
    PVOID d = ExAllocatePoolWithTag(PagedPool, 100, tag);
    PVOID e = ExAllocatePoolWithTag(PagedPool, 9000, tag);
    assert_true(d && e);
    ExFreePoolWithTag(d, tag);
    ExFreePoolWithTag(e, tag);
    KeLowerIrql(old);
    assert_balanced(tag, NonPagedPool, np, 3);
    assert_balanced(tag, PagedPool, pg, 2);
}

/* ---- misuse ------------------------------------------------------------------------------------- */

static void pool_bad_requests_bugcheck(void **state)
{
    const ULONG tag = TAG('T', 'p', 'b', 'r');
    usage before = tag_usage(tag, NonPagedPool);

    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(NonPagedPoolNx, 0, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ZERO_SIZE);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], NonPagedPoolNx);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], tag);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePool2(POOL_FLAG_PAGED, 0, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ZERO_SIZE);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], PagedPool);

    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(NonPagedPoolNx, 16, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ZERO_TAG);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], NonPagedPoolNx);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 16);
    assert_int_not_equal(ntos_last_bugcheck.Parameter[3], 0); /* the caller */
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithQuotaTag(PagedPool, 16, 0));

    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(NonPagedPoolNx, 16, TAG(' ', '-', '.', 1)));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_TAG);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], TAG(' ', '-', '.', 1));
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePool2(POOL_FLAG_PAGED, 16, 0x01020304));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_TAG);

    static const ULONG badTypes[] = {NonPagedPoolMustSucceed, DontUseThisType, NonPagedPoolCacheAlignedMustS,
                                     MaxPoolType, NonPagedPoolMustSucceedSession, 0x10000, 0x40};
    for (ULONG i = 0; i < RTL_NUMBER_OF(badTypes); i++) {
        expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag((POOL_TYPE)badTypes[i], 16, tag));
        assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_POOL_TYPE);
        assert_int_equal(ntos_last_bugcheck.Parameter[1], badTypes[i]);
        assert_int_equal(ntos_last_bugcheck.Parameter[2], 16);
        assert_int_equal(ntos_last_bugcheck.Parameter[3], tag);
    }
    assert_balanced(tag, NonPagedPool, before, 0);
}

static void pool_bad_irql_bugchecks(void **state)
{
    const ULONG tag = TAG('T', 'p', 'b', 'i');
    usage np = tag_usage(tag, NonPagedPool), pg = tag_usage(tag, PagedPool);
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(PagedPool, 32, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ALLOCATE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], PagedPool);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 32);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePool2(POOL_FLAG_PAGED, 32, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ALLOCATE_IRQL);
    KeLowerIrql(old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    old = KfRaiseIrql(DISPATCH_LEVEL + 1);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(NonPagedPoolNx, 32, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ALLOCATE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL + 1);
    KeLowerIrql(old);

    /* Frees: the blocks stay allocated after the refused free. */
    PVOID paged = ExAllocatePoolWithTag(PagedPool, 32, tag);
    PVOID pagedBig = ExAllocatePoolWithTag(PagedPool, 3 * 4096, tag);
    PVOID nonpaged = ExAllocatePoolWithTag(NonPagedPoolNx, 32, tag);
    old = KfRaiseIrql(DISPATCH_LEVEL);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(paged, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_FREE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], PagedPool);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[3], paged);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(pagedBig));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_FREE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], PagedPool);
    KeLowerIrql(old);
    old = KfRaiseIrql(DISPATCH_LEVEL + 1);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(nonpaged));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_FREE_IRQL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], NonPagedPoolNx);
    KeLowerIrql(old);
    ExFreePoolWithTag(paged, tag);
    ExFreePoolWithTag(pagedBig, tag);
    ExFreePoolWithTag(nonpaged, tag);
    assert_balanced(tag, PagedPool, pg, 2);
    assert_balanced(tag, NonPagedPool, np, 1);
}

static void pool_bad_frees_bugcheck(void **state)
{
    const ULONG tag = TAG('T', 'p', 'b', 'f');
    usage before = tag_usage(tag, NonPagedPool);
    ULONG local = 0;

    /* Addresses no pool ever handed out. */
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_NOT_POOL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(&local));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_NOT_POOL);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], &local);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool((PVOID)(ULONG_PTR)0x10000));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_NOT_POOL);

    /* Pool addresses that are not a block's start. */
    PUCHAR p = ExAllocatePoolZero(NonPagedPoolNx, 200, tag);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(p + 8));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], p + 8);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(p + 16));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
    expect_bugcheck(BAD_POOL_CALLER, ExQueryPoolBlockSize(p + 32, NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
    PUCHAR big = ExAllocatePoolWithTag(NonPagedPoolNx, 3 * 4096, tag);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(big + 100));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
    /* A page of a live big allocation is pool without a tracking entry. */
    expect_bugcheck(BAD_POOL_HEADER, ExFreePool(big + 4096));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_NO_BIG_ENTRY);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], big + 4096);

    /* The wrong tag; the block stays allocated. */
    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(p, TAG('W', 'r', 'n', 'g')));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_WRONG_TAG);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], p);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], tag);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], TAG('W', 'r', 'n', 'g'));
    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(big, TAG('W', 'r', 'n', 'g')));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_WRONG_TAG);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], tag);
    assert_true(all_zero(p, 200));
    ExFreePoolWithTag(p, tag);
    ExFreePoolWithTag(big, tag);

    /* Double frees. */
    POOL_HEADER h = peek_header(p);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(p, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_DOUBLE_FREE);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], h.Ulong1);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[3], p);
    assert_int_equal(h.PoolType, 0);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(p));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_DOUBLE_FREE);
    PUCHAR aligned = ExAllocatePoolWithTag(NonPagedPoolNxCacheAligned, 100, tag);
    ExFreePool(aligned);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(aligned));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_DOUBLE_FREE);
    /* Five pages are not kept by the page cache: they are gone from the pool. */
    PUCHAR five = ExAllocatePoolWithTag(NonPagedPoolNx, 5 * 4096, tag);
    ExFreePool(five);
    expect_bugcheck(BAD_POOL_CALLER, ExFreePool(five));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_NOT_POOL);

    assert_balanced(tag, NonPagedPool, before, 4);
}

static void pool_corrupt_headers_bugcheck(void **state)
{
    const ULONG tag = TAG('T', 'p', 'c', 'h');
    usage before = tag_usage(tag, NonPagedPool);
    PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, 100, tag);
    POOL_HEADER h = peek_header(p);
    ULONG good = h.Ulong1;
    ULONG units = h.BlockSize;

    poke_header_ulong(p, (good & 0xFF00FFFF) | ((units + 1) << 16));
    expect_bugcheck(BAD_POOL_HEADER, ExFreePoolWithTag(p, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_BLOCK_SIZE);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], (PPOOL_HEADER)p - 1);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[2], (PUCHAR)((PPOOL_HEADER)p - 1) + units * 16);

    poke_header_ulong(p, good & 0xFF00FFFF);
    expect_bugcheck(BAD_POOL_HEADER, ExFreePoolWithTag(p, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_ZERO_SIZE);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[3], (PPOOL_HEADER)p - 1);

    poke_header_ulong(p, (good & 0xFFFFFF00) | ((good & 0xFF) ? 0 : 1));
    expect_bugcheck(BAD_POOL_HEADER, ExFreePoolWithTag(p, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_PREVIOUS_SIZE);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], (PPOOL_HEADER)p - 1);

    poke_header_ulong(p, (good & 0xFFFF00FF) | (((good >> 8) + 1) & 0xFF) << 8);
    expect_bugcheck(BAD_POOL_HEADER, ExQueryPoolBlockSize(p, NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_BLOCK_SIZE);

    /* A PoolType that contradicts the page (paged, on a nonpaged page). */
    poke_header_ulong(p, (good & 0x00FFFFFF) | ((ULONG)EX_POOL_HEADER_PAGED << 24));
    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(p, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_CORRUPT_TYPE);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], (PPOOL_HEADER)p - 1);
    poke_header_ulong(p, (good & 0x00FFFFFF) | (0xC0u << 24));
    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(p, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_CORRUPT_TYPE);

    /* Repaired, the block frees normally. */
    poke_header_ulong(p, good);
    ExFreePoolWithTag(p, tag);
    assert_balanced(tag, NonPagedPool, before, 1);
}

/*
 * Every 16-byte step inside a block, and every misaligned address, is a pool
 * address that starts no block: BAD_ADDRESS for the free and the size query,
 * and the block stays allocated. The block is zeroed first, so no header-like
 * data sits before any of those addresses.
 */
static void pool_interior_addresses_bugcheck(void **state)
{
    const ULONG tag = TAG('T', 'p', 'i', 'a');
    usage before = tag_usage(tag, NonPagedPool);
    static const SIZE_T sizes[] = {40, 200, 1000, 2000, EX_POOL_SMALL_MAXIMUM};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++) {
        PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, sizes[i], tag);
        assert_non_null(p);
        SIZE_T usable = ExQueryPoolBlockSize(p, NULL);
        RtlZeroMemory(p, usable);
        for (SIZE_T off = 16; off < usable; off += 16) {
            expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(p + off, tag));
            assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
            assert_ptr_equal(ntos_last_bugcheck.Parameter[1], p + off);
            expect_bugcheck(BAD_POOL_CALLER, ExFreePool(p + off));
            assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
        }
        expect_bugcheck(BAD_POOL_CALLER, ExQueryPoolBlockSize(p + usable / 32 * 16, NULL));
        assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
        for (SIZE_T off = 1; off < 16; off++) {
            expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(p + off, tag));
            assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
        }
        assert_true(all_zero(p, usable));
        ExFreePoolWithTag(p, tag);
    }
    assert_balanced(tag, NonPagedPool, before, RTL_NUMBER_OF(sizes));
}

/*
 * A page's first block (right after the page's own 16-byte header) has
 * PreviousSize 0 and frees like any other; the address of the page header's
 * unit is no block, and a first block claiming a block before it is damaged.
 */
static void pool_first_block_of_a_page(void **state)
{
    const ULONG tag = TAG('T', 'p', 'f', 'b');
    usage before = tag_usage(tag, PagedPool);
    /* 600-byte blocks (39 units): six to a page, so a few dozen include a first one. */
    PUCHAR blocks[64];
    PUCHAR first = NULL;
    ULONG n = 0;
    while (n < RTL_NUMBER_OF(blocks) && first == NULL) {
        blocks[n] = ExAllocatePoolWithTag(PagedPool, 600, tag);
        assert_non_null(blocks[n]);
        if (peek_header(blocks[n]).PreviousSize == 0)
            first = blocks[n];
        n++;
    }
    assert_non_null(first);
    assert_int_equal((ULONG_PTR)first & 0xFFF, 32);

    expect_bugcheck(BAD_POOL_CALLER, ExFreePoolWithTag(first - 16, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);
    expect_bugcheck(BAD_POOL_CALLER, ExQueryPoolBlockSize(first - 16, NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_ADDRESS);

    POOL_HEADER h = peek_header(first);
    poke_header_ulong(first, h.Ulong1 | h.BlockSize);
    expect_bugcheck(BAD_POOL_HEADER, ExFreePoolWithTag(first, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_PREVIOUS_SIZE);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], (PPOOL_HEADER)first - 1);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
    poke_header_ulong(first, h.Ulong1);

    /* Freed and handed out again: the same block, PreviousSize still 0. */
    ExFreePoolWithTag(first, tag);
    PUCHAR again = ExAllocatePoolWithTag(PagedPool, 600, tag);
    if (again == first)
        assert_int_equal(peek_header(again).PreviousSize, 0);
    for (ULONG i = 0; i < n; i++) {
        if (blocks[i] != first)
            ExFreePool(blocks[i]);
    }
    ExFreePool(again);
    assert_balanced(tag, PagedPool, before, n + 1);
}

#ifndef TEST_ASAN
/*
 * A free block's header overwritten while it sits on a free list is found
 * when the list hands it out. (With ASan, freed blocks wait in a quarantine
 * first, and the overwrite itself is what the sanitizer reports.)
 */
static void pool_free_block_modified_bugchecks(void **state)
{
    const ULONG tag = TAG('T', 'p', 'f', 'm');
    usage before = tag_usage(tag, NonPagedPool);
    /* Same processor throughout: the block must come back from its list. */
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, 700, tag);
    ExFreePoolWithTag(p, tag);
    POOL_HEADER h = peek_header(p);
    assert_int_equal(h.PoolType, 0);
    poke_header_ulong(p, h.Ulong1 | (0x05u << 24));
    expect_bugcheck(BAD_POOL_HEADER, ExAllocatePoolWithTag(NonPagedPoolNx, 700, tag));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BH_FREE_MODIFIED);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], (PPOOL_HEADER)p - 1);
    poke_header_ulong(p, h.Ulong1);
    PVOID again = ExAllocatePoolWithTag(NonPagedPoolNx, 700, tag);
    assert_ptr_equal(again, p);
    ExFreePoolWithTag(again, tag);
    KeLowerIrql(old);
    assert_balanced(tag, NonPagedPool, before, 2);
}
#endif

/* ---- ASan poisoning --------------------------------------------------------------------------------- */

static void pool_asan_poisons_slack_and_free_blocks(void **state)
{
#ifndef TEST_ASAN
    skip();
#else
    const ULONG tag = TAG('T', 'p', 'a', 's');
    usage before = tag_usage(tag, NonPagedPool);
    static const SIZE_T sizes[] = {1, 13, 16, 24, 100, 1000, 4064};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sizes); i++) {
        SIZE_T n = sizes[i];
        PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, n, tag);
        assert_false(__asan_address_is_poisoned(p));
        assert_false(__asan_address_is_poisoned(p + n - 1));
        POOL_HEADER h = peek_header(p);
        if (n < (SIZE_T)h.BlockSize * 16 - 16)
            assert_true(__asan_address_is_poisoned(p + n)); /* the first byte past the request */
        assert_true(__asan_address_is_poisoned(p - 1));     /* the header */
        assert_true(__asan_address_is_poisoned(p - 16));
        ExFreePoolWithTag(p, tag);
        assert_true(__asan_address_is_poisoned(p));
        assert_true(__asan_address_is_poisoned(p + n - 1));
    }
    /* Asking for the block size makes the slack usable. */
    PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, 13, tag);
    SIZE_T usable = ExQueryPoolBlockSize(p, NULL);
    assert_true(usable >= 16);
    assert_false(__asan_address_is_poisoned(p + usable - 1));
    ExFreePoolWithTag(p, tag);
    /* Big blocks: the rest of the last page is poisoned. */
    PUCHAR big = ExAllocatePoolWithTag(NonPagedPoolNx, 4096 + 10, tag);
    assert_false(__asan_address_is_poisoned(big + 4096 + 9));
    assert_true(__asan_address_is_poisoned(big + 4096 + 10));
    assert_true(__asan_address_is_poisoned(big + 8191));
    ExFreePoolWithTag(big, tag);
    /* Cache-aligned: the bytes before the aligned start are not the caller's. */
    PUCHAR a = ExAllocatePoolWithTag(NonPagedPoolNxCacheAligned, 40, tag);
    assert_true(__asan_address_is_poisoned(a - 1));
    assert_true(__asan_address_is_poisoned(a + 40));
    ExFreePoolWithTag(a, tag);
    assert_balanced(tag, NonPagedPool, before, RTL_NUMBER_OF(sizes) + 3);
#endif
}

/* ---- accounting and the dump -------------------------------------------------------------------------- */

static void pool_tag_accounting(void **state)
{
    const ULONG tag = TAG('T', 'p', 'a', 'c');
    ULONG64 a = 1, f = 1, b = 1;
    assert_int_equal(ExQueryPoolTagUsage(TAG('N', 'v', 'e', 'r'), NonPagedPool, &a, &f, &b), STATUS_NOT_FOUND);
    assert_int_equal(a + f + b, 0);
    usage np = tag_usage(tag, NonPagedPool), pg = tag_usage(tag, PagedPool);

    PVOID small = ExAllocatePoolWithTag(NonPagedPoolNx, 100, tag);
    PVOID bigp = ExAllocatePoolWithTag(PagedPool, 2 * 4096 + 1, tag);
    assert_int_equal(ExQueryPoolTagUsage(tag, NonPagedPool, &a, &f, &b), STATUS_SUCCESS);
    assert_int_equal(a - np.allocs, 1);
    assert_int_equal(f - np.frees, 0);
    assert_int_equal(b - np.bytes, (ULONG64)peek_header(small).BlockSize * 16);
    /* Any nonpaged type queries the nonpaged counters, any paged one the paged. */
    usage same = tag_usage(tag, NonPagedPoolNxCacheAligned);
    assert_int_equal(same.allocs, a);
    usage pgNow = tag_usage(tag, PagedPoolSession);
    assert_int_equal(pgNow.allocs - pg.allocs, 1);
    assert_int_equal(pgNow.bytes - pg.bytes, 3 * 4096);
    /* Outputs are optional. */
    assert_int_equal(ExQueryPoolTagUsage(tag, PagedPool, NULL, NULL, NULL), STATUS_SUCCESS);

    /* The snapshot lists the tag once, with both pools. */
    ULONG needed = 0;
    assert_int_equal(ExQueryPoolTagSnapshot(NULL, 0, &needed), needed ? STATUS_BUFFER_TOO_SMALL : STATUS_SUCCESS);
    assert_true(needed >= 2);
    ULONG room = needed + 8;
    PEX_POOL_TAG_USAGE snap =
        ExAllocatePool2(POOL_FLAG_PAGED, room * sizeof(EX_POOL_TAG_USAGE), TAG('T', 'p', 's', 'n'));
    assert_non_null(snap);
    ULONG got = 0;
    assert_int_equal(ExQueryPoolTagSnapshot(snap, room, &got), STATUS_SUCCESS);
    ULONG seen = 0;
    for (ULONG i = 0; i < got && i < room; i++) {
        if (snap[i].Tag == tag) {
            seen++;
            assert_int_equal(snap[i].NonPagedAllocs - np.allocs, 1);
            assert_int_equal(snap[i].PagedAllocs - pg.allocs, 1);
            assert_int_equal(snap[i].PagedBytes - pg.bytes, 3 * 4096);
        }
    }
    assert_int_equal(seen, 1);
    assert_int_equal(ExQueryPoolTagSnapshot(snap, 1, &got), STATUS_BUFFER_TOO_SMALL);
    assert_true(got >= 2);
    ExFreePool(snap);

    ExFreePoolWithTag(small, tag);
    ExFreePoolWithTag(bigp, tag);
    assert_balanced(tag, NonPagedPool, np, 1);
    assert_balanced(tag, PagedPool, pg, 1);
}

/*
 * Many tags in use at once on one processor: some share a home slot in the
 * processor's table and are found by probing, some may be counted in the
 * global table; every tag's counts stay exact, whichever free (with or
 * without the tag) and whichever pool.
 */
#define MANY_TAGS 64

static void pool_many_tags(void **state)
{
    ULONG tags[MANY_TAGS];
    usage np[MANY_TAGS], pg[MANY_TAGS];
    for (ULONG i = 0; i < MANY_TAGS; i++) {
        /* Some start with a character that is not a letter or digit. */
        tags[i] = TAG(i % 3 ? 'T' : '#', 'm', 'a' + i % 26, 'a' + i / 26);
        np[i] = tag_usage(tags[i], NonPagedPool);
        pg[i] = tag_usage(tags[i], PagedPool);
    }
    PVOID blocks[MANY_TAGS];
    KIRQL old = KfRaiseIrql(APC_LEVEL); /* paged pool still allowed; one processor throughout */
    for (ULONG round = 0; round < 4; round++) {
        for (ULONG i = 0; i < MANY_TAGS; i++) {
            blocks[i] = ExAllocatePoolWithTag((i + round) & 1 ? PagedPool : NonPagedPoolNx, 24 + 8 * i, tags[i]);
            assert_non_null(blocks[i]);
            assert_int_equal(peek_header(blocks[i]).PoolTag, tags[i]);
        }
        for (ULONG i = MANY_TAGS; i-- > 0;) {
            if (round & 1)
                ExFreePool(blocks[i]);
            else
                ExFreePoolWithTag(blocks[i], tags[i]);
        }
    }
    KeLowerIrql(old);
    for (ULONG i = 0; i < MANY_TAGS; i++) {
        assert_balanced(tags[i], NonPagedPool, np[i], 2);
        assert_balanced(tags[i], PagedPool, pg[i], 2);
    }
    /* A tag without a letter or digit is refused however many valid ones were seen. */
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(NonPagedPoolNx, 24, TAG('#', '#', '#', '#')));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_BAD_TAG);
    expect_bugcheck(BAD_POOL_CALLER, ExAllocatePoolWithTag(NonPagedPoolNx, 24, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_POOL_BC_ZERO_TAG);
}

static char dump_text[65536]; /* a line per tag and pool: every test's tags are in the dump */
static ULONG dump_length;

static VOID dump_hook(PCSTR Text, ULONG Length)
{
    for (ULONG i = 0; i < Length && dump_length + 1 < sizeof(dump_text); i++)
        dump_text[dump_length++] = Text[i];
    dump_text[dump_length] = 0;
}

static BOOLEAN dump_contains(const char *needle)
{
    for (ULONG i = 0; dump_text[i]; i++) {
        ULONG k = 0;
        while (needle[k] && dump_text[i + k] == needle[k])
            k++;
        if (needle[k] == 0)
            return TRUE;
    }
    return FALSE;
}

static void pool_dump_usage(void **state)
{
    const ULONG tag = TAG('T', 'p', 'd', 'u');
    PVOID keep[3];
    for (ULONG i = 0; i < 3; i++)
        keep[i] = ExAllocatePoolWithTag(PagedPool, 64, tag);
    dump_length = 0;
    dump_text[0] = 0;
    PKD_PRINT_HOOK previous = KdpSetPrintHook(dump_hook);
    ExDumpPoolUsage();
    KdpSetPrintHook(previous);
    for (ULONG i = 0; i < 3; i++)
        ExFreePoolWithTag(keep[i], tag);
    assert_true(dump_contains("Tag  Type"));
    assert_true(dump_contains("Tpdu Paged"));
    assert_true(dump_contains("Total bytes in use"));
}

/* ---- the Rtl hook ---------------------------------------------------------------------------------------- */

static void pool_is_the_rtl_hook(void **state)
{
    const ULONG tag = TAG('T', 'p', 'r', 'h');
    PRTLP_POOL_ALLOCATE a;
    PRTLP_POOL_FREE f;
    RtlpGetPoolHooks(&a, &f);
    assert_non_null(a);
    assert_non_null(f);
    ExInitializePool(); /* again: changes nothing */
    PRTLP_POOL_ALLOCATE a2;
    PRTLP_POOL_FREE f2;
    RtlpGetPoolHooks(&a2, &f2);
    assert_ptr_equal(a, a2);
    assert_ptr_equal(f, f2);
    usage before = tag_usage(tag, NonPagedPool);
    PVOID p = RtlpAllocatePool(24, tag);
    assert_non_null(p);
    usage mid = tag_usage(tag, NonPagedPool);
    if (mid.allocs == before.allocs) {
        /* Someone else's hook is installed (the pool was initialised at boot
         * and a test harness replaced it). */
        RtlpFreePool(p, tag);
        skip();
    }
    assert_true(ExQueryPoolBlockSize(p, NULL) >= 24);
    RtlpFreePool(p, tag);
    /* Rtl may ask for nothing (an empty string). */
    p = RtlpAllocatePool(0, tag);
    assert_non_null(p);
    RtlpFreePool(p, tag);
    assert_balanced(tag, NonPagedPool, before, 2);
}

/* ---- property test against a reference model --------------------------------------------------------------- */

#define MODEL_SLOTS 192
#define MODEL_OPS 4000
#define MODEL_TAGS 6

typedef struct model_block {
    PUCHAR p;
    SIZE_T n;
    ULONG tag;
    BOOLEAN paged;
    UCHAR seed;
} model_block;

static model_block model[MODEL_SLOTS];
static const ULONG model_tags[MODEL_TAGS] = {TAG('M', 'd', 'l', '0'), TAG('M', 'd', 'l', '1'),
                                             TAG('M', 'd', 'l', '2'), TAG('M', 'd', 'l', '3'),
                                             TAG('M', 'd', 'l', '4'), TAG('M', 'd', 'l', '5')};

/* Sizes 1..3 pages, most of them small. */
static SIZE_T model_size(uint64_t *rng)
{
    ULONG r = (ULONG)(ntos_test_rand(rng) % 100);
    if (r < 60)
        return 1 + ntos_test_rand(rng) % 256;
    if (r < 85)
        return 1 + ntos_test_rand(rng) % 4096;
    return 1 + ntos_test_rand(rng) % (3 * 4096);
}

static void model_free(ULONG slot, BOOLEAN withTag)
{
    model_block *m = &model[slot];
    if (!check_fill(m->p, m->n, m->seed))
        fail_msg("block %p (%llu bytes, tag %x) changed while allocated", m->p, (unsigned long long)m->n, m->tag);
    if (withTag)
        ExFreePoolWithTag(m->p, m->tag);
    else
        ExFreePool(m->p);
    m->p = NULL;
}

static void pool_property_against_model(void **state)
{
    uint64_t rng = 0x5EED0F9001ULL;
    usage before[MODEL_TAGS][2];
    ULONG64 allocs[MODEL_TAGS][2];
    for (ULONG t = 0; t < MODEL_TAGS; t++) {
        before[t][0] = tag_usage(model_tags[t], NonPagedPool);
        before[t][1] = tag_usage(model_tags[t], PagedPool);
        allocs[t][0] = allocs[t][1] = 0;
    }
    RtlZeroMemory(model, sizeof(model));
    ULONG live = 0;
    for (ULONG op = 0; op < MODEL_OPS; op++) {
        ULONG slot = (ULONG)(ntos_test_rand(&rng) % MODEL_SLOTS);
        model_block *m = &model[slot];
        if (m->p != NULL) {
            model_free(slot, (ntos_test_rand(&rng) & 1) != 0);
            live--;
            continue;
        }
        ULONG t = (ULONG)(ntos_test_rand(&rng) % MODEL_TAGS);
        SIZE_T n = model_size(&rng);
        ULONG api = (ULONG)(ntos_test_rand(&rng) % 8);
        BOOLEAN paged = FALSE, zeroed = FALSE, cacheAligned = FALSE;
        PUCHAR p = NULL;
        switch (api) {
        case 0:
            p = ExAllocatePoolWithTag(NonPagedPoolNx, n, model_tags[t]);
            break;
        case 1:
            p = ExAllocatePoolWithTag(PagedPool, n, model_tags[t]);
            paged = TRUE;
            break;
        case 2:
            p = ExAllocatePoolWithTag(NonPagedPoolCacheAligned, n, model_tags[t]);
            cacheAligned = TRUE;
            break;
        case 3:
            p = ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_CACHE_ALIGNED, n, model_tags[t]);
            paged = zeroed = cacheAligned = TRUE;
            break;
        case 4:
            p = ExAllocatePool2(POOL_FLAG_NON_PAGED_EXECUTE, n, model_tags[t]);
            zeroed = TRUE;
            break;
        case 5:
            p = ExAllocatePoolZero(PagedPoolCacheAligned, n, model_tags[t]);
            paged = zeroed = cacheAligned = TRUE;
            break;
        case 6:
            p = ExAllocatePoolWithQuotaTag((POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), n,
                                           model_tags[t]);
            break;
        default:
            p = ExAllocatePoolWithTagPriority(NonPagedPoolSession, n, model_tags[t], NormalPoolPriority);
            break;
        }
        assert_non_null(p);
        /* Alignment, as documented and as asked. */
        if (n > EX_POOL_SMALL_MAXIMUM - (cacheAligned ? 48 : 0))
            assert_int_equal((ULONG_PTR)p & 0xFFF, 0);
        else
            assert_true(same_page(p, n));
        assert_int_equal((ULONG_PTR)p & (cacheAligned ? 63 : 15), 0);
        assert_true(ExQueryPoolBlockSize(p, NULL) >= n);
        if (zeroed && !all_zero(p, n))
            fail_msg("op %u: %llu bytes not zeroed", op, (unsigned long long)n);
        /* No overlap with any live block. */
        for (ULONG k = 0; k < MODEL_SLOTS; k++) {
            if (model[k].p != NULL && p < model[k].p + model[k].n && model[k].p < p + n)
                fail_msg("op %u: %p+%llu overlaps %p+%llu", op, p, (unsigned long long)n, model[k].p,
                         (unsigned long long)model[k].n);
        }
        m->p = p;
        m->n = n;
        m->tag = model_tags[t];
        m->paged = paged;
        m->seed = (UCHAR)ntos_test_rand(&rng);
        fill(p, n, m->seed);
        allocs[t][paged]++;
        live++;
        /* Now and then, everything still intact. */
        if (op % 512 == 0) {
            for (ULONG k = 0; k < MODEL_SLOTS; k++) {
                if (model[k].p != NULL && !check_fill(model[k].p, model[k].n, model[k].seed))
                    fail_msg("op %u: block %p changed", op, model[k].p);
            }
            /* The accounting agrees with the model: in-use counts per tag. */
            for (ULONG tt = 0; tt < MODEL_TAGS; tt++) {
                for (ULONG pp = 0; pp < 2; pp++) {
                    ULONG64 inUse = 0;
                    for (ULONG k = 0; k < MODEL_SLOTS; k++)
                        inUse += model[k].p != NULL && model[k].tag == model_tags[tt] && model[k].paged == pp;
                    usage u = tag_usage(model_tags[tt], pp ? PagedPool : NonPagedPool);
                    assert_int_equal((u.allocs - before[tt][pp].allocs) - (u.frees - before[tt][pp].frees),
                                     inUse);
                    assert_int_equal(u.allocs - before[tt][pp].allocs, allocs[tt][pp]);
                }
            }
        }
    }
    /* Free the rest in a random order. */
    while (live != 0) {
        ULONG slot = (ULONG)(ntos_test_rand(&rng) % MODEL_SLOTS);
        if (model[slot].p != NULL) {
            model_free(slot, TRUE);
            live--;
        }
    }
    for (ULONG t = 0; t < MODEL_TAGS; t++) {
        assert_balanced(model_tags[t], NonPagedPool, before[t][0], allocs[t][0]);
        assert_balanced(model_tags[t], PagedPool, before[t][1], allocs[t][1]);
    }
}

/* ---- stress on every processor --------------------------------------------------------------------------- */

#define STRESS_THREADS_MAX 8
#define STRESS_ITERATIONS 2500
#define STRESS_EXCHANGE 32
#define STRESS_TAG_PAGED TAG('S', 't', 'r', 'P')
#define STRESS_TAG_NONPAGED TAG('S', 't', 'r', 'N')
#define STRESS_TAG_DPC TAG('S', 't', 'r', 'D')

static KTHREAD stress_threads[STRESS_THREADS_MAX];
static KDPC stress_dpcs[STRESS_THREADS_MAX];
static PVOID volatile stress_exchange[STRESS_EXCHANGE];
static volatile LONG stress_violations;
static volatile LONG stress_dpc_runs;

/* A stress block records its size and tag in its first 16 bytes and is
 * filled with a pattern derived from its address after that. */
static PVOID stress_alloc(uint64_t *rng, BOOLEAN paged)
{
    SIZE_T n = 16 + ntos_test_rand(rng) % ((ntos_test_rand(rng) % 8) == 0 ? 3 * 4096 : 512);
    ULONG tag = paged ? STRESS_TAG_PAGED : STRESS_TAG_NONPAGED;
    POOL_TYPE type = paged ? PagedPool : ((ntos_test_rand(rng) & 1) ? NonPagedPoolNx : NonPagedPoolCacheAligned);
    PULONG64 p = ExAllocatePoolWithTag(type, n, tag);
    if (p == NULL) {
        __atomic_fetch_add(&stress_violations, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    p[0] = n;
    p[1] = tag;
    fill(p + 2, n - 16, (UCHAR)((ULONG_PTR)p >> 4));
    return p;
}

static void stress_free(PVOID block)
{
    PULONG64 p = block;
    SIZE_T n = p[0];
    ULONG tag = (ULONG)p[1];
    if ((tag != STRESS_TAG_PAGED && tag != STRESS_TAG_NONPAGED && tag != STRESS_TAG_DPC) ||
        !check_fill(p + 2, n - 16, (UCHAR)((ULONG_PTR)p >> 4)))
        __atomic_fetch_add(&stress_violations, 1, __ATOMIC_RELAXED);
    ExFreePoolWithTag(p, tag);
}

static VOID NTAPI stress_dpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    uint64_t rng = (uint64_t)(ULONG_PTR)Context * 0x9E3779B97F4A7C15ULL +
                   (uint64_t)__atomic_load_n(&stress_dpc_runs, __ATOMIC_RELAXED);
    PULONG64 blocks[4];
    for (ULONG i = 0; i < 4; i++) {
        SIZE_T n = 16 + ntos_test_rand(&rng) % 700;
        blocks[i] = ExAllocatePoolWithTag(NonPagedPoolNx, n, STRESS_TAG_DPC);
        if (blocks[i] == NULL) {
            __atomic_fetch_add(&stress_violations, 1, __ATOMIC_RELAXED);
            return;
        }
        blocks[i][0] = n;
        blocks[i][1] = STRESS_TAG_DPC;
        fill(blocks[i] + 2, n - 16, (UCHAR)((ULONG_PTR)blocks[i] >> 4));
    }
    for (ULONG i = 0; i < 4; i++)
        stress_free(blocks[i]);
    __atomic_fetch_add(&stress_dpc_runs, 1, __ATOMIC_RELAXED);
}

static VOID NTAPI stress_thread(PVOID Context)
{
    ULONG id = (ULONG)(ULONG_PTR)Context;
    uint64_t rng = 0xABCDEF12345ULL * (id + 1);
    PVOID mine[16] = {0};
    for (ULONG i = 0; i < STRESS_ITERATIONS; i++) {
        ULONG op = (ULONG)(ntos_test_rand(&rng) % 16);
        ULONG k = (ULONG)(ntos_test_rand(&rng) % RTL_NUMBER_OF(mine));
        if (op < 6) {
            /* Keep or replace a private block. */
            if (mine[k] != NULL)
                stress_free(mine[k]);
            mine[k] = stress_alloc(&rng, (op & 1) != 0);
        } else if (op < 10) {
            /* Hand a block to whichever thread takes it next, maybe on another
             * processor, and free what was there. */
            PVOID b = stress_alloc(&rng, (op & 1) != 0);
            PVOID old = __atomic_exchange_n(&stress_exchange[ntos_test_rand(&rng) % STRESS_EXCHANGE], b,
                                            __ATOMIC_ACQ_REL);
            if (old != NULL)
                stress_free(old);
        } else if (op < 14) {
            /* Nonpaged work at DISPATCH_LEVEL, interleaved with our own DPC. */
            KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
            KeInsertQueueDpc(&stress_dpcs[id], NULL, NULL);
            PVOID a = stress_alloc(&rng, FALSE);
            PVOID b = stress_alloc(&rng, FALSE);
            if (a)
                stress_free(a);
            if (b)
                stress_free(b);
            KeLowerIrql(old);
        } else {
            arch_pause();
        }
    }
    for (ULONG k = 0; k < RTL_NUMBER_OF(mine); k++) {
        if (mine[k] != NULL)
            stress_free(mine[k]);
    }
}

static void pool_stress_every_processor(void **state)
{
    usage p0 = tag_usage(STRESS_TAG_PAGED, PagedPool);
    usage n0 = tag_usage(STRESS_TAG_NONPAGED, NonPagedPool);
    usage d0 = tag_usage(STRESS_TAG_DPC, NonPagedPool);
    ULONG threads = arch_processor_count() * 2;
    if (threads > STRESS_THREADS_MAX)
        threads = STRESS_THREADS_MAX;
    stress_violations = 0;
    stress_dpc_runs = 0;
    for (ULONG i = 0; i < threads; i++)
        KeInitializeDpc(&stress_dpcs[i], stress_dpc, (PVOID)(ULONG_PTR)(i + 1));
    for (ULONG i = 0; i < threads; i++)
        kt_start(&stress_threads[i], stress_thread, (PVOID)(ULONG_PTR)i, 8);
    for (ULONG i = 0; i < threads; i++)
        kt_join(&stress_threads[i]);
    KeFlushQueuedDpcs();
    for (ULONG i = 0; i < STRESS_EXCHANGE; i++) {
        PVOID b = __atomic_exchange_n(&stress_exchange[i], NULL, __ATOMIC_ACQ_REL);
        if (b != NULL)
            stress_free(b);
    }
    assert_int_equal(stress_violations, 0);
    assert_true(stress_dpc_runs > 0);
    usage p1 = tag_usage(STRESS_TAG_PAGED, PagedPool);
    usage n1 = tag_usage(STRESS_TAG_NONPAGED, NonPagedPool);
    usage d1 = tag_usage(STRESS_TAG_DPC, NonPagedPool);
    assert_int_equal(p1.allocs - p0.allocs, p1.frees - p0.frees);
    assert_int_equal(n1.allocs - n0.allocs, n1.frees - n0.frees);
    assert_int_equal(d1.allocs - d0.allocs, d1.frees - d0.frees);
    assert_int_equal(d1.allocs - d0.allocs, (ULONG64)stress_dpc_runs * 4);
    assert_int_equal(p1.bytes, p0.bytes);
    assert_int_equal(n1.bytes, n0.bytes);
    assert_int_equal(d1.bytes, d0.bytes);
    assert_true(p1.allocs > p0.allocs);
    assert_true(n1.allocs > n0.allocs);
}

static const struct CMUnitTest pool_tests[] = {
    cmocka_unit_test(pool_layouts_and_values),
    cmocka_unit_test(pool_small_blocks),
    cmocka_unit_test(pool_every_small_size),
    cmocka_unit_test(pool_big_blocks),
    cmocka_unit_test(pool_small_big_threshold),
    cmocka_unit_test(pool_every_pool_type),
    cmocka_unit_test(pool_cache_aligned),
    cmocka_unit_test(pool_zeroing),
    cmocka_unit_test(pool_allocate_pool_uses_none_tag),
    cmocka_unit_test(pool_quota),
    cmocka_unit_test(pool_out_of_memory),
    cmocka_unit_test(pool2_rejects_invalid_requests),
    cmocka_unit_test(pool3_extended_parameters),
    cmocka_unit_test(pool_with_tag_priority),
    cmocka_unit_test(pool_raised_irql_within_rules),
    cmocka_unit_test(pool_bad_requests_bugcheck),
    cmocka_unit_test(pool_bad_irql_bugchecks),
    cmocka_unit_test(pool_bad_frees_bugcheck),
    cmocka_unit_test(pool_corrupt_headers_bugcheck),
    cmocka_unit_test(pool_interior_addresses_bugcheck),
    cmocka_unit_test(pool_first_block_of_a_page),
#ifndef TEST_ASAN
    cmocka_unit_test(pool_free_block_modified_bugchecks),
#endif
    cmocka_unit_test(pool_asan_poisons_slack_and_free_blocks),
    cmocka_unit_test(pool_tag_accounting),
    cmocka_unit_test(pool_many_tags),
    cmocka_unit_test(pool_dump_usage),
    cmocka_unit_test(pool_is_the_rtl_hook),
    cmocka_unit_test(pool_property_against_model),
    cmocka_unit_test(pool_stress_every_processor),
};

NTOS_TEST_GROUP(ex_pool, pool_tests, pool_setup, NULL);
