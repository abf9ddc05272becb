/*
 * The ntstrsafe functions written once for both character widths; strsafe.c
 * includes this with SS_T = CHAR (the A functions) and SS_T = WCHAR (the W
 * functions). SS_NAME(x) appends A or W; SS_FORMAT is the formatter of the width.
 * The documented contract is in ntos/ntstrsafe.h.
 *
 * Every public function is a thin conversion (Cb -> Cch units, optional
 * arguments) around one state machine:
 *   Begin   validates flags and destination, finds the end of the existing
 *           string (Cat) and sets up End/Remaining;
 *   body    copies or formats into [End, End + Remaining), never past it;
 *   Finish  applies the fill/failure flags and the optional out parameters.
 */

typedef struct SS_NAME(_SS_STATE) {
    SS_T *Dest;
    SIZE_T CchDest;
    ULONG Flags;
    SIZE_T OriginalLength; /* the string Cat appends to; 0 for Copy and Printf */
    SS_T *End;             /* the terminating NUL of the result */
    SIZE_T Remaining;      /* characters from End to the end of the buffer */
    BOOLEAN DestValid;     /* Dest/CchDest passed validation and may be written */
} SS_NAME(SS_STATE);

static const SS_T SS_NAME(RtlpStrsafeEmpty)[1] = {0};

