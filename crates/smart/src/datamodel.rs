//! SMART's DataModel XML: languages, attributes (with their types, names,
//! aggregations, list items and tree nodes) and the category tree.
//!
//! SMART's keys are kept as they are: they are the stable identifiers both
//! systems store with observations. What SMART's format has no place for is
//! written as extra attributes and elements SMART ignores: a numeric
//! attribute's `<unit>`, a category's `threat` flag and its `<alias>` names.
//! The quality-control settings are not part of the file (a model read has
//! the defaults). A model without an [`OTHER`] category is given one.

use std::fmt::Write as _;

use patrol_core::attribute::{Aggregation, Attribute, AttributeKind, Item, Labels};
use patrol_core::category::{Category, CategoryAttribute, DataModel, OTHER};

use crate::SmartError;
use crate::xml::{self, Element, esc};

/// The namespace of SMART's DataModel XML.
pub const NAMESPACE: &str = "http://www.smartconservationsoftware.org/xml/1.0/datamodel";

/// Read SMART's DataModel XML. The model is checked
/// ([`DataModel::validate`]); a problem names the line of the element.
pub fn read_data_model(text: &str) -> Result<DataModel, SmartError> {
    let root = xml::parse(text)?;
    if root.name != "DataModel" || root.namespace.as_deref() != Some(NAMESPACE) {
        return Err(SmartError::at(
            root.line,
            format!(
                "the root element is <{}> in namespace '{}', not SMART's <DataModel> in {NAMESPACE}",
                root.name,
                root.namespace.as_deref().unwrap_or("")
            ),
        ));
    }
    let mut languages: Vec<String> = root
        .child("languages")
        .into_iter()
        .flat_map(|l| &l.children)
        .filter_map(|l| l.attr_text("code").map(str::to_owned))
        .collect();
    if languages.is_empty() {
        languages.push("en".to_owned());
    }
    let mut attributes = Vec::new();
    let mut required_by_default = std::collections::HashMap::new();
    for a in root
        .child("attributes")
        .into_iter()
        .flat_map(|a| a.all("attribute"))
    {
        let attribute = read_attribute(a, &languages)?;
        required_by_default.insert(
            attribute.key.clone(),
            a.attr_bool("isrequired")?.unwrap_or(false),
        );
        attributes.push(attribute);
    }
    let mut categories = Vec::new();
    for c in root
        .child("categories")
        .into_iter()
        .flat_map(|c| c.all("category"))
    {
        read_category(c, None, &languages, &required_by_default, &mut categories)?;
    }
    if !categories.iter().any(|c| c.key == OTHER) {
        categories.push(Category {
            key: OTHER.to_owned(),
            label: "Other".to_owned(),
            labels: Labels::new(),
            parent: None,
            threat: None,
            attributes: Vec::new(),
            active: true,
            aliases: Vec::new(),
        });
    }
    let model = DataModel {
        languages,
        categories,
        attributes,
        qc: patrol_core::qc::QcSettings::default(),
    };
    model
        .validate()
        .map_err(|e| SmartError::at(root.line, format!("the data model is not usable: {e}")))?;
    Ok(model)
}

