//! The data model: observation categories, and how a GPS waypoint finds one.

use serde::{Deserialize, Serialize};

/// The key every data model has: what matches nothing else.
pub const OTHER: &str = "other";

/// The longest category key, in bytes.
pub const MAX_KEY_LEN: usize = 64;

/// A category key: 1 to [`MAX_KEY_LEN`] lower-case ASCII letters, digits and
/// `_`. The one rule: the data model, import and merge all use it.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One category of observation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The identifier stored on observations and used in reports: a [`valid_key`].
    pub key: String,
    /// The name people read ("Poacher camp") in reports and on the map; also matched against waypoint names.
    pub label: String,
    /// Whether its observations count as threats (threat counts, threats per 100 km, per patrol-day, per cell).
    pub threat: bool,
    /// Other names meaning this category, matched after [`normalise`]; empty when the TOML gives none.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The categories of one database, and its quality-control settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataModel {
    /// Every category (`[[category]]` in the TOML), in the order matching tries them; one is [`OTHER`].
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    /// Speed ceilings per transport and the pause and stay limits
    /// (`[qc]` in the TOML; the defaults when absent).
    #[serde(default)]
    pub qc: crate::qc::QcSettings,
}

/// A data model that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A key that is not a [`valid_key`].
    #[error("category key '{0}' is not 1 to {MAX_KEY_LEN} lower-case letters, digits and '_'")]
    BadKey(String),
    /// Two categories with one key.
    #[error("category key '{0}' appears twice")]
    DuplicateKey(String),
    /// No category has the key [`OTHER`], so unmatched waypoints would have nowhere to go.
    #[error("the data model has no '{OTHER}' category")]
    NoOther,
    /// The `[qc]` settings are unusable (a number not positive and finite, zero days); the text says which.
    #[error("[qc]: {0}")]
    BadQc(String),
}

/// The text of the default data model, shipped in `crates/core/data-model.toml`.
pub const DEFAULT_MODEL_TOML: &str = include_str!("../data-model.toml");

impl DataModel {
    /// The default data model (checked by a test, so this never fails).
    pub fn default_model() -> Self {
        let model: DataModel =
            toml_lite::parse(DEFAULT_MODEL_TOML).expect("the shipped data model parses");
        model.validate().expect("the shipped data model is valid");
        model
    }

    /// Check every key is a [`valid_key`] and unique, that [`OTHER`] is among them, and the `[qc]` settings.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut seen = std::collections::HashSet::new();
        for c in &self.categories {
            if !valid_key(&c.key) {
                return Err(ModelError::BadKey(c.key.clone()));
            }
            if !seen.insert(c.key.as_str()) {
                return Err(ModelError::DuplicateKey(c.key.clone()));
            }
        }
        if !seen.contains(OTHER) {
            return Err(ModelError::NoOther);
        }
        self.qc.validate().map_err(ModelError::BadQc)
    }

    /// The category with exactly this key; `None` when the data model has none.
    pub fn get(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }

    /// Whether the category with this key is a threat; `false` for a key the data model lacks.
    pub fn is_threat(&self, key: &str) -> bool {
        self.get(key).is_some_and(|c| c.threat)
    }

    /// The category of a GPS waypoint: its name, else its symbol, else its type,
    /// else `other`. Never fails: no waypoint is ever dropped.
    pub fn classify(&self, name: Option<&str>, sym: Option<&str>, kind: Option<&str>) -> &str {
        [name, sym, kind]
            .into_iter()
            .flatten()
            .find_map(|text| self.match_text(text))
            .unwrap_or(OTHER)
    }

    /// The key whose key, label or alias equals the normalised text.
    pub fn match_text(&self, text: &str) -> Option<&str> {
        let wanted = normalise(text);
        if wanted.is_empty() {
            return None;
        }
        let matches = |c: &Category| {
            normalise(&c.key.replace('_', " ")) == wanted
                || normalise(&c.key) == wanted
                || normalise(&c.label) == wanted
                || c.aliases.iter().any(|a| normalise(a) == wanted)
        };
        self.categories
            .iter()
            .find(|c| matches(c))
            .map(|c| c.key.as_str())
    }
}

