//! What an object's annotations and an Application's `syncOptions` ask of a
//! sync. Every annotation is read under `skiff.dev/` and, for repositories
//! written for Argo CD, `argocd.argoproj.io/` (skiff's own wins when both are set).

use crate::render::fields::Fields;
use serde_json::Value;

pub const PREFIXES: [&str; 2] = ["skiff.dev/", "argocd.argoproj.io/"];

/// The annotation `name` under either prefix.
pub fn annotation<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    let annotations = obj.field("metadata")?.field("annotations")?.as_object()?;
    PREFIXES.iter().find_map(|prefix| {
        annotations
            .iter()
            .find(|(k, _)| k.strip_prefix(prefix) == Some(name))
            .and_then(|(_, v)| v.as_str())
    })
}

/// When a hook runs; `Sync` is also the phase of every object that is not a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    PreSync,
    Sync,
    PostSync,
    SyncFail,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreSync => "PreSync",
            Phase::Sync => "Sync",
            Phase::PostSync => "PostSync",
            Phase::SyncFail => "SyncFail",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletePolicy {
    HookSucceeded,
    HookFailed,
    BeforeHookCreation,
}

/// An object's own sync settings, from its annotations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectOptions {
    /// The phases it runs in as a hook; empty for an ordinary object.
    pub hook: Vec<Phase>,
    /// `hook: Skip`: rendered, never applied.
    pub skip: bool,
    pub delete_policies: Vec<DeletePolicy>,
    pub wave: i64,
    /// `sync-options` (`Prune=false`, `Delete=false`, `PruneLast=true`, `Replace=true`, ...).
    pub sync: SyncOptions,
    /// `compare-options: IgnoreExtraneous`: never makes the app OutOfSync.
    pub ignore_extraneous: bool,
}

impl ObjectOptions {
    /// Reads an object's annotations; the error names the annotation and value.
    pub fn of(obj: &Value) -> Result<ObjectOptions, String> {
        let mut out = ObjectOptions::default();
        if let Some(hooks) = annotation(obj, "hook") {
            for h in list(hooks) {
                match h {
                    "PreSync" => out.hook.push(Phase::PreSync),
                    "Sync" => out.hook.push(Phase::Sync),
                    "PostSync" => out.hook.push(Phase::PostSync),
                    "SyncFail" => out.hook.push(Phase::SyncFail),
                    "Skip" => out.skip = true,
                    other => {
                        return Err(format!(
                            "annotation hook: {other:?} is not PreSync, Sync, PostSync, SyncFail or Skip"
                        ))
                    }
                }
            }
        }
        if let Some(policies) = annotation(obj, "hook-delete-policy") {
            for p in list(policies) {
                out.delete_policies.push(match p {
                    "HookSucceeded" => DeletePolicy::HookSucceeded,
                    "HookFailed" => DeletePolicy::HookFailed,
                    "BeforeHookCreation" => DeletePolicy::BeforeHookCreation,
                    other => {
                        return Err(format!(
                            "annotation hook-delete-policy: {other:?} is not HookSucceeded, HookFailed or BeforeHookCreation"
                        ))
                    }
                });
            }
        }
        if !out.hook.is_empty() && out.delete_policies.is_empty() {
            out.delete_policies.push(DeletePolicy::BeforeHookCreation);
        }
        if let Some(wave) = annotation(obj, "sync-wave") {
            out.wave = wave
                .trim()
                .parse()
                .map_err(|_| format!("annotation sync-wave: {wave:?} is not a whole number"))?;
        }
        if let Some(options) = annotation(obj, "sync-options") {
            out.sync = SyncOptions::parse(list(options), Scope::Object)
                .map_err(|e| format!("annotation sync-options: {e}"))?;
        }
        if let Some(options) = annotation(obj, "compare-options") {
            for o in list(options) {
                match o {
                    "IgnoreExtraneous" => out.ignore_extraneous = true,
                    // Argo CD's diff modes: skiff always diffs through the server.
                    "ServerSideDiff=true"
                    | "ServerSideDiff=false"
                    | "IncludeMutationWebhook=true" => {}
                    other => {
                        return Err(format!(
                            "annotation compare-options: {other:?} is not IgnoreExtraneous"
                        ))
                    }
                }
            }
        }
        Ok(out)
    }

