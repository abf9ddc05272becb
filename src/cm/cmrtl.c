/*
 * The Rtl registry helpers drivers use (RtlQueryRegistryValues,
 * RtlWriteRegistryValue, RtlDeleteRegistryValue, RtlCheckRegistryKey,
 * RtlCreateRegistryKey) and the service-key reader the I/O manager's
 * ZwLoadDriver uses. All of them go through the Zw services (so callbacks
 * and notifications see them) with kernel handles; no lock of their own.
 * PASSIVE_LEVEL.
 *
 * RtlQueryRegistryValues, per entry of the table (which ends at an entry
 * with neither QueryRoutine nor the SUBKEY/DIRECT flags):
 *  - SUBKEY: later entries look at the subkey Name of the top key (a
 *    missing subkey fails the call with STATUS_OBJECT_NAME_NOT_FOUND);
 *    TOPKEY goes back to the top key.
 *  - Name NULL (not DIRECT): QueryRoutine for every value of the key (for
 *    NOVALUE, once even when there are none).
 *  - a value that is missing: REQUIRED fails with STATUS_OBJECT_NAME_NOT_FOUND;
 *    a DefaultType other than REG_NONE supplies DefaultData (length 0 for a
 *    string means "up to its NUL"); otherwise the entry is skipped.
 *  - REG_MULTI_SZ goes to QueryRoutine one string at a time and REG_EXPAND_SZ
 *    expanded against Environment ("NAME=value" strings), unless NOEXPAND.
 *  - DIRECT: EntryContext receives the data. Strings: a UNICODE_STRING
 *    (Buffer NULL: allocated from paged pool; otherwise the data must fit,
 *    STATUS_BUFFER_TOO_SMALL if not). Up to 4 bytes: stored as is. Larger:
 *    EntryContext starts with a LONG whose magnitude is the buffer size; if
 *    negative the data alone is stored, otherwise length, type, then data.
 *  - TYPECHECK: the value's type must be DefaultType >> 24
 *    (STATUS_OBJECT_TYPE_MISMATCH).
 *  - DELETE: the value is deleted after it was processed.
 */
#include "cmp.h"

#define CMP_SERVICES L"\\Registry\\Machine\\System\\CurrentControlSet\\Services"

static const PCWSTR CmpRelativeRoots[RTL_REGISTRY_MAXIMUM] = {
    NULL,
    CMP_SERVICES,
    L"\\Registry\\Machine\\System\\CurrentControlSet\\Control",
    L"\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
    L"\\Registry\\Machine\\Hardware\\DeviceMap",
    L"\\Registry\\User\\.Default",
};

