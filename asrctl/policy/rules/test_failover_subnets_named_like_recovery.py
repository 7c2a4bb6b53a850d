"""test-failover-subnets-named-like-recovery: a drill VM lands in the test subnet named like its recovery subnet.

ASR picks a test-failover VM's subnet in the test network by the name of its recovery subnet, and falls back to
the alphabetically first subnet when none matches: the drill then runs with the wrong NSG, routes and IP range.
So every recovery subnet needs a test subnet of the same name (REFERENCE.md §5), and a modernized protected item's
``testSubnetName`` must equal its ``targetSubnetName``. The test VNet is found by the stack's
``testFailoverAddressSpace`` (policy config), else by a name containing "test".
"""

from asrctl.policy.rule import PROTECTED_ITEM, Rule, dig
from asrctl.policy.rules._networks import TEST_FAILOVER_SETTING, test_and_other_vnets, vnet_subnet_names


def _validate(args, report_violation) -> None:
    resources = list(args.resources)
    tests, recoveries = test_and_other_vnets(resources, RULE.setting(args, "testFailoverAddressSpace"))
    for test in tests:
        have = vnet_subnet_names(test, resources)
        for recovery in recoveries:
            missing = sorted(vnet_subnet_names(recovery, resources) - have)
            if missing:
                report_violation(
                    f"test-failover VNet {test.name} has no subnet named {', '.join(missing)} like recovery VNet "
                    f"{recovery.name}; ASR would put those machines' drill VMs in another subnet. Name the test "
                    "subnets exactly like the recovery subnets.",
                    test.urn,
                )
    for r in resources:
        if r.resource_type != PROTECTED_ITEM:
            continue
        details = dig(r.props, "properties", "providerSpecificDetails")
        if dig(details, "instanceType") != "InMageRcm":
            continue
        target, test = dig(details, "targetSubnetName"), dig(details, "testSubnetName")
        if isinstance(target, str) and test != target:
            report_violation(
                f"protected item {r.name}: testSubnetName is {test or 'not set'} but targetSubnetName is {target}; "
                "drill it in the test subnet of the same name.",
                r.urn,
            )


RULE = Rule(
    name="test-failover-subnets-named-like-recovery",
    description="Requires the test-failover network to have a subnet named like every recovery subnet.",
    severity="high",
    enforcement="mandatory",
    remediation="Give network.testFailover.subnets the names of network.recovery.subnets (asrctl names both alike).",
    url="https://learn.microsoft.com/azure/site-recovery/site-recovery-test-failover-to-azure",
    config=TEST_FAILOVER_SETTING,
    validate=_validate,
    stack=True,
    tags=("network", "test-failover"),
)
