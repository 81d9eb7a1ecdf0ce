"""envsync: make a virtual environment match a declarative spec, through a PEP 751 lock."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
