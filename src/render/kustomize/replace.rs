//! Copying values between objects: `replacements` (per kustomization, last of
//! its transformers) and the deprecated `vars` (`$(NAME)` in the fields of
//! kustomize's varReference table, resolved once at the top).

use super::fieldspec;
use super::patch::Selector;
use super::{KustomizeError, Res};
use crate::render::yaml;
use serde_json::{json, Value};

/// One step of a field path: `spec`, `[name=web]` (or `[=value]` for a list
/// of scalars), `0`, `-` (the last item), `*` (every item).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Match(String, String),
    Index(usize),
    Last,
    Any,
}

/// `spec.template.spec.containers.[name=web].image`, split as kyaml's
/// SmarterPathSplitter splits it: on dots outside brackets, `\.` an escaped
/// dot; `[k=v]` selects list items, `[a.b/c]` (no `=`) is a map key with
/// dots; `containers[name=web]` is the field then the match.
fn parse_path(path: &str) -> Vec<Step> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                cur.push('.');
                chars.next();
            }
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    let mut steps = Vec::new();
    for p in parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
    {
        let (field, bracket) = match p.find('[') {
            Some(0) => (String::new(), Some(p.clone())),
            Some(i) if p.ends_with(']') => (p[..i].to_string(), Some(p[i..].to_string())),
            _ => (p.clone(), None),
        };
        if !field.is_empty() {
            steps.push(match field.as_str() {
                "*" => Step::Any,
                "-" => Step::Last,
                f => f
                    .parse::<usize>()
                    .map_or_else(|_| Step::Field(f.to_string()), Step::Index),
            });
        }
        if let Some(b) = bracket {
            let inner = b.trim_start_matches('[').trim_end_matches(']');
            match (inner.split_once('='), inner.parse::<usize>()) {
                (Some((k, v)), _) => steps.push(Step::Match(k.to_string(), v.to_string())),
                // `ports[0]`: the fieldpath syntax of vars.
                (None, Ok(i)) => steps.push(Step::Index(i)),
                (None, Err(_)) => steps.push(Step::Field(inner.to_string())),
            }
        }
    }
    steps
}

/// The text kyaml holds for a scalar (a map or list has none).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(_) | Value::Object(_) => String::new(),
        other => other.to_string(),
    }
}

/// Whether a list item matches `[key=value]` (`[=value]`: a scalar item).
fn item_matches(item: &Value, key: &str, want: &str) -> bool {
    if key.is_empty() {
        return !item.is_object() && !item.is_array() && scalar_text(item) == want;
    }
    item.get(key)
        .is_some_and(|x| !x.is_object() && !x.is_array() && scalar_text(x) == want)
}

fn get<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(v);
    };
    match (first, v) {
        (Step::Field(f), Value::Object(m)) => get(m.get(f)?, rest),
        (Step::Index(i), Value::Array(a)) => get(a.get(*i)?, rest),
        (Step::Last, Value::Array(a)) => get(a.last()?, rest),
        (Step::Match(k, want), Value::Array(a)) => a
            .iter()
            .find(|e| item_matches(e, k, want))
            .and_then(|e| get(e, rest)),
        _ => None,
    }
}

/// Visits every field `steps` names (kyaml's PathMatcher: `*` and `[k=v]`
/// reach every matching item).
fn each_match(v: &mut Value, steps: &[Step], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = steps.split_first() else {
        f(v);
        return;
    };
    match (first, v) {
        (Step::Field(name), Value::Object(m)) => {
            if let Some(child) = m.get_mut(name) {
                each_match(child, rest, f);
            }
        }
        (Step::Index(i), Value::Array(a)) => {
            if let Some(e) = a.get_mut(*i) {
                each_match(e, rest, f);
            }
        }
        (Step::Last, Value::Array(a)) => {
            if let Some(e) = a.last_mut() {
                each_match(e, rest, f);
            }
        }
        (Step::Match(k, want), Value::Array(a)) => {
            for e in a.iter_mut().filter(|e| item_matches(e, k, want)) {
                each_match(e, rest, f);
            }
        }
        (Step::Any, Value::Array(a)) => {
            for e in a.iter_mut() {
                each_match(e, rest, f);
            }
        }
        _ => {}
    }
}

/// A field `create` made: a leaf not yet written (kyaml's empty node of the
/// source's kind).
const CREATED: &str = "\u{0}created";

