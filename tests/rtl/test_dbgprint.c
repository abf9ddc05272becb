/*
 * DbgPrint, DbgPrintEx, vDbgPrintEx(WithPrefix) and the debug filter
 * (src/kd/dbgprint.c): documented level/mask semantics, the system-wide mask,
 * the 512-byte limit and the output hook. Output is captured with
 * KdpSetPrintHook; every test restores the masks it changed.
 */
#include "ntos_test.h"
#include <ntos/dbg.h>

#define CAPTURE_SIZE 2048

static char Captured[CAPTURE_SIZE];
static ULONG CapturedLength;
static ULONG CapturedCalls;
static PKD_PRINT_HOOK PreviousHook;

static VOID capture_hook(PCSTR Text, ULONG Length)
{
    /* Messages accumulate so a test can check several prints at once. */
    for (ULONG i = 0; i < Length && CapturedLength < CAPTURE_SIZE - 1; i++)
        Captured[CapturedLength++] = Text[i];
    Captured[CapturedLength] = '\0';
    CapturedCalls++;
    assert_int_equal(Text[Length], '\0');
}

static VOID other_hook(PCSTR Text, ULONG Length)
{
}

static void reset_capture(void)
{
    CapturedLength = 0;
    CapturedCalls = 0;
    Captured[0] = '\0';
}

/* Puts a component's mask back to the ntos default (levels 0..3). */
static void reset_component(ULONG Id)
{
    assert_int_equal(DbgSetDebugFilterState(Id, 0xfffffff0, FALSE), STATUS_SUCCESS);
    for (ULONG Level = 0; Level < 4; Level++)
        assert_int_equal(DbgSetDebugFilterState(Id, Level, TRUE), STATUS_SUCCESS);
}

static void reset_system_wide(void)
{
    assert_int_equal(DbgSetDebugFilterState(NTOS_DPFLTR_SYSTEM_WIDE_ID, 0xfffffffe, FALSE), STATUS_SUCCESS);
    assert_int_equal(DbgSetDebugFilterState(NTOS_DPFLTR_SYSTEM_WIDE_ID, 0, TRUE), STATUS_SUCCESS);
}

/* Leaves only the given bits in a component's own mask. */
static void set_component_mask(ULONG Id, ULONG Mask)
{
    for (ULONG Bit = 0; Bit < 32; Bit++)
        assert_int_equal(DbgSetDebugFilterState(Id, Bit, (Mask >> Bit) & 1), STATUS_SUCCESS);
}

static int setup(void **state)
{
    reset_capture();
    PreviousHook = KdpSetPrintHook(capture_hook);
    return 0;
}

static int teardown(void **state)
{
    KdpSetPrintHook(PreviousHook);
    reset_component(DPFLTR_DEFAULT_ID);
    reset_component(DPFLTR_IHVDRIVER_ID);
    reset_component(DPFLTR_IHVVIDEO_ID);
    reset_system_wide();
    return 0;
}

static ULONG NTAPI call_vDbgPrintEx(ULONG Id, ULONG Level, PCSTR Format, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, Format);
    ULONG Status = vDbgPrintEx(Id, Level, Format, ap);
    NT_VA_END(ap);
    return Status;
}

static ULONG NTAPI call_vDbgPrintExWithPrefix(PCSTR Prefix, ULONG Id, ULONG Level, PCSTR Format, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, Format);
    ULONG Status = vDbgPrintExWithPrefix(Prefix, Id, Level, Format, ap);
    NT_VA_END(ap);
    return Status;
}

static SIZE_T slen(const char *s)
{
    SIZE_T n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

/* ---- output and formatting ------------------------------------------------------- */

static void test_dbgprint_basic(void **state)
{
    assert_int_equal(DbgPrint("hello %d %s\n", 42, "world"), STATUS_SUCCESS);
    assert_string_equal(Captured, "hello 42 world\n");
    assert_int_equal(CapturedLength, 15);
    assert_int_equal(CapturedCalls, 1);
}

static void test_dbgprint_nt_extensions(void **state)
{
    static const WCHAR Name[] = u"\\Device\\Foo_extra";
    UNICODE_STRING Device = {sizeof(u"\\Device\\Foo") - sizeof(WCHAR), sizeof(Name), (PWSTR)Name};
    ANSI_STRING Ansi = {3, 3, (PCHAR) "abcdef"};

    DbgPrint("%wZ|%Z|%ws|%p|%I64x|%lx|%C", &Device, &Ansi, u"w", (void *)0x1234, 0x1122334455667788ULL,
             0xcafef00dUL, (int)u'c');
    assert_string_equal(Captured, "\\Device\\Foo|abc|w|0000000000001234|1122334455667788|cafef00d|c");
}

static void test_dbgprint_hook_replaces_console(void **state)
{
    /* The hook installed by setup is returned when replaced. */
    assert_ptr_equal(KdpSetPrintHook(other_hook), capture_hook);
    DbgPrint("to the other hook\n");
    assert_int_equal(CapturedCalls, 0);
    assert_ptr_equal(KdpSetPrintHook(capture_hook), other_hook);
    DbgPrint("x");
    assert_string_equal(Captured, "x");
}

static void test_dbgprint_empty_message(void **state)
{
    /* Nothing to transmit: the hook is not called. */
    assert_int_equal(DbgPrint(""), STATUS_SUCCESS);
    assert_int_equal(CapturedCalls, 0);
    assert_int_equal(DbgPrint("%s", ""), STATUS_SUCCESS);
    assert_int_equal(CapturedCalls, 0);
}

static void test_dbgprint_truncates_at_512(void **state)
{
    /* 600 characters are formatted; only the first 512 are transmitted. */
    assert_int_equal(DbgPrint("%0600d", 7), STATUS_SUCCESS);
    assert_int_equal(CapturedLength, NTOS_KD_PRINT_MAX_LENGTH);
    for (ULONG i = 0; i < NTOS_KD_PRINT_MAX_LENGTH; i++)
        assert_int_equal(Captured[i], '0');

    /* Exactly 512 fit. */
    reset_capture();
    DbgPrint("%0512d", 7);
    assert_int_equal(CapturedLength, 512);
    assert_int_equal(Captured[511], '7');

    reset_capture();
    DbgPrint("%0512d|", 7);
    assert_int_equal(CapturedLength, 512);
    assert_int_equal(Captured[511], '7'); /* the '|' is the 513th byte, dropped */

    reset_capture();
    DbgPrint("%0510d", 7);
    assert_int_equal(CapturedLength, 510);

    reset_capture();
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "%100000s", "x");
    assert_int_equal(CapturedLength, 512);
    assert_int_equal(Captured[511], ' ');
}

