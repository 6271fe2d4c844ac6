//! A fast reader for the YAML manifests are written in: block maps and lists,
//! one-line flow collections, plain and one-line quoted scalars, literal and
//! folded blocks, comments, `---` between documents. It gives up (`None`) on
//! anything else — anchors, tags, multi-line plain or quoted scalars, tabs,
//! duplicate or merge keys, anything malformed — and the full parser reads
//! the text instead, so results and errors are the full parser's. Scalars are
//! resolved by the same function, so a plain `0644` is 420 either way.
//!
//! Why: saphyr's event parser reads about 25 MB/s; most of a render's time
//! went there.

use super::{key_string, kyaml, resolve_scalar, Dialect, Place};
use saphyr_parser::ScalarStyle;
use serde_json::{Map, Value};

/// Nesting beyond this is left to the full parser.
const MAX_DEPTH: usize = 200;

/// Every document of `text`, or `None` when the full parser must read it.
pub(super) fn parse(text: &str, dialect: Dialect) -> Option<Vec<Value>> {
    if text.contains(['\t', '\r']) || text.starts_with('\u{feff}') {
        return None;
    }
    let ends_with_newline = text.ends_with('\n');
    let mut lines: Vec<&str> = text.split('\n').collect();
    if ends_with_newline {
        lines.pop();
    }
    let mut docs = Vec::new();
    // Reused by every document's reader.
    let mut scratch = Scratch::default();
    let mut start = 0;
    let mut i = 0;
    let mut closed = false;
    while i <= lines.len() {
        let boundary = match lines.get(i) {
            None => true,
            Some(line) if line.starts_with("---") || line.starts_with("...") => {
                let rest = &line[3..];
                if !(rest.trim_end().is_empty()
                    || rest.trim_start().starts_with('#') && rest.starts_with(' '))
                {
                    return None;
                }
                true
            }
            Some(line) if line.starts_with('%') => return None,
            Some(_) => {
                if closed && !skip(lines[i]) {
                    // Content after `...` without a new `---`.
                    return None;
                }
                false
            }
        };
        if boundary {
            let mut p = Reader {
                lines: &lines[..i],
                i: start,
                dialect,
                depth: 0,
                last_is_unterminated: i == lines.len() && !ends_with_newline,
                scratch: std::mem::take(&mut scratch),
            };
            if let Some((indent, content)) = p.peek() {
                let value = p.block(indent, content, Place::Root)?;
                if p.peek().is_some() {
                    return None;
                }
                if !value.is_null() {
                    docs.push(value);
                }
            }
            scratch = p.scratch;
            closed = lines.get(i).is_some_and(|l| l.starts_with("..."));
            start = i + 1;
        }
        i += 1;
    }
    Some(docs)
}

