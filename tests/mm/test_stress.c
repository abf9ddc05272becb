/*
 * Concurrency: several threads allocating and freeing pages, pool pages,
 * contiguous and non-cached memory and I/O-space mappings at once, partly at
 * DISPATCH_LEVEL, each checking its own data through the mappings; then the
 * accounting must be back where it started. Also the single-thread rates of
 * the main paths, printed for the record.
 */
#include "mm_test.h"

#define STRESS_THREADS 4
#define STRESS_SLOTS 12
#define STRESS_ROUNDS 1500

enum { KIND_NONE, KIND_PAGES, KIND_POOL, KIND_IO, KIND_CONTIGUOUS, KIND_NONCACHED, KIND_PTES, KIND_COUNT };

typedef struct stress_slot {
    ULONG Kind;
    PUCHAR Va;
    SIZE_T Pages;
    PFN_NUMBER Pfn;
    ULONG64 Pattern;
} stress_slot;

typedef struct stress_ctx {
    ULONG Id;
    uint64_t Seed;
    ULONG64 IoBase;  /* this thread's share of device space */
    ULONG64 IoBytes;
    volatile LONG Errors;
    volatile LONG FirstError;
    ULONG Ops[KIND_COUNT];
    stress_slot Slots[STRESS_SLOTS];
} stress_ctx;

static void stress_error(stress_ctx *c, LONG Where)
{
    if (__atomic_add_fetch(&c->Errors, 1, __ATOMIC_RELAXED) == 1)
        c->FirstError = Where;
}

/* The word at the start of each page of a slot. */
static ULONG64 *stress_word(stress_slot *s, SIZE_T Page)
{
    if (s->Kind == KIND_PAGES)
        return MiPageAddress(s->Pfn + Page);
    return (ULONG64 *)(s->Va + Page * PAGE_SIZE);
}

static void stress_fill(stress_slot *s)
{
    if (s->Kind == KIND_PTES)
        return;
    for (SIZE_T i = 0; i < s->Pages; i++)
        *stress_word(s, i) = s->Pattern ^ i;
}

static void stress_verify(stress_ctx *c, stress_slot *s)
{
    if (s->Kind == KIND_PTES) {
        if (MmIsAddressValid(s->Va))
            stress_error(c, 100);
        return;
    }
    for (SIZE_T i = 0; i < s->Pages; i++) {
        if (*stress_word(s, i) != (s->Pattern ^ i))
            stress_error(c, 200 + (LONG)s->Kind);
    }
    if (s->Kind == KIND_POOL && !MiIsPoolPageAddress(s->Va + (s->Pages - 1) * PAGE_SIZE))
        stress_error(c, 300);
    if (s->Kind == KIND_CONTIGUOUS) {
        LONGLONG base = MmGetPhysicalAddress(s->Va).QuadPart;
        LONGLONG last = MmGetPhysicalAddress(s->Va + (s->Pages - 1) * PAGE_SIZE).QuadPart;
        if (last != base + (LONGLONG)((s->Pages - 1) * PAGE_SIZE))
            stress_error(c, 301);
    }
    if (s->Kind == KIND_IO) {
        ULONG64 pa = (ULONG64)MmGetPhysicalAddress(s->Va).QuadPart;
        if (*(ULONG64 *)arch_physical_pointer(pa) != s->Pattern)
            stress_error(c, 302);
    }
}

static void stress_free(stress_ctx *c, stress_slot *s)
{
    stress_verify(c, s);
    switch (s->Kind) {
    case KIND_PAGES:
        MiFreePageChain(s->Pfn, FALSE);
        break;
    case KIND_POOL:
        if (MiFreePoolPages(s->Va) != s->Pages)
            stress_error(c, 400);
        break;
    case KIND_IO:
        MmUnmapIoSpace(s->Va, s->Pages * PAGE_SIZE);
        break;
    case KIND_CONTIGUOUS:
        MmFreeContiguousMemory(s->Va);
        break;
    case KIND_NONCACHED:
        MmFreeNonCachedMemory(s->Va, s->Pages * PAGE_SIZE);
        break;
    case KIND_PTES:
        MiReleaseSystemPtes(s->Va, s->Pages);
        break;
    }
    s->Kind = KIND_NONE;
}

