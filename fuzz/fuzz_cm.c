/*
 * libFuzzer harness for the configuration manager (src/cm).
 *
 * The hosted kernel boots once, on the first input. The first byte picks
 * the mode:
 *
 *  even: the .reg parser. The rest of the input is .reg text, imported with
 *        its \REGISTRY redirected to \REGISTRY\MACHINE\FuzzReg (so nothing
 *        lands outside it unless a link the input made points out). Whatever
 *        was imported is exported (E1), the sandbox deleted, E1 imported
 *        again and exported (E2): E1 must equal E2 byte for byte, and must
 *        import without error. Then the sandbox is deleted and, unless the
 *        input made links (which may lead anywhere), the registry's pool
 *        tags must be back to their counts before the input.
 *
 *  odd:  key operations against a reference model. Records of an op byte
 *        and its parameters (bytes past the end read as zero) create,
 *        delete and rename keys, set, delete, query and enumerate values,
 *        enumerate subkeys and query key information under
 *        \REGISTRY\MACHINE\FuzzOps, on a tree of at most 24 keys whose names
 *        come from a small alphabet with case variants. The model is a list
 *        of keys (parent, name) with their values; every status, result
 *        length, returned name, value type and data, and count is predicted
 *        from it and checked. At the end the tree is deleted and the pool
 *        tags must be back to their counts before the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <host.h>
#include <ntos/cm.h>
#include <ntos/ex_pool.h>
#include <ntos/rtl.h>

#include "fuzz_input.h"

static const ULONG g_tags[] = {0x794b6d43, 0x61566d43, 0x6d4e6d43, 0x70546d43, 0x78456d43, 0x6c526d43};

static void boot_once(void)
{
    static int booted;
    if (booted)
        return;
    booted = 1;
    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    host_boot(&config);
}

static LONG64 tag_live(ULONG tag)
{
    ULONG64 a = 0, f = 0, a2 = 0, f2 = 0;
    ExQueryPoolTagUsage(tag, PagedPool, &a, &f, NULL);
    ExQueryPoolTagUsage(tag, NonPagedPool, &a2, &f2, NULL);
    return (LONG64)(a + a2) - (LONG64)(f + f2);
}

static void snapshot(LONG64 *out)
{
    for (size_t i = 0; i < sizeof(g_tags) / sizeof(g_tags[0]); i++)
        out[i] = tag_live(g_tags[i]);
}

static void check_snapshot(const LONG64 *before)
{
    LONG64 now[sizeof(g_tags) / sizeof(g_tags[0])];
    snapshot(now);
    for (size_t i = 0; i < sizeof(g_tags) / sizeof(g_tags[0]); i++) {
        if (now[i] != before[i])
            fprintf(stderr, "tag %08x: %lld live before, %lld after\n", g_tags[i], (long long)before[i],
                    (long long)now[i]);
        CHECK(now[i] == before[i]);
    }
}

static void import_text(const char *text, NTSTATUS expect)
{
    ULONG line;
    NTSTATUS st = CmImportRegistryText(text, strlen(text), NULL, &line);
    CHECK(st == expect);
}

static int export_path(PCWSTR path, char **out, size_t *len)
{
    UNICODE_STRING p;
    RtlInitUnicodeString(&p, path);
    PCHAR text;
    SIZE_T n;
    NTSTATUS st = CmExportRegistryText(&p, &text, &n);
    if (st == STATUS_OBJECT_NAME_NOT_FOUND)
        return 0;
    CHECK(st == STATUS_SUCCESS);
    *out = malloc(n + 1);
    memcpy(*out, text, n);
    (*out)[n] = 0;
    *len = n;
    ExFreePool(text);
    return 1;
}

/* ---- mode 0: the parser --------------------------------------------------------------------- */

