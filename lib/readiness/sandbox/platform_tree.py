"""Materialise the sample platform checkout that the demo audits statically.

`platform/clean/` is a correct platform; `platform/defects/` is an overlay holding only
the files that differ (same relative paths), and `platform/defects.yaml` lists what the
overlay plants and which check must catch it. Known-answer tests compare the two.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

PLATFORM_DIR = Path(__file__).resolve().parent / "platform"
PROFILES = ("clean", "defects")
DEFECT_FIELDS = ("defect_id", "check_id", "resource", "path", "description")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


def planted_static_defects(platform_dir: Path = PLATFORM_DIR) -> list[dict]:
    """The defects.yaml entries, validated so a typo fails loudly instead of silently."""
    entries = yaml.safe_load((platform_dir / "defects.yaml").read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError("defects.yaml must hold a list of defects")
    defects = []
    for entry in entries:
        missing = [f for f in DEFECT_FIELDS if not isinstance(entry, dict) or not entry.get(f)]
        if missing:
            raise ValueError(f"defects.yaml entry {entry!r} lacks {', '.join(missing)}")
        if not (platform_dir / "defects" / entry["path"]).is_file():
            raise ValueError(f"defect {entry['defect_id']}: no overlay file {entry['path']}")
        defect = {f: str(entry[f]).strip() for f in DEFECT_FIELDS}
        if entry.get("cause"):
            defect["cause"] = str(entry["cause"]).strip()
        defects.append(defect)
    ids = {d["defect_id"] for d in defects}
    unknown = [d["defect_id"] for d in defects if d.get("cause", d["defect_id"]) not in ids]
    if unknown:
        raise ValueError(f"defects.yaml: cause names no defect in {', '.join(unknown)}")
    return defects


def materialize_platform(profile: str, dest: Path) -> list[dict]:
    """Copy the sample platform for `profile` into `dest`; return the planted static defects.

    Existing files in `dest` are kept (other generators, e.g. migrations, may write there)
    and files of the sample are overwritten. "clean" plants nothing and returns [].
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown platform profile {profile!r}; expected one of {PROFILES}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PLATFORM_DIR / "clean", dest, dirs_exist_ok=True, ignore=_IGNORE)
    if profile == "clean":
        return []
    defects = planted_static_defects()
    shutil.copytree(PLATFORM_DIR / "defects", dest, dirs_exist_ok=True, ignore=_IGNORE)
    return defects
