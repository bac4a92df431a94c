//! Mail and help-desk boilerplate that says nothing about a ticket's topic: greetings and
//! sign-offs, mail headers and reply prefixes (`re:`, `fw:`, `sent from my …`,
//! `importance: high`), signatures, and times and dates (am/pm, month and weekday names,
//! numeric dates and times), in the languages ingest reads (English, French, German, Spanish).
//!
//! [`super::normalise`] drops whole lines ([`is_cut_line`] ends the useful text, [`is_skip_line`]
//! drops one line); [`super::words`] drops single words ([`is_noise_word`], [`is_date_or_time`])
//! and two-word formulas ([`is_noise_pair`]) wherever they appear, since many exports flatten
//! a mail onto one line, and for the same reason finds a mail disclaimer inside a line
//! ([`disclaimer_mask`]).

use std::sync::LazyLock;

use crate::tickets::FastSet;

/// Greetings, sign-offs, mail-header words, and month, weekday and am/pm words.
const NOISE: &[&str] = &[
    // Greetings.
    "hi",
    "hello",
    "hey",
    "hiya",
    "dear",
    "greetings",
    "bonjour",
    "bonsoir",
    "salut",
    "madame",
    "monsieur",
    "hallo",
    "servus",
    "moin",
    "liebe",
    "lieber",
    "geehrte",
    "geehrter",
    "geehrten",
    "hola",
    "estimado",
    "estimada",
    "estimados",
    "estimadas",
    // Sign-offs.
    "regards",
    "thanks",
    "thank",
    "thx",
    "cheers",
    "sincerely",
    "respectfully",
    "cordialement",
    "salutations",
    "amicalement",
    "merci",
    "danke",
    "gruss",
    "gruß",
    "grüße",
    "gruesse",
    "grüßen",
    "gruessen",
    "grüssen",
    "gracias",
    "saludos",
    "atentamente",
    "cordiales",
    // Mail headers, reply and forward prefixes.
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "tr",
    "rv",
    "sent",
    "subject",
    "cc",
    "bcc",
    "importance",
    "envoyé",
    "envoye",
    "objet",
    "betreff",
    "gesendet",
    "wichtigkeit",
    "asunto",
    "enviado",
    "importancia",
    "msg",
    // Times of day.
    "am",
    "pm",
    "uhr",
    // Months.
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "janvier",
    "février",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "decembre",
    "januar",
    "jänner",
    "februar",
    "märz",
    "maerz",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
    // Weekdays.
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonnabend",
    "sonntag",
    "lunes",
    "martes",
    "miércoles",
    "miercoles",
    "jueves",
    "viernes",
    "sábado",
    "sabado",
    "domingo",
];

static NOISE_SET: LazyLock<FastSet<&'static str>> =
    LazyLock::new(|| NOISE.iter().copied().collect());

/// Whether a lower-case word is a greeting, a sign-off, a mail-header word, a month, a weekday
/// or am/pm.
pub fn is_noise_word(w: &str) -> bool {
    NOISE_SET.contains(w)
}

/// Two-word formulas dropped together: "best regards", "good morning", "importance high",
/// "sent from", "mit freundlichen", "buenos días"…, the pairs of mail disclaimers ("legally
/// privileged", "intended solely") and of raw mail headers ("content type", "mime version").
pub fn is_noise_pair(first: &str, second: &str) -> bool {
    matches!(
        (first, second),
        (
            "best" | "kind" | "warm" | "warmest" | "kindest",
            "regards" | "wishes"
        ) | ("many", "thanks")
            | ("thank", "you")
            | ("good", "morning" | "afternoon" | "evening" | "day")
            | (
                "importance" | "wichtigkeit" | "importancia",
                "high" | "normal" | "low" | "hoch" | "alta"
            )
            | ("sent", "from")
            | ("original", "message")
            | (
                "mit" | "freundliche" | "beste" | "viele",
                "freundlichen" | "grüße" | "grüßen" | "gruesse"
            )
            | ("freundlichen", "grüßen" | "gruessen" | "grüssen")
            | ("vielen", "dank")
            | ("guten", "tag" | "morgen" | "abend")
            | ("bien", "cordialement" | "vous")
            | ("bonne", "journée" | "journee" | "soirée" | "soiree")
            // Mail disclaimers.
            | ("legally", "privileged")
            | ("privileged", "confidential")
            | ("confidential", "legally")
            | ("intended", "solely" | "recipient" | "recipients")
            | ("solely", "intended" | "use")
            | ("addressee", "only")
            // Raw mail headers pasted into a ticket.
            | ("content", "type" | "transfer" | "disposition")
            | ("transfer", "encoding")
            | ("mime", "version")
            | ("return", "path")
            | ("message", "id")
            | ("x", "mailer" | "originating")
            | ("muchas", "gracias")
            | ("un", "saludo")
            | ("buenos", "días" | "dias")
            | ("buenas", "tardes" | "noches")
    )
}

