import SignalboxJSON
import SignalboxSQL

/// An action's `with:` tree with every string compiled as a substitution template.
///
/// Rendering it for a message gives the handler its configuration for that message:
/// ```swift
/// let config = try action.config.render(in: frame)  // {"to": "+4915…", "body": "Fridge f1 is at 9.5 C"}
/// ```
package enum TemplateValue: Sendable {
    /// `null`.
    case null
    /// A boolean.
    case bool(Bool)
    /// An integer.
    case int(Int64)
    /// A number.
    case double(Double)
    /// A string template, rendered per message.
    case string(Template)
    /// A list.
    case array([TemplateValue])
    /// Members in file order.
    case object([(key: String, value: TemplateValue)])

    /// The value for the message and SET variables in `frame`: templates rendered, the rest as is.
    ///
    /// - Throws: ``EvaluationError`` when an expression fails (a shadow lookup fails).
    package func render(in frame: EvaluationFrame) throws -> Value {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let template): return .string(try template.render(in: frame))
        case .array(let items): return .array(try items.map { try $0.render(in: frame) })
        case .object(let members):
            var object = JSONObject(minimumCapacity: members.count)
            for member in members { object.appendUnique(key: member.key, value: try member.value.render(in: frame)) }
            return .object(object)
        }
    }

    /// Whether no string in the tree has a `${…}` part.
    package var isConstant: Bool {
        switch self {
        case .null, .bool, .int, .double: true
        case .string(let template): template.isConstant
        case .array(let items): items.allSatisfy(\.isConstant)
        case .object(let members): members.allSatisfy(\.value.isConstant)
        }
    }
}

/// An action ready to run: its definition, its configuration compiled against the rule's
/// statement, and its throttle key template.
package struct CompiledAction: Sendable {
    /// The action as written.
    package let definition: ActionDefinition
    /// The position of the action in its rule (0-based); nil for the error action.
    package let index: Int?
    /// The `with:` tree, compiled.
    package let config: TemplateValue
    /// The throttle key, compiled, when the action is throttled by key.
    package let throttleKey: Template?

    /// The handler function's name.
    package var function: String { definition.function.value }

    /// Bundles a compiled action.
    package init(definition: ActionDefinition, index: Int?, config: TemplateValue, throttleKey: Template?) {
        self.definition = definition
        self.index = index
        self.config = config
        self.throttleKey = throttleKey
    }
}
