//! Account queries. Each function takes `&mut DbConn`; the use case owns the transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{AccountId, MerchantId};
use crate::db::DbConn;
use crate::db::schema::{accounts, agents, email_tokens, merchants, refresh_tokens};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub merchant_id: Option<MerchantId>,
    pub display_name: String,
    pub locale: String,
    pub time_zone: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub password_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: &'a AccountId,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub merchant_id: Option<&'a MerchantId>,
    pub display_name: &'a str,
    pub locale: &'a str,
    pub time_zone: &'a str,
    pub email_verified_at: Option<NaiveDateTime>,
    pub password_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = merchants)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub account_id: AccountId,
    pub family_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub id: &'a str,
    pub account_id: &'a AccountId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_merchant(
    conn: &mut DbConn,
    id: &MerchantId,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(merchants::table)
        .values((
            merchants::id.eq(id),
            merchants::name.eq(name),
            merchants::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_merchant(conn: &mut DbConn, id: &MerchantId) -> QueryResult<Option<Merchant>> {
    merchants::table
        .find(id)
        .select(Merchant::as_select())
        .first(conn)
        .optional()
}

pub fn insert_account(conn: &mut DbConn, account: &NewAccount<'_>) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values(account)
        .execute(conn)?;
    Ok(())
}

pub fn email_exists(conn: &mut DbConn, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        accounts::table.filter(accounts::email.eq(email)),
    ))
    .get_result(conn)
}

pub fn insert_agent(
    conn: &mut DbConn,
    account_id: &AccountId,
    status: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(agents::table)
        .values((
            agents::account_id.eq(account_id),
            agents::status.eq(status),
            agents::status_changed_at.eq(now),
            agents::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An agent's status and accessibility preferences (a JSON list).
pub fn agent_status(
    conn: &mut DbConn,
    account_id: &AccountId,
) -> QueryResult<Option<(String, String)>> {
    agents::table
        .find(account_id)
        .select((agents::status, agents::accessibility))
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::email.eq(email))
        .select(Account::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: &AccountId) -> QueryResult<Option<Account>> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .optional()
}

/// Staff of one merchant, oldest first, keyset-paginated by id.
pub fn list_staff(
    conn: &mut DbConn,
    merchant: &MerchantId,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Account>> {
    let mut query = accounts::table
        .filter(accounts::merchant_id.eq(merchant))
        .select(Account::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(accounts::id.gt(after.to_owned()));
    }
    query.order(accounts::id.asc()).limit(limit).load(conn)
}

pub fn set_password(
    conn: &mut DbConn,
    id: &AccountId,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(hash),
            accounts::password_changed_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_email_verified(
    conn: &mut DbConn,
    id: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        accounts::table
            .find(id)
            .filter(accounts::email_verified_at.is_null()),
    )
    .set((
        accounts::email_verified_at.eq(now),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn insert_refresh_token(conn: &mut DbConn, token: &NewRefreshToken<'_>) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh_token(conn: &mut DbConn, hash: &str) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()
}

/// Spends a refresh token. Conditional, so of two concurrent refreshes with the same token
/// exactly one wins; returns whether this call did.
pub fn spend_refresh_token(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether the sign-in session `family` is still signed in: it holds a refresh token that
/// is neither revoked nor expired.
pub fn family_active(conn: &mut DbConn, family_id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now)),
    ))
    .get_result(conn)
}

pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn revoke_all_refresh_tokens(
    conn: &mut DbConn,
    account: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn insert_email_token(
    conn: &mut DbConn,
    account: &AccountId,
    purpose: &str,
    token_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(crate::db::new_id()),
            email_tokens::account_id.eq(account),
            email_tokens::purpose.eq(purpose),
            email_tokens::token_hash.eq(token_hash),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Uses a mailed one-time token: succeeds once, before it expires, for its purpose only.
pub fn consume_email_token(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AccountId>> {
    let n = diesel::update(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(token_hash))
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    if n != 1 {
        return Ok(None);
    }
    email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash))
        .select(email_tokens::account_id)
        .first(conn)
        .map(Some)
}

/// Checks a token without using it (the page that shows the "confirm" button).
pub fn email_token_is_usable(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(token_hash))
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    ))
    .get_result(conn)
}
