/*
 * Run-time library generic table, AVL flavour (RTL_AVL_TABLE).
 *
 * Representation, as drivers and debugger extensions expect it:
 *  - Every element is one allocation from the table's AllocateRoutine of
 *    sizeof(RTL_BALANCED_LINKS) + BufferSize bytes; the RTL_BALANCED_LINKS header
 *    sits at offset 0 and the caller's data immediately follows it (offset 0x20).
 *    Every pointer handed back to callers is that data pointer; the FreeRoutine
 *    receives the allocation start (the header).
 *  - Table->BalancedRoot is a sentinel: its RightChild is the real root, its
 *    LeftChild is NULL, its Parent points to itself, and the real root's Parent
 *    points to the sentinel. Walking up therefore always ends at the sentinel.
 *  - Balance is height(RightChild) - height(LeftChild), kept in {-1, 0, +1}.
 *  - DepthOfTree is the height of the tree (0 when empty, 1 for a single node).
 *  - The CompareRoutine is always called as (Table, caller's buffer, element data).
 *  - Elements never move once inserted: deletion relinks nodes instead of copying
 *    data between them, so data pointers held by callers stay valid until their
 *    own element is deleted.
 *  - OrderedPointer/WhichOrderedElement cache the last RtlGetElementGenericTableAvl
 *    position (WhichOrderedElement is the 1-based index, 0 = no cache); any
 *    insertion or deletion drops the cache.
 *  - RestartKey (the table's, for RtlEnumerateGenericTableAvl) holds the node last
 *    returned; deleting that node moves it to the node's in-order predecessor so
 *    the enumeration continues with the deleted node's successor.
 */
#include <ntos/rtl.h>

/* Returned by a MatchFunction of RtlEnumerateGenericTableLikeADirectory to end
 * the enumeration. Not in ntstatus.h yet; value from the WDK's ntstatus.h. */
#ifndef STATUS_NO_MORE_MATCHES
#define STATUS_NO_MORE_MATCHES ((NTSTATUS)0xC0000273L)
#endif

#define RTLP_ROOT(t) ((t)->BalancedRoot.RightChild)
#define RTLP_SENTINEL(t) (&(t)->BalancedRoot)

static inline PVOID RtlpNodeData(PRTL_BALANCED_LINKS Node)
{
    return (PVOID)((PUCHAR)Node + sizeof(RTL_BALANCED_LINKS));
}

static inline RTL_GENERIC_COMPARE_RESULTS RtlpCompare(PRTL_AVL_TABLE Table, PVOID Buffer,
                                                      PRTL_BALANCED_LINKS Node)
{
    return Table->CompareRoutine(Table, Buffer, RtlpNodeData(Node));
}

static PRTL_BALANCED_LINKS RtlpMinimum(PRTL_BALANCED_LINKS Node)
{
    while (Node->LeftChild != NULL)
        Node = Node->LeftChild;
    return Node;
}

static PRTL_BALANCED_LINKS RtlpMaximum(PRTL_BALANCED_LINKS Node)
{
    while (Node->RightChild != NULL)
        Node = Node->RightChild;
    return Node;
}

/* In-order neighbours; NULL past either end (the sentinel is never returned). */
static PRTL_BALANCED_LINKS RtlpSuccessor(PRTL_AVL_TABLE Table, PRTL_BALANCED_LINKS Node)
{
    PRTL_BALANCED_LINKS parent;

    if (Node->RightChild != NULL)
        return RtlpMinimum(Node->RightChild);
    parent = Node->Parent;
    while (parent != RTLP_SENTINEL(Table) && parent->RightChild == Node) {
        Node = parent;
        parent = parent->Parent;
    }
    return parent == RTLP_SENTINEL(Table) ? NULL : parent;
}

static PRTL_BALANCED_LINKS RtlpPredecessor(PRTL_AVL_TABLE Table, PRTL_BALANCED_LINKS Node)
{
    PRTL_BALANCED_LINKS parent;

    if (Node->LeftChild != NULL)
        return RtlpMaximum(Node->LeftChild);
    parent = Node->Parent;
    /* The root hangs off the sentinel's RightChild, so this loop also stops
     * there: reaching the sentinel means Node was the minimum. */
    while (parent != RTLP_SENTINEL(Table) && parent->LeftChild == Node) {
        Node = parent;
        parent = parent->Parent;
    }
    return parent == RTLP_SENTINEL(Table) ? NULL : parent;
}

