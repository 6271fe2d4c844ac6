//! Helm charts rendered in process, as `helm template` renders them: the
//! chart model (`chart`), values (`values`), the objects a template sees
//! (`objects`) and Helm's functions (`funcs`) over the Go template engine
//! (`render::gotemplate`) and Sprig (`render::sprig`).
//!
//! Rendering follows Helm's engine: every template of the chart and its
//! subcharts is parsed into one set, deeper paths first (so a parent's
//! `define` wins over a subchart's), then each that is not a partial
//! (`_*`) is executed with its chart's data; `<no value>` is dropped.

pub mod archive;
pub mod chart;
pub mod funcs;
pub mod objects;
pub mod set;
pub mod values;

use crate::render::gotemplate::{Exec, MapType, Set, Value};
use chart::{Chart, ChartError};
use std::collections::BTreeMap;
use std::rc::Rc;

/// How a chart is rendered (`helm template`'s flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub release_name: String,
    pub namespace: String,
    /// The user's values (files and `--set`s already merged, later wins).
    pub values: serde_json::Value,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// Leave out `crds/` (`--skip-crds`).
    pub skip_crds: bool,
}

/// One rendered file: its template path (`chart/templates/x.yaml`, or a
/// `crds/` file) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HelmError {
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// A template that does not parse or execute, in Helm's words.
    #[error("{0}")]
    Template(String),
}

/// A value with a named Go map type (Helm's `common.Values`).
fn named(v: Value, kind: MapType) -> Value {
    match v {
        Value::Map(m) => Value::typed_map(m.borrow().clone(), kind),
        other => other,
    }
}

/// A template to run: its text, its chart's data, its base path.
struct Renderable {
    text: String,
    data: Value,
    base_path: String,
}

/// Helm's `recAllTpls`: each chart's data (its `.Values` the table its
/// parent keeps for it) and its templates by full path.
fn collect(
    chart: &Chart,
    path: &str,
    values: &Value,
    top: &BTreeMap<&str, Value>,
    is_root: bool,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let mut subcharts = BTreeMap::new();
    for sub in &chart.subcharts {
        let sub_values = match values {
            Value::Map(m) => m.borrow().get(&sub.name).cloned().unwrap_or(Value::Nil),
            _ => Value::Nil,
        };
        let sub_values = match sub_values {
            v @ Value::Map(_) => named(v, objects::VALUES),
            _ => Value::typed_map(BTreeMap::new(), objects::VALUES),
        };
        let sub_path = format!("{path}/charts/{}", sub.name);
        let data = collect(sub, &sub_path, &sub_values, top, false, out);
        subcharts.insert(sub.name.clone(), data);
    }
    let files = objects::Files(chart.files.iter().cloned().collect());
    let mut data: BTreeMap<String, Value> = top
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    data.insert("Chart".into(), objects::chart_metadata(chart, is_root));
    data.insert("Files".into(), Value::Object(Rc::new(files)));
    data.insert("Values".into(), values.clone());
    data.insert("Subcharts".into(), Value::map(subcharts));
    let data = Value::map(data);
    let library = chart.metadata.get("type").and_then(|t| t.as_str()) == Some("library");
    for (file, text) in &chart.templates {
        let base = file.rsplit('/').next().unwrap_or(file);
        // A library chart's templates are its partials only.
        if library && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{path}/{file}"),
            Renderable {
                text: text.clone(),
                data: data.clone(),
                base_path: format!("{path}/templates"),
            },
        );
    }
    data
}

/// Helm's `sortTemplates`: deeper paths first; at one depth, later names first.
fn sorted_names(templates: &BTreeMap<String, Renderable>) -> Vec<String> {
    let mut names: Vec<String> = templates.keys().cloned().collect();
    names.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    names
}

