/*
 * Foreign code on the host backend (host/privileged.c): real x86-64 machine code,
 * placed in an executable mmap region registered as foreign code and called
 * through ms_abi function pointers, executes the instructions WDK inline functions
 * compile into drivers. The backend must emulate mov to/from CR8 (with the side
 * effects of KfRaiseIrql/KeLowerIrql: DPC delivery when lowering), serve loads from
 * KUSER_SHARED_DATA at 0xFFFFF78000000000, leave gs:-relative loads native, keep
 * every register (Windows callee-saved rsi, rdi, xmm6-15 included) and the flags,
 * stop a privileged instruction with a report and KMODE_EXCEPTION_NOT_HANDLED
 * (STATUS_PRIVILEGED_INSTRUCTION), and hand real faults to KiDispatchException
 * (which, without handlers, stops with KMODE_EXCEPTION_NOT_HANDLED and the
 * exception's code, address and parameters).
 *
 * Host only: on bare metal these instructions run natively (the kernel image
 * excludes tests/hostemu).
 */
#include "ntos_test.h"
#include <ntos/kuser.h>
#include <ntos/context.h>
#include <ntos/ps.h>
#include <ntos/ob.h>
#include <ntos/bugcodes.h>
#include "host.h"

#include <string.h>
#include <sys/mman.h>

NTKERNELAPI KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeLowerIrql(KIRQL NewIrql);

typedef ULONG64(NTAPI *foreign_fn)(ULONG64 Rcx, ULONG64 Rdx);

/* ---- the machine code ------------------------------------------------------------------ */

#define KUSER_IMM 0x00, 0x00, 0x00, 0x00, 0x80, 0xF7, 0xFF, 0xFF /* 0xFFFFF78000000000 */

static const UCHAR code_read_cr8[] = {0x44, 0x0F, 0x20, 0xC0, 0xC3};  /* mov rax, cr8; ret */
static const UCHAR code_write_cr8[] = {0x44, 0x0F, 0x22, 0xC1, 0xC3}; /* mov cr8, rcx; ret */
/* mov cr8, rcx; mov eax, [rdx]; ret: what the instruction after the mov sees. */
static const UCHAR code_lower_then_load[] = {0x44, 0x0F, 0x22, 0xC1, 0x8B, 0x02, 0xC3};
/* mov r8, cr8; mov rax, r8; ret (REX.B destination) */
static const UCHAR code_read_cr8_r8[] = {0x45, 0x0F, 0x20, 0xC0, 0x4C, 0x89, 0xC0, 0xC3};
/* movabs rax, [0xFFFFF78000000320]; ret */
static const UCHAR code_tick_moffs[] = {0x48, 0xA1, 0x20, 0x03, 0x00, 0x00, 0x80, 0xF7, 0xFF, 0xFF, 0xC3};
/* movabs rax, [0xFFFFF78000000008]; ret */
static const UCHAR code_interrupt_moffs[] = {0x48, 0xA1, 0x08, 0x00, 0x00, 0x00, 0x80, 0xF7, 0xFF, 0xFF, 0xC3};
/* mov rax, KUSER; mov rax, [rax+0x320]; ret */
static const UCHAR code_tick_disp32[] = {0x48, 0xB8, KUSER_IMM, 0x48, 0x8B, 0x80, 0x20, 0x03, 0x00, 0x00, 0xC3};
/* mov rax, -1; mov rdx, KUSER; mov eax, [rdx+rcx]; ret (32-bit load zero-extends) */
static const UCHAR code_dword_sib[] = {0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0x48, 0xBA, KUSER_IMM,
                                       0x8B, 0x04, 0x0A, 0xC3};
/* mov rdx, KUSER; mov rax, [rdx+rcx]; ret */
static const UCHAR code_qword_sib[] = {0x48, 0xBA, KUSER_IMM, 0x48, 0x8B, 0x04, 0x0A, 0xC3};
/* mov rax, KUSER; mov eax, [rax+8]; ret (disp8) */
static const UCHAR code_dword_disp8[] = {0x48, 0xB8, KUSER_IMM, 0x8B, 0x40, 0x08, 0xC3};
/* mov rax, -1; mov rdx, KUSER; movzx eax, word [rdx+rcx]; ret */
static const UCHAR code_movzx_word[] = {0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0x48, 0xBA, KUSER_IMM,
                                        0x0F, 0xB7, 0x04, 0x0A, 0xC3};
/* mov rdx, KUSER; xor eax, eax; cmp dword [rdx+rcx], 10; sete al; ret */
static const UCHAR code_cmp_ten[] = {0x48, 0xBA, KUSER_IMM, 0x31, 0xC0, 0x83, 0x3C, 0x0A, 0x0A,
                                     0x0F, 0x94, 0xC0, 0xC3};
