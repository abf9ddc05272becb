/*
 * The pool hook used by Rtl functions that allocate.
 *
 * Rtl sits below the executive, so it cannot name the pool directly: the
 * backend installs a boot-time allocator, the executive replaces it with the
 * real pool once that is initialised, and tests wrap it to count or fail
 * allocations. Without a hook every allocation fails (STATUS_NO_MEMORY to the
 * caller), never crashes.
 */
#include <ntos/rtl.h>

static PRTLP_POOL_ALLOCATE RtlpPoolAllocate;
static PRTLP_POOL_FREE RtlpPoolFree;

VOID RtlpSetPoolHooks(PRTLP_POOL_ALLOCATE Allocate, PRTLP_POOL_FREE Free)
{
    RtlpPoolAllocate = Allocate;
    RtlpPoolFree = Free;
}

VOID RtlpGetPoolHooks(PRTLP_POOL_ALLOCATE *Allocate, PRTLP_POOL_FREE *Free)
{
    *Allocate = RtlpPoolAllocate;
    *Free = RtlpPoolFree;
}

PVOID RtlpAllocatePool(SIZE_T NumberOfBytes, ULONG Tag)
{
    PRTLP_POOL_ALLOCATE allocate = RtlpPoolAllocate;
    return allocate ? allocate(NumberOfBytes, Tag) : NULL;
}

VOID RtlpFreePool(PVOID P, ULONG Tag)
{
    PRTLP_POOL_FREE release = RtlpPoolFree;
    if (P != NULL && release != NULL)
        release(P, Tag);
}
