//! What the reviewing pages list beside the API's views: the chats of a review sample with
//! their shop, close time, rating and first reply; a shop's recent closed chats for its
//! staff to review (filtered by rating or review); the reviews that disputes are about.
//! Store functions: the caller decides the transaction.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{accounts, chat_reviews, chats, merchants};

/// A chat as a row of a review list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    pub id: String,
    pub merchant_name: String,
    pub agent_id: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub rating: Option<i32>,
    /// Accepted to the first reply in whole seconds, as the chat metrics count it.
    pub first_response_secs: Option<i64>,
    /// How many reviews it has, by anyone.
    pub reviews: i64,
}

type LineRow = (
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    Option<i32>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn review_counts(conn: &mut DbConn, ids: &[&str]) -> QueryResult<BTreeMap<String, i64>> {
    let counts: Vec<(String, i64)> = chat_reviews::table
        .filter(chat_reviews::chat_id.eq_any(ids))
        .group_by(chat_reviews::chat_id)
        .select((chat_reviews::chat_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().collect())
}

fn lines(conn: &mut DbConn, rows: Vec<LineRow>) -> QueryResult<Vec<ChatLine>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let counts = review_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| ChatLine {
            reviews: counts.get(&r.0).copied().unwrap_or(0),
            first_response_secs: match (r.5, r.6) {
                (Some(accepted), Some(first)) => Some((first - accepted).num_seconds().max(0)),
                _ => None,
            },
            id: r.0,
            merchant_name: r.1,
            agent_id: r.2,
            closed_at: r.3,
            rating: r.4,
        })
        .collect())
}

fn line_columns() -> (
    chats::id,
    merchants::name,
    chats::agent_id,
    chats::closed_at,
    chats::rating,
    chats::accepted_at,
    chats::first_response_at,
) {
    (
        chats::id,
        merchants::name,
        chats::agent_id,
        chats::closed_at,
        chats::rating,
        chats::accepted_at,
        chats::first_response_at,
    )
}

/// The chats `ids` as list rows, in no particular order (missing ids are left out).
pub fn chat_lines(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<ChatLine>> {
    let rows: Vec<LineRow> = chats::table
        .inner_join(merchants::table.on(merchants::id.eq(chats::merchant_id)))
        .filter(chats::id.eq_any(ids))
        .select(line_columns())
        .load(conn)?;
    lines(conn, rows)
}

/// Which of a shop's closed chats its list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopFilter {
    All,
    /// The customer gave no rating.
    Unrated,
    /// Rated `sample_rating_at_most` stars or fewer (what the review sample always takes).
    LowRated,
    /// Reviewed by anyone.
    Reviewed,
}

impl ShopFilter {
    pub const ALL: [ShopFilter; 4] = [
        ShopFilter::All,
        ShopFilter::Unrated,
        ShopFilter::LowRated,
        ShopFilter::Reviewed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShopFilter::All => "all",
            ShopFilter::Unrated => "unrated",
            ShopFilter::LowRated => "low_rated",
            ShopFilter::Reviewed => "reviewed",
        }
    }

    /// `None` for an unknown name; empty is `All`.
    pub fn parse(raw: &str) -> Option<ShopFilter> {
        match raw.trim() {
            "" => Some(ShopFilter::All),
            s => ShopFilter::ALL.into_iter().find(|f| f.as_str() == s),
        }
    }
}

/// A shop's closed chats served by an agent, most recently closed first: `limit` rows after
/// the chat `after` (a cursor from the previous page; an unknown one starts over).
pub fn shop_chats(
    conn: &mut DbConn,
    merchant: &str,
    filter: ShopFilter,
    low_at_most: i32,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChatLine>> {
    let mut q = chats::table
        .inner_join(merchants::table.on(merchants::id.eq(chats::merchant_id)))
        .filter(chats::merchant_id.eq(merchant))
        .filter(chats::status.eq("closed"))
        .filter(chats::agent_id.is_not_null())
        .filter(chats::closed_at.is_not_null())
        .order((chats::closed_at.desc(), chats::id.desc()))
        .select(line_columns())
        .limit(limit)
        .into_boxed();
    q = match filter {
        ShopFilter::All => q,
        ShopFilter::Unrated => q.filter(chats::rating.is_null()),
        ShopFilter::LowRated => q.filter(chats::rating.le(low_at_most)),
        ShopFilter::Reviewed => {
            q.filter(chats::id.eq_any(chat_reviews::table.select(chat_reviews::chat_id)))
        }
    };
    if let Some(after) = after {
        let closed: Option<Option<NaiveDateTime>> = chats::table
            .filter(chats::id.eq(after))
            .filter(chats::merchant_id.eq(merchant))
            .select(chats::closed_at)
            .first(conn)
            .optional()?;
        if let Some(Some(at)) = closed {
            q = q.filter(
                chats::closed_at
                    .lt(at)
                    .or(chats::closed_at.eq(at).and(chats::id.lt(after.to_owned()))),
            );
        }
    }
    let rows: Vec<LineRow> = q.load(conn)?;
    lines(conn, rows)
}

/// Display names of the accounts `ids`.
pub fn names(conn: &mut DbConn, ids: &[String]) -> QueryResult<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select((accounts::id, accounts::display_name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The chat each review of `ids` is of.
pub fn review_chats(conn: &mut DbConn, ids: &[String]) -> QueryResult<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = chat_reviews::table
        .filter(chat_reviews::id.eq_any(ids))
        .select((chat_reviews::id, chat_reviews::chat_id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_by_name_and_empty_is_all() {
        for f in ShopFilter::ALL {
            assert_eq!(ShopFilter::parse(f.as_str()), Some(f));
        }
        assert_eq!(ShopFilter::parse(""), Some(ShopFilter::All));
        assert_eq!(ShopFilter::parse("best"), None);
    }
}
