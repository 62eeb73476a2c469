//! Environment as a definition gives it: compose `environment` (list and map forms) and
//! `env_file`, Kubernetes `env`. Values are taken literally, as the engine would receive them;
//! what only a cluster can supply (`valueFrom`) is listed as missing for `--env` to fill.

use crate::sources::tree::{Node, Pos};

/// `KEY=VALUE` pairs of a docker env file (`docker run --env-file`): one per line, `#` starts a
/// comment line, blank lines are skipped, a bare `KEY` takes dropcap's own environment (and is
/// left out when unset, as docker does). Values are literal: no quotes are removed.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (u32, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (key, value) = match l.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (l.trim_end(), None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err((line_no, format!("'{}' is not a variable name", key.trim())));
        }
        match value {
            Some(v) => out.push((key.to_string(), v.to_string())),
            None => {
                if let Ok(v) = std::env::var(key) {
                    out.push((key.to_string(), v));
                }
            }
        }
    }
    Ok(out)
}

/// compose `environment`: `[KEY=VALUE, KEY]` or `{KEY: VALUE, KEY: null}`; a key without a
/// value takes dropcap's own environment, as compose does with the shell's.
pub fn compose_environment(v: &Node) -> Result<Vec<(String, String)>, (Pos, String)> {
    let mut out = Vec::new();
    if v.is_seq() {
        for item in v.items() {
            let Some(s) = item.as_text() else {
                return Err((
                    item.pos,
                    "environment entries must be KEY=VALUE strings".into(),
                ));
            };
            match s.split_once('=') {
                Some((k, val)) => out.push((k.to_string(), val.to_string())),
                None => {
                    if let Ok(val) = std::env::var(s) {
                        out.push((s.to_string(), val));
                    }
                }
            }
        }
    } else if v.is_map() {
        for (k, val) in v.entries() {
            let Some(key) = k.as_str() else { continue };
            if val.is_null() {
                if let Ok(x) = std::env::var(key) {
                    out.push((key.to_string(), x));
                }
            } else if let Some(x) = val.as_str() {
                out.push((key.to_string(), x.to_string()));
            } else {
                return Err((val.pos, format!("environment.{key} must be a string")));
            }
        }
    } else if !v.is_null() {
        return Err((v.pos, "environment must be a list or a map".into()));
    }
    Ok(out)
}

/// Literal variables, and the names of those only the cluster can supply.
pub type KubernetesEnv = (Vec<(String, String)>, Vec<String>);

/// Kubernetes `env`: literal `value`s, and the names of `valueFrom` entries (not resolved:
/// they come from the cluster).
pub fn kubernetes_env(v: &Node) -> Result<KubernetesEnv, (Pos, String)> {
    let mut set = Vec::new();
    let mut missing = Vec::new();
    if !v.is_null() && !v.is_seq() {
        return Err((v.pos, "env must be a list of {name, value}".into()));
    }
    for item in v.items() {
        let Some(name) = item.get("name").and_then(Node::as_text) else {
            return Err((item.pos, "env entries need a name".into()));
        };
        if item.get("valueFrom").is_some_and(|n| !n.is_null()) {
            missing.push(name.to_string());
        } else {
            let value = item.get("value").and_then(Node::as_text).unwrap_or("");
            set.push((name.to_string(), value.to_string()));
        }
    }
    Ok((set, missing))
}

