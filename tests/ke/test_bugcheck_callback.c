/*
 * Bug-check callbacks: registration rules, the callbacks a (caught) bug check
 * runs with their buffers, reason callbacks with secondary dump data, and
 * deregistration.
 */
#include "ntos_test.h"
#include <ntos/kebugcheck.h>
#include <ntos/rtl.h>

static struct {
    LONG Calls;
    PVOID Buffer;
    ULONG Length;
    KIRQL Irql;
    LONG Order[4];
    LONG Sequence;
} seen;

static VOID NTAPI classic_cb(PVOID Buffer, ULONG Length)
{
    seen.Order[seen.Sequence++ & 3] = 1;
    seen.Calls++;
    seen.Buffer = Buffer;
    seen.Length = Length;
    seen.Irql = KeGetCurrentIrql();
    RtlFillMemory(Buffer, Length, 0xAB);
}

static VOID NTAPI second_cb(PVOID Buffer, ULONG Length)
{
    (void)Buffer, (void)Length;
    seen.Order[seen.Sequence++ & 3] = 2;
}

static UCHAR reason_out[16];
static LONG reason_calls;
static VOID NTAPI reason_cb(KBUGCHECK_CALLBACK_REASON Reason, PKBUGCHECK_REASON_CALLBACK_RECORD Record,
                            PVOID Data, ULONG Length)
{
    (void)Record;
    if (Reason != KbCallbackSecondaryDumpData || Length != sizeof(KBUGCHECK_SECONDARY_DUMP_DATA))
        return;
    PKBUGCHECK_SECONDARY_DUMP_DATA d = Data;
    if (d->InBuffer == NULL || d->MaximumAllowed < sizeof(reason_out))
        return;
    reason_calls++;
    RtlFillMemory(reason_out, sizeof(reason_out), 0x5A);
    d->OutBuffer = reason_out;
    d->OutBufferLength = sizeof(reason_out);
}

static void classic_callbacks(void **state)
{
    (void)state;
    RtlZeroMemory(&seen, sizeof(seen));
    static KBUGCHECK_CALLBACK_RECORD r1, r2;
    static UCHAR buffer[32];
    KeInitializeCallbackRecord(&r1);
    KeInitializeCallbackRecord(&r2);
    assert_int_equal(r1.State, BufferEmpty);
    assert_false(KeDeregisterBugCheckCallback(&r1)); /* not registered */
    assert_true(KeRegisterBugCheckCallback(&r1, classic_cb, buffer, sizeof(buffer), (PUCHAR) "NtosTest"));
    assert_int_equal(r1.State, BufferInserted);
    assert_false(KeRegisterBugCheckCallback(&r1, classic_cb, buffer, sizeof(buffer), (PUCHAR) "NtosTest"));
    assert_true(KeRegisterBugCheckCallback(&r2, second_cb, NULL, 0, (PUCHAR) "Second"));
    assert_false(KeRegisterBugCheckCallback(NULL, classic_cb, NULL, 0, NULL));

    expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4));
    assert_int_equal(seen.Calls, 1);
    assert_ptr_equal(seen.Buffer, buffer);
    assert_int_equal(seen.Length, sizeof(buffer));
    assert_int_equal(seen.Irql, HIGH_LEVEL);
    assert_int_equal(buffer[31], 0xAB);
    /* Newest registration first. */
    assert_int_equal(seen.Order[0], 2);
    assert_int_equal(seen.Order[1], 1);
    /* A caught bug check leaves them registered. */
    assert_int_equal(r1.State, BufferInserted);
    assert_true(KeDeregisterBugCheckCallback(&r1));
    assert_int_equal(r1.State, BufferEmpty);
    assert_false(KeDeregisterBugCheckCallback(&r1));
    expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheck(MANUALLY_INITIATED_CRASH));
    assert_int_equal(seen.Calls, 1);
    assert_true(KeDeregisterBugCheckCallback(&r2));

    /* A record whose fields were changed after registration fails its checksum and is skipped. */
    assert_true(KeRegisterBugCheckCallback(&r1, classic_cb, buffer, sizeof(buffer), (PUCHAR) "NtosTest"));
    r1.Length = 1;
    expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheck(MANUALLY_INITIATED_CRASH));
    assert_int_equal(seen.Calls, 1);
    assert_true(KeDeregisterBugCheckCallback(&r1));
}

static void reason_callbacks(void **state)
{
    (void)state;
    static KBUGCHECK_REASON_CALLBACK_RECORD r, dumpio;
    KeInitializeCallbackRecord(&r);
    KeInitializeCallbackRecord(&dumpio);
    reason_calls = 0;
    assert_false(KeRegisterBugCheckReasonCallback(&r, reason_cb, KbCallbackInvalid, (PUCHAR) "x"));
    assert_false(KeRegisterBugCheckReasonCallback(&r, reason_cb, (KBUGCHECK_CALLBACK_REASON)99, (PUCHAR) "x"));
    assert_true(KeRegisterBugCheckReasonCallback(&r, reason_cb, KbCallbackSecondaryDumpData, (PUCHAR) "x"));
    assert_false(KeRegisterBugCheckReasonCallback(&r, reason_cb, KbCallbackSecondaryDumpData, (PUCHAR) "x"));
    /* No dump is written: a dump-I/O callback is never invoked. */
    assert_true(KeRegisterBugCheckReasonCallback(&dumpio, reason_cb, KbCallbackDumpIo, (PUCHAR) "y"));
    expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheck(MANUALLY_INITIATED_CRASH));
    assert_int_equal(reason_calls, 1);
    assert_int_equal(reason_out[15], 0x5A);
    assert_true(KeDeregisterBugCheckReasonCallback(&r));
    assert_false(KeDeregisterBugCheckReasonCallback(&r));
    assert_true(KeDeregisterBugCheckReasonCallback(&dumpio));
    expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheck(MANUALLY_INITIATED_CRASH));
    assert_int_equal(reason_calls, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(classic_callbacks),
    cmocka_unit_test(reason_callbacks),
};

NTOS_TEST_GROUP(ke_bugcheck_callback, tests, NULL, NULL);
