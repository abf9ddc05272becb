/*
 * Bug checks, IRQL entry points and the list helpers' corruption checks: the
 * misuses stop with the documented code and parameters, and a test can catch
 * that (expect_bugcheck) with IRQL and interrupt state restored.
 */
#include "ntos_test.h"
#include <ntos/arch.h>
#include <ntos/list.h>

NTKERNELAPI KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeLowerIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql);
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToDpcLevel(void);
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToSynchLevel(void);
NTKERNELAPI ULONG NTAPI KeQueryTimeIncrement(void);
NTKERNELAPI VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds);

static void bugcheck_is_caught_with_parameters(void **state)
{
    ULONG before = KiBugCheckCount();
    expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4));
    assert_int_equal(ntos_last_bugcheck.Code, MANUALLY_INITIATED_CRASH);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 1);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 2);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 3);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 4);
    assert_int_equal(KiBugCheckCount(), before + 1);
}

static void bugcheck_without_parameters(void **state)
{
    expect_bugcheck(INVALID_DATA_ACCESS_TRAP, KeBugCheck(INVALID_DATA_ACCESS_TRAP));
    for (int i = 0; i < 4; i++)
        assert_int_equal(ntos_last_bugcheck.Parameter[i], 0);
}

static void bugcheck_restores_irql_and_interrupts(void **state)
{
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    expect_bugcheck(MANUALLY_INITIATED_CRASH, {
        KfRaiseIrql(HIGH_LEVEL);
        arch_disable_interrupts();
        KeBugCheckEx(MANUALLY_INITIATED_CRASH, 0, 0, 0, 0);
    });
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(arch_interrupts_enabled());
}

static void nested_catches_unwind_innermost_first(void **state)
{
    volatile int inner_seen = 0; /* modified between setjmp and longjmp */
    expect_bugcheck(TRAP_CAUSE_UNKNOWN, {
        expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheckEx(MANUALLY_INITIATED_CRASH, 7, 0, 0, 0));
        inner_seen = 1;
        assert_int_equal(ntos_last_bugcheck.Parameter[0], 7);
        KeBugCheckEx(TRAP_CAUSE_UNKNOWN, 8, 0, 0, 0);
    });
    assert_int_equal(inner_seen, 1);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 8);
}

