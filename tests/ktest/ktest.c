/*
 * The self-test runner linked into the kernel image (and, for the host, into
 * ntos_selftest). Freestanding: it formats with the kernel's own formatter and
 * prints with arch_console_write.
 *
 * One test runs at a time on the runner's thread. A failed assertion or skip()
 * unwinds to the runner through ARCH_SETJMP; a bug check that the test did not
 * expect stops the system, as it would in production.
 */
#include "ntos_test.h"
#include <ntos/arch.h>
#include <ntos/rtlp_format.h>

extern const ntos_test_group __start_ntos_test_groups[];
extern const ntos_test_group __stop_ntos_test_groups[];

enum { KTEST_PASS, KTEST_FAIL, KTEST_SKIP };

static void *ktest_jump[ARCH_JMP_BUF_WORDS];
static int ktest_result;
static PVOID ktest_runner;
static char ktest_message[512];

static void ktest_write(const char *s)
{
    SIZE_T n = 0;
    while (s[n])
        n++;
    arch_console_write(s, n);
}

#define ktest_printf print_message

static PVOID ktest_self(void)
{
    PVOID t = KeGetCurrentThread();
    return t ? t : (PVOID)KeGetPcr();
}

void NTAPI print_message(const char *Format, ...)
{
    char buf[512];
    NT_VA_LIST ap;
    NT_VA_START(ap, Format);
    RtlpFormatV(buf, sizeof(buf), Format, ap, NULL);
    NT_VA_END(ap);
    ktest_write(buf);
}

static void NTAPI ktest_snprintf(char *Buffer, SIZE_T Size, const char *Format, ...)
{
    NT_VA_LIST ap;
    NT_VA_START(ap, Format);
    RtlpFormatV(Buffer, Size, Format, ap, NULL);
    NT_VA_END(ap);
}

void NTAPI _ktest_fail(const char *File, int Line, const char *Format, ...)
{
    char text[400];
    NT_VA_LIST ap;
    NT_VA_START(ap, Format);
    RtlpFormatV(text, sizeof(text), Format, ap, NULL);
    NT_VA_END(ap);
    ktest_snprintf(ktest_message, sizeof(ktest_message), "%s:%d: %s", File, Line, text);
    if (ktest_self() != ktest_runner) {
        ktest_write("ktest: assertion failed off the runner thread: ");
        ktest_write(ktest_message);
        ktest_write("\n");
        KeBugCheckEx(MANUALLY_INITIATED_CRASH, 0x4B54, (ULONG_PTR)File, (ULONG_PTR)Line, 0);
    }
    ktest_result = KTEST_FAIL;
    arch_longjmp(ktest_jump);
}

void _ktest_skip(const char *File, int Line)
{
    (void)File;
    (void)Line;
    ktest_result = KTEST_SKIP;
    arch_longjmp(ktest_jump);
}

int _ktest_string_equal(const char *A, const char *B)
{
    if (A == NULL || B == NULL)
        return A == B;
    while (*A && *A == *B)
        A++, B++;
    return *A == *B;
}

SIZE_T _ktest_memory_mismatch(const void *A, const void *B, SIZE_T Size)
{
    const UCHAR *a = A, *b = B;
    SIZE_T i = 0;
    while (i < Size && a[i] == b[i])
        i++;
    return i;
}

static BOOLEAN ktest_match(const char *group, const char *test, const char *filter)
{
    if (filter == NULL || *filter == 0)
        return TRUE;
    char full[256];
    SIZE_T n = 0;
    for (const char *s = group; *s && n < sizeof(full) - 2; s++)
        full[n++] = *s;
    full[n++] = '.';
    for (const char *s = test; *s && n < sizeof(full) - 1; s++)
        full[n++] = *s;
    full[n] = 0;
    for (SIZE_T i = 0; full[i]; i++) {
        SIZE_T j = 0;
        while (filter[j] && full[i + j] == filter[j])
            j++;
        if (filter[j] == 0)
            return TRUE;
    }
    return FALSE;
}

