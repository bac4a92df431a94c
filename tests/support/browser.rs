//! Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! NUL-separated JSON on file descriptors 3 and 4), so nothing but the server under test
//! listens. Chromium is the Debian package `chromium` (scripts/test.sh installs it).
//!
//! Included with `#[path = "support/browser.rs"] mod browser;`; not every includer uses every
//! item.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The Chromium on `PATH`, if any.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: a plain pipe2 call into a local array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

pub struct Chromium {
    child: Child,
    to: std::fs::File,
    from: mpsc::Receiver<Value>,
    next: u64,
    /// Every event received, in order.
    pub events: Vec<Value>,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromium {
    /// Starts it with its own profile in `profile`, sending any request that is not to
    /// loopback to `proxy` (which records it).
    pub fn start(exe: &Path, profile: &Path, proxy: &str) -> Chromium {
        let (to_r, to_w) = pipe();
        let (from_r, from_w) = pipe();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-client-side-phishing-detection",
            "--disable-domain-reliability",
            "--no-pings",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
            "--window-size=412,915",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--proxy-server=http://{proxy}"))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec. The
        // ends are first moved above 10 so that placing them on 3 and 4 cannot clobber
        // one another.
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::fcntl(to_r, libc::F_DUPFD, 10);
                let w = libc::fcntl(from_w, libc::F_DUPFD, 10);
                if r < 0 || w < 0 || libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("chromium starts");
        // SAFETY: the parent's copies of the child's ends are closed; the others are owned
        // by the files made from them.
        unsafe {
            libc::close(to_r);
            libc::close(from_w);
        }
        let to = unsafe { std::fs::File::from_raw_fd(to_w) };
        let from = unsafe { std::fs::File::from_raw_fd(from_r) };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(from);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        Chromium {
            child,
            to,
            from: rx,
            next: 1,
            events: Vec::new(),
        }
    }

    /// Sends `method` (to the page's session when given) and waits for its answer,
    /// keeping the events that arrive meanwhile.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no answer to {method}: {e}"));
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(err) = v.get("error") {
                    panic!("{method} failed: {err}");
                }
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits until an event named `method` has arrived.
    pub fn wait_for(&mut self, method: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.events.iter().any(|e| e["method"] == method) {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no {method} event: {e}"));
            self.events.push(v);
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    pub fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// Opens a new tab on `url` with the runtime, log, network and page events on, and waits
    /// for its load event (and a moment for late console messages); returns the tab's session.
    pub fn open(&mut self, url: &str) -> String {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in [
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
            "Page.enable",
        ] {
            self.call(Some(&session), domain, json!({}));
        }
        self.call(Some(&session), "Page.navigate", json!({"url": url}));
        self.wait_for("Page.loadEventFired");
        std::thread::sleep(Duration::from_millis(300));
        session
    }

    /// Writes a PNG of the whole page to `path` (its folder made when missing).
    pub fn screenshot(&mut self, session: &str, path: &Path) {
        use base64::Engine;
        let shot = self.call(
            Some(session),
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &png).unwrap();
    }
}

/// The events that show a fault of the page: exceptions, console errors, log errors and
/// warnings (CSP violations are reported there), failed loads.
pub fn problems(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| match e["method"].as_str() {
            Some("Runtime.exceptionThrown") => true,
            Some("Runtime.consoleAPICalled") => e["params"]["type"] == "error",
            Some("Log.entryAdded") => {
                matches!(
                    e["params"]["entry"]["level"].as_str(),
                    Some("error" | "warning")
                )
            }
            Some("Network.loadingFailed") => true,
            _ => false,
        })
        .collect()
}
