//! Help pages: Markdown files in `help_dir`, rendered without raw HTML and without links to
//! anything but web, mail and phone addresses.
//!
//! A file may start with front matter:
//!
//! ```text
//! ---
//! title: Printing from a Chromebook
//! draft: false
//! summary: Add a printer and print your first page.
//! order: 3
//! ---
//! ```
//!
//! `draft: true` pages are neither served nor listed. The index lists pages by `order` (pages
//! without one last), then title. A page's slug is its file's stem and may hold only `a`–`z`,
//! `0`–`9` and `-`.

use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::error::{Error, Result};

/// A help page's front matter.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FrontMatter {
    pub title: Option<String>,
    pub draft: bool,
    pub summary: Option<String>,
    pub order: Option<i64>,
}

/// A help page, read and rendered.
#[derive(Debug, Clone)]
pub(crate) struct HelpPage {
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub order: Option<i64>,
    pub draft: bool,
    /// The rendered, sanitised HTML.
    pub html: String,
}

/// Whether `slug` can name a help page: 1–100 characters of `a`–`z`, `0`–`9`, `-`. Nothing
/// else (no dots, slashes or percent signs) can reach the file system.
pub(crate) fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 100
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Splits front matter from the body. Errors name `file:line`.
pub(crate) fn split_front_matter<'a>(file: &Path, text: &'a str) -> Result<(FrontMatter, &'a str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        return Ok((FrontMatter::default(), text));
    }
    let mut fm = FrontMatter::default();
    let mut offset = first.len();
    for (n, line) in lines.enumerate() {
        let line_no = n + 2;
        offset += line.len();
        let l = line.trim_end_matches(['\n', '\r']);
        if l.trim_end() == "---" {
            return Ok((fm, &text[offset..]));
        }
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let bad = |message: String| {
            Error::invalid(
                "help page front matter",
                format!("{}:{line_no}: {message}", file.display()),
            )
        };
        let Some((key, v)) = l.split_once(':') else {
            return Err(bad(format!(
                "`{}` is not `key: value`",
                crate::text::excerpt(l)
            )));
        };
        let v = unquote(v);
        match key.trim() {
            "title" => fm.title = Some(v.to_owned()).filter(|s| !s.is_empty()),
            "summary" => fm.summary = Some(v.to_owned()).filter(|s| !s.is_empty()),
            "draft" => {
                fm.draft = match v {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(bad(format!(
                            "draft must be true or false, not `{}`",
                            crate::text::excerpt(other)
                        )));
                    }
                }
            }
            "order" => {
                fm.order = Some(v.parse().map_err(|_| {
                    bad(format!(
                        "order must be a whole number, not `{}`",
                        crate::text::excerpt(v)
                    ))
                })?)
            }
            // Keys the page's authors may add for themselves (tags, owner…) are kept out of
            // the page and do no harm.
            _ => {}
        }
    }
    Err(Error::invalid(
        "help page front matter",
        format!(
            "{}:1: front matter opened with `---` is never closed",
            file.display()
        ),
    ))
}

