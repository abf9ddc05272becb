/*
 * The key tree: nodes, sorted subkey arrays, value lists, path resolution
 * with registry symbolic links.
 *
 * Locking (see cmp.h): every function here that reads the tree expects
 * CmpRegistryLock held shared or exclusive, every one that changes it
 * exclusive; none takes it. Reference counts are atomic. PASSIVE_LEVEL.
 */
#include "cmp.h"

ERESOURCE CmpRegistryLock;
PCM_KEY_NODE CmpRootNode;

static const WCHAR CmpLinkValueName[] = L"SymbolicLinkValue";

NTSTATUS CmpValidateName(PCUNICODE_STRING Name, ULONG MaxBytes)
{
    if (Name == NULL || Name->Length == 0)
        return STATUS_SUCCESS;
    if ((Name->Length & 1) || Name->Buffer == NULL || Name->Length > Name->MaximumLength || Name->Length > MaxBytes)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

LONG CmpCompareNames(PCUNICODE_STRING A, PCUNICODE_STRING B)
{
    return RtlCompareUnicodeString(A, B, TRUE);
}

VOID CmpReferenceNode(PCM_KEY_NODE Node)
{
    LONG n = __atomic_add_fetch(&Node->RefCount, 1, __ATOMIC_RELAXED);
    if (n <= 1)
        KeBugCheckEx(REGISTRY_ERROR, 0x20, (ULONG_PTR)Node, (ULONG_PTR)n, 0);
}

static VOID CmpFreeValue(PCM_VALUE Value)
{
    ExFreePoolWithTag(Value, CM_TAG_VALUE);
}

VOID CmpDereferenceNode(PCM_KEY_NODE Node)
{
    LONG n = __atomic_sub_fetch(&Node->RefCount, 1, __ATOMIC_ACQ_REL);
    if (n > 0)
        return;
    if (n < 0 || !(Node->Flags & CM_KEY_DELETED) || Node->SubKeyCount != 0)
        KeBugCheckEx(REGISTRY_ERROR, 0x21, (ULONG_PTR)Node, (ULONG_PTR)n, Node->Flags);
    for (ULONG i = 0; i < Node->ValueCount; i++)
        CmpFreeValue(Node->Values[i]);
    if (Node->Values != NULL)
        ExFreePoolWithTag(Node->Values, CM_TAG_VALUE);
    if (Node->SubKeys != NULL)
        ExFreePoolWithTag(Node->SubKeys, CM_TAG_KEY);
    if (Node->Class.Buffer != NULL)
        ExFreePoolWithTag(Node->Class.Buffer, CM_TAG_NAME);
    if (Node->Name.Buffer != (PWSTR)(Node + 1))
        ExFreePoolWithTag(Node->Name.Buffer, CM_TAG_NAME); /* renamed */
    if (Node->Security != NULL)
        SeDeassignSecurity(&Node->Security);
    ExFreePoolWithTag(Node, CM_TAG_KEY);
}

PCM_KEY_NODE CmpAllocateNode(PCUNICODE_STRING Name, ULONG Flags)
{
    PCM_KEY_NODE n = ExAllocatePoolWithTag(PagedPool, sizeof(CM_KEY_NODE) + Name->Length + sizeof(WCHAR), CM_TAG_KEY);
    if (n == NULL)
        return NULL;
    RtlZeroMemory(n, sizeof(*n));
    PWCHAR buf = (PWCHAR)(n + 1);
    RtlCopyMemory(buf, Name->Buffer, Name->Length);
    buf[Name->Length / sizeof(WCHAR)] = UNICODE_NULL;
    n->Name.Buffer = buf;
    n->Name.Length = Name->Length;
    n->Name.MaximumLength = (USHORT)(Name->Length + sizeof(WCHAR));
    n->RefCount = 1; /* the tree's, once inserted */
    n->Flags = Flags;
    InitializeListHead(&n->NotifyList);
    KeQuerySystemTime(&n->LastWriteTime);
    return n;
}

VOID CmpTouch(PCM_KEY_NODE Node)
{
    KeQuerySystemTime(&Node->LastWriteTime);
}

ULONG CmpFindSubKey(PCM_KEY_NODE Parent, PCUNICODE_STRING Name, BOOLEAN *Found)
{
    ULONG lo = 0, hi = Parent->SubKeyCount;
    while (lo < hi) {
        ULONG mid = lo + (hi - lo) / 2;
        LONG c = CmpCompareNames(Name, &Parent->SubKeys[mid]->Name);
        if (c == 0) {
            *Found = TRUE;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *Found = FALSE;
    return lo;
}

NTSTATUS CmpInsertSubKey(PCM_KEY_NODE Parent, PCM_KEY_NODE Child)
{
    BOOLEAN found;
    ULONG at = CmpFindSubKey(Parent, &Child->Name, &found);
    if (found)
        return STATUS_OBJECT_NAME_COLLISION;
    if (Parent->SubKeyCount == Parent->SubKeyCapacity) {
        ULONG cap = Parent->SubKeyCapacity ? Parent->SubKeyCapacity * 2 : 4;
        PCM_KEY_NODE *arr = ExAllocatePoolWithTag(PagedPool, cap * sizeof(PCM_KEY_NODE), CM_TAG_KEY);
        if (arr == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (Parent->SubKeyCount)
            RtlCopyMemory(arr, Parent->SubKeys, Parent->SubKeyCount * sizeof(PCM_KEY_NODE));
        if (Parent->SubKeys != NULL)
            ExFreePoolWithTag(Parent->SubKeys, CM_TAG_KEY);
        Parent->SubKeys = arr;
        Parent->SubKeyCapacity = cap;
    }
    RtlMoveMemory(&Parent->SubKeys[at + 1], &Parent->SubKeys[at], (Parent->SubKeyCount - at) * sizeof(PCM_KEY_NODE));
    Parent->SubKeys[at] = Child;
    Parent->SubKeyCount++;
    Child->Parent = Parent;
    return STATUS_SUCCESS;
}

VOID CmpRemoveSubKey(PCM_KEY_NODE Parent, PCM_KEY_NODE Child)
{
    for (ULONG i = 0; i < Parent->SubKeyCount; i++) {
        if (Parent->SubKeys[i] == Child) {
            RtlMoveMemory(&Parent->SubKeys[i], &Parent->SubKeys[i + 1],
                          (Parent->SubKeyCount - i - 1) * sizeof(PCM_KEY_NODE));
            Parent->SubKeyCount--;
            Child->Parent = NULL;
            return;
        }
    }
    KeBugCheckEx(REGISTRY_ERROR, 0x22, (ULONG_PTR)Parent, (ULONG_PTR)Child, 0);
}

PCM_VALUE CmpFindValue(PCM_KEY_NODE Node, PCUNICODE_STRING Name, PULONG Index)
{
    UNICODE_STRING empty = {0, 0, NULL};
    if (Name == NULL)
        Name = &empty;
    for (ULONG i = 0; i < Node->ValueCount; i++) {
        PCM_VALUE v = Node->Values[i];
        if (v->Name.Length == Name->Length && (Name->Length == 0 || RtlEqualUnicodeString(&v->Name, Name, TRUE))) {
            if (Index != NULL)
                *Index = i;
            return v;
        }
    }
    return NULL;
}

NTSTATUS CmpSetValue(PCM_KEY_NODE Node, PCUNICODE_STRING Name, ULONG Type, const VOID *Data, ULONG DataLength)
{
    USHORT nameLen = Name ? Name->Length : 0;
    SIZE_T size = sizeof(CM_VALUE) + nameLen + sizeof(WCHAR);
    size = ALIGN_UP_BY(size, 8);
    if (DataLength > 0x7FFFFFF0u - size)
        return STATUS_INSUFFICIENT_RESOURCES;
    PCM_VALUE v = ExAllocatePoolWithTag(PagedPool, size + DataLength, CM_TAG_VALUE);
    if (v == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PWCHAR nameBuf = (PWCHAR)(v + 1);
    if (nameLen)
        RtlCopyMemory(nameBuf, Name->Buffer, nameLen);
    nameBuf[nameLen / sizeof(WCHAR)] = UNICODE_NULL;
    v->Name.Buffer = nameBuf;
    v->Name.Length = nameLen;
    v->Name.MaximumLength = (USHORT)(nameLen + sizeof(WCHAR));
    v->Type = Type;
    v->DataLength = DataLength;
    v->Data = (PUCHAR)v + size;
    if (DataLength)
        RtlCopyMemory(v->Data, Data, DataLength);

    ULONG index;
    PCM_VALUE old = CmpFindValue(Node, Name, &index);
    if (old != NULL) {
        /* Replacing keeps the value's place in the list (and its name's case). */
        if (old->Name.Length)
            RtlCopyMemory(nameBuf, old->Name.Buffer, old->Name.Length);
        Node->Values[index] = v;
        CmpFreeValue(old);
    } else {
        if (Node->ValueCount == Node->ValueCapacity) {
            ULONG cap = Node->ValueCapacity ? Node->ValueCapacity * 2 : 4;
            PCM_VALUE *arr = ExAllocatePoolWithTag(PagedPool, cap * sizeof(PCM_VALUE), CM_TAG_VALUE);
            if (arr == NULL) {
                CmpFreeValue(v);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            if (Node->ValueCount)
                RtlCopyMemory(arr, Node->Values, Node->ValueCount * sizeof(PCM_VALUE));
            if (Node->Values != NULL)
                ExFreePoolWithTag(Node->Values, CM_TAG_VALUE);
            Node->Values = arr;
            Node->ValueCapacity = cap;
        }
        Node->Values[Node->ValueCount++] = v;
    }
    CmpTouch(Node);
    return STATUS_SUCCESS;
}

NTSTATUS CmpDeleteValue(PCM_KEY_NODE Node, PCUNICODE_STRING Name)
{
    ULONG index;
    PCM_VALUE v = CmpFindValue(Node, Name, &index);
    if (v == NULL)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    RtlMoveMemory(&Node->Values[index], &Node->Values[index + 1], (Node->ValueCount - index - 1) * sizeof(PCM_VALUE));
    Node->ValueCount--;
    CmpFreeValue(v);
    CmpTouch(Node);
    return STATUS_SUCCESS;
}

NTSTATUS CmpDeleteNode(PCM_KEY_NODE Node)
{
    if (Node->Flags & CM_KEY_DELETED)
        return STATUS_KEY_DELETED;
    if ((Node->Flags & CM_KEY_NO_DELETE) || Node->SubKeyCount != 0 || Node->Parent == NULL)
        return STATUS_CANNOT_DELETE;
    PCM_KEY_NODE parent = Node->Parent;
    CmpRemoveSubKey(parent, Node);
    Node->Flags |= CM_KEY_DELETED;
    CmpTouch(parent);
    CmpCompleteNodeNotifies(Node, STATUS_KEY_DELETED, NULL);
    CmpReportChange(parent, REG_NOTIFY_CHANGE_NAME);
    /* The values go now: nothing can reach them through a deleted key. */
    for (ULONG i = 0; i < Node->ValueCount; i++)
        CmpFreeValue(Node->Values[i]);
    Node->ValueCount = 0;
    CmpDereferenceNode(Node); /* the tree's reference; the caller holds another */
    return STATUS_SUCCESS;
}

BOOLEAN CmpLinkTarget(PCM_KEY_NODE Link, PUNICODE_STRING Target)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, CmpLinkValueName);
    PCM_VALUE v = CmpFindValue(Link, &name, NULL);
    if (v == NULL || v->Type != REG_LINK || v->DataLength == 0 || (v->DataLength & 1) ||
        v->DataLength > UNICODE_STRING_MAX_BYTES)
        return FALSE;
    Target->Buffer = (PWSTR)v->Data;
    Target->Length = Target->MaximumLength = (USHORT)v->DataLength;
    return TRUE;
}

/* Splits *Rest (leading separators skipped) into its first component. */
static BOOLEAN CmpNextComponent(PUNICODE_STRING Rest, PUNICODE_STRING Component)
{
    while (Rest->Length && Rest->Buffer[0] == L'\\') {
        Rest->Buffer++;
        Rest->Length -= sizeof(WCHAR);
    }
    if (Rest->Length == 0)
        return FALSE;
    USHORT n = Rest->Length / sizeof(WCHAR), i = 0;
    while (i < n && Rest->Buffer[i] != L'\\')
        i++;
    Component->Buffer = Rest->Buffer;
    Component->Length = Component->MaximumLength = (USHORT)(i * sizeof(WCHAR));
    Rest->Buffer += i;
    Rest->Length = (USHORT)((n - i) * sizeof(WCHAR));
    Rest->MaximumLength = Rest->Length;
    return TRUE;
}

static BOOLEAN CmpOnlySeparators(PCUNICODE_STRING Rest)
{
    for (USHORT i = 0; i < Rest->Length / sizeof(WCHAR); i++)
        if (Rest->Buffer[i] != L'\\')
            return FALSE;
    return TRUE;
}

/* A link target "\REGISTRY\X\Y" joined with the rest of the path, as a path below \REGISTRY. */
static NTSTATUS CmpBuildReparse(PCUNICODE_STRING Target, PCUNICODE_STRING Rest, PWSTR *Buffer, PUNICODE_STRING Out)
{
    static const WCHAR prefix[] = L"\\REGISTRY";
    UNICODE_STRING p = {sizeof(prefix) - sizeof(WCHAR), sizeof(prefix) - sizeof(WCHAR), (PWSTR)prefix};
    if (Target->Length < p.Length)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    UNICODE_STRING head = {p.Length, p.Length, Target->Buffer};
    if (!RtlEqualUnicodeString(&head, &p, TRUE))
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (Target->Length > p.Length && Target->Buffer[p.Length / sizeof(WCHAR)] != L'\\')
        return STATUS_OBJECT_NAME_NOT_FOUND;
    ULONG len = (ULONG)Target->Length - p.Length + Rest->Length;
    if (len > UNICODE_STRING_MAX_BYTES)
        return STATUS_NAME_TOO_LONG;
    PWSTR buf = ExAllocatePoolWithTag(PagedPool, len + sizeof(WCHAR), CM_TAG_TEMP);
    if (buf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(buf, (PUCHAR)Target->Buffer + p.Length, Target->Length - p.Length);
    RtlCopyMemory((PUCHAR)buf + Target->Length - p.Length, Rest->Buffer, Rest->Length);
    if (*Buffer != NULL)
        ExFreePoolWithTag(*Buffer, CM_TAG_TEMP);
    *Buffer = buf;
    Out->Buffer = buf;
    Out->Length = Out->MaximumLength = (USHORT)len;
    return STATUS_SUCCESS;
}

NTSTATUS CmpLookup(PCM_LOOKUP L)
{
    L->Result = NULL;
    L->Parent = NULL;
    L->Created = FALSE;
    PCM_KEY_NODE cur = L->Start;
    CmpReferenceNode(cur);
    UNICODE_STRING rest = L->Path ? *L->Path : (UNICODE_STRING){0, 0, NULL};
    PWSTR reparse = NULL;
    ULONG depth = 0;
    NTSTATUS status;
    for (;;) {
        if (cur->Flags & CM_KEY_DELETED) {
            status = STATUS_KEY_DELETED;
            break;
        }
        UNICODE_STRING comp;
        if (!CmpNextComponent(&rest, &comp)) {
            L->Result = cur;
            cur = NULL;
            status = STATUS_SUCCESS;
            break;
        }
        if (comp.Length > CM_MAX_KEY_NAME_BYTES) {
            status = STATUS_OBJECT_NAME_INVALID;
            break;
        }
        BOOLEAN last = CmpOnlySeparators(&rest);
        BOOLEAN found;
        ULONG at = CmpFindSubKey(cur, &comp, &found);
        if (!found) {
            if (!last || !L->Create) {
                status = STATUS_OBJECT_NAME_NOT_FOUND;
                break;
            }
            if ((cur->Flags & CM_KEY_VOLATILE) && !(L->Options & REG_OPTION_VOLATILE)) {
                status = STATUS_CHILD_MUST_BE_VOLATILE;
                break;
            }
            if (cur->Flags & CM_KEY_LINK) {
                status = STATUS_ACCESS_DENIED; /* a link key has no subkeys of its own */
                break;
            }
            if (L->AccessMode != KernelMode) {
                ACCESS_MASK granted;
                status = CmpAccessCheckNode(cur, L->AccessState, L->AccessMode, KEY_CREATE_SUB_KEY, &granted);
                if (!NT_SUCCESS(status))
                    break;
            }
            ULONG flags = 0;
            if (L->Options & REG_OPTION_VOLATILE)
                flags |= CM_KEY_VOLATILE;
            if (L->Options & REG_OPTION_CREATE_LINK)
                flags |= CM_KEY_LINK;
            PCM_KEY_NODE child = CmpAllocateNode(&comp, flags);
            if (child == NULL) {
                status = STATUS_INSUFFICIENT_RESOURCES;
                break;
            }
            if (L->Class != NULL && L->Class->Length != 0) {
                child->Class.Buffer = ExAllocatePoolWithTag(PagedPool, L->Class->Length, CM_TAG_NAME);
                if (child->Class.Buffer == NULL) {
                    child->Flags |= CM_KEY_DELETED;
                    CmpDereferenceNode(child);
                    status = STATUS_INSUFFICIENT_RESOURCES;
                    break;
                }
                RtlCopyMemory(child->Class.Buffer, L->Class->Buffer, L->Class->Length);
                child->Class.Length = child->Class.MaximumLength = L->Class->Length;
            }
            /* The descriptor is in place before anyone can see the key. */
            status = CmpAssignNodeSecurity(child, cur, L->ExplicitSecurity);
            if (NT_SUCCESS(status))
                status = CmpInsertSubKey(cur, child);
            if (!NT_SUCCESS(status)) {
                child->Flags |= CM_KEY_DELETED;
                CmpDereferenceNode(child);
                break;
            }
            CmpTouch(cur);
            CmpReportChange(cur, REG_NOTIFY_CHANGE_NAME);
            CmpReferenceNode(child);
            L->Result = child;
            L->Parent = cur;
            L->Created = TRUE;
            cur = NULL;
            status = STATUS_SUCCESS;
            break;
        }
        PCM_KEY_NODE child = cur->SubKeys[at];
        if ((child->Flags & CM_KEY_LINK) && !(last && L->OpenLink)) {
            UNICODE_STRING target;
            if (!CmpLinkTarget(child, &target)) {
                status = STATUS_OBJECT_NAME_NOT_FOUND;
                break;
            }
            if (++depth > CM_MAX_LINK_DEPTH) {
                status = STATUS_REPARSE_POINT_NOT_RESOLVED;
                break;
            }
            UNICODE_STRING next;
            status = CmpBuildReparse(&target, &rest, &reparse, &next);
            if (!NT_SUCCESS(status))
                break;
            rest = next;
            CmpDereferenceNode(cur);
            cur = CmpRootNode;
            CmpReferenceNode(cur);
            continue;
        }
        CmpReferenceNode(child);
        CmpDereferenceNode(cur);
        cur = child;
    }
    if (cur != NULL)
        CmpDereferenceNode(cur);
    if (reparse != NULL)
        ExFreePoolWithTag(reparse, CM_TAG_TEMP);
    return status;
}

ULONG CmpFullNameLength(PCM_KEY_NODE Node)
{
    if (Node->Flags & CM_KEY_DELETED)
        return 0;
    ULONG len = 0;
    for (PCM_KEY_NODE n = Node; n != NULL; n = n->Parent)
        len += sizeof(WCHAR) + n->Name.Length;
    return len;
}

VOID CmpWriteFullName(PCM_KEY_NODE Node, PWCHAR Buffer, ULONG Length)
{
    PUCHAR end = (PUCHAR)Buffer + Length;
    for (PCM_KEY_NODE n = Node; n != NULL; n = n->Parent) {
        end -= n->Name.Length;
        RtlCopyMemory(end, n->Name.Buffer, n->Name.Length);
        end -= sizeof(WCHAR);
        *(PWCHAR)end = L'\\';
    }
}
