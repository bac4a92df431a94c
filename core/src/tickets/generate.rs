//! Synthetic school-district help-desk exports for demos, tests and benchmarks.
//!
//! The export looks like a Freshservice CSV: a US school calendar (terms, Labor Day,
//! Thanksgiving, winter and spring breaks, a quiet summer), eight sites, a pool of requesters,
//! recurring topics worded in many near-identical ways, signatures, quoted e-mail, room numbers
//! and asset tags. With effects (the default) it also plants a term-start surge, three spikes and
//! a rising Chromebook trend, and returns where they are so tests can check they are found.

use std::io::Write;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::calendar::{Break, SchoolCalendar, Term, week_start};
use crate::{Error, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Ticket rows.
    pub rows: usize,
    /// Random seed (same seed, same file).
    pub seed: u64,
    /// Plant the term-start surge, spikes and the trend.
    pub effects: bool,
    /// The first school year starts in August of this year.
    pub start_year: i32,
    /// School years covered.
    pub years: u32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            rows: 20_000,
            seed: 1,
            effects: true,
            start_year: 2022,
            years: 3,
        }
    }
}

/// A planted spike.
#[derive(Debug, Clone, Serialize)]
pub struct PlantedSpike {
    /// The taxonomy topic of the extra tickets.
    pub topic: String,
    /// The site, when the spike is local.
    pub site: Option<String>,
    /// Monday of the week.
    pub week: NaiveDate,
    /// Extra tickets.
    pub extra: usize,
}

/// What was planted, for checking.
#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    /// The calendar used.
    pub calendar: SchoolCalendar,
    /// Planted spikes.
    pub spikes: Vec<PlantedSpike>,
    /// The taxonomy topic with a rising trend (and its multiplier at start and end).
    pub trend: Option<(String, f64, f64)>,
    /// Recurring topics outside the default taxonomy, by a distinctive word.
    pub untaxonomised_topics: Vec<String>,
    /// The question asked most often in near-identical words.
    pub faq_question: String,
    /// Rows written.
    pub rows: usize,
}

struct Template {
    category: &'static str,
    sub: &'static str,
    taxonomy: Option<&'static str>,
    weight: f64,
    subjects: &'static [&'static str],
    bodies: &'static [&'static str],
    resolutions: &'static [&'static str],
    /// Median handling hours.
    hours: f64,
    /// Extra term-start multiplier (on top of the general surge).
    term_start: f64,
}

