/*
 * Executive pool and lookaside lists: POOL_TYPE, POOL_FLAGS, the extended
 * parameters of ExAllocatePool3, the x64 POOL_HEADER and lookaside layouts
 * (pinned below), the allocation entry points and ntos's pool accounting.
 *
 * Behaviour the WDK leaves open, as ntos implements it:
 *  - Blocks of up to EX_POOL_SMALL_MAXIMUM bytes (4064) carry a 16-byte
 *    POOL_HEADER right before the returned pointer and never cross a page;
 *    anything larger is whole pages, page aligned, with no header in front
 *    (tracked in a table keyed by address, like NT's big-page table).
 *  - Misuse that NT catches only under Driver Verifier is a bug check here,
 *    always on (the same policy as ex_sync.h): a zero-byte request, a tag with
 *    no letter or digit, an undefined pool type. The codes are listed below.
 *  - An allocation that cannot be satisfied and must raise (POOL_FLAG_RAISE_ON_FAILURE,
 *    POOL_RAISE_IF_ALLOCATION_FAILURE, quota allocations without
 *    POOL_QUOTA_FAIL_INSTEAD_OF_RAISE) raises STATUS_INSUFFICIENT_RESOURCES
 *    (STATUS_INVALID_PARAMETER for rejected arguments of ExAllocatePool2/3).
 *    as a noncontinuable exception with ExceptionInformation = (bytes, tag); an
 *    unhandled one is KMODE_EXCEPTION_NOT_HANDLED (status, address, bytes, tag).
 *  - Paged pool is resident (nothing pages yet); its IRQL rules are enforced.
 *  - Quota is recorded (ExQueryPoolBlockSize reports it) but not charged: there
 *    are no process quotas yet.
 */
#ifndef NTOS_EX_POOL_H
#define NTOS_EX_POOL_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/bugcodes.h>
#include <ntos/ke.h>
#include <ntos/ex_lists.h>

#ifndef STATUS_INVALID_PARAMETER_5
#define STATUS_INVALID_PARAMETER_5 ((NTSTATUS)0xC00000F3L)
#endif

/* ---- pool types (wdm.h values) ------------------------------------------------------ */

typedef enum _POOL_TYPE {
    NonPagedPool = 0,
    NonPagedPoolExecute = 0,
    PagedPool = 1,
    NonPagedPoolMustSucceed = 2,
    DontUseThisType = 3,
    NonPagedPoolCacheAligned = 4,
    PagedPoolCacheAligned = 5,
    NonPagedPoolCacheAlignedMustS = 6,
    MaxPoolType = 7,
    NonPagedPoolBase = 0,
    NonPagedPoolBaseMustSucceed = 2,
    NonPagedPoolBaseCacheAligned = 4,
    NonPagedPoolBaseCacheAlignedMustS = 6,
    NonPagedPoolSession = 32,
    PagedPoolSession = 33,
    NonPagedPoolMustSucceedSession = 34,
    DontUseThisTypeSession = 35,
    NonPagedPoolCacheAlignedSession = 36,
    PagedPoolCacheAlignedSession = 37,
    NonPagedPoolCacheAlignedMustSSession = 38,
    NonPagedPoolNx = 512,
    NonPagedPoolNxCacheAligned = 516,
    NonPagedPoolSessionNx = 544,
} POOL_TYPE;

/* Modifier bits ORed into a POOL_TYPE. */
#define BASE_POOL_TYPE_MASK 1
#define POOL_TYPE_CACHE_ALIGNED_BIT 4  /* ntos name for the CacheAligned bit of the values above */
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16
#define POOL_TYPE_SESSION_BIT 32       /* ntos name for the Session bit of the values above */
#define POOL_COLD_ALLOCATION 256
#define POOL_NX_ALLOCATION 512
#define POOL_ZERO_ALLOCATION 1024

#define PROTECTED_POOL 0x80000000

/* ---- POOL_FLAGS for ExAllocatePool2/3 ------------------------------------------------------ */

typedef ULONG64 POOL_FLAGS;

