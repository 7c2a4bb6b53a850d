"""ASR-RestartAppPool: recycle the IIS application pools on the failed-over VMs of a recovery plan group.

Azure Automation Python 3 runbook called by an ASR recovery plan (RecoveryPlanContext JSON in argument 1; optional
argument 2: plan parameters, ``site`` names the app pool to restart, default all). Uses the VM run command, so the
Automation identity needs Virtual Machine Contributor on the recovery resource group; the account needs the
azure-identity and azure-mgmt-compute Python 3 packages imported.
"""

import json
import os
import sys


def main(argv: list[str]) -> int:
    from azure.identity import ManagedIdentityCredential
    from azure.mgmt.compute import ComputeManagementClient

    context = json.loads(argv[1]) if len(argv) > 1 else {}
    params = json.loads(argv[2]) if len(argv) > 2 else {}
    site = params.get("site")
    script = (
        f"Import-Module WebAdministration; Restart-WebAppPool -Name '{site}'"
        if site
        else "Import-Module WebAdministration; Get-ChildItem IIS:\\AppPools | ForEach-Object { Restart-WebAppPool $_.Name }"
    )
    subscription = os.environ.get("AZURE_SUBSCRIPTION_ID") or context.get("SubscriptionId", "")
    client = ComputeManagementClient(ManagedIdentityCredential(), subscription)
    failed = 0
    for vm in (context.get("VmMap") or {}).values():
        result = client.virtual_machines.begin_run_command(
            vm["ResourceGroupName"], vm["RoleName"], {"command_id": "RunPowerShellScript", "script": [script]}
        ).result()
        messages = " ".join(v.message or "" for v in (result.value or []))
        print(f"{vm['RoleName']}: {messages.strip() or 'app pools restarted'}")
        failed += "error" in messages.lower()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
