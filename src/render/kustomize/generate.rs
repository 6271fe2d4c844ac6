//! configMapGenerator and secretGenerator, and the content hash kustomize
//! appends to generated names (computed once, after every patch).

use super::{KustomizeError, Res};
use crate::source::tree::Tree;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::Digest;

/// Go's encoding/json for the hash input: sorted keys, `<`, `>`, `&`, U+2028
/// and U+2029 escaped, and control characters as `\u00XX` except \n \r \t.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::render::gojson::write_string(out, k, true);
                out.push(':');
                go_json(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::String(s) => crate::render::gojson::write_string(out, s, true),
        other => out.push_str(&other.to_string()),
    }
}

/// kustomize's name hash of a ConfigMap or Secret (the name itself is hashed as "").
pub fn hash(obj: &Value) -> String {
    let mut m = Map::new();
    m.insert("kind".into(), obj["kind"].clone());
    m.insert("name".into(), json!(""));
    // A generator with nothing to put in data writes no field: Go's hasher reads "".
    m.insert("data".into(), obj.get("data").cloned().unwrap_or(json!("")));
    if obj["kind"] == "Secret" {
        m.insert("type".into(), obj.get("type").cloned().unwrap_or(json!("")));
    }
    if let Some(b) = obj.get("binaryData") {
        m.insert("binaryData".into(), b.clone());
    }
    let mut encoded = String::new();
    go_json(&Value::Object(m), &mut encoded);
    let digest = sha2::Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// base64 as kyaml writes Secret data: wrapped at 70 columns once it is longer.
fn encode_base64(bytes: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// The key/value pairs of one generator entry, in kustomize's order: env files, literals, files.
fn pairs(
    tree: &dyn Tree,
    dir: &str,
    file: &str,
    entry: &Value,
) -> Result<Vec<(String, Vec<u8>)>, KustomizeError> {
    let strings = |k: &str| -> Vec<String> {
        entry
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let err = |field: &str, message: String| KustomizeError::field(file, field, message);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut envs = strings("envs");
    if let Some(e) = entry.get("env").and_then(Value::as_str) {
        envs.push(e.to_string());
    }
    for env in envs {
        let path = super::load_path(dir, &env).map_err(|e| err("envs", e))?;
        let text = tree.read(&path).map_err(|e| err("envs", e.to_string()))?;
        let text =
            String::from_utf8(text).map_err(|e| err("envs", format!("{path}: not UTF-8: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for line in text.lines() {
            // As kustomize reads them: the key as written (after leading
            // space), the value as written, quotes and all; a line with no
            // `=` is a key with an empty value.
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            out.push((k.to_string(), v.as_bytes().to_vec()));
        }
    }
    for lit in strings("literals") {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(err("literals", format!("{lit:?} is not KEY=VALUE")));
        };
        out.push((k.to_string(), unquote(v).as_bytes().to_vec()));
    }
    for f in strings("files") {
        let (key, rel) = match f.split('=').collect::<Vec<_>>().as_slice() {
            [_] => (
                f.trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(&f)
                    .to_string(),
                f.clone(),
            ),
            [k, p] if !k.is_empty() && !p.is_empty() => (k.to_string(), p.to_string()),
            _ => {
                return Err(err(
                    "files",
                    format!(
                    "{f:?}: expected a path or KEY=path (key names and paths cannot contain '=')"
                ),
                ))
            }
        };
        let path = super::load_path(dir, &rel).map_err(|e| err("files", e))?;
        let bytes = tree.read(&path).map_err(|e| err("files", e.to_string()))?;
        out.push((key, bytes));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &out {
        if !seen.insert(k.clone()) {
            return Err(err("literals", format!("key {k:?} is given twice")));
        }
    }
    Ok(out)
}

/// Builds the objects of one `configMapGenerator` or `secretGenerator` entry.
pub fn generate(
    tree: &dyn Tree,
    dir: &str,
    file: &str,
    kind: &str,
    entry: &Value,
    options: &Value,
) -> Result<Res, KustomizeError> {
    let name = entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        return Err(KustomizeError::field(
            file,
            &format!("{}Generator", kind_field(kind)),
            "an entry has no name".into(),
        ));
    }
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in pairs(tree, dir, file, entry)? {
        if kind == "Secret" {
            data.insert(k, json!(encode_base64(&v)));
        } else {
            match String::from_utf8(v) {
                Ok(s) => data.insert(k, json!(s)),
                Err(e) => binary.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(e.into_bytes())),
                ),
            };
        }
    }
    let entry_options = entry.get("options").cloned().unwrap_or(json!({}));
    let merged_map = |k: &str| -> Map<String, Value> {
        let mut m = options
            .get(k)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(e) = entry_options.get(k).and_then(Value::as_object) {
            m.extend(e.clone());
        }
        m
    };
    let mut meta = Map::new();
    meta.insert("name".into(), json!(name));
    if let Some(ns) = entry.get("namespace").and_then(Value::as_str) {
        meta.insert("namespace".into(), json!(ns));
    }
    let labels = merged_map("labels");
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    let annotations = merged_map("annotations");
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(kind));
    obj.insert("metadata".into(), Value::Object(meta));
    // kustomize writes a Secret's data even when empty, a ConfigMap's only when not.
    if !data.is_empty() || kind == "Secret" {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if kind == "Secret" {
        obj.insert(
            "type".into(),
            entry.get("type").cloned().unwrap_or(json!("Opaque")),
        );
    }
    let flag = |k: &str| {
        entry_options
            .get(k)
            .or_else(|| options.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if flag("immutable") {
        obj.insert("immutable".into(), json!(true));
    }
    let mut res = Res::new(Value::Object(obj));
    res.hash_suffix = !flag("disableNameSuffixHash");
    Ok(res)
}

fn kind_field(kind: &str) -> &'static str {
    if kind == "Secret" {
        "secret"
    } else {
        "configMap"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_escapes_like_go() {
        let mut s = String::new();
        go_json(&json!({"b": "<a&b>", "a": "\u{8}"}), &mut s);
        assert_eq!(s, r#"{"a":"\u0008","b":"\u003ca\u0026b\u003e"}"#);
        assert_eq!(encode_base64(b"x"), "eA==");
        assert!(encode_base64(&[b'x'; 60]).contains('\n'));
    }
}
