//! Prometheus metrics named and labelled like Argo CD's, so existing alerts
//! and dashboards (`argocd_app_info{sync_status!="Synced"}`) work unchanged.

use crate::source::git::GitRequest;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppInfo {
    pub namespace: String,
    pub name: String,
    pub project: String,
    pub autosync_enabled: String,
    pub repo: String,
    pub dest_server: String,
    pub dest_namespace: String,
    pub sync_status: String,
    pub health_status: String,
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    namespace: String,
    dest_server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    pub namespace: String,
    pub name: String,
    pub project: String,
    pub dest_server: String,
    pub phase: String,
    pub dry_run: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GitLabels {
    repo: String,
    request_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GitFailLabels {
    repo: String,
    revision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    provider: String,
    outcome: String,
}

fn reconcile_histogram() -> Histogram {
    Histogram::new([0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
}

fn git_histogram() -> Histogram {
    Histogram::new([0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0])
}

/// The series one app owns: its info line and the sync counters it touched.
type AppSeries = (Option<AppInfo>, Vec<SyncLabels>);

pub struct Metrics {
    registry: Registry,
    app_info: Family<AppInfo, Gauge>,
    reconcile: Family<ReconcileLabels, Histogram, fn() -> Histogram>,
    sync: Family<SyncLabels, Counter>,
    git_requests: Family<GitLabels, Counter>,
    git_duration: Family<GitLabels, Histogram, fn() -> Histogram>,
    git_failures: Family<GitFailLabels, Counter>,
    webhooks: Family<WebhookLabels, Counter>,
    /// The series each app owns, so a deleted app leaves none behind.
    per_app: Mutex<HashMap<(String, String), AppSeries>>,
    /// The uids of the apps deleted last, newest at the back.
    deleted: Mutex<std::collections::VecDeque<String>>,
}

/// How many deleted apps are remembered (a pass outlives its app by seconds).
const DELETED_REMEMBERED: usize = 256;

/// Argo CD's repo label: the URL lower-cased, `.git` stripped.
pub fn repo_label(url: &str) -> String {
    url.trim()
        .to_lowercase()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let app_info = Family::<AppInfo, Gauge>::default();
        registry.register(
            "argocd_app_info",
            "Information about application.",
            app_info.clone(),
        );
        let reconcile =
            Family::<ReconcileLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                reconcile_histogram as fn() -> Histogram,
            );
        registry.register(
            "argocd_app_reconcile",
            "Application reconciliation performance in seconds.",
            reconcile.clone(),
        );
        let sync = Family::<SyncLabels, Counter>::default();
        registry.register(
            "argocd_app_sync",
            "Number of application syncs.",
            sync.clone(),
        );
        let git_requests = Family::<GitLabels, Counter>::default();
        registry.register(
            "argocd_git_request",
            "Number of git requests performed by repo server",
            git_requests.clone(),
        );
        let git_duration = Family::<GitLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            git_histogram as fn() -> Histogram,
        );
        registry.register(
            "argocd_git_request_duration_seconds",
            "Git requests duration seconds.",
            git_duration.clone(),
        );
        let git_failures = Family::<GitFailLabels, Counter>::default();
        registry.register(
            "argocd_git_fetch_fail",
            "Number of git fetch requests failures by repo server",
            git_failures.clone(),
        );
        // skiff's own: Argo CD has no webhook metric.
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "skiff_webhook_requests",
            "Git webhook requests by provider and outcome.",
            webhooks.clone(),
        );
        Metrics {
            registry,
            git_failures,
            webhooks,
            app_info,
            reconcile,
            sync,
            git_requests,
            git_duration,
            per_app: Mutex::new(HashMap::new()),
            deleted: Mutex::new(std::collections::VecDeque::new()),
        }
    }
}

impl Metrics {
    /// Whether the app with this uid was deleted: a pass that was running
    /// when it went must not bring its series back.
    fn is_deleted(&self, uid: &str) -> bool {
        self.deleted
            .lock()
            .expect("metrics")
            .iter()
            .any(|d| d == uid)
    }

    /// Sets an app's `argocd_app_info` series, replacing its previous one.
    pub fn set_app_info(&self, info: AppInfo, uid: &str) {
        if self.is_deleted(uid) {
            return;
        }
        let mut per_app = self.per_app.lock().expect("metrics");
        let entry = per_app
            .entry((info.namespace.clone(), info.name.clone()))
            .or_default();
        if let Some(old) = entry.0.take() {
            if old != info {
                self.app_info.remove(&old);
            }
        }
        self.app_info.get_or_create(&info).set(1);
        entry.0 = Some(info);
    }

