/*
 * Interrupt objects on device vectors: KeConnectInterrupt's rules (vector
 * range, IRQL = vector >> 4, sharing only between sharing objects of the
 * same mode), KiDeviceInterrupt's dispatch (level-sensitive chains stop at
 * the first claim, latched chains call everyone, unclaimed interrupts are
 * counted), and IoConnectInterrupt(Ex)/IoDisconnectInterrupt(Ex) on top.
 * Interrupts are delivered by calling the backend's upcall at the vector's
 * IRQL, as the interrupt entry does (a real device interrupt through the
 * IOAPIC is tests/x86_64's pit_interrupt_reaches_connected_isr).
 *
 * The vector: ISA IRQ 7's where the backend routes ISA IRQs (bare metal;
 * nothing drives IRQ 7 in QEMU), else device vector 0x80 (host: connectable,
 * never raised by itself).
 */
#include "ntos_test.h"
#include <ntos/io_interrupt.h>
#include <ntos/rtl.h>

typedef struct {
    volatile LONG Calls;
    BOOLEAN Claim;
    KIRQL SeenIrql;
} ISR_STATE;

static BOOLEAN NTAPI test_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    ISR_STATE *s = Context;
    s->SeenIrql = KeGetCurrentIrql();
    __atomic_add_fetch(&s->Calls, 1, __ATOMIC_SEQ_CST);
    return s->Claim;
}

static ULONG test_vector(KIRQL *Irql, KAFFINITY *Affinity)
{
    ULONG v = HalGetInterruptVector(Isa, 0, 7, 7, Irql, Affinity);
    if (v != 0)
        return v;
    *Irql = 8;
    *Affinity = 1;
    return 0x80;
}

static void deliver(ULONG Vector)
{
    KIRQL old;
    KeRaiseIrql((KIRQL)(Vector >> 4), &old);
    KiDeviceInterrupt(Vector);
    KeLowerIrql(old);
}

static void connect_rules(void **state)
{
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = test_vector(&irql, &aff);
    assert_int_equal(irql, v >> 4);
    ISR_STATE s = {0, TRUE, 0};
    KINTERRUPT a, b, c;
    /* Not a device vector; an IRQL that is not the vector's. */
    KeInitializeInterrupt(&a, test_isr, &s, NULL, 0x20, 2, 2, Latched, FALSE, 0, FALSE);
    assert_false(KeConnectInterrupt(&a));
    KeInitializeInterrupt(&a, test_isr, &s, NULL, v, (KIRQL)(irql + 1), (KIRQL)(irql + 1), Latched, FALSE, 0, FALSE);
    assert_false(KeConnectInterrupt(&a));
    /* Exclusive owner refuses company, even sharing company. */
    KeInitializeInterrupt(&a, test_isr, &s, NULL, v, irql, irql, Latched, FALSE, 0, FALSE);
    assert_true(KeConnectInterrupt(&a));
    assert_false(KeConnectInterrupt(&a)); /* already connected */
    KeInitializeInterrupt(&b, test_isr, &s, NULL, v, irql, irql, Latched, TRUE, 0, FALSE);
    assert_false(KeConnectInterrupt(&b));
    assert_true(KeDisconnectInterrupt(&a));
    assert_false(KeDisconnectInterrupt(&a));
    /* Sharing needs both sides sharing, in the same mode. */
    KeInitializeInterrupt(&a, test_isr, &s, NULL, v, irql, irql, Latched, TRUE, 0, FALSE);
    assert_true(KeConnectInterrupt(&a));
    assert_true(KeConnectInterrupt(&b));
    KeInitializeInterrupt(&c, test_isr, &s, NULL, v, irql, irql, LevelSensitive, TRUE, 0, FALSE);
    assert_false(KeConnectInterrupt(&c));
    assert_true(KeDisconnectInterrupt(&a));
    assert_true(KeDisconnectInterrupt(&b));
}

static void dispatch_follows_mode(void **state)
{
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = test_vector(&irql, &aff);
    ISR_STATE s1 = {0, TRUE, 0}, s2 = {0, TRUE, 0};
    KINTERRUPT a, b;
    /* Level-sensitive: the first claim ends the walk. */
    KeInitializeInterrupt(&a, test_isr, &s1, NULL, v, irql, (KIRQL)(irql + 1), LevelSensitive, TRUE, 0, FALSE);
    KeInitializeInterrupt(&b, test_isr, &s2, NULL, v, irql, irql, LevelSensitive, TRUE, 0, FALSE);
    assert_true(KeConnectInterrupt(&a));
    assert_true(KeConnectInterrupt(&b));
    deliver(v);
    assert_int_equal(s1.Calls, 1);
    assert_int_equal(s2.Calls, 0);
    assert_int_equal(s1.SeenIrql, irql + 1); /* the service routine runs at SynchronizeIrql */
    s1.Claim = FALSE;
    deliver(v);
    assert_int_equal(s1.Calls, 2);
    assert_int_equal(s2.Calls, 1);
    assert_int_equal(s2.SeenIrql, irql);
    /* Nobody claims it: counted as unclaimed. */
    s2.Claim = FALSE;
    ULONG before = KiDeviceInterruptUnclaimed(v);
    deliver(v);
    assert_int_equal(KiDeviceInterruptUnclaimed(v), before + 1);
    assert_true(KeDisconnectInterrupt(&a));
    assert_true(KeDisconnectInterrupt(&b));
    /* Latched: every routine is called. */
    s1 = (ISR_STATE){0, TRUE, 0};
    s2 = (ISR_STATE){0, TRUE, 0};
    KeInitializeInterrupt(&a, test_isr, &s1, NULL, v, irql, irql, Latched, TRUE, 0, FALSE);
    KeInitializeInterrupt(&b, test_isr, &s2, NULL, v, irql, irql, Latched, TRUE, 0, FALSE);
    assert_true(KeConnectInterrupt(&a));
    assert_true(KeConnectInterrupt(&b));
    deliver(v);
    assert_int_equal(s1.Calls, 1);
    assert_int_equal(s2.Calls, 1);
    /* Disconnected objects are no longer called. */
    assert_true(KeDisconnectInterrupt(&a));
    deliver(v);
    assert_int_equal(s1.Calls, 1);
    assert_int_equal(s2.Calls, 2);
    assert_true(KeDisconnectInterrupt(&b));
}

