//! Sprig's list functions (`list.go`) and integer ranges (`until`,
//! `untilStep`, `seq`). A list function given something that is not a list
//! fails as Sprig's does (`Cannot push on type string`); the `must` forms
//! fail the same way, both spellings reaching Go as an error of the call.

use super::{empty, to_int64, NIL_DEREF};
use crate::render::gotemplate::args::{at_least, count, int};
use crate::render::gotemplate::{Exec, FnError, Func, ListType, Value};
use std::rc::Rc;

pub const TABLE: &[(&str, Func)] = &[
    ("list", list),
    ("tuple", list),
    ("append", push),
    ("push", push),
    ("mustAppend", push),
    ("mustPush", push),
    ("prepend", prepend),
    ("mustPrepend", prepend),
    ("first", first),
    ("mustFirst", first),
    ("rest", rest),
    ("mustRest", rest),
    ("last", last),
    ("mustLast", last),
    ("initial", initial),
    ("mustInitial", initial),
    ("reverse", reverse),
    ("mustReverse", reverse),
    ("uniq", uniq),
    ("mustUniq", uniq),
    ("without", without),
    ("mustWithout", without),
    ("has", has),
    ("mustHas", has),
    ("compact", compact),
    ("mustCompact", compact),
    ("slice", slice),
    ("mustSlice", slice),
    ("concat", concat),
    ("chunk", chunk),
    ("mustChunk", chunk),
    ("until", until),
    ("untilStep", until_step),
    ("seq", seq),
];

type R = Result<Value, FnError>;

/// The most elements a generated range may have: `until 100000000` is a
/// resource bomb, not a chart.
pub const MAX_RANGE: i64 = 1_000_000;

fn any(items: Vec<Value>) -> Value {
    Value::List(Rc::new(items), ListType::Any)
}

/// The elements of a list argument, or Sprig's error naming the kind.
fn items(v: &Value, what: &str) -> Result<Vec<Value>, FnError> {
    match v {
        Value::List(l, _) => Ok(l.to_vec()),
        Value::Bytes(b) => Ok(b
            .iter()
            .map(|x| Value::Uint(*x as u64, crate::render::gotemplate::UintType::Uint8))
            .collect()),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot {what} on type {}", other.kind_name()).into()),
    }
}

fn list(_: &mut Exec, a: &[Value]) -> R {
    Ok(any(a.to_vec()))
}

fn push(_: &mut Exec, a: &[Value]) -> R {
    count("append", a, 2)?;
    let mut l = items(&a[0], "push")?;
    l.push(a[1].clone());
    Ok(any(l))
}

fn prepend(_: &mut Exec, a: &[Value]) -> R {
    count("prepend", a, 2)?;
    let mut l = items(&a[0], "prepend")?;
    l.insert(0, a[1].clone());
    Ok(any(l))
}

fn first(_: &mut Exec, a: &[Value]) -> R {
    count("first", a, 1)?;
    Ok(items(&a[0], "find first")?
        .into_iter()
        .next()
        .unwrap_or(Value::Nil))
}

fn last(_: &mut Exec, a: &[Value]) -> R {
    count("last", a, 1)?;
    Ok(items(&a[0], "find last")?.pop().unwrap_or(Value::Nil))
}

fn rest(_: &mut Exec, a: &[Value]) -> R {
    count("rest", a, 1)?;
    let l = items(&a[0], "find rest")?;
    if l.is_empty() {
        // A nil `[]interface {}`: it prints `[]`.
        return Ok(any(Vec::new()));
    }
    Ok(any(l[1..].to_vec()))
}

fn initial(_: &mut Exec, a: &[Value]) -> R {
    count("initial", a, 1)?;
    let l = items(&a[0], "find initial")?;
    if l.is_empty() {
        return Ok(any(Vec::new()));
    }
    Ok(any(l[..l.len() - 1].to_vec()))
}

fn reverse(_: &mut Exec, a: &[Value]) -> R {
    count("reverse", a, 1)?;
    let mut l = items(&a[0], "find reverse")?;
    l.reverse();
    Ok(any(l))
}

