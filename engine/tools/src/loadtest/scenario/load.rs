//! Reading a SIPp scenario file into a [`Scenario`]: every element and attribute is either
//! understood or refused with its line number, so a scenario never runs with a part silently
//! dropped. The actions inside `<action>` are read by `load_action.rs`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use roxmltree::{Document, Node, ParsingOptions};

use super::dist::Dist;
use super::inject::InjectionFile;
use super::template::{clean_message, Names, Template, TemplateError};
use super::vars::VarId;
use super::{
    Defaults, Expect, Optional, Outgoing, Pause, PauseLen, Recv, Scenario, Send, Step, StepKind,
};

/// Why a scenario was refused: the file, the line of the element at fault, and the problem.
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    /// 0 when the problem is the file as a whole.
    pub line: u32,
    pub problem: LoadProblem,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.problem)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.problem)
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadProblem {
    #[error("cannot read the scenario: {0}")]
    Read(#[source] std::io::Error),
    #[error("not well-formed XML: {0}")]
    Xml(#[source] roxmltree::Error),
    #[error("the root element is <{0}>, not <scenario>")]
    Root(String),
    #[error("<{element}> is not supported{hint}")]
    Element { element: String, hint: &'static str },
    #[error("attribute {attribute:?} of <{element}> is not supported{hint}")]
    Attribute {
        element: String,
        attribute: String,
        hint: &'static str,
    },
    #[error("<{element}> needs the attribute {attribute:?}")]
    Missing {
        element: String,
        attribute: &'static str,
    },
    #[error("{attribute}={value:?} of <{element}>: expected {expected}")]
    Value {
        element: String,
        attribute: String,
        value: String,
        expected: &'static str,
    },
    #[error("<{element}>: {source}")]
    Template {
        element: String,
        #[source]
        source: TemplateError,
    },
    #[error("regular expression: {0}")]
    Regex(#[source] regex::Error),
    #[error("label {0:?} is not defined")]
    UnknownLabel(String),
    #[error("label {0:?} is defined twice")]
    DuplicateLabel(String),
    #[error("the optional <recv> before <{0}> has no mandatory <recv> after it")]
    OptionalSequence(String),
    #[error("the scenario waits for a message before sending one: UAS scenarios are not supported (the load tester places calls)")]
    NotUac,
    #[error("<timewait> must be the scenario's last message")]
    TimewaitNotLast,
    #[error("the scenario has no message")]
    Empty,
}

/// The attributes every message element may carry (SIPp's common attributes).
const COMMON: &[&str] = &[
    "next",
    "test",
    "chance",
    "condexec",
    "condexec_inverse",
    "start_rtd",
    "rtd",
    "repeat_rtd",
    "counter",
    "lost",
    "crlf",
    "hide",
    "display",
    "hiderest",
    "ontimeout",
];

/// One element being read: its node, line and name.
#[derive(Clone, Copy)]
pub(super) struct El<'a, 'i> {
    pub node: Node<'a, 'i>,
    pub line: u32,
    pub name: &'a str,
}

impl<'a, 'i> El<'a, 'i> {
    pub fn new(doc: &Document<'i>, node: Node<'a, 'i>) -> Self {
        Self {
            node,
            line: doc.text_pos_at(node.range().start).row,
            name: node.tag_name().name(),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.node.attribute(name)
    }

    pub fn err(&self, problem: LoadProblem) -> Refusal {
        Refusal {
            line: self.line,
            problem,
        }
    }

    pub fn refuse(&self, hint: &'static str) -> Refusal {
        self.err(LoadProblem::Element {
            element: self.name.into(),
            hint,
        })
    }

    /// Refuses any attribute outside `allowed` (and, when `common`, SIPp's common ones).
    pub fn only(&self, allowed: &[&str], common: bool) -> Result<(), Refusal> {
        for a in self.node.attributes() {
            let n = a.name();
            if !(allowed.contains(&n) || common && COMMON.contains(&n)) {
                return Err(self.err(LoadProblem::Attribute {
                    element: self.name.into(),
                    attribute: n.into(),
                    hint: attribute_hint(n),
                }));
            }
        }
        Ok(())
    }

    pub fn need(&self, name: &'static str) -> Result<&'a str, Refusal> {
        self.attr(name).ok_or_else(|| {
            self.err(LoadProblem::Missing {
                element: self.name.into(),
                attribute: name,
            })
        })
    }

    pub fn bad(&self, attribute: &str, value: &str, expected: &'static str) -> Refusal {
        self.err(LoadProblem::Value {
            element: self.name.into(),
            attribute: attribute.into(),
            value: value.into(),
            expected,
        })
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, Refusal> {
        match self.attr(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(self.bad(name, v, "true or false")),
        }
    }

    pub fn f64(&self, name: &str) -> Result<Option<f64>, Refusal> {
        match self.attr(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(self.bad(name, v, "a number")),
            },
        }
    }

    pub fn need_f64(&self, name: &'static str) -> Result<f64, Refusal> {
        self.need(name)?;
        self.f64(name)?
            .ok_or_else(|| self.bad(name, "", "a number"))
    }

    pub fn millis(&self, name: &str) -> Result<Option<Duration>, Refusal> {
        match self.attr(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) if ms <= i32::MAX as u64 => Ok(Some(Duration::from_millis(ms))),
                _ => Err(self.bad(name, v, "whole milliseconds")),
            },
        }
    }

    pub fn template(&self, text: &str, names: &mut Loader) -> Result<Template, Refusal> {
        Template::compile_fragment(text, names).map_err(|source| {
            self.err(LoadProblem::Template {
                element: self.name.into(),
                source,
            })
        })
    }
}

fn attribute_hint(name: &str) -> &'static str {
    match name {
        "start_txn" | "ack_txn" | "response_txn" => " (named transactions are not implemented)",
        "timeout" => " here (only <recv> takes a timeout)",
        "dest" | "src" => " (3PCC is not implemented)",
        _ => "",
    }
}

/// A refusal before the path is attached.
#[derive(Debug)]
pub(super) struct Refusal {
    pub line: u32,
    pub problem: LoadProblem,
}

/// Names met while loading: variables, rtds, counters, injection files.
pub(super) struct Loader {
    vars: HashMap<Box<str>, VarId>,
    pub var_names: Vec<Box<str>>,
    rtds: Vec<Box<str>>,
    counters: Vec<Box<str>>,
    files: Vec<InjectionFile>,
}

impl Names for Loader {
    fn var(&mut self, name: &str) -> VarId {
        if let Some(id) = self.vars.get(name) {
            return *id;
        }
        let id = self.var_names.len() as VarId;
        self.var_names.push(name.into());
        self.vars.insert(name.into(), id);
        id
    }

    fn injection_file(&self, name: Option<&str>) -> Result<usize, Option<String>> {
        let Some(name) = name else {
            return if self.files.is_empty() {
                Err(None)
            } else {
                Ok(0)
            };
        };
        let base = |s: &str| Path::new(s).file_name().map(|f| f.to_owned());
        self.files
            .iter()
            .position(|f| f.name == name || base(&f.name) == base(name))
            .ok_or_else(|| Some(name.to_owned()))
    }
}

fn named(list: &mut Vec<Box<str>>, name: &str) -> usize {
    match list.iter().position(|n| &**n == name) {
        Some(i) => i,
        None => {
            list.push(name.into());
            list.len() - 1
        }
    }
}

/// Where a step's labels point, before labels are resolved.
struct Pending {
    next: Option<(String, u32)>,
    on_timeout: Option<(String, u32)>,
}

impl Scenario {
    /// Reads and compiles a scenario file; `files` are the `--inf` injection files in order.
    pub fn load(path: &Path, files: Vec<InjectionFile>) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|e| LoadError {
            path: path.into(),
            line: 0,
            problem: LoadProblem::Read(e),
        })?;
        // SIPp's files say ISO-8859-1; bytes that are not UTF-8 are read as Latin-1.
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
        };
        Self::parse(path, &text, files)
    }

    /// Compiles scenario text (`path` only names it in errors).
    pub fn parse(path: &Path, text: &str, files: Vec<InjectionFile>) -> Result<Self, LoadError> {
        let mut loader = Loader {
            vars: HashMap::new(),
            var_names: Vec::new(),
            rtds: Vec::new(),
            counters: Vec::new(),
            files,
        };
        compile(text, &mut loader, path).map_err(|r| LoadError {
            path: path.into(),
            line: r.line,
            problem: r.problem,
        })
    }
}

