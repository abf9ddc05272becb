/*
 * Integer <-> string conversions and string hashing.
 *
 * Bases: 0 means 10 when formatting and "detect from the 0x/0o/0b prefix" when
 * parsing; otherwise only 2, 8, 10 and 16 exist, anything else is
 * STATUS_INVALID_PARAMETER before any other argument is looked at.
 */
#include <ntos/rtl.h>

static BOOLEAN RtlpValidBase(ULONG Base)
{
    return Base == 2 || Base == 8 || Base == 10 || Base == 16;
}

/* Writes the digits of Value in Base (uppercase hex) to Digits, most
 * significant first, without a terminator; returns how many. Digits must hold
 * 64 characters (ULONGLONG in base 2). */
static ULONG RtlpFormatDigits(ULONGLONG Value, ULONG Base, CHAR *Digits)
{
    CHAR reversed[64];
    ULONG n = 0;

    do {
        ULONG d = (ULONG)(Value % Base);
        reversed[n++] = (CHAR)(d < 10 ? '0' + d : 'A' + (d - 10));
        Value /= Base;
    } while (Value != 0);
    for (ULONG i = 0; i < n; i++)
        Digits[i] = reversed[n - 1 - i];
    return n;
}

/*
 * Formats Value into String. The digits must fit in MaximumLength (the buffer is
 * left unchanged otherwise, STATUS_BUFFER_OVERFLOW); the terminator is added
 * only when it fits too, so an exactly sized buffer succeeds unterminated, as
 * NT does.
 */
static NTSTATUS RtlpFormatUnicode(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    CHAR digits[64];

    if (Base == 0)
        Base = 10;
    if (!RtlpValidBase(Base))
        return STATUS_INVALID_PARAMETER;
    if (String == NULL)
        return STATUS_INVALID_PARAMETER;

    ULONG n = RtlpFormatDigits(Value, Base, digits);
    if (n * sizeof(WCHAR) > String->MaximumLength)
        return STATUS_BUFFER_OVERFLOW;
    for (ULONG i = 0; i < n; i++)
        String->Buffer[i] = (WCHAR)(UCHAR)digits[i];
    if ((n + 1) * sizeof(WCHAR) <= String->MaximumLength)
        String->Buffer[n] = UNICODE_NULL;
    String->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    return RtlpFormatUnicode(Value, Base, String);
}

NTSYSAPI NTSTATUS NTAPI RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    return RtlpFormatUnicode(Value, Base, String);
}

/*
 * OutputLength is the buffer size in bytes. The digits must fit (else
 * STATUS_BUFFER_OVERFLOW, buffer untouched); the terminator is written only if
 * there is a byte left for it. The checks run in NT's order: base, then size,
 * then the buffer pointer. A negative OutputLength describes no buffer at all
 * and so is always too small.
 */
NTSYSAPI NTSTATUS NTAPI RtlIntegerToChar(ULONG Value, ULONG Base, LONG OutputLength, PCHAR String)
{
    CHAR digits[64];

    if (Base == 0)
        Base = 10;
    if (!RtlpValidBase(Base))
        return STATUS_INVALID_PARAMETER;

    ULONG n = RtlpFormatDigits(Value, Base, digits);
    if (OutputLength < 0 || n > (ULONG)OutputLength)
        return STATUS_BUFFER_OVERFLOW;
    if (String == NULL)
        return STATUS_ACCESS_VIOLATION;
    for (ULONG i = 0; i < n; i++)
        String[i] = digits[i];
    if (n < (ULONG)OutputLength)
        String[n] = ANSI_NULL;
    return STATUS_SUCCESS;
}

/* Value of c as a digit in Base, or -1 when it is not one. */
static LONG RtlpDigitValue(ULONG c, ULONG Base)
{
    ULONG d;

    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'z')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'Z')
        d = c - 'A' + 10;
    else
        return -1;
    return d < Base ? (LONG)d : -1;
}

