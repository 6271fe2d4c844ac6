//! Self-heal without waiting for the poll: one metadata-only watch per kind
//! skiff has applied, shared by every app, started the first time a plan
//! holds that kind. A change to an object whose tracking annotation names an
//! app asks for that app's reconcile (the controller debounces the requests,
//! so a burst of changes costs one pass). skiff's own writes come back the
//! same way and end in a pass that finds nothing to do.

use crate::application::Application;
use crate::sync::options::annotation;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, PartialObjectMeta};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::Client;
use std::collections::HashSet;
use std::sync::Mutex;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

pub struct Watches {
    client: Client,
    watched: Mutex<HashSet<(String, String, String)>>,
    wake: UnboundedSender<ObjectRef<Application>>,
}

/// The app a tracking id (`<namespace>_<name>:<group>/<kind>:<ns>/<name>`) names.
pub fn app_of(tracking_id: &str) -> Option<ObjectRef<Application>> {
    let (app, _) = tracking_id.split_once(':')?;
    // Namespaces and names are DNS labels and subdomains: no `_` in either.
    let (namespace, name) = app.split_once('_')?;
    Some(ObjectRef::new(name).within(namespace))
}

impl Watches {
    /// The watches, and the stream of apps they ask to reconcile.
    pub fn new(client: Client) -> (Watches, UnboundedReceiver<ObjectRef<Application>>) {
        let (wake, woken) = unbounded_channel();
        let watches = Watches {
            client,
            watched: Mutex::new(HashSet::new()),
            wake,
        };
        (watches, woken)
    }

    /// Wakes an app: the controller runs a pass for it soon.
    pub fn wake(&self, app: ObjectRef<Application>) {
        let _ = self.wake.send(app);
    }

    /// Starts watching this kind unless it is watched already.
    pub fn ensure(&self, resource: &ApiResource) {
        let key = (
            resource.group.clone(),
            resource.version.clone(),
            resource.kind.clone(),
        );
        if !self.watched.lock().expect("watches").insert(key) {
            return;
        }
        let api: Api<PartialObjectMeta<DynamicObject>> =
            Api::all_with(self.client.clone(), resource);
        let wake = self.wake.clone();
        let kind = resource.kind.clone();
        tokio::spawn(async move {
            let mut listed = false;
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
            while let Some(event) = events.next().await {
                let object = match event {
                    // The first listing is what the last passes saw already.
                    Ok(watcher::Event::InitDone) => {
                        listed = true;
                        continue;
                    }
                    Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o)) if listed => o,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::debug!(error = %e, %kind, "watch of managed objects");
                        continue;
                    }
                };
                let metadata =
                    serde_json::json!({"metadata": {"annotations": object.metadata.annotations}});
                if let Some(app) = annotation(&metadata, "tracking-id").and_then(app_of) {
                    if wake.send(app).is_err() {
                        return;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracking_id_names_the_app() {
        let app = app_of("apps_guestbook:apps/Deployment:web/frontend").unwrap();
        assert_eq!(app.name, "guestbook");
        assert_eq!(app.namespace.as_deref(), Some("apps"));
        assert!(app_of("no-app-here").is_none());
        // Argo CD's ids have no namespace part: not skiff's.
        assert!(app_of("guestbook:apps/Deployment:web/frontend").is_none());
    }
}
