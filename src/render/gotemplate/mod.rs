//! Go's `text/template`, in process: `lex` → `parse` → `exec`, with Go's
//! values (`value`), its `fmt` (`fmt`) and the functions the package
//! defines (`builtins`). It knows nothing of Helm: Helm's functions, Sprig's
//! and a chart's objects are a host's additions to a [`Funcs`] table and to
//! the data, so notifications and ApplicationSet templates can use it too.
//!
//! ```
//! use skiff::render::gotemplate::{Funcs, Set, Value};
//! let funcs = Funcs::builtin();
//! let mut set = Set::default();
//! set.parse("t", "{{ range $i, $e := . }}{{ $i }}={{ $e }} {{ end }}", &funcs).unwrap();
//! let data = Value::list(vec![Value::str("a"), Value::str("b")]);
//! assert_eq!(set.render("t", &data, &funcs).unwrap(), "0=a 1=b ");
//! ```

pub mod args;
pub mod builtins;
pub mod exec;
pub mod fmt;
pub mod lex;
pub mod parse;
pub mod value;

pub use exec::{Exec, FnError, Limits, MissingKey};
pub use value::{IntType, ListType, Map, MapType, Object, UintType, Value};

use parse::Node;
use std::collections::HashMap;
use std::rc::Rc;

