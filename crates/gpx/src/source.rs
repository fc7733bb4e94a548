//! Byte source: encoding detection, transcoding to UTF-8 and line counting.

use std::io::{self, BufRead, Chain, Cursor, Read};

use encoding_rs::Encoding;
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use crate::Error;

/// How many bytes are examined for a byte-order mark and an XML declaration.
const SNIFF_LEN: u64 = 1024;
/// Size of the [`LineCounter`] buffer.
const BUF_LEN: usize = 64 * 1024;

type Prefixed<R> = Chain<Cursor<Vec<u8>>, R>;

/// The input as UTF-8: passed through, or transcoded from its encoding.
pub(crate) enum Source<R> {
    Utf8(Prefixed<R>),
    Transcoded(Box<DecodeReaderBytes<Prefixed<R>, Vec<u8>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Utf8(r) => r.read(out),
            Source::Transcoded(r) => r.read(out),
        }
    }
}

/// Reads the start of `r`, decides its encoding and returns a UTF-8 stream
/// without a byte-order mark.
pub(crate) fn open<R: Read>(mut r: R) -> Result<Source<R>, Error> {
    let mut prefix = Vec::with_capacity(SNIFF_LEN as usize);
    r.by_ref()
        .take(SNIFF_LEN)
        .read_to_end(&mut prefix)
        .map_err(|source| Error::Io { line: None, source })?;
    match sniff(&prefix)? {
        None => {
            if prefix.starts_with(b"\xEF\xBB\xBF") {
                prefix.drain(..3);
            }
            Ok(Source::Utf8(Cursor::new(prefix).chain(r)))
        }
        Some(encoding) => Ok(Source::Transcoded(Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .strip_bom(true)
                .build(Cursor::new(prefix).chain(r)),
        ))),
    }
}

/// `None` means UTF-8 (no transcoding needed).
fn sniff(p: &[u8]) -> Result<Option<&'static Encoding>, Error> {
    if p.starts_with(b"\xEF\xBB\xBF") {
        return Ok(None);
    }
    if p.starts_with(b"\xFF\xFE") || p.starts_with(b"<\0?\0") {
        return Ok(Some(encoding_rs::UTF_16LE));
    }
    if p.starts_with(b"\xFE\xFF") || p.starts_with(b"\0<\0?") {
        return Ok(Some(encoding_rs::UTF_16BE));
    }
    let Some(label) = declared_encoding(p) else {
        return Ok(None);
    };
    match Encoding::for_label(label) {
        // The bytes are ASCII-compatible, so a UTF-16 label is a lie: read as UTF-8.
        Some(e)
            if e == encoding_rs::UTF_8
                || e == encoding_rs::UTF_16LE
                || e == encoding_rs::UTF_16BE =>
        {
            Ok(None)
        }
        Some(e) if e != encoding_rs::REPLACEMENT => Ok(Some(e)),
        _ => Err(Error::Encoding {
            line: Some(1),
            message: format!(
                "unknown character encoding '{}'",
                String::from_utf8_lossy(label)
            ),
        }),
    }
}

/// The `encoding` pseudo-attribute of an `<?xml ...?>` declaration at the start.
fn declared_encoding(p: &[u8]) -> Option<&[u8]> {
    let start = p.iter().position(|b| !b.is_ascii_whitespace())?;
    let p = p[start..].strip_prefix(b"<?xml")?;
    let decl = &p[..memchr::memmem::find(p, b"?>")?];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let rest = decl[at + b"encoding".len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    let quote = *rest.first().filter(|q| matches!(q, b'"' | b'\''))?;
    let rest = &rest[1..];
    let end = memchr::memchr(quote, rest)?;
    Some(rest[..end].trim_ascii())
}

/// Runs of bytes without `<`, `>` or `&` longer than this are cut: the bytes
/// past it are skipped up to the next of those (their newlines still
/// counted), so the XML reader, which holds a whole text in memory, never
/// holds more than this of one. Text is the only place such runs occur in a
/// GPX file of any sense; a skipped run ending in `]]` or `--` keeps them, so
/// a long CDATA section or comment still closes. Must not be less than
/// `BUF_LEN`: one fill then holds at most the end of one run and the start of
/// another.
const MAX_RUN: usize = crate::MAX_TEXT;
const _: () = assert!(MAX_RUN >= BUF_LEN);

/// A buffered reader that counts the newlines of the bytes consumed from it,
/// so the parser's position can be turned into a line number exactly, and
/// cuts runs of text longer than [`MAX_RUN`].
///
/// Counting is lazy: [`LineCounter::line`] counts the bytes consumed since the
/// last call, and a refill counts whatever was left, so each byte is looked
/// at once, in as few (SIMD) passes as there are queries.
pub(crate) struct LineCounter<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    /// `buf[..counted]` has been counted into `newlines`.
    counted: usize,
    newlines: u64,
    consumed: u64,
    /// Whether the last byte of the previous buffer fill was a newline.
    last_was_newline: bool,
    /// Bytes read from `inner` and not yet passed on: `raw[raw_pos..raw_len]`.
    raw: Box<[u8]>,
    raw_pos: usize,
    raw_len: usize,
    /// Length of the current run without `<`, `>` or `&`.
    run: usize,
    /// Skipping the rest of a run that was too long.
    skipping: bool,
    /// The last (up to) two bytes skipped.
    tail: Vec<u8>,
    /// How many runs were cut.
    cuts: u64,
}

