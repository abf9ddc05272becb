/*
 * printf-style formatting with the NT/MSVC extensions; see rtlp_format.h for the
 * dialect. The engine is written once over "format units" and "output units" so
 * that the narrow (char) and wide (WCHAR) entry points share every conversion.
 *
 * Robustness rules that hold for any format string and any buffer size:
 *   - nothing is stored past the caller's buffer; the produced length is counted
 *     separately (saturating) so callers can size a second attempt;
 *   - a counted string is never read past its Length, and a NUL-terminated one
 *     never past the precision when one is given (the buffer may not be
 *     terminated then);
 *   - a malformed or unknown conversion is copied literally and consumes no
 *     argument; a '%' at the very end of the format prints itself.
 */
#include <ntos/rtlp_format.h>

#define FMT_MAX_FIELD 0x7fffffffUL /* widths/precisions saturate here (INT_MAX) */

/* ---- output sink ------------------------------------------------------------ */

typedef struct _FMT_SINK {
    PVOID Buffer;
    SIZE_T Capacity; /* units that may be stored */
    SIZE_T Count;    /* units produced, stored or not */
    BOOLEAN Wide;    /* output units are WCHARs */
} FMT_SINK;

static void SinkAdvance(FMT_SINK *Sink, SIZE_T Units)
{
    Sink->Count = (Sink->Count + Units < Sink->Count) ? (SIZE_T)-1 : Sink->Count + Units;
}

/* Stores one unit already in the output encoding. */
static void SinkPut(FMT_SINK *Sink, ULONG Unit)
{
    if (Sink->Count < Sink->Capacity) {
        if (Sink->Wide)
            ((PWCHAR)Sink->Buffer)[Sink->Count] = (WCHAR)Unit;
        else
            ((PCHAR)Sink->Buffer)[Sink->Count] = (CHAR)Unit;
    }
    SinkAdvance(Sink, 1);
}

/* Padding can be enormous (%2147483647d); only the part that fits is stored. */
static void SinkRepeat(FMT_SINK *Sink, ULONG Unit, SIZE_T Units)
{
    while (Units != 0 && Sink->Count < Sink->Capacity) {
        SinkPut(Sink, Unit);
        Units--;
    }
    SinkAdvance(Sink, Units);
}

/* A byte of a narrow string argument. Without a code page, only ASCII survives
 * the widening; anything else is the replacement character Windows uses, '?'. */
static void SinkAnsi(FMT_SINK *Sink, UCHAR Char)
{
    SinkPut(Sink, (Sink->Wide && Char >= 0x80) ? '?' : Char);
}

static void SinkWchar(FMT_SINK *Sink, WCHAR Char)
{
    SinkPut(Sink, (!Sink->Wide && Char >= 0x80) ? '?' : Char);
}

static void SinkAscii(FMT_SINK *Sink, const char *Text, SIZE_T Length)
{
    for (SIZE_T i = 0; i < Length; i++)
        SinkPut(Sink, (UCHAR)Text[i]);
}

/* ---- format source ---------------------------------------------------------- */

typedef struct _FMT_SOURCE {
    const void *Text;
    BOOLEAN Wide;
} FMT_SOURCE;

static ULONG SourceAt(const FMT_SOURCE *Source, SIZE_T Index)
{
    return Source->Wide ? ((PCWSTR)Source->Text)[Index] : (UCHAR)((PCSTR)Source->Text)[Index];
}

/* ---- conversion specification ------------------------------------------------ */

#define FMT_LEFT 0x01  /* '-' */
#define FMT_PLUS 0x02  /* '+' */
#define FMT_SPACE 0x04 /* ' ' */
#define FMT_ALT 0x08   /* '#' */
#define FMT_ZERO 0x10  /* '0' */
#define FMT_UPPER 0x20

typedef enum _FMT_SIZE {
    FmtSizeDefault, /* int: 32-bit */
    FmtSizeChar,    /* hh */
    FmtSizeShort,   /* h */
    FmtSize32,      /* l, I32: LONG is 32-bit on Windows */
    FmtSize64       /* ll, L, I64, I, z, j, t */
} FMT_SIZE;

typedef enum _FMT_CHARWIDTH {
    FmtCharDefault,
    FmtCharNarrow, /* h */
    FmtCharWide    /* l, w */
} FMT_CHARWIDTH;

typedef struct _FMT_SPEC {
    ULONG Flags;
    SIZE_T Width;
    SIZE_T Precision;
    BOOLEAN HasPrecision;
    FMT_SIZE Size;
    FMT_CHARWIDTH CharWidth;
} FMT_SPEC;

/* Every variadic argument occupies one 8-byte slot of the Microsoft va_list;
 * reading the whole slot and truncating is what makes %d correct when the caller
 * left garbage in the upper half of a 32-bit argument's slot. */
static ULONG64 ArgSlot(NT_VA_LIST *Args)
{
    return NT_VA_ARG(*Args, ULONG64);
}

static const void *ArgPointer(NT_VA_LIST *Args)
{
    return (const void *)(ULONG_PTR)ArgSlot(Args);
}

