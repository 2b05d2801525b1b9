//! `images_scanned` and `images_pinned`: the images running in a namespace, judged by
//! their references and by Trivy Operator's VulnerabilityReports (`aquasecurity.github.io/
//! v1alpha1`, one per container of a workload, `report.artifact` naming the image and
//! its digest). An image without a report for its digest is unknown, never pass.

use super::json::{format_age, name, str_field, timestamp};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{
    ClusterView, Freshness, PODS, Reads, VULNERABILITY_REPORTS, WatchErrorKind, WatchKey,
};
use crate::plan::{ImagesPinnedCheck, ImagesScannedCheck, SeverityLimits};
use jiff::Timestamp;
use serde_json::Value;

const SCANNED: &str = "images_scanned";
const PINNED: &str = "images_pinned";

/// The pod fields both kinds read: each container's image, and the digest the kubelet
/// pulled (`imageID`).
pub const IMAGE_POD_READS: &[&str] = &[
    "status.phase",
    "spec.containers.name",
    "spec.containers.image",
    "spec.initContainers.name",
    "spec.initContainers.image",
    "status.containerStatuses.name",
    "status.containerStatuses.imageID",
    "status.initContainerStatuses.name",
    "status.initContainerStatuses.imageID",
];

/// What `images_scanned` reads of a report: a real one carries a description, links and
/// CVSS vectors for every vulnerability, hundreds of KB for an old base image.
pub const REPORT_READS: &[&str] = &[
    "report.artifact",
    "report.registry",
    "report.scanner",
    "report.summary",
    "report.updateTimestamp",
    "report.vulnerabilities.vulnerabilityID",
    "report.vulnerabilities.resource",
    "report.vulnerabilities.installedVersion",
    "report.vulnerabilities.fixedVersion",
    "report.vulnerabilities.severity",
    "report.vulnerabilities.score",
];

/// An image reference taken apart: `ghcr.io/gravl/backend:1.9.1@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `index.docker.io` for Docker Hub's short names, as Trivy Operator reports it.
    pub registry: String,
    /// `library/nginx` for Docker Hub's `nginx`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        let (named, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (text, None),
        };
        let slash = named.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match named[slash..].rfind(':') {
            Some(i) => (
                &named[..slash + i],
                Some(named[slash + i + 1..].to_string()),
            ),
            None => (named, None),
        };
        let (registry, repository) = match path.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("index.docker.io".to_string(), path.to_string()),
            None => ("index.docker.io".to_string(), format!("library/{path}")),
        };
        let registry = if registry == "docker.io" {
            "index.docker.io".to_string()
        } else {
            registry
        };
        Self {
            registry,
            repository,
            tag,
            digest,
        }
    }

    fn same_repository(&self, other: &ImageRef) -> bool {
        self.registry == other.registry && self.repository == other.repository
    }
}

/// One image running in the namespace, with the containers that run it.
#[derive(Debug, Clone)]
struct Running {
    /// As the pod spec names it.
    image: String,
    parsed: ImageRef,
    /// From the spec, or else the digest the kubelet pulled.
    digest: Option<String>,
    containers: Vec<String>,
}

impl Running {
    /// `ghcr.io/gravl/backend:1.9.1 (sha256:abcd…)`.
    fn label(&self) -> String {
        match &self.digest {
            Some(d) if !self.image.contains('@') => format!("{} ({})", self.image, short(d)),
            _ => self.image.clone(),
        }
    }
}

fn short(digest: &str) -> String {
    match digest.split_once(':') {
        // By characters: a digest is a field anyone can write, not always hex.
        Some((algo, hex)) if hex.chars().count() > 12 => {
            format!("{algo}:{}…", hex.chars().take(12).collect::<String>())
        }
        _ => digest.to_string(),
    }
}

