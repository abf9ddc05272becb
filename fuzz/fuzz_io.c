/*
 * libFuzzer harness for the I/O manager (src/io): opens, reads, writes,
 * device controls, cancels and closes against \Device\Null, \Device\Loopback
 * and \Device\LoopbackFilter (include/ntos/loopback.h), through the Zw file
 * services.
 *
 * The hosted kernel is booted once (lazily, on the first input). Inputs run
 * in one executive worker thread made at boot (ZwCancelIoFile cancels the
 * calling thread's requests, and only executive threads keep that list); the
 * libFuzzer thread hands it each input and waits.
 *
 * Input encoding: a sequence of records, an operation byte (op % 8) and its
 * parameters, read with fuzz_input.h (bytes past the end read as zero):
 *   0 open    name byte (a good device, a bad name under \Device or \??, a
 *             sub-path, empty, relative, long), attributes byte, disposition
 *             byte, options (byte; > 0xEF: a raw u32), share byte, access byte
 *             (> 0xEF: a raw u32).
 *   1 close   slot byte.
 *   2 read /  slot, length class byte (+ u16/u32), offset byte, event byte,
 *   3 write   NULL-buffer flag in the event byte.
 *   4 ioctl   slot, code byte (a loopback code, or raw u32 when >= 0xC0),
 *             input length class, output length class, flags (NULL buffers,
 *             event), delay u16 for IOCTL_LOOPBACK_DELAY.
 *   5 cancel  slot (ZwCancelIoFile).
 *   6 sleep   byte: 0-3 ms, lets timer DPCs fire.
 *   7 query   slot: IOCTL_LOOPBACK_QUERY / FILTER_STATS (a small output).
 *
 * What the harness must avoid is only what would block its single thread for
 * good: a synchronous-handle read of the loopback that would pend (issued
 * only when bytes are buffered and no read is queued ahead), and long delays
 * on synchronous handles (capped at 3 ms). Everything else is issued as the
 * input says, bad parameters included; buffers are pool (direct I/O needs
 * system memory) and lengths never exceed them.
 *
 * Checked after every input: every handle closed; every request that returned
 * STATUS_PENDING completed (its status block written) within a bound; the
 * loopback's queues empty; the file object type's object and handle totals and
 * the pool's per-tag live block and byte counts back to their values before
 * the input (bounded wait for DPCs and deferred deletes). A request completed
 * twice or a broken invariant bug checks, which libFuzzer records as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <host.h>
#include <ntos/ex_objects.h>
#include <ntos/ex_pool.h>
#include <ntos/io.h>
#include <ntos/loopback.h>
#include <ntos/ob.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

#include "fuzz_input.h"

#define FZ_TAG 0x6f497a46 /* "FzIo" */
#define BUF_SIZE (1u << 20)
#define MAX_HANDLES 16
#define MAX_PENDING 64
#define MAX_OPS 200
#define IOSB_UNSET ((NTSTATUS)0x7fff1234)

static PUCHAR g_in, g_out;
static HANDLE g_state;  /* async handle to \Device\Loopback opened at boot */
static HANDLE g_events[4];
static PDEVICE_OBJECT g_loopback, g_filter;
static PKEVENT g_go, g_done;
static const uint8_t *g_data;
static size_t g_size;

static HANDLE g_h[MAX_HANDLES];
static IO_STATUS_BLOCK g_iosb[MAX_PENDING];
static int g_npending;

/* ---- helpers -------------------------------------------------------------------------------- */

