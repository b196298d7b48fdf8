//! The guest's stdout and stderr: an in-memory buffer that keeps the first `capacity` bytes
//! and drops (and counts) the rest. `wasmtime-wasi`'s `MemoryOutputPipe` traps the guest on a
//! write past its capacity, so a chatty guest (a warning every poll round of a weekend-long
//! ask) would be killed by its own logging; here a full pipe only loses output.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// A bounded output pipe that never fails a write. Clones share the buffer.
#[derive(Clone, Debug)]
pub struct LogPipe {
    capacity: usize,
    inner: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    bytes: Vec<u8>,
    dropped: usize,
}

impl LogPipe {
    /// A pipe that keeps at most `capacity` bytes.
    pub fn new(capacity: usize) -> LogPipe {
        LogPipe {
            capacity,
            inner: Arc::default(),
        }
    }

    /// What was kept, and how many bytes were dropped after it.
    pub fn contents(&self) -> (Vec<u8>, usize) {
        let k = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (k.bytes.clone(), k.dropped)
    }

    /// Keep what fits, count the rest; always accepts all of `bytes`.
    fn push(&self, bytes: &[u8]) {
        let mut k = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = self.capacity.saturating_sub(k.bytes.len());
        let kept = bytes.len().min(room);
        k.bytes.extend_from_slice(&bytes[..kept]);
        k.dropped += bytes.len() - kept;
    }
}

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always writable: what does not fit is dropped, never refused.
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_counts_the_dropped_ones() {
        let mut pipe = LogPipe::new(10);
        pipe.write(Bytes::from_static(b"hello ")).unwrap();
        pipe.write(Bytes::from_static(b"world, again")).unwrap();
        assert_eq!(
            pipe.check_write().unwrap(),
            64 << 10,
            "still writable when full"
        );
        pipe.write(Bytes::from_static(b"more")).unwrap();
        let (kept, dropped) = pipe.contents();
        assert_eq!(kept, b"hello worl");
        assert_eq!(dropped, 8 + 4);
    }
}
