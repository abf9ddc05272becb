/*
 * Configuration manager: the registry.
 *
 * Keys are objects of type Key under \REGISTRY (\REGISTRY\MACHINE,
 * \REGISTRY\USER); each open creates a key object (a "key body") that refers
 * to the key node kept in pool. Names compare case-insensitively, always.
 * What drivers see is documented (the Zw/Nt services, the information
 * classes, RTL_QUERY_REGISTRY_TABLE, the registry callback structures) and
 * pinned here to the x64 layout.
 *
 * IRQL: every service and Rtl helper at PASSIVE_LEVEL.
 */
#ifndef NTOS_CM_H
#define NTOS_CM_H

#include <ntos/ntdef.h>
#include <ntos/ob.h>
#include <ntos/io.h>

/* ---- access rights, options, dispositions -------------------------------------------------- */

#define KEY_QUERY_VALUE 0x0001
#define KEY_SET_VALUE 0x0002
#define KEY_CREATE_SUB_KEY 0x0004
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_NOTIFY 0x0010
#define KEY_CREATE_LINK 0x0020
#define KEY_WOW64_64KEY 0x0100
#define KEY_WOW64_32KEY 0x0200
#define KEY_WOW64_RES 0x0300
#define KEY_READ ((STANDARD_RIGHTS_READ | KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY) & ~SYNCHRONIZE)
#define KEY_WRITE ((STANDARD_RIGHTS_WRITE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY) & ~SYNCHRONIZE)
#define KEY_EXECUTE (KEY_READ & ~SYNCHRONIZE)
#define KEY_ALL_ACCESS                                                                                         \
    ((STANDARD_RIGHTS_ALL | KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY | KEY_ENUMERATE_SUB_KEYS |    \
      KEY_NOTIFY | KEY_CREATE_LINK) &                                                                          \
     ~SYNCHRONIZE)

#define REG_OPTION_RESERVED 0x00000000UL
#define REG_OPTION_NON_VOLATILE 0x00000000UL
#define REG_OPTION_VOLATILE 0x00000001UL
#define REG_OPTION_CREATE_LINK 0x00000002UL
#define REG_OPTION_BACKUP_RESTORE 0x00000004UL
#define REG_OPTION_OPEN_LINK 0x00000008UL
#define REG_OPTION_DONT_VIRTUALIZE 0x00000010UL
#define REG_LEGAL_OPTION                                                                                       \
    (REG_OPTION_RESERVED | REG_OPTION_NON_VOLATILE | REG_OPTION_VOLATILE | REG_OPTION_CREATE_LINK |           \
     REG_OPTION_BACKUP_RESTORE | REG_OPTION_OPEN_LINK | REG_OPTION_DONT_VIRTUALIZE)
#define REG_OPEN_LEGAL_OPTION                                                                                  \
    (REG_OPTION_RESERVED | REG_OPTION_BACKUP_RESTORE | REG_OPTION_OPEN_LINK | REG_OPTION_DONT_VIRTUALIZE)

#define REG_CREATED_NEW_KEY 0x00000001UL
#define REG_OPENED_EXISTING_KEY 0x00000002UL

#define REG_NOTIFY_CHANGE_NAME 0x00000001UL
#define REG_NOTIFY_CHANGE_ATTRIBUTES 0x00000002UL
#define REG_NOTIFY_CHANGE_LAST_SET 0x00000004UL
#define REG_NOTIFY_CHANGE_SECURITY 0x00000008UL
#define REG_NOTIFY_THREAD_AGNOSTIC 0x10000000UL
#define REG_LEGAL_CHANGE_FILTER                                                                                \
    (REG_NOTIFY_CHANGE_NAME | REG_NOTIFY_CHANGE_ATTRIBUTES | REG_NOTIFY_CHANGE_LAST_SET |                     \
     REG_NOTIFY_CHANGE_SECURITY | REG_NOTIFY_THREAD_AGNOSTIC)

/* ---- value types ------------------------------------------------------------------------------ */