static int ktest_run_one(const ntos_test_group *g, const struct CMUnitTest *t, void *group_state)
{
    void *state = t->initial_state ? t->initial_state : group_state;
    ktest_message[0] = 0;
    ktest_result = KTEST_PASS;
    if (t->setup_func && t->setup_func(&state) != 0) {
        ktest_printf("[FAIL] %s.%s: setup failed\n", g->name, t->name);
        return KTEST_FAIL;
    }
    KIRQL irql = arch_get_irql();
    if (ARCH_SETJMP(ktest_jump) == 0)
        t->test_func(&state);
    if (t->teardown_func && t->teardown_func(&state) != 0 && ktest_result == KTEST_PASS) {
        ktest_result = KTEST_FAIL;
        ktest_printf("[FAIL] %s.%s: teardown failed\n", g->name, t->name);
        return KTEST_FAIL;
    }
    if (ktest_result != KTEST_PASS && arch_get_irql() != irql) {
        /* An assertion failed with the IRQL raised: the next test must not
         * start there (it would bug-check on its first lock). */
        arch_set_irql(irql);
    }
    if (ktest_result == KTEST_PASS && arch_get_irql() != irql) {
        ktest_printf("[FAIL] %s.%s: returned at IRQL %u, entered at %u\n", g->name, t->name,
                     (unsigned)arch_get_irql(), (unsigned)irql);
        arch_set_irql(irql);
        return KTEST_FAIL;
    }
    switch (ktest_result) {
    case KTEST_PASS:
        ktest_printf("[ OK ] %s.%s\n", g->name, t->name);
        break;
    case KTEST_SKIP:
        ktest_printf("[SKIP] %s.%s\n", g->name, t->name);
        break;
    default:
        ktest_printf("[FAIL] %s.%s: %s\n", g->name, t->name, ktest_message);
        break;
    }
    return ktest_result;
}

/* The failures again at the end: CI logs are often cut in the middle, and the
 * last lines are the ones that survive. */
#define KTEST_MAX_RECALLED 16
static struct {
    const char *Group, *Test;
    char Message[160];
} ktest_failures[KTEST_MAX_RECALLED];

static void ktest_recall_failure(ULONG index, const ntos_test_group *g, const struct CMUnitTest *t)
{
    if (index >= KTEST_MAX_RECALLED)
        return;
    ktest_failures[index].Group = g->name;
    ktest_failures[index].Test = t ? t->name : "(group)";
    size_t n = 0;
    for (; n + 1 < sizeof(ktest_failures[index].Message) && ktest_message[n]; n++)
        ktest_failures[index].Message[n] = ktest_message[n];
    ktest_failures[index].Message[n] = 0;
}

ULONG ktest_run_all(const char *Filter, ULONG Repeat)
{
    ULONG passed = 0, failed = 0, skipped = 0;
    ktest_runner = ktest_self();
    if (Repeat == 0)
        Repeat = 1;
    for (ULONG r = 0; r < Repeat; r++) {
        for (const ntos_test_group *g = __start_ntos_test_groups; g < __stop_ntos_test_groups; g++) {
            BOOLEAN any = FALSE;
            for (size_t i = 0; i < g->count; i++)
                any |= ktest_match(g->name, g->tests[i].name, Filter);
            if (!any)
                continue;
            void *gstate = NULL;
            if (g->setup && g->setup(&gstate) != 0) {
                ktest_printf("[FAIL] %s: group setup failed\n", g->name);
                ktest_message[0] = 0;
                ktest_recall_failure(failed, g, NULL);
                failed++;
                continue;
            }
            for (size_t i = 0; i < g->count; i++) {
                if (!ktest_match(g->name, g->tests[i].name, Filter))
                    continue;
                switch (ktest_run_one(g, &g->tests[i], gstate)) {
                case KTEST_PASS:
                    passed++;
                    break;
                case KTEST_SKIP:
                    skipped++;
                    break;
                default:
                    ktest_recall_failure(failed, g, &g->tests[i]);
                    failed++;
                    break;
                }
            }
            if (g->teardown && g->teardown(&gstate) != 0) {
                ktest_printf("[FAIL] %s: group teardown failed\n", g->name);
                ktest_message[0] = 0;
                ktest_recall_failure(failed, g, NULL);
                failed++;
            }
        }
    }
    for (ULONG i = 0; i < failed && i < KTEST_MAX_RECALLED; i++)
        ktest_printf("failed: %s.%s: %s\n", ktest_failures[i].Group, ktest_failures[i].Test,
                     ktest_failures[i].Message);
    ktest_printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    if (failed == 0 && passed > 0)
        ktest_write("ALL SELF TESTS PASSED\n");
    else
        ktest_write("SELF TESTS FAILED\n");
    return failed ? failed : (passed == 0);
}
