"""`wallaroo.object`: the exceptions scripts catch."""

from jupyter_orch.client.errors import EntityNotFoundError, RequiredAttributeMissing

__all__ = ["EntityNotFoundError", "RequiredAttributeMissing"]
