/*
 * CRT number conversions: atoi, atol, _atoi64, _wtoi, _wtol, strtol, strtoul,
 * wcstol, wcstoul, and _itoa/_ltoa/_ultoa/_i64toa/_ui64toa with their wide
 * twins.
 *
 * Windows is LLP64: `long` in these prototypes is 32-bit, so strtoul saturates
 * at 0xFFFFFFFF and strtol at 0x7FFFFFFF/-0x80000000, not at 64-bit limits.
 *
 * Parsing (MSVC documents the form [whitespace][sign][0x][digits]):
 *   - whitespace is the "C" locale isspace set; sign is '+' or '-';
 *   - base 0 picks 16 after "0x"/"0X", 8 after a leading '0', else 10; base 16
 *     also accepts the "0x" prefix; a "0x" not followed by a hex digit parses as
 *     the number 0 ending at the 'x' (the C rule);
 *   - no digits at all: the result is 0 and *End is the start of the string;
 *   - overflow (documented for MSVC): atoi/atol/strtol return INT/LONG_MAX or
 *     _MIN by sign, _atoi64 _I64_MAX/_MIN, strtoul ULONG_MAX; strtoul negates
 *     an in-range value with a '-' as an unsigned long ("-1" is 0xFFFFFFFF);
 *     the whole digit run is still consumed for *End. There is no errno in the
 *     kernel, so ERANGE is not reported.
 *   - a NULL string, or a base other than 0 and 2..36, goes to the invalid
 *     parameter handler (ntos/crt.h), as the UCRT validates them.
 *
 * _itoa and friends: digits are lower case; a '-' is written only for radix 10
 * and the signed routines; in any other radix a negative value is printed as
 * its two's complement of the routine's width (_itoa(-1, b, 16) is "ffffffff").
 * A NULL buffer or a radix outside 2..36 goes to the invalid parameter handler.
 * The buffer must hold up to 33 (32-bit) or 65 (64-bit) characters.
 */
#include <ntos/crt.h>

static ULONG RtlpCrtUnitAt(const VOID *String, BOOLEAN Wide, SIZE_T Index)
{
    return Wide ? ((PCWSTR)String)[Index] : (UCHAR)((PCSTR)String)[Index];
}

static ULONG RtlpCrtDigitValue(ULONG c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 36; /* no digit in any base */
}

typedef struct _CRT_PARSED {
    ULONG64 Magnitude; /* saturated at ~0 on overflow */
    BOOLEAN Negative;
    BOOLEAN Overflow;  /* the digits exceed 64 bits */
    SIZE_T End;        /* index of the first unconverted unit */
} CRT_PARSED;

static VOID RtlpCrtParse(const VOID *String, BOOLEAN Wide, INT Base, CRT_PARSED *Out)
{
    SIZE_T i = 0;
    ULONG c;
    BOOLEAN AnyDigit = FALSE;

    Out->Magnitude = 0;
    Out->Negative = FALSE;
    Out->Overflow = FALSE;
    Out->End = 0;

    if (String == NULL || !(Base == 0 || (Base >= 2 && Base <= 36))) {
        RtlpCrtInvalidParameter();
        return;
    }
    for (c = RtlpCrtUnitAt(String, Wide, i); c == ' ' || (c >= '\t' && c <= '\r');
         c = RtlpCrtUnitAt(String, Wide, ++i))
        ;
    if (c == '-' || c == '+') {
        Out->Negative = (c == '-');
        c = RtlpCrtUnitAt(String, Wide, ++i);
    }
    if (c == '0' && (Base == 0 || Base == 16)) {
        ULONG x = RtlpCrtUnitAt(String, Wide, i + 1);
        /* The prefix counts only when a hex digit follows it; the look-ahead
         * stops at the terminator, which is no hex digit. */
        if ((x == 'x' || x == 'X') && RtlpCrtDigitValue(RtlpCrtUnitAt(String, Wide, i + 2)) < 16) {
            Base = 16;
            i += 2;
            c = RtlpCrtUnitAt(String, Wide, i);
        } else if (Base == 0) {
            Base = 8;
        }
    }
    if (Base == 0)
        Base = 10;

    for (;; c = RtlpCrtUnitAt(String, Wide, ++i)) {
        ULONG Digit = RtlpCrtDigitValue(c);
        if (Digit >= (ULONG)Base)
            break;
        AnyDigit = TRUE;
        if (Out->Overflow)
            continue;
        if (Out->Magnitude > (~0ULL - Digit) / (ULONG)Base) {
            Out->Overflow = TRUE;
            Out->Magnitude = ~0ULL;
        } else {
            Out->Magnitude = Out->Magnitude * (ULONG)Base + Digit;
        }
    }
    if (!AnyDigit) {
        Out->Magnitude = 0;
        Out->Negative = FALSE;
        Out->End = 0;
        return;
    }
    Out->End = i;
}

