//! Contacts as people type them into lists: phone numbers and where they are.

pub mod phone;
pub mod region;
