/*
 * \Device\Loopback and \Device\LoopbackFilter: built-in test drivers
 * (src/io/loopback.c) that exercise the I/O manager's hard paths. Shared by
 * the tests, the fuzzer and the benchmarks.
 *
 * \Device\Loopback (buffered I/O)
 *  - WRITE appends to a bounded byte buffer (LOOPBACK_BUFFER_SIZE);
 *    Information = bytes accepted (fewer than asked when the buffer is full).
 *  - READ takes bytes from the buffer; a read that finds it empty pends in a
 *    cancel-safe queue until a write supplies data. Pending reads are served
 *    FIFO, each with min(its length, bytes available). A zero-length read
 *    completes at once with nothing.
 *  - CLEANUP cancels (STATUS_CANCELLED) every request of that file object
 *    still queued.
 *  - IOCTLs below; unknown codes are STATUS_INVALID_DEVICE_REQUEST.
 *
 * \Device\LoopbackFilter is attached above \Device\Loopback; it passes every
 * request down with a completion routine and counts both directions.
 */
#ifndef NTOS_LOOPBACK_H
#define NTOS_LOOPBACK_H

#include <ntos/io.h>

#define LOOPBACK_BUFFER_SIZE 4096
/* Longest accepted delay for IOCTL_LOOPBACK_DELAY. */
#define LOOPBACK_MAX_DELAY_MS 60000

/* Output = input with ASCII letters uppercased; Information = InputLength;
 * STATUS_BUFFER_TOO_SMALL when OutputLength < InputLength. */
#define IOCTL_LOOPBACK_UPPER_BUFFERED CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input: at least one byte, the value to look for; the second (direct) buffer is
 * read. Information = how many of its bytes equal InputBuffer[0]
 * (STATUS_INVALID_PARAMETER without input). Needs write access. */
#define IOCTL_LOOPBACK_COUNT_IN_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_IN_DIRECT, FILE_WRITE_ACCESS)
/* Output (direct buffer) = input byte-reversed; Information = InputLength;
 * STATUS_BUFFER_TOO_SMALL when OutputLength < InputLength. Needs read access. */
#define IOCTL_LOOPBACK_REVERSE_OUT_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_READ_ACCESS)
/* As UPPER, through the caller's own buffers (kernel-mode callers only:
 * STATUS_INVALID_DEVICE_REQUEST for user mode, the driver does not probe). */
#define IOCTL_LOOPBACK_UPPER_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Input: ULONG milliseconds (<= LOOPBACK_MAX_DELAY_MS). The request pends and
 * is completed with STATUS_SUCCESS, Information 0, from a timer DPC. */
#define IOCTL_LOOPBACK_DELAY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x804, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Output: LOOPBACK_STATE. */
#define IOCTL_LOOPBACK_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x805, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Answered by the filter itself. Output: LOOPBACK_FILTER_STATS. */
#define IOCTL_LOOPBACK_FILTER_STATS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _LOOPBACK_STATE {
    ULONG BufferedBytes;
    ULONG PendingReads;
    ULONG PendingDelays;
} LOOPBACK_STATE, *PLOOPBACK_STATE;

typedef struct _LOOPBACK_FILTER_STATS {
    LONG64 Passed;    /* requests sent down */
    LONG64 Completed; /* of those, seen back by the completion routine */
    LONG64 PassedByMajor[IRP_MJ_MAXIMUM_FUNCTION + 1];
} LOOPBACK_FILTER_STATS, *PLOOPBACK_FILTER_STATS;

#endif /* NTOS_LOOPBACK_H */
