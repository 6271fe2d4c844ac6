//! A YAML writer that picks a different spelling at every turn, for the
//! differential fuzzer: block or flow collections, indented or flush lists,
//! plain, single- or double-quoted scalars, literal and folded blocks with
//! every chomping, comments between entries and after values, and anchors
//! with aliases for repeated maps and lists. Whatever it writes, kubectl
//! and skiff read the same text, so the text need not mean what the value
//! did: the fuzzer only compares their readings.
#![allow(dead_code)]

use serde_json::Value;

/// The few random choices the writer needs.
pub trait Dice {
    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool;
    fn below(&mut self, n: usize) -> usize;
}

/// A string that starts with this is written as the plain text after it,
/// whatever YAML reads it as (`0644`, `yes`, `2001-12-14`).
pub const RAW: char = '\u{1}';

pub fn write<D: Dice>(docs: &[Value], dice: &mut D) -> String {
    let mut w = Writer {
        dice,
        out: String::new(),
        anchors: Vec::new(),
        repeated: Vec::new(),
    };
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 || w.dice.one_in(4) {
            w.out.push_str("---\n");
        }
        if w.dice.one_in(5) {
            w.out.push_str("# a comment before the document\n");
        }
        w.repeated = repeated_subtrees(doc);
        w.anchors.clear();
        w.block(doc, 0);
        if !w.out.ends_with('\n') {
            w.out.push('\n');
        }
    }
    w.out
}

/// Maps and lists that occur more than once in a document (anchor candidates).
fn repeated_subtrees(doc: &Value) -> Vec<Value> {
    fn walk(v: &Value, seen: &mut Vec<(Value, usize)>) {
        let (Value::Object(_) | Value::Array(_)) = v else {
            return;
        };
        let non_empty = match v {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => false,
        };
        if non_empty {
            match seen.iter_mut().find(|(x, _)| x == v) {
                Some((_, n)) => *n += 1,
                None => seen.push((v.clone(), 1)),
            }
        }
        match v {
            Value::Object(m) => m.values().for_each(|c| walk(c, seen)),
            Value::Array(a) => a.iter().for_each(|c| walk(c, seen)),
            _ => {}
        }
    }
    let mut seen = Vec::new();
    walk(doc, &mut seen);
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(v, _)| v)
        .collect()
}

struct Writer<'d, D: Dice> {
    dice: &'d mut D,
    out: String,
    /// Values already written with an anchor: `&aN`.
    anchors: Vec<Value>,
    repeated: Vec<Value>,
}

