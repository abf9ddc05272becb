/*
 * Shared helpers for the configuration manager tests: opening and creating
 * keys by path, setting and reading values, pool accounting of the
 * registry's tags. Every test works below its own key under
 * \REGISTRY\MACHINE\CmTest* and deletes it at the end.
 */
#ifndef NTOS_CM_TEST_H
#define NTOS_CM_TEST_H

#include "ntos_test.h"
#include <ntos/cm.h>
#include <ntos/ex_pool.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

#define CMT_TAG_KEY 0x794b6d43   /* CmKy */
#define CMT_TAG_VALUE 0x61566d43 /* CmVa */

static inline LONG64 cmt_live(ULONG Tag)
{
    ULONG64 a = 0, f = 0, a2 = 0, f2 = 0;
    ExQueryPoolTagUsage(Tag, PagedPool, &a, &f, NULL);
    ExQueryPoolTagUsage(Tag, NonPagedPool, &a2, &f2, NULL);
    return (LONG64)(a + a2) - (LONG64)(f + f2);
}

static inline OBJECT_ATTRIBUTES *cmt_oa(OBJECT_ATTRIBUTES *oa, UNICODE_STRING *us, PCWSTR Name, HANDLE Root)
{
    RtlInitUnicodeString(us, Name);
    InitializeObjectAttributes(oa, us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, Root, NULL);
    return oa;
}

static inline NTSTATUS cmt_create(PCWSTR Name, HANDLE Root, ULONG Options, PHANDLE Handle, PULONG Disposition)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    return ZwCreateKey(Handle, KEY_ALL_ACCESS, cmt_oa(&oa, &us, Name, Root), 0, NULL, Options, Disposition);
}

static inline NTSTATUS cmt_open(PCWSTR Name, HANDLE Root, PHANDLE Handle)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    return ZwOpenKey(Handle, KEY_ALL_ACCESS, cmt_oa(&oa, &us, Name, Root));
}

static inline NTSTATUS cmt_set(HANDLE Key, PCWSTR Name, ULONG Type, const void *Data, ULONG Length)
{
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, Name);
    return ZwSetValueKey(Key, &us, 0, Type, (PVOID)Data, Length);
}

static inline NTSTATUS cmt_set_dword(HANDLE Key, PCWSTR Name, ULONG Value)
{
    return cmt_set(Key, Name, REG_DWORD, &Value, sizeof(Value));
}

static inline NTSTATUS cmt_query(HANDLE Key, PCWSTR Name, KEY_VALUE_INFORMATION_CLASS Class, void *Buffer,
                                 ULONG Length, PULONG Result)
{
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, Name);
    return ZwQueryValueKey(Key, &us, Class, Buffer, Length, Result);
}

/* Deletes a test tree (and everything below it) through the .reg loader. */
static inline void cmt_delete_tree(PCSTR RegPath)
{
    static char text[512];
    const char *head = "Windows Registry Editor Version 5.00\n[-";
    SIZE_T n = 0;
    for (const char *p = head; *p; p++)
        text[n++] = *p;
    for (const char *p = RegPath; *p && n < sizeof(text) - 3; p++)
        text[n++] = *p;
    text[n++] = ']';
    text[n++] = '\n';
    text[n] = 0;
    assert_int_equal(CmImportRegistryText(text, n, NULL, NULL), STATUS_SUCCESS);
}

/* A kernel handle's key name, as a NUL-terminated string in Out (WCHARs). */
static inline void cmt_key_name(HANDLE Key, WCHAR *Out, ULONG Chars)
{
    UCHAR buf[1024];
    ULONG rl;
    assert_int_equal(ZwQueryKey(Key, KeyNameInformation, buf, sizeof(buf), &rl), STATUS_SUCCESS);
    PKEY_NAME_INFORMATION ni = (PKEY_NAME_INFORMATION)buf;
    ULONG n = ni->NameLength / sizeof(WCHAR);
    assert_true(n < Chars);
    RtlCopyMemory(Out, ni->Name, ni->NameLength);
    Out[n] = 0;
}

static inline int cmt_wcseq(PCWSTR A, PCWSTR B)
{
    while (*A && *A == *B) {
        A++;
        B++;
    }
    return *A == *B;
}

#endif /* NTOS_CM_TEST_H */
