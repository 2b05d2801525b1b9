//! `expression`: arithmetic over configuration values, HPA bounds and literals, e.g.
//! `pool * replicas <= max_connections` with the HPA maximum as the replica count.

use super::config::{resolve, source_watch};
use super::json::scalar_text;
use super::scaling::{hpa_for, min_replicas};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{ClusterView, HPAS};
use crate::plan::{ExpressionCheck, ExpressionValue, expr::Expression};
use std::collections::BTreeMap;

const KIND: &str = "expression";

fn value_of(
    name: &str,
    v: &ExpressionValue,
    view: &ClusterView,
) -> Result<(f64, Evidence), CheckVerdict> {
    match v {
        ExpressionValue::Literal(n) => Ok((*n, Evidence::new(name, format!("literal {n}")))),
        ExpressionValue::ConfigValue(source) => {
            let found = resolve(KIND, source, view)?;
            let text = scalar_text(&found.value);
            match text.trim().parse::<f64>() {
                Ok(n) => Ok((n, Evidence::new(found.object, format!("{name} = {text}")))),
                Err(_) => Err(CheckVerdict::new(
                    KIND,
                    Status::Fail,
                    format!("{name}: {} is `{text}`, not a number", found.object),
                )),
            }
        }
        ExpressionValue::HpaMax(r) | ExpressionValue::HpaMin(r) => {
            require_fresh(KIND, view, &HPAS, Some(&r.namespace), false)?;
            let Some(h) = hpa_for(view, &r.namespace, &r.workload) else {
                return Err(CheckVerdict::new(
                    KIND,
                    Status::Fail,
                    format!(
                        "{name}: no HPA targets Deployment {}/{}",
                        r.namespace, r.workload
                    ),
                ));
            };
            let h = &h;
            let (field, n) = match v {
                ExpressionValue::HpaMax(_) => ("maxReplicas", h["spec"]["maxReplicas"].as_i64()),
                _ => ("minReplicas", Some(min_replicas(h))),
            };
            let object = format!(
                "HorizontalPodAutoscaler {}/{}",
                r.namespace,
                super::json::name(h)
            );
            match n {
                Some(n) => Ok((
                    n as f64,
                    Evidence::new(object, format!("{name} = {field} {n}")),
                )),
                None => Err(CheckVerdict::new(
                    KIND,
                    Status::Fail,
                    format!("{object} has no {field}"),
                )),
            }
        }
    }
}

pub fn expression(c: &ExpressionCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let expr = Expression::parse(&c.expr)
        .map_err(|e| CheckVerdict::new(KIND, Status::Fail, format!("expression: {e}")))?;
    let mut values = BTreeMap::new();
    let mut evidence = Vec::new();
    for (name, v) in &c.values {
        let (n, e) = value_of(name, v, view)?;
        values.insert(name.clone(), n);
        evidence.push(e);
    }
    let (Some(left), Some(right)) = (expr.left.eval(&values), expr.right.eval(&values)) else {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Unknown,
            format!(
                "`{}` cannot be computed (an unknown name or a division by zero)",
                c.expr
            ),
        )
        .with_evidence(evidence));
    };
    let shown = format!("{} = {left} {} {right}", c.expr, expr.op.symbol());
    if expr.op.holds(left, right) {
        Ok(CheckVerdict::new(KIND, Status::Pass, shown).with_evidence(evidence))
    } else {
        Ok(
            CheckVerdict::new(KIND, Status::Fail, format!("{shown} does not hold"))
                .with_evidence(evidence),
        )
    }
}

/// The watches an input value reads.
pub fn value_watches(v: &ExpressionValue) -> Vec<crate::cluster::WatchKey> {
    match v {
        ExpressionValue::Literal(_) => vec![],
        ExpressionValue::ConfigValue(s) => source_watch(s).into_iter().collect(),
        ExpressionValue::HpaMax(r) | ExpressionValue::HpaMin(r) => {
            vec![WatchKey::namespaced(HPAS, &r.namespace)]
        }
    }
}

impl CheckKind for ExpressionCheck {
    const NAME: &'static str = "expression";

    fn watches(&self) -> Vec<WatchKey> {
        self.values.values().flat_map(value_watches).collect()
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        expression(self, view)
    }
}
