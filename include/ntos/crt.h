/*
 * The C run-time library that ntoskrnl exports to drivers (memcpy, strlen,
 * _snprintf, wcscpy_s, qsort, ...), with Windows semantics.
 *
 * Naming convention. Every CRT routine is implemented under an internal name
 * that is its exported name prefixed with "RtlCrt_": memcpy is RtlCrt_memcpy,
 * _stricmp is RtlCrt__stricmp, wcscpy_s is RtlCrt_wcscpy_s. On the host the
 * kernel lives inside a Linux process whose C library has the same names with
 * other semantics (32-bit wchar_t, C99 snprintf, SysV calling convention), so
 * the kernel must never define a symbol called memcpy or swprintf there; the PE
 * export table maps each exported name to the internal symbol instead, through
 * NTOS_CRT_EXPORTS below. (The bare-metal kernel's own memcpy/memset/memmove/
 * memcmp in src/rtl/memory.c are a separate thing: SysV functions for the
 * calls the compiler emits.)
 *
 * Windows facts every routine keeps:
 *   - NTAPI (ms_abi) everywhere, variadic ones walk NT_VA_LIST;
 *   - LLP64: `long` in a Windows prototype is LONG/ULONG (32-bit) here;
 *   - wchar_t is WCHAR (16-bit); wide strings are UTF-16 and surrogates pass
 *     through every routine untouched (nothing decodes them);
 *   - character classification and case mapping of narrow characters use the
 *     "C" locale: only ASCII letters have case, bytes 0x80-0xFF have no class;
 *   - towlower/towupper (and so _wcsicmp/_wcsnicmp) use the kernel's Unicode
 *     case tables (RtlDowncaseUnicodeChar/RtlUpcaseUnicodeChar), i.e. the
 *     simple one-to-one UTF-16 mappings, not only ASCII.
 *
 * Invalid parameters. The secure (_s) routines and the routines the UCRT
 * validates (atoi(NULL), _itoa with a bad radix, strtoul with a bad base, ...)
 * report a bad argument through the CRT's invalid parameter handler. In kernel
 * mode that handler is a fail-fast: __fastfail(FAST_FAIL_INVALID_ARG), which
 * Windows turns into bug check KERNEL_SECURITY_CHECK_FAILURE (0x139) with
 * Parameter1 = FAST_FAIL_INVALID_ARG (5). ntos does the same (Parameter2..4 are
 * 0: there is no trap frame or exception record). Before the handler runs, the
 * destination is left as the documentation says (dest[0] = 0 where documented),
 * so a post-mortem sees the documented state. The errno_t values the routines
 * are documented to return after a handler that returns (EINVAL, ERANGE) are
 * therefore never seen by a kernel caller; STRUNCATE (the _TRUNCATE paths) and
 * 0 are ordinary returns. Nothing is ever undefined behaviour: every routine
 * either produces its documented result or stops the system with that bug check.
 *
 * Every routine here may be called at any IRQL if its buffers are resident; none
 * allocates, blocks or takes a lock. rand/srand share one global seed updated
 * atomically (the user-mode CRT keeps it per thread; ntoskrnl has no CRT per-thread
 * data, and a global is what a kernel caller can observe).
 */
#ifndef NTOS_CRT_H
#define NTOS_CRT_H

#include <ntos/ntdef.h>

/* errno_t values (Windows errno.h) and _TRUNCATE. */
typedef INT NTOS_ERRNO_T;
#define NTOS_CRT_EINVAL 22
#define NTOS_CRT_ERANGE 34
#define NTOS_CRT_STRUNCATE 80
#define NTOS_CRT_TRUNCATE ((SIZE_T)-1)
#define NTOS_CRT_RAND_MAX 0x7fff
#define NTOS_CRT_WEOF ((WCHAR)0xffff)

/* qsort/bsearch comparison routines come from PE code: Microsoft x64 ABI. */
typedef INT(NTAPI *PNTOS_CRT_COMPARE)(const VOID *Element1, const VOID *Element2);

/* The invalid parameter handler (see above). Does not return. */
DECLSPEC_NORETURN VOID NTAPI RtlpCrtInvalidParameter(VOID);

