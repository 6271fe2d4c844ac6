//! YAML → JSON the way Kubernetes tooling reads it (sigs.k8s.io/yaml over
//! go-yaml v2, which both kubectl and the API server use): YAML 1.1 scalar
//! resolution, so a plain `0644` is the integer 420 and a plain `on` is `true`,
//! while any quoted scalar stays a string. serde_yaml cannot do this (it reads
//! `0644` as the string "0644"), so this reads saphyr's parser events, which
//! carry each scalar's style.
//!
//! This file is also compiled into the test API server (`#[path]` include), so
//! it depends on nothing but saphyr-parser and serde_json.

#[path = "yaml_fast.rs"]
mod fast;
#[path = "yaml_kyaml.rs"]
pub mod kyaml;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// How many nodes one document may expand to through aliases ("billion laughs").
const MAX_NODES: usize = 1_000_000;

#[derive(Debug)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "yaml: line {}: {}", self.line, self.message)
    }
}

/// Which YAML rules a reader follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// kubectl and the API server (go-yaml v2): YAML 1.1, so plain `yes`/`on` are booleans.
    #[default]
    Kubectl,
    /// kustomize (kyaml, see [`kyaml`]): plain `yes`, `on`, `y`, `no`,
    /// `off`, `n` stay strings; octal `0644` is still 420; timestamps and
    /// folded blocks read as kustomize prints them; keys are their text.
    Kustomize,
    /// kustomize reading resources: as `Kustomize`, and the values of
    /// `metadata.annotations` (of the document, or of a List's items) keep
    /// the text written, as kustomize prints them (`1.50` is "1.50").
    KustomizeResources,
}

impl Dialect {
    pub fn is_kustomize(self) -> bool {
        self != Dialect::Kubectl
    }
}

/// Where a node sits, for the annotation values kustomize prints as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Root,
    Metadata,
    Items,
    Item,
    Annotations,
    AnnotationValue,
    Other,
}

impl Place {
    /// The place of the value under `key` of a map at `self`.
    pub(crate) fn key(self, key: &str) -> Place {
        match (self, key) {
            (Place::Root, "metadata") | (Place::Item, "metadata") => Place::Metadata,
            (Place::Root, "items") => Place::Items,
            (Place::Metadata, "annotations") => Place::Annotations,
            (Place::Annotations, _) => Place::AnnotationValue,
            _ => Place::Other,
        }
    }
    /// The place of an item of a list at `self`.
    pub(crate) fn item(self) -> Place {
        if self == Place::Items {
            Place::Item
        } else {
            Place::Other
        }
    }
}

/// Parses every document of a YAML stream as kubectl does. Empty documents are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_documents_as(text, Dialect::Kubectl)
}

/// Parses every document of a YAML stream with `dialect`'s scalar rules.
pub fn parse_documents_as(text: &str, dialect: Dialect) -> Result<Vec<Value>, YamlError> {
    if let Some(docs) = fast::parse(text, dialect) {
        return Ok(docs);
    }
    parse_documents_full(text, dialect)
}

/// Resources as kustomize reads them ([`Dialect::KustomizeResources`]), with
/// the JSON pointers of the map fields each document leaves empty (`key:`
/// with no value): kustomize reads those as null but drops them when it
/// merges a patch into the object, where a written `null` or `~` stays.
pub fn parse_resources(text: &str) -> Result<Vec<(Value, Vec<String>)>, YamlError> {
    if let Some(docs) = fast::parse(text, Dialect::KustomizeResources) {
        return Ok(docs.into_iter().map(|d| (d, Vec::new())).collect());
    }
    let mut builder = Builder::new(text, Dialect::KustomizeResources);
    builder.track_empty = true;
    builder.documents()
}

/// The fast reader alone: `None` where it leaves the text to the full parser.
/// For the differential test and benchmarks.
pub fn parse_documents_fast(text: &str, dialect: Dialect) -> Option<Vec<Value>> {
    fast::parse(text, dialect)
}

/// The full parser (saphyr's events), for everything the fast reader leaves.
pub fn parse_documents_full(text: &str, dialect: Dialect) -> Result<Vec<Value>, YamlError> {
    let docs = Builder::new(text, dialect).documents()?;
    Ok(docs.into_iter().map(|(d, _)| d).collect())
}

struct Builder<'a> {
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: Vec<(usize, Value)>,
    nodes: usize,
    dialect: Dialect,
    text: &'a str,
    /// Byte offsets of line starts, computed when first needed.
    line_starts: Vec<usize>,
    /// How many flow collections (`{...}`, `[...]`) enclose the node.
    in_flow: usize,
    /// Record the pointers of empty map values (`track_empty`): the path
    /// to the node (escaped pointer segments) and what was found.
    track_empty: bool,
    path: Vec<(String, bool)>,
    empty: Vec<String>,
}

