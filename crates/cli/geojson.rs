//! Reading a site boundary from GeoJSON: a Polygon or MultiPolygon, bare or in
//! a Feature or FeatureCollection.

use anyhow::{Context, Result, bail};
use serde_json::Value;

pub type Polygons = Vec<Vec<Vec<(f64, f64)>>>;

pub fn read_boundary(path: &std::path::Path) -> Result<Polygons> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let mut out = Vec::new();
    collect(&value, &mut out).with_context(|| format!("{}", path.display()))?;
    if out.is_empty() {
        bail!("{}: no Polygon or MultiPolygon in it", path.display());
    }
    Ok(out)
}

fn collect(v: &Value, out: &mut Polygons) -> Result<()> {
    match v.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            for f in v
                .get("features")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect(f, out)?;
            }
        }
        Some("Feature") => {
            if let Some(g) = v.get("geometry") {
                collect(g, out)?;
            }
        }
        Some("Polygon") => out.push(polygon(v.get("coordinates"))?),
        Some("MultiPolygon") => {
            for p in v
                .get("coordinates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(polygon(Some(p))?);
            }
        }
        Some("GeometryCollection") => {
            for g in v
                .get("geometries")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect(g, out)?;
            }
        }
        Some(other) => bail!("a {other} is not an area; a boundary is a Polygon or MultiPolygon"),
        None => bail!("not GeoJSON: no \"type\""),
    }
    Ok(())
}

fn polygon(coords: Option<&Value>) -> Result<Vec<Vec<(f64, f64)>>> {
    let rings = coords
        .and_then(Value::as_array)
        .context("a Polygon without coordinates")?;
    let mut out = Vec::new();
    for ring in rings {
        let mut pts = Vec::new();
        for p in ring.as_array().context("a ring is not an array")? {
            let lon = p
                .get(0)
                .and_then(Value::as_f64)
                .context("a position without longitude")?;
            let lat = p
                .get(1)
                .and_then(Value::as_f64)
                .context("a position without latitude")?;
            patrol_core::model::LatLon::new(lat, lon)?;
            pts.push((lon, lat));
        }
        if pts.len() < 4 {
            bail!("a ring needs at least 4 positions");
        }
        if pts.first() != pts.last() {
            pts.push(pts[0]);
        }
        out.push(pts);
    }
    if out.is_empty() {
        bail!("a Polygon without rings");
    }
    Ok(out)
}
