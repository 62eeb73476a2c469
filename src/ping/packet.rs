//! ICMP echo packets: building requests, and reading replies and errors off the wire.
//!
//! Two socket kinds deliver different framings. A datagram ("ping") socket hands over the ICMP
//! message alone and rewrites the identifier to its own port, so ids are not ours to check; a
//! raw IPv4 socket hands over the IP header too and sees every ICMP packet on the host, so the
//! identifier is what tells our replies apart. Raw ICMPv6 sockets never include the IPv6 header.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// ICMP header length: type, code, checksum, identifier, sequence.
pub const ICMP_HEADER: usize = 8;
/// IPv4 header without options, for the "56(84) bytes" line and the size limit.
pub const IPV4_HEADER: usize = 20;
pub const IPV6_HEADER: usize = 40;
/// Largest payload a single IPv4 datagram carries (65535 - 20 - 8), as iputils allows.
pub const MAX_PAYLOAD_V4: usize = 65_507;
/// IPv6 without a jumbogram: 65535 - 8.
pub const MAX_PAYLOAD_V6: usize = 65_527;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    fn echo_request(self) -> u8 {
        match self {
            Family::V4 => 8,
            Family::V6 => 128,
        }
    }
    fn echo_reply(self) -> u8 {
        match self {
            Family::V4 => 0,
            Family::V6 => 129,
        }
    }
    pub fn max_payload(self) -> usize {
        match self {
            Family::V4 => MAX_PAYLOAD_V4,
            Family::V6 => MAX_PAYLOAD_V6,
        }
    }
}

/// The Internet checksum (RFC 1071): ones' complement of the ones' complement sum of 16-bit
/// big-endian words, an odd last byte padded with zero.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The payload of echo number `seq`: an 8-byte per-run nonce, then a counting pattern shifted by
/// the sequence. A reply whose payload differs is someone else's or corrupted, never ours, which
/// matters on raw sockets that see every echo reply on the host.
pub fn payload(nonce: u64, seq: u16, size: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..size)
        .map(|i| (i as u8).wrapping_add(seq as u8))
        .collect();
    let n = nonce.to_be_bytes();
    let k = size.min(n.len());
    p[..k].copy_from_slice(&n[..k]);
    p
}

/// An echo request. The checksum is filled in for IPv4 (the kernel recomputes it on datagram
/// sockets, and raw sockets need it); ICMPv6 checksums cover a pseudo-header the kernel always
/// computes itself, so they stay zero here.
pub fn echo_request(family: Family, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(ICMP_HEADER + data.len());
    p.push(family.echo_request());
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(data);
    if family == Family::V4 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// What one received packet turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<'a> {
    /// An echo reply: ICMP length (header + data), as iputils counts "64 bytes".
    Reply {
        ident: u16,
        seq: u16,
        data: &'a [u8],
        icmp_len: usize,
        /// From the IPv4 header on raw sockets; datagram sockets learn it from ancillary data.
        ttl: Option<u8>,
        /// False when an IPv4 reply's checksum does not add up (raw sockets only).
        checksum_ok: bool,
    },
    /// An ICMP error quoting one of our echo requests.
    Error {
        ident: u16,
        seq: u16,
        /// Destination of the quoted request, to tell our probes from another process's.
        quoted_dst: Option<IpAddr>,
        kind: IcmpError,
    },
    /// Anything else: other ICMP traffic, truncated packets, our own outgoing requests.
    Other,
}

/// An ICMP error, by family, type and code, with the one number some types carry (MTU or
/// pointer). Printing follows iputils word for word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    pub family: Family,
    pub icmp_type: u8,
    pub code: u8,
    pub info: u32,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Skips the IPv4 header a raw socket prepends; `None` if it is not a sane IPv4 header.
/// Returns (TTL, the rest).
pub fn strip_ipv4(packet: &[u8]) -> Option<(u8, &[u8])> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < IPV4_HEADER || packet.len() < ihl {
        return None;
    }
    Some((packet[8], &packet[ihl..]))
}

