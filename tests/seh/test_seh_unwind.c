/*
 * RtlVirtualUnwind against hand-written unwind data: an "image" in executable
 * pool holding code bytes, UNWIND_INFO blocks and a .pdata array, registered
 * in the module list, unwound over fake stacks whose every slot is known.
 * Covers each UNWIND_CODE operation (PUSH_NONVOL, ALLOC_SMALL, ALLOC_LARGE in
 * both forms, SET_FPREG, SAVE_NONVOL(_FAR), SAVE_XMM128(_FAR), PUSH_MACHFRAME
 * with and without error code, version 2 epilogue codes), partial prologues,
 * chained unwind info, the epilogue rule (add/lea rsp, pops, ret/jmp),
 * handler and handler data, the establisher frame, ContextPointers, the leaf
 * rule, and RtlCaptureContext/RtlRestoreContext.
 */
#include "ntos_test.h"
#include <ntos/ldr.h>
#include <ntos/rtl.h>
#include <ntos/seh.h>
#include <ntos/ex_pool.h>

#define UW_TAG 0x77556553 /* 'SeUw' */
#define IMAGE_SIZE 0x4000
#define STACK_SIZE 0x30000

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

static PUCHAR image;
static PUCHAR stack;
static KLDR_DATA_TABLE_ENTRY entry;
static ULONG pdata_count;
static ULONG info_next;
static PRUNTIME_FUNCTION pdata;

#define CODE(off) (image + (off))
#define PDATA_RVA 0x3000
#define INFO_RVA 0x2000

static int uw_setup(void **state)
{
    (void)state;
    image = ExAllocatePoolWithTag(NonPagedPoolExecute, IMAGE_SIZE, UW_TAG);
    stack = ExAllocatePoolWithTag(NonPagedPoolNx, STACK_SIZE, UW_TAG);
    if (!image || !stack)
        return -1;
    /* int3 filler: nothing here is executed, but nothing looks like an epilogue. */
    RtlFillMemory(image, IMAGE_SIZE, 0xCC);
    pdata = (PRUNTIME_FUNCTION)(image + PDATA_RVA);
    pdata_count = 0;
    info_next = INFO_RVA;
    RtlZeroMemory(&entry, sizeof(entry));
    entry.DllBase = image;
    entry.SizeOfImage = IMAGE_SIZE;
    entry.ExceptionTable = pdata;
    entry.ExceptionTableSize = 0;
    RtlInitUnicodeString(&entry.BaseDllName, L"unwind.sys");
    entry.FullDllName = entry.BaseDllName;
    return LdrpInsertModule(&entry) == STATUS_SUCCESS ? 0 : -1;
}

static int uw_teardown(void **state)
{
    (void)state;
    LdrpRemoveModule(&entry);
    ExFreePoolWithTag(image, UW_TAG);
    ExFreePoolWithTag(stack, UW_TAG);
    return 0;
}

/* Each test describes its own functions from an empty table (so repeated
 * runs of a test see the same image). */
static void reset_image(void)
{
    RtlFillMemory(image, IMAGE_SIZE, 0xCC);
    pdata_count = 0;
    info_next = INFO_RVA;
    entry.ExceptionTableSize = 0;
}

/* Builds one UNWIND_INFO at the next free RVA: codes are 16-bit slots. */
static ULONG add_info(UCHAR Version, UCHAR Flags, UCHAR Prolog, UCHAR FrameReg, UCHAR FrameOff, const USHORT *Codes,
                      UCHAR Count, ULONG Tail0, ULONG Tail1, ULONG Tail2)
{
    ULONG rva = info_next;
    PUCHAR p = image + rva;
    p[0] = (UCHAR)(Version | (Flags << 3));
    p[1] = Prolog;
    p[2] = Count;
    p[3] = (UCHAR)(FrameReg | (FrameOff << 4));
    RtlCopyMemory(p + 4, Codes, Count * 2u);
    ULONG slots = (Count + 1u) & ~1u;
    PULONG tail = (PULONG)(p + 4 + slots * 2);
    tail[0] = Tail0;
    tail[1] = Tail1;
    tail[2] = Tail2;
    info_next = (rva + 4 + slots * 2 + 12 + 7) & ~7u;
    return rva;
}

