import SignalboxSQL

/// A compiled rule: its definition, its statement, and its actions with compiled templates.
package struct Rule: Sendable {
    /// The rule as written.
    package let definition: RuleDefinition
    /// The position of the rule in its file (0-based).
    package let index: Int
    /// The compiled SQL.
    package let statement: Statement
    /// The actions, in order.
    package let actions: [CompiledAction]
    /// The error action, if any.
    package let errorAction: CompiledAction?

    /// The rule's name.
    package var name: String { definition.name.value }

    /// Whether the rule evaluates messages.
    package var isEnabled: Bool { definition.enabled }

    /// The FROM clause's topic filter.
    package var topicFilter: TopicFilter { statement.topicFilter }
}
