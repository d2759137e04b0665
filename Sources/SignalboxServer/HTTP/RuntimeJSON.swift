import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// The JSON forms of records, dead letters, rules status and rule trials, shared by the HTTP API and
/// the CLI's `--json` output so both print the same shapes (documented in docs/http-api.md).
package enum RuntimeJSON {
    /// `{"seq", "id", "message_id", "rule", "topic", "device", "received_at", "data"}`; `data` is the
    /// stored document (a document that is not JSON shows as `null` plus `data_base64`).
    package static func record(_ record: StoredRecord) -> Value {
        let row = record.row
        var object = JSONObject(minimumCapacity: 8)
        object.appendUnique(key: "seq", value: .int(record.seq))
        object.appendUnique(key: "id", value: .string(row.idempotencyKey))
        object.appendUnique(key: "message_id", value: .int(row.messageID))
        object.appendUnique(key: "rule", value: .string(row.rule))
        object.appendUnique(key: "topic", value: .string(row.topic))
        object.appendUnique(key: "device", value: .string(row.device))
        object.appendUnique(key: "received_at", value: .int(row.receivedAt))
        if let data = try? JSONParser.parse(row.data) {
            object.appendUnique(key: "data", value: data)
        } else {
            object.appendUnique(key: "data", value: .null)
            object.appendUnique(key: "data_base64", value: .string(Base64.encode(row.data)))
        }
        return .object(object)
    }

    /// A dead letter, its payload as base64 under `payload_base64`.
    package static func deadLetter(_ letter: DeadLetter) -> Value {
        var object = JSONObject(minimumCapacity: 16)
        object.appendUnique(key: "id", value: .int(letter.id))
        object.appendUnique(key: "rule", value: .string(letter.source.rule))
        object.appendUnique(key: "rule_set_version", value: .int(Int64(letter.source.ruleSetVersion)))
        object.appendUnique(key: "action_index", value: letter.source.actionIndex.map { .int(Int64($0)) } ?? .null)
        object.appendUnique(key: "function", value: .string(letter.source.function))
        object.appendUnique(key: "idempotency_key", value: .string(letter.idempotencyKey))
        object.appendUnique(key: "message_id", value: .int(letter.message.id))
        object.appendUnique(key: "topic", value: .string(letter.message.topic))
        object.appendUnique(key: "device", value: .string(letter.device))
        object.appendUnique(key: "received_at", value: .int(letter.message.receivedAt))
        object.appendUnique(key: "error", value: .string(letter.error))
        object.appendUnique(key: "attempts", value: .int(Int64(letter.attempts)))
        object.appendUnique(key: "created_at", value: .int(letter.createdAt))
        object.appendUnique(key: "payload_base64", value: .string(Base64.encode(letter.message.payload)))
        return .object(object)
    }

    /// A throttle window: `{"rule", "action_index", "key", "state", "started_at", "expires_at",
    /// "idempotency_key"}`; `state` is `open`, or `in_progress` (no `expires_at` yet) while the
    /// invocation holding the key runs.
    package static func throttleWindow(_ window: ThrottleWindow) -> Value {
        var object = JSONObject(minimumCapacity: 7)
        object.appendUnique(key: "rule", value: .string(window.rule))
        object.appendUnique(key: "action_index", value: .int(Int64(window.actionIndex)))
        object.appendUnique(key: "key", value: .string(window.key))
        object.appendUnique(key: "state", value: .string(window.expiresAt == nil ? "in_progress" : "open"))
        object.appendUnique(key: "started_at", value: .int(window.startedAt))
        object.appendUnique(key: "expires_at", value: window.expiresAt.map(Value.int) ?? .null)
        object.appendUnique(key: "idempotency_key", value: .string(window.idempotencyKey))
        return .object(object)
    }

    /// `GET /admin/rules`.
    package static func rulesStatus(_ status: RulesStatus) -> Value {
        var object = JSONObject(minimumCapacity: 12)
        object.appendUnique(key: "version", value: .int(Int64(status.version)))
        object.appendUnique(key: "loaded_at", value: .int(status.loadedAt))
        object.appendUnique(key: "path", value: .string(status.path))
        object.appendUnique(key: "digest", value: .string(status.digest))
        object.appendUnique(key: "lanes", value: .int(Int64(status.lanes)))
        object.appendUnique(
            key: "in_flight",
            value: ["count": .int(Int64(status.inFlight.count)), "capacity": .int(Int64(status.inFlight.capacity))])
        object.appendUnique(
            key: "reloads",
            value: [
                "succeeded": .int(Int64(status.reloads.succeeded)), "failed": .int(Int64(status.reloads.failed)),
            ])
        object.appendUnique(key: "last_failure", value: status.lastFailure.map(reloadFailure) ?? .null)
        object.appendUnique(key: "rules", value: .array(status.rules.map(rule)))
        object.appendUnique(key: "versions", value: .array(status.versions.map(ruleSetVersion)))
        return .object(object)
    }

    /// `{"version", "digest", "path", "loaded_at"}`: one rule-set version as recorded.
    package static func ruleSetVersion(_ version: RuleSetVersion) -> Value {
        [
            "version": .int(Int64(version.version)), "digest": .string(version.digest), "path": .string(version.path),
            "loaded_at": .int(version.loadedAt),
        ]
    }

    /// One rule's counters.
    package static func rule(_ rule: RuleStatus) -> Value {
        var object = JSONObject(minimumCapacity: 7)
        object.appendUnique(key: "name", value: .string(rule.name))
        object.appendUnique(key: "enabled", value: .bool(rule.enabled))
        object.appendUnique(key: "topic_filter", value: .string(rule.topicFilter))
        object.appendUnique(key: "evaluated", value: .int(Int64(rule.evaluated)))
        object.appendUnique(key: "matched", value: .int(Int64(rule.matched)))
        object.appendUnique(key: "errors", value: .int(Int64(rule.errors)))
        object.appendUnique(key: "actions", value: .array(rule.actions.map(action)))
        return .object(object)
    }

    /// One action's counters; `index` is null for the error action.
    package static func action(_ action: ActionStatus) -> Value {
        var object = JSONObject(minimumCapacity: 10)
        object.appendUnique(key: "function", value: .string(action.function))
        object.appendUnique(key: "index", value: action.index.map { .int(Int64($0)) } ?? .null)
        object.appendUnique(key: "invocations", value: .int(Int64(action.invocations)))
        object.appendUnique(key: "succeeded", value: .int(Int64(action.succeeded)))
        object.appendUnique(key: "failures", value: .int(Int64(action.failures)))
        object.appendUnique(key: "retries", value: .int(Int64(action.retries)))
        object.appendUnique(key: "throttled", value: .int(Int64(action.throttled)))
        object.appendUnique(key: "dead_lettered", value: .int(Int64(action.deadLettered)))
        object.appendUnique(key: "pending", value: .int(Int64(action.pending)))
        object.appendUnique(key: "handled_by_error_action", value: .int(Int64(action.handledByErrorAction)))
        return .object(object)
    }

    /// `{"at", "errors": [...], "rendered"}`.
    package static func reloadFailure(_ failure: ReloadFailure) -> Value {
        [
            "at": .int(failure.at), "errors": diagnostics(failure.diagnostics), "rendered": .string(failure.rendered),
        ]
    }

    /// `[{"code", "message", "line", "column", "rule"}]`; line, column and rule are null when unknown.
    package static func diagnostics(_ diagnostics: [LocatedDiagnostic]) -> Value {
        .array(
            diagnostics.map { diagnostic in
                let location = diagnostic.location
                return [
                    "code": .string(diagnostic.code), "message": .string(diagnostic.message),
                    "line": location.map { .int(Int64($0.line)) } ?? .null,
                    "column": location.map { .int(Int64($0.column)) } ?? .null,
                    "rule": diagnostic.ruleName.map(Value.string) ?? .null,
                ]
            })
    }

    /// `POST /admin/rules/test`: the candidate rules with their outcome, and the others.
    package static func trial(_ trial: RuleTrial, message: Message) -> Value {
        var object = JSONObject(minimumCapacity: 5)
        object.appendUnique(key: "topic", value: .string(message.topic))
        object.appendUnique(
            key: "payload",
            value: [
                "bytes": .int(Int64(message.rawPayload.count)),
                "kind": .string(message.isJSON ? "json" : message.rawPayload.isEmpty ? "empty" : "binary"),
            ])
        object.appendUnique(key: "matched", value: .int(Int64(trial.matchedCount)))
        object.appendUnique(key: "rules", value: .array(trial.candidates.map(candidate)))
        object.appendUnique(
            key: "other_rules",
            value: .array(
                trial.others.map { other in
                    [
                        "name": .string(other.rule), "enabled": .bool(other.enabled),
                        "topic_filter": .string(other.topicFilter),
                    ]
                }))
        return .object(object)
    }

    static func candidate(_ candidate: RuleTrial.Candidate) -> Value {
        var object = JSONObject(minimumCapacity: 6)
        object.appendUnique(key: "name", value: .string(candidate.rule))
        switch candidate.result {
        case .matched(let output, let actions):
            object.appendUnique(key: "matched", value: true)
            switch output {
            case .json(let value): object.appendUnique(key: "output", value: value)
            case .binary(let bytes):
                object.appendUnique(key: "output", value: .null)
                object.appendUnique(key: "output_base64", value: .string(Base64.encode(bytes)))
            }
            object.appendUnique(key: "actions", value: .array(actions.map(actionTrial)))
        case .notMatched(let conditions):
            object.appendUnique(key: "matched", value: false)
            object.appendUnique(
                key: "conditions",
                value: .array(
                    conditions.map { report in
                        [
                            "condition": .string(report.text), "depth": .int(Int64(report.depth)),
                            "value": .string(RuleTrial.describe(report.value)),
                            "reasons": .array(report.reasons.map(Value.string)),
                        ]
                    }))
        case .failed(let error):
            object.appendUnique(key: "matched", value: false)
            object.appendUnique(key: "error", value: .string(error))
        }
        return .object(object)
    }

    static func actionTrial(_ action: RuleTrial.ActionTrial) -> Value {
        var object = JSONObject(minimumCapacity: 5)
        object.appendUnique(key: "index", value: .int(Int64(action.index)))
        object.appendUnique(key: "function", value: .string(action.function))
        if let parameters = action.shownParameters {
            object.appendUnique(key: "with", value: parameters)
        } else {
            object.appendUnique(key: "with", value: .null)
            object.appendUnique(key: "error", value: .string(action.failure ?? "evaluation failed"))
        }
        if let throttle = action.throttle {
            object.appendUnique(
                key: "throttle",
                value: [
                    "per": .string(DurationSyntax.format(throttle.per)),
                    "key": throttle.key.map(Value.string) ?? .null,
                ])
        } else {
            object.appendUnique(key: "throttle", value: .null)
        }
        return .object(object)
    }
}
