//! Render: turn the files at an application's path into the objects to apply.
//! A function of its inputs (a [`Tree`] and options); it touches no cluster.

pub mod directory;
pub mod fields;
pub mod kustomize;
pub mod schema;
pub mod selector;
pub mod yaml;
pub mod yaml_out;

use crate::source::tree::{Tree, TreeError};
use fields::Fields;
use serde_json::Value;

/// Files larger than this are refused rather than read.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// More documents than this in one render are refused.
pub const MAX_DOCUMENTS: usize = 10_000;

/// One object to apply, and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub object: Value,
    pub file: String,
}

impl Manifest {
    // These run for every object many times per render: plain scans, no
    // `Value::pointer` (it allocates per segment) and no key hashing.
    fn top(&self, key: &str) -> &str {
        fields::text(&self.object, key)
    }
    fn meta(&self, key: &str) -> &str {
        self.object
            .field("metadata")
            .map_or("", |m| fields::text(m, key))
    }
    pub fn api_version(&self) -> &str {
        self.top("apiVersion")
    }
    pub fn kind(&self) -> &str {
        self.top("kind")
    }
    pub fn name(&self) -> &str {
        self.meta("name")
    }
    pub fn namespace(&self) -> &str {
        self.meta("namespace")
    }
    /// (group, version) of the apiVersion.
    pub fn group_version(&self) -> (&str, &str) {
        let av = self.api_version();
        av.split_once('/').unwrap_or(("", av))
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum RenderError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("{file}: line {line}: {message}")]
    Yaml {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: document {document}: {message}")]
    Invalid {
        file: String,
        document: usize,
        message: String,
    },
    #[error("{dir}: contains {file} inside a directory app; point an Application's path at it to render it with kustomize")]
    KustomizeUnsupported { dir: String, file: String },
    #[error("{file}: {message}")]
    Limit { file: String, message: String },
    #[error(transparent)]
    Kustomize(#[from] kustomize::KustomizeError),
    #[error("directory.{field}: invalid glob {pattern:?}: {message}")]
    Glob {
        field: &'static str,
        pattern: String,
        message: String,
    },
}

/// The files that make a directory a kustomization (Argo CD's tool detection).
pub use kustomize::FILES as KUSTOMIZATION_FILES;

/// Parses one manifest file (YAML stream or JSON) into objects.
pub fn parse_file(file: &str, bytes: &[u8]) -> Result<Vec<Manifest>, RenderError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(RenderError::Limit {
            file: file.to_string(),
            message: format!(
                "{} bytes is more than the {MAX_FILE_BYTES}-byte limit for one file",
                bytes.len()
            ),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| RenderError::Invalid {
        file: file.to_string(),
        document: 1,
        message: format!("not UTF-8 text: {e}"),
    })?;
    let docs = if file.ends_with(".json") {
        let v: Value = serde_json::from_str(text).map_err(|e| RenderError::Yaml {
            file: file.to_string(),
            line: e.line(),
            message: e.to_string(),
        })?;
        vec![v]
    } else {
        yaml::parse_documents(text).map_err(|e| RenderError::Yaml {
            file: file.to_string(),
            line: e.line,
            message: e.message,
        })?
    };
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let document = i + 1;
        let invalid = |message: String| RenderError::Invalid {
            file: file.to_string(),
            document,
            message,
        };
        let Value::Object(map) = &doc else {
            return Err(invalid(format!(
                "expected a Kubernetes object (a map), found {}",
                type_name(&doc)
            )));
        };
        // `kind: List` (kubectl's wrapper) holds its objects in items.
        if map.get("kind").and_then(Value::as_str) == Some("List") && map.get("items").is_some() {
            let items = map["items"].as_array().cloned().unwrap_or_default();
            for item in items {
                check_object(&item).map_err(invalid)?;
                out.push(Manifest {
                    object: item,
                    file: file.to_string(),
                });
            }
            continue;
        }
        check_object(&doc).map_err(invalid)?;
        out.push(Manifest {
            object: doc,
            file: file.to_string(),
        });
    }
    Ok(out)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn check_object(v: &Value) -> Result<(), String> {
    for (pointer, field) in [
        ("/apiVersion", "apiVersion"),
        ("/kind", "kind"),
        ("/metadata/name", "metadata.name"),
    ] {
        match v.pointer(pointer) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(other) if !other.is_null() => {
                return Err(format!(
                    "{field} must be a string, found {}",
                    type_name(other)
                ))
            }
            _ => {
                if field == "metadata.name" {
                    match v.pointer("/metadata/generateName") {
                        // A hook is made anew by each sync, so it may have
                        // its name generated (the sync names it).
                        Some(Value::String(g)) if !g.is_empty() && is_hook(v) => continue,
                        Some(_) => return Err("metadata.generateName is only supported on hooks: any other object needs a fixed metadata.name".into()),
                        None => {}
                    }
                }
                return Err(format!("{field} is missing"));
            }
        }
    }
    Ok(())
}

/// Whether the object carries a hook annotation (skiff's or Argo CD's).
fn is_hook(v: &Value) -> bool {
    ["skiff.dev/hook", "argocd.argoproj.io/hook"]
        .iter()
        .any(|key| {
            v.pointer("/metadata/annotations")
                .and_then(|a| a.get(*key))
                .is_some()
        })
}

/// Which tool renders a path (Argo CD's detection: a kustomization file means kustomize).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Directory,
    Kustomize,
}

impl Tool {
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Directory => "Directory",
            Tool::Kustomize => "Kustomize",
        }
    }
}

pub fn detect(tree: &dyn Tree, path: &str) -> Result<Tool, RenderError> {
    let dir = crate::source::tree::normalize("", path)?;
    tree.list(&dir)?;
    Ok(if kustomize::is_kustomization(tree, &dir) {
        Tool::Kustomize
    } else {
        Tool::Directory
    })
}

/// Renders an Application's source: its path with the tool Argo CD would pick,
/// directory options or kustomize overrides applied.
pub fn render_source(
    tree: &dyn Tree,
    source: &crate::application::ApplicationSource,
) -> Result<Vec<Manifest>, RenderError> {
    match detect(tree, &source.path)? {
        Tool::Kustomize => {
            let dir = crate::source::tree::normalize("", &source.path)?;
            Ok(kustomize::build_with(
                tree,
                &dir,
                source.kustomize.as_ref(),
            )?)
        }
        Tool::Directory => directory::render(
            tree,
            &source.path,
            &source.directory.clone().unwrap_or_default(),
        ),
    }
}

/// Renders an application's path with the tool Argo CD would pick for it.
pub fn render(
    tree: &dyn Tree,
    path: &str,
    directory: &crate::application::DirectorySource,
) -> Result<Vec<Manifest>, RenderError> {
    match detect(tree, path)? {
        Tool::Kustomize => Ok(kustomize::build(
            tree,
            &crate::source::tree::normalize("", path)?,
        )?),
        Tool::Directory => directory::render(tree, path, directory),
    }
}