/// Trim, lower-case, collapse inner white space, and drop a trailing serial:
/// an optional separator (space, `-`, `_`, `#`) followed by digits.
/// "  Wire   SNARE 2 " -> "wire snare"; "Rosewood-3" -> "rosewood"; "001" -> "001".
pub fn normalise(text: &str) -> String {
    let collapsed = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let without_digits = collapsed.trim_end_matches(|c: char| c.is_ascii_digit());
    if without_digits.len() == collapsed.len() {
        return collapsed;
    }
    let stem = without_digits.trim_end_matches([' ', '-', '_', '#']);
    // A name that is only a serial ("001") is kept as it is.
    if stem.is_empty() {
        collapsed
    } else {
        stem.trim_end().to_owned()
    }
}

/// The data model files are small and flat; parsed with the `toml` crate.
mod toml_lite {
    pub fn parse(text: &str) -> Result<super::DataModel, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

impl DataModel {
    /// Parse a data model file (TOML, as `crates/core/data-model.toml`) and validate it.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let model = toml_lite::parse(text)?;
        model.validate().map_err(|e| e.to_string())?;
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_drops_serials_and_space() {
        assert_eq!(normalise("  Wire   SNARE 2 "), "wire snare");
        assert_eq!(normalise("Rosewood-3"), "rosewood");
        assert_eq!(normalise("snare_12"), "snare");
        assert_eq!(normalise("camp#4"), "camp");
        assert_eq!(normalise("Snare2"), "snare");
        assert_eq!(normalise("001"), "001");
        assert_eq!(normalise("RAKOV12"), "rakov");
    }

    #[test]
    fn classify_follows_name_then_sym_then_type() {
        let m = DataModel::default_model();
        assert_eq!(m.classify(Some("Snare 2"), None, None), "snare");
        assert_eq!(m.classify(Some("Cut tree"), None, None), "logging");
        assert_eq!(m.classify(Some("Poacher Camp"), None, None), "poacher_camp");
        assert_eq!(m.classify(Some("poacher_camp"), None, None), "poacher_camp");
        assert_eq!(m.classify(Some("Illegal logging"), None, None), "logging");
        assert_eq!(
            m.classify(Some("WP 001"), Some("Hunting dog"), None),
            "hunting_dog"
        );
        assert_eq!(
            m.classify(Some("xyz"), Some("Flag, Blue"), Some("gunshot")),
            "gunshot"
        );
        assert_eq!(
            m.classify(Some("BIRDS NEST"), Some("City (Small)"), None),
            "other"
        );
        assert_eq!(m.classify(None, None, None), "other");
    }

    #[test]
    fn ambiguous_words_are_no_threat() {
        let m = DataModel::default_model();
        for word in [
            "Camp", "camp 3", "Dog", "Trap", "Shot", "Net", "Stump", "Rosewood", "Track",
        ] {
            let key = m.classify(Some(word), None, None);
            assert!(!m.is_threat(key), "{word} -> {key}");
        }
        assert_eq!(
            m.classify(Some("Poacher Camp 2"), None, None),
            "poacher_camp"
        );
        assert_eq!(m.classify(Some("Hunting dogs"), None, None), "hunting_dog");
        assert_eq!(m.classify(Some("Snare #4"), None, None), "snare");
        assert_eq!(m.classify(Some("Snare12"), None, None), "snare");
    }

    #[test]
    fn shipped_model_is_valid_and_has_ten_categories() {
        let m = DataModel::default_model();
        assert_eq!(m.categories.len(), 10);
        assert!(m.is_threat("snare"));
        assert!(!m.is_threat("wildlife_sign"));
    }

    #[test]
    fn bad_models_are_refused() {
        let dup = "[[category]]\nkey='a'\nlabel='A'\nthreat=true\n[[category]]\nkey='a'\nlabel='B'\nthreat=false\n";
        assert!(DataModel::from_toml(dup).is_err());
        let no_other = "[[category]]\nkey='a'\nlabel='A'\nthreat=true\n";
        assert!(DataModel::from_toml(no_other).is_err());
        // A key longer than MAX_KEY_LEN would be made, then refused by every merge.
        let long = format!(
            "[[category]]\nkey='{}'\nlabel='A'\nthreat=true\n[[category]]\nkey='other'\nlabel='O'\nthreat=false\n",
            "a".repeat(MAX_KEY_LEN + 1)
        );
        assert!(DataModel::from_toml(&long).is_err());
        assert!(valid_key(&"a".repeat(MAX_KEY_LEN)));
        assert!(!valid_key(&"a".repeat(MAX_KEY_LEN + 1)));
        assert!(!valid_key("") && !valid_key("Snare") && !valid_key("wire-snare"));
    }
}
