//! The scheduler's queue of due times: a wheel of 1 ms slots.
//!
//! Every run takes the next due check and puts it back one interval later. A binary heap does
//! that in O(log n) steps, each a likely cache miss once 10⁵ checks no longer fit in the cache;
//! the wheel appends to the slot of the due millisecond and takes slots in order, touching
//! memory one slot at a time. Due times further away than one turn of the wheel wait in a heap
//! and move onto the wheel as it turns.
//!
//! An entry on the wheel is 8 bytes: the check's index and its due time within the slot's
//! millisecond (the slot gives the millisecond), so 100,000 checks take under 1 MiB of entries.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Nanoseconds per slot.
const SLOT_NS: u64 = 1_000_000;

/// Entries an emptied slot vector may keep room for.
const KEEP_CAPACITY: usize = 64;

/// Emptied slot vectors kept for reuse.
const SPARE_VECTORS: usize = 64;

/// An entry on the wheel: nanoseconds into its slot's millisecond, and the check's index.
type Entry = (u32, u32);

/// Due times (nanoseconds since the scheduler started) of check indexes, taken in slot order.
pub(crate) struct Wheel {
    /// `slots[ms & mask]`: the entries due in that millisecond of the current turn.
    slots: Vec<Vec<Entry>>,
    mask: u64,
    /// The millisecond of the slot taken next; no entry on the wheel is due before it.
    cursor: u64,
    /// Entries on the wheel.
    on_wheel: usize,
    /// Entries due a turn or more after the cursor.
    far: BinaryHeap<Reverse<(u64, u32)>>,
    /// Emptied slot vectors, lent to the next empty slot pushed to: only slots holding entries
    /// hold memory (a turn has up to 65,536 slots; a check visits each in turn).
    spare: Vec<Vec<Entry>>,
}

/// The entries of one slot, taken with [`Wheel::take_slot`].
pub(crate) struct Slot {
    /// The slot's millisecond, in nanoseconds.
    base: u64,
    entries: Vec<Entry>,
}

impl Slot {
    /// Each entry's due time (nanoseconds since the scheduler started) and check index, in no
    /// particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.entries
            .iter()
            .map(|&(sub, idx)| (self.base + u64::from(sub), idx))
    }
}

impl Wheel {
    /// A wheel whose turn covers `span_ms` milliseconds (rounded up to a power of two, at least
    /// 1,024 and at most 65,536): the longest common interval, so most entries never wait in
    /// the heap.
    pub(crate) fn new(span_ms: u64) -> Wheel {
        let slots = span_ms.clamp(1024, 65_536).next_power_of_two();
        Wheel {
            slots: (0..slots).map(|_| Vec::new()).collect(),
            mask: slots - 1,
            cursor: 0,
            on_wheel: 0,
            far: BinaryHeap::new(),
            spare: Vec::new(),
        }
    }

    fn turn(&self) -> u64 {
        self.mask + 1
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.on_wheel == 0 && self.far.is_empty()
    }

    /// Queues check `idx`, due at `due` nanoseconds. A due time before the cursor joins the
    /// cursor's slot, due at its start (the machine stalled: the check runs at once, and its
    /// next run is set from when it starts).
    pub(crate) fn push(&mut self, due: u64, idx: u32) {
        let ms = (due / SLOT_NS).max(self.cursor);
        if ms - self.cursor >= self.turn() {
            self.far.push(Reverse((due, idx)));
        } else {
            self.put(ms, due, idx);
        }
    }

    /// Appends an entry due at `due` to the slot of millisecond `ms` (within one turn of the
    /// cursor; `due` within that millisecond, or before it).
    fn put(&mut self, ms: u64, due: u64, idx: u32) {
        let sub = due.saturating_sub(ms * SLOT_NS).min(SLOT_NS - 1) as u32;
        let entry = (sub, idx);
        let slot = &mut self.slots[(ms & self.mask) as usize];
        if slot.capacity() == 0
            && let Some(v) = self.spare.pop()
        {
            *slot = v;
        }
        slot.push(entry);
        self.on_wheel += 1;
    }

    /// Moves the cursor to the next slot holding entries (pulling entries from the heap as the
    /// wheel turns) and returns that slot's millisecond, or `None` when nothing is queued.
    pub(crate) fn next_slot(&mut self) -> Option<u64> {
        loop {
            if self.on_wheel == 0 {
                // Jump straight to the earliest far entry instead of turning an empty wheel.
                let Reverse((due, _)) = *self.far.peek()?;
                self.cursor = self.cursor.max(due / SLOT_NS);
                self.pull_far();
            }
            if !self.slots[(self.cursor & self.mask) as usize].is_empty() {
                return Some(self.cursor);
            }
            self.cursor += 1;
            self.pull_far();
        }
    }

    /// Takes the entries of the cursor's slot (call [`Wheel::next_slot`] first), in no
    /// particular order. Hand the vector back with [`Wheel::give_back`] to keep its capacity.
    pub(crate) fn take_slot(&mut self) -> Slot {
        let entries = std::mem::take(&mut self.slots[(self.cursor & self.mask) as usize]);
        self.on_wheel -= entries.len();
        Slot {
            base: self.cursor * SLOT_NS,
            entries,
        }
    }

