#!/usr/bin/env python3
"""Writes the seed corpus of each harness under fuzz/corpus/<harness>/.

The seeds only give libFuzzer a head start: each one is a short, valid
operation sequence in the harness's input encoding (see the harness sources).
Rerunning this script rewrites the same files.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def u16(v):
    return list(struct.pack("<H", v & 0xFFFF))


def u64(v):
    return list(struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF))


# ---- fuzz_rtl_string -------------------------------------------------------------
# Operation numbers (index into k_ops).
MAKE_U, MAKE_A, INIT_U, INIT_A, COPY_U, APPEND_U, APPEND_SZ, CMP_U = 0, 2, 3, 4, 5, 6, 7, 8
CMP_A, ANSI_MISC, CASE_U, A2U, U2A, U2INT, C2INT, INT2U = 10, 11, 12, 13, 14, 15, 16, 17
INT2C, HASH, DUP, CREATE, FREE = 18, 19, 20, 21, 22

WIDE_ALPHA = "0179afAFxXobzZ+- \t"  # first entries of k_wide_alphabet


def wide_alpha(text):
    """Alphabet-mode fill (mode 2) of a string from the first 18 alphabet entries."""
    idx = [WIDE_ALPHA.index(c) for c in text]
    return [2, 0, idx[0] if idx else 0] + idx


def make_u(slot, even_max_units, text):
    # mode 6: MaximumLength = (byte % 33) * 2; length mode 0: Length = MaximumLength
    return [MAKE_U, slot, 6, even_max_units] + wide_alpha(text)


def make_u_len(slot, max_bytes, len_bytes, text):
    # mode 5 | (3 << 3): MaximumLength = u16, Length = (u16 % (max + 1)) & ~1
    return [MAKE_U, slot, 5 | (1 << 3)] + u16(max_bytes) + u16(len_bytes) + wide_alpha(text)


def make_a(slot, n, raw):
    return [MAKE_A, slot, 0, n] + [0, 0, 0] + list(raw)


string_seeds = {
    "compare_case": make_u(0, 5, "afAF0") + make_u(1, 5, "AFaf0") + [CMP_U, 0, 1, 1, CMP_U, 0, 1, 0]
    + [CASE_U, 2, 0, 3, CASE_U, 3, 1, 2, CMP_U, 2, 3, 0, HASH, 0, 1, HASH, 1, 3],
    "append_copy": make_u(0, 8, "0x7f") + make_u_len(1, 9, 3, "ab")
    + [APPEND_U, 0, 1, APPEND_U, 0, 0, APPEND_SZ, 0, 0, 5, 2, 0, 0, 1, 2, 3, 4, 5, COPY_U, 1, 0, COPY_U, 0, 1],
    "integers": make_u(0, 6, " -0x1F") + [U2INT, 0, 0, 0, U2INT, 0, 4, 0, U2INT, 0, 9, 0]
    + [INT2U, 0, 0, 200] + u64(0xFFFFFFFF) + [3, INT2U, 0, 1, 201] + u64(0x123456789) + [1]
    + [INT2C, 60, 4, 10, C2INT, 6, 0, 0, 2, 0, 13, 0, 1, 2, 3, 14],
    "ansi_unicode": make_a(0, 6, b"A\x80\x81\x9f\xff ") + [A2U, 0, 0, 1, U2A, 1, 0, 0, A2U, 1, 0, 0]
    + [U2A, 2, 0, 1, CMP_A, 0, 1, 1, ANSI_MISC, 0, 2, ANSI_MISC, 1, 1],
    "init_dup_create": [INIT_U, 0, 0, 7, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, INIT_U, 1, 1, 0x1F, 2]
    + [INIT_A, 0, 1, 9, 0, 0, 0, DUP, 0, 3, DUP, 0, 0x30, 5, 0, 3, 0, DUP, 1, 1, CREATE, 0, 4, 0, 0, 0]
    + [CREATE, 1, 3, FREE, 1, FREE, 0],
    "boundaries": [MAKE_U, 0, 4, 17, MAKE_U, 1, 4, 18, MAKE_U, 2, 4 | 0x20, 0, MAKE_A, 0, 4, 10]
    + [APPEND_U, 0, 1, COPY_U, 2, 0, A2U, 3, 0, 1, U2A, 1, 0, 1, CASE_U, 1, 0, 2, CASE_U, 1, 1, 6],
}

# ---- fuzz_rtl_format ----------------------------------------------------------------


def fmt_seed(nvalues, values, text, pointer_mode=False, raw_pairs=False, sizes=(0, 1, 5, 0, 2, 7, 1, 2, 1, 2, 2, 0, 3, 0, 9, 1)):
    mode = (nvalues - 1) | (0x20 if pointer_mode else 0) | (0x10 if raw_pairs else 0)
    data = [mode]
    for v in values:
        data += u64(v)
    return data + list(sizes) + list(text)


# Pointer-mode value encoding: bits 0-2 kind (0 NULL object, 1 NULL Buffer),
# 3-4 length class, 8-23 length, 24-31 extra MaximumLength, 32-63 pad/pattern.
PTR_VALUES = [0x414243440000062A, 0, 0x3132333400001011, 0x0000000000FF0102, 0x202020200000301A,
              0x6162636480000722, 0x0000000000000001, 0x7A7A7A7A00002002]
format_seeds = {
    "strings": fmt_seed(8, PTR_VALUES, b"[%s|%ws|%Z|%wZ|%-8.3s|%10S|%.2Z|%hs|%ls|%5wZ|%n|%s]", pointer_mode=True),
    "integers": fmt_seed(4, [0xFFFFFFFF80000000, 42, 0x123456789ABCDEF0, 7],
                         b"%d %i %u %o %x %X %#x %#o %+d % d %05d %-5d| %.0d %.3d %hhd %hd %ld %lld %I64x %I32u %Iu %zd %p %#p %%"),
    "widths": fmt_seed(4, [0xFFFFFFF6, 12, 0x7FFFFFFF, 3], b"%*d|%-*d|%.*d|%*.*x|%2147483647d|%.2147483647u|%c%C%lc%hc"),
    "floats": fmt_seed(6, [0x400921FB54442D18, 0x7FF0000000000000, 0xFFF8000000000000, 1, 0x8000000000000000,
                           0x7FEFFFFFFFFFFFFF],
                       b"%f %e %g %a %E %G %A %.0f %#.0e %10.3f %-+12.4e %.17g %#g %.1100f %F %La"),
    "malformed": fmt_seed(2, [1, 2], b"%q %I %I6 %I3 %hh %ll %w %-", sizes=(1, 0, 3, 3, 0, 1, 1, 5, 0x10, 1, 0, 0, 0xff, 3, 0, 2)),
    "wide_pairs": fmt_seed(3, [0x4142434400000A2A, 5, 0], "%s=%d %wZ \u00e9\u20ac".encode("utf-16-le"),
                           pointer_mode=True, raw_pairs=True),
    # Differential mode (first byte & 0xC0 == 0xC0): conv, flags, width, precision, size, value.
    "diff_float": [0xC0, 8, 0x1B, 41, 2 | (6 << 3), 0] + u64(0x3FB999999999999A),
    "diff_int": [0xC0, 0, 0x0E, 2, 4, 4] + u64(0xFFFFFFFFFFFFFF85),
    "diff_exp": [0xC0, 6, 0x10, 0, 3, 0] + u64(0x0000000000000001) + u16(750),
    "diff_round": [0xC0, 8, 0, 0, 1, 0] + u64(0x3FE6666666666666),  # %.0f of 0.7
}

# ---- fuzz_rtl_bitmap_avl ---------------------------------------------------------------------
# Bitmap: byte0 even; m (size class, fill), size, words..., then ops.
bitmap_ops = [3, 5, 2, 3, 2, 40, 9, 1, 3, 1, 0, 14, 15, 6, 16, 17, 0x85, 13, 4, 2, 2, 11, 5, 1, 0, 7, 6, 7,
              18, 0xFF] + u64(0x8000000000000001)[:8] + [0, 0]
bitmap_seeds = {
    "small_mixed": [0, 0x00 | (2 << 2), 45] + u64(0xF0F0F00F0000FFFF) + bitmap_ops,
    "word_edges": [0, 2 | (1 << 2), 3, 2, 5, 0x15, 0, 9, 0x0D, 2, 11, 1, 5, 12, 0x15, 1, 17, 11, 17, 0x8B, 16],
    "large": [0, 1 | (0 << 2), 0xFF, 0x0F] + [3, 7, 0x10, 0x00, 7, 0x00, 0x02] * 4 + [9, 7, 0x20, 0x00, 1]
    + [17, 0x8A, 14, 16, 13, 12, 2, 6],
}
# AVL: byte0 odd; op % 12: 0-2 insert, 3 insert full, 4-5 delete, 6 lookup, 7 enumerate,
# 8 enumerate without splaying, 9 get, 10 directory, 11 delete by position.
avl = [1]
for k in [10, 5, 20, 3, 7, 15, 25, 1, 30, 12]:
    avl += [0, k, 2, 0xAA, 0xBB, 0]          # insert key k, 2-byte payload, no failure
avl += [3, 8, 0, 0, 6, 7, 6, 8, 1, 7, 0x03, 8, 5, 9, 1, 9, 2, 7]
avl += [4, 10, 4, 11, 7, 0x02, 10, 0x07, 2, 1, 5, 4, 10, 0x02, 2, 0, 3]
avl += [0, 40, 0, 1, 11, 3, 9, 3, 7, 0x0A, 8, 99]
avl_fail = [1, 0, 4, 0, 1, 0, 4, 0, 0, 3, 9, 1, 0, 6, 9, 0x7F] + [0, 0, 0, 0] + [0, 1, 0, 2, 1, 1]
bitmap_seeds["avl_basic"] = avl
bitmap_seeds["avl_failures"] = avl_fail

# ---- fuzz_ob ---------------------------------------------------------------------------------
# Mirrors the decoder in fuzz_ob.c (see its header comment). Slots at the start of an input:
# 0 "\", 1 the System process, 2 process B, 3 \FuzzRoot; live handles: #0 \FuzzRoot, #1 process B;
# each new handle takes the lowest free model handle number.
OB_CREATE_DIR, OB_CREATE_LINK, OB_CREATE_EVENT, OB_OPEN, OB_REFNAME, OB_REFHANDLE, OB_DUP, OB_CLOSE = range(8)
OB_MAKETEMP, OB_QUERYOBJ, OB_QUERYDIR, OB_QUERYLINK, OB_POINTER, OB_SETFLAGS, OB_EVENT = range(8, 15)
FUZZROOT = 3
OBJ_CI, OBJ_OPENIF, OBJ_OPENLINK, OBJ_PERM, OBJ_KERNEL, OBJ_EXCL, OBJ_INHERIT = 1, 2, 4, 8, 16, 32, 64
# k_access indices
A_NONE, A_MAX, A_GR, A_GW, A_GE, A_GA, A_DQ, A_DT, A_DQT, A_DIRALL, A_SLQ, A_SLALL = range(12)
A_EQS, A_EMS, A_EVALL, A_DELETE, A_SYNC, A_RC, A_ASS, A_PDH = range(12, 20)
T_ANY, T_DIR, T_LINK, T_EVENT, T_PROCESS, T_TYPE = range(6)
# k_alpha in fuzz_ob.c, index for index (names below use its ASCII letters: a A b B e E i I k K s S 0 ~)
ALPHA = "aAbBeE.\u00e9\u00c9\u0131iI\u0130kK\u212asS\u017f\uff41\uff21 ?*:\ud800\uffff0~\u03a3\u03c3\u03c2"


def h_live(n):
    return [0, n]             # the n-th live handle


def h_kernel_toggle(n):
    return [15, n]


def h_alias(n):
    return [14 | (1 << 5), n]


def h_null():
    return [17, 0]


def h_self():
    return [18, 0]            # NtCurrentProcess()


def c_alpha(text):
    return [4, len(text) - 1] + [ALPHA.index(ch) for ch in text]


def c_slot(slot, case=0):
    return [0 | (case << 4), slot] + ([0x55] if case == 3 else [])


def c_long(n, ch="a"):
    return [9] + list(struct.pack("<H", n)) + [0, ALPHA.index(ch)]


def c_nul(text, at):
    return [10, len(text) - 1] + [ALPHA.index(ch) for ch in text] + [at]


C_DOT, C_DOTDOT, C_EMPTY = [6], [7], [8]


def n_abs(slot, comps=(), trailing=False, header=7):
    """Absolute path of a model slot, then extra components."""
    comps = list(comps)
    assert len(comps) <= 3
    b = 0 | (len(comps) << 3) | (0x20 if trailing else 0)
    return [b, slot] + sum(comps, []) + [header]


def n_rel(handle, comps=(), trailing=False, header=7):
    """Relative to a handle value."""
    comps = list(comps)
    b = 5 | (len(comps) << 3) | (0x20 if trailing else 0)
    return [b] + handle + sum(comps, []) + [header]


def n_special(which, header=7):
    """0 "", 1 "\\", 2 "\\\\", 3 NULL ObjectName."""
    return [7, which, header]


def attrs(bits, extra=None):
    return [bits | (0x80 if extra is not None else 0), extra or 0]


def create(kind, name, a=(0, 0), access=A_DIRALL, sd=0, flags=0, target=None):
    op = {"dir": OB_CREATE_DIR, "link": OB_CREATE_LINK, "event": OB_CREATE_EVENT}[kind]
    out = [op, flags] + list(a) + [access, sd] + name
    if kind == "link":
        out += target
    return out


def ob_open(name, api=0, a=(0, 0), access=A_GR, typ=T_ANY):
    return [OB_OPEN, api] + list(a) + [access, typ] + name


def close(h, user=False):
    return [OB_CLOSE, 1 if user else 0] + h


def query_name(h):
    return [OB_QUERYOBJ, 1] + h + [4]          # ObjectNameInformation, exact length


def query_basic(h, length_sel=4):
    return [OB_QUERYOBJ, 0] + h + [length_sel]


def query_dir(h, single=0, size=7, length_sel=4):
    return [OB_QUERYDIR, single] + h + [size, length_sel, 0]


ob_seeds = {
    # Directory tree, case-insensitive directory names, two events whose names differ only in case.
    "tree_case": create("dir", n_abs(FUZZROOT, [c_alpha("ab")]), attrs(OBJ_CI))
    + create("event", n_abs(FUZZROOT, [c_alpha("ab"), c_alpha("E")]), access=A_EVALL)
    + create("event", n_abs(FUZZROOT, [c_alpha("AB"), c_alpha("e")]), access=A_EVALL)
    + ob_open(n_abs(FUZZROOT, [c_alpha("aB"), c_alpha("e")]), a=attrs(OBJ_CI), typ=T_EVENT)
    + ob_open(n_abs(FUZZROOT, [c_alpha("aB"), c_alpha("b")]))
    + query_dir(h_live(2)) + query_dir(h_live(2), single=1, size=0, length_sel=0)
    + query_name(h_live(3)) + [OB_EVENT, 0] + h_live(3) + [OB_EVENT, 4] + h_live(4) + close(h_live(2)),
    # Links: to a missing target, then the target appears; a two-link cycle; OBJ_OPENLINK.
    "links": create("link", n_abs(FUZZROOT, [c_alpha("k")]), access=A_SLALL,
                    target=n_abs(FUZZROOT, [c_alpha("s")]))
    + ob_open(n_abs(FUZZROOT, [c_alpha("k")]))
    + create("dir", n_abs(FUZZROOT, [c_alpha("s")]))
    + create("event", n_abs(FUZZROOT, [c_alpha("k"), c_alpha("e")]))
    + create("link", n_abs(FUZZROOT, [c_alpha("Ka")]), target=n_abs(FUZZROOT, [c_alpha("Kb")]))
    + create("link", n_abs(FUZZROOT, [c_alpha("Kb")]), target=n_abs(FUZZROOT, [c_alpha("Ka")]))
    + ob_open(n_abs(FUZZROOT, [c_alpha("KA")]))
    + ob_open(n_abs(FUZZROOT, [c_alpha("ka")]), api=3, access=A_SLQ)
    + [OB_QUERYLINK, 0] + h_live(2) + [0, 0] + [OB_QUERYLINK, 2] + h_live(2) + [0, 0],
    # A permanent child keeps its temporary parent alive after the parent leaves the namespace.
    "permanent_orphan": create("dir", n_abs(FUZZROOT, [c_alpha("e")]))
    + create("event", n_abs(FUZZROOT, [c_alpha("e"), c_alpha("i")]), attrs(OBJ_PERM))
    + close(h_live(3)) + close(h_live(2))
    + ob_open(n_abs(FUZZROOT, [c_alpha("e"), c_alpha("i")]))
    + [OB_POINTER, 1, 4, T_ANY, A_DQ, 0, 0]                   # open the orphan by pointer
    + [OB_POINTER, 3, 4, T_ANY, A_NONE, 0, 0, 4]              # its name is gone
    + [OB_MAKETEMP, 1] + h_live(2) + [OB_MAKETEMP, 0] + h_live(2),
    # Handles in another process, OBJ_EXCLUSIVE across processes, duplicate with close-source.
    "dup_processes": create("event", n_abs(FUZZROOT, [c_alpha("i")]), attrs(OBJ_EXCL), access=A_EVALL)
    + create("event", n_abs(FUZZROOT, [c_alpha("I")]), access=A_EVALL)
    + [OB_DUP, 0x10 | 2] + h_live(2) + [0x90, A_NONE, 0, 0]        # exclusive into B: denied, source closed
    + [OB_DUP, 0x10 | 1] + h_live(2) + [0x90, A_NONE, 0, 0]        # y into B, same access
    + [OB_DUP, 0x08 | 3] + [0x90] + h_live(2) + [A_NONE, 0, 0]     # back from B, close source
    + [OB_DUP, 5] + h_live(3) + [A_GR, OBJ_INHERIT, 0]
    + [OB_DUP, 0] + h_live(3) + [A_EQS, OBJ_KERNEL, 0]
    + [OB_REFHANDLE, 1] + h_kernel_toggle(4) + [T_EVENT, A_EQS],
    # Hostile counted strings and components.
    "hostile_names": create("dir", n_abs(FUZZROOT, [c_alpha("a")], header=0))      # odd Length
    + create("dir", n_abs(FUZZROOT, [c_alpha("a")], header=1))                    # Length > MaximumLength
    + create("dir", n_abs(FUZZROOT, [c_alpha("a")], header=2))                    # NULL Buffer
    + create("dir", n_abs(FUZZROOT, [c_alpha("a")], header=3))                    # misaligned Buffer
    + create("dir", n_abs(FUZZROOT, [C_DOTDOT]))
    + create("dir", n_abs(FUZZROOT, [C_DOT, C_EMPTY]))
    + create("dir", n_abs(FUZZROOT, [c_nul("ab", 1)]))
    + create("dir", n_abs(FUZZROOT, [c_alpha("i")], trailing=True))
    + create("dir", n_special(1)) + create("dir", n_special(1), attrs(OBJ_OPENIF))
    + ob_open(n_special(0)) + ob_open(n_special(3)) + ob_open(n_special(2))
    + create("dir", n_rel(h_live(0), [c_alpha("a")], header=4))
    + ob_open(n_rel(h_live(0), [C_DOTDOT])),
    # Long names: a 32K-character component, a name past the 64 KB path limit through a link.
    "long_names": create("dir", n_abs(FUZZROOT, [c_long(30000)]))
    + create("link", n_abs(FUZZROOT, [c_alpha("k")]), target=n_abs(FUZZROOT, [c_long(30000)]))
    + ob_open(n_abs(FUZZROOT, [c_alpha("k"), c_long(10000, "b")]))
    + ob_open(n_abs(FUZZROOT, [c_alpha("k"), c_long(2000, "b")])) + query_name(h_live(2)),
    # Explicit security descriptors, inheritance into a child, UserMode opens that run SeAccessCheck.
    "security": create("dir", n_abs(FUZZROOT, [c_alpha("S")]), sd=0xC4)
    + create("event", n_abs(FUZZROOT, [c_alpha("S"), c_alpha("e")]))
    + ob_open(n_abs(FUZZROOT, [c_alpha("S"), c_alpha("e")]), api=5, access=A_GR)
    + ob_open(n_abs(FUZZROOT, [c_alpha("S"), c_alpha("e")]), api=5, access=A_DELETE)
    + ob_open(n_abs(FUZZROOT, [c_alpha("S")]), api=0, a=attrs(0, 0), access=A_MAX)
    + create("dir", n_abs(FUZZROOT, [c_alpha("b")]), sd=0xC2) + create("dir", n_abs(FUZZROOT, [c_alpha("e")]), sd=0xC7)
    + create("event", n_abs(FUZZROOT, [c_alpha("b")]), sd=0xC6)
    + [OB_POINTER, 5, 4, T_ANY, A_GR, 0, 0],
    # Handle information: protection, inheritance, every ZwQueryObject class and length.
    "handle_info": [OB_SETFLAGS, 3] + h_live(0) + close(h_live(0)) + [OB_SETFLAGS, 0] + h_live(0)
    + query_basic(h_live(0)) + query_basic(h_live(0), 1) + [OB_QUERYOBJ, 2] + h_live(0) + [4]
    + [OB_QUERYOBJ, 4] + h_live(0) + [4] + [OB_QUERYOBJ, 3] + h_live(0) + [4]
    + query_name(h_live(1)) + close(h_live(1), user=True) + close(h_alias(0)) + close(h_live(0)),
    # Regression seeds for the bugs the fuzzer found (fixed; the harness checks the fixed behaviour).
    "regress_ref_by_pointer_link": create("link", n_abs(FUZZROOT, [c_alpha("k")]),
                                          target=n_abs(FUZZROOT, [c_alpha("s")]))
    + [OB_POINTER, 4, 4, T_DIR, A_NONE, 0, 0],
    "regress_querylink_null_buffer": create("link", n_abs(FUZZROOT, [c_alpha("k")]), target=n_special(0))
    + [OB_QUERYLINK, 0xC3] + h_live(2) + [2, 0],
    "regress_name_over_64k": create("dir", n_abs(FUZZROOT, [c_long(30000)]))
    + create("dir", n_rel(h_live(2), [c_long(30000, "b")])) + query_name(h_live(3)),
}


# ---- fuzz_io -----------------------------------------------------------------------
# Operations (op % 8 in fuzz_io.c): open, close, read, write, ioctl, cancel, sleep, query.
IO_OPEN, IO_CLOSE, IO_READ, IO_WRITE, IO_IOCTL, IO_CANCEL, IO_SLEEP, IO_QUERY = range(8)
N_NULL, N_LOOPBACK, N_FILTER, N_SUB, N_NOPE, N_DOSDEV = 0, 1, 2, 3, 5, 8
SYNC, ASYNC = 0x81, 0x00
ACC_RW_SYNC, ACC_RW = 0x0A, 0x02
# k_codes indices
C_UPPER, C_COUNT, C_REVERSE, C_NEITHER, C_DELAY, C_QUERY, C_STATS = range(7)


def io_open(name, opts=SYNC, access=ACC_RW_SYNC, disp=1, attrs=1, share=7):
    return [IO_OPEN, name, attrs, disp, opts, share, access]


def io_len(n):
    """Length class 1 (1..16 bytes)."""
    return [1, (n - 1) % 16]


def io_rw(op, slot, n, offb=1, eb=0):
    return [op, slot] + io_len(n) + [offb, eb]


def io_ioctl(slot, code, n_in, n_out, flags=0, delay=0):
    return [IO_IOCTL, slot, code] + io_len(n_in) + io_len(n_out) + [flags] + list(struct.pack("<H", delay))


io_seeds = {
    "null_rw": io_open(N_NULL) + io_rw(IO_WRITE, 0, 8) + io_rw(IO_READ, 0, 8) + [IO_CLOSE, 0],
    "loopback_pend_then_write": io_open(N_LOOPBACK, ASYNC, ACC_RW) + io_rw(IO_READ, 0, 4, eb=4)
    + io_open(N_LOOPBACK) + io_rw(IO_WRITE, 1, 6) + [IO_CLOSE, 1, IO_CLOSE, 0],
    "loopback_cancel_read": io_open(N_LOOPBACK, ASYNC, ACC_RW) + io_rw(IO_READ, 0, 4) + [IO_CANCEL, 0, IO_CLOSE, 0],
    "delay_and_cancel": io_open(N_FILTER, ASYNC, ACC_RW) + io_ioctl(0, C_DELAY, 4, 0, delay=50)
    + io_ioctl(0, C_DELAY, 4, 0, delay=1) + [IO_SLEEP, 3, IO_CANCEL, 0, IO_CLOSE, 0],
    "ioctl_methods": io_open(N_LOOPBACK) + io_ioctl(0, C_UPPER, 8, 16) + io_ioctl(0, C_COUNT, 1, 16)
    + io_ioctl(0, C_REVERSE, 8, 8) + io_ioctl(0, C_NEITHER, 8, 8) + io_ioctl(0, C_REVERSE, 8, 4)
    + io_ioctl(0, C_UPPER, 8, 8, flags=3) + [IO_QUERY, 0, IO_QUERY, 0x10, IO_CLOSE, 0],
    "bad_names": io_open(N_NOPE) + io_open(N_DOSDEV) + io_open(N_SUB) + [IO_CLOSE, 0]
    + io_open(N_LOOPBACK, disp=2) + io_open(N_LOOPBACK, disp=7) + io_open(0x1F),
    "close_with_pending": io_open(N_LOOPBACK, ASYNC, ACC_RW) + io_rw(IO_READ, 0, 16, eb=5)
    + io_ioctl(0, C_DELAY, 4, 0, delay=70) + io_rw(IO_WRITE, 0, 2),
}


# ---- fuzz_schedule ---------------------------------------------------------------
# byte 0: CPUs - 2, byte 1: workers - 2, per worker: op count - 1, then (op, arg)
# pairs; the rest is the schedule: a byte per decision, rank = byte % runnable CPUs.
S_SET, S_CLEAR, S_WAIT, S_WAITANY, S_SEMREL, S_SEMWAIT, S_LOCKS, S_TRY = 0, 1, 2, 3, 4, 5, 6, 7
S_DPCIN, S_DPCRM, S_TSET, S_TCANCEL, S_IRPNEW, S_IRPCANCEL, S_IRPDONE, S_DELAY = 8, 9, 10, 11, 12, 13, 14, 15


def sched(cpus, workers, schedule=()):
    out = [cpus - 2, len(workers) - 2]
    for ops in workers:
        out.append(len(ops) - 1)
        for op, arg in ops:
            out += [op, arg]
    return out + list(schedule)


schedule_seeds = {
    "events": sched(2, [[(S_WAIT, 0x06), (S_SET, 1)], [(S_SET, 0), (S_WAIT, 0x07), (S_CLEAR, 0)]], [3, 1, 5, 1]),
    "semaphore": sched(2, [[(S_SEMREL, 0), (S_SEMWAIT, 2)], [(S_WAITANY, 4), (S_SEMREL, 0)]], [2, 1]),
    "locks": sched(3, [[(S_LOCKS, 0x3F)], [(S_LOCKS, 0x1D), (S_TRY, 0x1F)], [(S_LOCKS, 0x98)]], [4, 1, 4, 2, 9, 1]),
    "dpcs": sched(2, [[(S_DPCIN, 0), (S_DPCRM, 0), (S_DPCIN, 1)], [(S_DPCRM, 1), (S_DPCIN, 0)]], [1, 1, 2, 1]),
    "timers": sched(4, [[(S_TSET, 2), (S_DELAY, 2), (S_TCANCEL, 0)], [(S_TSET, 0), (S_TCANCEL, 0), (S_TSET, 4)]],
                    [6, 0x81, 3, 1]),
    "irp_cancel_vs_complete": sched(2, [[(S_IRPNEW, 0), (S_IRPCANCEL, 0)], [(S_DELAY, 0), (S_IRPDONE, 0)]],
                                    [5, 1, 2, 1, 2, 1]),
    # one primitive contended by two or three workers at once
    "fast_mutex_contention": sched(2, [[(S_LOCKS, 0x04)] * 4, [(S_LOCKS, 0x04)] * 4]),
    "eresource_contention": sched(3, [[(S_LOCKS, 0x08)] * 3, [(S_LOCKS, 0x88)] * 3, [(S_LOCKS, 0x08)] * 3]),
    "push_lock_contention": sched(2, [[(S_LOCKS, 0x10)] * 3, [(S_LOCKS, 0x90)] * 3, [(S_TRY, 0x10)] * 3]),
    "kmutex_contention": sched(2, [[(S_LOCKS, 0x01)] * 3, [(S_LOCKS, 0x03)] * 3]),
    "irp_race": sched(2, [[(S_IRPNEW, 0), (S_IRPCANCEL, 0)], [(S_IRPNEW, 0), (S_IRPDONE, 0)]]),
    "mix4": sched(4, [[(S_LOCKS, 0x0C), (S_SET, 1), (S_IRPNEW, 1)], [(S_WAIT, 3), (S_IRPCANCEL, 1)],
                      [(S_IRPDONE, 1), (S_DPCIN, 0), (S_LOCKS, 0xB0)], [(S_TSET, 0), (S_SEMREL, 0), (S_SEMWAIT, 2)]],
                  [2, 1, 2, 2, 2, 3, 7, 1]),
}


# Each seed also comes with a pseudo-random schedule tail (fixed RNG seed, so the
# files are reproducible): libFuzzer mutates from these, and a seed whose
# schedule ends early runs without preemption from there on, which starts the
# search from the least interleaved runs.
def with_random_schedule(data, n=384, seed=0x5EED):
    import random
    rng = random.Random(seed + len(data))
    return data + [rng.randrange(256) for _ in range(n)]


def main():
    for name, data in string_seeds.items():
        write("fuzz_rtl_string", name, data)
    for name, data in format_seeds.items():
        write("fuzz_rtl_format", name, data)
    for name, data in bitmap_seeds.items():
        write("fuzz_rtl_bitmap_avl", name, data)
    for name, data in ob_seeds.items():
        write("fuzz_ob", name, data)
    for name, data in io_seeds.items():
        write("fuzz_io", name, data)
    for name, data in schedule_seeds.items():
        write("fuzz_schedule", name, data)
        write("fuzz_schedule", name + "_random_schedule", with_random_schedule(data))


if __name__ == "__main__":
    main()
