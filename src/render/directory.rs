//! A plain directory of manifests: `.yaml`, `.yml` and `.json` files, in name
//! order, optionally recursive, filtered by `include`/`exclude` globs.

use super::{parse_file, Manifest, RenderError, KUSTOMIZATION_FILES, MAX_DOCUMENTS};
use crate::application::DirectorySource;
use crate::source::tree::{normalize, EntryKind, Tree};
use globset::{GlobSet, GlobSetBuilder};

fn globs(field: &'static str, pattern: &str) -> Result<Option<GlobSet>, RenderError> {
    if pattern.trim().is_empty() {
        return Ok(None);
    }
    // Argo CD accepts a single glob or a `{a,b}` list of globs.
    let inner = pattern.trim();
    let parts: Vec<&str> = match inner.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        Some(list) => list.split(',').map(str::trim).collect(),
        None => vec![inner],
    };
    let mut builder = GlobSetBuilder::new();
    for p in parts {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| RenderError::Glob {
                field,
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?;
        builder.add(glob);
    }
    builder.build().map(Some).map_err(|e| RenderError::Glob {
        field,
        pattern: pattern.to_string(),
        message: e.to_string(),
    })
}

fn matches(set: &GlobSet, rel: &str) -> bool {
    // A pattern without a slash matches the file name in any directory.
    let name = rel.rsplit('/').next().unwrap_or(rel);
    set.is_match(rel) || set.is_match(name)
}

pub fn render(
    tree: &dyn Tree,
    path: &str,
    opts: &DirectorySource,
) -> Result<Vec<Manifest>, RenderError> {
    let root = normalize("", path)?;
    let include = globs("include", &opts.include)?;
    let exclude = globs("exclude", &opts.exclude)?;
    let mut out = Vec::new();
    walk(
        tree,
        &root,
        "",
        opts.recurse,
        include.as_ref(),
        exclude.as_ref(),
        &mut out,
    )?;
    Ok(out)
}

fn walk(
    tree: &dyn Tree,
    root: &str,
    rel_dir: &str,
    recurse: bool,
    include: Option<&GlobSet>,
    exclude: Option<&GlobSet>,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    let dir = normalize(root, rel_dir)?;
    let entries = tree.list(&dir)?;
    if let Some(k) = entries
        .iter()
        .find(|e| e.kind == EntryKind::File && KUSTOMIZATION_FILES.contains(&e.name.as_str()))
    {
        return Err(RenderError::KustomizeUnsupported {
            dir: if dir.is_empty() {
                ".".into()
            } else {
                dir.clone()
            },
            file: k.name.clone(),
        });
    }
    for entry in entries {
        let rel = if rel_dir.is_empty() {
            entry.name.clone()
        } else {
            format!("{rel_dir}/{}", entry.name)
        };
        match entry.kind {
            EntryKind::Dir if recurse && !entry.name.starts_with('.') => {
                walk(tree, root, &rel, recurse, include, exclude, out)?;
            }
            EntryKind::Dir => {}
            EntryKind::File => {
                let manifest_file = [".yaml", ".yml", ".json"]
                    .iter()
                    .any(|ext| entry.name.ends_with(ext));
                if !manifest_file
                    || include.is_some_and(|g| !matches(g, &rel))
                    || exclude.is_some_and(|g| matches(g, &rel))
                {
                    continue;
                }
                let file = normalize(root, &rel)?;
                let bytes = tree.read(&file)?;
                out.extend(parse_file(&file, &bytes)?);
                if out.len() > MAX_DOCUMENTS {
                    return Err(RenderError::Limit {
                        file,
                        message: format!("the render has more than {MAX_DOCUMENTS} objects"),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::source::tree::fixture as tree;

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\n";

    #[test]
    fn reads_yaml_yml_json_multi_documents_in_name_order() {
        let (_d, t) = tree(&[
            (
                "app/b.yaml",
                &format!(
                    "{}---\n{}",
                    CM.replace("NAME", "b1"),
                    CM.replace("NAME", "b2")
                ),
            ),
            ("app/a.yml", &CM.replace("NAME", "a")),
            (
                "app/c.json",
                r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}"#,
            ),
            ("app/notes.txt", "not a manifest"),
            ("app/sub/d.yaml", &CM.replace("NAME", "d")),
        ]);
        let names = |opts: &DirectorySource| -> Vec<String> {
            render(&t, "app", opts)
                .unwrap()
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        };
        assert_eq!(names(&DirectorySource::default()), ["a", "b1", "b2", "c"]);
        let recurse = DirectorySource {
            recurse: true,
            ..Default::default()
        };
        assert_eq!(names(&recurse), ["a", "b1", "b2", "c", "d"]);
        let include = DirectorySource {
            recurse: true,
            include: "{*.yml,sub/*}".into(),
            ..Default::default()
        };
        assert_eq!(names(&include), ["a", "d"]);
        let exclude = DirectorySource {
            recurse: true,
            exclude: "b.yaml".into(),
            ..Default::default()
        };
        assert_eq!(names(&exclude), ["a", "c", "d"]);
    }

    #[test]
    fn octal_modes_are_numbers_and_quoted_ones_strings() {
        let (_d, t) = tree(&[("v.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\ndata:\n  mode: '0644'\nspec:\n  defaultMode: 0644\n")]);
        let m = &render(&t, "", &DirectorySource::default()).unwrap()[0];
        assert_eq!(m.object["spec"]["defaultMode"], json!(420));
        assert_eq!(m.object["data"]["mode"], json!("0644"));
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let (_d, t) = tree(&[
            ("ok.yaml", &CM.replace("NAME", "ok")),
            ("bad.yaml", "apiVersion: v1\nkind: [\n"),
        ]);
        let err = render(&t, "", &DirectorySource::default()).unwrap_err();
        assert!(
            matches!(&err, RenderError::Yaml { file, line, .. } if file == "bad.yaml" && *line >= 2),
            "{err}"
        );
        let (_d, t) = tree(&[("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")]);
        assert_eq!(
            render(&t, "", &DirectorySource::default())
                .unwrap_err()
                .to_string(),
            "x.yaml: document 1: metadata.name is missing"
        );
        let (_d, t) = tree(&[("app/kustomization.yaml", "resources: []\n")]);
        assert_eq!(
            render(&t, "app", &DirectorySource::default()).unwrap_err().to_string(),
            "app: contains kustomization.yaml inside a directory app; point an Application's path at it to render it with kustomize"
        );
        let (_d, t) = tree(&[("a.yaml", &CM.replace("NAME", "a"))]);
        assert!(matches!(
            render(&t, "../..", &DirectorySource::default()),
            Err(RenderError::Tree(_))
        ));
        assert!(matches!(
            render(&t, "missing", &DirectorySource::default()),
            Err(RenderError::Tree(_))
        ));
    }
}
