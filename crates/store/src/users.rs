//! The people who may use `patrol serve` from other computers (schema 8):
//! a name, a role ([`patrol_core::role::Role`]) and an argon2 hash of the
//! password (the PHC string, salt and parameters in it). Local to this
//! database file: an export empties the table in its copy and a merge never
//! reads it, so password hashes never travel on a stick.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use patrol_core::role::{Role, name_problem, password_problem};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{Result, Store, StoreError};

/// A user as `patrol user list` shows one (never the hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The name they log in with.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// When the user was added, RFC 3339 UTC.
    pub created_at: String,
}

impl Store {
    /// Add a user (the password hashed with argon2id, default parameters).
    /// A name already used, a bad name or a short password is an error.
    pub fn add_user(&mut self, name: &str, role: Role, password: &str) -> Result<User> {
        if let Some(p) = name_problem(name).or_else(|| password_problem(password)) {
            return Err(StoreError::Invalid(p));
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| StoreError::Invalid(format!("cannot hash the password: {e}")))?
            .to_string();
        let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let tx = crate::write_tx(&self.conn)?;
        let n = tx.execute(
            "INSERT INTO users(name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO NOTHING",
            params![name, role.as_str(), hash, created_at],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "there is already a user '{name}' (remove it first to change its role or password)"
            )));
        }
        tx.commit()?;
        Ok(User {
            name: name.to_owned(),
            role,
            created_at,
        })
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, created_at FROM users ORDER BY name")?;
        let rows: Vec<(String, String, String)> = stmt
            .query_map([], crate::row_tuple)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(name, role, created_at)| {
                Ok(User {
                    role: role.parse().map_err(|e: patrol_core::role::UnknownRole| {
                        StoreError::Invalid(e.to_string())
                    })?,
                    name,
                    created_at,
                })
            })
            .collect()
    }

    /// Remove a user; whether there was one.
    pub fn remove_user(&mut self, name: &str) -> Result<bool> {
        let tx = crate::write_tx(&self.conn)?;
        let n = tx.execute("DELETE FROM users WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// The role of `name` if `password` is theirs; `None` otherwise (no
    /// such user, or another password: the caller does not say which).
    pub fn verify_user(&self, name: &str, password: &str) -> Result<Option<Role>> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, password_hash FROM users WHERE name = ?1",
                [name],
                crate::row_tuple,
            )
            .optional()?;
        let Some((role, hash)) = row else {
            return Ok(None);
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return Ok(None);
        };
        if Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Ok(None);
        }
        Ok(role.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use crate::edit::tests::temp_store;
    use patrol_core::role::Role;

    #[test]
    fn users_are_added_verified_and_removed() {
        let mut s = temp_store();
        s.add_user("Somchai", Role::Manager, "correct horse battery")
            .unwrap();
        assert!(
            s.add_user("Somchai", Role::Ranger, "another password")
                .is_err()
        );
        assert!(s.add_user("Nok", Role::Ranger, "short").is_err());
        assert_eq!(
            s.verify_user("Somchai", "correct horse battery").unwrap(),
            Some(Role::Manager)
        );
        assert_eq!(
            s.verify_user("Somchai", "wrong horse battery").unwrap(),
            None
        );
        assert_eq!(
            s.verify_user("Nobody", "correct horse battery").unwrap(),
            None
        );
        let hash: String = s
            .store
            .conn
            .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert!(hash.starts_with("$argon2id$") && !hash.contains("horse"));
        assert_eq!(s.users().unwrap().len(), 1);
        assert!(s.remove_user("Somchai").unwrap());
        assert!(!s.remove_user("Somchai").unwrap());
    }
}
