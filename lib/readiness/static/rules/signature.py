"""Which functions receive Stripe events, and how they verify Stripe's signature.

A function is a Stripe webhook when its code shows it: it verifies with the SDK
(`constructEvent(Async)`, `signature.verifyHeader`), reads the `Stripe-Signature` header, or
it is named like a webhook and imports the Stripe SDK or dispatches on event types only
Stripe sends (`checkout.session.*`, `payment_intent.*`, ...). A `shopify-webhook` or a
`paystack-webhook` is a webhook, but not Stripe's: Stripe rules do not apply to it.

Signatures are verified either with the SDK or by hand (Web Crypto HMAC-SHA256 via
`crypto.subtle.importKey` + `sign`/`verify`, or node's `createHmac`), directly or through
a helper (`verifyStripeSignature(body, header, Deno.env.get('STRIPE_WEBHOOK_SECRET'))`),
same-file or imported. Rules only record; checks decide.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.idioms import Effects, callers_in_file, env_name_of, first_effect_before
from ..ts.scope import trace
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    enclosing_function,
    function_name,
    line,
    normalized,
    string_value,
    text,
    unwrap,
)

SDK_CALLS = frozenset({"constructEvent", "constructEventAsync", "verifyHeader"})
SIGNATURE_HEADER = "stripe-signature"
# the module specifier of the Stripe SDK: 'stripe', 'npm:stripe@14', 'https://esm.sh/stripe@14?target=deno'
SDK_SPECIFIER = re.compile(r"(^|[/:])stripe($|[@?/])", re.IGNORECASE)
# event families no other payment provider names this way (Paystack says 'subscription.create')
STRIPE_ONLY_EVENTS = (
    "checkout.session.",
    "payment_intent.",
    "customer.subscription.",
    "setup_intent.",
)
WEBHOOK_SLUG = re.compile(r"webhook|hook", re.IGNORECASE)


def stripe_signals(pf: ParsedFile) -> set[str]:
    """What in this file says 'Stripe events arrive here': 'sdk_verify', 'signature_header',
    'sdk_import', 'stripe_events'."""
    found: set[str] = set()
    for call in pf.nodes("call_expression"):
        if call_property(call) in SDK_CALLS:
            found.add("sdk_verify")
    for node in pf.nodes("string"):
        value = string_value(node)
        if value is None:
            continue
        if value.lower() == SIGNATURE_HEADER:
            found.add("signature_header")
        elif value.startswith(STRIPE_ONLY_EVENTS) and value.count(".") >= 2:
            found.add("stripe_events")
        elif SDK_SPECIFIER.search(value) and _is_module_specifier(node):
            found.add("sdk_import")
    return found


def _is_module_specifier(node: Node) -> bool:
    parent = node.parent
    if parent is not None and parent.type in {"import_statement", "export_statement"}:
        return True
    call = parent.parent if parent is not None and parent.type == "arguments" else None
    return call is not None and text(call.child_by_field_name("function")) in {"import", "require"}


def is_stripe_webhook(slug: str, signals: set[str]) -> bool:
    """Verifying Stripe's signature (or reading its header) makes any function one; a
    webhook-named function also counts when it imports Stripe or handles Stripe-only events."""
    if signals & {"sdk_verify", "signature_header"}:
        return True
    if not WEBHOOK_SLUG.search(slug):
        return False
    return "stripe" in slug.lower() or bool(signals & {"sdk_import", "stripe_events"})


# Hand-written and helper verification -----------------------------------------------------


def _key_material(node: Node | None) -> Node | None:
    """`x` in `new TextEncoder().encode(x)`, `encoder.encode(x)`, `Buffer.from(x)`."""
    node = unwrap(node)
    is_call = node is not None and node.type == "call_expression"
    if is_call and call_property(node) in {"encode", "from"} and call_args(node):
        return unwrap(call_args(node)[0])
    return node


def _hmac_calls(pf: ParsedFile) -> list[tuple[Node, Node | None]]:
    """(verification call, secret node) for Web Crypto HMAC keys and node createHmac."""
    out = []
    for call in pf.nodes("call_expression"):
        chain, args = normalized(callee(call)), call_args(call)
        web_crypto = chain.endswith("subtle.importKey") and len(args) > 2
        if (web_crypto and "HMAC" in text(args[2])) or (
            chain.split(".")[-1] == "createHmac" and len(args) > 1
        ):
            out.append((call, _key_material(args[1])))
    return out


def _param_index(pf: ParsedFile, node: Node | None) -> tuple[Node, int] | None:
    """(function, index) when `node` is a parameter of its enclosing named function."""
    node = unwrap(node)
    if node is None or node.type != "identifier":
        return None
    binding = trace(pf, text(node), node)
    if binding is None or binding.kind != "param" or binding.scope.type not in FUNCTION_TYPES:
        return None
    params = binding.scope.child_by_field_name("parameters")
    names = [
        text(p.child_by_field_name("pattern")) for p in (params.named_children if params else [])
    ]
    if binding.name not in names:
        return None
    return binding.scope, names.index(binding.name)


def signature_helpers(pf: ParsedFile) -> dict[str, int]:
    """Named functions that verify with a secret passed as a parameter: {name: index}.

    Collected over every file (like env accessors) so that a call of an imported
    `verifyStripeSignature(body, sig, secret)` counts where the secret is supplied."""
    found: dict[str, int] = {}
    sdk = [
        (c, call_args(c)[2] if len(call_args(c)) > 2 else None)
        for c in pf.nodes("call_expression")
        if call_property(c) in SDK_CALLS
    ]
    for _call, secret in [*sdk, *_hmac_calls(pf)]:
        hit = _param_index(pf, secret)
        name = function_name(hit[0]) if hit else None
        if hit and name:
            found[name] = hit[1]
    return found


def secret_env(pf: ParsedFile, secret: Node | None, accessors: dict[str, int]) -> str | None:
    """Env var of the secret, following a parameter to the same-file callers' arguments."""
    name = env_name_of(pf, secret, accessors)
    hit = None if name else _param_index(pf, secret)
    if hit is None:
        return name
    for site in callers_in_file(pf, hit[0]):
        args = call_args(site)
        if hit[1] < len(args):
            name = env_name_of(pf, args[hit[1]], accessors)
            if name:
                return name
    return None


