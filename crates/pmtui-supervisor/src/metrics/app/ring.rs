//! The history ring of one application series: 8 bytes a point (a time offset and the
//! value as `f32`), oldest first; values go back to the wire at their shortest decimal
//! form, so `0.1` is not sent as `0.10000000149`.

use std::collections::VecDeque;

#[derive(Default)]
pub(super) struct Ring {
    /// Milliseconds since the epoch that offsets count from.
    base: u64,
    points: VecDeque<(u32, f32)>,
}

impl Ring {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn push(&mut self, at: u64, value: f64, capacity: usize) {
        if self.points.is_empty() {
            self.base = at;
        }
        // Offsets are u32 ms (49 days): past half of that, points older than half are
        // dropped and the base moves to the oldest kept one (a rare path: long stops).
        let limit = u64::from(u32::MAX / 2);
        if at.saturating_sub(self.base) > limit {
            let kept: Vec<(u64, f32)> = self
                .points
                .iter()
                .map(|&(offset, v)| (self.base + u64::from(offset), v))
                .filter(|&(t, _)| at.saturating_sub(t) <= limit)
                .collect();
            self.base = kept.first().map_or(at, |p| p.0);
            self.points = kept
                .into_iter()
                .map(|(t, v)| ((t - self.base) as u32, v))
                .collect();
        }
        self.points
            .push_back((at.saturating_sub(self.base) as u32, value as f32));
        while self.points.len() > capacity {
            self.points.pop_front();
        }
    }

    /// Times (ms since the epoch) and values.
    pub fn to_wire(&self) -> (Vec<u64>, Vec<f64>) {
        self.points
            .iter()
            .map(|&(offset, v)| (self.base + u64::from(offset), shortest(v)))
            .unzip()
    }
}

/// An `f32` as the `f64` its shortest decimal form names.
fn shortest(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_survives_long_gaps() {
        let mut r = Ring::default();
        for i in 0..5u64 {
            r.push(1_000 + i * 1000, i as f64 + 0.1, 3);
        }
        assert_eq!(
            r.to_wire(),
            (vec![3_000, 4_000, 5_000], vec![2.1, 3.1, 4.1])
        );
        let days30 = 30 * 24 * 3600 * 1000u64;
        r.push(5_000 + days30, 9.0, 3);
        let (at, values) = r.to_wire();
        assert_eq!(at.last(), Some(&(5_000 + days30)));
        assert_eq!(values.last(), Some(&9.0));
        r.push(5_000 + 3 * days30, 1.0, 3);
        assert_eq!(r.to_wire().0, [5_000 + 3 * days30]);
    }
}