static void sleep_ms(LONG ms)
{
    LARGE_INTEGER t = {.QuadPart = -(LONGLONG)ms * 10000};
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static PFILE_OBJECT file_of(HANDLE h)
{
    PFILE_OBJECT f = NULL;
    if (!NT_SUCCESS(ObReferenceObjectByHandle(h, 0, IoFileObjectType, KernelMode, (PVOID *)&f, NULL)))
        return NULL;
    ObDereferenceObject(f); /* the handle keeps it */
    return f;
}

static LOOPBACK_STATE loopback_state(void)
{
    LOOPBACK_STATE st = {0};
    IO_STATUS_BLOCK iosb;
    NTSTATUS s = ZwDeviceIoControlFile(g_state, NULL, NULL, NULL, &iosb, IOCTL_LOOPBACK_QUERY, NULL, 0, &st,
                                       sizeof(st));
    CHECK(s == STATUS_SUCCESS);
    return st;
}

/* A status block for a request that may pend; NULL when too many are outstanding. */
static PIO_STATUS_BLOCK new_iosb(void)
{
    if (g_npending == MAX_PENDING)
        return NULL;
    PIO_STATUS_BLOCK b = &g_iosb[g_npending++];
    b->Status = IOSB_UNSET;
    b->Information = 0;
    return b;
}

/* The request did not pend: its status block may be reused. */
static void settle_iosb(NTSTATUS s)
{
    if (s != STATUS_PENDING)
        g_npending--;
}

static ULONG length_of(reader *r, uint8_t cls)
{
    switch (cls % 8) {
    case 0:
        return 0;
    case 1:
        return 1 + rd_u8(r) % 16;
    case 2:
        return rd_u16(r) % 4097;
    case 3:
        return rd_u16(r);
    case 4:
        return BUF_SIZE;
    case 5:
        return LOOPBACK_BUFFER_SIZE;
    case 6:
        return rd_u32(r) % (BUF_SIZE + 1);
    default:
        return 4;
    }
}

/* ---- operations ------------------------------------------------------------------------------ */

static const WCHAR *const k_names[] = {
    L"\\Device\\Null",
    L"\\Device\\Loopback",
    L"\\Device\\LoopbackFilter",
    L"\\Device\\Loopback\\sub\\path",
    L"\\Device\\NULL",
    L"\\Device\\Nope",
    L"\\Device\\",
    L"\\Device",
    L"\\??\\Loopback",
    L"\\??\\",
    L"\\??\\NUL",
    L"\\",
    L"",
    L"Device\\Null",
    L"\\Device\\Null\\",
    L"\\Device\\LoopbackFilter\\x",
    L"\\Device\\\\Null",
    L"\\Device\\Null:stream",
};

static void op_open(reader *r)
{
    uint8_t nb = rd_u8(r), ab = rd_u8(r), db = rd_u8(r), ob = rd_u8(r);
    ULONG options = ob > 0xEF ? rd_u32(r) : (ULONG)(ob & 0x7F);
    /* Favour the two synchronous options, which change everything after. */
    if (ob <= 0xEF && (ob & 0x80))
        options = (ob & 1) ? FILE_SYNCHRONOUS_IO_NONALERT : FILE_SYNCHRONOUS_IO_ALERT;
    uint8_t sb = rd_u8(r), acc = rd_u8(r);
    ACCESS_MASK access;
    if (acc > 0xEF)
        access = rd_u32(r);
    else {
        static const ACCESS_MASK k_access[] = {FILE_READ_DATA,
                                               FILE_WRITE_DATA,
                                               FILE_READ_DATA | FILE_WRITE_DATA,
                                               GENERIC_READ,
                                               GENERIC_WRITE,
                                               GENERIC_ALL,
                                               0,
                                               MAXIMUM_ALLOWED};
        access = k_access[acc % 8] | ((acc & 8) ? SYNCHRONIZE : 0);
    }
    int slot = -1;
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i] == NULL) {
            slot = i;
            break;
        }
    if (slot < 0)
        return;
    /* Names are copied to pool: the service reads them, and long names too. */
    static WCHAR namebuf[600];
    ULONG len;
    if ((nb & 0x1F) < RTL_NUMBER_OF(k_names)) {
        const WCHAR *n = k_names[nb & 0x1F];
        len = 0;
        while (n[len] != 0)
            len++;
        memcpy(namebuf, n, len * sizeof(WCHAR));
    } else {
        /* A long name under \Device. */
        static const WCHAR pre[] = L"\\Device\\";
        len = 8;
        memcpy(namebuf, pre, len * sizeof(WCHAR));
        ULONG extra = (ULONG)(nb & 0x1F) * 16;
        for (ULONG i = 0; i < extra; i++)
            namebuf[len++] = (WCHAR)('a' + i % 26);
    }
    UNICODE_STRING us = {(USHORT)(len * sizeof(WCHAR)), (USHORT)(len * sizeof(WCHAR)), namebuf};
    if ((nb & 0xE0) == 0xE0 && us.Length >= 2)
        us.Length--; /* odd length */
    ULONG attrs = OBJ_KERNEL_HANDLE | ((ab & 1) ? OBJ_CASE_INSENSITIVE : 0) | ((ab & 2) ? OBJ_OPENIF : 0) |
                  ((ab & 4) ? OBJ_EXCLUSIVE : 0) | ((ab & 8) ? OBJ_FORCE_ACCESS_CHECK : 0) |
                  ((ab & 0x10) ? OBJ_INHERIT : 0) | ((ab & 0x20) ? 0x00100000 : 0);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, attrs, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    HANDLE h = NULL;
    NTSTATUS s = ZwCreateFile(&h, access, &oa, &iosb, NULL, (ULONG)(ab >> 6) * 0x40, sb & 0xF, db % 8, options, NULL,
                              0);
    if (NT_SUCCESS(s)) {
        CHECK(h != NULL);
        g_h[slot] = h;
    }
}

