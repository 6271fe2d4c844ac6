#!/usr/bin/env python3
"""Writes tests/gotemplate/expected.json: what Helm v4's own engine (Helm SDK
v4.2.3, bundled by helm-python-sdk==0.2.2) renders for every case of
tests/gotemplate/cases.txt, or Go's error for it. With --check, compares
instead of writing and exits 1 on a difference.

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
CASES = os.path.join(HERE, "..", "gotemplate", "cases.txt")
VALUES = os.path.join(HERE, "..", "gotemplate", "values.json")
EXPECTED = os.path.join(HERE, "..", "gotemplate", "expected.json")
NAME = "t/templates/t"


def cases():
    out, name, lines = [], None, []
    for line in open(CASES, encoding="utf-8").read().split("\n"):
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


def render_all():
    values = json.load(open(VALUES, encoding="utf-8"))
    results = {}
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "templates"))
        with open(os.path.join(d, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: t\nversion: 0.1.0\n")
        for name, text in cases():
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
    results = render_all()
    text = json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if "--check" in sys.argv:
        if open(EXPECTED, encoding="utf-8").read() != text:
            print("expected.json differs from what Helm renders now", file=sys.stderr)
            sys.exit(1)
        print(f"expected.json holds Helm's output for {len(results)} cases")
        return
    open(EXPECTED, "w", encoding="utf-8").write(text)
    print(f"wrote {len(results)} cases")


if __name__ == "__main__":
    main()
