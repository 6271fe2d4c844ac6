//! kustomize's transformer configuration: which fields of which kinds the
//! namespace, prefix/suffix, label, annotation, name-reference, var, image and
//! replica transformers touch. The built-in tables (`data/*.yaml`) are the
//! default; a kustomization's `configurations` files and the OpenAPI
//! definitions listed under `crds` add to them, and what a kustomization adds
//! holds for it and every kustomization above it (kustomize merges the
//! configuration of each accumulated subtree into its parent).

use super::fieldspec::{self, FieldSpec, NameReference};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameReference>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

/// The configuration in force: the built-in one until something adds to it.
pub type Shared = Cow<'static, Config>;

impl Config {
    pub fn builtin() -> &'static Config {
        static C: OnceLock<Config> = OnceLock::new();
        C.get_or_init(|| {
            // kustomize's accumulations start empty and merge its default
            // tables in: sorted, each spec kept once.
            let mut config = Config::default();
            config
                .merge(&Config::tables())
                .expect("the built-in tables merge");
            config
        })
    }

    /// The built-in tables as kustomize embeds them.
    fn tables() -> Config {
        {
            let table = fieldspec::builtin_table;
            Config {
                name_prefix: table(include_str!("data/nameprefix.yaml")),
                name_suffix: table(include_str!("data/namesuffix.yaml")),
                namespace: table(include_str!("data/namespace.yaml")),
                common_labels: table(include_str!("data/commonlabels.yaml")),
                template_labels: table(include_str!("data/templatelabels.yaml")),
                common_annotations: table(include_str!("data/commonannotations.yaml")),
                name_reference: fieldspec::builtin_name_references(include_str!(
                    "data/namereference.yaml"
                )),
                var_reference: table(include_str!("data/varreference.yaml")),
                images: table(include_str!("data/images.yaml")),
                replicas: table(include_str!("data/replicas.yaml")),
            }
        }
    }

    pub fn shared() -> Shared {
        Cow::Borrowed(Config::builtin())
    }

    /// What a kustomization's accumulation starts with: nothing, until the
    /// configurations of what it lists and its own are merged in.
    pub fn empty() -> Shared {
        Cow::Owned(Config::default())
    }

    /// A `configurations` file: a map from table name to fieldspecs. Keys
    /// kustomize v5 does not know are ignored, as kustomize ignores them.
    pub fn from_file(doc: &Value) -> Result<Config, String> {
        let Some(map) = doc.as_object() else {
            return Err("is not a map of fieldspec tables".into());
        };
        let specs = |key: &str| -> Result<Vec<FieldSpec>, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        fieldspec::from_value(v)
                            .ok_or_else(|| format!("{key}: every fieldspec needs a path"))
                    })
                    .collect(),
                Some(_) => Err(format!("{key}: is not a list of fieldspecs")),
            }
        };
        let mut name_reference = Vec::new();
        match map.get("nameReference") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let kind = item.get("kind").and_then(Value::as_str).ok_or_else(|| {
                        "nameReference: every entry needs the kind it refers to".to_string()
                    })?;
                    let referrers = match item.get("fieldSpecs") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(a)) => a
                            .iter()
                            .map(|v| {
                                fieldspec::from_value(v).ok_or_else(|| {
                                    format!("nameReference {kind}: every fieldspec needs a path")
                                })
                            })
                            .collect::<Result<_, _>>()?,
                        Some(_) => {
                            return Err(format!("nameReference {kind}: fieldSpecs is not a list"))
                        }
                    };
                    let text = |k: &str| item.get(k).and_then(Value::as_str).map(String::from);
                    name_reference.push(NameReference {
                        group: text("group"),
                        version: text("version"),
                        kind: kind.to_string(),
                        referrers,
                    });
                }
            }
            Some(_) => return Err("nameReference: is not a list".into()),
        }
        Ok(Config {
            name_prefix: specs("namePrefix")?,
            name_suffix: specs("nameSuffix")?,
            namespace: specs("namespace")?,
            common_labels: specs("commonLabels")?,
            template_labels: specs("templateLabels")?,
            common_annotations: specs("commonAnnotations")?,
            name_reference,
            var_reference: specs("varReference")?,
            images: specs("images")?,
            replicas: specs("replicas")?,
        })
    }

    /// What the OpenAPI definitions of a `crds` file say, as kustomize reads
    /// them: `x-kubernetes-annotation`, `x-kubernetes-label-selector`,
    /// `x-kubernetes-identity` and `x-kubernetes-object-ref-*` on properties of
    /// types that look like Kubernetes objects, following `$ref`s.
    pub fn from_openapi_definitions(doc: &Value) -> Result<Config, String> {
        let Some(defs) = doc.as_object() else {
            return Err("is not a map of OpenAPI definitions".into());
        };
        let schema_of = |name: &str| -> Option<&Value> {
            let def = defs.get(name)?;
            // encoding/json matches the field name Schema case-insensitively.
            def.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("schema"))
                .map(|(_, v)| v)
        };
        let mut out = Config::default();
        for name in defs.keys() {
            let Some(props) = schema_of(name)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
            else {
                continue;
            };
            if !["kind", "apiVersion", "metadata"]
                .iter()
                .all(|k| props.contains_key(*k))
            {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name).to_string();
            let mut seen = Vec::new();
            walk_definition(
                &schema_of,
                name,
                &kind,
                &mut Vec::new(),
                &mut seen,
                &mut out,
            );
        }
        Ok(out)
    }

    /// Adds `other` to this configuration as kustomize merges them: a spec
    /// is dropped when one already present has its path and the kind,
    /// group and version it names (so a more specific spec that came first
    /// stands for a general one), and with a different `create` that is an
    /// error; then every table is sorted by kind, group and version.
    pub fn merge(&mut self, other: &Config) -> Result<(), String> {
        let tables: [(&mut Vec<FieldSpec>, &Vec<FieldSpec>, &str); 9] = [
            (&mut self.name_prefix, &other.name_prefix, "namePrefix"),
            (&mut self.name_suffix, &other.name_suffix, "nameSuffix"),
            (&mut self.namespace, &other.namespace, "namespace"),
            (
                &mut self.common_labels,
                &other.common_labels,
                "commonLabels",
            ),
            (
                &mut self.template_labels,
                &other.template_labels,
                "templateLabels",
            ),
            (
                &mut self.common_annotations,
                &other.common_annotations,
                "commonAnnotations",
            ),
            (
                &mut self.var_reference,
                &other.var_reference,
                "varReference",
            ),
            (&mut self.images, &other.images, "images"),
            (&mut self.replicas, &other.replicas, "replicas"),
        ];
        for (mine, theirs, table) in tables {
            // The same table (as most are, both holding the built-in one) adds nothing.
            if mine != theirs {
                merge_specs(mine, theirs, table)?;
            }
        }
        if self.name_reference == other.name_reference {
            return Ok(());
        }
        for r in &other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|m| m.kind == r.kind && m.group == r.group && m.version == r.version)
            {
                Some(m) => merge_specs(
                    &mut m.referrers,
                    &r.referrers,
                    &format!("nameReference {}", r.kind),
                )?,
                None => self.name_reference.push(r.clone()),
            }
        }
        sort_references(&mut self.name_reference);
        Ok(())
    }
}

