//! `patrol data-model show | import | export`: the categories (a tree),
//! their attributes and labels, as stored (versioned definitions, merged
//! like every record: `patrol_store::model`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use patrol_core::attribute::{Attribute, AttributeKind, Item};
use patrol_core::category::{Category, DataModel};
use patrol_report::table::{Table, escape};
use patrol_store::Store;
use serde::Serialize;

use crate::Outcome;
use crate::args::{DataModelCommand, ModelFormat};
use crate::output::Output;

pub fn run(store: &mut Store, command: &DataModelCommand) -> Result<Outcome> {
    match command {
        DataModelCommand::Show { json } => show(store, *json),
        DataModelCommand::Import { file, json } => import(store, file, *json),
        DataModelCommand::Export { format, out, force } => export(store, *format, out, *force),
    }
}

/// A category as `data-model show --json` gives it: its definition, and
/// whether its observations count as threats (its own setting, else its
/// parent's, down the tree).
#[derive(Serialize)]
struct CategoryView<'a> {
    #[serde(flatten)]
    category: &'a Category,
    is_threat: bool,
}

/// `data-model show --json`: the languages, the categories in the model's
/// order (the order a waypoint's name is matched in), the attributes.
#[derive(Serialize)]
struct ModelView<'a> {
    languages: &'a [String],
    categories: Vec<CategoryView<'a>>,
    attributes: &'a [Attribute],
}

fn show(store: &Store, json: bool) -> Result<Outcome> {
    let model = store.data_model()?;
    if json {
        super::json(&ModelView {
            languages: &model.languages,
            categories: model
                .categories
                .iter()
                .map(|c| CategoryView {
                    category: c,
                    is_threat: model.is_threat(&c.key),
                })
                .collect(),
            attributes: &model.attributes,
        })?;
        return Ok(Outcome::Done);
    }
    super::out(&render(&model))?;
    Ok(Outcome::Done)
}

/// Each category under `parent`, in the model's order, then its children.
fn walk(
    model: &DataModel,
    parent: Option<&str>,
    depth: usize,
    add: &mut dyn FnMut(&Category, usize),
) {
    for c in model.children(parent) {
        add(c, depth);
        walk(model, Some(&c.key), depth + 1, add);
    }
}

/// The model as people read it: the category tree (each under its parent),
/// then each attribute with its type and what it allows.
fn render(model: &DataModel) -> String {
    let mut out = format!(
        "{} categories, {} attributes; labels in {}\n\nCategories (* a required attribute):\n",
        model.categories.len(),
        model.attributes.len(),
        model.languages.join(", ")
    );
    let mut t = Table::new(&["category", "label", "threat", "attributes"]);
    let mut add = |c: &Category, depth: usize| {
        let attributes: Vec<String> = c
            .attributes
            .iter()
            .map(|a| format!("{}{}", a.key, if a.required { "*" } else { "" }))
            .collect();
        t.row([
            format!("{}{}", "  ".repeat(depth), escape(&c.key)),
            if c.active {
                escape(&c.label).into_owned()
            } else {
                format!("{} (no longer offered)", escape(&c.label))
            },
            if model.is_threat(&c.key) { "yes" } else { "no" }.to_owned(),
            if attributes.is_empty() {
                "-".to_owned()
            } else {
                attributes.join(", ")
            },
        ]);
    };
    walk(model, None, 0, &mut add);
    out.push_str(&t.render());
    if model.attributes.is_empty() {
        return out;
    }
    out.push_str("\nAttributes:\n");
    let mut t = Table::new(&["attribute", "type", "label", "allows"]);
    for a in &model.attributes {
        t.row([
            escape(&a.key).into_owned(),
            a.type_name().to_owned(),
            escape(&a.label).into_owned(),
            escape(&allows(a)).into_owned(),
        ]);
    }
    out.push_str(&t.render());
    out
}

/// What an attribute's values may be, in a line.
fn allows(a: &Attribute) -> String {
    fn items(list: &[Item]) -> String {
        list.iter()
            .map(|i| {
                if i.children.is_empty() {
                    i.key.clone()
                } else {
                    format!("{} ({})", i.key, items(&i.children))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
    match &a.kind {
        AttributeKind::Numeric { min, max, unit, .. } => {
            let range = match (min, max) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("{a} or more"),
                (None, Some(b)) => format!("up to {b}"),
                (None, None) => "any number".to_owned(),
            };
            let unit = unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
            let aggs: Vec<&str> = a.aggregations().iter().map(|g| g.as_str()).collect();
            format!("{range}{unit}; reports: {}", aggs.join(", "))
        }
        AttributeKind::Text { pattern: Some(p) } => format!("text matching /{p}/"),
        AttributeKind::Text { pattern: None } => "any text".to_owned(),
        AttributeKind::Boolean => "yes or no".to_owned(),
        AttributeKind::List { items: list } | AttributeKind::Tree { items: list } => items(list),
    }
}

/// A data model file: SMART's DataModel XML (by its root), else our TOML;
/// completed with what it leaves unsaid from `here` (`DataModel::completed_from`).
fn read_model(file: &Path, here: &DataModel) -> Result<DataModel> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let xml = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<');
    if xml {
        patrol_smart::read_data_model(&text)
            .map(|m| m.completed_from(here))
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}",
                    file.display(),
                    e.to_string().trim_start_matches("line ")
                )
            })
    } else {
        DataModel::part_from_toml(&text)
            .map(|m| m.completed_from(here))
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
    }
}

fn import(store: &mut Store, file: &Path, json: bool) -> Result<Outcome> {
    let before = store.data_model()?;
    let model = read_model(file, &before)?;
    let changes = store
        .put_data_model(&model)
        .with_context(|| format!("{}: nothing was changed", file.display()))?;
    // Whether a category counts as a threat moves every threat figure:
    // each change is said, whatever the output.
    let after = store.data_model()?;
    for c in &after.categories {
        let (was, is) = (
            before.get(&c.key).map(|_| before.is_threat(&c.key)),
            after.is_threat(&c.key),
        );
        if was.is_some_and(|w| w != is) {
            eprintln!(
                "note: category {} {}",
                c.key,
                if is {
                    "is now a threat: every report counts it as one"
                } else {
                    "is no longer a threat: no report counts it as one"
                }
            );
        }
    }
    if json {
        super::json(&changes)?;
        return Ok(Outcome::Done);
    }
    for key in &changes.added {
        eprintln!("added   {key}");
    }
    for key in &changes.changed {
        eprintln!("changed {key}");
    }
    eprintln!(
        "{}: {} added, {} changed, {} as they were",
        file.display(),
        changes.added.len(),
        changes.changed.len(),
        changes.unchanged
    );
    Ok(Outcome::Done)
}

fn export(store: &Store, format: ModelFormat, out: &Path, force: bool) -> Result<Outcome> {
    let model = store.data_model()?;
    let text = match format {
        ModelFormat::Smart => patrol_smart::write_data_model(&model),
        ModelFormat::Toml => model.to_toml(),
    };
    if text.is_empty() {
        bail!("the data model is empty: nothing to write");
    }
    Output::new(Some(store.path()), force).write(out, text.as_bytes())?;
    eprintln!(
        "wrote {}: {} categories, {} attributes",
        out.display(),
        model.categories.len(),
        model.attributes.len()
    );
    Ok(Outcome::Done)
}
