//! The per-observation cost of the pure state machine and of the history write, against a
//! baseline measured in the same run (cloning the observation the monitor keeps).

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use forewarn::{CheckState, Observation, StatePolicy, Status};

fn bench(c: &mut Criterion) {
    let policy = StatePolicy::default();
    let obs = Observation::new(Status::Ok, "connected to 10.0.0.1:22 in 1 ms", Utc::now())
        .with_metric("connect_time", 0.001, "s");
    c.bench_function("baseline: clone an observation", |b| {
        b.iter(|| black_box(obs.clone()))
    });
    c.bench_function("state machine: steady ok observation", |b| {
        let mut s = CheckState::default();
        let now = Utc::now();
        b.iter(|| black_box(s.observe(&policy, Status::Ok, now, None)))
    });
    c.bench_function("state machine: alternating (flapping) observations", |b| {
        let mut s = CheckState::default();
        let mut now = Utc::now();
        let mut up = true;
        b.iter(|| {
            now += chrono::Duration::seconds(5);
            up = !up;
            let st = if up { Status::Ok } else { Status::Critical };
            black_box(s.observe(&policy, st, now, None))
        })
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = forewarn::SqliteStore::open(dir.path().join("b.db")).unwrap();
    let batch: Vec<(std::sync::Arc<str>, Observation)> = (0..1000)
        .map(|i| (format!("check-{}", i % 100).into(), obs.clone()))
        .collect();
    c.bench_function("history: write a batch of 1000 observations", |b| {
        use forewarn::Store;
        // The batch is handed over: a copy is made outside the timed part.
        b.iter_batched(
            || batch.clone(),
            |batch| rt.block_on(store.record_observations(batch)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
