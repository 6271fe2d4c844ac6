//! The functions `text/template` itself defines (`funcs.go`): `not`, `len`,
//! `index`, `slice`, the comparisons with Go's rules (`eq` with several
//! arguments; `int` against `float64` is an error), `print`, `printf`,
//! `println`, and the `html`, `js` and `urlquery` escapers. `and` and `or`
//! short-circuit, so the executor runs them itself.

use super::exec::{Exec, FnError};
use super::fmt::{sprint, sprintf, sprintln};
use super::value::Value;
use super::Func;
use std::cmp::Ordering;

pub const TABLE: &[(&str, Func)] = &[
    ("not", not),
    ("len", len),
    ("index", index),
    ("slice", slice),
    ("eq", eq),
    ("ne", ne),
    ("lt", lt),
    ("le", le),
    ("gt", gt),
    ("ge", ge),
    ("print", print),
    ("printf", printf),
    ("println", println),
    ("html", html),
    ("js", js),
    ("urlquery", urlquery),
    ("call", call),
];

type R = Result<Value, FnError>;

/// Go's arity error (an execution error, not wrapped as a call's).
pub fn want(name: &str, args: &[Value], n: usize) -> Result<(), FnError> {
    if args.len() != n {
        return Err(FnError::Exec(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

pub fn want_at_least(name: &str, args: &[Value], n: usize) -> Result<(), FnError> {
    if args.len() < n {
        return Err(FnError::Exec(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn not(_: &mut Exec, args: &[Value]) -> R {
    want("not", args, 1)?;
    Ok(Value::Bool(!args[0].truth()))
}

fn len(_: &mut Exec, args: &[Value]) -> R {
    want("len", args, 1)?;
    let n = match &args[0] {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(l, _) => l.len(),
        Value::Map(m) => m.borrow().len(),
        Value::Object(o) if o.elements().is_some() => o.elements().map_or(0, |e| e.len()),
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name()).into()),
    };
    Ok(Value::int(n as i64))
}

/// An index argument as Go's `indexArg` reads it.
fn index_arg(v: &Value, cap: usize) -> Result<usize, String> {
    let x = match v {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as usize > cap {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(_: &mut Exec, args: &[Value]) -> R {
    want_at_least("index", args, 1)?;
    let mut item = args[0].clone();
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for ix in &args[1..] {
        item = match &item {
            Value::List(l, _) => {
                let i = index_arg(ix, l.len())?;
                if i == l.len() {
                    return Err(format!("index out of range: {i}").into());
                }
                l[i].clone()
            }
            Value::String(s) => {
                let i = index_arg(ix, s.len())?;
                if i == s.len() {
                    return Err(format!("index out of range: {i}").into());
                }
                Value::Uint(s.as_bytes()[i] as u64, super::value::UintType::Uint8)
            }
            Value::Bytes(b) => {
                let i = index_arg(ix, b.len())?;
                if i == b.len() {
                    return Err(format!("index out of range: {i}").into());
                }
                Value::Uint(b[i] as u64, super::value::UintType::Uint8)
            }
            Value::Map(m) => match ix {
                Value::String(k) => m.borrow().get(&**k).cloned().unwrap_or(Value::Nil),
                Value::Nil => Value::Nil,
                other => {
                    return Err(
                        format!("value has type {}; should be string", other.type_name()).into(),
                    )
                }
            },
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name()).into()),
        };
    }
    Ok(item)
}

fn slice(_: &mut Exec, args: &[Value]) -> R {
    want_at_least("slice", args, 1)?;
    let item = &args[0];
    let idx = &args[1..];
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()).into());
    }
    let len = match item {
        Value::String(s) => s.len(),
        Value::List(l, _) => l.len(),
        Value::Bytes(b) => b.len(),
        Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name()).into()),
    };
    if matches!(item, Value::String(_)) && idx.len() == 3 {
        return Err("cannot 3-index slice a string".into());
    }
    let mut bounds = [0, len, len];
    for (i, v) in idx.iter().enumerate() {
        bounds[i] = index_arg(v, len)?;
    }
    if idx.len() < 2 {
        bounds[1] = len;
    }
    if bounds[0] > bounds[1] {
        return Err(format!("invalid slice index: {} > {}", bounds[0], bounds[1]).into());
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!("invalid slice index: {} > {}", bounds[1], bounds[2]).into());
    }
    let (a, b) = (bounds[0], bounds[1]);
    Ok(match item {
        Value::String(s) => {
            let bytes = &s.as_bytes()[a..b];
            Value::str(&String::from_utf8_lossy(bytes))
        }
        Value::List(l, t) => Value::List(std::rc::Rc::new(l[a..b].to_vec()), *t),
        Value::Bytes(bs) => Value::Bytes(bs[a..b].into()),
        _ => Value::Nil,
    })
}

/// Go's `basicKind` classes for comparison.
#[derive(PartialEq, Clone, Copy, Debug)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Invalid,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(..) => Kind::Int,
        Value::Uint(..) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        Value::Nil => Kind::Invalid,
        _ => Kind::Other,
    }
}

