//! Where a phone number is, for the laws that follow the callee: the US state (or territory)
//! of a North American area code, Canada, the United Kingdom.
//!
//! Like the time zone in [`super::phone`], this is the presumption the state laws themselves
//! make (Florida, Oklahoma and Connecticut presume that a number with one of their area codes
//! belongs to a resident): a ported mobile may be elsewhere, and a list that knows better gives
//! a `state` column ([`UsState::parse`] reads it).

use std::fmt;

/// Where a number is, as far as calling rules go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// A US state, the District of Columbia or a US territory.
    Us(UsState),
    /// A North American number in the US with no state: toll-free (8xx) and other
    /// non-geographic codes.
    UsNonGeographic,
    Canada,
    UnitedKingdom,
}

macro_rules! us_states {
    ($($v:ident $code:literal $name:literal,)*) => {
        /// The fifty states, the District of Columbia and the five inhabited territories, by
        /// their USPS codes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum UsState { $($v,)* }

        impl UsState {
            pub const ALL: &'static [UsState] = &[$(UsState::$v,)*];

            /// The two-letter USPS code (`FL`).
            pub fn code(self) -> &'static str {
                match self { $(UsState::$v => $code,)* }
            }

            /// The full name (`Florida`).
            pub fn name(self) -> &'static str {
                match self { $(UsState::$v => $name,)* }
            }
        }
    };
}

us_states! {
    Al "AL" "Alabama", Ak "AK" "Alaska", Az "AZ" "Arizona", Ar "AR" "Arkansas",
    Ca "CA" "California", Co "CO" "Colorado", Ct "CT" "Connecticut", De "DE" "Delaware",
    Dc "DC" "District of Columbia", Fl "FL" "Florida", Ga "GA" "Georgia", Hi "HI" "Hawaii",
    Id "ID" "Idaho", Il "IL" "Illinois", In "IN" "Indiana", Ia "IA" "Iowa", Ks "KS" "Kansas",
    Ky "KY" "Kentucky", La "LA" "Louisiana", Me "ME" "Maine", Md "MD" "Maryland",
    Ma "MA" "Massachusetts", Mi "MI" "Michigan", Mn "MN" "Minnesota", Ms "MS" "Mississippi",
    Mo "MO" "Missouri", Mt "MT" "Montana", Ne "NE" "Nebraska", Nv "NV" "Nevada",
    Nh "NH" "New Hampshire", Nj "NJ" "New Jersey", Nm "NM" "New Mexico", Ny "NY" "New York",
    Nc "NC" "North Carolina", Nd "ND" "North Dakota", Oh "OH" "Ohio", Ok "OK" "Oklahoma",
    Or "OR" "Oregon", Pa "PA" "Pennsylvania", Ri "RI" "Rhode Island",
    Sc "SC" "South Carolina", Sd "SD" "South Dakota", Tn "TN" "Tennessee", Tx "TX" "Texas",
    Ut "UT" "Utah", Vt "VT" "Vermont", Va "VA" "Virginia", Wa "WA" "Washington",
    Wv "WV" "West Virginia", Wi "WI" "Wisconsin", Wy "WY" "Wyoming",
    Pr "PR" "Puerto Rico", Vi "VI" "U.S. Virgin Islands", Gu "GU" "Guam",
    Mp "MP" "Northern Mariana Islands", As "AS" "American Samoa",
}

impl UsState {
    /// A state as a list's `state` column gives it: the USPS code or the full name, any case,
    /// surrounding spaces ignored (`"fl"`, `"Florida"`, `" NEW YORK "`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|s| s.code().eq_ignore_ascii_case(t) || s.name().eq_ignore_ascii_case(t))
    }
}

impl fmt::Display for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The region of an E.164 number (as [`super::phone::normalize`] returns it), if the number
/// says: North American numbers by area code, `+44` as the United Kingdom. Unknown area codes,
/// the Caribbean members of the NANP and other countries give `None`.
pub fn region_for(phone_e164: &str) -> Option<Region> {
    let d = phone_e164.strip_prefix('+')?;
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(rest) = d.strip_prefix('1') {
        let area: u16 = rest.get(0..3)?.parse().ok()?;
        return nanp_region(area);
    }
    d.starts_with("44").then_some(Region::UnitedKingdom)
}

