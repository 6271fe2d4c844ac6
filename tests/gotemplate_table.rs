//! Every case of `tests/gotemplate/cases.txt` (Go's templates and
//! text/template's functions) and `tests/sprig/cases.txt` (Sprig's
//! functions) rendered by skiff and compared with what Helm v4's own engine
//! renders for it (`expected.json` beside each, written by
//! `python3 tests/oracle/gotemplate_expect.py`). When the oracle is
//! installed (CI installs it), the expectations are also checked against it.

use skiff::render::gotemplate::{Funcs, Set, Value};
use std::collections::BTreeMap;
use std::path::Path;

const NAME: &str = "t/templates/t";

fn cases(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.split('\n') {
        if let Some(name) = line.strip_prefix("### ") {
            if let Some((n, lines)) = current.take() {
                out.push((n, lines.join("\n")));
            }
            current = Some((name.trim().to_string(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((n, lines)) = current {
        out.push((n, lines.join("\n")));
    }
    out
}

/// Helm's data for a template: `.Values` and the release's name and namespace.
fn data(values: &serde_json::Value) -> Value {
    let release: BTreeMap<String, Value> = [
        ("Name".to_string(), Value::str("rel")),
        ("Namespace".to_string(), Value::str("ns")),
    ]
    .into_iter()
    .collect();
    Value::map(
        [
            ("Values".to_string(), Value::from_json(values)),
            ("Release".to_string(), Value::map(release)),
        ]
        .into_iter()
        .collect(),
    )
}

fn render(text: &str, data: &Value, funcs: &Funcs) -> Result<String, String> {
    let mut set = Set::default();
    set.parse(NAME, text, funcs).map_err(|e| e.message)?;
    let out = set.render(NAME, data, funcs).map_err(|e| e.message)?;
    // Helm drops what Go prints for no value.
    Ok(out.replace("<no value>", ""))
}

/// Helm shortens parse errors to their last part; skiff keeps Go's whole
/// message. They agree when the location is the same and skiff's message
/// ends with Helm's.
fn same_error(skiff: &str, helm: &str) -> bool {
    if skiff == helm || skiff::render::helm::exec_error(skiff) == helm {
        return true;
    }
    let location = |m: &str| -> Option<String> {
        let rest = m.strip_prefix("template: ")?;
        let (name, rest) = rest.split_once(':')?;
        let (line, _) = rest.split_once(':')?;
        Some(format!("template: {name}:{line}:"))
    };
    match (location(skiff), location(helm)) {
        (Some(a), Some(b)) if a == b && !helm.contains("executing") => {
            skiff.ends_with(helm.trim_start_matches(&b).trim_start())
        }
        _ => false,
    }
}

/// Renders every case of a table; returns (cases, mismatches).
fn table(name: &str, funcs: &Funcs) -> (usize, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let text = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    let values: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("values.json")).unwrap()).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let all = cases(&text);
    let mut failures = Vec::new();
    for (name, template) in &all {
        let want = &expected[name.as_str()];
        assert!(
            !want.is_null(),
            "{name}: no expectation; run the oracle script"
        );
        // Fresh data for every case: a template may change it (`set`).
        let got = render(template, &data(&values), funcs);
        let ok = match (&got, want.get("output"), want.get("error")) {
            (Ok(out), Some(w), _) => w.as_str() == Some(out.as_str()),
            (Err(e), _, Some(w)) => same_error(e, w.as_str().unwrap_or_default()),
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}:\n  skiff: {got:?}\n  helm:  {want}"));
        }
    }
    println!(
        "{name} table: {} of {} cases match Helm's engine",
        all.len() - failures.len(),
        all.len()
    );
    (all.len(), failures)
}

#[test]
fn go_templates_render_as_helms_engine_renders_them() {
    let (n, failures) = table("gotemplate", &Funcs::builtin());
    assert!(n >= 50, "{n} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sprig_functions_render_as_helms_engine_renders_them() {
    let (n, failures) = table("sprig", &skiff::render::sprig::funcs());
    assert!(n >= 40, "{n} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_expectations_are_what_the_oracle_renders() {
    let oracle = std::process::Command::new("python3")
        .args(["-c", "import helm_python"])
        .status();
    if !oracle.is_ok_and(|s| s.success()) {
        println!("helm-python-sdk is not installed: expectations not re-checked here");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/gotemplate_expect.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
