//! Threads: public threads (type 11) under a text channel. A thread is a channel of its own in
//! `State::channels` (so messages, reactions and edits work in it like anywhere else) with a
//! [`ThreadMeta`]. One started from a message takes that message's id, as on Discord, and opens
//! with a THREAD_STARTER_MESSAGE (type 21) pointing back at it; the message then carries the
//! thread (`thread`, flag HAS_THREAD).
//!
//! This module is the plain data (what makes a channel a thread, why one cannot be started, the
//! constants); starting threads and their `ThreadResponse` objects are `state::threads`.

/// Message flag HAS_THREAD.
pub const HAS_THREAD: u64 = 1 << 5;
/// Channel type PUBLIC_THREAD.
pub const PUBLIC_THREAD: u64 = 11;
/// `auto_archive_duration` when none is asked for (a day, Discord's usual channel default).
pub const DEFAULT_AUTO_ARCHIVE: u64 = 1440;

/// What makes a channel a thread.
#[derive(Clone, Debug)]
pub struct ThreadMeta {
    /// The text channel it is under.
    pub parent_id: u64,
    /// Who started it.
    pub owner_id: u64,
    /// Minutes of inactivity before it archives (60, 1440, 4320 or 10080; it never does here).
    pub auto_archive_duration: u64,
    /// When it was made, unix ms.
    pub created_ms: u64,
}

/// Why a thread cannot be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadError {
    /// No such channel.
    UnknownChannel,
    /// The parent is itself a thread.
    NotATextChannel,
    /// No such message in the channel.
    UnknownMessage,
    /// The message already has a thread.
    AlreadyExists,
}
