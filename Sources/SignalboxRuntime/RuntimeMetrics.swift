import Metrics
import SignalboxCore

/// The timings of one action (DESIGN §11), labelled by rule, action index and handler. Its counts
/// are kept once, in ``ActionCounters``.
package struct ActionMetrics: Sendable {
    let duration: Timer
    /// From ingest taking the message (before its journal write) to the start of its first
    /// attempt, on the monotonic clock; the exporter gives it fine buckets (``startLatencyBuckets``).
    let startLatency: Timer

    /// The start-latency histogram's bucket boundaries: fine below 10 ms, where its target lies.
    package static let startLatencyLabel = "signalbox_action_start_latency_seconds"

    package static let startLatencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(3),
        .milliseconds(5), .milliseconds(7), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        .seconds(10),
    ]

    init(rule: String, action: String, function: String) {
        let dimensions = [("rule", rule), ("action", action), ("function", function)]
        duration = Timer(
            label: "signalbox_action_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        startLatency = Timer(
            label: Self.startLatencyLabel, dimensions: dimensions, preferredDisplayUnit: .seconds)
    }
}

/// Runtime-wide metrics: reloads, the active version, messages in flight, the journal's lag.
struct RuntimeMetrics: Sendable {
    let reloadsSucceeded = Counter(label: "signalbox_rules_reloads_total", dimensions: [("result", "success")])
    let reloadsFailed = Counter(label: "signalbox_rules_reloads_total", dimensions: [("result", "failure")])
    let version = Gauge(label: "signalbox_rules_version")
    let inFlight = Gauge(label: "signalbox_messages_in_flight")
    let journalLag = Gauge(label: "signalbox_journal_lag_messages")
    let handled = Counter(label: "signalbox_messages_handled_total")
    let refused = Counter(label: "signalbox_ingest_refused_total", dimensions: [("reason", "overloaded")])
    let deadLetters = Counter(label: "signalbox_dead_letters_total")
    /// Basic Ingest messages naming no enabled rule (AWS IoT's `RuleNotFound`).
    let ruleNotFound = Counter(label: "signalbox_basic_ingest_rule_not_found_total")
}
