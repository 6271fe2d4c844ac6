//! How kustomize (kyaml) reads a scalar, as `kubectl kustomize` prints it.
//!
//! kyaml keeps every scalar as YAML text with a tag while it builds; when it
//! prints a resource it encodes the node tree with go-yaml v3, decodes that
//! into Go values, and writes them as JSON, which sigs.k8s.io/yaml turns into
//! the YAML you see. So the value an untagged plain scalar ends up as is:
//!
//! - go-yaml v3's resolution of the text (YAML 1.2 booleans and nulls, Go's
//!   integer syntax with `_` ignored and `0644` octal, timestamps);
//! - then the JSON step: a timestamp becomes Go's RFC 3339 text of the time,
//!   and a float that is a whole number comes back as an integer (`1e3` is
//!   1000), as JSON carries it to go-yaml v2;
//! - and a folded block scalar (`>`) goes through go-yaml v3's folded writer
//!   and back, which adds a line break before a line that starts with a space
//!   (or drops one when the text itself starts with a space).
//!
//! Everything here is a pure function of the text.

use serde_json::{Number, Value};

/// A plain scalar as kustomize prints it.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        // JSON has no infinities: kustomize fails on them; keep the text.
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Value::String(text.to_string()),
        _ => {}
    }
    match text.as_bytes()[0] {
        b'.' => match go_parse_float(text) {
            Some(f) => float(f, text),
            None => Value::String(text.to_string()),
        },
        b'0'..=b'9' | b'+' | b'-' => {
            if let Some(t) = timestamp(text) {
                return Value::String(t);
            }
            number(text).unwrap_or_else(|| Value::String(text.to_string()))
        }
        _ => Value::String(text.to_string()),
    }
}

/// Whether go-yaml must quote (or block) this string: as a plain scalar it
/// would read as something else, or could not be written at all.
pub fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` \t".contains(c))
        || s.ends_with([' ', '\t', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.contains(['\n', '\r'])
        || resolve_plain(s) != Value::String(s.to_string())
}

/// A plain scalar inside braces or brackets. kyaml writes flow collections
/// back in flow style, where go-yaml quotes a scalar with `:` in it, so a
/// timestamp with a time of day stays its text; a date alone still converts.
pub fn resolve_plain_in_flow(text: &str) -> Value {
    if text.contains(':') && timestamp(text).is_some() {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

/// go-yaml v3's integer and float forms of a scalar starting with a digit or sign.
fn number(text: &str) -> Option<Value> {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(Value::Number(Number::from(i)));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Value::Number(Number::from(u)));
    }
    if yaml_style_float(&plain) {
        if let Some(f) = go_parse_float(&plain) {
            return Some(float(f, text));
        }
    }
    for (prefix, radix, negative) in [
        ("0b", 2, false),
        ("-0b", 2, true),
        ("0o", 8, false),
        ("-0o", 8, true),
    ] {
        if let Some(digits) = plain.strip_prefix(prefix) {
            let v = i64::from_str_radix(digits, radix).ok()?;
            if digits.starts_with(['+', '-']) {
                return None;
            }
            return Some(Value::Number(Number::from(if negative { -v } else { v })));
        }
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)` on text without underscores.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_magnitude(body)?;
    if negative {
        if magnitude == 1 << 63 {
            return Some(i64::MIN);
        }
        i64::try_from(magnitude).ok().map(|v| -v)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: no sign allowed.
fn go_parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    go_parse_magnitude(s)
}

/// Digits with Go's base prefixes: `0x`, `0b`, `0o` (any case), a leading `0` for octal.
fn go_parse_magnitude(body: &str) -> Option<u64> {
    let b = body.as_bytes();
    let (radix, digits) = if b.len() > 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => (16, &body[2..]),
            b'b' | b'B' => (2, &body[2..]),
            b'o' | b'O' => (8, &body[2..]),
            _ => (8, &body[1..]),
        }
    } else if b.len() == 2 && b[0] == b'0' && b[1].is_ascii_digit() {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML reaches it with.
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    // Rust reads "1." and ".5" as Go does; a sign is taken once.
    if s.len() - body.len() > 1 {
        return None;
    }
    s.parse::<f64>().ok()
}

/// A float after kyaml's JSON step: Go's encoding/json writes it (`%f` digits
/// below 1e21), go-yaml v2 reads that text back, so a whole number is an
/// integer again. Infinities cannot be JSON: the text is kept.
pub fn float(f: f64, text: &str) -> Value {
    if !f.is_finite() {
        return Value::String(text.to_string());
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // The shortest digits of the float, padded with zeros: what Go's
        // FormatFloat(f, 'f', -1, 64) writes.
        let sci = format!("{:e}", f.abs());
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: usize = exp.parse().unwrap_or(0);
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let mut whole = digits.clone();
        while whole.len() < exp + 1 {
            whole.push('0');
        }
        if let Ok(u) = whole.parse::<u64>() {
            if f < 0.0 {
                if u <= 1 << 63 {
                    return Value::Number(Number::from((u as i128).wrapping_neg() as i64));
                }
            } else if u <= i64::MAX as u64 {
                return Value::Number(Number::from(u as i64));
            } else {
                return Value::Number(Number::from(u));
            }
        }
    }
    Number::from_f64(f).map_or_else(|| Value::String(text.to_string()), Value::Number)
}

