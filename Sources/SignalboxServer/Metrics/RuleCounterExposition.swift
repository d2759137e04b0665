import SignalboxCore

/// The counters of the active rules and their actions, in the Prometheus text format, for
/// `/metrics`.
///
/// The runtime keeps each count once, in its own counters, which `GET /admin/rules` shows
/// (``RulesStatus``); this writes the same figures at each scrape. A rule changed by a reload starts
/// again at zero, which Prometheus reads as a counter reset.
enum RuleCounterExposition {
    /// The families, one `# TYPE` line each, then a sample per rule or action.
    static func text(_ status: RulesStatus) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for sample in samples {
                let labels = sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += "\(name){\(labels)} \(sample.value)\n"
            }
        }
        let rules = status.rules
        family(
            "signalbox_rule_evaluated_total", "Messages a rule's SQL was evaluated on.",
            rules.map { ([("rule", $0.name)], $0.evaluated) })
        family(
            "signalbox_rule_matched_total", "Messages a rule matched.", rules.map { ([("rule", $0.name)], $0.matched) })
        family(
            "signalbox_rule_errors_total", "Evaluations of a rule that failed.",
            rules.map { ([("rule", $0.name)], $0.errors) })
        let actions = rules.flatMap { rule in
            rule.actions.map { action in
                (
                    labels: [
                        ("rule", rule.name), ("action", action.index.map(String.init) ?? "error"),
                        ("function", action.function),
                    ], action: action
                )
            }
        }
        func actionFamily(_ name: String, _ help: String, _ value: (ActionStatus) -> Int) {
            family(name, help, actions.map { ($0.labels, value($0.action)) })
        }
        actionFamily("signalbox_action_invocations_total", "Invocations queued for an action.") { $0.invocations }
        actionFamily("signalbox_action_failures_total", "Failed attempts of an action.") { $0.failures }
        actionFamily("signalbox_action_retries_total", "Attempts of an action retried.") { $0.retries }
        actionFamily("signalbox_action_throttled_total", "Invocations an action's throttle skipped.") { $0.throttled }
        actionFamily("signalbox_action_dead_lettered_total", "Invocations that became dead letters.") {
            $0.deadLettered
        }
        actionFamily(
            "signalbox_action_handled_by_error_action_total",
            "Invocations that failed for good and that the rule's error action handled."
        ) { $0.handledByErrorAction }
        return out
    }

    /// A label value escaped as the text format requires: `\`, `"` and line feeds.
    static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
