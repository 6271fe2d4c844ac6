//! Sprig's type conversions: `atoi`, `int`, `int64`, `float64` (through
//! spf13/cast), `toString`, `toDecimal` (octal text to a number).

use super::{strval, to_float64, to_int64};
use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::fmt::sprint_value;
use crate::render::gotemplate::{Exec, FnError, Func, Value};

pub const TABLE: &[(&str, Func)] = &[
    ("atoi", atoi),
    ("int", int),
    ("int64", int64),
    ("float64", float64),
    ("toString", to_string),
    ("toDecimal", to_decimal),
];

type R = Result<Value, FnError>;

/// Go's `strconv.Atoi` (decimal only; an error reads as 0).
fn atoi(_: &mut Exec, a: &[Value]) -> R {
    count("atoi", a, 1)?;
    Ok(Value::int(string(a, 0)?.parse().unwrap_or(0)))
}

fn int(_: &mut Exec, a: &[Value]) -> R {
    count("int", a, 1)?;
    Ok(Value::int(to_int64(&a[0])))
}

fn int64(_: &mut Exec, a: &[Value]) -> R {
    count("int64", a, 1)?;
    Ok(Value::int64(to_int64(&a[0])))
}

fn float64(_: &mut Exec, a: &[Value]) -> R {
    count("float64", a, 1)?;
    Ok(Value::Float(to_float64(&a[0])))
}

fn to_string(_: &mut Exec, a: &[Value]) -> R {
    count("toString", a, 1)?;
    Ok(Value::str(&strval(&a[0])))
}

fn to_decimal(_: &mut Exec, a: &[Value]) -> R {
    count("toDecimal", a, 1)?;
    let text = sprint_value(&a[0]);
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let v = i64::from_str_radix(body, 8).unwrap_or(0);
    Ok(Value::int64(if neg { -v } else { v }))
}
