/*
 * Debug output: DbgPrint and friends, and the component filter that decides
 * which DbgPrintEx messages are shown (WDK "Reading and Filtering Debugging
 * Messages").
 *
 * Filtering, as documented:
 *   - Level 0..31 is a bit number: the message's importance bit field is
 *     1 << Level. Any larger Level is used as the bit field itself.
 *   - Each component has a filter mask; it is combined by OR with the
 *     system-wide mask (the one Windows calls WIN2000, 0x1 by default, which is
 *     why DPFLTR_ERROR_LEVEL messages are shown). The message is shown when the
 *     bit field ANDed with that combination is non-zero.
 *   - DbgPrint(...) is DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...).
 *   - At most 512 bytes of one message are transmitted (prefix included for
 *     vDbgPrintExWithPrefix); the rest is dropped.
 *
 * ntos default (a deliberate difference from Windows): every component's mask
 * starts at NTOS_KD_DEFAULT_COMPONENT_MASK, i.e. ERROR, WARNING, TRACE and INFO
 * are shown, so plain DbgPrint output from drivers is visible without first
 * setting a filter. Windows Vista+ starts the masks at 0 and so shows only
 * errors. DbgSetDebugFilterState changes a mask at run time.
 *
 * Output goes to arch_console_write, or to the hook installed with
 * KdpSetPrintHook instead (tests capture output this way).
 */
#ifndef NTOS_DBG_H
#define NTOS_DBG_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>

/* ---- levels ----------------------------------------------------------------- */
#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
#define DPFLTR_MASK 0x80000000

