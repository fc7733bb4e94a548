//! Calendar months, for the trend.

use chrono::{Datelike, NaiveDate};

use super::schema::Period;

/// The first and last day of a calendar month.
fn month_period(year: i32, month: u32) -> Period {
    let from = NaiveDate::from_ymd_opt(year, month, 1).expect("a valid month");
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a valid month");
    Period {
        from,
        to: next.pred_opt().expect("a day before"),
    }
}

/// The `n` calendar months ending with the month of `last`, oldest first.
pub fn months_ending(last: NaiveDate, n: u32) -> Vec<Period> {
    let end = last.year() * 12 + last.month0() as i32;
    (0..n as i32)
        .rev()
        .map(|back| {
            let m = end - back;
            month_period(m.div_euclid(12), m.rem_euclid(12) as u32 + 1)
        })
        .collect()
}
