//! Which live objects a sync may delete, and in what order. skiff keeps the
//! objects it applied in the Application's status (an inventory, as Flux
//! does); an object that left git is deleted only when its own tracking
//! annotation names this app and the object itself, so a copied annotation,
//! another app's object or a hand-made twin is never touched.
//!
//! The caller must not come here when the fetch or the render failed: this
//! module only ever sees a complete render.

use super::options::{annotation, ObjectOptions, SyncOptions};
use super::tracking_id;
use crate::render::fields::{text, Fields};
use serde_json::Value;

/// What happens to one live object that is no longer rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Delete it, in this wave (higher waves go first).
    Prune { wave: i64, last: bool },
    /// It stays and the sync reports it (PruneSkipped), with the reason.
    Keep(String),
    /// Not the app's own object: left alone and not reported as the app's.
    NotOurs,
}

/// The app a decision is made for.
pub struct App<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// `spec.syncPolicy.syncOptions`, parsed.
    pub options: &'a SyncOptions,
    /// The destination namespace skiff creates (CreateNamespace=true).
    pub created_namespace: Option<&'a str>,
    /// Whether pruning is on for this sync (automated.prune, or asked for).
    pub prune: bool,
}

/// Whether the object's own tracking annotation names this app and the
/// object itself; the reason to keep it when it is the namespace
/// CreateNamespace made.
fn ours(app: &App, live: &Value) -> Result<(), Verdict> {
    let meta = live.field("metadata");
    let (name, namespace) = meta.map_or(("", ""), |m| (text(m, "name"), text(m, "namespace")));
    let kind = text(live, "kind");
    let group = text(live, "apiVersion")
        .split_once('/')
        .map_or("", |(g, _)| g);
    let own = tracking_id(app.namespace, app.name, group, kind, namespace, name);
    if annotation(live, "tracking-id") != Some(own.as_str()) {
        return Err(Verdict::NotOurs);
    }
    if kind == "Namespace" && group.is_empty() && app.created_namespace == Some(name) {
        return Err(Verdict::Keep(format!(
            "namespace {name} is the destination CreateNamespace made"
        )));
    }
    Ok(())
}

/// Decides for one live object that the current render no longer holds.
pub fn decide(app: &App, live: &Value) -> Verdict {
    if let Err(verdict) = ours(app, live) {
        return verdict;
    }
    let object = match ObjectOptions::of(live) {
        Ok(o) => o,
        Err(e) => return Verdict::Keep(format!("its {e}")),
    };
    let options = app.options.with(&object.sync);
    if options.prune == Some(false) {
        return Verdict::Keep("Prune=false".into());
    }
    if !app.prune {
        return Verdict::Keep("ignored (requires pruning)".into());
    }
    Verdict::Prune {
        wave: object.wave,
        last: options.prune_last == Some(true),
    }
}

/// Decides for one of the app's objects when the app itself is deleted with
/// a resources finalizer: everything of its own goes, except what says
/// `Delete=false` (and the namespace CreateNamespace made). Waves do not
/// matter here: the whole app goes at once, as in Argo CD.
pub fn decide_on_deletion(app: &App, live: &Value) -> Verdict {
    if let Err(verdict) = ours(app, live) {
        return verdict;
    }
    match ObjectOptions::of(live) {
        Ok(o) if app.options.with(&o.sync).delete == Some(false) => {
            Verdict::Keep("Delete=false".into())
        }
        Ok(o) => Verdict::Prune {
            wave: o.wave,
            last: false,
        },
        Err(e) => Verdict::Keep(format!("its {e}")),
    }
}

/// Refuses a sync that would delete everything the app has and apply nothing,
/// unless the app allows an empty state (Argo CD's `allowEmpty`).
pub fn refuse_empty(rendered: usize, prunes: usize, allow_empty: bool) -> Result<(), String> {
    if rendered == 0 && prunes > 0 && !allow_empty {
        return Err(format!(
            "the render is empty and the sync would delete all {prunes} of the app's objects; set spec.syncPolicy.automated.allowEmpty to allow it"
        ));
    }
    Ok(())
}

