//! kustomize's built-in transformers and generators as steps. A
//! kustomization's fields become a list of steps in kustomize's fixed order;
//! the configs listed under `transformers` and `generators`
//! (`apiVersion: builtin`, kind `LabelTransformer`, `PatchTransformer`, …)
//! become the same steps, run after them. One representation, so both
//! spellings behave alike and `buildMetadata: [transformerAnnotations]` can
//! name every step that ran.

use super::config::{merge_specs, Config};
use super::fieldspec::{self, FieldSpec, Specs};
use super::transform::{self, NamespaceOptions, Subjects};
use super::{KustomizeError, Res};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Who configured a step or generated a resource: what kustomize writes in
/// `configuredIn`/`configuredBy`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfiguredBy {
    /// The kustomization (or config file) that configured it, as a tree path.
    pub file: String,
    pub kind: String,
    /// The config's `metadata.name`; kustomization fields have none.
    pub name: Option<String>,
}

pub struct Step {
    pub by: Arc<ConfiguredBy>,
    /// The field that listed it, for errors.
    pub field: &'static str,
    pub action: Action,
}

pub enum Action {
    /// Strategic-merge patches aimed by their own id: paths or inline YAML.
    PatchesStrategicMerge(Vec<String>),
    /// A `patches` entry: `path` or `patch`, optional `target` and `options`.
    Patch(Value),
    /// A `patchesJson6902` entry: `target` and `path` or `patch`.
    Json6902(Value),
    Namespace {
        namespace: String,
        specs: Specs,
        options: NamespaceOptions,
    },
    Affix {
        prefix: String,
        suffix: String,
        specs: Specs,
    },
    Labels {
        labels: Map<String, Value>,
        specs: Specs,
    },
    Annotations {
        annotations: Map<String, Value>,
        specs: Specs,
    },
    Replicas {
        replica: Value,
        specs: Specs,
    },
    Image {
        rule: Value,
        specs: Specs,
    },
    Replacements(Vec<Value>),
}

fn string_map(v: Option<&Value>, what: &str) -> Result<Map<String, Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect()),
        Some(_) => Err(format!("{what} is not a map")),
    }
}

