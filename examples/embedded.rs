//! Embedding forewarn in your own program: two checks built in code, a log sink, one round.
//!
//! `cargo run --example embedded`

use std::sync::Arc;
use std::time::Duration;

use forewarn::http_client::HttpClients;
use forewarn::sink::LogSink;
use forewarn::{CheckSpec, Monitor, ProbeConfig};

#[tokio::main]
async fn main() -> forewarn::Result<()> {
    // A service to watch: a listener on a free loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| forewarn::Error::io("binding a loopback port", e))?;
    let port = listener.local_addr().expect("bound").port();

    let clients = HttpClients::new();
    let tcp: ProbeConfig =
        toml::from_str(&format!("type = \"tcp\"\ntarget = \"127.0.0.1:{port}\""))
            .map_err(|e| forewarn::Error::invalid("probe", e.to_string()))?;
    let host: ProbeConfig = toml::from_str("type = \"host\"")
        .map_err(|e| forewarn::Error::invalid("probe", e.to_string()))?;

    let monitor = Monitor::builder()
        .check(
            CheckSpec::new("app-server", tcp.build(&clients)?)
                .interval(Duration::from_secs(5))
                .timeout(Duration::from_secs(2))
                .label("owner", "ict@district.example"),
        )
        .check(CheckSpec::new("this-machine", host.build(&clients)?))
        .sink("console", Arc::new(LogSink::stdout()))
        .build()?;

    for check in monitor.run_once().await? {
        println!("{:<13} {:<8} {}", check.name, check.status, check.summary);
    }
    drop(listener);
    Ok(())
}