/* Pads the field: [spaces] prefix [zeros] body [spaces]. Body and prefix are
 * emitted by the caller between FieldBegin and FieldEnd. */
static void FieldBegin(FMT_SINK *Sink, const FMT_SPEC *Spec, SIZE_T Length, BOOLEAN ZeroPadAllowed,
                       const char *Prefix, SIZE_T PrefixLength)
{
    SIZE_T Pad = (Spec->Width > Length) ? Spec->Width - Length : 0;

    if (Spec->Flags & FMT_LEFT) {
        SinkAscii(Sink, Prefix, PrefixLength);
    } else if ((Spec->Flags & FMT_ZERO) && ZeroPadAllowed) {
        SinkAscii(Sink, Prefix, PrefixLength);
        SinkRepeat(Sink, '0', Pad);
    } else {
        SinkRepeat(Sink, ' ', Pad);
        SinkAscii(Sink, Prefix, PrefixLength);
    }
}

static void FieldEnd(FMT_SINK *Sink, const FMT_SPEC *Spec, SIZE_T Length)
{
    if ((Spec->Flags & FMT_LEFT) && Spec->Width > Length)
        SinkRepeat(Sink, ' ', Spec->Width - Length);
}

/* ---- integers ----------------------------------------------------------------- */

static void FormatInteger(FMT_SINK *Sink, const FMT_SPEC *Spec, ULONG Conversion, ULONG64 Slot)
{
    static const char LowerDigits[] = "0123456789abcdef";
    static const char UpperDigits[] = "0123456789ABCDEF";
    const char *DigitSet = (Spec->Flags & FMT_UPPER) ? UpperDigits : LowerDigits;
    char Digits[24]; /* 22 octal digits hold 64 bits */
    SIZE_T DigitCount = 0;
    char Prefix[2];
    SIZE_T PrefixLength = 0;
    ULONG Base = 10;
    ULONG64 Magnitude;
    BOOLEAN Negative = FALSE;
    BOOLEAN Signed = (Conversion == 'd' || Conversion == 'i');

    if (Conversion == 'o')
        Base = 8;
    else if (Conversion == 'x' || Conversion == 'X' || Conversion == 'p')
        Base = 16;

    if (Signed) {
        LONG64 Value;
        switch (Spec->Size) {
        case FmtSizeChar: Value = (signed char)Slot; break;
        case FmtSizeShort: Value = (SHORT)Slot; break;
        case FmtSize64: Value = (LONG64)Slot; break;
        default: Value = (LONG)Slot; break;
        }
        Negative = Value < 0;
        Magnitude = Negative ? 0 - (ULONG64)Value : (ULONG64)Value;
    } else {
        switch (Spec->Size) {
        case FmtSizeChar: Magnitude = (UCHAR)Slot; break;
        case FmtSizeShort: Magnitude = (USHORT)Slot; break;
        case FmtSize64: Magnitude = Slot; break;
        default: Magnitude = (ULONG)Slot; break;
        }
    }

    for (ULONG64 v = Magnitude; v != 0; v /= Base)
        Digits[DigitCount++] = DigitSet[v % Base];

    /* C: the precision is the minimum digit count, and a zero printed with
     * precision 0 has no digits at all. Without a precision there is one digit. */
    SIZE_T MinDigits = Spec->HasPrecision ? Spec->Precision : 1;
    SIZE_T Zeros = (MinDigits > DigitCount) ? MinDigits - DigitCount : 0;

    if (Signed) {
        if (Negative)
            Prefix[PrefixLength++] = '-';
        else if (Spec->Flags & FMT_PLUS)
            Prefix[PrefixLength++] = '+';
        else if (Spec->Flags & FMT_SPACE)
            Prefix[PrefixLength++] = ' ';
    } else if (Spec->Flags & FMT_ALT) {
        if (Base == 8) {
            /* '#' with o: the first digit printed is a 0. */
            if (Zeros == 0 && (DigitCount == 0 || Digits[DigitCount - 1] != '0'))
                Zeros = 1;
        } else if (Base == 16 && (Magnitude != 0 || Conversion == 'p')) {
            Prefix[PrefixLength++] = '0';
            Prefix[PrefixLength++] = (Spec->Flags & FMT_UPPER) ? 'X' : 'x';
        }
    }

    SIZE_T Length = PrefixLength + Zeros + DigitCount;
    /* The '0' flag is ignored when a precision is given (C99 7.19.6.1). */
    FieldBegin(Sink, Spec, Length, !Spec->HasPrecision, Prefix, PrefixLength);
    SinkRepeat(Sink, '0', Zeros);
    while (DigitCount != 0)
        SinkPut(Sink, (UCHAR)Digits[--DigitCount]);
    FieldEnd(Sink, Spec, Length);
}

/* ---- characters and strings ------------------------------------------------------ */

static const char NullText[] = "(null)";

static void FormatNullString(FMT_SINK *Sink, const FMT_SPEC *Spec)
{
    SIZE_T Length = sizeof(NullText) - 1;
    if (Spec->HasPrecision && Spec->Precision < Length)
        Length = Spec->Precision;
    FieldBegin(Sink, Spec, Length, FALSE, NULL, 0);
    SinkAscii(Sink, NullText, Length);
    FieldEnd(Sink, Spec, Length);
}

