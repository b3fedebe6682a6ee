//! Phone numbers: E.164 validation and normalisation of what people type into contact lists,
//! and a best-effort time zone from the country calling code (and the area code where a
//! country spans zones), so calling hours apply in the contact's local time.
//!
//! The zone is a guess: mobile numbers move with their owners, and an area code that straddles
//! a zone boundary maps to the zone most of its population lives in. A list that knows better
//! gives a `tz` column; an unknown code gives `None` and the campaign's default zone applies.

use chrono_tz::Tz;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    #[error("empty phone number")]
    Empty,
    #[error("phone number contains the letter {0:?}")]
    Letter(char),
    #[error("phone number contains {0:?} (only digits, a leading '+', spaces, '-', '.', '(' and ')' are allowed)")]
    InvalidChar(char),
    #[error("'+' must come first, once")]
    MisplacedPlus,
    #[error("missing country code: start with '+' or '00'")]
    MissingCountryCode,
    #[error("country code cannot start with 0")]
    CountryCodeZero,
    #[error("too short: {0} digits, E.164 needs at least 8")]
    TooShort(usize),
    #[error("too long: {0} digits, E.164 allows at most 15")]
    TooLong(usize),
}

/// Normalises `raw` to E.164: `+` then 8 to 15 digits, the first non-zero.
///
/// Accepts spaces, tabs, `-`, `.`, `(` and `)` as separators, `00` for the international
/// prefix, and the `(0)` trunk-prefix notation (`+44 (0)20 ...`), which it drops.
pub fn normalize(raw: &str) -> Result<String, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    // "+44 (0)20 7946 0958": the (0) is the national trunk prefix, never dialed after the
    // country code; keeping it would yield a valid-looking wrong number.
    let without_trunk;
    let s = if trimmed.contains("(0)") {
        without_trunk = trimmed.replace("(0)", "");
        without_trunk.as_str()
    } else {
        trimmed
    };
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for ch in s.chars() {
        match ch {
            '0'..='9' => digits.push(ch),
            '+' if !plus && digits.is_empty() => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus),
            ' ' | '\t' | '-' | '.' | '(' | ')' => {}
            c if c.is_alphabetic() => return Err(PhoneError::Letter(c)),
            c => return Err(PhoneError::InvalidChar(c)),
        }
    }
    let national = if plus {
        digits.as_str()
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest
    } else {
        return Err(PhoneError::MissingCountryCode);
    };
    if national.is_empty() {
        return Err(PhoneError::TooShort(0));
    }
    if national.starts_with('0') {
        return Err(PhoneError::CountryCodeZero);
    }
    match national.len() {
        n @ 0..=7 => Err(PhoneError::TooShort(n)),
        8..=15 => Ok(format!("+{national}")),
        n => Err(PhoneError::TooLong(n)),
    }
}

/// The time zone of an E.164 number (as [`normalize`] returns it), if its country calling
/// code (and area code, for countries with several zones) is in the table.
pub fn tz_for(phone_e164: &str) -> Option<Tz> {
    let d = phone_e164.strip_prefix('+')?;
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(rest) = d.strip_prefix('1') {
        return nanp(rest.get(0..3)?.parse().ok()?);
    }
    if let Some(rest) = d.strip_prefix('7') {
        return Some(russia_kazakhstan(rest));
    }
    if let Some(rest) = d.strip_prefix("61") {
        return Some(australia(rest));
    }
    if let Some(rest) = d.strip_prefix("55") {
        return Some(brazil(rest));
    }
    if let Some(rest) = d.strip_prefix("52") {
        return Some(mexico(rest));
    }
    if let Some(rest) = d.strip_prefix("34") {
        // The Canary Islands (922, 928) are an hour behind the mainland.
        return Some(if rest.starts_with("922") || rest.starts_with("928") {
            Tz::Atlantic__Canary
        } else {
            Tz::Europe__Madrid
        });
    }
    // Country calling codes are a prefix code: at most one of these lengths matches.
    (1..=3).find_map(|len| d.get(..len)?.parse().ok().and_then(country))
}

