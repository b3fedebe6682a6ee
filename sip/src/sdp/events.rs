//! The telephone-event codes an `a=fmtp` line lists (RFC 4733 §2.4.1), as far as DTMF goes.

use super::digits;

/// Telephone-events we send and understand: the sixteen DTMF keys.
pub const DTMF_EVENTS: EventSet = EventSet(0xFFFF);

/// A set of telephone-event codes 0-15, as an `a=fmtp` line lists them (higher codes, which
/// are tones and line events, are dropped on reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSet(pub u16);

impl EventSet {
    /// Reads `0-15`, `0-11,12`, `1,3-5`, ...: codes 0-255, ranges low to high.
    pub fn parse(list: &str) -> Option<EventSet> {
        let mut set = 0u16;
        for item in list.split(',') {
            let (lo, hi) = item.split_once('-').unwrap_or((item, item));
            let (lo, hi) = (digits::<u8>(lo)?, digits::<u8>(hi)?);
            if lo > hi {
                return None;
            }
            for code in lo..=hi.min(15) {
                set |= 1 << code;
            }
        }
        Some(EventSet(set))
    }

    pub fn intersect(self, other: EventSet) -> EventSet {
        EventSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Writes the set as ranges: `0-15`, `0-9,12`.
impl std::fmt::Display for EventSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        let mut code = 0u8;
        while code < 16 {
            if self.0 & (1 << code) == 0 {
                code += 1;
                continue;
            }
            let start = code;
            while code < 15 && self.0 & (1 << (code + 1)) != 0 {
                code += 1;
            }
            let sep = if first { "" } else { "," };
            first = false;
            if start == code {
                write!(f, "{sep}{start}")?;
            } else {
                write!(f, "{sep}{start}-{code}")?;
            }
            code += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_sets_read_and_print_as_ranges() {
        assert_eq!(EventSet::parse("0-15"), Some(DTMF_EVENTS));
        assert_eq!(EventSet::parse("0-16,32"), Some(DTMF_EVENTS));
        assert_eq!(EventSet::parse("0-9,11,12-13"), Some(EventSet(0x3BFF)));
        assert_eq!(EventSet(0x3BFF).to_string(), "0-9,11-13");
        assert_eq!(EventSet(1 << 15 | 1).to_string(), "0,15");
        assert_eq!(EventSet::parse("16"), Some(EventSet(0)));
        for bad in ["", "1-", "5-3", "0-256", "a", "1,,2", " 1"] {
            assert_eq!(EventSet::parse(bad), None, "{bad:?}");
        }
    }
}