/* Low 32 bits: required (unknown ones make the allocation fail); high 32 bits: optional. */
#define POOL_FLAG_REQUIRED_START       0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA            0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED        0x0000000000000002ULL
#define POOL_FLAG_SESSION              0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED        0x0000000000000008ULL
#define POOL_FLAG_RESERVED1            0x0000000000000010ULL
#define POOL_FLAG_RAISE_ON_FAILURE     0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED            0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE    0x0000000000000080ULL
#define POOL_FLAG_PAGED                0x0000000000000100ULL
#define POOL_FLAG_RESERVED2            0x0000000000000200ULL
#define POOL_FLAG_RESERVED3            0x0000000000000400ULL
#define POOL_FLAG_LAST_KNOWN_REQUIRED  POOL_FLAG_RESERVED3
#define POOL_FLAG_REQUIRED_END         0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START       0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL         0x0000000100000000ULL
#define POOL_FLAG_OPTIONAL_END         0x8000000000000000ULL

/* ---- priorities and extended parameters ---------------------------------------------------- */

typedef enum _EX_POOL_PRIORITY {
    LowPoolPriority = 0,
    LowPoolPrioritySpecialPoolOverrun = 8,
    LowPoolPrioritySpecialPoolUnderrun = 9,
    NormalPoolPriority = 16,
    NormalPoolPrioritySpecialPoolOverrun = 24,
    NormalPoolPrioritySpecialPoolUnderrun = 25,
    HighPoolPriority = 32,
    HighPoolPrioritySpecialPoolOverrun = 40,
    HighPoolPrioritySpecialPoolUnderrun = 41,
} EX_POOL_PRIORITY;

typedef enum _POOL_EXTENDED_PARAMETER_TYPE {
    PoolExtendedParameterInvalidType = 0,
    PoolExtendedParameterPriority,
    PoolExtendedParameterSecurePool,
    PoolExtendedParameterNumaNode,
    PoolExtendedParameterMax,
} POOL_EXTENDED_PARAMETER_TYPE, *PPOOL_EXTENDED_PARAMETER_TYPE;

#define POOL_EXTENDED_PARAMETER_TYPE_BITS 8
#define POOL_EXTENDED_PARAMETER_REQUIRED_FIELD_BITS 1
#define POOL_EXTENDED_PARAMETER_RESERVED_BITS \
    (64 - POOL_EXTENDED_PARAMETER_TYPE_BITS - POOL_EXTENDED_PARAMETER_REQUIRED_FIELD_BITS)

typedef ULONG POOL_NODE_REQUIREMENT;
#define MM_ANY_NODE_OK 0x80000000

struct _POOL_EXTENDED_PARAMS_SECURE_POOL;

typedef struct _POOL_EXTENDED_PARAMETER {
    struct {
        ULONG64 Type : POOL_EXTENDED_PARAMETER_TYPE_BITS;
        ULONG64 Optional : POOL_EXTENDED_PARAMETER_REQUIRED_FIELD_BITS;
        ULONG64 Reserved : POOL_EXTENDED_PARAMETER_RESERVED_BITS;
    };
    union {
        ULONG64 Reserved2;
        PVOID Reserved3;
        EX_POOL_PRIORITY Priority;
        struct _POOL_EXTENDED_PARAMS_SECURE_POOL *SecurePoolParams;
        POOL_NODE_REQUIREMENT PreferredNode;
    };
} POOL_EXTENDED_PARAMETER, *PPOOL_EXTENDED_PARAMETER;
typedef const POOL_EXTENDED_PARAMETER *PCPOOL_EXTENDED_PARAMETER;
NTOS_ASSERT_SIZE(POOL_EXTENDED_PARAMETER, 16);

/* ---- the pool header (x64) ----------------------------------------------------------------- */

/*
 * BlockSize and PreviousSize count 16-byte units including the header;
 * PoolType is 0 for a free block. ntos encodes PoolType as
 * (base type + 1) | EX_POOL_HEADER_* below and keeps the size-class index in
 * PoolIndex; the layout is NT's, the values are ntos's own.
 */
typedef struct _POOL_HEADER {
    union {
        struct {
            UCHAR PreviousSize;
            UCHAR PoolIndex;
            UCHAR BlockSize;
            UCHAR PoolType;
        };
        ULONG Ulong1;
    };
    ULONG PoolTag;
    union {
        PVOID ProcessBilled;
        struct {
            USHORT AllocatorBackTraceIndex;
            USHORT PoolTagHash;
        };
    };
} POOL_HEADER, *PPOOL_HEADER;
NTOS_ASSERT_SIZE(POOL_HEADER, 16);
NTOS_ASSERT_OFFSET(POOL_HEADER, PoolTag, 4);
NTOS_ASSERT_OFFSET(POOL_HEADER, ProcessBilled, 8);
NTOS_ASSERT_OFFSET(POOL_HEADER, PoolTagHash, 10);

