/*
 * x64 table-based unwinding of PE images: RtlLookupFunctionEntry (binary
 * search of a loaded image's .pdata), RtlVirtualUnwind (the UNWIND_INFO
 * operation codes, chained unwind info, the documented epilogue rule), the
 * frame step shared with the DWARF unwinder of the kernel's own ELF code, and
 * the back-trace services built on it.
 *
 * Layout facts used here (x64 exception handling, "struct UNWIND_INFO"):
 * byte 0 = Version:3 | Flags:5, byte 1 = SizeOfProlog, byte 2 = CountOfCodes,
 * byte 3 = FrameRegister:4 | FrameOffset:4, then CountOfCodes 16-bit codes
 * (CodeOffset byte, UnwindOp:4 | OpInfo:4), padded to an even count, then
 * either the handler RVA and its data or a chained RUNTIME_FUNCTION.
 *
 * Concurrency: no state of its own. The module lookup takes the loader's spin
 * lock (LdrFindModuleByAddress), so everything here runs at any IRQL; the
 * image stays mapped while a frame of it is on the stack being unwound.
 */
#include <ntos/seh.h>
#include <ntos/ldr.h>
#include <ntos/kpcr.h>
#include <ntos/ke_objects.h>

typedef union _UNWIND_CODE {
    struct {
        UCHAR CodeOffset;
        UCHAR UnwindOp : 4;
        UCHAR OpInfo : 4;
    };
    USHORT FrameOffset;
} UNWIND_CODE, *PUNWIND_CODE;
NTOS_ASSERT_SIZE(UNWIND_CODE, 2);

typedef struct _UNWIND_INFO {
    UCHAR Version : 3;
    UCHAR Flags : 5;
    UCHAR SizeOfProlog;
    UCHAR CountOfCodes;
    UCHAR FrameRegister : 4;
    UCHAR FrameOffset : 4;
    UNWIND_CODE UnwindCode[];
} UNWIND_INFO, *PUNWIND_INFO;
NTOS_ASSERT_SIZE(UNWIND_INFO, 4);

/* CONTEXT integer registers in x64 encoding order (rax = 0 ... r15 = 15). */
static inline PULONG64 RtlpIntReg(PCONTEXT Context, ULONG Reg)
{
    return &Context->Rax + Reg;
}

static inline PM128A RtlpXmmReg(PCONTEXT Context, ULONG Reg)
{
    return &Context->Xmm0 + Reg;
}

/* Number of UNWIND_CODE slots an operation occupies. */
static ULONG RtlpUnwindOpSlots(const UNWIND_CODE *Code, UCHAR Version)
{
    switch (Code->UnwindOp) {
    case UWOP_ALLOC_LARGE:
        return Code->OpInfo == 0 ? 2 : 3;
    case UWOP_SAVE_NONVOL:
    case UWOP_SAVE_XMM128:
        return 2;
    case UWOP_SAVE_NONVOL_FAR:
    case UWOP_SAVE_XMM128_FAR:
        return 3;
    case UWOP_EPILOG:
        /* Version 2 epilogue descriptors are one slot each; version 1
         * used this number for a two-slot XMM save that was never emitted. */
        return Version >= 2 ? 1 : 2;
    case UWOP_SPARE_CODE:
        return Version >= 2 ? 1 : 3;
    default:
        return 1;
    }
}

/* ---- RtlLookupFunctionEntry ------------------------------------------------------------ */

static PRUNTIME_FUNCTION RtlpSearchTable(PRUNTIME_FUNCTION Table, ULONG Count, ULONG64 ImageBase, ULONG64 ControlPc)
{
    ULONG64 rva = ControlPc - ImageBase;
    LONG low = 0, high = (LONG)Count - 1;

    /* .pdata is sorted by BeginAddress and the ranges do not overlap. */
    while (low <= high) {
        LONG mid = (low + high) / 2;
        PRUNTIME_FUNCTION f = &Table[mid];
        if (rva < f->BeginAddress)
            high = mid - 1;
        else if (rva >= f->EndAddress)
            low = mid + 1;
        else {
            /* An indirect entry names another RUNTIME_FUNCTION by RVA. */
            if (f->UnwindData & RUNTIME_FUNCTION_INDIRECT)
                f = (PRUNTIME_FUNCTION)(ImageBase + (f->UnwindData & ~(ULONG)RUNTIME_FUNCTION_INDIRECT));
            return f;
        }
    }
    return NULL;
}

