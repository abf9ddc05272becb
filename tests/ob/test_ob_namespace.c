/*
 * The namespace: directories, names and their errors, symbolic links,
 * permanent and temporary objects, directory enumeration, object names.
 */
#include "ob_test.h"

static NTSTATUS open_dir(PCWSTR Name, ULONG Attributes, HANDLE Root, PHANDLE Handle)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    return ZwOpenDirectoryObject(Handle, DIRECTORY_ALL_ACCESS, obt_oa(&oa, &us, Name, Attributes, Root));
}

static NTSTATUS create_dir(PCWSTR Name, ULONG Attributes, HANDLE Root, PHANDLE Handle)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    return ZwCreateDirectoryObject(Handle, DIRECTORY_ALL_ACCESS, obt_oa(&oa, &us, Name, Attributes, Root));
}

static NTSTATUS create_link(PCWSTR Name, PCWSTR Target, ULONG Attributes, PHANDLE Handle)
{
    UNICODE_STRING us, target;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&target, Target);
    return ZwCreateSymbolicLinkObject(Handle, SYMBOLIC_LINK_ALL_ACCESS, obt_oa(&oa, &us, Name, Attributes, NULL),
                                      &target);
}

static NTSTATUS ref_by_name(PCWSTR Name, ULONG Attributes, POBJECT_TYPE Type, PVOID *Object)
{
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, Name);
    return ObReferenceObjectByName(&us, Attributes, NULL, 0, Type, KernelMode, NULL, Object);
}

static void boot_namespace_exists(void **state)
{
    (void)state;
    static const PCWSTR dirs[] = {L"\\", L"\\ObjectTypes", L"\\Device", L"\\Driver", L"\\BaseNamedObjects",
                                  L"\\KernelObjects", L"\\GLOBAL??", L"\\??"};
    for (ULONG i = 0; i < RTL_NUMBER_OF(dirs); i++) {
        HANDLE h;
        assert_int_equal(open_dir(dirs[i], OBJ_CASE_INSENSITIVE, NULL, &h), STATUS_SUCCESS);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    }
    /* \?? is a link to \GLOBAL??: both names reach the same directory. */
    PVOID a, b;
    assert_int_equal(ref_by_name(L"\\??", 0, ObDirectoryObjectType, &a), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\GLOBAL??", 0, ObDirectoryObjectType, &b), STATUS_SUCCESS);
    assert_ptr_equal(a, b);
    ObDereferenceObject(a);
    ObDereferenceObject(b);
}

static void name_syntax_errors(void **state)
{
    (void)state;
    HANDLE h;
    PVOID o;
    assert_int_equal(obt_create(L"NoLeadingSlash", 0, NULL, &h, NULL), STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\", 0, NULL, &h, NULL), STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\\\x", 0, NULL, &h, NULL), STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(obt_create(L"\\NoSuchDir\\x", 0, NULL, &h, NULL), STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\NoSuchObject", 0, NULL, &o), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ref_by_name(L"\\NoSuchDir\\NoSuchObject", 0, NULL, &o), STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(ref_by_name(L"", 0, NULL, &o), STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(ref_by_name(L"relative", 0, NULL, &o), STATUS_OBJECT_PATH_SYNTAX_BAD);
    /* An embedded NUL is not a terminator. */
    WCHAR nul[] = {L'\\', L'a', 0, L'b'};
    UNICODE_STRING us = {sizeof(nul), sizeof(nul), nul};
    assert_int_equal(ObReferenceObjectByName(&us, 0, NULL, 0, NULL, KernelMode, NULL, &o),
                     STATUS_OBJECT_NAME_INVALID);
    /* A component that is neither a directory nor parseable. */
    HANDLE t;
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsLeaf", 0, NULL, &t, NULL), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsLeaf\\below", 0, NULL, &o), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
    /* "." and ".." are just names. */
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\..", 0, NULL, &t, NULL), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\..", 0, obt_get_type(), &o), STATUS_SUCCESS);
    ObDereferenceObject(o);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
}

