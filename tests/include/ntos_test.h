/*
 * The one header every ntos subsystem test includes.
 *
 * Tests are written once against a CMocka subset and built twice: as ordinary
 * CMocka programs on the host (one per test file, run by CTest under the
 * sanitizers), and into the self-test runner that is linked into the kernel
 * image (NTOS_KTEST defined), which implements the same subset freestanding.
 *
 * The subset (nothing else from cmocka may be used in a test that runs in the kernel):
 *   assert_true/false, assert_int_equal/not_equal, assert_ptr_equal/not_equal,
 *   assert_null/non_null, assert_string_equal/not_equal, assert_memory_equal/not_equal,
 *   assert_in_range/not_in_range, fail, fail_msg, skip, print_message,
 *   cmocka_unit_test, cmocka_unit_test_setup_teardown.
 * plus the ntos additions below (NTOS_TEST_GROUP, expect_bugcheck, ...).
 *
 * A test file declares its groups with NTOS_TEST_GROUP; it never defines main().
 * Host-only tests are wrapped in `#ifndef NTOS_KTEST` with a comment saying why.
 */
#ifndef NTOS_TEST_H
#define NTOS_TEST_H

#ifdef NTOS_KTEST
#include <ntos/ktest.h>
#else
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#endif

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/ke.h>
#include <ntos/arch.h>

typedef struct ntos_test_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t count;
    int (*setup)(void **state);
    int (*teardown)(void **state);
} ntos_test_group;

/* Registers a group in the ntos_test_groups section; both runners walk it. */
#define NTOS_TEST_GROUP(gname, tests_array, setup_fn, teardown_fn)                                   \
    static const ntos_test_group ntos_test_group_##gname                                             \
        __attribute__((used, section("ntos_test_groups"), aligned(8))) = {                           \
            #gname, tests_array, sizeof(tests_array) / sizeof((tests_array)[0]), setup_fn,          \
            teardown_fn}

/*
 * Runs `stmt` and requires that it calls KeBugCheckEx with `code`. The bug check
 * does not return: it unwinds back here (KiBugCheckCatch), leaving the stack of
 * `stmt` abandoned, exactly as a crash would. The parameters of the bug check
 * are available afterwards through ntos_last_bugcheck. As with any setjmp, a
 * local variable changed inside `stmt` and read afterwards must be volatile.
 */
#define expect_bugcheck(code, stmt)                                                                 \
    do {                                                                                            \
        KBUGCHECK_CATCH ntos_bc_catch_;                                                             \
        KiArmBugCheckCatch(&ntos_bc_catch_);                                                        \
        if (ARCH_SETJMP(ntos_bc_catch_.JumpBuffer) == 0) {                                     \
            stmt;                                                                                   \
            KiDisarmBugCheckCatch(&ntos_bc_catch_);                                                 \
            fail_msg("expected bug check 0x%x from: %s", (unsigned)(code), #stmt);                  \
        } else {                                                                                    \
            KiDisarmBugCheckCatch(&ntos_bc_catch_);                                                 \
            ntos_last_bugcheck = ntos_bc_catch_.Data;                                               \
            if (ntos_bc_catch_.Data.Code != (ULONG)(code))                                          \
                fail_msg("expected bug check 0x%x, got 0x%x (%llx, %llx, %llx, %llx) from: %s",    \
                         (unsigned)(code), (unsigned)ntos_bc_catch_.Data.Code,                      \
                         (unsigned long long)ntos_bc_catch_.Data.Parameter[0],                      \
                         (unsigned long long)ntos_bc_catch_.Data.Parameter[1],                      \
                         (unsigned long long)ntos_bc_catch_.Data.Parameter[2],                      \
                         (unsigned long long)ntos_bc_catch_.Data.Parameter[3], #stmt);              \
        }                                                                                           \
    } while (0)

extern KBUGCHECK_DATA ntos_last_bugcheck;

/* Deterministic pseudo-random numbers for property tests (xorshift64*). */
static inline uint64_t ntos_test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Pool hooks for tests: counting allocator over the backend's memory, with an
 * optional failure injection ("fail the Nth allocation from now"). */
void ntos_test_pool_install(void);
SIZE_T ntos_test_pool_outstanding(void);
void ntos_test_pool_fail_after(LONG n); /* -1 disables */

#endif /* NTOS_TEST_H */
