/*
 * Executive handle tables (kernel-internal; Ob builds process handle tables
 * on them, Ps builds the client-id table).
 *
 * A handle is an index times four; the low two bits are ignored on lookup
 * (NT leaves them to applications). Index 0 is never handed out, so NULL is
 * never a valid handle. The table grows in levels: a leaf page holds 256
 * 16-byte entries, a middle page 512 leaf pointers, the top 512 middle
 * pointers.
 *
 * The lookup routines are ms_abi like the exports that call them, so the
 * handle-lookup fast path never pays the SysV register-save tax.
 *
 * Concurrency: lookups are lock-free on the table structure (pages are only
 * ever added while the table lives, and published with release stores) and
 * lock the one entry they read by setting its lock bit. Creation and
 * destruction of entries take the table's lock. IRQL <= APC_LEVEL for every
 * routine; callers that lock an entry must not be suspended by a normal
 * kernel APC meanwhile, so ExMapHandleToPointer requires a critical region.
 */
#ifndef NTOS_EX_HANDLE_H
#define NTOS_EX_HANDLE_H

#include <ntos/ex.h>

/* Entry Value bits below the (16-byte aligned) object pointer. */
#define HANDLE_ENTRY_LOCK_BIT 0x1ULL
#define HANDLE_ENTRY_INHERIT 0x2ULL
#define HANDLE_ENTRY_AUDIT_ON_CLOSE 0x4ULL
#define HANDLE_ENTRY_PROTECT_FROM_CLOSE 0x8ULL
#define HANDLE_ENTRY_ATTRIBUTE_MASK 0xEULL
#define HANDLE_ENTRY_POINTER_MASK (~0xFULL)

typedef struct _HANDLE_TABLE_ENTRY {
    volatile ULONG_PTR Value;      /* object pointer | attribute bits | lock bit; 0 = free */
    union {
        ACCESS_MASK GrantedAccess; /* while in use */
        ULONG NextFreeTableEntry;  /* while free: next free handle value */
    };
    ULONG Spare;
} HANDLE_TABLE_ENTRY, *PHANDLE_TABLE_ENTRY;
NTOS_ASSERT_SIZE(HANDLE_TABLE_ENTRY, 16);

#define HANDLE_LEAF_ENTRIES 256
#define HANDLE_MID_ENTRIES 512
#define HANDLE_TOP_ENTRIES 512
#define HANDLE_MAX_INDEX (HANDLE_LEAF_ENTRIES * HANDLE_MID_ENTRIES * 128) /* 16M handles */

typedef struct _HANDLE_TABLE {
    volatile ULONG_PTR TableCode;  /* top page | level (0, 1, 2) */
    volatile ULONG NextHandleNeedingPool; /* handle value beyond the last allocated entry */
    ULONG FirstFree;               /* free-list head (handle value), 0 = empty */
    volatile LONG HandleCount;
    ULONG HandleCountHighWatermark;
    struct _EPROCESS *QuotaProcess;
    HANDLE UniqueProcessId;
    LIST_ENTRY HandleTableList;
    KSPIN_LOCK Lock;               /* free list and growth */
    BOOLEAN Destroying;
} HANDLE_TABLE, *PHANDLE_TABLE;

#define EXP_LEVEL_MASK 3ULL

static inline ULONG ExHandleToIndex(HANDLE Handle)
{
    return (ULONG)(((ULONG_PTR)Handle >> 2) & 0x3FFFFFFF);
}

/* Entry for Index, or NULL if its page is not published yet. Lock-free. */
static inline PHANDLE_TABLE_ENTRY ExpLookupHandleTableEntry(PHANDLE_TABLE Table, ULONG Index)
{
    if ((ULONG_PTR)Index * 4 >= __atomic_load_n(&Table->NextHandleNeedingPool, __ATOMIC_ACQUIRE))
        return NULL;
    ULONG_PTR code = __atomic_load_n(&Table->TableCode, __ATOMIC_ACQUIRE);
    PVOID top = (PVOID)(code & ~EXP_LEVEL_MASK);
    switch (code & EXP_LEVEL_MASK) {
    case 0:
        return &((PHANDLE_TABLE_ENTRY)top)[Index];
    case 1: {
        PHANDLE_TABLE_ENTRY leaf = __atomic_load_n(&((PHANDLE_TABLE_ENTRY *)top)[Index / HANDLE_LEAF_ENTRIES],
                                                   __ATOMIC_ACQUIRE);
        return leaf ? &leaf[Index % HANDLE_LEAF_ENTRIES] : NULL;
    }
    default: {
        PHANDLE_TABLE_ENTRY *mid = __atomic_load_n(
            &((PHANDLE_TABLE_ENTRY **)top)[Index / (HANDLE_LEAF_ENTRIES * HANDLE_MID_ENTRIES)], __ATOMIC_ACQUIRE);
        if (mid == NULL)
            return NULL;
        PHANDLE_TABLE_ENTRY leaf =
            __atomic_load_n(&mid[(Index / HANDLE_LEAF_ENTRIES) % HANDLE_MID_ENTRIES], __ATOMIC_ACQUIRE);
        return leaf ? &leaf[Index % HANDLE_LEAF_ENTRIES] : NULL;
    }
    }
}

