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
pub mod packet;
pub mod session;
pub mod socket;
pub mod stats;

pub use packet::Family;
pub use session::{Event, Options, Summary};
pub use socket::{IcmpSocket, Kind};

use diagnose::{Facts, RawAttempt, Refusal};
use std::net::{IpAddr, ToSocketAddrs};
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
    Json(serde_json::Error),
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

/// Which address families a lookup may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Any,
    V4,
    V6,
}

/// Resolves `host` (a literal, or a name through the system resolver, A and AAAA) to the first
/// address of the wanted family, as iputils takes the first `getaddrinfo` answer.
pub fn resolve(host: &str, want: Want) -> Result<IpAddr, PingError> {
    let err = |reason: &str| PingError::Resolve {
        host: host.to_string(),
        reason: reason.to_string(),
    };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let candidates: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(err("Name or service not known"));
            }
            match (host, 0u16).to_socket_addrs() {
                Ok(it) => it.map(|a| a.ip()).collect(),
                Err(e) => {
                    // std prefixes getaddrinfo's message; iputils prints gai_strerror alone.
                    let msg = e.to_string();
                    let msg = msg
                        .strip_prefix("failed to lookup address information: ")
                        .unwrap_or(&msg)
                        .to_string();
                    return Err(err(&msg));
                }
            }
        }
    };
    let pick = candidates.iter().copied().find(|ip| match want {
        Want::Any => true,
        Want::V4 => ip.is_ipv4(),
        Want::V6 => ip.is_ipv6(),
    });
    match pick {
        // `::ffff:127.0.0.1` is IPv4 in IPv6 clothing: pinging it needs ICMP, not ICMPv6.
        Some(ip) => Ok(ip.to_canonical()),
        None if candidates.is_empty() => Err(err("Name or service not known")),
        None => Err(err("Address family for hostname not supported")),
    }
}

/// iputils' start-up check: "connecting" a UDP socket to the target asks the kernel for a route
/// and a source address without sending anything. Failing here ("Network is unreachable",
/// "Cannot assign requested address" where IPv6 is disabled) is an error (exit 2), not loss.
pub fn route_probe(target: IpAddr) -> Result<(), PingError> {
    let any: IpAddr = match target {
        IpAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let fail = |err| PingError::Socket {
        what: "connect",
        err,
    };
    let s = std::net::UdpSocket::bind((any, 0)).map_err(fail)?;
    s.connect((target, 1025)).map_err(fail)?;
    Ok(())
}

/// Opens the socket to ping with: datagram first; raw only if datagram is refused, raw is
/// wanted and NET_RAW is held. On failure, the explanation of both refusals.
pub fn open_socket(
    target: &str,
    family: Family,
    datagram_only: bool,
) -> Result<IcmpSocket, PingError> {
    let dgram = match IcmpSocket::open(family, Kind::Datagram) {
        Ok(s) => return Ok(s),
        Err(e) => e,
    };
    let facts = Facts::gather();
    let raw = if datagram_only {
        RawAttempt::NotWanted
    } else if facts.net_raw() == Some(false) {
        RawAttempt::NoNetRaw
    } else {
        match IcmpSocket::open(family, Kind::Raw) {
            Ok(s) => return Ok(s),
            Err(e) => RawAttempt::Failed(os_message(&e)),
        }
    };
    let refusal = Refusal {
        target: target.to_string(),
        family,
        datagram: os_message(&dgram),
        datagram_errno: dgram.raw_os_error(),
        raw,
    };
    Err(PingError::NoSocket(diagnose::explain(&refusal, &facts)))
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

    #[test]
    fn resolves_literals_and_checks_family() {
        assert_eq!(
            resolve("127.0.0.1", Want::Any).unwrap(),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(resolve("[::1]", Want::V6).unwrap().to_string(), "::1");
        assert_eq!(
            resolve("::ffff:127.0.0.2", Want::Any).unwrap().to_string(),
            "127.0.0.2"
        );
        assert_eq!(
            resolve("::1", Want::V4).unwrap_err().to_string(),
            "ping: ::1: Address family for hostname not supported"
        );
        assert_eq!(
            resolve("", Want::Any).unwrap_err().to_string(),
            "ping: : Name or service not known"
        );
    }

    #[test]
    fn resolves_localhost_by_name() {
        // /etc/hosts always names localhost; no network is involved.
        let ip = resolve("localhost", Want::V4).unwrap();
        assert!(ip.is_loopback(), "{ip}");
    }
}
