//! Live chat over real WebSockets: a customer's widget and agents' workspaces exchange
//! messages; offers time out to the next agent; concurrency limits hold; a reconnect
//! resumes without losing or doubling a message; a returning customer goes back to their
//! agent; bad frames get clear errors.

use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::both_backends;
use crate::helpers::{Session, TestApp, problem};
use crate::shifts::{
    act, booked, certified, claim, clock_to, json_of, past_early_access, shift_start,
};
use cloudseat::db::schema::{agents, chat_messages, chat_offers, chats};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A chat socket with helpers to send and wait for frames.
pub(crate) struct Ws {
    socket: Socket,
    /// Frames received while waiting for another type.
    seen: Vec<Value>,
}

impl Ws {
    pub(crate) async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    pub(crate) async fn send_raw(&mut self, text: &str) {
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next JSON frame, within 10 s.
    pub(crate) async fn next(&mut self) -> Value {
        if !self.seen.is_empty() {
            return self.seen.remove(0);
        }
        self.read().await
    }

    async fn read(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(StdDuration::from_secs(12), self.socket.next())
                .await
                .expect("no frame within 12 s")
                .expect("socket ended")
                .expect("socket error");
            match msg {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The first frame of `kind` (earlier frames of other kinds are kept for `next`).
    pub(crate) async fn until(&mut self, kind: &str) -> Value {
        if let Some(i) = self.seen.iter().position(|f| f["type"] == kind) {
            return self.seen.remove(i);
        }
        loop {
            let frame = tokio::time::timeout(StdDuration::from_secs(10), self.read())
                .await
                .unwrap_or_else(|_| panic!("no {kind} frame; got {:?}", self.seen));
            if frame["type"] == kind {
                return frame;
            }
            self.seen.push(frame);
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub(crate) async fn closed(&mut self) -> u16 {
        loop {
            let msg = tokio::time::timeout(StdDuration::from_secs(10), self.socket.next())
                .await
                .expect("not closed within 10 s");
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) | None => return 1005,
                Some(Ok(_)) => continue,
                Some(Err(_)) => return 1006,
            }
        }
    }

    /// No frame of `kind` arrives within `ms`.
    pub(crate) async fn quiet(&mut self, kind: &str, ms: u64) {
        assert!(
            !self.seen.iter().any(|f| f["type"] == kind),
            "{:?}",
            self.seen
        );
        let deadline = tokio::time::Instant::now() + StdDuration::from_millis(ms);
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, self.socket.next()).await {
            if let Message::Text(text) = msg {
                let frame: Value = serde_json::from_str(&text).unwrap();
                assert_ne!(frame["type"], kind, "unexpected {frame}");
                self.seen.push(frame);
            }
        }
    }

    pub(crate) async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

fn ws_url(app: &TestApp, path: &str) -> String {
    app.url(path).replacen("http://", "ws://", 1)
}

/// Opens the agent socket with a bearer token and reads the `hello`.
pub(crate) async fn agent_ws(app: &TestApp, agent: &Session) -> (Ws, Value) {
    let mut request = ws_url(app, "/ws/agent").into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", agent.access).parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut ws = Ws {
        socket,
        seen: Vec::new(),
    };
    let hello = ws.until("hello").await;
    (ws, hello)
}

/// Opens a customer socket (nothing sent yet).
pub(crate) async fn customer_ws(app: &TestApp) -> Ws {
    let (socket, _) = tokio_tungstenite::connect_async(ws_url(app, "/ws/customer"))
        .await
        .unwrap();
    Ws {
        socket,
        seen: Vec::new(),
    }
}

/// The shop's widget key.
pub(crate) async fn widget_key(app: &TestApp, shop: &Session) -> String {
    let path = format!("/api/merchants/{}/widget-key", shop.merchant_id());
    json_of(app.get_as(&path, &shop.access).await).await["widget_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Starts a chat from the widget; returns the socket, the chat id and its resume token.
pub(crate) async fn start_chat(app: &TestApp, key: &str, start: Value) -> (Ws, String, String) {
    let mut ws = customer_ws(app).await;
    let mut frame = json!({"type": "start", "key": key, "skill": "general"});
    for (k, v) in start.as_object().unwrap() {
        frame[k] = v.clone();
    }
    ws.send(frame).await;
    let started = ws.until("started").await;
    ws.until("welcome").await;
    (
        ws,
        started["chat"].as_str().unwrap().to_owned(),
        started["token"].as_str().unwrap().to_owned(),
    )
}

/// A shop with `agents` certified agents checked in on its `general` shifts right now.
pub(crate) async fn staffed(app: &TestApp, agents: usize) -> (Session, Vec<Session>) {
    let shop = app.merchant("Tea House").await;
    let (_, shifts) = booked(app, &shop, "general", 5, (8, 12), agents as i64).await;
    past_early_access(app);
    let mut list = Vec::new();
    for (i, shift) in shifts.iter().enumerate().take(agents) {
        let agent = certified(app, &format!("Agent {i}"), "general").await;
        json_of(claim(app, &agent, shift).await).await;
        list.push(agent);
    }
    let start = shift_start(app, &shifts[0]).await;
    clock_to(app, start - Duration::minutes(5));
    for (agent, shift) in list.iter().zip(&shifts) {
        json_of(act(app, agent, shift, "check-in").await).await;
    }
    clock_to(app, start + Duration::minutes(1));
    (shop, list)
}

async fn set_limit(app: &TestApp, agent: &Session, limit: i32) {
    let id = agent.id();
    app.with_db(move |c| {
        diesel::update(agents::table.find(&id))
            .set(agents::max_concurrent_chats.eq(limit))
            .execute(c)
            .unwrap();
    })
    .await;
}

async fn chat_row(app: &TestApp, id: &str) -> (String, Option<String>, i32, i32, Option<i32>) {
    let id = id.to_owned();
    app.with_db(move |c| {
        chats::table
            .find(&id)
            .select((
                chats::status,
                chats::agent_id,
                chats::customer_messages,
                chats::agent_messages,
                chats::rating,
            ))
            .first(c)
            .unwrap()
    })
    .await
}

async fn offer_outcomes(app: &TestApp, chat: &str) -> Vec<(String, Option<String>)> {
    let id = chat.to_owned();
    app.with_db(move |c| {
        chat_offers::table
            .filter(chat_offers::chat_id.eq(&id))
            .order(chat_offers::offered_at)
            .select((chat_offers::agent_id, chat_offers::outcome))
            .load(c)
            .unwrap()
    })
    .await
}

both_backends! {
    async fn a_customer_and_an_agent_chat_end_to_end(app) {
        let (shop, agents) = staffed(&app, 1).await;
        let (mut agent, hello) = agent_ws(&app, &agents[0]).await;
        assert_eq!(hello["presence"], "online");
        assert_eq!(hello["chats"], json!([]));
        let key = widget_key(&app, &shop).await;
        let (mut customer, chat, _) = start_chat(
            &app,
            &key,
            json!({"name": "Xiao Ming", "identities": [{"kind": "phone", "value": "+86 138-0013-8000"}],
                   "message": {"client_id": "m1", "body": "Is the <b>green</b> tea in stock?"}}),
        )
        .await;

        let offer = agent.until("offer").await;
        assert_eq!(offer["card"]["chat"], chat.as_str());
        assert_eq!(offer["card"]["merchant_name"], "Tea House");
        assert_eq!(offer["card"]["customer_name"], "Xiao Ming");
        agent.send(json!({"type": "accept", "chat": chat})).await;
        let assigned = agent.until("assigned").await;
        assert_eq!(assigned["messages"][0]["body"], "Is the <b>green</b> tea in stock?", "text, verbatim");
        assert!(assigned["card"]["first_response_due"].is_string());
        let joined = customer.until("agent_joined").await;
        assert_eq!(joined["agent_name"], "Agent 0");

        agent.send(json!({"type": "typing", "chat": chat, "on": true})).await;
        assert_eq!(customer.until("typing").await["from"], "agent");
        agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "Yes, 30 boxes."})).await;
        let got = customer.until("message").await;
        assert_eq!((got["from"].as_str(), got["body"].as_str(), got["seq"].as_i64()), (Some("agent"), Some("Yes, 30 boxes."), Some(2)));
        assert_eq!(agent.until("message").await["client_id"], "a1", "the sender sees its own message as the ack");
        customer.send(json!({"type": "read", "seq": 2})).await;
        assert_eq!(agent.until("read").await["seq"], 2);
        customer.send(json!({"type": "message", "client_id": "m2", "body": "Great, thanks"})).await;
        assert_eq!(agent.until("message").await["body"], "Great, thanks");

        agent.send(json!({"type": "close", "chat": chat})).await;
        let closed = customer.until("closed").await;
        assert_eq!((closed["by"].as_str(), closed["may_rate"].as_bool()), (Some("agent"), Some(true)));
        customer.send(json!({"type": "rate", "score": 5, "comment": "fast"})).await;
        assert_eq!(agent.until("rated").await["score"], 5);
        customer.send(json!({"type": "rate", "score": 4})).await;
        assert_eq!(customer.until("error").await["code"], "already_rated");

        assert_eq!(chat_row(&app, &chat).await, ("closed".into(), Some(agents[0].id()), 2, 1, Some(5)));
        // The shop sees the record with its metrics; the transcript is text as sent.
        let detail = json_of(app.get_as(&format!("/api/chats/{chat}"), &shop.access).await).await;
        assert_eq!(detail["metrics"]["customer_messages"], 2);
        assert_eq!(detail["metrics"]["agent_messages"], 1);
        assert_eq!(detail["metrics"]["agent_to_customer_ratio_pct"], 50);
        assert!(detail["metrics"]["first_response_secs"].is_i64());
        assert!(detail["metrics"]["handle_secs"].is_i64());
        assert_eq!(detail["messages"][0]["body"], "Is the <b>green</b> tea in stock?");
        let kinds: Vec<&str> = detail["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["queued", "offered", "accepted", "closed", "rated"]);
        customer.close().await;
        agent.close().await;
    }

    async fn an_unanswered_offer_times_out_to_the_next_agent(app) {
        let (shop, agents) = staffed(&app, 2).await;
        let (mut first, _) = agent_ws(&app, &agents[0]).await;
        let (mut second, _) = agent_ws(&app, &agents[1]).await;
        let key = widget_key(&app, &shop).await;
        let (mut customer, chat, _) = start_chat(&app, &key, json!({})).await;
        // Whoever gets it first lets it lapse.
        let (lapsing, mut other) = tokio::select! {
            _ = first.until("offer") => (0, second),
            _ = second.until("offer") => (1, first),
        };
        app.clock.advance(Duration::seconds(21));
        let offer = other.until("offer").await;
        assert_eq!(offer["card"]["chat"], chat.as_str());
        let outcomes = offer_outcomes(&app, &chat).await;
        assert_eq!(outcomes[0], (agents[lapsing].id(), Some("timed_out".into())));
        assert_eq!(outcomes[1], (agents[1 - lapsing].id(), None));
        other.send(json!({"type": "accept", "chat": chat})).await;
        other.until("assigned").await;
        customer.until("agent_joined").await;
    }

    async fn an_agent_never_holds_more_than_their_limit(app) {
        let (shop, agents) = staffed(&app, 1).await;
        set_limit(&app, &agents[0], 1).await;
        let (mut agent, _) = agent_ws(&app, &agents[0]).await;
        agent.send(json!({"type": "auto_accept", "on": true})).await;
        agent.until("auto_accept").await;
        let key = widget_key(&app, &shop).await;
        let (mut c1, chat1, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(agent.until("assigned").await["card"]["chat"], chat1.as_str());
        c1.until("agent_joined").await;
        let (mut c2, chat2, _) = start_chat(&app, &key, json!({})).await;
        let queue = c2.until("queue").await;
        assert_eq!(queue["position"], 1);
        agent.quiet("assigned", 600).await;
        assert_eq!(chat_row(&app, &chat2).await.0, "queued");
        // Freeing the slot offers the next chat at once.
        agent.send(json!({"type": "close", "chat": chat1})).await;
        assert_eq!(agent.until("assigned").await["card"]["chat"], chat2.as_str());
        c2.until("agent_joined").await;
    }

    async fn an_agents_level_caps_their_chats_below_their_own_limit(app) {
        let (shop, agents) = staffed(&app, 1).await;
        // Their own setting allows 5, but a new agent is at level 1, which allows 2.
        set_limit(&app, &agents[0], 5).await;
        let (mut agent, _) = agent_ws(&app, &agents[0]).await;
        agent.send(json!({"type": "auto_accept", "on": true})).await;
        agent.until("auto_accept").await;
        let key = widget_key(&app, &shop).await;
        let (_c1, chat1, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(agent.until("assigned").await["card"]["chat"], chat1.as_str());
        let (_c2, chat2, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(agent.until("assigned").await["card"]["chat"], chat2.as_str());
        let (mut c3, chat3, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(c3.until("queue").await["position"], 1);
        agent.quiet("assigned", 600).await;
        assert_eq!(chat_row(&app, &chat3).await.0, "queued");
        // Promoted to level 2 (3 chats): the next chat that comes is theirs too.
        let id = agents[0].id();
        app.with_db(move |c| {
            diesel::update(agents::table.find(&id))
                .set(agents::level.eq(2))
                .execute(c)
                .unwrap();
        })
        .await;
        agent.send(json!({"type": "close", "chat": chat1})).await;
        assert_eq!(agent.until("assigned").await["card"]["chat"], chat3.as_str());
        let (_c4, chat4, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(agent.until("assigned").await["card"]["chat"], chat4.as_str());
        assert_eq!(chat_row(&app, &chat4).await.1, Some(agents[0].id()));
    }

    async fn a_reconnect_resumes_without_losing_or_doubling_messages(app) {
        let (shop, agents) = staffed(&app, 1).await;
        let (mut agent, _) = agent_ws(&app, &agents[0]).await;
        let key = widget_key(&app, &shop).await;
        let (mut customer, chat, token) = start_chat(&app, &key, json!({})).await;
        agent.until("offer").await;
        agent.send(json!({"type": "accept", "chat": chat})).await;
        agent.until("assigned").await;
        customer.send(json!({"type": "message", "client_id": "m1", "body": "first"})).await;
        assert_eq!(customer.until("message").await["seq"], 1);
        customer.close().await;
        // While the customer is away the agent answers.
        agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "hello?"})).await;
        while agent.until("message").await["body"] != "hello?" {}

        let mut again = customer_ws(&app).await;
        again.send(json!({"type": "hello", "token": token, "after": 1})).await;
        let welcome = again.until("welcome").await;
        assert_eq!(welcome["status"], "assigned");
        assert_eq!(welcome["agent_name"], "Agent 0");
        let bodies: Vec<&str> = welcome["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["hello?"], "only what came after the last message seen");
        // The widget resends m1 because it never saw the ack: stored once, acknowledged again.
        again.send(json!({"type": "message", "client_id": "m1", "body": "first"})).await;
        let ack = again.until("ack").await;
        assert_eq!((ack["client_id"].as_str(), ack["seq"].as_i64()), (Some("m1"), Some(1)));
        let id = chat.clone();
        let count: i64 = app.with_db(move |c| chat_messages::table.filter(chat_messages::chat_id.eq(&id)).count().get_result(c).unwrap()).await;
        assert_eq!(count, 2);
        // A wrong token is refused and the socket closed.
        let mut stranger = customer_ws(&app).await;
        stranger.send(json!({"type": "hello", "token": "not-a-token"})).await;
        assert_eq!(stranger.until("error").await["code"], "invalid_chat_token");
    }

    async fn a_returning_customer_goes_back_to_their_agent(app) {
        let (shop, agents) = staffed(&app, 2).await;
        let (mut a0, _) = agent_ws(&app, &agents[0]).await;
        let (mut a1, _) = agent_ws(&app, &agents[1]).await;
        for ws in [&mut a0, &mut a1] {
            ws.send(json!({"type": "auto_accept", "on": true})).await;
            ws.until("auto_accept").await;
        }
        let key = widget_key(&app, &shop).await;
        let phone = json!({"identities": [{"kind": "phone", "value": "+8613800138000"}]});
        let (mut c1, chat1, _) = start_chat(&app, &key, phone.clone()).await;
        c1.until("agent_joined").await;
        let served_by = chat_row(&app, &chat1).await.1.unwrap();
        let (served, mut idle) = if served_by == agents[0].id() { (&mut a0, a1) } else { (&mut a1, a0) };
        served.until("assigned").await;
        served.send(json!({"type": "close", "chat": chat1})).await;
        served.until("closed").await;
        // The other agent has been idle longer, yet the customer returns to their agent,
        // from another channel (a device id joins the same customer through the phone).
        let again = json!({"identities": [{"kind": "device_id", "value": "ios-77"}, {"kind": "phone", "value": "+86 138 0013 8000"}]});
        let (mut c2, chat2, _) = start_chat(&app, &key, again).await;
        c2.until("agent_joined").await;
        assert_eq!(chat_row(&app, &chat2).await.1.unwrap(), served_by);
        idle.quiet("assigned", 300).await;
        // One customer: the second chat's history includes the first.
        let (card_customer, served_session) = {
            let detail = json_of(app.get_as(&format!("/api/chats/{chat2}"), &shop.access).await).await;
            (detail["customer_id"].as_str().unwrap().to_owned(), agents.iter().find(|a| a.id() == served_by).unwrap().clone())
        };
        let history = json_of(app.get_as(&format!("/api/customers/{card_customer}"), &served_session.access).await).await;
        assert_eq!(history["chats"].as_array().unwrap().len(), 2);
        assert_eq!(history["identities"].as_array().unwrap().len(), 2);
    }

    async fn with_nobody_on_shift_the_customer_leaves_a_message(app) {
        let shop = app.merchant("Night Shop").await;
        let key = widget_key(&app, &shop).await;
        let (mut ws, chat, _) = {
            let mut ws = customer_ws(&app).await;
            ws.send(json!({"type": "start", "key": key, "skill": "general", "message": {"client_id": "m1", "body": "Please call me back"}})).await;
            let started = ws.until("started").await;
            assert_eq!(started["status"], "left_message");
            let welcome = ws.until("welcome").await;
            assert_eq!(welcome["status"], "left_message");
            assert_eq!(welcome["messages"][0]["body"], "Please call me back");
            (ws, started["chat"].as_str().unwrap().to_owned(), ())
        };
        assert_eq!(chat_row(&app, &chat).await.0, "left_message");
        // The shop hears of it by mail, with the message as text.
        let mail = app.smtp.wait_for(&shop.email, "left a message while nobody was on shift").await;
        assert!(mail.text.contains("Please call me back"), "{}", mail.text);
        assert!(mail.text.contains(&chat), "{}", mail.text);
        ws.send(json!({"type": "ping"})).await;
        ws.until("pong").await;
    }

    async fn bad_frames_get_clear_errors_and_lose_nothing(app) {
        let (shop, agents) = staffed(&app, 1).await;
        let (mut agent, _) = agent_ws(&app, &agents[0]).await;
        let key = widget_key(&app, &shop).await;
        // A bad start names each bad field; the socket stays open for a corrected one.
        let mut ws = customer_ws(&app).await;
        ws.send(json!({"type": "start", "key": key, "skill": "nope", "identities": [{"kind": "email", "value": "x"}],
                       "message": {"client_id": "m1", "body": "x".repeat(4001)}})).await;
        let err = ws.until("error").await;
        let fields: Vec<(&str, &str)> = err["errors"].as_array().unwrap().iter().map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap())).collect();
        assert_eq!(fields, [("skill", "unknown_skill"), ("identities[0].kind", "unknown_identity_kind"), ("message.body", "message_too_long")]);
        ws.send(json!({"type": "start", "key": "wk_nope", "skill": "general"})).await;
        assert_eq!(ws.until("error").await["errors"][0]["code"], "unknown_widget_key");
        ws.send(json!({"type": "start", "key": key, "skill": "general"})).await;
        let chat = ws.until("started").await["chat"].as_str().unwrap().to_owned();
        ws.until("welcome").await;

        ws.send_raw("{not json").await;
        assert_eq!(ws.until("error").await["code"], "malformed_json");
        ws.send(json!({"type": "shout"})).await;
        let err = ws.until("error").await;
        assert_eq!((err["code"].as_str(), err["errors"][0]["field"].as_str()), (Some("validation_failed"), Some("type")));
        ws.send(json!({"type": "message", "client_id": "m1", "body": "x".repeat(4001)})).await;
        let err = ws.until("error").await;
        assert_eq!(err["errors"][0]["code"], "message_too_long");
        ws.send(json!({"type": "message", "client_id": "m1", "body": "   "})).await;
        assert_eq!(ws.until("error").await["errors"][0]["code"], "required");

        // An agent writing in a chat not theirs.
        agent.until("offer").await;
        agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "hi"})).await;
        assert_eq!(agent.until("error").await["code"], "chat_not_accepted");
        agent.send(json!({"type": "message", "chat": "some-other-chat", "client_id": "a1", "body": "hi"})).await;
        assert_eq!(agent.until("error").await["code"], "not_found");
        agent.send(json!({"type": "accept", "chat": chat})).await;
        agent.until("assigned").await;
        // Flooding: beyond the burst, messages are refused and not stored.
        let mut refused = 0;
        for i in 0..15 {
            ws.send(json!({"type": "message", "client_id": format!("f{i}"), "body": "spam"})).await;
        }
        let mut answered = 0;
        while answered < 15 {
            let frame = ws.next().await;
            match frame["type"].as_str() {
                Some("error") => {
                    assert_eq!(frame["code"], "rate_limited");
                    refused += 1;
                    answered += 1;
                }
                Some("message") if frame["from"] == "customer" => answered += 1,
                _ => {}
            }
        }
        assert!(refused >= 4, "{refused} refused");
        let stored = chat_row(&app, &chat).await.2;
        assert_eq!(stored as usize, 15 - refused);
        // A closed chat takes no more messages.
        agent.send(json!({"type": "close", "chat": chat})).await;
        ws.until("closed").await;
        // (after the flood limit lets a message through again)
        tokio::time::sleep(StdDuration::from_millis(1100)).await;
        ws.send(json!({"type": "message", "client_id": "late", "body": "one more thing"})).await;
        assert_eq!(ws.until("error").await["code"], "chat_closed");
        agent.send(json!({"type": "message", "chat": chat, "client_id": "a9", "body": "bye"})).await;
        assert_eq!(agent.until("error").await["code"], "chat_closed");
    }

