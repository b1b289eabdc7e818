"""A read-only Pterodactyl Application API emulator (panel 1.11 wire format).

Serves plain attribute dicts (as the panel serialises them) wrapped the way the panel
does: ``{"object": "node", "attributes": {...}}``, Laravel/fractal pagination under
``meta.pagination``, ``include=`` relationships under ``attributes.relationships`` and
``{"errors": [...]}`` envelopes. Node ``allocated_resources`` is computed from the
servers on the node, as the panel does (sum of limits, not usage).

Differences a client should know about, kept on purpose:
- ``Accept: application/json`` is required; without it the emulator answers 406 (the
  real panel answers HTML/redirects, which a client must not mistake for data).
- ``filter[...]`` values match as case-insensitive substrings, like the panel's
  Spatie query builder (so ``filter[external_id]=1`` also matches ``"10"``).
- Pagination links keep every query parameter of the request.

``data`` = ``{"locations", "nodes", "allocations": {node_id: [...]}, "nests",
"eggs": {nest_id: [...]}, "servers", "users"}``; dict keys may be ints or strings.
Data is indexed at construction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlencode

from readiness.sandbox.httpbase import Context, EmulatorBase, Knobs, Reply

_API = "/api/application"
_CODES = {
    400: "BadRequestHttpException",
    401: "AuthenticationException",
    403: "AccessDeniedHttpException",
    404: "NotFoundHttpException",
    405: "MethodNotAllowedHttpException",
    406: "NotAcceptableHttpException",
    429: "TooManyRequestsHttpException",
}
_NOT_FOUND = "The requested resource could not be found on the server."
_FILTERS = {
    "servers": ("external_id", "name", "uuid", "description", "image"),
    "users": ("email", "external_id", "uuid", "username"),
}
ENDLESS_PAGES = 1_000_000

Attrs = dict[str, Any]


class _NotFound(Exception):
    pass


class _Invalid(Exception):
    pass


def _item(obj: str, attrs: Attrs, rel: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(attrs)
    if rel:
        out["relationships"] = rel
    return {"object": obj, "attributes": out}


def _by_id(items: list[Attrs]) -> dict[Any, Attrs]:
    """Items by id; the first of a repeated id wins, as a scan of the list would find."""
    return {item["id"]: item for item in reversed(items)}


def _listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": items}


class PterodactylEmulator(EmulatorBase):
    """Read-only Application API emulator; see the module docstring for ``data``."""

    name = "pterodactyl-emulator"

    def __init__(
        self, data: dict[str, Any], keys: set[str] | list[str], knobs: Knobs | None = None
    ) -> None:
        super().__init__(knobs)
        self.keys = set(keys)
        self.locations = sorted(data.get("locations", []), key=lambda a: a["id"])
        self.nodes = sorted(data.get("nodes", []), key=lambda a: a["id"])
        self.nests = sorted(data.get("nests", []), key=lambda a: a["id"])
        self.servers = sorted(data.get("servers", []), key=lambda a: a["id"])
        self.users = sorted(data.get("users", []), key=lambda a: a["id"])
        self.allocations = {
            int(k): sorted(v, key=lambda a: a["id"])
            for k, v in (data.get("allocations") or {}).items()
        }
        self.eggs = {
            int(k): sorted(v, key=lambda a: a["id"]) for k, v in (data.get("eggs") or {}).items()
        }
        self._egg_by_id = {e["id"]: e for eggs in self.eggs.values() for e in eggs}
        # lookups by id (a scan per server made a page of servers cost a scan of
        # 20,000 users per row)
        self._location_by_id = _by_id(self.locations)
        self._node_by_id = _by_id(self.nodes)
        self._nest_by_id = _by_id(self.nests)
        self._server_by_id = _by_id(self.servers)
        self._user_by_id = _by_id(self.users)
        self._eggs_by_nest = {nest: _by_id(eggs) for nest, eggs in self.eggs.items()}
        self._allocated: dict[Any, dict[str, int]] = {}
        for server in self.servers:
            used = self._allocated.setdefault(server.get("node"), {"memory": 0, "disk": 0})
            for k in used:
                used[k] += int((server.get("limits") or {}).get(k) or 0)
        self._routes: list[tuple[re.Pattern[str], Callable[..., Any]]] = [
            (re.compile(p + r"/?$"), fn)
            for p, fn in [
                (r"/nodes", self._r_nodes),
                (r"/nodes/(\d+)", self._r_node),
                (r"/nodes/(\d+)/allocations", self._r_node_allocations),
                (r"/locations", self._r_locations),
                (r"/locations/(\d+)", self._r_location),
                (r"/nests", self._r_nests),
                (r"/nests/(\d+)", self._r_nest),
                (r"/nests/(\d+)/eggs", self._r_nest_eggs),
                (r"/nests/(\d+)/eggs/(\d+)", self._r_egg),
                (r"/servers", self._r_servers),
                (r"/servers/(\d+)", self._r_server),
                (r"/servers/external/([^/]+)", self._r_server_external),
                (r"/users", self._r_users),
                (r"/users/(\d+)", self._r_user),
                (r"/users/external/([^/]+)", self._r_user_external),
            ]
        ]

    # -- httpbase hooks ------------------------------------------------------
    def identify(self, headers: Any) -> str | None:
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return value.strip() or None

    def authorize(self, ctx: Context) -> Reply | None:
        if ctx.key is None or ctx.key not in self.keys:
            return self.error_reply(401, "Unauthenticated.")
        if "application/json" not in (ctx.headers.get("Accept") or ""):
            return self.error_reply(
                406, "This API only answers requests that send 'Accept: application/json'."
            )
        return None

    def error_reply(self, status: int, message: str, code: str | None = None) -> Reply:
        name = _CODES.get(status, "HttpException")
        return Reply(status, {"errors": [{"code": name, "status": str(status), "detail": message}]})

    def rate_limited_reply(self, retry_after: int) -> Reply:
        return self.error_reply(429, "Too Many Attempts.")

    def decorate(self, reply: Reply, ctx: Context) -> None:
        if self.knobs.rate_limit is not None and ctx.rate_remaining is not None:
            reply.headers["X-RateLimit-Limit"] = str(self.knobs.rate_limit)
            reply.headers["X-RateLimit-Remaining"] = str(ctx.rate_remaining)

    def route(self, ctx: Context) -> Reply:
        if ctx.path.startswith(_API):
            sub = ctx.path[len(_API) :]
            for pattern, handler in self._routes:
                match = pattern.match(sub)
                if match:
                    try:
                        return Reply(200, handler(ctx, *[unquote(g) for g in match.groups()]))
                    except _NotFound:
                        break
                    except _Invalid as exc:
                        return self.error_reply(400, str(exc))
        return self.error_reply(404, _NOT_FOUND)

    # -- serialisers ---------------------------------------------------------
    def _includes(self, ctx: Context) -> set[str]:
        return {p.strip() for p in (ctx.first("include") or "").split(",") if p.strip()}

    def _node_attrs(self, node: Attrs) -> Attrs:
        used = self._allocated.get(node["id"], {"memory": 0, "disk": 0})
        return {**node, "allocated_resources": dict(used)}

    def _node_item(self, node: Attrs, inc: set[str] = frozenset()) -> dict[str, Any]:
        rel: dict[str, Any] = {}
        if "allocations" in inc:
            rel["allocations"] = _listing(
                [_item("allocation", a) for a in self.allocations.get(node["id"], [])]
            )
        loc = self._get(self._location_by_id, node.get("location_id"))
        if "location" in inc and loc is not None:
            rel["location"] = _item("location", loc)
        if "servers" in inc:
            rel["servers"] = _listing(
                [self._server_item(s) for s in self.servers if s.get("node") == node["id"]]
            )
        return _item("node", self._node_attrs(node), rel)

    def _egg_item(self, egg: Attrs, inc: set[str] = frozenset()) -> dict[str, Any]:
        attrs = {k: v for k, v in egg.items() if k != "variables"}
        rel: dict[str, Any] = {}
        if "variables" in inc:
            rel["variables"] = _listing(
                [
                    _item("egg_variable", {"egg_id": egg["id"], **v})
                    for v in egg.get("variables") or []
                ]
            )
        nest = self._get(self._nest_by_id, egg.get("nest"))
        if "nest" in inc and nest is not None:
            rel["nest"] = _item("nest", nest)
        return _item("egg", attrs, rel)

    def _server_item(self, server: Attrs, inc: set[str] = frozenset()) -> dict[str, Any]:
        rel: dict[str, Any] = {}
        if "egg" in inc and server.get("egg") in self._egg_by_id:
            rel["egg"] = self._egg_item(self._egg_by_id[server["egg"]])
        for name, by_id, wrap in (
            ("node", self._node_by_id, self._node_item),
            ("user", self._user_by_id, lambda a: _item("user", a)),
            ("nest", self._nest_by_id, lambda a: _item("nest", a)),
        ):
            found = self._get(by_id, server.get(name)) if name in inc else None
            if found is not None:
                rel[name] = wrap(found)
        return _item("server", server, rel)

    @staticmethod
    def _get(by_id: dict[Any, Attrs], obj_id: Any) -> Attrs | None:
        try:
            return by_id.get(obj_id)
        except TypeError:  # an unhashable id in the data matches nothing
            return None

    @classmethod
    def _find(cls, by_id: dict[Any, Attrs], obj_id: Any) -> Attrs:
        found = cls._get(by_id, obj_id)
        if found is None:
            raise _NotFound
        return found

    # -- pagination ----------------------------------------------------------
    def _page(
        self, ctx: Context, rows: list[Attrs], serialise: Callable[[Attrs], dict[str, Any]]
    ) -> dict[str, Any]:
        """Laravel/fractal pagination; ``endless`` claims a huge page count forever."""

        def number(name: str, default: int) -> int:
            try:
                return max(1, int(ctx.first(name) or default))
            except ValueError:
                return default

        per_page, page = number("per_page", 50), number("page", 1)
        total = len(rows)
        total_pages = max(1, math.ceil(total / per_page))
        chunk = [serialise(r) for r in rows[(page - 1) * per_page : page * per_page]]

        def link(to: int) -> str:
            pairs = [(k, v) for k, v in ctx.pairs if k != "page"] + [("page", str(to))]
            return f"{self.url}{ctx.path}?{urlencode(pairs)}"

        links: dict[str, str] = {}
        if ctx.endless:
            total_pages, total = ENDLESS_PAGES, ENDLESS_PAGES * per_page
            links["next"] = link(page)
        elif page < total_pages:
            links["next"] = link(page + 1)
        if page > 1:
            links["previous"] = link(page - 1)
        return {
            "object": "list",
            "data": chunk,
            "meta": {
                "pagination": {
                    "total": total,
                    "count": len(chunk),
                    "per_page": per_page,
                    "current_page": page,
                    "total_pages": total_pages,
                    "links": links,
                }
            },
        }

    def _filtered(self, ctx: Context, resource: str, rows: list[Attrs]) -> list[Attrs]:
        for key, value in ctx.pairs:
            if not key.startswith("filter["):
                continue
            name = key[len("filter[") :].rstrip("]")
            if name not in _FILTERS[resource]:
                raise _Invalid(f"Requested filter(s) `{name}` are not allowed.")
            rows = [r for r in rows if value.lower() in str(r.get(name) or "").lower()]
        return rows

    # -- routes --------------------------------------------------------------
    def _r_nodes(self, ctx: Context) -> dict[str, Any]:
        inc = self._includes(ctx)
        return self._page(ctx, self.nodes, lambda n: self._node_item(n, inc))

    def _r_node(self, ctx: Context, node_id: str) -> dict[str, Any]:
        return self._node_item(self._find(self._node_by_id, int(node_id)), self._includes(ctx))

    def _r_node_allocations(self, ctx: Context, node_id: str) -> dict[str, Any]:
        self._find(self._node_by_id, int(node_id))
        rows = self.allocations.get(int(node_id), [])
        return self._page(ctx, rows, lambda a: _item("allocation", a))

    def _r_locations(self, ctx: Context) -> dict[str, Any]:
        return self._page(ctx, self.locations, lambda a: _item("location", a))

    def _r_location(self, ctx: Context, loc_id: str) -> dict[str, Any]:
        return _item("location", self._find(self._location_by_id, int(loc_id)))

    def _r_nests(self, ctx: Context) -> dict[str, Any]:
        return self._page(ctx, self.nests, lambda a: _item("nest", a))

    def _r_nest(self, ctx: Context, nest_id: str) -> dict[str, Any]:
        return _item("nest", self._find(self._nest_by_id, int(nest_id)))

    def _r_nest_eggs(self, ctx: Context, nest_id: str) -> dict[str, Any]:
        self._find(self._nest_by_id, int(nest_id))
        inc = self._includes(ctx)
        return self._page(ctx, self.eggs.get(int(nest_id), []), lambda e: self._egg_item(e, inc))

    def _r_egg(self, ctx: Context, nest_id: str, egg_id: str) -> dict[str, Any]:
        return self._egg_item(
            self._find(self._eggs_by_nest.get(int(nest_id), {}), int(egg_id)), self._includes(ctx)
        )

    def _r_servers(self, ctx: Context) -> dict[str, Any]:
        inc = self._includes(ctx)
        rows = self._filtered(ctx, "servers", self.servers)
        return self._page(ctx, rows, lambda a: self._server_item(a, inc))

    def _r_server(self, ctx: Context, server_id: str) -> dict[str, Any]:
        return self._server_item(
            self._find(self._server_by_id, int(server_id)), self._includes(ctx)
        )

    def _r_server_external(self, ctx: Context, ext: str) -> dict[str, Any]:
        for server in self.servers:
            if server.get("external_id") == ext:
                return self._server_item(server, self._includes(ctx))
        raise _NotFound

    def _r_users(self, ctx: Context) -> dict[str, Any]:
        rows = self._filtered(ctx, "users", self.users)
        return self._page(ctx, rows, lambda a: _item("user", a))

    def _r_user(self, ctx: Context, user_id: str) -> dict[str, Any]:
        return _item("user", self._find(self._user_by_id, int(user_id)))

    def _r_user_external(self, ctx: Context, ext: str) -> dict[str, Any]:
        for user in self.users:
            if user.get("external_id") == ext:
                return _item("user", user)
        raise _NotFound
