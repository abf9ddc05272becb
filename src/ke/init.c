/*
 * Phase 1 of system initialisation: what runs on the boot thread once every
 * processor is up and the scheduler, clock and pool work. Order matters:
 * the object manager first (it creates the namespace and the kernel handle
 * table, then the security types and the SYSTEM token), then processes and
 * threads (the System process becomes an object with that token), then the
 * executive object types, then the I/O manager.
 *
 * PASSIVE_LEVEL, boot processor, nothing else running yet.
 */
#include "ki.h"
#include <ntos/ob.h>
#include <ntos/ps.h>
#include <ntos/io.h>
#include <ntos/cm.h>
#include <ntos/arch.h>
#include <ntos/ldr.h>

NTSTATUS ExInitSystemObjects(void);
VOID ExpInitializeWorkers(void);

void KiSystemStartupPhase1(void)
{
    /* Worker threads first: deferred object deletion queues to them, possibly
     * from DISPATCH_LEVEL where they could not be created on demand. */
    ExpInitializeWorkers();
    /* The loaded-module list (ntoskrnl's own entry) before anything can
     * fault or be asked which module an address belongs to. */
    LdrInitSystem();
    NTSTATUS status = ObInitSystem();
    if (!NT_SUCCESS(status))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, (ULONG_PTR)status, 1, 0, 0);
    status = PsInitSystem();
    if (!NT_SUCCESS(status))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, (ULONG_PTR)status, 2, 0, 0);
    status = ExInitSystemObjects();
    if (!NT_SUCCESS(status))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, (ULONG_PTR)status, 3, 0, 0);
    status = CmInitSystem();
    if (!NT_SUCCESS(status))
        KeBugCheckEx(CONFIG_INITIALIZATION_FAILED, (ULONG_PTR)status, 4, 0, 0);
    /* The I/O manager last: its types, default descriptors and the built-in
     * drivers (which create devices, so processes and threads must exist, and
     * whose service keys live in the registry). */
    status = IoInitSystem();
    if (!NT_SUCCESS(status))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, (ULONG_PTR)status, 5, 0, 0);
    /* Boot drivers (.sys boot modules) once the I/O manager and the
     * registry exist; a driver that fails to load is reported, not fatal. */
    LdrLoadBootDrivers();
}
