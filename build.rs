//! Links the `skiff` binary as a position-dependent executable on Linux, as Go
//! links kubectl and Argo CD: its ~750 KB of pointer tables (vtables, OpenSSL's
//! method tables) then need no relocation when the process starts, which was a
//! third of a short `skiff render`, and stay shared, clean pages instead of
//! private copies. Libraries, heap and stack are still randomized. Tests,
//! examples and proc macros are linked as usual.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
