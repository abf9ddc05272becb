/*
 * MmInitSystem: the memory manager at boot.
 *
 * Runs on processor 0 from KiProcessorStartup, at HIGH_LEVEL with interrupts
 * disabled, before the other processors start; the Mm locks it goes through
 * are ...ForDpc acquisitions, which leave HIGH_LEVEL alone. Order: the PFN
 * database (everything else takes pages from it), the page tables (the PML4,
 * installed with arch_set_page_table_root), then the system PTE bitmap.
 * Nothing comes from the pool, which is built on top of Mm later.
 */
#include "mi.h"

BOOLEAN MiInitialized;

VOID MmInitSystem(void)
{
    if (MiInitialized)
        return;
    MiInitializePfnDatabase();
    MiInitializePageTables();
    MiInitializeSystemPtes();
    MiInitialized = TRUE;
}
