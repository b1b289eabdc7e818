"""Generate lib/readiness/static/ts/runtime_globals.json from the npm `globals` package
(`make venv` does it; the file is git-ignored: it is that package's data, not ours).

    npm install --prefix .venv/js globals@17.14.0
    python bench/gen_runtime_globals.py .venv/js/node_modules/globals

`globals` (MIT, maintained with ESLint) lists the identifiers each JavaScript runtime
defines. QUALITY-UNDEFINED-IDENTIFIERS reads the names of the runtimes a Supabase +
Stripe project runs on (ES builtins, browser and workers, Node, Deno, Bun, React
Native): only names are kept, never code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ENVS = (
    "builtin", "es2027", "browser", "worker", "serviceworker", "sharedWorker",
    "shared-node-browser", "node", "nodeBuiltin", "commonjs", "denoBuiltin", "bunBuiltin",
    "react-native",
)  # fmt: skip
OUT = Path(__file__).resolve().parent.parent / "lib/readiness/static/ts/runtime_globals.json"


def main(package: Path) -> None:
    data = json.loads((package / "globals.json").read_text(encoding="utf-8"))
    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    names = sorted({name for env in ENVS for name in data.get(env, {})})
    OUT.write_text(
        json.dumps(
            {"source": f"npm globals {version} (MIT)", "envs": list(ENVS), "names": names},
            indent=0,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(names)} names from {len(ENVS)} environments -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
