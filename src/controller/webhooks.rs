//! Pushes announced by webhooks: every app that follows the pushed branch or
//! tag is marked for a refresh (its next pass asks the remote for its refs
//! instead of reusing what it knows) and woken through the controller's own
//! queue, so no poll and no restart is needed.

use super::Context;
use crate::web::webhook::{follows, Push};
use kube::runtime::reflector::ObjectRef;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Serves the queue the webhook handler fills, until it closes. Pushes wait
/// until the Applications are listed (`ready`).
pub async fn serve(ctx: Arc<Context>, mut pushes: mpsc::Receiver<Push>, ready: Arc<AtomicBool>) {
    // Not Store::wait_until_ready: its future keeps one waker, and the
    // controller waits on the same store.
    let store = loop {
        match ctx.apps.get() {
            Some(store) if ready.load(Ordering::SeqCst) => break store,
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    while let Some(push) = pushes.recv().await {
        let apps: Vec<ObjectRef<_>> = store
            .state()
            .iter()
            .filter(|a| {
                follows(
                    &a.spec.source.repo_url,
                    &a.spec.source.target_revision,
                    &push,
                )
            })
            .map(|a| ObjectRef::from_obj(a.as_ref()))
            .collect();
        tracing::info!(
            provider = push.provider.as_str(),
            git_ref = %push.git_ref,
            apps = apps.len(),
            "webhook push"
        );
        for app in apps {
            ctx.ask_refresh(app);
        }
    }
}
