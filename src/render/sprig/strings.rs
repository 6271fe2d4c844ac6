//! Sprig's string functions (`strings.go`, with goutils' and xstrings'
//! helpers): Go strings are bytes, so lengths and cuts (`trunc`, `substr`,
//! `abbrev`) count bytes as Go does.

use super::{strval, NIL_DEREF};
use crate::render::gotemplate::args::{count, int, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};
use std::collections::BTreeMap;

pub const TABLE: &[(&str, Func)] = &[
    ("hello", |_, _| Ok(Value::str("Hello!"))),
    ("abbrev", abbrev),
    ("abbrevboth", abbrevboth),
    ("trunc", trunc),
    ("trim", trim),
    ("upper", upper),
    ("lower", lower),
    ("title", title),
    ("untitle", untitle),
    ("substr", substr),
    ("repeat", repeat),
    ("trimall", trim_all),
    ("trimAll", trim_all),
    ("trimSuffix", trim_suffix),
    ("trimPrefix", trim_prefix),
    ("nospace", nospace),
    ("initials", initials),
    ("swapcase", swapcase),
    ("snakecase", snakecase),
    ("camelcase", camelcase),
    ("kebabcase", kebabcase),
    ("wrap", wrap),
    ("wrapWith", wrap_with),
    ("contains", contains),
    ("hasPrefix", has_prefix),
    ("hasSuffix", has_suffix),
    ("quote", quote),
    ("squote", squote),
    ("cat", cat),
    ("indent", indent),
    ("nindent", nindent),
    ("replace", replace),
    ("plural", plural),
    ("split", split),
    ("splitList", split_list),
    ("splitn", splitn),
    ("toStrings", to_strings),
    ("join", join),
    ("sortAlpha", sort_alpha),
];

type R = Result<Value, FnError>;

/// A string cut at byte offsets, as Go slices it (a cut inside a
/// character keeps what UTF-8 allows).
fn cut(s: &str, a: usize, b: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned()
}

fn one_string(name: &str, args: &[Value], f: fn(&str) -> String) -> R {
    count(name, args, 1)?;
    Ok(Value::str(&f(string(args, 0)?)))
}

