//! The kustomize parity corpus and its two renderers, shared by the parity
//! test and the differential fuzzer: the trees of `tests/kustomize/`, the
//! shared golden checks and the example config repository; `kubectl
//! kustomize` (kustomize v5.5) and skiff's in-process build, each printing
//! the stream as kubectl does.
#![allow(dead_code)]

use skiff::render::yaml::{parse_documents_as, Dialect};
use skiff::source::tree::DirTree;
use std::path::{Path, PathBuf};

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

pub fn kustomization_of(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// The trees of a case: its root when it holds a kustomization; else every
/// kustomization below it that no other one there lists (its overlays, as a
/// platform repository has them: one Application per overlay).
pub fn trees_of(case: &Path) -> Vec<PathBuf> {
    if kustomization_of(case).is_some() {
        return vec![case.to_path_buf()];
    }
    let mut dirs = Vec::new();
    let mut stack = vec![case.to_path_buf()];
    while let Some(d) = stack.pop() {
        if kustomization_of(&d).is_some() {
            dirs.push(d.clone());
        }
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
        }
    }
    let mut listed = std::collections::HashSet::new();
    for d in &dirs {
        let text = std::fs::read_to_string(kustomization_of(d).unwrap()).unwrap();
        let k = parse_documents_as(&text, Dialect::Kustomize)
            .unwrap()
            .into_iter()
            .next()
            .unwrap_or_default();
        for field in ["resources", "bases", "components"] {
            for entry in k[field].as_array().into_iter().flatten() {
                if let Some(p) = entry.as_str().and_then(|e| d.join(e).canonicalize().ok()) {
                    listed.insert(p);
                }
            }
        }
    }
    let mut roots: Vec<PathBuf> = dirs
        .into_iter()
        .filter(|d| !listed.contains(&d.canonicalize().unwrap()))
        .collect();
    roots.sort();
    roots
}

/// (case name, repository root, kustomization directory)
pub fn corpus() -> Vec<(String, PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = Vec::new();
    let mut add_dir = |dir: PathBuf, repo_root: Option<PathBuf>| {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries.into_iter().filter(|p| p.is_dir()) {
            let name = e.file_name().unwrap().to_string_lossy().to_string();
            for tree in trees_of(&e) {
                let label = match tree.strip_prefix(&e).unwrap().to_string_lossy() {
                    rel if rel.is_empty() => name.clone(),
                    rel => format!("{name}/{rel}"),
                };
                cases.push((label, repo_root.clone().unwrap_or_else(|| e.clone()), tree));
            }
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

pub fn skiff_render(repo_root: &Path, dir: &Path) -> Result<String, String> {
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

pub fn kubectl_kustomize(dir: &Path) -> Result<String, String> {
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
