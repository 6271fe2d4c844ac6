//! Arguments as a Go function's typed parameters receive them: a `string`
//! parameter takes only a string, an `int` only an `int` (a `float64` from
//! values is Go's "wrong type for value"), a map parameter a map or nil.
//! The errors are [`FnError::Arg`], which the executor words as Go does.

use super::exec::{Exec, FnError};
use super::value::{IntType, Map, Value};

/// Go's arity error for a function of `n` parameters.
pub fn count(name: &str, args: &[Value], n: usize) -> Result<(), FnError> {
    super::builtins::want(name, args, n)
}

/// At least `n` arguments (a variadic function's fixed ones).
pub fn at_least(name: &str, args: &[Value], n: usize) -> Result<(), FnError> {
    super::builtins::want_at_least(name, args, n)
}

pub fn string(args: &[Value], index: usize) -> Result<&str, FnError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(FnError::Arg {
            index,
            want: "string",
        }),
    }
}

pub fn int(args: &[Value], index: usize) -> Result<i64, FnError> {
    match args.get(index) {
        Some(Value::Int(i, IntType::Int)) => Ok(*i),
        _ => Err(FnError::Arg { index, want: "int" }),
    }
}

pub fn boolean(args: &[Value], index: usize) -> Result<bool, FnError> {
    match args.get(index) {
        Some(Value::Bool(b)) => Ok(*b),
        _ => Err(FnError::Arg {
            index,
            want: "bool",
        }),
    }
}

/// A `map[string]interface {}` parameter: None for a nil map. A nil read
/// out of a map is an `interface {}` Go does not convert (an error); `nil`
/// itself, or no value, is a nil map.
pub fn map<'a>(e: &Exec, args: &'a [Value], index: usize) -> Result<Option<&'a Map>, FnError> {
    match args.get(index) {
        // A named map type over it is assignable; `map[string]string` is not.
        Some(Value::Map(m)) if m.kind != super::value::MapType::Strings => Ok(Some(m)),
        Some(Value::Nil) if !e.is_boxed_nil(index) => Ok(None),
        _ => Err(FnError::Arg {
            index,
            want: "map[string]interface {}",
        }),
    }
}

/// A `[]interface {}` parameter (a `[]string` is not one): None for nil,
/// as for [`map`].
pub fn list<'a>(e: &Exec, args: &'a [Value], index: usize) -> Result<Option<&'a [Value]>, FnError> {
    match args.get(index) {
        Some(Value::List(l, super::value::ListType::Any)) => Ok(Some(l)),
        Some(Value::Nil) if !e.is_boxed_nil(index) => Ok(None),
        _ => Err(FnError::Arg {
            index,
            want: "[]interface {}",
        }),
    }
}
