//! kustomize, in process: a Kustomization (or Component) tree read through a
//! [`Tree`] becomes the objects `kubectl kustomize` would print, in the same
//! order. Each stage is a small function over the resources; the field tables
//! they are driven by are kustomize's own, kept as data in `data/`.
//!
//! Order of work in one kustomization (kustomize v5): resources → generators →
//! components → patchesStrategicMerge, patches, namespace, prefix/suffix,
//! labels, annotations, patchesJson6902, replicas, images. Once, at the top:
//! hash suffixes, name references, local-config objects dropped, sort.

pub mod builtins;
pub mod config;
pub mod fieldspec;
pub mod finish;
pub mod generate;
pub mod nameref;
pub mod patch;
pub mod replace;
pub mod transform;

use super::fields::{self, Fields};
use super::yaml::{self, Dialect};
use super::{Manifest, MAX_DOCUMENTS, MAX_FILE_BYTES};
use crate::application::KustomizeSource;
use crate::render::schema::Schema;
use crate::source::tree::{normalize, EntryKind, Tree};
use builtins::{Action, ConfiguredBy, Step};
use config::Config;
use serde_json::{json, Map, Value};

/// The path of a file a kustomization at `dir` reads (a resource file, a
/// patch, a generator's source, a configuration): as kustomize's default
/// load restrictor (`LoadRestrictionsRootOnly`) allows, only in or below
/// `dir`. Directories (bases, components) may be anywhere in the tree.
pub(crate) fn load_path(dir: &str, entry: &str) -> Result<String, String> {
    let path = normalize(dir, entry).map_err(|e| e.to_string())?;
    let below = dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"));
    if !below {
        return Err(format!(
            "{entry:?}: security: file {path} is not in or below {} (kustomize reads \
             files only from the kustomization's own directory; make the other \
             directory a kustomization and list it under resources or components)",
            if dir.is_empty() { "." } else { dir }
        ));
    }
    Ok(path)
}

/// How deep kustomizations may nest.
pub const MAX_DEPTH: usize = 32;

/// A render error of a kustomization: the file, the field, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct KustomizeError {
    pub file: String,
    pub field: String,
    pub message: String,
}

impl KustomizeError {
    pub fn field(file: &str, field: &str, message: String) -> KustomizeError {
        KustomizeError {
            file: file.to_string(),
            field: field.to_string(),
            message,
        }
    }
}

/// An id a resource had before its current one, as kustomize records it:
/// kind, name and effective namespace (`default` for none).
#[derive(Debug, Clone, PartialEq)]
pub struct PrevId {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// kustomize's namespace for a cluster-scoped object in ids.
const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// One resource being built: the manifest, what kustomize remembers of it
/// (its previous ids and the name prefixes and suffixes it got, which name
/// references are fixed by), whether it gets a content-hash suffix, and (for
/// buildMetadata) the generator that made it and the steps that touched it.
#[derive(Debug, Clone)]
pub struct Res {
    pub manifest: Manifest,
    /// The ids it had before the current one, oldest first: recorded by
    /// name prefixes and suffixes, the namespace, hash suffixes, JSON
    /// patches and patches allowed to rename.
    pub previous: Vec<PrevId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// JSON pointers of the map fields the file left empty (`key:`): null
    /// in the output unless a strategic merge patch meets the object.
    pub empty_fields: Vec<String>,
    pub hash_suffix: bool,
    pub generated: Option<std::sync::Arc<ConfiguredBy>>,
    pub transformations: Vec<std::sync::Arc<ConfiguredBy>>,
}

impl std::ops::Deref for Res {
    type Target = Manifest;
    fn deref(&self) -> &Manifest {
        &self.manifest
    }
}

impl std::ops::DerefMut for Res {
    fn deref_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }
}

impl Res {
    pub fn new(object: Value) -> Res {
        Res {
            manifest: Manifest {
                object,
                file: String::new(),
            },
            previous: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            empty_fields: Vec::new(),
            hash_suffix: false,
            generated: None,
            transformations: Vec::new(),
        }
    }
    pub fn set_name(&mut self, name: &str) {
        if let Some(meta) = self
            .object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            meta.insert("name".into(), json!(name));
        }
    }
    pub fn is_cluster_scoped(&self) -> bool {
        transform::is_cluster_scoped(&self.object)
    }
    /// The namespace kustomize compares: `default` for none.
    pub fn effective_namespace(&self) -> String {
        effective_namespace(self.namespace(), self.is_cluster_scoped())
    }
    /// Records the current id among the previous ones (kustomize's StorePreviousId).
    pub fn store_previous_id(&mut self) {
        let id = PrevId {
            kind: self.kind().to_string(),
            name: self.name().to_string(),
            namespace: self.effective_namespace(),
        };
        self.previous.push(id);
    }
    /// The id as first read: the oldest previous one, else the current one.
    pub fn org_kind(&self) -> &str {
        self.previous.first().map_or(self.kind(), |p| &p.kind)
    }
    pub fn org_name(&self) -> &str {
        self.previous.first().map_or(self.name(), |p| &p.name)
    }
    pub fn org_namespace(&self) -> String {
        match self.previous.first() {
            Some(p) => p.namespace.clone(),
            None => self.effective_namespace(),
        }
    }
    /// Whether any id it had or has carries `name`.
    pub fn had_name(&self, name: &str) -> bool {
        self.name() == name || self.previous.iter().any(|p| p.name == name)
    }
    /// (apiVersion, kind, namespace, name): what kustomize keeps unique (no
    /// namespace and `default` are one).
    fn id(&self) -> (&str, &str, &str, &str) {
        let ns = match self.namespace() {
            "default" if !self.is_cluster_scoped() => "",
            ns => ns,
        };
        (self.api_version(), self.kind(), ns, self.name())
    }
    fn schema(&self) -> Schema<'static> {
        Schema::builtin(self.api_version(), self.kind())
    }
}

/// kustomize's effective namespace: `default` for none, and none a pattern
/// can match for a cluster-scoped object.
pub fn effective_namespace(namespace: &str, cluster_scoped: bool) -> String {
    if cluster_scoped {
        NOT_A_NAMESPACE.into()
    } else if namespace.is_empty() {
        "default".into()
    } else {
        namespace.to_string()
    }
}

/// The file names that make a directory a kustomization, in kustomize's order.
pub const FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields skiff reads; anything else in a Kustomization is an error.
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "replacements",
    "vars",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
    "configurations",
    "crds",
    "transformers",
    "generators",
    "buildMetadata",
];

