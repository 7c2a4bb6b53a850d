"""Mock mode: run the real Pulumi program (``__main__.py``) in-process under Pulumi mocks and capture what it
would create, without the Pulumi CLI, Azure or vCenter.

``run_program(stack)`` is the one entry point (``asrctl preview``, ``asrctl policy check`` and tests use it):

* the stack file is validated first through ``asrctl.config.load_stack``, so a bad value is reported with its
  ``file:line``;
* config is fed the way the Pulumi CLI feeds it (strings raw, everything else JSON); declared secrets take their
  value from the environment (``SECRET_KEYS`` maps key → variable) or a placeholder, and are marked secret;
* every registration is captured with parent, dependencies, ``protect`` and ``ignore_changes``; inputs are made
  JSON-safe (secrets → ``"[secret]"``, unknowns → ``"[unknown]"``, integral floats → ints);
* mock outputs are the inputs plus what Azure would compute: realistic ARM ids, the resource's name, identities;
* invokes dispatch on their token to ``asrctl.infra.mock_inventory.INVOKES``;
* ``pulumi.log`` messages become ``notes``.

Each run has its own event loop, thread pool, root stack and program namespace, so it can run many times in one
process. The program itself has no idea it runs under mocks: there are no mock-only branches in it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import runpy
import threading
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrctl.config import (
    NS,
    SECRET_KEYS,
    StackConfig,
    _namespace_keys,  # one parse for validation and raw values; see _load_stack_once
    load_stack,
    required_secrets,
    stack_namespace_values,
    validate_stack_config,
)
from asrctl.errors import AsrctlError, BadInput, OperationFailed
from asrctl.gcpolicy import freeze_after_run
from asrctl.project import PROJECT_NAME, project_dir, stack_file
from asrctl.yamlfile import display_path, load_yaml

SECRET_MARK = "[secret]"
UNKNOWN_MARK = "[unknown]"

# Pulumi's wire-format signatures (pulumi.runtime.rpc); repeated here so this module imports without pulumi.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class CapturedResource:
    """One resource (custom or component) the program registered."""

    type: str
    """Type token, e.g. ``azure-native:recoveryservices:Vault`` or a component's ``asrctl:dr:CacheStorage``."""
    name: str
    """Pulumi logical name."""
    urn: str
    parent: str | None
    """Parent URN; None for resources directly under the stack."""
    inputs: dict[str, Any]
    """Inputs as registered (camelCase keys), JSON-safe: secrets ``"[secret]"``, unknowns ``"[unknown]"``."""
    outputs: dict[str, Any]
    """Mock outputs: the inputs plus computed values (``id``, ARM ids, names), JSON-safe like ``inputs``."""
    dependencies: tuple[str, ...]
    """URNs this resource depends on (explicit ``depends_on`` and those its inputs came from)."""
    protect: bool
    ignore_changes: tuple[str, ...]
    custom: bool
    """False for ComponentResources."""


@dataclass(frozen=True)
class PreviewResult:
    """What ``run_program`` captured: the resources (parents before children), stack exports and notes."""

    stack: str
    resources: tuple[CapturedResource, ...]
    outputs: dict[str, Any]
    """Stack exports; secret ones are ``"[secret]"``."""
    notes: tuple[str, ...]
    """Messages the program logged with ``pulumi.log`` (warnings prefixed ``warning:``)."""

    def counts(self) -> dict[str, int]:
        """Number of resources per type token, most frequent first."""
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def of_type(self, type_token: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_token]

    def children(self, urn: str | None) -> list[CapturedResource]:
        return [r for r in self.resources if r.parent == urn]

    def by_urn(self, urn: str) -> CapturedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)


# ---------------------------------------------------------------------------------------------------------------
# Entry point


def run_program(stack: str) -> PreviewResult:
    """Run the project's ``__main__.py`` for ``stack`` under mocks and return what it would create.

    Raises ``BadInput`` for an unknown stack, an invalid stack file, or a ``BadInput`` raised by the program or
    by an invoke handler; ``OperationFailed`` for a program that registers two resources with the same type and
    logical name or calls an invoke mock mode has no answer for.
    """
    cfg, raw = _load_stack_once(stack)
    program = project_dir() / "__main__.py"
    if not program.is_file():
        raise BadInput(f"{display_path(program)}: the Pulumi program is missing; mock mode runs the project's __main__.py")
    config, secret_keys, secret_values = _pulumi_config(stack, raw, cfg)
    run = _Run(stack=stack, subscription_id=cfg.subscription_id, secret_values=secret_values)
    return run.execute(program, config, secret_keys)


