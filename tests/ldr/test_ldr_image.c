/*
 * The PE loader against real mingw-w64 drivers (the sources in tests/ldr/pe, embedded
 * by tests/ldr/pe/mkimages.py): mapping at a non-preferred base with
 * relocations, per-section protection, import binding by name (ntoskrnl.exe
 * and HAL.dll) and by ordinal (from another loaded image), a missing import
 * refused with a message naming it, the /GS security cookie, INIT sections
 * freed after DriverEntry, driver load/unload through the I/O manager with
 * no pool, page or module left behind, the export table and
 * MmGetSystemRoutineAddress, and every class of malformed image refused with
 * STATUS_INVALID_IMAGE_FORMAT and a message saying what was wrong.
 *
 * The drivers' code runs natively (ms_abi calls both ways) on the host and
 * on bare metal; none uses inline CR8 or KUSER_SHARED_DATA reads.
 */
#include "ntos_ke_test.h"
#include <ntos/ldr.h>
#include <ntos/ntimage.h>
#include <ntos/ex_pool.h>
#include <ntos/io.h>
#include <ntos/ob.h>
#include <ntos/rtl.h>
#include <ntos/dbg.h>
#include <ntos/ps.h>
#include "ldr/ldrp.h"
#include "pe/images.inc"

#define TEST_TAG 0x676D4974 /* "tImg" */
#define GSDRV_TAG 0x74736447 /* 'tsdG' as gsdrv.c writes it */

/* ---- captured loader messages ------------------------------------------------------------- */

static char ldr_log[2048];
static volatile ULONG ldr_log_len;

static VOID capture(PCSTR Text, ULONG Length)
{
    ULONG at = ldr_log_len;
    for (ULONG i = 0; i < Length && at + 1 < sizeof(ldr_log); i++)
        ldr_log[at++] = Text[i];
    ldr_log[at] = 0;
    ldr_log_len = at;
}

static PKD_PRINT_HOOK capture_start(void)
{
    ldr_log_len = 0;
    ldr_log[0] = 0;
    return KdpSetPrintHook(capture);
}

static BOOLEAN logged(const char *Needle)
{
    for (ULONG i = 0; ldr_log[i] != 0; i++) {
        ULONG j = 0;
        while (Needle[j] != 0 && ldr_log[i + j] == Needle[j])
            j++;
        if (Needle[j] == 0)
            return TRUE;
    }
    return FALSE;
}

/* ---- accounting ----------------------------------------------------------------------------- */

static LONG64 tag_live(ULONG Tag)
{
    ULONG64 a = 0, f = 0, a2 = 0, f2 = 0;
    ExQueryPoolTagUsage(Tag, NonPagedPool, &a, &f, NULL);
    ExQueryPoolTagUsage(Tag, PagedPool, &a2, &f2, NULL);
    return (LONG64)(a + a2) - (LONG64)(f + f2);
}

/* System PTE counts are no measure: pool growth takes PTEs it keeps. The
 * image's own pages and addresses are checked instead (PAGES below). */
typedef struct {
    LONG64 Image, Gs;
    ULONG Modules;
} MARK;

static ULONG module_count(void)
{
    ULONG n = 0;
    for (PLIST_ENTRY l = PsLoadedModuleList.Flink; l != &PsLoadedModuleList; l = l->Flink)
        n++;
    return n;
}

static MARK mark(void)
{
    MARK m = {tag_live(LDRP_TAG_IMAGE), tag_live(GSDRV_TAG), module_count()};
    return m;
}

static void check_mark(const MARK *m)
{
    assert_int_equal(tag_live(LDRP_TAG_IMAGE), m->Image);
    assert_int_equal(tag_live(GSDRV_TAG), m->Gs);
    assert_int_equal(module_count(), m->Modules);
}

/* Every page of the image is back on a free list once it is unloaded. */
typedef struct {
    SIZE_T Count;
    PFN_NUMBER Pfn[64];
    ULONG_PTR Base;
    SIZE_T Size;
} PAGES;

