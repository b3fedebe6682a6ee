//! Reading an element's `<action>` children; like the rest of the loader, an action that is not
//! implemented is refused with its line rather than dropped.

use roxmltree::Node;

use super::actions::{
    compile_regex, Action, Arith, Check, Compare, Ereg, Rhs, SearchIn, StrRhs, Strcmp, Test,
};
use super::load::{read_dist, Loader};
use super::load_el::{El, LoadProblem, Refusal};
use super::template::Names;

/// The actions of a message element, in order; any child other than `<action>` is refused.
pub(super) fn read_actions(el: El, loader: &mut Loader) -> Result<Box<[Action]>, Refusal> {
    let mut out = Vec::new();
    let doc = el.node.document();
    for child in el.node.children().filter(Node::is_element) {
        let c = El::new(doc, child);
        if c.name != "action" {
            return Err(c.refuse(" inside a message element"));
        }
        c.only(&[], false)?;
        for a in child.children().filter(Node::is_element) {
            out.push(read_action(El::new(doc, a), loader)?);
        }
    }
    Ok(out.into())
}

fn check(a: &El) -> Result<Check, Refusal> {
    match (
        a.bool("check_it", false)?,
        a.bool("check_it_inverse", false)?,
    ) {
        (true, true) => Err(a.bad(
            "check_it_inverse",
            "true",
            "not both check_it and check_it_inverse",
        )),
        (true, false) => Ok(Check::Must),
        (false, true) => Ok(Check::MustNot),
        (false, false) => Ok(Check::None),
    }
}

/// `value` or `variable`: the right-hand side of arithmetic, `jump` and `test`.
fn rhs(a: &El, loader: &mut Loader, var_attr: &'static str) -> Result<Rhs, Refusal> {
    match (a.f64("value")?, a.attr(var_attr)) {
        (Some(v), None) => Ok(Rhs::Value(v)),
        (None, Some(v)) => Ok(Rhs::Var(loader.var(v))),
        (Some(_), Some(_)) => Err(a.bad(var_attr, "", "either value or a variable, not both")),
        (None, None) => Err(a.err(LoadProblem::Missing {
            element: a.name.into(),
            attribute: "value",
        })),
    }
}

fn assign_to(a: &El, loader: &mut Loader) -> Result<super::vars::VarId, Refusal> {
    Ok(loader.var(a.need("assign_to")?.trim()))
}

fn read_action(a: El, loader: &mut Loader) -> Result<Action, Refusal> {
    Ok(match a.name {
        "ereg" => read_ereg(a, loader)?,
        "log" | "warning" | "error" => {
            a.only(&["message"], false)?;
            Action::Log {
                warning: a.name != "log",
                message: a.template(a.need("message")?, loader)?,
            }
        }
        "assign" => {
            a.only(&["assign_to", "value", "variable"], false)?;
            Action::Assign {
                to: assign_to(&a, loader)?,
                rhs: rhs(&a, loader, "variable")?,
            }
        }
        "assignstr" => {
            a.only(&["assign_to", "value"], false)?;
            Action::AssignStr {
                to: assign_to(&a, loader)?,
                value: a.template(a.need("value")?, loader)?,
            }
        }
        "add" | "subtract" | "multiply" | "divide" => {
            a.only(&["assign_to", "value", "variable"], false)?;
            let op = match a.name {
                "add" => Arith::Add,
                "subtract" => Arith::Subtract,
                "multiply" => Arith::Multiply,
                _ => Arith::Divide,
            };
            let to = assign_to(&a, loader)?;
            let rhs = rhs(&a, loader, "variable")?;
            if op == Arith::Divide && rhs == Rhs::Value(0.0) {
                return Err(a.bad("value", "0", "a divisor other than zero"));
            }
            Action::Arith { op, to, rhs }
        }
        "sample" => {
            a.only(
                &[
                    "assign_to",
                    "distribution",
                    "value",
                    "min",
                    "max",
                    "mean",
                    "stdev",
                    "lambda",
                    "k",
                    "x_m",
                ],
                false,
            )?;
            let to = assign_to(&a, loader)?;
            let dist = read_dist(a, false)?.ok_or_else(|| a.refuse(""))?;
            Action::Sample { to, dist }
        }
        "todouble" => {
            a.only(&["assign_to", "variable"], false)?;
            Action::ToDouble {
                to: assign_to(&a, loader)?,
                from: loader.var(a.need("variable")?),
            }
        }
        "test" => {
            a.only(
                &[
                    "assign_to",
                    "variable",
                    "value",
                    "variable2",
                    "compare",
                    "check_it",
                    "check_it_inverse",
                ],
                false,
            )?;
            let check = check(&a)?;
            let to = match a.attr("assign_to") {
                Some(v) => Some(loader.var(v.trim())),
                None if check != Check::None => None,
                None => Some(assign_to(&a, loader)?),
            };
            let cmp = a.need("compare")?;
            Action::Test(Test {
                to,
                lhs: loader.var(a.need("variable")?),
                rhs: rhs(&a, loader, "variable2")?,
                compare: Compare::parse(cmp).ok_or_else(|| {
                    a.bad(
                        "compare",
                        cmp,
                        "equal, not_equal, greater_than, less_than, greater_than_equal or less_than_equal",
                    )
                })?,
                check,
            })
        }
        "strcmp" => {
            a.only(
                &[
                    "assign_to",
                    "variable",
                    "value",
                    "variable2",
                    "check_it",
                    "check_it_inverse",
                ],
                false,
            )?;
            let check = check(&a)?;
            let to = match a.attr("assign_to") {
                Some(v) => Some(loader.var(v.trim())),
                None if check != Check::None => None,
                None => Some(assign_to(&a, loader)?),
            };
            let rhs = match (a.attr("value"), a.attr("variable2")) {
                (Some(v), None) => StrRhs::Value(v.into()),
                (None, Some(v)) => StrRhs::Var(loader.var(v)),
                _ => return Err(a.bad("value", "", "either value or variable2")),
            };
            Action::Strcmp(Strcmp {
                to,
                lhs: loader.var(a.need("variable")?),
                rhs,
                check,
            })
        }
        "trim" => {
            a.only(&["assign_to"], false)?;
            Action::Trim {
                var: assign_to(&a, loader)?,
            }
        }
        "index" => {
            a.only(&["assign_to"], false)?;
            Action::Index {
                to: assign_to(&a, loader)?,
            }
        }
        "jump" => {
            a.only(&["value", "variable"], false)?;
            Action::Jump(rhs(&a, loader, "variable")?)
        }
        "exec" => read_exec(a)?,
        "gettimeofday" | "lookup" | "insert" | "replace" | "setdest" | "closecon"
        | "verifyauth" | "urlencode" | "urldecode" | "pauserestore" => {
            return Err(a.refuse(" (this action is not implemented)"))
        }
        _ => return Err(a.refuse("")),
    })
}