def _load_stack_once(stack: str) -> tuple[StackConfig, dict[str, Any]]:
    """The validated config (errors with file:line) and the raw namespace values, from one parse: a 1000-machine
    stack file takes ~0.7 s to parse with line numbers."""
    path = stack_file(stack)
    if not path.is_file():
        load_stack(stack)  # raises the standard unknown-stack / bad-name error
    doc = load_yaml(path)
    raw = _namespace_keys(doc)
    return validate_stack_config(raw, doc), raw


def _pulumi_config(
    stack: str, raw: dict[str, Any] | None = None, cfg: StackConfig | None = None
) -> tuple[dict[str, str], list[str], tuple[str, ...]]:
    """Config as the Pulumi CLI passes it to a program: plain strings raw, other values JSON-encoded.

    Secrets the stack file declares take their value from their ASRCTL_* variable or a placeholder (the file only
    holds ciphertext; mock mode never decrypts it). A secret the stack needs but does not declare is given from
    its variable when set (validation already refused the stack when neither has it)."""
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    secret_values: list[str] = []
    values = stack_namespace_values(stack) if raw is None else raw
    for key, value in values.items():
        full_key = f"{NS}:{key}"
        if key in SECRET_KEYS:
            secret = os.environ.get(SECRET_KEYS[key]) or f"mock-{key}-placeholder"
            config[full_key] = secret
            secret_keys.append(full_key)
            secret_values.append(secret)
        elif isinstance(value, str):
            config[full_key] = value
        else:
            config[full_key] = json.dumps(value, default=str)
    for key in required_secrets(cfg) if cfg is not None else ():
        from_env = os.environ.get(SECRET_KEYS[key])
        if key not in values and from_env:
            config[f"{NS}:{key}"] = from_env
            secret_keys.append(f"{NS}:{key}")
            secret_values.append(from_env)
    return config, secret_keys, tuple(secret_values)


# ---------------------------------------------------------------------------------------------------------------
# JSON-safe values


