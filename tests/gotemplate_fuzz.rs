//! Random templates and values (generated here from the template grammar,
//! then mutated byte by byte) never panic the Go template engine or Sprig's
//! functions and never run away: every one ends in output or in an error
//! within the engine's limits. Deterministic: the seed is fixed (SKIFF_FUZZ_SEED picks another).

use skiff::render::gotemplate::{Exec, Set, Value};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const OPERANDS: &[&str] = &[
    ".",
    "$",
    "$x",
    "$i",
    ".a",
    ".a.b",
    ".list",
    ".map.k",
    ".missing.x",
    "$.a",
    "nil",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "3.5",
    "1e6",
    "0x1F",
    "'a'",
    "'\\n'",
    "\"s\"",
    "\"é\\t\"",
    "`raw`",
    "100000000",
    "(.a)",
    "(len .list)",
    ".a.b.c.d",
];
const FUNCS: &[&str] = &[
    "len",
    "index",
    "slice",
    "not",
    "and",
    "or",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "print",
    "printf",
    "println",
    "html",
    "js",
    "urlquery",
    "call",
    // Sprig's, over them.
    "default",
    "quote",
    "upper",
    "trunc",
    "substr",
    "repeat",
    "until",
    "untilStep",
    "list",
    "dict",
    "set",
    "merge",
    "mergeOverwrite",
    "add",
    "div",
    "mod",
    "toJson",
    "toPrettyJson",
    "regexFind",
    "regexSplit",
    "b64dec",
    "b32dec",
    "first",
    "rest",
    "concat",
    "dig",
    "chunk",
    "splitList",
    "splitn",
    "join",
    "indent",
    "abbrevboth",
    "wrap",
    "wrapWith",
    "seq",
    "round",
    "divf",
    "mulf",
    "atoi",
    "toDecimal",
    "camelcase",
    "snakecase",
    "title",
    "deepCopy",
];
const FORMATS: &[&str] = &[
    "\"%d\"",
    "\"%s %v\"",
    "\"%5.2f|%x|%q\"",
    "\"%*d\"",
    "\"%!\"",
    "\"%\"",
];

fn pipeline(r: &mut Rng, depth: usize) -> String {
    let mut out = String::new();
    if r.below(4) == 0 {
        out.push_str(r.pick(&["$x := ", "$x = "]));
    }
    let stages = 1 + r.below(3);
    for s in 0..stages {
        if s > 0 {
            out.push_str(" | ");
        }
        if s > 0 && r.below(3) == 0 {
            // A later stage takes the value before it: a field or a function.
            out.push_str(r.pick(&[".a", "$x.b", "print", "len", "not"]));
        } else if s == 0 && (r.below(2) == 0 || depth > 2) {
            out.push_str(r.pick(OPERANDS));
        } else {
            let f = r.pick(FUNCS);
            out.push_str(f);
            if f == "printf" {
                out.push(' ');
                out.push_str(r.pick(FORMATS));
            }
            for _ in 0..r.below(4) {
                out.push(' ');
                if r.below(5) == 0 {
                    out.push_str(&format!("({})", pipeline(r, depth + 1)));
                } else {
                    out.push_str(r.pick(OPERANDS));
                }
            }
        }
    }
    out
}

fn template(r: &mut Rng, depth: usize) -> String {
    let mut out = String::new();
    for _ in 0..1 + r.below(6) {
        let (l, rt) = (r.pick(&["{{", "{{- "]), r.pick(&["}}", " -}}"]));
        match r.below(14) {
            0 => out.push_str(r.pick(&["text ", "\n  ", "é", "} ", " - ", "{{/* c */}}"])),
            1..=4 => out.push_str(&format!("{l}{}{rt}", pipeline(r, 0))),
            5 | 6 if depth < 3 => {
                let kw = r.pick(&["if", "with", "range", "range $i, $x :=", "range $x :="]);
                let body = template(r, depth + 1);
                let alt = if r.below(2) == 0 {
                    format!("{l}else{rt}{}", template(r, depth + 1))
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "{l}{kw} {}{rt}{body}{alt}{l}end{rt}",
                    pipeline(r, 0)
                ));
            }
            7 if depth < 3 => out.push_str(&format!(
                "{{{{define \"d{}\"}}}}{}{{{{end}}}}",
                r.below(3),
                template(r, depth + 1)
            )),
            8 => out.push_str(&format!(
                "{{{{template \"d{}\" {}}}}}",
                r.below(3),
                r.pick(OPERANDS)
            )),
            9 => out.push_str(r.pick(&["{{break}}", "{{continue}}", "{{else}}", "{{end}}"])),
            10 => out.push_str(&format!(
                "{{{{block \"b\" .}}}}{}{{{{end}}}}",
                r.pick(OPERANDS)
            )),
            _ => out.push_str(&format!("{l}{}{rt}", r.pick(OPERANDS))),
        }
    }
    out
}

/// Random edits: a byte dropped, doubled or replaced by one of the
/// grammar's characters.
fn mutate(r: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..r.below(3) {
        if chars.is_empty() {
            break;
        }
        let i = r.below(chars.len());
        match r.below(3) {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(i, chars[i]),
            _ => {
                chars[i] = r
                    .pick(&[
                        "{", "}", "-", "$", ".", "\"", "'", "(", ")", "|", " ", "\\", "`", "é",
                    ])
                    .chars()
                    .next()
                    .unwrap()
            }
        }
    }
    chars.into_iter().collect()
}

fn data(r: &mut Rng) -> Value {
    let v = serde_json::json!({
        "a": {"b": r.below(3)}, "list": (0..r.below(4)).collect::<Vec<_>>(),
        "map": {"k": "v", "n": null}, "s": "str", "f": 0.5
    });
    Value::from_json(&v)
}

#[test]
fn random_templates_end_in_output_or_an_error() {
    let seed = std::env::var("SKIFF_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_u64);
    let mut r = Rng(seed | 1);
    let funcs = skiff::render::sprig::funcs();
    let (mut rendered, mut errors) = (0, 0);
    let total = 20_000;
    for _ in 0..total {
        // Variables the generated actions use, declared first (most of the time).
        let prelude = if r.below(5) == 0 {
            ""
        } else {
            "{{ $x := 1 }}{{ $i := 0 }}"
        };
        let mut text = format!("{prelude}{}", template(&mut r, 0));
        if r.below(2) == 0 {
            text = mutate(&mut r, &text);
        }
        let dot = data(&mut r);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut set = Set::default();
            if set.parse("f", &text, &funcs).is_err() {
                return false;
            }
            let mut exec = Exec::new(&set, &funcs);
            exec.limits.steps = 200_000;
            exec.limits.output = 1 << 20;
            exec.execute("f", &dot, &mut String::new()).is_ok()
        }));
        match outcome {
            Ok(true) => rendered += 1,
            Ok(false) => errors += 1,
            Err(_) => panic!("the engine panicked on {text:?}"),
        }
    }
    println!(
        "gotemplate fuzz: {total} random templates, {rendered} rendered, {errors} errors, no panic"
    );
    assert!(
        rendered > total / 20 && errors > total / 20,
        "the generator covers both"
    );
}
