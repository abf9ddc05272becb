/*
 * COM1 (16550 UART) as the console: arch_console_write and the backend's
 * own diagnostics. Polled, 115200 8N1, no interrupts.
 *
 * Locking: one spin lock taken with interrupts disabled serialises writers,
 * so lines from different processors do not interleave mid-write. A writer
 * that cannot get it within a bounded time (its holder froze in a bug check)
 * writes anyway: the stop report matters more than tidy output.
 */
#include "x86.h"
#include <ntos/rtlp_format.h>

static USHORT serial_port;
static volatile LONG serial_lock;

void x86_serial_init(USHORT Port)
{
    serial_port = Port;
    outb(Port + 1, 0x00); /* no interrupts */
    outb(Port + 3, 0x80); /* DLAB */
    outb(Port + 0, 0x01); /* divisor 1: 115200 baud */
    outb(Port + 1, 0x00);
    outb(Port + 3, 0x03); /* 8N1 */
    outb(Port + 2, 0xC7); /* FIFO on, cleared, 14-byte threshold */
    outb(Port + 4, 0x03); /* DTR, RTS */
}

static void serial_put(char c)
{
    /* Line status bit 5: transmit holding register empty. */
    for (ULONG spins = 0; spins < 100000 && !(inb(serial_port + 5) & 0x20); spins++)
        __builtin_ia32_pause();
    outb(serial_port, (UCHAR)c);
}

void arch_console_write(const char *Text, SIZE_T Length)
{
    if (serial_port == 0)
        return;
    ULONG64 flags = read_flags();
    cli();
    BOOLEAN locked = FALSE;
    for (ULONG spins = 0; spins < 10000000; spins++) {
        if (!__atomic_exchange_n(&serial_lock, 1, __ATOMIC_ACQUIRE)) {
            locked = TRUE;
            break;
        }
        __builtin_ia32_pause();
    }
    for (SIZE_T i = 0; i < Length; i++) {
        if (Text[i] == '\n')
            serial_put('\r');
        serial_put(Text[i]);
    }
    if (locked)
        __atomic_store_n(&serial_lock, 0, __ATOMIC_RELEASE);
    if (flags & 0x200)
        sti();
}

void __attribute__((ms_abi)) x86_print(const char *Format, ...)
{
    char buf[512];
    NT_VA_LIST ap;
    NT_VA_START(ap, Format);
    SIZE_T n = RtlpFormatV(buf, sizeof(buf), Format, ap, NULL);
    NT_VA_END(ap);
    if (n > sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    arch_console_write(buf, n);
}
