//! Sprig's reflection: `typeOf` (Go's `%T`), `kindOf` (its `reflect.Kind`),
//! `typeIs`, `typeIsLike` (the type or a pointer to it), `kindIs`,
//! `deepEqual`.

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};

pub const TABLE: &[(&str, Func)] = &[
    ("typeOf", type_of),
    ("typeIs", type_is),
    ("typeIsLike", type_is_like),
    ("kindOf", kind_of),
    ("kindIs", kind_is),
    ("deepEqual", deep_equal),
];

type R = Result<Value, FnError>;

fn type_of(_: &mut Exec, a: &[Value]) -> R {
    count("typeOf", a, 1)?;
    Ok(Value::str(&a[0].type_name()))
}

fn kind_of(_: &mut Exec, a: &[Value]) -> R {
    count("kindOf", a, 1)?;
    Ok(Value::str(a[0].kind_name()))
}

fn type_is(_: &mut Exec, a: &[Value]) -> R {
    count("typeIs", a, 2)?;
    Ok(Value::Bool(string(a, 0)? == a[1].type_name()))
}

fn type_is_like(_: &mut Exec, a: &[Value]) -> R {
    count("typeIsLike", a, 2)?;
    let (want, t) = (string(a, 0)?, a[1].type_name());
    Ok(Value::Bool(want == t || format!("*{want}") == t))
}

fn kind_is(_: &mut Exec, a: &[Value]) -> R {
    count("kindIs", a, 2)?;
    Ok(Value::Bool(string(a, 0)? == a[1].kind_name()))
}

fn deep_equal(_: &mut Exec, a: &[Value]) -> R {
    count("deepEqual", a, 2)?;
    Ok(Value::Bool(a[0] == a[1]))
}