static void record_pages(PKLDR_DATA_TABLE_ENTRY e, PAGES *p)
{
    PLDRP_IMAGE img = CONTAINING_RECORD(e, LDRP_IMAGE, Entry);
    p->Count = 0;
    p->Base = (ULONG_PTR)e->DllBase;
    p->Size = e->SizeOfImage;
    for (SIZE_T i = 0; i < img->Pages && p->Count < RTL_NUMBER_OF(p->Pfn); i++)
        if (img->Pfns[i] != 0)
            p->Pfn[p->Count++] = img->Pfns[i];
    assert_true(p->Count > 0);
}

static void check_pages_freed(const PAGES *p)
{
    for (SIZE_T off = 0; off < p->Size; off += PAGE_SIZE)
        assert_false(MiTranslate(p->Base + off, NULL, NULL, NULL));
    for (SIZE_T i = 0; i < p->Count; i++) {
        PMMPFN e = MiGetPfnEntry(p->Pfn[i]);
        assert_non_null(e);
        assert_true(e->PageLocation == FreePageList || e->PageLocation == ZeroedPageList ||
                    e->Usage != MiPfnUsageDriver);
    }
}

static UNICODE_STRING name_of(PCWSTR s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

/* The leaf PTE of a mapped address. */
static ULONG64 pte_of(PVOID va)
{
    ULONG64 entry = 0;
    assert_true(MiTranslate((ULONG_PTR)va, NULL, &entry, NULL));
    return entry;
}

/* ---- file offsets for mutations ----------------------------------------------------------------- */

static ULONG rd32(const UCHAR *p) { ULONG v; RtlCopyMemory(&v, p, 4); return v; }
static void wr32(UCHAR *p, ULONG v) { RtlCopyMemory(p, &v, 4); }
static void wr16(UCHAR *p, USHORT v) { RtlCopyMemory(p, &v, 2); }
static void wr64(UCHAR *p, ULONG64 v) { RtlCopyMemory(p, &v, 8); }

static ULONG nt_off(const UCHAR *f) { return rd32(f + 0x3C); }
static ULONG opt_off(const UCHAR *f) { return nt_off(f) + 24; }
static ULONG dd_off(const UCHAR *f, ULONG i) { return opt_off(f) + 0x70 + 8 * i; }
static ULONG sect_off(const UCHAR *f, ULONG i)
{
    USHORT optSize;
    RtlCopyMemory(&optSize, f + nt_off(f) + 4 + 16, 2);
    return opt_off(f) + optSize + 40 * i;
}
static USHORT nsections(const UCHAR *f)
{
    USHORT n;
    RtlCopyMemory(&n, f + nt_off(f) + 6, 2);
    return n;
}
static ULONG rva_to_off(const UCHAR *f, ULONG rva)
{
    for (USHORT i = 0; i < nsections(f); i++) {
        const UCHAR *s = f + sect_off(f, i);
        ULONG va = rd32(s + 12), raw = rd32(s + 16), ptr = rd32(s + 20);
        if (rva >= va && rva < va + raw)
            return ptr + (rva - va);
    }
    fail_msg("rva 0x%x not in the file", rva);
    return 0;
}

static UCHAR *copy_image(const UCHAR *src, SIZE_T len)
{
    UCHAR *p = ExAllocatePoolWithTag(NonPagedPoolNx, len, TEST_TAG);
    assert_non_null(p);
    RtlCopyMemory(p, src, len);
    return p;
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void tiny_maps_relocates_binds_and_protects(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING n = name_of(L"tiny.sys");
    PKLDR_DATA_TABLE_ENTRY e;
    assert_int_equal(LdrLoadSystemImage(&n, ldr_image_tiny, sizeof(ldr_image_tiny), &e), STATUS_SUCCESS);
    assert_true((ULONG_PTR)e->DllBase != 0x140000000ULL);
    assert_true(e->Flags & LDRP_IMAGE_NOT_AT_BASE);
    assert_int_equal(e->LoadCount, 1);
    UNICODE_STRING base = name_of(L"tiny.sys");
    assert_true(RtlEqualUnicodeString(&e->BaseDllName, &base, FALSE));
    assert_ptr_equal(LdrFindModuleByAddress(e->EntryPoint), e);
    assert_ptr_equal(LdrFindModuleByAddress((PUCHAR)e->DllBase + e->SizeOfImage - 1), e);
    assert_ptr_equal(PsLoadedModuleList.Blink, &e->InLoadOrderLinks);
    /* The mapped header names where the image is. */
    const UCHAR *h = e->DllBase;
    ULONG64 imageBase;
    RtlCopyMemory(&imageBase, h + opt_off(h) + 24, 8);
    assert_true(imageBase == (ULONG64)(ULONG_PTR)e->DllBase);
    /* Protection: headers read-only NX, code executable read-only, data
     * writable NX. */
    ULONG64 hp = pte_of(e->DllBase), cp = pte_of(e->EntryPoint);
    assert_true((hp & MI_PTE_NX) && !(hp & MI_PTE_WRITE));
    assert_true(!(cp & MI_PTE_NX) && !(cp & MI_PTE_WRITE));
    volatile LONG *counter = LdrFindExportedRoutine(e, "TinyCounter");
    assert_non_null(counter);
    ULONG64 dp = pte_of((PVOID)counter);
    assert_true((dp & MI_PTE_NX) && (dp & MI_PTE_WRITE));
    assert_int_equal(*counter, 0x5A5A);
    /* Its exported function runs (nothing initialised it yet: 0). */
    ULONG(NTAPI * procs)(void) = (ULONG(NTAPI *)(void))LdrFindExportedRoutine(e, "TinyProcessors");
    assert_non_null(procs);
    assert_int_equal(procs(), 0);
    assert_null(LdrFindExportedRoutine(e, "NoSuchExport"));
    /* The IAT holds the kernel's routines: the image's DbgPrint slot. */
    assert_ptr_equal(MmGetSystemRoutineAddress(&(UNICODE_STRING)RTL_CONSTANT_STRING(L"DbgPrint")),
                     (PVOID)(ULONG_PTR)&DbgPrint);
    PAGES pages;
    record_pages(e, &pages);
    assert_int_equal(LdrUnloadSystemImage(e), STATUS_SUCCESS);
    check_pages_freed(&pages);
    check_mark(&m);
}

static void driver_with_cookie_init_section_and_unload(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING svc = name_of(L"LdrGs");
    PDRIVER_OBJECT d;
    assert_int_equal(IoLoadDriverImage(&svc, ldr_image_gsdrv, sizeof(ldr_image_gsdrv), &d), STATUS_SUCCESS);
    PKLDR_DATA_TABLE_ENTRY e = d->DriverSection;
    assert_non_null(e);
    assert_ptr_equal(d->DriverStart, e->DllBase);
    assert_int_equal(d->DriverSize, e->SizeOfImage);
    assert_false(d->Flags & DRVO_BUILTIN_DRIVER);
    UNICODE_STRING dn = name_of(L"\\Driver\\LdrGs");
    assert_true(RtlEqualUnicodeString(&d->DriverName, &dn, TRUE));
    volatile LONG *gsState = LdrFindExportedRoutine(e, "GsState");
    assert_non_null(gsState);
    assert_int_equal(*gsState, 1);
    /* The cookie: replaced, top 16 bits clear, the value the image's code sees. */
    ULONG_PTR(NTAPI * cookie)(void) = (ULONG_PTR(NTAPI *)(void))LdrFindExportedRoutine(e, "GsCookie");
    ULONG_PTR c = cookie();
    assert_true(c != IMAGE_DEFAULT_SECURITY_COOKIE_64 && c != 0);
    assert_int_equal(c >> 48, 0);
    /* Relocated pointer table. */
    const char **words = LdrFindExportedRoutine(e, "Words");
    assert_true(words[1][0] == 'b' && LdrFindModuleByAddress((PVOID)words[1]) == e);
    /* INIT (DriverEntry) freed after it ran. */
    assert_false(MmIsAddressValid(e->EntryPoint));
    assert_ptr_equal(LdrFindModuleByAddress(e->EntryPoint), e);
    /* The device it made exists. */
    assert_non_null(d->DeviceObject);
    assert_int_equal(tag_live(GSDRV_TAG), m.Gs + 1);
    /* A second load of the same service is refused. */
    PDRIVER_OBJECT d2;
    assert_int_equal(IoLoadDriverImage(&svc, ldr_image_gsdrv, sizeof(ldr_image_gsdrv), &d2),
                     STATUS_IMAGE_ALREADY_LOADED);
    PAGES pages;
    record_pages(e, &pages);
    assert_int_equal(IoUnloadDriverImage(d), STATUS_SUCCESS);
    assert_int_equal(*gsState, 3);
    ObDereferenceObject(d);
    check_pages_freed(&pages);
    check_mark(&m);
}

static void tiny_as_driver_calls_back_into_the_kernel(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING svc = name_of(L"tiny");
    PDRIVER_OBJECT d;
    PKD_PRINT_HOOK prev = capture_start();
    NTSTATUS s = IoLoadDriverImage(&svc, ldr_image_tiny, sizeof(ldr_image_tiny), &d);
    KdpSetPrintHook(prev);
    assert_int_equal(s, STATUS_SUCCESS);
    /* DriverEntry printed its registry path through the kernel's DbgPrint. */
    assert_true(logged("tiny: DriverEntry \\Registry\\Machine\\System\\CurrentControlSet\\Services\\tiny"));
    ULONG(NTAPI * procs)(void) = (ULONG(NTAPI *)(void))LdrFindExportedRoutine(d->DriverSection, "TinyProcessors");
    assert_int_equal(procs(), KeQueryActiveProcessorCount(NULL));
    prev = capture_start();
    s = IoUnloadDriverImage(d);
    KdpSetPrintHook(prev);
    assert_int_equal(s, STATUS_SUCCESS);
    assert_true(logged("tiny: unload"));
    ObDereferenceObject(d);
    check_mark(&m);
}

static void imports_from_another_image_by_ordinal_and_name(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING tn = name_of(L"tiny.sys"), un = name_of(L"user.sys");
    PKLDR_DATA_TABLE_ENTRY u, t;
    /* Not loaded yet: refused naming the module. */
    PKD_PRINT_HOOK prev = capture_start();
    NTSTATUS s = LdrLoadSystemImage(&un, ldr_image_user, sizeof(ldr_image_user), &u);
    KdpSetPrintHook(prev);
    assert_int_equal(s, STATUS_DLL_NOT_FOUND);
    assert_true(logged("tiny.sys"));
    check_mark(&m);

    assert_int_equal(LdrLoadSystemImage(&tn, ldr_image_tiny, sizeof(ldr_image_tiny), &t), STATUS_SUCCESS);
    assert_int_equal(LdrLoadSystemImage(&un, ldr_image_user, sizeof(ldr_image_user), &u), STATUS_SUCCESS);
    assert_int_equal(t->LoadCount, 2);
    ULONG(NTAPI * up)(void) = (ULONG(NTAPI *)(void))LdrFindExportedRoutine(u, "UserProcessors");
    ULONG(NTAPI * tp)(void) = (ULONG(NTAPI *)(void))LdrFindExportedRoutine(t, "TinyProcessors");
    LONG(NTAPI * uc)(void) = (LONG(NTAPI *)(void))LdrFindExportedRoutine(u, "UserCounter");
    volatile LONG *counter = LdrFindExportedRoutine(t, "TinyCounter");
    assert_int_equal(up(), tp());
    *counter = 77;
    assert_int_equal(uc(), 77);
    /* tiny stays while user imports from it. */
    assert_int_equal(LdrUnloadSystemImage(t), STATUS_SUCCESS);
    assert_ptr_equal(LdrFindModuleByAddress(t->DllBase), t);
    assert_int_equal(up(), 0);
    assert_int_equal(LdrUnloadSystemImage(u), STATUS_SUCCESS);
    check_mark(&m);
}

static void missing_import_is_refused_by_name(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING n = name_of(L"missing.sys");
    PKLDR_DATA_TABLE_ENTRY e = (PKLDR_DATA_TABLE_ENTRY)1;
    PKD_PRINT_HOOK prev = capture_start();
    NTSTATUS s = LdrLoadSystemImage(&n, ldr_image_missing, sizeof(ldr_image_missing), &e);
    KdpSetPrintHook(prev);
    assert_int_equal(s, STATUS_PROCEDURE_NOT_FOUND);
    assert_null(e);
    assert_true(logged("missing.sys"));
    assert_true(logged("PoStartNextPowerIrp"));
    assert_true(logged("ntoskrnl.exe"));
    /* Through the I/O manager: no driver object left. */
    UNICODE_STRING svc = name_of(L"missing");
    PDRIVER_OBJECT d;
    prev = capture_start();
    s = IoLoadDriverImage(&svc, ldr_image_missing, sizeof(ldr_image_missing), &d);
    KdpSetPrintHook(prev);
    assert_int_equal(s, STATUS_PROCEDURE_NOT_FOUND);
    check_mark(&m);
}

static void export_table_and_system_routine_address(void **state)
{
    (void)state;
    assert_true(LdrpExportCount >= 500);
    for (ULONG i = 1; i < LdrpExportCount; i++) {
        const char *a = LdrpExportTable[i - 1].Name, *b = LdrpExportTable[i].Name;
        while (*a != 0 && *a == *b)
            a++, b++;
        assert_true((UCHAR)*a < (UCHAR)*b); /* sorted, unique */
        assert_non_null(LdrpExportTable[i].Address);
    }
    UNICODE_STRING s1 = RTL_CONSTANT_STRING(L"KeBugCheckEx"), s2 = RTL_CONSTANT_STRING(L"PsLoadedModuleList"),
                   s3 = RTL_CONSTANT_STRING(L"NoSuchRoutine"), s4 = RTL_CONSTANT_STRING(L"KeStallExecutionProcessor"),
                   s5 = RTL_CONSTANT_STRING(L"MmGetSystemRoutineAddress"), s6 = RTL_CONSTANT_STRING(L"strlen");
    assert_ptr_equal(MmGetSystemRoutineAddress(&s1), (PVOID)(ULONG_PTR)&KeBugCheckEx);
    assert_ptr_equal(MmGetSystemRoutineAddress(&s2), &PsLoadedModuleList);
    assert_null(MmGetSystemRoutineAddress(&s3));
    assert_ptr_equal(MmGetSystemRoutineAddress(&s4), (PVOID)(ULONG_PTR)&KeStallExecutionProcessor);
    assert_ptr_equal(MmGetSystemRoutineAddress(&s5), (PVOID)(ULONG_PTR)&MmGetSystemRoutineAddress);
    /* CRT exports are the kernel's own implementations, never the host's. */
    PVOID strlenAddress = MmGetSystemRoutineAddress(&s6);
    assert_non_null(strlenAddress);
    assert_ptr_equal(LdrFindModuleByAddress(strlenAddress)->DllBase,
                     LdrFindModuleByAddress((PVOID)(ULONG_PTR)&KeBugCheckEx)->DllBase);
    const LDRP_EXPORT *x = LdrpLookupExport("IoFileObjectType");
    assert_non_null(x);
    assert_int_equal(x->Data, 1);
    assert_ptr_equal(x->Address, &IoFileObjectType);
}

/* ---- malformed images --------------------------------------------------------------------------- */

typedef void (*MUTATE)(UCHAR *f, SIZE_T *len);

static void m_no_mz(UCHAR *f, SIZE_T *l) { (void)l; f[0] = 'X'; }
static void m_lfanew_out(UCHAR *f, SIZE_T *l) { wr32(f + 0x3C, (ULONG)*l - 8); }
static void m_pe_sig(UCHAR *f, SIZE_T *l) { (void)l; f[nt_off(f) + 2] = 'X'; }
static void m_machine(UCHAR *f, SIZE_T *l) { (void)l; wr16(f + nt_off(f) + 4, 0x14C); }
static void m_pe32(UCHAR *f, SIZE_T *l) { (void)l; wr16(f + opt_off(f), 0x10B); }
static void m_no_sections(UCHAR *f, SIZE_T *l) { (void)l; wr16(f + nt_off(f) + 6, 0); }
static void m_sect_align(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + opt_off(f) + 0x20, 0x1800); }
static void m_file_align(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + opt_off(f) + 0x24, 0x100); }
static void m_image_base(UCHAR *f, SIZE_T *l) { (void)l; wr64(f + opt_off(f) + 0x18, 0x140001000ULL); }
static void m_size_of_image(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + opt_off(f) + 0x38, 0x2000); }
static void m_headers_big(UCHAR *f, SIZE_T *l) { wr32(f + opt_off(f) + 0x3C, (ULONG)*l + 0x200); }
static void m_overlap(UCHAR *f, SIZE_T *l)
{
    (void)l;
    wr32(f + sect_off(f, 1) + 12, rd32(f + sect_off(f, 0) + 12));
}
static void m_raw_out(UCHAR *f, SIZE_T *l) { wr32(f + sect_off(f, 0) + 20, (ULONG)*l); }
static void m_sect_unaligned(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + sect_off(f, 1) + 12, rd32(f + sect_off(f, 1) + 12) + 0x10); }
static void m_tls(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + dd_off(f, 9), 0x1000); wr32(f + dd_off(f, 9) + 4, 40); }
static void m_dir_out(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + dd_off(f, 1), 0x7FFFF000); }
static void m_entry_out(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + opt_off(f) + 0x10, rd32(f + dd_off(f, 1))); }
static void m_truncated(UCHAR *f, SIZE_T *l) { (void)f; *l = 0x300; }
static void m_tiny_file(UCHAR *f, SIZE_T *l) { (void)f; *l = 0x20; }
static void m_reloc_type(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *blk = f + rva_to_off(f, rd32(f + dd_off(f, 5)));
    wr16(blk + 8, (USHORT)(4 << 12 | 0x10)); /* HIGHADJ */
}
static void m_reloc_block(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *blk = f + rva_to_off(f, rd32(f + dd_off(f, 5)));
    wr32(blk + 4, 0x7FFFFFF1);
}
static void m_reloc_target(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *blk = f + rva_to_off(f, rd32(f + dd_off(f, 5)));
    wr32(blk, 0x7FFF0000);
}
static void m_import_name(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *d = f + rva_to_off(f, rd32(f + dd_off(f, 1)));
    wr32(d + 12, 0x7FFFFFF0);
}
static void m_import_ordinal_bits(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *d = f + rva_to_off(f, rd32(f + dd_off(f, 1)));
    UCHAR *ilt = f + rva_to_off(f, rd32(d));
    wr64(ilt, 0x8000000100000001ULL);
}
static void m_import_unterminated(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *d = f + rva_to_off(f, rd32(f + dd_off(f, 1)));
    UCHAR *ilt = f + rva_to_off(f, rd32(d));
    wr64(ilt, 0x7FFFFF00ULL); /* name RVA outside the image */
}
static void m_export_counts(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *x = f + rva_to_off(f, rd32(f + dd_off(f, 0)));
    wr32(x + 24, 0x00FFFFFF);
}
static void m_export_rva(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *x = f + rva_to_off(f, rd32(f + dd_off(f, 0)));
    UCHAR *fns = f + rva_to_off(f, rd32(x + 28));
    wr32(fns, 0x7FFFFFFF);
}
static void m_cookie_out(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *lc = f + rva_to_off(f, rd32(f + dd_off(f, 10)));
    wr64(lc + 0x58, 0x1000);
}
static void m_cookie_value(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *lc = f + rva_to_off(f, rd32(f + dd_off(f, 10)));
    ULONG64 va;
    RtlCopyMemory(&va, lc + 0x58, 8);
    wr64(f + rva_to_off(f, (ULONG)(va - 0x140000000ULL)), 0x1234);
}
static void m_load_config_size(UCHAR *f, SIZE_T *l)
{
    (void)l;
    UCHAR *lc = f + rva_to_off(f, rd32(f + dd_off(f, 10)));
    wr32(lc, 0x7FFFFFFF);
}
static void m_shared_section(UCHAR *f, SIZE_T *l)
{
    (void)l;
    wr32(f + sect_off(f, 1) + 36, rd32(f + sect_off(f, 1) + 36) | IMAGE_SCN_MEM_SHARED);
}
static void m_rva_count(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + opt_off(f) + 0x6C, 17); }
static void m_exception_dir(UCHAR *f, SIZE_T *l) { (void)l; wr32(f + dd_off(f, 3) + 4, 13); }

