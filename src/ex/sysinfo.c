/*
 * ZwQuerySystemInformation / NtQuerySystemInformation for the classes
 * drivers use: basic, processor, time of day, processes and threads, and
 * loaded modules. See include/ntos/sysinfo.h for the buffer protocol.
 *
 * Locking and IRQL: PASSIVE_LEVEL. The process walk takes
 * PspActiveProcessLock only to step from one referenced process to the next
 * (never while copying), and each process's ProcessLock shared for its
 * thread list; the module walk holds PsLoadedModuleResource shared. Scheduler
 * fields of other threads (state, priorities, wait reason, times) change
 * under the dispatcher lock without this code holding it: they are read as
 * relaxed atomic snapshots, which is all a query promises.
 */
#include <ntos/sysinfo.h>
#include <ntos/ldr.h>
#include <ntos/kuser.h>
#include <ntos/ex_lists.h>
#include <ntos/arch.h>
#include "ps/psp.h"
#include "mm/mi.h"

#define EXP_USER_MIN 0x10000ULL
#define EXP_USER_MAX 0x7FFFFFFEFFFFULL
#define EXP_ALLOCATION_GRANULARITY 0x10000

/* ---- fixed-size classes ------------------------------------------------------------------------ */

static NTSTATUS ExpBasicInformation(PVOID Buffer)
{
    PSYSTEM_BASIC_INFORMATION Info = Buffer;
    RtlZeroMemory(Info, sizeof(*Info));
    ULONG64 pages = 0;
    for (ULONG i = 0; i < MiPfnRangeCount; i++)
        pages += MiPfnRanges[i].PageCount;
    Info->TimerResolution = KeQueryTimeIncrement();
    Info->PageSize = PAGE_SIZE;
    Info->NumberOfPhysicalPages = (ULONG)pages;
    Info->LowestPhysicalPageNumber = (ULONG)MiLowestPhysicalPage;
    Info->HighestPhysicalPageNumber = (ULONG)MiHighestPhysicalPage;
    Info->AllocationGranularity = EXP_ALLOCATION_GRANULARITY;
    Info->MinimumUserModeAddress = EXP_USER_MIN;
    Info->MaximumUserModeAddress = EXP_USER_MAX;
    Info->ActiveProcessorsAffinityMask = KeQueryActiveProcessors();
    Info->NumberOfProcessors = (CCHAR)arch_processor_count();
    return STATUS_SUCCESS;
}

static VOID ExpCpuid(ULONG Leaf, ULONG Regs[4])
{
    __asm__ volatile("cpuid" : "=a"(Regs[0]), "=b"(Regs[1]), "=c"(Regs[2]), "=d"(Regs[3]) : "a"(Leaf), "c"(0));
}

static NTSTATUS ExpProcessorInformation(PVOID Buffer)
{
    PSYSTEM_PROCESSOR_INFORMATION Info = Buffer;
    ULONG r[4];
    ExpCpuid(1, r);
    ULONG family = (r[0] >> 8) & 0xF, model = (r[0] >> 4) & 0xF, stepping = r[0] & 0xF;
    /* The extended family and model, as CPUID defines them. */
    if (family == 0xF)
        family += (r[0] >> 20) & 0xFF;
    if (family == 0x6 || family >= 0xF)
        model |= ((r[0] >> 16) & 0xF) << 4;
    ULONG edx = r[3], features = KF_CR4; /* long mode implies CR4 */
    static const struct {
        ULONG Bit, Flag;
    } map[] = {{4, KF_RDTSC},   {15, KF_CMOV}, {13, KF_GLOBAL_PAGE}, {3, KF_LARGE_PAGE}, {12, KF_MTRR},
               {8, KF_CMPXCHG8B}, {23, KF_MMX}, {16, KF_PAT},      {24, KF_FXSR},      {25, KF_XMMI},
               {26, KF_XMMI64}};
    for (ULONG i = 0; i < RTL_NUMBER_OF(map); i++)
        if (edx & (1u << map[i].Bit))
            features |= map[i].Flag;
    Info->ProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    Info->ProcessorLevel = (USHORT)family;
    Info->ProcessorRevision = (USHORT)((model << 8) | stepping);
    Info->MaximumProcessors = (USHORT)arch_processor_count();
    Info->ProcessorFeatureBits = features;
    return STATUS_SUCCESS;
}

