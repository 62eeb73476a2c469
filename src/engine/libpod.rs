//! Podman's own (libpod) inspect, the only place Podman states a container's real
//! `BoundingCaps` / `EffectiveCaps`.
//!
//! bollard speaks only the Docker API and its typed inspect cannot hold libpod's answer, so
//! this is one small raw GET (see [`super::raw`]).

use super::raw::get;
use crate::caps::{parse_cap, CapSet};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct LibpodInspect {
    #[serde(rename = "BoundingCaps")]
    bounding: Option<Vec<String>>,
    #[serde(rename = "EffectiveCaps")]
    effective: Option<Vec<String>>,
}

/// The sets Podman reports for one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodmanCaps {
    pub bounding: CapSet,
    pub effective: Option<CapSet>,
}

pub async fn inspect_caps(
    host: &str,
    id: &str,
    timeout: std::time::Duration,
) -> Result<PodmanCaps, String> {
    let path = format!("/v4.0.0/libpod/containers/{id}/json");
    let answer = get(host, &path, timeout).await?;
    parse(answer.ok_body(&path)?)
}

fn parse(body: &[u8]) -> Result<PodmanCaps, String> {
    let v: LibpodInspect =
        serde_json::from_slice(body).map_err(|e| format!("malformed libpod inspect: {e}"))?;
    let set = |names: &[String]| -> Result<CapSet, String> {
        names.iter().try_fold(CapSet::EMPTY, |acc, n| {
            parse_cap(n)
                .map(|c| acc.with(c))
                .map_err(|_| format!("libpod inspect names an unknown capability '{n}'"))
        })
    };
    let bounding = set(v
        .bounding
        .as_deref()
        .ok_or("libpod inspect has no BoundingCaps")?)?;
    let effective = v.effective.as_deref().map(set).transpose()?;
    Ok(PodmanCaps {
        bounding,
        effective,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap;

    #[test]
    fn parses_podman_answer() {
        let body = br#"{"Id":"x","EffectiveCaps":["CAP_CHOWN","CAP_NET_RAW"],"BoundingCaps":["CAP_CHOWN","CAP_NET_RAW"],"HostConfig":{}}"#;
        let c = parse(body).unwrap();
        assert_eq!(
            c.bounding,
            CapSet::EMPTY.with(Cap::CHOWN).with(Cap::NET_RAW)
        );
        assert_eq!(c.effective, Some(c.bounding));
        assert!(parse(br#"{"BoundingCaps":["CAP_BOGUS"]}"#).is_err());
        assert!(parse(br#"{"Id":"x"}"#).is_err());
        assert!(parse(b"not json").is_err());
    }
}