#define POOL_BLOCK_SHIFT 4
#define POOL_OVERHEAD ((LONG)sizeof(POOL_HEADER))
#define EX_POOL_HEADER_NONPAGED 0x01 /* base NonPagedPool + 1 */
#define EX_POOL_HEADER_PAGED 0x02    /* base PagedPool + 1 */
#define EX_POOL_HEADER_BASE_MASK 0x03
#define EX_POOL_HEADER_NX 0x04       /* nonpaged, no-execute */
#define EX_POOL_HEADER_QUOTA 0x08    /* allocated with quota (NT's POOL_QUOTA_MASK) */
#define EX_POOL_HEADER_ALIGNED 0x10  /* a cache-alignment header: PreviousSize units back is the block's own */
#define EX_POOL_HEADER_SESSION 0x20

/* The largest request served from a small block (it and its header fill 255 units). */
#define EX_POOL_SMALL_MAXIMUM 4064

/* ---- bug checks raised by the pool -----------------------------------------------------------
 * BAD_POOL_CALLER (0xC2), parameter 1 and the rest, as documented (ntos uses
 * the documented subcode that fits the case; "ntos" marks where the page
 * left the choice open):
 *   0x00 zero-byte request:                  0, pool type, tag
 *   0x01 header's PoolType contradicts its page (corrupt): header, header ULONG, 0
 *   0x07 free of a block already free:       0, header ULONG, address
 *   0x08 allocation at a bad IRQL:           IRQL, pool type, bytes
 *   0x09 free at a bad IRQL:                 IRQL, pool type, address
 *   0x0A ExFreePoolWithTag with another tag: address, allocator's tag, tag passed
 *   0x42 free of an address outside every pool page (NULL included): address, 0, 0
 *   0x46 free of a pool address that is not a block's start: address, 0, 0
 *   0x9A pool type the pool does not serve: MustSucceed types (documented) and
 *        undefined values/bits (ntos): pool type, bytes, tag
 *   0x9B tag 0 (allocation routines that take a tag; ExAllocatePool2/3 return
 *        NULL instead, as documented): pool type, bytes, caller
 *   0x9D tag without a letter or digit: tag, pool type, caller
 * BAD_POOL_HEADER (0x19):
 *   0x05 PreviousSize contradicts the block before: header, 0, previous header
 *   0x08 BlockSize zero: 0, 0, header
 *   0x0D a free block's header changed while it was free: header, header ULONG, 0
 *   0x20 BlockSize/PoolIndex contradict the page's size class: header, next header, 0
 *   0x22 page-aligned address with no big-page tracking entry (double free or
 *        never allocated): address, 0, 0
 */
#define EX_POOL_BC_ZERO_SIZE 0x00
#define EX_POOL_BC_CORRUPT_TYPE 0x01
#define EX_POOL_BC_DOUBLE_FREE 0x07
#define EX_POOL_BC_ALLOCATE_IRQL 0x08
#define EX_POOL_BC_FREE_IRQL 0x09
#define EX_POOL_BC_WRONG_TAG 0x0A
#define EX_POOL_BC_NOT_POOL 0x42
#define EX_POOL_BC_BAD_ADDRESS 0x46
#define EX_POOL_BC_BAD_POOL_TYPE 0x9A
#define EX_POOL_BC_ZERO_TAG 0x9B
#define EX_POOL_BC_BAD_TAG 0x9D
#define EX_POOL_BH_PREVIOUS_SIZE 0x05
#define EX_POOL_BH_ZERO_SIZE 0x08
#define EX_POOL_BH_FREE_MODIFIED 0x0D
#define EX_POOL_BH_BLOCK_SIZE 0x20
#define EX_POOL_BH_NO_BIG_ENTRY 0x22

/* ---- allocation and free --------------------------------------------------------------------
 * IRQL: paged pool <= APC_LEVEL, nonpaged pool <= DISPATCH_LEVEL, for both
 * allocation and free. */

/* The tag ExAllocatePool and ExAllocatePoolWithQuota record: "None" in a pool dump. */
#define EX_POOL_TAG_NONE 0x656E6F4E

NTKERNELAPI PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
NTKERNELAPI PVOID NTAPI ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
NTKERNELAPI PVOID NTAPI ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                                      EX_POOL_PRIORITY Priority);
NTKERNELAPI PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                                        PCPOOL_EXTENDED_PARAMETER ExtendedParameters,
                                        ULONG ExtendedParametersCount);
/* WDK inlines, exported as functions too. */
NTKERNELAPI PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePoolPriorityZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                                   EX_POOL_PRIORITY Priority);
NTKERNELAPI PVOID NTAPI ExAllocatePoolPriorityUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                                            EX_POOL_PRIORITY Priority);

