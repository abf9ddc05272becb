/*
 * Memory descriptor lists: the MDL with its documented x64 layout, the
 * MDL_* flags, the WDK's inline accessors and the Io/Mm routines that build,
 * lock, map and free MDLs (src/mm/mdl.c).
 *
 * An MDL is a header followed by one PFN_NUMBER per page the buffer spans
 * (StartVa .. StartVa + ByteOffset + ByteCount), in virtual-page order.
 *
 * What is not there yet: user-mode buffers (MmProbeAndLockPages accepts only
 * system-range addresses; a user address is an access violation), mapping
 * into a user process, and IRPs (IoAllocateMdl accepts its Irp parameter and
 * ignores it until the I/O manager defines the IRP).
 */
#ifndef NTOS_MDL_H
#define NTOS_MDL_H

#include <ntos/mm.h>

struct _EPROCESS;
struct _IRP;
typedef struct _IRP *PIRP;

typedef struct _MDL {
    struct _MDL *Next;
    CSHORT Size;     /* bytes: the header plus its PFN array */
    CSHORT MdlFlags; /* MDL_* */
    USHORT AllocationProcessorNumber;
    USHORT Reserved;
    struct _EPROCESS *Process; /* owner of a user buffer; NULL for system buffers */
    PVOID MappedSystemVa;      /* valid with MDL_MAPPED_TO_SYSTEM_VA or MDL_SOURCE_IS_NONPAGED_POOL */
    PVOID StartVa;             /* page-aligned */
    ULONG ByteCount;
    ULONG ByteOffset;
} MDL, *PMDL;
typedef MDL *PMDLX;

_Static_assert(sizeof(MDL) == 0x30, "MDL header is 0x30 bytes on x64");
_Static_assert(__builtin_offsetof(MDL, Size) == 0x08, "MDL.Size");
_Static_assert(__builtin_offsetof(MDL, MdlFlags) == 0x0A, "MDL.MdlFlags");
_Static_assert(__builtin_offsetof(MDL, AllocationProcessorNumber) == 0x0C, "MDL.AllocationProcessorNumber");
_Static_assert(__builtin_offsetof(MDL, Reserved) == 0x0E, "MDL.Reserved");
_Static_assert(__builtin_offsetof(MDL, Process) == 0x10, "MDL.Process");
_Static_assert(__builtin_offsetof(MDL, MappedSystemVa) == 0x18, "MDL.MappedSystemVa");
_Static_assert(__builtin_offsetof(MDL, StartVa) == 0x20, "MDL.StartVa");
_Static_assert(__builtin_offsetof(MDL, ByteCount) == 0x28, "MDL.ByteCount");
_Static_assert(__builtin_offsetof(MDL, ByteOffset) == 0x2C, "MDL.ByteOffset");

#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008
#define MDL_PARTIAL 0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020
#define MDL_IO_PAGE_READ 0x0040
#define MDL_WRITE_OPERATION 0x0080
#define MDL_LOCKED_PAGE_TABLES 0x0100
#define MDL_PARENT_MAPPED_SYSTEM_VA MDL_LOCKED_PAGE_TABLES
#define MDL_FREE_EXTRA_PTES 0x0200
#define MDL_DESCRIBES_AWE 0x0400
#define MDL_IO_SPACE 0x0800
#define MDL_NETWORK_HEADER 0x1000
#define MDL_MAPPING_CAN_FAIL 0x2000
#define MDL_PAGE_CONTENTS_INVARIANT 0x4000
#define MDL_ALLOCATED_MUST_SUCCEED 0x4000
#define MDL_INTERNAL 0x8000

typedef enum _LOCK_OPERATION {
    IoReadAccess = 0,
    IoWriteAccess = 1,
    IoModifyAccess = 2
} LOCK_OPERATION;

typedef enum _MM_PAGE_PRIORITY {
    LowPagePriority = 0,
    NormalPagePriority = 16,
    HighPagePriority = 32
} MM_PAGE_PRIORITY;

/* ORed into the Priority of MmMapLockedPagesSpecifyCache / MmGetSystemAddressForMdlSafe. */
#define MdlMappingNoWrite 0x80000000
#define MdlMappingNoExecute 0x40000000