static void op_close(reader *r)
{
    uint8_t b = rd_u8(r);
    HANDLE h = g_h[b % MAX_HANDLES];
    if (h == NULL)
        return;
    CHECK(ZwClose(h) == STATUS_SUCCESS);
    g_h[b % MAX_HANDLES] = NULL;
}

static BOOLEAN is_loopback(PFILE_OBJECT f)
{
    return f->DeviceObject == g_loopback || f->DeviceObject == g_filter;
}

static void op_rw(reader *r, BOOLEAN write)
{
    uint8_t sb = rd_u8(r), lb = rd_u8(r);
    ULONG length = length_of(r, lb);
    uint8_t offb = rd_u8(r), eb = rd_u8(r);
    HANDLE h = g_h[sb % MAX_HANDLES];
    if (h == NULL)
        return;
    PFILE_OBJECT f = file_of(h);
    CHECK(f != NULL);
    BOOLEAN sync = (f->Flags & FO_SYNCHRONOUS_IO) != 0;
    if (!write && sync && is_loopback(f) && length != 0) {
        /* Would it wait for a write this thread can never issue? */
        LOOPBACK_STATE st = loopback_state();
        if (st.PendingReads != 0 || st.BufferedBytes == 0)
            return;
    }
    LARGE_INTEGER off = {.QuadPart = 0};
    PLARGE_INTEGER poff = &off;
    switch (offb % 4) {
    case 0:
        poff = NULL;
        break;
    case 1:
        off.QuadPart = (LONGLONG)offb * 3;
        break;
    case 2:
        off.HighPart = -1;
        off.LowPart = (offb & 4) ? FILE_USE_FILE_POINTER_POSITION : FILE_WRITE_TO_END_OF_FILE;
        break;
    default:
        off.QuadPart = -(LONGLONG)offb;
        break;
    }
    PVOID buf = (eb & 0x80) ? NULL : (write ? g_in : g_out);
    HANDLE ev = (eb & 4) ? g_events[eb % 4] : NULL;
    PIO_STATUS_BLOCK iosb = new_iosb();
    if (iosb == NULL)
        return;
    NTSTATUS s = write ? ZwWriteFile(h, ev, NULL, NULL, iosb, buf, length, poff, NULL)
                       : ZwReadFile(h, ev, NULL, NULL, iosb, buf, length, poff, NULL);
    CHECK(!(sync && s == STATUS_PENDING));
    settle_iosb(s);
}