fn skip(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_dash(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// Where a ` #` comment starts in `line`, or its length.
fn comment_start(line: &str) -> usize {
    let b = line.as_bytes();
    (1..b.len())
        .find(|&i| b[i] == b'#' && b[i - 1] == b' ')
        .map_or(b.len(), |i| i - 1)
}

/// What follows a value on its line may only be spaces and a comment.
fn only_comment(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

enum Key<'a> {
    Key(String, &'a str),
    NotKey,
}

struct Reader<'a, 'l> {
    lines: &'l [&'a str],
    i: usize,
    dialect: Dialect,
    depth: usize,
    /// The last line of the text has no newline (block scalars need one).
    last_is_unterminated: bool,
    scratch: Scratch,
}

/// The entries and items of the collections being read, innermost last.
/// A collection is built from its own run once it is complete, at its exact
/// size: growing each map and list as entries arrive cost more than reading.
#[derive(Default)]
struct Scratch {
    entries: Vec<(String, Value)>,
    items: Vec<Value>,
}

impl<'a> Reader<'a, '_> {
    /// The next line with content (skipping blanks and comments): its indent and text.
    fn peek(&mut self) -> Option<(usize, &'a str)> {
        while let Some(line) = self.lines.get(self.i) {
            if !skip(line) {
                let indent = indent_of(line);
                return Some((indent, &line[indent..]));
            }
            self.i += 1;
        }
        None
    }

    fn plain(&self, text: &str, place: Place) -> Value {
        if place == Place::AnnotationValue && self.dialect == Dialect::KustomizeResources {
            return Value::String(text.to_string());
        }
        resolve_scalar(text, ScalarStyle::Plain, None, self.dialect)
    }

    /// A map key: its text for kustomize, else the resolved scalar as text.
    fn key_text(&self, text: &str) -> Option<String> {
        if self.dialect.is_kustomize() {
            return Some(text.to_string());
        }
        match self.plain(text, Place::Other) {
            Value::String(s) => Some(s),
            other => key_string(&other),
        }
    }

    /// A node that starts with `content` at column `indent` of line `self.i`.
    fn block(&mut self, indent: usize, content: &'a str, place: Place) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let value = if is_dash(content) {
            self.seq(indent, content, place)
        } else {
            match self.key(content)? {
                Key::Key(..) => self.map(indent, content, place),
                // A block scalar alone on its line has an indentation the
                // full parser works out.
                Key::NotKey if content.starts_with(['|', '>']) => None,
                Key::NotKey => {
                    self.i += 1;
                    self.inline(content, indent as isize - 1, place)
                }
            }
        };
        self.depth -= 1;
        value
    }

    /// Whether `content` starts a map entry (`key: ...`), and its key and the rest.
    fn key(&self, content: &'a str) -> Option<Key<'a>> {
        let first = content.chars().next()?;
        if first == '"' || first == '\'' {
            let (text, used) = quoted(content)?;
            let rest = &content[used..];
            let after = rest.trim_start_matches(' ');
            return match after.strip_prefix(':') {
                Some(r) if r.is_empty() || r.starts_with(' ') => Some(Key::Key(text, r)),
                _ => {
                    if only_comment(rest) {
                        Some(Key::NotKey)
                    } else {
                        None
                    }
                }
            };
        }
        if "[]{},#&*!|>%@`?:".contains(first) {
            return if "[{|>".contains(first) || first == '#' {
                Some(Key::NotKey)
            } else {
                None
            };
        }
        let bytes = content.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b':' if i + 1 == bytes.len() || bytes[i + 1] == b' ' => {
                    let key = content[..i].trim_end_matches(' ');
                    if key == "<<" {
                        return None;
                    }
                    return Some(Key::Key(self.key_text(key)?, &content[i + 1..]));
                }
                b'#' if i > 0 && bytes[i - 1] == b' ' => return Some(Key::NotKey),
                _ => {}
            }
        }
        Some(Key::NotKey)
    }

    fn map(&mut self, indent: usize, first: &'a str, place: Place) -> Option<Value> {
        let start = self.scratch.entries.len();
        let mut content = first;
        loop {
            let Key::Key(key, rest) = self.key(content)? else {
                return None;
            };
            self.i += 1;
            let value = self.value_after_key(indent, rest, place.key(&key))?;
            self.scratch.entries.push((key, value));
            match self.peek() {
                Some((i, c)) if i == indent && !is_dash(c) => content = c,
                Some((i, _)) if i >= indent => return None,
                _ => break,
            }
        }
        let count = self.scratch.entries.len() - start;
        let map: Map<String, Value> = self.scratch.entries.drain(start..).collect();
        // A repeated key is an error the full parser words.
        (map.len() == count).then_some(Value::Object(map))
    }

    fn value_after_key(&mut self, indent: usize, rest: &'a str, place: Place) -> Option<Value> {
        let r = rest.trim_start_matches(' ');
        if r.is_empty() || r.starts_with('#') {
            return match self.peek() {
                Some((i, c)) if i > indent => self.block(i, c, place),
                Some((i, c)) if i == indent && is_dash(c) => self.seq(i, c, place),
                // kustomize drops a field left empty (`key:`) when it merges
                // a patch in: the full parser records where they are.
                _ if self.dialect == Dialect::KustomizeResources
                    && place != Place::AnnotationValue =>
                {
                    None
                }
                _ => Some(self.plain("", place)),
            };
        }
        self.inline(r, indent as isize, place)
    }

    fn seq(&mut self, indent: usize, first: &'a str, place: Place) -> Option<Value> {
        let item_place = place.item();
        let start = self.scratch.items.len();
        let mut content = first;
        loop {
            let rest = &content[1..];
            let r = rest.trim_start_matches(' ');
            let column = indent + 1 + (rest.len() - r.len());
            let item = if r.is_empty() || r.starts_with('#') {
                self.i += 1;
                match self.peek() {
                    Some((i, c)) if i > indent => self.block(i, c, item_place)?,
                    _ => self.plain("", item_place),
                }
            } else if is_dash(r) {
                return None;
            } else {
                match self.key(r)? {
                    Key::Key(..) => {
                        self.depth += 1;
                        if self.depth > MAX_DEPTH {
                            return None;
                        }
                        let m = self.map(column, r, item_place)?;
                        self.depth -= 1;
                        m
                    }
                    Key::NotKey => {
                        self.i += 1;
                        self.inline(r, indent as isize, item_place)?
                    }
                }
            };
            self.scratch.items.push(item);
            match self.peek() {
                Some((i, c)) if i == indent && is_dash(c) => content = c,
                Some((i, _)) if i > indent => return None,
                _ => break,
            }
        }
        Some(Value::Array(self.scratch.items.drain(start..).collect()))
    }

    /// A value that starts on an already consumed line: a scalar, a one-line
    /// flow collection, or a block scalar (whose lines follow).
    fn inline(&mut self, r: &'a str, parent: isize, place: Place) -> Option<Value> {
        let first = r.chars().next()?;
        match first {
            '|' | '>' => self.block_scalar(r, parent),
            '[' | '{' => {
                let mut flow = Flow {
                    s: r.as_bytes(),
                    text: r,
                    at: 0,
                    reader: self,
                    depth: 0,
                };
                let v = flow.node(place)?;
                let at = flow.at;
                only_comment(&r[at..]).then_some(v)
            }
            '"' | '\'' => {
                let (text, used) = quoted(r)?;
                only_comment(&r[used..]).then_some(Value::String(text))
            }
            '&' | '*' | '!' | '%' | '@' | '`' | ']' | '}' | ',' => None,
            '-' | '?' | ':' if r.len() == 1 || r.as_bytes()[1] == b' ' => None,
            _ => {
                let text = r[..comment_start(r)].trim_end_matches(' ');
                let colon_space = |b: &[u8]| b[0] == b':' && b[1] == b' ';
                if text.as_bytes().windows(2).any(colon_space) || text.ends_with(':') {
                    return None;
                }
                Some(self.plain(text, place))
            }
        }
    }

    fn block_scalar(&mut self, header: &str, parent: isize) -> Option<Value> {
        let literal = header.starts_with('|');
        let mut chomp = ' ';
        let mut explicit: Option<usize> = None;
        let mut rest = &header[1..];
        for _ in 0..2 {
            match rest.chars().next() {
                Some(c @ ('+' | '-')) if chomp == ' ' => {
                    chomp = c;
                    rest = &rest[1..];
                }
                Some(c @ '1'..='9') if explicit.is_none() => {
                    explicit = Some(c as usize - '0' as usize);
                    rest = &rest[1..];
                }
                _ => break,
            }
        }
        // Explicit indentation indicators are rare; the full parser reads them.
        if !only_comment(rest) || explicit.is_some() {
            return None;
        }
        let start = self.i;
        let content_indent = match explicit {
            Some(d) => (parent + d as isize) as usize,
            None => {
                let mut blank_width = 0;
                let mut found = None;
                for line in &self.lines[start..] {
                    if line.trim_start_matches(' ').is_empty() {
                        blank_width = blank_width.max(line.len());
                    } else {
                        found = Some(indent_of(line));
                        break;
                    }
                }
                match found {
                    Some(m) if (m as isize) > parent => {
                        if blank_width > m {
                            return None;
                        }
                        m
                    }
                    // No content: the scalar is empty.
                    _ => usize::MAX,
                }
            }
        };
        let mut body: Vec<&str> = Vec::new();
        let mut j = start;
        while let Some(line) = self.lines.get(j) {
            let blank = line.trim_start_matches(' ').is_empty();
            if blank {
                if content_indent != usize::MAX && line.len() > content_indent {
                    return None;
                }
                body.push("");
            } else if indent_of(line) >= content_indent {
                body.push(&line[content_indent..]);
            } else {
                break;
            }
            j += 1;
        }
        if j == self.lines.len() && self.last_is_unterminated && j > start {
            return None;
        }
        self.i = j;
        let trailing = body.iter().rev().take_while(|l| l.is_empty()).count();
        let body = &body[..body.len() - trailing];
        if body.is_empty() {
            return if chomp == '+' {
                None
            } else {
                Some(Value::String(String::new()))
            };
        }
        let mut text = String::new();
        if literal {
            text.push_str(&body.join("\n"));
        } else {
            let mut empty_run = 0;
            for (k, line) in body.iter().enumerate() {
                if line.is_empty() {
                    empty_run += 1;
                    continue;
                }
                if line.starts_with(' ') {
                    // More-indented lines fold differently: the full parser knows how.
                    return None;
                }
                if k > 0 {
                    if empty_run == 0 {
                        text.push(' ');
                    } else {
                        text.push_str(&"\n".repeat(empty_run));
                    }
                }
                empty_run = 0;
                text.push_str(line);
            }
        }
        match chomp {
            '-' => {}
            '+' => text.push_str(&"\n".repeat(1 + trailing)),
            _ => text.push('\n'),
        }
        if !literal && self.dialect.is_kustomize() {
            text = kyaml::folded_round_trip(&text);
        }
        Some(Value::String(text))
    }
}

