//! Pure account types. They can only be built valid ("parse, don't validate"), so the rest
//! of the code trusts them.

use std::fmt;

use diesel_derive_newtype::DieselNewType;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Invalid;

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, DieselNewType, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(pub String);

        impl $name {
            pub fn new() -> Self {
                $name(crate::db::new_id())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// An account of any role.
    AccountId
);
id_newtype!(
    /// A merchant (a shop); its staff accounts point at it.
    MerchantId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    MerchantStaff,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MerchantStaff => "merchant_staff",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "merchant_staff" => Some(Role::MerchantStaff),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The agent lifecycle from DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Applicant,
    ExamPassed,
    InTrial,
    Certified,
    Suspended,
    Left,
}

impl AgentStatus {
    pub const ALL: [AgentStatus; 6] = [
        AgentStatus::Applicant,
        AgentStatus::ExamPassed,
        AgentStatus::InTrial,
        AgentStatus::Certified,
        AgentStatus::Suspended,
        AgentStatus::Left,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Applicant => "applicant",
            AgentStatus::ExamPassed => "exam_passed",
            AgentStatus::InTrial => "in_trial",
            AgentStatus::Certified => "certified",
            AgentStatus::Suspended => "suspended",
            AgentStatus::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<AgentStatus> {
        AgentStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A normalised (trimmed, lower-cased) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("required", "an email address is required"));
        }
        if trimmed.chars().count() > 254 {
            return Err(Invalid::new(
                "too_long",
                "an email address has at most 254 characters",
            ));
        }
        let normalised = trimmed.to_lowercase();
        let parsed = email_address::EmailAddress::parse_with_options(
            &normalised,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .map_err(|_| Invalid::new("invalid_email", "this is not a valid email address"))?;
        if !parsed.domain().contains('.') && !parsed.domain().ends_with("localhost") {
            return Err(Invalid::new(
                "invalid_email",
                "the email address needs a full domain name",
            ));
        }
        Ok(Email(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_name(raw: &str, max: usize, what: &str) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new("required", format!("{what} is required")));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid::new(
            "too_long",
            format!("{what} has at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(Invalid::new(
            "invalid_characters",
            format!("{what} may not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The name shown for a person (agents' display names are what customers see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<DisplayName, Invalid> {
        parse_name(raw, Self::MAX_CHARS, "a display name").map(DisplayName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A shop's name as merchants and agents see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantName(String);

impl MerchantName {
    pub const MAX_CHARS: usize = 120;

    pub fn parse(raw: &str) -> Result<MerchantName, Invalid> {
        parse_name(raw, Self::MAX_CHARS, "a shop name").map(MerchantName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that passed the policy: long enough, not absurdly long, and not guessable
/// (zxcvbn, whose dictionaries include the most common passwords, plus the user's own
/// email and name).
pub struct NewPassword(SecretString);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(raw: &str, user_inputs: &[&str]) -> Result<NewPassword, Invalid> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Invalid::new(
                "too_short",
                format!("a password needs at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("a password has at most {} characters", Self::MAX_CHARS),
            ));
        }
        let entropy = zxcvbn::zxcvbn(raw, user_inputs);
        if entropy.score() < zxcvbn::Score::Three {
            return Err(Invalid::new(
                "too_common",
                "this password is too common or easy to guess; try a longer phrase",
            ));
        }
        Ok(NewPassword(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// The UI languages we ship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
pub enum Locale {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// Accepts exact tags and their common spellings (`zh`, `zh-Hans`, `en-GB` ...).
    pub fn parse(s: &str) -> Option<Locale> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "en" || lower.starts_with("en-") {
            Some(Locale::En)
        } else if lower == "zh" || lower.starts_with("zh-") {
            Some(Locale::ZhCn)
        } else {
            None
        }
    }

    /// Picks the best supported language from an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut choices: Vec<(f32, usize, Locale)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                    .unwrap_or(1.0_f32);
                Locale::parse(tag).filter(|_| q > 0.0).map(|l| (q, i, l))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        choices.first().map(|c| c.2)
    }
}

/// An IANA time zone; times are stored in UTC and shown in this zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(s: &str) -> Result<TimeZone, Invalid> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                Invalid::new(
                    "invalid_time_zone",
                    "use an IANA time zone name such as Asia/Shanghai",
                )
            })
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(chrono_tz::Asia::Shanghai)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Li.Wei@Example.COM ").unwrap().as_str(),
            "li.wei@example.com"
        );
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a@@b.com",
            "<x>@y.com",
            "a b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  王芳 ").unwrap().as_str(), "王芳");
        assert_eq!(DisplayName::parse("   ").unwrap_err().code, "required");
        assert_eq!(
            DisplayName::parse(&"x".repeat(10_000)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            MerchantName::parse("a\u{0}b").unwrap_err().code,
            "invalid_characters"
        );
        // Markup and SQL metacharacters are ordinary text: stored as typed, escaped on output.
        assert!(MerchantName::parse("<b>Tom's</b> '; DROP TABLE x;--").is_ok());
    }

    #[test]
    fn password_policy() {
        assert_eq!(
            NewPassword::parse("short", &[]).unwrap_err().code,
            "too_short"
        );
        for common in ["password123", "qwertyuiop", "1234567890", "iloveyou123"] {
            assert_eq!(
                NewPassword::parse(common, &[]).unwrap_err().code,
                "too_common",
                "{common}"
            );
        }
        assert_eq!(
            NewPassword::parse("li.wei@example.com", &["li.wei@example.com"])
                .unwrap_err()
                .code,
            "too_common"
        );
        assert!(NewPassword::parse("violet-harbour-lantern-42", &[]).is_ok());
        assert!(
            !format!(
                "{:?}",
                NewPassword::parse("violet-harbour-lantern-42", &[]).unwrap()
            )
            .contains("violet")
        );
    }

    #[test]
    fn accept_language_picks_best_supported() {
        assert_eq!(
            Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::from_accept_language("fr;q=1, en;q=0.5, zh;q=0.4"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("en;q=0.2, zh-Hans;q=0.7"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language(""), None);
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            TimeZone::parse("Asia/Shanghai").unwrap().name(),
            "Asia/Shanghai"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }

    proptest! {
        #[test]
        fn parsed_emails_are_stable(local in "[a-z0-9._-]{1,20}", domain in "[a-z]{1,10}\\.[a-z]{2,5}") {
            let raw = format!("{local}@{domain}");
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
                prop_assert_eq!(email.as_str(), raw.to_lowercase());
            }
        }

        #[test]
        fn status_round_trips(i in 0usize..6) {
            let s = AgentStatus::ALL[i];
            prop_assert_eq!(AgentStatus::parse(s.as_str()), Some(s));
        }
    }
}
