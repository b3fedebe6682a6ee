//! Shared fixtures for the criterion benches (see benches/).
