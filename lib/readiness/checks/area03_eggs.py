"""Area 3 — eggs: the expected egg per game exists in the panel under the right name, the
provisioning code's egg map agrees with it, and the server-create payload sends every
required egg variable and an image the egg offers (static × live)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area02_orders import present
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    require_columns,
    unverified,
    warned,
)
from readiness.findings import Severity


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def names_match(expected: str, actual: str) -> bool:
    """'ARK' matches 'ARK: Survival Evolved'; 'Among Us' matches 'Among Us - Impostor'."""
    e, a = _norm(expected), _norm(actual)
    return bool(e) and bool(a) and (e in a or a in e)


def expected_eggs(inp: CheckInput) -> dict[str, int]:
    catalog = inp.config.catalog
    return {g: s.egg_id for g, s in (catalog.games.items() if catalog else []) if s.egg_id}


def panel_eggs(inp: CheckInput) -> dict[int, pd.Series]:
    eggs = require_columns(inp["panel_eggs"], "panel_eggs", ["id", "name", "docker_images"])
    return {int(e["id"]): e for _, e in eggs.iterrows() if present(e["id"])}


def code_eggs(inp: CheckInput) -> pd.DataFrame:
    """The code's egg map rows (per game; '*' means one egg for every game)."""
    return inp["code_flow_egg_map"]


def egg_for(game: str, inp: CheckInput) -> int | None:
    """The egg the code uses for a game, else the expected one."""
    code = code_eggs(inp) if "code_flow_egg_map" in inp.tables else pd.DataFrame()
    if not code.empty:
        mine = code[code["game"].isin([game, "*"])]["egg_id"].dropna()
        if not mine.empty:
            return int(mine.iloc[0])
    return expected_eggs(inp).get(game)


@check(
    id="PANEL-EGG-IDS",
    area=3,
    severity=Severity.CRITICAL,
    title="Every expected egg id exists in the panel",
    sources=["pterodactyl"],
    tables=["panel_eggs"],
    rationale="Creating a server with an egg id the panel does not have fails: that game "
    "cannot be delivered at all.",
    remediation="Import the egg into the panel, or correct the expected id (params catalogue) "
    "and the provisioning code to the panel's id.",
)
def egg_ids(inp: CheckInput) -> Iterator[Result]:
    eggs = panel_eggs(inp)
    expected = expected_eggs(inp)
    if not expected:
        yield unverified("catalog:eggs", "The catalogue names no egg ids to compare with.")
        return
    for game, egg in sorted(expected.items()):
        if egg in eggs:
            yield passed(f"game:{game}", f"Egg {egg} for {game} exists ({eggs[egg]['name']}).")
        else:
            yield failed(
                f"game:{game}",
                f"Egg {egg} expected for {game} does not exist in the panel.",
                evidence={"panel_egg_ids": sorted(eggs)},
            )


@check(
    id="PANEL-EGG-NAMES",
    area=3,
    severity=Severity.HIGH,
    title="Each expected egg is the game it is expected to be",
    sources=["pterodactyl"],
    tables=["panel_eggs"],
    rationale="An egg id that exists but belongs to another game installs the wrong game "
    "for every customer of that plan.",
    remediation="Point the game at the right egg id (catalogue and provisioning code).",
)
def egg_names(inp: CheckInput) -> Iterator[Result]:
    eggs = panel_eggs(inp)
    catalog = inp.config.catalog
    games = {
        g: s
        for g, s in (catalog.games.items() if catalog else [])
        if s.egg_id and s.egg_name and s.egg_id in eggs
    }
    for game, spec in sorted(games.items()):
        actual = str(eggs[spec.egg_id]["name"])
        if names_match(spec.egg_name, actual):
            yield passed(f"game:{game}", f"Egg {spec.egg_id} is {actual!r}.")
        else:
            yield failed(
                f"game:{game}",
                f"Egg {spec.egg_id} is named {actual!r}, expected {spec.egg_name!r} for {game}.",
            )
    if not games:
        yield unverified("catalog:eggs", "No expected egg name could be compared with the panel.")


@check(
    id="PANEL-EGG-MAP",
    area=3,
    severity=Severity.CRITICAL,
    title="The provisioning code's egg map matches the expected and the panel's eggs",
    sources=["codebase", "pterodactyl"],
    tables=["code_flow_egg_map", "panel_eggs"],
    optional_tables=["db_plans"],
    rationale="The egg the code sends decides which game is installed: a wrong or missing "
    "entry builds the wrong game or fails provisioning for every order of that game.",
    remediation="Make the code's egg map (and plans.egg_id) equal the panel's egg ids.",
)
def egg_map(inp: CheckInput) -> Iterator[Result]:
    code = code_eggs(inp)
    eggs = panel_eggs(inp)
    expected = expected_eggs(inp)
    plans = inp.tables.get("db_plans")
    games = sorted(set(expected) | {g for g in code["game"].dropna() if g != "*"})
    if code.empty:
        yield warned(
            "code:egg_map",
            "No egg map found in a server-create payload; egg ids may "
            "come from data the audit cannot follow.",
        )
    for game in games:
        rows = code[code["game"].isin([game, "*"])]
        sources: list[tuple[str, int | None, str | None]] = [
            ("code", int(r.egg_id) if present(r.egg_id) else None, code_location(r.path, r.line))
            for r in rows.itertuples()
        ]
        if plans is not None and {"game", "egg_id"} <= set(plans.columns):
            for egg in sorted(
                {int(e) for e in plans.loc[plans["game"] == game, "egg_id"] if present(e)}
            ):
                sources.append(("plans.egg_id", egg, None))
        problems = []
        if not code.empty and rows.empty:
            problems.append("the code's egg map has no entry for it")
        for where, egg, _ in sources:
            if egg is None:
                problems.append(f"{where} egg is not a literal id")
            elif game in expected and egg != expected[game]:
                problems.append(f"{where} says {egg}, expected {expected[game]}")
            elif egg not in eggs:
                problems.append(f"{where} says {egg}, which the panel does not have")
        location = next((loc for w, _, loc in sources if loc), None)
        res = f"game:{game}"
        if problems:
            # the expected egg itself is missing from the panel: PANEL-EGG-IDS's problem
            missing = game in expected and expected[game] not in eggs
            same = all(egg == expected.get(game) for _, egg, _ in sources) and not rows.empty
            yield failed(
                res,
                f"{game}: {'; '.join(dict.fromkeys(problems))}.",
                location=location,
                cause=("PANEL-EGG-IDS", res) if missing and same else None,
            )
        elif sources:
            yield passed(
                res,
                f"{game}: egg {sources[0][1]} everywhere, present in the panel.",
                location=location,
            )


