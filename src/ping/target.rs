//! Where to ping: resolving the host, and checking there is a route before sending anything.

use super::PingError;
use std::net::{IpAddr, ToSocketAddrs};

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
        // Escaped: a host with a line break or terminal escapes must not reach the terminal
        // (or a health log) raw.
        host: crate::output::printable(host),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn control_characters_in_a_host_are_escaped_in_the_error() {
        let e = resolve("\n", Want::Any).unwrap_err().to_string();
        assert_eq!(e, "ping: \\n: Name or service not known");
    }
}
