//! The `skiff` binary's offline commands.

use std::process::Command;

fn skiff(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .output()
        .expect("skiff runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn render_prints_every_object_of_a_directory_as_yaml() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/config-repo/plain/guestbook"
    );
    let (ok, out, err) = skiff(&["render", dir]);
    assert!(ok, "{err}");
    let docs = skiff::render::yaml::parse_documents(&out).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "Deployment", "Service"]);
    assert_eq!(
        docs[1]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
}

#[test]
fn render_errors_name_the_file_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n",
    )
    .unwrap();
    let (ok, _, err) = skiff(&["render", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("bad.yaml: line"), "{err}");
}

#[test]
fn crd_version_and_help() {
    let (ok, out, _) = skiff(&["crd"]);
    assert!(ok && out == skiff::application::crd_yaml());
    let (ok, out, _) = skiff(&["version"]);
    assert!(ok && out.starts_with("skiff "), "{out}");
    let (ok, out, _) = skiff(&["controller", "--help"]);
    assert!(ok, "{out}");
    for flag in [
        "SKIFF_WATCH_NAMESPACE",
        "SKIFF_NAMESPACE",
        "SKIFF_LISTEN",
        "SKIFF_REQUEUE_SECONDS",
        "SKIFF_CACHE_DIR",
    ] {
        assert!(
            out.contains(flag),
            "--help names the env twin {flag}:\n{out}"
        );
    }
}
