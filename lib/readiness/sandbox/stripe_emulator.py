"""A stateful, read-only Stripe API emulator speaking the real v1 wire format.

It serves the objects it is given (already Stripe-shaped JSON) so the product's real
``stripe`` library can be exercised end to end: Bearer/basic auth, live/test
separation by key, newest-first cursor pagination, ``created[...]`` filters,
``expand[]``, Stripe error envelopes and ``Request-Id`` headers. Data is indexed at
construction; build a new emulator to serve different data.

``data`` = ``{"account": {...}, "live": {resource: [objects]}, "test": {...}}`` with
resources ``prices, products, webhook_endpoints, events, checkout_sessions,
subscriptions, customers``. ``keys`` maps an API key to ``"live"`` or ``"test"``.
"""

from __future__ import annotations

import base64
import bisect
import re
import secrets
from collections.abc import Callable
from typing import Any

from readiness.sandbox.httpbase import Context, EmulatorBase, Knobs, Reply, fingerprint

# resource name -> (list path, object name used in "No such ..." messages)
RESOURCES: dict[str, tuple[str, str]] = {
    "prices": ("/v1/prices", "price"),
    "products": ("/v1/products", "product"),
    "webhook_endpoints": ("/v1/webhook_endpoints", "webhook_endpoint"),
    "events": ("/v1/events", "event"),
    "checkout_sessions": ("/v1/checkout/sessions", "checkout.session"),
    "subscriptions": ("/v1/subscriptions", "subscription"),
    "customers": ("/v1/customers", "customer"),
}
_BY_PATH = {path: name for name, (path, _) in RESOURCES.items()}
_SUB = re.compile(r"\[([^\]]*)\]")


class BadRequest(Exception):
    """A 400/404 the emulator answers with Stripe's ``invalid_request_error`` envelope."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def nested_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe form-style query: ``a[]``/``a[0]`` -> list, ``a[k]`` -> dict."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        base = key.split("[", 1)[0]
        subs = _SUB.findall(key[len(base) :])
        if not subs:
            out[base] = value
        elif subs[0] == "" or subs[0].isdigit():
            cur = out.get(base)
            out[base] = [*cur, value] if isinstance(cur, list) else [value]
        else:
            cur = out.get(base)
            if not isinstance(cur, dict):
                cur = out[base] = {}
            cur[subs[0]] = value
    return out


def _as_bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise BadRequest(f"Invalid boolean: {value}", param=name)


def _as_int(value: str, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid integer: {value}", param=name) from None


def _ref_id(value: Any) -> Any:
    """An id whether the reference is a bare id or an (expanded) object."""
    return value.get("id") if isinstance(value, dict) else value


def _created_ok(item: dict[str, Any], created: Any) -> bool:
    ts = item.get("created", 0)
    if created is None:
        return True
    if not isinstance(created, dict):
        return ts == _as_int(created, "created")
    ops: dict[str, Callable[[int, int], bool]] = {
        "gte": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
    }
    for op, raw in created.items():
        if op not in ops:
            raise BadRequest(f"Received unknown parameter: created[{op}]", param=f"created[{op}]")
        if not ops[op](ts, _as_int(raw, f"created[{op}]")):
            return False
    return True


def _filter(resource: str, params: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The per-resource list filters real Stripe supports (the subset the product uses)."""
    active = _as_bool(params, "active") if resource in ("prices", "products") else None
    status = params.get("status")
    types = params.get("types") if isinstance(params.get("types"), list) else None

    def keep(item: dict[str, Any]) -> bool:
        if active is not None and bool(item.get("active")) != active:
            return False
        if resource == "prices":
            for name in ("currency", "type"):
                if name in params and item.get(name) != params[name]:
                    return False
            if "product" in params and _ref_id(item.get("product")) != params["product"]:
                return False
        elif resource == "events":
            etype = str(item.get("type", ""))
            want = params.get("type")
            if isinstance(want, str):
                if want.endswith("*") and not etype.startswith(want[:-1]):
                    return False
                if not want.endswith("*") and etype != want:
                    return False
            if types is not None and etype not in types:
                return False
        elif resource == "subscriptions":
            if status is None and item.get("status") == "canceled":
                return False
            if status not in (None, "all") and item.get("status") != status:
                return False
            if "customer" in params and _ref_id(item.get("customer")) != params["customer"]:
                return False
        elif resource == "checkout_sessions":
            if status is not None and item.get("status") != status:
                return False
            for name in ("subscription", "customer"):
                if name in params and _ref_id(item.get(name)) != params[name]:
                    return False
        elif resource == "customers" and "email" in params:
            return item.get("email") == params["email"]
        return True

    return keep


