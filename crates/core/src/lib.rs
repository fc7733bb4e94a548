//! patrol-core: the domain of patrol, as types and arithmetic. No I/O, no SQL.
//!
//! Units and axes follow geo: `x` = longitude, `y` = latitude, WGS84 degrees;
//! lengths in metres, measured on the ellipsoid (`GeographicLib` geodesics);
//! times in microseconds since the Unix epoch, UTC.
//!
//! ```
//! use patrol_core::{category::DataModel, geodesy::pair_length_m};
//! let model = DataModel::default_model();
//! assert_eq!(model.classify(Some("Snare 2"), None, None), "snare");
//! let m = pair_length_m((102.0, 14.0), (102.0, 14.001));
//! assert!((m - 110.6).abs() < 0.5);
//! ```

#![warn(missing_docs)]

pub mod attribute;
pub mod category;
pub mod clock;
pub mod effort;
pub mod geodesy;
pub mod grid;
pub mod ids;
pub mod metrics;
pub mod model;
pub mod qc;
pub mod quality;
pub mod recorded;
pub mod role;
pub mod stats;
pub mod time;

pub use ids::{DeviceId, LegId, ObservationId, PatrolId, SiteId, VersionId};
pub use model::{Leg, Observation, Patrol, Site, Transport};