static const struct {
    const char *What;
    MUTATE Mutate;
    const char *Message;
} mutations[] = {
    {"no MZ", m_no_mz, "DOS header"},
    {"e_lfanew outside", m_lfanew_out, "e_lfanew"},
    {"PE signature", m_pe_sig, "PE signature"},
    {"machine i386", m_machine, "not AMD64"},
    {"PE32 magic", m_pe32, "not PE32+"},
    {"no sections", m_no_sections, "sections"},
    {"section alignment", m_sect_align, "alignment"},
    {"file alignment", m_file_align, "alignment"},
    {"image base", m_image_base, "64 KB"},
    {"size of image", m_size_of_image, "beyond the image size"},
    {"size of headers", m_headers_big, "size of headers"},
    {"overlapping sections", m_overlap, "overlaps"},
    {"raw data outside", m_raw_out, "outside the file"},
    {"unaligned section", m_sect_unaligned, "not aligned"},
    {"TLS", m_tls, "TLS"},
    {"directory outside", m_dir_out, "data directory"},
    {"entry point outside code", m_entry_out, "entry point"},
    {"truncated", m_truncated, "exceeds the file"},
    {"tiny file", m_tiny_file, "DOS header"},
    {"relocation type", m_reloc_type, "relocation type 4"},
    {"relocation block size", m_reloc_block, "relocation block"},
    {"relocation page", m_reloc_target, "relocation block"},
    {"import module name", m_import_name, "module name"},
    {"import ordinal reserved bits", m_import_ordinal_bits, "reserved bits"},
    {"import name entry", m_import_unterminated, "invalid name entry"},
    {"export counts", m_export_counts, "export directory"},
    {"export rva", m_export_rva, "outside the image"},
    {"cookie address", m_cookie_out, "security cookie address"},
    {"cookie value", m_cookie_value, "not the default"},
    {"load config size", m_load_config_size, "load config size"},
    {"shared section", m_shared_section, "shared"},
    {"rva and sizes", m_rva_count, "data directories"},
    {"exception directory", m_exception_dir, "exception directory"},
};

