//! A chart packed as `.tgz` (what `helm package` and `helm dependency
//! build` leave under `charts/`), unpacked in memory into a [`Tree`] the
//! chart loader reads like a folder. Bounded: an archive that unpacks past
//! [`MAX_UNPACKED`] bytes or [`MAX_ENTRIES`] files is refused.

use crate::source::tree::{Entry, EntryKind, Tree, TreeError};
use std::collections::BTreeMap;
use std::io::Read;

/// The most bytes one chart archive may unpack to.
pub const MAX_UNPACKED: u64 = 64 << 20;
/// The most files one chart archive may hold.
pub const MAX_ENTRIES: usize = 10_000;

/// Files by path, as a read-only tree.
#[derive(Debug, Default)]
pub struct MemTree {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemTree {
    /// The files of a gzipped tar archive, the chart's own folder (its
    /// first path element) taken away; returns the tree and that name.
    pub fn from_tgz(bytes: &[u8], name: &str) -> Result<(MemTree, String), String> {
        let gz = flate2::read::GzDecoder::new(bytes);
        let mut archive = tar::Archive::new(gz.take(MAX_UNPACKED + 1));
        let mut files = BTreeMap::new();
        let mut top = String::new();
        let mut total = 0u64;
        let entries = archive.entries().map_err(|e| format!("{name}: {e}"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("{name}: {e}"))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| format!("{name}: {e}"))?
                .to_string_lossy()
                .replace('\\', "/");
            let Some((first, rest)) = path.split_once('/') else {
                continue;
            };
            if rest.split('/').any(|p| p == ".." || p.is_empty()) {
                return Err(format!(
                    "{name}: {path}: a path in the archive leaves the chart"
                ));
            }
            if top.is_empty() {
                top = first.to_string();
            }
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| format!("{name}: {path}: {e}"))?;
            total += data.len() as u64;
            if total > MAX_UNPACKED || files.len() >= MAX_ENTRIES {
                return Err(format!(
                    "{name}: unpacks past {MAX_UNPACKED} bytes or {MAX_ENTRIES} files"
                ));
            }
            if first == top {
                files.insert(rest.to_string(), data);
            }
        }
        if top.is_empty() {
            return Err(format!("{name}: holds no chart"));
        }
        Ok((MemTree { files }, top))
    }
}

impl Tree for MemTree {
    fn list(&self, dir: &str) -> Result<Vec<Entry>, TreeError> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeMap<String, EntryKind> = BTreeMap::new();
        for path in self.files.keys() {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            match rest.split_once('/') {
                Some((d, _)) => out.insert(d.to_string(), EntryKind::Dir),
                None => out.insert(rest.to_string(), EntryKind::File),
            };
        }
        if out.is_empty() && !dir.is_empty() {
            return Err(TreeError::NotFound { path: dir.into() });
        }
        Ok(out
            .into_iter()
            .map(|(name, kind)| Entry { name, kind })
            .collect())
    }

    fn read(&self, file: &str) -> Result<Vec<u8>, TreeError> {
        self.files
            .get(file)
            .cloned()
            .ok_or_else(|| TreeError::NotFound { path: file.into() })
    }

    fn kind(&self, path: &str) -> Result<EntryKind, TreeError> {
        if self.files.contains_key(path) {
            return Ok(EntryKind::File);
        }
        self.list(path).map(|_| EntryKind::Dir)
    }
}
