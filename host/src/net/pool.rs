//! Connections the host keeps open for its guests, one set per origin (`scheme://host:port`),
//! shared by every call of a [`crate::Runtime`].
//!
//! - HTTP/1.1 connections are kept alive and reused one request at a time; a connection whose
//!   previous response is still being read is skipped, and a new one opened beside it.
//! - Over TLS the server may choose HTTP/2 (ALPN); one such connection carries every request to
//!   its origin at once.
//! - All TLS connections share one `rustls` client config, so a new connection resumes an
//!   earlier TLS session instead of a full handshake.
//!
//! The pool decides nothing about *whether* a request may go out: the egress hook
//! ([`crate::policy::EgressHooks`]) checks every request against the allow-list before it
//! reaches [`Pool::send`], the same for a reused connection as for a new one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// Idle HTTP/1.1 connections kept per origin; the oldest is closed past this.
const MAX_IDLE_PER_ORIGIN: usize = 8;

/// An idle connection older than this is closed rather than reused: servers close idle
/// keep-alive connections on their own clock, and a request sent into one that is closing
/// fails.
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// How long a request waits for a kept-alive HTTP/1.1 connection to be free again when none
/// is: the one whose response was just read becomes free only once its I/O task has seen the
/// end of the body, a moment later (longer on a loaded machine). Past this, a new connection
/// is opened, as for a connection that is really busy.
const FREE_AGAIN_WITHIN: Duration = Duration::from_millis(50);

/// Used where the guest gave no timeout (the egress hook always gives one).
const NO_TIMEOUT: Duration = Duration::from_secs(600);

/// A handle for sending requests on one connection.
enum Sender {
    H1(http1::SendRequest<WasiBody>),
    H2(http2::SendRequest<WasiBody>),
}

impl Sender {
    fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    fn is_ready(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_ready(),
            Sender::H2(s) => s.is_ready(),
        }
    }

    /// Send `req`; if the connection turned out closed before the request was written, the
    /// request comes back in the error so it can go out on another connection.
    async fn send(
        &mut self,
        req: http::Request<WasiBody>,
    ) -> Result<
        http::Response<hyper::body::Incoming>,
        (hyper::Error, Option<http::Request<WasiBody>>),
    > {
        let sent = match self {
            Sender::H1(s) => s.try_send_request(req).await,
            Sender::H2(s) => s.try_send_request(req).await,
        };
        sent.map_err(|mut e| {
            let unsent = e.take_message();
            (e.into_error(), unsent)
        })
    }
}

struct Idle {
    sender: Sender,
    since: Instant,
}

/// Open connections by origin. See the module docs.
pub struct Pool {
    tls: Arc<rustls::ClientConfig>,
    idle: Mutex<HashMap<String, Vec<Idle>>>,
    opened: AtomicU64,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::with_tls(default_tls())
    }
}

