//! The HTTP side of the status server: routes, the admin API's authentication, security
//! headers, limits, and an accept loop with a connection cap and graceful shutdown.

// The helpers' error is the answer sent to the client, built once per refused request.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::Utc;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::model::PlannedMaintenance;
use super::{StatusConfig, StatusLimits, StatusSource, feed, help, html, metrics};
use crate::ack::AckSigner;
use crate::clock::Zone;
use crate::error::{Error, Result};

/// The Content-Security-Policy of every response: nothing but our own stylesheet, images from
/// ourselves or `data:` URLs, forms posting back to us, no framing, no scripts at all.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// How long open connections may finish their requests once shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The longest name accepted from the acknowledgement form.
const MAX_NAME_CHARS: usize = 100;

/// The longest note accepted from the acknowledgement form (its field's `maxlength`).
const MAX_NOTE_CHARS: usize = 500;

struct Shared {
    source: Arc<dyn StatusSource>,
    zone: Zone,
    title: Option<String>,
    /// The last title the source gave, for pages that do not ask it.
    last_title: parking_lot::RwLock<String>,
    base: String,
    authority: String,
    help_dir: Option<PathBuf>,
    signer: Option<AckSigner>,
    /// SHA-256 of the admin token: compared digest to digest, so neither its bytes nor its
    /// length show in the time a comparison takes.
    admin_token: Option<[u8; 32]>,
    metrics: bool,
    /// Where agents' pushes go, once [`StatusServer::accept_agents`] is called.
    agents: parking_lot::RwLock<Option<Arc<dyn crate::agents::AgentIngest>>>,
}

/// The largest push an agent may send.
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;

type AppState = Arc<Shared>;

impl Shared {
    fn site(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| self.last_title.read().clone())
    }
}

/// The status server, bound to its address and ready to [`serve`](StatusServer::serve).
pub struct StatusServer {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    router: Router,
    limits: StatusLimits,
    shared: AppState,
}

