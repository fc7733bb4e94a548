//! The 100-byte SQLite header, read by hand before SQLite opens the file.

use std::io::Read;
use std::path::Path;

use patrol_store::APPLICATION_ID;

use super::Incoming;
use crate::SyncError;

/// Read the header of the copy: nothing of SQLite runs on it yet. Errors
/// name `path`, the file as given.
pub(crate) fn check_header(path: &Path, incoming: &Incoming) -> Result<(), SyncError> {
    let io = SyncError::io(path);
    let size = std::fs::metadata(incoming.path()).map_err(&io)?.len();
    let not_sqlite = |why: &str| SyncError::NotSqlite {
        file: path.to_owned(),
        why: why.to_owned(),
    };
    if size < 512 {
        return Err(not_sqlite(&format!("{size} bytes is too short")));
    }
    let mut head = [0u8; 1024];
    let got = std::fs::File::open(incoming.path())
        .and_then(|f| f.take(1024).read(&mut head))
        .map_err(&io)?;
    if &head[..16] != b"SQLite format 3\0" {
        return Err(not_sqlite(&what_it_is(&head[..got])));
    }
    // Text encoding (bytes 56..60): ours is UTF-8; SQLite cannot attach a
    // UTF-16 database to a UTF-8 one.
    match u32::from_be_bytes(head[56..60].try_into().expect("4 bytes")) {
        0 | 1 => {}
        n => {
            return Err(SyncError::Schema {
                file: path.to_owned(),
                detail: format!(
                    "its text encoding is {} (patrol writes UTF-8): it was not made by patrol",
                    match n {
                        2 => "UTF-16le",
                        3 => "UTF-16be",
                        _ => "unknown",
                    }
                ),
            });
        }
    }
    if head[18] == 2 || head[19] == 2 {
        return Err(SyncError::Wal {
            file: path.to_owned(),
        });
    }
    if head[18] != 1 || head[19] != 1 {
        return Err(not_sqlite(&format!(
            "unknown file format versions {} and {}",
            head[18], head[19]
        )));
    }
    let app = u32::from_be_bytes(head[68..72].try_into().expect("4 bytes"));
    if app != APPLICATION_ID as u32 {
        return Err(SyncError::NotGeoPackage {
            file: path.to_owned(),
            found: app,
        });
    }
    Ok(())
}

/// What a file that is not SQLite seems to be, from its first bytes.
fn what_it_is(head: &[u8]) -> String {
    let (kind, text) = match head {
        [0xFF, 0xFE, rest @ ..] => (
            "UTF-16 text",
            String::from_utf16_lossy(
                &rest
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            ),
        ),
        [0xFE, 0xFF, rest @ ..] => (
            "UTF-16 text",
            String::from_utf16_lossy(
                &rest
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            ),
        ),
        [0xEF, 0xBB, 0xBF, rest @ ..] => ("UTF-8 text", String::from_utf8_lossy(rest).into_owned()),
        _ if plain_text(head).is_some() => ("text", plain_text(head).unwrap_or_default()),
        _ => return "no \"SQLite format 3\" header".into(),
    };
    let lower = text.to_lowercase();
    if lower.contains("<gpx") {
        format!("it is {kind}, a GPX file: import it with `patrol import`")
    } else {
        format!("it is {kind}, not a database: send the file `patrol export` wrote")
    }
}

/// The bytes as text, if they are UTF-8 (possibly cut mid-character at the
/// end) without control characters other than white space.
fn plain_text(head: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).expect("valid up to here")
        }
        Err(_) => return None,
    };
    (!text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace()))
    .then(|| text.to_owned())
}
