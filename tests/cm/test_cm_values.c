/*
 * Values: every documented type stored and read back, the value
 * information classes with every buffer size (0, header only, one short,
 * exact: STATUS_BUFFER_TOO_SMALL vs STATUS_BUFFER_OVERFLOW and
 * ResultLength), the default value, enumeration order, deletion.
 */
#include "cm_test.h"

#define ROOT L"\\REGISTRY\\MACHINE\\CmTestValues"

static void every_type_round_trips(void **state)
{
    (void)state;
    HANDLE k;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    static const WCHAR sz[] = L"text", expand[] = L"%SystemRoot%\\x", multi[] = L"one\0two\0";
    static const WCHAR link[] = L"\\REGISTRY\\MACHINE";
    static const UCHAR bin[] = {1, 2, 3, 0, 255};
    ULONG dw = 0x12345678, be = 0x78563412;
    ULONGLONG qw = 0x1122334455667788ULL;
    struct {
        PCWSTR Name;
        ULONG Type;
        const void *Data;
        ULONG Length;
    } v[] = {
        {L"none", REG_NONE, bin, 0},
        {L"sz", REG_SZ, sz, sizeof(sz)},
        {L"expand", REG_EXPAND_SZ, expand, sizeof(expand)},
        {L"binary", REG_BINARY, bin, sizeof(bin)},
        {L"dword", REG_DWORD, &dw, 4},
        {L"big", REG_DWORD_BIG_ENDIAN, &be, 4},
        {L"link", REG_LINK, link, sizeof(link) - 2},
        {L"multi", REG_MULTI_SZ, multi, sizeof(multi)},
        {L"reslist", REG_RESOURCE_LIST, bin, 3},
        {L"fullres", REG_FULL_RESOURCE_DESCRIPTOR, bin, 4},
        {L"reqs", REG_RESOURCE_REQUIREMENTS_LIST, bin, 2},
        {L"qword", REG_QWORD, &qw, 8},
        {L"odd", 0x12345, bin, 1},
    };
    for (ULONG i = 0; i < RTL_NUMBER_OF(v); i++)
        assert_int_equal(cmt_set(k, v[i].Name, v[i].Type, v[i].Data, v[i].Length), STATUS_SUCCESS);
    UCHAR buf[256];
    ULONG rl;
    for (ULONG i = 0; i < RTL_NUMBER_OF(v); i++) {
        assert_int_equal(cmt_query(k, v[i].Name, KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
        PKEY_VALUE_PARTIAL_INFORMATION p = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
        assert_int_equal(p->Type, v[i].Type);
        assert_int_equal(p->DataLength, v[i].Length);
        if (v[i].Length)
            assert_memory_equal(p->Data, v[i].Data, v[i].Length);
        /* Enumeration sees them in the order they were set. */
        assert_int_equal(ZwEnumerateValueKey(k, i, KeyValueBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
        UNICODE_STRING n;
        RtlInitUnicodeString(&n, v[i].Name);
        assert_int_equal(((PKEY_VALUE_BASIC_INFORMATION)buf)->NameLength, n.Length);
        assert_memory_equal(((PKEY_VALUE_BASIC_INFORMATION)buf)->Name, n.Buffer, n.Length);
    }
    assert_int_equal(ZwEnumerateValueKey(k, RTL_NUMBER_OF(v), KeyValueBasicInformation, buf, sizeof(buf), &rl),
                     STATUS_NO_MORE_ENTRIES);
    /* Replacing keeps the place and the stored name's case. */
    assert_int_equal(cmt_set_dword(k, L"SZ", 7), STATUS_SUCCESS);
    assert_int_equal(ZwEnumerateValueKey(k, 1, KeyValueBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_VALUE_BASIC_INFORMATION)buf)->Type, REG_DWORD);
    assert_int_equal(((PKEY_VALUE_BASIC_INFORMATION)buf)->Name[0], L's');
    /* The default (unnamed) value. */
    UNICODE_STRING empty = {0, 0, NULL};
    assert_int_equal(ZwQueryValueKey(k, &empty, KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ZwSetValueKey(k, NULL, 0, REG_SZ, (PVOID)sz, sizeof(sz)), STATUS_SUCCESS);
    assert_int_equal(ZwQueryValueKey(k, &empty, KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    /* Deletion. */
    assert_int_equal(ZwDeleteValueKey(k, &empty), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteValueKey(k, &empty), STATUS_OBJECT_NAME_NOT_FOUND);
    /* Bad arguments. */
    UNICODE_STRING odd = {3, 4, (PWSTR)sz};
    assert_int_equal(ZwSetValueKey(k, &odd, 0, REG_SZ, (PVOID)sz, 2), STATUS_INVALID_PARAMETER);
    assert_int_equal(cmt_set(k, L"x", REG_BINARY, NULL, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(cmt_query(k, L"dword", (KEY_VALUE_INFORMATION_CLASS)9, buf, sizeof(buf), &rl),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(cmt_query(k, L"dword", KeyValuePartialInformation, buf, sizeof(buf), NULL),
                     STATUS_INVALID_PARAMETER);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestValues");
}

static void value_buffer_sizes(void **state)
{
    (void)state;
    HANDLE k;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    static const UCHAR data[] = {10, 20, 30, 40, 50, 60, 70};
    assert_int_equal(cmt_set(k, L"abc", REG_BINARY, data, sizeof(data)), STATUS_SUCCESS);
    DECLSPEC_ALIGN(8) UCHAR buf[128];
    ULONG rl;

    /* Partial: header 12 bytes, then the data, copied only whole. */
    ULONG need = 12 + 7;
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformation, buf, 0, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, need);
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformation, buf, 11, &rl), STATUS_BUFFER_TOO_SMALL);
    RtlFillMemory(buf, sizeof(buf), 0xEE);
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformation, buf, 12, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(rl, need);
    PKEY_VALUE_PARTIAL_INFORMATION p = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
    assert_int_equal(p->Type, REG_BINARY);
    assert_int_equal(p->DataLength, 7);
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformation, buf, need - 1, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(p->Data[0], 0xEE);
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformation, buf, need, &rl), STATUS_SUCCESS);
    assert_memory_equal(p->Data, data, 7);

    /* Partial, Align64: header 8 bytes. */
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformationAlign64, buf, 7, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, 8 + 7);
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformationAlign64, buf, 8, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(cmt_query(k, L"abc", KeyValuePartialInformationAlign64, buf, 15, &rl), STATUS_SUCCESS);
    assert_memory_equal(((PKEY_VALUE_PARTIAL_INFORMATION_ALIGN64)buf)->Data, data, 7);

    /* Basic: header 12 bytes, then the name, copied as far as it fits. */
    assert_int_equal(cmt_query(k, L"abc", KeyValueBasicInformation, buf, 11, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, 12 + 6);
    assert_int_equal(cmt_query(k, L"abc", KeyValueBasicInformation, buf, 14, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(((PKEY_VALUE_BASIC_INFORMATION)buf)->NameLength, 6);
    assert_int_equal(((PKEY_VALUE_BASIC_INFORMATION)buf)->Name[0], L'a');
    assert_int_equal(cmt_query(k, L"abc", KeyValueBasicInformation, buf, 18, &rl), STATUS_SUCCESS);

    /* Full: header 20 bytes, name, data at a ULONG boundary. */
    ULONG off = (ULONG)ALIGN_UP_BY(20 + 6, 4);
    assert_int_equal(cmt_query(k, L"abc", KeyValueFullInformation, buf, 19, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, off + 7);
    assert_int_equal(cmt_query(k, L"abc", KeyValueFullInformation, buf, off + 6, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(cmt_query(k, L"abc", KeyValueFullInformation, buf, off + 7, &rl), STATUS_SUCCESS);
    PKEY_VALUE_FULL_INFORMATION f = (PKEY_VALUE_FULL_INFORMATION)buf;
    assert_int_equal(f->DataOffset, off);
    assert_int_equal(f->DataLength, 7);
    assert_memory_equal(buf + f->DataOffset, data, 7);

    /* Full, Align64: the data on an 8-byte boundary of the buffer. */
    assert_int_equal(cmt_query(k, L"abc", KeyValueFullInformationAlign64, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(f->DataOffset, 32);
    assert_int_equal(rl, 32 + 7);
    assert_memory_equal(buf + 32, data, 7);

    /* Enumeration has the same rules. */
    assert_int_equal(ZwEnumerateValueKey(k, 0, KeyValuePartialInformation, buf, 0, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, need);
    assert_int_equal(ZwEnumerateValueKey(k, 0, KeyValuePartialInformation, buf, 12, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(ZwEnumerateValueKey(k, 1, KeyValuePartialInformation, buf, 0, &rl), STATUS_NO_MORE_ENTRIES);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestValues");
}

static void no_pool_left_behind(void **state)
{
    (void)state;
    LONG64 keys = cmt_live(CMT_TAG_KEY), values = cmt_live(CMT_TAG_VALUE);
    HANDLE k, c;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    for (ULONG i = 0; i < 40; i++) {
        WCHAR name[8] = {L'k', (WCHAR)(L'A' + i % 26), (WCHAR)(L'0' + i / 26), 0};
        assert_int_equal(cmt_create(name, k, 0, &c, NULL), STATUS_SUCCESS);
        assert_int_equal(cmt_set_dword(c, name, i), STATUS_SUCCESS);
        assert_int_equal(cmt_set_dword(k, name, i), STATUS_SUCCESS);
        ZwClose(c);
    }
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestValues");
    assert_int_equal(cmt_live(CMT_TAG_KEY), keys);
    assert_int_equal(cmt_live(CMT_TAG_VALUE), values);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_type_round_trips),
    cmocka_unit_test(value_buffer_sizes),
    cmocka_unit_test(no_pool_left_behind),
};

NTOS_TEST_GROUP(cm_values, tests, NULL, NULL);
