"""A stand-in for Azure Resource Manager + Azure Site Recovery (VMware → Azure), for tests of code that talks to ASR
through ``azure-mgmt-recoveryservicessiterecovery`` 2.0.0. It behaves the way ASR behaves — built from Microsoft's
sources (SDK models, REST spec examples, PowerShell cmdlets and their recorded sessions, the Azure CLI test and its
recording, Microsoft's docs), never from the code under test. It imports nothing from ``asrctl``.

What it models
--------------
* **Several vaults** on one clock (``Standin(world, tmp, other_vaults=[...])``, :func:`migration_pair`): a classic
  vault's items move to a modernized one with ``switchProvider`` — validated against the target vault, fabric and
  appliance, run as a job, the item then InMageRcm Protected in the target vault and the classic one kept for
  failover (AD move-from-classic-to-modernized-vmware-disaster-recovery.md).
* **Both architectures in one vault.** Classic: fabric ``VMware`` (configuration server, process servers incl. the
  temporary Azure one, master targets incl. a Linux one with its own retention volume and datastore, run-as
  accounts), protectable items, items ``InMageAzureV2`` → ``InMage`` after reprotect, the InMage failback policy
  mapped from the configuration server's container to itself. Modernized: fabric ``InMageRcm`` whose
  ``customDetails`` carry processServers, reprotectAgents (accessibleDatastores), rcmProxies, pushInstallers,
  replicationAgents, marsAgents, dras, agentDetails and vmwareSiteId; items ``InMageRcm`` → ``InMageRcmFailback``;
  ``replicationAppliances``; Microsoft.OffAzure ``VMwareSites/<site>/machines`` and ``runAsAccounts``.
* **Resources and operations**: fabrics, containers, container mappings (PUT validated), policies, protectable
  items, replicated items (PUT enable, GET/list with paging, PATCH update incl. NICs, POST testFailover,
  testFailoverCleanup, plannedFailover, unplannedFailover, failoverCommit, reProtect, failoverCancel,
  switchProvider), recovery points, recovery plans (PUT with groups and actions; the same POSTs), jobs (get,
  list with ``$filter``, resume, cancel), ``replicationOperationStatus`` and ``operationresults``, Automation jobs
  (PUT/GET/stop), VNet GET, Azure DNS record sets (:mod:`standin.dns`: PUT/GET of A records in zones a test
  seeds with ``world.dns.add_zone(zone, resource_group)``, bodies checked against azure-mgmt-dns's models).
* **Validation with the SDK's own models** (:mod:`standin.validation`): every body is checked for required
  fields, ``instanceType`` discriminators, JSON types and the string booleans; an invalid body gets 400 in ASR's
  error shape (:mod:`standin.errors`). api-version checked (400 like ARM), unknown resources 404.
* **One rules table** (:mod:`standin.rules`): item states per provider, the test-failover overlay, and per
  provider and action the allowedOperation needed, accepted ``failoverDirection``\\ s, provider input,
  preconditions, resulting state and job scenario — each row with its source.
* **Jobs advance with a clock** (:mod:`standin.clock`), never per read; plan jobs stop ``Suspended`` at a manual
  action until resumed; ``activityId`` carries the caller's ``x-ms-client-request-id``.
* **202s as recorded** (CLIrec): ``Azure-AsyncOperation`` → ``…/replicationOperationStatus/<job>``, ``Location`` →
  ``<resource>/operationresults/<job>``, ``Retry-After``.
* **Faults** (429 + Retry-After, 5xx before or after the side effect, a lost response, 401 ``invalid_token``) and a
  **request log** (:class:`standin.server.Recorded`: method, path, query, body, headers, client request id, status,
  undeclared body fields).

What is unverified
------------------
Rows and values marked ``[U]`` in :mod:`standin.rules` (states no recording captured, e.g. after a failback
commit or a cancel; classic state strings by analogy with the recorded modernized ones; an item's
allowedOperations while a job runs; test-failover IP reuse; a move's job scenario name, its switchProviderState
strings beyond "None", the moved item's name in the target vault, and whether one call moves a whole replication
group — the stand-in moves one item per call), the detail error codes (descriptive names, not
ASR's), job durations, and the Automation/OffAzure fields beyond those a client reads. ASR sometimes answers 400
instead of 404 for an unknown fabric (azure-rest-api-specs issue 12759); the stand-in answers 404.

How a test uses it
------------------
::

    from standin import MachineSpec, Names, Standin, World, modernized_world
    from standin.client import site_recovery_client

    world = modernized_world([MachineSpec("app01", subnet="snet-app"), MachineSpec("db01", os="Linux", group="erp")],
                             world=World(subscription=sub, resource_group=rg, vault=vault), names=Names(...))
    with Standin(world, tmp_path, retry_after=0) as arm:
        client = site_recovery_client(arm)          # or any client: base_url=arm.endpoint,
                                                    # connection_verify=str(arm.cert_path), bearer token arm.token
        ...start an operation...
        arm.advance(900)                            # jobs finish only when the clock passes their duration
        assert world.item("app01").state == "failed_over"
        assert world.recovery_vm("app01").subnet == "snet-app"
        assert not arm.job_lists(filtered=False)    # the request log

A move: ``source, target = migration_pair([MachineSpec("app01")])``, ``Standin(source, tmp,
other_vaults=[target])``; after the ``switchProvider`` job, ``target.item("app01").provider == "InMageRcm"``.

Faults: ``arm.fault("POST", r"/unplannedFailover$", 500, after_accept=True)``, ``arm.fault("GET", r"/replicationJobs/",
429, retry_after=3)``, ``arm.fault("POST", r"/testFailover$", 0)`` (lost response), ``arm.expire_token()`` (401).
Job failures: ``world.failures.append(Failure("UnplannedFailover", machine="db01"))``.
"""

from .clock import Clock
from .server import Fault, Recorded, Standin
from .world import Failure, MachineSpec, Names, World, classic_world, migration_pair, modernized_world

__all__ = ["Clock", "Failure", "Fault", "MachineSpec", "Names", "Recorded", "Standin", "World", "classic_world", "migration_pair",
           "modernized_world"]