/* Opens (or creates) the key RelativeTo/Path names; *Close says whether the handle is ours. */
static NTSTATUS CmpRtlOpen(ULONG RelativeTo, PCWSTR Path, ACCESS_MASK Access, BOOLEAN Create, PHANDLE Handle,
                           PBOOLEAN Close)
{
    *Handle = NULL;
    *Close = FALSE;
    if (RelativeTo & RTL_REGISTRY_HANDLE) {
        *Handle = (HANDLE)Path;
        return STATUS_SUCCESS;
    }
    ULONG base = RelativeTo & ~RTL_REGISTRY_OPTIONAL;
    if (base >= RTL_REGISTRY_MAXIMUM)
        return STATUS_INVALID_PARAMETER;
    UNICODE_STRING full;
    WCHAR stackBuf[256];
    full.Buffer = stackBuf;
    full.Length = 0;
    full.MaximumLength = sizeof(stackBuf);
    PWSTR heap = NULL;
    SIZE_T need = 0;
    if (CmpRelativeRoots[base] != NULL) {
        UNICODE_STRING r;
        RtlInitUnicodeString(&r, CmpRelativeRoots[base]);
        need += r.Length + sizeof(WCHAR);
    } else if (Path == NULL) {
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    }
    UNICODE_STRING p = {0, 0, NULL};
    if (Path != NULL)
        RtlInitUnicodeString(&p, Path);
    need += p.Length + sizeof(WCHAR);
    if (need > UNICODE_STRING_MAX_BYTES)
        return STATUS_NAME_TOO_LONG;
    if (need > sizeof(stackBuf)) {
        heap = ExAllocatePoolWithTag(PagedPool, need, CM_TAG_RTL);
        if (heap == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        full.Buffer = heap;
        full.MaximumLength = (USHORT)need;
    }
    if (CmpRelativeRoots[base] != NULL) {
        RtlAppendUnicodeToString(&full, CmpRelativeRoots[base]);
        if (p.Length && p.Buffer[0] != L'\\')
            RtlAppendUnicodeToString(&full, L"\\");
    }
    RtlAppendUnicodeStringToString(&full, &p);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &full, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    NTSTATUS status = Create ? ZwCreateKey(Handle, Access, &oa, 0, NULL, 0, NULL) : ZwOpenKey(Handle, Access, &oa);
    if (heap != NULL)
        ExFreePoolWithTag(heap, CM_TAG_RTL);
    if (NT_SUCCESS(status))
        *Close = TRUE;
    return status;
}

static SIZE_T CmpWcslen(PCWSTR s)
{
    SIZE_T n = 0;
    while (s[n])
        n++;
    return n;
}

/* Expands %NAME% against an environment block of "NAME=value\0...\0\0"; unknown names stay as they are. */
static NTSTATUS CmpExpand(PCWSTR Src, ULONG SrcBytes, PCWSTR Environment, PWSTR *Out, PULONG OutBytes)
{
    ULONG n = SrcBytes / sizeof(WCHAR);
    while (n && Src[n - 1] == 0)
        n--;
    /* Two passes: measure, then write. */
    PWSTR buf = NULL;
    ULONG len = 0;
    for (int pass = 0; pass < 2; pass++) {
        len = 0;
        for (ULONG i = 0; i < n;) {
            if (Src[i] == L'%' && Environment != NULL) {
                ULONG j = i + 1;
                while (j < n && Src[j] != L'%')
                    j++;
                if (j < n && j > i + 1) {
                    PCWSTR val = NULL;
                    for (PCWSTR e = Environment; *e; e += CmpWcslen(e) + 1) {
                        ULONG k = 0;
                        while (k < j - i - 1 && e[k] &&
                               RtlUpcaseUnicodeChar(e[k]) == RtlUpcaseUnicodeChar(Src[i + 1 + k]))
                            k++;
                        if (k == j - i - 1 && e[k] == L'=') {
                            val = e + k + 1;
                            break;
                        }
                    }
                    if (val != NULL) {
                        SIZE_T vl = CmpWcslen(val);
                        if (buf)
                            RtlCopyMemory(buf + len, val, vl * sizeof(WCHAR));
                        len += (ULONG)vl;
                        i = j + 1;
                        continue;
                    }
                }
            }
            if (buf)
                buf[len] = Src[i];
            len++;
            i++;
        }
        if (pass == 0) {
            if ((len + 1) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES)
                return STATUS_BUFFER_TOO_SMALL;
            buf = ExAllocatePoolWithTag(PagedPool, (len + 1) * sizeof(WCHAR), CM_TAG_RTL);
            if (buf == NULL)
                return STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    buf[len] = 0;
    *Out = buf;
    *OutBytes = (len + 1) * sizeof(WCHAR);
    return STATUS_SUCCESS;
}

static BOOLEAN CmpIsString(ULONG Type)
{
    return Type == REG_SZ || Type == REG_EXPAND_SZ || Type == REG_MULTI_SZ;
}

static NTSTATUS CmpDirectStore(PRTL_QUERY_REGISTRY_TABLE Entry, ULONG Type, PVOID Data, ULONG Length)
{
    if (CmpIsString(Type) && !(Entry->Flags & RTL_QUERY_REGISTRY_NOSTRING)) {
        PUNICODE_STRING us = Entry->EntryContext;
        ULONG bytes = Length;
        if (Type != REG_MULTI_SZ) {
            /* The string proper, without its terminator(s). */
            while (bytes >= sizeof(WCHAR) && ((PWCHAR)Data)[bytes / sizeof(WCHAR) - 1] == 0)
                bytes -= sizeof(WCHAR);
        }
        bytes &= ~1u;
        if (bytes + sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES)
            return STATUS_BUFFER_TOO_SMALL;
        if (us->Buffer == NULL) {
            /* RtlFreeUnicodeString releases it, so it carries that routine's tag. */
            us->Buffer = ExAllocatePoolWithTag(PagedPool, bytes + sizeof(WCHAR), RTL_STRING_POOL_TAG);
            if (us->Buffer == NULL)
                return STATUS_INSUFFICIENT_RESOURCES;
            us->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
        } else if (us->MaximumLength < bytes) {
            return STATUS_BUFFER_TOO_SMALL;
        }
        RtlCopyMemory(us->Buffer, Data, bytes);
        us->Length = (USHORT)bytes;
        if (us->MaximumLength >= bytes + sizeof(WCHAR))
            us->Buffer[bytes / sizeof(WCHAR)] = 0;
        return STATUS_SUCCESS;
    }
    if (Length <= sizeof(ULONG)) {
        RtlCopyMemory(Entry->EntryContext, Data, Length);
        return STATUS_SUCCESS;
    }
    LONG size = *(PLONG)Entry->EntryContext;
    if (size < 0) {
        if ((ULONG)-size < Length)
            return STATUS_BUFFER_TOO_SMALL;
        RtlCopyMemory(Entry->EntryContext, Data, Length);
    } else {
        if ((ULONG)size < Length + 2 * sizeof(ULONG))
            return STATUS_BUFFER_TOO_SMALL;
        PULONG p = Entry->EntryContext;
        p[0] = Length;
        p[1] = Type;
        RtlCopyMemory(p + 2, Data, Length);
    }
    return STATUS_SUCCESS;
}

/* One value (found, or the entry's default) handed to the entry. */
static NTSTATUS CmpDeliver(PRTL_QUERY_REGISTRY_TABLE Entry, PWSTR Name, ULONG Type, PVOID Data, ULONG Length,
                           PVOID Context, PVOID Environment)
{
    if ((Entry->Flags & RTL_QUERY_REGISTRY_TYPECHECK) &&
        Type != (Entry->DefaultType >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT))
        return STATUS_OBJECT_TYPE_MISMATCH;
    BOOLEAN expand = !(Entry->Flags & RTL_QUERY_REGISTRY_NOEXPAND);
    PWSTR expanded = NULL;
    NTSTATUS status = STATUS_SUCCESS;
    if (Type == REG_EXPAND_SZ && expand && Environment != NULL) {
        ULONG bytes;
        status = CmpExpand(Data, Length, Environment, &expanded, &bytes);
        if (!NT_SUCCESS(status))
            return status;
        Data = expanded;
        Length = bytes;
        Type = REG_SZ;
    }
    if (Entry->Flags & RTL_QUERY_REGISTRY_DIRECT) {
        status = CmpDirectStore(Entry, Type, Data, Length);
    } else if (Type == REG_MULTI_SZ && expand) {
        /* One call per string of the list. */
        PWCHAR p = Data;
        ULONG n = Length / sizeof(WCHAR);
        ULONG i = 0;
        while (i < n && p[i] != 0 && NT_SUCCESS(status)) {
            ULONG s = i;
            while (i < n && p[i] != 0)
                i++;
            status = Entry->QueryRoutine(Name, REG_SZ, p + s, (i - s + 1) * sizeof(WCHAR), Context,
                                         Entry->EntryContext);
            i++;
        }
    } else {
        status = Entry->QueryRoutine(Name, Type, Data, Length, Context, Entry->EntryContext);
    }
    if (expanded != NULL)
        ExFreePoolWithTag(expanded, CM_TAG_RTL);
    return status;
}

static NTSTATUS CmpQueryOneEntry(HANDLE Key, PRTL_QUERY_REGISTRY_TABLE Entry, PVOID Context, PVOID Environment)
{
    NTSTATUS status;
    ULONG size = 512;
    PKEY_VALUE_FULL_INFORMATION info = NULL;
    if (Entry->Name == NULL) {
        /* Every value of the key. */
        BOOLEAN any = FALSE;
        for (ULONG index = 0;; index++) {
            ULONG result;
            for (;;) {
                info = ExAllocatePoolWithTag(PagedPool, size, CM_TAG_RTL);
                if (info == NULL)
                    return STATUS_INSUFFICIENT_RESOURCES;
                status = ZwEnumerateValueKey(Key, index, KeyValueFullInformation, info, size, &result);
                if (status != STATUS_BUFFER_OVERFLOW && status != STATUS_BUFFER_TOO_SMALL)
                    break;
                ExFreePoolWithTag(info, CM_TAG_RTL);
                size = result + 64;
            }
            if (status == STATUS_NO_MORE_ENTRIES) {
                ExFreePoolWithTag(info, CM_TAG_RTL);
                status = STATUS_SUCCESS;
                break;
            }
            if (!NT_SUCCESS(status)) {
                ExFreePoolWithTag(info, CM_TAG_RTL);
                return status;
            }
            any = TRUE;
            /* The name as a NUL-terminated string, in place after the data. */
            PWSTR name = ExAllocatePoolWithTag(PagedPool, info->NameLength + sizeof(WCHAR), CM_TAG_RTL);
            if (name == NULL) {
                ExFreePoolWithTag(info, CM_TAG_RTL);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            RtlCopyMemory(name, info->Name, info->NameLength);
            name[info->NameLength / sizeof(WCHAR)] = 0;
            status = CmpDeliver(Entry, name, info->Type, (PUCHAR)info + info->DataOffset, info->DataLength, Context,
                                Environment);
            ExFreePoolWithTag(name, CM_TAG_RTL);
            ExFreePoolWithTag(info, CM_TAG_RTL);
            if (!NT_SUCCESS(status))
                return status;
        }
        if (!any && (Entry->Flags & RTL_QUERY_REGISTRY_NOVALUE) && Entry->QueryRoutine != NULL)
            status = Entry->QueryRoutine(NULL, REG_NONE, NULL, 0, Context, Entry->EntryContext);
        return status;
    }
    UNICODE_STRING vn;
    RtlInitUnicodeString(&vn, Entry->Name);
    ULONG result;
    for (;;) {
        info = ExAllocatePoolWithTag(PagedPool, size, CM_TAG_RTL);
        if (info == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        status = ZwQueryValueKey(Key, &vn, KeyValueFullInformation, info, size, &result);
        if (status != STATUS_BUFFER_OVERFLOW && status != STATUS_BUFFER_TOO_SMALL)
            break;
        ExFreePoolWithTag(info, CM_TAG_RTL);
        size = result + 64;
    }
    if (status == STATUS_OBJECT_NAME_NOT_FOUND) {
        ExFreePoolWithTag(info, CM_TAG_RTL);
        if (Entry->Flags & RTL_QUERY_REGISTRY_REQUIRED)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        ULONG defType = Entry->DefaultType & ~RTL_QUERY_REGISTRY_TYPECHECK_MASK;
        if (defType == REG_NONE || (Entry->QueryRoutine == NULL && !(Entry->Flags & RTL_QUERY_REGISTRY_DIRECT)))
            return STATUS_SUCCESS;
        ULONG len = Entry->DefaultLength;
        if (len == 0 && Entry->DefaultData != NULL && CmpIsString(defType)) {
            PCWSTR s = Entry->DefaultData;
            if (defType == REG_MULTI_SZ) {
                while (s[len / sizeof(WCHAR)] != 0)
                    len += (ULONG)(CmpWcslen(s + len / sizeof(WCHAR)) + 1) * sizeof(WCHAR);
                len += sizeof(WCHAR);
            } else {
                len = (ULONG)(CmpWcslen(s) + 1) * sizeof(WCHAR);
            }
        }
        RTL_QUERY_REGISTRY_TABLE copy = *Entry;
        copy.Flags &= ~RTL_QUERY_REGISTRY_TYPECHECK; /* the caller's own default is what it asked for */
        return CmpDeliver(&copy, Entry->Name, defType, Entry->DefaultData, len, Context, Environment);
    }
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(info, CM_TAG_RTL);
        return status;
    }
    status = CmpDeliver(Entry, Entry->Name, info->Type, (PUCHAR)info + info->DataOffset, info->DataLength, Context,
                        Environment);
    ExFreePoolWithTag(info, CM_TAG_RTL);
    if (NT_SUCCESS(status) && (Entry->Flags & RTL_QUERY_REGISTRY_DELETE))
        status = ZwDeleteValueKey(Key, &vn);
    return status;
}

NTSTATUS NTAPI RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path, PRTL_QUERY_REGISTRY_TABLE QueryTable,
                                      PVOID Context, PVOID Environment)
{
    if (QueryTable == NULL)
        return STATUS_INVALID_PARAMETER;
    HANDLE top;
    BOOLEAN closeTop;
    NTSTATUS status = CmpRtlOpen(RelativeTo, Path, KEY_READ | KEY_SET_VALUE, FALSE, &top, &closeTop);
    if (status == STATUS_ACCESS_DENIED)
        status = CmpRtlOpen(RelativeTo, Path, KEY_READ, FALSE, &top, &closeTop);
    if (!NT_SUCCESS(status))
        return status;
    HANDLE cur = top, sub = NULL;
    for (PRTL_QUERY_REGISTRY_TABLE e = QueryTable;
         e->QueryRoutine != NULL || (e->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_DIRECT)); e++) {
        if ((e->Flags & RTL_QUERY_REGISTRY_DIRECT) && (e->Name == NULL || e->EntryContext == NULL)) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        if (e->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_TOPKEY)) {
            if (sub != NULL) {
                ZwClose(sub);
                sub = NULL;
            }
            cur = top;
        }
        if ((e->Flags & RTL_QUERY_REGISTRY_SUBKEY) && e->Name != NULL) {
            UNICODE_STRING sn;
            RtlInitUnicodeString(&sn, e->Name);
            OBJECT_ATTRIBUTES oa;
            InitializeObjectAttributes(&oa, &sn, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, top, NULL);
            status = ZwOpenKey(&sub, KEY_READ | KEY_SET_VALUE, &oa);
            if (status == STATUS_ACCESS_DENIED)
                status = ZwOpenKey(&sub, KEY_READ, &oa);
            if (!NT_SUCCESS(status))
                break;
            cur = sub;
            if (e->QueryRoutine == NULL)
                continue;
            /* A subkey entry with a routine is called for every value of the subkey. */
            RTL_QUERY_REGISTRY_TABLE all = *e;
            all.Name = NULL;
            status = CmpQueryOneEntry(cur, &all, Context, Environment);
            if (!NT_SUCCESS(status))
                break;
            continue;
        }
        if (e->Flags & RTL_QUERY_REGISTRY_TOPKEY && e->QueryRoutine == NULL)
            continue;
        status = CmpQueryOneEntry(cur, e, Context, Environment);
        if (!NT_SUCCESS(status))
            break;
    }
    if (sub != NULL)
        ZwClose(sub);
    if (closeTop)
        ZwClose(top);
    return status;
}

NTSTATUS NTAPI RtlQueryRegistryValuesEx(ULONG RelativeTo, PCWSTR Path, PRTL_QUERY_REGISTRY_TABLE QueryTable,
                                        PVOID Context, PVOID Environment)
{
    return RtlQueryRegistryValues(RelativeTo, Path, QueryTable, Context, Environment);
}

NTSTATUS NTAPI RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName, ULONG ValueType,
                                     PVOID ValueData, ULONG ValueLength)
{
    HANDLE key;
    BOOLEAN close;
    NTSTATUS status = CmpRtlOpen(RelativeTo, Path, KEY_SET_VALUE, FALSE, &key, &close);
    if (!NT_SUCCESS(status))
        return status;
    UNICODE_STRING vn;
    RtlInitUnicodeString(&vn, ValueName);
    status = ZwSetValueKey(key, &vn, 0, ValueType, ValueData, ValueLength);
    if (close)
        ZwClose(key);
    return status;
}