static const ULONG k_codes[] = {IOCTL_LOOPBACK_UPPER_BUFFERED, IOCTL_LOOPBACK_COUNT_IN_DIRECT,
                                IOCTL_LOOPBACK_REVERSE_OUT_DIRECT, IOCTL_LOOPBACK_UPPER_NEITHER,
                                IOCTL_LOOPBACK_DELAY, IOCTL_LOOPBACK_QUERY,
                                IOCTL_LOOPBACK_FILTER_STATS, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_NEITHER, 0)};

static void op_ioctl(reader *r)
{
    uint8_t sb = rd_u8(r), cb = rd_u8(r);
    ULONG code = cb >= 0xC0 ? rd_u32(r) : k_codes[cb % RTL_NUMBER_OF(k_codes)];
    if (cb >= 0x80 && cb < 0xC0) /* same function, another method or access */
        code = (code & ~0xC003u) | ((ULONG)(cb & 3)) | ((ULONG)((cb >> 2) & 3) << 14);
    ULONG in = length_of(r, rd_u8(r)), out = length_of(r, rd_u8(r));
    uint8_t fb = rd_u8(r);
    uint16_t delay = rd_u16(r);
    HANDLE h = g_h[sb % MAX_HANDLES];
    if (h == NULL)
        return;
    PFILE_OBJECT f = file_of(h);
    CHECK(f != NULL);
    BOOLEAN sync = (f->Flags & FO_SYNCHRONOUS_IO) != 0;
    ULONG ms = delay % 80;
    if (code == IOCTL_LOOPBACK_DELAY && sync)
        ms %= 4;
    if (delay >= 0xFFF0)
        ms = LOOPBACK_MAX_DELAY_MS + (delay & 0xF);
    if (in >= sizeof(ULONG))
        memcpy(g_in, &ms, sizeof(ms));
    PVOID ib = (fb & 1) ? NULL : g_in, obuf = (fb & 2) ? NULL : g_out;
    HANDLE ev = (fb & 4) ? g_events[(fb >> 3) % 4] : NULL;
    PIO_STATUS_BLOCK iosb = new_iosb();
    if (iosb == NULL)
        return;
    NTSTATUS s = ZwDeviceIoControlFile(h, ev, NULL, NULL, iosb, code, ib, in, obuf, out);
    CHECK(!(sync && s == STATUS_PENDING));
    settle_iosb(s);
}

static void op_cancel(reader *r)
{
    HANDLE h = g_h[rd_u8(r) % MAX_HANDLES];
    if (h == NULL)
        return;
    IO_STATUS_BLOCK iosb;
    CHECK(ZwCancelIoFile(h, &iosb) == STATUS_SUCCESS);
}

static void op_sleep(reader *r)
{
    sleep_ms(rd_u8(r) % 4);
}

static void op_query(reader *r)
{
    uint8_t b = rd_u8(r);
    HANDLE h = g_h[b % MAX_HANDLES];
    if (h == NULL)
        return;
    IO_STATUS_BLOCK iosb;
    LOOPBACK_FILTER_STATS st;
    PVOID out = &st;
    ULONG code = (b & 0x10) ? IOCTL_LOOPBACK_FILTER_STATS : IOCTL_LOOPBACK_QUERY;
    NTSTATUS s = ZwDeviceIoControlFile(h, NULL, NULL, NULL, &iosb, code, NULL, 0, out, (b & 0x20) ? 4 : sizeof(st));
    CHECK(s != STATUS_PENDING);
    if (s == STATUS_SUCCESS && code == IOCTL_LOOPBACK_FILTER_STATS)
        CHECK(st.Completed <= st.Passed);
}

/* ---- per input ---------------------------------------------------------------------------------- */

#define MAX_TAGS 4096
static EX_POOL_TAG_USAGE g_pool_before[MAX_TAGS], g_pool_after[MAX_TAGS];