fn compile(text: &str, loader: &mut Loader, path: &Path) -> Result<Scenario, Refusal> {
    let opts = ParsingOptions {
        allow_dtd: true,
        nodes_limit: 1_000_000,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| Refusal {
        line: e.pos().row,
        problem: LoadProblem::Xml(e),
    })?;
    let root = El::new(&doc, doc.root_element());
    if root.name != "scenario" {
        return Err(root.err(LoadProblem::Root(root.name.into())));
    }
    root.only(&["name"], false)?;
    let mut steps: Vec<Step> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut methods: Vec<Box<str>> = Vec::new();
    let mut last_optional: Option<u32> = None;
    let mut timewait_seen = false;
    for node in root.node.children().filter(Node::is_element) {
        let el = El::new(&doc, node);
        match el.name {
            "label" => {
                el.only(&["id"], false)?;
                let id = el.need("id")?;
                if labels.insert(id.to_owned(), steps.len()).is_some() {
                    return Err(el.err(LoadProblem::DuplicateLabel(id.into())));
                }
                continue;
            }
            "ResponseTimeRepartition" | "CallLengthRepartition" | "Reference" => {
                // Shapes of SIPp's screen tables and an unused-variable lint: they change no
                // message; the report gives percentiles instead of these buckets.
                el.only(&["value", "variables"], false)?;
                continue;
            }
            "sendCmd" | "recvCmd" => {
                return Err(el.refuse(": 3PCC commands to a twin SIPp are not implemented"))
            }
            "Global" | "User" => {
                return Err(el.refuse(": global and per-user variables are not implemented"))
            }
            "init" => return Err(el.refuse(": the <init> stanza is not implemented")),
            "DefaultMessage" => return Err(el.refuse(": default messages cannot be replaced")),
            "send" | "recv" | "pause" | "timewait" | "nop" => {}
            _ => return Err(el.refuse("")),
        }
        if timewait_seen {
            return Err(el.err(LoadProblem::TimewaitNotLast));
        }
        if el.name != "recv" && last_optional.take().is_some() {
            return Err(el.err(LoadProblem::OptionalSequence(el.name.into())));
        }
        let kind = match el.name {
            "send" => StepKind::Send(read_send(el, loader, &mut methods)?),
            "recv" => {
                let r = read_recv(el, &methods)?;
                last_optional = (r.optional != Optional::No).then_some(el.line);
                StepKind::Recv(r)
            }
            "pause" | "timewait" => {
                timewait_seen = el.name == "timewait";
                el.only(PAUSE_ATTRS, true)?;
                StepKind::Pause(Pause {
                    len: read_pause(el, loader)?,
                    timewait: timewait_seen,
                })
            }
            _ => {
                el.only(&[], true)?;
                StepKind::Nop
            }
        };
        let (step, p) = read_common(el, kind, loader)?;
        steps.push(step);
        pending.push(p);
    }
    if steps.is_empty() {
        return Err(root.err(LoadProblem::Empty));
    }
    if let Some(first) = steps
        .iter()
        .find(|s| !matches!(s.kind, StepKind::Nop | StepKind::Pause(_)))
    {
        if matches!(first.kind, StepKind::Recv(_)) {
            return Err(Refusal {
                line: first.line,
                problem: LoadProblem::NotUac,
            });
        }
    }
    let resolve = |l: &Option<(String, u32)>| -> Result<Option<usize>, Refusal> {
        match l {
            None => Ok(None),
            Some((name, line)) => labels.get(name).copied().map(Some).ok_or_else(|| Refusal {
                line: *line,
                problem: LoadProblem::UnknownLabel(name.clone()),
            }),
        }
    };
    for (step, p) in steps.iter_mut().zip(&pending) {
        step.next = resolve(&p.next)?;
        step.on_timeout = resolve(&p.on_timeout)?;
    }
    let unexpected = labels.get("_unexp.main").map(|&at| {
        let ret = loader.vars.get("_unexp.retaddr").copied();
        (at, ret)
    });
    let defaults = default_messages(loader)?;
    Ok(Scenario {
        name: root.attr("name").unwrap_or("").to_owned(),
        path: path.into(),
        steps,
        var_names: std::mem::take(&mut loader.var_names),
        rtd_names: std::mem::take(&mut loader.rtds),
        counter_names: std::mem::take(&mut loader.counters),
        files: std::mem::take(&mut loader.files),
        defaults,
        unexpected,
    })
}

