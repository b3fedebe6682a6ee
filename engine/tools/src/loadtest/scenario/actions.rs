//! `<action>` children: what they are once compiled, and the parts of running them that need
//! no call state (where an `<ereg>` looks, how it assigns, how `<test>` compares).
//!
//! The call runs the list in order (`call.rs`); a failed `check_it` marks the call failed but
//! lets it go on to its end, as SIPp does.

use regex::Regex;

use super::dist::Dist;
use super::template::Template;
use super::vars::{Value, VarId, Vars};

#[derive(Debug)]
pub(crate) enum Action {
    Ereg(Ereg),
    Log {
        warning: bool,
        message: Template,
    },
    Assign {
        to: VarId,
        rhs: Rhs,
    },
    AssignStr {
        to: VarId,
        value: Template,
    },
    Arith {
        op: Arith,
        to: VarId,
        rhs: Rhs,
    },
    Sample {
        to: VarId,
        dist: Dist,
    },
    ToDouble {
        to: VarId,
        from: VarId,
    },
    Test(Test),
    Strcmp(Strcmp),
    Trim {
        var: VarId,
    },
    Index {
        to: VarId,
    },
    Jump(Rhs),
    /// `exec int_cmd="stop_call"`: the call ends, counted failed (SIPp's "call rejected").
    StopCall,
    /// `exec int_cmd="stop_now"` / `"stop_gracefully"`: the whole run stops.
    StopRun,
}

/// A number, or a variable's double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rhs {
    Value(f64),
    Var(VarId),
}

impl Rhs {
    pub fn eval(self, vars: &Vars) -> f64 {
        match self {
            Rhs::Value(v) => v,
            Rhs::Var(id) => vars.get(id).number(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// `check_it` / `check_it_inverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    None,
    Must,
    MustNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
}

impl Compare {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "equal" => Self::Equal,
            "not_equal" => Self::NotEqual,
            "greater_than" => Self::Greater,
            "less_than" => Self::Less,
            "greater_than_equal" => Self::GreaterEqual,
            "less_than_equal" => Self::LessEqual,
            _ => return None,
        })
    }

    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Self::Equal => a == b,
            Self::NotEqual => a != b,
            Self::Greater => a > b,
            Self::Less => a < b,
            Self::GreaterEqual => a >= b,
            Self::LessEqual => a <= b,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Test {
    pub to: Option<VarId>,
    pub lhs: VarId,
    pub rhs: Rhs,
    pub compare: Compare,
    pub check: Check,
}

#[derive(Debug)]
pub(crate) struct Strcmp {
    pub to: Option<VarId>,
    pub lhs: VarId,
    pub rhs: StrRhs,
    pub check: Check,
}

#[derive(Debug)]
pub(crate) enum StrRhs {
    Value(Box<str>),
    Var(VarId),
}

#[derive(Debug)]
pub(crate) struct Ereg {
    pub re: Regex,
    pub search: SearchIn,
    pub check: Check,
    /// The whole match, then each group.
    pub assign: Box<[VarId]>,
}

#[derive(Debug)]
pub(crate) enum SearchIn {
    Msg,
    Body,
    /// SIPp's `hdr`: the rest of the line after the `header` text (which may carry its colon
    /// and a space), at its `occurrence`.
    Header {
        name: Box<str>,
        occurrence: usize,
        start_line: bool,
        case_indep: bool,
    },
    Var(VarId),
}

/// How an action went wrong; the call carries on and is counted failed at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionFailure {
    RegexpMismatch,
    RegexpShouldNotMatch,
    HeaderMissing,
    TestFailed,
    StrcmpFailed,
}

impl ActionFailure {
    /// The key under `failed` in the report.
    pub fn key(self) -> &'static str {
        match self {
            Self::RegexpMismatch => "regexp-mismatch",
            Self::RegexpShouldNotMatch => "regexp-should-not-match",
            Self::HeaderMissing => "regexp-header-missing",
            Self::TestFailed => "test-failed",
            Self::StrcmpFailed => "strcmp-failed",
        }
    }
}

/// Compiles an ereg pattern with POSIX ERE's newline handling (`.` matches a line end).
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .dot_matches_new_line(true)
        .size_limit(1 << 20)
        .build()
}

/// SIPp's `extractSubMessage`: the rest of the line after the `occurrence`-th `name`.
pub(crate) fn header_part<'m>(
    msg: &'m str,
    name: &str,
    occurrence: usize,
    start_line: bool,
    case_indep: bool,
) -> Option<&'m str> {
    if name.is_empty() {
        return None;
    }
    let bytes = msg.as_bytes();
    let n = name.len();
    let mut seen = 0;
    let mut i = 0;
    while i + n <= bytes.len() {
        let here = &bytes[i..i + n];
        let hit = if case_indep {
            here.eq_ignore_ascii_case(name.as_bytes())
        } else {
            here == name.as_bytes()
        };
        if hit && (!start_line || i == 0 || bytes[i - 1] == b'\n') {
            seen += 1;
            if seen >= occurrence.max(1) {
                let rest = msg.get(i + n..)?;
                let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
                return Some(&rest[..end]);
            }
        }
        i += 1;
    }
    None
}

/// Runs an ereg over `haystack` and assigns the match and groups; whether it matched.
pub(crate) fn ereg_assign(e: &Ereg, haystack: &str, vars: &mut Vars) -> bool {
    let Some(caps) = e.re.captures(haystack) else {
        return false;
    };
    for (i, id) in e.assign.iter().enumerate() {
        if let Some(m) = caps.get(i) {
            vars.set(*id, Value::Matched(m.as_str().to_owned()));
        }
    }
    true
}

