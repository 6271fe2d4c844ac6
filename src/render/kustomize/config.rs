//! kustomize's transformer configuration: which fields of which kinds the
//! namespace, prefix/suffix, label, annotation, name-reference, var, image and
//! replica transformers touch. The built-in tables (`data/*.yaml`) are the
//! default; a kustomization's `configurations` files and the OpenAPI
//! definitions listed under `crds` add to them, and what a kustomization adds
//! holds for it and every kustomization above it (kustomize merges the
//! configuration of each accumulated subtree into its parent).

use super::fieldspec::{self, FieldSpec, NameReference, Specs, Text};
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub name_prefix: Specs,
    pub name_suffix: Specs,
    pub namespace: Specs,
    pub common_labels: Specs,
    pub template_labels: Specs,
    pub common_annotations: Specs,
    pub name_reference: Cow<'static, [NameReference]>,
    pub var_reference: Specs,
    pub images: Specs,
    pub replicas: Specs,
}

/// The configuration in force: the built-in one until something adds to it.
pub type Shared = Cow<'static, Config>;

/// `-` (not given) or the text, borrowed.
macro_rules! given {
    (-) => {
        None
    };
    ($s:literal) => {
        Some(Cow::Borrowed($s))
    };
}

/// A built-in fieldspec: group, version, kind, path segments, create.
macro_rules! spec {
    ($g:tt $v:tt $k:tt [$($p:literal)*] $c:literal) => {
        FieldSpec {
            group: given!($g),
            version: given!($v),
            kind: given!($k),
            path: Cow::Borrowed(&[$(Cow::Borrowed($p)),*]),
            create: $c,
        }
    };
}

/// A built-in nameReference entry: the referred kind and its referrers.
macro_rules! referent {
    ($g:tt $v:tt $k:literal [$($s:expr),* $(,)?]) => {
        NameReference {
            group: given!($g),
            version: given!($v),
            kind: Cow::Borrowed($k),
            referrers: Cow::Borrowed(&[$($s),*]),
        }
    };
}

// `BUILTIN`: kustomize's default tables (`data/*.yaml`) merged as kustomize
// merges them into an empty accumulation (sorted, each spec kept once),
// compiled in as borrowed data, so no process parses or sorts them.
// Generated: `SKIFF_REGENERATE=1 cargo test --lib generated`; a test fails
// when it drifts from the tables.
include!("data/builtin_config.rs");

