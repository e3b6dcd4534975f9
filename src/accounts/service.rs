//! Account use cases, shared by the JSON API and the pages. Each one parses its input into
//! domain types, does the slow work (hashing) outside the database, then writes everything
//! it changes, with its mail and audit rows, in one transaction.

use crate::db::is_unique_violation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{
    AccountId, AgentStatus, DisplayName, Email, Locale, MerchantId, MerchantName, NewPassword,
    Role, TimeZone,
};
use super::store::{self, Account, NewAccount, NewRefreshToken};
use crate::audit::{self, AuditEntry, LifecycleEvent};
use crate::auth::{password, throttle, tokens};
use crate::db::{DbConn, new_id, now, write_transaction};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::mail::outbox;
use crate::mail::templates::{MailKind, render};
use crate::state::AppState;

const VERIFY_EMAIL: &str = "verify_email";
const PASSWORD_RESET: &str = "password_reset";

/// Who registers: a shop (creates the merchant and its first staff login) or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegisterRole {
    Merchant,
    Agent,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub role: RegisterRole,
    #[schema(example = "li.wei@example.com")]
    pub email: String,
    pub password: String,
    #[schema(example = "Li Wei")]
    pub display_name: String,
    /// Required when `role` is `merchant`.
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// `en` or `zh-CN`; defaults to the request's language.
    #[serde(default)]
    pub locale: Option<String>,
    /// IANA zone, e.g. `Asia/Shanghai` (the default).
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token from the mailed link.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantView {
    pub id: MerchantId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: AccountId,
    pub email: String,
    pub role: Role,
    pub display_name: String,
    #[schema(value_type = String, example = "en")]
    pub locale: String,
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    pub email_verified: bool,
    /// For shop staff: their shop.
    pub merchant: Option<MerchantView>,
    /// For agents: where they are in the lifecycle.
    pub agent_status: Option<AgentStatus>,
    /// For agents: accessibility preferences the pages honour (e.g. `larger_text`).
    pub accessibility: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub account: AccountView,
    /// A confirmation link was mailed to the address.
    pub verification_sent: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer`; valid `expires_in` seconds.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    pub expires_in: i64,
    /// One-use token for `POST /api/auth/refresh`; each use returns a new one.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub account: AccountView,
}

fn email_taken() -> AppError {
    AppError::Validation(vec![crate::error::FieldError::new(
        "email",
        "email_taken",
        "an account with this email address already exists",
    )])
}

/// Loads everything [`AccountView`] shows.
pub fn view(conn: &mut DbConn, account: &Account) -> Result<AccountView, AppError> {
    let merchant = match &account.merchant_id {
        Some(id) => store::find_merchant(conn, id)?.map(|m| MerchantView {
            id: m.id,
            name: m.name,
        }),
        None => None,
    };
    let agent = store::agent_status(conn, &account.id)?;
    let agent_status = agent
        .as_ref()
        .and_then(|(status, _)| AgentStatus::parse(status));
    let accessibility: Vec<String> = agent
        .as_ref()
        .and_then(|(_, prefs)| serde_json::from_str(prefs).ok())
        .unwrap_or_default();
    Ok(AccountView {
        id: account.id.clone(),
        email: account.email.clone(),
        role: Role::parse(&account.role)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown role {}", account.role)))?,
        display_name: account.display_name.clone(),
        locale: account.locale.clone(),
        time_zone: account.time_zone.clone(),
        email_verified: account.email_verified_at.is_some(),
        merchant,
        agent_status,
        accessibility,
        created_at: account.created_at.and_utc(),
    })
}

pub fn account_locale(account: &Account) -> Locale {
    Locale::parse(&account.locale).unwrap_or_default()
}

/// Registers a shop (merchant + first staff login) or an agent and mails the confirmation
/// link. `fallback_locale` is the request's language, used when the body names none.
pub async fn register(
    state: &AppState,
    req: RegisterRequest,
    fallback_locale: Locale,
) -> Result<Registered, AppError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&req.email));
    let display_name = errors.check("display_name", DisplayName::parse(&req.display_name));
    let merchant_name = match req.role {
        RegisterRole::Merchant => errors.check(
            "merchant_name",
            MerchantName::parse(req.merchant_name.as_deref().unwrap_or("")),
        ),
        RegisterRole::Agent => None,
    };
    let locale = match req.locale.as_deref() {
        None | Some("") => Some(fallback_locale),
        Some(raw) => errors.check(
            "locale",
            Locale::parse(raw).ok_or_else(|| Invalid::new("unsupported_locale", "use en or zh-CN")),
        ),
    };
    let time_zone = match req.time_zone.as_deref() {
        None | Some("") => Some(TimeZone::default()),
        Some(raw) => errors.check("time_zone", TimeZone::parse(raw)),
    };
    let inputs = [req.email.as_str(), req.display_name.as_str()];
    let new_password = errors.check("password", NewPassword::parse(&req.password, &inputs));
    errors.finish()?;
    let (Some(email), Some(display_name), Some(locale), Some(time_zone), Some(new_password)) =
        (email, display_name, locale, time_zone, new_password)
    else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };

    // Fail fast (and cheaply) on a taken address; the unique index still decides races.
    let probe = email.as_str().to_owned();
    if state
        .db
        .run(move |c| store::email_exists(c, &probe))
        .await?
    {
        return Err(email_taken());
    }

    let hash = password::hash(new_password.expose().to_owned())
        .await
        .map_err(AppError::internal)?;
    let verify_token = tokens::generate();
    let mail = render(
        email.as_str(),
        display_name.as_str(),
        locale,
        &MailKind::VerifyEmail {
            link: state.link(&format!("/verify-email?token={verify_token}")),
        },
    )
    .map_err(AppError::internal)?;
    let token_expiry = state.email_token_lifetime();
    let role = req.role;
    let merchant_name = merchant_name.map(|m| m.as_str().to_owned());

    let account = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AccountView, AppError> {
                let now = now();
                let account_id = AccountId::new();
                let merchant_id = match (&role, &merchant_name) {
                    (RegisterRole::Merchant, Some(name)) => {
                        let id = MerchantId::new();
                        store::insert_merchant(conn, &id, name, now)?;
                        Some(id)
                    }
                    _ => None,
                };
                let account_role = match role {
                    RegisterRole::Merchant => Role::MerchantStaff,
                    RegisterRole::Agent => Role::Agent,
                };
                store::insert_account(
                    conn,
                    &NewAccount {
                        id: &account_id,
                        email: email.as_str(),
                        password_hash: &hash,
                        role: account_role.as_str(),
                        merchant_id: merchant_id.as_ref(),
                        display_name: display_name.as_str(),
                        locale: locale.as_str(),
                        time_zone: time_zone.name(),
                        email_verified_at: None,
                        password_changed_at: now,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        email_taken()
                    } else {
                        e.into()
                    }
                })?;
                if account_role == Role::Agent {
                    let status = AgentStatus::Applicant.as_str();
                    store::insert_agent(conn, &account_id, status, now)?;
                    audit::record_lifecycle(
                        conn,
                        LifecycleEvent {
                            entity_type: "agent",
                            entity_id: account_id.as_str(),
                            from_state: None,
                            to_state: status,
                            actor: Some(&account_id),
                            reason: Some("registered"),
                        },
                        now,
                    )?;
                }
                store::insert_email_token(
                    conn,
                    &account_id,
                    VERIFY_EMAIL,
                    &tokens::digest(&verify_token),
                    now,
                    now + token_expiry,
                )?;
                outbox::enqueue(conn, &mail, now)?;
                let account = store::find(conn, &account_id)?
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("account vanished")))?;
                view(conn, &account)
            })
        })
        .await?;
    state.wake_outbox();
    tracing::info!(account_id = %account.id, role = ?account.role, "account registered");
    Ok(Registered {
        account,
        verification_sent: true,
    })
}

/// Checks a password login, throttled per email and per client IP. Unknown emails cost
/// the same argon2 work as known ones.
pub async fn login(
    state: &AppState,
    req: LoginRequest,
    client_ip: &str,
) -> Result<TokenResponse, AppError> {
    let email = Email::parse(&req.email).map_err(|invalid| {
        AppError::Validation(vec![crate::error::FieldError::new(
            "email",
            invalid.code,
            invalid.message,
        )])
    })?;
    let account_key = throttle::account_key(email.as_str());
    let ip_key = throttle::ip_key(client_ip);
    let keys = vec![account_key.clone(), ip_key.clone()];
    let lookup = email.as_str().to_owned();
    let (locked, account) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let locked = throttle::check(conn, &keys, now())?;
            let account = match locked {
                Some(_) => None,
                None => store::find_by_email(conn, &lookup)?,
            };
            Ok((locked, account))
        })
        .await?;
    if let Some(retry_after_secs) = locked {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let ok = password::verify(
        req.password,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await
    .map_err(AppError::internal)?;
    let account = match (ok, account) {
        (true, Some(account)) => account,
        _ => {
            let policies = vec![
                (account_key, state.account_throttle()),
                (ip_key, state.ip_throttle()),
            ];
            state
                .db
                .run(move |conn| {
                    write_transaction(conn, |conn| throttle::fail(conn, &policies, now()))
                })
                .await
                .map_err(AppError::from)?;
            tracing::info!("login failed");
            return Err(AppError::Unauthenticated {
                code: "invalid_credentials",
            });
        }
    };
    let family = new_id();
    let response = issue_tokens(state, account, family, Some(account_key)).await?;
    tracing::info!(account_id = %response.account.id, "login succeeded");
    Ok(response)
}

/// Issues an access token and a refresh token of `family` for `account`.
async fn issue_tokens(
    state: &AppState,
    account: Account,
    family: String,
    clear_throttle: Option<String>,
) -> Result<TokenResponse, AppError> {
    let refresh = tokens::generate();
    let refresh_hash = tokens::digest(&refresh);
    let lifetime = state.refresh_lifetime();
    let session = family.clone();
    let account_view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AccountView, AppError> {
                let now = now();
                if let Some(key) = &clear_throttle {
                    throttle::clear(conn, key)?;
                }
                store::insert_refresh_token(
                    conn,
                    &NewRefreshToken {
                        id: &new_id(),
                        account_id: &account.id,
                        family_id: &family,
                        token_hash: &refresh_hash,
                        created_at: now,
                        expires_at: now + lifetime,
                    },
                )?;
                view(conn, &account)
            })
        })
        .await?;
    let merchant = account_view.merchant.as_ref().map(|m| m.id.clone());
    let access = state
        .jwt
        .issue_session(
            &account_view.id,
            account_view.role,
            merchant.as_ref(),
            Some(&session),
        )
        .map_err(AppError::internal)?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer".to_owned(),
        expires_in: state.jwt.lifetime().num_seconds(),
        refresh_token: refresh,
        refresh_expires_in: lifetime.num_seconds(),
        account: account_view,
    })
}

enum RefreshOutcome {
    Rotate(Box<Account>, String),
    Reused,
    Invalid,
}

/// Rotates a refresh token. A token is good once: presenting a spent one means it was
/// stolen (or the client is confused), so its whole family is revoked.
pub async fn refresh(state: &AppState, req: RefreshRequest) -> Result<TokenResponse, AppError> {
    let hash = tokens::digest(req.refresh_token.trim());
    let outcome = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<RefreshOutcome, AppError> {
                let now = now();
                let Some(token) = store::find_refresh_token(conn, &hash)? else {
                    return Ok(RefreshOutcome::Invalid);
                };
                if token.revoked_at.is_some() || token.expires_at <= now {
                    return Ok(RefreshOutcome::Invalid);
                }
                if token.used_at.is_some() || !store::spend_refresh_token(conn, &token.id, now)? {
                    store::revoke_family(conn, &token.family_id, now)?;
                    return Ok(RefreshOutcome::Reused);
                }
                match store::find(conn, &token.account_id)? {
                    Some(account) => Ok(RefreshOutcome::Rotate(Box::new(account), token.family_id)),
                    None => Ok(RefreshOutcome::Invalid),
                }
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotate(account, family) => {
            issue_tokens(state, *account, family, None).await
        }
        RefreshOutcome::Reused => {
            tracing::warn!("spent refresh token presented again; its family is revoked");
            Err(AppError::Unauthenticated {
                code: "refresh_token_reused",
            })
        }
        RefreshOutcome::Invalid => Err(AppError::Unauthenticated {
            code: "invalid_refresh_token",
        }),
    }
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored: logging
/// out is idempotent.
pub async fn logout(state: &AppState, refresh_token: &str) -> Result<(), AppError> {
    let hash = tokens::digest(refresh_token.trim());
    Ok(state
        .db
        .run(move |conn| -> Result<(), AppError> {
            if let Some(token) = store::find_refresh_token(conn, &hash)? {
                store::revoke_family(conn, &token.family_id, now())?;
            }
            Ok(())
        })
        .await?)
}

pub async fn verify_email(state: &AppState, token: &str) -> Result<AccountView, AppError> {
    let hash = tokens::digest(token.trim());
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AccountView, AppError> {
                let now = now();
                let account_id = store::consume_email_token(conn, &hash, VERIFY_EMAIL, now)?
                    .ok_or_else(invalid_link)?;
                store::mark_email_verified(conn, &account_id, now)?;
                let account = store::find(conn, &account_id)?.ok_or_else(invalid_link)?;
                view(conn, &account)
            })
        })
        .await?)
}

fn invalid_link() -> AppError {
    AppError::field(
        "token",
        "invalid_or_expired_token",
        "this link is invalid, has expired or was already used",
    )
}

/// Whether a mailed link can still be used (for the page that shows its form).
pub async fn email_token_usable(
    state: &AppState,
    token: &str,
    for_reset: bool,
) -> Result<bool, AppError> {
    let hash = tokens::digest(token.trim());
    let purpose = if for_reset {
        PASSWORD_RESET
    } else {
        VERIFY_EMAIL
    };
    state
        .db
        .run(move |conn| store::email_token_is_usable(conn, &hash, purpose, now()))
        .await
        .map_err(AppError::from)
}

/// Mails a reset link if an account uses the address. The answer is the same either way.
pub async fn request_password_reset(
    state: &AppState,
    req: PasswordResetRequest,
) -> Result<(), AppError> {
    let email =
        Email::parse(&req.email).map_err(|i| AppError::field("email", i.code, i.message))?;
    let token = tokens::generate();
    let link = state.link(&format!("/password-reset/confirm?token={token}"));
    let lifetime = state.email_token_lifetime();
    let queued = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<bool, AppError> {
                let Some(account) = store::find_by_email(conn, email.as_str())? else {
                    return Ok(false);
                };
                let now = now();
                let mail = render(
                    &account.email,
                    &account.display_name,
                    account_locale(&account),
                    &MailKind::PasswordReset { link },
                )
                .map_err(AppError::internal)?;
                store::insert_email_token(
                    conn,
                    &account.id,
                    PASSWORD_RESET,
                    &tokens::digest(&token),
                    now,
                    now + lifetime,
                )?;
                outbox::enqueue(conn, &mail, now)?;
                Ok(true)
            })
        })
        .await?;
    if queued {
        state.wake_outbox();
    }
    Ok(())
}

/// Sets a new password from a mailed link, signs out every session, confirms the email
/// address (the link proved the mailbox) and tells the owner by mail.
pub async fn confirm_password_reset(
    state: &AppState,
    req: PasswordResetConfirm,
) -> Result<(), AppError> {
    let hash = tokens::digest(req.token.trim());
    let peek_hash = hash.clone();
    let account = state
        .db
        .run(move |conn| -> Result<Option<Account>, AppError> {
            let now = now();
            if !store::email_token_is_usable(conn, &peek_hash, PASSWORD_RESET, now)? {
                return Ok(None);
            }
            use crate::db::schema::email_tokens;
            use diesel::prelude::*;
            let account_id: AccountId = email_tokens::table
                .filter(email_tokens::token_hash.eq(&peek_hash))
                .select(email_tokens::account_id)
                .first(conn)?;
            Ok(store::find(conn, &account_id)?)
        })
        .await?
        .ok_or_else(invalid_link)?;
    let new_password =
        NewPassword::parse(&req.new_password, &[&account.email, &account.display_name])
            .map_err(|i| AppError::field("new_password", i.code, i.message))?;
    let password_hash = password::hash(new_password.expose().to_owned())
        .await
        .map_err(AppError::internal)?;
    let mail = render(
        &account.email,
        &account.display_name,
        account_locale(&account),
        &MailKind::PasswordChanged,
    )
    .map_err(AppError::internal)?;
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<(), AppError> {
                let now = now();
                let account_id = store::consume_email_token(conn, &hash, PASSWORD_RESET, now)?
                    .ok_or_else(invalid_link)?;
                store::set_password(conn, &account_id, &password_hash, now)?;
                store::mark_email_verified(conn, &account_id, now)?;
                store::revoke_all_refresh_tokens(conn, &account_id, now)?;
                outbox::enqueue(conn, &mail, now)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&account_id),
                        action: "password.reset",
                        target_type: "account",
                        target_id: Some(account_id.as_str()),
                        details: serde_json::json!({}),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
    state.wake_outbox();
    Ok(())
}

pub async fn me(state: &AppState, id: AccountId) -> Result<AccountView, AppError> {
    Ok(state
        .db
        .run(move |conn| -> Result<AccountView, AppError> {
            let account = store::find(conn, &id)?.ok_or(AppError::Unauthenticated {
                code: "account_gone",
            })?;
            view(conn, &account)
        })
        .await?)
}

/// Creates an account for someone else (an admin by an admin, a staff login by its shop)
/// with no usable password and mails them a link to choose one.
pub async fn invite(
    state: &AppState,
    inviter: &AccountId,
    role: Role,
    merchant: Option<MerchantId>,
    req: InviteRequest,
) -> Result<AccountView, AppError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&req.email));
    let name = errors.check("display_name", DisplayName::parse(&req.display_name));
    errors.finish()?;
    let (Some(email), Some(name)) = (email, name) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    // Nobody knows this password; the invitee sets theirs through the mailed link.
    let unusable = password::hash(tokens::generate())
        .await
        .map_err(AppError::internal)?;
    let token = tokens::generate();
    let link = state.link(&format!("/password-reset/confirm?token={token}"));
    // Invitations get three days rather than one: people are invited before they are ready.
    let lifetime = state.email_token_lifetime() * 3;
    let inviter = inviter.clone();
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AccountView, AppError> {
                let now = now();
                let inviter_account =
                    store::find(conn, &inviter)?.ok_or(AppError::Unauthenticated {
                        code: "account_gone",
                    })?;
                let locale = account_locale(&inviter_account);
                let kind = match (&role, &merchant) {
                    (Role::MerchantStaff, Some(mid)) => {
                        let shop = store::find_merchant(conn, mid)?.ok_or(AppError::NotFound)?;
                        MailKind::StaffInvite {
                            link,
                            merchant: shop.name,
                        }
                    }
                    _ => MailKind::AdminInvite {
                        link,
                        invited_by: inviter_account.display_name.clone(),
                    },
                };
                let mail = render(email.as_str(), name.as_str(), locale, &kind)
                    .map_err(AppError::internal)?;
                let id = AccountId::new();
                store::insert_account(
                    conn,
                    &NewAccount {
                        id: &id,
                        email: email.as_str(),
                        password_hash: &unusable,
                        role: role.as_str(),
                        merchant_id: merchant.as_ref(),
                        display_name: name.as_str(),
                        locale: locale.as_str(),
                        time_zone: &inviter_account.time_zone,
                        email_verified_at: None,
                        password_changed_at: now,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        email_taken()
                    } else {
                        e.into()
                    }
                })?;
                store::insert_email_token(
                    conn,
                    &id,
                    PASSWORD_RESET,
                    &tokens::digest(&token),
                    now,
                    now + lifetime,
                )?;
                outbox::enqueue(conn, &mail, now)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&inviter),
                        action: match role {
                            Role::Admin => "admin.invited",
                            _ => "staff.invited",
                        },
                        target_type: "account",
                        target_id: Some(id.as_str()),
                        details: serde_json::json!({
                            "email": email.as_str(),
                            "merchant_id": merchant.as_ref().map(|m| m.as_str()),
                        }),
                    },
                    now,
                )?;
                let account = store::find(conn, &id)?
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("account vanished")))?;
                view(conn, &account)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

/// The command-line way to make the first admin: the operator types the password.
pub fn create_admin_blocking(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    raw_password: &str,
) -> Result<AccountId, AppError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(email));
    let name = errors.check("display_name", DisplayName::parse(display_name));
    let pw = errors.check(
        "password",
        NewPassword::parse(
            raw_password,
            &[
                email.as_ref().map(|e| e.as_str()).unwrap_or(""),
                display_name,
            ],
        ),
    );
    errors.finish()?;
    let (Some(email), Some(name), Some(pw)) = (email, name, pw) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let hash = password::hash_blocking(pw.expose()).map_err(AppError::internal)?;
    write_transaction(conn, |conn| -> Result<AccountId, AppError> {
        let now = now();
        let id = AccountId::new();
        store::insert_account(
            conn,
            &NewAccount {
                id: &id,
                email: email.as_str(),
                password_hash: &hash,
                role: Role::Admin.as_str(),
                merchant_id: None,
                display_name: name.as_str(),
                locale: Locale::En.as_str(),
                time_zone: TimeZone::default().name(),
                email_verified_at: Some(now),
                password_changed_at: now,
                created_at: now,
                updated_at: now,
            },
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                email_taken()
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            AuditEntry {
                actor: None,
                action: "admin.created",
                target_type: "account",
                target_id: Some(id.as_str()),
                details: serde_json::json!({ "email": email.as_str(), "via": "cli" }),
            },
            now,
        )?;
        Ok(id)
    })
}
