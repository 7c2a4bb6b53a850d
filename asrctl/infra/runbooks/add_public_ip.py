"""ASR-AddPublicIp: give every failed-over VM of the recovery plan group a public IP (drills, smoke tests).

Azure Automation Python 3 runbook called by an ASR recovery plan. ASR passes the RecoveryPlanContext as JSON in the
first argument (RecoveryPlanName, FailoverType, FailoverDirection, GroupId, VmMap: {vm id: {ResourceGroupName,
RoleName, …}}). Runs as the Automation account's system-assigned identity, which needs Network Contributor on the
recovery resource group; the account needs the azure-identity and azure-mgmt-network Python 3 packages imported.
Optional argument 2: a JSON object of plan parameters (``nsg``, ``port``) — informational here: the NSG of the
recovery subnet decides what is reachable.
"""

import json
import os
import sys


def main(argv: list[str]) -> int:
    from azure.identity import ManagedIdentityCredential
    from azure.mgmt.network import NetworkManagementClient

    context = json.loads(argv[1]) if len(argv) > 1 else {}
    subscription = os.environ.get("AZURE_SUBSCRIPTION_ID") or context.get("SubscriptionId", "")
    client = NetworkManagementClient(ManagedIdentityCredential(), subscription)
    for vm in (context.get("VmMap") or {}).values():
        group, role = vm["ResourceGroupName"], vm["RoleName"]
        for nic in client.network_interfaces.list(group):
            if not nic.virtual_machine or not nic.virtual_machine.id.lower().endswith(f"/{role.lower()}"):
                continue
            pip = client.public_ip_addresses.begin_create_or_update(
                group,
                f"pip-{role}",
                {"location": nic.location, "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static"},
            ).result()
            nic.ip_configurations[0].public_ip_address = pip
            client.network_interfaces.begin_create_or_update(group, nic.name, nic).result()
            print(f"{role}: public IP {pip.ip_address}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