/* Points whichever child link of Parent referred to Old at New. */
static inline void RtlpReplaceChild(PRTL_BALANCED_LINKS Parent, PRTL_BALANCED_LINKS Old,
                                    PRTL_BALANCED_LINKS New)
{
    if (Parent->LeftChild == Old)
        Parent->LeftChild = New;
    else
        Parent->RightChild = New;
}

static void RtlpRotateLeft(PRTL_BALANCED_LINKS X)
{
    PRTL_BALANCED_LINKS y = X->RightChild;
    PRTL_BALANCED_LINKS parent = X->Parent;

    X->RightChild = y->LeftChild;
    if (y->LeftChild != NULL)
        y->LeftChild->Parent = X;
    y->LeftChild = X;
    X->Parent = y;
    RtlpReplaceChild(parent, X, y);
    y->Parent = parent;
}

static void RtlpRotateRight(PRTL_BALANCED_LINKS X)
{
    PRTL_BALANCED_LINKS y = X->LeftChild;
    PRTL_BALANCED_LINKS parent = X->Parent;

    X->LeftChild = y->RightChild;
    if (y->RightChild != NULL)
        y->RightChild->Parent = X;
    y->RightChild = X;
    X->Parent = y;
    RtlpReplaceChild(parent, X, y);
    y->Parent = parent;
}

/*
 * Restores the AVL property at A, whose Balance has reached -2 or +2. Returns the
 * new root of A's subtree; *Shrunk tells whether that subtree is now one level
 * shorter than it was while A was out of balance (always the case after an
 * insertion; after a deletion it is not when the taller child was balanced).
 */
static PRTL_BALANCED_LINKS RtlpRebalance(PRTL_BALANCED_LINKS A, BOOLEAN *Shrunk)
{
    if (A->Balance < 0) {
        PRTL_BALANCED_LINKS b = A->LeftChild;
        if (b->Balance <= 0) {
            RtlpRotateRight(A);
            if (b->Balance == 0) {
                A->Balance = -1;
                b->Balance = 1;
                *Shrunk = FALSE;
            } else {
                A->Balance = 0;
                b->Balance = 0;
                *Shrunk = TRUE;
            }
            return b;
        } else {
            PRTL_BALANCED_LINKS c = b->RightChild;
            RtlpRotateLeft(b);
            RtlpRotateRight(A);
            b->Balance = (CHAR)(c->Balance > 0 ? -1 : 0);
            A->Balance = (CHAR)(c->Balance < 0 ? 1 : 0);
            c->Balance = 0;
            *Shrunk = TRUE;
            return c;
        }
    } else {
        PRTL_BALANCED_LINKS b = A->RightChild;
        if (b->Balance >= 0) {
            RtlpRotateLeft(A);
            if (b->Balance == 0) {
                A->Balance = 1;
                b->Balance = -1;
                *Shrunk = FALSE;
            } else {
                A->Balance = 0;
                b->Balance = 0;
                *Shrunk = TRUE;
            }
            return b;
        } else {
            PRTL_BALANCED_LINKS c = b->LeftChild;
            RtlpRotateRight(b);
            RtlpRotateLeft(A);
            b->Balance = (CHAR)(c->Balance < 0 ? 1 : 0);
            A->Balance = (CHAR)(c->Balance > 0 ? -1 : 0);
            c->Balance = 0;
            *Shrunk = TRUE;
            return c;
        }
    }
}

/* Height of the tree, following the taller child at each level: O(log n). */
static void RtlpUpdateDepth(PRTL_AVL_TABLE Table)
{
    PRTL_BALANCED_LINKS node = RTLP_ROOT(Table);
    ULONG depth = 0;

    while (node != NULL) {
        depth++;
        node = (node->Balance < 0) ? node->LeftChild : node->RightChild;
    }
    Table->DepthOfTree = depth;
}

/* Structural changes invalidate the cached RtlGetElementGenericTableAvl position. */
static inline void RtlpDropOrderedCache(PRTL_AVL_TABLE Table)
{
    Table->OrderedPointer = NULL;
    Table->WhichOrderedElement = 0;
}

