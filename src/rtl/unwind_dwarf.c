/*
 * Unwinding the kernel's own frames. ntos is ELF compiled by clang: its
 * functions have no .pdata, but with -fasynchronous-unwind-tables every one
 * is described by DWARF call-frame information in .eh_frame, exact at every
 * instruction (so a fault in the middle of a kernel function unwinds too).
 * The backend hands over the image's .eh_frame_hdr (arch_kernel_eh_frame_hdr),
 * whose sorted table finds the FDE of a PC by binary search.
 *
 * Why DWARF rather than capturing the raiser's caller in assembly: kernel
 * code raises from arbitrary depth (a pool allocation with
 * POOL_RAISE_IF_ALLOCATION_FAILURE under ExAllocatePoolWithTag under a
 * driver, or a fault in ProbeForWrite's page touch) and the nonvolatile
 * registers the driver's frame must get back are saved somewhere in those
 * kernel frames; only the CFI says where.
 *
 * Supported: the CFA rules clang emits for x86_64 (register + offset), the
 * offset / val_offset / register / same / undefined register rules,
 * remember/restore state, and the pointer encodings of .eh_frame. DWARF
 * expressions are not evaluated (clang emits none for ordinary C); a frame
 * needing one stops the walk.
 *
 * Concurrency: read-only tables, no state; any IRQL.
 */
#include <ntos/seh.h>
#include <ntos/arch.h>

#define DW_EH_PE_omit 0xFF
#define DW_EH_PE_absptr 0x00
#define DW_EH_PE_uleb128 0x01
#define DW_EH_PE_udata2 0x02
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sleb128 0x09
#define DW_EH_PE_sdata2 0x0A
#define DW_EH_PE_sdata4 0x0B
#define DW_EH_PE_sdata8 0x0C
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_indirect 0x80

/* DWARF register numbers of x86_64 (System V psABI): rax, rdx, rcx, rbx,
 * rsi, rdi, rbp, rsp, r8..r15, then the return address column 16. */
#define DW_REGS 17
#define DW_RA 16
static const UCHAR RtlpDwarfToContext[16] = {0, 2, 1, 3, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15};

enum { RULE_SAME = 0, RULE_UNDEFINED, RULE_OFFSET, RULE_VAL_OFFSET, RULE_REGISTER };

typedef struct _DW_ROW {
    ULONG CfaReg;
    LONG64 CfaOffset;
    UCHAR Rule[DW_REGS];
    LONG64 Value[DW_REGS];
} DW_ROW;

typedef struct _DW_CIE {
    ULONG64 CodeAlign;
    LONG64 DataAlign;
    ULONG ReturnColumn;
    UCHAR FdeEncoding;
    BOOLEAN Signal;
    const UCHAR *Instructions;
    const UCHAR *End;
} DW_CIE;

static ULONG64 RtlpUleb(const UCHAR **p)
{
    ULONG64 v = 0;
    ULONG shift = 0;
    UCHAR b;
    do {
        b = *(*p)++;
        if (shift < 64)
            v |= (ULONG64)(b & 0x7F) << shift;
        shift += 7;
    } while (b & 0x80);
    return v;
}