const TEMPLATES: &[Template] = &[
    Template {
        category: "Accounts",
        sub: "Password",
        taxonomy: Some("Passwords & MFA"),
        weight: 14.0,
        subjects: &[
            "How do I reset my password?",
            "Forgot my password",
            "How do I reset my password",
            "Locked out of my account",
            "How do I set up the authenticator app on my new phone?",
        ],
        bodies: &[
            "How do I reset my password? It says my password expired this morning.",
            "I forgot my password over the break and can't log in to my laptop.",
            "How do I reset my password? I tried the link but it says the code is wrong.",
            "I got a new phone and the MFA code does not arrive anymore. How do I move the authenticator app?",
            "My account is locked out after too many password attempts.",
        ],
        resolutions: &[
            "Reset the password and showed the self-service reset page at https://password.district.example.org",
            "Re-registered MFA on the new phone",
        ],
        hours: 0.4,
        term_start: 2.0,
    },
    Template {
        category: "Hardware",
        sub: "Chromebook",
        taxonomy: Some("Chromebooks"),
        weight: 14.0,
        subjects: &[
            "Chromebook screen cracked",
            "Chromebook won't charge",
            "Student Chromebook won't turn on",
            "Chromebook keyboard keys missing",
            "Chromebook hinge broken",
        ],
        bodies: &[
            "Student dropped Chromebook {asset} and the screen is cracked.",
            "Chromebook {asset} will not charge, tried two chargers.",
            "Chromebook {asset} won't power on even after holding the power button.",
            "Several keys are missing on Chromebook {asset}.",
            "The hinge on Chromebook {asset} is broken, screen flops over.",
        ],
        resolutions: &[
            "Swapped the device from the loaner cart and sent {asset} for repair",
            "Replaced the charger",
        ],
        hours: 26.0,
        term_start: 1.0,
    },
    Template {
        category: "Hardware",
        sub: "Projector",
        taxonomy: Some("Projectors & panels"),
        weight: 8.0,
        subjects: &[
            "Projector shows no signal",
            "Smartboard pen not working",
            "Projector bulb is out",
            "Interactive panel frozen",
        ],
        bodies: &[
            "The projector in {room} says no signal when I plug in HDMI.",
            "Smartboard pens in {room} stopped writing on the board.",
            "Projector lamp in {room} is out, it blinks orange.",
            "The interactive panel in {room} is frozen on the logo.",
        ],
        resolutions: &[
            "Reseated the HDMI cable and reset the input",
            "Replaced the projector lamp",
        ],
        hours: 20.0,
        term_start: 1.0,
    },
    Template {
        category: "Hardware",
        sub: "Printer",
        taxonomy: Some("Printers"),
        weight: 9.0,
        subjects: &[
            "Printer offline",
            "Paper jam in the copier",
            "Printer out of toner",
            "Can't print to the library printer",
        ],
        bodies: &[
            "The printer in {room} shows offline for everyone.",
            "Paper jam in the workroom copier again, tray 2.",
            "Printer {asset} says toner low and prints faded pages.",
            "My print jobs to the library printer never come out.",
        ],
        resolutions: &[
            "Cleared the queue and restarted the printer",
            "Replaced the toner cartridge",
        ],
        hours: 6.0,
        term_start: 1.0,
    },
    Template {
        category: "Network",
        sub: "Wi-Fi",
        taxonomy: Some("Wi-Fi & network"),
        weight: 7.0,
        subjects: &[
            "Wi-Fi keeps dropping",
            "No internet in my room",
            "Wireless is very slow",
            "Can't join the staff Wi-Fi",
        ],
        bodies: &[
            "The Wi-Fi keeps dropping in {room} during class.",
            "No internet connection in {room} since this morning.",
            "Wireless is very slow in the gym.",
            "My laptop will not join the staff Wi-Fi network.",
        ],
        resolutions: &[
            "Rebooted the access point",
            "Removed the saved network and re-joined",
        ],
        hours: 3.0,
        term_start: 1.0,
    },
    Template {
        category: "Software",
        sub: "Google Classroom",
        taxonomy: Some("Learning platforms (Classroom, Canvas, Schoology)"),
        weight: 8.0,
        subjects: &[
            "How do I add a co-teacher to Google Classroom?",
            "How do I archive a class in Google Classroom?",
            "Students can't see my Google Classroom assignment",
            "How do I add students to Google Classroom?",
        ],
        bodies: &[
            "How do I add a co-teacher to my Google Classroom class?",
            "How do I archive last year's classes in Google Classroom?",
            "Students say they can't see the assignment I posted in Google Classroom.",
            "How do I add new students to my Google Classroom?",
        ],
        resolutions: &[
            "Walked the teacher through the Classroom people tab",
            "Sent the Google Classroom how-to guide",
        ],
        hours: 0.7,
        term_start: 1.8,
    },
    Template {
        category: "Software",
        sub: "SIS",
        taxonomy: Some("SIS: gradebook & attendance"),
        weight: 7.0,
        subjects: &[
            "Gradebook won't save scores",
            "How do I take attendance for a substitute?",
            "Attendance not showing in PowerSchool",
            "How do I fix a grade after the report card?",
        ],
        bodies: &[
            "The PowerSchool gradebook spins when I save scores.",
            "How do I take attendance for my class when a substitute is in?",
            "Attendance I took this morning is not showing in PowerSchool.",
            "How do I fix a grade after report cards were printed?",
        ],
        resolutions: &[
            "Cleared the browser cache, gradebook saves again",
            "Explained attendance for substitutes",
        ],
        hours: 1.5,
        term_start: 1.0,
    },
    Template {
        category: "Accounts",
        sub: "SSO",
        taxonomy: Some("Single sign-on"),
        weight: 4.0,
        subjects: &[
            "Clever badge login not working",
            "Single sign-on loop",
            "ClassLink won't open apps",
        ],
        bodies: &[
            "Clever badge login does not work for my kindergarten class.",
            "Single sign-on keeps looping back to the login page.",
            "ClassLink opens but the apps do not launch.",
        ],
        resolutions: &[
            "Re-synced the roster in Clever",
            "Cleared cookies for the SSO portal",
        ],
        hours: 2.0,
        term_start: 1.0,
    },
    Template {
        category: "Software",
        sub: "Email",
        taxonomy: Some("E-mail"),
        weight: 5.0,
        subjects: &[
            "How do I add an email signature?",
            "Shared mailbox missing",
            "Emails going to spam",
        ],
        bodies: &[
            "How do I add the district email signature in Gmail?",
            "The shared front-office mailbox disappeared from my Outlook.",
            "Parent emails are going to spam.",
        ],
        resolutions: &["Sent the signature template", "Re-added the shared mailbox"],
        hours: 1.0,
        term_start: 1.0,
    },
    Template {
        category: "Accounts",
        sub: "New staff",
        taxonomy: Some("New staff accounts"),
        weight: 3.0,
        subjects: &[
            "New staff account needed",
            "New hire starting Monday",
            "Substitute account request",
        ],
        bodies: &[
            "We have a new teacher starting Monday who needs an account set up.",
            "New hire in the front office needs accounts and a laptop.",
            "Long-term substitute account request for {room}.",
        ],
        resolutions: &["Created the accounts and sent credentials to the principal"],
        hours: 8.0,
        term_start: 2.0,
    },
    Template {
        category: "Software",
        sub: "Testing",
        taxonomy: Some("Testing platforms"),
        weight: 3.0,
        subjects: &[
            "TestNav won't launch",
            "MAP Growth test freezing",
            "Lockdown browser error",
        ],
        bodies: &[
            "TestNav will not launch for students in {room}.",
            "MAP Growth testing freezes on question 3 for several students.",
            "The lockdown browser shows an error before the test starts.",
        ],
        resolutions: &["Updated the TestNav app", "Cleared the testing cache"],
        hours: 1.0,
        term_start: 1.0,
    },
    Template {
        category: "Software",
        sub: "Cafeteria POS",
        taxonomy: None,
        weight: 3.0,
        subjects: &[
            "Cafeteria register frozen",
            "Lunch line point of sale not scanning",
            "Cafeteria POS terminal down",
        ],
        bodies: &[
            "The cafeteria register froze during lunch and the line is backing up.",
            "The lunch line point of sale terminal is not scanning student IDs.",
            "Cafeteria POS terminal shows offline, cashier can't ring up meals.",
        ],
        resolutions: &["Restarted the cafeteria terminal service"],
        hours: 1.0,
        term_start: 1.0,
    },
    Template {
        category: "Software",
        sub: "Library",
        taxonomy: None,
        weight: 2.0,
        subjects: &[
            "Destiny library catalog checkout error",
            "How do I renew books in Destiny?",
            "Destiny catalog search empty",
        ],
        bodies: &[
            "Destiny library catalog gives an error when students check out books.",
            "How do I renew overdue books for a student in Destiny?",
            "The Destiny catalog search returns no books.",
        ],
        resolutions: &["Re-indexed the Destiny catalog"],
        hours: 2.0,
        term_start: 1.0,
    },
    Template {
        category: "Software",
        sub: "Transportation",
        taxonomy: None,
        weight: 2.0,
        subjects: &[
            "Bus tracking app wrong times",
            "Parents say bus app not updating",
            "Bus route missing in the app",
        ],
        bodies: &[
            "The bus tracking app shows the wrong pickup times for route 12.",
            "Parents report the bus app is not updating the bus location.",
            "Bus route 7 is missing from the tracking app.",
        ],
        resolutions: &["Re-published the bus routes to the tracking app"],
        hours: 4.0,
        term_start: 1.0,
    },
    Template {
        category: "Hardware",
        sub: "Phone",
        taxonomy: None,
        weight: 3.0,
        subjects: &[
            "Desk phone has no dial tone",
            "Voicemail light stuck on",
            "Phone handset crackling",
        ],
        bodies: &[
            "The desk phone in {room} has no dial tone.",
            "The voicemail light on my desk phone stays on with no messages.",
            "The phone handset in the front office crackles during calls.",
        ],
        resolutions: &["Replaced the phone cord", "Reset the voicemail indicator"],
        hours: 10.0,
        term_start: 1.0,
    },
];

