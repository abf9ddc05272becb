/*
 * Registry callbacks (CmRegisterCallbackEx / CmUnRegisterCallback).
 *
 * The callback list is ordered by altitude, highest first; legacy
 * CmRegisterCallback entries have no altitude and come after all others in
 * registration order. An operation snapshots the list, taking rundown
 * protection on each entry, then calls the pre-notifications from the top
 * and the post-notifications from the bottom with no lock held, so a
 * callback may use the registry itself. Unregistering removes the entry
 * and waits for the calls in flight (so a callback must not unregister
 * itself).
 *
 * Locking: CmpCallbackLock (push lock, in a critical region) guards the
 * list, shared while snapshotting. PASSIVE_LEVEL.
 */
#include "cmp.h"

typedef struct _CM_CALLBACK_BLOCK {
    LIST_ENTRY Link;
    PEX_CALLBACK_FUNCTION Function;
    PVOID Context;
    LARGE_INTEGER Cookie;
    BOOLEAN HasAltitude;
    UNICODE_STRING Altitude; /* copy, after the block */
    EX_RUNDOWN_REF Rundown;
} CM_CALLBACK_BLOCK, *PCM_CALLBACK_BLOCK;

static LIST_ENTRY CmpCallbackList;
static EX_PUSH_LOCK CmpCallbackLock;
static volatile LONG CmpCallbackCount;
static volatile LONG64 CmpNextCookie;

VOID CmpInitializeCallbacks(void)
{
    InitializeListHead(&CmpCallbackList);
    ExInitializePushLock(&CmpCallbackLock);
    CmpNextCookie = 0x10000;
}

BOOLEAN CmpCallbacksRegistered(void)
{
    return __atomic_load_n(&CmpCallbackCount, __ATOMIC_ACQUIRE) != 0;
}

/* An altitude is a decimal number, digits with at most one '.'. */
static BOOLEAN CmpValidAltitude(PCUNICODE_STRING A)
{
    if (A == NULL || A->Length == 0 || (A->Length & 1) || A->Buffer == NULL)
        return FALSE;
    ULONG dots = 0;
    for (USHORT i = 0; i < A->Length / sizeof(WCHAR); i++) {
        WCHAR c = A->Buffer[i];
        if (c == L'.') {
            if (++dots > 1 || i == 0)
                return FALSE;
        } else if (c < L'0' || c > L'9') {
            return FALSE;
        }
    }
    return A->Buffer[A->Length / sizeof(WCHAR) - 1] != L'.';
}

