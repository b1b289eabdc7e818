"""Applicability: checks that presuppose a part of the platform (a Pterodactyl panel, a
Stripe webhook) are `not_applicable` where the platform has none, left out of the score,
and never concluded from data that was not collected."""

from __future__ import annotations

from pathlib import Path

import pytest

from readiness.checks.platform import PRESUPPOSES, platform_parts, presupposed_by
from readiness.checks.registry import REGISTRY, all_checks, evaluate
from readiness.config import load_config, write_static_params
from readiness.findings import Status
from readiness.report import scoring
from readiness.snapshot import collect

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "params" / "expected_catalog.yaml"

CHECKOUT = """\
import Stripe from "npm:stripe@14";
import { createClient } from "npm:@supabase/supabase-js@2";
const stripe = new Stripe(Deno.env.get("STRIPE_SECRET_KEY")!);
Deno.serve(async (req) => {
  const supabase = createClient(Deno.env.get("SUPABASE_URL")!, Deno.env.get("SUPABASE_ANON_KEY")!,
    { global: { headers: { Authorization: req.headers.get("Authorization")! } } });
  const { data: { user } } = await supabase.auth.getUser();
  if (!user) return new Response("unauthorized", { status: 401 });
  const { productId } = await req.json();
  const { data: product } = await supabase.from("products")
    .select("stripe_price_id").eq("id", productId).single();
  const session = await stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price: product.stripe_price_id, quantity: 1 }],
    success_url: "https://shop.example/thanks",
    cancel_url: "https://shop.example/cart",
    metadata: { user_id: user.id, product_id: productId },
  });
  return Response.json({ url: session.url });
});
"""

WEBHOOK = """\
import Stripe from "npm:stripe@14";
import { createClient } from "npm:@supabase/supabase-js@2";
const stripe = new Stripe(Deno.env.get("STRIPE_SECRET_KEY")!);
const admin = createClient(Deno.env.get("SUPABASE_URL")!,
  Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!);
Deno.serve(async (req) => {
  const body = await req.text();
  let event;
  try {
    event = await stripe.webhooks.constructEventAsync(body, req.headers.get("stripe-signature")!,
      Deno.env.get("STRIPE_WEBHOOK_SECRET")!);
  } catch (_err) {
    return new Response("bad signature", { status: 400 });
  }
  if (event.type === "checkout.session.completed") {
    const s = event.data.object;
    const { error } = await admin.from("orders")
      .insert({ user_id: s.metadata.user_id, status: "paid" });
    if (error) return new Response("retry", { status: 500 });
  }
  return new Response("ok");
});
"""

# Three ways real projects reach a panel: an API path in a template literal, a panel
# env variable read through a helper, a client package.
PROVISION_BY_PATH = """\
const base = Deno.env.get("GAME_PANEL_URL")!;
Deno.serve(async (req) => {
  const { orderId } = await req.json();
  const res = await fetch(`${base}/api/application/servers`, {
    method: "POST",
    headers: { Authorization: `Bearer ${Deno.env.get("GAME_PANEL_KEY")}` },
    body: JSON.stringify({ name: orderId, user: 1, egg: 5, limits: { memory: 4096 } }),
  });
  return new Response(await res.text(), { status: res.status });
});
"""
PROVISION_BY_ENV = """\
const env = (name: string) => Deno.env.get(name) ?? "";
export const panelKey = () => env("PTERODACTYL_API_KEY");
"""


def _checkout(tmp: Path, extra: dict[str, str] | None = None) -> Path:
    files = {
        "supabase/functions/create-checkout/index.ts": CHECKOUT,
        "supabase/functions/stripe-webhook/index.ts": WEBHOOK,
        **(extra or {}),
    }
    root = tmp / "checkout"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _audit(tmp: Path, checkout: Path, **changes):
    config = load_config(write_static_params(tmp, checkout, CATALOG))
    if changes:
        sources = config.sources.model_copy(update=changes)
        config = config.model_copy(update={"sources": sources})
    snapshot = collect(config, tmp / "evidence")
    return snapshot, config, evaluate(snapshot, config)


def _statuses(findings, check_id: str) -> set[Status]:
    return {f.status for f in findings if f.check_id == check_id}


def test_a_shop_without_a_panel_skips_the_game_hosting_checks(tmp_path) -> None:
    snapshot, config, findings = _audit(tmp_path, _checkout(tmp_path))
    parts = platform_parts(snapshot, config)
    assert parts["panel"].absent and parts["provisioning"].absent
    assert parts["stripe_webhook"].present
    hosting = {"panel", "provisioning"}
    panel_checks = [s.id for s in all_checks() if hosting & set(s.presupposes)]
    assert {"PANEL-CODE-CAPACITY", "FLOW-WEBHOOK-PROVISION", "STRIPE-CATALOG-COVERAGE"} <= set(
        panel_checks
    )
    for check_id in panel_checks:
        mine = [f for f in findings if f.check_id == check_id]
        assert [f.status for f in mine] == [Status.NOT_APPLICABLE], check_id
        assert "none found" in mine[0].reason
        assert ("Pterodactyl panel" in mine[0].reason) or ("provisioning" in mine[0].reason)
    # The webhook checks still run, and the score leaves the skipped checks out.
    assert Status.NOT_APPLICABLE not in _statuses(findings, "STRIPE-WEBHOOK-SIGNATURE")
    table = scoring.check_table(findings, all_checks())
    skipped = table[table["check_id"].isin(panel_checks)]
    assert (skipped["weight"] == 0).all() and (skipped["status"] == "not_applicable").all()


