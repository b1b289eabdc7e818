"""A broken params, catalogue, waivers or claims file is reported as file:line:column and the
parser's problem, never with the offending line: a key pasted on that line would
otherwise reach stderr and CI logs."""

from __future__ import annotations

import json
import logging
import re
import tomllib
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from readiness.cli import main
from readiness.config import AuditConfig, Catalog, ConfigError, Secrets, load_config
from readiness.report.waivers import Waiver
from readiness.userfiles import describe_parse_error, parse_problem

# obviously fake, and built at runtime so the repository never holds the string
SECRET = "sk_live_" + "FakeNotAKey" + "".join(str(i) for i in range(10)) * 2
STATIC_ONLY = (
    "sources:\n  database: {enabled: false}\n  stripe: {enabled: false}\n"
    "  pterodactyl: {enabled: false}\n  codebase: {enabled: false}\n"
    "  schema: {enabled: false}\n"
)
BASES = {
    "params": "catalog_file: cat.yaml\n" + STATIC_ONLY,
    "catalogue": "games:\n  minecraft:\n    ram_gb: [1, 2]\n",
    "waivers": "waivers:\n  - check: CODE-A\n    reason: accepted for now\n",
    "claims": "claims:\n  - {id: a, claim: All live, checks: [STRIPE-PRICE-LIVE]}\n",
}
S = SECRET
# (kind, fragment appended at the top level, line of the problem counted from the fragment)
BROKEN = [
    ("bad-indentation", f"note: first\n  hidden: {S}\n", 2),
    ("unclosed-quote", f'note: "{S}\n', 2),
    ("tab", f"note:\n\tkey: {S}\n", 2),
    ("duplicate-anchor", f"note: &{S} one\nother: &{S} two\n", 2),
    ("bad-escape", f'note: "{S}\\q{S}"\n', 1),
    ("undefined-alias", f"note: *{S}\n", 1),
    ("unknown-tag", f"note: !{S} x\n", 1),
    ("duplicate-key", f"note: {S}\nnote: {S}\n", 2),
    ("unreadable-int", f"note: !!int {S}\n", 1),
    ("control-character", f"note: {S}\x07\n", 1),
]


def _files(tmp_path: Path, broken: str, fragment: str) -> tuple[Path, Path]:
    """(params file, the file holding the broken fragment)."""
    texts = {
        "params": BASES["params"] + "waivers_file: waivers.yaml\nclaims_file: claims.yaml\n",
        "catalogue": BASES["catalogue"],
        "waivers": BASES["waivers"],
        "claims": BASES["claims"],
    }
    texts[broken] += fragment
    names = {
        "params": "params.yaml",
        "catalogue": "cat.yaml",
        "waivers": "waivers.yaml",
        "claims": "claims.yaml",
    }
    for kind, text in texts.items():
        (tmp_path / names[kind]).write_text(text)
    return tmp_path / "params.yaml", tmp_path / names[broken]


