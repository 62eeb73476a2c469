//! ICMP echo without CAP_NET_RAW.
//!
//! The reason NET_RAW stays in so many containers is `ping`, yet the kernel has offered ICMP
//! datagram sockets to unprivileged groups (`net.ipv4.ping_group_range`) since 3.0, and Docker
//! opens that range in every container since 20.10. This module pings through such a socket
//! first, falls back to a raw socket only when datagram ICMP is refused and NET_RAW is held, and
//! otherwise explains exactly which setting to change.

pub mod diagnose;
pub mod interrupt;
pub mod matching;
pub mod open;
pub mod packet;
pub mod session;
pub mod socket;
pub mod stats;
pub mod target;

pub use open::open_socket;
pub use packet::Family;
pub use session::{Event, Options, Summary};
pub use socket::{IcmpSocket, Kind};
pub use target::{resolve, route_probe, Want};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PingError {
    /// iputils' wording, e.g. `ping: nosuchhost: Name or service not known`.
    #[error("ping: {host}: {reason}")]
    Resolve { host: String, reason: String },
    /// Multi-line: the refusals, the facts, and the fix.
    #[error("{0}")]
    NoSocket(String),
    #[error("ping: {what}: {}", os_message(err))]
    Socket {
        what: &'static str,
        /// Not `source`: the message already says it, and `{:#}` would repeat it.
        err: std::io::Error,
    },
    #[error("ping: {0}")]
    Usage(String),
    /// The io error is the source (not repeated in the message) so `main` can find a closed
    /// pipe at the root and treat it as success.
    #[error("writing output")]
    Io(#[source] std::io::Error),
    #[error("encoding JSON: {0}")]
    /// The source, so `main` finds a closed pipe behind it (output past the buffer).
    Json(#[source] serde_json::Error),
}

impl From<std::io::Error> for PingError {
    fn from(e: std::io::Error) -> PingError {
        PingError::Io(e)
    }
}

impl From<serde_json::Error> for PingError {
    fn from(e: serde_json::Error) -> PingError {
        PingError::Json(e)
    }
}

/// The kernel's message alone ("Permission denied"), as iputils prints it, without Rust's
/// " (os error 13)" suffix.
pub fn os_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_messages_drop_the_errno_suffix() {
        let e = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(os_message(&e), "Permission denied");
        let other = std::io::Error::other("custom (text)");
        assert_eq!(os_message(&other), "custom (text)");
    }
}