fn read_ereg(a: El, loader: &mut Loader) -> Result<Action, Refusal> {
    a.only(
        &[
            "regexp",
            "search_in",
            "header",
            "variable",
            "occurrence",
            "occurence",
            "start_line",
            "case_indep",
            "check_it",
            "check_it_inverse",
            "assign_to",
        ],
        false,
    )?;
    let re = compile_regex(a.need("regexp")?).map_err(|e| a.err(LoadProblem::Regex(e)))?;
    let search = match a.attr("search_in").unwrap_or("msg") {
        "msg" => SearchIn::Msg,
        "body" => SearchIn::Body,
        "var" => SearchIn::Var(loader.var(a.need("variable")?)),
        "hdr" => {
            let name = a.need("header")?;
            if name.is_empty() {
                return Err(a.bad("header", name, "a header name"));
            }
            let occ = a.attr("occurrence").or(a.attr("occurence")).unwrap_or("1");
            SearchIn::Header {
                name: name.into(),
                occurrence: occ
                    .trim()
                    .parse()
                    .map_err(|_| a.bad("occurrence", occ, "a whole number"))?,
                start_line: a.bool("start_line", false)?,
                case_indep: a.bool("case_indep", false)?,
            }
        }
        other => return Err(a.bad("search_in", other, "msg, hdr, body or var")),
    };
    let assign: Vec<_> = a
        .need("assign_to")?
        .split(',')
        .map(|v| loader.var(v.trim()))
        .collect();
    Ok(Action::Ereg(Ereg {
        re,
        search,
        check: check(&a)?,
        assign: assign.into(),
    }))
}

fn read_exec(a: El) -> Result<Action, Refusal> {
    a.only(&["int_cmd"], false).map_err(|_| {
        let media = ["play_pcap_audio", "play_pcap_video", "play_pcap_image", "rtp_stream", "play_dtmf"]
            .iter()
            .any(|m| a.attr(m).is_some());
        if media {
            a.refuse(" with media play: the scenario player sends no RTP (use --media on the fixed call shape)")
        } else if a.attr("command").is_some() {
            a.refuse(" with command= (shell commands are not run)")
        } else {
            a.refuse("")
        }
    })?;
    match a.need("int_cmd")? {
        "stop_call" => Ok(Action::StopCall),
        "stop_now" | "stop_gracefully" => Ok(Action::StopRun),
        other => Err(a.bad("int_cmd", other, "stop_call, stop_now or stop_gracefully")),
    }
}
