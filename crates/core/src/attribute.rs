//! Typed attributes: what an observation records beyond its category
//! ("7 removed", "forest elephant", "tusks gone"), as SMART has them.
//!
//! An attribute is defined once in the data model ([`Attribute`]) with a type
//! ([`AttributeKind`]); a category lists the attributes its observations take
//! ([`crate::category::CategoryAttribute`]), each required or not. Values
//! ([`Value`]) are checked against the definition by [`Attribute::check`]
//! and, from what a person typed, made by [`Attribute::parse`]: the one rule
//! for the CLI, the web forms, SMART's files and merge.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Labels in other languages: language code ("fr", "pt_BR") to text.
pub type Labels = BTreeMap<String, String>;

/// One attribute of the data model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The identifier stored with values and used in reports: a [`crate::category::valid_key`].
    pub key: String,
    /// The name people read, in the data model's first language.
    pub label: String,
    /// The name in other languages; empty when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// The type and what it allows.
    #[serde(flatten)]
    pub kind: AttributeKind,
}

/// An attribute's type, with what its values may be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AttributeKind {
    /// A number ("snares removed", "people arrested").
    Numeric {
        /// The smallest value allowed; `None`: no limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// The largest value allowed; `None`: no limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// What is counted or measured ("snares", "kg"); `None` when nothing is said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        /// How reports combine its values; empty means [`Aggregation::Sum`] alone.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        aggregations: Vec<Aggregation>,
    },
    /// Free text, optionally matching a regular expression.
    Text {
        /// A regular expression (Rust `regex` syntax) the whole value must match; `None`: any text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Yes or no.
    Boolean,
    /// One item of a flat list ("fresh", "old").
    List {
        /// The items, in the order people see them.
        items: Vec<Item>,
    },
    /// One node of a tree of items (a species taxonomy); any node may be chosen, not only a leaf.
    Tree {
        /// The top-level nodes, each with its children.
        items: Vec<Item>,
    },
}

/// An item of a list, or a node of a tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The identifier stored as the value: a [`crate::category::valid_key`], unique within the attribute.
    pub key: String,
    /// The name people read, in the data model's first language.
    pub label: String,
    /// The name in other languages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// Whether it is offered for new observations; an inactive item stays valid for old ones.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
    /// A tree node's children; always empty in a list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Item>,
}

#[allow(clippy::unnecessary_wraps)]
fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

/// How a report combines the values of a numeric attribute (SMART's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The total.
    Sum,
    /// The mean.
    Avg,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The sample standard deviation (n - 1); none with fewer than two values.
    StddevSamp,
    /// The sample variance (n - 1); none with fewer than two values.
    VarSamp,
}

impl Aggregation {
    /// Every aggregation, in the order reports show them.
    pub const ALL: [Aggregation; 6] = [
        Aggregation::Sum,
        Aggregation::Avg,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::StddevSamp,
        Aggregation::VarSamp,
    ];

    /// The name in JSON, TOML and SMART's XML ("sum", "stddev_samp").
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::StddevSamp => "stddev_samp",
            Aggregation::VarSamp => "var_samp",
        }
    }

    /// The aggregation of this name (exactly [`Aggregation::as_str`], any case).
    pub fn from_name(name: &str) -> Option<Aggregation> {
        Aggregation::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// This aggregation of the values; `None` when there are none (or, for
    /// the sample statistics, fewer than two).
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = values.len() as f64;
        let sum: f64 = values.iter().sum();
        let var = || {
            if values.len() < 2 {
                return None;
            }
            let mean = sum / n;
            Some(values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0))
        };
        match self {
            Aggregation::Sum => Some(sum),
            Aggregation::Avg => Some(sum / n),
            Aggregation::Min => values.iter().copied().reduce(f64::min),
            Aggregation::Max => values.iter().copied().reduce(f64::max),
            Aggregation::StddevSamp => var().map(f64::sqrt),
            Aggregation::VarSamp => var(),
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value of an attribute, as stored (JSON) and exchanged: a number for a
/// numeric attribute, `true`/`false` for a boolean, the item's key for a list
/// or tree, the text for a text attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean attribute's value.
    Bool(bool),
    /// A numeric attribute's value (finite).
    Number(f64),
    /// A text attribute's text, or a list or tree item's key.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{}", if *b { "yes" } else { "no" }),
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(t) => f.write_str(t),
        }
    }
}

