/*
 * CRT memory routines (memcpy, memmove, memset, memcmp, memchr, memcpy_s,
 * memmove_s) and the CRT invalid parameter handler; see ntos/crt.h for the
 * naming convention and the invalid parameter policy.
 *
 * The copies share the word-at-a-time engine of RtlCopyMemory/RtlMoveMemory
 * (memory.c). memcpy is given move semantics: C leaves an overlapping memcpy
 * undefined, and a kernel should not corrupt data because a driver got it wrong.
 */
#include <ntos/crt.h>
#include <ntos/ke.h>
#include <ntos/rtl.h>

/*
 * The kernel CRT's invalid parameter handler is __fastfail(FAST_FAIL_INVALID_ARG),
 * which Windows reports as KERNEL_SECURITY_CHECK_FAILURE with the fail-fast code
 * in Parameter1. There is no trap frame or exception record to point at.
 */
DECLSPEC_NORETURN VOID NTAPI RtlpCrtInvalidParameter(VOID)
{
    KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, FAST_FAIL_INVALID_ARG, 0, 0, 0);
}

PVOID NTAPI RtlCrt_memcpy(PVOID Destination, const VOID *Source, SIZE_T Count)
{
    RtlMoveMemory(Destination, Source, Count);
    return Destination;
}

PVOID NTAPI RtlCrt_memmove(PVOID Destination, const VOID *Source, SIZE_T Count)
{
    RtlMoveMemory(Destination, Source, Count);
    return Destination;
}

/* C converts Value to unsigned char: only its low byte is stored. */
PVOID NTAPI RtlCrt_memset(PVOID Destination, INT Value, SIZE_T Count)
{
    RtlFillMemory(Destination, Count, (UCHAR)Value);
    return Destination;
}

/* The bytes compare as unsigned char; the result's sign is the contract. */
INT NTAPI RtlCrt_memcmp(const VOID *Buffer1, const VOID *Buffer2, SIZE_T Count)
{
    SIZE_T Same = RtlCompareMemory(Buffer1, Buffer2, Count);

    if (Same == Count)
        return 0;
    return ((const UCHAR *)Buffer1)[Same] < ((const UCHAR *)Buffer2)[Same] ? -1 : 1;
}

PVOID NTAPI RtlCrt_memchr(const VOID *Buffer, INT Value, SIZE_T Count)
{
    const UCHAR *p = Buffer;

    for (SIZE_T i = 0; i < Count; i++) {
        if (p[i] == (UCHAR)Value)
            return (PVOID)(p + i);
    }
    return NULL;
}

/*
 * memcpy_s/memmove_s: Count 0 is always a success (nothing is touched, even with
 * NULL pointers); a NULL destination is EINVAL, a NULL source EINVAL, a Count
 * larger than the destination ERANGE, each through the invalid parameter
 * handler. memcpy_s documents that it zeroes the whole destination on the last
 * two errors (no stale partial data survives); memmove_s leaves it unmodified.
 */
static NTOS_ERRNO_T RtlpCrtCheckedMove(PVOID Destination, SIZE_T DestinationSize, const VOID *Source,
                                       SIZE_T Count, BOOLEAN ZeroOnError)
{
    if (Count == 0)
        return 0;
    if (Destination == NULL) {
        RtlpCrtInvalidParameter();
        return NTOS_CRT_EINVAL;
    }
    if (Source == NULL || DestinationSize < Count) {
        if (ZeroOnError)
            RtlZeroMemory(Destination, DestinationSize);
        RtlpCrtInvalidParameter();
        return Source == NULL ? NTOS_CRT_EINVAL : NTOS_CRT_ERANGE;
    }
    RtlMoveMemory(Destination, Source, Count);
    return 0;
}

NTOS_ERRNO_T NTAPI RtlCrt_memcpy_s(PVOID Destination, SIZE_T DestinationSize, const VOID *Source,
                                  SIZE_T Count)
{
    return RtlpCrtCheckedMove(Destination, DestinationSize, Source, Count, TRUE);
}

NTOS_ERRNO_T NTAPI RtlCrt_memmove_s(PVOID Destination, SIZE_T DestinationSize, const VOID *Source,
                                   SIZE_T Count)
{
    return RtlpCrtCheckedMove(Destination, DestinationSize, Source, Count, FALSE);
}