/* mov rax, gs:[0x188]; ret (KeGetCurrentThread) */
static const UCHAR code_gs_thread[] = {0x65, 0x48, 0x8B, 0x04, 0x25, 0x88, 0x01, 0x00, 0x00, 0xC3};
/* mov eax, gs:[0x184]; ret (KPRCB.Number) */
static const UCHAR code_gs_number[] = {0x65, 0x8B, 0x04, 0x25, 0x84, 0x01, 0x00, 0x00, 0xC3};
static const UCHAR code_cli[] = {0xFA, 0xC3};
static const UCHAR code_wrmsr[] = {0x0F, 0x30, 0xC3};
static const UCHAR code_read_cr3[] = {0x0F, 0x20, 0xD8, 0xC3}; /* mov rax, cr3 */
static const UCHAR code_load_rcx[] = {0x48, 0x8B, 0x01, 0xC3};  /* mov rax, [rcx] */
static const UCHAR code_store_rcx[] = {0x48, 0x89, 0x01, 0xC3}; /* mov [rcx], rax */
/* mov rdx, KUSER; mov [rdx], eax; ret */
static const UCHAR code_kuser_store[] = {0x48, 0xBA, KUSER_IMM, 0x89, 0x02, 0xC3};
static const UCHAR code_int3[] = {0x90, 0xCC, 0xC3};
static const UCHAR code_ud2[] = {0x0F, 0x0B, 0xC3};
/* xor edx, edx; mov eax, 1; div ecx; ret */
static const UCHAR code_div[] = {0x31, 0xD2, 0xB8, 0x01, 0x00, 0x00, 0x00, 0xF7, 0xF1, 0xC3};
/* mov ecx, 7; int 0x29 (__fastfail(FAST_FAIL_...)) */
static const UCHAR code_fastfail[] = {0xB9, 0x07, 0x00, 0x00, 0x00, 0xCD, 0x29};

/* xor eax, eax; call rax; ret (a null function pointer) */
static const UCHAR code_call_null[] = {0x31, 0xC0, 0xFF, 0xD0, 0xC3};
/* jmp rcx (to a non-executable page) */
static const UCHAR code_jmp_rcx[] = {0xFF, 0xE1};

/* More addressing forms and operand sizes of KUSER loads (offsets: 0x02C
 * ImageNumberLow = 0x8664, 0x268 ProductTypeIsValid = 1, 0x26C NtMajorVersion = 10). */
/* mov r13, KUSER; mov eax, [r13+0x26C]; ret (REX.B base, disp32) */
static const UCHAR code_r13_disp32[] = {0x49, 0xBD, KUSER_IMM, 0x41, 0x8B, 0x85, 0x6C, 0x02, 0x00, 0x00, 0xC3};
/* push r12; mov r12, KUSER; movzx eax, byte [r12+0x268]; pop r12; ret (SIB without index) */
static const UCHAR code_r12_movzx[] = {0x41, 0x54, 0x49, 0xBC, KUSER_IMM, 0x41, 0x0F, 0xB6, 0x84, 0x24,
                                       0x68, 0x02, 0x00, 0x00, 0x41, 0x5C, 0xC3};
/* mov rdx, KUSER; mov eax, 0x11223344; mov ah, [rdx+0x268]; ret (legacy high byte) */
static const UCHAR code_load_ah[] = {0x48, 0xBA, KUSER_IMM, 0xB8, 0x44, 0x33, 0x22, 0x11,
                                     0x8A, 0xA2, 0x68, 0x02, 0x00, 0x00, 0xC3};
/* push rsi; mov rdx, KUSER; mov rsi, -1; mov sil, [rdx+0x268]; mov rax, rsi; pop rsi; ret (REX byte reg) */
static const UCHAR code_load_sil[] = {0x56, 0x48, 0xBA, KUSER_IMM, 0x48, 0xC7, 0xC6, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0x40, 0x8A, 0xB2, 0x68, 0x02, 0x00, 0x00, 0x48, 0x89, 0xF0, 0x5E, 0xC3};
/* mov rdx, KUSER; mov rax, -1; mov ax, [rdx+0x2C]; ret (16-bit merge) */
static const UCHAR code_load_ax[] = {0x48, 0xBA, KUSER_IMM, 0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x66, 0x8B, 0x42, 0x2C, 0xC3};
/* mov rdx, KUSER; movsx rax, word [rdx+0x2C]; ret */
static const UCHAR code_movsx_q[] = {0x48, 0xBA, KUSER_IMM, 0x48, 0x0F, 0xBF, 0x42, 0x2C, 0xC3};
/* mov rdx, KUSER; movsx eax, word [rdx+0x2C]; ret */
static const UCHAR code_movsx_d[] = {0x48, 0xBA, KUSER_IMM, 0x0F, 0xBF, 0x42, 0x2C, 0xC3};
/* mov rdx, KUSER; movsxd rax, dword [rdx+0x26C]; ret */
static const UCHAR code_movsxd[] = {0x48, 0xBA, KUSER_IMM, 0x48, 0x63, 0x82, 0x6C, 0x02, 0x00, 0x00, 0xC3};
/* mov rdx, KUSER; cmp ecx, [rdx+0x26C]; pushfq; pop rax; ret */
static const UCHAR code_cmp_reg_mem[] = {0x48, 0xBA, KUSER_IMM, 0x3B, 0x8A, 0x6C, 0x02, 0x00, 0x00, 0x9C, 0x58, 0xC3};
/* mov rdx, KUSER; cmp [rdx+0x26C], ecx; pushfq; pop rax; ret */
static const UCHAR code_cmp_mem_reg[] = {0x48, 0xBA, KUSER_IMM, 0x39, 0x8A, 0x6C, 0x02, 0x00, 0x00, 0x9C, 0x58, 0xC3};
/* mov rdx, KUSER; cmp byte [rdx+0x268], cl; pushfq; pop rax; ret */
static const UCHAR code_cmp_mem_cl[] = {0x48, 0xBA, KUSER_IMM, 0x38, 0x8A, 0x68, 0x02, 0x00, 0x00, 0x9C, 0x58, 0xC3};
/* mov rdx, KUSER; test byte [rdx+0x268], 1; pushfq; pop rax; ret */
static const UCHAR code_test_imm[] = {0x48, 0xBA, KUSER_IMM, 0xF6, 0x82, 0x68, 0x02, 0x00, 0x00, 0x01, 0x9C, 0x58, 0xC3};
/* mov rdx, KUSER; cmp dword [rdx+0x26C], 0x12345678; pushfq; pop rax; ret (imm32) */
static const UCHAR code_cmp_imm32[] = {0x48, 0xBA, KUSER_IMM, 0x81, 0xBA, 0x6C, 0x02, 0x00, 0x00,
                                       0x78, 0x56, 0x34, 0x12, 0x9C, 0x58, 0xC3};

