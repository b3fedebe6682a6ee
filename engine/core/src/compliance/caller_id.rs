//! Whether a caller ID may be presented: an E.164 number (or a SIP URI whose user part is one),
//! never withheld, and diallable: the callee must be able to call it back.
//!
//! Sources, by title: FTC Telemarketing Sales Rule 16 CFR 310.4(a)(8) (transmit the caller's
//! number); Ofcom General Condition C6 and "Guidance on the provision of Calling Line
//! Identification facilities" (2019): a valid, dialable number that identifies the caller,
//! not a premium-rate one. The check is of the number's shape and range: whether the campaign
//! holds the number is for the carrier to verify.

use crate::campaign::CallerId;
use crate::contacts::{phone, region};

/// What is wrong with a caller ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallerIdProblem {
    #[error("it is withheld or anonymous")]
    Withheld,
    #[error("it is not an E.164 number (a SIP URI must carry one as its user part)")]
    NotE164,
    #[error("{0}")]
    NotDiallable(#[from] NotDiallable),
}

/// Why an E.164 number cannot be dialled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotDiallable {
    #[error("E.164 numbers have 8 to 15 digits, the first not 0; this has {digits}")]
    Length { digits: usize },
    #[error("North American numbers have 10 digits after +1; this has {digits}")]
    NanpLength { digits: usize },
    #[error("area code {area} is neither geographic nor toll-free")]
    NanpAreaCode { area: u16 },
    #[error("exchange {exchange} is not assignable (N11, or 950/958/959)")]
    NanpExchange { exchange: u16 },
    #[error(
        "UK numbers have 9 or 10 digits after +44 (10 or 11 with the leading 0); this has {digits}"
    )]
    UkLength { digits: usize },
    #[error("UK numbers starting 0{first} are not allocated to callers")]
    UkUnallocated { first: char },
    #[error("UK premium-rate (09) numbers may not be presented")]
    UkPremiumRate,
    #[error("UK 08979 is the network's placeholder, not a number")]
    UkPlaceholder,
}

/// Words people use for a withheld number, and RFC 3323's anonymous URI.
pub fn is_withheld(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    let user = t
        .strip_prefix("sips:")
        .or_else(|| t.strip_prefix("sip:"))
        .map(|rest| rest.split(['@', ';', '?']).next().unwrap_or(""))
        .unwrap_or(&t);
    matches!(
        user,
        "anonymous" | "withheld" | "private" | "restricted" | "unavailable" | "unknown" | "hidden"
    ) || t.contains("anonymous.invalid")
}

/// Checks a caller ID the campaign parsed.
pub fn check(caller_id: &CallerId) -> Result<(), CallerIdProblem> {
    if is_withheld(caller_id.as_str()) {
        return Err(CallerIdProblem::Withheld);
    }
    let number = match caller_id {
        CallerId::E164(n) => n.as_str(),
        CallerId::Uri(uri) => uri_number(uri).ok_or(CallerIdProblem::NotE164)?,
    };
    check_number(number).map_err(CallerIdProblem::from)
}

/// The E.164 user part of a SIP URI (`sip:+14155550123@gw;user=phone`).
fn uri_number(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':')?.1;
    let (user, _) = rest.split_once('@')?;
    let user = user.split(';').next()?;
    user.starts_with('+').then_some(user)
}

/// Checks that an E.164 number can be dialled back: North American numbers by area code and
/// exchange, UK numbers by length and range, others by E.164 length.
pub fn check_number(e164: &str) -> Result<(), NotDiallable> {
    let digits = e164.strip_prefix('+').unwrap_or("");
    if !(8..=15).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return Err(NotDiallable::Length {
            digits: digits.len(),
        });
    }
    if let Some(national) = digits.strip_prefix('1') {
        return check_nanp(national, e164);
    }
    if let Some(national) = digits.strip_prefix("44") {
        return check_uk(national);
    }
    Ok(())
}

fn check_nanp(national: &str, e164: &str) -> Result<(), NotDiallable> {
    if national.len() != 10 {
        return Err(NotDiallable::NanpLength {
            digits: national.len(),
        });
    }
    // Ten ASCII digits (checked by `check_number` and above): the slices are in bounds.
    let area: u16 = national[0..3].parse().unwrap_or(0);
    let exchange: u16 = national[3..6].parse().unwrap_or(0);
    let known_area = region::nanp_region(area).is_some() || phone::tz_for(e164).is_some();
    if !known_area {
        return Err(NotDiallable::NanpAreaCode { area });
    }
    let n11 = exchange % 100 == 11;
    if exchange < 200 || n11 || matches!(exchange, 950 | 958 | 959) {
        return Err(NotDiallable::NanpExchange { exchange });
    }
    Ok(())
}