static NTSTATUS ExpTimeOfDayInformation(PVOID Buffer)
{
    PSYSTEM_TIMEOFDAY_INFORMATION Info = Buffer;
    RtlZeroMemory(Info, sizeof(*Info));
    Info->BootTime.QuadPart = (LONGLONG)arch_boot_system_time();
    KeQuerySystemTime(&Info->CurrentTime);
    Info->TimeZoneBias.QuadPart = ExpQueryTimeZoneBias();
    Info->TimeZoneId = KiUserSharedData.TimeZoneId;
    return STATUS_SUCCESS;
}

/* ---- processes and threads -------------------------------------------------------------------- */

typedef struct {
    PUCHAR Buffer;
    ULONG Length;
    ULONG Needed;              /* bytes the whole answer takes */
    PSYSTEM_PROCESS_INFORMATION Last;
} EXP_PROCESS_WRITER;

static VOID ExpFillThread(PSYSTEM_THREAD_INFORMATION T, PKTHREAD Thread, HANDLE ProcessId)
{
    RtlZeroMemory(T, sizeof(*T));
    ULONG increment = KeQueryTimeIncrement();
    T->KernelTime.QuadPart = (LONGLONG)(__atomic_load_n(&Thread->KernelTime, __ATOMIC_RELAXED) * increment);
    T->Priority = __atomic_load_n(&Thread->Priority, __ATOMIC_RELAXED);
    T->BasePriority = __atomic_load_n(&Thread->BasePriority, __ATOMIC_RELAXED);
    T->ContextSwitches = (ULONG)__atomic_load_n(&Thread->ContextSwitches, __ATOMIC_RELAXED);
    T->ThreadState = __atomic_load_n(&Thread->State, __ATOMIC_RELAXED);
    T->WaitReason = __atomic_load_n(&Thread->WaitReason, __ATOMIC_RELAXED);
    T->ClientId.UniqueProcess = ProcessId;
    if (Thread->ExecutiveThread) {
        PETHREAD e = (PETHREAD)Thread;
        T->CreateTime = e->CreateTime;
        T->StartAddress = (PVOID)e->StartAddress;
        T->ClientId.UniqueThread = e->Cid.UniqueThread;
    } else {
        T->StartAddress = (PVOID)Thread->StartRoutine;
    }
}

/* Appends one process entry with its threads and name; past the end of the
 * buffer only the size is counted. */
