//! The merchant integration layer: secret API keys, the widget key, and signed webhooks
//! delivered to a real HTTP receiver on 127.0.0.1, with retries driven by the service clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudseat::accounts::model::MerchantId;
use hmac::{KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, csrf_of, field_codes, problem, signed_in, spawn_app, spawn_app_with,
};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) event: String,
    delivery: String,
    pub(crate) signature: String,
    content_type: String,
    pub(crate) body: String,
}

/// A webhook receiver: an HTTP server on 127.0.0.1 that records every request and answers
/// with the statuses queued in `answers`, then with `otherwise`.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    otherwise: Arc<Mutex<u16>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/cloudseat"),
            got: Arc::default(),
            answers: Arc::default(),
            otherwise: Arc::new(Mutex::new(200)),
        };
        let shared = receiver.clone();
        let server = actix_web::HttpServer::new(move || {
            let shared = shared.clone();
            actix_web::App::new().default_service(actix_web::web::to(
                move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                    let shared = shared.clone();
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        shared.got.lock().unwrap().push(Received {
                            event: header("cloudseat-event"),
                            delivery: header("cloudseat-delivery"),
                            signature: header("cloudseat-signature"),
                            content_type: header("content-type"),
                            body: String::from_utf8(body.to_vec()).unwrap(),
                        });
                        let status = shared
                            .answers
                            .lock()
                            .unwrap()
                            .pop_front()
                            .unwrap_or(*shared.otherwise.lock().unwrap());
                        actix_web::HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(status).unwrap(),
                        )
                        .body("ok")
                    }
                },
            ))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        receiver
    }

    fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    fn otherwise(&self, status: u16) {
        *self.otherwise.lock().unwrap() = status;
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until `n` requests came in.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.all();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} webhook requests, got {:?}", self.all());
    }
}

