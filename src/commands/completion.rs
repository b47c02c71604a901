//! Completion values that only the cluster or the kubeconfig knows: the registry's routes, the
//! registries it trusts, the kubeconfig's contexts. Asked with the connection flags typed so far,
//! within a few seconds; what cannot be read completes to nothing.

use super::{ConnectionArgs, Context, PolicyArgs};
use crate::api::{CLUSTER, Config};
use std::time::Duration;

/// How long completion waits for the cluster.
const PATIENCE: Duration = Duration::from_secs(3);

/// A value the cluster or the kubeconfig knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dynamic {
    /// The Config's extra routes (`routes remove`).
    Routes,
    /// The registries whose CAs are trusted (`trust remove`).
    TrustedHosts,
    /// The kubeconfig's contexts (`--context`).
    Contexts,
}

/// The values of `dynamic`, read with `connection`; none when they cannot be read in time.
pub async fn values(dynamic: Dynamic, mut connection: ConnectionArgs) -> Vec<String> {
    if dynamic == Dynamic::Contexts {
        return contexts(&connection);
    }
    connection.request_timeout = Some(PATIENCE);
    let cx = Context::new(connection, PolicyArgs::default());
    let read = async {
        let session = cx.session().await?;
        Ok::<_, anyhow::Error>(match dynamic {
            Dynamic::Routes => {
                let config = kube::Api::<Config>::all(session.client.clone()).get(CLUSTER).await?;
                config
                    .spec
                    .routes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.name)
                    .collect()
            }
            Dynamic::TrustedHosts => super::trust::trusted_hosts(session).await?,
            Dynamic::Contexts => Vec::new(),
        })
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// The contexts of the kubeconfig `--kubeconfig` (else `$KUBECONFIG`, else `~/.kube/config`)
/// names.
fn contexts(connection: &ConnectionArgs) -> Vec<String> {
    let config = match &connection.kubeconfig {
        Some(path) => kube::config::Kubeconfig::read_from(path),
        None => kube::config::Kubeconfig::read(),
    };
    config
        .map(|c| c.contexts.into_iter().map(|n| n.name).collect())
        .unwrap_or_default()
}
