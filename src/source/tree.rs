//! The one way the render stage reads files: a read-only tree rooted at the
//! repository (a git commit, or a local directory for `skiff render`), where
//! no path can leave the root.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TreeError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: the path leaves the repository")]
    Escapes { path: String },
    #[error("{path}: is a symlink to {target}, outside the repository")]
    SymlinkEscapes { path: String, target: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
}

/// Read access to a repository snapshot. Paths are `/`-separated and relative
/// to the root; `normalize` is the only way to turn user input into one.
pub trait Tree: Send + Sync {
    /// The entries of a directory, sorted by name.
    fn list(&self, dir: &str) -> Result<Vec<Entry>, TreeError>;
    fn read(&self, file: &str) -> Result<Vec<u8>, TreeError>;
    fn kind(&self, path: &str) -> Result<EntryKind, TreeError>;
}

/// Joins `rel` onto `base` and resolves `.` and `..`; refuses absolute paths
/// and anything that climbs above the root.
pub fn normalize(base: &str, rel: &str) -> Result<String, TreeError> {
    if rel.starts_with('/') || Path::new(rel).is_absolute() {
        return Err(TreeError::Escapes {
            path: rel.to_string(),
        });
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(TreeError::Escapes {
                        path: join_display(base, rel),
                    });
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn join_display(base: &str, rel: &str) -> String {
    if base.is_empty() {
        rel.to_string()
    } else {
        format!("{base}/{rel}")
    }
}

/// A local directory as a tree (for `skiff render DIR`); symlinks may point
/// anywhere inside the directory, never outside it.
pub struct DirTree {
    root: PathBuf,
    /// Directories already resolved (a render reads many files from few
    /// directories). A DirTree reads a tree that does not change under it:
    /// `skiff render`'s working copy, or a test's.
    resolved: std::sync::Mutex<std::collections::HashMap<String, PathBuf>>,
}

impl DirTree {
    pub fn new(root: &Path) -> Result<DirTree, TreeError> {
        let root = root.canonicalize().map_err(|e| TreeError::Io {
            path: root.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(DirTree {
            root,
            resolved: Default::default(),
        })
    }

    /// The real path of `path`, refusing symlinks that lead outside the root.
    /// One `lstat` per component below the root; only symlinks are resolved
    /// (canonicalizing every path costs a readlink per component of the
    /// whole absolute path).
    fn resolve(&self, path: &str) -> Result<PathBuf, TreeError> {
        let rel = normalize("", path)?;
        if rel.is_empty() {
            return Ok(self.root.clone());
        }
        let (parent, last) = rel.rsplit_once('/').unwrap_or(("", &rel));
        let dir = self.resolve_dir(parent, &rel)?;
        self.step(dir, last, &rel)
    }

    /// [`DirTree::resolve`] for a directory, remembered.
    fn resolve_dir(&self, dir: &str, rel: &str) -> Result<PathBuf, TreeError> {
        if dir.is_empty() {
            return Ok(self.root.clone());
        }
        if let Some(real) = self.resolved.lock().ok().and_then(|m| m.get(dir).cloned()) {
            return Ok(real);
        }
        let (parent, last) = dir.rsplit_once('/').unwrap_or(("", dir));
        let up = self.resolve_dir(parent, rel)?;
        let real = self.step(up, last, rel)?;
        if let Ok(mut m) = self.resolved.lock() {
            m.insert(dir.to_string(), real.clone());
        }
        Ok(real)
    }

    /// One component down from a real directory: a symlink is followed if
    /// it stays in the root.
    fn step(&self, mut real: PathBuf, component: &str, rel: &str) -> Result<PathBuf, TreeError> {
        real.push(component);
        let meta = std::fs::symlink_metadata(&real).map_err(|e| self.io(rel, e))?;
        if meta.file_type().is_symlink() {
            let target = real.canonicalize().map_err(|e| self.io(rel, e))?;
            if !target.starts_with(&self.root) {
                return Err(TreeError::SymlinkEscapes {
                    path: rel.to_string(),
                    target: target.display().to_string(),
                });
            }
            real = target;
        }
        Ok(real)
    }

    fn io(&self, rel: &str, e: std::io::Error) -> TreeError {
        match e.kind() {
            std::io::ErrorKind::NotFound => TreeError::NotFound {
                path: rel.to_string(),
            },
            _ => TreeError::Io {
                path: rel.to_string(),
                message: e.to_string(),
            },
        }
    }
}

impl Tree for DirTree {
    fn list(&self, dir: &str) -> Result<Vec<Entry>, TreeError> {
        let real = self.resolve(dir)?;
        let io = |e: std::io::Error| TreeError::Io {
            path: dir.to_string(),
            message: e.to_string(),
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().to_string();
            let file_type = entry.file_type().map_err(io)?;
            let kind = if file_type.is_symlink() {
                // Entries that resolve outside the root are listed; reading them fails with a clear error.
                match self.resolve(&normalize(dir, &name)?) {
                    Ok(p) if p.is_dir() => EntryKind::Dir,
                    _ => EntryKind::File,
                }
            } else if file_type.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            out.push(Entry { name, kind });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read(&self, file: &str) -> Result<Vec<u8>, TreeError> {
        let real = self.resolve(file)?;
        std::fs::read(&real).map_err(|e| TreeError::Io {
            path: file.to_string(),
            message: e.to_string(),
        })
    }

    fn kind(&self, path: &str) -> Result<EntryKind, TreeError> {
        let real = self.resolve(path)?;
        Ok(if real.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        })
    }
}

/// A directory tree of `files` (path, content) for tests.
#[cfg(test)]
pub(crate) fn fixture(files: &[(&str, &str)]) -> (tempfile::TempDir, DirTree) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let tree = DirTree::new(dir.path()).unwrap();
    (dir, tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_paths_inside_the_root() {
        assert_eq!(
            normalize("apps/web", "../base/x.yaml").unwrap(),
            "apps/base/x.yaml"
        );
        assert_eq!(normalize("", "./a//b/").unwrap(), "a/b");
        assert_eq!(
            normalize("apps", "../../etc/passwd").unwrap_err(),
            TreeError::Escapes {
                path: "apps/../../etc/passwd".into()
            }
        );
        assert!(matches!(
            normalize("", "/etc/passwd"),
            Err(TreeError::Escapes { .. })
        ));
    }

    #[test]
    fn dir_tree_refuses_symlinks_out_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("app")).unwrap();
        std::fs::write(dir.path().join("app/cm.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("app/leak.yaml")).unwrap();
        let tree = DirTree::new(&dir.path().join("app")).unwrap();
        assert_eq!(tree.read("cm.yaml").unwrap(), b"a: 1\n");
        assert!(matches!(
            tree.read("leak.yaml"),
            Err(TreeError::SymlinkEscapes { .. })
        ));
        assert!(matches!(
            tree.read("../app/cm.yaml"),
            Err(TreeError::Escapes { .. })
        ));
    }
}