    /// Returns an emptied vector from [`Wheel::take_slot`] for the next empty slot pushed to,
    /// unless it is larger than [`KEEP_CAPACITY`] (a slot that once held a crowd, at the start
    /// or in a burst of retries, does not keep its room) or enough are spare.
    pub(crate) fn give_back(&mut self, slot: Slot) {
        let mut slot = slot.entries;
        slot.clear();
        if slot.capacity() <= KEEP_CAPACITY && self.spare.len() < SPARE_VECTORS {
            self.spare.push(slot);
        }
    }

    /// Moves the far entries that now fall within one turn of the cursor onto the wheel.
    fn pull_far(&mut self) {
        while let Some(&Reverse((due, idx))) = self.far.peek() {
            let ms = (due / SLOT_NS).max(self.cursor);
            if ms - self.cursor >= self.turn() {
                break;
            }
            self.far.pop();
            self.put(ms, due, idx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains the wheel, re-queueing nothing: the (slot, entry) order.
    fn drain(w: &mut Wheel) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while w.next_slot().is_some() {
            let slot = w.take_slot();
            let mut entries: Vec<_> = slot.iter().collect();
            entries.sort();
            out.extend(entries);
            w.give_back(slot);
        }
        out
    }

    #[test]
    fn only_slots_holding_entries_hold_memory() {
        // 2,000 checks every 5 s on a 65 s wheel (a longer check elsewhere), for three turns.
        let mut w = Wheel::new(65_000);
        let interval = 5_000 * SLOT_NS;
        for i in 0..2_000u32 {
            w.push(u64::from(i) * 2_500_000, i);
        }
        let mut rounds = 0;
        while let Some(ms) = w.next_slot() {
            if ms > 200_000 {
                break;
            }
            let slot = w.take_slot();
            for (due, idx) in slot.iter() {
                w.push(due + interval, idx);
            }
            w.give_back(slot);
            rounds += 1;
        }
        assert!(rounds > 10_000);
        let held: usize = w
            .slots
            .iter()
            .filter(|s| s.is_empty())
            .map(Vec::capacity)
            .sum();
        assert_eq!(held, 0, "empty slots keep no room");
        let live: usize = w.slots.iter().map(Vec::capacity).sum();
        assert!(
            live <= 2 * 2_000 + 4 * 2_000,
            "{live} entries of room for 2,000"
        );
        assert!(w.spare.len() <= SPARE_VECTORS);
        // A crowded slot's vector is not kept.
        let mut crowd = Wheel::new(1_000);
        for i in 0..1_000 {
            crowd.push(0, i);
        }
        crowd.next_slot();
        let slot = crowd.take_slot();
        crowd.give_back(slot);
        assert!(crowd.spare.is_empty());
    }

    #[test]
    fn entries_come_out_in_due_order_by_millisecond() {
        let mut w = Wheel::new(5_000);
        assert!(w.is_empty() && w.next_slot().is_none());
        // Near, far (several turns ahead), and within the same millisecond.
        let dues = [
            (3_000_000_000, 1),
            (1_500_000, 2),
            (1_200_000, 3),
            (86_400_000_000_000, 4),
            (20_000_000_000, 5),
            (0, 6),
        ];
        for (due, idx) in dues {
            w.push(due, idx);
        }
        let got: Vec<u32> = drain(&mut w).into_iter().map(|(_, i)| i).collect();
        assert_eq!(got, vec![6, 3, 2, 1, 5, 4]);
        assert!(w.is_empty());
    }

    #[test]
    fn a_due_time_in_the_past_joins_the_current_slot() {
        let mut w = Wheel::new(1_000);
        w.push(10_000_000_000, 1);
        assert_eq!(w.next_slot(), Some(10_000));
        let slot = w.take_slot();
        // Re-queued behind the cursor (a stalled machine): taken at once, not a turn later,
        // due at the start of the cursor's millisecond.
        w.push(9_000_000_000, 2);
        w.give_back(slot);
        assert_eq!(w.next_slot(), Some(10_000));
        assert_eq!(
            w.take_slot().iter().collect::<Vec<_>>(),
            vec![(10_000_000_000, 2)]
        );
    }

    #[test]
    fn matches_a_heap_over_a_long_simulated_run() {
        // 500 checks with intervals from 1 s to 2 h, each re-queued one interval after its due
        // time, against a binary heap doing the same.
        let intervals: Vec<u64> = (0..500u64)
            .map(|i| [1_000, 5_000, 60_000, 300_000, 7_200_000][i as usize % 5] * SLOT_NS)
            .collect();
        let mut w = Wheel::new(60_000);
        let mut heap = BinaryHeap::new();
        for (i, iv) in intervals.iter().enumerate() {
            let due = (i as u64 * 7_919 * SLOT_NS) % iv;
            w.push(due, i as u32);
            heap.push(Reverse((due / SLOT_NS, due, i as u32)));
        }
        let mut runs = 0;
        while runs < 200_000 {
            let ms = w.next_slot().unwrap();
            let slot = w.take_slot();
            let mut entries: Vec<_> = slot.iter().collect();
            entries.sort();
            for (due, idx) in entries {
                let Reverse((hms, hdue, hidx)) = heap.pop().unwrap();
                assert_eq!((ms, due / SLOT_NS, due, idx), (hms, hms, hdue, hidx));
                let next = due + intervals[idx as usize];
                w.push(next, idx);
                heap.push(Reverse((next / SLOT_NS, next, idx)));
                runs += 1;
            }
            w.give_back(slot);
        }
    }
}
