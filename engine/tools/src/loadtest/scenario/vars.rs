//! Call variables, loosely typed as SIPp's are: a regular-expression match, a string, a double
//! or a boolean; what "set" means depends on the type (SIPp's `test` attribute reads it).

use std::fmt::Write;

/// Index of a variable in the scenario's name table.
pub(crate) type VarId = u16;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Value {
    #[default]
    Unset,
    /// Assigned by `<ereg>`: only ever written when the expression matched.
    Matched(String),
    Text(String),
    Number(f64),
    Flag(bool),
}

impl Value {
    /// SIPp's `isSet`: a match or a string is set, a double when non-zero, a bool when true.
    pub fn is_set(&self) -> bool {
        match self {
            Value::Unset => false,
            Value::Matched(_) | Value::Text(_) => true,
            Value::Number(d) => *d != 0.0,
            Value::Flag(b) => *b,
        }
    }

    /// SIPp's `getDouble`: 0 for anything but a double.
    pub fn number(&self) -> f64 {
        match self {
            Value::Number(d) => *d,
            _ => 0.0,
        }
    }

    /// SIPp's `getString`: the text of a string or a match, empty otherwise.
    pub fn text(&self) -> &str {
        match self {
            Value::Matched(s) | Value::Text(s) => s,
            _ => "",
        }
    }

    /// SIPp's `toDouble`: `None` when the text is not a whole number literal.
    pub fn to_number(&self) -> Option<f64> {
        match self {
            Value::Matched(s) | Value::Text(s) => s.trim_start().parse().ok(),
            Value::Number(d) => Some(*d),
            Value::Flag(b) => Some(f64::from(u8::from(*b))),
            Value::Unset => None,
        }
    }

    /// How `[$n]` writes the value: doubles as C's `%lf`, booleans as true/false.
    pub fn render(&self, out: &mut String) {
        match self {
            Value::Unset => {}
            Value::Matched(s) | Value::Text(s) => out.push_str(s),
            Value::Number(d) => {
                // INVARIANT: writing to a String cannot fail.
                let _ = write!(out, "{d:.6}");
            }
            Value::Flag(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
}

/// One call's variables, indexed by [`VarId`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars(Vec<Value>);

impl Vars {
    pub fn new(count: usize) -> Self {
        Self(vec![Value::Unset; count])
    }

    pub fn get(&self, id: VarId) -> &Value {
        static UNSET: Value = Value::Unset;
        self.0.get(usize::from(id)).unwrap_or(&UNSET)
    }

    pub fn set(&mut self, id: VarId, v: Value) {
        if let Some(slot) = self.0.get_mut(usize::from(id)) {
            *slot = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_render_as_sipp_does() {
        assert!(!Value::Unset.is_set());
        assert!(!Value::Number(0.0).is_set());
        assert!(Value::Number(2.0).is_set());
        assert!(!Value::Flag(false).is_set());
        assert!(Value::Matched(String::new()).is_set());
        let mut s = String::new();
        Value::Number(1.0).render(&mut s);
        Value::Flag(false).render(&mut s);
        assert_eq!(s, "1.000000false");
        assert_eq!(Value::Text("12".into()).to_number(), Some(12.0));
        assert_eq!(Value::Text("12x".into()).to_number(), None);
        let mut v = Vars::new(1);
        v.set(0, Value::Text("a".into()));
        v.set(5, Value::Text("ignored".into()));
        assert_eq!(v.get(0).text(), "a");
        assert_eq!(v.get(5), &Value::Unset);
    }
}