/* .pdata must stay sorted: functions are added in address order. */
static PRUNTIME_FUNCTION add_function(ULONG Begin, ULONG End, ULONG Info)
{
    PRUNTIME_FUNCTION f = &pdata[pdata_count++];
    f->BeginAddress = Begin;
    f->EndAddress = End;
    f->UnwindData = Info;
    entry.ExceptionTableSize = pdata_count * sizeof(RUNTIME_FUNCTION);
    return f;
}

#define UC(off, op, info) ((USHORT)((off) | ((op) << 8) | ((info) << 12)))

static PULONG64 slot(ULONG Offset)
{
    return (PULONG64)(stack + Offset);
}

static void fill_stack(void)
{
    for (ULONG i = 0; i < STACK_SIZE / 8; i++)
        ((PULONG64)stack)[i] = 0x5A5A000000000000ULL | i;
}

static PRUNTIME_FUNCTION lookup(ULONG Rva)
{
    ULONG64 base = 0;
    PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((ULONG64)(image + Rva), &base, NULL);
    assert_int_equal(base, (ULONG64)image);
    return f;
}

/*
 * Function at 0x000: push rsi (ends 0x02); push rbp (0x04); sub rsp, 40 (0x08);
 * lea rbp, [rsp+32] (0x0D); mov [rsp+8], rbx (0x12); movaps [rsp+16], xmm6 (0x18).
 * Frame register rbp, offset 2 (32 bytes). Exception + termination handler.
 */
static void push_alloc_fpreg_save_ops(void **state)
{
    (void)state;
    reset_image();
    static const USHORT codes[] = {
        UC(0x18, UWOP_SAVE_XMM128, 6), 1, /* [rsp + 1*16] */
        UC(0x12, UWOP_SAVE_NONVOL, RBX), 1, /* [rsp + 1*8] */
        UC(0x0D, UWOP_SET_FPREG, 0),
        UC(0x08, UWOP_ALLOC_SMALL, 4), /* 4*8+8 = 40 */
        UC(0x04, UWOP_PUSH_NONVOL, RBP),
        UC(0x02, UWOP_PUSH_NONVOL, RSI),
    };
    ULONG info = add_info(1, UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER, 0x18, RBP, 2, codes, 8, 0x1F00, 0xABCD, 0);
    PRUNTIME_FUNCTION f = add_function(0x000, 0x080, info);
    assert_ptr_equal(lookup(0x040), f);

    fill_stack();
    ULONG rsp0 = 0x1000;                 /* caller's RSP before the call */
    ULONG rsp1 = rsp0 - 8 - 8 - 8 - 40;  /* after the prologue */
    *slot(rsp0 - 8) = 0x1111;            /* return address */
    *slot(rsp0 - 16) = 0x5151;           /* saved rsi */
    *slot(rsp0 - 24) = 0xB0B0;           /* saved rbp */
    *slot(rsp1 + 8) = 0xB1B1;            /* saved rbx */
    *slot(rsp1 + 16) = 0x6666;           /* saved xmm6 low */
    *slot(rsp1 + 24) = 0x7777;           /* saved xmm6 high */

    CONTEXT c;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x40);
    c.Rsp = (ULONG64)stack + rsp1 - 0x100; /* dynamic allocation below: only rbp finds the frame */
    c.Rbp = (ULONG64)stack + rsp1 + 32;
    KNONVOLATILE_CONTEXT_POINTERS ptrs;
    RtlZeroMemory(&ptrs, sizeof(ptrs));
    PVOID data = NULL;
    ULONG64 establisher = 0;
    PEXCEPTION_ROUTINE h = RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, &ptrs);
    assert_ptr_equal((PVOID)(ULONG_PTR)h, image + 0x1F00);
    assert_ptr_equal(data, image + info + 4 + 8 * 2 + 4);
    assert_int_equal(*(PULONG)data, 0xABCD);
    assert_int_equal(establisher, (ULONG64)stack + rsp1);
    assert_int_equal(c.Rip, 0x1111);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);
    assert_int_equal(c.Rsi, 0x5151);
    assert_int_equal(c.Rbp, 0xB0B0);
    assert_int_equal(c.Rbx, 0xB1B1);
    assert_int_equal(c.Xmm6.Low, 0x6666);
    assert_int_equal(c.Xmm6.High, 0x7777);
    assert_ptr_equal(ptrs.Rsi, slot(rsp0 - 16));
    assert_ptr_equal(ptrs.Rbp, slot(rsp0 - 24));
    assert_ptr_equal(ptrs.Rbx, slot(rsp1 + 8));
    assert_ptr_equal(ptrs.Xmm6, slot(rsp1 + 16));
    assert_null(ptrs.Rdi);

    /* HandlerType selects: only the termination handler flag is set? both
     * are, so a NHANDLER request gets none. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x40);
    c.Rbp = (ULONG64)stack + rsp1 + 32;
    c.Rsp = c.Rbp - 32;
    h = RtlVirtualUnwind(UNW_FLAG_NHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_null((PVOID)(ULONG_PTR)h);
    assert_null(data);
    assert_int_equal(c.Rip, 0x1111);

    /* In the prologue, after the two pushes only: those are undone, nothing
     * else; no handler; the establisher frame is RSP (no frame register yet). */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x04);
    c.Rsp = (ULONG64)stack + rsp0 - 24;
    c.Rbx = 0xDEAD;
    h = RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_null((PVOID)(ULONG_PTR)h);
    assert_int_equal(establisher, (ULONG64)stack + rsp0 - 24);
    assert_int_equal(c.Rbp, 0xB0B0);
    assert_int_equal(c.Rsi, 0x5151);
    assert_int_equal(c.Rbx, 0xDEAD);
    assert_int_equal(c.Rip, 0x1111);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);

    /* After SET_FPREG but before the saves: the frame register gives the
     * establisher frame, the saves are not undone. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x0D);
    c.Rsp = (ULONG64)stack + rsp1;
    c.Rbp = (ULONG64)stack + rsp1 + 32;
    c.Rbx = 0xBEEF;
    RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_int_equal(establisher, (ULONG64)stack + rsp1);
    assert_int_equal(c.Rbx, 0xBEEF);
    assert_int_equal(c.Rbp, 0xB0B0);
    assert_int_equal(c.Rip, 0x1111);
}

/* Function at 0x100: push r12; sub rsp, 0x1000 (ALLOC_LARGE, 16-bit slot);
 * then a second at 0x180 with ALLOC_LARGE 32-bit, SAVE_NONVOL_FAR r13 and
 * SAVE_XMM128_FAR xmm15, version 2 with an epilogue code. */