/// Go's `unicode.ToUpper` on one rune: a simple mapping, never two runes.
fn upper_rune(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn lower_rune(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn trim(_: &mut Exec, a: &[Value]) -> R {
    one_string("trim", a, |s| s.trim().to_string())
}

fn upper(_: &mut Exec, a: &[Value]) -> R {
    one_string("upper", a, |s| s.chars().map(upper_rune).collect())
}

fn lower(_: &mut Exec, a: &[Value]) -> R {
    one_string("lower", a, |s| s.chars().map(lower_rune).collect())
}

/// Go's `strings.Title`: a letter after a separator is upper-cased.
fn title(_: &mut Exec, a: &[Value]) -> R {
    one_string("title", a, |s| {
        let separator = |c: char| {
            if c.is_ascii() {
                !(c.is_ascii_alphanumeric() || c == '_')
            } else {
                c.is_whitespace()
            }
        };
        let mut prev = ' ';
        s.chars()
            .map(|c| {
                let out = if separator(prev) { upper_rune(c) } else { c };
                prev = c;
                out
            })
            .collect()
    })
}

/// goutils' `Uncapitalize`: the first letter of each whitespace-separated word lowered.
fn untitle(_: &mut Exec, a: &[Value]) -> R {
    one_string("untitle", a, |s| {
        let mut prev_space = true;
        s.chars()
            .map(|c| {
                let out = if prev_space { lower_rune(c) } else { c };
                prev_space = c.is_whitespace();
                out
            })
            .collect()
    })
}

fn nospace(_: &mut Exec, a: &[Value]) -> R {
    one_string("nospace", a, |s| {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    })
}

fn initials(_: &mut Exec, a: &[Value]) -> R {
    one_string("initials", a, |s| {
        s.split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect()
    })
}

/// goutils' `SwapCase`: upper to lower, lower to upper.
fn swapcase(_: &mut Exec, a: &[Value]) -> R {
    one_string("swapcase", a, |s| {
        s.chars()
            .map(|c| {
                if c.is_uppercase() {
                    lower_rune(c)
                } else if c.is_lowercase() {
                    upper_rune(c)
                } else {
                    c
                }
            })
            .collect()
    })
}

/// Words as xstrings splits them for its case conversions: runs of
/// letters and digits, a new word at a lower-to-upper step and before the
/// last capital of a run of capitals followed by a lower letter.
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some(&p) = i.checked_sub(1).and_then(|j| chars.get(j)) {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower);
            if boundary && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn joined_lower(s: &str, sep: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.chars().map(lower_rune).collect::<String>())
        .collect::<Vec<_>>()
        .join(sep)
}

fn snakecase(_: &mut Exec, a: &[Value]) -> R {
    one_string("snakecase", a, |s| joined_lower(s, "_"))
}

fn kebabcase(_: &mut Exec, a: &[Value]) -> R {
    one_string("kebabcase", a, |s| joined_lower(s, "-"))
}

/// xstrings' `ToPascalCase`: `_`, `-`, `.` and spaces drop out and the
/// letter after them is upper-cased, as is the first.
fn camelcase(_: &mut Exec, a: &[Value]) -> R {
    one_string("camelcase", a, |s| {
        let mut out = String::new();
        let mut up = true;
        for c in s.chars() {
            if matches!(c, '_' | '-' | '.' | ' ') {
                up = true;
                continue;
            }
            if up {
                out.push(upper_rune(c));
                up = false;
            } else {
                out.push(c);
            }
        }
        out
    })
}

fn trunc(_: &mut Exec, a: &[Value]) -> R {
    count("trunc", a, 2)?;
    let (c, s) = (int(a, 0)?, string(a, 1)?);
    let len = s.len() as i64;
    Ok(Value::str(&if c < 0 && len + c > 0 {
        cut(s, (len + c) as usize, s.len())
    } else if c >= 0 && len > c {
        cut(s, 0, c as usize)
    } else {
        s.to_string()
    }))
}

/// goutils' `AbbreviateFull`.
fn abbreviate(s: &str, offset: i64, width: i64) -> Option<String> {
    let len = s.len() as i64;
    if s.is_empty() {
        return Some(String::new());
    }
    if width < 4 {
        return None;
    }
    if len <= width {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        return Some(format!("{}...", cut(s, 0, (width - 3) as usize)));
    }
    if width < 7 {
        return None;
    }
    if offset + width - 3 < len {
        let rest = cut(s, offset as usize, s.len());
        return Some(format!("...{}", abbreviate(&rest, 0, width - 3)?));
    }
    Some(format!(
        "...{}",
        cut(s, (len - (width - 3)) as usize, s.len())
    ))
}

fn abbrev(_: &mut Exec, a: &[Value]) -> R {
    count("abbrev", a, 2)?;
    let (w, s) = (int(a, 0)?, string(a, 1)?);
    if w < 4 {
        return Ok(Value::str(s));
    }
    Ok(Value::str(&abbreviate(s, 0, w).unwrap_or_default()))
}

fn abbrevboth(_: &mut Exec, a: &[Value]) -> R {
    count("abbrevboth", a, 3)?;
    let (l, r, s) = (int(a, 0)?, int(a, 1)?, string(a, 2)?);
    if r < 4 || l > 0 && r < 7 {
        return Ok(Value::str(s));
    }
    Ok(Value::str(&abbreviate(s, l, r).unwrap_or_default()))
}

fn substr(_: &mut Exec, a: &[Value]) -> R {
    count("substr", a, 3)?;
    let (start, end, s) = (int(a, 0)?, int(a, 1)?, string(a, 2)?);
    let len = s.len() as i64;
    let bounds = |x: i64, y: i64| -> Result<String, FnError> {
        if x < 0 || y < x || y > len {
            return Err(format!("runtime error: slice bounds out of range [{x}:{y}]").into());
        }
        Ok(cut(s, x as usize, y as usize))
    };
    let out = if start < 0 {
        bounds(0, end)?
    } else if end < 0 || end > len {
        bounds(start, len)?
    } else {
        bounds(start, end)?
    };
    Ok(Value::str(&out))
}

fn repeat(e: &mut Exec, a: &[Value]) -> R {
    count("repeat", a, 2)?;
    let (n, s) = (int(a, 0)?, string(a, 1)?);
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    // A repetition is output in waiting: it is held to the output limit.
    if (s.len() as u128) * (n as u128) > e.limits.output as u128 {
        return Err(format!(
            "the result would be {} bytes, over the limit of {} bytes",
            s.len() as u128 * n as u128,
            e.limits.output
        )
        .into());
    }
    Ok(Value::str(&s.repeat(n as usize)))
}

fn trim_all(_: &mut Exec, a: &[Value]) -> R {
    count("trimAll", a, 2)?;
    let (cut_set, s) = (string(a, 0)?, string(a, 1)?);
    Ok(Value::str(s.trim_matches(|c| cut_set.contains(c))))
}

fn trim_suffix(_: &mut Exec, a: &[Value]) -> R {
    count("trimSuffix", a, 2)?;
    let (x, s) = (string(a, 0)?, string(a, 1)?);
    Ok(Value::str(s.strip_suffix(x).unwrap_or(s)))
}

fn trim_prefix(_: &mut Exec, a: &[Value]) -> R {
    count("trimPrefix", a, 2)?;
    let (x, s) = (string(a, 0)?, string(a, 1)?);
    Ok(Value::str(s.strip_prefix(x).unwrap_or(s)))
}

/// goutils' `WrapCustom` (Apache Commons' `WordUtils.wrap`).
fn wrap_custom(s: &str, width: i64, sep: &str, long_words: bool) -> String {
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let mut out = String::new();
    let mut offset = 0;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let window = &s.as_bytes()[offset..=offset + width];
        match window.iter().rposition(|&c| c == b' ') {
            Some(p) if p > 0 => {
                out.push_str(&cut(s, offset, offset + p));
                out.push_str(sep);
                offset += p + 1;
            }
            _ => {
                if long_words {
                    out.push_str(&cut(s, offset, offset + width));
                    out.push_str(sep);
                    offset += width;
                } else {
                    match s.as_bytes()[offset + width..]
                        .iter()
                        .position(|&c| c == b' ')
                    {
                        Some(p) => {
                            let end = offset + width + p;
                            out.push_str(&cut(s, offset, end));
                            out.push_str(sep);
                            offset = end + 1;
                        }
                        None => {
                            out.push_str(&cut(s, offset, b.len()));
                            offset = b.len();
                        }
                    }
                }
            }
        }
    }
    out.push_str(&cut(s, offset, b.len()));
    out
}

