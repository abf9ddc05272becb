/*
 * main() of every host CMocka test program: boots the hosted kernel (CPU count
 * from NTOS_CPUS) and runs each test group the program's files registered.
 */
#include <stdio.h>

#include "ntos_test.h"
#include <host.h>

extern const ntos_test_group __start_ntos_test_groups[];
extern const ntos_test_group __stop_ntos_test_groups[];

int main(void)
{
    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    host_boot(&config);
    int failed = 0;
    for (const ntos_test_group *g = __start_ntos_test_groups; g < __stop_ntos_test_groups; g++)
        failed += _cmocka_run_group_tests(g->name, g->tests, g->count, g->setup, g->teardown);
    fflush(stdout);
    return failed ? 1 : 0;
}
