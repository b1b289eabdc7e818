"""Checks: one module per audit area, all registered in `registry`."""

from __future__ import annotations

import importlib

AREA_MODULES = [
    "readiness.checks.area01_prices",
    "readiness.checks.area01_webhooks",
    "readiness.checks.area01_checkout",
]


def load_all() -> None:
    """Import every area module so its checks register themselves."""
    for name in AREA_MODULES:
        importlib.import_module(name)