/* Walks up from a freshly attached leaf, fixing balances and rotating once. */
static void RtlpInsertFixup(PRTL_AVL_TABLE Table, PRTL_BALANCED_LINKS Node)
{
    PRTL_BALANCED_LINKS parent;

    for (;;) {
        parent = Node->Parent;
        if (parent == RTLP_SENTINEL(Table))
            return;
        parent->Balance += (parent->LeftChild == Node) ? -1 : 1;
        if (parent->Balance == 0)
            return; /* the shorter side caught up: height unchanged */
        if (parent->Balance == 2 || parent->Balance == -2) {
            BOOLEAN shrunk;
            RtlpRebalance(parent, &shrunk);
            return; /* a rotation after insertion restores the old height */
        }
        Node = parent;
    }
}

/*
 * Walks up after the subtree on one side of Node lost a level (FromLeft tells
 * which), fixing balances and rotating as often as needed.
 */
static void RtlpDeleteFixup(PRTL_AVL_TABLE Table, PRTL_BALANCED_LINKS Node, BOOLEAN FromLeft)
{
    while (Node != RTLP_SENTINEL(Table)) {
        PRTL_BALANCED_LINKS parent;

        Node->Balance += FromLeft ? 1 : -1;
        if (Node->Balance == 1 || Node->Balance == -1)
            return; /* was even: one side shrank, the subtree height did not */
        if (Node->Balance == 2 || Node->Balance == -2) {
            BOOLEAN shrunk;
            Node = RtlpRebalance(Node, &shrunk);
            if (!shrunk)
                return;
        }
        /* Node's subtree is one level shorter: tell its parent. */
        parent = Node->Parent;
        FromLeft = (BOOLEAN)(parent->LeftChild == Node);
        Node = parent;
    }
}

/* Unlinks Node from the tree (it is not freed) and rebalances. */
static void RtlpUnlink(PRTL_AVL_TABLE Table, PRTL_BALANCED_LINKS Node)
{
    PRTL_BALANCED_LINKS parent = Node->Parent;
    PRTL_BALANCED_LINKS fixFrom;
    BOOLEAN fromLeft;

    if (Node->LeftChild == NULL || Node->RightChild == NULL) {
        PRTL_BALANCED_LINKS child = Node->LeftChild != NULL ? Node->LeftChild : Node->RightChild;
        fromLeft = (BOOLEAN)(parent->LeftChild == Node);
        RtlpReplaceChild(parent, Node, child);
        if (child != NULL)
            child->Parent = parent;
        fixFrom = parent;
    } else {
        /* Two children: the in-order successor S (no left child) takes Node's
         * place in the tree, links and balance included. */
        PRTL_BALANCED_LINKS s = RtlpMinimum(Node->RightChild);
        if (s == Node->RightChild) {
            fixFrom = s;
            fromLeft = FALSE; /* S's right side is Node's old right side minus S */
        } else {
            PRTL_BALANCED_LINKS sParent = s->Parent;
            sParent->LeftChild = s->RightChild;
            if (s->RightChild != NULL)
                s->RightChild->Parent = sParent;
            s->RightChild = Node->RightChild;
            s->RightChild->Parent = s;
            fixFrom = sParent;
            fromLeft = TRUE;
        }
        s->LeftChild = Node->LeftChild;
        s->LeftChild->Parent = s;
        s->Balance = Node->Balance;
        RtlpReplaceChild(parent, Node, s);
        s->Parent = parent;
    }
    RtlpDeleteFixup(Table, fixFrom, fromLeft);
}

/*
 * Descends from the root looking for Buffer. Returns the matching node, or NULL
 * with *NodeOrParent and *Result describing where it would be inserted.
 */
static PRTL_BALANCED_LINKS RtlpFind(PRTL_AVL_TABLE Table, PVOID Buffer, PRTL_BALANCED_LINKS *NodeOrParent,
                                    TABLE_SEARCH_RESULT *Result)
{
    PRTL_BALANCED_LINKS node = RTLP_ROOT(Table);

    if (node == NULL) {
        *Result = TableEmptyTree;
        return NULL;
    }
    for (;;) {
        RTL_GENERIC_COMPARE_RESULTS cmp = RtlpCompare(Table, Buffer, node);
        if (cmp == GenericEqual) {
            *NodeOrParent = node;
            *Result = TableFoundNode;
            return node;
        }
        if (cmp == GenericLessThan) {
            if (node->LeftChild == NULL) {
                *NodeOrParent = node;
                *Result = TableInsertAsLeft;
                return NULL;
            }
            node = node->LeftChild;
        } else {
            if (node->RightChild == NULL) {
                *NodeOrParent = node;
                *Result = TableInsertAsRight;
                return NULL;
            }
            node = node->RightChild;
        }
    }
}

