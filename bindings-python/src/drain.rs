//! Where Python methods called by the core (probes and sinks) run: in batches, on threads of
//! the runtime's blocking pool, never on a tokio worker.
//!
//! A call is queued; a drainer thread takes the GIL once and runs the queued calls one after
//! the other while there are any, so a busy schedule pays for one thread switch and one Python
//! thread state per batch instead of per call. A call that blocks (a synchronous probe waiting
//! on the network) does not hold up the others: a call still waiting after [`STALL`] with no
//! call finished meanwhile starts another drainer, so the others run beside the blocked one,
//! as before batching.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::sync::oneshot;

use crate::runtime::lock;

/// Work for Python, run with the GIL held.
pub(crate) type Job = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

/// How long the queue may go without a call finishing, while calls wait, before another
/// drainer starts.
const STALL: Duration = Duration::from_millis(5);

/// The most drainers at once (the blocking pool's default size).
const MAX_DRAINERS: usize = 512;

/// The calls waiting for a drainer, and the number of drainers, of one process.
struct Queue {
    /// The process the calls belong to (a forked child starts with an empty queue).
    pid: u32,
    jobs: VecDeque<Job>,
    drainers: usize,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    pid: 0,
    jobs: VecDeque::new(),
    drainers: 0,
});

/// When a call last finished (or a drainer last started), in nanoseconds since [`origin`].
static PROGRESS: AtomicU64 = AtomicU64::new(0);

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(origin().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The queue of this process.
fn queue() -> std::sync::MutexGuard<'static, Queue> {
    let mut q = lock(&QUEUE);
    let pid = std::process::id();
    if q.pid != pid {
        // Inherited from a parent: its calls and drainers are not this process's.
        std::mem::forget(std::mem::take(&mut q.jobs));
        q.pid = pid;
        q.drainers = 0;
    }
    q
}

/// Starts a drainer on the blocking pool (the queue's lock held by the caller).
fn start_drainer(q: &mut Queue) {
    q.drainers += 1;
    PROGRESS.store(now_ns(), Ordering::Relaxed);
    tokio::task::spawn_blocking(drain);
}

/// Runs queued calls with the GIL held until the queue is empty.
fn drain() {
    Python::attach(|py| {
        loop {
            let job = {
                let mut q = queue();
                match q.jobs.pop_front() {
                    Some(job) => job,
                    None => {
                        q.drainers = q.drainers.saturating_sub(1);
                        return;
                    }
                }
            };
            job(py);
            PROGRESS.store(now_ns(), Ordering::Relaxed);
        }
    });
}

/// Starts another drainer when calls wait and none has finished for [`STALL`].
fn nudge() {
    let mut q = queue();
    let stalled =
        now_ns().saturating_sub(PROGRESS.load(Ordering::Relaxed)) >= STALL.as_nanos() as u64;
    if !q.jobs.is_empty() && (q.drainers == 0 || (stalled && q.drainers < MAX_DRAINERS)) {
        start_drainer(&mut q);
    }
}

/// Runs `job` with the GIL held on a drainer, and waits (without blocking the tokio worker)
/// for what it answers. Must be called on the module's runtime.
pub(crate) async fn run<T: Send + 'static>(
    job: impl for<'py> FnOnce(Python<'py>) -> T + Send + 'static,
) -> Option<T> {
    let (tx, mut rx) = oneshot::channel();
    {
        let mut q = queue();
        q.jobs.push_back(Box::new(move |py| {
            let _ = tx.send(job(py));
        }));
        if q.drainers == 0 {
            start_drainer(&mut q);
        }
    }
    loop {
        match tokio::time::timeout(STALL, &mut rx).await {
            Ok(answer) => return answer.ok(),
            Err(_) => nudge(),
        }
    }
}
