//! Choosing the socket: datagram first, raw only as a permitted fallback, else the explanation.

use super::diagnose::{self, Facts, RawAttempt, Refusal};
use super::{os_message, Family, IcmpSocket, Kind, PingError};

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
        raw,
    };
    Err(PingError::NoSocket(diagnose::explain(&refusal, &facts)))
}