/*
 * The .pdata entry of the function containing ControlPc in a loaded PE image,
 * with the image's base in *ImageBase; NULL (and *ImageBase 0 if no image
 * contains the PC) for a leaf function or code outside loaded images. The
 * history table caches the images of recent lookups as documented; it is an
 * optimisation only, so a full table is simply not extended.
 */
PRUNTIME_FUNCTION NTAPI RtlLookupFunctionEntry(ULONG64 ControlPc, PULONG64 ImageBase,
                                               PUNWIND_HISTORY_TABLE HistoryTable)
{
    PRUNTIME_FUNCTION table = NULL;
    ULONG size = 0;
    ULONG64 base = 0;

    if (HistoryTable && HistoryTable->Count <= UNWIND_HISTORY_TABLE_SIZE && ControlPc >= HistoryTable->LowAddress &&
        ControlPc <= HistoryTable->HighAddress) {
        for (ULONG i = 0; i < HistoryTable->Count; i++) {
            PRUNTIME_FUNCTION f = HistoryTable->Entry[i].FunctionEntry;
            ULONG64 b = HistoryTable->Entry[i].ImageBase;
            if (f && ControlPc >= b + f->BeginAddress && ControlPc < b + f->EndAddress) {
                *ImageBase = b;
                return f;
            }
        }
    }

    PKLDR_DATA_TABLE_ENTRY module = LdrFindModuleByAddress((PVOID)ControlPc);
    if (module) {
        base = (ULONG64)module->DllBase;
        table = module->ExceptionTable;
        size = module->ExceptionTableSize;
    }
    *ImageBase = base;
    if (!table || size < sizeof(RUNTIME_FUNCTION))
        return NULL;

    PRUNTIME_FUNCTION f = RtlpSearchTable(table, size / sizeof(RUNTIME_FUNCTION), base, ControlPc);
    if (f && HistoryTable && HistoryTable->Count < UNWIND_HISTORY_TABLE_SIZE) {
        ULONG n = HistoryTable->Count++;
        HistoryTable->Entry[n].ImageBase = base;
        HistoryTable->Entry[n].FunctionEntry = f;
        ULONG64 lo = base + f->BeginAddress, hi = base + f->EndAddress;
        if (n == 0 || lo < HistoryTable->LowAddress)
            HistoryTable->LowAddress = lo;
        if (n == 0 || hi > HistoryTable->HighAddress)
            HistoryTable->HighAddress = hi;
    }
    return f;
}

/* ---- the epilogue rule ------------------------------------------------------------------ */

/*
 * The documented x64 epilogue form: an optional `add rsp, imm` or
 * `lea rsp, [frame register + disp]`, then zero or more `pop` of nonvolatile
 * registers, then `ret` (or `rep ret`) or a `jmp` leaving the function (a tail
 * call). If ControlPc is at such a sequence the function's prologue effects
 * are already partly undone, so the unwinder executes the rest of the
 * epilogue instead of the unwind codes. Returns TRUE when it did.
 */
