/*
 * Helpers shared by the Se tests: SIDs built on caller storage, ACLs built
 * with the Rtl routines, and pool-leak accounting by tag.
 */
#ifndef NTOS_SE_TEST_H
#define NTOS_SE_TEST_H

#include "ntos_test.h"
#include <ntos/rtl.h>
#include <ntos/se.h>
#include <ntos/ex_pool.h>

/* Storage for any SID (header and 15 sub-authorities), ULONG aligned. */
typedef union se_sid_buf {
    SID Sid;
    UCHAR Bytes[SECURITY_MAX_SID_SIZE];
    ULONG Align;
} se_sid_buf;

/* Builds S-1-<Authority>-<Sub...> in Buf; Count sub-authorities from Subs. */
static inline PSID se_sid(se_sid_buf *Buf, UCHAR Authority, UCHAR Count, const ULONG *Subs)
{
    SID_IDENTIFIER_AUTHORITY auth = {{0, 0, 0, 0, 0, Authority}};
    RtlZeroMemory(Buf, sizeof(*Buf));
    assert_int_equal(RtlInitializeSid(&Buf->Sid, &auth, Count), STATUS_SUCCESS);
    for (UCHAR i = 0; i < Count; i++)
        *RtlSubAuthoritySid(&Buf->Sid, i) = Subs[i];
    return &Buf->Sid;
}

static inline PSID se_sid1(se_sid_buf *Buf, UCHAR Authority, ULONG Rid)
{
    return se_sid(Buf, Authority, 1, &Rid);
}

static inline PSID se_sid2(se_sid_buf *Buf, UCHAR Authority, ULONG Rid1, ULONG Rid2)
{
    ULONG subs[2] = {Rid1, Rid2};
    return se_sid(Buf, Authority, 2, subs);
}

/* Storage for a small ACL (8-byte aligned). */
typedef union se_acl_buf {
    ACL Acl;
    UCHAR Bytes[1024];
    ULONGLONG Align;
} se_acl_buf;

static inline PACL se_acl(se_acl_buf *Buf)
{
    RtlZeroMemory(Buf, sizeof(*Buf));
    assert_int_equal(RtlCreateAcl(&Buf->Acl, sizeof(Buf->Bytes), ACL_REVISION), STATUS_SUCCESS);
    return &Buf->Acl;
}

static inline void se_allow(PACL Acl, ACCESS_MASK Mask, PSID Sid, ULONG Flags)
{
    assert_int_equal(RtlAddAccessAllowedAceEx(Acl, ACL_REVISION, Flags, Mask, Sid), STATUS_SUCCESS);
}

static inline void se_deny(PACL Acl, ACCESS_MASK Mask, PSID Sid, ULONG Flags)
{
    assert_int_equal(RtlAddAccessDeniedAceEx(Acl, ACL_REVISION, Flags, Mask, Sid), STATUS_SUCCESS);
}

/* Blocks of Tag still allocated (allocations minus frees, both pool kinds). */
static inline LONG64 se_pool_live(ULONG Tag)
{
    ULONG64 a = 0, f = 0, a2 = 0, f2 = 0;
    ExQueryPoolTagUsage(Tag, PagedPool, &a, &f, NULL);
    ExQueryPoolTagUsage(Tag, NonPagedPool, &a2, &f2, NULL);
    return (LONG64)(a + a2) - (LONG64)(f + f2);
}

/* A test object type's mapping (like an event's). */
#define SE_TEST_READ 0x0001
#define SE_TEST_WRITE 0x0002
#define SE_TEST_EXECUTE 0x0004
#define SE_TEST_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x0007)
static const GENERIC_MAPPING se_test_mapping = {
    STANDARD_RIGHTS_READ | SE_TEST_READ,
    STANDARD_RIGHTS_WRITE | SE_TEST_WRITE,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE | SE_TEST_EXECUTE,
    SE_TEST_ALL_ACCESS,
};

#endif /* NTOS_SE_TEST_H */
