/*
 * Boot modules and the kernel command line (arch.h "boot modules"), on both
 * backends. Without modules the table must still be consistent; when the
 * command line carries ktest.expect_modules=name1,name2,... (the boot.modules
 * and boot.initrd_raw QEMU runs, and boot_test_modules.with_modules on the
 * host), exactly those modules must be present, in that order, each one's
 * contents naming it (the test files say "ntos boot module <name>"), which
 * proves the data belongs to the name and was not cut or shifted.
 */
#include "ntos_test.h"

/* The value of Key=... in the command line, copied into Value; FALSE if absent. */
static BOOLEAN command_line_value(const char *Key, char *Value, SIZE_T Size)
{
    const char *s = arch_boot_command_line();
    SIZE_T klen = 0;
    while (Key[klen])
        klen++;
    while (*s) {
        while (*s == ' ')
            s++;
        SIZE_T i = 0;
        while (i < klen && s[i] == Key[i])
            i++;
        if (i == klen && s[i] == '=') {
            s += klen + 1;
            SIZE_T n = 0;
            while (s[n] && s[n] != ' ' && n + 1 < Size) {
                Value[n] = s[n];
                n++;
            }
            Value[n] = 0;
            return TRUE;
        }
        while (*s && *s != ' ')
            s++;
    }
    return FALSE;
}

static BOOLEAN data_contains(const void *Data, SIZE_T Size, const char *Text, SIZE_T Length)
{
    const char *d = Data;
    for (SIZE_T i = 0; Length <= Size && i <= Size - Length; i++) {
        SIZE_T k = 0;
        while (k < Length && d[i + k] == Text[k])
            k++;
        if (k == Length)
            return TRUE;
    }
    return FALSE;
}

static void check_expected_modules(char *expect);

static void module_table_matches_command_line(void **state)
{
    (void)state;
    static char expect[512];
    ULONG count = arch_boot_module_count();
    assert_non_null(arch_boot_command_line());
    for (ULONG i = 0; i < count; i++) {
        ARCH_BOOT_MODULE m = {0};
        assert_true(arch_boot_module(i, &m));
        assert_non_null(m.Name);
        assert_true(m.Name[0] != 0);
        assert_true(m.Data != NULL || m.Size == 0);
    }
    ARCH_BOOT_MODULE untouched = {"sentinel", NULL, 7};
    assert_false(arch_boot_module(count, &untouched));
    assert_false(arch_boot_module(0xFFFFFFFFu, &untouched));
    assert_string_equal(untouched.Name, "sentinel");
    assert_int_equal(untouched.Size, 7);
    /* Other runs may pass modules (drivers for the loader's tests) without
     * saying what to expect; then consistency is all there is to check. */
    if (command_line_value("ktest.expect_modules", expect, sizeof(expect)))
        check_expected_modules(expect);
}

/* Called by module_table_matches_command_line when ktest.expect_modules is given. */
static void check_expected_modules(char *expect)
{
    ULONG index = 0;
    char *name = expect;
    for (;;) {
        char *end = name;
        while (*end && *end != ',')
            end++;
        BOOLEAN last = *end == 0;
        *end = 0;
        ARCH_BOOT_MODULE m;
        if (!arch_boot_module(index, &m))
            fail_msg("boot module %u (%s) is missing: only %u module(s)", index, name, arch_boot_module_count());
        assert_string_equal(m.Name, name);
        static char marker[160];
        SIZE_T n = 0;
        for (const char *p = "ntos boot module "; *p; p++)
            marker[n++] = *p;
        for (const char *p = name; *p && n + 1 < sizeof(marker); p++)
            marker[n++] = *p;
        marker[n] = 0;
        if (!data_contains(m.Data, m.Size, marker, n))
            fail_msg("boot module %s (%u bytes) does not contain \"%s\"", m.Name, (unsigned)m.Size, marker);
        index++;
        if (last)
            break;
        name = end + 1;
    }
    assert_int_equal(arch_boot_module_count(), index);
}

static const struct CMUnitTest boot_module_tests[] = {
    cmocka_unit_test(module_table_matches_command_line),
};

NTOS_TEST_GROUP(boot_modules, boot_module_tests, NULL, NULL);
