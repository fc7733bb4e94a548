//! patrol-smart: the files of SMART (Spatial Monitoring and Reporting
//! Tool), read and written.
//!
//! - [`datamodel`]: SMART's DataModel XML (namespace [`datamodel::NAMESPACE`])
//!   to and from our [`patrol_core::category::DataModel`];
//! - [`patrol`]: SMART's patrol XML in three dialects (the schema in SMART's
//!   source, `.../xml/patrol.xsd`, and the later `.../xml/1.2/patrol` and
//!   `.../xml/1.3/patrol`) to a [`patrol_core::recorded::RecordedPatrol`], and
//!   back in the first dialect, which validates against `SmartPatrol.xsd`.
//!
//! The XML is read by quick-xml in one pass: entities are never expanded
//! (only the five predefined ones and character references are resolved),
//! nesting is capped at [`xml::MAX_DEPTH`], and every error names the line.

#![warn(missing_docs)]
// Short names for coordinates and values in parsers; newline counts over small slices.
#![allow(clippy::many_single_char_names, clippy::naive_bytecount)]

pub mod datamodel;
pub mod patrol;
mod xml;

use std::path::{Path, PathBuf};

pub use datamodel::{read_data_model, write_data_model};
pub use patrol::{Dialect, read_patrol, write_patrol, write_patrol_with};

/// A SMART file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmartError {
    /// Not well-formed XML, or XML that is not the file it should be; `line` counts from 1.
    #[error("line {line}: {message}")]
    Invalid {
        /// The line where the problem is.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The file could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl SmartError {
    /// The line of the problem, when the file has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            SmartError::Invalid { line, .. } => Some(*line),
            SmartError::Io { .. } => None,
        }
    }

    pub(crate) fn at(line: u64, message: impl Into<String>) -> Self {
        SmartError::Invalid {
            line,
            message: message.into(),
        }
    }
}

/// The largest file read, in bytes (a patrol of many months is a few MB).
pub const MAX_FILE_BYTES: u64 = 512 << 20;

fn read_text(path: &Path) -> Result<String, SmartError> {
    let io = |source| SmartError::Io {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(io(std::io::Error::other(format!(
            "{len} bytes: larger than the {MAX_FILE_BYTES} bytes a SMART file may be"
        ))));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() as u64;
        SmartError::at(line, "the file is not UTF-8")
    })
}

/// Read a SMART DataModel XML file.
pub fn read_data_model_file(path: &Path) -> Result<patrol_core::category::DataModel, SmartError> {
    read_data_model(&read_text(path)?)
}

/// Read a SMART patrol XML file, its local times in `zone` (the site's).
pub fn read_patrol_file(
    path: &Path,
    zone: chrono_tz::Tz,
) -> Result<patrol_core::recorded::RecordedPatrol, SmartError> {
    read_patrol(&read_text(path)?, zone)
}

/// Whether these first bytes of a file are a SMART patrol file: its root
/// element is `patrol` in one of SMART's patrol namespaces ([`Dialect`]).
/// A few KB of the file's start are enough.
pub fn is_smart_patrol(head: &[u8]) -> bool {
    xml::root_namespace(head)
        .is_some_and(|(name, ns)| name == "patrol" && Dialect::of(&ns).is_some())
}