static LONG64 RtlpSleb(const UCHAR **p)
{
    LONG64 v = 0;
    ULONG shift = 0;
    UCHAR b;
    do {
        b = *(*p)++;
        if (shift < 64)
            v |= (LONG64)(b & 0x7F) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= -((LONG64)1 << shift);
    return v;
}

/* Reads one encoded pointer; DataBase is the .eh_frame_hdr start (datarel). */
static BOOLEAN RtlpReadEncoded(const UCHAR **p, UCHAR Encoding, ULONG64 DataBase, ULONG64 *Out)
{
    const UCHAR *start = *p;
    ULONG64 v;
    if (Encoding == DW_EH_PE_omit)
        return FALSE;
    switch (Encoding & 0x0F) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8:
        __builtin_memcpy(&v, *p, 8);
        *p += 8;
        break;
    case DW_EH_PE_udata4: {
        ULONG u;
        __builtin_memcpy(&u, *p, 4);
        v = u;
        *p += 4;
        break;
    }
    case DW_EH_PE_sdata4: {
        LONG s;
        __builtin_memcpy(&s, *p, 4);
        v = (ULONG64)(LONG64)s;
        *p += 4;
        break;
    }
    case DW_EH_PE_udata2: {
        USHORT u;
        __builtin_memcpy(&u, *p, 2);
        v = u;
        *p += 2;
        break;
    }
    case DW_EH_PE_sdata2: {
        SHORT s;
        __builtin_memcpy(&s, *p, 2);
        v = (ULONG64)(LONG64)s;
        *p += 2;
        break;
    }
    case DW_EH_PE_uleb128:
        v = RtlpUleb(p);
        break;
    case DW_EH_PE_sleb128:
        v = (ULONG64)RtlpSleb(p);
        break;
    default:
        return FALSE;
    }
    switch (Encoding & 0x70) {
    case 0:
        break;
    case DW_EH_PE_pcrel:
        v += (ULONG64)start;
        break;
    case DW_EH_PE_datarel:
        v += DataBase;
        break;
    default:
        return FALSE;
    }
    if (Encoding & DW_EH_PE_indirect)
        v = *(const ULONG64 *)v;
    *Out = v;
    return TRUE;
}

/* The FDE covering Pc, through the .eh_frame_hdr search table. */
static const UCHAR *RtlpFindFde(ULONG64 Pc)
{
    const UCHAR *hdr = arch_kernel_eh_frame_hdr();
    if (!hdr || hdr[0] != 1)
        return NULL;
    UCHAR ptrEnc = hdr[1], countEnc = hdr[2], tableEnc = hdr[3];
    const UCHAR *p = hdr + 4;
    ULONG64 ehFrame, count;
    if (!RtlpReadEncoded(&p, ptrEnc, (ULONG64)hdr, &ehFrame) || !RtlpReadEncoded(&p, countEnc, (ULONG64)hdr, &count))
        return NULL;
    /* The linkers write the table as pairs of datarel sdata4 (initial location,
     * FDE address), sorted by location. */
    if (tableEnc != (DW_EH_PE_datarel | DW_EH_PE_sdata4) || count == 0)
        return NULL;
    const LONG *table = (const LONG *)p;
    ULONG64 lo = 0, hi = count;
    ULONG64 rel = Pc - (ULONG64)hdr;
    while (hi - lo > 1) {
        ULONG64 mid = (lo + hi) / 2;
        if ((LONG64)table[mid * 2] <= (LONG64)rel)
            lo = mid;
        else
            hi = mid;
    }
    if ((LONG64)table[lo * 2] > (LONG64)rel)
        return NULL;
    return hdr + table[lo * 2 + 1];
}

static BOOLEAN RtlpParseCie(const UCHAR *Cie, DW_CIE *Out)
{
    const UCHAR *p = Cie;
    ULONG len;
    __builtin_memcpy(&len, p, 4);
    p += 4;
    if (len == 0xFFFFFFFF)
        return FALSE; /* 64-bit DWARF is not produced for .eh_frame */
    const UCHAR *end = p + len;
    p += 4; /* CIE id (0) */
    UCHAR version = *p++;
    const char *aug = (const char *)p;
    while (*p)
        p++;
    p++;
    Out->CodeAlign = RtlpUleb(&p);
    Out->DataAlign = RtlpSleb(&p);
    Out->ReturnColumn = version == 1 ? *p++ : (ULONG)RtlpUleb(&p);
    Out->FdeEncoding = DW_EH_PE_absptr;
    Out->Signal = FALSE;
    if (aug[0] == 'z') {
        ULONG64 augLen = RtlpUleb(&p);
        const UCHAR *augEnd = p + augLen;
        for (const char *a = aug + 1; *a; a++) {
            if (*a == 'R')
                Out->FdeEncoding = *p++;
            else if (*a == 'L')
                p++;
            else if (*a == 'P') {
                ULONG64 ignored;
                UCHAR enc = *p++;
                if (!RtlpReadEncoded(&p, enc, 0, &ignored))
                    return FALSE;
            } else if (*a == 'S')
                Out->Signal = TRUE;
            else if (*a == 'B')
                ;
            else
                break;
        }
        p = augEnd;
    } else if (aug[0] != 0)
        return FALSE;
    Out->Instructions = p;
    Out->End = end;
    return Out->ReturnColumn == DW_RA;
}

