//! One pass of every check of a config, timed: the config read and the monitor built
//! (`Monitor::from_config`), then `run_once`.
//!
//! `cargo run --example run_once -- [CONFIG]`
//!
//! Without a config it times 1,000 TCP checks of a loopback listener of its own, with the
//! history in a temporary directory. `benches/python_probe.py` and `benches/node_probe.mjs` run
//! it beside the Python and Node packages on the same config.

use std::time::Instant;

use forewarn::{Config, Monitor, Status};

#[tokio::main]
async fn main() -> forewarn::Result<()> {
    let dir = tempfile::tempdir().map_err(|e| forewarn::Error::io("a temporary directory", e))?;
    let path = match std::env::args().nth(1) {
        Some(path) => path.into(),
        None => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| forewarn::Error::io("binding a loopback port", e))?;
            let port = listener.local_addr().expect("bound").port();
            tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    drop(conn);
                }
            });
            let mut text = format!(
                "[monitor]\ndatabase = {:?}\n",
                dir.path().join("h.db").display().to_string()
            );
            for i in 0..1000 {
                text.push_str(&format!(
                    "\n[[checks]]\nname = \"tcp-{i}\"\ntype = \"tcp\"\n\
                     target = \"127.0.0.1:{port}\"\ntimeout = \"5s\"\n"
                ));
            }
            let path = dir.path().join("tcp.toml");
            std::fs::write(&path, text).map_err(|e| forewarn::Error::io("writing", e))?;
            path
        }
    };
    let started = Instant::now();
    let config = Config::from_file(&path)?;
    let monitor = Monitor::from_config(&config).await?;
    let built = started.elapsed();
    let results = monitor.run_once().await?;
    let pass = started.elapsed() - built;
    let ok = results
        .iter()
        .filter(|c| c.name != forewarn::monitor::HISTORY_STORE_CHECK && c.status == Status::Ok)
        .count();
    println!("{} {} {ok}", built.as_secs_f64(), pass.as_secs_f64());
    Ok(())
}
