//! Every case of `tests/helm/` (a `chart/`, optional user `values.yaml` and
//! `release.json`) rendered by skiff and by Helm v4's own engine
//! (`tests/oracle/helm_render.py`, helm-python-sdk 0.2.2), compared as
//! objects: each rendered file split as Helm splits manifests, every
//! document parsed, compared per file without regard to order. A case that
//! fails in Helm must fail in skiff. CI installs the oracle; without it the
//! test says so and checks nothing.

use skiff::render::helm::{self, chart, Options};
use skiff::render::yaml::parse_documents;
use skiff::source::tree::DirTree;
use std::collections::BTreeMap;
use std::path::Path;

fn objects(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for doc in helm::split_manifests(text) {
        for v in parse_documents(&doc).map_err(|e| e.to_string())? {
            if !v.is_null() {
                out.push(serde_json::to_string(&v).unwrap());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The case rendered by skiff: file -> sorted objects, CRDs under "crds".
fn skiff_render(case: &Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let tree = DirTree::new(case).map_err(|e| e.to_string())?;
    let c = chart::load(&tree, "chart").map_err(|e| e.to_string())?;
    let mut options = Options {
        release_name: "rel".into(),
        namespace: "ns".into(),
        ..Options::default()
    };
    if let Ok(text) = std::fs::read_to_string(case.join("values.yaml")) {
        options.values = parse_documents(&text)
            .unwrap()
            .into_iter()
            .next()
            .unwrap_or_default();
    }
    if let Ok(text) = std::fs::read_to_string(case.join("release.json")) {
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let Some(n) = r["name"].as_str() {
            options.release_name = n.into();
        }
        if let Some(n) = r["namespace"].as_str() {
            options.namespace = n.into();
        }
    }
    let rendered = helm::render(&c, &options).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    let mut crds = Vec::new();
    for r in rendered {
        if r.name.contains("/crds/") {
            crds.extend(objects(&r.text)?);
        } else {
            out.insert(r.name, objects(&r.text)?);
        }
    }
    crds.sort();
    out.insert("crds".into(), crds);
    Ok(out)
}

fn helm_render(want: &serde_json::Value) -> Result<BTreeMap<String, Vec<String>>, String> {
    if let Some(e) = want.get("error") {
        return Err(e.as_str().unwrap_or_default().to_string());
    }
    let mut out = BTreeMap::new();
    for (name, text) in want["files"].as_object().unwrap() {
        if name.ends_with("/NOTES.txt") {
            continue;
        }
        out.insert(name.clone(), objects(text.as_str().unwrap())?);
    }
    let mut crds = Vec::new();
    for c in want["crds"].as_array().unwrap() {
        crds.extend(objects(c.as_str().unwrap_or_default())?);
    }
    crds.sort();
    out.insert("crds".into(), crds);
    Ok(out)
}

/// Cases where skiff differs from the oracle on purpose, and why.
const KNOWN: &[(&str, &str)] = &[(
    "dependency-missing",
    "`helm template` refuses a declared dependency missing from charts/ (its \
     CheckDependencies); the SDK's render alone does not check, skiff does as helm template does",
)];

/// The objects one side has and the other has not, per file.
fn difference(
    got: &Result<BTreeMap<String, Vec<String>>, String>,
    want: &Result<BTreeMap<String, Vec<String>>, String>,
) -> String {
    let (Ok(g), Ok(w)) = (got, want) else {
        return format!("  skiff: {got:?}\n  helm:  {want:?}");
    };
    let mut out = String::new();
    for file in g
        .keys()
        .chain(w.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (
            g.get(file).cloned().unwrap_or_default(),
            w.get(file).cloned().unwrap_or_default(),
        );
        for o in a.iter().filter(|o| !b.contains(o)) {
            out.push_str(&format!("  {file}: skiff only: {o}\n"));
        }
        for o in b.iter().filter(|o| !a.contains(o)) {
            out.push_str(&format!("  {file}: helm only:  {o}\n"));
        }
    }
    out
}

#[test]
fn charts_render_as_helms_engine_renders_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm");
    let oracle = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/helm_render.py"))
        .arg(&root)
        .output();
    let Some(out) = oracle.ok().filter(|o| o.status.success()) else {
        println!("helm parity: helm-python-sdk is not installed; nothing compared");
        return;
    };
    let expected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = expected.as_object().unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut known = 0;
    for (name, want) in cases {
        let got = skiff_render(&root.join(name));
        let want = helm_render(want);
        let same = match (&got, &want) {
            (Ok(g), Ok(w)) => {
                compared += w.values().map(Vec::len).sum::<usize>();
                g == w
            }
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if same {
            continue;
        }
        if let Some((_, reason)) = KNOWN.iter().find(|(case, _)| case == name) {
            println!("{name}: differs, as known: {reason}");
            known += 1;
            continue;
        }
        failures.push(format!("{name}:\n{}", difference(&got, &want)));
    }
    println!(
        "helm parity: {} of {} charts match ({compared} objects compared; {known} known differences)",
        cases.len() - failures.len() - known,
        cases.len()
    );
    assert!(cases.len() >= 2, "{} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