    async fn a_signed_out_session_closes_the_agent_socket(app) {
        let (_, agents) = staffed(&app, 1).await;
        let (mut agent, _) = agent_ws(&app, &agents[0]).await;
        let res = app.post_json("/api/auth/logout", &json!({"refresh_token": agents[0].refresh})).await;
        assert!(res.status().is_success());
        assert_eq!(agent.closed().await, 4001);
    }

    async fn the_agent_socket_refuses_other_roles_and_no_credentials(app) {
        let shop = app.merchant("Tea House").await;
        let res = reqwest::Client::new()
            .get(app.url("/ws/agent"))
            .header("Authorization", format!("Bearer {}", shop.access))
            .send()
            .await
            .unwrap();
        problem(res, 403, "wrong_role").await;
        let res = reqwest::Client::new().get(app.url("/ws/agent")).send().await.unwrap();
        problem(res, 401, "missing_credentials").await;
        let applicant = app.agent("Not Yet").await;
        let res = reqwest::Client::new()
            .get(app.url("/ws/agent"))
            .header("Authorization", format!("Bearer {}", applicant.access))
            .send()
            .await
            .unwrap();
        problem(res, 403, "not_certified").await;
    }
}

/// Posts as a shop's back end with a secret API key.
pub(crate) async fn post_with_key(
    app: &TestApp,
    key: &str,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    app.api
        .post(app.url(path))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn a_shop_front_end_chats_through_the_api_and_hears_back_by_webhook(app) {
        use crate::merchant_api::{Receiver, endpoint, verify_signature};
        let (shop, agents) = staffed(&app, 1).await;
        let mid = shop.merchant_id();
        let receiver = Receiver::start().await;
        let hook = endpoint(&app, &shop.access, &mid, &receiver.url,
            &["chat.assigned", "chat.message.agent", "chat.closed"]).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        let res = app.post_as(&format!("/api/merchants/{mid}/api-keys"), &shop.access, &json!({"label": "shop app"})).await;
        assert_eq!(res.status(), 201);
        let key = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();

        let (mut agent, _) = agent_ws(&app, &agents[0]).await;
        agent.send(json!({"type": "auto_accept", "on": true})).await;
        agent.until("auto_accept").await;

        // Bad input is refused field by field; nothing is created.
        let res = post_with_key(&app, &key, "/api/chats", &json!({"skill": "nope", "identities": [{"kind": "account_id", "value": " "}]})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(crate::helpers::field_codes(&body), [("skill".to_owned(), "unknown_skill".to_owned()), ("identities[0].value".to_owned(), "required".to_owned())]);
        assert_eq!(app.count("chats").await, 0);
        let res = post_with_key(&app, "sk_wrong", "/api/chats", &json!({"skill": "general"})).await;
        problem(res, 401, "invalid_api_key").await;

        let res = post_with_key(&app, &key, "/api/chats", &json!({"skill": "general", "name": "Wei",
            "identities": [{"kind": "account_id", "value": "shop-user-42"}],
            "message": {"client_id": "o1", "body": "Where is order 1001?"}})).await;
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let chat = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["status"], "queued");
        assert_eq!(agent.until("assigned").await["messages"][0]["body"], "Where is order 1001?");

        // The customer's next message, retried once by the shop: stored once.
        let path = format!("/api/chats/{chat}/messages");
        let res = post_with_key(&app, &key, &path, &json!({"client_id": "o2", "body": "It was due Monday"})).await;
        assert_eq!(res.status(), 201);
        assert_eq!(agent.until("message").await["body"], "It was due Monday");
        let res = post_with_key(&app, &key, &path, &json!({"client_id": "o2", "body": "It was due Monday"})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap(), json!({"seq": 2, "duplicate": true}));

        agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "It ships today."})).await;
        agent.until("message").await;
        agent.send(json!({"type": "close", "chat": chat})).await;
        agent.until("closed").await;

        let got = receiver.wait_for(3).await;
        let events: Vec<&str> = got.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["chat.assigned", "chat.message.agent", "chat.closed"]);
        for r in &got {
            assert!(verify_signature(&secret, &r.signature, &r.body), "{}", r.signature);
        }
        let message: Value = serde_json::from_str(&got[1].body).unwrap();
        assert_eq!(message["data"]["chat_id"], chat.as_str());
        assert_eq!(message["data"]["body"], "It ships today.");
        let closed: Value = serde_json::from_str(&got[2].body).unwrap();
        assert_eq!(closed["data"]["closed_by"], "agent");

        // The transcript for shops that poll; a closed chat takes no more messages.
        let transcript: Value = app.api.get(app.url(&format!("/api/chats/{chat}/messages?after=1"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        let bodies: Vec<&str> = transcript["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["It was due Monday", "It ships today."]);
        let res = post_with_key(&app, &key, &path, &json!({"client_id": "o3", "body": "thanks"})).await;
        problem(res, 409, "chat_closed").await;

        // Another shop's key does not find the chat.
        let other = app.merchant("Book Nook").await;
        let res = app.post_as(&format!("/api/merchants/{}/api-keys", other.merchant_id()), &other.access, &json!({"label": "x"})).await;
        let other_key = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
        let res = post_with_key(&app, &other_key, &path, &json!({"client_id": "x", "body": "hi"})).await;
        problem(res, 404, "not_found").await;
    }
}

/// Chat use cases wake the webhook and mail senders when, and only when, they queued
/// something (waking them for every message cost a write transaction each; see the chat
/// load in BENCHMARKS.md). With the senders' polls an hour apart, a left message's webhook
/// and mail still go out at once.
mod a_left_message_wakes_the_webhook_and_mail_senders {
    use super::*;
    use crate::helpers::Backend;

    async fn run(backend: Backend) {
        use crate::merchant_api::{Receiver, endpoint};
        let app = crate::helpers::spawn_app_with(backend, |s| {
            s.webhooks.poll_interval_secs = 3600;
            s.mail.poll_interval_secs = 3600;
        })
        .await;
        let shop = app.merchant("Night Owl").await;
        let mid = shop.merchant_id();
        let receiver = Receiver::start().await;
        endpoint(
            &app,
            &shop.access,
            &mid,
            &receiver.url,
            &["chat.left_message"],
        )
        .await;
        let key = widget_key(&app, &shop).await;
        let mut ws = customer_ws(&app).await;
        ws.send(json!({"type": "start", "key": key, "skill": "general", "message": {"client_id": "m1", "body": "Call me"}})).await;
        assert_eq!(ws.until("started").await["status"], "left_message");
        let got = receiver.wait_for(1).await;
        assert_eq!(got[0].event, "chat.left_message");
        let mail = app
            .smtp
            .wait_for(&shop.email, "left a message while nobody was on shift")
            .await;
        assert!(mail.text.contains("Call me"), "{}", mail.text);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await
    }
}

both_backends! {
    async fn a_left_message_goes_to_the_next_agent_who_checks_in(app) {
        let shop = app.merchant("Early Shop").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Late Starter", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start - Duration::minutes(20));
        let key = widget_key(&app, &shop).await;
        let mut ws = customer_ws(&app).await;
        ws.send(json!({"type": "start", "key": key, "skill": "general", "message": {"client_id": "m1", "body": "Anyone there?"}})).await;
        let chat = ws.until("started").await["chat"].as_str().unwrap().to_owned();
        assert_eq!(ws.until("welcome").await["status"], "left_message");
        // The agent checks in and connects: the waiting message is offered to them.
        json_of(act(&app, &agent, &shifts[0], "check-in").await).await;
        let (mut socket, _) = agent_ws(&app, &agent).await;
        let offer = socket.until("offer").await;
        assert_eq!(offer["card"]["chat"], chat.as_str());
        socket.send(json!({"type": "accept", "chat": chat})).await;
        assert_eq!(socket.until("assigned").await["messages"][0]["body"], "Anyone there?");
        ws.until("agent_joined").await;
    }
}

both_backends! {
    async fn transfers_and_take_backs_hand_a_chat_on_with_a_note(app) {
        let (shop, agents) = staffed(&app, 2).await;
        let (mut a0, _) = agent_ws(&app, &agents[0]).await;
        let (mut a1, _) = agent_ws(&app, &agents[1]).await;
        let key = widget_key(&app, &shop).await;
        let (mut customer, chat, _) = start_chat(&app, &key, json!({})).await;
        let (mut holder, mut other, holder_i) = tokio::select! {
            _ = a0.until("offer") => (a0, a1, 0),
            _ = a1.until("offer") => (a1, a0, 1),
        };
        holder.send(json!({"type": "accept", "chat": chat})).await;
        holder.until("assigned").await;
        // A transfer to someone who is not an agent of this shop on shift is refused.
        holder.send(json!({"type": "transfer", "chat": chat, "to": shop.id(), "note": "x"})).await;
        assert_eq!(holder.until("error").await["errors"][0]["code"], "agent_unavailable");
        holder.send(json!({"type": "transfer", "chat": chat, "to": agents[1 - holder_i].id(), "note": "Wants a refund for order 1001"})).await;
        assert_eq!(holder.until("taken_back").await["reason"], "transferred");
        let offer = other.until("offer").await;
        assert_eq!(offer["card"]["handover_note"], "Wants a refund for order 1001");
        other.send(json!({"type": "accept", "chat": chat})).await;
        other.until("assigned").await;
        customer.until("agent_joined").await;
        // The new holder stays silent past the first-reply limit: the chat is taken back
        // and offered again, to the front of the queue, to the agent who did not fail it.
        app.clock.advance(Duration::seconds(61));
        assert_eq!(other.until("taken_back").await["reason"], "no_first_reply");
        let again = holder.until("offer").await;
        assert!(again["card"]["handover_note"].as_str().unwrap().contains("did not reply"));
        let id = chat.clone();
        let (transfers, takebacks): (i32, i32) = app.with_db(move |c| chats::table.find(&id).select((chats::transfers, chats::takebacks)).first(c).unwrap()).await;
        assert_eq!((transfers, takebacks), (1, 1));
    }
}