fn error(span: Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.into(),
    }
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, dialect: Dialect) -> Builder<'a> {
        Builder {
            events: Parser::new_from_str(text),
            anchors: Vec::new(),
            nodes: 0,
            dialect,
            text,
            line_starts: Vec::new(),
            in_flow: 0,
            track_empty: false,
            path: Vec::new(),
            empty: Vec::new(),
        }
    }

    /// Every document, with the pointers of its empty map values when tracked.
    fn documents(&mut self) -> Result<Vec<(Value, Vec<String>)>, YamlError> {
        let mut docs = Vec::new();
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart(_) => {
                    let (first, span) = self.next()?;
                    if matches!(first, Event::DocumentEnd) {
                        continue;
                    }
                    let value = self.node(first, span, Place::Root)?;
                    let (end, span) = self.next()?;
                    if !matches!(end, Event::DocumentEnd) {
                        return Err(error(span, "expected the end of the document"));
                    }
                    let empty = std::mem::take(&mut self.empty);
                    if !value.is_null() {
                        docs.push((value, empty));
                    }
                }
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
                _ => return Err(error(span, "unexpected content outside a document")),
            }
        }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.events.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(e)) => Err(YamlError {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: e.info().to_string(),
            }),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(error(
                span,
                format!("document expands to more than {MAX_NODES} nodes (alias expansion limit)"),
            ));
        }
        Ok(())
    }

    /// The character a collection starts with: `{` or `[` for flow style.
    fn opens_flow(&mut self, span: Span) -> bool {
        if self.line_starts.is_empty() {
            self.line_starts = std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
        }
        let Some(&start) = self.line_starts.get(span.start.line().saturating_sub(1)) else {
            return false;
        };
        matches!(
            self.text[start..].chars().nth(span.start.col()),
            Some('{' | '[')
        )
    }

    fn remember(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors.push((anchor, value.clone()));
        }
    }

    /// Whether a block scalar runs to the end of the input with no line
    /// break after its last line, where saphyr's value has one break more
    /// than go-yaml reads: a last line with content (clip and keep keep
    /// only breaks that are there), or a last line of spaces as wide as the
    /// content's indentation. (A narrower one under keep, go-yaml counts as
    /// a break and saphyr does not; that one is left as saphyr reads it.)
    fn block_scalar_ends_unterminated(&self, style: ScalarStyle, span: Span, value: &str) -> bool {
        // A block scalar that ends before the input's end ends at a line's
        // start (column 0): only the last one needs the line count.
        if !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            || span.end.col() == 0
            || self.text.ends_with('\n')
            || span.end.line() != self.text.split('\n').count()
            || !value.ends_with('\n')
        {
            return false;
        }
        let last_line = self.text.rsplit('\n').next().unwrap_or("");
        if !last_line.trim().is_empty() {
            return true;
        }
        let indent = self
            .text
            .split('\n')
            .skip(span.start.line().saturating_sub(1))
            .find(|l| !l.trim().is_empty())
            .map_or(usize::MAX, |l| l.len() - l.trim_start_matches(' ').len());
        last_line.len() >= indent
    }

    /// One scalar, resolved as the dialect reads it.
    fn scalar(
        &mut self,
        mut text: std::borrow::Cow<'a, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<std::borrow::Cow<'a, saphyr_parser::Tag>>,
        span: Span,
        place: Place,
    ) -> Result<Value, YamlError> {
        if self.block_scalar_ends_unterminated(style, span, &text) {
            // The input ends on the scalar's last line, with no line
            // break for clip or keep to keep (saphyr adds one).
            if let Some(t) = text.strip_suffix('\n') {
                text = t.to_string().into();
            }
        }
        // Tags of YAML's core schema by name; any other as `!name`.
        let tag = tag.map(|t| {
            if t.is_yaml_core_schema() {
                t.suffix.clone()
            } else {
                format!("!{}", t.suffix)
            }
        });
        let value =
            if place == Place::AnnotationValue && self.dialect == Dialect::KustomizeResources {
                Value::String(text.to_string())
            } else if self.dialect.is_kustomize()
                && text.is_empty()
                && style == ScalarStyle::Plain
                && tag.is_none()
            {
                if self.track_empty && self.path.last().is_some_and(|(_, in_map)| *in_map) {
                    self.empty
                        .push(self.path.iter().map(|(s, _)| s.as_str()).collect());
                }
                // go-yaml v3 reads a missing value inside braces or
                // brackets (`{a: , b}`) as an empty string, not null.
                // (In a patch it is still a null: one that deletes.)
                if self.in_flow > 0 && self.dialect == Dialect::KustomizeResources {
                    Value::String(String::new())
                } else {
                    Value::Null
                }
            } else if self.in_flow > 0
                && self.dialect.is_kustomize()
                && style == ScalarStyle::Plain
                && tag.is_none()
            {
                kyaml::resolve_plain_in_flow(&text)
            } else {
                resolve_scalar(&text, style, tag.as_deref(), self.dialect)
            };
        self.remember(anchor, &value);
        Ok(value)
    }

    fn node(&mut self, event: Event<'a>, span: Span, place: Place) -> Result<Value, YamlError> {
        self.count(1, span)?;
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag, span, place)
            }
            Event::Alias(anchor) => {
                let value = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(id, _)| *id == anchor)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| error(span, "unknown anchor"))?;
                let size = value_size(&value);
                self.count(size, span)?;
                Ok(value)
            }
            Event::SequenceStart(anchor, _) => {
                let flow = self.dialect.is_kustomize() && self.opens_flow(span);
                self.in_flow += usize::from(flow);
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    if self.track_empty {
                        self.path.push((format!("/{}", items.len()), false));
                    }
                    let item = self.node(event, span, place.item());
                    if self.track_empty {
                        self.path.pop();
                    }
                    items.push(item?);
                }
                self.in_flow -= usize::from(flow);
                let value = Value::Array(items);
                self.remember(anchor, &value);
                Ok(value)
            }
            Event::MappingStart(anchor, _) => {
                let flow = self.dialect.is_kustomize() && self.opens_flow(span);
                self.in_flow += usize::from(flow);
                let mut map = Map::new();
                let mut merges = Vec::new();
                loop {
                    let (event, kspan) = self.next()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let is_merge =
                        matches!(&event, Event::Scalar(k, ScalarStyle::Plain, _, _) if k == "<<");
                    // kustomize reads keys as their text.
                    let text_key = match &event {
                        Event::Scalar(k, _, _, _) if self.dialect.is_kustomize() => {
                            Some(k.to_string())
                        }
                        _ => None,
                    };
                    let key = self.node(event, kspan, Place::Other)?;
                    let key = text_key.or_else(|| key_string(&key)).ok_or_else(|| {
                        error(kspan, "mapping keys must be scalars to be read as JSON")
                    })?;
                    let (event, vspan) = self.next()?;
                    if self.track_empty {
                        let segment = key.replace('~', "~0").replace('/', "~1");
                        self.path.push((format!("/{segment}"), true));
                    }
                    let value = self.node(event, vspan, place.key(&key));
                    if self.track_empty {
                        self.path.pop();
                    }
                    let value = value?;
                    if is_merge {
                        merges.push(value);
                        continue;
                    }
                    if map.contains_key(&key) {
                        return Err(error(kspan, format!("key {key:?} already set in map")));
                    }
                    map.insert(key, value);
                }
                self.in_flow -= usize::from(flow);
                for merged in merges {
                    let sources = match merged {
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    for source in sources {
                        if let Value::Object(source) = source {
                            for (k, v) in source {
                                map.entry(k).or_insert(v);
                            }
                        } else {
                            return Err(error(span, "map merge requires map or sequence of maps"));
                        }
                    }
                }
                let value = Value::Object(map);
                self.remember(anchor, &value);
                Ok(value)
            }
            _ => Err(error(span, "unexpected YAML event")),
        }
    }
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(value_size).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(value_size).sum::<usize>(),
        _ => 1,
    }
}

