//! A derived image for `profile --try-fixes`: `FROM <image>` plus the permission fix as a
//! `RUN` line, built by the engine from an in-memory tar context (no registry, no docker CLI),
//! and removed again. The user's image is only ever read.

use super::connect;
use bollard::query_parameters::{BuildImageOptionsBuilder, RemoveImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// Everything that can go wrong, as one line naming the step.
pub type DeriveError = String;

/// Blocking access to one engine for the few calls a derived image needs.
pub struct Deriver {
    rt: tokio::runtime::Runtime,
    docker: Docker,
    timeout: Duration,
}

/// The Dockerfile of the derived image. `USER root` so the fix can run whatever user the
/// image runs as, then that user again so only the files differ.
pub fn dockerfile(base: &str, run: &str, user: Option<&str>) -> String {
    let mut s = format!("FROM {base}\nUSER root\n{run}\n");
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        s.push_str(&format!("USER {u}\n"));
    }
    s
}

fn context(dockerfile: &str) -> Result<Vec<u8>, DeriveError> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .map_err(|e| format!("build context: {e}"))?;
    tar.into_inner().map_err(|e| format!("build context: {e}"))
}

impl Deriver {
    pub fn new(host: Option<&str>, timeout: Duration) -> Result<Deriver, DeriveError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let host = super::resolve_host(host);
        let docker = rt.block_on(connect::open(&host, timeout))?;
        Ok(Deriver {
            rt,
            docker,
            timeout,
        })
    }

    /// The user the image runs as (`Config.User`), `None` when unset.
    pub fn image_user(&self, image: &str) -> Result<Option<String>, DeriveError> {
        let i = self
            .rt
            .block_on(async {
                tokio::time::timeout(self.timeout, self.docker.inspect_image(image)).await
            })
            .map_err(|_| format!("inspect {image}: timed out"))?
            .map_err(|e| format!("inspect {image}: {}", connect::one_line(&e.to_string())))?;
        Ok(i.config.and_then(|c| c.user).filter(|u| !u.is_empty()))
    }

    /// Builds `dockerfile` as `tag` (labelled `labels`); returns the build's last output line
    /// on failure. The classic builder, which works offline from a local base.
    pub fn build(
        &self,
        tag: &str,
        dockerfile: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), DeriveError> {
        let body = context(dockerfile)?;
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            // The fix touches only files: no network (and none is needed offline).
            .networkmode("none")
            .labels(labels)
            .build();
        let docker = &self.docker;
        let run = async {
            let mut stream =
                docker.build_image(options, None, Some(bollard::body_full(body.into())));
            let mut last = String::new();
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(e) = info.error_detail.and_then(|d| d.message) {
                            return Err(format!("build failed: {}", connect::one_line(&e)));
                        }
                        if let Some(s) = info.stream.filter(|s| !s.trim().is_empty()) {
                            last = s.trim().to_string();
                        }
                    }
                    Err(e) => {
                        return Err(format!(
                            "build failed: {} (last step: {last})",
                            connect::one_line(&e.to_string())
                        ))
                    }
                }
            }
            Ok(())
        };
        // A build runs the fix in a container: give it a few trials' worth of time.
        self.rt
            .block_on(async { tokio::time::timeout(self.timeout * 4, run).await })
            .map_err(|_| "build timed out".to_string())?
    }

    /// Removes the derived image (and its intermediate layers).
    pub fn remove(&self, tag: &str) -> Result<(), DeriveError> {
        let options = RemoveImageOptionsBuilder::default().force(true).build();
        self.rt
            .block_on(async {
                tokio::time::timeout(
                    self.timeout,
                    self.docker.remove_image(tag, Some(options), None),
                )
                .await
            })
            .map_err(|_| format!("remove {tag}: timed out"))?
            .map(|_| ())
            .map_err(|e| format!("remove {tag}: {}", connect::one_line(&e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_restores_the_user() {
        assert_eq!(
            dockerfile("nginx:1", "RUN chown 0 /a", Some("www-data")),
            "FROM nginx:1\nUSER root\nRUN chown 0 /a\nUSER www-data\n"
        );
        assert_eq!(
            dockerfile("nginx:1", "RUN chown 0 /a", None),
            "FROM nginx:1\nUSER root\nRUN chown 0 /a\n"
        );
        let ctx = context("FROM x\n").unwrap();
        let mut a = tar::Archive::new(&ctx[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile"]);
    }
}