/// The values of one observation: attribute key to value, in key order.
pub type Values = BTreeMap<String, Value>;

/// The longest text value, in bytes.
pub const MAX_TEXT_LEN: usize = 4096;

/// A value, or a set of values, that the data model does not allow. Every
/// message names the attribute and says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AttrError {
    /// The category has no such attribute.
    #[error("category '{category}' has no attribute '{key}' (it has: {})", list_or_none(.allowed))]
    NotOfCategory {
        /// The category.
        category: String,
        /// The attribute given.
        key: String,
        /// The attributes the category has.
        allowed: Vec<String>,
    },
    /// A required attribute without a value.
    #[error("category '{category}' requires attribute '{key}'")]
    Missing {
        /// The category.
        category: String,
        /// The attribute missing.
        key: String,
    },
    /// A value of the wrong kind (a word for a number, a number for an item).
    #[error("attribute '{key}' takes {expected}, not '{given}'")]
    WrongType {
        /// The attribute.
        key: String,
        /// What it takes ("a number", "yes or no", "one of: a, b").
        expected: String,
        /// What was given.
        given: String,
    },
    /// A number outside the attribute's range.
    #[error("attribute '{key}' takes a number from {} to {}, not {given}", bound(.min.as_ref()), bound(.max.as_ref()))]
    OutOfRange {
        /// The attribute.
        key: String,
        /// The value given.
        given: f64,
        /// The smallest allowed.
        min: Option<f64>,
        /// The largest allowed.
        max: Option<f64>,
    },
    /// An item key not in the list or tree.
    #[error("attribute '{key}' has no item '{given}' (items: {})", list_or_none(.allowed))]
    NotAnItem {
        /// The attribute.
        key: String,
        /// The value given.
        given: String,
        /// The items' keys.
        allowed: Vec<String>,
    },
    /// A text that does not match the attribute's pattern, or is too long.
    #[error("attribute '{key}' takes text matching {pattern}, not '{given}'")]
    NoMatch {
        /// The attribute.
        key: String,
        /// The pattern, or a description of the limit.
        pattern: String,
        /// The value given.
        given: String,
    },
    /// `KEY=VALUE` written without the `=`.
    #[error("'{0}' is not KEY=VALUE")]
    NotKeyValue(String),
    /// One attribute given twice.
    #[error("attribute '{0}' is given twice")]
    Twice(String),
    /// The category is not in the data model.
    #[error("no category '{0}' in the data model")]
    NoCategory(String),
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn bound(b: Option<&f64>) -> String {
    b.map_or_else(|| "any".to_owned(), ToString::to_string)
}

