"""Building blocks of the classic architecture (retired by Microsoft in March 2026, kept for vaults being migrated).

Configuration server from Microsoft's OVF, scale-out process servers and master targets, the InMageAzureV2/InMage
policies, InMageAzureV2 protected items, and the failback infrastructure (temporary Azure process server + VPN or
ExpressRoute). :func:`asrctl.infra.classic.site_blocks.add_classic_blocks` composes them into the DR site.
"""