static void collision_openif_and_temporary_names(void **state)
{
    (void)state;
    HANDLE h1, h2;
    PVOID o1, o2;
    LONG before = obt_delete_count();
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsDup", 0, NULL, &h1, NULL), STATUS_SUCCESS);
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsDup", 0, NULL, &h2, NULL), STATUS_OBJECT_NAME_COLLISION);
    /* The refused object was deleted by the failed insert. */
    assert_int_equal(obt_delete_count(), before + 1);
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsDup", OBJ_OPENIF, NULL, &h2, NULL),
                     STATUS_OBJECT_NAME_EXISTS);
    assert_int_equal(ObReferenceObjectByHandle(h1, 0, NULL, KernelMode, &o1, NULL), STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(h2, 0, NULL, KernelMode, &o2, NULL), STATUS_SUCCESS);
    assert_ptr_equal(o1, o2);
    assert_int_equal(obt_handle_count(o1), 2);
    ObDereferenceObject(o2);
    /* OPENIF on a name of another type. */
    HANDLE d;
    assert_int_equal(create_dir(L"\\BaseNamedObjects\\ObNsDup", OBJ_OPENIF, NULL, &d), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(h1), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    /* The last handle took the temporary name away with it. */
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsDup", 0, NULL, &o2), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(obt_pointer_count(o1), 1);
    ObDereferenceObject(o1);
    /* Three objects were made: the original, the refused one, and the one
     * OBJ_OPENIF dropped in favour of the existing object. */
    assert_int_equal(obt_delete_count(), before + 3);
}

static void permanent_objects_outlive_handles(void **state)
{
    (void)state;
    HANDLE h;
    PVOID o;
    LONG before = obt_delete_count();
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsPerm", OBJ_PERMANENT, NULL, &h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsPerm", 0, NULL, &o), STATUS_SUCCESS);
    assert_int_equal(obt_pointer_count(o), 2); /* namespace + ours */
    assert_int_equal(ObOpenObjectByPointer(o, 0, NULL, DELETE, NULL, KernelMode, &h), STATUS_SUCCESS);
    assert_int_equal(ZwMakeTemporaryObject(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsPerm", 0, NULL, &h), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(obt_delete_count(), before);
    ObDereferenceObject(o);
    assert_int_equal(obt_delete_count(), before + 1);
    /* ObMakeTemporaryObject on a permanent object without handles deletes its name at once. */
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsPerm2", OBJ_PERMANENT, NULL, NULL, &o), STATUS_SUCCESS);
    ObMakeTemporaryObject(o);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsPerm2", 0, NULL, &h), STATUS_OBJECT_NAME_NOT_FOUND);
    ObDereferenceObject(o);
    assert_int_equal(obt_delete_count(), before + 2);
}

static void case_sensitivity(void **state)
{
    (void)state;
    HANDLE h1, h2, d;
    PVOID o;
    /* Directories are a case-insensitive type: any case finds them. */
    assert_int_equal(open_dir(L"\\basenamedobjects", 0, NULL, &d), STATUS_SUCCESS);
    assert_int_equal(ZwClose(d), STATUS_SUCCESS);
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsCase", 0, NULL, &h1, NULL), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\obnscase", 0, NULL, &o), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\obnscase", OBJ_CASE_INSENSITIVE, NULL, &o), STATUS_SUCCESS);
    ObDereferenceObject(o);
    /* A case-sensitive create of another spelling is a different name... */
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\OBNSCASE", 0, NULL, &h2, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    /* ...a case-insensitive one collides. */
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\OBNSCASE", OBJ_CASE_INSENSITIVE, NULL, &h2, NULL),
                     STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(ZwClose(h1), STATUS_SUCCESS);
}

