/*
 * The PE32+ loader: strict validation of a driver image, mapping into system
 * space with per-section protection, base relocation, import binding against
 * the kernel's export table (or another loaded image's export directory),
 * security cookie initialisation, and freeing.
 *
 * Validation is total: every offset, RVA, size and count the file supplies
 * is checked before it is used, and every structure is read with memcpy
 * (the file decides alignments), so a malformed image ends in
 * STATUS_INVALID_IMAGE_FORMAT and one DbgPrint line saying what was wrong,
 * never in a fault. The headers are checked in the file; everything the
 * directories describe is checked in the mapped image (whose every byte in
 * [0, SizeOfImage) is mapped and zero-filled beyond the raw data), so an RVA
 * bound against SizeOfImage is a bound against mapped memory.
 *
 * Memory: the image's pages come from the PFN database and are mapped into a
 * range of system PTEs writable and non-executable while the loader fills
 * them, then each section gets its protection (code RX, read-only data R,
 * data RW, everything else NX). On the host the emulated MMU makes those
 * protections real mprotect-equivalent mappings.
 *
 * Locking: the callers (ldrapi.c) hold PsLoadedModuleResource exclusive.
 * PASSIVE_LEVEL.
 */
#include "ldrp.h"
#include <ntos/rtl.h>
#include <ntos/ex_pool.h>

LIST_ENTRY LdrpImageList = {&LdrpImageList, &LdrpImageList};

