"""Whether a frontend catch sits on the checkout / purchase path, and whether the error
it catches was already shown to the user (for FE-HOOK-ERRORS).

A catch is on the checkout path when the code it guards (the try block, or the promise
chain before `.catch`) starts a checkout or a payment: `functions.invoke` / `fetch` of an
endpoint named like one (`create-checkout`, `/api/billing/portal`), Stripe.js calls
(`redirectToCheckout`, `confirmPayment`), a call named like one (`createCheckoutSession`,
`checkout.mutateAsync`), or one level down, a local or imported helper or hook that does.
The helper "surfaced" the error when its body already toasts, alerts or sets an error
state (e.g. a react-query mutation whose `onError` toasts).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.scope import local_function, trace
from ..ts.syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    function_name,
    normalized,
    root_identifier,
    string_value,
    text,
    unwrap,
)

URL_WORDS = re.compile(
    r"checkout|purchase|payment|billing|subscri|portal|\bpay\b|pay[-_]|charge"
    r"|(?:create|place|submit|confirm)[-_]?(?:order|booking)",
    re.I,
)
NAME_WORDS = re.compile(
    r"checkout|purchase|payment|subscribeto|create\w*subscription|buynow|paynow"
    r"|customerportal|billingportal|portalsession|confirmsetup|handlepay|handleupgrade",
    re.I,
)
# a handler named for the purchase it runs (handleCheckout, onPurchase, processPayment),
# not one that reads a status (checkPaymentStatus, loadPaymentMethods)
FUNCTION_WORDS = re.compile(
    r"checkout|purchase|buynow|paynow|upgradeplan"
    r"|^(?:handle|on|start|process|submit|make|complete|confirm|do)\w*(?:pay|buy|subscribe)",
    re.I,
)
NOT_CHECKOUT_CHAINS = re.compile(r"pushManager|channel|realtime|serviceWorker", re.I)
SURFACE = re.compile(r"toast|alert|notify|showError|message\.error|setError|setErr\b", re.I)
LOG_CHAINS = re.compile(r"^(console|logger|log|Sentry)\.|^(logError|logger)$")
REQUEST_CALLS = frozenset({"invoke", "fetch", "post", "put", "request", "rpc"})


class FunctionIndex:
    """Named functions of every parsed file (one level of cross-file helpers)."""

    def __init__(self, files: list[ParsedFile]) -> None:
        self.by_name: dict[str, list[tuple[ParsedFile, Node]]] = {}
        for pf in files:
            for fn in pf.nodes(*sorted(FUNCTION_TYPES)):
                name = function_name(fn)
                if name and fn.type != "method_definition":
                    self.by_name.setdefault(name, []).append((pf, fn))

    def find(self, pf: ParsedFile, call: Node) -> list[tuple[ParsedFile, Node]]:
        """Functions a call may run: same-file first, else any file's function of that name."""
        local = local_function(pf, call)
        if local is not None:
            return [(pf, local)]
        target = unwrap(callee(call))
        if target is None or target.type != "identifier":
            return []
        return self.by_name.get(text(target), [])[:3]


EMPTY_INDEX = FunctionIndex([])


def _calls(pf: ParsedFile, scope: Node) -> list[Node]:
    return [c for c in pf.nodes("call_expression") if contains(scope, c)]


def _names(node: Node | None) -> str:
    """The identifiers of a callee chain without its arguments (`a.from('x').select` → aselect)."""
    out: list[str] = []
    while node is not None:
        node = unwrap(node)
        if node is None:
            break
        if node.type in {"identifier", "property_identifier"}:
            out.append(text(node))
            break
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            out.append(text(prop))
            node = node.child_by_field_name("object")
        elif node.type == "call_expression":
            node = callee(node)
        else:
            break
    return "".join(reversed(out))


def direct_checkout(call: Node) -> str | None:
    """What makes this one call a checkout/payment call (for the evidence), or None."""
    chain = normalized(callee(call))
    if NOT_CHECKOUT_CHAINS.search(chain):
        return None
    prop = call_property(call) or chain
    args = call_args(call)
    if prop in REQUEST_CALLS and args:
        target = string_value(args[0]) or text(args[0])
        if URL_WORDS.search(target[:200]):
            return f"{chain}({target[:60]})"
    names = _names(callee(call))
    if NAME_WORDS.search(names) and not re.match(r"set[A-Z]", names):  # not a state setter
        return chain
    return None


TOAST_OPTION = re.compile(r"^(toast|errorToast|showToast|notify|errorMessage)$")


def surfaces(pf: ParsedFile, scope: Node) -> bool:
    """The scope shows something to the user: a toast, an alert, an error state, or a
    request helper's `toast: { error: … }` option."""
    for pair in pf.nodes("pair"):
        if contains(scope, pair) and TOAST_OPTION.match(text(pair.child_by_field_name("key"))):
            return True
    for c in _calls(pf, scope):
        name = normalized(callee(c))
        if SURFACE.search(name) or re.match(r"set\w*(Error|Err|Message|Failed)\b", name):
            return True
    return False


