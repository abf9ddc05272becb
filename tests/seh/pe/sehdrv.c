/*
 * A PE driver image with real compiled structured exception handling, for
 * tests/seh. Built at configure time by clang for x86_64-pc-windows-msvc
 * (-fms-extensions: __try/__except/__finally as MSVC compiles them: .pdata,
 * .xdata with scope tables, __C_specific_handler imported from ntoskrnl.exe)
 * and linked by lld-link against an import library of the few ntoskrnl.exe
 * exports it uses (ntoskrnl.def). Nothing here knows ntos: only documented
 * Windows prototypes, written out because no Windows headers are used.
 */
typedef long NTSTATUS;
typedef unsigned long ULONG;
typedef unsigned long long ULONG_PTR, SIZE_T;
typedef void *PVOID;

typedef struct _EXCEPTION_RECORD {
    NTSTATUS ExceptionCode;
    ULONG ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    ULONG NumberParameters;
    ULONG_PTR ExceptionInformation[15];
} EXCEPTION_RECORD;

typedef struct _EXCEPTION_POINTERS {
    EXCEPTION_RECORD *ExceptionRecord;
    PVOID ContextRecord;
} EXCEPTION_POINTERS;

#define EXCEPTION_NESTED_CALL 0x10
#define NonPagedPool 0
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16

__declspec(dllimport) void ExRaiseStatus(NTSTATUS Status);
__declspec(dllimport) void ProbeForRead(const volatile void *Address, SIZE_T Length, ULONG Alignment);
__declspec(dllimport) void ProbeForWrite(volatile void *Address, SIZE_T Length, ULONG Alignment);
__declspec(dllimport) void RtlRaiseException(EXCEPTION_RECORD *ExceptionRecord);
__declspec(dllimport) PVOID ExAllocatePoolWithTag(int PoolType, SIZE_T Bytes, ULONG Tag);
__declspec(dllimport) void ExFreePoolWithTag(PVOID P, ULONG Tag);
__declspec(dllimport) SIZE_T RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length);

/* Observations the test reads back (exported data). */
__declspec(dllexport) volatile long SehFinallyCount;
__declspec(dllexport) volatile long SehFilterCalls;
__declspec(dllexport) volatile ULONG SehLastFlags;
__declspec(dllexport) volatile long SehTrace[16];
__declspec(dllexport) volatile long SehTraceLength;

static void trace(long v)
{
    if (SehTraceLength < 16)
        SehTrace[SehTraceLength++] = v;
}

/* ProbeForRead / ProbeForWrite inside __try: the status raised, or 0. */
__declspec(dllexport) NTSTATUS SehProbeRead(const void *p, SIZE_T len, ULONG align)
{
    __try {
        ProbeForRead(p, len, align);
    } __except (1) {
        return _exception_code();
    }
    return 0;
}

__declspec(dllexport) NTSTATUS SehProbeWrite(void *p, SIZE_T len, ULONG align)
{
    __try {
        ProbeForWrite(p, len, align);
    } __except (1) {
        return _exception_code();
    }
    return 0;
}

/* A __finally runs while the exception unwinds to the outer __except. */
__declspec(dllexport) NTSTATUS SehFinallyOnUnwind(NTSTATUS s)
{
    __try {
        __try {
            trace(1);
            ExRaiseStatus(s);
            trace(99);
        } __finally {
            trace(2);
            SehFinallyCount++;
        }
    } __except (_exception_code() == s ? 1 : 0) {
        trace(3);
        return SehFinallyCount;
    }
    return -1;
}

/* A filter that declines (EXCEPTION_CONTINUE_SEARCH) passes the exception
 * to the caller's frame. */
static __declspec(noinline) NTSTATUS SehDecliningInner(NTSTATUS s)
{
    __try {
        __try {
            ExRaiseStatus(s);
        } __finally {
            trace(20);
        }
    } __except (SehFilterCalls++, 0) {
        trace(98);
    }
    return -1;
}

__declspec(dllexport) NTSTATUS SehOuterHandles(NTSTATUS s)
{
    __try {
        SehDecliningInner(s);
    } __except (trace(10), 1) {
        trace(30);
        return _exception_code();
    }
    return 0;
}

/* EXCEPTION_CONTINUE_EXECUTION resumes after the raise of a continuable
 * exception. */
__declspec(dllexport) long SehContinueExecution(NTSTATUS s)
{
    volatile long after = 0;
    __try {
        EXCEPTION_RECORD r;
        r.ExceptionCode = s;
        r.ExceptionFlags = 0;
        r.ExceptionRecord = 0;
        r.ExceptionAddress = 0;
        r.NumberParameters = 1;
        r.ExceptionInformation[0] = 0x1234;
        RtlRaiseException(&r);
        after = 1;
    } __except (SehFilterCalls++, (_exception_code() == s &&
                                   ((EXCEPTION_POINTERS *)_exception_info())->ExceptionRecord->ExceptionInformation[0] ==
                                       0x1234)
                                      ? -1
                                      : 1) {
        return -2;
    }
    return after;
}

