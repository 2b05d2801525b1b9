use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn errors(text: &str) -> Vec<PlanError> {
    match parse("plan.yaml", text, no_env) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.0,
    }
}

#[test]
fn builtin_plans_parse_and_validate() {
    for (name, _) in BUILTIN {
        let loaded = load_with_env(name, no_env).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!loaded.plan.gates.is_empty(), "{name} has gates");
    }
}

#[test]
fn gravl_plan_declares_the_gates_of_the_field_report() {
    let plan = load_with_env("gravl", no_env).unwrap().plan;
    let ids: Vec<&str> = plan.gates.iter().map(|g| g.id.value.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cluster-access",
            "cert-manager",
            "cluster-issuers",
            "certificates",
            "sealed-secrets",
            "network-policies",
            "rbac",
            "image-scanning",
            "images-pinned",
            "dns-records",
            "backups",
            "staging-pods",
            "rollout",
            "warning-events",
            "load-test",
            "error-rate",
            "latency",
            "alerts",
            "metrics-scraped"
        ]
    );
    assert_eq!(plan.signoff, ["DevOps/PM", "Security", "Performance"]);
    let phases: Vec<&str> = plan
        .runbook
        .iter()
        .map(|p| p.phase.value.as_str())
        .collect();
    assert_eq!(phases, ["Pre-flight", "Deploy", "Validation", "Monitor"]);
}

#[test]
fn unknown_key_is_reported_with_line_and_column() {
    let e =
        errors("name: x\ngates:\n  - id: a\n    title: A\n    group: security\n    chekcs: []\n");
    assert_eq!((e[0].line, e[0].column), (6, 5));
    assert!(e[0].message.contains("unknown field `chekcs`"), "{}", e[0]);
    assert!(e[0].to_string().starts_with("plan.yaml:6:5: "), "{}", e[0]);
}

#[test]
fn unknown_check_kind_lists_the_known_ones() {
    let e = errors(
        "name: x\ngates:\n  - id: a\n    title: A\n    group: security\n    checks:\n      - pods_redy: {namespace: x}\n",
    );
    assert_eq!(e[0].line, 7);
    assert!(e[0].message.contains("pods_ready"), "{}", e[0]);
}

#[test]
fn bad_duration_says_what_a_duration_looks_like() {
    let e = errors("name: x\nrunbook:\n  - phase: P\n    budget: 30 minutes\n    steps: [a]\n");
    assert_eq!(e[0].line, 4);
    assert!(
        e[0].message.contains("expected a number with a unit"),
        "{}",
        e[0]
    );
}

#[test]
fn wrong_type_is_reported_with_position() {
    let e = errors("name: x\ngates: 3\n");
    assert_eq!(e[0].line, 2);
}

#[test]
fn duplicate_gate_ids_point_at_the_second() {
    let gate = "  - id: a\n    title: A\n    group: g\n    checks: [{cluster_access: {}}]\n";
    let e = errors(&format!("name: x\ngates:\n{gate}{gate}"));
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].line, e[0].column), (7, 9));
    assert!(e[0].message.contains("duplicate gate id `a`"));
}

#[test]
fn step_verifying_an_unknown_gate_suggests_the_close_one() {
    let e = errors(
        "name: x\ngates:\n  - id: cluster-access\n    title: A\n    group: g\n    checks: [{cluster_access: {}}]\nrunbook:\n  - phase: P\n    steps:\n      - {text: t, verify: gate cluster-acess}\n",
    );
    assert_eq!(e[0].line, 10);
    assert!(
        e[0].message.contains("did you mean `cluster-access`"),
        "{}",
        e[0]
    );
}

#[test]
fn malformed_verify_and_selector_are_plan_errors() {
    let e =
        errors("name: x\nrunbook:\n  - phase: P\n    steps:\n      - {text: t, verify: gates x}\n");
    assert!(e[0].message.contains("expected `gate <id>`"), "{}", e[0]);
    let e = errors(
        "name: x\ngates:\n  - id: a\n    title: A\n    group: g\n    checks:\n      - pods_ready: {namespace: x, selector: \"app in web\"}\n",
    );
    assert_eq!(e[0].line, 7);
    assert!(e[0].message.contains("parenthesised"), "{}", e[0]);
}

#[test]
fn requires_must_name_a_known_step_or_phase() {
    let e = errors(
        "name: x\nrunbook:\n  - phase: P\n    steps:\n      - {id: one, text: t}\n      - {text: u, requires: [one, two]}\n",
    );
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("unknown step or phase `two`"),
        "{}",
        e[0]
    );
}

