/*
 * The PE32+ (x64) image format, as the PE/COFF specification and the WDK's
 * ntimage.h define it: the headers, section table, data directories and the
 * import, export, base relocation and load configuration structures the
 * kernel loader reads. Layouts pinned to the specification's offsets.
 *
 * The loader never dereferences these types at file offsets it has not
 * validated, and reads them through memcpy where the file decides the
 * alignment (e_lfanew, the section table after a variable-size optional
 * header), so the structures keep their natural alignment here.
 */
#ifndef NTOS_NTIMAGE_H
#define NTOS_NTIMAGE_H

#include <ntos/ntdef.h>

#define IMAGE_DOS_SIGNATURE 0x5A4D    /* "MZ" */
#define IMAGE_NT_SIGNATURE 0x00004550 /* "PE\0\0" */

typedef struct _IMAGE_DOS_HEADER {
    USHORT e_magic;
    USHORT e_cblp;
    USHORT e_cp;
    USHORT e_crlc;
    USHORT e_cparhdr;
    USHORT e_minalloc;
    USHORT e_maxalloc;
    USHORT e_ss;
    USHORT e_sp;
    USHORT e_csum;
    USHORT e_ip;
    USHORT e_cs;
    USHORT e_lfarlc;
    USHORT e_ovno;
    USHORT e_res[4];
    USHORT e_oemid;
    USHORT e_oeminfo;
    USHORT e_res2[10];
    LONG e_lfanew;
} IMAGE_DOS_HEADER, *PIMAGE_DOS_HEADER;
NTOS_ASSERT_OFFSET(IMAGE_DOS_HEADER, e_lfanew, 0x3C);
NTOS_ASSERT_SIZE(IMAGE_DOS_HEADER, 0x40);

#define IMAGE_FILE_MACHINE_AMD64 0x8664

#define IMAGE_FILE_RELOCS_STRIPPED 0x0001
#define IMAGE_FILE_EXECUTABLE_IMAGE 0x0002
#define IMAGE_FILE_LARGE_ADDRESS_AWARE 0x0020
#define IMAGE_FILE_SYSTEM 0x1000
#define IMAGE_FILE_DLL 0x2000

typedef struct _IMAGE_FILE_HEADER {
    USHORT Machine;
    USHORT NumberOfSections;
    ULONG TimeDateStamp;
    ULONG PointerToSymbolTable;
    ULONG NumberOfSymbols;
    USHORT SizeOfOptionalHeader;
    USHORT Characteristics;
} IMAGE_FILE_HEADER, *PIMAGE_FILE_HEADER;
NTOS_ASSERT_SIZE(IMAGE_FILE_HEADER, 20);

typedef struct _IMAGE_DATA_DIRECTORY {
    ULONG VirtualAddress;
    ULONG Size;
} IMAGE_DATA_DIRECTORY, *PIMAGE_DATA_DIRECTORY;

#define IMAGE_NUMBEROF_DIRECTORY_ENTRIES 16
#define IMAGE_DIRECTORY_ENTRY_EXPORT 0
#define IMAGE_DIRECTORY_ENTRY_IMPORT 1
#define IMAGE_DIRECTORY_ENTRY_RESOURCE 2
#define IMAGE_DIRECTORY_ENTRY_EXCEPTION 3
#define IMAGE_DIRECTORY_ENTRY_SECURITY 4
#define IMAGE_DIRECTORY_ENTRY_BASERELOC 5
#define IMAGE_DIRECTORY_ENTRY_DEBUG 6
#define IMAGE_DIRECTORY_ENTRY_ARCHITECTURE 7
#define IMAGE_DIRECTORY_ENTRY_GLOBALPTR 8
#define IMAGE_DIRECTORY_ENTRY_TLS 9
#define IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG 10
#define IMAGE_DIRECTORY_ENTRY_BOUND_IMPORT 11
#define IMAGE_DIRECTORY_ENTRY_IAT 12
#define IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT 13
#define IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR 14

#define IMAGE_NT_OPTIONAL_HDR64_MAGIC 0x20B
#define IMAGE_SUBSYSTEM_NATIVE 1

#define IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA 0x0020
#define IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE 0x0040
#define IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY 0x0080
#define IMAGE_DLLCHARACTERISTICS_NX_COMPAT 0x0100
#define IMAGE_DLLCHARACTERISTICS_NO_SEH 0x0400