impl<R: Read> LineCounter<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineCounter {
            inner,
            buf: vec![0; BUF_LEN].into_boxed_slice(),
            pos: 0,
            filled: 0,
            counted: 0,
            newlines: 0,
            consumed: 0,
            last_was_newline: false,
            raw: vec![0; BUF_LEN].into_boxed_slice(),
            raw_pos: 0,
            raw_len: 0,
            run: 0,
            skipping: false,
            tail: Vec::with_capacity(2),
            cuts: 0,
        }
    }

    /// Fill the empty `buf` from `raw` (reading `inner` when it is used up),
    /// cutting runs longer than `MAX_RUN`. A fill stops where skipping would
    /// start, so skipped newlines are counted after every byte before them
    /// was consumed.
    fn refill(&mut self) -> io::Result<()> {
        loop {
            if self.raw_pos == self.raw_len {
                if self.filled > 0 {
                    return Ok(());
                }
                let n = loop {
                    match self.inner.read(&mut self.raw) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                };
                if n == 0 {
                    return Ok(());
                }
                (self.raw_pos, self.raw_len) = (0, n);
            }
            let avail = &self.raw[self.raw_pos..self.raw_len];
            if self.skipping {
                let end = memchr::memchr3(b'<', b'>', b'&', avail);
                let skipped = &avail[..end.unwrap_or(avail.len())];
                self.newlines += count_newlines(skipped);
                self.tail
                    .extend_from_slice(&skipped[skipped.len().saturating_sub(2)..]);
                let drop = self.tail.len().saturating_sub(2);
                self.tail.drain(..drop);
                self.raw_pos += skipped.len();
                if end.is_some() {
                    self.skipping = false;
                    self.run = 0;
                    // `]]>` and `-->` still close what they close.
                    let keep = self
                        .tail
                        .iter()
                        .rev()
                        .take_while(|&&b| b == b']' || b == b'-')
                        .count();
                    let from = self.tail.len() - keep;
                    self.buf[self.filled..self.filled + keep].copy_from_slice(&self.tail[from..]);
                    self.filled += keep;
                    self.tail.clear();
                }
                continue;
            }
            let space = self.buf.len() - self.filled;
            if space == 0 {
                return Ok(());
            }
            let avail = &avail[..avail.len().min(space)];
            let first = memchr::memchr3(b'<', b'>', b'&', avail).unwrap_or(avail.len());
            if self.run + first > MAX_RUN {
                // Keep up to the limit, at a character boundary, then skip.
                let mut k = MAX_RUN - self.run;
                while k > 0 && avail[k] & 0xC0 == 0x80 {
                    k -= 1;
                }
                self.buf[self.filled..self.filled + k].copy_from_slice(&avail[..k]);
                self.filled += k;
                self.raw_pos += k;
                self.run += k;
                self.skipping = true;
                self.cuts += 1;
                if self.filled > 0 {
                    return Ok(());
                }
                continue;
            }
            let len = avail.len();
            self.buf[self.filled..self.filled + len].copy_from_slice(avail);
            self.run = match memchr::memrchr3(b'<', b'>', b'&', avail) {
                Some(j) => len - j - 1,
                None => self.run + len,
            };
            self.filled += len;
            self.raw_pos += len;
        }
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    if bytes.len() < 32 {
        bytes.iter().map(|&b| u64::from(b == b'\n')).sum()
    } else {
        memchr::memchr_iter(b'\n', bytes).count() as u64
    }
}

