//! Identities: every record has a `UUIDv7` (time-ordered) identity.

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
            /// A new time-ordered (v7) identity.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
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
