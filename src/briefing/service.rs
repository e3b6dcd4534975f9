//! Briefing use cases, shared by the JSON API and the shop's page: one transaction each,
//! every change audit-logged.

use serde_json::json;

use super::model::{
    AgentBriefing, BriefingView, MAX_QUICK_REPLIES, OrderError, QuickReplyDraft, QuickReplyInput,
    QuickReplyView, RevisionView, SaveBriefing, Sections, check_order,
};
use super::store::{self, NewRevision, SkillFilter};
use crate::accounts::model::{AccountId, MerchantId};
use crate::audit::{self, AuditEntry};
use crate::db::{DbConn, is_unique_violation, write_transaction};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::state::AppState;

/// Who acts on which shop's briefing: a staff login of the shop, or an admin acting for it.
#[derive(Debug, Clone)]
pub struct Editor {
    pub account: AccountId,
    pub merchant: MerchantId,
}

fn require_merchant(conn: &mut DbConn, merchant: &MerchantId) -> Result<(), AppError> {
    match store::merchant_name(conn, merchant)? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound),
    }
}

/// The shop's briefing (version 0 and empty before the first save).
pub async fn briefing(state: &AppState, merchant: MerchantId) -> Result<BriefingView, AppError> {
    state
        .db
        .run(move |conn| -> Result<BriefingView, AppError> {
            require_merchant(conn, &merchant)?;
            Ok(store::view(conn, &merchant)?)
        })
        .await
        .map_err(AppError::from)
}

fn conflict(current: &BriefingView, edited: i32) -> AppError {
    AppError::conflict_with(
        "briefing_conflict",
        format!(
            "the briefing was saved as version {} since version {edited} was loaded; \
             reload it, merge your changes and save again",
            current.version
        ),
        json!({
            "current_version": current.version,
            "updated_by_name": current.updated_by_name,
            "updated_at": current.updated_at,
        }),
    )
}

/// Saves the whole briefing if `input.version` is still the current version; otherwise
/// `briefing_conflict` (409) with the current version, and nothing is written. A save that
/// changes nothing writes no revision.
pub async fn save(
    state: &AppState,
    editor: Editor,
    input: SaveBriefing,
) -> Result<BriefingView, AppError> {
    let sections = Sections::parse(&input)?;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<BriefingView, AppError> {
                let merchant = &editor.merchant;
                require_merchant(conn, merchant)?;
                let current = store::view(conn, merchant)?;
                if current.version != input.version {
                    return Err(conflict(&current, input.version));
                }
                let before = Sections {
                    products: current.products.clone(),
                    shipping: current.shipping.clone(),
                    returns: current.returns.clone(),
                    other: current.other.clone(),
                };
                let changed = sections.changed_from(&before);
                if changed.is_empty() {
                    return Ok(current);
                }
                // A savepoint, so that losing a race for the first save (a unique key
                // violation) leaves the transaction usable for reading who won.
                let written = write_transaction(conn, |conn| {
                    store::save_if_current(
                        conn,
                        merchant,
                        input.version,
                        &sections,
                        &editor.account,
                        now,
                    )
                });
                match written {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(conflict(&store::view(conn, merchant)?, input.version));
                    }
                    Err(e) if is_unique_violation(&e) => {
                        return Err(conflict(&store::view(conn, merchant)?, input.version));
                    }
                    Err(e) => return Err(e.into()),
                }
                let version = input.version + 1;
                store::insert_revision(
                    conn,
                    NewRevision {
                        merchant,
                        version,
                        sections: &sections,
                        changed: &changed,
                        by: &editor.account,
                        at: now,
                    },
                )?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&editor.account),
                        action: "briefing.updated",
                        target_type: "merchant",
                        target_id: Some(merchant.as_str()),
                        details: json!({ "version": version, "changed": changed }),
                    },
                    now,
                )?;
                Ok(store::view(conn, merchant)?)
            })
        })
        .await
        .map_err(AppError::from)
}

