//! Briefings, their revisions and quick replies in the database. Every function takes the
//! caller's connection so a use case decides its transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    AgentBriefing, BriefingView, QuickReplyDraft, QuickReplyView, ReadBounds, RevisionView,
    Section, Sections,
};
use crate::accounts::model::{AccountId, MerchantId};
use crate::db::DbConn;
use crate::db::schema::{
    accounts, briefing_revisions, briefings, merchants, quick_replies, shift_assignments,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = briefings)]
pub struct BriefingRow {
    pub merchant_id: String,
    pub products: String,
    pub shipping: String,
    pub returns: String,
    pub other: String,
    pub version: i32,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

impl BriefingRow {
    pub fn sections(&self) -> Sections {
        Sections {
            products: self.products.clone(),
            shipping: self.shipping.clone(),
            returns: self.returns.clone(),
            other: self.other.clone(),
        }
    }
}

/// The shop's name, if the shop exists.
pub fn merchant_name(conn: &mut DbConn, merchant: &MerchantId) -> QueryResult<Option<String>> {
    merchants::table
        .find(merchant.as_str())
        .select(merchants::name)
        .first(conn)
        .optional()
}

/// The current briefing and the name of whoever saved it last.
pub fn find(
    conn: &mut DbConn,
    merchant: &MerchantId,
) -> QueryResult<Option<(BriefingRow, String)>> {
    briefings::table
        .inner_join(accounts::table.on(accounts::id.eq(briefings::updated_by)))
        .filter(briefings::merchant_id.eq(merchant.as_str()))
        .select((BriefingRow::as_select(), accounts::display_name))
        .first(conn)
        .optional()
}

/// The briefing as staff see it; an empty version 0 before the first save.
pub fn view(conn: &mut DbConn, merchant: &MerchantId) -> QueryResult<BriefingView> {
    Ok(match find(conn, merchant)? {
        Some((row, name)) => BriefingView {
            merchant_id: merchant.clone(),
            version: row.version,
            updated_by: Some(AccountId(row.updated_by)),
            updated_by_name: Some(name),
            updated_at: Some(row.updated_at.and_utc()),
            products: row.products,
            shipping: row.shipping,
            returns: row.returns,
            other: row.other,
        },
        None => BriefingView {
            merchant_id: merchant.clone(),
            version: 0,
            products: String::new(),
            shipping: String::new(),
            returns: String::new(),
            other: String::new(),
            updated_by: None,
            updated_by_name: None,
            updated_at: None,
        },
    })
}

/// Writes `sections` as version `expected + 1` if the stored version is still `expected`
/// (no row counts as version 0). Returns whether it was written: `false` means another save
/// came first. A first save racing another fails on the primary key instead, which the
/// caller treats the same way.
pub fn save_if_current(
    conn: &mut DbConn,
    merchant: &MerchantId,
    expected: i32,
    sections: &Sections,
    by: &AccountId,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let written = if expected == 0 {
        diesel::insert_into(briefings::table)
            .values((
                briefings::merchant_id.eq(merchant.as_str()),
                briefings::products.eq(&sections.products),
                briefings::shipping.eq(&sections.shipping),
                briefings::returns.eq(&sections.returns),
                briefings::other.eq(&sections.other),
                briefings::version.eq(1),
                briefings::updated_by.eq(by.as_str()),
                briefings::updated_at.eq(at),
            ))
            .execute(conn)?
    } else {
        diesel::update(
            briefings::table
                .filter(briefings::merchant_id.eq(merchant.as_str()))
                .filter(briefings::version.eq(expected)),
        )
        .set((
            briefings::products.eq(&sections.products),
            briefings::shipping.eq(&sections.shipping),
            briefings::returns.eq(&sections.returns),
            briefings::other.eq(&sections.other),
            briefings::version.eq(expected + 1),
            briefings::updated_by.eq(by.as_str()),
            briefings::updated_at.eq(at),
        ))
        .execute(conn)?
    };
    Ok(written == 1)
}

pub struct NewRevision<'a> {
    pub merchant: &'a MerchantId,
    pub version: i32,
    pub sections: &'a Sections,
    pub changed: &'a [Section],
    pub by: &'a AccountId,
    pub at: NaiveDateTime,
}

pub fn insert_revision(conn: &mut DbConn, r: NewRevision<'_>) -> QueryResult<String> {
    let id = crate::db::new_id();
    let changed: Vec<&str> = r.changed.iter().map(|s| s.as_str()).collect();
    diesel::insert_into(briefing_revisions::table)
        .values((
            briefing_revisions::id.eq(&id),
            briefing_revisions::merchant_id.eq(r.merchant.as_str()),
            briefing_revisions::version.eq(r.version),
            briefing_revisions::products.eq(&r.sections.products),
            briefing_revisions::shipping.eq(&r.sections.shipping),
            briefing_revisions::returns.eq(&r.sections.returns),
            briefing_revisions::other.eq(&r.sections.other),
            briefing_revisions::changed.eq(serde_json::json!(changed).to_string()),
            briefing_revisions::created_by.eq(r.by.as_str()),
            briefing_revisions::created_at.eq(r.at),
        ))
        .execute(conn)?;
    Ok(id)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = briefing_revisions)]
