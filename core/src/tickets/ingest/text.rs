//! Cell text: HTML stripped (entities decoded, tags removed), whitespace collapsed per line.

/// Strips HTML from a cell: entities decoded (twice, for GLPI's double encoding), tags removed
/// (`<br>`, `</p>`, `</div>`, `</li>` become line breaks), whitespace collapsed per line.
pub fn clean_html(s: &str) -> String {
    if !looks_like_html(s) {
        return collapse_ws(s);
    }
    let mut cur = s.to_string();
    for _ in 0..2 {
        let decoded = html_escape::decode_html_entities(&cur).into_owned();
        cur = strip_tags(&decoded);
        if !looks_like_html(&cur) {
            break;
        }
    }
    collapse_ws(&cur)
}

/// Whether a cell holds a tag (`<p`, `</`, `<!--`) or an entity (`&amp;`, `&#39;`).
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr2_iter(b'<', b'&', b).any(|i| match b[i] {
        b'<' => b
            .get(i + 1)
            .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!'),
        _ => {
            let rest = &b[i + 1..b.len().min(i + 12)];
            rest.first()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'#')
                && rest.contains(&b';')
        }
    })
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        // Only treat it as a tag when it looks like one (`<p`, `</p`, `<br/`, `<!--`).
        let looks_like_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match (looks_like_tag, after.find('>')) {
            (true, Some(end)) => {
                let tag = after[..end].trim_start_matches('/').to_ascii_lowercase();
                let name: String = tag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3"
                ) {
                    out.push('\n');
                } else if matches!(name.as_str(), "td" | "th") {
                    out.push(' ');
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn collapse_ws(s: &str) -> String {
    // One pass: runs of whitespace become one space, line breaks survive, blank lines and
    // spaces at line ends go (the same as joining each line's `split_whitespace()` words).
    let trimmed = s.trim();
    // Most cells are clean already: one vectorised scan and one copy.
    if !needs_collapsing(trimmed.as_bytes()) {
        return trimmed.to_owned();
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut space = false;
    let mut newline = false;
    for c in trimmed.chars() {
        if c == '\n' {
            newline = !out.is_empty();
            space = false;
        } else if c.is_whitespace() {
            space = !out.is_empty() && !newline;
        } else {
            if newline {
                out.push('\n');
            } else if space {
                out.push(' ');
            }
            newline = false;
            space = false;
            out.push(c);
        }
    }
    out
}

/// Whether collapsing could change `b` (already trimmed): a byte beyond ASCII (other Unicode
/// whitespace takes the slow path), a control byte below 0x0E other than a line break (CR, tab,
/// VT, FF among them), or two spaces or line breaks in a row. Eight bytes at a time, with the
/// usual bit tricks on a `u64` (flags in each byte's high bit, exact per byte).
fn needs_collapsing(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = !HI;
    // High bit set in each byte of `x` equal to `c`.
    let eq = |x: u64, c: u8| {
        let y = x ^ (LO * c as u64);
        !(((y & LOW7) + LOW7) | y | LOW7)
    };
    // Whether the word has an odd byte, and its space / line-break flags.
    let scan = |x: u64| {
        let newline = eq(x, b'\n');
        // Below 0x0E: adding 0x72 to the low seven bits leaves the high bit clear (no carry
        // crosses a byte: 0x7F + 0x72 < 0x100); bytes at or above 0x80 are odd anyway.
        let low = !((x & LOW7) + LO * 0x72) & HI;
        let odd = (x & HI) | (low & !newline);
        (odd != 0, eq(x, b' ') | newline)
    };
    let mut chunks = b.chunks_exact(8);
    // The previous word's last byte's flag, moved to the first byte's place.
    let mut prev = 0u64;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let (odd, ws) = scan(x);
        if odd || ws & ((ws << 8) | prev) != 0 {
            return true;
        }
        prev = ws >> 56;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return false;
    }
    // The tail padded with letters (neither odd nor whitespace).
    let mut tail = [b'a'; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let (odd, ws) = scan(u64::from_le_bytes(tail));
    odd || ws & ((ws << 8) | prev) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_stripped_and_entities_decoded() {
        assert_eq!(
            clean_html("&lt;p&gt;L&amp;#039;imprimante&lt;/p&gt;&lt;p&gt;ne marche pas&lt;/p&gt;"),
            "L'imprimante\nne marche pas"
        );
        assert_eq!(
            clean_html("<b>Projector</b> in room&nbsp;12 &amp; 14"),
            "Projector in room 12 & 14"
        );
        assert_eq!(clean_html("x < 3 and y > 2"), "x < 3 and y > 2");
    }

    #[test]
    fn whitespace_collapses_like_joining_the_words_of_each_line() {
        let reference = |s: &str| {
            s.trim()
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        };
        for s in [
            "",
            "  plain text  ",
            "a  b\t c\r\nd \n\n\n  e\u{a0}f\u{2003}g \r\n",
            "\n\n lead\n\t\ntrail \u{a0}\n",
            "caf\u{e9}  cr\u{e8}me\u{a0}\u{a0}br\u{fb}l\u{e9}e",
            "one\u{85}two \u{3000} three",
            "a clean sentence longer than sixteen bytes\nand a second line",
            "0123456789abcde  fghij, a run of spaces across sixteen bytes",
            "0123456789abcdef \n\nline breaks across sixteen bytes",
            "0123456789abcdefghijklmnopqrstu\t v, and more after the tab",
            "0123456789abcdefghijklmnopqrstuvwxyz caf\u{e9}",
        ] {
            assert_eq!(collapse_ws(s), reference(s), "{s:?}");
        }
    }

    #[test]
    fn only_cells_that_need_it_take_the_slow_path() {
        // Every string of these bytes up to length 12, at every alignment in a longer cell: the
        // quick check may send clean cells to the slow path, never the reverse.
        let alphabet: [&[u8]; 7] = [
            b"a",
            b" ",
            b"\n",
            b"\t",
            b"\r",
            "\u{e9}".as_bytes(),
            b"\x01",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut s = Vec::new();
            let mut y = x;
            for _ in 0..(x % 13) {
                s.extend_from_slice(alphabet[(y % 7) as usize]);
                y /= 7;
            }
            let pad = "p".repeat((x >> 40) as usize % 9);
            let s = format!("{pad}q{}q{pad}", String::from_utf8(s).unwrap());
            let changed = collapse_ws(&s) != s;
            assert!(!changed || needs_collapsing(s.as_bytes()), "{s:?}");
            assert_eq!(
                needs_collapsing(s.as_bytes()),
                s.bytes().any(|c| c >= 0x80 || (c < 0x0E && c != b'\n'))
                    || s.contains("  ")
                    || s.contains(" \n")
                    || s.contains("\n ")
                    || s.contains("\n\n"),
                "{s:?}"
            );
        }
    }
}