    pub fn observe_reconcile(&self, namespace: &str, dest_server: &str, took: Duration) {
        let labels = ReconcileLabels {
            namespace: namespace.into(),
            dest_server: dest_server.into(),
        };
        self.reconcile
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn count_sync(&self, labels: SyncLabels, uid: &str) {
        if self.is_deleted(uid) {
            return;
        }
        self.sync.get_or_create(&labels).inc();
        let mut per_app = self.per_app.lock().expect("metrics");
        let entry = per_app
            .entry((labels.namespace.clone(), labels.name.clone()))
            .or_default();
        if !entry.1.contains(&labels) {
            entry.1.push(labels);
        }
    }

    /// One webhook request: `provider` as detected (`unknown` when none was),
    /// `outcome` what became of it.
    pub fn count_webhook(&self, provider: &str, outcome: &str) {
        let labels = WebhookLabels {
            provider: provider.into(),
            outcome: outcome.into(),
        };
        self.webhooks.get_or_create(&labels).inc();
    }

    pub fn observe_git(&self, r: &GitRequest) {
        let labels = GitLabels {
            repo: repo_label(r.url),
            request_type: r.kind.into(),
        };
        self.git_requests.get_or_create(&labels).inc();
        self.git_duration
            .get_or_create(&labels)
            .observe(r.took.as_secs_f64());
        if !r.ok {
            let labels = GitFailLabels {
                repo: repo_label(r.url),
                revision: r.revision.into(),
            };
            self.git_failures.get_or_create(&labels).inc();
        }
    }

    /// Removes every series of a deleted app.
    pub fn forget_app(&self, namespace: &str, name: &str, uid: &str) {
        {
            let mut deleted = self.deleted.lock().expect("metrics");
            if deleted.len() == DELETED_REMEMBERED {
                deleted.pop_front();
            }
            deleted.push_back(uid.to_string());
        }
        if let Some((info, syncs)) = self
            .per_app
            .lock()
            .expect("metrics")
            .remove(&(namespace.into(), name.into()))
        {
            if let Some(info) = info {
                self.app_info.remove(&info);
            }
            for s in syncs {
                self.sync.remove(&s);
            }
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding into a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(sync: &str) -> AppInfo {
        AppInfo {
            namespace: "apps".into(),
            name: "web".into(),
            project: "default".into(),
            autosync_enabled: "true".into(),
            repo: repo_label("https://Git.example.com/org/Config.git"),
            dest_server: "https://kubernetes.default.svc".into(),
            dest_namespace: "web".into(),
            sync_status: sync.into(),
            health_status: "Healthy".into(),
            operation: "".into(),
        }
    }

    #[test]
    fn app_info_has_one_series_per_app_and_none_after_delete() {
        let m = Metrics::default();
        let sync = SyncLabels {
            namespace: "apps".into(),
            name: "web".into(),
            project: "default".into(),
            dest_server: "x".into(),
            phase: "Succeeded".into(),
            dry_run: "false".into(),
        };
        m.set_app_info(info("OutOfSync"), "uid-1");
        m.set_app_info(info("Synced"), "uid-1");
        m.count_sync(sync.clone(), "uid-1");
        let text = m.encode();
        assert!(text.contains("argocd_app_info{namespace=\"apps\",name=\"web\",project=\"default\",autosync_enabled=\"true\",repo=\"https://git.example.com/org/config\",dest_server=\"https://kubernetes.default.svc\",dest_namespace=\"web\",sync_status=\"Synced\",health_status=\"Healthy\",operation=\"\"} 1"), "{text}");
        assert!(!text.contains("OutOfSync"), "{text}");
        assert!(text.contains("argocd_app_sync_total{"), "{text}");
        m.forget_app("apps", "web", "uid-1");
        // A pass that was still running for the deleted app brings nothing back.
        m.set_app_info(info("Synced"), "uid-1");
        m.count_sync(sync.clone(), "uid-1");
        let text = m.encode();
        assert!(!text.contains("name=\"web\""), "{text}");
        // An app made again under the same name has a new uid.
        m.set_app_info(info("Synced"), "uid-2");
        assert!(m.encode().contains("name=\"web\""));
    }
}