/// Words that only a mail disclaimer puts close together: three of them within
/// [`DISCLAIMER_WINDOW`] words start one.
const DISCLAIMER_STRONG: &[&str] = &[
    "confidential",
    "confidentiality",
    "privileged",
    "addressee",
    "addressees",
    "recipient",
    "recipients",
    "disclosure",
    "dissemination",
    "prohibited",
    "unlawful",
    "unauthorised",
    "unauthorized",
    "liability",
    "legally",
    "solely",
    "intended",
    "reliance",
    "misuse",
    "omissions",
    "authenticity",
    "strictly",
    // French, German, Spanish.
    "confidentiel",
    "confidentielle",
    "confidentiels",
    "confidentielles",
    "destiné",
    "destinée",
    "destinataire",
    "destinataires",
    "strictement",
    "interdite",
    "interdit",
    "vertraulich",
    "vertrauliche",
    "vertraulichen",
    "empfänger",
    "irrtümlich",
    "unbefugte",
    "untersagt",
    "unerlaubte",
    "weitergabe",
    "vervielfältigung",
    "adressat",
    "gestattet",
    "confidencial",
    "confidenciales",
    "destinado",
    "destinada",
    "destinatario",
    "destinatarios",
    "prohibida",
    "prohibido",
];

/// Words a disclaimer goes on with: a disclaimer lasts while one of these or of
/// [`DISCLAIMER_STRONG`] comes within [`DISCLAIMER_GAP`] words of the last.
const DISCLAIMER_WEAK: &[&str] = &[
    "information",
    "contents",
    "content",
    "opinions",
    "views",
    "expressed",
    "necessarily",
    "represent",
    "error",
    "errors",
    "erroneously",
    "received",
    "notify",
    "delete",
    "destroy",
    "attachments",
    "attachment",
    "copying",
    "distribution",
    "copy",
    "use",
    "virus",
    "viruses",
    "infection",
    "checkers",
    "damage",
    "responsibility",
    "accepts",
    "accept",
    "liable",
    "communication",
    "transmission",
    "transmitted",
    "registered",
    "office",
    "company",
    "number",
    "incorporated",
    "england",
    "wales",
    "sender",
    "immediately",
    "reply",
    "mail",
    "email",
    "message",
    "verify",
    "susceptible",
    "interference",
    "omitted",
    "taken",
    "action",
    "rely",
    // Registration notices and the addresses in them.
    "registration",
    "limited",
    "ltd",
    "plc",
    "llc",
    "inc",
    "gmbh",
    "sarl",
    "street",
    "road",
    "avenue",
    "square",
    "london",
    "england",
    "scotland",
    "united",
    "kingdom",
    "subsidiaries",
    "subsidiary",
    "affiliates",
    "entity",
    "entities",
    "separate",
    "group",
    "vat",
    "pièces",
    "jointes",
    "expéditeur",
    "supprimer",
    "nachricht",
    "absender",
    "informationen",
    "löschen",
    "erhalten",
    "informieren",
    "sofort",
    "vernichten",
    "kopieren",
    "mensaje",
    "remitente",
    "eliminar",
    "información",
];

/// The two words that start a company's registration notice. Not "registered in": a student
/// registered in the wrong class group is a ticket, and a notice that says "registered in
/// England" names its office or number too.
fn is_registration_pair(first: &str, second: &str) -> bool {
    matches!(
        (first, second),
        (
            "registered",
            "office" | "under" | "number" | "address" | "company"
        ) | ("company", "number" | "registration" | "registered" | "no")
            | ("vat", "number" | "registration" | "no")
            | ("handelsregister" | "amtsgericht" | "siège" | "rcs", _)
    )
}

/// Words within which three [`DISCLAIMER_STRONG`] words start a disclaimer.
pub const DISCLAIMER_WINDOW: usize = 6;
/// Words without a disclaimer word after which a disclaimer has ended.
pub const DISCLAIMER_GAP: usize = 4;

static DISCLAIMER_STRONG_SET: LazyLock<FastSet<&'static str>> =
    LazyLock::new(|| DISCLAIMER_STRONG.iter().copied().collect());
static DISCLAIMER_WEAK_SET: LazyLock<FastSet<&'static str>> =
    LazyLock::new(|| DISCLAIMER_WEAK.iter().copied().collect());

