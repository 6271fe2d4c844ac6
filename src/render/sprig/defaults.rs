//! Sprig's defaults and flow: `default`, `empty`, `coalesce`, `all`, `any`,
//! `ternary`, `fail`, and the JSON functions Sprig groups with them.

use super::empty;
use super::encoding::{from_json, to_json};
use crate::render::gotemplate::args::{at_least, boolean, count, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};

pub const TABLE: &[(&str, Func)] = &[
    ("default", default),
    ("empty", is_empty),
    ("coalesce", coalesce),
    ("all", all),
    ("any", any),
    ("ternary", ternary),
    ("fail", fail),
    ("fromJson", from_json_lenient),
    ("mustFromJson", must_from_json),
    ("toJson", |_, a| json(a, true, None, false)),
    ("mustToJson", |_, a| json(a, true, None, true)),
    ("toPrettyJson", |_, a| json(a, true, Some("  "), false)),
    ("mustToPrettyJson", |_, a| json(a, true, Some("  "), true)),
    ("toRawJson", |_, a| json(a, false, None, false)),
    ("mustToRawJson", |_, a| json(a, false, None, true)),
];

type R = Result<Value, FnError>;

fn default(_: &mut Exec, a: &[Value]) -> R {
    at_least("default", a, 1)?;
    match a.get(1) {
        Some(given) if !empty(given) => Ok(given.clone()),
        _ => Ok(a[0].clone()),
    }
}

fn is_empty(_: &mut Exec, a: &[Value]) -> R {
    count("empty", a, 1)?;
    Ok(Value::Bool(empty(&a[0])))
}

fn coalesce(_: &mut Exec, a: &[Value]) -> R {
    Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
}

fn all(_: &mut Exec, a: &[Value]) -> R {
    Ok(Value::Bool(a.iter().all(|v| !empty(v))))
}

fn any(_: &mut Exec, a: &[Value]) -> R {
    Ok(Value::Bool(a.iter().any(|v| !empty(v))))
}

fn ternary(_: &mut Exec, a: &[Value]) -> R {
    count("ternary", a, 3)?;
    Ok(if boolean(a, 2)? {
        a[0].clone()
    } else {
        a[1].clone()
    })
}

fn fail(_: &mut Exec, a: &[Value]) -> R {
    count("fail", a, 1)?;
    Err(FnError::Call(string(a, 0)?.to_string()))
}

fn from_json_lenient(_: &mut Exec, a: &[Value]) -> R {
    count("fromJson", a, 1)?;
    Ok(from_json(string(a, 0)?).unwrap_or(Value::Nil))
}

fn must_from_json(_: &mut Exec, a: &[Value]) -> R {
    count("mustFromJson", a, 1)?;
    from_json(string(a, 0)?).map_err(FnError::Call)
}

fn json(a: &[Value], html: bool, indent: Option<&str>, must: bool) -> R {
    count("toJson", a, 1)?;
    match to_json(&a[0], html, indent) {
        Ok(s) => Ok(Value::str(&s)),
        Err(e) if must => Err(FnError::Call(e)),
        Err(_) => Ok(Value::str("")),
    }
}
