//! ICMP sockets through libc: the only unsafe code of `ping`, kept to thin wrappers that check
//! every return value and every length the kernel reports.
//!
//! Receive times come from the kernel (`SO_TIMESTAMPNS`), like iputils' `SO_TIMESTAMP`, so the
//! round trip excludes the time this process took to wake up; send times are taken on the same
//! clock (CLOCK_REALTIME) right before `sendto`.

use super::packet::Family;
use std::io;
use std::mem::{size_of, zeroed, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `SO_TIMESTAMPNS` (= `SCM_TIMESTAMPNS`) in the asm-generic numbering used by x86_64 and
/// aarch64; the libc crate does not export it for glibc targets.
const SO_TIMESTAMPNS: libc::c_int = 35;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `SOCK_DGRAM` + `IPPROTO_ICMP(V6)`: needs only a group inside `ping_group_range`.
    Datagram,
    /// `SOCK_RAW`: needs CAP_NET_RAW.
    Raw,
}

impl Kind {
    pub fn describe(self, family: Family) -> &'static str {
        match (self, family) {
            (Kind::Datagram, Family::V4) => "datagram ICMP socket (SOCK_DGRAM, IPPROTO_ICMP)",
            (Kind::Datagram, Family::V6) => "datagram ICMPv6 socket (SOCK_DGRAM, IPPROTO_ICMPV6)",
            (Kind::Raw, Family::V4) => "raw ICMP socket (SOCK_RAW, IPPROTO_ICMP)",
            (Kind::Raw, Family::V6) => "raw ICMPv6 socket (SOCK_RAW, IPPROTO_ICMPV6)",
        }
    }
}

#[derive(Debug)]
pub struct IcmpSocket {
    fd: OwnedFd,
    pub family: Family,
    pub kind: Kind,
}

/// An error the kernel queued for the socket (`IP_RECVERR`): an ICMP error about one of our
/// requests, or a local one such as "message too long".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedError {
    pub errno: i32,
    /// `SO_EE_ORIGIN_*`: 1 local, 2 ICMP, 3 ICMPv6.
    pub origin: u8,
    pub icmp_type: u8,
    pub code: u8,
    pub info: u32,
    /// Who sent the ICMP error.
    pub offender: Option<IpAddr>,
}

/// One message read from the socket.
#[derive(Debug, Clone, Copy)]
pub struct Incoming {
    pub len: usize,
    pub from: Option<IpAddr>,
    /// From `IP_RECVTTL` / `IPV6_RECVHOPLIMIT`.
    pub ttl: Option<u8>,
    /// Kernel receive time, CLOCK_REALTIME nanoseconds.
    pub stamp_ns: Option<i128>,
    /// Set when read from the error queue.
    pub error: Option<QueuedError>,
}

/// What `wait` saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    pub readable: bool,
    pub error: bool,
    /// A signal arrived (SIGINT): the caller checks its flag.
    pub interrupted: bool,
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// CLOCK_REALTIME in nanoseconds: the clock of kernel socket timestamps.
pub fn realtime_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

