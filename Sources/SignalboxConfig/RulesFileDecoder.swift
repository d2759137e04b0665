import SignalboxCore
import SignalboxSQL
import Yams

/// Turns the YAML node tree of a rules file into a ``RulesDocument``, collecting every problem.
///
/// Decoding goes on after a problem, so one run reports all of them; a rule whose name or SQL is
/// unusable is left out of the document, and so is an action without a usable `function`.
struct RulesFileDecoder {
    /// The file being decoded.
    let file: SourceFile
    /// Resolves `${env:…}` references.
    let substitution: EnvironmentSubstitution
    /// Every problem found so far.
    var diagnostics: [LocatedDiagnostic] = []

    /// The top-level keys, in the order the reference documents them.
    static let documentKeys = ["version", "devices", "rules"]
    /// The keys of `devices:`.
    static let deviceKeys = ["key_level", "silent_after"]
    /// The keys of a rule.
    static let ruleKeys = ["name", "description", "enabled", "sql", "actions", "error_action"]
    /// The keys of an action (and of `error_action`).
    static let actionKeys = ["function", "with", "retry", "timeout", "throttle"]
    /// The keys of `retry:`.
    static let retryKeys = ["attempts", "backoff"]
    /// The keys of `throttle:`.
    static let throttleKeys = ["key", "per"]

    /// A decoder for `file`, reading `${env:…}` from `environment`.
    init(file: SourceFile, environment: [String: String]) {
        self.file = file
        self.substitution = EnvironmentSubstitution(environment: environment)
    }

    // MARK: Document and rules

    /// The document at `root` (nil for an empty file); partial when there are problems.
    mutating func decodeDocument(_ root: Node?) -> RulesDocument {
        var document = RulesDocument(rules: [])
        guard let root else {
            diagnostics.append(
                file.span(line: 1, column: 1).diagnostic(
                    "empty-file", "the rules file is empty", help: "start with 'version: 1' and a 'rules:' list"))
            return document
        }
        guard let fields = fields(of: root, in: "the rules file", allowed: Self.documentKeys) else { return document }
        if let version = fields["version"] {
            if let number = integer(version.value, key: "version") {
                if number != RulesDocument.currentVersion {
                    diagnostics.append(
                        span(of: version.value).diagnostic(
                            "version", "unsupported rules file version \(number)",
                            help: "this Signalbox reads version \(RulesDocument.currentVersion)"))
                }
                document.version = Int(number)
            }
        } else {
            diagnostics.append(
                missingKey("version", in: "the rules file", fields: fields, help: "add 'version: 1' as the first line"))
        }
        if let devices = fields["devices"] { document.devices = decodeDevices(devices.value) }
        guard let rules = fields["rules"] else {
            diagnostics.append(missingKey("rules", in: "the rules file", fields: fields, help: "add a 'rules:' list"))
            return document
        }
        switch rules.value {
        case .sequence(let sequence):
            for item in sequence {
                if let rule = decodeRule(item) { document.rules.append(rule) }
            }
        case let node where YAMLScalar.isNull(node):
            break
        default:
            diagnostics.append(typeMismatch(rules.value, expected: "a list of rules", key: "rules"))
        }
        return document
    }

    /// One rule; nil when its name or SQL is missing or unusable.
    mutating func decodeRule(_ node: Node) -> RuleDefinition? {
        let firstDiagnostic = diagnostics.count
        guard let fields = fields(of: node, in: "a rule", allowed: Self.ruleKeys) else { return nil }
        let name = requiredString(fields, "name", in: "a rule")
        defer {
            // Problems found inside a rule name it.
            for index in firstDiagnostic..<diagnostics.count where diagnostics[index].ruleName == nil {
                diagnostics[index].ruleName = name?.value
            }
        }
        let description = fields["description"].flatMap { string($0.value, key: "description") }
        let enabled = fields["enabled"].flatMap { boolean($0.value, key: "enabled") }
        let sql = requiredString(fields, "sql", in: "a rule")
        var actions: [ActionDefinition] = []
        if let entry = fields["actions"] {
            if case .sequence(let sequence) = entry.value {
                if sequence.isEmpty {
                    diagnostics.append(
                        span(of: entry.value).diagnostic(
                            "no-actions", "a rule needs at least one action",
                            help: "add one, like '- function: log'"))
                }
                for item in sequence {
                    if let action = decodeAction(item, in: "an action") { actions.append(action) }
                }
            } else {
                diagnostics.append(typeMismatch(entry.value, expected: "a list of actions", key: "actions"))
            }
        } else {
            diagnostics.append(missingKey("actions", in: "a rule", fields: fields))
        }
        var errorAction: ActionDefinition?
        if let entry = fields["error_action"] {
            if case .sequence = entry.value {
                diagnostics.append(
                    span(of: entry.value).diagnostic(
                        "type", "expected a mapping for 'error_action', found a list",
                        help: "error_action is a single action, not a list"))
            } else {
                errorAction = decodeAction(entry.value, in: "error_action")
            }
        }
        guard let name, let sql else { return nil }
        return RuleDefinition(
            name: name, description: description?.value ?? "", enabled: enabled ?? true, sql: sql, actions: actions,
            errorAction: errorAction, span: span(of: node))
    }

