/*
 * The Rtl registry helpers drivers use, the service keys of the default
 * registry (as the I/O manager's ZwLoadDriver will read them), and the .reg
 * loader: every value type through import and export, the format's forms,
 * errors with their line, and no pool left behind.
 */
#include "cm_test.h"

#define ROOT L"\\REGISTRY\\MACHINE\\CmTestRtl"

static NTSTATUS NTAPI collect(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength, PVOID Context,
                              PVOID EntryContext)
{
    ULONG *log = Context;
    ULONG n = log[0]++;
    log[1 + 3 * n] = ValueType;
    log[2 + 3 * n] = ValueLength;
    log[3 + 3 * n] = ValueName ? ValueName[0] : 0;
    (void)ValueData;
    return EntryContext == (PVOID)1 ? STATUS_INSUFFICIENT_RESOURCES : STATUS_SUCCESS;
}

static void query_registry_values(void **state)
{
    (void)state;
    HANDLE k, s;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_set_dword(k, L"Dword", 42), STATUS_SUCCESS);
    static const WCHAR str[] = L"hello", exp[] = L"%ROOT%\\x", multi[] = L"ab\0cd\0";
    static const UCHAR bin[] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(cmt_set(k, L"Str", REG_SZ, str, sizeof(str)), STATUS_SUCCESS);
    assert_int_equal(cmt_set(k, L"Exp", REG_EXPAND_SZ, exp, sizeof(exp)), STATUS_SUCCESS);
    assert_int_equal(cmt_set(k, L"Multi", REG_MULTI_SZ, multi, sizeof(multi)), STATUS_SUCCESS);
    assert_int_equal(cmt_set(k, L"Bin", REG_BINARY, bin, sizeof(bin)), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Sub", k, 0, &s, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_set_dword(s, L"Inner", 7), STATUS_SUCCESS);

    /* Direct forms. */
    ULONG dw = 0, missing = 99, inner = 0;
    UNICODE_STRING us = {0, 0, NULL};
    WCHAR fixedBuf[4];
    UNICODE_STRING small = {0, sizeof(fixedBuf), fixedBuf};
    LONG binBuf[4] = {-(LONG)sizeof(binBuf)};
    ULONG binTyped[6] = {sizeof(binTyped)};
    RTL_QUERY_REGISTRY_TABLE t[8];
    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Dword";
    t[0].EntryContext = &dw;
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[1].Name = L"Str";
    t[1].EntryContext = &us;
    t[2].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[2].Name = L"Absent";
    t[2].EntryContext = &missing;
    t[2].DefaultType = REG_DWORD;
    static ULONG five = 5;
    t[2].DefaultData = &five;
    t[2].DefaultLength = sizeof(ULONG);
    t[3].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[3].Name = L"Bin";
    t[3].EntryContext = binBuf;
    t[4].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[4].Name = L"Bin";
    t[4].EntryContext = binTyped;
    t[5].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    t[5].Name = L"Sub";
    t[6].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    t[6].Name = L"Inner";
    t[6].EntryContext = &inner;
    t[6].DefaultType = REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(dw, 42);
    assert_int_equal(us.Length, 10);
    assert_memory_equal(us.Buffer, L"hello", 10);
    RtlFreeUnicodeString(&us);
    assert_int_equal(missing, 5);
    assert_memory_equal(binBuf, bin, sizeof(bin));
    assert_int_equal(binTyped[0], sizeof(bin));
    assert_int_equal(binTyped[1], REG_BINARY);
    assert_memory_equal(&binTyped[2], bin, sizeof(bin));
    assert_int_equal(inner, 7);

    /* Required and missing; a too-small string; a type check that fails. */
    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Absent";
    t[0].EntryContext = &dw;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, NULL, NULL), STATUS_OBJECT_NAME_NOT_FOUND);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Str";
    t[0].EntryContext = &small;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, NULL, NULL), STATUS_BUFFER_TOO_SMALL);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    t[0].Name = L"Str";
    t[0].EntryContext = &dw;
    t[0].DefaultType = REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, NULL, NULL), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT L"\\Nope", t, NULL, NULL),
                     STATUS_OBJECT_NAME_NOT_FOUND);

    /* A query routine: per value, multi-strings split, expansion from the environment. */
    static ULONG log[64];
    RtlZeroMemory(log, sizeof(log));
    RtlZeroMemory(t, sizeof(t));
    t[0].QueryRoutine = collect;
    t[0].Name = L"Multi";
    t[1].QueryRoutine = collect;
    t[1].Name = L"Exp";
    t[2].QueryRoutine = collect;
    t[2].Name = L"Exp";
    t[2].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    static const WCHAR env[] = L"OTHER=1\0ROOT=C:\\W\0";
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, log, (PVOID)env), STATUS_SUCCESS);
    assert_int_equal(log[0], 4);
    assert_int_equal(log[1], REG_SZ);   /* "ab" */
    assert_int_equal(log[2], 6);
    assert_int_equal(log[4], REG_SZ);   /* "cd" */
    assert_int_equal(log[7], REG_SZ);   /* expanded: "C:\W\x" */
    assert_int_equal(log[8], 14);
    assert_int_equal(log[10], REG_EXPAND_SZ);
    assert_int_equal(log[11], sizeof(exp));
    /* Every value (Name NULL), in stored order; a routine's failure ends the query. */
    RtlZeroMemory(log, sizeof(log));
    RtlZeroMemory(t, sizeof(t));
    t[0].QueryRoutine = collect;
    t[0].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, log, NULL), STATUS_SUCCESS);
    assert_int_equal(log[0], 5);
    assert_int_equal(log[3], L'D');
    assert_int_equal(log[15], L'B');
    t[0].EntryContext = (PVOID)1;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT, t, log, NULL), STATUS_INSUFFICIENT_RESOURCES);
    /* NOVALUE on a key without values: called once with nothing. */
    RtlZeroMemory(log, sizeof(log));
    RtlZeroMemory(t, sizeof(t));
    t[0].QueryRoutine = collect;
    t[0].Flags = RTL_QUERY_REGISTRY_NOVALUE;
    HANDLE e;
    assert_int_equal(cmt_create(L"Empty", k, 0, &e, NULL), STATUS_SUCCESS);
    ZwClose(e);
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, ROOT L"\\Empty", t, log, NULL), STATUS_SUCCESS);
    assert_int_equal(log[0], 1);
    assert_int_equal(log[1], REG_NONE);
    /* DELETE, and a handle as the root. */
    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_DELETE;
    t[0].Name = L"Dword";
    t[0].EntryContext = &dw;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)k, t, NULL, NULL), STATUS_SUCCESS);
    ULONG rl;
    UCHAR buf[32];
    assert_int_equal(cmt_query(k, L"Dword", KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(s);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestRtl");
}

static void write_delete_check_create(void **state)
{
    (void)state;
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, ROOT), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(RtlCreateRegistryKey(RTL_REGISTRY_ABSOLUTE, ROOT), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, ROOT), STATUS_SUCCESS);
    ULONG v = 3;
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, ROOT, L"W", REG_DWORD, &v, sizeof(v)), STATUS_SUCCESS);
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, ROOT L"\\No", L"W", REG_DWORD, &v, sizeof(v)),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(RtlDeleteRegistryValue(RTL_REGISTRY_ABSOLUTE, ROOT, L"W"), STATUS_SUCCESS);
    assert_int_equal(RtlDeleteRegistryValue(RTL_REGISTRY_ABSOLUTE, ROOT, L"W"), STATUS_OBJECT_NAME_NOT_FOUND);
    /* The relative roots: SERVICES and CONTROL go through CurrentControlSet. */
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"Null"), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_CONTROL, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_WINDOWS_NT, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_DEVICEMAP, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_USER, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_MAXIMUM, NULL), STATUS_INVALID_PARAMETER);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestRtl");
}