fn key_string(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        _ => None,
    }
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>, dialect: Dialect) -> Value {
    match tag {
        Some("str") => return Value::String(text.to_string()),
        Some("int") | Some("float") | Some("bool") | Some("null") => {}
        // go-yaml v3 reads a scalar with a tag it does not know as its text.
        Some(t) if t.starts_with('!') && dialect.is_kustomize() => {
            return Value::String(text.to_string())
        }
        Some(_) => {}
        None if style == ScalarStyle::Folded && dialect.is_kustomize() => {
            return Value::String(kyaml::folded_round_trip(text))
        }
        None if style != ScalarStyle::Plain => return Value::String(text.to_string()),
        None => {}
    }
    if dialect.is_kustomize() {
        return kyaml::resolve_plain(text);
    }
    resolve_plain(text)
}

/// go-yaml v2's resolution of a plain scalar (YAML 1.1 booleans and octals).
pub fn resolve_plain(text: &str) -> Value {
    // Most scalars are words: no number, boolean or null starts like them.
    if text
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() && !b"nNyYoOtTfF".contains(b))
    {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            // JSON has no infinities: sigs.k8s.io/yaml fails on them; keep the text.
            return Value::String(text.to_string());
        }
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Value::Number(n);
    }
    if looks_like_float(text) {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            // sigs.k8s.io/yaml passes numbers through JSON, where an integral
            // float is an integer: `1e3` reaches the API server as 1000.
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                return Value::Number(Number::from(f as i64));
            }
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(text.to_string())
}