fn incompatible(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Whether two values are equal under Go's `eq`.
pub fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 != k2 {
        return match (a, b) {
            (Value::Int(i, _), Value::Uint(u, _)) | (Value::Uint(u, _), Value::Int(i, _)) => {
                Ok(*i >= 0 && *i as u64 == *u)
            }
            _ if k1 == Kind::Invalid || k2 == Kind::Invalid => Ok(false),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, _), Value::Int(y, _)) => x == y,
        (Value::Uint(x, _), Value::Uint(y, _)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (Value::Map(_), _) | (Value::List(..), _) | (Value::Bytes(_), _) => {
            if a.type_name() != b.type_name() {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    sprintf("%s", std::slice::from_ref(a)),
                    a.type_name(),
                    b.type_name(),
                    sprintf("%s", std::slice::from_ref(b))
                ));
            }
            return Err(format!(
                "non-comparable type {}: {}",
                sprintf("%s", std::slice::from_ref(b)),
                b.type_name()
            ));
        }
        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
        _ => false,
    })
}

fn eq(_: &mut Exec, args: &[Value]) -> R {
    want_at_least("eq", args, 1)?;
    if args.len() == 1 {
        return Err("missing argument for comparison".into());
    }
    for b in &args[1..] {
        if equal(&args[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(_: &mut Exec, args: &[Value]) -> R {
    want("ne", args, 2)?;
    Ok(Value::Bool(!equal(&args[0], &args[1])?))
}

/// Go's `lt` order of two values.
pub fn order(a: &Value, b: &Value) -> Result<Ordering, String> {
    let (k1, k2) = (kind(a), kind(b));
    let basic = |k: Kind| matches!(k, Kind::Int | Kind::Uint | Kind::Float | Kind::Str);
    if !basic(k1) || !basic(k2) {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    Ok(match (a, b) {
        (Value::Int(x, _), Value::Int(y, _)) => x.cmp(y),
        (Value::Uint(x, _), Value::Uint(y, _)) => x.cmp(y),
        (Value::Int(x, _), Value::Uint(y, _)) => (*x as i128).cmp(&(*y as i128)),
        (Value::Uint(x, _), Value::Int(y, _)) => (*x as i128).cmp(&(*y as i128)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Greater),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => return Err(incompatible(a, b)),
    })
}

fn compare(name: &str, args: &[Value], ok: fn(Ordering) -> bool) -> R {
    want(name, args, 2)?;
    Ok(Value::Bool(ok(order(&args[0], &args[1])?)))
}

fn lt(_: &mut Exec, args: &[Value]) -> R {
    compare("lt", args, |o| o == Ordering::Less)
}

fn le(_: &mut Exec, args: &[Value]) -> R {
    compare("le", args, |o| o != Ordering::Greater)
}

fn gt(_: &mut Exec, args: &[Value]) -> R {
    compare("gt", args, |o| o == Ordering::Greater)
}

fn ge(_: &mut Exec, args: &[Value]) -> R {
    compare("ge", args, |o| o != Ordering::Less)
}

fn print(_: &mut Exec, args: &[Value]) -> R {
    Ok(Value::str(&sprint(args)))
}

fn printf(_: &mut Exec, args: &[Value]) -> R {
    want_at_least("printf", args, 1)?;
    let Value::String(format) = &args[0] else {
        return Err(FnError::Arg {
            index: 0,
            want: "string",
        });
    };
    Ok(Value::str(&sprintf(format, &args[1..])))
}

fn println(_: &mut Exec, args: &[Value]) -> R {
    Ok(Value::str(&sprintln(args)))
}

/// The text the escapers work on: one string as it is, else `Sprint`.
fn escaper_text(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.to_string(),
        _ => sprint(args),
    }
}

fn html(_: &mut Exec, args: &[Value]) -> R {
    let mut out = String::new();
    for c in escaper_text(args).chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Ok(Value::str(&out))
}

fn js(_: &mut Exec, args: &[Value]) -> R {
    let mut out = String::new();
    for c in escaper_text(args).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    Ok(Value::str(&out))
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn urlquery(_: &mut Exec, args: &[Value]) -> R {
    Ok(Value::str(&query_escape(&escaper_text(args))))
}

fn call(_: &mut Exec, args: &[Value]) -> R {
    want_at_least("call", args, 1)?;
    Err(format!(
        "non-function of type {} cannot be called",
        args[0].type_name()
    )
    .into())
}
