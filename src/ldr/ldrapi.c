/*
 * The loading API: LdrLoadSystemImage/LdrUnloadSystemImage, the driver
 * loads on top of them (IoLoadDriverImage/IoUnloadDriverImage, ZwLoadDriver/
 * ZwUnloadDriver, the boot drivers), and lookups in the kernel's export
 * table (MmGetSystemRoutineAddress, the import binder's LdrpLookupExport).
 *
 * Locking: PsLoadedModuleResource exclusive (in a critical region) for a
 * whole load or unload, so loads are serialised and an image's LoadCount
 * and dependencies change only under it. DriverEntry and DriverUnload run
 * with no loader lock held (a driver may load another). PASSIVE_LEVEL.
 *
 * Lifetime: an image's LoadCount counts the loader's own reference (1) plus
 * one per loaded image that imports from it; LdrUnloadSystemImage drops one
 * and the image goes at zero. A driver image belongs to its driver object
 * (DRIVER_OBJECT.DriverSection), whose delete procedure unloads it, so the
 * code stays while any device of the driver exists.
 */
#include "ldrp.h"
#include <ntos/ps.h>
#include <ntos/rtl.h>
#include <ntos/ex_pool.h>
#include <ntos/ob.h>
#include <ntos/cm.h>
#include "io/iop.h"

static int LdrpCompare(const char *a, const char *b)
{
    while (*a != 0 && *a == *b)
        a++, b++;
    return (int)(UCHAR)*a - (int)(UCHAR)*b;
}

const LDRP_EXPORT *LdrpLookupExport(const char *Name)
{
    ULONG lo = 0, hi = LdrpExportCount;
    while (lo < hi) {
        ULONG mid = lo + (hi - lo) / 2;
        int c = LdrpCompare(Name, LdrpExportTable[mid].Name);
        if (c == 0)
            return &LdrpExportTable[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

PVOID NTAPI MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName)
{
    /* Export names are ASCII; anything else is not exported. */
    char name[128];
    if (SystemRoutineName == NULL || SystemRoutineName->Buffer == NULL || SystemRoutineName->Length == 0)
        return NULL;
    USHORT n = SystemRoutineName->Length / sizeof(WCHAR);
    if (n >= sizeof(name))
        return NULL;
    for (USHORT i = 0; i < n; i++) {
        WCHAR c = SystemRoutineName->Buffer[i];
        if (c == 0 || c >= 0x80)
            return NULL;
        name[i] = (char)c;
    }
    name[n] = 0;
    const LDRP_EXPORT *x = LdrpLookupExport(name);
    return x != NULL ? x->Address : NULL;
}

static VOID LdrpLock(void)
{
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&PsLoadedModuleResource, TRUE);
}

static VOID LdrpUnlock(void)
{
    ExReleaseResourceLite(&PsLoadedModuleResource);
    KeLeaveCriticalRegion();
}

NTSTATUS LdrLoadSystemImage(PCUNICODE_STRING Name, const VOID *File, SIZE_T FileSize, PKLDR_DATA_TABLE_ENTRY *Entry)
{
    if (Entry == NULL)
        return STATUS_INVALID_PARAMETER;
    *Entry = NULL;
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        return STATUS_INVALID_DEVICE_STATE;
    LdrpLock();
    PLDRP_IMAGE img;
    NTSTATUS status = LdrpMapImage(Name, File, FileSize, &img);
    if (NT_SUCCESS(status)) {
        status = LdrpInsertModule(&img->Entry); /* recursive exclusive acquire */
        if (NT_SUCCESS(status)) {
            InsertTailList(&LdrpImageList, &img->ImageLinks);
            *Entry = &img->Entry;
        } else {
            for (ULONG k = 0; k < img->DependencyCount; k++)
                img->Dependencies[k]->Entry.LoadCount--;
            LdrpFreeImage(img);
        }
    }
    LdrpUnlock();
    if (NT_SUCCESS(status)) {
        DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_INFO_LEVEL, "Ldr: loaded %wZ at %p (0x%x bytes)\n", Name,
                   (*Entry)->DllBase, (*Entry)->SizeOfImage);
        /* Load-image notification, as NT gives it for a driver: after the image
         * is mapped and listed, before any of its code runs, outside the loader
         * lock (a routine may look the module up), with process id 0 and
         * SystemModeImage set. */
        IMAGE_INFO info;
        RtlZeroMemory(&info, sizeof(info));
        info.SystemModeImage = 1;
        info.ImageBase = (*Entry)->DllBase;
        info.ImageSize = (*Entry)->SizeOfImage;
        PspCallImageNotifyRoutines(&(*Entry)->FullDllName, NULL, &info);
    }
    return status;
}