/* ---- filtering ---------------------------------------------------------------------- */

static void test_dbgprint_default_masks(void **state)
{
    /* ntos shows levels 0..3 of every component by default. */
    for (ULONG Level = 0; Level < 4; Level++) {
        assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, Level), TRUE);
        assert_int_equal(DbgQueryDebugFilterState(DPFLTR_DEFAULT_ID, Level), TRUE);
        assert_int_equal(DbgQueryDebugFilterState(DPFLTR_SYSTEM_ID, Level), TRUE);
    }
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 4), FALSE);
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 31), FALSE);
    /* As masks: 0xf is bit 15 (a bit number), 0x20 is a mask with bit 5. */
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 0xf), FALSE);
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 0x20), FALSE);
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 0x28), TRUE); /* bit 3 = INFO */
    assert_int_equal(DbgQueryDebugFilterState(NTOS_DPFLTR_SYSTEM_WIDE_ID, DPFLTR_ERROR_LEVEL), TRUE);
    assert_int_equal(DbgQueryDebugFilterState(NTOS_DPFLTR_SYSTEM_WIDE_ID, DPFLTR_INFO_LEVEL), FALSE);

    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "e");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "w");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_TRACE_LEVEL, "t");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "i");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 4, "4");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 31, "31");
    assert_string_equal(Captured, "ewti");
}

static void test_dbgprint_is_default_component_info_level(void **state)
{
    /* DbgPrint == DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...). */
    assert_int_equal(DbgSetDebugFilterState(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, FALSE), STATUS_SUCCESS);
    assert_int_equal(DbgPrint("hidden"), STATUS_SUCCESS);
    assert_int_equal(CapturedCalls, 0);
    /* Other levels of DEFAULT and other components are unaffected. */
    DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_TRACE_LEVEL, "a");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "b");
    assert_string_equal(Captured, "ab");

    assert_int_equal(DbgSetDebugFilterState(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, TRUE), STATUS_SUCCESS);
    DbgPrint("c");
    assert_string_equal(Captured, "abc");
}

static void test_dbgprint_level_bits_and_masks(void **state)
{
    set_component_mask(DPFLTR_IHVDRIVER_ID, 1UL << 5);

    /* 0..31: a bit number. */
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 5, "A");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 4, "x");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 6, "x");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "x");
    /* > 31: the bit field itself, shown when any bit matches. */
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 0x20, "B");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 0x40, "x");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 0x60, "C");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 0x20, "D");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 0x10, "x");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK, "x");
    /* Error level passes through the system-wide mask (0x1). */
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "E");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 0x1, "F");
    assert_string_equal(Captured, "ABCDEF");

    /* Setting by mask sets several bits at once; bit 31 through DPFLTR_MASK. */
    reset_capture();
    set_component_mask(DPFLTR_IHVDRIVER_ID, 0);
    assert_int_equal(DbgSetDebugFilterState(DPFLTR_IHVDRIVER_ID, 0x80000300, TRUE), STATUS_SUCCESS);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 8, "8");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 9, "9");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 10, "x");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 31, "M");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "x");
    assert_string_equal(Captured, "89M");
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 9), TRUE);
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, 10), FALSE);

    /* Components are independent. */
    DbgPrintEx(DPFLTR_IHVVIDEO_ID, DPFLTR_WARNING_LEVEL, "V");
    assert_string_equal(Captured, "89MV");
}