static void relative_names(void **state)
{
    (void)state;
    HANDLE d, sub, h;
    PVOID o, p;
    assert_int_equal(create_dir(L"\\BaseNamedObjects\\ObNsRel", 0, NULL, &d), STATUS_SUCCESS);
    assert_int_equal(create_dir(L"Sub", 0, d, &sub), STATUS_SUCCESS);
    assert_int_equal(obt_create(L"Leaf", 0, sub, &h, NULL), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsRel\\Sub\\Leaf", 0, NULL, &o), STATUS_SUCCESS);
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    HANDLE h2;
    assert_int_equal(ObOpenObjectByName(obt_oa(&oa, &us, L"Sub\\Leaf", 0, d), NULL, KernelMode, NULL, 0, NULL, &h2),
                     STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(h2, 0, NULL, KernelMode, &p, NULL), STATUS_SUCCESS);
    assert_ptr_equal(o, p);
    ObDereferenceObject(p);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    /* A relative name must not start with a separator; an empty one names the root handle's object. */
    assert_int_equal(ObOpenObjectByName(obt_oa(&oa, &us, L"\\Sub", 0, d), NULL, KernelMode, NULL, 0, NULL, &h2),
                     STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(ObOpenObjectByName(obt_oa(&oa, &us, L"", 0, d), NULL, KernelMode, NULL, 0, NULL, &h2),
                     STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(h2, 0, ObDirectoryObjectType, KernelMode, &p, NULL), STATUS_SUCCESS);
    ObDereferenceObject(p);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    /* A root that is not a directory (and cannot parse). */
    assert_int_equal(ObOpenObjectByName(obt_oa(&oa, &us, L"x", 0, h), NULL, KernelMode, NULL, 0, NULL, &h2),
                     STATUS_OBJECT_TYPE_MISMATCH);
    /* A root handle that is not a handle. */
    assert_int_equal(ObOpenObjectByName(obt_oa(&oa, &us, L"x", 0, (HANDLE)0x7ffc), NULL, KernelMode, NULL, 0, NULL,
                                        &h2),
                     STATUS_INVALID_HANDLE);
    /* A directory holds its children's names; the children hold the directory. */
    assert_int_equal(ZwClose(sub), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    ObDereferenceObject(o);
    assert_int_equal(ZwClose(d), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsRel", 0, NULL, &o), STATUS_OBJECT_NAME_NOT_FOUND);
}

static void symbolic_links(void **state)
{
    (void)state;
    HANDLE d, l, l2, h;
    PVOID o, p;
    assert_int_equal(create_dir(L"\\BaseNamedObjects\\ObNsLinkDir", 0, NULL, &d), STATUS_SUCCESS);
    assert_int_equal(obt_create(L"Target", 0, d, &h, NULL), STATUS_SUCCESS);
    assert_int_equal(create_link(L"\\BaseNamedObjects\\ObNsLink", L"\\BaseNamedObjects\\ObNsLinkDir", 0, &l),
                     STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsLink\\Target", 0, obt_get_type(), &o), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsLinkDir\\Target", 0, obt_get_type(), &p), STATUS_SUCCESS);
    assert_ptr_equal(o, p);
    ObDereferenceObject(o);
    ObDereferenceObject(p);
    /* The last component: followed unless OBJ_OPENLINK. */
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsLink", 0, ObDirectoryObjectType, &o), STATUS_SUCCESS);
    ObDereferenceObject(o);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsLink", OBJ_OPENLINK, ObSymbolicLinkObjectType, &o),
                     STATUS_SUCCESS);
    ObDereferenceObject(o);
    /* Query the target, with a too-small buffer first. */
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    assert_int_equal(ZwOpenSymbolicLinkObject(&l2, SYMBOLIC_LINK_QUERY,
                                              obt_oa(&oa, &us, L"\\BaseNamedObjects\\ObNsLink", 0, NULL)),
                     STATUS_SUCCESS);
    WCHAR small[4];
    UNICODE_STRING target = {0, sizeof(small), small};
    ULONG needed = 0;
    assert_int_equal(ZwQuerySymbolicLinkObject(l2, &target, &needed), STATUS_BUFFER_TOO_SMALL);
    UNICODE_STRING expect;
    RtlInitUnicodeString(&expect, L"\\BaseNamedObjects\\ObNsLinkDir");
    assert_int_equal(needed, expect.Length + sizeof(WCHAR));
    WCHAR big[64];
    target = (UNICODE_STRING){0, sizeof(big), big};
    assert_int_equal(ZwQuerySymbolicLinkObject(l2, &target, &needed), STATUS_SUCCESS);
    assert_true(RtlEqualUnicodeString(&target, &expect, FALSE));
    assert_int_equal(big[target.Length / 2], 0);
    /* A link handle is not a directory handle. */
    assert_int_equal(ZwQuerySymbolicLinkObject(d, &target, &needed), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(l2), STATUS_SUCCESS);
    /* Cycles end with an error instead of looping. */
    HANDLE c1, c2;
    assert_int_equal(create_link(L"\\BaseNamedObjects\\ObNsCycA", L"\\BaseNamedObjects\\ObNsCycB", 0, &c1),
                     STATUS_SUCCESS);
    assert_int_equal(create_link(L"\\BaseNamedObjects\\ObNsCycB", L"\\BaseNamedObjects\\ObNsCycA", 0, &c2),
                     STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsCycA\\x", 0, NULL, &o), STATUS_REPARSE_POINT_NOT_RESOLVED);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsCycA", 0, NULL, &o), STATUS_REPARSE_POINT_NOT_RESOLVED);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsCycA", OBJ_DONT_REPARSE, NULL, &o), (NTSTATUS)0xC000050B);
    /* A dangling link and a relative target. */
    HANDLE dl, rl;
    assert_int_equal(create_link(L"\\BaseNamedObjects\\ObNsDangling", L"\\Nowhere\\AtAll", 0, &dl), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsDangling", 0, NULL, &o), STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(create_link(L"\\BaseNamedObjects\\ObNsRelLink", L"relative", 0, &rl), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsRelLink\\x", 0, NULL, &o), STATUS_OBJECT_PATH_SYNTAX_BAD);
    /* Creating an object under a name that is a link collides with the link. */
    HANDLE x;
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsLink", 0, NULL, &x, NULL), STATUS_OBJECT_NAME_COLLISION);
    /* Creating through a link lands in the target directory. */
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsLink\\ViaLink", 0, NULL, &x, NULL), STATUS_SUCCESS);
    assert_int_equal(ref_by_name(L"\\BaseNamedObjects\\ObNsLinkDir\\ViaLink", 0, NULL, &o), STATUS_SUCCESS);
    ObDereferenceObject(o);
    HANDLE all[] = {x, dl, rl, c1, c2, l, h, d};
    for (ULONG i = 0; i < RTL_NUMBER_OF(all); i++)
        assert_int_equal(ZwClose(all[i]), STATUS_SUCCESS);
}

