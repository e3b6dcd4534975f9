//! UI text in English and Simplified Chinese. All strings live in `locales/*.yml` (one file per
//! area), one key with both translations side by side so neither language falls behind (a test
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

    /// Every file in `locales/` (one per area of the product), every key, both languages.
    #[test]
    fn every_key_has_both_languages() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/locales");
        let mut total = 0;
        for entry in std::fs::read_dir(dir).expect("locales directory") {
            let path = entry.expect("locale file").path();
            let source = std::fs::read_to_string(&path).expect("readable locale file");
            assert!(
                source.starts_with("_version: 2"),
                "{} must start with `_version: 2`",
                path.display()
            );
            let keys: Vec<&str> = source
                .lines()
                .filter(|l| {
                    !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with("_version")
                })
                .filter_map(|l| l.strip_suffix(':'))
                .collect();
            total += keys.len();
            for key in keys {
                for locale in ["en", "zh-CN"] {
                    assert!(
                        crate::_rust_i18n_try_translate(locale, key).is_some(),
                        "{key} in {} has no {locale} text",
                        path.display()
                    );
                }
            }
        }
        assert!(total > 20, "parsed only {total} keys");
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