/// Applies `--env K=V` over the definition's own environment: a key already set is replaced in
/// place (docker keeps the last of repeated keys anyway), a new one is appended. Returns the
/// missing names `--env` did not supply.
pub fn apply_overrides(
    env: &mut Vec<(String, String)>,
    missing: &[String],
    overrides: &[(String, String)],
) -> Vec<String> {
    for (k, v) in overrides {
        match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    missing
        .iter()
        .filter(|m| !overrides.iter().any(|(k, _)| k == *m))
        .cloned()
        .collect()
}

/// The kubelet's `$(VAR)` expansion of a string: `$(NAME)` becomes NAME's value when `lookup`
/// knows it and stays as written otherwise, `$$` is one `$` (so `$$(NAME)` is literal).
pub fn kubernetes_expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Expands a Kubernetes container as the kubelet does before starting it: each `env` value
/// sees the variables defined before it, `command` and `args` see them all.
pub fn kubernetes_expand_container(
    env: &mut [(String, String)],
    argvs: &mut [&mut Option<Vec<String>>],
) {
    for i in 0..env.len() {
        let (before, here) = env.split_at_mut(i);
        let lookup = |n: &str| {
            before
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        here[0].1 = kubernetes_expand(&here[0].1, &lookup);
    }
    let lookup = |n: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    for argv in argvs.iter_mut() {
        if let Some(words) = argv.as_mut() {
            for w in words.iter_mut() {
                *w = kubernetes_expand(w, &lookup);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tree::documents_whole;

    fn root(text: &str) -> std::rc::Rc<Node> {
        documents_whole(text).next().unwrap().unwrap().root
    }

    #[test]
    fn kubernetes_references_expand_as_the_kubelet_does() {
        let mut env = vec![
            ("HOST".to_string(), "db".to_string()),
            (
                "URL".to_string(),
                "http://$(HOST):$(PORT)/$(LATER)".to_string(),
            ),
            ("LATER".to_string(), "x".to_string()),
            ("PORT".to_string(), "5432".to_string()),
        ];
        let mut cmd = Some(vec![
            "--url=$(URL)".to_string(),
            "$$(HOST) $(NOPE) $ $(unclosed".to_string(),
            "ünï $(LATER)".to_string(),
        ]);
        let mut none: Option<Vec<String>> = None;
        kubernetes_expand_container(&mut env, &mut [&mut cmd, &mut none]);
        // An env value sees only the variables defined before it.
        assert_eq!(env[1].1, "http://db:$(PORT)/$(LATER)");
        assert_eq!(
            cmd.unwrap(),
            [
                "--url=http://db:$(PORT)/$(LATER)",
                "$(HOST) $(NOPE) $ $(unclosed",
                "ünï x"
            ]
        );
        assert!(none.is_none());
    }

    #[test]
    fn env_file_is_literal() {
        let got =
            parse_env_file("# c\n\nA=1\nB=\"q\"\n  C=x=y\nDROPCAP_SURELY_UNSET_VAR\n").unwrap();
        assert_eq!(
            got,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"q\"".into()),
                ("C".into(), "x=y".into())
            ]
        );
        assert_eq!(parse_env_file("A=1\nbad key=2\n").unwrap_err().0, 2);
    }

    #[test]
    fn compose_list_and_map_forms() {
        let r = root("a: [X=1, Y=a=b]\nb: {X: '1', Y: two}\nc: 3\n");
        let list = compose_environment(r.get("a").unwrap()).unwrap();
        assert_eq!(
            list,
            vec![("X".into(), "1".into()), ("Y".into(), "a=b".into())]
        );
        let map = compose_environment(r.get("b").unwrap()).unwrap();
        assert_eq!(
            map,
            vec![("X".into(), "1".into()), ("Y".into(), "two".into())]
        );
        assert!(compose_environment(r.get("c").unwrap()).is_err());
    }

    #[test]
    fn kubernetes_value_from_is_missing_until_supplied() {
        let r = root(
            "env:\n- {name: A, value: '1'}\n- name: PASS\n  valueFrom: {secretKeyRef: {name: s, key: k}}\n",
        );
        let (mut set, missing) = kubernetes_env(r.get("env").unwrap()).unwrap();
        assert_eq!(set, vec![("A".into(), "1".into())]);
        assert_eq!(missing, vec!["PASS".to_string()]);
        let left = apply_overrides(&mut set, &missing, &[("PASS".into(), "x".into())]);
        assert!(left.is_empty());
        assert_eq!(set[1], ("PASS".into(), "x".into()));
    }
}
