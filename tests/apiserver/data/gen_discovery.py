#!/usr/bin/env python3
"""Build data/discovery.json, the test API server's table of built-in resources.

The table is taken from the real kube-apiserver v1.36.2 recordings in
../shared/apiserver-recordings/01-discovery: the legacy APIResourceList documents
where they were recorded (they carry storageVersionHash), otherwise the resources
of the aggregated v2 document. The group order is the server's (GET /apis).
The `example.com` group is dropped: it was a CRD of the recorded cluster.

Usage: python3 tests/apiserver/data/gen_discovery.py [RECORDINGS_DIR]
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
rec = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    here, "..", "..", "..", "..", "shared", "apiserver-recordings")
disc = os.path.join(rec, "01-discovery")


def body(name):
    with open(os.path.join(disc, name)) as f:
        return json.load(f)["response"]["body"]


legacy = {}
for name in sorted(os.listdir(disc)):
    b = body(name)
    if isinstance(b, dict) and b.get("kind") == "APIResourceList":
        legacy[b["groupVersion"]] = b["resources"]


def from_aggregated(group, version, resources):
    out = []
    for r in resources:
        kind = r["responseKind"]["kind"]
        entry = {"name": r["resource"], "singularName": r.get("singularResource", ""),
                 "namespaced": r["scope"] == "Namespaced", "kind": kind, "verbs": r["verbs"]}
        if r.get("shortNames"):
            entry["shortNames"] = r["shortNames"]
        if r.get("categories"):
            entry["categories"] = r["categories"]
        out.append(entry)
        for s in r.get("subresources", []):
            rk = s["responseKind"]
            sub = {"name": r["resource"] + "/" + s["subresource"], "singularName": "",
                   "namespaced": r["scope"] == "Namespaced"}
            if rk.get("group") or rk.get("version"):
                sub["group"] = rk["group"]
                sub["version"] = rk["version"]
            sub["kind"] = rk["kind"]
            sub["verbs"] = s.get("verbs", [])
            out.append(sub)
    out.sort(key=lambda e: e["name"])
    return out


groups = []
resources = {}
core = body("31-aggregated-api.json")["items"][0]
groups.append({"name": "", "versions": ["v1"], "preferredVersion": "v1"})
resources["v1"] = legacy.get("v1") or from_aggregated("", "v1", core["versions"][0]["resources"])

apis = body("04-apis.json")["groups"]
aggregated = {g["metadata"]["name"]: g for g in body("32-aggregated-apis.json")["items"]}
for g in apis:
    if g["name"] == "example.com":
        continue
    groups.append({"name": g["name"], "versions": [v["version"] for v in g["versions"]],
                   "preferredVersion": g["preferredVersion"]["version"]})
    for v in aggregated[g["name"]]["versions"]:
        gv = g["name"] + "/" + v["version"]
        resources[gv] = legacy.get(gv) or from_aggregated(g["name"], v["version"], v["resources"])

out = {"_source": "kube-apiserver v1.36.2, shared/apiserver-recordings/01-discovery (gen_discovery.py)",
       "groups": groups, "resources": resources}
with open(os.path.join(here, "discovery.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("groups:", len(groups), "group-versions:", len(resources),
      "resources:", sum(len(v) for v in resources.values()))
