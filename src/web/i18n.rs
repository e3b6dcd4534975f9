//! UI text in English and Simplified Chinese. All strings live in `locales/app.yml`, one
//! key with both translations side by side so neither language falls behind (a test
//! checks every key has both).

use std::borrow::Cow;

use crate::accounts::model::Locale;

/// The text for `key` in `locale` (English if a translation were missing).
pub fn t<'a>(locale: Locale, key: &'a str) -> Cow<'a, str> {
    crate::_rust_i18n_translate(locale.as_str(), key)
}

/// Like [`t`], filling `%{name}` placeholders with the given values (not escaped: the
/// templates escape on output).
pub fn t_with(locale: Locale, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(locale, key).into_owned();
    for (name, value) in args {
        text = text.replace(&format!("%{{{name}}}"), value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        let source = include_str!("locales/app.yml");
        let keys: Vec<&str> = source
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with("_version"))
            .filter_map(|l| l.strip_suffix(':'))
            .collect();
        assert!(keys.len() > 20, "parsed only {} keys", keys.len());
        for key in keys {
            for locale in ["en", "zh-CN"] {
                assert!(
                    crate::_rust_i18n_try_translate(locale, key).is_some(),
                    "{key} has no {locale} text"
                );
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            t_with(Locale::En, "mail.greeting", &[("name", "Li")]),
            "Hello Li,"
        );
        assert_eq!(
            t_with(Locale::ZhCn, "mail.greeting", &[("name", "李")]),
            "李，您好："
        );
    }
}
