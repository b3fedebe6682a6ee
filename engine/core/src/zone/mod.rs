//! A zone: its agents and the jobs that dial for them.

pub mod board;
