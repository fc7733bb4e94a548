//! The data model: observation categories, and how a GPS waypoint finds one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attribute::{AttrError, Attribute, AttributeKind, Value, Values};

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

/// One category of observation: a node of the category tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The identifier stored on observations and used in reports: a [`valid_key`], unique in the whole tree.
    pub key: String,
    /// The name people read ("Poacher camp") in reports and on the map; also matched against waypoint names.
    pub label: String,
    /// The name in other languages (language code to text); empty when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The parent category's key (threats > snares > wire snare); `None` at the top of the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Whether its observations count as threats (threat counts, threats per
    /// 100 km, per patrol-day, per cell); `None` inherits the parent's, and a
    /// top category without one is no threat. Read it with [`DataModel::is_threat`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat: Option<bool>,
    /// The attributes its observations take, besides those its ancestors list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<CategoryAttribute>,
    /// Whether it is offered for new observations; an inactive category stays valid for old ones.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
    /// Other names meaning this category, matched after [`normalise`]; empty when the TOML gives none.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// An attribute a category's observations take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryAttribute {
    /// The attribute's key: an [`Attribute::key`] of the data model.
    pub key: String,
    /// Whether an observation of the category must have a value for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

#[allow(clippy::unnecessary_wraps)]
fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

/// The categories of one database, their attributes, and its quality-control settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataModel {
    /// The languages of labels, the first being the one of every `label`
    /// (`languages = ["en", "fr"]` in the TOML; `["en"]` when absent).
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// Every category (`[[category]]` in the TOML), in the order matching tries them; one is [`OTHER`].
    #[serde(rename = "category", default)]
    pub categories: Vec<Category>,
    /// Every attribute definition (`[[attribute]]` in the TOML); empty when there are none.
    #[serde(rename = "attribute", default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    /// Speed ceilings per transport and the pause and stay limits
    /// (`[qc]` in the TOML; the defaults when absent).
    #[serde(default)]
    pub qc: crate::qc::QcSettings,
}

fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
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
    /// The category tree or an attribute definition is unusable: a parent
    /// that does not exist, a cycle, an attribute listed but not defined, a
    /// bad item or range; the text says which.
    #[error("{0}")]
    BadTree(String),
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
        let mut defined = std::collections::HashSet::new();
        for a in &self.attributes {
            if let Some(p) = a.problem() {
                return Err(ModelError::BadTree(p));
            }
            if !defined.insert(a.key.as_str()) {
                return Err(ModelError::BadTree(format!(
                    "attribute key '{}' appears twice",
                    a.key
                )));
            }
        }
        for c in &self.categories {
            if let Some(p) = &c.parent
                && !seen.contains(p.as_str())
            {
                return Err(ModelError::BadTree(format!(
                    "category '{}' has parent '{p}', which is not a category",
                    c.key
                )));
            }
            let mut listed = std::collections::HashSet::new();
            for a in &c.attributes {
                if !defined.contains(a.key.as_str()) {
                    return Err(ModelError::BadTree(format!(
                        "category '{}' lists attribute '{}', which is not defined",
                        c.key, a.key
                    )));
                }
                if !listed.insert(a.key.as_str()) {
                    return Err(ModelError::BadTree(format!(
                        "category '{}' lists attribute '{}' twice",
                        c.key, a.key
                    )));
                }
            }
            // Walking up from any category ends at a top one within as many steps as there are categories.
            let mut at = c;
            for _ in 0..=self.categories.len() {
                match at.parent.as_deref().and_then(|p| self.get(p)) {
                    Some(up) => at = up,
                    None => break,
                }
            }
            if at.parent.is_some() {
                return Err(ModelError::BadTree(format!(
                    "category '{}' is its own ancestor",
                    c.key
                )));
            }
        }
        if self.get(OTHER).is_some_and(|o| o.parent.is_some()) {
            return Err(ModelError::BadTree(format!(
                "'{OTHER}' must be a top category"
            )));
        }
        if self.languages.is_empty() {
            return Err(ModelError::BadTree(
                "languages: give at least one".to_owned(),
            ));
        }
        self.qc.validate().map_err(ModelError::BadQc)
    }

    /// The category and its ancestors, the category first; empty for a key the data model lacks.
    pub fn lineage(&self, key: &str) -> Vec<&Category> {
        let mut out: Vec<&Category> = Vec::new();
        let mut next = self.get(key);
        while let Some(c) = next {
            if out.iter().any(|seen| seen.key == c.key) {
                break;
            }
            out.push(c);
            next = c.parent.as_deref().and_then(|p| self.get(p));
        }
        out
    }

    /// The categories directly below this one, in model order (the top categories for `None`).
    pub fn children(&self, key: Option<&str>) -> Vec<&Category> {
        self.categories
            .iter()
            .filter(|c| c.parent.as_deref() == key)
            .collect()
    }

    /// The category and every category below it, the category first, depth first.
    pub fn subtree(&self, key: &str) -> Vec<&Category> {
        let mut out = Vec::new();
        let mut todo: Vec<&Category> = self.get(key).into_iter().collect();
        while let Some(c) = todo.pop() {
            if out.iter().any(|seen: &&Category| seen.key == c.key) {
                continue;
            }
            out.push(c);
            let mut kids = self.children(Some(&c.key));
            kids.reverse();
            todo.extend(kids);
        }
        out
    }

    /// The attribute definition with this key.
    pub fn attribute(&self, key: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.key == key)
    }

    /// The attributes a category's observations take: its ancestors' first
    /// (the top one's first), then its own; a category listing an attribute
    /// its ancestor lists sets whether it is required.
    pub fn attributes_of(&self, category: &str) -> Vec<(&Attribute, bool)> {
        let mut out: Vec<(&Attribute, bool)> = Vec::new();
        for c in self.lineage(category).into_iter().rev() {
            for ca in &c.attributes {
                let Some(a) = self.attribute(&ca.key) else {
                    continue;
                };
                match out.iter_mut().find(|(have, _)| have.key == a.key) {
                    Some(slot) => slot.1 = ca.required,
                    None => out.push((a, ca.required)),
                }
            }
        }
        out
    }

    /// Check an observation's values against its category: each attribute
    /// belongs to the category, each value to its attribute, and every
    /// required attribute has one.
    pub fn check_values(&self, category: &str, values: &Values) -> Result<(), AttrError> {
        if self.get(category).is_none() {
            return Err(AttrError::NoCategory(category.to_owned()));
        }
        let allowed = self.attributes_of(category);
        for (key, value) in values {
            let Some((a, _)) = allowed.iter().find(|(a, _)| &a.key == key) else {
                return Err(AttrError::NotOfCategory {
                    category: category.to_owned(),
                    key: key.clone(),
                    allowed: allowed.iter().map(|(a, _)| a.key.clone()).collect(),
                });
            };
            a.check(value)?;
        }
        if let Some((a, _)) = allowed
            .iter()
            .find(|(a, required)| *required && !values.contains_key(&a.key))
        {
            return Err(AttrError::Missing {
                category: category.to_owned(),
                key: a.key.clone(),
            });
        }
        Ok(())
    }

    /// Values from `KEY=VALUE` texts, read by each attribute's type, on top
    /// of `base` (an observation's values before an edit; an empty value
    /// removes one), and checked with [`DataModel::check_values`].
    pub fn parse_values<S: AsRef<str>>(
        &self,
        category: &str,
        base: &Values,
        pairs: &[S],
    ) -> Result<Values, AttrError> {
        if self.get(category).is_none() {
            return Err(AttrError::NoCategory(category.to_owned()));
        }
        let allowed = self.attributes_of(category);
        let mut out = base.clone();
        let mut given = std::collections::HashSet::new();
        for pair in pairs {
            let pair = pair.as_ref();
            let (key, text) = pair
                .split_once('=')
                .ok_or_else(|| AttrError::NotKeyValue(pair.to_owned()))?;
            let key = key.trim();
            if !given.insert(key.to_owned()) {
                return Err(AttrError::Twice(key.to_owned()));
            }
            // An empty value removes one, whatever the category allows (so a
            // value the category no longer takes can be cleared).
            if text.trim().is_empty() {
                out.remove(key);
                continue;
            }
            let Some((a, _)) = allowed.iter().find(|(a, _)| a.key == key) else {
                return Err(AttrError::NotOfCategory {
                    category: category.to_owned(),
                    key: key.to_owned(),
                    allowed: allowed.iter().map(|(a, _)| a.key.clone()).collect(),
                });
            };
            out.insert(key.to_owned(), a.parse(text)?);
        }
        self.check_values(category, &out)?;
        Ok(out)
    }

    /// The category with exactly this key; `None` when the data model has none.
    pub fn get(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }

    /// Whether the category with this key is a threat: its own flag, else its
    /// nearest ancestor's, else not; `false` for a key the data model lacks.
    pub fn is_threat(&self, key: &str) -> bool {
        self.lineage(key)
            .iter()
            .find_map(|c| c.threat)
            .unwrap_or(false)
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
    /// `key=value, ...` in the data model's order of attributes (then by key):
    /// numbers as given, yes/no, a list or tree item by its label.
    pub fn values_text(&self, values: &Values) -> String {
        let mut pairs: Vec<(usize, &String, String)> = values
            .iter()
            .map(|(key, value)| {
                let def = self.attribute(key);
                let shown = match (def.map(|d| &d.kind), value) {
                    (
                        Some(AttributeKind::List { .. } | AttributeKind::Tree { .. }),
                        Value::Text(item),
                    ) => def
                        .and_then(|d| d.item(item))
                        .map_or_else(|| item.clone(), |i| i.label.clone()),
                    _ => value.to_string(),
                };
                let order = self
                    .attributes
                    .iter()
                    .position(|a| &a.key == key)
                    .unwrap_or(usize::MAX);
                (order, key, shown)
            })
            .collect();
        pairs.sort();
        pairs
            .into_iter()
            .map(|(_, k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Parse a data model file (TOML, as `crates/core/data-model.toml`) and validate it.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let model = toml_lite::parse(text)?;
        model.validate().map_err(|e| e.to_string())?;
        Ok(model)
    }

    /// Definitions from a data model file that may hold only some of a
    /// model (those it adds or changes): parsed, not validated on their own
    /// (see [`DataModel::validate`] of the model they are put over).
    /// A file that does not name its `languages` leaves them empty (the
    /// languages of the model it is put over stay).
    pub fn part_from_toml(text: &str) -> Result<Self, String> {
        let mut part = toml_lite::parse(text)?;
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        if !table.contains_key("languages") {
            part.languages.clear();
        }
        Ok(part)
    }

    /// Definitions to be put over the model `here`, with what they leave
    /// unsaid taken from it: a category `here` has keeps its threat setting
    /// when the definition gives none (SMART's files never do), and its
    /// aliases and attributes when it lists none. So importing a model
    /// never turns threats into non-threats, unmatches waypoint names or
    /// drops what rangers record, by leaving them out.
    #[must_use]
    pub fn completed_from(mut self, here: &DataModel) -> DataModel {
        for c in &mut self.categories {
            let Some(h) = here.get(&c.key) else {
                continue;
            };
            if c.threat.is_none() {
                c.threat = h.threat.or_else(|| here.is_threat(&h.key).then_some(true));
            }
            if c.aliases.is_empty() {
                c.aliases.clone_from(&h.aliases);
            }
            if c.attributes.is_empty() {
                c.attributes.clone_from(&h.attributes);
            }
        }
        self
    }

    /// The model as a data model file ([`DataModel::from_toml`] reads it back equal).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a data model serialises to TOML")
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
    fn what_a_definition_leaves_unsaid_is_taken_from_the_model_here() {
        let here = DataModel::default_model();
        let part = DataModel::part_from_toml(
            "[[category]]\nkey = \"snare\"\nlabel = \"Wire snare\"\n\n[[category]]\nkey = \"gunshot\"\nlabel = \"Shots\"\nthreat = false\naliases = [\"bang\"]\n\n[[category]]\nkey = \"new_one\"\nlabel = \"New\"\n",
        )
        .unwrap();
        assert!(
            part.languages.is_empty(),
            "not named: left to the model here"
        );
        let done = part.completed_from(&here);
        let snare = done.get("snare").unwrap();
        assert_eq!(snare.label, "Wire snare");
        assert_eq!(snare.threat, Some(true));
        assert_eq!(snare.aliases, here.get("snare").unwrap().aliases);
        assert_eq!(snare.attributes, here.get("snare").unwrap().attributes);
        // What the file says wins.
        let gunshot = done.get("gunshot").unwrap();
        assert_eq!(
            (gunshot.threat, gunshot.aliases.clone()),
            (Some(false), vec!["bang".to_owned()])
        );
        // A category new here keeps its silence.
        let new = done.get("new_one").unwrap();
        assert_eq!((new.threat, new.aliases.len()), (None, 0));
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

    fn tree_model() -> DataModel {
        let text = r#"
[[category]]
key = "threat"
label = "Threats"
threat = true
[[category]]
key = "snares"
label = "Snares"
parent = "threat"
attributes = [{ key = "count" }]
[[category]]
key = "wire_snare"
label = "Wire snare"
parent = "snares"
attributes = [{ key = "count", required = true }, { key = "age" }]
[[category]]
key = "pitfall"
label = "Pitfall"
parent = "snares"
threat = false
[[category]]
key = "other"
label = "Other"
[[attribute]]
key = "count"
label = "Count"
type = "numeric"
min = 0
[[attribute]]
key = "age"
label = "Age"
type = "list"
items = [{ key = "fresh", label = "Fresh" }, { key = "old", label = "Old" }]
"#;
        DataModel::from_toml(text).unwrap()
    }

    #[test]
    fn threat_is_inherited_unless_overridden() {
        let m = tree_model();
        assert!(m.is_threat("threat") && m.is_threat("snares") && m.is_threat("wire_snare"));
        assert!(!m.is_threat("pitfall") && !m.is_threat("other") && !m.is_threat("nope"));
        let keys = |v: Vec<&Category>| v.iter().map(|c| c.key.clone()).collect::<Vec<_>>();
        assert_eq!(
            keys(m.lineage("wire_snare")),
            ["wire_snare", "snares", "threat"]
        );
        assert_eq!(
            keys(m.subtree("threat")),
            ["threat", "snares", "wire_snare", "pitfall"]
        );
        assert_eq!(keys(m.children(None)), ["threat", "other"]);
    }

    #[test]
    fn attributes_are_inherited_and_checked() {
        let m = tree_model();
        let of = m.attributes_of("wire_snare");
        assert_eq!(
            of.iter()
                .map(|(a, r)| (a.key.as_str(), *r))
                .collect::<Vec<_>>(),
            [("count", true), ("age", false)]
        );
        assert_eq!(m.attributes_of("pitfall").len(), 1);
        let none = Values::new();
        let v = m
            .parse_values("wire_snare", &none, &["count=7", "age=Fresh"])
            .unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"age":"fresh","count":7.0}"#
        );
        let err = |pairs: &[&str]| {
            m.parse_values("wire_snare", &none, pairs)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&["age=old"]),
            "category 'wire_snare' requires attribute 'count'"
        );
        assert_eq!(
            err(&["count=7", "colour=red"]),
            "category 'wire_snare' has no attribute 'colour' (it has: count, age)"
        );
        assert_eq!(
            err(&["count=-1"]),
            "attribute 'count' takes a number from 0 to any, not -1"
        );
        assert_eq!(
            err(&["count=7", "age=rotten"]),
            "attribute 'age' has no item 'rotten' (items: fresh, old)"
        );
        assert_eq!(
            err(&["count=1", "count=2"]),
            "attribute 'count' is given twice"
        );
        assert_eq!(err(&["count"]), "'count' is not KEY=VALUE");
        assert!(
            m.parse_values("snares", &none, &[] as &[&str])
                .unwrap()
                .is_empty()
        );
        // An edit on top of stored values; an empty value removes one.
        let edited = m.parse_values("wire_snare", &v, &["age="]).unwrap();
        assert_eq!(edited.len(), 1);
        assert!(m.parse_values("other", &v, &[] as &[&str]).is_err());
    }

    #[test]
    fn bad_trees_are_refused() {
        let base = "[[category]]\nkey='other'\nlabel='O'\n";
        let bad = |extra: &str| DataModel::from_toml(&format!("{base}{extra}")).unwrap_err();
        assert!(bad("[[category]]\nkey='a'\nlabel='A'\nparent='b'\n").contains("not a category"));
        assert!(bad("[[category]]\nkey='a'\nlabel='A'\nparent='b'\n[[category]]\nkey='b'\nlabel='B'\nparent='a'\n").contains("own ancestor"));
        assert!(
            bad("[[category]]\nkey='a'\nlabel='A'\nattributes=[{key='x'}]\n")
                .contains("not defined")
        );
        assert!(
            bad("[[attribute]]\nkey='x'\nlabel='X'\ntype='list'\nitems=[]\n").contains("no items")
        );
        assert!(bad("[[attribute]]\nkey='x'\nlabel='X'\ntype='colour'\n").contains("colour"));
    }

    #[test]
    fn shipped_model_has_attributes() {
        let m = DataModel::default_model();
        assert!(
            m.attribute("species")
                .is_some_and(|a| a.item("sambar").is_some())
        );
        assert_eq!(m.attributes_of("snare")[0].0.key, "count");
        let toml_again = toml::to_string(&m).unwrap();
        assert_eq!(DataModel::from_toml(&toml_again).unwrap(), m);
    }
}