@pytest.mark.parametrize(
    "extra",
    [
        {"supabase/functions/provision/index.ts": PROVISION_BY_PATH},
        {"supabase/functions/_shared/panel.ts": PROVISION_BY_ENV},
        {"package.json": "{}", "scripts/ptero.ts": 'import { Client } from "pterodactyl.js";\n'},
    ],
    ids=["api-path", "env-name", "client-package"],
)
def test_a_panel_in_the_code_keeps_the_game_hosting_checks(tmp_path, extra) -> None:
    snapshot, config, findings = _audit(tmp_path, _checkout(tmp_path, extra))
    assert platform_parts(snapshot, config)["panel"].present
    assert Status.NOT_APPLICABLE not in _statuses(findings, "PANEL-CODE-CAPACITY")
    assert Status.NOT_APPLICABLE not in _statuses(findings, "FLOW-WEBHOOK-PROVISION")


MOCK_PROVISION = """\
import { createClient } from "npm:@supabase/supabase-js@2";
const db = createClient(Deno.env.get("SUPABASE_URL")!, Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!);
Deno.serve(async (req) => {
  const { orderId } = await req.json();
  await db.from("orders").update({ status: "provisioning" }).eq("id", orderId);
  await new Promise((r) => setTimeout(r, 10)); // the panel call is still to come
  await db.from("orders").update({ status: "active" }).eq("id", orderId);
  return new Response("ok");
});
"""


def test_provisioning_without_a_panel_keeps_the_provisioning_checks(tmp_path) -> None:
    extra = {"supabase/functions/provision-server/index.ts": MOCK_PROVISION}
    snapshot, config, findings = _audit(tmp_path, _checkout(tmp_path, extra))
    parts = platform_parts(snapshot, config)
    assert parts["panel"].absent and parts["provisioning"].present
    assert Status.NOT_APPLICABLE not in _statuses(findings, "FLOW-WEBHOOK-PROVISION")
    assert _statuses(findings, "PANEL-CODE-CAPACITY") == {Status.NOT_APPLICABLE}


def test_the_panel_source_enabled_in_params_declares_a_panel(tmp_path) -> None:
    from readiness.config import PterodactylSource

    panel = PterodactylSource(enabled=True, url="http://127.0.0.1:9")
    snapshot, config, findings = _audit(tmp_path, _checkout(tmp_path), pterodactyl=panel)
    assert platform_parts(snapshot, config)["panel"].present
    # the panel could not be reached: not verified, never "not applicable"
    assert _statuses(findings, "PANEL-EGG-IDS") == {Status.NOT_VERIFIED}


def test_nothing_is_not_applicable_when_the_code_was_not_read(tmp_path) -> None:
    from readiness.config import CodebaseSource

    snapshot, config, findings = _audit(
        tmp_path, _checkout(tmp_path), codebase=CodebaseSource(enabled=False)
    )
    parts = platform_parts(snapshot, config)
    assert not parts["panel"].known and not parts["panel"].absent
    assert not any(f.status == Status.NOT_APPLICABLE for f in findings)
    assert _statuses(findings, "PANEL-CODE-CAPACITY") == {Status.NOT_VERIFIED}


def test_no_webhook_makes_the_webhook_detail_checks_not_applicable(tmp_path) -> None:
    root = tmp_path / "checkout"
    (root / "supabase/functions/create-checkout").mkdir(parents=True)
    (root / "supabase/functions/create-checkout/index.ts").write_text(CHECKOUT)
    snapshot, config, findings = _audit(tmp_path, root)
    assert platform_parts(snapshot, config)["stripe_webhook"].absent
    assert _statuses(findings, "STRIPE-WEBHOOK-SIGNATURE") == {Status.NOT_APPLICABLE}
    # the missing webhook itself is still a problem, not skipped
    assert Status.NOT_APPLICABLE not in _statuses(findings, "STRIPE-WEBHOOK-HANDLES-CHECKOUT")


def test_auth_rules_of_edge_functions_do_not_apply_without_any(tmp_path) -> None:
    root = tmp_path / "checkout"
    (root / "app/api/checkout").mkdir(parents=True)
    (root / "app/api/checkout/route.ts").write_text(
        "export async function POST(req: Request) { return Response.json({}); }\n"
    )
    snapshot, config, findings = _audit(tmp_path, root)
    assert platform_parts(snapshot, config)["edge_functions"].absent
    assert _statuses(findings, "AUTH-NOJWT-SERVICE-ROLE") == {Status.NOT_APPLICABLE}
    # with a function, the rule runs
    snapshot, config, findings = _audit(tmp_path, _checkout(tmp_path))
    assert Status.NOT_APPLICABLE not in _statuses(findings, "AUTH-NOJWT-SERVICE-ROLE")


def test_every_presupposition_names_known_checks_and_parts() -> None:
    from readiness.checks.platform import DETECTORS, PARTS

    all_checks()
    for pattern, parts in PRESUPPOSES.items():
        assert set(parts) <= set(PARTS) == set(DETECTORS)
        prefix = pattern.removesuffix("*")
        assert any(cid == pattern or cid.startswith(prefix) for cid in REGISTRY), pattern
    assert presupposed_by("PANEL-EGG-IDS") == ("panel",)
    assert presupposed_by("PANELX") == ()
    assert presupposed_by("SEC-RLS-ANON-WRITE") == ()
