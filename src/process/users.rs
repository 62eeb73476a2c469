//! Uid to user name, from `/etc/passwd` only: no NSS, so a static binary behaves the same
//! inside a container as on the host.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Users(HashMap<u32, String>);

impl Users {
    pub fn load() -> Users {
        super::read_text("/etc/passwd")
            .map(|t| Users::parse(&t))
            .unwrap_or_default()
    }

    pub fn parse(passwd: &str) -> Users {
        let mut map = HashMap::new();
        for line in passwd.lines() {
            let mut f = line.split(':');
            if let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) {
                if let Ok(uid) = uid.parse() {
                    map.entry(uid).or_insert_with(|| name.to_string());
                }
            }
        }
        Users(map)
    }

    /// The name, or the number when unknown (as `ps` does).
    pub fn name(&self, uid: u32) -> String {
        self.0.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_passwd() {
        let u = super::Users::parse(
            "root:x:0:0:root:/root:/bin/sh\nbroken\nnginx:x:101:101::/:/sbin/nologin\n",
        );
        assert_eq!(u.name(0), "root");
        assert_eq!(u.name(101), "nginx");
        assert_eq!(u.name(4242), "4242");
    }
}
