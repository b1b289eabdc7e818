"""Evidence saved and loaded back gives the tables checks saw: values, list cells, and
Python-backed strings (row walks over Arrow-backed strings doubled the analysis time)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from readiness.snapshot import Snapshot, SourceState, python_strings


def test_python_strings_converts_arrow_storage_and_keeps_missing_values():
    df = pd.DataFrame(
        {
            "a": pd.array(["x", None], dtype=pd.StringDtype("pyarrow")),
            "b": pd.array([1, None], dtype="Int64"),
        }
    )
    out = python_strings(df)
    assert out["a"].dtype.storage == "python"
    assert out["a"].tolist()[0] == "x" and out["a"].isna().tolist() == [False, True]
    assert str(out["b"].dtype) == "Int64"


def test_snapshot_round_trip(tmp_path):
    table = pd.DataFrame(
        {
            "id": pd.array(["s1", "s2"], dtype=pd.StringDtype("pyarrow")),
            "price_ids": [["p1", "p2"], []],
            "created": pd.to_datetime([1_700_000_000, 1_700_000_100], unit="s", utc=True),
        }
    )
    state = SourceState("stripe", "ok", rows={"stripe_subscriptions": 2}, requests=3, throttled=1)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    Snapshot(now, {"stripe": state}, {"stripe_subscriptions": table}).save(tmp_path)
    back = Snapshot.load(tmp_path)
    got = back.table("stripe_subscriptions")
    assert back.now == now and back.sources["stripe"].throttled == 1
    assert got["id"].tolist() == ["s1", "s2"] and got["id"].dtype.storage == "python"
    assert got["price_ids"].tolist() == [["p1", "p2"], []]
    assert got["created"].tolist() == table["created"].tolist()
