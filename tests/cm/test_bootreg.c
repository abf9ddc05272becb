/*
 * Registry text given as a boot module (*.reg) is imported on top of the
 * seed at boot (CmInitSystem). The CTest entry cm_test_bootreg.with_module and
 * the QEMU entry boot.registry pass tests/cm/data/ntos_boot_test.reg; without
 * it (the plain runs) the test reports itself skipped.
 */
#include "ntos_test.h"

#include <ntos/arch.h>
#include <ntos/cm.h>
#include <ntos/ob.h>
#include <ntos/rtl.h>

static BOOLEAN have_module(void)
{
    for (ULONG i = 0; i < arch_boot_module_count(); i++) {
        ARCH_BOOT_MODULE m;
        if (arch_boot_module(i, &m)) {
            const char *want = "ntos_boot_test.reg";
            ULONG k = 0;
            while (want[k] && m.Name[k] == want[k])
                k++;
            if (!want[k] && !m.Name[k])
                return TRUE;
        }
    }
    return FALSE;
}

static void boot_module_values_are_in_the_registry(void **state)
{
    (void)state;
    if (!have_module())
        skip();
    UNICODE_STRING path = RTL_CONSTANT_STRING(L"\\Registry\\Machine\\SOFTWARE\\NtosBootTest");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE k;
    assert_int_equal(ZwOpenKey(&k, KEY_READ, &oa), STATUS_SUCCESS);
    UCHAR buf[128];
    ULONG rl;
    UNICODE_STRING answer = RTL_CONSTANT_STRING(L"Answer");
    assert_int_equal(ZwQueryValueKey(k, &answer, KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    PKEY_VALUE_PARTIAL_INFORMATION v = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
    assert_int_equal(v->Type, REG_DWORD);
    assert_int_equal(v->DataLength, 4);
    assert_int_equal(*(ULONG *)v->Data, 42);
    UNICODE_STRING greeting = RTL_CONSTANT_STRING(L"Greeting");
    assert_int_equal(ZwQueryValueKey(k, &greeting, KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_SUCCESS);
    assert_int_equal(v->Type, REG_SZ);
    assert_memory_equal(v->Data, L"from a boot module", sizeof(L"from a boot module"));
    /* The seed is still there underneath. */
    UNICODE_STRING ccs = RTL_CONSTANT_STRING(L"\\Registry\\Machine\\System\\CurrentControlSet\\Services");
    HANDLE s;
    InitializeObjectAttributes(&oa, &ccs, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenKey(&s, KEY_READ, &oa), STATUS_SUCCESS);
    ZwClose(s);
    ZwClose(k);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(boot_module_values_are_in_the_registry),
};

NTOS_TEST_GROUP(cm_bootreg, tests, NULL, NULL);
