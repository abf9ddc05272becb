/*
 * The in-kernel test runner's CMocka subset.
 *
 * Subsystem tests are written against CMocka's API and built twice: with
 * CMocka on the host, and with this header inside the kernel image, where
 * there is no C library. Only the subset listed in tests/include/ntos_test.h is
 * provided; integer assertions compare as uintmax_t like CMocka does.
 *
 * A failed assertion unwinds to the runner (ARCH_SETJMP/arch_longjmp), so it
 * must happen on the thread that runs the test, as with CMocka. An assertion
 * failing on any other thread bug-checks with MANUALLY_INITIATED_CRASH.
 */
#ifndef NTOS_KTEST_H
#define NTOS_KTEST_H

#include <ntos/ntdef.h>

typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
    CMFixtureFunction setup_func;
    CMFixtureFunction teardown_func;
    void *initial_state;
};

#define cmocka_unit_test(f) {#f, f, NULL, NULL, NULL}
#define cmocka_unit_test_setup(f, setup) {#f, f, setup, NULL, NULL}
#define cmocka_unit_test_teardown(f, teardown) {#f, f, NULL, teardown, NULL}
#define cmocka_unit_test_setup_teardown(f, setup, teardown) {#f, f, setup, teardown, NULL}
#define cmocka_unit_test_prestate(f, state) {#f, f, NULL, NULL, state}

DECLSPEC_NORETURN void NTAPI _ktest_fail(const char *File, int Line, const char *Format, ...);
DECLSPEC_NORETURN void _ktest_skip(const char *File, int Line);
void NTAPI print_message(const char *Format, ...);
int _ktest_string_equal(const char *A, const char *B);
SIZE_T _ktest_memory_mismatch(const void *A, const void *B, SIZE_T Size);

#define fail() _ktest_fail(__FILE__, __LINE__, "fail()")
#define fail_msg(...) _ktest_fail(__FILE__, __LINE__, __VA_ARGS__)
#define skip() _ktest_skip(__FILE__, __LINE__)

#define assert_true(c)                                                                 \
    do {                                                                               \
        if (!(c))                                                                      \
            _ktest_fail(__FILE__, __LINE__, "%s", #c);                                 \
    } while (0)
#define assert_false(c)                                                                \
    do {                                                                               \
        if (c)                                                                         \
            _ktest_fail(__FILE__, __LINE__, "%s", #c);                                 \
    } while (0)

#define _ktest_int_cmp(a, b, op, text)                                                 \
    do {                                                                               \
        uintmax_t ktest_a_ = (uintmax_t)(a), ktest_b_ = (uintmax_t)(b);                \
        if (!(ktest_a_ op ktest_b_))                                                   \
            _ktest_fail(__FILE__, __LINE__, "0x%llx " text " 0x%llx",                 \
                        (unsigned long long)ktest_a_, (unsigned long long)ktest_b_);   \
    } while (0)
#define assert_int_equal(a, b) _ktest_int_cmp(a, b, ==, "!=")
#define assert_int_not_equal(a, b) _ktest_int_cmp(a, b, !=, "==")
#define assert_uint_equal(a, b) _ktest_int_cmp(a, b, ==, "!=")
#define assert_ptr_equal(a, b) _ktest_int_cmp((uintptr_t)(a), (uintptr_t)(b), ==, "!=")
#define assert_ptr_not_equal(a, b) _ktest_int_cmp((uintptr_t)(a), (uintptr_t)(b), !=, "==")
#define assert_null(p) _ktest_int_cmp((uintptr_t)(p), 0, ==, "!=")
#define assert_non_null(p) _ktest_int_cmp((uintptr_t)(p), 0, !=, "==")

#define assert_in_range(v, lo, hi)                                                       \
    do {                                                                                 \
        uintmax_t ktest_v_ = (uintmax_t)(v), ktest_lo_ = (uintmax_t)(lo),                \
                  ktest_hi_ = (uintmax_t)(hi);                                           \
        if (ktest_v_ < ktest_lo_ || ktest_v_ > ktest_hi_)                                \
            _ktest_fail(__FILE__, __LINE__, "0x%llx is not within 0x%llx-0x%llx",       \
                        (unsigned long long)ktest_v_, (unsigned long long)ktest_lo_,     \
                        (unsigned long long)ktest_hi_);                                  \
    } while (0)
#define assert_not_in_range(v, lo, hi)                                                   \
    do {                                                                                 \
        uintmax_t ktest_v_ = (uintmax_t)(v), ktest_lo_ = (uintmax_t)(lo),                \
                  ktest_hi_ = (uintmax_t)(hi);                                           \
        if (ktest_v_ >= ktest_lo_ && ktest_v_ <= ktest_hi_)                              \
            _ktest_fail(__FILE__, __LINE__, "0x%llx is within 0x%llx-0x%llx",           \
                        (unsigned long long)ktest_v_, (unsigned long long)ktest_lo_,     \
                        (unsigned long long)ktest_hi_);                                  \
    } while (0)

#define assert_string_equal(a, b)                                                        \
    do {                                                                                 \
        const char *ktest_sa_ = (const char *)(a), *ktest_sb_ = (const char *)(b);       \
        if (!_ktest_string_equal(ktest_sa_, ktest_sb_))                                  \
            _ktest_fail(__FILE__, __LINE__, "\"%s\" != \"%s\"", ktest_sa_, ktest_sb_);   \
    } while (0)
#define assert_string_not_equal(a, b)                                                    \
    do {                                                                                 \
        const char *ktest_sa_ = (const char *)(a), *ktest_sb_ = (const char *)(b);       \
        if (_ktest_string_equal(ktest_sa_, ktest_sb_))                                   \
            _ktest_fail(__FILE__, __LINE__, "\"%s\" == \"%s\"", ktest_sa_, ktest_sb_);   \
    } while (0)
#define assert_memory_equal(a, b, size)                                                  \
    do {                                                                                 \
        SIZE_T ktest_n_ = (SIZE_T)(size);                                                \
        SIZE_T ktest_at_ = _ktest_memory_mismatch((a), (b), ktest_n_);                   \
        if (ktest_at_ != ktest_n_)                                                       \
            _ktest_fail(__FILE__, __LINE__, "memory differs at byte %llu of %llu",       \
                        (unsigned long long)ktest_at_, (unsigned long long)ktest_n_);    \
    } while (0)
#define assert_memory_not_equal(a, b, size)                                              \
    do {                                                                                 \
        SIZE_T ktest_n_ = (SIZE_T)(size);                                                \
        if (_ktest_memory_mismatch((a), (b), ktest_n_) == ktest_n_)                      \
            _ktest_fail(__FILE__, __LINE__, "%llu bytes are equal",                      \
                        (unsigned long long)ktest_n_);                                   \
    } while (0)

/* Runs every registered group whose "group.test" name contains Filter (NULL or
 * "" for all), Repeat times. Prints one line per test and a verdict; returns
 * the number of failed tests. */
ULONG ktest_run_all(const char *Filter, ULONG Repeat);

#endif /* NTOS_KTEST_H */