/* ---- exported Rtl routines ------------------------------------------------- */

NTSYSAPI VOID NTAPI RtlInitializeGenericTableAvl(PRTL_AVL_TABLE Table, PRTL_AVL_COMPARE_ROUTINE CompareRoutine,
                                                 PRTL_AVL_ALLOCATE_ROUTINE AllocateRoutine,
                                                 PRTL_AVL_FREE_ROUTINE FreeRoutine, PVOID TableContext)
{
    RtlZeroMemory(Table, sizeof(*Table));
    Table->BalancedRoot.Parent = &Table->BalancedRoot;
    Table->CompareRoutine = CompareRoutine;
    Table->AllocateRoutine = AllocateRoutine;
    Table->FreeRoutine = FreeRoutine;
    Table->TableContext = TableContext;
}

NTSYSAPI PVOID NTAPI RtlInsertElementGenericTableFullAvl(PRTL_AVL_TABLE Table, PVOID Buffer,
                                                         CLONG BufferSize, PBOOLEAN NewElement,
                                                         PVOID NodeOrParent,
                                                         TABLE_SEARCH_RESULT SearchResult)
{
    PRTL_BALANCED_LINKS parent = (PRTL_BALANCED_LINKS)NodeOrParent;
    PRTL_BALANCED_LINKS node;

    if (SearchResult == TableFoundNode) {
        /* Generic tables hold no duplicates: the existing element wins and the
         * AllocateRoutine is not called. */
        if (NewElement != NULL)
            *NewElement = FALSE;
        return RtlpNodeData(parent);
    }
    /* The allocation size is a CLONG; refuse a BufferSize it cannot carry. */
    if (BufferSize > MAXULONG - sizeof(RTL_BALANCED_LINKS)) {
        if (NewElement != NULL)
            *NewElement = FALSE;
        return NULL;
    }
    node = (PRTL_BALANCED_LINKS)Table->AllocateRoutine(Table, (CLONG)(BufferSize + sizeof(RTL_BALANCED_LINKS)));
    if (node == NULL) {
        if (NewElement != NULL)
            *NewElement = FALSE;
        return NULL;
    }
    node->LeftChild = NULL;
    node->RightChild = NULL;
    node->Balance = 0;
    node->Reserved[0] = node->Reserved[1] = node->Reserved[2] = 0;
    RtlCopyMemory(RtlpNodeData(node), Buffer, BufferSize);

    if (SearchResult == TableEmptyTree) {
        node->Parent = RTLP_SENTINEL(Table);
        RTLP_ROOT(Table) = node;
    } else {
        node->Parent = parent;
        if (SearchResult == TableInsertAsLeft)
            parent->LeftChild = node;
        else
            parent->RightChild = node;
        RtlpInsertFixup(Table, node);
    }
    Table->NumberGenericTableElements++;
    RtlpDropOrderedCache(Table);
    RtlpUpdateDepth(Table);
    if (NewElement != NULL)
        *NewElement = TRUE;
    return RtlpNodeData(node);
}

NTSYSAPI PVOID NTAPI RtlInsertElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer, CLONG BufferSize,
                                                     PBOOLEAN NewElement)
{
    PRTL_BALANCED_LINKS nodeOrParent = NULL;
    TABLE_SEARCH_RESULT result;

    RtlpFind(Table, Buffer, &nodeOrParent, &result);
    return RtlInsertElementGenericTableFullAvl(Table, Buffer, BufferSize, NewElement, nodeOrParent, result);
}

NTSYSAPI BOOLEAN NTAPI RtlDeleteElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer)
{
    PRTL_BALANCED_LINKS parent;
    TABLE_SEARCH_RESULT result;
    PRTL_BALANCED_LINKS node = RtlpFind(Table, Buffer, &parent, &result);

    if (node == NULL)
        return FALSE;
    if (Table->RestartKey == node)
        Table->RestartKey = RtlpPredecessor(Table, node);
    RtlpUnlink(Table, node);
    Table->NumberGenericTableElements--;
    Table->DeleteCount++;
    RtlpDropOrderedCache(Table);
    RtlpUpdateDepth(Table);
    Table->FreeRoutine(Table, node);
    return TRUE;
}