def json_safe(value: Any, secret_values: tuple[str, ...] = ()) -> Any:
    """Turn a deserialised Pulumi property into plain JSON: secrets and anything containing a secret value become
    ``"[secret]"``, unknowns ``"[unknown]"``, resource references their URN, integral floats ints."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET_MARK
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        if sig == _OUTPUT_VALUE_SIG:
            if value.get("secret"):
                return SECRET_MARK
            return json_safe(value["value"], secret_values) if "value" in value else UNKNOWN_MARK
        return {str(k): json_safe(v, secret_values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, secret_values) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        # Protobuf carries every number as a double: 30 comes back as 30.0.
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        if value == _UNKNOWN_WIRE:
            return UNKNOWN_MARK
        if any(s and s in value for s in secret_values):
            return SECRET_MARK
        return value
    kind = type(value).__name__
    if kind == "Unknown":
        return UNKNOWN_MARK
    if kind in _ASSET_FIELDS:
        # Assets and archives (e.g. runbook content uploaded as a blob): what they point at, not an object repr.
        field_name = _ASSET_FIELDS[kind]
        return {"asset": kind, field_name: json_safe(getattr(value, field_name, None), secret_values)}
    return str(value)


_ASSET_FIELDS = {
    "FileAsset": "path",
    "StringAsset": "text",
    "RemoteAsset": "uri",
    "FileArchive": "path",
    "RemoteArchive": "uri",
    "AssetArchive": "assets",
}


# ---------------------------------------------------------------------------------------------------------------
# Realistic computed outputs: ARM ids formed the way Azure Resource Manager forms them

@dataclass(frozen=True)
class ArmType:
    """How ARM names one resource type: provider namespace, the parent chain and the resource's own segment.

    ``path`` holds ``(type segment, input key)`` pairs, outermost parent first and the resource itself last; an
    input key starting with ``=`` is a fixed name (``blobServices/default``). Extension resources (role
    assignments, diagnostic settings) hang below another resource: ``scope_key`` names the input holding its id.
    A resource whose own name is generated by the provider (a role assignment's GUID) gets a stable uuid5 here.
    """

    namespace: str
    path: tuple[tuple[str, str], ...]
    scope_key: str | None = None
    generated_name: bool = False


_VAULT = ("vaults", "resourceName")
_CONTAINER = (_VAULT, ("replicationFabrics", "fabricName"), ("replicationProtectionContainers", "protectionContainerName"))
_ACCOUNT = ("storageAccounts", "accountName")
_BLOB_CONTAINER = (_ACCOUNT, ("blobServices", "=default"), ("containers", "containerName"))

#: Every azure-native resource type the program creates (a new type without a row fails the preview, so no id is
#: ever guessed). Segments are ARM's plural type names, e.g. Microsoft.Network/connections for a gateway connection.
ARM_TYPES: dict[str, ArmType] = {
    "azure-native:resources:ResourceGroup": ArmType("", (("resourceGroups", "resourceGroupName"),)),
    "azure-native:storage:StorageAccount": ArmType("Microsoft.Storage", (_ACCOUNT,)),
    "azure-native:storage:BlobContainer": ArmType("Microsoft.Storage", _BLOB_CONTAINER),
    "azure-native:storage:Blob": ArmType("Microsoft.Storage", (*_BLOB_CONTAINER, ("blobs", "blobName"))),
    "azure-native:recoveryservices:Vault": ArmType("Microsoft.RecoveryServices", (("vaults", "vaultName"),)),
    "azure-native:recoveryservices:ReplicationPolicy": ArmType(
        "Microsoft.RecoveryServices", (_VAULT, ("replicationPolicies", "policyName"))
    ),
    "azure-native:recoveryservices:ReplicationProtectionContainerMapping": ArmType(
        "Microsoft.RecoveryServices", (*_CONTAINER, ("replicationProtectionContainerMappings", "mappingName"))
    ),
    "azure-native:recoveryservices:ReplicationProtectedItem": ArmType(
        "Microsoft.RecoveryServices", (*_CONTAINER, ("replicationProtectedItems", "replicatedProtectedItemName"))
    ),
    "azure-native:recoveryservices:ReplicationRecoveryPlan": ArmType(
        "Microsoft.RecoveryServices", (_VAULT, ("replicationRecoveryPlans", "recoveryPlanName"))
    ),
    "azure-native:network:VirtualNetwork": ArmType("Microsoft.Network", (("virtualNetworks", "virtualNetworkName"),)),
    "azure-native:network:Subnet": ArmType(
        "Microsoft.Network", (("virtualNetworks", "virtualNetworkName"), ("subnets", "subnetName"))
    ),
    "azure-native:network:NetworkSecurityGroup": ArmType(
        "Microsoft.Network", (("networkSecurityGroups", "networkSecurityGroupName"),)
    ),
    "azure-native:network:NetworkInterface": ArmType(
        "Microsoft.Network", (("networkInterfaces", "networkInterfaceName"),)
    ),
    "azure-native:network:PublicIPAddress": ArmType("Microsoft.Network", (("publicIPAddresses", "publicIpAddressName"),)),
    "azure-native:network:VirtualNetworkGateway": ArmType(
        "Microsoft.Network", (("virtualNetworkGateways", "virtualNetworkGatewayName"),)
    ),
    "azure-native:network:LocalNetworkGateway": ArmType(
        "Microsoft.Network", (("localNetworkGateways", "localNetworkGatewayName"),)
    ),
    "azure-native:network:VirtualNetworkGatewayConnection": ArmType(
        "Microsoft.Network", (("connections", "virtualNetworkGatewayConnectionName"),)
    ),
    "azure-native:compute:VirtualMachine": ArmType("Microsoft.Compute", (("virtualMachines", "vmName"),)),
    "azure-native:authorization:RoleAssignment": ArmType(
        "Microsoft.Authorization", (("roleAssignments", "roleAssignmentName"),), scope_key="scope", generated_name=True
    ),
    "azure-native:monitor:DiagnosticSetting": ArmType(
        "Microsoft.Insights", (("diagnosticSettings", "name"),), scope_key="resourceUri"
    ),
    "azure-native:monitor:ActionGroup": ArmType("Microsoft.Insights", (("actionGroups", "actionGroupName"),)),
    "azure-native:monitor:ScheduledQueryRule": ArmType("Microsoft.Insights", (("scheduledQueryRules", "ruleName"),)),
    "azure-native:operationalinsights:Workspace": ArmType(
        "Microsoft.OperationalInsights", (("workspaces", "workspaceName"),)
    ),
    "azure-native:automation:AutomationAccount": ArmType(
        "Microsoft.Automation", (("automationAccounts", "automationAccountName"),)
    ),
    "azure-native:automation:Runbook": ArmType(
        "Microsoft.Automation", (("automationAccounts", "automationAccountName"), ("runbooks", "runbookName"))
    ),
}


class UnknownArmType(Exception):
    """An azure-native type without a row in :data:`ARM_TYPES`."""


def _segment_value(key: str, inputs: dict[str, Any], logical_name: str) -> str:
    if key.startswith("="):
        return key[1:]
    value = inputs.get(key)
    # An input the program left out is named by the provider (autonaming from the logical name).
    return value if isinstance(value, str) and value else logical_name


def azure_name(token: str, logical_name: str, inputs: dict[str, Any]) -> str:
    """The resource's own Azure name: its name input, a stable GUID where the provider generates one, or (no name
    input) the logical name the provider's autonaming starts from."""
    arm = ARM_TYPES.get(token)
    if arm is None:
        raise UnknownArmType(token)
    key = arm.path[-1][1]
    value = inputs.get(key)
    if isinstance(value, str) and value:
        return value
    if arm.generated_name:
        scope = inputs.get(arm.scope_key or "")
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{token}/{scope}/{logical_name}"))
    return logical_name


