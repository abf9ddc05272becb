/*
 * Ldr: the loaded-module list and the system image loader.
 *
 * PsLoadedModuleList is the list of KLDR_DATA_TABLE_ENTRY of every image
 * mapped into system space, in load order; its first entry is ntoskrnl
 * itself (on the host, the kernel/test executable's own ELF mapping; bare
 * metal, the kernel ELF range), so SystemModuleInformation and
 * RtlPcToFileHeader see the kernel as on Windows. Both names are exported
 * data of ntoskrnl.exe.
 *
 * Locking (src/ldr/modlist.c):
 *  - PsLoadedModuleResource (ERESOURCE): held exclusive by writers (insert,
 *    remove) and shared by walkers at PASSIVE/APC_LEVEL that may block while
 *    they look at entries (system information queries).
 *  - LdrpModuleListLock (spin lock, taken at HIGH_LEVEL): also held by
 *    writers around the link change itself, and by LdrFindModuleByAddress,
 *    which therefore works at any IRQL <= HIGH_LEVEL (exception dispatch,
 *    bug-check backtraces). An entry stays valid while its module is loaded.
 *  Order: PsLoadedModuleResource -> LdrpModuleListLock.
 */
#ifndef NTOS_LDR_H
#define NTOS_LDR_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/ex_sync.h>
#include <ntos/io.h>

/* The documented x64 layout (Windows 10/11), 0xA0 bytes. */
typedef struct _KLDR_DATA_TABLE_ENTRY {
    LIST_ENTRY InLoadOrderLinks;
    PVOID ExceptionTable;       /* the image's .pdata (RUNTIME_FUNCTION array) */
    ULONG ExceptionTableSize;   /* in bytes */
    PVOID GpValue;
    PVOID NonPagedDebugInfo;
    PVOID DllBase;
    PVOID EntryPoint;
    ULONG SizeOfImage;
    UNICODE_STRING FullDllName;
    UNICODE_STRING BaseDllName;
    ULONG Flags;                /* LDRP_* */
    USHORT LoadCount;
    USHORT SignatureInfo;
    PVOID SectionPointer;
    ULONG CheckSum;
    ULONG CoverageSectionSize;
    PVOID CoverageSection;
    PVOID LoadedImports;
    PVOID Spare;
    ULONG SizeOfImageNotRounded;
    ULONG TimeDateStamp;
} KLDR_DATA_TABLE_ENTRY, *PKLDR_DATA_TABLE_ENTRY;
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, InLoadOrderLinks, 0x00);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, ExceptionTable, 0x10);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, ExceptionTableSize, 0x18);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, GpValue, 0x20);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, NonPagedDebugInfo, 0x28);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, DllBase, 0x30);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, EntryPoint, 0x38);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, SizeOfImage, 0x40);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, FullDllName, 0x48);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, BaseDllName, 0x58);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, Flags, 0x68);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, LoadCount, 0x6C);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, SectionPointer, 0x70);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, CheckSum, 0x78);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, LoadedImports, 0x88);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, SizeOfImageNotRounded, 0x98);
NTOS_ASSERT_OFFSET(KLDR_DATA_TABLE_ENTRY, TimeDateStamp, 0x9C);
NTOS_ASSERT_SIZE(KLDR_DATA_TABLE_ENTRY, 0xA0);

/* KLDR_DATA_TABLE_ENTRY.Flags (the documented LDRP_* values). */
#define LDRP_STATIC_LINK 0x00000002
#define LDRP_IMAGE_DLL 0x00000004
#define LDRP_LOAD_IN_PROGRESS 0x00001000
#define LDRP_UNLOAD_IN_PROGRESS 0x00002000
#define LDRP_ENTRY_PROCESSED 0x00004000
#define LDRP_DRIVER_DEPENDENT_DLL 0x04000000
#define LDRP_SYSTEM_MAPPED 0x01000000
#define LDRP_IMAGE_NOT_AT_BASE 0x00200000

extern LIST_ENTRY PsLoadedModuleList;
extern ERESOURCE PsLoadedModuleResource;

/* Initialises the list with ntoskrnl's entry. Phase 1, before Ob. */
VOID LdrInitSystem(void);

/* The entry whose [DllBase, DllBase + SizeOfImage) contains Address, or
 * NULL. Any IRQL <= HIGH_LEVEL. */
PKLDR_DATA_TABLE_ENTRY LdrFindModuleByAddress(PVOID Address);

