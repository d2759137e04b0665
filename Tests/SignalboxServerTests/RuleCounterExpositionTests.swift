import SignalboxCore
import Testing

@testable import SignalboxServer

@Suite("rule counters in the Prometheus text format")
struct RuleCounterExpositionTests {
    static func status(rule: String, function: String) -> RulesStatus {
        RulesStatus(
            version: 3, loadedAt: 0, path: "rules.yaml", digest: "d",
            rules: [
                RuleStatus(
                    name: rule, enabled: true, topicFilter: "a/#", evaluated: 7, matched: 5, errors: 1,
                    actions: [
                        ActionStatus(
                            function: function, index: 0, invocations: 5, succeeded: 3, failures: 4, retries: 2,
                            throttled: 0, deadLettered: 1, pending: 0, handledByErrorAction: 0),
                        ActionStatus(
                            function: "persist", index: nil, invocations: 1, succeeded: 1, failures: 0, retries: 0,
                            throttled: 0, deadLettered: 0, pending: 0),
                    ])
            ], lastFailure: nil, reloads: (0, 0), inFlight: (0, 10), lanes: 1, versions: [])
    }

    @Test("one family per counter, a sample per rule and per action, the error action as \"error\"")
    func families() {
        let text = RuleCounterExposition.text(Self.status(rule: "too-warm", function: "webhook"))
        for line in [
            "# TYPE signalbox_rule_evaluated_total counter",
            #"signalbox_rule_evaluated_total{rule="too-warm"} 7"#,
            #"signalbox_rule_errors_total{rule="too-warm"} 1"#,
            #"signalbox_action_failures_total{rule="too-warm",action="0",function="webhook"} 4"#,
            #"signalbox_action_dead_lettered_total{rule="too-warm",action="0",function="webhook"} 1"#,
            #"signalbox_action_invocations_total{rule="too-warm",action="error",function="persist"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "missing \(line)")
        }
        #expect(text.components(separatedBy: "# TYPE ").count == 10)
    }

    @Test("label values are escaped: backslash, quote and line feed cannot break out of a sample")
    func escaping() {
        let text = RuleCounterExposition.text(Self.status(rule: "a\"b\\c\nd", function: "x"))
        #expect(text.contains(#"signalbox_rule_matched_total{rule="a\"b\\c\nd"} 5"# + "\n"))
        #expect(!text.contains("\nd\""))
    }
}