/* A noncontinuable exception (ExRaiseStatus) whose filter asks to continue:
 * STATUS_NONCONTINUABLE_EXCEPTION is raised, which the outer frame catches. */
static __declspec(noinline) long SehContinueRefusedInner(NTSTATUS s)
{
    __try {
        ExRaiseStatus(s);
    } __except (_exception_code() == s ? -1 : 0) {
        return -3;
    }
    return -4;
}

__declspec(dllexport) NTSTATUS SehContinueRefused(NTSTATUS s)
{
    __try {
        SehContinueRefusedInner(s);
    } __except (1) {
        return _exception_code();
    }
    return 0;
}

/* An exception raised inside a filter (nested): the dispatch of the second
 * exception reaches this frame again with EXCEPTION_NESTED_CALL set. */
static long SehNestedFilter(EXCEPTION_POINTERS *p, NTSTATUS first, NTSTATUS second)
{
    SehFilterCalls++;
    if (p->ExceptionRecord->ExceptionCode == first) {
        trace(40);
        ExRaiseStatus(second);
        return 0;
    }
    SehLastFlags = p->ExceptionRecord->ExceptionFlags;
    trace(41);
    return p->ExceptionRecord->ExceptionCode == second ? 1 : 0;
}

__declspec(dllexport) NTSTATUS SehNested(NTSTATUS first, NTSTATUS second)
{
    __try {
        ExRaiseStatus(first);
    } __except (SehNestedFilter((EXCEPTION_POINTERS *)_exception_info(), first, second)) {
        trace(42);
        return _exception_code();
    }
    return 0;
}

/* An exception inside a __finally that runs during an unwind (a collided
 * unwind): the second exception's handler is the same frame's __except, so
 * its unwind takes over the first one; the __finally is not run twice. */
__declspec(dllexport) NTSTATUS SehRaiseInFinally(NTSTATUS first, NTSTATUS second)
{
    __try {
        __try {
            __try {
                ExRaiseStatus(first);
            } __finally {
                trace(50);
                SehFinallyCount++;
                if (_abnormal_termination())
                    ExRaiseStatus(second);
            }
        } __finally {
            trace(51);
        }
    } __except (trace(52), (_exception_code() == first || _exception_code() == second) ? 1 : 0) {
        trace(53);
        return _exception_code();
    }
    return 0;
}

/* A raise from deep inside the kernel (the pool's POOL_RAISE_IF_ALLOCATION_FAILURE)
 * unwinds through kernel frames into this __except. */
__declspec(dllexport) NTSTATUS SehPoolRaise(SIZE_T bytes)
{
    __try {
        PVOID p = ExAllocatePoolWithTag(NonPagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE, bytes, 0x74486553);
        ExFreePoolWithTag(p, 0x74486553);
    } __except (1) {
        return _exception_code();
    }
    return 0;
}

/* No handler anywhere in the image: the raise is unhandled. */
__declspec(dllexport) void SehRaiseUnhandled(NTSTATUS s)
{
    ExRaiseStatus(s);
}

/* Processor exceptions in __try: 0 a write through p (access violation),
 * 1 a division by zero, 2 an invalid opcode, 3 a breakpoint. The filter
 * also records the faulting access (ExceptionInformation) for a page fault. */
__declspec(dllexport) volatile ULONG_PTR SehFaultInfo[2];

/* The faulting instruction is in a callee (a leaf without .pdata): clang's
 * scope tables cover the calls in a __try, not faulting instructions of the
 * __try body itself (that would need -fasync-exceptions, MSVC's /EHa). */
static __declspec(noinline) long SehFaultingLeaf(int kind, volatile long *p, volatile int divisor)
{
    switch (kind) {
    case 0:
        *p = 1;
        return 0;
    case 1:
        return 100 / divisor;
    case 2:
        __builtin_trap();
    default:
        __debugbreak();
        return 0;
    }
}

__declspec(dllexport) NTSTATUS SehFault(int kind, volatile long *p, volatile int divisor)
{
    __try {
        return SehFaultingLeaf(kind, p, divisor);
    } __except (SehFaultInfo[0] = ((EXCEPTION_POINTERS *)_exception_info())->ExceptionRecord->ExceptionInformation[0],
                SehFaultInfo[1] = ((EXCEPTION_POINTERS *)_exception_info())->ExceptionRecord->ExceptionInformation[1], 1) {
        return _exception_code();
    }
    return 0;
}

/* A frame that calls back into the caller (for the back-trace and lookup tests). */
__declspec(dllexport) long SehCallback(long (*fn)(long), long v)
{
    long r;
    __try {
        r = fn(v) + 1;
    } __finally {
        trace(60);
    }
    return r;
}

/* A fault inside kernel code the driver called (RtlCompareMemory reading a
 * bad pointer): the dispatch starts in a kernel ELF frame at the faulting
 * instruction and unwinds through the kernel's frames into this __try. */
__declspec(dllexport) NTSTATUS SehKernelFault(const void *p, SIZE_T *result)
{
    __try {
        *result = RtlCompareMemory(p, p, 64);
    } __except (1) {
        return _exception_code();
    }
    return 0;
}