#define SLOT 64
enum {
    S_READ_CR8, S_WRITE_CR8, S_LOWER_LOAD, S_READ_CR8_R8, S_TICK_MOFFS, S_INTERRUPT_MOFFS, S_TICK_DISP32,
    S_DWORD_SIB, S_QWORD_SIB, S_DWORD_DISP8, S_MOVZX_WORD, S_CMP_TEN, S_GS_THREAD, S_GS_NUMBER, S_CLI,
    S_WRMSR, S_READ_CR3, S_LOAD_RCX, S_STORE_RCX, S_KUSER_STORE, S_INT3, S_UD2, S_DIV, S_FASTFAIL,
    S_R13_DISP32, S_R12_MOVZX, S_LOAD_AH, S_LOAD_SIL, S_LOAD_AX, S_MOVSX_Q, S_MOVSX_D, S_MOVSXD,
    S_CMP_REG_MEM, S_CMP_MEM_REG, S_CMP_MEM_CL, S_TEST_IMM, S_CMP_IMM32, S_CALL_NULL, S_JMP_RCX, S_COUNT
};
static const struct {
    const UCHAR *Code;
    SIZE_T Size;
} snippets[S_COUNT] = {
#define SN(a) {a, sizeof(a)}
    SN(code_read_cr8),    SN(code_write_cr8),   SN(code_lower_then_load), SN(code_read_cr8_r8),
    SN(code_tick_moffs),  SN(code_interrupt_moffs), SN(code_tick_disp32), SN(code_dword_sib),
    SN(code_qword_sib),   SN(code_dword_disp8), SN(code_movzx_word),  SN(code_cmp_ten),
    SN(code_gs_thread),   SN(code_gs_number),   SN(code_cli),         SN(code_wrmsr),
    SN(code_read_cr3),    SN(code_load_rcx),    SN(code_store_rcx),   SN(code_kuser_store),
    SN(code_int3),        SN(code_ud2),         SN(code_div),         SN(code_fastfail),
    SN(code_r13_disp32),  SN(code_r12_movzx),   SN(code_load_ah),     SN(code_load_sil),
    SN(code_load_ax),     SN(code_movsx_q),     SN(code_movsx_d),     SN(code_movsxd),
    SN(code_cmp_reg_mem), SN(code_cmp_mem_reg), SN(code_cmp_mem_cl),  SN(code_test_imm),
    SN(code_cmp_imm32),   SN(code_call_null),   SN(code_jmp_rcx),
#undef SN
};

static UCHAR *region;
#define REGION_SIZE 4096

static foreign_fn fn(int Slot)
{
    return (foreign_fn)(PVOID)(region + Slot * SLOT);
}

static ULONG64 call(int Slot, ULONG64 Rcx, ULONG64 Rdx)
{
    /* CMocka installs its own fault handlers around each test function and each
     * fixture; the backend's go back on top (and chain to CMocka's for faults
     * outside foreign code). A no-op when they are in place. */
    host_claim_fault_signals();
    return fn(Slot)(Rcx, Rdx);
}

/*
 * The register probe: assembled by the toolchain (too long to spell in bytes) and
 * registered where it lies, in this program's text. ms_abi, rcx = ULONG64 out[48].
 * Loads a distinct pattern into every general register and xmm0-15, sets CF and
 * DF, then runs mov cr8 (raise to DISPATCH), mov cr8 (lower to PASSIVE: delivers
 * the DPC the test queued), a KUSER load and mov reg, cr8, and stores what every
 * register holds afterwards: out[0..13] rax rdx rbx rbp rsi rdi r8-r15, out[14]
 * the IRQL read back, out[15] the flags, out[16..47] xmm0-15.
 */
