/*
 * Executive handle tables.
 *
 * Layout and growth
 *  TableCode holds the top page and, in its low two bits, the number of
 *  levels above the leaves (0, 1 or 2). Pages are added, never removed, while
 *  the table lives; each new page is fully initialised before the store that
 *  publishes it (release), and NextHandleNeedingPool is raised after that, so
 *  a lock-free reader that sees an index below NextHandleNeedingPool (acquire)
 *  also sees every page on the path to its entry.
 *
 * Entry lock
 *  Bit 0 of an in-use entry's Value is its lock. A reader holds it only while
 *  it takes a reference on the object, so the object cannot be freed by a
 *  concurrent close between reading the pointer and counting the reference.
 *  A free entry's Value is 0; a lookup of it fails without locking.
 *
 * Locking and IRQL rules
 *  - Table.Lock (spin lock, DISPATCH_LEVEL) guards the free list, growth and
 *    HandleCount's high-water mark. Pool is never allocated under it: growth
 *    allocates first, then installs under the lock or frees on a lost race.
 *  - Entry locks nest inside nothing and are never held while acquiring
 *    Table.Lock, except by ExDestroyHandle, which takes Table.Lock while it
 *    still owns the (now empty) entry; no one waits on an empty entry.
 *  - Every routine runs at <= APC_LEVEL. Entry-lock holders are inside a
 *    critical region so no APC on their thread can wait for the same entry.
 */
#include <ntos/ex_handle.h>
#include <ntos/bugcodes.h>
#include <ntos/rtl.h>
#include <ntos/arch.h>

#define EXP_HANDLE_TAG 0x6274624f /* "Obtb" */
#define EXP_PAGE_SIZE 4096

_Static_assert(HANDLE_LEAF_ENTRIES * sizeof(HANDLE_TABLE_ENTRY) == EXP_PAGE_SIZE, "leaf page");
_Static_assert(HANDLE_MID_ENTRIES * sizeof(PVOID) == EXP_PAGE_SIZE, "mid page");

#define ExpHandleToIndex ExHandleToIndex

static inline HANDLE ExpIndexToHandle(ULONG Index)
{
    return (HANDLE)(ULONG_PTR)(Index << 2);
}

static PVOID ExpAllocatePage(void)
{
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, EXP_PAGE_SIZE, EXP_HANDLE_TAG);
    if (p != NULL)
        RtlZeroMemory(p, EXP_PAGE_SIZE);
    return p;
}

static inline PHANDLE_TABLE_ENTRY ExpLookupEntry(PHANDLE_TABLE Table, ULONG Index)
{
    return ExpLookupHandleTableEntry(Table, Index);
}

PHANDLE_TABLE ExCreateHandleTable(struct _EPROCESS *Process)
{
    PHANDLE_TABLE table = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*table), EXP_HANDLE_TAG);
    if (table == NULL)
        return NULL;
    RtlZeroMemory(table, sizeof(*table));
    PHANDLE_TABLE_ENTRY leaf = ExpAllocatePage();
    if (leaf == NULL) {
        ExFreePoolWithTag(table, EXP_HANDLE_TAG);
        return NULL;
    }
    /* Index 0 stays permanently unused so NULL never names an object. */
    for (ULONG i = 1; i < HANDLE_LEAF_ENTRIES; i++)
        leaf[i].NextFreeTableEntry = (i + 1 < HANDLE_LEAF_ENTRIES) ? (ULONG)(ULONG_PTR)ExpIndexToHandle(i + 1) : 0;
    table->FirstFree = (ULONG)(ULONG_PTR)ExpIndexToHandle(1);
    table->TableCode = (ULONG_PTR)leaf;
    table->NextHandleNeedingPool = HANDLE_LEAF_ENTRIES * 4;
    table->QuotaProcess = Process;
    KeInitializeSpinLock(&table->Lock);
    InitializeListHead(&table->HandleTableList);
    return table;
}

/*
 * Adds one leaf page (and the middle/top pages it needs) under Table->Lock,
 * using pages the caller allocated; returns how many of them it consumed
 * (the caller frees the rest). Pages are ordered: Pages[0] leaf, [1] mid, [2] top.
 */