/// Parses an ICMP message (no IP header in front).
pub fn parse_icmp(family: Family, icmp: &[u8], ttl: Option<u8>) -> Received<'_> {
    if icmp.len() < ICMP_HEADER {
        return Received::Other;
    }
    let (Some(ident), Some(seq)) = (be16(icmp, 4), be16(icmp, 6)) else {
        return Received::Other;
    };
    let (t, code) = (icmp[0], icmp[1]);
    if t == family.echo_reply() && code == 0 {
        let checksum_ok = family == Family::V6 || checksum(icmp) == 0;
        return Received::Reply {
            ident,
            seq,
            data: &icmp[ICMP_HEADER..],
            icmp_len: icmp.len(),
            ttl,
            checksum_ok,
        };
    }
    let is_error = match family {
        Family::V4 => matches!(t, 3 | 4 | 5 | 11 | 12),
        Family::V6 => matches!(t, 1..=4),
    };
    if !is_error {
        return Received::Other;
    }
    let info = be32(icmp, 4).unwrap_or(0);
    let info = match (family, t) {
        // Fragmentation needed: next-hop MTU in the low 16 bits.
        (Family::V4, 3) => info & 0xffff,
        // Parameter problem: pointer in the first byte.
        (Family::V4, 12) => info >> 24,
        // Redirect: the gateway address.
        _ => info,
    };
    let kind = IcmpError {
        family,
        icmp_type: t,
        code,
        info,
    };
    // The error quotes the offending packet: its IP header, then at least 8 bytes of it.
    let quoted = &icmp[ICMP_HEADER..];
    let (dst, inner) = match family {
        Family::V4 => {
            let Some((_, inner)) = strip_ipv4(quoted) else {
                return Received::Other;
            };
            let dst = quoted
                .get(16..20)
                .map(|d| IpAddr::V4(Ipv4Addr::new(d[0], d[1], d[2], d[3])));
            // Only ICMP requests quoted: protocol byte 1.
            if quoted.get(9) != Some(&1) {
                return Received::Other;
            }
            (dst, inner)
        }
        Family::V6 => {
            if quoted.len() < IPV6_HEADER || quoted[0] >> 4 != 6 || quoted[6] != 58 {
                return Received::Other;
            }
            let mut d = [0u8; 16];
            d.copy_from_slice(&quoted[24..40]);
            (Some(IpAddr::V6(Ipv6Addr::from(d))), &quoted[IPV6_HEADER..])
        }
    };
    if inner.len() < ICMP_HEADER || inner[0] != family.echo_request() {
        return Received::Other;
    }
    match (be16(inner, 4), be16(inner, 6)) {
        (Some(ident), Some(seq)) => Received::Error {
            ident,
            seq,
            quoted_dst: dst,
            kind,
        },
        _ => Received::Other,
    }
}

/// Parses what a socket delivered: raw IPv4 sockets include the IP header, the rest do not.
pub fn parse(family: Family, raw: bool, packet: &[u8]) -> Received<'_> {
    if raw && family == Family::V4 {
        match strip_ipv4(packet) {
            Some((ttl, icmp)) => parse_icmp(family, icmp, Some(ttl)),
            None => Received::Other,
        }
    } else {
        parse_icmp(family, packet, None)
    }
}