/*
 * The parser shared by RtlUnicodeStringToInteger and RtlCharToInteger, over a
 * counted array of characters (Wide selects WCHAR or CHAR elements):
 *
 *   {whitespace} [+|-] [0x|0o|0b when Base is 0] {digits}
 *
 * Whitespace is every character up to and including ' ' (NT skips control
 * characters too). Parsing stops at the first character that is not a digit of
 * the base, and a string with no digits converts to 0 — both successfully.
 * Overflow is not detected: the value wraps modulo 2^32, and a '-' negates in
 * two's complement, so "-1" and "4294967295" both give 0xFFFFFFFF.
 */
static ULONG RtlpParseInteger(const void *Chars, SIZE_T Count, BOOLEAN Wide, ULONG Base)
{
    SIZE_T i = 0;
    BOOLEAN negative = FALSE;
    ULONG value = 0;

#define RTLP_AT(k) (Wide ? (ULONG)((const WCHAR *)Chars)[k] : (ULONG)((const UCHAR *)Chars)[k])

    while (i < Count && RTLP_AT(i) <= ' ')
        i++;
    if (i < Count && (RTLP_AT(i) == '+' || RTLP_AT(i) == '-')) {
        negative = RTLP_AT(i) == '-';
        i++;
    }
    if (Base == 0) {
        Base = 10;
        if (i + 1 < Count && RTLP_AT(i) == '0') {
            ULONG p = RTLP_AT(i + 1);
            if (p == 'x')
                Base = 16;
            else if (p == 'o')
                Base = 8;
            else if (p == 'b')
                Base = 2;
            if (Base != 10)
                i += 2;
        }
    }
    for (; i < Count; i++) {
        LONG d = RtlpDigitValue(RTLP_AT(i), Base);
        if (d < 0)
            break;
        value = value * Base + (ULONG)d;
    }
#undef RTLP_AT

    return negative ? 0u - value : value;
}

/*
 * Documented: an empty string fails with STATUS_INVALID_PARAMETER, while a
 * non-empty one that holds no number converts to 0 successfully. On failure
 * *Value is not written. A NULL Value is reported as the access violation NT
 * raises internally, after the base has been validated.
 */
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    if (Base != 0 && !RtlpValidBase(Base))
        return STATUS_INVALID_PARAMETER;
    if (String == NULL)
        return STATUS_INVALID_PARAMETER;
    if (Value == NULL)
        return STATUS_ACCESS_VIOLATION;

    SIZE_T count = String->Length / sizeof(WCHAR);
    if (count == 0)
        return STATUS_INVALID_PARAMETER;
    *Value = RtlpParseInteger(String->Buffer, count, TRUE, Base);
    return STATUS_SUCCESS;
}

NTSYSAPI NTSTATUS NTAPI RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value)
{
    if (Base != 0 && !RtlpValidBase(Base))
        return STATUS_INVALID_PARAMETER;
    if (String == NULL)
        return STATUS_INVALID_PARAMETER;
    if (Value == NULL)
        return STATUS_ACCESS_VIOLATION;

    SIZE_T count = 0;
    while (String[count] != ANSI_NULL)
        count++;
    *Value = RtlpParseInteger(String, count, FALSE, Base);
    return STATUS_SUCCESS;
}

/*
 * x65599: hash = hash * 65599 + character over the string's characters, each
 * upcased first when CaseInSensitive so that names differing only in case hash
 * alike. HASH_STRING_ALGORITHM_DEFAULT is documented to be x65599 too.
 */
NTSYSAPI NTSTATUS NTAPI RtlHashUnicodeString(PCUNICODE_STRING String, BOOLEAN CaseInSensitive,
                                             ULONG HashAlgorithm, PULONG HashValue)
{
    if (String == NULL || HashValue == NULL)
        return STATUS_INVALID_PARAMETER;
    if (HashAlgorithm != HASH_STRING_ALGORITHM_DEFAULT && HashAlgorithm != HASH_STRING_ALGORITHM_X65599)
        return STATUS_INVALID_PARAMETER;

    ULONG hash = 0;
    SIZE_T count = String->Length / sizeof(WCHAR);
    for (SIZE_T i = 0; i < count; i++) {
        WCHAR c = String->Buffer[i];
        if (CaseInSensitive)
            c = RtlUpcaseUnicodeChar(c);
        hash = hash * 65599u + c;
    }
    *HashValue = hash;
    return STATUS_SUCCESS;
}
