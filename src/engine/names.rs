//! Container names for `ps`: one list call, best effort. `ps` must work without an engine, so
//! every failure (no socket, no permission, a slow engine) just means "no names".

use super::api::Api;
use super::connect::{open, resolve_host};
use std::collections::HashMap;
use std::time::Duration;

/// Full container id → name (without the leading `/`), from the engine at `DOCKER_HOST` or
/// the default socket; empty when the engine does not answer within `timeout`.
pub fn container_names(timeout: Duration) -> HashMap<String, String> {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return HashMap::new();
    };
    rt.block_on(async {
        let host = resolve_host(None);
        let Ok(docker) = open(&host, timeout).await else {
            return HashMap::new();
        };
        let api = Api::new(&host, &docker, timeout);
        let Ok(summaries) = api.list(false, &HashMap::new()).await else {
            return HashMap::new();
        };
        summaries
            .into_iter()
            .filter_map(|s| {
                let id = s.id?;
                let name = s.names?.into_iter().next()?;
                Some((id, name.trim_start_matches('/').to_string()))
            })
            .collect()
    })
}