def _sort_key(item: dict[str, Any]) -> tuple[int, str]:
    """Newest first, id as tiebreaker."""
    return (-int(item.get("created") or 0), str(item.get("id")))


class StripeEmulator(EmulatorBase):
    """Read-only Stripe v1 emulator; see the module docstring for ``data`` and ``keys``."""

    name = "stripe-emulator"

    def __init__(
        self, data: dict[str, Any], keys: dict[str, str], knobs: Knobs | None = None
    ) -> None:
        super().__init__(knobs)
        bad = {m for m in keys.values() if m not in ("live", "test")}
        if bad:
            raise ValueError(f"key modes must be 'live' or 'test', got {sorted(bad)}")
        self.keys = dict(keys)
        self.account = dict(data.get("account") or {"id": "acct_emulated", "object": "account"})
        self._keys: dict[str, dict[str, list[tuple[int, str]]]] = {}
        self._sorted: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._index: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        for mode in ("live", "test"):
            section = data.get(mode) or {}
            unknown = set(section) - set(RESOURCES)
            if unknown:
                raise ValueError(f"unknown Stripe resources in data[{mode!r}]: {sorted(unknown)}")
            self._sorted[mode] = {r: sorted(section.get(r, []), key=_sort_key) for r in RESOURCES}
            self._keys[mode] = {r: [_sort_key(o) for o in self._sorted[mode][r]] for r in RESOURCES}
            self._index[mode] = {
                r: {str(o["id"]): o for o in items} for r, items in self._sorted[mode].items()
            }

    # -- httpbase hooks ------------------------------------------------------
    def identify(self, headers: Any) -> str | None:
        auth = headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() or None
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value.strip()).decode().split(":", 1)[0] or None
            except (ValueError, UnicodeDecodeError):
                return None
        return None

    def authorize(self, ctx: Context) -> Reply | None:
        if ctx.key is None:
            return self.error_reply(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth "
                "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if ctx.key not in self.keys:
            return self.error_reply(401, f"Invalid API Key provided: {fingerprint(ctx.key)}")
        return None

    def error_reply(self, status: int, message: str, code: str | None = None) -> Reply:
        kind = "api_error" if status >= 500 else "invalid_request_error"
        error: dict[str, Any] = {"type": kind, "message": message}
        if code:
            error["code"] = code
        return Reply(status, {"error": error})

    def rate_limited_reply(self, retry_after: int) -> Reply:
        return Reply(
            429,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Too many requests hit the API too quickly. We recommend "
                    "an exponential backoff of your requests.",
                }
            },
        )

    def decorate(self, reply: Reply, ctx: Context) -> None:
        reply.headers.setdefault("Request-Id", "req_" + secrets.token_hex(7))
        version = ctx.headers.get("Stripe-Version")
        if version:
            reply.headers.setdefault("Stripe-Version", version)

    # -- routes --------------------------------------------------------------
    def route(self, ctx: Context) -> Reply:
        mode = self.keys[ctx.key or ""]
        params = nested_params(ctx.pairs)
        path = ctx.path.rstrip("/")
        try:
            if path == "/v1/account":
                return Reply(200, self.account)
            if path in _BY_PATH:
                return Reply(200, self._list(mode, _BY_PATH[path], params, ctx.endless))
            parent, _, obj_id = path.rpartition("/")
            if parent in _BY_PATH and obj_id:
                return Reply(200, self._retrieve(mode, _BY_PATH[parent], obj_id, params))
        except BadRequest as exc:
            body: dict[str, Any] = {"type": "invalid_request_error", "message": exc.message}
            if exc.code:
                body["code"] = exc.code
            if exc.param:
                body["param"] = exc.param
            return Reply(exc.status, {"error": body})
        return self.error_reply(
            404,
            f"Unrecognized request URL (GET: {ctx.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _missing(self, resource: str, obj_id: str, param: str, status: int) -> BadRequest:
        label = RESOURCES[resource][1]
        return BadRequest(
            f"No such {label}: '{obj_id}'", param=param, code="resource_missing", status=status
        )

    def _expand_product(self, mode: str, price: dict[str, Any]) -> dict[str, Any]:
        product = self._index[mode]["products"].get(str(_ref_id(price.get("product"))))
        return {**price, "product": product} if product is not None else price

    def _retrieve(
        self, mode: str, resource: str, obj_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        item = self._index[mode][resource].get(obj_id)
        if item is None:
            raise self._missing(resource, obj_id, "id", 404)
        expand = params.get("expand") or []
        if resource == "prices" and "product" in expand:
            return self._expand_product(mode, item)
        return item

    def _list(
        self, mode: str, resource: str, params: dict[str, Any], endless: bool
    ) -> dict[str, Any]:
        raw_limit = params.get("limit")
        limit = 10 if raw_limit is None else _as_int(raw_limit, "limit")
        if not 1 <= limit <= 100:
            bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 100"
            raise BadRequest(f"This value must be {bound}.", param="limit")
        keep = _filter(resource, params)
        created = params.get("created")
        after, before = params.get("starting_after"), params.get("ending_before")
        if not endless and not before:
            # newest first: bisect to the first candidate, scan only one page's worth, so a
            # list of 200,000 objects costs the same per page as a list of 20
            page, has_more = self._scan(mode, resource, keep, created, after, limit)
            return self._envelope(mode, resource, params, page, has_more)
        items = [o for o in self._sorted[mode][resource] if keep(o) and _created_ok(o, created)]
        if endless:
            page, has_more = items[:limit], True
        elif before:
            cursor = self._cursor(mode, resource, before, "ending_before")
            rest = [o for o in items if _sort_key(o) < cursor]
            page, has_more = rest[-limit:], len(rest) > limit
        else:
            page, has_more = items[:limit], len(items) > limit
        return self._envelope(mode, resource, params, page, has_more)

    def _envelope(
        self, mode: str, resource: str, params: dict[str, Any], page: list, has_more: bool
    ) -> dict[str, Any]:
        if resource == "prices" and "data.product" in (params.get("expand") or []):
            page = [self._expand_product(mode, o) for o in page]
        return {"object": "list", "data": page, "has_more": has_more, "url": RESOURCES[resource][0]}

    def _scan(
        self,
        mode: str,
        resource: str,
        keep: Callable[[dict[str, Any]], bool],
        created: Any,
        after: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], bool]:
        seq, keys = self._sorted[mode][resource], self._keys[mode][resource]
        start, lowest = 0, None
        if isinstance(created, dict):
            bounds = {op: _as_int(v, f"created[{op}]") for op, v in created.items()}
            upper = min([bounds["lte"]] if "lte" in bounds else [], default=None)
            if "lt" in bounds:
                upper = bounds["lt"] - 1 if upper is None else min(upper, bounds["lt"] - 1)
            if upper is not None:
                start = bisect.bisect_left(keys, (-upper, ""))
            if "gte" in bounds or "gt" in bounds:
                lowest = max(bounds.get("gte", -(10**12)), bounds.get("gt", -(10**12) - 1) + 1)
        if after:
            start = max(
                start,
                bisect.bisect_right(keys, self._cursor(mode, resource, after, "starting_after")),
            )
        page: list[dict[str, Any]] = []
        for i in range(start, len(seq)):
            item = seq[i]
            if lowest is not None and -keys[i][0] < lowest:
                break
            if keep(item) and _created_ok(item, created):
                if len(page) == limit:
                    return page, True
                page.append(item)
        return page, False

    def _cursor(self, mode: str, resource: str, obj_id: str, param: str) -> tuple[int, str]:
        item = self._index[mode][resource].get(obj_id)
        if item is None:
            raise self._missing(resource, obj_id, param, 400)
        return _sort_key(item)
