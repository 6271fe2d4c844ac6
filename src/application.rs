//! The `Application` custom resource (group `skiff.dev`, version `v1alpha1`).
//!
//! Field names follow Argo CD's `argoproj.io/v1alpha1` Application, so an Argo CD
//! user moves an app by changing its apiVersion. The CRD YAML in `crds/` is
//! generated from these types (`skiff crd`) and a test fails when it drifts.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A git path to keep a cluster destination equal to.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "skiff.dev",
    version = "v1alpha1",
    kind = "Application",
    namespaced,
    status = "ApplicationStatus",
    shortname = "sapp",
    shortname = "sapps",
    category = "skiff",
    doc = "An application: a path in a git repository that skiff keeps a cluster destination equal to.",
    printcolumn = r#"{"name":"Sync","type":"string","jsonPath":".status.sync.status"}"#,
    printcolumn = r#"{"name":"Health","type":"string","jsonPath":".status.health.status"}"#,
    printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.sync.revision","priority":0}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The project the application belongs to (Argo CD's field; skiff has one project, "default").
    #[serde(default = "default_project")]
    #[schemars(default = "default_project")]
    pub project: String,
    /// Where the manifests come from.
    #[serde(default, skip_serializing_if = "ApplicationSource::is_unset")]
    pub source: ApplicationSource,
    /// Several sources (Argo CD's multi-source apps): accepted, not rendered yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Argo CD's source hydrator: accepted, not run by skiff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserved_object")]
    pub source_hydrator: Option<serde_json::Value>,
    /// Links, addresses and notes about the app, shown by `skiff app get` and the UI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<Info>,
    /// Where they go.
    pub destination: ApplicationDestination,
    /// When and how to sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Differences to ignore when comparing rendered and live objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// How many entries `status.history` keeps (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Applications (`name`, or `namespace/name`) that must be Synced and
    /// Healthy before this one syncs (skiff's addition; Argo CD has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

fn default_project() -> String {
    "default".into()
}

/// A name and a value (a URL, an address, plain text) about an application.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct Info {
    pub name: String,
    pub value: String,
}

/// A path in a git repository at a revision.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// The repository URL: https://, ssh://, scp-style git@host:path, or file://.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// A branch, tag, full or short commit SHA, or HEAD (the remote's default branch).
    #[serde(default = "default_revision")]
    #[schemars(default = "default_revision")]
    pub target_revision: String,
    /// The directory in the repository ("" or "." for the root).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Options for a plain directory of manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
    /// Overrides applied on top of a kustomization, as Argo CD applies them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeSource>,
    /// A chart in a Helm repository (Argo CD's field; not rendered yet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chart: String,
    /// Helm options (Argo CD's fields; not rendered yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
    /// A config management plugin (Argo CD's; skiff runs no plugins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginSource>,
    /// The name other sources use for this one in `sources` (`$ref/path`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[serde(rename = "ref")]
    pub ref_: String,
    /// A name for the source, shown by tools.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// Argo CD's Helm options, accepted so its Applications load.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<HelmParameter>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub release_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub values: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserved_object")]
    pub values_object: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_parameters: Vec<HelmFileParameter>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_value_files: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_crds: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_schema_validation: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_tests: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_string: bool,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct HelmFileParameter {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub path: String,
}

/// Argo CD's config management plugin options, accepted so its Applications load.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PluginSource {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<Info>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "preserved_list")]
    pub parameters: Vec<serde_json::Value>,
}

fn preserved_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

fn default_revision() -> String {
    "HEAD".into()
}

impl ApplicationSource {
    /// An Application with only `sources` has no `source`.
    pub fn is_unset(&self) -> bool {
        *self == ApplicationSource::default()
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySource {
    /// Read subdirectories too.
    #[serde(default)]
    pub recurse: bool,
    /// Only files matching this glob (or `{a,b}` list of globs), relative to the path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub include: String,
    /// Skip files matching this glob (or `{a,b}` list of globs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exclude: String,
    /// Argo CD's Jsonnet options: accepted, not rendered (skiff reads YAML and JSON).
    #[serde(default, skip_serializing_if = "JsonnetSource::is_empty")]
    pub jsonnet: JsonnetSource,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct JsonnetSource {
    #[serde(default, rename = "extVars", skip_serializing_if = "Vec::is_empty")]
    pub ext_vars: Vec<JsonnetVar>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlas: Vec<JsonnetVar>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
}

impl JsonnetSource {
    pub fn is_empty(&self) -> bool {
        self.ext_vars.is_empty() && self.tlas.is_empty() && self.libs.is_empty()
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct JsonnetVar {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub code: bool,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSource {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_suffix: String,
    /// Image overrides, `name=newName:tag`, `name:tag` or `name@digest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<KustomizeReplica>,
    /// Patches in kustomize's `patches` form (path or inline patch, optional target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "preserved_list")]
    pub patches: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Overwrite labels the kustomization's commonLabels already sets
    /// (without it, such a label is an error, as Argo CD's `kustomize edit`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_common_labels: bool,
    /// Overwrite annotations its commonAnnotations already sets.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_common_annotations: bool,
    /// Expand `$VAR` and `${VAR}` in commonAnnotations values with the build
    /// environment (ARGOCD_APP_NAME, ... and their SKIFF_ twins).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common_annotations_envsubst: bool,
    /// Add commonLabels to metadata only, not to selectors (kustomize's `labels`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub label_without_selector: bool,
    /// With labelWithoutSelector, also label pod templates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub label_include_templates: bool,
    /// Skip components that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_components: bool,
    /// For charts kustomize inflates (skiff inflates none): accepted, unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// The kustomize version Argo CD would pick: accepted and ignored
    /// (skiff has one kustomize, v5's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

fn preserved_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    })
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct KustomizeReplica {
    pub name: String,
    /// A number, or a string holding one (Argo CD's int-or-string).
    #[serde(deserialize_with = "int_or_string")]
    #[schemars(schema_with = "int_or_string_schema")]
    pub count: i64,
}

fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => {
            n.as_i64().ok_or_else(|| D::Error::custom("not an integer"))
        }
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("count {s:?} is not a number"))),
        other => Err(D::Error::custom(format!("count {other} is not a number"))),
    }
}

fn int_or_string_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]})
}

