"""test-failover-network-isolated: a drill must never reach production (duplicate hostnames and IPs).

The test-failover VNet is found by the stack's ``testFailoverAddressSpace`` (policy config), else by a name
containing "test". It must have no peering at all, and its prefixes must not overlap any other VNet's.
"""

from asrctl.policy.rule import VNET_PEERING, Rule, dig, items, networks
from asrctl.policy.rules._networks import TEST_FAILOVER_SETTING, test_and_other_vnets


def _validate(args, report_violation) -> None:
    tests, others = test_and_other_vnets(list(args.resources), RULE.setting(args, "testFailoverAddressSpace"))
    test_keys = {}
    for t in tests:
        for key in (t.urn, dig(t.props, "virtualNetworkName"), dig(t.props, "id")):
            if isinstance(key, str):
                test_keys[key] = t
        if items(t.props, "virtualNetworkPeerings"):
            report_violation(f"test-failover VNet {t.name} declares peerings; remove them.", t.urn)
        for o in others:
            for a in networks(items(t.props, "addressSpace", "addressPrefixes")):
                for b in networks(items(o.props, "addressSpace", "addressPrefixes")):
                    if a.version == b.version and a.overlaps(b):
                        report_violation(
                            f"test-failover VNet {t.name} ({a}) overlaps VNet {o.name} ({b}); give the test network "
                            "its own address space.",
                            t.urn,
                        )
    for r in args.resources:
        if r.resource_type != VNET_PEERING:
            continue
        ends = [dig(r.props, "virtualNetworkName"), dig(r.props, "remoteVirtualNetwork", "id")]
        ends += [d.urn for d in getattr(r, "dependencies", []) or []]
        hit = next((test_keys[e] for e in ends if isinstance(e, str) and e in test_keys), None)
        if hit is not None:
            report_violation(f"peering {r.name} connects the test-failover VNet {hit.name}; delete the peering.", r.urn)


RULE = Rule(
    name="test-failover-network-isolated",
    description="Prohibits peering the test-failover network and overlapping it with the recovery network.",
    severity="high",
    enforcement="mandatory",
    remediation="Delete any peering of the test-failover VNet and give it an address space of its own.",
    url="https://learn.microsoft.com/azure/site-recovery/site-recovery-test-failover-to-azure",
    config=TEST_FAILOVER_SETTING,
    validate=_validate,
    stack=True,
    tags=("network",),
)