static BOOLEAN RtlpUnwindEpilogue(ULONG64 ImageBase, ULONG64 ControlPc, PRUNTIME_FUNCTION Function,
                                  PUNWIND_INFO Info, PCONTEXT Context, PKNONVOLATILE_CONTEXT_POINTERS Pointers)
{
    const UCHAR *pc = (const UCHAR *)ControlPc;
    ULONG64 rsp = Context->Rsp;
    ULONG64 begin = ImageBase + Function->BeginAddress, end = ImageBase + Function->EndAddress;

    /* add rsp, imm8 / imm32 */
    if (pc[0] == 0x48 && pc[1] == 0x83 && pc[2] == 0xC4) {
        rsp += (ULONG64)(LONG64)(SCHAR)pc[3];
        pc += 4;
    } else if (pc[0] == 0x48 && pc[1] == 0x81 && pc[2] == 0xC4) {
        rsp += (ULONG64)(LONG64)(LONG)(pc[3] | pc[4] << 8 | pc[5] << 16 | (ULONG)pc[6] << 24);
        pc += 7;
    } else if ((pc[0] & 0xFE) == 0x48 && pc[1] == 0x8D && Info->FrameRegister != 0) {
        /* lea rsp, [reg + disp8/disp32]: ModRM mod 01/10, reg field 100 (rsp). */
        UCHAR modrm = pc[2];
        ULONG reg = (modrm & 7) | ((pc[0] & 1) << 3);
        if ((modrm & 0x38) != 0x20 || reg != Info->FrameRegister || (modrm & 7) == 4)
            return FALSE;
        if ((modrm >> 6) == 1) {
            rsp = *RtlpIntReg(Context, reg) + (ULONG64)(LONG64)(SCHAR)pc[3];
            pc += 4;
        } else if ((modrm >> 6) == 2) {
            rsp = *RtlpIntReg(Context, reg) +
                  (ULONG64)(LONG64)(LONG)(pc[3] | pc[4] << 8 | pc[5] << 16 | (ULONG)pc[6] << 24);
            pc += 7;
        } else
            return FALSE;
    }

    /* Verify the rest of the sequence before changing anything. */
    const UCHAR *scan = pc;
    for (;;) {
        if ((scan[0] & 0xF8) == 0x58) {
            scan += 1;
        } else if ((scan[0] & 0xFE) == 0x40 && (scan[1] & 0xF8) == 0x58) {
            scan += 2;
        } else
            break;
    }
    if (scan[0] == 0xC3 || (scan[0] == 0xF3 && scan[1] == 0xC3)) {
        /* ret */
    } else if (scan[0] == 0xE9 || scan[0] == 0xEB) {
        /* jmp rel: an epilogue only if it leaves the function (tail call). */
        LONG64 disp = scan[0] == 0xEB ? (SCHAR)scan[1]
                                      : (LONG)(scan[1] | scan[2] << 8 | scan[3] << 16 | (ULONG)scan[4] << 24);
        ULONG64 target = (ULONG64)scan + (scan[0] == 0xEB ? 2 : 5) + (ULONG64)disp;
        if (target >= begin && target < end)
            return FALSE;
    } else if (scan[0] == 0xFF && scan[1] == 0x25) {
        /* jmp [rip + disp32]: an import thunk style tail call. */
    } else if (scan[0] == 0x48 && scan[1] == 0xFF && (scan[2] & 0x38) == 0x20) {
        /* rex.w jmp r/m64 */
    } else
        return FALSE;

    /* Execute it. */
    while (pc < scan) {
        ULONG reg;
        if ((pc[0] & 0xF8) == 0x58) {
            reg = pc[0] & 7;
            pc += 1;
        } else {
            reg = (pc[1] & 7) + ((pc[0] & 1) << 3);
            pc += 2;
        }
        *RtlpIntReg(Context, reg) = *(PULONG64)rsp;
        if (Pointers)
            Pointers->IntegerContext[reg] = (PULONG64)rsp;
        rsp += 8;
    }
    Context->Rip = *(PULONG64)rsp;
    Context->Rsp = rsp + 8;
    return TRUE;
}

/* ---- RtlVirtualUnwind -------------------------------------------------------------------- */

/*
 * Applies one UNWIND_INFO's codes. PrologOffset limits the codes executed in
 * the primary info to those whose prologue instruction already ran; chained
 * infos are applied completely. The SAVE_* offsets are relative to the
 * frame base (the establisher frame: the fixed frame, which RSP may have left
 * after a dynamic allocation when a frame register is used). *MachineFrame is
 * set when PUSH_MACHFRAME supplied the return address and stack pointer.
 */
