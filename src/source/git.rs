//! A cache of bare git mirrors, one per normalised repository URL, shared by
//! every application on that repository. Resolving a revision lists the
//! remote's refs; only when the wanted ref moved does it fetch, under a lock
//! per repository, so N apps on one repo cost one fetch per change.

use super::tree::{normalize, Entry, EntryKind, Tree, TreeError};
use git2::{
    Cred, CredentialType, Direction, FetchOptions, ObjectType, Oid, RemoteCallbacks, Repository,
};
use sha2::Digest;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A secret string: never printed, never logged.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(pub String);

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to authenticate to a repository (from a repository Secret).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub ssh_private_key: Option<SecretString>,
    /// Skip TLS certificate verification (and SSH host key checks).
    pub insecure: bool,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum GitError {
    #[error("repository {repo}: authentication failed: {message}")]
    Auth { repo: String, message: String },
    #[error("repository {repo}: cannot list its refs: {message}")]
    Unreachable { repo: String, message: String },
    #[error("repository {repo}: revision {revision:?} not found: {message}")]
    RevisionNotFound {
        repo: String,
        revision: String,
        message: String,
    },
    #[error("repository {repo}: {message}")]
    Git { repo: String, message: String },
}

/// Called for every request to a remote: (repository URL, request type, duration, ok).
pub type GitObserver = Arc<dyn Fn(GitRequest) + Send + Sync>;

/// One request to a remote, as the metrics count it.
pub struct GitRequest<'a> {
    pub url: &'a str,
    pub revision: &'a str,
    /// `ls-remote` or `fetch`.
    pub kind: &'a str,
    pub took: Duration,
    pub ok: bool,
}

/// The commit a revision resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub repo: String,
    pub commit: String,
    /// Whether this call fetched from the remote.
    pub fetched: bool,
    dir: PathBuf,
}

pub struct RepoCache {
    root: PathBuf,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<RemoteState>>>>,
    observer: Option<GitObserver>,
}

#[derive(Default)]
struct RemoteState {
    /// The remote's refs as last listed, and when.
    listed: Option<Listing>,
}

/// Refs listed less than this long ago are reused without asking the remote
/// again (apps on one repository reconciling together ask once).
const LIST_REUSE: Duration = Duration::from_secs(1);

/// `https://Host/org/repo.git`, `ssh://git@host/org/repo`, `git@host:org/repo` → `host/org/repo`.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r.to_string()),
        None => match url.split_once(':') {
            // scp-style user@host:path
            Some((host, path)) if !host.contains('/') && !path.starts_with("//") => {
                ("ssh".into(), format!("{host}/{path}"))
            }
            _ => (String::new(), url.to_string()),
        },
    };
    if scheme == "file" || scheme.is_empty() {
        return rest
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string();
    }
    let (host, path) = rest.split_once('/').unwrap_or((&rest, ""));
    let host = host
        .rsplit_once('@')
        .map_or(host, |(_, h)| h)
        .to_ascii_lowercase();
    let host = host.trim_end_matches(":443").trim_end_matches(":22");
    let path = path
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .trim_start_matches('/');
    format!("{host}/{path}")
}

fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_short_sha(s: &str) -> bool {
    (7..40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl RepoCache {
    pub fn new(root: &Path, observer: Option<GitObserver>) -> RepoCache {
        RepoCache {
            root: root.to_path_buf(),
            locks: Mutex::new(HashMap::new()),
            observer,
        }
    }

    fn dir_for(&self, key: &str) -> PathBuf {
        let digest = sha2::Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        self.root.join(hex)
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<RemoteState>> {
        self.locks
            .lock()
            .expect("locks")
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// Resolves `revision` of `url` to a commit, fetching only if needed.
    /// `refresh` lists the remote's refs again even if they were just listed.
    pub async fn resolve(
        &self,
        url: &str,
        revision: &str,
        creds: Option<&Credentials>,
        refresh: bool,
    ) -> Result<Resolved, GitError> {
        let key = normalize_url(url);
        let lock = self.lock_for(&key);
        let mut state = lock.lock().await;
        let dir = self.dir_for(&key);
        let (url, revision, creds, observer) = (
            url.to_string(),
            revision.to_string(),
            creds.cloned(),
            self.observer.clone(),
        );
        let listed = state
            .listed
            .clone()
            .filter(|(at, _, _)| !refresh && at.elapsed() < LIST_REUSE);
        let key2 = key.clone();
        let (resolved, listing) = tokio::task::spawn_blocking(move || {
            resolve_blocking(
                &dir,
                &key2,
                &url,
                &revision,
                creds.as_ref(),
                listed,
                observer.as_ref(),
            )
        })
        .await
        .map_err(|e| GitError::Git {
            repo: key.clone(),
            message: e.to_string(),
        })??;
        state.listed = Some(listing);
        Ok(resolved)
    }

    /// The first line of a commit's message, when the mirror of `url` holds
    /// the commit (read from git's objects; no lock: they never change).
    pub fn subject(&self, url: &str, commit: &str) -> Option<String> {
        let repo = Repository::open_bare(self.dir_for(&normalize_url(url))).ok()?;
        let found = repo.find_commit(Oid::from_str(commit).ok()?).ok()?;
        found
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    /// The file tree of a resolved commit.
    pub fn tree(&self, resolved: &Resolved) -> Result<GitTree, GitError> {
        let err = |e: git2::Error| GitError::Git {
            repo: resolved.repo.clone(),
            message: e.message().to_string(),
        };
        let repo = Repository::open_bare(&resolved.dir).map_err(err)?;
        let oid = Oid::from_str(&resolved.commit).map_err(err)?;
        let tree_id = repo.find_commit(oid).map_err(err)?.tree_id();
        Ok(GitTree {
            repo: Mutex::new(repo),
            tree: tree_id,
        })
    }
}

fn callbacks<'a>(creds: Option<&'a Credentials>) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    let mut attempts = 0;
    cb.credentials(move |_url, username_from_url, allowed| {
        attempts += 1;
        if attempts > 3 {
            return Err(git2::Error::from_str("the credentials were refused"));
        }
        let Some(c) = creds else {
            return Err(git2::Error::from_str(
                "the repository asks for credentials and no repository Secret matches its URL",
            ));
        };
        if allowed.contains(CredentialType::SSH_KEY) {
            if let Some(key) = &c.ssh_private_key {
                let user = c.username.as_deref().or(username_from_url).unwrap_or("git");
                return Cred::ssh_key_from_memory(user, None, &key.0, None);
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(pw) = &c.password {
                return Cred::userpass_plaintext(c.username.as_deref().unwrap_or("git"), &pw.0);
            }
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(c.username.as_deref().or(username_from_url).unwrap_or("git"));
        }
        Err(git2::Error::from_str(
            "no credential of the kind the repository asks for",
        ))
    });
    if creds.is_some_and(|c| c.insecure) {
        cb.certificate_check(|_, _| Ok(git2::CertificateCheckStatus::CertificateOk));
    }
    cb
}

fn classify(repo: &str, e: &git2::Error, what: &str) -> GitError {
    let message = e.message().to_string();
    let auth = e.class() == git2::ErrorClass::Http
        && (message.contains("401") || message.contains("403"))
        || e.code() == git2::ErrorCode::Auth
        || message.contains("credentials")
        || message.contains("authentication");
    if auth {
        GitError::Auth {
            repo: repo.to_string(),
            message,
        }
    } else {
        GitError::Unreachable {
            repo: repo.to_string(),
            message: format!("{what}: {message}"),
        }
    }
}

type Listing = (Instant, Vec<(String, Oid)>, Option<String>);

fn resolve_blocking(
    dir: &Path,
    key: &str,
    url: &str,
    revision: &str,
    creds: Option<&Credentials>,
    listed: Option<Listing>,
    observer: Option<&GitObserver>,
) -> Result<(Resolved, Listing), GitError> {
    let git_err = |e: git2::Error| GitError::Git {
        repo: key.to_string(),
        message: e.message().to_string(),
    };
    let repo = match Repository::open_bare(dir) {
        Ok(r) => r,
        Err(_) => {
            std::fs::create_dir_all(dir).map_err(|e| GitError::Git {
                repo: key.to_string(),
                message: e.to_string(),
            })?;
            Repository::init_bare(dir).map_err(git_err)?
        }
    };
    let mut remote = repo.remote_anonymous(url).map_err(git_err)?;
    let listing = match listed {
        Some(l) => l,
        None => {
            let start = Instant::now();
            let connected = remote.connect_auth(Direction::Fetch, Some(callbacks(creds)), None);
            let result = connected.and_then(|conn| {
                let refs: Vec<(String, Oid)> = conn
                    .list()?
                    .iter()
                    .map(|h| (h.name().to_string(), h.oid()))
                    .collect();
                let default = conn
                    .default_branch()
                    .ok()
                    .and_then(|b| b.as_str().ok().map(String::from));
                Ok((refs, default))
            });
            if let Some(obs) = observer {
                obs(GitRequest {
                    url,
                    revision,
                    kind: "ls-remote",
                    took: start.elapsed(),
                    ok: result.is_ok(),
                });
            }
            let (refs, default) = result.map_err(|e| classify(key, &e, "listing refs"))?;
            (Instant::now(), refs, default)
        }
    };
    let (_, refs, default_branch) = &listing;
    let find = |name: &str| refs.iter().find(|(n, _)| n == name).map(|(_, o)| *o);
    // What the revision names on the remote, if it names a ref.
    let wanted: Option<(String, Oid)> = if revision.is_empty() || revision == "HEAD" {
        let head = default_branch.clone().or_else(|| {
            let head_oid = find("HEAD")?;
            refs.iter()
                .find(|(n, o)| n.starts_with("refs/heads/") && *o == head_oid)
                .map(|(n, _)| n.clone())
        });
        match head.and_then(|h| find(&h).map(|o| (h, o))) {
            Some(x) => Some(x),
            None => {
                return Err(GitError::RevisionNotFound {
                    repo: key.to_string(),
                    revision: "HEAD".into(),
                    message: "the remote has no default branch (is the repository empty?)".into(),
                })
            }
        }
    } else {
        let candidates = [
            format!("refs/heads/{revision}"),
            format!("refs/tags/{revision}^{{}}"),
            format!("refs/tags/{revision}"),
            revision.to_string(),
        ];
        candidates
            .iter()
            .find_map(|c| find(c).map(|o| (c.trim_end_matches("^{}").to_string(), o)))
    };
    let have = |oid: Oid| repo.find_commit(oid).is_ok() || repo.find_tag(oid).is_ok();
    let needs_fetch = match &wanted {
        Some((_, oid)) => !have(*oid),
        None if is_full_sha(revision) => Oid::from_str(revision).map(|o| !have(o)).unwrap_or(true),
        None if is_short_sha(revision) => repo.revparse_single(revision).is_err(),
        None => {
            return Err(GitError::RevisionNotFound {
                repo: key.to_string(),
                revision: revision.to_string(),
                message: "no branch or tag of that name on the remote (was it deleted?), and it is not a commit SHA".into(),
            })
        }
    };
    let mut fetched = false;
    if needs_fetch {
        let start = Instant::now();
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(callbacks(creds));
        opts.download_tags(git2::AutotagOption::All);
        let specs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
        let result = remote.fetch(&specs, Some(&mut opts), None);
        if let Some(obs) = observer {
            obs(GitRequest {
                url,
                revision,
                kind: "fetch",
                took: start.elapsed(),
                ok: result.is_ok(),
            });
        }
        result.map_err(|e| classify(key, &e, "fetching"))?;
        fetched = true;
    }
    let commit = match &wanted {
        Some((_, oid)) => repo
            .find_object(*oid, None)
            .and_then(|o| o.peel_to_commit())
            .map_err(git_err)?
            .id(),
        None => repo
            .revparse_single(revision)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| GitError::RevisionNotFound {
                repo: key.to_string(),
                revision: revision.to_string(),
                message: format!("not a commit in the repository: {}", e.message()),
            })?
            .id(),
    };
    Ok((
        Resolved {
            repo: key.to_string(),
            commit: commit.to_string(),
            fetched,
            dir: dir.to_path_buf(),
        },
        listing,
    ))
}

/// A commit's files, read straight from git objects (no checkout).
pub struct GitTree {
    repo: Mutex<Repository>,
    tree: Oid,
}

/// How many symlinks one lookup may follow.
const MAX_LINKS: usize = 8;

impl GitTree {
    /// Finds `path`, following symlinks that stay inside the repository.
    fn lookup(
        &self,
        repo: &Repository,
        path: &str,
        depth: usize,
    ) -> Result<(Oid, ObjectType, i32), TreeError> {
        let root = repo.find_tree(self.tree).map_err(|e| io(path, e))?;
        if path.is_empty() {
            return Ok((self.tree, ObjectType::Tree, 0o040000));
        }
        // Walk component by component so a symlinked directory is followed too.
        let parts: Vec<&str> = path.split('/').collect();
        let mut current = root;
        for (i, part) in parts.iter().enumerate() {
            let entry = current
                .get_name(part)
                .map(|e| e.to_owned())
                .ok_or_else(|| TreeError::NotFound {
                    path: path.to_string(),
                })?;
            let here = parts[..=i].join("/");
            if entry.filemode() == 0o120000 {
                if depth >= MAX_LINKS {
                    return Err(TreeError::Io {
                        path: here,
                        message: "too many levels of symbolic links".into(),
                    });
                }
                let blob = repo.find_blob(entry.id()).map_err(|e| io(&here, e))?;
                let target = String::from_utf8_lossy(blob.content()).to_string();
                let parent = parts[..i].join("/");
                let resolved =
                    normalize(&parent, &target).map_err(|_| TreeError::SymlinkEscapes {
                        path: here.clone(),
                        target: target.clone(),
                    })?;
                let rest = parts[i + 1..].join("/");
                let next = if rest.is_empty() {
                    resolved
                } else {
                    format!("{resolved}/{rest}")
                };
                return self.lookup(repo, &next, depth + 1);
            }
            if i + 1 == parts.len() {
                return Ok((
                    entry.id(),
                    entry.kind().unwrap_or(ObjectType::Any),
                    entry.filemode(),
                ));
            }
            current = repo
                .find_tree(entry.id())
                .map_err(|_| TreeError::NotFound {
                    path: path.to_string(),
                })?;
        }
        Err(TreeError::NotFound {
            path: path.to_string(),
        })
    }
}

fn io(path: &str, e: git2::Error) -> TreeError {
    TreeError::Io {
        path: path.to_string(),
        message: e.message().to_string(),
    }
}

impl Tree for GitTree {
    fn list(&self, dir: &str) -> Result<Vec<Entry>, TreeError> {
        let repo = self.repo.lock().expect("repo lock");
        let (oid, kind, _) = self.lookup(&repo, dir, 0)?;
        if kind != ObjectType::Tree {
            return Err(TreeError::Io {
                path: dir.to_string(),
                message: "not a directory".into(),
            });
        }
        let tree = repo.find_tree(oid).map_err(|e| io(dir, e))?;
        let mut out = Vec::new();
        for entry in tree.iter() {
            let name = entry.name().unwrap_or_default().to_string();
            let kind = match (entry.kind(), entry.filemode()) {
                (Some(ObjectType::Tree), _) => EntryKind::Dir,
                (_, 0o120000) => {
                    let path = normalize(dir, &name).unwrap_or_default();
                    match self.lookup(&repo, &path, 0) {
                        Ok((_, ObjectType::Tree, _)) => EntryKind::Dir,
                        _ => EntryKind::File,
                    }
                }
                (Some(ObjectType::Blob), _) => EntryKind::File,
                _ => continue, // submodules
            };
            out.push(Entry { name, kind });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read(&self, file: &str) -> Result<Vec<u8>, TreeError> {
        let repo = self.repo.lock().expect("repo lock");
        let (oid, kind, _) = self.lookup(&repo, file, 0)?;
        if kind != ObjectType::Blob {
            return Err(TreeError::Io {
                path: file.to_string(),
                message: "is a directory".into(),
            });
        }
        let blob = repo.find_blob(oid).map_err(|e| io(file, e))?;
        Ok(blob.content().to_vec())
    }

    fn kind(&self, path: &str) -> Result<EntryKind, TreeError> {
        let repo = self.repo.lock().expect("repo lock");
        let (_, kind, _) = self.lookup(&repo, path, 0)?;
        Ok(if kind == ObjectType::Tree {
            EntryKind::Dir
        } else {
            EntryKind::File
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_variants_map_to_one_cache_entry() {
        let want = "gitea.example.com/org/config";
        for url in [
            "https://gitea.example.com/org/config.git",
            "https://Gitea.Example.com/org/config",
            "https://user@gitea.example.com/org/config/",
            "ssh://git@gitea.example.com/org/config.git",
            "git@gitea.example.com:org/config.git",
            "ssh://git@gitea.example.com:22/org/config",
        ] {
            assert_eq!(normalize_url(url), want, "{url}");
        }
        assert_eq!(
            normalize_url("file:///srv/git/config.git"),
            "/srv/git/config"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials {
            password: Some(SecretString("hunter2".into())),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}

#[cfg(test)]
mod repo_tests {
    use super::*;
    use git2::Signature;

    /// A repository on disk with helpers to commit files.
    pub(crate) struct Upstream {
        pub dir: tempfile::TempDir,
        pub repo: Repository,
    }

    impl Upstream {
        pub fn new() -> Upstream {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init(dir.path()).unwrap();
            repo.set_head("refs/heads/main").unwrap();
            Upstream { dir, repo }
        }

        pub fn url(&self) -> String {
            format!("file://{}", self.dir.path().display())
        }

        /// Commits `files` (path → content; None deletes) on `branch`.
        pub fn commit(
            &self,
            branch: &str,
            files: &[(&str, Option<&str>)],
            message: &str,
        ) -> String {
            let refname = format!("refs/heads/{branch}");
            let parent = self
                .repo
                .find_reference(&refname)
                .ok()
                .and_then(|r| r.peel_to_commit().ok());
            let mut index = git2::Index::new().unwrap();
            if let Some(p) = &parent {
                index.read_tree(&p.tree().unwrap()).unwrap();
            }
            for (path, content) in files {
                match content {
                    Some(text) => {
                        let oid = self.repo.blob(text.as_bytes()).unwrap();
                        let mode = if path.ends_with("@link") {
                            0o120000
                        } else {
                            0o100644
                        };
                        let path = path.trim_end_matches("@link");
                        let entry = git2::IndexEntry {
                            ctime: git2::IndexTime::new(0, 0),
                            mtime: git2::IndexTime::new(0, 0),
                            dev: 0,
                            ino: 0,
                            mode,
                            uid: 0,
                            gid: 0,
                            file_size: text.len() as u32,
                            id: oid,
                            flags: 0,
                            flags_extended: 0,
                            path: path.as_bytes().to_vec(),
                        };
                        index.add(&entry).unwrap();
                    }
                    None => index.remove_path(Path::new(path)).unwrap(),
                }
            }
            let tree = self
                .repo
                .find_tree(index.write_tree_to(&self.repo).unwrap())
                .unwrap();
            let sig = Signature::now("test", "test@example.com").unwrap();
            let parents: Vec<&git2::Commit> = parent.iter().collect();
            let oid = self
                .repo
                .commit(Some(&refname), &sig, &sig, message, &tree, &parents)
                .unwrap();
            oid.to_string()
        }
    }

    fn counting() -> (GitObserver, Arc<Mutex<Vec<String>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let obs: GitObserver =
            Arc::new(move |r: GitRequest| l.lock().unwrap().push(r.kind.to_string()));
        (obs, log)
    }

    #[tokio::test]
    async fn resolves_head_branches_tags_and_shas_fetching_only_on_change() {
        let up = Upstream::new();
        let first = up.commit("main", &[("app/cm.yaml", Some("a: 1\n"))], "first");
        up.repo
            .tag_lightweight("v1", &up.repo.revparse_single(&first).unwrap(), false)
            .unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let (obs, log) = counting();
        let cache = RepoCache::new(cache_dir.path(), Some(obs));
        let url = up.url();
        let r = cache.resolve(&url, "HEAD", None, true).await.unwrap();
        assert_eq!(r.commit, first);
        assert!(r.fetched);
        for rev in ["main", "v1", first.as_str(), &first[..8]] {
            let r = cache.resolve(&url, rev, None, true).await.unwrap();
            assert_eq!(r.commit, first, "{rev}");
            assert!(!r.fetched, "{rev}: unchanged refs cost no fetch");
        }
        assert_eq!(
            log.lock().unwrap().iter().filter(|k| *k == "fetch").count(),
            1
        );
        let tree = cache.tree(&r).unwrap();
        assert_eq!(tree.read("app/cm.yaml").unwrap(), b"a: 1\n");

        let second = up.commit("main", &[("app/cm.yaml", Some("a: 2\n"))], "second");
        let r = cache.resolve(&url, "main", None, true).await.unwrap();
        assert_eq!((r.commit.as_str(), r.fetched), (second.as_str(), true));
        assert_eq!(
            cache.tree(&r).unwrap().read("app/cm.yaml").unwrap(),
            b"a: 2\n"
        );

        // A force-push back to the first commit, then a deleted branch.
        up.repo
            .reference(
                "refs/heads/main",
                Oid::from_str(&first).unwrap(),
                true,
                "force",
            )
            .unwrap();
        let r = cache.resolve(&url, "main", None, true).await.unwrap();
        assert_eq!(r.commit, first);
        up.commit("feature", &[("x", Some("y"))], "feature");
        cache.resolve(&url, "feature", None, true).await.unwrap();
        up.repo
            .find_reference("refs/heads/feature")
            .unwrap()
            .delete()
            .unwrap();
        let err = cache
            .resolve(&url, "feature", None, true)
            .await
            .unwrap_err();
        assert!(matches!(err, GitError::RevisionNotFound { .. }), "{err}");
        assert!(
            err.to_string().contains("no branch or tag of that name"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn unreachable_repositories_are_a_clear_error() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(cache_dir.path(), None);
        let err = cache
            .resolve("file:///nonexistent/repo", "HEAD", None, true)
            .await
            .unwrap_err();
        assert!(matches!(err, GitError::Unreachable { .. }), "{err}");
    }

    #[tokio::test]
    async fn symlinks_inside_are_followed_and_outside_refused() {
        let up = Upstream::new();
        up.commit(
            "main",
            &[
                ("base/cm.yaml", Some("a: 1\n")),
                ("app/cm.yaml@link", Some("../base/cm.yaml")),
                ("app/leak.yaml@link", Some("../../../etc/passwd")),
                ("app/abs.yaml@link", Some("/etc/passwd")),
            ],
            "links",
        );
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(cache_dir.path(), None);
        let r = cache.resolve(&up.url(), "main", None, true).await.unwrap();
        let tree = cache.tree(&r).unwrap();
        assert_eq!(tree.read("app/cm.yaml").unwrap(), b"a: 1\n");
        assert!(matches!(
            tree.read("app/leak.yaml"),
            Err(TreeError::SymlinkEscapes { .. })
        ));
        assert!(matches!(
            tree.read("app/abs.yaml"),
            Err(TreeError::SymlinkEscapes { .. })
        ));
        let names: Vec<String> = tree
            .list("app")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["abs.yaml", "cm.yaml", "leak.yaml"]);
    }
}