const PAUSE_ATTRS: &[&str] = &[
    "milliseconds",
    "variable",
    "distribution",
    "min",
    "max",
    "value",
    "mean",
    "stdev",
    "lambda",
    "k",
    "x_m",
    "sanity_check",
];

fn read_send(el: El, loader: &mut Loader, methods: &mut Vec<Box<str>>) -> Result<Send, Refusal> {
    el.only(&["retrans"], true)?;
    let raw: String = el
        .node
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let tmpl_err = |source| {
        el.err(LoadProblem::Template {
            element: el.name.into(),
            source,
        })
    };
    let text = clean_message(&raw).ok_or_else(|| tmpl_err(TemplateError::Empty))?;
    let template = Template::compile_message(&text, loader).map_err(tmpl_err)?;
    let first = template.leading_literal().unwrap_or("");
    let (word, rest) = first.split_once(' ').unwrap_or(("", ""));
    let what = if word == "SIP/2.0" {
        let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
        match code.parse::<u16>() {
            Ok(c) if (100..700).contains(&c) => Outgoing::Response(c),
            _ => return Err(el.bad("(start line)", first.trim_end(), "a status code 100-699")),
        }
    } else if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphabetic()) {
        Outgoing::Request(word.into())
    } else {
        return Err(el.bad(
            "(start line)",
            first.lines().next().unwrap_or(""),
            "a request method or SIP/2.0 written out, not a keyword",
        ));
    };
    if let Outgoing::Request(m) = &what {
        methods.push(m.clone());
    }
    let retrans = el.millis("retrans")?.filter(|d| !d.is_zero());
    Ok(Send {
        template,
        what,
        retrans,
    })
}