impl std::fmt::Debug for StatusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusServer")
            .field("local_addr", &self.local_addr)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl StatusServer {
    /// Checks `config`, binds its address (port 0 picks a free one) and prepares the routes;
    /// people see times in `zone`. Serving starts with [`serve`](StatusServer::serve).
    pub fn bind(
        config: &StatusConfig,
        source: Arc<dyn StatusSource>,
        zone: Zone,
    ) -> Result<StatusServer> {
        config.validate()?;
        let addr = config.listen_addr()?;
        let listener = listen(addr)
            .map_err(|e| Error::io(format!("status server: listening on {addr}"), e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("status server: setting the socket non-blocking", e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::io("status server: reading the bound address", e))?;
        let base = config
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let authority = url::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| local_addr.ip().to_string());
        let signer = config
            .ack_secret
            .as_ref()
            .map(AckSigner::from_secret)
            .transpose()?;
        let admin_token = config.admin_token()?.map(|t| Sha256::digest(&t).into());
        let shared = Arc::new(Shared {
            source,
            zone,
            title: config.title.clone(),
            last_title: parking_lot::RwLock::new("Service status".to_owned()),
            base,
            authority,
            help_dir: config.help_dir.clone(),
            signer,
            admin_token,
            metrics: config.metrics,
            agents: parking_lot::RwLock::new(None),
        });
        let router = router(shared.clone(), &config.limits);
        Ok(StatusServer {
            listener,
            local_addr,
            router,
            limits: config.limits.clone(),
            shared,
        })
    }

    /// Takes agents' pushes on `POST /api/v1/agents/push` (bearer token of the agent, JSON
    /// body of at most 4 MiB), handing them to `ingest`; without it that route answers 404.
    pub fn accept_agents(&self, ingest: Arc<dyn crate::agents::AgentIngest>) {
        *self.shared.agents.write() = Some(ingest);
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting, lets open requests finish
    /// for up to 5 seconds and returns. At most `limits.max_connections` connections are
    /// served at once; more wait in the listen queue.
    pub async fn serve<F>(self, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .map_err(|e| Error::io("status server: registering the socket", e))?;
        let permits = Arc::new(Semaphore::new(self.limits.max_connections));
        let graceful = GracefulShutdown::new();
        let router = self.router;
        let header_timeout = self.limits.header_timeout;
        tokio::pin!(shutdown);
        tracing::info!(addr = %self.local_addr, "status server listening");
        loop {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "status server: accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            // Each request knows the connection's peer (`Peer`): refused agent pushes
            // are logged with the address they came from.
            let service =
                TowerToHyperService::new(router.clone().layer(axum::Extension(Peer(peer))));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "status server: connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(SHUTDOWN_GRACE) => {
                tracing::warn!("status server: connections still open after {SHUTDOWN_GRACE:?} were closed");
            }
        }
        tracing::info!("status server stopped");
        Ok(())
    }
}

/// The address a request's connection came from.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

/// A listening socket on `addr`. On Unix the address is reusable at once: a restarted server
/// gets its port back although connections of the last one linger in TIME_WAIT.
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

fn router(state: AppState, limits: &StatusLimits) -> Router {
    let api = Router::new()
        .route("/incidents/{id}/note", post(api_note))
        .route("/incidents/{id}/ack", post(api_ack))
        .route("/incidents/{id}/resolve", post(api_resolve))
        .route("/maintenance", post(api_schedule))
        .route("/maintenance/{id}", delete(api_cancel))
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_admin));
    let push = Router::new()
        .route(crate::agents::PUSH_PATH, post(agents_push))
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(MAX_PUSH_BYTES));
    Router::new()
        .route("/", get(index))
        .route("/status.json", get(status_json))
        .route("/feed.atom", get(feed_atom))
        .route("/autoreply.txt", get(autoreply))
        .route("/metrics", get(metrics_text))
        .route("/static/style.css", get(style))
        .route("/ack/{token}", get(ack_form).post(ack_submit))
        .route("/help", get(help_index))
        .route("/help/{slug}", get(help_page))
        .nest("/api", api)
        .fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .merge(push)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(middleware::map_response(security_headers))
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn with_type(
    status: StatusCode,
    content_type: &'static str,
    cache: &'static str,
    body: String,
) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

const HTML: &str = "text/html; charset=utf-8";

fn page(status: StatusCode, body: String) -> Response {
    with_type(status, HTML, "no-store", body)
}

fn message(state: &Shared, status: StatusCode, heading: &str, text: &str) -> Response {
    page(status, html::message_page(&state.site(), heading, text))
}

/// The public summary, or the page saying it cannot be had (details go to the log only).
async fn public(state: &Shared) -> std::result::Result<super::PublicStatus, Response> {
    match state.source.public_status().await {
        Ok(s) => {
            if state.title.is_none() && *state.last_title.read() != s.title {
                *state.last_title.write() = s.title.clone();
            }
            Ok(s)
        }
        Err(e) => {
            tracing::error!(error = %e, "status server: reading the public status failed");
            Err(message(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Status not available",
                "The status cannot be read right now. Please try again in a minute.",
            ))
        }
    }
}

async fn index(State(state): State<AppState>) -> Response {
    let status = match public(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let title = state.title.clone().unwrap_or_else(|| status.title.clone());
    with_type(
        StatusCode::OK,
        HTML,
        "no-cache",
        html::index(&status, &title, &state.zone, state.help_dir.is_some()),
    )
}

async fn status_json(State(state): State<AppState>) -> Response {
    match state.source.public_status().await {
        Ok(mut s) => {
            if let Some(t) = &state.title {
                s.title = t.clone();
            }
            match serde_json::to_string(&s) {
                Ok(body) => with_type(StatusCode::OK, "application/json", "no-cache", body),
                Err(e) => json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("encoding the status: {e}"),
                ),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "status server: reading the public status failed");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the status cannot be read right now",
            )
        }
    }
}