@pytest.mark.parametrize("where", ["params", "catalogue", "waivers", "claims"])
@pytest.mark.parametrize("case,fragment,line", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_names_the_place_not_the_line(tmp_path, capsys, where, case, fragment, line):
    params, broken = _files(tmp_path, where, fragment)
    code = main(["run", "--params", str(params), "--no-notebooks", "--output-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    expected_line = BASES[where].count("\n") + line + (2 if where == "params" else 0)
    assert re.search(rf"{re.escape(broken.name)}:{expected_line}:\d+: not valid YAML: \w", err), err
    for text in (out, err):
        assert SECRET not in text
        assert SECRET[8:20] not in text  # nor a recognisable piece of it
    assert not any(tmp_path.glob("20*")), "nothing is published"


def test_yaml_problems_keep_tokens_and_single_characters():
    """What is kept of a parser message is useful: tokens, one character, positions."""
    cases = {
        "a: [1, 2\n": "expected ',' or ']', but got '<stream end>'",
        'a: "x\\q"\n': "found unknown escape character 'q'",
        "a:\n\tb: 1\n": "found character '\\t' that cannot start any token",
    }
    for text, kept in cases.items():
        with pytest.raises(yaml.YAMLError) as exc:
            yaml.safe_load(text)
        assert kept in describe_parse_error("f.yaml", exc.value, text)
    with pytest.raises(yaml.YAMLError) as exc:
        yaml.safe_load(f"a: *{SECRET}\n")
    assert describe_parse_error("f.yaml", exc.value) == (
        "f.yaml:1:4: not valid YAML: found undefined alias '…'"
    )


def test_toml_and_json_problems_are_located():
    with pytest.raises(tomllib.TOMLDecodeError) as exc:
        tomllib.loads("[functions.hook\nverify_jwt = false\n")
    assert parse_problem(exc.value) == (
        "TOML",
        "line 1, column 16",
        "Expected ']' at the end of a table declaration",
    )
    with pytest.raises(json.JSONDecodeError) as jexc:
        json.loads('{"findings": [\n' + SECRET)
    expected = "f.json:2:1: not valid JSON: Expecting value"
    assert describe_parse_error("f.json", jexc.value) == expected


def test_diff_of_a_broken_findings_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "old.json").write_text('{"findings": []}')
    (tmp_path / "new.json").write_text('{"findings": [\n  {"token": ' + SECRET + "}\n]}")
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON (Expecting value at line 2, column 13)" in err
    assert SECRET not in err


def test_params_that_are_not_utf8_text(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_bytes(b"name: audit\nnote: \xff" + SECRET.encode() + b"\n")
    assert main(["run", "--params", str(params), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "params.yaml:2:7: not valid UTF-8; save the params file as UTF-8 text" in err
    assert SECRET not in err


def test_markup_in_a_message_is_shown_not_interpreted(tmp_path, capsys):
    """A key like '[/]' is text in a message, not Rich markup (which crashed the CLI)."""
    (tmp_path / "cat.yaml").write_text(BASES["catalogue"])
    params = tmp_path / "params.yaml"
    params.write_text('catalog_file: cat.yaml\nsources:\n  "[/]": 1\n  "[bold]x": 2\n')
    assert main(["run", "--params", str(params), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "sources.[/]: unknown key" in err and "sources.[bold]x: unknown key" in err


def test_duplicate_keys_and_merge_keys(tmp_path):
    """A key given twice is an error (the first would silently be ignored); a YAML
    merge (<<) whose key is overridden is not."""
    (tmp_path / "cat.yaml").write_text(
        "games:\n  minecraft: &base\n    ram_gb: [1, 2]\n    egg_id: 1\n"
        "  rust:\n    <<: *base\n    egg_id: 2\n"
    )
    params = tmp_path / "params.yaml"
    params.write_text("catalog_file: cat.yaml\n")
    assert load_config(params).catalog.games["rust"].egg_id == 2
    params.write_text("catalog_file: cat.yaml\nname: a\nenvironment: demo\nname: b\n")
    with pytest.raises(ConfigError) as exc:
        load_config(params)
    assert str(exc.value).endswith(
        "params.yaml:4:1: not valid YAML: duplicate key (first given at line 2, column 1)"
    )


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()):
    for name, field in model.model_fields.items():
        key = (field.alias or name,)
        yield prefix + key
        for sub in (*typing.get_args(field.annotation), field.annotation):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                yield from _leaf_paths(sub, prefix + key)


def _nest(path: tuple[str, ...], value):
    for key in reversed(path):
        value = {key: value}
    return value


@pytest.mark.parametrize("model", [AuditConfig, Catalog, Waiver], ids=lambda m: m.__name__)
def test_validation_messages_never_hold_the_value(tmp_path, model):
    """Every field, given a pasted secret in every shape, is rejected (or accepted)
    without the value in the message."""
    from readiness.report.waivers import load_waivers

    (tmp_path / "cat.yaml").write_text(BASES["catalogue"])
    shapes = [SECRET, [SECRET], {"k": SECRET}, [[SECRET]], {"k": {"k": SECRET}}, 1.5]
    checked = 0
    for path in _leaf_paths(model):
        if path[-1] in ("params_path", "catalog") or path[-1].endswith(("_file", "path")):
            continue  # file names are echoed on purpose ("catalog file not found: …")
        for value in shapes:
            if model is Waiver:
                doc = {"waivers": [{"check": "A-B", "reason": "abc", **_nest(path, value)}]}
                target = tmp_path / "waivers.yaml"
            elif model is Catalog:
                doc = {"games": {}, **_nest(path, value)}
                target = tmp_path / "cat.yaml"
            else:
                doc = {"catalog_file": "cat.yaml", **_nest(path, value)}
                target = tmp_path / "params.yaml"
            target.write_text(yaml.safe_dump(doc))
            try:
                if model is Waiver:
                    load_waivers(target)
                else:
                    load_config(tmp_path / "params.yaml")
            except ConfigError as exc:
                checked += 1
                assert SECRET not in str(exc), (path, value, str(exc))
            (tmp_path / "cat.yaml").write_text(BASES["catalogue"])
    assert checked > 20


def test_malformed_env_file_line_is_not_echoed(tmp_path, caplog, capfd):
    env_file = tmp_path / "x.env"
    env_file.write_text(f'GOOD_NAME=fine\nBROKEN_NAME="{SECRET}\nLATER_NAME=also\n')
    caplog.set_level(logging.DEBUG)
    secrets = Secrets(env_file)
    assert secrets.get("GOOD_NAME") == "fine" and secrets.get("BROKEN_NAME") is None
    out, err = capfd.readouterr()
    assert SECRET not in caplog.text + out + err
    assert "line 2" in caplog.text  # python-dotenv names the line, by number only


def test_env_file_that_is_not_text_is_a_config_error(tmp_path):
    env_file = tmp_path / "x.env"
    env_file.write_bytes(b"A_NAME=\xff" + SECRET.encode())
    with pytest.raises(ConfigError) as exc:
        Secrets(env_file)
    assert "x.env:1:8: not valid UTF-8" in str(exc.value)
    assert SECRET not in str(exc.value)
