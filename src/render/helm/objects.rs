//! The objects Helm hands a template, shaped as Helm v4 shapes them:
//! `.Release` and `.Chart` are maps (the chart's metadata under Go's field
//! names, every field present), `.Values` and `.Template` are
//! `common.Values`, `.Capabilities` a struct with `KubeVersion`,
//! `APIVersions` (a set with `Has`) and `HelmVersion`, `.Files` the chart's
//! files with Helm's methods.

use super::chart::Chart;
use crate::render::gotemplate::{MapType, Object, Value};
use base64::Engine;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Helm's `common.Values`.
pub const VALUES: MapType = MapType::Named("common.Values");

/// The API versions Helm v4.2.3 assumes offline (its client-go scheme),
/// in its order.
pub const DEFAULT_API_VERSIONS: &str = include_str!("data/api-versions.txt");

/// The Kubernetes version Helm v4.2.3 assumes offline.
pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// `.Release` for an install.
pub fn release(name: &str, namespace: &str) -> Value {
    map(vec![
        ("Name", Value::str(name)),
        ("Namespace", Value::str(namespace)),
        ("IsUpgrade", Value::Bool(false)),
        ("IsInstall", Value::Bool(true)),
        ("Revision", Value::int(1)),
        ("Service", Value::str("Helm")),
    ])
}

/// `.Chart`: Chart.yaml under Go's field names, absent ones as their zero.
pub fn chart_metadata(chart: &Chart, is_root: bool) -> Value {
    let m = &chart.metadata;
    let text = |k: &str| Value::str(m.get(k).and_then(|v| v.as_str()).unwrap_or(""));
    let list = |k: &str| {
        Value::list(
            m.get(k)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(Value::from_json).collect())
                .unwrap_or_default(),
        )
    };
    let annotations: BTreeMap<String, Value> = m
        .get("annotations")
        .and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), Value::str(v.as_str().unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    map(vec![
        ("APIVersion", text("apiVersion")),
        (
            "Annotations",
            Value::typed_map(annotations, MapType::Strings),
        ),
        ("AppVersion", text("appVersion")),
        ("Condition", text("condition")),
        ("Dependencies", list("dependencies")),
        (
            "Deprecated",
            Value::Bool(
                m.get("deprecated")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            ),
        ),
        ("Description", text("description")),
        ("Home", text("home")),
        ("Icon", text("icon")),
        ("IsRoot", Value::Bool(is_root)),
        ("Keywords", list("keywords")),
        ("KubeVersion", text("kubeVersion")),
        ("Maintainers", list("maintainers")),
        ("Name", Value::str(&chart.name)),
        ("Sources", list("sources")),
        ("Tags", text("tags")),
        ("Type", text("type")),
        ("Version", text("version")),
    ])
}

/// `.Template`.
pub fn template(name: &str, base_path: &str) -> Value {
    Value::typed_map(
        [
            ("BasePath".to_string(), Value::str(base_path)),
            ("Name".to_string(), Value::str(name)),
        ]
        .into_iter()
        .collect(),
        VALUES,
    )
}

/// `.Capabilities`.
#[derive(Debug)]
pub struct Capabilities {
    pub kube_version: String,
    pub api_versions: Vec<String>,
}

