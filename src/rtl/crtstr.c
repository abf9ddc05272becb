/*
 * CRT narrow strings and "C" locale character classification: strlen ...
 * strncat_s (from crtstr_tmpl.h) and tolower, toupper, isdigit, isalpha, ...
 *
 * The kernel has no locales: every routine behaves as the CRT's "C" locale,
 * where only the 128 ASCII characters are classified and only 'A'-'Z'/'a'-'z'
 * have case. An argument outside 0..127 (EOF, a sign-extended byte >= 0x80, any
 * other int) is in no class and is returned unchanged by tolower/toupper; C
 * leaves such arguments undefined, the kernel must not.
 */
#include <ntos/crt.h>

static INT RtlpCrtAsciiLower(INT c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

#define CRT_TCHAR CHAR
#define CRT_TUNSIGNED UCHAR
#define CRT_TCHAR_ARG INT
#define CRT_NAME(a, w) a
#define CRT_FOLD(c) RtlpCrtAsciiLower((INT)(c))
#include "crtstr_tmpl.h"

INT NTAPI RtlCrt_tolower(INT Character)
{
    return RtlpCrtAsciiLower(Character);
}

INT NTAPI RtlCrt_toupper(INT Character)
{
    return (Character >= 'a' && Character <= 'z') ? Character - ('a' - 'A') : Character;
}

/* The CRT's class bits (ctype.h): _UPPER 1, _LOWER 2, _DIGIT 4, _SPACE 8,
 * _PUNCT 0x10, _CONTROL 0x20, _BLANK 0x40, _HEX 0x80. The is* routines return
 * the class bit (non-zero), not 1, as the CRT does. */
#define CRT_UPPER 0x01
#define CRT_LOWER 0x02
#define CRT_DIGIT 0x04
#define CRT_SPACE 0x08
#define CRT_PUNCT 0x10
#define CRT_CONTROL 0x20
#define CRT_BLANK 0x40
#define CRT_HEX 0x80

static INT RtlpCrtClass(INT c)
{
    INT Class = 0;

    if (c < 0 || c > 0x7f)
        return 0;
    if (c >= 'A' && c <= 'Z')
        Class |= CRT_UPPER;
    if (c >= 'a' && c <= 'z')
        Class |= CRT_LOWER;
    if (c >= '0' && c <= '9')
        Class |= CRT_DIGIT;
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))
        Class |= CRT_HEX;
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        Class |= CRT_SPACE;
    if (c == ' ')
        Class |= CRT_BLANK;
    if (c < 0x20 || c == 0x7f)
        Class |= CRT_CONTROL;
    if (c > 0x20 && c < 0x7f && !(Class & (CRT_UPPER | CRT_LOWER | CRT_DIGIT)))
        Class |= CRT_PUNCT;
    return Class;
}

INT NTAPI RtlCrt_isdigit(INT Character)
{
    return RtlpCrtClass(Character) & CRT_DIGIT;
}

INT NTAPI RtlCrt_isxdigit(INT Character)
{
    return RtlpCrtClass(Character) & CRT_HEX;
}

INT NTAPI RtlCrt_isalpha(INT Character)
{
    return RtlpCrtClass(Character) & (CRT_UPPER | CRT_LOWER);
}

INT NTAPI RtlCrt_isalnum(INT Character)
{
    return RtlpCrtClass(Character) & (CRT_UPPER | CRT_LOWER | CRT_DIGIT);
}

INT NTAPI RtlCrt_isspace(INT Character)
{
    return RtlpCrtClass(Character) & CRT_SPACE;
}

INT NTAPI RtlCrt_isupper(INT Character)
{
    return RtlpCrtClass(Character) & CRT_UPPER;
}

INT NTAPI RtlCrt_islower(INT Character)
{
    return RtlpCrtClass(Character) & CRT_LOWER;
}

INT NTAPI RtlCrt_isprint(INT Character)
{
    return RtlpCrtClass(Character) & (CRT_UPPER | CRT_LOWER | CRT_DIGIT | CRT_PUNCT | CRT_BLANK);
}