const SITES: &[&str] = &[
    "Lincoln Middle School",
    "Westside Elementary",
    "Roosevelt High School",
    "Jefferson Elementary",
    "Oak Grove Elementary",
    "Washington High School",
    "Maple Early Learning Center",
    "Central Office",
];
const SITE_WEIGHTS: &[f64] = &[14.0, 10.0, 20.0, 10.0, 9.0, 20.0, 5.0, 6.0];
const FIRST: &[&str] = &[
    "Ann", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jamal", "Kim", "Luis",
    "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tara",
];
const LAST: &[&str] = &[
    "Lee", "Garcia", "Smith", "Nguyen", "Patel", "Johnson", "Brown", "Lopez", "Miller", "Okafor",
    "Kowalski", "Chen", "Rossi", "Haddad", "Ortiz",
];
const GREETINGS: &[&str] = &["", "Hi,\n", "Hello team,\n", "Good morning,\n"];
const EXTRAS: &[&str] = &[
    "",
    "",
    " This is urgent, I have a class at 10.",
    " It happened yesterday too.",
    " Can someone come by today?",
];

fn nth_weekday(year: i32, month: u32, wd: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, wd, n).expect("valid date")
}

/// The US-style school calendar the generator uses: fall term from the third Monday of August
/// to the third Friday of December, spring term from the first Monday after January 2 to the last
/// Friday of May; Labor Day, Thanksgiving week, MLK Day and a spring-break week off.
pub fn school_calendar(start_year: i32, years: u32) -> SchoolCalendar {
    let mut cal = SchoolCalendar::default();
    let hol = |name: &str, start: NaiveDate, end: NaiveDate| Break {
        name: name.into(),
        start,
        end,
        evidence: None,
    };
    for y in start_year..start_year + years as i32 {
        let fall_start = nth_weekday(y, 8, Weekday::Mon, 3);
        let fall_end = nth_weekday(y, 12, Weekday::Fri, 3);
        cal.terms.push(Term {
            name: format!("Fall {y}"),
            start: fall_start,
            end: fall_end,
        });
        let spring_start = {
            let mut d = NaiveDate::from_ymd_opt(y + 1, 1, 3).expect("date");
            while d.weekday() != Weekday::Mon {
                d += TimeDelta::days(1);
            }
            d
        };
        let spring_end = {
            let mut d = NaiveDate::from_ymd_opt(y + 1, 5, 31).expect("date");
            while d.weekday() != Weekday::Fri {
                d -= TimeDelta::days(1);
            }
            d
        };
        cal.terms.push(Term {
            name: format!("Spring {}", y + 1),
            start: spring_start,
            end: spring_end,
        });
        let labor = nth_weekday(y, 9, Weekday::Mon, 1);
        cal.breaks.push(hol("Labor Day", labor, labor));
        let thanks = nth_weekday(y, 11, Weekday::Thu, 4);
        cal.breaks.push(hol(
            "Thanksgiving break",
            thanks - TimeDelta::days(3),
            thanks + TimeDelta::days(1),
        ));
        let mlk = nth_weekday(y + 1, 1, Weekday::Mon, 3);
        cal.breaks.push(hol("MLK Day", mlk, mlk));
        let spring_break = nth_weekday(y + 1, 3, Weekday::Mon, 3);
        cal.breaks.push(hol(
            "Spring break",
            spring_break,
            spring_break + TimeDelta::days(4),
        ));
    }
    cal
}

