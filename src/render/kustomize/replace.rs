//! Copying values between objects: `replacements` (per kustomization, last of
//! its transformers) and the deprecated `vars` (`$(NAME)` in the fields of
//! kustomize's varReference table, resolved once at the top).

use super::fieldspec;
use super::patch::Selector;
use super::{KustomizeError, Res};
use serde_json::{json, Value};

/// One step of a replacement field path: `spec`, `containers`, `[name=web]`, `0`, `*`.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Match(String, String),
    Index(usize),
    Any,
}

/// `spec.template.spec.containers.[name=web].image` (dots inside `[...]` kept).
fn parse_path(path: &str) -> Vec<Step> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
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
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        // `containers[name=web]` is the field then the match.
        let (field, bracket) = match p.find('[') {
            Some(0) => (String::new(), Some(p.clone())),
            Some(i) => (p[..i].to_string(), Some(p[i..].to_string())),
            None => (p.clone(), None),
        };
        if !field.is_empty() {
            steps.push(if field == "*" {
                Step::Any
            } else if let Ok(i) = field.parse::<usize>() {
                Step::Index(i)
            } else {
                Step::Field(field)
            });
        }
        if let Some(b) = bracket {
            let inner = b.trim_start_matches('[').trim_end_matches(']');
            match inner.split_once('=') {
                Some((k, v)) => steps.push(Step::Match(k.to_string(), v.to_string())),
                None => match inner.parse::<usize>() {
                    Ok(i) => steps.push(Step::Index(i)),
                    Err(_) => steps.push(Step::Any),
                },
            }
        }
    }
    steps
}

fn get<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(v);
    };
    match (first, v) {
        (Step::Field(f), Value::Object(m)) => get(m.get(f)?, rest),
        (Step::Index(i), Value::Array(a)) => get(a.get(*i)?, rest),
        (Step::Match(k, want), Value::Array(a)) => a
            .iter()
            .find(|e| e.get(k).is_some_and(|x| scalar_text(x) == *want))
            .and_then(|e| get(e, rest)),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sets `value` at every place `steps` names (creating maps when `create`).
fn set(v: &mut Value, steps: &[Step], value: &Value, create: bool, options: &Value) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        *v = splice(v, value, options);
        return true;
    };
    match (first, v) {
        (Step::Field(f), Value::Object(m)) => {
            if !m.contains_key(f) {
                if !create {
                    return false;
                }
                m.insert(
                    f.clone(),
                    if rest.is_empty() {
                        Value::Null
                    } else {
                        json!({})
                    },
                );
            }
            set(m.get_mut(f).expect("present"), rest, value, create, options)
        }
        (Step::Index(i), Value::Array(a)) => a
            .get_mut(*i)
            .is_some_and(|e| set(e, rest, value, create, options)),
        (Step::Match(k, want), Value::Array(a)) => {
            let mut any = false;
            for e in a
                .iter_mut()
                .filter(|e| e.get(k).is_some_and(|x| scalar_text(x) == *want))
            {
                any |= set(e, rest, value, create, options);
            }
            any
        }
        (Step::Any, Value::Array(a)) => {
            let mut any = false;
            for e in a.iter_mut() {
                any |= set(e, rest, value, create, options);
            }
            any
        }
        _ => false,
    }
}

/// With `delimiter`/`index` options only one part of the target changes.
fn splice(current: &Value, value: &Value, options: &Value) -> Value {
    let Some(delim) = options
        .get("delimiter")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    else {
        return value.clone();
    };
    let index = options.get("index").and_then(Value::as_i64).unwrap_or(0);
    let text = current.as_str().unwrap_or_default();
    let mut parts: Vec<String> = text.split(delim).map(String::from).collect();
    let v = scalar_text(value);
    if index < 0 {
        parts.insert(0, v);
    } else if (index as usize) < parts.len() {
        parts[index as usize] = v;
    } else {
        parts.push(v);
    }
    Value::String(parts.join(delim))
}

fn source_value(source: &Value, resources: &[Res], file: &str) -> Result<Value, KustomizeError> {
    let err = |m: String| KustomizeError::field(file, "replacements", m);
    let selector = Selector::from_value(source).map_err(err)?;
    let found: Vec<&Res> = resources.iter().filter(|r| selector.matches(r)).collect();
    let r = match found.as_slice() {
        [r] => *r,
        [] => return Err(err(format!("no object matches the source {source}"))),
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
        .cloned()
        .ok_or_else(|| err(format!("{} {:?} has no field {path}", r.kind(), r.name())))?;
    let options = source.get("options").cloned().unwrap_or(json!({}));
    match options
        .get("delimiter")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        Some(d) => {
            let index = options
                .get("index")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .max(0) as usize;
            let text = scalar_text(&v);
            let part = text
                .split(d)
                .nth(index)
                .ok_or_else(|| err(format!("field {path} has no part {index} split on {d:?}")))?;
            Ok(json!(part))
        }
        None => Ok(v),
    }
}

/// Applies a kustomization's `replacements`.
pub fn replacements(
    resources: &mut [Res],
    entries: &[Value],
    file: &str,
) -> Result<(), KustomizeError> {
    let err = |m: String| KustomizeError::field(file, "replacements", m);
    for entry in entries {
        let Some(source) = entry.get("source") else {
            return Err(err(
                "an entry has no source (replacement files by path are not supported yet)".into(),
            ));
        };
        let value = source_value(source, resources, file)?;
        for target in entry
            .get("targets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let select =
                Selector::from_value(target.get("select").unwrap_or(&json!({}))).map_err(err)?;
            let rejects: Vec<Selector> = target
                .get("reject")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(Selector::from_value)
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
                .map_err(err)?
                .unwrap_or_default();
            let options = target.get("options").cloned().unwrap_or(json!({}));
            let create = options
                .get("create")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let paths: Vec<String> = target
                .get("fieldPaths")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for r in resources.iter_mut() {
                if !select.matches(r) || rejects.iter().any(|x| x.matches(r)) {
                    continue;
                }
                for p in &paths {
                    let steps = parse_path(p);
                    if !set(&mut r.object, &steps, &value, create, &options) && !create {
                        return Err(err(format!(
                            "{} {:?}: no field {p} to replace (set options.create to add it)",
                            r.kind(),
                            r.name()
                        )));
                    }
                }
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
            .find(|r| r.kind() == kind && r.names.iter().any(|n| n == ref_name))
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
        let mut obj = obj;
        assert!(set(
            &mut obj,
            &parse_path("spec.containers.*.image"),
            &json!("z:1"),
            false,
            &json!({"delimiter": ":", "index": 1})
        ));
        assert_eq!(obj["spec"]["containers"][0]["image"], "x:z:1");
    }
}
