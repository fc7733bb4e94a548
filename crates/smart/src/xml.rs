//! The XML underneath: a document read in one pass into a small tree of
//! elements (names without their prefixes, attributes, text, the line of
//! each start tag), and the escaping of what we write.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::SmartError;

/// The deepest nesting read (SMART's files nest about 8 deep; a tree
/// attribute's nodes a few more).
pub const MAX_DEPTH: usize = 64;

/// The most elements read from one file.
pub const MAX_ELEMENTS: usize = 4_000_000;

/// An element: its local name, attributes (local names), text and children.
#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    /// The namespace the root element's name is in (set on the root only).
    pub namespace: Option<String>,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
    /// The line of its start tag, from 1.
    pub line: u64,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// An attribute, trimmed, `None` when absent or blank.
    pub fn attr_text(&self, name: &str) -> Option<&str> {
        self.attr(name).map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// A child's text, trimmed; `None` when absent or blank.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|s| !s.is_empty())
    }

    /// A boolean attribute (`true`/`false`/`1`/`0`); `None` when absent.
    pub fn attr_bool(&self, name: &str) -> Result<Option<bool>, SmartError> {
        self.attr_text(name)
            .map(|v| parse_bool(v).ok_or_else(|| self.bad(name, v, "true or false")))
            .transpose()
    }

    /// A number attribute; `None` when absent.
    pub fn attr_f64(&self, name: &str) -> Result<Option<f64>, SmartError> {
        self.attr_text(name)
            .map(|v| parse_f64(v).ok_or_else(|| self.bad(name, v, "a number")))
            .transpose()
    }

    pub fn bad(&self, what: &str, value: &str, expected: &str) -> SmartError {
        SmartError::at(
            self.line,
            format!(
                "<{}> {what} '{}' is not {expected}",
                self.name,
                value.chars().take(60).collect::<String>()
            ),
        )
    }

    pub fn missing(&self, what: &str) -> SmartError {
        SmartError::at(self.line, format!("<{}> has no {what}", self.name))
    }
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" | "TRUE" | "True" => Some(true),
        "false" | "0" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

pub fn parse_f64(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Counts lines up to a byte offset, moving forward only.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl Lines<'_> {
    fn line_at(&mut self, pos: u64) -> u64 {
        let pos = (pos as usize).min(self.text.len());
        if pos > self.at {
            self.line += self.text[self.at..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.at = pos;
        }
        self.line
    }
}

fn local(name: &[u8]) -> String {
    let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    String::from_utf8_lossy(local).into_owned()
}

fn element(e: &BytesStart<'_>, line: u64) -> Result<Element, SmartError> {
    let mut out = Element {
        name: local(e.name().as_ref()),
        line,
        ..Element::default()
    };
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|err| SmartError::at(line, format!("bad attribute: {err}")))?;
        let key = a.key.as_ref();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| SmartError::at(line, format!("bad attribute value: {err}")))?;
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            // Kept whole ("xmlns", "xmlns:p") for the root's namespace.
            out.attrs.push((
                String::from_utf8_lossy(key).into_owned(),
                value.into_owned(),
            ));
        } else {
            out.attrs.push((local(key), value.into_owned()));
        }
    }
    Ok(out)
}

/// The namespace of a root element named `qname` (with its prefix), from its `xmlns` attributes.
fn namespace_of(qname: &[u8], e: &Element) -> Option<String> {
    let want = match qname.iter().position(|b| *b == b':') {
        Some(i) => format!("xmlns:{}", String::from_utf8_lossy(&qname[..i])),
        None => "xmlns".to_owned(),
    };
    e.attrs
        .iter()
        .find(|(k, _)| *k == want)
        .map(|(_, v)| v.trim().to_owned())
}

/// Read a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, SmartError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    let mut lines = Lines {
        text: text.as_bytes(),
        at: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = lines.line_at(reader.error_position());
                return Err(SmartError::at(line, format!("not well-formed XML: {e}")));
            }
        };
        let line = lines.line_at(before);
        // The start tag's own line (after the whitespace before it, which is text).
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(SmartError::at(line, "content after the root element"));
                }
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(SmartError::at(
                        line,
                        format!(
                            "nested deeper than {MAX_DEPTH} or more than {MAX_ELEMENTS} elements"
                        ),
                    ));
                }
                let mut el = element(e, line)?;
                if stack.is_empty() {
                    el.namespace = namespace_of(e.name().as_ref(), &el);
                }
                if matches!(event, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().expect("the reader checks end names");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| SmartError::at(line, format!("bad text: {e}")))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(SmartError::at(line, "text outside the root element")),
                }
            }
            Event::CData(t) => {
                let s = t
                    .decode()
                    .map_err(|e| SmartError::at(line, format!("bad text: {e}")))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r
                            .decode()
                            .map_err(|e| SmartError::at(line, format!("bad reference: {e}")))?;
                        match &*name {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(SmartError::at(
                                    line,
                                    format!(
                                        "entity '&{other};' is not expanded (only XML's five and character references are)"
                                    ),
                                ));
                            }
                        }
                    }
                    Err(e) => return Err(SmartError::at(line, format!("bad reference: {e}"))),
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&resolved);
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(SmartError::at(
                        lines.line_at(reader.buffer_position()),
                        format!("the file ends inside <{}> (line {})", open.name, open.line),
                    ));
                }
                return root.ok_or_else(|| SmartError::at(line, "no root element"));
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

/// The local name and namespace of the root element of a document's first bytes.
pub fn root_namespace(head: &[u8]) -> Option<(String, String)> {
    let mut reader = quick_xml::Reader::from_reader(head);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) => {
                let el = element(&e, 1).ok()?;
                let ns = namespace_of(e.name().as_ref(), &el)?;
                return Some((el.name, ns));
            }
            Event::Eof => return None,
            _ => buf.clear(),
        }
    }
}

/// Text escaped for an attribute value or element content.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            // Not allowed in XML 1.0 at all: dropped.
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_entities() {
        let doc = "<?xml version=\"1.0\"?>\n<a xmlns=\"urn:x\">\n  <b v=\"1 &amp; 2\">x &lt; y&#33;</b>\n</a>\n";
        let root = parse(doc).unwrap();
        assert_eq!(root.namespace.as_deref(), Some("urn:x"));
        let b = root.child("b").unwrap();
        assert_eq!(
            (b.line, b.attr("v"), b.text.as_str()),
            (3, Some("1 & 2"), "x < y!")
        );
        let e = parse("<a>\n<b>\n</a>").unwrap_err();
        assert_eq!(e.line(), Some(3), "{e}");
        let e = parse("<!DOCTYPE a [<!ENTITY e \"boom\">]>\n<a>&e;</a>").unwrap_err();
        assert!(e.to_string().contains("not expanded"), "{e}");
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().to_string().contains("deeper"));
    }

    #[test]
    fn escapes_round_trip() {
        let s = "a&b<c>\"d'\ne";
        let root = parse(&format!("<a v=\"{}\">{}</a>", esc(s), esc(s))).unwrap();
        assert_eq!(root.attr("v"), Some(s));
        assert_eq!(root.text, s);
    }
}