static void malformed_images_are_refused(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING n = name_of(L"bad.sys");
    for (ULONG i = 0; i < RTL_NUMBER_OF(mutations); i++) {
        SIZE_T len = sizeof(ldr_image_gsdrv);
        UCHAR *f = copy_image(ldr_image_gsdrv, len);
        mutations[i].Mutate(f, &len);
        PKLDR_DATA_TABLE_ENTRY e = NULL;
        PKD_PRINT_HOOK prev = capture_start();
        NTSTATUS s = LdrLoadSystemImage(&n, f, len, &e);
        KdpSetPrintHook(prev);
        if (s != STATUS_INVALID_IMAGE_FORMAT || !logged("bad.sys") || !logged(mutations[i].Message))
            fail_msg("%s: status 0x%x, message \"%s\" (wanted \"%s\")", mutations[i].What, (unsigned)s, ldr_log,
                     mutations[i].Message);
        assert_null(e);
        ExFreePoolWithTag(f, TEST_TAG);
    }
    check_mark(&m);
    /* The unmutated copy still loads (the mutations, not the copy, failed). */
    PKLDR_DATA_TABLE_ENTRY e;
    assert_int_equal(LdrLoadSystemImage(&n, ldr_image_gsdrv, sizeof(ldr_image_gsdrv), &e), STATUS_SUCCESS);
    assert_int_equal(LdrUnloadSystemImage(e), STATUS_SUCCESS);
    check_mark(&m);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    MARK m = mark();
    UNICODE_STRING n = name_of(L"cut.sys");
    PKD_PRINT_HOOK prev = capture_start();
    /* Every length up to the end of the last section's raw data fails. */
    for (SIZE_T len = 0; len < sizeof(ldr_image_tiny); len += 61) {
        UCHAR *f = copy_image(ldr_image_tiny, len ? len : 1);
        PKLDR_DATA_TABLE_ENTRY e = NULL;
        NTSTATUS s = LdrLoadSystemImage(&n, f, len, &e);
        ExFreePoolWithTag(f, TEST_TAG);
        if (NT_SUCCESS(s)) {
            /* Only possible once every section's raw data is in. */
            LdrUnloadSystemImage(e);
            continue;
        }
        assert_int_equal(s, STATUS_INVALID_IMAGE_FORMAT);
    }
    KdpSetPrintHook(prev);
    check_mark(&m);
}

