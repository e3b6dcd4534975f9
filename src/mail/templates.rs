//! Mail bodies: every mail is a greeting, a few paragraphs, at most one action link and a
//! footer, rendered as plain text and as HTML (askama escapes the HTML part) in the
//! recipient's language.

use askama::Template;

use super::OutgoingMail;
use crate::accounts::model::Locale;
use crate::seats::booking::yuan;
use crate::seats::mails::BookingSummary;
use crate::web::i18n::{t, t_with};

/// What a mail says, before it is put into words.
#[derive(Debug, Clone)]
pub enum MailKind {
    VerifyEmail {
        link: String,
    },
    PasswordReset {
        link: String,
    },
    PasswordChanged,
    AdminInvite {
        link: String,
        invited_by: String,
    },
    StaffInvite {
        link: String,
        merchant: String,
    },
    BookingHeld(BookingSummary),
    BookingConfirmed(BookingSummary),
    /// The summary, the refund in fen and its share in basis points.
    BookingCancelled(BookingSummary, i64, u32),
    /// To agents who had claimed shifts of a cancelled booking.
    ShiftsCancelled(BookingSummary),
    /// To a shop's staff: a customer left a message while nobody was on shift.
    ChatLeftMessage {
        customer: String,
        skill: String,
        /// Local time with the zone's name.
        when: String,
        message: String,
        chat_id: String,
    },
    RenewalOpens {
        period: String,
        priority_opens_on: String,
        opens_on: String,
    },
    /// An exam attempt's result, and what comes next; `link` is the next step's page.
    ExamResult {
        skill: String,
        result: ExamMailResult,
        link: String,
    },
    /// To an agent: an admin resolved their dispute of a review. `score` is the amended
    /// score (accepted disputes), e.g. `82.50`.
    ReviewDisputeResolved {
        accepted: bool,
        score: Option<String>,
        answer: String,
    },
    TrialBooked {
        skill: String,
        /// Local start and end, with the zone's name.
        when: String,
        link: String,
    },
    /// A reviewed trial; `expires` (local date) when passed.
    TrialResult {
        skill: String,
        passed: bool,
        percent: u32,
        feedback: String,
        expires: Option<String>,
        link: String,
    },
    /// The agent sent no reply during the trial slot.
    TrialMissed {
        skill: String,
        link: String,
    },
    /// Something happened to one of the agent's shifts.
    Shift(ShiftMail),
    /// A payroll run was published: the agent's draft payslip and the dispute window.
    PayslipDraft(PayslipMail),
    /// A payroll run was approved: the agent's final payslip.
    PayslipApproved(PayslipMail),
    /// An admin added a correction that the agent's next payroll run carries.
    PayAdjustment {
        /// Signed, e.g. `¥-5.00`.
        amount: String,
        reason: String,
        /// The period of the approved run it corrects.
        corrects: Option<String>,
        link: String,
    },
    CertificationExpiring {
        skill: String,
        /// Local date and time of expiry.
        expires: String,
        days: i64,
        link: String,
    },
    /// The monthly recomputation moved the agent up or down a level.
    LevelChanged {
        promoted: bool,
        /// Level names in the recipient's language, and the new level's number.
        from: String,
        to: String,
        number: u32,
        /// `YYYY-MM`, the month it was decided on.
        month: String,
        /// The month's figures as shown: quality `91.2`, adherence `96.0%`, hours `84.0`.
        quality: Option<String>,
        adherence: Option<String>,
        hours: String,
        /// Why a demotion happened.
        reasons: Vec<crate::quality::levels_store::ShortfallView>,
        /// What the new level grants.
        max_chats: u32,
        early_access: bool,
        pay_multiplier: String,
        link: String,
    },
    /// A shop's daily or weekly service report, worded by
    /// [`crate::analytics::merchant_reports`].
    ServiceReport(crate::analytics::merchant_reports::ReportMail),
}

/// A payslip mail: the period, the total, every line and where to see it.
#[derive(Debug, Clone)]
pub struct PayslipMail {
    /// First and last day of the period.
    pub period: String,
    /// E.g. `¥996.00`.
    pub total: String,
    /// Each line as *units × rate × multiplier = amount*.
    pub lines: Vec<String>,
    /// Until when a line may be disputed (drafts).
    pub dispute_until: Option<String>,
    pub link: String,
}