impl Attribute {
    /// The items of a list, or every node of a tree (depth first, parents
    /// before children); empty for other types.
    pub fn items(&self) -> Vec<&Item> {
        fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
            for i in items {
                out.push(i);
                walk(&i.children, out);
            }
        }
        let mut out = Vec::new();
        if let AttributeKind::List { items } | AttributeKind::Tree { items } = &self.kind {
            walk(items, &mut out);
        }
        out
    }

    /// The item with this key (a list item or any tree node).
    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items().into_iter().find(|i| i.key == key)
    }

    /// The keys from the top of the tree down to this node, the node last;
    /// the key alone for a list item; empty when there is no such item.
    pub fn item_path(&self, key: &str) -> Vec<&str> {
        fn find<'a>(items: &'a [Item], key: &str, path: &mut Vec<&'a str>) -> bool {
            for i in items {
                path.push(&i.key);
                if i.key == key || find(&i.children, key, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        if let AttributeKind::List { items } | AttributeKind::Tree { items } = &self.kind
            && !find(items, key, &mut path)
        {
            path.clear();
        }
        path
    }

    /// The aggregations reports compute: the model's, or [`Aggregation::Sum`]
    /// when it names none; empty for non-numeric attributes.
    pub fn aggregations(&self) -> Vec<Aggregation> {
        match &self.kind {
            AttributeKind::Numeric { aggregations, .. } if aggregations.is_empty() => {
                vec![Aggregation::Sum]
            }
            AttributeKind::Numeric { aggregations, .. } => aggregations.clone(),
            _ => Vec::new(),
        }
    }

    /// The type's name as JSON and TOML write it ("numeric", "tree").
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            AttributeKind::Numeric { .. } => "numeric",
            AttributeKind::Text { .. } => "text",
            AttributeKind::Boolean => "boolean",
            AttributeKind::List { .. } => "list",
            AttributeKind::Tree { .. } => "tree",
        }
    }

    fn item_keys(&self) -> Vec<String> {
        self.items().iter().map(|i| i.key.clone()).collect()
    }

    /// Check a value against the definition: its kind, range, item or pattern.
    pub fn check(&self, value: &Value) -> Result<(), AttrError> {
        let wrong = |expected: &str| AttrError::WrongType {
            key: self.key.clone(),
            expected: expected.to_owned(),
            given: value.to_string(),
        };
        match (&self.kind, value) {
            (AttributeKind::Numeric { min, max, .. }, Value::Number(n)) => {
                if !n.is_finite() || min.is_some_and(|m| *n < m) || max.is_some_and(|m| *n > m) {
                    return Err(AttrError::OutOfRange {
                        key: self.key.clone(),
                        given: *n,
                        min: *min,
                        max: *max,
                    });
                }
                Ok(())
            }
            (AttributeKind::Numeric { .. }, _) => Err(wrong("a number")),
            (AttributeKind::Boolean, Value::Bool(_)) => Ok(()),
            (AttributeKind::Boolean, _) => Err(wrong("yes or no")),
            (AttributeKind::Text { pattern }, Value::Text(t)) => {
                if t.len() > MAX_TEXT_LEN
                    || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
                {
                    return Err(AttrError::NoMatch {
                        key: self.key.clone(),
                        pattern: format!("at most {MAX_TEXT_LEN} bytes without control characters"),
                        given: t.chars().take(40).collect(),
                    });
                }
                if let Some(p) = pattern {
                    let ok = anchored(p).is_ok_and(|re| re.is_match(t));
                    if !ok {
                        return Err(AttrError::NoMatch {
                            key: self.key.clone(),
                            pattern: format!("/{p}/"),
                            given: t.clone(),
                        });
                    }
                }
                Ok(())
            }
            (AttributeKind::Text { .. }, _) => Err(wrong("text")),
            (AttributeKind::List { .. } | AttributeKind::Tree { .. }, Value::Text(t)) => {
                if self.item(t).is_some() {
                    Ok(())
                } else {
                    Err(AttrError::NotAnItem {
                        key: self.key.clone(),
                        given: t.clone(),
                        allowed: self.item_keys(),
                    })
                }
            }
            (AttributeKind::List { .. } | AttributeKind::Tree { .. }, _) => {
                Err(AttrError::NotAnItem {
                    key: self.key.clone(),
                    given: value.to_string(),
                    allowed: self.item_keys(),
                })
            }
        }
    }

    /// The value a person typed, read by the attribute's type and checked: a
    /// number ("7", "2.5"), yes/no (also true/false, 1/0, y/n), an item's key
    /// (or its label, any case), or text.
    pub fn parse(&self, text: &str) -> Result<Value, AttrError> {
        let t = text.trim();
        let value = match &self.kind {
            AttributeKind::Numeric { .. } => match t.parse::<f64>() {
                Ok(n) if n.is_finite() => Value::Number(n),
                _ => {
                    return Err(AttrError::WrongType {
                        key: self.key.clone(),
                        expected: "a number".to_owned(),
                        given: text.to_owned(),
                    });
                }
            },
            AttributeKind::Boolean => match t.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "1" => Value::Bool(true),
                "no" | "n" | "false" | "0" => Value::Bool(false),
                _ => {
                    return Err(AttrError::WrongType {
                        key: self.key.clone(),
                        expected: "yes or no".to_owned(),
                        given: text.to_owned(),
                    });
                }
            },
            AttributeKind::List { .. } | AttributeKind::Tree { .. } => {
                let found = self.item(t).or_else(|| {
                    let lower = t.to_lowercase();
                    self.items()
                        .into_iter()
                        .find(|i| i.label.to_lowercase() == lower)
                });
                Value::Text(found.map_or_else(|| t.to_owned(), |i| i.key.clone()))
            }
            AttributeKind::Text { .. } => Value::Text(text.to_owned()),
        };
        self.check(&value)?;
        Ok(value)
    }

    /// What is wrong with the definition itself, if anything: keys, items,
    /// the range, the pattern, aggregations on a non-numeric type.
    pub fn problem(&self) -> Option<String> {
        if !crate::category::valid_key(&self.key) {
            return Some(format!(
                "attribute key '{}' is not 1 to {} lower-case letters, digits and '_'",
                self.key,
                crate::category::MAX_KEY_LEN
            ));
        }
        match &self.kind {
            AttributeKind::Numeric { min, max, .. } => {
                if min.is_some_and(|m| !m.is_finite()) || max.is_some_and(|m| !m.is_finite()) {
                    return Some(format!(
                        "attribute '{}': min and max must be finite",
                        self.key
                    ));
                }
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    return Some(format!(
                        "attribute '{}': min {a} is above max {b}",
                        self.key
                    ));
                }
            }
            AttributeKind::Text { pattern: Some(p) } => {
                if let Err(e) = anchored(p) {
                    return Some(format!(
                        "attribute '{}': pattern /{p}/ is not a regular expression: {e}",
                        self.key
                    ));
                }
            }
            AttributeKind::List { items } if items.iter().any(|i| !i.children.is_empty()) => {
                return Some(format!(
                    "attribute '{}': a list's items have no children (use type = \"tree\")",
                    self.key
                ));
            }
            _ => {}
        }
        let mut seen = std::collections::HashSet::new();
        for i in self.items() {
            if !crate::category::valid_key(&i.key) {
                return Some(format!(
                    "attribute '{}': item key '{}' is not a valid key",
                    self.key, i.key
                ));
            }
            if !seen.insert(i.key.as_str()) {
                return Some(format!(
                    "attribute '{}': item '{}' appears twice",
                    self.key, i.key
                ));
            }
        }
        if matches!(
            self.kind,
            AttributeKind::List { .. } | AttributeKind::Tree { .. }
        ) && seen.is_empty()
        {
            return Some(format!("attribute '{}' has no items", self.key));
        }
        None
    }
}

