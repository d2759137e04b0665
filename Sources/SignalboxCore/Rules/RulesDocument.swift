/// The content of a rules file: a format version and the rules, in file order.
///
/// Building a ``RuleSet`` from a document compiles and checks everything in it.
package struct RulesDocument: Sendable {
    /// The version of the file format this Signalbox reads.
    package static let currentVersion = 1

    /// The file format version (`version: 1`).
    package var version: Int
    /// How devices are keyed and when they count as silent (`devices:`).
    package var devices: DevicePolicy
    /// The rules, in file order.
    package var rules: [RuleDefinition]

    /// A document.
    package init(
        version: Int = RulesDocument.currentVersion, devices: DevicePolicy = DevicePolicy(), rules: [RuleDefinition]
    ) {
        self.version = version
        self.devices = devices
        self.rules = rules
    }
}

/// One rule, as written: its name, SQL and actions.
///
/// For example:
/// ```swift
/// let rule = RuleDefinition(
///     name: "store-readings", sql: "SELECT * FROM 'gateways/+/devices/+/telemetry'",
///     actions: [ActionDefinition(function: "persist", with: ["table": "readings"])])
/// ```
package struct RuleDefinition: Sendable {
    /// The rule's name: unique in the file, `[A-Za-z0-9_-]+`.
    package var name: LocatedString
    /// What the rule is for.
    package var description: String
    /// Whether messages are evaluated by the rule; disabled rules are still compiled and checked.
    package var enabled: Bool
    /// The rule's SQL, mapped to the file.
    package var sql: LocatedString
    /// The actions run, in order, for each message the rule matches.
    package var actions: [ActionDefinition]
    /// The action run when an action fails for good (`error_action`).
    package var errorAction: ActionDefinition?
    /// Where the rule was written (its mapping), if read from a file.
    package var span: SourceSpan?

    /// A rule definition; enabled, without a description or error action by default.
    package init(
        name: LocatedString, description: String = "", enabled: Bool = true, sql: LocatedString,
        actions: [ActionDefinition], errorAction: ActionDefinition? = nil, span: SourceSpan? = nil
    ) {
        self.name = name
        self.description = description
        self.enabled = enabled
        self.sql = sql
        self.actions = actions
        self.errorAction = errorAction
        self.span = span
    }
}
