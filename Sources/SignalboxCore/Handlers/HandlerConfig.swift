import SignalboxJSON
import SignalboxSQL

/// Why a handler rejected its configuration; reported at the offending key's line and column.
public struct HandlerConfigError: Error, Sendable {
    /// The diagnostics, located in the rules file.
    public var diagnostics: [LocatedDiagnostic]

    /// An error made of located diagnostics.
    package init(_ diagnostics: [LocatedDiagnostic]) { self.diagnostics = diagnostics }
}

/// An action's `with:` configuration as a handler sees it while it is being built: each key as
/// written (with its place in the file) and compiled as a template.
///
/// Handlers read what they need once, at load, and reject what is wrong:
/// ```swift
/// try config.allowKeys(["table", "retain"])
/// let table = try config.constantString("table") ?? "records"
/// let retain = try config.duration("retain")
/// ```
public struct HandlerConfig: Sendable {
    /// The tree as written.
    package let raw: ConfigValue
    /// The tree compiled (every string a template).
    package let compiled: TemplateValue
    /// The rule's name, for diagnostics.
    package let ruleName: String
    /// The handler function's name, for diagnostics.
    package let function: LocatedString

    /// A configuration.
    package init(raw: ConfigValue, compiled: TemplateValue, ruleName: String, function: LocatedString) {
        self.raw = raw
        self.compiled = compiled
        self.ruleName = ruleName
        self.function = function
    }

    /// A configuration written in code, for tests: strings are templates over `SELECT * FROM '#'`.
    public init(_ raw: ConfigValue, ruleName: String = "test", function: String = "test") throws {
        let statement = try Statement("SELECT * FROM '#'")
        func compile(_ value: ConfigValue) throws -> TemplateValue {
            switch value.kind {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(try statement.template(s.value))
            case .array(let items): return .array(try items.map(compile))
            case .map(let entries): return .object(try entries.map { ($0.key.value, try compile($0.value)) })
            }
        }
        self.init(raw: raw, compiled: try compile(raw), ruleName: ruleName, function: LocatedString(function))
    }

    /// The keys written, in file order.
    public var keys: [String] { raw.entries?.map(\.key.value) ?? [] }

    /// The value written for `key`.
    public func value(_ key: String) -> ConfigValue? { raw[key] }

    /// The compiled value of `key`.
    package func template(_ key: String) -> TemplateValue? {
        guard case .object(let members) = compiled else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Rejects every key not in `allowed`, suggesting the closest allowed one.
    public func allowKeys(_ allowed: Set<String>) throws(HandlerConfigError) {
        guard let entries = raw.entries else {
            if case .null = raw.kind { return }
            throw error(at: nil, "'with' must be a mapping, found \(raw.kindDescription)")
        }
        var problems: [LocatedDiagnostic] = []
        for entry in entries where !allowed.contains(entry.key.value) {
            let suggestion = Suggestion.closest(to: entry.key.value, in: allowed)
            let help =
                suggestion.map { "did you mean '\($0)'?" }
                ?? "'\(function.value)' takes \(allowed.sorted().map { "'\($0)'" }.joined(separator: ", "))"
            problems.append(
                entry.key.diagnostic(
                    "handler-config", "'\(function.value)' has no setting '\(entry.key.value)'", help: help,
                    ruleName: ruleName))
        }
        if !problems.isEmpty { throw HandlerConfigError(problems) }
    }

    /// Rejects the configuration unless every key of `required` is present.
    public func requireKeys(_ required: [String]) throws(HandlerConfigError) {
        let missing = required.filter { raw[$0] == nil }
        guard !missing.isEmpty else { return }
        throw error(
            at: nil, "'\(function.value)' needs \(missing.map { "'\($0)'" }.joined(separator: " and ")) under 'with'")
    }

    /// The string written for `key`, which must not contain a `${…}` template; nil when absent.
    public func constantString(_ key: String) throws(HandlerConfigError) -> String? {
        guard let value = raw[key] else { return nil }
        guard case .string(let string) = value.kind else {
            throw error(at: key, "'\(key)' must be a string, found \(value.kindDescription)")
        }
        if case .string(let template) = template(key), !template.isConstant {
            throw error(at: key, "'\(key)' must be fixed text; it cannot use ${…}")
        }
        return string.value
    }

    /// Whether `key` is a string (a template, possibly constant); throws when it is another type.
    public func isString(_ key: String) throws(HandlerConfigError) -> Bool {
        guard let value = raw[key] else { return false }
        guard case .string = value.kind else {
            throw error(at: key, "'\(key)' must be a string, found \(value.kindDescription)")
        }
        return true
    }

    /// A duration written for `key` (`30d`, `1h`); nil when absent.
    public func duration(_ key: String) throws(HandlerConfigError) -> Duration? {
        guard let text = try constantString(key) else { return nil }
        do {
            return try DurationSyntax.parse(text)
        } catch {
            throw HandlerConfigError([
                raw[key]!.stringValue!.diagnostic(
                    "duration", error.message, at: error.range, help: error.help, ruleName: ruleName)
            ])
        }
    }

    /// A boolean written for `key`; nil when absent.
    public func bool(_ key: String) throws(HandlerConfigError) -> Bool? {
        guard let value = raw[key] else { return nil }
        guard case .bool(let b) = value.kind else {
            throw error(at: key, "'\(key)' must be true or false, found \(value.kindDescription)")
        }
        return b
    }

    /// An integer written for `key`, within `range`; nil when absent.
    public func int(_ key: String, in range: ClosedRange<Int64>) throws(HandlerConfigError) -> Int64? {
        guard let value = raw[key] else { return nil }
        guard case .int(let i) = value.kind else {
            throw error(at: key, "'\(key)' must be a whole number, found \(value.kindDescription)")
        }
        guard range.contains(i) else {
            throw error(at: key, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return i
    }

    /// An error about the value of `key` (or the whole `with:` when nil or absent).
    public func error(at key: String?, _ message: String, help: String? = nil) -> HandlerConfigError {
        if let key, let entry = raw.entries?.first(where: { $0.key.value == key }) {
            let target = entry.value.stringValue ?? entry.key
            return HandlerConfigError([target.diagnostic("handler-config", message, help: help, ruleName: ruleName)])
        }
        return HandlerConfigError([function.diagnostic("handler-config", message, help: help, ruleName: ruleName)])
    }
}

extension ConfigValue {
    /// The located string, when this node is a string.
    package var stringValue: LocatedString? {
        if case .string(let string) = kind { return string }
        return nil
    }
}
