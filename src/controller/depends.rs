//! `spec.dependsOn`: an app syncs only when the apps it names are Synced and
//! Healthy. A name that does not exist, or a chain that comes back to the
//! app, is an InvalidSpecError; dependencies that are not ready yet only hold
//! the sync back.

use crate::application::Application;
use kube::api::Api;
use kube::{Client, ResourceExt};

/// What the dependencies allow.
#[derive(Debug, PartialEq)]
pub enum Dependencies {
    Ready,
    /// Not yet: these are not Synced and Healthy.
    Waiting(Vec<String>),
}

/// An Application's (namespace, name).
type AppKey = (String, String);

/// `namespace/name` of a dependsOn entry; a bare name is in the app's namespace.
fn key(entry: &str, namespace: &str) -> AppKey {
    match entry.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (namespace.to_string(), entry.to_string()),
    }
}

/// Looks the app's dependencies up, and theirs in turn to find cycles.
pub async fn check(client: &Client, app: &Application) -> Result<Dependencies, String> {
    let namespace = app.namespace().unwrap_or_default();
    let me = (namespace.clone(), app.name_any());
    let mut waiting = Vec::new();
    // Depth-first through the graph, with the path that led here.
    let mut stack: Vec<(Vec<AppKey>, AppKey)> = app
        .spec
        .depends_on
        .iter()
        .map(|d| (vec![me.clone()], key(d, &namespace)))
        .collect();
    let mut seen = Vec::new();
    while let Some((path, (ns, name))) = stack.pop() {
        let show = |p: &[AppKey]| {
            p.iter()
                .map(|(ns, n)| format!("{ns}/{n}"))
                .collect::<Vec<_>>()
                .join(" → ")
        };
        if (ns.clone(), name.clone()) == me {
            return Err(format!(
                "spec.dependsOn: a cycle: {} → {ns}/{name}",
                show(&path)
            ));
        }
        if seen.contains(&(ns.clone(), name.clone())) || path.len() > 64 {
            continue;
        }
        seen.push((ns.clone(), name.clone()));
        let api: Api<Application> = Api::namespaced(client.clone(), &ns);
        let found = api
            .get_opt(&name)
            .await
            .map_err(|e| format!("spec.dependsOn: reading application {ns}/{name}: {e}"))?;
        let Some(dep) = found else {
            if path.len() == 1 {
                return Err(format!(
                    "spec.dependsOn: application {ns}/{name} does not exist"
                ));
            }
            continue;
        };
        if path.len() == 1 {
            let status = dep.status.as_ref();
            let ready =
                status.is_some_and(|s| s.sync.status == "Synced" && s.health.status == "Healthy");
            if !ready {
                waiting.push(format!("{ns}/{name}"));
            }
        }
        let mut next = path.clone();
        next.push((ns.clone(), name.clone()));
        for d in &dep.spec.depends_on {
            stack.push((next.clone(), key(d, &ns)));
        }
    }
    Ok(if waiting.is_empty() {
        Dependencies::Ready
    } else {
        waiting.sort();
        Dependencies::Waiting(waiting)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_in_the_apps_namespace_unless_given() {
        assert_eq!(key("db", "apps"), ("apps".into(), "db".into()));
        assert_eq!(key("infra/db", "apps"), ("infra".into(), "db".into()));
    }
}