/* Numeric comparison of two valid altitudes. */
static LONG CmpCompareAltitudes(PCUNICODE_STRING A, PCUNICODE_STRING B)
{
    USHORT na = A->Length / sizeof(WCHAR), nb = B->Length / sizeof(WCHAR);
    USHORT ia = 0, ib = 0;
    while (ia < na && A->Buffer[ia] == L'0')
        ia++;
    while (ib < nb && B->Buffer[ib] == L'0')
        ib++;
    USHORT ea = ia, eb = ib;
    while (ea < na && A->Buffer[ea] != L'.')
        ea++;
    while (eb < nb && B->Buffer[eb] != L'.')
        eb++;
    if (ea - ia != eb - ib)
        return (ea - ia) < (eb - ib) ? -1 : 1;
    for (USHORT k = 0; k < ea - ia; k++)
        if (A->Buffer[ia + k] != B->Buffer[ib + k])
            return A->Buffer[ia + k] < B->Buffer[ib + k] ? -1 : 1;
    /* Fractions: compare digit by digit, a missing digit counting as 0. */
    USHORT fa = ea < na ? ea + 1 : na, fb = eb < nb ? eb + 1 : nb;
    while (fa < na || fb < nb) {
        WCHAR ca = fa < na ? A->Buffer[fa++] : L'0';
        WCHAR cb = fb < nb ? B->Buffer[fb++] : L'0';
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return 0;
}

static NTSTATUS CmpRegister(PEX_CALLBACK_FUNCTION Function, PCUNICODE_STRING Altitude, PVOID Context,
                            PLARGE_INTEGER Cookie)
{
    if (Function == NULL || Cookie == NULL)
        return STATUS_INVALID_PARAMETER;
    if (Altitude != NULL && !CmpValidAltitude(Altitude))
        return STATUS_INVALID_PARAMETER;
    USHORT altLen = Altitude ? Altitude->Length : 0;
    PCM_CALLBACK_BLOCK b = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*b) + altLen, CM_TAG_CALLBACK);
    if (b == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(b, sizeof(*b));
    b->Function = Function;
    b->Context = Context;
    b->HasAltitude = Altitude != NULL;
    if (Altitude != NULL) {
        b->Altitude.Buffer = (PWSTR)(b + 1);
        RtlCopyMemory(b->Altitude.Buffer, Altitude->Buffer, altLen);
        b->Altitude.Length = b->Altitude.MaximumLength = altLen;
    }
    ExInitializeRundownProtection(&b->Rundown);
    b->Cookie.QuadPart = __atomic_add_fetch(&CmpNextCookie, 1, __ATOMIC_RELAXED);

    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&CmpCallbackLock);
    PLIST_ENTRY before = &CmpCallbackList; /* insert before this entry */
    for (PLIST_ENTRY e = CmpCallbackList.Flink; e != &CmpCallbackList; e = e->Flink) {
        PCM_CALLBACK_BLOCK o = CONTAINING_RECORD(e, CM_CALLBACK_BLOCK, Link);
        if (!b->HasAltitude)
            continue; /* legacy entries go last */
        if (!o->HasAltitude) {
            before = e;
            break;
        }
        LONG c = CmpCompareAltitudes(&b->Altitude, &o->Altitude);
        if (c == 0) {
            ExReleasePushLockExclusive(&CmpCallbackLock);
            KeLeaveCriticalRegion();
            ExFreePoolWithTag(b, CM_TAG_CALLBACK);
            return STATUS_FLT_INSTANCE_ALTITUDE_COLLISION;
        }
        if (c > 0) {
            before = e;
            break;
        }
    }
    InsertTailList(before, &b->Link);
    __atomic_add_fetch(&CmpCallbackCount, 1, __ATOMIC_RELEASE);
    ExReleasePushLockExclusive(&CmpCallbackLock);
    KeLeaveCriticalRegion();
    *Cookie = b->Cookie;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI CmRegisterCallbackEx(PEX_CALLBACK_FUNCTION Function, PCUNICODE_STRING Altitude, PVOID Driver,
                                    PVOID Context, PLARGE_INTEGER Cookie, PVOID Reserved)
{
    (void)Driver;
    if (Reserved != NULL || Altitude == NULL)
        return STATUS_INVALID_PARAMETER;
    return CmpRegister(Function, Altitude, Context, Cookie);
}

NTSTATUS NTAPI CmRegisterCallback(PEX_CALLBACK_FUNCTION Function, PVOID Context, PLARGE_INTEGER Cookie)
{
    return CmpRegister(Function, NULL, Context, Cookie);
}

NTSTATUS NTAPI CmUnRegisterCallback(LARGE_INTEGER Cookie)
{
    PCM_CALLBACK_BLOCK found = NULL;
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&CmpCallbackLock);
    for (PLIST_ENTRY e = CmpCallbackList.Flink; e != &CmpCallbackList; e = e->Flink) {
        PCM_CALLBACK_BLOCK b = CONTAINING_RECORD(e, CM_CALLBACK_BLOCK, Link);
        if (b->Cookie.QuadPart == Cookie.QuadPart) {
            RemoveEntryList(&b->Link);
            __atomic_sub_fetch(&CmpCallbackCount, 1, __ATOMIC_RELEASE);
            found = b;
            break;
        }
    }
    ExReleasePushLockExclusive(&CmpCallbackLock);
    KeLeaveCriticalRegion();
    if (found == NULL)
        return STATUS_INVALID_PARAMETER;
    ExWaitForRundownProtectionRelease(&found->Rundown);
    ExFreePoolWithTag(found, CM_TAG_CALLBACK);
    return STATUS_SUCCESS;
}