def arm_id(token: str, logical_name: str, inputs: dict[str, Any], subscription_id: str) -> str:
    """The ARM id Azure gives the resource: ``/subscriptions/<sub>/resourceGroups/<rg>/providers/<namespace>/
    <parent type>/<parent name>/…/<type>/<name>``, or ``<scope id>/providers/<namespace>/<type>/<name>`` for an
    extension resource."""
    arm = ARM_TYPES.get(token)
    if arm is None:
        raise UnknownArmType(token)
    name = azure_name(token, logical_name, inputs)
    segments = [f"{seg}/{_segment_value(key, inputs, logical_name)}" for seg, key in arm.path[:-1]]
    segments.append(f"{arm.path[-1][0]}/{name}")
    if token == "azure-native:resources:ResourceGroup":
        return f"/subscriptions/{subscription_id}/{segments[0]}"
    if arm.scope_key is not None:
        scope = inputs.get(arm.scope_key)
        scope = scope.rstrip("/") if isinstance(scope, str) and scope else f"/subscriptions/{subscription_id}"
        return f"{scope}/providers/{arm.namespace}/" + "/".join(segments)
    group = inputs.get("resourceGroupName")
    if not isinstance(group, str) or not group:
        raise UnknownArmType(f"{token} (no resourceGroupName input)")
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/{arm.namespace}/" + "/".join(segments)


def _computed_outputs(token: str, logical_name: str, inputs: dict[str, Any], subscription_id: str) -> tuple[str, dict]:
    """The id and output state a provider would return: inputs plus name, id and managed-identity ids."""
    state = dict(inputs)
    if token.startswith("azure-native:"):
        resource_id = arm_id(token, logical_name, inputs, subscription_id)
        state["name"] = azure_name(token, logical_name, inputs)
        identity = inputs.get("identity")
        if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", "")):
            state["identity"] = {
                **identity,
                "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id + "#principal")),
                "tenantId": str(uuid.uuid5(uuid.NAMESPACE_URL, subscription_id + "#tenant")),
            }
    else:
        # vSphere and other providers use opaque ids; deterministic so two previews compare equal.
        resource_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{token}/{logical_name}"))
        if token == "vsphere:index/virtualMachine:VirtualMachine":
            state.setdefault("uuid", resource_id)
            state.setdefault("moid", f"vm-{zlib.crc32(logical_name.encode()) % 100000}")
    state["id"] = resource_id
    return resource_id, state


# ---------------------------------------------------------------------------------------------------------------
# One run


class _NoteHandler(logging.Handler):
    def __init__(self, notes: list[str]) -> None:
        super().__init__(level=logging.INFO)
        self._notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        self._notes.append(prefix + record.getMessage())


@dataclass
class _Pending:
    inputs: dict[str, Any]
    outputs: dict[str, Any]