/// Fields kustomize has that skiff refuses, with the reason.
const REFUSED: &[(&str, &str)] = &[
    ("helmCharts", "skiff does not run helm"),
    ("helmChartInflationGenerator", "skiff does not run helm"),
    ("helmGlobals", "skiff does not run helm"),
    (
        "validators",
        "validators run plugins, and skiff runs no plugins",
    ),
    ("openapi", "a custom OpenAPI schema is not supported"),
];

/// Whether `dir` holds a kustomization (Argo CD's tool detection).
pub fn is_kustomization(tree: &dyn Tree, dir: &str) -> bool {
    find_file(tree, dir).is_some()
}

fn find_file(tree: &dyn Tree, dir: &str) -> Option<String> {
    let entries = tree.list(dir).ok()?;
    FILES
        .iter()
        .find(|f| {
            entries
                .iter()
                .any(|e| e.kind == EntryKind::File && e.name == **f)
        })
        .map(|f| normalize(dir, f).unwrap_or_default())
}

/// Builds the kustomization at `dir` into the objects to apply.
pub fn build(tree: &dyn Tree, dir: &str) -> Result<Vec<Manifest>, KustomizeError> {
    build_with(tree, dir, None, &crate::render::BuildEnv::default())
}

/// Builds with an Application's `source.kustomize` overrides applied to the
/// top kustomization, as Argo CD applies them (`kustomize edit set ...`).
pub fn build_with(
    tree: &dyn Tree,
    dir: &str,
    overrides: Option<&KustomizeSource>,
    env: &crate::render::BuildEnv,
) -> Result<Vec<Manifest>, KustomizeError> {
    let top_file = find_file(tree, dir).ok_or_else(|| no_kustomization(dir))?;
    let metadata = finish::BuildMetadata::of(&load(tree, &top_file)?, &top_file)?;
    let mut build = Build {
        tree,
        stack: Vec::new(),
        vars: Vec::new(),
        track: metadata.transformations,
    };
    let mut config = Config::empty();
    let overrides = overrides.map(|o| (o, env));
    let (mut resources, sort) = build.build_into(dir, Vec::new(), &mut config, false, overrides)?;
    finish::hash_suffixes(&mut resources);
    nameref::fix(&mut resources, &config.name_reference)?;
    replace::vars(&mut resources, &build.vars, &config.var_reference)?;
    finish::drop_local_config(&mut resources);
    if let Some(order) = sort {
        finish::legacy_sort(&mut resources, &order);
    }
    metadata.apply(&mut resources, dir);
    for r in resources.iter_mut() {
        finish::annotations_as_printed(&mut r.object);
    }
    Ok(resources.into_iter().map(|r| r.manifest).collect())
}

fn no_kustomization(dir: &str) -> KustomizeError {
    KustomizeError::field(
        dir,
        "resources",
        "no kustomization.yaml, kustomization.yml or Kustomization here".into(),
    )
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("git@")
        || entry.contains("?ref=")
}

/// What one build carries down the tree.
struct Build<'a> {
    tree: &'a dyn Tree,
    /// The kustomizations being built, outermost first (cycles, depth).
    stack: Vec<String>,
    /// Every `vars` entry met, with its kustomization file.
    vars: Vec<(Value, String)>,
    /// Record the steps that touched each resource (buildMetadata).
    track: bool,
}

