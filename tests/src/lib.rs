//! The notebook tests live in `notebooks.rs` (run with `cargo xtask test`, or
//! `cargo test -p notebook-tests -- <filter>` after the set-up); this library is empty.