static void large_and_far_ops(void **state)
{
    (void)state;
    reset_image();
    static const USHORT codes1[] = {
        UC(0x0B, UWOP_ALLOC_LARGE, 0), 0x1000 / 8,
        UC(0x02, UWOP_PUSH_NONVOL, R12),
    };
    ULONG info1 = add_info(1, 0, 0x0B, 0, 0, codes1, 3, 0, 0, 0);
    PRUNTIME_FUNCTION f1 = add_function(0x100, 0x140, info1);

    fill_stack();
    ULONG rsp0 = 0x2000, rsp1 = rsp0 - 16 - 0x1000;
    *slot(rsp0 - 8) = 0x2222;
    *slot(rsp0 - 16) = 0x1212;
    CONTEXT c;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x120);
    c.Rsp = (ULONG64)stack + rsp1;
    PVOID data;
    ULONG64 establisher;
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, (ULONG64)image, c.Rip, f1, &c, &data, &establisher, NULL);
    assert_int_equal(establisher, (ULONG64)stack + rsp1);
    assert_int_equal(c.R12, 0x1212);
    assert_int_equal(c.Rip, 0x2222);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);

    static const USHORT codes2[] = {
        UC(0x01, UWOP_EPILOG, 1), UC(0x00, UWOP_EPILOG, 0), /* version 2 epilogue descriptors: no effect */
        UC(0x20, UWOP_SAVE_XMM128_FAR, 15), 0x8010 & 0xFFFF, 0x0001,
        UC(0x18, UWOP_SAVE_NONVOL_FAR, R13), 0x8000 & 0xFFFF, 0x0001,
        UC(0x10, UWOP_ALLOC_LARGE, 1), 0x0020 & 0xFFFF, 0x0002, /* 0x20020 */
        UC(0x02, UWOP_PUSH_NONVOL, R15),
    };
    ULONG info2 = add_info(2, 0, 0x20, 0, 0, codes2, 12, 0, 0, 0);
    PRUNTIME_FUNCTION f2 = add_function(0x180, 0x1C0, info2);
    fill_stack();
    rsp0 = 0x28000;
    rsp1 = rsp0 - 16 - 0x20020;
    *slot(rsp0 - 8) = 0x3333;
    *slot(rsp0 - 16) = 0x1515;
    *slot(rsp1 + 0x18000) = 0x1313;
    *slot(rsp1 + 0x18010) = 0xF0F0;
    *slot(rsp1 + 0x18018) = 0xF1F1;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x1A0);
    c.Rsp = (ULONG64)stack + rsp1;
    KNONVOLATILE_CONTEXT_POINTERS ptrs;
    RtlZeroMemory(&ptrs, sizeof(ptrs));
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, (ULONG64)image, c.Rip, f2, &c, &data, &establisher, &ptrs);
    assert_int_equal(c.R13, 0x1313);
    assert_int_equal(c.Xmm15.Low, 0xF0F0);
    assert_int_equal(c.Xmm15.High, 0xF1F1);
    assert_int_equal(c.R15, 0x1515);
    assert_int_equal(c.Rip, 0x3333);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);
    assert_ptr_equal(ptrs.R13, slot(rsp1 + 0x18000));
    assert_ptr_equal(ptrs.Xmm15, slot(rsp1 + 0x18010));
}

