"""The static-analysis engine: facts read from a checkout's code and migrations, never run.

- `ts/`: tree-sitter syntax trees, scopes and the Supabase / Deno / Stripe idioms rules share;
- `sql/`: pglast facts, the migrations replayed on a scratch PostgreSQL, its catalog and
  the write-access (grants x RLS x policies) model;
- `rules/`: the code rules, one module per concern, and the tables they fill;
- `secret_scan/`: detect-secrets over every file, in any encoding;
- `textfiles.py`: one text decoding for every reader; `checkout.py` walks and parses a
  checkout once, `codebase.py` runs every rule over it.

The sources `codebase` and `schema` are thin adapters over this package; like every
source it fetches and never judges (checks do).
"""
