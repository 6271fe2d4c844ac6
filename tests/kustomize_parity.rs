//! Parity with kustomize v5: every tree of the corpus is rendered by skiff and
//! by `kubectl kustomize` (kustomize v5.5, on every machine) and compared
//! byte for byte — same objects, same order, same values, same text.

#[path = "support/kustomize_corpus.rs"]
mod corpus;

use corpus::{corpus, kubectl_kustomize, skiff_render};

/// Where skiff prints something else on purpose: the tree, the reason, and
/// the text of kubectl's output that skiff replaces (the rest must match).
const KNOWN_DIFFERENCES: &[(&str, &str, &str, &str)] = &[(
    "build-metadata-managed-by",
    "kubectl's embedded kustomize labels objects `kustomize-(devel)`, which is not a valid \
     label value (the API server refuses it); skiff writes what kustomize v5.5.0 itself writes",
    "app.kubernetes.io/managed-by: kustomize-(devel)",
    "app.kubernetes.io/managed-by: kustomize-v5.5.0",
)];

#[test]
fn skiff_renders_what_kubectl_kustomize_renders() {
    let cases = corpus();
    assert!(
        cases.len() >= 150,
        "the corpus is missing trees: {}",
        cases.len()
    );
    let mut same = 0;
    let mut failures = Vec::new();
    for (name, repo_root, dir) in &cases {
        let kubectl = kubectl_kustomize(dir)
            .unwrap_or_else(|e| panic!("{name}: kubectl kustomize failed: {e}"));
        let known = KNOWN_DIFFERENCES.iter().find(|(n, ..)| n == name);
        let want = match known {
            Some((_, why, theirs, ours)) => {
                if !kubectl.contains(theirs) {
                    failures.push(format!("{name}: listed as a known difference, but kubectl no longer prints {theirs:?}"));
                }
                println!("  known difference {name}: {why}");
                kubectl.replace(theirs, ours)
            }
            None => kubectl,
        };
        let got = match skiff_render(repo_root, dir) {
            Ok(text) => text,
            Err(e) => {
                failures.push(format!("{name}: skiff failed: {e}"));
                continue;
            }
        };
        if got == want {
            same += 1;
        } else {
            failures.push(format!(
                "{name}: differs\n--- skiff\n{got}\n--- kubectl kustomize\n{want}"
            ));
        }
    }
    println!(
        "kustomize parity: {same} of {} trees match kubectl kustomize byte for byte; {} known differences",
        cases.len(),
        KNOWN_DIFFERENCES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