/// A template function: the execution (for functions that run templates)
/// and the evaluated arguments.
pub type Func = fn(&mut Exec<'_>, &[Value]) -> Result<Value, FnError>;

/// The functions a template may call, by name.
#[derive(Clone, Default)]
pub struct Funcs {
    map: HashMap<&'static str, Func>,
}

impl Funcs {
    /// The functions `text/template` defines.
    pub fn builtin() -> Funcs {
        let mut f = Funcs::default();
        f.extend(builtins::TABLE);
        f
    }

    pub fn extend(&mut self, table: &[(&'static str, Func)]) {
        for (name, func) in table {
            self.map.insert(name, *func);
        }
    }

    pub fn get(&self, name: &str) -> Option<Func> {
        self.map.get(name).copied()
    }

    pub fn contains(&self, name: &str) -> bool {
        name == "and" || name == "or" || self.map.contains_key(name)
    }
}

/// An error in Go's words (`template: NAME:LINE:COL: ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The text a template was parsed from, for error positions.
#[derive(Debug, Default)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// Go's line (from 1) and column (bytes from the line's start, from 0).
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        (line, col)
    }
}

/// A template of a set: its nodes and where they were parsed.
#[derive(Clone)]
pub struct Template {
    pub source: Rc<Source>,
    pub body: Rc<Vec<Node>>,
}

/// Templates by name, as Go's associated templates: a file's main tree
/// under its name and every `define`/`block` under theirs.
#[derive(Clone, Default)]
pub struct Set {
    templates: HashMap<String, Template>,
    first: Option<String>,
}

fn is_empty_tree(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

impl Set {
    /// Parses `text` as the template `name` into the set. As Go does, a
    /// definition replaces an earlier one of the same name unless its body
    /// is empty.
    pub fn parse(&mut self, name: &str, text: &str, funcs: &Funcs) -> Result<(), Error> {
        let parsed = parse::parse(text, &|f| funcs.contains(f)).map_err(|e| {
            let source = Source {
                name: name.to_string(),
                text: text.to_string(),
            };
            let (line, _) = source.line_col(e.pos);
            Error {
                message: format!("template: {name}:{line}: {}", e.message),
            }
        })?;
        let source = Rc::new(Source {
            name: name.to_string(),
            text: text.to_string(),
        });
        for (def, body) in parsed.defines {
            self.add(&def, source.clone(), body);
        }
        self.add(name, source, parsed.root);
        if self.first.is_none() {
            self.first = Some(name.to_string());
        }
        Ok(())
    }

    fn add(&mut self, name: &str, source: Rc<Source>, body: Vec<Node>) {
        if is_empty_tree(&body) && self.templates.contains_key(name) {
            return;
        }
        self.templates.insert(
            name.to_string(),
            Template {
                source,
                body: Rc::new(body),
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&Template> {
        self.templates.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    fn first_name(&self) -> &str {
        self.first.as_deref().unwrap_or("")
    }

    /// Executes `name` with `data` and returns its output.
    pub fn render(&self, name: &str, data: &Value, funcs: &Funcs) -> Result<String, Error> {
        let mut exec = Exec::new(self, funcs);
        let mut out = String::new();
        exec.execute(name, data, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, data: Value) -> Result<String, String> {
        let funcs = Funcs::builtin();
        let mut set = Set::default();
        set.parse("t", text, &funcs).map_err(|e| e.message)?;
        set.render("t", &data, &funcs).map_err(|e| e.message)
    }

    fn values() -> Value {
        Value::from_json(&serde_json::json!({
            "name": "web", "replicas": 3, "big": 1000000, "tags": ["a", "b"],
            "empty": {}, "nested": {"x": {"y": "deep"}}, "flag": false, "nothing": null
        }))
    }

    #[test]
    fn actions_fields_and_go_printing() {
        assert_eq!(
            run(
                "{{ .name }} {{ .replicas }} {{ .big }} {{ .tags }} {{ .nested }}",
                values()
            )
            .unwrap(),
            "web 3 1e+06 [a b] map[x:map[y:deep]]"
        );
        assert_eq!(
            run("[{{ .missing }}] [{{ .nothing }}]", values()).unwrap(),
            "[<no value>] [<no value>]"
        );
        assert_eq!(
            run(
                "{{ 1e6 }} {{ 0x10 }} {{ 'a' }} {{ 1.5 }} {{ -3 }}",
                Value::Nil
            )
            .unwrap(),
            "1e+06 16 97 1.5 -3"
        );
    }

    #[test]
    fn control_structures_and_variables() {
        let t = "{{ range $i, $t := .tags }}{{ if $i }},{{ end }}{{ $i }}:{{ $t }}{{ end }}|{{ range .empty }}x{{ else }}none{{ end }}|{{ with .nested.x }}{{ .y }}{{ end }}|{{ if .flag }}t{{ else if .name }}n{{ else }}f{{ end }}";
        assert_eq!(run(t, values()).unwrap(), "0:a,1:b|none|deep|n");
        assert_eq!(
            run(
                "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
                Value::Nil
            )
            .unwrap(),
            "2"
        );
        assert_eq!(run("{{ range 5 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}", Value::Nil).unwrap(), "02");
        assert_eq!(
            run(
                "{{ range $k, $v := .nested }}{{ $k }}{{ end }}{{ $ | len }}",
                values()
            )
            .unwrap(),
            "x8"
        );
        assert_eq!(run(r#"{{ define "p" }}<{{ . }}>{{ end }}{{ template "p" .name }}{{ block "b" 2 }}[{{ . }}]{{ end }}"#, values()).unwrap(), "<web>[2]");
        assert_eq!(
            run("a  {{- /* c */ -}}  b {{- 3 -}} c", Value::Nil).unwrap(),
            "ab3c"
        );
    }

    #[test]
    fn functions_follow_gos_rules() {
        assert_eq!(run(r#"{{ and 1 0 2 }} {{ or 0 "" "x" }} {{ not .flag }} {{ len .tags }} {{ index .tags 1 }} {{ index .nested "x" "y" }} {{ slice "hello" 1 3 }}"#, values()).unwrap(),
            "0 x true 2 b deep el");
        assert_eq!(run(r#"{{ eq 1 2 1 }} {{ ne "a" "b" }} {{ lt 1 2 }} {{ ge "b" "a" }} {{ eq .missing nil }}"#, values()).unwrap(), "true true true true true");
        assert_eq!(run(r#"{{ printf "%s-%d-%v" "a" 3 .tags }} {{ print 1 2 "x" }} {{ html "<a&'>" }} {{ urlquery "a b&c" }} {{ js "a'b\n" }}"#, values()).unwrap(),
            "a-3-[a b] 1 2x &lt;a&amp;&#39;&gt; a+b%26c a\\'b\\u000A");
        // `and` stops before an argument that would fail.
        assert_eq!(
            run("{{ and .flag (index .missing 1) }}", values()).unwrap(),
            "false"
        );
    }

    #[test]
    fn errors_are_gos() {
        assert_eq!(
            run("x\n  {{ nil }}", Value::Nil).unwrap_err(),
            "template: t:2:5: executing \"t\" at <nil>: nil is not a command"
        );
        assert_eq!(run("{{ eq .replicas 3 }}", values()).unwrap_err(),
            "template: t:1:3: executing \"t\" at <eq .replicas 3>: error calling eq: incompatible types for comparison: float64 and int");
        assert_eq!(run("{{ .missing.field }}", values()).unwrap_err(),
            "template: t:1:11: executing \"t\" at <.missing.field>: nil pointer evaluating interface {}.field");
        assert_eq!(run("{{ $x := .nested }}{{ $x.x.y.z }}", values()).unwrap_err(),
            "template: t:1:24: executing \"t\" at <$x.x.y.z>: can't evaluate field z in type interface {}");
        assert_eq!(
            run("{{ printf 3 }}", values()).unwrap_err(),
            "template: t:1:10: executing \"t\" at <3>: expected string; found 3"
        );
        assert_eq!(
            run("{{ not }}", values()).unwrap_err(),
            "template: t:1:3: executing \"t\" at <not>: wrong number of args for not: want 1 got 0"
        );
        assert_eq!(
            run("{{ .tags 1 }}", values()).unwrap_err(),
            "template: t:1:3: executing \"t\" at <.tags>: tags is not a method but has arguments"
        );
        assert_eq!(run("{{ index .tags 5 }}", values()).unwrap_err(),
            "template: t:1:3: executing \"t\" at <index .tags 5>: error calling index: index out of range: 5");
        assert_eq!(run("{{ template \"nope\" }}", Value::Nil).unwrap_err(),
            "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined");
        assert_eq!(
            run("a\n{{ nope }}", Value::Nil).unwrap_err(),
            "template: t:2: function \"nope\" not defined"
        );
        assert_eq!(
            run("{{ range \"abc\" }}{{ end }}", Value::Nil).unwrap_err(),
            "template: t:1:9: executing \"t\" at <\"abc\">: range can't iterate over abc"
        );
    }

    #[test]
    fn runaway_templates_stop_with_an_error() {
        let funcs = Funcs::builtin();
        let mut set = Set::default();
        set.parse(
            "t",
            r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
            &funcs,
        )
        .unwrap();
        let e = set.render("t", &Value::Nil, &funcs).unwrap_err();
        assert!(
            e.message.contains("exceeded maximum template depth (1000)"),
            "{e}"
        );
        set.parse("u", "{{ range 100000000 }}{{ end }}", &funcs)
            .unwrap();
        let mut exec = Exec::new(&set, &funcs);
        exec.limits.steps = 100_000;
        let e = exec
            .execute("u", &Value::Nil, &mut String::new())
            .unwrap_err();
        assert!(
            e.message.contains("execution stopped after 100000 steps"),
            "{e}"
        );
    }
}