def exported_helper(
    pf: ParsedFile, call: Node, secret: Node | None, helpers: dict[str, int]
) -> bool:
    """The verification sits in a helper that takes the secret as a parameter and is
    not called in its own file: its callers (elsewhere) supply the secret."""
    hit = _param_index(pf, secret)
    fn = enclosing_function(call)
    if hit is None or fn is None or hit[0] != fn:
        return False
    return function_name(fn) in helpers and not callers_in_file(pf, fn)


def hand_signature_checks(
    pf: ParsedFile, accessors: dict[str, int], helpers: dict[str, int], effects: Effects
) -> list[dict]:
    """Rows like `signature_checks` for hand HMAC verification and verification helpers."""
    rows = []
    sites: list[tuple[Node, str, Node | None]] = [(c, "hmac", s) for c, s in _hmac_calls(pf)]
    for call in pf.nodes("call_expression"):
        fn = unwrap(callee(call))
        name = text(fn) if fn is not None and fn.type == "identifier" else None
        if name in helpers and helpers[name] < len(call_args(call)):
            binding = trace(pf, name, call)
            if binding is not None and binding.kind == "import":
                sites.append((call, f"helper:{name}", call_args(call)[helpers[name]]))
    for call, kind, secret in sites:
        env = secret_env(pf, secret, accessors)
        if env is None and kind == "hmac" and exported_helper(pf, call, secret, helpers):
            continue  # judged where the helper is called (see above)
        effect = first_effect_before(pf, call, effects)
        rows.append(
            {
                "path": pf.path,
                "line": line(call),
                "function_slug": pf.function_slug,
                "call": kind,
                "secret_env": env,
                "secret_expr": text(secret) if secret is not None else None,
                "payload_expr": None,
                "before_side_effects": effect is None,
                "first_side_effect_line": line(effect) if effect is not None else None,
            }
        )
    return rows