NTSYSAPI PVOID NTAPI RtlLookupElementGenericTableFullAvl(PRTL_AVL_TABLE Table, PVOID Buffer,
                                                         PVOID *NodeOrParent,
                                                         TABLE_SEARCH_RESULT *SearchResult)
{
    PRTL_BALANCED_LINKS where = NULL;
    PRTL_BALANCED_LINKS node = RtlpFind(Table, Buffer, &where, SearchResult);

    /* Documented: for TableEmptyTree, *NodeOrParent is left as it was. */
    if (*SearchResult != TableEmptyTree)
        *NodeOrParent = where;
    return node != NULL ? RtlpNodeData(node) : NULL;
}

NTSYSAPI PVOID NTAPI RtlLookupElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer)
{
    PRTL_BALANCED_LINKS where;
    TABLE_SEARCH_RESULT result;
    PRTL_BALANCED_LINKS node = RtlpFind(Table, Buffer, &where, &result);

    return node != NULL ? RtlpNodeData(node) : NULL;
}

/*
 * Elements equal to Buffer form one contiguous stretch of the in-order sequence
 * (the CompareRoutine is a consistent order), so the left-most one is found by
 * continuing left after every match. *RestartKey receives the matching node so
 * that RtlEnumerateGenericTableWithoutSplayingAvl continues with its successor,
 * or NULL when nothing matches.
 */
NTSYSAPI PVOID NTAPI RtlLookupFirstMatchingElementGenericTableAvl(PRTL_AVL_TABLE Table, PVOID Buffer,
                                                                  PVOID *RestartKey)
{
    PRTL_BALANCED_LINKS node = RTLP_ROOT(Table);
    PRTL_BALANCED_LINKS match = NULL;

    while (node != NULL) {
        RTL_GENERIC_COMPARE_RESULTS cmp = RtlpCompare(Table, Buffer, node);
        if (cmp == GenericEqual) {
            match = node;
            node = node->LeftChild;
        } else if (cmp == GenericLessThan) {
            node = node->LeftChild;
        } else {
            node = node->RightChild;
        }
    }
    *RestartKey = match;
    return match != NULL ? RtlpNodeData(match) : NULL;
}

/*
 * *RestartKey NULL starts at the smallest element; otherwise it names the node
 * returned last and the enumeration continues with its successor. At the end
 * NULL is returned and *RestartKey keeps the last node, so further calls keep
 * returning NULL until the caller resets it.
 */
NTSYSAPI PVOID NTAPI RtlEnumerateGenericTableWithoutSplayingAvl(PRTL_AVL_TABLE Table, PVOID *RestartKey)
{
    PRTL_BALANCED_LINKS node;

    if (*RestartKey == NULL) {
        if (RTLP_ROOT(Table) == NULL)
            return NULL;
        node = RtlpMinimum(RTLP_ROOT(Table));
    } else {
        node = RtlpSuccessor(Table, (PRTL_BALANCED_LINKS)*RestartKey);
        if (node == NULL)
            return NULL;
    }
    *RestartKey = node;
    return RtlpNodeData(node);
}

/* The AVL table is never splayed, so this is the same walk over the table's own
 * RestartKey; Restart = TRUE begins again at the smallest element. */
NTSYSAPI PVOID NTAPI RtlEnumerateGenericTableAvl(PRTL_AVL_TABLE Table, BOOLEAN Restart)
{
    PVOID key;
    PVOID data;

    if (Restart)
        Table->RestartKey = NULL;
    key = Table->RestartKey;
    data = RtlEnumerateGenericTableWithoutSplayingAvl(Table, &key);
    Table->RestartKey = (PRTL_BALANCED_LINKS)key;
    return data;
}

/*
 * Directory-style enumeration (documented semantics):
 *  - *RestartKey non-NULL and *DeleteCount equal to the table's DeleteCount:
 *    resume at the node *RestartKey names (NextFlag = TRUE skips past it).
 *  - Otherwise (first call, or elements were deleted since, so the node may be
 *    gone): position by Buffer. An exact match is returned unless NextFlag is
 *    TRUE; with no exact match the enumeration starts at the first element
 *    greater than Buffer, like a directory listing resuming after a deleted name.
 *  - With a MatchFunction, elements for which it fails are skipped and
 *    STATUS_NO_MORE_MATCHES ends the enumeration.
 *  - *RestartKey receives the last node returned or skipped, and *DeleteCount
 *    the table's DeleteCount. NULL is returned when nothing more matches.
 */
