//! Helm's values, as pure functions over JSON: which subcharts are on
//! (dependency `condition`, `tags`, `alias`), and the coalescing of a
//! chart's `values.yaml` with what the user gives (user wins; `null`
//! deletes a key), each subchart's values with its parent's table for it,
//! and `global` copied down (the parent's wins).

use super::chart::{Chart, ChartError};
use serde_json::{Map, Value};

const GLOBAL: &str = "global";

fn is_table(v: &Value) -> bool {
    v.is_object()
}

/// `coalesceTablesFullKey`: `dst` wins; a null in `dst` over a value in
/// `src` deletes the key unless merging.
fn coalesce_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>, merge: bool) {
    for (key, val) in src {
        match dst.get_mut(key) {
            Some(Value::Null) if !merge => {
                dst.remove(key);
            }
            None => {
                dst.insert(key.clone(), val.clone());
            }
            Some(Value::Object(d)) => {
                if let Value::Object(s) = val {
                    coalesce_tables(d, s, merge);
                }
            }
            Some(_) => {}
        }
    }
}

/// `coalesceValues`: the chart's values.yaml under `v` (`v` wins).
fn coalesce_values(chart: &Chart, v: &mut Map<String, Value>, merge: bool) {
    let Value::Object(chart_values) = &chart.values else {
        return;
    };
    for (key, val) in chart_values {
        match v.get_mut(key) {
            Some(Value::Null) if !merge => {
                v.remove(key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(src) = val {
                    // A subchart's table is merged (its nulls are its own business).
                    let merge = merge || chart.subcharts.iter().any(|s| s.name == *key);
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                v.insert(key.clone(), val.clone());
            }
        }
    }
}

/// `coalesceGlobals`: the parent's globals into the subchart's `global`
/// (tables merged, the parent's values winning).
fn coalesce_globals(dest: &mut Map<String, Value>, src: &Map<String, Value>) {
    let mut dg = match dest.get(GLOBAL) {
        None => Map::new(),
        Some(Value::Object(g)) => g.clone(),
        Some(_) => return,
    };
    let sg = match src.get(GLOBAL) {
        None => Map::new(),
        Some(Value::Object(g)) => g.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        match (&val, dg.get(&key)) {
            (Value::Object(v), Some(Value::Object(d))) => {
                let mut vv = v.clone();
                coalesce_tables(&mut vv, d, true);
                dg.insert(key, Value::Object(vv));
            }
            (Value::Object(_), Some(_)) => {}
            (Value::Object(_), None) => {
                dg.insert(key, val);
            }
            (_, Some(d)) if is_table(d) => {}
            _ => {
                dg.insert(key, val);
            }
        }
    }
    dest.insert(GLOBAL.into(), Value::Object(dg));
}

fn coalesce_deps(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    merge: bool,
) -> Result<(), ChartError> {
    for sub in &chart.subcharts {
        let entry = dest
            .entry(sub.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !is_table(entry) {
            return Err(ChartError {
                file: format!("{}/values.yaml", chart.name),
                message: format!(
                    "type mismatch on {}: the values for a subchart must be a table",
                    sub.name
                ),
            });
        }
        let mut sub_values = match dest.remove(&sub.name) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        coalesce_globals(&mut sub_values, dest);
        coalesce(sub, &mut sub_values, merge)?;
        dest.insert(sub.name.clone(), Value::Object(sub_values));
    }
    Ok(())
}

fn coalesce(chart: &Chart, dest: &mut Map<String, Value>, merge: bool) -> Result<(), ChartError> {
    coalesce_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge)
}

/// Helm's `CoalesceValues`: the chart's values (and its subcharts') under
/// the user's.
pub fn coalesce_values_of(chart: &Chart, user: &Value) -> Result<Value, ChartError> {
    let mut dest = match user {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    coalesce(chart, &mut dest, false)?;
    remove_nulls(&mut dest);
    Ok(Value::Object(dest))
}

/// A key whose value is null is no key at all in what a template sees
/// (Helm v4 drops them, from a chart's values.yaml too).
fn remove_nulls(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        if let Value::Object(inner) = v {
            remove_nulls(inner);
        }
    }
}

/// A dotted path into values (`sub.enabled`).
fn path_value<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(values, |v, key| v.as_object()?.get(key))
}

/// Whether a dependency is on: tags first (any true tag turns it on; only
/// false ones turn it off), then the first condition path that holds a
/// boolean decides.
fn enabled(dep: &Value, values: &Value, prefix: &str) -> bool {
    let mut on = true;
    if let (Some(tags), Some(Value::Object(table))) = (
        dep.get("tags").and_then(Value::as_array),
        values.get("tags"),
    ) {
        let (mut has_true, mut has_false) = (false, false);
        for t in tags.iter().filter_map(Value::as_str) {
            match table.get(t) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        if !has_true && has_false {
            on = false;
        }
    }
    if let Some(condition) = dep.get("condition").and_then(Value::as_str) {
        for path in condition
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if let Some(Value::Bool(b)) = path_value(values, &format!("{prefix}{path}")) {
                on = *b;
                break;
            }
        }
    }
    on
}

/// Helm's `ProcessDependencyEnabled`: subcharts named by an alias take
/// it, disabled ones are dropped, a declared dependency missing from
/// `charts/` is an error; then the same below.
pub fn process_dependencies(
    chart: &mut Chart,
    user: &Value,
    prefix: &str,
) -> Result<(), ChartError> {
    let declared = chart.dependencies.clone();
    let mut kept: Vec<Chart> = chart
        .subcharts
        .iter()
        .filter(|s| {
            !declared
                .iter()
                .any(|d| d.get("name").and_then(Value::as_str) == Some(s.name.as_str()))
        })
        .cloned()
        .collect();
    let mut deps: Vec<(Value, String)> = Vec::new();
    for d in &declared {
        let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
        let Some(found) = chart.subcharts.iter().find(|s| s.name == name) else {
            return Err(ChartError {
                file: format!("{}/Chart.yaml", chart.name),
                message: format!(
                    "dependency {name:?} is declared but not present under charts/ (fetching charts is not done here: run `helm dependency build`, or vendor it)"
                ),
            });
        };
        let mut sub = found.clone();
        if let Some(alias) = d
            .get("alias")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            sub.name = alias.to_string();
        }
        deps.push((d.clone(), sub.name.clone()));
        kept.push(sub);
    }
    let mut probe = chart.clone();
    probe.subcharts = kept.clone();
    let values = coalesce_values_of(&probe, user)?;
    let off: Vec<String> = deps
        .iter()
        .filter(|(d, _)| !enabled(d, &values, prefix))
        .map(|(_, n)| n.clone())
        .collect();
    kept.retain(|s| !off.contains(&s.name));
    for sub in &mut kept {
        let sub_prefix = format!("{prefix}{}.", sub.name);
        process_dependencies(sub, &values, &sub_prefix)?;
    }
    chart.subcharts = kept;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(name: &str, values: Value, subcharts: Vec<Chart>, deps: Vec<Value>) -> Chart {
        Chart {
            name: name.into(),
            metadata: json!({"name": name, "version": "1.0.0"}),
            values,
            templates: vec![],
            crds: vec![],
            files: vec![],
            dependencies: deps,
            subcharts,
            schema: None,
        }
    }

    #[test]
    fn user_values_win_nulls_delete_and_globals_flow_down() {
        let sub = chart(
            "db",
            json!({"port": 5432, "global": {"tier": "sub"}, "user": "app"}),
            vec![],
            vec![],
        );
        let parent = chart(
            "app",
            json!({"replicas": 1, "image": {"tag": "1.0", "repo": "x"}, "db": {"user": "parent"}, "global": {"tier": "web", "env": "prod"}}),
            vec![sub],
            vec![],
        );
        let v = coalesce_values_of(
            &parent,
            &json!({"image": {"tag": "2.0", "repo": null}, "replicas": null}),
        )
        .unwrap();
        assert_eq!(v["image"], json!({"tag": "2.0"}));
        assert!(v.get("replicas").is_none(), "a user null deletes the key");
        assert_eq!(v["db"]["port"], 5432);
        assert_eq!(v["db"]["user"], "parent");
        assert_eq!(v["db"]["global"], json!({"tier": "web", "env": "prod"}));
    }

    #[test]
    fn conditions_tags_and_aliases_choose_subcharts() {
        let a = chart("a", json!({}), vec![], vec![]);
        let b = chart("b", json!({}), vec![], vec![]);
        let mut parent = chart(
            "app",
            json!({"a": {"enabled": false}, "tags": {"extra": true}}),
            vec![a, b],
            vec![
                json!({"name": "a", "condition": "a.enabled"}),
                json!({"name": "b", "tags": ["extra"], "alias": "bee"}),
            ],
        );
        process_dependencies(&mut parent, &json!({}), "").unwrap();
        let names: Vec<&str> = parent.subcharts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["bee"]);
        let mut missing = chart("app", json!({}), vec![], vec![json!({"name": "gone"})]);
        let e = process_dependencies(&mut missing, &json!({}), "").unwrap_err();
        assert!(
            e.message.contains("\"gone\" is declared but not present"),
            "{e}"
        );
    }
}