/* Tag 0 skips the tag check. */
NTKERNELAPI VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag);
NTKERNELAPI VOID NTAPI ExFreePool(PVOID P);
/*
 * Bytes usable from PoolBlock to the end of its block (at least what was
 * requested; the rest of the block becomes usable too, so under ASan its slack
 * is unpoisoned by asking). QuotaCharged (optional) says whether the block
 * was allocated with quota.
 */
NTKERNELAPI SIZE_T NTAPI ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged);

/* Kernel-internal. Installs the pool as the Rtl pool hook (RtlpSetPoolHooks)
 * and sets up its accounting tables; called at boot after MmInitSystem, at
 * PASSIVE_LEVEL. Later calls do nothing. The pool itself works before this
 * (its structures start empty and fill on demand). */
VOID ExInitializePool(void);

/* ---- accounting by tag ----------------------------------------------------------------------
 * Per (tag, paged|nonpaged): allocations, frees and bytes in use, where bytes
 * are whole blocks (header included) or whole pages, as poolmon counts them.
 * Counters are per processor and summed on query, so a query that races with
 * allocations sees each processor's counters at some point of its own. */

typedef struct _EX_POOL_TAG_USAGE {
    ULONG Tag;
    ULONG Reserved;
    ULONG64 PagedAllocs;
    ULONG64 PagedFrees;
    ULONG64 PagedBytes;
    ULONG64 NonPagedAllocs;
    ULONG64 NonPagedFrees;
    ULONG64 NonPagedBytes;
} EX_POOL_TAG_USAGE, *PEX_POOL_TAG_USAGE;

/* Type: any paged type counts as PagedPool, every other as nonpaged. Outputs
 * may be NULL. STATUS_NOT_FOUND (outputs zero) if the tag was never used. */
NTSTATUS ExQueryPoolTagUsage(ULONG Tag, POOL_TYPE Type, PULONG64 Allocs, PULONG64 Frees, PULONG64 BytesInUse);
/* Every tag ever used, one entry per tag. *Returned gets the number of tags;
 * STATUS_BUFFER_TOO_SMALL if that exceeds Count (the first Count are filled). */
NTSTATUS ExQueryPoolTagSnapshot(PEX_POOL_TAG_USAGE Buffer, ULONG Count, PULONG Returned);
/* Prints the tags with any use as a table through DbgPrint. */
VOID ExDumpPoolUsage(void);

/* ---- lookaside lists ----------------------------------------------------------------------- */

struct _LOOKASIDE_LIST_EX;

typedef PVOID(NTAPI *PALLOCATE_FUNCTION)(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
typedef VOID(NTAPI *PFREE_FUNCTION)(PVOID Buffer);
typedef PVOID(NTAPI *PALLOCATE_FUNCTION_EX)(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                            struct _LOOKASIDE_LIST_EX *Lookaside);
typedef VOID(NTAPI *PFREE_FUNCTION_EX)(PVOID Buffer, struct _LOOKASIDE_LIST_EX *Lookaside);

/* The fields shared by every lookaside layout (x64 offsets in the asserts). */
#define EXP_GENERAL_LOOKASIDE_FIELDS                                                  \
    union {                                                                           \
        SLIST_HEADER ListHead;                                                        \
        SINGLE_LIST_ENTRY SingleListHead;                                             \
    };                                                                                \
    USHORT Depth;                                                                     \
    USHORT MaximumDepth;                                                              \
    ULONG TotalAllocates;                                                             \
    union {                                                                           \
        ULONG AllocateMisses;                                                         \
        ULONG AllocateHits;                                                           \
    };                                                                                \
    ULONG TotalFrees;                                                                 \
    union {                                                                           \
        ULONG FreeMisses;                                                             \
        ULONG FreeHits;                                                               \
    };                                                                                \
    POOL_TYPE Type;                                                                   \
    ULONG Tag;                                                                        \
    ULONG Size;                                                                       \
    union {                                                                           \
        PALLOCATE_FUNCTION_EX AllocateEx;                                             \
        PALLOCATE_FUNCTION Allocate;                                                  \
    };                                                                                \
    union {                                                                           \
        PFREE_FUNCTION_EX FreeEx;                                                     \
        PFREE_FUNCTION Free;                                                          \
    };                                                                                \
    LIST_ENTRY ListEntry;                                                             \
    ULONG LastTotalAllocates;                                                         \
    union {                                                                           \
        ULONG LastAllocateMisses;                                                     \
        ULONG LastAllocateHits;                                                       \
    };                                                                                \
    ULONG Future[2]

/* Cache-line aligned: 0x60 bytes of fields padded to 0x80. */
typedef struct DECLSPEC_ALIGN(64) _GENERAL_LOOKASIDE {
    EXP_GENERAL_LOOKASIDE_FIELDS;
} GENERAL_LOOKASIDE, *PGENERAL_LOOKASIDE;

typedef struct _GENERAL_LOOKASIDE_POOL {
    EXP_GENERAL_LOOKASIDE_FIELDS;
} GENERAL_LOOKASIDE_POOL, *PGENERAL_LOOKASIDE_POOL;

NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Depth, 0x10);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, MaximumDepth, 0x12);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, TotalAllocates, 0x14);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, AllocateMisses, 0x18);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, TotalFrees, 0x1C);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, FreeMisses, 0x20);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Type, 0x24);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Tag, 0x28);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Size, 0x2C);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Allocate, 0x30);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Free, 0x38);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, ListEntry, 0x40);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, LastTotalAllocates, 0x50);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, LastAllocateMisses, 0x54);
NTOS_ASSERT_OFFSET(GENERAL_LOOKASIDE, Future, 0x58);
NTOS_ASSERT_SIZE(GENERAL_LOOKASIDE, 0x80);
NTOS_ASSERT_SIZE(GENERAL_LOOKASIDE_POOL, 0x60);

