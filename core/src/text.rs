//! Text that comes from outside (device answers, server replies, help-desk exports, a history
//! written by another program) on its way to people: control characters escaped.
//!
//! A printer that names a tray `"Tray 1\x1b[2J"`, or a summary holding a newline followed by a
//! made-up status line, would otherwise clear an administrator's terminal or forge lines in the
//! console, the log and the `incidents` table. Names given in the config are refused instead
//! when they hold such characters ([`control_char`]).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal or a line-oriented log as it is: the control
/// characters (C0 such as NUL, newline, carriage return and ESC; DEL; C1) and the Unicode
/// format characters that reorder or hide text (bidirectional overrides and isolates, the
/// line and paragraph separators).
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The first character of `s` that [`is_control`], with its byte offset.
pub fn control_char(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| is_control(c))
}

/// How many characters of an input [`excerpt`] keeps.
pub const EXCERPT_CHARS: usize = 200;

/// An input as an error or a report may quote it: whole when it is at most [`EXCERPT_CHARS`]
/// characters, else its first [`EXCERPT_CHARS`] characters followed by `… (N more bytes)`, so a
/// 50 MB line or cell never travels whole into a message. Borrowed when short.
pub fn excerpt(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(EXCERPT_CHARS) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}… ({} more bytes)", &s[..cut], s.len() - cut)),
    }
}

/// `s` on one line, with every character that [`is_control`] written as an escape: `\n`,
/// `\r`, `\t`, `\0`, `\\u{1b}`… Borrowed when there is nothing to escape.
pub fn printable(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Like [`printable`], but line breaks (`\n`) are kept: for multi-line text such as the body
/// of an e-mail.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_control(c) && !(keep_newlines && c == '\n');
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_keep_two_hundred_characters_and_count_the_rest() {
        assert!(matches!(excerpt("short cell"), Cow::Borrowed("short cell")));
        let exact = "é".repeat(EXCERPT_CHARS);
        assert!(matches!(excerpt(&exact), Cow::Borrowed(_)));
        // Cut at a character boundary: 200 characters of two bytes each, 100 more after.
        let long = "é".repeat(EXCERPT_CHARS + 50);
        let e = excerpt(&long);
        assert_eq!(
            e,
            format!("{}… (100 more bytes)", "é".repeat(EXCERPT_CHARS))
        );
        let huge = ",".repeat(3 << 20);
        assert_eq!(
            excerpt(&huge),
            format!("{}… ({} more bytes)", ",".repeat(200), (3 << 20) - 200)
        );
    }

    #[test]
    fn controls_are_escaped_and_the_rest_is_kept() {
        assert!(matches!(printable("Tray 1 empty – café"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\nb\rc\td\0e\x1b[2Jf\x7fg\u{85}h\u{202e}i"),
            "a\\nb\\rc\\td\\0e\\u{1b}[2Jf\\u{7f}g\\u{85}h\\u{202e}i"
        );
        assert_eq!(printable_lines("a\nb\x1b"), "a\nb\\u{1b}");
        assert_eq!(printable_lines("a\r\nb"), "a\\r\nb");
        assert_eq!(control_char("ok"), None);
        assert_eq!(control_char("é\x1b"), Some((2, '\x1b')));
    }
}
