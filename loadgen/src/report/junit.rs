//! `junit.xml`: one test case per check, so CI dashboards show which money or SLO check failed
//! and why. A failed money check lists its first violations in the failure body.

use std::fmt::Write as _;

use super::{RunReport, escape_markup as esc};
use crate::reconcile::ViolationKind;

/// How many violations a failed money check quotes.
const VIOLATIONS_PER_FAILURE: usize = 20;

pub fn render_junit(report: &RunReport) -> String {
    let meta = &report.meta;
    let tests = report.checks.len();
    let failures = report.checks.iter().filter(|c| !c.passed).count();
    let suite = format!("loadgen.{}", meta.scenario);
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"loadgen\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        meta.duration_s
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
        esc(&suite),
        meta.duration_s
    );
    x.push_str("    <properties>\n");
    let properties = [
        ("mode", meta.mode.as_str().to_owned()),
        ("target_url", meta.target_url.clone()),
        ("seed", meta.seed.to_string()),
        ("target_rate", format!("{:.1}", meta.target_rate)),
        ("achieved_rate", format!("{:.1}", meta.achieved_rate)),
        ("users", meta.users.to_string()),
        ("orders", report.orders.total.to_string()),
        ("requests", report.requests.to_string()),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            x,
            "      <property name=\"{name}\" value=\"{}\"/>",
            esc(&value)
        );
    }
    x.push_str("    </properties>\n");
    for check in &report.checks {
        let name = esc(&check.name);
        let class = esc(&format!("{suite}.checks"));
        if check.passed {
            let _ = writeln!(
                x,
                "    <testcase name=\"{name}\" classname=\"{class}\" time=\"0\"/>"
            );
            continue;
        }
        let _ = writeln!(
            x,
            "    <testcase name=\"{name}\" classname=\"{class}\" time=\"0\">"
        );
        let limit = check
            .limit
            .map_or_else(|| "none".to_owned(), |l| l.to_string());
        let mut body = format!(
            "observed {}, limit {limit}\n{}\n",
            check.observed, check.detail
        );
        if let Some(kind) = violation_kind(&check.name) {
            for v in report
                .money
                .violations
                .iter()
                .filter(|v| v.kind == kind)
                .take(VIOLATIONS_PER_FAILURE)
            {
                let _ = write!(
                    body,
                    "order {} ({}), keys [{}], payments [{}]: {}",
                    v.order_id,
                    v.flow,
                    v.idempotency_keys.join(", "),
                    v.payment_ids.join(", "),
                    v.detail
                );
                // The deliveries themselves are in report.json and report.html; a CI
                // dashboard gets the count and where to look.
                if !v.deliveries.is_empty() {
                    let _ = write!(
                        body,
                        " ({} webhook deliveries in report.json)",
                        v.deliveries.len()
                    );
                }
                body.push('\n');
            }
        }
        let _ = writeln!(
            x,
            "      <failure type=\"check_failed\" message=\"{}\">{}</failure>",
            esc(&check.detail),
            esc(&body)
        );
        x.push_str("    </testcase>\n");
    }
    let _ = writeln!(
        x,
        "    <system-out>{}</system-out>",
        esc(&super::render_summary(report))
    );
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn violation_kind(check: &str) -> Option<ViolationKind> {
    match check {
        "double_charges" => Some(ViolationKind::DoubleCharge),
        "lost_charges" => Some(ViolationKind::LostCharge),
        "orphan_charges" => Some(ViolationKind::OrphanCharge),
        "amount_mismatches" => Some(ViolationKind::AmountMismatch),
        "double_fulfilments" => Some(ViolationKind::DoubleFulfilment),
        "paid_not_charged" => Some(ViolationKind::PaidNotCharged),
        "charged_not_paid" => Some(ViolationKind::ChargedNotPaid),
        "state_regressions" => Some(ViolationKind::StateRegressed),
        "refund_mismatches" => Some(ViolationKind::RefundMismatch),
        _ => None,
    }
}