impl IcmpSocket {
    /// Opens and configures one socket; the error is the kernel's answer to `socket(2)` (EACCES
    /// for a group outside `ping_group_range`, EPERM for raw without NET_RAW).
    pub fn open(family: Family, kind: Kind) -> io::Result<IcmpSocket> {
        let (domain, proto) = match family {
            Family::V4 => (libc::AF_INET, libc::IPPROTO_ICMP),
            Family::V6 => (libc::AF_INET6, libc::IPPROTO_ICMPV6),
        };
        let ty = match kind {
            Kind::Datagram => libc::SOCK_DGRAM,
            Kind::Raw => libc::SOCK_RAW,
        } | libc::SOCK_CLOEXEC;
        // SAFETY: plain syscall; the returned descriptor is owned right away.
        let fd = cvt(unsafe { libc::socket(domain, ty, proto) })?;
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let s = IcmpSocket { fd, family, kind };
        s.setopt(libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)?;
        match family {
            Family::V4 => {
                s.setopt(libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
                // Raw sockets receive ICMP errors as ordinary packets; queuing them as well
                // would count each twice.
                if kind == Kind::Datagram {
                    s.setopt(libc::IPPROTO_IP, libc::IP_RECVERR, 1)?;
                }
            }
            Family::V6 => {
                s.setopt(libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
                if kind == Kind::Datagram {
                    s.setopt(libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)?;
                }
            }
        }
        if kind == Kind::Raw {
            s.filter_icmp_types()?;
        }
        Ok(s)
    }

    /// A raw socket sees every ICMP message, on loopback even our own requests; the kernel's
    /// type filter (as iputils sets it) keeps only echo replies and the errors we report, which
    /// halves the reads per echo on loopback.
    fn filter_icmp_types(&self) -> io::Result<()> {
        const SOL_RAW: libc::c_int = 255;
        const ICMP_FILTER: libc::c_int = 1;
        const ICMP6_FILTER: libc::c_int = 1;
        match self.family {
            Family::V4 => {
                // A set bit blocks that type: pass echo reply (0), unreachable (3), source
                // quench (4), redirect (5), time exceeded (11), parameter problem (12).
                let pass: u32 = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 11) | (1 << 12);
                let mask: u32 = !pass;
                // SAFETY: the option value is a live u32 of the size passed.
                cvt(unsafe {
                    libc::setsockopt(
                        self.fd.as_raw_fd(),
                        SOL_RAW,
                        ICMP_FILTER,
                        (&mask as *const u32).cast(),
                        size_of::<u32>() as libc::socklen_t,
                    )
                })
                .map(drop)
            }
            Family::V6 => {
                // struct icmp6_filter: 256 bits, a set bit blocks. Pass 1..=4 and 129.
                let mut filt = [u32::MAX; 8];
                for t in [1u32, 2, 3, 4, 129] {
                    filt[(t >> 5) as usize] &= !(1 << (t & 31));
                }
                // SAFETY: the option value is a live [u32; 8] of the size passed.
                cvt(unsafe {
                    libc::setsockopt(
                        self.fd.as_raw_fd(),
                        libc::IPPROTO_ICMPV6,
                        ICMP6_FILTER,
                        filt.as_ptr().cast(),
                        size_of::<[u32; 8]>() as libc::socklen_t,
                    )
                })
                .map(drop)
            }
        }
    }

    fn setopt(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: the option value is a live c_int of the size passed.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&value as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// `-t`: IPv4 TTL or IPv6 unicast hop limit.
    pub fn set_ttl(&self, ttl: u8) -> io::Result<()> {
        match self.family {
            Family::V4 => self.setopt(libc::IPPROTO_IP, libc::IP_TTL, ttl.into()),
            Family::V6 => self.setopt(libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ttl.into()),
        }
    }

    pub fn send_to(&self, packet: &[u8], dst: IpAddr) -> io::Result<()> {
        let (storage, len) = sockaddr_of(dst);
        // SAFETY: `packet` and `storage` outlive the call; `len` is the size of the address
        // written into `storage`.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&storage as *const libc::sockaddr_storage).cast(),
                len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` for a reply or a queued error. A signal ends the wait early.
    pub fn wait(&self, timeout: Duration) -> io::Result<Ready> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one valid pollfd, a valid timespec, no signal mask change.
        let r = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(Ready {
                    readable: false,
                    error: false,
                    interrupted: true,
                });
            }
            return Err(e);
        }
        Ok(Ready {
            readable: pfd.revents & libc::POLLIN != 0,
            error: pfd.revents & libc::POLLERR != 0,
            interrupted: false,
        })
    }

    /// Reads one message without blocking; `Ok(None)` when nothing is waiting. With
    /// `error_queue`, reads the socket's error queue instead: the payload is then our own
    /// request as sent, and `error` says what happened to it.
    pub fn recv(&self, buf: &mut [u8], error_queue: bool) -> io::Result<Option<Incoming>> {
        // SAFETY: all-zero is a valid sockaddr_storage and msghdr.
        let mut name: libc::sockaddr_storage = unsafe { zeroed() };
        // u64 backing keeps the control buffer aligned for cmsghdr.
        let mut control = [0u64; 64];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: see above.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 64]>();
        let flags = libc::MSG_DONTWAIT | if error_queue { libc::MSG_ERRQUEUE } else { 0 };
        // SAFETY: every pointer in `msg` refers to a live buffer of the length given.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, flags) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let mut inc = Incoming {
            len: (n as usize).min(buf.len()),
            from: ip_of(&name, msg.msg_namelen as usize),
            ttl: None,
            stamp_ns: None,
            error: None,
        };
        // SAFETY: the kernel filled `control` up to `msg_controllen`; CMSG_* walk within it
        // and every data read below checks the header's length first.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let h = &*c;
                let data = libc::CMSG_DATA(c);
                let avail = h.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
                let int = || -> Option<i32> {
                    (avail >= size_of::<i32>()).then(|| data.cast::<i32>().read_unaligned())
                };
                match (h.cmsg_level, h.cmsg_type) {
                    (libc::SOL_SOCKET, SO_TIMESTAMPNS) if avail >= size_of::<libc::timespec>() => {
                        let ts = data.cast::<libc::timespec>().read_unaligned();
                        inc.stamp_ns =
                            Some(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec));
                    }
                    (libc::IPPROTO_IP, libc::IP_TTL)
                    | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                        inc.ttl = int().and_then(|t| u8::try_from(t).ok());
                    }
                    (libc::IPPROTO_IP, libc::IP_RECVERR)
                    | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
                        if avail >= size_of::<libc::sock_extended_err>() =>
                    {
                        let ee = data.cast::<libc::sock_extended_err>().read_unaligned();
                        // SO_EE_OFFENDER: the sockaddr right after the struct.
                        let rest = avail - size_of::<libc::sock_extended_err>();
                        let off = data.add(size_of::<libc::sock_extended_err>());
                        let mut st: libc::sockaddr_storage = zeroed();
                        let k = rest.min(size_of::<libc::sockaddr_storage>());
                        std::ptr::copy_nonoverlapping(
                            off,
                            (&mut st as *mut libc::sockaddr_storage).cast::<u8>(),
                            k,
                        );
                        inc.error = Some(QueuedError {
                            errno: ee.ee_errno as i32,
                            origin: ee.ee_origin,
                            icmp_type: ee.ee_type,
                            code: ee.ee_code,
                            info: ee.ee_info,
                            offender: ip_of(&st, k),
                        });
                    }
                    _ => {}
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(Some(inc))
    }
}

fn sockaddr_of(addr: IpAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut st: libc::sockaddr_storage = unsafe { zeroed() };
    match addr {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe {
                (&mut st as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in>()
                    .write(sin)
            };
            (st, size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        IpAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                (&mut st as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(sin6)
            };
            (st, size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }
}

fn ip_of(st: &libc::sockaddr_storage, len: usize) -> Option<IpAddr> {
    let p = (st as *const libc::sockaddr_storage).cast::<u8>();
    match i32::from(st.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: family and length say a sockaddr_in is there; read_unaligned copes with
            // any alignment.
            let sin = unsafe { p.cast::<libc::sockaddr_in>().read_unaligned() };
            Some(IpAddr::V4(Ipv4Addr::from(
                sin.sin_addr.s_addr.to_ne_bytes(),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { p.cast::<libc::sockaddr_in6>().read_unaligned() };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// A random 64-bit value from the kernel, for payload nonces and raw-socket identifiers.
pub fn random_u64() -> u64 {
    let mut v = MaybeUninit::<u64>::uninit();
    // SAFETY: the buffer is 8 writable bytes; on a short read we fall back below.
    let n = unsafe { libc::getrandom(v.as_mut_ptr().cast(), 8, libc::GRND_NONBLOCK) };
    if n == 8 {
        // SAFETY: getrandom filled all 8 bytes.
        unsafe { v.assume_init() }
    } else {
        // Old kernels without getrandom: time and pid are unique enough to tell runs apart.
        (realtime_ns() as u64) ^ (u64::from(std::process::id()) << 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trips() {
        for a in ["127.0.0.1", "10.1.2.3", "::1", "fd00::1:2"] {
            let ip: IpAddr = a.parse().unwrap();
            let (st, len) = sockaddr_of(ip);
            assert_eq!(ip_of(&st, len as usize), Some(ip));
        }
        let (st, _) = sockaddr_of("127.0.0.1".parse().unwrap());
        assert_eq!(ip_of(&st, 4), None, "a truncated address is not read");
    }
}
