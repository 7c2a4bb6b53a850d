"""asrctl: VMware to Azure disaster recovery with Azure Site Recovery, as code."""

__version__ = "0.1.0"
