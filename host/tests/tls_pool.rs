//! The egress connection pool over TLS, against a local TLS server with a test CA: HTTP/2 when
//! the server picks it in ALPN (one connection carries concurrent requests), HTTP/1.1
//! otherwise, and a second connection resumes the first one's TLS session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerter_host::net::pool::Pool;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use wasmtime_wasi_http::RequestOptions;

const CA: &[u8] = include_bytes!("fixtures/ca.der");
const CERT: &[u8] = include_bytes!("fixtures/server.der");
const KEY: &[u8] = include_bytes!("fixtures/server.key.der");

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What the server saw: TCP connections accepted, and how each TLS handshake went.
#[derive(Default)]
struct Seen {
    connections: AtomicU64,
    handshakes: Mutex<Vec<rustls::HandshakeKind>>,
}

/// A TLS server on 127.0.0.1 offering only `alpn`, answering every request "ok" after
/// `delay` (so concurrent requests overlap).
async fn server(alpn: &[u8], delay: Duration) -> (u16, Arc<Seen>) {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(CERT.to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEY.to_vec())),
        )
        .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let h2 = alpn == b"h2";
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            s.connections.fetch_add(1, Ordering::Relaxed);
            let acceptor = acceptor.clone();
            let s = s.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Some(kind) = tls.get_ref().1.handshake_kind() {
                    s.handshakes.lock().unwrap().push(kind);
                }
                let service = hyper::service::service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                let io = TokioIo::new(tls);
                if h2 {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    (port, seen)
}

fn pool() -> Pool {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(CA.to_vec())).unwrap();
    Pool::with_tls(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn options() -> RequestOptions {
    let t = Some(Duration::from_secs(5));
    RequestOptions {
        connect_timeout: t,
        first_byte_timeout: t,
        between_bytes_timeout: t,
    }
}

/// GET `https://127.0.0.1:port/`, as wasi:http hands requests to the hook (absolute URI plus
/// a Host header); returns the protocol version and the body.
async fn get(pool: &Pool, port: u16) -> (http::Version, Bytes) {
    let request = http::Request::builder()
        .uri(format!("https://127.0.0.1:{port}/"))
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync())
        .unwrap();
    let origin = format!("https://127.0.0.1:{port}");
    let response = pool.send(&origin, request, options()).await.expect("sent");
    let version = response.version();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (version, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_carries_concurrent_requests_on_one_connection() {
    let (port, seen) = server(b"h2", Duration::from_millis(200)).await;
    let pool = Arc::new(pool());
    let first = get(&pool, port).await;
    assert_eq!(first, (http::Version::HTTP_2, Bytes::from_static(b"ok")));
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { get(&pool, port).await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().0, http::Version::HTTP_2);
    }
    assert_eq!(seen.connections.load(Ordering::Relaxed), 1);
    assert_eq!(pool.connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn http1_over_tls_is_reused_and_a_second_connection_resumes_the_session() {
    let (port, seen) = server(b"http/1.1", Duration::from_millis(200)).await;
    let pool = Arc::new(pool());
    let (version, body) = get(&pool, port).await;
    assert_eq!(version, http::Version::HTTP_11);
    assert_eq!(body, Bytes::from_static(b"ok"));
    get(&pool, port).await;
    assert_eq!(seen.connections.load(Ordering::Relaxed), 1, "kept alive");
    // Two at once: HTTP/1.1 needs a second connection, whose handshake resumes the session.
    let a = tokio::spawn({
        let pool = pool.clone();
        async move { get(&pool, port).await }
    });
    let b = tokio::spawn({
        let pool = pool.clone();
        async move { get(&pool, port).await }
    });
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(seen.connections.load(Ordering::Relaxed), 2);
    assert_eq!(
        *seen.handshakes.lock().unwrap(),
        [rustls::HandshakeKind::Full, rustls::HandshakeKind::Resumed]
    );
}