static VOID ExpWriteProcess(EXP_PROCESS_WRITER *W, PEPROCESS Process, HANDLE ProcessId, const UCHAR *Name,
                            PKTHREAD *Threads, ULONG ThreadCount)
{
    ULONG nameChars = 0;
    while (Name != NULL && nameChars < 15 && Name[nameChars] != 0)
        nameChars++;
    ULONG nameBytes = nameChars != 0 ? (nameChars + 1) * sizeof(WCHAR) : 0;
    ULONG size = sizeof(SYSTEM_PROCESS_INFORMATION) + ThreadCount * sizeof(SYSTEM_THREAD_INFORMATION);
    ULONG entry = (size + nameBytes + 7) & ~7u;
    ULONG offset = W->Needed;
    W->Needed += entry;
    if (W->Needed > W->Length)
        return;
    PSYSTEM_PROCESS_INFORMATION p = (PSYSTEM_PROCESS_INFORMATION)(W->Buffer + offset);
    RtlZeroMemory(p, entry);
    if (W->Last != NULL)
        W->Last->NextEntryOffset = (ULONG)((PUCHAR)p - (PUCHAR)W->Last);
    W->Last = p;
    p->NumberOfThreads = ThreadCount;
    p->NumberOfThreadsHighWatermark = ThreadCount;
    p->UniqueProcessId = ProcessId;
    PSYSTEM_THREAD_INFORMATION t = (PSYSTEM_THREAD_INFORMATION)(p + 1);
    ULONG64 ticks = 0;
    for (ULONG i = 0; i < ThreadCount; i++) {
        ExpFillThread(&t[i], Threads[i], ProcessId);
        ticks += __atomic_load_n(&Threads[i]->KernelTime, __ATOMIC_RELAXED);
    }
    p->KernelTime.QuadPart = (LONGLONG)(ticks * KeQueryTimeIncrement());
    if (nameBytes != 0) {
        PWCHAR name = (PWCHAR)((PUCHAR)p + size);
        for (ULONG i = 0; i < nameChars; i++)
            name[i] = Name[i];
        name[nameChars] = 0;
        p->ImageName.Buffer = name;
        p->ImageName.Length = (USHORT)(nameChars * sizeof(WCHAR));
        p->ImageName.MaximumLength = (USHORT)nameBytes;
    }
    if (Process != NULL) {
        p->CreateTime = Process->CreateTime;
        p->BasePriority = Process->Pcb.BasePriority;
        p->InheritedFromUniqueProcessId = Process->InheritedFromUniqueProcessId;
        p->SessionId = PsGetProcessSessionId(Process);
        p->UniqueProcessKey = (ULONG_PTR)ProcessId;
        if (Process->ObjectTable != NULL)
            p->HandleCount = (ULONG)__atomic_load_n(&Process->ObjectTable->HandleCount, __ATOMIC_RELAXED);
    }
}

#define EXP_THREAD_BATCH 64

/* One process: its threads are gathered under its ProcessLock into a
 * referenced batch, then written without the lock. */
