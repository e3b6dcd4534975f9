//! The JSON frames of the two chat sockets. Every frame is an object with a `type`.
//! Inbound frames are parsed strictly (unknown types and fields are errors, reported with
//! the offending field); outbound frames are serialized once and fanned out.
//!
//! A client gives each message it sends a `client_id` of its choosing; the server answers
//! with an `ack` carrying the message's number (`seq`) in the chat. A client that
//! reconnects resends what was never acknowledged and asks for everything after the last
//! number it saw: the server stores a resent message once, so nothing is lost or doubled.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError, Problem};

/// Longest `client_id` accepted.
pub const MAX_CLIENT_ID: usize = 64;

/// Frames a customer's widget sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CustomerIn {
    Message {
        client_id: String,
        body: String,
    },
    Typing {
        on: bool,
    },
    /// The customer has seen every message up to `seq`.
    Read {
        seq: i32,
    },
    Close,
    Rate {
        score: i32,
        #[serde(default)]
        comment: Option<String>,
    },
    Ping,
}

/// Frames an agent's workspace sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentIn {
    /// `online` or `away`.
    Presence {
        status: String,
    },
    Accept {
        chat: String,
    },
    Decline {
        chat: String,
    },
    Message {
        chat: String,
        client_id: String,
        body: String,
    },
    Typing {
        chat: String,
        on: bool,
    },
    Read {
        chat: String,
        seq: i32,
    },
    Close {
        chat: String,
    },
    Transfer {
        chat: String,
        to: String,
        #[serde(default)]
        note: Option<String>,
    },
    AutoAccept {
        on: bool,
    },
    /// A fresh access token before the current one expires; the socket stays open.
    Auth {
        token: String,
    },
    Ping,
}

/// A message as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageOut {
    pub chat: String,
    pub seq: i32,
    /// `customer`, `agent` or `system`.
    pub from: String,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub at: NaiveDateTime,
}

/// What the agent is shown about a chat offered to or held by them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatCard {
    pub chat: String,
    pub merchant: String,
    pub merchant_name: String,
    pub skill: String,
    pub channel: String,
    pub status: String,
    pub customer: String,
    pub customer_name: Option<String>,
    pub waiting_since: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
    /// When the first reply is due (the countdown); `None` once replied.
    pub first_response_due: Option<NaiveDateTime>,
    pub handover_note: Option<String>,
    pub last_seq: i32,
    pub agent_read_seq: i32,
    pub previous_chats: i64,
}

/// Frames the server sends, to either side.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Out {
    /// First frame to a customer: the chat's state and every message after `after`.
    Welcome {
        chat: String,
        status: String,
        agent_name: Option<String>,
        position: Option<i64>,
        estimated_wait_secs: Option<i64>,
        messages: Vec<MessageOut>,
        rated: bool,
        customer_read_seq: i32,
        agent_read_seq: i32,
    },
    /// To a customer who started a chat: its id and the secret that resumes it (keep it
    /// for reconnecting; it is shown only once).
    Started {
        chat: String,
        token: String,
        status: String,
    },
    /// First frame to an agent: presence and the chats they hold.
    Hello {
        agent: String,
        presence: String,
        auto_accept: bool,
        first_response_target_secs: u32,
        chats: Vec<ChatCard>,
    },
    Queue {
        chat: String,
        position: i64,
        estimated_wait_secs: Option<i64>,
    },
    /// Nobody is on shift: the message is kept for the next agent and the shop is told.
    LeftMessage {
        chat: String,
    },
    Offer {
        card: ChatCard,
        expires_at: NaiveDateTime,
    },
    OfferWithdrawn {
        chat: String,
        reason: String,
    },
    /// To the agent: the chat is theirs, with its recent messages.
    Assigned {
        card: ChatCard,
        messages: Vec<MessageOut>,
    },
    /// To the customer: an agent took the chat.
    AgentJoined {
        chat: String,
        agent_name: String,
    },
    /// To the agent: the chat was taken back or transferred away.
    TakenBack {
        chat: String,
        reason: String,
    },
    Message(MessageOut),
    Ack {
        chat: String,
        client_id: String,
        seq: i32,
    },
    Typing {
        chat: String,
        from: String,
        on: bool,
    },
    Read {
        chat: String,
        by: String,
        seq: i32,
    },
    IdleWarning {
        chat: String,
        closes_at: NaiveDateTime,
    },
    Closed {
        chat: String,
        by: String,
        reason: Option<String>,
        /// The customer may still rate the chat.
        may_rate: bool,
    },
    Rated {
        chat: String,
        score: i32,
    },
    Presence {
        status: String,
    },
    AutoAccept {
        on: bool,
    },
    Pong,
    /// A refused frame: the same stable `code` and offending `errors` (fields) as the
    /// HTTP problem responses.
    Error {
        code: String,
        status: u16,
        detail: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        errors: Vec<FieldError>,
    },
}

