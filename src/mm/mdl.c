/*
 * MDLs: MmSizeOfMdl, IoAllocateMdl, IoFreeMdl, IoBuildPartialMdl,
 * MmBuildMdlForNonPagedPool, MmProbeAndLockPages, MmUnlockPages,
 * MmMapLockedPagesSpecifyCache, MmMapLockedPages, MmUnmapLockedPages.
 *
 * Only system-range buffers exist so far: probing walks Mm's own page tables
 * (MiTranslate) and anything they do not map, user addresses included, is an
 * access violation. With no kernel exception handling yet, a raise is what an
 * unhandled one becomes: KMODE_EXCEPTION_NOT_HANDLED (as src/ke/semaphore.c).
 *
 * Locking a page takes a reference on its MMPFN (MiReferencePage), so the
 * page cannot go back to the free lists while the MDL holds it. Pages with no
 * active MMPFN (device space, or RAM mapped through MmMapIoSpace) cannot be
 * referenced; an MDL with any such page is marked MDL_IO_SPACE and holds no
 * page at all, so unlocking never has to guess which pages it referenced.
 *
 * Mappings made by MmMapLockedPagesSpecifyCache are system PTEs mapped page
 * by page (the PFN array is not physically contiguous), owner MiOwnerNone and
 * not marked as an allocation, so no other consumer's unmap accepts them.
 *
 * IRQL <= DISPATCH_LEVEL everywhere (IRQL_NOT_LESS_OR_EQUAL otherwise).
 */
#include "mi.h"
#include <ntos/mdl.h>
#include <ntos/io.h>
#include <ntos/ex_pool.h>
#include <ntos/bugcodes.h>

#ifndef TARGET_MDL_TOO_SMALL
#define TARGET_MDL_TOO_SMALL 0x00000040
#endif

#define MI_MDL_TAG 0x206C644D /* 'Mdl ' as it reads in a pool dump */

static SIZE_T MiMdlPages(PMDL Mdl)
{
    return ADDRESS_AND_SIZE_TO_SPAN_PAGES(Mdl->ByteOffset, Mdl->ByteCount);
}

SIZE_T NTAPI MmSizeOfMdl(PVOID Base, SIZE_T Length)
{
    return sizeof(MDL) + sizeof(PFN_NUMBER) * (SIZE_T)ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length);
}

PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
                         PIRP Irp)
{
    /* Quota is not charged anywhere in ntos yet. */
    (void)ChargeQuota;
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)VirtualAddress, (PVOID)IoAllocateMdl);
    if (Length == 0)
        return NULL;
    SIZE_T size = MmSizeOfMdl(VirtualAddress, Length);
    /* Size is a CSHORT: a bigger MDL could not record its own size. */
    if (size > 0x7FFF)
        return NULL;
    PMDL mdl = ExAllocatePoolWithTag(NonPagedPoolNx, size, MI_MDL_TAG);
    if (mdl == NULL)
        return NULL;
    MmInitializeMdl(mdl, VirtualAddress, Length);
    mdl->Process = NULL;
    mdl->MappedSystemVa = NULL;
    mdl->AllocationProcessorNumber = (USHORT)KeGetCurrentProcessorNumber();
    mdl->Reserved = 0;
    /* Tells IoBuildPartialMdl reuse and IoFreeMdl that the MDL came from here. */
    mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
    /* The documented IRP association: the IRP's MDL, or for a secondary
     * buffer the end of the IRP's MDL chain. */
    if (Irp != NULL) {
        if (!SecondaryBuffer) {
            Irp->MdlAddress = mdl;
        } else {
            PMDL *link = &Irp->MdlAddress;
            while (*link != NULL)
                link = &(*link)->Next;
            *link = mdl;
        }
    }
    return mdl;
}

VOID NTAPI IoFreeMdl(PMDL Mdl)
{
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)Mdl, (PVOID)IoFreeMdl);
    /* A partial MDL still mapped would leak its system PTEs. */
    MmPrepareMdlForReuse(Mdl);
    ExFreePoolWithTag(Mdl, MI_MDL_TAG);
}