/// The region of a North American area code.
pub fn nanp_region(area: u16) -> Option<Region> {
    if let Some(state) = us_state(area) {
        return Some(Region::Us(state));
    }
    if is_toll_free(area) {
        return Some(Region::UsNonGeographic);
    }
    is_canadian(area).then_some(Region::Canada)
}

/// Toll-free codes (8xx with a repeated digit), shared by the US and Canada; reached from
/// anywhere, so no state's rule can be presumed.
pub fn is_toll_free(area: u16) -> bool {
    matches!(area, 800 | 833 | 844 | 855 | 866 | 877 | 888)
}

fn is_canadian(area: u16) -> bool {
    matches!(
        area,
        204 | 226
            | 236
            | 249
            | 250
            | 257
            | 263
            | 289
            | 306
            | 343
            | 354
            | 365
            | 367
            | 368
            | 382
            | 403
            | 416
            | 418
            | 428
            | 431
            | 437
            | 438
            | 450
            | 468
            | 474
            | 506
            | 514
            | 519
            | 548
            | 579
            | 581
            | 584
            | 587
            | 604
            | 613
            | 639
            | 647
            | 672
            | 683
            | 705
            | 709
            | 742
            | 753
            | 778
            | 780
            | 782
            | 807
            | 819
            | 825
            | 867
            | 873
            | 879
            | 902
            | 905
            | 942
    )
}

