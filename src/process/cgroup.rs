//! Which container a process belongs to, read from `/proc/PID/cgroup`.
//!
//! Every engine puts a container's processes in a cgroup whose path ends in the 64-hex
//! container id, with an engine-specific prefix; that is the only container marker the kernel
//! keeps, and it works the same for cgroup v1 and v2.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Containerd,
    Crio,
    Podman,
    /// A Kubernetes pod whose runtime the path does not reveal.
    Kubernetes,
    Unknown,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::Crio => "crio",
            Runtime::Podman => "podman",
            Runtime::Kubernetes => "kubernetes",
            Runtime::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerRef {
    /// Full 64-hex id.
    pub id: String,
    pub runtime: Runtime,
    /// The engine's name for it, when an engine answered (`ps` asks; the cgroup does not say).
    pub name: Option<String>,
}

impl ContainerRef {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

const PREFIXES: [(&str, Runtime); 4] = [
    ("docker-", Runtime::Docker),
    ("cri-containerd-", Runtime::Containerd),
    ("crio-", Runtime::Crio),
    ("libpod-", Runtime::Podman),
];

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The container of a process from the text of its cgroup file, `None` for host processes.
/// Monitor processes (`libpod-conmon-…`, `crio-conmon-…`) belong to the host.
pub fn container_of(cgroup_text: &str) -> Option<ContainerRef> {
    cgroup_text.lines().find_map(|line| {
        let path = line.splitn(3, ':').nth(2)?;
        container_in_path(path)
    })
}

fn container_in_path(path: &str) -> Option<ContainerRef> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, seg) in segments.iter().enumerate().rev() {
        let seg = seg.strip_suffix(".scope").unwrap_or(seg);
        if seg.contains("conmon-") {
            return None;
        }
        for (prefix, runtime) in PREFIXES {
            if let Some(id) = seg.strip_prefix(prefix) {
                if is_id(id) {
                    return Some(ContainerRef {
                        id: id.to_ascii_lowercase(),
                        runtime,
                        name: None,
                    });
                }
            }
        }
        if is_id(seg) {
            let parents = &segments[..i];
            let runtime = if parents.iter().any(|p| p.starts_with("kubepods")) {
                Runtime::Kubernetes
            } else if parents.contains(&"docker") {
                Runtime::Docker
            } else if parents.iter().any(|p| p.starts_with("libpod")) {
                Runtime::Podman
            } else {
                Runtime::Unknown
            };
            return Some(ContainerRef {
                id: seg.to_ascii_lowercase(),
                runtime,
                name: None,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    fn check(text: &str, runtime: Runtime) {
        let c = container_of(text).unwrap_or_else(|| panic!("no container in {text}"));
        assert_eq!(c.id, ID);
        assert_eq!(c.runtime, runtime, "{text}");
        assert_eq!(c.short_id(), "3f4e5d6c7b8a");
    }

    #[test]
    fn engines_and_cgroup_versions() {
        check(
            &format!("12:pids:/docker/{ID}\n11:cpu:/docker/{ID}\n"),
            Runtime::Docker,
        );
        check(
            &format!("0::/system.slice/docker-{ID}.scope\n"),
            Runtime::Docker,
        );
        check(
            &format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-{ID}.scope\n"),
            Runtime::Containerd,
        );
        check(
            &format!("0::/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope\n"),
            Runtime::Crio,
        );
        check(
            &format!("4:memory:/kubepods/burstable/pod1234/{ID}\n"),
            Runtime::Kubernetes,
        );
        check(
            &format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n"),
            Runtime::Podman,
        );
        check(
            &format!("1:name=systemd:/libpod_parent/{ID}\n"),
            Runtime::Podman,
        );
        check(&format!("0::/default/{ID}\n"), Runtime::Unknown);
    }

    #[test]
    fn host_processes_and_monitors() {
        assert_eq!(container_of("0::/init.scope\n"), None);
        assert_eq!(
            container_of("0::/user.slice/user-0.slice/session-1.scope\n"),
            None
        );
        assert_eq!(
            container_of(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n")),
            None
        );
        assert_eq!(container_of(""), None);
        assert_eq!(container_of("garbage without colons"), None);
        assert_eq!(container_of("0::/docker/abc\n"), None);
    }
}