static BOOLEAN RtlpApplyUnwindCodes(PUNWIND_INFO Info, ULONG PrologOffset, BOOLEAN Primary, ULONG64 FrameBase,
                                    PCONTEXT Context, PKNONVOLATILE_CONTEXT_POINTERS Pointers, BOOLEAN *MachineFrame)
{
    ULONG i = 0;
    while (i < Info->CountOfCodes) {
        PUNWIND_CODE code = &Info->UnwindCode[i];
        ULONG slots = RtlpUnwindOpSlots(code, Info->Version);
        if (i + slots > Info->CountOfCodes)
            return FALSE;
        if (Primary && code->CodeOffset > PrologOffset && code->UnwindOp != UWOP_EPILOG) {
            i += slots;
            continue;
        }
        ULONG reg = code->OpInfo;
        ULONG64 offset;
        switch (code->UnwindOp) {
        case UWOP_PUSH_NONVOL:
            *RtlpIntReg(Context, reg) = *(PULONG64)Context->Rsp;
            if (Pointers)
                Pointers->IntegerContext[reg] = (PULONG64)Context->Rsp;
            Context->Rsp += 8;
            break;
        case UWOP_ALLOC_LARGE:
            if (code->OpInfo == 0)
                Context->Rsp += (ULONG64)Info->UnwindCode[i + 1].FrameOffset * 8;
            else
                Context->Rsp += Info->UnwindCode[i + 1].FrameOffset |
                                (ULONG64)Info->UnwindCode[i + 2].FrameOffset << 16;
            break;
        case UWOP_ALLOC_SMALL:
            Context->Rsp += (ULONG64)code->OpInfo * 8 + 8;
            break;
        case UWOP_SET_FPREG:
            Context->Rsp = *RtlpIntReg(Context, Info->FrameRegister) - (ULONG64)Info->FrameOffset * 16;
            break;
        case UWOP_SAVE_NONVOL:
        case UWOP_SAVE_NONVOL_FAR:
            offset = code->UnwindOp == UWOP_SAVE_NONVOL
                         ? (ULONG64)Info->UnwindCode[i + 1].FrameOffset * 8
                         : Info->UnwindCode[i + 1].FrameOffset | (ULONG64)Info->UnwindCode[i + 2].FrameOffset << 16;
            *RtlpIntReg(Context, reg) = *(PULONG64)(FrameBase + offset);
            if (Pointers)
                Pointers->IntegerContext[reg] = (PULONG64)(FrameBase + offset);
            break;
        case UWOP_SAVE_XMM128:
        case UWOP_SAVE_XMM128_FAR:
            offset = code->UnwindOp == UWOP_SAVE_XMM128
                         ? (ULONG64)Info->UnwindCode[i + 1].FrameOffset * 16
                         : Info->UnwindCode[i + 1].FrameOffset | (ULONG64)Info->UnwindCode[i + 2].FrameOffset << 16;
            __builtin_memcpy(RtlpXmmReg(Context, reg), (const void *)(FrameBase + offset), sizeof(M128A));
            if (Pointers)
                Pointers->FloatingContext[reg] = (PM128A)(FrameBase + offset);
            break;
        case UWOP_PUSH_MACHFRAME: {
            /* The processor pushed SS, RSP, EFLAGS, CS, RIP (and an error code
             * when OpInfo is 1) on an interrupt or exception. */
            ULONG64 frame = Context->Rsp + (code->OpInfo ? 8 : 0);
            Context->Rip = *(PULONG64)frame;
            Context->Rsp = *(PULONG64)(frame + 24);
            *MachineFrame = TRUE;
            break;
        }
        case UWOP_EPILOG:
        case UWOP_SPARE_CODE:
            if (Info->Version < 2)
                return FALSE;
            break;
        default:
            return FALSE;
        }
        i += slots;
    }
    return TRUE;
}

static inline ULONG RtlpHandlerSlot(PUNWIND_INFO Info)
{
    return (Info->CountOfCodes + 1) & ~1u;
}

