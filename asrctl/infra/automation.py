"""Azure Automation: the account recovery plans call, and the Python 3 runbooks it runs.

Runbook content cannot be inlined (``automation.Runbook`` only takes ``publish_content_link``), so each script is
uploaded as a blob to a private container in a separate artifacts storage account (never the cache account: ASR
owns that one) and linked with a read-only, HTTPS-only SAS for that one blob. The blob name carries the content's
sha256 and the runbook declares the hash, so a changed script is a new blob and a republished runbook.

Which runbooks exist (the plan → runbook contract):

* every ``runbooks/actions/<stem>.py`` is published as ``ASR-<CamelCaseStem>`` (``add_public_ip.py`` →
  ``ASR-AddPublicIp``);
* a plan's ``runbook: ASR-<Name>`` action resolves to ``runbooks/actions/<snake_name>.py`` or, when the project has
  none, to the script of the same name shipped with asrctl (``asrctl/infra/runbooks/``: ASR-AddPublicIp,
  ASR-RestartAppPool); a name with neither is a one-line error naming the plan file and line.

Azure Automation runs a runbook as one file: a sibling helper the script imports (``from _context import
read_context``) does not exist there. Such imports of private modules (``_name.py`` beside the script) are inlined
into the published content, which is what the hash and the blob name are computed over, so a changed helper
republishes every runbook that uses it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pulumi
from pulumi_azure_native import automation, storage

from asrctl.errors import BadInput
from asrctl.plans import Plan, RunbookAction
from asrctl.yamlfile import display_path, load_yaml

RUNBOOK_PREFIX = "ASR-"
BUILTIN_RUNBOOKS_DIR = Path(__file__).resolve().parent / "runbooks"
CONTAINER_NAME = "runbooks"


def runbook_name(stem: str) -> str:
    """``add_public_ip`` → ``ASR-AddPublicIp``."""
    return RUNBOOK_PREFIX + "".join(part[:1].upper() + part[1:] for part in stem.split("_") if part)


def script_stem(name: str) -> str:
    """``ASR-AddPublicIp`` → ``add_public_ip`` (the inverse of :func:`runbook_name`)."""
    bare = name[len(RUNBOOK_PREFIX) :] if name.startswith(RUNBOOK_PREFIX) else name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", bare.replace("-", "_")).lower()


@dataclass(frozen=True)
class RunbookSource:
    """One runbook to publish: its Automation name, the script, the published content and that content's sha256."""

    name: str
    path: Path
    sha256: str
    content: str = ""

    @property
    def blob_name(self) -> str:
        return f"{self.name}-{self.sha256[:16]}.py"


#: ``from _helper import x`` of a private module beside the script (one line, optional trailing comment).
_PRIVATE_IMPORT_RE = re.compile(r"^from (_[A-Za-z0-9_]+) import [^#\n]+(?:#.*)?$", re.MULTILINE)
_FUTURE_IMPORT_RE = re.compile(r"^from __future__ import [^\n]+\n", re.MULTILINE)


def runbook_content(path: Path) -> str:
    """The script as Automation will run it: private sibling modules it imports are inlined in place.

    The helper's ``from __future__`` lines are dropped (they are only legal at the top of a file); the import line
    itself is kept after the inlined source, so the names it imports resolve exactly as before.
    """
    text = path.read_text(encoding="utf-8")
    inlined: set[str] = set()

    def inline(match: re.Match[str]) -> str:
        module = match.group(1)
        helper = path.parent / f"{module}.py"
        if not helper.is_file():
            return match.group(0)
        if module in inlined:
            return ""
        inlined.add(module)
        body = _FUTURE_IMPORT_RE.sub("", helper.read_text(encoding="utf-8"))
        # Register the inlined helper as a module so the original import line (kept below) finds it.
        return (
            f"# --- {helper.name} inlined by asrctl (Azure Automation runs a runbook as a single file) ---\n"
            f"import sys as _asrctl_sys, types as _asrctl_types\n"
            f"_asrctl_module = _asrctl_types.ModuleType({module!r})\n"
            f"exec(compile({body!r}, {helper.name!r}, 'exec'), _asrctl_module.__dict__)\n"
            f"_asrctl_sys.modules[{module!r}] = _asrctl_module\n"
            f"# --- end of {helper.name} ---\n"
            f"{match.group(0)}"
        )

    return _PRIVATE_IMPORT_RE.sub(inline, text)


def _source(name: str, path: Path) -> RunbookSource:
    content = runbook_content(path)
    return RunbookSource(name, path, hashlib.sha256(content.encode("utf-8")).hexdigest(), content)


def collect_runbooks(actions_dir: Path, plans: Sequence[Plan]) -> list[RunbookSource]:
    """Every project action script, plus the built-in scripts that plans name; unresolvable names are bad input."""
    sources: dict[str, RunbookSource] = {}
    if actions_dir.is_dir():
        for path in sorted(actions_dir.glob("*.py")):
            if path.stem.startswith("_"):
                continue
            sources[runbook_name(path.stem)] = _source(runbook_name(path.stem), path)
    for plan in plans:
        for gi, group in enumerate(plan.groups):
            for side in ("before", "after"):
                for ai, action in enumerate(getattr(group, side)):
                    if not isinstance(action, RunbookAction) or action.runbook in sources:
                        continue
                    builtin = BUILTIN_RUNBOOKS_DIR / f"{script_stem(action.runbook)}.py"
                    if builtin.is_file() and runbook_name(builtin.stem) == action.runbook:
                        sources[action.runbook] = _source(action.runbook, builtin)
                        continue
                    where = load_yaml(plan.path).where(("groups", gi, side, ai, "runbook"))
                    raise BadInput(
                        f"{where}: runbook {action.runbook!r} has no script; add "
                        f"{display_path(actions_dir / (script_stem(action.runbook) + '.py'))} "
                        f"(published as {runbook_name(script_stem(action.runbook))})"
                    )
    return list(sources.values())