async fn feed_atom(State(state): State<AppState>) -> Response {
    let status = match public(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let title = state.title.clone().unwrap_or_else(|| status.title.clone());
    with_type(
        StatusCode::OK,
        "application/atom+xml; charset=utf-8",
        "no-cache",
        feed::render(&status, &title, &state.base, &state.authority, &state.zone),
    )
}

async fn autoreply(State(state): State<AppState>) -> Response {
    let status = match state.source.public_status().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "status server: reading the public status failed");
            return with_type(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                "no-store",
                "The status cannot be read right now.\n".to_owned(),
            );
        }
    };
    let title = state.title.clone().unwrap_or_else(|| status.title.clone());
    let body = match &status.autoreply {
        Some(t) => format!("{}\n\n{}\n", t.subject.trim_end(), t.body.trim_end()),
        None => format!(
            "{title}: no known outages\n\nNo outage is known as of {}.\n",
            state.zone.minute(status.generated_at)
        ),
    };
    with_type(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        "no-cache",
        body,
    )
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    if !state.metrics {
        return not_found(State(state)).await;
    }
    match state.source.monitor_status().await {
        Ok(s) => with_type(
            StatusCode::OK,
            metrics::CONTENT_TYPE,
            "no-store",
            metrics::render(&s, Utc::now()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "status server: reading the monitor status failed");
            with_type(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                "no-store",
                "the monitor status cannot be read right now\n".to_owned(),
            )
        }
    }
}

async fn style() -> Response {
    with_type(
        StatusCode::OK,
        "text/css; charset=utf-8",
        "public, max-age=3600",
        html::STYLE_CSS.to_owned(),
    )
}

