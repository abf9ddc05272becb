/*
 * Processor-group queries. ntos runs at most 64 processors, all in group 0,
 * and has no hot-add, so the maximum counts equal the active ones; the
 * functions still validate group numbers and processor numbers as NT does
 * (0 / INVALID_PROCESSOR_INDEX / STATUS_INVALID_PARAMETER for a group or
 * number that does not exist). Any IRQL.
 */
#include <ntos/sysinfo.h>
#include <ntos/arch.h>

static ULONG KiProcessorCount(void)
{
    return arch_processor_count();
}

ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? KiProcessorCount() : 0;
}

ULONG NTAPI KeQueryMaximumProcessorCount(void)
{
    return KiProcessorCount();
}

ULONG NTAPI KeQueryMaximumProcessorCountEx(USHORT GroupNumber)
{
    return KeQueryActiveProcessorCountEx(GroupNumber);
}

USHORT NTAPI KeQueryActiveGroupCount(void)
{
    return 1;
}

USHORT NTAPI KeQueryMaximumGroupCount(void)
{
    return 1;
}

KAFFINITY NTAPI KeQueryGroupAffinity(USHORT GroupNumber)
{
    return GroupNumber == 0 ? KeQueryActiveProcessors() : 0;
}

ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    ULONG index = KeGetCurrentProcessorIndex();
    if (ProcNumber != NULL) {
        ProcNumber->Group = 0;
        ProcNumber->Number = (UCHAR)index;
        ProcNumber->Reserved = 0;
    }
    return index;
}

NTSTATUS NTAPI KeGetProcessorNumberFromIndex(ULONG ProcIndex, PPROCESSOR_NUMBER ProcNumber)
{
    if (ProcNumber == NULL || ProcIndex >= KiProcessorCount())
        return STATUS_INVALID_PARAMETER;
    ProcNumber->Group = 0;
    ProcNumber->Number = (UCHAR)ProcIndex;
    ProcNumber->Reserved = 0;
    return STATUS_SUCCESS;
}

ULONG NTAPI KeGetProcessorIndexFromNumber(PPROCESSOR_NUMBER ProcNumber)
{
    if (ProcNumber == NULL || ProcNumber->Group != 0 || ProcNumber->Reserved != 0 ||
        ProcNumber->Number >= KiProcessorCount())
        return INVALID_PROCESSOR_INDEX;
    return ProcNumber->Number;
}