#define REG_NONE 0
#define REG_SZ 1
#define REG_EXPAND_SZ 2
#define REG_BINARY 3
#define REG_DWORD 4
#define REG_DWORD_LITTLE_ENDIAN 4
#define REG_DWORD_BIG_ENDIAN 5
#define REG_LINK 6
#define REG_MULTI_SZ 7
#define REG_RESOURCE_LIST 8
#define REG_FULL_RESOURCE_DESCRIPTOR 9
#define REG_RESOURCE_REQUIREMENTS_LIST 10
#define REG_QWORD 11
#define REG_QWORD_LITTLE_ENDIAN 11

/* ---- information classes ---------------------------------------------------------------------- */

typedef enum _KEY_INFORMATION_CLASS {
    KeyBasicInformation = 0,
    KeyNodeInformation = 1,
    KeyFullInformation = 2,
    KeyNameInformation = 3,
    KeyCachedInformation = 4,
    KeyFlagsInformation = 5,
    KeyVirtualizationInformation = 6,
    KeyHandleTagsInformation = 7,
    KeyTrustInformation = 8,
    KeyLayerInformation = 9,
    MaxKeyInfoClass = 10
} KEY_INFORMATION_CLASS;

typedef struct _KEY_BASIC_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG NameLength;
    WCHAR Name[1];
} KEY_BASIC_INFORMATION, *PKEY_BASIC_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_BASIC_INFORMATION, TitleIndex, 0x08);
NTOS_ASSERT_OFFSET(KEY_BASIC_INFORMATION, NameLength, 0x0C);
NTOS_ASSERT_OFFSET(KEY_BASIC_INFORMATION, Name, 0x10);
NTOS_ASSERT_SIZE(KEY_BASIC_INFORMATION, 0x18);

typedef struct _KEY_NODE_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG ClassOffset;
    ULONG ClassLength;
    ULONG NameLength;
    WCHAR Name[1];
} KEY_NODE_INFORMATION, *PKEY_NODE_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_NODE_INFORMATION, ClassOffset, 0x0C);
NTOS_ASSERT_OFFSET(KEY_NODE_INFORMATION, NameLength, 0x14);
NTOS_ASSERT_OFFSET(KEY_NODE_INFORMATION, Name, 0x18);
NTOS_ASSERT_SIZE(KEY_NODE_INFORMATION, 0x20);

typedef struct _KEY_FULL_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG ClassOffset;
    ULONG ClassLength;
    ULONG SubKeys;
    ULONG MaxNameLen;
    ULONG MaxClassLen;
    ULONG Values;
    ULONG MaxValueNameLen;
    ULONG MaxValueDataLen;
    WCHAR Class[1];
} KEY_FULL_INFORMATION, *PKEY_FULL_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_FULL_INFORMATION, SubKeys, 0x14);
NTOS_ASSERT_OFFSET(KEY_FULL_INFORMATION, Values, 0x20);
NTOS_ASSERT_OFFSET(KEY_FULL_INFORMATION, MaxValueDataLen, 0x28);
NTOS_ASSERT_OFFSET(KEY_FULL_INFORMATION, Class, 0x2C);
NTOS_ASSERT_SIZE(KEY_FULL_INFORMATION, 0x30);

typedef struct _KEY_NAME_INFORMATION {
    ULONG NameLength;
    WCHAR Name[1];
} KEY_NAME_INFORMATION, *PKEY_NAME_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_NAME_INFORMATION, Name, 0x04);
NTOS_ASSERT_SIZE(KEY_NAME_INFORMATION, 0x08);

typedef struct _KEY_CACHED_INFORMATION {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex;
    ULONG SubKeys;
    ULONG MaxNameLen;
    ULONG Values;
    ULONG MaxValueNameLen;
    ULONG MaxValueDataLen;
    ULONG NameLength;
} KEY_CACHED_INFORMATION, *PKEY_CACHED_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_CACHED_INFORMATION, SubKeys, 0x0C);
NTOS_ASSERT_OFFSET(KEY_CACHED_INFORMATION, NameLength, 0x20);
NTOS_ASSERT_SIZE(KEY_CACHED_INFORMATION, 0x28);

typedef enum _KEY_SET_INFORMATION_CLASS {
    KeyWriteTimeInformation = 0,
    KeyWow64FlagsInformation = 1,
    KeyControlFlagsInformation = 2,
    KeySetVirtualizationInformation = 3,
    KeySetDebugInformation = 4,
    KeySetHandleTagsInformation = 5,
    KeySetLayerInformation = 6,
    MaxKeySetInfoClass = 7
} KEY_SET_INFORMATION_CLASS;