static ULONG pool_snapshot(EX_POOL_TAG_USAGE *buf)
{
    ULONG n = 0;
    CHECK(ExQueryPoolTagSnapshot(buf, MAX_TAGS, &n) == STATUS_SUCCESS);
    return n;
}

static const EX_POOL_TAG_USAGE *find_tag(const EX_POOL_TAG_USAGE *buf, ULONG n, ULONG tag)
{
    static const EX_POOL_TAG_USAGE zero;
    for (ULONG i = 0; i < n; i++)
        if (buf[i].Tag == tag)
            return &buf[i];
    return &zero;
}

/* Tags whose live blocks or bytes differ; 0 when the pool is as before. */
static int pool_differs(ULONG nbefore, BOOLEAN report)
{
    ULONG nafter = pool_snapshot(g_pool_after);
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        const EX_POOL_TAG_USAGE *set = pass ? g_pool_before : g_pool_after;
        ULONG n = pass ? nbefore : nafter;
        for (ULONG i = 0; i < n; i++) {
            const EX_POOL_TAG_USAGE *a = find_tag(g_pool_before, nbefore, set[i].Tag);
            const EX_POOL_TAG_USAGE *b = find_tag(g_pool_after, nafter, set[i].Tag);
            LONG64 la = (LONG64)(a->PagedAllocs - a->PagedFrees) + (LONG64)(a->NonPagedAllocs - a->NonPagedFrees);
            LONG64 lb = (LONG64)(b->PagedAllocs - b->PagedFrees) + (LONG64)(b->NonPagedAllocs - b->NonPagedFrees);
            if (la != lb || a->PagedBytes != b->PagedBytes || a->NonPagedBytes != b->NonPagedBytes) {
                if (report) {
                    ULONG t = set[i].Tag;
                    fprintf(stderr, "pool tag '%c%c%c%c': live %lld -> %lld, bytes %llu/%llu -> %llu/%llu\n",
                            (char)t, (char)(t >> 8), (char)(t >> 16), (char)(t >> 24), (long long)la,
                            (long long)lb, (unsigned long long)a->PagedBytes, (unsigned long long)a->NonPagedBytes,
                            (unsigned long long)b->PagedBytes, (unsigned long long)b->NonPagedBytes);
                }
                bad++;
            }
        }
    }
    return bad;
}

