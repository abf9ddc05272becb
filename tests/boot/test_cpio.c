/*
 * The newc cpio reader (boot/cpio.c) that splits the bare-metal initrd into
 * boot modules: well-formed archives give their members, and every malformed
 * or truncated archive is refused with a reason, never read out of bounds.
 * Truncated copies are placed at the very end of a static buffer, so on the
 * host ASan reports any read past the archive.
 */
#include "ntos_test.h"
#include <ntos/rtl.h>
#include "../../boot/cpio.h"

static UCHAR archive[1024];
static SIZE_T archive_size;
static UCHAR window[1024];

static void put_hex(ULONG v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--)
        archive[archive_size++] = (UCHAR)digits[(v >> (4 * i)) & 0xF];
}

static void put_member(const char *Name, ULONG Mode, const char *Data, ULONG Size)
{
    ULONG namesize = 1;
    for (const char *p = Name; *p; p++)
        namesize++;
    const char *magic = "070701";
    for (int i = 0; i < 6; i++)
        archive[archive_size++] = (UCHAR)magic[i];
    ULONG fields[13] = {1, Mode, 0, 0, 1, 0, Size, 0, 0, 0, 0, namesize, 0};
    for (int i = 0; i < 13; i++)
        put_hex(fields[i]);
    for (ULONG i = 0; i < namesize; i++)
        archive[archive_size++] = (UCHAR)Name[i];
    while (archive_size & 3)
        archive[archive_size++] = 0;
    for (ULONG i = 0; i < Size; i++)
        archive[archive_size++] = (UCHAR)Data[i];
    while (archive_size & 3)
        archive[archive_size++] = 0;
}

/* alpha.sys (5 bytes), a directory, drivers/beta.sys (9 bytes), trailer. */
static void build_archive(void)
{
    archive_size = 0;
    put_member("alpha.sys", 0100644, "hello", 5);
    put_member("drivers", 0040755, "", 0);
    put_member("drivers/beta.sys", 0100644, "beta data", 9);
    put_member("TRAILER!!!", 0, "", 0);
}

/* A copy of the first Size bytes of the archive ending at the buffer's end. */
static const UCHAR *tail_copy(SIZE_T Size)
{
    UCHAR *dst = window + sizeof(window) - Size;
    RtlCopyMemory(dst, archive, Size);
    return dst;
}

/* Walks an archive; returns members found, -1 if malformed. */
static int walk(const void *Data, SIZE_T Size, CPIO_MEMBER *Members, int Max)
{
    SIZE_T off = 0;
    int n = 0;
    for (;;) {
        CPIO_MEMBER m;
        const char *reason = NULL;
        CPIO_RESULT r = CpioNextMember(Data, Size, &off, &m, &reason);
        if (r == CPIO_END)
            return n;
        if (r == CPIO_MALFORMED) {
            assert_non_null(reason);
            return -1;
        }
        assert_true(off <= Size);
        assert_true((const UCHAR *)m.Data >= (const UCHAR *)Data);
        assert_true((const UCHAR *)m.Data + m.Size <= (const UCHAR *)Data + Size);
        if (n < Max)
            Members[n] = m;
        n++;
    }
}

static void reads_members_in_order(void **state)
{
    (void)state;
    build_archive();
    CPIO_MEMBER m[4];
    assert_true(CpioLooksLikeArchive(archive, archive_size));
    assert_int_equal(walk(archive, archive_size, m, 4), 3);
    assert_string_equal(m[0].Name, "alpha.sys");
    assert_int_equal(m[0].Size, 5);
    assert_memory_equal(m[0].Data, "hello", 5);
    assert_int_equal(m[0].Mode & CPIO_MODE_TYPE, CPIO_MODE_REGULAR);
    assert_int_equal(m[1].Mode & CPIO_MODE_TYPE, 0040000);
    assert_string_equal(m[2].Name, "drivers/beta.sys");
    assert_string_equal(CpioBaseName(m[2].Name), "beta.sys");
    assert_string_equal(CpioBaseName(m[0].Name), "alpha.sys");
    assert_memory_equal(m[2].Data, "beta data", 9);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    build_archive();
    CPIO_MEMBER m[4];
    /* Every proper prefix lacks the trailer (its name is in the last 12 bytes). */
    for (SIZE_T size = 0; size < archive_size; size++)
        assert_int_equal(walk(tail_copy(size), size, m, 4), -1);
    assert_int_equal(walk(tail_copy(archive_size), archive_size, m, 4), 3);
}

static void corrupted_headers_are_refused(void **state)
{
    (void)state;
    CPIO_MEMBER m[4];
    /* Bad magic on the second member. */
    build_archive();
    SIZE_T second = 110 + 10 + 8; /* header + "alpha.sys\0" (120, aligned), "hello" padded to 8 */
    assert_memory_equal(&archive[second], "070701", 6);
    archive[second + 5] = '9';
    assert_int_equal(walk(archive, archive_size, m, 4), -1);
    /* A non-hex digit in the first member's mode. */
    build_archive();
    archive[6 + 8] = 'z';
    assert_int_equal(walk(archive, archive_size, m, 4), -1);
    /* A file size far past the end of the archive. */
    build_archive();
    for (int i = 0; i < 8; i++)
        archive[6 + 8 * 6 + i] = 'f';
    assert_int_equal(walk(tail_copy(archive_size), archive_size, m, 4), -1);
    /* A name size of 0, and one past the end. */
    build_archive();
    for (int i = 0; i < 8; i++)
        archive[6 + 8 * 11 + i] = '0';
    assert_int_equal(walk(archive, archive_size, m, 4), -1);
    build_archive();
    for (int i = 0; i < 8; i++)
        archive[6 + 8 * 11 + i] = 'f';
    assert_int_equal(walk(tail_copy(archive_size), archive_size, m, 4), -1);
    /* A name without its NUL, and one with a NUL inside. */
    build_archive();
    archive[110 + 9] = 'x';
    assert_int_equal(walk(archive, archive_size, m, 4), -1);
    build_archive();
    archive[110 + 2] = 0;
    assert_int_equal(walk(archive, archive_size, m, 4), -1);
    /* Not an archive at all. */
    assert_false(CpioLooksLikeArchive("MZ\x90\0", 4));
    assert_false(CpioLooksLikeArchive("0707", 4));
    assert_false(CpioLooksLikeArchive(NULL, 0));
}

static void random_corruption_never_escapes(void **state)
{
    (void)state;
    /* A fixed-seed xorshift flips bytes in the headers; whatever the reader
     * makes of it, it stays inside the archive (walk checks every member). */
    ULONG64 x = 0x9E3779B97F4A7C15ULL;
    CPIO_MEMBER m[4];
    for (int round = 0; round < 2000; round++) {
        build_archive();
        for (int flips = 0; flips < 3; flips++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            SIZE_T at = (SIZE_T)(x % archive_size);
            archive[at] = (UCHAR)(x >> 32);
        }
        int n = walk(tail_copy(archive_size), archive_size, m, 4);
        assert_true(n >= -1 && n <= 4);
    }
}

static const struct CMUnitTest cpio_tests[] = {
    cmocka_unit_test(reads_members_in_order),
    cmocka_unit_test(every_truncation_is_refused),
    cmocka_unit_test(corrupted_headers_are_refused),
    cmocka_unit_test(random_corruption_never_escapes),
};

NTOS_TEST_GROUP(boot_cpio, cpio_tests, NULL, NULL);
