/*
 * KUSER_SHARED_DATA: the page the kernel shares read-only with every driver and
 * user process (0xFFFFF78000000000 in kernel space, 0x7FFE0000 in user space).
 *
 * Driver binaries read the clocks from it without calling the kernel: on x64 the
 * WDK's KeQueryInterruptTime, KeQuerySystemTime and KeQueryTickCount are inline
 * 64-bit loads at offsets 0x08, 0x14 and 0x320. So the offsets below are ABI,
 * pinned with the layout of the Windows 10 x64 ntddk.h (size 0x710); fields ntos
 * does not maintain are kept as reserved space of the right size.
 *
 * A KSYSTEM_TIME is written High2Time first, then LowPart and High1Time together
 * (one 64-bit store): a 64-bit reader gets a consistent value in one load, a
 * 32-bit reader reads High1Time, LowPart, High2Time and retries until
 * High1Time == High2Time.
 */
#ifndef NTOS_KUSER_H
#define NTOS_KUSER_H

#include <ntos/ntdef.h>

typedef struct _KSYSTEM_TIME {
    ULONG LowPart;
    LONG High1Time;
    LONG High2Time;
} KSYSTEM_TIME, *PKSYSTEM_TIME;
NTOS_ASSERT_SIZE(KSYSTEM_TIME, 12);

typedef enum _NT_PRODUCT_TYPE { NtProductWinNt = 1, NtProductLanManNt, NtProductServer } NT_PRODUCT_TYPE;

typedef enum _ALTERNATIVE_ARCHITECTURE_TYPE {
    StandardDesign,
    NEC98x86,
    EndAlternatives
} ALTERNATIVE_ARCHITECTURE_TYPE;

/* Shared with the PE and system-information headers to come. */
#ifndef PROCESSOR_FEATURE_MAX
#define PROCESSOR_FEATURE_MAX 64
#endif
#ifndef IMAGE_FILE_MACHINE_AMD64
#define IMAGE_FILE_MACHINE_AMD64 0x8664
#endif
#ifndef PROCESSOR_ARCHITECTURE_AMD64
#define PROCESSOR_ARCHITECTURE_AMD64 9
#endif

/* Where the page lives in every kernel address space on x64 (bare metal). */
#define KI_USER_SHARED_DATA 0xFFFFF78000000000ULL
#define MM_SHARED_USER_DATA_VA 0x7FFE0000ULL

/* The NT version ntos reports (Windows 10 22H2). */
#define NTOS_NT_MAJOR_VERSION 10
#define NTOS_NT_MINOR_VERSION 0
#define NTOS_NT_BUILD_NUMBER 19045