static PLDRP_IMAGE LdrpImageOf(PKLDR_DATA_TABLE_ENTRY Entry)
{
    for (PLIST_ENTRY l = LdrpImageList.Flink; l != &LdrpImageList; l = l->Flink) {
        PLDRP_IMAGE i = CONTAINING_RECORD(l, LDRP_IMAGE, ImageLinks);
        if (&i->Entry == Entry)
            return i;
    }
    return NULL;
}

/* Drops one reference; frees at zero, then drops the references the image
 * held on the images it imports from. Resource held exclusive. */
static VOID LdrpDereferenceImage(PLDRP_IMAGE Img)
{
    while (Img != NULL) {
        if (--Img->Entry.LoadCount != 0)
            return;
        LdrpRemoveModule(&Img->Entry);
        RemoveEntryList(&Img->ImageLinks);
        PLDRP_IMAGE deps[LDRP_MAX_DEPENDENCIES];
        ULONG n = Img->DependencyCount;
        for (ULONG k = 0; k < n; k++)
            deps[k] = Img->Dependencies[k];
        LdrpFreeImage(Img);
        /* Dependencies: recursion bounded by the dependency depth, kept
         * iterative for the last one. */
        for (ULONG k = 0; k + 1 < n; k++)
            LdrpDereferenceImage(deps[k]);
        Img = n != 0 ? deps[n - 1] : NULL;
    }
}

NTSTATUS LdrUnloadSystemImage(PKLDR_DATA_TABLE_ENTRY Entry)
{
    if (Entry == NULL)
        return STATUS_INVALID_PARAMETER;
    LdrpLock();
    PLDRP_IMAGE img = LdrpImageOf(Entry);
    if (img != NULL)
        LdrpDereferenceImage(img);
    LdrpUnlock();
    return img != NULL ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

VOID LdrDiscardInitSections(PKLDR_DATA_TABLE_ENTRY Entry)
{
    LdrpLock();
    PLDRP_IMAGE img = LdrpImageOf(Entry);
    if (img != NULL)
        LdrpDiscardSections(img);
    LdrpUnlock();
}

PVOID LdrFindExportedRoutine(PKLDR_DATA_TABLE_ENTRY Entry, PCSTR Name)
{
    if (Entry == NULL || Name == NULL)
        return NULL;
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&PsLoadedModuleResource, TRUE);
    PLDRP_IMAGE img = LdrpImageOf(Entry);
    PVOID r = img != NULL ? LdrpImageExport(img, Name, 0) : NULL;
    ExReleaseResourceLite(&PsLoadedModuleResource);
    KeLeaveCriticalRegion();
    return r;
}

/* ---- drivers ------------------------------------------------------------------------------- */

/* The driver load with the module named after its file (ZwLoadDriver, the
 * boot drivers: what other images import from) rather than the service. */
static NTSTATUS LdrpLoadDriver(PCUNICODE_STRING ServiceName, PCUNICODE_STRING ModuleName, const VOID *File,
                               SIZE_T FileSize, PDRIVER_OBJECT *DriverObject)
{
    if (DriverObject == NULL || ServiceName == NULL || ServiceName->Length == 0 || ServiceName->Buffer == NULL)
        return STATUS_INVALID_PARAMETER;
    *DriverObject = NULL;
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        return STATUS_INVALID_DEVICE_STATE;
    for (USHORT i = 0; i < ServiceName->Length / sizeof(WCHAR); i++)
        if (ServiceName->Buffer[i] == L'\\')
            return STATUS_OBJECT_NAME_INVALID;
    UNICODE_STRING moduleName = *ModuleName;
    PKLDR_DATA_TABLE_ENTRY entry;
    NTSTATUS status = LdrLoadSystemImage(&moduleName, File, FileSize, &entry);
    if (!NT_SUCCESS(status))
        return status;
    if (entry->EntryPoint == NULL) {
        DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: %wZ: a driver image needs an entry point\n",
                   &moduleName);
        LdrUnloadSystemImage(entry);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    /* The driver object owns the image from here (also on failure). */
    PDRIVER_OBJECT driver;
    status = IopCreateDriver(ServiceName, (PDRIVER_INITIALIZE)entry->EntryPoint, entry, &driver);
    if (!NT_SUCCESS(status)) {
        DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: %wZ: DriverEntry or driver object creation failed: 0x%08x\n",
                   &moduleName, (unsigned)status);
        return status == STATUS_OBJECT_NAME_COLLISION ? STATUS_IMAGE_ALREADY_LOADED : status;
    }
    LdrDiscardInitSections(entry);
    *DriverObject = driver;
    return STATUS_SUCCESS;
}

