"""PANEL-CODE-HARDCODED-IDS on differently written server-create payloads: a literal or
constant owner or allocation is one problem per function with every fixed id as a
location; ids from the customer's account, a fetched allocation or a parameter are not
flagged. Every case runs the whole codebase source, then the check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.findings import Severity, Status
from readiness.static.rules.panel_ids import id_origin
from readiness.static.ts.syntax import parse_source
from tests.conftest import make_snapshot
from tests.test_flow_precision import tables

FN = "supabase/functions"
CHECK = "PANEL-CODE-HARDCODED-IDS"


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def run(root: Path, config, files: dict[str, str]):
    return evaluate_check(REGISTRY[CHECK], make_snapshot(tables(root, files)), config)


def provision(payload: str, before: str = "", after: str = "") -> str:
    """A provisioning function around one payload (its lines are the test's to find)."""
    return f"""
const PANEL = Deno.env.get('PTERODACTYL_URL')!;
{before}
Deno.serve(async (req) => {{
  const {{ order_id }} = await req.json();
  const {{ data: order }} = await db.from('orders').select('*').eq('id', order_id).single();
  const {{ data: account }} = await db.from('external_accounts')
    .select('pterodactyl_user_id').eq('user_id', order.user_id).single();
  const free = (await (await fetch(`${{PANEL}}/api/application/nodes/1/allocations`)).json())
    .data.find((a) => !a.attributes.assigned);
  const payload: Record<string, unknown> = {payload};
{after}
  const res = await fetch(`${{PANEL}}/api/application/servers`, {{
    method: 'POST', body: JSON.stringify(payload) }});
  return new Response(JSON.stringify(await res.json()));
}});
"""


def line_of(src: str, needle: str) -> int:
    lines = textwrap.dedent(src).lstrip("\n").splitlines()
    return next(i for i, text in enumerate(lines, 1) if needle in text)


LITERAL_BOTH = provision(
    """{
    name: order.server_name, egg: 5, limits: { memory: 1024 },
    user: 1,
    allocation: { default: 7 },
  }"""
)
CONSTANT_USER = provision(
    "{ name: order.id, egg: 5, environment: {}, user: ADMIN_USER_ID,"
    " allocation: { default: free.attributes.id } }",
    before="const ADMIN_USER_ID = 1;",
)
BUILT_UP = provision(
    "{ name: order.id, egg: 5, environment: {}, allocation: { default: free.attributes.id } }",
    after="  payload.user = 1;",
)
CONSTANT_ALLOCATION = provision(
    "{ name: order.id, egg: 5, limits: {}, user: account.pterodactyl_user_id,"
    " allocation: DEFAULT_ALLOCATION }",
    before="const DEFAULT_ALLOCATION = { default: 7, additional: [] };",
)


def test_literal_owner_and_allocation_are_one_problem_with_both_places(
    tmp_path: Path, demo_config
) -> None:
    found = run(tmp_path, demo_config, {f"{FN}/servers-provision/index.ts": LITERAL_BOTH})
    assert len(found) == 1
    problem = found[0]
    assert (problem.resource, problem.status) == ("function:servers-provision", Status.FAIL)
    assert problem.severity == Severity.CRITICAL  # the owner's; the allocation is high
    path = f"{FN}/servers-provision/index.ts"
    assert [loc.location for loc in problem.locations] == [
        f"{path}:{line_of(LITERAL_BOTH, 'user: 1')}",
        f"{path}:{line_of(LITERAL_BOTH, 'allocation: {')}",
    ]
    assert [loc.severity for loc in problem.locations] == [Severity.CRITICAL, Severity.HIGH]
    assert "panel user 1" in problem.reason


@pytest.mark.parametrize(
    ("src", "needle", "severity"),
    [
        (CONSTANT_USER, "user: ADMIN_USER_ID", Severity.CRITICAL),
        (BUILT_UP, "payload.user = 1", Severity.CRITICAL),
        (CONSTANT_ALLOCATION, "allocation: DEFAULT_ALLOCATION", Severity.HIGH),
    ],
    ids=["module-constant-user", "payload.user-assigned", "constant-allocation-object"],
)
def test_fixed_ids_written_other_ways(
    tmp_path: Path, demo_config, src: str, needle: str, severity: Severity
) -> None:
    found = run(tmp_path, demo_config, {f"{FN}/provision/index.ts": src})
    assert [(f.resource, f.status, f.severity) for f in found] == [
        ("function:provision", Status.FAIL, severity)
    ]
    assert found[0].location == f"{FN}/provision/index.ts:{line_of(src, needle)}"


DERIVED = {
    "account-column": "{ egg: 5, limits: {}, user: account.pterodactyl_user_id,"
    " allocation: { default: free.attributes.id } }",
    "fetched-panel-user": "{ egg: 5, limits: {}, user: panelUser.attributes.id }",
    "parameter": "{ egg: 5, limits: {}, user: Number(order_id), allocation: { default: free.id } }",
    "reassigned-let": "{ egg: 5, limits: {}, user: owner }",
}


@pytest.mark.parametrize("payload", list(DERIVED.values()), ids=list(DERIVED))
def test_ids_from_the_order_are_not_flagged(tmp_path: Path, demo_config, payload: str) -> None:
    before = "let owner = 1;\nfunction setOwner(id) { owner = id; }"
    src = provision(payload, before=before).replace(
        "const payload", "const panelUser = await (await fetch(PANEL)).json();\n  const payload"
    )
    found = run(tmp_path, demo_config, {f"{FN}/provision/index.ts": src})
    assert [(f.resource, f.status) for f in found] == [("function:provision", Status.PASS)]


def test_owner_from_the_environment_warns(tmp_path: Path, demo_config) -> None:
    """One env-configured owner is a deliberate setting (maybe a reseller account whose
    servers customers never see), not a leftover: review it, do not block on it."""
    src = provision(
        "{ egg: 5, limits: {}, user: Number(Deno.env.get('PANEL_USER')),"
        " allocation: { default: free.attributes.id } }"
    )
    found = run(tmp_path, demo_config, {f"{FN}/provision/index.ts": src})
    assert [(f.status, f.severity) for f in found] == [(Status.WARN, Severity.HIGH)]


def test_shared_helper_is_one_problem_for_every_function_using_it(
    tmp_path: Path, demo_config
) -> None:
    helper = """
    export const PANEL_DEFAULTS = { owner: 2 };
    export async function createServer(order, allocationId: number) {
      const { owner } = PANEL_DEFAULTS;
      const body = { name: order.id, egg: 5, limits: {}, user: owner,
        allocation: { default: allocationId } };
      return await fetch('https://panel/api/application/servers', {
        method: 'POST', body: JSON.stringify(body) });
    }
    """
    caller = """
    import { createServer } from '../_shared/panel.ts';
    Deno.serve(async (req) => new Response(String(await createServer(await req.json(), 3))));
    """
    found = run(
        tmp_path,
        demo_config,
        {
            f"{FN}/_shared/panel.ts": helper,
            f"{FN}/provision/index.ts": caller,
            f"{FN}/retry-provision/index.ts": caller,
        },
    )
    problems = [f for f in found if f.status == Status.FAIL]
    assert [f.resource for f in problems] == [f"file:{FN}/_shared/panel.ts"]
    assert problems[0].evidence["functions"] == ["provision", "retry-provision"]


def test_no_payload_is_not_verified(tmp_path: Path, demo_config) -> None:
    src = "Deno.serve(async () => new Response('ok'));"
    found = run(tmp_path, demo_config, {f"{FN}/hello/index.ts": src})
    assert [f.status for f in found] in ([Status.NOT_VERIFIED], [Status.NOT_APPLICABLE])


@pytest.mark.parametrize(
    ("expr", "origin"),
    [
        ("1", "literal"),
        ("'42'", "literal"),
        ("Number('3')", "literal"),
        ("parseInt(Deno.env.get('OWNER') ?? '1', 10)", "env"),
        ("process.env.PANEL_OWNER", "env"),
        ("CFG.panel.owner", "constant"),
        ("order.owner ?? 1", "derived"),
        ("isTest ? 1 : account.id", "derived"),
        ("importedOwner", "derived"),
    ],
)
def test_id_origin(expr: str, origin: str) -> None:
    src = (
        "import { importedOwner } from './x.ts';\n"
        f"const CFG = {{ panel: {{ owner: 9 }} }};\nconst v = {expr};"
    )
    pf = parse_source(f"{FN}/f/index.ts", src.encode(), "f")
    decl = pf.nodes("variable_declarator")[-1]
    assert id_origin(pf, decl.child_by_field_name("value"))[0] == origin
