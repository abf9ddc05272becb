/*
 * CRT formatted output: sprintf, vsprintf, _snprintf, _vsnprintf, swprintf,
 * _snwprintf, _vsnwprintf and the secure forms sprintf_s, vsprintf_s,
 * _snprintf_s, _vsnprintf_s, swprintf_s, vswprintf_s, _snwprintf_s,
 * _vsnwprintf_s. All of them are the kernel formatter (rtlp_format.h: the
 * MSVC/NT dialect with %Z, %wZ, %ws, %S, %I64d ..., %n disabled, floating point
 * without touching FP registers) behind the buffer contract of each name:
 *
 *   sprintf, swprintf   unbounded; swprintf is ntoskrnl's legacy two-argument
 *                       form swprintf(buffer, format, ...), with no count.
 *   _snprintf & co      Windows, not C99: output of exactly Count characters is
 *                       stored WITHOUT a terminator and returns Count; longer
 *                       output stores the first Count characters, no terminator,
 *                       and returns -1; (NULL, 0) returns the length needed.
 *   *printf_s           always terminated on success; output that does not fit
 *                       empties the buffer and goes to the invalid parameter
 *                       handler (ERANGE), except in _snprintf_s/_vsnprintf_s when
 *                       Count is _TRUNCATE (as much as fits, terminated, -1) or
 *                       smaller than the buffer (at most Count characters,
 *                       terminated, -1 if cut).
 *
 * In a wide routine %s and %c are wide and %S and %C narrow; h/l/w override.
 * A NULL format, or a NULL buffer with a non-zero size, goes to the invalid
 * parameter handler in every routine (the UCRT validates both).
 */
#include <ntos/crt.h>
#include <ntos/rtlp_format.h>

#define CRT_INT_MAX 0x7fffffff

static VOID RtlpCrtCheckFormat(const VOID *Buffer, SIZE_T Count, const VOID *Format)
{
    if (Format == NULL || (Buffer == NULL && Count != 0))
        RtlpCrtInvalidParameter();
}

/* ---- legacy forms ------------------------------------------------------------------ */

INT NTAPI RtlCrt__vsnprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, NT_VA_LIST Args)
{
    RtlpCrtCheckFormat(Buffer, Count, Format);
    return RtlpVsnprintf(Buffer, Count, Format, Args);
}

INT NTAPI RtlCrt__snprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlCrt__vsnprintf(Buffer, Count, Format, Args);
    NT_VA_END(Args);
    return Result;
}

/* Unbounded: the caller vouches for the buffer, as C's sprintf does. */
INT NTAPI RtlCrt_vsprintf(PCHAR Buffer, PCSTR Format, NT_VA_LIST Args)
{
    RtlpCrtCheckFormat(Buffer, 1, Format);
    return RtlpVsnprintf(Buffer, (SIZE_T)-1, Format, Args);
}

INT NTAPI RtlCrt_sprintf(PCHAR Buffer, PCSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlCrt_vsprintf(Buffer, Format, Args);
    NT_VA_END(Args);
    return Result;
}

INT NTAPI RtlCrt__vsnwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, NT_VA_LIST Args)
{
    RtlpCrtCheckFormat(Buffer, Count, Format);
    return RtlpVsnwprintf(Buffer, Count, Format, Args);
}

INT NTAPI RtlCrt__snwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlCrt__vsnwprintf(Buffer, Count, Format, Args);
    NT_VA_END(Args);
    return Result;
}


INT NTAPI RtlCrt__vswprintf(PWCHAR Buffer, PCWSTR Format, NT_VA_LIST Args)
{
    RtlpCrtCheckFormat(Buffer, 1, Format);
    return RtlpVsnwprintf(Buffer, (SIZE_T)-1, Format, Args);
}

INT NTAPI RtlCrt_swprintf(PWCHAR Buffer, PCWSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlCrt__vswprintf(Buffer, Format, Args);
    NT_VA_END(Args);
    return Result;
}

INT NTAPI RtlCrt__swprintf(PWCHAR Buffer, PCWSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlCrt__vswprintf(Buffer, Format, Args);
    NT_VA_END(Args);
    return Result;
}

/* ---- secure forms -------------------------------------------------------------------- */

static SIZE_T RtlpCrtFormatTerminated(PVOID Buffer, SIZE_T Size, const VOID *Format, BOOLEAN Wide,
                                      NT_VA_LIST Args)
{
    return Wide ? RtlpFormatWideV(Buffer, Size, Format, Args, NULL) : RtlpFormatV(Buffer, Size, Format, Args, NULL);
}