static void fuzz_parser(const uint8_t *data, size_t size)
{
    int links = 0;
    for (size_t i = 0; i + 5 < size; i++)
        if (strncasecmp((const char *)data + i, "hex(6", 5) == 0)
            links = 1;
    /* UTF-16 input can spell it too; any 0x36 after "(" is treated as a possible link. */
    if (size >= 2 && data[0] == 0xFF && data[1] == 0xFE)
        links = 1;
    LONG64 before[sizeof(g_tags) / sizeof(g_tags[0])];
    snapshot(before);

    UNICODE_STRING redirect;
    RtlInitUnicodeString(&redirect, L"\\REGISTRY\\MACHINE\\FuzzReg");
    ULONG line;
    (void)CmImportRegistryText((const char *)data, size, &redirect, &line);

    char *e1 = NULL, *e2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (export_path(L"\\REGISTRY\\MACHINE\\FuzzReg", &e1, &l1)) {
        import_text("Windows Registry Editor Version 5.00\n[-HKEY_LOCAL_MACHINE\\FuzzReg]\n", STATUS_SUCCESS);
        ULONG l;
        NTSTATUS st = CmImportRegistryText(e1, l1, NULL, &l);
        if (st != STATUS_SUCCESS)
            fprintf(stderr, "re-import of the export failed at line %u (0x%08x):\n%s\n", l, st, e1);
        CHECK(st == STATUS_SUCCESS);
        CHECK(export_path(L"\\REGISTRY\\MACHINE\\FuzzReg", &e2, &l2));
        if (l1 != l2 || memcmp(e1, e2, l1) != 0)
            fprintf(stderr, "export differs after a round trip:\n--- first\n%s\n--- second\n%s\n", e1, e2);
        CHECK(l1 == l2 && memcmp(e1, e2, l1) == 0);
    }
    free(e1);
    free(e2);
    import_text("Windows Registry Editor Version 5.00\n[-HKEY_LOCAL_MACHINE\\FuzzReg]\n", STATUS_SUCCESS);
    if (!links)
        check_snapshot(before);
}

/* ---- mode 1: operations against a model ----------------------------------------------------- */

#define MAX_KEYS 24
#define MAX_VALUES 6
#define MAX_DATA 40

typedef struct {
    char Name[8];
    ULONG Type;
    uint8_t Data[MAX_DATA];
    ULONG Length;
} mvalue;

typedef struct {
    int Used;
    int Parent; /* -1: the sandbox root */
    char Name[8];
    mvalue Values[MAX_VALUES];
    int ValueCount;
} mkey;

static mkey g_keys[MAX_KEYS];
static mkey g_root; /* the values of the sandbox root */
static const char *const g_names[] = {"a", "A", "b", "B", "ab", "Ab", "c", "zz"};
static const char *const g_vnames[] = {"", "v", "V", "w", "Wx", "vv"};

static int path_of(int k, WCHAR *out, size_t cap)
{
    int chain[MAX_KEYS + 1], n = 0;
    for (int i = k; i >= 0; i = g_keys[i].Parent)
        chain[n++] = i;
    size_t o = 0;
    const char *root = "\\REGISTRY\\MACHINE\\FuzzOps";
    for (const char *p = root; *p; p++)
        out[o++] = (WCHAR)*p;
    for (int i = n - 1; i >= 0; i--) {
        out[o++] = L'\\';
        for (const char *p = g_keys[chain[i]].Name; *p; p++)
            out[o++] = (WCHAR)*p;
    }
    CHECK(o < cap);
    out[o] = 0;
    return (int)o;
}

static int find_child(int parent, const char *name)
{
    for (int i = 0; i < MAX_KEYS; i++)
        if (g_keys[i].Used && g_keys[i].Parent == parent && strcasecmp(g_keys[i].Name, name) == 0)
            return i;
    return -1;
}

static int child_count(int parent)
{
    int n = 0;
    for (int i = 0; i < MAX_KEYS; i++)
        n += g_keys[i].Used && g_keys[i].Parent == parent;
    return n;
}

static int cmp_ci(const void *a, const void *b)
{
    return strcasecmp(g_keys[*(const int *)a].Name, g_keys[*(const int *)b].Name);
}

static NTSTATUS open_key(int k, HANDLE *h)
{
    WCHAR path[256];
    path_of(k, path, 256);
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, path);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    return ZwOpenKey(h, KEY_ALL_ACCESS, &oa);
}

static void to_wide(const char *s, WCHAR *w, UNICODE_STRING *us)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        w[i] = (WCHAR)s[i];
    w[n] = 0;
    us->Buffer = w;
    us->Length = (USHORT)(n * 2);
    us->MaximumLength = (USHORT)(n * 2 + 2);
}

static int pick_key(reader *r)
{
    /* An existing key (or the sandbox root, -1). */
    int live[MAX_KEYS + 1], n = 0;
    live[n++] = -1;
    for (int i = 0; i < MAX_KEYS; i++)
        if (g_keys[i].Used)
            live[n++] = i;
    return live[rd_u8(r) % n];
}

