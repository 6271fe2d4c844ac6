//! Sprig's dictionary functions (`dict.go`): dicts are Go maps, shared by
//! reference, so `set`, `unset` and `merge` change the dict every name of
//! it sees (Helm charts rely on `$_ := set .Values "x" 1`). `merge` and
//! `mergeOverwrite` follow mergo, which Sprig calls.

use super::{empty, strval, NIL_DEREF};
use crate::render::gotemplate::args::{at_least, count, map, string};
use crate::render::gotemplate::{Exec, FnError, Func, Map, MapType, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

pub const TABLE: &[(&str, Func)] = &[
    ("dict", dict),
    ("get", get),
    ("set", set),
    ("unset", unset),
    ("hasKey", has_key),
    ("pluck", pluck),
    ("keys", keys),
    ("pick", pick),
    ("omit", omit),
    ("values", values),
    ("merge", merge),
    ("mustMerge", merge),
    ("mergeOverwrite", merge_overwrite),
    ("mustMergeOverwrite", merge_overwrite),
    ("deepCopy", deep_copy),
    ("mustDeepCopy", deep_copy),
    ("dig", dig),
];

type R = Result<Value, FnError>;

fn dict(_: &mut Exec, a: &[Value]) -> R {
    let mut m = BTreeMap::new();
    for pair in a.chunks(2) {
        let key = strval(&pair[0]);
        m.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
    }
    Ok(Value::map(m))
}

fn get(e: &mut Exec, a: &[Value]) -> R {
    count("get", a, 2)?;
    let (d, k) = (map(e, a, 0)?, string(a, 1)?);
    Ok(d.and_then(|d| d.borrow().get(k).cloned())
        .unwrap_or_else(|| Value::str("")))
}

fn set(e: &mut Exec, a: &[Value]) -> R {
    count("set", a, 3)?;
    let (d, k) = (map(e, a, 0)?, string(a, 1)?);
    let Some(d) = d else {
        return Err("assignment to entry in nil map".into());
    };
    d.borrow_mut().insert(k.to_string(), a[2].clone());
    Ok(Value::Map(d.clone()))
}

fn unset(e: &mut Exec, a: &[Value]) -> R {
    count("unset", a, 2)?;
    let (d, k) = (map(e, a, 0)?, string(a, 1)?);
    match d {
        Some(d) => {
            d.borrow_mut().remove(k);
            Ok(Value::Map(d.clone()))
        }
        None => Ok(Value::Nil),
    }
}

fn has_key(e: &mut Exec, a: &[Value]) -> R {
    count("hasKey", a, 2)?;
    let (d, k) = (map(e, a, 0)?, string(a, 1)?);
    Ok(Value::Bool(d.is_some_and(|d| d.borrow().contains_key(k))))
}

/// The dicts of a variadic `...map[string]interface{}` parameter from `from`.
fn maps(e: &Exec, a: &[Value], from: usize) -> Result<Vec<Option<Map>>, FnError> {
    (from..a.len())
        .map(|i| map(e, a, i).map(|m| m.cloned()))
        .collect()
}

fn pluck(e: &mut Exec, a: &[Value]) -> R {
    at_least("pluck", a, 1)?;
    let k = string(a, 0)?;
    let out: Vec<Value> = maps(e, a, 1)?
        .into_iter()
        .flatten()
        .filter_map(|d| d.borrow().get(k).cloned())
        .collect();
    Ok(Value::list(out))
}

/// Go ranges over a map in random order; skiff's order is the keys'.
fn keys(e: &mut Exec, a: &[Value]) -> R {
    let mut out = Vec::new();
    for d in maps(e, a, 0)?.into_iter().flatten() {
        out.extend(d.borrow().keys().cloned());
    }
    Ok(Value::strings(out))
}

fn values(e: &mut Exec, a: &[Value]) -> R {
    count("values", a, 1)?;
    let d = map(e, a, 0)?;
    Ok(Value::list(
        d.map(|d| d.borrow().values().cloned().collect())
            .unwrap_or_default(),
    ))
}

fn pick(e: &mut Exec, a: &[Value]) -> R {
    at_least("pick", a, 1)?;
    let d = map(e, a, 0)?.cloned();
    let mut out = BTreeMap::new();
    for i in 1..a.len() {
        let k = string(a, i)?;
        if let Some(v) = d.as_ref().and_then(|d| d.borrow().get(k).cloned()) {
            out.insert(k.to_string(), v);
        }
    }
    Ok(Value::map(out))
}

fn omit(e: &mut Exec, a: &[Value]) -> R {
    at_least("omit", a, 1)?;
    let d = map(e, a, 0)?.cloned();
    let mut drop = Vec::new();
    for i in 1..a.len() {
        drop.push(string(a, i)?);
    }
    let out = d
        .map(|d| {
            d.borrow()
                .iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::map(out))
}

/// mergo's deep merge of `src` into `dst` (maps): a key `dst` lacks or
/// holds an empty value takes `src`'s; nested maps merge; with
/// `overwrite`, `src`'s value wins unless it is an empty list or map
/// (a nil value overwrites).
fn merge_into(dst: &Map, src: &Map, overwrite: bool, depth: usize) -> Result<(), String> {
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    if depth > crate::render::gotemplate::value::MAX_DEPTH {
        return Err("maps nested too deep (one holds itself?)".into());
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, s) in entries {
        let d = dst.borrow().get(&key).cloned();
        match (&s, &d) {
            (Value::Nil, _) => {
                if overwrite {
                    dst.borrow_mut().insert(key, Value::Nil);
                }
                continue;
            }
            (Value::Map(sm), Some(Value::Map(dm))) => {
                merge_into(dm, sm, overwrite, depth + 1)?;
                if !empty(&Value::Map(dm.clone())) {
                    continue;
                }
            }
            (Value::Map(_), Some(other)) if !empty(other) => {
                return Err("src and dst must be of same type".into());
            }
            (Value::List(..), Some(dv)) => {
                let take = (!empty(&s)) && (overwrite || empty(dv));
                if take {
                    dst.borrow_mut().insert(key.clone(), s.clone());
                }
                if !empty(dv) {
                    continue;
                }
                if !take {
                    continue;
                }
            }
            _ => {}
        }
        let take = overwrite || d.as_ref().is_none_or(empty);
        if take {
            dst.borrow_mut().insert(key, s);
        }
    }
    Ok(())
}

fn merge_all(e: &Exec, a: &[Value], overwrite: bool) -> R {
    at_least("merge", a, 1)?;
    let Some(dst) = map(e, a, 0)?.cloned() else {
        return Err(NIL_DEREF.into());
    };
    for src in maps(e, a, 1)?.into_iter().flatten() {
        if merge_into(&dst, &src, overwrite, 0).is_err() {
            // Sprig swallows mergo's errors inside a template.
            return Ok(Value::str(""));
        }
    }
    Ok(Value::Map(dst))
}

fn merge(e: &mut Exec, a: &[Value]) -> R {
    merge_all(e, a, false)
}

fn merge_overwrite(e: &mut Exec, a: &[Value]) -> R {
    merge_all(e, a, true)
}

/// The most values one `deepCopy` makes (a dict shared at every level of
/// a deep nesting doubles at each).
const MAX_COPY: usize = 10_000_000;

/// A copy sharing nothing with the original; `made` counts the values.
pub fn deep(v: &Value, depth: usize, made: &mut usize) -> Result<Value, FnError> {
    *made += 1;
    if depth > crate::render::gotemplate::value::MAX_DEPTH || *made > MAX_COPY {
        return Err(
            "the value is nested too deep or too large to copy (does a dict hold itself?)".into(),
        );
    }
    Ok(match v {
        Value::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m.borrow().iter() {
                out.insert(k.clone(), deep(v, depth + 1, made)?);
            }
            Value::map(out)
        }
        Value::List(l, t) => Value::List(
            Rc::new(
                l.iter()
                    .map(|x| deep(x, depth + 1, made))
                    .collect::<Result<_, _>>()?,
            ),
            *t,
        ),
        other => other.clone(),
    })
}

fn deep_copy(_: &mut Exec, a: &[Value]) -> R {
    count("deepCopy", a, 1)?;
    deep(&a[0], 0, &mut 0)
}

fn dig(_: &mut Exec, a: &[Value]) -> R {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    // Sprig asserts the type: a named map (Helm's `.Values`) is refused.
    let not_a_dict = |v: &Value| -> FnError {
        format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            v.type_name()
        )
        .into()
    };
    let mut d = match &a[a.len() - 1] {
        Value::Map(m) if m.kind == MapType::Any => m.clone(),
        other => return Err(not_a_dict(other)),
    };
    let default = a[a.len() - 2].clone();
    let keys = &a[..a.len() - 2];
    for (i, k) in keys.iter().enumerate() {
        let Value::String(k) = k else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not string",
                k.type_name()
            )
            .into());
        };
        let step = d.borrow().get(&**k).cloned();
        let Some(step) = step else {
            return Ok(default);
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        d = match step {
            Value::Map(m) if m.kind == MapType::Any => m,
            other => return Err(not_a_dict(&other)),
        };
    }
    Ok(default)
}

#[cfg(test)]
mod tests {
    use crate::render::sprig::tests::run;

    #[test]
    fn a_dict_that_holds_itself_stops_instead_of_recursing_forever() {
        let t = r#"{{ $d := dict "k" 1 }}{{ $_ := set $d "self" $d }}{{ $d }}"#;
        assert_eq!(run(t).unwrap(), "map[k:1 self:...]");
        let e = run(&format!("{t}{{{{ toJson $d }}}}")).unwrap();
        assert!(
            e.ends_with("map[k:1 self:...]"),
            "toJson of a cycle writes nothing"
        );
        let e =
            run(r#"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ deepCopy $d }}"#).unwrap_err();
        assert!(e.contains("too deep or too large to copy"), "{e}");
        // Shared at every level, the text doubles each time: bounded, not hung.
        let doubling = r#"{{ $d := dict }}{{ range until 40 }}{{ $d = dict "a" $d "b" $d }}{{ end }}{{ len (toString $d) }}"#;
        let n: usize = run(doubling).unwrap().parse().unwrap();
        assert!(n <= crate::render::gotemplate::fmt::MAX_PRINT + 1024, "{n}");
    }
}