fn parse_int(text: &str) -> Option<Number> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    // Plain decimal (a port, a count) without the copy the general forms need.
    if digits.len() <= 18
        && (digits.len() == 1 || !digits.starts_with('0'))
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        let v: i64 = digits.parse().ok()?;
        return Some(Number::from(if negative { -v } else { v }));
    }
    let plain: String = digits.chars().filter(|c| *c != '_').collect();
    let (radix, body) = if let Some(rest) = plain.strip_prefix("0x") {
        (16, rest.to_string())
    } else if let Some(rest) = plain.strip_prefix("0b") {
        (2, rest.to_string())
    } else if let Some(rest) = plain.strip_prefix("0o") {
        (8, rest.to_string())
    } else if plain.len() > 1 && plain.starts_with('0') {
        (8, plain[1..].to_string())
    } else {
        (10, plain)
    };
    if body.is_empty() {
        return None;
    }
    let magnitude = u64::from_str_radix(&body, radix).ok()?;
    if negative {
        let v = i64::try_from(magnitude).ok()?;
        Some(Number::from(-v))
    } else {
        Some(Number::from(magnitude))
    }
}

fn looks_like_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let mut digits = false;
    let mut dot_or_exp = false;
    for (i, c) in t.char_indices() {
        match c {
            '0'..='9' => digits = true,
            '_' => {}
            '.' => dot_or_exp = true,
            'e' | 'E' if i > 0 => dot_or_exp = true,
            '-' | '+' if i > 0 && matches!(t.as_bytes()[i - 1], b'e' | b'E') => {}
            _ => return false,
        }
    }
    digits && dot_or_exp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_block_scalar_at_the_end_of_the_input_keeps_only_the_breaks_there() {
        // As go-yaml reads them: an inline patch inside a `|-` block ends
        // with no line break, so its own `|` value has none either.
        for (text, want) in [
            ("a: |\n  x\n  y", "x\ny"),
            ("a: |\n  x\n  y\n", "x\ny\n"),
            ("a: >\n  x\n  y", "x y"),
            ("a: |+\n  x\n  ", "x\n"),
            ("a: |\n  x\n\n  ", "x\n"),
            ("a: |+\n  x\n    ", "x\n  "),
            ("a: |-\n  x\n  y", "x\ny"),
        ] {
            for dialect in [Dialect::Kubectl, Dialect::KustomizeResources] {
                let docs = parse_documents_as(text, dialect).unwrap();
                assert_eq!(docs[0]["a"], json!(want), "{text:?} ({dialect:?})");
            }
        }
    }

    #[test]
    fn plain_scalars_resolve_as_yaml_1_1() {
        let docs = parse_documents(
            "mode: 0644\nq: '0644'\nb: on\nnum: 12\nf: 1.5\nx: ~\ns: hello\nneg: -3\nhex: 0x1F\n",
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![
                json!({"mode": 420, "q": "0644", "b": true, "num": 12, "f": 1.5,
                        "x": null, "s": "hello", "neg": -3, "hex": 31})
            ]
        );
    }

    #[test]
    fn kustomize_keeps_yaml_1_1_booleans_as_strings() {
        let docs =
            parse_documents_as("a: yes\nb: on\nc: true\nd: 0644\n", Dialect::Kustomize).unwrap();
        assert_eq!(
            docs,
            vec![json!({"a": "yes", "b": "on", "c": true, "d": 420})]
        );
    }

    #[test]
    fn documents_anchors_and_merge_keys() {
        let docs = parse_documents(
            "---\na: &x {k: v}\nb: *x\nc:\n  <<: *x\n  z: 1\n---\n---\nd: [1, \"2\"]\n",
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![
                json!({"a": {"k": "v"}, "b": {"k": "v"}, "c": {"z": 1, "k": "v"}}),
                json!({"d": [1, "2"]})
            ]
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("alias expansion limit"), "{err}");
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_documents("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
        let err = parse_documents("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("already set"));
    }
}