async fn not_found(State(state): State<AppState>) -> Response {
    message(
        &state,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}

/// Checks an acknowledgement token: the verdict, or the page saying why it is refused.
fn check_token(
    state: &Shared,
    token: &str,
) -> std::result::Result<crate::ack::AckVerdict, Response> {
    let Some(signer) = &state.signer else {
        return Err(message(
            state,
            StatusCode::NOT_FOUND,
            "Acknowledgement links are not enabled",
            "This server does not accept acknowledgement links. Acknowledge the incident from the command line or the admin API.",
        ));
    };
    signer.check(token, state.source.now()).map_err(|e| {
        let text = match &e {
            Error::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        };
        message(
            state,
            StatusCode::BAD_REQUEST,
            "This acknowledgement link cannot be used",
            &text,
        )
    })
}

/// GET `/ack/<token>`: a confirmation form. Nothing is acknowledged by opening the link (mail
/// scanners and previews open links).
async fn ack_form(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match check_token(&state, &token) {
        Ok(v) => page(
            StatusCode::OK,
            html::ack_form(
                &state.site(),
                token.trim(),
                v.incident_id,
                v.expires_at,
                &state.zone,
            ),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct AckFormBody {
    #[serde(default)]
    by: String,
    #[serde(default)]
    note: String,
}

/// POST `/ack/<token>`: acknowledges once.
async fn ack_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: std::result::Result<Form<AckFormBody>, FormRejection>,
) -> Response {
    let v = match check_token(&state, &token) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(Form(form)) = form else {
        return message(
            &state,
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "Open the acknowledgement link again and submit the form.",
        );
    };
    let by = form.by.trim();
    if by.is_empty()
        || by.chars().count() > MAX_NAME_CHARS
        || crate::text::control_char(by).is_some()
    {
        return message(
            &state,
            StatusCode::BAD_REQUEST,
            "Please give your name",
            &format!(
                "Your name (1 to {MAX_NAME_CHARS} characters) tells the others who is on it. Open the link again and fill in the form."
            ),
        );
    }
    // The note is optional; newlines typed into it become spaces, other control characters
    // are refused like the name's.
    let note = form.note.split_whitespace().collect::<Vec<_>>().join(" ");
    if note.chars().count() > MAX_NOTE_CHARS || crate::text::control_char(&note).is_some() {
        return message(
            &state,
            StatusCode::BAD_REQUEST,
            "The note is too long",
            &format!(
                "A note has at most {MAX_NOTE_CHARS} characters. Open the link again and shorten it."
            ),
        );
    }
    let note = (!note.is_empty()).then_some(note.as_str());
    match state
        .source
        .redeem_ack(&v.token_id, v.incident_id, v.expires_at, by, note)
        .await
    {
        Ok(incident) => page(
            StatusCode::OK,
            html::ack_done(&state.site(), &incident, &state.zone),
        ),
        Err(Error::Conflict(text)) => message(
            &state,
            StatusCode::CONFLICT,
            &format!("Incident #{} was not acknowledged", v.incident_id),
            &text,
        ),
        Err(Error::NotFound { .. }) => message(
            &state,
            StatusCode::NOT_FOUND,
            &format!("Incident #{} not found", v.incident_id),
            "There is no such incident (any more).",
        ),
        Err(Error::Invalid { message: text, .. }) => message(
            &state,
            StatusCode::BAD_REQUEST,
            &format!("Incident #{} was not acknowledged", v.incident_id),
            &text,
        ),
        Err(e) => {
            tracing::error!(error = %e, incident = v.incident_id, "status server: acknowledging failed");
            message(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("Incident #{} was not acknowledged", v.incident_id),
                "Something went wrong on our side. Please try again in a minute.",
            )
        }
    }
}

async fn help_index(State(state): State<AppState>) -> Response {
    let Some(dir) = state.help_dir.clone() else {
        return not_found(State(state)).await;
    };
    match tokio::task::spawn_blocking(move || help::index(&dir)).await {
        Ok(Ok(pages)) => {
            let entries: Vec<_> = pages
                .iter()
                .map(|p| html::HelpEntry {
                    slug: &p.slug,
                    title: &p.title,
                    summary: p.summary.as_deref(),
                })
                .collect();
            with_type(
                StatusCode::OK,
                HTML,
                "no-cache",
                html::help_index(&state.site(), &entries),
            )
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "status server: listing help pages failed");
            message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Help not available",
                "The help pages cannot be read right now.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "status server: listing help pages panicked");
            message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Help not available",
                "The help pages cannot be read right now.",
            )
        }
    }
}

async fn help_page(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let Some(dir) = state.help_dir.clone() else {
        return not_found(State(state)).await;
    };
    if !help::valid_slug(&slug) {
        return not_found(State(state)).await;
    }
    match tokio::task::spawn_blocking(move || help::load(&dir, &slug)).await {
        Ok(Ok(Some(p))) if !p.draft => with_type(
            StatusCode::OK,
            HTML,
            "no-cache",
            html::help_page(&state.site(), &p.title, &p.html),
        ),
        Ok(Ok(_)) => not_found(State(state)).await,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "status server: help page not served");
            not_found(State(state)).await
        }
        Err(e) => {
            tracing::error!(error = %e, "status server: reading a help page panicked");
            message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Help not available",
                "This help page cannot be read right now.",
            )
        }
    }
}

// ---- admin API ----

fn json_error(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "error": text }))).into_response()
}

fn api_error(e: Error) -> Response {
    match e {
        Error::Invalid { .. } | Error::Config { .. } => {
            json_error(StatusCode::BAD_REQUEST, &e.to_string())
        }
        Error::NotFound { .. } => json_error(StatusCode::NOT_FOUND, &e.to_string()),
        Error::Conflict(_) => json_error(StatusCode::CONFLICT, &e.to_string()),
        other => {
            tracing::error!(error = %other, "status server: admin API request failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the server's log has the details",
            )
        }
    }
}

fn rejection(r: JsonRejection) -> Response {
    let status = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    json_error(status, &format!("request body: {}", r.body_text()))
}

async fn require_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.admin_token else {
        return json_error(
            StatusCode::NOT_FOUND,
            "the admin API is off: set its token's environment variable (admin_token_env) and restart",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let ok = given.is_some_and(|t| {
        let digest: [u8; 32] = Sha256::digest(t.as_bytes()).into();
        bool::from(digest.ct_eq(expected))
    });
    if !ok {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (Authorization: Bearer <token>)",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"forewarn admin\""),
        );
        return r;
    }
    next.run(request).await
}

