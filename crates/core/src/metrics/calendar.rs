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

/// Why a month, a date or a range of them was refused: the one message the
/// CLI and the web app give.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadPeriod(String);

/// A local month `YYYY-MM` as its first and last dates.
pub fn parse_month(month: &str) -> Result<Period, BadPeriod> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|e| BadPeriod(format!("'{month}' is not a month (YYYY-MM): {e}")))?;
    let out_of_range = || BadPeriod("month out of range".into());
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(out_of_range)?;
    Ok(Period {
        from: first,
        to: next.pred_opt().ok_or_else(out_of_range)?,
    })
}

/// A local date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, BadPeriod> {
    s.parse()
        .map_err(|e| BadPeriod(format!("'{s}' is not a date (YYYY-MM-DD): {e}")))
}

/// `FROM..TO`, as months (`2025-10..2026-03`) or dates
/// (`2025-10-01..2026-03-31`).
pub fn parse_range(s: &str) -> Result<Period, BadPeriod> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| BadPeriod(format!("'{s}' is not FROM..TO")))?;
    let from = if a.len() == 7 {
        parse_month(a)?.from
    } else {
        parse_date(a)?
    };
    let to = if b.len() == 7 {
        parse_month(b)?.to
    } else {
        parse_date(b)?
    };
    if from > to {
        return Err(BadPeriod(format!("'{s}': the range ends before it starts")));
    }
    Ok(Period { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_ranges_parse_or_say_why() {
        let oct = parse_month("2026-10").unwrap();
        assert_eq!(
            (oct.from.to_string(), oct.to.to_string()),
            ("2026-10-01".into(), "2026-10-31".into())
        );
        assert_eq!(parse_month("2024-02").unwrap().to.to_string(), "2024-02-29");
        assert_eq!(
            parse_month("2026-13").unwrap_err().to_string(),
            "'2026-13' is not a month (YYYY-MM): input is out of range"
        );
        let r = parse_range("2025-10..2026-03-15").unwrap();
        assert_eq!(
            (r.from.to_string(), r.to.to_string()),
            ("2025-10-01".into(), "2026-03-15".into())
        );
        assert!(
            parse_range("2026-03..2025-10")
                .unwrap_err()
                .to_string()
                .contains("ends before")
        );
        assert!(
            parse_range("2026-03")
                .unwrap_err()
                .to_string()
                .contains("FROM..TO")
        );
    }
}