/// Marks the words of mail disclaimers in a text's words (lower case), for mails flattened onto
/// one line, where no line break ends the message before its legal notice ("… information
/// confidential legally privileged intended solely addressee opinions expressed …"). A
/// disclaimer starts at the first of three strong words ("confidential", "privileged",
/// "addressee", "unlawful"…) within [`DISCLAIMER_WINDOW`] words and goes on while strong or
/// weak words ("opinions", "virus", "notify", "registered office"…) keep coming within
/// [`DISCLAIMER_GAP`] words of each other; the words around it (the message before, a quoted
/// earlier message after) stay. A sentence that names one or two of these words ("the intended
/// recipient never got the report") is not a disclaimer.
///
/// A company's registration notice ("registered office", "company number", "registered under
/// number …") starts one too: its address in between is
/// bridged by the words such notices hold ("street", "kingdom", "limited", "subsidiaries",
/// "entity"…).
pub fn disclaimer_mask(words: &[&str]) -> Vec<bool> {
    let strong = |w: &str| DISCLAIMER_STRONG_SET.contains(w);
    let weak = |w: &str| DISCLAIMER_WEAK_SET.contains(w);
    let mut mask = vec![false; words.len()];
    let mut i = 0;
    while i < words.len() {
        let registration = words
            .get(i + 1)
            .is_some_and(|next| is_registration_pair(words[i], next));
        if !registration {
            if !strong(words[i]) {
                i += 1;
                continue;
            }
            let window = &words[i..(i + DISCLAIMER_WINDOW).min(words.len())];
            if window.iter().filter(|w| strong(w)).count() < 3 {
                i += 1;
                continue;
            }
        }
        let mut last = i;
        let mut j = i + 1;
        while j < words.len() && j - last <= DISCLAIMER_GAP {
            if strong(words[j]) || weak(words[j]) {
                last = j;
            }
            j += 1;
        }
        mask[i..=last].iter_mut().for_each(|m| *m = true);
        i = last + 1;
    }
    mask
}

/// Whether a word is a time or a date written with digits: `3pm`, `10am`, `21st`, `2nd`,
/// `14h30`, `9h`, `1er` (all-digit words are dropped anyway).
pub fn is_date_or_time(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 {
        return false;
    }
    let rest = &w[digits..];
    matches!(
        rest,
        "am" | "pm" | "st" | "nd" | "rd" | "th" | "h" | "er" | "hrs"
    ) || (rest.len() > 1 && rest.starts_with('h') && rest[1..].bytes().all(|b| b.is_ascii_digit()))
}

/// Lines after which a mail is signature or quoted history (lower case, trimmed).
pub fn is_cut_line(low: &str) -> bool {
    low == "--"
        || low == "-- "
        || low.starts_with("-----original message")
        || low.starts_with("-----ursprüngliche nachricht")
        || low.starts_with("-----mensaje original")
        || low.starts_with("-----message d'origine")
        || low.starts_with("sent from my")
        || low.starts_with("get outlook for")
        || low.starts_with("envoyé de mon")
        || low.starts_with("von meinem")
        || low.starts_with("enviado desde mi")
        || (low.starts_with("on ") && low.ends_with("wrote:"))
        || (low.starts_with("le ") && low.ends_with("a écrit :"))
        || (low.starts_with("am ") && low.ends_with("schrieb:"))
        || (low.starts_with("el ") && low.ends_with("escribió:"))
        || low.starts_with("from: ")
        || low.starts_with("de : ")
        || low.starts_with("von: ")
        || matches!(
            low.trim_end_matches([',', '!', '.']),
            "thanks"
                | "thank you"
                | "many thanks"
                | "regards"
                | "best regards"
                | "kind regards"
                | "warm regards"
                | "best wishes"
                | "best"
                | "cheers"
                | "sincerely"
                | "respectfully"
                | "cordialement"
                | "bien cordialement"
                | "bien à vous"
                | "merci"
                | "merci d'avance"
                | "mit freundlichen grüßen"
                | "freundliche grüße"
                | "viele grüße"
                | "beste grüße"
                | "gruß"
                | "danke"
                | "vielen dank"
                | "saludos"
                | "un saludo"
                | "saludos cordiales"
                | "atentamente"
                | "gracias"
                | "muchas gracias"
        )
}

/// A word a mail opens with to greet (lower case; English, French, German, Spanish).
pub fn is_greeting(w: &str) -> bool {
    matches!(
        w,
        "hi" | "hello"
            | "hey"
            | "hiya"
            | "dear"
            | "greetings"
            | "bonjour"
            | "bonsoir"
            | "salut"
            | "hallo"
            | "liebe"
            | "lieber"
            | "hola"
            | "estimado"
            | "estimada"
    )
}