fn check_uk(national: &str) -> Result<(), NotDiallable> {
    let first = national.chars().next().unwrap_or('0');
    let lengths: &[usize] = match first {
        '9' => return Err(NotDiallable::UkPremiumRate),
        '1' | '8' => &[9, 10],
        '2' | '3' | '5' | '7' => &[10],
        other => return Err(NotDiallable::UkUnallocated { first: other }),
    };
    if national.starts_with("8979") {
        return Err(NotDiallable::UkPlaceholder);
    }
    if !lengths.contains(&national.len()) {
        return Err(NotDiallable::UkLength {
            digits: national.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> CallerId {
        CallerId::parse(text).unwrap()
    }

    #[test]
    fn a_table_of_caller_ids() {
        use CallerIdProblem as P;
        use NotDiallable as N;
        let cases: &[(&str, Result<(), CallerIdProblem>)] = &[
            ("+14155550123", Ok(())),
            ("+12125550100", Ok(())),
            ("+18005550100", Ok(())),
            ("+14165550100", Ok(())),
            ("+18765550100", Ok(())),
            ("+442079460123", Ok(())),
            ("+441632960123", Ok(())),
            ("+447700900123", Ok(())),
            (
                "+448001111",
                Err(P::NotDiallable(N::UkLength { digits: 7 })),
            ),
            ("+44800111111", Ok(())),
            ("+33123456789", Ok(())),
            ("sip:+14155550123@gw.example.com;user=phone", Ok(())),
            ("sips:+442079460123@gw.example.com", Ok(())),
            ("sip:renewals@example.com", Err(P::NotE164)),
            ("sip:gw.example.com", Err(P::NotE164)),
            ("sip:anonymous@anonymous.invalid", Err(P::Withheld)),
            ("sip:Anonymous@gw.example.com", Err(P::Withheld)),
            ("sip:restricted@gw.example.com", Err(P::Withheld)),
            (
                "+1415555012",
                Err(P::NotDiallable(N::NanpLength { digits: 9 })),
            ),
            (
                "+141555501234",
                Err(P::NotDiallable(N::NanpLength { digits: 11 })),
            ),
            (
                "+15555550123",
                Err(P::NotDiallable(N::NanpAreaCode { area: 555 })),
            ),
            (
                "+19005550123",
                Err(P::NotDiallable(N::NanpAreaCode { area: 900 })),
            ),
            (
                "+11005550123",
                Err(P::NotDiallable(N::NanpAreaCode { area: 100 })),
            ),
            (
                "+14151110123",
                Err(P::NotDiallable(N::NanpExchange { exchange: 111 })),
            ),
            (
                "+14154110123",
                Err(P::NotDiallable(N::NanpExchange { exchange: 411 })),
            ),
            (
                "+14159110123",
                Err(P::NotDiallable(N::NanpExchange { exchange: 911 })),
            ),
            (
                "+14150550123",
                Err(P::NotDiallable(N::NanpExchange { exchange: 55 })),
            ),
            (
                "+14159580123",
                Err(P::NotDiallable(N::NanpExchange { exchange: 958 })),
            ),
            ("+449098790123", Err(P::NotDiallable(N::UkPremiumRate))),
            ("+448979012345", Err(P::NotDiallable(N::UkPlaceholder))),
            (
                "+444079460123",
                Err(P::NotDiallable(N::UkUnallocated { first: '4' })),
            ),
            (
                "+446079460123",
                Err(P::NotDiallable(N::UkUnallocated { first: '6' })),
            ),
            (
                "+4420794601234",
                Err(P::NotDiallable(N::UkLength { digits: 11 })),
            ),
            (
                "+44207946012",
                Err(P::NotDiallable(N::UkLength { digits: 9 })),
            ),
            ("+1234", Err(P::NotDiallable(N::Length { digits: 4 }))),
        ];
        for (text, want) in cases {
            assert_eq!(check(&id(text)), *want, "{text}");
        }
    }

    #[test]
    fn withheld_words() {
        for w in [
            "anonymous",
            " Withheld ",
            "PRIVATE",
            "restricted",
            "unavailable",
            "sip:anonymous@anonymous.invalid",
            "sips:unknown@x",
        ] {
            assert!(is_withheld(w), "{w}");
        }
        for w in ["+14155550123", "sip:alice@example.com", "sip:anonymouse@x"] {
            assert!(!is_withheld(w), "{w}");
        }
    }

    #[test]
    fn problems_read_as_sentences() {
        assert_eq!(
            CallerIdProblem::from(NotDiallable::NanpAreaCode { area: 555 }).to_string(),
            "area code 555 is neither geographic nor toll-free"
        );
    }
}