impl std::fmt::Display for IcmpError {
    /// iputils' wording (`pr_icmph` in ping.c and ping6_common.c), so scripts that grep ping
    /// output keep working.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, c, info) = (self.icmp_type, self.code, self.info);
        match self.family {
            Family::V4 => match t {
                3 => match c {
                    0 => f.write_str("Destination Net Unreachable"),
                    1 => f.write_str("Destination Host Unreachable"),
                    2 => f.write_str("Destination Protocol Unreachable"),
                    3 => f.write_str("Destination Port Unreachable"),
                    4 => write!(f, "Frag needed and DF set (mtu = {info})"),
                    5 => f.write_str("Source Route Failed"),
                    6 => f.write_str("Destination Net Unknown"),
                    7 => f.write_str("Destination Host Unknown"),
                    8 => f.write_str("Source Host Isolated"),
                    9 => f.write_str("Destination Net Prohibited"),
                    10 => f.write_str("Destination Host Prohibited"),
                    11 => f.write_str("Destination Net Unreachable for Type of Service"),
                    12 => f.write_str("Destination Host Unreachable for Type of Service"),
                    13 => f.write_str("Packet filtered"),
                    14 => f.write_str("Precedence Violation"),
                    15 => f.write_str("Precedence Cutoff"),
                    _ => write!(f, "Dest Unreachable, Bad Code: {c}"),
                },
                4 => f.write_str("Source Quench"),
                5 => {
                    let what = match c {
                        0 => "Redirect Network",
                        1 => "Redirect Host",
                        2 => "Redirect Type of Service and Network",
                        3 => "Redirect Type of Service and Host",
                        _ => return write!(f, "Redirect, Bad Code: {c}"),
                    };
                    write!(f, "{what}(New nexthop: {})", Ipv4Addr::from(info))
                }
                11 => match c {
                    0 => f.write_str("Time to live exceeded"),
                    1 => f.write_str("Frag reassembly time exceeded"),
                    _ => write!(f, "Time exceeded, Bad Code: {c}"),
                },
                12 => write!(f, "Parameter problem: pointer = {info}"),
                _ => write!(f, "Bad ICMP type: {t}"),
            },
            Family::V6 => match t {
                1 => {
                    f.write_str("Destination unreachable: ")?;
                    match c {
                        0 => f.write_str("No route"),
                        1 => f.write_str("Administratively prohibited"),
                        2 => f.write_str("Beyond scope of source address"),
                        3 => f.write_str("Address unreachable"),
                        4 => f.write_str("Port unreachable"),
                        _ => write!(f, "Unknown code {c}"),
                    }
                }
                2 => write!(f, "Packet too big: mtu={info}"),
                3 => {
                    f.write_str("Time exceeded: ")?;
                    match c {
                        0 => f.write_str("Hop limit"),
                        1 => f.write_str("Defragmentation failure"),
                        _ => write!(f, "code {c}"),
                    }
                }
                4 => {
                    f.write_str("Parameter problem: ")?;
                    match c {
                        0 => f.write_str("Wrong header field ")?,
                        1 => f.write_str("Unknown header ")?,
                        2 => f.write_str("Unknown option ")?,
                        _ => write!(f, "code {c} ")?,
                    }
                    write!(f, "at {info}")
                }
                _ => write!(f, "Unknown icmp type: {t}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2, checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn checksum_pads_odd_length_and_verifies_to_zero() {
        let data = [0xab, 0xcd, 0xef];
        // abcd + ef00 = 19acd → acd + 1 = 9ace; complement 6531.
        assert_eq!(checksum(&data), 0x6531);
        let req = echo_request(Family::V4, 0x1234, 7, &[1, 2, 3]);
        assert_eq!(
            checksum(&req),
            0,
            "a packet with its checksum in place sums to zero"
        );
    }

    #[test]
    fn builds_echo_request_v4_and_v6() {
        let data = payload(0x0102_0304_0506_0708, 1, 12);
        let p = echo_request(Family::V4, 0xbeef, 0x0102, &data);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(&p[4..8], &[0xbe, 0xef, 0x01, 0x02]);
        assert_eq!(&p[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&p[16..], &[9, 10, 11, 12]);
        let p6 = echo_request(Family::V6, 1, 2, &data);
        assert_eq!(&p6[..4], &[128, 0, 0, 0]);
        assert_eq!(p6.len(), 20);
    }

    #[test]
    fn payload_shorter_than_nonce_is_truncated_nonce() {
        assert_eq!(payload(0x0102_0304_0506_0708, 9, 3), vec![1, 2, 3]);
        assert!(payload(1, 1, 0).is_empty());
        assert_ne!(payload(7, 1, 32), payload(7, 2, 32));
    }

    fn reply_from(req: &[u8], family: Family) -> Vec<u8> {
        let mut r = req.to_vec();
        r[0] = if family == Family::V4 { 0 } else { 129 };
        r[2] = 0;
        r[3] = 0;
        if family == Family::V4 {
            let c = checksum(&r);
            r[2..4].copy_from_slice(&c.to_be_bytes());
        }
        r
    }

    fn ipv4_header(proto: u8, ttl: u8, src: [u8; 4], dst: [u8; 4], len: usize) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, proto, 0, 0];
        h[2..4].copy_from_slice(&((len + 20) as u16).to_be_bytes());
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    }

    #[test]
    fn parses_datagram_reply() {
        let data = payload(42, 3, 56);
        let req = echo_request(Family::V4, 9, 3, &data);
        let rep = reply_from(&req, Family::V4);
        match parse(Family::V4, false, &rep) {
            Received::Reply {
                seq,
                data: d,
                icmp_len,
                ttl,
                checksum_ok,
                ..
            } => {
                assert_eq!(seq, 3);
                assert_eq!(d, &data[..]);
                assert_eq!(icmp_len, 64);
                assert_eq!(ttl, None);
                assert!(checksum_ok);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_raw_v4_reply_with_ttl_and_detects_bad_checksum() {
        let req = echo_request(Family::V4, 9, 5, &payload(1, 5, 16));
        let rep = reply_from(&req, Family::V4);
        let mut pkt = ipv4_header(1, 63, [127, 0, 0, 1], [127, 0, 0, 1], rep.len());
        pkt.extend_from_slice(&rep);
        match parse(Family::V4, true, &pkt) {
            Received::Reply {
                ident,
                ttl,
                checksum_ok,
                ..
            } => {
                assert_eq!((ident, ttl, checksum_ok), (9, Some(63), true));
            }
            other => panic!("{other:?}"),
        }
        let last = pkt.len() - 1;
        pkt[last] ^= 0xff;
        assert!(matches!(
            parse(Family::V4, true, &pkt),
            Received::Reply {
                checksum_ok: false,
                ..
            }
        ));
    }

    #[test]
    fn own_request_and_garbage_are_other() {
        let req = echo_request(Family::V4, 9, 5, &[]);
        assert_eq!(parse(Family::V4, false, &req), Received::Other);
        assert_eq!(parse(Family::V4, false, &[0, 0, 0]), Received::Other);
        assert_eq!(parse(Family::V4, true, &[0x60; 30]), Received::Other);
        assert_eq!(parse(Family::V6, false, &[]), Received::Other);
    }

    #[test]
    fn parses_v4_time_exceeded_quoting_our_request() {
        let req = echo_request(Family::V4, 0x4242, 17, &payload(1, 17, 56));
        let mut err = vec![11, 0, 0, 0, 0, 0, 0, 0];
        err.extend(ipv4_header(1, 1, [10, 0, 0, 1], [10, 9, 9, 9], req.len()));
        err.extend_from_slice(&req[..8]);
        match parse_icmp(Family::V4, &err, None) {
            Received::Error {
                ident,
                seq,
                quoted_dst,
                kind,
            } => {
                assert_eq!((ident, seq), (0x4242, 17));
                assert_eq!(quoted_dst, Some("10.9.9.9".parse().unwrap()));
                assert_eq!(kind.to_string(), "Time to live exceeded");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_v6_unreachable_quoting_our_request() {
        let req = echo_request(Family::V6, 7, 2, &[0; 8]);
        let mut err = vec![1, 3, 0, 0, 0, 0, 0, 0];
        let mut ip6 = vec![0x60, 0, 0, 0, 0, 16, 58, 64];
        ip6.extend_from_slice(&[0; 16]);
        ip6.extend_from_slice(&"fd00::2".parse::<Ipv6Addr>().unwrap().octets());
        err.extend(ip6);
        err.extend_from_slice(&req);
        match parse_icmp(Family::V6, &err, None) {
            Received::Error {
                seq,
                quoted_dst,
                kind,
                ..
            } => {
                assert_eq!(seq, 2);
                assert_eq!(quoted_dst, Some("fd00::2".parse().unwrap()));
                assert_eq!(
                    kind.to_string(),
                    "Destination unreachable: Address unreachable"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_texts_follow_iputils() {
        let e = |family, icmp_type, code, info| {
            IcmpError {
                family,
                icmp_type,
                code,
                info,
            }
            .to_string()
        };
        assert_eq!(e(Family::V4, 3, 1, 0), "Destination Host Unreachable");
        assert_eq!(
            e(Family::V4, 3, 4, 1400),
            "Frag needed and DF set (mtu = 1400)"
        );
        assert_eq!(e(Family::V4, 3, 99, 0), "Dest Unreachable, Bad Code: 99");
        assert_eq!(e(Family::V4, 11, 1, 0), "Frag reassembly time exceeded");
        assert_eq!(e(Family::V6, 3, 0, 0), "Time exceeded: Hop limit");
        assert_eq!(e(Family::V6, 2, 0, 1280), "Packet too big: mtu=1280");
        assert_eq!(
            e(Family::V6, 4, 1, 40),
            "Parameter problem: Unknown header at 40"
        );
    }

    proptest::proptest! {
        /// Whatever arrives on a socket, parsing returns a value and never panics.
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            for fam in [Family::V4, Family::V6] {
                for raw in [false, true] {
                    let _ = parse(fam, raw, &bytes);
                }
            }
        }

        /// Any request with its checksum in place sums to zero, and its reply parses back to
        /// the same sequence and payload.
        #[test]
        fn requests_verify_and_replies_round_trip(
            ident in proptest::num::u16::ANY,
            seq in proptest::num::u16::ANY,
            nonce in proptest::num::u64::ANY,
            size in 0usize..300,
        ) {
            let data = payload(nonce, seq, size);
            let req = echo_request(Family::V4, ident, seq, &data);
            proptest::prop_assert_eq!(checksum(&req), 0);
            let rep = reply_from(&req, Family::V4);
            match parse(Family::V4, false, &rep) {
                Received::Reply { ident: i, seq: s, data: d, checksum_ok, .. } => {
                    proptest::prop_assert_eq!((i, s, d, checksum_ok), (ident, seq, &data[..], true));
                }
                other => proptest::prop_assert!(false, "{:?}", other),
            }
        }
    }
}
