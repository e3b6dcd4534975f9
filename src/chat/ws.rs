//! The two chat sockets.
//!
//! `/ws/agent` authenticates on the upgrade request: a bearer token (API clients) or the
//! page's session cookie, in which case the `Origin` must be this service (no other site
//! can open a socket riding the agent's cookie). The socket re-checks the session every
//! `chat.session_check_secs`: an expired token (unless renewed with an `auth` frame), a
//! signed-out session or an agent no longer certified closes it (4001 / 4003).
//!
//! `/ws/customer` is opened by the widget, whose first frame must be `hello` with the
//! chat's secret token and the last message number it saw; the server answers `welcome`
//! with everything after that number. Tokens never travel in URLs, which end up in logs.
//!
//! Both sockets cap frame size (close 1009), rate-limit what a client sends (an `error`
//! frame with `rate_limited`; the message is not stored) and answer any bad frame with an
//! `error` frame carrying the same code and field as the HTTP API would.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, get, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::engine;
use super::hub::{Outbound, Target};
use super::protocol::{AgentIn, CustomerIn, Out, parse};
use super::service::{self, Closer, Effects};
use super::store;
use crate::accounts::model::{AccountId, AgentStatus, Role};
use crate::auth::jwt::Claims;
use crate::error::AppError;
use crate::state::AppState;

/// Largest frame accepted, in bytes (a message of the longest allowed length in any
/// script fits with room to spare).
pub const MAX_FRAME_BYTES: usize = 128 * 1024;
/// Close codes in the private range.
pub const CLOSE_UNAUTHENTICATED: u16 = 4001;
pub const CLOSE_FORBIDDEN: u16 = 4003;
/// A customer socket gets this long to say `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(20);
/// No pong for this long and the client is gone.
const PONG_TIMEOUT: Duration = Duration::from_secs(60);
/// Frames of any kind per second (typing, read marks...), beyond the message limit.
const FRAMES_PER_SECOND: u32 = 20;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(agent_socket).service(customer_socket);
}

fn limiter(per_minute: u32, burst: u32) -> DefaultDirectRateLimiter {
    let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst))
}

fn frame_limiter() -> DefaultDirectRateLimiter {
    let per_second = NonZeroU32::new(FRAMES_PER_SECOND).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(
        Quota::per_second(per_second)
            .allow_burst(per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN))),
    )
}

fn rate_limited() -> AppError {
    AppError::conflict(
        "rate_limited",
        "too many messages; wait a moment and send again",
    )
}

fn upgrade_error(_: actix_web::Error) -> AppError {
    AppError::field(
        "upgrade",
        "websocket_required",
        "this address takes WebSocket connections only",
    )
}

async fn send(session: &mut Session, frame: &Out) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => session.text(text).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(session: Session, code: u16, reason: &str) {
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(reason.to_owned()),
        }))
        .await;
}

/// The close for a stream error: too big a frame is 1009, anything else a protocol error.
fn stream_close(e: &actix_ws::ProtocolError) -> CloseReason {
    let code = match e {
        actix_ws::ProtocolError::Overflow => CloseCode::Size,
        _ => CloseCode::Protocol,
    };
    CloseReason {
        code,
        description: Some(e.to_string()),
    }
}

/// One side of a socket: what its text frames do, and (agents) a periodic check.
trait Peer {
    /// Handles one text frame; returns the direct reply (an error, a pong), if any.
    async fn on_text(&mut self, text: &str) -> Option<Out>;

    /// Whether the socket may stay open; an error closes it with [`close_code`].
    async fn check(&mut self) -> Result<(), AppError> {
        Ok(())
    }
}

/// The close code for an error that ends a socket.
fn close_code(e: &AppError) -> u16 {
    match e {
        AppError::Unauthenticated { .. } => CLOSE_UNAUTHENTICATED,
        AppError::Forbidden { .. } => CLOSE_FORBIDDEN,
        _ => 1011,
    }
}