static NTSTATUS ExpWriteOneProcess(EXP_PROCESS_WRITER *W, PEPROCESS Process)
{
    ULONG count = 0, capacity = EXP_THREAD_BATCH;
    PKTHREAD *threads = NULL;
    for (;;) {
        threads = ExAllocatePoolWithTag(NonPagedPoolNx, capacity * sizeof(PKTHREAD), PSP_TAG);
        if (threads == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        count = 0;
        ULONG total = 0;
        KeEnterCriticalRegion();
        ExAcquirePushLockShared(&Process->ProcessLock);
        for (PLIST_ENTRY e = Process->ThreadListHead.Flink; e != &Process->ThreadListHead; e = e->Flink) {
            PETHREAD t = CONTAINING_RECORD(e, ETHREAD, ThreadListEntry);
            total++;
            if (count < capacity && ObReferenceObjectSafe(t))
                threads[count++] = &t->Tcb;
        }
        ExReleasePushLockShared(&Process->ProcessLock);
        KeLeaveCriticalRegion();
        if (total <= capacity)
            break;
        /* More threads than room: drop the batch and retry larger. */
        for (ULONG i = 0; i < count; i++)
            ObDereferenceObject(threads[i]);
        ExFreePoolWithTag(threads, PSP_TAG);
        capacity = total + EXP_THREAD_BATCH;
    }
    ExpWriteProcess(W, Process, Process->UniqueProcessId, Process->ImageFileName, threads, count);
    for (ULONG i = 0; i < count; i++)
        ObDereferenceObject(threads[i]);
    ExFreePoolWithTag(threads, PSP_TAG);
    return STATUS_SUCCESS;
}

static NTSTATUS ExpProcessInformation(PVOID Buffer, ULONG Length, PULONG ReturnLength)
{
    EXP_PROCESS_WRITER w = {Buffer, Buffer != NULL ? Length : 0, 0, NULL};

    /* The Idle process (id 0) first, as on NT: one idle thread per processor. */
    PKTHREAD idle[64];
    ULONG cpus = arch_processor_count();
    ULONG n = 0;
    for (ULONG i = 0; i < cpus && n < RTL_NUMBER_OF(idle); i++) {
        PKTHREAD t = arch_processor_pcr(i)->Prcb.IdleThread;
        if (t != NULL)
            idle[n++] = t;
    }
    ExpWriteProcess(&w, NULL, NULL, NULL, idle, n);

    NTSTATUS status = STATUS_SUCCESS;
    KIRQL irql;
    KeAcquireSpinLock(&PspActiveProcessLock, &irql);
    PLIST_ENTRY e = PspActiveProcessHead.Flink;
    PEPROCESS p = NULL;
    while (e != &PspActiveProcessHead) {
        PEPROCESS candidate = CONTAINING_RECORD(e, EPROCESS, ActiveProcessLinks);
        if (ObReferenceObjectSafe(candidate)) {
            p = candidate;
            break;
        }
        e = e->Flink;
    }
    KeReleaseSpinLock(&PspActiveProcessLock, irql);
    while (p != NULL) {
        if (NT_SUCCESS(status))
            status = ExpWriteOneProcess(&w, p);
        /* Step on while p, still referenced, keeps its place in the list. */
        PEPROCESS next = NULL;
        KeAcquireSpinLock(&PspActiveProcessLock, &irql);
        for (e = p->ActiveProcessLinks.Flink; e != &PspActiveProcessHead; e = e->Flink) {
            PEPROCESS candidate = CONTAINING_RECORD(e, EPROCESS, ActiveProcessLinks);
            if (ObReferenceObjectSafe(candidate)) {
                next = candidate;
                break;
            }
        }
        KeReleaseSpinLock(&PspActiveProcessLock, irql);
        ObDereferenceObject(p);
        p = next;
    }
    if (!NT_SUCCESS(status))
        return status;
    if (ReturnLength != NULL)
        *ReturnLength = w.Needed;
    return w.Needed > Length ? STATUS_INFO_LENGTH_MISMATCH : STATUS_SUCCESS;
}

/* ---- modules -------------------------------------------------------------------------------- */

static VOID ExpFillModule(PRTL_PROCESS_MODULE_INFORMATION M, PKLDR_DATA_TABLE_ENTRY Entry, USHORT Index)
{
    RtlZeroMemory(M, sizeof(*M));
    M->ImageBase = Entry->DllBase;
    M->ImageSize = Entry->SizeOfImage;
    M->Flags = Entry->Flags;
    M->LoadOrderIndex = Index;
    M->InitOrderIndex = Index;
    M->LoadCount = Entry->LoadCount;
    /* The full path in ANSI (names are ASCII; anything else becomes '?'),
     * truncated to the field, and where its base name starts. */
    PCUNICODE_STRING path = Entry->FullDllName.Length != 0 ? &Entry->FullDllName : &Entry->BaseDllName;
    ULONG chars = path->Length / sizeof(WCHAR);
    if (chars > sizeof(M->FullPathName) - 1)
        chars = sizeof(M->FullPathName) - 1;
    USHORT base = 0;
    for (ULONG i = 0; i < chars; i++) {
        WCHAR c = path->Buffer[i];
        M->FullPathName[i] = c < 0x80 ? (UCHAR)c : '?';
        if (c == L'\\')
            base = (USHORT)(i + 1);
    }
    M->FullPathName[chars] = 0;
    M->OffsetToFileName = base;
}

static NTSTATUS ExpModuleInformation(PVOID Buffer, ULONG Length, PULONG ReturnLength)
{
    PRTL_PROCESS_MODULES out = Buffer;
    ULONG header = FIELD_OFFSET(RTL_PROCESS_MODULES, Modules);
    ULONG count = 0;
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&PsLoadedModuleResource, TRUE);
    for (PLIST_ENTRY e = PsLoadedModuleList.Flink; e != &PsLoadedModuleList; e = e->Flink) {
        ULONG offset = header + count * sizeof(RTL_PROCESS_MODULE_INFORMATION);
        if (Buffer != NULL && offset + sizeof(RTL_PROCESS_MODULE_INFORMATION) <= Length)
            ExpFillModule(&out->Modules[count], CONTAINING_RECORD(e, KLDR_DATA_TABLE_ENTRY, InLoadOrderLinks),
                          (USHORT)count);
        count++;
    }
    ExReleaseResourceLite(&PsLoadedModuleResource);
    KeLeaveCriticalRegion();
    ULONG needed = header + count * sizeof(RTL_PROCESS_MODULE_INFORMATION);
    if (ReturnLength != NULL)
        *ReturnLength = needed;
    if (Buffer != NULL && Length >= sizeof(ULONG))
        out->NumberOfModules = count;
    return needed > Length ? STATUS_INFO_LENGTH_MISMATCH : STATUS_SUCCESS;
}

