//! List, inspect concurrently, map, then read the host: the live audit's pipeline.

use super::api::{Api, ApiError};
use super::connect::{engine_info, open_via, resolve_host, EngineKind};
use super::progress::Progress;
use super::raw::Endpoint;
use super::tls::Tls;
use super::{disk, engine_error, host, libpod, map, swarm, EngineAudit, EngineOptions};
use bollard::models::ContainerInspectResponse;
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

enum Inspected {
    FromFiles(Box<ContainerInspectResponse>),
    Ok(
        Box<ContainerInspectResponse>,
        Option<libpod::PodmanCaps>,
        Option<String>,
    ),
    Gone(String),
    Failed(String),
}

pub async fn audit(options: &EngineOptions) -> EngineAudit {
    let host = resolve_host(options.host.as_deref());
    let mut audit = EngineAudit {
        engine: None,
        workloads: Vec::new(),
        errors: Vec::new(),
        notes: Vec::new(),
        from_state_files: 0,
    };
    let fail = |mut audit: EngineAudit, msg: String| {
        audit.errors.push(engine_error(&host, msg));
        audit
    };
    let filters = match parse_filters(&options.filters) {
        Ok(f) => f,
        Err(msg) => return fail(audit, msg),
    };
    let tls = match options.tls.clone().map(Tls::new).transpose() {
        Ok(t) => t.map(std::sync::Arc::new),
        Err(e) => return fail(audit, e.to_string()),
    };
    let endpoint = Endpoint {
        host: host.clone(),
        tls,
    };
    let (version, docker) = match open_via(&endpoint, options.timeout).await {
        Ok(d) => d,
        Err(msg) => return fail(audit, msg),
    };
    // Swarm services are read while the containers are inspected (see `swarm`).
    let swarm_api = Api::at(endpoint.clone(), version, options.timeout);
    let swarm_filters = filters.clone();
    let swarm = tokio::spawn(async move { swarm::services(&swarm_api, &swarm_filters).await });
    let api = Api::at(endpoint, version, options.timeout);
    let name = options.name.clone().unwrap_or_else(|| host.clone());
    // /version (for the report) and the list do not depend on each other. A local dockerd's
    // own files list its containers without the list endpoint (see `local`).
    // The data root of a local dockerd proven to be the one behind the socket: its state
    // files list the containers and its layer store holds the images.
    let verified = match options.state_files {
        true => super::export::local_store_of(&host).await,
        false => None,
    };
    let local_list = async {
        let root = verified.clone()?;
        let filters = filters.clone();
        tokio::task::spawn_blocking(move || {
            super::local::can_filter(&filters)
                .then(|| super::local::list(&root, &filters))
                .flatten()
        })
        .await
        .ok()
        .flatten()
    };
    let listing = async {
        match local_list.await {
            Some(listed) => Ok((Vec::new(), Some(listed))),
            None => api.list(true, &filters).await.map(|s| (s, None)),
        }
    };
    let (version, listing) = tokio::join!(api.version(), listing);
    let (mut info, kind) = match version {
        Ok(v) => engine_info(&v, &host),
        Err(e) => return fail(audit, e.to_string()),
    };
    info.name = name.clone();
    audit.engine = Some(info);
    let (summaries, local) = match listing {
        Ok(s) => s,
        Err(e) => return fail(audit, format!("listing containers: {e}")),
    };
    let ids: Vec<String> = summaries.into_iter().filter_map(|s| s.id).collect();

    let mut inspected = Vec::new();
    if let Some(listed) = local {
        audit.from_state_files += listed.len();
        inspected.extend(listed.into_iter().map(|c| (Box::new(c), None)));
    }
    let mut progress = Progress::new(ids.len(), options.progress);
    let concurrency = options.concurrency.max(1);
    let state_root = state_root(options, &host, kind);
    let mut results = stream::iter(ids)
        .map(|id| {
            inspect_one(
                &api,
                &host,
                kind,
                state_root.as_deref(),
                options.timeout,
                id,
            )
        })
        .buffer_unordered(concurrency);
    while let Some(r) = results.next().await {
        progress.inc();
        match r {
            Inspected::FromFiles(c) => {
                audit.from_state_files += 1;
                inspected.push((c, None));
            }
            Inspected::Ok(c, podman, note) => {
                if let Some(n) = note {
                    audit.notes.push(n);
                }
                inspected.push((c, podman));
            }
            Inspected::Gone(note) => audit.notes.push(note),
            Inspected::Failed(msg) => audit.errors.push(engine_error(&host, msg)),
        }
    }
    drop(results);
    progress.finish();

    let mut workloads: Vec<_> = inspected
        .iter()
        .map(|(c, podman)| {
            let pid = c
                .state
                .as_ref()
                .filter(|s| s.running == Some(true))
                .and_then(|s| s.pid)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| *p > 0);
            let mut w = map::workload_from_inspect(c, kind, *podman);
            w.engine = Some(name.clone());
            (w, pid)
        })
        .collect();

    match (&docker, options.read_images) {
        (Some(docker), true) => {
            let store = verified.as_deref().filter(|_| kind == EngineKind::Docker);
            attach_images(docker, store, &mut workloads, &mut audit, options.timeout).await
        }
        (None, true) if !workloads.is_empty() => audit.notes.push(format!(
            "{name}: images not read (image export over TLS needs --tlsverify with a CA, a client certificate and its key); rules DC020 and DC021 skipped"
        )),
        _ => {}
    }

    if options.read_processes && workloads.iter().any(|(_, pid)| pid.is_some()) {
        let joined = tokio::task::spawn_blocking(move || {
            read_host(&mut workloads);
            workloads
        })
        .await;
        match joined {
            Ok(w) => audit.workloads = w.into_iter().map(|(w, _)| w).collect(),
            Err(e) => audit
                .errors
                .push(engine_error(&host, format!("reading /proc failed: {e}"))),
        }
    } else {
        audit.workloads = workloads.into_iter().map(|(w, _)| w).collect();
    }
    match swarm.await {
        Ok(Ok(s)) => {
            audit.notes.extend(s.notes);
            let containers = std::mem::take(&mut audit.workloads);
            audit.workloads = swarm::attach(
                s.workloads,
                s.selected.as_ref(),
                containers,
                &mut audit.notes,
            );
        }
        Ok(Err(e)) => audit.notes.push(format!("Swarm services not read: {e}")),
        Err(e) => audit.notes.push(format!("Swarm services not read: {e}")),
    }
    audit
        .workloads
        .sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    audit.notes.sort();
    audit.errors.sort_by(|a, b| a.message.cmp(&b.message));
    audit
}