static void many_catches_do_not_leak(void **state)
{
    for (int i = 0; i < 500; i++)
        expect_bugcheck(MANUALLY_INITIATED_CRASH, KeBugCheckEx(MANUALLY_INITIATED_CRASH, (ULONG_PTR)i, 0, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 499);
}

static void irql_raise_and_lower(void **state)
{
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    old = KeRaiseIrqlToDpcLevel();
    assert_int_equal(old, APC_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    /* The inline gs:[0x50] read agrees with the exported function. */
    assert_int_equal(KeGetPcr()->Irql, DISPATCH_LEVEL);
    old = KeRaiseIrqlToSynchLevel();
    assert_int_equal(old, DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), SYNCH_LEVEL);
    old = KfRaiseIrql(HIGH_LEVEL);
    assert_int_equal(old, SYNCH_LEVEL);
    /* Raising to the current level is allowed. */
    assert_int_equal(KfRaiseIrql(HIGH_LEVEL), HIGH_LEVEL);
    KeLowerIrql(DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(DISPATCH_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void irql_misuse_bugchecks(void **state)
{
    KeRaiseIrqlToDpcLevel();
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KfRaiseIrql(APC_LEVEL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], APC_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);

    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeLowerIrql(DISPATCH_LEVEL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], PASSIVE_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KfRaiseIrql(HIGH_LEVEL + 1));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void processor_number_matches_gs(void **state)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG n = KeGetCurrentProcessorNumber();
    assert_int_equal(n, KeGetCurrentProcessorIndex());
    assert_true(n < arch_processor_count());
    assert_ptr_equal(KeGetPcr(), arch_processor_pcr(n));
    assert_ptr_equal(KeGetCurrentPrcb(), &arch_processor_pcr(n)->Prcb);
    KeLowerIrql(old);
}

static void time_increment_and_stall(void **state)
{
    assert_int_equal(KeQueryTimeIncrement(), 10000);
    ULONG64 t0 = arch_interrupt_time();
    KeStallExecutionProcessor(2000);
    assert_true(arch_interrupt_time() - t0 >= 20000);
    KeStallExecutionProcessor(0);
}

static void list_insert_remove_order(void **state)
{
    LIST_ENTRY head, e[4];
    InitializeListHead(&head);
    assert_true(IsListEmpty(&head));
    InsertTailList(&head, &e[1]);
    InsertHeadList(&head, &e[0]);
    InsertTailList(&head, &e[2]);
    InsertTailList(&head, &e[3]);
    assert_false(IsListEmpty(&head));
    assert_ptr_equal(head.Flink, &e[0]);
    assert_ptr_equal(head.Blink, &e[3]);
    assert_ptr_equal(RemoveHeadList(&head), &e[0]);
    assert_ptr_equal(RemoveTailList(&head), &e[3]);
    assert_false(RemoveEntryList(&e[1]));
    assert_true(RemoveEntryList(&e[2]));
    assert_true(IsListEmpty(&head));
    /* Removing from an empty list returns the head itself, as in the WDK. */
    assert_ptr_equal(RemoveHeadList(&head), &head);
    assert_true(IsListEmpty(&head));

    LIST_ENTRY other, f[2];
    InitializeListHead(&head);
    InitializeListHead(&other);
    InsertTailList(&head, &e[0]);
    InsertTailList(&other, &f[0]);
    InsertTailList(&other, &f[1]);
    /* AppendTailList splices the list starting at f[0] (other's first entry),
     * so detach other's head first, as callers of the WDK helper do. */
    RemoveEntryList(&other);
    AppendTailList(&head, &f[0]);
    assert_ptr_equal(head.Flink, &e[0]);
    assert_ptr_equal(e[0].Flink, &f[0]);
    assert_ptr_equal(f[1].Flink, &head);
    assert_ptr_equal(head.Blink, &f[1]);

    SINGLE_LIST_ENTRY sh = {NULL}, s[2];
    assert_null(PopEntryList(&sh));
    PushEntryList(&sh, &s[0]);
    PushEntryList(&sh, &s[1]);
    assert_ptr_equal(PopEntryList(&sh), &s[1]);
    assert_ptr_equal(PopEntryList(&sh), &s[0]);
    assert_null(PopEntryList(&sh));
}

static void list_corruption_bugchecks(void **state)
{
    LIST_ENTRY head, a, b, bogus;
    InitializeListHead(&head);
    InsertTailList(&head, &a);
    InsertTailList(&head, &b);
    a.Flink = &bogus; /* a's successor no longer points back at a */
    bogus.Blink = &bogus;
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, RemoveEntryList(&a));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], FAST_FAIL_CORRUPT_LIST_ENTRY);
    a.Flink = &b;
    assert_ptr_equal(head.Flink, &a); /* nothing was unlinked */

    head.Blink = &bogus;
    bogus.Flink = &bogus;
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, InsertTailList(&head, &bogus));
    head.Blink = &b;
    bogus.Blink = &a;
    head.Flink = &bogus;
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, InsertHeadList(&head, &bogus));
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, RemoveHeadList(&head));
    head.Flink = &a;
    b.Blink = &bogus;
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, RemoveTailList(&head));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(bugcheck_is_caught_with_parameters),
    cmocka_unit_test(bugcheck_without_parameters),
    cmocka_unit_test(bugcheck_restores_irql_and_interrupts),
    cmocka_unit_test(nested_catches_unwind_innermost_first),
    cmocka_unit_test(many_catches_do_not_leak),
    cmocka_unit_test(irql_raise_and_lower),
    cmocka_unit_test(irql_misuse_bugchecks),
    cmocka_unit_test(processor_number_matches_gs),
    cmocka_unit_test(time_increment_and_stall),
    cmocka_unit_test(list_insert_remove_order),
    cmocka_unit_test(list_corruption_bugchecks),
};

NTOS_TEST_GROUP(ke_bugcheck, tests, NULL, NULL);