static void query_name_string(void **state)
{
    (void)state;
    HANDLE h;
    PVOID o;
    assert_int_equal(obt_create(L"\\BaseNamedObjects\\ObNsNamed", 0, NULL, &h, &o), STATUS_SUCCESS);
    UCHAR buf[256];
    POBJECT_NAME_INFORMATION ni = (POBJECT_NAME_INFORMATION)buf;
    ULONG ret = 0;
    assert_int_equal(ObQueryNameString(o, ni, 8, &ret), STATUS_INFO_LENGTH_MISMATCH);
    UNICODE_STRING expect;
    RtlInitUnicodeString(&expect, L"\\BaseNamedObjects\\ObNsNamed");
    assert_int_equal(ret, sizeof(OBJECT_NAME_INFORMATION) + expect.Length + sizeof(WCHAR));
    assert_int_equal(ObQueryNameString(o, ni, sizeof(buf), &ret), STATUS_SUCCESS);
    assert_true(RtlEqualUnicodeString(&ni->Name, &expect, FALSE));
    /* Through ZwQueryObject too. */
    assert_int_equal(ZwQueryObject(h, ObjectNameInformation, buf, sizeof(buf), &ret), STATUS_SUCCESS);
    assert_true(RtlEqualUnicodeString(&ni->Name, &expect, FALSE));
    ObDereferenceObject(o);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    /* Unnamed: an empty name. The root: "\". */
    assert_int_equal(obt_create(NULL, 0, NULL, NULL, &o), STATUS_SUCCESS);
    assert_int_equal(ObQueryNameString(o, ni, sizeof(buf), &ret), STATUS_SUCCESS);
    assert_int_equal(ni->Name.Length, 0);
    ObDereferenceObject(o);
    assert_int_equal(ObQueryNameString(ObpRootDirectoryObject, ni, sizeof(buf), &ret), STATUS_SUCCESS);
    assert_int_equal(ni->Name.Length, 2);
    assert_int_equal(ni->Name.Buffer[0], L'\\');
}