class _Run:
    """State of one ``run_program`` call; nothing survives it."""

    def __init__(self, stack: str, subscription_id: str, secret_values: tuple[str, ...]) -> None:
        self.stack = stack
        self.subscription_id = subscription_id
        self.secret_values = secret_values
        self.lock = threading.RLock()
        self.pending: dict[tuple[str, str], _Pending] = {}
        self.seen: set[tuple[str, str]] = set()
        self.captured: list[CapturedResource] = []
        self.notes: list[str] = []
        self.error: AsrctlError | None = None
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    # -- called from Pulumi's worker threads ------------------------------------------------------------------

    def fail(self, error: AsrctlError) -> AsrctlError:
        with self.lock:
            if self.error is None:
                self.error = error
        return error

    def new_resource(self, args: Any) -> tuple[str, dict]:
        inputs = args.inputs or {}
        try:
            if args.resource_id:  # a read of an existing resource (Resource.get): its id is given
                _, state = _computed_outputs(args.typ, args.name, inputs, self.subscription_id)
                state["id"] = args.resource_id
                return args.resource_id, state
            if args.custom is False:
                resource_id, state = "", dict(inputs)
            else:
                resource_id, state = _computed_outputs(args.typ, args.name, inputs, self.subscription_id)
        except UnknownArmType as exc:
            raise self.fail(
                OperationFailed(
                    f"mock mode cannot form the ARM id of {exc} ({args.name!r}); add the type's namespace, parent "
                    "chain and name input to ARM_TYPES in asrctl/mockmode.py"
                )
            ) from None
        with self.lock:
            self.pending[(args.typ, args.name)] = _Pending(inputs, state)
        return resource_id, state

    def call(self, args: Any) -> dict:
        from asrctl.infra.mock_inventory import INVOKES

        handler = INVOKES.get(args.token)
        if handler is None:
            raise self.fail(
                OperationFailed(
                    f"mock mode has no result for invoke {args.token!r}; add a handler for it to INVOKES in "
                    "asrctl/infra/mock_inventory.py"
                )
            )
        try:
            result = handler(dict(args.args or {}))
        except AsrctlError as exc:
            raise self.fail(exc) from None
        if not isinstance(result, dict):
            raise self.fail(OperationFailed(f"mock invoke handler for {args.token!r} returned {type(result).__name__}, not a dict"))
        return result

    def claim(self, type_token: str, name: str) -> None:
        with self.lock:
            if (type_token, name) in self.seen:
                # Recorded here and raised once the run has finished, so the program is not left half-registered.
                self.fail(
                    OperationFailed(
                        f"the program registers two resources of type {type_token} named {name!r}; logical names "
                        "must be unique per type (derive child names from the component name)"
                    )
                )
            self.seen.add((type_token, name))

    def record(self, request: Any, urn: str, stack_urn: str | None) -> None:
        with self.lock:
            pending = self.pending.pop((request.type, request.name), _Pending({}, {}))
        parent = request.parent or None
        captured = CapturedResource(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=None if parent == stack_urn else parent,
            inputs=json_safe(pending.inputs, self.secret_values),
            outputs=json_safe(pending.outputs, self.secret_values),
            # Sorted: the engine reports dependencies in the order its threads resolved them, which varies per run.
            dependencies=tuple(sorted(d for d in request.dependencies if d != stack_urn)),
            protect=bool(request.protect),
            ignore_changes=tuple(request.ignoreChanges),
            custom=bool(request.custom),
        )
        with self.lock:
            self.captured.append(captured)

    def track_thread_loop(self) -> None:
        # Pulumi's mock monitor gives every worker thread its own event loop and never closes it; closing them at
        # the end of the run avoids "Invalid file descriptor: -1" noise when they are collected at exit.
        if threading.current_thread() is threading.main_thread():
            return
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return
        with self.lock:
            self.thread_loops.add(loop)

    # -- the run itself ---------------------------------------------------------------------------------------

    def execute(self, program: Path, config: dict[str, str], secret_keys: list[str]) -> PreviewResult:
        import pulumi
        from pulumi.runtime import config as pulumi_config
        from pulumi.runtime import mocks as pulumi_mocks
        from pulumi.runtime import settings as pulumi_settings

        # The collector is paused for the run and, afterwards, either back on (long-lived processes) or left with a
        # frozen heap (the one-shot CLI): see asrctl.gcpolicy.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._execute(program, config, secret_keys, pulumi, pulumi_config, pulumi_mocks, pulumi_settings)
        finally:
            if was_enabled:
                if freeze_after_run():
                    gc.freeze()
                gc.enable()

    def _execute(
        self, program: Path, config: dict[str, str], secret_keys: list[str],
        pulumi: Any, pulumi_config: Any, pulumi_mocks: Any, pulumi_settings: Any,
    ) -> PreviewResult:
        run = self

        class Mocks(pulumi_mocks.Mocks):
            def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
                return run.new_resource(args)

            def call(self, args: pulumi_mocks.MockCallArgs) -> dict:
                return run.call(args)

        class Monitor(pulumi_mocks.MockMonitor):
            stack_urn: str | None = None

            def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
                if request.type == "pulumi:pulumi:Stack":
                    response = super().RegisterResource(request)
                    Monitor.stack_urn = response.urn
                    return response
                run.claim(request.type, request.name)
                response = super().RegisterResource(request)
                run.record(request, response.urn, Monitor.stack_urn)
                run.track_thread_loop()
                return response

            def Invoke(self, request: Any) -> Any:  # noqa: N802
                try:
                    return super().Invoke(request)
                finally:
                    run.track_thread_loop()

        logger = logging.Logger(f"asrctl.mockmode.{self.stack}", level=logging.INFO)
        logger.addHandler(_NoteHandler(self.notes))
        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="asrctl-mock"))
        asyncio.set_event_loop(loop)
        try:
            # A fresh root stack per run: set_mocks only creates one when none is set. Pulumi also keeps the tasks
            # of unfinished outputs in a process-wide set (pulumi.runtime.test clears it too): a failed earlier
            # run's leftovers, bound to its closed loop, would otherwise be awaited by this one.
            pulumi_settings.ROOT.set(None)
            with pulumi_settings.SETTINGS.lock:
                pulumi_settings.SETTINGS.outputs.clear()
            pulumi_mocks.set_mocks(
                Mocks(), project=PROJECT_NAME, stack=self.stack, preview=True, logger=logger, monitor=Monitor(Mocks())
            )
            pulumi_config.set_all_config(config, secret_keys)
            try:
                outputs = loop.run_until_complete(self._main(program, pulumi, pulumi_settings))
            except Exception:
                if self.error is not None:
                    raise self.error from None
                raise
            if self.error is not None:
                raise self.error
        finally:
            self._close(loop)
            pulumi_settings.ROOT.set(None)
            with pulumi_settings.SETTINGS.lock:
                pulumi_settings.SETTINGS.outputs.clear()
        return PreviewResult(
            stack=self.stack, resources=self._tree_order(), outputs=outputs, notes=tuple(self.notes)
        )

    async def _main(self, program: Path, pulumi: Any, pulumi_settings: Any) -> dict[str, Any]:
        from pulumi.runtime.stack import run_pulumi_func

        await run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__"))
        root = pulumi_settings.get_root_resource()
        exports: dict[str, Any] = {}
        for name, value in (getattr(root, "outputs", None) or {}).items():
            output = pulumi.Output.from_input(value)
            if await output.is_secret():
                exports[name] = SECRET_MARK
            elif not await output.is_known():
                exports[name] = UNKNOWN_MARK
            else:
                exports[name] = json_safe(await output.future(), self.secret_values)
        return exports

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        for thread_loop in self.thread_loops:
            if not thread_loop.is_closed() and not thread_loop.is_running():
                thread_loop.close()
        asyncio.set_event_loop(None)

    def _tree_order(self) -> tuple[CapturedResource, ...]:
        """Parents before children, siblings by type then name: stable across runs (threads finish in any order)."""
        children: dict[str | None, list[CapturedResource]] = {}
        urns = {r.urn for r in self.captured}
        for r in self.captured:
            parent = r.parent if r.parent in urns else None
            children.setdefault(parent, []).append(r)
        ordered: list[CapturedResource] = []

        def walk(parent: str | None) -> None:
            for r in sorted(children.get(parent, []), key=lambda c: (c.custom, c.type, c.name)):
                ordered.append(r)
                walk(r.urn)

        walk(None)
        return tuple(ordered)