/// A one-line quoted scalar at the start of `s`: its text and the bytes used.
fn quoted(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    if bytes[0] == b'\'' {
        let mut i = 1;
        let mut run = 1;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                out.push_str(&s[run..i]);
                if bytes.get(i + 1) == Some(&b'\'') {
                    out.push('\'');
                    i += 2;
                    run = i;
                    continue;
                }
                return Some((out, i + 1));
            }
            i += 1;
        }
        return None;
    }
    let mut i = 1;
    let mut run = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                out.push_str(&s[run..i]);
                return Some((out, i + 1));
            }
            b'\\' => {
                out.push_str(&s[run..i]);
                let esc = *bytes.get(i + 1)?;
                let (c, used) = match esc {
                    b'0' => ('\0', 2),
                    b'a' => ('\u{7}', 2),
                    b'b' => ('\u{8}', 2),
                    b't' => ('\t', 2),
                    b'n' => ('\n', 2),
                    b'v' => ('\u{b}', 2),
                    b'f' => ('\u{c}', 2),
                    b'r' => ('\r', 2),
                    b'e' => ('\u{1b}', 2),
                    b' ' => (' ', 2),
                    b'"' => ('"', 2),
                    b'/' => ('/', 2),
                    b'\\' => ('\\', 2),
                    b'N' => ('\u{85}', 2),
                    b'_' => ('\u{a0}', 2),
                    b'L' => ('\u{2028}', 2),
                    b'P' => ('\u{2029}', 2),
                    b'x' | b'u' | b'U' => {
                        let n = match esc {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let hex = s.get(i + 2..i + 2 + n)?;
                        let code = u32::from_str_radix(hex, 16).ok()?;
                        (char::from_u32(code)?, 2 + n)
                    }
                    _ => return None,
                };
                out.push(c);
                i += used;
                run = i;
            }
            _ => i += 1,
        }
    }
    None
}

