//! Calling hours in the contact's local time: whether a contact may be called at an instant,
//! and when it may next be called. Time is always an argument (a [`UnixMs`]).
//!
//! A window belongs to the day it opens on: `start = "22:00", end = "06:00"` with Friday open
//! means Friday 22:00 to Saturday 06:00, whether or not Saturday is open. `start == end` is a
//! 24-hour window. Local times that a DST change skips or repeats resolve the way RFC 5545 and
//! JavaScript's Temporal ("compatible") do: a skipped time moves forward by the length of the
//! gap, a repeated time takes its first occurrence.

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

use crate::domain::UnixMs;

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DaySet(u8);

impl DaySet {
    pub const ALL: DaySet = DaySet(0x7f);
    pub const NONE: DaySet = DaySet(0);

    /// The days of a mask: bit 0 is Monday, bit 6 Sunday; higher bits are ignored.
    pub const fn from_bits(bits: u8) -> Self {
        DaySet(bits & 0x7f)
    }

    pub fn with(self, day: Weekday) -> Self {
        DaySet(self.0 | 1 << day.num_days_from_monday())
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Weekday> for DaySet {
    fn from_iter<I: IntoIterator<Item = Weekday>>(iter: I) -> Self {
        iter.into_iter().fold(DaySet::NONE, DaySet::with)
    }
}

/// When contacts may be called, in each contact's own time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingHours {
    start: NaiveTime,
    end: NaiveTime,
    days: DaySet,
    default_tz: Tz,
}

/// How far [`CallingHours::next_open`] looks ahead. A weekly pattern repeats within 8 days;
/// the extra week covers a window that a DST change empties on one day.
const LOOKAHEAD_DAYS: u64 = 15;

/// 9999-12-31T23:59:59.999Z: later instants are returned as they are by `next_open`.
const LAST_SUPPORTED_MS: i64 = 253_402_300_799_999;

impl CallingHours {
    /// Windows from `start` to `end` local time on each of `days` (`end <= start` ends the next
    /// day). `None` when `days` is empty: such hours would never open, so a contact scheduled
    /// by them would wait forever.
    pub fn new(start: NaiveTime, end: NaiveTime, days: DaySet, default_tz: Tz) -> Option<Self> {
        (!days.is_empty()).then_some(Self {
            start,
            end,
            days,
            default_tz,
        })
    }

