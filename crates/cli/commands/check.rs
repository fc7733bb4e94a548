use anyhow::Result;
use patrol_store::Store;
use patrol_store::check::Severity;

use crate::Outcome;
use patrol_report::table::Table;

pub fn run(store: &Store, json: bool) -> Result<Outcome> {
    let findings = store.check()?;
    if json {
        super::json(&findings)?;
    } else {
        let mut t = Table::new(&["check", "result", "detail"]);
        for f in &findings {
            t.row(vec![
                f.check.clone(),
                super::word(&f.severity),
                f.detail.clone(),
            ]);
        }
        super::out(&t.render())?;
    }
    let problems = findings
        .iter()
        .filter(|f| f.severity == Severity::Problem)
        .count();
    if problems > 0 {
        eprintln!("{problems} problem(s) found");
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Done)
}