/* Function at 0x200: an interrupt handler entered with a machine frame (with
 * error code), then push rax, push rcx. Function at 0x240: the same without
 * error code. */
static void push_machframe(void **state)
{
    (void)state;
    reset_image();
    static const USHORT codes1[] = {
        UC(0x02, UWOP_PUSH_NONVOL, RCX),
        UC(0x01, UWOP_PUSH_NONVOL, RAX),
        UC(0x00, UWOP_PUSH_MACHFRAME, 1),
    };
    ULONG info1 = add_info(1, 0, 0x02, 0, 0, codes1, 3, 0, 0, 0);
    PRUNTIME_FUNCTION f1 = add_function(0x200, 0x240, info1);
    static const USHORT codes2[] = {
        UC(0x00, UWOP_PUSH_MACHFRAME, 0),
    };
    ULONG info2 = add_info(1, 0, 0x00, 0, 0, codes2, 1, 0, 0, 0);
    PRUNTIME_FUNCTION f2 = add_function(0x240, 0x280, info2);

    fill_stack();
    /* [rsp] rcx, rax, error code, RIP, CS, RFLAGS, RSP, SS */
    ULONG top = 0x3000;
    *slot(top + 0) = 0xCCCC;
    *slot(top + 8) = 0xAAAA;
    *slot(top + 16) = 0xE44;
    *slot(top + 24) = 0x4444;
    *slot(top + 32) = 0x10;
    *slot(top + 40) = 0x246;
    *slot(top + 48) = (ULONG64)stack + 0x5000;
    *slot(top + 56) = 0x18;
    CONTEXT c;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x210);
    c.Rsp = (ULONG64)stack + top;
    PVOID data;
    ULONG64 establisher;
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, (ULONG64)image, c.Rip, f1, &c, &data, &establisher, NULL);
    assert_int_equal(c.Rcx, 0xCCCC);
    assert_int_equal(c.Rax, 0xAAAA);
    assert_int_equal(c.Rip, 0x4444);
    assert_int_equal(c.Rsp, (ULONG64)stack + 0x5000);

    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x250);
    c.Rsp = (ULONG64)stack + top + 24;
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, (ULONG64)image, c.Rip, f2, &c, &data, &establisher, NULL);
    assert_int_equal(c.Rip, 0x4444);
    assert_int_equal(c.Rsp, (ULONG64)stack + 0x5000);
}

/* A primary function at 0x300 (push rbx; sub rsp, 0x20) and a split-off
 * block at 0x380 whose unwind info only saves r14 and chains to it. */
