/*
 * Pool hooks for tests.
 *
 * ntos_test_pool_install wraps whatever allocator is installed behind the Rtl
 * pool hook (the executive pool, which boot installs) with a counter and a
 * failure injector, so tests can assert that an operation leaked nothing and
 * that an allocation failure is reported, not crashed on.
 */
#include "ntos_test.h"
#include <ntos/rtl.h>

static PRTLP_POOL_ALLOCATE inner_allocate;
static PRTLP_POOL_FREE inner_free;
static LONG outstanding;
static LONG fail_countdown = -1;

static PVOID NTAPI counting_allocate(SIZE_T n, ULONG tag)
{
    LONG c = __atomic_load_n(&fail_countdown, __ATOMIC_ACQUIRE);
    if (c >= 0) {
        if (c == 0) {
            __atomic_store_n(&fail_countdown, -1, __ATOMIC_RELEASE);
            return NULL;
        }
        __atomic_fetch_sub(&fail_countdown, 1, __ATOMIC_ACQ_REL);
    }
    PVOID p = inner_allocate(n, tag);
    if (p)
        __atomic_fetch_add(&outstanding, 1, __ATOMIC_RELAXED);
    return p;
}

static VOID NTAPI counting_free(PVOID p, ULONG tag)
{
    if (p)
        __atomic_fetch_sub(&outstanding, 1, __ATOMIC_RELAXED);
    inner_free(p, tag);
}

void ntos_test_pool_install(void)
{
    PRTLP_POOL_ALLOCATE a;
    PRTLP_POOL_FREE f;
    RtlpGetPoolHooks(&a, &f);
    if (a == counting_allocate)
        return;
    inner_allocate = a;
    inner_free = f;
    RtlpSetPoolHooks(counting_allocate, counting_free);
}

SIZE_T ntos_test_pool_outstanding(void)
{
    return (SIZE_T)__atomic_load_n(&outstanding, __ATOMIC_RELAXED);
}

void ntos_test_pool_fail_after(LONG n)
{
    __atomic_store_n(&fail_countdown, n, __ATOMIC_RELEASE);
}
