//! One-ID: the identities a chat carries (phone, account id, device id, channel handle) link
//! it to one customer of the merchant, so history follows the customer across channels.
//! Pure: [`link`] decides, [`apply`] performs the decision on an in-memory list (the store
//! will perform the same decision in SQL).
//!
//! Linking is connected components: two identities that ever arrive on the same chat belong
//! to the same customer. So the final grouping does not depend on the order chats arrive in,
//! only which customer id survives a merge does (the oldest).

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDateTime;

use crate::accounts::model::MerchantId;
use crate::error::{FieldErrors, Invalid};

/// Longest identity value accepted, in characters.
pub const MAX_VALUE_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    Phone,
    AccountId,
    DeviceId,
    ChannelHandle,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 4] = [
        IdentityKind::Phone,
        IdentityKind::AccountId,
        IdentityKind::DeviceId,
        IdentityKind::ChannelHandle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone",
            IdentityKind::AccountId => "account_id",
            IdentityKind::DeviceId => "device_id",
            IdentityKind::ChannelHandle => "channel_handle",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        IdentityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                Invalid::new(
                    "unknown_identity_kind",
                    format!(
                        "identity kind must be one of phone, account_id, device_id, channel_handle, not {raw:?}"
                    ),
                )
            })
    }
}

/// One identity, normalised, so equal identities compare equal whatever way they were typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    kind: IdentityKind,
    value: String,
}

impl Identity {
    /// Parses a value of a known kind. Phones lose spaces and dashes and keep a leading `+`
    /// (`+86 138-0013-8000` is `+8613800138000`); other kinds lose surrounding whitespace.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Self, Invalid> {
        let value: String = match kind {
            IdentityKind::Phone => raw
                .trim()
                .chars()
                .filter(|c| *c != ' ' && *c != '-')
                .collect(),
            _ => raw.trim().to_owned(),
        };
        if value.is_empty() {
            return Err(Invalid::new("required", "identity value must not be empty"));
        }
        let chars = value.chars().count();
        if chars > MAX_VALUE_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("identity value is {chars} characters, at most {MAX_VALUE_CHARS} allowed"),
            ));
        }
        if kind == IdentityKind::Phone {
            let digits = value.strip_prefix('+').unwrap_or(&value);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(Invalid::new(
                    "invalid_phone",
                    "a phone number is digits, optionally after a leading +, with spaces or dashes",
                ));
            }
        }
        Ok(Identity { kind, value })
    }

    pub fn kind(&self) -> IdentityKind {
        self.kind
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

/// Parses the `(kind, value)` pairs a chat arrived with, reporting every bad one under its
/// field path (`identities[2].kind`, `identities[0].value`).
pub fn parse_identities(raw: &[(String, String)]) -> Result<BTreeSet<Identity>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut identities = BTreeSet::new();
    for (i, (kind, value)) in raw.iter().enumerate() {
        let Some(kind) = errors.check(&format!("identities[{i}].kind"), IdentityKind::parse(kind))
        else {
            continue;
        };
        if let Some(identity) = errors.check(
            &format!("identities[{i}].value"),
            Identity::parse(kind, value),
        ) {
            identities.insert(identity);
        }
    }
    if errors.is_empty() {
        Ok(identities)
    } else {
        Err(errors)
    }
}

/// A customer's key. Plain for now; it becomes a diesel newtype with the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(pub String);

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer of one merchant and every identity linked to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub merchant: MerchantId,
    pub created_at: NaiveDateTime,
    pub identities: BTreeSet<Identity>,
}

/// What a new chat's identities mean for the merchant's customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Nobody known: create a customer.
    New,
    /// Exactly one customer holds some of the identities.
    Existing(CustomerId),
    /// The identities join several customers: the oldest survives and the others (their
    /// identities and chats) merge into it.
    Merge {
        survivor: CustomerId,
        absorbed: Vec<CustomerId>,
    },
}