/// Visits the field `steps` names, creating what is missing (kyaml's
/// expandPaths over PathGetter with Create): `*` goes over an existing list;
/// a missing field becomes a map, or a list before `[k=v]`; a missing
/// `[k=v]` item is appended as `{k: v}`; an index is never created.
fn each_created(v: &mut Value, steps: &[Step], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = steps.split_first() else {
        f(v);
        return;
    };
    let container = |next: Option<&Step>| match next {
        Some(Step::Match(..)) => json!([]),
        Some(_) => json!({}),
        None => Value::String(CREATED.into()),
    };
    match (first, v) {
        (Step::Any, Value::Array(a)) => {
            for e in a.iter_mut() {
                each_created(e, rest, f);
            }
        }
        (Step::Field(name), Value::Object(m)) => {
            let child = m
                .entry(name.clone())
                .or_insert_with(|| container(rest.first()));
            each_created(child, rest, f);
        }
        (Step::Index(i), Value::Array(a)) => {
            if let Some(e) = a.get_mut(*i) {
                each_created(e, rest, f);
            }
        }
        (Step::Last, Value::Array(a)) => {
            if let Some(e) = a.last_mut() {
                each_created(e, rest, f);
            }
        }
        (Step::Match(k, want), Value::Array(a)) => {
            let i = match a.iter().position(|e| item_matches(e, k, want)) {
                Some(i) => i,
                None => {
                    // The new item's scalar is typed by its text, as kyaml's untagged node is.
                    let text = yaml::kyaml::resolve_plain(want);
                    a.push(if k.is_empty() {
                        text
                    } else {
                        json!({ k.as_str(): text })
                    });
                    a.len() - 1
                }
            };
            each_created(&mut a[i], rest, f);
        }
        // kyaml appends the item to the null node, where nothing prints it.
        (Step::Match(..), Value::Null) => each_created(&mut json!({}), rest, f),
        _ => {}
    }
}

/// kyaml's setFieldValue: a scalar keeps its type and takes the source's
/// text (a quoted "0" becomes "3"; a port 1 becomes 8080); a map or list is
/// replaced by the source; a created field is typed by the text. With
/// `delimiter`, one part of the target's text changes.
fn set_value(target: &mut Value, value: &Value, options: &Value) -> Result<(), String> {
    let created = target.as_str() == Some(CREATED);
    let scalar = |v: &Value| !v.is_object() && !v.is_array();
    let mut value = value.clone();
    if let Some(delim) = options
        .get("delimiter")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        if !scalar(target) {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let index = options.get("index").and_then(Value::as_i64).unwrap_or(0);
        let current = if created {
            String::new()
        } else {
            scalar_text(target)
        };
        let mut parts: Vec<String> = current.split(delim).map(String::from).collect();
        let v = scalar_text(&value);
        match usize::try_from(index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i < parts.len() => parts[i] = v,
            Ok(_) => parts.push(v),
        }
        value = Value::String(parts.join(delim));
    }
    *target = match (created, &*target) {
        (true, _) if scalar(&value) => yaml::kyaml::resolve_plain(&scalar_text(&value)),
        (true, _) => value,
        (false, Value::String(_)) => Value::String(scalar_text(&value)),
        (false, t) if scalar(t) => yaml::kyaml::resolve_plain(&scalar_text(&value)),
        (false, _) => value,
    };
    Ok(())
}

/// Whether `r` has ever had an id `selector` names, exactly (replacements
/// select by value, not by pattern; no namespace and `default` are one).
fn selected(selector: &Value, r: &Res) -> bool {
    let want = |k: &str| {
        selector
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let effective = |ns: &str| if ns.is_empty() { "default" } else { ns }.to_string();
    let (group, version) = r.group_version();
    want("group").is_none_or(|g| g == group)
        && want("version").is_none_or(|v| v == version)
        && want("kind").is_none_or(|k| k == r.kind())
        && want("name").is_none_or(|n| r.had_name(n))
        && want("namespace").is_none_or(|n| {
            let n = effective(n);
            effective(r.namespace()) == n || r.previous.iter().any(|p| p.namespace == n)
        })
}

fn source_value(source: &Value, resources: &[Res], file: &str) -> Result<Value, KustomizeError> {
    let err = |m: String| KustomizeError::field(file, "replacements", m);
    let found: Vec<&Res> = resources.iter().filter(|r| selected(source, r)).collect();
    let r = match found.as_slice() {
        [r] => *r,
        [] => return Err(err(format!("nothing selected by the source {source}"))),
        _ => {
            return Err(err(format!(
                "{} objects match the source {source}; it must name one",
                found.len()
            )))
        }
    };
    let path = source
        .get("fieldPath")
        .and_then(Value::as_str)
        .unwrap_or("metadata.name");
    let v = get(&r.object, &parse_path(path))
        .filter(|v| match v {
            Value::Null => false,
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        })
        .cloned()
        .ok_or_else(|| {
            err(format!(
                "{} {:?}: fieldPath {path} is missing for the replacement source",
                r.kind(),
                r.name()
            ))
        })?;
    let options = source.get("options").cloned().unwrap_or(json!({}));
    match options
        .get("delimiter")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        Some(d) => {
            if v.is_object() || v.is_array() {
                return Err(err(format!(
                    "{path}: the delimiter option can only be used with scalar values"
                )));
            }
            let index = options.get("index").and_then(Value::as_i64).unwrap_or(0);
            let text = scalar_text(&v);
            let part = usize::try_from(index)
                .ok()
                .and_then(|i| text.split(d).nth(i))
                .ok_or_else(|| {
                    err(format!(
                        "options.index {index} is out of bounds for the value {text:?} of {path}"
                    ))
                })?;
            // The part keeps the source's tag: a number stays a number.
            Ok(match &v {
                Value::String(_) => json!(part),
                _ => yaml::kyaml::resolve_plain(part),
            })
        }
        None => Ok(v),
    }
}

