/*
 * Remove locks (src/io/remlock.c): IoInitializeRemoveLockEx,
 * IoAcquireRemoveLockEx, IoReleaseRemoveLockEx, IoReleaseRemoveLockAndWaitEx
 * and the WDK's macro forms, with the free-build x64 layout.
 *
 * The count starts at 1 (the lock's own bias). Acquire adds one and fails with
 * STATUS_DELETE_PENDING once removal started; release drops one and signals
 * RemoveEvent when the count reaches zero; ReleaseAndWait marks the lock
 * removed, drops the bias and the caller's own acquisition, and waits until
 * every other holder has released. Acquire and release at <= DISPATCH_LEVEL;
 * ReleaseAndWait at PASSIVE_LEVEL.
 */
#ifndef NTOS_IO_REMLOCK_H
#define NTOS_IO_REMLOCK_H

#include <ntos/ke.h>

typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
    BOOLEAN Removed;
    BOOLEAN Reserved[3];
    LONG IoCount;
    KEVENT RemoveEvent;
} IO_REMOVE_LOCK_COMMON_BLOCK;
NTOS_ASSERT_SIZE(IO_REMOVE_LOCK_COMMON_BLOCK, 0x20);
NTOS_ASSERT_OFFSET(IO_REMOVE_LOCK_COMMON_BLOCK, IoCount, 0x04);
NTOS_ASSERT_OFFSET(IO_REMOVE_LOCK_COMMON_BLOCK, RemoveEvent, 0x08);

/* The checked-build tracking block drivers built with DBG append. ntos
 * accepts that size too and uses the common block only. */
typedef struct _IO_REMOVE_LOCK_DBG_BLOCK {
    LONG Signature;
    ULONG HighWatermark;
    LONGLONG MaxLockedTicks;
    LONG AllocateTag;
    LIST_ENTRY LockList;
    KSPIN_LOCK Spin;
    LONG LowMemoryCount;
    ULONG Reserved1[4];
    PVOID Reserved2;
    PVOID Blocks;
} IO_REMOVE_LOCK_DBG_BLOCK;
NTOS_ASSERT_SIZE(IO_REMOVE_LOCK_DBG_BLOCK, 0x58);

typedef struct _IO_REMOVE_LOCK {
    IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK;
NTOS_ASSERT_SIZE(IO_REMOVE_LOCK, 0x20);

NTKERNELAPI VOID NTAPI IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                                ULONG HighWatermark, ULONG RemlockSize);
NTKERNELAPI NTSTATUS NTAPI IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                                 ULONG RemlockSize);
NTKERNELAPI VOID NTAPI IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);
NTKERNELAPI VOID NTAPI IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);

#define IoInitializeRemoveLock(Lock, Tag, Maxmin, HighWater) \
    IoInitializeRemoveLockEx(Lock, Tag, Maxmin, HighWater, sizeof(IO_REMOVE_LOCK))
#define IoAcquireRemoveLock(RemoveLock, Tag) \
    IoAcquireRemoveLockEx(RemoveLock, Tag, __FILE__, __LINE__, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLock(RemoveLock, Tag) IoReleaseRemoveLockEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag) \
    IoReleaseRemoveLockAndWaitEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))

#endif /* NTOS_IO_REMLOCK_H */