/* Counted strings come with their Length (in characters) and are never read
 * past it; for NUL-terminated ones the scan for the terminator stops at the
 * precision, because such a buffer need not be terminated at all. */
static void FormatNarrowText(FMT_SINK *Sink, const FMT_SPEC *Spec, PCSTR Text, SIZE_T Length,
                             BOOLEAN Counted)
{
    SIZE_T Limit = Spec->HasPrecision ? Spec->Precision : (SIZE_T)-1;

    if (Text == NULL) {
        FormatNullString(Sink, Spec);
        return;
    }
    if (Counted) {
        if (Length > Limit)
            Length = Limit;
    } else {
        for (Length = 0; Length < Limit && Text[Length] != '\0'; Length++)
            ;
    }
    FieldBegin(Sink, Spec, Length, FALSE, NULL, 0);
    for (SIZE_T i = 0; i < Length; i++)
        SinkAnsi(Sink, (UCHAR)Text[i]);
    FieldEnd(Sink, Spec, Length);
}

static void FormatWideText(FMT_SINK *Sink, const FMT_SPEC *Spec, PCWSTR Text, SIZE_T Length,
                           BOOLEAN Counted)
{
    SIZE_T Limit = Spec->HasPrecision ? Spec->Precision : (SIZE_T)-1;

    if (Text == NULL) {
        FormatNullString(Sink, Spec);
        return;
    }
    if (Counted) {
        if (Length > Limit)
            Length = Limit;
    } else {
        for (Length = 0; Length < Limit && Text[Length] != 0; Length++)
            ;
    }
    FieldBegin(Sink, Spec, Length, FALSE, NULL, 0);
    for (SIZE_T i = 0; i < Length; i++)
        SinkWchar(Sink, Text[i]);
    FieldEnd(Sink, Spec, Length);
}

static void FormatCharacter(FMT_SINK *Sink, const FMT_SPEC *Spec, BOOLEAN WideArg, ULONG64 Slot)
{
    FieldBegin(Sink, Spec, 1, FALSE, NULL, 0);
    if (WideArg)
        SinkWchar(Sink, (WCHAR)Slot);
    else
        SinkAnsi(Sink, (UCHAR)Slot);
    FieldEnd(Sink, Spec, 1);
}

/* %Z / %wZ: only the counted Length is printed, never up to a terminator. */
static void FormatCountedString(FMT_SINK *Sink, const FMT_SPEC *Spec, BOOLEAN Unicode, const void *Arg)
{
    if (Unicode) {
        PCUNICODE_STRING String = Arg;
        if (String == NULL || String->Buffer == NULL)
            FormatNullString(Sink, Spec);
        else
            FormatWideText(Sink, Spec, String->Buffer, String->Length / sizeof(WCHAR), TRUE);
    } else {
        PCANSI_STRING String = Arg;
        if (String == NULL || String->Buffer == NULL)
            FormatNullString(Sink, Spec);
        else
            FormatNarrowText(Sink, Spec, String->Buffer, String->Length, TRUE);
    }
}

/* ---- floating point ---------------------------------------------------------------
 *
 * A finite double is m * 2^e exactly. With k = max(0, -e) the value is N / 10^k
 * where N = m * 2^e (e >= 0) or N = m * 5^k (e < 0), an integer of at most 767
 * decimal digits. N is held in base 10^9 limbs, rounded in place (round half to
 * even on the exact value, as the UCRT and glibc do) and its digits are read
 * straight out of the limbs.
 */

#define FMT_LIMB_BASE 1000000000UL
#define FMT_LIMB_DIGITS 9
#define FMT_LIMBS 96 /* 864 digits */

typedef struct _FMT_DECIMAL {
    ULONG Limb[FMT_LIMBS]; /* least significant first */
    ULONG Count;
    LONG Scale; /* value = N / 10^Scale */
} FMT_DECIMAL;