impl<D: Dice> Writer<'_, D> {
    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// `*aN` when `v` was anchored before; `&aN ` to write before it when it
    /// repeats and the dice say so; None otherwise.
    fn alias_or_anchor(&mut self, v: &Value) -> (Option<String>, Option<String>) {
        if let Some(i) = self.anchors.iter().position(|a| a == v) {
            if !self.dice.one_in(3) {
                return (Some(format!("*a{i}")), None);
            }
            return (None, None);
        }
        if self.repeated.contains(v) && !self.dice.one_in(3) {
            self.anchors.push(v.clone());
            return (None, Some(format!("&a{} ", self.anchors.len() - 1)));
        }
        (None, None)
    }

    /// A value at the start of a document or after `key:` / `- `; `level` is
    /// the indentation of its parent's entries.
    fn block(&mut self, v: &Value, level: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let keys: Vec<&String> = m.keys().collect();
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 || !self.out.is_empty() && !self.out.ends_with('\n') {
                        if !self.out.ends_with('\n') {
                            self.out.push('\n');
                        }
                        if self.dice.one_in(12) {
                            self.indent(level);
                            self.out.push_str("# between entries\n");
                        }
                        self.indent(level);
                    }
                    let key = self.key(k);
                    self.out.push_str(&key);
                    self.out.push(':');
                    self.after_key(&m[*k], level);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, item) in a.iter().enumerate() {
                    if i > 0 || !self.out.is_empty() && !self.out.ends_with('\n') {
                        if !self.out.ends_with('\n') {
                            self.out.push('\n');
                        }
                        self.indent(level);
                    }
                    self.out.push_str("- ");
                    match item {
                        Value::Object(m) if !m.is_empty() && !self.dice.one_in(6) => {
                            let (alias, anchor) = self.alias_or_anchor(item);
                            if let Some(alias) = alias {
                                self.out.push_str(&alias);
                            } else {
                                if let Some(anchor) = anchor {
                                    self.out.push_str(&anchor);
                                    self.out.push('\n');
                                    self.indent(level + 2);
                                }
                                self.block(item, level + 2);
                            }
                        }
                        other => self.inline_or_block(other, level + 2),
                    }
                }
            }
            other => self.inline_or_block(other, level),
        }
    }

    fn after_key(&mut self, v: &Value, level: usize) {
        let (alias, anchor) = match v {
            Value::Object(_) | Value::Array(_) => self.alias_or_anchor(v),
            _ => (None, None),
        };
        if let Some(alias) = alias {
            self.out.push(' ');
            self.out.push_str(&alias);
            return;
        }
        if let Some(anchor) = &anchor {
            self.out.push(' ');
            self.out.push_str(anchor.trim_end());
        }
        match v {
            Value::Object(m) if !m.is_empty() && !self.dice.one_in(8) => {
                self.out.push('\n');
                let step = if self.dice.one_in(6) { 4 } else { 2 };
                self.indent(level + step);
                self.block(v, level + step);
            }
            Value::Array(a) if !a.is_empty() && !self.dice.one_in(8) => {
                self.out.push('\n');
                // Lists flush with their key (kubectl's style) or indented.
                let step = if self.dice.one_in(2) { 0 } else { 2 };
                self.indent(level + step);
                self.block(v, level + step);
            }
            other => {
                self.out.push(' ');
                self.inline_or_block(other, level + 2);
            }
        }
    }

    /// A scalar or a flow collection, or a block scalar for text.
    fn inline_or_block(&mut self, v: &Value, indent: usize) {
        match v {
            Value::String(s)
                if !s.starts_with(RAW) && (s.contains('\n') || self.dice.one_in(10)) =>
            {
                self.text(s, indent);
            }
            _ => {
                let flow = self.flow(v);
                self.out.push_str(&flow);
                if self.dice.one_in(10) {
                    self.out.push_str("  # after a value");
                }
            }
        }
    }

    fn flow(&mut self, v: &Value) -> String {
        match v {
            Value::Null => ["null", "~", ""][self.dice.below(3)].to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => match s.strip_prefix(RAW) {
                Some(raw) => raw.to_string(),
                None => self.scalar(s),
            },
            Value::Array(a) => {
                let items: Vec<String> = a.iter().map(|x| self.flow(x)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Object(m) => {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, x)| format!("{}: {}", self.key(k), self.flow(x)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }

    fn key(&mut self, k: &str) -> String {
        if is_plain_safe(k) && !self.dice.one_in(8) {
            k.to_string()
        } else {
            double_quoted(k)
        }
    }

    /// A string in one line: plain when it reads back as itself, else quoted.
    fn scalar(&mut self, s: &str) -> String {
        match self.dice.below(6) {
            0 if !s.contains(['\n', '\t']) => format!("'{}'", s.replace('\'', "''")),
            1 => double_quoted(s),
            _ if is_plain_safe(s) => s.to_string(),
            _ => double_quoted(s),
        }
    }

    /// A literal or folded block for text.
    fn text(&mut self, s: &str, indent: usize) {
        let plain_lines = !s.contains(['\t', '\r']) && !s.lines().any(|l| l.ends_with(' '));
        if !plain_lines || s.is_empty() || s.starts_with(' ') || s.starts_with('\n') {
            self.out.push_str(&double_quoted(s));
            return;
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        let chomp = match trailing {
            0 => "-",
            1 => "",
            _ => "+",
        };
        // Folded blocks only for text whose lines fold back unchanged.
        let folded = self.dice.one_in(3)
            && !s.contains("\n\n")
            && !s.trim_end_matches('\n').contains('\n')
            && !s.contains("  ");
        self.out.push(if folded { '>' } else { '|' });
        self.out.push_str(chomp);
        if self.dice.one_in(8) {
            self.out.push_str("  # block");
        }
        for line in s.trim_end_matches('\n').split('\n') {
            self.out.push('\n');
            if !line.is_empty() {
                self.indent(indent);
                self.out.push_str(line);
            }
        }
        for _ in 1..trailing {
            self.out.push('\n');
        }
    }
}

fn double_quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

/// Whether a plain scalar spells this string (and nothing YAML reads otherwise).
fn is_plain_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains(['\n', '\t', '\r'])
        && matches!(
            skiff::render::yaml::kyaml::resolve_plain(s),
            Value::String(ref t) if t == s
        )
        && !matches!(
            s,
            "y" | "Y"
                | "yes"
                | "Yes"
                | "YES"
                | "n"
                | "N"
                | "no"
                | "No"
                | "NO"
                | "on"
                | "On"
                | "ON"
                | "off"
                | "Off"
                | "OFF"
                | "<<"
        )
}
