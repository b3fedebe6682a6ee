//! Fuzzes the SIP receive path as an endpoint runs it: parse, answer or refuse, read the SDP.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::msg::rsip::Method;
use sip::msg::{check_uas_acceptable, parse_datagram, reply, response_to, to_bytes, ParseError};
use sip::sdp;

const ALLOW: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Options,
    Method::Info,
    Method::Notify,
    Method::Update,
    Method::PRack,
];

fuzz_target!(|data: &[u8]| {
    match parse_datagram(data) {
        Ok(inc) => {
            let _ = check_uas_acceptable(&inc, ALLOW);
            let _ = sdp::parse_answer(inc.body());
            // What we print must parse again to the same head: the writer and the parser
            // agree (an added Content-Length may push a maximal message over the limit).
            let printed = to_bytes(&inc.msg);
            match parse_datagram(&printed) {
                Ok(again) => {
                    let mut head = inc.head.clone();
                    head.trailing_octets = 0;
                    assert_eq!(again.head, head, "re-parse of our own output differs");
                }
                Err(ParseError::TooLarge(_)) => {}
                Err(e) => panic!("re-parse of our own output failed: {e}"),
            }
            if inc.is_request() {
                let _ = to_bytes(&response_to(&inc, 200, "OK", Some("fuzz")).into());
            }
        }
        Err(e) => {
            let _ = e.status();
            if let Some(bytes) = reply::for_error(&e) {
                let _ = parse_datagram(&bytes);
            }
        }
    }
    // Any body is also fed to the SDP parser directly.
    let _ = sdp::parse(data);
});