/* ---- inline accessors (as the WDK defines them) ------------------------------------------ */

static inline PPFN_NUMBER MmGetMdlPfnArray(PMDL Mdl)
{
    return (PPFN_NUMBER)(Mdl + 1);
}

static inline PVOID MmGetMdlVirtualAddress(PMDL Mdl)
{
    return (PVOID)((PUCHAR)Mdl->StartVa + Mdl->ByteOffset);
}

static inline ULONG MmGetMdlByteCount(PMDL Mdl)
{
    return Mdl->ByteCount;
}

static inline ULONG MmGetMdlByteOffset(PMDL Mdl)
{
    return Mdl->ByteOffset;
}

static inline PVOID MmGetMdlBaseVa(PMDL Mdl)
{
    return Mdl->StartVa;
}

/* Initialises an MDL the caller allocated (of at least MmSizeOfMdl bytes). */
static inline VOID MmInitializeMdl(PMDL Mdl, PVOID BaseVa, SIZE_T Length)
{
    Mdl->Next = NULL;
    Mdl->Size = (CSHORT)(sizeof(MDL) + sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES(BaseVa, Length));
    Mdl->MdlFlags = 0;
    Mdl->StartVa = PAGE_ALIGN(BaseVa);
    Mdl->ByteOffset = BYTE_OFFSET(BaseVa);
    Mdl->ByteCount = (ULONG)Length;
}

NTKERNELAPI PVOID NTAPI MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                                     MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                                     ULONG BugCheckOnFailure, ULONG Priority);
NTKERNELAPI VOID NTAPI MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList);

/* A system address for the buffer: the existing one for nonpaged-pool or
 * already mapped MDLs, else a new cached kernel mapping (NULL on failure). */
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
        return Mdl->MappedSystemVa;
    return MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE, Priority);
}

/* Readies a partial MDL for IoBuildPartialMdl again, unmapping what it mapped. */
static inline VOID MmPrepareMdlForReuse(PMDL Mdl)
{
    if ((Mdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) != 0)
        MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
}

/* ---- routines (src/mm/mdl.c) ----------------------------------------------------------- */

/* Bytes an MDL for [Base, Base + Length) needs. Any IRQL. */
NTKERNELAPI SIZE_T NTAPI MmSizeOfMdl(PVOID Base, SIZE_T Length);
/* An MDL from nonpaged pool describing [VirtualAddress, +Length), nothing
 * locked; NULL for a zero length, a length whose MDL would not fit the
 * CSHORT Size, or no memory. With an Irp, the MDL becomes Irp->MdlAddress,
 * or with SecondaryBuffer is appended to the IRP's MDL chain. ChargeQuota is
 * accepted and ignored. IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                                     BOOLEAN ChargeQuota, PIRP Irp);
/* Frees an MDL from IoAllocateMdl (unmapping a mapped partial MDL first).
 * The pages must already be unlocked. IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID NTAPI IoFreeMdl(PMDL Mdl);
/* TargetMdl describes [VirtualAddress, +Length) of SourceMdl's buffer
 * (Length 0: to its end), sharing its PFNs. Bug check TARGET_MDL_TOO_SMALL
 * (0x40) if the range is not inside the source or TargetMdl is too small. */
NTKERNELAPI VOID NTAPI IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length);
/* Fills the PFN array of an MDL for resident system memory (pool,
 * contiguous memory). IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);
/* Checks the buffer is accessible for Operation, fills the PFN array and
 * holds each page. A bad address raises STATUS_ACCESS_VIOLATION, which with
 * no kernel exception handling is KMODE_EXCEPTION_NOT_HANDLED
 * (STATUS_ACCESS_VIOLATION, the address, 0, 0). IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                           LOCK_OPERATION Operation);
/* Undoes MmProbeAndLockPages (and a system mapping still in place). */
NTKERNELAPI VOID NTAPI MmUnlockPages(PMDL MemoryDescriptorList);
/* Legacy form: cached, bug check NO_MORE_SYSTEM_PTES on failure. */
NTKERNELAPI PVOID NTAPI MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode);

#endif /* NTOS_MDL_H */