NTSTATUS CmpCallPre(PCM_CALLBACK_CALL Call, REG_NOTIFY_CLASS Class, PVOID Info, ULONG CallContextOffset)
{
    Call->Count = Call->Called = 0;
    Call->Blocks = Call->Inline;
    Call->CallContexts = Call->InlineContext;
    if (!CmpCallbacksRegistered())
        return STATUS_SUCCESS;
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&CmpCallbackLock);
    ULONG n = 0;
    for (PLIST_ENTRY e = CmpCallbackList.Flink; e != &CmpCallbackList; e = e->Flink)
        n++;
    if (n > CMP_MAX_INLINE_CALLBACKS) {
        Call->Blocks = ExAllocatePoolWithTag(NonPagedPoolNx, n * (sizeof(PVOID) * 2), CM_TAG_CALLBACK);
        if (Call->Blocks == NULL) {
            ExReleasePushLockShared(&CmpCallbackLock);
            KeLeaveCriticalRegion();
            Call->Blocks = Call->Inline;
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        Call->CallContexts = (PVOID *)(Call->Blocks + n);
    }
    for (PLIST_ENTRY e = CmpCallbackList.Flink; e != &CmpCallbackList; e = e->Flink) {
        PCM_CALLBACK_BLOCK b = CONTAINING_RECORD(e, CM_CALLBACK_BLOCK, Link);
        if (ExAcquireRundownProtection(&b->Rundown))
            Call->Blocks[Call->Count++] = b;
    }
    ExReleasePushLockShared(&CmpCallbackLock);
    KeLeaveCriticalRegion();

    PVOID *callContext = (PVOID *)((PUCHAR)Info + CallContextOffset);
    for (ULONG i = 0; i < Call->Count; i++) {
        PCM_CALLBACK_BLOCK b = Call->Blocks[i];
        *callContext = NULL;
        NTSTATUS status = b->Function(b->Context, (PVOID)(ULONG_PTR)Class, Info);
        Call->CallContexts[i] = *callContext;
        if (status == STATUS_CALLBACK_BYPASS || !NT_SUCCESS(status))
            return status; /* the callbacks above this one get the post-notification */
        Call->Called = i + 1;
    }
    return STATUS_SUCCESS;
}

NTSTATUS CmpCallPost(PCM_CALLBACK_CALL Call, REG_NOTIFY_CLASS Class, PVOID Object, NTSTATUS Status, PVOID PreInfo)
{
    for (ULONG i = Call->Called; i-- > 0;) {
        PCM_CALLBACK_BLOCK b = Call->Blocks[i];
        REG_POST_OPERATION_INFORMATION post;
        RtlZeroMemory(&post, sizeof(post));
        post.Object = Object;
        post.Status = Status;
        post.PreInformation = PreInfo;
        post.ReturnStatus = Status;
        post.CallContext = Call->CallContexts[i];
        /* STATUS_CALLBACK_BYPASS from a post-callback replaces the result. */
        if (b->Function(b->Context, (PVOID)(ULONG_PTR)Class, &post) == STATUS_CALLBACK_BYPASS)
            Status = post.ReturnStatus;
    }
    for (ULONG i = 0; i < Call->Count; i++)
        ExReleaseRundownProtection(&Call->Blocks[i]->Rundown);
    if (Call->Blocks != Call->Inline)
        ExFreePoolWithTag(Call->Blocks, CM_TAG_CALLBACK);
    Call->Count = Call->Called = 0;
    Call->Blocks = Call->Inline;
    return Status;
}