impl Build<'_> {
    /// Builds one kustomization or component on top of `input`. `config` is
    /// the transformer configuration of the accumulation this one joins (its
    /// parent's, for a component). Returns the resources and, when the legacy
    /// sort applies, its kind order.
    fn build_into(
        &mut self,
        dir: &str,
        input: Vec<Res>,
        config: &mut config::Shared,
        component: bool,
        overrides: Option<(&KustomizeSource, &crate::render::BuildEnv)>,
    ) -> Result<(Vec<Res>, Option<finish::Order>), KustomizeError> {
        let tree = self.tree;
        let file = find_file(tree, dir).ok_or_else(|| no_kustomization(dir))?;
        if self.stack.iter().any(|d| d == dir) {
            return Err(KustomizeError::field(
                &file,
                "resources",
                format!("cycle: {} → {dir}", self.stack.join(" → ")),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(KustomizeError::field(
                &file,
                "resources",
                format!("kustomizations nest more than {MAX_DEPTH} deep"),
            ));
        }
        self.stack.push(dir.to_string());
        let mut k = load(tree, &file)?;
        if let Some(o) = overrides {
            apply_overrides(tree, dir, &mut k, o.0, o.1)
                .map_err(|(field, m)| KustomizeError::field(&file, field, m))?;
        }
        let kind = k
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("Kustomization");
        if component && kind != "Component" {
            return Err(KustomizeError::field(
                &file,
                "kind",
                format!("listed under components, but its kind is {kind:?}, not Component"),
            ));
        }
        if !component && kind == "Component" {
            return Err(KustomizeError::field(
                &file,
                "kind",
                "a Component can only be listed under components".into(),
            ));
        }
        let err = |field: &str, message: String| KustomizeError::field(&file, field, message);
        let mut resources = input;
        let entries = strings(&k, "resources")
            .into_iter()
            .chain(strings(&k, "bases"));
        for entry in entries {
            let added = self.read_entry(dir, &file, "resources", &entry, config)?;
            add_all(&mut resources, added, &file)?;
        }
        // This kustomization's transformer configuration (the built-in one
        // and what its files add) joins what it accumulated.
        type Reader = fn(&Value) -> Result<Config, String>;
        let readers: [(&str, Reader); 2] = [
            ("configurations", Config::from_file),
            ("crds", Config::from_openapi_definitions),
        ];
        let mut own = Config::shared();
        for (field, read) in readers {
            for path in strings(&k, field) {
                let doc = self.read_one(dir, &file, field, &path)?;
                read(&doc)
                    .and_then(|extra| own.to_mut().merge(&extra))
                    .map_err(|m| err(field, format!("{path}: {m}")))?;
            }
        }
        config::merge_into(config, &own).map_err(|m| err("configurations", m))?;
        let options = k.get("generatorOptions").cloned().unwrap_or(json!({}));
        for (field, gen_kind) in [
            ("configMapGenerator", "ConfigMap"),
            ("secretGenerator", "Secret"),
        ] {
            for entry in k
                .get(field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let by = ConfiguredBy {
                    file: file.clone(),
                    kind: format!("{gen_kind}Generator"),
                    name: None,
                };
                let generated = generate::generate(tree, dir, &file, gen_kind, &entry, &options)?;
                merge_generated(&mut resources, generated, &entry, by, &file, field)?;
            }
        }
        for config_res in self.configs(dir, &file, "generators", &strings(&k, "generators"))? {
            let (gen_kind, entry) =
                builtins::config_generator(&config_res.object, &config_res.file)?;
            let by = ConfiguredBy {
                file: config_res.file.clone(),
                kind: format!("{gen_kind}Generator"),
                name: entry.get("name").and_then(Value::as_str).map(String::from),
            };
            let generated = generate::generate(tree, dir, &file, gen_kind, &entry, &json!({}))?;
            merge_generated(&mut resources, generated, &entry, by, &file, "generators")?;
        }
        for c in strings(&k, "components") {
            let path = normalize(dir, &c).map_err(|e| err("components", e.to_string()))?;
            resources = self.build_into(&path, resources, config, true, None)?.0;
        }
        let mut steps = builtins::kustomization_steps(&k, config, &file)?;
        for config_res in self.configs(dir, &file, "transformers", &strings(&k, "transformers"))? {
            steps.push(builtins::config_step(
                &config_res.object,
                &config_res.file,
                "transformers",
            )?);
        }
        for step in &steps {
            self.run(dir, step, &mut resources)?;
        }
        for v in k
            .get("vars")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            self.vars.push((v, file.clone()));
        }
        self.stack.pop();
        let sort = finish::Order::of(&k).map_err(|(field, m)| err(field, m))?;
        for r in resources.iter_mut().filter(|r| r.file.is_empty()) {
            r.file = file.clone();
        }
        Ok((resources, sort))
    }

    /// A `resources` entry: a file of objects or a kustomization directory,
    /// whose transformer configuration joins `config`.
    fn read_entry(
        &mut self,
        dir: &str,
        file: &str,
        field: &str,
        entry: &str,
        config: &mut config::Shared,
    ) -> Result<Vec<Res>, KustomizeError> {
        let err = |message: String| KustomizeError::field(file, field, message);
        if is_remote(entry) {
            return Err(err(format!("{entry:?}: remote resources are not supported (skiff renders offline; vendor it into the repository)")));
        }
        let path = normalize(dir, entry).map_err(|e| err(e.to_string()))?;
        match self.tree.kind(&path).map_err(|e| err(e.to_string()))? {
            EntryKind::Dir => {
                let mut child = Config::empty();
                let (added, _) = self.build_into(&path, Vec::new(), &mut child, false, None)?;
                config::merge_into(config, &child).map_err(|m| err(format!("{entry}: {m}")))?;
                Ok(added)
            }
            EntryKind::File => {
                load_path(dir, entry).map_err(err)?;
                read_resources(self.tree, &path)
            }
        }
    }

    /// The one document of a `configurations` or `crds` file.
    fn read_one(
        &self,
        dir: &str,
        file: &str,
        field: &str,
        entry: &str,
    ) -> Result<Value, KustomizeError> {
        let path = load_path(dir, entry).map_err(|e| KustomizeError::field(file, field, e))?;
        let text = read_text(self.tree, &path, field, file)?;
        Ok(parse(&text, &path, Dialect::Kustomize)?
            .into_iter()
            .next()
            .unwrap_or(Value::Null))
    }

    /// The configs listed under `transformers` or `generators`: inline YAML
    /// first, then files and kustomization directories, as kustomize reads them.
    fn configs(
        &mut self,
        dir: &str,
        file: &str,
        field: &str,
        entries: &[String],
    ) -> Result<Vec<Res>, KustomizeError> {
        let mut inline = Vec::new();
        let mut paths = Vec::new();
        for entry in entries {
            let docs = parse(entry, file, Dialect::Kustomize).ok();
            match docs {
                Some(docs) if !docs.is_empty() && docs.iter().all(Value::is_object) => {
                    for doc in docs {
                        let mut r = Res::new(doc);
                        r.file = file.to_string();
                        inline.push(r);
                    }
                }
                _ => paths.push(entry),
            }
        }
        for entry in paths {
            if is_remote(entry) {
                return Err(KustomizeError::field(
                    file,
                    field,
                    format!("{entry:?}: remote configs are not supported"),
                ));
            }
            let path = normalize(dir, entry)
                .map_err(|e| KustomizeError::field(file, field, e.to_string()))?;
            match self
                .tree
                .kind(&path)
                .map_err(|e| KustomizeError::field(file, field, e.to_string()))?
            {
                EntryKind::Dir => {
                    let mut child = Config::empty();
                    inline.extend(
                        self.build_into(&path, Vec::new(), &mut child, false, None)?
                            .0,
                    );
                }
                EntryKind::File => {
                    load_path(dir, entry).map_err(|e| KustomizeError::field(file, field, e))?;
                    let text = read_text(self.tree, &path, field, file)?;
                    for doc in parse(&text, &path, Dialect::Kustomize)? {
                        if !doc.is_object() {
                            return Err(KustomizeError::field(
                                &path,
                                field,
                                "a config is not a map".into(),
                            ));
                        }
                        let mut r = Res::new(doc);
                        r.file = path.clone();
                        inline.push(r);
                    }
                }
            }
        }
        Ok(inline)
    }

    /// Runs one transformer step over the resources.
    fn run(&self, dir: &str, step: &Step, resources: &mut Vec<Res>) -> Result<(), KustomizeError> {
        let field = step.field;
        let file = step.by.file.as_str();
        let err = |m: String| KustomizeError::field(file, field, m);
        match &step.action {
            Action::PatchesStrategicMerge(entries) => {
                for entry in entries {
                    let text =
                        if entry.contains('\n') || entry.trim_start().starts_with("apiVersion") {
                            entry.clone()
                        } else {
                            let path = load_path(dir, entry).map_err(err)?;
                            read_text(self.tree, &path, field, file)?
                        };
                    for p in parse(&text, file, Dialect::Kustomize)? {
                        apply_smp_by_id(resources, &p, file, field)?;
                    }
                }
            }
            Action::Patch(entry) | Action::Json6902(entry) => {
                apply_patch_entry(self.tree, dir, file, field, entry, resources)?
            }
            Action::Namespace {
                namespace,
                specs,
                options,
            } => transform::namespace(resources, namespace, specs, *options),
            Action::Affix {
                prefix,
                suffix,
                specs,
            } => transform::name_affix(resources, prefix, suffix, specs),
            Action::Labels { labels, specs } => transform::labels(resources, labels, specs),
            Action::Annotations { annotations, specs } => {
                transform::annotations(resources, annotations, specs)
            }
            Action::Replicas { replica, specs } => {
                builtins::replicas(resources, replica, specs).map_err(err)?
            }
            Action::Image { rule, specs } => {
                transform::images(resources, std::slice::from_ref(rule), specs)
            }
            Action::Replacements(entries) => {
                let mut all = Vec::new();
                for entry in entries {
                    match entry.get("path").and_then(Value::as_str) {
                        Some(path) => {
                            if entry.get("source").is_some() || entry.get("targets").is_some() {
                                return Err(err(format!(
                                    "{path}: an entry has both path and an inline replacement"
                                )));
                            }
                            let doc = self.read_one(dir, file, field, path)?;
                            match doc {
                                Value::Array(items) => all.extend(items),
                                other => all.push(other),
                            }
                        }
                        None => all.push(entry.clone()),
                    }
                }
                replace::replacements(resources, &all, file)?
            }
        }
        if self.track {
            for r in resources.iter_mut() {
                r.transformations.push(step.by.clone());
            }
        }
        Ok(())
    }
}