/// Containers of pods that still run (not Succeeded or Failed), grouped by image.
fn running_images(view: &ClusterView, ns: &str) -> Vec<Running> {
    let mut images: Vec<Running> = Vec::new();
    for pod in view.objects(&PODS, Some(ns)) {
        let pod = &pod;
        if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded") | Some("Failed")
        ) {
            continue;
        }
        for (specs, statuses) in [
            ("containers", "containerStatuses"),
            ("initContainers", "initContainerStatuses"),
        ] {
            for c in pod["spec"][specs].as_array().into_iter().flatten() {
                let image = str_field(c, "image").to_string();
                if image.is_empty() {
                    continue;
                }
                let cname = str_field(c, "name");
                let pulled = pod["status"][statuses]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| str_field(s, "name") == cname)
                    .map(|s| str_field(s, "imageID"))
                    .and_then(|id| id.split_once('@').map(|(_, d)| d.to_string()));
                let parsed = ImageRef::parse(&image);
                let digest = parsed.digest.clone().or(pulled);
                let at = format!("{}/{cname}", name(pod));
                match images
                    .iter_mut()
                    .find(|r| r.image == image && r.digest == digest)
                {
                    Some(r) => r.containers.push(at),
                    None => images.push(Running {
                        image,
                        parsed,
                        digest,
                        containers: vec![at],
                    }),
                }
            }
        }
    }
    images
}