    /// Phases it takes part in: its hook phases, or Sync.
    pub fn phases(&self) -> Vec<Phase> {
        if self.hook.is_empty() {
            vec![Phase::Sync]
        } else {
            self.hook.clone()
        }
    }
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Foreground,
    Background,
    Orphan,
}

/// Whether options come from the Application (`spec.syncPolicy.syncOptions`)
/// or from one object's `sync-options` annotation: some make sense only at one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    App,
    Object,
}

/// Argo CD's sync options. `None` is "not said here": an object's setting
/// overrides the app's only where it says something.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncOptions {
    pub create_namespace: Option<bool>,
    pub prune_last: Option<bool>,
    pub apply_out_of_sync_only: Option<bool>,
    pub replace: Option<bool>,
    pub prune: Option<bool>,
    pub delete: Option<bool>,
    pub prune_propagation: Option<Propagation>,
    pub fail_on_shared_resource: Option<bool>,
}

impl SyncOptions {
    pub fn parse<'a>(
        options: impl IntoIterator<Item = &'a str>,
        scope: Scope,
    ) -> Result<SyncOptions, String> {
        let mut out = SyncOptions::default();
        for option in options {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| format!("{option:?} is not Key=value"))?;
            let flag = || match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("{option:?}: {value:?} is not true or false")),
            };
            let app_only = |set: &mut Option<bool>| {
                if scope == Scope::Object {
                    return Err(format!(
                        "{key} is an Application option (spec.syncPolicy.syncOptions), not an object's"
                    ));
                }
                *set = Some(flag()?);
                Ok(())
            };
            match key {
                "CreateNamespace" => app_only(&mut out.create_namespace)?,
                "ApplyOutOfSyncOnly" => app_only(&mut out.apply_out_of_sync_only)?,
                "FailOnSharedResource" => app_only(&mut out.fail_on_shared_resource)?,
                "PruneLast" => out.prune_last = Some(flag()?),
                "Replace" => out.replace = Some(flag()?),
                // As with Prune, `Delete=confirm` keeps the object.
                "Delete" if value.eq_ignore_ascii_case("confirm") => out.delete = Some(false),
                "Delete" => out.delete = Some(flag()?),
                // `Prune=confirm` asks a person first: skiff has no one to ask, so it keeps the object.
                "Prune" if value.eq_ignore_ascii_case("confirm") => out.prune = Some(false),
                "Prune" => out.prune = Some(flag()?),
                "PrunePropagationPolicy" => {
                    if scope == Scope::Object {
                        return Err(format!("{key} is an Application option, not an object's"));
                    }
                    out.prune_propagation = Some(match value.to_ascii_lowercase().as_str() {
                        "foreground" => Propagation::Foreground,
                        "background" => Propagation::Background,
                        "orphan" => Propagation::Orphan,
                        _ => {
                            return Err(format!(
                                "{option:?}: {value:?} is not foreground, background or orphan"
                            ))
                        }
                    });
                }
                // skiff always applies server-side and validates through the
                // server; these Argo CD options change nothing here.
                "ServerSideApply"
                | "Validate"
                | "SkipDryRunOnMissingResource"
                | "RespectIgnoreDifferences" => {
                    flag()?;
                }
                _ => return Err(format!("unknown sync option {option:?}")),
            }
        }
        Ok(out)
    }

    /// These options with `object`'s settings taking precedence.
    pub fn with(&self, object: &SyncOptions) -> SyncOptions {
        SyncOptions {
            create_namespace: object.create_namespace.or(self.create_namespace),
            prune_last: object.prune_last.or(self.prune_last),
            apply_out_of_sync_only: object
                .apply_out_of_sync_only
                .or(self.apply_out_of_sync_only),
            replace: object.replace.or(self.replace),
            prune: object.prune.or(self.prune),
            delete: object.delete.or(self.delete),
            prune_propagation: object.prune_propagation.or(self.prune_propagation),
            fail_on_shared_resource: object
                .fail_on_shared_resource
                .or(self.fail_on_shared_resource),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(annotations: Value) -> Value {
        json!({"metadata": {"name": "x", "annotations": annotations}})
    }

    #[test]
    fn both_prefixes_are_read_and_skiffs_wins() {
        let argo = obj(
            json!({"argocd.argoproj.io/sync-wave": "-2", "argocd.argoproj.io/hook": "PreSync,PostSync"}),
        );
        let o = ObjectOptions::of(&argo).unwrap();
        assert_eq!(o.wave, -2);
        assert_eq!(o.hook, [Phase::PreSync, Phase::PostSync]);
        assert_eq!(o.delete_policies, [DeletePolicy::BeforeHookCreation]);
        let both = obj(json!({"argocd.argoproj.io/sync-wave": "1", "skiff.dev/sync-wave": "5"}));
        assert_eq!(ObjectOptions::of(&both).unwrap().wave, 5);
        let plain = ObjectOptions::of(&json!({"metadata": {"name": "x"}})).unwrap();
        assert_eq!(plain.phases(), [Phase::Sync]);
        assert!(plain.delete_policies.is_empty());
    }

    #[test]
    fn object_sync_options_override_the_apps() {
        let app = SyncOptions::parse(
            [
                "CreateNamespace=true",
                "PruneLast=true",
                "PrunePropagationPolicy=orphan",
            ],
            Scope::App,
        )
        .unwrap();
        let o = ObjectOptions::of(&obj(
            json!({"skiff.dev/sync-options": "Prune=false, PruneLast=false,Delete=false"}),
        ))
        .unwrap();
        let merged = app.with(&o.sync);
        assert_eq!(merged.prune, Some(false));
        assert_eq!(merged.prune_last, Some(false));
        assert_eq!(merged.delete, Some(false));
        assert_eq!(merged.create_namespace, Some(true));
        assert_eq!(merged.prune_propagation, Some(Propagation::Orphan));
        let confirm = ObjectOptions::of(&obj(
            json!({"argocd.argoproj.io/sync-options": "Prune=confirm"}),
        ));
        assert_eq!(confirm.unwrap().sync.prune, Some(false));
    }

    #[test]
    fn bad_annotations_are_errors_naming_them() {
        let cases = [
            (json!({"skiff.dev/sync-wave": "first"}), "annotation sync-wave: \"first\" is not a whole number"),
            (json!({"argocd.argoproj.io/hook": "PreInstall"}), "annotation hook: \"PreInstall\" is not PreSync, Sync, PostSync, SyncFail or Skip"),
            (json!({"skiff.dev/hook-delete-policy": "Never"}), "annotation hook-delete-policy: \"Never\" is not HookSucceeded, HookFailed or BeforeHookCreation"),
            (json!({"skiff.dev/sync-options": "CreateNamespace=true"}), "annotation sync-options: CreateNamespace is an Application option (spec.syncPolicy.syncOptions), not an object's"),
            (json!({"skiff.dev/sync-options": "Prune=maybe"}), "annotation sync-options: \"Prune=maybe\": \"maybe\" is not true or false"),
            (json!({"skiff.dev/sync-options": "Turbo=true"}), "annotation sync-options: unknown sync option \"Turbo=true\""),
            (json!({"skiff.dev/compare-options": "IgnoreAll"}), "annotation compare-options: \"IgnoreAll\" is not IgnoreExtraneous"),
        ];
        for (annotations, want) in cases {
            assert_eq!(ObjectOptions::of(&obj(annotations)).unwrap_err(), want);
        }
    }
}