/// A pattern matching the whole text, as SMART's `qa_regex` is meant.
fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(min: Option<f64>, max: Option<f64>) -> Attribute {
        Attribute {
            key: "count".into(),
            label: "Count".into(),
            labels: Labels::new(),
            kind: AttributeKind::Numeric {
                min,
                max,
                unit: None,
                aggregations: vec![],
            },
        }
    }

    fn item(key: &str, children: Vec<Item>) -> Item {
        Item {
            key: key.into(),
            label: key.replace('_', " "),
            labels: Labels::new(),
            active: true,
            children,
        }
    }

    fn tree() -> Attribute {
        Attribute {
            key: "species".into(),
            label: "Species".into(),
            labels: Labels::new(),
            kind: AttributeKind::Tree {
                items: vec![item(
                    "mammal",
                    vec![item("elephant", vec![item("forest_elephant", vec![])])],
                )],
            },
        }
    }

    #[test]
    fn numbers_are_read_and_ranged() {
        let a = numeric(Some(0.0), Some(100.0));
        assert_eq!(a.parse(" 7 ").unwrap(), Value::Number(7.0));
        let e = a.parse("seven").unwrap_err();
        assert_eq!(
            e.to_string(),
            "attribute 'count' takes a number, not 'seven'"
        );
        let e = a.parse("101").unwrap_err();
        assert_eq!(
            e.to_string(),
            "attribute 'count' takes a number from 0 to 100, not 101"
        );
        assert!(a.parse("NaN").is_err() && a.parse("inf").is_err());
        assert!(a.check(&Value::Text("7".into())).is_err());
        assert!(numeric(None, None).parse("-1e9").is_ok());
    }

    #[test]
    fn booleans_take_yes_and_no() {
        let a = Attribute {
            kind: AttributeKind::Boolean,
            ..numeric(None, None)
        };
        assert_eq!(a.parse("Yes").unwrap(), Value::Bool(true));
        assert_eq!(a.parse("0").unwrap(), Value::Bool(false));
        assert!(
            a.parse("maybe")
                .unwrap_err()
                .to_string()
                .contains("yes or no")
        );
        assert!(a.check(&Value::Number(1.0)).is_err());
    }

    #[test]
    fn tree_items_by_key_or_label() {
        let a = tree();
        assert_eq!(
            a.parse("forest_elephant").unwrap(),
            Value::Text("forest_elephant".into())
        );
        assert_eq!(
            a.parse("Forest Elephant").unwrap(),
            Value::Text("forest_elephant".into())
        );
        assert_eq!(a.parse("mammal").unwrap(), Value::Text("mammal".into()));
        let e = a.parse("lion").unwrap_err();
        assert_eq!(
            e.to_string(),
            "attribute 'species' has no item 'lion' (items: mammal, elephant, forest_elephant)"
        );
        assert_eq!(
            a.item_path("forest_elephant"),
            vec!["mammal", "elephant", "forest_elephant"]
        );
        assert!(a.item_path("lion").is_empty());
        assert!(a.problem().is_none());
    }

    #[test]
    fn text_patterns_match_whole() {
        let a = Attribute {
            kind: AttributeKind::Text {
                pattern: Some("[A-Z]{2}[0-9]+".into()),
            },
            ..numeric(None, None)
        };
        assert!(a.parse("AB12").is_ok());
        assert!(a.parse("xAB12").is_err());
        assert!(a.parse("AB12x").is_err());
        let bad = Attribute {
            kind: AttributeKind::Text {
                pattern: Some("(".into()),
            },
            ..numeric(None, None)
        };
        assert!(bad.problem().unwrap().contains("not a regular expression"));
        let free = Attribute {
            kind: AttributeKind::Text { pattern: None },
            ..numeric(None, None)
        };
        assert!(free.parse("anything at all").is_ok());
        assert!(free.parse("bell\u{7}").is_err());
    }

    #[test]
    fn definitions_are_checked() {
        assert!(
            numeric(Some(5.0), Some(1.0))
                .problem()
                .unwrap()
                .contains("above max")
        );
        let mut t = tree();
        if let AttributeKind::Tree { items } = &mut t.kind {
            items.push(item("elephant", vec![]));
        }
        assert!(t.problem().unwrap().contains("appears twice"));
        let empty = Attribute {
            kind: AttributeKind::List { items: vec![] },
            ..numeric(None, None)
        };
        assert!(empty.problem().unwrap().contains("no items"));
    }

    #[test]
    fn aggregations_follow_smart() {
        let v = [2.0, 4.0, 9.0];
        assert_eq!(Aggregation::Sum.apply(&v), Some(15.0));
        assert_eq!(Aggregation::Avg.apply(&v), Some(5.0));
        assert_eq!(Aggregation::Min.apply(&v), Some(2.0));
        assert_eq!(Aggregation::Max.apply(&v), Some(9.0));
        assert_eq!(Aggregation::VarSamp.apply(&v), Some(13.0));
        assert_eq!(Aggregation::StddevSamp.apply(&[1.0]), None);
        assert_eq!(Aggregation::Sum.apply(&[]), None);
        assert_eq!(
            Aggregation::from_name("STDDEV_SAMP"),
            Some(Aggregation::StddevSamp)
        );
        assert_eq!(numeric(None, None).aggregations(), vec![Aggregation::Sum]);
    }

    #[test]
    fn values_serialise_plainly() {
        let mut v = Values::new();
        v.insert("count".into(), Value::Number(7.0));
        v.insert("fresh".into(), Value::Bool(true));
        v.insert("species".into(), Value::Text("forest_elephant".into()));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(
            json,
            r#"{"count":7.0,"fresh":true,"species":"forest_elephant"}"#
        );
        assert_eq!(serde_json::from_str::<Values>(&json).unwrap(), v);
    }
}
