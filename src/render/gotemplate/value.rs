//! The values a template works on, typed as Go types them: what Helm hands
//! a template is `map[string]interface{}` of `float64`, `string`, `bool`,
//! `[]interface{}`; functions return `int`, `int64`, `[]string`, … and a
//! template can tell them apart (`printf "%T"`, `kindOf`, `eq` refusing to
//! compare `int` with `float64`), so the type travels with the value.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// Go's integer types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntType {
    Int,
    Int8,
    Int16,
    Int32,
    Int64,
}

impl IntType {
    /// The Go type's name (also its `reflect.Kind`).
    pub fn name(self) -> &'static str {
        match self {
            IntType::Int => "int",
            IntType::Int8 => "int8",
            IntType::Int16 => "int16",
            IntType::Int32 => "int32",
            IntType::Int64 => "int64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UintType {
    Uint,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
}

impl UintType {
    /// The Go type's name (also its `reflect.Kind`).
    pub fn name(self) -> &'static str {
        match self {
            UintType::Uint => "uint",
            UintType::Uint8 => "uint8",
            UintType::Uint16 => "uint16",
            UintType::Uint32 => "uint32",
            UintType::Uint64 => "uint64",
        }
    }
}

/// The element type of a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// `[]interface {}`
    Any,
    /// `[]string`
    Str,
    /// `[]int`
    Int,
}

/// How deep a walk over a value goes (printing, JSON, copies, equality).
/// A map can come to hold itself (`set $d "self" $d`): Go would recurse
/// until its stack limit kills the process; skiff stops here.
pub const MAX_DEPTH: usize = 200;

/// A Go map: shared, as Go's maps are references (`set` on a dict is seen
/// through every name it has).
pub type Map = Rc<MapCell>;

/// Which Go map type a map is: what `typeOf` says, and what a function
/// that asserts `map[string]interface {}` (Sprig's `dig`) refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// `map[string]interface {}`
    Any,
    /// A named type over `map[string]interface {}` (Helm's `common.Values`).
    Named(&'static str),
    /// `map[string]string`
    Strings,
}

/// A map's entries and its Go type.
#[derive(Debug)]
pub struct MapCell {
    entries: RefCell<BTreeMap<String, Value>>,
    pub kind: MapType,
}

impl MapCell {
    pub fn borrow(&self) -> std::cell::Ref<'_, BTreeMap<String, Value>> {
        self.entries.borrow()
    }

    pub fn borrow_mut(&self) -> std::cell::RefMut<'_, BTreeMap<String, Value>> {
        self.entries.borrow_mut()
    }
}

/// A Go struct or pointer a template can read: fields, methods.
pub trait Object {
    /// Go's `%T` of it, e.g. `*chartutil.Capabilities`.
    fn type_name(&self) -> String;
    /// A field, or a method without arguments.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method with arguments: None when there is no such method.
    fn method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    /// What `%v` prints.
    fn display(&self) -> String;
    /// The elements, for a value Go ranges over and measures (a named
    /// slice type with methods, such as Helm's `VersionSet`).
    fn elements(&self) -> Option<Vec<Value>> {
        None
    }
    /// The entries, for a named map type with methods (Helm's `.Files`):
    /// ranged over in key order, as Go ranges over a map.
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
}

#[derive(Clone)]
pub enum Value {
    /// A nil interface: a missing map key, `nil`, JSON `null`.
    Nil,
    Bool(bool),
    Int(i64, IntType),
    Uint(u64, UintType),
    Float(f64),
    String(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<Vec<Value>>, ListType),
    Map(Map),
    Object(Rc<dyn Object>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({})",
            self.type_name(),
            super::fmt::sprint_value(self)
        )
    }
}

impl PartialEq for Value {
    /// Deep equality of type and value (Go's `reflect.DeepEqual`).
    fn eq(&self, other: &Value) -> bool {
        self.deep_equal(other, 0)
    }
}

impl Value {
    fn deep_equal(&self, other: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a, t), Value::Int(b, u)) => a == b && t == u,
            (Value::Uint(a, t), Value::Uint(b, u)) => a == b && t == u,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a, t), Value::List(b, u)) => {
                t == u
                    && a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.deep_equal(y, depth + 1))
            }
            (Value::Map(a), Value::Map(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((k, x), (l, y))| k == l && x.deep_equal(y, depth + 1))
            }
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::String(Rc::from(s))
    }

    pub fn int(i: i64) -> Value {
        Value::Int(i, IntType::Int)
    }

    pub fn int64(i: i64) -> Value {
        Value::Int(i, IntType::Int64)
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items), ListType::Any)
    }

    pub fn strings(items: Vec<String>) -> Value {
        Value::List(
            Rc::new(items.iter().map(|s| Value::str(s)).collect()),
            ListType::Str,
        )
    }

    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::typed_map(entries, MapType::Any)
    }

    /// A map of a given Go type.
    pub fn typed_map(entries: BTreeMap<String, Value>, kind: MapType) -> Value {
        Value::Map(Rc::new(MapCell {
            entries: RefCell::new(entries),
            kind,
        }))
    }

    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    /// Go's `%T`.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_, t) => t.name().into(),
            Value::Uint(_, t) => t.name().into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(_, t) => match t {
                ListType::Any => "[]interface {}",
                ListType::Str => "[]string",
                ListType::Int => "[]int",
            }
            .into(),
            Value::Map(m) => match m.kind {
                MapType::Any => "map[string]interface {}".into(),
                MapType::Named(n) => n.into(),
                MapType::Strings => "map[string]string".into(),
            },
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's `reflect.Kind` name.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_, t) => t.name(),
            Value::Uint(_, t) => t.name(),
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(..) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "ptr",
        }
    }

    /// Go's truth (`template.IsTrue`): the zero value and empty
    /// collections are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Uint(u, _) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(_) => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// From JSON, as `encoding/json` decodes into `interface{}`: every
    /// number a `float64`.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(m) => Value::map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}
