/*
 * ABI conformance probe. This one file is compiled twice from the list in
 * abi_fields.def:
 *
 *   - by x86_64-w64-mingw32-gcc against mingw-w64's DDK headers (ABI_SIDE_MINGW),
 *     the layout a driver built with a Windows toolchain sees;
 *   - by the project's clang against include/ntos (ABI_SIDE_NTOS), the layout
 *     ntos actually uses.
 *
 * Each side records, in list order, sizeof/alignof of every structure, offset
 * and size of every field and the value of every constant as 64-bit numbers in
 * an array of its own section. Nothing is executed: the mingw object is a PE
 * COFF file (no Wine here), so the build copies the section out with objcopy;
 * the ntos object is linked into abi_compare, which reads its array directly.
 * The array is framed by a magic number and the entry count so a truncated or
 * padded section copy is caught instead of compared.
 */
#if defined(ABI_SIDE_MINGW)
/* The Windows 10 headers: ntos reports itself as NT 10.0. */
#define _WIN32_WINNT 0x0A00
#define NTDDI_VERSION 0x0A000000
#include <ntifs.h>
#include <ntddk.h>
#include <wdm.h>
#define ABI_VALUES abi_mingw_values
#elif defined(ABI_SIDE_NTOS)
#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/bugcodes.h>
#include <ntos/ke.h>
#include <ntos/ex.h>
#include <ntos/kuser.h>
#include <ntos/mm.h>
#include <ntos/mdl.h>
#include <ntos/ob.h>
#include <ntos/se.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>
#include <ntos/dbg.h>
#include <ntos/ex_objects.h>
#include <ntos/io.h>
#include <ntos/cm.h>
#define ABI_VALUES abi_ntos_values
#else
#error "define ABI_SIDE_MINGW or ABI_SIDE_NTOS"
#endif

#include "abi_probe.h"

#define ABI_FIELD_SIZE(T, f) sizeof(((T *)0)->f)

/* Field names can differ between the two header sets for the same bytes. */
#if defined(ABI_SIDE_MINGW)
#define ABI_PICK(ntos_name, mingw_name) mingw_name
#else
#define ABI_PICK(ntos_name, mingw_name) ntos_name
#endif

#define ABI_STRUCT(T) (unsigned long long)sizeof(T), (unsigned long long)_Alignof(T),
#define ABI_FIELD(T, f) (unsigned long long)__builtin_offsetof(T, f), (unsigned long long)ABI_FIELD_SIZE(T, f),
#define ABI_OFFSET(T, f) (unsigned long long)__builtin_offsetof(T, f),
#define ABI_FIELD_AS(T, f, mingw_f) \
    (unsigned long long)__builtin_offsetof(T, ABI_PICK(f, mingw_f)), \
    (unsigned long long)ABI_FIELD_SIZE(T, ABI_PICK(f, mingw_f)),
/* A constant is recorded as the bits a driver compiles in: its value at its own
 * width. MINLONG is 0x80000000 (unsigned int) in the WDK and ((LONG)0x80000000)
 * in ntos; both put the same 32 bits in an instruction, and "UL" constants are
 * 32-bit in LLP64 but 64-bit in ntos's LP64 host build. */
#define ABI_WIDTH_MASK(n) (~0ULL >> (64 - 8 * (n)))
#define ABI_CONST(c) ((unsigned long long)(c) & ABI_WIDTH_MASK(sizeof(c))),

__attribute__((section(ABI_SECTION), used, aligned(8)))
const unsigned long long ABI_VALUES[] = {
    ABI_MAGIC,
    ABI_COUNT,
#include "abi_fields.def"
    ABI_MAGIC_END,
};

_Static_assert(sizeof(ABI_VALUES) == (ABI_COUNT + 3) * sizeof(unsigned long long),
               "abi_fields.def expanded to a different number of values than ABI_COUNT");
