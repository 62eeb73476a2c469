//! Owner names for files whose tar headers carry only numbers (`docker import` writes no
//! names), looked up in the image's own /etc/passwd and /etc/group, never the host's.

use super::layer::FileEntry;

/// `name:x:ID:...` lines → the name of `id`, as getpwuid/getgrgid would find it.
pub fn account_name(file: &[u8], id: u64) -> Option<String> {
    String::from_utf8_lossy(file).lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let number: u64 = fields.nth(1)?.trim().parse().ok()?;
        (number == id && !name.is_empty()).then(|| name.to_string())
    })
}

/// Fills in owner and group names the headers did not carry.
pub fn name_owners(files: &mut [FileEntry], passwd: Option<&[u8]>, group: Option<&[u8]>) {
    for f in files {
        if f.user.is_none() {
            f.user = passwd.and_then(|p| account_name(p, f.uid));
        }
        if f.group.is_none() {
            f.group = group.and_then(|g| account_name(g, f.gid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_come_from_passwd_lines() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\nshadow:x:42:\n\nbad line\n";
        assert_eq!(account_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(account_name(passwd, 42).as_deref(), Some("shadow"));
        assert_eq!(account_name(passwd, 7), None);
    }
}
