//! The data model as versioned records (schema 7): each category, each
//! attribute and the list of languages is a definition with immutable
//! versions in `model_versions`, merged like every record
//! ([`crate::records::Kind::Definition`]). `model_definitions` holds each
//! one's shown version; `categories` stays the flat projection the SQL reads
//! (label, effective threat, aliases) and is brought in step by [`project`].
//!
//! The model's order is the order definitions were first made (their first
//! version's clock, then key): the same in every database that holds them,
//! whatever order merges brought them in.

use std::collections::BTreeMap;

use patrol_core::attribute::Attribute;
use patrol_core::category::{Category, DataModel};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::records::{self, Definition, Kind, VersionMeta};
use crate::{Result, Store, StoreError};

/// The record key of the model's languages.
pub const LANGUAGES: &str = "languages";

/// The record key of a category.
pub fn category_key(key: &str) -> String {
    format!("category:{key}")
}

/// The record key of an attribute.
pub fn attribute_key(key: &str) -> String {
    format!("attribute:{key}")
}

/// Whether `text` is a definition's record key: `languages`, or
/// `category:` or `attribute:` and a valid key.
pub fn is_record_key(text: &str) -> bool {
    text == LANGUAGES
        || text
            .strip_prefix("category:")
            .or_else(|| text.strip_prefix("attribute:"))
            .is_some_and(patrol_core::category::valid_key)
}

/// A definition's JSON as stored: serde's compact form (its digest covers
/// these bytes, so they are written one way only).
fn body<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("definitions serialise")
}

/// Every definition of `model` (languages, attributes, categories, in the
/// model's order), as (record key, body).
fn definitions(model: &DataModel) -> Vec<(String, String)> {
    // No languages: the model's part that was given does not name them.
    let mut out: Vec<(String, String)> = (!model.languages.is_empty())
        .then(|| (LANGUAGES.to_owned(), body(&model.languages)))
        .into_iter()
        .collect();
    out.extend(
        model
            .attributes
            .iter()
            .map(|a| (attribute_key(&a.key), body(a))),
    );
    out.extend(
        model
            .categories
            .iter()
            .map(|c| (category_key(&c.key), body(c))),
    );
    out
}

/// What [`Store::put_data_model`] did, definition by definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModelChanges {
    /// Record keys defined here for the first time.
    pub added: Vec<String>,
    /// Record keys whose definition changed (a new version).
    pub changed: Vec<String>,
    /// How many definitions were already so.
    pub unchanged: u64,
}

/// Write every definition of `model` that differs from the one shown (or
/// is missing) as a new version following the record's heads, then
/// [`project`]. Definitions not in `model` are left as they are.
pub(crate) fn write(
    conn: &Connection,
    model: &DataModel,
    device: patrol_core::DeviceId,
    site: patrol_core::SiteId,
) -> Result<ModelChanges> {
    let mut changes = ModelChanges::default();
    for (record_key, text) in definitions(model) {
        let heads = records::heads(conn, Kind::Definition, &record_key)?;
        let shown: Option<String> = conn
            .query_row(
                "SELECT body FROM model_definitions WHERE record_key = ?1",
                [&record_key],
                |r| r.get(0),
            )
            .optional()?;
        if heads.len() <= 1 && shown.as_deref() == Some(text.as_str()) {
            changes.unchanged += 1;
            continue;
        }
        let parents = heads
            .iter()
            .map(|h| {
                h.version_id
                    .parse()
                    .map_err(|_| StoreError::Invalid(format!("bad version id '{}'", h.version_id)))
            })
            .collect::<Result<Vec<_>>>()?;
        let meta = VersionMeta::new_local(conn, device, site, parents)?;
        records::insert_definition(
            conn,
            &meta,
            &Definition {
                record_key: &record_key,
                body: &text,
            },
        )?;
        if shown.is_some() {
            changes.changed.push(record_key);
        } else {
            changes.added.push(record_key);
        }
    }
    project(conn)?;
    Ok(changes)
}

/// A `model_versions` row, as it is: version id, record key, parents,
/// hlc, device, site, deleted, digest, body.
pub(crate) type DefinitionRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    bool,
    String,
    String,
);

/// Insert `rows` (another database's versions, as they are), refresh each
/// definition they touch, and [`project`].
pub(crate) fn copy(conn: &Connection, rows: &[DefinitionRow]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO model_versions(version_id, record_key, parents, hlc, device_id, site_id, deleted, digest, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
    )?;
    let mut keys = std::collections::BTreeSet::new();
    for (version, key, parents, hlc, device, site, deleted, digest, body) in rows {
        insert.execute(params![
            version, key, parents, hlc, device, site, deleted, digest, body
        ])?;
        crate::observe_hlc(conn, *hlc)?;
        keys.insert(key.as_str());
    }
    for key in keys {
        records::refresh(conn, Kind::Definition, key)?;
    }
    project(conn)
}

/// The model the definitions make, in their order; `None` when there are
/// none (a database from before schema 7 read without upgrading it).
/// Categories the flat table has and no definition names (a key an
/// observation from an older file brought) are added at the end as they are.
pub(crate) fn read(conn: &Connection) -> Result<Option<DataModel>> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT record_key, body FROM model_definitions ORDER BY first_hlc, record_key",
        )?
        .query_map([], crate::row_tuple)?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let bad = |key: &str, e: serde_json::Error| {
        StoreError::Invalid(format!("stored definition of {key}: {e}"))
    };
    let mut model = DataModel {
        languages: vec!["en".to_owned()],
        categories: Vec::new(),
        attributes: Vec::new(),
        qc: patrol_core::qc::QcSettings::default(),
    };
    for (key, text) in &rows {
        if key == LANGUAGES {
            model.languages = serde_json::from_str(text).map_err(|e| bad(key, e))?;
        } else if key.starts_with("attribute:") {
            let a: Attribute = serde_json::from_str(text).map_err(|e| bad(key, e))?;
            model.attributes.push(a);
        } else {
            let c: Category = serde_json::from_str(text).map_err(|e| bad(key, e))?;
            model.categories.push(c);
        }
    }
    let defined: std::collections::HashSet<String> =
        model.categories.iter().map(|c| c.key.clone()).collect();
    for c in crate::query::flat_categories(conn)? {
        if !defined.contains(&c.key) {
            model.categories.push(c);
        }
    }
    Ok(Some(model))
}

