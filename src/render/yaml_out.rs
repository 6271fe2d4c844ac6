//! YAML output in the style kubectl and kustomize print: block maps and
//! lists (list items at the key's indentation), keys in the objects' order,
//! strings quoted only when a plain scalar would read back as something else.

use super::yaml::resolve_plain;
use serde_json::Value;

/// Appends `value` as one YAML document (`---` separated by the caller).
pub fn write_document(value: &Value, out: &mut String) {
    match value {
        Value::Object(m) if !m.is_empty() => write_map(m, 0, out),
        Value::Array(a) if !a.is_empty() => write_list(a, 0, out),
        other => {
            out.push_str(&scalar(other, 0, 0));
            out.push('\n');
        }
    }
}

/// Several documents separated by `---`, as `kubectl kustomize` prints them.
pub fn write_stream(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_document(v, &mut out);
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_map(map: &serde_json::Map<String, Value>, level: usize, out: &mut String) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str(&key(k));
        out.push(':');
        write_value_after_key(v, level, out);
    }
}

fn write_value_after_key(v: &Value, level: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            indent(out, level + 2);
            write_map(m, level + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            indent(out, level);
            write_list(a, level, out);
        }
        other => {
            out.push(' ');
            let col = column(out);
            out.push_str(&scalar(other, level + 2, col));
            out.push('\n');
        }
    }
}

fn write_list(items: &[Value], level: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(m, level + 2, out),
            Value::Array(a) if !a.is_empty() => write_list(a, level + 2, out),
            other => {
                let col = column(out);
                out.push_str(&scalar(other, level + 2, col));
                out.push('\n');
            }
        }
    }
}

fn key(k: &str) -> String {
    match plain_safe(k) {
        true => k.to_string(),
        false => quoted(k),
    }
}

/// The column `out` ends at (where the next scalar starts).
fn column(out: &str) -> usize {
    out[out.rfind('\n').map_or(0, |i| i + 1)..].chars().count()
}

/// A scalar that starts at `column`; continuation lines are indented by `level`.
fn scalar(v: &Value, level: usize, column: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => go_float(f),
            _ => n.to_string(),
        },
        Value::String(s)
            if s.contains('\n') && !s.contains('\r') && !s.trim_end_matches('\n').is_empty() =>
        {
            block(s, level)
        }
        Value::String(s) if plain_safe(s) => fold(s, level, column, false),
        // A string that would read back as another type: double quotes, as go-yaml.
        Value::String(s) if !matches!(resolve_plain(s), Value::String(_)) => quoted(s),
        Value::String(s) if single_quotable(s) => {
            format!(
                "'{}'",
                fold(&s.replace('\'', "''"), level, column + 1, true)
            )
        }
        Value::String(s) => quoted(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// go-yaml's line folding of plain and single-quoted scalars: past column 80,
/// a single space between words becomes a line break.
fn fold(s: &str, level: usize, start: usize, quoted: bool) -> String {
    const WIDTH: usize = 80;
    if start + s.chars().count() <= WIDTH || !s.contains(' ') {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 16);
    let mut col = start;
    let mut after_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_is_space = chars.get(i + 1) == Some(&' ');
            let inner = !quoted || (i > 0 && i + 1 < chars.len());
            if !after_space && col > WIDTH && !next_is_space && inner {
                out.push('\n');
                out.push_str(&" ".repeat(level));
                col = level;
            } else {
                out.push(c);
                col += 1;
            }
            after_space = true;
        } else {
            out.push(c);
            col += 1;
            after_space = false;
        }
    }
    out
}

/// Whether go-yaml can write the string single-quoted: printable, one line.
fn single_quotable(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}')
}

/// A float as Go's `strconv.FormatFloat(f, 'g', -1, 64)` writes it (how
/// go-yaml prints floats): shortest digits, exponent form below 1e-4 and from 1e6.
fn go_float(f: f64) -> String {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// A literal block scalar, keeping the text exactly (`|`, `|-` or `|+`).
fn block(s: &str, level: usize) -> String {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let needs_indicator = body.starts_with(' ');
    let mut out = format!("|{}{}\n", if needs_indicator { "2" } else { "" }, chomp);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            out.push_str(&" ".repeat(level));
            out.push_str(line);
        }
    }
    // The final newline of the document comes from the caller.
    while out.ends_with('\n') {
        out.pop();
    }
    if trailing > 1 {
        for _ in 1..trailing {
            out.push('\n');
        }
    }
    out
}

fn plain_safe(s: &str) -> bool {
    if s.is_empty() || !matches!(resolve_plain(s), Value::String(_)) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(first == '-' && s.len() > 1 && !s.starts_with("- ") && s != "---")
    {
        return false;
    }
    if s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
    {
        return false;
    }
    s.chars().all(|c| !c.is_control())
}

fn quoted(s: &str) -> String {
    // JSON string syntax is valid double-quoted YAML.
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse_documents;
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_the_reader() {
        let v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "true"}},
            "data": {"mode": "0644", "empty": "", "script": "echo hi\nexit 0\n", "no-newline": "a\nb",
                     "colon": "a: b", "dash": "-x", "list": "- a", "on": "on", "num": 420, "spaces": " x "},
            "spec": {"items": [{"name": "a", "ports": [80, 443]}, "plain", {"k": []}], "empty": {}}});
        let mut out = String::new();
        write_document(&v, &mut out);
        assert_eq!(parse_documents(&out).unwrap(), vec![v], "{out}");
        assert!(out.contains("  mode: \"0644\"\n"), "{out}");
        assert!(out.contains("- name: a\n"), "{out}");
    }
}