/// Checks a file of `data/` generated from kustomize's tables against what
/// the test computed from them; with `SKIFF_REGENERATE` set, writes it first.
#[cfg(test)]
pub(crate) fn assert_generated(file: &str, want: &str) {
    let path = format!(
        "{}/src/render/kustomize/data/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("SKIFF_REGENERATE").is_some() {
        std::fs::write(&path, want).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == want,
        "data/{file} differs from the tables it is generated from: run \
         `SKIFF_REGENERATE=1 cargo test --lib generated` and commit it"
    );
}

pub(crate) fn strings(k: &Value, field: &str) -> Vec<String> {
    k.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn read_text(
    tree: &dyn Tree,
    path: &str,
    field: &str,
    file: &str,
) -> Result<String, KustomizeError> {
    let bytes = tree
        .read(path)
        .map_err(|e| KustomizeError::field(file, field, e.to_string()))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(KustomizeError::field(
            file,
            field,
            format!("{path}: more than {MAX_FILE_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|e| KustomizeError::field(file, field, format!("{path}: not UTF-8: {e}")))
}

fn parse(text: &str, path: &str, dialect: Dialect) -> Result<Vec<Value>, KustomizeError> {
    yaml::parse_documents_as(text, dialect)
        .map_err(|e| KustomizeError::field(path, &format!("line {}", e.line), e.message))
}

fn load(tree: &dyn Tree, file: &str) -> Result<Value, KustomizeError> {
    let text = read_text(tree, file, "kustomization", file)?;
    let doc = parse(&text, file, Dialect::Kustomize)?
        .into_iter()
        .next()
        .unwrap_or(json!({}));
    let Value::Object(map) = &doc else {
        return Err(KustomizeError::field(
            file,
            "kustomization",
            "is not a map".into(),
        ));
    };
    for key in map.keys() {
        if let Some((_, why)) = REFUSED.iter().find(|(f, _)| f == key) {
            return Err(KustomizeError::field(
                file,
                key,
                format!("{why}, so nothing was rendered"),
            ));
        }
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            return Err(KustomizeError::field(file, key, "unknown field".into()));
        }
    }
    Ok(doc)
}

fn read_resources(tree: &dyn Tree, path: &str) -> Result<Vec<Res>, KustomizeError> {
    let text = read_text(tree, path, "resources", path)?;
    let docs = yaml::parse_resources(&text)
        .map_err(|e| KustomizeError::field(path, &format!("line {}", e.line), e.message))?;
    let mut out = Vec::new();
    for (i, (doc, empty)) in docs.into_iter().enumerate() {
        // kustomize skips empty documents (`{}`), as it skips blank ones.
        if doc.as_object().is_some_and(|m| m.is_empty()) {
            continue;
        }
        let items: Vec<(Value, Vec<String>)> = if fields::text(&doc, "kind") == "List" {
            let items = doc
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            items
                .into_iter()
                .enumerate()
                .map(|(n, item)| {
                    let prefix = format!("/items/{n}/");
                    let mine = empty
                        .iter()
                        .filter_map(|p| p.strip_prefix(&prefix[..prefix.len() - 1]))
                        .filter(|p| p.starts_with('/'))
                        .map(String::from)
                        .collect();
                    (item, mine)
                })
                .collect()
        } else {
            vec![(doc, empty)]
        };
        for (item, empty_fields) in items {
            let name = item
                .field("metadata")
                .map_or("", |m| fields::text(m, "name"));
            if !item.is_object() || name.is_empty() {
                return Err(KustomizeError::field(
                    path,
                    &format!("document {}", i + 1),
                    "a resource needs kind, apiVersion and metadata.name".into(),
                ));
            }
            let mut r = Res::new(item);
            r.file = path.to_string();
            r.empty_fields = empty_fields;
            out.push(r);
        }
        if out.len() > MAX_DOCUMENTS {
            return Err(KustomizeError::field(
                path,
                "resources",
                format!("more than {MAX_DOCUMENTS} objects"),
            ));
        }
    }
    Ok(out)
}

fn duplicate(r: &Res, file: &str) -> KustomizeError {
    let (av, k, ns, n) = r.id();
    KustomizeError::field(
        file,
        "resources",
        format!("may not add resource with an already registered id: {k} {av} {ns}/{n}"),
    )
}

fn add_unique(resources: &mut Vec<Res>, r: Res, file: &str) -> Result<(), KustomizeError> {
    if resources.iter().any(|x| x.id() == r.id()) {
        return Err(duplicate(&r, file));
    }
    resources.push(r);
    Ok(())
}

/// Appends `added`, refusing any id that is already present. Ids are
/// indexed by their hash (borrowed, no copies); equal hashes are compared.
fn add_all(resources: &mut Vec<Res>, added: Vec<Res>, file: &str) -> Result<(), KustomizeError> {
    use std::hash::{BuildHasher, RandomState};
    let hasher = RandomState::new();
    let mut seen: std::collections::HashMap<u64, Vec<usize>> =
        std::collections::HashMap::with_capacity(resources.len() + added.len());
    for (i, r) in resources.iter().enumerate() {
        seen.entry(hasher.hash_one(r.id())).or_default().push(i);
    }
    for r in added {
        let slot = seen.entry(hasher.hash_one(r.id())).or_default();
        if slot.iter().any(|&i| resources[i].id() == r.id()) {
            return Err(duplicate(&r, file));
        }
        slot.push(resources.len());
        resources.push(r);
    }
    Ok(())
}

/// Adds what one generator entry made, as kustomize's accumulator absorbs
/// it: created when no object has (or had) its id, merged into or replacing
/// the one that has when `behavior` says so. The result is the generated
/// object with the other's name, namespace, history, labels and annotations
/// (and, for merge, its data under the new data); it keeps a hash suffix
/// only if both wanted one.
fn merge_generated(
    resources: &mut Vec<Res>,
    mut generated: Res,
    entry: &Value,
    by: ConfiguredBy,
    file: &str,
    field: &str,
) -> Result<(), KustomizeError> {
    let err = |m: String| KustomizeError::field(file, field, m);
    let behavior = entry
        .get("behavior")
        .and_then(Value::as_str)
        .unwrap_or("create");
    generated.generated = Some(std::sync::Arc::new(by));
    let (api_version, kind, name) = (
        generated.api_version().to_string(),
        generated.kind().to_string(),
        generated.name().to_string(),
    );
    let namespace = generated.effective_namespace();
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.api_version() == api_version
                && ((r.kind() == kind && r.name() == name && r.effective_namespace() == namespace)
                    || r.previous
                        .iter()
                        .any(|p| p.kind == kind && p.name == name && p.namespace == namespace))
        })
        .map(|(i, _)| i)
        .collect();
    let id = format!("{kind} {name:?}");
    let i = match (matches.as_slice(), behavior) {
        ([], "merge" | "replace") => {
            return Err(err(format!(
                "{id}: behavior {behavior}, but no object has that id to {behavior} with"
            )))
        }
        ([], _) => return add_unique(resources, generated, file),
        ([i], "merge" | "replace") => *i,
        ([_], _) => {
            return Err(err(format!(
                "{id} already exists; behavior must be merge or replace"
            )))
        }
        _ => {
            return Err(err(format!(
                "{id}: {} objects could accept the merge",
                matches.len()
            )))
        }
    };
    let old = &resources[i];
    let keys: &[&str] = if behavior == "merge" {
        &["labels", "annotations", "data", "binaryData"]
    } else {
        &["labels", "annotations"]
    };
    for key in keys {
        let place = |o: &Value| -> Option<Map<String, Value>> {
            let v = if matches!(*key, "labels" | "annotations") {
                o.get("metadata").and_then(|m| m.get(*key))
            } else {
                o.get(*key)
            };
            v.and_then(Value::as_object).cloned()
        };
        let mut merged = place(&old.object).unwrap_or_default();
        merged.extend(place(&generated.object).unwrap_or_default());
        let slot = if matches!(*key, "labels" | "annotations") {
            generated.object["metadata"]
                .as_object_mut()
                .expect("generated objects have metadata")
        } else {
            generated.object.as_object_mut().expect("object")
        };
        if merged.is_empty() {
            slot.remove(*key);
        } else {
            slot.insert(key.to_string(), Value::Object(merged));
        }
    }
    let meta = generated.object["metadata"]
        .as_object_mut()
        .expect("generated objects have metadata");
    meta.insert("name".into(), json!(old.name()));
    match old.namespace() {
        "" => meta.remove("namespace"),
        ns => meta.insert("namespace".into(), json!(ns)),
    };
    generated.previous = old.previous.clone();
    generated.prefixes = old.prefixes.clone();
    generated.suffixes = old.suffixes.clone();
    generated.hash_suffix &= old.hash_suffix;
    generated.manifest.file = old.file.clone();
    if behavior == "merge" {
        generated.generated = old.generated.clone().or(generated.generated);
    }
    resources[i] = generated;
    Ok(())
}

fn apply_smp_by_id(
    resources: &mut Vec<Res>,
    p: &Value,
    file: &str,
    field: &str,
) -> Result<(), KustomizeError> {
    // kustomize skips an empty document among patches.
    if p.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(());
    }
    let kind = p.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = p
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ns = p.pointer("/metadata/namespace").and_then(Value::as_str);
    let i = resources
        .iter()
        .position(|r| r.kind() == kind && r.had_name(name) && ns.is_none_or(|n| n == r.namespace()))
        .ok_or_else(|| {
            KustomizeError::field(
                file,
                field,
                format!("no resource matches the patch's {kind} {name:?}"),
            )
        })?;
    let schema = resources[i].schema();
    let (kind, name, namespace) = (
        resources[i].kind().to_string(),
        resources[i].name().to_string(),
        resources[i].namespace().to_string(),
    );
    patch::drop_empty_fields(&mut resources[i]);
    match patch::strategic_merge(&resources[i].object, p, schema) {
        Some(mut obj) => {
            // The patch names its target by any name it had; it never renames it.
            obj["kind"] = json!(kind);
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("name".into(), json!(name));
                if namespace.is_empty() {
                    meta.remove("namespace");
                } else {
                    meta.insert("namespace".into(), json!(namespace));
                }
            }
            resources[i].object = obj;
        }
        None => {
            resources.remove(i);
        }
    }
    Ok(())
}

