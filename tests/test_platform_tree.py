"""The sample platform checkout: profiles, overlay and the planted-defect manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from readiness.sandbox.platform_tree import (
    DEFECT_FIELDS,
    PLATFORM_DIR,
    materialize_platform,
    planted_static_defects,
)

REQUIRED = [
    "supabase/config.toml",
    "supabase/functions/_shared/cors.ts",
    "supabase/functions/_shared/supabaseAdmin.ts",
    "supabase/functions/create-checkout-session/index.ts",
    "supabase/functions/stripe-webhook/index.ts",
    "supabase/functions/servers-provision/index.ts",
    "supabase/functions/create-pterodactyl-user/index.ts",
    "src/lib/supabase.ts",
    "src/services/stripeService.ts",
    "src/hooks/useStripeCheckout.ts",
    "src/hooks/useUserServers.ts",
    "src/hooks/useAuth.tsx",
    ".env.example",
    "README.md",
]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_clean_profile_copies_the_tree_and_plants_nothing(tmp_path: Path) -> None:
    assert materialize_platform("clean", tmp_path) == []
    assert set(REQUIRED) <= _files(tmp_path)
    assert _files(PLATFORM_DIR / "clean") - {p for p in _files(tmp_path)} == set()
    clean_checkout = PLATFORM_DIR / "clean/supabase/functions/create-checkout-session/index.ts"
    assert (tmp_path / "supabase/functions/create-checkout-session/index.ts").read_bytes() == (
        clean_checkout.read_bytes()
    )


def test_defects_profile_applies_the_overlay(tmp_path: Path) -> None:
    defects = materialize_platform("defects", tmp_path)
    assert defects == planted_static_defects()
    by_check = {d["check_id"]: d for d in defects}
    assert "STRIPE-CHECKOUT-METADATA" in by_check
    rel = by_check["STRIPE-CHECKOUT-METADATA"]["path"]
    planted = (tmp_path / rel).read_text()
    assert planted == (PLATFORM_DIR / "defects" / rel).read_text()
    assert planted != (PLATFORM_DIR / "clean" / rel).read_text()
    assert "term: plan.term" not in planted
    assert _files(tmp_path) >= _files(PLATFORM_DIR / "clean")


def test_manifest_and_overlay_agree() -> None:
    defects = planted_static_defects()
    assert defects and all(set(d) - {"cause"} == set(DEFECT_FIELDS) for d in defects)
    ids = {d["defect_id"] for d in defects}
    assert len(ids) == len(defects)
    # a cause names another planted defect, never itself or nothing
    assert all(d["cause"] in ids - {d["defect_id"]} for d in defects if "cause" in d)
    overlay = _files(PLATFORM_DIR / "defects")
    assert overlay == {d["path"] for d in defects}, "every overlay file plants a listed defect"


def test_existing_destination_files_are_kept(tmp_path: Path) -> None:
    extra = tmp_path / "supabase/migrations/999_extra.sql"
    extra.parent.mkdir(parents=True)
    extra.write_text("select 1;\n")
    materialize_platform("clean", tmp_path)
    assert extra.read_text() == "select 1;\n"


def test_unknown_profile_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown platform profile"):
        materialize_platform("broken", tmp_path)
    assert not any(tmp_path.iterdir())


def test_clean_sample_keeps_placeholders_only() -> None:
    env = (PLATFORM_DIR / "clean/.env.example").read_text()
    for name in ("VITE_SUPABASE_URL", "VITE_SUPABASE_ANON_KEY", "VITE_STRIPE_PUBLISHABLE_KEY"):
        assert f"{name}=" in env
    for path in (PLATFORM_DIR / "clean").rglob("*"):  # defects/ may plant secrets later
        if path.is_file():
            body = path.read_text(errors="replace")
            for prefix in ("sk_live_", "sk_test_", "rk_live_", "whsec_", "ptla_", "ptlc_"):
                assert prefix not in body, f"{path} contains {prefix}"
