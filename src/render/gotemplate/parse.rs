//! Go's `text/template` parser (`parse/parse.go`, `parse/node.go`): typed
//! nodes with their byte offsets, `define`d and `block` templates collected
//! beside the main tree, and Go's parse-time checks (undefined variables and
//! functions, `break`/`continue` outside `range`, misplaced `else`/`end`).

use super::lex::{lex, Item, Keyword, Lexed};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// `if`, `range` and `with`: a pipeline, its list, and the `else` list
/// (an `else if`/`else with` is a single such node in it).
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub pos: usize,
    /// Variables declared (`:=`) or assigned (`=`), with their `$`.
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A number constant as Go's parser keeps it: every reading that holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `.A.B`
    Field {
        pos: usize,
        names: Vec<String>,
    },
    /// `$x.A`
    Variable {
        pos: usize,
        name: String,
        names: Vec<String>,
    },
    /// `(pipeline).A`, `"x".A`
    Chain {
        pos: usize,
        node: Box<Arg>,
        names: Vec<String>,
    },
    /// A function name.
    Identifier {
        pos: usize,
        name: String,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Number),
    Str(usize, String),
    /// A parenthesised pipeline.
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::Str(pos, _) => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// The text Go prints for a node in error contexts (`node.String()`).
impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { names, .. } => {
                for n in names {
                    write!(f, ".{n}")?;
                }
                Ok(())
            }
            Arg::Variable { name, names, .. } => {
                write!(f, "{name}")?;
                for n in names {
                    write!(f, ".{n}")?;
                }
                Ok(())
            }
            Arg::Chain { node, names, .. } => {
                match node.as_ref() {
                    Arg::Pipe(_) => write!(f, "{node}")?,
                    other => write!(f, "{other}")?,
                }
                for n in names {
                    write!(f, ".{n}")?;
                }
                Ok(())
            }
            Arg::Identifier { name, .. } => write!(f, "{name}"),
            Arg::Dot(_) => write!(f, "."),
            Arg::Nil(_) => write!(f, "nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => write!(f, "{}", n.text),
            Arg::Str(_, s) => write!(f, "{}", go_quote(s)),
            Arg::Pipe(p) => write!(f, "({p})"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.is_assign { "=" } else { ":=" }
            )?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A parsed template: its main tree and the templates it defines.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub root: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

/// A parse error: byte offset and Go's message.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: usize,
    pub message: String,
}

/// Parses `text`; `is_func` says which identifiers name functions.
pub fn parse(text: &str, is_func: &dyn Fn(&str) -> bool) -> Result<Parsed, ParseError> {
    let items = lex(text).map_err(|e| ParseError {
        pos: e.pos,
        message: e.message,
    })?;
    let mut p = Parser {
        items,
        at: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        is_func,
        defines: Vec::new(),
        end: text.len(),
    };
    let root = p.list(true)?.0;
    Ok(Parsed {
        root,
        defines: p.defines,
    })
}

struct Parser<'f> {
    items: Vec<Lexed>,
    at: usize,
    vars: Vec<String>,
    range_depth: usize,
    is_func: &'f dyn Fn(&str) -> bool,
    defines: Vec<(String, Vec<Node>)>,
    end: usize,
}

/// What ended a list: the end of input, `{{end}}` or `{{else}}` (the
/// position of the keyword).
enum Ended {
    Eof,
    End,
    Else(usize),
}