typedef struct _KEY_WRITE_TIME_INFORMATION {
    LARGE_INTEGER LastWriteTime;
} KEY_WRITE_TIME_INFORMATION, *PKEY_WRITE_TIME_INFORMATION;

typedef enum _KEY_VALUE_INFORMATION_CLASS {
    KeyValueBasicInformation = 0,
    KeyValueFullInformation = 1,
    KeyValuePartialInformation = 2,
    KeyValueFullInformationAlign64 = 3,
    KeyValuePartialInformationAlign64 = 4,
    KeyValueLayerInformation = 5,
    MaxKeyValueInfoClass = 6
} KEY_VALUE_INFORMATION_CLASS;

typedef struct _KEY_VALUE_BASIC_INFORMATION {
    ULONG TitleIndex;
    ULONG Type;
    ULONG NameLength;
    WCHAR Name[1];
} KEY_VALUE_BASIC_INFORMATION, *PKEY_VALUE_BASIC_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name, 0x0C);
NTOS_ASSERT_SIZE(KEY_VALUE_BASIC_INFORMATION, 0x10);

typedef struct _KEY_VALUE_FULL_INFORMATION {
    ULONG TitleIndex;
    ULONG Type;
    ULONG DataOffset;
    ULONG DataLength;
    ULONG NameLength;
    WCHAR Name[1];
} KEY_VALUE_FULL_INFORMATION, *PKEY_VALUE_FULL_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_VALUE_FULL_INFORMATION, DataOffset, 0x08);
NTOS_ASSERT_OFFSET(KEY_VALUE_FULL_INFORMATION, Name, 0x14);
NTOS_ASSERT_SIZE(KEY_VALUE_FULL_INFORMATION, 0x18);

typedef struct _KEY_VALUE_PARTIAL_INFORMATION {
    ULONG TitleIndex;
    ULONG Type;
    ULONG DataLength;
    UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;
NTOS_ASSERT_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data, 0x0C);
NTOS_ASSERT_SIZE(KEY_VALUE_PARTIAL_INFORMATION, 0x10);

