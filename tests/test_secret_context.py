"""Secret shapes that hold no secret where they stand (CONFIG-HARDCODED-SECRET was 2 in
9 true on real checkouts): local database URLs, PEM headers stripped off an env key,
token-shaped tails of longer ids. Each keeps its true twin found."""

from __future__ import annotations

from pathlib import Path

from readiness.sources.codebase import collect_codebase

BOT = "123456789:" + "AAH" + "x" * 32  # Telegram's shape, built so no token is committed
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + "A" * 40


def _kinds(tmp: Path, files: dict[str, str]) -> list[tuple[str, int, str]]:
    for rel, text in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text, encoding="utf-8")
    s = collect_codebase(tmp).tables["code_secrets"]
    return sorted(zip(s["path"], s["line"].astype(int), s["kind"], strict=True))


def test_local_and_documentation_database_urls_are_not_secrets(tmp_path) -> None:
    found = _kinds(
        tmp_path,
        {
            "docs/LOCAL.md": "Connect with `postgresql://postgres:postgres@localhost:54322/postgres`\n",
            ".github/workflows/ci.yml": "env:\n  DB: postgres://ci:ci-pass@127.0.0.1:5432/test\n",
            "README.md": "DATABASE_URL=postgres://user:secretpw@db.example.com:5432/app\n",
            # a deployed host keeps its password found
            "scripts/backup.sh": "pg_dump postgres://admin:Tr0ub4dor3@db.qwerty.supabase.co:5432/postgres\n",
        },
    )
    assert found == [("scripts/backup.sh", 1, "basic-auth-credentials")]


def test_a_pem_header_without_a_key_is_not_a_key(tmp_path) -> None:
    header = "-----BEGIN " + "PRIVATE KEY-----"
    found = _kinds(
        tmp_path,
        {
            # the key comes from the environment; only the header is in the code
            "supabase/functions/push/index.ts": (
                "const pem = Deno.env.get('FCM_KEY')!;\n"
                f"const body = pem.replace('{header}', '').replace(/\\n/g, '');\n"
            ),
            # a key in a JSON string and a key file stay found
            "service-account.json": f'{{"private_key": "{header}\\n{PEM_BODY}\\n"}}\n',
            "certs/server.key": f"{header}\n{PEM_BODY}\n-----END PRIVATE KEY-----\n",
        },
    )
    assert found == [
        ("certs/server.key", 1, "private-key"),
        ("service-account.json", 1, "private-key"),
    ]


def test_a_token_shaped_tail_of_a_longer_id_is_not_a_bot_token(tmp_path) -> None:
    found = _kinds(
        tmp_path,
        {
            "data/stores.csv": f"id,url\n1,https://shop.example/?aud-{BOT}_c&campaign=x\n",
            "bot/notify.py": f"URL = 'https://api.telegram.org/bot{BOT}/sendMessage'\n",
            ".env": f"TELEGRAM_TOKEN={BOT}\n",
        },
    )
    assert found == [(".env", 1, "telegram-bot-token"), ("bot/notify.py", 1, "telegram-bot-token")]


def test_a_key_whose_body_is_one_repeated_character_is_a_placeholder(tmp_path) -> None:
    """Sample configs list `sk_test_xxxx…` beside real-looking keys: the filler is no key,
    a key with a real body in the same file stays found."""
    fill = "sk_" + "test_" + "x" * 24
    zeros = "sk_" + "live_" + "0" * 24
    real = "sk_" + "live_" + "51Hq" + "Zr8T" * 6
    found = _kinds(
        tmp_path,
        {
            "src/lib/payments/config.ts": (
                f"export const paystack = {{ secretKey: '{fill}' }};\n"
                f'export const other = {{ secretKey: "{zeros}" }};\n'
                f"export const stripe = {{ secretKey: '{real}' }};\n"
            ),
        },
    )
    assert found == [("src/lib/payments/config.ts", 3, "stripe-secret-key")]