/// Runs an open socket until either side ends it: inbound frames go to the peer (under the
/// per-connection frame limit), frames the hub queued go out, pings keep it honest, and
/// `check_every` the peer is asked whether the socket may stay. Returns how to close.
async fn pump(
    peer: &mut impl Peer,
    session: &mut Session,
    stream: &mut actix_ws::AggregatedMessageStream,
    outbound: &mut tokio::sync::mpsc::Receiver<Outbound>,
    check_every: Option<Duration>,
) -> Option<CloseReason> {
    let frames = frame_limiter();
    let mut check = check_every.map(tokio::time::interval);
    if let Some(check) = check.as_mut() {
        check.tick().await;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_pong = Instant::now();
    loop {
        tokio::select! {
            incoming = stream.recv() => match incoming {
                Some(Ok(AggregatedMessage::Text(text))) => {
                    let reply = if frames.check().is_err() {
                        Some(Out::error(&rate_limited()))
                    } else {
                        peer.on_text(&text).await
                    };
                    if let Some(reply) = reply
                        && !send(session, &reply).await
                    {
                        return None;
                    }
                }
                Some(Ok(AggregatedMessage::Binary(_))) => {
                    let e = AppError::field("frame", "binary_not_supported", "frames are JSON text");
                    if !send(session, &Out::error(&e)).await {
                        return None;
                    }
                }
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        return None;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => last_pong = Instant::now(),
                Some(Ok(AggregatedMessage::Close(_))) | None => return None,
                Some(Err(e)) => return Some(stream_close(&e)),
            },
            frame = outbound.recv() => match frame {
                Some(Outbound::Text(text)) => {
                    if session.text(text.to_string()).await.is_err() {
                        return None;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    return Some(CloseReason { code: CloseCode::Other(code), description: Some(reason) });
                }
                None => {
                    return Some(CloseReason { code: CloseCode::Policy, description: Some("not reading".into()) });
                }
            },
            _ = async {
                match check.as_mut() {
                    Some(check) => check.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Err(e) = peer.check().await {
                    return Some(CloseReason {
                        code: CloseCode::Other(close_code(&e)),
                        description: Some(e.code().to_owned()),
                    });
                }
            }
            _ = ping.tick() => {
                if last_pong.elapsed() > PONG_TIMEOUT || session.ping(b"").await.is_err() {
                    return None;
                }
            }
        }
    }
}

// ----- agent -----

/// The agent's claims from a bearer header, or from the session cookie on a same-origin
/// request.
fn agent_claims(req: &HttpRequest, state: &AppState) -> Result<Claims, AppError> {
    let token = match crate::auth::bearer_token(req) {
        Some(token) => token
            .ok_or(AppError::Unauthenticated {
                code: "invalid_token",
            })?
            .to_owned(),
        None => {
            let cookie =
                req.cookie(crate::auth::ACCESS_COOKIE)
                    .ok_or(AppError::Unauthenticated {
                        code: "missing_credentials",
                    })?;
            if !same_origin(req, state) {
                return Err(AppError::Forbidden {
                    code: "cross_origin",
                });
            }
            cookie.value().to_owned()
        }
    };
    let claims = crate::auth::verify_claims(req, &token)?;
    if claims.role != Role::Agent {
        return Err(AppError::Forbidden { code: "wrong_role" });
    }
    Ok(claims)
}

/// Whether the request's `Origin` is this service (its public URL or the host it was
/// reached at).
fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if origin == state.public_url {
        return true;
    }
    let info = req.connection_info();
    let host = info.host();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o == host)
}

/// Whether the agent may keep working chats: the token not expired, still certified,
/// and the session still signed in.
async fn check_allowed(state: &AppState, claims: &Claims) -> Result<(), AppError> {
    // Token expiry is real time, as when the token was verified (not the service clock
    // tests move).
    let now = chrono::Utc::now();
    if claims.exp < now.timestamp() {
        return Err(AppError::Unauthenticated {
            code: "token_expired",
        });
    }
    let (agent, sid) = (claims.sub.clone(), claims.sid.clone());
    Ok(state
        .db
        .run(move |conn| {
            if crate::certification::trials::agent_status(conn, &agent)? != AgentStatus::Certified {
                return Err(AppError::Forbidden {
                    code: "not_certified",
                });
            }
            if let Some(sid) = sid
                && !crate::accounts::store::family_active(conn, &sid, now.naive_utc())?
            {
                return Err(AppError::Unauthenticated {
                    code: "session_revoked",
                });
            }
            Ok(())
        })
        .await?)
}

/// The agent's live socket: presence, offers, messages, typing and read state.
#[utoipa::path(
    tag = "chat",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol. Frames are JSON objects with a `type`; see the README's live chat section."),
        (status = 401, description = "No or bad credentials", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent, not certified, or a cookie from another origin (`cross_origin`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/ws/agent")]
async fn agent_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let claims = agent_claims(&req, &state)?;
    check_allowed(&state, &claims).await?;
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(upgrade_error)?;
    let stream = stream
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    actix_web::rt::spawn(agent_loop(state, claims, session, stream));
    Ok(response)
}

async fn hello(state: &AppState, agent: &AccountId) -> Result<Out, AppError> {
    let agent = agent.clone();
    engine::run(state, move |conn, rules, _| {
        let presence = store::presence(conn, agent.as_str())?
            .map_or_else(|| "offline".to_owned(), |p| p.status);
        let auto_accept = store::auto_accept(conn, agent.as_str())?;
        let chats = store::held_by(conn, agent.as_str())?
            .iter()
            .map(|c| service::card(conn, c, rules))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            Out::Hello {
                agent: agent.to_string(),
                presence,
                auto_accept,
                first_response_target_secs: rules.first_response_target_secs,
                chats,
            },
            Effects::default(),
        ))
    })
    .await
}