/// Countries with one zone (or one zone that covers nearly all of their population).
fn country(code: u16) -> Option<Tz> {
    Some(match code {
        20 => Tz::Africa__Cairo,
        27 => Tz::Africa__Johannesburg,
        30 => Tz::Europe__Athens,
        31 => Tz::Europe__Amsterdam,
        32 => Tz::Europe__Brussels,
        33 => Tz::Europe__Paris,
        36 => Tz::Europe__Budapest,
        39 => Tz::Europe__Rome,
        40 => Tz::Europe__Bucharest,
        41 => Tz::Europe__Zurich,
        43 => Tz::Europe__Vienna,
        44 => Tz::Europe__London,
        45 => Tz::Europe__Copenhagen,
        46 => Tz::Europe__Stockholm,
        47 => Tz::Europe__Oslo,
        48 => Tz::Europe__Warsaw,
        49 => Tz::Europe__Berlin,
        51 => Tz::America__Lima,
        54 => Tz::America__Argentina__Buenos_Aires,
        56 => Tz::America__Santiago,
        57 => Tz::America__Bogota,
        58 => Tz::America__Caracas,
        60 => Tz::Asia__Kuala_Lumpur,
        62 => Tz::Asia__Jakarta,
        63 => Tz::Asia__Manila,
        64 => Tz::Pacific__Auckland,
        65 => Tz::Asia__Singapore,
        66 => Tz::Asia__Bangkok,
        81 => Tz::Asia__Tokyo,
        82 => Tz::Asia__Seoul,
        84 => Tz::Asia__Ho_Chi_Minh,
        86 => Tz::Asia__Shanghai,
        90 => Tz::Europe__Istanbul,
        91 => Tz::Asia__Kolkata,
        92 => Tz::Asia__Karachi,
        234 => Tz::Africa__Lagos,
        254 => Tz::Africa__Nairobi,
        351 => Tz::Europe__Lisbon,
        352 => Tz::Europe__Luxembourg,
        353 => Tz::Europe__Dublin,
        354 => Tz::Atlantic__Reykjavik,
        356 => Tz::Europe__Malta,
        357 => Tz::Asia__Nicosia,
        358 => Tz::Europe__Helsinki,
        359 => Tz::Europe__Sofia,
        370 => Tz::Europe__Vilnius,
        371 => Tz::Europe__Riga,
        372 => Tz::Europe__Tallinn,
        380 => Tz::Europe__Kyiv,
        385 => Tz::Europe__Zagreb,
        386 => Tz::Europe__Ljubljana,
        420 => Tz::Europe__Prague,
        421 => Tz::Europe__Bratislava,
        506 => Tz::America__Costa_Rica,
        852 => Tz::Asia__Hong_Kong,
        880 => Tz::Asia__Dhaka,
        886 => Tz::Asia__Taipei,
        966 => Tz::Asia__Riyadh,
        971 => Tz::Asia__Dubai,
        972 => Tz::Asia__Jerusalem,
        _ => return None,
    })
}

/// +7: Kazakhstan's numbers start 6 or 7; Russia by a few geographic codes, else Moscow
/// (mobile numbers, 9xx, say nothing of the region).
fn russia_kazakhstan(rest: &str) -> Tz {
    if rest.starts_with('6') || rest.starts_with('7') {
        return Tz::Asia__Almaty;
    }
    match rest.get(0..3) {
        Some("401") => Tz::Europe__Kaliningrad,
        Some("846" | "848") => Tz::Europe__Samara,
        Some("343" | "342" | "351" | "345" | "347" | "352" | "353") => Tz::Asia__Yekaterinburg,
        Some("381") => Tz::Asia__Omsk,
        Some("383") => Tz::Asia__Novosibirsk,
        Some("391") => Tz::Asia__Krasnoyarsk,
        Some("395") => Tz::Asia__Irkutsk,
        Some("423" | "421") => Tz::Asia__Vladivostok,
        _ => Tz::Europe__Moscow,
    }
}

/// +61 by the area code: 2 NSW/ACT, 3 Victoria (Tasmania 3 6...), 7 Queensland, 8 SA/WA/NT;
/// mobiles (4) and national numbers (1) default to Sydney.
fn australia(rest: &str) -> Tz {
    let b = rest.as_bytes();
    match (b.first(), b.get(1), b.get(2)) {
        (Some(b'3'), Some(b'6'), _) => Tz::Australia__Hobart,
        (Some(b'3'), ..) => Tz::Australia__Melbourne,
        (Some(b'7'), ..) => Tz::Australia__Brisbane,
        (Some(b'8'), Some(b'8'), Some(b'9')) => Tz::Australia__Darwin,
        (Some(b'8'), Some(b'9' | b'6'), _) => Tz::Australia__Perth,
        (Some(b'8'), ..) => Tz::Australia__Adelaide,
        _ => Tz::Australia__Sydney,
    }
}