PEXCEPTION_ROUTINE NTAPI RtlVirtualUnwind(ULONG HandlerType, ULONG64 ImageBase, ULONG64 ControlPc,
                                          PRUNTIME_FUNCTION FunctionEntry, PCONTEXT ContextRecord,
                                          PVOID *HandlerData, PULONG64 EstablisherFrame,
                                          PKNONVOLATILE_CONTEXT_POINTERS ContextPointers)
{
    PUNWIND_INFO info = (PUNWIND_INFO)(ImageBase + FunctionEntry->UnwindData);
    ULONG64 offset = ControlPc - (ImageBase + FunctionEntry->BeginAddress);
    BOOLEAN machine = FALSE;

    *HandlerData = NULL;

    /* The establisher frame: RSP, or the frame register once the prologue
     * established it (SET_FPREG at or before the current prologue offset). */
    if (info->FrameRegister == 0) {
        *EstablisherFrame = ContextRecord->Rsp;
    } else if (offset >= info->SizeOfProlog || (info->Flags & UNW_FLAG_CHAININFO)) {
        *EstablisherFrame = *RtlpIntReg(ContextRecord, info->FrameRegister) - (ULONG64)info->FrameOffset * 16;
    } else {
        ULONG i = 0;
        *EstablisherFrame = ContextRecord->Rsp;
        while (i < info->CountOfCodes) {
            if (info->UnwindCode[i].UnwindOp == UWOP_SET_FPREG) {
                if (info->UnwindCode[i].CodeOffset <= offset)
                    *EstablisherFrame =
                        *RtlpIntReg(ContextRecord, info->FrameRegister) - (ULONG64)info->FrameOffset * 16;
                break;
            }
            i += RtlpUnwindOpSlots(&info->UnwindCode[i], info->Version);
        }
    }

    /* Past the prologue, the PC may be in an epilogue. */
    if (offset >= info->SizeOfProlog &&
        RtlpUnwindEpilogue(ImageBase, ControlPc, FunctionEntry, info, ContextRecord, ContextPointers))
        return NULL;

    if (!RtlpApplyUnwindCodes(info, (ULONG)offset, TRUE, *EstablisherFrame, ContextRecord, ContextPointers, &machine))
        return NULL;

    /* Chained infos: the rest of the function's prologue, described by the
     * parent entry the chain names, is applied completely. */
    PUNWIND_INFO chain = info;
    for (ULONG depth = 0; (chain->Flags & UNW_FLAG_CHAININFO) && depth < 32; depth++) {
        PRUNTIME_FUNCTION parent = (PRUNTIME_FUNCTION)&chain->UnwindCode[RtlpHandlerSlot(chain)];
        if (parent->UnwindData & RUNTIME_FUNCTION_INDIRECT)
            parent = (PRUNTIME_FUNCTION)(ImageBase + (parent->UnwindData & ~(ULONG)RUNTIME_FUNCTION_INDIRECT));
        chain = (PUNWIND_INFO)(ImageBase + parent->UnwindData);
        if (!RtlpApplyUnwindCodes(chain, 0, FALSE, *EstablisherFrame, ContextRecord, ContextPointers, &machine))
            return NULL;
    }

    if (!machine) {
        ContextRecord->Rip = *(PULONG64)ContextRecord->Rsp;
        ContextRecord->Rsp += 8;
    }

    /* The language handler, only outside the prologue (a frame still being
     * built has no scopes active). */
    if (!(info->Flags & UNW_FLAG_CHAININFO) && (info->Flags & HandlerType) && offset >= info->SizeOfProlog) {
        PULONG handler = (PULONG)&info->UnwindCode[RtlpHandlerSlot(info)];
        *HandlerData = handler + 1;
        return (PEXCEPTION_ROUTINE)(ImageBase + *handler);
    }
    return NULL;
}

/* ---- the frame step ------------------------------------------------------------------------ */

