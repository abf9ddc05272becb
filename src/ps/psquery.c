/*
 * Process and thread accessors that drivers import instead of touching the
 * opaque EPROCESS/ETHREAD, and the version queries.
 *
 * The accessors read fields that are fixed once the object is created (ids,
 * names, create times, session) or that only ever change from FALSE to TRUE
 * / get their final value before a flag is published (exit status, exiting
 * flags); they take no lock and may be called at any IRQL with a referenced
 * object, as on NT. The version queries are PASSIVE_LEVEL.
 */
#include "psp.h"
#include <ntos/kuser.h>
#include <ntos/ex_lists.h>

PEPROCESS NTAPI PspGetCurrentProcessExport(void)
{
    return PsGetCurrentProcess();
}

PETHREAD NTAPI PspGetCurrentThreadExport(void)
{
    return PsGetCurrentThread();
}

PCHAR NTAPI PsGetProcessImageFileName(PEPROCESS Process)
{
    /* A 15-character, NUL-terminated ANSI name, as in EPROCESS.ImageFileName. */
    return (PCHAR)Process->ImageFileName;
}

ULONG NTAPI PsGetProcessSessionIdEx(PEPROCESS Process)
{
    return Process->SessionId;
}

ULONG NTAPI PsGetProcessSessionId(PEPROCESS Process)
{
    /* The sessionless System process reports session 0 here (Ex says -1). */
    ULONG id = Process->SessionId;
    return id == PSP_NO_SESSION ? 0 : id;
}

ULONG NTAPI PsGetCurrentProcessSessionId(void)
{
    return PsGetProcessSessionId(PsGetCurrentProcess());
}

HANDLE NTAPI PsGetProcessInheritedFromUniqueProcessId(PEPROCESS Process)
{
    return Process->InheritedFromUniqueProcessId;
}

LONGLONG NTAPI PsGetProcessCreateTimeQuadPart(PEPROCESS Process)
{
    return Process->CreateTime.QuadPart;
}

NTSTATUS NTAPI PsGetProcessExitStatus(PEPROCESS Process)
{
    /* STATUS_PENDING while the process is alive, as NT initialises it. */
    return __atomic_load_n(&Process->Exiting, __ATOMIC_ACQUIRE) ? Process->ExitStatus : STATUS_PENDING;
}

BOOLEAN NTAPI PsGetProcessExitProcessCalled(PEPROCESS Process)
{
    return __atomic_load_n(&Process->Exiting, __ATOMIC_ACQUIRE);
}

BOOLEAN NTAPI PsIsSystemProcess(PEPROCESS Process)
{
    return Process == PsInitialSystemProcess;
}

NTSTATUS NTAPI PsGetThreadExitStatus(PETHREAD Thread)
{
    if (!__atomic_load_n(&Thread->Tcb.Header.SignalState, __ATOMIC_ACQUIRE))
        return STATUS_PENDING;
    return Thread->Tcb.ExitStatus;
}

LONGLONG NTAPI PsGetThreadCreateTime(PETHREAD Thread)
{
    return Thread->CreateTime.QuadPart;
}

PEPROCESS NTAPI PsGetCurrentThreadProcess(void)
{
    /* The thread's own process, not the one it may be attached to. */
    return (PEPROCESS)KeGetCurrentThread()->Process;
}

HANDLE NTAPI PsGetCurrentThreadProcessId(void)
{
    return PsGetCurrentThreadProcess()->UniqueProcessId;
}

KPROCESSOR_MODE NTAPI PsGetCurrentThreadPreviousMode(void)
{
    return ExGetPreviousMode();
}

PVOID NTAPI PsGetCurrentThreadTeb(void)
{
    return KeGetCurrentThread()->Teb;
}

/* ---- version ------------------------------------------------------------------------------ */

BOOLEAN NTAPI PsGetVersion(PULONG MajorVersion, PULONG MinorVersion, PULONG BuildNumber, PUNICODE_STRING CSDVersion)
{
    if (MajorVersion != NULL)
        *MajorVersion = NTOS_NT_MAJOR_VERSION;
    if (MinorVersion != NULL)
        *MinorVersion = NTOS_NT_MINOR_VERSION;
    if (BuildNumber != NULL)
        *BuildNumber = NTOS_NT_BUILD_NUMBER;
    if (CSDVersion != NULL) {
        /* No service pack: the empty string (the caller's buffer is left alone). */
        CSDVersion->Length = 0;
        if (CSDVersion->MaximumLength >= sizeof(WCHAR) && CSDVersion->Buffer != NULL)
            CSDVersion->Buffer[0] = 0;
    }
    return FALSE; /* a free (retail) build */
}

NTSTATUS NTAPI RtlGetVersion(PRTL_OSVERSIONINFOW VersionInformation)
{
    if (VersionInformation == NULL)
        return STATUS_INVALID_PARAMETER;
    ULONG size = VersionInformation->dwOSVersionInfoSize;
    if (size != sizeof(OSVERSIONINFOW) && size != sizeof(OSVERSIONINFOEXW))
        return STATUS_INVALID_PARAMETER;
    VersionInformation->dwMajorVersion = NTOS_NT_MAJOR_VERSION;
    VersionInformation->dwMinorVersion = NTOS_NT_MINOR_VERSION;
    VersionInformation->dwBuildNumber = NTOS_NT_BUILD_NUMBER;
    VersionInformation->dwPlatformId = VER_PLATFORM_WIN32_NT;
    RtlZeroMemory(VersionInformation->szCSDVersion, sizeof(VersionInformation->szCSDVersion));
    if (size == sizeof(OSVERSIONINFOEXW)) {
        POSVERSIONINFOEXW ex = (POSVERSIONINFOEXW)VersionInformation;
        ex->wServicePackMajor = 0;
        ex->wServicePackMinor = 0;
        ex->wSuiteMask = VER_SUITE_SINGLEUSERTS;
        ex->wProductType = VER_NT_WORKSTATION; /* KUSER_SHARED_DATA.NtProductType = NtProductWinNt */
        ex->wReserved = 0;
    }
    return STATUS_SUCCESS;
}