/* Clamps to [-(Max + 1), Max] for a signed type whose maximum is Max. */
static LONG64 RtlpCrtSigned(const CRT_PARSED *p, ULONG64 Max)
{
    if (p->Negative) {
        if (p->Overflow || p->Magnitude > Max + 1)
            return -(LONG64)Max - 1;
        return (LONG64)(0 - p->Magnitude);
    }
    if (p->Overflow || p->Magnitude > Max)
        return (LONG64)Max;
    return (LONG64)p->Magnitude;
}

static ULONG RtlpCrtUnsigned32(const CRT_PARSED *p)
{
    if (p->Overflow || p->Magnitude > 0xffffffffULL)
        return 0xffffffffUL;
    return p->Negative ? (ULONG)(0 - (ULONG)p->Magnitude) : (ULONG)p->Magnitude;
}

INT NTAPI RtlCrt_atoi(PCSTR String)
{
    CRT_PARSED p;
    RtlpCrtParse(String, FALSE, 10, &p);
    return (INT)RtlpCrtSigned(&p, 0x7fffffff);
}

LONG NTAPI RtlCrt_atol(PCSTR String)
{
    CRT_PARSED p;
    RtlpCrtParse(String, FALSE, 10, &p);
    return (LONG)RtlpCrtSigned(&p, 0x7fffffff);
}

LONGLONG NTAPI RtlCrt__atoi64(PCSTR String)
{
    CRT_PARSED p;
    RtlpCrtParse(String, FALSE, 10, &p);
    return RtlpCrtSigned(&p, 0x7fffffffffffffffULL);
}

INT NTAPI RtlCrt__wtoi(PCWSTR String)
{
    CRT_PARSED p;
    RtlpCrtParse(String, TRUE, 10, &p);
    return (INT)RtlpCrtSigned(&p, 0x7fffffff);
}

LONG NTAPI RtlCrt__wtol(PCWSTR String)
{
    CRT_PARSED p;
    RtlpCrtParse(String, TRUE, 10, &p);
    return (LONG)RtlpCrtSigned(&p, 0x7fffffff);
}

LONG NTAPI RtlCrt_strtol(PCSTR String, PCHAR *End, INT Base)
{
    CRT_PARSED p;
    RtlpCrtParse(String, FALSE, Base, &p);
    if (End != NULL)
        *End = (PCHAR)String + p.End;
    return (LONG)RtlpCrtSigned(&p, 0x7fffffff);
}

ULONG NTAPI RtlCrt_strtoul(PCSTR String, PCHAR *End, INT Base)
{
    CRT_PARSED p;
    RtlpCrtParse(String, FALSE, Base, &p);
    if (End != NULL)
        *End = (PCHAR)String + p.End;
    return RtlpCrtUnsigned32(&p);
}

LONG NTAPI RtlCrt_wcstol(PCWSTR String, PWCHAR *End, INT Base)
{
    CRT_PARSED p;
    RtlpCrtParse(String, TRUE, Base, &p);
    if (End != NULL)
        *End = (PWCHAR)String + p.End;
    return (LONG)RtlpCrtSigned(&p, 0x7fffffff);
}

ULONG NTAPI RtlCrt_wcstoul(PCWSTR String, PWCHAR *End, INT Base)
{
    CRT_PARSED p;
    RtlpCrtParse(String, TRUE, Base, &p);
    if (End != NULL)
        *End = (PWCHAR)String + p.End;
    return RtlpCrtUnsigned32(&p);
}

/* ---- integer to text ------------------------------------------------------------ */

