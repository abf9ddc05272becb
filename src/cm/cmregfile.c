/*
 * Registry text: import and export of the .reg format regedit writes
 * ("REGEDIT4" or "Windows Registry Editor Version 5.00").
 *
 * Accepted input: UTF-8 (optional BOM; 3-byte encodings of lone surrogates
 * are taken as written, so any name survives an export/import round trip)
 * or UTF-16LE with BOM. Lines end in LF or CRLF; ';' starts a comment
 * line; a value line ending in '\' continues on the next line. Key lines:
 * [path] opens or creates the key (and missing parents), [-path] deletes
 * the subtree. path starts with HKEY_LOCAL_MACHINE (HKLM), HKEY_USERS (HKU),
 * HKEY_CURRENT_USER (HKCU, here \REGISTRY\USER\.DEFAULT),
 * HKEY_CLASSES_ROOT (HKCR), HKEY_CURRENT_CONFIG, or is an NT path starting
 * with \REGISTRY. Value lines: "name"=... or @=... (the default value),
 * with data "string" (REG_SZ; \\ \" \n \r \0 escapes, as in names),
 * dword:XXXXXXXX, hex:bytes (REG_BINARY), hex(T):bytes (type T in hex; in a
 * REGEDIT4 file hex(2) and hex(7) bytes are single-byte characters, widened),
 * or - (delete the value). A key that receives "SymbolicLinkValue" of type
 * hex(6) while still empty becomes a registry link (as CurrentControlSet
 * is); a link's own key line opens the link, not its target.
 *
 * Export writes "Windows Registry Editor Version 5.00" in UTF-8 with LF line
 * ends: each key in depth-first order (subkeys in the registry's sorted
 * order, values in their stored order), a REG_SZ as a string when it is one
 * NUL-terminated string, a 4-byte REG_DWORD as dword:, everything else as
 * hex(T): bytes wrapped after 25 bytes. Links are written as links.
 * Volatility is not part of the format: an imported key is non-volatile.
 *
 * Locking: the whole import or export runs under CmpRegistryLock
 * (exclusive for import, shared for export) and works on nodes directly,
 * so it calls no registry callbacks (it is the registry's own loader).
 * PASSIVE_LEVEL.
 */
#include "cmp.h"

/* ---- text decoding ---------------------------------------------------------------------------- */

