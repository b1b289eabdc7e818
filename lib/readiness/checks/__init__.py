"""Checks: one module (or a few) per audit area, named `areaNN_<topic>.py`; every such
module is imported by `load_all`, so adding an area never means editing a list here."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every area module so its checks register themselves."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("area"):
            importlib.import_module(f"{__name__}.{info.name}")