NTSTATUS IoLoadDriverImage(PCUNICODE_STRING ServiceName, const VOID *File, SIZE_T FileSize,
                           PDRIVER_OBJECT *DriverObject)
{
    /* The module's name is <service>.sys, as the service's image would be. */
    WCHAR nameBuf[64];
    if (ServiceName == NULL || DriverObject == NULL)
        return STATUS_INVALID_PARAMETER;
    if (ServiceName->Length + 5 * sizeof(WCHAR) > sizeof(nameBuf))
        return STATUS_NAME_TOO_LONG;
    RtlCopyMemory(nameBuf, ServiceName->Buffer, ServiceName->Length);
    RtlCopyMemory((PUCHAR)nameBuf + ServiceName->Length, L".sys", 5 * sizeof(WCHAR));
    UNICODE_STRING moduleName = {(USHORT)(ServiceName->Length + 4 * sizeof(WCHAR)),
                                 (USHORT)(ServiceName->Length + 5 * sizeof(WCHAR)), nameBuf};
    return LdrpLoadDriver(ServiceName, &moduleName, File, FileSize, DriverObject);
}

NTSTATUS IoUnloadDriverImage(PDRIVER_OBJECT DriverObject)
{
    if (DriverObject == NULL || DriverObject->Type != IO_TYPE_DRIVER)
        return STATUS_INVALID_PARAMETER;
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        return STATUS_INVALID_DEVICE_STATE;
    /* DriverUnload now, or once the last file on its devices closes; the
     * object (made temporary) and with it the image go after the last
     * reference and device. */
    return IopUnloadDriver(DriverObject);
}

/* ---- ZwLoadDriver / ZwUnloadDriver ---------------------------------------------------------- */

static const WCHAR LdrpServicesPrefix[] = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";

/* The service name: the last component of a services key path. */
static NTSTATUS LdrpServiceName(PUNICODE_STRING KeyPath, PUNICODE_STRING Service)
{
    if (KeyPath == NULL || KeyPath->Buffer == NULL || KeyPath->Length == 0 || (KeyPath->Length & 1))
        return STATUS_INVALID_PARAMETER;
    UNICODE_STRING prefix = {sizeof(LdrpServicesPrefix) - sizeof(WCHAR), sizeof(LdrpServicesPrefix),
                             (PWSTR)LdrpServicesPrefix};
    if (!RtlPrefixUnicodeString(&prefix, KeyPath, TRUE) || KeyPath->Length == prefix.Length)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    Service->Buffer = KeyPath->Buffer + prefix.Length / sizeof(WCHAR);
    Service->Length = Service->MaximumLength = (USHORT)(KeyPath->Length - prefix.Length);
    for (USHORT i = 0; i < Service->Length / sizeof(WCHAR); i++)
        if (Service->Buffer[i] == L'\\')
            return STATUS_OBJECT_NAME_INVALID;
    return STATUS_SUCCESS;
}

BOOLEAN LdrpFindBootModule(PCUNICODE_STRING Name, ARCH_BOOT_MODULE *Module)
{
    ULONG count = arch_boot_module_count();
    for (ULONG i = 0; i < count; i++) {
        ARCH_BOOT_MODULE m;
        if (!arch_boot_module(i, &m) || m.Name == NULL)
            continue;
        USHORT n = Name->Length / sizeof(WCHAR), j = 0;
        for (; j < n && m.Name[j] != 0; j++) {
            WCHAR a = Name->Buffer[j], b = (UCHAR)m.Name[j];
            if (a >= L'A' && a <= L'Z')
                a = (WCHAR)(a - L'A' + L'a');
            if (b >= L'A' && b <= L'Z')
                b = (WCHAR)(b - L'A' + L'a');
            if (a != b)
                break;
        }
        if (j == n && m.Name[j] == 0) {
            *Module = m;
            return TRUE;
        }
    }
    return FALSE;
}

