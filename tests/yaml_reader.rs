//! The fast YAML reader agrees with the full parser: on every YAML file of the
//! repository and on thousands of mutations of them, whenever the fast reader
//! gives an answer it is exactly the full parser's (and the full parser did
//! not fail). It must also answer for most real files, or it is not fast.

use skiff::render::yaml::{parse_documents_fast, parse_documents_full, Dialect};
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if !p.ends_with("target") && !p.ends_with(".git") {
                yaml_files(&p, out);
            }
        } else if p
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            out.push(p);
        }
    }
}

/// Fails the test when the fast reader answers differently from the full parser.
fn agree(text: &str, what: &str) -> bool {
    let mut answered = false;
    for dialect in [
        Dialect::Kubectl,
        Dialect::Kustomize,
        Dialect::KustomizeResources,
    ] {
        if let Some(fast) = parse_documents_fast(text, dialect) {
            answered = true;
            match parse_documents_full(text, dialect) {
                Ok(full) => assert_eq!(fast, full, "{what} ({dialect:?}):\n{text}"),
                Err(e) => panic!("{what} ({dialect:?}): the full parser fails ({e}) where the fast reader answered {fast:?}:\n{text}"),
            }
        }
    }
    answered
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

const INSERTS: &[&str] = &[
    ":",
    ": ",
    " #",
    "#",
    "- ",
    "-",
    "'",
    "\"",
    "''",
    "|",
    "|-",
    ">",
    ">+",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "---",
    "...",
    " ",
    "  ",
    "\n",
    "\n  ",
    "\\",
    "\\n",
    "~",
    "0644",
    "yes",
    "<<: ",
    "? ",
    "%",
    "\u{e9}",
    "1e3",
    "\"a\\u00e9\"",
];

/// Shapes the fast reader must answer itself (and agree on).
const ANSWERED: &[&str] = &[
    "a: |\n  one\n\n  two\n\n\nb: x\n",
    "a: |+\n  keep\n\n\nb: 1\n",
    "a: |-\n  strip\n  # not a comment\n# a comment\nb: 1\n",
    "a: >\n  folded\n  text\n\n  para\nb: >-\n  x\n",
    "- {a: [1, '2', \"3\"], b: {c: d}}\n- [x, y: z]\n",
    "k: 'it''s'  # c\nq: \"tab\\there \\u00e9\"\n",
    "list:\n- a\n-   b\n- - c\n",
    "list:\n- name: a\n  value: 1\n-\n  name: b\n",
    "---\n# only a comment\n---\na: 1\n...\n---\nb: 2\n",
    "0644: x\ny: n\nurl: http://example.com:80/a#frag\nempty:\nnull: ~\n",
    "a: 1e3\nb: .5\nc: -0x1F\nd: 0o17\ne: 1_000\n",
    "metadata:\n  annotations:\n    a: 1.50\n    b: 0644\n    c:\n    d: ~\n  labels: {x: 1.50}\n",
    "items:\n- metadata: {name: a, annotations: {t: 2001-12-14, n: 09}}\n",
    "t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\nu: 18446744073709551616\n",
];

#[test]
fn the_fast_reader_answers_common_shapes() {
    for text in ANSWERED {
        // `- - c` and `y: z` inside a flow list are left to the full parser.
        let must = !text.contains("- - c") && !text.contains("y: z");
        assert_eq!(agree(text, "snippet"), must, "{text}");
    }
}

#[test]
fn the_fast_reader_agrees_with_the_full_parser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "tests",
        "examples",
        "deploy",
        "crds",
        "src",
        "../shared/kustomize-data",
    ] {
        yaml_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 100, "only {} YAML files found", files.len());
    let mut answered = 0;
    let mut rng = Rng(0x5eed_0a11);
    let mut mutants = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if agree(&text, &f.display().to_string()) {
            answered += 1;
        }
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            continue;
        }
        for _ in 0..12 {
            let mut ls: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let n = ls.len();
            let i = rng.next() % n;
            match rng.next() % 5 {
                0 => {
                    ls.remove(i);
                }
                1 => ls.insert(i, ls[rng.next() % n].clone()),
                2 => ls[i] = format!("{}{}", " ".repeat(rng.next() % 3), ls[i]),
                3 => {
                    let l = &ls[i];
                    ls[i] = l.strip_prefix(' ').unwrap_or(l).to_string();
                }
                _ => {
                    let l = &ls[i];
                    let cut = (0..=l.len())
                        .filter(|c| l.is_char_boundary(*c))
                        .nth(rng.next() % (l.chars().count() + 1))
                        .unwrap_or(0);
                    let ins = INSERTS[rng.next() % INSERTS.len()];
                    ls[i] = format!("{}{ins}{}", &l[..cut], &l[cut..]);
                }
            }
            let mutant = ls.join("\n") + "\n";
            mutants.0 += 1;
            if agree(&mutant, &format!("{} (mutant)", f.display())) {
                mutants.1 += 1;
            }
        }
    }
    println!(
        "fast reader: answered {answered} of {} files and {} of {} mutants",
        files.len(),
        mutants.1,
        mutants.0
    );
    assert!(
        answered * 10 >= files.len() * 9,
        "the fast reader answered only {answered} of {} files",
        files.len()
    );
}