static NTSTATUS SS_NAME(RtlpStrsafeBegin)(SS_NAME(SS_STATE) *s, SS_T *Dest, SIZE_T CchDest, ULONG Flags,
                                          BOOLEAN Append)
{
    s->Dest = Dest;
    s->CchDest = CchDest;
    s->Flags = Flags;
    s->OriginalLength = 0;
    s->End = Dest;
    s->Remaining = CchDest;
    s->DestValid = FALSE;

    if (CchDest > NTSTRSAFE_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    if (Flags & STRSAFE_IGNORE_NULLS) {
        if (Dest == NULL && CchDest != 0)
            return STATUS_INVALID_PARAMETER;
    } else if (Dest == NULL || CchDest == 0) {
        return STATUS_INVALID_PARAMETER;
    }
    if (Flags & ~(ULONG)STRSAFE_VALID_FLAGS) {
        if (CchDest != 0)
            Dest[0] = 0;
        return STATUS_INVALID_PARAMETER;
    }
    if (Append && CchDest != 0) {
        SIZE_T Length = 0;
        while (Length < CchDest && Dest[Length] != 0)
            Length++;
        /* Not terminated within its buffer: not a string Cat may extend. */
        if (Length == CchDest)
            return STATUS_INVALID_PARAMETER;
        s->OriginalLength = Length;
        s->End = Dest + Length;
        s->Remaining = CchDest - Length;
    }
    s->DestValid = (CchDest != 0);
    return STATUS_SUCCESS;
}

/* A NULL source is "" with STRSAFE_IGNORE_NULLS and an invalid parameter otherwise. */
static NTSTATUS SS_NAME(RtlpStrsafeSource)(const SS_NAME(SS_STATE) *s, const SS_T **Source)
{
    if (*Source != NULL)
        return STATUS_SUCCESS;
    if (s->Flags & STRSAFE_IGNORE_NULLS) {
        *Source = SS_NAME(RtlpStrsafeEmpty);
        return STATUS_SUCCESS;
    }
    return STATUS_INVALID_PARAMETER;
}

/* Nothing fits in a zero-size destination (only reachable with IGNORE_NULLS). */
static NTSTATUS SS_NAME(RtlpStrsafeNoRoom)(const SS_NAME(SS_STATE) *s, BOOLEAN HaveText)
{
    if (!HaveText)
        return STATUS_SUCCESS;
    return s->Dest == NULL ? STATUS_INVALID_PARAMETER : STATUS_BUFFER_OVERFLOW;
}

/* Copies at most MaxCount characters of Source (which need not be terminated
 * within MaxCount) to End, truncating to the room left. */
static NTSTATUS SS_NAME(RtlpStrsafeCopyBody)(SS_NAME(SS_STATE) *s, const SS_T *Source, SIZE_T MaxCount)
{
    SIZE_T i = 0;

    if (s->Remaining == 0)
        return SS_NAME(RtlpStrsafeNoRoom)(s, MaxCount != 0 && Source[0] != 0);
    while (i < MaxCount && Source[i] != 0 && i < s->Remaining - 1) {
        s->End[i] = Source[i];
        i++;
    }
    s->End[i] = 0;
    s->End += i;
    s->Remaining -= i;
    return (i < MaxCount && Source[i] != 0) ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS SS_NAME(RtlpStrsafePrintfBody)(SS_NAME(SS_STATE) *s, const SS_T *Format, NT_VA_LIST Args)
{
    BOOLEAN Truncated;
    SIZE_T Length;

    if (s->Remaining == 0)
        return SS_NAME(RtlpStrsafeNoRoom)(s, Format[0] != 0);
    Length = SS_FORMAT(s->End, s->Remaining, Format, Args, &Truncated);
    if (Length > s->Remaining - 1)
        Length = s->Remaining - 1;
    s->End += Length;
    s->Remaining -= Length;
    return Truncated ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static VOID SS_NAME(RtlpStrsafeFill)(SS_T *Start, SIZE_T Characters, ULONG Flags)
{
    RtlFillMemory(Start, Characters * sizeof(SS_T), (UCHAR)STRSAFE_GET_FILL_PATTERN(Flags));
}

static NTSTATUS SS_NAME(RtlpStrsafeFinish)(SS_NAME(SS_STATE) *s, NTSTATUS Status, SS_T **DestEnd,
                                           SIZE_T *Remaining)
{
    if (NT_SUCCESS(Status)) {
        if ((s->Flags & STRSAFE_FILL_BEHIND_NULL) && s->Remaining > 1)
            SS_NAME(RtlpStrsafeFill)(s->End + 1, s->Remaining - 1, s->Flags);
    } else if (s->DestValid) {
        if (Status != STATUS_BUFFER_OVERFLOW) {
            /* A bad argument other than the destination: nothing of the new
             * text stays (Copy/Printf: "", Cat: the original string). */
            s->Dest[s->OriginalLength] = 0;
            s->End = s->Dest + s->OriginalLength;
            s->Remaining = s->CchDest - s->OriginalLength;
        }
        if (s->Flags & STRSAFE_NO_TRUNCATION) {
            s->End = s->Dest + s->OriginalLength;
            s->End[0] = 0;
            s->Remaining = s->CchDest - s->OriginalLength;
        }
        if (s->Flags & STRSAFE_FILL_ON_FAILURE) {
            SS_NAME(RtlpStrsafeFill)(s->Dest, s->CchDest, s->Flags);
            if (STRSAFE_GET_FILL_PATTERN(s->Flags) == 0) {
                s->End = s->Dest;
                s->Remaining = s->CchDest;
            } else {
                s->End = s->Dest + s->CchDest - 1;
                s->End[0] = 0;
                s->Remaining = 1;
            }
        }
        if (s->Flags & STRSAFE_NULL_ON_FAILURE) {
            s->End = s->Dest;
            s->Dest[0] = 0;
            s->Remaining = s->CchDest;
        }
    }
    if (NT_SUCCESS(Status) || Status == STATUS_BUFFER_OVERFLOW) {
        if (DestEnd != NULL)
            *DestEnd = s->End;
        if (Remaining != NULL)
            *Remaining = s->Remaining;
    }
    return Status;
}

/* ---- the workers, in characters -------------------------------------------------- */

static NTSTATUS SS_NAME(RtlpStringCopyWorker)(SS_T *Dest, SIZE_T CchDest, const SS_T *Source, SIZE_T MaxCount,
                                              BOOLEAN Append, SS_T **DestEnd, SIZE_T *Remaining, ULONG Flags)
{
    SS_NAME(SS_STATE) s;
    NTSTATUS Status = SS_NAME(RtlpStrsafeBegin)(&s, Dest, CchDest, Flags, Append);

    if (NT_SUCCESS(Status))
        Status = SS_NAME(RtlpStrsafeSource)(&s, &Source);
    if (NT_SUCCESS(Status) && MaxCount > NTSTRSAFE_MAX_LENGTH)
        Status = STATUS_INVALID_PARAMETER;
    if (NT_SUCCESS(Status))
        Status = SS_NAME(RtlpStrsafeCopyBody)(&s, Source, MaxCount);
    return SS_NAME(RtlpStrsafeFinish)(&s, Status, DestEnd, Remaining);
}

static NTSTATUS SS_NAME(RtlpStringPrintfWorker)(SS_T *Dest, SIZE_T CchDest, SS_T **DestEnd, SIZE_T *Remaining,
                                                ULONG Flags, const SS_T *Format, NT_VA_LIST Args)
{
    SS_NAME(SS_STATE) s;
    NTSTATUS Status = SS_NAME(RtlpStrsafeBegin)(&s, Dest, CchDest, Flags, FALSE);

    if (NT_SUCCESS(Status))
        Status = SS_NAME(RtlpStrsafeSource)(&s, &Format);
    if (NT_SUCCESS(Status))
        Status = SS_NAME(RtlpStrsafePrintfBody)(&s, Format, Args);
    return SS_NAME(RtlpStrsafeFinish)(&s, Status, DestEnd, Remaining);
}

/* Byte-counted forms: cbDest is rounded down to whole characters; the odd byte
 * of a W buffer is reported back in *pcbRemaining, as the WDK does. */
static SIZE_T SS_NAME(RtlpCbRemaining)(SIZE_T CchRemaining, SIZE_T CbDest)
{
    return CchRemaining * sizeof(SS_T) + CbDest % sizeof(SS_T);
}

static NTSTATUS SS_NAME(RtlpStringCbCopyWorker)(SS_T *Dest, SIZE_T CbDest, const SS_T *Source, SIZE_T MaxCount,
                                                BOOLEAN Append, SS_T **DestEnd, SIZE_T *CbRemaining,
                                                ULONG Flags)
{
    SIZE_T CchRemaining;
    NTSTATUS Status = SS_NAME(RtlpStringCopyWorker)(Dest, CbDest / sizeof(SS_T), Source, MaxCount, Append,
                                                    DestEnd, &CchRemaining, Flags);

    if ((NT_SUCCESS(Status) || Status == STATUS_BUFFER_OVERFLOW) && CbRemaining != NULL)
        *CbRemaining = SS_NAME(RtlpCbRemaining)(CchRemaining, CbDest);
    return Status;
}

/* ---- Copy, CopyN, Cat, CatN ----------------------------------------------------------- */

NTSTATUS NTAPI SS_NAME(RtlStringCchCopy)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_LENGTH, FALSE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopy)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_LENGTH, FALSE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCopyEx)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc, SS_T **ppszDestEnd,
                                           SIZE_T *pcchRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_LENGTH, FALSE, ppszDestEnd,
                                         pcchRemaining, dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopyEx)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc, SS_T **ppszDestEnd,
                                          SIZE_T *pcbRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_LENGTH, FALSE, ppszDestEnd,
                                           pcbRemaining, dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCopyN)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc, SIZE_T cchToCopy)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, cchToCopy, FALSE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopyN)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc, SIZE_T cbToCopy)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, cbToCopy / sizeof(SS_T), FALSE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCopyNEx)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc, SIZE_T cchToCopy,
                                            SS_T **ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, cchToCopy, FALSE, ppszDestEnd, pcchRemaining,
                                         dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopyNEx)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc, SIZE_T cbToCopy,
                                           SS_T **ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, cbToCopy / sizeof(SS_T), FALSE, ppszDestEnd,
                                           pcbRemaining, dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCat)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_LENGTH, TRUE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCat)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_LENGTH, TRUE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCatEx)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc, SS_T **ppszDestEnd,
                                          SIZE_T *pcchRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_LENGTH, TRUE, ppszDestEnd,
                                         pcchRemaining, dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCatEx)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc, SS_T **ppszDestEnd,
                                         SIZE_T *pcbRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_LENGTH, TRUE, ppszDestEnd,
                                           pcbRemaining, dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCatN)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc, SIZE_T cchToAppend)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, cchToAppend, TRUE, NULL, NULL, 0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCatN)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc, SIZE_T cbToAppend)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, cbToAppend / sizeof(SS_T), TRUE, NULL, NULL,
                                           0);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCatNEx)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszSrc, SIZE_T cchToAppend,
                                           SS_T **ppszDestEnd, SIZE_T *pcchRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCopyWorker)(pszDest, cchDest, pszSrc, cchToAppend, TRUE, ppszDestEnd, pcchRemaining,
                                         dwFlags);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCatNEx)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszSrc, SIZE_T cbToAppend,
                                          SS_T **ppszDestEnd, SIZE_T *pcbRemaining, ULONG dwFlags)
{
    return SS_NAME(RtlpStringCbCopyWorker)(pszDest, cbDest, pszSrc, cbToAppend / sizeof(SS_T), TRUE,
                                           ppszDestEnd, pcbRemaining, dwFlags);
}

