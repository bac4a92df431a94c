//! Help-desk mining at district scale: generate N synthetic tickets (default 200,000; set
//! `TICKETS_BENCH_ROWS=1000000` for the full benchmark), then time ingest, the full analysis and
//! the report. Run with `cargo bench -p forewarn --bench tickets`.

use std::time::Instant;

use forewarn::tickets::generate::{self, GenerateOptions};
use forewarn::tickets::ingest::{self, IngestOptions, IngestSummary};
use forewarn::tickets::report::Report;
use forewarn::tickets::{AnalysisOptions, TopicOptions, analyze_with_progress};

fn main() {
    let rows: usize = std::env::var("TICKETS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut csv = Vec::with_capacity(rows * 260);
    let t = Instant::now();
    generate::generate(
        &GenerateOptions {
            rows,
            seed: 1,
            ..Default::default()
        },
        &mut csv,
    )
    .expect("generate");
    println!(
        "generated {rows} tickets ({:.1} MB) in {:.2} s",
        csv.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let mut tickets = Vec::new();
    let mut summary = IngestSummary::default();
    ingest::read_bytes(
        "bench.csv",
        &csv,
        &IngestOptions::default(),
        &mut tickets,
        &mut summary,
    )
    .expect("ingest");
    let mut last = Instant::now();
    println!("{:>16} {:>8.3} s", "ingest", start.elapsed().as_secs_f64());
    let options = AnalysisOptions {
        topics: TopicOptions {
            k: Some(60),
            cluster_all: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut stage = String::new();
    let analysis = analyze_with_progress(&tickets, &options, &mut |s| {
        if !stage.is_empty() {
            println!("{stage:>16} {:>8.3} s", last.elapsed().as_secs_f64());
        }
        stage = s.to_string();
        last = Instant::now();
    })
    .expect("analyze");
    println!("{stage:>16} {:>8.3} s", last.elapsed().as_secs_f64());
    let t = Instant::now();
    let report = Report {
        title: "bench".into(),
        generated_at: String::new(),
        inputs: vec!["bench.csv".into()],
        ingest: &summary,
        analysis: &analysis,
    };
    report
        .write(&dir.path().join("r.html"), &dir.path().join("r.json"))
        .expect("report");
    println!("{:>16} {:>8.3} s", "report", t.elapsed().as_secs_f64());
    println!(
        "{:>16} {:>8.3} s for {rows} tickets ({} topics, {} spikes, {} FAQ groups)",
        "total",
        start.elapsed().as_secs_f64(),
        analysis.topics.topics.len(),
        analysis.trends.spikes.len(),
        analysis.topics.groups.len()
    );
}