/// A plain scalar that go-yaml v3 reads as a timestamp, as Go's JSON writes
/// the time: `2001-12-14` is `2001-12-14T00:00:00Z`.
pub fn timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    parse_time(s).map(|t| t.rfc3339_nano())
}

/// A time as Go's `time.Parse` reads it with go-yaml v3's layouts.
#[derive(Debug, PartialEq)]
struct Time {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Fractional digits as written (at most 9 kept).
    nanos: u32,
    /// Offset east of UTC in minutes.
    offset: i32,
}

impl Time {
    fn rfc3339_nano(&self) -> String {
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let m = self.offset.abs();
            out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
        out
    }
}

/// Up to two digits (Go's `getnum` without a fixed width).
fn num2(s: &mut &[u8]) -> Option<u32> {
    let d0 = *s.first().filter(|c| c.is_ascii_digit())?;
    if let Some(d1) = s.get(1).filter(|c| c.is_ascii_digit()) {
        *s = &s[2..];
        return Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'));
    }
    *s = &s[1..];
    Some(u32::from(d0 - b'0'))
}

fn lit(s: &mut &[u8], c: u8) -> Option<()> {
    (s.first() == Some(&c)).then(|| *s = &s[1..])
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// go-yaml v3's layouts, first that fits: `2006-1-2T15:4:5.999999999Z07:00`
/// (also with `t`), `2006-1-2 15:4:5.999999999` (UTC), `2006-1-2`.
fn parse_time(text: &str) -> Option<Time> {
    let mut s = text.as_bytes();
    let year: i64 = std::str::from_utf8(&s[..4]).ok()?.parse().ok()?;
    s = &s[4..];
    lit(&mut s, b'-')?;
    let month = num2(&mut s)?;
    lit(&mut s, b'-')?;
    let day = num2(&mut s)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return None;
    }
    let mut t = Time {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: 0,
    };
    if s.is_empty() {
        return Some(t);
    }
    let zoned = match s[0] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    s = &s[1..];
    t.hour = num2(&mut s)?;
    lit(&mut s, b':')?;
    t.minute = num2(&mut s)?;
    lit(&mut s, b':')?;
    t.second = num2(&mut s)?;
    if t.hour > 23 || t.minute > 59 || t.second > 59 {
        return None;
    }
    if s.len() >= 2 && matches!(s[0], b'.' | b',') && s[1].is_ascii_digit() {
        let n = s[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let digits = &s[1..1 + n.min(9)];
        let mut nanos: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        for _ in digits.len()..9 {
            nanos *= 10;
        }
        t.nanos = nanos;
        s = &s[1 + n..];
    }
    if !zoned {
        return s.is_empty().then_some(t);
    }
    if s == b"Z" {
        return Some(t);
    }
    if s.len() != 6 || !matches!(s[0], b'+' | b'-') || s[3] != b':' {
        return None;
    }
    let two = |d: &[u8]| -> Option<i32> {
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| i32::from(d[0] - b'0') * 10 + i32::from(d[1] - b'0'))
    };
    let (h, m) = (two(&s[1..3])?, two(&s[4..6])?);
    if h > 24 || m > 60 {
        return None;
    }
    t.offset = (h * 60 + m) * if s[0] == b'-' { -1 } else { 1 };
    Some(t)
}

/// A folded block scalar's text after go-yaml v3 writes it in folded style and
/// reads it back (kyaml does so whenever it prints a resource). Its writer
/// decides whether to add the blank line that keeps a line break by looking
/// at the start of the whole text rather than at what follows the break:
/// when the text starts with a word, a break before a more-indented line
/// gains a blank line; when it starts with a space, breaks between lines of
/// words fold into spaces.
pub fn folded_round_trip(value: &str) -> String {
    if !block_style_allowed(value) || value.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        // The writer picks double quotes for these, which read back unchanged.
        return value.to_string();
    }
    let starts_with_word = !value.starts_with([' ', '\t', '\n']) && !value.is_empty();
    // What the writer prints: lines of the block, without indentation.
    let mut lines: Vec<String> = vec![String::new()];
    let (mut breaks, mut leading_spaces) = (true, true);
    for c in value.chars() {
        if c == '\n' {
            if !breaks && !leading_spaces && starts_with_word {
                lines.push(String::new());
            }
            lines.push(String::new());
            breaks = true;
        } else {
            if breaks {
                leading_spaces = c == ' ' || c == '\t';
            }
            lines.last_mut().expect("one line").push(c);
            breaks = false;
        }
    }
    // The block's chomping indicator, from the text as the writer saw it.
    let trailing = value.len() - value.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => '-',
        1 if value.len() > 1 => ' ',
        _ => '+',
    };
    read_folded(&lines, chomp)
}