static BOOLEAN NTAPI sync_routine(PVOID Context)
{
    *(KIRQL *)Context = KeGetCurrentIrql();
    return TRUE;
}

static void io_connect_and_disconnect(void **state)
{
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = test_vector(&irql, &aff);
    ISR_STATE s = {0, TRUE, 0};
    PKINTERRUPT i = (PKINTERRUPT)(ULONG_PTR)1;
    /* Bad parameters. */
    assert_int_equal(IoConnectInterrupt(NULL, test_isr, &s, NULL, v, irql, irql, Latched, FALSE, aff, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &s, NULL, v, irql, irql, Latched, FALSE, 0, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_null(i);
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &s, NULL, v, irql, (KIRQL)(irql - 1), Latched, FALSE, aff,
                                        FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &s, NULL, 0x10, 1, 1, Latched, FALSE, aff, FALSE),
                     STATUS_INVALID_PARAMETER);
    /* Connected: delivered, synchronised with, disconnected. */
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &s, NULL, v, irql, irql, Latched, FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    assert_non_null(i);
    deliver(v);
    assert_int_equal(s.Calls, 1);
    KIRQL seen = 0;
    assert_true(KeSynchronizeExecution(i, sync_routine, &seen));
    assert_int_equal(seen, irql);
    IoDisconnectInterrupt(i);
    deliver(v);
    assert_int_equal(s.Calls, 1);

    /* The Ex form, fully specified. */
    PKINTERRUPT j = NULL;
    IO_CONNECT_INTERRUPT_PARAMETERS p;
    RtlZeroMemory(&p, sizeof(p));
    p.Version = CONNECT_FULLY_SPECIFIED;
    p.FullySpecified.InterruptObject = &j;
    p.FullySpecified.ServiceRoutine = test_isr;
    p.FullySpecified.ServiceContext = &s;
    p.FullySpecified.Vector = v;
    p.FullySpecified.Irql = irql;
    p.FullySpecified.SynchronizeIrql = irql;
    p.FullySpecified.InterruptMode = Latched;
    p.FullySpecified.ProcessorEnableMask = aff;
    assert_int_equal(IoConnectInterruptEx(&p), STATUS_SUCCESS);
    assert_non_null(j);
    deliver(v);
    assert_int_equal(s.Calls, 2);
    IO_DISCONNECT_INTERRUPT_PARAMETERS d = {CONNECT_FULLY_SPECIFIED, {.InterruptObject = j}};
    IoDisconnectInterruptEx(&d);
    deliver(v);
    assert_int_equal(s.Calls, 2);
    /* Group form: only group 0 exists. */
    p.Version = CONNECT_FULLY_SPECIFIED_GROUP;
    p.FullySpecified.Group = 1;
    assert_int_equal(IoConnectInterruptEx(&p), STATUS_INVALID_PARAMETER);
    /* No Plug and Play resources: line-based asks for a fully specified retry. */
    RtlZeroMemory(&p, sizeof(p));
    p.Version = CONNECT_LINE_BASED;
    assert_int_equal(IoConnectInterruptEx(&p), STATUS_NOT_SUPPORTED);
    assert_int_equal(p.Version, CONNECT_FULLY_SPECIFIED);
    p.Version = 99;
    assert_int_equal(IoConnectInterruptEx(&p), STATUS_INVALID_PARAMETER);
    /* HalGetInterruptVector routes ISA only. */
    KIRQL hi;
    KAFFINITY ha;
    assert_int_equal(HalGetInterruptVector(PCIBus, 0, 7, 7, &hi, &ha), 0);
    assert_int_equal(HalGetInterruptVector(Isa, 0, 16, 16, &hi, &ha), 0);
}

static const struct CMUnitTest io_interrupt_tests[] = {
    cmocka_unit_test(connect_rules),
    cmocka_unit_test(dispatch_follows_mode),
    cmocka_unit_test(io_connect_and_disconnect),
};

NTOS_TEST_GROUP(io_interrupt, io_interrupt_tests, NULL, NULL);
