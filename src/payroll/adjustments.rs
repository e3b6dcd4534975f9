//! Corrections after approval: an approved run never changes, so an admin adds an
//! adjustment (a signed amount with a reason, optionally naming the approved run it
//! corrects) and the agent's next computed run carries it as an adjustment line.

use chrono::NaiveDateTime;

use super::service::{plain_yuan, record};
use super::store::{self, AdjustmentRow, LOCKED, NewAdjustment};
use crate::accounts::model::{AccountId, Locale};
use crate::db::{DbConn, write_transaction};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::mail::templates::{MailKind, render};

/// Longest reason kept.
pub const MAX_REASON: usize = 500;

/// An adjustment as the admin asked for it.
#[derive(Debug, Clone)]
pub struct AdjustmentRequest {
    pub agent_id: String,
    /// Fen, signed: positive pays the agent more, negative deducts; never zero.
    pub amount_fen: i64,
    pub reason: String,
    /// The approved (or paid) run this corrects.
    pub from_run_id: Option<String>,
}

/// The request's own checks: a non-zero amount and a reason.
fn validate(req: &AdjustmentRequest) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if req.amount_fen == 0 {
        errors.push(
            "amount_fen",
            Invalid::new("zero_amount", "an adjustment moves pay: it is not zero"),
        );
    }
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        errors.push(
            "reason",
            Invalid::new(
                "required",
                format!("say why (1-{MAX_REASON} characters): the agent reads it"),
            ),
        );
    }
    errors.finish()
}

/// Adds an adjustment for an agent's next run, audit logged, and mails the agent in the
/// same transaction. An unknown agent is 404; a run it names must be approved or paid.
pub fn add(
    conn: &mut DbConn,
    admin: &AccountId,
    req: &AdjustmentRequest,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<AdjustmentRow, AppError> {
    validate(req)?;
    let reason = req.reason.trim();
    let from_run = req
        .from_run_id
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    write_transaction(conn, |conn| {
        if !store::is_agent(conn, &req.agent_id)? {
            return Err(AppError::NotFound);
        }
        let corrected = match from_run {
            Some(run_id) => {
                let run = store::run(conn, run_id)?.ok_or_else(|| {
                    AppError::field("from_run_id", "unknown_run", "no such payroll run")
                })?;
                if !LOCKED.contains(&run.status.as_str()) {
                    return Err(AppError::field(
                        "from_run_id",
                        "run_not_approved",
                        format!(
                            "only an approved run is corrected by an adjustment; this run is {} (change its lines instead)",
                            run.status
                        ),
                    ));
                }
                Some(run)
            }
            None => None,
        };
        let id = store::insert_adjustment(
            conn,
            &NewAdjustment {
                agent_id: &req.agent_id,
                amount_fen: req.amount_fen,
                reason,
                from_run_id: from_run,
                created_by: admin.as_str(),
            },
            now,
        )?;
        record(
            conn,
            admin,
            "payroll.adjustment_added",
            ("pay_adjustment", &id),
            serde_json::json!({
                "agent_id": req.agent_id,
                "amount_fen": req.amount_fen,
                "reason": reason,
                "from_run_id": from_run,
            }),
            now,
        )?;
        let (email, name, locale) =
            store::agent_contact(conn, &req.agent_id)?.ok_or(AppError::NotFound)?;
        let mail = MailKind::PayAdjustment {
            amount: format!("¥{}", plain_yuan(req.amount_fen)),
            reason: reason.to_owned(),
            corrects: corrected.map(|r| format!("{} – {}", r.period_from, r.period_to)),
            link: format!("{public_url}/api/agents/me/payslips"),
        };
        let locale = Locale::parse(&locale).unwrap_or(Locale::En);
        let out = render(&email, &name, locale, &mail).map_err(AppError::Internal)?;
        crate::mail::outbox::enqueue(conn, &out, now)?;
        store::adjustment(conn, &id)?.ok_or(AppError::NotFound)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(amount_fen: i64, reason: &str) -> AdjustmentRequest {
        AdjustmentRequest {
            agent_id: "a".into(),
            amount_fen,
            reason: reason.into(),
            from_run_id: None,
        }
    }

    fn codes(r: Result<(), AppError>) -> Vec<(String, String)> {
        match r {
            Ok(()) => Vec::new(),
            Err(AppError::Validation(e)) => e.into_iter().map(|f| (f.field, f.code)).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_adjustment_moves_pay_and_says_why() {
        assert_eq!(codes(validate(&req(-500, "late fee refunded"))), []);
        assert_eq!(codes(validate(&req(1, "x"))), []);
        assert_eq!(
            codes(validate(&req(0, "  "))),
            [
                ("amount_fen".to_owned(), "zero_amount".to_owned()),
                ("reason".to_owned(), "required".to_owned())
            ]
        );
        let long = "x".repeat(MAX_REASON + 1);
        assert_eq!(
            codes(validate(&req(100, &long))),
            [("reason".to_owned(), "required".to_owned())]
        );
    }
}
