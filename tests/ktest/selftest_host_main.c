/*
 * ntos_selftest: the in-kernel self-test runner, hosted. It boots the host
 * backend, then runs every registered test group through ktest exactly as the
 * bare-metal image does after KiSystemStartup.
 *
 *   ntos_selftest [--filter=TEXT] [--repeat=N]
 * Environment: NTOS_CPUS, NTOS_VIRTUAL_TIME, NTOS_SEED (see host/host.h).
 * Exit status 0 when every test passed.
 */
#include <stdlib.h>
#include <string.h>

#include <host.h>
#include <ntos/ktest.h>

int main(int argc, char **argv)
{
    const char *filter = NULL;
    ULONG repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strncmp(argv[i], "--repeat=", 9) == 0)
            repeat = (ULONG)strtoul(argv[i] + 9, NULL, 0);
    }
    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    host_boot(&config);
    ULONG failed = ktest_run_all(filter, repeat);
    arch_system_exit(failed ? 1 : 0);
}