fn wrap(_: &mut Exec, a: &[Value]) -> R {
    count("wrap", a, 2)?;
    let (w, s) = (int(a, 0)?, string(a, 1)?);
    Ok(Value::str(&wrap_custom(s, w, "\n", false)))
}

fn wrap_with(_: &mut Exec, a: &[Value]) -> R {
    count("wrapWith", a, 3)?;
    let (w, sep, s) = (int(a, 0)?, string(a, 1)?, string(a, 2)?);
    Ok(Value::str(&wrap_custom(s, w, sep, true)))
}

fn two_strings(name: &str, a: &[Value], f: fn(&str, &str) -> bool) -> R {
    count(name, a, 2)?;
    Ok(Value::Bool(f(string(a, 1)?, string(a, 0)?)))
}

fn contains(_: &mut Exec, a: &[Value]) -> R {
    two_strings("contains", a, |s, sub| s.contains(sub))
}

fn has_prefix(_: &mut Exec, a: &[Value]) -> R {
    two_strings("hasPrefix", a, |s, p| s.starts_with(p))
}

fn has_suffix(_: &mut Exec, a: &[Value]) -> R {
    two_strings("hasSuffix", a, |s, p| s.ends_with(p))
}

fn quote(_: &mut Exec, a: &[Value]) -> R {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| crate::render::gotemplate::parse::go_quote(&strval(v)))
        .collect();
    Ok(Value::str(&parts.join(" ")))
}