    // MARK: Actions

    /// One action (`context` names it in messages); nil without a usable `function`.
    mutating func decodeAction(_ node: Node, in context: String) -> ActionDefinition? {
        guard let fields = fields(of: node, in: context, allowed: Self.actionKeys) else { return nil }
        let function = requiredString(fields, "function", in: context)
        var with = ConfigValue.emptyMap
        var withIsReadable = true
        if let entry = fields["with"] {
            let before = diagnostics.count
            if case .mapping = entry.value {
                with = configValue(entry.value)
            } else if !YAMLScalar.isNull(entry.value) {
                diagnostics.append(typeMismatch(entry.value, expected: "a mapping", key: "with"))
            }
            withIsReadable = diagnostics.count == before
        }
        var retry = RetryPolicy()
        if let entry = fields["retry"] { retry = decodeRetry(entry.value) ?? retry }
        var timeout = ActionDefinition.defaultTimeout
        if let entry = fields["timeout"], let duration = positiveDuration(entry.value, key: "timeout") {
            timeout = duration
        }
        var throttle: ThrottlePolicy?
        if let entry = fields["throttle"] { throttle = decodeThrottle(entry.value) }
        guard let function else { return nil }
        var action = ActionDefinition(
            function: function, with: with, retry: retry, timeout: timeout, throttle: throttle, span: span(of: node))
        action.isConfigReadable = withIsReadable
        return action
    }

    /// A `retry:` mapping; unset keys keep their defaults.
    mutating func decodeRetry(_ node: Node) -> RetryPolicy? {
        guard let fields = fields(of: node, in: "retry", allowed: Self.retryKeys) else { return nil }
        var policy = RetryPolicy()
        if let entry = fields["attempts"] {
            let limit = RetryPolicy.maxAttempts
            let attempts = integer(
                entry.value, key: "attempts", in: 1...limit, code: "retry",
                outOfRange: "attempts must be between 1 and \(limit)",
                help: "attempts counts the first try; 1 means no retry")
            policy.attempts = attempts ?? policy.attempts
        }
        if let entry = fields["backoff"], let text = durationText(entry.value, key: "backoff") {
            do {
                let range = try DurationSyntax.parseRange(text.value)
                if range.lowerBound == .zero {
                    diagnostics.append(
                        text.diagnostic("duration", "the backoff minimum must be longer than zero", help: "like 1s..5m")
                    )
                } else {
                    policy.backoff = range
                }
            } catch {
                diagnostics.append(text.diagnostic("duration", error.message, at: error.range, help: error.help))
            }
        }
        return policy
    }

    /// The `devices:` mapping: which topic level names the device, and when a device is silent.
    mutating func decodeDevices(_ node: Node) -> DevicePolicy {
        var policy = DevicePolicy()
        guard let fields = fields(of: node, in: "devices", allowed: Self.deviceKeys) else { return policy }
        if let level = fields["key_level"],
            let number = integer(
                level.value, key: "key_level", in: 1...DevicePolicy.maxKeyLevel, code: "devices",
                outOfRange: "'key_level' must be between 1 and \(DevicePolicy.maxKeyLevel)",
                help: "the topic level that names the device, like topic(n): 4 for gateways/+/devices/+/…")
        {
            policy.keyLevel = number
        }
        if let silent = fields["silent_after"] {
            policy.silentAfter = positiveDuration(silent.value, key: "silent_after")
        }
        return policy
    }