def _bound_call(pf: ParsedFile, call: Node) -> Node | None:
    """For `x.mutateAsync()` / `x()`: the call `x` was bound to (`const x = useFoo()`)."""
    root = root_identifier(callee(call))
    if root is None:
        return None
    binding = trace(pf, text(root), call)
    value = unwrap(binding.value) if binding is not None else None
    while value is not None and value.type == "await_expression":
        value = unwrap(value.named_children[0]) if value.named_children else None
    return value if value is not None and value.type == "call_expression" else None


def checkout_context(
    pf: ParsedFile, guarded: Node | None, catch_node: Node, index: FunctionIndex
) -> tuple[str | None, bool]:
    """(what puts the catch on the checkout path or None, a callee already surfaced it)."""
    why: str | None = None
    surfaced = False
    calls = _calls(pf, guarded) if guarded is not None else []
    for call in calls:
        found = direct_checkout(call)
        helpers = index.find(pf, call)
        bound = _bound_call(pf, call)
        if bound is not None:
            helpers += index.find(pf, bound)
            found = found or direct_checkout(bound)
        for hpf, fn in helpers:
            body = fn.child_by_field_name("body")
            if body is None:
                continue
            inner = next((w for c in _calls(hpf, body) if (w := direct_checkout(c))), None)
            if inner or found:
                found = found or f"{function_name(fn)} → {inner}"
                surfaced = surfaced or surfaces(hpf, body)
        why = why or found
    if why is None:  # the handler itself is named for it (`handlePurchase`), not its component
        fn = enclosing_function(catch_node)
        while fn is not None and not function_name(fn):
            fn = enclosing_function(fn)
        name = (function_name(fn) if fn is not None else None) or ""
        if FUNCTION_WORDS.search(name) and not name[:1].isupper():
            why = f"in {name}"
    return why, surfaced


def only_logs(pf: ParsedFile, body: Node) -> bool:
    """The catch does nothing but console/logger calls (or nothing at all)."""
    if body.type != "statement_block":
        node = unwrap(body)
        return node is not None and node.type == "call_expression" and _is_log(node)
    for stmt in body.named_children:
        if stmt.type in {"comment", "empty_statement"}:
            continue
        if stmt.type != "expression_statement" or not stmt.named_children:
            return False
        expr = unwrap(stmt.named_children[0])
        if expr is None or expr.type != "call_expression" or not _is_log(expr):
            return False
    return True


def _is_log(call: Node) -> bool:
    chain = normalized(callee(call))
    if SURFACE.search(chain):
        return False  # toast.error(...) shows the error
    return bool(LOG_CHAINS.search(chain)) or call_property(call) in {"error", "warn", "log"}


# --- intentional catches (ERR-EMPTY-CATCH, ERR-CATCH-LOGS) ---------------------------------

PARSE_CALLS = frozenset({"json", "text", "formData", "arrayBuffer", "blob"})
SSR_COOKIES = re.compile(r"cookiesToSet|cookieStore\.set|cookies\(\)\.set|\.cookies\.set")


def commented(body: Node) -> bool:
    """The catch body holds a comment (a documented, deliberate ignore)."""
    return any(c.type == "comment" for c in body.children)


def idiom(guarded: Node | None) -> str | None:
    """A known intentional ignore: the @supabase/ssr `setAll` cookie write, which throws
    when called from a Server Component and is meant to be ignored there."""
    if guarded is not None and SSR_COOKIES.search(text(guarded)):
        return "ssr-cookies"
    return None


def parse_fallback(pf: ParsedFile, guarded: Node | None) -> bool:
    """The guarded code only parses a body (`await req.json()`, `JSON.parse`, `.json()`
    before `.catch(() => ({}))`): a fallback value, not a failure to trace."""
    if guarded is None:
        return False
    calls = [c for c in _calls(pf, guarded) if not _inside_callback(c, guarded)]
    if guarded.type == "call_expression":
        calls = [guarded, *calls]
    if not calls:
        return False
    return all(_parses(c) for c in calls)


def _parses(call: Node) -> bool:
    """`req.json()`, `res.text()`, `JSON.parse(…)` — not a helper that happens to be named json."""
    target = unwrap(callee(call))
    if normalized(target) == "JSON.parse":
        return True
    return (
        target is not None
        and target.type == "member_expression"
        and call_property(call) in PARSE_CALLS
        and not call_args(call)
    )


def _inside_callback(call: Node, scope: Node) -> bool:
    fn = enclosing_function(call)
    return fn is not None and contains(scope, fn)


def logs_via_helper(pf: ParsedFile, body: Node, index: FunctionIndex) -> bool:
    """A helper the catch calls logs (`buildErrorResponse` that console.errors, `logStep`)."""
    for call in _calls(pf, body):
        for hpf, fn in index.find(pf, call):
            inner = fn.child_by_field_name("body")
            if inner is not None and any(
                LOG_CHAINS.search(normalized(callee(c))) for c in _calls(hpf, inner)
            ):
                return True
    return False


def guards_async(pf: ParsedFile, guarded: Node | None, style: str) -> bool:
    """The guarded code waits on something (an await, a promise chain): a service call
    whose failure matters, unlike a local `localStorage` / `JSON.parse` / DOM call."""
    if style == "promise":
        return True
    if guarded is None:
        return False
    return any(
        contains(guarded, a) and not _inside_callback(a, guarded)
        for a in pf.nodes("await_expression")
    )
