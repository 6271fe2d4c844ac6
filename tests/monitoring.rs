//! The monitoring kit in `deploy/monitoring/`, checked with Debian's real
//! Prometheus: promtool checks and unit-tests the alert rules, and a running
//! Prometheus scraping a running skiff fires the OutOfSync alert.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

fn kit(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/monitoring")
        .join(file)
}

fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("--version").output().is_ok();
    assert!(
        found,
        "{name} is not installed: Debian's prometheus package has it (.ci/run installs it)"
    );
    Command::new(name)
}

/// The PrometheusRule's spec: a Prometheus rule file (JSON is YAML).
fn rules() -> Value {
    let text = std::fs::read_to_string(kit("prometheusrule.yaml")).unwrap();
    let docs = skiff::render::yaml::parse_documents(&text).unwrap();
    docs[0]["spec"].clone()
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), rules().to_string()).unwrap();
    std::fs::copy(kit("rules.test.yaml"), dir.path().join("rules.test.yaml")).unwrap();
    let checked = run(tool("promtool")
        .args(["check", "rules", "rules.yaml"])
        .current_dir(dir.path()));
    assert!(checked.contains("SUCCESS: 5 rules found"), "{checked}");
    let tested = run(tool("promtool")
        .args(["test", "rules", "rules.test.yaml"])
        .current_dir(dir.path()));
    assert!(tested.contains("SUCCESS"), "{tested}");
    // Every alert has a unit test.
    let tests = std::fs::read_to_string(kit("rules.test.yaml")).unwrap();
    for rule in rules()["groups"][0]["rules"].as_array().unwrap() {
        let alert = rule["alert"].as_str().unwrap();
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "{alert} has no test"
        );
    }
}

#[test]
fn the_kit_renders_the_same_with_kubectl_and_skiff() {
    let dir = kit("");
    let kubectl = run(Command::new("kubectl").arg("kustomize").arg(&dir));
    let skiff = run(Command::new(env!("CARGO_BIN_EXE_skiff"))
        .arg("render")
        .arg(&dir));
    assert_eq!(skiff, kubectl);
    let docs = skiff::render::yaml::parse_documents(&skiff).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "PrometheusRule", "ServiceMonitor"]);
    let dashboard: Value = serde_json::from_str(docs[0]["data"]["skiff.json"].as_str().unwrap())
        .expect("the dashboard is JSON");
    assert_eq!(docs[0]["metadata"]["labels"]["grafana_dashboard"], "1");
    assert!(dashboard["panels"].as_array().unwrap().len() >= 8);
}

/// A Prometheus process, stopped on drop.
struct Prometheus {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scrapes `target` every second with the kit's rules, their `for`
    /// shortened to 2s so the test does not wait five minutes.
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let mut rules = rules();
        for rule in rules["groups"][0]["rules"].as_array_mut().unwrap() {
            if rule.get("for").is_some() {
                rule["for"] = "2s".into();
            }
        }
        std::fs::write(dir.path().join("rules.yaml"), rules.to_string()).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yaml]\nscrape_configs:\n- job_name: skiff\n  static_configs:\n  - targets: ['{target}']\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let listen = free_addr();
        let child = tool("prometheus")
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg(format!("--web.listen-address={listen}"))
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
            .spawn()
            .unwrap();
        Prometheus {
            child,
            url: format!("http://{listen}"),
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> Option<Value> {
        let response = reqwest::get(format!("{}{path}", self.url)).await.ok()?;
        let body: Value = serde_json::from_str(&response.text().await.ok()?).ok()?;
        (body["status"] == "success").then(|| body["data"].clone())
    }

    async fn query(&self, expr: &str) -> Value {
        let path = format!("/api/v1/query?query={}", encode(expr));
        match self.get(&path).await {
            Some(data) => data,
            None => panic!("Prometheus refused the query {expr}"),
        }
    }
}

/// Percent-encodes a query parameter.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_skiff_and_the_out_of_sync_alert_fires() {
    let c = cluster().await;
    let (listen, _cache, _apps, _up) = two_apps(&c, "synced", "behind").await;
    let prometheus = Prometheus::start(&listen);
    let firing = eventually("the OutOfSync alert fires", 60, || async {
        let alerts = prometheus.get("/api/v1/alerts").await?;
        let alerts = alerts["alerts"].as_array()?.clone();
        alerts
            .iter()
            .any(|a| {
                a["labels"]["alertname"] == "SkiffAppOutOfSync"
                    && a["labels"]["name"] == "behind"
                    && a["state"] == "firing"
            })
            .then_some(alerts)
    })
    .await;
    let names: Vec<(String, String)> = firing
        .iter()
        .map(|a| {
            let l = &a["labels"];
            (
                l["alertname"].as_str().unwrap_or_default().to_string(),
                l["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        !names.contains(&("SkiffAppOutOfSync".into(), "synced".into())),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|(alert, _)| alert == "SkiffDown"),
        "{names:?}"
    );
    let annotations = &firing
        .iter()
        .find(|a| a["labels"]["name"] == "behind")
        .unwrap()["annotations"];
    assert_eq!(
        annotations["summary"],
        "Application apps/behind is OutOfSync"
    );

    // Every query of the dashboard is valid PromQL over what skiff exports,
    // and the headline ones have data.
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(kit("dashboard.json")).unwrap()).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            prometheus.query(target["expr"].as_str().unwrap()).await;
        }
    }
    let count = prometheus.query("count(argocd_app_info)").await;
    assert_eq!(count["result"][0]["value"][1], "2");
    let by_sync = prometheus
        .query("sum by (sync_status) (argocd_app_info)")
        .await;
    assert_eq!(by_sync["result"].as_array().unwrap().len(), 2, "{by_sync}");
}
