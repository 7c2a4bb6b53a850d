"""cache-storage-vault-identity-roles: with shared keys off, the vault's identity is ASR's only way into the cache.

A cache account with ``allowSharedKeyAccess: false`` (storage-shared-key-disabled-with-vault-identity asks for it)
is reachable by ASR only through the vault's managed identity, and only once that identity holds Contributor and
Storage Blob Data Contributor on the account. Without the assignments, enabling replication fails on the cache
account. In scope: each cache account with shared-key access explicitly off, in a stack that has a vault.

An assignment counts when all three hold:

* scope: the account — its ``scope`` depends on the account (``propertyDependencies``, or the resource's
  dependencies under mocks), or the scope string ends with ``/storageAccounts/<account name>``;
* principal: the vault's identity — ``principalId`` depends on a vault, or equals a vault's
  ``identity.principalId`` (or a user-assigned identity's ``principalId``);
* role: ``roleDefinitionId`` ends with the role's GUID (policy config ``requiredRoleIds``).

Dependencies are consulted before values so that ids unknown during ``pulumi preview`` (the account id, the new
vault's principal) are never read when the dependency graph already answers. A role id still unknown (it is derived
from the account id) leaves the rule not evaluated rather than reporting a role as missing.
"""

from asrctl.policy.rule import STORAGE_ACCOUNT, VAULT, Rule, dig, is_cache_account

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
# Built-in role GUIDs (the same in every tenant).
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_NAMES = {CONTRIBUTOR: "Contributor", STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor"}


def _known(props, *path):
    """``dig`` that treats a value unknown during preview as absent (the caller has already tried the graph)."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return dig(props, *path)
    except UnknownValueError:
        return None


def _depends_on(resource, key: str, targets: set[str]) -> bool:
    """Whether property ``key`` of ``resource`` (or, without per-property data, the resource) uses a target URN."""
    by_property = getattr(resource, "property_dependencies", None) or {}
    deps = by_property.get(key) if key in by_property else getattr(resource, "dependencies", None) or []
    return any(getattr(d, "urn", None) in targets for d in deps)


def _account_names(account) -> set[str]:
    return {str(n).lower() for n in (_known(account.props, "accountName"), _known(account.props, "name")) if n}


def _vault_principals(vaults) -> set[str]:
    principals = {_known(v.props, "identity", "principalId") for v in vaults}
    user_assigned = [_known(v.props, "identity", "userAssignedIdentities") for v in vaults]
    for identities in user_assigned:
        if hasattr(identities, "keys"):
            principals |= {_known(identities, key, "principalId") for key in identities.keys()}
    return {str(p).lower() for p in principals if p}


def _on_account(assignment, account) -> bool:
    if _depends_on(assignment, "scope", {account.urn}):
        return True
    scope = _known(assignment.props, "scope")
    if not isinstance(scope, str) or "/storageaccounts/" not in scope.lower():
        return False
    return scope.rstrip("/").lower().rsplit("/storageaccounts/", 1)[-1] in _account_names(account)


def _for_vault(assignment, vault_urns: set[str], principals: set[str]) -> bool:
    if _depends_on(assignment, "principalId", vault_urns):
        return True
    principal = _known(assignment.props, "principalId")
    return principal is not None and str(principal).lower() in principals


def _role_guid(assignment) -> str | None:
    """The role GUID; raises UnknownValueError while ARM has yet to compute the id (preview of a new stack)."""
    role = dig(assignment.props, "roleDefinitionId")
    return role.rstrip("/").rsplit("/", 1)[-1].lower() if isinstance(role, str) else None


def _validate(args, report_violation) -> None:
    from pulumi_policy.proxy import UnknownValueError

    vaults = [r for r in args.resources if r.resource_type == VAULT]
    if not vaults:
        return
    vault_urns = {v.urn for v in vaults}
    principals = _vault_principals(vaults)
    wanted = [str(r).lower() for r in RULE.setting(args, "requiredRoleIds") or []]
    assignments = [r for r in args.resources if r.resource_type == ROLE_ASSIGNMENT]
    for account in args.resources:
        if account.resource_type != STORAGE_ACCOUNT or not is_cache_account(account.urn, account.name):
            continue
        if dig(account.props, "allowSharedKeyAccess") is not False:
            continue  # the account key still works: ASR does not depend on the identity
        granted, unknown = set(), None
        for a in assignments:
            if not (_on_account(a, account) and _for_vault(a, vault_urns, principals)):
                continue
            try:
                granted.add(_role_guid(a))
            except UnknownValueError as exc:
                unknown = unknown or exc
        missing = [ROLE_NAMES.get(w, w) for w in wanted if w not in granted]
        if missing and unknown is not None:
            # An assignment whose role is not known yet may be the missing one: not evaluated, never a false alarm.
            raise unknown
        if missing:
            report_violation(
                f"cache storage account {account.name} has shared-key access off, but the vault's managed identity "
                f"holds no {' and no '.join(missing)} role on it, so ASR cannot write replication logs to it; add "
                "a RoleAssignment per role with scope the account and principalId the vault identity's.",
                account.urn,
            )


RULE = Rule(
    name="cache-storage-vault-identity-roles",
    description="Requires the vault's managed identity to hold Contributor and Storage Blob Data Contributor on a "
    "cache storage account whose shared-key access is off.",
    severity="high",
    enforcement="mandatory",
    remediation="Create authorization.RoleAssignment resources on the cache account (scope=account.id) for the "
    "vault's identity (principal_id=vault.identity.principal_id, principal_type='ServicePrincipal'): Contributor "
    f"({CONTRIBUTOR}) and Storage Blob Data Contributor ({STORAGE_BLOB_DATA_CONTRIBUTOR}); or leave shared-key "
    "access on.",
    url="https://learn.microsoft.com/azure/site-recovery/hybrid-how-to-enable-replication-private-endpoints"
    "#grant-required-permissions-to-the-vault",
    config={
        "requiredRoleIds": {
            "type": "array",
            "items": {"type": "string"},
            "default": [CONTRIBUTOR, STORAGE_BLOB_DATA_CONTRIBUTOR],
            "description": "Role definition GUIDs the vault identity must hold on the cache account.",
        }
    },
    validate=_validate,
    stack=True,
    tags=("storage", "vault", "asr"),
)
