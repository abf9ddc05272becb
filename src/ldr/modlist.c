/*
 * The loaded-module list: PsLoadedModuleList, its ntoskrnl entry, lookups by
 * address (LdrFindModuleByAddress, RtlPcToFileHeader) and registration.
 *
 * Locking: writers hold PsLoadedModuleResource exclusive (inside a critical
 * region, PASSIVE/APC_LEVEL) and, around the link change only,
 * LdrpModuleListLock at HIGH_LEVEL. Readers that may block hold the resource
 * shared; readers at any IRQL (exception dispatch, bug-check output) take
 * only the spin lock, raising to HIGH_LEVEL so that no interrupt on this
 * processor can reenter while it is held. Nothing else is acquired under the
 * spin lock.
 */
#include <ntos/ldr.h>
#include <ntos/ke.h>
#include <ntos/arch.h>
#include <ntos/list.h>
#include <ntos/dbg.h>

LIST_ENTRY PsLoadedModuleList;
ERESOURCE PsLoadedModuleResource;
static KSPIN_LOCK LdrpModuleListLock;

/* ntoskrnl.exe's entry: static, never removed. */
static KLDR_DATA_TABLE_ENTRY LdrpKernelEntry;
static WCHAR LdrpKernelFullName[] = L"\\SystemRoot\\system32\\ntoskrnl.exe";

static KIRQL LdrpLockList(void)
{
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    KeAcquireSpinLockAtDpcLevel(&LdrpModuleListLock);
    return old;
}

static VOID LdrpUnlockList(KIRQL Old)
{
    KeReleaseSpinLockFromDpcLevel(&LdrpModuleListLock);
    KeLowerIrql(Old);
}

VOID LdrInitSystem(void)
{
    InitializeListHead(&PsLoadedModuleList);
    KeInitializeSpinLock(&LdrpModuleListLock);
    NTSTATUS status = ExInitializeResourceLite(&PsLoadedModuleResource);
    if (!NT_SUCCESS(status))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, (ULONG_PTR)status, 0x1D, 0, 0);

    ULONG_PTR base;
    SIZE_T size;
    arch_kernel_image_range(&base, &size);
    PKLDR_DATA_TABLE_ENTRY e = &LdrpKernelEntry;
    e->DllBase = (PVOID)base;
    /* SizeOfImage is 32 bits as in the PE header; a hosted test executable
     * with sanitizers is far below 4 GB. */
    e->SizeOfImage = (ULONG)(size > 0xFFFFF000u ? 0xFFFFF000u : size);
    e->SizeOfImageNotRounded = e->SizeOfImage;
    e->FullDllName.Buffer = LdrpKernelFullName;
    e->FullDllName.Length = sizeof(LdrpKernelFullName) - sizeof(WCHAR);
    e->FullDllName.MaximumLength = sizeof(LdrpKernelFullName);
    /* The base name is the tail of the full name, as Windows builds it. */
    USHORT baseChars = 12; /* "ntoskrnl.exe" */
    e->BaseDllName.Buffer = LdrpKernelFullName + (e->FullDllName.Length / sizeof(WCHAR) - baseChars);
    e->BaseDllName.Length = (USHORT)(baseChars * sizeof(WCHAR));
    e->BaseDllName.MaximumLength = (USHORT)(baseChars * sizeof(WCHAR) + sizeof(WCHAR));
    e->Flags = LDRP_ENTRY_PROCESSED | LDRP_SYSTEM_MAPPED;
    e->LoadCount = 1;
    InsertTailList(&PsLoadedModuleList, &e->InLoadOrderLinks);
}

/* Lookup with the spin lock held. */
static PKLDR_DATA_TABLE_ENTRY LdrpFindLocked(ULONG_PTR Address)
{
    for (PLIST_ENTRY l = PsLoadedModuleList.Flink; l != &PsLoadedModuleList; l = l->Flink) {
        PKLDR_DATA_TABLE_ENTRY e = CONTAINING_RECORD(l, KLDR_DATA_TABLE_ENTRY, InLoadOrderLinks);
        ULONG_PTR base = (ULONG_PTR)e->DllBase;
        if (Address >= base && Address - base < e->SizeOfImage)
            return e;
    }
    return NULL;
}

PKLDR_DATA_TABLE_ENTRY LdrFindModuleByAddress(PVOID Address)
{
    if (PsLoadedModuleList.Flink == NULL)
        return NULL; /* before LdrInitSystem */
    KIRQL old = LdrpLockList();
    PKLDR_DATA_TABLE_ENTRY e = LdrpFindLocked((ULONG_PTR)Address);
    LdrpUnlockList(old);
    return e;
}

PVOID NTAPI RtlPcToFileHeader(PVOID PcValue, PVOID *BaseOfImage)
{
    PKLDR_DATA_TABLE_ENTRY e = LdrFindModuleByAddress(PcValue);
    PVOID base = e != NULL ? e->DllBase : NULL;
    *BaseOfImage = base;
    return base;
}

NTSTATUS LdrpInsertModule(PKLDR_DATA_TABLE_ENTRY Entry)
{
    ULONG_PTR base = (ULONG_PTR)Entry->DllBase;
    if (Entry->SizeOfImage == 0 || base + Entry->SizeOfImage < base)
        return STATUS_INVALID_PARAMETER;
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&PsLoadedModuleResource, TRUE);
    NTSTATUS status = STATUS_SUCCESS;
    KIRQL old = LdrpLockList();
    for (PLIST_ENTRY l = PsLoadedModuleList.Flink; l != &PsLoadedModuleList; l = l->Flink) {
        PKLDR_DATA_TABLE_ENTRY e = CONTAINING_RECORD(l, KLDR_DATA_TABLE_ENTRY, InLoadOrderLinks);
        ULONG_PTR b = (ULONG_PTR)e->DllBase;
        if (base < b + e->SizeOfImage && b < base + Entry->SizeOfImage) {
            status = STATUS_CONFLICTING_ADDRESSES;
            break;
        }
    }
    if (NT_SUCCESS(status))
        InsertTailList(&PsLoadedModuleList, &Entry->InLoadOrderLinks);
    LdrpUnlockList(old);
    ExReleaseResourceLite(&PsLoadedModuleResource);
    KeLeaveCriticalRegion();
    return status;
}

VOID LdrpRemoveModule(PKLDR_DATA_TABLE_ENTRY Entry)
{
    /* The kernel's own entry stays for the life of the system, and an entry
     * that is not linked (never inserted, or removed already) has nothing to
     * remove: both are refused with a message rather than corrupting the list. */
    if (Entry == &LdrpKernelEntry || Entry->InLoadOrderLinks.Flink == NULL) {
        DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: LdrpRemoveModule(%p): not a removable module\n",
                   Entry);
        return;
    }
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&PsLoadedModuleResource, TRUE);
    KIRQL old = LdrpLockList();
    RemoveEntryList(&Entry->InLoadOrderLinks);
    Entry->InLoadOrderLinks.Flink = Entry->InLoadOrderLinks.Blink = NULL;
    LdrpUnlockList(old);
    ExReleaseResourceLite(&PsLoadedModuleResource);
    KeLeaveCriticalRegion();
}
