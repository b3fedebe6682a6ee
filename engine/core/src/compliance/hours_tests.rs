//! Calling windows at fixed instants: federal, state and UK rules, Sunday bans, the campaign's
//! hours narrowing the law's, and the US and UK daylight-saving changes.

use std::collections::BTreeMap;

use chrono::{NaiveTime, TimeZone, Utc, Weekday};

use super::*;
use crate::campaign::hours::DaySet;
use crate::domain::{ContactId, ContactState, JobId};

/// `y-mo-d h:mi` UTC.
fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> UnixMs {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_millis() as u64
}

fn t(hm: &str) -> NaiveTime {
    NaiveTime::parse_from_str(hm, "%H:%M").unwrap()
}

fn campaign(start: &str, end: &str, days: DaySet) -> CallingHours {
    CallingHours::new(t(start), t(end), days, Tz::UTC).unwrap()
}

/// Hours that never close, so only the law decides.
fn all_day() -> CallingHours {
    CallingHours::always(Tz::UTC)
}

fn closed(rule: HoursRule, opens_at: UnixMs) -> Result<(), Closed> {
    Err(Closed {
        rule,
        opens_at: Some(opens_at),
    })
}

const NEW_YORK: &str = "+12125550100";
const LONDON: &str = "+442079460958";
const MIAMI: &str = "+13055550100";

#[test]
fn us_federal_hours_across_the_spring_forward() {
    let h = all_day();
    let w = CallingWindow::new(&h, &Callee::new(NEW_YORK));
    // Saturday 2024-03-09, EST (UTC-5): 08:00 is 13:00 UTC.
    assert_eq!(
        w.is_open(ms(2024, 3, 9, 12, 59)),
        closed(HoursRule::UsFederal, ms(2024, 3, 9, 13, 0))
    );
    assert_eq!(w.is_open(ms(2024, 3, 9, 13, 0)), Ok(()));
    // Sunday 2024-03-10: 02:00 EST became 03:00 EDT (UTC-4): 08:00 is 12:00 UTC.
    assert_eq!(
        w.next_open(ms(2024, 3, 10, 3, 0)),
        Some(ms(2024, 3, 10, 12, 0))
    );
    assert_eq!(w.is_open(ms(2024, 3, 10, 12, 0)), Ok(()));
    // 21:00 EDT is 01:00 UTC the next day.
    assert_eq!(w.is_open(ms(2024, 3, 11, 0, 59)), Ok(()));
    assert_eq!(
        w.is_open(ms(2024, 3, 11, 1, 0)),
        closed(HoursRule::UsFederal, ms(2024, 3, 11, 12, 0))
    );
}

#[test]
fn us_federal_hours_across_the_fall_back() {
    let h = all_day();
    let w = CallingWindow::new(&h, &Callee::new(NEW_YORK));
    // Saturday 2024-11-02, EDT: 08:00 is 12:00 UTC.
    assert_eq!(
        w.next_open(ms(2024, 11, 2, 5, 0)),
        Some(ms(2024, 11, 2, 12, 0))
    );
    // Sunday 2024-11-03: 02:00 EDT went back to 01:00 EST (UTC-5): 08:00 is 13:00 UTC, and
    // the repeated hour is long before it.
    assert_eq!(
        w.is_open(ms(2024, 11, 3, 12, 30)),
        closed(HoursRule::UsFederal, ms(2024, 11, 3, 13, 0))
    );
    // 21:00 EST is 02:00 UTC the next day.
    assert_eq!(w.is_open(ms(2024, 11, 4, 1, 59)), Ok(()));
    assert!(w.is_open(ms(2024, 11, 4, 2, 0)).is_err());
}

#[test]
fn uk_hours_across_british_summer_time() {
    let h = all_day();
    let w = CallingWindow::new(&h, &Callee::new(LONDON));
    // Saturday 2024-03-30, GMT: 08:00 is 08:00 UTC.
    assert_eq!(
        w.is_open(ms(2024, 3, 30, 7, 59)),
        closed(HoursRule::UnitedKingdom, ms(2024, 3, 30, 8, 0))
    );
    // Sunday 2024-03-31, BST from 01:00 UTC: 08:00 is 07:00 UTC, 21:00 is 20:00 UTC.
    assert_eq!(w.is_open(ms(2024, 3, 31, 7, 0)), Ok(()));
    assert_eq!(
        w.is_open(ms(2024, 3, 31, 20, 0)),
        closed(HoursRule::UnitedKingdom, ms(2024, 4, 1, 7, 0))
    );
    // Saturday 2024-10-26 is still BST; Sunday 2024-10-27 is GMT again.
    assert_eq!(
        w.next_open(ms(2024, 10, 26, 0, 0)),
        Some(ms(2024, 10, 26, 7, 0))
    );
    assert_eq!(
        w.next_open(ms(2024, 10, 27, 0, 0)),
        Some(ms(2024, 10, 27, 8, 0))
    );
    assert!(HoursRule::UnitedKingdom.source().contains("Ofcom"));
}

