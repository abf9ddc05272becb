/*
 * Shared by the libFuzzer harnesses: the input reader (bytes past the end read
 * as zero, so every input is a complete program) and CHECK, which traps so
 * libFuzzer records the input as a crash.
 */
#ifndef NTOS_FUZZ_INPUT_H
#define NTOS_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
            __builtin_trap();                                                                    \
        }                                                                                        \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t n;
} reader;

static inline uint8_t rd_u8(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static inline uint16_t rd_u16(reader *r)
{
    uint16_t lo = rd_u8(r);
    return (uint16_t)(lo | (uint16_t)rd_u8(r) << 8);
}

static inline uint32_t rd_u32(reader *r)
{
    uint32_t lo = rd_u16(r);
    return lo | (uint32_t)rd_u16(r) << 16;
}

static inline uint64_t rd_u64(reader *r)
{
    uint64_t lo = rd_u32(r);
    return lo | (uint64_t)rd_u32(r) << 32;
}

#endif /* NTOS_FUZZ_INPUT_H */