def _payload(inp: CheckInput, field: str) -> pd.DataFrame:
    df = inp["code_flow_server_payload"]
    return df[df["field"] == field]


def _games(df: pd.DataFrame, inp: CheckInput) -> list[str]:
    games = {g for g in df["game"].dropna() if g != "*"}
    if (df["game"] == "*").any():
        games |= {g for g in code_eggs(inp)["game"].dropna() if g != "*"} or set(expected_eggs(inp))
    return sorted(games)


@check(
    id="PANEL-EGG-VARIABLES",
    area=3,
    severity=Severity.HIGH,
    title="The server-create payload sends every required egg variable",
    sources=["codebase", "pterodactyl"],
    tables=["code_flow_server_payload", "code_flow_egg_map", "panel_eggs", "panel_egg_variables"],
    rationale="The panel rejects a server whose environment lacks a required egg variable: "
    "every order of that game ends in error.",
    remediation="Add the missing variables to the game's environment in the provisioning code.",
)
def egg_variables(inp: CheckInput) -> Iterator[Result]:
    env = _payload(inp, "environment")
    eggs = panel_eggs(inp)
    variables = inp["panel_egg_variables"]
    if env.empty:
        yield unverified(
            "code:server_payload",
            "No server-create payload with an environment was found in the code.",
        )
        return
    for game in _games(env, inp):
        rows = env[env["game"].isin([game, "*"])]
        res, loc = f"game:{game}", code_location(rows["path"].iloc[0], rows["line"].iloc[0])
        egg = egg_for(game, inp)
        if (~rows["resolved"].fillna(False).astype(bool)).any():
            yield warned(
                res,
                f"The environment sent for {game} could not be followed to literal keys.",
                location=loc,
            )
            continue
        if egg not in eggs:
            yield warned(
                res,
                f"Egg {egg} for {game} is not in the panel; variables not "
                "compared (see PANEL-EGG-MAP).",
                location=loc,
                cause=("PANEL-EGG-MAP", res),
            )
            continue
        egg_vars = variables[variables["egg_id"] == egg]
        required = set(
            egg_vars.loc[egg_vars["required"].fillna(False).astype(bool), "env_variable"].dropna()
        )
        missing = sorted(required - set(rows["value"].dropna()))
        if missing:
            yield failed(
                res,
                f"{game} servers are created without required variable(s) "
                f"{', '.join(missing)} of egg {egg}.",
                location=loc,
            )
        else:
            yield passed(
                res,
                f"{game} sends all {len(required)} required variables of egg {egg}.",
                location=loc,
            )


@check(
    id="PANEL-EGG-IMAGE",
    area=3,
    severity=Severity.HIGH,
    title="The docker image sent per game is one its egg offers",
    sources=["codebase", "pterodactyl"],
    tables=["code_flow_server_payload", "code_flow_egg_map", "panel_eggs"],
    rationale="An image the egg does not list may not start the game (or be refused by the "
    "panel), so servers install but never run.",
    remediation="Use one of the egg's docker_images for the game (or add the image to the egg).",
)
def egg_image(inp: CheckInput) -> Iterator[Result]:
    images = _payload(inp, "docker_image")
    eggs = panel_eggs(inp)
    if images.empty:
        yield passed(
            "code:server_payload",
            "The code sends no docker_image: each egg's default image is used.",
        )
        return
    for game in _games(images, inp):
        row = images[images["game"].isin([game, "*"])].iloc[0]
        res, loc = f"game:{game}", code_location(row["path"], row["line"])
        egg = egg_for(game, inp)
        if not present(row["value"]):
            yield warned(res, f"The image sent for {game} is not a literal.", location=loc)
        elif egg not in eggs:
            yield warned(
                res,
                f"Egg {egg} for {game} is not in the panel; image not compared.",
                location=loc,
                cause=("PANEL-EGG-MAP", res),
            )
        else:
            offered = [str(i) for i in (eggs[egg]["docker_images"] or [])]
            if row["value"] in offered or row["value"] == eggs[egg].get("docker_image"):
                yield passed(
                    res, f"{game} uses {row['value']}, offered by egg {egg}.", location=loc
                )
            else:
                yield failed(
                    res,
                    f"{game} uses {row['value']}, which egg {egg} does not offer "
                    f"({', '.join(offered) or 'no images'}).",
                    location=loc,
                )
