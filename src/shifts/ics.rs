//! iCalendar (RFC 5545) for shifts, so agents see their claimed shifts in the calendar app
//! they already use: a subscribable feed (`PUBLISH`) and a single-shift mail attachment
//! (`REQUEST`, or `CANCEL` when the shift is withdrawn, as RFC 5546 asks).
//!
//! Written by hand rather than with a crate: we publish one shape of event, and the format's
//! traps are few and each has a test here: CRLF line ends, TEXT escaping, and folding at 75
//! octets without splitting a UTF-8 character (merchant names are often Chinese, three octets
//! a character). A calendar app that meets a malformed feed tends to drop it silently.

use chrono::NaiveDateTime;

use super::claim::Block;

/// The longest content line in octets, excluding the CRLF (RFC 5545 section 3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// Who an invitation is from and to; iTIP (RFC 5546) requires both on REQUEST and CANCEL,
/// and mail clients ignore invitations without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    /// The platform's sending address, e.g. `shifts@cloudseat.example`.
    pub organizer_email: String,
    /// The agent's address.
    pub attendee_email: String,
    /// The agent's display name.
    pub attendee_name: String,
}

/// How the calendar is meant to be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// A feed the agent subscribes to: the client mirrors it.
    Publish,
    /// A mail attachment adding or updating one shift in the agent's calendar.
    Request(Parties),
    /// A mail attachment removing one shift from the agent's calendar.
    Cancel(Parties),
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Method::Publish => "PUBLISH",
            Method::Request(_) => "REQUEST",
            Method::Cancel(_) => "CANCEL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Confirmed,
    Cancelled,
}

/// One shift as a calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftEvent {
    /// The shift's id; the event's UID is derived from it so updates replace the same event.
    pub shift_id: String,
    pub block: Block,
    pub summary: String,
    pub description: String,
    /// The shift's page on the job board.
    pub url: Option<String>,
    pub status: Status,
    /// Raised on every change (time, status) so clients take the newer version.
    pub sequence: u32,
}