/// The briefing's revisions, newest first, after the revision `cursor`.
pub async fn revisions(
    state: &AppState,
    merchant: MerchantId,
    cursor: Option<String>,
    limit: i64,
) -> Result<Vec<RevisionView>, AppError> {
    state
        .db
        .run(move |conn| -> Result<Vec<RevisionView>, AppError> {
            require_merchant(conn, &merchant)?;
            Ok(store::revisions(conn, &merchant, cursor.as_deref(), limit)?)
        })
        .await
        .map_err(AppError::from)
}

/// The shop's quick replies by position, after the reply `cursor`.
pub async fn quick_replies(
    state: &AppState,
    merchant: MerchantId,
    cursor: Option<String>,
    limit: i64,
) -> Result<Vec<QuickReplyView>, AppError> {
    state
        .db
        .run(move |conn| -> Result<Vec<QuickReplyView>, AppError> {
            require_merchant(conn, &merchant)?;
            let after = match cursor {
                None => None,
                Some(id) => {
                    let Some(last) = store::quick_reply(conn, &merchant, &id)? else {
                        return Err(AppError::field(
                            "cursor",
                            "invalid_cursor",
                            "the reply this page continued after is gone; start again",
                        ));
                    };
                    Some((last.position, last.id))
                }
            };
            Ok(store::quick_replies(
                conn,
                &merchant,
                SkillFilter::All,
                after,
                limit,
            )?)
        })
        .await
        .map_err(AppError::from)
}

fn draft(state: &AppState, input: &QuickReplyInput) -> Result<QuickReplyDraft, AppError> {
    let rules = state.rules();
    Ok(QuickReplyDraft::parse(input, |s| rules.skill(s).is_some())?)
}

fn shortcut_taken() -> AppError {
    let mut errors = FieldErrors::new();
    errors.push(
        "shortcut",
        Invalid::new(
            "shortcut_taken",
            "another quick reply of this shop uses this shortcut",
        ),
    );
    errors.into()
}

/// A store error, with the shortcut index's refusal (another reply of the shop has the
/// shortcut) as the field error it is.
fn shortcut_clash(e: diesel::result::Error) -> AppError {
    if is_unique_violation(&e) {
        shortcut_taken()
    } else {
        e.into()
    }
}

/// Records a created or changed quick reply with what it now says.
fn audit_quick_reply(
    conn: &mut DbConn,
    editor: &Editor,
    action: &str,
    id: &str,
    draft: &QuickReplyDraft,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    audit::record(
        conn,
        AuditEntry {
            actor: Some(&editor.account),
            action,
            target_type: "quick_reply",
            target_id: Some(id),
            details: json!({
                "merchant_id": editor.merchant,
                "title": draft.title,
                "shortcut": draft.shortcut,
                "skill": draft.skill,
            }),
        },
        now,
    )?;
    Ok(())
}

/// Adds a quick reply at the end of the list.
pub async fn create_quick_reply(
    state: &AppState,
    editor: Editor,
    input: QuickReplyInput,
) -> Result<QuickReplyView, AppError> {
    let draft = draft(state, &input)?;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<QuickReplyView, AppError> {
                let merchant = &editor.merchant;
                require_merchant(conn, merchant)?;
                let (count, position) = store::quick_reply_count_and_next(conn, merchant)?;
                if count >= MAX_QUICK_REPLIES {
                    return Err(AppError::conflict(
                        "too_many_quick_replies",
                        format!("a shop has at most {MAX_QUICK_REPLIES} quick replies"),
                    ));
                }
                let id = store::insert_quick_reply(
                    conn,
                    merchant,
                    &draft,
                    position,
                    &editor.account,
                    now,
                )
                .map_err(shortcut_clash)?;
                audit_quick_reply(conn, &editor, "quick_reply.created", &id, &draft, now)?;
                store::quick_reply(conn, merchant, &id)?.ok_or(AppError::NotFound)
            })
        })
        .await
        .map_err(AppError::from)
}