NTSYSAPI PVOID NTAPI RtlEnumerateGenericTableLikeADirectory(PRTL_AVL_TABLE Table,
                                                            PRTL_AVL_MATCH_FUNCTION MatchFunction,
                                                            PVOID MatchData, ULONG NextFlag,
                                                            PVOID *RestartKey, PULONG DeleteCount,
                                                            PVOID Buffer)
{
    PRTL_BALANCED_LINKS node;

    /* *DeleteCount is only ever refreshed together with a *RestartKey that
     * names a live node (or NULL): a key left over from before a delete must
     * not become valid again, or the next call resumes at freed memory. */
    if (RTLP_ROOT(Table) == NULL) {
        *RestartKey = NULL;
        *DeleteCount = Table->DeleteCount;
        return NULL;
    }
    if (*RestartKey != NULL && *DeleteCount == Table->DeleteCount) {
        node = (PRTL_BALANCED_LINKS)*RestartKey;
        if (NextFlag)
            node = RtlpSuccessor(Table, node);
    } else {
        PRTL_BALANCED_LINKS where = NULL;
        TABLE_SEARCH_RESULT result;
        *RestartKey = NULL;
        node = RtlpFind(Table, Buffer, &where, &result);
        if (node != NULL) {
            if (NextFlag)
                node = RtlpSuccessor(Table, node);
        } else if (result == TableInsertAsLeft) {
            node = where; /* Buffer sorts just before its would-be parent */
        } else {
            node = RtlpSuccessor(Table, where);
        }
    }
    *DeleteCount = Table->DeleteCount;

    for (; node != NULL; node = RtlpSuccessor(Table, node)) {
        if (MatchFunction != NULL) {
            NTSTATUS status = MatchFunction(Table, RtlpNodeData(node), MatchData);
            if (status == STATUS_NO_MORE_MATCHES)
                return NULL;
            *RestartKey = node;
            if (!NT_SUCCESS(status))
                continue;
        }
        *RestartKey = node;
        return RtlpNodeData(node);
    }
    return NULL;
}

/*
 * I is 0-based. The walk starts from whichever is nearest among the smallest
 * element, the largest element and the position cached by the previous call,
 * so sequential indexing costs O(1) amortised per call.
 */
NTSYSAPI PVOID NTAPI RtlGetElementGenericTableAvl(PRTL_AVL_TABLE Table, ULONG I)
{
    ULONG count = Table->NumberGenericTableElements;
    PRTL_BALANCED_LINKS node;
    ULONG at;

    if (I >= count)
        return NULL;
    /* Start from the minimum (index 0) or maximum (index count - 1)... */
    if (I <= count - 1 - I) {
        node = RtlpMinimum(RTLP_ROOT(Table));
        at = 0;
    } else {
        node = RtlpMaximum(RTLP_ROOT(Table));
        at = count - 1;
    }
    /* ...unless the cached position is closer. */
    if (Table->WhichOrderedElement != 0 && Table->OrderedPointer != NULL) {
        ULONG cached = Table->WhichOrderedElement - 1;
        ULONG distCached = cached > I ? cached - I : I - cached;
        ULONG distBest = at > I ? at - I : I - at;
        if (distCached < distBest) {
            node = (PRTL_BALANCED_LINKS)Table->OrderedPointer;
            at = cached;
        }
    }
    while (at < I) {
        node = RtlpSuccessor(Table, node);
        at++;
    }
    while (at > I) {
        node = RtlpPredecessor(Table, node);
        at--;
    }
    Table->OrderedPointer = node;
    Table->WhichOrderedElement = I + 1;
    return RtlpNodeData(node);
}

NTSYSAPI ULONG NTAPI RtlNumberGenericTableElementsAvl(PRTL_AVL_TABLE Table)
{
    return Table->NumberGenericTableElements;
}

NTSYSAPI BOOLEAN NTAPI RtlIsGenericTableEmptyAvl(PRTL_AVL_TABLE Table)
{
    return (BOOLEAN)(RTLP_ROOT(Table) == NULL);
}