/// A whole calendar, lines ending in CRLF and folded. `stamp` is when it was generated
/// (DTSTAMP); `name` is what the client shows for the subscription.
pub fn calendar(
    name: &str,
    method: &Method,
    events: &[ShiftEvent],
    stamp: NaiveDateTime,
) -> String {
    let mut out = String::new();
    let mut line = |content: String| {
        out.push_str(&fold(&content));
        out.push_str("\r\n");
    };
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//cloudseat//shifts//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line(format!("METHOD:{}", method.name()));
    line(format!("X-WR-CALNAME:{}", escape_text(name)));
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:shift-{}@cloudseat", uri(&e.shift_id)));
        line(format!("DTSTAMP:{}", utc(stamp)));
        line(format!("DTSTART:{}", utc(e.block.start)));
        line(format!("DTEND:{}", utc(e.block.end)));
        line(format!("SEQUENCE:{}", e.sequence));
        line(format!("SUMMARY:{}", escape_text(&e.summary)));
        line(format!("DESCRIPTION:{}", escape_text(&e.description)));
        if let Some(url) = &e.url {
            line(format!("URL:{}", uri(url)));
        }
        let status = match (method, e.status) {
            (Method::Cancel(_), _) | (_, Status::Cancelled) => "CANCELLED",
            (_, Status::Confirmed) => "CONFIRMED",
        };
        line(format!("STATUS:{status}"));
        if let Method::Request(p) | Method::Cancel(p) = method {
            line(format!("ORGANIZER:mailto:{}", uri(&p.organizer_email)));
            line(format!(
                "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:{}",
                param(&p.attendee_name),
                uri(&p.attendee_email)
            ));
        }
        line("TRANSP:OPAQUE".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

fn utc(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value (RFC 5545 section 3.3.11): backslash, semicolon, comma and line breaks
/// escaped; other control characters, which TEXT may not hold, dropped.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI or address value: no escaping exists for these, so control characters (which could
/// start a new property) are dropped.
fn uri(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// A parameter value: quoted, and since a quoted value cannot hold a double quote or a
/// control character, those are dropped.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// One content line folded into physical lines of at most [`MAX_LINE_OCTETS`] octets,
/// joined by CRLF and a space (which counts towards the next line's octets). Folds fall
/// between characters, never inside one.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 24);
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out
}

/// Undoes folding: every CRLF followed by a space or a tab is removed.
pub fn unfold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\r\n") {
        let after = &rest[i + 2..];
        out.push_str(&rest[..i]);
        if after.starts_with([' ', '\t']) {
            rest = &after[1..];
        } else {
            out.push_str("\r\n");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    /// Reverses `escape_text` (for the round-trip property).
    fn unescape_text(value: &str) -> String {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') | Some('N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn event() -> ShiftEvent {
        ShiftEvent {
            shift_id: "01J9".into(),
            block: Block {
                start: at(11, 1),
                end: at(11, 5),
            },
            summary: "Double 11, pre-sale; 花西子旗舰店".into(),
            description: "Brief: check stock first\nthen reply \\ politely".into(),
            url: Some("https://cloudseat.example/shifts/01J9".into()),
            status: Status::Confirmed,
            sequence: 2,
        }
    }

    #[test]
    fn text_is_escaped_backslash_first() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\u{7}h\ti"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ngh\ti"
        );
        assert_eq!(
            escape_text("\\n"),
            "\\\\n",
            "a literal backslash-n stays literal"
        );
    }

    #[test]
    fn folding_counts_octets_and_keeps_characters_whole() {
        let short = "SUMMARY:短";
        assert_eq!(fold(short), short);
        let long = format!("SUMMARY:{}", "花西子旗舰店".repeat(10));
        let folded = fold(&long);
        for physical in folded.split("\r\n") {
            assert!(
                physical.len() <= MAX_LINE_OCTETS,
                "{} octets",
                physical.len()
            );
        }
        // 8 ASCII octets + 22 characters of 3 = 74; the 23rd would make 77.
        let first = folded.split("\r\n").next().unwrap();
        assert_eq!(first.len(), 74);
        assert!(folded.split("\r\n").skip(1).all(|l| l.starts_with(' ')));
        assert_eq!(unfold(&folded), long);
        let exact = "X".repeat(75);
        assert_eq!(fold(&exact), exact, "75 octets fit");
        assert_eq!(fold(&"X".repeat(76)), format!("{exact}\r\n X"));
    }

    #[test]
    fn a_whole_feed() {
        let mut cancelled = event();
        cancelled.shift_id = "01JA".into();
        cancelled.url = None;
        cancelled.status = Status::Cancelled;
        cancelled.sequence = 0;
        cancelled.summary = "Night, after-sale".into();
        cancelled.description = String::new();
        let got = calendar(
            "cloudseat: Wang Fang's shifts",
            &Method::Publish,
            &[event(), cancelled],
            at(1, 8),
        );
        let expected = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//cloudseat//shifts//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:cloudseat: Wang Fang's shifts",
            "BEGIN:VEVENT",
            "UID:shift-01J9@cloudseat",
            "DTSTAMP:20261101T080000Z",
            "DTSTART:20261111T010000Z",
            "DTEND:20261111T050000Z",
            "SEQUENCE:2",
            "SUMMARY:Double 11\\, pre-sale\\; 花西子旗舰店",
            "DESCRIPTION:Brief: check stock first\\nthen reply \\\\ politely",
            "URL:https://cloudseat.example/shifts/01J9",
            "STATUS:CONFIRMED",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:shift-01JA@cloudseat",
            "DTSTAMP:20261101T080000Z",
            "DTSTART:20261111T010000Z",
            "DTEND:20261111T050000Z",
            "SEQUENCE:0",
            "SUMMARY:Night\\, after-sale",
            "DESCRIPTION:",
            "STATUS:CANCELLED",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
        .join("\r\n");
        assert_eq!(got, expected);
    }

    #[test]
    fn a_mail_invitation_names_organizer_and_attendee() {
        let parties = Parties {
            organizer_email: "shifts@cloudseat.example".into(),
            attendee_email: "fang@example.com".into(),
            attendee_name: "Wang \"Fang\"".into(),
        };
        let got = calendar("x", &Method::Request(parties.clone()), &[event()], at(1, 8));
        assert!(got.contains("\r\nMETHOD:REQUEST\r\n"));
        assert!(got.contains("\r\nSTATUS:CONFIRMED\r\n"));
        assert!(got.contains("\r\nORGANIZER:mailto:shifts@cloudseat.example\r\n"));
        assert!(unfold(&got).contains(
            "\r\nATTENDEE;CN=\"Wang Fang\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:fang@example.com\r\n"
        ));
        let got = calendar("x", &Method::Cancel(parties), &[event()], at(1, 8));
        assert!(got.contains("\r\nMETHOD:CANCEL\r\n"));
        assert!(got.contains("\r\nSTATUS:CANCELLED\r\n"));
    }

    #[test]
    fn no_value_can_start_a_new_line() {
        let mut e = event();
        e.shift_id = "x\r\nMETHOD:CANCEL".into();
        e.url = Some("https://a\nb".into());
        let got = calendar("n\r\name", &Method::Publish, &[e], at(1, 8));
        for line in unfold(&got).split("\r\n") {
            assert!(!line.contains('\n') && !line.contains('\r'));
            assert_ne!(line, "METHOD:CANCEL");
        }
    }

    proptest! {
        #[test]
        fn folding_round_trips(s in any::<String>()) {
            let s: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            let folded = fold(&s);
            for physical in folded.split("\r\n") {
                prop_assert!(physical.len() <= MAX_LINE_OCTETS);
            }
            prop_assert_eq!(unfold(&folded), s);
        }

        #[test]
        fn escaped_folded_text_comes_back(s in "\\PC*") {
            let line = format!("SUMMARY:{}", escape_text(&s));
            let folded = fold(&line);
            prop_assert!(folded.split("\r\n").all(|l| l.len() <= MAX_LINE_OCTETS));
            let unfolded = unfold(&folded);
            prop_assert_eq!(unescape_text(&unfolded["SUMMARY:".len()..]), s);
        }
    }
}