async fn agent_loop(
    state: web::Data<AppState>,
    claims: Claims,
    mut session: Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let agent = claims.sub.clone();
    let (registration, mut outbound) = state.hub.register(Target::Agent(agent.to_string()));
    let who = agent.clone();
    if let Err(e) = engine::run(&state, move |conn, _, now| {
        Ok(((), service::connected(conn, &who, now)?))
    })
    .await
    {
        tracing::error!(error = ?e, "agent socket: recording the connection failed");
        close(session, 1011, "unavailable").await;
        return;
    }
    let greeting = hello(&state, &agent).await;
    let sent = match &greeting {
        Ok(frame) => send(&mut session, frame).await,
        Err(e) => send(&mut session, &Out::error(e)).await,
    };
    let mut close_with = None;
    if sent && greeting.is_ok() {
        let rules = state.rules().chat;
        let mut peer = AgentPeer {
            state: state.clone(),
            claims,
            messages: limiter(rules.messages_per_minute, rules.message_burst),
        };
        let check_every = Duration::from_secs(state.settings.chat.session_check_secs.max(1));
        close_with = pump(
            &mut peer,
            &mut session,
            &mut stream,
            &mut outbound,
            Some(check_every),
        )
        .await;
    }
    drop(registration);
    let _ = session.close(close_with).await;
    let who = agent.clone();
    if let Err(e) = engine::run(&state, move |conn, _, now| {
        service::disconnected(conn, &who, now)?;
        Ok(((), Effects::default()))
    })
    .await
    {
        tracing::error!(error = ?e, "agent socket: recording the disconnection failed");
    }
}

struct AgentPeer {
    state: web::Data<AppState>,
    claims: Claims,
    messages: DefaultDirectRateLimiter,
}

impl Peer for AgentPeer {
    async fn on_text(&mut self, text: &str) -> Option<Out> {
        agent_frame(&self.state, &mut self.claims, text, &self.messages).await
    }

    async fn check(&mut self) -> Result<(), AppError> {
        check_allowed(&self.state, &self.claims).await
    }
}