/* ---- Printf ------------------------------------------------------------------------------ */

NTSTATUS NTAPI SS_NAME(RtlStringCchVPrintf)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszFormat,
                                            NT_VA_LIST argList)
{
    return SS_NAME(RtlpStringPrintfWorker)(pszDest, cchDest, NULL, NULL, 0, pszFormat, argList);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchPrintf)(SS_T *pszDest, SIZE_T cchDest, const SS_T *pszFormat, ...)
{
    NT_VA_LIST Args;
    NTSTATUS Status;

    NT_VA_START(Args, pszFormat);
    Status = SS_NAME(RtlpStringPrintfWorker)(pszDest, cchDest, NULL, NULL, 0, pszFormat, Args);
    NT_VA_END(Args);
    return Status;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchVPrintfEx)(SS_T *pszDest, SIZE_T cchDest, SS_T **ppszDestEnd,
                                              SIZE_T *pcchRemaining, ULONG dwFlags, const SS_T *pszFormat,
                                              NT_VA_LIST argList)
{
    return SS_NAME(RtlpStringPrintfWorker)(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags, pszFormat,
                                           argList);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchPrintfEx)(SS_T *pszDest, SIZE_T cchDest, SS_T **ppszDestEnd,
                                             SIZE_T *pcchRemaining, ULONG dwFlags, const SS_T *pszFormat, ...)
{
    NT_VA_LIST Args;
    NTSTATUS Status;

    NT_VA_START(Args, pszFormat);
    Status = SS_NAME(RtlpStringPrintfWorker)(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags, pszFormat,
                                             Args);
    NT_VA_END(Args);
    return Status;
}

