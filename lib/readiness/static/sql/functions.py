"""The project's own SQL functions, read from their names and bodies: which need a
signed-in user (they read auth.uid() or the JWT, directly or through another function),
which are admin predicates, which write rows. Bodies are read with pglast's scanner
(tokens, so comments and strings never count as calls), for SQL and PL/pgSQL alike.

Split from `policy.py`: the role vocabulary and the body reading are shared by the policy
evaluator, the trusted-column analysis and the SECURITY DEFINER facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pglast.parser import ParseError, scan

# Role names every signed-in user holds; any other role literal marks a privileged role.
CUSTOMER_ROLES = frozenset(
    {"user", "users", "customer", "client", "member", "authenticated", "patient", "buyer",
     "guest", "player", "subscriber", "free", "basic", "student", "tenant"}
)  # fmt: skip
ADMIN_NAME = re.compile(
    r"(admin|staff|moderator|superuser|super_user|has_role|has_any_role|is_role|check_role|"
    r"role_is|user_role|get_role|my_role|service_role|is_employee|is_operator|is_support)",
    re.I,
)
# Functions named for membership or ownership let their members through, whatever roles
# they also accept.
OWN_NAME = re.compile(r"(member|owner|own|access|belong|can_|participant|team|org)", re.I)
ADMIN_FLAG = re.compile(r"^(is_)?(super_?)?(admin|staff|moderator|superuser)s?$", re.I)
ADMIN_TABLE = re.compile(r"(^|_)(admins?|administrators?|staff|super_?admins?|moderators?)$", re.I)
ROLE_COLUMN = re.compile(r"^(role|roles|user_role|app_role|role_name|account_type|user_type|type)$")


@dataclass(frozen=True)
class FunctionInfo:
    """What a project SQL function demands of its caller, read from its name and body."""

    needs_user: bool  # reads auth.uid()/auth.jwt() (directly or through another function)
    admin: bool  # an admin predicate: a signed-in customer never passes it


@dataclass
class Functions:
    """The project's functions by bare name (overloads merged, the strictest reading)."""

    info: dict[str, FunctionInfo] = field(default_factory=dict)

    def get(self, name: str) -> FunctionInfo | None:
        return self.info.get(name.lower())


def tokens(body: str) -> list[tuple[str, str]]:
    """(kind, text) of the body's tokens with pglast's scanner: comments dropped."""
    try:
        toks = scan(body)
    except (ParseError, Exception):  # noqa: BLE001 - a body the scanner rejects tells nothing
        return []
    return [(t.name, body[t.start : t.end + 1]) for t in toks if "COMMENT" not in t.name]


def _calls(tokens: list[tuple[str, str]]) -> set[str]:
    """Names called in a token stream (`name (`), schema-qualified or not."""
    return {
        tokens[i][1].strip('"').lower()
        for i in range(len(tokens) - 1)
        if tokens[i + 1][1] == "(" and not tokens[i][0].startswith("ASCII")
    }


def _reads_auth(tokens: list[tuple[str, str]]) -> bool:
    for i in range(len(tokens) - 2):
        if (
            tokens[i][1].lower() == "auth"
            and tokens[i + 1][1] == "."
            and tokens[i + 2][1].lower() in ("uid", "jwt", "email", "role")
        ):
            return True
    return any(t[1].lower() == "request.jwt.claims" or "request.jwt" in t[1] for t in tokens)


def _admin_words(tokens: list[tuple[str, str]]) -> bool:
    for kind, text in tokens:
        word = text.strip("'\"").lower()
        if kind == "SCONST" and word not in CUSTOMER_ROLES and ADMIN_FLAG.match(word):
            return True
        if kind == "IDENT" and (ADMIN_FLAG.match(word) or ADMIN_TABLE.search(word)):
            return True
    return False


def body_writes(body: Any) -> bool:
    """Does a function body INSERT, UPDATE or DELETE (scanner tokens, not text)?"""
    if not isinstance(body, str):
        return False
    return any(kind in ("INSERT", "UPDATE", "DELETE_P") for kind, _ in tokens(body))


def read_functions(rows: Iterable[dict]) -> Functions:
    """FunctionInfo for every function of `rows` (name, body); a fixed point over calls."""
    bodies: dict[str, list[list[tuple[str, str]]]] = {}
    for r in rows:
        name = str(r.get("name") or "").lower()
        body = r.get("body")
        if name:
            bodies.setdefault(name, []).append(tokens(body) if isinstance(body, str) else [])
    needs = {n for n, bs in bodies.items() if any(_reads_auth(b) for b in bs)}
    calls = {n: set().union(*(_calls(b) for b in bs)) for n, bs in bodies.items()}
    changed = True
    while changed:
        changed = False
        for n in bodies:
            if n not in needs and calls[n] & needs:
                needs.add(n)
                changed = True
    admin = {
        n
        for n in needs
        if ADMIN_NAME.search(n)
        or (not OWN_NAME.search(n) and any(_admin_words(b) for b in bodies[n]))
    }
    return Functions({n: FunctionInfo(n in needs, n in admin) for n in bodies})