fn list(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

fn specs_of(v: Option<&Value>, what: &str) -> Result<Specs, String> {
    list(v)
        .iter()
        .map(|s| {
            fieldspec::from_value(s).ok_or_else(|| format!("{what}: every fieldspec needs a path"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Specs::Owned)
}

/// The steps a kustomization's own fields configure, in kustomize's order.
pub fn kustomization_steps(
    k: &Value,
    config: &Config,
    file: &str,
) -> Result<Vec<Step>, KustomizeError> {
    let by = |kind: &str| {
        Arc::new(ConfiguredBy {
            file: file.to_string(),
            kind: kind.to_string(),
            name: None,
        })
    };
    let err = |field: &str, m: String| KustomizeError::field(file, field, m);
    let mut steps = Vec::new();
    let mut push = |kind: &str, action: Action| {
        steps.push(Step {
            by: by(kind),
            field: field_of(kind),
            action,
        })
    };
    let psm: Vec<String> = list(k.get("patchesStrategicMerge"))
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    if !psm.is_empty() {
        push(
            "PatchStrategicMergeTransformer",
            Action::PatchesStrategicMerge(psm),
        );
    }
    for entry in list(k.get("patches")) {
        push("PatchTransformer", Action::Patch(entry));
    }
    if let Some(ns) = k
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        push(
            "NamespaceTransformer",
            Action::Namespace {
                namespace: ns.to_string(),
                specs: config.namespace.clone(),
                options: NamespaceOptions::default(),
            },
        );
    }
    for (field, kind, specs) in [
        ("namePrefix", "PrefixTransformer", &config.name_prefix),
        ("nameSuffix", "SuffixTransformer", &config.name_suffix),
    ] {
        if let Some(affix) = k
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            let (prefix, suffix) = if field == "namePrefix" {
                (affix, "")
            } else {
                ("", affix)
            };
            push(
                kind,
                Action::Affix {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                    specs: specs.clone(),
                },
            );
        }
    }
    // `labels` entries first, then `commonLabels`: kustomize's order, which
    // decides a key both set.
    for entry in list(k.get("labels")) {
        let labels =
            string_map(entry.get("pairs"), "labels.pairs").map_err(|m| err("labels", m))?;
        let mut specs =
            specs_of(entry.get("fields"), "labels.fields").map_err(|m| err("labels", m))?;
        let include = |key: &str| entry.get(key).and_then(Value::as_bool).unwrap_or(false);
        let defaults = if include("includeSelectors") {
            config.common_labels.clone()
        } else {
            let mut d = Specs::Owned(vec![FieldSpec::new("metadata/labels", true)]);
            if include("includeTemplates") {
                merge_specs(&mut d, &config.template_labels, "templateLabels")
                    .map_err(|m| err("labels", m))?;
            }
            d
        };
        merge_specs(&mut specs, &defaults, "labels").map_err(|m| err("labels", m))?;
        push("LabelTransformer", Action::Labels { labels, specs });
    }
    let common =
        string_map(k.get("commonLabels"), "commonLabels").map_err(|m| err("commonLabels", m))?;
    if !common.is_empty() {
        push(
            "LabelTransformer",
            Action::Labels {
                labels: common,
                specs: config.common_labels.clone(),
            },
        );
    }
    let annotations = string_map(k.get("commonAnnotations"), "commonAnnotations")
        .map_err(|m| err("commonAnnotations", m))?;
    if !annotations.is_empty() {
        push(
            "AnnotationsTransformer",
            Action::Annotations {
                annotations,
                specs: config.common_annotations.clone(),
            },
        );
    }
    for entry in list(k.get("patchesJson6902")) {
        if entry.get("target").is_none() {
            return Err(err("patchesJson6902", "an entry has no target".into()));
        }
        push("PatchJson6902Transformer", Action::Json6902(entry));
    }
    for replica in list(k.get("replicas")) {
        push(
            "ReplicaCountTransformer",
            Action::Replicas {
                replica,
                specs: config.replicas.clone(),
            },
        );
    }
    for rule in list(k.get("images")) {
        push(
            "ImageTagTransformer",
            Action::Image {
                rule,
                specs: config.images.clone(),
            },
        );
    }
    let replacements = list(k.get("replacements"));
    if !replacements.is_empty() {
        push("ReplacementTransformer", Action::Replacements(replacements));
    }
    Ok(steps)
}

/// Built-in kinds skiff does not run, with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("HelmChartInflationGenerator", "skiff does not run helm"),
    ("IAMPolicyGenerator", "it needs a cloud provider's API"),
    (
        "HashTransformer",
        "hash suffixes are added once, at the top of the build",
    ),
    (
        "SortOrderTransformer",
        "use sortOptions in the top kustomization",
    ),
    (
        "ValueAddTransformer",
        "it is an alpha kustomize transformer skiff does not implement",
    ),
];

/// The config of a built-in transformer, as a step. `field` is where it was
/// listed (`transformers`), for errors.
pub fn config_step(obj: &Value, file: &str, field: &str) -> Result<Step, KustomizeError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str);
    let err = |m: String| {
        KustomizeError::field(
            file,
            field,
            format!("{kind} {:?}: {m}", name.unwrap_or_default()),
        )
    };
    check_builtin(obj).map_err(&err)?;
    let specs = specs_of(obj.get("fieldSpecs"), "fieldSpecs").map_err(&err)?;
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let action = match kind {
        "PatchTransformer" => {
            let mut entry = Map::new();
            for key in ["path", "patch", "target", "options"] {
                if let Some(v) = obj.get(key) {
                    entry.insert(key.into(), v.clone());
                }
            }
            Action::Patch(Value::Object(entry))
        }
        "PatchJson6902Transformer" => {
            let mut entry = Map::new();
            if let Some(t) = obj.get("target") {
                entry.insert("target".into(), t.clone());
            } else {
                return Err(err("no target".into()));
            }
            if let Some(p) = obj.get("path") {
                entry.insert("path".into(), p.clone());
            }
            if let Some(op) = obj.get("jsonOp") {
                entry.insert("patch".into(), op.clone());
            }
            Action::Json6902(Value::Object(entry))
        }
        "PatchStrategicMergeTransformer" => {
            let mut entries: Vec<String> = list(obj.get("paths"))
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            let inline = text("patches");
            if !inline.is_empty() {
                entries.push(inline);
            }
            Action::PatchesStrategicMerge(entries)
        }
        "NamespaceTransformer" => {
            let mode = text("setRoleBindingSubjects");
            Action::Namespace {
                namespace: obj
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                specs,
                options: NamespaceOptions {
                    unset_only: obj.get("unsetOnly").and_then(Value::as_bool).unwrap_or(false),
                    subjects: Subjects::parse(&mode).ok_or_else(|| {
                        err(format!(
                            "setRoleBindingSubjects {mode:?} is not defaultOnly, allServiceAccounts or none"
                        ))
                    })?,
                },
            }
        }
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => Action::Affix {
            prefix: text("prefix"),
            suffix: text("suffix"),
            specs,
        },
        "LabelTransformer" => Action::Labels {
            labels: string_map(obj.get("labels"), "labels").map_err(&err)?,
            specs,
        },
        "AnnotationsTransformer" => Action::Annotations {
            annotations: string_map(obj.get("annotations"), "annotations").map_err(&err)?,
            specs,
        },
        "ImageTagTransformer" => Action::Image {
            rule: obj.get("imageTag").cloned().unwrap_or(json!({})),
            specs,
        },
        "ReplicaCountTransformer" => Action::Replicas {
            replica: obj.get("replica").cloned().unwrap_or(json!({})),
            specs,
        },
        "ReplacementTransformer" => Action::Replacements(list(obj.get("replacements"))),
        "ConfigMapGenerator" | "SecretGenerator" => {
            return Err(err(format!(
                "a generator is listed under {field}; list it under generators"
            )))
        }
        other => return Err(err(unknown_kind(other))),
    };
    Ok(Step {
        by: Arc::new(ConfiguredBy {
            file: file.to_string(),
            kind: kind.to_string(),
            name: name.map(String::from),
        }),
        field: "transformers",
        action,
    })
}