/// Replaces a quick reply's text, shortcut and skill (its place stays).
pub async fn update_quick_reply(
    state: &AppState,
    editor: Editor,
    id: String,
    input: QuickReplyInput,
) -> Result<QuickReplyView, AppError> {
    let draft = draft(state, &input)?;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<QuickReplyView, AppError> {
                let merchant = &editor.merchant;
                if store::quick_reply(conn, merchant, &id)?.is_none() {
                    return Err(AppError::NotFound);
                }
                store::update_quick_reply(conn, merchant, &id, &draft, &editor.account, now)
                    .map_err(shortcut_clash)?;
                audit_quick_reply(conn, &editor, "quick_reply.updated", &id, &draft, now)?;
                store::quick_reply(conn, merchant, &id)?.ok_or(AppError::NotFound)
            })
        })
        .await
        .map_err(AppError::from)
}

pub async fn delete_quick_reply(
    state: &AppState,
    editor: Editor,
    id: String,
) -> Result<(), AppError> {
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<(), AppError> {
                let merchant = &editor.merchant;
                let Some(old) = store::quick_reply(conn, merchant, &id)? else {
                    return Err(AppError::NotFound);
                };
                store::delete_quick_reply(conn, merchant, &id)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&editor.account),
                        action: "quick_reply.deleted",
                        target_type: "quick_reply",
                        target_id: Some(&id),
                        details: json!({
                            "merchant_id": merchant,
                            "title": old.title,
                            "shortcut": old.shortcut,
                        }),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await
        .map_err(AppError::from)
}

/// Puts the shop's quick replies in the order of `ids`, which must name each exactly once;
/// returns them all in the new order.
pub async fn reorder_quick_replies(
    state: &AppState,
    editor: Editor,
    ids: Vec<String>,
) -> Result<Vec<QuickReplyView>, AppError> {
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<Vec<QuickReplyView>, AppError> {
                let merchant = &editor.merchant;
                require_merchant(conn, merchant)?;
                let current = store::quick_reply_ids(conn, merchant)?;
                match check_order(&ids, &current) {
                    Ok(()) => {}
                    Err(OrderError::Duplicate(id)) => {
                        return Err(AppError::field(
                            "ids",
                            "duplicate",
                            format!("{id} is listed more than once"),
                        ));
                    }
                    Err(OrderError::Stale) => {
                        return Err(AppError::conflict(
                            "quick_replies_changed",
                            "the list must name every quick reply of the shop once; \
                             replies were added or deleted since it was loaded",
                        ));
                    }
                }
                if ids != current {
                    store::set_order(conn, merchant, &ids, &editor.account, now)?;
                    audit::record(
                        conn,
                        AuditEntry {
                            actor: Some(&editor.account),
                            action: "quick_replies.reordered",
                            target_type: "merchant",
                            target_id: Some(merchant.as_str()),
                            details: json!({ "ids": ids }),
                        },
                        now,
                    )?;
                }
                Ok(store::quick_replies(
                    conn,
                    merchant,
                    SkillFilter::All,
                    None,
                    MAX_QUICK_REPLIES,
                )?)
            })
        })
        .await
        .map_err(AppError::from)
}

/// A shop's briefing and quick replies for an agent on its seats; 404 unless the agent may
/// read them ([`store::agent_may_read`]), so nobody learns which shops exist.
pub async fn for_agent(
    state: &AppState,
    agent: AccountId,
    merchant: MerchantId,
    skill: Option<String>,
) -> Result<AgentBriefing, AppError> {
    let skill = skill.filter(|s| !s.is_empty());
    if let Some(s) = &skill
        && state.rules().skill(s).is_none()
    {
        return Err(AppError::field(
            "skill",
            "unknown_skill",
            "not a skill of the seat rules",
        ));
    }
    let now = state.clock.now();
    state
        .db
        .run(move |conn| store::load_for_agent(conn, &agent, &merchant, skill.as_deref(), now))
        .await?
        .ok_or(AppError::NotFound)
}