/* Runs a CFA program until the location passes Target. */
static BOOLEAN RtlpRunCfa(const UCHAR *p, const UCHAR *End, const DW_CIE *Cie, ULONG64 Loc, ULONG64 Target,
                          DW_ROW *Row, const DW_ROW *Initial)
{
    DW_ROW stack[8];
    ULONG depth = 0;

    while (p < End) {
        UCHAR op = *p++;
        ULONG64 reg, delta;
        switch (op >> 6) {
        case 1: /* DW_CFA_advance_loc */
            Loc += (ULONG64)(op & 0x3F) * Cie->CodeAlign;
            if (Loc > Target)
                return TRUE;
            continue;
        case 2: /* DW_CFA_offset */
            reg = op & 0x3F;
            delta = RtlpUleb(&p);
            if (reg < DW_REGS) {
                Row->Rule[reg] = RULE_OFFSET;
                Row->Value[reg] = (LONG64)delta * Cie->DataAlign;
            }
            continue;
        case 3: /* DW_CFA_restore */
            reg = op & 0x3F;
            if (reg < DW_REGS && Initial) {
                Row->Rule[reg] = Initial->Rule[reg];
                Row->Value[reg] = Initial->Value[reg];
            }
            continue;
        }
        switch (op) {
        case 0x00: /* nop */
            break;
        case 0x01: /* set_loc */
            if (!RtlpReadEncoded(&p, Cie->FdeEncoding, 0, &Loc))
                return FALSE;
            if (Loc > Target)
                return TRUE;
            break;
        case 0x02:
            Loc += (ULONG64)p[0] * Cie->CodeAlign;
            p += 1;
            if (Loc > Target)
                return TRUE;
            break;
        case 0x03: {
            USHORT d;
            __builtin_memcpy(&d, p, 2);
            p += 2;
            Loc += (ULONG64)d * Cie->CodeAlign;
            if (Loc > Target)
                return TRUE;
            break;
        }
        case 0x04: {
            ULONG d;
            __builtin_memcpy(&d, p, 4);
            p += 4;
            Loc += (ULONG64)d * Cie->CodeAlign;
            if (Loc > Target)
                return TRUE;
            break;
        }
        case 0x05: /* offset_extended */
            reg = RtlpUleb(&p);
            delta = RtlpUleb(&p);
            if (reg < DW_REGS) {
                Row->Rule[reg] = RULE_OFFSET;
                Row->Value[reg] = (LONG64)delta * Cie->DataAlign;
            }
            break;
        case 0x06: /* restore_extended */
            reg = RtlpUleb(&p);
            if (reg < DW_REGS && Initial) {
                Row->Rule[reg] = Initial->Rule[reg];
                Row->Value[reg] = Initial->Value[reg];
            }
            break;
        case 0x07: /* undefined */
            reg = RtlpUleb(&p);
            if (reg < DW_REGS)
                Row->Rule[reg] = RULE_UNDEFINED;
            break;
        case 0x08: /* same_value */
            reg = RtlpUleb(&p);
            if (reg < DW_REGS)
                Row->Rule[reg] = RULE_SAME;
            break;
        case 0x09: /* register */
            reg = RtlpUleb(&p);
            delta = RtlpUleb(&p);
            if (reg < DW_REGS) {
                Row->Rule[reg] = RULE_REGISTER;
                Row->Value[reg] = (LONG64)delta;
            }
            break;
        case 0x0A: /* remember_state */
            if (depth == 8)
                return FALSE;
            stack[depth++] = *Row;
            break;
        case 0x0B: /* restore_state: the whole remembered row, CFA included */
            if (depth == 0)
                return FALSE;
            *Row = stack[--depth];
            break;
        case 0x0C: /* def_cfa */
            Row->CfaReg = (ULONG)RtlpUleb(&p);
            Row->CfaOffset = (LONG64)RtlpUleb(&p);
            break;
        case 0x0D: /* def_cfa_register */
            Row->CfaReg = (ULONG)RtlpUleb(&p);
            break;
        case 0x0E: /* def_cfa_offset */
            Row->CfaOffset = (LONG64)RtlpUleb(&p);
            break;
        case 0x11: /* offset_extended_sf */
            reg = RtlpUleb(&p);
            {
                LONG64 off = RtlpSleb(&p);
                if (reg < DW_REGS) {
                    Row->Rule[reg] = RULE_OFFSET;
                    Row->Value[reg] = off * Cie->DataAlign;
                }
            }
            break;
        case 0x12: /* def_cfa_sf */
            Row->CfaReg = (ULONG)RtlpUleb(&p);
            Row->CfaOffset = RtlpSleb(&p) * Cie->DataAlign;
            break;
        case 0x13: /* def_cfa_offset_sf */
            Row->CfaOffset = RtlpSleb(&p) * Cie->DataAlign;
            break;
        case 0x14: /* val_offset */
            reg = RtlpUleb(&p);
            delta = RtlpUleb(&p);
            if (reg < DW_REGS) {
                Row->Rule[reg] = RULE_VAL_OFFSET;
                Row->Value[reg] = (LONG64)delta * Cie->DataAlign;
            }
            break;
        case 0x15: /* val_offset_sf */
            reg = RtlpUleb(&p);
            {
                LONG64 off = RtlpSleb(&p);
                if (reg < DW_REGS) {
                    Row->Rule[reg] = RULE_VAL_OFFSET;
                    Row->Value[reg] = off * Cie->DataAlign;
                }
            }
            break;
        case 0x2E: /* GNU_args_size */
            RtlpUleb(&p);
            break;
        case 0x2F: /* GNU_negative_offset_extended */
            reg = RtlpUleb(&p);
            delta = RtlpUleb(&p);
            if (reg < DW_REGS) {
                Row->Rule[reg] = RULE_OFFSET;
                Row->Value[reg] = -(LONG64)delta * Cie->DataAlign;
            }
            break;
        default: /* expressions (0x0F, 0x10, 0x16) and unknown opcodes */
            return FALSE;
        }
    }
    return TRUE;
}

