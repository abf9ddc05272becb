/*
 * System information: ZwQuerySystemInformation / NtQuerySystemInformation
 * (src/ex/sysinfo.c) and the processor-group queries (src/ke/procgroup.c).
 *
 * Buffer protocol (documented): a fixed-size class needs exactly its size
 * (SystemTimeOfDayInformation: at most its size, and that many bytes are
 * returned); a variable-size class needs the whole answer. A buffer that
 * does not fit returns STATUS_INFO_LENGTH_MISMATCH with *ReturnLength set to
 * the size needed, so the caller can allocate and ask again. Structures are
 * the documented x64 layouts, pinned below. PASSIVE_LEVEL.
 */
#ifndef NTOS_SYSINFO_H
#define NTOS_SYSINFO_H

#include <ntos/ps.h>

typedef enum _SYSTEM_INFORMATION_CLASS {
    SystemBasicInformation = 0,
    SystemProcessorInformation = 1,
    SystemPerformanceInformation = 2,
    SystemTimeOfDayInformation = 3,
    SystemProcessInformation = 5,
    SystemModuleInformation = 11,
} SYSTEM_INFORMATION_CLASS;

typedef struct _SYSTEM_BASIC_INFORMATION {
    ULONG Reserved;
    ULONG TimerResolution;
    ULONG PageSize;
    ULONG NumberOfPhysicalPages;
    ULONG LowestPhysicalPageNumber;
    ULONG HighestPhysicalPageNumber;
    ULONG AllocationGranularity;
    ULONG_PTR MinimumUserModeAddress;
    ULONG_PTR MaximumUserModeAddress;
    ULONG_PTR ActiveProcessorsAffinityMask;
    CCHAR NumberOfProcessors;
} SYSTEM_BASIC_INFORMATION, *PSYSTEM_BASIC_INFORMATION;
NTOS_ASSERT_SIZE(SYSTEM_BASIC_INFORMATION, 0x40);
NTOS_ASSERT_OFFSET(SYSTEM_BASIC_INFORMATION, MinimumUserModeAddress, 0x20);
NTOS_ASSERT_OFFSET(SYSTEM_BASIC_INFORMATION, NumberOfProcessors, 0x38);

typedef struct _SYSTEM_PROCESSOR_INFORMATION {
    USHORT ProcessorArchitecture;
    USHORT ProcessorLevel;
    USHORT ProcessorRevision;
    USHORT MaximumProcessors;
    ULONG ProcessorFeatureBits;
} SYSTEM_PROCESSOR_INFORMATION, *PSYSTEM_PROCESSOR_INFORMATION;
NTOS_ASSERT_SIZE(SYSTEM_PROCESSOR_INFORMATION, 0x0C);

/* ProcessorFeatureBits (KF_*). */
#define KF_RDTSC 0x00000002
#define KF_CR4 0x00000004
#define KF_CMOV 0x00000008
#define KF_GLOBAL_PAGE 0x00000010
#define KF_LARGE_PAGE 0x00000020
#define KF_MTRR 0x00000040
#define KF_CMPXCHG8B 0x00000080
#define KF_MMX 0x00000100
#define KF_PAT 0x00000400
#define KF_FXSR 0x00000800
#define KF_XMMI 0x00002000
#define KF_XMMI64 0x00010000

typedef struct _SYSTEM_TIMEOFDAY_INFORMATION {
    LARGE_INTEGER BootTime;
    LARGE_INTEGER CurrentTime;
    LARGE_INTEGER TimeZoneBias;
    ULONG TimeZoneId;
    ULONG Reserved;
    ULONGLONG BootTimeBias;
    ULONGLONG SleepTimeBias;
} SYSTEM_TIMEOFDAY_INFORMATION, *PSYSTEM_TIMEOFDAY_INFORMATION;
NTOS_ASSERT_SIZE(SYSTEM_TIMEOFDAY_INFORMATION, 0x30);

typedef struct _SYSTEM_THREAD_INFORMATION {
    LARGE_INTEGER KernelTime;
    LARGE_INTEGER UserTime;
    LARGE_INTEGER CreateTime;
    ULONG WaitTime;
    PVOID StartAddress;
    CLIENT_ID ClientId;
    KPRIORITY Priority;
    LONG BasePriority;
    ULONG ContextSwitches;
    ULONG ThreadState;
    ULONG WaitReason;
} SYSTEM_THREAD_INFORMATION, *PSYSTEM_THREAD_INFORMATION;
NTOS_ASSERT_SIZE(SYSTEM_THREAD_INFORMATION, 0x50);
NTOS_ASSERT_OFFSET(SYSTEM_THREAD_INFORMATION, StartAddress, 0x20);
NTOS_ASSERT_OFFSET(SYSTEM_THREAD_INFORMATION, ClientId, 0x28);
NTOS_ASSERT_OFFSET(SYSTEM_THREAD_INFORMATION, ThreadState, 0x44);