fn containers_text(r: &Running) -> String {
    let shown: Vec<&str> = r.containers.iter().take(3).map(String::as_str).collect();
    let more = r.containers.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (+{more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A report's artifact as an image reference.
fn report_image(report: &Value) -> ImageRef {
    let r = &report["report"];
    let tag = str_field(&r["artifact"], "tag");
    let digest = str_field(&r["artifact"], "digest");
    ImageRef {
        registry: str_field(&r["registry"], "server").to_string(),
        repository: str_field(&r["artifact"], "repository").to_string(),
        tag: (!tag.is_empty()).then(|| tag.to_string()),
        digest: (!digest.is_empty()).then(|| digest.to_string()),
    }
}

const SEVERITIES: [(&str, &str); 4] = [
    ("CRITICAL", "criticalCount"),
    ("HIGH", "highCount"),
    ("MEDIUM", "mediumCount"),
    ("LOW", "lowCount"),
];

fn limit(max: &SeverityLimits, severity: &str) -> Option<u64> {
    match severity {
        "CRITICAL" => max.critical,
        "HIGH" => max.high,
        "MEDIUM" => max.medium,
        "LOW" => max.low,
        _ => None,
    }
}

fn rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|(s, _)| *s == severity)
        .unwrap_or(SEVERITIES.len())
}

/// `CVE-2024-6119 openssl 3.1.4 → 3.1.7 (HIGH)`; `no fix` when none is published.
fn cve_text(v: &Value) -> String {
    let fixed = str_field(v, "fixedVersion");
    let fixed = if fixed.is_empty() { "no fix" } else { fixed };
    format!(
        "{} {} {} → {fixed} ({})",
        str_field(v, "vulnerabilityID"),
        str_field(v, "resource"),
        str_field(v, "installedVersion"),
        str_field(v, "severity"),
    )
}

/// The worst `n` vulnerabilities of the severities over their limit, worst first.
fn worst(report: &Value, over: &[&str], n: usize) -> Vec<String> {
    let mut vulns: Vec<&Value> = report["report"]["vulnerabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| over.contains(&str_field(v, "severity")))
        .collect();
    vulns.sort_by(|a, b| {
        rank(str_field(a, "severity"))
            .cmp(&rank(str_field(b, "severity")))
            .then(
                b["score"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&a["score"].as_f64().unwrap_or(0.0)),
            )
            .then(str_field(a, "vulnerabilityID").cmp(str_field(b, "vulnerabilityID")))
    });
    vulns.into_iter().take(n).map(cve_text).collect()
}

const NO_REPORT: &str = "no vulnerability scanner reports for image";
const SCANNER_FIX: &str = "install Trivy Operator (it scans every workload's images and writes a VulnerabilityReport per container), or wait for its next scan";

pub fn images_scanned(
    c: &ImagesScannedCheck,
    view: &ClusterView,
    now: Timestamp,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(SCANNED, view, &PODS, Some(ns), false)?;
    let images = running_images(view, ns);
    if let Freshness::Failed(e, _) = view.freshness(&VULNERABILITY_REPORTS, Some(ns))
        && e.kind == WatchErrorKind::NotServed
    {
        let evidence = images
            .iter()
            .map(|r| {
                Evidence::new(
                    format!("image {}", r.label()),
                    format!(
                        "{NO_REPORT} {}: {} is not served by this cluster",
                        r.image,
                        VULNERABILITY_REPORTS.qualified_name()
                    ),
                )
            })
            .collect();
        let first = images
            .first()
            .map(|r| r.image.clone())
            .unwrap_or_else(|| format!("in {ns}"));
        return Err(CheckVerdict::new(
            SCANNED,
            Status::Unknown,
            format!("{NO_REPORT} {first}: Trivy Operator's VulnerabilityReport is not served"),
        )
        .with_evidence(evidence)
        .with_fix(SCANNER_FIX));
    }
    require_fresh(SCANNED, view, &VULNERABILITY_REPORTS, Some(ns), false)?;
    if images.is_empty() {
        return Ok(CheckVerdict::new(
            SCANNED,
            Status::Unknown,
            format!("no running pod in {ns}: nothing to judge"),
        ));
    }
    let reports: Vec<(Value, ImageRef)> = view
        .objects(&VULNERABILITY_REPORTS, Some(ns))
        .map(|r| {
            let image = report_image(&r);
            (r, image)
        })
        .collect();
    let mut evidence = Vec::new();
    let mut over_limit = Vec::new();
    let mut unscanned = Vec::new();
    for image in &images {
        let object = format!("image {}", image.label());
        // Several reports for one image (an old and a new ReplicaSet's, scanned on
        // different days): the worst of them counts, not whichever is listed first.
        let found = reports
            .iter()
            .filter(|(_, a)| {
                a.same_repository(&image.parsed)
                    && match &image.digest {
                        Some(d) => a.digest.as_deref() == Some(d.as_str()),
                        None => a.tag.is_some() && a.tag == image.parsed.tag,
                    }
            })
            .max_by_key(|(r, _)| {
                SEVERITIES
                    .iter()
                    .map(|(_, key)| r["report"]["summary"][key].as_u64().unwrap_or(0))
                    .collect::<Vec<u64>>()
            });
        let Some((report, _)) = found else {
            let others: Vec<String> = reports
                .iter()
                .filter(|(_, a)| a.same_repository(&image.parsed))
                .filter_map(|(_, a)| a.digest.as_deref().map(short))
                .collect();
            let why = match (&image.digest, others.is_empty()) {
                (Some(d), false) => format!(
                    "{NO_REPORT} {} at digest {}: reports exist only for {} (a stale scan of an older image)",
                    image.image,
                    short(d),
                    others.join(", ")
                ),
                _ => format!("{NO_REPORT} {}", image.image),
            };
            evidence.push(Evidence::new(
                object,
                format!("{why}; run by {}", containers_text(image)),
            ));
            unscanned.push(why);
            continue;
        };
        let summary = &report["report"]["summary"];
        // No summary is no count: never read as zero vulnerabilities.
        if !summary.is_object() {
            let why = format!(
                "the vulnerability report for image {} has no summary of counts",
                image.image
            );
            evidence.push(Evidence::new(object, why.clone()));
            unscanned.push(why);
            continue;
        }
        let counts: Vec<(&str, u64)> = SEVERITIES
            .iter()
            .map(|(s, key)| (*s, summary[key].as_u64().unwrap_or(0)))
            .collect();
        let over: Vec<&str> = counts
            .iter()
            .filter(|(s, n)| limit(&c.max, s).is_some_and(|max| *n > max))
            .map(|(s, _)| *s)
            .collect();
        let counted: Vec<String> = counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.to_ascii_lowercase()))
            .collect();
        let scanned = timestamp(&report["report"]["updateTimestamp"])
            .map(|t| {
                format!(
                    ", scanned {} ago",
                    format_age(now.as_second() - t.as_second())
                )
            })
            .unwrap_or_default();
        let mut detail = format!(
            "VulnerabilityReport {ns}/{}: {}{scanned}",
            name(report),
            counted.join(", ")
        );
        if !over.is_empty() {
            let limits: Vec<String> = over
                .iter()
                .map(|s| {
                    let n = counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
                    format!("{n} {s} (max {})", limit(&c.max, s).unwrap_or(0))
                })
                .collect();
            let cves = worst(report, &over, 3);
            detail.push_str(&format!("; worst: {}", cves.join("; ")));
            over_limit.push(format!(
                "{}: {}{}",
                image.image,
                limits.join(", "),
                cves.first()
                    .map(|c| format!(", worst {c}"))
                    .unwrap_or_default()
            ));
        }
        evidence.push(Evidence::new(object, detail));
    }
    let n = images.len();
    let verdict = if !over_limit.is_empty() {
        CheckVerdict::new(SCANNED, Status::Fail, over_limit.join("; ")).with_fix(
            "rebuild on a patched base image or bump the packages named, then redeploy; Trivy Operator rescans the new digest",
        )
    } else if !unscanned.is_empty() {
        CheckVerdict::new(SCANNED, Status::Unknown, unscanned.join("; ")).with_fix(SCANNER_FIX)
    } else {
        CheckVerdict::new(
            SCANNED,
            Status::Pass,
            format!(
                "{n} running {} scanned, none over the limits",
                if n == 1 { "image" } else { "images" }
            ),
        )
    };
    Ok(verdict.with_evidence(evidence))
}