static void query_directory(void **state)
{
    (void)state;
    HANDLE d, h[5];
    assert_int_equal(create_dir(L"\\BaseNamedObjects\\ObNsEnum", 0, NULL, &d), STATUS_SUCCESS);
    static const PCWSTR names[] = {L"One", L"Two", L"Three", L"Four", L"Five"};
    for (ULONG i = 0; i < 5; i++)
        assert_int_equal(obt_create(names[i], 0, d, &h[i], NULL), STATUS_SUCCESS);
    UCHAR buf[1024];
    ULONG ctx = 0, ret = 0;
    /* One entry at a time, with restart, until STATUS_NO_MORE_ENTRIES. */
    ULONG seen = 0;
    NTSTATUS s = ZwQueryDirectoryObject(d, buf, sizeof(buf), TRUE, TRUE, &ctx, &ret);
    while (s == STATUS_SUCCESS || s == STATUS_MORE_ENTRIES) {
        POBJECT_DIRECTORY_INFORMATION info = (POBJECT_DIRECTORY_INFORMATION)buf;
        UNICODE_STRING tn;
        RtlInitUnicodeString(&tn, L"ObTestObject");
        assert_true(RtlEqualUnicodeString(&info[0].TypeName, &tn, FALSE));
        assert_int_equal(info[1].Name.Length, 0); /* terminator */
        seen |= 1u << (info[0].Name.Length / 2); /* lengths 3,3,5,4,4 */
        assert_in_range(ctx, 1, 5);
        s = ZwQueryDirectoryObject(d, buf, sizeof(buf), TRUE, FALSE, &ctx, &ret);
    }
    assert_int_equal(s, STATUS_NO_MORE_ENTRIES);
    assert_int_equal(ctx, 5);
    assert_int_equal(seen, (1u << 3) | (1u << 4) | (1u << 5));
    /* All at once. */
    ctx = 0;
    assert_int_equal(ZwQueryDirectoryObject(d, buf, sizeof(buf), FALSE, TRUE, &ctx, &ret), STATUS_SUCCESS);
    assert_int_equal(ctx, 5);
    POBJECT_DIRECTORY_INFORMATION info = (POBJECT_DIRECTORY_INFORMATION)buf;
    assert_int_equal(info[5].Name.Length, 0);
    assert_null(info[5].Name.Buffer);
    /* A buffer too small for even one entry says how much one needs. */
    ctx = 0;
    assert_int_equal(ZwQueryDirectoryObject(d, buf, 8, FALSE, TRUE, &ctx, &ret), STATUS_BUFFER_TOO_SMALL);
    assert_true(ret > 2 * sizeof(OBJECT_DIRECTORY_INFORMATION));
    /* Room for two: STATUS_MORE_ENTRIES and a context to continue from. */
    ULONG two = 3 * sizeof(OBJECT_DIRECTORY_INFORMATION) + 2 * (6 * 2 + 13 * 2);
    assert_int_equal(ZwQueryDirectoryObject(d, buf, two, FALSE, TRUE, &ctx, &ret), STATUS_MORE_ENTRIES);
    assert_int_equal(ctx, 2);
    assert_int_equal(ZwQueryDirectoryObject(d, buf, sizeof(buf), FALSE, FALSE, &ctx, &ret), STATUS_SUCCESS);
    assert_int_equal(ctx, 5);
    assert_int_equal(ZwQueryDirectoryObject(d, buf, sizeof(buf), FALSE, FALSE, &ctx, &ret), STATUS_NO_MORE_ENTRIES);
    assert_int_equal(ZwQueryDirectoryObject(d, buf, sizeof(buf), FALSE, FALSE, NULL, &ret), STATUS_INVALID_PARAMETER);
    for (ULONG i = 0; i < 5; i++)
        assert_int_equal(ZwClose(h[i]), STATUS_SUCCESS);
    ctx = 0;
    assert_int_equal(ZwQueryDirectoryObject(d, buf, sizeof(buf), FALSE, TRUE, &ctx, &ret), STATUS_NO_MORE_ENTRIES);
    assert_int_equal(ZwClose(d), STATUS_SUCCESS);
}