typedef struct _KUSER_SHARED_DATA {
    ULONG TickCountLowDeprecated;             /* 0x000 */
    ULONG TickCountMultiplier;                /* 0x004 ms per tick, 8.24 fixed point */
    volatile KSYSTEM_TIME InterruptTime;      /* 0x008 */
    volatile KSYSTEM_TIME SystemTime;         /* 0x014 */
    volatile KSYSTEM_TIME TimeZoneBias;       /* 0x020 */
    USHORT ImageNumberLow;                    /* 0x02C */
    USHORT ImageNumberHigh;                   /* 0x02E */
    WCHAR NtSystemRoot[260];                  /* 0x030 */
    ULONG MaxStackTraceDepth;                 /* 0x238 */
    ULONG CryptoExponent;                     /* 0x23C */
    ULONG TimeZoneId;                         /* 0x240 */
    ULONG LargePageMinimum;                   /* 0x244 */
    ULONG AitSamplingValue;                   /* 0x248 */
    ULONG AppCompatFlag;                      /* 0x24C */
    ULONGLONG RNGSeedVersion;                 /* 0x250 */
    ULONG GlobalValidationRunlevel;           /* 0x258 */
    volatile LONG TimeZoneBiasStamp;          /* 0x25C */
    ULONG NtBuildNumber;                      /* 0x260 */
    NT_PRODUCT_TYPE NtProductType;            /* 0x264 */
    BOOLEAN ProductTypeIsValid;               /* 0x268 */
    BOOLEAN Reserved0[1];                     /* 0x269 */
    USHORT NativeProcessorArchitecture;       /* 0x26A */
    ULONG NtMajorVersion;                     /* 0x26C */
    ULONG NtMinorVersion;                     /* 0x270 */
    BOOLEAN ProcessorFeatures[PROCESSOR_FEATURE_MAX]; /* 0x274 */
    ULONG Reserved1;                          /* 0x2B4 */
    ULONG Reserved3;                          /* 0x2B8 */
    volatile ULONG TimeSlip;                  /* 0x2BC */
    ALTERNATIVE_ARCHITECTURE_TYPE AlternativeArchitecture; /* 0x2C0 */
    ULONG BootId;                             /* 0x2C4 */
    LARGE_INTEGER SystemExpirationDate;       /* 0x2C8 */
    ULONG SuiteMask;                          /* 0x2D0 */
    BOOLEAN KdDebuggerEnabled;                /* 0x2D4 */
    UCHAR MitigationPolicies;                 /* 0x2D5 */
    USHORT CyclesPerYield;                    /* 0x2D6 */
    volatile ULONG ActiveConsoleId;           /* 0x2D8 */
    volatile ULONG DismountCount;             /* 0x2DC */
    ULONG ComPlusPackage;                     /* 0x2E0 */
    ULONG LastSystemRITEventTickCount;        /* 0x2E4 */
    ULONG NumberOfPhysicalPages;              /* 0x2E8 */
    BOOLEAN SafeBootMode;                     /* 0x2EC */
    UCHAR VirtualizationFlags;                /* 0x2ED */
    UCHAR Reserved12[2];                      /* 0x2EE */
    ULONG SharedDataFlags;                    /* 0x2F0 */
    ULONG DataFlagsPad[1];                    /* 0x2F4 */
    ULONGLONG TestRetInstruction;             /* 0x2F8 */
    LONGLONG QpcFrequency;                    /* 0x300 */
    ULONG SystemCall;                         /* 0x308 */
    ULONG SystemCallPad0;                     /* 0x30C */
    ULONGLONG SystemCallPad[2];               /* 0x310 */
    union {                                   /* 0x320 */
        volatile KSYSTEM_TIME TickCount;
        volatile ULONG64 TickCountQuad;
        struct {
            ULONG ReservedTickCountOverlay[3];
            ULONG TickCountPad[1];            /* 0x32C */
        };
    };
    ULONG Cookie;                             /* 0x330 */
    ULONG CookiePad[1];                       /* 0x334 */
    LONGLONG ConsoleSessionForegroundProcessId; /* 0x338 */
    ULONGLONG TimeUpdateLock;                 /* 0x340 */
    ULONGLONG BaselineSystemTimeQpc;          /* 0x348 */
    ULONGLONG BaselineInterruptTimeQpc;       /* 0x350 */
    ULONGLONG QpcSystemTimeIncrement;         /* 0x358 */
    ULONGLONG QpcInterruptTimeIncrement;      /* 0x360 */
    UCHAR QpcSystemTimeIncrementShift;        /* 0x368 */
    UCHAR QpcInterruptTimeIncrementShift;     /* 0x369 */
    USHORT UnparkedProcessorCount;            /* 0x36A */
    ULONG EnclaveFeatureMask[4];              /* 0x36C */
    ULONG TelemetryCoverageRound;             /* 0x37C */
    USHORT UserModeGlobalLogger[16];          /* 0x380 */
    ULONG ImageFileExecutionOptions;          /* 0x3A0 */
    ULONG LangGenerationCount;                /* 0x3A4 */
    ULONGLONG Reserved4;                      /* 0x3A8 */
    volatile ULONGLONG InterruptTimeBias;     /* 0x3B0 */
    volatile ULONGLONG QpcBias;               /* 0x3B8 */
    ULONG ActiveProcessorCount;               /* 0x3C0 */
    volatile UCHAR ActiveGroupCount;          /* 0x3C4 */
    UCHAR Reserved9;                          /* 0x3C5 */
    union {                                   /* 0x3C6 */
        USHORT QpcData;
        struct {
            volatile UCHAR QpcBypassEnabled;
            UCHAR QpcShift;
        };
    };
    LARGE_INTEGER TimeZoneBiasEffectiveStart; /* 0x3C8 */
    LARGE_INTEGER TimeZoneBiasEffectiveEnd;   /* 0x3D0 */
    UCHAR XState[0x338];                      /* 0x3D8 XSTATE_CONFIGURATION, not maintained */
} KUSER_SHARED_DATA, *PKUSER_SHARED_DATA;

NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TickCountMultiplier, 0x004);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, InterruptTime, 0x008);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SystemTime, 0x014);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TimeZoneBias, 0x020);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ImageNumberLow, 0x02C);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NtSystemRoot, 0x030);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, MaxStackTraceDepth, 0x238);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, LargePageMinimum, 0x244);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, RNGSeedVersion, 0x250);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TimeZoneBiasStamp, 0x25C);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NtBuildNumber, 0x260);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NtProductType, 0x264);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ProductTypeIsValid, 0x268);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NativeProcessorArchitecture, 0x26A);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NtMajorVersion, 0x26C);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NtMinorVersion, 0x270);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ProcessorFeatures, 0x274);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TimeSlip, 0x2BC);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, AlternativeArchitecture, 0x2C0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SystemExpirationDate, 0x2C8);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SuiteMask, 0x2D0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, KdDebuggerEnabled, 0x2D4);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, MitigationPolicies, 0x2D5);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, CyclesPerYield, 0x2D6);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ActiveConsoleId, 0x2D8);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, NumberOfPhysicalPages, 0x2E8);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SafeBootMode, 0x2EC);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SharedDataFlags, 0x2F0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TestRetInstruction, 0x2F8);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, QpcFrequency, 0x300);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SystemCall, 0x308);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, SystemCallPad, 0x310);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TickCount, 0x320);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TickCountQuad, 0x320);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, Cookie, 0x330);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ConsoleSessionForegroundProcessId, 0x338);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TimeUpdateLock, 0x340);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, BaselineSystemTimeQpc, 0x348);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, QpcSystemTimeIncrementShift, 0x368);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, UnparkedProcessorCount, 0x36A);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, EnclaveFeatureMask, 0x36C);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TelemetryCoverageRound, 0x37C);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, UserModeGlobalLogger, 0x380);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ImageFileExecutionOptions, 0x3A0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, LangGenerationCount, 0x3A4);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, InterruptTimeBias, 0x3B0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, QpcBias, 0x3B8);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ActiveProcessorCount, 0x3C0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, ActiveGroupCount, 0x3C4);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, QpcData, 0x3C6);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, QpcBypassEnabled, 0x3C6);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, QpcShift, 0x3C7);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TimeZoneBiasEffectiveStart, 0x3C8);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, TimeZoneBiasEffectiveEnd, 0x3D0);
NTOS_ASSERT_OFFSET(KUSER_SHARED_DATA, XState, 0x3D8);
NTOS_ASSERT_SIZE(KUSER_SHARED_DATA, 0x710);

/*
 * The kernel's instance (time.c), page aligned. On bare metal the page holding
 * it is mapped at KI_USER_SHARED_DATA; on the host it is ordinary memory that
 * the PE loader redirects driver reads of KI_USER_SHARED_DATA to.
 */
extern KUSER_SHARED_DATA KiUserSharedData;

/*
 * Fills the static fields (version, processor count, QPC frequency, ...) and a
 * first time snapshot. Idempotent; any IRQL up to CLOCK_LEVEL. Boot should call
 * it before the clock starts; KiUpdateTime also calls it on its first tick.
 */
VOID KiInitializeUserSharedData(void);

#endif /* NTOS_KUSER_H */