/* ---- component ids (values from the DPFLTR_TYPE enumeration) ------------------- */
#define DPFLTR_SYSTEM_ID 0
#define DPFLTR_SMSS_ID 1
#define DPFLTR_SETUP_ID 2
#define DPFLTR_NTFS_ID 3
#define DPFLTR_FSTUB_ID 4
#define DPFLTR_CRASHDUMP_ID 5
#define DPFLTR_CDAUDIO_ID 6
#define DPFLTR_CDROM_ID 7
#define DPFLTR_CLASSPNP_ID 8
#define DPFLTR_DISK_ID 9
#define DPFLTR_REDBOOK_ID 10
#define DPFLTR_STORPROP_ID 11
#define DPFLTR_SCSIPORT_ID 12
#define DPFLTR_SCSIMINIPORT_ID 13
#define DPFLTR_CONFIG_ID 14
#define DPFLTR_I8042PRT_ID 15
#define DPFLTR_SERMOUSE_ID 16
#define DPFLTR_LSERMOUS_ID 17
#define DPFLTR_KBDHID_ID 18
#define DPFLTR_MOUHID_ID 19
#define DPFLTR_KBDCLASS_ID 20
#define DPFLTR_MOUCLASS_ID 21
#define DPFLTR_TWOTRACK_ID 22
#define DPFLTR_WMILIB_ID 23
#define DPFLTR_ACPI_ID 24
#define DPFLTR_AMLI_ID 25
#define DPFLTR_HALIA64_ID 26
#define DPFLTR_VIDEO_ID 27
#define DPFLTR_SVCHOST_ID 28
#define DPFLTR_VIDEOPRT_ID 29
#define DPFLTR_TCPIP_ID 30
#define DPFLTR_DMSYNTH_ID 31
#define DPFLTR_NTOSPNP_ID 32
#define DPFLTR_FASTFAT_ID 33
#define DPFLTR_SAMSS_ID 34
#define DPFLTR_PNPMGR_ID 35
#define DPFLTR_NETAPI_ID 36
#define DPFLTR_SCSERVER_ID 37
#define DPFLTR_SCCLIENT_ID 38
#define DPFLTR_SERIAL_ID 39
#define DPFLTR_SERENUM_ID 40
#define DPFLTR_UHCD_ID 41
#define DPFLTR_RPCPROXY_ID 42
#define DPFLTR_AUTOCHK_ID 43
#define DPFLTR_DCOMSS_ID 44
#define DPFLTR_UNIMODEM_ID 45
#define DPFLTR_SIS_ID 46
#define DPFLTR_FLTMGR_ID 47
#define DPFLTR_WMICORE_ID 48
#define DPFLTR_BURNENG_ID 49
#define DPFLTR_IMAPI_ID 50
#define DPFLTR_SXS_ID 51
#define DPFLTR_FUSION_ID 52
#define DPFLTR_IDLETASK_ID 53
#define DPFLTR_SOFTPCI_ID 54
#define DPFLTR_TAPE_ID 55
#define DPFLTR_MCHGR_ID 56
#define DPFLTR_IDEP_ID 57
#define DPFLTR_PCIIDE_ID 58
#define DPFLTR_FLOPPY_ID 59
#define DPFLTR_FDC_ID 60
#define DPFLTR_TERMSRV_ID 61
#define DPFLTR_W32TIME_ID 62
#define DPFLTR_PREFETCHER_ID 63
#define DPFLTR_RSFILTER_ID 64
#define DPFLTR_FCPORT_ID 65
#define DPFLTR_PCI_ID 66
#define DPFLTR_DMIO_ID 67
#define DPFLTR_DMCONFIG_ID 68
#define DPFLTR_DMADMIN_ID 69
#define DPFLTR_WSOCKTRANSPORT_ID 70
#define DPFLTR_VSS_ID 71
#define DPFLTR_PNPMEM_ID 72
#define DPFLTR_PROCESSOR_ID 73
#define DPFLTR_DMSERVER_ID 74
#define DPFLTR_SR_ID 75
#define DPFLTR_INFINIBAND_ID 76
#define DPFLTR_IHVDRIVER_ID 77
#define DPFLTR_IHVVIDEO_ID 78
#define DPFLTR_IHVAUDIO_ID 79
#define DPFLTR_IHVNETWORK_ID 80
#define DPFLTR_IHVSTREAMING_ID 81
#define DPFLTR_IHVBUS_ID 82
#define DPFLTR_HPS_ID 83
#define DPFLTR_RTLTHREADPOOL_ID 84
#define DPFLTR_LDR_ID 85
#define DPFLTR_TCPIP6_ID 86
#define DPFLTR_ISAPNP_ID 87
#define DPFLTR_SHPC_ID 88
#define DPFLTR_STORPORT_ID 89
#define DPFLTR_STORMINIPORT_ID 90
#define DPFLTR_PRINTSPOOLER_ID 91
#define DPFLTR_VSSDYNDISK_ID 92
#define DPFLTR_VERIFIER_ID 93
#define DPFLTR_VDS_ID 94
#define DPFLTR_VDSBAS_ID 95
#define DPFLTR_VDSDYN_ID 96
#define DPFLTR_VDSDYNDR_ID 97
#define DPFLTR_VDSLDR_ID 98
#define DPFLTR_VDSUTIL_ID 99
#define DPFLTR_DFRGIFC_ID 100
#define DPFLTR_DEFAULT_ID 101
#define DPFLTR_MM_ID 102
#define DPFLTR_DFSC_ID 103
#define DPFLTR_WOW64_ID 104
#define DPFLTR_ALPC_ID 105
#define DPFLTR_WDI_ID 106
#define DPFLTR_PERFLIB_ID 107
#define DPFLTR_KTM_ID 108
#define DPFLTR_IOSTRESS_ID 109
#define DPFLTR_HEAP_ID 110
#define DPFLTR_WHEA_ID 111
#define DPFLTR_USERGDI_ID 112
#define DPFLTR_MMCSS_ID 113
#define DPFLTR_TPM_ID 114
#define DPFLTR_THREADORDER_ID 115
#define DPFLTR_ENVIRON_ID 116
#define DPFLTR_EMS_ID 117
#define DPFLTR_WDT_ID 118
#define DPFLTR_FVEVOL_ID 119
#define DPFLTR_NDIS_ID 120
#define DPFLTR_NVCTRACE_ID 121
#define DPFLTR_LUAFV_ID 122
#define DPFLTR_APPCOMPAT_ID 123
#define DPFLTR_USBSTOR_ID 124
#define DPFLTR_SBP2PORT_ID 125
#define DPFLTR_COVERAGE_ID 126
#define DPFLTR_CACHEMGR_ID 127
#define DPFLTR_MOUNTMGR_ID 128
#define DPFLTR_CFR_ID 129
#define DPFLTR_TXF_ID 130
#define DPFLTR_KSECDD_ID 131
#define DPFLTR_FLTREGRESS_ID 132
#define DPFLTR_MPIO_ID 133
#define DPFLTR_MSDSM_ID 134
#define DPFLTR_UDFS_ID 135
#define DPFLTR_PSHED_ID 136
#define DPFLTR_STORVSP_ID 137
#define DPFLTR_LSASS_ID 138
#define DPFLTR_SSPICLI_ID 139
#define DPFLTR_CNG_ID 140
#define DPFLTR_EXFAT_ID 141
#define DPFLTR_FILETRACE_ID 142
#define DPFLTR_XSAVE_ID 143
#define DPFLTR_SE_ID 144
#define DPFLTR_DRIVEEXTENDER_ID 145