/// A shift mail: what happened, the shift, and where to see it.
#[derive(Debug, Clone)]
pub struct ShiftMail {
    pub notice: ShiftNotice,
    pub merchant: String,
    /// The skill's name in the recipient's language.
    pub skill: String,
    /// Local start and end, with the zone's name.
    pub when: String,
    /// The pay estimate, e.g. `¥96.00`.
    pub pay: String,
    pub bonus: Option<String>,
    pub link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftNotice {
    Claimed,
    Assigned,
    SwappedIn,
    SwappedOut,
    Reminder,
    Released { late: bool },
    NoShow,
    Urgent,
}

impl ShiftNotice {
    fn key(self) -> &'static str {
        match self {
            ShiftNotice::Claimed => "claimed",
            ShiftNotice::Assigned => "assigned",
            ShiftNotice::SwappedIn => "swapped_in",
            ShiftNotice::SwappedOut => "swapped_out",
            ShiftNotice::Reminder => "reminder",
            ShiftNotice::Released { late: false } => "released",
            ShiftNotice::Released { late: true } => "released_late",
            ShiftNotice::NoShow => "no_show",
            ShiftNotice::Urgent => "urgent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExamMailResult {
    Passed {
        percent: u32,
    },
    /// `retry_at`: local time the next attempt may start.
    Failed {
        percent: u32,
        retry_at: String,
    },
    AwaitingReview,
}

fn booking_facts(l: Locale, b: &BookingSummary) -> Vec<String> {
    let mut facts = vec![t_with(
        l,
        "mail.booking.facts",
        &[
            ("skill", &b.skill),
            ("dates", &b.dates),
            ("hours", &b.hours),
            ("seats", &b.seats.to_string()),
        ],
    )];
    facts.extend(b.lines.iter().cloned());
    facts.push(t_with(l, "mail.booking.total", &[("total", &b.total)]));
    facts
}

#[derive(Template)]
#[template(path = "mail/body.txt")]
struct TextBody<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    action: Option<(&'a str, &'a str)>,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "mail/body.html")]
struct HtmlBody<'a> {
    lang: &'a str,
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    action: Option<(&'a str, &'a str)>,
    footer: &'a str,
}

