#!/usr/bin/env python3
"""Checks a `--stats` file: schema pnmvp.stats.v1, every value with a unit and
a description; then each PATH=VALUE argument (slash path under "stats")."""
import json
import sys


def walk(node, path):
    for key, v in node.items():
        if isinstance(v, dict) and "value" in v and "unit" in v:
            assert v["unit"] and v["description"], f"{path}/{key}: unit or description missing"
            yield f"{path}/{key}".lstrip("/"), v["value"]
        else:
            assert isinstance(v, dict), f"{path}/{key}: neither a stat nor a group"
            yield from walk(v, f"{path}/{key}")


doc = json.load(open(sys.argv[1]))
assert list(doc)[0] == "schema" and doc["schema"] == "pnmvp.stats.v1", doc.get("schema")
values = dict(walk(doc["stats"], ""))
assert values, "empty tree"
for check in sys.argv[2:]:
    path, want = check.split("=")
    assert path in values, f"{path}: missing"
    assert values[path] == float(want), f"{path}: {values[path]} != {want}"
print(f"ok {len(values)} stats")