__asm__(".text\n"
        ".globl hostemu_regs_probe\n"
        ".type hostemu_regs_probe, @function\n"
        "hostemu_regs_probe:\n"
        "  pushq %rbx; pushq %rbp; pushq %rdi; pushq %rsi\n"
        "  pushq %r12; pushq %r13; pushq %r14; pushq %r15\n"
        "  subq $168, %rsp\n"
        "  movdqu %xmm6, 0(%rsp); movdqu %xmm7, 16(%rsp); movdqu %xmm8, 32(%rsp); movdqu %xmm9, 48(%rsp)\n"
        "  movdqu %xmm10, 64(%rsp); movdqu %xmm11, 80(%rsp); movdqu %xmm12, 96(%rsp); movdqu %xmm13, 112(%rsp)\n"
        "  movdqu %xmm14, 128(%rsp); movdqu %xmm15, 144(%rsp)\n"
        "  pushq %rcx\n"
#define XMM(i) "  movabsq $0x3C3C00000000000" #i ", %rax; movq %rax, %xmm" #i "; punpcklqdq %xmm" #i ", %xmm" #i "\n"
        XMM(0) XMM(1) XMM(2) XMM(3) XMM(4) XMM(5) XMM(6) XMM(7) XMM(8) XMM(9)
        "  movabsq $0x3C3C000000000010, %rax; movq %rax, %xmm10; punpcklqdq %xmm10, %xmm10\n"
        "  movabsq $0x3C3C000000000011, %rax; movq %rax, %xmm11; punpcklqdq %xmm11, %xmm11\n"
        "  movabsq $0x3C3C000000000012, %rax; movq %rax, %xmm12; punpcklqdq %xmm12, %xmm12\n"
        "  movabsq $0x3C3C000000000013, %rax; movq %rax, %xmm13; punpcklqdq %xmm13, %xmm13\n"
        "  movabsq $0x3C3C000000000014, %rax; movq %rax, %xmm14; punpcklqdq %xmm14, %xmm14\n"
        "  movabsq $0x3C3C000000000015, %rax; movq %rax, %xmm15; punpcklqdq %xmm15, %xmm15\n"
#undef XMM
        "  movabsq $0x5A5A000000000000, %rax\n"
        "  movabsq $0x5A5A000000000002, %rdx\n"
        "  movabsq $0x5A5A000000000003, %rbx\n"
        "  movabsq $0x5A5A000000000005, %rbp\n"
        "  movabsq $0x5A5A000000000006, %rsi\n"
        "  movabsq $0x5A5A000000000007, %rdi\n"
        "  movabsq $0x5A5A000000000008, %r8\n"
        "  movabsq $0x5A5A000000000009, %r9\n"
        "  movabsq $0x5A5A00000000000a, %r10\n"
        "  movabsq $0x5A5A00000000000b, %r11\n"
        "  movabsq $0x5A5A00000000000c, %r12\n"
        "  movabsq $0x5A5A00000000000d, %r13\n"
        "  movabsq $0x5A5A00000000000e, %r14\n"
        "  movabsq $0x5A5A00000000000f, %r15\n"
        "  movl $2, %ecx\n"
        "  stc\n"
        "  std\n"
        "  movq %rcx, %cr8\n"
        "  movl $0, %ecx\n"
        "  movq %rcx, %cr8\n"
        "  pushq %rax\n"
        "  movabsq $0xFFFFF78000000000, %rax\n"
        "  movq 0x320(%rax), %rcx\n"
        "  popq %rax\n"
        "  movq %cr8, %rcx\n"
        "  pushfq\n"
        "  cld\n"
        "  pushq %rcx\n"
        "  movq 16(%rsp), %rcx\n"
        "  movq %rax, 0(%rcx); movq %rdx, 8(%rcx); movq %rbx, 16(%rcx); movq %rbp, 24(%rcx)\n"
        "  movq %rsi, 32(%rcx); movq %rdi, 40(%rcx); movq %r8, 48(%rcx); movq %r9, 56(%rcx)\n"
        "  movq %r10, 64(%rcx); movq %r11, 72(%rcx); movq %r12, 80(%rcx); movq %r13, 88(%rcx)\n"
        "  movq %r14, 96(%rcx); movq %r15, 104(%rcx)\n"
        "  popq %rax; movq %rax, 112(%rcx)\n"
        "  popq %rax; movq %rax, 120(%rcx)\n"
        "  movdqu %xmm0, 128(%rcx); movdqu %xmm1, 144(%rcx); movdqu %xmm2, 160(%rcx); movdqu %xmm3, 176(%rcx)\n"
        "  movdqu %xmm4, 192(%rcx); movdqu %xmm5, 208(%rcx); movdqu %xmm6, 224(%rcx); movdqu %xmm7, 240(%rcx)\n"
        "  movdqu %xmm8, 256(%rcx); movdqu %xmm9, 272(%rcx); movdqu %xmm10, 288(%rcx); movdqu %xmm11, 304(%rcx)\n"
        "  movdqu %xmm12, 320(%rcx); movdqu %xmm13, 336(%rcx); movdqu %xmm14, 352(%rcx); movdqu %xmm15, 368(%rcx)\n"
        "  addq $8, %rsp\n"
        "  movdqu 0(%rsp), %xmm6; movdqu 16(%rsp), %xmm7; movdqu 32(%rsp), %xmm8; movdqu 48(%rsp), %xmm9\n"
        "  movdqu 64(%rsp), %xmm10; movdqu 80(%rsp), %xmm11; movdqu 96(%rsp), %xmm12; movdqu 112(%rsp), %xmm13\n"
        "  movdqu 128(%rsp), %xmm14; movdqu 144(%rsp), %xmm15\n"
        "  addq $168, %rsp\n"
        "  popq %r15; popq %r14; popq %r13; popq %r12\n"
        "  popq %rsi; popq %rdi; popq %rbp; popq %rbx\n"
        "  ret\n"
        ".globl hostemu_regs_probe_end\n"
        "hostemu_regs_probe_end:\n"
        ".size hostemu_regs_probe, hostemu_regs_probe_end - hostemu_regs_probe\n");
extern UCHAR hostemu_regs_probe[], hostemu_regs_probe_end[];
typedef VOID(NTAPI *probe_fn)(ULONG64 *Out);

