//! Differential fuzzing against `kubectl kustomize`: trees of the parity
//! corpus, each with one file mutated (its keys reordered, empty maps and
//! lists added, scalars swapped for tricky ones, text turned into block
//! scalars) and written back in random spellings (quoting, block and flow
//! styles, comments, anchors). Whenever kubectl builds the mutated tree,
//! skiff must print the same bytes. A fixed seed and count keep the run
//! repeatable (`SKIFF_FUZZ_SEED`, `SKIFF_FUZZ_MUTATIONS` change them); each
//! disagreement is saved under `target/tmp/kustomize-differential/` and
//! becomes a tree of the corpus once understood.

#[path = "support/kustomize_corpus.rs"]
mod corpus;
mod support;
#[path = "support/yaml_styles.rs"]
mod yaml_styles;

use serde_json::{json, Map, Value};
use skiff::render::yaml::{parse_documents_as, Dialect};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::Rng;

/// Mutations compared per run (about 25 s against kubectl here).
const MUTATIONS: usize = 300;
/// A run stops early past this, saying so.
const TIME_CAP: Duration = Duration::from_secs(240);
/// Cases kubectl prints differently on purpose (see kustomize_parity.rs).
const SKIP: &[&str] = &["build-metadata-managed-by"];

impl yaml_styles::Dice for Rng {
    fn one_in(&mut self, n: u64) -> bool {
        self.chance(n)
    }
    fn below(&mut self, n: usize) -> usize {
        Rng::below(self, n)
    }
}

/// Scalars that read differently under YAML 1.1 and 1.2, or print quoted.
const TRICKY: &[&str] = &[
    "0644",
    "09",
    "0x1F",
    "1_000",
    "1e3",
    "1.50",
    ".5",
    "+1",
    "-0",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "True",
    "NULL",
    "~",
    "",
    "2024-02-29",
    "2001-12-14T21:59:43.10-05:00",
    "12:30",
    "1:20:30",
    "1.10",
    "10.0.0.1",
    "...",
    "---",
    "- x",
    "a: b",
    "a #b",
    "#x",
    "@x",
    "`x",
    "%x",
    "*x",
    "&x",
    "!x",
    "|x",
    ">x",
    "?x",
    "[x]",
    "{x}",
    "x,y",
    "it's",
    "say \"hi\"",
    "tab\there",
    "trailing ",
    " leading",
    "smile 😀",
    "café",
    "\u{a0}nbsp",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
];

/// Text that becomes block scalars or quoted escapes.
const TEXTS: &[&str] = &[
    "line one\nline two\n",
    "no newline at end\nsecond",
    "kept\n\n\n",
    "  indented first\nthen flush\n",
    "flush\n  then indented\nback\n",
    "a paragraph that is long enough to be folded by a writer that folds long lines at eighty columns\n",
    "with\ttab\n",
    "trailing space \nnext\n",
    "windows\r\nline\r\n",
    "{\n  \"json\": [1, 2],\n  \"nested\": {\"a\": \"b\"}\n}\n",
    "key: value\nlist:\n  - a\n  - b\n",
    "#!/bin/sh\nset -eu\nexec \"$@\"\n",
];

/// Keys where an empty map or list commonly appears.
const CONTAINERS: &[&str] = &[
    "annotations",
    "labels",
    "data",
    "env",
    "volumes",
    "nodeSelector",
    "tolerations",
    "resources",
    "args",
    "ports",
    "securityContext",
    "affinity",
    "spec",
    "metadata",
];

/// A value spelled as plain text whatever it reads as.
fn plain(text: &str) -> Value {
    Value::String(format!("{}{text}", yaml_styles::RAW))
}

/// Every path (as indices into maps and lists) to a node of `v`.
fn paths(v: &Value, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(at.clone());
    let children: Vec<&Value> = match v {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return,
    };
    for (i, c) in children.into_iter().enumerate() {
        at.push(i);
        paths(c, at, out);
        at.pop();
    }
}

fn node_mut<'a>(v: &'a mut Value, path: &[usize]) -> &'a mut Value {
    match path.split_first() {
        None => v,
        Some((i, rest)) => match v {
            Value::Object(m) => node_mut(m.values_mut().nth(*i).expect("path"), rest),
            Value::Array(a) => node_mut(&mut a[*i], rest),
            _ => unreachable!("paths lead through containers"),
        },
    }
}

