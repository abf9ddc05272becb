/*
 * Helpers shared by the CRT and ntstrsafe tests (tests/rtl/test_crt*.c,
 * test_strsafe.c): wide-string assertions and the invalid parameter check.
 */
#ifndef NTOS_CRT_TEST_UTIL_H
#define NTOS_CRT_TEST_UTIL_H

#include "ntos_test.h"
#include <ntos/crt.h>

static inline SIZE_T crt_test_wlen(const WCHAR *s)
{
    SIZE_T n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

/* Fails with both strings' code units when the two NUL-terminated strings differ. */
#define assert_wstring_equal(a, b)                                                             \
    do {                                                                                       \
        const WCHAR *wa_ = (a), *wb_ = (b);                                                    \
        SIZE_T i_ = 0;                                                                         \
        while (wa_[i_] == wb_[i_] && wa_[i_] != 0)                                             \
            i_++;                                                                              \
        if (wa_[i_] != wb_[i_])                                                                \
            fail_msg("wide strings differ at %u: 0x%04x vs 0x%04x (%s vs %s)", (unsigned)i_,   \
                     (unsigned)wa_[i_], (unsigned)wb_[i_], #a, #b);                            \
    } while (0)

/* The CRT invalid parameter handler: KERNEL_SECURITY_CHECK_FAILURE (0x139) with
 * Parameter1 = FAST_FAIL_INVALID_ARG. */
#define expect_invalid_parameter(stmt)                                                         \
    do {                                                                                       \
        expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, stmt);                                  \
        assert_int_equal(ntos_last_bugcheck.Parameter[0], FAST_FAIL_INVALID_ARG);              \
    } while (0)

static inline int crt_test_sign(int v)
{
    return (v > 0) - (v < 0);
}

#endif /* NTOS_CRT_TEST_UTIL_H */
