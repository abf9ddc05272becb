/*
 * Helpers shared by the Mm tests: PFN and system PTE accounting snapshots
 * (every test ends where it started), physical memory map lookups and a
 * few allocation shorthands. White-box: includes src/mm/mi.h.
 */
#ifndef NTOS_MM_TEST_H
#define NTOS_MM_TEST_H

#include "ntos_ke_test.h"
#include "mm/mi.h"

typedef struct mm_snapshot {
    MI_PFN_COUNTS Pfn;
    SIZE_T SystemPtes;
} mm_snapshot;

static inline void mm_snap(mm_snapshot *s)
{
    MiQueryPfnCounts(&s->Pfn);
    s->SystemPtes = MiQueryFreeSystemPtes();
}

/* Everything allocated since the snapshot was given back: pages (table
 * pages included, as emptied tables are freed) and system PTEs. */
static inline void mm_check_balanced(const mm_snapshot *s)
{
    mm_snapshot now;
    mm_snap(&now);
    assert_int_equal(now.Pfn.Total, s->Pfn.Total);
    assert_int_equal(now.Pfn.Free + now.Pfn.Zeroed, s->Pfn.Free + s->Pfn.Zeroed);
    assert_int_equal(now.Pfn.Active, s->Pfn.Active);
    assert_int_equal(now.Pfn.PageTables, s->Pfn.PageTables);
    assert_int_equal(now.Pfn.Standby + now.Pfn.Modified + now.Pfn.Bad, 0);
    assert_int_equal(now.SystemPtes, s->SystemPtes);
    assert_int_equal(now.Pfn.Total, now.Pfn.Free + now.Pfn.Zeroed + now.Pfn.Active);
}

/* The first descriptor of a type, or NULL. */
static inline const ARCH_MEMORY_DESCRIPTOR *mm_find_descriptor(ULONG Type)
{
    const ARCH_MEMORY_DESCRIPTOR *d;
    ULONG n = arch_memory_map(&d);
    for (ULONG i = 0; i < n; i++)
        if (d[i].Type == Type)
            return &d[i];
    return NULL;
}

static inline PHYSICAL_ADDRESS mm_pa(ULONG64 Value)
{
    PHYSICAL_ADDRESS p;
    p.QuadPart = (LONGLONG)Value;
    return p;
}

/* The leaf entry mapping Va (0 if none). */
static inline ULONG64 mm_entry(PVOID Va, SIZE_T *PageBytes)
{
    ULONG64 e = 0;
    SIZE_T bytes = 0;
    if (!MiTranslate((ULONG_PTR)Va, NULL, &e, &bytes))
        return 0;
    if (PageBytes != NULL)
        *PageBytes = bytes;
    return e;
}

#ifndef NTOS_KTEST
/*
 * Host only (the in-kernel runner has no fault handling to probe with): asks
 * Linux to copy one byte from (or to) Va through a pipe. A page the host MMU
 * view does not map readable (writable) makes the copy fail with EFAULT
 * instead of faulting the process, so a test can check that an unmapped
 * page, a guard page or a read-only page really is one.
 */
#include <errno.h>
#include <unistd.h>

static int mm_probe_pipe[2] = {-1, -1};

static inline BOOLEAN mm_host_can_access(PVOID Va, BOOLEAN Write)
{
    if (mm_probe_pipe[0] < 0 && pipe(mm_probe_pipe) != 0)
        return TRUE;
    UCHAR byte = 0;
    if (!Write) {
        if (write(mm_probe_pipe[1], Va, 1) != 1)
            return FALSE;
        return read(mm_probe_pipe[0], &byte, 1) == 1;
    }
    /* Write the byte that is there back (only probed where readable). */
    byte = *(volatile UCHAR *)Va;
    if (write(mm_probe_pipe[1], &byte, 1) != 1)
        return TRUE;
    if (read(mm_probe_pipe[0], Va, 1) == 1)
        return TRUE;
    (void)!read(mm_probe_pipe[0], &byte, 1);
    return FALSE;
}
#define MM_HOST_PROBES 1
#else
#define MM_HOST_PROBES 0
static inline BOOLEAN mm_host_can_access(PVOID Va, BOOLEAN Write)
{
    (void)Va;
    (void)Write;
    return TRUE;
}
#endif

#endif /* NTOS_MM_TEST_H */