BOOLEAN RtlpUnwindFrame(ULONG HandlerType, PCONTEXT Context, BOOLEAN PcIsReturnAddress, PRTLP_FRAME Frame,
                        PUNWIND_HISTORY_TABLE HistoryTable, PKNONVOLATILE_CONTEXT_POINTERS ContextPointers)
{
    ULONG64 pc = Context->Rip;
    ULONG64 base = 0;
    RTLP_FRAME local;
    PRTLP_FRAME f = Frame ? Frame : &local;

    f->ControlPc = pc;
    f->Handler = NULL;
    f->HandlerData = NULL;
    f->FunctionEntry = NULL;

    PRUNTIME_FUNCTION entry = RtlLookupFunctionEntry(pc, &base, HistoryTable);
    f->ImageBase = base;
    if (entry) {
        f->FunctionEntry = entry;
        f->Handler = RtlVirtualUnwind(HandlerType, base, pc, entry, Context, &f->HandlerData, &f->EstablisherFrame,
                                      ContextPointers);
        return TRUE;
    }
    /* Kernel ELF code (no .pdata; described by .eh_frame). */
    f->EstablisherFrame = Context->Rsp;
    if (RtlpDwarfUnwind(Context, PcIsReturnAddress, ContextPointers)) {
        f->ImageBase = 0;
        /* An ELF frame has no language handler; its establisher frame is
         * the RSP at the PC, which orders it among the PE frames. */
        return TRUE;
    }
    /* A PE image without an entry for the PC: a leaf function, whose
     * return address is at RSP (the x64 leaf rule). */
    if (base != 0 && ((PKLDR_DATA_TABLE_ENTRY)LdrFindModuleByAddress((PVOID)pc))->ExceptionTable != NULL) {
        Context->Rip = *(PULONG64)Context->Rsp;
        Context->Rsp += 8;
        return TRUE;
    }
    return FALSE;
}

/* ---- back traces --------------------------------------------------------------------------- */

/* The stack range of the current thread, to stop a walk that leaves it. */
VOID RtlpStackLimits(ULONG64 Rsp, PULONG64 Low, PULONG64 High)
{
    PKTHREAD t = KeGetCurrentThread();
    if (t && t->StackBase && t->StackLimit && Rsp >= t->StackLimit && Rsp < t->StackBase) {
        *Low = t->StackLimit;
        *High = t->StackBase;
    } else {
        /* A stack the thread object does not describe (a boot stack): trust
         * the frames, but never further than 1 MB above the start. */
        *Low = Rsp;
        *High = Rsp + 0x100000;
    }
}

/*
 * Return addresses of the callers of the function that called this one,
 * Flags 0 = kernel-mode frames only (user mode does not exist yet). Returns
 * the number stored.
 */
static __attribute__((noinline)) ULONG RtlpWalk(PVOID *Callers, ULONG Skip, ULONG Count)
{
    CONTEXT ctx;
    ULONG n = 0;
    ULONG64 low, high;

    RtlCaptureContext(&ctx);
    RtlpStackLimits(ctx.Rsp, &low, &high);
    /* ctx.Rip is in RtlpWalk itself: step out of it first. */
    Skip++;
    while (n < Count) {
        ULONG64 sp = ctx.Rsp;
        if (!RtlpUnwindFrame(UNW_FLAG_NHANDLER, &ctx, TRUE, NULL, NULL, NULL))
            break;
        if (ctx.Rip == 0 || ctx.Rsp <= sp || ctx.Rsp < low || ctx.Rsp >= high)
            break;
        if (Skip)
            Skip--;
        else
            Callers[n++] = (PVOID)ctx.Rip;
    }
    return n;
}

/* Never inlined (nor is RtlpWalk): the frames skipped are these functions'
 * own, which must exist (ThinLTO would otherwise fold them into callers). */
__attribute__((noinline)) ULONG NTAPI RtlWalkFrameChain(PVOID *Callers, ULONG Count, ULONG Flags)
{
    if (Flags != 0 || !Callers)
        return 0;
    /* The first entry is the return address into RtlWalkFrameChain's caller. */
    return RtlpWalk(Callers, 0, Count);
}

__attribute__((noinline)) USHORT NTAPI RtlCaptureStackBackTrace(ULONG FramesToSkip, ULONG FramesToCapture, PVOID *BackTrace,
                                      PULONG BackTraceHash)
{
    /* The count is a USHORT and Windows rejects requests of 64K frames or more. */
    if (!BackTrace || FramesToSkip + FramesToCapture >= 0xFFFF)
        return 0;
    ULONG n = RtlpWalk(BackTrace, FramesToSkip, FramesToCapture);
    if (BackTraceHash) {
        ULONG hash = 0;
        for (ULONG i = 0; i < n; i++)
            hash += (ULONG)(ULONG_PTR)BackTrace[i];
        *BackTraceHash = hash;
    }
    return (USHORT)n;
}