/// A one-line flow collection.
struct Flow<'s, 'r, 'a, 'l> {
    s: &'s [u8],
    text: &'s str,
    at: usize,
    reader: &'r Reader<'a, 'l>,
    depth: usize,
}

impl<'s> Flow<'s, '_, '_, '_> {
    fn spaces(&mut self) {
        while self.s.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn node(&mut self, place: Place) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.spaces();
        let v = match *self.s.get(self.at)? {
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.spaces();
                if self.s.get(self.at) == Some(&b']') {
                    self.at += 1;
                } else {
                    loop {
                        items.push(self.node(place.item())?);
                        if self.after_item(b']')? {
                            break;
                        }
                    }
                }
                Value::Array(items)
            }
            b'{' => {
                self.at += 1;
                let mut map = Map::new();
                self.spaces();
                if self.s.get(self.at) == Some(&b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.spaces();
                        let key = match self.s.get(self.at)? {
                            b'"' | b'\'' => {
                                let (text, used) = quoted(&self.text[self.at..])?;
                                self.at += used;
                                text
                            }
                            b'[' | b'{' => return None,
                            _ => {
                                let text = self.scalar_text()?;
                                self.reader.key_text(text)?
                            }
                        };
                        self.spaces();
                        if self.s.get(self.at) != Some(&b':') {
                            return None;
                        }
                        self.at += 1;
                        self.spaces();
                        if matches!(self.s.get(self.at), Some(b',' | b'}') | None) {
                            return None;
                        }
                        let value = self.node(place.key(&key))?;
                        if key == "<<" {
                            return None;
                        }
                        match map.entry(key) {
                            serde_json::map::Entry::Vacant(slot) => slot.insert(value),
                            serde_json::map::Entry::Occupied(_) => return None,
                        };
                        if self.after_item(b'}')? {
                            break;
                        }
                    }
                }
                Value::Object(map)
            }
            b'"' | b'\'' => {
                let (text, used) = quoted(&self.text[self.at..])?;
                self.at += used;
                Value::String(text)
            }
            _ => {
                let text = self.scalar_text()?;
                match self.reader.dialect.is_kustomize() && place != Place::AnnotationValue {
                    true => kyaml::resolve_plain_in_flow(text),
                    false => self.reader.plain(text, place),
                }
            }
        };
        self.depth -= 1;
        Some(v)
    }

    /// After an item: a comma (more items follow) or the closer (`true`). A
    /// trailing comma is left to the full parser.
    fn after_item(&mut self, close: u8) -> Option<bool> {
        self.spaces();
        let b = *self.s.get(self.at)?;
        self.at += 1;
        if b == close {
            return Some(true);
        }
        if b != b',' {
            return None;
        }
        self.spaces();
        (self.s.get(self.at) != Some(&close)).then_some(false)
    }

    /// A plain scalar inside a flow collection: its text.
    fn scalar_text(&mut self) -> Option<&'s str> {
        let start = self.at;
        let first = *self.s.get(start)?;
        let next = self.s.get(start + 1).copied();
        if b"&*!|>%@`#,[]{}".contains(&first)
            || (b"-?:".contains(&first) && matches!(next, None | Some(b' ' | b',' | b']' | b'}')))
        {
            return None;
        }
        while let Some(&b) = self.s.get(self.at) {
            match b {
                b',' | b'[' | b']' | b'{' | b'}' => break,
                b':' if matches!(
                    self.s.get(self.at + 1),
                    None | Some(b' ' | b',' | b']' | b'}' | b'[' | b'{')
                ) =>
                {
                    break
                }
                b'#' if self.s[self.at - 1] == b' ' => return None,
                _ => self.at += 1,
            }
        }
        let text = self.text[start..self.at].trim_end_matches(' ');
        if text.is_empty() {
            return None;
        }
        Some(text)
    }
}