typedef struct _IMAGE_OPTIONAL_HEADER64 {
    USHORT Magic;
    UCHAR MajorLinkerVersion;
    UCHAR MinorLinkerVersion;
    ULONG SizeOfCode;
    ULONG SizeOfInitializedData;
    ULONG SizeOfUninitializedData;
    ULONG AddressOfEntryPoint;
    ULONG BaseOfCode;
    ULONGLONG ImageBase;
    ULONG SectionAlignment;
    ULONG FileAlignment;
    USHORT MajorOperatingSystemVersion;
    USHORT MinorOperatingSystemVersion;
    USHORT MajorImageVersion;
    USHORT MinorImageVersion;
    USHORT MajorSubsystemVersion;
    USHORT MinorSubsystemVersion;
    ULONG Win32VersionValue;
    ULONG SizeOfImage;
    ULONG SizeOfHeaders;
    ULONG CheckSum;
    USHORT Subsystem;
    USHORT DllCharacteristics;
    ULONGLONG SizeOfStackReserve;
    ULONGLONG SizeOfStackCommit;
    ULONGLONG SizeOfHeapReserve;
    ULONGLONG SizeOfHeapCommit;
    ULONG LoaderFlags;
    ULONG NumberOfRvaAndSizes;
    IMAGE_DATA_DIRECTORY DataDirectory[IMAGE_NUMBEROF_DIRECTORY_ENTRIES];
} IMAGE_OPTIONAL_HEADER64, *PIMAGE_OPTIONAL_HEADER64;
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, AddressOfEntryPoint, 0x10);
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, ImageBase, 0x18);
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, SectionAlignment, 0x20);
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, SizeOfImage, 0x38);
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, Subsystem, 0x44);
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, NumberOfRvaAndSizes, 0x6C);
NTOS_ASSERT_OFFSET(IMAGE_OPTIONAL_HEADER64, DataDirectory, 0x70);
NTOS_ASSERT_SIZE(IMAGE_OPTIONAL_HEADER64, 0xF0);

typedef struct _IMAGE_NT_HEADERS64 {
    ULONG Signature;
    IMAGE_FILE_HEADER FileHeader;
    IMAGE_OPTIONAL_HEADER64 OptionalHeader;
} IMAGE_NT_HEADERS64, *PIMAGE_NT_HEADERS64;
NTOS_ASSERT_OFFSET(IMAGE_NT_HEADERS64, FileHeader, 4);
NTOS_ASSERT_OFFSET(IMAGE_NT_HEADERS64, OptionalHeader, 0x18);
NTOS_ASSERT_SIZE(IMAGE_NT_HEADERS64, 0x108);

#define IMAGE_SIZEOF_SHORT_NAME 8

typedef struct _IMAGE_SECTION_HEADER {
    UCHAR Name[IMAGE_SIZEOF_SHORT_NAME];
    union {
        ULONG PhysicalAddress;
        ULONG VirtualSize;
    } Misc;
    ULONG VirtualAddress;
    ULONG SizeOfRawData;
    ULONG PointerToRawData;
    ULONG PointerToRelocations;
    ULONG PointerToLinenumbers;
    USHORT NumberOfRelocations;
    USHORT NumberOfLinenumbers;
    ULONG Characteristics;
} IMAGE_SECTION_HEADER, *PIMAGE_SECTION_HEADER;
NTOS_ASSERT_OFFSET(IMAGE_SECTION_HEADER, VirtualAddress, 12);
NTOS_ASSERT_OFFSET(IMAGE_SECTION_HEADER, Characteristics, 36);
NTOS_ASSERT_SIZE(IMAGE_SECTION_HEADER, 40);

#define IMAGE_SCN_CNT_CODE 0x00000020
#define IMAGE_SCN_CNT_INITIALIZED_DATA 0x00000040
#define IMAGE_SCN_CNT_UNINITIALIZED_DATA 0x00000080
#define IMAGE_SCN_MEM_DISCARDABLE 0x02000000
#define IMAGE_SCN_MEM_NOT_CACHED 0x04000000
#define IMAGE_SCN_MEM_NOT_PAGED 0x08000000
#define IMAGE_SCN_MEM_SHARED 0x10000000
#define IMAGE_SCN_MEM_EXECUTE 0x20000000
#define IMAGE_SCN_MEM_READ 0x40000000
#define IMAGE_SCN_MEM_WRITE 0x80000000

/* Base relocations: blocks of (page RVA, block size) followed by 16-bit
 * entries, type in the top 4 bits, page offset in the low 12. */
typedef struct _IMAGE_BASE_RELOCATION {
    ULONG VirtualAddress;
    ULONG SizeOfBlock;
} IMAGE_BASE_RELOCATION, *PIMAGE_BASE_RELOCATION;
NTOS_ASSERT_SIZE(IMAGE_BASE_RELOCATION, 8);

#define IMAGE_REL_BASED_ABSOLUTE 0
#define IMAGE_REL_BASED_HIGH 1
#define IMAGE_REL_BASED_LOW 2
#define IMAGE_REL_BASED_HIGHLOW 3
#define IMAGE_REL_BASED_HIGHADJ 4
#define IMAGE_REL_BASED_DIR64 10