typedef struct _NPAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} NPAGED_LOOKASIDE_LIST, *PNPAGED_LOOKASIDE_LIST;

typedef struct _PAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} PAGED_LOOKASIDE_LIST, *PPAGED_LOOKASIDE_LIST;

typedef struct _LOOKASIDE_LIST_EX {
    GENERAL_LOOKASIDE_POOL L;
} LOOKASIDE_LIST_EX, *PLOOKASIDE_LIST_EX;

NTOS_ASSERT_SIZE(NPAGED_LOOKASIDE_LIST, 0x80);
NTOS_ASSERT_SIZE(PAGED_LOOKASIDE_LIST, 0x80);
NTOS_ASSERT_SIZE(LOOKASIDE_LIST_EX, 0x60);

#define LOOKASIDE_MINIMUM_BLOCK_SIZE (RTL_FIELD_SIZE(SLIST_ENTRY, Next))
#define EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL 0x00000001UL
#define EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE 0x00000002UL
#define EX_MAXIMUM_LOOKASIDE_DEPTH_BASE 256   /* MaximumDepth of every list */
#define EX_MINIMUM_LOOKASIDE_DEPTH 4          /* Depth of a new list */

/*
 * IRQL: nonpaged and LOOKASIDE_LIST_EX lists of nonpaged entries <= DISPATCH_LEVEL,
 * paged ones <= APC_LEVEL (BAD_POOL_CALLER 0x08/0x09 with the list's pool
 * type otherwise). The list itself is lock-free (SLIST); custom Allocate/Free
 * routines are called without any lock held.
 */
NTKERNELAPI VOID NTAPI ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                                       PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag,
                                                       USHORT Depth);
NTKERNELAPI VOID NTAPI ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI PVOID NTAPI ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI VOID NTAPI ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry);

NTKERNELAPI VOID NTAPI ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                                      PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag,
                                                      USHORT Depth);
NTKERNELAPI VOID NTAPI ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI PVOID NTAPI ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI VOID NTAPI ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry);

NTKERNELAPI NTSTATUS NTAPI ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                                       PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags,
                                                       SIZE_T Size, ULONG Tag, USHORT Depth);
NTKERNELAPI VOID NTAPI ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
NTKERNELAPI PVOID NTAPI ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
NTKERNELAPI VOID NTAPI ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry);
NTKERNELAPI VOID NTAPI ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);

/*
 * Kernel-internal: re-tunes the Depth of every registered lookaside list from
 * its hit rate since the last scan (NT does this once a second from the
 * balance set manager; ntos lists also re-tune themselves every
 * EX_LOOKASIDE_RETUNE_ALLOCATES allocations). <= DISPATCH_LEVEL.
 */
#define EX_LOOKASIDE_RETUNE_ALLOCATES 256
VOID ExAdjustLookasideDepth(void);
/* Number of lookaside lists currently registered (initialized, not deleted). */
ULONG ExQueryLookasideListCount(void);

#endif /* NTOS_EX_POOL_H */
