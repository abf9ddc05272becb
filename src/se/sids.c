/*
 * Well-known SIDs as read-only constants. Se's own code compares against
 * these (CREATOR OWNER substitution, OWNER RIGHTS, the SYSTEM token) so it
 * works before SeInitSystem has built SeExports for drivers.
 */
#include "sep.h"

/* A SID with room for two sub-authorities, laid out exactly like SID. */
typedef struct _SEP_SID2 {
    UCHAR Revision;
    UCHAR SubAuthorityCount;
    SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
    ULONG SubAuthority[2];
} SEP_SID2;
_Static_assert(offsetof(SEP_SID2, SubAuthority) == offsetof(SID, SubAuthority), "SEP_SID2 layout");

#define SEP_SID1(name, auth, rid)                                                                  \
    static const SEP_SID2 name##Storage = {SID_REVISION, 1, {{0, 0, 0, 0, 0, auth}}, {rid, 0}};     \
    PSID const name = (PSID)&name##Storage

SEP_SID1(SepWorldSid, 1, SECURITY_WORLD_RID);
SEP_SID1(SepCreatorOwnerSid, 3, SECURITY_CREATOR_OWNER_RID);
SEP_SID1(SepCreatorGroupSid, 3, SECURITY_CREATOR_GROUP_RID);
SEP_SID1(SepOwnerRightsSid, 3, SECURITY_CREATOR_OWNER_RIGHTS_RID);
SEP_SID1(SepAuthenticatedUsersSid, 5, SECURITY_AUTHENTICATED_USER_RID);
SEP_SID1(SepLocalSystemSid, 5, SECURITY_LOCAL_SYSTEM_RID);
SEP_SID1(SepSystemMandatorySid, 16, SECURITY_MANDATORY_SYSTEM_RID);

static const SEP_SID2 SepAliasAdminsSidStorage = {
    SID_REVISION, 2, {{0, 0, 0, 0, 0, 5}}, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS}};
PSID const SepAliasAdminsSid = (PSID)&SepAliasAdminsSidStorage;