    /// A `throttle:` mapping; nil without a valid `per`.
    mutating func decodeThrottle(_ node: Node) -> ThrottlePolicy? {
        guard let fields = fields(of: node, in: "throttle", allowed: Self.throttleKeys) else { return nil }
        let key = fields["key"].flatMap { string($0.value, key: "key") }
        guard let per = fields["per"] else {
            diagnostics.append(missingKey("per", in: "throttle", fields: fields, help: "add a period, like 'per: 1h'"))
            return nil
        }
        guard let duration = positiveDuration(per.value, key: "per") else { return nil }
        return ThrottlePolicy(key: key, per: duration)
    }

    // MARK: Values

    /// A `with:` tree; a node with a problem is reported and read as null, so the rest is still checked.
    mutating func configValue(_ node: Node) -> ConfigValue {
        let span = span(of: node)
        switch node {
        case .scalar(let scalar):
            switch YAMLScalar.resolve(scalar) {
            case .null: return ConfigValue(.null, span: span)
            case .bool(let b): return ConfigValue(.bool(b), span: span)
            case .int(let i): return ConfigValue(.int(i), span: span)
            case .double(let d): return ConfigValue(.double(d), span: span)
            case .string:
                let string = located(scalar)
                return ConfigValue(.string(string), span: string.span)
            case .invalid(let message):
                diagnostics.append(span.diagnostic("type", message))
                return ConfigValue(.null, span: span)
            }
        case .sequence(let sequence):
            return ConfigValue(.array(sequence.map { configValue($0) }), span: span)
        case .mapping(let mapping):
            var entries: [ConfigValue.Entry] = []
            for (keyNode, valueNode) in mapping {
                guard let key = key(keyNode) else { continue }
                entries.append(ConfigValue.Entry(key: key, value: configValue(valueNode)))
            }
            return ConfigValue(.map(entries), span: span)
        case .alias:
            diagnostics.append(span.diagnostic("yaml", "unresolved YAML alias"))
            return ConfigValue(.null, span: span)
        }
    }

    /// A scalar's text with `${env:…}` substituted (unresolved references reported and left empty).
    mutating func located(_ scalar: Node.Scalar) -> LocatedString {
        let source = ScalarLayout.source(of: scalar, in: file)
        let (value, problems) = substitution.substitute(scalar.string, source: source)
        diagnostics += problems
        return value
    }

    /// A string-typed key's value: any non-null scalar, taken as text.
    mutating func string(_ node: Node, key: String) -> LocatedString? {
        guard case .scalar(let scalar) = node else {
            diagnostics.append(typeMismatch(node, expected: "a string", key: key))
            return nil
        }
        switch YAMLScalar.resolve(scalar) {
        case .null:
            diagnostics.append(typeMismatch(node, expected: "a string", key: key))
            return nil
        case .invalid(let message):
            diagnostics.append(span(of: node).diagnostic("type", message))
            return nil
        default:
            return located(scalar)
        }
    }

    /// The string value of a required key, reporting it when missing.
    mutating func requiredString(_ fields: Fields, _ key: String, in context: String) -> LocatedString? {
        guard let entry = fields[key] else {
            diagnostics.append(missingKey(key, in: context, fields: fields))
            return nil
        }
        return string(entry.value, key: key)
    }

    /// A boolean value (`true`/`false`).
    mutating func boolean(_ node: Node, key: String) -> Bool? {
        if case .scalar(let scalar) = node, case .bool(let value) = YAMLScalar.resolve(scalar) { return value }
        diagnostics.append(typeMismatch(node, expected: "true or false", key: key))
        return nil
    }

    /// An integer value.
    mutating func integer(_ node: Node, key: String) -> Int64? {
        if case .scalar(let scalar) = node, case .int(let value) = YAMLScalar.resolve(scalar) { return value }
        diagnostics.append(typeMismatch(node, expected: "an integer", key: key))
        return nil
    }

    /// An integer in `range`; outside it, a `code` diagnostic saying `outOfRange` (with `help`) and nil.
    mutating func integer(
        _ node: Node, key: String, in range: ClosedRange<Int>, code: String, outOfRange: String, help: String
    ) -> Int? {
        guard let number = integer(node, key: key) else { return nil }
        guard number >= range.lowerBound, number <= range.upperBound else {
            diagnostics.append(span(of: node).diagnostic(code, outOfRange, help: help))
            return nil
        }
        return Int(number)
    }

    /// The text of a duration: a scalar of any type (`10` is reported as missing its unit).
    mutating func durationText(_ node: Node, key: String) -> LocatedString? {
        guard case .scalar(let scalar) = node, YAMLScalar.resolve(scalar) != .null else {
            diagnostics.append(typeMismatch(node, expected: "a duration, like 10s", key: key))
            return nil
        }
        return located(scalar)
    }