def sas_expiry(today: date) -> str:
    """End of next year: stable between deployments (no daily diff) yet bounded. Automation reads the blob only
    when the runbook is published, so the link never needs to outlive a deployment by much."""
    return f"{today.year + 1}-12-31T23:59:59Z"


@dataclass(frozen=True)
class RunbookAutomationArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault: the Automation account must be in the vault's subscription."""
    location: pulumi.Input[str]
    """Required. Region of the vault."""
    account_name: str
    """Required. Azure name of the Automation account (aa-…)."""
    artifacts_storage_account_name: str
    """Required. Azure name of the artifacts storage account (st…); never the cache account."""
    runbooks: Sequence[RunbookSource]
    """Required. Scripts to publish as Python 3 runbooks (see collect_runbooks); may be empty."""
    sas_expiry: str
    """Required. Expiry (ISO 8601) of the per-blob read SAS Automation downloads the content with."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags. Default none."""


class RunbookAutomation(pulumi.ComponentResource):
    """Automation account (system-assigned identity) + artifacts storage + one Python 3 runbook per script."""

    account_id: pulumi.Output[str]
    """ARM id of the Automation account."""
    principal_id: pulumi.Output[str]
    """Object id of the account's managed identity (grant it rights on the recovery resource group)."""
    runbook_ids: dict[str, pulumi.Output[str]]
    """ARM id per runbook name (consumed by the ASR recovery plans' runbook actions)."""

    def __init__(self, name: str, args: RunbookAutomationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:RunbookAutomation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rg, loc, tags = args.resource_group_name, args.location, dict(args.tags)
        account = automation.AutomationAccount(
            f"{name}-account",
            automation.AutomationAccountArgs(
                automation_account_name=args.account_name,
                resource_group_name=rg,
                location=loc,
                sku=automation.SkuArgs(name="Basic"),
                identity=automation.IdentityArgs(type="SystemAssigned"),
                tags=tags,
            ),
            opts=child,
        )
        artifacts = storage.StorageAccount(
            f"{name}-artifacts",
            storage.StorageAccountArgs(
                account_name=args.artifacts_storage_account_name,
                resource_group_name=rg,
                location=loc,
                kind=storage.Kind.STORAGE_V2,
                # Runbook content is rebuilt from the repository by `pulumi up`: no geo-redundancy needed.
                sku=storage.SkuArgs(name="Standard_LRS"),
                enable_https_traffic_only=True,
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                allow_blob_public_access=False,
                allow_cross_tenant_replication=False,
                tags={**tags, "purpose": "runbook-artifacts"},
            ),
            opts=child,
        )
        container = storage.BlobContainer(
            f"{name}-container",
            storage.BlobContainerArgs(
                account_name=artifacts.name,
                resource_group_name=rg,
                container_name=CONTAINER_NAME,
                public_access=storage.PublicAccess.NONE,
            ),
            opts=child,
        )
        blob_endpoint = pulumi.Output.all(artifacts.name, artifacts.primary_endpoints).apply(
            lambda a: (a[1].blob if a[1] is not None and a[1].blob else f"https://{a[0]}.blob.core.windows.net/")
        )
        self.runbook_ids = {}
        for source in args.runbooks:
            key = source.name.lower()
            blob = storage.Blob(
                f"{name}-blob-{key}",
                storage.BlobArgs(
                    account_name=artifacts.name,
                    container_name=container.name,
                    resource_group_name=rg,
                    blob_name=source.blob_name,
                    type=storage.BlobType.BLOCK,
                    content_type="text/x-python",
                    # The bundled content (helpers inlined), not the file: it is what the hash describes.
                    source=pulumi.StringAsset(source.content),
                ),
                opts=child,
            )
            sas = storage.list_storage_account_service_sas_output(
                account_name=args.artifacts_storage_account_name,
                resource_group_name=rg,
                canonicalized_resource=f"/blob/{args.artifacts_storage_account_name}/{CONTAINER_NAME}/{source.blob_name}",
                resource=storage.SignedResource.B,
                permissions=storage.Permissions.R,
                protocols=storage.HttpProtocol.HTTPS,
                shared_access_expiry_time=args.sas_expiry,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[blob]),
            )
            uri = pulumi.Output.secret(
                pulumi.Output.concat(blob_endpoint, CONTAINER_NAME, "/", blob.name, "?", sas.service_sas_token)
            )
            runbook = automation.Runbook(
                f"{name}-runbook-{key}",
                automation.RunbookArgs(
                    runbook_name=source.name,
                    automation_account_name=account.name,
                    resource_group_name=rg,
                    location=loc,
                    runbook_type=automation.RunbookTypeEnum.PYTHON3,
                    description=f"asrctl action {source.path.name} (sha256 {source.sha256[:16]})",
                    publish_content_link=automation.ContentLinkArgs(
                        uri=uri,
                        content_hash=automation.ContentHashArgs(algorithm="SHA256", value=source.sha256.upper()),
                    ),
                    log_progress=True,
                    log_verbose=False,
                    tags=tags,
                ),
                opts=child,
            )
            self.runbook_ids[source.name] = runbook.id
        self.account_id = account.id
        self.principal_id = account.identity.apply(lambda i: i.principal_id if i else None)
        self.artifacts_storage_account_id = artifacts.id
        self.register_outputs(
            {"account_id": self.account_id, "principal_id": self.principal_id, "runbook_ids": self.runbook_ids}
        )
