/*
 * KiSystemStartup: the bare-metal boot path on processor 0, and the
 * application processors' entry.
 *
 * Order: console; the memory map and the kernel's page tables (everything
 * after needs the direct map and stack slots); processor 0's GDT/TSS/IDT,
 * KPCR and GS base; ACPI (processors, IOAPIC) and the local APIC; time
 * sources and the APIC timer calibration; the portable kernel's processor 0
 * start-up (Mm, pool, scheduler); the other processors; then PASSIVE_LEVEL
 * with interrupts on, phase 1 (Ob, Se, Ps, Ex objects), and whatever the
 * command line asks for: today, the self-tests.
 *
 * Command line (QEMU -append), space-separated:
 *   ktest.filter=TEXT   run only tests whose "group.test" contains TEXT
 *   ktest.repeat=N      run the selected tests N times
 *   ktest.fail          force the designated failing test to fail (checks
 *                       that a failure changes the exit status)
 *   cpus=N              start at most N processors
 *   verbose             print the memory map and processor details at boot
 *   noxsave             save thread FPU/SSE state with FXSAVE even where the
 *                       processor has XSAVE (no AVX state then)
 * Exit: status 33 when every selected test passed, 3 when some failed, 87
 * after an unexpected bug check (see arch_system_exit).
 */
#include "x86.h"
#include <ntos/ktest.h>

PLOADER_PARAMETER_BLOCK x86_loader_block;
extern ULONG_PTR x86_boot_stack_low[ARCH_MAX_CPUS], x86_boot_stack_high[ARCH_MAX_CPUS];
extern char x86_boot_stack_bottom[], x86_boot_stack_top[];
void x86_cpu_features(void);

/* ---- command line ----------------------------------------------------------------------------------- */

static char cmdline_value[LOADER_COMMAND_LINE];

/* The value of "Key=value" (NUL-terminated copy), "" for a bare "Key", or NULL. */
const char *x86_cmdline_value(const char *Key)
{
    const char *s = x86_loader_block ? x86_loader_block->CommandLine : "";
    while (*s) {
        while (*s == ' ')
            s++;
        const char *k = Key;
        const char *p = s;
        while (*k && *p == *k)
            p++, k++;
        if (*k == 0 && (*p == 0 || *p == ' ' || *p == '=')) {
            SIZE_T n = 0;
            if (*p == '=') {
                p++;
                while (p[n] && p[n] != ' ' && n + 1 < sizeof(cmdline_value)) {
                    cmdline_value[n] = p[n];
                    n++;
                }
            }
            cmdline_value[n] = 0;
            return cmdline_value;
        }
        while (*s && *s != ' ')
            s++;
    }
    return NULL;
}

BOOLEAN x86_cmdline_flag(const char *Key)
{
    return x86_cmdline_value(Key) != NULL;
}

static ULONG parse_ulong(const char *s, ULONG Default)
{
    if (s == NULL || *s < '0' || *s > '9')
        return Default;
    ULONG v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (ULONG)(*s++ - '0');
    return v;
}

#define TRACE(s) do { if (x86_cmdline_flag("trace")) x86_print("ntos: %s\n", s); } while (0)

/* ---- boot --------------------------------------------------------------------------------------------- */

static void print_memory_map(void)
{
    const ARCH_MEMORY_DESCRIPTOR *d;
    ULONG n = arch_memory_map(&d);
    static const char *types[] = {"?", "free", "in use", "device"};
    for (ULONG i = 0; i < n; i++)
        x86_print("  %016llx-%016llx %s\n", d[i].BasePage << 12, (d[i].BasePage + d[i].PageCount) << 12,
                  types[d[i].Type < 4 ? d[i].Type : 0]);
}

static DECLSPEC_NORETURN void run_self_tests(void)
{
    char filter[LOADER_COMMAND_LINE];
    const char *f = x86_cmdline_value("ktest.filter");
    SIZE_T i = 0;
    if (f)
        for (; f[i] && i + 1 < sizeof(filter); i++)
            filter[i] = f[i];
    filter[i] = 0;
    ULONG repeat = parse_ulong(x86_cmdline_value("ktest.repeat"), 1);
    x86_print("ntos: running the kernel self-tests on %u processor(s)%s%s\n", arch_processor_count(),
              f ? ", filter " : "", f ? filter : "");
    ULONG failed = ktest_run_all(f ? filter : NULL, repeat);
    arch_system_exit(failed ? 1 : 0);
}

void KiSystemStartup(PLOADER_PARAMETER_BLOCK LoaderBlock)
{
    x86_loader_block = LoaderBlock;
    x86_serial_init(LoaderBlock->SerialPort ? LoaderBlock->SerialPort : 0x3F8);
    x86_print("\nntos: booted by %s, command line \"%s\"\n", LoaderBlock->BootProtocol, LoaderBlock->CommandLine);
    if (LoaderBlock->MemoryCount == 0) {
        x86_print("ntos: the boot loader reported no memory map\n");
        arch_system_exit(2);
    }
    x86_cpu_features();
    x86_memory_init(LoaderBlock);
    if (x86_cmdline_flag("verbose"))
        print_memory_map();
    x86_boot_modules_init(LoaderBlock);
    TRACE("x86_idt_init");
    x86_idt_init();
    x86_boot_stack_low[0] = (ULONG_PTR)x86_boot_stack_bottom;
    x86_boot_stack_high[0] = (ULONG_PTR)x86_boot_stack_top;
    TRACE("x86_cpu_init");
    x86_cpu_init(0);
    TRACE("x86_acpi_init");
    x86_acpi_init(LoaderBlock);
    TRACE("x86_apic_init_cpu");
    x86_apic_init_cpu();
    TRACE("x86_time_init");
    x86_time_init();
    TRACE("x86_apic_timer_calibrate");
    x86_apic_timer_calibrate();
    if (x86_cmdline_flag("verbose"))
        x86_print("ntos: %u processor(s), TSC %llu Hz, SMEP %u, SMAP %u, %s (XCR0 %llx, %llu-byte area)\n",
                  x86_cpu_count, x86_tsc_hz(), x86_has_smep, x86_has_smap, x86_fpu_xsave ? "xsave" : "fxsave",
                  x86_fpu_xcr0, x86_fpu_area_bytes);

    TRACE("KiProcessorStartup");
    KiProcessorStartup(0);
    TRACE("x86_apic_start_processors");
    x86_apic_start_processors();

    sti();
    arch_set_irql(PASSIVE_LEVEL);
    TRACE("KiSystemStartupPhase1");
    KiSystemStartupPhase1();
    run_self_tests();
}

void x86_ap_main(ULONG Number, ULONG_PTR StackLow, ULONG_PTR StackHigh)
{
    x86_boot_stack_low[Number] = StackLow;
    x86_boot_stack_high[Number] = StackHigh;
    x86_cpu_init(Number);
    x86_apic_init_cpu();
    KiProcessorStartup(Number);
    for (;;)
        __asm__ volatile("cli; hlt");
}