/* ---- memory (crtmem.c) ------------------------------------------------------ */
PVOID NTAPI RtlCrt_memcpy(PVOID Destination, const VOID *Source, SIZE_T Count);
PVOID NTAPI RtlCrt_memmove(PVOID Destination, const VOID *Source, SIZE_T Count);
PVOID NTAPI RtlCrt_memset(PVOID Destination, INT Value, SIZE_T Count);
INT NTAPI RtlCrt_memcmp(const VOID *Buffer1, const VOID *Buffer2, SIZE_T Count);
PVOID NTAPI RtlCrt_memchr(const VOID *Buffer, INT Value, SIZE_T Count);
NTOS_ERRNO_T NTAPI RtlCrt_memcpy_s(PVOID Destination, SIZE_T DestinationSize, const VOID *Source,
                                  SIZE_T Count);
NTOS_ERRNO_T NTAPI RtlCrt_memmove_s(PVOID Destination, SIZE_T DestinationSize, const VOID *Source,
                                   SIZE_T Count);

/* ---- narrow strings and characters (crtstr.c) --------------------------------- */
SIZE_T NTAPI RtlCrt_strlen(PCSTR String);
SIZE_T NTAPI RtlCrt_strnlen(PCSTR String, SIZE_T MaxCount);
PCHAR NTAPI RtlCrt_strcpy(PCHAR Destination, PCSTR Source);
PCHAR NTAPI RtlCrt_strncpy(PCHAR Destination, PCSTR Source, SIZE_T Count);
PCHAR NTAPI RtlCrt_strcat(PCHAR Destination, PCSTR Source);
PCHAR NTAPI RtlCrt_strncat(PCHAR Destination, PCSTR Source, SIZE_T Count);
INT NTAPI RtlCrt_strcmp(PCSTR String1, PCSTR String2);
INT NTAPI RtlCrt_strncmp(PCSTR String1, PCSTR String2, SIZE_T Count);
INT NTAPI RtlCrt__stricmp(PCSTR String1, PCSTR String2);
INT NTAPI RtlCrt__strnicmp(PCSTR String1, PCSTR String2, SIZE_T Count);
PCHAR NTAPI RtlCrt_strchr(PCSTR String, INT Character);
PCHAR NTAPI RtlCrt_strrchr(PCSTR String, INT Character);
PCHAR NTAPI RtlCrt_strstr(PCSTR String, PCSTR Substring);
NTOS_ERRNO_T NTAPI RtlCrt_strcpy_s(PCHAR Destination, SIZE_T DestinationSize, PCSTR Source);
NTOS_ERRNO_T NTAPI RtlCrt_strncpy_s(PCHAR Destination, SIZE_T DestinationSize, PCSTR Source, SIZE_T Count);
NTOS_ERRNO_T NTAPI RtlCrt_strcat_s(PCHAR Destination, SIZE_T DestinationSize, PCSTR Source);
NTOS_ERRNO_T NTAPI RtlCrt_strncat_s(PCHAR Destination, SIZE_T DestinationSize, PCSTR Source, SIZE_T Count);

INT NTAPI RtlCrt_tolower(INT Character);
INT NTAPI RtlCrt_toupper(INT Character);
INT NTAPI RtlCrt_isdigit(INT Character);
INT NTAPI RtlCrt_isxdigit(INT Character);
INT NTAPI RtlCrt_isalpha(INT Character);
INT NTAPI RtlCrt_isalnum(INT Character);
INT NTAPI RtlCrt_isspace(INT Character);
INT NTAPI RtlCrt_isupper(INT Character);
INT NTAPI RtlCrt_islower(INT Character);
INT NTAPI RtlCrt_isprint(INT Character);