typedef struct _KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 {
    ULONG Type;
    ULONG DataLength;
    UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, *PKEY_VALUE_PARTIAL_INFORMATION_ALIGN64;
NTOS_ASSERT_OFFSET(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data, 0x08);
NTOS_ASSERT_SIZE(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, 0x0C);

typedef struct _KEY_VALUE_ENTRY {
    PUNICODE_STRING ValueName;
    ULONG DataLength;
    ULONG DataOffset;
    ULONG Type;
} KEY_VALUE_ENTRY, *PKEY_VALUE_ENTRY;
NTOS_ASSERT_SIZE(KEY_VALUE_ENTRY, 0x18);

/* ---- RtlQueryRegistryValues and friends ------------------------------------------------------ */

#define RTL_REGISTRY_ABSOLUTE 0
#define RTL_REGISTRY_SERVICES 1
#define RTL_REGISTRY_CONTROL 2
#define RTL_REGISTRY_WINDOWS_NT 3
#define RTL_REGISTRY_DEVICEMAP 4
#define RTL_REGISTRY_USER 5
#define RTL_REGISTRY_MAXIMUM 6
#define RTL_REGISTRY_HANDLE 0x40000000UL
#define RTL_REGISTRY_OPTIONAL 0x80000000UL

#define RTL_QUERY_REGISTRY_SUBKEY 0x00000001UL
#define RTL_QUERY_REGISTRY_TOPKEY 0x00000002UL
#define RTL_QUERY_REGISTRY_REQUIRED 0x00000004UL
#define RTL_QUERY_REGISTRY_NOVALUE 0x00000008UL
#define RTL_QUERY_REGISTRY_NOEXPAND 0x00000010UL
#define RTL_QUERY_REGISTRY_DIRECT 0x00000020UL
#define RTL_QUERY_REGISTRY_DELETE 0x00000040UL
#define RTL_QUERY_REGISTRY_NOSTRING 0x00000080UL
#define RTL_QUERY_REGISTRY_TYPECHECK 0x00000100UL
#define RTL_QUERY_REGISTRY_TYPECHECK_SHIFT 24
#define RTL_QUERY_REGISTRY_TYPECHECK_MASK (0xffUL << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT)

typedef NTSTATUS(NTAPI *PRTL_QUERY_REGISTRY_ROUTINE)(PWSTR ValueName, ULONG ValueType, PVOID ValueData,
                                                     ULONG ValueLength, PVOID Context, PVOID EntryContext);

typedef struct _RTL_QUERY_REGISTRY_TABLE {
    PRTL_QUERY_REGISTRY_ROUTINE QueryRoutine;
    ULONG Flags;
    PWSTR Name;
    PVOID EntryContext;
    ULONG DefaultType;
    PVOID DefaultData;
    ULONG DefaultLength;
} RTL_QUERY_REGISTRY_TABLE, *PRTL_QUERY_REGISTRY_TABLE;
NTOS_ASSERT_OFFSET(RTL_QUERY_REGISTRY_TABLE, Flags, 0x08);
NTOS_ASSERT_OFFSET(RTL_QUERY_REGISTRY_TABLE, Name, 0x10);
NTOS_ASSERT_OFFSET(RTL_QUERY_REGISTRY_TABLE, EntryContext, 0x18);
NTOS_ASSERT_OFFSET(RTL_QUERY_REGISTRY_TABLE, DefaultType, 0x20);
NTOS_ASSERT_OFFSET(RTL_QUERY_REGISTRY_TABLE, DefaultData, 0x28);
NTOS_ASSERT_OFFSET(RTL_QUERY_REGISTRY_TABLE, DefaultLength, 0x30);
NTOS_ASSERT_SIZE(RTL_QUERY_REGISTRY_TABLE, 0x38);

/* ---- registry callbacks ---------------------------------------------------------------------- */

typedef enum _REG_NOTIFY_CLASS {
    RegNtDeleteKey,
    RegNtPreDeleteKey = RegNtDeleteKey,
    RegNtSetValueKey,
    RegNtPreSetValueKey = RegNtSetValueKey,
    RegNtDeleteValueKey,
    RegNtPreDeleteValueKey = RegNtDeleteValueKey,
    RegNtSetInformationKey,
    RegNtPreSetInformationKey = RegNtSetInformationKey,
    RegNtRenameKey,
    RegNtPreRenameKey = RegNtRenameKey,
    RegNtEnumerateKey,
    RegNtPreEnumerateKey = RegNtEnumerateKey,
    RegNtEnumerateValueKey,
    RegNtPreEnumerateValueKey = RegNtEnumerateValueKey,
    RegNtQueryKey,
    RegNtPreQueryKey = RegNtQueryKey,
    RegNtQueryValueKey,
    RegNtPreQueryValueKey = RegNtQueryValueKey,
    RegNtQueryMultipleValueKey,
    RegNtPreQueryMultipleValueKey = RegNtQueryMultipleValueKey,
    RegNtPreCreateKey,
    RegNtPostCreateKey,
    RegNtPreOpenKey,
    RegNtPostOpenKey,
    RegNtKeyHandleClose,
    RegNtPreKeyHandleClose = RegNtKeyHandleClose,
    RegNtPostDeleteKey,
    RegNtPostSetValueKey,
    RegNtPostDeleteValueKey,
    RegNtPostSetInformationKey,
    RegNtPostRenameKey,
    RegNtPostEnumerateKey,
    RegNtPostEnumerateValueKey,
    RegNtPostQueryKey,
    RegNtPostQueryValueKey,
    RegNtPostQueryMultipleValueKey,
    RegNtPostKeyHandleClose,
    RegNtPreCreateKeyEx,
    RegNtPostCreateKeyEx,
    RegNtPreOpenKeyEx,
    RegNtPostOpenKeyEx,
    RegNtPreFlushKey,
    RegNtPostFlushKey,
    RegNtPreLoadKey,
    RegNtPostLoadKey,
    RegNtPreUnLoadKey,
    RegNtPostUnLoadKey,
    RegNtPreQueryKeySecurity,
    RegNtPostQueryKeySecurity,
    RegNtPreSetKeySecurity,
    RegNtPostSetKeySecurity,
    RegNtCallbackObjectContextCleanup,
    RegNtPreRestoreKey,
    RegNtPostRestoreKey,
    RegNtPreSaveKey,
    RegNtPostSaveKey,
    RegNtPreReplaceKey,
    RegNtPostReplaceKey,
    RegNtPreQueryKeyName,
    RegNtPostQueryKeyName,
    MaxRegNtNotifyClass
} REG_NOTIFY_CLASS, *PREG_NOTIFY_CLASS;
_Static_assert(RegNtPreCreateKeyEx == 26 && RegNtPostFlushKey == 31 && MaxRegNtNotifyClass == 49,
               "REG_NOTIFY_CLASS values");

typedef NTSTATUS(NTAPI EX_CALLBACK_FUNCTION)(PVOID CallbackContext, PVOID Argument1, PVOID Argument2);
typedef EX_CALLBACK_FUNCTION *PEX_CALLBACK_FUNCTION;

typedef struct _REG_DELETE_KEY_INFORMATION {
    PVOID Object;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_DELETE_KEY_INFORMATION, *PREG_DELETE_KEY_INFORMATION, REG_FLUSH_KEY_INFORMATION,
    *PREG_FLUSH_KEY_INFORMATION;
NTOS_ASSERT_SIZE(REG_DELETE_KEY_INFORMATION, 0x20);

typedef struct _REG_SET_VALUE_KEY_INFORMATION {
    PVOID Object;
    PUNICODE_STRING ValueName;
    ULONG TitleIndex;
    ULONG Type;
    PVOID Data;
    ULONG DataSize;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_SET_VALUE_KEY_INFORMATION, *PREG_SET_VALUE_KEY_INFORMATION;
NTOS_ASSERT_OFFSET(REG_SET_VALUE_KEY_INFORMATION, Type, 0x14);
NTOS_ASSERT_OFFSET(REG_SET_VALUE_KEY_INFORMATION, Data, 0x18);
NTOS_ASSERT_OFFSET(REG_SET_VALUE_KEY_INFORMATION, CallContext, 0x28);
NTOS_ASSERT_SIZE(REG_SET_VALUE_KEY_INFORMATION, 0x40);

typedef struct _REG_DELETE_VALUE_KEY_INFORMATION {
    PVOID Object;
    PUNICODE_STRING ValueName;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_DELETE_VALUE_KEY_INFORMATION, *PREG_DELETE_VALUE_KEY_INFORMATION;
NTOS_ASSERT_SIZE(REG_DELETE_VALUE_KEY_INFORMATION, 0x28);

typedef struct _REG_SET_INFORMATION_KEY_INFORMATION {
    PVOID Object;
    KEY_SET_INFORMATION_CLASS KeySetInformationClass;
    PVOID KeySetInformation;
    ULONG KeySetInformationLength;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_SET_INFORMATION_KEY_INFORMATION, *PREG_SET_INFORMATION_KEY_INFORMATION;
NTOS_ASSERT_SIZE(REG_SET_INFORMATION_KEY_INFORMATION, 0x38);

typedef struct _REG_ENUMERATE_KEY_INFORMATION {
    PVOID Object;
    ULONG Index;
    KEY_INFORMATION_CLASS KeyInformationClass;
    PVOID KeyInformation;
    ULONG Length;
    PULONG ResultLength;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_ENUMERATE_KEY_INFORMATION, *PREG_ENUMERATE_KEY_INFORMATION;
NTOS_ASSERT_OFFSET(REG_ENUMERATE_KEY_INFORMATION, KeyInformation, 0x10);
NTOS_ASSERT_OFFSET(REG_ENUMERATE_KEY_INFORMATION, ResultLength, 0x20);
NTOS_ASSERT_SIZE(REG_ENUMERATE_KEY_INFORMATION, 0x40);

typedef struct _REG_ENUMERATE_VALUE_KEY_INFORMATION {
    PVOID Object;
    ULONG Index;
    KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass;
    PVOID KeyValueInformation;
    ULONG Length;
    PULONG ResultLength;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_ENUMERATE_VALUE_KEY_INFORMATION, *PREG_ENUMERATE_VALUE_KEY_INFORMATION;
NTOS_ASSERT_SIZE(REG_ENUMERATE_VALUE_KEY_INFORMATION, 0x40);

typedef struct _REG_QUERY_KEY_INFORMATION {
    PVOID Object;
    KEY_INFORMATION_CLASS KeyInformationClass;
    PVOID KeyInformation;
    ULONG Length;
    PULONG ResultLength;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_QUERY_KEY_INFORMATION, *PREG_QUERY_KEY_INFORMATION;
NTOS_ASSERT_OFFSET(REG_QUERY_KEY_INFORMATION, KeyInformation, 0x10);
NTOS_ASSERT_SIZE(REG_QUERY_KEY_INFORMATION, 0x40);

typedef struct _REG_QUERY_VALUE_KEY_INFORMATION {
    PVOID Object;
    PUNICODE_STRING ValueName;
    KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass;
    PVOID KeyValueInformation;
    ULONG Length;
    PULONG ResultLength;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_QUERY_VALUE_KEY_INFORMATION, *PREG_QUERY_VALUE_KEY_INFORMATION;
NTOS_ASSERT_OFFSET(REG_QUERY_VALUE_KEY_INFORMATION, KeyValueInformation, 0x18);
NTOS_ASSERT_SIZE(REG_QUERY_VALUE_KEY_INFORMATION, 0x48);

typedef struct _REG_RENAME_KEY_INFORMATION {
    PVOID Object;
    PUNICODE_STRING NewName;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_RENAME_KEY_INFORMATION, *PREG_RENAME_KEY_INFORMATION;
NTOS_ASSERT_SIZE(REG_RENAME_KEY_INFORMATION, 0x28);

typedef struct _REG_CREATE_KEY_INFORMATION {
    PUNICODE_STRING CompleteName;
    PVOID RootObject;
    PVOID ObjectType;
    ULONG CreateOptions;
    PUNICODE_STRING Class;
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
    ACCESS_MASK DesiredAccess;
    ACCESS_MASK GrantedAccess;
    PULONG Disposition;
    PVOID *ResultObject;
    PVOID CallContext;
    PVOID RootObjectContext;
    PVOID Transaction;
    PVOID Reserved;
} REG_CREATE_KEY_INFORMATION, REG_OPEN_KEY_INFORMATION, *PREG_CREATE_KEY_INFORMATION,
    *PREG_OPEN_KEY_INFORMATION;
NTOS_ASSERT_OFFSET(REG_CREATE_KEY_INFORMATION, CreateOptions, 0x18);
NTOS_ASSERT_OFFSET(REG_CREATE_KEY_INFORMATION, DesiredAccess, 0x38);
NTOS_ASSERT_OFFSET(REG_CREATE_KEY_INFORMATION, Disposition, 0x40);
NTOS_ASSERT_OFFSET(REG_CREATE_KEY_INFORMATION, CallContext, 0x50);
NTOS_ASSERT_SIZE(REG_CREATE_KEY_INFORMATION, 0x70);

typedef struct _REG_POST_OPERATION_INFORMATION {
    PVOID Object;
    NTSTATUS Status;
    PVOID PreInformation;
    NTSTATUS ReturnStatus;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_POST_OPERATION_INFORMATION, *PREG_POST_OPERATION_INFORMATION;
NTOS_ASSERT_OFFSET(REG_POST_OPERATION_INFORMATION, Status, 0x08);
NTOS_ASSERT_OFFSET(REG_POST_OPERATION_INFORMATION, PreInformation, 0x10);
NTOS_ASSERT_OFFSET(REG_POST_OPERATION_INFORMATION, ReturnStatus, 0x18);
NTOS_ASSERT_SIZE(REG_POST_OPERATION_INFORMATION, 0x38);

typedef struct _REG_KEY_HANDLE_CLOSE_INFORMATION {
    PVOID Object;
    PVOID CallContext;
    PVOID ObjectContext;
    PVOID Reserved;
} REG_KEY_HANDLE_CLOSE_INFORMATION, *PREG_KEY_HANDLE_CLOSE_INFORMATION;

/*
 * Callbacks run at PASSIVE_LEVEL with no registry lock held, so they may
 * use the registry themselves. Pre-notifications go from the highest
 * altitude down; a pre-callback that fails ends the operation with its
 * status (only the callbacks already called get the post-notification);
 * STATUS_CALLBACK_BYPASS from a pre-callback of a value or key operation
 * (not create/open) skips the operation and returns STATUS_SUCCESS.
 * Post-notifications go from the lowest altitude up.
 */
NTKERNELAPI NTSTATUS NTAPI CmRegisterCallbackEx(PEX_CALLBACK_FUNCTION Function, PCUNICODE_STRING Altitude,
                                                PVOID Driver, PVOID Context, PLARGE_INTEGER Cookie,
                                                PVOID Reserved);
NTKERNELAPI NTSTATUS NTAPI CmRegisterCallback(PEX_CALLBACK_FUNCTION Function, PVOID Context,
                                              PLARGE_INTEGER Cookie);
NTKERNELAPI NTSTATUS NTAPI CmUnRegisterCallback(LARGE_INTEGER Cookie);

/* ---- Zw/Nt services -------------------------------------------------------------------------- */

extern POBJECT_TYPE CmKeyObjectType;

NTSYSAPI NTSTATUS NTAPI ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                    ULONG TitleIndex, PUNICODE_STRING Class, ULONG CreateOptions,
                                    PULONG Disposition);
NTSYSAPI NTSTATUS NTAPI NtCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                    ULONG TitleIndex, PUNICODE_STRING Class, ULONG CreateOptions,
                                    PULONG Disposition);
NTSYSAPI NTSTATUS NTAPI ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                    ULONG OpenOptions);
NTSYSAPI NTSTATUS NTAPI NtOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                    ULONG OpenOptions);
NTSYSAPI NTSTATUS NTAPI ZwDeleteKey(HANDLE KeyHandle);
NTSYSAPI NTSTATUS NTAPI NtDeleteKey(HANDLE KeyHandle);
NTSYSAPI NTSTATUS NTAPI ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type,
                                      PVOID Data, ULONG DataSize);
NTSYSAPI NTSTATUS NTAPI NtSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type,
                                      PVOID Data, ULONG DataSize);
NTSYSAPI NTSTATUS NTAPI ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                                        KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                        PVOID KeyValueInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI NtQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                                        KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                        PVOID KeyValueInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName);
NTSYSAPI NTSTATUS NTAPI NtDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName);
NTSYSAPI NTSTATUS NTAPI ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass,
                                       PVOID KeyInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI NtEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass,
                                       PVOID KeyInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                                            KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                            PVOID KeyValueInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI NtEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                                            KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                            PVOID KeyValueInformation, ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                                   ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI NtQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                                   ULONG Length, PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI ZwSetInformationKey(HANDLE KeyHandle, KEY_SET_INFORMATION_CLASS KeySetInformationClass,
                                            PVOID KeySetInformation, ULONG KeySetInformationLength);
NTSYSAPI NTSTATUS NTAPI ZwFlushKey(HANDLE KeyHandle);
NTSYSAPI NTSTATUS NTAPI NtFlushKey(HANDLE KeyHandle);
NTSYSAPI NTSTATUS NTAPI ZwRenameKey(HANDLE KeyHandle, PUNICODE_STRING NewName);
NTSYSAPI NTSTATUS NTAPI NtRenameKey(HANDLE KeyHandle, PUNICODE_STRING NewName);
/*
 * Event: optional event handle signalled on completion. ApcRoutine from a
 * kernel-mode caller may be a PWORK_QUEUE_ITEM with ApcContext the
 * WORK_QUEUE_TYPE (the documented work-item form); it is queued on change.
 * Asynchronous FALSE waits for the change and returns its status; TRUE
 * returns STATUS_PENDING and completes IoStatusBlock later. A change
 * completes with STATUS_SUCCESS, closing the last handle with
 * STATUS_NOTIFY_CLEANUP, deleting the key with STATUS_KEY_DELETED.
 * Buffer must be NULL (no change data is returned, as on Windows).
 */
NTSYSAPI NTSTATUS NTAPI ZwNotifyChangeKey(HANDLE KeyHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                                          PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG CompletionFilter,
                                          BOOLEAN WatchTree, PVOID Buffer, ULONG BufferSize, BOOLEAN Asynchronous);
NTSYSAPI NTSTATUS NTAPI NtNotifyChangeKey(HANDLE KeyHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                                          PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG CompletionFilter,
                                          BOOLEAN WatchTree, PVOID Buffer, ULONG BufferSize, BOOLEAN Asynchronous);

/* ---- Rtl registry helpers ------------------------------------------------------------------- */

NTSYSAPI NTSTATUS NTAPI RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path, PRTL_QUERY_REGISTRY_TABLE QueryTable,
                                               PVOID Context, PVOID Environment);
NTSYSAPI NTSTATUS NTAPI RtlQueryRegistryValuesEx(ULONG RelativeTo, PCWSTR Path,
                                                 PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                                 PVOID Environment);
NTSYSAPI NTSTATUS NTAPI RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName, ULONG ValueType,
                                              PVOID ValueData, ULONG ValueLength);
NTSYSAPI NTSTATUS NTAPI RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName);
NTSYSAPI NTSTATUS NTAPI RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path);
NTSYSAPI NTSTATUS NTAPI RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path);

