//! An image's files read through the Engine API's image export (`GET /images/{id}/get`, the
//! stream behind `docker save`), parsed while it arrives: the async side only moves chunks
//! into a small bounded channel, a blocking task reads the tar from it, so at most a few
//! chunks are in memory whatever the image's size, and nothing touches the disk.

use crate::image::{archive, ImageError, ImageFiles};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Chunks in flight between the socket and the tar reader.
const CHANNEL_CHUNKS: usize = 8;

/// `io::Read` over the chunks the export task sends; the end of the channel is the end of
/// the archive, an error item the engine's own failure.
struct ChunkReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

fn engine_error(image: &str, message: impl Into<String>) -> ImageError {
    ImageError::Engine {
        image: image.to_string(),
        message: message.into(),
    }
}

/// The image's id (`sha256:…`), or an error that says the image is not on the engine. Read
/// through the capped raw client ([`super::api`]), as every small engine answer is.
pub async fn image_id(api: &super::api::Api, name: &str) -> Result<String, ImageError> {
    match api.image_inspect(name).await {
        Ok(i) => {
            i.id.ok_or_else(|| engine_error(name, "the engine's inspect has no id"))
        }
        Err(super::api::ApiError::NotFound) => {
            Err(engine_error(name, "no such image on the engine"))
        }
        Err(e) => Err(engine_error(name, e.to_string())),
    }
}

/// Reads the image with id `id` (see [`image_id`]) of the engine behind `docker`; `name` is
/// how messages call it. bollard's timeout covers only the answer's headers, so an export that
/// stalls for `idle` mid-stream ends the read with an error instead of hanging it. The export
/// is parsed as it arrives (a bounded channel of chunks), so an image of any size is read in
/// bounded memory; the archive reader caps what it keeps of each entry. An earlier run's
/// analysis of the same id ([`crate::image::cache`]) stands in for the export.
pub async fn read_image_id(
    docker: &Docker,
    store: Option<&Path>,
    id: &str,
    name: &str,
    idle: Duration,
) -> Result<ImageFiles, ImageError> {
    let cache = crate::image::cache::ImageCache::open();
    if let Some(hit) = cache.as_ref().and_then(|c| c.get(id, name)) {
        return Ok(hit);
    }
    let files = read_image_keeping(
        docker,
        store,
        id,
        name,
        idle,
        crate::image::layer::Keep::new(),
    )
    .await?;
    if let Some(cache) = cache {
        cache.put(&files);
    }
    Ok(files)
}

/// [`read_image_id`], also keeping the entries of these paths (owner and mode of any file).
/// `store` is the data root of a verified local dockerd ([`super::local::verified_root`]):
/// its layer store ([`super::layerdb`]) is read instead of the export when it checks out.
pub async fn read_image_keeping(
    docker: &Docker,
    store: Option<&Path>,
    id: &str,
    name: &str,
    idle: Duration,
    keep: crate::image::layer::Keep,
) -> Result<ImageFiles, ImageError> {
    if let Some(root) = store {
        let (root, id, name, keep) = (
            root.to_path_buf(),
            id.to_string(),
            name.to_string(),
            keep.clone(),
        );
        let local = tokio::task::spawn_blocking(move || {
            super::layerdb::read_image(&root, &id, &name, &keep)
        })
        .await;
        if let Ok(Ok(files)) = local {
            return Ok(files);
        }
    }
    let id = id.to_string();
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let client = docker.clone();
    let export_id = id.clone();
    let pump = tokio::spawn(async move {
        let mut stream = std::pin::pin!(client.export_image(&export_id));
        loop {
            let item = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(item)) => item.map_err(|e| e.to_string()),
                Ok(None) => break,
                Err(_) => Err(format!(
                    "the engine sent nothing for {} s in the middle of the export",
                    idle.as_secs()
                )),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let label = name.to_string();
    let parsed = tokio::task::spawn_blocking(move || {
        let reader = ChunkReader {
            rx,
            current: Bytes::new(),
        };
        archive::read_keeping(reader, &label, None, &keep)
    })
    .await;
    pump.abort();
    let layers = parsed.map_err(|e| engine_error(name, format!("reader task failed: {e}")))??;
    let mut files = ImageFiles::from_layers(name, &layers);
    files.id = Some(id);
    Ok(files)
}

/// [`read_image_id`] for each name, in order, for callers without a runtime.
pub fn read_images_blocking(
    host: Option<&str>,
    names: &[String],
    timeout: Duration,
) -> Vec<Result<ImageFiles, ImageError>> {
    read_images_blocking_via(host, names, timeout, true)
}

/// [`read_images_blocking`]; `local_store: false` always exports (the layer store's answer is
/// tested against it).
pub fn read_images_blocking_via(
    host: Option<&str>,
    names: &[String],
    timeout: Duration,
    local_store: bool,
) -> Vec<Result<ImageFiles, ImageError>> {
    let host = super::resolve_host(host);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return names
                .iter()
                .map(|n| {
                    Err(engine_error(
                        n,
                        format!("cannot start the async runtime: {e}"),
                    ))
                })
                .collect()
        }
    };
    rt.block_on(async {
        let docker = match super::connect::open(&host, timeout).await {
            Ok(d) => d,
            Err(e) => {
                return names
                    .iter()
                    .map(|n| Err(engine_error(n, e.clone())))
                    .collect()
            }
        };
        let api = super::api::Api::new(&host, &docker, timeout);
        let store = match local_store {
            true => local_store_of(&host).await,
            false => None,
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let read = match image_id(&api, name).await {
                Ok(id) => read_image_id(&docker, store.as_deref(), &id, name, timeout).await,
                Err(e) => Err(e),
            };
            out.push(read);
        }
        out
    })
}

/// [`read_image_keeping`] for callers without a runtime: one image, also keeping `keep`.
pub fn read_image_keeping_blocking(
    host: Option<&str>,
    name: &str,
    keep: crate::image::layer::Keep,
    timeout: Duration,
) -> Result<ImageFiles, ImageError> {
    let host = super::resolve_host(host);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| engine_error(name, format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let docker = super::connect::open(&host, timeout)
            .await
            .map_err(|e| engine_error(name, e))?;
        let id = image_id(&super::api::Api::new(&host, &docker, timeout), name).await?;
        let store = local_store_of(&host).await;
        read_image_keeping(&docker, store.as_deref(), &id, name, timeout, keep).await
    })
}

/// The data root of the dockerd behind `host` when it is local and proven to be its own
/// ([`super::local::verified_root`]); `None` otherwise, and images are exported.
pub async fn local_store_of(host: &str) -> Option<PathBuf> {
    super::local::verified_root(host.strip_prefix("unix://")?).await
}