typedef struct _IMAGE_IMPORT_DESCRIPTOR {
    union {
        ULONG Characteristics;
        ULONG OriginalFirstThunk; /* RVA of the import lookup table */
    };
    ULONG TimeDateStamp;
    ULONG ForwarderChain;
    ULONG Name;       /* RVA of the module name */
    ULONG FirstThunk; /* RVA of the import address table */
} IMAGE_IMPORT_DESCRIPTOR, *PIMAGE_IMPORT_DESCRIPTOR;
NTOS_ASSERT_OFFSET(IMAGE_IMPORT_DESCRIPTOR, Name, 12);
NTOS_ASSERT_SIZE(IMAGE_IMPORT_DESCRIPTOR, 20);

typedef struct _IMAGE_IMPORT_BY_NAME {
    USHORT Hint;
    CHAR Name[1];
} IMAGE_IMPORT_BY_NAME, *PIMAGE_IMPORT_BY_NAME;

#define IMAGE_ORDINAL_FLAG64 0x8000000000000000ULL
#define IMAGE_ORDINAL64(o) ((o) & 0xFFFF)
#define IMAGE_SNAP_BY_ORDINAL64(o) (((o) & IMAGE_ORDINAL_FLAG64) != 0)

typedef struct _IMAGE_EXPORT_DIRECTORY {
    ULONG Characteristics;
    ULONG TimeDateStamp;
    USHORT MajorVersion;
    USHORT MinorVersion;
    ULONG Name;
    ULONG Base;
    ULONG NumberOfFunctions;
    ULONG NumberOfNames;
    ULONG AddressOfFunctions;    /* RVA of ULONG[NumberOfFunctions] */
    ULONG AddressOfNames;        /* RVA of ULONG[NumberOfNames] (name RVAs, sorted) */
    ULONG AddressOfNameOrdinals; /* RVA of USHORT[NumberOfNames] */
} IMAGE_EXPORT_DIRECTORY, *PIMAGE_EXPORT_DIRECTORY;
NTOS_ASSERT_OFFSET(IMAGE_EXPORT_DIRECTORY, Base, 16);
NTOS_ASSERT_OFFSET(IMAGE_EXPORT_DIRECTORY, AddressOfNameOrdinals, 36);
NTOS_ASSERT_SIZE(IMAGE_EXPORT_DIRECTORY, 40);

typedef struct _IMAGE_TLS_DIRECTORY64 {
    ULONGLONG StartAddressOfRawData;
    ULONGLONG EndAddressOfRawData;
    ULONGLONG AddressOfIndex;
    ULONGLONG AddressOfCallBacks;
    ULONG SizeOfZeroFill;
    ULONG Characteristics;
} IMAGE_TLS_DIRECTORY64, *PIMAGE_TLS_DIRECTORY64;
NTOS_ASSERT_SIZE(IMAGE_TLS_DIRECTORY64, 40);

/* The start of IMAGE_LOAD_CONFIG_DIRECTORY64, up to the fields the loader
 * uses (the structure has grown with each release; Size says how much of it
 * an image has). */
typedef struct _IMAGE_LOAD_CONFIG_DIRECTORY64 {
    ULONG Size;
    ULONG TimeDateStamp;
    USHORT MajorVersion;
    USHORT MinorVersion;
    ULONG GlobalFlagsClear;
    ULONG GlobalFlagsSet;
    ULONG CriticalSectionDefaultTimeout;
    ULONGLONG DeCommitFreeBlockThreshold;
    ULONGLONG DeCommitTotalFreeThreshold;
    ULONGLONG LockPrefixTable;
    ULONGLONG MaximumAllocationSize;
    ULONGLONG VirtualMemoryThreshold;
    ULONGLONG ProcessAffinityMask;
    ULONG ProcessHeapFlags;
    USHORT CSDVersion;
    USHORT DependentLoadFlags;
    ULONGLONG EditList;
    ULONGLONG SecurityCookie; /* VA of the image's __security_cookie */
    ULONGLONG SEHandlerTable;
    ULONGLONG SEHandlerCount;
} IMAGE_LOAD_CONFIG_DIRECTORY64, *PIMAGE_LOAD_CONFIG_DIRECTORY64;
NTOS_ASSERT_OFFSET(IMAGE_LOAD_CONFIG_DIRECTORY64, LockPrefixTable, 0x28);
NTOS_ASSERT_OFFSET(IMAGE_LOAD_CONFIG_DIRECTORY64, EditList, 0x50);
NTOS_ASSERT_OFFSET(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie, 0x58);
NTOS_ASSERT_SIZE(IMAGE_LOAD_CONFIG_DIRECTORY64, 0x70);

/* The value /GS code expects in __security_cookie before the loader has
 * initialised it (x64); the loader replaces it with a per-load value whose
 * top 16 bits are zero. */
#define IMAGE_DEFAULT_SECURITY_COOKIE_64 0x00002B992DDFA232ULL

#endif /* NTOS_NTIMAGE_H */