static void fuzz_ops(const uint8_t *data, size_t size)
{
    memset(g_keys, 0, sizeof(g_keys));
    memset(&g_root, 0, sizeof(g_root));
    LONG64 before[sizeof(g_tags) / sizeof(g_tags[0])];
    snapshot(before);
    import_text("Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\FuzzOps]\n", STATUS_SUCCESS);
    reader r = {data, size};
    for (int step = 0; step < 200 && r.n > 0; step++) {
        uint8_t op = rd_u8(&r) % 8;
        int k = pick_key(&r);
        HANDLE h;
        if (k >= 0 && !g_keys[k].Used)
            continue;
        NTSTATUS st = open_key(k, &h);
        CHECK(st == STATUS_SUCCESS);
        mkey *m = k >= 0 ? &g_keys[k] : &g_root;
        switch (op) {
        case 0: { /* create a subkey */
            const char *name = g_names[rd_u8(&r) % 8];
            WCHAR w[8];
            UNICODE_STRING us;
            to_wide(name, w, &us);
            OBJECT_ATTRIBUTES oa;
            InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, h, NULL);
            HANDLE c;
            ULONG disp = 0;
            int existing = find_child(k, name);
            int slot = -1;
            for (int i = 0; i < MAX_KEYS && existing < 0; i++)
                if (!g_keys[i].Used) {
                    slot = i;
                    break;
                }
            if (existing < 0 && slot < 0)
                break;
            st = ZwCreateKey(&c, KEY_ALL_ACCESS, &oa, 0, NULL, 0, &disp);
            CHECK(st == STATUS_SUCCESS);
            CHECK(disp == (existing >= 0 ? REG_OPENED_EXISTING_KEY : REG_CREATED_NEW_KEY));
            ZwClose(c);
            if (existing < 0) {
                memset(&g_keys[slot], 0, sizeof(g_keys[slot]));
                g_keys[slot].Used = 1;
                g_keys[slot].Parent = k;
                strcpy(g_keys[slot].Name, name);
            }
            break;
        }
        case 1: { /* delete (not the sandbox itself) */
            if (k < 0)
                break;
            st = ZwDeleteKey(h);
            if (child_count(k) > 0) {
                CHECK(st == STATUS_CANNOT_DELETE);
            } else {
                CHECK(st == STATUS_SUCCESS);
                g_keys[k].Used = 0;
                /* The handle now names a deleted key. */
                ULONG rl;
                KEY_BASIC_INFORMATION b;
                CHECK(ZwQueryKey(h, KeyBasicInformation, &b, sizeof(b), &rl) == STATUS_KEY_DELETED);
            }
            break;
        }
        case 2: { /* set a value */
            mvalue v;
            memset(&v, 0, sizeof(v));
            strcpy(v.Name, g_vnames[rd_u8(&r) % 6]);
            v.Type = rd_u8(&r) % 12;
            v.Length = rd_u8(&r) % MAX_DATA;
            for (ULONG i = 0; i < v.Length; i++)
                v.Data[i] = rd_u8(&r);
            WCHAR w[8];
            UNICODE_STRING us;
            to_wide(v.Name, w, &us);
            CHECK(ZwSetValueKey(h, &us, 0, v.Type, v.Data, v.Length) == STATUS_SUCCESS);
            int found = 0;
            for (int i = 0; i < m->ValueCount; i++)
                if (strcasecmp(m->Values[i].Name, v.Name) == 0) {
                    strcpy(v.Name, m->Values[i].Name); /* the stored name keeps its case */
                    m->Values[i] = v;
                    found = 1;
                }
            if (!found) {
                if (m->ValueCount == MAX_VALUES) {
                    /* The model is full: undo in the kernel too. */
                    CHECK(ZwDeleteValueKey(h, &us) == STATUS_SUCCESS);
                } else {
                    m->Values[m->ValueCount++] = v;
                }
            }
            break;
        }
        case 3: { /* delete a value */
            const char *name = g_vnames[rd_u8(&r) % 6];
            WCHAR w[8];
            UNICODE_STRING us;
            to_wide(name, w, &us);
            st = ZwDeleteValueKey(h, &us);
            int at = -1;
            for (int i = 0; i < m->ValueCount; i++)
                if (strcasecmp(m->Values[i].Name, name) == 0)
                    at = i;
            CHECK(st == (at >= 0 ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND));
            if (at >= 0) {
                memmove(&m->Values[at], &m->Values[at + 1], (m->ValueCount - at - 1) * sizeof(mvalue));
                m->ValueCount--;
            }
            break;
        }
        case 4: { /* query a value, partial information, any buffer size */
            const char *name = g_vnames[rd_u8(&r) % 6];
            ULONG len = rd_u8(&r) % 64;
            WCHAR w[8];
            UNICODE_STRING us;
            to_wide(name, w, &us);
            uint8_t buf[64 + 16];
            ULONG rl = 0xDEAD;
            st = ZwQueryValueKey(h, &us, KeyValuePartialInformation, buf, len, &rl);
            mvalue *v = NULL;
            for (int i = 0; i < m->ValueCount; i++)
                if (strcasecmp(m->Values[i].Name, name) == 0)
                    v = &m->Values[i];
            if (v == NULL) {
                CHECK(st == STATUS_OBJECT_NAME_NOT_FOUND);
                break;
            }
            ULONG need = 12 + v->Length;
            CHECK(rl == need);
            if (len < 12) {
                CHECK(st == STATUS_BUFFER_TOO_SMALL);
            } else {
                PKEY_VALUE_PARTIAL_INFORMATION p = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
                CHECK(p->Type == v->Type && p->DataLength == v->Length);
                if (len < need) {
                    CHECK(st == STATUS_BUFFER_OVERFLOW);
                } else {
                    CHECK(st == STATUS_SUCCESS);
                    CHECK(memcmp(p->Data, v->Data, v->Length) == 0);
                }
            }
            break;
        }
        case 5: { /* enumerate values: order and names */
            for (ULONG i = 0;; i++) {
                uint8_t buf[128];
                ULONG rl;
                st = ZwEnumerateValueKey(h, i, KeyValueBasicInformation, buf, sizeof(buf), &rl);
                if (i >= (ULONG)m->ValueCount) {
                    CHECK(st == STATUS_NO_MORE_ENTRIES);
                    break;
                }
                CHECK(st == STATUS_SUCCESS);
                PKEY_VALUE_BASIC_INFORMATION b = (PKEY_VALUE_BASIC_INFORMATION)buf;
                CHECK(b->NameLength == strlen(m->Values[i].Name) * 2);
                for (ULONG c = 0; c < b->NameLength / 2; c++)
                    CHECK(b->Name[c] == (WCHAR)m->Values[i].Name[c]);
                CHECK(b->Type == m->Values[i].Type);
            }
            break;
        }
        case 6: { /* enumerate subkeys in sorted order, and full information */
            int kids[MAX_KEYS], n = 0;
            for (int i = 0; i < MAX_KEYS; i++)
                if (g_keys[i].Used && g_keys[i].Parent == k)
                    kids[n++] = i;
            qsort(kids, n, sizeof(int), cmp_ci);
            for (int i = 0; i <= n; i++) {
                uint8_t buf[128];
                ULONG rl;
                st = ZwEnumerateKey(h, i, KeyBasicInformation, buf, sizeof(buf), &rl);
                if (i == n) {
                    CHECK(st == STATUS_NO_MORE_ENTRIES);
                    break;
                }
                CHECK(st == STATUS_SUCCESS);
                PKEY_BASIC_INFORMATION b = (PKEY_BASIC_INFORMATION)buf;
                CHECK(b->NameLength == strlen(g_keys[kids[i]].Name) * 2);
                for (ULONG c = 0; c < b->NameLength / 2; c++)
                    CHECK(b->Name[c] == (WCHAR)g_keys[kids[i]].Name[c]);
            }
            KEY_FULL_INFORMATION f;
            ULONG rl;
            CHECK(ZwQueryKey(h, KeyFullInformation, &f, sizeof(f), &rl) == STATUS_SUCCESS);
            CHECK(f.SubKeys == (ULONG)n && f.Values == (ULONG)m->ValueCount);
            ULONG maxData = 0, maxName = 0;
            for (int i = 0; i < m->ValueCount; i++) {
                if (m->Values[i].Length > maxData)
                    maxData = m->Values[i].Length;
                if (strlen(m->Values[i].Name) * 2 > maxName)
                    maxName = (ULONG)strlen(m->Values[i].Name) * 2;
            }
            CHECK(f.MaxValueDataLen == maxData && f.MaxValueNameLen == maxName);
            break;
        }
        case 7: { /* rename */
            const char *name = g_names[rd_u8(&r) % 8];
            WCHAR w[8];
            UNICODE_STRING us;
            to_wide(name, w, &us);
            st = ZwRenameKey(h, &us);
            if (k < 0) {
                CHECK(st == STATUS_SUCCESS || st == STATUS_CANNOT_DELETE);
                if (st == STATUS_SUCCESS) {
                    /* The sandbox root itself was renamed: put it back. */
                    UNICODE_STRING back;
                    RtlInitUnicodeString(&back, L"FuzzOps");
                    CHECK(ZwRenameKey(h, &back) == STATUS_SUCCESS);
                }
                break;
            }
            int other = find_child(g_keys[k].Parent, name);
            if (other >= 0 && other != k) {
                CHECK(st == STATUS_CANNOT_DELETE);
            } else {
                CHECK(st == STATUS_SUCCESS);
                strcpy(g_keys[k].Name, name);
            }
            break;
        }
        }
        ZwClose(h);
    }
    memset(&g_keys, 0, sizeof(g_keys));
    import_text("Windows Registry Editor Version 5.00\n[-HKEY_LOCAL_MACHINE\\FuzzOps]\n", STATUS_SUCCESS);
    check_snapshot(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    boot_once();
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_ops(data + 1, size - 1);
    else
        fuzz_parser(data + 1, size - 1);
    return 0;
}
