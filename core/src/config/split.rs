//! A large config read a part at a time: a TOML parser holds the whole document's tokens and
//! tree at once (about 3 KB per `[[checks]]` table, against the few hundred bytes the check
//! takes once built), so a file of 100,000 checks is cut at its top-level table headers and
//! its `[[checks]]` tables are parsed a few hundred at a time, the rest of the file on its own.
//!
//! The rest is the file with the checks' lines blanked (spaces, newlines kept), so every offset,
//! line and column in it is the file's own; each part's spans are moved by the part's offset.
//! What this scanner cannot cut safely, it leaves to the whole parse.

use std::ops::Range;

/// How the file is cut: the ranges of its `[[checks]]` tables (each with its `[checks.…]`
/// sub-tables), a few at a time, and the rest with those ranges blanked.
pub(super) struct Parts {
    /// Byte ranges of consecutive `[[checks]]` tables, at most `per_part` in each.
    pub checks: Vec<Range<usize>>,
    /// How many `[[checks]]` tables there are.
    pub count: usize,
    /// The file with the ranges in `checks` blanked.
    pub rest: String,
}

/// What a top-level header line opens.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Header {
    /// `[[checks]]`: a new check.
    Check,
    /// `[checks.x]` or `[[checks.x]]`: a part of the check above.
    CheckPart,
    /// Any other table.
    Other,
}

