/*
 * Helpers shared by the Zw executive-object tests (test_zw_*.c).
 */
#ifndef NTOS_ZW_TEST_H
#define NTOS_ZW_TEST_H

#include "ntos_ke_test.h"
#include <ntos/ex_objects.h>
#include <ntos/rtl.h>

/* Waits for a state rather than for a time, bounded at about 20 s. */
#define WAIT_UNTIL(cond)                                                                             \
    do {                                                                                             \
        for (int wait_i_ = 0; wait_i_ < 20000 && !(cond); wait_i_++)                                 \
            kt_sleep_ms(1);                                                                          \
        assert_true(cond);                                                                           \
    } while (0)

/* Runs one service call as if it came from user mode. */
#define AS_USER(expr)                                                                                \
    __extension__({                                                                                  \
        PKTHREAD u_ = KeGetCurrentThread();                                                          \
        KPROCESSOR_MODE m_ = u_->PreviousMode;                                                       \
        u_->PreviousMode = UserMode;                                                                 \
        NTSTATUS s_ = (expr);                                                                        \
        u_->PreviousMode = m_;                                                                       \
        s_;                                                                                          \
    })

#define BOGUS_HANDLE ((HANDLE)(ULONG_PTR)0x7ff0)

static inline void name_oa(OBJECT_ATTRIBUTES *Oa, UNICODE_STRING *Us, PCWSTR Name, ULONG Attributes)
{
    RtlInitUnicodeString(Us, Name);
    InitializeObjectAttributes(Oa, Us, Attributes, NULL, NULL);
}

static inline PUBLIC_OBJECT_BASIC_INFORMATION basic_info(HANDLE Handle)
{
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    ULONG r = 0;
    assert_int_equal(ZwQueryObject(Handle, ObjectBasicInformation, &b, sizeof(b), &r), STATUS_SUCCESS);
    assert_int_equal(r, sizeof(b));
    return b;
}

#endif /* NTOS_ZW_TEST_H */
