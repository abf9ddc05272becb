/*
 * Bug-check callbacks (see include/ntos/kebugcheck.h).
 *
 * The two lists are guarded by KiBugCheckCallbackLock, a test-and-set lock
 * taken at HIGH_LEVEL with interrupts off, held for a few instructions and
 * never while calling out, so registration works at any IRQL. KeBugCheckEx
 * walks the lists WITHOUT that lock (the processor that crashed may hold it,
 * and the others are frozen): each record is checked before it is trusted
 * (the back link points at it, the checksum of its fields matches, its state
 * is BufferInserted) and the walk is bounded, so a corrupted list costs the
 * callbacks, not the stop message.
 */
#include <ntos/kebugcheck.h>
#include <ntos/arch.h>

#define KI_BUGCHECK_CALLBACK_WALK_LIMIT 1024
#define KI_SECONDARY_DUMP_BUFFER 4096

static LIST_ENTRY KiBugCheckCallbackListHead = {&KiBugCheckCallbackListHead, &KiBugCheckCallbackListHead};
static LIST_ENTRY KiBugCheckReasonCallbackListHead = {&KiBugCheckReasonCallbackListHead,
                                                      &KiBugCheckReasonCallbackListHead};
static volatile LONG KiBugCheckCallbackLock;
static UCHAR KiSecondaryDumpBuffer[KI_SECONDARY_DUMP_BUFFER];

static KIRQL KiLockCallbacks(BOOLEAN *Interrupts)
{
    *Interrupts = arch_interrupts_enabled();
    arch_disable_interrupts();
    KIRQL old = arch_get_irql();
    if (old < HIGH_LEVEL)
        arch_set_irql(HIGH_LEVEL);
    while (__atomic_exchange_n(&KiBugCheckCallbackLock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    return old;
}

static VOID KiUnlockCallbacks(KIRQL Old, BOOLEAN Interrupts)
{
    __atomic_store_n(&KiBugCheckCallbackLock, 0, __ATOMIC_RELEASE);
    if (Old < HIGH_LEVEL)
        arch_set_irql(Old);
    arch_restore_interrupts(Interrupts);
}

static ULONG_PTR KiCallbackChecksum(PKBUGCHECK_CALLBACK_RECORD R)
{
    return (ULONG_PTR)R->CallbackRoutine + (ULONG_PTR)R->Buffer + R->Length + (ULONG_PTR)R->Component;
}

static ULONG_PTR KiReasonChecksum(PKBUGCHECK_REASON_CALLBACK_RECORD R)
{
    return (ULONG_PTR)R->CallbackRoutine + (ULONG_PTR)R->Reason + (ULONG_PTR)R->Component;
}

BOOLEAN NTAPI KeRegisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord,
                                         PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine, PVOID Buffer, ULONG Length,
                                         PUCHAR Component)
{
    if (CallbackRecord == NULL || CallbackRoutine == NULL)
        return FALSE;
    BOOLEAN interrupts;
    KIRQL old = KiLockCallbacks(&interrupts);
    BOOLEAN ok = CallbackRecord->State == BufferEmpty;
    if (ok) {
        CallbackRecord->CallbackRoutine = CallbackRoutine;
        CallbackRecord->Buffer = Buffer;
        CallbackRecord->Length = Length;
        CallbackRecord->Component = Component;
        CallbackRecord->Checksum = KiCallbackChecksum(CallbackRecord);
        CallbackRecord->State = BufferInserted;
        InsertHeadList(&KiBugCheckCallbackListHead, &CallbackRecord->Entry);
    }
    KiUnlockCallbacks(old, interrupts);
    return ok;
}

/* Both record kinds unlink the same way: only an inserted record, under the callback lock. */
static BOOLEAN KiRemoveCallbackRecord(PLIST_ENTRY Entry, PUCHAR State)
{
    BOOLEAN interrupts;
    KIRQL old = KiLockCallbacks(&interrupts);
    BOOLEAN ok = *State == BufferInserted;
    if (ok) {
        RemoveEntryList(Entry);
        *State = BufferEmpty;
    }
    KiUnlockCallbacks(old, interrupts);
    return ok;
}

BOOLEAN NTAPI KeDeregisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord)
{
    return KiRemoveCallbackRecord(&CallbackRecord->Entry, &CallbackRecord->State);
}

