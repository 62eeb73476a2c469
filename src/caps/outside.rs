//! A proven set written for services that run outside a container engine: a systemd unit
//! drop-in, the OCI runtime spec's `process.capabilities` (runc, crun), and a `setcap` line for
//! one binary. Like [`super::spell`], this is the one place that spells a set for them.
//!
//! Root and non-root differ: a root process gets its bounding set on every exec, so limiting
//! the bounding set is enough and the inheritable and ambient sets stay empty (a non-empty
//! inheritable set for root is what CVE-2022-24769 was about). A non-root process loses every
//! capability on exec unless it is in the ambient set, which the kernel only accepts when the
//! capability is also permitted and inheritable, so there all five sets hold the set.

use super::spell::{list, Spelling};
use super::CapSet;
use serde::Serialize;

/// Who the service runs as, as far as the capability sets care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    Root,
    /// A non-root user, as given (`name`, `uid` or `uid:gid`).
    User(String),
}

impl RunAs {
    /// `None`, `root`, `0` and `0:GID` are root; anything else is a non-root user.
    pub fn from_user(user: Option<&str>) -> RunAs {
        match user {
            None => RunAs::Root,
            Some(u) => {
                let name = u.split(':').next().unwrap_or(u);
                if name == "root" || name == "0" {
                    RunAs::Root
                } else {
                    RunAs::User(u.to_string())
                }
            }
        }
    }
}

/// The OCI runtime spec's `process.capabilities`: kernel names (`CAP_NET_RAW`) per set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OciCapabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub inheritable: Vec<String>,
    pub permitted: Vec<String>,
    pub ambient: Vec<String>,
}

fn kernel_names(set: CapSet) -> Vec<String> {
    set.iter().map(|c| c.kernel_name()).collect()
}

pub fn oci_capabilities(set: CapSet, run_as: &RunAs) -> OciCapabilities {
    let all = kernel_names(set);
    let carried = match run_as {
        RunAs::Root => Vec::new(),
        RunAs::User(_) => all.clone(),
    };
    OciCapabilities {
        bounding: all.clone(),
        effective: all.clone(),
        inheritable: carried.clone(),
        permitted: all,
        ambient: carried,
    }
}

/// A `[Service]` drop-in (for `systemctl edit UNIT`). An empty `CapabilityBoundingSet=` means
/// "no capabilities" to systemd, which is what an empty proven set asks for.
pub fn systemd_fragment(set: CapSet, run_as: &RunAs) -> String {
    let names = kernel_names(set).join(" ");
    let mut s = String::from("[Service]\n");
    if let RunAs::User(u) = run_as {
        match u.split_once(':') {
            Some((user, group)) => s.push_str(&format!("User={user}\nGroup={group}\n")),
            None => s.push_str(&format!("User={u}\n")),
        }
    }
    s.push_str(&format!("CapabilityBoundingSet={names}\n"));
    if matches!(run_as, RunAs::User(_)) && !set.is_empty() {
        s.push_str(&format!("AmbientCapabilities={names}\n"));
    }
    s.push_str("NoNewPrivileges=yes\n");
    s
}

/// `setcap 'cap_chown,cap_net_raw+ep' /usr/bin/tool`, so the binary gets the set whoever runs
/// it; `None` for the empty set (the binary needs no file capability at all).
pub fn setcap_line(set: CapSet, binary: &str) -> Option<String> {
    if set.is_empty() {
        return None;
    }
    let quoted = if binary
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        binary.to_string()
    } else {
        format!("'{}'", binary.replace('\'', r"'\''"))
    };
    Some(format!(
        "setcap '{}+ep' {quoted}",
        list(set, Spelling::Libcap)
    ))
}

/// All three forms of one set, as `profile --format json` carries them.
#[derive(Debug, Clone, Serialize)]
pub struct Outside {
    pub systemd: String,
    pub oci: OciCapabilities,
    /// `null` when the set is empty or the binary is not known.
    pub setcap: Option<String>,
}

impl Outside {
    pub fn new(set: CapSet, run_as: &RunAs, binary: Option<&str>) -> Outside {
        Outside {
            systemd: systemd_fragment(set, run_as),
            oci: oci_capabilities(set, run_as),
            setcap: binary.and_then(|b| setcap_line(set, b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap;

    fn two() -> CapSet {
        CapSet::EMPTY.with(Cap::CHOWN).with(Cap::NET_RAW)
    }

    #[test]
    fn root_and_user_differ_in_ambient_and_inheritable() {
        let root = oci_capabilities(two(), &RunAs::Root);
        assert_eq!(root.bounding, ["CAP_CHOWN", "CAP_NET_RAW"]);
        assert_eq!(root.effective, root.bounding);
        assert_eq!(root.permitted, root.bounding);
        assert!(root.inheritable.is_empty() && root.ambient.is_empty());
        let user = oci_capabilities(two(), &RunAs::from_user(Some("1000:1000")));
        for set in [
            &user.effective,
            &user.inheritable,
            &user.permitted,
            &user.ambient,
        ] {
            assert_eq!(set, &user.bounding);
        }
    }

    #[test]
    fn systemd_forms() {
        assert_eq!(
            systemd_fragment(two(), &RunAs::Root),
            "[Service]\nCapabilityBoundingSet=CAP_CHOWN CAP_NET_RAW\nNoNewPrivileges=yes\n"
        );
        assert_eq!(
            systemd_fragment(two(), &RunAs::from_user(Some("app"))),
            "[Service]\nUser=app\nCapabilityBoundingSet=CAP_CHOWN CAP_NET_RAW\n\
             AmbientCapabilities=CAP_CHOWN CAP_NET_RAW\nNoNewPrivileges=yes\n"
        );
        assert_eq!(
            systemd_fragment(CapSet::EMPTY, &RunAs::from_user(Some("0:0"))),
            "[Service]\nCapabilityBoundingSet=\nNoNewPrivileges=yes\n"
        );
    }

    #[test]
    fn setcap_quotes_odd_paths_and_skips_the_empty_set() {
        assert_eq!(
            setcap_line(two(), "/usr/bin/tool").as_deref(),
            Some("setcap 'cap_chown,cap_net_raw+ep' /usr/bin/tool")
        );
        assert_eq!(
            setcap_line(two(), "/opt/it's here").as_deref(),
            Some(r"setcap 'cap_chown,cap_net_raw+ep' '/opt/it'\''s here'")
        );
        assert_eq!(setcap_line(CapSet::EMPTY, "/bin/x"), None);
    }
}