fn read_recv(el: El, methods: &[Box<str>]) -> Result<Recv, Refusal> {
    el.only(
        &[
            "response",
            "request",
            "optional",
            "timeout",
            "rrs",
            "auth",
            "regexp_match",
            "ignoresdp",
            "advance_state",
        ],
        true,
    )?;
    if !el.bool("advance_state", true)? {
        return Err(el.err(LoadProblem::Attribute {
            element: "recv".into(),
            attribute: "advance_state".into(),
            hint: " with the value false",
        }));
    }
    let regexp = el.bool("regexp_match", false)?;
    let expect = match (el.attr("response"), el.attr("request")) {
        (Some(r), None) if regexp => Expect::ResponseLike(regex(&el, r)?),
        (Some(r), None) => match r.trim().parse::<u16>() {
            Ok(c) if (100..700).contains(&c) => Expect::Response(c),
            _ => return Err(el.bad("response", r, "a status code 100-699")),
        },
        (None, Some(m)) if regexp => Expect::RequestLike(regex(&el, m)?),
        (None, Some(m)) => Expect::Request(m.into()),
        (None, None) => {
            return Err(el.err(LoadProblem::Missing {
                element: "recv".into(),
                attribute: "response or request",
            }))
        }
        (Some(_), Some(_)) => {
            return Err(el.bad("request", "", "either response or request, not both"))
        }
    };
    let optional = match el.attr("optional") {
        None | Some("false") => Optional::No,
        Some("true") => Optional::Yes,
        Some("global") => Optional::Global,
        Some(v) => return Err(el.bad("optional", v, "true, false or global")),
    };
    let timeout = el.millis("timeout")?.filter(|d| !d.is_zero());
    Ok(Recv {
        expect,
        optional,
        timeout,
        rrs: el.bool("rrs", false)?,
        auth: el.bool("auth", false)?,
        methods: methods.into(),
    })
}

fn regex(el: &El, pattern: &str) -> Result<regex::Regex, Refusal> {
    super::actions::compile_regex(pattern).map_err(|e| el.err(LoadProblem::Regex(e)))
}

pub(super) fn read_dist(el: El, old_style: bool) -> Result<Option<Dist>, Refusal> {
    let name = match el.attr("distribution") {
        Some(n) => n,
        None if !old_style => {
            return Err(el.err(LoadProblem::Missing {
                element: el.name.into(),
                attribute: "distribution",
            }))
        }
        None => {
            if el.attr("min").is_some() || el.attr("max").is_some() {
                "uniform"
            } else if let Some(ms) = el.f64("milliseconds")? {
                return Ok(Some(Dist::Fixed(ms)));
            } else {
                return Ok(None);
            }
        }
    };
    Ok(Some(match name {
        "fixed" => Dist::Fixed(el.need_f64("value")?),
        "uniform" => Dist::Uniform {
            min: el.need_f64("min")?,
            max: el.need_f64("max")?,
        },
        "normal" => Dist::Normal {
            mean: el.need_f64("mean")?,
            stdev: el.need_f64("stdev")?,
        },
        "lognormal" => Dist::LogNormal {
            mean: el.need_f64("mean")?,
            stdev: el.need_f64("stdev")?,
        },
        "exponential" => Dist::Exponential {
            mean: el.need_f64("mean")?,
        },
        "weibull" => Dist::Weibull {
            lambda: el.need_f64("lambda")?,
            k: el.need_f64("k")?,
        },
        "pareto" => Dist::Pareto {
            k: el.need_f64("k")?,
            x_m: el.need_f64("x_m")?,
        },
        other => {
            return Err(el.bad(
                "distribution",
                other,
                "fixed, uniform, normal, lognormal, exponential, weibull or pareto",
            ))
        }
    }))
}

