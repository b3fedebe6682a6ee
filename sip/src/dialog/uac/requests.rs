//! The requests of a call we place, written straight to bytes: INVITE, CANCEL, the ACKs of
//! both kinds of final response, BYE.

use super::{Established, UacParams};
use crate::build::{RequestSpec, ALLOW};
use crate::dialog::{Local, Request};
use crate::ids::DialogIds;
use crate::txn::MethodClass;

pub(super) fn invite(
    call: &UacParams,
    ids: &DialogIds,
    local: Local<'_>,
    branch: &str,
    cseq: u32,
    authorization: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut extra: Vec<(&str, &str)> = call
        .extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    extra.push(("Allow", ALLOW));
    if let Some(a) = authorization {
        extra.push(a);
    }
    RequestSpec {
        method: "INVITE",
        request_uri: &call.request_uri,
        local: local.addr,
        transport: local.transport,
        branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag: None,
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &[],
        contact: true,
        extra: &extra,
        body: call.offer.as_deref().map(|b| ("application/sdp", b)),
        user_agent: local.user_agent,
    }
    .to_bytes()
}

/// The CANCEL of the INVITE with `branch` (it shares the INVITE's branch and CSeq number).
pub(super) fn cancel(
    call: &UacParams,
    ids: &DialogIds,
    branch: &str,
    cseq: u32,
    local: Local<'_>,
) -> Request {
    let bytes = RequestSpec {
        method: "CANCEL",
        request_uri: &call.request_uri,
        local: local.addr,
        transport: local.transport,
        branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag: None,
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &[],
        contact: false,
        extra: &[],
        body: None,
        user_agent: local.user_agent,
    }
    .to_bytes();
    Request {
        method: MethodClass::Cancel,
        branch: branch.to_owned(),
        dest: call.target,
        bytes,
    }
}

/// The ACK for the 2xx that established `dialog`: a transaction of its own (§13.2.2.4).
pub(super) fn ack_2xx(
    call: &UacParams,
    ids: &DialogIds,
    branch: &str,
    cseq: u32,
    dialog: &Established,
    local: Local<'_>,
) -> Vec<u8> {
    RequestSpec {
        method: "ACK",
        request_uri: dialog.remote_target.as_deref().unwrap_or(&call.request_uri),
        local: local.addr,
        transport: local.transport,
        branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag: dialog.remote_tag.as_deref(),
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &dialog.route,
        contact: false,
        extra: &[],
        body: None,
        user_agent: "",
    }
    .to_bytes()
}

/// The ACK for a non-2xx final: part of the INVITE's transaction, so its branch (§17.1.1.3).
pub(super) fn ack_non_2xx(
    call: &UacParams,
    ids: &DialogIds,
    branch: &str,
    cseq: u32,
    to_tag: Option<&str>,
    local: Local<'_>,
) -> Vec<u8> {
    RequestSpec {
        method: "ACK",
        request_uri: &call.request_uri,
        local: local.addr,
        transport: local.transport,
        branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag,
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &[],
        contact: false,
        extra: &[],
        body: None,
        user_agent: "",
    }
    .to_bytes()
}

/// A session refresh (RFC 4028 §7.4): an UPDATE in `dialog`, naming us the refresher of
/// a session of `interval`.
pub(super) fn update(
    call: &UacParams,
    ids: &DialogIds,
    branch: String,
    cseq: u32,
    dialog: &Established,
    local: Local<'_>,
    interval: std::time::Duration,
) -> Request {
    let expires = format!("{};refresher=uac", interval.as_secs());
    let extra = [
        ("Session-Expires", expires.as_str()),
        ("Supported", "timer"),
    ];
    let target = InDialog {
        call,
        ids,
        dialog,
        local,
    };
    target.request("UPDATE", branch, cseq, true, &extra)
}

/// The BYE with `cseq` and `branch` in `dialog`, to its remote target through its route set.
pub(super) fn bye(
    call: &UacParams,
    ids: &DialogIds,
    branch: String,
    cseq: u32,
    dialog: &Established,
    local: Local<'_>,
) -> Request {
    let target = InDialog {
        call,
        ids,
        dialog,
        local,
    };
    target.request("BYE", branch, cseq, false, &[])
}

/// What every request inside an established dialog is addressed by: its remote target,
/// tags, Call-ID and route set.
struct InDialog<'a> {
    call: &'a UacParams,
    ids: &'a DialogIds,
    dialog: &'a Established,
    local: Local<'a>,
}

impl InDialog<'_> {
    fn request(
        &self,
        method: &'static str,
        branch: String,
        cseq: u32,
        contact: bool,
        extra: &[(&str, &str)],
    ) -> Request {
        let (call, dialog) = (self.call, self.dialog);
        let bytes = RequestSpec {
            method,
            request_uri: dialog.remote_target.as_deref().unwrap_or(&call.request_uri),
            local: self.local.addr,
            transport: self.local.transport,
            branch: &branch,
            from_uri: &call.from_uri,
            from_tag: &self.ids.from_tag,
            to_uri: &call.to_uri,
            to_tag: dialog.remote_tag.as_deref(),
            call_id: &self.ids.call_id,
            cseq,
            cseq_method: None,
            route: &dialog.route,
            contact,
            extra,
            body: None,
            user_agent: self.local.user_agent,
        }
        .to_bytes();
        Request {
            method: MethodClass::Other,
            branch,
            dest: call.target,
            bytes,
        }
    }
}
