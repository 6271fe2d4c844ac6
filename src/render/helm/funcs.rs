//! The functions Helm adds to Sprig's: `include`, `tpl`, `required`,
//! `toYaml`, `fromYaml`, `fromYamlArray`, `toJson`, `fromJson`,
//! `fromJsonArray`, `lookup` (nothing, offline, as `helm template`).

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::{Exec, FnError, Func, Funcs, Value};
use crate::render::sprig::encoding::to_json;
use crate::render::yaml::parse_documents;

pub const TABLE: &[(&str, Func)] = &[
    ("include", include),
    ("tpl", tpl),
    ("required", required),
    ("toYaml", to_yaml),
    ("mustToYaml", to_yaml),
    ("fromYaml", from_yaml),
    ("mustFromYaml", from_yaml),
    ("fromYamlArray", from_yaml_array),
    ("mustFromYamlArray", from_yaml_array),
    ("toJson", to_json_helm),
    ("mustToJson", to_json_helm),
    ("fromJson", from_json),
    ("mustFromJson", from_json),
    ("fromJsonArray", from_json_array),
    ("mustFromJsonArray", from_json_array),
    ("lookup", lookup),
];

type R = Result<Value, FnError>;

/// Helm's whole table: text/template's, Sprig's, then Helm's own.
pub fn funcs() -> Funcs {
    let mut f = crate::render::sprig::funcs();
    f.extend(TABLE);
    f
}

/// How deep one name may include itself (Helm's `recursionMaxNums`).
const MAX_INCLUDE: usize = 1000;

fn include(e: &mut Exec, a: &[Value]) -> R {
    count("include", a, 2)?;
    let name = string(a, 0)?.to_string();
    let n = e.counters.entry(name.clone()).or_insert(0);
    if *n > MAX_INCLUDE {
        return Err(FnError::Call(format!(
            "rendering template has a nested reference name: {name}: unable to execute template"
        )));
    }
    *n += 1;
    let mut out = String::new();
    let r = e.execute(&name, &a[1], &mut out);
    if let Some(n) = e.counters.get_mut(&name) {
        *n -= 1;
    }
    r.map_err(|err| FnError::Call(err.message))?;
    Ok(Value::str(&out))
}

fn tpl(e: &mut Exec, a: &[Value]) -> R {
    count("tpl", a, 2)?;
    let text = string(a, 0)?;
    let quoted = crate::render::gotemplate::parse::go_quote(text);
    // The text is parsed into a copy of the templates, under the name of
    // the template calling it, so its `define`s are its own.
    let mut set = e.set.clone();
    let name = e.template_name().to_string();
    set.parse(&name, text, e.funcs)
        .map_err(|err| FnError::Call(format!("cannot parse template {quoted}: {}", err.message)))?;
    let mut inner = Exec::new(&set, e.funcs);
    inner.limits = e.limits;
    inner.depth = e.depth;
    inner.counters = std::mem::take(&mut e.counters);
    let mut out = String::new();
    let r = inner.execute(&name, &a[1], &mut out);
    e.counters = std::mem::take(&mut inner.counters);
    r.map_err(|err| {
        FnError::Call(format!(
            "error during tpl function execution for {quoted}: {}",
            err.message
        ))
    })?;
    Ok(Value::str(&out.replace("<no value>", "")))
}

fn required(_: &mut Exec, a: &[Value]) -> R {
    count("required", a, 2)?;
    let warn = string(a, 0)?;
    match &a[1] {
        Value::Nil => Err(FnError::Call(warn.to_string())),
        Value::String(s) if s.is_empty() => Err(FnError::Call(warn.to_string())),
        v => Ok(v.clone()),
    }
}

/// A template value as `encoding/json` writes it, read back.
pub fn to_json_value(v: &Value) -> Result<serde_json::Value, String> {
    let text = to_json(v, false, None)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// sigs.k8s.io/yaml's `Marshal` of JSON: go-yaml v2's output, keys in its
/// order, without the final line break (Helm trims it).
pub fn to_yaml_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    crate::render::yaml_out::write_document(&crate::render::yaml_out::sort_keys(v), &mut out);
    out.strip_suffix('\n').unwrap_or(&out).to_string()
}

fn to_yaml(_: &mut Exec, a: &[Value]) -> R {
    count("toYaml", a, 1)?;
    Ok(Value::str(&match to_json_value(&a[0]) {
        Ok(j) => to_yaml_json(&j),
        Err(_) => String::new(),
    }))
}

fn to_json_helm(_: &mut Exec, a: &[Value]) -> R {
    count("toJson", a, 1)?;
    Ok(Value::str(&to_json(&a[0], true, None).unwrap_or_default()))
}

/// YAML read as sigs.k8s.io/yaml reads it (go-yaml v2's rules, through
/// JSON: numbers become `float64`).
fn read_yaml(text: &str) -> Result<Value, String> {
    let docs = parse_documents(text).map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    Ok(docs.first().map(Value::from_json).unwrap_or(Value::Nil))
}

fn error_map(message: String) -> Value {
    Value::map(
        [("Error".to_string(), Value::str(&message))]
            .into_iter()
            .collect(),
    )
}

fn as_map(v: Result<Value, String>, what: &str) -> Value {
    match v {
        Ok(m @ Value::Map(_)) => m,
        Ok(Value::Nil) => Value::empty_map(),
        Ok(other) => error_map(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type {what}",
            json_kind(&other)
        )),
        Err(e) => error_map(e),
    }
}

fn as_list(v: Result<Value, String>) -> Value {
    match v {
        Ok(l @ Value::List(..)) => l,
        Ok(Value::Nil) => Value::list(Vec::new()),
        Ok(other) => Value::list(vec![Value::str(&format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&other)
        ))]),
        Err(e) => Value::list(vec![Value::str(&e)]),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

fn from_yaml(_: &mut Exec, a: &[Value]) -> R {
    count("fromYaml", a, 1)?;
    Ok(as_map(read_yaml(string(a, 0)?), "map[string]interface {}"))
}

fn from_yaml_array(_: &mut Exec, a: &[Value]) -> R {
    count("fromYamlArray", a, 1)?;
    Ok(as_list(read_yaml(string(a, 0)?)))
}

fn read_json(text: &str) -> Result<Value, String> {
    crate::render::sprig::encoding::from_json(text)
}

fn from_json(_: &mut Exec, a: &[Value]) -> R {
    count("fromJson", a, 1)?;
    Ok(as_map(read_json(string(a, 0)?), "map[string]interface {}"))
}

fn from_json_array(_: &mut Exec, a: &[Value]) -> R {
    count("fromJsonArray", a, 1)?;
    Ok(as_list(read_json(string(a, 0)?)))
}

/// `lookup` asks the cluster; a render offline finds nothing, as `helm
/// template` does.
fn lookup(_: &mut Exec, a: &[Value]) -> R {
    count("lookup", a, 4)?;
    for i in 0..4 {
        string(a, i)?;
    }
    Ok(Value::empty_map())
}
