//! YAML output byte for byte as kubectl and kustomize print it: go-yaml v2's
//! `Marshal` of a JSON value (what sigs.k8s.io/yaml's `JSONToYAML` does).
//! Block maps and lists (list items at the key's indentation), empty ones as
//! `{}` and `[]`; each string in the first style go-yaml's emitter allows of
//! the one its encoder asks for (plain, else single quotes, else double
//! quotes; literal blocks for text with line breaks), with its escapes and its
//! line folding past column 80. [`sort_keys`] gives go-yaml v2's key order.

use super::yaml::kyaml::is_printable;
use serde_json::Value;
use std::cmp::Ordering;

/// go-yaml's preferred line width: plain and quoted scalars fold past it.
const WIDTH: usize = 80;
/// Longer keys (or keys with line breaks) are written as `? key`.
const MAX_SIMPLE_KEY: usize = 128;

/// Appends `value` as one YAML document (`---` separated by the caller).
pub fn write_document(value: &Value, out: &mut String) {
    let mut e = Emitter { out };
    match value {
        Value::Object(m) if !m.is_empty() => e.map(m, 0),
        Value::Array(a) if !a.is_empty() => e.list(a, 0),
        other => {
            e.scalar(other, 2, true);
            e.end_line();
        }
    }
}

/// Several documents separated by `---`, as `kubectl kustomize` prints them.
pub fn write_stream(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_document(v, &mut out);
    }
    out
}

/// Keys sorted at every level in go-yaml v2's order, as kubectl prints objects.
pub fn sort_keys(v: &Value) -> Value {
    sort_keys_owned(v.clone())
}

/// [`sort_keys`] on a value it may take apart (no copy of its leaves).
pub fn sort_keys_owned(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let entries = merge_sort(m.into_iter().collect(), &|(a, _), (b, _)| key_order(a, b));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys_owned(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys_owned).collect()),
        other => other,
    }
}

/// A stable merge sort (insertion sort for short runs). go-yaml's order is
/// not transitive for some keys (`1.0e-5` < `1.50` < `1.007` < `1.0e-5`),
/// where Go's output depends on its map's random order; a sort that assumes
/// a total order could panic on them.
fn merge_sort<T>(mut items: Vec<T>, order: &dyn Fn(&T, &T) -> Ordering) -> Vec<T> {
    if items.len() <= 12 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && order(&items[j], &items[j - 1]) == Ordering::Less {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return items;
    }
    let mut right = items;
    let left = right.drain(..right.len() / 2).collect();
    let (left, right) = (merge_sort(left, order), merge_sort(right, order));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if order(b, a) == Ordering::Less {
            out.push(r.next().expect("peeked"));
        } else {
            out.push(l.next().expect("peeked"));
        }
    }
    out.extend(l);
    out.extend(r);
    out
}

/// go-yaml v2's order of string keys: rune by rune, a letter after anything
/// else, runs of digits by their number (`a9` before `a10`).
pub fn key_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return key_order_of(a.as_bytes(), b.as_bytes());
    }
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    key_order_of(&ar, &br)
}

/// [`key_order`] over runes (bytes, for ASCII text).
fn key_order_of<C: Copy + Ord + Into<char>>(ar: &[C], br: &[C]) -> Ordering {
    let digit = |c: C| c.into().is_ascii_digit();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].into().is_alphabetic(), br[i].into().is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i].into() == '0' || br[i].into() == '0' {
            for j in (0..i).rev() {
                if !digit(ar[j]) {
                    break;
                }
                if ar[j].into() != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let digits = |r: &[C], n: &mut i64| {
            let mut k = i;
            while k < r.len() && digit(r[k]) {
                *n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(r[k].into() as u8 - b'0'));
                k += 1;
            }
            k
        };
        let (ai, bi) = (digits(ar, &mut an), digits(br, &mut bn));
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

struct Emitter<'a> {
    out: &'a mut String,
}