static void chained_info(void **state)
{
    (void)state;
    reset_image();
    static const USHORT primary[] = {
        UC(0x05, UWOP_ALLOC_SMALL, 3), /* 32 */
        UC(0x01, UWOP_PUSH_NONVOL, RBX),
    };
    ULONG pinfo = add_info(1, UNW_FLAG_EHANDLER, 0x05, 0, 0, primary, 2, 0x1F80, 0, 0);
    PRUNTIME_FUNCTION pf = add_function(0x300, 0x340, pinfo);
    static const USHORT block[] = {
        UC(0x05, UWOP_SAVE_NONVOL, R14), 2, /* [rsp + 16] */
    };
    ULONG binfo = add_info(1, UNW_FLAG_CHAININFO, 0x05, 0, 0, block, 2, pf->BeginAddress, pf->EndAddress,
                           pf->UnwindData);
    PRUNTIME_FUNCTION bf = add_function(0x380, 0x3C0, binfo);
    assert_ptr_equal(lookup(0x390), bf);

    fill_stack();
    ULONG rsp0 = 0x4000, rsp1 = rsp0 - 16 - 32;
    *slot(rsp0 - 8) = 0x5555;
    *slot(rsp0 - 16) = 0xB8B8;
    *slot(rsp1 + 16) = 0x1414;
    CONTEXT c;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x390); /* past the block's own prologue; the parent's codes apply in full */
    c.Rsp = (ULONG64)stack + rsp1;
    PVOID data;
    ULONG64 establisher;
    PEXCEPTION_ROUTINE h =
        RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, bf, &c, &data, &establisher, NULL);
    /* A chained (non-primary) info has no handler of its own. */
    assert_null((PVOID)(ULONG_PTR)h);
    assert_int_equal(c.R14, 0x1414);
    assert_int_equal(c.Rbx, 0xB8B8);
    assert_int_equal(c.Rip, 0x5555);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);
    /* At the block's first byte its own save has not happened yet. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x380);
    c.Rsp = (ULONG64)stack + rsp1;
    c.R14 = 0x7E7E;
    RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, bf, &c, &data, &establisher, NULL);
    assert_int_equal(c.R14, 0x7E7E);
    assert_int_equal(c.Rbx, 0xB8B8);
    assert_int_equal(c.Rip, 0x5555);
}

/* Function at 0x400 (push rbp; push rbx; sub rsp, 0x28) with epilogues, and
 * at 0x500 with a frame register (push rbp; lea rbp, [rsp]... ; lea rsp epilogue). */