/// Lines dropped on their own: mail headers (`to:`, `cc:`, `sent:`, `date:`, `importance:`,
/// `objet :`, `betreff:`, `asunto:`…) and a short greeting line ("Hi Jo,", "Bonjour à tous !",
/// "Hello").
pub fn is_skip_line(low: &str) -> bool {
    const HEADERS: &[&str] = &[
        "to:",
        "cc:",
        "bcc:",
        "sent:",
        "date:",
        "subject:",
        "importance:",
        "à :",
        "a :",
        "envoyé :",
        "objet :",
        "an:",
        "gesendet:",
        "betreff:",
        "datum:",
        "wichtigkeit:",
        "para:",
        "enviado:",
        "asunto:",
        "fecha:",
        "importancia:",
    ];
    if HEADERS.iter().any(|h| low.starts_with(h)) {
        return true;
    }
    let mut words = low.split_whitespace();
    let first = words
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric());
    let greeting = is_noise_word(first) && is_greeting(first)
        || matches!(first, "good" | "guten" | "buenos" | "buenas" | "sehr");
    let rest = words.count();
    greeting && (rest <= 1 || (rest <= 3 && low.ends_with([',', '!', ':'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of `text` outside its disclaimers, joined by spaces.
    fn kept(text: &str) -> String {
        let words: Vec<&str> = text.split_whitespace().collect();
        let mask = disclaimer_mask(&words);
        let kept: Vec<&str> = words
            .iter()
            .zip(&mask)
            .filter(|(_, m)| !**m)
            .map(|(w, _)| *w)
            .collect();
        kept.join(" ")
    }

    #[test]
    fn finds_a_disclaimer_inside_a_line_and_keeps_the_words_around_it() {
        assert_eq!(
            kept(
                "hi mobile devices belong testing please add thanks engineer ext information \
                 confidential legally privileged intended solely addressee opinions expressed \
                 mine necessarily represent opinions susceptible interference intended \
                 recipient disclosure copying strictly prohibited unlawful received error \
                 please notify delete virus checkers registered office broad street re \
                 hello the projector in the library is flickering again"
            ),
            "hi mobile devices belong testing please add thanks engineer ext information re \
             hello the projector in the library is flickering again"
        );
        // A registration notice, its address included; the message after it stays.
        assert_eq!(
            kept(
                "thanks jo registered under number whose registered old broad street kingdom \
                 provide clients each subsidiaries separate entity has liability entity acts \
                 omissions thursday addresses devices device name"
            ),
            "thanks jo thursday addresses devices device name"
        );
        // In French and German too.
        assert_eq!(
            kept(
                "merci ce message est confidentiel et destiné au seul destinataire toute \
                 diffusion est strictement interdite"
            ),
            "merci ce message est"
        );
        assert_eq!(
            kept(
                "danke das unerlaubte kopieren sowie die unbefugte weitergabe dieser mail ist \
                 nicht gestattet bis morgen"
            ),
            "danke das bis morgen"
        );
        // One or two such words in a sentence are not a disclaimer.
        for prose in [
            "the intended recipient never got the report it is confidential",
            "the student registered in the wrong class group cannot see the course",
            "i received an error please delete the attachments and notify me",
        ] {
            let w: Vec<&str> = prose.split_whitespace().collect();
            assert!(disclaimer_mask(&w).iter().all(|m| !m), "{prose}");
        }
    }

    #[test]
    fn recognises_dates_times_and_formulas() {
        for w in ["3pm", "10am", "21st", "2nd", "14h30", "9h", "1er"] {
            assert!(is_date_or_time(w), "{w}");
        }
        for w in ["4g", "win10", "h2o", "2fa", "365"] {
            assert!(!is_date_or_time(w), "{w}");
        }
        for w in [
            "thursday",
            "mars",
            "dezember",
            "miércoles",
            "pm",
            "re",
            "fwd",
            "hola",
        ] {
            assert!(is_noise_word(w), "{w}");
        }
        assert!(is_noise_pair("importance", "high") && is_noise_pair("best", "regards"));
        assert!(!is_noise_pair("printer", "high"));
        assert!(
            is_skip_line("hi jo,")
                && is_skip_line("betreff: drucker")
                && is_skip_line("good morning team,")
        );
        assert!(!is_skip_line("hi the projector in room 4 does not turn on"));
        assert!(!is_skip_line("hi, printer broken"));
        assert!(
            is_cut_line("mit freundlichen grüßen")
                && is_cut_line("el lunes, 3 de marzo, ana escribió:")
        );
    }
}