/// Deletion order: PruneLast objects after all others, higher waves first
/// (the reverse of creation), then by the caller's order.
pub fn order(prunes: &mut [(usize, i64, bool)]) {
    prunes.sort_by_key(|&(i, wave, last)| (last, std::cmp::Reverse(wave), i));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::options::Scope;
    use serde_json::json;

    fn live(kind: &str, name: &str, tracking: &str, extra: Value) -> Value {
        let mut annotations = json!({"skiff.dev/tracking-id": tracking});
        annotations
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": if kind == "Namespace" {""} else {"web"}, "annotations": annotations}})
    }

    #[test]
    fn only_the_apps_own_objects_are_pruned() {
        let options = SyncOptions::parse(["PruneLast=false"], Scope::App).unwrap();
        let app = App {
            namespace: "skiff",
            name: "guestbook",
            options: &options,
            created_namespace: Some("web"),
            prune: true,
        };
        let own = live(
            "ConfigMap",
            "old",
            "skiff_guestbook:/ConfigMap:web/old",
            json!({"argocd.argoproj.io/sync-wave": "3"}),
        );
        assert_eq!(
            decide(&app, &own),
            Verdict::Prune {
                wave: 3,
                last: false
            }
        );
        // A copy of another object's annotation, and another app's object.
        let copied = live(
            "ConfigMap",
            "copy",
            "skiff_guestbook:/ConfigMap:web/old",
            json!({}),
        );
        assert_eq!(decide(&app, &copied), Verdict::NotOurs);
        let other = live(
            "ConfigMap",
            "old",
            "skiff_other:/ConfigMap:web/old",
            json!({}),
        );
        assert_eq!(decide(&app, &other), Verdict::NotOurs);
        let kept = live(
            "ConfigMap",
            "keep",
            "skiff_guestbook:/ConfigMap:web/keep",
            json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
        );
        assert_eq!(decide(&app, &kept), Verdict::Keep("Prune=false".into()));
        let ns = live(
            "Namespace",
            "web",
            "skiff_guestbook:/Namespace:/web",
            json!({}),
        );
        assert!(matches!(decide(&app, &ns), Verdict::Keep(m) if m.contains("CreateNamespace")));
        let last = live(
            "ConfigMap",
            "last",
            "skiff_guestbook:/ConfigMap:web/last",
            json!({"skiff.dev/sync-options": "PruneLast=true"}),
        );
        assert_eq!(
            decide(&app, &last),
            Verdict::Prune {
                wave: 0,
                last: true
            }
        );
        let off = App {
            prune: false,
            ..app
        };
        assert_eq!(
            decide(&off, &own),
            Verdict::Keep("ignored (requires pruning)".into())
        );
    }

    #[test]
    fn deleting_the_app_keeps_delete_false_and_what_is_not_its_own() {
        let options = SyncOptions::parse(["Prune=false"], Scope::App).unwrap();
        let app = App {
            namespace: "skiff",
            name: "guestbook",
            options: &options,
            created_namespace: Some("web"),
            // Neither prune settings nor Prune=false matter when the app goes.
            prune: false,
        };
        let own = live(
            "ConfigMap",
            "a",
            "skiff_guestbook:/ConfigMap:web/a",
            json!({}),
        );
        assert!(matches!(
            decide_on_deletion(&app, &own),
            Verdict::Prune { .. }
        ));
        for keep in ["Delete=false", "Delete=confirm"] {
            let kept = live(
                "ConfigMap",
                "b",
                "skiff_guestbook:/ConfigMap:web/b",
                json!({"argocd.argoproj.io/sync-options": keep}),
            );
            assert_eq!(
                decide_on_deletion(&app, &kept),
                Verdict::Keep("Delete=false".into())
            );
        }
        let copied = live(
            "ConfigMap",
            "c",
            "skiff_guestbook:/ConfigMap:web/a",
            json!({}),
        );
        assert_eq!(decide_on_deletion(&app, &copied), Verdict::NotOurs);
        let ns = live(
            "Namespace",
            "web",
            "skiff_guestbook:/Namespace:/web",
            json!({}),
        );
        assert!(matches!(decide_on_deletion(&app, &ns), Verdict::Keep(_)));
    }

    #[test]
    fn empty_renders_and_order() {
        assert!(refuse_empty(0, 3, false).unwrap_err().contains("all 3"));
        assert!(refuse_empty(0, 3, true).is_ok());
        assert!(refuse_empty(1, 3, false).is_ok());
        assert!(refuse_empty(0, 0, false).is_ok());
        let mut prunes = vec![(0, 0, true), (1, 1, false), (2, 5, false), (3, 1, false)];
        order(&mut prunes);
        assert_eq!(prunes.iter().map(|p| p.0).collect::<Vec<_>>(), [2, 1, 3, 0]);
    }
}