    /// Open at every instant (load tests, or campaigns without a calling-hours rule).
    pub fn always(default_tz: Tz) -> Self {
        Self {
            start: NaiveTime::MIN,
            end: NaiveTime::MIN,
            days: DaySet::ALL,
            default_tz,
        }
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    pub fn days(&self) -> DaySet {
        self.days
    }

    /// The zone for contacts without one, or with one this build does not know.
    pub fn default_tz(&self) -> Tz {
        self.default_tz
    }

    /// The zone a contact's hours are computed in: its own IANA zone when it has a known one,
    /// else the campaign's default.
    pub fn zone_for(&self, contact_tz: Option<&str>) -> Tz {
        contact_tz
            .and_then(|name| name.trim().parse::<Tz>().ok())
            .unwrap_or(self.default_tz)
    }

    /// Whether a contact in `tz` may be called at `now`.
    pub fn is_open(&self, tz: Tz, now: UnixMs) -> bool {
        self.next_open(tz, now) == now
    }

    /// `now` if open, else the start of the next window in `tz`.
    pub fn next_open(&self, tz: Tz, now: UnixMs) -> UnixMs {
        // Past year 9999 there is nothing meaningful to schedule against, and staying far from
        // chrono's limits keeps its local-time conversions from overflowing.
        let Some(utc) = i64::try_from(now)
            .ok()
            .filter(|&ms| ms <= LAST_SUPPORTED_MS)
            .and_then(DateTime::<Utc>::from_timestamp_millis)
        else {
            return now;
        };
        let now_ms = utc.timestamp_millis();
        // Yesterday's window may still be open (overnight windows).
        let first_day = tz
            .from_utc_datetime(&utc.naive_utc())
            .date_naive()
            .pred_opt();
        let Some(mut day) = first_day else { return now };
        for _ in 0..LOOKAHEAD_DAYS {
            if let Some((open, close)) = self.window(tz, day) {
                if close > now_ms {
                    return u64::try_from(open.max(now_ms)).unwrap_or(now);
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        // Unreachable with a non-empty day set (guaranteed by `new`): every week has a window,
        // and a DST change can empty at most one window of a week.
        now
    }

    /// The window opening on local `day`, as Unix milliseconds `[open, close)`, if `day` is
    /// open and the window is not emptied by a DST change.
    fn window(&self, tz: Tz, day: NaiveDate) -> Option<(i64, i64)> {
        if !self.days.contains(day.weekday()) {
            return None;
        }
        let close_day = if self.end <= self.start {
            day.checked_add_days(Days::new(1))?
        } else {
            day
        };
        let open = resolve_local(tz, day.and_time(self.start))?.timestamp_millis();
        let close = resolve_local(tz, close_day.and_time(self.end))?.timestamp_millis();
        (close > open).then_some((open, close))
    }
}

/// The instant of a local time in `tz`, "compatible" disambiguation (see the module doc).
/// `None` only at the ends of chrono's range.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            // In a gap: read the wall time with the offset in force before the gap, which lands
            // it the gap's length later. 26 h back is before the gap for any offset (|off| <= 14 h)
            // and after any previous transition of a real zone.
            let before = local.checked_sub_signed(TimeDelta::hours(26))?;
            let offset = tz.offset_from_utc_datetime(&before);
            let secs = chrono::Offset::fix(&offset).local_minus_utc();
            Some(
                local
                    .checked_sub_signed(TimeDelta::seconds(i64::from(secs)))?
                    .and_utc(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hm: &str) -> NaiveTime {
        NaiveTime::parse_from_str(hm, "%H:%M").unwrap()
    }

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> UnixMs {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp_millis() as u64
    }

    fn hours(start: &str, end: &str, days: DaySet) -> CallingHours {
        CallingHours::new(t(start), t(end), days, Tz::UTC).unwrap()
    }

    const NY: Tz = chrono_tz::America::New_York;
    const LONDON: Tz = chrono_tz::Europe::London;

    #[test]
    fn day_window_in_utc() {
        let h = hours("09:00", "21:00", DaySet::ALL);
        assert!(!h.is_open(Tz::UTC, ms(2024, 5, 1, 8, 59)));
        assert!(h.is_open(Tz::UTC, ms(2024, 5, 1, 9, 0)));
        assert!(h.is_open(Tz::UTC, ms(2024, 5, 1, 20, 59)));
        assert!(
            !h.is_open(Tz::UTC, ms(2024, 5, 1, 21, 0)),
            "end is exclusive"
        );
        assert_eq!(
            h.next_open(Tz::UTC, ms(2024, 5, 1, 22, 0)),
            ms(2024, 5, 2, 9, 0)
        );
        assert_eq!(
            h.next_open(Tz::UTC, ms(2024, 5, 1, 3, 0)),
            ms(2024, 5, 1, 9, 0)
        );
        let inside = ms(2024, 5, 1, 12, 0) + 123;
        assert_eq!(h.next_open(Tz::UTC, inside), inside);
    }

    #[test]
    fn contact_zone_shifts_the_window() {
        let h = hours("09:00", "21:00", DaySet::ALL);
        // 09:00 EDT is 13:00 UTC.
        assert_eq!(
            h.next_open(NY, ms(2024, 7, 1, 12, 0)),
            ms(2024, 7, 1, 13, 0)
        );
        assert_eq!(h.zone_for(Some("America/New_York")), NY);
        assert_eq!(
            h.zone_for(Some("Mars/Olympus_Mons")),
            Tz::UTC,
            "unknown zone: the default"
        );
        assert_eq!(h.zone_for(None), Tz::UTC);
    }

    #[test]
    fn closed_days_are_skipped() {
        let weekdays: DaySet = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .collect();
        let h = hours("09:00", "17:00", weekdays);
        // 2024-05-04 is a Saturday: next opening is Monday 2024-05-06 09:00.
        assert!(!h.is_open(Tz::UTC, ms(2024, 5, 4, 12, 0)));
        assert_eq!(
            h.next_open(Tz::UTC, ms(2024, 5, 3, 17, 0)),
            ms(2024, 5, 6, 9, 0)
        );
        assert!(CallingHours::new(t("09:00"), t("17:00"), DaySet::NONE, Tz::UTC).is_none());
    }

    #[test]
    fn overnight_window_belongs_to_its_start_day() {
        let fri: DaySet = [Weekday::Fri].into_iter().collect();
        let h = hours("22:00", "06:00", fri);
        // Friday 2024-05-03 22:00 to Saturday 06:00.
        assert!(!h.is_open(Tz::UTC, ms(2024, 5, 3, 21, 59)));
        assert!(h.is_open(Tz::UTC, ms(2024, 5, 3, 23, 0)));
        assert!(
            h.is_open(Tz::UTC, ms(2024, 5, 4, 5, 59)),
            "Saturday morning, Friday's window"
        );
        assert!(!h.is_open(Tz::UTC, ms(2024, 5, 4, 6, 0)));
        assert_eq!(
            h.next_open(Tz::UTC, ms(2024, 5, 4, 6, 0)),
            ms(2024, 5, 10, 22, 0)
        );
        // Friday 02:00 belongs to Thursday's window, which is closed.
        assert!(!h.is_open(Tz::UTC, ms(2024, 5, 3, 2, 0)));
    }

    #[test]
    fn equal_start_and_end_is_all_day() {
        let h = hours("00:00", "00:00", DaySet::ALL);
        for hour in 0..24 {
            assert!(h.is_open(NY, ms(2024, 3, 10, hour, 30)), "hour {hour}");
        }
        let a = CallingHours::always(Tz::UTC);
        assert!(a.is_open(LONDON, ms(2024, 10, 27, 1, 30)));
    }

    #[test]
    fn new_york_spring_forward() {
        // 2024-03-10: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        let h = hours("09:00", "21:00", DaySet::ALL);
        assert_eq!(
            h.next_open(NY, ms(2024, 3, 9, 5, 0)),
            ms(2024, 3, 9, 14, 0),
            "EST, -5"
        );
        assert_eq!(
            h.next_open(NY, ms(2024, 3, 10, 5, 0)),
            ms(2024, 3, 10, 13, 0),
            "EDT, -4"
        );
        assert!(h.is_open(NY, ms(2024, 3, 11, 0, 59)), "20:59 EDT");
        assert!(!h.is_open(NY, ms(2024, 3, 11, 1, 0)), "21:00 EDT");
        // An overnight window across the change is an hour shorter: 22:00 EST to 06:00 EDT.
        let night = hours("22:00", "06:00", DaySet::ALL);
        assert!(night.is_open(NY, ms(2024, 3, 10, 3, 0)));
        assert!(night.is_open(NY, ms(2024, 3, 10, 9, 59)));
        assert!(!night.is_open(NY, ms(2024, 3, 10, 10, 0)));
        // A start the change skips (02:30) opens the gap's length later: 03:30 EDT.
        let skipped = hours("02:30", "05:00", DaySet::ALL);
        assert_eq!(
            skipped.next_open(NY, ms(2024, 3, 10, 6, 0)),
            ms(2024, 3, 10, 7, 30)
        );
        assert!(
            !skipped.is_open(NY, ms(2024, 3, 10, 7, 15)),
            "03:15 EDT, before the moved start"
        );
    }

    #[test]
    fn new_york_fall_back() {
        // 2024-11-03: 02:00 EDT becomes 01:00 EST (06:00 UTC); 01:00-02:00 happens twice.
        let h = hours("09:00", "21:00", DaySet::ALL);
        assert_eq!(
            h.next_open(NY, ms(2024, 11, 2, 5, 0)),
            ms(2024, 11, 2, 13, 0),
            "EDT, -4"
        );
        assert_eq!(
            h.next_open(NY, ms(2024, 11, 3, 5, 0)),
            ms(2024, 11, 3, 14, 0),
            "EST, -5"
        );
        // A start in the repeated hour takes its first occurrence (01:30 EDT = 05:30 UTC).
        let repeated = hours("01:30", "04:00", DaySet::ALL);
        assert_eq!(
            repeated.next_open(NY, ms(2024, 11, 3, 4, 0)),
            ms(2024, 11, 3, 5, 30)
        );
        // The overnight window is an hour longer: 22:00 EDT to 06:00 EST (02:00 to 11:00 UTC).
        let night = hours("22:00", "06:00", DaySet::ALL);
        assert!(night.is_open(NY, ms(2024, 11, 3, 10, 59)));
        assert!(!night.is_open(NY, ms(2024, 11, 3, 11, 0)));
    }

    #[test]
    fn london_spring_forward_and_fall_back() {
        let h = hours("09:00", "21:00", DaySet::ALL);
        // 2024-03-31: 01:00 GMT becomes 02:00 BST.
        assert_eq!(
            h.next_open(LONDON, ms(2024, 3, 30, 0, 0)),
            ms(2024, 3, 30, 9, 0),
            "GMT"
        );
        assert_eq!(
            h.next_open(LONDON, ms(2024, 3, 31, 0, 0)),
            ms(2024, 3, 31, 8, 0),
            "BST"
        );
        // 2024-10-27: 02:00 BST becomes 01:00 GMT.
        assert_eq!(
            h.next_open(LONDON, ms(2024, 10, 26, 0, 0)),
            ms(2024, 10, 26, 8, 0),
            "BST"
        );
        assert_eq!(
            h.next_open(LONDON, ms(2024, 10, 27, 0, 0)),
            ms(2024, 10, 27, 9, 0),
            "GMT"
        );
        // Overnight 20:00 BST Saturday to 08:00 GMT Sunday: 19:00 to 08:00 UTC, 13 hours.
        let night = hours("20:00", "08:00", DaySet::ALL);
        assert_eq!(
            night.next_open(LONDON, ms(2024, 10, 26, 12, 0)),
            ms(2024, 10, 26, 19, 0)
        );
        assert!(night.is_open(LONDON, ms(2024, 10, 27, 7, 59)));
        assert!(!night.is_open(LONDON, ms(2024, 10, 27, 8, 0)));
    }

    #[test]
    fn out_of_range_instants_do_not_panic() {
        let h = hours("09:00", "21:00", DaySet::ALL);
        let _ = h.next_open(NY, u64::MAX);
        let _ = h.next_open(NY, 0);
        let _ = h.is_open(LONDON, i64::MAX as u64);
        let last = DateTime::<Utc>::MAX_UTC.timestamp_millis() as u64;
        let _ = h.next_open(NY, last);
        let _ = h.next_open(chrono_tz::Pacific::Kiritimati, last - 3_600_000);
        let y9999 = LAST_SUPPORTED_MS as u64;
        assert_eq!(
            h.next_open(Tz::UTC, y9999),
            y9999 - 3 * 3_600_000 + 1 + 12 * 3_600_000
        );
    }
}