    /// A duration longer than zero.
    mutating func positiveDuration(_ node: Node, key: String) -> Duration? {
        guard let text = durationText(node, key: key) else { return nil }
        do {
            let duration = try DurationSyntax.parse(text.value)
            guard duration > .zero else {
                diagnostics.append(text.diagnostic("duration", "'\(key)' must be longer than zero", help: "like 10s"))
                return nil
            }
            return duration
        } catch {
            diagnostics.append(text.diagnostic("duration", error.message, at: error.range, help: error.help))
            return nil
        }
    }

    // MARK: Mappings

    /// The keys and values of a mapping, checked against the keys allowed.
    struct Fields {
        /// The mapping itself.
        let node: Node
        /// The first key, to point at when a key is missing.
        let firstKey: LocatedString?
        var entries: [String: (key: LocatedString, value: Node)] = [:]

        /// The key and value written for `key`, if any.
        subscript(key: String) -> (key: LocatedString, value: Node)? { entries[key] }
    }

    /// The entries of the mapping `node`, reporting unknown keys with a suggestion.
    mutating func fields(of node: Node, in context: String, allowed: [String]) -> Fields? {
        guard case .mapping(let mapping) = node else {
            diagnostics.append(typeMismatch(node, expected: "a mapping", key: context, isContext: true))
            return nil
        }
        var fields = Fields(node: node, firstKey: mapping.first.flatMap { keyString($0.key) })
        for (keyNode, valueNode) in mapping {
            guard let key = key(keyNode) else { continue }
            if allowed.contains(key.value) {
                fields.entries[key.value] = (key, valueNode)
                continue
            }
            let help: String
            if let suggestion = Suggestion.closest(to: key.value, in: allowed) {
                help = "did you mean '\(suggestion)'?"
            } else {
                help = "expected one of: " + allowed.joined(separator: ", ")
            }
            diagnostics.append(key.diagnostic("unknown-key", "unknown key '\(key.value)' in \(context)", help: help))
        }
        return fields
    }

    /// A mapping key: a scalar, not a merge key.
    mutating func key(_ node: Node) -> LocatedString? {
        guard let key = keyString(node) else {
            diagnostics.append(span(of: node).diagnostic("type", "mapping keys must be strings"))
            return nil
        }
        if key.value == "<<", node.scalar?.style == .plain {
            diagnostics.append(
                key.diagnostic(
                    "yaml", "YAML merge keys ('<<') are not supported",
                    help: "repeat the keys, or alias the whole value"))
            return nil
        }
        return key
    }

    /// A scalar key as a located string (no environment substitution in keys).
    func keyString(_ node: Node) -> LocatedString? {
        guard case .scalar(let scalar) = node else { return nil }
        return LocatedString(scalar.string, source: ScalarLayout.source(of: scalar, in: file))
    }

    // MARK: Places and messages

    /// Where `node` was written: a scalar's whole text, or the first character of a collection.
    func span(of node: Node) -> SourceSpan {
        if case .scalar(let scalar) = node {
            return LocatedString(scalar.string, source: ScalarLayout.source(of: scalar, in: file)).span
        }
        guard let mark = node.mark else { return file.span(line: 1, column: 1) }
        return file.span(line: mark.line, scalarColumn: mark.column)
    }

    /// A missing-key diagnostic, pointing at the mapping's first key.
    func missingKey(_ key: String, in context: String, fields: Fields, help: String? = nil) -> LocatedDiagnostic {
        let span = fields.firstKey?.span ?? span(of: fields.node)
        return span.diagnostic("missing-key", "missing required key '\(key)' in \(context)", help: help)
    }

    /// A wrong-type diagnostic: `expected a string for 'sql', found a list`.
    func typeMismatch(_ node: Node, expected: String, key: String, isContext: Bool = false) -> LocatedDiagnostic {
        let found = YAMLScalar.describe(node)
        let subject = isContext ? key : "'\(key)'"
        return span(of: node).diagnostic("type", "expected \(expected) for \(subject), found \(found)")
    }
}

extension YAMLScalar {
    /// Whether `node` is a null scalar (`~`, `null`, or nothing).
    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node, resolve(scalar) == .null { return true }
        return false
    }

    /// What `node` is, for messages: `a string`, `a list`, …
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch resolve(scalar) {
            case .null: return "nothing"
            case .bool: return "a boolean"
            case .int: return "an integer"
            case .double: return "a number"
            case .string, .invalid: return "a string"
            }
        }
    }
}