/* ---- setup ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return -1;
    memset(region, 0xCC, REGION_SIZE);
    for (int i = 0; i < S_COUNT; i++)
        memcpy(region + i * SLOT, snippets[i].Code, snippets[i].Size);
    if (mprotect(region, REGION_SIZE, PROT_READ | PROT_EXEC) != 0)
        return -1;
    arch_image_mapped(region, REGION_SIZE, "hostemu_test.sys");
    host_register_foreign_code((ULONG_PTR)hostemu_regs_probe,
                               (SIZE_T)(hostemu_regs_probe_end - hostemu_regs_probe), "hostemu_probe");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    host_unregister_foreign_code((ULONG_PTR)hostemu_regs_probe);
    arch_image_unmapped(region);
    munmap(region, REGION_SIZE);
    return 0;
}

/* ---- DPC observation -------------------------------------------------------------------- */

static volatile LONG dpc_ran;

static VOID NTAPI mark_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    /* Clobber what SysV lets a function clobber and Windows code expects kept. */
    __asm__ volatile("pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                     "pxor %%xmm12, %%xmm12\n\tpxor %%xmm15, %%xmm15\n\tmovl $0, %%esi\n\tmovl $0, %%edi"
                     :
                     :
                     : "xmm6", "xmm7", "xmm8", "xmm12", "xmm15", "rsi", "rdi");
    __atomic_store_n(&dpc_ran, 1, __ATOMIC_RELEASE);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void cr8_reads_and_writes_the_irql(void **state)
{
    (void)state;
    ULONG64 before = host_foreign_emulations();
    assert_int_equal(call(S_READ_CR8, 0, 0), PASSIVE_LEVEL);
    assert_int_equal(call(S_READ_CR8_R8, 0, 0), PASSIVE_LEVEL);
    assert_true(host_foreign_emulations() >= before + 2);

    ULONG64 tramp = host_foreign_trampolines();
    call(S_WRITE_CR8, APC_LEVEL, 0);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    assert_int_equal(call(S_READ_CR8, 0, 0), APC_LEVEL);
    call(S_WRITE_CR8, DISPATCH_LEVEL, 0);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(call(S_READ_CR8_R8, 0, 0), DISPATCH_LEVEL);
    call(S_WRITE_CR8, HIGH_LEVEL, 0);
    assert_int_equal(KeGetPcr()->Irql, HIGH_LEVEL);
    assert_int_equal(call(S_READ_CR8, 0, 0), HIGH_LEVEL);
    call(S_WRITE_CR8, DISPATCH_LEVEL, 0);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    call(S_WRITE_CR8, PASSIVE_LEVEL, 0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(host_foreign_trampolines() >= tramp + 5);

    /* Mixed with the exported functions. */
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    assert_int_equal(call(S_READ_CR8, 0, 0), DISPATCH_LEVEL);
    call(S_WRITE_CR8, PASSIVE_LEVEL, 0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    call(S_WRITE_CR8, DISPATCH_LEVEL, 0);
    KeLowerIrql(old);
    assert_int_equal(call(S_READ_CR8, 0, 0), PASSIVE_LEVEL);

    /* What each costs (a signal per instruction; the write also a trampoline). */
    enum { N = 2000 };
    host_claim_fault_signals();
    ULONG64 t0 = KeQueryInterruptTimePrecise(NULL);
    for (int i = 0; i < N; i++)
        fn(S_READ_CR8)(0, 0);
    ULONG64 t1 = KeQueryInterruptTimePrecise(NULL);
    for (int i = 0; i < N / 2; i++) {
        fn(S_WRITE_CR8)(DISPATCH_LEVEL, 0);
        fn(S_WRITE_CR8)(PASSIVE_LEVEL, 0);
    }
    ULONG64 t2 = KeQueryInterruptTimePrecise(NULL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    print_message("mov reg, cr8: %llu ns, mov cr8, reg: %llu ns\n", (unsigned long long)((t1 - t0) * 100 / N),
                  (unsigned long long)((t2 - t1) * 100 / N));
}

static void lowering_through_cr8_delivers_a_queued_dpc_first(void **state)
{
    (void)state;
    KDPC dpc;
    KeInitializeDpc(&dpc, mark_dpc, NULL);
    for (int round = 0; round < 50; round++) {
        __atomic_store_n(&dpc_ran, 0, __ATOMIC_RELEASE);
        /* Raised by the driver's own mov cr8: the DPC must wait. */
        call(S_WRITE_CR8, DISPATCH_LEVEL, 0);
        assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
        assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
        for (int i = 0; i < 10; i++)
            arch_pause(); /* interruptible points: still masked at DISPATCH_LEVEL */
        assert_int_equal(__atomic_load_n(&dpc_ran, __ATOMIC_ACQUIRE), 0);
        /* The load right after the lowering mov already sees the DPC's store. */
        assert_int_equal(call(S_LOWER_LOAD, PASSIVE_LEVEL, (ULONG64)(ULONG_PTR)&dpc_ran), 1);
        assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    }
}

static void kuser_loads_match_the_kernel(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        LARGE_INTEGER t0, t1;
        KeQueryTickCount(&t0);
        ULONG64 i0 = KeQueryInterruptTime();
        ULONG64 tick = call(S_TICK_MOFFS, 0, 0);
        ULONG64 tick2 = call(S_TICK_DISP32, 0, 0);
        ULONG64 tick3 = call(S_QWORD_SIB, 0x320, 0);
        ULONG64 intr = call(S_INTERRUPT_MOFFS, 0, 0);
        ULONG64 intrLow = call(S_DWORD_DISP8, 0, 0);
        ULONG64 i1 = KeQueryInterruptTime();
        KeQueryTickCount(&t1);
        assert_in_range(tick, (ULONG64)t0.QuadPart, (ULONG64)t1.QuadPart);
        assert_in_range(tick2, tick, (ULONG64)t1.QuadPart);
        assert_in_range(tick3, tick2, (ULONG64)t1.QuadPart);
        assert_in_range(intr, i0, i1);
        assert_true(intrLow <= 0xFFFFFFFFu);
    }

    /* Pinned to processor 0 at HIGH_LEVEL no clock tick can update the page:
     * foreign loads and the exported queries must agree exactly. */
    KAFFINITY saved = KeSetSystemAffinityThreadEx(1);
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    LARGE_INTEGER ticks;
    KeQueryTickCount(&ticks);
    ULONG64 interrupt = KeQueryInterruptTime();
    ULONG64 tick = call(S_TICK_MOFFS, 0, 0);
    ULONG64 intr = call(S_INTERRUPT_MOFFS, 0, 0);
    ULONG64 intrLow = call(S_DWORD_DISP8, 0, 0);
    ULONG64 build = call(S_DWORD_SIB, 0x260, 0);
    ULONG64 arch = call(S_MOVZX_WORD, 0x26A, 0);
    ULONG64 isTen = call(S_CMP_TEN, 0x26C, 0);
    ULONG64 minorIsTen = call(S_CMP_TEN, 0x270, 0);
    KeLowerIrql(old);
    KeRevertToUserAffinityThreadEx(saved);
    assert_int_equal(tick, (ULONG64)ticks.QuadPart);
    assert_int_equal(intr, interrupt);
    assert_int_equal(intrLow, interrupt & 0xFFFFFFFFu);
    assert_int_equal(build, NTOS_NT_BUILD_NUMBER); /* upper half cleared by the 32-bit load */
    assert_int_equal(arch, PROCESSOR_ARCHITECTURE_AMD64);
    assert_int_equal(isTen, NTOS_NT_MAJOR_VERSION == 10 ? 1 : 0);
    assert_int_equal(minorIsTen, NTOS_NT_MINOR_VERSION == 10 ? 1 : 0);
}

/* The flags the processor itself computes for cmp Left, Right (32-bit) or, with
 * Byte, cmp Left8, Right8; or test Left8, Right8. */
#define ARITH_FLAGS 0x8D5u
static ULONG64 native_flags(int Kind, ULONG Left, ULONG Right)
{
    ULONG64 f;
    /* Below the red zone first: pushfq would otherwise overwrite it. */
    if (Kind == 0)
        __asm__ volatile("subq $128, %%rsp\n\tcmpl %2, %1\n\tpushfq\n\tpopq %0\n\taddq $128, %%rsp"
                         : "=r"(f) : "r"(Left), "r"(Right) : "cc");
    else if (Kind == 1)
        __asm__ volatile("subq $128, %%rsp\n\tcmpb %b2, %b1\n\tpushfq\n\tpopq %0\n\taddq $128, %%rsp"
                         : "=r"(f) : "q"(Left), "q"(Right) : "cc");
    else
        __asm__ volatile("subq $128, %%rsp\n\ttestb %b2, %b1\n\tpushfq\n\tpopq %0\n\taddq $128, %%rsp"
                         : "=r"(f) : "q"(Left), "q"(Right) : "cc");
    return f & ARITH_FLAGS;
}

static void kuser_addressing_forms_and_sizes(void **state)
{
    (void)state;
    assert_int_equal(call(S_R13_DISP32, 0, 0), 10);
    assert_int_equal(call(S_R12_MOVZX, 0, 0), 1);
    assert_int_equal(call(S_LOAD_AH, 0, 0), 0x11220144); /* only bits 8-15 replaced */
    assert_int_equal(call(S_LOAD_SIL, 0, 0), 0xFFFFFFFFFFFFFF01ull);
    assert_int_equal(call(S_LOAD_AX, 0, 0), 0xFFFFFFFFFFFF8664ull); /* 16-bit load merges */
    assert_int_equal(call(S_MOVSX_Q, 0, 0), 0xFFFFFFFFFFFF8664ull);
    assert_int_equal(call(S_MOVSX_D, 0, 0), 0xFFFF8664ull);         /* 32-bit result zero-extends */
    assert_int_equal(call(S_MOVSXD, 0, 0), 10);

    /* Compares set the flags exactly as the processor would. */
    static const ULONG values[] = {0, 1, 9, 10, 11, 0x7FFFFFFF, 0x80000000u, 0x8000000Au, 0xFFFFFFFFu};
    for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ULONG v = values[i];
        assert_int_equal(call(S_CMP_REG_MEM, v, 0) & ARITH_FLAGS, native_flags(0, v, 10));
        assert_int_equal(call(S_CMP_MEM_REG, v, 0) & ARITH_FLAGS, native_flags(0, 10, v));
        assert_int_equal(call(S_CMP_MEM_CL, v, 0) & ARITH_FLAGS, native_flags(1, 1, v & 0xFF));
    }
    assert_int_equal(call(S_TEST_IMM, 0, 0) & ARITH_FLAGS, native_flags(2, 1, 1));
    assert_int_equal(call(S_CMP_IMM32, 0, 0) & ARITH_FLAGS, native_flags(0, 10, 0x12345678));
}

static void gs_relative_loads_run_natively(void **state)
{
    (void)state;
    ULONG64 emulated = host_foreign_emulations();
    ULONG64 tramp = host_foreign_trampolines();
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL); /* no migration between the reads */
    ULONG64 thread = call(S_GS_THREAD, 0, 0);
    ULONG64 number = call(S_GS_NUMBER, 0, 0);
    ULONG expected = KeGetCurrentProcessorNumber();
    KeLowerIrql(old);
    assert_int_equal(thread, (ULONG64)(ULONG_PTR)KeGetCurrentThread());
    assert_int_equal(number, expected);
    /* Nothing faulted: no emulation, no trampoline on this processor's account. */
    if (arch_processor_count() == 1) {
        assert_int_equal(host_foreign_emulations(), emulated);
        assert_int_equal(host_foreign_trampolines(), tramp);
    }
}

