//! Sprig's `semver` and `semverCompare`, with Masterminds/semver v3's
//! reading of versions (a `v`, a missing minor or patch) and of
//! constraints (`=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, wildcards,
//! hyphen ranges, `,` or spaces for and, `||` for or; a pre-release
//! version matches only a comparator that names a pre-release).

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::{Exec, FnError, Func, Object, Value};
use std::cmp::Ordering;
use std::rc::Rc;

pub const TABLE: &[(&str, Func)] = &[("semver", semver), ("semverCompare", semver_compare)];

type R = Result<Value, FnError>;

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

fn identifiers_ok(s: &str, numeric_leading_zero: bool) -> bool {
    s.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            && !(numeric_leading_zero
                && id.len() > 1
                && id.starts_with('0')
                && id.bytes().all(|c| c.is_ascii_digit()))
    })
}

impl Version {
    /// Masterminds' `NewVersion`.
    pub fn parse(s: &str) -> Option<Version> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, metadata) = body.split_once('+').unwrap_or((body, ""));
        let (core, pre) = body.split_once('-').unwrap_or((body, ""));
        if !metadata.is_empty() && !identifiers_ok(metadata, false) {
            return None;
        }
        if body.contains('+') || (!pre.is_empty() && !identifiers_ok(pre, true)) {
            return None;
        }
        if s.ends_with('-') || s.ends_with('+') {
            return None;
        }
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            nums[i] = p.parse().ok()?;
        }
        Some(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: s.to_string(),
        })
    }

    /// Semantic versioning's order (metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// A `*semver.Version` in a template: its methods read as fields.
impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        let u = |n: u64| Value::Uint(n, crate::render::gotemplate::UintType::Uint64);
        Some(match name {
            "Major" => u(self.major),
            "Minor" => u(self.minor),
            "Patch" => u(self.patch),
            "Prerelease" => Value::str(&self.pre),
            "Metadata" => Value::str(&self.metadata),
            "Original" => Value::str(&self.original),
            "String" => Value::str(&self.to_string()),
            _ => return None,
        })
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let other = |args: &[Value]| -> Result<Version, String> {
            match args {
                [Value::Object(o)] if o.type_name() == "*semver.Version" => {
                    let text = o
                        .field("Original")
                        .and_then(|v| v.as_str().map(String::from));
                    text.as_deref()
                        .and_then(Version::parse)
                        .ok_or_else(|| "not a version".to_string())
                }
                _ => Err("wrong type for value; expected *semver.Version".into()),
            }
        };
        Some(match name {
            "Compare" => other(args).map(|o| Value::int(self.compare(&o) as i64)),
            "LessThan" => other(args).map(|o| Value::Bool(self.compare(&o) == Ordering::Less)),
            "GreaterThan" => {
                other(args).map(|o| Value::Bool(self.compare(&o) == Ordering::Greater))
            }
            "Equal" => other(args).map(|o| Value::Bool(self.compare(&o) == Ordering::Equal)),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        self.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

/// One comparator: its version, and which parts were wildcards.
#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// Masterminds' `parseConstraint`: the first wildcard or missing part
/// (`x`, `X`, `*`) makes the comparator dirty from there.
fn comparator(op: Op, text: &str) -> Option<Comparator> {
    let body = text.strip_prefix('v').unwrap_or(text);
    let (core, rest) = match body.find(['-', '+']) {
        Some(i) => (&body[..i], &body[i..]),
        None => (body, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 {
        return None;
    }
    let wild = |i: usize| {
        parts
            .get(i)
            .is_none_or(|p| matches!(*p, "x" | "X" | "*" | ""))
    };
    let (text, minor_dirty, patch_dirty, dirty) = if wild(0) {
        (format!("0.0.0{rest}"), false, false, true)
    } else if wild(1) {
        (format!("{}.0.0{rest}", parts[0]), true, false, true)
    } else if wild(2) {
        (
            format!("{}.{}.0{rest}", parts[0], parts[1]),
            false,
            true,
            true,
        )
    } else {
        (format!("{core}{rest}"), false, false, false)
    };
    Some(Comparator {
        op,
        con: Version::parse(&text)?,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Comparator {
    /// Masterminds' `constraintTilde`.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) != Ordering::Equal;
        }
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        if c.major != v.major {
            return true;
        }
        if self.minor_dirty {
            return false;
        }
        if c.minor != v.minor {
            return true;
        }
        if c.patch != v.patch && !self.patch_dirty {
            return true;
        }
        if self.patch_dirty && (!v.pre.is_empty() || !c.pre.is_empty()) {
            return compare_pre(&v.pre, &c.pre) != Ordering::Equal;
        }
        false
    }

    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        // A pre-release matches only a comparator that names one (`!=`
        // decides for itself).
        if self.op != Op::Ne && !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        let cmp = v.compare(c);
        match self.op {
            Op::Eq if self.dirty => self.tilde(v),
            Op::Eq => cmp == Ordering::Equal,
            Op::Tilde => self.tilde(v),
            Op::Gt if !self.dirty => cmp == Ordering::Greater,
            Op::Gt => {
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                cmp == Ordering::Greater
            }
            Op::Lt => cmp == Ordering::Less,
            Op::Ge => cmp != Ordering::Less,
            Op::Le if !self.dirty => cmp != Ordering::Greater,
            Op::Le => {
                !(v.major > c.major || v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Caret => {
                if cmp == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
            Op::Ne => self.not_equal(v),
        }
    }
}

/// Masterminds' `NewConstraint`: alternatives of conjunctions.
fn constraints(text: &str) -> Option<Vec<Vec<Comparator>>> {
    let mut out = Vec::new();
    for group in text.split("||") {
        let group = group.trim();
        let mut comps = Vec::new();
        // A hyphen range `a - b` is `>= a, <= b`.
        let expanded = match group.split_once(" - ") {
            Some((a, b)) => format!(">={}, <={}", a.trim(), b.trim()),
            None => group.to_string(),
        };
        for piece in expanded.split(',') {
            let mut tokens = piece.split_whitespace().peekable();
            while let Some(tok) = tokens.next() {
                let ops = [
                    (">=", Op::Ge),
                    ("=>", Op::Ge),
                    ("<=", Op::Le),
                    ("=<", Op::Le),
                    ("!=", Op::Ne),
                    ("~>", Op::Tilde),
                    (">", Op::Gt),
                    ("<", Op::Lt),
                    ("=", Op::Eq),
                    ("~", Op::Tilde),
                    ("^", Op::Caret),
                ];
                let (op, rest) = ops
                    .iter()
                    .find_map(|(p, op)| tok.strip_prefix(p).map(|r| (*op, r)))
                    .unwrap_or((Op::Eq, tok));
                let version = if rest.is_empty() {
                    tokens.next()?
                } else {
                    rest
                };
                comps.push(comparator(op, version)?);
            }
        }
        if comps.is_empty() {
            // An empty constraint (or `*`) allows any release.
            comps.push(comparator(Op::Eq, "*")?);
        }
        out.push(comps);
    }
    Some(out)
}

fn semver(_: &mut Exec, a: &[Value]) -> R {
    count("semver", a, 1)?;
    let v =
        Version::parse(string(a, 0)?).ok_or(FnError::Call("invalid semantic version".into()))?;
    Ok(Value::Object(Rc::new(v)))
}

fn semver_compare(_: &mut Exec, a: &[Value]) -> R {
    count("semverCompare", a, 2)?;
    let (c, v) = (string(a, 0)?, string(a, 1)?);
    let groups = constraints(c).ok_or_else(|| {
        FnError::Call(format!(
            "improper constraint: {}",
            crate::render::gotemplate::parse::go_quote(c)
        ))
    })?;
    let v = Version::parse(v).ok_or(FnError::Call("invalid semantic version".into()))?;
    Ok(Value::Bool(
        groups.iter().any(|g| g.iter().all(|c| c.check(&v))),
    ))
}
