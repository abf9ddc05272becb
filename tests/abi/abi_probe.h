/*
 * Shared by the two probe builds and abi_compare: the frame around the
 * recorded values and how many values abi_fields.def expands to (each
 * ABI_STRUCT, ABI_FIELD and ABI_FIELD_AS records two, each ABI_OFFSET and
 * ABI_CONST one).
 */
#ifndef ABI_PROBE_H
#define ABI_PROBE_H

/* COFF short section names are at most 8 characters. */
#define ABI_SECTION ".abidata"
#define ABI_MAGIC 0x314942414E544F53ULL     /* "SOTNABI1": start of the frame */
#define ABI_MAGIC_END 0x444E454942414E54ULL /* "TNABIEND": end of the frame */

#define ABI_STRUCT(T) +2
#define ABI_FIELD(T, f) +2
#define ABI_OFFSET(T, f) +1
#define ABI_FIELD_AS(T, f, mingw_f) +2
#define ABI_CONST(c) +1
enum {
    ABI_COUNT = 0
#include "abi_fields.def"
};

#endif /* ABI_PROBE_H */