fn read_pause(el: El, loader: &mut Loader) -> Result<PauseLen, Refusal> {
    if let Some(v) = el.attr("variable") {
        return Ok(PauseLen::Var(loader.var(v)));
    }
    Ok(match read_dist(el, true)? {
        Some(d) => PauseLen::Dist(d),
        None => PauseLen::Default,
    })
}

fn read_common(el: El, kind: StepKind, loader: &mut Loader) -> Result<(Step, Pending), Refusal> {
    let rtd_name = |v: &str| {
        if v == "true" {
            "1".to_owned()
        } else {
            v.to_owned()
        }
    };
    let start_rtd = el
        .attr("start_rtd")
        .map(|v| named(&mut loader.rtds, &rtd_name(v)));
    let rtd = el
        .attr("rtd")
        .map(|v| named(&mut loader.rtds, &rtd_name(v)));
    let counter = el.attr("counter").map(|v| named(&mut loader.counters, v));
    let lost = el.f64("lost")?;
    if let Some(l) = lost {
        if !(0.0..=100.0).contains(&l) {
            return Err(el.bad("lost", &l.to_string(), "a percentage 0-100"));
        }
    }
    let chance = el.f64("chance")?;
    if let Some(c) = chance {
        if !(0.0..=1.0).contains(&c) {
            return Err(el.bad("chance", &c.to_string(), "a probability 0-1"));
        }
    }
    let condexec = match el.attr("condexec") {
        Some(v) => Some((loader.var(v), el.bool("condexec_inverse", false)?)),
        None => None,
    };
    let next = el.attr("next").map(|l| (l.to_owned(), el.line));
    let on_timeout = el.attr("ontimeout").map(|l| (l.to_owned(), el.line));
    let test = el.attr("test").map(|v| loader.var(v));
    let actions = super::load_action::read_actions(el, loader)?;
    Ok((
        Step {
            kind,
            line: el.line,
            next: None,
            on_timeout: None,
            test,
            chance,
            condexec,
            start_rtd,
            rtd,
            repeat_rtd: el.bool("repeat_rtd", false)?,
            counter,
            lost: lost.filter(|l| *l > 0.0),
            actions,
        },
        Pending { next, on_timeout },
    ))
}

/// SIPp's default messages for aborting a call (call.cpp's `default_message_strings`).
fn default_messages(loader: &mut Loader) -> Result<Defaults, Refusal> {
    const ACK: &str = "ACK [last_Request_URI] SIP/2.0\n[last_Via]\n[last_From]\n[last_To]\n\
        Call-ID: [call_id]\nCSeq: [last_cseq_number] ACK\n\
        Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\nMax-Forwards: 70\n\
        Subject: Performance Test\nContent-Length: 0\n\n";
    const BYE: &str = "BYE [next_url] SIP/2.0\n\
        Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n[routes]\n\
        [last_From]\n[last_To]\nCall-ID: [call_id]\nCSeq: [last_cseq_number+1] BYE\n\
        Max-Forwards: 70\nContact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\n\
        Content-Length: 0\n\n";
    const CANCEL: &str = "CANCEL [last_Request_URI] SIP/2.0\n[last_Via]\n[last_From]\n[last_To]\n\
        Call-ID: [call_id]\nCSeq: [last_cseq_number] CANCEL\nMax-Forwards: 70\n\
        Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\nContent-Length: 0\n\n";
    const OK: &str = "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n\
        [last_CSeq:]\nContact: <sip:[local_ip]:[local_port];transport=[transport]>\n\
        Content-Length: 0\n\n";
    let t = |s: &str, loader: &mut Loader| {
        Template::compile_message(s, loader).map_err(|source| Refusal {
            line: 0,
            problem: LoadProblem::Template {
                element: "default message".into(),
                source,
            },
        })
    };
    Ok(Defaults {
        ack: t(ACK, loader)?,
        bye: t(BYE, loader)?,
        cancel: t(CANCEL, loader)?,
        ok: t(OK, loader)?,
    })
}