/// Handles one frame from an agent; returns the direct reply (errors, pong), if any.
async fn agent_frame(
    state: &web::Data<AppState>,
    claims: &mut Claims,
    text: &str,
    messages: &DefaultDirectRateLimiter,
) -> Option<Out> {
    let frame = match parse::<AgentIn>(text) {
        Ok(frame) => frame,
        Err(e) => return Some(Out::error(&e)),
    };
    let agent = claims.sub.clone();
    let result: Result<(), AppError> = match frame {
        AgentIn::Ping => return Some(Out::Pong),
        AgentIn::Auth { token } => match state.jwt.verify(&token) {
            Ok(fresh) if fresh.sub == claims.sub && fresh.role == Role::Agent => {
                *claims = fresh;
                Ok(())
            }
            _ => Err(AppError::Unauthenticated {
                code: "invalid_token",
            }),
        },
        AgentIn::Presence { status } => {
            engine::run(state, move |conn, _, now| {
                Ok(((), service::set_presence(conn, &agent, &status, now)?))
            })
            .await
        }
        AgentIn::AutoAccept { on } => {
            engine::run(state, move |conn, _, _| {
                Ok(((), service::set_auto_accept(conn, &agent, on)?))
            })
            .await
        }
        AgentIn::Accept { chat } => {
            engine::run(state, move |conn, rules, now| {
                Ok(((), service::accept(conn, &agent, &chat, rules, now)?))
            })
            .await
        }
        AgentIn::Decline { chat } => {
            engine::run(state, move |conn, _, now| {
                Ok(((), service::decline(conn, &agent, &chat, now)?))
            })
            .await
        }
        AgentIn::Message {
            chat,
            client_id,
            body,
        } => {
            if messages.check().is_err() {
                Err(rate_limited())
            } else {
                engine::run(state, move |conn, rules, now| {
                    let (effects, _) =
                        service::agent_message(conn, &agent, &chat, &client_id, &body, rules, now)?;
                    Ok(((), effects))
                })
                .await
            }
        }
        AgentIn::Typing { chat, on } => typing(state, Some(agent), chat, on).await,
        AgentIn::Read { chat, seq } => {
            engine::run(state, move |conn, _, _| {
                Ok(((), service::read(conn, &chat, Some(&agent), seq)?))
            })
            .await
        }
        AgentIn::Close { chat } => {
            engine::run(state, move |conn, _, now| {
                Ok((
                    (),
                    service::close(conn, &chat, Closer::Agent(&agent), None, now)?,
                ))
            })
            .await
        }
        AgentIn::Transfer { chat, to, note } => {
            engine::run(state, move |conn, rules, now| {
                Ok((
                    (),
                    service::transfer(conn, &agent, &chat, &to, note.as_deref(), rules, now)?,
                ))
            })
            .await
        }
    };
    result.err().map(|e| Out::error(&e))
}

/// Relays a typing indicator to the other side of the chat; nothing is stored.
async fn typing(
    state: &web::Data<AppState>,
    agent: Option<AccountId>,
    chat: String,
    on: bool,
) -> Result<(), AppError> {
    let id = chat.clone();
    let row = state
        .db
        .run(move |conn| store::chat(conn, &id))
        .await?
        .ok_or(AppError::NotFound)?;
    let push = match &agent {
        Some(agent) => {
            if !row.held_by(agent) || row.status != "assigned" {
                return Err(AppError::Forbidden {
                    code: "not_your_chat",
                });
            }
            super::hub::Push::customer(
                &chat,
                Out::Typing {
                    chat: chat.clone(),
                    from: "agent".into(),
                    on,
                },
            )
        }
        None => match row.agent_id.as_deref().filter(|_| row.status == "assigned") {
            Some(holder) => super::hub::Push::agent(
                holder,
                Out::Typing {
                    chat: chat.clone(),
                    from: "customer".into(),
                    on,
                },
            ),
            None => return Ok(()),
        },
    };
    state.hub.send(vec![push]);
    Ok(())
}

// ----- customer -----

/// The first frame of a customer socket: start a new chat or resume one.
#[derive(serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Opening {
    Hello {
        token: String,
        #[serde(default)]
        after: i32,
    },
    Start {
        /// The merchant's public widget key.
        key: String,
        skill: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        identities: Vec<service::IdentityInput>,
        #[serde(default)]
        message: Option<service::FirstMessage>,
    },
}

/// Tries to open a chat per the widget's first frames allow.
const OPENING_ATTEMPTS: usize = 5;