static void test_dbgprint_error_level_and_system_wide_mask(void **state)
{
    /* A component mask of 0 still shows errors, through the system-wide 0x1. */
    set_component_mask(DPFLTR_IHVDRIVER_ID, 0);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "err ");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "warn ");
    assert_string_equal(Captured, "err ");
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL), TRUE);

    /* The system-wide mask is ORed into every component's. */
    assert_int_equal(DbgSetDebugFilterState(NTOS_DPFLTR_SYSTEM_WIDE_ID, 7, TRUE), STATUS_SUCCESS);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 7, "seven ");
    DbgPrintEx(DPFLTR_IHVVIDEO_ID, 7, "seven ");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, 8, "eight ");
    assert_string_equal(Captured, "err seven seven ");

    /* Clearing its error bit hides errors of components that do not set it. */
    reset_capture();
    assert_int_equal(DbgSetDebugFilterState(NTOS_DPFLTR_SYSTEM_WIDE_ID, DPFLTR_ERROR_LEVEL, FALSE),
                     STATUS_SUCCESS);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "hidden ");
    DbgPrintEx(DPFLTR_IHVVIDEO_ID, DPFLTR_ERROR_LEVEL, "shown");
    assert_string_equal(Captured, "shown");
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL), FALSE);
}

static void test_dbgprint_unknown_component(void **state)
{
    assert_int_equal(DbgQueryDebugFilterState(NTOS_KD_COMPONENT_COUNT, 0), STATUS_INVALID_PARAMETER_1);
    assert_int_equal(DbgQueryDebugFilterState(0x7fffffff, 0), STATUS_INVALID_PARAMETER_1);
    assert_int_equal(DbgSetDebugFilterState(NTOS_KD_COMPONENT_COUNT, 0, TRUE), STATUS_INVALID_PARAMETER_1);
    /* Dropped, but still a success for the caller. */
    assert_int_equal(DbgPrintEx(NTOS_KD_COMPONENT_COUNT, DPFLTR_ERROR_LEVEL, "x"), STATUS_SUCCESS);
    assert_int_equal(CapturedCalls, 0);
    /* Ids newer than the documented table but below the bound are kept. */
    assert_int_equal(DbgQueryDebugFilterState(DPFLTR_DRIVEEXTENDER_ID + 20, DPFLTR_INFO_LEVEL), TRUE);
}

static void test_dbgprint_filtered_returns_success(void **state)
{
    set_component_mask(DPFLTR_IHVDRIVER_ID, 0);
    assert_int_equal(DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "%s", "x"), STATUS_SUCCESS);
    assert_int_equal(call_vDbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "%s", "x"), STATUS_SUCCESS);
    assert_int_equal(CapturedCalls, 0);
}

/* ---- the va_list variants ------------------------------------------------------------ */

static void test_dbgprint_vdbgprintex(void **state)
{
    assert_int_equal(call_vDbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "%s:%d:%.2f;", "v", -3, 0.125),
                     STATUS_SUCCESS);
    assert_string_equal(Captured, "v:-3:0.12;");
    DbgSetDebugFilterState(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, FALSE);
    call_vDbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "no");
    assert_string_equal(Captured, "v:-3:0.12;");
}

static void test_dbgprint_prefix(void **state)
{
    call_vDbgPrintExWithPrefix("[drv] ", DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "value %u\n", 9u);
    assert_string_equal(Captured, "[drv] value 9\n");
    assert_int_equal(CapturedCalls, 1); /* prefix and message in one piece */

    /* NULL and empty prefixes. */
    reset_capture();
    call_vDbgPrintExWithPrefix(NULL, DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "a");
    call_vDbgPrintExWithPrefix("", DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "b");
    assert_string_equal(Captured, "ab");

    /* The prefix is filtered with the message. */
    reset_capture();
    set_component_mask(DPFLTR_IHVDRIVER_ID, 0);
    call_vDbgPrintExWithPrefix("[drv] ", DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "x");
    assert_int_equal(CapturedCalls, 0);

    /* The prefix counts towards the 512 bytes. */
    reset_capture();
    call_vDbgPrintExWithPrefix("0123456789", DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "%-600s", "m");
    assert_int_equal(CapturedLength, 512);
    assert_memory_equal(Captured, "0123456789m ", 12);
    assert_int_equal(Captured[511], ' ');

    /* A prefix longer than the limit is cut and the message dropped. */
    static char LongPrefix[600];
    for (ULONG i = 0; i < sizeof(LongPrefix) - 1; i++)
        LongPrefix[i] = (char)('a' + i % 26);
    LongPrefix[sizeof(LongPrefix) - 1] = '\0';
    reset_capture();
    call_vDbgPrintExWithPrefix(LongPrefix, DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "tail");
    assert_int_equal(CapturedLength, 512);
    assert_memory_equal(Captured, LongPrefix, 512);
    assert_int_equal(slen(Captured), 512);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_dbgprint_basic, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_nt_extensions, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_hook_replaces_console, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_empty_message, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_truncates_at_512, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_default_masks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_is_default_component_info_level, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_level_bits_and_masks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_error_level_and_system_wide_mask, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_unknown_component, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_filtered_returns_success, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_vdbgprintex, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dbgprint_prefix, setup, teardown),
};

NTOS_TEST_GROUP(kd_dbgprint, tests, NULL, NULL);