static void run_input(void)
{
    ULONG files = IoFileObjectType->TotalNumberOfObjects, fhandles = IoFileObjectType->TotalNumberOfHandles;
    ULONG ntags = pool_snapshot(g_pool_before);
    reader r = {g_data, g_size};
    g_npending = 0;
    memset(g_h, 0, sizeof(g_h));
    for (unsigned ops = 0; r.n > 0 && ops < MAX_OPS; ops++) {
        switch (rd_u8(&r) % 8) {
        case 0:
            op_open(&r);
            break;
        case 1:
            op_close(&r);
            break;
        case 2:
            op_rw(&r, FALSE);
            break;
        case 3:
            op_rw(&r, TRUE);
            break;
        case 4:
            op_ioctl(&r);
            break;
        case 5:
            op_cancel(&r);
            break;
        case 6:
            op_sleep(&r);
            break;
        default:
            op_query(&r);
            break;
        }
    }
    /* Closing the last handle cancels what the loopback still queues for it. */
    for (int i = 0; i < MAX_HANDLES; i++)
        if (g_h[i] != NULL)
            CHECK(ZwClose(g_h[i]) == STATUS_SUCCESS);
    for (int i = 0; i < g_npending; i++) {
        for (int t = 0; t < 3000 && __atomic_load_n(&g_iosb[i].Status, __ATOMIC_ACQUIRE) == IOSB_UNSET; t++)
            sleep_ms(1);
        if (g_iosb[i].Status == IOSB_UNSET)
            fprintf(stderr, "request %d never completed\n", i);
        CHECK(g_iosb[i].Status != IOSB_UNSET);
    }
    /* Bytes the input wrote and nobody read stay in the device: take them out. */
    LOOPBACK_STATE st = loopback_state();
    CHECK(st.PendingReads == 0 && st.PendingDelays == 0);
    while (st.BufferedBytes != 0) {
        IO_STATUS_BLOCK iosb;
        LARGE_INTEGER zero = {0};
        /* The loopback queues every read, so even this one returns STATUS_PENDING. */
        NTSTATUS s = ZwReadFile(g_state, g_events[0], NULL, NULL, &iosb, g_out, LOOPBACK_BUFFER_SIZE, &zero, NULL);
        CHECK(s == STATUS_PENDING || s == STATUS_SUCCESS);
        if (s == STATUS_PENDING)
            CHECK(ZwWaitForSingleObject(g_events[0], FALSE, NULL) == STATUS_SUCCESS);
        CHECK(iosb.Status == STATUS_SUCCESS && iosb.Information != 0);
        st = loopback_state();
    }
    for (int t = 0; t < 3000; t++) {
        if (IoFileObjectType->TotalNumberOfObjects == files && IoFileObjectType->TotalNumberOfHandles == fhandles &&
            !pool_differs(ntags, FALSE))
            break;
        sleep_ms(1);
    }
    if (IoFileObjectType->TotalNumberOfObjects != files || IoFileObjectType->TotalNumberOfHandles != fhandles)
        fprintf(stderr, "file objects %lu -> %lu, handles %lu -> %lu\n", (unsigned long)files,
                (unsigned long)IoFileObjectType->TotalNumberOfObjects, (unsigned long)fhandles,
                (unsigned long)IoFileObjectType->TotalNumberOfHandles);
    CHECK(IoFileObjectType->TotalNumberOfObjects == files);
    CHECK(IoFileObjectType->TotalNumberOfHandles == fhandles);
    CHECK(pool_differs(ntags, TRUE) == 0);
}

static VOID NTAPI worker(PVOID Context)
{
    (void)Context;
    for (;;) {
        KeWaitForSingleObject(g_go, Executive, KernelMode, FALSE, NULL);
        run_input();
        KeSetEvent(g_done, IO_NO_INCREMENT, FALSE);
    }
}

static void boot_once(void)
{
    static int booted;
    if (booted)
        return;
    booted = 1;
    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    host_boot(&config);

    g_in = ExAllocatePoolWithTag(NonPagedPoolNx, BUF_SIZE, FZ_TAG);
    g_out = ExAllocatePoolWithTag(NonPagedPoolNx, BUF_SIZE, FZ_TAG);
    CHECK(g_in != NULL && g_out != NULL);
    for (ULONG i = 0; i < BUF_SIZE; i++)
        g_in[i] = (UCHAR)(i * 31 + 7);
    for (int i = 0; i < 4; i++)
        CHECK(ZwCreateEvent(&g_events[i], EVENT_ALL_ACCESS, NULL, i & 1 ? SynchronizationEvent : NotificationEvent,
                            FALSE) == STATUS_SUCCESS);

    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Loopback");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    CHECK(ZwCreateFile(&g_state, FILE_READ_DATA, &oa, &iosb, NULL, 0, FILE_SHARE_VALID_FLAGS, FILE_OPEN, 0, NULL, 0) ==
          STATUS_SUCCESS);
    g_loopback = file_of(g_state)->DeviceObject;
    g_filter = IoGetAttachedDevice(g_loopback);
    CHECK(g_filter != g_loopback);

    static KEVENT go, done;
    KeInitializeEvent(&go, SynchronizationEvent, FALSE);
    KeInitializeEvent(&done, SynchronizationEvent, FALSE);
    g_go = &go;
    g_done = &done;
    HANDLE t;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    CHECK(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, worker, NULL) == STATUS_SUCCESS);
    CHECK(ZwClose(t) == STATUS_SUCCESS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    boot_once();
    g_data = data;
    g_size = size;
    KeSetEvent(g_go, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(g_done, Executive, KernelMode, FALSE, NULL);
    return 0;
}
