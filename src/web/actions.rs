//! What a person does from the UI or the API: sync (with prune, or a dry run
//! that only looks), refresh (normal or hard) and rollback. Each is allowed
//! by the cluster's RBAC (may this user patch this Application?), asked of
//! the controller through the annotations it reads — skiff's own identity
//! writes them, after RBAC said the person may — and recorded as an Event.

use super::auth::{Caller, Denied};
use super::UiState;
use crate::controller::events::Told;
use crate::controller::preview::{self, Preview};
use crate::controller::requests::{self, Request};
use kube::Api;

/// What came of an action.
pub enum Outcome {
    /// The controller was asked; the text says what.
    Asked(String),
    /// A dry run: what the sync would change.
    Looked(Preview),
}

#[derive(Debug)]
pub enum Failure {
    Denied(Denied),
    NotFound(String),
    /// The app cannot have it as it stands (409).
    Refused(String),
    /// A dry run could not fetch or render the source (422).
    Preview(String),
    /// The cluster did not take the request (502).
    Cluster(String),
}

impl Failure {
    pub fn status(&self) -> u16 {
        match self {
            Failure::Denied(d) => d.status(),
            Failure::NotFound(_) => 404,
            Failure::Refused(_) => 409,
            Failure::Preview(_) => 422,
            Failure::Cluster(_) => 502,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Denied(d) => write!(f, "{d}"),
            Failure::NotFound(m)
            | Failure::Refused(m)
            | Failure::Preview(m)
            | Failure::Cluster(m) => write!(f, "{m}"),
        }
    }
}

/// Does `request` (a dry run only looks) on the app for `caller`, who has
/// already shown who they are (and their CSRF token).
pub async fn act(
    state: &UiState,
    caller: &Caller,
    namespace: &str,
    name: &str,
    request: &Request,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    // Permission first: a refusal never tells whether the app exists.
    state
        .auth
        .may_change(caller, namespace, name)
        .await
        .map_err(Failure::Denied)?;
    let Some(app) = state.find(namespace, name) else {
        return Err(Failure::NotFound(format!(
            "no Application {namespace}/{name}"
        )));
    };
    let by = caller.who.name();
    if dry_run {
        let revision = match request {
            Request::Sync { revision, .. } => revision.as_deref(),
            _ => None,
        };
        let found = preview::preview(
            &state.client,
            &app,
            revision,
            &state.cache_dir,
            &state.skiff_namespace,
        )
        .await
        .map_err(Failure::Preview)?;
        let told = Told::Requested {
            request,
            by,
            dry_run: true,
        };
        state.events.tell(&app, told).await;
        return Ok(Outcome::Looked(found));
    }
    let annotations = request.annotations(&app).map_err(Failure::Refused)?;
    let api: Api<crate::application::Application> =
        Api::namespaced(state.client.clone(), namespace);
    requests::ask(&api, name, annotations)
        .await
        .map_err(Failure::Cluster)?;
    let told = Told::Requested {
        request,
        by,
        dry_run: false,
    };
    state.events.tell(&app, told).await;
    tracing::info!(app = %format!("{namespace}/{name}"), user = by, "{} asked", request.describe());
    Ok(Outcome::Asked(request.describe()))
}