#[test]
fn florida_closes_at_eight_in_each_of_its_zones() {
    let h = all_day();
    let miami = CallingWindow::new(&h, &Callee::new(MIAMI));
    // Wednesday 2024-05-01, EDT: 19:59 is 23:59 UTC; 20:00 is 00:00 UTC on the 2nd.
    assert_eq!(miami.is_open(ms(2024, 5, 1, 23, 59)), Ok(()));
    assert_eq!(
        miami.is_open(ms(2024, 5, 2, 0, 0)),
        closed(HoursRule::UsState(UsState::Fl), ms(2024, 5, 2, 12, 0))
    );
    // The panhandle (850) is on Central time: 20:00 CDT is 01:00 UTC.
    let pensacola = CallingWindow::new(&h, &Callee::new("+18505550100"));
    assert_eq!(pensacola.is_open(ms(2024, 5, 2, 0, 59)), Ok(()));
    assert!(pensacola.is_open(ms(2024, 5, 2, 1, 0)).is_err());
    assert!(HoursRule::UsState(UsState::Fl)
        .source()
        .contains("Florida Telephone Solicitation Act"));
}

#[test]
fn maine_calls_only_on_weekdays_from_nine_to_five() {
    let h = all_day();
    let w = CallingWindow::new(&h, &Callee::new("+12075550100"));
    let me = HoursRule::UsState(UsState::Me);
    // Friday 2024-05-03 17:00 EDT (21:00 UTC): closed until Monday 09:00 EDT (13:00 UTC).
    assert_eq!(w.is_open(ms(2024, 5, 3, 20, 59)), Ok(()));
    assert_eq!(
        w.is_open(ms(2024, 5, 3, 21, 0)),
        closed(me, ms(2024, 5, 6, 13, 0))
    );
    assert_eq!(
        w.is_open(ms(2024, 5, 4, 16, 0)),
        closed(me, ms(2024, 5, 6, 13, 0))
    );
}

#[test]
fn sunday_bans() {
    let h = all_day();
    // Sunday 2024-05-05 at noon local: closed; Monday 08:00 (09:00 in Rhode Island).
    for (number, state, sunday_noon, monday_opening) in [
        (
            "+12055550100",
            UsState::Al,
            ms(2024, 5, 5, 17, 0),
            ms(2024, 5, 6, 13, 0),
        ),
        (
            "+15045550100",
            UsState::La,
            ms(2024, 5, 5, 17, 0),
            ms(2024, 5, 6, 13, 0),
        ),
        (
            "+16015550100",
            UsState::Ms,
            ms(2024, 5, 5, 17, 0),
            ms(2024, 5, 6, 13, 0),
        ),
        (
            "+14015550100",
            UsState::Ri,
            ms(2024, 5, 5, 16, 0),
            ms(2024, 5, 6, 13, 0),
        ),
        (
            "+16055550100",
            UsState::Sd,
            ms(2024, 5, 5, 17, 0),
            ms(2024, 5, 6, 14, 0),
        ),
    ] {
        let w = CallingWindow::new(&h, &Callee::new(number));
        assert_eq!(
            w.is_open(sunday_noon),
            closed(HoursRule::UsState(state), monday_opening),
            "{state}"
        );
    }
    // New York has no Sunday rule.
    let ny = CallingWindow::new(&h, &Callee::new(NEW_YORK));
    assert_eq!(ny.is_open(ms(2024, 5, 5, 16, 0)), Ok(()));
}

#[test]
fn saturdays_differ_by_state() {
    let h = all_day();
    // Saturday 2024-05-04: Rhode Island 10:00-17:00 EDT (14:00-21:00 UTC).
    let ri = CallingWindow::new(&h, &Callee::new("+14015550100"));
    assert_eq!(
        ri.is_open(ms(2024, 5, 4, 13, 0)),
        closed(HoursRule::UsState(UsState::Ri), ms(2024, 5, 4, 14, 0))
    );
    assert_eq!(ri.is_open(ms(2024, 5, 4, 20, 59)), Ok(()));
    // South Dakota's automated calls are weekdays only.
    let sd = CallingWindow::new(&h, &Callee::new("+16055550100"));
    assert!(sd.is_open(ms(2024, 5, 4, 18, 0)).is_err());
    // Texas: Sunday from noon.
    let tx = CallingWindow::new(&h, &Callee::new("+12145550100"));
    assert_eq!(
        tx.is_open(ms(2024, 5, 5, 16, 0)),
        closed(HoursRule::UsState(UsState::Tx), ms(2024, 5, 5, 17, 0))
    );
}