/* ---- kernel-internal ------------------------------------------------------------------------ */

/*
 * The .reg text the registry is seeded from at boot. The backend hands it
 * over before phase 1 (QEMU: a boot module; host: the file named by
 * NTOS_REGISTRY_FILE). Without one, CmInitSystem uses the copy of
 * data/registry/default.reg compiled into the image. The text must stay
 * valid until CmInitSystem returns.
 */
VOID CmSetBootRegistryText(PCSTR Text, SIZE_T Length);
/* Boot: creates the Key type, \REGISTRY with MACHINE and USER, seeds from .reg. */
NTSTATUS CmInitSystem(void);

/*
 * Imports REGEDIT4 / "Windows Registry Editor Version 5.00" text (UTF-8 or
 * UTF-16LE with BOM). RedirectRoot, when given, replaces "\REGISTRY" in every
 * key path (so a test or fuzzer can import into a sandbox). A syntax error
 * returns STATUS_INVALID_PARAMETER with *ErrorLine (optional) set to its
 * 1-based line; what came before it stays imported.
 */
NTSTATUS CmImportRegistryText(PCSTR Text, SIZE_T Length, PCUNICODE_STRING RedirectRoot, PULONG ErrorLine);
/*
 * Writes the subtree at KeyPath (absolute, "\REGISTRY\..."; links are
 * written as links, not followed) as "Windows Registry Editor Version 5.00"
 * text in UTF-8 to a pool buffer (tag 'CmEx') the caller frees with
 * ExFreePool. Keys under \REGISTRY\MACHINE and \REGISTRY\USER are named
 * HKEY_LOCAL_MACHINE / HKEY_USERS, anything else by its NT path.
 */