static void epilogue_rule(void **state)
{
    (void)state;
    reset_image();
    static const USHORT codes[] = {
        UC(0x06, UWOP_ALLOC_SMALL, 4), /* 40 */
        UC(0x02, UWOP_PUSH_NONVOL, RBX),
        UC(0x01, UWOP_PUSH_NONVOL, RBP),
    };
    ULONG info = add_info(1, UNW_FLAG_EHANDLER, 0x06, 0, 0, codes, 3, 0x1FC0, 0, 0);
    PRUNTIME_FUNCTION f = add_function(0x400, 0x480, info);
    /* add rsp, 0x28; pop rbx; pop rbp; ret */
    static const UCHAR epi[] = {0x48, 0x83, 0xC4, 0x28, 0x5B, 0x5D, 0xC3};
    RtlCopyMemory(CODE(0x440), epi, sizeof(epi));
    /* add rsp, 0x28; nop; ret: not an epilogue */
    static const UCHAR notepi[] = {0x48, 0x83, 0xC4, 0x28, 0x90, 0xC3};
    RtlCopyMemory(CODE(0x450), notepi, sizeof(notepi));
    /* add rsp, 0x28; pop rbx; pop rbp; jmp rel32 out of the function (tail call) */
    static const UCHAR tail[] = {0x48, 0x83, 0xC4, 0x28, 0x5B, 0x5D, 0xE9, 0x00, 0x10, 0x00, 0x00};
    RtlCopyMemory(CODE(0x460), tail, sizeof(tail));

    fill_stack();
    ULONG rsp0 = 0x6000, rsp1 = rsp0 - 24 - 40;
    *slot(rsp0 - 8) = 0x6161;
    *slot(rsp0 - 16) = 0xB0B0;
    *slot(rsp0 - 24) = 0xB1B1;

    CONTEXT c;
    PVOID data;
    ULONG64 establisher;
    PEXCEPTION_ROUTINE h;
    /* At the add: the whole epilogue is emulated, no handler. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x440);
    c.Rsp = (ULONG64)stack + rsp1;
    h = RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_null((PVOID)(ULONG_PTR)h);
    assert_int_equal(c.Rbx, 0xB1B1);
    assert_int_equal(c.Rbp, 0xB0B0);
    assert_int_equal(c.Rip, 0x6161);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);
    /* At the second pop: only rbp is left to restore (rbx stays as is). */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x445);
    c.Rsp = (ULONG64)stack + rsp0 - 16;
    c.Rbx = 0x4242;
    h = RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_null((PVOID)(ULONG_PTR)h);
    assert_int_equal(c.Rbx, 0x4242);
    assert_int_equal(c.Rbp, 0xB0B0);
    assert_int_equal(c.Rip, 0x6161);
    /* At the ret. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x446);
    c.Rsp = (ULONG64)stack + rsp0 - 8;
    RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_int_equal(c.Rip, 0x6161);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);
    /* Not an epilogue: the body rule (unwind codes) applies and the handler is reported. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x450);
    c.Rsp = (ULONG64)stack + rsp1;
    h = RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_ptr_equal((PVOID)(ULONG_PTR)h, image + 0x1FC0);
    assert_int_equal(c.Rbx, 0xB1B1);
    assert_int_equal(c.Rip, 0x6161);
    /* A tail-call jmp ends an epilogue too. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x460);
    c.Rsp = (ULONG64)stack + rsp1;
    h = RtlVirtualUnwind(UNW_FLAG_EHANDLER, (ULONG64)image, c.Rip, f, &c, &data, &establisher, NULL);
    assert_null((PVOID)(ULONG_PTR)h);
    assert_int_equal(c.Rbp, 0xB0B0);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);

    /* lea rsp, [rbp+0x10]; pop rbp; ret in a function with frame register rbp:
     * push rbp (0x01); sub rsp, 0x30 (0x05); lea rbp, [rsp+0x20] (0x0A). */
    static const USHORT fcodes[] = {
        UC(0x0A, UWOP_SET_FPREG, 0),
        UC(0x05, UWOP_ALLOC_SMALL, 5), /* 48 */
        UC(0x01, UWOP_PUSH_NONVOL, RBP),
    };
    ULONG finfo = add_info(1, 0, 0x0A, RBP, 2, fcodes, 3, 0, 0, 0);
    PRUNTIME_FUNCTION ff = add_function(0x500, 0x580, finfo);
    static const UCHAR leaepi[] = {0x48, 0x8D, 0x65, 0x10, 0x5D, 0xC3};
    RtlCopyMemory(CODE(0x540), leaepi, sizeof(leaepi));
    fill_stack();
    rsp0 = 0x7000;
    rsp1 = rsp0 - 16 - 48;
    *slot(rsp0 - 8) = 0x7171;
    *slot(rsp0 - 16) = 0xB2B2;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x540);
    c.Rsp = (ULONG64)stack + rsp1 - 0x80;
    c.Rbp = (ULONG64)stack + rsp1 + 32; /* rbp + 0x10 = the push slot */
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, (ULONG64)image, c.Rip, ff, &c, &data, &establisher, NULL);
    assert_int_equal(establisher, (ULONG64)stack + rsp1);
    assert_int_equal(c.Rbp, 0xB2B2);
    assert_int_equal(c.Rip, 0x7171);
    assert_int_equal(c.Rsp, (ULONG64)stack + rsp0);
}

/* Code inside the image without a .pdata entry is a leaf: its return address
 * is at RSP. Outside every image, the walk ends. */
static void leaf_rule_and_lookup_misses(void **state)
{
    (void)state;
    reset_image();
    ULONG64 base = 1;
    assert_null(RtlLookupFunctionEntry((ULONG64)CODE(0x0F00), &base, NULL));
    assert_int_equal(base, (ULONG64)image);
    fill_stack();
    *slot(0x800) = 0x9191;
    CONTEXT c;
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)CODE(0x0F00);
    c.Rsp = (ULONG64)stack + 0x800;
    RTLP_FRAME f;
    assert_true(RtlpUnwindFrame(UNW_FLAG_NHANDLER, &c, FALSE, &f, NULL, NULL));
    assert_null(f.FunctionEntry);
    assert_int_equal(c.Rip, 0x9191);
    assert_int_equal(c.Rsp, (ULONG64)stack + 0x808);
    /* Pool memory is in no image and has no CFI. */
    RtlZeroMemory(&c, sizeof(c));
    c.Rip = (ULONG64)stack;
    c.Rsp = (ULONG64)stack + 0x800;
    assert_false(RtlpUnwindFrame(UNW_FLAG_NHANDLER, &c, FALSE, &f, NULL, NULL));
}

