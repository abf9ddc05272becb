/*
 * DbgPrint, DbgPrintEx and the debug filter masks (see ntos/dbg.h for the
 * documented rules and the ntos defaults).
 *
 * Everything here may run at any IRQL up to DIRQL and on several processors at
 * once: the message is formatted into a stack buffer (no allocation, no lock),
 * and the masks and the hook are read and updated with atomic operations.
 */
#include <ntos/arch.h>
#include <ntos/dbg.h>
#include <ntos/rtlp_format.h>

/*
 * Component masks are stored XORed with NTOS_KD_DEFAULT_COMPONENT_MASK so that
 * the all-zero table in .bss already holds the defaults: DbgPrint works from the
 * very first instruction of the kernel, before any initialisation has run.
 */
static ULONG KdpComponentMaskDelta[NTOS_KD_COMPONENT_COUNT];
static ULONG KdpSystemWideMask = NTOS_KD_DEFAULT_SYSTEM_WIDE_MASK;
static PKD_PRINT_HOOK KdpPrintHook;

/* Level 0..31 names one bit; any larger value is already a bit field. */
static ULONG KdpLevelBits(ULONG Level)
{
    return Level < 32 ? (1UL << Level) : Level;
}

static ULONG *KdpMaskSlot(ULONG ComponentId, ULONG *Delta)
{
    if (ComponentId == NTOS_DPFLTR_SYSTEM_WIDE_ID) {
        *Delta = 0;
        return &KdpSystemWideMask;
    }
    if (ComponentId < NTOS_KD_COMPONENT_COUNT) {
        *Delta = NTOS_KD_DEFAULT_COMPONENT_MASK;
        return &KdpComponentMaskDelta[ComponentId];
    }
    return NULL;
}

NTSTATUS NTAPI DbgQueryDebugFilterState(ULONG ComponentId, ULONG Level)
{
    ULONG Delta;
    ULONG *Slot = KdpMaskSlot(ComponentId, &Delta);
    ULONG Mask;

    if (Slot == NULL)
        return STATUS_INVALID_PARAMETER_1;
    Mask = (__atomic_load_n(Slot, __ATOMIC_RELAXED) ^ Delta) |
           __atomic_load_n(&KdpSystemWideMask, __ATOMIC_RELAXED);
    return (Mask & KdpLevelBits(Level)) ? TRUE : FALSE;
}

NTSTATUS NTAPI DbgSetDebugFilterState(ULONG ComponentId, ULONG Level, BOOLEAN State)
{
    ULONG Delta;
    ULONG *Slot = KdpMaskSlot(ComponentId, &Delta);
    ULONG Bits = KdpLevelBits(Level);

    if (Slot == NULL)
        return STATUS_INVALID_PARAMETER_1;
    /* The stored value is Mask ^ Delta: setting a bit of Mask flips the stored
     * bit towards ~Delta, clearing it flips it towards Delta. */
    if (State) {
        __atomic_fetch_and(Slot, ~(Bits & Delta), __ATOMIC_RELAXED);
        __atomic_fetch_or(Slot, Bits & ~Delta, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_and(Slot, ~(Bits & ~Delta), __ATOMIC_RELAXED);
        __atomic_fetch_or(Slot, Bits & Delta, __ATOMIC_RELAXED);
    }
    return STATUS_SUCCESS;
}

PKD_PRINT_HOOK KdpSetPrintHook(PKD_PRINT_HOOK Hook)
{
    return __atomic_exchange_n(&KdpPrintHook, Hook, __ATOMIC_ACQ_REL);
}

static VOID KdpOutput(PCSTR Text, ULONG Length)
{
    PKD_PRINT_HOOK Hook = __atomic_load_n(&KdpPrintHook, __ATOMIC_ACQUIRE);

    if (Hook != NULL)
        Hook(Text, Length);
    else
        arch_console_write(Text, Length);
}

static ULONG KdpPrint(PCSTR Prefix, ULONG ComponentId, ULONG Level, PCSTR Format, NT_VA_LIST Args)
{
    /* One byte past the documented limit holds a terminator for the hook. */
    CHAR Buffer[NTOS_KD_PRINT_MAX_LENGTH + 1];
    SIZE_T Length = 0;

    if (DbgQueryDebugFilterState(ComponentId, Level) != TRUE)
        return STATUS_SUCCESS;

    if (Prefix != NULL) {
        while (Length < NTOS_KD_PRINT_MAX_LENGTH && Prefix[Length] != '\0') {
            Buffer[Length] = Prefix[Length];
            Length++;
        }
    }
    /* Whatever does not fit in the 512 bytes is dropped, as on Windows. */
    SIZE_T Full = RtlpFormatV(Buffer + Length, sizeof(Buffer) - Length, Format, Args, NULL);
    Length += Full < sizeof(Buffer) - Length - 1 ? Full : sizeof(Buffer) - Length - 1;
    Buffer[Length] = '\0';

    if (Length != 0)
        KdpOutput(Buffer, (ULONG)Length);
    return STATUS_SUCCESS;
}

ULONG NTAPI vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level, PCSTR Format, NT_VA_LIST ap)
{
    return KdpPrint(Prefix, ComponentId, Level, Format, ap);
}

ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, NT_VA_LIST ap)
{
    return KdpPrint(NULL, ComponentId, Level, Format, ap);
}

ULONG NTAPI DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
    NT_VA_LIST Args;
    ULONG Status;

    NT_VA_START(Args, Format);
    Status = KdpPrint(NULL, ComponentId, Level, Format, Args);
    NT_VA_END(Args);
    return Status;
}

/* Documented as identical to DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...). */
ULONG NTAPI DbgPrint(PCSTR Format, ...)
{
    NT_VA_LIST Args;
    ULONG Status;

    NT_VA_START(Args, Format);
    Status = KdpPrint(NULL, DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, Format, Args);
    NT_VA_END(Args);
    return Status;
}