pub fn images_pinned(
    c: &ImagesPinnedCheck,
    view: &ClusterView,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(PINNED, view, &PODS, Some(ns), false)?;
    let images = running_images(view, ns);
    if images.is_empty() {
        return Ok(CheckVerdict::new(
            PINNED,
            Status::Unknown,
            format!("no running pod in {ns}: nothing to judge"),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut floating = Vec::new();
    let mut tag_only = Vec::new();
    let mut evidence = Vec::new();
    for r in &images {
        if seen.contains(&r.image.as_str()) {
            continue;
        }
        seen.push(&r.image);
        let object = format!("image {}", r.image);
        let run_by = containers_text(r);
        match (&r.parsed.tag, &r.parsed.digest) {
            (_, Some(d)) => {
                evidence.push(Evidence::new(
                    object,
                    format!("pinned by digest {}; run by {run_by}", short(d)),
                ));
            }
            (Some(t), None) if t == "latest" => {
                floating.push(format!("{} uses :latest", r.image));
                evidence.push(Evidence::new(
                    object,
                    format!(":latest moves with every push; run by {run_by}"),
                ));
            }
            (None, None) => {
                floating.push(format!("{} has no tag (:latest)", r.image));
                evidence.push(Evidence::new(
                    object,
                    format!("untagged: the runtime pulls :latest; run by {run_by}"),
                ));
            }
            (Some(t), None) => {
                tag_only.push(r.image.clone());
                evidence.push(Evidence::new(
                    object,
                    format!(
                        "tag {t} without a digest: a re-push changes what runs; run by {run_by}"
                    ),
                ));
            }
        }
    }
    let verdict = if !floating.is_empty() {
        CheckVerdict::new(PINNED, Status::Fail, floating.join("; "))
            .with_fix("deploy a version tag, ideally with its digest (image: repo:1.2.3@sha256:…)")
    } else if !tag_only.is_empty() {
        CheckVerdict::new(
            PINNED,
            Status::Warn,
            format!("tag without digest: {}", tag_only.join(", ")),
        )
        .with_fix(
            "append the digest (repo:tag@sha256:…) so a re-pushed tag cannot change what runs",
        )
    } else {
        CheckVerdict::new(
            PINNED,
            Status::Pass,
            format!("{} images pinned by digest", seen.len()),
        )
    };
    Ok(verdict.with_evidence(evidence))
}

impl CheckKind for ImagesScannedCheck {
    const NAME: &'static str = SCANNED;

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(PODS, &self.namespace),
            WatchKey::namespaced(VULNERABILITY_REPORTS, &self.namespace),
        ]
    }

    fn reads(&self) -> Vec<Reads> {
        vec![
            (PODS, IMAGE_POD_READS),
            (VULNERABILITY_REPORTS, REPORT_READS),
        ]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        images_scanned(self, view, ctx.now)
    }
}

impl CheckKind for ImagesPinnedCheck {
    const NAME: &'static str = PINNED;

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(PODS, &self.namespace)]
    }

    fn reads(&self) -> Vec<Reads> {
        vec![(PODS, IMAGE_POD_READS)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        images_pinned(self, view)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_digest_that_is_not_hex_is_shortened_by_characters_not_bytes() {
        assert_eq!(
            super::short("sha256:d2b4f6a8c0e\u{e9}123"),
            "sha256:d2b4f6a8c0e\u{e9}…"
        );
        assert_eq!(super::short("sha256:abc"), "sha256:abc");
    }
}