fn apply_patch_entry(
    tree: &dyn Tree,
    dir: &str,
    file: &str,
    field: &str,
    entry: &Value,
    resources: &mut Vec<Res>,
) -> Result<(), KustomizeError> {
    let err = |message: String| KustomizeError::field(file, field, message);
    let text = match (
        entry.get("path").and_then(Value::as_str),
        entry.get("patch").and_then(Value::as_str),
    ) {
        (Some(path), None) => {
            let p = load_path(dir, path).map_err(err)?;
            read_text(tree, &p, field, file)?
        }
        (None, Some(inline)) => inline.to_string(),
        _ => return Err(err("each patch needs exactly one of path and patch".into())),
    };
    // JSON6902 bodies are read with YAML 1.1 rules (value: on is true), as kustomize does.
    let docs = parse(&text, file, Dialect::Kubectl)?;
    let is_json6902 = docs.len() == 1 && docs[0].is_array();
    let target = entry
        .get("target")
        .map(patch::Selector::from_value)
        .transpose()
        .map_err(&err)?;
    if is_json6902 {
        let Some(target) = target else {
            return Err(err("a JSON6902 patch needs a target".into()));
        };
        let ops = patch::json6902_ops(&docs[0]).map_err(&err)?;
        for r in resources.iter_mut() {
            if target.matches(r) {
                r.store_previous_id();
                // Through JSON and back, an empty field is a written null.
                r.empty_fields.clear();
                let what = format!("{} {:?}", r.kind(), r.name());
                r.object = patch::json6902(std::mem::take(&mut r.object), &ops)
                    .map_err(|e| err(format!("{what}: {e}")))?;
            }
        }
        return Ok(());
    }
    let docs = parse(&text, file, Dialect::Kustomize)?;
    match target {
        None => {
            for p in &docs {
                apply_smp_by_id(resources, p, file, field)?;
            }
        }
        Some(target) => {
            let allow_name = entry
                .pointer("/options/allowNameChange")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let allow_kind = entry
                .pointer("/options/allowKindChange")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut i = 0;
            while i < resources.len() {
                if !target.matches(&resources[i]) {
                    i += 1;
                    continue;
                }
                let mut removed = false;
                if allow_name || allow_kind {
                    resources[i].store_previous_id();
                }
                for p in docs
                    .iter()
                    .filter(|p| !p.as_object().is_some_and(|m| m.is_empty()))
                {
                    let mut p = p.clone();
                    if let Some(m) = p.as_object_mut() {
                        if !allow_kind {
                            m.remove("kind");
                            m.remove("apiVersion");
                        }
                        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
                            if !allow_name {
                                meta.remove("name");
                            }
                            meta.remove("namespace");
                        }
                    }
                    let schema = resources[i].schema();
                    patch::drop_empty_fields(&mut resources[i]);
                    match patch::strategic_merge(&resources[i].object, &p, schema) {
                        Some(obj) => resources[i].object = obj,
                        None => {
                            removed = true;
                            break;
                        }
                    }
                }
                if removed {
                    resources.remove(i);
                } else {
                    i += 1;
                }
            }
        }
    }
    Ok(())
}