/// The web PKI roots, TLS 1.2 and 1.3, and ALPN offering HTTP/2 then HTTP/1.1.
fn default_tls() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl Pool {
    /// A pool whose TLS connections use `tls` (its ALPN list is set here: `h2`, `http/1.1`).
    /// Tests pass a config that trusts their own certificate authority.
    pub fn with_tls(mut tls: rustls::ClientConfig) -> Pool {
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Pool {
            tls: Arc::new(tls),
            idle: Mutex::default(),
            opened: AtomicU64::new(0),
        }
    }

    /// TCP connections this pool has opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Send one request to `origin` (the request's own, as the egress hook computed it) on a
    /// reused connection if one is free, else on a new one. The connect timeout bounds opening
    /// a connection (TCP, TLS, HTTP handshake), the first-byte timeout the wait for the
    /// response head, the between-bytes timeout each gap in the response body.
    pub async fn send(
        &self,
        origin: &str,
        mut req: http::Request<WasiBody>,
        options: RequestOptions,
    ) -> Result<http::Response<WasiBody>, Error> {
        let first_byte = options.first_byte_timeout.unwrap_or(NO_TIMEOUT);
        let between_bytes = options.between_bytes_timeout.unwrap_or(NO_TIMEOUT);
        let mut reuse = true;
        loop {
            let pooled = if reuse {
                self.checkout(origin).await
            } else {
                None
            };
            let from_pool = pooled.is_some();
            let mut sender = match pooled {
                Some(s) => s,
                None => self.connect(req.uri(), options.connect_timeout).await?,
            };
            let prepared = prepare(req, &sender);
            match tokio::time::timeout(first_byte, sender.send(prepared)).await {
                Err(_) => return Err(Error::ConnectionReadTimeout),
                Ok(Ok(res)) => {
                    self.checkin(origin, sender);
                    return Ok(
                        res.map(|incoming| TimedBody::new(incoming, between_bytes).boxed_unsync())
                    );
                }
                // A pooled connection closed before the request went out: try a new one.
                Ok(Err((_, Some(unsent)))) if from_pool => {
                    req = unsent;
                    reuse = false;
                }
                Ok(Err((e, _))) => return Err(Error::from(e)),
            }
        }
    }

    /// A free connection to `origin`: any live HTTP/2 one (shared), else the most recently
    /// used free HTTP/1.1 one, else the most recently used HTTP/1.1 one if it is free again
    /// within [`FREE_AGAIN_WITHIN`]. Closed and stale connections are dropped on the way.
    async fn checkout(&self, origin: &str) -> Option<Sender> {
        let busy = {
            let mut idle = self.idle.lock().ok()?;
            let list = idle.get_mut(origin)?;
            let now = Instant::now();
            list.retain(|c| !c.sender.is_closed() && now.duration_since(c.since) < IDLE_TIMEOUT);
            if let Some(Sender::H2(s)) = list
                .iter()
                .map(|c| &c.sender)
                .find(|s| matches!(s, Sender::H2(_)) && s.is_ready())
            {
                return Some(Sender::H2(s.clone()));
            }
            if let Some(i) = list.iter().rposition(|c| c.sender.is_ready()) {
                return Some(list.remove(i).sender);
            }
            let i = list
                .iter()
                .rposition(|c| matches!(c.sender, Sender::H1(_)))?;
            list.remove(i)
        };
        let Sender::H1(mut sender) = busy.sender else {
            return None; // only HTTP/1.1 connections are taken out to wait for
        };
        match tokio::time::timeout(FREE_AGAIN_WITHIN, sender.ready()).await {
            Ok(Ok(())) => Some(Sender::H1(sender)),
            Ok(Err(_)) => None, // it closed
            Err(_) => {
                // Really busy: back in the list for a later request.
                if let Ok(mut idle) = self.idle.lock() {
                    idle.entry(origin.to_string()).or_default().push(Idle {
                        sender: Sender::H1(sender),
                        since: busy.since,
                    });
                }
                None
            }
        }
    }

    /// Keep a connection for the next request. An HTTP/1.1 one becomes free again once the
    /// response just received has been read; an HTTP/2 one stays listed while it lives.
    fn checkin(&self, origin: &str, sender: Sender) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let list = idle.entry(origin.to_string()).or_default();
        if matches!(sender, Sender::H2(_)) {
            if let Some(c) = list.iter_mut().find(|c| matches!(c.sender, Sender::H2(_))) {
                c.since = Instant::now();
                return;
            }
        }
        list.push(Idle {
            sender,
            since: Instant::now(),
        });
        if list.len() > MAX_IDLE_PER_ORIGIN {
            list.remove(0);
        }
    }

    /// Open a connection to the request's host: TCP, then TLS for `https`, then the HTTP
    /// handshake the server chose; its I/O runs on its own task.
    async fn connect(&self, uri: &http::Uri, timeout: Option<Duration>) -> Result<Sender, Error> {
        let tls = uri.scheme() == Some(&Scheme::HTTPS);
        let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let open = async {
            let tcp = TcpStream::connect((bare, port))
                .await
                .map_err(Error::Connect)?;
            self.opened.fetch_add(1, Ordering::Relaxed);
            // Requests are small and answered at once: no Nagle delay between head and body.
            let _ = tcp.set_nodelay(true);
            if !tls {
                return handshake_h1(tcp).await;
            }
            let name = server_name(bare)?;
            let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(Error::Tls)?;
            if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                    .handshake(TokioIo::new(stream))
                    .await?;
                tokio::spawn(conn);
                Ok(Sender::H2(sender))
            } else {
                handshake_h1(stream).await
            }
        };
        tokio::time::timeout(timeout.unwrap_or(NO_TIMEOUT), open)
            .await
            .map_err(|_| Error::ConnectionTimeout)?
    }
}

async fn handshake_h1<S>(io: S) -> Result<Sender, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = http1::Builder::new().handshake(TokioIo::new(io)).await?;
    tokio::spawn(conn);
    Ok(Sender::H1(sender))
}

/// The TLS server name for a host (a DNS name or an IP literal).
fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(ip.into());
    }
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| Error::HttpRequestUriInvalid)
}

/// The request as the connection's protocol wants it: HTTP/1.1 sends the path only (an
/// absolute URI is for proxies); HTTP/2 keeps the full URI for `:scheme` and `:authority`,
/// which replace the `Host` header.
fn prepare(mut req: http::Request<WasiBody>, sender: &Sender) -> http::Request<WasiBody> {
    match sender {
        Sender::H1(_) => {
            let path = req
                .uri()
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str)
                .parse()
                .unwrap_or_else(|_| http::Uri::from_static("/"));
            *req.uri_mut() = path;
        }
        Sender::H2(_) => {
            req.headers_mut().remove(http::header::HOST);
        }
    }
    req
}

/// A response body that fails when no bytes arrive for the between-bytes timeout.
struct TimedBody {
    incoming: hyper::body::Incoming,
    gap: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl TimedBody {
    fn new(incoming: hyper::body::Incoming, gap: Duration) -> TimedBody {
        TimedBody {
            incoming,
            gap,
            timer: Box::pin(tokio::time::sleep(gap)),
        }
    }
}

impl http_body::Body for TimedBody {
    type Data = bytes::Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + this.gap;
                this.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                std::task::ready!(this.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
