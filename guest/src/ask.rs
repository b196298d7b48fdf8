//! The ask polling loop (implemented with the ask issue).