NTSTATUS CmExportRegistryText(PCUNICODE_STRING KeyPath, PCHAR *Text, PSIZE_T Length);

/* What the I/O manager's ZwLoadDriver needs from a service key. */
typedef struct _CM_SERVICE_INFORMATION {
    ULONG Type;         /* SERVICE_KERNEL_DRIVER (1), SERVICE_FILE_SYSTEM_DRIVER (2), ... */
    ULONG Start;        /* SERVICE_BOOT_START (0) .. SERVICE_DISABLED (4) */
    ULONG ErrorControl; /* 0 when absent */
    UNICODE_STRING ServiceName;  /* last component of the key path */
    UNICODE_STRING ImagePath;    /* as stored (REG_EXPAND_SZ, unexpanded); empty when absent */
    UNICODE_STRING Group;        /* empty when absent */
    UNICODE_STRING ParametersKey; /* full path of <service>\Parameters; empty if there is none */
} CM_SERVICE_INFORMATION, *PCM_SERVICE_INFORMATION;
#define SERVICE_KERNEL_DRIVER 0x00000001
#define SERVICE_FILE_SYSTEM_DRIVER 0x00000002
#define SERVICE_BOOT_START 0x00000000
#define SERVICE_SYSTEM_START 0x00000001
#define SERVICE_AUTO_START 0x00000002
#define SERVICE_DEMAND_START 0x00000003
#define SERVICE_DISABLED 0x00000004
/*
 * Reads a service key ("\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\X").
 * Type and Start are required (STATUS_OBJECT_NAME_NOT_FOUND without them,
 * STATUS_OBJECT_TYPE_MISMATCH if not REG_DWORD). Strings are pool copies
 * released by CmFreeServiceInformation.
 */
NTSTATUS CmQueryServiceInformation(PCUNICODE_STRING ServiceKeyPath, PCM_SERVICE_INFORMATION Info);
VOID CmFreeServiceInformation(PCM_SERVICE_INFORMATION Info);

#endif /* NTOS_CM_H */
