//! Identities: every record has a `UUIDv7` (time-ordered) identity.
//!
//! The core makes no ids (it has no clock): the store makes them
//! (`patrol_store::new_id`) and hands them in. A UUIDv7 starts with the time
//! and (in `uuid`'s `now_v7`) a 42-bit counter
//! that is sequential within a millisecond: ids made by one import share
//! their first ~20 characters. Their last 32 bits are random, so people see
//! and type the **short id**, the last [`SHORT_ID_LEN`] hex digits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The short display id: the last [`SHORT_ID_LEN`] hex digits.
            pub fn short(&self) -> String {
                short_id(&self.to_string()).to_owned()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

/// How many hex digits a short id has.
pub const SHORT_ID_LEN: usize = 8;

/// The short display id of a UUID's text: its last [`SHORT_ID_LEN`]
/// characters, random bits in a UUIDv7 (the whole text when shorter).
pub fn short_id(uuid_text: &str) -> &str {
    let text = uuid_text.trim();
    let start = text
        .char_indices()
        .rev()
        .nth(SHORT_ID_LEN - 1)
        .map_or(0, |(i, _)| i);
    &text[start..]
}

id_type!(
    /// A patrol.
    PatrolId
);
id_type!(
    /// A leg of a patrol (one transport, one team composition).
    LegId
);
id_type!(
    /// An observation (a waypoint with a category).
    ObservationId
);
id_type!(
    /// A site (a protected area with its own time zone).
    SiteId
);
id_type!(
    /// A device: one database file, made at `init`.
    DeviceId
);
id_type!(
    /// One immutable version of a record.
    VersionId
);
id_type!(
    /// A stored piece of a track segment.
    PieceId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_id_is_the_last_eight_hex_digits() {
        assert_eq!(short_id("01a209b5-46e4-706e-8cd8-d5c40c3f30cf"), "0c3f30cf");
        assert_eq!(
            short_id(" 01a209b5-46e4-706e-8cd8-d5c40c3f30cf\n"),
            "0c3f30cf"
        );
        assert_eq!(short_id("abc"), "abc");
        let id = PatrolId("01a209b5-46e4-706e-8cd8-d5c40c3f30cf".parse().unwrap());
        assert_eq!(id.short(), "0c3f30cf");
    }
}