pub fn render(
    to: &str,
    name: &str,
    locale: Locale,
    kind: &MailKind,
) -> anyhow::Result<OutgoingMail> {
    let l = locale;
    let (subject, paragraphs, action): (String, Vec<String>, Option<(String, &str)>) = match kind {
        MailKind::VerifyEmail { link } => (
            t(l, "mail.verify.subject").into_owned(),
            vec![
                t(l, "mail.verify.body").into_owned(),
                t(l, "mail.link_expires").into_owned(),
            ],
            Some((t(l, "mail.verify.action").into_owned(), link.as_str())),
        ),
        MailKind::PasswordReset { link } => (
            t(l, "mail.reset.subject").into_owned(),
            vec![
                t(l, "mail.reset.body").into_owned(),
                t(l, "mail.reset.ignore").into_owned(),
            ],
            Some((t(l, "mail.reset.action").into_owned(), link.as_str())),
        ),
        MailKind::PasswordChanged => (
            t(l, "mail.changed.subject").into_owned(),
            vec![t(l, "mail.changed.body").into_owned()],
            None,
        ),
        MailKind::AdminInvite { link, invited_by } => (
            t(l, "mail.admin_invite.subject").into_owned(),
            vec![t_with(l, "mail.admin_invite.body", &[("by", invited_by)])],
            Some((t(l, "mail.set_password").into_owned(), link.as_str())),
        ),
        MailKind::BookingHeld(b) => {
            let mut p = vec![t_with(
                l,
                "mail.booking.held.body",
                &[("until", b.hold_expires.as_deref().unwrap_or("-"))],
            )];
            p.extend(booking_facts(l, b));
            (
                t_with(l, "mail.booking.held.subject", &[("dates", &b.dates)]),
                p,
                None,
            )
        }
        MailKind::BookingConfirmed(b) => {
            let mut p = vec![t_with(
                l,
                "mail.booking.confirmed.body",
                &[("invoice", b.invoice.as_deref().unwrap_or("-"))],
            )];
            p.extend(booking_facts(l, b));
            (
                t_with(l, "mail.booking.confirmed.subject", &[("dates", &b.dates)]),
                p,
                None,
            )
        }
        MailKind::BookingCancelled(b, refund, bp) => {
            let mut p = vec![t_with(
                l,
                "mail.booking.cancelled.body",
                &[
                    ("refund", &format!("¥{}", yuan(*refund))),
                    ("percent", &(bp / 100).to_string()),
                ],
            )];
            p.extend(booking_facts(l, b));
            (
                t_with(l, "mail.booking.cancelled.subject", &[("dates", &b.dates)]),
                p,
                None,
            )
        }
        MailKind::ShiftsCancelled(b) => (
            t_with(l, "mail.shifts_cancelled.subject", &[("dates", &b.dates)]),
            vec![t_with(
                l,
                "mail.shifts_cancelled.body",
                &[("dates", &b.dates), ("hours", &b.hours)],
            )],
            None,
        ),
        MailKind::ChatLeftMessage {
            customer,
            skill,
            when,
            message,
            chat_id,
        } => (
            t_with(l, "mail.left_message.subject", &[("customer", customer)]),
            vec![
                t_with(
                    l,
                    "mail.left_message.body",
                    &[("customer", customer), ("skill", skill), ("when", when)],
                ),
                message.clone(),
                t_with(l, "mail.left_message.next", &[("chat", chat_id)]),
            ],
            None,
        ),
        MailKind::RenewalOpens {
            period,
            priority_opens_on,
            opens_on,
        } => (
            t_with(l, "mail.renewal.subject", &[("period", period)]),
            vec![t_with(
                l,
                "mail.renewal.body",
                &[
                    ("period", period),
                    ("date", priority_opens_on),
                    ("opens", opens_on),
                ],
            )],
            None,
        ),
        MailKind::StaffInvite { link, merchant } => (
            t_with(l, "mail.staff_invite.subject", &[("merchant", merchant)]),
            vec![t_with(
                l,
                "mail.staff_invite.body",
                &[("merchant", merchant)],
            )],
            Some((t(l, "mail.set_password").into_owned(), link.as_str())),
        ),
        MailKind::ExamResult {
            skill,
            result,
            link,
        } => {
            let (subject, body) = match result {
                ExamMailResult::Passed { percent } => (
                    t_with(l, "mail.exam.passed.subject", &[("skill", skill)]),
                    t_with(
                        l,
                        "mail.exam.passed.body",
                        &[("skill", skill), ("percent", &percent.to_string())],
                    ),
                ),
                ExamMailResult::Failed { percent, retry_at } => (
                    t_with(l, "mail.exam.failed.subject", &[("skill", skill)]),
                    t_with(
                        l,
                        "mail.exam.failed.body",
                        &[
                            ("skill", skill),
                            ("percent", &percent.to_string()),
                            ("retry_at", retry_at),
                        ],
                    ),
                ),
                ExamMailResult::AwaitingReview => (
                    t_with(l, "mail.exam.review.subject", &[("skill", skill)]),
                    t_with(l, "mail.exam.review.body", &[("skill", skill)]),
                ),
            };
            let action = match result {
                ExamMailResult::Passed { .. } => t(l, "mail.exam.passed.action"),
                ExamMailResult::Failed { .. } | ExamMailResult::AwaitingReview => {
                    t(l, "mail.exam.view")
                }
            };
            (
                subject,
                vec![body],
                Some((action.into_owned(), link.as_str())),
            )
        }
        MailKind::ReviewDisputeResolved {
            accepted,
            score,
            answer,
        } => {
            let mut p = vec![if *accepted {
                t_with(
                    l,
                    "mail.review_dispute.accepted",
                    &[("score", score.as_deref().unwrap_or("-"))],
                )
            } else {
                t(l, "mail.review_dispute.rejected").into_owned()
            }];
            if !answer.is_empty() {
                p.push(t_with(
                    l,
                    "mail.review_dispute.answer",
                    &[("answer", answer)],
                ));
            }
            (t(l, "mail.review_dispute.subject").into_owned(), p, None)
        }
        MailKind::TrialBooked { skill, when, link } => (
            t_with(l, "mail.trial.booked.subject", &[("skill", skill)]),
            vec![
                t_with(
                    l,
                    "mail.trial.booked.body",
                    &[("skill", skill), ("when", when)],
                ),
                t(l, "mail.trial.booked.practice").into_owned(),
            ],
            Some((t(l, "mail.trial.view").into_owned(), link.as_str())),
        ),
        MailKind::TrialResult {
            skill,
            passed,
            percent,
            feedback,
            expires,
            link,
        } => {
            let percent = percent.to_string();
            let mut p = vec![if *passed {
                t_with(
                    l,
                    "mail.trial.passed.body",
                    &[
                        ("skill", skill),
                        ("percent", &percent),
                        ("expires", expires.as_deref().unwrap_or("-")),
                    ],
                )
            } else {
                t_with(
                    l,
                    "mail.trial.failed.body",
                    &[("skill", skill), ("percent", &percent)],
                )
            }];
            if !feedback.trim().is_empty() {
                p.push(t_with(l, "mail.trial.feedback", &[("feedback", feedback)]));
            }
            let subject = if *passed {
                t_with(l, "mail.trial.passed.subject", &[("skill", skill)])
            } else {
                t_with(l, "mail.trial.failed.subject", &[("skill", skill)])
            };
            (
                subject,
                p,
                Some((t(l, "mail.trial.view").into_owned(), link.as_str())),
            )
        }
        MailKind::TrialMissed { skill, link } => (
            t_with(l, "mail.trial.missed.subject", &[("skill", skill)]),
            vec![t_with(l, "mail.trial.missed.body", &[("skill", skill)])],
            Some((t(l, "mail.trial.book").into_owned(), link.as_str())),
        ),
        MailKind::PayslipDraft(p) | MailKind::PayslipApproved(p) => {
            let draft = matches!(kind, MailKind::PayslipDraft(_));
            let key = if draft { "draft" } else { "approved" };
            let mut paragraphs = vec![t_with(
                l,
                &format!("mail.payslip.{key}.body"),
                &[("period", &p.period), ("total", &p.total)],
            )];
            paragraphs.extend(p.lines.iter().cloned());
            if let Some(until) = &p.dispute_until {
                paragraphs.push(t_with(l, "mail.payslip.dispute", &[("until", until)]));
            }
            (
                t_with(
                    l,
                    &format!("mail.payslip.{key}.subject"),
                    &[("period", &p.period)],
                ),
                paragraphs,
                Some((t(l, "mail.payslip.action").into_owned(), p.link.as_str())),
            )
        }
        MailKind::PayAdjustment {
            amount,
            reason,
            corrects,
            link,
        } => {
            let mut paragraphs = vec![t_with(
                l,
                "mail.pay_adjustment.body",
                &[("amount", amount), ("reason", reason)],
            )];
            if let Some(period) = corrects {
                paragraphs.push(t_with(
                    l,
                    "mail.pay_adjustment.corrects",
                    &[("period", period)],
                ));
            }
            (
                t_with(l, "mail.pay_adjustment.subject", &[("amount", amount)]),
                paragraphs,
                Some((t(l, "mail.payslip.action").into_owned(), link.as_str())),
            )
        }
        MailKind::CertificationExpiring {
            skill,
            expires,
            days,
            link,
        } => (
            t_with(
                l,
                "mail.certification.expiring.subject",
                &[("skill", skill), ("days", &days.to_string())],
            ),
            vec![t_with(
                l,
                "mail.certification.expiring.body",
                &[("skill", skill), ("expires", expires)],
            )],
            Some((
                t(l, "mail.certification.expiring.action").into_owned(),
                link.as_str(),
            )),
        ),
        MailKind::LevelChanged {
            promoted,
            from,
            to,
            number,
            month,
            quality,
            adherence,
            hours,
            reasons,
            max_chats,
            early_access,
            pay_multiplier,
            link,
        } => {
            let none = t(l, "mail.level.not_measured").into_owned();
            let args = [
                ("from", from.as_str()),
                ("to", to.as_str()),
                ("number", &number.to_string()),
                ("month", month.as_str()),
                ("quality", quality.as_deref().unwrap_or(&none)),
                ("adherence", adherence.as_deref().unwrap_or(&none)),
                ("hours", hours.as_str()),
            ];
            let way = if *promoted { "promoted" } else { "demoted" };
            let mut paragraphs = vec![t_with(l, &format!("mail.level.{way}.body"), &args)];
            for r in reasons {
                let shown = |v: u32| format!("{:.1}", f64::from(v) / 100.0);
                paragraphs.push(t_with(
                    l,
                    &format!("mail.level.shortfall.{}", r.measure),
                    &[("got", &shown(r.got)), ("keep", &shown(r.keep))],
                ));
            }
            let early = t(
                l,
                if *early_access {
                    "mail.level.early_access.yes"
                } else {
                    "mail.level.early_access.no"
                },
            );
            paragraphs.push(t_with(
                l,
                "mail.level.grants",
                &[
                    ("chats", &max_chats.to_string()),
                    ("early", &early),
                    ("pay", pay_multiplier),
                ],
            ));
            (
                t_with(l, &format!("mail.level.{way}.subject"), &args),
                paragraphs,
                Some((t(l, "mail.level.action").into_owned(), link.as_str())),
            )
        }
        MailKind::Shift(m) => {
            let key = m.notice.key();
            let args = [
                ("merchant", m.merchant.as_str()),
                ("skill", m.skill.as_str()),
                ("when", m.when.as_str()),
                ("pay", m.pay.as_str()),
            ];
            let mut p = vec![
                t_with(l, &format!("mail.shift.{key}.body"), &args),
                t_with(l, "mail.shift.facts", &args),
            ];
            if let Some(bonus) = &m.bonus {
                p.push(t_with(l, "mail.shift.bonus", &[("bonus", bonus)]));
            }
            (
                t_with(l, &format!("mail.shift.{key}.subject"), &args),
                p,
                Some((t(l, "mail.shift.action").into_owned(), m.link.as_str())),
            )
        }
        MailKind::ServiceReport(r) => (
            r.subject.clone(),
            r.lines.clone(),
            Some((
                t(l, "merchant_dash.mail.action").into_owned(),
                r.link.as_str(),
            )),
        ),
    };
    let greeting = t_with(l, "mail.greeting", &[("name", name)]);
    let footer = t(l, "mail.footer");
    let action_ref = action.as_ref().map(|(label, url)| (label.as_str(), *url));
    let text = TextBody {
        greeting: &greeting,
        paragraphs: &paragraphs,
        action: action_ref,
        footer: &footer,
    }
    .render()?;
    let html = HtmlBody {
        lang: l.as_str(),
        subject: &subject,
        greeting: &greeting,
        paragraphs: &paragraphs,
        action: action_ref,
        footer: &footer,
    }
    .render()?;
    Ok(OutgoingMail {
        to: to.to_owned(),
        subject,
        text,
        html,
        attachments: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_languages_and_escapes_html() {
        let kind = MailKind::VerifyEmail {
            link: "http://x/verify-email?token=abc&x=1".into(),
        };
        let en = render("a@b.cn", "<Li>", Locale::En, &kind).unwrap();
        assert!(en.subject.contains("Confirm"), "{}", en.subject);
        assert!(en.text.contains("http://x/verify-email?token=abc&x=1"));
        assert!(
            en.text.contains("<Li>"),
            "plain text keeps the name as typed"
        );
        assert!(!en.html.contains("<Li>"), "HTML escapes the name");
        assert!(
            en.html.contains("&#60;Li&#62;") || en.html.contains("&lt;Li&gt;"),
            "{}",
            en.html
        );
        assert!(en.html.contains("lang=\"en\""));
        let zh = render("a@b.cn", "王芳", Locale::ZhCn, &kind).unwrap();
        assert!(zh.subject.contains("邮箱"), "{}", zh.subject);
        assert!(zh.text.contains("王芳"));
    }

    #[test]
    fn builds_a_multipart_message_with_utf8_subject() {
        let mail = render("a@b.cn", "王芳", Locale::ZhCn, &MailKind::PasswordChanged).unwrap();
        let from = "cloudseat <no-reply@cloudseat.localhost>".parse().unwrap();
        let message = super::super::Mailer::build(&from, &mail).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
    }
}
