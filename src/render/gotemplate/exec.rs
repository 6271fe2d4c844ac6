//! Go's `text/template` executor (`exec.go`): walks the parsed nodes with
//! Go's rules for fields, variables, pipelines, `range`/`with`/`if`, the
//! `and`/`or` short circuit and template calls, and reports errors as Go
//! does: `template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`.

use super::fmt::sprint_value;
use super::parse::{Arg, Branch, Command, Node, Number, Pipe};
use super::value::Value;
use super::{Error, Funcs, Set, Source};
use std::rc::Rc;

/// What a function may fail with: an error of the call (Go wraps it as
/// `error calling NAME: ...`) or an execution error raised as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum FnError {
    Call(String),
    Exec(String),
    /// Argument `index` is not of the type the function takes (`want`, a
    /// Go type name): Go's own wording, at the argument.
    Arg {
        index: usize,
        want: &'static str,
    },
}

impl From<String> for FnError {
    fn from(s: String) -> FnError {
        FnError::Call(s)
    }
}

impl From<&str> for FnError {
    fn from(s: &str) -> FnError {
        FnError::Call(s.to_string())
    }
}

/// Limits that keep a template from running away (each is an error).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nested template calls (`template`, and a host's `include`).
    pub depth: usize,
    /// Bytes of output of one execution.
    pub output: usize,
    /// Nodes evaluated in one execution.
    pub steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 1000,
            output: 64 << 20,
            steps: 50_000_000,
        }
    }
}

/// How a missing map key evaluates (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// The zero value (a nil interface): Go's `default` and `zero`.
    #[default]
    Zero,
    /// An error: Go's `missingkey=error`.
    Error,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// The state of one execution; functions receive it (`include` and `tpl`
/// execute templates through it).
pub struct Exec<'a> {
    pub set: &'a Set,
    pub funcs: &'a Funcs,
    pub limits: Limits,
    pub missing_key: MissingKey,
    vars: Vec<(String, Value)>,
    /// The template being executed and where its nodes were parsed.
    name: Rc<str>,
    source: Rc<Source>,
    pub depth: usize,
    steps: u64,
    written: usize,
    /// The node evaluated last, for error contexts.
    at: (usize, String),
    /// Per argument of the function being called: a nil from a map.
    boxed_nil: Vec<bool>,
    /// Counters a host's functions keep for one execution (Helm's
    /// `include` counts the nesting of each name).
    pub counters: std::collections::HashMap<String, usize>,
}

type Res<T> = Result<T, Error>;

