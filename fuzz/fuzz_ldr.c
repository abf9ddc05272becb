/*
 * libFuzzer harness for the PE loader (src/ldr): each input is a driver
 * image handed to LdrLoadSystemImage in place (libFuzzer's buffer has the
 * input's exact size, so any read past its end is an ASan report).
 *
 * The hosted kernel boots once, on the first input; tiny.sys (the mingw-w64
 * test driver) is loaded then and stays, so mutated imports from another
 * image ("tiny.sys") bind or fail as they would in a system with that
 * driver. Loader messages go to a no-op print hook (speed).
 *
 * Checked for every input: the status is success or one of the loader's
 * (STATUS_INVALID_IMAGE_FORMAT, STATUS_PROCEDURE_NOT_FOUND,
 * STATUS_DLL_NOT_FOUND, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER
 * cannot happen: the name is fixed). A loaded image is found by address,
 * its headers are mapped read-only and non-executable, its entry point (if
 * any) lies inside it; it survives LdrDiscardInitSections and its unload
 * leaves the loader's pool tag, the module list, tiny.sys's load count and
 * the image's own address range as they were. Nothing of the image runs.
 *
 * Seeds: NTOS_FUZZ_LDR_SEEDS=dir writes the test drivers embedded from
 * tests/ldr/pe/images.inc into dir and exits (fuzz/corpus/fuzz_ldr holds
 * them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <host.h>
#include <ntos/dbg.h>
#include <ntos/ex_pool.h>
#include <ntos/ldr.h>
#include <ntos/rtl.h>

#include "ldr/ldrp.h"
#include "fuzz_input.h"
#include "../tests/ldr/pe/images.inc"

static PKLDR_DATA_TABLE_ENTRY g_tiny;

static VOID quiet(PCSTR Text, ULONG Length)
{
    (void)Text;
    (void)Length;
}

static void write_seeds(const char *dir)
{
    static const struct {
        const char *name;
        const unsigned char *data;
        size_t size;
    } seeds[] = {
        {"tiny.sys", ldr_image_tiny, sizeof(ldr_image_tiny)},
        {"gsdrv.sys", ldr_image_gsdrv, sizeof(ldr_image_gsdrv)},
        {"user.sys", ldr_image_user, sizeof(ldr_image_user)},
        {"missing.sys", ldr_image_missing, sizeof(ldr_image_missing)},
    };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(seeds[i].data, 1, seeds[i].size, f) != seeds[i].size) {
            perror(path);
            exit(1);
        }
        fclose(f);
    }
    _exit(0); /* not exit(): libFuzzer reports an exiting target as a crash */
}

static void boot_once(void)
{
    static int booted;
    if (booted)
        return;
    booted = 1;
    const char *seeds = getenv("NTOS_FUZZ_LDR_SEEDS");
    if (seeds != NULL)
        write_seeds(seeds);
    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    host_boot(&config);
    KdpSetPrintHook(quiet);
    UNICODE_STRING tiny = RTL_CONSTANT_STRING(L"tiny.sys");
    CHECK(LdrLoadSystemImage(&tiny, ldr_image_tiny, sizeof(ldr_image_tiny), &g_tiny) == STATUS_SUCCESS);
}

static LONG64 tag_live(ULONG tag)
{
    ULONG64 a = 0, f = 0, a2 = 0, f2 = 0;
    ExQueryPoolTagUsage(tag, PagedPool, &a, &f, NULL);
    ExQueryPoolTagUsage(tag, NonPagedPool, &a2, &f2, NULL);
    return (LONG64)(a + a2) - (LONG64)(f + f2);
}

static ULONG module_count(void)
{
    ULONG n = 0;
    for (PLIST_ENTRY l = PsLoadedModuleList.Flink; l != &PsLoadedModuleList; l = l->Flink)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    boot_once();
    LONG64 live = tag_live(LDRP_TAG_IMAGE);
    ULONG modules = module_count();
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"fuzz.sys");
    PKLDR_DATA_TABLE_ENTRY e = NULL;
    NTSTATUS s = LdrLoadSystemImage(&name, data, size, &e);
    if (!NT_SUCCESS(s)) {
        CHECK(s == STATUS_INVALID_IMAGE_FORMAT || s == STATUS_PROCEDURE_NOT_FOUND || s == STATUS_DLL_NOT_FOUND ||
              s == STATUS_INSUFFICIENT_RESOURCES);
        CHECK(e == NULL);
    } else {
        ULONG_PTR base = (ULONG_PTR)e->DllBase;
        SIZE_T bytes = e->SizeOfImage;
        CHECK(LdrFindModuleByAddress(e->DllBase) == e);
        CHECK(LdrFindModuleByAddress((PUCHAR)e->DllBase + bytes - 1) == e);
        ULONG64 pte = 0;
        CHECK(MiTranslate(base, NULL, &pte, NULL));
        CHECK(!(pte & MI_PTE_WRITE) && (pte & MI_PTE_NX));
        if (e->EntryPoint != NULL)
            CHECK((ULONG_PTR)e->EntryPoint - base < bytes);
        LdrDiscardInitSections(e);
        CHECK(LdrUnloadSystemImage(e) == STATUS_SUCCESS);
        for (SIZE_T off = 0; off < bytes; off += PAGE_SIZE)
            CHECK(!MiTranslate(base + off, NULL, NULL, NULL));
    }
    CHECK(g_tiny->LoadCount == 1);
    CHECK(tag_live(LDRP_TAG_IMAGE) == live);
    CHECK(module_count() == modules);
    return 0;
}
