/*
 * Processor control region (KPCR) and block (KPRCB).
 *
 * One KPCR per processor, reached through the GS base on both backends. Driver
 * binaries compile the WDK inline functions into GS-relative loads, so the
 * documented x64 offsets below are part of the ABI:
 *   gs:[0x18]  KPCR.Self                  (KeGetPcr)
 *   gs:[0x50]  KPCR.Irql                  (mirror of CR8 kept by the kernel)
 *   gs:[0x180] KPCR.Prcb
 *   gs:[0x184] KPRCB.LegacyNumber         (KeGetCurrentProcessorNumber, a byte)
 *   gs:[0x188] KPRCB.CurrentThread        (KeGetCurrentThread)
 *   gs:[0x1a4] KPRCB.Number               (KeGetCurrentProcessorIndex)
 * Everything after KPRCB.Number is private to ntos and may change.
 */
#ifndef NTOS_KPCR_H
#define NTOS_KPCR_H

#include <ntos/ntdef.h>

struct _KTHREAD;

typedef struct _KPRCB {
    ULONG MxCsr;                        /* 0x00 */
    UCHAR LegacyNumber;                 /* 0x04 */
    UCHAR ReservedMustBeZero;           /* 0x05 */
    BOOLEAN InterruptRequest;           /* 0x06 */
    BOOLEAN IdleHalt;                   /* 0x07 */
    struct _KTHREAD *CurrentThread;     /* 0x08 */
    struct _KTHREAD *NextThread;        /* 0x10 */
    struct _KTHREAD *IdleThread;        /* 0x18 */
    UCHAR NestingLevel;                 /* 0x20 */
    BOOLEAN ClockOwner;                 /* 0x21 */
    UCHAR PendingTickFlags;             /* 0x22 */
    UCHAR IdleState;                    /* 0x23 */
    ULONG Number;                       /* 0x24 */
    /* ---- ntos private from here ---- */
    PVOID KernelPrivate[256];           /* owned by portable Ke (queues, counters) */
    PVOID ArchPrivate;                  /* owned by the backend */
} KPRCB, *PKPRCB;

typedef struct _KPCR {
    PVOID GdtBase;                      /* 0x00 */
    PVOID TssBase;                      /* 0x08 */
    ULONG64 UserRsp;                    /* 0x10 */
    struct _KPCR *Self;                 /* 0x18 */
    PKPRCB CurrentPrcb;                 /* 0x20 */
    PVOID LockArray;                    /* 0x28 */
    PVOID Used_Self;                    /* 0x30 */
    PVOID IdtBase;                      /* 0x38 */
    ULONG64 Unused[2];                  /* 0x40 */
    KIRQL Irql;                         /* 0x50 */
    UCHAR SecondLevelCacheAssociativity;/* 0x51 */
    UCHAR ObsoleteNumber;               /* 0x52 */
    UCHAR Fill0;                        /* 0x53 */
    ULONG Unused0[3];                   /* 0x54 */
    USHORT MajorVersion;                /* 0x60 */
    USHORT MinorVersion;                /* 0x62 */
    ULONG StallScaleFactor;             /* 0x64 */
    PVOID Unused1[3];                   /* 0x68 */
    ULONG KernelReserved[15];           /* 0x80 */
    ULONG SecondLevelCacheSize;         /* 0xBC */
    ULONG HalReserved[16];              /* 0xC0 */
    ULONG Unused2;                      /* 0x100 */
    PVOID KdVersionBlock;               /* 0x108 */
    PVOID Unused3;                      /* 0x110 */
    ULONG PcrAlign1[24];                /* 0x118 */
    ULONG64 PcrAlign2;                  /* 0x178: KPRCB is cache-line aligned */
    KPRCB Prcb;                         /* 0x180 */
} KPCR, *PKPCR;

NTOS_ASSERT_OFFSET(KPCR, Self, 0x18);
NTOS_ASSERT_OFFSET(KPCR, CurrentPrcb, 0x20);
NTOS_ASSERT_OFFSET(KPCR, Irql, 0x50);
NTOS_ASSERT_OFFSET(KPCR, MajorVersion, 0x60);
NTOS_ASSERT_OFFSET(KPCR, KdVersionBlock, 0x108);
NTOS_ASSERT_OFFSET(KPCR, Prcb, 0x180);
NTOS_ASSERT_OFFSET(KPCR, Prcb.LegacyNumber, 0x184);
NTOS_ASSERT_OFFSET(KPCR, Prcb.CurrentThread, 0x188);
NTOS_ASSERT_OFFSET(KPCR, Prcb.Number, 0x1a4);

/* GS-relative accessors: the same instructions the WDK inlines into drivers. */
static inline PKPCR KeGetPcr(void)
{
    PKPCR p;
    __asm__ volatile("movq %%gs:0x18, %0" : "=r"(p));
    return p;
}

static inline struct _KTHREAD *KeGetCurrentThread(void)
{
    struct _KTHREAD *t;
    __asm__ volatile("movq %%gs:0x188, %0" : "=r"(t));
    return t;
}

static inline PKPRCB KeGetCurrentPrcb(void)
{
    PKPRCB p;
    __asm__ volatile("movq %%gs:0x20, %0" : "=r"(p));
    return p;
}

static inline ULONG KeGetCurrentProcessorIndex(void)
{
    ULONG n;
    __asm__ volatile("movl %%gs:0x1a4, %0" : "=r"(n));
    return n;
}

#endif /* NTOS_KPCR_H */