/// `kustomize edit set image` syntax: `[name=]newName[:tag][@digest]`.
fn image_override(spec: &str) -> Value {
    let (name, image) = match spec.split_once('=') {
        Some((n, i)) => (Some(n.to_string()), i.to_string()),
        None => (None, spec.to_string()),
    };
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r.to_string(), Some(d.to_string())),
        None => (image.clone(), None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (new_name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (
            rest[..slash + i].to_string(),
            Some(rest[slash + i + 1..].to_string()),
        ),
        None => (rest.clone(), None),
    };
    let mut entry = Map::new();
    entry.insert(
        "name".into(),
        json!(name.clone().unwrap_or_else(|| new_name.clone())),
    );
    if name.is_some_and(|n| n != new_name) {
        entry.insert("newName".into(), json!(new_name));
    }
    if let Some(t) = tag {
        entry.insert("newTag".into(), json!(t));
    }
    if let Some(d) = digest {
        entry.insert("digest".into(), json!(d));
    }
    Value::Object(entry)
}

/// Replaces the entry of `list` whose `name` matches, or appends.
fn upsert_named(k: &mut Value, field: &str, entry: Value) {
    let list = k
        .as_object_mut()
        .expect("kustomization is a map")
        .entry(field)
        .or_insert_with(|| json!([]));
    if let Some(items) = list.as_array_mut() {
        match items
            .iter_mut()
            .find(|i| i.get("name") == entry.get("name"))
        {
            Some(existing) => *existing = entry,
            None => items.push(entry),
        }
    }
}

/// An Application's `source.kustomize` on top of the kustomization, as Argo
/// CD applies it with `kustomize edit`: a label or annotation the
/// kustomization already sets is an error unless forced; labels without
/// selectors go to `labels`; annotations may expand the build environment;
/// missing components may be skipped. Errors name the Application field.
fn apply_overrides(
    tree: &dyn Tree,
    dir: &str,
    k: &mut Value,
    o: &KustomizeSource,
    env: &crate::render::BuildEnv,
) -> Result<(), (&'static str, String)> {
    let map = k.as_object_mut().expect("kustomization is a map");
    if !o.name_prefix.is_empty() {
        map.insert("namePrefix".into(), json!(o.name_prefix));
    }
    if !o.name_suffix.is_empty() {
        map.insert("nameSuffix".into(), json!(o.name_suffix));
    }
    if !o.namespace.is_empty() {
        map.insert("namespace".into(), json!(o.namespace));
    }
    let labels_field = "spec.source.kustomize.commonLabels";
    let annotations_field = "spec.source.kustomize.commonAnnotations";
    if !o.common_labels.is_empty() && o.label_without_selector {
        let pairs: Map<String, Value> = o
            .common_labels
            .iter()
            .map(|(key, v)| (key.clone(), json!(v)))
            .collect();
        if !o.force_common_labels {
            let existing = map
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("pairs").and_then(Value::as_object));
            for set in existing {
                if let Some(key) = pairs.keys().find(|key| set.contains_key(*key)) {
                    return Err((labels_field, format!("label {key:?} is already set by the kustomization's labels; set forceCommonLabels to overwrite it")));
                }
            }
        }
        let mut entry = json!({"pairs": pairs, "includeSelectors": false});
        if o.label_include_templates {
            entry["includeTemplates"] = json!(true);
        }
        let list = map.entry("labels").or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            items.push(entry);
        }
    }
    let annotations: Vec<(String, String)> = o
        .common_annotations
        .iter()
        .map(|(key, v)| {
            let v = if o.common_annotations_envsubst {
                env.substitute(v)
            } else {
                v.clone()
            };
            (key.clone(), v)
        })
        .collect();
    let labels: Vec<(String, String)> = if o.label_without_selector {
        Vec::new()
    } else {
        o.common_labels.clone().into_iter().collect()
    };
    for (field, values, force, what, app_field) in [
        (
            "commonLabels",
            &labels,
            o.force_common_labels,
            "label",
            labels_field,
        ),
        (
            "commonAnnotations",
            &annotations,
            o.force_common_annotations,
            "annotation",
            annotations_field,
        ),
    ] {
        if values.is_empty() {
            continue;
        }
        let slot = map.entry(field).or_insert_with(|| json!({}));
        if slot.is_null() {
            *slot = json!({});
        }
        if let Some(m) = slot.as_object_mut() {
            for (key, v) in values {
                if m.contains_key(key) && !force {
                    let flag = if what == "label" {
                        "forceCommonLabels"
                    } else {
                        "forceCommonAnnotations"
                    };
                    return Err((app_field, format!("{what} {key:?} is already set by the kustomization's {field}; set {flag} to overwrite it")));
                }
                m.insert(key.clone(), json!(v));
            }
        }
    }
    for c in &o.components {
        let exists = normalize(dir, c)
            .ok()
            .is_some_and(|p| tree.kind(&p).is_ok());
        if !exists && o.ignore_missing_components {
            continue;
        }
        let list = map.entry("components").or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            items.push(json!(c));
        }
    }
    for p in &o.patches {
        let list = map.entry("patches").or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            items.push(p.clone());
        }
    }
    for image in &o.images {
        upsert_named(k, "images", image_override(image));
    }
    for r in &o.replicas {
        upsert_named(k, "replicas", json!({"name": r.name, "count": r.count}));
    }
    Ok(())
}