VOID NTAPI IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length)
{
    ULONG_PTR srcStart = (ULONG_PTR)MmGetMdlVirtualAddress(SourceMdl);
    ULONG_PTR va = (ULONG_PTR)VirtualAddress;
    if (va < srcStart || va - srcStart > SourceMdl->ByteCount)
        KeBugCheckEx(TARGET_MDL_TOO_SMALL, (ULONG_PTR)SourceMdl, (ULONG_PTR)TargetMdl, va, Length);
    ULONG offset = (ULONG)(va - srcStart);
    if (Length == 0)
        Length = SourceMdl->ByteCount - offset;
    if (Length > SourceMdl->ByteCount - offset)
        KeBugCheckEx(TARGET_MDL_TOO_SMALL, (ULONG_PTR)SourceMdl, (ULONG_PTR)TargetMdl, va, Length);
    SIZE_T pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, Length);
    if ((SIZE_T)(USHORT)TargetMdl->Size < sizeof(MDL) + pages * sizeof(PFN_NUMBER))
        KeBugCheckEx(TARGET_MDL_TOO_SMALL, (ULONG_PTR)SourceMdl, (ULONG_PTR)TargetMdl, va, Length);

    /* Keep only how the target itself was allocated; what the pages are
     * (pool, I/O space) comes from the source. */
    TargetMdl->MdlFlags &= (CSHORT)(MDL_ALLOCATED_FIXED_SIZE | MDL_ALLOCATED_MUST_SUCCEED);
    TargetMdl->MdlFlags |= (CSHORT)(MDL_PARTIAL | (SourceMdl->MdlFlags & (MDL_SOURCE_IS_NONPAGED_POOL | MDL_IO_SPACE)));
    TargetMdl->Process = SourceMdl->Process;
    TargetMdl->StartVa = PAGE_ALIGN(va);
    TargetMdl->ByteOffset = BYTE_OFFSET(va);
    TargetMdl->ByteCount = Length;
    TargetMdl->MappedSystemVa = NULL;
    if (SourceMdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL)
        TargetMdl->MappedSystemVa = (PUCHAR)SourceMdl->MappedSystemVa + offset;

    SIZE_T firstPage = ((ULONG_PTR)PAGE_ALIGN(va) - (ULONG_PTR)SourceMdl->StartVa) >> PAGE_SHIFT;
    PPFN_NUMBER src = MmGetMdlPfnArray(SourceMdl) + firstPage;
    PPFN_NUMBER dst = MmGetMdlPfnArray(TargetMdl);
    for (SIZE_T i = 0; i < pages; i++)
        dst[i] = src[i];
}

VOID NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    PMDL mdl = MemoryDescriptorList;
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)mdl, (PVOID)MmBuildMdlForNonPagedPool);
    SIZE_T pages = MiMdlPages(mdl);
    PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
    ULONG_PTR base = (ULONG_PTR)mdl->StartVa;
    for (SIZE_T i = 0; i < pages; i++) {
        ULONG64 pa;
        ULONG_PTR va = base + (i << PAGE_SHIFT);
        /* The caller promised resident system memory; an unmapped page
         * means it did not, and the access a real fault would take is
         * reported the same way MmProbeAndLockPages reports it. */
        if (!MiIsSystemRange(va, 1) || !MiTranslate(va, &pa, NULL, NULL))
            KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION,
                         i == 0 ? (ULONG_PTR)MmGetMdlVirtualAddress(mdl) : va, 0, 0);
        pfns[i] = (PFN_NUMBER)(pa >> PAGE_SHIFT);
    }
    mdl->MappedSystemVa = MmGetMdlVirtualAddress(mdl);
    mdl->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

/* TRUE if the page can be held by a reference: an active managed page. The
 * PageLocation read is unlocked; a page mapped by its owner stays active
 * while mapped, which is all a caller describing live memory can rely on. */
static BOOLEAN MiIsReferenceablePage(PFN_NUMBER Pfn)
{
    PMMPFN entry = MiGetPfnEntry(Pfn);
    return entry != NULL && entry->PageLocation == ActiveAndValid;
}

static VOID MiDereferencePages(PPFN_NUMBER Pfns, SIZE_T Count)
{
    for (SIZE_T i = 0; i < Count; i++)
        MiFreePage(Pfns[i]);
}

VOID NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
    PMDL mdl = MemoryDescriptorList;
    (void)AccessMode; /* only system addresses are accepted, whatever the mode */
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)mdl, (PVOID)MmProbeAndLockPages);
    SIZE_T pages = MiMdlPages(mdl);
    PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
    ULONG_PTR base = (ULONG_PTR)mdl->StartVa;
    BOOLEAN write = Operation != IoReadAccess;
    BOOLEAN ioSpace = FALSE;
    SIZE_T referenced = 0;

    for (SIZE_T i = 0; i < pages; i++) {
        ULONG64 pa = 0, entry = 0;
        ULONG_PTR va = base + (i << PAGE_SHIFT);
        if (!MiIsSystemRange(va, 1) || !MiTranslate(va, &pa, &entry, NULL) ||
            (write && (entry & MI_PTE_WRITE) == 0)) {
            /* Give back what this call took before raising, so a caller
             * that survives the raise finds the pages as they were. */
            if (!ioSpace)
                MiDereferencePages(pfns, referenced);
            KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION,
                         i == 0 ? (ULONG_PTR)MmGetMdlVirtualAddress(mdl) : va, 0, 0);
        }
        pfns[i] = (PFN_NUMBER)(pa >> PAGE_SHIFT);
        if (ioSpace)
            continue;
        if (MiIsReferenceablePage(pfns[i])) {
            MiReferencePage(pfns[i]);
            referenced++;
        } else {
            /* See the file comment: an I/O-space MDL holds no page. */
            MiDereferencePages(pfns, referenced);
            referenced = 0;
            ioSpace = TRUE;
        }
    }
    mdl->Process = NULL;
    mdl->MdlFlags |= MDL_PAGES_LOCKED;
    if (ioSpace)
        mdl->MdlFlags |= MDL_IO_SPACE;
    if (write)
        mdl->MdlFlags |= MDL_WRITE_OPERATION;
}

