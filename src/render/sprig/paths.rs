//! Sprig's path functions: Go's `path` (`base`, `dir`, `clean`, `ext`,
//! `isAbs`) and, on Linux where skiff runs, the same for `filepath`
//! (`osBase`, …).

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};

pub const TABLE: &[(&str, Func)] = &[
    ("base", base),
    ("dir", dir),
    ("clean", clean),
    ("ext", ext),
    ("isAbs", is_abs),
    ("osBase", base),
    ("osDir", dir),
    ("osClean", clean),
    ("osExt", ext),
    ("osIsAbs", is_abs),
];

type R = Result<Value, FnError>;

/// Go's `path.Clean`: one slash between elements, `.` dropped, `..`
/// resolved lexically, `.` for nothing.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn one(name: &str, a: &[Value], f: fn(&str) -> Value) -> R {
    count(name, a, 1)?;
    Ok(f(string(a, 0)?))
}

fn base(_: &mut Exec, a: &[Value]) -> R {
    one("base", a, |p| {
        if p.is_empty() {
            return Value::str(".");
        }
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            return Value::str("/");
        }
        Value::str(t.rsplit('/').next().unwrap_or(t))
    })
}

fn dir(_: &mut Exec, a: &[Value]) -> R {
    one("dir", a, |p| {
        let d = match p.rfind('/') {
            Some(i) => &p[..=i],
            None => "",
        };
        Value::str(&clean_path(d))
    })
}

fn clean(_: &mut Exec, a: &[Value]) -> R {
    one("clean", a, |p| Value::str(&clean_path(p)))
}

fn ext(_: &mut Exec, a: &[Value]) -> R {
    one("ext", a, |p| {
        for (i, c) in p.char_indices().rev() {
            match c {
                '/' => break,
                '.' => return Value::str(&p[i..]),
                _ => {}
            }
        }
        Value::str("")
    })
}

fn is_abs(_: &mut Exec, a: &[Value]) -> R {
    one("isAbs", a, |p| Value::Bool(p.starts_with('/')))
}
