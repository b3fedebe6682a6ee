//! One attempt: its call flow after the INVITE.

pub mod flow;