/// Merges `other` into the configuration in force, copying the built-in one
/// only when something is really added.
pub fn merge_into(config: &mut Shared, other: &Shared) -> Result<(), String> {
    let builtin = matches!(other, Cow::Borrowed(o) if std::ptr::eq(*o, Config::builtin()));
    if config.as_ref() == &Config::default() {
        if builtin {
            *config = other.clone();
        } else {
            // Merged into nothing, a configuration still loses the specs an
            // earlier, more specific one stands for.
            let mut fresh = Config::default();
            fresh.merge(other)?;
            *config = Cow::Owned(fresh);
        }
        return Ok(());
    }
    // Every accumulated configuration has the built-in one in it (or specs
    // that stand for its), so merging the built-in one changes nothing.
    if builtin {
        return Ok(());
    }
    if config.as_ref() == other.as_ref() {
        return Ok(());
    }
    config.to_mut().merge(other)
}

pub fn merge_specs(
    mine: &mut Vec<FieldSpec>,
    theirs: &[FieldSpec],
    table: &str,
) -> Result<(), String> {
    // kustomize's effectivelyEquals: the spec present is selected by the new one.
    let selects = |present: &Option<String>, new: &Option<String>| {
        new.as_deref().is_none_or(str::is_empty) || present == new
    };
    // The specs present, by path (only those can select a new one); for a
    // few new specs (a configuration file's), a scan is cheaper than an index.
    let base = mine.len();
    let indexed = theirs.len() > 16;
    let mut index: std::collections::HashMap<&[String], Vec<usize>> = Default::default();
    if indexed {
        for (i, m) in mine.iter().enumerate() {
            index.entry(&m.path).or_default().push(i);
        }
    }
    let mut added: Vec<FieldSpec> = Vec::new();
    for spec in theirs {
        let selected = |m: &&FieldSpec| {
            m.path == spec.path
                && selects(&m.kind, &spec.kind)
                && selects(&m.group, &spec.group)
                && selects(&m.version, &spec.version)
        };
        let present = if indexed {
            index.get(spec.path.as_slice()).and_then(|ids| {
                ids.iter()
                    .map(|&i| if i < base { &mine[i] } else { &added[i - base] })
                    .find(selected)
                    .map(|m| m.create)
            })
        } else {
            mine.iter().chain(&added).find(selected).map(|m| m.create)
        };
        match present {
            Some(create) if create != spec.create => {
                return Err(format!(
                    "{table}: the fieldspec {} says create {} where the configuration in force says create {}",
                    spec.path.join("/"),
                    spec.create,
                    create
                ))
            }
            Some(_) => {}
            None => {
                if indexed {
                    index.entry(&spec.path).or_default().push(base + added.len());
                }
                added.push(spec.clone());
            }
        }
    }
    if !added.is_empty() {
        mine.extend(added);
        sort_specs(mine);
    }
    Ok(())
}

