//! Injection files (SIPp's `-inf`): `;`-separated fields per line, one line per call, read in
//! the order the first line names (SEQUENTIAL, RANDOM or USER), optionally PRINTF-generated.
//!
//! SIPp's USER order hands each of its `-users` its own line; the load tester has no users, so
//! a USER file is read as each call being its own user: call N takes line N-1, wrapping.

use std::path::{Path, PathBuf};

/// How a call picks its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Sequential,
    Random,
    User,
}

/// PRINTF files: `%d` in a field becomes `offset + line × multiple`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Printf {
    virtual_lines: usize,
    offset: u64,
    multiple: u64,
}

/// One injection file, read once at load.
#[derive(Debug, Clone)]
pub struct InjectionFile {
    /// The path as given (what `file=` in a keyword names).
    pub name: String,
    pub order: Order,
    lines: Vec<Box<str>>,
    printf: Option<Printf>,
}

/// Why an injection file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InjectionError {
    #[error("cannot read injection file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("injection file {path}: the first line must say SEQUENTIAL, RANDOM or USER (it says {first:?})")]
    Order { path: PathBuf, first: String },
    #[error("injection file {path}: bad {what} in the first line {first:?}")]
    Printf {
        path: PathBuf,
        what: &'static str,
        first: String,
    },
    #[error("injection file {path}: no data line")]
    Empty { path: PathBuf },
    #[error("injection file {path}: line {line}: {field:?} has a printf conversion other than %d")]
    Conversion {
        path: PathBuf,
        line: usize,
        field: String,
    },
}

/// The longest line kept; longer ones are cut (SIPp's buffers are smaller still).
const MAX_LINE: usize = 64 * 1024;

