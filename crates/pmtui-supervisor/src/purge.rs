//! When a collection of weak references forgets its dead ones: once it has doubled since
//! the last purge. Adding N entries then costs O(N) in all (a purge at every insertion made
//! starting 1,000 processes quadratic), and at most twice the live entries are held.

/// The size at which the next purge is due.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PurgeAt(usize);

impl PurgeAt {
    /// Below this many entries nothing is purged.
    pub(crate) const AT_LEAST: usize = 64;

    /// Runs `purge` if a collection of `len` entries is due, then returns nothing; `purge`
    /// returns how many entries are left.
    pub(crate) fn check(&mut self, len: usize, purge: impl FnOnce() -> usize) {
        if len >= self.0 {
            let left = purge();
            self.0 = (left * 2).max(Self::AT_LEAST);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PurgeAt;

    #[test]
    fn purges_when_doubled_and_never_below_the_floor() {
        let mut at = PurgeAt::default();
        let mut purges = 0;
        // The first check is always due (nothing is known yet).
        at.check(0, || {
            purges += 1;
            0
        });
        assert_eq!(purges, 1);
        at.check(PurgeAt::AT_LEAST - 1, || {
            purges += 1;
            0
        });
        assert_eq!(purges, 1, "below the floor");
        at.check(PurgeAt::AT_LEAST, || {
            purges += 1;
            100
        });
        assert_eq!(purges, 2);
        at.check(199, || {
            purges += 1;
            0
        });
        assert_eq!(purges, 2, "not yet doubled from 100");
        at.check(200, || {
            purges += 1;
            0
        });
        assert_eq!(purges, 3);
    }
}