/// Whether a link or image address is safe to put in a page: relative, or `http`, `https`,
/// `mailto`, `tel`. Browsers ignore tabs, newlines and leading spaces inside a scheme, so they
/// are removed before looking.
pub(crate) fn safe_url(url: &str) -> bool {
    let compact: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    let end = compact.find([':', '/', '?', '#']);
    match end {
        Some(i) if compact.as_bytes()[i] == b':' => {
            let scheme = compact[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel")
        }
        _ => true,
    }
}

/// Markdown to HTML: raw HTML is shown as text, unsafe links and images lose their address
/// (their text stays).
pub(crate) fn render_markdown(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut dropping: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options).filter_map(|ev| match ev {
        Event::Html(s) | Event::InlineHtml(s) => Some(Event::Text(s)),
        // A raw HTML block becomes a code block showing the HTML as text.
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::CodeBlock(CodeBlockKind::Indented))),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::CodeBlock)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let safe = safe_url(&dest_url);
            dropping.push(!safe);
            safe.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let safe = safe_url(&dest_url);
            dropping.push(!safe);
            safe.then_some(Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
            if dropping.pop().unwrap_or(false) {
                None
            } else {
                Some(ev)
            }
        }
        Event::FootnoteReference(s) => Some(Event::Text(CowStr::from(format!("[{s}]")))),
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The first level-1 heading's text, for pages without a title in their front matter.
fn first_heading(markdown: &str) -> Option<String> {
    let mut inside = false;
    let mut title = String::new();
    for ev in Parser::new(markdown) {
        match ev {
            Event::Start(Tag::Heading {
                level: pulldown_cmark::HeadingLevel::H1,
                ..
            }) => inside = true,
            Event::End(TagEnd::Heading(_)) if inside => break,
            Event::Text(t) | Event::Code(t) if inside => title.push_str(&t),
            _ => {}
        }
    }
    Some(title.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Reads and renders `dir/slug.md`: `Ok(None)` when there is no such page (bad slug, no file).
pub(crate) fn load(dir: &Path, slug: &str) -> Result<Option<HelpPage>> {
    if !valid_slug(slug) {
        return Ok(None);
    }
    let path = dir.join(format!("{slug}.md"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let (fm, body) = split_front_matter(&path, &text)?;
    let title = fm
        .title
        .clone()
        .or_else(|| first_heading(body))
        .unwrap_or_else(|| slug.to_owned());
    Ok(Some(HelpPage {
        slug: slug.to_owned(),
        title,
        summary: fm.summary,
        order: fm.order,
        draft: fm.draft,
        html: render_markdown(body),
    }))
}

/// Every published page of `dir`, by order then title. A page whose front matter is broken
/// is left out with a warning (it could be a draft).
pub(crate) fn index(dir: &Path) -> Result<Vec<HelpPage>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    let mut pages = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        let path: PathBuf = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let Some(slug) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if !valid_slug(slug) {
            tracing::warn!(file = %path.display(), "help page skipped: its name may hold only a-z, 0-9 and -");
            continue;
        }
        match load(dir, slug) {
            Ok(Some(p)) if !p.draft => pages.push(p),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "help page skipped"),
        }
    }
    pages.sort_by(|a, b| {
        (a.order.is_none(), a.order, a.title.to_lowercase()).cmp(&(
            b.order.is_none(),
            b.order,
            b.title.to_lowercase(),
        ))
    });
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_restricted() {
        assert!(valid_slug("printing-from-a-chromebook-2"));
        for bad in ["", "..", "../etc", "a/b", "A", "a.md", "a%2f", "a b", "é"] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn front_matter_is_read_and_errors_name_the_line() {
        let p = Path::new("help/x.md");
        let (fm, body) = split_front_matter(
            p,
            "---\ntitle: \"Wi-Fi: guests\"\ndraft: false\nsummary: Join\norder: 2\ntags: x\n---\n# Hi\n",
        )
        .unwrap();
        assert_eq!(fm.title.as_deref(), Some("Wi-Fi: guests"));
        assert_eq!(fm.order, Some(2));
        assert!(!fm.draft);
        assert_eq!(body, "# Hi\n");
        let (fm, body) = split_front_matter(p, "# No front matter\n").unwrap();
        assert_eq!(fm, FrontMatter::default());
        assert_eq!(body, "# No front matter\n");
        let e = split_front_matter(p, "---\ntitle: a\ndraft: maybe\n---\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("help/x.md:3: draft must be true or false"),
            "{e}"
        );
        let e = split_front_matter(p, "---\ntitle: a\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("never closed"), "{e}");
        let e = split_front_matter(p, "---\norder: first\n---\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2: order must be a whole number"), "{e}");
    }

    #[test]
    fn raw_html_is_escaped_and_unsafe_links_dropped() {
        let html = render_markdown(
            "Hello <script>alert(1)</script> there\n\n<div onclick=\"x()\">block</div>\n\n\
             [ok](https://example.org) [rel](/help/wifi) [bad](javascript:alert(1)) \
             [tricky](JaVa\tScRiPt:alert(1)) [data](data:text/html,x)\n\n![img](javascript:x)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;div onclick="), "{html}");
        assert!(
            html.contains("<a href=\"https://example.org\">ok</a>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"/help/wifi\">rel</a>"), "{html}");
        assert!(!html.to_lowercase().contains("javascript:alert"), "{html}");
        assert!(html.contains("bad"), "{html}");
        assert!(!html.contains("data:text"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(safe_url("mailto:help@district.example"));
        assert!(!safe_url(" javascript:x"));
        assert!(safe_url("page#section:2"));
    }
}
