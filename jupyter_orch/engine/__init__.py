"""The domain of jupyter-orch. Pure Python: no tornado or Jupyter imports below this line."""

from .engine import Engine, EngineConfig
from .errors import Conflict, EngineError, Invalid, NotFound, TooLarge, Unavailable

__all__ = ["Conflict", "Engine", "EngineConfig", "EngineError", "Invalid", "NotFound", "TooLarge", "Unavailable"]