#[test]
fn the_campaign_narrows_the_law_and_never_widens_it() {
    let weekdays: DaySet = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
    .into_iter()
    .collect();
    let narrow = campaign("09:00", "17:00", weekdays);
    let w = CallingWindow::new(&narrow, &Callee::new(NEW_YORK));
    // Saturday noon EDT: the law is open, the campaign is not.
    assert_eq!(
        w.is_open(ms(2024, 5, 4, 16, 0)),
        closed(HoursRule::Campaign, ms(2024, 5, 6, 13, 0))
    );
    // Wider hours than the law's: the law still closes at 21:00 and opens at 08:00.
    let wide = campaign("07:00", "23:00", DaySet::ALL);
    let w = CallingWindow::new(&wide, &Callee::new(NEW_YORK));
    assert_eq!(
        w.is_open(ms(2024, 5, 2, 1, 30)),
        closed(HoursRule::UsFederal, ms(2024, 5, 2, 12, 0))
    );
    assert_eq!(
        w.is_open(ms(2024, 5, 2, 11, 30)),
        closed(HoursRule::UsFederal, ms(2024, 5, 2, 12, 0))
    );
}

#[test]
fn no_common_opening_means_never() {
    let sundays: DaySet = [Weekday::Sun].into_iter().collect();
    let h = campaign("10:00", "16:00", sundays);
    let w = CallingWindow::new(&h, &Callee::new("+12055550100"));
    let sunday_noon = ms(2024, 5, 5, 17, 0);
    assert_eq!(w.next_open(sunday_noon), None);
    assert_eq!(
        w.is_open(sunday_noon),
        Err(Closed {
            rule: HoursRule::UsState(UsState::Al),
            opens_at: None
        })
    );
}

#[test]
fn zones_and_states_from_the_list_override_the_number() {
    let h = all_day();
    let mut fields = BTreeMap::new();
    fields.insert("State".to_owned(), "florida".to_owned());
    let contact = Contact {
        id: ContactId(1),
        job: JobId(1),
        phone: NEW_YORK.into(),
        tz: Some("America/Chicago".into()),
        fields,
        attempts: 0,
        state: ContactState::Ready { not_before: 0 },
        last_code: None,
    };
    let callee = Callee::of_contact(&contact);
    assert_eq!(callee.region(), Some(Region::Us(UsState::Fl)));
    assert_eq!(callee.tz(), Some(chrono_tz::America::Chicago));
    let w = CallingWindow::new(&h, &callee);
    // 20:00 CDT (01:00 UTC): Florida's rule in Chicago's time.
    assert_eq!(w.is_open(ms(2024, 5, 2, 0, 59)), Ok(()));
    assert_eq!(
        w.is_open(ms(2024, 5, 2, 1, 0)),
        closed(HoursRule::UsState(UsState::Fl), ms(2024, 5, 2, 13, 0))
    );
    // An unknown state or zone changes nothing.
    let plain = Callee::new(NEW_YORK)
        .with_state(Some("Atlantis"))
        .with_tz(Some("Mars/Base"));
    assert_eq!(plain, Callee::new(NEW_YORK));
}

#[test]
fn a_number_without_a_zone_uses_the_campaign_default() {
    let h = CallingHours::always(chrono_tz::America::Chicago);
    // 555 is no area code: US federal rules, in the campaign's zone (08:00 CDT = 13:00 UTC).
    let callee = Callee::new("+15555550100");
    assert_eq!(callee.jurisdiction(), Jurisdiction::UsFederal);
    let w = CallingWindow::new(&h, &callee);
    assert_eq!(w.tz(), chrono_tz::America::Chicago);
    assert_eq!(
        w.is_open(ms(2024, 5, 2, 12, 59)),
        closed(HoursRule::UsFederal, ms(2024, 5, 2, 13, 0))
    );
}

#[test]
fn canada_and_elsewhere() {
    let h = all_day();
    // Toronto, Saturday 2024-05-04: weekends 10:00-18:00 EDT (14:00-22:00 UTC).
    let to = CallingWindow::new(&h, &Callee::new("+14165550100"));
    assert_eq!(
        to.is_open(ms(2024, 5, 4, 22, 0)),
        closed(HoursRule::Canada, ms(2024, 5, 5, 14, 0))
    );
    // Weekdays until 21:30.
    assert_eq!(to.is_open(ms(2024, 5, 3, 1, 29)), Ok(()));
    // Paris: no rule known, 08:00-21:00 local (CEST, UTC+2).
    let paris = CallingWindow::new(&h, &Callee::new("+33123456789"));
    assert_eq!(
        paris.is_open(ms(2024, 5, 2, 5, 59)),
        closed(HoursRule::Elsewhere, ms(2024, 5, 2, 6, 0))
    );
}

#[test]
fn a_load_test_keeps_only_the_campaign_hours() {
    let h = all_day();
    let w = CallingWindow::campaign_only(&h, &Callee::new(NEW_YORK));
    assert_eq!(w.is_open(ms(2024, 5, 2, 7, 0)), Ok(()), "03:00 EDT");
}

#[test]
fn far_instants_are_closed_not_panics() {
    let h = all_day();
    let w = CallingWindow::new(&h, &Callee::new(NEW_YORK));
    assert_eq!(
        w.is_open(u64::MAX),
        Err(Closed {
            rule: HoursRule::UsFederal,
            opens_at: None
        })
    );
    assert_eq!(w.next_open(u64::MAX - 1), None);
    assert_eq!(w.next_open(LAST_SUPPORTED_MS + 1), None);
    let _ = w.is_open(0);
}
