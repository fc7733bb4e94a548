//! Who may do what in `patrol serve`: a ranger imports and observes; a
//! manager also edits and reports (a ranger reads patrols but does not make
//! the report); a coordinator also merges. The one rule
//! the web app's every route asks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Imports patrols and records observations.
    Ranger,
    /// A ranger's work, and edits, deletes, restores and reports.
    Manager,
    /// A manager's work, and exports, merges and resolves conflicts.
    Coordinator,
}

/// What a route does, for [`Role::may`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read patrols and observations.
    Read,
    /// Import files, add observations.
    Record,
    /// Make the report (its page and its files).
    Report,
    /// Edit, delete and restore records.
    Edit,
    /// Export, merge, resolve conflicts and quarantined rows.
    Sync,
}

impl Role {
    /// Every role, least allowed first.
    pub const ALL: [Role; 3] = [Role::Ranger, Role::Manager, Role::Coordinator];

    /// The role's name as stored and typed ("ranger", "manager", "coordinator").
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ranger => "ranger",
            Role::Manager => "manager",
            Role::Coordinator => "coordinator",
        }
    }

    /// The least role that may do `action`.
    pub fn least(action: Action) -> Role {
        Role::ALL
            .into_iter()
            .find(|r| r.may(action))
            .unwrap_or(Role::Coordinator)
    }

    /// Whether the role may do `action`.
    pub fn may(self, action: Action) -> bool {
        match action {
            Action::Read | Action::Record => true,
            Action::Report | Action::Edit => self >= Role::Manager,
            Action::Sync => self == Role::Coordinator,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a role (ranger, manager or coordinator)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// The longest user name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a user name or password is refused, if it is.
pub fn name_problem(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Some(format!("a user name is 1 to {MAX_NAME_CHARS} characters"));
    }
    if name.trim() != name || name.chars().any(char::is_control) {
        return Some(
            "a user name has no leading or trailing spaces and no control characters".into(),
        );
    }
    None
}

/// Why a password is refused, if it is.
pub fn password_problem(password: &str) -> Option<String> {
    (password.chars().count() < MIN_PASSWORD_CHARS)
        .then(|| format!("a password is at least {MIN_PASSWORD_CHARS} characters"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_what_the_one_below_may_and_more() {
        use Action::*;
        let may = |r: Role| [Read, Record, Report, Edit, Sync].map(|a| r.may(a));
        assert_eq!(may(Role::Ranger), [true, true, false, false, false]);
        assert_eq!(may(Role::Manager), [true, true, true, true, false]);
        assert_eq!(may(Role::Coordinator), [true, true, true, true, true]);
        assert_eq!(Role::least(Report), Role::Manager);
        assert_eq!(Role::least(Record), Role::Ranger);
        assert_eq!("Manager".parse::<Role>().unwrap(), Role::Manager);
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(name_problem("Somchai").is_none());
        assert!(name_problem("").is_some());
        assert!(name_problem(" x").is_some());
        assert!(name_problem("a\u{1b}b").is_some());
        assert!(password_problem("short").is_some());
        assert!(password_problem("long enough pass").is_none());
    }
}