async fn api_not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such admin API route")
}

fn incident_id(raw: &str) -> std::result::Result<i64, Response> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "`{}` is not an incident id (a positive whole number)",
                crate::text::excerpt(&crate::text::printable(raw))
            ),
        )
    })
}

fn person(by: &str) -> std::result::Result<&str, Response> {
    let by = by.trim();
    if by.is_empty()
        || by.chars().count() > MAX_NAME_CHARS
        || crate::text::control_char(by).is_some()
    {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "`by` must name who acts: 1 to {MAX_NAME_CHARS} characters, no control characters"
            ),
        ));
    }
    Ok(by)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    by: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    by: String,
    #[serde(default)]
    note: Option<String>,
}

fn incident_json(i: &crate::Incident) -> Response {
    (StatusCode::OK, axum::Json(i)).into_response()
}

async fn api_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: std::result::Result<axum::Json<NoteBody>, JsonRejection>,
) -> Response {
    let id = match incident_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let axum::Json(body) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    let by = match person(&body.by) {
        Ok(by) => by,
        Err(r) => return r,
    };
    if body.text.trim().is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "`text` must not be empty");
    }
    match state.source.note(id, by, body.text.trim()).await {
        Ok(i) => incident_json(&i),
        Err(e) => api_error(e),
    }
}

async fn api_ack(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: std::result::Result<axum::Json<ActBody>, JsonRejection>,
) -> Response {
    let id = match incident_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let axum::Json(body) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    let by = match person(&body.by) {
        Ok(by) => by,
        Err(r) => return r,
    };
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match state.source.acknowledge(id, by, note).await {
        Ok(i) => incident_json(&i),
        Err(e) => api_error(e),
    }
}

async fn api_resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: std::result::Result<axum::Json<ActBody>, JsonRejection>,
) -> Response {
    let id = match incident_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let axum::Json(body) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    let by = match person(&body.by) {
        Ok(by) => by,
        Err(r) => return r,
    };
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match state.source.resolve(id, by, note).await {
        Ok(i) => incident_json(&i),
        Err(e) => api_error(e),
    }
}

async fn api_schedule(
    State(state): State<AppState>,
    body: std::result::Result<axum::Json<PlannedMaintenance>, JsonRejection>,
) -> Response {
    let axum::Json(plan) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    if let Err(e) = plan.validate() {
        return api_error(e);
    }
    match state.source.schedule_maintenance(plan).await {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response(),
        Err(e) => api_error(e),
    }
}

async fn api_cancel(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.source.cancel_maintenance(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => api_error(e),
    }
}

// ---- agents ----

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

async fn agents_push(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    body: std::result::Result<axum::Json<crate::agents::Push>, JsonRejection>,
) -> Response {
    use crate::agents::PushError;
    let Some(ingest) = state.agents.read().clone() else {
        return json_error(StatusCode::NOT_FOUND, "this server takes no agent pushes");
    };
    let unauthorized = || {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "missing or unknown agent token (Authorization: Bearer <token>)",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"forewarn agents\""),
        );
        r
    };
    let peer = peer.map(|axum::Extension(Peer(p))| p);
    let Some(token) = bearer(&headers) else {
        tracing::warn!(peer = %peer.map_or_else(|| "unknown".into(), |p| p.ip().to_string()), "agents: refused a push without a bearer token");
        return unauthorized();
    };
    let axum::Json(push) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    match ingest.push(token, push, peer).await {
        Ok(reply) => (StatusCode::OK, axum::Json(reply)).into_response(),
        Err(PushError::Unauthorized) => unauthorized(),
        Err(PushError::Forbidden(m)) => json_error(StatusCode::FORBIDDEN, &m),
        Err(PushError::Invalid(m)) => json_error(StatusCode::BAD_REQUEST, &m),
        Err(PushError::Unavailable(m)) => json_error(StatusCode::SERVICE_UNAVAILABLE, &m),
        Err(PushError::Internal(e)) => {
            tracing::error!(error = %e, "status server: an agent push failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the server's log has the details",
            )
        }
    }
}
