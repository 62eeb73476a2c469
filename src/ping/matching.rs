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
    /// Newest sequence number sent, and newest answered: iputils' `acked`.
    last_sent: u16,
    acked: Option<u16>,
}

impl Tracker {
    pub fn new(nonce: u64, size: usize) -> Tracker {
        Tracker {
            nonce,
            size,
            sent: HashMap::new(),
            last_sent: 0,
            acked: None,
        }
    }

    /// The payload to send with `seq`.
    pub fn payload(&self, seq: u16) -> Vec<u8> {
        payload(self.nonce, seq, self.size)
    }

    /// Records a request that left at `at_ns` (CLOCK_REALTIME nanoseconds, the clock kernel
    /// receive timestamps use).
    pub fn sent(&mut self, seq: u16, at_ns: i128) {
        self.sent.insert(
            seq,
            Sent {
                at_ns,
                answered: false,
            },
        );
        self.last_sent = seq;
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
            // Newer in sequence-number arithmetic (within half the circle).
            if self.acked.is_none_or(|a| seq.wrapping_sub(a) as i16 > 0) {
                self.acked = Some(seq);
            }
            Match::First { rtt_us }
        }
    }

    /// Requests sent after the newest answered one, as iputils' `in_flight()` counts them: a
    /// request lost long ago does not hold back `-i 0` for the rest of the run.
    pub fn in_flight(&self) -> usize {
        // Sequence numbers start at 1, so "nothing answered yet" counts from 0.
        usize::from(self.last_sent.wrapping_sub(self.acked.unwrap_or(0)))
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
    fn in_flight_counts_since_newest_answer() {
        let mut t = Tracker::new(5, 8);
        assert_eq!(t.in_flight(), 0);
        for seq in 1..=3 {
            t.sent(seq, 0);
        }
        assert_eq!(t.in_flight(), 3);
        // 1 is lost; the answer to 2 still leaves only 3 in flight.
        t.reply(2, &t.payload(2), 10);
        assert_eq!(t.in_flight(), 1);
        // A late answer to 1 does not move the mark backwards.
        t.reply(1, &t.payload(1), 20);
        assert_eq!(t.in_flight(), 1);
        t.reply(3, &t.payload(3), 30);
        assert_eq!(t.in_flight(), 0);
        // Across the wrap of sequence numbers.
        let mut w = Tracker::new(5, 8);
        w.sent(65535, 0);
        w.reply(65535, &w.payload(65535), 1);
        w.sent(0, 2);
        w.sent(1, 3);
        assert_eq!(w.in_flight(), 2);
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
