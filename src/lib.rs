//! skiff: a GitOps continuous-delivery controller for Kubernetes.
//!
//! The modules follow the pipeline, data flowing one way:
//! `source` (git) → `render` → `diff` → `sync` → `health` → `status`, with
//! `controller` driving it, and `metrics`, `web` and `cli` beside them.
//! `docs/ARCHITECTURE.md` says what crosses between the stages and why.

pub mod application;
pub mod cli;
pub mod controller;
pub mod diff;
pub mod health;
pub mod metrics;
pub mod render;
pub mod source;
pub mod sync;
pub mod web;
