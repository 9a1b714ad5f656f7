//! A small reorder window for received audio: packets come out in sequence order,
//! each once, after waiting at most a few packets (or a few tens of milliseconds)
//! for an earlier one that is missing. It counts what the network did.
//!
//! Sequence numbers are extended past their 16-bit wrap (RFC 3550 §A.1); a jump far
//! away or a new SSRC restarts the stream instead of waiting for the gap to fill.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// A jump this far (in packets, either way) is a restarted stream, not loss or
/// reordering (RFC 3550 §A.1 uses 3,000 ahead and 100 behind).
const MAX_DROPOUT: i64 = 3000;
const MAX_MISORDER: i64 = 100;

/// One audio payload released in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
}

/// What the reorder window has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Distinct packets accepted (duplicates and late ones excluded).
    pub received: u64,
    /// Packets released in order.
    pub released: u64,
    /// Sequence numbers given up on: never came, or came too late.
    pub lost: u64,
    /// Packets whose sequence number had already been received.
    pub duplicated: u64,
    /// Packets that arrived after a later one but in time to be put back in order.
    pub reordered: u64,
    /// Packets that arrived after their place had been given up (also in `lost`).
    pub late: u64,
    /// Times the stream restarted (new SSRC or a jump in sequence numbers).
    pub restarts: u64,
}

#[derive(Debug)]
struct Slot {
    frame: ReceivedFrame,
    arrived: Instant,
}