VOID NTAPI MmUnlockPages(PMDL MemoryDescriptorList)
{
    PMDL mdl = MemoryDescriptorList;
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)mdl, (PVOID)MmUnlockPages);
    /* Unlocking twice would drop references someone else holds. */
    if ((mdl->MdlFlags & MDL_PAGES_LOCKED) == 0)
        return;
    if ((mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) == MDL_MAPPED_TO_SYSTEM_VA)
        MmUnmapLockedPages(mdl->MappedSystemVa, mdl);
    if ((mdl->MdlFlags & MDL_IO_SPACE) == 0)
        MiDereferencePages(MmGetMdlPfnArray(mdl), MiMdlPages(mdl));
    mdl->MdlFlags &= (CSHORT) ~(MDL_PAGES_LOCKED | MDL_IO_SPACE | MDL_WRITE_OPERATION);
}

PVOID NTAPI MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                         MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                         ULONG BugCheckOnFailure, ULONG Priority)
{
    PMDL mdl = MemoryDescriptorList;
    (void)RequestedAddress; /* only meaningful for user mappings */
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)mdl, (PVOID)MmMapLockedPagesSpecifyCache);
    if (AccessMode != KernelMode) {
        /* No user address spaces yet: the documented failure of a user
         * mapping is a raise, unhandled without kernel SEH. */
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)(LONG_PTR)STATUS_INSUFFICIENT_RESOURCES,
                     (ULONG_PTR)mdl, 0, 0);
    }
    /* The PFN array is trusted as it stands: the caller must have locked
     * the MDL (or built it for nonpaged pool), as the WDK requires. */
    /* Already mapped in system space: there is only ever one such mapping. */
    if (mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
        return mdl->MappedSystemVa;

    SIZE_T pages = MiMdlPages(mdl);
    ULONG64 attributes;
    PVOID va = NULL;
    if (pages != 0 && MiCacheTypeToPte(CacheType, &attributes, NULL)) {
        if ((Priority & MdlMappingNoWrite) == 0)
            attributes |= MI_PTE_WRITE;
        if (Priority & MdlMappingNoExecute)
            attributes |= MI_PTE_NX;
        attributes |= MI_PTE_GLOBAL | MI_PTE_OWNER(MiOwnerNone);
        va = MiReserveSystemPtes(pages);
    }
    if (va != NULL) {
        PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
        SIZE_T done = 0;
        /* One MiMapRange per physically contiguous run of the array. */
        while (done < pages) {
            SIZE_T run = 1;
            while (done + run < pages && pfns[done + run] == pfns[done] + run)
                run++;
            if (!NT_SUCCESS(MiMapRange((ULONG_PTR)va + (done << PAGE_SHIFT), (ULONG64)pfns[done] << PAGE_SHIFT, run,
                                       attributes, 0)))
                break;
            done += run;
        }
        if (done < pages) {
            if (done != 0)
                (void)MiUnmapRange((ULONG_PTR)va, done);
            MiReleaseSystemPtes(va, pages);
            va = NULL;
        }
    }
    if (va == NULL) {
        if (BugCheckOnFailure)
            KeBugCheckEx(NO_MORE_SYSTEM_PTES, 0, pages, 0, 0);
        return NULL;
    }
    mdl->MappedSystemVa = (PUCHAR)va + mdl->ByteOffset;
    mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    if (mdl->MdlFlags & MDL_PARTIAL)
        mdl->MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
    return mdl->MappedSystemVa;
}

PVOID NTAPI MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode)
{
    return MmMapLockedPagesSpecifyCache(MemoryDescriptorList, AccessMode, MmCached, NULL, TRUE, HighPagePriority);
}

VOID NTAPI MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)
{
    PMDL mdl = MemoryDescriptorList;
    MiCheckIrql(DISPATCH_LEVEL, (ULONG_PTR)BaseAddress, (PVOID)MmUnmapLockedPages);
    /* The buffer's own address, not a mapping of ours: nothing to undo. */
    if ((mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0 && (mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL))
        return;
    SIZE_T pages = MiMdlPages(mdl);
    if ((mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0 || BaseAddress != mdl->MappedSystemVa)
        KeBugCheckEx(SYSTEM_PTE_MISUSE, 0x03, 0, pages, (ULONG_PTR)BaseAddress);
    ULONG_PTR va = (ULONG_PTR)PAGE_ALIGN(BaseAddress);
    (void)MiUnmapRange(va, pages);
    MiReleaseSystemPtes((PVOID)va, pages);
    mdl->MappedSystemVa = NULL;
    mdl->MdlFlags &= (CSHORT) ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
}