static const ULONG Pow10[FMT_LIMB_DIGITS + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

static void DecimalMultiply(FMT_DECIMAL *D, ULONG Factor)
{
    ULONG64 Carry = 0;
    for (ULONG i = 0; i < D->Count; i++) {
        ULONG64 t = (ULONG64)D->Limb[i] * Factor + Carry;
        D->Limb[i] = (ULONG)(t % FMT_LIMB_BASE);
        Carry = t / FMT_LIMB_BASE;
    }
    while (Carry != 0 && D->Count < FMT_LIMBS) {
        D->Limb[D->Count++] = (ULONG)(Carry % FMT_LIMB_BASE);
        Carry /= FMT_LIMB_BASE;
    }
}

static LONG DecimalDigitCount(const FMT_DECIMAL *D)
{
    ULONG Top = D->Limb[D->Count - 1];
    LONG n = 1;
    while (n < FMT_LIMB_DIGITS && Top >= Pow10[n])
        n++;
    return (LONG)(D->Count - 1) * FMT_LIMB_DIGITS + n;
}

/* Digit at Position, counted from the least significant digit (0). */
static ULONG DecimalDigitAt(const FMT_DECIMAL *D, LONG Position)
{
    if (Position < 0 || (ULONG)(Position / FMT_LIMB_DIGITS) >= D->Count)
        return 0;
    return D->Limb[Position / FMT_LIMB_DIGITS] / Pow10[Position % FMT_LIMB_DIGITS] % 10;
}

/* Whether any digit below Position is non-zero. */
static BOOLEAN DecimalLowNonZero(const FMT_DECIMAL *D, LONG Position)
{
    LONG Limb = Position / FMT_LIMB_DIGITS;
    for (LONG i = 0; i < Limb && (ULONG)i < D->Count; i++)
        if (D->Limb[i] != 0)
            return TRUE;
    if ((ULONG)Limb < D->Count && D->Limb[Limb] % Pow10[Position % FMT_LIMB_DIGITS] != 0)
        return TRUE;
    return FALSE;
}

/* Keeps the Keep most significant digits (1 <= Keep < digit count), rounding half
 * to even, and zeroes the rest so later reads see exactly the rounded value. */
static void DecimalRound(FMT_DECIMAL *D, LONG Keep)
{
    LONG Digits = DecimalDigitCount(D);
    LONG Drop = Digits - Keep; /* >= 1 */
    ULONG First = DecimalDigitAt(D, Drop - 1);
    BOOLEAN Sticky = DecimalLowNonZero(D, Drop - 1);
    BOOLEAN Odd = DecimalDigitAt(D, Drop) & 1;
    BOOLEAN Up = First > 5 || (First == 5 && (Sticky || Odd));
    LONG Limb = Drop / FMT_LIMB_DIGITS;

    for (LONG i = 0; i < Limb; i++)
        D->Limb[i] = 0;
    D->Limb[Limb] -= D->Limb[Limb] % Pow10[Drop % FMT_LIMB_DIGITS];
    if (!Up)
        return;
    ULONG64 Carry = Pow10[Drop % FMT_LIMB_DIGITS];
    for (ULONG i = (ULONG)Limb; Carry != 0; i++) {
        if (i == D->Count) {
            if (D->Count == FMT_LIMBS)
                return;
            D->Limb[D->Count++] = 0;
        }
        ULONG64 t = D->Limb[i] + Carry;
        D->Limb[i] = (ULONG)(t % FMT_LIMB_BASE);
        Carry = t / FMT_LIMB_BASE;
    }
}

static void DecimalSet(FMT_DECIMAL *D, ULONG64 Value, LONG Scale)
{
    D->Count = 0;
    do {
        D->Limb[D->Count++] = (ULONG)(Value % FMT_LIMB_BASE);
        Value /= FMT_LIMB_BASE;
    } while (Value != 0);
    D->Scale = Scale;
}

/* Exact decimal value of a finite, non-negative double given as its bit fields. */
static void DecimalFromDouble(FMT_DECIMAL *D, ULONG64 Mantissa, LONG Exponent)
{
    while (Mantissa != 0 && (Mantissa & 1) == 0 && Exponent < 0) {
        Mantissa >>= 1;
        Exponent++;
    }
    if (Mantissa == 0) {
        DecimalSet(D, 0, 0);
        return;
    }
    if (Exponent >= 0) {
        DecimalSet(D, Mantissa, 0);
        for (; Exponent >= 28; Exponent -= 28)
            DecimalMultiply(D, 1UL << 28);
        DecimalMultiply(D, 1UL << Exponent);
    } else {
        LONG Fives = -Exponent;
        DecimalSet(D, Mantissa, Fives);
        for (; Fives >= 13; Fives -= 13)
            DecimalMultiply(D, 1220703125UL); /* 5^13 */
        ULONG Factor = 1;
        while (Fives-- > 0)
            Factor *= 5;
        DecimalMultiply(D, Factor);
    }
}

/* Index (from the most significant digit, 0-based) -> digit character. */
static ULONG DecimalLeading(const FMT_DECIMAL *D, LONG Digits, LONG Index)
{
    if (Index < 0 || Index >= Digits)
        return '0';
    return '0' + DecimalDigitAt(D, Digits - 1 - Index);
}

/* Emits Count digits starting at leading index First, zeros outside [0, Digits). */
static void EmitDigits(FMT_SINK *Sink, const FMT_DECIMAL *D, LONG Digits, LONG64 First, SIZE_T Count)
{
    while (Count != 0 && First < 0) {
        /* Leading fraction zeros before the first significant digit. */
        SIZE_T Run = (SIZE_T)(-First) < Count ? (SIZE_T)(-First) : Count;
        SinkRepeat(Sink, '0', Run);
        Count -= Run;
        First += (LONG64)Run;
    }
    while (Count != 0 && First < Digits) {
        SinkPut(Sink, DecimalLeading(D, Digits, (LONG)First));
        First++;
        Count--;
    }
    SinkRepeat(Sink, '0', Count);
}

static void FormatDecimalFloat(FMT_SINK *Sink, FMT_SPEC *Spec, ULONG Conversion, ULONG64 Mantissa,
                               LONG Exponent, const char *Sign, SIZE_T SignLength)
{
    FMT_DECIMAL D;
    SIZE_T Precision = Spec->HasPrecision ? Spec->Precision : 6;
    BOOLEAN Upper = (Conversion == 'E' || Conversion == 'G');
    BOOLEAN ExpStyle = (Conversion == 'e' || Conversion == 'E');
    BOOLEAN Alt = (Spec->Flags & FMT_ALT) != 0;
    SIZE_T FractionDigits = Precision;
    LONG Digits;
    LONG Exp10;

    DecimalFromDouble(&D, Mantissa, Exponent);
    Digits = DecimalDigitCount(&D);

    if (Conversion == 'g' || Conversion == 'G') {
        SIZE_T Significant = Precision == 0 ? 1 : Precision;
        if (Significant < (SIZE_T)Digits) {
            DecimalRound(&D, (LONG)Significant);
            Digits = DecimalDigitCount(&D);
        }
        Exp10 = Digits - 1 - D.Scale;
        if (D.Count == 1 && D.Limb[0] == 0)
            Exp10 = 0;
        /* C99: style e when X < -4 or X >= P, otherwise f with P-1-X decimals. */
        ExpStyle = !(Exp10 >= -4 && (LONG64)Exp10 < (LONG64)Significant);
        if (!Alt) {
            /* Trailing zeros are not significant for %g. */
            LONG Last = 0;
            for (LONG i = 0; i < Digits && (SIZE_T)i < Significant; i++)
                if (DecimalLeading(&D, Digits, i) != '0')
                    Last = i;
            Significant = (SIZE_T)Last + 1;
        }
        if (ExpStyle)
            FractionDigits = Significant - 1;
        else
            FractionDigits = (LONG64)Significant > (LONG64)Exp10 + 1 ? Significant - (SIZE_T)(Exp10 + 1) : 0;
    } else if (ExpStyle) {
        if (Precision + 1 < (SIZE_T)Digits) {
            DecimalRound(&D, (LONG)Precision + 1);
            Digits = DecimalDigitCount(&D);
        }
    } else {
        /* %f keeps every integer digit plus Precision decimals. */
        LONG64 Keep = (LONG64)Digits - D.Scale + (LONG64)Precision;
        if (Keep <= 0) {
            /* The value is below 10^-Precision: it rounds to 0 or to 10^-Precision,
             * the latter only when it is more than half of it. */
            BOOLEAN Up = Keep == 0 && (DecimalLeading(&D, Digits, 0) > '5' ||
                                       (DecimalLeading(&D, Digits, 0) == '5' &&
                                        DecimalLowNonZero(&D, Digits - 1)));
            if (Up)
                DecimalSet(&D, 1, (LONG)Precision);
            else
                DecimalSet(&D, 0, 0);
            Digits = 1;
        } else if (Keep < Digits) {
            DecimalRound(&D, (LONG)Keep);
            Digits = DecimalDigitCount(&D);
        }
    }

    Exp10 = Digits - 1 - D.Scale;
    if (D.Count == 1 && D.Limb[0] == 0)
        Exp10 = 0;

    BOOLEAN Point = FractionDigits != 0 || Alt;
    SIZE_T Length = SignLength + (Point ? 1 : 0) + FractionDigits;
    char ExpText[8];
    SIZE_T ExpLength = 0;
    LONG64 IntegerDigits = (LONG64)Digits - D.Scale; /* digits before the point (f) */

    if (ExpStyle) {
        ULONG Magnitude = (ULONG)(Exp10 < 0 ? -Exp10 : Exp10);
        char Reverse[6];
        SIZE_T n = 0;
        do {
            Reverse[n++] = (char)('0' + Magnitude % 10);
            Magnitude /= 10;
        } while (Magnitude != 0);
        if (n < 2)
            Reverse[n++] = '0';
        ExpText[ExpLength++] = Upper ? 'E' : 'e';
        ExpText[ExpLength++] = Exp10 < 0 ? '-' : '+';
        while (n != 0)
            ExpText[ExpLength++] = Reverse[--n];
        Length += 1 + ExpLength;
    } else {
        Length += IntegerDigits > 0 ? (SIZE_T)IntegerDigits : 1;
    }

    FieldBegin(Sink, Spec, Length, TRUE, Sign, SignLength);
    if (ExpStyle) {
        SinkPut(Sink, DecimalLeading(&D, Digits, 0));
        if (Point)
            SinkPut(Sink, '.');
        EmitDigits(Sink, &D, Digits, 1, FractionDigits);
        SinkAscii(Sink, ExpText, ExpLength);
    } else {
        if (IntegerDigits > 0)
            EmitDigits(Sink, &D, Digits, 0, (SIZE_T)IntegerDigits);
        else
            SinkPut(Sink, '0');
        if (Point)
            SinkPut(Sink, '.');
        EmitDigits(Sink, &D, Digits, IntegerDigits, FractionDigits);
    }
    FieldEnd(Sink, Spec, Length);
}

static void FormatHexFloat(FMT_SINK *Sink, FMT_SPEC *Spec, BOOLEAN Upper, ULONG64 Fraction, LONG BiasedExp,
                           const char *Sign, SIZE_T SignLength)
{
    const char *DigitSet = Upper ? "0123456789ABCDEF" : "0123456789abcdef";
    /* MSVC prints all 13 fraction digits of a double by default. */
    SIZE_T Precision = Spec->HasPrecision ? Spec->Precision : 13;
    ULONG64 Value;
    ULONG Lead;
    LONG Exponent;
    SIZE_T Shown = Precision < 13 ? Precision : 13;
    char Prefix[4];
    SIZE_T PrefixLength = 0;

    if (BiasedExp == 0) {
        Value = Fraction; /* zero or subnormal: 0x0.fff...p-1022 */
        Exponent = Fraction == 0 ? 0 : -1022;
    } else {
        Value = Fraction | (1ULL << 52);
        Exponent = BiasedExp - 1023;
    }
    if (Precision < 13) {
        ULONG Shift = (ULONG)(13 - Precision) * 4;
        ULONG64 Rest = Value & ((1ULL << Shift) - 1);
        ULONG64 Half = 1ULL << (Shift - 1);
        Value >>= Shift;
        if (Rest > Half || (Rest == Half && (Value & 1)))
            Value++;
    }
    Lead = (ULONG)(Value >> (Shown * 4));
    Value &= (Shown * 4 == 0) ? 0 : ((1ULL << (Shown * 4)) - 1);

    for (SIZE_T i = 0; i < SignLength; i++)
        Prefix[PrefixLength++] = Sign[i];
    Prefix[PrefixLength++] = '0';
    Prefix[PrefixLength++] = Upper ? 'X' : 'x';

    char ExpText[8];
    SIZE_T ExpLength = 0;
    {
        ULONG Magnitude = (ULONG)(Exponent < 0 ? -Exponent : Exponent);
        char Reverse[6];
        SIZE_T n = 0;
        do {
            Reverse[n++] = (char)('0' + Magnitude % 10);
            Magnitude /= 10;
        } while (Magnitude != 0);
        ExpText[ExpLength++] = Upper ? 'P' : 'p';
        ExpText[ExpLength++] = Exponent < 0 ? '-' : '+';
        while (n != 0)
            ExpText[ExpLength++] = Reverse[--n];
    }

    BOOLEAN Point = Precision != 0 || (Spec->Flags & FMT_ALT);
    SIZE_T Length = PrefixLength + 1 + (Point ? 1 : 0) + Precision + ExpLength;

    FieldBegin(Sink, Spec, Length, TRUE, Prefix, PrefixLength);
    SinkPut(Sink, (UCHAR)DigitSet[Lead & 0xf]);
    if (Point)
        SinkPut(Sink, '.');
    for (SIZE_T i = Shown; i != 0; i--)
        SinkPut(Sink, (UCHAR)DigitSet[(Value >> ((i - 1) * 4)) & 0xf]);
    SinkRepeat(Sink, '0', Precision - Shown);
    SinkAscii(Sink, ExpText, ExpLength);
    FieldEnd(Sink, Spec, Length);
}

static void FormatFloat(FMT_SINK *Sink, FMT_SPEC *Spec, ULONG Conversion, ULONG64 Bits)
{
    BOOLEAN Negative = (Bits >> 63) != 0;
    LONG BiasedExp = (LONG)((Bits >> 52) & 0x7ff);
    ULONG64 Fraction = Bits & ((1ULL << 52) - 1);
    BOOLEAN Upper = (Conversion == 'E' || Conversion == 'F' || Conversion == 'G' || Conversion == 'A');
    char Sign[1];
    SIZE_T SignLength = 0;

    if (Negative)
        Sign[SignLength++] = '-';
    else if (Spec->Flags & FMT_PLUS)
        Sign[SignLength++] = '+';
    else if (Spec->Flags & FMT_SPACE)
        Sign[SignLength++] = ' ';

    if (BiasedExp == 0x7ff) {
        const char *Text = Fraction == 0 ? (Upper ? "INF" : "inf") : (Upper ? "NAN" : "nan");
        SIZE_T Length = SignLength + 3;
        /* Zero padding would make a non-number look numeric; pad with spaces. */
        FieldBegin(Sink, Spec, Length, FALSE, Sign, SignLength);
        SinkAscii(Sink, Text, 3);
        FieldEnd(Sink, Spec, Length);
        return;
    }

    if (Conversion == 'a' || Conversion == 'A') {
        FormatHexFloat(Sink, Spec, Upper, Fraction, BiasedExp, Sign, SignLength);
        return;
    }

    if (Conversion == 'F')
        Conversion = 'f';
    if (BiasedExp == 0)
        FormatDecimalFloat(Sink, Spec, Conversion, Fraction, -1074, Sign, SignLength);
    else
        FormatDecimalFloat(Sink, Spec, Conversion, Fraction | (1ULL << 52), BiasedExp - 1075, Sign,
                           SignLength);
}

/* ---- the engine ------------------------------------------------------------------- */

/* Reads a decimal field, saturating instead of overflowing. */
static SIZE_T ParseNumber(const FMT_SOURCE *Format, SIZE_T *Index)
{
    SIZE_T Value = 0;
    ULONG c;
    while ((c = SourceAt(Format, *Index)) >= '0' && c <= '9') {
        Value = Value * 10 + (c - '0');
        if (Value > FMT_MAX_FIELD)
            Value = FMT_MAX_FIELD;
        (*Index)++;
    }
    return Value;
}

static void FormatEngine(FMT_SINK *Sink, const FMT_SOURCE *Format, NT_VA_LIST *Args)
{
    SIZE_T i = 0;
    ULONG c;

    if (Format->Text == NULL)
        return;

    while ((c = SourceAt(Format, i)) != 0) {
        if (c != '%') {
            SinkPut(Sink, c);
            i++;
            continue;
        }

        SIZE_T Start = i++;
        FMT_SPEC Spec;

        /* Field by field: an aggregate zero-initialiser may become a memset call,
         * and this file must not depend on the C library. */
        Spec.Flags = 0;
        Spec.Width = 0;
        Spec.Precision = 0;
        Spec.HasPrecision = FALSE;
        Spec.Size = FmtSizeDefault;
        Spec.CharWidth = FmtCharDefault;

        for (;; i++) {
            c = SourceAt(Format, i);
            if (c == '-')
                Spec.Flags |= FMT_LEFT;
            else if (c == '+')
                Spec.Flags |= FMT_PLUS;
            else if (c == ' ')
                Spec.Flags |= FMT_SPACE;
            else if (c == '#')
                Spec.Flags |= FMT_ALT;
            else if (c == '0')
                Spec.Flags |= FMT_ZERO;
            else
                break;
        }

        if (SourceAt(Format, i) == '*') {
            LONG Width = (LONG)ArgSlot(Args);
            i++;
            if (Width < 0) {
                /* A negative '*' width is a '-' flag and a positive width. */
                Spec.Flags |= FMT_LEFT;
                Spec.Width = (SIZE_T)(0 - (ULONG64)(LONG64)Width);
            } else {
                Spec.Width = (SIZE_T)Width;
            }
        } else {
            Spec.Width = ParseNumber(Format, &i);
        }

        if (SourceAt(Format, i) == '.') {
            i++;
            Spec.HasPrecision = TRUE;
            if (SourceAt(Format, i) == '*') {
                LONG Precision = (LONG)ArgSlot(Args);
                i++;
                /* A negative '*' precision is taken as if it were omitted. */
                if (Precision < 0)
                    Spec.HasPrecision = FALSE;
                else
                    Spec.Precision = (SIZE_T)Precision;
            } else {
                Spec.Precision = ParseNumber(Format, &i);
            }
        }

        for (;;) {
            c = SourceAt(Format, i);
            if (c == 'h') {
                Spec.CharWidth = FmtCharNarrow;
                if (SourceAt(Format, i + 1) == 'h') {
                    Spec.Size = FmtSizeChar;
                    i += 2;
                } else {
                    Spec.Size = FmtSizeShort;
                    i++;
                }
            } else if (c == 'l') {
                Spec.CharWidth = FmtCharWide;
                if (SourceAt(Format, i + 1) == 'l') {
                    Spec.Size = FmtSize64;
                    i += 2;
                } else {
                    Spec.Size = FmtSize32;
                    i++;
                }
            } else if (c == 'w') {
                Spec.CharWidth = FmtCharWide;
                i++;
            } else if (c == 'L' || c == 'z' || c == 'j' || c == 't') {
                Spec.Size = FmtSize64;
                i++;
            } else if (c == 'I') {
                /* I64 and I32 are explicit; a bare I is pointer-sized. Each
                 * look-ahead only happens after a non-NUL unit. */
                if (SourceAt(Format, i + 1) == '6' && SourceAt(Format, i + 2) == '4') {
                    Spec.Size = FmtSize64;
                    i += 3;
                } else if (SourceAt(Format, i + 1) == '3' && SourceAt(Format, i + 2) == '2') {
                    Spec.Size = FmtSize32;
                    i += 3;
                } else {
                    Spec.Size = FmtSize64;
                    i++;
                }
            } else {
                break;
            }
        }

        c = SourceAt(Format, i);
        if (c == 0) {
            /* Incomplete specification at the end: print what is there. */
            for (SIZE_T j = Start; j < i; j++)
                SinkPut(Sink, SourceAt(Format, j));
            break;
        }
        i++;

        switch (c) {
        case 'd':
        case 'i':
        case 'u':
        case 'o':
        case 'x':
            FormatInteger(Sink, &Spec, c, ArgSlot(Args));
            break;
        case 'X':
            Spec.Flags |= FMT_UPPER;
            FormatInteger(Sink, &Spec, c, ArgSlot(Args));
            break;
        case 'p':
            /* Windows prints a pointer as all of its hex digits, upper case. */
            Spec.Flags |= FMT_UPPER;
            Spec.Size = FmtSize64;
            Spec.HasPrecision = TRUE;
            Spec.Precision = 2 * sizeof(PVOID);
            FormatInteger(Sink, &Spec, c, ArgSlot(Args));
            break;
        case 'c':
        case 'C': {
            /* c is the format's own width, C the other one; h/l/w override. */
            BOOLEAN WideArg = (c == 'C') != (Format->Wide != 0);
            if (Spec.CharWidth == FmtCharNarrow)
                WideArg = FALSE;
            else if (Spec.CharWidth == FmtCharWide)
                WideArg = TRUE;
            FormatCharacter(Sink, &Spec, WideArg, ArgSlot(Args));
            break;
        }
        case 's':
        case 'S': {
            BOOLEAN WideArg = (c == 'S') != (Format->Wide != 0);
            if (Spec.CharWidth == FmtCharNarrow)
                WideArg = FALSE;
            else if (Spec.CharWidth == FmtCharWide)
                WideArg = TRUE;
            if (WideArg)
                FormatWideText(Sink, &Spec, ArgPointer(Args), 0, FALSE);
            else
                FormatNarrowText(Sink, &Spec, ArgPointer(Args), 0, FALSE);
            break;
        }
        case 'Z':
            FormatCountedString(Sink, &Spec, Spec.CharWidth == FmtCharWide, ArgPointer(Args));
            break;
        case 'n':
            /* The Windows kernel does not support %n (it would let a format
             * string write memory): the argument is skipped, nothing is stored. */
            (void)ArgSlot(Args);
            break;
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            FormatFloat(Sink, &Spec, c, ArgSlot(Args));
            break;
        case '%':
            SinkPut(Sink, '%');
            break;
        default:
            /* Unknown conversion: copy the whole specification verbatim. */
            for (SIZE_T j = Start; j < i; j++)
                SinkPut(Sink, SourceAt(Format, j));
            break;
        }
    }
}

/* ---- entry points ------------------------------------------------------------------ */

static SIZE_T FormatTerminated(PVOID Buffer, SIZE_T BufferSize, const void *Format, BOOLEAN Wide,
                               NT_VA_LIST Args, BOOLEAN *Truncated)
{
    FMT_SOURCE Source = {Format, Wide};
    FMT_SINK Sink = {Buffer, 0, 0, Wide};

    if (Buffer == NULL)
        BufferSize = 0;
    if (BufferSize != 0)
        Sink.Capacity = BufferSize - 1;
    FormatEngine(&Sink, &Source, &Args);
    if (BufferSize != 0) {
        SIZE_T End = Sink.Count < Sink.Capacity ? Sink.Count : Sink.Capacity;
        if (Wide)
            ((PWCHAR)Buffer)[End] = 0;
        else
            ((PCHAR)Buffer)[End] = 0;
    }
    if (Truncated != NULL)
        *Truncated = Sink.Count >= BufferSize;
    return Sink.Count;
}

SIZE_T RtlpFormatV(PCHAR Buffer, SIZE_T BufferSize, PCSTR Format, NT_VA_LIST Args, BOOLEAN *Truncated)
{
    return FormatTerminated(Buffer, BufferSize, Format, FALSE, Args, Truncated);
}

SIZE_T RtlpFormatWideV(PWCHAR Buffer, SIZE_T BufferCount, PCWSTR Format, NT_VA_LIST Args,
                       BOOLEAN *Truncated)
{
    return FormatTerminated(Buffer, BufferCount, Format, TRUE, Args, Truncated);
}

/* _vsnprintf: the whole buffer may hold output; the NUL is added only if room
 * is left, and an output that does not fit returns -1. */
static int FormatWindows(PVOID Buffer, SIZE_T Count, const void *Format, BOOLEAN Wide, NT_VA_LIST Args)
{
    FMT_SOURCE Source = {Format, Wide};
    FMT_SINK Sink = {Buffer, Count, 0, Wide};

    if (Format == NULL || (Buffer == NULL && Count != 0))
        return -1;
    FormatEngine(&Sink, &Source, &Args);
    if (Buffer == NULL)
        return Sink.Count > 0x7fffffff ? -1 : (int)Sink.Count;
    if (Sink.Count > Count || Sink.Count > 0x7fffffff)
        return -1;
    if (Sink.Count < Count) {
        if (Wide)
            ((PWCHAR)Buffer)[Sink.Count] = 0;
        else
            ((PCHAR)Buffer)[Sink.Count] = 0;
    }
    return (int)Sink.Count;
}

int NTAPI RtlpVsnprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, NT_VA_LIST Args)
{
    return FormatWindows(Buffer, Count, Format, FALSE, Args);
}

int NTAPI RtlpSnprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, ...)
{
    NT_VA_LIST Args;
    int Result;

    NT_VA_START(Args, Format);
    Result = FormatWindows(Buffer, Count, Format, FALSE, Args);
    NT_VA_END(Args);
    return Result;
}

int NTAPI RtlpVsnwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, NT_VA_LIST Args)
{
    return FormatWindows(Buffer, Count, Format, TRUE, Args);
}

int NTAPI RtlpSnwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, ...)
{
    NT_VA_LIST Args;
    int Result;

    NT_VA_START(Args, Format);
    Result = FormatWindows(Buffer, Count, Format, TRUE, Args);
    NT_VA_END(Args);
    return Result;
}