/// The customer's live socket (the widget). The first frame either starts a chat,
/// `{"type":"start","key":"wk_...","skill":"pre_sale","name":...,"identities":[...],"message":{...}}`,
/// answered by `started` (with the chat's resume token) and `welcome`, or resumes one,
/// `{"type":"hello","token":"<chat token>","after":<last message number seen>}`.
#[utoipa::path(
    tag = "chat",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol. The first frame starts a chat (`start` with the merchant's widget key) or resumes one (`hello` with its token); see the README's live chat section."),
    )
)]
#[get("/ws/customer")]
async fn customer_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(upgrade_error)?;
    let stream = stream
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    actix_web::rt::spawn(customer_loop(state, session, stream));
    Ok(response)
}

/// The welcome for a customer: the chat's state and every message after `after`.
pub async fn welcome(state: &AppState, chat_id: String, after: i32) -> Result<Out, AppError> {
    engine::run(state, move |conn, rules, now| {
        let chat = store::chat(conn, &chat_id)?.ok_or(AppError::NotFound)?;
        let agent_name = match chat
            .agent_id
            .as_deref()
            .filter(|_| chat.status == "assigned" || chat.status == "closed")
        {
            Some(agent) => store::display_name(conn, agent)?,
            None => None,
        };
        let (position, wait) = service::standing(conn, &chat, rules, now)?;
        let messages = store::messages_after(conn, &chat.id, after.max(0), 1000)?
            .iter()
            .map(service::message_out)
            .collect();
        Ok((
            Out::Welcome {
                chat: chat.id.clone(),
                status: chat.status.clone(),
                agent_name,
                position,
                estimated_wait_secs: wait,
                messages,
                rated: chat.rating.is_some(),
                customer_read_seq: chat.customer_read_seq,
                agent_read_seq: chat.agent_read_seq,
            },
            Effects::default(),
        ))
    })
    .await
}