impl Capabilities {
    pub fn new(kube_version: Option<&str>, extra_api_versions: &[String]) -> Capabilities {
        let mut api_versions: Vec<String> = DEFAULT_API_VERSIONS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(String::from)
            .collect();
        api_versions.extend(extra_api_versions.iter().cloned());
        let kube_version = match kube_version {
            Some(v) if v.starts_with('v') => v.to_string(),
            Some(v) => format!("v{v}"),
            None => DEFAULT_KUBE_VERSION.to_string(),
        };
        Capabilities {
            kube_version,
            api_versions,
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*common.Capabilities".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "KubeVersion" => Value::Object(Rc::new(KubeVersion(self.kube_version.clone()))),
            "APIVersions" => Value::Object(Rc::new(VersionSet(self.api_versions.clone()))),
            "HelmVersion" => Value::Object(Rc::new(HelmVersion)),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        format!(
            "&{{{} {:?} {{v4.2   go1.26.6 v1.36}}}}",
            self.kube_version, self.api_versions
        )
    }
}

#[derive(Debug)]
struct KubeVersion(String);

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        let bare = self.0.trim_start_matches('v');
        let mut parts = bare.split(['.', '-', '+']);
        let major = parts.next().unwrap_or("").to_string();
        let minor = parts.next().unwrap_or("").to_string();
        Some(match name {
            "Version" | "GitVersion" | "String" => Value::str(&self.0),
            "Major" => Value::str(&major),
            "Minor" => Value::str(&minor),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        self.0.clone()
    }
}

#[derive(Debug)]
struct VersionSet(Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }

    fn field(&self, _: &str) -> Option<Value> {
        None
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("Has", [Value::String(v)]) => Some(Ok(Value::Bool(self.0.iter().any(|x| x == &**v)))),
            ("Has", _) => Some(Err("wrong type for value; expected string".into())),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }

    fn elements(&self) -> Option<Vec<Value>> {
        Some(self.0.iter().map(|s| Value::str(s)).collect())
    }
}

#[derive(Debug)]
struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> String {
        "common.BuildInfo".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::str(match name {
            "Version" => "v4.2",
            "GitCommit" | "GitTreeState" => "",
            "GoVersion" => "go1.26.6",
            "KubeClientVersion" => "v1.36",
            _ => return None,
        }))
    }

    fn display(&self) -> String {
        "{v4.2   go1.26.6 v1.36}".into()
    }
}

/// `.Files`: the chart's files by path, with Helm's methods.
#[derive(Debug, Clone, Default)]
pub struct Files(pub BTreeMap<String, Vec<u8>>);

impl Files {
    fn glob(&self, pattern: &str) -> Result<Files, String> {
        let g = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| e.to_string())?
            .compile_matcher();
        Ok(Files(
            self.0
                .iter()
                .filter(|(k, _)| g.is_match(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    }

    fn by_base_name(&self, f: impl Fn(&[u8]) -> String) -> String {
        let m: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| {
                let base = k.rsplit('/').next().unwrap_or(k).to_string();
                (base, serde_json::Value::String(f(v)))
            })
            .collect();
        if m.is_empty() {
            return "{}".into();
        }
        super::funcs::to_yaml_json(&serde_json::Value::Object(m))
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "AsConfig" => {
                Value::str(&self.by_base_name(|v| String::from_utf8_lossy(v).into_owned()))
            }
            "AsSecrets" => Value::str(
                &self.by_base_name(|v| base64::engine::general_purpose::STANDARD.encode(v)),
            ),
            _ => return None,
        })
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let Some(Value::String(arg)) = args.first() else {
            return match name {
                "Get" | "GetBytes" | "Glob" | "Lines" => {
                    Some(Err("wrong type for value; expected string".into()))
                }
                _ => None,
            };
        };
        let file = self.0.get(&**arg);
        Some(Ok(match name {
            "Get" => Value::str(
                &file
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            ),
            "GetBytes" => Value::Bytes(file.cloned().unwrap_or_default().into()),
            "Glob" => return Some(self.glob(arg).map(|f| Value::Object(Rc::new(f)))),
            "Lines" => {
                let Some(b) = file else {
                    return Some(Ok(Value::strings(Vec::new())));
                };
                let s = String::from_utf8_lossy(b);
                let s = s.strip_suffix('\n').unwrap_or(&s);
                Value::strings(s.split('\n').map(String::from).collect())
            }
            _ => return None,
        }))
    }

    fn display(&self) -> String {
        let inner: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(u8::to_string).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", inner.join(" "))
    }

    fn entries(&self) -> Option<Vec<(String, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bytes(v.clone().into())))
                .collect(),
        )
    }
}