impl Config {
    pub fn builtin() -> &'static Config {
        &BUILTIN
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
        let specs = |key: &str| -> Result<Specs, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(Specs::default()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        fieldspec::from_value(v)
                            .ok_or_else(|| format!("{key}: every fieldspec needs a path"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Cow::Owned),
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
                    let referrers: Vec<FieldSpec> = match item.get("fieldSpecs") {
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
                    let text = |k: &str| {
                        item.get(k)
                            .and_then(Value::as_str)
                            .map(|s| Cow::Owned(s.to_string()))
                    };
                    name_reference.push(NameReference {
                        group: text("group"),
                        version: text("version"),
                        kind: Cow::Owned(kind.to_string()),
                        referrers: Cow::Owned(referrers),
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
            name_reference: Cow::Owned(name_reference),
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
        let tables: [(&mut Specs, &Specs, &str); 9] = [
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
        let references = self.name_reference.to_mut();
        for r in other.name_reference.iter() {
            match references
                .iter_mut()
                .find(|m| m.kind == r.kind && m.group == r.group && m.version == r.version)
            {
                Some(m) => merge_specs(
                    &mut m.referrers,
                    &r.referrers,
                    &format!("nameReference {}", r.kind),
                )?,
                None => references.push(r.clone()),
            }
        }
        sort_references(references);
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

pub fn merge_specs(mine: &mut Specs, theirs: &[FieldSpec], table: &str) -> Result<(), String> {
    // kustomize's effectivelyEquals: the spec present is selected by the new one.
    let selects = |present: &Option<Text>, new: &Option<Text>| {
        new.as_deref().is_none_or(str::is_empty) || present == new
    };
    // The specs present, by path (only those can select a new one); for a
    // few new specs (a configuration file's), a scan is cheaper than an index.
    let base = mine.len();
    let indexed = theirs.len() > 16;
    let mut index: std::collections::HashMap<&[Text], Vec<usize>> = Default::default();
    if indexed {
        for (i, m) in mine.iter().enumerate() {
            index.entry(&m.path[..]).or_default().push(i);
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
            index.get(&spec.path[..]).and_then(|ids| {
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
                    index.entry(&spec.path[..]).or_default().push(base + added.len());
                }
                added.push(spec.clone());
            }
        }
    }
    if !added.is_empty() {
        let owned = mine.to_mut();
        owned.extend(added);
        sort_specs(owned);
    }
    Ok(())
}

/// kustomize's Gvk order: its type order of kinds, then `group_version_kind`
/// with `~G`, `~V`, `~K` for what is not given.
fn gvk_key(group: Option<&str>, version: Option<&str>, kind: Option<&str>) -> (i64, String) {
    let or = |v: Option<&str>, none: &str| match v {
        None | Some("") => none.to_string(),
        Some(s) => s.to_string(),
    };
    (
        super::finish::Order::kind_rank(kind.unwrap_or("")),
        format!(
            "{}_{}_{}",
            or(group, "~G"),
            or(version, "~V"),
            or(kind, "~K")
        ),
    )
}

fn sort_specs(specs: &mut [FieldSpec]) {
    specs.sort_by_cached_key(|s| {
        gvk_key(s.group.as_deref(), s.version.as_deref(), s.kind.as_deref())
    });
}

fn sort_references(refs: &mut [NameReference]) {
    refs.sort_by_cached_key(|r| gvk_key(r.group.as_deref(), r.version.as_deref(), Some(&r.kind)));
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
        kind: Some(Cow::Owned(kind.to_string())),
        path: path.iter().map(|s| Cow::Owned(s.clone())).collect(),
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
            let references = out.name_reference.to_mut();
            match references
                .iter_mut()
                .find(|r| r.kind == ref_kind && r.version.as_deref() == Some(version))
            {
                Some(r) => push_unique(&mut r.referrers, referrer),
                None => references.push(NameReference {
                    group: None,
                    version: Some(Cow::Owned(version.to_string())),
                    kind: Cow::Owned(ref_kind.to_string()),
                    referrers: Cow::Owned(vec![referrer]),
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

fn push_unique(specs: &mut Specs, spec: FieldSpec) {
    if !specs.contains(&spec) {
        specs.to_mut().push(spec);
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

    /// kustomize's default tables read by the general YAML reader and
    /// merged into an empty accumulation, as a kustomize build starts.
    fn from_tables() -> Config {
        let table = |text: &str| Cow::Owned(fieldspec::parse_table(text));
        let names = crate::render::yaml::parse_documents(include_str!("data/namereference.yaml"))
            .unwrap()
            .remove(0);
        let tables = Config {
            name_prefix: table(include_str!("data/nameprefix.yaml")),
            name_suffix: table(include_str!("data/namesuffix.yaml")),
            namespace: table(include_str!("data/namespace.yaml")),
            common_labels: table(include_str!("data/commonlabels.yaml")),
            template_labels: table(include_str!("data/templatelabels.yaml")),
            common_annotations: table(include_str!("data/commonannotations.yaml")),
            name_reference: Config::from_file(&names).unwrap().name_reference,
            var_reference: table(include_str!("data/varreference.yaml")),
            images: table(include_str!("data/images.yaml")),
            replicas: table(include_str!("data/replicas.yaml")),
        };
        let mut config = Config::default();
        config.merge(&tables).unwrap();
        config
    }

    fn given(t: &Option<Text>) -> String {
        t.as_ref().map_or("-".into(), |s| format!("{s:?}"))
    }

    fn spec_as_rust(s: &FieldSpec) -> String {
        let path: Vec<String> = s.path.iter().map(|p| format!("{p:?}")).collect();
        format!(
            "spec!({} {} {} [{}] {})",
            given(&s.group),
            given(&s.version),
            given(&s.kind),
            path.join(" "),
            s.create
        )
    }

    /// The source of `data/builtin_config.rs`.
    fn as_rust(c: &Config) -> String {
        let mut out = String::from(
            "// @generated from data/*.yaml by `SKIFF_REGENERATE=1 cargo test --lib generated`.\n\
             // Included by config.rs; do not edit.\n\
             static BUILTIN: Config = Config {\n",
        );
        let table = |out: &mut String, name: &str, specs: &[FieldSpec]| {
            out.push_str(&format!("    {name}: Cow::Borrowed(&[\n"));
            for s in specs {
                out.push_str(&format!("        {},\n", spec_as_rust(s)));
            }
            out.push_str("    ]),\n");
        };
        table(&mut out, "name_prefix", &c.name_prefix);
        table(&mut out, "name_suffix", &c.name_suffix);
        table(&mut out, "namespace", &c.namespace);
        table(&mut out, "common_labels", &c.common_labels);
        table(&mut out, "template_labels", &c.template_labels);
        table(&mut out, "common_annotations", &c.common_annotations);
        out.push_str("    name_reference: Cow::Borrowed(&[\n");
        for r in c.name_reference.iter() {
            out.push_str(&format!(
                "        referent!({} {} {:?} [\n",
                given(&r.group),
                given(&r.version),
                r.kind
            ));
            for s in r.referrers.iter() {
                out.push_str(&format!("            {},\n", spec_as_rust(s)));
            }
            out.push_str("        ]),\n");
        }
        out.push_str("    ]),\n");
        table(&mut out, "var_reference", &c.var_reference);
        table(&mut out, "images", &c.images);
        table(&mut out, "replicas", &c.replicas);
        out.push_str("};\n");
        out
    }

    #[test]
    fn builtin_config_is_generated_from_the_tables() {
        let merged = from_tables();
        let want = as_rust(&merged);
        super::super::assert_generated("builtin_config.rs", &want);
        assert_eq!(Config::builtin(), &merged);
        assert!(merged.name_reference.len() > 10 && merged.common_labels.len() > 10);
        assert!(merged.common_labels.iter().all(|s| !s.path.is_empty()));
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
            c.name_reference[0].referrers[0].path[..],
            ["spec", "secretRef", "name"]
        );
        assert_eq!(c.common_labels[0].path[..], ["spec", "selector"]);
        assert_eq!(c.common_labels[0].kind.as_deref(), Some("Bee"));
    }
}
