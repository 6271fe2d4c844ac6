#!/usr/bin/env python3
"""Renders every case of tests/helm/ with Helm v4's own engine (Helm SDK
v4.2.3, bundled by helm-python-sdk==0.2.2) and prints one JSON object: case
name -> {"files": {template path: text}, "crds": [text, ...]} or {"error":
message}. A case is a folder holding `chart/` and, optionally, `values.yaml`
(the user's values) and `release.json` ({"name", "namespace"}).

    pip install helm-python-sdk==0.2.2
    python3 tests/oracle/helm_render.py tests/helm
"""
import json
import os
import sys

import helm_python


def render_case(case):
    values = {}
    vf = os.path.join(case, "values.yaml")
    if os.path.exists(vf):
        # Read by Helm's own reader, as `helm template -f` reads a file.
        values = helm_python.values_from_yaml(open(vf, encoding="utf-8").read()) or {}
    release = {"name": "rel", "namespace": "ns"}
    rf = os.path.join(case, "release.json")
    if os.path.exists(rf):
        release.update(json.load(open(rf, encoding="utf-8")))
    try:
        chart = helm_python.Chart.load(os.path.join(case, "chart"))
        files = chart.render(values, name=release["name"], namespace=release["namespace"], is_install=True)
        crds = [c["data"] for c in chart.crds]
        return {"files": files, "crds": crds}
    except helm_python.HelmError as e:
        return {"error": str(e)}


def main():
    root = sys.argv[1]
    out = {}
    for name in sorted(os.listdir(root)):
        case = os.path.join(root, name)
        if os.path.isdir(os.path.join(case, "chart")):
            out[name] = render_case(case)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
