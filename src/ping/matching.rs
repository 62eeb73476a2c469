//! Pairing replies with the requests that caused them.
//!
//! A reply is ours only if its sequence number is one we sent and its payload is byte for byte
//! the payload we sent with that number: raw sockets see every echo reply on the host, and a
//! datagram socket's identifier can be reused by a later socket. A second reply to the same
//! number is a duplicate, reported as iputils reports it with `(DUP!)`.

use super::packet::payload;
use std::collections::HashMap;

/// What a received reply means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// First reply to this sequence number; round trip in microseconds.
    First { rtt_us: i64 },
    /// Another reply to an already answered number.
    Duplicate { rtt_us: i64 },
    /// Not an answer to anything this run sent.
    Foreign,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    at_ns: i128,
    answered: bool,
}

/// Outstanding and answered requests of one run, by sequence number. Sequence numbers wrap at
/// 65536 like iputils'; a wrapped number replaces its older namesake.
#[derive(Debug)]
pub struct Tracker {
    nonce: u64,
    size: usize,
    sent: HashMap<u16, Sent>,
    unanswered: usize,
}

impl Tracker {
    pub fn new(nonce: u64, size: usize) -> Tracker {
        Tracker {
            nonce,
            size,
            sent: HashMap::new(),
            unanswered: 0,
        }
    }

    /// The payload to send with `seq`.
    pub fn payload(&self, seq: u16) -> Vec<u8> {
        payload(self.nonce, seq, self.size)
    }

    /// Records a request that left at `at_ns` (CLOCK_REALTIME nanoseconds, the clock kernel
    /// receive timestamps use).
    pub fn sent(&mut self, seq: u16, at_ns: i128) {
        let old = self.sent.insert(
            seq,
            Sent {
                at_ns,
                answered: false,
            },
        );
        if old.is_none_or(|o| o.answered) {
            self.unanswered += 1;
        }
    }

    /// True if `seq` was sent by this run (ICMP errors only quote 8 bytes of the request, so
    /// the payload cannot be checked for them).
    pub fn was_sent(&self, seq: u16) -> bool {
        self.sent.contains_key(&seq)
    }

    /// Classifies a reply received at `at_ns`.
    pub fn reply(&mut self, seq: u16, data: &[u8], at_ns: i128) -> Match {
        let Some(s) = self.sent.get_mut(&seq) else {
            return Match::Foreign;
        };
        if data != payload(self.nonce, seq, self.size).as_slice() {
            return Match::Foreign;
        }
        // iputils works on microsecond timestamps (gettimeofday, SO_TIMESTAMP): truncating each
        // end before subtracting, rather than the difference, keeps the mean unbiased and the
        // two tools' numbers comparable. A clock stepped backwards gives a negative time;
        // iputils clamps to zero as well.
        let rtt_us = (at_ns.div_euclid(1000) - s.at_ns.div_euclid(1000))
            .clamp(0, i128::from(i64::MAX)) as i64;
        if s.answered {
            Match::Duplicate { rtt_us }
        } else {
            s.answered = true;
            self.unanswered = self.unanswered.saturating_sub(1);
            Match::First { rtt_us }
        }
    }

    /// Requests still waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.unanswered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_then_duplicate() {
        let mut t = Tracker::new(99, 56);
        t.sent(1, 1_000_000);
        let p = t.payload(1);
        assert_eq!(t.reply(1, &p, 1_250_999), Match::First { rtt_us: 250 });
        // Each end truncated to microseconds: 1_999 ns → 1 µs, 3_000 ns → 3 µs.
        t.sent(2, 1_999);
        assert_eq!(t.reply(2, &t.payload(2), 3_000), Match::First { rtt_us: 2 });
        assert_eq!(t.reply(1, &p, 1_300_000), Match::Duplicate { rtt_us: 300 });
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn unknown_sequence_or_other_payload_is_foreign() {
        let mut t = Tracker::new(99, 56);
        t.sent(1, 0);
        assert_eq!(t.reply(2, &t.payload(2), 10), Match::Foreign);
        // Same sequence, another run's nonce: someone else's ping on a raw socket.
        let other = Tracker::new(100, 56).payload(1);
        assert_eq!(t.reply(1, &other, 10), Match::Foreign);
        // Truncated payload.
        assert_eq!(t.reply(1, &t.payload(1)[..10], 10), Match::Foreign);
        assert_eq!(t.in_flight(), 1);
        assert!(t.was_sent(1) && !t.was_sent(2));
    }

    #[test]
    fn backwards_clock_clamps_to_zero() {
        let mut t = Tracker::new(1, 8);
        t.sent(3, 5_000);
        assert_eq!(t.reply(3, &t.payload(3), 1_000), Match::First { rtt_us: 0 });
    }

    #[test]
    fn empty_payload_matches_by_sequence() {
        let mut t = Tracker::new(1, 0);
        t.sent(4, 0);
        assert_eq!(t.reply(4, &[], 2_000), Match::First { rtt_us: 2 });
    }
}