/// The config of a built-in generator, as the generator entry it stands for
/// (`ConfigMap` or `Secret`, and the entry with name and namespace filled).
pub fn config_generator(obj: &Value, file: &str) -> Result<(&'static str, Value), KustomizeError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str);
    let err = |m: String| {
        KustomizeError::field(
            file,
            "generators",
            format!("{kind} {:?}: {m}", name.unwrap_or_default()),
        )
    };
    check_builtin(obj).map_err(&err)?;
    let generated = match kind {
        "ConfigMapGenerator" => "ConfigMap",
        "SecretGenerator" => "Secret",
        other if other.ends_with("Transformer") => {
            return Err(err(
                "a transformer is listed under generators; list it under transformers".into(),
            ))
        }
        other => return Err(err(unknown_kind(other))),
    };
    let mut entry = obj.as_object().cloned().unwrap_or_default();
    entry.remove("apiVersion");
    entry.remove("kind");
    let meta = entry.remove("metadata").unwrap_or(json!({}));
    for key in ["name", "namespace"] {
        if !entry.contains_key(key) {
            if let Some(v) = meta.get(key) {
                entry.insert(key.into(), v.clone());
            }
        }
    }
    Ok((generated, Value::Object(entry)))
}

fn check_builtin(obj: &Value) -> Result<(), String> {
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version != "builtin" {
        return Err(format!(
            "apiVersion {api_version:?}: only kustomize's built-in transformers and generators \
             (apiVersion: builtin) are supported; skiff runs no plugins, functions or executables"
        ));
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(k, _)| *k == kind) {
        return Err(format!("not supported: {why}"));
    }
    Ok(())
}

fn unknown_kind(kind: &str) -> String {
    format!("{kind:?} is not one of kustomize's built-in transformers or generators")
}

/// Runs a replica-count step: kustomize refuses an entry that matches nothing.
pub fn replicas(resources: &mut [Res], replica: &Value, specs: &[FieldSpec]) -> Result<(), String> {
    let name = replica
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let matched = resources.iter().any(|r| {
        r.had_name(name)
            && specs
                .iter()
                .any(|s| s.applies_to(r.api_version(), r.kind()))
    });
    if !matched {
        let mut kinds: Vec<&str> = specs.iter().filter_map(|s| s.kind.as_deref()).collect();
        kinds.dedup();
        return Err(format!(
            "{name:?} matches no resource of a kind replicas applies to ({})",
            kinds.join(", ")
        ));
    }
    transform::replicas(resources, std::slice::from_ref(replica), specs);
    Ok(())
}

/// The Kustomization field a built-in step stands for, for errors.
fn field_of(kind: &str) -> &'static str {
    match kind {
        "PatchStrategicMergeTransformer" => "patchesStrategicMerge",
        "PatchTransformer" => "patches",
        "PatchJson6902Transformer" => "patchesJson6902",
        "NamespaceTransformer" => "namespace",
        "PrefixTransformer" => "namePrefix",
        "SuffixTransformer" => "nameSuffix",
        "LabelTransformer" => "labels",
        "AnnotationsTransformer" => "commonAnnotations",
        "ReplicaCountTransformer" => "replicas",
        "ImageTagTransformer" => "images",
        "ReplacementTransformer" => "replacements",
        _ => "transformers",
    }
}