/// The reorder window. Push packets as they arrive, pop frames in order.
#[derive(Debug)]
pub struct JitterBuffer {
    window: usize,
    max_hold: Duration,
    ssrc: Option<u32>,
    /// Extended sequence number of the highest packet seen.
    highest: i64,
    /// Extended sequence number of the next frame to release.
    next_out: i64,
    pending: BTreeMap<i64, Slot>,
    /// Bit i: `next_out - 1 - i` was received (to tell duplicates from late packets).
    released_bits: u64,
    ready: VecDeque<ReceivedFrame>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A window of `window` packets (at least 1): a missing packet is given up when
    /// `window` later ones wait behind it, or when the oldest waiting packet has
    /// waited `max_hold`.
    pub fn new(window: usize, max_hold: Duration) -> JitterBuffer {
        JitterBuffer {
            window: window.max(1),
            max_hold,
            ssrc: None,
            highest: 0,
            next_out: 0,
            pending: BTreeMap::new(),
            released_bits: 0,
            ready: VecDeque::new(),
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Takes one received packet.
    pub fn push(&mut self, frame: ReceivedFrame, now: Instant) {
        if self.ssrc != Some(frame.ssrc) {
            self.restart(&frame);
        }
        let delta = i64::from(frame.sequence.wrapping_sub(self.highest as u16) as i16);
        let mut ext = self.highest + delta;
        // A far jump (a sender restarting its numbering) starts over at this packet.
        if !(-MAX_MISORDER..=MAX_DROPOUT).contains(&delta) {
            self.restart(&frame);
            ext = self.highest;
        }

        if ext < self.next_out {
            let back = self.next_out - 1 - ext;
            if back < 64 && self.released_bits & (1 << back) != 0 {
                self.stats.duplicated += 1;
            } else {
                self.stats.late += 1;
            }
            return;
        }
        if self.pending.contains_key(&ext) {
            self.stats.duplicated += 1;
            return;
        }
        self.stats.received += 1;
        if ext < self.highest {
            self.stats.reordered += 1;
        }
        self.highest = self.highest.max(ext);
        self.pending.insert(
            ext,
            Slot {
                frame,
                arrived: now,
            },
        );
        self.release(now);
    }

    /// The next frame in order, if one is ready.
    pub fn pop(&mut self) -> Option<ReceivedFrame> {
        self.ready.pop_front()
    }

    /// When waiting packets should be released even if nothing else arrives.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|slot| slot.arrived)
            .min()
            .map(|arrived| arrived + self.max_hold)
    }

    /// Releases what has waited long enough (call at `next_deadline`).
    pub fn tick(&mut self, now: Instant) {
        self.release(now);
    }

    /// Releases everything still waiting, giving up on the gaps (end of the call).
    pub fn flush(&mut self) {
        while let Some((&ext, _)) = self.pending.first_key_value() {
            self.give_up_until(ext);
            self.release_head();
        }
    }

    fn restart(&mut self, frame: &ReceivedFrame) {
        if self.ssrc.is_some() {
            self.flush();
            self.stats.restarts += 1;
        }
        self.ssrc = Some(frame.ssrc);
        // Extended numbers start in the middle of the i64 range: no under- or overflow.
        let base = i64::from(frame.sequence) + (1 << 40);
        self.highest = base;
        self.next_out = base;
        self.released_bits = 0;
    }

    fn release(&mut self, now: Instant) {
        loop {
            if self.pending.contains_key(&self.next_out) {
                self.release_head();
                continue;
            }
            let Some(&first) = self.pending.keys().next() else {
                return;
            };
            // The window holds a few packets: scanning it is cheaper than a second index.
            let held_too_long = self
                .pending
                .values()
                .any(|slot| now.saturating_duration_since(slot.arrived) >= self.max_hold);
            if self.pending.len() >= self.window || held_too_long {
                self.give_up_until(first);
            } else {
                return;
            }
        }
    }

    fn give_up_until(&mut self, ext: i64) {
        let missing = ext - self.next_out;
        if missing > 0 {
            self.stats.lost += missing as u64;
            self.released_bits = self.released_bits.checked_shl(missing as u32).unwrap_or(0);
            self.next_out = ext;
        }
    }

    fn release_head(&mut self) {
        if let Some(slot) = self.pending.remove(&self.next_out) {
            self.ready.push_back(slot.frame);
            self.stats.released += 1;
            self.released_bits = self.released_bits << 1 | 1;
            self.next_out += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: Duration = Duration::from_millis(60);

    fn frame(sequence: u16) -> ReceivedFrame {
        ReceivedFrame {
            ssrc: 1,
            sequence,
            timestamp: u32::from(sequence) * 160,
            marker: false,
            payload: vec![sequence as u8],
        }
    }

    fn drain(buffer: &mut JitterBuffer) -> Vec<u16> {
        std::iter::from_fn(|| buffer.pop())
            .map(|f| f.sequence)
            .collect()
    }

    #[test]
    fn in_order_packets_pass_straight_through() {
        let now = Instant::now();
        let mut buffer = JitterBuffer::new(4, HOLD);
        for seq in 65530..=65535 {
            buffer.push(frame(seq), now);
        }
        for seq in 0..4 {
            buffer.push(frame(seq), now);
        }
        assert_eq!(
            drain(&mut buffer),
            [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3]
        );
        let stats = buffer.stats();
        assert_eq!(
            (stats.received, stats.released, stats.lost, stats.reordered),
            (10, 10, 0, 0)
        );
    }

    #[test]
    fn reordered_packets_are_put_back_in_order() {
        let now = Instant::now();
        let mut buffer = JitterBuffer::new(4, HOLD);
        for seq in [65534, 0, 65535, 2, 1, 3] {
            buffer.push(frame(seq), now);
        }
        assert_eq!(drain(&mut buffer), [65534, 65535, 0, 1, 2, 3]);
        let stats = buffer.stats();
        assert_eq!((stats.reordered, stats.lost, stats.duplicated), (2, 0, 0));
    }

    #[test]
    fn duplicates_are_dropped_and_counted() {
        let now = Instant::now();
        let mut buffer = JitterBuffer::new(4, HOLD);
        for seq in [10, 11, 11, 13, 13, 10, 12] {
            buffer.push(frame(seq), now);
        }
        assert_eq!(drain(&mut buffer), [10, 11, 12, 13]);
        assert_eq!(buffer.stats().duplicated, 3);
        assert_eq!(buffer.stats().received, 4);
    }

    #[test]
    fn a_gap_is_given_up_when_the_window_fills() {
        let now = Instant::now();
        let mut buffer = JitterBuffer::new(3, HOLD);
        for seq in [1, 3, 4] {
            buffer.push(frame(seq), now);
        }
        assert_eq!(drain(&mut buffer), [1], "2 may still come");
        buffer.push(frame(5), now);
        assert_eq!(drain(&mut buffer), [3, 4, 5]);
        buffer.push(frame(2), now);
        let stats = buffer.stats();
        assert_eq!((stats.lost, stats.late, stats.duplicated), (1, 1, 0));
    }

    #[test]
    fn a_gap_is_given_up_after_the_hold_time() {
        let start = Instant::now();
        let mut buffer = JitterBuffer::new(10, HOLD);
        buffer.push(frame(1), start);
        buffer.push(frame(3), start);
        assert_eq!(drain(&mut buffer), [1]);
        assert_eq!(buffer.next_deadline(), Some(start + HOLD));
        buffer.tick(start + HOLD / 2);
        assert!(buffer.pop().is_none());
        buffer.tick(start + HOLD);
        assert_eq!(drain(&mut buffer), [3]);
        assert_eq!(buffer.next_deadline(), None);
        assert_eq!(buffer.stats().lost, 1);
    }

    #[test]
    fn a_new_ssrc_or_a_far_jump_restarts_the_stream() {
        let now = Instant::now();
        let mut buffer = JitterBuffer::new(4, HOLD);
        buffer.push(frame(100), now);
        buffer.push(frame(102), now);
        buffer.push(frame(40000), now);
        assert_eq!(drain(&mut buffer), [100, 102, 40000]);
        buffer.push(
            ReceivedFrame {
                ssrc: 2,
                ..frame(7)
            },
            now,
        );
        assert_eq!(drain(&mut buffer), [7]);
        let stats = buffer.stats();
        assert_eq!((stats.restarts, stats.lost, stats.received), (2, 1, 4));
    }

    #[test]
    fn flush_releases_everything() {
        let now = Instant::now();
        let mut buffer = JitterBuffer::new(8, HOLD);
        for seq in [5, 7, 9] {
            buffer.push(frame(seq), now);
        }
        buffer.flush();
        assert_eq!(drain(&mut buffer), [5, 7, 9]);
        assert_eq!(buffer.stats().lost, 2);
    }

    #[test]
    fn random_arrivals_keep_the_books_balanced() {
        let mut rng = fastrand::Rng::with_seed(0x5EED_0004);
        let start = Instant::now();
        let mut buffer = JitterBuffer::new(4, HOLD);
        let mut sent = Vec::new();
        for n in 0..5_000u32 {
            let seq = 65000u16.wrapping_add(n as u16);
            if rng.u8(..10) == 0 {
                continue; // lost
            }
            sent.push(seq);
            if rng.u8(..10) == 0 {
                sent.push(seq); // duplicated
            }
        }
        // Shuffle locally: swap neighbours now and then.
        for i in 1..sent.len() {
            if rng.u8(..5) == 0 {
                sent.swap(i - 1, i);
            }
        }
        let mut out = Vec::new();
        for (i, seq) in sent.iter().enumerate() {
            buffer.push(frame(*seq), start + Duration::from_millis(i as u64 * 20));
            out.extend(drain(&mut buffer));
        }
        buffer.flush();
        out.extend(drain(&mut buffer));
        let extended: Vec<i64> = {
            let mut base = 0i64;
            let mut last = out[0];
            out.iter()
                .map(|&s| {
                    base += i64::from(s.wrapping_sub(last) as i16);
                    last = s;
                    base
                })
                .collect()
        };
        assert!(
            extended.windows(2).all(|w| w[0] < w[1]),
            "strictly in order, no repeats"
        );
        let stats = buffer.stats();
        assert_eq!(stats.received, stats.released);
        assert_eq!(stats.released as usize, out.len());
        assert_eq!(
            stats.received + stats.duplicated + stats.late,
            sent.len() as u64
        );
    }
}