/* One line per refusal: "Ldr: <image name>: <what was wrong>". */
#define LDRP_FAIL(Name, Format, ...)                                                                \
    DbgPrintEx(DPFLTR_SYSTEM_ID, DPFLTR_ERROR_LEVEL, "Ldr: %wZ: " Format, Name, ##__VA_ARGS__)

static inline USHORT rd16(const void *p)
{
    USHORT v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline ULONG rd32(const void *p)
{
    ULONG v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline ULONG64 rd64(const void *p)
{
    ULONG64 v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline void wr32(void *p, ULONG v) { __builtin_memcpy(p, &v, sizeof(v)); }
static inline void wr64(void *p, ULONG64 v) { __builtin_memcpy(p, &v, sizeof(v)); }

static inline BOOLEAN IsPow2(ULONG v) { return v != 0 && (v & (v - 1)) == 0; }
static inline ULONG64 AlignUp(ULONG64 v, ULONG a) { return (v + a - 1) & ~(ULONG64)(a - 1); }

/* [Rva, Rva + Size) inside [0, Limit) without overflow. */
static inline BOOLEAN RangeIn(ULONG64 Rva, ULONG64 Size, ULONG64 Limit)
{
    return Rva <= Limit && Size <= Limit - Rva;
}

/* A NUL-terminated string at Rva inside the image, at most MaxLen chars. */
static const char *ImageString(PLDRP_IMAGE Img, ULONG Rva, ULONG MaxLen)
{
    SIZE_T size = Img->Entry.SizeOfImage;
    if (Rva >= size)
        return NULL;
    const char *s = (const char *)(Img->Base + Rva);
    SIZE_T avail = size - Rva;
    for (SIZE_T i = 0; i < avail && i <= MaxLen; i++)
        if (s[i] == 0)
            return s;
    return NULL;
}

static int LdrpStrCmp(const char *a, const char *b)
{
    while (*a != 0 && *a == *b)
        a++, b++;
    return (int)(UCHAR)*a - (int)(UCHAR)*b;
}

static BOOLEAN AsciiEqualNoCase(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return FALSE;
        if (x == 0)
            return TRUE;
    }
}

/* ---- header validation (in the file) --------------------------------------------------------- */

typedef struct _LDRP_HEADERS {
    IMAGE_FILE_HEADER File;
    IMAGE_OPTIONAL_HEADER64 Opt; /* zero beyond NumberOfRvaAndSizes */
    ULONG SectionTableOffset;
} LDRP_HEADERS;

static NTSTATUS LdrpCheckHeaders(PCUNICODE_STRING Name, const UCHAR *File, SIZE_T FileSize, LDRP_HEADERS *H,
                                 IMAGE_SECTION_HEADER *Sections)
{
    if (FileSize < sizeof(IMAGE_DOS_HEADER) || rd16(File) != IMAGE_DOS_SIGNATURE) {
        LDRP_FAIL(Name, "no DOS header (MZ)\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    LONG lfanew = (LONG)rd32(File + FIELD_OFFSET(IMAGE_DOS_HEADER, e_lfanew));
    if (lfanew < (LONG)sizeof(IMAGE_DOS_HEADER) ||
        !RangeIn((ULONG)lfanew, 4 + sizeof(IMAGE_FILE_HEADER), FileSize)) {
        LDRP_FAIL(Name, "e_lfanew 0x%x is outside the file\n", (unsigned)lfanew);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (rd32(File + lfanew) != IMAGE_NT_SIGNATURE) {
        LDRP_FAIL(Name, "no PE signature at 0x%x\n", (unsigned)lfanew);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    __builtin_memcpy(&H->File, File + lfanew + 4, sizeof(H->File));
    if (H->File.Machine != IMAGE_FILE_MACHINE_AMD64) {
        LDRP_FAIL(Name, "machine 0x%x is not AMD64\n", H->File.Machine);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (!(H->File.Characteristics & IMAGE_FILE_EXECUTABLE_IMAGE)) {
        LDRP_FAIL(Name, "not an executable image (characteristics 0x%x)\n", H->File.Characteristics);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (H->File.NumberOfSections == 0 || H->File.NumberOfSections > LDRP_MAX_SECTIONS) {
        LDRP_FAIL(Name, "%u sections (1..%u accepted)\n", H->File.NumberOfSections, LDRP_MAX_SECTIONS);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    ULONG optOffset = (ULONG)lfanew + 4 + sizeof(IMAGE_FILE_HEADER);
    ULONG optSize = H->File.SizeOfOptionalHeader;
    if (optSize < FIELD_OFFSET(IMAGE_OPTIONAL_HEADER64, DataDirectory) || optSize > sizeof(IMAGE_OPTIONAL_HEADER64) ||
        !RangeIn(optOffset, optSize, FileSize)) {
        LDRP_FAIL(Name, "optional header size %u invalid or outside the file\n", optSize);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    RtlZeroMemory(&H->Opt, sizeof(H->Opt));
    __builtin_memcpy(&H->Opt, File + optOffset, optSize);
    IMAGE_OPTIONAL_HEADER64 *o = &H->Opt;
    if (o->Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC) {
        LDRP_FAIL(Name, "optional header magic 0x%x is not PE32+\n", o->Magic);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (o->NumberOfRvaAndSizes > IMAGE_NUMBEROF_DIRECTORY_ENTRIES ||
        optSize < FIELD_OFFSET(IMAGE_OPTIONAL_HEADER64, DataDirectory) +
                      o->NumberOfRvaAndSizes * sizeof(IMAGE_DATA_DIRECTORY)) {
        LDRP_FAIL(Name, "%u data directories do not fit the optional header\n", o->NumberOfRvaAndSizes);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    /* Directories beyond NumberOfRvaAndSizes do not exist. */
    for (ULONG i = o->NumberOfRvaAndSizes; i < IMAGE_NUMBEROF_DIRECTORY_ENTRIES; i++)
        o->DataDirectory[i].VirtualAddress = o->DataDirectory[i].Size = 0;
    /* Page-granular sections: the protection of each section is a page
     * property, so the loader requires SectionAlignment >= PAGE_SIZE (every
     * linker's default for drivers); FileAlignment per the specification. */
    if (!IsPow2(o->SectionAlignment) || o->SectionAlignment < PAGE_SIZE || !IsPow2(o->FileAlignment) ||
        o->FileAlignment < 512 || o->FileAlignment > 0x10000 || o->FileAlignment > o->SectionAlignment) {
        LDRP_FAIL(Name, "section alignment 0x%x / file alignment 0x%x invalid\n", o->SectionAlignment,
                  o->FileAlignment);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (o->ImageBase & 0xFFFF) {
        LDRP_FAIL(Name, "image base 0x%llx is not 64 KB aligned\n", (unsigned long long)o->ImageBase);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (o->SizeOfImage == 0 || o->SizeOfImage > LDRP_MAX_IMAGE_SIZE) {
        LDRP_FAIL(Name, "size of image 0x%x invalid\n", o->SizeOfImage);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    H->SectionTableOffset = optOffset + optSize;
    ULONG tableBytes = H->File.NumberOfSections * (ULONG)sizeof(IMAGE_SECTION_HEADER);
    if (!RangeIn(H->SectionTableOffset, tableBytes, FileSize) || o->SizeOfHeaders < H->SectionTableOffset + tableBytes ||
        o->SizeOfHeaders > FileSize || o->SizeOfHeaders > o->SizeOfImage) {
        LDRP_FAIL(Name, "size of headers 0x%x does not cover the section table or exceeds the file\n",
                  o->SizeOfHeaders);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    __builtin_memcpy(Sections, File + H->SectionTableOffset, tableBytes);

    /* Sections: in ascending order, aligned, not overlapping each other or
     * the headers, inside SizeOfImage; raw data inside the file. */
    ULONG64 next = AlignUp(o->SizeOfHeaders, o->SectionAlignment);
    for (ULONG i = 0; i < H->File.NumberOfSections; i++) {
        IMAGE_SECTION_HEADER *s = &Sections[i];
        ULONG vsize = s->Misc.VirtualSize != 0 ? s->Misc.VirtualSize : s->SizeOfRawData;
        if (s->VirtualAddress & (o->SectionAlignment - 1)) {
            LDRP_FAIL(Name, "section %u (%.8s) at 0x%x is not aligned to 0x%x\n", i, s->Name, s->VirtualAddress,
                      o->SectionAlignment);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        if (s->VirtualAddress < next) {
            LDRP_FAIL(Name, "section %u (%.8s) at 0x%x overlaps the headers or the previous section\n", i, s->Name,
                      s->VirtualAddress);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        if (vsize == 0 || !RangeIn(s->VirtualAddress, vsize, o->SizeOfImage)) {
            LDRP_FAIL(Name, "section %u (%.8s) [0x%x, +0x%x) is empty or beyond the image size 0x%x\n", i, s->Name,
                      s->VirtualAddress, vsize, o->SizeOfImage);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        if (s->SizeOfRawData != 0 &&
            ((s->PointerToRawData & (o->FileAlignment - 1)) || !RangeIn(s->PointerToRawData, s->SizeOfRawData, FileSize))) {
            LDRP_FAIL(Name, "section %u (%.8s) raw data [0x%x, +0x%x) misaligned or outside the file\n", i, s->Name,
                      s->PointerToRawData, s->SizeOfRawData);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        if (s->Characteristics & IMAGE_SCN_MEM_SHARED) {
            LDRP_FAIL(Name, "section %u (%.8s) is shared, which a driver cannot be\n", i, s->Name);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        next = AlignUp((ULONG64)s->VirtualAddress + vsize, o->SectionAlignment);
    }
    if (next > AlignUp(o->SizeOfImage, o->SectionAlignment)) {
        LDRP_FAIL(Name, "sections end beyond the image size\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    /* Directories: inside the image. TLS callbacks and managed code have no
     * place in a driver. */
    for (ULONG i = 0; i < IMAGE_NUMBEROF_DIRECTORY_ENTRIES; i++) {
        IMAGE_DATA_DIRECTORY *d = &o->DataDirectory[i];
        if (i == IMAGE_DIRECTORY_ENTRY_SECURITY || (d->VirtualAddress == 0 && d->Size == 0))
            continue; /* the certificate table is a file offset, not mapped */
        if (!RangeIn(d->VirtualAddress, d->Size, o->SizeOfImage) || d->VirtualAddress == 0) {
            LDRP_FAIL(Name, "data directory %u [0x%x, +0x%x) is outside the image\n", i, d->VirtualAddress, d->Size);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
    }
    if (o->DataDirectory[IMAGE_DIRECTORY_ENTRY_TLS].Size != 0) {
        LDRP_FAIL(Name, "has a TLS directory, which drivers cannot use\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (o->DataDirectory[IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR].Size != 0) {
        LDRP_FAIL(Name, "is a managed (COM descriptor) image\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (o->AddressOfEntryPoint != 0) {
        BOOLEAN inCode = FALSE;
        for (ULONG i = 0; i < H->File.NumberOfSections; i++) {
            IMAGE_SECTION_HEADER *s = &Sections[i];
            ULONG vsize = s->Misc.VirtualSize != 0 ? s->Misc.VirtualSize : s->SizeOfRawData;
            if ((s->Characteristics & IMAGE_SCN_MEM_EXECUTE) && o->AddressOfEntryPoint >= s->VirtualAddress &&
                o->AddressOfEntryPoint - s->VirtualAddress < vsize)
                inCode = TRUE;
        }
        if (!inCode) {
            LDRP_FAIL(Name, "entry point 0x%x is not inside an executable section\n", o->AddressOfEntryPoint);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
    }
    return STATUS_SUCCESS;
}

/* ---- memory -------------------------------------------------------------------------------- */

static NTSTATUS LdrpAllocateMapping(PLDRP_IMAGE Img)
{
    SIZE_T pages = Img->Pages;
    Img->Pfns = ExAllocatePoolZero(NonPagedPoolNx, pages * sizeof(PFN_NUMBER), LDRP_TAG_IMAGE);
    if (Img->Pfns == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PVOID va = MiReserveSystemPtes(pages);
    if (va == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PFN_NUMBER first = MiAllocatePages(pages, MI_ALLOCATE_ZEROED, MiPfnUsageDriver);
    if (first == 0) {
        MiReleaseSystemPtes(va, pages);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    PFN_NUMBER p = first;
    for (SIZE_T i = 0; i < pages; i++) {
        Img->Pfns[i] = p;
        p = MiGetPfnEntry(p)->u1.NextInChain;
    }
    NTSTATUS status = MiMapPageChain((ULONG_PTR)va, first, pages,
                                     MI_PTE_WRITE | MI_PTE_NX | MI_PTE_OWNER(MiOwnerImage), 0);
    if (!NT_SUCCESS(status)) {
        MiFreePageChain(first, TRUE);
        RtlZeroMemory(Img->Pfns, pages * sizeof(PFN_NUMBER));
        MiReleaseSystemPtes(va, pages);
        return status;
    }
    Img->Base = (ULONG_PTR)va;
    return STATUS_SUCCESS;
}

/* Unmaps [FirstPage, FirstPage + Count) of the image and frees their frames. */
static VOID LdrpFreePages(PLDRP_IMAGE Img, SIZE_T FirstPage, SIZE_T Count)
{
    if (Count == 0)
        return;
    NTSTATUS status = MiUnmapRange(Img->Base + FirstPage * PAGE_SIZE, Count);
    /* 4 KB mappings only, so unmapping never needs a table page. */
    if (!NT_SUCCESS(status))
        KeBugCheckEx(MEMORY_MANAGEMENT, 0x4C4452, (ULONG_PTR)status, Img->Base, FirstPage);
    for (SIZE_T i = FirstPage; i < FirstPage + Count; i++) {
        if (Img->Pfns[i] != 0) {
            MiGetPfnEntry(Img->Pfns[i])->PteAddress = 0; /* no longer mapped */
            MiFreePage(Img->Pfns[i]);
        }
        Img->Pfns[i] = 0;
    }
}

VOID LdrpFreeImage(PLDRP_IMAGE Img)
{
    if (Img->Base != 0) {
        arch_image_unmapped((PVOID)Img->Base);
        LdrpFreePages(Img, 0, Img->Pages);
        MiReleaseSystemPtes((PVOID)Img->Base, Img->Pages);
    }
    if (Img->Pfns != NULL)
        ExFreePoolWithTag(Img->Pfns, LDRP_TAG_IMAGE);
    if (Img->Sections != NULL)
        ExFreePoolWithTag(Img->Sections, LDRP_TAG_IMAGE);
    if (Img->Entry.FullDllName.Buffer != NULL)
        ExFreePoolWithTag(Img->Entry.FullDllName.Buffer, LDRP_TAG_IMAGE);
    ExFreePoolWithTag(Img, LDRP_TAG_IMAGE);
}

/* The pages [first, end) a section owns: from its start up to the next
 * section (the slack after it belongs to it). */
static VOID LdrpSectionPages(PLDRP_IMAGE Img, ULONG Index, SIZE_T *First, SIZE_T *End)
{
    IMAGE_SECTION_HEADER *s = &Img->Sections[Index];
    *First = s->VirtualAddress >> PAGE_SHIFT;
    *End = Index + 1 < Img->NumberOfSections ? Img->Sections[Index + 1].VirtualAddress >> PAGE_SHIFT : Img->Pages;
}

static BOOLEAN LdrpIsDiscardable(const IMAGE_SECTION_HEADER *s)
{
    return (s->Characteristics & IMAGE_SCN_MEM_DISCARDABLE) ||
           (s->Name[0] == 'I' && s->Name[1] == 'N' && s->Name[2] == 'I' && s->Name[3] == 'T' && s->Name[4] == 0);
}

static NTSTATUS LdrpProtect(PLDRP_IMAGE Img)
{
    /* Headers: read-only data. */
    SIZE_T headerPages = Img->Sections[0].VirtualAddress >> PAGE_SHIFT;
    NTSTATUS status = MiProtectRange(Img->Base, headerPages, MI_PTE_NX);
    for (ULONG i = 0; NT_SUCCESS(status) && i < Img->NumberOfSections; i++) {
        ULONG c = Img->Sections[i].Characteristics;
        ULONG64 attr = 0;
        if (c & IMAGE_SCN_MEM_WRITE)
            attr |= MI_PTE_WRITE;
        if (!(c & IMAGE_SCN_MEM_EXECUTE))
            attr |= MI_PTE_NX;
        SIZE_T first, end;
        LdrpSectionPages(Img, i, &first, &end);
        status = MiProtectRange(Img->Base + first * PAGE_SIZE, end - first, attr);
    }
    return status;
}

VOID LdrpDiscardSections(PLDRP_IMAGE Img)
{
    if (Img->InitDiscarded)
        return;
    Img->InitDiscarded = TRUE;
    for (ULONG i = 0; i < Img->NumberOfSections; i++) {
        if (!LdrpIsDiscardable(&Img->Sections[i]))
            continue;
        SIZE_T first, end;
        LdrpSectionPages(Img, i, &first, &end);
        /* Kept whatever its flags say if it holds what is read after
         * initialisation: the export directory (other images bind to it)
         * or the exception table (unwinding). */
        ULONG_PTR lo = Img->Base + first * PAGE_SIZE, hi = Img->Base + end * PAGE_SIZE;
        ULONG_PTR ex = Img->Base + Img->ExportDirectory.VirtualAddress;
        ULONG_PTR pd = (ULONG_PTR)Img->Entry.ExceptionTable;
        if ((Img->ExportDirectory.Size != 0 && ex < hi && ex + Img->ExportDirectory.Size > lo) ||
            (pd != 0 && pd < hi && pd + Img->Entry.ExceptionTableSize > lo))
            continue;
        LdrpFreePages(Img, first, end - first);
    }
}

/* ---- relocations --------------------------------------------------------------------------- */

static NTSTATUS LdrpRelocate(PCUNICODE_STRING Name, PLDRP_IMAGE Img, const IMAGE_OPTIONAL_HEADER64 *O,
                             USHORT FileCharacteristics)
{
    ULONG64 delta = (ULONG64)Img->Base - O->ImageBase;
    const IMAGE_DATA_DIRECTORY *d = &O->DataDirectory[IMAGE_DIRECTORY_ENTRY_BASERELOC];
    ULONG size = Img->Entry.SizeOfImage;
    if (d->Size == 0) {
        if (delta != 0 && (FileCharacteristics & IMAGE_FILE_RELOCS_STRIPPED)) {
            LDRP_FAIL(Name, "has no relocations and cannot load at its preferred base\n");
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        return STATUS_SUCCESS;
    }
    /* Walked (and validated) even at the preferred base: a bad block is a
     * bad image wherever it loads. */
    ULONG off = 0;
    while (off < d->Size) {
        const UCHAR *blk = (const UCHAR *)Img->Base + d->VirtualAddress + off;
        if (d->Size - off < sizeof(IMAGE_BASE_RELOCATION)) {
            LDRP_FAIL(Name, "truncated relocation block at 0x%x\n", d->VirtualAddress + off);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        ULONG page = rd32(blk), blockSize = rd32(blk + 4);
        if (blockSize < sizeof(IMAGE_BASE_RELOCATION) || (blockSize & 1) || blockSize > d->Size - off ||
            (page & (PAGE_SIZE - 1)) || page >= size) {
            LDRP_FAIL(Name, "relocation block at 0x%x (page 0x%x, size 0x%x) is invalid\n", d->VirtualAddress + off,
                      page, blockSize);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        ULONG n = (blockSize - sizeof(IMAGE_BASE_RELOCATION)) / 2;
        for (ULONG i = 0; i < n; i++) {
            USHORT e = rd16(blk + 8 + 2 * i);
            ULONG type = e >> 12, rva = page + (e & 0xFFF);
            PUCHAR at = (PUCHAR)Img->Base + rva;
            switch (type) {
            case IMAGE_REL_BASED_ABSOLUTE:
                break;
            case IMAGE_REL_BASED_HIGHLOW:
                if (!RangeIn(rva, 4, size))
                    goto outside;
                wr32(at, rd32(at) + (ULONG)delta);
                break;
            case IMAGE_REL_BASED_DIR64:
                if (!RangeIn(rva, 8, size))
                    goto outside;
                wr64(at, rd64(at) + delta);
                break;
            default:
                LDRP_FAIL(Name, "relocation type %u at 0x%x is not valid for x64 (DIR64, HIGHLOW, ABSOLUTE only)\n",
                          type, rva);
                return STATUS_INVALID_IMAGE_FORMAT;
            outside:
                LDRP_FAIL(Name, "relocation at 0x%x reaches beyond the image\n", rva);
                return STATUS_INVALID_IMAGE_FORMAT;
            }
        }
        off += blockSize;
    }
    return STATUS_SUCCESS;
}

/* ---- exports of a loaded image -------------------------------------------------------------- */

static NTSTATUS LdrpCheckExports(PCUNICODE_STRING Name, PLDRP_IMAGE Img)
{
    IMAGE_DATA_DIRECTORY d = Img->ExportDirectory;
    ULONG size = Img->Entry.SizeOfImage;
    if (d.Size == 0)
        return STATUS_SUCCESS;
    if (d.Size < sizeof(IMAGE_EXPORT_DIRECTORY)) {
        LDRP_FAIL(Name, "export directory is too small\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    IMAGE_EXPORT_DIRECTORY e;
    __builtin_memcpy(&e, (PUCHAR)Img->Base + d.VirtualAddress, sizeof(e));
    if (e.NumberOfFunctions > 0xFFFF || e.NumberOfNames > e.NumberOfFunctions ||
        !RangeIn(e.AddressOfFunctions, (ULONG64)e.NumberOfFunctions * 4, size) ||
        !RangeIn(e.AddressOfNames, (ULONG64)e.NumberOfNames * 4, size) ||
        !RangeIn(e.AddressOfNameOrdinals, (ULONG64)e.NumberOfNames * 2, size) ||
        e.Base + e.NumberOfFunctions < e.Base) {
        LDRP_FAIL(Name, "export directory tables are outside the image\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    for (ULONG i = 0; i < e.NumberOfFunctions; i++) {
        ULONG rva = rd32((PUCHAR)Img->Base + e.AddressOfFunctions + 4 * i);
        if (rva >= size) {
            LDRP_FAIL(Name, "export %u has RVA 0x%x outside the image\n", i + e.Base, rva);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
    }
    for (ULONG i = 0; i < e.NumberOfNames; i++) {
        ULONG nameRva = rd32((PUCHAR)Img->Base + e.AddressOfNames + 4 * i);
        USHORT ord = rd16((PUCHAR)Img->Base + e.AddressOfNameOrdinals + 2 * i);
        if (ImageString(Img, nameRva, 255) == NULL || ord >= e.NumberOfFunctions) {
            LDRP_FAIL(Name, "export name %u is invalid\n", i);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
    }
    return STATUS_SUCCESS;
}

/* An export of a loaded (validated) image by name or ordinal; NULL if absent
 * or forwarded (forwarders are not supported for kernel images). */
PVOID LdrpImageExport(PLDRP_IMAGE Img, const char *Name, ULONG Ordinal)
{
    IMAGE_DATA_DIRECTORY d = Img->ExportDirectory;
    if (d.Size == 0)
        return NULL;
    IMAGE_EXPORT_DIRECTORY e;
    __builtin_memcpy(&e, (PUCHAR)Img->Base + d.VirtualAddress, sizeof(e));
    ULONG index;
    if (Name != NULL) {
        ULONG lo = 0, hi = e.NumberOfNames;
        BOOLEAN found = FALSE;
        index = 0;
        while (lo < hi) { /* the name table is sorted */
            ULONG mid = lo + (hi - lo) / 2;
            const char *n = (const char *)Img->Base + rd32((PUCHAR)Img->Base + e.AddressOfNames + 4 * mid);
            int c = LdrpStrCmp(Name, n);
            if (c == 0) {
                index = rd16((PUCHAR)Img->Base + e.AddressOfNameOrdinals + 2 * mid);
                found = TRUE;
                break;
            }
            if (c < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (!found)
            return NULL;
    } else {
        if (Ordinal < e.Base || Ordinal - e.Base >= e.NumberOfFunctions)
            return NULL;
        index = Ordinal - e.Base;
    }
    ULONG rva = rd32((PUCHAR)Img->Base + e.AddressOfFunctions + 4 * index);
    if (rva == 0 || (rva >= d.VirtualAddress && rva - d.VirtualAddress < d.Size))
        return NULL;
    return (PUCHAR)Img->Base + rva;
}

/* ---- imports -------------------------------------------------------------------------------- */

static PLDRP_IMAGE LdrpFindImageByName(const char *Name)
{
    for (PLIST_ENTRY l = LdrpImageList.Flink; l != &LdrpImageList; l = l->Flink) {
        PLDRP_IMAGE i = CONTAINING_RECORD(l, LDRP_IMAGE, ImageLinks);
        if (AsciiEqualNoCase(i->AnsiBaseName, Name))
            return i;
    }
    return NULL;
}

static NTSTATUS LdrpBindImports(PCUNICODE_STRING Name, PLDRP_IMAGE Img, const IMAGE_OPTIONAL_HEADER64 *O)
{
    const IMAGE_DATA_DIRECTORY *d = &O->DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
    ULONG size = Img->Entry.SizeOfImage;
    if (d->Size == 0)
        return STATUS_SUCCESS;
    for (ULONG off = 0;; off += sizeof(IMAGE_IMPORT_DESCRIPTOR)) {
        if (!RangeIn((ULONG64)d->VirtualAddress + off, sizeof(IMAGE_IMPORT_DESCRIPTOR), size)) {
            LDRP_FAIL(Name, "import descriptors run past the image (no terminator)\n");
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        IMAGE_IMPORT_DESCRIPTOR desc;
        __builtin_memcpy(&desc, (PUCHAR)Img->Base + d->VirtualAddress + off, sizeof(desc));
        if (desc.Name == 0 && desc.FirstThunk == 0)
            break; /* the terminating descriptor */
        const char *module = ImageString(Img, desc.Name, 255);
        if (module == NULL) {
            LDRP_FAIL(Name, "import descriptor %u has an invalid module name\n", off / 20);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        /* ntoskrnl.exe and HAL.dll are one namespace: the HAL is part of this
         * kernel (as it is in Windows 10 2004 and later). */
        BOOLEAN kernel = AsciiEqualNoCase(module, "ntoskrnl.exe") || AsciiEqualNoCase(module, "hal.dll");
        PLDRP_IMAGE dep = NULL;
        if (!kernel) {
            dep = LdrpFindImageByName(module);
            if (dep == NULL || dep == Img) {
                LDRP_FAIL(Name, "imports from %s, which is not loaded\n", module);
                return STATUS_DLL_NOT_FOUND;
            }
            BOOLEAN known = FALSE;
            for (ULONG k = 0; k < Img->DependencyCount; k++)
                known |= Img->Dependencies[k] == dep;
            if (!known) {
                if (Img->DependencyCount == LDRP_MAX_DEPENDENCIES) {
                    LDRP_FAIL(Name, "imports from more than %u images\n", LDRP_MAX_DEPENDENCIES);
                    return STATUS_INVALID_IMAGE_FORMAT;
                }
                Img->Dependencies[Img->DependencyCount++] = dep;
                dep->Entry.LoadCount++;
            }
        }
        ULONG lookup = desc.OriginalFirstThunk != 0 ? desc.OriginalFirstThunk : desc.FirstThunk;
        if (desc.FirstThunk == 0 || (desc.FirstThunk & 7) || lookup == 0) {
            LDRP_FAIL(Name, "import descriptor for %s has no address table\n", module);
            return STATUS_INVALID_IMAGE_FORMAT;
        }
        for (ULONG i = 0;; i++) {
            if (!RangeIn((ULONG64)lookup + 8ull * i, 8, size) || !RangeIn((ULONG64)desc.FirstThunk + 8ull * i, 8, size)) {
                LDRP_FAIL(Name, "import table of %s runs past the image\n", module);
                return STATUS_INVALID_IMAGE_FORMAT;
            }
            ULONG64 t = rd64((PUCHAR)Img->Base + lookup + 8ull * i);
            if (t == 0)
                break;
            PVOID target;
            const char *fn = NULL;
            ULONG ordinal = 0;
            if (IMAGE_SNAP_BY_ORDINAL64(t)) {
                if (t & 0x7FFFFFFFFFFF0000ULL) {
                    LDRP_FAIL(Name, "import %u from %s: ordinal entry 0x%llx has reserved bits\n", i, module,
                              (unsigned long long)t);
                    return STATUS_INVALID_IMAGE_FORMAT;
                }
                ordinal = (ULONG)IMAGE_ORDINAL64(t);
            } else {
                if (t > 0x7FFFFFFFULL || (fn = ImageString(Img, (ULONG)t + 2, 255)) == NULL ||
                    !RangeIn(t, 2, size)) {
                    LDRP_FAIL(Name, "import %u from %s: invalid name entry 0x%llx\n", i, module, (unsigned long long)t);
                    return STATUS_INVALID_IMAGE_FORMAT;
                }
            }
            if (kernel) {
                const LDRP_EXPORT *x = NULL;
                if (fn != NULL)
                    x = LdrpLookupExport(fn);
                else if (ordinal >= 1 && ordinal <= LdrpExportCount)
                    x = &LdrpExportTable[ordinal - 1];
                target = x != NULL ? x->Address : NULL;
            } else {
                target = LdrpImageExport(dep, fn, ordinal);
            }
            if (target == NULL) {
                if (fn != NULL)
                    LDRP_FAIL(Name, "imports %s from %s, which is not exported\n", fn, module);
                else
                    LDRP_FAIL(Name, "imports ordinal %u from %s, which is not exported\n", ordinal, module);
                return STATUS_PROCEDURE_NOT_FOUND;
            }
            wr64((PUCHAR)Img->Base + desc.FirstThunk + 8ull * i, (ULONG64)(ULONG_PTR)target);
        }
    }
    return STATUS_SUCCESS;
}

/* ---- load config: the /GS security cookie ------------------------------------------------- */

static ULONG64 LdrpCookieSeed;

static NTSTATUS LdrpInitSecurityCookie(PCUNICODE_STRING Name, PLDRP_IMAGE Img, const IMAGE_OPTIONAL_HEADER64 *O)
{
    const IMAGE_DATA_DIRECTORY *d = &O->DataDirectory[IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG];
    ULONG size = Img->Entry.SizeOfImage;
    if (d->Size == 0)
        return STATUS_SUCCESS;
    if (d->Size < sizeof(ULONG)) {
        LDRP_FAIL(Name, "load config directory too small\n");
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    PUCHAR lc = (PUCHAR)Img->Base + d->VirtualAddress;
    ULONG lcSize = rd32(lc);
    /* The structure's own Size field may not claim more than the image holds. */
    if (!RangeIn(d->VirtualAddress, lcSize, size)) {
        LDRP_FAIL(Name, "load config size 0x%x reaches beyond the image\n", lcSize);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    if (lcSize < FIELD_OFFSET(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie) + sizeof(ULONG64))
        return STATUS_SUCCESS; /* too old to carry a cookie */
    ULONG64 va = rd64(lc + FIELD_OFFSET(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie));
    if (va == 0)
        return STATUS_SUCCESS;
    ULONG64 rva = va - Img->Base; /* already relocated */
    if (va < Img->Base || !RangeIn(rva, sizeof(ULONG64), size)) {
        LDRP_FAIL(Name, "security cookie address 0x%llx is outside the image\n", (unsigned long long)va);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    PUCHAR cookie = (PUCHAR)Img->Base + rva;
    ULONG64 old = rd64(cookie);
    /* An image whose cookie is not the compiler's default was tampered with
     * or was not built for /GS initialisation by its loader: refused. */
    if (old != IMAGE_DEFAULT_SECURITY_COOKIE_64 && old != 0) {
        LDRP_FAIL(Name, "security cookie holds 0x%llx, not the default value\n", (unsigned long long)old);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    /* As Windows does on x64: an unpredictable value with the top 16 bits
     * clear (so a string copy cannot forge it) that is neither 0 nor the
     * default (which the /GS prologue treats as "never initialised"). */
    ULONG64 seed = __atomic_add_fetch(&LdrpCookieSeed, 0x9E3779B97F4A7C15ULL, __ATOMIC_RELAXED);
    ULONG64 v = arch_cycle_counter() ^ (seed * 0xBF58476D1CE4E5B9ULL) ^ (va << 13) ^ KeQueryInterruptTime();
    v ^= v >> 31;
    v &= 0x0000FFFFFFFFFFFFULL;
    if (v == IMAGE_DEFAULT_SECURITY_COOKIE_64 || v == 0)
        v ^= 0x0000123456789ABCULL;
    wr64(cookie, v);
    return STATUS_SUCCESS;
}

/* ---- the whole load --------------------------------------------------------------------------- */

NTSTATUS LdrpMapImage(PCUNICODE_STRING Name, const VOID *FileBytes, SIZE_T FileSize, PLDRP_IMAGE *Image)
{
    const UCHAR *File = FileBytes;
    *Image = NULL;
    if (Name == NULL || Name->Length == 0 || Name->Length > 60 * sizeof(WCHAR) || File == NULL)
        return STATUS_INVALID_PARAMETER;

    PLDRP_IMAGE img = ExAllocatePoolZero(NonPagedPoolNx, sizeof(*img), LDRP_TAG_IMAGE);
    if (img == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    LDRP_HEADERS *h = ExAllocatePoolZero(NonPagedPoolNx, sizeof(*h), LDRP_TAG_IMAGE);
    img->Sections = ExAllocatePoolZero(NonPagedPoolNx, LDRP_MAX_SECTIONS * sizeof(IMAGE_SECTION_HEADER),
                                       LDRP_TAG_IMAGE);
    NTSTATUS status = STATUS_INSUFFICIENT_RESOURCES;
    if (h == NULL || img->Sections == NULL)
        goto fail;

    /* Names: the full name \SystemRoot\System32\Drivers\<name>, the base
     * name its tail (as the loader builds them for a driver). */
    static const WCHAR prefix[] = L"\\SystemRoot\\System32\\Drivers\\";
    USHORT prefixBytes = sizeof(prefix) - sizeof(WCHAR);
    PWSTR full = ExAllocatePoolWithTag(NonPagedPoolNx, prefixBytes + Name->Length + sizeof(WCHAR), LDRP_TAG_IMAGE);
    if (full == NULL)
        goto fail;
    RtlCopyMemory(full, prefix, prefixBytes);
    RtlCopyMemory((PUCHAR)full + prefixBytes, Name->Buffer, Name->Length);
    full[(prefixBytes + Name->Length) / sizeof(WCHAR)] = 0;
    img->Entry.FullDllName.Buffer = full;
    img->Entry.FullDllName.Length = (USHORT)(prefixBytes + Name->Length);
    img->Entry.FullDllName.MaximumLength = (USHORT)(prefixBytes + Name->Length + sizeof(WCHAR));
    img->Entry.BaseDllName.Buffer = full + prefixBytes / sizeof(WCHAR);
    img->Entry.BaseDllName.Length = Name->Length;
    img->Entry.BaseDllName.MaximumLength = (USHORT)(Name->Length + sizeof(WCHAR));
    for (USHORT i = 0; i < Name->Length / sizeof(WCHAR) && i < sizeof(img->AnsiBaseName) - 1; i++)
        img->AnsiBaseName[i] = Name->Buffer[i] < 0x80 ? (char)Name->Buffer[i] : '?';

    status = LdrpCheckHeaders(Name, File, FileSize, h, img->Sections);
    if (!NT_SUCCESS(status))
        goto fail;
    img->NumberOfSections = h->File.NumberOfSections;
    img->Entry.SizeOfImage = (ULONG)AlignUp(h->Opt.SizeOfImage, PAGE_SIZE);
    img->Entry.SizeOfImageNotRounded = h->Opt.SizeOfImage;
    img->Entry.TimeDateStamp = h->File.TimeDateStamp;
    img->Entry.CheckSum = h->Opt.CheckSum;
    img->Pages = img->Entry.SizeOfImage >> PAGE_SHIFT;
    img->ExportDirectory = h->Opt.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];

    status = LdrpAllocateMapping(img);
    if (!NT_SUCCESS(status))
        goto fail;
    img->Entry.DllBase = (PVOID)img->Base;
    /* Headers, then each section's raw data (the rest is zero). */
    RtlCopyMemory((PVOID)img->Base, File, h->Opt.SizeOfHeaders);
    for (ULONG i = 0; i < img->NumberOfSections; i++) {
        IMAGE_SECTION_HEADER *s = &img->Sections[i];
        ULONG vsize = s->Misc.VirtualSize != 0 ? s->Misc.VirtualSize : s->SizeOfRawData;
        ULONG n = s->SizeOfRawData < vsize ? s->SizeOfRawData : vsize;
        if (n != 0)
            RtlCopyMemory((PUCHAR)img->Base + s->VirtualAddress, File + s->PointerToRawData, n);
    }
    /* The headers as mapped say where the image actually is. */
    ULONG lfanew = rd32((PUCHAR)img->Base + FIELD_OFFSET(IMAGE_DOS_HEADER, e_lfanew));
    wr64((PUCHAR)img->Base + lfanew + FIELD_OFFSET(IMAGE_NT_HEADERS64, OptionalHeader.ImageBase), img->Base);

    status = LdrpRelocate(Name, img, &h->Opt, h->File.Characteristics);
    if (NT_SUCCESS(status))
        status = LdrpCheckExports(Name, img);
    if (NT_SUCCESS(status))
        status = LdrpBindImports(Name, img, &h->Opt);
    if (NT_SUCCESS(status))
        status = LdrpInitSecurityCookie(Name, img, &h->Opt);
    if (NT_SUCCESS(status)) {
        const IMAGE_DATA_DIRECTORY *x = &h->Opt.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXCEPTION];
        if (x->Size != 0 && (x->Size % 12 != 0 || (x->VirtualAddress & 3))) {
            LDRP_FAIL(Name, "exception directory size 0x%x / address 0x%x invalid\n", x->Size, x->VirtualAddress);
            status = STATUS_INVALID_IMAGE_FORMAT;
        } else if (x->Size != 0) {
            img->Entry.ExceptionTable = (PUCHAR)img->Base + x->VirtualAddress;
            img->Entry.ExceptionTableSize = x->Size;
        }
    }
    if (NT_SUCCESS(status))
        status = LdrpProtect(img);
    if (!NT_SUCCESS(status))
        goto fail;
    if (h->Opt.AddressOfEntryPoint != 0)
        img->Entry.EntryPoint = (PUCHAR)img->Base + h->Opt.AddressOfEntryPoint;
    img->Entry.Flags = LDRP_SYSTEM_MAPPED | LDRP_ENTRY_PROCESSED |
                       (img->Base != h->Opt.ImageBase ? LDRP_IMAGE_NOT_AT_BASE : 0) |
                       ((h->File.Characteristics & IMAGE_FILE_DLL) ? LDRP_IMAGE_DLL : 0);
    img->Entry.LoadCount = 1;
    ExFreePoolWithTag(h, LDRP_TAG_IMAGE);
    arch_image_mapped((PVOID)img->Base, img->Entry.SizeOfImage, img->AnsiBaseName);
    *Image = img;
    return STATUS_SUCCESS;

fail:
    if (h != NULL)
        ExFreePoolWithTag(h, LDRP_TAG_IMAGE);
    for (ULONG k = 0; k < img->DependencyCount; k++)
        img->Dependencies[k]->Entry.LoadCount--;
    img->DependencyCount = 0;
    if (img->Base != 0) {
        /* not announced yet: skip arch_image_unmapped */
        LdrpFreePages(img, 0, img->Pages);
        MiReleaseSystemPtes((PVOID)img->Base, img->Pages);
        img->Base = 0;
    }
    LdrpFreeImage(img);
    return status;
}
