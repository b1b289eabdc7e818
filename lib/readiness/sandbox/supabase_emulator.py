"""A read-only Supabase management API emulator (the routes the audit reads).

Serves ``GET /v1/projects/{ref}/functions``, ``/secrets`` (name + a SHA-256 digest as
``value``, like the real API, never the secret), ``/advisors/security`` and
``/advisors/performance`` (``{"lints": [...]}``; ``None`` data answers 404, as the
experimental endpoint may). Auth is ``Authorization: Bearer <token>``: missing or
unknown token → 401, a known token asking for another project → 403, and rate
limiting → 429 with ``Retry-After``; errors are ``{"message": "..."}``.

``data`` = ``{"functions": [...], "secrets": {name: value}, "advisors": [...] | None,
"performance": [...]}``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import uuid
from pathlib import Path
from typing import Any

from readiness.sandbox.httpbase import Context, EmulatorBase, Knobs, Reply

_ROUTE = re.compile(
    r"^/v1/projects/([^/]+)/(functions|secrets|advisors/security|"
    r"advisors/performance)/?$"
)


class SupabaseEmulator(EmulatorBase):
    """Management API emulator for one project ref; see the module docstring."""

    name = "supabase-emulator"

    def __init__(
        self,
        data: dict[str, Any],
        tokens: set[str] | list[str],
        project_ref: str,
        knobs: Knobs | None = None,
    ) -> None:
        super().__init__(knobs)
        self.tokens = set(tokens)
        self.project_ref = project_ref
        self.functions = [dict(f) for f in data.get("functions", [])]
        self.secrets = dict(data.get("secrets", {}))
        self.advisors = data.get("advisors", [])
        self.performance = data.get("performance", [])

    def identify(self, headers: Any) -> str | None:
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        return value.strip() or None if scheme.lower() == "bearer" else None

    def authorize(self, ctx: Context) -> Reply | None:
        if ctx.key is None or ctx.key not in self.tokens:
            return self.error_reply(401, "Unauthorized")
        match = _ROUTE.match(ctx.path)
        if match and match.group(1) != self.project_ref:
            return self.error_reply(
                403,
                "Your account does not have the necessary privileges to access this "
                "endpoint. For more details, refer to our documentation "
                "https://supabase.com/docs/guides/platform/access-control",
            )
        return None

    def error_reply(self, status: int, message: str, code: str | None = None) -> Reply:
        return Reply(status, {"message": message})

    def rate_limited_reply(self, retry_after: int) -> Reply:
        return self.error_reply(429, "Too many requests")

    def decorate(self, reply: Reply, ctx: Context) -> None:
        if self.knobs.rate_limit is not None and ctx.rate_remaining is not None:
            reply.headers["X-RateLimit-Limit"] = str(self.knobs.rate_limit)
            reply.headers["X-RateLimit-Remaining"] = str(ctx.rate_remaining)

    def route(self, ctx: Context) -> Reply:
        match = _ROUTE.match(ctx.path)
        if not match:
            return self.error_reply(404, "Cannot GET " + ctx.path)
        what = match.group(2)
        if what == "functions":
            return Reply(200, self.functions)
        if what == "secrets":
            return Reply(
                200,
                [
                    {"name": n, "value": hashlib.sha256(str(v).encode()).hexdigest()}
                    for n, v in sorted(self.secrets.items())
                ],
            )
        lints = self.advisors if what == "advisors/security" else self.performance
        if lints is None:
            return self.error_reply(404, "Not Found")
        return Reply(200, {"lints": lints})


# --- the demo platform's deployed state -----------------------------------------------------

# Secrets every hosted project has (Supabase sets them; the API lists them too).
PLATFORM_SECRETS = (
    "SUPABASE_URL",
    "SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_DB_URL",
)
# Planted in the defects profile (live drift: no overlay file can show it).
DRIFT_FUNCTION = "create-checkout-session"
UNSET_SECRET = "SITE_URL"
ADVISOR_LINT = {
    "name": "auth_leaked_password_protection",
    "title": "Leaked Password Protection Disabled",
    "level": "WARN",
    "facing": "EXTERNAL",
    "categories": ["SECURITY"],
    "description": "Leaked password protection is currently disabled.",
    "detail": "Supabase Auth prevents the use of compromised passwords by checking against "
    "HaveIBeenPwned.org. Enable this feature to enhance security.",
    "remediation": "https://supabase.com/docs/guides/auth/password-security",
    "metadata": {"type": "auth", "entity": "Auth"},
    "cache_key": "auth_leaked_password_protection",
}


def platform_api_data(
    platform_dir: Path, plant: bool, updated_ms: int
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """What the management API would report for the sample checkout once deployed.

    Every function folder is deployed with the verify_jwt of config.toml; secrets are the
    names documented in ``supabase/functions/.env.example`` (with placeholder values) plus
    the platform's own. ``plant`` adds drift: one function deployed with verify_jwt off
    although config.toml says on, one documented secret never set, and a WARN advisor.
    """
    functions_dir = platform_dir / "supabase" / "functions"
    config_path = platform_dir / "supabase" / "config.toml"
    config = tomllib.loads(config_path.read_text()) if config_path.is_file() else {}
    sections = config.get("functions") or {}
    functions = []
    slugs = sorted(
        p.name
        for p in (functions_dir.iterdir() if functions_dir.is_dir() else [])
        if p.is_dir() and not p.name.startswith(("_", "."))
    )
    for version, slug in enumerate(slugs, start=3):
        verify = (sections.get(slug) or {}).get("verify_jwt", True)
        if plant and slug == DRIFT_FUNCTION:
            verify = False
        functions.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-hosting/{slug}")),
                "slug": slug,
                "name": slug,
                "status": "ACTIVE",
                "version": version,
                "verify_jwt": bool(verify),
                "entrypoint_path": "file:///tmp/user_fn_demo-hosting/source/index.ts",
                "import_map": False,
                "created_at": updated_ms - 86_400_000,
                "updated_at": updated_ms,
            }
        )
    names = list(PLATFORM_SECRETS)
    example = functions_dir / ".env.example"
    if example.is_file():
        for raw in example.read_text().splitlines():
            name = raw.split("=", 1)[0].strip()
            if "=" in raw and not raw.lstrip().startswith("#") and name not in names:
                names.append(name)
    defects: list[dict[str, str]] = []
    if plant:
        names = [n for n in names if n != UNSET_SECRET]
        defects = [
            {
                "defect_id": "api-verify-jwt-drift",
                "check_id": "AUTH-VERIFY-JWT-DRIFT",
                "resource": f"function:{DRIFT_FUNCTION}",
                "description": f"{DRIFT_FUNCTION} is deployed with verify_jwt=false while "
                "config.toml says true (deployed by hand with --no-verify-jwt)",
            },
            {
                "defect_id": "api-secret-unset",
                "check_id": "CONFIG-ENV-SET",
                "resource": f"env:{UNSET_SECRET}",
                "description": f"the functions read {UNSET_SECRET} but it was never set as a "
                "project secret",
            },
            {
                "defect_id": "api-advisor-warn",
                "check_id": "AUTH-ADVISORS",
                "resource": f"advisor:{ADVISOR_LINT['cache_key']}",
                "description": "the security advisor reports leaked password protection off",
            },
        ]
    data = {
        "functions": functions,
        "secrets": {n: f"placeholder-{n.lower()}" for n in names},
        "advisors": [ADVISOR_LINT] if plant else [],
        "performance": [],
    }
    return data, defects