NTSTATUS NTAPI RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
    HANDLE key;
    BOOLEAN close;
    NTSTATUS status = CmpRtlOpen(RelativeTo, Path, KEY_SET_VALUE, FALSE, &key, &close);
    if (!NT_SUCCESS(status))
        return status;
    UNICODE_STRING vn;
    RtlInitUnicodeString(&vn, ValueName);
    status = ZwDeleteValueKey(key, &vn);
    if (close)
        ZwClose(key);
    return status;
}

NTSTATUS NTAPI RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    HANDLE key;
    BOOLEAN close;
    NTSTATUS status = CmpRtlOpen(RelativeTo, Path, KEY_READ, FALSE, &key, &close);
    if (NT_SUCCESS(status) && close)
        ZwClose(key);
    return status;
}

NTSTATUS NTAPI RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    HANDLE key;
    BOOLEAN close;
    NTSTATUS status = CmpRtlOpen(RelativeTo, Path, KEY_WRITE, TRUE, &key, &close);
    if (NT_SUCCESS(status) && close)
        ZwClose(key);
    return status;
}

/* ---- service keys -------------------------------------------------------------------------------- */

static NTSTATUS CmpCopyString(PUNICODE_STRING Dest, PCWSTR Src, ULONG Bytes)
{
    while (Bytes >= sizeof(WCHAR) && Src[Bytes / sizeof(WCHAR) - 1] == 0)
        Bytes -= sizeof(WCHAR);
    Bytes &= ~1u;
    Dest->Buffer = ExAllocatePoolWithTag(PagedPool, Bytes + sizeof(WCHAR), CM_TAG_RTL);
    if (Dest->Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(Dest->Buffer, Src, Bytes);
    Dest->Buffer[Bytes / sizeof(WCHAR)] = 0;
    Dest->Length = (USHORT)Bytes;
    Dest->MaximumLength = (USHORT)(Bytes + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

static NTSTATUS CmpReadServiceValue(HANDLE Key, PCWSTR Name, ULONG WantType, PCM_SERVICE_INFORMATION Info,
                                    PVOID Out, BOOLEAN Required)
{
    UCHAR stackBuf[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 512];
    PKEY_VALUE_PARTIAL_INFORMATION p = (PKEY_VALUE_PARTIAL_INFORMATION)stackBuf;
    UNICODE_STRING vn;
    RtlInitUnicodeString(&vn, Name);
    ULONG result;
    NTSTATUS status = ZwQueryValueKey(Key, &vn, KeyValuePartialInformation, p, sizeof(stackBuf), &result);
    PKEY_VALUE_PARTIAL_INFORMATION heap = NULL;
    if (status == STATUS_BUFFER_OVERFLOW) {
        heap = ExAllocatePoolWithTag(PagedPool, result, CM_TAG_RTL);
        if (heap == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        p = heap;
        status = ZwQueryValueKey(Key, &vn, KeyValuePartialInformation, p, result, &result);
    }
    (void)Info;
    if (status == STATUS_OBJECT_NAME_NOT_FOUND && !Required)
        status = STATUS_SUCCESS;
    else if (NT_SUCCESS(status)) {
        if (WantType == REG_DWORD) {
            if (p->Type != REG_DWORD || p->DataLength != sizeof(ULONG))
                status = STATUS_OBJECT_TYPE_MISMATCH;
            else
                RtlCopyMemory(Out, p->Data, sizeof(ULONG));
        } else {
            if (p->Type != REG_SZ && p->Type != REG_EXPAND_SZ)
                status = STATUS_OBJECT_TYPE_MISMATCH;
            else
                status = CmpCopyString(Out, (PCWSTR)p->Data, p->DataLength);
        }
    }
    if (heap != NULL)
        ExFreePoolWithTag(heap, CM_TAG_RTL);
    return status;
}

NTSTATUS CmQueryServiceInformation(PCUNICODE_STRING ServiceKeyPath, PCM_SERVICE_INFORMATION Info)
{
    if (ServiceKeyPath == NULL || Info == NULL || ServiceKeyPath->Length == 0)
        return STATUS_INVALID_PARAMETER;
    RtlZeroMemory(Info, sizeof(*Info));
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, (PUNICODE_STRING)ServiceKeyPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
                               NULL);
    HANDLE key;
    NTSTATUS status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(status))
        return status;
    status = CmpReadServiceValue(key, L"Type", REG_DWORD, Info, &Info->Type, TRUE);
    if (NT_SUCCESS(status))
        status = CmpReadServiceValue(key, L"Start", REG_DWORD, Info, &Info->Start, TRUE);
    if (NT_SUCCESS(status))
        status = CmpReadServiceValue(key, L"ErrorControl", REG_DWORD, Info, &Info->ErrorControl, FALSE);
    if (NT_SUCCESS(status))
        status = CmpReadServiceValue(key, L"ImagePath", REG_SZ, Info, &Info->ImagePath, FALSE);
    if (NT_SUCCESS(status))
        status = CmpReadServiceValue(key, L"Group", REG_SZ, Info, &Info->Group, FALSE);
    if (NT_SUCCESS(status)) {
        /* The service name is the key's last path component. */
        USHORT n = ServiceKeyPath->Length / sizeof(WCHAR);
        while (n && ServiceKeyPath->Buffer[n - 1] == L'\\')
            n--;
        USHORT s = n;
        while (s && ServiceKeyPath->Buffer[s - 1] != L'\\')
            s--;
        status = CmpCopyString(&Info->ServiceName, ServiceKeyPath->Buffer + s, (n - s) * sizeof(WCHAR));
    }
    if (NT_SUCCESS(status)) {
        UNICODE_STRING pn;
        RtlInitUnicodeString(&pn, L"Parameters");
        InitializeObjectAttributes(&oa, &pn, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, key, NULL);
        HANDLE params;
        NTSTATUS ps = ZwOpenKey(&params, KEY_READ, &oa);
        if (NT_SUCCESS(ps)) {
            UCHAR buf[sizeof(KEY_NAME_INFORMATION) + 1024];
            ULONG result;
            PKEY_NAME_INFORMATION ni = (PKEY_NAME_INFORMATION)buf;
            PKEY_NAME_INFORMATION heap = NULL;
            ps = ZwQueryKey(params, KeyNameInformation, ni, sizeof(buf), &result);
            if (ps == STATUS_BUFFER_OVERFLOW) {
                heap = ExAllocatePoolWithTag(PagedPool, result, CM_TAG_RTL);
                if (heap == NULL)
                    ps = STATUS_INSUFFICIENT_RESOURCES;
                else
                    ps = ZwQueryKey(params, KeyNameInformation, (ni = heap), result, &result);
            }
            if (NT_SUCCESS(ps))
                status = CmpCopyString(&Info->ParametersKey, ni->Name, ni->NameLength);
            else
                status = ps;
            if (heap != NULL)
                ExFreePoolWithTag(heap, CM_TAG_RTL);
            ZwClose(params);
        }
    }
    ZwClose(key);
    if (!NT_SUCCESS(status))
        CmFreeServiceInformation(Info);
    return status;
}

VOID CmFreeServiceInformation(PCM_SERVICE_INFORMATION Info)
{
    PUNICODE_STRING s[] = {&Info->ServiceName, &Info->ImagePath, &Info->Group, &Info->ParametersKey};
    for (ULONG i = 0; i < RTL_NUMBER_OF(s); i++) {
        if (s[i]->Buffer != NULL)
            ExFreePoolWithTag(s[i]->Buffer, CM_TAG_RTL);
        s[i]->Buffer = NULL;
        s[i]->Length = s[i]->MaximumLength = 0;
    }
}