/*
 * ntos keeps a filter mask for every id below this bound. Newer WDKs define ids
 * past DPFLTR_DRIVEEXTENDER_ID; they are accepted (and filtered like any other)
 * as long as they are below it. DbgQuery/DbgSetDebugFilterState return
 * STATUS_INVALID_PARAMETER_1 for larger ids, and DbgPrintEx drops their messages.
 */
#define NTOS_KD_COMPONENT_COUNT 256

/* ComponentId addressing the system-wide (WIN2000) mask in Dbg{Query,Set}DebugFilterState. */
#define NTOS_DPFLTR_SYSTEM_WIDE_ID ((ULONG)-1)

/* Initial masks (see above). */
#define NTOS_KD_DEFAULT_SYSTEM_WIDE_MASK 0x00000001UL
#define NTOS_KD_DEFAULT_COMPONENT_MASK 0x0000000fUL

/* Bytes of one message that are transmitted, as documented for DbgPrint. */
#define NTOS_KD_PRINT_MAX_LENGTH 512

/* ---- routines --------------------------------------------------------------------
 * Callable at any IRQL <= DIRQL (all format codes included: ntos converts wide
 * characters without paged NLS tables). They return STATUS_SUCCESS whether or not
 * the message passed the filter. */
NTSYSAPI ULONG NTAPI DbgPrint(PCSTR Format, ...);
NTSYSAPI ULONG NTAPI DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
NTSYSAPI ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, NT_VA_LIST ap);
NTSYSAPI ULONG NTAPI vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level, PCSTR Format,
                                           NT_VA_LIST ap);

/* Returns TRUE (as an NTSTATUS) when a message of this component and level would
 * be shown, FALSE when not, STATUS_INVALID_PARAMETER_1 for an unknown component. */
NTSYSAPI NTSTATUS NTAPI DbgQueryDebugFilterState(ULONG ComponentId, ULONG Level);
/* Sets (State TRUE) or clears the level's bits in the component's mask; Level is
 * interpreted as for DbgPrintEx. STATUS_INVALID_PARAMETER_1 for an unknown component. */
NTSYSAPI NTSTATUS NTAPI DbgSetDebugFilterState(ULONG ComponentId, ULONG Level, BOOLEAN State);

/* ---- kernel-internal output hook --------------------------------------------------
 * Text is the formatted message (NUL-terminated for convenience; Length excludes
 * the NUL). While a hook is installed, output goes to it instead of the console.
 * Returns the previous hook; NULL restores console output. */
typedef VOID (*PKD_PRINT_HOOK)(PCSTR Text, ULONG Length);
PKD_PRINT_HOOK KdpSetPrintHook(PKD_PRINT_HOOK Hook);

#endif /* NTOS_DBG_H */