/* ---- the service ------------------------------------------------------------------------------ */

static NTSTATUS ExpFixed(PVOID Buffer, ULONG Length, PULONG ReturnLength, ULONG Size, BOOLEAN AllowShorter,
                         NTSTATUS (*Fill)(PVOID))
{
    ULONG64 local[0x40 / sizeof(ULONG64)]; /* the largest fixed class, aligned */
    if (Length != Size && !(AllowShorter && Length < Size)) {
        if (ReturnLength != NULL)
            *ReturnLength = Size;
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    NTSTATUS status = Fill(local);
    if (NT_SUCCESS(status)) {
        RtlCopyMemory(Buffer, local, Length);
        if (ReturnLength != NULL)
            *ReturnLength = Length;
    }
    return status;
}

static NTSTATUS ExpQuerySystemInformation(SYSTEM_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length,
                                          PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (PreviousMode != KernelMode && Buffer != NULL &&
        ((ULONG_PTR)Buffer + Length < (ULONG_PTR)Buffer || (ULONG_PTR)Buffer + Length > EXP_USER_MAX + 1))
        return STATUS_ACCESS_VIOLATION;
    if (Buffer == NULL && Length != 0)
        return STATUS_ACCESS_VIOLATION;
    switch (Class) {
    case SystemBasicInformation:
        return ExpFixed(Buffer, Length, ReturnLength, sizeof(SYSTEM_BASIC_INFORMATION), FALSE,
                        ExpBasicInformation);
    case SystemProcessorInformation:
        return ExpFixed(Buffer, Length, ReturnLength, sizeof(SYSTEM_PROCESSOR_INFORMATION), FALSE,
                        ExpProcessorInformation);
    case SystemTimeOfDayInformation:
        /* NT returns as much of this one as the caller asked for. */
        return ExpFixed(Buffer, Length, ReturnLength, sizeof(SYSTEM_TIMEOFDAY_INFORMATION), TRUE,
                        ExpTimeOfDayInformation);
    case SystemProcessInformation:
        return ExpProcessInformation(Buffer, Length, ReturnLength);
    case SystemModuleInformation:
        return ExpModuleInformation(Buffer, Length, ReturnLength);
    default:
        return STATUS_INVALID_INFO_CLASS;
    }
}

NTSTATUS NTAPI ZwQuerySystemInformation(SYSTEM_INFORMATION_CLASS SystemInformationClass, PVOID SystemInformation,
                                        ULONG SystemInformationLength, PULONG ReturnLength)
{
    return ExpQuerySystemInformation(SystemInformationClass, SystemInformation, SystemInformationLength,
                                     ReturnLength, KernelMode);
}

NTSTATUS NTAPI NtQuerySystemInformation(SYSTEM_INFORMATION_CLASS SystemInformationClass, PVOID SystemInformation,
                                        ULONG SystemInformationLength, PULONG ReturnLength)
{
    return ExpQuerySystemInformation(SystemInformationClass, SystemInformation, SystemInformationLength,
                                     ReturnLength, ExGetPreviousMode());
}
