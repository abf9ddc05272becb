/*
 * The mutex state machine shared by fast mutexes and guarded mutexes, which
 * have the same Count/Owner/Contention/event prefix (fastmutex.c explains the
 * protocol). The callers own IRQL and APC handling; these only move the state.
 */
#ifndef NTOS_EX_MUTEX_CORE_H
#define NTOS_EX_MUTEX_CORE_H

#include <ntos/ex_sync.h>

VOID ExpMutexCheckNotOwner(PFAST_MUTEX Mutex, PKTHREAD Thread);
VOID ExpMutexCheckOwner(PFAST_MUTEX Mutex, PKTHREAD Thread);
VOID ExpMutexAcquire(PFAST_MUTEX Mutex, PKTHREAD Thread, KWAIT_REASON Reason);
BOOLEAN ExpMutexTryAcquire(PFAST_MUTEX Mutex, PKTHREAD Thread);
VOID ExpMutexRelease(PFAST_MUTEX Mutex);

#endif /* NTOS_EX_MUTEX_CORE_H */