static VOID RtlpCrtToText(ULONG64 Magnitude, BOOLEAN Negative, PVOID Buffer, BOOLEAN Wide, INT Radix)
{
    CHAR Digits[64];
    SIZE_T Count = 0, Out = 0;

    if (Buffer == NULL || Radix < 2 || Radix > 36) {
        RtlpCrtInvalidParameter();
        return;
    }
    do {
        ULONG d = (ULONG)(Magnitude % (ULONG)Radix);
        Digits[Count++] = (CHAR)(d < 10 ? '0' + d : 'a' + d - 10);
        Magnitude /= (ULONG)Radix;
    } while (Magnitude != 0);

    if (Negative) {
        if (Wide)
            ((PWCHAR)Buffer)[Out++] = L'-';
        else
            ((PCHAR)Buffer)[Out++] = '-';
    }
    while (Count != 0) {
        CHAR d = Digits[--Count];
        if (Wide)
            ((PWCHAR)Buffer)[Out++] = (WCHAR)d;
        else
            ((PCHAR)Buffer)[Out++] = d;
    }
    if (Wide)
        ((PWCHAR)Buffer)[Out] = 0;
    else
        ((PCHAR)Buffer)[Out] = 0;
}

/* Signed routines: a sign only in radix 10; otherwise the bits of the routine's width. */
static VOID RtlpCrtSignedToText(LONG64 Value, ULONG64 WidthMask, PVOID Buffer, BOOLEAN Wide, INT Radix)
{
    if (Radix == 10 && Value < 0)
        RtlpCrtToText(0 - (ULONG64)Value, TRUE, Buffer, Wide, Radix);
    else
        RtlpCrtToText((ULONG64)Value & WidthMask, FALSE, Buffer, Wide, Radix);
}

PCHAR NTAPI RtlCrt__itoa(INT Value, PCHAR Buffer, INT Radix)
{
    RtlpCrtSignedToText(Value, 0xffffffffULL, Buffer, FALSE, Radix);
    return Buffer;
}

PCHAR NTAPI RtlCrt__ltoa(LONG Value, PCHAR Buffer, INT Radix)
{
    RtlpCrtSignedToText(Value, 0xffffffffULL, Buffer, FALSE, Radix);
    return Buffer;
}

PCHAR NTAPI RtlCrt__ultoa(ULONG Value, PCHAR Buffer, INT Radix)
{
    RtlpCrtToText(Value, FALSE, Buffer, FALSE, Radix);
    return Buffer;
}

PCHAR NTAPI RtlCrt__i64toa(LONGLONG Value, PCHAR Buffer, INT Radix)
{
    RtlpCrtSignedToText(Value, ~0ULL, Buffer, FALSE, Radix);
    return Buffer;
}

PCHAR NTAPI RtlCrt__ui64toa(ULONGLONG Value, PCHAR Buffer, INT Radix)
{
    RtlpCrtToText(Value, FALSE, Buffer, FALSE, Radix);
    return Buffer;
}

PWCHAR NTAPI RtlCrt__itow(INT Value, PWCHAR Buffer, INT Radix)
{
    RtlpCrtSignedToText(Value, 0xffffffffULL, Buffer, TRUE, Radix);
    return Buffer;
}

PWCHAR NTAPI RtlCrt__ltow(LONG Value, PWCHAR Buffer, INT Radix)
{
    RtlpCrtSignedToText(Value, 0xffffffffULL, Buffer, TRUE, Radix);
    return Buffer;
}

PWCHAR NTAPI RtlCrt__ultow(ULONG Value, PWCHAR Buffer, INT Radix)
{
    RtlpCrtToText(Value, FALSE, Buffer, TRUE, Radix);
    return Buffer;
}

PWCHAR NTAPI RtlCrt__i64tow(LONGLONG Value, PWCHAR Buffer, INT Radix)
{
    RtlpCrtSignedToText(Value, ~0ULL, Buffer, TRUE, Radix);
    return Buffer;
}

PWCHAR NTAPI RtlCrt__ui64tow(ULONGLONG Value, PWCHAR Buffer, INT Radix)
{
    RtlpCrtToText(Value, FALSE, Buffer, TRUE, Radix);
    return Buffer;
}
