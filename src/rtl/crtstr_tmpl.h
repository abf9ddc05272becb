/*
 * The string routines of the CRT, written once for both character widths.
 * crtstr.c includes this with CRT_TCHAR = CHAR (strlen, _stricmp, strcpy_s, ...)
 * and crtwcs.c with CRT_TCHAR = WCHAR (wcslen, _wcsicmp, wcscpy_s, ...).
 *
 * The includer defines:
 *   CRT_TCHAR        the character type
 *   CRT_TUNSIGNED    the same width, unsigned (comparisons are unsigned)
 *   CRT_NAME(a, w)   picks the narrow or the wide internal name
 *   CRT_TCHAR_ARG    the type the search routines take the character as
 *   CRT_FOLD(c)      case folding for the case-insensitive comparisons
 *
 * Semantics that are Windows' and not obvious from C:
 *   - the comparisons return -1/0/1 (strcmp, wcscmp, strncmp, wcsncmp) or the
 *     difference of the folded characters (_stricmp, _wcsicmp, ...); both only
 *     promise the sign;
 *   - _stricmp and friends fold to LOWER case, which matters for the characters
 *     between 'Z' and 'a' ('_' sorts before 'a' but after 'A'), and validate
 *     their pointers (NULL -> invalid parameter handler);
 *   - the _s routines follow the UCRT error table: NULL destination or size 0
 *     leaves the destination alone; every other error sets dest[0] = 0 first.
 */

static const CRT_TCHAR *CRT_NAME(RtlpCrtStrEnd, RtlpCrtWcsEnd)(const CRT_TCHAR *String)
{
    while (*String != 0)
        String++;
    return String;
}

SIZE_T NTAPI CRT_NAME(RtlCrt_strlen, RtlCrt_wcslen)(const CRT_TCHAR *String)
{
    return (SIZE_T)(CRT_NAME(RtlpCrtStrEnd, RtlpCrtWcsEnd)(String) - String);
}

/* Never reads String[MaxCount] or beyond: the buffer need not be terminated. */
SIZE_T NTAPI CRT_NAME(RtlCrt_strnlen, RtlCrt_wcsnlen)(const CRT_TCHAR *String, SIZE_T MaxCount)
{
    SIZE_T Length = 0;

    while (Length < MaxCount && String[Length] != 0)
        Length++;
    return Length;
}

CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strcpy, RtlCrt_wcscpy)(CRT_TCHAR *Destination, const CRT_TCHAR *Source)
{
    CRT_TCHAR *p = Destination;

    while ((*p++ = *Source++) != 0)
        ;
    return Destination;
}

/* Copies at most Count characters and pads with NULs up to Count; when Source
 * is Count characters or longer the result is not terminated (C semantics). */
CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strncpy, RtlCrt_wcsncpy)(CRT_TCHAR *Destination, const CRT_TCHAR *Source,
                                                         SIZE_T Count)
{
    SIZE_T i = 0;

    for (; i < Count && Source[i] != 0; i++)
        Destination[i] = Source[i];
    for (; i < Count; i++)
        Destination[i] = 0;
    return Destination;
}

CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strcat, RtlCrt_wcscat)(CRT_TCHAR *Destination, const CRT_TCHAR *Source)
{
    CRT_NAME(RtlCrt_strcpy, RtlCrt_wcscpy)((CRT_TCHAR *)CRT_NAME(RtlpCrtStrEnd, RtlpCrtWcsEnd)(Destination),
                                           Source);
    return Destination;
}

/* Appends at most Count characters and always a terminator. */
CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strncat, RtlCrt_wcsncat)(CRT_TCHAR *Destination, const CRT_TCHAR *Source,
                                                         SIZE_T Count)
{
    CRT_TCHAR *p = (CRT_TCHAR *)CRT_NAME(RtlpCrtStrEnd, RtlpCrtWcsEnd)(Destination);
    SIZE_T i = 0;

    for (; i < Count && Source[i] != 0; i++)
        p[i] = Source[i];
    p[i] = 0;
    return Destination;
}