impl Emitter<'_> {
    /// The column the output ends at (characters since the last line break).
    fn column(&self) -> usize {
        let line = &self.out[self.out.rfind('\n').map_or(0, |i| i + 1)..];
        line.chars().count()
    }

    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// The space between an indicator and a scalar (none at a line's start).
    fn separate(&mut self) {
        if !(self.out.is_empty() || self.out.ends_with([' ', '\n'])) {
            self.out.push(' ');
        }
    }

    fn end_line(&mut self) {
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// A block map whose keys start at column `level`; the first key goes
    /// where the output is (after `- ` in a list).
    fn map(&mut self, map: &serde_json::Map<String, Value>, level: usize) {
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                self.indent(level);
            }
            if k.len() > MAX_SIMPLE_KEY || k.contains(is_break) {
                // A complex key: `? key` then `: value` on its own line.
                self.out.push('?');
                self.separate();
                self.string(k, level + 2, false);
                self.end_line();
                self.indent(level);
            } else {
                self.separate();
                self.string(k, level + 2, true);
            }
            self.out.push(':');
            self.value_after_key(v, level);
        }
    }

    fn value_after_key(&mut self, v: &Value, level: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.out.push('\n');
                self.indent(level + 2);
                self.map(m, level + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                self.out.push('\n');
                self.indent(level);
                self.list(a, level);
            }
            other => {
                self.scalar(other, level + 2, false);
                self.end_line();
            }
        }
    }

    fn list(&mut self, items: &[Value], level: usize) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.indent(level);
            }
            self.out.push('-');
            match item {
                Value::Object(m) if !m.is_empty() => {
                    self.out.push(' ');
                    self.map(m, level + 2);
                }
                Value::Array(a) if !a.is_empty() => {
                    self.out.push(' ');
                    self.list(a, level + 2);
                }
                other => {
                    self.scalar(other, level + 2, false);
                    self.end_line();
                }
            }
        }
    }

    /// A scalar after an indicator (`key:`, `-`, `?`): the separating space
    /// and the value; continuation lines are indented by `indent`. A simple
    /// key is never folded and never a block.
    fn scalar(&mut self, v: &Value, indent: usize, simple_key: bool) {
        self.separate();
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => self.out.push_str(&go_float(f)),
                _ => self.out.push_str(&n.to_string()),
            },
            Value::String(s) => self.string(s, indent, simple_key),
            Value::Object(_) => self.out.push_str("{}"),
            Value::Array(_) => self.out.push_str("[]"),
        }
    }

    fn string(&mut self, s: &str, indent: usize, simple_key: bool) {
        let a = Analysis::of(s);
        // What go-yaml v2's encoder asks for.
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if plain_reads_back_as_string(s) {
            Style::Plain
        } else {
            Style::Double
        };
        // What its emitter allows.
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && !a.block_plain_allowed {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        let breaks = !simple_key;
        match style {
            Style::Plain => self.plain(s, indent, breaks),
            Style::Single => self.single(s, indent, breaks),
            Style::Double => self.double(s, indent, breaks),
            Style::Literal => self.literal(s, indent),
        }
    }

    fn break_line(&mut self, indent: usize) {
        self.out.push('\n');
        self.indent(indent);
    }

    fn plain(&mut self, s: &str, indent: usize, breaks: bool) {
        let mut column = self.column();
        // Folding happens only at a space past the width: a text that ends
        // before it is written as it is.
        if !breaks || column + s.len() <= WIDTH {
            self.out.push_str(s);
            return;
        }
        let mut chars = s.chars().peekable();
        let mut spaces = false;
        while let Some(c) = chars.next() {
            if c == ' ' {
                if breaks && !spaces && column > WIDTH && chars.peek() != Some(&' ') {
                    self.break_line(indent);
                    column = indent;
                } else {
                    self.out.push(c);
                    column += 1;
                }
                spaces = true;
            } else {
                self.out.push(c);
                column += 1;
                spaces = false;
            }
        }
    }

    fn single(&mut self, s: &str, indent: usize, breaks: bool) {
        self.out.push('\'');
        let mut column = self.column();
        let mut chars = s.chars().peekable();
        let (mut spaces, mut after_break, mut first) = (false, false, true);
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            let at_first = std::mem::replace(&mut first, false);
            if c == ' ' {
                if breaks
                    && !spaces
                    && column > WIDTH
                    && !at_first
                    && next.is_some_and(|n| n != ' ')
                {
                    self.break_line(indent);
                    column = indent;
                } else {
                    self.out.push(c);
                    column += 1;
                }
                spaces = true;
            } else if is_break(c) {
                // Only the breaks that are printable reach here (U+2028, U+2029):
                // written as they are, they end the line for go-yaml, which
                // indents what follows without a newline of its own.
                self.out.push(c);
                column = 0;
                after_break = true;
            } else {
                if after_break {
                    self.indent(indent);
                    column = indent;
                    after_break = false;
                }
                if c == '\'' {
                    self.out.push('\'');
                    column += 1;
                }
                self.out.push(c);
                column += 1;
                spaces = false;
            }
        }
        self.out.push('\'');
    }

    fn double(&mut self, s: &str, indent: usize, breaks: bool) {
        self.out.push('"');
        let mut column = self.column();
        let mut chars = s.chars().peekable();
        let (mut spaces, mut first) = (false, true);
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            let at_first = std::mem::replace(&mut first, false);
            if !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                let escape = escape(c);
                column += escape.len();
                self.out.push_str(&escape);
                spaces = false;
            } else if c == ' ' {
                if breaks && !spaces && column > WIDTH && !at_first && next.is_some() {
                    self.break_line(indent);
                    column = indent;
                    if next == Some(' ') {
                        self.out.push('\\');
                        column += 1;
                    }
                } else {
                    self.out.push(c);
                    column += 1;
                }
                spaces = true;
            } else {
                self.out.push(c);
                column += 1;
                spaces = false;
            }
        }
        self.out.push('"');
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        if s.starts_with([' ', '\n']) || s.starts_with(is_break) {
            self.out.push('2');
        }
        let mut rev = s.chars().rev();
        match (rev.next(), rev.next()) {
            (Some(last), _) if !is_break(last) => self.out.push('-'),
            (Some(_), None) => self.out.push('+'),
            (Some(_), Some(prev)) if is_break(prev) => self.out.push('+'),
            _ => {}
        }
        self.out.push('\n');
        if !s.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
            // Only `\n` breaks: line by line, each non-empty line indented.
            for line in s.split_inclusive('\n') {
                if line != "\n" {
                    self.indent(indent);
                }
                self.out.push_str(line);
            }
            return;
        }
        // At a line's start, indent before the next character (also after
        // a line break written as it is, such as U+2028).
        let mut line_start = true;
        for c in s.chars() {
            if is_break(c) {
                self.out.push(c);
                line_start = true;
            } else {
                if line_start {
                    self.indent(indent);
                    line_start = false;
                }
                self.out.push(c);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// go-yaml's `yaml_emitter_analyze_scalar`: which styles can carry the text.
#[derive(Debug, PartialEq)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    c.is_none_or(|c| c == ' ' || c == '\t' || is_break(c) || c == '\0')
}

impl Analysis {
    fn of(value: &str) -> Analysis {
        if value.is_empty() {
            return Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        if value.is_ascii() {
            return Analysis::of_ascii(value.as_bytes());
        }
        Analysis::of_chars(value)
    }

    /// go-yaml's analysis, character by character.
    fn of_chars(value: &str) -> Analysis {
        let mut block_indicators = value.starts_with("---") || value.starts_with("...");
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let (mut line_breaks, mut special_characters) = (false, false);
        let mut preceded_by_whitespace = true;
        let mut chars = value.chars().peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            let last = next.is_none();
            let followed_by_whitespace = is_blankz(next);
            if first {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => block_indicators = true,
                    '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                    _ => {}
                }
            } else {
                match c {
                    ':' if followed_by_whitespace => block_indicators = true,
                    '#' if preceded_by_whitespace => block_indicators = true,
                    _ => {}
                }
            }
            if !is_printable(c) {
                special_characters = true;
            }
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                if previous_break {
                    break_space = true;
                }
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                if previous_space {
                    space_break = true;
                }
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blankz(Some(c));
            first = false;
        }
        let mut a = Analysis {
            multiline: line_breaks,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special_characters {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

impl Analysis {
    /// [`Analysis::of`] for ASCII text (nearly every value), byte by byte.
    fn of_ascii(b: &[u8]) -> Analysis {
        let blank = |c: Option<&u8>| matches!(c, None | Some(b' ' | b'\t' | b'\n' | b'\r' | 0));
        let brk = |c: u8| c == b'\n' || c == b'\r';
        let last = b.len() - 1;
        let mut block_indicators = b.starts_with(b"---") || b.starts_with(b"...");
        block_indicators |= match b[0] {
            b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' => true,
            b'?' | b':' | b'-' => blank(b.get(1)),
            _ => false,
        };
        let (mut line_breaks, mut special) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        for i in 0..b.len() {
            let c = b[i];
            if c == b' ' || c.is_ascii_alphanumeric() {
                if c == b' ' && i > 0 && brk(b[i - 1]) {
                    break_space = true;
                }
                continue;
            }
            if !(c == b'\n' || (0x20..=0x7e).contains(&c)) {
                special = true;
            }
            if brk(c) {
                line_breaks = true;
                if i > 0 && b[i - 1] == b' ' {
                    space_break = true;
                }
            }
            if i > 0 {
                if c == b':' && blank(b.get(i + 1)) {
                    block_indicators = true;
                }
                if c == b'#' && blank(b.get(i - 1)) {
                    block_indicators = true;
                }
            }
        }
        let (leading_space, leading_break) = (b[0] == b' ', brk(b[0]));
        let (trailing_space, trailing_break) = (b[last] == b' ', brk(b[last]));
        Analysis {
            multiline: line_breaks,
            block_plain_allowed: !(leading_space
                || leading_break
                || trailing_space
                || trailing_break
                || break_space
                || space_break
                || special
                || line_breaks
                || block_indicators),
            single_quoted_allowed: !(break_space || space_break || special),
            block_allowed: !(trailing_space || space_break || special),
        }
    }
}

/// go-yaml's double-quoted escape of one character.
fn escape(c: char) -> String {
    let short = match c {
        '\0' => '0',
        '\u{7}' => 'a',
        '\u{8}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{b}' => 'v',
        '\u{c}' => 'f',
        '\r' => 'r',
        '\u{1b}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => {
            let v = c as u32;
            return match v {
                0..=0xFF => format!("\\x{v:02X}"),
                0x100..=0xFFFF => format!("\\u{v:04X}"),
                _ => format!("\\U{v:08X}"),
            };
        }
    };
    format!("\\{short}")
}

/// Whether go-yaml v2 writes the string plain: read back plain, it must be
/// a string (YAML 1.1: not `yes`, `1:20`, `2001-12-14`, `0x1F`, `09`, ...).
fn plain_reads_back_as_string(s: &str) -> bool {
    use super::yaml::kyaml;
    let yaml_1_1_word = matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
            | "<<"
    );
    let special = s.starts_with(['.', '+', '-'])
        && kyaml::resolve_plain(s) == Value::String(s.to_string())
        && matches!(
            s.trim_start_matches(['+', '-']),
            ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
        );
    !yaml_1_1_word
        && !special
        && kyaml::timestamp(s).is_none()
        && matches!(kyaml::resolve_plain(s), Value::String(_))
        && !is_base60_float(s)
}

/// go-yaml v2's `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let digits = &b[start..i];
        let ok = match digits {
            [d] => d.is_ascii_digit(),
            [d0, _] => (b'0'..=b'5').contains(d0),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A float as Go's `strconv.FormatFloat(f, 'g', -1, 64)` writes it (how
/// go-yaml prints floats): shortest digits, exponent form below 1e-4 and from 1e6.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse_documents;
    use super::*;

    #[test]
    fn the_ascii_analysis_is_the_character_one() {
        let parts = [
            "", " ", "a", "\n", "\r", "\t", ":", ": ", "#", " #", "-", "- ", "---", "...", "?",
            "'", "\"", "x:y", "{", "%", "\u{7f}", "\u{1}", "a b", " \n", "\n ", "1", "Z",
        ];
        let mut n = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    let s = format!("{a}{b}{c}");
                    if s.is_empty() {
                        continue;
                    }
                    assert_eq!(
                        Analysis::of_ascii(s.as_bytes()),
                        Analysis::of_chars(&s),
                        "{s:?}"
                    );
                    n += 1;
                }
            }
        }
        assert!(n > 10_000);
    }
    use serde_json::json;

    #[test]
    fn round_trips_through_the_reader() {
        let v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "true"}},
            "data": {"mode": "0644", "empty": "", "script": "echo hi\nexit 0\n", "no-newline": "a\nb",
                     "colon": "a: b", "dash": "-x", "list": "- a", "on": "on", "num": 420, "spaces": " x "},
            "spec": {"items": [{"name": "a", "ports": [80, 443]}, "plain", {"k": []}], "empty": {}}});
        let mut out = String::new();
        write_document(&v, &mut out);
        assert_eq!(parse_documents(&out).unwrap(), vec![v], "{out}");
        assert!(out.contains("  mode: \"0644\"\n"), "{out}");
        assert!(out.contains("- name: a\n"), "{out}");
    }

    #[test]
    fn strings_take_the_style_go_yaml_gives_them() {
        let cases = [
            ("plain", "x: plain\n"),
            ("", "x: \"\"\n"),
            ("yes", "x: \"yes\"\n"),
            ("1:20", "x: \"1:20\"\n"),
            ("2001-12-14", "x: \"2001-12-14\"\n"),
            ("...", "x: '...'\n"),
            ("a: b", "x: 'a: b'\n"),
            ("it's: x", "x: 'it''s: x'\n"),
            ("tab\there", "x: \"tab\\there\"\n"),
            ("smile 😀", "x: \"smile \\U0001F600\"\n"),
            ("a\nb\n", "x: |\n  a\n  b\n"),
            ("a\nb", "x: |-\n  a\n  b\n"),
            ("a\n\n", "x: |+\n  a\n\n"),
            ("\n\n", "x: |2+\n\n\n"),
            ("  lead\nx\n", "x: |2\n    lead\n  x\n"),
            ("trailing \nx\n", "x: \"trailing \\nx\\n\"\n"),
            ("a\r\nb", "x: \"a\\r\\nb\"\n"),
        ];
        for (s, want) in cases {
            let mut out = String::new();
            write_document(&json!({ "x": s }), &mut out);
            assert_eq!(out, want, "{s:?}");
        }
        let mut out = String::new();
        write_document(&json!({ "x": "word ".repeat(20).trim_end() }), &mut out);
        assert_eq!(
            out,
            "x: word word word word word word word word word word word word word word word word\n  word word word word\n"
        );
    }

    #[test]
    fn keys_sort_as_go_yaml_sorts_them() {
        // As kubectl printed these keys of a ConfigMap's data.
        let keys = [
            "b", "a10", "a9", "_x", "B", "a", "1", "10", "2", "a01", "a1", "-", "z.1", "z-1",
        ];
        let owned: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let sorted: Vec<&str> = merge_sort(owned.iter().collect(), &|a, b| key_order(a, b))
            .into_iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            sorted,
            ["-", "_x", "1", "2", "10", "B", "a", "a1", "a01", "a9", "a10", "b", "z-1", "z.1"]
        );
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1e-7), "1e-07");
        assert_eq!(go_float(1.2345678912345679e8), "1.2345678912345679e+08");
        assert_eq!(go_float(6.02e23), "6.02e+23");
    }
}