/* ---- wide strings and characters (crtwcs.c) ----------------------------------- */
SIZE_T NTAPI RtlCrt_wcslen(PCWSTR String);
SIZE_T NTAPI RtlCrt_wcsnlen(PCWSTR String, SIZE_T MaxCount);
PWCHAR NTAPI RtlCrt_wcscpy(PWCHAR Destination, PCWSTR Source);
PWCHAR NTAPI RtlCrt_wcsncpy(PWCHAR Destination, PCWSTR Source, SIZE_T Count);
PWCHAR NTAPI RtlCrt_wcscat(PWCHAR Destination, PCWSTR Source);
PWCHAR NTAPI RtlCrt_wcsncat(PWCHAR Destination, PCWSTR Source, SIZE_T Count);
INT NTAPI RtlCrt_wcscmp(PCWSTR String1, PCWSTR String2);
INT NTAPI RtlCrt_wcsncmp(PCWSTR String1, PCWSTR String2, SIZE_T Count);
INT NTAPI RtlCrt__wcsicmp(PCWSTR String1, PCWSTR String2);
INT NTAPI RtlCrt__wcsnicmp(PCWSTR String1, PCWSTR String2, SIZE_T Count);
PWCHAR NTAPI RtlCrt_wcschr(PCWSTR String, WCHAR Character);
PWCHAR NTAPI RtlCrt_wcsrchr(PCWSTR String, WCHAR Character);
PWCHAR NTAPI RtlCrt_wcsstr(PCWSTR String, PCWSTR Substring);
NTOS_ERRNO_T NTAPI RtlCrt_wcscpy_s(PWCHAR Destination, SIZE_T DestinationSize, PCWSTR Source);
NTOS_ERRNO_T NTAPI RtlCrt_wcsncpy_s(PWCHAR Destination, SIZE_T DestinationSize, PCWSTR Source, SIZE_T Count);
NTOS_ERRNO_T NTAPI RtlCrt_wcscat_s(PWCHAR Destination, SIZE_T DestinationSize, PCWSTR Source);
NTOS_ERRNO_T NTAPI RtlCrt_wcsncat_s(PWCHAR Destination, SIZE_T DestinationSize, PCWSTR Source, SIZE_T Count);

WCHAR NTAPI RtlCrt_towlower(WCHAR Character);
WCHAR NTAPI RtlCrt_towupper(WCHAR Character);
INT NTAPI RtlCrt_iswdigit(WCHAR Character);
INT NTAPI RtlCrt_iswxdigit(WCHAR Character);
INT NTAPI RtlCrt_iswspace(WCHAR Character);
INT NTAPI RtlCrt_iswalpha(WCHAR Character);

/* ---- number conversion (crtconv.c) ---------------------------------------------- */
INT NTAPI RtlCrt_atoi(PCSTR String);
LONG NTAPI RtlCrt_atol(PCSTR String);
LONGLONG NTAPI RtlCrt__atoi64(PCSTR String);
INT NTAPI RtlCrt__wtoi(PCWSTR String);
LONG NTAPI RtlCrt__wtol(PCWSTR String);
LONG NTAPI RtlCrt_strtol(PCSTR String, PCHAR *End, INT Base);
ULONG NTAPI RtlCrt_strtoul(PCSTR String, PCHAR *End, INT Base);
LONG NTAPI RtlCrt_wcstol(PCWSTR String, PWCHAR *End, INT Base);
ULONG NTAPI RtlCrt_wcstoul(PCWSTR String, PWCHAR *End, INT Base);
PCHAR NTAPI RtlCrt__itoa(INT Value, PCHAR Buffer, INT Radix);
PCHAR NTAPI RtlCrt__ltoa(LONG Value, PCHAR Buffer, INT Radix);
PCHAR NTAPI RtlCrt__ultoa(ULONG Value, PCHAR Buffer, INT Radix);
PCHAR NTAPI RtlCrt__i64toa(LONGLONG Value, PCHAR Buffer, INT Radix);
PCHAR NTAPI RtlCrt__ui64toa(ULONGLONG Value, PCHAR Buffer, INT Radix);
PWCHAR NTAPI RtlCrt__itow(INT Value, PWCHAR Buffer, INT Radix);
PWCHAR NTAPI RtlCrt__ltow(LONG Value, PWCHAR Buffer, INT Radix);
PWCHAR NTAPI RtlCrt__ultow(ULONG Value, PWCHAR Buffer, INT Radix);
PWCHAR NTAPI RtlCrt__i64tow(LONGLONG Value, PWCHAR Buffer, INT Radix);
PWCHAR NTAPI RtlCrt__ui64tow(ULONGLONG Value, PWCHAR Buffer, INT Radix);