NTSTATUS NTAPI ZwLoadDriver(PUNICODE_STRING DriverServiceName)
{
    UNICODE_STRING service;
    NTSTATUS status = LdrpServiceName(DriverServiceName, &service);
    if (!NT_SUCCESS(status))
        return status;
    CM_SERVICE_INFORMATION info;
    status = CmQueryServiceInformation(DriverServiceName, &info);
    if (!NT_SUCCESS(status))
        return status;
    /* The file: the base name of ImagePath, or <service>.sys when there is
     * none (the Windows default \SystemRoot\System32\drivers\<service>.sys),
     * looked up among the boot modules: ntos has no file system to read it
     * from. */
    UNICODE_STRING file;
    WCHAR defaultName[64];
    if (info.ImagePath.Length != 0) {
        USHORT n = info.ImagePath.Length / sizeof(WCHAR), i = n;
        while (i > 0 && info.ImagePath.Buffer[i - 1] != L'\\')
            i--;
        file.Buffer = info.ImagePath.Buffer + i;
        file.Length = file.MaximumLength = (USHORT)((n - i) * sizeof(WCHAR));
    } else {
        if (service.Length + 5 * sizeof(WCHAR) > sizeof(defaultName)) {
            CmFreeServiceInformation(&info);
            return STATUS_NAME_TOO_LONG;
        }
        RtlCopyMemory(defaultName, service.Buffer, service.Length);
        RtlCopyMemory((PUCHAR)defaultName + service.Length, L".sys", 5 * sizeof(WCHAR));
        file.Buffer = defaultName;
        file.Length = (USHORT)(service.Length + 4 * sizeof(WCHAR));
        file.MaximumLength = file.Length;
    }
    ARCH_BOOT_MODULE m;
    if (!LdrpFindBootModule(&file, &m)) {
        DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: ZwLoadDriver(%wZ): no boot module named %wZ\n",
                   DriverServiceName, &file);
        CmFreeServiceInformation(&info);
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    PDRIVER_OBJECT driver;
    status = LdrpLoadDriver(&service, &file, m.Data, m.Size, &driver); /* file points into info */
    CmFreeServiceInformation(&info);
    if (NT_SUCCESS(status))
        ObDereferenceObject(driver); /* the permanent name keeps it */
    return status;
}

NTSTATUS NTAPI ZwUnloadDriver(PUNICODE_STRING DriverServiceName)
{
    UNICODE_STRING service;
    NTSTATUS status = LdrpServiceName(DriverServiceName, &service);
    if (!NT_SUCCESS(status))
        return status;
    WCHAR buf[80];
    static const WCHAR prefix[] = L"\\Driver\\";
    USHORT pb = sizeof(prefix) - sizeof(WCHAR);
    if (pb + service.Length > sizeof(buf))
        return STATUS_NAME_TOO_LONG;
    RtlCopyMemory(buf, prefix, pb);
    RtlCopyMemory((PUCHAR)buf + pb, service.Buffer, service.Length);
    UNICODE_STRING objName = {(USHORT)(pb + service.Length), (USHORT)(pb + service.Length), buf};
    PDRIVER_OBJECT driver;
    status = ObReferenceObjectByName(&objName, OBJ_CASE_INSENSITIVE, NULL, 0, IoDriverObjectType, KernelMode, NULL,
                                     (PVOID *)&driver);
    if (!NT_SUCCESS(status))
        return status;
    /* Only drivers loaded from an image can be unloaded this way. */
    if (driver->DriverSection == NULL || (driver->Flags & DRVO_BUILTIN_DRIVER))
        status = STATUS_INVALID_DEVICE_REQUEST;
    else
        status = IoUnloadDriverImage(driver);
    ObDereferenceObject(driver);
    return status == STATUS_PENDING ? STATUS_SUCCESS : status;
}

/* ---- boot drivers --------------------------------------------------------------------------- */

VOID LdrLoadBootDrivers(void)
{
    ULONG count = arch_boot_module_count();
    for (ULONG i = 0; i < count; i++) {
        ARCH_BOOT_MODULE m;
        if (!arch_boot_module(i, &m) || m.Name == NULL)
            continue;
        SIZE_T len = 0;
        while (m.Name[len] != 0)
            len++;
        const char *ext = len >= 4 ? m.Name + len - 4 : "";
        if (!(ext[0] == '.' && (ext[1] | 0x20) == 's' && (ext[2] | 0x20) == 'y' && (ext[3] | 0x20) == 's'))
            continue;
        WCHAR service[60];
        if (len - 4 == 0 || len - 4 >= RTL_NUMBER_OF(service)) {
            DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: boot module %s: name too long\n", m.Name);
            continue;
        }
        for (SIZE_T k = 0; k < len - 4; k++)
            service[k] = (UCHAR)m.Name[k];
        UNICODE_STRING name = {(USHORT)((len - 4) * sizeof(WCHAR)), (USHORT)((len - 4) * sizeof(WCHAR)), service};
        /* The module keeps the file's name (case included), "<service>.sys". */
        WCHAR file[64];
        for (SIZE_T k = 0; k < len; k++)
            file[k] = (UCHAR)m.Name[k];
        UNICODE_STRING fileName = {(USHORT)(len * sizeof(WCHAR)), (USHORT)(len * sizeof(WCHAR)), file};
        PDRIVER_OBJECT driver;
        NTSTATUS status = LdrpLoadDriver(&name, &fileName, m.Data, m.Size, &driver);
        if (NT_SUCCESS(status)) {
            DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: boot driver %s started (\\Driver\\%wZ)\n",
                       m.Name, &name);
            ObDereferenceObject(driver);
        } else {
            DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: boot driver %s failed: 0x%08x\n", m.Name,
                       (unsigned)status);
        }
    }
}
