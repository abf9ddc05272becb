/*
 * The exception dispatcher the host backend hands foreign-code faults to, until
 * the portable one exists.
 *
 * replaced by src/ke/except.c
 *
 * Weak, so the real KiDispatchException wins once it is linked; this one knows no
 * handlers: every exception is unhandled, which NT stops with
 * KMODE_EXCEPTION_NOT_HANDLED (code, address, ExceptionInformation[0..1]) after
 * a report naming the module and offset.
 */
#include <stdio.h>

#include <ntos/ke.h>
#include <ntos/context.h>
#include <ntos/bugcodes.h>
#include "host_private.h"

int host_foreign_describe(ULONG_PTR Address, char *Buffer, SIZE_T Size);

/* replaced by src/ke/except.c */
__attribute__((weak)) VOID KiDispatchException(PEXCEPTION_RECORD ExceptionRecord, PCONTEXT Context,
                                               KPROCESSOR_MODE PreviousMode, BOOLEAN FirstChance)
{
    (void)PreviousMode;
    (void)FirstChance;
    char where[160], line[384];
    host_foreign_describe((ULONG_PTR)ExceptionRecord->ExceptionAddress, where, sizeof(where));
    int n = snprintf(line, sizeof(line),
                     "ntos host: unhandled exception %#x at %s, parameters %#llx %#llx, rsp %#llx\n",
                     (unsigned)ExceptionRecord->ExceptionCode, where,
                     (unsigned long long)(ExceptionRecord->NumberParameters > 0 ? ExceptionRecord->ExceptionInformation[0] : 0),
                     (unsigned long long)(ExceptionRecord->NumberParameters > 1 ? ExceptionRecord->ExceptionInformation[1] : 0),
                     (unsigned long long)Context->Rsp);
    if (n > 0)
        arch_console_write(line, (SIZE_T)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1));
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)(LONG_PTR)ExceptionRecord->ExceptionCode,
                 (ULONG_PTR)ExceptionRecord->ExceptionAddress,
                 ExceptionRecord->NumberParameters > 0 ? ExceptionRecord->ExceptionInformation[0] : 0,
                 ExceptionRecord->NumberParameters > 1 ? ExceptionRecord->ExceptionInformation[1] : 0);
}
