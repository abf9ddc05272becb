/*
 * Compares the layout and constants ntos's headers give with what mingw-w64's
 * DDK headers give for the same list (abi_fields.def). A build-time host
 * check, not a kernel test: it runs only as a CTest program on the host and is
 * never linked into ntos_selftest.
 *
 *   abi_compare <mingw blob>
 *
 * The ntos values are linked in (abi_probe.c built with ABI_SIDE_NTOS); the
 * mingw values are the .abidata section copied out of the PE/COFF probe object.
 * Prints every difference as "what: ntos 0x.. vs mingw 0x.." and exits 1 if
 * there is any, or if the blob is missing or malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_probe.h"

extern const unsigned long long abi_ntos_values[];

enum kind { K_SIZE, K_ALIGN, K_OFFSET, K_FIELD_SIZE, K_CONST };

struct entry {
    const char *name;
    enum kind kind;
};

static const struct entry entries[] = {
#define ABI_STRUCT(T) {#T, K_SIZE}, {#T, K_ALIGN},
#define ABI_FIELD(T, f) {#T "." #f, K_OFFSET}, {#T "." #f, K_FIELD_SIZE},
#define ABI_OFFSET(T, f) {#T "." #f, K_OFFSET},
#define ABI_FIELD_AS(T, f, mingw_f) {#T "." #f " (mingw " #mingw_f ")", K_OFFSET}, \
                                    {#T "." #f " (mingw " #mingw_f ")", K_FIELD_SIZE},
#define ABI_CONST(c) {#c, K_CONST},
#include "abi_fields.def"
};
_Static_assert(sizeof(entries) / sizeof(entries[0]) == ABI_COUNT, "entry table out of step with ABI_COUNT");

static const char *const kind_label[] = {"sizeof", "alignof", "offset", "field size", "value"};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <mingw .abidata blob>\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        fprintf(stderr,
                "abi_compare: cannot read %s: the mingw-w64 probe was not built.\n"
                "Install the packages mingw-w64 and mingw-w64-x86-64-dev (tools/ntos setup) and reconfigure.\n",
                argv[1]);
        return 1;
    }
    /* COFF section data may be padded past the frame; read a little more than needed. */
    size_t want = (size_t)ABI_COUNT + 3;
    unsigned long long *mingw = calloc(want + 8, sizeof(*mingw));
    if (mingw == NULL)
        return 1;
    size_t got = fread(mingw, sizeof(*mingw), want + 8, f);
    fclose(f);
    if (got < want || mingw[0] != ABI_MAGIC || mingw[1] != (unsigned long long)ABI_COUNT ||
        mingw[want - 1] != ABI_MAGIC_END) {
        fprintf(stderr, "abi_compare: %s is not a probe section of %d values (read %zu, count %llu)\n", argv[1],
                (int)ABI_COUNT, got, got > 1 ? mingw[1] : 0ULL);
        return 1;
    }
    if (abi_ntos_values[0] != ABI_MAGIC || abi_ntos_values[1] != (unsigned long long)ABI_COUNT ||
        abi_ntos_values[want - 1] != ABI_MAGIC_END) {
        fprintf(stderr, "abi_compare: the linked ntos probe is malformed\n");
        return 1;
    }

    unsigned structs = 0, fields = 0, consts = 0, mismatches = 0;
    for (size_t i = 0; i < (size_t)ABI_COUNT; i++) {
        unsigned long long n = abi_ntos_values[i + 2], m = mingw[i + 2];
        structs += entries[i].kind == K_SIZE;
        fields += entries[i].kind == K_OFFSET;
        consts += entries[i].kind == K_CONST;
        if (n != m) {
            printf("MISMATCH %s %s: ntos 0x%llx vs mingw 0x%llx\n", entries[i].name, kind_label[entries[i].kind],
                   n, m);
            mismatches++;
        }
    }
    printf("abi_compare: %u structures, %u fields, %u constants compared; %u mismatch%s\n", structs, fields,
           consts, mismatches, mismatches == 1 ? "" : "es");
    free(mingw);
    return mismatches ? 1 : 0;
}