static INT CRT_NAME(RtlpCrtStrSign, RtlpCrtWcsSign)(CRT_TUNSIGNED a, CRT_TUNSIGNED b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

INT NTAPI CRT_NAME(RtlCrt_strcmp, RtlCrt_wcscmp)(const CRT_TCHAR *String1, const CRT_TCHAR *String2)
{
    return CRT_NAME(RtlCrt_strncmp, RtlCrt_wcsncmp)(String1, String2, (SIZE_T)-1);
}

INT NTAPI CRT_NAME(RtlCrt_strncmp, RtlCrt_wcsncmp)(const CRT_TCHAR *String1, const CRT_TCHAR *String2,
                                                  SIZE_T Count)
{
    for (SIZE_T i = 0; i < Count; i++) {
        CRT_TUNSIGNED a = (CRT_TUNSIGNED)String1[i];
        CRT_TUNSIGNED b = (CRT_TUNSIGNED)String2[i];
        if (a != b)
            return CRT_NAME(RtlpCrtStrSign, RtlpCrtWcsSign)(a, b);
        if (a == 0)
            break;
    }
    return 0;
}

INT NTAPI CRT_NAME(RtlCrt__strnicmp, RtlCrt__wcsnicmp)(const CRT_TCHAR *String1, const CRT_TCHAR *String2,
                                                      SIZE_T Count)
{
    if (String1 == NULL || String2 == NULL) {
        RtlpCrtInvalidParameter();
        return 0x7fffffff; /* _NLSCMPERROR */
    }
    for (SIZE_T i = 0; i < Count; i++) {
        INT a = (INT)CRT_FOLD((CRT_TUNSIGNED)String1[i]);
        INT b = (INT)CRT_FOLD((CRT_TUNSIGNED)String2[i]);
        if (a != b)
            return a - b;
        if (a == 0)
            break;
    }
    return 0;
}

INT NTAPI CRT_NAME(RtlCrt__stricmp, RtlCrt__wcsicmp)(const CRT_TCHAR *String1, const CRT_TCHAR *String2)
{
    return CRT_NAME(RtlCrt__strnicmp, RtlCrt__wcsnicmp)(String1, String2, (SIZE_T)-1);
}

/* The terminator is part of the string: searching for 0 finds it. */
CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strchr, RtlCrt_wcschr)(const CRT_TCHAR *String, CRT_TCHAR_ARG Character)
{
    CRT_TCHAR c = (CRT_TCHAR)Character;

    for (;; String++) {
        if (*String == c)
            return (CRT_TCHAR *)String;
        if (*String == 0)
            return NULL;
    }
}

CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strrchr, RtlCrt_wcsrchr)(const CRT_TCHAR *String, CRT_TCHAR_ARG Character)
{
    CRT_TCHAR c = (CRT_TCHAR)Character;
    const CRT_TCHAR *Found = NULL;

    for (;; String++) {
        if (*String == c)
            Found = String;
        if (*String == 0)
            return (CRT_TCHAR *)Found;
    }
}

/* An empty Substring matches at the start of String. */
CRT_TCHAR *NTAPI CRT_NAME(RtlCrt_strstr, RtlCrt_wcsstr)(const CRT_TCHAR *String, const CRT_TCHAR *Substring)
{
    if (*Substring == 0)
        return (CRT_TCHAR *)String;
    for (; *String != 0; String++) {
        SIZE_T i = 0;
        while (Substring[i] != 0 && String[i] == Substring[i])
            i++;
        if (Substring[i] == 0)
            return (CRT_TCHAR *)String;
    }
    return NULL;
}

/* ---- the _s routines ------------------------------------------------------------- */

/* Copies Length characters and a terminator; Length < Size is the caller's check. */
static VOID CRT_NAME(RtlpCrtStrStore, RtlpCrtWcsStore)(CRT_TCHAR *Destination, const CRT_TCHAR *Source,
                                                       SIZE_T Length)
{
    for (SIZE_T i = 0; i < Length; i++)
        Destination[i] = Source[i];
    Destination[Length] = 0;
}

/*
 * The body of strncpy_s/strcpy_s (strcpy_s is strncpy_s with no count limit and
 * no truncation): copies min(Count, length of Source) characters. Source is never
 * scanned past what could fit in the destination. On ERANGE the caller's whole
 * buffer (WholeBuffer, which the cat routines start before Destination) is emptied.
 */
static NTOS_ERRNO_T CRT_NAME(RtlpCrtStrCopyS, RtlpCrtWcsCopyS)(CRT_TCHAR *Destination, SIZE_T Size,
                                                               const CRT_TCHAR *Source, SIZE_T Count,
                                                               CRT_TCHAR *WholeBuffer)
{
    SIZE_T Limit = Count == NTOS_CRT_TRUNCATE ? Size : (Count < Size ? Count : Size);
    SIZE_T Length = 0;

    while (Length < Limit && Source[Length] != 0)
        Length++;
    if (Length < Size) {
        CRT_NAME(RtlpCrtStrStore, RtlpCrtWcsStore)(Destination, Source, Length);
        return 0;
    }
    if (Count == NTOS_CRT_TRUNCATE) {
        CRT_NAME(RtlpCrtStrStore, RtlpCrtWcsStore)(Destination, Source, Size - 1);
        return NTOS_CRT_STRUNCATE;
    }
    WholeBuffer[0] = 0;
    RtlpCrtInvalidParameter();
    return NTOS_CRT_ERANGE;
}