static void zw_load_driver_errors(void **state)
{
    (void)state;
    UNICODE_STRING notServices = RTL_CONSTANT_STRING(L"\\Registry\\Machine\\Software\\Foo");
    UNICODE_STRING unknown = RTL_CONSTANT_STRING(L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\NoSuchLdrService");
    assert_int_equal(ZwLoadDriver(&notServices), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_true(!NT_SUCCESS(ZwLoadDriver(&unknown)));
    assert_int_equal(ZwUnloadDriver(&unknown), STATUS_OBJECT_NAME_NOT_FOUND);
    /* A built-in driver cannot be unloaded as an image. */
    UNICODE_STRING nullSvc = RTL_CONSTANT_STRING(L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\Null");
    NTSTATUS s = ZwUnloadDriver(&nullSvc);
    assert_true(s == STATUS_INVALID_DEVICE_REQUEST || s == STATUS_OBJECT_NAME_NOT_FOUND);
}

/* Load-image notification: a driver image is reported once, after it is
 * mapped and listed and before its code runs, with process id 0. */
static struct {
    LONG Calls;
    PVOID Base;
    SIZE_T Size;
    HANDLE Pid;
    ULONG SystemMode;
    BOOLEAN Listed;
    BOOLEAN NameOk;
} notify_seen;

static VOID NTAPI record_image_notify(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    UNICODE_STRING tail = RTL_CONSTANT_STRING(L"tiny.sys");
    notify_seen.Calls++;
    notify_seen.Base = ImageInfo->ImageBase;
    notify_seen.Size = ImageInfo->ImageSize;
    notify_seen.Pid = ProcessId;
    notify_seen.SystemMode = ImageInfo->SystemModeImage;
    notify_seen.Listed = LdrFindModuleByAddress(ImageInfo->ImageBase) != NULL;
    notify_seen.NameOk = FullImageName != NULL && FullImageName->Length >= tail.Length &&
                         RtlCompareMemory((PUCHAR)FullImageName->Buffer + FullImageName->Length - tail.Length,
                                          tail.Buffer, tail.Length) == tail.Length;
}

static void load_image_notify_reports_driver_images(void **state)
{
    (void)state;
    UNICODE_STRING n = name_of(L"tiny.sys");
    PKLDR_DATA_TABLE_ENTRY e;
    RtlZeroMemory(&notify_seen, sizeof(notify_seen));
    assert_int_equal(PsSetLoadImageNotifyRoutine(record_image_notify), STATUS_SUCCESS);
    assert_int_equal(LdrLoadSystemImage(&n, ldr_image_tiny, sizeof(ldr_image_tiny), &e), STATUS_SUCCESS);
    assert_int_equal(notify_seen.Calls, 1);
    assert_ptr_equal(notify_seen.Base, e->DllBase);
    assert_int_equal(notify_seen.Size, e->SizeOfImage);
    assert_null(notify_seen.Pid);
    assert_int_equal(notify_seen.SystemMode, 1);
    assert_true(notify_seen.Listed);
    assert_true(notify_seen.NameOk);
    assert_int_equal(LdrUnloadSystemImage(e), STATUS_SUCCESS);
    /* A refused image is never reported; a removed routine is not called. */
    UNICODE_STRING m = name_of(L"missing.sys");
    assert_int_equal(LdrLoadSystemImage(&m, ldr_image_missing, sizeof(ldr_image_missing), &e),
                     STATUS_PROCEDURE_NOT_FOUND);
    assert_int_equal(notify_seen.Calls, 1);
    assert_int_equal(PsRemoveLoadImageNotifyRoutine(record_image_notify), STATUS_SUCCESS);
    assert_int_equal(LdrLoadSystemImage(&n, ldr_image_tiny, sizeof(ldr_image_tiny), &e), STATUS_SUCCESS);
    assert_int_equal(notify_seen.Calls, 1);
    assert_int_equal(LdrUnloadSystemImage(e), STATUS_SUCCESS);
}

static const struct CMUnitTest ldr_image_tests[] = {
    cmocka_unit_test(load_image_notify_reports_driver_images),
    cmocka_unit_test(tiny_maps_relocates_binds_and_protects),
    cmocka_unit_test(driver_with_cookie_init_section_and_unload),
    cmocka_unit_test(tiny_as_driver_calls_back_into_the_kernel),
    cmocka_unit_test(imports_from_another_image_by_ordinal_and_name),
    cmocka_unit_test(missing_import_is_refused_by_name),
    cmocka_unit_test(export_table_and_system_routine_address),
    cmocka_unit_test(malformed_images_are_refused),
    cmocka_unit_test(every_truncation_is_refused),
    cmocka_unit_test(zw_load_driver_errors),
};

NTOS_TEST_GROUP(ldr_image, ldr_image_tests, NULL, NULL);