/// `<test>`: compares doubles; `Err` when `check_it` says the call fails.
pub(crate) fn run_test(t: &Test, vars: &mut Vars) -> Result<(), ActionFailure> {
    let holds = t.compare.holds(vars.get(t.lhs).number(), t.rhs.eval(vars));
    match (t.check, holds) {
        (Check::Must, false) | (Check::MustNot, true) => return Err(ActionFailure::TestFailed),
        _ => {}
    }
    if let Some(to) = t.to {
        vars.set(to, Value::Flag(holds));
    }
    Ok(())
}

/// `<strcmp>`: stores the ordering as -1/0/1 (C's strcmp sign).
pub(crate) fn run_strcmp(s: &Strcmp, vars: &mut Vars) -> Result<(), ActionFailure> {
    let lhs = vars.get(s.lhs).text();
    let rhs = match &s.rhs {
        StrRhs::Value(v) => v,
        StrRhs::Var(id) => vars.get(*id).text(),
    };
    let ord = lhs.cmp(rhs) as i8;
    match (s.check, ord == 0) {
        (Check::Must, false) | (Check::MustNot, true) => return Err(ActionFailure::StrcmpFailed),
        _ => {}
    }
    if let Some(to) = s.to {
        vars.set(to, Value::Number(f64::from(ord)));
    }
    Ok(())
}

/// `add`, `subtract`, `multiply`, `divide` on the variable's double (unset counts as 0).
pub(crate) fn run_arith(op: Arith, to: VarId, rhs: Rhs, vars: &mut Vars) {
    let a = vars.get(to).number();
    let b = rhs.eval(vars);
    let v = match op {
        Arith::Add => a + b,
        Arith::Subtract => a - b,
        Arith::Multiply => a * b,
        // SIPp warns and leaves the variable alone on a division by zero.
        Arith::Divide if b == 0.0 => return,
        Arith::Divide => a / b,
    };
    vars.set(to, Value::Number(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE_OK: &str = "SIP/2.0 200 OK\r\nFrom: ua25 <sip:ua1@x>;tag=1\r\n\
        Contact: <sip:bob@10.0.0.1:5070>\r\nContent-Length: 41\r\n\r\n\
        o=user1 53655765 2353687637 IN IP4 10.0.0.1\r\n";

    fn ereg(pattern: &str, search: SearchIn, assign: &[VarId]) -> Ereg {
        Ereg {
            re: compile_regex(pattern).expect("valid"),
            search,
            check: Check::Must,
            assign: assign.into(),
        }
    }

    #[test]
    fn ereg_assigns_the_match_then_each_group() {
        let e = ereg(
            "o=([[:alnum:]]*) ([[:alnum:]]*) ([[:alnum:]]*)",
            SearchIn::Msg,
            &[0, 1, 2, 3],
        );
        let mut v = Vars::new(4);
        assert!(ereg_assign(&e, INVITE_OK, &mut v));
        assert_eq!(v.get(0).text(), "o=user1 53655765 2353687637");
        assert_eq!(v.get(1).text(), "user1");
        assert_eq!(v.get(3).text(), "2353687637");
        let miss = ereg("nothere", SearchIn::Msg, &[0]);
        let mut w = Vars::new(1);
        assert!(!ereg_assign(&miss, INVITE_OK, &mut w));
        assert!(!w.get(0).is_set());
    }

    #[test]
    fn header_part_is_the_rest_of_the_line() {
        assert_eq!(
            header_part(INVITE_OK, "Contact:", 1, false, false),
            Some(" <sip:bob@10.0.0.1:5070>")
        );
        assert_eq!(
            header_part(INVITE_OK, "From: ", 1, false, false),
            Some("ua25 <sip:ua1@x>;tag=1")
        );
        assert_eq!(header_part(INVITE_OK, "contact:", 1, false, false), None);
        assert_eq!(
            header_part(INVITE_OK, "contact:", 1, true, true),
            Some(" <sip:bob@10.0.0.1:5070>")
        );
        // "IP4" appears once in a line start-less position: start_line finds nothing.
        assert_eq!(header_part(INVITE_OK, "IN IP4", 1, true, false), None);
        assert_eq!(header_part(INVITE_OK, "Content", 2, false, false), None);
    }

    #[test]
    fn variables_test_and_arithmetic() {
        let mut v = Vars::new(3);
        v.set(0, Value::Number(1.0));
        run_arith(Arith::Add, 0, Rhs::Value(2.0), &mut v);
        run_arith(Arith::Multiply, 0, Rhs::Var(0), &mut v);
        run_arith(Arith::Divide, 0, Rhs::Value(0.0), &mut v);
        assert_eq!(v.get(0).number(), 9.0);
        let t = Test {
            to: Some(1),
            lhs: 0,
            rhs: Rhs::Value(10.0),
            compare: Compare::Less,
            check: Check::None,
        };
        assert_eq!(run_test(&t, &mut v), Ok(()));
        assert!(v.get(1).is_set());
        let must = Test {
            check: Check::Must,
            compare: Compare::Greater,
            ..t
        };
        assert_eq!(run_test(&must, &mut v), Err(ActionFailure::TestFailed));
        v.set(2, Value::Text("Hello".into()));
        let s = Strcmp {
            to: Some(1),
            lhs: 2,
            rhs: StrRhs::Value("Hello".into()),
            check: Check::Must,
        };
        assert_eq!(run_strcmp(&s, &mut v), Ok(()));
        assert_eq!(v.get(1), &Value::Number(0.0));
    }
}