type Res<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Res<T> {
        Err(ParseError {
            pos,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Item> {
        self.items.get(self.at).map(|l| &l.item)
    }

    fn pos(&self) -> usize {
        self.items.get(self.at).map_or(self.end, |l| l.pos)
    }

    fn next(&mut self) -> Option<Lexed> {
        let l = self.items.get(self.at).cloned();
        self.at += 1;
        l
    }

    /// Skips spaces; returns the next item without consuming it.
    fn peek_non_space(&mut self) -> Option<&Item> {
        while matches!(self.peek(), Some(Item::Space)) {
            self.at += 1;
        }
        self.peek()
    }

    fn next_non_space(&mut self) -> Option<Lexed> {
        self.peek_non_space();
        self.next()
    }

    /// Nodes up to the end of input (top level) or to `{{end}}`/`{{else}}`.
    fn list(&mut self, top: bool) -> Res<(Vec<Node>, Ended)> {
        let mut nodes = Vec::new();
        loop {
            let Some(l) = self.next() else {
                if top {
                    return Ok((nodes, Ended::Eof));
                }
                return self.err(self.end, "unexpected EOF");
            };
            match l.item {
                Item::Text(t) => nodes.push(Node::Text(t)),
                Item::LeftDelim => {
                    let kw_pos = self.pos_after_space();
                    match self.peek_non_space() {
                        Some(Item::Keyword(Keyword::End)) => {
                            self.next();
                            self.expect_right("end")?;
                            if top {
                                return self.err(kw_pos, "unexpected {{end}}");
                            }
                            return Ok((nodes, Ended::End));
                        }
                        Some(Item::Keyword(Keyword::Else)) => {
                            if top {
                                return self.err(kw_pos, "unexpected {{else}}");
                            }
                            self.next();
                            return Ok((nodes, Ended::Else(kw_pos)));
                        }
                        Some(Item::Keyword(Keyword::Define)) => {
                            if !top {
                                return self.err(kw_pos, "unexpected <define> in command");
                            }
                            self.next();
                            self.define()?;
                        }
                        _ => {
                            if let Some(n) = self.action()? {
                                nodes.push(n);
                            }
                        }
                    }
                }
                other => return self.err(l.pos, format!("unexpected {other:?}")),
            }
        }
    }

    fn pos_after_space(&mut self) -> usize {
        self.peek_non_space();
        self.pos()
    }

    fn expect_right(&mut self, context: &str) -> Res<()> {
        match self.next_non_space() {
            Some(Lexed {
                item: Item::RightDelim,
                ..
            }) => Ok(()),
            Some(l) => self.err(
                l.pos,
                format!("unexpected {} in {context}", describe(&l.item)),
            ),
            None => self.err(self.end, format!("unexpected EOF in {context}")),
        }
    }

    fn string_arg(&mut self, context: &str) -> Res<String> {
        match self.next_non_space() {
            Some(Lexed {
                item: Item::Str(s), ..
            }) => Ok(s),
            Some(l) => self.err(
                l.pos,
                format!("unexpected {} in {context}", describe(&l.item)),
            ),
            None => self.err(self.end, format!("unexpected EOF in {context}")),
        }
    }

    fn define(&mut self) -> Res<()> {
        let name = self.string_arg("define clause")?;
        self.expect_right("define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (body, ended) = self.list(false)?;
        self.vars = saved;
        if let Ended::Else(pos) = ended {
            return self.err(pos, "unexpected {{else}}");
        }
        self.defines.push((name, body));
        Ok(())
    }

    /// One action after `{{`.
    fn action(&mut self) -> Res<Option<Node>> {
        let pos = self.pos_after_space();
        match self.peek().cloned() {
            Some(Item::Keyword(k)) => {
                self.next();
                match k {
                    Keyword::If => Ok(Some(Node::If(self.branch(pos, "if", false)?))),
                    Keyword::With => Ok(Some(Node::With(self.branch(pos, "with", false)?))),
                    Keyword::Range => {
                        self.range_depth += 1;
                        let b = self.branch(pos, "range", true);
                        self.range_depth -= 1;
                        Ok(Some(Node::Range(b?)))
                    }
                    Keyword::Template => Ok(Some(self.template(pos, "template")?)),
                    Keyword::Block => {
                        let name = self.string_arg("block clause")?;
                        let pipe = self.pipeline("block", false)?;
                        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
                        let (body, ended) = self.list(false)?;
                        self.vars = saved;
                        if let Ended::Else(p) = ended {
                            return self.err(p, "unexpected {{else}}");
                        }
                        self.defines.push((name.clone(), body));
                        Ok(Some(Node::Template {
                            pos,
                            name,
                            pipe: Some(pipe),
                        }))
                    }
                    Keyword::Break | Keyword::Continue => {
                        let word = if k == Keyword::Break {
                            "break"
                        } else {
                            "continue"
                        };
                        if self.range_depth == 0 {
                            return self.err(pos, format!("{{{{{word}}}}} outside {{{{range}}}}"));
                        }
                        self.expect_right(word)?;
                        Ok(Some(if k == Keyword::Break {
                            Node::Break(pos)
                        } else {
                            Node::Continue(pos)
                        }))
                    }
                    Keyword::Else | Keyword::End | Keyword::Define => {
                        self.err(pos, format!("unexpected {}", describe(&Item::Keyword(k))))
                    }
                }
            }
            _ => Ok(Some(Node::Action(self.pipeline("command", false)?))),
        }
    }

    fn template(&mut self, _pos: usize, context: &str) -> Res<Node> {
        // Go places the node at its name.
        let pos = self.pos_after_space();
        let name = self.string_arg(&format!("{context} clause"))?;
        let pipe = match self.peek_non_space() {
            Some(Item::RightDelim) => {
                self.next();
                None
            }
            _ => Some(self.pipeline(context, false)?),
        };
        Ok(Node::Template { pos, name, pipe })
    }

    /// `if`/`with`/`range`: pipeline, list, optional else (chained
    /// `else if`/`else with` become a nested node), `end`.
    fn branch(&mut self, pos: usize, context: &str, is_range: bool) -> Res<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, is_range)?;
        let (list, ended) = self.list(false)?;
        let else_list = match ended {
            Ended::End => None,
            Ended::Eof => return self.err(self.end, "unexpected EOF"),
            Ended::Else(else_pos) => {
                // `{{else if ...}}` / `{{else with ...}}`: one node, sharing our end.
                match self.peek_non_space().cloned() {
                    Some(Item::Keyword(k @ (Keyword::If | Keyword::With))) => {
                        let same = (k == Keyword::If && context == "if")
                            || (k == Keyword::With && context == "with");
                        if !same {
                            return self.err(
                                else_pos,
                                format!("expected end; found {}", describe(&Item::Keyword(k))),
                            );
                        }
                        let inner_pos = self.pos();
                        self.next();
                        let inner = self.branch(inner_pos, context, false)?;
                        self.vars.truncate(mark);
                        let node = if k == Keyword::If {
                            Node::If(inner)
                        } else {
                            Node::With(inner)
                        };
                        return Ok(Branch {
                            pos,
                            pipe,
                            list,
                            else_list: Some(vec![node]),
                        });
                    }
                    _ => {
                        self.expect_right("else")?;
                        let (else_list, ended) = self.list(false)?;
                        match ended {
                            Ended::End => Some(else_list),
                            Ended::Else(p) => return self.err(p, "expected end; found {{else}}"),
                            Ended::Eof => return self.err(self.end, "unexpected EOF"),
                        }
                    }
                }
            }
        };
        self.vars.truncate(mark);
        Ok(Branch {
            pos,
            pipe,
            list,
            else_list,
        })
    }

    /// A pipeline up to `}}` (or `)` when inside parentheses, handled by
    /// the caller through `until_paren`).
    fn pipeline(&mut self, context: &str, is_range: bool) -> Res<Pipe> {
        self.pipeline_until(context, is_range, false)
    }

    fn pipeline_until(&mut self, context: &str, is_range: bool, paren: bool) -> Res<Pipe> {
        let pos = self.pos_after_space();
        let mut pipe = Pipe {
            pos,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context, is_range)?;
        loop {
            match self.peek_non_space().cloned() {
                Some(Item::RightDelim) if !paren => {
                    self.next();
                    break;
                }
                Some(Item::RightParen) if paren => {
                    self.next();
                    break;
                }
                None => return self.err(self.end, format!("unexpected EOF in {context}")),
                Some(
                    Item::Bool(_)
                    | Item::Char(_)
                    | Item::Dot
                    | Item::Field(_)
                    | Item::Identifier(_)
                    | Item::Number(_)
                    | Item::Nil
                    | Item::Str(_)
                    | Item::Variable(_)
                    | Item::LeftParen,
                ) => {
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                Some(other) => {
                    return self.err(
                        self.pos(),
                        format!("unexpected {} in {context}", describe(&other)),
                    )
                }
            }
        }
        if pipe.cmds.is_empty() {
            return self.err(pos, format!("missing value for {context}"));
        }
        // Go checks that only the first command may be a non-executable
        // operand; later ones receive the previous value.
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                a @ (Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)),
            ) = c.args.first()
            {
                return self.err(
                    a.pos(),
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(pipe)
    }

    /// `$x :=`, `$x =`, and in `range` `$i, $e :=`.
    fn declarations(&mut self, pipe: &mut Pipe, context: &str, is_range: bool) -> Res<()> {
        let start = self.at;
        let Some(Item::Variable(first)) = self.peek_non_space().cloned() else {
            return Ok(());
        };
        let first_pos = self.pos();
        self.next();
        let mut names = vec![first];
        loop {
            match self.peek_non_space().cloned() {
                Some(Item::Declare) | Some(Item::Assign) => {
                    let assign = matches!(self.peek(), Some(Item::Assign));
                    self.next();
                    if assign {
                        for n in &names {
                            if !self.vars.contains(n) {
                                return self.err(first_pos, format!("undefined variable \"{n}\""));
                            }
                        }
                    } else {
                        self.vars.extend(names.iter().cloned());
                    }
                    pipe.decl = names;
                    pipe.is_assign = assign;
                    return Ok(());
                }
                Some(Item::Comma) if is_range && names.len() == 1 => {
                    self.next();
                    match self.next_non_space() {
                        Some(Lexed {
                            item: Item::Variable(v),
                            ..
                        }) => names.push(v),
                        _ => {
                            return self
                                .err(first_pos, format!("{context}: too many declarations"));
                        }
                    }
                }
                Some(Item::Comma) => {
                    return self.err(first_pos, format!("too many declarations in {context}"));
                }
                _ => {
                    // Not a declaration: the variable is an operand.
                    self.at = start;
                    return Ok(());
                }
            }
        }
    }

    fn command(&mut self) -> Res<Command> {
        let pos = self.pos_after_space();
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            match self.peek() {
                None | Some(Item::RightDelim) | Some(Item::RightParen) | Some(Item::Pipe) => break,
                _ => {}
            }
            let operand = self.operand()?;
            args.push(operand);
            match self.peek() {
                Some(Item::Space) => continue,
                Some(Item::RightDelim) | Some(Item::RightParen) | None => break,
                Some(Item::Pipe) => break,
                Some(other) => {
                    let other = other.clone();
                    return self.err(
                        self.pos(),
                        format!("unexpected {} in operand", describe(&other)),
                    );
                }
            }
        }
        if matches!(self.peek_non_space(), Some(Item::Pipe)) {
            self.next();
            if matches!(
                self.peek_non_space(),
                Some(Item::RightDelim) | Some(Item::RightParen)
            ) {
                return self.err(self.pos(), "missing command");
            }
        }
        if args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok(Command { pos, args })
    }

    /// A term and the field chain after it. As Go's parser does, a node
    /// with a field chain takes the position of the chain's first field.
    fn operand(&mut self) -> Res<Arg> {
        let term = self.term()?;
        let mut names = Vec::new();
        let chain_pos = self.pos();
        while let Some(Item::Field(f)) = self.peek().cloned() {
            self.next();
            names.push(f);
        }
        if names.is_empty() {
            return Ok(term);
        }
        Ok(match term {
            Arg::Field { names: mut n, .. } => {
                n.extend(names);
                Arg::Field {
                    pos: chain_pos,
                    names: n,
                }
            }
            Arg::Variable {
                name, names: mut n, ..
            } => {
                n.extend(names);
                Arg::Variable {
                    pos: chain_pos,
                    name,
                    names: n,
                }
            }
            Arg::Bool(p, _) | Arg::Str(p, _) | Arg::Number(p, _) | Arg::Nil(p) | Arg::Dot(p) => {
                return self.err(p, format!("unexpected . after term {:?}", term.to_string()));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                names,
            },
        })
    }

    fn term(&mut self) -> Res<Arg> {
        let Some(l) = self.next_non_space() else {
            return self.err(self.end, "unexpected EOF");
        };
        let pos = l.pos;
        Ok(match l.item {
            Item::Identifier(name) => {
                if !(self.is_func)(&name) {
                    return self.err(pos, format!("function \"{name}\" not defined"));
                }
                Arg::Identifier { pos, name }
            }
            Item::Dot => Arg::Dot(pos),
            Item::Nil => Arg::Nil(pos),
            Item::Variable(name) => {
                if !self.vars.contains(&name) {
                    return self.err(pos, format!("undefined variable \"{name}\""));
                }
                Arg::Variable {
                    pos,
                    name,
                    names: Vec::new(),
                }
            }
            Item::Field(f) => Arg::Field {
                pos,
                names: vec![f],
            },
            Item::Bool(b) => Arg::Bool(pos, b),
            Item::Number(text) => Arg::Number(
                pos,
                number(&text, false).map_err(|m| ParseError { pos, message: m })?,
            ),
            Item::Char(text) => Arg::Number(
                pos,
                number(&text, true).map_err(|m| ParseError { pos, message: m })?,
            ),
            Item::Str(s) => Arg::Str(pos, s),
            Item::LeftParen => {
                let pipe = self.pipeline_until("parenthesized pipeline", false, true)?;
                Arg::Pipe(Box::new(pipe))
            }
            other => return self.err(pos, format!("unexpected {} in operand", describe(&other))),
        })
    }
}

/// How Go's parser names an item in its errors.
fn describe(item: &Item) -> String {
    match item {
        Item::RightDelim => "\"}}\"".into(),
        Item::LeftDelim => "\"{{\"".into(),
        Item::RightParen => "\")\"".into(),
        Item::LeftParen => "\"(\"".into(),
        Item::Pipe => "\"|\"".into(),
        Item::Comma => "\",\"".into(),
        Item::Assign => "\"=\"".into(),
        Item::Declare => "\":=\"".into(),
        Item::Space => "space".into(),
        Item::Keyword(k) => format!("<{}>", format!("{k:?}").to_lowercase()),
        Item::Str(s) => go_quote(s),
        Item::Number(n) | Item::Char(n) => format!("{n:?}"),
        Item::Field(f) => format!("<.{f}>"),
        Item::Variable(v) => format!("<{v}>"),
        Item::Identifier(i) => format!("<{i}>"),
        Item::Dot => "<.>".into(),
        Item::Nil => "<nil>".into(),
        Item::Bool(b) => format!("<{b}>"),
        Item::Text(t) => format!("{t:?}"),
    }
}

/// A number constant read as Go's parser reads it (`parse.newNumber`).
fn number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        let inner = &text[1..text.len() - 1];
        let c = if inner.starts_with('\\') {
            let s = super::lex::unquote(&format!("\"{inner}\""))
                .map_err(|_| format!("malformed character constant: {text}"))?;
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => c,
                _ => return Err(format!("malformed character constant: {text}")),
            }
        } else {
            let mut cs = inner.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => c,
                _ => return Err(format!("malformed character constant: {text}")),
            }
        };
        let v = c as i64;
        return Ok(Number {
            text: text.to_string(),
            int: Some(v),
            uint: Some(v as u64),
            float: Some(v as f64),
        });
    }
    if text.ends_with('i') {
        return Err(format!("complex numbers are not supported: {text}"));
    }
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let radix_int = |b: &str| -> Option<u64> {
        let lower = b.to_ascii_lowercase();
        if let Some(h) = lower.strip_prefix("0x") {
            u64::from_str_radix(h, 16).ok()
        } else if let Some(o) = lower.strip_prefix("0o") {
            u64::from_str_radix(o, 8).ok()
        } else if let Some(bn) = lower.strip_prefix("0b") {
            u64::from_str_radix(bn, 2).ok()
        } else if lower.len() > 1
            && lower.starts_with('0')
            && lower.bytes().all(|c| c.is_ascii_digit())
        {
            u64::from_str_radix(&lower[1..], 8).ok()
        } else if lower.bytes().all(|c| c.is_ascii_digit()) {
            lower.parse().ok()
        } else {
            None
        }
    };
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
    };
    if let Some(u) = radix_int(body) {
        if neg {
            if u <= i64::MAX as u64 + 1 {
                n.int = Some((u as i128).wrapping_neg() as i64);
            }
        } else {
            n.uint = Some(u);
            if u <= i64::MAX as u64 {
                n.int = Some(u as i64);
            }
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else {
        let lower = body.to_ascii_lowercase();
        let f = if let Some(hex) = lower.strip_prefix("0x") {
            parse_hex_float(hex)
        } else {
            lower.parse::<f64>().ok().filter(|f| f.is_finite())
        };
        let Some(f) = f else {
            return Err(format!("illegal number syntax: {text:?}"));
        };
        let f = if neg { -f } else { f };
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {text:?}"));
        }
        n.float = Some(f);
        if f == f.trunc() && f.abs() < 9.223_372_036_854_776e18 {
            n.int = Some(f as i64);
            if f >= 0.0 {
                n.uint = Some(f as u64);
            }
        }
    }
    Ok(n)
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p').unwrap_or((s, "0"));
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let e: i32 = exp.parse().ok()?;
    Some(v * 2f64.powi(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Parsed {
        parse(text, &|n| ["printf", "len", "eq"].contains(&n)).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(text, &|n| ["printf", "len", "eq"].contains(&n))
            .unwrap_err()
            .message
    }

    #[test]
    fn pipelines_print_as_go_prints_them() {
        let p = parse_ok(r#"{{ $x := printf "%d" (len .A.b) | printf "%s" }}{{ $x.Y }}"#);
        let Node::Action(pipe) = &p.root[0] else {
            panic!()
        };
        assert_eq!(
            pipe.to_string(),
            r#"$x := printf "%d" (len .A.b) | printf "%s""#
        );
        let Node::Action(pipe) = &p.root[1] else {
            panic!()
        };
        assert_eq!(pipe.to_string(), "$x.Y");
    }

    #[test]
    fn branches_chain_else_if_and_collect_defines() {
        let p = parse_ok(
            r#"{{define "a"}}A{{end}}{{if .x}}1{{else if .y}}2{{else}}3{{end}}{{block "b" .}}B{{end}}"#,
        );
        assert_eq!(p.defines.len(), 2);
        let Node::If(b) = &p.root[0] else { panic!() };
        let Some(else_list) = &b.else_list else {
            panic!()
        };
        let Node::If(inner) = &else_list[0] else {
            panic!()
        };
        assert_eq!(inner.else_list, Some(vec![Node::Text("3".into())]));
        assert!(matches!(&p.root[1], Node::Template { name, .. } if name == "b"));
    }

    #[test]
    fn numbers_keep_every_reading() {
        let p = parse_ok("{{ 1e6 }}{{ 0x10 }}{{ 'a' }}{{ 010 }}{{ 1.5 }}");
        let nums: Vec<Number> = p
            .root
            .iter()
            .map(|n| match n {
                Node::Action(pipe) => match &pipe.cmds[0].args[0] {
                    Arg::Number(_, n) => n.clone(),
                    _ => panic!(),
                },
                _ => panic!(),
            })
            .collect();
        assert_eq!(nums[0].int, Some(1_000_000));
        assert_eq!(nums[0].float, Some(1e6));
        assert_eq!(nums[1].int, Some(16));
        assert_eq!(nums[2].int, Some(97));
        assert_eq!(nums[3].int, Some(8));
        assert_eq!(nums[4].int, None);
    }

    #[test]
    fn parse_errors_say_what_go_says() {
        assert_eq!(parse_err("{{ nope 1 }}"), "function \"nope\" not defined");
        assert_eq!(parse_err("{{ $x }}"), "undefined variable \"$x\"");
        assert_eq!(parse_err("{{ end }}"), "unexpected {{end}}");
        assert_eq!(parse_err("{{ if .x }}a"), "unexpected EOF");
        assert_eq!(parse_err("{{ break }}"), "{{break}} outside {{range}}");
        assert_eq!(parse_err("{{ }}"), "missing value for command");
        assert_eq!(
            parse_err("{{ .x | 3 }}"),
            "non executable command in pipeline stage 2"
        );
        // Variables declared inside a branch end with it.
        assert_eq!(
            parse_err("{{ if 1 }}{{ $y := 2 }}{{ end }}{{ $y }}"),
            "undefined variable \"$y\""
        );
    }
}