static void stress_allocate(stress_ctx *c, stress_slot *s, ULONG Kind)
{
    SIZE_T pages = 1 + (SIZE_T)(ntos_test_rand(&c->Seed) % 6);
    s->Pattern = ntos_test_rand(&c->Seed);
    s->Pages = pages;
    s->Va = NULL;
    switch (Kind) {
    case KIND_PAGES:
        s->Pfn = MiAllocateContiguousPages(pages, 0, ~(PFN_NUMBER)0, 0, 1, 0, MiPfnUsageDriver);
        if (s->Pfn == 0) {
            stress_error(c, 500);
            return;
        }
        break;
    case KIND_POOL:
        s->Va = MiAllocatePoolPages(pages, (BOOLEAN)(s->Pattern & 1));
        break;
    case KIND_IO: {
        /* Whole pages of this thread's share of device space. */
        SIZE_T share = (SIZE_T)(c->IoBytes / PAGE_SIZE);
        if (pages > share)
            pages = share;
        SIZE_T first = (SIZE_T)(ntos_test_rand(&c->Seed) % (share - pages + 1));
        for (SIZE_T i = 0; i < STRESS_SLOTS; i++) {
            stress_slot *o = &c->Slots[i];
            if (o != s && o->Kind == KIND_IO) {
                ULONG64 opa = (ULONG64)MmGetPhysicalAddress(o->Va).QuadPart;
                ULONG64 mine = c->IoBase + first * PAGE_SIZE;
                if (mine < opa + o->Pages * PAGE_SIZE && opa < mine + pages * PAGE_SIZE)
                    return; /* would share device pages with a live slot: skip */
            }
        }
        s->Pages = pages;
        s->Va = MmMapIoSpace(mm_pa(c->IoBase + first * PAGE_SIZE), pages * PAGE_SIZE, MmNonCached);
        break;
    }
    case KIND_CONTIGUOUS:
        s->Va = MmAllocateContiguousMemorySpecifyCache(pages * PAGE_SIZE, mm_pa(0), mm_pa(~0ULL),
                                                       mm_pa(8 * PAGE_SIZE), MmCached);
        break;
    case KIND_NONCACHED:
        s->Va = MmAllocateNonCachedMemory(pages * PAGE_SIZE);
        break;
    case KIND_PTES:
        s->Va = MiReserveSystemPtes(pages);
        break;
    }
    if (Kind != KIND_PAGES && s->Va == NULL) {
        stress_error(c, 600 + (LONG)Kind);
        return;
    }
    s->Kind = Kind;
    c->Ops[Kind]++;
    stress_fill(s);
}

static VOID NTAPI stress_thread(PVOID p)
{
    stress_ctx *c = p;
    for (ULONG round = 0; round < STRESS_ROUNDS; round++) {
        stress_slot *s = &c->Slots[ntos_test_rand(&c->Seed) % STRESS_SLOTS];
        ULONG kind = 1 + (ULONG)(ntos_test_rand(&c->Seed) % (KIND_COUNT - 1));
        if (kind == KIND_IO && c->IoBytes == 0)
            kind = KIND_POOL;
        /* Everything but non-cached memory works at DISPATCH_LEVEL. */
        BOOLEAN dispatch = (ntos_test_rand(&c->Seed) % 3) == 0 && kind != KIND_NONCACHED &&
                           s->Kind != KIND_NONCACHED;
        KIRQL old = PASSIVE_LEVEL;
        if (dispatch)
            old = KeRaiseIrqlToDpcLevel();
        if (s->Kind != KIND_NONE)
            stress_free(c, s);
        else
            stress_allocate(c, s, kind);
        if (dispatch)
            KeLowerIrql(old);
    }
    for (ULONG i = 0; i < STRESS_SLOTS; i++) {
        if (c->Slots[i].Kind != KIND_NONE)
            stress_free(c, &c->Slots[i]);
    }
}

static void stress_all_paths_concurrently(void **state)
{
    static KTHREAD t[STRESS_THREADS];
    static stress_ctx c[STRESS_THREADS];
    mm_snapshot s;
    mm_snap(&s);
    const ARCH_MEMORY_DESCRIPTOR *dev = mm_find_descriptor(ArchMemoryDevice);
    ULONG64 share = dev ? ((dev->PageCount / STRESS_THREADS) << PAGE_SHIFT) : 0;
    ULONG64 t0 = arch_interrupt_time();
    for (ULONG i = 0; i < STRESS_THREADS; i++) {
        RtlZeroMemory(&c[i], sizeof(c[i]));
        c[i].Id = i;
        c[i].Seed = 0x1234567ULL * (i + 1);
        c[i].IoBase = dev ? (dev->BasePage << PAGE_SHIFT) + i * share : 0;
        c[i].IoBytes = share;
        kt_start(&t[i], stress_thread, &c[i], 8);
    }
    ULONG ops = 0;
    for (ULONG i = 0; i < STRESS_THREADS; i++) {
        kt_join(&t[i]);
        if (c[i].Errors != 0)
            fail_msg("thread %u: %d errors, first at %d", i, (int)c[i].Errors, (int)c[i].FirstError);
        for (ULONG k = 0; k < KIND_COUNT; k++)
            ops += c[i].Ops[k];
    }
    ULONG64 t1 = arch_interrupt_time();
    print_message("mm stress: %u allocations by %u threads on %u processors in %llu ms\n", ops, STRESS_THREADS,
                  (unsigned)arch_processor_count(), (unsigned long long)(t1 - t0) / 10000);
    mm_check_balanced(&s);
}