/// Reads the opening frames until one starts or resumes a chat: (chat, last seen, what
/// starting it caused, to deliver once the socket is registered).
async fn customer_hello(
    state: &web::Data<AppState>,
    session: &mut Session,
    stream: &mut actix_ws::AggregatedMessageStream,
) -> Result<(String, i32, Effects), (u16, String)> {
    for _ in 0..OPENING_ATTEMPTS {
        let first = tokio::time::timeout(HELLO_TIMEOUT, stream.recv())
            .await
            .map_err(|_| (CLOSE_UNAUTHENTICATED, "hello_timeout".to_owned()))?;
        let Some(Ok(AggregatedMessage::Text(text))) = first else {
            return Err((CLOSE_UNAUTHENTICATED, "hello_required".to_owned()));
        };
        let opened = match parse::<Opening>(&text) {
            Ok(Opening::Hello { token, after }) => resume(state, token, after).await,
            Ok(Opening::Start {
                key,
                skill,
                name,
                identities,
                message,
            }) => {
                let raw = service::StartChat {
                    skill,
                    name,
                    identities,
                    message,
                    // The widget's customer does not classify; the agent may.
                    kind: None,
                };
                match start(state, key, raw).await {
                    Ok((chat, token, status, effects)) => {
                        let started = Out::Started {
                            chat: chat.clone(),
                            token,
                            status,
                        };
                        if !send(session, &started).await {
                            return Err((1001, "gone".to_owned()));
                        }
                        Ok((chat, 0, effects))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match opened {
            Ok(opened) => return Ok(opened),
            Err(AppError::Unavailable(_)) | Err(AppError::Internal(_)) => {
                return Err((1011, "unavailable".to_owned()));
            }
            Err(e) => {
                if !send(session, &Out::error(&e)).await {
                    return Err((1001, "gone".to_owned()));
                }
            }
        }
    }
    Err((CLOSE_UNAUTHENTICATED, "hello_required".to_owned()))
}

async fn resume(
    state: &AppState,
    token: String,
    after: i32,
) -> Result<(String, i32, Effects), AppError> {
    let hash = crate::auth::tokens::digest(&token);
    let chat = state
        .db
        .run(move |conn| store::chat_by_token(conn, &hash))
        .await?;
    match chat {
        Some(chat) => Ok((chat.id, after, Effects::default())),
        None => Err(AppError::Unauthenticated {
            code: "invalid_chat_token",
        }),
    }
}

/// Starts a chat for the merchant whose widget key this is: (chat, resume token, status,
/// effects to deliver).
async fn start(
    state: &AppState,
    key: String,
    raw: service::StartChat,
) -> Result<(String, String, String, Effects), AppError> {
    let token = crate::auth::tokens::generate();
    let hash = crate::auth::tokens::digest(&token);
    let ruleset = state.rules();
    let ((chat, status), effects) = engine::run_deferred(state, move |conn, rules, now| {
        let merchant =
            crate::merchant_api::keys::merchant_for_widget_key(conn, &key)?.ok_or_else(|| {
                AppError::field("key", "unknown_widget_key", "this widget key is not valid")
            })?;
        let input = service::validate_start(
            &raw,
            merchant,
            "widget",
            &ruleset.skills,
            rules,
            &ruleset.pay,
            hash,
        )?;
        let (created, effects) = service::create(conn, &input, now)?;
        Ok(((created.chat.id, created.chat.status), effects))
    })
    .await?;
    Ok((chat, token, status, effects))
}

async fn customer_loop(
    state: web::Data<AppState>,
    mut session: Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let (chat, after, effects) = match customer_hello(&state, &mut session, &mut stream).await {
        Ok(hello) => hello,
        Err((code, reason)) => {
            close(session, code, &reason).await;
            return;
        }
    };
    let (registration, mut outbound) = state.hub.register(Target::Customer(chat.clone()));
    let greeting = welcome(&state, chat.clone(), after).await;
    let sent = match &greeting {
        Ok(frame) => send(&mut session, frame).await,
        Err(e) => send(&mut session, &Out::error(e)).await,
    };
    engine::deliver(&state, effects).await;
    let mut close_with = None;
    if sent && greeting.is_ok() {
        let rules = state.rules().chat;
        let mut peer = CustomerPeer {
            state: state.clone(),
            chat,
            messages: limiter(rules.messages_per_minute, rules.message_burst),
        };
        close_with = pump(&mut peer, &mut session, &mut stream, &mut outbound, None).await;
    }
    drop(registration);
    let _ = session.close(close_with).await;
}

struct CustomerPeer {
    state: web::Data<AppState>,
    chat: String,
    messages: DefaultDirectRateLimiter,
}

impl Peer for CustomerPeer {
    async fn on_text(&mut self, text: &str) -> Option<Out> {
        customer_frame(&self.state, &self.chat, text, &self.messages).await
    }
}

async fn customer_frame(
    state: &web::Data<AppState>,
    chat: &str,
    text: &str,
    messages: &DefaultDirectRateLimiter,
) -> Option<Out> {
    let frame = match parse::<CustomerIn>(text) {
        Ok(frame) => frame,
        Err(e) => return Some(Out::error(&e)),
    };
    let chat = chat.to_owned();
    let result: Result<(), AppError> = match frame {
        CustomerIn::Ping => return Some(Out::Pong),
        CustomerIn::Message { client_id, body } => {
            if messages.check().is_err() {
                Err(rate_limited())
            } else {
                engine::run(state, move |conn, rules, now| {
                    let (effects, _, _) = service::customer_message(
                        conn, &chat, None, &client_id, &body, rules, now,
                    )?;
                    Ok(((), effects))
                })
                .await
            }
        }
        CustomerIn::Typing { on } => typing(state, None, chat, on).await,
        CustomerIn::Read { seq } => {
            engine::run(state, move |conn, _, _| {
                Ok(((), service::read(conn, &chat, None, seq)?))
            })
            .await
        }
        CustomerIn::Close => {
            engine::run(state, move |conn, _, now| {
                Ok((
                    (),
                    service::close(conn, &chat, Closer::Customer, None, now)?,
                ))
            })
            .await
        }
        CustomerIn::Rate { score, comment } => {
            engine::run(state, move |conn, _, now| {
                Ok((
                    (),
                    service::rate(conn, &chat, score, comment.as_deref(), now)?,
                ))
            })
            .await
        }
    };
    result.err().map(|e| Out::error(&e))
}
