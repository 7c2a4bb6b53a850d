"""Building blocks of the modernized architecture (replication appliances, provider InMageRcm / InMageRcmFailback).

Replication appliances from Microsoft's OVF, the InMageRcm and InMageRcmFailback policies, the container mappings
and InMageRcm protected items. :func:`asrctl.infra.modernized.site_blocks.add_modernized_blocks` composes them into
the DR site. No configuration server, scale-out process server, Azure process server or VPN exists here.
"""