PHANDLE_TABLE ExCreateHandleTable(struct _EPROCESS *Process);
/* Calls DestroyRoutine for every entry still in use, then frees the table. */
typedef VOID (*EX_DESTROY_HANDLE_ROUTINE)(PHANDLE_TABLE_ENTRY Entry, HANDLE Handle, PVOID Context);
VOID ExDestroyHandleTable(PHANDLE_TABLE Table, EX_DESTROY_HANDLE_ROUTINE DestroyRoutine, PVOID Context);
/* Stores a copy of *Entry (Value must not have the lock bit); 0 when out of memory or handles. */
HANDLE ExCreateHandle(PHANDLE_TABLE Table, PHANDLE_TABLE_ENTRY Entry);
/*
 * Finds and locks the entry of Handle; NULL if the handle is not in use.
 * Release with ExUnlockHandleTableEntry. Caller is in a critical region.
 */
PHANDLE_TABLE_ENTRY NTAPI ExMapHandleToPointer(PHANDLE_TABLE Table, HANDLE Handle);
VOID NTAPI ExUnlockHandleTableEntry(PHANDLE_TABLE Table, PHANDLE_TABLE_ENTRY Entry);
/*
 * Unlocks an entry whose Value the caller read while holding its lock and did
 * not change: a release store instead of a locked and, since no one else
 * writes a locked entry (other lockers only read it and spin).
 */
/*
 * ExMapHandleToPointer for hot paths: the uncontended case inline (one
 * compare-exchange), the rest (a free or contended entry) out of line.
 * *LockedValue is the entry's Value, lock bit included, for
 * ExUnlockHandleTableEntryValue.
 */
static inline __attribute__((always_inline)) PHANDLE_TABLE_ENTRY
ExMapHandleToPointerFast(PHANDLE_TABLE Table, HANDLE Handle, ULONG_PTR *LockedValue)
{
    ULONG index = ExHandleToIndex(Handle);
    PHANDLE_TABLE_ENTRY e = index != 0 ? ExpLookupHandleTableEntry(Table, index) : NULL;
    if (e == NULL)
        return NULL;
    ULONG_PTR v = __atomic_load_n(&e->Value, __ATOMIC_RELAXED);
    if (v == 0)
        return NULL;
    if (!(v & HANDLE_ENTRY_LOCK_BIT) &&
        __atomic_compare_exchange_n(&e->Value, &v, v | HANDLE_ENTRY_LOCK_BIT, FALSE, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        *LockedValue = v | HANDLE_ENTRY_LOCK_BIT;
        return e;
    }
    e = ExMapHandleToPointer(Table, Handle);
    if (e != NULL)
        *LockedValue = __atomic_load_n(&e->Value, __ATOMIC_RELAXED);
    return e;
}

static inline VOID ExUnlockHandleTableEntryValue(PHANDLE_TABLE_ENTRY Entry, ULONG_PTR LockedValue)
{
    __atomic_store_n(&Entry->Value, LockedValue & ~HANDLE_ENTRY_LOCK_BIT, __ATOMIC_RELEASE);
}
/* Frees a locked entry (it is left unlocked and empty). */
VOID ExDestroyHandle(PHANDLE_TABLE Table, HANDLE Handle, PHANDLE_TABLE_ENTRY LockedEntry);
/* Calls Routine on each in-use entry, locked, in handle order; stops when it returns TRUE. */
typedef BOOLEAN (*EX_ENUMERATE_HANDLE_ROUTINE)(PHANDLE_TABLE_ENTRY Entry, HANDLE Handle, PVOID Context);
BOOLEAN ExEnumHandleTable(PHANDLE_TABLE Table, EX_ENUMERATE_HANDLE_ROUTINE Routine, PVOID Context);

#endif /* NTOS_EX_HANDLE_H */
