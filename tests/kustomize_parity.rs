//! Parity with kustomize v5: every tree of the corpus is rendered by skiff and
//! by `kubectl kustomize` (kustomize v5.5, on every machine) and compared
//! parsed — same objects, same order, same values — and as text.

use skiff::render::yaml::{parse_documents_as, Dialect};
use skiff::source::tree::DirTree;
use std::path::{Path, PathBuf};

/// Where skiff prints something else on purpose: the tree, the reason, and
/// the text of kubectl's output that skiff replaces (the rest must match).
const KNOWN_DIFFERENCES: &[(&str, &str, &str, &str)] = &[(
    "build-metadata-managed-by",
    "kubectl's embedded kustomize labels objects `kustomize-(devel)`, which is not a valid \
     label value (the API server refuses it); skiff writes what kustomize v5.5.0 itself writes",
    "app.kubernetes.io/managed-by: kustomize-(devel)",
    "app.kubernetes.io/managed-by: kustomize-v5.5.0",
)];

/// (case name, repository root, kustomization directory)
fn corpus() -> Vec<(String, PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = Vec::new();
    let mut add_dir = |dir: PathBuf, repo_root: Option<PathBuf>| {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries.into_iter().filter(|p| p.is_dir()) {
            let name = e.file_name().unwrap().to_string_lossy().to_string();
            cases.push((name, repo_root.clone().unwrap_or_else(|| e.clone()), e));
        }
    };
    add_dir(root.join("tests/kustomize"), None);
    add_dir(root.join("../shared/kustomize-data/checks"), None);
    add_dir(
        root.join("examples/config-repo/environments"),
        Some(root.join("examples/config-repo")),
    );
    cases
}

fn skiff_render(repo_root: &Path, dir: &Path) -> Result<String, String> {
    let tree = DirTree::new(repo_root).map_err(|e| e.to_string())?;
    let rel = dir
        .canonicalize()
        .unwrap()
        .strip_prefix(repo_root.canonicalize().unwrap())
        .unwrap()
        .to_string_lossy()
        .to_string();
    let manifests = skiff::render::kustomize::build(&tree, &rel).map_err(|e| e.to_string())?;
    let objects: Vec<_> = manifests
        .iter()
        .map(|m| skiff::render::kustomize::sorted(&m.object))
        .collect();
    Ok(skiff::render::yaml_out::write_stream(&objects))
}

fn kubectl_kustomize(dir: &Path) -> Result<String, String> {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| format!("kubectl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn skiff_renders_what_kubectl_kustomize_renders() {
    let cases = corpus();
    assert!(
        cases.len() >= 60,
        "the corpus is missing trees: {}",
        cases.len()
    );
    let (mut same, mut identical) = (0, 0);
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
        let parse = |t: &str| parse_documents_as(t, Dialect::Kustomize).unwrap();
        if parse(&got) == parse(&want) {
            same += 1;
            if got == want {
                identical += 1;
            }
        } else {
            failures.push(format!(
                "{name}: differs\n--- skiff\n{got}\n--- kubectl kustomize\n{want}"
            ));
        }
    }
    println!("kustomize parity: {same} of {} trees match kubectl kustomize parsed, {identical} byte-identical; {} known differences", cases.len(), KNOWN_DIFFERENCES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