/// Renders `chart` as `helm template --include-crds` does: every file's
/// text, CRDs first, then templates by path (NOTES.txt and partials give
/// no output).
pub fn render(chart: &Chart, options: &Options) -> Result<Vec<Rendered>, HelmError> {
    let mut chart = chart.clone();
    values::process_dependencies(&mut chart, &options.values, "")?;
    let coalesced = values::coalesce_values_of(&chart, &options.values)?;
    let values = named(Value::from_json(&coalesced), objects::VALUES);
    let caps = objects::Capabilities::new(options.kube_version.as_deref(), &options.api_versions);
    let top: BTreeMap<&str, Value> = [
        (
            "Release",
            objects::release(&options.release_name, &options.namespace),
        ),
        ("Capabilities", Value::Object(Rc::new(caps))),
    ]
    .into_iter()
    .collect();
    let mut templates = BTreeMap::new();
    collect(&chart, &chart.name, &values, &top, true, &mut templates);
    let funcs = funcs::funcs();
    let order = sorted_names(&templates);
    let mut set = Set::default();
    for name in &order {
        set.parse(name, &templates[name].text, &funcs)
            .map_err(|e| HelmError::Template(parse_error(&e.message)))?;
    }
    let mut out = Vec::new();
    if !options.skip_crds {
        crds(&chart, &chart.name, &mut out);
    }
    let mut names = order.clone();
    names.sort();
    for name in names {
        let base = name.rsplit('/').next().unwrap_or(&name);
        if base.starts_with('_') {
            continue;
        }
        let r = &templates[&name];
        if let Value::Map(m) = &r.data {
            m.borrow_mut()
                .insert("Template".into(), objects::template(&name, &r.base_path));
        }
        let mut exec = Exec::new(&set, &funcs);
        let mut text = String::new();
        exec.execute(&name, &r.data, &mut text)
            .map_err(|e| HelmError::Template(exec_error(&e.message)))?;
        if base == "NOTES.txt" {
            continue;
        }
        out.push(Rendered {
            name,
            text: text.replace("<no value>", ""),
        });
    }
    Ok(out)
}

/// The chart's and its subcharts' `crds/` files, as they are.
fn crds(chart: &Chart, path: &str, out: &mut Vec<Rendered>) {
    for (file, text) in &chart.crds {
        if file.ends_with(".yaml") || file.ends_with(".yml") || file.ends_with(".json") {
            out.push(Rendered {
                name: format!("{path}/{file}"),
                text: text.clone(),
            });
        }
    }
    for sub in &chart.subcharts {
        crds(sub, &format!("{path}/charts/{}", sub.name), out);
    }
}

/// Helm's words for a parse error: `parse error at (NAME:LINE): MESSAGE`.
fn parse_error(go: &str) -> String {
    let rest = go.strip_prefix("template: ").unwrap_or(go);
    match rest.split_once(": ") {
        Some((location, message)) => format!("parse error at ({location}): {message}"),
        None => go.to_string(),
    }
}

/// Helm's words for `fail` and `required`: `execution error at
/// (NAME:LINE:COL): MESSAGE`; other errors keep Go's.
pub fn exec_error(go: &str) -> String {
    let rewrite = || -> Option<String> {
        let rest = go.strip_prefix("template: ")?;
        let (location, rest) = rest.split_once(": executing ")?;
        let (_, message) = rest
            .split_once(": error calling fail: ")
            .or_else(|| rest.split_once(": error calling required: "))?;
        Some(format!("execution error at ({location}): {message}"))
    };
    rewrite().unwrap_or_else(|| go.to_string())
}

/// Helm's `SplitManifests`: documents split at `---` lines (text may follow
/// the marker), empty ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(after) = line.strip_prefix("---") {
            docs.push(std::mem::take(&mut current));
            let rest = after.trim_start_matches([' ', '\t']);
            if !rest.trim().is_empty() {
                current.push_str(rest);
            }
            continue;
        }
        current.push_str(line);
    }
    docs.push(current);
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}