static PWCHAR CmpDecodeText(PCSTR Text, SIZE_T Length, PSIZE_T Count)
{
    const UCHAR *s = (const UCHAR *)Text;
    if (Length >= 2 && s[0] == 0xFF && s[1] == 0xFE) {
        SIZE_T n = (Length - 2) / 2;
        PWCHAR w = ExAllocatePoolWithTag(PagedPool, (n + 1) * sizeof(WCHAR), CM_TAG_TEMP);
        if (w == NULL)
            return NULL;
        for (SIZE_T i = 0; i < n; i++)
            w[i] = (WCHAR)(s[2 + 2 * i] | (s[3 + 2 * i] << 8));
        *Count = n;
        return w;
    }
    SIZE_T i = 0;
    if (Length >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        i = 3;
    PWCHAR w = ExAllocatePoolWithTag(PagedPool, (Length + 1) * sizeof(WCHAR), CM_TAG_TEMP);
    if (w == NULL)
        return NULL;
    SIZE_T n = 0;
    while (i < Length) {
        UCHAR c = s[i];
        ULONG cp;
        ULONG need;
        if (c < 0x80) {
            cp = c;
            need = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            need = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            need = 2;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            need = 3;
        } else {
            w[n++] = 0xFFFD;
            i++;
            continue;
        }
        BOOLEAN bad = FALSE;
        for (ULONG k = 1; k <= need; k++) {
            if (i + k >= Length || (s[i + k] & 0xC0) != 0x80) {
                bad = TRUE;
                break;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (bad || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (need == 2 && cp < 0x800) ||
            (need == 1 && cp < 0x80)) {
            w[n++] = 0xFFFD;
            i++;
            continue;
        }
        i += need + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            w[n++] = (WCHAR)(0xD800 | (cp >> 10));
            w[n++] = (WCHAR)(0xDC00 | (cp & 0x3FF));
        } else {
            w[n++] = (WCHAR)cp;
        }
    }
    *Count = n;
    return w;
}

/* ---- import ---------------------------------------------------------------------------------- */

typedef struct _CMP_IMPORT {
    PWCHAR Text;
    SIZE_T Count;
    SIZE_T Pos;
    ULONG Line;         /* physical line of the logical line being parsed */
    ULONG NextLine;
    BOOLEAN Regedit4;
    PCUNICODE_STRING Redirect;
    PCM_KEY_NODE Current; /* referenced, or NULL outside a key section */
    PWCHAR LineBuf;       /* the joined logical line */
    SIZE_T LineCap;
} CMP_IMPORT, *PCMP_IMPORT;

static BOOLEAN CmpIsSpace(WCHAR c)
{
    return c == L' ' || c == L'\t';
}

/* Next logical line into LineBuf; FALSE at the end of the text. */
static NTSTATUS CmpNextLine(PCMP_IMPORT I, PSIZE_T Len, PBOOLEAN Eof)
{
    SIZE_T len = 0;
    BOOLEAN continued = FALSE;
    *Eof = FALSE;
    if (I->Pos >= I->Count) {
        *Eof = TRUE;
        return STATUS_SUCCESS;
    }
    I->Line = I->NextLine;
    for (;;) {
        SIZE_T start = I->Pos, end = start;
        while (end < I->Count && I->Text[end] != L'\n')
            end++;
        I->Pos = end < I->Count ? end + 1 : end;
        I->NextLine++;
        SIZE_T e = end;
        if (e > start && I->Text[e - 1] == L'\r')
            e--;
        SIZE_T s = start;
        while (s < e && CmpIsSpace(I->Text[s]))
            s++;
        while (e > s && CmpIsSpace(I->Text[e - 1]))
            e--;
        if (continued && s < e && I->Text[s] == L';') {
            /* A comment inside a continued hex list is skipped. */
            if (I->Pos >= I->Count)
                break;
            continue;
        }
        if (len + (e - s) + 1 > I->LineCap) {
            SIZE_T cap = (len + (e - s) + 1) * 2;
            PWCHAR nb = ExAllocatePoolWithTag(PagedPool, cap * sizeof(WCHAR), CM_TAG_TEMP);
            if (nb == NULL)
                return STATUS_INSUFFICIENT_RESOURCES;
            if (len)
                RtlCopyMemory(nb, I->LineBuf, len * sizeof(WCHAR));
            if (I->LineBuf != NULL)
                ExFreePoolWithTag(I->LineBuf, CM_TAG_TEMP);
            I->LineBuf = nb;
            I->LineCap = cap;
        }
        RtlCopyMemory(I->LineBuf + len, I->Text + s, (e - s) * sizeof(WCHAR));
        len += e - s;
        /* Continuation: a value line (not a key line or comment) ending in '\'. */
        if (len > 0 && I->LineBuf[len - 1] == L'\\' && I->LineBuf[0] != L'[' && I->LineBuf[0] != L';' &&
            I->Pos < I->Count) {
            len--;
            continued = TRUE;
            continue;
        }
        break;
    }
    *Len = len;
    return STATUS_SUCCESS;
}

static BOOLEAN CmpMatch(PCWCH S, SIZE_T Len, PCWSTR Word)
{
    SIZE_T i = 0;
    for (; Word[i]; i++)
        if (i >= Len || RtlUpcaseUnicodeChar(S[i]) != RtlUpcaseUnicodeChar(Word[i]))
            return FALSE;
    return i == Len;
}

/* Maps a .reg key path to a path below the (possibly redirected) registry root, in pool. */
static NTSTATUS CmpMapKeyPath(PCMP_IMPORT I, PCWCH P, SIZE_T Len, PUNICODE_STRING Out)
{
    static const struct {
        PCWSTR Name;
        PCWSTR Target;
    } roots[] = {
        {L"HKEY_LOCAL_MACHINE", L"\\MACHINE"},
        {L"HKLM", L"\\MACHINE"},
        {L"HKEY_USERS", L"\\USER"},
        {L"HKU", L"\\USER"},
        {L"HKEY_CURRENT_USER", L"\\USER\\.DEFAULT"},
        {L"HKCU", L"\\USER\\.DEFAULT"},
        {L"HKEY_CLASSES_ROOT", L"\\MACHINE\\SOFTWARE\\Classes"},
        {L"HKCR", L"\\MACHINE\\SOFTWARE\\Classes"},
        {L"HKEY_CURRENT_CONFIG", L"\\MACHINE\\SYSTEM\\CurrentControlSet\\Hardware Profiles\\Current"},
        {L"\\REGISTRY", L""},
    };
    SIZE_T first = 0;
    while (first < Len && P[first] != L'\\')
        first++;
    if (first == 0 && Len > 0) {
        /* An NT path: its first component is REGISTRY. */
        first = 1;
        while (first < Len && P[first] != L'\\')
            first++;
    }
    PCWSTR target = NULL;
    for (ULONG r = 0; r < RTL_NUMBER_OF(roots); r++)
        if (CmpMatch(P, first, roots[r].Name))
            target = roots[r].Target;
    if (target == NULL)
        return STATUS_INVALID_PARAMETER;
    UNICODE_STRING t;
    RtlInitUnicodeString(&t, target);
    /* Paths here are below \REGISTRY: a redirection names its place the same way. */
    static const WCHAR reg[] = L"\\REGISTRY";
    UNICODE_STRING regPrefix = {sizeof(reg) - sizeof(WCHAR), sizeof(reg) - sizeof(WCHAR), (PWSTR)reg};
    UNICODE_STRING redirect = {0, 0, NULL};
    if (I->Redirect != NULL) {
        redirect = *I->Redirect;
        if (RtlPrefixUnicodeString(&regPrefix, &redirect, TRUE)) {
            redirect.Buffer += regPrefix.Length / sizeof(WCHAR);
            redirect.Length -= regPrefix.Length;
        }
    }
    SIZE_T redirectLen = redirect.Length;
    SIZE_T total = redirectLen + t.Length + (Len - first) * sizeof(WCHAR);
    if (total > UNICODE_STRING_MAX_BYTES)
        return STATUS_INVALID_PARAMETER;
    PWCHAR buf = ExAllocatePoolWithTag(PagedPool, total + sizeof(WCHAR), CM_TAG_TEMP);
    if (buf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    SIZE_T o = 0;
    if (redirectLen) {
        RtlCopyMemory(buf, redirect.Buffer, redirectLen);
        o += redirectLen;
    }
    RtlCopyMemory((PUCHAR)buf + o, t.Buffer, t.Length);
    o += t.Length;
    RtlCopyMemory((PUCHAR)buf + o, P + first, (Len - first) * sizeof(WCHAR));
    Out->Buffer = buf;
    Out->Length = Out->MaximumLength = (USHORT)total;
    return STATUS_SUCCESS;
}

/* Walks (creating when asked) Path below \REGISTRY, one component at a time. */
static NTSTATUS CmpImportWalk(PCUNICODE_STRING Path, BOOLEAN Create, PCM_KEY_NODE *Result)
{
    *Result = NULL;
    PCM_KEY_NODE cur = CmpRootNode;
    CmpReferenceNode(cur);
    USHORT n = Path->Length / sizeof(WCHAR), i = 0;
    NTSTATUS status = STATUS_SUCCESS;
    while (i < n) {
        while (i < n && Path->Buffer[i] == L'\\')
            i++;
        if (i >= n)
            break;
        USHORT s = i;
        while (i < n && Path->Buffer[i] != L'\\')
            i++;
        BOOLEAN last = TRUE;
        for (USHORT k = i; k < n; k++)
            if (Path->Buffer[k] != L'\\')
                last = FALSE;
        UNICODE_STRING comp = {(USHORT)((i - s) * sizeof(WCHAR)), (USHORT)((i - s) * sizeof(WCHAR)),
                               Path->Buffer + s};
        CM_LOOKUP L;
        RtlZeroMemory(&L, sizeof(L));
        L.Start = cur;
        L.Path = &comp;
        L.OpenLink = last;
        L.Create = Create;
        L.AccessMode = KernelMode;
        status = CmpLookup(&L);
        if (L.Parent != NULL)
            CmpDereferenceNode(L.Parent);
        CmpDereferenceNode(cur);
        cur = NULL;
        if (!NT_SUCCESS(status))
            break;
        cur = L.Result;
    }
    if (NT_SUCCESS(status))
        *Result = cur;
    return status;
}

/* Deletes a subtree bottom-up (exclusive lock held); Top is referenced by the caller. */
static VOID CmpDeleteTree(PCM_KEY_NODE Top)
{
    PCM_KEY_NODE cur = Top;
    while (!(Top->Flags & CM_KEY_DELETED)) {
        if (cur->SubKeyCount != 0) {
            cur = cur->SubKeys[cur->SubKeyCount - 1];
            continue;
        }
        PCM_KEY_NODE parent = cur->Parent;
        BOOLEAN top = cur == Top;
        if (!NT_SUCCESS(CmpDeleteNode(cur)))
            return; /* a hive root: not deletable, nor are its ancestors */
        if (top)
            return;
        cur = parent;
    }
}

static LONG CmpHexDigit(WCHAR c)
{
    if (c >= L'0' && c <= L'9')
        return c - L'0';
    if (c >= L'a' && c <= L'f')
        return c - L'a' + 10;
    if (c >= L'A' && c <= L'F')
        return c - L'A' + 10;
    return -1;
}

/* A quoted string starting at *Pos (on the opening quote); decoded into Out (WCHARs). */
static BOOLEAN CmpParseQuoted(PCWCH L, SIZE_T Len, PSIZE_T Pos, PWCHAR Out, PSIZE_T OutLen)
{
    SIZE_T i = *Pos + 1, o = 0;
    while (i < Len && L[i] != L'"') {
        WCHAR c = L[i++];
        if (c == L'\\') {
            if (i >= Len)
                return FALSE;
            c = L[i++];
            if (c == L'n')
                c = L'\n';
            else if (c == L'r')
                c = L'\r';
            else if (c == L'0')
                c = 0;
        }
        Out[o++] = c;
    }
    if (i >= Len)
        return FALSE;
    *Pos = i + 1;
    *OutLen = o;
    return TRUE;
}

static NTSTATUS CmpImportValue(PCMP_IMPORT I, PCWCH L, SIZE_T Len)
{
    if (I->Current == NULL)
        return STATUS_INVALID_PARAMETER;
    /* Scratch for the name and for data: at most one WCHAR (or byte) per character. */
    PWCHAR scratch = ExAllocatePoolWithTag(PagedPool, (Len + 1) * sizeof(WCHAR) * 2, CM_TAG_TEMP);
    if (scratch == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PWCHAR name = scratch, data = scratch + Len + 1, widened = NULL;
    SIZE_T nameLen = 0, pos = 0;
    NTSTATUS status = STATUS_INVALID_PARAMETER;
    if (L[0] == L'@') {
        pos = 1;
    } else if (!CmpParseQuoted(L, Len, &pos, name, &nameLen)) {
        goto out;
    }
    while (pos < Len && CmpIsSpace(L[pos]))
        pos++;
    if (pos >= Len || L[pos] != L'=')
        goto out;
    pos++;
    while (pos < Len && CmpIsSpace(L[pos]))
        pos++;
    if (nameLen * sizeof(WCHAR) > CM_MAX_VALUE_NAME_BYTES)
        goto out;
    UNICODE_STRING vn = {(USHORT)(nameLen * sizeof(WCHAR)), (USHORT)(nameLen * sizeof(WCHAR)), name};
    PCWCH d = L + pos;
    SIZE_T dl = Len - pos;
    ULONG type;
    PVOID bytes = data;
    ULONG byteLen = 0;
    if (dl == 1 && d[0] == L'-') {
        NTSTATUS s = CmpDeleteValue(I->Current, &vn);
        if (NT_SUCCESS(s))
            CmpReportChange(I->Current, REG_NOTIFY_CHANGE_LAST_SET);
        status = STATUS_SUCCESS; /* deleting a missing value is not an error in .reg */
        goto out;
    }
    if (dl >= 1 && d[0] == L'"') {
        SIZE_T p = 0, n;
        if (!CmpParseQuoted(d, dl, &p, data, &n) || p != dl)
            goto out;
        data[n] = 0;
        type = REG_SZ;
        byteLen = (ULONG)((n + 1) * sizeof(WCHAR));
    } else if (dl > 6 && CmpMatch(d, 6, L"dword:")) {
        if (dl - 6 > 8)
            goto out;
        ULONG v = 0;
        for (SIZE_T k = 6; k < dl; k++) {
            LONG h = CmpHexDigit(d[k]);
            if (h < 0)
                goto out;
            v = (v << 4) | (ULONG)h;
        }
        type = REG_DWORD;
        RtlCopyMemory(data, &v, sizeof(v));
        byteLen = sizeof(v);
    } else if (dl >= 4 && CmpMatch(d, 3, L"hex")) {
        SIZE_T k = 3;
        type = REG_BINARY;
        if (d[k] == L'(') {
            ULONG t = 0;
            SIZE_T digits = 0;
            k++;
            while (k < dl && CmpHexDigit(d[k]) >= 0 && digits < 8) {
                t = (t << 4) | (ULONG)CmpHexDigit(d[k++]);
                digits++;
            }
            if (digits == 0 || k >= dl || d[k] != L')')
                goto out;
            k++;
            type = t;
        }
        if (k >= dl || d[k] != L':')
            goto out;
        k++;
        PUCHAR b = (PUCHAR)data;
        for (;;) {
            while (k < dl && CmpIsSpace(d[k]))
                k++;
            if (k >= dl)
                break;
            LONG h1 = CmpHexDigit(d[k]);
            if (h1 < 0)
                goto out;
            ULONG v = (ULONG)h1;
            k++;
            if (k < dl && CmpHexDigit(d[k]) >= 0)
                v = (v << 4) | (ULONG)CmpHexDigit(d[k++]);
            b[byteLen++] = (UCHAR)v;
            while (k < dl && CmpIsSpace(d[k]))
                k++;
            if (k >= dl)
                break;
            if (d[k] != L',')
                goto out;
            k++;
        }
        if (I->Regedit4 && (type == REG_EXPAND_SZ || type == REG_MULTI_SZ) && byteLen != 0) {
            /* REGEDIT4 stores these strings in single-byte characters. */
            widened = ExAllocatePoolWithTag(PagedPool, (SIZE_T)byteLen * sizeof(WCHAR), CM_TAG_TEMP);
            if (widened == NULL) {
                status = STATUS_INSUFFICIENT_RESOURCES;
                goto out;
            }
            for (ULONG j = 0; j < byteLen; j++)
                widened[j] = b[j];
            bytes = widened;
            byteLen *= sizeof(WCHAR);
        }
    } else {
        goto out;
    }
    if (type == REG_LINK && vn.Length == sizeof(L"SymbolicLinkValue") - sizeof(WCHAR) &&
        !(I->Current->Flags & CM_KEY_LINK)) {
        UNICODE_STRING linkName;
        RtlInitUnicodeString(&linkName, L"SymbolicLinkValue");
        /* A fresh empty key becomes a link (regedit has no other way to say so). */
        if (RtlEqualUnicodeString(&vn, &linkName, TRUE) && I->Current->SubKeyCount == 0 &&
            I->Current->ValueCount == 0 && !(I->Current->Flags & CM_KEY_NO_DELETE))
            I->Current->Flags |= CM_KEY_LINK;
    }
    status = CmpSetValue(I->Current, &vn, type, bytes, byteLen);
    if (NT_SUCCESS(status))
        CmpReportChange(I->Current, REG_NOTIFY_CHANGE_LAST_SET);
out:
    if (widened != NULL)
        ExFreePoolWithTag(widened, CM_TAG_TEMP);
    ExFreePoolWithTag(scratch, CM_TAG_TEMP);
    return status;
}

static NTSTATUS CmpImportLine(PCMP_IMPORT I, PCWCH L, SIZE_T Len)
{
    if (Len == 0 || L[0] == L';' || L[0] == L'#')
        return STATUS_SUCCESS;
    if (L[0] == L'[') {
        if (I->Current != NULL) {
            CmpDereferenceNode(I->Current);
            I->Current = NULL;
        }
        if (Len < 3 || L[Len - 1] != L']')
            return STATUS_INVALID_PARAMETER;
        BOOLEAN del = L[1] == L'-';
        PCWCH p = L + 1 + del;
        SIZE_T pl = Len - 2 - del;
        UNICODE_STRING path;
        NTSTATUS status = CmpMapKeyPath(I, p, pl, &path);
        if (!NT_SUCCESS(status))
            return status;
        PCM_KEY_NODE node;
        status = CmpImportWalk(&path, !del, &node);
        ExFreePoolWithTag(path.Buffer, CM_TAG_TEMP);
        if (del) {
            if (status == STATUS_OBJECT_NAME_NOT_FOUND)
                return STATUS_SUCCESS; /* deleting what is not there is fine */
            if (!NT_SUCCESS(status))
                return status;
            CmpDeleteTree(node);
            CmpDereferenceNode(node);
            return STATUS_SUCCESS;
        }
        if (!NT_SUCCESS(status))
            return status;
        I->Current = node;
        return STATUS_SUCCESS;
    }
    if (L[0] == L'"' || L[0] == L'@')
        return CmpImportValue(I, L, Len);
    return STATUS_INVALID_PARAMETER;
}

NTSTATUS CmImportRegistryText(PCSTR Text, SIZE_T Length, PCUNICODE_STRING RedirectRoot, PULONG ErrorLine)
{
    if (ErrorLine != NULL)
        *ErrorLine = 0;
    if (Text == NULL && Length != 0)
        return STATUS_INVALID_PARAMETER;
    if (RedirectRoot != NULL && (RedirectRoot->Length & 1))
        return STATUS_INVALID_PARAMETER;
    CMP_IMPORT I;
    RtlZeroMemory(&I, sizeof(I));
    I.Redirect = RedirectRoot;
    I.NextLine = 1;
    I.Text = CmpDecodeText(Text, Length, &I.Count);
    if (I.Text == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS status = STATUS_SUCCESS;
    BOOLEAN header = FALSE;
    CmpLockExclusive();
    for (;;) {
        SIZE_T len;
        BOOLEAN eof;
        status = CmpNextLine(&I, &len, &eof);
        if (!NT_SUCCESS(status) || eof)
            break;
        if (!header) {
            if (len == 0)
                continue;
            if (CmpMatch(I.LineBuf, len, L"REGEDIT4")) {
                I.Regedit4 = TRUE;
            } else if (!CmpMatch(I.LineBuf, len, L"Windows Registry Editor Version 5.00")) {
                status = STATUS_INVALID_PARAMETER;
                break;
            }
            header = TRUE;
            continue;
        }
        status = CmpImportLine(&I, I.LineBuf, len);
        if (!NT_SUCCESS(status))
            break;
    }
    if (NT_SUCCESS(status) && !header) {
        I.Line = I.NextLine;
        status = STATUS_INVALID_PARAMETER;
    }
    if (I.Current != NULL)
        CmpDereferenceNode(I.Current);
    CmpUnlock();
    if (!NT_SUCCESS(status) && ErrorLine != NULL)
        *ErrorLine = I.Line;
    if (I.LineBuf != NULL)
        ExFreePoolWithTag(I.LineBuf, CM_TAG_TEMP);
    ExFreePoolWithTag(I.Text, CM_TAG_TEMP);
    return status;
}

/* ---- export ---------------------------------------------------------------------------------- */

typedef struct _CMP_OUT {
    PCHAR Buf;
    SIZE_T Len;
    SIZE_T Cap;
    BOOLEAN Failed;
} CMP_OUT, *PCMP_OUT;

static VOID CmpPutBytes(PCMP_OUT O, PCSTR S, SIZE_T N)
{
    if (O->Failed)
        return;
    if (O->Len + N > O->Cap) {
        SIZE_T cap = (O->Len + N) * 2 + 256;
        PCHAR nb = ExAllocatePoolWithTag(PagedPool, cap, CM_TAG_EXPORT);
        if (nb == NULL) {
            O->Failed = TRUE;
            return;
        }
        if (O->Len)
            RtlCopyMemory(nb, O->Buf, O->Len);
        if (O->Buf != NULL)
            ExFreePoolWithTag(O->Buf, CM_TAG_EXPORT);
        O->Buf = nb;
        O->Cap = cap;
    }
    RtlCopyMemory(O->Buf + O->Len, S, N);
    O->Len += N;
}

static VOID CmpPuts(PCMP_OUT O, PCSTR S)
{
    SIZE_T n = 0;
    while (S[n])
        n++;
    CmpPutBytes(O, S, n);
}

/* UTF-16 to UTF-8; a lone surrogate is written as its own 3-byte form. */
static VOID CmpPutWide(PCMP_OUT O, PCWCH W, SIZE_T N, BOOLEAN Escape)
{
    for (SIZE_T i = 0; i < N; i++) {
        ULONG c = W[i];
        if (Escape) {
            if (c == L'\\' || c == L'"') {
                CHAR e[2] = {'\\', (CHAR)c};
                CmpPutBytes(O, e, 2);
                continue;
            }
            if (c == L'\n' || c == L'\r' || c == 0) {
                CHAR e[2] = {'\\', c == L'\n' ? 'n' : c == L'\r' ? 'r' : '0'};
                CmpPutBytes(O, e, 2);
                continue;
            }
        }
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < N && W[i + 1] >= 0xDC00 && W[i + 1] < 0xE000) {
            c = 0x10000 + ((c - 0xD800) << 10) + (W[i + 1] - 0xDC00);
            i++;
        }
        CHAR b[4];
        SIZE_T n;
        if (c < 0x80) {
            b[0] = (CHAR)c;
            n = 1;
        } else if (c < 0x800) {
            b[0] = (CHAR)(0xC0 | (c >> 6));
            b[1] = (CHAR)(0x80 | (c & 0x3F));
            n = 2;
        } else if (c < 0x10000) {
            b[0] = (CHAR)(0xE0 | (c >> 12));
            b[1] = (CHAR)(0x80 | ((c >> 6) & 0x3F));
            b[2] = (CHAR)(0x80 | (c & 0x3F));
            n = 3;
        } else {
            b[0] = (CHAR)(0xF0 | (c >> 18));
            b[1] = (CHAR)(0x80 | ((c >> 12) & 0x3F));
            b[2] = (CHAR)(0x80 | ((c >> 6) & 0x3F));
            b[3] = (CHAR)(0x80 | (c & 0x3F));
            n = 4;
        }
        CmpPutBytes(O, b, n);
    }
}

static VOID CmpPutHex(PCMP_OUT O, ULONG V, ULONG Digits)
{
    static const char hex[] = "0123456789abcdef";
    CHAR b[8];
    if (Digits == 0) {
        /* As few digits as the value needs (hex(b), hex(0)). */
        Digits = 1;
        while (Digits < 8 && (V >> (4 * Digits)) != 0)
            Digits++;
    }
    for (ULONG i = 0; i < Digits; i++)
        b[i] = hex[(V >> (4 * (Digits - 1 - i))) & 0xF];
    CmpPutBytes(O, b, Digits);
}

static BOOLEAN CmpIsPlainString(PCM_VALUE V)
{
    if (V->Type != REG_SZ || V->DataLength < sizeof(WCHAR) || (V->DataLength & 1))
        return FALSE;
    PCWCH w = (PCWCH)V->Data;
    ULONG n = V->DataLength / sizeof(WCHAR);
    if (w[n - 1] != 0)
        return FALSE;
    for (ULONG i = 0; i + 1 < n; i++)
        if (w[i] == 0)
            return FALSE;
    return TRUE;
}

static VOID CmpExportKeyLine(PCMP_OUT O, PCM_KEY_NODE Node, PWCHAR NameBuf, ULONG NameLen)
{
    static const WCHAR machine[] = L"\\REGISTRY\\MACHINE", user[] = L"\\REGISTRY\\USER";
    CmpWriteFullName(Node, NameBuf, NameLen);
    UNICODE_STRING full = {(USHORT)NameLen, (USHORT)NameLen, NameBuf};
    CmpPuts(O, "[");
    struct {
        PCWSTR Prefix;
        USHORT Bytes;
        PCSTR Root;
    } maps[] = {{machine, sizeof(machine) - sizeof(WCHAR), "HKEY_LOCAL_MACHINE"},
                {user, sizeof(user) - sizeof(WCHAR), "HKEY_USERS"}};
    BOOLEAN mapped = FALSE;
    for (ULONG m = 0; m < 2 && !mapped; m++) {
        UNICODE_STRING pre = {maps[m].Bytes, maps[m].Bytes, (PWSTR)maps[m].Prefix};
        if (full.Length >= pre.Length && RtlPrefixUnicodeString(&pre, &full, TRUE) &&
            (full.Length == pre.Length || full.Buffer[pre.Length / sizeof(WCHAR)] == L'\\')) {
            CmpPuts(O, maps[m].Root);
            CmpPutWide(O, full.Buffer + pre.Length / sizeof(WCHAR), (full.Length - pre.Length) / sizeof(WCHAR),
                       FALSE);
            mapped = TRUE;
        }
    }
    if (!mapped)
        CmpPutWide(O, full.Buffer, full.Length / sizeof(WCHAR), FALSE);
    CmpPuts(O, "]\n");
}

static VOID CmpExportValue(PCMP_OUT O, PCM_VALUE V)
{
    if (V->Name.Length == 0) {
        CmpPuts(O, "@=");
    } else {
        CmpPuts(O, "\"");
        CmpPutWide(O, V->Name.Buffer, V->Name.Length / sizeof(WCHAR), TRUE);
        CmpPuts(O, "\"=");
    }
    if (CmpIsPlainString(V)) {
        CmpPuts(O, "\"");
        CmpPutWide(O, (PCWCH)V->Data, V->DataLength / sizeof(WCHAR) - 1, TRUE);
        CmpPuts(O, "\"\n");
        return;
    }
    if (V->Type == REG_DWORD && V->DataLength == sizeof(ULONG)) {
        ULONG d;
        RtlCopyMemory(&d, V->Data, sizeof(d));
        CmpPuts(O, "dword:");
        CmpPutHex(O, d, 8);
        CmpPuts(O, "\n");
        return;
    }
    if (V->Type == REG_BINARY) {
        CmpPuts(O, "hex:");
    } else {
        CmpPuts(O, "hex(");
        CmpPutHex(O, V->Type, 0);
        CmpPuts(O, "):");
    }
    for (ULONG i = 0; i < V->DataLength; i++) {
        CmpPutHex(O, V->Data[i], 2);
        if (i + 1 < V->DataLength) {
            CmpPuts(O, ",");
            if ((i + 1) % 25 == 0)
                CmpPuts(O, "\\\n  ");
        }
    }
    CmpPuts(O, "\n");
}

NTSTATUS CmExportRegistryText(PCUNICODE_STRING KeyPath, PCHAR *Text, PSIZE_T Length)
{
    if (KeyPath == NULL || Text == NULL || Length == NULL || (KeyPath->Length & 1))
        return STATUS_INVALID_PARAMETER;
    *Text = NULL;
    *Length = 0;
    static const WCHAR prefix[] = L"\\REGISTRY";
    UNICODE_STRING pre = {sizeof(prefix) - sizeof(WCHAR), sizeof(prefix) - sizeof(WCHAR), (PWSTR)prefix};
    if (KeyPath->Length < pre.Length || !RtlPrefixUnicodeString(&pre, KeyPath, TRUE) ||
        (KeyPath->Length > pre.Length && KeyPath->Buffer[pre.Length / sizeof(WCHAR)] != L'\\'))
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    UNICODE_STRING below = {(USHORT)(KeyPath->Length - pre.Length), (USHORT)(KeyPath->Length - pre.Length),
                            KeyPath->Buffer + pre.Length / sizeof(WCHAR)};
    CMP_OUT O = {NULL, 0, 0, FALSE};
    PWCHAR nameBuf = ExAllocatePoolWithTag(PagedPool, UNICODE_STRING_MAX_BYTES + 2 * sizeof(WCHAR), CM_TAG_TEMP);
    if (nameBuf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    CmpPuts(&O, "Windows Registry Editor Version 5.00\n");
    CmpLockShared();
    PCM_KEY_NODE top;
    NTSTATUS status = CmpImportWalk(&below, FALSE, &top);
    if (NT_SUCCESS(status)) {
        /* Depth-first, iteratively: a deep tree must not use a deep stack. */
        PCM_KEY_NODE cur = top;
        for (;;) {
            ULONG nameLen = CmpFullNameLength(cur);
            if (nameLen > UNICODE_STRING_MAX_BYTES) {
                status = STATUS_NAME_TOO_LONG;
                break;
            }
            CmpPuts(&O, "\n");
            CmpExportKeyLine(&O, cur, nameBuf, nameLen);
            for (ULONG v = 0; v < cur->ValueCount; v++)
                CmpExportValue(&O, cur->Values[v]);
            if (cur->SubKeyCount != 0 && !(cur->Flags & CM_KEY_LINK)) {
                cur = cur->SubKeys[0];
                continue;
            }
            /* Next sibling of the nearest ancestor that has one, below top. */
            while (cur != top) {
                PCM_KEY_NODE parent = cur->Parent;
                BOOLEAN found;
                ULONG at = CmpFindSubKey(parent, &cur->Name, &found);
                if (at + 1 < parent->SubKeyCount) {
                    cur = parent->SubKeys[at + 1];
                    break;
                }
                cur = parent;
            }
            if (cur == top)
                break;
        }
        CmpDereferenceNode(top);
    }
    CmpUnlock();
    ExFreePoolWithTag(nameBuf, CM_TAG_TEMP);
    if (NT_SUCCESS(status) && O.Failed)
        status = STATUS_INSUFFICIENT_RESOURCES;
    if (!NT_SUCCESS(status)) {
        if (O.Buf != NULL)
            ExFreePoolWithTag(O.Buf, CM_TAG_EXPORT);
        return status;
    }
    *Text = O.Buf;
    *Length = O.Len;
    return STATUS_SUCCESS;
}
