/*
 * CRT wide strings and characters: wcslen ... wcsncat_s (from crtstr_tmpl.h),
 * towlower/towupper and the isw* classifications.
 *
 * WCHAR is a UTF-16 code unit. Nothing here decodes surrogate pairs: a
 * surrogate is an ordinary code unit that is copied, compared (by code unit
 * value, so a supplementary character sorts below U+E000-U+FFFF, as wcscmp does
 * on Windows) and has no case.
 *
 * Case mapping uses the kernel's Unicode tables (RtlDowncaseUnicodeChar /
 * RtlUpcaseUnicodeChar, nls.c): the simple one-to-one mappings of the whole
 * BMP, so towlower(L'\u00C4') is L'\u00E4' and _wcsicmp matches "STRASSE" with
 * "strasse" but not with "straße" (no one-to-many folding). The isw*
 * classifications are the "C" locale's ASCII classes, which is all the kernel
 * needs for parsing; a non-ASCII character is in none of them.
 */
#include <ntos/crt.h>
#include <ntos/rtl.h>

#define CRT_TCHAR WCHAR
#define CRT_TUNSIGNED WCHAR
#define CRT_TCHAR_ARG WCHAR
#define CRT_NAME(a, w) w
#define CRT_FOLD(c) RtlDowncaseUnicodeChar((WCHAR)(c))
#include "crtstr_tmpl.h"

WCHAR NTAPI RtlCrt_towlower(WCHAR Character)
{
    return RtlDowncaseUnicodeChar(Character);
}

WCHAR NTAPI RtlCrt_towupper(WCHAR Character)
{
    return RtlUpcaseUnicodeChar(Character);
}

INT NTAPI RtlCrt_iswdigit(WCHAR Character)
{
    return Character < 0x80 ? RtlCrt_isdigit(Character) : 0;
}

INT NTAPI RtlCrt_iswxdigit(WCHAR Character)
{
    return Character < 0x80 ? RtlCrt_isxdigit(Character) : 0;
}

INT NTAPI RtlCrt_iswspace(WCHAR Character)
{
    return Character < 0x80 ? RtlCrt_isspace(Character) : 0;
}

INT NTAPI RtlCrt_iswalpha(WCHAR Character)
{
    return Character < 0x80 ? RtlCrt_isalpha(Character) : 0;
}