/// One target of a replacement: which objects, which fields, how.
struct Target {
    select: Selector,
    select_id: Value,
    reject_ids: Vec<Value>,
    reject_labels: Vec<Selector>,
    paths: Vec<String>,
    options: Value,
}

impl Target {
    fn from_value(target: &Value) -> Result<Target, String> {
        let select_id = target
            .get("select")
            .cloned()
            .ok_or("a target must say which objects to select")?;
        let rejects = target
            .get("reject")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let id_fields = ["group", "version", "kind", "name", "namespace"];
        let has_id = |r: &Value| id_fields.iter().any(|k| r.get(k).is_some());
        let reject_labels = rejects
            .iter()
            .filter(|r| r.get("labelSelector").is_some() || r.get("annotationSelector").is_some())
            .map(|r| {
                let mut only = json!({});
                for k in ["labelSelector", "annotationSelector"] {
                    if let Some(v) = r.get(k) {
                        only[k] = v.clone();
                    }
                }
                Selector::from_value(&only)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Only labels and annotations are selected here; ids are matched exactly.
        let mut labels_only = json!({});
        for k in ["labelSelector", "annotationSelector"] {
            if let Some(v) = select_id.get(k) {
                labels_only[k] = v.clone();
            }
        }
        let mut paths: Vec<String> = target
            .get("fieldPaths")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if paths.is_empty() {
            paths.push("metadata.name".into());
        }
        Ok(Target {
            select: Selector::from_value(&labels_only)?,
            select_id,
            reject_ids: rejects.into_iter().filter(has_id).collect(),
            reject_labels,
            paths,
            options: target.get("options").cloned().unwrap_or(json!({})),
        })
    }

    fn chooses(&self, r: &Res) -> bool {
        self.select.matches(r)
            && selected(&self.select_id, r)
            && !self.reject_ids.iter().any(|x| selected(x, r))
            && !self.reject_labels.iter().any(|x| x.matches(r))
    }

    fn apply(&self, r: &mut Res, value: &Value) -> Result<(), String> {
        let create = self
            .options
            .get("create")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for p in &self.paths {
            let steps = parse_path(p);
            let mut outcome: Result<usize, String> = Ok(0);
            let mut set = |t: &mut Value| {
                if let Ok(n) = &mut outcome {
                    match set_value(t, value, &self.options) {
                        Ok(()) => *n += 1,
                        Err(e) => outcome = Err(e),
                    }
                }
            };
            if create {
                each_created(&mut r.object, &steps, &mut set);
            } else {
                each_match(&mut r.object, &steps, &mut set);
            }
            if outcome? == 0 {
                let how = if create { "find or create" } else { "find" };
                return Err(format!(
                    "{} {:?}: unable to {how} field {p} in replacement target",
                    r.kind(),
                    r.name()
                ));
            }
        }
        Ok(())
    }
}

/// Applies a kustomization's `replacements` (kustomize's replacement filter).
pub fn replacements(
    resources: &mut [Res],
    entries: &[Value],
    file: &str,
) -> Result<(), KustomizeError> {
    let err = |m: String| KustomizeError::field(file, "replacements", m);
    for entry in entries {
        let (Some(source), Some(targets)) = (
            entry.get("source"),
            entry.get("targets").and_then(Value::as_array),
        ) else {
            return Err(err(
                "replacements must specify a source and at least one target".into(),
            ));
        };
        let value = source_value(source, resources, file)?;
        for target in targets {
            let target = Target::from_value(target).map_err(err)?;
            for r in resources.iter_mut().filter(|r| target.chooses(r)) {
                target.apply(r, &value).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Resolves the deprecated `vars` and substitutes `$(NAME)` where kustomize's table allows it.
pub fn vars(
    resources: &mut [Res],
    vars: &[(Value, String)],
    references: &[fieldspec::FieldSpec],
) -> Result<(), KustomizeError> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for (var, file) in vars {
        let err = |m: String| KustomizeError::field(file, "vars", m);
        let name = var
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| err("a var has no name".into()))?;
        let objref = var
            .get("objref")
            .ok_or_else(|| err(format!("{name}: no objref")))?;
        let kind = objref
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ref_name = objref
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let r = resources
            .iter()
            .find(|r| r.kind() == kind && r.had_name(ref_name))
            .ok_or_else(|| err(format!("{name}: no {kind} {ref_name:?} to read it from")))?;
        let path = var
            .pointer("/fieldref/fieldpath")
            .and_then(Value::as_str)
            .unwrap_or("metadata.name");
        let v = get(&r.object, &parse_path(path))
            .cloned()
            .ok_or_else(|| err(format!("{name}: {kind} {ref_name:?} has no field {path}")))?;
        values.push((name.to_string(), v));
    }
    for r in resources.iter_mut() {
        let mut sub = |m: &mut serde_json::Map<String, Value>, k: &str| {
            if let Some(v) = m.get_mut(k) {
                substitute(v, &values);
            }
        };
        fieldspec::apply(&mut r.object, references, &mut sub);
    }
    Ok(())
}

fn substitute(v: &mut Value, values: &[(String, Value)]) {
    match v {
        Value::String(s) => {
            for (name, value) in values {
                let token = format!("$({name})");
                if *s == token {
                    *v = value.clone();
                    return;
                }
                if s.contains(&token) {
                    *s = s.replace(&token, &scalar_text(value));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, values)),
        Value::Object(m) => m.values_mut().for_each(|i| substitute(i, values)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_list_matches() {
        let obj = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "web", "image": "y"}]}});
        assert_eq!(
            get(&obj, &parse_path("spec.containers.[name=web].image")),
            Some(&json!("y"))
        );
        assert_eq!(
            get(&obj, &parse_path("spec.containers[name=a].image")),
            Some(&json!("x"))
        );
        assert_eq!(
            get(&obj, &parse_path("spec.containers.1.name")),
            Some(&json!("web"))
        );
        assert_eq!(
            get(&obj, &parse_path("spec.containers.-.name")),
            Some(&json!("web"))
        );
        assert_eq!(
            parse_path(".metadata.annotations.[cert-manager.io/inject-ca-from]"),
            [
                Step::Field("metadata".into()),
                Step::Field("annotations".into()),
                Step::Field("cert-manager.io/inject-ca-from".into())
            ]
        );
        assert_eq!(
            parse_path("data.app\\.conf"),
            [Step::Field("data".into()), Step::Field("app.conf".into())]
        );
        let mut obj = obj;
        let mut n = 0;
        each_match(&mut obj, &parse_path("spec.containers.*.image"), &mut |t| {
            set_value(t, &json!("z:1"), &json!({"delimiter": ":", "index": 1})).unwrap();
            n += 1;
        });
        assert_eq!(n, 2);
        assert_eq!(obj["spec"]["containers"][0]["image"], "x:z:1");
    }

    #[test]
    fn scalars_keep_their_type_and_created_fields_take_the_texts() {
        let mut obj = json!({"env": [{"name": "A", "value": "0"}], "port": 1});
        let mut set = |t: &mut Value| set_value(t, &json!(3), &json!({})).unwrap();
        each_match(&mut obj, &parse_path("env.[name=A].value"), &mut set);
        assert_eq!(obj["env"][0]["value"], json!("3"));
        let mut set = |t: &mut Value| set_value(t, &json!("8080"), &json!({})).unwrap();
        each_match(&mut obj, &parse_path("port"), &mut set);
        assert_eq!(obj["port"], json!(8080));
        each_created(&mut obj, &parse_path("env.[name=B].value"), &mut set);
        each_created(
            &mut obj,
            &parse_path("ports.[name=http].containerPort"),
            &mut set,
        );
        assert_eq!(obj["env"][1], json!({"name": "B", "value": 8080}));
        assert_eq!(
            obj["ports"],
            json!([{"name": "http", "containerPort": 8080}])
        );
    }
}
