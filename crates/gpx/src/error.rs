//! The error type.

use std::fmt;

/// Why a GPX file could not be read. Every variant carries the 1-based line
/// where the problem was found, when it is known; `Display` starts with
/// `line N: ` then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the underlying file or stream failed.
    #[error("{}read error", LinePrefix(*line))]
    Io {
        /// The line reached when reading failed.
        line: Option<u64>,
        /// What the reader said.
        #[source]
        source: std::io::Error,
    },
    /// The input is not well-formed XML (mismatched tags, truncated file, ...).
    #[error("{}{message}", LinePrefix(*line))]
    Xml {
        /// The 1-based line, when known.
        line: Option<u64>,
        /// What is wrong, for a person.
        message: String,
    },
    /// Well-formed or not, the input is not a GPX document.
    #[error("{}not a GPX file: {message}", LinePrefix(*line))]
    NotGpx {
        /// The 1-based line, when known.
        line: Option<u64>,
        /// What is wrong, for a person.
        message: String,
    },
    /// A value is unusable: coordinates out of range, missing or not numbers.
    #[error("{}{message}", LinePrefix(*line))]
    Invalid {
        /// The 1-based line, when known.
        line: Option<u64>,
        /// What is wrong, for a person.
        message: String,
    },
    /// The declared character encoding is unknown or unsupported.
    #[error("{}{message}", LinePrefix(*line))]
    Encoding {
        /// The 1-based line, when known.
        line: Option<u64>,
        /// What is wrong, for a person.
        message: String,
    },
    /// Elements are nested deeper than [`crate::MAX_DEPTH`].
    #[error("{}elements nested deeper than {}", LinePrefix(*line), crate::MAX_DEPTH)]
    TooDeep {
        /// The 1-based line, when known.
        line: Option<u64>,
    },
}

impl Error {
    /// The 1-based line of the input where the error was found, if known.
    pub fn line(&self) -> Option<u64> {
        match self {
            Error::Io { line, .. }
            | Error::Xml { line, .. }
            | Error::NotGpx { line, .. }
            | Error::Invalid { line, .. }
            | Error::Encoding { line, .. }
            | Error::TooDeep { line } => *line,
        }
    }
}

struct LinePrefix(Option<u64>);

impl fmt::Display for LinePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "line {n}: "),
            None => Ok(()),
        }
    }
}

/// Something odd but not fatal; the value concerned was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line of the element concerned.
    pub line: u64,
    /// What was odd and what was dropped, for a person.
    pub message: String,
    /// A text longer than [`crate::MAX_TEXT`] bytes was cut to that size.
    pub text_cut: bool,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}