typedef struct _DW_FDE {
    DW_CIE Cie;
    ULONG64 Begin, End;
    const UCHAR *Instructions, *InstructionsEnd;
} DW_FDE;

static BOOLEAN RtlpLookupFde(ULONG64 Pc, DW_FDE *Out)
{
    const UCHAR *fde = RtlpFindFde(Pc);
    if (!fde)
        return FALSE;
    ULONG len, cieOff;
    __builtin_memcpy(&len, fde, 4);
    if (len == 0 || len == 0xFFFFFFFF)
        return FALSE;
    __builtin_memcpy(&cieOff, fde + 4, 4);
    if (cieOff == 0)
        return FALSE; /* that is a CIE */
    if (!RtlpParseCie(fde + 4 - cieOff, &Out->Cie))
        return FALSE;
    const UCHAR *p = fde + 8;
    ULONG64 range;
    if (!RtlpReadEncoded(&p, Out->Cie.FdeEncoding, 0, &Out->Begin) ||
        !RtlpReadEncoded(&p, Out->Cie.FdeEncoding & 0x0F, 0, &range))
        return FALSE;
    Out->End = Out->Begin + range;
    if (Pc < Out->Begin || Pc >= Out->End)
        return FALSE;
    const UCHAR *end = fde + 4 + len;
    /* The FDE's augmentation data ('z'): its length, then (for 'L') the LSDA. */
    {
        ULONG64 augLen = RtlpUleb(&p);
        p += augLen;
    }
    Out->Instructions = p;
    Out->InstructionsEnd = end;
    return TRUE;
}