static void service_keys(void **state)
{
    (void)state;
    static const PCWSTR names[] = {L"Null", L"Loopback", L"Console"};
    static const ULONG starts[] = {SERVICE_SYSTEM_START, SERVICE_DEMAND_START, SERVICE_SYSTEM_START};
    for (ULONG i = 0; i < 3; i++) {
        WCHAR path[128] = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
        ULONG n = 0;
        while (path[n])
            n++;
        for (PCWSTR p = names[i]; *p; p++)
            path[n++] = *p;
        path[n] = 0;
        UNICODE_STRING us;
        RtlInitUnicodeString(&us, path);
        CM_SERVICE_INFORMATION info;
        assert_int_equal(CmQueryServiceInformation(&us, &info), STATUS_SUCCESS);
        assert_int_equal(info.Type, SERVICE_KERNEL_DRIVER);
        assert_int_equal(info.Start, starts[i]);
        assert_int_equal(info.ErrorControl, 1);
        UNICODE_STRING name;
        RtlInitUnicodeString(&name, names[i]);
        assert_true(RtlEqualUnicodeString(&info.ServiceName, &name, FALSE));
        assert_true(info.ImagePath.Length > 0);
        assert_int_equal(info.ImagePath.Buffer[0], L'\\');
        assert_true(info.ParametersKey.Length > 0);
        CmFreeServiceInformation(&info);
    }
    /* The loopback driver's parameters, the way it reads them from DriverEntry. */
    ULONG maxTransfer = 0, depth = 0;
    UNICODE_STRING device = {0, 0, NULL};
    RTL_QUERY_REGISTRY_TABLE t[4];
    RtlZeroMemory(t, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"MaxTransferSize";
    t[0].EntryContext = &maxTransfer;
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[1].Name = L"QueueDepth";
    t[1].EntryContext = &depth;
    t[2].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[2].Name = L"DeviceName";
    t[2].EntryContext = &device;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"Loopback\\Parameters", t, NULL, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(maxTransfer, 0x10000);
    assert_int_equal(depth, 16);
    assert_int_equal(device.Length, sizeof(L"\\Device\\Loopback") - 2);
    RtlFreeUnicodeString(&device);
    /* A key that is no service. */
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\Nope");
    CM_SERVICE_INFORMATION info;
    assert_int_equal(CmQueryServiceInformation(&us, &info), STATUS_OBJECT_NAME_NOT_FOUND);
    RtlInitUnicodeString(&us, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services");
    assert_int_equal(CmQueryServiceInformation(&us, &info), STATUS_OBJECT_NAME_NOT_FOUND);
}

static SIZE_T slen(const char *s)
{
    SIZE_T n = 0;
    while (s[n])
        n++;
    return n;
}

static void export_of(PCWSTR Path, PCHAR *Text, PSIZE_T Len)
{
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, Path);
    assert_int_equal(CmExportRegistryText(&us, Text, Len), STATUS_SUCCESS);
}

static void reg_import_export(void **state)
{
    (void)state;
    LONG64 keys = cmt_live(CMT_TAG_KEY), values = cmt_live(CMT_TAG_VALUE);
    static const char text[] =
        "Windows Registry Editor Version 5.00\r\n"
        "\r\n"
        "; a comment\r\n"
        "[HKEY_LOCAL_MACHINE\\CmTestRtl\\Types]\r\n"
        "@=\"default\"\r\n"
        "\"sz\"=\"a \\\"quoted\\\" \\\\ string\"\r\n"
        "\"dword\"=dword:deadBEEF\r\n"
        "\"binary\"=hex:00,01,ff\r\n"
        "\"none\"=hex(0):\r\n"
        "\"expand\"=hex(2):25,00,41,00,25,00,00,00\r\n"
        "\"big\"=hex(5):00,00,00,01\r\n"
        "\"multi\"=hex(7):61,00,00,00,62,00,00,00,\\\r\n"
        "  00,00\r\n"
        "\"qword\"=hex(b):01,02,03,04,05,06,07,08\r\n"
        "\"resource\"=hex(8):01\r\n"
        "\"typed\"=hex(12345):aa\r\n"
        "\"odd sz\"=hex(1):41,00\r\n"
        "\"gone\"=dword:1\r\n"
        "\"gone\"=-\r\n"
        "\r\n"
        "[HKEY_LOCAL_MACHINE\\CmTestRtl\\Types\\Child]\r\n"
        "[HKEY_LOCAL_MACHINE\\CmTestRtl\\Dead]\r\n"
        "[-HKEY_LOCAL_MACHINE\\CmTestRtl\\Dead]\r\n"
        "[HKEY_LOCAL_MACHINE\\CmTestRtl\\Link]\r\n"
        "\"SymbolicLinkValue\"=hex(6):5c,00,52,00,45,00,47,00,49,00,53,00,54,00,52,00,59,00,5c,00,4d,00,\\\r\n"
        "  41,00,43,00,48,00,49,00,4e,00,45,00,5c,00,43,00,6d,00,54,00,65,00,73,00,74,00,52,00,74,00,\\\r\n"
        "  6c,00,5c,00,54,00,79,00,70,00,65,00,73,00\r\n";
    ULONG line = 0;
    assert_int_equal(CmImportRegistryText(text, sizeof(text) - 1, NULL, &line), STATUS_SUCCESS);
    HANDLE k;
    assert_int_equal(cmt_open(ROOT L"\\Types", NULL, &k), STATUS_SUCCESS);
    UCHAR buf[128];
    ULONG rl;
    PKEY_VALUE_PARTIAL_INFORMATION p = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
    assert_int_equal(cmt_query(k, L"sz", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(p->Type, REG_SZ);
    assert_memory_equal(p->Data, L"a \"quoted\" \\ string", sizeof(L"a \"quoted\" \\ string"));
    assert_int_equal(cmt_query(k, L"dword", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(*(PULONG)p->Data, 0xdeadbeef);
    assert_int_equal(cmt_query(k, L"multi", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(p->Type, REG_MULTI_SZ);
    assert_int_equal(p->DataLength, 10);
    assert_int_equal(cmt_query(k, L"typed", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(p->Type, 0x12345);
    assert_int_equal(cmt_query(k, L"gone", KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(k);
    assert_int_equal(cmt_open(ROOT L"\\Dead", NULL, &k), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(cmt_open(ROOT L"\\Link\\Child", NULL, &k), STATUS_SUCCESS); /* the link works */
    ZwClose(k);

    /* Export, re-import elsewhere-free, export again: the same text. */
    PCHAR e1, e2;
    SIZE_T l1, l2;
    export_of(ROOT, &e1, &l1);
    static const char expectDword[] = "\"dword\"=dword:deadbeef\n";
    BOOLEAN found = FALSE;
    for (SIZE_T i = 0; i + sizeof(expectDword) - 1 <= l1 && !found; i++)
        found = RtlCompareMemory(e1 + i, expectDword, sizeof(expectDword) - 1) == sizeof(expectDword) - 1;
    assert_true(found);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestRtl");
    assert_int_equal(CmImportRegistryText(e1, l1, NULL, &line), STATUS_SUCCESS);
    export_of(ROOT, &e2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(e1, e2, l1);
    ExFreePool(e1);
    ExFreePool(e2);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestRtl");

    /* REGEDIT4: hex(2)/hex(7) bytes are single-byte characters. */
    static const char r4[] = "REGEDIT4\n\n[HKEY_USERS\\CmTestRtl4]\n\"e\"=hex(2):41,42,00\n";
    assert_int_equal(CmImportRegistryText(r4, sizeof(r4) - 1, NULL, &line), STATUS_SUCCESS);
    assert_int_equal(cmt_open(L"\\REGISTRY\\USER\\CmTestRtl4", NULL, &k), STATUS_SUCCESS);
    assert_int_equal(cmt_query(k, L"e", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(p->DataLength, 6);
    assert_memory_equal(p->Data, L"AB", 6);
    ZwClose(k);
    cmt_delete_tree("HKEY_USERS\\CmTestRtl4");

    /* Errors name their line. */
    static const struct {
        const char *Text;
        ULONG Line;
    } bad[] = {
        {"not a header\n", 1},
        {"\n\nWindows Registry Editor Version 5.00\n[HKEY_NOWHERE\\X]\n", 4},
        {"REGEDIT4\n\"orphan\"=dword:1\n", 2},
        {"REGEDIT4\n[HKEY_LOCAL_MACHINE\\CmTestRtl]\n\"x\"=dword:123456789\n", 3},
        {"REGEDIT4\n[HKEY_LOCAL_MACHINE\\CmTestRtl]\n\"x\"=hex:0g\n", 3},
        {"REGEDIT4\n[HKEY_LOCAL_MACHINE\\CmTestRtl]\n\"x\"=\"open\n", 3},
        {"REGEDIT4\n[HKEY_LOCAL_MACHINE\\CmTestRtl\n", 2},
        {"", 1},
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(bad); i++) {
        line = 0;
        assert_int_equal(CmImportRegistryText(bad[i].Text, slen(bad[i].Text), NULL, &line), STATUS_INVALID_PARAMETER);
        assert_int_equal(line, bad[i].Line);
    }
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestRtl");
    assert_int_equal(cmt_live(CMT_TAG_KEY), keys);
    assert_int_equal(cmt_live(CMT_TAG_VALUE), values);

    /* The whole boot registry exports. */
    export_of(L"\\REGISTRY", &e1, &l1);
    assert_true(l1 > 1000);
    ExFreePool(e1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(query_registry_values),
    cmocka_unit_test(write_delete_check_create),
    cmocka_unit_test(service_keys),
    cmocka_unit_test(reg_import_export),
};

NTOS_TEST_GROUP(cm_rtl, tests, NULL, NULL);