/// Bring `categories` (and each observation's `threat`) in step with the
/// definitions: a row per defined category with its label, aliases and
/// effective threat (inherited down the tree). Rows of keys no definition
/// names are kept as they are.
pub fn project(conn: &Connection) -> Result<()> {
    let Some(model) = read(conn)? else {
        return Ok(());
    };
    let threat: BTreeMap<&str, bool> = model
        .categories
        .iter()
        .map(|c| (c.key.as_str(), model.is_threat(&c.key)))
        .collect();
    // A row's origin is its definition's first version's (device, site):
    // the same in every database, whichever file brought the row first.
    let mut upsert = conn.prepare_cached(
        "INSERT INTO categories(key, label, threat, aliases, origin_device, origin_site)
         SELECT ?1, ?2, ?3, ?4, f.device_id, f.site_id FROM
           (SELECT device_id, site_id FROM model_versions WHERE record_key = 'category:' || ?1
            ORDER BY hlc, version_id LIMIT 1) f
         WHERE true
         ON CONFLICT(key) DO UPDATE SET label = excluded.label, threat = excluded.threat,
           aliases = excluded.aliases, origin_device = excluded.origin_device,
           origin_site = excluded.origin_site
         WHERE label IS NOT excluded.label OR threat IS NOT excluded.threat
           OR aliases IS NOT excluded.aliases OR origin_device IS NOT excluded.origin_device
           OR origin_site IS NOT excluded.origin_site",
    )?;
    let mut observations = conn.prepare_cached(
        "UPDATE observations SET threat = ?2 WHERE category = ?1 AND threat IS NOT ?2",
    )?;
    for c in &model.categories {
        let t = threat[c.key.as_str()];
        upsert.execute(params![c.key, c.label, t, body(&c.aliases)])?;
        observations.execute(params![c.key, t])?;
    }
    Ok(())
}

/// A database from before schema 7 keeps its model in the flat
/// `categories` table: each row becomes a category definition (in its
/// order), with the attributes of the shipped model for the keys it shares
/// with it (what observations were checked against until now).
pub(crate) fn adopt_flat_categories(conn: &Connection) -> Result<()> {
    let have: i64 = conn.query_row("SELECT count(*) FROM model_versions", [], |r| r.get(0))?;
    if have > 0 {
        return Ok(());
    }
    let model = with_shipped_attributes(crate::query::flat_model(conn)?);
    let (device, site): (String, String) = conn.query_row(
        "SELECT (SELECT value FROM patrol_meta WHERE key = 'device_id'),
                (SELECT value FROM patrol_meta WHERE key = 'site_id')",
        [],
        crate::row_tuple,
    )?;
    let bad = |what: &str| StoreError::Invalid(format!("patrol_meta has a bad {what}"));
    let device = device.parse().map_err(|_| bad("device_id"))?;
    let site = site.parse().map_err(|_| bad("site_id"))?;
    write(conn, &model, device, site)?;
    Ok(())
}

/// `model` with the shipped model's attribute definitions, and each of its
/// categories that the shipped model has and lists no attribute given the
/// shipped one's (a model without attribute definitions is from before
/// they existed).
pub fn with_shipped_attributes(mut model: DataModel) -> DataModel {
    if !model.attributes.is_empty() {
        return model;
    }
    let shipped = DataModel::default_model();
    for c in &mut model.categories {
        if let Some(d) = shipped.get(&c.key)
            && c.attributes.is_empty()
        {
            c.attributes.clone_from(&d.attributes);
        }
    }
    model.attributes = shipped.attributes;
    model
}

impl Store {
    /// Make `model`'s definitions this database's: each category, attribute
    /// and the languages that differ from what is shown gets a new version
    /// (definitions `model` does not have are kept, so a file may hold only
    /// the definitions it changes). The model that results must be valid
    /// (keys, every parent and attribute defined, an `other` category);
    /// otherwise nothing is written. The quality-control settings
    /// of `model` are not touched (they are the site's, `site qc`).
    pub fn put_data_model(&mut self, model: &DataModel) -> Result<ModelChanges> {
        let mut combined = self.data_model()?;
        for c in &model.categories {
            match combined.categories.iter_mut().find(|k| k.key == c.key) {
                Some(k) => *k = c.clone(),
                None => combined.categories.push(c.clone()),
            }
        }
        for a in &model.attributes {
            match combined.attributes.iter_mut().find(|k| k.key == a.key) {
                Some(k) => *k = a.clone(),
                None => combined.attributes.push(a.clone()),
            }
        }
        if !model.languages.is_empty() {
            combined.languages.clone_from(&model.languages);
        }
        combined
            .validate()
            .map_err(|e| StoreError::Invalid(format!("with the definitions already here: {e}")))?;
        let tx = crate::write_tx(&self.conn)?;
        let (device, site) = (self.device, self.site.id);
        let changes = write(&tx, model, device, site)?;
        tx.commit()?;
        Ok(changes)
    }
}
