//! Source: where manifests come from. A git repository cache (git2) that
//! resolves an application's revision to a commit, and the [`tree::Tree`]
//! through which the render stage reads that commit's files.

pub mod creds;
pub mod git;
pub mod tree;
