//! A chart as Helm's loader reads a directory: `Chart.yaml` (apiVersion v1
//! or v2; a v1 chart's `requirements.yaml` holds its dependencies),
//! `values.yaml`, `templates/`, `crds/`, every other file (for `.Files`),
//! and subcharts under `charts/`; `.helmignore` leaves files out.

use crate::render::yaml::parse_documents;
use crate::source::tree::{EntryKind, Tree};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The chart's name (Chart.yaml `name`).
    pub name: String,
    /// Chart.yaml as read.
    pub metadata: Value,
    /// values.yaml (an empty map when there is none).
    pub values: Value,
    /// `templates/…` files: (path inside the chart, text).
    pub templates: Vec<(String, String)>,
    /// `crds/…` files.
    pub crds: Vec<(String, String)>,
    /// Every file of the chart not under `templates/` or `charts/`, for `.Files`.
    pub files: Vec<(String, Vec<u8>)>,
    pub dependencies: Vec<Value>,
    pub subcharts: Vec<Chart>,
    /// values.schema.json, if any.
    pub schema: Option<Value>,
}

/// What a chart directory could not be read as.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ChartError {
    pub file: String,
    pub message: String,
}

fn err(file: &str, message: impl Into<String>) -> ChartError {
    ChartError {
        file: file.to_string(),
        message: message.into(),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A YAML file read as Helm reads it (sigs.k8s.io/yaml: go-yaml v2's rules,
/// one document); an empty file is an empty map.
fn yaml_file(tree: &dyn Tree, path: &str) -> Result<Value, ChartError> {
    let bytes = tree.read(path).map_err(|e| err(path, e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| err(path, "is not UTF-8 text"))?;
    let docs = parse_documents(&text).map_err(|e| err(path, e.to_string()))?;
    Ok(docs
        .into_iter()
        .next()
        .filter(|v| !v.is_null())
        .unwrap_or_else(|| Value::Object(Default::default())))
}

/// `.helmignore`'s patterns: a line each, `#` comments, a trailing `/` for
/// directories, `!` to keep again (gitignore's syntax, as Helm reads it).
#[derive(Debug, Default)]
struct Ignore {
    rules: Vec<(globset::GlobMatcher, bool, bool)>,
}

impl Ignore {
    fn read(tree: &dyn Tree, dir: &str) -> Ignore {
        let Ok(bytes) = tree.read(&join(dir, ".helmignore")) else {
            return Ignore::default();
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, line),
            };
            let (dir_only, pattern) = match pattern.strip_suffix('/') {
                Some(p) => (true, p),
                None => (false, pattern),
            };
            let pattern = pattern.trim_start_matches('/');
            if let Ok(g) = globset::Glob::new(pattern) {
                rules.push((g.compile_matcher(), negate, dir_only));
            }
        }
        Ignore { rules }
    }

    /// Whether `path` (relative to the chart) is left out: a pattern without
    /// a slash matches the base name at any depth.
    fn ignores(&self, path: &str, is_dir: bool) -> bool {
        let base = path.rsplit('/').next().unwrap_or(path);
        let mut ignored = false;
        for (glob, negate, dir_only) in &self.rules {
            if *dir_only && !is_dir {
                continue;
            }
            if glob.is_match(path) || glob.is_match(base) {
                ignored = !negate;
            }
        }
        ignored
    }
}

/// Every file below `dir` (relative paths), skipping what `.helmignore` says.
fn walk(
    tree: &dyn Tree,
    root: &str,
    rel: &str,
    ignore: &Ignore,
    out: &mut Vec<String>,
) -> Result<(), ChartError> {
    let dir = join(root, rel);
    let entries = tree.list(&dir).map_err(|e| err(&dir, e.to_string()))?;
    for e in entries {
        let path = join(rel, &e.name);
        let is_dir = e.kind == EntryKind::Dir;
        if ignore.ignores(&path, is_dir) {
            continue;
        }
        if is_dir {
            // Subcharts are charts of their own.
            if path != "charts" {
                walk(tree, root, &path, ignore, out)?;
            }
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads the chart at `dir` of `tree`, its subcharts with it.
pub fn load(tree: &dyn Tree, dir: &str) -> Result<Chart, ChartError> {
    let chart_yaml = join(dir, "Chart.yaml");
    let metadata = yaml_file(tree, &chart_yaml)?;
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| err(&chart_yaml, "validation: chart.metadata.name is required"))?
        .to_string();
    if metadata
        .get("version")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(err(
            &chart_yaml,
            "validation: chart.metadata.version is required",
        ));
    }
    let ignore = Ignore::read(tree, dir);
    let mut paths = Vec::new();
    walk(tree, dir, "", &ignore, &mut paths)?;
    let mut chart = Chart {
        name,
        metadata,
        values: Value::Object(Default::default()),
        templates: Vec::new(),
        crds: Vec::new(),
        files: Vec::new(),
        dependencies: Vec::new(),
        subcharts: Vec::new(),
        schema: None,
    };
    for path in paths {
        let full = join(dir, &path);
        let bytes = tree.read(&full).map_err(|e| err(&full, e.to_string()))?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match path.as_str() {
            "Chart.yaml" => {}
            "values.yaml" => chart.values = yaml_file(tree, &full)?,
            "values.schema.json" => {
                chart.schema = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| err(&full, format!("is not JSON: {e}")))?,
                )
            }
            "requirements.yaml" => {
                let doc = yaml_file(tree, &full)?;
                chart.dependencies = list(&doc, "dependencies");
            }
            p if p.starts_with("templates/") => chart.templates.push((path.clone(), text())),
            p if p.starts_with("crds/") => chart.crds.push((path.clone(), text())),
            _ => {}
        }
        // Helm's `.Files`: what is neither the chart's own definition nor a template.
        let own = [
            "Chart.yaml",
            "Chart.lock",
            "values.yaml",
            "values.schema.json",
            "requirements.yaml",
            "requirements.lock",
        ];
        if !path.starts_with("templates/") && !own.contains(&path.as_str()) {
            chart.files.push((path, bytes));
        }
    }
    if chart.dependencies.is_empty() {
        chart.dependencies = list(&chart.metadata, "dependencies");
    }
    load_subcharts(tree, dir, &ignore, &mut chart)?;
    Ok(chart)
}

fn list(doc: &Value, key: &str) -> Vec<Value> {
    doc.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn load_subcharts(
    tree: &dyn Tree,
    dir: &str,
    ignore: &Ignore,
    chart: &mut Chart,
) -> Result<(), ChartError> {
    let charts = join(dir, "charts");
    let Ok(entries) = tree.list(&charts) else {
        return Ok(());
    };
    for e in entries {
        let path = format!("charts/{}", e.name);
        if ignore.ignores(&path, e.kind == EntryKind::Dir) {
            continue;
        }
        match e.kind {
            EntryKind::Dir => chart.subcharts.push(load(tree, &join(&charts, &e.name))?),
            EntryKind::File if e.name.ends_with(".tgz") || e.name.ends_with(".tar.gz") => {
                let file = join(&charts, &e.name);
                let bytes = tree.read(&file).map_err(|e| err(&file, e.to_string()))?;
                let (unpacked, _) =
                    super::archive::MemTree::from_tgz(&bytes, &file).map_err(|m| err(&file, m))?;
                let sub = load(&unpacked, "").map_err(|e| err(&file, e.to_string()))?;
                chart.subcharts.push(sub);
            }
            EntryKind::File => {}
        }
    }
    Ok(())
}