/// Decides which customer of `merchant` a chat with `identities` belongs to. Customers of
/// other merchants in `existing` are ignored: One-ID never crosses a tenant. A chat with no
/// identities is always a new (anonymous) customer.
pub fn link(merchant: &MerchantId, existing: &[Customer], identities: &BTreeSet<Identity>) -> Link {
    let mut matching: Vec<&Customer> = existing
        .iter()
        .filter(|c| c.merchant == *merchant && !c.identities.is_disjoint(identities))
        .collect();
    matching.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    match matching.as_slice() {
        [] => Link::New,
        [only] => Link::Existing(only.id.clone()),
        [oldest, rest @ ..] => Link::Merge {
            survivor: oldest.id.clone(),
            absorbed: rest.iter().map(|c| c.id.clone()).collect(),
        },
    }
}

/// Performs `link` on `customers`: merges, adds the chat's identities to the customer, or
/// creates `new` with them. Returns the customer the chat belongs to.
pub fn apply(
    customers: &mut Vec<Customer>,
    identities: &BTreeSet<Identity>,
    link: &Link,
    new: Customer,
) -> CustomerId {
    let (survivor, absorbed): (&CustomerId, &[CustomerId]) = match link {
        Link::New => {
            let id = new.id.clone();
            let mut new = new;
            new.identities.extend(identities.iter().cloned());
            customers.push(new);
            return id;
        }
        Link::Existing(id) => (id, &[]),
        Link::Merge { survivor, absorbed } => (survivor, absorbed),
    };
    let mut moved = BTreeSet::new();
    customers.retain_mut(|c| {
        if absorbed.contains(&c.id) {
            moved.append(&mut c.identities);
            false
        } else {
            true
        }
    });
    if let Some(c) = customers.iter_mut().find(|c| c.id == *survivor) {
        c.identities.append(&mut moved);
        c.identities.extend(identities.iter().cloned());
    }
    survivor.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    fn at(minute: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 11)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::minutes(minute)
    }

    fn shop() -> MerchantId {
        MerchantId("shop".to_owned())
    }

    fn ident(kind: IdentityKind, value: &str) -> Identity {
        Identity::parse(kind, value).unwrap()
    }

    fn customer(id: &str, minute: i64, identities: &[Identity]) -> Customer {
        Customer {
            id: CustomerId(id.to_owned()),
            merchant: shop(),
            created_at: at(minute),
            identities: identities.iter().cloned().collect(),
        }
    }

    fn fields(result: Result<BTreeSet<Identity>, FieldErrors>) -> Vec<(String, String)> {
        match AppError::from(result.unwrap_err()) {
            AppError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn phones_are_normalised() {
        let a = ident(IdentityKind::Phone, " +86 138-0013-8000 ");
        assert_eq!(a.value(), "+8613800138000");
        assert_eq!(a, ident(IdentityKind::Phone, "+8613800138000"));
        assert_ne!(a, ident(IdentityKind::Phone, "8613800138000"));
        assert!(Identity::parse(IdentityKind::Phone, "12+3").is_err());
        assert!(Identity::parse(IdentityKind::Phone, "call me").is_err());
        assert!(Identity::parse(IdentityKind::Phone, "+").is_err());
        assert_eq!(ident(IdentityKind::DeviceId, " d-1 ").value(), "d-1");
    }

    #[test]
    fn bad_identities_are_reported_by_field() {
        let raw = vec![
            ("phone".to_owned(), "+86 1".to_owned()),
            ("email".to_owned(), "a@b.c".to_owned()),
            ("device_id".to_owned(), "   ".to_owned()),
            ("account_id".to_owned(), "x".repeat(201)),
            ("channel_handle".to_owned(), "é".repeat(200)),
        ];
        assert_eq!(
            fields(parse_identities(&raw)),
            [
                (
                    "identities[1].kind".to_owned(),
                    "unknown_identity_kind".to_owned()
                ),
                ("identities[2].value".to_owned(), "required".to_owned()),
                ("identities[3].value".to_owned(), "too_long".to_owned()),
            ]
        );
        let ok = parse_identities(&raw[4..]).unwrap();
        assert_eq!(
            ok.len(),
            1,
            "200 characters is allowed, whatever their bytes"
        );
    }

    #[test]
    fn link_decides_new_existing_or_merge_oldest_first() {
        let phone = ident(IdentityKind::Phone, "+1 555");
        let device = ident(IdentityKind::DeviceId, "dev-9");
        let handle = ident(IdentityKind::ChannelHandle, "@ann");
        let customers = vec![
            customer("young", 30, std::slice::from_ref(&device)),
            customer("old", 10, std::slice::from_ref(&phone)),
        ];
        let unknown = [handle.clone()].into();
        assert_eq!(link(&shop(), &customers, &unknown), Link::New);
        assert_eq!(link(&shop(), &customers, &BTreeSet::new()), Link::New);
        let just_phone = [phone.clone(), handle.clone()].into();
        assert_eq!(
            link(&shop(), &customers, &just_phone),
            Link::Existing(CustomerId("old".into()))
        );
        let both: BTreeSet<_> = [phone.clone(), device.clone(), handle.clone()].into();
        let decision = link(&shop(), &customers, &both);
        assert_eq!(
            decision,
            Link::Merge {
                survivor: CustomerId("old".into()),
                absorbed: vec![CustomerId("young".into())],
            }
        );
        let mut after = customers.clone();
        let id = apply(&mut after, &both, &decision, customer("unused", 40, &[]));
        assert_eq!(id, CustomerId("old".into()));
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].identities, both);
    }

    #[test]
    fn other_merchants_customers_are_never_linked() {
        let phone = ident(IdentityKind::Phone, "+1 555");
        let theirs = Customer {
            merchant: MerchantId("other".into()),
            ..customer("theirs", 0, std::slice::from_ref(&phone))
        };
        assert_eq!(link(&shop(), &[theirs], &[phone].into()), Link::New);
    }

    fn arb_chats() -> impl Strategy<Value = Vec<BTreeSet<Identity>>> {
        let identity = (0..4usize, 0..4u8).prop_map(|(k, v)| {
            Identity::parse(IdentityKind::ALL[k], &format!("{}{v}", k + 1)).unwrap()
        });
        prop::collection::vec(prop::collection::btree_set(identity, 0..4), 0..20)
    }

    /// Runs chats in order through link and apply, as the store will.
    fn run(chats: &[BTreeSet<Identity>], start: Vec<Customer>) -> Vec<Customer> {
        let mut customers = start;
        for (i, chat) in chats.iter().enumerate() {
            let decision = link(&shop(), &customers, chat);
            apply(
                &mut customers,
                chat,
                &decision,
                customer(&format!("c{i}"), i as i64, &[]),
            );
        }
        customers
    }

    fn partition(customers: &[Customer]) -> BTreeSet<BTreeSet<Identity>> {
        customers
            .iter()
            .filter(|c| c.merchant == shop() && !c.identities.is_empty())
            .map(|c| c.identities.clone())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn every_identity_ends_up_on_exactly_one_customer(chats in arb_chats()) {
            let theirs = Customer {
                merchant: MerchantId("other".into()),
                ..customer("theirs", -1, &chats.iter().flatten().cloned().collect::<Vec<_>>())
            };
            let customers = run(&chats, vec![theirs.clone()]);
            prop_assert!(customers.contains(&theirs), "another merchant's customer changed");
            for identity in chats.iter().flatten() {
                let holders = customers
                    .iter()
                    .filter(|c| c.merchant == shop() && c.identities.contains(identity))
                    .count();
                prop_assert_eq!(holders, 1, "{} held by {} customers", identity, holders);
            }
            // Identities that came together stay together.
            for chat in &chats {
                let owners: BTreeSet<_> = customers
                    .iter()
                    .filter(|c| c.merchant == shop() && !c.identities.is_disjoint(chat))
                    .map(|c| c.id.clone())
                    .collect();
                prop_assert!(owners.len() <= 1);
            }
        }

        #[test]
        fn linking_again_changes_nothing(chats in arb_chats()) {
            let customers = run(&chats, Vec::new());
            for chat in chats.iter().filter(|c| !c.is_empty()) {
                let decision = link(&shop(), &customers, chat);
                prop_assert!(matches!(decision, Link::Existing(_)), "{:?}", decision);
                let mut again = customers.clone();
                apply(&mut again, chat, &decision, customer("unused", 999, &[]));
                prop_assert_eq!(&again, &customers);
            }
        }

        #[test]
        fn arrival_order_does_not_change_the_partition(
            (chats, shuffled) in arb_chats().prop_flat_map(|c| (Just(c.clone()), Just(c).prop_shuffle()))
        ) {
            prop_assert_eq!(partition(&run(&chats, Vec::new())), partition(&run(&shuffled, Vec::new())));
        }
    }
}