/// Checks `Cloudseat-Signature` the way a receiver would: HMAC-SHA256 of `"<t>.<body>"`.
pub(crate) fn verify_signature(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(expected) = hex::decode(v1) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

async fn put_as(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.api
        .put(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete_as(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.api
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Creates an endpoint; returns its body (with the secret).
pub(crate) async fn endpoint(
    app: &TestApp,
    token: &str,
    mid: &str,
    url: &str,
    events: &[&str],
) -> Value {
    let res = app
        .post_as(
            &format!("/api/merchants/{mid}/webhooks"),
            token,
            &json!({"url": url, "events": events, "description": "test receiver"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// Queues an event as the chat core will: `enqueue` inside a transaction.
async fn emit(app: &TestApp, mid: &str, event: &'static str, data: Value) -> usize {
    let merchant = MerchantId(mid.to_owned());
    let now = app.clock.now();
    app.with_db(move |conn| {
        cloudseat::db::write_transaction(conn, |conn| {
            cloudseat::merchant_api::enqueue(conn, &merchant, event, &data, now)
        })
        .unwrap()
    })
    .await
}

/// The endpoint's deliveries, newest first.
async fn deliveries(app: &TestApp, token: &str, mid: &str, endpoint_id: &str) -> Vec<Value> {
    let page: Value = app
        .get_as(
            &format!("/api/merchants/{mid}/webhooks/{endpoint_id}/deliveries"),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Waits (up to 15 s) until the endpoint's newest delivery satisfies `done`.
async fn wait_delivery(
    app: &TestApp,
    token: &str,
    mid: &str,
    endpoint_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        if let Some(d) = deliveries(app, token, mid, endpoint_id).await.first() {
            if done(d) {
                return d.clone();
            }
            last = d.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery never got there: {last}");
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    use cloudseat::db::schema::audit_log;
    use diesel::prelude::*;
    app.with_db(|conn| {
        audit_log::table
            .select((audit_log::action, audit_log::details))
            .order(audit_log::id.asc())
            .load::<(String, String)>(conn)
            .unwrap()
    })
    .await
}

both_backends! {
    async fn an_api_key_is_shown_once_and_works_until_revoked(app) {
        let shop = app.merchant("Key Shop").await;
        let mid = shop.merchant_id();
        let res = app
            .post_as(&format!("/api/merchants/{mid}/api-keys"), &shop.access, &json!({"label": "  Shop app  "}))
            .await;
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("sk_") && secret.len() > 40, "{secret}");
        assert_eq!(created["label"], "Shop app");
        assert!(created["hint"].as_str().unwrap().ends_with(&secret[secret.len() - 4..]));
        let key_id = created["id"].as_str().unwrap().to_owned();

        // Listed without the secret, and stored only as its digest.
        let list = app.get_as(&format!("/api/merchants/{mid}/api-keys"), &shop.access).await;
        let list_text = list.text().await.unwrap();
        assert!(!list_text.contains(&secret));
        let list: Value = serde_json::from_str(&list_text).unwrap();
        assert_eq!(list["items"][0]["id"], key_id);
        assert!(list["items"][0]["last_used_at"].is_null());
        let stored: String = {
            use diesel::prelude::*;
            use cloudseat::db::schema::merchant_api_keys;
            let id = key_id.clone();
            app.with_db(move |c| merchant_api_keys::table.find(id).select(merchant_api_keys::key_hash).first(c).unwrap()).await
        };
        assert_ne!(stored, secret);
        assert_eq!(stored, cloudseat::auth::tokens::digest(&secret));

        // The key authenticates.
        let res = app.get_as("/api/merchant-api/whoami", &secret).await;
        assert_eq!(res.status(), 200);
        let me: Value = res.json().await.unwrap();
        assert_eq!(me, json!({"merchant_id": mid, "key_id": key_id, "label": "Shop app"}));
        let list: Value = app.get_as(&format!("/api/merchants/{mid}/api-keys"), &shop.access).await.json().await.unwrap();
        assert!(list["items"][0]["last_used_at"].is_string(), "use is recorded");

        // No key, a wrong key, or a session token: 401, without saying which part failed.
        let res = app.api.get(app.url("/api/merchant-api/whoami")).send().await.unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        problem(res, 401, "missing_api_key").await;
        let wrong = format!("{}x", &secret[..secret.len() - 1]);
        problem(app.get_as("/api/merchant-api/whoami", &wrong).await, 401, "invalid_api_key").await;
        problem(app.get_as("/api/merchant-api/whoami", &shop.access).await, 401, "invalid_api_key").await;

        // Revoked: refused exactly like an unknown key.
        let res = app
            .post_as(&format!("/api/merchants/{mid}/api-keys/{key_id}/revoke"), &shop.access, &json!({}))
            .await;
        assert_eq!(res.status(), 200);
        let revoked: Value = res.json().await.unwrap();
        assert!(revoked["revoked_at"].is_string());
        problem(app.get_as("/api/merchant-api/whoami", &secret).await, 401, "invalid_api_key").await;

        // A label is required.
        let res = app
            .post_as(&format!("/api/merchants/{mid}/api-keys"), &shop.access, &json!({"label": " "}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("label".to_owned(), "required".to_owned())]);

        // Both changes are audited, without the secret.
        let audit = audit_actions(&app).await;
        let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
        assert!(actions.contains(&"api_key.created") && actions.contains(&"api_key.revoked"), "{actions:?}");
        assert!(audit.iter().all(|(_, details)| !details.contains(&secret)));
    }

    async fn the_widget_key_is_made_on_first_read_and_rotates(app) {
        let shop = app.merchant("Widget Shop").await;
        let mid = shop.merchant_id();
        let path = format!("/api/merchants/{mid}/widget-key");
        let first: Value = app.get_as(&path, &shop.access).await.json().await.unwrap();
        let key = first["widget_key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("wk_"), "{key}");
        assert_eq!(
            first["embed_snippet"],
            format!(r#"<script src="{}/widget.js" data-key="{key}" async></script>"#, app.address)
        );
        let again: Value = app.get_as(&path, &shop.access).await.json().await.unwrap();
        assert_eq!(again["widget_key"], key.as_str(), "one key per shop");
        let admin = app.admin().await;
        let seen: Value = app.get_as(&path, &admin.access).await.json().await.unwrap();
        assert_eq!(seen["widget_key"], key.as_str(), "admins read the same key");

        let app = &app;
        let lookup = |key: String| async move {
            app.with_db(move |c| cloudseat::merchant_api::merchant_for_widget_key(c, &key).unwrap()).await
        };
        assert_eq!(lookup(key.clone()).await, Some(MerchantId(mid.clone())));
        assert_eq!(lookup("wk_unknown".into()).await, None);

        let res = app.post_as(&format!("{path}/rotate"), &shop.access, &json!({})).await;
        assert_eq!(res.status(), 200);
        let rotated: Value = res.json().await.unwrap();
        let new_key = rotated["widget_key"].as_str().unwrap().to_owned();
        assert_ne!(new_key, key);
        assert!(rotated["rotated_at"].is_string());
        assert_eq!(lookup(key).await, None, "the old key stops working");
        assert_eq!(lookup(new_key).await, Some(MerchantId(mid)));
        let actions: Vec<String> = audit_actions(app).await.into_iter().map(|(a, _)| a).collect();
        assert!(actions.iter().any(|a| a == "widget_key.created"));
        assert!(actions.iter().any(|a| a == "widget_key.rotated"));
    }

    async fn deliveries_are_signed_and_reach_only_subscribed_active_endpoints(app) {
        let receiver = Receiver::start().await;
        let other = Receiver::start().await;
        let shop = app.merchant("Hook Shop").await;
        let mid = shop.merchant_id();
        let closed = endpoint(&app, &shop.access, &mid, &receiver.url, &["chat.closed", "ping"]).await;
        let secret = closed["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        let endpoint_id = closed["id"].as_str().unwrap().to_owned();
        // Subscribed to something else, or switched off: they get nothing.
        endpoint(&app, &shop.access, &mid, &other.url, &["chat.assigned"]).await;
        let off = endpoint(&app, &shop.access, &mid, &other.url, &["chat.closed"]).await;
        let res = put_as(
            &app,
            &format!("/api/merchants/{mid}/webhooks/{}", off["id"].as_str().unwrap()),
            &shop.access,
            &json!({"url": other.url, "events": ["chat.closed"], "active": false}),
        )
        .await;
        assert_eq!(res.status(), 200);
        let listed: Value = app.get_as(&format!("/api/merchants/{mid}/webhooks"), &shop.access).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 3);
        assert!(!listed.to_string().contains("whsec_"), "secrets are not listed");

        assert_eq!(emit(&app, &mid, "chat.closed", json!({"chat_id": "c-1", "rating": 5})).await, 1);
        let got = receiver.wait_for(1).await;
        let request = &got[0];
        assert_eq!(request.event, "chat.closed");
        assert!(request.content_type.starts_with("application/json"));
        assert!(verify_signature(&secret, &request.signature, &request.body), "{request:?}");
        assert!(!verify_signature("whsec_wrong", &request.signature, &request.body));
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["event"], "chat.closed");
        assert_eq!(body["id"], request.delivery.as_str());
        assert_eq!(body["data"], json!({"chat_id": "c-1", "rating": 5}));
        assert!(chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).is_ok());
        let t: i64 = request.signature.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
        assert!((t - app.clock.now().and_utc().timestamp()).abs() < 60, "signed with the service clock");

        let done = wait_delivery(&app, &shop.access, &mid, &endpoint_id, |d| d["status"] == "delivered").await;
        assert_eq!(done["attempts"], 1);
        assert_eq!(done["last_status_code"], 200);
        assert_eq!(done["id"], request.delivery.as_str());

        // A ping goes to that endpoint alone.
        let res = app.post_as(&format!("/api/merchants/{mid}/webhooks/{endpoint_id}/ping"), &shop.access, &json!({})).await;
        assert_eq!(res.status(), 202);
        let got = receiver.wait_for(2).await;
        assert_eq!(got[1].event, "ping");
        assert!(verify_signature(&secret, &got[1].signature, &got[1].body));

        // After rotating, deliveries are signed with the new secret only.
        let res = app.post_as(&format!("/api/merchants/{mid}/webhooks/{endpoint_id}/rotate-secret"), &shop.access, &json!({})).await;
        assert_eq!(res.status(), 200);
        let new_secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        emit(&app, &mid, "chat.closed", json!({"chat_id": "c-2"})).await;
        let got = receiver.wait_for(3).await;
        assert!(verify_signature(&new_secret, &got[2].signature, &got[2].body));
        assert!(!verify_signature(&secret, &got[2].signature, &got[2].body));

        assert!(other.all().is_empty(), "{:?}", other.all());
        // The receiver has the third request before the sender records its answer.
        let mut states = Vec::new();
        for _ in 0..300 {
            states = deliveries(&app, &shop.access, &mid, &endpoint_id).await;
            if states.len() == 3 && states.iter().all(|d| d["status"] == "delivered") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(states.iter().all(|d| d["status"] == "delivered"), "{states:?}");
        let filtered: Value = app
            .get_as(&format!("/api/merchants/{mid}/webhooks/{endpoint_id}/deliveries?status=delivered&limit=2"), &shop.access)
            .await.json().await.unwrap();
        assert_eq!(filtered["items"].as_array().unwrap().len(), 2);
        assert!(filtered["next_cursor"].is_string(), "three delivered, two a page");
        let bad = app.get_as(&format!("/api/merchants/{mid}/webhooks/{endpoint_id}/deliveries?status=lost"), &shop.access).await;
        let body = problem(bad, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("status".to_owned(), "invalid_value".to_owned())]);

        // Deleting the endpoint takes its history with it.
        let res = delete_as(&app, &format!("/api/merchants/{mid}/webhooks/{endpoint_id}"), &shop.access).await;
        assert_eq!(res.status(), 204);
        problem(app.get_as(&format!("/api/merchants/{mid}/webhooks/{endpoint_id}"), &shop.access).await, 404, "not_found").await;
        assert_eq!(app.count("webhook_deliveries").await, 0);
        let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _)| a).collect();
        for action in ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.secret_rotated", "webhook_endpoint.pinged", "webhook_endpoint.deleted"] {
            assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
        }
    }

    async fn a_receiver_that_fails_twice_gets_it_on_the_third_attempt(app) {
        let receiver = Receiver::start().await;
        receiver.answer(&[500, 503]);
        let shop = app.merchant("Flaky Shop").await;
        let mid = shop.merchant_id();
        let created = endpoint(&app, &shop.access, &mid, &receiver.url, &["chat.assigned"]).await;
        let id = created["id"].as_str().unwrap().to_owned();
        emit(&app, &mid, "chat.assigned", json!({"chat_id": "c-9"})).await;

        let first = wait_delivery(&app, &shop.access, &mid, &id, |d| d["attempts"] == 1).await;
        assert_eq!(first["status"], "pending");
        assert_eq!(first["last_status_code"], 500);
        assert!(first["last_error"].as_str().unwrap().contains("500"));
        // Not before the back-off has passed.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.all().len(), 1);

        app.clock.advance(chrono::Duration::minutes(10));
        let second = wait_delivery(&app, &shop.access, &mid, &id, |d| d["attempts"] == 2).await;
        assert_eq!(second["status"], "pending");
        assert_eq!(second["last_status_code"], 503);

        app.clock.advance(chrono::Duration::minutes(10));
        let third = wait_delivery(&app, &shop.access, &mid, &id, |d| d["status"] == "delivered").await;
        assert_eq!(third["attempts"], 3);
        assert_eq!(third["last_status_code"], 200);
        assert!(third["last_error"].is_null());
        assert!(third["delivered_at"].is_string());

        let got = receiver.all();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|r| r.delivery == got[0].delivery && r.body == got[0].body), "the same delivery each time");
    }

    async fn exhausted_attempts_end_failed_and_a_shop_can_retry(app) {
        let receiver = Receiver::start().await;
        receiver.otherwise(500);
        let shop = app.merchant("Down Shop").await;
        let mid = shop.merchant_id();
        let created = endpoint(&app, &shop.access, &mid, &receiver.url, &["chat.left_message"]).await;
        let id = created["id"].as_str().unwrap().to_owned();
        emit(&app, &mid, "chat.left_message", json!({"chat_id": "c-3"})).await;

        // The default gives up after 8 attempts; back-off is at most 6 hours.
        for attempt in 1..=8 {
            wait_delivery(&app, &shop.access, &mid, &id, |d| d["attempts"] == attempt).await;
            app.clock.advance(chrono::Duration::hours(7));
        }
        let failed = wait_delivery(&app, &shop.access, &mid, &id, |d| d["status"] == "failed").await;
        assert_eq!(failed["attempts"], 8);
        assert!(failed["next_attempt_at"].is_null());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.all().len(), 8, "no attempt after giving up");
        let only_failed: Value = app
            .get_as(&format!("/api/merchants/{mid}/webhooks/{id}/deliveries?status=failed"), &shop.access)
            .await.json().await.unwrap();
        assert_eq!(only_failed["items"].as_array().unwrap().len(), 1);
        let metrics = app.api.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"cloudseat_webhook_deliveries{status="failed"} 1"#), "{metrics}");

        // The receiver is fixed; the shop asks for one more attempt.
        receiver.otherwise(204);
        let delivery_id = failed["id"].as_str().unwrap().to_owned();
        let retry = format!("/api/merchants/{mid}/webhooks/{id}/deliveries/{delivery_id}/retry");
        let res = app.post_as(&retry, &shop.access, &json!({})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "pending");
        let done = wait_delivery(&app, &shop.access, &mid, &id, |d| d["status"] == "delivered").await;
        assert_eq!(done["attempts"], 9);
        assert_eq!(done["last_status_code"], 204);
        // Only failed deliveries are retried.
        problem(app.post_as(&retry, &shop.access, &json!({})).await, 409, "delivery_not_failed").await;
        problem(
            app.post_as(&format!("/api/merchants/{mid}/webhooks/{id}/deliveries/00000000-0000-7000-8000-000000000000/retry"), &shop.access, &json!({})).await,
            404,
            "not_found",
        )
        .await;
    }

    async fn concurrent_senders_never_take_the_same_delivery(app) {
        let shop = app.merchant("Busy Shop").await;
        let mid = shop.merchant_id();
        endpoint(&app, &shop.access, &mid, "http://127.0.0.1:9/never", &["chat.closed"]).await;
        // Queued for tomorrow, so the service's own sender leaves them alone; three other
        // "instances" then lease them at once.
        let tomorrow = app.clock.now() + chrono::Duration::days(1);
        let merchant = MerchantId(mid.clone());
        app.with_db(move |conn| {
            cloudseat::db::write_transaction(conn, |conn| {
                for n in 0..40 {
                    cloudseat::merchant_api::enqueue(conn, &merchant, "chat.closed", &json!({"n": n}), tomorrow)?;
                }
                diesel::QueryResult::Ok(())
            })
            .unwrap()
        })
        .await;
        let mut senders = Vec::new();
        for _ in 0..3 {
            let db = app.db.clone();
            senders.push(tokio::task::spawn_blocking(move || {
                let mut conn = db.get_blocking().unwrap();
                let mut taken = Vec::new();
                loop {
                    let batch = cloudseat::db::write_transaction(&mut conn, |conn| {
                        cloudseat::merchant_api::webhooks::lease_due(conn, tomorrow, 3, chrono::Duration::minutes(5))
                    })
                    .unwrap();
                    if batch.is_empty() {
                        return taken;
                    }
                    taken.extend(batch.into_iter().map(|d| d.id));
                }
            }));
        }
        let mut all = Vec::new();
        for sender in senders {
            all.extend(sender.await.unwrap());
        }
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(all.len(), 40, "every delivery leased once");
        assert_eq!(distinct.len(), 40, "none leased twice");
    }

    async fn bad_endpoints_are_refused_field_by_field(app) {
        let shop = app.merchant("Careless Shop").await;
        let path = format!("/api/merchants/{}/webhooks", shop.merchant_id());
        let refused = |url: &'static str, events: Value| {
            let (app, path, token) = (&app, path.clone(), shop.access.clone());
            async move {
                let res = app.post_as(&path, &token, &json!({"url": url, "events": events})).await;
                field_codes(&problem(res, 422, "validation_failed").await)
            }
        };
        let pair = |f: &str, c: &str| (f.to_owned(), c.to_owned());
        assert_eq!(refused("not a url", json!(["ping"])).await, [pair("url", "invalid_url")]);
        assert_eq!(refused("ftp://hooks.example.com/x", json!(["ping"])).await, [pair("url", "unsupported_scheme")]);
        assert_eq!(refused("https://shop:pw@hooks.example.com/x", json!(["ping"])).await, [pair("url", "userinfo_not_allowed")]);
        assert_eq!(refused("https://hooks.example.com/x", json!(["chat.opened"])).await, [pair("events", "unknown_event")]);
        assert_eq!(refused("https://hooks.example.com/x", json!([])).await, [pair("events", "required")]);
        assert_eq!(
            refused("javascript:alert(1)", json!(["nope"])).await,
            [pair("url", "unsupported_scheme"), pair("events", "unknown_event")],
            "every bad field at once"
        );
        let res = app.post_as(&path, &shop.access, &json!({"url": "https://hooks.example.com/x", "events": ["ping"], "secret": "mine"})).await;
        assert_eq!(field_codes(&problem(res, 422, "validation_failed").await), [pair("secret", "unknown_field")]);
        assert_eq!(app.count("webhook_endpoints").await, 0);
    }
}

/// With the default `webhooks.allow_private_targets = false`, URLs into the service's own
/// network are refused (the other tests allow them, for their receivers on 127.0.0.1).
async fn private_targets_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.webhooks.allow_private_targets = false).await;
    let shop = app.merchant("Sneaky Shop").await;
    let path = format!("/api/merchants/{}/webhooks", shop.merchant_id());
    for url in [
        "http://127.0.0.1:8080/admin",
        "http://localhost/hooks",
        "http://10.0.0.5/hooks",
        "http://192.168.1.10/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
    ] {
        let res = app
            .post_as(
                &path,
                &shop.access,
                &json!({"url": url, "events": ["ping"]}),
            )
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(
            field_codes(&body),
            [("url".to_owned(), "private_target".to_owned())],
            "{url}"
        );
    }
    let res = app
        .post_as(
            &path,
            &shop.access,
            &json!({"url": "https://hooks.example.com/cloudseat", "events": ["ping"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
}

mod private_targets {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        private_targets_are_refused(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        private_targets_are_refused(Backend::Postgres).await
    }
}

/// The integrations page, driven like a browser without JavaScript.
#[tokio::test]
async fn a_shop_manages_its_integrations_on_the_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("integrations.shop");
    app.register_merchant(&email, "Page Shop").await;

    let anonymous = app
        .api
        .get(app.url("/seats/integrations"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);

    let b = signed_in(&app, &email).await;
    let html = b
        .get(app.url("/seats/integrations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"href="/seats/integrations""#),
        "in the navigation"
    );
    let key = regex::Regex::new(r"<code data-widget-key>(wk_[A-Za-z0-9_-]+)</code>")
        .unwrap()
        .captures(&html)
        .expect("the widget key")[1]
        .to_owned();
    let unescaped = html
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"");
    assert!(
        unescaped.contains(&format!(
            r#"<textarea id="embed-snippet" rows="3" cols="60" readonly><script src="{}/widget.js" data-key="{key}" async></script></textarea>"#,
            app.address
        )),
        "the embed snippet, escaped in the page: {html}"
    );
    let csrf = csrf_of(&html);

    // A new key is shown once.
    let res = b
        .post(app.url("/seats/integrations/api-keys"))
        .form(&[("csrf_token", csrf.as_str()), ("label", "Shop app")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let secret = regex::Regex::new(r#"value="(sk_[A-Za-z0-9_-]+)""#)
        .unwrap()
        .captures(&html)
        .expect("the new key")[1]
        .to_owned();
    let later = b
        .get(app.url("/seats/integrations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!later.contains(&secret), "shown only once");
    assert!(later.contains("Shop app") && later.contains(&secret[secret.len() - 4..]));
    assert_eq!(
        app.get_as("/api/merchant-api/whoami", &secret)
            .await
            .status(),
        200
    );

    // Revoking asks for the confirming box first.
    let key_id = regex::Regex::new(r#"/seats/integrations/api-keys/([0-9a-f-]+)/revoke"#)
        .unwrap()
        .captures(&later)
        .expect("a revoke form")[1]
        .to_owned();
    let revoke = app.url(&format!("/seats/integrations/api-keys/{key_id}/revoke"));
    let res = b
        .post(&revoke)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get_as("/api/merchant-api/whoami", &secret)
            .await
            .status(),
        200
    );
    let res = b
        .post(&revoke)
        .form(&[("csrf_token", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_as("/api/merchant-api/whoami", &secret)
            .await
            .status(),
        401
    );
    // Without the CSRF token nothing happens.
    let res = b
        .post(app.url("/seats/integrations/api-keys"))
        .form(&[("csrf_token", "forged"), ("label", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // An endpoint: a bad URL is explained, a good one shows its secret once.
    let res = b
        .post(app.url("/seats/integrations/webhooks"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("url", "ftp://example.com"),
            ("events", "chat.closed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("must start with https://"), "{html}");
    assert!(
        html.contains(r#"value="chat.closed" checked"#),
        "the form keeps its ticks"
    );
    let receiver = Receiver::start().await;
    let res = b
        .post(app.url("/seats/integrations/webhooks"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("url", receiver.url.as_str()),
            ("events", "chat.closed"),
            ("events", "ping"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let secret = regex::Regex::new(r#"value="(whsec_[A-Za-z0-9_-]+)""#)
        .unwrap()
        .captures(&html)
        .expect("the signing secret")[1]
        .to_owned();
    assert!(html.contains("chat.closed, ping"));

    // Ping it; the delivery shows up under the endpoint.
    let endpoint_id = regex::Regex::new(r#"/seats/integrations/webhooks/([0-9a-f-]+)/ping"#)
        .unwrap()
        .captures(&html)
        .expect("a ping button")[1]
        .to_owned();
    let res = b
        .post(app.url(&format!("/seats/integrations/webhooks/{endpoint_id}/ping")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let got = receiver.wait_for(1).await;
    assert!(verify_signature(&secret, &got[0].signature, &got[0].body));
    let mut page = String::new();
    for _ in 0..100 {
        page = b
            .get(app.url("/seats/integrations"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("Delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        page.contains("<code>ping</code>") && page.contains("Delivered"),
        "{page}"
    );

    // In Chinese too.
    let zh = b
        .get(app.url("/seats/integrations"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("集成设置") && zh.contains("聊天组件"));

    // Admins and agents have no integrations page.
    let admin = app.admin().await;
    let ab = signed_in(&app, &admin.email).await;
    let res = ab.get(app.url("/seats/integrations")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
