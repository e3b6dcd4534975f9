//! What booking mails say: a summary of the booking with its price breakdown, in the
//! recipient's language and the marketplace's time zone.

use super::booking::{Quote, yuan};
use super::store::BookingRow;
use crate::accounts::model::Locale;

#[derive(Debug, Clone)]
pub struct BookingSummary {
    pub booking_id: String,
    pub skill: String,
    pub dates: String,
    pub hours: String,
    pub seats: i32,
    /// "label: ¥amount" per quote line.
    pub lines: Vec<String>,
    pub total: String,
    pub invoice: Option<String>,
    /// Local time the hold runs out.
    pub hold_expires: Option<String>,
}

impl BookingSummary {
    pub fn new(row: &BookingRow, quote: &Quote, locale: Locale) -> Self {
        let tz: chrono_tz::Tz = row.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        BookingSummary {
            booking_id: row.id.clone(),
            skill: row.skill.clone(),
            dates: format!("{} – {}", row.start_date, row.end_date),
            hours: format!(
                "{:02}:00–{:02}:00 ({})",
                row.daily_start_hour,
                row.daily_end_hour,
                tz.name()
            ),
            seats: row.seats,
            lines: quote
                .lines
                .iter()
                .map(|l| {
                    let label = match locale {
                        Locale::ZhCn => &l.label_zh,
                        Locale::En => &l.label_en,
                    };
                    format!("{label}: ¥{}", yuan(l.amount_fen))
                })
                .collect(),
            total: format!("¥{}", yuan(quote.total_fen)),
            invoice: row.invoice_number.clone(),
            hold_expires: row.hold_expires_at.map(|t| {
                t.and_utc()
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            }),
        }
    }
}