static BOOLEAN ExpInstallLeaf(PHANDLE_TABLE Table, PVOID Pages[3], BOOLEAN Used[3])
{
    ULONG next = Table->NextHandleNeedingPool / 4;
    if (next >= HANDLE_MAX_INDEX)
        return FALSE;
    PHANDLE_TABLE_ENTRY leaf = Pages[0];
    for (ULONG i = 0; i < HANDLE_LEAF_ENTRIES; i++)
        leaf[i].NextFreeTableEntry =
            (i + 1 < HANDLE_LEAF_ENTRIES) ? (ULONG)(ULONG_PTR)ExpIndexToHandle(next + i + 1) : Table->FirstFree;

    ULONG_PTR code = Table->TableCode;
    PVOID top = (PVOID)(code & ~EXP_LEVEL_MASK);
    ULONG level = (ULONG)(code & EXP_LEVEL_MASK);
    ULONG_PTR newCode = code;
    if (level == 0) {
        PVOID *mid = Pages[1];
        mid[0] = top;
        mid[1] = leaf;
        Used[1] = TRUE;
        newCode = (ULONG_PTR)mid | 1;
    } else if (level == 1) {
        ULONG slot = next / HANDLE_LEAF_ENTRIES;
        if (slot < HANDLE_MID_ENTRIES) {
            __atomic_store_n(&((PVOID *)top)[slot], leaf, __ATOMIC_RELEASE);
        } else {
            PVOID *newTop = Pages[2];
            PVOID *mid = Pages[1];
            mid[0] = leaf;
            newTop[0] = top;
            newTop[1] = mid;
            Used[1] = Used[2] = TRUE;
            newCode = (ULONG_PTR)newTop | 2;
        }
    } else {
        ULONG midSlot = next / (HANDLE_LEAF_ENTRIES * HANDLE_MID_ENTRIES);
        ULONG leafSlot = (next / HANDLE_LEAF_ENTRIES) % HANDLE_MID_ENTRIES;
        PVOID **topPages = top;
        if (topPages[midSlot] == NULL) {
            PVOID *mid = Pages[1];
            mid[leafSlot] = leaf;
            Used[1] = TRUE;
            __atomic_store_n(&topPages[midSlot], mid, __ATOMIC_RELEASE);
        } else {
            __atomic_store_n(&topPages[midSlot][leafSlot], leaf, __ATOMIC_RELEASE);
        }
    }
    Used[0] = TRUE;
    if (newCode != code)
        __atomic_store_n(&Table->TableCode, newCode, __ATOMIC_RELEASE);
    __atomic_store_n(&Table->NextHandleNeedingPool, (next + HANDLE_LEAF_ENTRIES) * 4, __ATOMIC_RELEASE);
    Table->FirstFree = (ULONG)(ULONG_PTR)ExpIndexToHandle(next);
    return TRUE;
}

HANDLE ExCreateHandle(PHANDLE_TABLE Table, PHANDLE_TABLE_ENTRY Entry)
{
    KIRQL irql;
    for (;;) {
        KeAcquireSpinLock(&Table->Lock, &irql);
        if (Table->FirstFree != 0) {
            ULONG handle = Table->FirstFree;
            PHANDLE_TABLE_ENTRY e = ExpLookupEntry(Table, handle >> 2);
            Table->FirstFree = e->NextFreeTableEntry;
            LONG count = __atomic_add_fetch(&Table->HandleCount, 1, __ATOMIC_RELAXED);
            if ((ULONG)count > Table->HandleCountHighWatermark)
                Table->HandleCountHighWatermark = (ULONG)count;
            e->GrantedAccess = Entry->GrantedAccess;
            e->Spare = Entry->Spare;
            /* Publishing the pointer last makes the entry visible complete. */
            __atomic_store_n(&e->Value, Entry->Value & ~HANDLE_ENTRY_LOCK_BIT, __ATOMIC_RELEASE);
            KeReleaseSpinLock(&Table->Lock, irql);
            return (HANDLE)(ULONG_PTR)handle;
        }
        BOOLEAN full = Table->NextHandleNeedingPool / 4 >= HANDLE_MAX_INDEX;
        KeReleaseSpinLock(&Table->Lock, irql);
        if (full)
            return NULL;

        PVOID pages[3] = {ExpAllocatePage(), ExpAllocatePage(), ExpAllocatePage()};
        BOOLEAN used[3] = {FALSE, FALSE, FALSE};
        BOOLEAN ok = pages[0] != NULL && pages[1] != NULL && pages[2] != NULL;
        if (ok) {
            KeAcquireSpinLock(&Table->Lock, &irql);
            /* Someone else may have grown the table or freed a handle meanwhile. */
            if (Table->FirstFree == 0)
                ExpInstallLeaf(Table, pages, used);
            KeReleaseSpinLock(&Table->Lock, irql);
        }
        for (int i = 0; i < 3; i++)
            if (pages[i] != NULL && !used[i])
                ExFreePoolWithTag(pages[i], EXP_HANDLE_TAG);
        if (!ok)
            return NULL;
    }
}

