"""The Azure provider: ASR through the real SDK (``--provider azure``)."""

from asrctl.recovery.providers.azure.provider import AzureProvider, ItemRef

__all__ = ["AzureProvider", "ItemRef"]
