/*
 * NT base types as drivers see them.
 *
 * Windows is LLP64: LONG/ULONG are 32-bit even where the host C library is LP64,
 * and WCHAR is 16-bit. Nothing here uses `long` or `wchar_t` for an NT type, so
 * the widths hold on both backends regardless of the host ABI. `L"..."` literals
 * are 16-bit because the project compiles with -fshort-wchar (see CMakeLists.txt);
 * code that needs a WCHAR literal independent of that flag uses u"...".
 *
 * Only compiler-provided freestanding headers may be included from here.
 */
#ifndef NTOS_NTDEF_H
#define NTOS_NTDEF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#if !defined(__x86_64__)
#error "ntos targets x86_64 only"
#endif

/* Every exported NT function uses the Microsoft x64 calling convention so that a
 * PE driver can call it directly; on the host this differs from the SysV ABI. */
#define NTAPI __attribute__((ms_abi))
#define NTSYSAPI
#define NTKERNELAPI
#define FASTCALL NTAPI
#define DECLSPEC_NORETURN __attribute__((noreturn))
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#define FORCEINLINE static inline __attribute__((always_inline))
#define UNREFERENCED_PARAMETER(p) ((void)(p))

#define IN
#define OUT
#define OPTIONAL
#define CONST const
#define VOID void

typedef void *PVOID, **PPVOID;
typedef const void *PCVOID;
typedef uint8_t UCHAR, *PUCHAR, BYTE, *PBYTE;
typedef int8_t SCHAR;
typedef char CHAR, *PCHAR, *PSTR, *LPSTR;
typedef const char *PCSTR, *PCSZ, *PCCH;
typedef int16_t SHORT, CSHORT, *PSHORT;
typedef uint16_t USHORT, *PUSHORT, WORD;
typedef uint16_t WCHAR, *PWCHAR, *PWSTR, *LPWSTR;
typedef const uint16_t *PCWSTR, *PCWCH;
typedef int32_t LONG, *PLONG, INT, *PINT;
typedef uint32_t ULONG, *PULONG, UINT, DWORD, *PDWORD;
typedef int64_t LONGLONG, *PLONGLONG, LONG64, *PLONG64;
typedef uint64_t ULONGLONG, *PULONGLONG, ULONG64, *PULONG64, DWORD64;
typedef int64_t LONG_PTR, *PLONG_PTR, INT_PTR, SSIZE_T;
typedef uint64_t ULONG_PTR, *PULONG_PTR, UINT_PTR, SIZE_T, *PSIZE_T, DWORD_PTR;
typedef UCHAR BOOLEAN, *PBOOLEAN;
typedef LONG NTSTATUS, *PNTSTATUS;
typedef ULONG LOGICAL;
typedef ULONG ACCESS_MASK, *PACCESS_MASK;
typedef PVOID HANDLE, *PHANDLE;
typedef CHAR CCHAR;
typedef UCHAR KIRQL, *PKIRQL;
typedef CCHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;
typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;
typedef ULONG_PTR KAFFINITY, *PKAFFINITY;
typedef ULONG CLONG;

#define TRUE 1
#define FALSE 0
#ifndef NULL
#define NULL ((void *)0)
#endif

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct {
        ULONG LowPart;
        ULONG HighPart;
    };
    struct {
        ULONG LowPart;
        ULONG HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

typedef struct _UNICODE_STRING {
    USHORT Length;        /* bytes, not counting any terminator */
    USHORT MaximumLength; /* bytes */
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING, OEM_STRING, *POEM_STRING;
typedef const STRING *PCSTRING, *PCANSI_STRING, *PCOEM_STRING;

#define UNICODE_NULL ((WCHAR)0)
#define ANSI_NULL ((CHAR)0)
#define MAXUSHORT 0xffff
#define MAXULONG 0xffffffffUL
#define MAXLONG 0x7fffffffL
#define MINLONG ((LONG)0x80000000)
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)

#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#define RTL_NUMBER_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ARRAYSIZE(a) RTL_NUMBER_OF(a)
#define CONTAINING_RECORD(address, type, field) \
    ((type *)((PCHAR)(address) - (ULONG_PTR)offsetof(type, field)))
#define RTL_CONSTANT_STRING(s) \
    { sizeof(s) - sizeof((s)[0]), sizeof(s), (void *)(s) }
#define ALIGN_UP_BY(v, a) (((ULONG_PTR)(v) + (a) - 1) & ~((ULONG_PTR)(a) - 1))
#define ALIGN_DOWN_BY(v, a) ((ULONG_PTR)(v) & ~((ULONG_PTR)(a) - 1))

/* Pins a shared structure to its documented x64 layout. */
#define NTOS_ASSERT_OFFSET(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " offset")
#define NTOS_ASSERT_SIZE(type, size) \
    _Static_assert(sizeof(type) == (size), "sizeof(" #type ")")

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID, *PGUID, *LPGUID;
#endif
typedef const GUID *LPCGUID, *PCGUID, *REFGUID;

NTOS_ASSERT_SIZE(LIST_ENTRY, 0x10);
NTOS_ASSERT_SIZE(UNICODE_STRING, 0x10);
NTOS_ASSERT_OFFSET(UNICODE_STRING, MaximumLength, 0x02);
NTOS_ASSERT_OFFSET(UNICODE_STRING, Buffer, 0x08);
NTOS_ASSERT_SIZE(STRING, 0x10);
NTOS_ASSERT_SIZE(LARGE_INTEGER, 8);
NTOS_ASSERT_SIZE(WCHAR, 2);
NTOS_ASSERT_SIZE(ULONG, 4);
NTOS_ASSERT_SIZE(LONG, 4);
NTOS_ASSERT_SIZE(GUID, 16);

/* IRQL values on x64 (the IRQL is CR8: the priority class of a vector). */
#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define CMCI_LEVEL 5
#define CLOCK_LEVEL 13
#define IPI_LEVEL 14
#define DRS_LEVEL 14
#define POWER_LEVEL 14
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15
#define SYNCH_LEVEL 12

/*
 * Variadic NT functions (DbgPrint, _vsnprintf, ...) are ms_abi so PE callers can
 * call them; an ms_abi variadic function must walk its arguments with the
 * Microsoft va_list (a plain pointer over 8-byte slots), not the SysV one.
 */
typedef __builtin_ms_va_list NT_VA_LIST;
#define NT_VA_START(ap, last) __builtin_ms_va_start(ap, last)
#define NT_VA_END(ap) __builtin_ms_va_end(ap)
#define NT_VA_ARG(ap, type) __builtin_va_arg(ap, type)
#define NT_VA_COPY(dst, src) __builtin_ms_va_copy(dst, src)

#define KernelMode 0
#define UserMode 1

#endif /* NTOS_NTDEF_H */
