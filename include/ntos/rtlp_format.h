/*
 * The kernel's printf-style formatter (internal to ntos).
 *
 * One engine serves DbgPrint, the CRT string exports (_vsnprintf, _snprintf,
 * sprintf, _vsnwprintf, ...) and any kernel code that needs formatted text. It
 * implements the MSVC/NT dialect drivers are written against:
 *
 *   flags       - + space # 0
 *   width/prec  digits or '*' (a negative '*' width means '-', a negative '*'
 *               precision means "no precision")
 *   sizes       hh h l ll L I I32 I64 z j t w  (Windows is LLP64: 'l' is 32-bit,
 *               'I', 'z', 'j', 't' are pointer-sized, i.e. 64-bit on x64)
 *   types       d i u o x X c C s S Z p n e E f F g G a A %
 *
 * NT specifics: %Z takes a PANSI_STRING, %wZ (or %lZ) a PUNICODE_STRING, both
 * printed by their counted Length and never read past it; %ws/%ls/%S take a
 * 16-bit WCHAR string and %C/%wc/%lc a WCHAR; %hs/%hc always mean narrow; a NULL
 * string or counted string with a NULL Buffer prints "(null)"; %p prints the
 * pointer as 16 upper-case hex digits ("0X" prefix only with '#'); %n consumes
 * its argument and writes nothing (the Windows kernel disables %n). A conversion
 * the engine does not know is copied to the output literally, arguments untouched.
 *
 * Character conversions: a WCHAR above 0x7F written to narrow output becomes '?',
 * and a byte above 0x7F written to wide output becomes L'?'. No code-page table
 * is consulted, so every conversion works at any IRQL.
 *
 * Floating point (%e %f %g %a) reads the 64-bit argument slot as the IEEE bit
 * pattern and converts it exactly with integer arithmetic, so kernel code never
 * touches an FP/SSE register. Exponents have at least two digits (C99/UCRT
 * style); infinities and NaNs print as inf/nan (INF/NAN for upper-case types);
 * %a defaults to 13 hex fraction digits as MSVC does.
 *
 * Every argument is read as a whole 8-byte slot of the Microsoft va_list and then
 * truncated to the width the conversion asks for, so a 32-bit argument whose
 * slot has garbage in its upper half prints correctly.
 */
#ifndef NTOS_RTLP_FORMAT_H
#define NTOS_RTLP_FORMAT_H

#include <ntos/ntdef.h>

/*
 * Formats into Buffer, storing at most BufferSize-1 characters followed by a NUL
 * when BufferSize > 0 (nothing is stored when it is 0 or Buffer is NULL).
 * Returns the length the complete output has, excluding the NUL, whether or not
 * it fit. *Truncated (optional) is set to TRUE when the complete output plus its
 * NUL did not fit, i.e. when the return value >= BufferSize. A NULL Format
 * formats as the empty string.
 */
SIZE_T RtlpFormatV(PCHAR Buffer, SIZE_T BufferSize, PCSTR Format, NT_VA_LIST Args, BOOLEAN *Truncated);

/*
 * Wide variant (the _vsnwprintf dialect): the format is a WCHAR string and
 * BufferCount counts WCHARs. In a wide format %s/%c take WCHAR strings and
 * characters, %S/%C take narrow ones; h always means narrow and l/w always wide.
 * %Z and %wZ keep their meaning (ANSI_STRING / UNICODE_STRING).
 */
SIZE_T RtlpFormatWideV(PWCHAR Buffer, SIZE_T BufferCount, PCWSTR Format, NT_VA_LIST Args,
                       BOOLEAN *Truncated);

/*
 * Windows _vsnprintf semantics, for the CRT exports:
 *   - output shorter than Count: stored with a NUL, returns its length;
 *   - output exactly Count characters: stored WITHOUT a NUL, returns Count;
 *   - output longer: the first Count characters are stored WITHOUT a NUL and -1
 *     is returned;
 *   - Buffer NULL and Count 0: nothing is stored, returns the length the output
 *     would have (the UCRT sizing idiom);
 *   - Buffer NULL with Count > 0, or Format NULL: returns -1.
 */
int NTAPI RtlpVsnprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, NT_VA_LIST Args);
int NTAPI RtlpSnprintf(PCHAR Buffer, SIZE_T Count, PCSTR Format, ...);

/* The same semantics for WCHAR buffers and formats (_vsnwprintf, _snwprintf). */
int NTAPI RtlpVsnwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, NT_VA_LIST Args);
int NTAPI RtlpSnwprintf(PWCHAR Buffer, SIZE_T Count, PCWSTR Format, ...);

#endif /* NTOS_RTLP_FORMAT_H */
