//! The number ranges a load test may dial: E.164 prefixes its campaign declares. A load test
//! lifts the rules of law because its calls reach test equipment, not people; the ranges are
//! what makes that true, so every number outside them is undialable.

use std::fmt;

/// Shortest prefix, in digits: `+1555` or `+4477009`. A country code alone (`+1`, `+44`)
/// would make a whole country "test equipment".
pub const MIN_PREFIX_DIGITS: usize = 4;
/// Longest prefix, in digits (a whole E.164 number).
pub const MAX_PREFIX_DIGITS: usize = 15;
/// Most ranges one campaign declares.
pub const MAX_RANGES: usize = 1_000;

/// A load test's declared number prefixes, each `+` and 4 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRanges(Vec<String>);

/// Why a declared range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    #[error("must be + and {MIN_PREFIX_DIGITS} to {MAX_PREFIX_DIGITS} digits, the first not 0 (an E.164 prefix such as +1555)")]
    Malformed,
}

impl TestRanges {
    /// Checks each prefix; `Err` lists the index and the problem of each bad one. An empty
    /// list is valid here (the campaign check refuses a load test without ranges).
    pub fn parse<S: AsRef<str>>(prefixes: &[S]) -> Result<Self, Vec<(usize, RangeError)>> {
        let mut bad = Vec::new();
        for (i, p) in prefixes.iter().enumerate() {
            if let Err(e) = check_prefix(p.as_ref()) {
                bad.push((i, e));
            }
        }
        if bad.is_empty() {
            Ok(Self(
                prefixes
                    .iter()
                    .map(|p| p.as_ref().trim().to_owned())
                    .collect(),
            ))
        } else {
            Err(bad)
        }
    }

    /// Whether an E.164 number falls in one of the ranges.
    pub fn contains(&self, number_e164: &str) -> bool {
        self.0.iter().any(|p| number_e164.starts_with(p.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn prefixes(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for TestRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

fn check_prefix(text: &str) -> Result<(), RangeError> {
    let digits = text.trim().strip_prefix('+').ok_or(RangeError::Malformed)?;
    let ok = (MIN_PREFIX_DIGITS..=MAX_PREFIX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then_some(()).ok_or(RangeError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_numbers() {
        let r = TestRanges::parse(&["+1555", " +4477009 "]).unwrap();
        assert!(r.contains("+15551234567"));
        assert!(r.contains("+447700900123"));
        assert!(!r.contains("+12125550100"));
        assert!(!r.contains("+4477"), "shorter than the prefix");
        assert_eq!(r.to_string(), "+1555, +4477009");
        assert!(TestRanges::parse::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn malformed_prefixes_are_listed_by_index() {
        let err = TestRanges::parse(&[
            "+1555",
            "+1",
            "1555",
            "+0555",
            "+15x5",
            "+1234567890123456",
            "",
        ])
        .unwrap_err();
        let idx: Vec<usize> = err.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, [1, 2, 3, 4, 5, 6]);
    }
}