/// One mutation of a document; `kustomization` files only change spelling
/// and key order, which must not change what they mean.
fn mutate(doc: &mut Value, rng: &mut Rng, kustomization: bool) -> &'static str {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let target = all[rng.below(all.len())].clone();
    // A list item stays what it is: an empty or null item of a list merged
    // by key is a degenerate object kyaml handles in ways not worth copying.
    let in_list = target
        .split_last()
        .is_some_and(|(_, parent)| node_mut(doc, parent).is_array());
    let node = node_mut(doc, &target);
    let choice = if kustomization {
        rng.below(2)
    } else if in_list {
        [0, 1, 2, 3, 4][rng.below(5)]
    } else {
        rng.below(7)
    };
    match (choice, node) {
        (1, Value::Object(m)) if m.len() > 1 => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            let k = 1 + rng.below(entries.len() - 1);
            entries.rotate_left(k);
            *m = entries.into_iter().collect::<Map<String, Value>>();
            "reorder keys"
        }
        (2, Value::Object(m)) => {
            let key = rng.pick(CONTAINERS).to_string();
            let empty = if rng.chance(2) { json!({}) } else { json!([]) };
            let empty = if rng.chance(5) { Value::Null } else { empty };
            m.insert(key, empty);
            "add an empty container"
        }
        (3, n @ Value::String(_)) => {
            let t = rng.pick(TRICKY);
            *n = if rng.chance(2) { plain(t) } else { json!(t) };
            "swap a scalar"
        }
        (4, n @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            *n = json!(rng.pick(TEXTS));
            "text as a block"
        }
        (5, n @ (Value::Object(_) | Value::Array(_))) => {
            *n = match n {
                Value::Object(_) => json!({}),
                _ => json!([]),
            };
            "empty a container"
        }
        (6, n) if !n.is_object() && !n.is_array() => {
            *n = if rng.chance(2) {
                Value::Null
            } else {
                plain(rng.pick(TRICKY))
            };
            "null or plain scalar"
        }
        _ => "respell",
    }
}

/// An object's apiVersion, kind, name and namespace when all are strings.
fn identity(doc: &Value) -> Option<(&str, &str, &str, &str)> {
    Some((
        doc.get("apiVersion")?.as_str()?,
        doc.get("kind")?.as_str()?,
        doc.pointer("/metadata/name")?.as_str()?,
        doc.pointer("/metadata/namespace")
            .map_or(Some(""), Value::as_str)?,
    ))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
            || p.file_name().is_some_and(|n| n == "Kustomization")
        {
            out.push(p);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

struct Outcome {
    compared: usize,
    refused: usize,
    disagreements: Vec<String>,
}

fn run(seed: u64, count: usize) -> Outcome {
    let cases: Vec<_> = corpus::corpus()
        .into_iter()
        .filter(|(name, ..)| !SKIP.iter().any(|s| name.starts_with(s)))
        .collect();
    let mut rng = Rng(seed);
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kustomize-differential");
    let _ = std::fs::remove_dir_all(&saved);
    let started = Instant::now();
    let mut outcome = Outcome {
        compared: 0,
        refused: 0,
        disagreements: Vec::new(),
    };
    for i in 0..count {
        if started.elapsed() > TIME_CAP {
            println!("stopped after {i} mutations: the {TIME_CAP:?} cap was reached");
            break;
        }
        let (name, repo_root, dir) = &cases[rng.below(cases.len())];
        let work = tempfile::tempdir().unwrap();
        copy_dir(repo_root, work.path());
        let tree_dir = work.path().join(dir.strip_prefix(repo_root).unwrap());
        let mut files = Vec::new();
        yaml_files(work.path(), &mut files);
        files.sort();
        let file = &files[rng.below(files.len())];
        let text = std::fs::read_to_string(file).unwrap();
        let Ok(mut docs) = parse_documents_as(&text, Dialect::Kustomize) else {
            continue;
        };
        if docs.is_empty() {
            continue;
        }
        let kustomization = file.file_name().is_some_and(|n| {
            n.to_string_lossy().starts_with("kustomization") || n == "Kustomization"
        });
        let d = rng.below(docs.len());
        let before = docs[d].clone();
        let mut what = mutate(&mut docs[d], &mut rng, kustomization);
        if identity(&before) != identity(&docs[d]) && identity(&before).is_some() {
            // An object's apiVersion, kind and name stay strings: skiff
            // refuses others with an error where kustomize prints objects
            // no API server accepts, which is not worth agreeing on.
            docs[d] = before;
            what = "respell";
        }
        std::fs::write(file, yaml_styles::write(&docs, &mut rng)).unwrap();
        let Ok(want) = corpus::kubectl_kustomize(&tree_dir) else {
            outcome.refused += 1;
            continue;
        };
        outcome.compared += 1;
        let got = corpus::skiff_render(work.path(), &tree_dir);
        if got.as_deref() != Ok(want.as_str()) {
            let keep = saved.join(format!("{i:04}"));
            copy_dir(work.path(), &keep);
            let rel = file.strip_prefix(work.path()).unwrap().display();
            outcome.disagreements.push(format!(
                "mutation {i} ({what} in {rel} of {name}), kept in {}: {}",
                keep.display(),
                match got {
                    Err(e) => format!("skiff failed: {e}"),
                    Ok(_) => "skiff printed other bytes".into(),
                }
            ));
        }
    }
    outcome
}

#[test]
fn skiff_agrees_with_kubectl_kustomize_on_mutated_trees() {
    let seed = std::env::var("SKIFF_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6b75_7374_6f6d);
    let count = std::env::var("SKIFF_FUZZ_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(MUTATIONS);
    let started = Instant::now();
    let o = run(seed, count);
    println!(
        "kustomize differential: {} mutations compared with kubectl kustomize ({} more refused by kubectl) in {:.0?}, {} disagreements",
        o.compared,
        o.refused,
        started.elapsed(),
        o.disagreements.len()
    );
    assert!(
        o.compared >= count / 2,
        "kubectl refused most mutations: the fuzzer is not exploring"
    );
    assert!(o.disagreements.is_empty(), "{}", o.disagreements.join("\n"));
}