#[test]
fn a_phase_or_step_cannot_require_its_own_phase_and_phase_requires_are_checked() {
    let e = errors(
        "name: x\nrunbook:\n  - phase: P\n    steps:\n      - {text: t, requires: [P]}\n  - phase: Q\n    requires: [R]\n    steps: [u, v]\n",
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!((e[0].line, e[0].column), (5, 30), "{}", e[0]);
    assert!(
        e[0].message.contains("requires its own phase `P`"),
        "{}",
        e[0]
    );
    assert_eq!(e[1].line, 7, "{}", e[1]);
    assert!(
        e[1].message.contains("unknown step or phase `R`"),
        "{}",
        e[1]
    );
}

#[test]
fn step_map_with_unknown_key_is_rejected() {
    let e = errors("name: x\nrunbook:\n  - phase: P\n    steps:\n      - {text: t, verfy: load}\n");
    assert!(e[0].message.contains("unknown field `verfy`"), "{}", e[0]);
}

#[test]
fn environment_variables_are_interpolated_with_defaults() {
    let text = "name: ${NAME:-fallback}\nnamespaces: [${NS}]\n";
    let plan = parse("p", text, |k| (k == "NS").then(|| "prod".to_string()))
        .unwrap()
        .plan;
    assert_eq!(plan.name, "fallback");
    assert_eq!(plan.namespaces, ["prod"]);
    let e = parse("p", text, no_env).unwrap_err().0;
    assert_eq!((e[0].line, e[0].column), (2, 14));
}

#[test]
fn error_after_a_substitution_points_at_the_source_column() {
    let text = "name: x\nnamespaces: ${NS}\nbogus: 1\n";
    let e = parse("p", text, |_| Some("[a]".into())).unwrap_err().0;
    assert_eq!((e[0].line, e[0].column), (3, 1));
}

#[test]
fn unknown_plan_name_lists_the_builtins() {
    let e = load_with_env("nope-not-a-plan", no_env).unwrap_err();
    assert!(e.to_string().contains("gravl, volundr"), "{e}");
}

#[test]
fn malformed_threshold_is_a_plan_error_with_its_position() {
    let text = "name: x\nload:\n  target: http://127.0.0.1:1\n  scenarios:\n    s: {executor: constant-vus, vus: 1, duration: 1s, requests: [GET /]}\n  thresholds:\n    http_req_duration: [\"p(95)<<200\"]\n";
    let e = errors(text);
    assert_eq!(e[0].line, 7, "{}", e[0]);
    assert!(e[0].message.contains("threshold"), "{}", e[0]);
}

#[test]
fn load_cross_field_errors_point_at_the_field() {
    let text = "name: x\nload:\n  target: http://127.0.0.1:1\n  scenarios:\n    spike:\n      executor: constant-arrival-rate\n      rate: 10\n      duration: 1s\n      preAllocatedVUs: 20\n      maxVUs: 5\n      requests: [GET /]\n";
    let e = errors(text);
    assert!(e.iter().any(|e| e.message.contains("maxVUs")), "{e:?}");
    assert!(e.iter().any(|e| e.line >= 5), "{e:?}");
    assert!(
        e.iter().any(|e| e.line == 10 && e.column == 7),
        "points at maxVUs itself: {e:?}"
    );
}

#[test]
fn a_threshold_that_does_not_fit_its_metric_points_at_its_key_however_quoted() {
    for key in [
        "http_req_failed",
        "\"http_req_failed\"",
        "'http_req_failed{name:health}'",
    ] {
        let text = format!(
            "name: x\nload:\n  target: http://127.0.0.1:1\n  scenarios:\n    s: {{executor: constant-vus, vus: 1, duration: 1s, requests: [GET /]}}\n  thresholds:\n    http_reqs: [\"rate>1\"]\n    {key}: [\"p(95)<200\"]\n"
        );
        let e = errors(&text);
        assert!(
            e.iter().any(|e| e.line == 8 && e.column == 5),
            "{key}: {e:?}"
        );
    }
}

#[test]
fn the_complete_example_in_the_plan_docs_validates() {
    let doc = include_str!("../../docs/plan.md");
    let example = doc
        .split("## A complete example\n\n```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/plan.md has a complete example");
    let loaded = parse("docs/plan.md", example, no_env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.plan.gates.len(), 6);
}

#[test]
fn monitoring_checks_need_their_source_in_the_plan() {
    let text = "name: m\ngates:\n  - id: errors\n    title: e\n    group: monitoring\n    checks:\n      - prometheus: {query: up, condition: \"== 1\"}\n      - alerts: {}\n";
    let errors = parse("m.yaml", text, no_env)
        .expect_err("no monitoring section")
        .to_string();
    assert!(errors.contains("m.yaml:3:9: gate `errors` checks prometheus but the plan's `monitoring:` names no prometheus"), "{errors}");
    assert!(
        errors.contains("checks alertmanager but the plan's `monitoring:` names no alertmanager"),
        "{errors}"
    );
    let fixed = format!(
        "{text}monitoring: {{prometheus: {{url: \"http://p:9090\"}}, alertmanager: {{url: \"http://a:9093\"}}}}\n"
    );
    assert!(parse("m.yaml", &fixed, no_env).is_ok());
}

#[test]
fn a_monitoring_source_is_a_url_or_a_service_written_as_the_proxy_reads_it() {
    let text = "name: m\ngates:\n  - id: errors\n    title: e\n    group: monitoring\n    checks:\n      - prometheus: {query: up, condition: \"== 1\"}\n      - alerts: {}\n";
    let with = |monitoring: &str| {
        parse(
            "m.yaml",
            &format!("{text}monitoring: {monitoring}\n"),
            no_env,
        )
    };
    let ok = with(
        "{prometheus: {service: \"gravl-monitoring/prometheus:9090\"}, alertmanager: {service: \"mon/am:web\"}}",
    );
    assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.to_string()));
    let cases = [
        (
            "{prometheus: {url: \"http://p\", service: \"a/b:1\"}, alertmanager: {url: \"http://a\"}}",
            "m.yaml:3:9: gate `errors` checks prometheus, but `monitoring.prometheus`: give `url` or `service`, not both",
        ),
        (
            "{prometheus: {}, alertmanager: {url: \"http://a\"}}",
            "`monitoring.prometheus`: expected `url` or `service`",
        ),
        (
            "{prometheus: {service: \"prometheus:9090\"}, alertmanager: {url: \"http://a\"}}",
            "`service: prometheus:9090`: expected NAMESPACE/NAME:PORT",
        ),
        (
            "{prometheus: {url: \"http://p\"}, alertmanager: {url: \"am:9093\"}}",
            "`monitoring.alertmanager`: `url: am:9093` must start with http:// or https://",
        ),
    ];
    for (monitoring, expected) in cases {
        let e = with(monitoring).expect_err(monitoring).to_string();
        assert!(e.contains(expected), "{monitoring}: {e}");
    }
}
