//! Response bodies that arrive over time: an endless body and a slow-loris trickle, for the
//! hostile-server faults. Every other answer is one complete chunk.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// A response body the server sends.
#[derive(Debug)]
pub enum EmuBody {
    /// All of it at once.
    Whole(Option<Bytes>),
    /// Over time.
    Trickle(Trickle),
}

impl EmuBody {
    /// A complete body.
    pub fn whole(bytes: Bytes) -> EmuBody {
        EmuBody::Whole((!bytes.is_empty()).then_some(bytes))
    }
}

/// `data` in pieces of `step` bytes, one piece every `every`; `data` again and again when
/// `repeat`, else it ends.
#[derive(Debug)]
pub struct Trickle {
    data: Bytes,
    pos: usize,
    step: usize,
    repeat: bool,
    every: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Trickle {
    /// `chunk` repeated forever, as fast as the client reads.
    pub fn endless(chunk: Bytes) -> Trickle {
        Trickle {
            step: chunk.len().max(1),
            data: chunk,
            pos: 0,
            repeat: true,
            every: Duration::ZERO,
            sleep: None,
        }
    }

    /// `data` one byte every `every` (a slow-loris server).
    pub fn slow(data: Bytes, every: Duration) -> Trickle {
        Trickle {
            data,
            pos: 0,
            step: 1,
            repeat: false,
            every,
            sleep: None,
        }
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let t = match self.get_mut() {
            EmuBody::Whole(bytes) => return Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            EmuBody::Trickle(t) => t,
        };
        if t.data.is_empty() || (!t.repeat && t.pos >= t.data.len()) {
            return Poll::Ready(None);
        }
        if !t.every.is_zero() {
            let sleep = t
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(t.every)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            t.sleep = None;
        }
        if t.pos >= t.data.len() {
            t.pos = 0;
        }
        let end = (t.pos + t.step).min(t.data.len());
        let piece = t.data.slice(t.pos..end);
        t.pos = end;
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            EmuBody::Whole(bytes) => bytes.is_none(),
            EmuBody::Trickle(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            EmuBody::Whole(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            EmuBody::Trickle(t) if !t.repeat => SizeHint::with_exact(t.data.len() as u64),
            EmuBody::Trickle(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_slow_body_arrives_whole_one_byte_at_a_time() {
        let mut body = EmuBody::Trickle(Trickle::slow(
            Bytes::from_static(b"{}\n"),
            Duration::from_millis(5),
        ));
        let mut pieces = Vec::new();
        while let Some(frame) = body.frame().await {
            pieces.push(frame.unwrap().into_data().unwrap());
        }
        assert_eq!(pieces, [&b"{"[..], b"}", b"\n"]);
    }

    #[tokio::test]
    async fn an_endless_body_does_not_end() {
        let mut body = EmuBody::Trickle(Trickle::endless(Bytes::from_static(b"ab")));
        let mut total = 0;
        for _ in 0..1000 {
            total += body
                .frame()
                .await
                .unwrap()
                .unwrap()
                .into_data()
                .unwrap()
                .len();
        }
        assert_eq!(total, 2000);
        assert!(!body.is_end_stream());
    }
}
