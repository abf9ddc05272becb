/*
 * fuzz_schedule's access to the 8-bit inline coverage counters of the whole
 * binary (the section SanitizerCoverage fills, __sancov_cntrs), used to carry
 * an explored child's coverage back to libFuzzer's process.
 *
 * This file must not be instrumented: SanitizerCoverage declares the section
 * bounds itself in every instrumented file and, finding a declaration of the
 * same name already there, renames its own to an undefined weak symbol; its
 * (deduplicated) module constructor then registers an empty range and
 * libFuzzer sees no counters at all. CMakeLists.txt compiles it with
 * -fno-sanitize=fuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern uint8_t __stop___sancov_cntrs[] __attribute__((weak));

size_t fz_counters_size(void)
{
    if (__start___sancov_cntrs == NULL || __stop___sancov_cntrs <= __start___sancov_cntrs)
        return 0;
    return (size_t)(__stop___sancov_cntrs - __start___sancov_cntrs);
}

void fz_counters_save(uint8_t *To)
{
    memcpy(To, __start___sancov_cntrs, fz_counters_size());
}

/* Max per counter: the child is a fork, so it started from the parent's
 * counts for this input; a counter the child raised keeps its larger count. */
void fz_counters_merge(const uint8_t *From)
{
    size_t n = fz_counters_size();
    for (size_t i = 0; i < n; i++)
        if (From[i] > __start___sancov_cntrs[i])
            __start___sancov_cntrs[i] = From[i];
}