fn uniq(_: &mut Exec, a: &[Value]) -> R {
    count("uniq", a, 1)?;
    let mut out: Vec<Value> = Vec::new();
    for v in items(&a[0], "find uniq")? {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(any(out))
}

fn without(_: &mut Exec, a: &[Value]) -> R {
    at_least("without", a, 1)?;
    let omit = &a[1..];
    let l = items(&a[0], "find without")?;
    Ok(any(l.into_iter().filter(|v| !omit.contains(v)).collect()))
}

fn has(_: &mut Exec, a: &[Value]) -> R {
    count("has", a, 2)?;
    let l = items(&a[1], "find has")?;
    Ok(Value::Bool(l.contains(&a[0])))
}

fn compact(_: &mut Exec, a: &[Value]) -> R {
    count("compact", a, 1)?;
    let l = items(&a[0], "compact")?;
    Ok(any(l.into_iter().filter(|v| !empty(v)).collect()))
}

fn slice(_: &mut Exec, a: &[Value]) -> R {
    at_least("slice", a, 1)?;
    let (l, t) = match &a[0] {
        Value::List(l, t) => (l.clone(), *t),
        Value::Nil => return Err(NIL_DEREF.into()),
        other => {
            return Err(format!(
                "list should be type of slice or array but {}",
                other.kind_name()
            )
            .into())
        }
    };
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, to_int64);
    let end = a.get(2).map_or(l.len() as i64, to_int64);
    if start < 0 || end < start || end as usize > l.len() {
        return Err("reflect.Value.Slice: slice index out of bounds".into());
    }
    Ok(Value::List(
        Rc::new(l[start as usize..end as usize].to_vec()),
        t,
    ))
}

fn concat(_: &mut Exec, a: &[Value]) -> R {
    let mut out = Vec::new();
    for v in a {
        match v {
            Value::List(l, _) => out.extend(l.iter().cloned()),
            Value::Nil => return Err(NIL_DEREF.into()),
            other => return Err(format!("Cannot concat type {} as list", other.kind_name()).into()),
        }
    }
    Ok(any(out))
}

fn chunk(_: &mut Exec, a: &[Value]) -> R {
    count("chunk", a, 2)?;
    let size = int(a, 0)?;
    let l = items(&a[1], "chunk")?;
    if size <= 0 {
        return Err("runtime error: integer divide by zero".into());
    }
    Ok(any(l
        .chunks(size as usize)
        .map(|c| any(c.to_vec()))
        .collect()))
}

/// Sprig's `untilStep`, held to [`MAX_RANGE`] elements.
pub fn until_step_values(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FnError> {
    let mut v = Vec::new();
    let mut push = |i: i64| -> Result<(), FnError> {
        if v.len() as i64 >= MAX_RANGE {
            return Err(format!("the range would have more than {MAX_RANGE} elements").into());
        }
        v.push(i);
        Ok(())
    };
    if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        let mut i = start;
        while i > stop {
            push(i)?;
            i += step;
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(Vec::new());
    }
    let mut i = start;
    while i < stop {
        push(i)?;
        i += step;
    }
    Ok(v)
}

fn ints(v: Vec<i64>) -> Value {
    Value::List(
        Rc::new(v.into_iter().map(Value::int).collect()),
        ListType::Int,
    )
}

fn until(_: &mut Exec, a: &[Value]) -> R {
    count("until", a, 1)?;
    let n = int(a, 0)?;
    let step = if n < 0 { -1 } else { 1 };
    Ok(ints(until_step_values(0, n, step)?))
}

fn until_step(_: &mut Exec, a: &[Value]) -> R {
    count("untilStep", a, 3)?;
    Ok(ints(until_step_values(int(a, 0)?, int(a, 1)?, int(a, 2)?)?))
}

fn seq(_: &mut Exec, a: &[Value]) -> R {
    let mut p = Vec::new();
    for i in 0..a.len() {
        p.push(int(a, i)?);
    }
    let values = match p.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step_values(1, end + inc, inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step_values(*start, end + step, step)?
        }
        [start, step, end] => {
            let inc = if end < start { -1 } else { 1 };
            if end < start && *step > 0 {
                Vec::new()
            } else {
                until_step_values(*start, end + inc, *step)?
            }
        }
        _ => Vec::new(),
    };
    let text: Vec<String> = values.iter().map(i64::to_string).collect();
    Ok(Value::str(&text.join(" ")))
}
