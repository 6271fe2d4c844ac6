//! Sprig v3's template functions (the set Helm ships), on the Go template
//! engine of `render/gotemplate`: one file per family, as Sprig keeps them,
//! and one table here that names them all. A new function is a function
//! in its family's file and an entry in that file's `TABLE`.
//!
//! The conversions every family shares are Sprig's own (`strval`, and
//! spf13/cast's `ToInt64`/`ToFloat64` that `add`, `int` … use).

pub mod conversion;
pub mod crypto;
pub mod dates;
pub mod defaults;
pub mod dicts;
pub mod encoding;
pub mod lists;
pub mod numeric;
pub mod os;
pub mod paths;
pub mod random;
pub mod reflection;
pub mod regex;
pub mod semver;
pub mod strings;
pub mod urls;

use crate::render::gotemplate::{fmt::sprint_value, Func, Funcs, Value};

/// Every family's table.
const FAMILIES: &[&[(&str, Func)]] = &[
    strings::TABLE,
    lists::TABLE,
    dicts::TABLE,
    numeric::TABLE,
    conversion::TABLE,
    defaults::TABLE,
    reflection::TABLE,
    paths::TABLE,
    encoding::TABLE,
    regex::TABLE,
    crypto::TABLE,
    random::TABLE,
    os::TABLE,
    semver::TABLE,
    urls::TABLE,
    dates::TABLE,
];

/// text/template's functions with Sprig's over them (Sprig's `slice`
/// replaces Go's, as in Helm).
pub fn funcs() -> Funcs {
    let mut f = Funcs::builtin();
    for table in FAMILIES {
        f.extend(table);
    }
    f
}

/// Sprig's `strval`: a string as it is, anything else as `%v` prints it.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        v => sprint_value(v),
    }
}

/// spf13/cast's `ToInt64`: numbers truncated, numeric strings parsed (Go's
/// base prefixes), booleans 1 or 0, anything else 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => *b as i64,
        Value::String(s) => parse_int(s).unwrap_or(0),
        _ => 0,
    }
}

/// `strconv.ParseInt(s, 0, 0)` after cast trims a zero decimal part.
fn parse_int(s: &str) -> Option<i64> {
    let s = trim_zero_decimal(s);
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = body.replace('_', "");
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        lower.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// cast's `trimZeroDecimal`: `12.000` is `12`; `12.` and `12.5` stay.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return &s[..i],
            b'.' => return s,
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// spf13/cast's `ToFloat64`.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i, _) => *i as f64,
        Value::Uint(u, _) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: the zero value of its type.
pub fn empty(v: &Value) -> bool {
    !v.truth()
}

/// What Go reports when Sprig calls a method on the type of nil.
pub const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::gotemplate::Set;

    /// Renders `text` with Sprig's functions and no data.
    pub fn run(text: &str) -> Result<String, String> {
        let funcs = funcs();
        let mut set = Set::default();
        set.parse("t", text, &funcs).map_err(|e| e.message)?;
        set.render("t", &Value::Nil, &funcs).map_err(|e| e.message)
    }

    #[test]
    fn casts_read_numbers_as_spf13_cast_does() {
        assert_eq!(to_int64(&Value::str("0x1F")), 31);
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::str("12.0")), 12);
        assert_eq!(to_int64(&Value::str("abc")), 0);
        assert_eq!(to_int64(&Value::Float(3.9)), 3);
        assert_eq!(to_float64(&Value::str("2.5")), 2.5);
    }
}