static NTSTATUS SS_NAME(RtlpStringCbPrintfWorker)(SS_T *Dest, SIZE_T CbDest, SS_T **DestEnd, SIZE_T *CbRemaining,
                                                  ULONG Flags, const SS_T *Format, NT_VA_LIST Args)
{
    SIZE_T CchRemaining;
    NTSTATUS Status = SS_NAME(RtlpStringPrintfWorker)(Dest, CbDest / sizeof(SS_T), DestEnd, &CchRemaining, Flags,
                                                      Format, Args);

    if ((NT_SUCCESS(Status) || Status == STATUS_BUFFER_OVERFLOW) && CbRemaining != NULL)
        *CbRemaining = SS_NAME(RtlpCbRemaining)(CchRemaining, CbDest);
    return Status;
}

NTSTATUS NTAPI SS_NAME(RtlStringCbVPrintf)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszFormat, NT_VA_LIST argList)
{
    return SS_NAME(RtlpStringCbPrintfWorker)(pszDest, cbDest, NULL, NULL, 0, pszFormat, argList);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbPrintf)(SS_T *pszDest, SIZE_T cbDest, const SS_T *pszFormat, ...)
{
    NT_VA_LIST Args;
    NTSTATUS Status;

    NT_VA_START(Args, pszFormat);
    Status = SS_NAME(RtlpStringCbPrintfWorker)(pszDest, cbDest, NULL, NULL, 0, pszFormat, Args);
    NT_VA_END(Args);
    return Status;
}

NTSTATUS NTAPI SS_NAME(RtlStringCbVPrintfEx)(SS_T *pszDest, SIZE_T cbDest, SS_T **ppszDestEnd, SIZE_T *pcbRemaining,
                                             ULONG dwFlags, const SS_T *pszFormat, NT_VA_LIST argList)
{
    return SS_NAME(RtlpStringCbPrintfWorker)(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags, pszFormat,
                                             argList);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbPrintfEx)(SS_T *pszDest, SIZE_T cbDest, SS_T **ppszDestEnd, SIZE_T *pcbRemaining,
                                            ULONG dwFlags, const SS_T *pszFormat, ...)
{
    NT_VA_LIST Args;
    NTSTATUS Status;

    NT_VA_START(Args, pszFormat);
    Status = SS_NAME(RtlpStringCbPrintfWorker)(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags, pszFormat,
                                               Args);
    NT_VA_END(Args);
    return Status;
}

/* ---- Length ------------------------------------------------------------------------------- */

/* The string must be terminated within cchMax characters; the length excludes
 * the terminator. On failure *pcchLength (optional) is 0. */
static NTSTATUS SS_NAME(RtlpStringLength)(const SS_T *psz, SIZE_T cchMax, SIZE_T *pcchLength)
{
    SIZE_T Length = 0;
    NTSTATUS Status = STATUS_SUCCESS;

    if (psz == NULL || cchMax > NTSTRSAFE_MAX_CCH) {
        Status = STATUS_INVALID_PARAMETER;
    } else {
        while (Length < cchMax && psz[Length] != 0)
            Length++;
        if (Length == cchMax)
            Status = STATUS_INVALID_PARAMETER;
    }
    if (pcchLength != NULL)
        *pcchLength = NT_SUCCESS(Status) ? Length : 0;
    return Status;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchLength)(const SS_T *psz, SIZE_T cchMax, SIZE_T *pcchLength)
{
    return SS_NAME(RtlpStringLength)(psz, cchMax, pcchLength);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbLength)(const SS_T *psz, SIZE_T cbMax, SIZE_T *pcbLength)
{
    SIZE_T Length;
    NTSTATUS Status = SS_NAME(RtlpStringLength)(psz, cbMax / sizeof(SS_T), &Length);

    if (pcbLength != NULL)
        *pcbLength = Length * sizeof(SS_T);
    return Status;
}