BOOLEAN NTAPI KeRegisterBugCheckReasonCallback(PKBUGCHECK_REASON_CALLBACK_RECORD CallbackRecord,
                                               PKBUGCHECK_REASON_CALLBACK_ROUTINE CallbackRoutine,
                                               KBUGCHECK_CALLBACK_REASON Reason, PUCHAR Component)
{
    if (CallbackRecord == NULL || CallbackRoutine == NULL || Reason == KbCallbackInvalid ||
        Reason > KbCallbackTriageDumpData)
        return FALSE;
    BOOLEAN interrupts;
    KIRQL old = KiLockCallbacks(&interrupts);
    BOOLEAN ok = CallbackRecord->State == BufferEmpty;
    if (ok) {
        CallbackRecord->CallbackRoutine = CallbackRoutine;
        CallbackRecord->Reason = Reason;
        CallbackRecord->Component = Component;
        CallbackRecord->Checksum = KiReasonChecksum(CallbackRecord);
        CallbackRecord->State = BufferInserted;
        InsertHeadList(&KiBugCheckReasonCallbackListHead, &CallbackRecord->Entry);
    }
    KiUnlockCallbacks(old, interrupts);
    return ok;
}

BOOLEAN NTAPI KeDeregisterBugCheckReasonCallback(PKBUGCHECK_REASON_CALLBACK_RECORD CallbackRecord)
{
    return KiRemoveCallbackRecord(&CallbackRecord->Entry, &CallbackRecord->State);
}

static VOID KiConsoleHex(const char *Prefix, ULONG64 Value)
{
    static const char hex[] = "0123456789ABCDEF";
    char line[64];
    SIZE_T n = 0;
    while (*Prefix && n < 40)
        line[n++] = *Prefix++;
    for (int i = 15; i >= 0; i--)
        line[n++] = hex[(Value >> (i * 4)) & 0xF];
    line[n++] = '\n';
    arch_console_write(line, n);
}

VOID KiInvokeBugCheckCallbacks(BOOLEAN Console)
{
    /* Nothing registered (the usual case): leave the IRQL and the interrupt
     * flag exactly as the bug check found them. */
    if (__atomic_load_n(&KiBugCheckCallbackListHead.Flink, __ATOMIC_RELAXED) == &KiBugCheckCallbackListHead &&
        __atomic_load_n(&KiBugCheckReasonCallbackListHead.Flink, __ATOMIC_RELAXED) ==
            &KiBugCheckReasonCallbackListHead)
        return;
    /* The callbacks run at HIGH_LEVEL with interrupts off, and the caller is
     * left that way: it is about to halt, or (a caught bug check) to restore
     * the catch frame's IRQL and flag itself. Lowering here could deliver an
     * interrupt inside the bug check. */
    arch_disable_interrupts();
    if (arch_get_irql() < HIGH_LEVEL)
        arch_set_irql(HIGH_LEVEL);

    /* Reason callbacks first, as the dump is written before the classic ones run. */
    ULONG walked = 0;
    for (PLIST_ENTRY e = KiBugCheckReasonCallbackListHead.Flink;
         e != &KiBugCheckReasonCallbackListHead && walked < KI_BUGCHECK_CALLBACK_WALK_LIMIT; walked++) {
        PKBUGCHECK_REASON_CALLBACK_RECORD r = CONTAINING_RECORD(e, KBUGCHECK_REASON_CALLBACK_RECORD, Entry);
        if (e->Blink->Flink != e)
            break; /* the list is broken from here on */
        PLIST_ENTRY next = e->Flink;
        if (r->State == BufferInserted && r->Checksum == KiReasonChecksum(r) &&
            r->Reason == KbCallbackSecondaryDumpData) {
            KBUGCHECK_SECONDARY_DUMP_DATA data = {0};
            data.InBuffer = KiSecondaryDumpBuffer;
            data.InBufferLength = sizeof(KiSecondaryDumpBuffer);
            data.MaximumAllowed = sizeof(KiSecondaryDumpBuffer);
            r->State = BufferStarted;
            r->CallbackRoutine(KbCallbackSecondaryDumpData, r, &data, sizeof(data));
            /* A caught bug check (tests) lets the system go on: stay registered. */
            r->State = Console ? BufferFinished : BufferInserted;
            if (Console && data.OutBuffer != NULL && data.OutBufferLength != 0)
                KiConsoleHex("secondary dump data bytes: 0x",
                             data.OutBufferLength < data.MaximumAllowed ? data.OutBufferLength : data.MaximumAllowed);
        }
        e = next;
    }

    walked = 0;
    for (PLIST_ENTRY e = KiBugCheckCallbackListHead.Flink;
         e != &KiBugCheckCallbackListHead && walked < KI_BUGCHECK_CALLBACK_WALK_LIMIT; walked++) {
        PKBUGCHECK_CALLBACK_RECORD r = CONTAINING_RECORD(e, KBUGCHECK_CALLBACK_RECORD, Entry);
        if (e->Blink->Flink != e)
            break;
        PLIST_ENTRY next = e->Flink;
        if (r->State == BufferInserted && r->Checksum == KiCallbackChecksum(r)) {
            r->State = BufferStarted;
            r->CallbackRoutine(r->Buffer, r->Length);
            r->State = Console ? BufferFinished : BufferInserted;
            if (Console)
                KiConsoleHex("bug check callback ran: 0x", (ULONG_PTR)r->CallbackRoutine);
        }
        e = next;
    }
}