static VOID RtlpCrtEmpty(PVOID Buffer, BOOLEAN Wide)
{
    if (Wide)
        *(PWCHAR)Buffer = 0;
    else
        *(PCHAR)Buffer = 0;
}

/* vsprintf_s/vswprintf_s: the output and its terminator must fit. */
static INT RtlpCrtVsprintfS(PVOID Buffer, SIZE_T Size, const VOID *Format, BOOLEAN Wide, NT_VA_LIST Args)
{
    SIZE_T Length;

    if (Format == NULL || Buffer == NULL || Size == 0) {
        RtlpCrtInvalidParameter();
        return -1;
    }
    Length = RtlpCrtFormatTerminated(Buffer, Size, Format, Wide, Args);
    if (Length >= Size) {
        RtlpCrtEmpty(Buffer, Wide);
        RtlpCrtInvalidParameter();
        return -1;
    }
    return Length > CRT_INT_MAX ? -1 : (INT)Length;
}

static INT RtlpCrtVsnprintfS(PVOID Buffer, SIZE_T Size, SIZE_T Count, const VOID *Format, BOOLEAN Wide,
                             NT_VA_LIST Args)
{
    SIZE_T Length;

    /* Nothing to write and nowhere to write it: documented as a no-op. */
    if (Count == 0 && Buffer == NULL && Size == 0)
        return 0;
    if (Format == NULL || Buffer == NULL || Size == 0) {
        RtlpCrtInvalidParameter();
        return -1;
    }
    if (Count < Size) {
        /* Count (never _TRUNCATE here) fits with its terminator: cutting the
         * output at Count characters is the caller's request, not an error. */
        Length = RtlpCrtFormatTerminated(Buffer, Count + 1, Format, Wide, Args);
        return (Length > Count || Length > CRT_INT_MAX) ? -1 : (INT)Length;
    }
    Length = RtlpCrtFormatTerminated(Buffer, Size, Format, Wide, Args);
    if (Length < Size)
        return Length > CRT_INT_MAX ? -1 : (INT)Length;
    if (Count == NTOS_CRT_TRUNCATE)
        return -1; /* Size - 1 characters and the terminator are stored */
    RtlpCrtEmpty(Buffer, Wide);
    RtlpCrtInvalidParameter();
    return -1;
}

INT NTAPI RtlCrt_vsprintf_s(PCHAR Buffer, SIZE_T BufferSize, PCSTR Format, NT_VA_LIST Args)
{
    return RtlpCrtVsprintfS(Buffer, BufferSize, Format, FALSE, Args);
}

INT NTAPI RtlCrt_sprintf_s(PCHAR Buffer, SIZE_T BufferSize, PCSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlpCrtVsprintfS(Buffer, BufferSize, Format, FALSE, Args);
    NT_VA_END(Args);
    return Result;
}

INT NTAPI RtlCrt_vswprintf_s(PWCHAR Buffer, SIZE_T BufferSize, PCWSTR Format, NT_VA_LIST Args)
{
    return RtlpCrtVsprintfS(Buffer, BufferSize, Format, TRUE, Args);
}

INT NTAPI RtlCrt_swprintf_s(PWCHAR Buffer, SIZE_T BufferSize, PCWSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlpCrtVsprintfS(Buffer, BufferSize, Format, TRUE, Args);
    NT_VA_END(Args);
    return Result;
}

INT NTAPI RtlCrt__vsnprintf_s(PCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCSTR Format, NT_VA_LIST Args)
{
    return RtlpCrtVsnprintfS(Buffer, BufferSize, Count, Format, FALSE, Args);
}

INT NTAPI RtlCrt__snprintf_s(PCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlpCrtVsnprintfS(Buffer, BufferSize, Count, Format, FALSE, Args);
    NT_VA_END(Args);
    return Result;
}

INT NTAPI RtlCrt__vsnwprintf_s(PWCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCWSTR Format,
                               NT_VA_LIST Args)
{
    return RtlpCrtVsnprintfS(Buffer, BufferSize, Count, Format, TRUE, Args);
}

INT NTAPI RtlCrt__snwprintf_s(PWCHAR Buffer, SIZE_T BufferSize, SIZE_T Count, PCWSTR Format, ...)
{
    NT_VA_LIST Args;
    INT Result;

    NT_VA_START(Args, Format);
    Result = RtlpCrtVsnprintfS(Buffer, BufferSize, Count, Format, TRUE, Args);
    NT_VA_END(Args);
    return Result;
}