impl InjectionFile {
    pub fn load(path: &Path) -> Result<Self, InjectionError> {
        let text = std::fs::read(path).map_err(|source| InjectionError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(path, &String::from_utf8_lossy(&text))
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, InjectionError> {
        let mut it = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = it.next().unwrap_or("");
        let order = if first.contains("RANDOM") {
            Order::Random
        } else if first.contains("SEQUENTIAL") {
            Order::Sequential
        } else if first.contains("USER") {
            Order::User
        } else {
            return Err(InjectionError::Order {
                path: path.into(),
                first: first.into(),
            });
        };
        let printf = parse_printf(path, first)?;
        let mut lines: Vec<Box<str>> = Vec::new();
        // Data ends at the first empty line, as in SIPp; '#' lines are comments.
        for l in it.take_while(|l| !l.is_empty()) {
            if l.starts_with('#') {
                continue;
            }
            let mut end = l.len().min(MAX_LINE);
            while !l.is_char_boundary(end) {
                end -= 1;
            }
            lines.push(Box::from(&l[..end]));
        }
        if lines.is_empty() {
            return Err(InjectionError::Empty { path: path.into() });
        }
        if printf.is_some() {
            for (i, l) in lines.iter().enumerate() {
                for f in l.split(';') {
                    if format_printf(f, 0).is_none() {
                        return Err(InjectionError::Conversion {
                            path: path.into(),
                            line: i,
                            field: f.into(),
                        });
                    }
                }
            }
        }
        Ok(Self {
            name: path.display().to_string(),
            order,
            lines,
            printf,
        })
    }

    /// Logical lines (a PRINTF file's virtual count).
    pub fn len(&self) -> usize {
        self.printf.map_or(self.lines.len(), |p| p.virtual_lines)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The line call number `call` (1-based) reads, `random` drawn by the caller.
    pub fn line_for_call(&self, call: u64, random: u64) -> usize {
        let n = self.len().max(1) as u64;
        (match self.order {
            Order::Sequential | Order::User => call.saturating_sub(1) % n,
            Order::Random => random % n,
        }) as usize
    }

    /// Writes field `field` of logical line `line`; nothing when either is out of range.
    pub fn write_field(&self, line: usize, field: usize, out: &mut String) {
        if line >= self.len() {
            return;
        }
        let raw = &self.lines[line % self.lines.len()];
        let Some(f) = raw.split(';').nth(field) else {
            return;
        };
        match self.printf {
            None => out.push_str(f),
            Some(p) => {
                let n = p.offset + line as u64 * p.multiple;
                // INVARIANT: every field was checked by `format_printf` at load.
                out.push_str(&format_printf(f, n).unwrap_or_default());
            }
        }
    }
}

fn parse_printf(path: &Path, first: &str) -> Result<Option<Printf>, InjectionError> {
    let num = |key: &str, what: &'static str| -> Result<Option<u64>, InjectionError> {
        let mut at = 0;
        // "PRINTF=" must not match inside "PRINTFOFFSET=".
        while let Some(i) = first[at..].find(key) {
            let start = at + i + key.len();
            let rest = &first[start..];
            if let Some(v) = rest.strip_prefix('=') {
                let digits: &str = v.split(',').next().unwrap_or("").trim();
                return digits
                    .parse()
                    .map(Some)
                    .map_err(|_| InjectionError::Printf {
                        path: path.into(),
                        what,
                        first: first.into(),
                    });
            }
            at = start;
        }
        Ok(None)
    };
    let Some(lines) = num("PRINTF", "PRINTF")? else {
        return Ok(None);
    };
    if lines == 0 || lines > u64::from(u32::MAX) {
        return Err(InjectionError::Printf {
            path: path.into(),
            what: "PRINTF",
            first: first.into(),
        });
    }
    Ok(Some(Printf {
        virtual_lines: lines as usize,
        offset: num("PRINTFOFFSET", "PRINTFOFFSET")?.unwrap_or(0),
        multiple: num("PRINTFMULTIPLE", "PRINTFMULTIPLE")?.unwrap_or(1),
    }))
}

/// Expands C-style `%[-0][width]d` conversions (and `%%`) with `n`; `None` on any other one.
fn format_printf(f: &str, n: u64) -> Option<String> {
    let mut out = String::with_capacity(f.len() + 8);
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let (mut left, mut zero, mut width) = (false, false, 0usize);
        loop {
            match chars.next()? {
                '-' => left = true,
                '0' if width == 0 => zero = true,
                d @ '0'..='9' => width = (width * 10 + (d as usize - '0' as usize)).min(64),
                'd' => break,
                _ => return None,
            }
        }
        let digits = n.to_string();
        let pad = width.saturating_sub(digits.len());
        if left {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(if zero { '0' } else { ' ' }, pad));
            out.push_str(&digits);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> InjectionFile {
        InjectionFile::parse(Path::new("t.csv"), text).expect("parses")
    }

    fn field(f: &InjectionFile, line: usize, n: usize) -> String {
        let mut s = String::new();
        f.write_field(line, n, &mut s);
        s
    }

    #[test]
    fn sequential_with_comments_wraps() {
        let f = file("SEQUENTIAL\n#c\nSarah;sipphone32\nBob;sipphone12\r\n#x\nFred;sipphone94\n\nafter;blank\n");
        assert_eq!(f.order, Order::Sequential);
        assert_eq!(f.len(), 3);
        let lines: Vec<usize> = (1..=4).map(|c| f.line_for_call(c, 0)).collect();
        assert_eq!(lines, [0, 1, 2, 0]);
        assert_eq!(field(&f, 1, 0), "Bob");
        assert_eq!(field(&f, 1, 1), "sipphone12");
        assert_eq!(field(&f, 1, 2), "");
        assert_eq!(field(&f, 9, 0), "");
    }

    #[test]
    fn random_and_user_orders() {
        let f = file("RANDOM\na\nb\n");
        assert_eq!(f.line_for_call(1, 5), 1);
        let u = file("USER\na\nb\n");
        assert_eq!(u.order, Order::User);
        assert_eq!(u.line_for_call(3, 0), 0);
    }

    #[test]
    fn printf_lines() {
        let f = file(
            "USERS,PRINTF=4,PRINTFOFFSET=10,PRINTFMULTIPLE=2\nuser%03d;pw%d;Foo\nu%-3d|;x;Bar\n",
        );
        assert_eq!(f.len(), 4);
        assert_eq!(field(&f, 0, 0), "user010");
        assert_eq!(field(&f, 1, 0), "u12 |");
        assert_eq!(field(&f, 2, 1), "pw14");
        assert_eq!(field(&f, 3, 2), "Bar");
    }

    #[test]
    fn refusals() {
        let p = Path::new("t.csv");
        assert!(matches!(
            InjectionFile::parse(p, "ORDERED\na\n"),
            Err(InjectionError::Order { .. })
        ));
        assert!(matches!(
            InjectionFile::parse(p, "SEQUENTIAL\n#only\n"),
            Err(InjectionError::Empty { .. })
        ));
        assert!(matches!(
            InjectionFile::parse(p, "SEQUENTIAL,PRINTF=x\na\n"),
            Err(InjectionError::Printf { .. })
        ));
        assert!(matches!(
            InjectionFile::parse(p, "SEQUENTIAL,PRINTF=2\na%s\n"),
            Err(InjectionError::Conversion { .. })
        ));
    }
}
