//! The OpenAPI document describes every route the code serves.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// (method, path) of every actix route attribute in `src/`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let attr = regex::Regex::new(r#"#\[(get|post|put|patch|delete)\("([^"]+)"\)\]"#).unwrap();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        assert!(
            !source.contains(".route(") && !source.contains("web::resource("),
            "{} registers a route by hand, bypassing the OpenAPI document; use a documented handler",
            file.display()
        );
        for cap in attr.captures_iter(&source) {
            routes.insert((cap[1].to_owned(), cap[2].to_owned()));
        }
    }
    routes
}

#[tokio::test]
async fn every_route_in_the_code_is_in_the_document() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc: Value = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let in_code = routes_in_source();
    assert!(
        in_code.len() >= 20,
        "found only {} routes: is the scan broken?",
        in_code.len()
    );
    let missing: Vec<_> = in_code.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /api/openapi.json: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&in_code).collect();
    assert!(stale.is_empty(), "documented but not served: {stale:?}");

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
        }
    }
    // Problem bodies are described once and referenced.
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn the_interactive_docs_work_offline() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.api.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().to_lowercase().contains("swagger"));
    let css = app
        .api
        .get(app.url("/api/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        css.status(),
        200,
        "the UI assets are served from the binary"
    );
}