/// Cuts `text` (see [`Parts`]); `None` when it holds no `[[checks]]` table or the scanner
/// meets what it does not follow (an unclosed string or bracket, a header it cannot read).
pub(super) fn split(text: &str, per_part: usize) -> Option<Parts> {
    let sections = sections(text)?;
    let mut checks: Vec<Range<usize>> = Vec::new();
    let mut count = 0;
    let mut in_part = 0;
    let mut previous = Header::Other;
    for (k, &(start, header)) in sections.iter().enumerate() {
        let end = sections.get(k + 1).map_or(text.len(), |s| s.0);
        match header {
            Header::Other => in_part = 0,
            Header::CheckPart if previous == Header::Other => return None,
            Header::CheckPart => checks.last_mut().expect("a check above").end = end,
            Header::Check => {
                count += 1;
                match checks.last_mut() {
                    Some(last) if last.end == start && in_part < per_part => {
                        last.end = end;
                        in_part += 1;
                    }
                    _ => {
                        checks.push(start..end);
                        in_part = 1;
                    }
                }
            }
        }
        if header != Header::CheckPart {
            previous = header;
        }
    }
    if count == 0 {
        return None;
    }
    let mut rest = text.as_bytes().to_vec();
    for r in &checks {
        for b in &mut rest[r.clone()] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Only whole characters were blanked (into ASCII spaces): still UTF-8.
    let rest = String::from_utf8(rest).ok()?;
    Some(Parts {
        checks,
        count,
        rest,
    })
}

/// The top-level sections of `text`: where each begins (its header line; the first, the root
/// table, at 0) and what its header opens.
fn sections(text: &str) -> Option<Vec<(usize, Header)>> {
    let b = text.as_bytes();
    let mut out = vec![(0, Header::Other)];
    let (mut i, mut depth, mut line_start) = (0usize, 0i64, true);
    while i < b.len() {
        if line_start {
            line_start = false;
            let j = i + b[i..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            if depth == 0 && b.get(j) == Some(&b'[') {
                let end = b[j..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| j + p);
                out.push((i, header(&text[j..end])?));
                i = end;
                continue;
            }
            i = j;
            continue;
        }
        match b[i] {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'#' => {
                i += b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .unwrap_or(b.len() - i);
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => i = after_multiline(b, i + 3, b'"')?,
            b'\'' if b[i..].starts_with(b"'''") => i = after_multiline(b, i + 3, b'\'')?,
            q @ (b'"' | b'\'') => i = after_string(b, i + 1, q)?,
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    (depth == 0).then_some(out)
}

/// The offset after a one-line string whose text begins at `i` (quote `q`; backslash escapes
/// in basic strings).
fn after_string(b: &[u8], mut i: usize, q: u8) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            b'\n' => return None,
            c if c == q => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The offset after a multi-line string whose text begins at `i` (quote `q`), with the up to
/// two quotes a closing delimiter may have before it.
fn after_multiline(b: &[u8], mut i: usize, q: u8) -> Option<usize> {
    while i < b.len() {
        if b[i] == b'\\' && q == b'"' {
            i += 2;
        } else if b[i..].starts_with(&[q, q, q]) {
            let mut end = i + 3;
            while end < b.len() && b[end] == q && end < i + 5 {
                end += 1;
            }
            return Some(end);
        } else {
            i += 1;
        }
    }
    None
}

/// What a header line (`[a.b]`, `[[a]]`, with spaces, quoted keys, a comment) opens.
fn header(line: &str) -> Option<Header> {
    let line = line.trim_end_matches('\r');
    let (array, inner) = match line.strip_prefix("[[") {
        Some(rest) => (true, rest),
        None => (false, line.strip_prefix('[')?),
    };
    let inner = inner.trim_start_matches([' ', '\t']);
    let (first, after) = match inner.as_bytes().first()? {
        q @ (b'"' | b'\'') => {
            let close = inner[1..].find(*q as char)? + 1;
            let key = &inner[1..close];
            if key.contains('\\') {
                return None;
            }
            (key, &inner[close + 1..])
        }
        _ => {
            let n = inner
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
                .count();
            (&inner[..n], &inner[n..])
        }
    };
    if first.is_empty() {
        return None;
    }
    let after = after.trim_start_matches([' ', '\t']);
    let more = after.starts_with('.');
    if !more && !after.starts_with(if array { "]]" } else { "]" }) {
        return None;
    }
    Some(match (first, array, more) {
        ("checks", true, false) => Header::Check,
        ("checks", _, _) => Header::CheckPart,
        _ => Header::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_with_spaces_quotes_and_comments() {
        assert_eq!(header("[[checks]]"), Some(Header::Check));
        assert_eq!(header("[[ checks ]] # the web"), Some(Header::Check));
        assert_eq!(header("[[\"checks\"]]"), Some(Header::Check));
        assert_eq!(header("[checks.flapping]"), Some(Header::CheckPart));
        assert_eq!(header("[[checks.extra]]"), Some(Header::CheckPart));
        assert_eq!(header("[checks]"), Some(Header::CheckPart));
        assert_eq!(header("[monitor]"), Some(Header::Other));
        assert_eq!(header("[sinks.\"a]b\"]"), Some(Header::Other));
        assert_eq!(header("[[maintenance]]"), Some(Header::Other));
        assert_eq!(header("[[checksum]]"), Some(Header::Other));
        assert_eq!(header("[]"), None);
        assert_eq!(header("[\"a\\\"b\"]"), None);
    }

    #[test]
    fn only_top_level_headers_cut_and_offsets_are_kept() {
        let text = "[monitor]\nx = 1\n\n[[checks]]\nname = \"a\"\nnote = '''\n[[checks]]\n'''\n\
                    list = [\n  [1, 2],\n]\n[checks.flapping]\nwindow = 3\n\n[[checks]]\n\
                    name = \"b\" # [[checks]]\ns = \"[[checks]]\"\n\n[[maintenance]]\nat = 1\n\
                    [[checks]]\nname = \"c\"\n";
        let parts = split(text, 10).unwrap();
        assert_eq!(parts.count, 3);
        assert_eq!(parts.checks.len(), 2, "maintenance between: two runs");
        assert!(text[parts.checks[0].clone()].starts_with("[[checks]]\nname = \"a\""));
        assert!(text[parts.checks[0].clone()].ends_with("s = \"[[checks]]\"\n\n"));
        assert_eq!(&text[parts.checks[1].clone()], "[[checks]]\nname = \"c\"\n");
        assert_eq!(parts.rest.len(), text.len());
        assert_eq!(parts.rest.matches('\n').count(), text.matches('\n').count());
        assert!(
            parts.rest.contains("[monitor]\nx = 1\n") && parts.rest.contains("[[maintenance]]")
        );
        assert!(!parts.rest.contains("checks"));
        // At most `per_part` checks in a range.
        assert_eq!(split(text, 1).unwrap().checks.len(), 3);
    }

    #[test]
    fn what_the_scanner_cannot_follow_is_left_whole() {
        assert!(split("[[checks]]\nname = \"a\n", 10).is_none());
        assert!(split("[[checks]]\nlist = [1,\n", 10).is_none());
        assert!(split("[[checks]]\nx = '''\n", 10).is_none());
        assert!(split("[monitor]\n[checks.flapping]\n", 10).is_none());
        assert!(
            split("[monitor]\nx = 1\n", 10).is_none(),
            "no checks: nothing to cut"
        );
    }
}
