//! Render: turn the files at an application's path into the objects to apply.
//! A function of its inputs (a [`Tree`] and options); it touches no cluster.

pub mod directory;
pub mod fields;
pub mod gojson;
pub mod gotemplate;
pub mod helm;
pub mod kustomize;
pub mod schema;
pub mod selector;
pub mod sprig;
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
    #[error(transparent)]
    Helm(#[from] helm::HelmError),
    #[error("{path}: is a Helm chart; skiff renders charts with `skiff render` today, and in Applications once Helm joins the GitOps loop (nothing was applied)")]
    HelmInApplication { path: String },
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

/// Which tool renders a path (Argo CD's detection: a `Chart.yaml` means
/// Helm, else a kustomization file means kustomize, else a directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Directory,
    Kustomize,
    Helm,
}

impl Tool {
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Directory => "Directory",
            Tool::Kustomize => "Kustomize",
            Tool::Helm => "Helm",
        }
    }
}

pub fn detect(tree: &dyn Tree, path: &str) -> Result<Tool, RenderError> {
    let dir = crate::source::tree::normalize("", path)?;
    let entries = tree.list(&dir)?;
    Ok(if entries.iter().any(|e| e.name == "Chart.yaml") {
        Tool::Helm
    } else if kustomize::is_kustomization(tree, &dir) {
        Tool::Kustomize
    } else {
        Tool::Directory
    })
}

/// A chart rendered as `helm template --include-crds` renders it, as
/// objects: every rendered file split as Helm splits manifests, each
/// document an object (an error names the template).
pub fn render_chart(
    tree: &dyn Tree,
    path: &str,
    options: &helm::Options,
) -> Result<Vec<Manifest>, RenderError> {
    let dir = crate::source::tree::normalize("", path)?;
    let chart = helm::chart::load(tree, &dir).map_err(helm::HelmError::from)?;
    // `helm template`'s defaults: the chart's name, the default namespace.
    let mut options = options.clone();
    if options.release_name.is_empty() {
        options.release_name = chart.name.clone();
    }
    if options.namespace.is_empty() {
        options.namespace = "default".into();
    }
    let mut out = Vec::new();
    for rendered in helm::render(&chart, &options)? {
        for (i, doc) in helm::split_manifests(&rendered.text).iter().enumerate() {
            let values = yaml::parse_documents(doc).map_err(|e| RenderError::Yaml {
                file: rendered.name.clone(),
                line: e.line,
                message: e.message.clone(),
            })?;
            for object in values.into_iter().filter(|v| !v.is_null()) {
                if !object.is_object() || object.get("kind").is_none() {
                    return Err(RenderError::Invalid {
                        file: rendered.name.clone(),
                        document: i + 1,
                        message: "a rendered document is not an object with a kind".into(),
                    });
                }
                out.push(Manifest {
                    object,
                    file: rendered.name.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Who a render is for: the build environment Argo CD gives its tools.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildEnv {
    pub app_name: String,
    pub app_namespace: String,
    pub project: String,
    /// The commit rendered.
    pub revision: String,
    pub source: crate::application::ApplicationSource,
}

impl BuildEnv {
    /// The environment of a render of `app`'s `source` at `commit`.
    pub fn of(
        app: &crate::application::Application,
        source: &crate::application::ApplicationSource,
        commit: &str,
    ) -> BuildEnv {
        use kube::ResourceExt;
        BuildEnv {
            app_name: app.name_any(),
            app_namespace: app.namespace().unwrap_or_default(),
            project: app.spec.project.clone(),
            revision: commit.to_string(),
            source: source.clone(),
        }
    }

    /// The variables, under Argo CD's names (`ARGOCD_APP_NAME`, ...) and
    /// skiff's (`SKIFF_APP_NAME`, ...).
    pub fn vars(&self) -> Vec<(String, String)> {
        let short = |n: usize| self.revision.chars().take(n).collect::<String>();
        let values = [
            ("APP_NAME", self.app_name.clone()),
            ("APP_NAMESPACE", self.app_namespace.clone()),
            ("APP_PROJECT_NAME", self.project.clone()),
            ("APP_REVISION", self.revision.clone()),
            ("APP_REVISION_SHORT", short(7)),
            ("APP_REVISION_SHORT_8", short(8)),
            ("APP_SOURCE_REPO_URL", self.source.repo_url.clone()),
            ("APP_SOURCE_PATH", self.source.path.clone()),
            (
                "APP_SOURCE_TARGET_REVISION",
                self.source.target_revision.clone(),
            ),
        ];
        ["ARGOCD_", "SKIFF_"]
            .iter()
            .flat_map(|prefix| {
                values
                    .iter()
                    .map(move |(k, v)| (format!("{prefix}{k}"), v.clone()))
            })
            .collect()
    }

    /// Go's `os.Expand` over these variables, as Argo CD's envsubst does:
    /// `$NAME` and `${NAME}`; an unknown name is empty; `$$` is `$`.
    pub fn substitute(&self, text: &str) -> String {
        let vars = self.vars();
        let lookup = |name: &str| -> String {
            if name == "$" {
                return "$".into();
            }
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) if end > 0 => {
                        out.push_str(&lookup(&braced[..end]));
                        rest = &braced[end + 1..];
                    }
                    // Go drops a bad `${`.
                    _ => rest = braced.find('}').map_or("", |e| &braced[e + 1..]),
                }
                continue;
            }
            let special = after
                .chars()
                .next()
                .filter(|c| "*#$@!?-".contains(*c) || c.is_ascii_digit());
            let len = match special {
                Some(c) => c.len_utf8(),
                None => after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len()),
            };
            if len == 0 {
                // A `$` with no name after it stays.
                out.push('$');
                rest = after;
            } else {
                out.push_str(&lookup(&after[..len]));
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// Renders an Application's source: its path with the tool Argo CD would pick,
/// directory options or kustomize overrides applied.
pub fn render_source(
    tree: &dyn Tree,
    source: &crate::application::ApplicationSource,
    env: &BuildEnv,
) -> Result<Vec<Manifest>, RenderError> {
    match detect(tree, &source.path)? {
        Tool::Kustomize => {
            let dir = crate::source::tree::normalize("", &source.path)?;
            Ok(kustomize::build_with(
                tree,
                &dir,
                source.kustomize.as_ref(),
                env,
            )?)
        }
        Tool::Directory => directory::render(
            tree,
            &source.path,
            &source.directory.clone().unwrap_or_default(),
        ),
        Tool::Helm => Err(RenderError::HelmInApplication {
            path: source.path.clone(),
        }),
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
        Tool::Helm => render_chart(tree, path, &helm::Options::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_env_substitutes_as_go_os_expand() {
        let env = BuildEnv {
            app_name: "shop".into(),
            app_namespace: "apps".into(),
            revision: "abcdef0123456789".into(),
            ..Default::default()
        };
        assert_eq!(
            env.substitute("$ARGOCD_APP_NAME/${SKIFF_APP_NAMESPACE} at $ARGOCD_APP_REVISION_SHORT"),
            "shop/apps at abcdef0"
        );
        assert_eq!(env.substitute("$$ $UNKNOWN! ${} $"), "$ !  $");
    }
}