impl<'a> Exec<'a> {
    pub fn new(set: &'a Set, funcs: &'a Funcs) -> Exec<'a> {
        Exec {
            set,
            funcs,
            limits: Limits::default(),
            missing_key: MissingKey::Zero,
            vars: Vec::new(),
            name: Rc::from(""),
            source: Rc::new(Source::default()),
            depth: 0,
            steps: 0,
            written: 0,
            at: (0, String::new()),
            boxed_nil: Vec::new(),
            counters: Default::default(),
        }
    }

    /// Executes the template `name` of the set with `dot` as data.
    pub fn execute(&mut self, name: &str, dot: &Value, out: &mut String) -> Res<()> {
        let Some(t) = self.set.get(name) else {
            return Err(Error {
                message: format!(
                    "template: no template {name:?} associated with template {:?}",
                    self.set.first_name()
                ),
            });
        };
        if self.depth >= self.limits.depth {
            return Err(self.error(format!(
                "exceeded maximum template depth ({})",
                self.limits.depth
            )));
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".to_string(), dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, Rc::from(name));
        let saved_source = std::mem::replace(&mut self.source, t.source.clone());
        self.depth += 1;
        let body = t.body.clone();
        // Each nested template takes stack; a deep (or runaway) nesting
        // continues on a new segment instead of overflowing the thread's.
        let r = stacker::maybe_grow(256 << 10, 4 << 20, || self.walk_list(dot, &body, out));
        self.depth -= 1;
        self.vars = saved_vars;
        self.name = saved_name;
        self.source = saved_source;
        r.map(|_| ())
    }

    /// Whether argument `index` of the call in progress is a nil read out
    /// of a map (see [`args::map`](super::args::map)).
    /// The name of the template being executed (Helm's `tpl` parses its
    /// text under it).
    pub fn template_name(&self) -> &str {
        &self.name
    }

    pub fn is_boxed_nil(&self, index: usize) -> bool {
        self.boxed_nil.get(index).copied().unwrap_or(false)
    }

    /// An execution error at the node evaluated last, in Go's words.
    pub fn error(&self, message: impl Into<String>) -> Error {
        let (line, col) = self.source.line_col(self.at.0);
        Error {
            message: format!(
                "template: {}:{}:{}: executing {:?} at <{}>: {}",
                self.source.name,
                line,
                col,
                &*self.name,
                self.at.1,
                message.into()
            ),
        }
    }

    fn set_at(&mut self, pos: usize, context: impl ToString) {
        self.at = (pos, context.to_string());
    }

    fn step(&mut self) -> Res<()> {
        self.steps += 1;
        if self.steps > self.limits.steps {
            return Err(self.error(format!(
                "execution stopped after {} steps (a template that never ends?)",
                self.limits.steps
            )));
        }
        Ok(())
    }

    fn write(&mut self, out: &mut String, text: &str) -> Res<()> {
        self.written += text.len();
        if self.written > self.limits.output {
            return Err(self.error(format!(
                "output exceeds the limit of {} bytes",
                self.limits.output
            )));
        }
        out.push_str(text);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &[Node], out: &mut String) -> Res<Flow> {
        for node in list {
            match self.walk(dot, node, out)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &Node, out: &mut String) -> Res<Flow> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(out, t)?,
            Node::Action(pipe) => {
                // A declaration here lives to the end of the enclosing control.
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let text = match &v {
                        Value::Nil => "<no value>".to_string(),
                        v => sprint_value(v),
                    };
                    self.write(out, &text)?;
                }
            }
            Node::If(b) => return self.walk_if_or_with(dot, b, false, out),
            Node::With(b) => return self.walk_if_or_with(dot, b, true, out),
            Node::Range(b) => return self.walk_range(dot, b, out),
            Node::Template { pos, name, pipe } => {
                self.set_at(
                    *pos,
                    format!(
                        "{{{{template {:?}{}}}}}",
                        name,
                        pipe.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
                    ),
                );
                if self.set.get(name).is_none() {
                    return Err(self.error(format!("template {name:?} not defined")));
                }
                let data = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let mut inner = String::new();
                self.execute(name, &data, &mut inner)?;
                // Output was counted inside; add it without counting twice.
                out.push_str(&inner);
            }
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(
        &mut self,
        dot: &Value,
        b: &Branch,
        with: bool,
        out: &mut String,
    ) -> Res<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if v.truth() {
            if with {
                self.walk_list(&v, &b.list, out)?
            } else {
                self.walk_list(dot, &b.list, out)?
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e, out)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch, out: &mut String) -> Res<Flow> {
        self.set_at(b.pos, format!("range {}", b.pipe));
        let mark = self.vars.len();
        // The pipeline is evaluated without its declarations, which are
        // the loop's variables.
        let bare = Pipe {
            pos: b.pipe.pos,
            decl: Vec::new(),
            is_assign: false,
            cmds: b.pipe.cmds.clone(),
        };
        let v = self.eval_pipeline(dot, &bare)?;
        // A slice type with methods ranges as its elements.
        let v = match &v {
            Value::Object(o) => match (o.elements(), o.entries()) {
                (Some(items), _) => Value::list(items),
                (None, Some(entries)) => Value::map(entries.into_iter().collect()),
                (None, None) => v,
            },
            _ => v,
        };
        // Elements are taken one at a time (a `range` over a large integer
        // must not build its list first).
        let count = match &v {
            Value::List(l, _) => l.len(),
            Value::Bytes(b) => b.len(),
            Value::Map(m) => m.borrow().len(),
            Value::Int(n, _) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.error(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                (*n).max(0) as usize
            }
            Value::Nil => 0,
            other => {
                return Err(self.error(format!("range can't iterate over {}", sprint_value(other))))
            }
        };
        if count == 0 {
            let flow = match &b.else_list {
                Some(e) => self.walk_list(dot, e, out)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(flow);
        }
        // A map is ranged in its key order as it was when the range began.
        let keys: Vec<String> = match &v {
            Value::Map(m) => m.borrow().keys().cloned().collect(),
            _ => Vec::new(),
        };
        for i in 0..count {
            self.step()?;
            let (key, elem) = match &v {
                Value::List(l, _) => (Value::int(i as i64), l[i].clone()),
                Value::Bytes(bs) => (
                    Value::int(i as i64),
                    Value::Uint(bs[i] as u64, super::value::UintType::Uint8),
                ),
                Value::Map(m) => {
                    let e = m.borrow().get(&keys[i]).cloned().unwrap_or(Value::Nil);
                    (Value::str(&keys[i]), e)
                }
                Value::Int(_, t) => (Value::Int(i as i64, *t), Value::Int(i as i64, *t)),
                _ => break,
            };
            let inner = self.vars.len();
            match b.pipe.decl.len() {
                0 => {}
                1 => self.declare(&b.pipe.decl[0], elem.clone(), b.pipe.is_assign),
                _ => {
                    self.declare(&b.pipe.decl[0], key, b.pipe.is_assign);
                    self.declare(&b.pipe.decl[1], elem.clone(), b.pipe.is_assign);
                }
            }
            let flow = self.walk_list(&elem, &b.list, out)?;
            if !b.pipe.is_assign {
                self.vars.truncate(inner);
            }
            if let Flow::Break = flow {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn declare(&mut self, name: &str, v: Value, assign: bool) {
        if assign {
            self.set_var(name, v);
        } else {
            self.vars.push((name.to_string(), v));
        }
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Res<Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.error(format!("undefined variable: {name}")))
    }

    pub fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Res<Value> {
        self.set_at(pipe.pos, pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            self.declare(name, value.clone(), pipe.is_assign);
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> Res<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, final_: Option<Value>) -> Res<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { pos, names } => {
                self.set_at(*pos, first);
                self.eval_field_chain(dot, dot.clone(), names, &cmd.args, final_)
            }
            Arg::Chain { pos, node, names } => {
                self.set_at(*pos, first);
                if let Arg::Nil(_) = node.as_ref() {
                    return Err(self.error(format!("indirection through explicit nil in {first}")));
                }
                let v = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, v, names, &cmd.args, final_)
            }
            Arg::Identifier { pos, name } => {
                self.set_at(*pos, first);
                self.eval_function(dot, name, cmd, &cmd.args[1..], final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { pos, name, names } => {
                self.set_at(*pos, first);
                let v = self.var(name)?;
                if names.is_empty() {
                    self.not_a_function(&cmd.args, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, names, &cmd.args, final_)
            }
            other => {
                self.set_at(other.pos(), other);
                self.not_a_function(&cmd.args, &final_)?;
                match other {
                    Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => Err(self.error("nil is not a command")),
                    Arg::Number(_, n) => self.ideal_constant(n),
                    Arg::Str(_, s) => Ok(Value::str(s)),
                    _ => Err(self.error(format!("can't evaluate command {other}"))),
                }
            }
        }
    }

    /// A number where no type is asked for: Go's `idealConstant`.
    fn ideal_constant(&self, n: &Number) -> Res<Value> {
        let t = &n.text;
        let hex_int = (t.starts_with("0x") || t.starts_with("0X")) && !t.contains(['p', 'P']);
        if n.float.is_some()
            && !hex_int
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        if let Some(i) = n.int {
            return Ok(Value::int(i));
        }
        if n.uint.is_some() {
            return Err(self.error(format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    /// An argument of a function (Go's `evalArg` into `interface{}`).
    fn eval_arg(&mut self, dot: &Value, arg: &Arg) -> Res<Value> {
        self.set_at(arg.pos(), arg);
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Field { names, .. } => {
                self.eval_field_chain(dot, dot.clone(), names, std::slice::from_ref(arg), None)
            }
            Arg::Variable { name, names, .. } => {
                let v = self.var(name)?;
                if names.is_empty() {
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, names, std::slice::from_ref(arg), None)
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Identifier { name, .. } => {
                let cmd = Command {
                    pos: arg.pos(),
                    args: vec![arg.clone()],
                };
                self.eval_function(dot, name, &cmd, &[], None)
            }
            Arg::Chain { node, names, .. } => {
                if let Arg::Nil(_) = node.as_ref() {
                    return Err(self.error(format!("indirection through explicit nil in {arg}")));
                }
                let v = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, v, names, std::slice::from_ref(arg), None)
            }
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Number(_, n) => self.ideal_constant(n),
            Arg::Str(_, s) => Ok(Value::str(s)),
        }
    }

    /// `.a.b.c` from `receiver`: every name but the last without
    /// arguments; the last gets the command's arguments (a method call).
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        names: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Value> {
        let mut v = receiver;
        // What Go's errors call the receiver's type: an element of a map
        // is an `interface {}`.
        let mut boxed = false;
        for (i, name) in names.iter().enumerate() {
            let last = i + 1 == names.len();
            let from_map = matches!(v, Value::Map(_));
            if last {
                v = self.eval_field(dot, name, v, &args[1..], final_.clone(), boxed)?;
            } else {
                v = self.eval_field(dot, name, v, &[], None, boxed)?;
            }
            boxed = from_map;
        }
        Ok(v)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        receiver: Value,
        args: &[Arg],
        final_: Option<Value>,
        boxed: bool,
    ) -> Res<Value> {
        let has_args = !args.is_empty() || final_.is_some();
        let type_name = |v: &Value| {
            if boxed {
                "interface {}".to_string()
            } else {
                v.type_name()
            }
        };
        match &receiver {
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                let found = m.borrow().get(name).cloned();
                match found {
                    Some(v) => Ok(v),
                    None if self.missing_key == MissingKey::Error => {
                        Err(self.error(format!("map has no entry for key {name:?}")))
                    }
                    None => Ok(Value::Nil),
                }
            }
            Value::Object(o) => {
                if has_args {
                    let mut values = Vec::new();
                    for a in args {
                        values.push(self.eval_arg(dot, a)?);
                    }
                    if let Some(f) = final_ {
                        values.push(f);
                    }
                    return match o.method(name, &values) {
                        Some(r) => r.map_err(|e| self.error(format!("error calling {name}: {e}"))),
                        None => Err(self.error(format!(
                            "can't evaluate field {name} in type {}",
                            type_name(&receiver)
                        ))),
                    };
                }
                o.field(name).ok_or_else(|| {
                    self.error(format!(
                        "can't evaluate field {name} in type {}",
                        type_name(&receiver)
                    ))
                })
            }
            // Go evaluates a field of no value (the chain's start) to no value.
            Value::Nil if !boxed => Ok(Value::Nil),
            Value::Nil => Err(self.error(format!("nil pointer evaluating interface {{}}.{name}"))),
            other => Err(self.error(format!(
                "can't evaluate field {name} in type {}",
                type_name(other)
            ))),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Value> {
        // `and` and `or` stop at the first argument that decides.
        if name == "and" || name == "or" {
            if args.is_empty() && final_.is_none() {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                )));
            }
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truth() != (name == "and") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let Some(f) = self.funcs.get(name) else {
            return Err(self.error(format!("{name:?} is not a defined function")));
        };
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = final_ {
            values.push(f);
        }
        // Which arguments hold a nil read out of a map (Go's nil
        // `interface {}`, which a map or slice parameter refuses), rather
        // than no value at all (which it takes as a nil map).
        self.boxed_nil = args
            .iter()
            .zip(&values)
            .map(|(a, v)| {
                matches!(v, Value::Nil)
                    && match a {
                        Arg::Field { .. } | Arg::Chain { .. } => true,
                        Arg::Variable { names, .. } => !names.is_empty(),
                        _ => false,
                    }
            })
            .collect();
        match f(self, &values) {
            Ok(v) => Ok(v),
            Err(FnError::Call(m)) => {
                self.set_at(cmd.pos, cmd);
                Err(self.error(format!("error calling {name}: {m}")))
            }
            Err(FnError::Exec(m)) => {
                self.set_at(cmd.pos, name);
                Err(self.error(m))
            }
            Err(FnError::Arg { index, want }) => {
                let value = values.get(index).cloned().unwrap_or(Value::Nil);
                Err(self.arg_error(args.get(index), &value, want))
            }
        }
    }

    /// Go's words for an argument a typed parameter does not take.
    fn arg_error(&mut self, node: Option<&Arg>, value: &Value, want: &str) -> Error {
        if let Some(a) = node {
            self.set_at(a.pos(), a);
        }
        let message = match (node, value) {
            (Some(Arg::Nil(_)), _) => format!("cannot assign nil to {want}"),
            (Some(a @ (Arg::Str(..) | Arg::Number(..) | Arg::Bool(..))), _) => {
                let word = match want {
                    "int" | "int64" => "integer",
                    "float64" => "float",
                    "string" => "string",
                    "bool" => "bool",
                    _ => return self.error(format!("can't handle {a} for arg of type {want}")),
                };
                format!("expected {word}; found {a}")
            }
            (Some(Arg::Field { .. } | Arg::Chain { .. }), Value::Nil) => {
                format!("wrong type for value; expected {want}; got interface {{}}")
            }
            (Some(Arg::Variable { names, .. }), Value::Nil) if !names.is_empty() => {
                format!("wrong type for value; expected {want}; got interface {{}}")
            }
            (_, Value::Nil) => format!("invalid value; expected {want}"),
            (_, v) => format!(
                "wrong type for value; expected {want}; got {}",
                v.type_name()
            ),
        };
        self.error(message)
    }
}