PHANDLE_TABLE_ENTRY NTAPI ExMapHandleToPointer(PHANDLE_TABLE Table, HANDLE Handle)
{
    ULONG index = ExpHandleToIndex(Handle);
    if (index == 0)
        return NULL;
    PHANDLE_TABLE_ENTRY e = ExpLookupEntry(Table, index);
    if (e == NULL)
        return NULL;
    ULONG spins = 0;
    for (;;) {
        ULONG_PTR v = __atomic_load_n(&e->Value, __ATOMIC_RELAXED);
        if (v == 0)
            return NULL;
        if (!(v & HANDLE_ENTRY_LOCK_BIT)) {
            if (__atomic_compare_exchange_n(&e->Value, &v, v | HANDLE_ENTRY_LOCK_BIT, TRUE, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                return e;
            continue;
        }
        /* Held by a reader taking a reference or by a closer: both are brief,
         * but the holder may have been preempted, so stop burning the CPU
         * after a while and let it run. */
        if (++spins < 128 || KeGetCurrentIrql() >= DISPATCH_LEVEL) {
            KeYieldProcessor();
        } else {
            LARGE_INTEGER brief = {.QuadPart = -1};
            KeDelayExecutionThread(KernelMode, FALSE, &brief);
            spins = 0;
        }
    }
}

VOID NTAPI ExUnlockHandleTableEntry(PHANDLE_TABLE Table, PHANDLE_TABLE_ENTRY Entry)
{
    (void)Table;
    ULONG_PTR v = __atomic_load_n(&Entry->Value, __ATOMIC_RELAXED);
    if (!(v & HANDLE_ENTRY_LOCK_BIT))
        KeBugCheckEx(INVALID_KERNEL_HANDLE, (ULONG_PTR)Entry, v, 0, 0);
    __atomic_fetch_and(&Entry->Value, ~HANDLE_ENTRY_LOCK_BIT, __ATOMIC_RELEASE);
}

VOID ExDestroyHandle(PHANDLE_TABLE Table, HANDLE Handle, PHANDLE_TABLE_ENTRY LockedEntry)
{
    ULONG_PTR v = __atomic_load_n(&LockedEntry->Value, __ATOMIC_RELAXED);
    if (!(v & HANDLE_ENTRY_LOCK_BIT))
        KeBugCheckEx(INVALID_KERNEL_HANDLE, (ULONG_PTR)Handle, v, 0, 0);
    __atomic_store_n(&LockedEntry->Value, 0, __ATOMIC_RELEASE);
    KIRQL irql;
    KeAcquireSpinLock(&Table->Lock, &irql);
    LockedEntry->NextFreeTableEntry = Table->FirstFree;
    Table->FirstFree = (ULONG)(ULONG_PTR)ExpIndexToHandle(ExpHandleToIndex(Handle));
    __atomic_sub_fetch(&Table->HandleCount, 1, __ATOMIC_RELAXED);
    KeReleaseSpinLock(&Table->Lock, irql);
}

BOOLEAN ExEnumHandleTable(PHANDLE_TABLE Table, EX_ENUMERATE_HANDLE_ROUTINE Routine, PVOID Context)
{
    ULONG limit = __atomic_load_n(&Table->NextHandleNeedingPool, __ATOMIC_ACQUIRE) / 4;
    for (ULONG i = 1; i < limit; i++) {
        HANDLE h = ExpIndexToHandle(i);
        PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(Table, h);
        if (e == NULL)
            continue;
        /* The routine owns the lock from here: it unlocks or destroys. */
        if (Routine(e, h, Context))
            return TRUE;
    }
    return FALSE;
}

static VOID ExpFreeTablePages(ULONG_PTR Code)
{
    PVOID top = (PVOID)(Code & ~EXP_LEVEL_MASK);
    ULONG level = (ULONG)(Code & EXP_LEVEL_MASK);
    if (level >= 1) {
        for (ULONG i = 0; i < HANDLE_MID_ENTRIES; i++) {
            PVOID child = ((PVOID *)top)[i];
            if (child != NULL)
                ExpFreeTablePages((ULONG_PTR)child | (level - 1));
        }
    }
    ExFreePoolWithTag(top, EXP_HANDLE_TAG);
}

VOID ExDestroyHandleTable(PHANDLE_TABLE Table, EX_DESTROY_HANDLE_ROUTINE DestroyRoutine, PVOID Context)
{
    Table->Destroying = TRUE;
    ULONG limit = Table->NextHandleNeedingPool / 4;
    for (ULONG i = 1; i < limit; i++) {
        HANDLE h = ExpIndexToHandle(i);
        PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(Table, h);
        if (e == NULL)
            continue;
        if (DestroyRoutine != NULL)
            DestroyRoutine(e, h, Context); /* must leave the entry destroyed */
        else
            ExDestroyHandle(Table, h, e);
    }
    ExpFreeTablePages(Table->TableCode);
    ExFreePoolWithTag(Table, EXP_HANDLE_TAG);
}