struct RevisionRow {
    id: String,
    version: i32,
    products: String,
    shipping: String,
    returns: String,
    other: String,
    changed: String,
    created_by: String,
    created_at: NaiveDateTime,
}

impl RevisionRow {
    fn into_view(self, name: String) -> RevisionView {
        let changed: Vec<Section> = serde_json::from_str::<Vec<String>>(&self.changed)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| Section::parse(s))
            .collect();
        let text = |section: Section, text: String| changed.contains(&section).then_some(text);
        RevisionView {
            products: text(Section::Products, self.products),
            shipping: text(Section::Shipping, self.shipping),
            returns: text(Section::Returns, self.returns),
            other: text(Section::Other, self.other),
            id: self.id,
            version: self.version,
            changed,
            created_by: AccountId(self.created_by),
            created_by_name: name,
            created_at: self.created_at.and_utc(),
        }
    }
}

/// Revisions newest first, after the revision `before` (keyset by id, which is time-ordered).
pub fn revisions(
    conn: &mut DbConn,
    merchant: &MerchantId,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<RevisionView>> {
    let mut query = briefing_revisions::table
        .inner_join(accounts::table.on(accounts::id.eq(briefing_revisions::created_by)))
        .filter(briefing_revisions::merchant_id.eq(merchant.as_str()))
        .select((RevisionRow::as_select(), accounts::display_name))
        .order(briefing_revisions::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(briefing_revisions::id.lt(before.to_owned()));
    }
    Ok(query
        .load::<(RevisionRow, String)>(conn)?
        .into_iter()
        .map(|(row, name)| row.into_view(name))
        .collect())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quick_replies)]
struct QuickReplyRow {
    id: String,
    title: String,
    body: String,
    shortcut: Option<String>,
    skill: Option<String>,
    position: i32,
    updated_at: NaiveDateTime,
}

