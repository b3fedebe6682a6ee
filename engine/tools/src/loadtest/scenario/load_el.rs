//! The loader's vocabulary: an element being read (its line, its attributes checked against
//! what is understood) and the errors that name the file and line of a refusal.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use roxmltree::{Document, Node};

use super::load::Loader;
use super::template::{Template, TemplateError};

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