/* ---- capture and restore ---------------------------------------------------------------- */

static volatile int restore_passes;
static CONTEXT restore_ctx;

static void capture_and_restore_context(void **state)
{
    (void)state;
    restore_passes = 0;
    RtlCaptureContext(&restore_ctx);
    restore_passes++;
    if (restore_passes == 1) {
        /* Resumes right after the capture, a second time. */
        RtlRestoreContext(&restore_ctx, NULL);
    }
    assert_int_equal(restore_passes, 2);
    assert_int_equal(restore_ctx.ContextFlags, CONTEXT_FULL | CONTEXT_SEGMENTS);
    assert_true(restore_ctx.SegCs != 0);
    PVOID a, b;
    assert_ptr_equal(RtlPcToFileHeader((PVOID)restore_ctx.Rip, &a),
                     RtlPcToFileHeader((PVOID)(ULONG_PTR)capture_and_restore_context, &b));
    /* The captured RSP is this function's (after the call returned). */
    volatile int local;
    assert_true(restore_ctx.Rsp > (ULONG64)&local - 0x1000 && restore_ctx.Rsp <= (ULONG64)&local + 0x1000);
}

/* The kernel's own frames unwind through .eh_frame: a back trace from three
 * nested noinline calls names each caller in order. */
static PVOID bt[8];
static USHORT bt_count;
static ULONG bt_hash;

static __attribute__((noinline)) void bt_leaf(void)
{
    bt_count = RtlCaptureStackBackTrace(0, 8, bt, &bt_hash);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void bt_middle(void)
{
    bt_leaf();
    __asm__ volatile("" ::: "memory");
}

static void kernel_back_trace(void **state)
{
    (void)state;
    bt_middle();
    __asm__ volatile("" ::: "memory");
    assert_true(bt_count >= 3);
    /* bt[0] is in bt_leaf, bt[1] in bt_middle, bt[2] here. */
    assert_true((ULONG_PTR)bt[0] > (ULONG_PTR)bt_leaf && (ULONG_PTR)bt[0] < (ULONG_PTR)bt_leaf + 0x200);
    assert_true((ULONG_PTR)bt[1] > (ULONG_PTR)bt_middle && (ULONG_PTR)bt[1] < (ULONG_PTR)bt_middle + 0x100);
    assert_true((ULONG_PTR)bt[2] > (ULONG_PTR)kernel_back_trace &&
                (ULONG_PTR)bt[2] < (ULONG_PTR)kernel_back_trace + 0x1000);
    ULONG sum = 0;
    for (ULONG i = 0; i < bt_count; i++)
        sum += (ULONG)(ULONG_PTR)bt[i];
    assert_int_equal(bt_hash, sum);
    /* Skipping frames shifts the trace; RtlWalkFrameChain agrees. */
    PVOID again[8];
    ULONG n = RtlWalkFrameChain(again, 8, 0);
    assert_true(n >= 1);
    assert_true((ULONG_PTR)again[0] > (ULONG_PTR)bt[2] &&
                (ULONG_PTR)again[0] < (ULONG_PTR)kernel_back_trace + 0x1000);
    assert_int_equal(RtlWalkFrameChain(again, 8, 1), 0); /* user-mode frames: none */
    assert_int_equal(RtlCaptureStackBackTrace(0, 0xFFFF, again, NULL), 0);
}

static const struct CMUnitTest seh_unwind_tests[] = {
    cmocka_unit_test(push_alloc_fpreg_save_ops),
    cmocka_unit_test(large_and_far_ops),
    cmocka_unit_test(push_machframe),
    cmocka_unit_test(chained_info),
    cmocka_unit_test(epilogue_rule),
    cmocka_unit_test(leaf_rule_and_lookup_misses),
    cmocka_unit_test(capture_and_restore_context),
    cmocka_unit_test(kernel_back_trace),
};

NTOS_TEST_GROUP(seh_unwind, seh_unwind_tests, uw_setup, uw_teardown);