/// libyaml's reading of a folded block's lines (indentation already removed).
fn read_folded(lines: &[String], chomp: char) -> String {
    // The last element is what follows the final break: empty, or content
    // that had no break after it.
    let (body, tail_open) = match lines.split_last() {
        Some((last, rest)) if last.is_empty() => (rest, false),
        _ => (lines, true),
    };
    let mut s = String::new();
    let mut leading_break = "";
    let mut trailing_breaks = String::new();
    let mut leading_blank = false;
    let mut i = 0;
    while i < body.len() && body[i].is_empty() {
        trailing_breaks.push('\n');
        i += 1;
    }
    while i < body.len() {
        let line = &body[i];
        let trailing_blank = line.starts_with([' ', '\t']);
        if leading_break == "\n" && !leading_blank && !trailing_blank {
            if trailing_breaks.is_empty() {
                s.push(' ');
            }
        } else {
            s.push_str(leading_break);
        }
        s.push_str(&trailing_breaks);
        trailing_breaks.clear();
        leading_blank = trailing_blank;
        s.push_str(line);
        leading_break = if i + 1 == body.len() && tail_open {
            ""
        } else {
            "\n"
        };
        i += 1;
        while i < body.len() && body[i].is_empty() {
            trailing_breaks.push('\n');
            i += 1;
        }
    }
    if chomp != '-' {
        s.push_str(leading_break);
    }
    if chomp == '+' {
        s.push_str(&trailing_breaks);
    }
    s
}

/// Whether go-yaml's writers may use a block style for the text: no space
/// before a line break or at the end, only printable characters.
pub fn block_style_allowed(value: &str) -> bool {
    !value.ends_with(' ')
        && !value.contains(" \n")
        && value.chars().all(|c| c == '\n' || is_printable(c))
}

/// go-yaml's `is_printable` (tab and carriage return are not).
pub fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_resolve_as_kustomize_prints_them() {
        let cases = [
            ("0644", json!(420)),
            ("09", json!(9)),
            ("012345678", json!(12345678)),
            ("0x1F", json!(31)),
            ("0X1f", json!(31)),
            ("0B1", json!(1)),
            ("0O17", json!(15)),
            ("-0x1F", json!(-31)),
            ("0x_1F", json!(31)),
            ("1_000", json!(1000)),
            ("1__0", json!(10)),
            ("_1", json!("_1")),
            ("+12", json!(12)),
            ("-0", json!(0)),
            (".5", json!(0.5)),
            ("1e3", json!(1000)),
            ("1.0", json!(1)),
            ("1.50", json!(1.5)),
            ("6.02e+23", json!(6.02e23)),
            ("9223372036854775808", json!(9223372036854775808u64)),
            ("18446744073709551616", json!(1.8446744073709552e19)),
            ("yes", json!("yes")),
            ("on", json!("on")),
            ("True", json!(true)),
            ("~", json!(null)),
            ("1:20", json!("1:20")),
            ("1.1.1", json!("1.1.1")),
            ("0x", json!("0x")),
            ("1970-01-01T00:00:00Z", json!("1970-01-01T00:00:00Z")),
            (
                "2001-12-14t21:59:43.10-05:00",
                json!("2001-12-14T21:59:43.1-05:00"),
            ),
            (
                "2001-12-14 21:59:43.10 -5",
                json!("2001-12-14 21:59:43.10 -5"),
            ),
            ("2002-12-14", json!("2002-12-14T00:00:00Z")),
            ("2001-1-1", json!("2001-01-01T00:00:00Z")),
            ("2001-02-30", json!("2001-02-30")),
            ("2001-12-14 21:59:43", json!("2001-12-14T21:59:43Z")),
            ("2001-12-14T21:59:43+00:00", json!("2001-12-14T21:59:43Z")),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_plain(text), want, "{text}");
        }
    }

    #[test]
    fn flow_timestamps_with_a_time_stay_text() {
        assert_eq!(
            resolve_plain_in_flow("2001-12-14T21:59:43.10-05:00"),
            json!("2001-12-14T21:59:43.10-05:00")
        );
        assert_eq!(
            resolve_plain_in_flow("2002-12-14"),
            json!("2002-12-14T00:00:00Z")
        );
    }

    #[test]
    fn folded_blocks_come_back_as_go_yaml_v3_writes_them() {
        // A more-indented line after a line of words gains a blank line.
        assert_eq!(
            folded_round_trip("a b\nnext\n  indented\nback\n"),
            "a b\nnext\n\n  indented\nback\n"
        );
        // Plain paragraphs are unchanged.
        assert_eq!(folded_round_trip("one two\nthree\n"), "one two\nthree\n");
        assert_eq!(folded_round_trip("a\n\nb"), "a\n\nb");
        // Text that starts with a space: line breaks fold into spaces.
        assert_eq!(folded_round_trip("  x\ny\nz\n"), "  x\ny z\n");
        // Kept trailing breaks gain one.
        assert_eq!(folded_round_trip("a\n\n"), "a\n\n\n");
        // What the writer double-quotes is unchanged.
        assert_eq!(folded_round_trip("a \nb"), "a \nb");
        assert_eq!(folded_round_trip("a\tb\n c"), "a\tb\n c");
    }
}
