/*
 * The safe string functions of the WDK's ntstrsafe.h (RtlStringCch*, RtlStringCb*,
 * RtlUnicodeString*), with the names, flags and NTSTATUS results the WDK
 * documents. In Windows these are not ntoskrnl exports: they are inline
 * functions (and ntstrsafe.lib) compiled into each driver, so a PE driver never
 * imports them; ntos provides them for its own code and for tests, under their
 * real names (nothing on the host C library is called RtlString*).
 *
 * Results (documented):
 *   STATUS_SUCCESS           the whole result fit and is NUL-terminated;
 *   STATUS_BUFFER_OVERFLOW   it did not fit: the destination holds the truncated,
 *                            NUL-terminated result (a warning, so NT_SUCCESS is FALSE);
 *   STATUS_INVALID_PARAMETER cchDest 0 or above NTSTRSAFE_MAX_CCH (cbDest
 *                            likewise in characters), a NULL pointer (unless
 *                            STRSAFE_IGNORE_NULLS), a destination for Cat that is
 *                            not terminated within its size, a count above
 *                            NTSTRSAFE_MAX_LENGTH, unknown flags, or a zero-size
 *                            destination with something to write.
 * ntos decisions where the WDK is silent: a NULL source or format in a non-Ex
 * function is STATUS_INVALID_PARAMETER (the WDK's inline code would fault), and
 * whenever the destination itself is valid but another parameter is not, the
 * destination is set to the empty string, so it never holds stale text.
 *
 * The Ex forms take dwFlags = a fill byte in the low 8 bits plus:
 *   STRSAFE_IGNORE_NULLS      NULL sources/formats are "", and pszDest may be
 *                             NULL when cchDest is 0;
 *   STRSAFE_FILL_BEHIND_NULL  on success the rest of the buffer after the NUL is
 *                             filled with the fill byte;
 *   STRSAFE_FILL_ON_FAILURE   on failure the whole buffer is filled with the fill
 *                             byte (and terminated in its last character when
 *                             the fill byte is not 0);
 *   STRSAFE_NULL_ON_FAILURE   on failure the destination is the empty string;
 *   STRSAFE_NO_TRUNCATION     on failure nothing of the new text is left: Copy and
 *                             Printf leave "", Cat the original string.
 * ppszDestEnd (the terminating NUL) and pcchRemaining/pcbRemaining (characters
 * or bytes from there to the end of the buffer, NUL included) are set on success
 * and on STATUS_BUFFER_OVERFLOW, after the flags above took effect. For the W Cb
 * forms pcbRemaining also counts an odd trailing byte of cbDest, as the WDK does.
 *
 * Printf uses the kernel formatter (rtlp_format.h: %Z, %wZ, %ws, %I64d ...; %n
 * writes nothing). All functions are NTAPI; none allocates or blocks.
 */
#ifndef NTOS_NTSTRSAFE_H
#define NTOS_NTSTRSAFE_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>

#define NTSTRSAFE_MAX_CCH 2147483647
#define NTSTRSAFE_MAX_LENGTH (NTSTRSAFE_MAX_CCH - 1)
#define NTSTRSAFE_UNICODE_STRING_MAX_CCH 32767

#define STRSAFE_IGNORE_NULLS 0x00000100
#define STRSAFE_FILL_BEHIND_NULL 0x00000200
#define STRSAFE_FILL_ON_FAILURE 0x00000400
#define STRSAFE_NULL_ON_FAILURE 0x00000800
#define STRSAFE_NO_TRUNCATION 0x00001000
#define STRSAFE_IGNORE_NULL_UNICODE_STRINGS 0x00010000
#define STRSAFE_UNICODE_STRING_DEST_NULL_TERMINATED 0x00020000
#define STRSAFE_ZERO_LENGTH_ON_FAILURE STRSAFE_NULL_ON_FAILURE
#define STRSAFE_VALID_FLAGS                                                                      \
    (0x000000FF | STRSAFE_IGNORE_NULLS | STRSAFE_FILL_BEHIND_NULL | STRSAFE_FILL_ON_FAILURE |     \
     STRSAFE_NULL_ON_FAILURE | STRSAFE_NO_TRUNCATION)
#define STRSAFE_UNICODE_STRING_VALID_FLAGS                                                       \
    (STRSAFE_VALID_FLAGS | STRSAFE_IGNORE_NULL_UNICODE_STRINGS | STRSAFE_UNICODE_STRING_DEST_NULL_TERMINATED)
#define STRSAFE_FILL_BYTE(x) ((ULONG)(((x) & 0x000000FF) | STRSAFE_FILL_BEHIND_NULL))
#define STRSAFE_FAILURE_BYTE(x) ((ULONG)(((x) & 0x000000FF) | STRSAFE_FILL_ON_FAILURE))
#define STRSAFE_GET_FILL_PATTERN(dwFlags) ((int)((dwFlags) & 0x000000FF))