impl From<QuickReplyRow> for QuickReplyView {
    fn from(r: QuickReplyRow) -> Self {
        QuickReplyView {
            id: r.id,
            title: r.title,
            body: r.body,
            shortcut: r.shortcut,
            skill: r.skill,
            position: r.position,
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// Which quick replies a list shows.
#[derive(Debug, Clone, Copy)]
pub enum SkillFilter<'a> {
    /// Every reply.
    All,
    /// Replies for every skill and those for this one.
    For(&'a str),
}

/// A shop's quick replies by position (then id), after `after` (position and id of the
/// last reply of the previous page).
pub fn quick_replies(
    conn: &mut DbConn,
    merchant: &MerchantId,
    skill: SkillFilter<'_>,
    after: Option<(i32, String)>,
    limit: i64,
) -> QueryResult<Vec<QuickReplyView>> {
    let mut query = quick_replies::table
        .filter(quick_replies::merchant_id.eq(merchant.as_str()))
        .select(QuickReplyRow::as_select())
        .order((quick_replies::position.asc(), quick_replies::id.asc()))
        .limit(limit)
        .into_boxed();
    if let SkillFilter::For(skill) = skill {
        query = query.filter(
            quick_replies::skill
                .is_null()
                .or(quick_replies::skill.eq(skill.to_owned())),
        );
    }
    if let Some((position, id)) = after {
        query = query.filter(
            quick_replies::position
                .gt(position)
                .or(quick_replies::position
                    .eq(position)
                    .and(quick_replies::id.gt(id))),
        );
    }
    Ok(query
        .load::<QuickReplyRow>(conn)?
        .into_iter()
        .map(QuickReplyView::from)
        .collect())
}

/// One of the shop's quick replies (another shop's is `None`, like a missing one).
pub fn quick_reply(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
) -> QueryResult<Option<QuickReplyView>> {
    quick_replies::table
        .filter(quick_replies::merchant_id.eq(merchant.as_str()))
        .filter(quick_replies::id.eq(id))
        .select(QuickReplyRow::as_select())
        .first::<QuickReplyRow>(conn)
        .optional()
        .map(|r| r.map(QuickReplyView::from))
}

/// The shop's quick reply ids in order.
pub fn quick_reply_ids(conn: &mut DbConn, merchant: &MerchantId) -> QueryResult<Vec<String>> {
    quick_replies::table
        .filter(quick_replies::merchant_id.eq(merchant.as_str()))
        .order((quick_replies::position.asc(), quick_replies::id.asc()))
        .select(quick_replies::id)
        .load(conn)
}

/// (how many replies the shop has, the position after the last).
pub fn quick_reply_count_and_next(
    conn: &mut DbConn,
    merchant: &MerchantId,
) -> QueryResult<(i64, i32)> {
    let (count, max): (i64, Option<i32>) = quick_replies::table
        .filter(quick_replies::merchant_id.eq(merchant.as_str()))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::max(quick_replies::position),
        ))
        .first(conn)?;
    Ok((count, max.map_or(0, |m| m + 1)))
}

pub fn insert_quick_reply(
    conn: &mut DbConn,
    merchant: &MerchantId,
    draft: &QuickReplyDraft,
    position: i32,
    by: &AccountId,
    at: NaiveDateTime,
) -> QueryResult<String> {
    let id = crate::db::new_id();
    diesel::insert_into(quick_replies::table)
        .values((
            quick_replies::id.eq(&id),
            quick_replies::merchant_id.eq(merchant.as_str()),
            quick_replies::title.eq(&draft.title),
            quick_replies::body.eq(&draft.body),
            quick_replies::shortcut.eq(draft.shortcut.as_deref()),
            quick_replies::skill.eq(draft.skill.as_deref()),
            quick_replies::position.eq(position),
            quick_replies::created_by.eq(by.as_str()),
            quick_replies::created_at.eq(at),
            quick_replies::updated_by.eq(by.as_str()),
            quick_replies::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Returns whether the shop had that reply.
pub fn update_quick_reply(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
    draft: &QuickReplyDraft,
    by: &AccountId,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        quick_replies::table
            .filter(quick_replies::merchant_id.eq(merchant.as_str()))
            .filter(quick_replies::id.eq(id)),
    )
    .set((
        quick_replies::title.eq(&draft.title),
        quick_replies::body.eq(&draft.body),
        quick_replies::shortcut.eq(draft.shortcut.as_deref()),
        quick_replies::skill.eq(draft.skill.as_deref()),
        quick_replies::updated_by.eq(by.as_str()),
        quick_replies::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Returns whether the shop had that reply.
pub fn delete_quick_reply(conn: &mut DbConn, merchant: &MerchantId, id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        quick_replies::table
            .filter(quick_replies::merchant_id.eq(merchant.as_str()))
            .filter(quick_replies::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Numbers the shop's replies 0, 1, ... in the order of `ids`.
pub fn set_order(
    conn: &mut DbConn,
    merchant: &MerchantId,
    ids: &[String],
    by: &AccountId,
    at: NaiveDateTime,
) -> QueryResult<()> {
    for (position, id) in ids.iter().enumerate() {
        diesel::update(
            quick_replies::table
                .filter(quick_replies::merchant_id.eq(merchant.as_str()))
                .filter(quick_replies::id.eq(id))
                .filter(quick_replies::position.ne(position as i32)),
        )
        .set((
            quick_replies::position.eq(position as i32),
            quick_replies::updated_by.eq(by.as_str()),
            quick_replies::updated_at.eq(at),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// Whether `agent` may read `merchant`'s briefing and quick replies at `now`: they hold a
/// shift of the shop that has not ended and runs from a day before its start until its end
/// ([`super::model::grants_read`]). The chat workspace calls this before showing the
/// briefing; the chat core will widen it to agents with a chat of the shop.
pub fn agent_may_read(
    conn: &mut DbConn,
    agent: &AccountId,
    merchant: &MerchantId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let bounds = ReadBounds::at(now);
    diesel::select(diesel::dsl::exists(
        shift_assignments::table
            .filter(shift_assignments::merchant_id.eq(merchant.as_str()))
            .filter(shift_assignments::agent_id.eq(agent.as_str()))
            .filter(shift_assignments::ended_at.is_null())
            .filter(shift_assignments::starts_at.le(bounds.starts_by))
            .filter(shift_assignments::ends_at.gt(bounds.ends_after)),
    ))
    .get_result(conn)
}

/// The briefing and quick replies (for `skill`, or all) an agent reads while working the
/// shop's seats; `None` when [`agent_may_read`] says no, exactly as for a shop that does not
/// exist. `skill` is not checked against the rules here (an unknown one matches only the
/// replies for every skill).
pub fn load_for_agent(
    conn: &mut DbConn,
    agent: &AccountId,
    merchant: &MerchantId,
    skill: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<Option<AgentBriefing>> {
    if !agent_may_read(conn, agent, merchant, now)? {
        return Ok(None);
    }
    let Some(merchant_name) = merchant_name(conn, merchant)? else {
        return Ok(None);
    };
    let filter = skill.map_or(SkillFilter::All, SkillFilter::For);
    let replies = quick_replies(
        conn,
        merchant,
        filter,
        None,
        super::model::MAX_QUICK_REPLIES,
    )?;
    let briefing = view(conn, merchant)?;
    Ok(Some(AgentBriefing {
        merchant_id: merchant.clone(),
        merchant_name,
        version: briefing.version,
        products: briefing.products,
        shipping: briefing.shipping,
        returns: briefing.returns,
        other: briefing.other,
        updated_at: briefing.updated_at,
        quick_replies: replies,
    }))
}