fn squote(_: &mut Exec, a: &[Value]) -> R {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| format!("'{}'", crate::render::gotemplate::fmt::sprint_value(v)))
        .collect();
    Ok(Value::str(&parts.join(" ")))
}

fn cat(_: &mut Exec, a: &[Value]) -> R {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(crate::render::gotemplate::fmt::sprint_value)
        .collect();
    Ok(Value::str(&parts.join(" ")))
}

fn indent_by(n: i64, s: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    format!("{pad}{}", s.replace('\n', &format!("\n{pad}")))
}

fn indent(_: &mut Exec, a: &[Value]) -> R {
    count("indent", a, 2)?;
    Ok(Value::str(&indent_by(int(a, 0)?, string(a, 1)?)))
}

fn nindent(_: &mut Exec, a: &[Value]) -> R {
    count("nindent", a, 2)?;
    Ok(Value::str(&format!(
        "\n{}",
        indent_by(int(a, 0)?, string(a, 1)?)
    )))
}

fn replace(_: &mut Exec, a: &[Value]) -> R {
    count("replace", a, 3)?;
    let (old, new, s) = (string(a, 0)?, string(a, 1)?, string(a, 2)?);
    if old.is_empty() {
        // Go inserts `new` before every rune and at the end.
        let mut out = String::new();
        for c in s.chars() {
            out.push_str(new);
            out.push(c);
        }
        out.push_str(new);
        return Ok(Value::str(&out));
    }
    Ok(Value::str(&s.replace(old, new)))
}

fn plural(_: &mut Exec, a: &[Value]) -> R {
    count("plural", a, 3)?;
    let (one, many, n) = (string(a, 0)?, string(a, 1)?, int(a, 2)?);
    Ok(Value::str(if n == 1 { one } else { many }))
}

/// Go's `strings.Split` (an empty separator splits into runes).
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let mut head: Vec<String> = chars[..n as usize - 1].to_vec();
            head.push(chars[n as usize - 1..].concat());
            return head;
        }
        return chars;
    }
    if n < 0 {
        return s.split(sep).map(String::from).collect();
    }
    s.splitn(n as usize, sep).map(String::from).collect()
}

fn indexed(parts: Vec<String>) -> Value {
    let map: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(&p)))
        .collect();
    Value::map(map)
}

fn split(_: &mut Exec, a: &[Value]) -> R {
    count("split", a, 2)?;
    Ok(indexed(go_split(string(a, 1)?, string(a, 0)?, -1)))
}

fn splitn(_: &mut Exec, a: &[Value]) -> R {
    count("splitn", a, 3)?;
    Ok(indexed(go_split(string(a, 2)?, string(a, 0)?, int(a, 1)?)))
}

fn split_list(_: &mut Exec, a: &[Value]) -> R {
    count("splitList", a, 2)?;
    Ok(Value::strings(go_split(string(a, 1)?, string(a, 0)?, -1)))
}

/// Sprig's `strslice`: the non-nil elements of a list as text; one value
/// as a list of one; nil as none.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l, _) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        v => vec![strval(v)],
    }
}

fn to_strings(_: &mut Exec, a: &[Value]) -> R {
    count("toStrings", a, 1)?;
    Ok(Value::strings(strslice(&a[0])))
}

fn join(_: &mut Exec, a: &[Value]) -> R {
    count("join", a, 2)?;
    let sep = string(a, 0)?;
    Ok(Value::str(&strslice(&a[1]).join(sep)))
}

fn sort_alpha(_: &mut Exec, a: &[Value]) -> R {
    count("sortAlpha", a, 1)?;
    match &a[0] {
        Value::List(..) | Value::Bytes(_) => {
            let mut v = strslice(&a[0]);
            v.sort();
            Ok(Value::strings(v))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        v => Ok(Value::strings(vec![strval(v)])),
    }
}
