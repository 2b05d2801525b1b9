//! The arithmetic of `expression` checks: `pool * replicas <= max_connections - reserved`.
//! Numbers, names, `+ - * /`, parentheses, and exactly one comparison.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Number(f64),
    Name(String),
    Binary(Box<Term>, char, Box<Term>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
    Ne,
}

impl Comparison {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::Le => a <= b,
            Comparison::Lt => a < b,
            Comparison::Ge => a >= b,
            Comparison::Gt => a > b,
            Comparison::Eq => a == b,
            Comparison::Ne => a != b,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Le => "<=",
            Comparison::Lt => "<",
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
            Comparison::Eq => "==",
            Comparison::Ne => "!=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub left: Term,
    pub op: Comparison,
    pub right: Term,
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Number(n) => write!(f, "{n}"),
            Term::Name(n) => f.write_str(n),
            Term::Binary(a, op, b) => write!(f, "({a} {op} {b})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(char),
    Open,
    Close,
    Cmp(Comparison),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Token::Number(
                s.parse().map_err(|_| format!("`{s}` is not a number"))?,
            ));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            let next = chars.get(i + 1).copied();
            let (token, width) = match (c, next) {
                ('<', Some('=')) => (Token::Cmp(Comparison::Le), 2),
                ('>', Some('=')) => (Token::Cmp(Comparison::Ge), 2),
                ('=', Some('=')) => (Token::Cmp(Comparison::Eq), 2),
                ('!', Some('=')) => (Token::Cmp(Comparison::Ne), 2),
                ('<', _) => (Token::Cmp(Comparison::Lt), 1),
                ('>', _) => (Token::Cmp(Comparison::Gt), 1),
                ('+' | '-' | '*' | '/', _) => (Token::Op(c), 1),
                ('(', _) => (Token::Open, 1),
                (')', _) => (Token::Close, 1),
                _ => return Err(format!("unexpected `{c}`")),
            };
            out.push(token);
            i += width;
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn sum(&mut self) -> Result<Term, String> {
        let mut left = self.product()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.at += 1;
            left = Term::Binary(Box::new(left), op, Box::new(self.product()?));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Term, String> {
        let mut left = self.atom()?;
        while let Some(Token::Op(op @ ('*' | '/'))) = self.peek().cloned() {
            self.at += 1;
            left = Term::Binary(Box::new(left), op, Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Term, String> {
        let token = self.peek().cloned();
        self.at += 1;
        match token {
            Some(Token::Number(n)) => Ok(Term::Number(n)),
            Some(Token::Name(n)) => Ok(Term::Name(n)),
            Some(Token::Op('-')) => Ok(Term::Binary(
                Box::new(Term::Number(0.0)),
                '-',
                Box::new(self.atom()?),
            )),
            Some(Token::Open) => {
                let inner = self.sum()?;
                match self.peek() {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Some(other) => Err(format!("unexpected {other:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

impl Expression {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        let left = p.sum()?;
        let op = match p.peek() {
            Some(Token::Cmp(op)) => *op,
            _ => {
                return Err(format!(
                    "`{text}` needs one comparison: <=, <, >=, >, == or !="
                ));
            }
        };
        p.at += 1;
        let right = p.sum()?;
        if p.at < p.tokens.len() {
            return Err(format!(
                "`{text}` has more after the comparison than one side"
            ));
        }
        Ok(Self { left, op, right })
    }

    pub fn names(&self) -> Vec<String> {
        fn walk(t: &Term, out: &mut Vec<String>) {
            match t {
                Term::Number(_) => {}
                Term::Name(n) => out.push(n.clone()),
                Term::Binary(a, _, b) => {
                    walk(a, out);
                    walk(b, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.left, &mut out);
        walk(&self.right, &mut out);
        out
    }
}

impl Term {
    /// `None` for an unknown name or a division by zero.
    pub fn eval(&self, values: &BTreeMap<String, f64>) -> Option<f64> {
        match self {
            Term::Number(n) => Some(*n),
            Term::Name(n) => values.get(n).copied(),
            Term::Binary(a, op, b) => {
                let (a, b) = (a.eval(values)?, b.eval(values)?);
                match op {
                    '+' => Some(a + b),
                    '-' => Some(a - b),
                    '*' => Some(a * b),
                    '/' if b != 0.0 => Some(a / b),
                    _ => None,
                }
            }
        }
    }
}