/// The label in the first language and the others, from `<names>`.
fn names(e: &Element, languages: &[String], fallback: &str) -> (String, Labels) {
    let mut labels = Labels::new();
    for n in e.all("names") {
        let (Some(code), Some(value)) = (n.attr_text("language_code"), n.attr("value")) else {
            continue;
        };
        labels
            .entry(code.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let label = labels
        .remove(&languages[0])
        .or_else(|| labels.values().next().cloned())
        .unwrap_or_else(|| fallback.to_owned());
    (label, labels)
}

fn key_of(e: &Element, attr: &str) -> Result<String, SmartError> {
    let key = e.attr_text(attr).ok_or_else(|| e.missing(attr))?;
    if !patrol_core::category::valid_key(key) {
        return Err(e.bad(attr, key, "a key of lower-case letters, digits and '_'"));
    }
    Ok(key.to_owned())
}

fn number(e: &Element, names: &[&str]) -> Result<Option<f64>, SmartError> {
    for n in names {
        if let Some(v) = e.child_text(n) {
            return xml::parse_f64(v)
                .map(Some)
                .ok_or_else(|| e.bad(n, v, "a number"));
        }
        if let Some(v) = e.attr_f64(n)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn read_attribute(a: &Element, languages: &[String]) -> Result<Attribute, SmartError> {
    let key = key_of(a, "key")?;
    let (label, labels) = names(a, languages, &key);
    let kind_name = a.attr_text("type").ok_or_else(|| a.missing("type"))?;
    let kind = match kind_name.to_ascii_uppercase().as_str() {
        "NUMERIC" => {
            let mut aggregations = Vec::new();
            for g in a.all("aggregations") {
                let name = g.attr_text("aggregation").unwrap_or_default();
                let agg = Aggregation::from_name(name).ok_or_else(|| {
                    g.bad(
                        "aggregation",
                        name,
                        "sum, avg, min, max, stddev_samp or var_samp",
                    )
                })?;
                if !aggregations.contains(&agg) {
                    aggregations.push(agg);
                }
            }
            aggregations.sort();
            AttributeKind::Numeric {
                min: number(a, &["qa_minValue", "minValue", "min_value"])?,
                max: number(a, &["qa_maxValue", "maxValue", "max_value"])?,
                unit: a.child_text("unit").map(str::to_owned),
                aggregations,
            }
        }
        "TEXT" => AttributeKind::Text {
            pattern: a.child_text("qa_regex").map(str::to_owned),
        },
        "BOOLEAN" => AttributeKind::Boolean,
        "LIST" => AttributeKind::List {
            items: a
                .all("values")
                .map(|v| read_item(v, languages, false))
                .collect::<Result<_, _>>()?,
        },
        "TREE" => AttributeKind::Tree {
            items: a
                .all("tree")
                .map(|v| read_item(v, languages, true))
                .collect::<Result<_, _>>()?,
        },
        other => {
            return Err(a.bad("type", other, "NUMERIC, TEXT, BOOLEAN, LIST or TREE"));
        }
    };
    Ok(Attribute {
        key,
        label,
        labels,
        kind,
    })
}

fn read_item(e: &Element, languages: &[String], tree: bool) -> Result<Item, SmartError> {
    let key = key_of(e, "key")?;
    let (label, labels) = names(e, languages, &key);
    let children = if tree {
        e.all("children")
            .map(|c| read_item(c, languages, true))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    Ok(Item {
        key,
        label,
        labels,
        active: e.attr_bool("isactive")?.unwrap_or(true),
        children,
    })
}

fn read_category(
    c: &Element,
    parent: Option<&str>,
    languages: &[String],
    required_by_default: &std::collections::HashMap<String, bool>,
    out: &mut Vec<Category>,
) -> Result<(), SmartError> {
    let key = key_of(c, "key")?;
    let (label, labels) = names(c, languages, &key);
    let mut attributes = Vec::new();
    for a in c.all("attribute") {
        let akey = key_of(a, "attributekey")?;
        let required = match a.attr_bool("isrequired")? {
            Some(r) => r,
            None => required_by_default.get(&akey).copied().unwrap_or(false),
        };
        attributes.push(CategoryAttribute {
            key: akey,
            required,
        });
    }
    out.push(Category {
        key: key.clone(),
        label,
        labels,
        parent: parent.map(str::to_owned),
        threat: c.attr_bool("threat")?,
        attributes,
        active: c.attr_bool("isactive")?.unwrap_or(true),
        aliases: c
            .all("alias")
            .filter_map(|a| a.attr("value").map(str::to_owned))
            .collect(),
    });
    for child in c.all("category") {
        read_category(child, Some(&key), languages, required_by_default, out)?;
    }
    Ok(())
}

/// Write a data model as SMART's DataModel XML. Categories are written as
/// their tree (each under its parent, in the model's order), so a model
/// whose categories are in tree order reads back equal.
pub fn write_data_model(model: &DataModel) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    let _ = writeln!(out, "<DataModel xmlns=\"{NAMESPACE}\">");
    out.push_str("  <languages>\n");
    for l in &model.languages {
        let _ = writeln!(out, "    <language code=\"{}\"/>", esc(l));
    }
    out.push_str("  </languages>\n  <attributes>\n");
    let first = model.languages.first().map_or("en", String::as_str);
    for a in &model.attributes {
        write_attribute(&mut out, a, first);
    }
    out.push_str("  </attributes>\n  <categories>\n");
    for c in model.categories.iter().filter(|c| c.parent.is_none()) {
        write_category(&mut out, model, c, first, 2);
    }
    out.push_str("  </categories>\n</DataModel>\n");
    out
}

fn write_names(out: &mut String, label: &str, labels: &Labels, first: &str, indent: usize) {
    let pad = "  ".repeat(indent);
    let _ = writeln!(
        out,
        "{pad}<names language_code=\"{}\" value=\"{}\"/>",
        esc(first),
        esc(label)
    );
    for (code, value) in labels {
        let _ = writeln!(
            out,
            "{pad}<names language_code=\"{}\" value=\"{}\"/>",
            esc(code),
            esc(value)
        );
    }
}

fn write_attribute(out: &mut String, a: &Attribute, first: &str) {
    let type_name = a.type_name().to_ascii_uppercase();
    let _ = writeln!(
        out,
        "    <attribute key=\"{}\" isrequired=\"false\" type=\"{type_name}\">",
        esc(&a.key)
    );
    match &a.kind {
        AttributeKind::Numeric {
            min,
            max,
            unit,
            aggregations,
        } => {
            for g in aggregations {
                let _ = writeln!(out, "      <aggregations aggregation=\"{g}\"/>");
            }
            if let Some(m) = min {
                let _ = writeln!(out, "      <qa_minValue>{m}</qa_minValue>");
            }
            if let Some(m) = max {
                let _ = writeln!(out, "      <qa_maxValue>{m}</qa_maxValue>");
            }
            if let Some(u) = unit {
                let _ = writeln!(out, "      <unit>{}</unit>", esc(u));
            }
        }
        AttributeKind::Text { pattern } => {
            let _ = writeln!(
                out,
                "      <qa_regex>{}</qa_regex>",
                esc(pattern.as_deref().unwrap_or(""))
            );
        }
        AttributeKind::Boolean => {}
        AttributeKind::List { items } => {
            for i in items {
                write_item(out, i, "values", first, 3);
            }
        }
        AttributeKind::Tree { items } => {
            for i in items {
                write_item(out, i, "tree", first, 3);
            }
        }
    }
    write_names(out, &a.label, &a.labels, first, 3);
    out.push_str("    </attribute>\n");
}

fn write_item(out: &mut String, i: &Item, tag: &str, first: &str, indent: usize) {
    let pad = "  ".repeat(indent);
    let _ = writeln!(
        out,
        "{pad}<{tag} key=\"{}\" isactive=\"{}\">",
        esc(&i.key),
        i.active
    );
    write_names(out, &i.label, &i.labels, first, indent + 1);
    for c in &i.children {
        write_item(out, c, "children", first, indent + 1);
    }
    let _ = writeln!(out, "{pad}</{tag}>");
}

fn write_category(out: &mut String, model: &DataModel, c: &Category, first: &str, indent: usize) {
    let pad = "  ".repeat(indent);
    let threat = c
        .threat
        .map(|t| format!(" threat=\"{t}\""))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad}<category key=\"{}\" ismultiple=\"true\" isactive=\"{}\"{threat}>",
        esc(&c.key),
        c.active
    );
    write_names(out, &c.label, &c.labels, first, indent + 1);
    for a in &c.attributes {
        let _ = writeln!(
            out,
            "{pad}  <attribute isactive=\"true\" attributekey=\"{}\" isrequired=\"{}\"/>",
            esc(&a.key),
            a.required
        );
    }
    for a in &c.aliases {
        let _ = writeln!(out, "{pad}  <alias value=\"{}\"/>", esc(a));
    }
    for child in model
        .categories
        .iter()
        .filter(|x| x.parent.as_deref() == Some(&c.key))
    {
        write_category(out, model, child, first, indent + 1);
    }
    let _ = writeln!(out, "{pad}</category>");
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<DataModel xmlns="http://www.smartconservationsoftware.org/xml/1.0/datamodel">
    <languages><language code="en"/><language code="fr"/></languages>
    <attributes>
        <attribute key="count" isrequired="true" type="NUMERIC">
            <aggregations aggregation="sum"/><aggregations aggregation="avg"/>
            <qa_minValue>0</qa_minValue>
            <names language_code="en" value="Count"/><names language_code="fr" value="Nombre"/>
        </attribute>
        <attribute key="age" isrequired="false" type="LIST">
            <values key="fresh" isactive="true"><names language_code="en" value="Fresh"/></values>
            <values key="old" isactive="false"><names language_code="en" value="Old"/></values>
            <names language_code="en" value="Age"/>
        </attribute>
        <attribute key="species" isrequired="false" type="TREE">
            <tree key="mammal" isactive="true"><names language_code="en" value="Mammal"/>
                <children key="elephant" isactive="true"><names language_code="en" value="Elephant"/></children>
            </tree>
            <names language_code="en" value="Species"/>
        </attribute>
        <attribute key="note" isrequired="false" type="TEXT"><qa_regex></qa_regex><names language_code="en" value="Note"/></attribute>
    </attributes>
    <categories>
        <category key="threats" ismultiple="true" isactive="true">
            <names language_code="en" value="Threats"/>
            <category key="snare" ismultiple="true" isactive="true">
                <names language_code="en" value="Snare"/>
                <attribute isactive="true" attributekey="count"/>
                <attribute isactive="true" attributekey="age"/>
            </category>
        </category>
        <category key="animal" ismultiple="true" isactive="false">
            <names language_code="en" value="Animal"/>
            <attribute isactive="true" attributekey="species"/>
            <attribute isactive="true" attributekey="note"/>
        </category>
    </categories>
</DataModel>
"#;

    #[test]
    fn reads_smart_shapes() {
        let m = read_data_model(SAMPLE).unwrap();
        assert_eq!(m.languages, ["en", "fr"]);
        let count = m.attribute("count").unwrap();
        assert_eq!(count.labels.get("fr").map(String::as_str), Some("Nombre"));
        assert!(matches!(
            count.kind,
            AttributeKind::Numeric { min: Some(0.0), max: None, ref aggregations, .. }
                if aggregations == &[Aggregation::Sum, Aggregation::Avg]
        ));
        assert!(!m.attribute("age").unwrap().item("old").unwrap().active);
        assert_eq!(
            m.attribute("species").unwrap().item_path("elephant"),
            ["mammal", "elephant"]
        );
        assert!(matches!(
            m.attribute("note").unwrap().kind,
            AttributeKind::Text { pattern: None }
        ));
        let snare = m.get("snare").unwrap();
        assert_eq!(snare.parent.as_deref(), Some("threats"));
        // isrequired on the definition is the default of each category's use.
        assert!(snare.attributes[0].required && !snare.attributes[1].required);
        assert!(!m.get("animal").unwrap().active);
        assert!(m.get(OTHER).is_some());
    }

    #[test]
    fn written_then_read_is_equal() {
        let mut m = read_data_model(SAMPLE).unwrap();
        m.categories[0].threat = Some(true);
        m.categories[1].aliases = vec!["wire & snare".into()];
        if let AttributeKind::Numeric { unit, max, .. } = &mut m.attributes[0].kind {
            *unit = Some("snares".into());
            *max = Some(1e6);
        }
        if let AttributeKind::Text { pattern } = &mut m.attributes[3].kind {
            *pattern = Some("[A-Z]{2}<\\d+>".into());
        }
        let back = read_data_model(&write_data_model(&m)).unwrap();
        assert_eq!(back, m);
        let default = DataModel::default_model();
        let mut d = read_data_model(&write_data_model(&default)).unwrap();
        d.qc = default.qc;
        // The default model's categories are in tree order.
        assert_eq!(d, default);
    }

    #[test]
    fn refusals_name_the_line() {
        let e = read_data_model("<DataModel xmlns=\"urn:other\"/>").unwrap_err();
        assert!(e.to_string().contains("not SMART's"), "{e}");
        let bad = SAMPLE.replace("type=\"TEXT\"", "type=\"COLOUR\"");
        let e = read_data_model(&bad).unwrap_err();
        assert_eq!(e.line(), Some(21), "{e}");
        let bad = SAMPLE.replace("key=\"snare\"", "key=\"Snare!\"");
        assert!(
            read_data_model(&bad)
                .unwrap_err()
                .to_string()
                .contains("Snare!")
        );
    }
}
