//! The JSON API under /api/v1 against a running controller: the list with
//! its filters and counts, an app, its history, Events and diff; and every
//! path the OpenAPI document names answers as documented.

mod support;

use serde_json::Value;
use support::*;

async fn get(listen: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{listen}{path}"))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_apps_history_events_and_diffs_as_documented() {
    let c = cluster().await;
    let (listen, _cache, _apps, _up) = two_apps(&c, "web", "manual").await;
    let list = eventually("both apps are listed with a status", 30, || async {
        let (_, list) = get(&listen, "/api/v1/apps").await;
        let items = list["items"].as_array()?;
        let done = items.len() == 2
            && items
                .iter()
                .any(|i| i["name"] == "web" && i["sync"] == "Synced")
            && items
                .iter()
                .any(|i| i["name"] == "manual" && i["sync"] == "OutOfSync");
        done.then_some(list)
    })
    .await;
    assert_eq!(list["counts"]["sync"]["Synced"], 1);
    assert_eq!(list["items"][0]["name"], "manual", "sorted by name");
    assert_eq!(list["items"][1]["lastSync"]["phase"], "Succeeded");
    let (_, only) = get(&listen, "/api/v1/apps?sync=OutOfSync&q=MAN").await;
    let names: Vec<&str> = only["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["manual"]);

    let (status, app) = get(&listen, "/api/v1/apps/apps/web").await;
    assert_eq!(status, 200);
    assert_eq!(app["spec"]["source"]["path"], "app");
    let (status, missing) = get(&listen, "/api/v1/apps/apps/nope").await;
    assert_eq!(
        (status, &missing["error"]),
        (404, &"no Application apps/nope".into())
    );
    let (_, history) = get(&listen, "/api/v1/apps/apps/web/history").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    eventually("the sync's events are served", 30, || async {
        let (status, events) = get(&listen, "/api/v1/apps/apps/web/events").await;
        assert_eq!(status, 200, "{events}");
        let items = events["items"].as_array()?.clone();
        let reasons: Vec<&str> = items.iter().filter_map(|e| e["reason"].as_str()).collect();
        reasons.contains(&"OperationCompleted").then_some(())
    })
    .await;
    // Only the app's own: manual has never synced.
    let (_, other) = get(&listen, "/api/v1/apps/apps/manual/events").await;
    assert!(!other.to_string().contains("OperationCompleted"), "{other}");
    let (_, none) = get(&listen, "/api/v1/apps/apps/web/diff").await;
    assert_eq!(none["items"], serde_json::json!([]), "{none}");
    let (_, diff) = get(&listen, "/api/v1/apps/apps/manual/diff").await;
    assert_eq!(diff["items"][0]["state"], "Missing", "{diff}");
    assert!(diff["items"][0]["diff"]
        .as_str()
        .unwrap()
        .contains("+  k: v\n"));

    // The Applications page, served by the same listener, readable without script.
    let page = reqwest::get(format!("http://{listen}/")).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<caption>2 of 2 applications</caption>"),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<a href="/apps/apps/manual"><span class="dim">apps/</span>manual</a></th>"#
        ),
        "{html}"
    );
    let part = reqwest::get(format!("http://{listen}/?health=Healthy&fragment=apps"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(part.matches("<tr>").count(), 2, "header and web: {part}");
    assert!(part.contains(">web</a></th>"), "{part}");
    assert!(part.contains("first</td>"), "the commit subject: {part}");
    let detail = reqwest::get(format!("http://{listen}/apps/apps/web"))
        .await
        .unwrap();
    assert_eq!(detail.status().as_u16(), 200);
    let html = detail.text().await.unwrap();
    assert!(
        html.contains("resourceName=a\">a</a></td>\n<td>web</td>\n<td><span class=\"badge Synced\">Synced</span></td>"),
        "{html}"
    );
    assert!(
        html.contains("<td>OperationCompleted</td>"),
        "recent events: {html}"
    );
    let missing = reqwest::get(format!("http://{listen}/apps/apps/nope"))
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // Every documented read answers 200 for an app that exists, and a
    // documented status (404) for one that does not.
    let (status, doc) = get(&listen, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 11);
    for (path, item) in paths.iter().filter(|(_, item)| item.get("get").is_some()) {
        let mut real = path.replace("{namespace}", "apps").replace("{name}", "web");
        if path.ends_with("/resource") {
            real.push_str("?kind=ConfigMap&resourceNamespace=web&resourceName=a");
        }
        let (status, body) = get(&listen, &real).await;
        assert_eq!(status, 200, "{real}: {body}");
        if path.contains("{name}") {
            let (status, body) = get(&listen, &real.replace("/web", "/nope")).await;
            assert!(
                item["get"]["responses"].get(status.to_string()).is_some(),
                "{path}: undocumented {status}: {body}"
            );
        }
    }
}