/* ---- formatted output (crtprintf.c) ---------------------------------------------- */
INT NTAPI RtlCrt_sprintf(PCHAR Buffer, PCSTR Format, ...);
INT NTAPI RtlCrt_vsprintf(PCHAR Buffer, PCSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt__snprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, ...);
INT NTAPI RtlCrt__vsnprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt_swprintf(PWCHAR Buffer, PCWSTR Format, ...);
/* _swprintf/_vswprintf: the same legacy unbounded form under its underscored names. */
INT NTAPI RtlCrt__swprintf(PWCHAR Buffer, PCWSTR Format, ...);
INT NTAPI RtlCrt__vswprintf(PWCHAR Buffer, PCWSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt__snwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, ...);
INT NTAPI RtlCrt__vsnwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt_sprintf_s(PCHAR Buffer, SIZE_T BufferSize, PCSTR Format, ...);
INT NTAPI RtlCrt_vsprintf_s(PCHAR Buffer, SIZE_T BufferSize, PCSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt__snprintf_s(PCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCSTR Format, ...);
INT NTAPI RtlCrt__vsnprintf_s(PCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt_swprintf_s(PWCHAR Buffer, SIZE_T BufferSize, PCWSTR Format, ...);
INT NTAPI RtlCrt_vswprintf_s(PWCHAR Buffer, SIZE_T BufferSize, PCWSTR Format, NT_VA_LIST Args);
INT NTAPI RtlCrt__snwprintf_s(PWCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCWSTR Format, ...);
INT NTAPI RtlCrt__vsnwprintf_s(PWCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCWSTR Format,
                               NT_VA_LIST Args);

/* ---- sorting, searching, random numbers (crtsort.c) -------------------------------- */
VOID NTAPI RtlCrt_qsort(PVOID Base, SIZE_T Count, SIZE_T Size, PNTOS_CRT_COMPARE Compare);
PVOID NTAPI RtlCrt_bsearch(const VOID *Key, const VOID *Base, SIZE_T Count, SIZE_T Size,
                           PNTOS_CRT_COMPARE Compare);
INT NTAPI RtlCrt_rand(VOID);
VOID NTAPI RtlCrt_srand(UINT Seed);

/*
 * The export list: X(exported name as a string literal, internal symbol), one
 * entry per CRT routine ntos exports. The PE export table and the loader's
 * import resolution consume this list; nothing else may bind these names.
 */
#define NTOS_CRT_EXPORTS(X)                          \
    X("memcpy", RtlCrt_memcpy)                       \
    X("memmove", RtlCrt_memmove)                     \
    X("memset", RtlCrt_memset)                       \
    X("memcmp", RtlCrt_memcmp)                       \
    X("memchr", RtlCrt_memchr)                       \
    X("memcpy_s", RtlCrt_memcpy_s)                   \
    X("memmove_s", RtlCrt_memmove_s)                 \
    X("strlen", RtlCrt_strlen)                       \
    X("strnlen", RtlCrt_strnlen)                     \
    X("strcpy", RtlCrt_strcpy)                       \
    X("strncpy", RtlCrt_strncpy)                     \
    X("strcat", RtlCrt_strcat)                       \
    X("strncat", RtlCrt_strncat)                     \
    X("strcmp", RtlCrt_strcmp)                       \
    X("strncmp", RtlCrt_strncmp)                     \
    X("_stricmp", RtlCrt__stricmp)                   \
    X("_strnicmp", RtlCrt__strnicmp)                 \
    X("strchr", RtlCrt_strchr)                       \
    X("strrchr", RtlCrt_strrchr)                     \
    X("strstr", RtlCrt_strstr)                       \
    X("strcpy_s", RtlCrt_strcpy_s)                   \
    X("strncpy_s", RtlCrt_strncpy_s)                 \
    X("strcat_s", RtlCrt_strcat_s)                   \
    X("strncat_s", RtlCrt_strncat_s)                 \
    X("tolower", RtlCrt_tolower)                     \
    X("toupper", RtlCrt_toupper)                     \
    X("isdigit", RtlCrt_isdigit)                     \
    X("isxdigit", RtlCrt_isxdigit)                   \
    X("isalpha", RtlCrt_isalpha)                     \
    X("isalnum", RtlCrt_isalnum)                     \
    X("isspace", RtlCrt_isspace)                     \
    X("isupper", RtlCrt_isupper)                     \
    X("islower", RtlCrt_islower)                     \
    X("isprint", RtlCrt_isprint)                     \
    X("wcslen", RtlCrt_wcslen)                       \
    X("wcsnlen", RtlCrt_wcsnlen)                     \
    X("wcscpy", RtlCrt_wcscpy)                       \
    X("wcsncpy", RtlCrt_wcsncpy)                     \
    X("wcscat", RtlCrt_wcscat)                       \
    X("wcsncat", RtlCrt_wcsncat)                     \
    X("wcscmp", RtlCrt_wcscmp)                       \
    X("wcsncmp", RtlCrt_wcsncmp)                     \
    X("_wcsicmp", RtlCrt__wcsicmp)                   \
    X("_wcsnicmp", RtlCrt__wcsnicmp)                 \
    X("wcschr", RtlCrt_wcschr)                       \
    X("wcsrchr", RtlCrt_wcsrchr)                     \
    X("wcsstr", RtlCrt_wcsstr)                       \
    X("wcscpy_s", RtlCrt_wcscpy_s)                   \
    X("wcsncpy_s", RtlCrt_wcsncpy_s)                 \
    X("wcscat_s", RtlCrt_wcscat_s)                   \
    X("wcsncat_s", RtlCrt_wcsncat_s)                 \
    X("towlower", RtlCrt_towlower)                   \
    X("towupper", RtlCrt_towupper)                   \
    X("iswdigit", RtlCrt_iswdigit)                   \
    X("iswxdigit", RtlCrt_iswxdigit)                 \
    X("iswspace", RtlCrt_iswspace)                   \
    X("iswalpha", RtlCrt_iswalpha)                   \
    X("atoi", RtlCrt_atoi)                           \
    X("atol", RtlCrt_atol)                           \
    X("_atoi64", RtlCrt__atoi64)                     \
    X("_wtoi", RtlCrt__wtoi)                         \
    X("_wtol", RtlCrt__wtol)                         \
    X("strtol", RtlCrt_strtol)                       \
    X("strtoul", RtlCrt_strtoul)                     \
    X("wcstol", RtlCrt_wcstol)                       \
    X("wcstoul", RtlCrt_wcstoul)                     \
    X("_itoa", RtlCrt__itoa)                         \
    X("_ltoa", RtlCrt__ltoa)                         \
    X("_ultoa", RtlCrt__ultoa)                       \
    X("_i64toa", RtlCrt__i64toa)                     \
    X("_ui64toa", RtlCrt__ui64toa)                   \
    X("_itow", RtlCrt__itow)                         \
    X("_ltow", RtlCrt__ltow)                         \
    X("_ultow", RtlCrt__ultow)                       \
    X("_i64tow", RtlCrt__i64tow)                     \
    X("_ui64tow", RtlCrt__ui64tow)                   \
    X("sprintf", RtlCrt_sprintf)                     \
    X("vsprintf", RtlCrt_vsprintf)                   \
    X("_snprintf", RtlCrt__snprintf)                 \
    X("_vsnprintf", RtlCrt__vsnprintf)               \
    X("swprintf", RtlCrt_swprintf)                   \
    X("_swprintf", RtlCrt__swprintf)                 \
    X("_vswprintf", RtlCrt__vswprintf)               \
    X("_snwprintf", RtlCrt__snwprintf)               \
    X("_vsnwprintf", RtlCrt__vsnwprintf)             \
    X("sprintf_s", RtlCrt_sprintf_s)                 \
    X("vsprintf_s", RtlCrt_vsprintf_s)               \
    X("_snprintf_s", RtlCrt__snprintf_s)             \
    X("_vsnprintf_s", RtlCrt__vsnprintf_s)           \
    X("swprintf_s", RtlCrt_swprintf_s)               \
    X("vswprintf_s", RtlCrt_vswprintf_s)             \
    X("_snwprintf_s", RtlCrt__snwprintf_s)           \
    X("_vsnwprintf_s", RtlCrt__vsnwprintf_s)         \
    X("qsort", RtlCrt_qsort)                         \
    X("bsearch", RtlCrt_bsearch)                     \
    X("rand", RtlCrt_rand)                           \
    X("srand", RtlCrt_srand)

#endif /* NTOS_CRT_H */
