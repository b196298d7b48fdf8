//! Which answers decide an ask (implemented with the ask issue).
