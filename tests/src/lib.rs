//! Snapshot tests over every experiment's `ci` profile live in `tests/`.
//!
//! Each experiment's `ci` summary (claims, curve checkpoints, per-run values;
//! no timings) is an insta snapshot under `tests/snapshots/`. Review a change
//! with `cargo insta review`, or accept it with `INSTA_UPDATE=always cargo test
//! -p snapshot-tests`; CI (with `CI=true`) never writes new snapshots.