impl<R> LineCounter<R> {
    fn sync(&mut self) {
        if self.counted < self.pos {
            self.newlines += count_newlines(&self.buf[self.counted..self.pos]);
            self.counted = self.pos;
        }
    }

    /// 1-based line of the next byte to be consumed.
    pub(crate) fn line(&mut self) -> u64 {
        self.sync();
        self.newlines + 1
    }

    /// 1-based line of the last byte consumed (for "end of file" errors).
    pub(crate) fn last_line(&mut self) -> u64 {
        self.sync();
        let last_is_newline = match self.pos {
            0 => self.last_was_newline,
            p => self.buf[p - 1] == b'\n',
        };
        if last_is_newline {
            self.newlines
        } else {
            self.newlines + 1
        }
    }

    /// How many runs of text were cut so far.
    pub(crate) fn cuts(&self) -> u64 {
        self.cuts
    }

    /// Bytes consumed so far (same coordinates as quick-xml's positions).
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.sync();
            if self.filled > 0 {
                self.last_was_newline = self.buf[self.filled - 1] == b'\n';
            }
            self.filled = 0;
            self.pos = 0;
            self.counted = 0;
            self.refill()?;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.filled - self.pos);
        self.pos += amt;
        self.consumed += amt as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(p: &str) -> Option<&[u8]> {
        declared_encoding(p.as_bytes())
    }

    #[test]
    fn finds_declared_encoding() {
        assert_eq!(
            label(r#"<?xml version="1.0" encoding="ISO-8859-1"?><gpx/>"#),
            Some(&b"ISO-8859-1"[..])
        );
        assert_eq!(
            label("\n <?xml version='1.0' encoding = 'windows-1252' ?>"),
            Some(&b"windows-1252"[..])
        );
        assert_eq!(label(r#"<?xml version="1.0"?><gpx encoding="x"/>"#), None);
        assert_eq!(label("<gpx/>"), None);
    }

    #[test]
    fn sniffs() {
        assert!(
            sniff(b"\xEF\xBB\xBF<?xml version='1.0'?>")
                .unwrap()
                .is_none()
        );
        assert_eq!(sniff(b"\xFF\xFE<\0").unwrap(), Some(encoding_rs::UTF_16LE));
        assert_eq!(sniff(b"\0<\0?\0x").unwrap(), Some(encoding_rs::UTF_16BE));
        assert_eq!(
            sniff(b"<?xml version='1.0' encoding='latin1'?>").unwrap(),
            Some(encoding_rs::WINDOWS_1252)
        );
        assert!(
            sniff(b"<?xml version='1.0' encoding='utf-16'?>")
                .unwrap()
                .is_none()
        );
        let e = sniff(b"<?xml version='1.0' encoding='klingon'?>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: unknown character encoding 'klingon'"
        );
    }

    #[test]
    fn long_runs_are_cut_and_their_lines_still_counted() {
        let long = "é".repeat(MAX_RUN);
        let input = format!("<a>{long}\n\n</a>\n<![CDATA[{long}]]>\n<b/>");
        let mut lc = LineCounter::new(input.as_bytes());
        let mut out = Vec::new();
        lc.read_to_end(&mut out).unwrap();
        let out = String::from_utf8(out).expect("cut at a character boundary");
        assert_eq!(lc.cuts(), 2);
        assert!(out.len() < 2 * MAX_RUN + 100, "{}", out.len());
        assert!(out.starts_with("<a>é"));
        assert!(out.contains("é</a>\n<![CDATA[é"), "{}", &out[..40]);
        assert!(out.ends_with("é]]>\n<b/>"));
        assert_eq!(lc.line(), 5);
    }

    #[test]
    fn counts_lines_of_consumed_bytes() {
        let mut lc = LineCounter::new(&b"a\nb\n\nc"[..]);
        assert_eq!(lc.line(), 1);
        lc.fill_buf().unwrap();
        lc.consume(2);
        assert_eq!((lc.line(), lc.last_line(), lc.consumed()), (2, 1, 2));
        lc.consume(3);
        assert_eq!((lc.line(), lc.last_line()), (4, 3));
        let mut rest = String::new();
        lc.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "c");
        assert_eq!((lc.line(), lc.last_line(), lc.consumed()), (4, 4, 6));
    }
}