/* Registration for images mapped by something else (and for tests of other
 * streams): appends Entry (DllBase, SizeOfImage, names set by the caller,
 * memory owned by the caller) to PsLoadedModuleList.
 * STATUS_INVALID_PARAMETER for an empty or wrapping range,
 * STATUS_CONFLICTING_ADDRESSES if it overlaps a listed module.
 * PASSIVE_LEVEL/APC_LEVEL (takes PsLoadedModuleResource). */
NTSTATUS LdrpInsertModule(PKLDR_DATA_TABLE_ENTRY Entry);
/* Unlinks an entry inserted above (the ntoskrnl entry cannot be removed:
 * that bug-checks). PASSIVE/APC_LEVEL. */
VOID LdrpRemoveModule(PKLDR_DATA_TABLE_ENTRY Entry);

/* ---- the loading API ------------------------------------------------------------------------ */

/*
 * Validates the PE32+ image File[0..FileSize) (read only, never kept),
 * maps it into system space with per-section protection, relocates it,
 * binds its imports against the kernel's export table, initialises its
 * security cookie and inserts it into PsLoadedModuleList under Name (the
 * base name, e.g. L"foo.sys"). Nothing of the image runs.
 * STATUS_INVALID_IMAGE_FORMAT for a malformed image, STATUS_PROCEDURE_NOT_FOUND
 * for an import the kernel does not export, STATUS_DLL_NOT_FOUND for an
 * import from a module other than ntoskrnl.exe/HAL.dll, each with a
 * DbgPrint line naming the problem; STATUS_INSUFFICIENT_RESOURCES.
 * PASSIVE_LEVEL.
 */
NTSTATUS LdrLoadSystemImage(PCUNICODE_STRING Name, const VOID *File, SIZE_T FileSize, PKLDR_DATA_TABLE_ENTRY *Entry);
/* Removes the image from the list and frees its mapping and entry. PASSIVE_LEVEL. */
NTSTATUS LdrUnloadSystemImage(PKLDR_DATA_TABLE_ENTRY Entry);
/* The address of the routine or data an image loaded by LdrLoadSystemImage
 * exports under Name, NULL if none (or forwarded). PASSIVE_LEVEL. */
PVOID LdrFindExportedRoutine(PKLDR_DATA_TABLE_ENTRY Entry, PCSTR Name);
/* Frees the image's discardable sections (INIT and IMAGE_SCN_MEM_DISCARDABLE)
 * once its entry point has run. PASSIVE_LEVEL. */
VOID LdrDiscardInitSections(PKLDR_DATA_TABLE_ENTRY Entry);

/*
 * Loads the driver image, creates \Driver\<ServiceName>, calls DriverEntry at
 * PASSIVE_LEVEL with \Registry\Machine\System\CurrentControlSet\Services\<ServiceName>,
 * frees the discardable sections. On success *DriverObject is referenced
 * (ObDereferenceObject it, after IoUnloadDriverImage). DriverEntry's failure
 * status is returned after everything was undone.
 */
NTSTATUS IoLoadDriverImage(PCUNICODE_STRING ServiceName, const VOID *File, SIZE_T FileSize,
                           PDRIVER_OBJECT *DriverObject);
/* Calls DriverUnload, makes the driver object temporary and unloads the
 * image. STATUS_INVALID_DEVICE_REQUEST if the driver has no DriverUnload. */
NTSTATUS IoUnloadDriverImage(PDRIVER_OBJECT DriverObject);

/* Loads every boot module whose name ends in ".sys" as a driver (service name
 * = the base name without ".sys"). Phase 1, after the I/O manager. */
VOID LdrLoadBootDrivers(void);

NTKERNELAPI NTSTATUS NTAPI ZwLoadDriver(PUNICODE_STRING DriverServiceName);
NTKERNELAPI NTSTATUS NTAPI ZwUnloadDriver(PUNICODE_STRING DriverServiceName);

/* The address of an exported ntoskrnl.exe or HAL.dll routine or data, NULL if
 * not exported. PASSIVE_LEVEL. */
NTKERNELAPI PVOID NTAPI MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName);
/* The base of the loaded image containing PcValue (also stored in
 * *BaseOfImage), or NULL. Any IRQL. */
NTKERNELAPI PVOID NTAPI RtlPcToFileHeader(PVOID PcValue, PVOID *BaseOfImage);

#endif /* NTOS_LDR_H */
