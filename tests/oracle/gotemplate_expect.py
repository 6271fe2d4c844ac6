#!/usr/bin/env python3
"""Writes expected.json beside each table of template cases (tests/gotemplate,
tests/sprig): what Helm v4's own engine (Helm SDK v4.2.3, bundled by
helm-python-sdk==0.2.2) renders for every case of its cases.txt, or Go's
error for it. With --check, compares instead of writing and exits 1 on a
difference.

    pip install helm-python-sdk==0.2.2
    python3 tests/oracle/gotemplate_expect.py [--check]
"""
import json
import os
import re
import sys
import tempfile

import helm_python

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = [os.path.join(HERE, "..", t) for t in ("gotemplate", "sprig")]
NAME = "t/templates/t"


def cases(table):
    out, name, lines = [], None, []
    for line in open(os.path.join(table, "cases.txt"), encoding="utf-8").read().split("\n"):
        if line.startswith("### "):
            if name is not None:
                out.append((name, "\n".join(lines)))
            name, lines = line[4:].strip(), []
        elif name is not None:
            lines.append(line)
    if name is not None:
        out.append((name, "\n".join(lines)))
    return out


def go_error(message):
    """Helm's wording of an engine error, back in Go's one-line form."""
    m = re.match(r"^parse error at \((.*?)\): (.*)$", message, re.S)
    if m:
        return f"template: {m.group(1)}: {m.group(2)}"
    m = re.match(r"^(\S+:\d+:\d+)\n\s+(executing .*?):\n\s+(.*)$", message, re.S)
    if m:
        return f"template: {m.group(1)}: {m.group(2)}: {m.group(3)}"
    return message


def render_all(table):
    values = json.load(open(os.path.join(table, "values.json"), encoding="utf-8"))
    results = {}
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "templates"))
        with open(os.path.join(d, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: t\nversion: 0.1.0\n")
        for name, text in cases(table):
            with open(os.path.join(d, "templates", "t"), "w", encoding="utf-8") as f:
                f.write(text)
            try:
                out = helm_python.Chart.load(d).render(
                    values, name="rel", namespace="ns", is_install=True
                )
                results[name] = {"output": out[NAME]}
            except helm_python.HelmError as e:
                results[name] = {"error": go_error(str(e))}
    return results


def main():
    failed = False
    for table in TABLES:
        results = render_all(table)
        text = json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        expected = os.path.join(table, "expected.json")
        short = os.path.relpath(expected, os.path.join(HERE, "..", ".."))
        if "--check" in sys.argv:
            if open(expected, encoding="utf-8").read() != text:
                print(f"{short} differs from what Helm renders now", file=sys.stderr)
                failed = True
            else:
                print(f"{short} holds Helm's output for {len(results)} cases")
            continue
        open(expected, "w", encoding="utf-8").write(text)
        print(f"{short}: wrote {len(results)} cases")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