fn pick<T: Copy>(rng: &mut StdRng, v: &[T]) -> T {
    v[rng.random_range(0..v.len())]
}

fn pick_weighted(rng: &mut StdRng, cumulative: &[f64]) -> usize {
    let total = *cumulative.last().unwrap_or(&1.0);
    let r = rng.random::<f64>() * total;
    cumulative
        .partition_point(|c| *c <= r)
        .min(cumulative.len() - 1)
}

struct Person {
    name: String,
    email: String,
    site: usize,
}

/// Writes a synthetic export to the file `out`, and the school calendar it follows to
/// `calendar_out` when given; returns what was planted. A file that cannot be created or
/// written is an error naming it.
pub fn generate_files(
    o: &GenerateOptions,
    out: &std::path::Path,
    calendar_out: Option<&std::path::Path>,
) -> Result<GroundTruth> {
    let f = std::fs::File::create(out)
        .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let truth = generate(o, &mut w)?;
    w.flush()
        .map_err(|e| Error::io(format!("writing {}", out.display()), e))?;
    if let Some(c) = calendar_out {
        std::fs::write(c, truth.calendar.to_toml())
            .map_err(|e| Error::io(format!("writing {}", c.display()), e))?;
    }
    Ok(truth)
}

/// Writes a synthetic export to `out` and returns what was planted.
pub fn generate<W: Write>(o: &GenerateOptions, out: W) -> Result<GroundTruth> {
    if o.rows == 0 || o.years == 0 {
        return Err(Error::invalid(
            "generate",
            "rows and years must be positive",
        ));
    }
    // The command line's ranges, for callers of the library too (a year out of chrono's range
    // would otherwise stop the generator half-way).
    if o.rows > 10_000_000 || o.years > 50 || !(1970..=2999).contains(&o.start_year) {
        return Err(Error::invalid(
            "generate",
            format!(
                "rows must be 1 to 10,000,000 (got {}), years 1 to 50 (got {}), the start year \
                 1970 to 2999 (got {})",
                o.rows, o.years, o.start_year
            ),
        ));
    }
    let mut rng = StdRng::seed_from_u64(o.seed);
    let cal = school_calendar(o.start_year, o.years);
    let first = NaiveDate::from_ymd_opt(o.start_year, 8, 1).expect("date");
    let last = NaiveDate::from_ymd_opt(o.start_year + o.years as i32, 6, 30).expect("date");
    // Days and their weights: instructional days 1, summer weekdays 0.05 (staff prep), else 0.
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut day_w: Vec<f64> = Vec::new();
    let mut d = first;
    while d <= last {
        let w = if cal.is_instructional(d) {
            if o.effects && cal.in_term_start(d, 2) {
                2.0
            } else {
                1.0
            }
        } else if d.weekday().num_days_from_monday() < 5
            && cal.term_of(d).is_none()
            && !(d.month() == 12 || d.month() == 1)
        {
            0.05
        } else {
            0.0
        };
        if w > 0.0 {
            days.push(d);
            day_w.push(w);
        }
        d += TimeDelta::days(1);
    }
    let n_days = days.len();
    let span = (last - first).num_days() as f64;
    // Topic weights per day.
    let trend_topic = 1usize; // Chromebooks
    let topic_w = |day: NaiveDate, t: usize| -> f64 {
        let tpl = &TEMPLATES[t];
        let mut w = tpl.weight;
        if o.effects {
            if t == trend_topic {
                let x = (day - first).num_days() as f64 / span;
                w *= 0.5 + 1.5 * x;
            }
            if cal.in_term_start(day, 2) {
                w *= tpl.term_start;
            }
        }
        w
    };
    let mut day_total = Vec::with_capacity(n_days);
    let mut topic_cum: Vec<Vec<f64>> = Vec::with_capacity(n_days);
    for (i, &day) in days.iter().enumerate() {
        let mut cum = Vec::with_capacity(TEMPLATES.len());
        let mut acc = 0.0;
        for t in 0..TEMPLATES.len() {
            acc += topic_w(day, t);
            cum.push(acc);
        }
        day_total.push(day_w[i] * acc);
        topic_cum.push(cum);
    }
    let mut day_cum = Vec::with_capacity(n_days);
    let mut acc = 0.0;
    for w in &day_total {
        acc += w;
        day_cum.push(acc);
    }
    // Planted spikes (part of the row budget).
    let mut spikes_plan: Vec<(usize, Option<usize>, NaiveDate, usize, usize)> = Vec::new(); // topic, site, first day, days, extra
    if o.effects {
        let weekly = |t: usize| {
            let share = TEMPLATES[t].weight / TEMPLATES.iter().map(|x| x.weight).sum::<f64>();
            o.rows as f64 * share / (n_days as f64 / 5.0).max(1.0)
        };
        let mid_week = |term: usize, week: i64, wd: i64| {
            let t = &cal.terms[term.min(cal.terms.len() - 1)];
            week_start(t.start) + TimeDelta::days(7 * week + wd)
        };
        let wifi = 4usize;
        let printers = 3usize;
        let testing = 10usize;
        let size = |t: usize| ((3.0 * weekly(t)).ceil() as usize).max(25);
        spikes_plan.push((wifi, Some(2), mid_week(2, 7, 2), 1, size(wifi)));
        spikes_plan.push((printers, None, mid_week(1, 5, 1), 2, size(printers)));
        let testing_week = mid_week(5, 13, 0);
        spikes_plan.push((testing, None, testing_week, 5, size(testing)));
    }
    let spike_rows: usize = spikes_plan.iter().map(|s| s.4).sum();
    let base_rows = o.rows.saturating_sub(spike_rows);

    // People.
    let n_people = (o.rows / 15).clamp(60, 20_000);
    let site_cum: Vec<f64> = SITE_WEIGHTS
        .iter()
        .scan(0.0, |a, w| {
            *a += w;
            Some(*a)
        })
        .collect();
    let people: Vec<Person> = (0..n_people)
        .map(|i| {
            let f = FIRST[i % FIRST.len()];
            let l = LAST[(i / FIRST.len()) % LAST.len()];
            let site = pick_weighted(&mut rng, &site_cum);
            Person {
                name: format!("{f} {l}"),
                email: format!(
                    "{}.{}{}@district.example.org",
                    f.to_lowercase(),
                    l.to_lowercase(),
                    i / (FIRST.len() * LAST.len())
                ),
                site,
            }
        })
        .collect();

    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::invalid("generate", e.to_string());
    w.write_record([
        "Ticket Id",
        "Subject",
        "Description",
        "Status",
        "Priority",
        "Created Time",
        "Resolved Time",
        "Category",
        "Sub-Category",
        "Requester Email",
        "Location",
        "Resolution Notes",
    ])
    .map_err(io)?;
    // Sample (day, topic, site) for every row, then sort by time so ids rise with time.
    let mut rows: Vec<(NaiveDateTime, usize, Option<usize>)> = Vec::with_capacity(o.rows);
    for _ in 0..base_rows {
        let di = pick_weighted(&mut rng, &day_cum);
        let t = pick_weighted(&mut rng, &topic_cum[di]);
        rows.push((at_time(&mut rng, days[di]), t, None));
    }
    let mut planted = Vec::new();
    for &(t, site, start, n_days, extra) in &spikes_plan {
        for k in 0..extra {
            let day = start + TimeDelta::days((k % n_days) as i64);
            rows.push((at_time(&mut rng, day), t, site));
        }
        planted.push(PlantedSpike {
            topic: TEMPLATES[t]
                .taxonomy
                .unwrap_or(TEMPLATES[t].sub)
                .to_string(),
            site: site.map(|s| SITES[s].to_string()),
            week: week_start(start),
            extra,
        });
    }
    rows.sort_by_key(|r| r.0);
    let end_of_data = rows.last().map(|r| r.0).unwrap_or_default();
    for (i, (created, t, site)) in rows.iter().enumerate() {
        let tpl = &TEMPLATES[*t];
        let person = loop {
            let p = &people[rng.random_range(0..people.len())];
            if site.is_none_or(|s| p.site == s) {
                break p;
            }
        };
        let room = format!("room {}", rng.random_range(100..340));
        let asset = format!(
            "{}-{:05}",
            if tpl.sub == "Chromebook" { "CB" } else { "TAG" },
            rng.random_range(0..99_999)
        );
        let fill = |s: &str| s.replace("{room}", &room).replace("{asset}", &asset);
        // Subject and body usually tell the same story; sometimes the body wanders.
        let si = rng.random_range(0..tpl.subjects.len());
        let subject = tpl.subjects[si].to_string();
        let bi = if rng.random_range(0..10) < 8 {
            si % tpl.bodies.len()
        } else {
            rng.random_range(0..tpl.bodies.len())
        };
        let mut body = String::new();
        body.push_str(pick(&mut rng, GREETINGS));
        body.push_str(&fill(tpl.bodies[bi]));
        body.push_str(pick(&mut rng, EXTRAS));
        match rng.random_range(0..10) {
            0..=3 => body.push_str(&format!("\n--\n{}\n{}", person.name, SITES[person.site])),
            4 => body.push_str("\nSent from my iPhone"),
            5 => body.push_str(&format!(
                "\n\nOn {} Help Desk <helpdesk@district.example.org> wrote:\n> We received your request.",
                created.format("%a, %b %-d, %Y")
            )),
            _ => {}
        }
        let hours = (tpl.hours * (-(1.0 - rng.random::<f64>()).ln())).max(0.05);
        let resolved = *created + TimeDelta::seconds((hours * 3600.0) as i64);
        let open = resolved > end_of_data;
        let priority = if tpl.sub == "Wi-Fi" || rng.random_range(0..10) == 0 {
            "High"
        } else {
            "Medium"
        };
        w.write_record([
            format!("INC-{}", 10_000 + i),
            subject,
            body,
            (if open { "Open" } else { "Closed" }).to_string(),
            priority.to_string(),
            created.format("%Y-%m-%d %H:%M:%S").to_string(),
            if open {
                String::new()
            } else {
                resolved.format("%Y-%m-%d %H:%M:%S").to_string()
            },
            tpl.category.to_string(),
            tpl.sub.to_string(),
            person.email.clone(),
            SITES[site.unwrap_or(person.site)].to_string(),
            if open {
                String::new()
            } else {
                fill(pick(&mut rng, tpl.resolutions))
            },
        ])
        .map_err(io)?;
    }
    w.flush()
        .map_err(|e| Error::io("writing generated export", e))?;
    Ok(GroundTruth {
        calendar: cal,
        spikes: planted,
        trend: o.effects.then(|| ("Chromebooks".to_string(), 0.5, 2.0)),
        untaxonomised_topics: vec!["cafeteria".into(), "destiny".into(), "bus".into()],
        faq_question: "How do I reset my password?".into(),
        rows: rows.len(),
    })
}

fn at_time(rng: &mut StdRng, day: NaiveDate) -> NaiveDateTime {
    // School hours, busiest in the morning.
    let minutes = 7 * 60 + (rng.random::<f64>().powf(1.4) * 9.0 * 60.0) as u32;
    let secs = rng.random_range(0..60);
    NaiveDateTime::new(
        day,
        NaiveTime::from_hms_opt(minutes / 60, minutes % 60, secs).expect("time"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_options_out_of_range_with_an_error() {
        for o in [
            GenerateOptions {
                rows: 0,
                ..Default::default()
            },
            GenerateOptions {
                rows: 10_000_001,
                ..Default::default()
            },
            GenerateOptions {
                years: 51,
                ..Default::default()
            },
            GenerateOptions {
                start_year: 1969,
                ..Default::default()
            },
            GenerateOptions {
                start_year: 300_000,
                ..Default::default()
            },
        ] {
            let e = generate(&o, std::io::sink()).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{o:?}: {e}");
        }
        let truth = generate(
            &GenerateOptions {
                rows: 50,
                start_year: 2999,
                years: 1,
                ..Default::default()
            },
            std::io::sink(),
        )
        .unwrap();
        assert!(truth.rows >= 50, "{}", truth.rows);
    }
}