/// The state of a US geographic area code (overlays included, as assigned by NANPA).
pub fn us_state(area: u16) -> Option<UsState> {
    use UsState::*;
    Some(match area {
        205 | 251 | 256 | 334 | 483 | 659 | 938 => Al,
        907 => Ak,
        480 | 520 | 602 | 623 | 928 => Az,
        327 | 479 | 501 | 870 => Ar,
        209 | 213 | 279 | 310 | 323 | 341 | 350 | 369 | 408 | 415 | 424 | 442 | 510 | 530 | 559
        | 562 | 619 | 626 | 628 | 650 | 657 | 661 | 669 | 707 | 714 | 738 | 747 | 760 | 805
        | 818 | 820 | 831 | 837 | 840 | 858 | 909 | 916 | 925 | 949 | 951 => Ca,
        303 | 719 | 720 | 970 | 983 => Co,
        203 | 475 | 860 | 959 => Ct,
        302 => De,
        202 | 771 => Dc,
        239 | 305 | 321 | 324 | 352 | 386 | 407 | 448 | 561 | 645 | 656 | 689 | 727 | 754 | 772
        | 786 | 813 | 850 | 863 | 904 | 941 | 954 => Fl,
        229 | 404 | 470 | 478 | 678 | 706 | 762 | 770 | 912 | 943 => Ga,
        808 => Hi,
        208 | 986 => Id,
        217 | 224 | 309 | 312 | 331 | 447 | 464 | 618 | 630 | 708 | 730 | 773 | 779 | 815 | 847
        | 861 | 872 => Il,
        219 | 260 | 317 | 463 | 574 | 765 | 812 | 930 => In,
        319 | 515 | 563 | 641 | 712 => Ia,
        316 | 620 | 785 | 913 => Ks,
        270 | 364 | 502 | 606 | 859 => Ky,
        225 | 318 | 337 | 457 | 504 | 985 => La,
        207 => Me,
        227 | 240 | 301 | 410 | 443 | 667 => Md,
        339 | 351 | 413 | 508 | 617 | 774 | 781 | 857 | 978 => Ma,
        231 | 248 | 269 | 313 | 517 | 586 | 616 | 679 | 734 | 810 | 906 | 947 | 989 => Mi,
        218 | 320 | 507 | 612 | 651 | 763 | 924 | 952 => Mn,
        228 | 601 | 662 | 769 => Ms,
        235 | 314 | 417 | 557 | 573 | 636 | 660 | 816 | 975 => Mo,
        406 => Mt,
        308 | 402 | 531 => Ne,
        702 | 725 | 775 => Nv,
        603 => Nh,
        201 | 551 | 609 | 640 | 732 | 848 | 856 | 862 | 908 | 973 => Nj,
        505 | 575 => Nm,
        212 | 315 | 329 | 332 | 347 | 363 | 516 | 518 | 585 | 607 | 624 | 631 | 646 | 680 | 716
        | 718 | 838 | 845 | 914 | 917 | 929 | 934 => Ny,
        252 | 336 | 472 | 704 | 743 | 828 | 910 | 919 | 980 | 984 => Nc,
        701 => Nd,
        216 | 220 | 234 | 283 | 326 | 330 | 380 | 419 | 436 | 440 | 513 | 567 | 614 | 740 | 937 => {
            Oh
        }
        405 | 539 | 572 | 580 | 918 => Ok,
        458 | 503 | 541 | 971 => Or,
        215 | 223 | 267 | 272 | 412 | 445 | 484 | 570 | 582 | 610 | 717 | 724 | 814 | 835 | 878 => {
            Pa
        }
        401 => Ri,
        803 | 821 | 839 | 843 | 854 | 864 => Sc,
        605 => Sd,
        423 | 615 | 629 | 731 | 865 | 901 | 931 => Tn,
        210 | 214 | 254 | 281 | 325 | 346 | 361 | 409 | 430 | 432 | 469 | 512 | 682 | 713 | 726
        | 737 | 806 | 817 | 830 | 832 | 903 | 915 | 936 | 940 | 945 | 956 | 972 | 979 => Tx,
        385 | 435 | 801 => Ut,
        802 => Vt,
        276 | 434 | 540 | 571 | 686 | 703 | 757 | 804 | 826 | 948 => Va,
        206 | 253 | 360 | 425 | 509 | 564 => Wa,
        304 | 681 => Wv,
        262 | 274 | 353 | 414 | 534 | 608 | 715 | 920 => Wi,
        307 => Wy,
        787 | 939 => Pr,
        340 => Vi,
        671 => Gu,
        670 => Mp,
        684 => As,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::phone;

    #[test]
    fn regions_by_number() {
        for (phone, want) in [
            ("+13055550100", Some(Region::Us(UsState::Fl))),
            ("+18505550100", Some(Region::Us(UsState::Fl))),
            ("+14055550100", Some(Region::Us(UsState::Ok))),
            ("+14105550100", Some(Region::Us(UsState::Md))),
            ("+12075550100", Some(Region::Us(UsState::Me))),
            ("+16055550100", Some(Region::Us(UsState::Sd))),
            ("+12125550100", Some(Region::Us(UsState::Ny))),
            ("+12025550100", Some(Region::Us(UsState::Dc))),
            ("+17875550100", Some(Region::Us(UsState::Pr))),
            ("+18005550100", Some(Region::UsNonGeographic)),
            ("+14165550100", Some(Region::Canada)),
            ("+442079460958", Some(Region::UnitedKingdom)),
            ("+18765550100", None),
            ("+15555550100", None),
            ("+33123456789", None),
            ("+1", None),
            ("12125550100", None),
            ("+1212x550100", None),
        ] {
            assert_eq!(region_for(phone), want, "{phone}");
        }
    }

    #[test]
    fn state_column_values() {
        assert_eq!(UsState::parse("fl"), Some(UsState::Fl));
        assert_eq!(UsState::parse(" Florida "), Some(UsState::Fl));
        assert_eq!(UsState::parse("NEW YORK"), Some(UsState::Ny));
        assert_eq!(UsState::parse("District of Columbia"), Some(UsState::Dc));
        assert_eq!(UsState::parse("Floridaa"), None);
        assert_eq!(UsState::parse(""), None);
        assert_eq!(UsState::ALL.len(), 56);
        assert_eq!(UsState::Wy.to_string(), "WY");
    }

    #[test]
    fn every_us_area_code_has_a_zone_and_every_code_one_country() {
        // The zone table and the state table are kept by hand: they must agree on which codes
        // exist, and no code may be both American and Canadian.
        for area in 200..1000u16 {
            let phone = format!("+1{area}5550100");
            match nanp_region(area) {
                Some(Region::Us(s)) => {
                    assert!(phone::tz_for(&phone).is_some(), "{area} ({s}) has no zone");
                    assert!(!is_canadian(area), "{area} is in both tables");
                }
                Some(Region::Canada) => {
                    assert!(
                        phone::tz_for(&phone).is_some(),
                        "{area} (Canada) has no zone"
                    )
                }
                _ => {}
            }
        }
    }
}