/// Sorted keys at every level, as `kubectl kustomize` prints objects.
pub fn sorted(v: &Value) -> Value {
    crate::render::yaml_out::sort_keys(v)
}

/// [`sorted`], taking the value.
pub fn sorted_owned(v: Value) -> Value {
    crate::render::yaml_out::sort_keys_owned(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::tree::fixture as tree;

    #[test]
    fn files_outside_the_kustomization_directory_are_refused_as_kustomize_does() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
        let (_d, t) = tree(&[
            ("shared/cm.yaml", cm),
            ("shared/app.conf", "a=1\n"),
            ("shared/kustomization.yaml", "resources: [cm.yaml]\n"),
            ("app/base/kustomization.yaml", "resources: [own.yaml]\n"),
            (
                "app/base/own.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
            ),
            (
                "app/file/kustomization.yaml",
                "resources: [../../shared/cm.yaml]\n",
            ),
            (
                "app/gen/kustomization.yaml",
                "configMapGenerator:\n- {name: g, files: [../../shared/app.conf]}\n",
            ),
            (
                "app/env/kustomization.yaml",
                "configMapGenerator:\n- {name: g, envs: [../../shared/app.conf]}\n",
            ),
            (
                "app/patch/kustomization.yaml",
                "resources: [../../shared]\npatches:\n- path: ../base/own.yaml\n",
            ),
            (
                "app/dirs/kustomization.yaml",
                "resources: [../../shared, ../base]\n",
            ),
        ]);
        for (dir, field) in [
            ("app/file", "resources"),
            ("app/gen", "files"),
            ("app/env", "envs"),
            ("app/patch", "patches"),
        ] {
            let e = build(&t, dir).unwrap_err().to_string();
            assert!(
                e.contains(field) && e.contains("is not in or below"),
                "{dir}: {e}"
            );
            assert!(
                e.contains(&format!("{dir}/kustomization.yaml")),
                "{dir}: {e}"
            );
        }
        // Directories elsewhere in the tree are bases, as kustomize allows.
        assert_eq!(build(&t, "app/dirs").unwrap().len(), 2);
    }

    #[test]
    fn application_overrides_apply_on_top() {
        let (_d, t) = tree(&[
            ("k/kustomization.yaml", "resources: [d.yaml]\nimages:\n- {name: nginx, newTag: '1.0'}\n"),
            ("k/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers: [{name: c, image: nginx}]\n"),
        ]);
        let o = KustomizeSource {
            name_prefix: "p-".into(),
            namespace: "ns".into(),
            images: vec!["nginx=mirror/nginx:2.0".into()],
            replicas: vec![crate::application::KustomizeReplica {
                name: "web".into(),
                count: 4,
            }],
            common_labels: [("team".to_string(), "a".to_string())].into(),
            ..Default::default()
        };
        let out = build_with(&t, "k", Some(&o), &crate::render::BuildEnv::default()).unwrap();
        let d = &out[0].object;
        assert_eq!(d["metadata"]["name"], "p-web");
        assert_eq!(d["metadata"]["namespace"], "ns");
        assert_eq!(d["metadata"]["labels"]["team"], "a");
        assert_eq!(d["spec"]["replicas"], 4);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "mirror/nginx:2.0"
        );
        assert_eq!(
            image_override("nginx:1.27"),
            json!({"name": "nginx", "newTag": "1.27"})
        );
    }

    #[test]
    fn argo_cd_kustomize_options_apply_as_kustomize_edit_does() {
        let files = [
            (
                "k/kustomization.yaml",
                "resources: [cm.yaml]\ncommonLabels: {team: a}\ncommonAnnotations: {note: x}\n",
            ),
            (
                "k/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            ),
        ];
        let (_d, t) = tree(&files);
        let env = crate::render::BuildEnv {
            app_name: "shop".into(),
            revision: "0123456789abcdef".into(),
            ..Default::default()
        };
        let labels = |force| KustomizeSource {
            common_labels: [("team".to_string(), "b".to_string())].into(),
            force_common_labels: force,
            ..Default::default()
        };
        let e = build_with(&t, "k", Some(&labels(false)), &env).unwrap_err();
        assert_eq!(e.field, "spec.source.kustomize.commonLabels", "{e}");
        let out = build_with(&t, "k", Some(&labels(true)), &env).unwrap();
        assert_eq!(out[0].object["metadata"]["labels"]["team"], "b");
        let o = KustomizeSource {
            common_annotations: [(
                "by".to_string(),
                "$ARGOCD_APP_NAME@${SKIFF_APP_REVISION_SHORT}".to_string(),
            )]
            .into(),
            common_annotations_envsubst: true,
            common_labels: [("env".to_string(), "prod".to_string())].into(),
            label_without_selector: true,
            components: vec!["../missing".into()],
            ignore_missing_components: true,
            ..Default::default()
        };
        let out = build_with(&t, "k", Some(&o), &env).unwrap();
        assert_eq!(
            out[0].object["metadata"]["annotations"]["by"],
            "shop@0123456"
        );
        assert_eq!(out[0].object["metadata"]["labels"]["env"], "prod");
        let o = KustomizeSource {
            components: vec!["../missing".into()],
            ..Default::default()
        };
        assert!(
            build_with(&t, "k", Some(&o), &env).is_err(),
            "a missing component fails unless ignored"
        );
    }

    #[test]
    fn limits_absolute_paths_symlinks_and_depth() {
        let (_d, t) = tree(&[("k/kustomization.yaml", "resources: [/etc/passwd]\n")]);
        assert_eq!(
            build(&t, "k").unwrap_err().to_string(),
            "k/kustomization.yaml: resources: /etc/passwd: the path leaves the repository"
        );
        let (d, t) = tree(&[("k/kustomization.yaml", "resources: [leak.yaml]\n")]);
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("k/leak.yaml")).unwrap();
        let e = build(&t, "k").unwrap_err().to_string();
        assert!(e.starts_with("k/kustomization.yaml: resources: k/leak.yaml: is a symlink to /etc/hostname, outside the repository"), "{e}");
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        let (_d, t) = tree(&[
            ("k/kustomization.yaml", "resources: [bomb.yaml]\n"),
            ("k/bomb.yaml", bomb),
        ]);
        let e = build(&t, "k").unwrap_err().to_string();
        assert!(
            e.contains("k/bomb.yaml") && e.contains("alias expansion limit"),
            "{e}"
        );
        let big = "#".repeat(crate::render::MAX_FILE_BYTES + 1);
        let (_d, t) = tree(&[
            ("k/kustomization.yaml", "resources: [big.yaml]\n"),
            ("k/big.yaml", &big),
        ]);
        let e = build(&t, "k").unwrap_err().to_string();
        assert!(e.contains("big.yaml: more than"), "{e}");
        // A chain deeper than MAX_DEPTH.
        let mut files: Vec<(String, String)> = Vec::new();
        for i in 0..=MAX_DEPTH {
            files.push((
                format!("d{i}/kustomization.yaml"),
                format!("resources: [../d{}]\n", i + 1),
            ));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_d, t) = tree(&refs);
        let e = build(&t, "d0").unwrap_err().to_string();
        assert!(
            e.contains(&format!("kustomizations nest more than {MAX_DEPTH} deep")),
            "{e}"
        );
    }

    #[test]
    fn transformer_generator_and_metadata_errors_name_the_config() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
        let cases = [
            (
                "transformers:\n- |\n  apiVersion: example.com/v1\n  kind: Sed\n  metadata: {name: s}\n",
                "k/kustomization.yaml: transformers: Sed \"s\": apiVersion \"example.com/v1\": only kustomize's built-in transformers and generators (apiVersion: builtin) are supported; skiff runs no plugins, functions or executables",
            ),
            (
                "transformers:\n- |\n  apiVersion: builtin\n  kind: Frobnicator\n  metadata: {name: f}\n",
                "k/kustomization.yaml: transformers: Frobnicator \"f\": \"Frobnicator\" is not one of kustomize's built-in transformers or generators",
            ),
            (
                "transformers: [t.yaml]\n",
                "k/t.yaml: transformers: HelmChartInflationGenerator \"h\": not supported: skiff does not run helm",
            ),
            (
                "generators:\n- |\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata: {name: l}\n",
                "k/kustomization.yaml: generators: LabelTransformer \"l\": a transformer is listed under generators; list it under transformers",
            ),
            (
                "replicas:\n- {name: web, count: 2}\n",
                "k/kustomization.yaml: replicas: \"web\" matches no resource of a kind replicas applies to (Deployment, StatefulSet, ReplicaSet, ReplicationController)",
            ),
            (
                "buildMetadata: [everything]\n",
                "k/kustomization.yaml: buildMetadata: \"everything\": not one of managedByLabel, originAnnotations, transformerAnnotations",
            ),
            (
                "configurations: [conf.yaml]\n",
                "k/kustomization.yaml: configurations: conf.yaml: commonLabels: the fieldspec metadata/labels says create false where the configuration in force says create true",
            ),
            (
                "crds: [list.yaml]\n",
                "k/kustomization.yaml: crds: list.yaml: is not a map of OpenAPI definitions",
            ),
            (
                "validators: [v.yaml]\n",
                "k/kustomization.yaml: validators: validators run plugins, and skiff runs no plugins, so nothing was rendered",
            ),
            (
                "sortOptions: {order: fifo, legacySortOptions: {orderFirst: [Service]}}\n",
                "k/kustomization.yaml: sortOptions.legacySortOptions: is only for order legacy, and order is fifo",
            ),
        ];
        for (kustomization, want) in cases {
            let text = format!("resources: [cm.yaml]\n{kustomization}");
            let (_d, t) = tree(&[
                ("k/kustomization.yaml", &text),
                ("k/cm.yaml", cm),
                (
                    "k/t.yaml",
                    "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata: {name: h}\n",
                ),
                ("k/list.yaml", "- a\n"),
                (
                    "k/conf.yaml",
                    "commonLabels:\n- {path: metadata/labels, create: false}\n",
                ),
            ]);
            let got = build(&t, "k").unwrap_err().to_string();
            assert_eq!(got, want, "for {kustomization}");
        }
    }

    #[test]
    fn unsafe_and_unsupported_trees_are_errors_naming_the_file_and_field() {
        let (_d, t) = tree(&[
            ("a/kustomization.yaml", "resources: [../b]\n"),
            ("b/kustomization.yaml", "resources: [../a]\n"),
        ]);
        let e = build(&t, "a").unwrap_err().to_string();
        assert_eq!(e, "a/kustomization.yaml: resources: cycle: a → b → a");
        let (_d, t) = tree(&[("k/kustomization.yaml", "resources: [../../outside.yaml]\n")]);
        assert_eq!(
            build(&t, "k").unwrap_err().to_string(),
            "k/kustomization.yaml: resources: k/../../outside.yaml: the path leaves the repository"
        );
        let (_d, t) = tree(&[("k/kustomization.yaml", "helmCharts:\n- name: x\n")]);
        assert_eq!(
            build(&t, "k").unwrap_err().to_string(),
            "k/kustomization.yaml: helmCharts: skiff does not run helm, so nothing was rendered"
        );
        let (_d, t) = tree(&[("k/kustomization.yaml", "resourcez: []\n")]);
        assert_eq!(
            build(&t, "k").unwrap_err().to_string(),
            "k/kustomization.yaml: resourcez: unknown field"
        );
        let (_d, t) = tree(&[("k/kustomization.yaml", "patchesStrategicMerge:\n- |\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: nope}\n")]);
        assert_eq!(build(&t, "k").unwrap_err().to_string(), "k/kustomization.yaml: patchesStrategicMerge: no resource matches the patch's ConfigMap \"nope\"");
    }
}