/// kustomize's Gvk order: its type order of kinds, then `group_version_kind`
/// with `~G`, `~V`, `~K` for what is not given.
fn gvk_key(
    group: &Option<String>,
    version: &Option<String>,
    kind: &Option<String>,
) -> (i64, String) {
    let or = |v: &Option<String>, none: &str| match v.as_deref() {
        None | Some("") => none.to_string(),
        Some(s) => s.to_string(),
    };
    (
        super::finish::Order::kind_rank(kind.as_deref().unwrap_or("")),
        format!(
            "{}_{}_{}",
            or(group, "~G"),
            or(version, "~V"),
            or(kind, "~K")
        ),
    )
}

fn sort_specs(specs: &mut [FieldSpec]) {
    specs.sort_by_cached_key(|s| gvk_key(&s.group, &s.version, &s.kind));
}

fn sort_references(refs: &mut [NameReference]) {
    refs.sort_by_cached_key(|r| gvk_key(&r.group, &r.version, &Some(r.kind.clone())));
}

fn walk_definition<'a>(
    schema_of: &dyn Fn(&str) -> Option<&'a Value>,
    type_name: &str,
    kind: &str,
    path: &mut Vec<String>,
    seen: &mut Vec<String>,
    out: &mut Config,
) {
    // A type that refers back to itself would otherwise recurse forever.
    if seen.iter().any(|s| s == type_name) {
        return;
    }
    let Some(props) = schema_of(type_name)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    seen.push(type_name.to_string());
    let spec = |path: &[String]| FieldSpec {
        group: None,
        version: None,
        kind: Some(kind.to_string()),
        path: path.to_vec(),
        create: false,
    };
    for (prop, schema) in props {
        path.push(prop.clone());
        let has = |k: &str| schema.get(k).is_some();
        let text = |k: &str| schema.get(k).and_then(Value::as_str);
        if has("x-kubernetes-annotation") {
            push_unique(&mut out.common_annotations, spec(path));
        }
        if has("x-kubernetes-label-selector") {
            push_unique(&mut out.common_labels, spec(path));
        }
        if has("x-kubernetes-identity") {
            push_unique(&mut out.name_prefix, spec(path));
            push_unique(&mut out.name_suffix, spec(path));
        }
        if let (Some(version), Some(ref_kind)) = (
            text("x-kubernetes-object-ref-api-version"),
            text("x-kubernetes-object-ref-kind"),
        ) {
            let key = text("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut at = path.clone();
            at.push(key.to_string());
            let referrer = spec(&at);
            match out
                .name_reference
                .iter_mut()
                .find(|r| r.kind == ref_kind && r.version.as_deref() == Some(version))
            {
                Some(r) => push_unique(&mut r.referrers, referrer),
                None => out.name_reference.push(NameReference {
                    group: None,
                    version: Some(version.to_string()),
                    kind: ref_kind.to_string(),
                    referrers: vec![referrer],
                }),
            }
        }
        if let Some(reference) = text("$ref") {
            walk_definition(schema_of, reference, kind, path, seen, out);
        }
        path.pop();
    }
    seen.pop();
}

fn push_unique(specs: &mut Vec<FieldSpec>, spec: FieldSpec) {
    if !specs.contains(&spec) {
        specs.push(spec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configurations_add_to_the_builtin_tables_once() {
        let extra = Config::from_file(&json!({
            "nameReference": [{"kind": "Service", "version": "v1", "fieldSpecs": [
                {"kind": "CustomResourceDefinition", "group": "apiextensions.k8s.io",
                 "path": "spec/conversion/webhook/clientConfig/service/name"}]}],
            "varReference": [{"path": "spec/commonName", "kind": "Certificate"}],
            "commonLabels": [{"path": "metadata/labels", "create": true}],
        }))
        .unwrap();
        let mut config = Config::shared();
        merge_into(&mut config, &Cow::Owned(extra.clone())).unwrap();
        let builtin = Config::builtin();
        assert_eq!(config.common_labels, builtin.common_labels, "already there");
        assert_eq!(config.var_reference.len(), builtin.var_reference.len() + 1);
        let service = config
            .name_reference
            .iter()
            .find(|r| r.kind == "Service" && r.version.as_deref() == Some("v1"))
            .unwrap();
        assert!(service
            .referrers
            .iter()
            .any(|s| s.path.last().unwrap() == "name"
                && s.kind.as_deref() == Some("CustomResourceDefinition")));
        let conflicting =
            Config::from_file(&json!({"commonLabels": [{"path": "metadata/labels"}]})).unwrap();
        assert_eq!(
            config.to_mut().merge(&conflicting).unwrap_err(),
            "commonLabels: the fieldspec metadata/labels says create false where the configuration in force says create true"
        );
        assert!(Config::from_file(&json!({"images": [{"kind": "X"}]})).is_err());
    }

    #[test]
    fn builtin_tables_read_as_the_yaml_reader_reads_them() {
        let c = Config::tables();
        let yaml = |text: &str| fieldspec::parse_table(text);
        assert_eq!(
            c.common_labels,
            yaml(include_str!("data/commonlabels.yaml"))
        );
        assert_eq!(
            c.template_labels,
            yaml(include_str!("data/templatelabels.yaml"))
        );
        assert_eq!(
            c.var_reference,
            yaml(include_str!("data/varreference.yaml"))
        );
        assert_eq!(c.namespace, yaml(include_str!("data/namespace.yaml")));
        assert_eq!(c.images, yaml(include_str!("data/images.yaml")));
        assert_eq!(c.replicas, yaml(include_str!("data/replicas.yaml")));
        assert_eq!(
            c.common_annotations,
            yaml(include_str!("data/commonannotations.yaml"))
        );
        let doc = crate::render::yaml::parse_documents(include_str!("data/namereference.yaml"))
            .unwrap()
            .remove(0);
        let from_yaml = Config::from_file(&doc).unwrap().name_reference;
        assert_eq!(c.name_reference, from_yaml);
        assert!(c.name_reference.len() > 10 && c.common_labels.len() > 10);
    }

    #[test]
    fn openapi_definitions_name_references_and_labels() {
        let defs = json!({
            "example.com/v1.Bee": {"Schema": {"properties": {
                "apiVersion": {}, "kind": {}, "metadata": {},
                "spec": {"$ref": "example.com/v1.BeeSpec"}}}},
            "example.com/v1.BeeSpec": {"Schema": {"properties": {
                "secretRef": {"x-kubernetes-object-ref-api-version": "v1",
                              "x-kubernetes-object-ref-kind": "Secret"},
                "selector": {"x-kubernetes-label-selector": ""},
                "loop": {"$ref": "example.com/v1.BeeSpec"}}}},
        });
        let c = Config::from_openapi_definitions(&defs).unwrap();
        assert_eq!(c.name_reference[0].kind, "Secret");
        assert_eq!(
            c.name_reference[0].referrers[0].path,
            ["spec", "secretRef", "name"]
        );
        assert_eq!(c.common_labels[0].path, ["spec", "selector"]);
        assert_eq!(c.common_labels[0].kind.as_deref(), Some("Bee"));
    }
}