/// The cluster and namespace to deploy to. skiff deploys to its own cluster.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// The API server URL; only the local cluster (`https://kubernetes.default.svc`) is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The cluster name; only `in-cluster` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The namespace for namespaced objects that do not name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

pub const LOCAL_SERVER: &str = "https://kubernetes.default.svc";
pub const LOCAL_NAME: &str = "in-cluster";

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync whenever git and the cluster differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Options such as `CreateNamespace=true`, `PruneLast=true`, `ServerSideApply=true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// How failed syncs are retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels and annotations for the namespace CreateNamespace makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedNamespaceMetadata {
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl SyncPolicy {
    /// The automated policy in force: none when absent or `enabled: false`.
    pub fn automated(&self) -> Option<&SyncPolicyAutomated> {
        self.automated.as_ref().filter(|a| a.enabled != Some(false))
    }

    pub fn has_option(&self, option: &str) -> bool {
        self.sync_options
            .iter()
            .any(|o| o.eq_ignore_ascii_case(option))
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete objects that left git.
    #[serde(default)]
    pub prune: bool,
    /// Revert changes made to live objects.
    #[serde(default)]
    pub self_heal: bool,
    /// Allow a sync that leaves the application with no objects.
    #[serde(default)]
    pub allow_empty: bool,
    /// false turns automated sync off and keeps these settings (Argo CD's field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// How many retries (negative: forever).
    #[serde(default)]
    pub limit: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Argo CD's: refresh the app before retrying. skiff's retries always
    /// read the source again, so this is accepted and changes nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// The first wait, e.g. "5s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// The factor each wait grows by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// The longest wait, e.g. "3m".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

/// What skiff last saw and did, in Argo CD's field names.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    #[serde(default)]
    pub sync: SyncStatus,
    #[serde(default)]
    pub health: HealthStatus,
    /// Every object the application manages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// Errors that need a person: InvalidSpecError, ComparisonError, SyncError.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApplicationCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RevisionHistory>,
    /// When skiff last compared git with the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// Directory or Kustomize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Synced, OutOfSync or Unknown.
    #[serde(default)]
    pub status: String,
    /// The commit compared.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    pub source: ApplicationSource,
    pub destination: ApplicationDestination,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct HealthStatus {
    /// Healthy, Progressing, Degraded, Suspended, Missing or Unknown.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    /// Synced, OutOfSync or Missing.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_pruning: bool,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    /// InvalidSpecError, ComparisonError or SyncError.
    #[serde(rename = "type")]
    pub type_: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// Running, Succeeded, Failed or Error.
    pub phase: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// Attempts made again after a failure (syncPolicy.retry).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: i64,
    /// Self-heal syncs in a row (skiff's, as Argo CD's selfHealAttemptsCount):
    /// each waits longer after the last.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub self_heal_attempts: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    pub revision: String,
    /// The source synced (an automated sync tries a revision and source once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    /// Synced, SyncFailed, Pruned or PruneSkipped.
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// For a hook: the phase it ran in (PreSync, Sync, PostSync, SyncFail).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hook_type: String,
    /// For a hook: Running, Succeeded or Failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hook_phase: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    pub id: i64,
    pub revision: String,
    pub deployed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<String>,
    pub source: ApplicationSource,
}

impl ApplicationSpec {
    /// The first field of Argo CD's Application that skiff accepts but does
    /// not act on yet, with what to use instead: the app is then an
    /// InvalidSpecError and nothing is applied or pruned.
    pub fn unsupported(&self) -> Option<String> {
        let source = &self.source;
        let checks: [(bool, &str, &str); 6] = [
            (
                !self.sources.is_empty(),
                "spec.sources",
                "multiple sources are not supported yet; give one spec.source",
            ),
            (
                self.source_hydrator.is_some(),
                "spec.sourceHydrator",
                "skiff does not hydrate manifests; point spec.source at the rendered path",
            ),
            (
                !source.chart.is_empty(),
                "spec.source.chart",
                "Helm chart repositories are not supported yet; skiff renders plain manifests and kustomizations from git",
            ),
            (
                source.helm.is_some(),
                "spec.source.helm",
                "Helm charts are not rendered yet; skiff renders plain manifests and kustomizations",
            ),
            (
                source.plugin.is_some(),
                "spec.source.plugin",
                "skiff runs no config management plugins; commit what the plugin renders, or use a kustomization",
            ),
            (
                source
                    .directory
                    .as_ref()
                    .is_some_and(|d| !d.jsonnet.is_empty()),
                "spec.source.directory.jsonnet",
                "Jsonnet is not rendered; skiff reads YAML and JSON files",
            ),
        ];
        checks
            .iter()
            .find(|(set, ..)| *set)
            .map(|(_, field, why)| format!("{field}: {why}"))
    }
}

/// The CRD as YAML, exactly what `skiff crd` prints and `crds/` holds.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let crd = serde_json::to_value(Application::crd()).expect("the CRD serializes");
    let mut out =
        String::from("# Generated by `skiff crd` from src/application.rs; do not edit.\n");
    crate::render::yaml_out::write_document(&crd, &mut out);
    out
}
