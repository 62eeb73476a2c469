//! `--user` the way `docker run --user` reads it: `name`, `uid`, `name:group` or `uid:gid`,
//! looked up in `/etc/passwd` and `/etc/group` only (no NSS), so the same spelling means the
//! same identity for a local trial and a container trial.

use super::ExecError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: every group in `/etc/group` that lists the user, plus `gid`.
    pub groups: Vec<u32>,
}

pub fn resolve_user(spec: &str) -> Result<Identity, ExecError> {
    let passwd = crate::process::read_text("/etc/passwd").unwrap_or_default();
    let group = crate::process::read_text("/etc/group").unwrap_or_default();
    resolve_in(spec, &passwd, &group)
}

pub fn resolve_in(spec: &str, passwd: &str, group: &str) -> Result<Identity, ExecError> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() {
        return Err(ExecError::User(format!("--user '{spec}': empty user")));
    }
    let entry = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 {
            return None;
        }
        let (uid, gid) = (f[2].parse::<u32>().ok()?, f[3].parse::<u32>().ok()?);
        (f[0] == user || f[2] == user).then(|| (f[0].to_string(), uid, gid))
    });
    let (name, uid, primary) = match entry {
        Some(e) => e,
        // Docker runs an unknown numeric uid with gid 0; do the same so trials match.
        None => match user.parse::<u32>() {
            Ok(uid) => (String::new(), uid, 0),
            Err(_) => {
                return Err(ExecError::User(format!(
                    "--user '{spec}': no user '{user}' in /etc/passwd"
                )))
            }
        },
    };
    let gid = match grp {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 3 && f[0] == g).then(|| f[2].parse::<u32>().ok())?
                })
                .ok_or_else(|| {
                    ExecError::User(format!("--user '{spec}': no group '{g}' in /etc/group"))
                })?,
        },
    };
    // The kernel reads (uid_t)-1 as "leave unchanged": accepting it would run the command as root.
    if uid == u32::MAX || gid == u32::MAX {
        return Err(ExecError::User(format!(
            "--user '{spec}': id 4294967295 is reserved (the kernel reads it as \"unchanged\")"
        )));
    }
    let mut groups = vec![gid];
    if !name.is_empty() {
        for l in group.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                if let Ok(n) = f[2].parse::<u32>() {
                    if !groups.contains(&n) {
                        groups.push(n);
                    }
                }
            }
        }
    }
    Ok(Identity { uid, gid, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\nbroken\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nwheel:x:10:app,bob\n";

    #[test]
    fn names_numbers_and_groups() {
        let a = resolve_in("app", PASSWD, GROUP).unwrap();
        assert_eq!(
            (a.uid, a.gid, a.groups.clone()),
            (1000, 1000, vec![1000, 10])
        );
        assert_eq!(resolve_in("1000", PASSWD, GROUP).unwrap(), a);
        let b = resolve_in("app:wheel", PASSWD, GROUP).unwrap();
        assert_eq!((b.gid, b.groups), (10, vec![10]));
        let c = resolve_in("4242:7", PASSWD, GROUP).unwrap();
        assert_eq!((c.uid, c.gid, c.groups), (4242, 7, vec![7]));
        assert_eq!(resolve_in("4242", PASSWD, GROUP).unwrap().gid, 0);
    }

    #[test]
    fn bad_users_are_errors() {
        for s in [
            "nobody_here",
            "",
            ":1",
            "app:nogroup",
            "4294967295",
            "app:4294967295",
        ] {
            assert!(resolve_in(s, PASSWD, GROUP).is_err(), "{s}");
        }
    }
}