BOOLEAN RtlpDwarfUnwind(PCONTEXT Context, BOOLEAN PcIsReturnAddress, PKNONVOLATILE_CONTEXT_POINTERS ContextPointers)
{
    DW_FDE fde;
    /* A return address may lie just past a function ending in a call (to a
     * noreturn function): the caller's row is the one at the call. */
    ULONG64 pc = Context->Rip - (PcIsReturnAddress ? 1 : 0);
    if (!RtlpLookupFde(pc, &fde))
        return FALSE;

    DW_ROW initial, row;
    __builtin_memset(&initial, 0, sizeof(initial));
    if (!RtlpRunCfa(fde.Cie.Instructions, fde.Cie.End, &fde.Cie, fde.Begin, (ULONG64)-1, &initial, NULL))
        return FALSE;
    row = initial;
    if (!RtlpRunCfa(fde.Instructions, fde.InstructionsEnd, &fde.Cie, fde.Begin, pc, &row, &initial))
        return FALSE;
    if (row.CfaReg >= 16)
        return FALSE;

    ULONG64 cfa = (&Context->Rax)[RtlpDwarfToContext[row.CfaReg]] + (ULONG64)row.CfaOffset;
    /* The caller's frame lies above this one and the saved registers between
     * the two: anything else is a corrupt stack (or the walk left the thread's
     * frames), and nothing outside that window is read. */
    if (cfa <= Context->Rsp || cfa - Context->Rsp > 0x1000000 || (cfa & 7))
        return FALSE;
    ULONG64 values[DW_REGS];
    PULONG64 where[DW_REGS];
    for (ULONG r = 0; r < DW_REGS; r++) {
        where[r] = NULL;
        values[r] = r < 16 ? (&Context->Rax)[RtlpDwarfToContext[r]] : 0;
        switch (row.Rule[r]) {
        case RULE_OFFSET:
            if (cfa + (ULONG64)row.Value[r] < Context->Rsp || cfa + (ULONG64)row.Value[r] + 8 > cfa + 0x100)
                return FALSE;
            where[r] = (PULONG64)(cfa + (ULONG64)row.Value[r]);
            values[r] = *where[r];
            break;
        case RULE_VAL_OFFSET:
            values[r] = cfa + (ULONG64)row.Value[r];
            break;
        case RULE_REGISTER:
            if (row.Value[r] >= 16)
                return FALSE;
            values[r] = (&Context->Rax)[RtlpDwarfToContext[row.Value[r]]];
            break;
        case RULE_UNDEFINED:
            if (r == DW_RA)
                return FALSE; /* the outermost frame */
            break;
        default:
            break;
        }
    }
    if (row.Rule[DW_RA] != RULE_OFFSET && row.Rule[DW_RA] != RULE_VAL_OFFSET && row.Rule[DW_RA] != RULE_REGISTER)
        return FALSE;

    for (ULONG r = 0; r < 16; r++) {
        ULONG c = RtlpDwarfToContext[r];
        if (c == 4)
            continue;
        (&Context->Rax)[c] = values[r];
        if (ContextPointers && where[r])
            ContextPointers->IntegerContext[c] = where[r];
    }
    Context->Rsp = cfa;
    Context->Rip = values[DW_RA];
    return TRUE;
}
