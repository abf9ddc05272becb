/*
 * Keys: creation and opening (dispositions, missing paths, options), the
 * \REGISTRY namespace, deletion (children, handles to deleted keys), volatile
 * keys, registry links (CurrentControlSet), rename, flush, key information
 * with every buffer size, and no pool left behind.
 */
#include "cm_test.h"

#define ROOT L"\\REGISTRY\\MACHINE\\CmTestKeys"

static void create_and_open_dispositions(void **state)
{
    (void)state;
    HANDLE k, k2;
    ULONG disp = 0;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, &disp), STATUS_SUCCESS);
    assert_int_equal(disp, REG_CREATED_NEW_KEY);
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k2, &disp), STATUS_SUCCESS);
    assert_int_equal(disp, REG_OPENED_EXISTING_KEY);
    ZwClose(k2);
    /* Case never matters, and the stored name keeps its case. */
    assert_int_equal(cmt_open(L"\\registry\\machine\\cmtestkeys", NULL, &k2), STATUS_SUCCESS);
    WCHAR name[128];
    cmt_key_name(k2, name, 128);
    assert_true(cmt_wcseq(name, L"\\REGISTRY\\MACHINE\\CmTestKeys"));
    ZwClose(k2);
    /* Relative creation, missing intermediate, missing last. */
    assert_int_equal(cmt_create(L"Sub", k, 0, &k2, &disp), STATUS_SUCCESS);
    ZwClose(k2);
    assert_int_equal(cmt_create(L"Missing\\Leaf", k, 0, &k2, &disp), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(cmt_open(L"Nothing", k, &k2), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_ptr_equal(k2, NULL);
    /* An empty name relative to a key opens that key again. */
    assert_int_equal(cmt_open(L"", k, &k2), STATUS_SUCCESS);
    assert_ptr_not_equal(k2, k);
    ZwClose(k2);
    /* Bad parameters. */
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    assert_int_equal(ZwCreateKey(&k2, KEY_READ, cmt_oa(&oa, &us, L"X", k), 0, NULL, 0x100, NULL),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwOpenKeyEx(&k2, KEY_READ, cmt_oa(&oa, &us, L"Sub", k), REG_OPTION_VOLATILE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwOpenKeyEx(&k2, KEY_READ, cmt_oa(&oa, &us, L"Sub", k), REG_OPTION_BACKUP_RESTORE),
                     STATUS_SUCCESS);
    ZwClose(k2);
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenKey(&k2, KEY_READ, &oa), STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(ZwOpenKey(NULL, KEY_READ, cmt_oa(&oa, &us, ROOT, NULL)), STATUS_INVALID_PARAMETER);
    /* A handle that is not a key cannot be a root. */
    assert_int_equal(cmt_open(L"Sub", (HANDLE)(ULONG_PTR)0x7777774, &k2), STATUS_INVALID_HANDLE);
    /* Opening \REGISTRY and enumerating it shows the two hives. */
    assert_int_equal(cmt_open(L"\\REGISTRY", NULL, &k2), STATUS_SUCCESS);
    UCHAR buf[128];
    ULONG rl;
    assert_int_equal(ZwEnumerateKey(k2, 0, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_BASIC_INFORMATION)buf)->NameLength, 14);
    assert_int_equal(ZwEnumerateKey(k2, 1, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_BASIC_INFORMATION)buf)->NameLength, 8);
    assert_int_equal(ZwEnumerateKey(k2, 2, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_NO_MORE_ENTRIES);
    ZwClose(k2);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestKeys");
}

static void delete_rules_and_deleted_handles(void **state)
{
    (void)state;
    LONG64 keys = cmt_live(CMT_TAG_KEY), values = cmt_live(CMT_TAG_VALUE);
    HANDLE k, c, c2;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Child", k, 0, &c, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_set_dword(c, L"v", 5), STATUS_SUCCESS);
    assert_int_equal(cmt_open(L"Child", k, &c2), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteKey(k), STATUS_CANNOT_DELETE); /* has a subkey */
    assert_int_equal(ZwDeleteKey(c), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteKey(c), STATUS_KEY_DELETED);
    /* Every operation through either handle now answers STATUS_KEY_DELETED. */
    UCHAR buf[64];
    ULONG rl;
    assert_int_equal(ZwQueryKey(c2, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_KEY_DELETED);
    assert_int_equal(ZwQueryKey(c2, KeyNameInformation, buf, sizeof(buf), &rl), STATUS_KEY_DELETED);
    assert_int_equal(cmt_set_dword(c2, L"v", 1), STATUS_KEY_DELETED);
    assert_int_equal(cmt_query(c2, L"v", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_KEY_DELETED);
    assert_int_equal(ZwEnumerateKey(c2, 0, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_KEY_DELETED);
    assert_int_equal(ZwEnumerateValueKey(c2, 0, KeyValueBasicInformation, buf, sizeof(buf), &rl),
                     STATUS_KEY_DELETED);
    assert_int_equal(ZwFlushKey(c2), STATUS_KEY_DELETED);
    HANDLE x;
    assert_int_equal(cmt_create(L"Below", c2, 0, &x, NULL), STATUS_KEY_DELETED);
    assert_int_equal(cmt_open(L"Child", k, &x), STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(c);
    ZwClose(c2);
    /* The hive roots cannot go. */
    assert_int_equal(cmt_open(L"\\REGISTRY\\MACHINE", NULL, &x), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteKey(x), STATUS_CANNOT_DELETE);
    ZwClose(x);
    assert_int_equal(ZwDeleteKey(k), STATUS_SUCCESS);
    ZwClose(k);
    assert_int_equal(cmt_live(CMT_TAG_KEY), keys);
    assert_int_equal(cmt_live(CMT_TAG_VALUE), values);
}

static void volatile_keys(void **state)
{
    (void)state;
    HANDLE k, v, x;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Vol", k, REG_OPTION_VOLATILE, &v, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Stable", v, 0, &x, NULL), STATUS_CHILD_MUST_BE_VOLATILE);
    assert_int_equal(cmt_create(L"AlsoVol", v, REG_OPTION_VOLATILE, &x, NULL), STATUS_SUCCESS);
    ZwClose(x);
    /* A volatile child of a stable key is fine. */
    ZwClose(v);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestKeys");
}

static void links(void **state)
{
    (void)state;
    HANDLE k, t, l, x;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    /* CurrentControlSet of the default registry is a link to ControlSet001. */
    assert_int_equal(cmt_open(L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Null", NULL, &x),
                     STATUS_SUCCESS);
    WCHAR name[160];
    cmt_key_name(x, name, 160);
    assert_true(cmt_wcseq(name, L"\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\Null"));
    ZwClose(x);
    /* A link of our own. */
    assert_int_equal(cmt_create(L"Target", k, 0, &t, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_set_dword(t, L"Here", 1), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Link", k, REG_OPTION_CREATE_LINK, &l, NULL), STATUS_SUCCESS);
    static const WCHAR target[] = L"\\REGISTRY\\MACHINE\\CmTestKeys\\Target";
    assert_int_equal(cmt_set(l, L"SymbolicLinkValue", REG_LINK, target, sizeof(target) - sizeof(WCHAR)),
                     STATUS_SUCCESS);
    ZwClose(l);
    assert_int_equal(cmt_open(L"Link", k, &x), STATUS_SUCCESS);
    ULONG rl;
    UCHAR buf[64];
    assert_int_equal(cmt_query(x, L"Here", KeyValuePartialInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    ZwClose(x);
    /* Creating through the link creates below the target. */
    assert_int_equal(cmt_create(L"Link\\Made", k, 0, &x, NULL), STATUS_SUCCESS);
    ZwClose(x);
    assert_int_equal(cmt_open(L"Target\\Made", k, &x), STATUS_SUCCESS);
    ZwClose(x);
    /* OBJ_OPENLINK / REG_OPTION_OPEN_LINK open the link itself. */
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    assert_int_equal(ZwOpenKeyEx(&x, KEY_READ, cmt_oa(&oa, &us, L"Link", k), REG_OPTION_OPEN_LINK), STATUS_SUCCESS);
    assert_int_equal(cmt_query(x, L"Here", KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(x);
    cmt_oa(&oa, &us, L"Link", k);
    oa.Attributes |= OBJ_OPENLINK;
    assert_int_equal(ZwOpenKey(&x, KEY_READ, &oa), STATUS_SUCCESS);
    assert_int_equal(cmt_query(x, L"SymbolicLinkValue", KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_BUFFER_OVERFLOW);
    ZwClose(x);
    /* A link without a target, and a link cycle, lead nowhere. */
    assert_int_equal(cmt_create(L"Dangling", k, REG_OPTION_CREATE_LINK, &l, NULL), STATUS_SUCCESS);
    ZwClose(l);
    assert_int_equal(cmt_open(L"Dangling", k, &x), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(cmt_create(L"Loop", k, REG_OPTION_CREATE_LINK, &l, NULL), STATUS_SUCCESS);
    static const WCHAR loop[] = L"\\REGISTRY\\MACHINE\\CmTestKeys\\Loop";
    assert_int_equal(cmt_set(l, L"SymbolicLinkValue", REG_LINK, loop, sizeof(loop) - sizeof(WCHAR)), STATUS_SUCCESS);
    ZwClose(l);
    assert_int_equal(cmt_open(L"Loop", k, &x), STATUS_REPARSE_POINT_NOT_RESOLVED);
    ZwClose(t);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestKeys");
}

static void rename_and_flush(void **state)
{
    (void)state;
    HANDLE k, a, b;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Alpha", k, 0, &a, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Beta", k, 0, &b, NULL), STATUS_SUCCESS);
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, L"beta");
    assert_int_equal(ZwRenameKey(a, &n), STATUS_CANNOT_DELETE); /* taken */
    RtlInitUnicodeString(&n, L"a\\b");
    assert_int_equal(ZwRenameKey(a, &n), STATUS_INVALID_PARAMETER);
    RtlInitUnicodeString(&n, L"Zeta");
    assert_int_equal(ZwRenameKey(a, &n), STATUS_SUCCESS);
    RtlInitUnicodeString(&n, L"BETA");
    assert_int_equal(ZwRenameKey(b, &n), STATUS_SUCCESS); /* its own name in another case */
    WCHAR name[128];
    cmt_key_name(a, name, 128);
    assert_true(cmt_wcseq(name, L"\\REGISTRY\\MACHINE\\CmTestKeys\\Zeta"));
    /* Sorted order follows the new names. */
    UCHAR buf[128];
    ULONG rl;
    assert_int_equal(ZwEnumerateKey(k, 0, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_BASIC_INFORMATION)buf)->Name[0], L'B');
    assert_int_equal(ZwEnumerateKey(k, 1, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_BASIC_INFORMATION)buf)->Name[0], L'Z');
    assert_int_equal(ZwFlushKey(k), STATUS_SUCCESS);
    ZwClose(a);
    ZwClose(b);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestKeys");
}

static void key_information_buffers(void **state)
{
    (void)state;
    HANDLE k, c;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    UNICODE_STRING cls;
    RtlInitUnicodeString(&cls, L"Klass");
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    assert_int_equal(ZwCreateKey(&c, KEY_ALL_ACCESS, cmt_oa(&oa, &us, L"Node", k), 0, &cls, 0, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(cmt_set(k, L"longer", REG_BINARY, "0123456789", 10), STATUS_SUCCESS);
    UCHAR buf[256];
    ULONG rl;
    /* Basic: 0x10 + name. */
    ULONG need = FIELD_OFFSET(KEY_BASIC_INFORMATION, Name) + 20; /* "CmTestKeys" */
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, 0, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, need);
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, 0x0F, &rl), STATUS_BUFFER_TOO_SMALL);
    RtlFillMemory(buf, sizeof(buf), 0xCC);
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, 0x10, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(rl, need);
    assert_int_equal(((PKEY_BASIC_INFORMATION)buf)->NameLength, 20);
    assert_int_equal(buf[0x10], 0xCC);
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, need - 1, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(buf[0x10], 'C'); /* as much of the name as fits */
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, need, &rl), STATUS_SUCCESS);
    assert_memory_equal(((PKEY_BASIC_INFORMATION)buf)->Name, L"CmTestKeys", 20);
    /* Full: counts and maxima. */
    assert_int_equal(ZwQueryKey(k, KeyFullInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    PKEY_FULL_INFORMATION f = (PKEY_FULL_INFORMATION)buf;
    assert_int_equal(rl, FIELD_OFFSET(KEY_FULL_INFORMATION, Class));
    assert_int_equal(f->SubKeys, 1);
    assert_int_equal(f->Values, 1);
    assert_int_equal(f->MaxNameLen, 8);
    assert_int_equal(f->MaxClassLen, 10);
    assert_int_equal(f->MaxValueNameLen, 12);
    assert_int_equal(f->MaxValueDataLen, 10);
    assert_int_equal(f->ClassOffset, 0xFFFFFFFF);
    assert_int_equal(ZwQueryKey(k, KeyFullInformation, buf, FIELD_OFFSET(KEY_FULL_INFORMATION, Class) - 1, &rl),
                     STATUS_BUFFER_TOO_SMALL);
    /* Node, with a class after the name (ULONG aligned). */
    assert_int_equal(ZwQueryKey(c, KeyNodeInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    PKEY_NODE_INFORMATION nd = (PKEY_NODE_INFORMATION)buf;
    assert_int_equal(nd->NameLength, 8);
    assert_int_equal(nd->ClassOffset, 0x18 + 8);
    assert_int_equal(nd->ClassLength, 10);
    assert_int_equal(rl, 0x18 + 8 + 10);
    assert_memory_equal(buf + nd->ClassOffset, L"Klass", 10);
    /* Name: the full path. */
    ULONG full = 4 + (ULONG)sizeof(L"\\REGISTRY\\MACHINE\\CmTestKeys\\Node") - 2;
    assert_int_equal(ZwQueryKey(c, KeyNameInformation, buf, 3, &rl), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(rl, full);
    assert_int_equal(ZwQueryKey(c, KeyNameInformation, buf, 4, &rl), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(ZwQueryKey(c, KeyNameInformation, buf, full, &rl), STATUS_SUCCESS);
    /* Cached: fixed size only. */
    assert_int_equal(ZwQueryKey(k, KeyCachedInformation, buf, sizeof(KEY_CACHED_INFORMATION) - 1, &rl),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(ZwQueryKey(k, KeyCachedInformation, buf, sizeof(KEY_CACHED_INFORMATION), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_CACHED_INFORMATION)buf)->SubKeys, 1);
    assert_int_equal(((PKEY_CACHED_INFORMATION)buf)->NameLength, 20);
    /* Classes the call does not have. */
    assert_int_equal(ZwQueryKey(k, KeyLayerInformation, buf, sizeof(buf), &rl), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwEnumerateKey(k, 0, KeyNameInformation, buf, sizeof(buf), &rl), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, sizeof(buf), NULL), STATUS_INVALID_PARAMETER);
    /* Write times move forward with changes and can be set. */
    LARGE_INTEGER before = ((PKEY_BASIC_INFORMATION)buf)->LastWriteTime;
    (void)before;
    KEY_WRITE_TIME_INFORMATION wt = {{.QuadPart = 12345}};
    assert_int_equal(ZwSetInformationKey(k, KeyWriteTimeInformation, &wt, sizeof(wt)), STATUS_SUCCESS);
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_int_equal(((PKEY_BASIC_INFORMATION)buf)->LastWriteTime.QuadPart, 12345);
    assert_int_equal(cmt_set_dword(k, L"bump", 1), STATUS_SUCCESS);
    assert_int_equal(ZwQueryKey(k, KeyBasicInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    assert_true(((PKEY_BASIC_INFORMATION)buf)->LastWriteTime.QuadPart > 12345);
    assert_int_equal(ZwSetInformationKey(k, KeyWriteTimeInformation, &wt, 4), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwSetInformationKey(k, KeyControlFlagsInformation, &wt, sizeof(wt)), STATUS_INVALID_INFO_CLASS);
    ZwClose(c);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestKeys");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_and_open_dispositions),
    cmocka_unit_test(delete_rules_and_deleted_handles),
    cmocka_unit_test(volatile_keys),
    cmocka_unit_test(links),
    cmocka_unit_test(rename_and_flush),
    cmocka_unit_test(key_information_buffers),
};

NTOS_TEST_GROUP(cm_keys, tests, NULL, NULL);