static void registers_and_flags_survive_emulation(void **state)
{
    (void)state;
    static ULONG64 out[48];
    KDPC dpc;
    KeInitializeDpc(&dpc, mark_dpc, NULL);
    for (int round = 0; round < 20; round++) {
        memset(out, 0, sizeof(out));
        __atomic_store_n(&dpc_ran, 0, __ATOMIC_RELEASE);
        KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
        assert_int_equal(old, PASSIVE_LEVEL);
        KeInsertQueueDpc(&dpc, NULL, NULL);
        /* The probe raises to DISPATCH (no change), lowers to PASSIVE (the DPC
         * runs, clobbering xmm6-15, rsi, rdi in C), loads from KUSER, reads cr8. */
        host_claim_fault_signals();
        ((probe_fn)(PVOID)hostemu_regs_probe)(out);
        assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
        assert_int_equal(__atomic_load_n(&dpc_ran, __ATOMIC_ACQUIRE), 1);
        static const int regno[14] = {0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        for (int i = 0; i < 14; i++)
            assert_int_equal(out[i], 0x5A5A000000000000ull + (ULONG64)regno[i]);
        assert_int_equal(out[14], PASSIVE_LEVEL);
        assert_int_equal(out[15] & 0x401, 0x401); /* CF and DF as set before the movs */
        for (int x = 0; x < 16; x++) {
            ULONG64 pat = 0x3C3C000000000000ull + (ULONG64)(x < 10 ? x : 0x10 + (x - 10));
            assert_int_equal(out[16 + 2 * x], pat);
            assert_int_equal(out[17 + 2 * x], pat);
        }
    }
}

static void privileged_instructions_stop_with_a_bugcheck(void **state)
{
    (void)state;
    static const int slots[] = {S_CLI, S_WRMSR, S_READ_CR3};
    for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(slots[i], 0, 0));
        assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_PRIVILEGED_INSTRUCTION);
        assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(region + slots[i] * SLOT));
        assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    }
    /* A reserved CR8 value (#GP on hardware). */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_WRITE_CR8, 16, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_PRIVILEGED_INSTRUCTION);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* __fastfail is the security-check bug check with the code from ecx. */
    expect_bugcheck(KERNEL_SECURITY_CHECK_FAILURE, call(S_FASTFAIL, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 7);
}