typedef struct _SYSTEM_PROCESS_INFORMATION {
    ULONG NextEntryOffset;
    ULONG NumberOfThreads;
    LARGE_INTEGER WorkingSetPrivateSize;
    ULONG HardFaultCount;
    ULONG NumberOfThreadsHighWatermark;
    ULONGLONG CycleTime;
    LARGE_INTEGER CreateTime;
    LARGE_INTEGER UserTime;
    LARGE_INTEGER KernelTime;
    UNICODE_STRING ImageName;
    KPRIORITY BasePriority;
    HANDLE UniqueProcessId;
    HANDLE InheritedFromUniqueProcessId;
    ULONG HandleCount;
    ULONG SessionId;
    ULONG_PTR UniqueProcessKey;
    SIZE_T PeakVirtualSize;
    SIZE_T VirtualSize;
    ULONG PageFaultCount;
    SIZE_T PeakWorkingSetSize;
    SIZE_T WorkingSetSize;
    SIZE_T QuotaPeakPagedPoolUsage;
    SIZE_T QuotaPagedPoolUsage;
    SIZE_T QuotaPeakNonPagedPoolUsage;
    SIZE_T QuotaNonPagedPoolUsage;
    SIZE_T PagefileUsage;
    SIZE_T PeakPagefileUsage;
    SIZE_T PrivatePageCount;
    LARGE_INTEGER ReadOperationCount;
    LARGE_INTEGER WriteOperationCount;
    LARGE_INTEGER OtherOperationCount;
    LARGE_INTEGER ReadTransferCount;
    LARGE_INTEGER WriteTransferCount;
    LARGE_INTEGER OtherTransferCount;
    /* SYSTEM_THREAD_INFORMATION Threads[NumberOfThreads] follow. */
} SYSTEM_PROCESS_INFORMATION, *PSYSTEM_PROCESS_INFORMATION;
NTOS_ASSERT_SIZE(SYSTEM_PROCESS_INFORMATION, 0x100);
NTOS_ASSERT_OFFSET(SYSTEM_PROCESS_INFORMATION, ImageName, 0x38);
NTOS_ASSERT_OFFSET(SYSTEM_PROCESS_INFORMATION, UniqueProcessId, 0x50);
NTOS_ASSERT_OFFSET(SYSTEM_PROCESS_INFORMATION, HandleCount, 0x60);
NTOS_ASSERT_OFFSET(SYSTEM_PROCESS_INFORMATION, PageFaultCount, 0x80);
NTOS_ASSERT_OFFSET(SYSTEM_PROCESS_INFORMATION, PrivatePageCount, 0xC8);

typedef struct _RTL_PROCESS_MODULE_INFORMATION {
    HANDLE Section;
    PVOID MappedBase;
    PVOID ImageBase;
    ULONG ImageSize;
    ULONG Flags;
    USHORT LoadOrderIndex;
    USHORT InitOrderIndex;
    USHORT LoadCount;
    USHORT OffsetToFileName;
    UCHAR FullPathName[256];
} RTL_PROCESS_MODULE_INFORMATION, *PRTL_PROCESS_MODULE_INFORMATION;
NTOS_ASSERT_SIZE(RTL_PROCESS_MODULE_INFORMATION, 0x128);
NTOS_ASSERT_OFFSET(RTL_PROCESS_MODULE_INFORMATION, ImageBase, 0x10);
NTOS_ASSERT_OFFSET(RTL_PROCESS_MODULE_INFORMATION, OffsetToFileName, 0x26);
NTOS_ASSERT_OFFSET(RTL_PROCESS_MODULE_INFORMATION, FullPathName, 0x28);

typedef struct _RTL_PROCESS_MODULES {
    ULONG NumberOfModules;
    RTL_PROCESS_MODULE_INFORMATION Modules[1];
} RTL_PROCESS_MODULES, *PRTL_PROCESS_MODULES;
NTOS_ASSERT_OFFSET(RTL_PROCESS_MODULES, Modules, 0x08);

NTKERNELAPI NTSTATUS NTAPI ZwQuerySystemInformation(SYSTEM_INFORMATION_CLASS SystemInformationClass,
                                                    PVOID SystemInformation, ULONG SystemInformationLength,
                                                    PULONG ReturnLength);
NTKERNELAPI NTSTATUS NTAPI NtQuerySystemInformation(SYSTEM_INFORMATION_CLASS SystemInformationClass,
                                                    PVOID SystemInformation, ULONG SystemInformationLength,
                                                    PULONG ReturnLength);

/* ---- processor groups (one group: ntos supports at most 64 processors) ---- */

typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;
NTOS_ASSERT_SIZE(PROCESSOR_NUMBER, 4);

#define ALL_PROCESSOR_GROUPS 0xFFFF
#define INVALID_PROCESSOR_INDEX 0xFFFFFFFF

NTKERNELAPI ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber);
NTKERNELAPI ULONG NTAPI KeQueryMaximumProcessorCount(void);
NTKERNELAPI ULONG NTAPI KeQueryMaximumProcessorCountEx(USHORT GroupNumber);
NTKERNELAPI USHORT NTAPI KeQueryActiveGroupCount(void);
NTKERNELAPI USHORT NTAPI KeQueryMaximumGroupCount(void);
NTKERNELAPI KAFFINITY NTAPI KeQueryGroupAffinity(USHORT GroupNumber);
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber);
NTKERNELAPI NTSTATUS NTAPI KeGetProcessorNumberFromIndex(ULONG ProcIndex, PPROCESSOR_NUMBER ProcNumber);
NTKERNELAPI ULONG NTAPI KeGetProcessorIndexFromNumber(PPROCESSOR_NUMBER ProcNumber);

#endif /* NTOS_SYSINFO_H */