/* Concurrent lock-free lookups while other threads map and unmap. */
typedef struct lookup_ctx {
    volatile LONG *Stop;
    PUCHAR Mine;
    LONG Errors;
    ULONG Lookups;
} lookup_ctx;

static VOID NTAPI lookup_thread(PVOID p)
{
    lookup_ctx *c = p;
    ULONG64 pa = (ULONG64)MmGetPhysicalAddress(c->Mine).QuadPart;
    while (!__atomic_load_n(c->Stop, __ATOMIC_ACQUIRE)) {
        if (!MiIsPoolPageAddress(c->Mine) || (ULONG64)MmGetPhysicalAddress(c->Mine + 5).QuadPart != pa + 5 ||
            !MmIsAddressValid(c->Mine))
            c->Errors++;
        c->Lookups++;
        if ((c->Lookups & 63) == 0)
            arch_pause();
    }
}

static VOID NTAPI churn_thread(PVOID p)
{
    lookup_ctx *c = p;
    uint64_t seed = 77;
    while (!__atomic_load_n(c->Stop, __ATOMIC_ACQUIRE)) {
        /* Pages in fresh 2 MB regions make table pages come and go. */
        PVOID v = MiAllocatePoolPages(1 + ntos_test_rand(&seed) % 64, TRUE);
        if (v == NULL)
            c->Errors++;
        else
            MiFreePoolPages(v);
        c->Lookups++;
    }
}

static void stress_lookups_during_churn(void **state)
{
    static KTHREAD t[4];
    static lookup_ctx c[4];
    static volatile LONG stop;
    mm_snapshot s;
    mm_snap(&s);
    stop = 0;
    PUCHAR mine = MiAllocatePoolPages(1, TRUE);
    for (int i = 0; i < 4; i++) {
        c[i] = (lookup_ctx){&stop, mine, 0, 0};
        kt_start(&t[i], i < 2 ? lookup_thread : churn_thread, &c[i], 8);
    }
    kt_sleep_ms(300);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Errors, 0);
    }
    print_message("lookups: %u + %u during %u + %u allocations\n", c[0].Lookups, c[1].Lookups, c[2].Lookups,
                  c[3].Lookups);
    MiFreePoolPages(mine);
    mm_check_balanced(&s);
}

/* ---- rates --------------------------------------------------------------------------------- */

static ULONG64 per_second(ULONG Count, ULONG64 Elapsed100ns)
{
    return Elapsed100ns ? (ULONG64)Count * 10000000ULL / Elapsed100ns : 0;
}

static void stress_single_thread_rates(void **state)
{
    mm_snapshot s;
    mm_snap(&s);
    const ULONG n = 20000;
    ULONG64 t0 = arch_interrupt_time();
    for (ULONG i = 0; i < n; i++)
        MiFreePage(MiAllocatePage(0, MiPfnUsageDriver));
    ULONG64 t1 = arch_interrupt_time();
    for (ULONG i = 0; i < n / 4; i++)
        MiFreePoolPages(MiAllocatePoolPages(1, TRUE));
    ULONG64 t2 = arch_interrupt_time();
    ULONG64 ram = MiLowestPhysicalPage << PAGE_SHIFT;
    for (ULONG i = 0; i < n / 4; i++)
        MmUnmapIoSpace(MmMapIoSpace(mm_pa(ram), PAGE_SIZE, MmCached), PAGE_SIZE);
    ULONG64 t3 = arch_interrupt_time();
    for (ULONG i = 0; i < n / 20; i++)
        MmFreeContiguousMemory(MmAllocateContiguousMemory(4 * PAGE_SIZE, mm_pa(~0ULL)));
    ULONG64 t4 = arch_interrupt_time();
    print_message("rates (alloc+free pairs/s): page %llu, pool page %llu, io map %llu, 16 KB contiguous %llu\n",
                  (unsigned long long)per_second(n, t1 - t0), (unsigned long long)per_second(n / 4, t2 - t1),
                  (unsigned long long)per_second(n / 4, t3 - t2), (unsigned long long)per_second(n / 20, t4 - t3));
    mm_check_balanced(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(stress_all_paths_concurrently),
    cmocka_unit_test(stress_lookups_during_churn),
    cmocka_unit_test(stress_single_thread_rates),
};

NTOS_TEST_GROUP(mm_stress, tests, NULL, NULL);
