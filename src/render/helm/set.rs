//! The values `helm template` takes on its command line: `--values` files
//! merged in order (later wins, tables merged), then `--set` (Helm's
//! strvals: `a.b=c,list[0]=x,names={a,b}`; `true`, `false`, `null` and
//! integers typed), `--set-string` (always text) and `--set-file` (a
//! file's text).

use serde_json::{Map, Value};

/// Helm's `mergeMaps`: `over` into `base`, tables merged, the rest replaced.
pub fn merge(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// strvals' `typedVal`: what a `--set` value is (floats stay text).
fn typed(text: &str) -> Value {
    match text.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Null,
        _ => {}
    }
    if text == "0" {
        return Value::from(0);
    }
    if !text.starts_with('0') {
        if let Ok(i) = text.parse::<i64>() {
            return Value::from(i);
        }
    }
    Value::String(text.to_string())
}

/// Splits at `sep` where it is not escaped with `\` (and, for commas, not
/// inside `{…}`); escapes are kept for the next reader.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut escaped, mut depth) = (false, 0);
    for c in s.chars() {
        if escaped {
            out.last_mut().unwrap().push('\\');
            out.last_mut().unwrap().push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '{' if sep == ',' => {
                depth += 1;
                out.last_mut().unwrap().push(c);
            }
            '}' if sep == ',' && depth > 0 => {
                depth -= 1;
                out.last_mut().unwrap().push(c);
            }
            c if c == sep && depth == 0 => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One step of a key path: a name, or a list index after it.
enum Step {
    Key(String),
    Index(usize),
}

fn steps(key: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for part in split_unescaped(key, '.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part.as_str(), ""),
        };
        if !name.is_empty() {
            out.push(Step::Key(unescape(name)));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("key {key:?} has no matching ]"))?;
            let i: usize = r[..end]
                .parse()
                .map_err(|_| format!("key {key:?}: {:?} is not a list index", &r[..end]))?;
            if i > 65536 {
                return Err(format!("key {key:?}: index {i} is over the limit of 65536"));
            }
            out.push(Step::Index(i));
            rest = &r[end + 1..];
        }
    }
    if out.is_empty() {
        return Err(format!("key {key:?} is empty"));
    }
    Ok(out)
}

fn place(target: &mut Value, path: &[Step], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *target = value;
        return;
    };
    match first {
        Step::Key(k) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let slot = target
                .as_object_mut()
                .expect("made an object above")
                .entry(k.clone())
                .or_insert(Value::Null);
            place(slot, rest, value);
        }
        Step::Index(i) => {
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            let list = target.as_array_mut().expect("made a list above");
            while list.len() <= *i {
                list.push(Value::Null);
            }
            place(&mut list[*i], rest, value);
        }
    }
}

/// Applies one `--set` (typed) or `--set-string` expression to `values`.
pub fn apply_set(values: &mut Value, expr: &str, typed_values: bool) -> Result<(), String> {
    for assignment in split_unescaped(expr, ',') {
        if assignment.is_empty() {
            continue;
        }
        let parts = split_unescaped(&assignment, '=');
        if parts.len() < 2 {
            return Err(format!("key {:?} has no value", unescape(&parts[0])));
        }
        let raw = parts[1..].join("=");
        let value = if let Some(list) = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            Value::Array(
                split_unescaped(list, ',')
                    .iter()
                    .map(|x| {
                        if typed_values {
                            typed(&unescape(x))
                        } else {
                            Value::String(unescape(x))
                        }
                    })
                    .collect(),
            )
        } else if typed_values {
            typed(&unescape(&raw))
        } else {
            Value::String(unescape(&raw))
        };
        place(values, &steps(&parts[0])?, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_expressions_read_as_helms_strvals() {
        let mut v = json!({"image": {"tag": "1.0", "repo": "x"}});
        apply_set(
            &mut v,
            "image.tag=2.0,replicas=3,debug=true,gone=null,hosts={a.example.com,b},ports[1]=443",
            true,
        )
        .unwrap();
        assert_eq!(v["image"], json!({"tag": "2.0", "repo": "x"}));
        assert_eq!(v["replicas"], json!(3));
        assert_eq!(v["debug"], json!(true));
        assert_eq!(v["gone"], Value::Null);
        assert_eq!(v["hosts"], json!(["a.example.com", "b"]));
        assert_eq!(v["ports"], json!([null, 443]));
        apply_set(
            &mut v,
            "annotations.example\\.com/team=web,version=010",
            true,
        )
        .unwrap();
        assert_eq!(v["annotations"]["example.com/team"], "web");
        assert_eq!(v["version"], "010", "a leading zero keeps the text");
        apply_set(&mut v, "replicas=3", false).unwrap();
        assert_eq!(v["replicas"], "3");
        assert!(apply_set(&mut v, "novalue", true).is_err());
        let mut base = json!({"a": {"b": 1, "c": 2}}).as_object().unwrap().clone();
        merge(
            &mut base,
            json!({"a": {"c": 3}, "d": 4}).as_object().unwrap().clone(),
        );
        assert_eq!(Value::Object(base), json!({"a": {"b": 1, "c": 3}, "d": 4}));
    }
}
