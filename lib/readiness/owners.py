"""Folders named after the process that owns them (`<prefix><pid>-…`): a run killed
before it could clean up leaves them behind, and the next run removes those whose owner
is gone (output staging, kernel sockets, scratch clusters)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_pid(folder: Path, prefix: str) -> int | None:
    """The pid in `<prefix><pid>-…`, or None when the name does not carry one."""
    try:
        return int(folder.name[len(prefix) :].split("-")[0])
    except ValueError:
        return None


def abandoned(folders: Iterable[Path], prefix: str) -> list[Path]:
    """The folders among `folders` whose owner process is gone."""
    out = []
    for folder in folders:
        pid = owner_pid(folder, prefix)
        if pid is not None and not alive(pid):
            out.append(folder)
    return out
