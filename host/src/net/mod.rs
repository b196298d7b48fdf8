//! How admitted requests reach the network: a connection pool ([`pool`]) and the rate-limit
//! pacing ([`pacer`]) that every call of one [`crate::Runtime`] shares. Whether a request may go
//! out at all is decided before, in the egress hook ([`crate::policy::EgressHooks`]).

pub mod pacer;
pub mod pool;

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// The network side of a runtime: pooled connections and shared rate-limit knowledge.
#[derive(Default)]
pub struct Net {
    /// Open connections by origin.
    pub pool: pool::Pool,
    /// What Discord's answers said about its rate limits.
    pub pacer: Arc<pacer::Pacer>,
}

impl Net {
    /// Send one admitted request to `origin`: wait for its rate-limit bucket, send it on a
    /// pooled connection, and learn from the answer's headers.
    pub async fn send(
        &self,
        origin: &str,
        request: http::Request<WasiBody>,
        options: RequestOptions,
    ) -> Result<http::Response<WasiBody>, Error> {
        let key = pacer::Key::of(origin, request.method(), request.uri(), request.headers());
        let ticket = self.pacer.acquire(key).await;
        let response = self.pool.send(origin, request, options).await?;
        ticket.answered(response.status(), response.headers());
        Ok(response)
    }
}
