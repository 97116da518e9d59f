//! The few-shot NAS supernet key of a NAS-Bench-201 cell: how the authors'
//! tables (`data/fewshot/*.json.gz`) name architectures, a Python repr such as
//! `[(('op', 0),), (('op', 0), ('op', 1)), (('op', 0), ('op', 1), ('op', 2))]`.

use searchkit::nasbench::nb201::{Cell, NUM_EDGES, OPS};
use std::fmt::Write;

/// Errors from parsing a few-shot key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown op '{op}' in few-shot key '{key}'; valid ops: {valid}", valid = OPS.join(", "))]
    UnknownOp { op: String, key: String },
    #[error("malformed few-shot key '{input}': {reason}; expected [(('op', 0),), (('op', 0), ('op', 1)), (('op', 0), ('op', 1), ('op', 2))]")]
    Malformed { input: String, reason: String },
}

/// Position of edge `(target <- source)` in the op vector.
fn edge_index(target: usize, source: usize) -> usize {
    target * (target - 1) / 2 + source
}

/// The few-shot NAS supernet key, e.g.
/// `[(('none', 0),), (('none', 0), ('none', 1)), (('none', 0), ('none', 1), ('skip_connect', 2))]`;
/// the pair `('op', j)` in group `i - 1` is edge `(i <- j)`.
pub fn fewshot_key(cell: Cell) -> String {
    let mut s = String::with_capacity(160);
    s.push('[');
    for target in 1..=3 {
        if target > 1 {
            s.push_str(", ");
        }
        s.push('(');
        for source in 0..target {
            if source > 0 {
                s.push_str(", ");
            }
            let op = OPS[cell.ops()[edge_index(target, source)] as usize];
            let _ = write!(s, "('{op}', {source})");
        }
        // Python writes a one-element tuple with a trailing comma.
        if target == 1 {
            s.push(',');
        }
        s.push(')');
    }
    s.push(']');
    s
}

/// Parse a few-shot NAS key (see [`fewshot_key`]). Whitespace and
/// quote style (' or ") are not significant; each node must list each of
/// its inputs exactly once.
pub fn cell_from_fewshot_key(key: &str) -> Result<Cell, KeyError> {
    FewshotParser::new(key).parse()
}

/// A small recursive-descent parser for the Python-repr few-shot keys.
struct FewshotParser<'a> {
    input: &'a str,
    rest: &'a str,
}

impl<'a> FewshotParser<'a> {
    fn new(input: &'a str) -> Self {
        Self { input, rest: input }
    }

    fn err(&self, reason: impl Into<String>) -> KeyError {
        KeyError::Malformed {
            input: self.input.to_string(),
            reason: reason.into(),
        }
    }

    fn ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Result<(), KeyError> {
        if self.eat(c) {
            Ok(())
        } else {
            let at = self.input.len() - self.rest.len();
            Err(self.err(format!("expected '{c}' at byte {at}")))
        }
    }

    fn peek(&mut self, c: char) -> bool {
        self.ws();
        self.rest.starts_with(c)
    }

    /// `('op', j)`
    fn pair(&mut self) -> Result<(u8, usize), KeyError> {
        self.expect('(')?;
        self.ws();
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.err("expected a quoted op name")),
        };
        let after = &self.rest[1..];
        let end = after
            .find(quote)
            .ok_or_else(|| self.err("unterminated op name"))?;
        let name = &after[..end];
        self.rest = &after[end + 1..];
        let op = OPS
            .iter()
            .position(|o| *o == name)
            .ok_or_else(|| KeyError::UnknownOp {
                op: name.to_string(),
                key: self.input.to_string(),
            })? as u8;
        self.expect(',')?;
        self.ws();
        let digits = self.rest.len()
            - self
                .rest
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let source: usize = self.rest[..digits]
            .parse()
            .map_err(|_| self.err("expected an input node number after the op name"))?;
        self.rest = &self.rest[digits..];
        self.expect(')')?;
        Ok((op, source))
    }

    fn parse(mut self) -> Result<Cell, KeyError> {
        let mut ops = [0u8; NUM_EDGES];
        self.expect('[')?;
        for target in 1..=3 {
            if target > 1 {
                self.expect(',')?;
            }
            self.expect('(')?;
            let mut seen = [false; 3];
            let mut count = 0;
            loop {
                let (op, source) = self.pair()?;
                if source >= target {
                    return Err(self.err(format!(
                        "node {target} cannot take input {source} (inputs are 0..{target})"
                    )));
                }
                if std::mem::replace(&mut seen[source], true) {
                    return Err(self.err(format!("node {target} lists input {source} twice")));
                }
                ops[edge_index(target, source)] = op;
                count += 1;
                // A comma either separates pairs or is Python's trailing one.
                if !self.eat(',') || self.peek(')') {
                    break;
                }
            }
            self.expect(')')?;
            if count != target {
                return Err(self.err(format!(
                    "node {target} lists {count} inputs, expected {target}"
                )));
            }
        }
        if self.peek(',') {
            return Err(self.err("more than 3 nodes"));
        }
        self.expect(']')?;
        self.ws();
        if !self.rest.is_empty() {
            return Err(self.err(format!("unexpected trailing text '{}'", self.rest)));
        }
        Ok(Cell::new(ops))
    }
}

#[cfg(test)]
mod tests;
