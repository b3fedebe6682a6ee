//! Reading a SIPp scenario file into a [`Scenario`]: every element and attribute is either
//! understood or refused with its line number, so a scenario never runs with a part silently
//! dropped. The actions inside `<action>` are read by `load_action.rs`.

use std::collections::HashMap;
use std::path::Path;

use roxmltree::{Document, Node, ParsingOptions};

use super::dist::Dist;
use super::inject::InjectionFile;
use super::load_el::{El, Refusal};
pub use super::load_el::{LoadError, LoadProblem};
use super::template::{clean_message, Names, Template, TemplateError};
use super::vars::VarId;
use super::{
    Defaults, Expect, Optional, Outgoing, Pause, PauseLen, Recv, Scenario, Send, Step, StepKind,
};
use crate::loadtest::stat_file::{CALL_LENGTH_BOUNDS_MS, RTD_BOUNDS_MS};

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
    let mut rtd_bounds_ms = RTD_BOUNDS_MS.to_vec();
    let mut call_length_bounds_ms = CALL_LENGTH_BOUNDS_MS.to_vec();
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
            "ResponseTimeRepartition" | "CallLengthRepartition" => {
                // The buckets of the report's repartition tables and the stat file's columns.
                el.only(&["value"], false)?;
                let bounds = repartition(&el)?;
                if el.name == "CallLengthRepartition" {
                    call_length_bounds_ms = bounds;
                } else {
                    rtd_bounds_ms = bounds;
                }
                continue;
            }
            "Reference" => {
                // An unused-variable lint of SIPp's: it changes no message.
                el.only(&["variables"], false)?;
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
        rtd_bounds_ms,
        call_length_bounds_ms,
    })
}

/// A repartition's `value`: increasing bounds in ms, separated by commas (SIPp's form).
fn repartition(el: &El<'_, '_>) -> Result<Vec<u64>, Refusal> {
    let text = el.need("value")?;
    let expected = "increasing whole milliseconds separated by commas";
    let bounds = text
        .split(',')
        .map(|b| b.trim().parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| el.bad("value", text, expected))?;
    if bounds.len() > 64 || bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(el.bad("value", text, expected));
    }
    Ok(bounds)
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
    // Parameters of the distributions refused by name (gamma, negbin, gpareto).
    "theta",
    "n",
    "p",
    "shape",
    "scale",
    "location",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<Scenario, LoadError> {
        Scenario::parse(Path::new("t.xml"), xml, Vec::new())
    }

    fn refused(xml: &str) -> (u32, String) {
        let e = parse(xml).expect_err("refused");
        (e.line, e.to_string())
    }

    const UAC: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="t">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Content-Length: 0
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="403" optional="true" next="end"/>
  <recv response="200" rtd="true">
    <action><ereg regexp="tag=([a-z]+)" search_in="hdr" header="To:" assign_to="all,tag"/></action>
  </recv>
  <pause/>
  <label id="end"/>
</scenario>
"#;

    #[test]
    fn compiles_steps_labels_and_names() {
        let s = parse(UAC).expect("loads");
        assert_eq!(s.name, "t");
        assert_eq!(s.steps.len(), 5);
        assert_eq!(s.steps[0].line, 4);
        assert!(
            matches!(&s.steps[0].kind, StepKind::Send(x) if x.what == Outgoing::Request("INVITE".into())
            && x.retrans == Some(std::time::Duration::from_millis(500)))
        );
        let StepKind::Recv(r) = &s.steps[2].kind else {
            panic!("recv expected");
        };
        assert_eq!(r.optional, Optional::Yes);
        assert_eq!(&*r.methods, &["INVITE".into()]);
        // A label after the last message points past it: the end of the scenario.
        assert_eq!(s.steps[2].next, Some(5));
        assert_eq!(s.rtd_names, vec!["1".into()]);
        assert_eq!(s.var_names, vec!["all".into(), "tag".into()]);
        assert!(matches!(
            s.steps[4].kind,
            StepKind::Pause(Pause {
                len: PauseLen::Default,
                ..
            })
        ));
    }

    #[test]
    fn repartitions_set_the_buckets_or_are_refused() {
        let body = |inner: &str| {
            format!("<scenario>\n<send><![CDATA[\nOPTIONS sip:a SIP/2.0\n]]></send>\n{inner}\n</scenario>")
        };
        let s = parse(&body("<ResponseTimeRepartition value=\"5, 50,500\"/>")).expect("loads");
        assert_eq!(s.rtd_bounds_ms, vec![5, 50, 500]);
        assert_eq!(s.call_length_bounds_ms, CALL_LENGTH_BOUNDS_MS.to_vec());
        for bad in ["10, 5", "a,b", ""] {
            let (line, msg) = refused(&body(&format!("<CallLengthRepartition value=\"{bad}\"/>")));
            assert_eq!(line, 5, "{msg}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_play_with_the_line() {
        let body = |inner: &str| {
            format!("<scenario>\n<send><![CDATA[\nOPTIONS sip:a SIP/2.0\n]]></send>\n{inner}\n</scenario>")
        };
        let (line, msg) = refused(&body("<sendCmd><![CDATA[x]]></sendCmd>"));
        assert_eq!(line, 5);
        assert!(
            msg.starts_with("t.xml:5: <sendCmd> is not supported"),
            "{msg}"
        );
        let (line, msg) = refused(&body("<recv response=\"200\" response_txn=\"inv\"/>"));
        assert_eq!(line, 5);
        assert!(
            msg.contains("response_txn") && msg.contains("transactions"),
            "{msg}"
        );
        let (line, msg) = refused(&body(
            "<nop>\n<action>\n<exec play_pcap_audio=\"a.pcap\"/>\n</action>\n</nop>",
        ));
        assert_eq!(line, 7);
        assert!(msg.contains("<exec>") && msg.contains("media"), "{msg}");
        let (line, msg) = refused(&body("<recv response=\"200\" next=\"nowhere\"/>"));
        assert_eq!((line, msg.contains("\"nowhere\"")), (5, true));
        let (line, msg) = refused("<scenario>\n\n<send><![CDATA[\nINVITE sip:a SIP/2.0\nX: [unknown_kw]\n]]></send>\n</scenario>");
        assert_eq!(line, 3);
        assert!(msg.contains("[unknown_kw]"), "{msg}");
        let (line, _) = refused("<scenario>\n<recv request=\"INVITE\"/>\n</scenario>");
        assert_eq!(line, 2);
        let (line, msg) = refused(&body(
            "<recv response=\"180\" optional=\"true\"/>\n<pause/>",
        ));
        assert_eq!(line, 6);
        assert!(msg.contains("optional"), "{msg}");
        let (line, msg) = refused("<scenario>\n<send>\n</scenario>");
        assert!(line >= 2 && msg.contains("XML"), "{msg}");
        let (_, msg) = refused(&body("<pause distribution=\"gamma\" k=\"1\" theta=\"2\"/>"));
        assert!(msg.contains("distribution=\"gamma\""), "{msg}");
    }

    #[test]
    fn latin1_files_load() {
        let mut bytes = b"<scenario name=\"caf\xe9\"><send><![CDATA[\nOPTIONS sip:a SIP/2.0\n]]></send></scenario>".to_vec();
        let dir = std::env::temp_dir().join(format!("outdial-latin1-{}.xml", std::process::id()));
        std::fs::write(&dir, &bytes).expect("write");
        let s = Scenario::load(&dir, Vec::new()).expect("loads");
        let _ = std::fs::remove_file(&dir);
        assert_eq!(s.name, "café");
        bytes.clear();
    }
}
