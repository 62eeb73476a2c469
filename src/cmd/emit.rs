//! `--emit systemd,oci,setcap|all`: which forms for services outside a container engine
//! `profile` and `trace` print under their result. A flag rather than always-on sections,
//! because an image profile's readers want docker/compose/Kubernetes and a local command's
//! readers want these; JSON carries every form regardless, so machines need no flag.

use crate::caps::outside::Outside;
use crate::output::Style;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// A systemd `[Service]` drop-in: CapabilityBoundingSet=, AmbientCapabilities= for a
    /// non-root user, NoNewPrivileges=yes.
    Systemd,
    /// The OCI runtime spec's `process.capabilities` (runc, crun), all five sets.
    Oci,
    /// A `setcap` line for the command's binary.
    Setcap,
    /// All three.
    All,
}

/// Whether `form` is asked for; `all` asks for every form.
pub fn wants(emit: &[Emit], form: Emit) -> bool {
    emit.iter().any(|e| *e == form || *e == Emit::All)
}

/// The chosen forms as text sections, after the `docker run` / compose lines.
pub fn render(o: &Outside, emit: &[Emit], binary: Option<&str>, style: Style) -> String {
    let mut s = String::new();
    if wants(emit, Emit::Systemd) {
        s.push_str(&format!(
            "{}\n{}",
            style.bold("systemd (drop-in, `systemctl edit UNIT`):"),
            o.systemd
        ));
    }
    if wants(emit, Emit::Oci) {
        // One line per set: readable, and still JSON to paste.
        let sets = [
            ("bounding", &o.oci.bounding),
            ("effective", &o.oci.effective),
            ("inheritable", &o.oci.inheritable),
            ("permitted", &o.oci.permitted),
            ("ambient", &o.oci.ambient),
        ];
        let lines: Vec<String> = sets
            .iter()
            .map(|(k, v)| {
                format!(
                    "  \"{k}\": {}",
                    serde_json::to_string(v).unwrap_or_default()
                )
            })
            .collect();
        s.push_str(&format!(
            "{}\n\"capabilities\": {{\n{}\n}}\n",
            style.bold("OCI runtime spec (config.json, under \"process\"):"),
            lines.join(",\n")
        ));
    }
    if wants(emit, Emit::Setcap) {
        let line = match (&o.setcap, binary) {
            (Some(l), _) => l.clone(),
            (None, _) if o.oci.bounding.is_empty() => {
                "none: the set is empty, so the binary needs no file capability".to_string()
            }
            (None, Some(b)) => format!("none for {b}"),
            (None, None) => {
                "unknown binary (give the command's absolute path in the image)".to_string()
            }
        };
        s.push_str(&format!("{}  {line}\n", style.bold("setcap:")));
    }
    s
}
