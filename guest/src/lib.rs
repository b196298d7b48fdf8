//! The Discord flavor of the alerter: a WASI 0.2 component (`wasm32-wasip2`) that posts alerts
//! and asks for approval over Discord's REST API.
//!
//! Only `glue` and `platform` are WASI code (compiled for wasm32 only); everything else is plain
//! Rust that unit-tests on the native target over a scripted [`discord::Transport`].
//!
//! # Layout
//!
//! A call comes in at the top and flows down; its receipt, answer or error flows back up. No
//! module calls one above it.
//!
//! - `glue`: the WIT exports; gets a [`service::Service`] from `platform` and hands each call
//!   to [`service`], [`ask`] or (for the run hooks) [`hooks`] then [`service`].
//! - `platform`: builds the [`service::Service`] from the host's config and secret stores, over
//!   the [`discord::Transport`] it implements with `wasi:http`, the clocks and `wasi:random`.
//! - [`hooks`]: a ZenML run context (and exception) -> a [`render::Document`].
//! - [`ask`]: open (post or find by key), wait (poll the channel, let [`approval`] decide, send
//!   reminders) and close (record the outcome on the question); talks to Discord through
//!   [`service`] and [`discord`].
//! - [`approval`]: keywords, reaction emoji and approvers -> which answers decide (pure).
//! - [`service`]: the verbs `post` and `check`: the channel, [`render`], then each part created
//!   in order through [`discord`].
//! - [`render`]: a message and params -> create-message bodies within Discord's limits (pure).
//! - [`discord`]: one REST call: auth, retries with backoff, error mapping, over a
//!   [`discord::Transport`].
//! - [`ratelimit`]: Discord's bucket and global rate-limit state: when a request may go (pure).
//! - [`config`]: config keys -> [`config::Settings`], token checks (pure).
//! - [`snowflake`]: Discord ids: validation, ordering, the time they encode (pure).
//! - [`order`]: a small stable sort (std's sorts are large in the component) (pure).
//! - [`bindings`]: the generated WIT bindings; every WIT type is imported from here. Their
//!   recipe (the `with:` table) is `world.rs`, shared with the sandbox test guest.

#[macro_use]
mod world;

pub mod approval;
pub mod ask;
pub mod bindings;
pub mod config;
pub mod discord;
#[cfg(target_arch = "wasm32")]
mod glue;
pub mod hooks;
#[cfg(test)]
mod hostile_tests;
pub mod order;
#[cfg(target_arch = "wasm32")]
mod platform;
pub mod ratelimit;
pub mod render;
pub mod service;
pub mod snowflake;
