//! Health, readiness, metrics and the headers every response carries.

use serde_json::Value;

use crate::both_backends;
use crate::helpers::problem;

both_backends! {
    async fn health_readiness_and_metrics(app) {
        let health = app.api.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let request_id = health.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(request_id.len(), 36, "a uuid");
        assert_eq!(health.headers()["x-content-type-options"], "nosniff");
        let ready: Value = app.api.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["status"], "ok");

        app.agent("metered").await;
        let metrics = app.api.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"cloudseat_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{metrics}");
        assert!(metrics.contains(r#"route="/api/auth/register""#));
        assert!(metrics.contains("cloudseat_http_request_duration_seconds_bucket"));
        assert!(metrics.contains("cloudseat_db_pool_connections{state=\"idle\"}"));
        assert!(metrics.contains("cloudseat_outbox_messages{status=\"pending\"}"));
        assert!(metrics.contains("cloudseat_webhook_deliveries{status=\"failed\"} 0"));
    }

    async fn unknown_api_routes_are_problems_and_pages_are_pages(app) {
        let res = app.api.get(app.url("/api/no-such-thing")).send().await.unwrap();
        let body = problem(res, 404, "not_found").await;
        assert!(body["request_id"].is_string());
        let page = app.api.get(app.url("/no-such-page")).send().await.unwrap();
        assert_eq!(page.status(), 404);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }
}