static void faults_reach_kidispatchexception(void **state)
{
    (void)state;
    /* A null read. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_LOAD_RCX, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(region + S_LOAD_RCX * SLOT));
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 0); /* read */
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
    /* A write near null. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_STORE_RCX, 0x18, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(region + S_STORE_RCX * SLOT));
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 1); /* write */
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0x18);
    /* A read at a non-canonical address: #GP, reported as a read of -1. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_LOAD_RCX, 0x8000000000000000ull, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], ~(ULONG_PTR)0);
    /* A store to KUSER_SHARED_DATA: reported, then an access violation (write). */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_KUSER_STORE, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 1);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)KI_USER_SHARED_DATA);
    /* int3 at offset 1: reported at the int3 itself. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_INT3, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_BREAKPOINT);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(region + S_INT3 * SLOT + 1));
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_UD2, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ILLEGAL_INSTRUCTION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(region + S_UD2 * SLOT));
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_DIV, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_INTEGER_DIVIDE_BY_ZERO);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)(region + S_DIV * SLOT + 7));
    /* A call through a null function pointer: an execute fault at 0. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_CALL_NULL, 0, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 8); /* execute */
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
    /* A jump inside the image to a page that is not executable. */
    static UCHAR data_page[4096] __attribute__((aligned(4096)));
    host_register_foreign_code((ULONG_PTR)data_page, sizeof(data_page), "hostemu_data");
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_JMP_RCX, (ULONG64)(ULONG_PTR)data_page, 0));
    host_unregister_foreign_code((ULONG_PTR)data_page);
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)data_page);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 8);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)data_page);
    /* The kernel is unharmed: a foreign cr8 round trip still works. */
    call(S_WRITE_CR8, DISPATCH_LEVEL, 0);
    call(S_WRITE_CR8, PASSIVE_LEVEL, 0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* The resume path: a filter changes the CONTEXT and execution continues there. */
static volatile LONG filter_calls;
static volatile NTSTATUS filter_code;
static volatile ULONG_PTR filter_info[2];

static BOOLEAN skip_faulting_load(EXCEPTION_RECORD *Record, CONTEXT *Context)
{
    filter_calls++;
    filter_code = Record->ExceptionCode;
    filter_info[0] = Record->ExceptionInformation[0];
    filter_info[1] = Record->ExceptionInformation[1];
    if (Record->ExceptionCode == STATUS_ACCESS_VIOLATION) {
        if ((ULONG64)Record->ExceptionAddress != Context->Rip)
            return FALSE;
        Context->Rax = 0x1234567890ABCDEFull; /* as if the load had read this */
        Context->Rip += 3;                    /* past mov rax, [rcx] */
        return TRUE;
    }
    if (Record->ExceptionCode == STATUS_BREAKPOINT) {
        Context->Rip += 1; /* past the int3, as a debugger continues */
        Context->Rax = Context->Rsp;
        return TRUE;
    }
    return FALSE;
}

static void a_handled_fault_resumes_the_changed_context(void **state)
{
    (void)state;
    filter_calls = 0;
    host_set_foreign_exception_filter(skip_faulting_load);
    ULONG64 v = call(S_LOAD_RCX, 0x40, 0);
    ULONG64 rsp = call(S_INT3, 0, 0);
    host_set_foreign_exception_filter(NULL);
    assert_int_equal(v, 0x1234567890ABCDEFull);
    assert_int_equal(filter_calls, 2);
    assert_int_equal(filter_code, STATUS_BREAKPOINT);
    /* int3 ran with the stack the call left: just below this frame. */
    ULONG64 here = (ULONG64)(ULONG_PTR)__builtin_frame_address(0);
    assert_true(rsp < here && rsp > here - 4096);
    /* After the filter is gone, the same fault is dispatched again. */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, call(S_LOAD_RCX, 0x40, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0x40);
}

/* Every processor runs foreign IRQL changes and KUSER loads at once, while the
 * clock signals each CPU thread. */
typedef struct {
    KEVENT Go;
    volatile LONG Errors;
    volatile LONG Done;
} STRESS;

static VOID NTAPI stress_thread(PVOID Context)
{
    STRESS *s = Context;
    KeWaitForSingleObject(&s->Go, Executive, KernelMode, FALSE, NULL);
    ULONG64 lastTick = 0;
    for (int i = 0; i < 400; i++) {
        call(S_WRITE_CR8, DISPATCH_LEVEL, 0);
        if (call(S_READ_CR8, 0, 0) != DISPATCH_LEVEL || KeGetCurrentIrql() != DISPATCH_LEVEL)
            __atomic_fetch_add(&s->Errors, 1, __ATOMIC_RELAXED);
        ULONG64 tick = call(S_TICK_MOFFS, 0, 0);
        if (tick < lastTick)
            __atomic_fetch_add(&s->Errors, 1, __ATOMIC_RELAXED);
        lastTick = tick;
        call(S_WRITE_CR8, PASSIVE_LEVEL, 0);
        if (KeGetCurrentIrql() != PASSIVE_LEVEL)
            __atomic_fetch_add(&s->Errors, 1, __ATOMIC_RELAXED);
    }
    __atomic_fetch_add(&s->Done, 1, __ATOMIC_RELEASE);
}

static void all_processors_at_once(void **state)
{
    (void)state;
    static STRESS s;
    memset(&s, 0, sizeof(s));
    KeInitializeEvent(&s.Go, NotificationEvent, FALSE);
    ULONG n = arch_processor_count() + 1;
    PVOID threads[ARCH_MAX_CPUS + 1];
    for (ULONG i = 0; i < n; i++) {
        HANDLE h;
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, stress_thread, &s),
                         STATUS_SUCCESS);
        assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &threads[i], NULL),
                         STATUS_SUCCESS);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    }
    ULONG64 start = KeQueryInterruptTimePrecise(NULL);
    KeSetEvent(&s.Go, 0, FALSE);
    for (ULONG i = 0; i < n; i++) {
        assert_int_equal(KeWaitForSingleObject(threads[i], Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
        ObDereferenceObject(threads[i]);
    }
    ULONG64 elapsed = KeQueryInterruptTimePrecise(NULL) - start;
    assert_int_equal(__atomic_load_n(&s.Done, __ATOMIC_ACQUIRE), (LONG)n);
    print_message("%u threads x 400 rounds of 4 emulated instructions: %llu us\n", (unsigned)n,
                  (unsigned long long)(elapsed / 10));
    assert_int_equal(__atomic_load_n(&s.Errors, __ATOMIC_ACQUIRE), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cr8_reads_and_writes_the_irql),
    cmocka_unit_test(lowering_through_cr8_delivers_a_queued_dpc_first),
    cmocka_unit_test(kuser_loads_match_the_kernel),
    cmocka_unit_test(kuser_addressing_forms_and_sizes),
    cmocka_unit_test(gs_relative_loads_run_natively),
    cmocka_unit_test(registers_and_flags_survive_emulation),
    cmocka_unit_test(privileged_instructions_stop_with_a_bugcheck),
    cmocka_unit_test(faults_reach_kidispatchexception),
    cmocka_unit_test(a_handled_fault_resumes_the_changed_context),
    cmocka_unit_test(all_processors_at_once),
};

NTOS_TEST_GROUP(hostemu_privileged, tests, setup, teardown);