impl Out {
    pub fn error(err: &AppError) -> Out {
        let Problem {
            code,
            status,
            detail,
            errors,
            ..
        } = err.problem();
        Out::Error {
            code,
            status,
            detail,
            errors,
        }
    }
}

/// Parses one inbound frame, reporting a bad one as a validation error naming the field
/// (`body`, `type`, ...) or as malformed JSON.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(frame) => Ok(frame),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(AppError::MalformedJson(inner.to_string()))
            } else {
                let message = inner.to_string();
                Err(AppError::field(
                    &frame_field(&path, &message),
                    "invalid_frame",
                    message,
                ))
            }
        }
    }
}

/// The field a frame error is about. Frames are tagged by `type`, which makes serde
/// buffer them and lose the path, so the field is recovered from the message where serde
/// names it (unknown or missing fields); a wrong value type is reported on `frame`.
fn frame_field(path: &str, message: &str) -> String {
    if path != "." && !path.is_empty() {
        return path.to_owned();
    }
    if message.contains("unknown variant") || message.contains("missing field `type`") {
        return "type".to_owned();
    }
    for marker in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.split(marker).nth(1)
            && let Some(name) = rest.split('`').next()
        {
            return name.to_owned();
        }
    }
    "frame".to_owned()
}

/// Checks a message body and its client id: not blank, within the rules' length.
pub fn check_message(client_id: &str, body: &str, max_chars: u32) -> Result<(), AppError> {
    if client_id.trim().is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err(AppError::field(
            "client_id",
            "invalid_client_id",
            format!("client_id must be 1 to {MAX_CLIENT_ID} characters"),
        ));
    }
    if body.trim().is_empty() {
        return Err(AppError::field(
            "body",
            "required",
            "a message must not be empty",
        ));
    }
    let chars = body.chars().count();
    if chars > max_chars as usize {
        return Err(AppError::field(
            "body",
            "message_too_long",
            format!("the message is {chars} characters, at most {max_chars} allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_strictly_and_name_the_bad_field() {
        assert_eq!(
            parse::<CustomerIn>(r#"{"type":"message","client_id":"a","body":"hi"}"#).unwrap(),
            CustomerIn::Message {
                client_id: "a".into(),
                body: "hi".into()
            }
        );
        assert_eq!(
            parse::<CustomerIn>(r#"{"type":"close"}"#).unwrap(),
            CustomerIn::Close
        );
        let code = |e: AppError| match e {
            AppError::Validation(errors) => (errors[0].field.clone(), errors[0].code.clone()),
            AppError::MalformedJson(_) => ("".into(), "malformed_json".into()),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(parse::<CustomerIn>("{not json").unwrap_err()).1,
            "malformed_json"
        );
        assert_eq!(
            code(parse::<CustomerIn>(r#"{"type":"shout"}"#).unwrap_err()),
            ("type".into(), "invalid_frame".into())
        );
        assert_eq!(
            code(parse::<AgentIn>(r#"{"type":"read","chat":"c","seq":"x"}"#).unwrap_err()),
            ("frame".into(), "invalid_frame".into())
        );
        assert_eq!(
            code(parse::<AgentIn>(r#"{"type":"accept","chat":"c","extra":1}"#).unwrap_err()),
            ("extra".into(), "invalid_frame".into())
        );
        assert_eq!(
            code(parse::<AgentIn>(r#"{"type":"accept"}"#).unwrap_err()),
            ("chat".into(), "invalid_frame".into())
        );
    }

    #[test]
    fn messages_are_checked_for_blank_and_length() {
        assert!(check_message("c1", "hello", 10).is_ok());
        assert!(check_message("c1", "   ", 10).is_err());
        assert!(check_message("", "hi", 10).is_err());
        assert!(check_message(&"x".repeat(65), "hi", 10).is_err());
        // Characters, not bytes: ten Chinese characters fit a limit of ten.
        assert!(check_message("c1", "你好你好你好你好你好", 10).is_ok());
        match check_message("c1", "你好你好你好你好你好!", 10) {
            Err(AppError::Validation(e)) => {
                assert_eq!(
                    (e[0].field.as_str(), e[0].code.as_str()),
                    ("body", "message_too_long")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outbound_frames_carry_their_type() {
        let json = serde_json::to_value(Out::Ack {
            chat: "c".into(),
            client_id: "x".into(),
            seq: 3,
        })
        .unwrap();
        assert_eq!(json["type"], "ack");
        assert_eq!(json["seq"], 3);
        let err =
            serde_json::to_value(Out::error(&AppError::field("body", "required", "x"))).unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["code"], "validation_failed");
        assert_eq!(err["errors"][0]["field"], "body");
    }
}