/// +55 by the two-digit area code (DDD); most of the population is on Brasília time.
fn brazil(rest: &str) -> Tz {
    match rest.get(0..2) {
        Some("65" | "66") => Tz::America__Cuiaba,
        Some("67") => Tz::America__Campo_Grande,
        Some("68") => Tz::America__Rio_Branco,
        Some("69") => Tz::America__Porto_Velho,
        Some("92" | "97") => Tz::America__Manaus,
        Some("95") => Tz::America__Boa_Vista,
        _ => Tz::America__Sao_Paulo,
    }
}

/// +52: Baja California, Sonora and Quintana Roo differ from central Mexico.
fn mexico(rest: &str) -> Tz {
    match rest.get(0..3) {
        Some("664" | "665" | "686" | "646" | "661" | "653" | "658") => Tz::America__Tijuana,
        Some("662" | "631" | "644" | "622" | "687") => Tz::America__Hermosillo,
        Some("998" | "983" | "984" | "987") => Tz::America__Cancun,
        _ => Tz::America__Mexico_City,
    }
}

/// +1 by area code: the United States, Canada and the Caribbean members of the NANP.
/// Toll-free (8xx), non-geographic and unknown codes give `None`. An area code split by a
/// zone line maps to the zone of most of its people (850: the Florida panhandle is mostly
/// Central; 812: Indiana is mostly Eastern; 605: South Dakota is mostly Central).
fn nanp(area: u16) -> Option<Tz> {
    use Tz::*;
    Some(match area {
        // Eastern: CT, DE, DC, FL (peninsula), GA, IN (most), KY (east), ME, MD, MA, MI,
        // NH, NJ, NY, NC, OH, PA, RI, SC, TN (east), VT, VA, WV.
        203 | 475 | 860 | 959 | 302 | 202 | 771 | 239 | 305 | 321 | 324 | 352 | 386 | 407 | 561
        | 645 | 656 | 689 | 727 | 754 | 772 | 786 | 813 | 863 | 904 | 941 | 954 | 404 | 470
        | 478 | 678 | 706 | 762 | 770 | 912 | 943 | 229 | 502 | 859 | 606 | 207 | 227 | 240
        | 301 | 410 | 443 | 667 | 339 | 351 | 413 | 508 | 617 | 774 | 781 | 857 | 978 | 231
        | 248 | 269 | 313 | 517 | 586 | 616 | 679 | 734 | 810 | 906 | 947 | 989 | 603 | 201
        | 551 | 609 | 640 | 732 | 848 | 856 | 862 | 908 | 973 | 212 | 315 | 329 | 332 | 347
        | 363 | 516 | 518 | 585 | 607 | 624 | 631 | 646 | 680 | 716 | 718 | 838 | 845 | 914
        | 917 | 929 | 934 | 252 | 336 | 472 | 704 | 743 | 828 | 910 | 919 | 980 | 984 | 216
        | 220 | 234 | 283 | 326 | 330 | 380 | 419 | 436 | 440 | 513 | 567 | 614 | 740 | 937
        | 215 | 223 | 267 | 272 | 412 | 445 | 484 | 570 | 582 | 610 | 717 | 724 | 814 | 835
        | 878 | 401 | 803 | 821 | 839 | 843 | 854 | 864 | 423 | 865 | 802 | 276 | 434 | 540
        | 571 | 686 | 703 | 757 | 804 | 826 | 948 | 304 | 681 => America__New_York,
        260 | 317 | 463 | 574 | 765 | 812 | 930 => America__Indiana__Indianapolis,
        // Ontario (most) and Quebec.
        226 | 249 | 289 | 343 | 365 | 382 | 416 | 437 | 519 | 548 | 613 | 647 | 683 | 705 | 742
        | 753 | 807 | 905 | 942 | 263 | 354 | 367 | 418 | 438 | 450 | 468 | 514 | 579 | 581
        | 819 | 873 => America__Toronto,
        // Central: AL, AR, IL, IA, KS, LA, MN, MS, MO, NE, ND, OK, SD, TX (but El Paso),
        // WI, the Florida panhandle, NW Indiana, west Kentucky and Tennessee.
        205 | 251 | 256 | 334 | 483 | 659 | 938 | 327 | 479 | 501 | 870 | 217 | 224 | 309 | 312
        | 331 | 447 | 464 | 618 | 630 | 708 | 730 | 773 | 779 | 815 | 847 | 861 | 872 | 319
        | 515 | 563 | 641 | 712 | 316 | 620 | 785 | 913 | 225 | 318 | 337 | 457 | 504 | 985
        | 218 | 320 | 507 | 612 | 651 | 763 | 924 | 952 | 228 | 601 | 662 | 769 | 235 | 314
        | 417 | 557 | 573 | 636 | 660 | 816 | 975 | 308 | 402 | 531 | 701 | 405 | 539 | 572
        | 580 | 918 | 605 | 210 | 214 | 254 | 281 | 325 | 346 | 361 | 409 | 430 | 432 | 469
        | 512 | 682 | 713 | 726 | 737 | 806 | 817 | 830 | 832 | 903 | 936 | 940 | 945 | 956
        | 972 | 979 | 262 | 274 | 353 | 414 | 534 | 608 | 715 | 920 | 448 | 850 | 219 | 270
        | 364 | 615 | 629 | 731 | 901 | 931 => America__Chicago,
        204 | 431 | 584 => America__Winnipeg,
        // Saskatchewan keeps Central Standard Time all year.
        306 | 474 | 639 => America__Regina,
        // Mountain: CO, MT, NM, UT, WY, ID (south), El Paso.
        303 | 719 | 720 | 970 | 983 | 406 | 505 | 575 | 385 | 435 | 801 | 307 | 208 | 986 | 915 => {
            America__Denver
        }
        // Arizona keeps Mountain Standard Time all year.
        480 | 520 | 602 | 623 | 928 => America__Phoenix,
        // Alberta; and the territories (867), most of whose people are on Mountain time.
        368 | 403 | 587 | 780 | 825 | 867 => America__Edmonton,
        // Pacific: CA, NV, OR, WA.
        209 | 213 | 279 | 310 | 323 | 341 | 350 | 369 | 408 | 415 | 424 | 442 | 510 | 530 | 559
        | 562 | 619 | 626 | 628 | 650 | 657 | 661 | 669 | 707 | 714 | 738 | 747 | 760 | 805
        | 818 | 820 | 831 | 837 | 840 | 858 | 909 | 916 | 925 | 949 | 951 | 702 | 725 | 775
        | 458 | 503 | 541 | 971 | 206 | 253 | 360 | 425 | 509 | 564 => America__Los_Angeles,
        236 | 250 | 257 | 604 | 672 | 778 => America__Vancouver,
        907 => America__Anchorage,
        808 => Pacific__Honolulu,
        // Atlantic: Nova Scotia and PEI, New Brunswick, Puerto Rico, US Virgin Islands.
        782 | 902 => America__Halifax,
        428 | 506 => America__Moncton,
        709 | 879 => America__St_Johns,
        787 | 939 => America__Puerto_Rico,
        340 => America__St_Thomas,
        // The Caribbean and Pacific members of the NANP.
        242 => America__Nassau,
        246 => America__Barbados,
        264 => America__Anguilla,
        268 => America__Antigua,
        284 => America__Tortola,
        345 => America__Cayman,
        441 => Atlantic__Bermuda,
        473 => America__Grenada,
        649 => America__Grand_Turk,
        658 | 876 => America__Jamaica,
        664 => America__Montserrat,
        670 => Pacific__Saipan,
        671 => Pacific__Guam,
        684 => Pacific__Pago_Pago,
        721 => America__Lower_Princes,
        758 => America__St_Lucia,
        767 => America__Dominica,
        784 => America__St_Vincent,
        809 | 829 | 849 => America__Santo_Domingo,
        868 => America__Port_of_Spain,
        869 => America__St_Kitts,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_people_type() {
        for (raw, want) in [
            ("+1 (212) 555-0100", "+12125550100"),
            ("+44 20 7946 0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("  +33.1.23.45.67.89 ", "+33123456789"),
            ("+49-30-1234567", "+49301234567"),
            ("+1\t212 555 0100", "+12125550100"),
            ("+12345678", "+12345678"),
            ("+123456789012345", "+123456789012345"),
        ] {
            assert_eq!(normalize(raw).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        for (raw, want) in [
            ("", PhoneError::Empty),
            ("   ", PhoneError::Empty),
            ("+1 800 FLOWERS", PhoneError::Letter('F')),
            ("+1 212 555 0100 x12", PhoneError::Letter('x')),
            ("+1/212/5550100", PhoneError::InvalidChar('/')),
            ("+1 212 555+0100", PhoneError::MisplacedPlus),
            ("++12125550100", PhoneError::MisplacedPlus),
            ("2125550100", PhoneError::MissingCountryCode),
            ("020 7946 0958", PhoneError::MissingCountryCode),
            ("+0 212 555 0100", PhoneError::CountryCodeZero),
            ("000 44 20", PhoneError::CountryCodeZero),
            ("+1234567", PhoneError::TooShort(7)),
            ("+", PhoneError::TooShort(0)),
            ("00", PhoneError::TooShort(0)),
            ("+1234567890123456", PhoneError::TooLong(16)),
        ] {
            assert_eq!(normalize(raw), Err(want.clone()), "{raw:?}");
        }
        assert!(PhoneError::TooShort(7).to_string().contains("7 digits"));
    }

    #[test]
    fn zones_by_country_code() {
        for (phone, want) in [
            ("+442079460958", Tz::Europe__London),
            ("+33123456789", Tz::Europe__Paris),
            ("+4930123456", Tz::Europe__Berlin),
            ("+34911234567", Tz::Europe__Madrid),
            ("+34928123456", Tz::Atlantic__Canary),
            ("+358912345678", Tz::Europe__Helsinki),
            ("+353112345678", Tz::Europe__Dublin),
            ("+420212345678", Tz::Europe__Prague),
            ("+85221234567", Tz::Asia__Hong_Kong),
            ("+97141234567", Tz::Asia__Dubai),
            ("+972212345678", Tz::Asia__Jerusalem),
            ("+74951234567", Tz::Europe__Moscow),
            ("+77011234567", Tz::Asia__Almaty),
            ("+73831234567", Tz::Asia__Novosibirsk),
            ("+81312345678", Tz::Asia__Tokyo),
            ("+911123456789", Tz::Asia__Kolkata),
            ("+5511912345678", Tz::America__Sao_Paulo),
            ("+5592912345678", Tz::America__Manaus),
            ("+525512345678", Tz::America__Mexico_City),
            ("+526641234567", Tz::America__Tijuana),
            ("+541112345678", Tz::America__Argentina__Buenos_Aires),
            ("+6421234567", Tz::Pacific__Auckland),
            ("+27211234567", Tz::Africa__Johannesburg),
        ] {
            assert_eq!(tz_for(phone), Some(want), "{phone}");
        }
    }

    #[test]
    fn australia_by_area_code() {
        for (phone, want) in [
            ("+61212345678", Tz::Australia__Sydney),
            ("+61312345678", Tz::Australia__Melbourne),
            ("+61362345678", Tz::Australia__Hobart),
            ("+61712345678", Tz::Australia__Brisbane),
            ("+61882345678", Tz::Australia__Adelaide),
            ("+61889345678", Tz::Australia__Darwin),
            ("+61892345678", Tz::Australia__Perth),
            ("+61412345678", Tz::Australia__Sydney),
        ] {
            assert_eq!(tz_for(phone), Some(want), "{phone}");
        }
    }

    #[test]
    fn nanp_by_area_code() {
        for (phone, want) in [
            ("+12125550100", Tz::America__New_York),
            ("+13125550100", Tz::America__Chicago),
            ("+17135550100", Tz::America__Chicago),
            ("+19155550100", Tz::America__Denver),
            ("+16025550100", Tz::America__Phoenix),
            ("+14155550100", Tz::America__Los_Angeles),
            ("+19075550100", Tz::America__Anchorage),
            ("+18085550100", Tz::Pacific__Honolulu),
            ("+14165550100", Tz::America__Toronto),
            ("+15145550100", Tz::America__Toronto),
            ("+16045550100", Tz::America__Vancouver),
            ("+14035550100", Tz::America__Edmonton),
            ("+13065550100", Tz::America__Regina),
            ("+19025550100", Tz::America__Halifax),
            ("+17095550100", Tz::America__St_Johns),
            ("+17875550100", Tz::America__Puerto_Rico),
        ] {
            assert_eq!(tz_for(phone), Some(want), "{phone}");
        }
        // Toll-free and unassigned codes: the campaign's default zone applies.
        assert_eq!(tz_for("+18005550100"), None);
        assert_eq!(tz_for("+15555550100"), None);
        assert_eq!(tz_for("+121"), None);
    }

    #[test]
    fn the_hundred_most_populous_us_area_codes_are_known() {
        // A sample across every US zone; any gap here is a table bug.
        for area in [
            212, 213, 214, 215, 216, 301, 303, 305, 310, 312, 313, 314, 317, 404, 407, 408, 410,
            412, 414, 415, 469, 480, 502, 503, 504, 512, 513, 602, 614, 615, 617, 619, 702, 703,
            704, 713, 714, 718, 720, 732, 770, 773, 801, 813, 816, 818, 832, 858, 901, 904, 916,
            917, 919, 949, 954, 972,
        ] {
            assert!(nanp(area).is_some(), "area code {area}");
        }
    }

    #[test]
    fn unknown_or_malformed_gives_none() {
        assert_eq!(tz_for("442079460958"), None);
        assert_eq!(tz_for("+999123456789"), None);
        assert_eq!(tz_for("+44x"), None);
        assert_eq!(tz_for(""), None);
    }
}