/* Found by fuzz_ob: an empty target queried into a claimed-but-missing buffer. */
static void query_empty_link_into_missing_buffer(void **state)
{
    (void)state;
    HANDLE l;
    assert_int_equal(create_link(L"\\BaseNamedObjects\\ObNsEmptyLink", L"", 0, &l), STATUS_SUCCESS);
    UNICODE_STRING out = {0, 2, NULL};
    ULONG needed;
    assert_int_equal(ZwQuerySymbolicLinkObject(l, &out, &needed), STATUS_ACCESS_VIOLATION);
    WCHAR one[1] = {0x55};
    out = (UNICODE_STRING){7, sizeof(one), one};
    assert_int_equal(ZwQuerySymbolicLinkObject(l, &out, &needed), STATUS_SUCCESS);
    assert_int_equal(out.Length, 0);
    assert_int_equal(one[0], 0);
    assert_int_equal(ZwClose(l), STATUS_SUCCESS);
}

/* Found by fuzz_ob: a full name longer than a UNICODE_STRING can hold. */
static void overlong_full_name_is_refused(void **state)
{
    (void)state;
    static WCHAR name[30001];
    for (int i = 0; i < 30000; i++)
        name[i] = L'a';
    name[30000] = 0;
    HANDLE d1, d2;
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    HANDLE bno;
    assert_int_equal(open_dir(L"\\BaseNamedObjects", 0, NULL, &bno), STATUS_SUCCESS);
    assert_int_equal(ZwCreateDirectoryObject(&d1, DIRECTORY_ALL_ACCESS, obt_oa(&oa, &us, name, 0, bno)),
                     STATUS_SUCCESS);
    for (int i = 0; i < 30000; i++)
        name[i] = L'b';
    assert_int_equal(ZwCreateDirectoryObject(&d2, DIRECTORY_ALL_ACCESS, obt_oa(&oa, &us, name, 0, d1)),
                     STATUS_SUCCESS);
    PVOID o;
    assert_int_equal(ObReferenceObjectByHandle(d2, 0, NULL, KernelMode, &o, NULL), STATUS_SUCCESS);
    static UCHAR buf[130000];
    ULONG ret;
    assert_int_equal(ObQueryNameString(o, (POBJECT_NAME_INFORMATION)buf, sizeof(buf), &ret), STATUS_NAME_TOO_LONG);
    ObDereferenceObject(o);
    assert_int_equal(ZwClose(d2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(d1), STATUS_SUCCESS);
    assert_int_equal(ZwClose(bno), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(query_empty_link_into_missing_buffer),
    cmocka_unit_test(overlong_full_name_is_refused),
    cmocka_unit_test(boot_namespace_exists),
    cmocka_unit_test(name_syntax_errors),
    cmocka_unit_test(collision_openif_and_temporary_names),
    cmocka_unit_test(permanent_objects_outlive_handles),
    cmocka_unit_test(case_sensitivity),
    cmocka_unit_test(relative_names),
    cmocka_unit_test(symbolic_links),
    cmocka_unit_test(query_name_string),
    cmocka_unit_test(query_directory),
};

NTOS_TEST_GROUP(ob_namespace, tests, NULL, NULL);
