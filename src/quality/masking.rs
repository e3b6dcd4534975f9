//! Masking customer details out of a chat transcript before it becomes a model chat that
//! every agent may read (pure): the customer's names, email addresses, phone numbers and
//! order-like numbers (any run of six or more digits, with or without letters around it).

use std::sync::LazyLock;

use regex::Regex;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").unwrap_or_else(|_| unreachable!())
});
/// A phone number: an optional `+` and country code, then digits with spaces or dashes,
/// at least 7 digits in all.
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\d[\d\s-]{5,}\d").unwrap_or_else(|_| unreachable!()));
/// Order, tracking and account numbers: letters with a run of six or more digits, or (after
/// phone numbers are masked) a bare run of six or more digits.
static ORDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z][A-Za-z0-9-]*\d{6,}[A-Za-z0-9-]*|\d{6,}[A-Za-z][A-Za-z0-9-]*")
        .unwrap_or_else(|_| unreachable!())
});
static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{6,}").unwrap_or_else(|_| unreachable!()));

pub const NAME: &str = "[customer]";
pub const EMAIL_MASK: &str = "[email]";
pub const PHONE_MASK: &str = "[phone]";
pub const ORDER_MASK: &str = "[order no.]";

/// `text` with the customer's `names` (exact, case-insensitive for Latin letters) and any
/// email, phone or order-like number replaced by a placeholder.
pub fn mask(text: &str, names: &[&str]) -> String {
    let mut out = EMAIL.replace_all(text, EMAIL_MASK).into_owned();
    out = ORDER.replace_all(&out, ORDER_MASK).into_owned();
    out = PHONE
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let digits = c[0].chars().filter(char::is_ascii_digit).count();
            if digits >= 7 {
                PHONE_MASK.to_owned()
            } else {
                c[0].to_owned()
            }
        })
        .into_owned();
    out = DIGITS.replace_all(&out, ORDER_MASK).into_owned();
    for name in names
        .iter()
        .map(|n| n.trim())
        .filter(|n| n.chars().count() >= 2)
    {
        let pattern = format!("(?i){}", regex::escape(name));
        if let Ok(re) = Regex::new(&pattern) {
            out = re.replace_all(&out, NAME).into_owned();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_emails_phones_and_order_numbers_are_masked() {
        let text = "Hi, I'm Li Wei (li.wei@example.cn), call +86 138-0013-8000 about order E20261111123456, li wei";
        assert_eq!(
            mask(text, &["Li Wei"]),
            "Hi, I'm [customer] ([email]), call [phone] about order [order no.], [customer]"
        );
        assert_eq!(
            mask("我是王芳，手机13800138000", &["王芳"]),
            "我是[customer]，手机[phone]"
        );
        assert_eq!(mask("单号 123456", &[]), "单号 [order no.]");
    }

    #[test]
    fn ordinary_numbers_and_text_stay() {
        let text = "Size 42, 3 pairs, ¥199.00, delivered in 2 days";
        assert_eq!(mask(text, &[]), text);
        // A one-letter name would mask every such letter: it is left alone.
        assert_eq!(mask("a b c", &["a"]), "a b c");
    }
}
