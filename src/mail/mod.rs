//! Outgoing mail. Use cases never send directly: they write an outbox row in the same
//! transaction as the change that causes the mail ([`outbox::enqueue`]), and the
//! [`sender::OutboxSender`] delivers it through the configured [`Mailer`], retrying with
//! back-off until delivered. Nothing is lost if the SMTP server is down or we restart.

pub mod outbox;
pub mod sender;
pub mod templates;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{MailSettings, MailTransportKind, SmtpSecurity};

/// Where mail goes: an SMTP server (production), `.eml` files in a folder (the default),
/// or memory (unit tests).
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
    Memory(Arc<Mutex<Vec<Vec<u8>>>>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mailer::Smtp(_) => "Mailer::Smtp",
            Mailer::File(_) => "Mailer::File",
            Mailer::Memory(_) => "Mailer::Memory",
        })
    }
}

/// A rendered message ready to be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// A file sent with a mail (a shift's calendar entry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub filename: String,
    /// E.g. `text/calendar; method=REQUEST; charset=UTF-8`.
    pub content_type: String,
    pub content: String,
}

impl OutgoingMail {
    pub fn with_attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings, outbox_dir: PathBuf) -> anyhow::Result<Mailer> {
        match settings.transport {
            MailTransportKind::File => {
                std::fs::create_dir_all(&outbox_dir).map_err(|e| {
                    anyhow::anyhow!("cannot create mail outbox {}: {e}", outbox_dir.display())
                })?;
                Ok(Mailer::File(AsyncFileTransport::new(outbox_dir)))
            }
            MailTransportKind::Smtp => {
                let smtp = &settings.smtp;
                let mut builder = match smtp.security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                }
                .port(smtp.port)
                .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_owned(),
                    ));
                }
                Ok(Mailer::Smtp(builder.build()))
            }
        }
    }

    pub fn memory() -> (Mailer, Arc<Mutex<Vec<Vec<u8>>>>) {
        let store = Arc::new(Mutex::new(Vec::new()));
        (Mailer::Memory(store.clone()), store)
    }

    /// Builds a multipart (plain text + HTML) message, wrapped with its attachments when it
    /// has any; subjects and bodies are UTF-8.
    pub fn build(from: &Mailbox, mail: &OutgoingMail) -> anyhow::Result<Message> {
        let body = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
        let body = if mail.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &mail.attachments {
                mixed = mixed.singlepart(
                    lettre::message::Attachment::new(a.filename.clone())
                        .body(a.content.clone(), ContentType::parse(&a.content_type)?),
                );
            }
            mixed
        };
        Ok(Message::builder()
            .from(from.clone())
            .to(mail.to.parse()?)
            .subject(mail.subject.clone())
            .multipart(body)?)
    }

    pub async fn send(&self, message: Message) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp(t) => {
                t.send(message).await?;
            }
            Mailer::File(t) => {
                t.send(message).await?;
            }
            Mailer::Memory(store) => {
                let bytes = message.formatted();
                store
                    .lock()
                    .map_err(|_| anyhow::anyhow!("memory mailer poisoned"))?
                    .push(bytes);
            }
        }
        Ok(())
    }
}
