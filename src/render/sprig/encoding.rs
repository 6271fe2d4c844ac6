//! Sprig's encodings: base64 and base32 (a decoding error is returned as
//! the text, as Sprig does), and Go's `encoding/json` for the JSON
//! functions (maps by sorted key, `<`, `>`, `&` escaped unless raw,
//! numbers as Go writes them).

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::fmt::strconv_shortest;
use crate::render::gotemplate::{Exec, FnError, Func, Value};
use base64::Engine;

pub const TABLE: &[(&str, Func)] = &[
    ("b64enc", b64enc),
    ("b64dec", b64dec),
    ("b32enc", b32enc),
    ("b32dec", b32dec),
];

type R = Result<Value, FnError>;

fn b64enc(_: &mut Exec, a: &[Value]) -> R {
    count("b64enc", a, 1)?;
    Ok(Value::str(
        &base64::engine::general_purpose::STANDARD.encode(string(a, 0)?),
    ))
}

fn b64dec(_: &mut Exec, a: &[Value]) -> R {
    count("b64dec", a, 1)?;
    let s = string(a, 0)?;
    Ok(Value::str(
        &match base64::engine::general_purpose::STANDARD.decode(s) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => base64_error(s),
        },
    ))
}

/// Go's `base64.CorruptInputError` text: the offset of the first bad byte.
fn base64_error(s: &str) -> String {
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let b = s.as_bytes();
    let pos = b
        .iter()
        .position(|&c| !alphabet(c) && c != b'=' && c != b'\n' && c != b'\r')
        .or_else(|| b.iter().position(|&c| c == b'=').filter(|p| p % 4 < 2))
        .unwrap_or_else(|| b.len() - b.len() % 4);
    format!("illegal base64 data at input byte {pos}")
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(_: &mut Exec, a: &[Value]) -> R {
    count("b32enc", a, 1)?;
    let data = string(a, 0)?.as_bytes();
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    Ok(Value::str(&out))
}

fn b32dec(_: &mut Exec, a: &[Value]) -> R {
    count("b32dec", a, 1)?;
    let s = string(a, 0)?;
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u64, 0);
    for (i, c) in s.bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let Some(v) = B32.iter().position(|&x| x == c) else {
            return Ok(Value::str(&format!(
                "illegal base32 data at input byte {i}"
            )));
        };
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(Value::str(&String::from_utf8_lossy(&out)))
}

/// Go's `json.Marshal` of a value (`indent` for `MarshalIndent(v, "", indent)`).
pub fn to_json(v: &Value, escape_html: bool, indent: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, escape_html, indent, 0)?;
    Ok(out)
}

/// A float as `encoding/json` writes it.
pub fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            strconv_shortest(f, 'g')
        ));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = strconv_shortest(f, 'e');
        // e-09 becomes e-9.
        return Ok(match s.find("e-0") {
            Some(i) => format!("{}e-{}", &s[..i], &s[i + 3..]),
            None => s,
        });
    }
    Ok(strconv_shortest(f, 'f'))
}

fn write_json(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), String> {
    if depth > crate::render::gotemplate::value::MAX_DEPTH {
        return Err(
            "json: unsupported value: encountered a cycle via map[string]interface {}".into(),
        );
    }
    if out.len() > crate::render::gotemplate::fmt::MAX_PRINT {
        return Err("json: the value is too large to write".into());
    }
    let newline = |out: &mut String, d: usize| {
        if let Some(i) = indent {
            out.push('\n');
            for _ in 0..d {
                out.push_str(i);
            }
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(&b.to_string()),
        Value::Int(i, _) => out.push_str(&i.to_string()),
        Value::Uint(u, _) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::String(s) => crate::render::gojson::write_string(out, s, html),
        Value::Bytes(b) => crate::render::gojson::write_string(
            out,
            &base64::engine::general_purpose::STANDARD.encode(b),
            html,
        ),
        Value::List(l, _) => {
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json(out, item, html, indent, depth + 1)?;
            }
            if !l.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                crate::render::gojson::write_string(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, item, html, indent, depth + 1)?;
            }
            if !m.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
        Value::Object(o) => crate::render::gojson::write_string(out, &o.display(), html),
    }
    Ok(())
}

/// `encoding/json` decoding into `interface{}`: numbers are `float64`.
pub fn from_json(text: &str) -> Result<Value, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| json_error(text, &e))?;
    Ok(Value::from_json(&v))
}

/// `encoding/json`'s words for a syntax error: the character it stopped
/// at and what it was looking for.
fn json_error(text: &str, e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    let at = text
        .lines()
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.chars().nth(e.column().saturating_sub(1)))
        .unwrap_or(' ');
    let message = e.to_string();
    let looking = [
        (
            "key must be a string",
            "looking for beginning of object key string",
        ),
        ("expected value", "looking for beginning of value"),
        ("expected ident", "looking for beginning of value"),
        ("expected `,` or `}`", "after object key:value pair"),
        ("expected `:`", "after object key"),
        ("expected `,` or `]`", "after array element"),
        ("trailing characters", "after top-level value"),
        ("trailing comma", "looking for beginning of value"),
    ]
    .iter()
    .find(|(serde, _)| message.contains(serde))
    .map_or("in string literal", |(_, go)| go);
    let quoted = match at {
        '\'' => "'\\''".to_string(),
        c => format!("'{c}'"),
    };
    format!("invalid character {quoted} {looking}")
}