NTOS_ERRNO_T NTAPI CRT_NAME(RtlCrt_strcpy_s, RtlCrt_wcscpy_s)(CRT_TCHAR *Destination, SIZE_T DestinationSize,
                                                             const CRT_TCHAR *Source)
{
    if (Destination == NULL || DestinationSize == 0) {
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    if (Source == NULL) {
        Destination[0] = 0;
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    /* strcpy_s never truncates: a count of "everything" that is not _TRUNCATE. */
    return CRT_NAME(RtlpCrtStrCopyS, RtlpCrtWcsCopyS)(Destination, DestinationSize, Source,
                                                      NTOS_CRT_TRUNCATE - 1, Destination);
}

/*
 * strncpy_s: all of Destination NULL, size 0 and Count 0 is a successful no-op;
 * Count 0 otherwise just empties the destination (Source may then be NULL);
 * Count == _TRUNCATE copies what fits and returns STRUNCATE if that was not all.
 */
NTOS_ERRNO_T NTAPI CRT_NAME(RtlCrt_strncpy_s, RtlCrt_wcsncpy_s)(CRT_TCHAR *Destination, SIZE_T DestinationSize,
                                                               const CRT_TCHAR *Source, SIZE_T Count)
{
    if (Count == 0 && Destination == NULL && DestinationSize == 0)
        return 0;
    if (Destination == NULL || DestinationSize == 0) {
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    if (Count == 0) {
        Destination[0] = 0;
        return 0;
    }
    if (Source == NULL) {
        Destination[0] = 0;
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    return CRT_NAME(RtlpCrtStrCopyS, RtlpCrtWcsCopyS)(Destination, DestinationSize, Source, Count,
                                                      Destination);
}

/*
 * strncat_s/strcat_s: the existing string must be terminated inside the buffer
 * (otherwise EINVAL); the appended part follows the strncpy_s rules within the
 * space that is left. On ERANGE the whole destination becomes empty; with
 * _TRUNCATE the existing string is kept and the tail is cut.
 */
static NTOS_ERRNO_T CRT_NAME(RtlpCrtStrCatS, RtlpCrtWcsCatS)(CRT_TCHAR *Destination, SIZE_T DestinationSize,
                                                             const CRT_TCHAR *Source, SIZE_T Count)
{
    SIZE_T Used;

    if (Count == 0 && Destination == NULL && DestinationSize == 0)
        return 0;
    if (Destination == NULL || DestinationSize == 0) {
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    if (Source == NULL && Count != 0) {
        Destination[0] = 0;
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    Used = CRT_NAME(RtlCrt_strnlen, RtlCrt_wcsnlen)(Destination, DestinationSize);
    if (Used == DestinationSize) {
        Destination[0] = 0;
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    if (Count == 0)
        return 0;
    return CRT_NAME(RtlpCrtStrCopyS, RtlpCrtWcsCopyS)(Destination + Used, DestinationSize - Used, Source,
                                                      Count, Destination);
}

NTOS_ERRNO_T NTAPI CRT_NAME(RtlCrt_strcat_s, RtlCrt_wcscat_s)(CRT_TCHAR *Destination, SIZE_T DestinationSize,
                                                             const CRT_TCHAR *Source)
{
    if (Source == NULL && Destination != NULL && DestinationSize != 0) {
        Destination[0] = 0;
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    return CRT_NAME(RtlpCrtStrCatS, RtlpCrtWcsCatS)(Destination, DestinationSize, Source,
                                                    NTOS_CRT_TRUNCATE - 1);
}

NTOS_ERRNO_T NTAPI CRT_NAME(RtlCrt_strncat_s, RtlCrt_wcsncat_s)(CRT_TCHAR *Destination, SIZE_T DestinationSize,
                                                               const CRT_TCHAR *Source, SIZE_T Count)
{
    return CRT_NAME(RtlpCrtStrCatS, RtlpCrtWcsCatS)(Destination, DestinationSize, Source, Count);
}