/* ---- character- and byte-counted strings (strsafe.c) ---- */
NTSTATUS NTAPI RtlStringCchCopyA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc);
NTSTATUS NTAPI RtlStringCchCopyExA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, PSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchCopyNA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, SIZE_T cchToCopy);
NTSTATUS NTAPI RtlStringCchCopyNExA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, SIZE_T cchToCopy, PSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchCatA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc);
NTSTATUS NTAPI RtlStringCchCatExA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, PSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchCatNA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, SIZE_T cchToAppend);
NTSTATUS NTAPI RtlStringCchCatNExA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, SIZE_T cchToAppend, PSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchPrintfA(PSTR pszDest, SIZE_T cchDest, PCSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCchPrintfExA(PSTR pszDest, SIZE_T cchDest, PSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags, PCSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCchVPrintfA(PSTR pszDest, SIZE_T cchDest, PCSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCchVPrintfExA(PSTR pszDest, SIZE_T cchDest, PSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags, PCSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCchLengthA(PCSTR psz, SIZE_T cchMax, SIZE_T *pcchLength);
NTSTATUS NTAPI RtlStringCbCopyA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc);
NTSTATUS NTAPI RtlStringCbCopyExA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, PSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbCopyNA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, SIZE_T cbToCopy);
NTSTATUS NTAPI RtlStringCbCopyNExA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, SIZE_T cbToCopy, PSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbCatA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc);
NTSTATUS NTAPI RtlStringCbCatExA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, PSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbCatNA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, SIZE_T cbToAppend);
NTSTATUS NTAPI RtlStringCbCatNExA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, SIZE_T cbToAppend, PSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbPrintfA(PSTR pszDest, SIZE_T cbDest, PCSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCbPrintfExA(PSTR pszDest, SIZE_T cbDest, PSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags, PCSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCbVPrintfA(PSTR pszDest, SIZE_T cbDest, PCSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCbVPrintfExA(PSTR pszDest, SIZE_T cbDest, PSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags, PCSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCbLengthA(PCSTR psz, SIZE_T cbMax, SIZE_T *pcbLength);

NTSTATUS NTAPI RtlStringCchCopyW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc);
NTSTATUS NTAPI RtlStringCchCopyExW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, PWSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchCopyNW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, SIZE_T cchToCopy);
NTSTATUS NTAPI RtlStringCchCopyNExW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, SIZE_T cchToCopy, PWSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchCatW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc);
NTSTATUS NTAPI RtlStringCchCatExW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, PWSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchCatNW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, SIZE_T cchToAppend);
NTSTATUS NTAPI RtlStringCchCatNExW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, SIZE_T cchToAppend, PWSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCchPrintfW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCchPrintfExW(PWSTR pszDest, SIZE_T cchDest, PWSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags, PCWSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCchVPrintfW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCchVPrintfExW(PWSTR pszDest, SIZE_T cchDest, PWSTR *ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags, PCWSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCchLengthW(PCWSTR psz, SIZE_T cchMax, SIZE_T *pcchLength);
NTSTATUS NTAPI RtlStringCbCopyW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc);
NTSTATUS NTAPI RtlStringCbCopyExW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, PWSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbCopyNW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, SIZE_T cbToCopy);
NTSTATUS NTAPI RtlStringCbCopyNExW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, SIZE_T cbToCopy, PWSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbCatW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc);
NTSTATUS NTAPI RtlStringCbCatExW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, PWSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbCatNW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, SIZE_T cbToAppend);
NTSTATUS NTAPI RtlStringCbCatNExW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, SIZE_T cbToAppend, PWSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags);
NTSTATUS NTAPI RtlStringCbPrintfW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCbPrintfExW(PWSTR pszDest, SIZE_T cbDest, PWSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags, PCWSTR pszFormat, ...);
NTSTATUS NTAPI RtlStringCbVPrintfW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCbVPrintfExW(PWSTR pszDest, SIZE_T cbDest, PWSTR *ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags, PCWSTR pszFormat, NT_VA_LIST argList);
NTSTATUS NTAPI RtlStringCbLengthW(PCWSTR psz, SIZE_T cbMax, SIZE_T *pcbLength);

/* ---- UNICODE_STRING (strsafe.c) ----
 * A UNICODE_STRING is valid when Length and MaximumLength are even, Length <=
 * MaximumLength <= NTSTRSAFE_UNICODE_STRING_MAX_CCH * 2, and a NULL Buffer comes
 * with both lengths 0. Results are counted, not terminated: truncated output
 * fills MaximumLength and returns STATUS_BUFFER_OVERFLOW. */
NTSTATUS NTAPI RtlUnicodeStringInit(PUNICODE_STRING DestinationString, PCWSTR pszSrc);
NTSTATUS NTAPI RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString, PCWSTR pszSrc, ULONG dwFlags);
NTSTATUS NTAPI RtlUnicodeStringValidate(PCUNICODE_STRING SourceString);
NTSTATUS NTAPI RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString);
NTSTATUS NTAPI RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, PCWSTR pszSrc);
NTSTATUS NTAPI RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString);
NTSTATUS NTAPI RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, PCWSTR pszSrc);
NTSTATUS NTAPI RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, PCWSTR pszFormat, ...);
NTSTATUS NTAPI RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, PCWSTR pszFormat, NT_VA_LIST argList);

#endif /* NTOS_NTSTRSAFE_H */