/// Reads every distinct image the containers run, once each, and hands it to their
/// workloads. One at a time: an export streams the whole image, and two at once only split
/// the same disk and socket between them.
async fn attach_images(
    docker: &bollard::Docker,
    store: Option<&Path>,
    workloads: &mut [(crate::workload::Workload, Option<u32>)],
    audit: &mut EngineAudit,
    idle: std::time::Duration,
) {
    let mut cache: HashMap<String, Option<std::sync::Arc<crate::image::ImageFiles>>> =
        HashMap::new();
    for (w, _) in workloads.iter_mut() {
        let Some(id) = w.image_id.clone() else {
            continue;
        };
        if !cache.contains_key(&id) {
            let read = match super::export::read_image_id(docker, store, &id, &id, idle).await {
                Ok(files) => Some(std::sync::Arc::new(files)),
                Err(e) => {
                    let shown = w.image.clone().unwrap_or_else(|| id.clone());
                    audit.notes.push(format!(
                        "image {shown} could not be read ({e}); rules DC020 and DC021 skipped for its containers"
                    ));
                    None
                }
            };
            cache.insert(id.clone(), read);
        }
        w.image_files = cache.get(&id).cloned().flatten();
    }
}

/// dockerd's data root when its state files can stand in for inspects: a local Docker engine
/// (unix socket) whose `containers` directory this process can read.
fn state_root(options: &EngineOptions, host: &str, kind: EngineKind) -> Option<PathBuf> {
    if !options.state_files || kind != EngineKind::Docker || !host.starts_with("unix://") {
        return None;
    }
    let root = PathBuf::from(disk::DEFAULT_ROOT);
    std::fs::read_dir(root.join("containers")).ok()?;
    Some(root)
}

async fn inspect_one(
    api: &Api,
    host: &str,
    kind: EngineKind,
    state_root: Option<&Path>,
    timeout: std::time::Duration,
    id: String,
) -> Inspected {
    let short: String = id.chars().take(12).collect();
    if let Some(c) = state_root.and_then(|root| disk::read(root, &id)) {
        return Inspected::FromFiles(Box::new(c));
    }
    let c = match api.inspect(&id).await {
        Ok(c) => c,
        Err(ApiError::NotFound) => {
            return Inspected::Gone(format!(
                "container {short} was removed while being audited; skipped"
            ))
        }
        Err(e) => return Inspected::Failed(format!("container {short}: {e}")),
    };
    if kind != EngineKind::Podman {
        return Inspected::Ok(Box::new(c), None, None);
    }
    match libpod::inspect_caps(host, &id, timeout).await {
        Ok(p) => Inspected::Ok(Box::new(c), Some(p), None),
        Err(e) => Inspected::Ok(
            Box::new(c),
            None,
            Some(format!(
                "container {short}: libpod inspect failed ({e}); capabilities derived from the compatible API"
            )),
        ),
    }
}

fn read_host(workloads: &mut [(crate::workload::Workload, Option<u32>)]) {
    let proc_root = Path::new("/proc");
    for (w, pid) in workloads.iter_mut() {
        let (Some(pid), Some(id)) = (*pid, w.id.clone()) else {
            continue;
        };
        let Some(procs) = host::processes(proc_root, pid, &id) else {
            continue;
        };
        w.processes = procs;
        w.observed_sysctls = host::net_sysctls(proc_root, pid);
    }
}

/// `KEY=VALUE` as `docker ps --filter` takes it (`label=a=b` keeps its second `=`).
fn parse_filters(raw: &[String]) -> Result<HashMap<String, Vec<String>>, String> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for f in raw {
        let Some((k, v)) = f.split_once('=') else {
            return Err(format!(
                "bad filter '{f}': expected KEY=VALUE such as label=team=web or name=api"
            ));
        };
        out.entry(k.trim().to_string())
            .or_default()
            .push(v.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = parse_filters(&["label=a=b".into(), "name=x".into(), "label=c".into()]).unwrap();
        assert_eq!(f["label"], ["a=b", "c"]);
        assert_eq!(f["name"], ["x"]);
        assert!(parse_filters(&["nonsense".into()]).is_err());
    }
}
