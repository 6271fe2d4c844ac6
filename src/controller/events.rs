//! Kubernetes Events on the Application (events.k8s.io/v1, through kube's
//! recorder, which folds repeats into a series): what `kubectl describe
//! application` and event exporters show. A failure to publish is logged and
//! never stops a sync.

use crate::application::Application;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

pub struct Events {
    recorder: Recorder,
}

/// One thing worth telling about an app.
pub enum Told<'a> {
    OperationStarted {
        revision: &'a str,
        automated: bool,
    },
    OperationSucceeded {
        revision: &'a str,
    },
    OperationFailed {
        revision: &'a str,
        message: &'a str,
    },
    Pruned {
        objects: &'a [String],
    },
    DriftHealed {
        objects: &'a [String],
    },
    HookFailed {
        hook: &'a str,
        message: &'a str,
    },
    /// A manual sync at a revision, refused.
    SyncRefused {
        message: &'a str,
    },
    RollbackRefused {
        message: &'a str,
    },
    /// A person asked for something through skiff's web UI or API
    /// (a dry run only looked).
    Requested {
        request: &'a super::requests::Request,
        by: &'a str,
        dry_run: bool,
    },
    /// The app is being deleted with a resources finalizer.
    Deleting {
        deleted: &'a [String],
        kept: &'a [String],
    },
}

/// At most this many objects are named in one event.
const NAMED: usize = 10;

fn names(objects: &[String]) -> String {
    let mut text = objects
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > NAMED {
        text.push_str(&format!(" and {} more", objects.len() - NAMED));
    }
    text
}

impl Events {
    pub fn new(client: Client) -> Events {
        let reporter = Reporter {
            controller: "skiff".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Events {
            recorder: Recorder::new(client, reporter),
        }
    }

    pub async fn tell(&self, app: &Application, told: Told<'_>) {
        let short = |r: &str| r[..r.len().min(7)].to_string();
        let (type_, reason, action, note) = match told {
            Told::OperationStarted {
                revision,
                automated,
            } => (
                EventType::Normal,
                "OperationStarted",
                "Sync",
                format!(
                    "{} sync to {} started",
                    if automated { "automated" } else { "manual" },
                    short(revision)
                ),
            ),
            Told::OperationSucceeded { revision } => (
                EventType::Normal,
                "OperationCompleted",
                "Sync",
                format!("sync to {} succeeded", short(revision)),
            ),
            Told::OperationFailed { revision, message } => (
                EventType::Warning,
                "OperationFailed",
                "Sync",
                format!("sync to {} failed: {message}", short(revision)),
            ),
            Told::Pruned { objects } => (
                EventType::Normal,
                "Pruned",
                "Prune",
                format!("pruned {}", names(objects)),
            ),
            Told::DriftHealed { objects } => (
                EventType::Normal,
                "DriftHealed",
                "SelfHeal",
                format!("reverted drift of {}", names(objects)),
            ),
            Told::RollbackRefused { message } => (
                EventType::Warning,
                "RollbackRefused",
                "Rollback",
                message.to_string(),
            ),
            Told::Deleting { deleted, kept } => {
                let mut note = String::new();
                if !deleted.is_empty() {
                    note = format!("deleting {}", names(deleted));
                }
                if !kept.is_empty() {
                    let sep = if note.is_empty() { "" } else { "; " };
                    note = format!("{note}{sep}keeping {}", names(kept));
                }
                (EventType::Normal, "ResourcesDeleting", "Delete", note)
            }
            Told::Requested {
                request,
                by,
                dry_run,
            } => {
                use super::requests::Request;
                let (reason, action) = match request {
                    Request::Sync { .. } => ("SyncRequested", "Sync"),
                    Request::Refresh { .. } => ("RefreshRequested", "Refresh"),
                    Request::Rollback { .. } => ("RollbackRequested", "Rollback"),
                };
                let what = request.describe();
                let note = match dry_run {
                    true => format!("{by} looked at what {what} would change (dry run)"),
                    false => format!("{by} asked for {what}"),
                };
                (EventType::Normal, reason, action, note)
            }
            Told::SyncRefused { message } => (
                EventType::Warning,
                "SyncRefused",
                "Sync",
                message.to_string(),
            ),
            Told::HookFailed { hook, message } => (
                EventType::Warning,
                "HookFailed",
                "Sync",
                format!("hook {hook} failed: {message}"),
            ),
        };
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note.chars().take(1000).collect()),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &app.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not publish an event");
        }
    }
}
